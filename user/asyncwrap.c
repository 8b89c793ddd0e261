#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "asyncwrap.h"

const char *const nt_aw_func_pattern[NT_AW_FUNCS] = {
	[NT_AW_MAKECALLBACK_FN] = "node::AsyncWrap::MakeCallback(v8::Local<v8::Function>",
	[NT_AW_RUNTIMERS] = "node::Environment::RunTimers",
	[NT_AW_NODE_MAKECALLBACK] = "node::MakeCallback(v8::Isolate*, v8::Local<v8::Object>, "
				    "v8::Local<v8::Function>, int, v8::Local<v8::Value>*, node::async_context",
	[NT_AW_INTERNAL_ISOLATE] = "node::InternalMakeCallback(v8::Isolate*",
	[NT_AW_CHECK_IMMEDIATE] = "node::Environment::CheckImmediate",
};

#define NAME_PATTERN "node::AsyncWrap::MakeCallback(v8::Local<v8::Name>"
#define MAX_NAME_OVERLOADS 64
#define MAX_PROVIDERS 256
#define MAX_FUNC_BYTES (1 << 20)

/* movslq OFF(%rdi),%rax at CODE+I: returns its length, 0 if not one. */
static size_t movslq_rdi(const uint8_t *code, size_t len, size_t i, uint32_t *off)
{
	if (i + 4 <= len && code[i] == 0x48 && code[i + 1] == 0x63 && code[i + 2] == 0x47) {
		*off = code[i + 3];          /* disp8: 0x47 = mod 01, rax, [rdi] */
		return code[i + 3] < 0x80 ? 4 : 0;
	}
	if (i + 7 <= len && code[i] == 0x48 && code[i + 1] == 0x63 && code[i + 2] == 0x87) {
		int32_t d;                   /* disp32: 0x87 = mod 10, rax, [rdi] */

		memcpy(&d, code + i + 3, 4);
		*off = (uint32_t)d;
		return d > 0 ? 7 : 0;
	}
	return 0;
}

/* lea rel32(%rip),%reg (reg 0-7) at CODE+I: its length, with reg and target. */
static size_t lea_rip(const uint8_t *code, size_t len, size_t i, uint64_t start,
		      int *reg, uint64_t *target)
{
	int32_t rel;

	if (i + 7 > len || code[i] != 0x48 || code[i + 1] != 0x8d || (code[i + 2] & 0xc7) != 0x05)
		return 0;
	*reg = (code[i + 2] >> 3) & 7;
	memcpy(&rel, code + i + 3, 4);
	*target = start + i + 7 + (uint64_t)(int64_t)rel;
	return 7;
}

static size_t skip_endbr(const uint8_t *code, size_t len)
{
	static const uint8_t endbr64[4] = { 0xf3, 0x0f, 0x1e, 0xfa };

	return len >= 4 && !memcmp(code, endbr64, 4) ? 4 : 0;
}

int nt_aw_decode_info_name(const uint8_t *code, size_t len, uint64_t start,
			   uint32_t *off, uint64_t *table)
{
	size_t i = skip_endbr(code, len), n;
	uint64_t lea_target = 0;
	int reg = -1;

	/* PIE: the table's address may be loaded first. */
	if ((n = lea_rip(code, len, i, start, &reg, &lea_target)))
		i += n;
	n = movslq_rdi(code, len, i, off);
	if (!n)
		return -1;
	i += n;
	if (reg < 0 && (n = lea_rip(code, len, i, start, &reg, &lea_target)))
		i += n;
	if (reg < 0) {
		/* mov TABLE(,%rax,8),%rax: 48 8b 04 c5 imm32 */
		int32_t imm;

		if (i + 8 > len || code[i] != 0x48 || code[i + 1] != 0x8b || code[i + 2] != 0x04 ||
		    code[i + 3] != 0xc5)
			return -1;
		memcpy(&imm, code + i + 4, 4);
		*table = (uint64_t)(int64_t)imm;
		return 0;
	}
	/* mov (%reg,%rax,8),%rax: 48 8b 04 (SIB scale 8, index rax, base reg) */
	if (reg == 4 || reg == 5 || i + 4 > len || code[i] != 0x48 || code[i + 1] != 0x8b ||
	    code[i + 2] != 0x04 || code[i + 3] != (0xc0 | reg))
		return -1;
	*table = lea_target;
	return 0;
}

int nt_aw_decode_trace_before(const uint8_t *code, size_t len, uint32_t *off, uint32_t *max)
{
	/* The prologue pushes and moves registers first: look a little way in
	 * for cmpl $imm, OFF(%rdi) in any of its encodings. */
	size_t end = len < 48 ? len : 48;

	for (size_t i = 0; i + 4 <= end; i++) {
		uint8_t op = code[i], modrm = code[i + 1];
		int32_t d32, imm32;

		if (op != 0x83 && op != 0x81)
			continue;
		if (modrm == 0x7f) {            /* mod 01, /7 (cmp), [rdi] + disp8 */
			if (code[i + 2] >= 0x80)
				continue;
			*off = code[i + 2];
			if (op == 0x83) {
				*max = code[i + 3];
			} else {
				if (i + 7 > len)
					continue;
				memcpy(&imm32, code + i + 3, 4);
				*max = (uint32_t)imm32;
			}
		} else if (modrm == 0xbf) {     /* mod 10, /7, [rdi] + disp32 */
			if (i + 7 > len)
				continue;
			memcpy(&d32, code + i + 2, 4);
			*off = (uint32_t)d32;
			if (op == 0x83) {
				*max = code[i + 6];
			} else {
				if (i + 10 > len)
					continue;
				memcpy(&imm32, code + i + 6, 4);
				*max = (uint32_t)imm32;
			}
		} else {
			continue;
		}
		if (*off > 0 && *off < 4096 && *max > 0 && *max < MAX_PROVIDERS)
			return 0;
	}
	return -1;
}

bool nt_aw_code_reaches(const uint8_t *code, size_t len, uint64_t start, uint64_t target)
{
	for (size_t i = 0; i + 5 <= len; i++) {
		int32_t rel;

		if (code[i] != 0xe8 && code[i] != 0xe9)
			continue;
		memcpy(&rel, code + i + 1, 4);
		if (start + i + 5 + (uint64_t)(int64_t)rel == target)
			return true;
	}
	return false;
}

bool nt_aw_valid_name(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++) {
		char c = s[n];

		if (n >= 63 || !((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return n > 0;
}

/* LEN bytes of E at vaddr VADDR (from the file). Returns 0 or -1. */
static int read_vaddr(int fd, const struct nt_elf *e, uint64_t vaddr, void *buf, size_t len)
{
	uint64_t off = nt_elf_vaddr_to_offset(e, vaddr);
	uint64_t last = len ? nt_elf_vaddr_to_offset(e, vaddr + len - 1) : off;

	if (off == UINT64_MAX || last == UINT64_MAX || last - off != len - 1)
		return -1;
	return pread(fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -1;
}

/* The code of function F, malloc'ed; NULL when it cannot be read. */
static uint8_t *read_code(int fd, const struct nt_elf *e, const struct nt_aw_fn *f)
{
	uint8_t *code;

	if (!f->found || !f->size || f->size > MAX_FUNC_BYTES)
		return NULL;
	code = malloc(f->size);
	if (code && read_vaddr(fd, e, f->vaddr, code, f->size)) {
		free(code);
		return NULL;
	}
	return code;
}

static bool find_fn(const struct nt_elf *e, const char *pattern, struct nt_aw_fn *out)
{
	struct nt_sym_match m;

	memset(out, 0, sizeof(*out));
	if (nt_elf_find_func(e, pattern, &m, 1) < 1 || m.clone == NT_CLONE_COLD ||
	    m.clone == NT_CLONE_PART)
		return false;
	out->found = true;
	out->vaddr = m.sym->addr;
	out->size = m.sym->size;
	return true;
}

/* A position-independent binary keeps the table's pointers in R_X86_64_RELATIVE
 * relocations (the file holds zeros): fill PTRS from their addends. */
static int relative_relocs(const char *path, uint64_t table, uint64_t *ptrs, int n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), found = 0;
	Elf_Scn *scn = NULL;
	Elf *elf;

	if (fd < 0)
		return -1;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	while (elf && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		for (size_t i = 0; data && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Rela r;

			if (!gelf_getrela(data, (int)i, &r) || GELF_R_TYPE(r.r_info) != 8 /* RELATIVE */ ||
			    r.r_offset < table || r.r_offset >= table + (uint64_t)n * 8 || (r.r_offset - table) % 8)
				continue;
			ptrs[(r.r_offset - table) / 8] = (uint64_t)r.r_addend;
			found++;
		}
	}
	if (elf)
		elf_end(elf);
	close(fd);
	return found == n ? 0 : -1;
}

/* Read N provider names from the table at TABLE. */
static int read_names(const char *path, int fd, const struct nt_elf *e, uint64_t table, int n,
		      struct nt_aw_info *out)
{
	uint64_t *ptrs = calloc((size_t)n, sizeof(*ptrs));
	bool zeros = true;
	int rc = -1;

	if (!ptrs)
		return -ENOMEM;
	if (read_vaddr(fd, e, table, ptrs, (size_t)n * 8)) {
		snprintf(out->why, sizeof(out->why), "node::provider_names at 0x%llx is not in the file",
			 (unsigned long long)table);
		goto out;
	}
	for (int i = 0; i < n; i++)
		zeros &= !ptrs[i];
	if (zeros && (!e->is_pie || relative_relocs(path, table, ptrs, n))) {
		snprintf(out->why, sizeof(out->why), "node::provider_names holds no pointers%s",
			 e->is_pie ? " and no relocations for them" : "");
		goto out;
	}
	out->names = calloc((size_t)n, sizeof(char *));
	if (!out->names) {
		rc = -ENOMEM;
		goto out;
	}
	out->nnames = n;
	for (int i = 0; i < n; i++) {
		char buf[64];
		uint64_t off = nt_elf_vaddr_to_offset(e, ptrs[i]);
		ssize_t got = off == UINT64_MAX ? -1 : pread(fd, buf, sizeof(buf) - 1, (off_t)off);

		if (got <= 0) {
			snprintf(out->why, sizeof(out->why), "provider name %d is not in the file", i);
			goto out;
		}
		buf[got] = 0;
		if (!nt_aw_valid_name(buf) || (i == 0 && strcmp(buf, "NONE"))) {
			snprintf(out->why, sizeof(out->why), "provider name %d does not look like one "
				 "(node::provider_names starts with NONE, names are A-Z, 0-9, _)", i);
			goto out;
		}
		out->names[i] = strdup(buf);
		if (!out->names[i]) {
			rc = -ENOMEM;
			goto out;
		}
	}
	rc = 0;
out:
	free(ptrs);
	return rc;
}

/* provider_type_'s offset and the names, or a reason in out->why. */
static int prove_provider(const char *path, int fd, const struct nt_elf *e, struct nt_aw_info *out)
{
	struct nt_aw_fn info, before;
	uint8_t *c1 = NULL, *c2 = NULL;
	uint32_t off1, off2, max;
	uint64_t table;
	int rc = 0;

	if (!find_fn(e, "node::AsyncWrap::MemoryInfoName", &info) ||
	    !find_fn(e, "node::AsyncWrap::EmitTraceEventBefore", &before)) {
		snprintf(out->why, sizeof(out->why), "no node::AsyncWrap::%s to read the field's offset "
			 "from (stripped binary?)", info.found ? "EmitTraceEventBefore" : "MemoryInfoName");
		return 0;
	}
	c1 = read_code(fd, e, &info);
	c2 = read_code(fd, e, &before);
	if (!c1 || !c2) {
		snprintf(out->why, sizeof(out->why), "cannot read the code of node::AsyncWrap::%s",
			 c1 ? "EmitTraceEventBefore" : "MemoryInfoName");
		goto out;
	}
	if (nt_aw_decode_info_name(c1, info.size, info.vaddr, &off1, &table)) {
		snprintf(out->why, sizeof(out->why), "node::AsyncWrap::MemoryInfoName's code is not the "
			 "provider_names[provider_type_] lookup nodetap knows");
		goto out;
	}
	if (nt_aw_decode_trace_before(c2, before.size, &off2, &max)) {
		snprintf(out->why, sizeof(out->why), "node::AsyncWrap::EmitTraceEventBefore does not "
			 "start with the switch on provider_type_ nodetap knows");
		goto out;
	}
	if (off1 != off2) {
		snprintf(out->why, sizeof(out->why), "MemoryInfoName reads provider_type_ at +0x%x, "
			 "EmitTraceEventBefore at +0x%x: not proven", off1, off2);
		goto out;
	}
	out->table = table;
	rc = read_names(path, fd, e, table, (int)max + 1, out);
	if (rc)
		goto out; /* why is set, or -ENOMEM */
	out->provider_off = (int)off1;
out:
	if (!out->provider_off && out->names) {
		for (int i = 0; i < out->nnames; i++)
			free(out->names[i]);
		free(out->names);
		out->names = NULL;
		out->nnames = 0;
	}
	free(c1);
	free(c2);
	return rc == -ENOMEM ? rc : 0;
}

/* Do the MakeCallback(Local<Name>) overloads (v24: a weak one and 15 local
 * .isra clones) all call or jump into MakeCallback(Local<Function>)? */
static void check_name_overloads(int fd, const struct nt_elf *e, struct nt_aw_info *out)
{
	struct nt_sym_match m[MAX_NAME_OVERLOADS];
	int n = nt_elf_find_func(e, NAME_PATTERN, m, MAX_NAME_OVERLOADS);
	uint64_t target = out->fn[NT_AW_MAKECALLBACK_FN].vaddr;

	if (n > MAX_NAME_OVERLOADS)
		n = MAX_NAME_OVERLOADS;
	for (int i = 0; i < n; i++) {
		struct nt_aw_fn f = { true, m[i].sym->addr, m[i].sym->size };
		uint8_t *code;

		if (m[i].clone == NT_CLONE_COLD || m[i].clone == NT_CLONE_PART)
			continue;
		out->name_overloads++;
		code = read_code(fd, e, &f);
		if (!code || !nt_aw_code_reaches(code, f.size, f.vaddr, target))
			out->name_unreached++;
		free(code);
	}
}

static bool fn_reaches(int fd, const struct nt_elf *e, const struct nt_aw_fn *from,
		       const struct nt_aw_fn *to)
{
	uint8_t *code;
	bool r;

	if (!from->found || !to->found)
		return false;
	code = read_code(fd, e, from);
	r = code && nt_aw_code_reaches(code, from->size, from->vaddr, to->vaddr);
	free(code);
	return r;
}

int nt_aw_analyze(const char *path, const struct nt_elf *e, struct nt_aw_info *out)
{
	int fd, rc;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < NT_AW_FUNCS; i++)
		find_fn(e, nt_aw_func_pattern[i], &out->fn[i]);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(out->why, sizeof(out->why), "cannot open: %s", strerror(errno));
		return 0;
	}
	rc = prove_provider(path, fd, e, out);
	if (out->fn[NT_AW_MAKECALLBACK_FN].found)
		check_name_overloads(fd, e, out);
	out->internal_reached =
		fn_reaches(fd, e, &out->fn[NT_AW_MAKECALLBACK_FN], &out->fn[NT_AW_INTERNAL_ISOLATE]) ||
		fn_reaches(fd, e, &out->fn[NT_AW_NODE_MAKECALLBACK], &out->fn[NT_AW_INTERNAL_ISOLATE]) ||
		fn_reaches(fd, e, &out->fn[NT_AW_RUNTIMERS], &out->fn[NT_AW_INTERNAL_ISOLATE]);
	close(fd);
	return rc;
}

void nt_aw_free(struct nt_aw_info *a)
{
	for (int i = 0; i < a->nnames; i++)
		free(a->names[i]);
	free(a->names);
	memset(a, 0, sizeof(*a));
}
