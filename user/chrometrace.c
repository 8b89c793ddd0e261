/* chrometrace: see chrometrace.h. The format is chrome_trace.c's; this file
 * only maps a profile onto it. Stack frame ids are the nodes of the
 * profile's call tree (stackprof.h), so a sample's "sf" is its stack's leaf
 * and every frame's "parent" its caller. */
#include <errno.h>
#include <string.h>
#include "chrome_trace.h"
#include "chrometrace.h"

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

void nt_chrometrace_samples(struct nt_ctrace *ct, const struct nt_profile *p,
			    const struct nt_ptree *t)
{
	for (size_t i = 0; i < p->nsamples; i++) {
		const struct nt_psample *s = &p->samples[i];
		const char *proc = p->stacks[s->stack].frames[0].label;

		/* The names the profile recorded: the processes may be gone. */
		nt_ct_name_as(ct, (uint32_t)s->pid, (uint32_t)s->tid, proc, strlen(proc),
			      s->thread, strnlen(s->thread, sizeof(s->thread)));
		nt_ct_event(ct, "P", "cpu sample", "cpu", (uint32_t)s->pid, (uint32_t)s->tid,
			    s->time_ns);
		nt_ct_field_u64_str(ct, "sf", t->leaf[s->stack]);
		nt_ct_arg_i64(ct, "cpu", s->cpu);
		nt_ct_event_end(ct);
	}
}

void nt_chrometrace_frames(struct nt_ctrace *ct, const struct nt_ptree *t)
{
	nt_ct_frames_begin(ct);
	for (size_t i = 1; i < t->n; i++)
		nt_ct_frame(ct, i, t->nodes[i].frame->label, category(t->nodes[i].frame->kind),
			    t->nodes[i].parent);
}

int nt_chrometrace_write(FILE *f, const struct nt_profile *p, uint64_t lost)
{
	struct nt_ctrace ct;
	struct nt_ptree t;
	int err;

	if ((err = nt_ptree_build(p, &t)))
		return err;
	if (nt_ct_begin(&ct, f)) {
		nt_ptree_free(&t);
		return -ENOMEM;
	}
	ct.tool = "nodetap profile";
	nt_chrometrace_samples(&ct, p, &t);
	nt_chrometrace_frames(&ct, &t);
	err = nt_ct_end(&ct, lost);
	nt_ct_free(&ct);
	nt_ptree_free(&t);
	return err;
}
