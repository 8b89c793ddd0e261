/* fuzz_promtext: the Prometheus text emitter (user/promtext.c) with label
 * values and help text the traced side could choose (a hostname, a process
 * name). Byte 0 splits the input into two label values; the rest is them.
 * Checked, on a sample line and on a histogram written with those labels:
 *   - every line ends at its single '\n': no value starts a line of its own;
 *   - each line is safe UTF-8 (fuzz.h): no control byte, nothing invalid;
 *   - each label value, read back by the format's grammar (a '"' ends it,
 *     '\\' escapes one of '\\', '"', 'n'), decodes to exactly what the
 *     reference escaper of fuzz.h makes of the input (escape.h's rule), so
 *     no input can end a value early or add a label;
 *   - the histogram's buckets are cumulative and +Inf equals _count. */
#include "fuzz.h"
#include "promtext.h"

/* The reference: escape.h's rule applied to IN[0, n) (stopping at a NUL). */
static size_t ref(const uint8_t *in, size_t n, char *out)
{
	size_t i = 0, o = 0;

	n = strnlen((const char *)in, n);
	while (i < n) {
		size_t used;

		o += fuzz_ref_escape_one(in + i, n - i, out + o, &used);
		i += used;
	}
	out[o] = 0;
	return o;
}

/* Parse one label value starting after its opening quote at *PP; returns
 * the decoded bytes in OUT and moves *PP past the closing quote. */
static size_t read_value(const char **pp, const char *end, char *out)
{
	const char *p = *pp;
	size_t o = 0;

	while (p < end && *p != '"') {
		if (*p == '\\') {
			FUZZ_CHECK(p + 1 < end, "a backslash at the end of the line");
			p++;
			if (*p == 'n')
				out[o++] = '\n';
			else if (*p == '\\' || *p == '"')
				out[o++] = *p;
			else
				FUZZ_FAIL("an escape '\\%c' the format does not have", *p);
			p++;
			continue;
		}
		out[o++] = *p++;
	}
	FUZZ_CHECK(p < end, "a label value without its closing quote");
	*pp = p + 1;
	out[o] = 0;
	return o;
}

static void check_line(const char *line, const char *end, const char *name,
		       const char *want1, const char *want2)
{
	size_t nl = strlen(name);
	char *got = malloc((size_t)(end - line) + 1);
	const char *p = line;

	FUZZ_CHECK(!strncmp(p, name, nl), "line does not start with %s", name);
	p += nl;
	FUZZ_CHECK(!strncmp(p, "{a=\"", 4), "no first label after the name");
	p += 4;
	read_value(&p, end, got);
	FUZZ_CHECK(!strcmp(got, want1), "label a reads back as \"%s\", not \"%s\"", got, want1);
	FUZZ_CHECK(!strncmp(p, ",b=\"", 4), "no second label where it belongs");
	p += 4;
	read_value(&p, end, got);
	FUZZ_CHECK(!strcmp(got, want2), "label b reads back as \"%s\", not \"%s\"", got, want2);
	FUZZ_CHECK(*p == ',' || *p == '}', "after the labels: '%c'", *p);
	free(got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t n = size - 1, split = n ? data[0] % (n + 1) : 0;
	/* Exact-size heap copies (no NUL): a read past LEN is caught. */
	uint8_t *v1 = malloc(split ? split : 1), *v2 = malloc(n - split ? n - split : 1);
	char *w1 = malloc(4 * split + 1), *w2 = malloc(4 * (n - split) + 1);
	unsigned long long slots[40];
	struct nt_prom p;

	memcpy(v1, data + 1, split);
	memcpy(v2, data + 1 + split, n - split);
	ref(v1, split, w1);
	ref(v2, n - split, w2);
	for (int i = 0; i < 40; i++)
		slots[i] = (unsigned long long)(i < (int)size ? data[i] : 0);

	struct nt_prom_label l[] = { { "a", (const char *)v1, split },
				     { "b", (const char *)v2, n - split } };
	nt_prom_init(&p);
	nt_prom_family(&p, "x_total", "counter", (const char *)"help\nwith \\ newline");
	nt_prom_u64(&p, "x_total", l, 2, 7);
	nt_prom_hist_log2(&p, "h_seconds", l, 2, slots, 40, 1.5);
	FUZZ_CHECK(!p.oom, "out of memory");
	FUZZ_CHECK(p.len && p.buf[p.len - 1] == '\n', "the text does not end a line");

	unsigned long long prev = 0, inf = 0, count = 0;
	int lines = 0;
	for (const char *s = p.buf; s < p.buf + p.len;) {
		const char *e = memchr(s, '\n', (size_t)(p.buf + p.len - s));
		unsigned long long v;

		lines++;
		FUZZ_CHECK(fuzz_safe_text(s, (size_t)(e - s)) == (size_t)(e - s),
			   "unsafe byte at %zu of line %d", fuzz_safe_text(s, (size_t)(e - s)), lines);
		if (*s != '#') {
			const char *sp = e - 1;

			while (sp > s && *sp != ' ')
				sp--;
			v = strtoull(sp + 1, NULL, 10);
			if (!strncmp(s, "x_total", 7)) {
				check_line(s, e, "x_total", w1, w2);
			} else if (!strncmp(s, "h_seconds_bucket", 16)) {
				check_line(s, e, "h_seconds_bucket", w1, w2);
				FUZZ_CHECK(v >= prev, "bucket %llu after %llu: not cumulative", v, prev);
				prev = v;
				if (strstr(s, "le=\"+Inf\""))
					inf = v;
			} else if (!strncmp(s, "h_seconds_count", 15)) {
				check_line(s, e, "h_seconds_count", w1, w2);
				count = v;
			} else {
				check_line(s, e, "h_seconds_sum", w1, w2);
			}
		}
		s = e + 1;
	}
	/* 2 + 1 lines of x_total, 22 bounds + Inf + sum + count. */
	FUZZ_CHECK(lines == 3 + 25, "%d lines, not 28: a value started a line", lines);
	FUZZ_CHECK(inf == count, "+Inf %llu but _count %llu", inf, count);

	nt_prom_free(&p);
	free(v1);
	free(v2);
	free(w1);
	free(w2);
	return 0;
}
