/* folded: see folded.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "escape.h"
#include "folded.h"

struct line {
	char *text;
	uint64_t count;
};

static void put_frame(FILE *f, const char *label)
{
	char buf[4096 * 4 + 1];
	size_t need = nt_escape(label, strlen(label), buf, sizeof(buf));

	(void)need;   /* a name cut at 16 KiB of escaped text is still a name */
	for (const char *p = buf; *p; p++) {
		if (*p == ';')
			fputs("\\x3b", f);
		else
			fputc(*p, f);
	}
}

static int line_cmp(const void *pa, const void *pb)
{
	return strcmp(((const struct line *)pa)->text, ((const struct line *)pb)->text);
}

int nt_folded_write(FILE *f, const struct nt_profile *p)
{
	struct line *v = calloc(p->nstacks ? p->nstacks : 1, sizeof(*v));
	size_t n = 0;
	int err = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < p->nstacks; i++) {
		const struct nt_pstack *s = &p->stacks[i];
		size_t len = 0;
		FILE *m;

		if (!s->count)
			continue;
		m = open_memstream(&v[n].text, &len);
		if (!m) {
			err = -ENOMEM;
			goto out;
		}
		for (int j = 0; j < s->nframes; j++) {
			if (j)
				fputc(';', m);
			put_frame(m, s->frames[j].label);
		}
		if (fclose(m) || !v[n].text) {
			err = -ENOMEM;
			goto out;
		}
		v[n++].count = s->count;
	}
	qsort(v, n, sizeof(*v), line_cmp);
	for (size_t i = 0; i < n; i++) {
		uint64_t c = v[i].count;

		while (i + 1 < n && !strcmp(v[i].text, v[i + 1].text))
			c += v[++i].count;
		fprintf(f, "%s %llu\n", v[i].text, (unsigned long long)c);
	}
	if (fflush(f))
		err = -errno;
out:
	for (size_t i = 0; i < p->nstacks; i++)
		free(v[i].text);
	free(v);
	return err;
}
