/* elfsym: the function symbols of one ELF file (see elfsym.h).
 *
 * One pass over the file with libelf on a read-only mapping: program
 * headers, section headers, .symtab, .dynsym, .dynamic and the build-id
 * note. Symbol names are not copied: they point into the mapped string
 * tables, which stay mapped until nt_elf_free().
 *
 * The file is untrusted (it belongs to whoever owns the traced process), so
 * every size and offset read from it is checked before use, and every
 * failure is reported as "PATH: what is wrong". */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "elfsym.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libiberty/demangle.h>

#ifndef NT_GNU_BUILD_ID
#define NT_GNU_BUILD_ID 3
#endif

struct elf_priv {
	int fd;
	Elf *elf;
	uint64_t file_size;
	uint8_t *global;    /* per symbol: STB_GLOBAL or STB_WEAK in either table */
	uint64_t *max_end;  /* per symbol: max(addr + size) over syms[0..i]; lets
	                       nt_elf_sym_at stop scanning backwards early */
	uint32_t *key;      /* per symbol: sym_key(name), see there */
};

/* A symbol while the tables are being merged. */
struct raw_sym {
	uint64_t addr, size;
	const char *name;
	uint32_t key;
	uint8_t global;
};

/* ---- errors ---------------------------------------------------------- */

__attribute__((format(printf, 5, 6)))
static int fail(char *err, size_t errlen, const char *path, int rc, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err || !errlen)
		return rc;
	n = snprintf(err, errlen, "%s: ", path ? path : "(null)");
	if (n < 0 || (size_t)n >= errlen)
		return rc;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return rc;
}

static const char *elferr(void)
{
	const char *m = elf_errmsg(-1);

	return m ? m : "unknown libelf error";
}

/* ---- the ELF header, checked before libelf sees the file --------------- */

/* libelf refuses most broken headers, but only says "invalid ELF file";
 * reading the header ourselves lets the message say what is wrong. */
static uint64_t get_uint(const unsigned char *p, int n, bool msb)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v |= (uint64_t)p[msb ? n - 1 - i : i] << (8 * i);
	return v;
}

static int check_header(int fd, const char *path, uint64_t size, char *err, size_t errlen)
{
	unsigned char h[64];
	ssize_t n;
	bool is64, msb;
	uint64_t phoff, shoff, phnum, shnum, phentsize, shentsize, ehsize;

	n = pread(fd, h, sizeof(h), 0);
	if (n < 0)
		return fail(err, errlen, path, -errno, "cannot read the ELF header: %s",
			    strerror(errno));
	if (n < 4 || memcmp(h, ELFMAG, SELFMAG))
		return fail(err, errlen, path, -ENOEXEC, "not an ELF file");
	if (n < EI_NIDENT)
		return fail(err, errlen, path, -ENOEXEC, "truncated ELF header (%zd bytes)", n);
	if (h[EI_CLASS] != ELFCLASS32 && h[EI_CLASS] != ELFCLASS64)
		return fail(err, errlen, path, -ENOEXEC, "unknown ELF class %u", h[EI_CLASS]);
	if (h[EI_DATA] != ELFDATA2LSB && h[EI_DATA] != ELFDATA2MSB)
		return fail(err, errlen, path, -ENOEXEC, "unknown ELF data encoding %u",
			    h[EI_DATA]);
	is64 = h[EI_CLASS] == ELFCLASS64;
	msb = h[EI_DATA] == ELFDATA2MSB;
	ehsize = is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
	if ((uint64_t)n < ehsize)
		return fail(err, errlen, path, -ENOEXEC,
			    "truncated ELF header (%zd bytes, needs %llu)", n,
			    (unsigned long long)ehsize);
	if (is64) {
		phoff = get_uint(h + 32, 8, msb);
		shoff = get_uint(h + 40, 8, msb);
		phentsize = get_uint(h + 54, 2, msb);
		phnum = get_uint(h + 56, 2, msb);
		shentsize = get_uint(h + 58, 2, msb);
		shnum = get_uint(h + 60, 2, msb);
	} else {
		phoff = get_uint(h + 28, 4, msb);
		shoff = get_uint(h + 32, 4, msb);
		phentsize = get_uint(h + 42, 2, msb);
		phnum = get_uint(h + 44, 2, msb);
		shentsize = get_uint(h + 46, 2, msb);
		shnum = get_uint(h + 48, 2, msb);
	}
	/* shnum == 0 with shoff set means "more than 0xff00 sections, the count
	 * is in section 0": at least that first entry must be there. */
	if (shoff && !shnum)
		shnum = 1;
	if (phnum == PN_XNUM)
		phnum = 1;
	if (shoff && (shoff > size || shentsize == 0 ||
		      (size - shoff) / shentsize < shnum))
		return fail(err, errlen, path, -ENOEXEC,
			    "truncated section header table (%llu entries of %llu bytes at "
			    "offset %llu, file is %llu bytes)", (unsigned long long)shnum,
			    (unsigned long long)shentsize, (unsigned long long)shoff,
			    (unsigned long long)size);
	if (phoff && phnum && (phoff > size || phentsize == 0 ||
			       (size - phoff) / phentsize < phnum))
		return fail(err, errlen, path, -ENOEXEC,
			    "truncated program header table (%llu entries at offset %llu, "
			    "file is %llu bytes)", (unsigned long long)phnum,
			    (unsigned long long)phoff, (unsigned long long)size);
	return 0;
}

/* ---- tables ---------------------------------------------------------- */

/* The string table that section SHDR links to, checked: every string
 * inside [0, *size) is NUL-terminated inside the table. */
static int linked_strtab(struct nt_elf *e, const GElf_Shdr *shdr, const char *what,
			 const char **strs, size_t *size, char *err, size_t errlen)
{
	struct elf_priv *p = e->priv;
	Elf_Scn *scn;
	GElf_Shdr sh;
	Elf_Data *d;

	scn = elf_getscn(p->elf, shdr->sh_link);
	if (!scn || !gelf_getshdr(scn, &sh))
		return fail(err, errlen, e->path, -ENOEXEC,
			    "%s links to string table section %u, which does not exist",
			    what, shdr->sh_link);
	if (sh.sh_type != SHT_STRTAB)
		return fail(err, errlen, e->path, -ENOEXEC,
			    "%s links to section %u, which is not a string table", what,
			    shdr->sh_link);
	d = elf_getdata(scn, NULL);
	if (!d)
		return fail(err, errlen, e->path, -ENOEXEC,
			    "cannot read the string table of %s: %s", what, elferr());
	if (!d->d_buf || !d->d_size || ((const char *)d->d_buf)[d->d_size - 1] != '\0')
		return fail(err, errlen, e->path, -ENOEXEC,
			    "the string table of %s is empty or does not end with a NUL byte",
			    what);
	*strs = d->d_buf;
	*size = d->d_size;
	return 0;
}

static uint32_t fnv1a(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

/* A hash of the part of a name that every match of a pattern shares, so
 * that nt_elf_find_func compares 4-byte keys in one sequential array
 * instead of chasing every name through a 10 MB string table (a cache miss
 * each). For a C++ name it is the first identifier of the encoding, after
 * "_Z", GCC's internal-linkage 'L' and a nested name's 'N' with its
 * qualifiers ("_ZN4node7TCPWrap..." -> "node"); for anything else the name
 * without its clone suffix ("uv__io_poll.isra.0" -> "uv__io_poll"). The
 * prefix skipped here is the one candidate() skips. */
static uint32_t sym_key(const char *name)
{
	const char *p = name;
	size_t n;

	if (p[0] == '_' && p[1] == 'Z') {
		p += 2;
		if (*p == 'L')
			p++;
		if (*p == 'N') {
			p++;
			while (*p == 'r' || *p == 'V' || *p == 'K')
				p++;
			if (*p == 'R' || *p == 'O')
				p++;
			if (*p == 'L')
				p++;
		}
		if (*p >= '1' && *p <= '9') {
			n = 0;
			while (*p >= '0' && *p <= '9' && n < 1000000)
				n = n * 10 + (size_t)(*p++ - '0');
			if (strnlen(p, n) == n)
				return fnv1a(p, n);
		}
	}
	p = name[0] ? strchr(name + 1, '.') : NULL;
	n = p ? (size_t)(p - name) : strlen(name);
	return fnv1a(name, n);
}

/* Append the defined functions of symbol table SCN to OUT. */
static int read_symtab(struct nt_elf *e, Elf_Scn *scn, const char *what,
		       struct raw_sym *out, size_t *nout, size_t cap,
		       char *err, size_t errlen)
{
	struct elf_priv *p = e->priv;
	GElf_Shdr shdr;
	Elf_Data *d;
	const char *strs;
	size_t strsz, n, entsz;
	int rc;

	if (!gelf_getshdr(scn, &shdr))
		return fail(err, errlen, e->path, -ENOEXEC, "bad %s section header: %s",
			    what, elferr());
	d = elf_getdata(scn, NULL);
	if (!d)
		return fail(err, errlen, e->path, -ENOEXEC, "cannot read %s: %s", what,
			    elferr());
	if (d->d_size == 0)
		return 0;
	entsz = gelf_fsize(p->elf, ELF_T_SYM, 1, EV_CURRENT);
	if (d->d_type != ELF_T_SYM || !d->d_buf || !entsz)
		return fail(err, errlen, e->path, -ENOEXEC, "%s does not hold symbols", what);
	rc = linked_strtab(e, &shdr, what, &strs, &strsz, err, errlen);
	if (rc)
		return rc;
	n = d->d_size / entsz;
	if (n > INT32_MAX)      /* gelf_getsym takes an int */
		return fail(err, errlen, e->path, -EFBIG, "%s has %zu entries, too many",
			    what, n);
	/* Entry 0 is the null symbol. */
	for (size_t i = 1; i < n; i++) {
		GElf_Sym sym;
		int type, bind;

		if (!gelf_getsym(d, (int)i, &sym))
			return fail(err, errlen, e->path, -ENOEXEC,
				    "cannot read symbol %zu of %s: %s", i, what, elferr());
		type = GELF_ST_TYPE(sym.st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym.st_shndx == SHN_UNDEF)
			continue;
		if (sym.st_name >= strsz)
			return fail(err, errlen, e->path, -ENOEXEC,
				    "symbol %zu of %s has its name at offset %u, past the end "
				    "of its string table (%zu bytes)", i, what, sym.st_name, strsz);
		if (!strs[sym.st_name])
			continue;       /* a nameless function names nothing */
		if (*nout >= cap)       /* cannot happen: cap counts every entry */
			return fail(err, errlen, e->path, -EOVERFLOW,
				    "more symbols than counted");
		bind = GELF_ST_BIND(sym.st_info);
		out[*nout].addr = sym.st_value;
		out[*nout].size = sym.st_size;
		out[*nout].name = strs + sym.st_name;
		out[*nout].key = sym_key(strs + sym.st_name);
		out[*nout].global = bind == STB_GLOBAL || bind == STB_WEAK ||
				    bind == STB_GNU_UNIQUE;
		(*nout)++;
	}
	return 0;
}

static size_t symtab_count(struct nt_elf *e, Elf_Scn *scn)
{
	struct elf_priv *p = e->priv;
	GElf_Shdr shdr;
	size_t entsz = gelf_fsize(p->elf, ELF_T_SYM, 1, EV_CURRENT);

	/* An upper bound from the header; read_symtab checks the data itself. */
	if (!scn || !entsz || !gelf_getshdr(scn, &shdr))
		return 0;
	if (shdr.sh_size > p->file_size)    /* absurd: elf_getdata will refuse it */
		return 0;
	return shdr.sh_size / entsz;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct raw_sym *)a)->name, ((const struct raw_sym *)b)->name);
}

/* Sort by (addr, name) and keep one entry per (addr, name); returns how
 * many are left. qsort spent ~40 ms on node's ~200k entries (both tables),
 * mostly comparing; a stable radix sort on the address costs a few ms, and
 * only the short runs at one address need names compared. TMP has room for
 * N entries. */
static size_t sort_dedup(struct raw_sym *a, struct raw_sym *tmp, size_t n)
{
	size_t count[8][256] = { { 0 } }, m = 0;
	struct raw_sym *src = a, *dst = tmp, *t;

	for (size_t i = 0; i < n; i++)
		for (int d = 0; d < 8; d++)
			count[d][(a[i].addr >> (8 * d)) & 0xff]++;
	for (int d = 0; d < 8; d++) {
		size_t pos = 0;
		bool one_bucket = false;

		for (int b = 0; b < 256; b++)
			if (count[d][b] == n)
				one_bucket = true;
		if (one_bucket)         /* every address has the same byte here */
			continue;
		for (int b = 0; b < 256; b++) {
			size_t c = count[d][b];

			count[d][b] = pos;
			pos += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[count[d][(src[i].addr >> (8 * d)) & 0xff]++] = src[i];
		t = src;
		src = dst;
		dst = t;
	}
	if (src != a)
		memcpy(a, src, n * sizeof(*a));
	/* Runs at one address are short (a symbol and its .dynsym copy,
	 * aliases): insertion sort by name, merging the copies on the way, one
	 * strcmp per copy. A long run (only a hostile file has one) is sorted
	 * first, so that insertion stays linear. */
	for (size_t i = 0, j; i < n; i = j) {
		size_t run = m;         /* this run's kept entries start here */

		for (j = i + 1; j < n && a[j].addr == a[i].addr; j++)
			;
		if (j - i > 16)
			qsort(a + i, j - i, sizeof(*a), cmp_name);
		for (size_t k = i; k < j; k++) {
			struct raw_sym x = a[k];
			size_t at;
			int c = 1;

			for (at = m; at > run; at--) {
				c = strcmp(a[at - 1].name, x.name);
				if (c <= 0)
					break;
			}
			if (at > run && c == 0) {
				a[at - 1].global |= x.global;
				if (x.size > a[at - 1].size)
					a[at - 1].size = x.size;
				continue;
			}
			/* m <= k: the shift never reaches entries not yet read */
			memmove(a + at + 1, a + at, (m - at) * sizeof(*a));
			a[at] = x;
			m++;
		}
	}
	return m;
}

static int read_symbols(struct nt_elf *e, Elf_Scn *symtab, Elf_Scn *dynsym,
			char *err, size_t errlen)
{
	struct elf_priv *p = e->priv;
	size_t cap, n = 0, m = 0;
	struct raw_sym *raw, *tmp;
	int rc = 0;

	cap = symtab_count(e, symtab) + symtab_count(e, dynsym);
	raw = malloc((cap ? cap : 1) * sizeof(*raw));
	if (!raw)
		return fail(err, errlen, e->path, -ENOMEM, "out of memory for %zu symbols", cap);
	if (symtab)
		rc = read_symtab(e, symtab, ".symtab", raw, &n, cap, err, errlen);
	if (!rc && dynsym)
		rc = read_symtab(e, dynsym, ".dynsym", raw, &n, cap, err, errlen);
	if (rc)
		goto out;

	/* .dynsym repeats the exported part of .symtab. */
	tmp = malloc((n ? n : 1) * sizeof(*tmp));
	if (!tmp) {
		rc = fail(err, errlen, e->path, -ENOMEM, "out of memory for %zu symbols", n);
		goto out;
	}
	m = sort_dedup(raw, tmp, n);
	free(tmp);

	e->syms = calloc(m ? m : 1, sizeof(*e->syms));
	p->global = calloc(m ? m : 1, sizeof(*p->global));
	p->max_end = calloc(m ? m : 1, sizeof(*p->max_end));
	p->key = calloc(m ? m : 1, sizeof(*p->key));
	if (!e->syms || !p->global || !p->max_end || !p->key) {
		rc = fail(err, errlen, e->path, -ENOMEM, "out of memory for %zu symbols", m);
		goto out;
	}
	for (size_t i = 0; i < m; i++) {
		uint64_t end = raw[i].addr + raw[i].size;

		if (end < raw[i].addr)          /* a hostile size: saturate */
			end = UINT64_MAX;
		e->syms[i].addr = raw[i].addr;
		e->syms[i].size = raw[i].size;
		e->syms[i].name = raw[i].name;
		p->global[i] = raw[i].global;
		p->key[i] = raw[i].key;
		p->max_end[i] = (i && p->max_end[i - 1] > end) ? p->max_end[i - 1] : end;
	}
	e->nsyms = m;
out:
	free(raw);
	return rc;
}

static int read_segments(struct nt_elf *e, Elf_Data **notes, size_t *nnotes,
			 char *err, size_t errlen)
{
	struct elf_priv *p = e->priv;
	size_t phnum;

	*nnotes = 0;
	if (elf_getphdrnum(p->elf, &phnum))
		return fail(err, errlen, e->path, -ENOEXEC, "cannot count program headers: %s",
			    elferr());
	if (!phnum)
		return 0;
	e->segs = calloc(phnum, sizeof(*e->segs));
	if (!e->segs)
		return fail(err, errlen, e->path, -ENOMEM, "out of memory for %zu segments",
			    phnum);
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(p->elf, (int)i, &ph))
			return fail(err, errlen, e->path, -ENOEXEC,
				    "cannot read program header %zu: %s", i, elferr());
		if (ph.p_type == PT_NOTE && *nnotes < 8 && ph.p_filesz) {
			/* Only used when no section holds the build-id; a note
			 * segment that does not fit the file is simply skipped. */
			Elf_Data *d = elf_getdata_rawchunk(p->elf, (int64_t)ph.p_offset,
							   ph.p_filesz,
							   ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
			if (d)
				notes[(*nnotes)++] = d;
		}
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_offset > p->file_size || p->file_size - ph.p_offset < ph.p_filesz)
			return fail(err, errlen, e->path, -ENOEXEC,
				    "truncated: PT_LOAD segment %zu (offset 0x%llx, %llu bytes) "
				    "ends past the end of the file (%llu bytes)", i,
				    (unsigned long long)ph.p_offset,
				    (unsigned long long)ph.p_filesz,
				    (unsigned long long)p->file_size);
		if (ph.p_vaddr + ph.p_memsz < ph.p_vaddr || ph.p_filesz > ph.p_memsz)
			return fail(err, errlen, e->path, -ENOEXEC,
				    "PT_LOAD segment %zu has an impossible size", i);
		e->segs[e->nsegs++] = (struct nt_elf_seg){
			.vaddr = ph.p_vaddr, .memsz = ph.p_memsz,
			.offset = ph.p_offset, .filesz = ph.p_filesz, .flags = ph.p_flags,
		};
	}
	return 0;
}

/* Look for NT_GNU_BUILD_ID "GNU" in a note section or segment. Malformed
 * notes end the search (gelf_getnote checks every size against D). */
static bool find_build_id(struct nt_elf *e, Elf_Data *d)
{
	static const char hex[] = "0123456789abcdef";
	size_t off = 0, next, name_off, desc_off;
	GElf_Nhdr nh;

	if (!d || !d->d_buf)
		return false;
	while ((next = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
		const unsigned char *desc = (const unsigned char *)d->d_buf + desc_off;

		off = next;
		if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
		    memcmp((const char *)d->d_buf + name_off, "GNU", 4))
			continue;
		/* 20 bytes (SHA-1) fit the header's buffer; a longer id would be
		 * truncated into a wrong one, so none is reported. */
		if (!nh.n_descsz || nh.n_descsz > (sizeof(e->build_id) - 1) / 2)
			return false;
		for (size_t i = 0; i < nh.n_descsz; i++) {
			e->build_id[2 * i] = hex[desc[i] >> 4];
			e->build_id[2 * i + 1] = hex[desc[i] & 15];
		}
		e->build_id[2 * nh.n_descsz] = '\0';
		return true;
	}
	return false;
}

static int read_needed(struct nt_elf *e, Elf_Scn *scn, char *err, size_t errlen)
{
	struct elf_priv *p = e->priv;
	GElf_Shdr shdr;
	Elf_Data *d;
	const char *strs;
	size_t strsz, n, entsz;
	int rc;

	if (!gelf_getshdr(scn, &shdr))
		return fail(err, errlen, e->path, -ENOEXEC, "bad .dynamic section header: %s",
			    elferr());
	d = elf_getdata(scn, NULL);
	if (!d)
		return fail(err, errlen, e->path, -ENOEXEC, "cannot read .dynamic: %s", elferr());
	entsz = gelf_fsize(p->elf, ELF_T_DYN, 1, EV_CURRENT);
	if (!d->d_size || !entsz)
		return 0;
	if (d->d_type != ELF_T_DYN || !d->d_buf)
		return fail(err, errlen, e->path, -ENOEXEC, ".dynamic does not hold entries");
	rc = linked_strtab(e, &shdr, ".dynamic", &strs, &strsz, err, errlen);
	if (rc)
		return rc;
	n = d->d_size / entsz;
	if (n > INT32_MAX)      /* gelf_getdyn takes an int */
		return fail(err, errlen, e->path, -EFBIG, ".dynamic has %zu entries, too many", n);
	for (size_t i = 0; i < n; i++) {
		GElf_Dyn dyn;
		char **nn;

		if (!gelf_getdyn(d, (int)i, &dyn))
			return fail(err, errlen, e->path, -ENOEXEC,
				    "cannot read .dynamic entry %zu: %s", i, elferr());
		if (dyn.d_tag == DT_NULL)
			break;
		if (dyn.d_tag != DT_NEEDED)
			continue;
		if (dyn.d_un.d_val >= strsz)
			return fail(err, errlen, e->path, -ENOEXEC,
				    "DT_NEEDED entry %zu names offset %llu, past the end of "
				    ".dynstr (%zu bytes)", i,
				    (unsigned long long)dyn.d_un.d_val, strsz);
		nn = realloc(e->needed, (e->nneeded + 1) * sizeof(*nn));
		if (!nn)
			return fail(err, errlen, e->path, -ENOMEM, "out of memory");
		e->needed = nn;
		nn[e->nneeded] = strdup(strs + dyn.d_un.d_val);
		if (!nn[e->nneeded])
			return fail(err, errlen, e->path, -ENOMEM, "out of memory");
		e->nneeded++;
	}
	return 0;
}

/* ---- open / free ----------------------------------------------------- */

static int index_elf(struct nt_elf *e, char *err, size_t errlen)
{
	struct elf_priv *p = e->priv;
	Elf_Scn *scn = NULL, *symtab = NULL, *dynsym = NULL, *dynamic = NULL;
	Elf_Data *notes[8];
	size_t nnotes, shnum, nscn = 0;
	GElf_Ehdr eh;
	int rc;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return fail(err, errlen, e->path, -ENOSYS, "libelf is too old: %s", elferr());
	p->elf = elf_begin(p->fd, ELF_C_READ_MMAP, NULL);
	if (!p->elf)
		return fail(err, errlen, e->path, -ENOEXEC, "libelf cannot read it: %s",
			    elferr());
	if (elf_kind(p->elf) != ELF_K_ELF)
		return fail(err, errlen, e->path, -ENOEXEC, "not an ELF file");
	if (!gelf_getehdr(p->elf, &eh))
		return fail(err, errlen, e->path, -ENOEXEC, "bad ELF header: %s", elferr());
	e->is_pie = eh.e_type == ET_DYN;

	rc = read_segments(e, notes, &nnotes, err, errlen);
	if (rc)
		return rc;

	if (elf_getshdrnum(p->elf, &shnum))
		return fail(err, errlen, e->path, -ENOEXEC, "cannot count sections: %s",
			    elferr());
	while ((scn = elf_nextscn(p->elf, scn))) {
		GElf_Shdr sh;

		nscn++;

		if (!gelf_getshdr(scn, &sh))
			return fail(err, errlen, e->path, -ENOEXEC,
				    "bad header for section %zu: %s", elf_ndxscn(scn), elferr());
		switch (sh.sh_type) {
		case SHT_SYMTAB:
			if (!symtab)
				symtab = scn;
			break;
		case SHT_DYNSYM:
			if (!dynsym)
				dynsym = scn;
			break;
		case SHT_DYNAMIC:
			if (!dynamic)
				dynamic = scn;
			break;
		case SHT_NOTE:
			if (e->build_id[0] || (sh.sh_flags & SHF_ALLOC) == 0)
				break;
			/* A note that does not fit the file is reported by
			 * elf_getdata; it only costs us the build-id. */
			find_build_id(e, elf_getdata(scn, NULL));
			break;
		}
	}
	/* elf_nextscn says NULL both at the end and on an error. */
	if (shnum && nscn != shnum - 1)
		return fail(err, errlen, e->path, -ENOEXEC,
			    "section table ends after %zu of %zu sections", nscn + 1, shnum);
	for (size_t i = 0; i < nnotes && !e->build_id[0]; i++)
		find_build_id(e, notes[i]);

	if (!symtab && !dynsym)
		return fail(err, errlen, e->path, -ENODATA,
			    "no symbol table (neither .symtab nor .dynsym)");
	rc = read_symbols(e, symtab, dynsym, err, errlen);
	if (rc)
		return rc;
	if (dynamic)
		rc = read_needed(e, dynamic, err, errlen);
	return rc;
}

int nt_elf_open(const char *path, struct nt_elf **out, char *err, size_t errlen)
{
	struct nt_elf *e;
	struct elf_priv *p;
	struct stat st;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!out)
		return fail(err, errlen, path, -EINVAL, "no place for the result");
	*out = NULL;
	if (!path || !*path)
		return fail(err, errlen, path, -EINVAL, "empty path");
	e = calloc(1, sizeof(*e));
	p = calloc(1, sizeof(*p));
	if (!e || !p) {
		free(e);
		free(p);
		return fail(err, errlen, path, -ENOMEM, "out of memory");
	}
	p->fd = -1;
	e->priv = p;
	e->path = strdup(path);
	if (!e->path) {
		rc = fail(err, errlen, path, -ENOMEM, "out of memory");
		goto bad;
	}
	/* O_NONBLOCK: opening a FIFO must not hang; it is refused below. */
	p->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (p->fd < 0) {
		rc = fail(err, errlen, path, -errno, "cannot open: %s", strerror(errno));
		goto bad;
	}
	if (fstat(p->fd, &st)) {
		rc = fail(err, errlen, path, -errno, "cannot stat: %s", strerror(errno));
		goto bad;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = fail(err, errlen, path, -ENOEXEC, "not a regular file");
		goto bad;
	}
	if (st.st_size == 0) {
		rc = fail(err, errlen, path, -ENOEXEC, "empty file, not an ELF file");
		goto bad;
	}
	e->dev = st.st_dev;
	e->ino = st.st_ino;
	p->file_size = (uint64_t)st.st_size;
	rc = check_header(p->fd, path, p->file_size, err, errlen);
	if (!rc)
		rc = index_elf(e, err, errlen);
	if (rc)
		goto bad;
	*out = e;
	return 0;
bad:
	nt_elf_free(e);
	return rc;
}

void nt_elf_free(struct nt_elf *e)
{
	struct elf_priv *p;

	if (!e)
		return;
	p = e->priv;
	for (size_t i = 0; i < e->nneeded; i++)
		free(e->needed[i]);
	free(e->needed);
	free(e->segs);
	free(e->syms);
	if (p) {
		free(p->global);
		free(p->max_end);
		free(p->key);
		if (p->elf)
			elf_end(p->elf);
		if (p->fd >= 0)
			close(p->fd);
		free(p);
	}
	free(e->path);
	free(e);
}

/* ---- addresses ------------------------------------------------------- */

uint64_t nt_elf_vaddr_to_offset(const struct nt_elf *e, uint64_t vaddr)
{
	if (!e)
		return UINT64_MAX;
	/* filesz, not memsz: .bss has no bytes in the file. */
	for (size_t i = 0; i < e->nsegs; i++) {
		const struct nt_elf_seg *s = &e->segs[i];

		if (vaddr >= s->vaddr && vaddr - s->vaddr < s->filesz)
			return s->offset + (vaddr - s->vaddr);
	}
	return UINT64_MAX;
}

uint64_t nt_elf_offset_to_vaddr(const struct nt_elf *e, uint64_t off)
{
	if (!e)
		return UINT64_MAX;
	for (size_t i = 0; i < e->nsegs; i++) {
		const struct nt_elf_seg *s = &e->segs[i];

		if (off >= s->offset && off - s->offset < s->filesz)
			return s->vaddr + (off - s->offset);
	}
	return UINT64_MAX;
}

static const struct nt_elf_seg *seg_of(const struct nt_elf *e, uint64_t vaddr)
{
	for (size_t i = 0; i < e->nsegs; i++)
		if (vaddr >= e->segs[i].vaddr && vaddr - e->segs[i].vaddr < e->segs[i].memsz)
			return &e->segs[i];
	return NULL;
}

/* Of two symbols at one address, the one to name it by: an exported name
 * over a local alias. */
static bool better(const struct nt_elf *e, size_t a, size_t b)
{
	const struct elf_priv *p = e->priv;

	return p->global[a] && !p->global[b];
}

const struct nt_sym *nt_elf_sym_at(const struct nt_elf *e, uint64_t vaddr, uint64_t *off)
{
	const struct elf_priv *p;
	size_t lo = 0, hi, best = SIZE_MAX;

	if (!e || !e->nsyms)
		return NULL;
	p = e->priv;
	/* lo = the first symbol above vaddr. */
	hi = e->nsyms;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (e->syms[mid].addr <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	/* Walk down from the nearest start; max_end says when no earlier
	 * symbol can reach vaddr any more. The innermost (highest) start
	 * wins, so a function inside another's range is named by itself. */
	for (size_t i = lo; i-- > 0;) {
		const struct nt_sym *s = &e->syms[i];

		if (p->max_end[i] <= vaddr)
			break;
		if (best != SIZE_MAX && s->addr != e->syms[best].addr)
			break;
		if (s->size && vaddr - s->addr < s->size &&
		    (best == SIZE_MAX || better(e, i, best)))
			best = i;
	}
	if (best == SIZE_MAX) {
		/* Nothing sized holds vaddr: a size-0 symbol at the nearest
		 * start below it stands for everything up to the next symbol,
		 * within its own segment. */
		uint64_t a = e->syms[lo - 1].addr;
		const struct nt_elf_seg *sa, *sv;

		for (size_t i = lo; i-- > 0 && e->syms[i].addr == a;)
			if (!e->syms[i].size && (best == SIZE_MAX || better(e, i, best)))
				best = i;
		if (best == SIZE_MAX)
			return NULL;
		if (vaddr != a && e->nsegs) {
			sa = seg_of(e, a);
			sv = seg_of(e, vaddr);
			if (!sa || sa != sv)
				return NULL;
		}
	}
	if (off)
		*off = vaddr - e->syms[best].addr;
	return &e->syms[best];
}

/* ---- names ----------------------------------------------------------- */

static void copy_str(char *buf, size_t len, const char *s)
{
	size_t n = strlen(s);

	if (n >= len)
		n = len - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
}

const char *nt_demangle(const char *name, char *buf, size_t len)
{
	char *d;

	if (!buf || !len)
		return buf;
	if (!name) {
		buf[0] = '\0';
		return buf;
	}
	/* Only Itanium C++ names: cplus_demangle's automatic style would also
	 * "demangle" some C names that happen to look like other schemes. */
	d = strncmp(name, "_Z", 2) ? NULL : cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI);
	copy_str(buf, len, d ? d : name);
	free(d);
	return buf;
}

static bool all_digits(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* How much a clone kind says "not the function's real entry"; the larger
 * wins when suffixes combine (".part.0.isra.0" is still only a part). */
static int clone_weight(enum nt_clone_kind k)
{
	switch (k) {
	case NT_CLONE_COLD: return 5;
	case NT_CLONE_PART: return 4;
	case NT_CLONE_ISRA: return 3;
	case NT_CLONE_CONSTPROP: return 2;
	case NT_CLONE_OTHER: return 1;
	default: return 0;
	}
}

enum nt_clone_kind nt_clone_suffix(const char *name, size_t *base_len)
{
	enum nt_clone_kind kind = NT_CLONE_NONE;
	const char *dot, *t;
	bool after_keyword = false;

	if (!name) {
		if (base_len)
			*base_len = 0;
		return NT_CLONE_NONE;
	}
	/* Mangled names and C identifiers have no '.', so the first one
	 * (not at the start) begins the suffix chain GCC appends:
	 * ".constprop.0.isra.0", ".part.0", ".cold", ".lto_priv.0", ... */
	dot = name[0] ? strchr(name + 1, '.') : NULL;
	if (!dot) {
		if (base_len)
			*base_len = strlen(name);
		return NT_CLONE_NONE;
	}
	if (base_len)
		*base_len = (size_t)(dot - name);
	for (t = dot + 1;; ) {
		const char *end = strchr(t, '.');
		size_t n = end ? (size_t)(end - t) : strlen(t);
		enum nt_clone_kind k = NT_CLONE_OTHER;

		if (after_keyword && all_digits(t, n)) {
			/* the clone's number: belongs to the keyword before it */
			after_keyword = false;
			k = NT_CLONE_NONE;
		} else if (n == 4 && !memcmp(t, "isra", 4)) {
			k = NT_CLONE_ISRA;
		} else if (n == 9 && !memcmp(t, "constprop", 9)) {
			k = NT_CLONE_CONSTPROP;
		} else if (n == 4 && !memcmp(t, "part", 4)) {
			k = NT_CLONE_PART;
		} else if (n == 4 && !memcmp(t, "cold", 4)) {
			k = NT_CLONE_COLD;
		}
		if (k != NT_CLONE_NONE)
			after_keyword = k != NT_CLONE_OTHER;
		if (clone_weight(k) > clone_weight(kind))
			kind = k;
		if (!end)
			break;
		t = end + 1;
	}
	return kind;
}

/* ---- C++ patterns ---------------------------------------------------- */

/* Compare ignoring white space, so that "Local<Value> >" and "Local<Value>>"
 * or "char const *" and "char const*" are the same. With PREFIX, A only has
 * to be a prefix of B. */
static bool eq_nows(const char *a, size_t alen, const char *b, size_t blen, bool prefix)
{
	size_t i = 0, j = 0;

	for (;;) {
		while (i < alen && (a[i] == ' ' || a[i] == '\t'))
			i++;
		while (j < blen && (b[j] == ' ' || b[j] == '\t'))
			j++;
		if (i == alen)
			return prefix || j == blen;
		if (j == blen || a[i] != b[j])
			return false;
		i++;
		j++;
	}
}

static bool is_ident(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '$';
}

#define MAX_TOKENS 16
#define TOKEN_BUF 512

/* What the mangled form of a qualified name must contain, to preselect the
 * few symbols worth demangling. A function's own name comes first in its
 * mangled encoding, and the components of a nested name are length-prefixed
 * and consecutive: "node::TCPWrap::Connect" is "_ZN4node7TCPWrap7Connect...".
 * Details the scan allows for:
 *   - GCC marks internal linkage with an 'L' before a component
 *     ("_ZN4nodeL5Query...", "_ZL8nt_locali");
 *   - 'N' may be followed by the method's qualifiers r, V, K and R or O;
 *   - a component with template arguments ("Connect<sockaddr_in>" is
 *     "7ConnectI11sockaddr_inE") or an ABI tag ends a run of consecutive
 *     tokens: what follows its identifier is not the next component;
 *   - components that are not spelled as length-prefixed identifiers are
 *     skipped and end a run: "std" (St), std::string and friends (Ss, Sa,
 *     ...), constructors (C1/C2), destructors, operators, lambdas.
 *     "(anonymous namespace)" is spelled "12_GLOBAL__N_1".
 * When the first component gives the first token, the run starting there
 * must sit right at the start of the encoding (a cheap comparison per
 * symbol); later runs only have to occur somewhere. Either way the tokens
 * are necessary, not sufficient: the demangled name decides. */
struct tokens {
	char buf[TOKEN_BUF];
	size_t off[MAX_TOKENS], len[MAX_TOKENS];
	bool run_start[MAX_TOKENS];     /* the token starts a new run */
	int n;
	bool anchored;                  /* token 0 starts the encoding */
	uint32_t key0;                  /* sym_key of such names */
	bool open;                      /* the current run can still grow */
	int ncomp;                      /* components seen so far */
};

static void token_break(struct tokens *t)
{
	t->open = false;
}

static void token_add(struct tokens *t, const char *id, size_t n)
{
	size_t used = t->n ? t->off[t->n - 1] + t->len[t->n - 1] + 1 : 0;
	char num[24];
	int k = snprintf(num, sizeof(num), "%zu", n);

	/* Dropping a token only widens the preselection. */
	if (t->n == MAX_TOKENS || k < 0 || used + (size_t)k + n + 1 > TOKEN_BUF)
		return token_break(t);
	memcpy(t->buf + used, num, (size_t)k);
	memcpy(t->buf + used + (size_t)k, id, n);
	t->buf[used + (size_t)k + n] = '\0';
	if (t->n == 0 && t->ncomp == 0) {
		t->anchored = true;
		t->key0 = fnv1a(id, n);
	}
	t->off[t->n] = used;
	t->len[t->n] = (size_t)k + n;
	t->run_start[t->n] = !t->open;
	t->n++;
	t->open = true;
}

static bool is_std_abbrev(const char *id, size_t n)
{
	static const char *const ab[] = {
		"allocator", "basic_string", "string", "istream", "ostream", "iostream",
	};

	for (size_t i = 0; i < sizeof(ab) / sizeof(ab[0]); i++)
		if (strlen(ab[i]) == n && !memcmp(ab[i], id, n))
			return true;
	return false;
}

/* Split PAT into the qualified name (its length is returned) and collect
 * its tokens. The parameter list starts at the first '(' outside brackets
 * that is not "(anonymous namespace)" or the "()" of "operator()". */
static size_t parse_pattern(const char *pat, struct tokens *t)
{
	static const char anon[] = "(anonymous namespace)";
	const char *s = pat, *prev_id = NULL;
	size_t prev_n = 0;
	bool prev_std = false;

	memset(t, 0, sizeof(*t));
	for (;; t->ncomp++) {
		const char *comp = s, *id = s;
		size_t idn;
		int depth = 0;
		bool plain, is_std;

		if (!strncmp(s, anon, sizeof(anon) - 1)) {
			s += sizeof(anon) - 1;
			token_add(t, "_GLOBAL__N_1", 12);
			prev_id = NULL;
			prev_std = false;
			if (s[0] == ':' && s[1] == ':') {
				s += 2;
				continue;
			}
			return (size_t)(s - pat);
		}
		while (is_ident(*s))
			s++;
		idn = (size_t)(s - id);
		if (idn == 8 && !memcmp(id, "operator", 8)) {
			if (s[0] == '(' && s[1] == ')')
				s += 2;
			while (*s && *s != '(')
				s++;
		}
		/* the rest of the component: up to "::" or '(' outside brackets */
		for (; *s; s++) {
			if (depth == 0 && (*s == '(' || (s[0] == ':' && s[1] == ':')))
				break;
			if (*s == '<' || *s == '(' || *s == '[' || *s == '{')
				depth++;
			else if ((*s == '>' || *s == ')' || *s == ']' || *s == '}') && depth > 0)
				depth--;
		}
		plain = comp + idn == s;
		is_std = plain && idn == 3 && !memcmp(id, "std", 3);
		if (idn == 0 || is_std || (id[0] >= '0' && id[0] <= '9') ||
		    (idn == 8 && !memcmp(id, "operator", 8)) ||
		    (prev_std && is_std_abbrev(id, idn)) ||
		    (prev_id && prev_n == idn && !memcmp(prev_id, id, idn))) {
			token_break(t);
		} else {
			token_add(t, id, idn);
			if (!plain)     /* template arguments or an ABI tag follow */
				token_break(t);
		}
		prev_std = is_std;
		prev_id = id;
		prev_n = idn;
		if (s[0] == ':' && s[1] == ':') {
			s += 2;
			continue;
		}
		return (size_t)(s - pat);
	}
}

/* Does the run of tokens starting at token I occur at P (GCC's 'L' allowed
 * before each token)? */
static bool run_at(const struct tokens *t, int i, const char *p)
{
	do {
		const char *tok = t->buf + t->off[i];

		if (*p == 'L')
			p++;
		/* the first byte inline: most symbols differ right there */
		if (*p != *tok || strncmp(p, tok, t->len[i]))
			return false;
		p += t->len[i];
		i++;
	} while (i < t->n && !t->run_start[i]);
	return true;
}

static bool run_anywhere(const struct tokens *t, int i, const char *name)
{
	const char *p = name;

	while ((p = strstr(p, t->buf + t->off[i]))) {
		if (run_at(t, i, p))
			return true;
		p++;
	}
	return false;
}

/* Is mangled NAME worth demangling for the pattern with tokens T? */
static bool candidate(const struct tokens *t, const char *name)
{
	const char *p = name + 2;
	int i = 0;

	if (name[0] != '_' || name[1] != 'Z')
		return false;
	if (t->anchored) {
		if (*p == 'L')
			p++;
		if (*p == 'N') {
			p++;
			while (*p == 'r' || *p == 'V' || *p == 'K')
				p++;
			if (*p == 'R' || *p == 'O')
				p++;
		}
		if (!run_at(t, 0, p))
			return false;
		for (i = 1; i < t->n && !t->run_start[i]; i++)
			;
	}
	for (; i < t->n; i++)
		if (t->run_start[i] && !run_anywhere(t, i, name + 2))
			return false;
	return true;
}

/* Does mangled NAME demangle to the pattern's qualified name (and, when
 * PARAMS is set, start its parameter list with PARAMS)? */
static bool cxx_matches(const char *name, const char *qn, size_t qlen, const char *params)
{
	char *dn, *full;
	const char *at;
	size_t dlen;
	bool ok = false;

	/* Without DMGL_PARAMS the demangler prints just the qualified name,
	 * with the last component's template arguments, and neither the
	 * return type of a template function nor the clone suffix. */
	dn = cplus_demangle(name, DMGL_ANSI);
	if (!dn)
		return false;
	dlen = strlen(dn);
	if (!eq_nows(qn, qlen, dn, dlen, false))
		goto out;
	if (!params || !*params) {
		ok = true;
		goto out;
	}
	full = cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI);
	if (!full)
		goto out;
	/* The full form is "[return type ]NAME(params)[ const][ [clone ...]]":
	 * find NAME followed by its '('. */
	for (at = full; (at = strstr(at, dn)); at++) {
		if ((at == full || at[-1] == ' ') && at[dlen] == '(') {
			ok = eq_nows(params, strlen(params), at + dlen, strlen(at + dlen), true);
			break;
		}
	}
	free(full);
out:
	free(dn);
	return ok;
}

/* ---- lookup ---------------------------------------------------------- */

struct match_buf {
	struct nt_sym_match *m;
	size_t n, cap;
};

static int add_match(const struct nt_elf *e, struct match_buf *b, size_t i,
		     enum nt_clone_kind kind)
{
	const struct elf_priv *p = e->priv;

	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 16;
		struct nt_sym_match *m = realloc(b->m, cap * sizeof(*m));

		if (!m)
			return -ENOMEM;
		b->m = m;
		b->cap = cap;
	}
	b->m[b->n++] = (struct nt_sym_match){
		.sym = &e->syms[i],
		.file_offset = nt_elf_vaddr_to_offset(e, e->syms[i].addr),
		.clone = kind,
		.global = p->global[i],
	};
	return 0;
}

/* Entry points first: the function itself, then clones that are still
 * whole functions with a changed ABI, then other renamed copies, then
 * fragments that are never called as functions. */
static int clone_rank(enum nt_clone_kind k)
{
	switch (k) {
	case NT_CLONE_NONE: return 0;
	case NT_CLONE_ISRA: return 1;
	case NT_CLONE_CONSTPROP: return 1;
	case NT_CLONE_OTHER: return 2;
	case NT_CLONE_PART: return 3;
	default: return 4;
	}
}

static int cmp_match_rank(const void *a, const void *b)
{
	const struct nt_sym_match *x = a, *y = b;
	int rx = clone_rank(x->clone), ry = clone_rank(y->clone);

	if (rx != ry)
		return rx < ry ? -1 : 1;
	if (x->global != y->global)
		return x->global ? -1 : 1;
	if (x->sym->addr != y->sym->addr)
		return x->sym->addr < y->sym->addr ? -1 : 1;
	return strcmp(x->sym->name, y->sym->name);
}

static int cmp_match_addr(const void *a, const void *b)
{
	const struct nt_sym_match *x = a, *y = b;

	if (x->sym->addr != y->sym->addr)
		return x->sym->addr < y->sym->addr ? -1 : 1;
	return cmp_match_rank(a, b);
}

int nt_elf_find_func(const struct nt_elf *e, const char *pattern,
		     struct nt_sym_match *out, size_t max)
{
	struct match_buf b = { 0 };
	const struct elf_priv *p;
	size_t m = 0;
	int rc = 0;

	if (!e || !e->priv || !pattern || !*pattern || (max && !out))
		return -EINVAL;
	p = e->priv;

	if (!strpbrk(pattern, ":(<~ ")) {
		/* A C name (or a mangled one): exact, or with a clone suffix. */
		size_t len = strlen(pattern);
		uint32_t key = sym_key(pattern);

		for (size_t i = 0; i < e->nsyms && !rc; i++) {
			const char *n = e->syms[i].name;
			size_t base;
			enum nt_clone_kind k;

			if (p->key[i] != key || strncmp(n, pattern, len))
				continue;
			if (n[len] != '\0' && n[len] != '.')
				continue;
			k = nt_clone_suffix(n, &base);
			if (n[len] == '.' && base != len)
				continue;
			rc = add_match(e, &b, i, k);
		}
	} else {
		struct tokens t;
		const char *pat = strncmp(pattern, "::", 2) ? pattern : pattern + 2;
		size_t qlen = parse_pattern(pat, &t);
		const char *params = pat[qlen] == '(' ? pat + qlen : NULL;

		/* Without an anchor ("std::sort", "operator new") every C++
		 * name is tried: slower, still correct. */
		for (size_t i = 0; i < e->nsyms && !rc; i++) {
			const char *n = e->syms[i].name;

			if (t.anchored && p->key[i] != t.key0)
				continue;
			if (candidate(&t, n) && cxx_matches(n, pat, qlen, params))
				rc = add_match(e, &b, i, nt_clone_suffix(n, NULL));
		}
	}
	if (rc) {
		free(b.m);
		return rc;
	}

	/* One match per address: aliases (C1/C2 constructors, a symbol and
	 * its local alias) are one function and must get one probe. */
	if (b.n) {
		qsort(b.m, b.n, sizeof(*b.m), cmp_match_addr);
		for (size_t i = 0; i < b.n; i++)
			if (!m || b.m[m - 1].sym->addr != b.m[i].sym->addr)
				b.m[m++] = b.m[i];
		qsort(b.m, m, sizeof(*b.m), cmp_match_rank);
	}
	for (size_t i = 0; i < m && i < max; i++)
		out[i] = b.m[i];
	free(b.m);
	return m > INT32_MAX ? INT32_MAX : (int)m;
}
