#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "escape.h"
#include "promtext.h"

void nt_prom_init(struct nt_prom *p)
{
	memset(p, 0, sizeof(*p));
}

void nt_prom_free(struct nt_prom *p)
{
	free(p->buf);
	memset(p, 0, sizeof(*p));
}

static bool reserve(struct nt_prom *p, size_t more)
{
	size_t cap = p->cap ? p->cap : 4096;
	char *b;

	if (p->oom)
		return false;
	if (p->len + more + 1 <= p->cap)
		return true;
	while (cap < p->len + more + 1)
		cap *= 2;
	b = realloc(p->buf, cap);
	if (!b) {
		p->oom = true;
		return false;
	}
	p->buf = b;
	p->cap = cap;
	return true;
}

static void put(struct nt_prom *p, const char *s, size_t n)
{
	if (!reserve(p, n))
		return;
	memcpy(p->buf + p->len, s, n);
	p->len += n;
	p->buf[p->len] = 0;
}

static void puts_(struct nt_prom *p, const char *s)
{
	put(p, s, strlen(s));
}

__attribute__((format(printf, 2, 3)))
static void printf_(struct nt_prom *p, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		put(p, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* The format's escapes: only backslash, double quote and newline. */
static void put_exposition_escaped(struct nt_prom *p, const char *s, size_t n, bool quote)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '\\')
			put(p, "\\\\", 2);
		else if (c == '\n')
			put(p, "\\n", 2);
		else if (c == '"' && quote)
			put(p, "\\\"", 2);
		else
			put(p, &c, 1);
	}
}

static void put_label_value(struct nt_prom *p, const char *in, size_t len)
{
	char small[1024];
	char *tmp = small;
	size_t need = nt_escape(in, len, small, sizeof(small));

	if (need >= sizeof(small)) {
		tmp = malloc(need + 1);
		if (!tmp) {
			p->oom = true;
			return;
		}
		nt_escape(in, len, tmp, need + 1);
	}
	put_exposition_escaped(p, tmp, need, true);
	if (tmp != small)
		free(tmp);
}

size_t nt_prom_escape_label(const char *in, size_t len, char *out, size_t outlen)
{
	struct nt_prom p;
	size_t n;

	nt_prom_init(&p);
	put_label_value(&p, in, len);
	n = p.len;
	if (outlen) {
		size_t c = n < outlen ? n : outlen - 1;

		if (c)
			memcpy(out, p.buf, c);
		out[c] = 0;
	}
	nt_prom_free(&p);
	return n;
}

void nt_prom_family(struct nt_prom *p, const char *name, const char *type, const char *help)
{
	printf_(p, "# HELP %s ", name);
	put_exposition_escaped(p, help, strlen(help), false);
	printf_(p, "\n# TYPE %s %s\n", name, type);
}

/* NAME{a="x",b="y"[,le="LE"]} with the separator before the value. */
static void put_series(struct nt_prom *p, const char *name, const char *suffix,
		       const struct nt_prom_label *l, int nl, const char *le)
{
	puts_(p, name);
	if (suffix)
		puts_(p, suffix);
	if (nl || le) {
		put(p, "{", 1);
		for (int i = 0; i < nl; i++) {
			if (i)
				put(p, ",", 1);
			puts_(p, l[i].name);
			put(p, "=\"", 2);
			put_label_value(p, l[i].value, l[i].maxlen);
			put(p, "\"", 1);
		}
		if (le) {
			if (nl)
				put(p, ",", 1);
			printf_(p, "le=\"%s\"", le);
		}
		put(p, "}", 1);
	}
	put(p, " ", 1);
}

void nt_prom_u64(struct nt_prom *p, const char *name, const struct nt_prom_label *l, int nl,
		 unsigned long long v)
{
	put_series(p, name, NULL, l, nl, NULL);
	printf_(p, "%llu\n", v);
}

static void put_double(struct nt_prom *p, double v)
{
	char tmp[40];

	/* The shortest of %.15g and %.17g that reads back as V (0.1, not
	 * 0.10000000000000001); Go's parser reads every form these print. */
	snprintf(tmp, sizeof(tmp), "%.15g", v);
	if (strtod(tmp, NULL) != v)
		snprintf(tmp, sizeof(tmp), "%.17g", v);
	printf_(p, "%s\n", tmp);
}

void nt_prom_double(struct nt_prom *p, const char *name, const struct nt_prom_label *l, int nl,
		    double v)
{
	put_series(p, name, NULL, l, nl, NULL);
	put_double(p, v);
}

void nt_prom_us_to_le(uint64_t us, char *out, size_t len)
{
	size_t n = (size_t)snprintf(out, len, "%llu.%06llu", (unsigned long long)(us / 1000000),
				    (unsigned long long)(us % 1000000));

	if (n >= len)
		return;
	while (n > 0 && out[n - 1] == '0')
		out[--n] = 0;
	if (n > 0 && out[n - 1] == '.')
		out[--n] = 0;
}

void nt_prom_hist_log2(struct nt_prom *p, const char *name, const struct nt_prom_label *l, int nl,
		       const unsigned long long *slots, int nslots, double sum_seconds)
{
	unsigned long long cum = 0, total = 0;
	int next = 0;
	char le[32];

	for (int i = 0; i < nslots; i++)
		total += slots[i];
	for (int b = NT_PROM_LE_FIRST; b <= NT_PROM_LE_LAST; b++) {
		while (next <= b && next < nslots)
			cum += slots[next++];
		nt_prom_us_to_le(1ULL << b, le, sizeof(le));
		put_series(p, name, "_bucket", l, nl, le);
		printf_(p, "%llu\n", cum);
	}
	put_series(p, name, "_bucket", l, nl, "+Inf");
	printf_(p, "%llu\n", total);
	if (!isnan(sum_seconds)) {
		put_series(p, name, "_sum", l, nl, NULL);
		put_double(p, sum_seconds);
	}
	put_series(p, name, "_count", l, nl, NULL);
	printf_(p, "%llu\n", total);
}
