/* cpuprofile: see cpuprofile.h.
 *
 * The tree is the profile's call tree (stackprof.h) with "(root)" at id 1;
 * a node's hitCount is the number of samples whose stack ends there, so the
 * hitCounts sum to the length of "samples". JavaScript frames carry their
 * file (url), line and column (0-based, as DevTools wants them) and one
 * scriptId per file; native and kernel frames have no script. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cpuprofile.h"
#include "json.h"

static void put_str(FILE *f, const char *s)
{
	nt_json_write_string(f, s, strlen(s));
}

/* The scriptId of URL: its index + 1 among the distinct urls seen. */
static unsigned script_id(const char ***urls, size_t *n, const char *url)
{
	const char **v;

	if (!*url)
		return 0;
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*urls)[i], url))
			return (unsigned)i + 1;
	v = realloc(*urls, (*n + 1) * sizeof(*v));
	if (!v)
		return 0;
	*urls = v;
	v[*n] = url;
	return (unsigned)++*n;
}

static void call_frame(FILE *f, const struct nt_pframe *fr, const char ***urls, size_t *nurls)
{
	const char *kind = "";

	fputs("\"callFrame\":{\"functionName\":", f);
	if (!fr) {
		fputs("\"(root)\",\"scriptId\":\"0\",\"url\":\"\",\"lineNumber\":-1,\"columnNumber\":-1}", f);
		return;
	}
	if (fr->kind == NT_PF_JS) {
		put_str(f, fr->js_fn);
		fprintf(f, ",\"scriptId\":\"%u\",\"url\":", script_id(urls, nurls, fr->js_url));
		put_str(f, fr->js_url);
		fprintf(f, ",\"lineNumber\":%d,\"columnNumber\":%d}", (int)fr->js_line - 1, (int)fr->js_col - 1);
		return;
	}
	/* DevTools colours by url; say what a frame without a script is. */
	switch (fr->kind) {
	case NT_PF_KERNEL: kind = " [kernel]"; break;
	case NT_PF_PROCESS: kind = " [process]"; break;
	default: break;
	}
	{
		size_t len = strlen(fr->label) + strlen(kind) + 1;
		char *name = malloc(len);

		if (name) {
			snprintf(name, len, "%s%s", fr->label, kind);
			put_str(f, name);
			free(name);
		} else {
			put_str(f, fr->label);
		}
	}
	fputs(",\"scriptId\":\"0\",\"url\":", f);
	put_str(f, fr->module ? fr->module : "");
	fputs(",\"lineNumber\":-1,\"columnNumber\":-1}", f);
}

static uint64_t us(uint64_t ns)
{
	return ns / 1000;
}

int nt_cpuprofile_write(FILE *f, const struct nt_profile *p)
{
	struct nt_ptree t;
	uint64_t *hits, start, end, prev;
	const char **urls = NULL;
	size_t nurls = 0;
	int err;

	if ((err = nt_ptree_build(p, &t)))
		return err;
	hits = calloc(t.n, sizeof(*hits));
	if (!hits) {
		nt_ptree_free(&t);
		return -ENOMEM;
	}
	for (size_t i = 0; i < p->nsamples; i++)
		hits[t.leaf[p->samples[i].stack]]++;
	start = us(p->start_ns);
	end = us(p->end_ns);
	if (p->nsamples && us(p->samples[0].time_ns) < start)
		start = us(p->samples[0].time_ns);
	if (p->nsamples && us(p->samples[p->nsamples - 1].time_ns) > end)
		end = us(p->samples[p->nsamples - 1].time_ns);
	fputs("{\"nodes\":[", f);
	for (size_t i = 0; i < t.n; i++) {
		const struct nt_pnode *n = &t.nodes[i];
		bool first = true;

		fprintf(f, "%s\n{\"id\":%zu,", i ? "," : "", i + 1);
		call_frame(f, n->frame, &urls, &nurls);
		fprintf(f, ",\"hitCount\":%llu,\"children\":[", (unsigned long long)hits[i]);
		for (size_t c = n->first_child; c; c = t.nodes[c].next_sibling) {
			fprintf(f, "%s%zu", first ? "" : ",", c + 1);
			first = false;
		}
		fputs("]}", f);
	}
	fprintf(f, "],\n\"startTime\":%llu,\"endTime\":%llu,\n\"samples\":[", (unsigned long long)start,
		(unsigned long long)end);
	for (size_t i = 0; i < p->nsamples; i++)
		fprintf(f, "%s%zu", i ? "," : "", t.leaf[p->samples[i].stack] + 1);
	fputs("],\n\"timeDeltas\":[", f);
	prev = start;
	for (size_t i = 0; i < p->nsamples; i++) {
		uint64_t now = us(p->samples[i].time_ns);

		fprintf(f, "%s%llu", i ? "," : "", (unsigned long long)(now - prev));
		prev = now;
	}
	fputs("]}\n", f);
	free(urls);
	free(hits);
	nt_ptree_free(&t);
	return fflush(f) ? -errno : 0;
}
