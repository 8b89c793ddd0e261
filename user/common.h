/* common: what every BPF-loading subcommand does the same way: the root
 * check, libbpf's messages, the process filter, and the loss report. */
#ifndef NODETAP_COMMON_H
#define NODETAP_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <bpf/libbpf.h>
#include "options.h"
#include "session.h"
#include "symbolize.h"
#include "mapsnap.h"

/* Checks that we may load BPF and routes libbpf's messages (warnings only,
 * or all with -v). Returns 0 or NT_EXIT_RUNTIME after saying why. */
int nt_bpf_setup(const struct nt_opts *o);

/* Tests only: NODETAP_TEST_MAP_ENTRIES="map=N[,map=N...]" sets the size
 * of the named maps of OBJ before it is loaded, so that a test can fill a
 * map for real with a handful of events (dns_stats=8) or make a ring buffer
 * small enough to overflow (events=4096: a power of 2 times the page size).
 * A name that OBJ lacks is skipped (one variable serves every object of
 * monitor); a malformed entry or a size libbpf refuses is an error.
 * Returns 0 or NT_EXIT_USAGE after saying what is wrong. */
int nt_test_map_sizes(const struct nt_opts *o, struct bpf_object *obj);

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

/* A ring-buffer record announcing a new (pid, stack): note the process in
 * SYM while it is alive. Returns true if DATA was such a record. */
bool nt_note_new_stack(struct nt_symbolizer *sym, const void *data, size_t len);

/* Read the counters of MAP (keys of KSZ, values of VSZ bytes) into SNAP; in
 * interval mode, as the difference from *PREV (see mapsnap.h). Returns 0,
 * or NT_EXIT_RUNTIME after saying what failed. */
int nt_read_counters(const struct nt_opts *o, struct bpf_map *map, size_t ksz, size_t vsz,
		     struct nt_snap *snap, struct nt_snap *prev,
		     void (*sub)(void *val, const void *prev_val));

/* The "report" record that ends each JSON report: when, the time covered
 * (since LAST_REPORT_NS), whether it is the last, and COUNT_KEY: COUNT. */
void nt_json_report_end(uint64_t last_report_ns, bool final, const char *count_key,
			unsigned long long count);

/* The name of loss counter I (enum nt_loss), as the "losses" record and the
 * metrics have it. */
const char *nt_loss_name(int i);

/* The loss counters (enum nt_loss) and the symbolizer's unnamed frames:
 * "lost: none" or what was lost, on stderr; a "losses" record with --json. */

void nt_report_losses(const struct nt_opts *o, const unsigned long long *losses,
		      struct nt_symbolizer *sym);
/* The same on OUT (profile --folded keeps stdout for the stacks). */
void nt_report_losses_to(FILE *out, const struct nt_opts *o, const unsigned long long *losses,
			 struct nt_symbolizer *sym);

#endif
