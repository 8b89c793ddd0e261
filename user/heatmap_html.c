/* heatmap_html: the --html report (see heatmap_html.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "atomicfile.h"
#include "escape.h"
#include "flamegraph_svg.h"
#include "heatmap_html.h"

/* A JSON string that cannot end the <script> element it sits in: the text
 * was escaped by escape.h already (no control bytes); quote '"' and '\', and
 * write <, >, & as \u escapes. */
static void put_js_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if (*s == '<' || *s == '>' || *s == '&' || (unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/* Text for HTML elements: our own strings only, escaped anyway. */
static void put_html(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		default: fputc(*s, f);
		}
	}
}

static const char style[] =
"<style>\n"
"body{font-family:sans-serif;margin:16px;color:#222}\n"
"h1{font-size:20px}h2{font-size:16px;margin-top:24px}\n"
"table{border-collapse:collapse;font-size:12px}\n"
"td,th{padding:2px 8px;text-align:right;border-bottom:1px solid #eee}\n"
"td.l,th.l{text-align:left}\n"
".bar{background:#e8743b;height:10px;display:inline-block}\n"
"rect.cell{cursor:pointer}rect.cell.sel{stroke:#000;stroke-width:2}\n"
"#note,#functions-note{color:#555;font-size:12px}\n"
"ol.stack{margin:2px 0;padding-left:24px;font-family:monospace;font-size:11px}\n"
"ol.stack li.app{color:#060;font-weight:bold}\n"
"summary{cursor:pointer;font-family:monospace;font-size:11px}\n"
".grid{display:flex;flex-wrap:wrap;gap:32px}\n"
"</style>\n";

/* The page's script: click a cell, list its events. Data in, DOM out by
 * textContent and createElement only. */
static const char script[] =
"<script>\n"
"(function () {\n"
"  'use strict';\n"
"  var data = JSON.parse(document.getElementById('nodetap-events').textContent);\n"
"  var map = JSON.parse(document.getElementById('nodetap-heatmap-data').textContent);\n"
"  var SHOWN = 1000; /* rows a click shows: a page stays responsive */\n"
"  var byCell = new Map();\n"
"  data.events.forEach(function (e) {\n"
"    var k = e[0] + ',' + e[1];\n"
"    if (!byCell.has(k)) byCell.set(k, []);\n"
"    byCell.get(k).push(e);\n"
"  });\n"
"  var out = document.getElementById('cell-events');\n"
"  var title = document.getElementById('cell-title');\n"
"  function ms(ns) { return (ns / 1e6).toFixed(3); }\n"
"  function cell(tag, text, cls) {\n"
"    var el = document.createElement(tag);\n"
"    el.textContent = text;\n"
"    if (cls) el.className = cls;\n"
"    return el;\n"
"  }\n"
"  /* An event's stack: its own function (the innermost frame of the\n"
"     application's JavaScript, else the innermost frame) in view, every\n"
"     frame, innermost first, one click away. */\n"
"  function stackCell(id) {\n"
"    var td = document.createElement('td');\n"
"    td.className = 'l';\n"
"    if (id < 0) {\n"
"      td.textContent = id === -2 ? '(not kept: more distinct stacks than nodetap keeps)' :\n"
"        '(none' + (data.stacks_hint ? ': ' + data.stacks_hint : '') + ')';\n"
"      return td;\n"
"    }\n"
"    var st = data.stacks[id], frames = st[2];\n"
"    var det = document.createElement('details'), sum = document.createElement('summary');\n"
"    var top = frames.length ? data.frames[frames[st[1]]] : ['(empty stack)', ''];\n"
"    sum.textContent = top[0] + ' [' + top[1] + ']' + (frames.length > 1 ? ' +' + (frames.length - 1) + ' frames' : '');\n"
"    det.appendChild(sum);\n"
"    var ol = document.createElement('ol');\n"
"    ol.className = 'stack';\n"
"    frames.forEach(function (f) {\n"
"      var fr = data.frames[f];\n"
"      ol.appendChild(cell('li', fr[0] + ' [' + fr[1] + ']', fr[2] ? 'app' : ''));\n"
"    });\n"
"    det.appendChild(ol);\n"
"    td.appendChild(det);\n"
"    return td;\n"
"  }\n"
"  function show(rect) {\n"
"    document.querySelectorAll('rect.cell.sel').forEach(function (r) { r.classList.remove('sel'); });\n"
"    rect.classList.add('sel');\n"
"    var c = rect.getAttribute('data-c'), r = rect.getAttribute('data-r');\n"
"    var list = byCell.get(c + ',' + r) || [];\n"
"    var t0 = Number(c) * map.column_ns / 1e9;\n"
"    var row = map.rows.filter(function (x) { return String(x.row) === r; })[0];\n"
"    title.textContent = 'Events in ' + t0.toFixed(3) + '-' + (t0 + map.column_ns / 1e9).toFixed(3) +\n"
"      ' s, ' + ms(row.low_ns) + '-' + (row.high_ns === null ? 'inf' : ms(row.high_ns)) + ' ms: ' +\n"
"      rect.getAttribute('data-n') + ' in the map, ' + list.length + ' listed' +\n"
"      (list.length > SHOWN ? ' (the first ' + SHOWN + ' shown)' : '') +\n"
"      (data.not_kept ? ' (nodetap kept the first ' + data.max + ' events of the run)' : '');\n"
"    var table = document.createElement('table');\n"
"    table.id = 'cell-table';\n"
"    var head = document.createElement('tr');\n"
"    ['time (s)', 'latency (ms)', 'pid', 'tid', data.label_name, 'status', 'stack'].forEach(function (h, i) {\n"
"      head.appendChild(cell('th', h, i >= 4 ? 'l' : ''));\n"
"    });\n"
"    table.appendChild(head);\n"
"    list.slice(0, SHOWN).forEach(function (e) {\n"
"      var tr = document.createElement('tr');\n"
"      tr.appendChild(cell('td', (e[2] / 1e9).toFixed(6)));\n"
"      tr.appendChild(cell('td', ms(e[3])));\n"
"      tr.appendChild(cell('td', String(e[4])));\n"
"      tr.appendChild(cell('td', String(e[5])));\n"
"      tr.appendChild(cell('td', data.labels[e[6]], 'l'));\n"
"      tr.appendChild(cell('td', data.labels[e[7]], 'l'));\n"
"      tr.appendChild(stackCell(e[8]));\n"
"      table.appendChild(tr);\n"
"    });\n"
"    out.replaceChildren(table);\n"
"  }\n"
"  document.querySelectorAll('rect.cell').forEach(function (rect) {\n"
"    rect.addEventListener('click', function () { show(rect); });\n"
"  });\n"
"})();\n"
"</script>\n";

static void histogram(const struct nt_heatmap *h, FILE *f)
{
	uint64_t sum[NT_HM_ROWS] = { 0 }, max = 0;
	int lo = -1, hi = -1;
	char a[32], b[32];

	for (unsigned c = 0; c < h->ncolumns; c++)
		for (unsigned r = 0; r < NT_HM_ROWS; r++)
			sum[r] += nt_hm_cell(h, c, r);
	for (int r = 0; r < (int)NT_HM_ROWS; r++) {
		if (!sum[r])
			continue;
		if (lo < 0)
			lo = r;
		hi = r;
		if (sum[r] > max)
			max = sum[r];
	}
	fputs("<h2>Latency histogram (the whole run)</h2>\n<table id=\"histogram\"><tr><th>from</th>"
	      "<th>to</th><th>count</th><th class=\"l\"></th></tr>\n", f);
	for (int r = lo; lo >= 0 && r <= hi; r++) {
		if (!sum[r])
			continue; /* the heat map shows the gaps; the table, the rows */
		nt_hm_fmt_latency(nt_hm_row_low_ns((unsigned)r), a, sizeof(a));
		nt_hm_fmt_latency(nt_hm_row_high_ns((unsigned)r), b, sizeof(b));
		fprintf(f, "<tr><td>%s</td><td>%s</td><td>%llu</td><td class=\"l\"><span class=\"bar\" "
			"style=\"width:%.1fpx\"></span></td></tr>\n", a, b, (unsigned long long)sum[r],
			max ? 300.0 * (double)sum[r] / (double)max : 0.0);
	}
	fputs("</table>\n", f);
}

#define TOP_ROWS 25

static const struct nt_hm_events *sort_ev;   /* for the comparators */

static int by_count(const void *pa, const void *pb)
{
	const struct nt_hm_lstat *a = &sort_ev->lstats[*(const unsigned *)pa];
	const struct nt_hm_lstat *b = &sort_ev->lstats[*(const unsigned *)pb];

	if (a->n != b->n)
		return a->n < b->n ? 1 : -1;
	return a->total_ns < b->total_ns ? 1 : a->total_ns > b->total_ns ? -1 : 0;
}

static int by_total(const void *pa, const void *pb)
{
	const struct nt_hm_lstat *a = &sort_ev->lstats[*(const unsigned *)pa];
	const struct nt_hm_lstat *b = &sort_ev->lstats[*(const unsigned *)pb];

	if (a->total_ns != b->total_ns)
		return a->total_ns < b->total_ns ? 1 : -1;
	return a->n < b->n ? 1 : a->n > b->n ? -1 : 0;
}

/* The top labels of the whole run (every event, listed or not) by count or
 * by total time: count, total, average and maximum. */
static void top_labels(const struct nt_hm_events *ev, const char *label_name, bool total,
		       FILE *f)
{
	unsigned *ix = malloc((ev->nlabels ? ev->nlabels : 1) * sizeof(*ix)), n = 0;

	if (!ix)
		return;
	for (unsigned l = 0; l < ev->nlabels; l++)
		if (ev->lstats[l].n)
			ix[n++] = l;
	sort_ev = ev;
	qsort(ix, n, sizeof(*ix), total ? by_total : by_count);
	fprintf(f, "<div><h2>Top %ss by %s</h2>\n<table id=\"%s\"><tr><th class=\"l\">",
		label_name, total ? "total time" : "count", total ? "labels-time" : "labels");
	put_html(f, label_name);
	fputs("</th><th>count</th><th>total ms</th><th>avg ms</th><th>max ms</th></tr>\n", f);
	for (unsigned i = 0; i < n && i < TOP_ROWS; i++) {
		const struct nt_hm_lstat *s = &ev->lstats[ix[i]];

		fputs("<tr><td class=\"l\">", f);
		put_html(f, ev->labels[ix[i]]); /* escape.h text: HTML-escape it too */
		fprintf(f, "</td><td>%llu</td><td>%.3f</td><td>%.3f</td><td>%.3f</td></tr>\n",
			(unsigned long long)s->n, (double)s->total_ns / 1e6,
			(double)s->total_ns / (double)s->n / 1e6, (double)s->max_ns / 1e6);
	}
	if (n > TOP_ROWS)
		fprintf(f, "<tr><td class=\"l\">(%u more)</td></tr>\n", n - TOP_ROWS);
	fputs("</table></div>\n", f);
	free(ix);
}

/* The frame that stands for stack S: the innermost of the application's
 * own JavaScript, else the innermost JavaScript, else the innermost. */
static int own_frame(const struct nt_pstack *s)
{
	int js = -1;

	for (int k = s->nframes - 1; k >= 1; k--) {
		if (s->frames[k].kind == NT_PF_JS && s->frames[k].app)
			return k;
		if (s->frames[k].kind == NT_PF_JS && js < 0)
			js = k;
	}
	return js >= 0 ? js : s->nframes - 1;
}

struct fn_row {
	const char *label;
	uint64_t n, total_ns;
};

static int fn_label_cmp(const void *pa, const void *pb)
{
	return strcmp(((const struct fn_row *)pa)->label, ((const struct fn_row *)pb)->label);
}

static int fn_total_cmp(const void *pa, const void *pb)
{
	const struct fn_row *a = pa, *b = pb;

	if (a->total_ns != b->total_ns)
		return a->total_ns < b->total_ns ? 1 : -1;
	return a->n < b->n ? 1 : a->n > b->n ? -1 : 0;
}

/* Events by the function of their stack (own_frame), by total time. */
static void top_functions(const struct nt_hm_events *ev, const char *what, FILE *f)
{
	const struct nt_profile *p = &ev->stacks;
	struct fn_row *r = calloc(p->nstacks ? p->nstacks : 1, sizeof(*r));
	size_t n = 0;

	if (!r)
		return;
	for (size_t i = 0; i < p->nstacks; i++)
		r[i] = (struct fn_row){ p->stacks[i].frames[own_frame(&p->stacks[i])].label,
					p->stacks[i].count, ev->stack_ns[i] };
	qsort(r, p->nstacks, sizeof(*r), fn_label_cmp);
	for (size_t i = 0; i < p->nstacks; i++) {
		if (n && !strcmp(r[n - 1].label, r[i].label)) {
			r[n - 1].n += r[i].n;
			r[n - 1].total_ns += r[i].total_ns;
		} else {
			r[n++] = r[i];
		}
	}
	qsort(r, n, sizeof(*r), fn_total_cmp);
	fprintf(f, "<div><h2>Top functions by total time</h2>\n<p id=\"functions-note\">The %s of each "
		"stack: the innermost frame of the application's JavaScript, else the innermost "
		"frame.</p>\n<table id=\"functions\"><tr><th class=\"l\">function</th><th>count</th>"
		"<th>total ms</th><th>avg ms</th></tr>\n", what);
	for (size_t i = 0; i < n && i < TOP_ROWS; i++) {
		char esc[4096 * 4 + 1];

		nt_escape(r[i].label, strlen(r[i].label), esc, sizeof(esc));
		fputs("<tr><td class=\"l\">", f);
		put_html(f, esc);
		fprintf(f, "</td><td>%llu</td><td>%.3f</td><td>%.3f</td></tr>\n",
			(unsigned long long)r[i].n, (double)r[i].total_ns / 1e6,
			r[i].n ? (double)r[i].total_ns / (double)r[i].n / 1e6 : 0.0);
	}
	if (n > TOP_ROWS)
		fprintf(f, "<tr><td class=\"l\">(%zu more)</td></tr>\n", n - TOP_ROWS);
	fputs("</table></div>\n", f);
	free(r);
}

static void flamegraph(const struct nt_hm_events *ev, const struct nt_hm_svg_info *info,
		       FILE *f)
{
	char title[160];

	fputs("<h2>Flame graph of the events' stacks</h2>\n<div id=\"flamegraph\">\n", f);
	if (!ev->stacks.nstacks) {
		fputs("<p>No stacks", f);
		if (info->stacks_hint) {
			fputs(": ", f);
			put_html(f, info->stacks_hint);
		}
		fputs(".</p></div>\n", f);
		return;
	}
	snprintf(title, sizeof(title), "nodetap %s: stacks of %llu events (width: events)",
		 info->subcommand, (unsigned long long)ev->stacks.total);
	if (nt_flamegraph_svg_write_inline(f, &ev->stacks, title))
		fputs("<p>(out of memory drawing the flame graph)</p>", f);
	fputs("</div>\n", f);
}

static int pframe_cmp(const void *pa, const void *pb)
{
	const struct nt_pframe *a = *(const struct nt_pframe *const *)pa;
	const struct nt_pframe *b = *(const struct nt_pframe *const *)pb;
	int r = strcmp(a->label, b->label);

	if (r)
		return r;
	if (a->kind != b->kind)
		return (int)a->kind - (int)b->kind;
	return (int)a->app - (int)b->app;
}

/* "frames": every distinct frame once, [name, kind, app]; "stacks": per
 * stack [pid, index in its frames of own_frame, [frames innermost first]].
 * Returns 0 or -ENOMEM. */
static int stacks_json(const struct nt_hm_events *ev, FILE *f)
{
	const struct nt_profile *p = &ev->stacks;
	const struct nt_pframe **all;
	size_t nall = 0, nu = 0;
	char esc[4096 * 4 + 1];

	if (nt_profile_frame_ptrs(p, &all, &nall))
		return -ENOMEM;
	qsort(all, nall, sizeof(*all), pframe_cmp);
	fputs(",\n\"frames\":[", f);
	for (size_t i = 0; i < nall; i++) {
		if (nu && !pframe_cmp(&all[nu - 1], &all[i]))
			continue;
		all[nu] = all[i];
		nt_escape(all[nu]->label, strlen(all[nu]->label), esc, sizeof(esc));
		fputs(nu ? ",\n[" : "[", f);
		put_js_str(f, esc);
		fprintf(f, ",\"%s\",%d]", nt_pframe_kind_name(all[nu]->kind), all[nu]->app);
		nu++;
	}
	fputs("],\n\"stacks\":[", f);
	for (size_t i = 0; i < p->nstacks; i++) {
		const struct nt_pstack *s = &p->stacks[i];

		fprintf(f, "%s[%d,%d,[", i ? ",\n" : "", (int)s->pid, s->nframes - 1 - own_frame(s));
		for (int j = s->nframes - 1; j >= 1; j--) {
			const struct nt_pframe *key = &s->frames[j];
			const struct nt_pframe **hit = bsearch(&key, all, nu, sizeof(*all), pframe_cmp);

			fprintf(f, "%s%ld", j == s->nframes - 1 ? "" : ",", hit ? (long)(hit - all) : 0L);
		}
		fputs("]]", f);
	}
	fputs("]", f);
	free(all);
	return 0;
}

static int events_json(const struct nt_heatmap *h, const struct nt_hm_events *ev,
		       const struct nt_hm_svg_info *info, const char *label_name, FILE *f)
{
	fputs("<script type=\"application/json\" id=\"nodetap-events\">\n{\"label_name\":", f);
	put_js_str(f, label_name);
	fputs(",\"stacks_hint\":", f);
	put_js_str(f, info->stacks_hint ? info->stacks_hint : "");
	fprintf(f, ",\"max\":%zu,\"not_kept\":%llu,\"with_stack\":%llu,\"no_stack\":%llu,"
		"\"stacks_not_kept\":%llu,\"max_stacks\":%d", ev->max, (unsigned long long)ev->not_kept,
		(unsigned long long)ev->with_stack, (unsigned long long)ev->no_stack,
		(unsigned long long)ev->stacks_not_kept, NT_HME_MAX_STACKS);
	if (stacks_json(ev, f))
		return -ENOMEM;
	fputs(",\n\"labels\":[", f);
	for (unsigned l = 0; l < ev->nlabels; l++) {
		if (l)
			fputc(',', f);
		put_js_str(f, ev->labels[l]);
	}
	/* [column, row, end time since the map's start, latency, pid, tid,
	 * label, status, stack]: column and row as the map has them now. */
	fputs("],\n\"events\":[", f);
	for (size_t i = 0; i < ev->n; i++) {
		const struct nt_hm_ev *e = &ev->ev[i];
		uint64_t t = e->end_ns > h->start_ns ? e->end_ns - h->start_ns : 0;

		fprintf(f, "%s[%llu,%u,%llu,%llu,%u,%u,%u,%u,%d]", i ? ",\n" : "",
			(unsigned long long)(t / h->column_ns), nt_hm_row(e->latency_ns),
			(unsigned long long)t, (unsigned long long)e->latency_ns, e->pid, e->tid,
			e->label, e->status, (int)e->stack);
	}
	fputs("]}\n</script>\n", f);
	return 0;
}

/* What the events' labels are, per subcommand. */
static const char *label_name_of(const char *subcommand)
{
	if (!strcmp(subcommand, "connect"))
		return "destination";
	if (!strcmp(subcommand, "callbacks"))
		return "kind";
	if (!strcmp(subcommand, "loop"))
		return "loop";
	return "host";
}

int nt_hm_html_write(const struct nt_heatmap *h, const struct nt_hm_svg_info *info,
		     const struct nt_hm_events *ev, FILE *f)
{
	struct nt_hm_svg_info in = *info;
	const char *label_name = label_name_of(info->subcommand);

	in.inline_svg = true;
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>nodetap ", f);
	put_html(f, info->subcommand);
	fputs(" report</title>\n", f);
	fputs(style, f);
	fputs("</head><body>\n<h1>nodetap ", f);
	put_html(f, info->subcommand);
	fputs(": ", f);
	put_html(f, info->what);
	fprintf(f, "</h1>\n<p id=\"note\">%llu events; columns of %.3g s from CLOCK_MONOTONIC %llu ns; "
		"lost before the map: %llu; events listed: %zu",
		(unsigned long long)h->events, (double)h->column_ns / 1e9,
		(unsigned long long)h->start_ns,
		(unsigned long long)(info->ringbuf_drops + info->not_counted), ev->n);
	if (ev->not_kept)
		fprintf(f, " (the first %zu of the run; %llu more are in the map, the tables and the "
			"flame graph only)", ev->max, (unsigned long long)ev->not_kept);
	fprintf(f, "; events with a stack: %llu, without: %llu", (unsigned long long)ev->with_stack,
		(unsigned long long)ev->no_stack);
	if (ev->no_stack && info->stacks_hint) {
		fputs(" (", f);
		put_html(f, info->stacks_hint);
		fputs(")", f);
	}
	if (ev->stacks_not_kept)
		fprintf(f, ", with a stack beyond the %d distinct stacks kept: %llu", NT_HME_MAX_STACKS,
			(unsigned long long)ev->stacks_not_kept);
	fputs(". Click a cell to list its events.</p>\n<div id=\"heatmap\">\n", f);
	if (nt_hm_svg_write(h, &in, f))
		return -EIO;
	fputs("</div>\n<h2 id=\"cell-title\">Events in a cell</h2>\n<div id=\"cell-events\">"
	      "Click a cell of the heat map.</div>\n", f);
	histogram(h, f);
	fputs("<div class=\"grid\">\n", f);
	top_labels(ev, label_name, false, f);
	top_labels(ev, label_name, true, f);
	top_functions(ev, "function", f);
	fputs("</div>\n", f);
	flamegraph(ev, info, f);
	if (events_json(h, ev, info, label_name, f))
		return -ENOMEM;
	fputs(script, f);
	fputs("</body></html>\n", f);
	return ferror(f) ? -EIO : 0;
}

struct html_job {
	const struct nt_heatmap *h;
	const struct nt_hm_svg_info *info;
	const struct nt_hm_events *ev;
};

static int html_writer(FILE *f, void *ctx)
{
	const struct html_job *j = ctx;

	return nt_hm_html_write(j->h, j->info, j->ev, f);
}

int nt_hm_html_save(const struct nt_heatmap *h, const struct nt_hm_svg_info *info,
		    const struct nt_hm_events *ev, const char *path)
{
	struct html_job j = { h, info, ev };
	int err = nt_write_file_atomic(path, html_writer, &j);

	if (err) {
		fprintf(stderr, "nodetap %s: cannot write the HTML report to ", info->subcommand);
		nt_fputs_escaped(stderr, path, 4096);
		fprintf(stderr, ": %s\n", strerror(-err));
	}
	return err;
}
