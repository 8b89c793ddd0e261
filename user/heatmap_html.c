/* heatmap_html: the --html report (see heatmap_html.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "atomicfile.h"
#include "escape.h"
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
"#note{color:#555;font-size:12px}\n"
"</style>\n";

/* The page's script: click a cell, list its events. Data in, DOM out by
 * textContent and createElement only. */
static const char script[] =
"<script>\n"
"(function () {\n"
"  'use strict';\n"
"  var data = JSON.parse(document.getElementById('nodetap-events').textContent);\n"
"  var map = JSON.parse(document.getElementById('nodetap-heatmap-data').textContent);\n"
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
"      (data.not_kept ? ' (nodetap kept the first ' + data.max + ' events of the run)' : '');\n"
"    var table = document.createElement('table');\n"
"    table.id = 'cell-table';\n"
"    var head = document.createElement('tr');\n"
"    ['time (s)', 'latency (ms)', 'pid', 'tid', data.label_name, 'status'].forEach(function (h, i) {\n"
"      head.appendChild(cell('th', h, i >= 4 ? 'l' : ''));\n"
"    });\n"
"    table.appendChild(head);\n"
"    list.slice(0, 1000).forEach(function (e) {\n"
"      var tr = document.createElement('tr');\n"
"      tr.appendChild(cell('td', (e[2] / 1e9).toFixed(6)));\n"
"      tr.appendChild(cell('td', ms(e[3])));\n"
"      tr.appendChild(cell('td', String(e[4])));\n"
"      tr.appendChild(cell('td', String(e[5])));\n"
"      tr.appendChild(cell('td', data.labels[e[6]], 'l'));\n"
"      tr.appendChild(cell('td', data.labels[e[7]], 'l'));\n"
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

/* Count, average and maximum per label, from the kept events. */
static void per_label(const struct nt_hm_events *ev, const char *label_name, FILE *f)
{
	struct { uint64_t n, total, max; } *s = calloc(NT_HME_MAX_LABELS, sizeof(*s));

	if (!s)
		return;
	for (size_t i = 0; i < ev->n; i++) {
		s[ev->ev[i].label].n++;
		s[ev->ev[i].label].total += ev->ev[i].latency_ns;
		if (ev->ev[i].latency_ns > s[ev->ev[i].label].max)
			s[ev->ev[i].label].max = ev->ev[i].latency_ns;
	}
	fprintf(f, "<h2>By %s</h2>\n<table id=\"labels\"><tr><th class=\"l\">%s</th><th>count</th>"
		"<th>avg ms</th><th>max ms</th></tr>\n", label_name, label_name);
	for (unsigned l = 0; l < ev->nlabels; l++) {
		if (!s[l].n)
			continue;
		fputs("<tr><td class=\"l\">", f);
		put_html(f, ev->labels[l]); /* escape.h text: HTML-escape it too */
		fprintf(f, "</td><td>%llu</td><td>%.3f</td><td>%.3f</td></tr>\n",
			(unsigned long long)s[l].n, (double)s[l].total / (double)s[l].n / 1e6,
			(double)s[l].max / 1e6);
	}
	fputs("</table>\n", f);
	free(s);
}

static void events_json(const struct nt_heatmap *h, const struct nt_hm_events *ev,
			const char *label_name, FILE *f)
{
	fputs("<script type=\"application/json\" id=\"nodetap-events\">\n{\"label_name\":", f);
	put_js_str(f, label_name);
	fprintf(f, ",\"max\":%zu,\"not_kept\":%llu,\"labels\":[", ev->max,
		(unsigned long long)ev->not_kept);
	for (unsigned l = 0; l < ev->nlabels; l++) {
		if (l)
			fputc(',', f);
		put_js_str(f, ev->labels[l]);
	}
	/* [column, row, end time since the map's start, latency, pid, tid,
	 * label, status]: column and row as the map has them now. */
	fputs("],\n\"events\":[", f);
	for (size_t i = 0; i < ev->n; i++) {
		const struct nt_hm_ev *e = &ev->ev[i];
		uint64_t t = e->end_ns > h->start_ns ? e->end_ns - h->start_ns : 0;

		fprintf(f, "%s[%llu,%u,%llu,%llu,%u,%u,%u,%u]", i ? ",\n" : "",
			(unsigned long long)(t / h->column_ns), nt_hm_row(e->latency_ns),
			(unsigned long long)t, (unsigned long long)e->latency_ns, e->pid, e->tid,
			e->label, e->status);
	}
	fputs("]}\n</script>\n", f);
}

int nt_hm_html_write(const struct nt_heatmap *h, const struct nt_hm_svg_info *info,
		     const struct nt_hm_events *ev, FILE *f)
{
	struct nt_hm_svg_info in = *info;
	const char *label_name = strcmp(info->subcommand, "connect") ? "host" : "destination";

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
		fprintf(f, " (the first %zu of the run; %llu more are in the map only)", ev->max,
			(unsigned long long)ev->not_kept);
	fputs(". Click a cell to list its events.</p>\n<div id=\"heatmap\">\n", f);
	if (nt_hm_svg_write(h, &in, f))
		return -EIO;
	fputs("</div>\n<h2 id=\"cell-title\">Events in a cell</h2>\n<div id=\"cell-events\">"
	      "Click a cell of the heat map.</div>\n", f);
	histogram(h, f);
	per_label(ev, label_name, f);
	events_json(h, ev, label_name, f);
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
