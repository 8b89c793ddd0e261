/* heatmap_out: the --heatmap options and their output (see heatmap_out.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "heatmap_html.h"
#include "heatmap_out.h"
#include "heatmap_svg.h"
#include "nodetap.h"
#include "session.h"

/* "1", "0.5", "2.25": seconds, at most millisecond precision. */
static int parse_seconds(const char *s, uint64_t *ns)
{
	char *end;
	double v;

	if (!*s || !strchr("0123456789.", *s))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !(v >= 0.01 && v <= 3600))
		return -1;
	*ns = (uint64_t)(v * 1e3 + 0.5) * 1000000ULL;
	return 0;
}

int nt_hm_out_opt(struct nt_hm_out *h, const char *cmd, int key, const char *arg)
{
	h->cmd = cmd;
	if (key == NT_HM_OPT_HTML) {
		if (!*arg)
			return nt_usage_error(cmd, "--html: give a file name (report.html)");
		h->html = arg;
		return 0;
	}
	if (key == NT_HM_OPT_HEATMAP) {
		if (!*arg)
			return nt_usage_error(cmd, "--heatmap: give a file name (FILE.svg) or - for the terminal");
		h->path = arg;
		return 0;
	}
	if (parse_seconds(arg, &h->column_ns))
		return nt_usage_error(cmd, "--heatmap-column '%s': not a number of seconds "
				      "(0.01 to 3600, e.g. 1 or 0.5)", arg);
	return 0;
}

int nt_hm_out_check(struct nt_hm_out *h, const struct nt_opts *o)
{
	if (!nt_hm_out_on(h)) {
		if (h->column_ns)
			return nt_usage_error(o->cmd, "--heatmap-column needs --heatmap FILE.svg|- or --html FILE");
		return 0;
	}
	if (!h->column_ns)
		h->column_ns = 1000000000ULL;
	if (h->path && !strcmp(h->path, "-") && (o->json || o->events))
		return nt_usage_error(o->cmd, "--heatmap - draws on stdout: it excludes %s "
				      "(write the heatmap to a file instead: --heatmap FILE.svg)",
				      o->json ? "--json" : "--events");
	return 0;
}

static bool to_terminal(const struct nt_hm_out *h)
{
	return h->path && !strcmp(h->path, "-");
}

/* The map in memory: for an SVG file, an HTML report, or both. */
static bool keeps_map(const struct nt_hm_out *h)
{
	return (h->path && !to_terminal(h)) || h->html;
}

int nt_hm_out_start(struct nt_hm_out *h, const char *what, uint64_t start_ns,
		    const unsigned long long *losses)
{
	if (!nt_hm_out_on(h))
		return 0;
	h->what = what;
	h->losses = losses;
	h->started = true;
	if (to_terminal(h)) {
		const char *nc = getenv("NO_COLOR");
		bool colour = isatty(STDOUT_FILENO) && !(nc && *nc);
		static char title[96];

		snprintf(title, sizeof(title), "nodetap %s: %s", h->cmd, what);
		nt_hmt_init(&h->term, stdout, colour, title, start_ns, h->column_ns);
	}
	if (h->html && nt_hme_init(&h->events, NT_HME_DEFAULT_MAX)) {
		fprintf(stderr, "nodetap %s: --html: out of memory\n", h->cmd);
		return NT_EXIT_RUNTIME;
	}
	if (keeps_map(h)) {
		if (nt_hm_init(&h->map, start_ns, h->column_ns, NT_HM_DEFAULT_COLUMNS)) {
			fprintf(stderr, "nodetap %s: --heatmap: bad column width\n", h->cmd);
			return NT_EXIT_RUNTIME;
		}
		/* Say now, not after the whole run, that a file cannot be
		 * written: an empty map goes there first. */
		if (nt_hm_out_report(h, false))
			return NT_EXIT_RUNTIME;
	}
	return 0;
}

void nt_hm_out_stacks(struct nt_hm_out *h, struct nt_symbolizer *sym, int stacks_fd,
		      const char *hint)
{
	h->sym = sym;
	h->stacks_fd = stacks_fd;
	h->stacks_hint = hint;
}

static void add(struct nt_hm_out *h, uint64_t end_ns, uint64_t latency_ns, uint32_t pid,
		uint32_t tid, const char *label, size_t label_len, const char *status,
		const struct nt_hme_stack *st)
{
	if (!h->started)
		return;
	if (to_terminal(h))
		nt_hmt_add(&h->term, end_ns, latency_ns);
	if (keeps_map(h) && nt_hm_add(&h->map, end_ns, latency_ns))
		h->not_counted++;
	if (h->html)
		nt_hme_add(&h->events, end_ns, latency_ns, pid, tid, label, label_len, status,
			   h->sym ? st : NULL);
}

void nt_hm_out_add_stack(struct nt_hm_out *h, uint64_t end_ns, uint64_t latency_ns,
			 uint32_t pid, uint32_t tid, const char *label, size_t label_len,
			 const char *status, const char *comm, int stack_id)
{
	struct nt_hme_stack st = { h->sym, h->stacks_fd, stack_id, comm, NULL, 0 };

	add(h, end_ns, latency_ns, pid, tid, label, label_len, status, &st);
}

void nt_hm_out_add_ips(struct nt_hm_out *h, uint64_t end_ns, uint64_t latency_ns, uint32_t pid,
		       uint32_t tid, const char *label, size_t label_len, const char *status,
		       const char *comm, const unsigned long long *ips, int n)
{
	struct nt_hme_stack st = { h->sym, -1, -1, comm, ips, n };

	add(h, end_ns, latency_ns, pid, tid, label, label_len, status, &st);
}

void nt_hm_out_add(struct nt_hm_out *h, uint64_t end_ns, uint64_t latency_ns, uint32_t pid,
		   uint32_t tid, const char *label, size_t label_len, const char *status)
{
	nt_hm_out_add_stack(h, end_ns, latency_ns, pid, tid, label, label_len, status, NULL, -1);
}

void nt_hm_out_tick(void *ctx)
{
	struct nt_hm_out *h = ctx;

	if (h->started && to_terminal(h))
		nt_hmt_tick(&h->term, nt_now_ns());
}

int nt_hm_out_report(struct nt_hm_out *h, bool final)
{
	struct nt_hm_svg_info info;

	if (!h->started)
		return 0;
	if (to_terminal(h) && final)
		nt_hmt_finish(&h->term, nt_now_ns());
	if (!keeps_map(h))
		return 0;
	/* Quiet time up to now is part of the picture. */
	if (nt_hm_extend(&h->map, nt_now_ns()))
		h->not_counted++;
	info = (struct nt_hm_svg_info){
		.subcommand = h->cmd,
		.what = h->what,
		.ringbuf_drops = h->losses ? h->losses[NT_LOSS_RINGBUF] : 0,
		.not_counted = h->not_counted,
		.stacks_hint = h->stacks_hint,
	};
	if (h->path && !to_terminal(h)) {
		if (nt_hm_svg_save(&h->map, &info, h->path))
			return NT_EXIT_RUNTIME;
		if (final)
			fprintf(stderr, "nodetap %s: heat map of %llu events (%u columns of %.3g s) "
				"written to %s\n", h->cmd, (unsigned long long)h->map.events,
				h->map.ncolumns, (double)h->map.column_ns / 1e9, h->path);
	}
	if (h->html) {
		nt_hme_rename_jit(&h->events, h->sym);
		if (nt_hm_html_save(&h->map, &info, &h->events, h->html))
			return NT_EXIT_RUNTIME;
		if (final)
			fprintf(stderr, "nodetap %s: HTML report of %llu events (%zu listed) written to %s\n",
				h->cmd, (unsigned long long)h->map.events, h->events.n, h->html);
	}
	return 0;
}

void nt_hm_out_free(struct nt_hm_out *h)
{
	nt_hm_free(&h->map);
	nt_hme_free(&h->events);
}
