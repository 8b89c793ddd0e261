/* cbsetup: what every user of bpf/callbacks.bpf.c needs before its probes
 * run, shared by `nodetap callbacks` and `nodetap trace --callbacks`: each
 * node executable analysed once (asyncwrap.h: where provider_type_ is, the
 * provider names), the kind ids (one per provider name over every binary,
 * plus the fixed ones of callbacks.h), the per-binary facts and kinds in
 * the BPF maps, and the probe specs of one binary with their cookies. */
#ifndef NODETAP_CBSETUP_H
#define NODETAP_CBSETUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "asyncwrap.h"
#include "callbacks.h"
#include "probes.h"
#include "targets.h"

/* One analysed node executable. */
struct nt_cbs_bin {
	dev_t dev;
	ino_t ino;
	char *path;
	bool opened;            /* its ELF could be read */
	struct nt_aw_info aw;
};

struct nt_cbs {
	bool by_caller;         /* classify by caller everywhere (NODETAP_CB_BY_CALLER=1) */
	char *kinds[NT_CB_MAX_KINDS];  /* provider kind ids 0..nkinds-1 */
	int nkinds;
	struct nt_cbs_bin bins[NT_CB_MAX_BINARIES];
	int nbins;
};

extern const char *const nt_cbs_role_func[NT_CB_ROLES];

/* The bin of target T, analysed once per executable. Returns its index, or
 * -1 (more than NT_CB_MAX_BINARIES, or out of memory). */
int nt_cbs_bin_of(struct nt_cbs *s, const struct nt_target *t);
/* The name of kind ID ("TCPWRAP", "TIMERWRAP", "?" for a kind by caller). */
const char *nt_cbs_kind_name(const struct nt_cbs *s, unsigned int id);
/* The kind id of NAME, or -1. */
int nt_cbs_kind_id(const struct nt_cbs *s, const char *name);
/* The id of NAME, numbered now if new (NT_CB_KIND_UNKNOWN when full). */
int nt_cbs_intern_kind(struct nt_cbs *s, const char *name);
/* Fill the maps the probes read: per binary facts (BINS_FD) and provider
 * kinds (KIND_FD). Returns 0 or -errno. */
int nt_cbs_fill_maps(struct nt_cbs *s, int bins_fd, int kind_fd);
/* The probe specs for binary BI: entry (ENTER) and return (RET) on each
 * role's function that exists there, with COOKIES (role | BI << 8) and
 * ROLES; arrays of 2 * NT_CB_ROLES. Returns how many. */
int nt_cbs_specs(const struct nt_cbs *s, int bi, struct bpf_program *enter,
		 struct bpf_program *ret, struct nt_probe_spec *specs, uint64_t *cookies,
		 int *roles);
void nt_cbs_free(struct nt_cbs *s);

#endif
