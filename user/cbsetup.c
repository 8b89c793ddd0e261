/* cbsetup: see cbsetup.h. Moved out of callbacks.c so that `nodetap trace
 * --callbacks` places the same probes with the same facts. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "cbsetup.h"
#include "elfsym.h"

const char *const nt_cbs_role_func[NT_CB_ROLES] = {
	[NT_CB_ROLE_ASYNCWRAP] = "node::AsyncWrap::MakeCallback",
	[NT_CB_ROLE_TIMERS] = "node::Environment::RunTimers",
	[NT_CB_ROLE_MAKECALLBACK] = "node::MakeCallback",
	[NT_CB_ROLE_INTERNAL] = "node::InternalMakeCallback",
};

static const enum nt_aw_func role_fn[NT_CB_ROLES] = {
	[NT_CB_ROLE_ASYNCWRAP] = NT_AW_MAKECALLBACK_FN,
	[NT_CB_ROLE_TIMERS] = NT_AW_RUNTIMERS,
	[NT_CB_ROLE_MAKECALLBACK] = NT_AW_NODE_MAKECALLBACK,
	[NT_CB_ROLE_INTERNAL] = NT_AW_INTERNAL_ISOLATE,
};

static const char *fixed_kind_name(unsigned int id)
{
	switch (id) {
	case NT_CB_KIND_UNKNOWN: return "UNKNOWN";
	case NT_CB_KIND_CALLER: return "?";
	case NT_CB_KIND_TIMERWRAP: return "TIMERWRAP";
	case NT_CB_KIND_IMMEDIATE: return "IMMEDIATE";
	case NT_CB_KIND_OTHER: return "OTHER";
	default: return NULL;
	}
}

const char *nt_cbs_kind_name(const struct nt_cbs *s, unsigned int id)
{
	const char *f = fixed_kind_name(id);

	if (f)
		return f;
	return (int)id < s->nkinds ? s->kinds[id] : "UNKNOWN";
}

int nt_cbs_kind_id(const struct nt_cbs *s, const char *name)
{
	for (unsigned int id = NT_CB_KIND_FIRST_FIXED; id < NT_CB_MAX_KINDS; id++)
		if (id != NT_CB_KIND_CALLER && !strcmp(fixed_kind_name(id), name))
			return (int)id;
	for (int i = 0; i < s->nkinds; i++)
		if (!strcmp(s->kinds[i], name))
			return i;
	return -1;
}

int nt_cbs_intern_kind(struct nt_cbs *s, const char *name)
{
	int id = nt_cbs_kind_id(s, name);

	if (id >= 0)
		return id;
	if (s->nkinds >= NT_CB_KIND_FIRST_FIXED || !(s->kinds[s->nkinds] = strdup(name)))
		return NT_CB_KIND_UNKNOWN;
	return s->nkinds++;
}

int nt_cbs_bin_of(struct nt_cbs *s, const struct nt_target *t)
{
	struct nt_elf *e = NULL;
	char err[256];
	struct nt_cbs_bin *b;

	for (int i = 0; i < s->nbins; i++)
		if (s->bins[i].dev == t->dev && s->bins[i].ino == t->ino)
			return i;
	if (s->nbins >= NT_CB_MAX_BINARIES)
		return -1;
	b = &s->bins[s->nbins];
	memset(b, 0, sizeof(*b));
	b->dev = t->dev;
	b->ino = t->ino;
	b->path = strdup(t->path);
	if (!b->path)
		return -1;
	if (!nt_elf_open(t->path, &e, err, sizeof(err))) {
		b->opened = true;
		if (nt_aw_analyze(t->path, e, &b->aw)) {
			nt_elf_free(e);
			nt_aw_free(&b->aw);
			free(b->path);
			b->path = NULL;
			return -1;
		}
		nt_elf_free(e);
	} else {
		snprintf(b->aw.why, sizeof(b->aw.why), "%s", err);
	}
	if (s->by_caller && b->aw.provider_off) {
		b->aw.provider_off = 0;
		snprintf(b->aw.why, sizeof(b->aw.why), "NODETAP_CB_BY_CALLER=1");
	}
	return s->nbins++;
}

int nt_cbs_fill_maps(struct nt_cbs *s, int bins_fd, int kind_fd)
{
	for (__u32 i = 0; i < (__u32)s->nbins; i++) {
		const struct nt_aw_info *a = &s->bins[i].aw;
		struct nt_cb_bin v = { 0 };

		v.provider_off = (unsigned)a->provider_off;
		v.nproviders = (unsigned)(a->nnames < NT_CB_MAX_PROVIDERS ? a->nnames : NT_CB_MAX_PROVIDERS);
		if (a->fn[NT_AW_CHECK_IMMEDIATE].found && a->fn[NT_AW_NODE_MAKECALLBACK].found) {
			v.imm_lo = (long long)(a->fn[NT_AW_CHECK_IMMEDIATE].vaddr -
					       a->fn[NT_AW_NODE_MAKECALLBACK].vaddr);
			v.imm_hi = v.imm_lo + (long long)a->fn[NT_AW_CHECK_IMMEDIATE].size;
		}
		if (bpf_map_update_elem(bins_fd, &i, &v, BPF_ANY))
			return -errno;
		for (__u32 p = 0; p < v.nproviders; p++) {
			__u32 idx = i * NT_CB_MAX_PROVIDERS + p;
			__u32 kind = (__u32)nt_cbs_intern_kind(s, a->names[p]);

			if (bpf_map_update_elem(kind_fd, &idx, &kind, BPF_ANY))
				return -errno;
		}
	}
	return 0;
}

int nt_cbs_specs(const struct nt_cbs *s, int bi, struct bpf_program *enter,
		 struct bpf_program *ret, struct nt_probe_spec *specs, uint64_t *cookies,
		 int *roles)
{
	const struct nt_aw_info *a = &s->bins[bi].aw;
	int ns = 0;

	for (int r = 0; r < NT_CB_ROLES; r++) {
		/* InternalMakeCallback(Isolate*) exists from v22 on; where another
		 * probed function calls it, probing it would count twice. */
		if (r == NT_CB_ROLE_INTERNAL && (!a->fn[role_fn[r]].found || a->internal_reached))
			continue;
		for (int isret = 0; isret < 2; isret++) {
			specs[ns] = (struct nt_probe_spec){
				.func = nt_aw_func_pattern[role_fn[r]],
				.prog = isret ? ret : enter,
				.retprobe = isret,
			};
			cookies[ns] = (uint64_t)r | (uint64_t)bi << 8;
			roles[ns++] = r;
		}
	}
	return ns;
}

void nt_cbs_free(struct nt_cbs *s)
{
	for (int i = 0; i < s->nbins; i++) {
		nt_aw_free(&s->bins[i].aw);
		free(s->bins[i].path);
	}
	for (int i = 0; i < s->nkinds; i++)
		free(s->kinds[i]);
	s->nbins = s->nkinds = 0;
}
