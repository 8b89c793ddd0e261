/* common: what every BPF-loading subcommand does the same way: the root
 * check, libbpf's messages, the process filter, and the loss report. */
#ifndef NODETAP_COMMON_H
#define NODETAP_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <bpf/libbpf.h>
#include "options.h"
#include "session.h"
#include "symbolize.h"

/* Checks that we may load BPF and routes libbpf's messages (warnings only,
 * or all with -v). Returns 0 or NT_EXIT_RUNTIME after saying why. */
int nt_bpf_setup(const struct nt_opts *o);

/* Fill the traced_pids map from -p, or start `-- COMMAND` held at its gate
 * and put its pid there. FORK_PROG is the object's nt_fork program, attached
 * for COMMAND so that its children are traced too; *link gets its link.
 * Returns 0 or an exit status. */
int nt_setup_filter(struct nt_session *s, const struct nt_opts *o,
		    struct bpf_map *traced_pids, struct bpf_program *fork_prog,
		    struct bpf_link **link);

/* A symbolizer that reports its problems (a perf map refused, an ELF file
 * that cannot be read) on stderr as "nodetap CMD: warning: ...", escaped. */
struct nt_symbolizer *nt_symbolizer_for(const struct nt_opts *o);

/* The loss counters (enum nt_loss) and the symbolizer's unnamed frames:
 * "lost: none" or what was lost, on stderr; a "losses" record with --json. */
void nt_report_losses(const struct nt_opts *o, const unsigned long long *losses,
		      struct nt_symbolizer *sym);

#endif
