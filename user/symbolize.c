/* symbolize: name the frames of a stack. See symbolize.h.
 *
 * How a user address is named:
 *  - in a file-backed mapping: file offset -> the ELF's vaddr -> its symbol
 *    table, or its detached debug file's (one nt_elf per (dev, inode),
 *    shared by every process mapping the file), then the perf map;
 *  - in an anonymous mapping (V8's JIT code) or in no mapping at all (code
 *    mapped after the snapshot): the perf map, re-read when it has grown;
 *  - [vdso]: the vdso's own symbols, read from nodetap's copy (same kernel);
 *  - otherwise "module+0xOFF", or "[unknown]" when no mapping holds it.
 * Every string handed out lives until nt_symbolizer_free, even after a
 * process exec'ed and its state was replaced. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "elfsym.h"
#include "kallsyms.h"
#include "perfmap.h"
#include "procmaps.h"
#include "symbolize.h"

#define NSEC_PER_SEC 1000000000ull
/* Retry a missing perf map, or re-read maps for an address that fell in no
 * mapping, at most this often per process. */
#define RETRY_NS NSEC_PER_SEC
#define DEMANGLE_BUF 8192

/* ---- interned strings: live until the symbolizer is freed ---- */

struct str_block {
	struct str_block *next;
	size_t used, cap;
	char data[];
};

struct strtab {
	const char **slots;       /* open addressing, power of two */
	size_t cap, n;
	struct str_block *blocks;
};

static uint64_t hash_bytes(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;   /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t hash_u64(uint64_t x)
{
	x ^= x >> 30;                          /* splitmix64's finalizer */
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static char *str_alloc(struct strtab *t, size_t need)
{
	struct str_block *b = t->blocks;

	if (!b || b->cap - b->used < need) {
		size_t cap = need > 65536 ? need : 65536;

		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->next = t->blocks;
		b->used = 0;
		b->cap = cap;
		t->blocks = b;
	}
	b->used += need;
	return b->data + b->used - need;
}

static int strtab_grow(struct strtab *t)
{
	size_t cap = t->cap ? t->cap * 2 : 1024;
	const char **slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		const char *s = t->slots[i];
		size_t j;

		if (!s)
			continue;
		for (j = hash_bytes(s, strlen(s)) & (cap - 1); slots[j]; j = (j + 1) & (cap - 1))
			;
		slots[j] = s;
	}
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
	return 0;
}

/* The one stored copy of S[0, len). NULL only when out of memory. */
static const char *intern_n(struct strtab *t, const char *s, size_t len)
{
	size_t j;
	char *copy;

	if (2 * (t->n + 1) > t->cap && strtab_grow(t))
		return NULL;
	for (j = hash_bytes(s, len) & (t->cap - 1); t->slots[j]; j = (j + 1) & (t->cap - 1))
		if (!strncmp(t->slots[j], s, len) && !t->slots[j][len])
			return t->slots[j];
	copy = str_alloc(t, len + 1);
	if (!copy)
		return NULL;
	memcpy(copy, s, len);
	copy[len] = '\0';
	t->slots[j] = copy;
	t->n++;
	return copy;
}

static const char *intern(struct strtab *t, const char *s)
{
	return intern_n(t, s, strlen(s));
}

static void strtab_free(struct strtab *t)
{
	while (t->blocks) {
		struct str_block *b = t->blocks;

		t->blocks = b->next;
		free(b);
	}
	free(t->slots);
}

/* ---- a uint64 -> pointer map (pids, (dev, inode) hashes, symbols) ---- */

struct u64ent {
	uint64_t key;
	void *val;                /* NULL: free slot */
};

struct u64map {
	struct u64ent *v;
	size_t cap, n;
};

static void *u64map_get(const struct u64map *m, uint64_t key)
{
	if (!m->cap)
		return NULL;
	for (size_t j = hash_u64(key) & (m->cap - 1); m->v[j].val; j = (j + 1) & (m->cap - 1))
		if (m->v[j].key == key)
			return m->v[j].val;
	return NULL;
}

static int u64map_put(struct u64map *m, uint64_t key, void *val);

static int u64map_grow(struct u64map *m)
{
	struct u64map bigger = { calloc(m->cap ? m->cap * 2 : 256, sizeof(struct u64ent)),
				 m->cap ? m->cap * 2 : 256, 0 };

	if (!bigger.v)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++)
		if (m->v[i].val)
			u64map_put(&bigger, m->v[i].key, m->v[i].val);
	free(m->v);
	*m = bigger;
	return 0;
}

/* Insert or replace. */
static int u64map_put(struct u64map *m, uint64_t key, void *val)
{
	size_t j;

	if (2 * (m->n + 1) > m->cap && u64map_grow(m))
		return -ENOMEM;
	for (j = hash_u64(key) & (m->cap - 1); m->v[j].val; j = (j + 1) & (m->cap - 1))
		if (m->v[j].key == key)
			break;
	if (!m->v[j].val)
		m->n++;
	m->v[j] = (struct u64ent){ key, val };
	return 0;
}

/* ---- state ---- */

/* One ELF file, shared by all processes that map it. */
struct elf_entry {
	uint64_t dev, ino;
	struct nt_elf *elf;
	struct nt_elf *debug;     /* detached debug file, if one was found */
	const char *path;         /* interned: as the first process saw it */
	const char *base;         /* interned basename, for "base+0xOFF" */
	struct elf_entry *hnext;  /* same hash bucket */
	struct elf_entry *next;   /* all entries, for freeing */
};

/* Marks a mapping whose file could not be read, so it is tried once. */
static struct elf_entry no_elf;

struct identity {
	uint64_t exe_dev, exe_ino;
	unsigned long long starttime;   /* changes when the pid is reused */
	unsigned long long startstack;  /* changes on exec (ASLR) */
};

struct proc {
	int pid;
	int root_fd;              /* O_PATH of /proc/PID/root, or -1 */
	int mntns_fd;             /* /proc/PID/ns/mnt, or -1: see snapshot() */
	int nspid;                /* the pid the process sees for itself */
	uid_t uid;                /* effective uid: the perf map's owner */
	bool have_uid, have_ident, have_maps;
	bool pm_refused;          /* the perf map failed a safety check */
	bool pm_capped_warned;    /* said once that the perf map was cut */
	struct identity ident;
	struct nt_maps maps;
	struct elf_entry **map_elf; /* per mapping, NULL until resolved */
	uint64_t maps_ns;         /* when maps were read */
	struct nt_perfmap *pm;
	uint64_t pm_next_try_ns;
};

struct nt_symbolizer {
	struct u64map procs;      /* pid -> struct proc */
	struct u64map elfs;       /* hash(dev, ino) -> struct elf_entry chain */
	struct elf_entry *elf_list;
	struct u64map demangled;  /* mangled name pointer -> interned name */
	struct strtab strs;
	struct nt_perfmap **perfmaps; /* every one opened, live or retired */
	size_t nperfmaps;
	struct nt_kallsyms *ksyms;
	bool ksyms_failed;
	struct elf_entry *vdso;
	bool vdso_tried;
	char *dbuf;               /* demangling buffer */
	nt_symbolizer_warn_fn warn_fn;
	void *warn_ctx;
	struct nt_symbolizer_stats st;
};

static void perfmap_open(struct nt_symbolizer *s, struct proc *p, bool noted);

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

__attribute__((format(printf, 2, 3)))
static void warn(struct nt_symbolizer *s, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!s->warn_fn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->warn_fn(s->warn_ctx, msg);
}

struct nt_symbolizer *nt_symbolizer_new(void)
{
	struct nt_symbolizer *s = calloc(1, sizeof(*s));

	if (s && !(s->dbuf = malloc(DEMANGLE_BUF))) {
		free(s);
		return NULL;
	}
	return s;
}

void nt_symbolizer_set_warn(struct nt_symbolizer *s, nt_symbolizer_warn_fn fn, void *ctx)
{
	s->warn_fn = fn;
	s->warn_ctx = ctx;
}

/* ---- a process: identity, root, status, maps ---- */

/* Read what tells this process image apart from an earlier one with the
 * same pid. Fails when the process is gone. */
static int read_identity(int pid, struct identity *id)
{
	char path[64], buf[1024], *p;
	struct stat st;
	ssize_t n;
	int fd;

	memset(id, 0, sizeof(*id));
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	if (stat(path, &st) == 0) {    /* kernel threads have no exe */
		id->exe_dev = st.st_dev;
		id->exe_ino = st.st_ino;
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -ESRCH;
	buf[n] = '\0';
	/* The command name may hold spaces and ')': fields follow the last ')'.
	 * Field 3 (state) is token 0; starttime is field 22, startstack 28. */
	p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	p++;
	for (int field = 3; field <= 28 && p; field++) {
		char *end;
		unsigned long long v;

		while (*p == ' ')
			p++;
		v = strtoull(p, &end, 10);
		if (field == 22)
			id->starttime = v;
		if (field == 28)
			id->startstack = v;
		p = strchr(end, ' ');
	}
	return 0;
}

/* A process whose memory is being torn down (exiting, a zombie) shows no
 * exe and no stack: its maps, read now, would be partial or empty. */
static bool exiting(const struct identity *id)
{
	return !id->exe_ino || !id->startstack;
}

static bool same_identity(const struct identity *a, const struct identity *b)
{
	/* An exiting process has no exe and no stack any more: its start time
	 * alone still tells it from a new process with the same pid, and its
	 * earlier snapshot is what names its frames. */
	if (exiting(b))
		return a->starttime == b->starttime;
	return a->exe_dev == b->exe_dev && a->exe_ino == b->exe_ino &&
	       a->starttime == b->starttime && a->startstack == b->startstack;
}

/* The last NSpid field (the pid in the process's own namespace) and the
 * effective uid, from /proc/PID/status. */
static void read_status(struct proc *p)
{
	char path[64], line[512];
	FILE *f;

	p->nspid = p->pid;
	snprintf(path, sizeof(path), "/proc/%d/status", p->pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned ruid, euid;

		if (!strncmp(line, "NSpid:", 6)) {
			char *last = strrchr(line, '\t');

			if (last)
				p->nspid = atoi(last + 1);
		} else if (sscanf(line, "Uid: %u %u", &ruid, &euid) == 2) {
			p->uid = euid;
			p->have_uid = true;
		}
	}
	fclose(f);
}

/* Does any mapping of M overlap [start, end)? */
static bool overlaps(const struct nt_maps *m, uint64_t start, uint64_t end)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {   /* the first mapping that ends after start */
		size_t mid = lo + (hi - lo) / 2;

		if (m->v[mid].end <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->n && m->v[lo].start < end;
}

/* Add to the fresh maps CUR the mappings of OLD that are no file (anonymous,
 * "[anon:name]") and that nothing in
 * CUR covers: JIT code that the process has unmapped since (V8 frees its
 * code space at exit, while samples taken in it wait to be named). Names are
 * for addresses sampled before, so a mapping that went away still names
 * them. Returns 0 or -ENOMEM. */
static bool kept(const struct nt_maps *cur, const struct nt_map *m)
{
	return !nt_map_is_file(m) && !overlaps(cur, m->start, m->end);
}

static int keep_old_anon(struct nt_symbolizer *s, struct nt_maps *cur, const struct nt_maps *old)
{
	size_t add = 0, i = 0, j = 0, k = 0;
	struct nt_map *v;

	for (size_t o = 0; o < old->n; o++)
		add += kept(cur, &old->v[o]);
	if (!add)
		return 0;
	v = malloc((cur->n + add) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	/* Merge by start; both are sorted and the added ones overlap nothing. */
	while (i < cur->n || j < old->n) {
		if (j < old->n && !kept(cur, &old->v[j])) {
			j++;
			continue;
		}
		if (j >= old->n || (i < cur->n && cur->v[i].start < old->v[j].start)) {
			v[k++] = cur->v[i++];
		} else {
			v[k] = old->v[j++];
			/* Its name ("[anon:...]") lived in OLD's storage. */
			if (v[k].path)
				v[k].path = intern(&s->strs, v[k].path);
			k++;
		}
	}
	free(cur->v);
	cur->v = v;
	cur->n = k;
	return 0;
}

static int read_maps(struct nt_symbolizer *s, struct proc *p)
{
	struct nt_maps maps;
	struct elf_entry **map_elf;
	char err[256];
	int r = nt_maps_read_pid(p->pid, &maps, err, sizeof(err));

	if (r) {
		if (r != -ENOENT && r != -ESRCH)  /* not merely gone */
			warn(s, "pid %d: %s", p->pid, err);
		return r;
	}
	if (!maps.n && p->have_maps) {
		/* An exiting process (its memory already released, not yet
		 * reaped) has empty maps: keep the snapshot taken while it
		 * was alive, which still names its frames. */
		nt_maps_free(&maps);
		return -ESRCH;
	}
	if (p->have_maps && keep_old_anon(s, &maps, &p->maps)) {
		nt_maps_free(&maps);
		return -ENOMEM;
	}
	map_elf = calloc(maps.n ? maps.n : 1, sizeof(*map_elf));
	if (!map_elf) {
		nt_maps_free(&maps);
		return -ENOMEM;
	}
	if (p->have_maps)
		nt_maps_free(&p->maps);
	free(p->map_elf);
	p->maps = maps;
	p->map_elf = map_elf;
	p->have_maps = true;
	p->maps_ns = now_ns();
	return 0;
}

/* Forget an earlier process image with this pid. Its perf map is closed but
 * kept, because frames handed out may point at its names. */
static void proc_reset(struct proc *p)
{
	if (p->root_fd >= 0)
		close(p->root_fd);
	if (p->mntns_fd >= 0)
		close(p->mntns_fd);
	if (p->have_maps)
		nt_maps_free(&p->maps);
	free(p->map_elf);
	if (p->pm)
		nt_perfmap_close(p->pm);
	*p = (struct proc){ .pid = p->pid, .root_fd = -1, .mntns_fd = -1 };
}

static int snapshot(struct nt_symbolizer *s, struct proc *p, const struct identity *id)
{
	char path[64];

	p->ident = *id;
	p->have_ident = true;
	snprintf(path, sizeof(path), "/proc/%d/root", p->pid);
	/* An O_PATH fd of the root keeps the process's root reachable after
	 * it exits, but not what is mounted below it: when the last process of
	 * a mount namespace exits, the namespace is torn down and its mounts
	 * (a container's or unshare's own tmpfs on /tmp) are detached, so
	 * /tmp/perf-PID.map would then resolve to the file underneath, the
	 * host's. A reference to the namespace itself keeps its mounts. */
	p->root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", p->pid);
	p->mntns_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (p->mntns_fd < 0 && p->root_fd >= 0) {
		/* Gone between the two opens: its root may already be bare. */
		close(p->root_fd);
		p->root_fd = -1;
	}
	read_status(p);
	return read_maps(s, p);
}

static struct proc *proc_get(struct nt_symbolizer *s, int pid, bool create)
{
	struct proc *p = u64map_get(&s->procs, (uint64_t)(unsigned)pid);

	if (p || !create)
		return p;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	p->root_fd = -1;
	p->mntns_fd = -1;
	if (u64map_put(&s->procs, (uint64_t)(unsigned)pid, p)) {
		free(p);
		return NULL;
	}
	return p;
}

int nt_symbolizer_note_pid(struct nt_symbolizer *s, int pid)
{
	struct proc *p = proc_get(s, pid, true);
	struct identity id;
	int r;

	if (!p)
		return -ENOMEM;
	r = read_identity(pid, &id);
	if (r)
		return r;       /* gone: keep whatever was noted before */
	if (p->have_ident && same_identity(&p->ident, &id)) {
		r = p->have_maps ? 0 : read_maps(s, p);
	} else {
		if (p->have_ident)
			proc_reset(p);  /* exec'ed, or a new process with this pid */
		r = snapshot(s, p, &id);
	}
	/* Hold the perf map open from now on, while the process is alive:
	 * frames are often named only at the report, after it exited, and by
	 * then /tmp/perf-PID.map may have been removed (a wrapper or a tmp
	 * cleaner removes the maps of exited processes). An open fd still
	 * reads an unlinked file, and reads it again as it grows. */
	perfmap_open(s, p, true);
	return r;
}

/* An address fell in no mapping: if the process still runs the same image
 * and the snapshot is old enough, re-read its maps (a library dlopen'ed, a
 * JIT region added). Returns true if the maps changed. */
static bool maybe_reread_maps(struct nt_symbolizer *s, struct proc *p)
{
	uint64_t now = now_ns();
	struct identity id;

	if (!p->have_ident || now - p->maps_ns < RETRY_NS)
		return false;
	p->maps_ns = now;
	if (read_identity(p->pid, &id) || exiting(&id))
		return false;
	if (!same_identity(&p->ident, &id)) {
		proc_reset(p);
		return snapshot(s, p, &id) == 0;
	}
	return read_maps(s, p) == 0;
}

int nt_symbolizer_reread_maps(struct nt_symbolizer *s, int pid)
{
	struct proc *p = proc_get(s, pid, false);
	struct identity id;
	int r;

	if (!p || !p->have_ident)
		return nt_symbolizer_note_pid(s, pid);
	if ((r = read_identity(pid, &id)))
		return r;
	if (exiting(&id))
		return -ESRCH;   /* its maps are going: keep the snapshot */
	p->maps_ns = now_ns();
	if (!same_identity(&p->ident, &id)) {
		proc_reset(p);
		return snapshot(s, p, &id);
	}
	return read_maps(s, p);
}

/* ---- ELF files ---- */

/* Open the file behind mapping M: through the process's root by path,
 * checked to be the mapped inode (the path may have been replaced), else
 * through /proc/PID/map_files, which the kernel ties to the mapping itself
 * (works for deleted files, needs the process alive). The inode is compared
 * without the device: overlayfs shows one st_dev in maps, another in stat. */
static int open_mapped(const struct proc *p, const struct nt_map *m)
{
	char path[96];
	struct stat st;
	int fd;

	if (p->root_fd >= 0 && !m->deleted) {
		fd = nt_open_in_root(p->root_fd, m->path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && !fstat(fd, &st) && st.st_ino == m->inode)
			return fd;
		if (fd >= 0)
			close(fd);
	}
	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64,
		 p->pid, m->start, m->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || st.st_ino != m->inode) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

static struct elf_entry *elf_lookup(struct nt_symbolizer *s, uint64_t dev, uint64_t ino)
{
	struct elf_entry *e = u64map_get(&s->elfs, hash_u64(dev) ^ ino);

	for (; e; e = e->hnext)
		if (e->dev == dev && e->ino == ino)
			return e;
	return NULL;
}

static const char *basename_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* Index the ELF file open at FD; PATH names it in messages and frames. */
static struct elf_entry *elf_from_fd(struct nt_symbolizer *s, int fd, const char *path,
				     char *err, size_t errlen)
{
	char fdpath[64];
	struct elf_entry *e = calloc(1, sizeof(*e));
	int r;

	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* nt_elf_open takes a path: give it this very file, not whatever
	 * the path names by now. */
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	r = nt_elf_open(fdpath, &e->elf, err, errlen);
	if (r) {
		free(e);
		return NULL;
	}
	e->path = intern(&s->strs, path);
	e->base = e->path ? intern(&s->strs, basename_of(e->path)) : NULL;
	if (!e->path || !e->base) {
		nt_elf_free(e->elf);
		free(e);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->next = s->elf_list;
	s->elf_list = e;
	return e;
}

/* Debian's libraries ship without .symtab: their local functions
 * (_int_malloc, start_thread, __memmove_avx_unaligned_erms) are only in a
 * detached debug file (libc6-dbg and the like), found by build id as perf
 * and gdb find it. Looked for in the process's root, then in nodetap's: a
 * matching build id means the same code wherever the file lies. */
static struct nt_elf *open_debug_file(const struct proc *p, const struct nt_elf *elf)
{
	char path[128], fdpath[64], err[256];
	struct nt_elf *d = NULL;
	int fd = -ENOENT;

	if (strlen(elf->build_id) < 3)
		return NULL;
	snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%.2s/%s.debug",
		 elf->build_id, elf->build_id + 2);
	if (p->root_fd >= 0)
		fd = nt_open_in_root(p->root_fd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	if (nt_elf_open(fdpath, &d, err, sizeof(err)) == 0 &&
	    strcmp(d->build_id, elf->build_id)) {
		nt_elf_free(d);
		d = NULL;
	}
	close(fd);
	return d;
}

/* The ELF for mapping I of P, opened once per (dev, inode) for all pids. */
static struct elf_entry *elf_for_map(struct nt_symbolizer *s, struct proc *p, size_t i)
{
	const struct nt_map *m = &p->maps.v[i];
	struct elf_entry *e;
	char err[512];
	uint64_t key;
	int fd;

	if (p->map_elf[i])
		return p->map_elf[i] == &no_elf ? NULL : p->map_elf[i];
	e = elf_lookup(s, m->dev, m->inode);
	if (!e) {
		fd = open_mapped(p, m);
		if (fd < 0) {
			warn(s, "pid %d: cannot open %s: %s", p->pid, m->path, strerror(-fd));
		} else {
			e = elf_from_fd(s, fd, m->path, err, sizeof(err));
			close(fd);
			if (!e)
				warn(s, "pid %d: %s: %s", p->pid, m->path, err);
		}
		if (e) {
			e->debug = open_debug_file(p, e->elf);
			e->dev = m->dev;
			e->ino = m->inode;
			key = hash_u64(e->dev) ^ e->ino;
			e->hnext = u64map_get(&s->elfs, key);
			if (u64map_put(&s->elfs, key, e))
				e->hnext = NULL;  /* still named, just not shared */
		}
	}
	p->map_elf[i] = e ? e : &no_elf;
	return e;
}

/* nodetap's own vdso: the kernel maps the same image into every 64-bit
 * process, so its symbols name the target's vdso frames. */
static struct elf_entry *vdso_elf(struct nt_symbolizer *s)
{
	uintptr_t base = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
	const struct nt_map *m;
	struct nt_maps maps;
	char err[512];
	int fd;

	if (s->vdso_tried)
		return s->vdso;
	s->vdso_tried = true;
	if (!base || nt_maps_read_pid(getpid(), &maps, err, sizeof(err)))
		return NULL;
	m = nt_maps_find(&maps, base);
	fd = memfd_create("vdso", MFD_CLOEXEC);
	if (m && fd >= 0 &&
	    write(fd, (const void *)base, m->end - base) == (ssize_t)(m->end - base))
		s->vdso = elf_from_fd(s, fd, "[vdso]", err, sizeof(err));
	if (fd >= 0)
		close(fd);
	nt_maps_free(&maps);
	return s->vdso;
}

/* ---- naming ---- */

/* The name to show for symbol NAME: demangled, and without the symbol
 * version that .symtab of versioned libraries carries
 * ("_IO_file_xsputn@@GLIBC_2.2.5"). Cached per symbol. */
static const char *display_name(struct nt_symbolizer *s, const char *name)
{
	const char *d, *at = strchr(name, '@');
	size_t len = at ? (size_t)(at - name) : strlen(name);
	char *base;

	if (!at && strncmp(name, "_Z", 2))
		return name;      /* a plain C name: lives in the nt_elf already */
	d = u64map_get(&s->demangled, (uintptr_t)name);
	if (d)
		return d;
	base = strndup(name, len);
	if (!base)
		return name;
	d = intern(&s->strs, strncmp(base, "_Z", 2) ? base :
		   nt_demangle(base, s->dbuf, DEMANGLE_BUF));
	free(base);
	if (!d)
		return name;
	u64map_put(&s->demangled, (uintptr_t)name, (void *)(uintptr_t)d);
	return d;
}

/* Name OUT from E's symbols, OFF being the file offset of the address. */
static bool name_from_elf(struct nt_symbolizer *s, const struct elf_entry *e,
			  uint64_t off, struct nt_frame *out)
{
	uint64_t vaddr = nt_elf_offset_to_vaddr(e->elf, off), symoff;
	const struct nt_sym *sym;

	if (vaddr == UINT64_MAX)
		return false;
	/* The debug file has the same layout and every symbol. */
	sym = e->debug ? nt_elf_sym_at(e->debug, vaddr, &symoff) : NULL;
	if (!sym)
		sym = nt_elf_sym_at(e->elf, vaddr, &symoff);
	if (!sym)
		return false;
	out->kind = NT_FRAME_NATIVE;
	out->name = display_name(s, sym->name);
	out->module = e->path;
	out->offset = symoff;
	return true;
}

/* Refresh P's perf map; say once when it outgrew what nodetap reads (a
 * hostile or runaway file: later entries are not read, their frames stay
 * unnamed, and the user should know why). */
static int perfmap_refresh(struct nt_symbolizer *s, struct proc *p)
{
	struct nt_perfmap_stats pst;
	char err[512];
	int r = nt_perfmap_refresh(p->pm, err, sizeof(err));

	if (r < 0)
		warn(s, "pid %d: perf map %s", p->pid, err);
	nt_perfmap_stats(p->pm, &pst);
	if (pst.capped && !p->pm_capped_warned) {
		p->pm_capped_warned = true;
		warn(s, "pid %d: perf map /tmp/perf-%d.map is larger than %llu MB: "
		     "read only its first %llu MB, JIT frames past them stay unnamed",
		     p->pid, p->nspid, NT_PERFMAP_MAX_BYTES >> 20, NT_PERFMAP_MAX_BYTES >> 20);
	}
	return r;
}

/* Is the perf map at PATH older than process P? Then an earlier process
 * with the same pid left it (V8 never removes them, and a node without
 * --perf-basic-prof writes none): its names belong to other code. The
 * process's start, in wall-clock seconds: now - (uptime - starttime). */
static bool perfmap_stale(const struct proc *p, const char *path)
{
	long hz = sysconf(_SC_CLK_TCK);
	double uptime, started;
	struct timespec now;
	struct stat st;
	FILE *f;
	int fd;

	if (!p->have_ident || hz <= 0)
		return false;
	/* O_PATH | O_NOFOLLOW: only its times are wanted. The file is the
	 * traced side's: a FIFO must not block nodetap (an open for reading
	 * would), a symlink must not be followed (nt_perfmap_open refuses it). */
	fd = nt_open_in_root(p->root_fd, path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;   /* nt_perfmap_open says why */
	if (fstat(fd, &st)) {
		close(fd);
		return false;
	}
	close(fd);
	f = fopen("/proc/uptime", "re");
	if (!f)
		return false;
	if (fscanf(f, "%lf", &uptime) != 1) {
		fclose(f);
		return false;
	}
	fclose(f);
	clock_gettime(CLOCK_REALTIME, &now);
	started = (double)now.tv_sec - (uptime - (double)p->ident.starttime / (double)hz);
	/* A second of slack for the clocks' rounding. */
	return (double)st.st_mtime + 1.0 < started;
}

/* Open P's perf map if there is none yet and read it. A refused one is not
 * tried again. A missing one is tried again at most once a second when a
 * frame is named (NOTED false: that may happen per frame), but at every
 * note of the process (NOTED: once per new stack or event at most), which
 * does not delay the next try from naming: a note before V8 created its
 * map must not keep the report, a moment later, from opening it. */
static void perfmap_open(struct nt_symbolizer *s, struct proc *p, bool noted)
{
	char path[64], err[512];
	struct nt_perfmap **v;
	uint64_t now;
	int r;

	if (p->pm || p->pm_refused || p->root_fd < 0 || !p->have_uid)
		return;
	if (!noted) {
		now = now_ns();
		if (now < p->pm_next_try_ns)
			return;
		p->pm_next_try_ns = now + RETRY_NS;
	}
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", p->nspid);
	if (perfmap_stale(p, path))
		return;   /* as if absent: tried again later, in case V8 rewrites it */
	r = nt_perfmap_open(p->root_fd, path, p->uid, &p->pm, err, sizeof(err));
	if (r == -ENOENT)
		return;   /* node runs without --perf-basic-prof */
	if (r) {
		p->pm_refused = true;
		warn(s, "pid %d: perf map %s", p->pid, err);
		return;
	}
	v = realloc(s->perfmaps, (s->nperfmaps + 1) * sizeof(*v));
	if (!v) {
		nt_perfmap_free(p->pm);
		p->pm = NULL;
		return;
	}
	s->perfmaps = v;
	s->perfmaps[s->nperfmaps++] = p->pm;
	perfmap_refresh(s, p);
}

/* Name OUT from P's perf map. With GROWN, re-read the file on a miss. */
static bool name_from_perfmap(struct nt_symbolizer *s, struct proc *p, uint64_t addr,
			      bool grown, struct nt_frame *out)
{
	const struct nt_perfmap_sym *sym;

	perfmap_open(s, p, false);
	if (!p->pm)
		return false;
	sym = nt_perfmap_find(p->pm, addr);
	if (!sym && grown && perfmap_refresh(s, p) > 0)
		sym = nt_perfmap_find(p->pm, addr);
	if (!sym)
		return false;
	out->kind = NT_FRAME_JS;
	out->name = sym->name;
	out->module = "[jit]";
	out->offset = addr - sym->start;
	out->js_optimized = sym->optimized;
	return true;
}

static void set_unnamed(struct nt_symbolizer *s, const char *module, const char *base,
			uint64_t off, struct nt_frame *out)
{
	char buf[4200];

	snprintf(buf, sizeof(buf), "%s+0x%" PRIx64, base, off);
	out->name = intern(&s->strs, buf);
	if (!out->name)
		return;   /* out of memory: stays [unknown] */
	out->kind = NT_FRAME_UNNAMED;
	out->module = module;
	out->offset = off;
}

/* ADDR is in file-backed mapping I of P. */
static void name_in_file(struct nt_symbolizer *s, struct proc *p, size_t i,
			 uint64_t addr, struct nt_frame *out)
{
	const struct nt_map *m = &p->maps.v[i];
	uint64_t off = addr - m->start + m->offset, vaddr;
	struct elf_entry *e = elf_for_map(s, p, i);
	const char *path;

	if (e && name_from_elf(s, e, off, out))
		return;
	if (name_from_perfmap(s, p, addr, false, out))
		return;
	if (e) {
		/* The ELF's own address, which addr2line and objdump take. */
		vaddr = nt_elf_offset_to_vaddr(e->elf, off);
		set_unnamed(s, e->path, e->base, vaddr != UINT64_MAX ? vaddr : off, out);
		return;
	}
	path = intern(&s->strs, m->path);
	if (path)
		set_unnamed(s, path, basename_of(path), off, out);
}

/* ADDR is in mapping I of P, which is not a regular file. */
static void name_in_anon(struct nt_symbolizer *s, struct proc *p, size_t i,
			 uint64_t addr, struct nt_frame *out)
{
	const struct nt_map *m = &p->maps.v[i];
	uint64_t off = addr - m->start;
	const char *module;

	if (m->path && !strcmp(m->path, "[vdso]")) {
		struct elf_entry *e = vdso_elf(s);

		if (e && name_from_elf(s, e, off, out))
			return;
	}
	if (name_from_perfmap(s, p, addr, true, out))
		return;
	if (m->path)
		module = intern(&s->strs, m->path);
	else
		/* A return address or sampled ip is code that ran: in an
		 * anonymous mapping, JIT code, even when the snapshot found the
		 * mapping writable (V8 flips code pages between RW and RX while
		 * it compiles, unless its write protection is off). */
		module = "[jit]";
	if (module)
		set_unnamed(s, module, module, off, out);
}

static void count(struct nt_symbolizer *s, const struct nt_frame *out)
{
	s->st.frames++;
	if (out->kind == NT_FRAME_UNNAMED)
		s->st.unnamed++;
	else if (out->kind == NT_FRAME_UNKNOWN)
		s->st.unknown++;
}

static void set_unknown(uint64_t addr, const char *module, struct nt_frame *out)
{
	*out = (struct nt_frame){
		.addr = addr, .kind = NT_FRAME_UNKNOWN, .name = "[unknown]",
		.module = module, .offset = 0,
	};
}

/* Name ADDR; COUNTED: it is a frame of a stack, and goes in the statistics. */
static void symbolize_user(struct nt_symbolizer *s, int pid, uint64_t addr, bool counted,
			   struct nt_frame *out)
{
	struct proc *p = proc_get(s, pid, false);
	const struct nt_map *m;

	set_unknown(addr, "[unknown]", out);
	if (!p) {
		nt_symbolizer_note_pid(s, pid);
		p = proc_get(s, pid, false);
	}
	if (!p)
		goto done;
	for (int pass = 0; pass < 2; pass++) {
		m = p->have_maps ? nt_maps_find(&p->maps, addr) : NULL;
		if (m && nt_map_is_file(m)) {
			name_in_file(s, p, (size_t)(m - p->maps.v), addr, out);
			goto done;
		}
		if (m) {
			name_in_anon(s, p, (size_t)(m - p->maps.v), addr, out);
			goto done;
		}
		/* No mapping: JIT code newer than the snapshot, or an exited
		 * process whose perf map is still reachable through its root. */
		if (name_from_perfmap(s, p, addr, true, out))
			goto done;
		if (pass || !maybe_reread_maps(s, p))
			break;
	}
done:
	if (counted)
		count(s, out);
}

void nt_symbolize_user(struct nt_symbolizer *s, int pid, uint64_t addr,
		       struct nt_frame *out)
{
	symbolize_user(s, pid, addr, true, out);
}

void nt_symbolize_user_word(struct nt_symbolizer *s, int pid, uint64_t addr,
			    struct nt_frame *out)
{
	symbolize_user(s, pid, addr, false, out);
}

void nt_symbolize_kernel(struct nt_symbolizer *s, uint64_t addr, struct nt_frame *out)
{
	const struct nt_ksym *k;
	char err[512], mod[80];
	uint64_t off;

	set_unknown(addr, "[kernel]", out);
	if (!s->ksyms && !s->ksyms_failed &&
	    nt_kallsyms_load("/proc/kallsyms", &s->ksyms, err, sizeof(err))) {
		s->ksyms_failed = true;
		warn(s, "%s", err);
	}
	k = s->ksyms ? nt_kallsyms_find(s->ksyms, addr, &off) : NULL;
	if (k) {
		out->kind = NT_FRAME_KERNEL;
		out->name = k->name;
		out->offset = off;
		if (k->module) {
			snprintf(mod, sizeof(mod), "[%s]", k->module);
			out->module = intern(&s->strs, mod);
			if (!out->module)
				out->module = "[kernel]";
		}
	}
	count(s, out);
}

void nt_symbolizer_stats(const struct nt_symbolizer *s, struct nt_symbolizer_stats *out)
{
	struct nt_perfmap_stats pst;

	*out = s->st;
	out->perfmap_lines_rejected = 0;
	for (size_t i = 0; i < s->nperfmaps; i++) {
		nt_perfmap_stats(s->perfmaps[i], &pst);
		out->perfmap_lines_rejected += pst.malformed + pst.overlong;
	}
}

void nt_symbolizer_perfmap_stats(const struct nt_symbolizer *s, struct nt_perfmap_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < s->nperfmaps; i++) {
		struct nt_perfmap_stats pst;

		nt_perfmap_stats(s->perfmaps[i], &pst);
		out->lines += pst.lines;
		out->malformed += pst.malformed;
		out->overlong += pst.overlong;
		out->bytes_read += pst.bytes_read;
		out->restarts += pst.restarts;
		out->capped |= pst.capped;
	}
}

void nt_symbolizer_free(struct nt_symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->procs.cap; i++) {
		struct proc *p = s->procs.v[i].val;

		if (!p)
			continue;
		p->pm = NULL;   /* freed below with the retired ones */
		proc_reset(p);
		free(p);
	}
	for (size_t i = 0; i < s->nperfmaps; i++)
		nt_perfmap_free(s->perfmaps[i]);
	while (s->elf_list) {
		struct elf_entry *e = s->elf_list;

		s->elf_list = e->next;
		nt_elf_free(e->elf);
		nt_elf_free(e->debug);
		free(e);
	}
	nt_kallsyms_free(s->ksyms);
	free(s->procs.v);
	free(s->elfs.v);
	free(s->demangled.v);
	free(s->perfmaps);
	strtab_free(&s->strs);
	free(s->dbuf);
	free(s);
}
