/* uvloop: find libuv event loops in running processes (see uvloop.h).
 *
 * Everything read here (the binary, the process's memory) belongs to
 * whoever owns the traced process: every offset is bounds-checked, and an
 * address found by reading code is used only once the process's memory
 * shows an initialized loop there. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include "elfsym.h"
#include "loop.h"
#include "procmaps.h"
#include "uvloop.h"

/* How far up a waiting thread's stack a loop is looked for. A Worker's loop
 * sits 13-16 KiB above epoll_wait's stack pointer on node 18-24 (uv__io_poll
 * keeps its 1024 epoll events on the stack). */
#define STACK_SCAN_MAX (1024 * 1024)
/* Functions longer than this are not the small libuv functions we read. */
#define CODE_MAX 4096

static const uint8_t endbr64[] = { 0xf3, 0x0f, 0x1e, 0xfa };

static size_t skip_endbr(const uint8_t *code, size_t len)
{
	return len >= 4 && !memcmp(code, endbr64, 4) ? 4 : 0;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- reading code ------------------------------------------------------- */

int nt_uv_scan_now(const uint8_t *code, size_t len, uint32_t *time_off)
{
	size_t i = skip_endbr(code, len);

	/* 48 8b 87 disp32 c3: mov disp32(%rdi),%rax; ret */
	if (i + 8 <= len && code[i] == 0x48 && code[i + 1] == 0x8b && code[i + 2] == 0x87 &&
	    code[i + 7] == 0xc3) {
		*time_off = rd32(code + i + 3);
		return *time_off < 0x10000 ? 0 : -1;
	}
	/* 48 8b 47 disp8 c3: mov disp8(%rdi),%rax; ret */
	if (i + 5 <= len && code[i] == 0x48 && code[i + 1] == 0x8b && code[i + 2] == 0x47 &&
	    code[i + 4] == 0xc3 && code[i + 3] < 0x80) {
		*time_off = code[i + 3];
		return 0;
	}
	return -1;
}

int nt_uv_scan_metrics_info(const uint8_t *code, size_t len, uint32_t *fields_off,
			    uint32_t *count_off)
{
	size_t i = skip_endbr(code, len);
	uint32_t f;

	/* 48 8b 57 disp8 / 48 8b 97 disp32: mov disp(%rdi),%rdx */
	if (i + 4 <= len && code[i] == 0x48 && code[i + 1] == 0x8b && code[i + 2] == 0x57 &&
	    code[i + 3] < 0x80) {
		f = code[i + 3];
		i += 4;
	} else if (i + 7 <= len && code[i] == 0x48 && code[i + 1] == 0x8b && code[i + 2] == 0x97) {
		f = rd32(code + i + 3);
		i += 7;
	} else {
		return -1;
	}
	/* An optional `xor %eax,%eax` (the return value) first. */
	if (i + 2 <= len && code[i] == 0x31 && code[i + 1] == 0xc0)
		i += 2;
	/* f3 0f 6f 42 d8; 0f 11 06: movdqu d8(%rdx),%xmm0; movups %xmm0,(%rsi) */
	if (i + 8 <= len && code[i] == 0xf3 && code[i + 1] == 0x0f && code[i + 2] == 0x6f &&
	    code[i + 3] == 0x42 && code[i + 4] < 0x80 && code[i + 5] == 0x0f &&
	    code[i + 6] == 0x11 && code[i + 7] == 0x06) {
		*fields_off = f;
		*count_off = code[i + 4];
		return f < 0x10000 ? 0 : -1;
	}
	/* 48 8b 42 d8; 48 89 06: mov d8(%rdx),%rax; mov %rax,(%rsi) */
	if (i + 7 <= len && code[i] == 0x48 && code[i + 1] == 0x8b && code[i + 2] == 0x42 &&
	    code[i + 3] < 0x80 && code[i + 4] == 0x48 && code[i + 5] == 0x89 && code[i + 6] == 0x06) {
		*fields_off = f;
		*count_off = code[i + 3];
		return f < 0x10000 ? 0 : -1;
	}
	return -1;
}

/* `mov d(%rbx),%reg` into a register other than %rbx, at CODE: 0 and D, or -1. */
static int load_from_rbx(const uint8_t *code, size_t len, uint32_t *d)
{
	uint8_t modrm;

	if (len < 4 || (code[0] != 0x48 && code[0] != 0x4c) || code[1] != 0x8b)
		return -1;
	modrm = code[2];
	if ((modrm & 7) != 3 || (code[0] == 0x48 && ((modrm >> 3) & 7) == 3))
		return -1;
	if ((modrm >> 6) == 1 && code[3] < 0x80) {
		*d = code[3];
		return 0;
	}
	if ((modrm >> 6) == 2 && len >= 7) {
		*d = rd32(code + 3);
		return 0;
	}
	return -1;
}

int nt_uv_scan_metrics_idle_time(const uint8_t *code, size_t len, uint32_t *fields_off,
				 uint32_t *entry_off, uint32_t *idle_off)
{
	bool have_fields = false, have_idle = false;

	for (size_t i = 0; i + 4 <= len; i++) {
		uint32_t d;
		size_t next;

		if (have_fields && !have_idle && !load_from_rbx(code + i, len - i, idle_off)) {
			have_idle = *idle_off < 0x10000;
			continue;
		}
		if (code[i] != 0x48 || code[i + 1] != 0x8b)
			continue;
		/* 48 8b 5f d8 / 48 8b 9f d32: mov d(%rdi),%rbx */
		if (!have_fields && (code[i + 2] == 0x5f || code[i + 2] == 0x9f)) {
			if (code[i + 2] == 0x5f && code[i + 3] < 0x80) {
				*fields_off = code[i + 3];
			} else if (code[i + 2] == 0x9f && i + 7 <= len) {
				*fields_off = rd32(code + i + 3);
			} else {
				continue;
			}
			have_fields = *fields_off < 0x10000;
			continue;
		}
		/* 48 8b 5b d8 / 48 8b 9b d32: mov d(%rbx),%rbx, then test %rbx,%rbx */
		if (!have_fields || !have_idle || (code[i + 2] != 0x5b && code[i + 2] != 0x9b))
			continue;
		if (code[i + 2] == 0x5b && code[i + 3] < 0x80) {
			d = code[i + 3];
			next = i + 4;
		} else if (code[i + 2] == 0x9b && i + 7 <= len) {
			d = rd32(code + i + 3);
			next = i + 7;
		} else {
			continue;
		}
		for (size_t k = next; k + 3 <= len && k < next + 32; k++) {
			if (code[k] == 0x48 && code[k + 1] == 0x85 && code[k + 2] == 0xdb) {
				*entry_off = d;
				return d < 0x10000 ? 0 : -1;
			}
		}
		return -1;
	}
	return -1;
}

uint64_t nt_uv_scan_default_loop(const uint8_t *code, size_t len, uint64_t start,
				 bool (*in_data)(uint64_t vaddr, void *arg), void *arg)
{
	uint64_t found = 0;
	bool any = false;

	for (size_t i = 0; i < len; i++) {
		uint64_t target;

		if (i + 5 <= len && code[i] >= 0xb8 && code[i] <= 0xbf) {
			/* [41] b8+r imm32: mov $imm32,%r32 (zero-extended) */
			target = rd32(code + i + 1);
		} else if (i + 7 <= len && (code[i] == 0x48 || code[i] == 0x4c) &&
			   code[i + 1] == 0x8d && (code[i + 2] & 0xc7) == 0x05) {
			/* 48|4c 8d modrm(mod 00, rm 101) rel32: lea rel32(%rip),%r64 */
			target = start + i + 7 + (uint64_t)(int64_t)(int32_t)rd32(code + i + 3);
		} else {
			continue;
		}
		if (!target || !in_data(target, arg))
			continue;
		if (any && target != found)
			return 0; /* two different data addresses: cannot tell */
		found = target;
		any = true;
	}
	return found;
}

/* ---- reading process memory --------------------------------------------- */

int nt_uv_read_mem(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr, .iov_len = len };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}

int nt_uv_check_loop(const uint8_t *mem, size_t len, uint64_t addr, uint32_t time_off,
		     uint64_t now)
{
	uint64_t self, t;
	bool zero = true;

	if (len < UV_LOOP_MIN_SIZE || (uint64_t)time_off + 8 > len)
		return -EINVAL;
	self = rd64(mem + UV_LOOP_WQ_ASYNC_LOOP_OFF);
	t = rd64(mem + time_off);
	if (self == addr && t <= now + 1)
		return 0;
	for (size_t i = 0; i < UV_LOOP_MIN_SIZE && zero; i++)
		zero = !mem[i];
	return zero ? -EAGAIN : -EINVAL;
}

uint64_t nt_uv_scan_stack(const uint8_t *mem, size_t len, uint64_t base, int epfd,
			  uint32_t time_off, uint64_t now)
{
	int32_t fd;

	if (len < UV_LOOP_MIN_SIZE || (uint64_t)time_off + 8 > UV_LOOP_MIN_SIZE)
		return 0;
	for (size_t i = (8 - (base & 7)) & 7; i + UV_LOOP_MIN_SIZE <= len; i += 8) {
		/* Memory that would reach past the top of the address space is
		 * not a stack (found by fuzz_uvloop: base + i wrapped to 0x28). */
		if (base + i < base)
			break;
		memcpy(&fd, mem + i + UV_LOOP_BACKEND_FD_OFF, sizeof(fd));
		if (fd != epfd)
			continue;
		if (!nt_uv_check_loop(mem + i, UV_LOOP_MIN_SIZE, base + i, time_off, now))
			return base + i;
	}
	return 0;
}

int nt_uv_parse_syscall(const char *text, long *nr, uint64_t *arg1, uint64_t *sp)
{
	unsigned long long v[9];
	char *end;
	const char *p = text;
	int n = 0;

	while (n < 9) {
		errno = 0;
		v[n] = strtoull(p, &end, n ? 16 : 10);
		if (end == p || errno)
			break;
		n++;
		p = end;
	}
	/* "NR A1 A2 A3 A4 A5 A6 SP PC"; "-1 SP PC" outside a system call;
	 * "running" while on a CPU. */
	if (n != 9)
		return -1;
	*nr = (long)v[0];
	*arg1 = v[1];
	*sp = v[7];
	return 0;
}

bool nt_uv_is_epoll_wait(long nr)
{
	return nr == 232 || nr == 281 || nr == 441;
}

/* ---- files and their layouts ------------------------------------------- */

struct cache_entry {
	dev_t dev;
	ino_t ino;
	struct nt_uv_layout lay;
	struct nt_elf_seg *segs;
	size_t nsegs;
};

struct nt_uv_cache {
	struct cache_entry *v;
	size_t n;
};

struct nt_uv_cache *nt_uv_cache_new(void)
{
	return calloc(1, sizeof(struct nt_uv_cache));
}

void nt_uv_cache_free(struct nt_uv_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].segs);
	free(c->v);
	free(c);
}

/* The code of function NAME, at most CODE_MAX bytes; NULL if absent. */
static uint8_t *func_code(int fd, const struct nt_elf *e, const char *name, size_t *len,
			  uint64_t *vaddr)
{
	struct nt_sym_match m;
	uint8_t *code;
	size_t n;

	if (nt_elf_find_func(e, name, &m, 1) < 1 || m.file_offset == UINT64_MAX)
		return NULL;
	n = m.sym->size ? m.sym->size : 16;
	if (n > CODE_MAX)
		return NULL;
	code = malloc(n);
	if (!code)
		return NULL;
	if (pread(fd, code, n, (off_t)m.file_offset) != (ssize_t)n) {
		free(code);
		return NULL;
	}
	*len = n;
	*vaddr = m.sym->addr;
	return code;
}

static bool in_data(uint64_t vaddr, void *arg)
{
	const struct nt_elf *e = arg;

	for (size_t i = 0; i < e->nsegs; i++) {
		const struct nt_elf_seg *s = &e->segs[i];

		if (vaddr >= s->vaddr && vaddr - s->vaddr < s->memsz)
			return (s->flags & 2 /* PF_W */) && !(s->flags & 1 /* PF_X */);
	}
	return false;
}

/* The value of the object symbol NAME in .symtab, or 0. */
static uint64_t object_symbol(int fd, const char *name)
{
	Elf *elf;
	Elf_Scn *scn = NULL;
	uint64_t found = 0;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return 0;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return 0;
	while (!found && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;
		size_t n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !sh.sh_entsize)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d)
			continue;
		n = d->d_size / sh.sh_entsize;
		for (size_t i = 0; i < n; i++) {
			GElf_Sym s;
			const char *nm;

			if (!gelf_getsym(d, (int)i, &s) || GELF_ST_TYPE(s.st_info) != STT_OBJECT ||
			    s.st_shndx == SHN_UNDEF || !s.st_value)
				continue;
			nm = elf_strptr(elf, sh.sh_link, s.st_name);
			if (nm && !strcmp(nm, name)) {
				found = s.st_value;
				break;
			}
		}
	}
	elf_end(elf);
	return found;
}

static void read_layout(const char *path, struct cache_entry *ce)
{
	struct nt_uv_layout *lay = &ce->lay;
	struct nt_elf *e = NULL;
	char err[256];
	uint8_t *code;
	size_t len;
	uint64_t va, sym;
	int fd;

	memset(lay, 0, sizeof(*lay));
	if (nt_elf_open(path, &e, err, sizeof(err))) {
		snprintf(lay->why, sizeof(lay->why), "%s", err);
		return;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(lay->why, sizeof(lay->why), "cannot open %s: %s", path, strerror(errno));
		goto out;
	}
	ce->segs = malloc(e->nsegs * sizeof(*ce->segs) + 1);
	if (ce->segs) {
		memcpy(ce->segs, e->segs, e->nsegs * sizeof(*ce->segs));
		ce->nsegs = e->nsegs;
	}
	code = func_code(fd, e, "uv_now", &len, &va);
	if (!code) {
		snprintf(lay->why, sizeof(lay->why), "no uv_now: libuv is not in this file");
		goto out;
	}
	lay->libuv = true;
	if (nt_uv_scan_now(code, len, &lay->time_off)) {
		free(code);
		lay->libuv = false;
		snprintf(lay->why, sizeof(lay->why), "uv_now's code is not `mov OFF(%%rdi),%%rax; ret`: "
			 "cannot tell where uv_loop_t keeps its clock");
		goto out;
	}
	free(code);
	if (lay->time_off + 8 > UV_LOOP_MIN_SIZE) {
		lay->libuv = false;
		snprintf(lay->why, sizeof(lay->why), "uv_now reads offset %u: not the uv_loop_t nodetap knows",
			 lay->time_off);
		goto out;
	}
	if ((code = func_code(fd, e, "uv_metrics_info", &len, &va))) {
		lay->metrics = !nt_uv_scan_metrics_info(code, len, &lay->fields_off, &lay->count_off);
		free(code);
	}
	if ((code = func_code(fd, e, "uv_metrics_idle_time", &len, &va))) {
		lay->idle_metrics = !nt_uv_scan_metrics_idle_time(code, len, &lay->idle_fields_off,
								  &lay->entry_off, &lay->idle_off);
		free(code);
	}
	sym = object_symbol(fd, "default_loop_struct");
	if (sym && in_data(sym, e)) {
		lay->default_loop = sym;
		lay->how = "symbol default_loop_struct";
	} else if ((code = func_code(fd, e, "uv_default_loop", &len, &va))) {
		lay->default_loop = nt_uv_scan_default_loop(code, len, va, in_data, e);
		lay->how = "code of uv_default_loop";
		free(code);
		if (!lay->default_loop)
			snprintf(lay->why, sizeof(lay->why), "no symbol default_loop_struct, and "
				 "uv_default_loop's code does not name it in a way nodetap recognises");
	} else {
		snprintf(lay->why, sizeof(lay->why), "no symbol default_loop_struct and no uv_default_loop");
	}
out:
	if (fd >= 0)
		close(fd);
	nt_elf_free(e);
}

static struct cache_entry *layout_of(struct nt_uv_cache *c, const char *path)
{
	struct cache_entry *v;
	struct stat st;

	if (stat(path, &st))
		return NULL;
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].dev == st.st_dev && c->v[i].ino == st.st_ino)
			return &c->v[i];
	v = realloc(c->v, (c->n + 1) * sizeof(*v));
	if (!v)
		return NULL;
	c->v = v;
	v = &c->v[c->n++];
	memset(v, 0, sizeof(*v));
	v->dev = st.st_dev;
	v->ino = st.st_ino;
	read_layout(path, v);
	/* PATH is a /proc/PID/map_files link: a process that went away while
	 * its file was read leaves a result that says nothing about the file.
	 * Keep none then, so that the next process of that file is looked at
	 * afresh (a long-running `nodetap monitor` sees many come and go). */
	if (!v->lay.libuv && stat(path, &st)) {
		free(v->segs);
		c->n--;
		return NULL;
	}
	return v;
}

static uint64_t offset_to_vaddr(const struct cache_entry *ce, uint64_t off)
{
	for (size_t i = 0; i < ce->nsegs; i++) {
		const struct nt_elf_seg *s = &ce->segs[i];

		if (off >= s->offset && off - s->offset < (s->filesz ? s->filesz : 1))
			return s->vaddr + (off - s->offset);
	}
	return UINT64_MAX;
}

static bool is_libuv_lib(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return !strncmp(base, "libuv", 5) && strstr(base, ".so");
}

int nt_uv_find_main(struct nt_uv_cache *c, pid_t pid, struct nt_uv_main *out,
		    char *why, size_t whylen)
{
	char link[64], exe[PATH_MAX], err[256], path[128];
	const char *seen[64];
	struct nt_maps maps = { 0 };
	uint8_t mem[UV_LOOP_MIN_SIZE];
	int nseen = 0, rc = -ENOENT;
	bool exe_mapped = false, unreadable = false;
	ssize_t n;

	memset(out, 0, sizeof(*out));
	snprintf(why, whylen, "no libuv");
	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	if (n < 0) {
		rc = -errno;
		snprintf(why, whylen, "cannot read its executable: %s", strerror(errno));
		return rc == -ENOENT ? -ESRCH : rc;
	}
	exe[n] = 0;
	if (n > 10 && !strcmp(exe + n - 10, " (deleted)"))
		exe[n - 10] = 0;
	snprintf(out->exe, sizeof(out->exe), "%s", exe);
	if ((rc = nt_maps_read_pid(pid, &maps, err, sizeof(err)))) {
		snprintf(why, whylen, "%s", err);
		return rc == -ENOENT ? -ESRCH : rc;
	}
	rc = -ENOENT;
	snprintf(why, whylen, "no libuv in %s or in a libuv library it maps (not a node or libuv program?)",
		 exe);
	/* The executable first, then libuv libraries; each file once, at its
	 * lowest mapping. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < maps.n; i++) {
			const struct nt_map *m = &maps.v[i];
			struct cache_entry *ce;
			bool dup = false;
			uint64_t va, bias, addr;
			int r;

			if (!nt_map_is_file(m) || !m->path)
				continue;
			if (pass == 0 ? strcmp(m->path, exe) != 0 : !is_libuv_lib(m->path))
				continue;
			exe_mapped |= pass == 0;
			for (int k = 0; k < nseen; k++)
				dup |= !strcmp(seen[k], m->path);
			if (dup || nseen == 64)
				continue;
			seen[nseen++] = m->path;
			snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", pid,
				 (unsigned long long)m->start, (unsigned long long)m->end);
			ce = layout_of(c, path);
			unreadable |= !ce;
			if (!ce || !ce->lay.libuv)
				continue;
			snprintf(out->file, sizeof(out->file), "%s", m->path);
			if (!ce->lay.default_loop) {
				snprintf(why, whylen, "%s: %s", m->path, ce->lay.why);
				rc = -ENXIO;
				goto done;
			}
			va = offset_to_vaddr(ce, m->offset);
			if (va == UINT64_MAX || va > m->start) {
				snprintf(why, whylen, "%s: its mapping at 0x%llx does not match its segments",
					 m->path, (unsigned long long)m->start);
				rc = -ENXIO;
				goto done;
			}
			bias = m->start - va;
			addr = ce->lay.default_loop + bias;
			r = nt_uv_read_mem(pid, addr, mem, sizeof(mem));
			if (r) {
				snprintf(why, whylen, "reading its default loop at 0x%llx: %s",
					 (unsigned long long)addr, strerror(-r));
				rc = r == -ESRCH ? -ESRCH : -EIO;
				goto done;
			}
			r = nt_uv_check_loop(mem, sizeof(mem), addr, ce->lay.time_off, now_ms());
			if (r == -EAGAIN) {
				snprintf(why, whylen, "its default loop (0x%llx, %s in %s) is not initialized: "
					 "uv_default_loop() was never called", (unsigned long long)addr,
					 ce->lay.how, m->path);
				rc = -EAGAIN;
				goto done;
			}
			if (r) {
				snprintf(why, whylen, "0x%llx (%s in %s) does not hold an initialized uv_loop_t",
					 (unsigned long long)addr, ce->lay.how, m->path);
				rc = -ENXIO;
				goto done;
			}
			out->loop = addr;
			out->time_off = ce->lay.time_off;
			out->metrics = ce->lay.metrics;
			out->fields_off = ce->lay.fields_off;
			out->count_off = ce->lay.count_off;
			out->how = ce->lay.how;
			out->idle_metrics = ce->lay.idle_metrics;
			out->idle_fields_off = ce->lay.idle_fields_off;
			out->entry_off = ce->lay.entry_off;
			out->idle_off = ce->lay.idle_off;
			rc = 0;
			goto done;
		}
	}
	/* A file of it could not be opened through map_files: the process is
	 * going (a short-lived node, `node --version`), or went; not one
	 * without libuv. Gone: say so; else look again later. */
	if (unreadable) {
		if (kill(pid, 0) && errno == ESRCH) {
			snprintf(why, whylen, "the process exited");
			rc = -ESRCH;
		} else {
			snprintf(why, whylen, "its files cannot be opened through /proc/%d/map_files "
				 "(exiting?)", pid);
			rc = -EAGAIN;
		}
		goto done;
	}
	/* An exec sets the process's executable before it maps the program:
	 * caught in between, the process has its new executable and none of
	 * its code. Not "no libuv": not loaded yet. */
	if (!exe_mapped) {
		snprintf(why, whylen, "%s is not mapped in the process yet (an exec under way)", exe);
		rc = -EAGAIN;
	}
done:
	nt_maps_free(&maps);
	return rc;
}

int nt_uv_read_count(pid_t pid, uint64_t loop, uint32_t fields_off, uint32_t count_off,
		     uint64_t *count)
{
	uint64_t fields;
	int rc = nt_uv_read_mem(pid, loop + fields_off, &fields, sizeof(fields));

	if (rc)
		return rc;
	if (!fields)
		return -EINVAL;
	return nt_uv_read_mem(pid, fields + count_off, count, sizeof(*count));
}

int nt_uv_find_thread_loop(pid_t pid, pid_t tid, uint32_t time_off, int known_epfd,
			   uint64_t *loop, int *epfd)
{
	char path[96], text[256], err[256];
	struct nt_maps maps = { 0 };
	const struct nt_map *m;
	uint64_t arg1, sp, len;
	uint8_t *mem;
	long nr;
	ssize_t n;
	int fd, rc;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", pid, tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return -EAGAIN;
	text[n] = 0;
	if (nt_uv_parse_syscall(text, &nr, &arg1, &sp) || !nt_uv_is_epoll_wait(nr) || arg1 > INT32_MAX)
		return -EAGAIN;
	*epfd = (int)arg1;
	if (*epfd == known_epfd)
		return -ENOENT;
	if ((rc = nt_maps_read_pid(pid, &maps, err, sizeof(err))))
		return rc == -ENOENT ? -ESRCH : rc;
	m = nt_maps_find(&maps, sp);
	if (!m || m->end <= sp) {
		nt_maps_free(&maps);
		return -ENOENT;
	}
	len = m->end - sp;
	if (len > STACK_SCAN_MAX)
		len = STACK_SCAN_MAX;
	nt_maps_free(&maps);
	mem = malloc(len);
	if (!mem)
		return -ENOMEM;
	rc = nt_uv_read_mem(pid, sp, mem, len);
	if (!rc) {
		*loop = nt_uv_scan_stack(mem, len, sp, *epfd, time_off, now_ms());
		rc = *loop ? 0 : -ENOENT;
	} else if (rc != -ESRCH) {
		rc = -ENOENT;
	}
	free(mem);
	return rc;
}
