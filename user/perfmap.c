/* perfmap: parse V8's perf map incrementally. See perfmap.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "perfmap.h"
#include "textparse.h"
#include "procmaps.h"

#define CHUNK (64 * 1024)
#define ARENA_BLOCK (64 * 1024)
#define RECENT_MAX 16384          /* entries indexed apart from the rest */

/* Names live in blocks that never move, so that a name handed out stays
 * valid while the entry array is reallocated, re-sorted, or reset. */
struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	char data[];
};

/* An entry's start, for sorting them by address. */
struct skey {
	uint64_t start;
	size_t idx;               /* into entries */
};

/* One piece of the address space, named by the latest entry covering it. */
struct seg {
	uint64_t start, end;
	size_t idx;               /* into entries */
};

struct index {
	struct seg *segs;         /* sorted, disjoint */
	size_t n;
};

struct nt_perfmap {
	int fd;
	char *path;
	uint64_t off;             /* first byte not yet consumed */
	uint64_t size_seen;       /* file size at the last read */
	bool skipping;            /* inside an overlong line that began before off */
	struct nt_perfmap_sym *entries; /* in file order: later wins */
	size_t n, cap;
	/* Two indexes: MAIN for entries [0, base), RECENT for [base, n).
	 * Every recent entry is later than every main one, so a lookup tries
	 * RECENT first. A refresh that adds a few lines rebuilds only RECENT;
	 * MAIN is rebuilt when RECENT grows large (amortized). */
	struct index main, recent;
	size_t base;
	bool dirty;               /* entries added since the indexes were built */
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
		/* v24 (V8 13) marks code compiled on stack replacement with a
		 * quote after the tier: "JS:*'hot file:1:2". The same function. */
		if (len && *name == '\'') {
			name++;
			len--;
		}
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
	if (!nt_parse_hex(&p, end, &e.start) || !skip_spaces(&p, end) ||
	    !nt_parse_hex(&p, end, &size) || !skip_spaces(&p, end))
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
	pm->base = 0;
	pm->main.n = pm->recent.n = 0;
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

/* An index: for every piece of address space, the latest entry covering
 * it. The entries are sorted by start, then a sweep in address order keeps
 * a max-heap of the entries open at the current address, keyed by file
 * position (later wins); entries that ended leave the heap lazily when they
 * reach the top. V8's map is mostly disjoint, so the heap stays tiny and
 * the sweep is linear after the sort. */
struct heap {
	size_t *v, n;
};

static void heap_push(struct heap *h, size_t idx)
{
	size_t i = h->n++;

	while (i && h->v[(i - 1) / 2] < idx) {
		h->v[i] = h->v[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->v[i] = idx;
}

static void heap_pop(struct heap *h)
{
	size_t last = h->v[--h->n], i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->v[c + 1] > h->v[c])
			c++;
		if (h->v[c] <= last)
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	if (h->n)
		h->v[i] = last;
}

static int cmp_skey(const void *a, const void *b)
{
	const struct skey *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Sort V by (start, idx): LSD radix sort on 16-bit digits, skipping digits
 * all keys share (the top bits of user addresses). V arrives in idx order
 * and each pass is stable, so ties stay in idx order. qsort took ~100 ms
 * for the 800k lines of a large perf map; this takes ~10. */
static int radix_sort(struct skey *v, size_t n)
{
	struct skey *tmp = malloc(n * sizeof(*tmp)), *src = v, *dst = tmp;
	size_t *count = malloc(65536 * sizeof(*count));

	if (!tmp || !count) {
		free(tmp);
		free(count);
		return -ENOMEM;
	}
	for (int shift = 0; shift < 64; shift += 16) {
		size_t sum = 0;

		memset(count, 0, 65536 * sizeof(*count));
		for (size_t i = 0; i < n; i++)
			count[(src[i].start >> shift) & 0xffff]++;
		if (count[(src[0].start >> shift) & 0xffff] == n)
			continue;       /* one digit for all: nothing to order */
		for (size_t d = 0; d < 65536; d++) {
			size_t c = count[d];

			count[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[count[(src[i].start >> shift) & 0xffff]++] = src[i];
		src = dst;
		dst = dst == tmp ? v : tmp;
	}
	if (src != v)
		memcpy(v, src, n * sizeof(*v));
	free(tmp);
	free(count);
	return 0;
}

static int sort_skeys(struct skey *v, size_t n)
{
	if (n < 4096) {
		qsort(v, n, sizeof(*v), cmp_skey);
		return 0;
	}
	return radix_sort(v, n);
}

static void add_seg(struct index *ix, uint64_t start, uint64_t end, size_t idx)
{
	struct seg *last = ix->n ? &ix->segs[ix->n - 1] : NULL;

	if (last && last->idx == idx && last->end == start)
		last->end = end;
	else
		ix->segs[ix->n++] = (struct seg){ start, end, idx };
}

/* The sweep over sorted keys K[0, n). */
static void sweep(struct index *ix, const struct nt_perfmap_sym *e,
		  const struct skey *k, size_t n, struct heap *h)
{
	uint64_t cur = 0;
	size_t i = 0;

	ix->n = 0;
	while (i < n || h->n) {
		uint64_t next, end;

		if (!h->n)
			cur = k[i].start;
		while (i < n && k[i].start <= cur)
			heap_push(h, k[i++].idx);
		while (h->n && e[h->v[0]].end <= cur)
			heap_pop(h);
		if (!h->n)
			continue;
		/* The top wins until it ends or another entry starts. */
		next = i < n ? k[i].start : UINT64_MAX;
		end = e[h->v[0]].end < next ? e[h->v[0]].end : next;
		add_seg(ix, cur, end, h->v[0]);
		cur = end;
	}
}

/* Index entries [from, to) into IX. */
static int index_build(struct index *ix, const struct nt_perfmap_sym *e,
		       size_t from, size_t to)
{
	size_t n = to - from, cap = n ? n : 1;
	struct skey *k = malloc(cap * sizeof(*k));
	struct heap h = { malloc(cap * sizeof(size_t)), 0 };
	/* Each entry opens at most one piece and ends at most one more. */
	struct seg *segs = realloc(ix->segs, 2 * cap * sizeof(*segs));
	int ret = -ENOMEM;

	if (segs)
		ix->segs = segs;
	if (!k || !h.v || !segs)
		goto out;
	for (size_t i = 0; i < n; i++)
		k[i] = (struct skey){ e[from + i].start, from + i };
	if (sort_skeys(k, n))
		goto out;
	sweep(ix, e, k, n, &h);
	/* Mostly one piece per entry: give back the worst-case room. */
	segs = realloc(ix->segs, (ix->n ? ix->n : 1) * sizeof(*segs));
	if (segs)
		ix->segs = segs;
	ret = 0;
out:
	free(k);
	free(h.v);
	return ret;
}

static const struct seg *index_find(const struct index *ix, uint64_t addr)
{
	size_t lo = 0, hi = ix->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct seg *s = &ix->segs[mid];

		if (addr < s->start)
			hi = mid;
		else if (addr >= s->end)
			lo = mid + 1;
		else
			return s;
	}
	return NULL;
}

/* Rebuild RECENT, or both when RECENT would be too large to rebuild at
 * every refresh. */
static int update_indexes(struct nt_perfmap *pm)
{
	size_t fresh = pm->n - pm->base;

	if (fresh > RECENT_MAX || fresh > pm->base) {
		pm->recent.n = 0;
		if (index_build(&pm->main, pm->entries, 0, pm->n))
			return -ENOMEM;
		pm->base = pm->n;
	} else if (index_build(&pm->recent, pm->entries, pm->base, pm->n)) {
		return -ENOMEM;
	}
	pm->dirty = false;
	return 0;
}

const struct nt_perfmap_sym *nt_perfmap_find(struct nt_perfmap *pm, uint64_t addr)
{
	const struct seg *s;

	if (pm->dirty && update_indexes(pm))
		return NULL;
	s = index_find(&pm->recent, addr);
	if (!s)
		s = index_find(&pm->main, addr);
	return s ? &pm->entries[s->idx] : NULL;
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
	free(pm->main.segs);
	free(pm->recent.segs);
	pm->entries = NULL;
	pm->main = pm->recent = (struct index){ 0 };
	pm->n = pm->cap = pm->base = 0;
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
	free(pm->main.segs);
	free(pm->recent.segs);
	free(pm->path);
	free(pm);
}
