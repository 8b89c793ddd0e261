/* heatmap_out: --heatmap FILE.svg|-, --heatmap-column SECONDS and --html
 * FILE for any subcommand that measures a latency per event. A subcommand adds
 * NT_HM_LONG_OPTS to its options, hands the keys to nt_hm_out_opt, checks
 * the combination with nt_hm_out_check, and then feeds every event to
 * nt_hm_out_add; nt_hm_out_tick runs on the session's tick (the terminal
 * draws each column as it ends) and nt_hm_out_report at each report (the
 * SVG file is rewritten then, so it is current after every interval). */
#ifndef NODETAP_HEATMAP_OUT_H
#define NODETAP_HEATMAP_OUT_H

#include <stdbool.h>
#include <stdint.h>
#include "heatmap.h"
#include "heatmap_events.h"
#include "heatmap_term.h"
#include "options.h"

#define NT_HM_OPT_HEATMAP 4100
#define NT_HM_OPT_COLUMN 4101
#define NT_HM_OPT_HTML 4102

#define NT_HM_LONG_OPTS \
	{ "heatmap", required_argument, NULL, NT_HM_OPT_HEATMAP }, \
	{ "heatmap-column", required_argument, NULL, NT_HM_OPT_COLUMN }, \
	{ "html", required_argument, NULL, NT_HM_OPT_HTML }

#define NT_HM_HELP \
"      --heatmap FILE.svg   also draw a latency heat map of every event (time x\n" \
"                           latency, colour = count; hover a cell for its numbers),\n" \
"                           written when tracing ends and at every interval report\n" \
"      --heatmap -          draw it live in the terminal instead: a line per time\n" \
"                           column (plain characters when stdout is no terminal or\n" \
"                           NO_COLOR is set); excludes --json and --events\n" \
"      --heatmap-column SECONDS  width of a time column (default 1; 0.01 to 3600)\n" \
"      --html FILE          one self-contained HTML report: the heat map, the latency\n" \
"                           histogram, top tables, a flame graph of the events'\n" \
"                           stacks; click a cell to list its events with their\n" \
"                           stacks (the first 100000 of the run are listed)\n"

struct nt_hm_out {
	const char *path;          /* --heatmap: NULL, FILE.svg or "-" (the terminal) */
	const char *html;          /* --html FILE, or NULL */
	uint64_t column_ns;
	const char *cmd, *what;
	const unsigned long long *losses;  /* the BPF object's nt_losses, or NULL */
	bool started;
	struct nt_heatmap map;     /* --heatmap FILE.svg */
	struct nt_hm_term term;    /* --heatmap - */
	struct nt_hm_events events; /* --html: the events behind the cells */
	uint64_t not_counted;      /* events the map had no memory for */
	struct nt_symbolizer *sym; /* names the events' stacks (nt_hm_out_stacks) */
	int stacks_fd;             /* the BPF stack map they are in */
	const char *stacks_hint;   /* why events may have no stack, for the page */
};

static inline bool nt_hm_out_is_opt(int key)
{
	return key == NT_HM_OPT_HEATMAP || key == NT_HM_OPT_COLUMN || key == NT_HM_OPT_HTML;
}

static inline bool nt_hm_out_on(const struct nt_hm_out *h)
{
	return h->path != NULL || h->html != NULL;
}

/* Handle one of NT_HM_LONG_OPTS for subcommand CMD. Returns 0 or
 * NT_EXIT_USAGE after saying why. */
int nt_hm_out_opt(struct nt_hm_out *h, const char *cmd, int key, const char *arg);
/* After option parsing: the combination makes sense. Returns 0 or
 * NT_EXIT_USAGE after saying why. */
int nt_hm_out_check(struct nt_hm_out *h, const struct nt_opts *o);
/* Start the map at START_NS (CLOCK_MONOTONIC). WHAT names the latency
 * ("dns.lookup latency"); LOSSES is read when the map is written, for its
 * ring-buffer drops. Returns 0 or NT_EXIT_RUNTIME after saying why. */
int nt_hm_out_start(struct nt_hm_out *h, const char *what, uint64_t start_ns,
		    const unsigned long long *losses);
/* One event: it ended at END_NS after LATENCY_NS. For --html also who (PID,
 * TID), what (LABEL of at most LABEL_LEN bytes, from the traced process:
 * escaped here) and how it ended (STATUS, our own text). */
void nt_hm_out_add(struct nt_hm_out *h, uint64_t end_ns, uint64_t latency_ns, uint32_t pid,
		   uint32_t tid, const char *label, size_t label_len, const char *status);
/* --html lists each event with its stack: the user stacks of the events
 * are in the BPF stack map STACKS_FD, named by SYM. HINT (our own text)
 * says on the page how to get stacks where events have none ("run with
 * --stacks"), or NULL. Call before nt_hm_out_start. */
void nt_hm_out_stacks(struct nt_hm_out *h, struct nt_symbolizer *sym, int stacks_fd,
		      const char *hint);
/* Does the output keep stacks (--html)? A subcommand takes them in the
 * kernel only then. */
static inline bool nt_hm_out_wants_stacks(const struct nt_hm_out *h)
{
	return h->html != NULL;
}
/* nt_hm_out_add with the event's user stack STACK_ID (< 0: none) and the
 * process's name COMM (raw, at most 16 bytes). */
void nt_hm_out_add_stack(struct nt_hm_out *h, uint64_t end_ns, uint64_t latency_ns,
			 uint32_t pid, uint32_t tid, const char *label, size_t label_len,
			 const char *status, const char *comm, int stack_id);
/* The same with the event's own user frames IPS (N, innermost first; 0:
 * none), for records that carry them instead of a stack id. */
void nt_hm_out_add_ips(struct nt_hm_out *h, uint64_t end_ns, uint64_t latency_ns, uint32_t pid,
		       uint32_t tid, const char *label, size_t label_len, const char *status,
		       const char *comm, const unsigned long long *ips, int n);
/* For nt_session.tick: CTX is the struct nt_hm_out. */
void nt_hm_out_tick(void *ctx);
/* At a report: rewrite the SVG; on the FINAL one, close the terminal map.
 * Returns 0 or NT_EXIT_RUNTIME after saying why. */
int nt_hm_out_report(struct nt_hm_out *h, bool final);
void nt_hm_out_free(struct nt_hm_out *h);

#endif
