/* perfmap: parse V8's perf map incrementally. See perfmap.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* qsort_r */
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "perfmap.h"
#include "procmaps.h"

#define CHUNK (64 * 1024)
#define ARENA_BLOCK (64 * 1024)

/* Names live in blocks that never move, so that a name handed out stays
 * valid while the entry array is reallocated, re-sorted, or reset. */
struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	char data[];
};

/* One piece of the address space, named by the latest entry covering it. */
struct seg {
	uint64_t start, end;
	size_t idx;               /* into entries */
};

struct nt_perfmap {
	int fd;
	char *path;
	uint64_t off;             /* first byte not yet consumed */
	uint64_t size_seen;       /* file size at the last read */
	bool skipping;            /* inside an overlong line that began before off */
	struct nt_perfmap_sym *entries; /* in file order: later wins */
	size_t n, cap;
	struct seg *segs;         /* the index, sorted, disjoint */
	size_t nsegs;
	bool dirty;               /* entries added since the index was built */
	struct arena_block *arena;
	struct nt_perfmap_stats st;
};

static char *arena_store(struct nt_perfmap *pm, const char *prefix,
			 const char *s, size_t len)
{
	size_t plen = strlen(prefix), need = plen + len + 1;
	struct arena_block *b = pm->arena;
	char *out;

	if (!b || b->cap - b->used < need) {
		size_t cap = need > ARENA_BLOCK ? need : ARENA_BLOCK;

		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->next = pm->arena;
		b->used = 0;
		b->cap = cap;
		pm->arena = b;
	}
	out = b->data + b->used;
	memcpy(out, prefix, plen);
	memcpy(out + plen, s, len);
	out[plen + len] = '\0';
	b->used += need;
	return out;
}

static bool parse_hex(const char **pp, const char *end, uint64_t *out)
{
	const char *p = *pp;
	uint64_t v = 0;
	int digits = 0;

	if (end - p > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	for (; p < end; p++, digits++) {
		int d;

		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			break;
		if (digits >= 16)
			return false;
		v = v << 4 | (uint64_t)d;
	}
	if (!digits)
		return false;
	*pp = p;
	*out = v;
	return true;
}

static bool skip_spaces(const char **pp, const char *end)
{
	const char *p = *pp;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == *pp)
		return false;
	*pp = p;
	return true;
}

/* Tags that mark a JS function; the rest (Builtin:, Stub:, RegExp:,
 * BytecodeHandler:, Eval:, Script:, ...) stay in the name. */
static const char *const js_tags[] = { "JS:", "LazyCompile:", "Function:" };

/* Fill E's name and flags from V8's NAME (LEN bytes). */
static bool set_name(struct nt_perfmap *pm, struct nt_perfmap_sym *e,
		     const char *name, size_t len)
{
	const char *prefix = "";

	for (size_t i = 0; i < sizeof(js_tags) / sizeof(js_tags[0]); i++) {
		size_t tl = strlen(js_tags[i]);

		if (len >= tl && !memcmp(name, js_tags[i], tl)) {
			e->js = true;
			name += tl;
			len -= tl;
			break;
		}
	}
	if (e->js && len && strchr("~*^+", *name)) {
		e->optimized = *name == '*' || *name == '+';
		name++;
		len--;
	}
	/* V8 writes "JS:~ file:1:2" for a function without a name. */
	if (e->js && (!len || *name == ' '))
		prefix = "(anonymous)";
	e->name = arena_store(pm, prefix, name, len);
	return e->name != NULL;
}

/* Parse one line [p, end), newline excluded. Returns 1 if an entry was
 * added, 0 if malformed, -ENOMEM. */
static int parse_line(struct nt_perfmap *pm, const char *p, const char *end)
{
	struct nt_perfmap_sym e = { 0 };
	uint64_t size;

	if (end > p && end[-1] == '\r')
		end--;
	if (!parse_hex(&p, end, &e.start) || !skip_spaces(&p, end) ||
	    !parse_hex(&p, end, &size) || !skip_spaces(&p, end))
		return 0;
	/* An empty entry can never match; a wrapping one is garbage. A NUL
	 * would silently cut the name short. */
	if (!size || e.start + size < e.start || p == end ||
	    memchr(p, '\0', (size_t)(end - p)))
		return 0;
	e.end = e.start + size;
	if (pm->n == pm->cap) {
		size_t cap = pm->cap ? pm->cap * 2 : 1024;
		struct nt_perfmap_sym *v = realloc(pm->entries, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		pm->entries = v;
		pm->cap = cap;
	}
	if (!set_name(pm, &e, p, (size_t)(end - p)))
		return -ENOMEM;
	pm->entries[pm->n++] = e;
	pm->dirty = true;
	return 1;
}

/* Parse the complete lines in BUF[0, len). Returns the length of the
 * incomplete tail (to carry over), or -ENOMEM. */
static ssize_t parse_lines(struct nt_perfmap *pm, const char *buf, size_t len,
			   int *added)
{
	const char *p = buf, *end = buf + len;

	for (;;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		int r;

		if (!nl)
			break;
		if (pm->skipping) {
			/* The end of a line already counted as overlong. */
			pm->skipping = false;
		} else if (nl - p > NT_PERFMAP_MAX_LINE) {
			pm->st.overlong++;
		} else {
			r = parse_line(pm, p, nl);
			if (r < 0)
				return r;
			if (r)
				(*added)++;
			else
				pm->st.malformed++;
		}
		p = nl + 1;
	}
	if (!pm->skipping && end - p > NT_PERFMAP_MAX_LINE) {
		/* No newline within the limit: skip the rest of this line
		 * rather than cut it into a wrong name. */
		pm->st.overlong++;
		pm->skipping = true;
	}
	return pm->skipping ? 0 : end - p;
}

int nt_perfmap_open(int rootfd, const char *path, uid_t uid,
		    struct nt_perfmap **out, char *err, size_t errlen)
{
	struct nt_perfmap *pm;
	struct stat st;
	int fd;

	*out = NULL;
	/* O_NOFOLLOW: a symlink could point at any file root can read.
	 * O_NONBLOCK: opening a FIFO would otherwise wait for a writer. */
	fd = nt_open_in_root(rootfd, path,
			     O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path,
			 fd == -ELOOP ? "is a symlink, refused" : strerror(-fd));
		return fd;
	}
	if (fstat(fd, &st)) {
		int e = -errno;

		snprintf(err, errlen, "%s: fstat: %s", path, strerror(-e));
		close(fd);
		return e;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file, refused", path);
		close(fd);
		return -EINVAL;
	}
	if (st.st_uid != uid) {
		snprintf(err, errlen, "%s: owned by uid %u, not by the process's uid %u, refused",
			 path, (unsigned)st.st_uid, (unsigned)uid);
		close(fd);
		return -EPERM;
	}
	pm = calloc(1, sizeof(*pm));
	if (!pm || !(pm->path = strdup(path))) {
		free(pm);
		close(fd);
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	pm->fd = fd;
	*out = pm;
	return 0;
}

/* The file is smaller than what was read: a new process with this pid
 * rewrote it. Start over; old names stay in the arena. */
static void restart(struct nt_perfmap *pm)
{
	pm->off = 0;
	pm->size_seen = 0;
	pm->skipping = false;
	pm->n = 0;
	pm->nsegs = 0;
	pm->dirty = false;
	pm->st.restarts++;
}

int nt_perfmap_refresh(struct nt_perfmap *pm, char *err, size_t errlen)
{
	char *buf;
	size_t carry = 0;
	uint64_t pos, end;
	struct stat st;
	int added = 0;

	if (pm->fd < 0)
		return 0;
	if (fstat(pm->fd, &st)) {
		int e = -errno;

		snprintf(err, errlen, "%s: fstat: %s", pm->path, strerror(-e));
		return e;
	}
	if ((uint64_t)st.st_size < pm->size_seen)
		restart(pm);
	/* Unchanged: do not read a cut last line again. */
	if ((uint64_t)st.st_size == pm->size_seen)
		return 0;
	pm->size_seen = (uint64_t)st.st_size;
	end = (uint64_t)st.st_size;
	if (end > NT_PERFMAP_MAX_BYTES) {
		end = NT_PERFMAP_MAX_BYTES;
		pm->st.capped = true;
	}
	if (pm->off >= end)
		return 0;
	buf = malloc(CHUNK + NT_PERFMAP_MAX_LINE + 1);
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", pm->path);
		return -ENOMEM;
	}
	for (pos = pm->off; pos < end;) {
		size_t want = end - pos < CHUNK ? (size_t)(end - pos) : CHUNK;
		ssize_t r = pread(pm->fd, buf + carry, want, (off_t)pos);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = -errno;

			snprintf(err, errlen, "%s: read: %s", pm->path, strerror(-e));
			free(buf);
			return e;
		}
		if (r == 0)     /* shrank since fstat: the next refresh restarts */
			break;
		size_t total = carry + (size_t)r;
		ssize_t tail;

		pm->st.bytes_read += (uint64_t)r;
		pos += (uint64_t)r;
		tail = parse_lines(pm, buf, total, &added);
		if (tail < 0) {
			snprintf(err, errlen, "%s: out of memory", pm->path);
			free(buf);
			return (int)tail;
		}
		memmove(buf, buf + total - (size_t)tail, (size_t)tail);
		carry = (size_t)tail;
		pm->off = pos - carry;
	}
	free(buf);
	pm->st.lines += (uint64_t)added;
	return added;
}

/* The index: for every piece of address space, the latest entry covering
 * it. A sweep over the sorted start and end points with a max-heap of the
 * entries open at each point, keyed by file position (later wins); entries
 * that ended are dropped from the top lazily. O(n log n). */
struct sweep {
	const struct nt_perfmap_sym *e;
	size_t *heap, nheap;
};

static void heap_push(struct sweep *w, size_t idx)
{
	size_t i = w->nheap++;

	while (i && w->heap[(i - 1) / 2] < idx) {
		w->heap[i] = w->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	w->heap[i] = idx;
}

static void heap_pop(struct sweep *w)
{
	size_t last = w->heap[--w->nheap], i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= w->nheap)
			break;
		if (c + 1 < w->nheap && w->heap[c + 1] > w->heap[c])
			c++;
		if (w->heap[c] <= last)
			break;
		w->heap[i] = w->heap[c];
		i = c;
	}
	if (w->nheap)
		w->heap[i] = last;
}

static int cmp_by_start(const void *a, const void *b, void *base)
{
	const struct nt_perfmap_sym *e = base;
	const struct nt_perfmap_sym *x = &e[*(const size_t *)a];
	const struct nt_perfmap_sym *y = &e[*(const size_t *)b];

	return x->start < y->start ? -1 : x->start > y->start;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void add_seg(struct nt_perfmap *pm, uint64_t start, uint64_t end, size_t idx)
{
	struct seg *last = pm->nsegs ? &pm->segs[pm->nsegs - 1] : NULL;

	if (last && last->idx == idx && last->end == start)
		last->end = end;
	else
		pm->segs[pm->nsegs++] = (struct seg){ start, end, idx };
}

static int build_index(struct nt_perfmap *pm)
{
	size_t n = pm->n, npts = 0, i = 0, cap = n ? n : 1;
	size_t *order = malloc(cap * sizeof(*order));
	uint64_t *pts = malloc(2 * cap * sizeof(*pts));
	struct sweep w = { pm->entries, malloc(cap * sizeof(size_t)), 0 };
	/* At most one piece per pair of adjacent points. */
	struct seg *segs = realloc(pm->segs, 2 * cap * sizeof(*segs));
	int ret = -ENOMEM;

	if (segs)
		pm->segs = segs;
	if (!order || !pts || !w.heap || !segs)
		goto out;
	for (size_t k = 0; k < n; k++) {
		order[k] = k;
		pts[npts++] = pm->entries[k].start;
		pts[npts++] = pm->entries[k].end;
	}
	/* qsort is not stable, but ties need no order: the heap decides. */
	qsort_r(order, n, sizeof(*order), cmp_by_start, pm->entries);
	qsort(pts, npts, sizeof(*pts), cmp_u64);
	pm->nsegs = 0;
	for (size_t k = 0; k < npts; k++) {
		uint64_t p = pts[k];

		if (k + 1 < npts && pts[k + 1] == p)
			continue;       /* duplicates: handle p once, at its last copy */
		while (i < n && pm->entries[order[i]].start <= p)
			heap_push(&w, order[i++]);
		while (w.nheap && pm->entries[w.heap[0]].end <= p)
			heap_pop(&w);
		if (w.nheap && k + 1 < npts)
			add_seg(pm, p, pts[k + 1], w.heap[0]);
	}
	pm->dirty = false;
	ret = 0;
out:
	free(order);
	free(pts);
	free(w.heap);
	return ret;
}

const struct nt_perfmap_sym *nt_perfmap_find(struct nt_perfmap *pm, uint64_t addr)
{
	size_t lo = 0, hi;

	if (pm->dirty && build_index(pm))
		return NULL;
	hi = pm->nsegs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct seg *s = &pm->segs[mid];

		if (addr < s->start)
			hi = mid;
		else if (addr >= s->end)
			lo = mid + 1;
		else
			return &pm->entries[s->idx];
	}
	return NULL;
}

void nt_perfmap_stats(const struct nt_perfmap *pm, struct nt_perfmap_stats *out)
{
	*out = pm->st;
}

void nt_perfmap_close(struct nt_perfmap *pm)
{
	if (pm->fd >= 0)
		close(pm->fd);
	pm->fd = -1;
	free(pm->entries);
	free(pm->segs);
	pm->entries = NULL;
	pm->segs = NULL;
	pm->n = pm->cap = pm->nsegs = 0;
	pm->dirty = false;
}

void nt_perfmap_free(struct nt_perfmap *pm)
{
	if (!pm)
		return;
	while (pm->arena) {
		struct arena_block *b = pm->arena;

		pm->arena = b->next;
		free(b);
	}
	if (pm->fd >= 0)
		close(pm->fd);
	free(pm->entries);
	free(pm->segs);
	free(pm->path);
	free(pm);
}
