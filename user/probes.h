/* probes: place uprobes on functions of node (or of the libuv it maps), for
 * every target, and keep a record of what was placed and what was not, with
 * the reason. A probe that cannot be placed never stops the others. */
#ifndef NODETAP_PROBES_H
#define NODETAP_PROBES_H

#include <stdbool.h>
#include <stdint.h>
#include <bpf/libbpf.h>
#include "targets.h"
#include "json.h"

struct nt_elf;

struct nt_probe_spec {
	const char *func;            /* pattern for nt_elf_find_func */
	struct bpf_program *prog;
	bool retprobe;
	bool in_libuv;               /* may live in a shared libuv.so instead */
	/* Where the symbol is missing (a stripped library), another way to
	 * find the function: 0 and its file offset, or -ENOENT and why. */
	int (*locate)(const char *path, const struct nt_elf *e, uint64_t *offset,
		      char *why, size_t len);
};

struct nt_probe_result {
	const char *func;
	char *file;                  /* where it was placed, or looked for */
	pid_t pid;                   /* -1: every process running the file */
	uint64_t offset;
	int err;                     /* 0 placed, else -errno */
	char reason[256];            /* why not placed */
	bool implicit;               /* on a target nodetap found by itself */
};

struct nt_probes {
	struct bpf_link **links;
	int nlinks;
	struct nt_probe_result *res;
	int nres;
	int placed, failed;
};

/* Place every spec on every target. Returns the number placed. */
int nt_probes_place(struct nt_probes *p, const struct nt_probe_spec *specs, int nspecs,
		    const struct nt_targets *targets);
/* The same, with COOKIES[i] as the BPF attach cookie of SPECS[i]'s probes
 * (bpf_get_attach_cookie); COOKIES may be NULL (all 0). */
int nt_probes_place_cookies(struct nt_probes *p, const struct nt_probe_spec *specs,
			    const uint64_t *cookies, int nspecs, const struct nt_targets *targets);
/* Tell the user what was placed (stderr, or JSON "probe" records with
 * --json, all of them). In text, failures on targets the user named are
 * always shown; successes, and failures on targets nodetap found by itself
 * (any program COMMAND runs, say), with VERBOSE. */
void nt_probes_report(const struct nt_probes *p, const char *cmd, bool json, bool verbose);
void nt_probes_destroy(struct nt_probes *p);

#endif
