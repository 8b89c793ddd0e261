/* flamegraph_svg: see flamegraph_svg.h.
 *
 * Every frame is a <g class="f"> holding a <title> (the name, samples and
 * percent: what a browser shows on hover), a <rect> and a <text>. The
 * script keeps each rect's original x and width (data attributes, as
 * fractions of the whole) to zoom, and cuts each text to its rect. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "escape.h"
#include "flamegraph_svg.h"

#define WIDTH 1200
#define PAD 10
#define FRAME_H 16
#define TOP 60          /* title, search and zoom controls */
#define MIN_W 0.1       /* frames narrower than this many pixels are left out */

/* The escaped name, XML-quoted: it goes in text, titles and attributes. */
static void put_xml(FILE *f, const char *raw)
{
	char buf[4096 * 4 + 1];

	nt_escape(raw, strlen(raw), buf, sizeof(buf));
	for (const char *p = buf; *p; p++) {
		switch (*p) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default: fputc(*p, f);
		}
	}
}

static unsigned name_hash(const char *s)
{
	unsigned h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* Colours by kind, varied a little by name so that neighbours differ:
 * the application's JavaScript green, other JavaScript (node's, the
 * dependencies') aqua, native code warm, the kernel orange-brown,
 * interpreted, [jit] and missing frames grey-violet. */
static void colour(const struct nt_pframe *fr, char *out, size_t len)
{
	unsigned v = name_hash(fr->label) % 55;

	switch (fr->kind) {
	case NT_PF_JS:
		if (fr->app)
			snprintf(out, len, "rgb(%u,%u,%u)", 50 + v, 180 + v / 2, 60 + v / 2);
		else
			snprintf(out, len, "rgb(%u,%u,%u)", 70 + v, 190 + v / 2, 190 + v / 2);
		break;
	case NT_PF_KERNEL:
		snprintf(out, len, "rgb(%u,%u,%u)", 200 + v / 2, 140 + v, 60);
		break;
	case NT_PF_NATIVE:
	case NT_PF_UNNAMED:
		snprintf(out, len, "rgb(%u,%u,%u)", 200 + v, 80 + v, 50 + v / 2);
		break;
	case NT_PF_PROCESS:
		snprintf(out, len, "rgb(%u,%u,%u)", 180 + v, 180 + v, 180 + v);
		break;
	default:
		snprintf(out, len, "rgb(%u,%u,%u)", 150 + v, 140 + v, 190 + v / 2);
		break;
	}
}

static const char script[] =
"<script type=\"text/ecmascript\"><![CDATA[\n"
"'use strict';\n"
"var svg, frames, details, matched, zoomed = null;\n"
"function init() {\n"
"  svg = document.getElementById('reset').ownerSVGElement;\n"
"  frames = Array.prototype.slice.call(svg.querySelectorAll('g.f'));\n"
"  details = document.getElementById('details');\n"
"  matched = document.getElementById('matched');\n"
"  frames.forEach(function (g) {\n"
"    g.addEventListener('click', function () { zoom(g); });\n"
"    g.addEventListener('mouseover', function () { details.textContent = g.querySelector('title').textContent; });\n"
"    g.addEventListener('mouseout', function () { details.textContent = ' '; });\n"
"  });\n"
"  document.getElementById('reset').addEventListener('click', function () { zoom(null); });\n"
"  document.getElementById('search').addEventListener('click', function () { search(); });\n"
"  window.addEventListener('keydown', function (e) {\n"
"    if (!INLINE && (e.ctrlKey || e.metaKey) && e.key === 'f') { e.preventDefault(); search(); }\n"
"    if (e.key === 'Escape') { zoom(null); clearSearch(); }\n"
"  });\n"
"  layout(0, 1, Infinity);\n"
"}\n"
"function num(g, k) { return parseFloat(g.getAttribute('data-' + k)); }\n"
"/* Show frames inside [x0, x0+w0) at depths from d0 up, stretched to the\n"
"   full width; frames below d0 (the zoomed frame's callers) dimmed. */\n"
"function layout(x0, w0, d0) {\n"
"  var full = W - 2 * PAD;\n"
"  frames.forEach(function (g) {\n"
"    var x = num(g, 'x'), w = num(g, 'w'), d = num(g, 'd');\n"
"    var r = g.querySelector('rect'), t = g.querySelector('text');\n"
"    var inside = x >= x0 - 1e-12 && x + w <= x0 + w0 + 1e-12;\n"
"    var below = d < d0 && x <= x0 + 1e-12 && x + w >= x0 + w0 - 1e-12;\n"
"    if (!inside && !below) { g.style.display = 'none'; return; }\n"
"    var nx = below ? 0 : (x - x0) / w0, nw = below ? 1 : w / w0;\n"
"    var px = PAD + nx * full, pw = nw * full;\n"
"    if (pw < 0.1) { g.style.display = 'none'; return; }\n"
"    g.style.display = '';\n"
"    g.style.opacity = below && d0 !== Infinity ? '0.6' : '';\n"
"    r.setAttribute('x', px.toFixed(2)); r.setAttribute('width', pw.toFixed(2));\n"
"    t.setAttribute('x', (px + 3).toFixed(2));\n"
"    var name = g.getAttribute('data-n'), fit = Math.floor((pw - 6) / 7);\n"
"    t.textContent = fit < 3 ? '' : name.length <= fit ? name : name.substring(0, fit - 2) + '..';\n"
"  });\n"
"}\n"
"function zoom(g) {\n"
"  zoomed = g;\n"
"  if (!g) { layout(0, 1, Infinity); return; }\n"
"  layout(num(g, 'x'), num(g, 'w'), num(g, 'd'));\n"
"}\n"
"function clearSearch() {\n"
"  frames.forEach(function (g) { var r = g.querySelector('rect'); r.setAttribute('fill', r.getAttribute('data-fill')); });\n"
"  matched.textContent = ' ';\n"
"}\n"
"function search() {\n"
"  var term = window.prompt('Search frames (regular expression):', '');\n"
"  if (term === null) return;\n"
"  clearSearch();\n"
"  if (term === '') return;\n"
"  var re;\n"
"  try { re = new RegExp(term); } catch (e) { matched.textContent = 'bad expression: ' + e.message; return; }\n"
"  /* The share of samples under matching frames, each counted once:\n"
"     intervals of x that are not inside one already counted. */\n"
"  var spans = [];\n"
"  frames.forEach(function (g) {\n"
"    if (!re.test(g.getAttribute('data-n'))) return;\n"
"    g.querySelector('rect').setAttribute('fill', 'rgb(230,0,230)');\n"
"    spans.push([num(g, 'x'), num(g, 'x') + num(g, 'w')]);\n"
"  });\n"
"  spans.sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; });\n"
"  var sum = 0, end = -1;\n"
"  spans.forEach(function (s) { if (s[0] >= end - 1e-12) { sum += s[1] - s[0]; end = s[1]; } });\n"
"  matched.textContent = 'Matched: ' + (100 * sum).toFixed(1) + '%';\n"
"}\n"
"]]></script>\n";

struct ctx {
	const char *unit;   /* of the counts; NULL: samples */
	FILE *f;
	const struct nt_ptree *t;
	double total;
	int maxdepth;
	int height;
};

static int label_cmp(const void *pa, const void *pb)
{
	const struct nt_pnode *a = *(const struct nt_pnode *const *)pa;
	const struct nt_pnode *b = *(const struct nt_pnode *const *)pb;

	return strcmp(a->frame->label, b->frame->label);
}

static int depth_of(const struct nt_ptree *t, size_t i)
{
	int d = 0, best = 0;

	for (size_t c = t->nodes[i].first_child; c; c = t->nodes[c].next_sibling) {
		d = 1 + depth_of(t, c);
		if (d > best)
			best = d;
	}
	return best;
}

/* Draw node I at depth D (0: a process) starting at fraction X. */
static int draw(struct ctx *c, size_t i, int d, double x)
{
	const struct nt_pnode *n = &c->t->nodes[i];
	const struct nt_pnode **kids;
	double w = (double)n->total / c->total;
	double px = PAD + x * (WIDTH - 2 * PAD), pw = w * (WIDTH - 2 * PAD);
	int y = TOP + FRAME_H * d, nk = 0, fit;
	char fill[32];
	size_t k;

	if (pw < MIN_W)
		return 0;
	colour(n->frame, fill, sizeof(fill));
	fprintf(c->f, "<g class=\"f\" data-x=\"%.9f\" data-w=\"%.9f\" data-d=\"%d\" data-n=\"", x, w, d);
	put_xml(c->f, n->frame->label);
	fprintf(c->f, "\"><title>");
	put_xml(c->f, n->frame->label);
	if (c->unit)
		fprintf(c->f, " (%llu %s, %.2f%%)</title>", (unsigned long long)n->total, c->unit, 100.0 * w);
	else
		fprintf(c->f, " (%llu sample%s, %.2f%%)</title>", (unsigned long long)n->total,
			n->total == 1 ? "" : "s", 100.0 * w);
	fprintf(c->f, "<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"%s\" "
		"data-fill=\"%s\" rx=\"2\" ry=\"2\"/>", px, y, pw, FRAME_H - 1, fill, fill);
	fprintf(c->f, "<text x=\"%.2f\" y=\"%d\">", px + 3, y + FRAME_H - 5);
	/* The name cut to the frame (7 px a character), as the script does. */
	fit = (int)((pw - 6) / 7);
	if (fit >= 3) {
		const char *l = n->frame->label;
		size_t len = strlen(l);
		char buf[4096];

		if ((int)len <= fit) {
			put_xml(c->f, l);
		} else {
			snprintf(buf, sizeof(buf), "%.*s..", fit - 2, l);
			put_xml(c->f, buf);
		}
	}
	fprintf(c->f, "</text></g>\n");
	for (k = n->first_child; k; k = c->t->nodes[k].next_sibling)
		nk++;
	if (!nk)
		return 0;
	kids = malloc((size_t)nk * sizeof(*kids));
	if (!kids)
		return -ENOMEM;
	nk = 0;
	for (k = n->first_child; k; k = c->t->nodes[k].next_sibling)
		kids[nk++] = &c->t->nodes[k];
	qsort(kids, (size_t)nk, sizeof(*kids), label_cmp);
	for (int j = 0; j < nk; j++) {
		int err = draw(c, (size_t)(kids[j] - c->t->nodes), d + 1, x);

		if (err) {
			free(kids);
			return err;
		}
		x += (double)kids[j]->total / c->total;
	}
	free(kids);
	return 0;
}

static int write_svg(FILE *f, const struct nt_profile *p, const char *title, bool inline_svg)
{
	struct nt_ptree t;
	struct ctx c = { .f = f, .unit = p->unit };
	const struct nt_pnode **procs = NULL;
	int np = 0, err;
	double x = 0;

	if ((err = nt_ptree_build(p, &t)))
		return err;
	c.t = &t;
	c.total = t.nodes[0].total ? (double)t.nodes[0].total : 1;
	c.maxdepth = depth_of(&t, 0);
	c.height = TOP + FRAME_H * (c.maxdepth ? c.maxdepth : 1) + 10;
	/* Inline, the style would apply to the whole page: scope it. */
	const char *sc = inline_svg ? "svg.flamegraph " : "";

	if (!inline_svg)
		fputs("<?xml version=\"1.0\" standalone=\"no\"?>\n", f);
	fprintf(f, "<svg version=\"1.1\"%s width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		"onload=\"init()\" xmlns=\"http://www.w3.org/2000/svg\">\n",
		inline_svg ? " class=\"flamegraph\"" : "", WIDTH, c.height, WIDTH, c.height);
	fprintf(f, "<style>%stext { font-family: Verdana, sans-serif; font-size: 12px; fill: #000; } "
		"%sg.f text { pointer-events: none; } %sg.f:hover rect { stroke: #000; stroke-width: 0.5; } "
		"%s#search, %s#reset { cursor: pointer; } %s.h { font-size: 17px; }</style>\n",
		sc, sc, sc, sc, sc, sc);
	fprintf(f, "<script type=\"text/ecmascript\"><![CDATA[ var W = %d, PAD = %d, INLINE = %s; ]]></script>\n",
		WIDTH, PAD, inline_svg ? "true" : "false");
	fputs(script, f);
	fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#f8f8f0\"/>\n", WIDTH, c.height);
	fprintf(f, "<text class=\"h\" x=\"%d\" y=\"24\" text-anchor=\"middle\">", WIDTH / 2);
	put_xml(f, title);
	fprintf(f, "</text>\n<text x=\"%d\" y=\"24\" id=\"reset\">Reset zoom</text>\n", PAD);
	fprintf(f, "<text x=\"%d\" y=\"24\" id=\"search\" text-anchor=\"end\">Search</text>\n", WIDTH - PAD);
	fprintf(f, "<text x=\"%d\" y=\"44\" id=\"details\"> </text>\n", PAD);
	fprintf(f, "<text x=\"%d\" y=\"44\" id=\"matched\" text-anchor=\"end\"> </text>\n", WIDTH - PAD);
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%llu %s</text>\n", WIDTH / 2 + 300, 44,
		(unsigned long long)t.nodes[0].total, p->unit ? p->unit : "samples");
	for (size_t k = t.nodes[0].first_child; k; k = t.nodes[k].next_sibling)
		np++;
	procs = malloc((size_t)(np ? np : 1) * sizeof(*procs));
	if (!procs) {
		nt_ptree_free(&t);
		return -ENOMEM;
	}
	np = 0;
	for (size_t k = t.nodes[0].first_child; k; k = t.nodes[k].next_sibling)
		procs[np++] = &t.nodes[k];
	qsort(procs, (size_t)np, sizeof(*procs), label_cmp);
	for (int j = 0; j < np && !err; j++) {
		err = draw(&c, (size_t)(procs[j] - t.nodes), 0, x);
		x += (double)procs[j]->total / c.total;
	}
	fprintf(f, "</svg>\n");
	free(procs);
	nt_ptree_free(&t);
	if (!err && fflush(f))
		err = -errno;
	return err;
}

int nt_flamegraph_svg_write(FILE *f, const struct nt_profile *p, const char *title)
{
	return write_svg(f, p, title, false);
}

int nt_flamegraph_svg_write_inline(FILE *f, const struct nt_profile *p, const char *title)
{
	return write_svg(f, p, title, true);
}
