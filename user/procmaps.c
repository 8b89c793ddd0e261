/* procmaps: parse /proc/PID/maps. See procmaps.h.
 *
 * A line looks like
 *   7f1c2a000000-7f1c2a021000 r-xp 00002000 fd:01 1234567   /usr/lib/libc.so.6
 * The path is everything after the inode and its padding: it may contain
 * spaces, and ends in " (deleted)" when the file was unlinked. Lines are
 * parsed from a pointer range rather than as C strings, so a file that ends
 * mid-line or a very long line needs no special buffer handling. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "procmaps.h"
#include "textparse.h"

#define DELETED_SUFFIX " (deleted)"

struct builder {
	struct nt_map *v;
	size_t n, cap;
	size_t *path_off;       /* per entry: offset in strings + 1, 0 = none */
	char *strings;
	size_t slen, scap;
	size_t last_off;        /* the previous path, reused when equal */
	size_t last_len;
};

static bool parse_dec(const char **pp, const char *end, uint64_t *out)
{
	const char *p = *pp;
	uint64_t v = 0;

	if (p >= end || *p < '0' || *p > '9')
		return false;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*pp = p;
	*out = v;
	return true;
}

static bool expect(const char **pp, const char *end, char c)
{
	if (*pp >= end || **pp != c)
		return false;
	(*pp)++;
	return true;
}

static bool parse_perms(const char **pp, const char *end, unsigned *out)
{
	const char *p = *pp;
	unsigned perms = 0;

	if (end - p < 4)
		return false;
	if (p[0] == 'r')
		perms |= NT_MAP_R;
	if (p[1] == 'w')
		perms |= NT_MAP_W;
	if (p[2] == 'x')
		perms |= NT_MAP_X;
	if (p[3] == 's')
		perms |= NT_MAP_SHARED;
	else if (p[3] != 'p')
		return false;
	*pp = p + 4;
	*out = perms;
	return true;
}

/* Store PATH (LEN bytes) and return its offset + 1. Consecutive mappings of
 * one file (a library has 4 or 5) share one copy. */
static size_t store_path(struct builder *b, const char *path, size_t len)
{
	if (b->last_off && b->last_len == len &&
	    !memcmp(b->strings + b->last_off - 1, path, len))
		return b->last_off;
	if (b->slen + len + 1 > b->scap) {
		size_t cap = b->scap ? b->scap : 4096;
		char *s;

		while (cap < b->slen + len + 1)
			cap *= 2;
		s = realloc(b->strings, cap);
		if (!s)
			return 0;
		b->strings = s;
		b->scap = cap;
	}
	memcpy(b->strings + b->slen, path, len);
	b->strings[b->slen + len] = '\0';
	b->last_off = b->slen + 1;
	b->last_len = len;
	b->slen += len + 1;
	return b->last_off;
}

static int grow(struct builder *b)
{
	size_t cap = b->cap ? b->cap * 2 : 64;
	struct nt_map *v = realloc(b->v, cap * sizeof(*v));
	size_t *off;

	if (!v)
		return -ENOMEM;
	b->v = v;
	off = realloc(b->path_off, cap * sizeof(*off));
	if (!off)
		return -ENOMEM;
	b->path_off = off;
	b->cap = cap;
	return 0;
}

/* Parse one line [p, end) without its newline. Returns 1 if a mapping was
 * added, 0 if the line is malformed, -ENOMEM. */
static int parse_line(struct builder *b, const char *p, const char *end)
{
	struct nt_map m = { 0 };
	uint64_t major, minor;
	const char *path;
	size_t len, off = 0;

	if (!nt_parse_hex(&p, end, &m.start) || !expect(&p, end, '-') ||
	    !nt_parse_hex(&p, end, &m.end) || !expect(&p, end, ' ') ||
	    !parse_perms(&p, end, &m.perms) || !expect(&p, end, ' ') ||
	    !nt_parse_hex(&p, end, &m.offset) || !expect(&p, end, ' ') ||
	    !nt_parse_hex(&p, end, &major) || !expect(&p, end, ':') ||
	    !nt_parse_hex(&p, end, &minor) || !expect(&p, end, ' ') ||
	    !parse_dec(&p, end, &m.inode))
		return 0;
	if (m.end <= m.start || major > 0xfff || minor > 0xfffff)
		return 0;
	if (p < end && *p != ' ')
		return 0;
	m.dev = makedev(major, minor);
	while (p < end && *p == ' ')
		p++;
	path = p;
	len = (size_t)(end - p);
	if (len >= sizeof(DELETED_SUFFIX) &&
	    !memcmp(end - (sizeof(DELETED_SUFFIX) - 1), DELETED_SUFFIX,
		    sizeof(DELETED_SUFFIX) - 1)) {
		m.deleted = true;
		len -= sizeof(DELETED_SUFFIX) - 1;
	}
	if (b->n == b->cap && grow(b))
		return -ENOMEM;
	if (len) {
		off = store_path(b, path, len);
		if (!off)
			return -ENOMEM;
	}
	b->path_off[b->n] = off;
	b->v[b->n++] = m;
	return 1;
}

static int cmp_start(const void *a, const void *b)
{
	const struct nt_map *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static void builder_free(struct builder *b)
{
	free(b->v);
	free(b->path_off);
	free(b->strings);
}

int nt_maps_parse(const char *text, size_t len, struct nt_maps *out)
{
	struct builder b = { 0 };
	const char *p = text, *end = text + len;
	uint64_t skipped = 0;

	memset(out, 0, sizeof(*out));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		int r = parse_line(&b, p, eol);

		if (r < 0) {
			builder_free(&b);
			return r;
		}
		if (r == 0)
			skipped++;
		p = nl ? nl + 1 : end;
	}
	/* Paths are offsets until the string buffer stops moving. */
	for (size_t i = 0; i < b.n; i++)
		b.v[i].path = b.path_off[i] ? b.strings + b.path_off[i] - 1 : NULL;
	free(b.path_off);
	/* The kernel lists mappings in order; a hand-made file may not. */
	for (size_t i = 1; i < b.n; i++) {
		if (b.v[i].start < b.v[i - 1].start) {
			qsort(b.v, b.n, sizeof(*b.v), cmp_start);
			break;
		}
	}
	out->v = b.v;
	out->n = b.n;
	out->strings = b.strings;
	out->lines_skipped = skipped;
	return 0;
}

/* Read all of FD. /proc files must be read in a loop: each read returns at
 * most a page or so, and their size in fstat is 0. */
static int read_all(int fd, char **buf, size_t *len)
{
	size_t cap = 16384, n = 0;
	char *b = malloc(cap);

	if (!b)
		return -ENOMEM;
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *nb = realloc(b, cap * 2);

			if (!nb) {
				free(b);
				return -ENOMEM;
			}
			b = nb;
			cap *= 2;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = -errno;

			free(b);
			return e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*buf = b;
	*len = n;
	return 0;
}

int nt_maps_read_file(const char *path, struct nt_maps *out, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int fd, r;

	memset(out, 0, sizeof(*out));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(-r));
		return r;
	}
	r = read_all(fd, &text, &len);
	close(fd);
	if (r) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-r));
		return r;
	}
	r = nt_maps_parse(text, len, out);
	free(text);
	if (r)
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
	return r;
}

int nt_maps_read_pid(int pid, struct nt_maps *out, char *err, size_t errlen)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	return nt_maps_read_file(path, out, err, errlen);
}

const struct nt_map *nt_maps_find(const struct nt_maps *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < m->v[mid].start)
			hi = mid;
		else if (addr >= m->v[mid].end)
			lo = mid + 1;
		else
			return &m->v[mid];
	}
	return NULL;
}

bool nt_map_is_file(const struct nt_map *m)
{
	/* "/memfd:x (deleted)" and SysV shm are files too; what matters is a
	 * path to open (or map_files) and an inode to key the cache by. */
	return m->path && m->path[0] == '/' && m->inode != 0;
}

void nt_maps_free(struct nt_maps *m)
{
	free(m->v);
	free(m->strings);
	memset(m, 0, sizeof(*m));
}

/* Without openat2 (kernels before 5.6, valgrind): walk the path one
 * component at a time, refusing symlinks and "..", so that nothing resolves
 * outside ROOTFD. Stricter than RESOLVE_IN_ROOT, never looser. */
static int open_in_root_walk(int rootfd, const char *path, int flags)
{
	char comp[256];
	int dir = rootfd, fd;

	for (;;) {
		const char *slash;
		size_t len;

		while (*path == '/')
			path++;
		slash = strchr(path, '/');
		len = slash ? (size_t)(slash - path) : strlen(path);
		if (!len || len >= sizeof(comp)) {
			fd = len ? -ENAMETOOLONG : -ENOENT;
			break;
		}
		memcpy(comp, path, len);
		comp[len] = '\0';
		path += len;
		while (*path == '/')
			path++;
		if (!strcmp(comp, "..")) {
			fd = -EXDEV;
			break;
		}
		fd = openat(dir, comp, *path ? O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
					     : flags | O_NOFOLLOW);
		if (fd < 0)
			fd = -errno;
		if (fd < 0 || !*path)
			break;
		if (dir != rootfd)
			close(dir);
		dir = fd;
	}
	if (dir != rootfd)
		close(dir);
	return fd;
}

int nt_open_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)flags,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	if (rootfd == AT_FDCWD) {
		fd = openat(AT_FDCWD, path, flags);
		return fd < 0 ? -errno : fd;
	}
	fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	if (fd >= 0)
		return fd;
	if (errno != ENOSYS)
		return -errno;
	return open_in_root_walk(rootfd, path, flags);
}
