/* fuzz_perfmap: V8's perf map reader (user/perfmap.c), fed the way V8
 * writes the file: appended piece by piece, with a refresh after each
 * piece, against a reference parser written from perfmap.h.
 *
 * Input: byte 0 holds flags (bits 0-2: number of extra pieces; bit 3:
 * rewrite the file shorter at the end, as a new process with the same pid
 * does; bit 5: close the map at the end; bits 4, 6 and 7 all set (1 input
 * in 8, they are slow): first append 5000 synthetic lines, so that the
 * radix sort, the 64 KB read chunks and the two-level index are used), then
 * one byte per extra piece (where to cut), then the file's text. After each refresh:
 *   - the entries are those of the reference parse of the complete lines
 *     written so far, wherever the pieces were cut: for a set of addresses
 *     (each entry's start, end - 1, end, start - 1) nt_perfmap_find returns
 *     the latest entry covering it, with the reference's name and flags;
 *   - the refresh returns the number of new entries; the counters (lines,
 *     malformed, overlong) agree with the reference;
 *   - names handed out stay readable after later refreshes, a restart and
 *     nt_perfmap_close (ASan would see a use after free).
 */
#include <errno.h>
#include <fcntl.h>
#include "fuzz.h"
#include "perfmap.h"

struct ref_ent {
	uint64_t start, end;
	const char *name;       /* into the text; "(anonymous)" goes before it */
	size_t len;
	int anon, js, optimized;
};

/* Parsed incrementally: the complete lines of text[0, parsed). */
struct ref {
	struct ref_ent *v;
	size_t n, cap, parsed;
	uint64_t malformed, overlong, tail_overlong;
};

static void ref_clear(struct ref *r)
{
	free(r->v);
	memset(r, 0, sizeof(*r));
}

static int hexdig(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Hex number at *p (before end): an optional 0x when something follows it,
 * then 1 to 16 digits (textparse.h). */
static int ref_hex(const char **pp, const char *end, uint64_t *out)
{
	const char *p = *pp;
	uint64_t v = 0;
	int n = 0;

	if (end - p >= 3 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	while (p < end && hexdig(*p) >= 0) {
		if (++n > 16)
			return 0;
		v = v << 4 | (uint64_t)hexdig(*p++);
	}
	if (!n)
		return 0;
	*pp = p;
	*out = v;
	return 1;
}

static int ref_blank(const char **pp, const char *end)
{
	const char *p = *pp;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == *pp)
		return 0;
	*pp = p;
	return 1;
}

/* One line without its '\n': "START SIZE NAME" (perfmap.h). */
static void ref_line(struct ref *r, const char *p, const char *end)
{
	static const char *const tags[] = { "JS:", "LazyCompile:", "Function:" };
	struct ref_ent e = { 0 };
	uint64_t size;
	const char *name;
	size_t len;

	if (end - p > NT_PERFMAP_MAX_LINE) {
		r->overlong++;
		return;
	}
	if (end > p && end[-1] == '\r')
		end--;
	if (!ref_hex(&p, end, &e.start) || !ref_blank(&p, end) || !ref_hex(&p, end, &size) ||
	    !ref_blank(&p, end) || p == end || !size || e.start + size < e.start ||
	    memchr(p, 0, (size_t)(end - p))) {
		r->malformed++;
		return;
	}
	e.end = e.start + size;
	name = p;
	len = (size_t)(end - p);
	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		size_t tl = strlen(tags[i]);

		if (len >= tl && !memcmp(name, tags[i], tl)) {
			e.js = 1;
			name += tl;
			len -= tl;
			break;
		}
	}
	if (e.js && len && (*name == '~' || *name == '*' || *name == '^' || *name == '+')) {
		e.optimized = *name == '*' || *name == '+';
		name++;
		len--;
		if (len && *name == '\'') {   /* v24's OSR mark */
			name++;
			len--;
		}
	}
	e.anon = e.js && (!len || *name == ' ');
	e.name = name;
	e.len = len;
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->v = realloc(r->v, r->cap * sizeof(*r->v));
	}
	r->v[r->n++] = e;
}

/* Parse the complete lines of TEXT[0, len) not parsed yet. */
static void ref_parse(struct ref *r, const char *text, size_t len)
{
	const char *p = text + r->parsed, *end = text + len, *nl;

	while ((nl = memchr(p, '\n', (size_t)(end - p)))) {
		ref_line(r, p, nl);
		p = nl + 1;
	}
	r->parsed = (size_t)(p - text);
	/* An overlong partial line is counted as soon as it is seen. */
	r->tail_overlong = end - p > NT_PERFMAP_MAX_LINE;
}

static int ref_name_is(const struct ref_ent *e, const char *name)
{
	size_t pl = e->anon ? 11 : 0;

	return strlen(name) == pl + e->len && !memcmp(name, "(anonymous)", pl) &&
	       !memcmp(name + pl, e->name, e->len);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The reference answers for sorted, distinct addresses Q[0, nq): the last
 * entry in file order that covers each ("later lines win"), found by
 * painting each entry over the addresses it covers, in file order. */
static void ref_answers(const struct ref *r, const uint64_t *q, size_t nq,
				   const struct ref_ent **ans)
{
	for (size_t k = 0; k < nq; k++)
		ans[k] = NULL;
	for (size_t i = 0; i < r->n; i++) {
		size_t lo = 0, hi = nq;

		while (lo < hi) {       /* the first address >= start */
			size_t mid = lo + (hi - lo) / 2;

			if (q[mid] < r->v[i].start)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t k = lo; k < nq && q[k] < r->v[i].end; k++)
			ans[k] = &r->v[i];
	}
}

static void check_addr(struct nt_perfmap *pm, uint64_t a, const struct ref_ent *e)
{
	const struct nt_perfmap_sym *s = nt_perfmap_find(pm, a);

	if (!e) {
		FUZZ_CHECK(!s, "0x%llx: found \"%s\", the reference finds nothing",
			   (unsigned long long)a, s->name);
		return;
	}
	FUZZ_CHECK(s, "0x%llx: found nothing, the reference finds \"%.*s\"",
		   (unsigned long long)a, (int)e->len, e->name);
	FUZZ_CHECK(s->start == e->start && s->end == e->end && ref_name_is(e, s->name) &&
		   s->js == e->js && s->optimized == e->optimized,
		   "0x%llx: found [0x%llx,0x%llx) \"%s\" js %d opt %d, the reference "
		   "[0x%llx,0x%llx) %s\"%.*s\" js %d opt %d", (unsigned long long)a,
		   (unsigned long long)s->start, (unsigned long long)s->end, s->name, s->js,
		   s->optimized, (unsigned long long)e->start, (unsigned long long)e->end,
		   e->anon ? "(anonymous)" : "", (int)e->len, e->name, e->js, e->optimized);
}

struct run {
	struct ref ref;
	uint64_t lines, malformed_before, overlong_before;
	const char *kept_name;     /* a name handed out earlier */
};

static void check_all(struct nt_perfmap *pm, struct run *st)
{
	const struct ref *r = &st->ref;
	struct nt_perfmap_stats ps;
	/* Probe addresses: around every entry (at most 64 entries, spread),
	 * and the two ends of the address space. */
	size_t step = r->n > 64 ? r->n / 64 : 1, nq = 0, m = 0;
	uint64_t *q = malloc((4 * (r->n / step + 1) + 2) * sizeof(*q));
	const struct ref_ent **ans;

	for (size_t i = 0; i < r->n; i += step) {
		const struct ref_ent *e = &r->v[i];

		q[nq++] = e->start;
		q[nq++] = e->end - 1;
		q[nq++] = e->end;
		if (e->start)
			q[nq++] = e->start - 1;
	}
	q[nq++] = 0;
	q[nq++] = UINT64_MAX;
	qsort(q, nq, sizeof(*q), cmp_u64);
	for (size_t k = 0; k < nq; k++)
		if (!m || q[m - 1] != q[k])
			q[m++] = q[k];
	ans = malloc(m * sizeof(*ans));
	ref_answers(r, q, m, ans);
	for (size_t k = 0; k < m; k++)
		check_addr(pm, q[k], ans[k]);
	free(ans);
	free(q);
	nt_perfmap_stats(pm, &ps);
	FUZZ_CHECK(ps.lines == st->lines, "stats: %llu lines, refreshes returned %llu",
		   (unsigned long long)ps.lines, (unsigned long long)st->lines);
	FUZZ_CHECK(ps.malformed == st->malformed_before + r->malformed,
		   "stats: %llu malformed, the reference %llu",
		   (unsigned long long)ps.malformed,
		   (unsigned long long)(st->malformed_before + r->malformed));
	FUZZ_CHECK(ps.overlong == st->overlong_before + r->overlong + r->tail_overlong,
		   "stats: %llu overlong, the reference %llu",
		   (unsigned long long)ps.overlong,
		   (unsigned long long)(st->overlong_before + r->overlong + r->tail_overlong));
	if (st->kept_name)
		FUZZ_CHECK(strlen(st->kept_name) < 1u << 20, "a kept name is too long");
	if (r->n) {
		const struct nt_perfmap_sym *s = nt_perfmap_find(pm, r->v[0].start);

		if (s)
			st->kept_name = s->name;
	}
}

/* Append TEXT[from, to) to the file and refresh (from == to after a
 * rewrite: the reader starts over and reads TEXT[0, to)). */
static void append(int wfd, struct nt_perfmap *pm, struct run *st, const char *text,
		   size_t from, size_t to)
{
	char err[256];
	int added;
	size_t before = st->ref.n;

	if (to > from && pwrite(wfd, text + from, to - from, (off_t)from) != (ssize_t)(to - from))
		abort();
	added = nt_perfmap_refresh(pm, err, sizeof(err));
	FUZZ_CHECK(added >= 0, "refresh failed: %s", err);
	ref_parse(&st->ref, text, to);
	FUZZ_CHECK((size_t)added == st->ref.n - before,
		   "refresh returned %d new entries, the reference has %zu",
		   added, st->ref.n - before);
	st->lines += (uint64_t)added;
	check_all(pm, st);
}

/* 5000 lines of plausible JS code entries, from a seed. */
static char *synthetic(uint64_t seed, size_t *len)
{
	size_t cap = 5000 * 80, n = 0;
	char *s = malloc(cap);
	uint64_t x = seed | 1;

	for (int i = 0; i < 5000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		n += (size_t)snprintf(s + n, cap - n, "%llx %llx JS:%c f%d /app/m%d.js:%d:%d\n",
				      (unsigned long long)(0x7f0000000000ull + (x & 0xffffff)),
				      (unsigned long long)(1 + (x >> 24) % 512),
				      "~*^+"[(x >> 40) & 3], i, (int)(x >> 44) & 7, i, i % 80);
	}
	*len = n;
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[4096], err[256];
	const char *tmp = getenv("TMPDIR");
	struct nt_perfmap *pm;
	struct run st = { 0 };
	size_t cuts[9], ncuts, body, textlen, pre = 0;
	char *text;
	int wfd, rc;

	if (size < 1)
		return 0;
	ncuts = data[0] & 7;
	if (size < 1 + ncuts)
		return 0;
	body = size - 1 - ncuts;
	/* The file's whole text: synthetic lines first with bit 4. */
	if ((data[0] & 0xd0) == 0xd0) {
		uint64_t seed = 14695981039346656037ull;
		char *syn;

		for (size_t i = 0; i < size; i++)
			seed = (seed ^ data[i]) * 1099511628211ull;
		syn = synthetic(seed, &pre);
		text = malloc(pre + body + 1);
		memcpy(text, syn, pre);
		free(syn);
	} else {
		text = malloc(body + 1);
	}
	memcpy(text + pre, data + 1 + ncuts, body);
	textlen = pre + body;
	/* Cut points inside the body, in order. */
	for (size_t i = 0; i < ncuts; i++)
		cuts[i] = pre + body * data[1 + i] / 256;
	for (size_t i = 1; i < ncuts; i++)
		for (size_t k = i; k > 0 && cuts[k - 1] > cuts[k]; k--) {
			size_t t = cuts[k];

			cuts[k] = cuts[k - 1];
			cuts[k - 1] = t;
		}

	snprintf(path, sizeof(path), "%s/nodetap-fuzz-perfmap.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	wfd = mkstemp(path);
	if (wfd < 0) {
		perror("mkstemp");
		abort();
	}
	rc = nt_perfmap_open(AT_FDCWD, path, getuid(), &pm, err, sizeof(err));
	unlink(path);   /* the reader keeps its fd: nothing is left behind */
	FUZZ_CHECK(rc == 0, "open: %s", err);

	{
		size_t at = 0;

		if (pre)
			append(wfd, pm, &st, text, 0, at = pre);
		for (size_t i = 0; i < ncuts; i++) {
			append(wfd, pm, &st, text, at, cuts[i]);
			at = cuts[i];
		}
		append(wfd, pm, &st, text, at, textlen);
	}
	if ((data[0] & 0x08) && textlen) {
		/* Rewritten shorter: the reader starts over. */
		size_t half = textlen / 2;

		st.malformed_before += st.ref.malformed;
		st.overlong_before += st.ref.overlong + st.ref.tail_overlong;
		ref_clear(&st.ref);
		if (ftruncate(wfd, (off_t)half))
			abort();
		append(wfd, pm, &st, text, half, half);
	}
	if (data[0] & 0x20) {
		const char *kept = st.kept_name;

		nt_perfmap_close(pm);
		FUZZ_CHECK(!nt_perfmap_find(pm, st.ref.n ? st.ref.v[0].start : 0),
			   "found an entry after close");
		if (kept)
			FUZZ_CHECK(strlen(kept) < 1u << 20, "a kept name is too long");
	}
	nt_perfmap_free(pm);
	close(wfd);
	ref_clear(&st.ref);
	free(text);
	return 0;
}
