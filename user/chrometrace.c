/* chrometrace: see chrometrace.h. Stack frame ids are the nodes of the
 * profile's call tree (stackprof.h), so a sample's "sf" is its stack's
 * leaf and every frame's "parent" its caller. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "chrometrace.h"
#include "json.h"

static void put_str(FILE *f, const char *s)
{
	nt_json_write_string(f, s, strlen(s));
}

static const char *category(enum nt_pframe_kind k)
{
	switch (k) {
	case NT_PF_PROCESS: return "process";
	case NT_PF_JS: return "js";
	case NT_PF_INTERP: return "interpreted";
	case NT_PF_JIT: return "jit";
	case NT_PF_NATIVE: case NT_PF_UNNAMED: return "native";
	case NT_PF_KERNEL: return "kernel";
	default: return "unknown";
	}
}

struct named { pid_t pid, tid; };

static void next_event(FILE *f, bool *first)
{
	fputs(*first ? "\n" : ",\n", f);
	*first = false;
}

/* Has (pid, tid) had its name written? Adds it if not. */
static bool seen(struct named **v, size_t *n, pid_t pid, pid_t tid)
{
	struct named *nv;

	for (size_t i = 0; i < *n; i++)
		if ((*v)[i].pid == pid && (*v)[i].tid == tid)
			return true;
	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv)
		return true;   /* out of memory: a name left out, the samples stay */
	*v = nv;
	nv[(*n)++] = (struct named){ pid, tid };
	return false;
}

int nt_chrometrace_write(FILE *f, const struct nt_profile *p)
{
	struct nt_ptree t;
	struct named *names = NULL;
	size_t nnames = 0;
	bool first = true;
	int err;

	if ((err = nt_ptree_build(p, &t)))
		return err;
	fputs("{\"displayTimeUnit\":\"ms\",\"otherData\":{\"producer\":\"nodetap profile\",\"clock\":\"CLOCK_MONOTONIC\"},\n"
	      "\"traceEvents\":[", f);
	for (size_t i = 0; i < p->nsamples; i++) {
		const struct nt_psample *s = &p->samples[i];
		const struct nt_pstack *st = &p->stacks[s->stack];

		if (!seen(&names, &nnames, s->pid, 0)) {
			next_event(f, &first);
			fprintf(f, "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%d,\"tid\":0,\"args\":{\"name\":",
				s->pid);
			put_str(f, st->frames[0].label);
			fputs("}}", f);
		}
		if (!seen(&names, &nnames, s->pid, s->tid)) {
			next_event(f, &first);
			fprintf(f, "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%d,\"tid\":%d,\"args\":{\"name\":",
				s->pid, s->tid);
			nt_json_write_string(f, s->thread, strnlen(s->thread, sizeof(s->thread)));
			fputs("}}", f);
		}
		next_event(f, &first);
		fprintf(f, "{\"ph\":\"P\",\"name\":\"cpu sample\",\"cat\":\"cpu\",\"pid\":%d,\"tid\":%d,"
			"\"ts\":%llu.%03llu,\"sf\":\"%zu\",\"args\":{\"cpu\":%d}}", s->pid, s->tid,
			(unsigned long long)(s->time_ns / 1000), (unsigned long long)(s->time_ns % 1000),
			t.leaf[s->stack], s->cpu);
	}
	fputs("],\n\"stackFrames\":{", f);
	for (size_t i = 1; i < t.n; i++) {
		const struct nt_pnode *n = &t.nodes[i];

		fprintf(f, "%s\n\"%zu\":{\"name\":", i > 1 ? "," : "", i);
		put_str(f, n->frame->label);
		fprintf(f, ",\"category\":\"%s\"", category(n->frame->kind));
		if (n->parent)
			fprintf(f, ",\"parent\":\"%zu\"", n->parent);
		fputc('}', f);
	}
	fputs("}}\n", f);
	free(names);
	nt_ptree_free(&t);
	return fflush(f) ? -errno : 0;
}
