/* heatmap_svg: a heatmap as SVG with its data embedded (see heatmap_svg.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "atomicfile.h"
#include "escape.h"
#include "heatmap_svg.h"

#define LEFT 86
#define TOP 56
#define BOTTOM 58
#define RIGHT 110

void nt_hm_fmt_latency(uint64_t ns, char *buf, size_t len)
{
	if (ns == UINT64_MAX)
		snprintf(buf, len, "inf");
	else if (ns < 1000000)
		snprintf(buf, len, "%.0f us", (double)ns / 1e3);
	else if (ns < 10000000)
		snprintf(buf, len, "%.2f ms", (double)ns / 1e6);
	else if (ns < 1000000000)
		snprintf(buf, len, "%.1f ms", (double)ns / 1e6);
	else
		snprintf(buf, len, "%.2f s", (double)ns / 1e9);
}

/* Seconds since the start, for labels: "12 s", "0.5 s". */
static void fmt_secs(uint64_t ns, char *buf, size_t len)
{
	double s = (double)ns / 1e9;

	if (ns % 1000000000ULL == 0)
		snprintf(buf, len, "%.0f s", s);
	else
		snprintf(buf, len, "%.3g s", s);
}

/* Light yellow for one event to dark red for the fullest cell, linear in the
 * count as in Gregg's heat maps; the lightest shade stays visible on white. */
static void cell_colour(uint32_t count, uint32_t max, char *buf, size_t len)
{
	double t = max > 1 ? (double)(count - 1) / (double)(max - 1) : 1.0;
	int r = (int)(255 - 75 * t), g = (int)(225 - 205 * t), b = (int)(140 - 140 * t);

	snprintf(buf, len, "#%02x%02x%02x", r, g, b);
}

/* Our own strings only reach the SVG, but escape them for XML anyway. */
static void put_xml(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* A JSON string whose characters cannot close the <script> element. */
static void put_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch == '<' || ch == '>' || ch == '&')
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

/* The rows to draw: whole octaves around the rows with events. */
static void row_range(const struct nt_heatmap *h, unsigned *lo, unsigned *hi, uint32_t *max)
{
	unsigned a = NT_HM_ROWS, b = 0;

	*max = 0;
	for (unsigned c = 0; c < h->ncolumns; c++)
		for (unsigned r = 0; r < NT_HM_ROWS; r++) {
			uint32_t n = nt_hm_cell(h, c, r);

			if (!n)
				continue;
			if (r < a)
				a = r;
			if (r > b)
				b = r;
			if (n > *max)
				*max = n;
		}
	if (a > b) { /* no events: show 1 ms - 8 ms of nothing */
		a = nt_hm_row(1000000);
		b = nt_hm_row(8000000);
	}
	if (a >= NT_HM_SUB)
		a -= (a - NT_HM_SUB) % NT_HM_SUB;
	else
		a = 0;
	if (b >= NT_HM_SUB)
		b += NT_HM_SUB - 1 - (b - NT_HM_SUB) % NT_HM_SUB;
	else
		b = NT_HM_SUB - 1;
	if (b >= NT_HM_ROWS)
		b = NT_HM_ROWS - 1;
	*lo = a;
	*hi = b;
}

static void write_data(const struct nt_heatmap *h, const struct nt_hm_svg_info *info,
		       unsigned lo, unsigned hi, uint32_t max, FILE *f)
{
	bool first = true;

	fputs("<script type=\"application/json\" id=\"nodetap-heatmap-data\">\n{\"format\":"
	      "\"nodetap-heatmap\",\"version\":1,\"subcommand\":", f);
	put_json_str(f, info->subcommand);
	fputs(",\"what\":", f);
	put_json_str(f, info->what);
	fprintf(f, ",\"clock\":\"CLOCK_MONOTONIC\",\"start_ns\":%llu,\"column_ns\":%llu,"
		"\"columns\":%u,\"merges\":%u,\"events\":%llu,\"max_count\":%u,"
		"\"ringbuf_drops\":%llu,\"not_counted\":%llu,\"saturated\":%llu,\"rows\":[",
		(unsigned long long)h->start_ns, (unsigned long long)h->column_ns, h->ncolumns,
		h->merges, (unsigned long long)h->events, max,
		(unsigned long long)info->ringbuf_drops, (unsigned long long)info->not_counted,
		(unsigned long long)h->saturated);
	for (unsigned r = lo; r <= hi; r++) {
		uint64_t high = nt_hm_row_high_ns(r);

		fprintf(f, "%s\n{\"row\":%u,\"low_ns\":%llu,\"high_ns\":", r == lo ? "" : ",", r,
			(unsigned long long)nt_hm_row_low_ns(r));
		if (high == UINT64_MAX)
			fputs("null}", f);
		else
			fprintf(f, "%llu}", (unsigned long long)high);
	}
	fputs("],\n\"cells\":[", f);
	for (unsigned c = 0; c < h->ncolumns; c++)
		for (unsigned r = lo; r <= hi; r++) {
			uint32_t n = nt_hm_cell(h, c, r);

			if (!n)
				continue;
			fprintf(f, "%s[%u,%u,%u]", first ? "" : ",", c, r, n);
			first = false;
		}
	fputs("]}\n</script>\n", f);
}

int nt_hm_svg_write(const struct nt_heatmap *h, const struct nt_hm_svg_info *info, FILE *f)
{
	unsigned lo, hi, ncols = h->ncolumns ? h->ncolumns : 1, nrows, cw, ch, w, ht, step;
	uint32_t max;
	char buf[64], buf2[64], col[16];

	row_range(h, &lo, &hi, &max);
	nrows = hi - lo + 1;
	cw = 960 / ncols;
	cw = cw < 2 ? 2 : cw > 60 ? 60 : cw;
	ch = 480 / nrows;
	ch = ch < 3 ? 3 : ch > 14 ? 14 : ch;
	w = LEFT + ncols * cw + RIGHT;
	if (w < 640)
		w = 640; /* room for the title lines */
	ht = TOP + nrows * ch + BOTTOM;

	if (!info->inline_svg)
		fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\" height=\"%u\" "
		"viewBox=\"0 0 %u %u\" font-family=\"sans-serif\" font-size=\"11\">\n", w, ht, w, ht);
	write_data(h, info, lo, hi, max, f);
	fprintf(f, "<rect width=\"%u\" height=\"%u\" fill=\"#ffffff\"/>\n", w, ht);
	fputs("<text x=\"8\" y=\"20\" font-size=\"15\">nodetap ", f);
	put_xml(f, info->subcommand);
	fputs(": ", f);
	put_xml(f, info->what);
	fputs(" heat map</text>\n", f);
	fmt_secs(h->column_ns, buf, sizeof(buf));
	fprintf(f, "<text x=\"8\" y=\"38\" fill=\"#555\">%llu events; a column is %s, 8 rows per "
		"power of two; colour = count (max %u in a cell); hover a cell",
		(unsigned long long)h->events, buf, max);
	if (info->ringbuf_drops || info->not_counted)
		fprintf(f, "; LOST: %llu", (unsigned long long)(info->ringbuf_drops + info->not_counted));
	fputs("</text>\n", f);
	/* The plot area's frame, then the cells: high latency at the top. */
	fprintf(f, "<rect x=\"%u\" y=\"%u\" width=\"%u\" height=\"%u\" fill=\"#fbfbfb\" "
		"stroke=\"#999\"/>\n<g id=\"cells\">\n", LEFT, TOP, ncols * cw, nrows * ch);
	for (unsigned c = 0; c < h->ncolumns; c++)
		for (unsigned r = lo; r <= hi; r++) {
			uint32_t n = nt_hm_cell(h, c, r);

			if (!n)
				continue;
			cell_colour(n, max, col, sizeof(col));
			nt_hm_fmt_latency(nt_hm_row_low_ns(r), buf, sizeof(buf));
			nt_hm_fmt_latency(nt_hm_row_high_ns(r), buf2, sizeof(buf2));
			fprintf(f, "<rect x=\"%u\" y=\"%u\" width=\"%u\" height=\"%u\" fill=\"%s\" "
				"class=\"cell\" data-c=\"%u\" data-r=\"%u\" data-n=\"%u\">"
				"<title>%.3f-%.3f s, %s - %s: %u</title></rect>\n",
				LEFT + c * cw, TOP + (hi - r) * ch, cw, ch, col, c, r, n,
				(double)c * (double)h->column_ns / 1e9,
				(double)(c + 1) * (double)h->column_ns / 1e9, buf, buf2, n);
		}
	fputs("</g>\n<g id=\"axes\" fill=\"#333\">\n", f);
	/* Latency axis: a label at the bottom of every octave. */
	for (unsigned r = lo; r <= hi + 1 && r <= NT_HM_ROWS; r++) {
		if (r >= NT_HM_SUB && (r - NT_HM_SUB) % NT_HM_SUB)
			continue;
		if (r < NT_HM_SUB && r != lo)
			continue;
		nt_hm_fmt_latency(nt_hm_row_low_ns(r < NT_HM_ROWS ? r : NT_HM_ROWS - 1), buf, sizeof(buf));
		fprintf(f, "<text x=\"%u\" y=\"%u\" text-anchor=\"end\">%s</text>"
			"<line x1=\"%u\" x2=\"%u\" y1=\"%u\" y2=\"%u\" stroke=\"#999\"/>\n",
			LEFT - 6, TOP + (hi + 1 - r) * ch + 4, buf, LEFT - 4, LEFT,
			TOP + (hi + 1 - r) * ch, TOP + (hi + 1 - r) * ch);
	}
	fprintf(f, "<text transform=\"translate(14,%u) rotate(-90)\" text-anchor=\"middle\">"
		"latency</text>\n", TOP + nrows * ch / 2);
	/* Time axis: labels at least 60 px apart. */
	step = (60 + cw - 1) / cw;
	for (unsigned c = 0; c <= ncols; c += step) {
		fmt_secs((uint64_t)c * h->column_ns, buf, sizeof(buf));
		fprintf(f, "<text x=\"%u\" y=\"%u\" text-anchor=\"middle\">%s</text>"
			"<line x1=\"%u\" x2=\"%u\" y1=\"%u\" y2=\"%u\" stroke=\"#999\"/>\n",
			LEFT + c * cw, TOP + nrows * ch + 16, buf, LEFT + c * cw, LEFT + c * cw,
			TOP + nrows * ch, TOP + nrows * ch + 4);
	}
	fprintf(f, "<text x=\"%u\" y=\"%u\">time since tracing began (an event is in the column "
		"of the moment it ended)</text>\n", LEFT, TOP + nrows * ch + 36);
	/* Colour key. */
	for (unsigned i = 0; i < 10; i++) {
		uint32_t n = max > 1 ? 1 + (uint32_t)((uint64_t)(max - 1) * i / 9) : 1;

		cell_colour(n, max ? max : 1, col, sizeof(col));
		fprintf(f, "<rect x=\"%u\" y=\"%u\" width=\"14\" height=\"12\" fill=\"%s\"/>\n",
			LEFT + ncols * cw + 16, TOP + (9 - i) * 12, col);
	}
	fprintf(f, "<text x=\"%u\" y=\"%u\">%u</text><text x=\"%u\" y=\"%u\">1</text>\n",
		LEFT + ncols * cw + 34, TOP + 10, max, LEFT + ncols * cw + 34, TOP + 118);
	fputs("</g>\n</svg>\n", f);
	return ferror(f) ? -EIO : 0;
}

struct svg_job {
	const struct nt_heatmap *h;
	const struct nt_hm_svg_info *info;
};

static int svg_writer(FILE *f, void *ctx)
{
	const struct svg_job *j = ctx;

	return nt_hm_svg_write(j->h, j->info, f);
}

int nt_hm_svg_save(const struct nt_heatmap *h, const struct nt_hm_svg_info *info,
		   const char *path)
{
	struct svg_job j = { h, info };
	int err = nt_write_file_atomic(path, svg_writer, &j);

	if (err) {
		fprintf(stderr, "nodetap %s: cannot write the heat map to ", info->subcommand);
		nt_fputs_escaped(stderr, path, 4096);
		fprintf(stderr, ": %s\n", strerror(-err));
	}
	return err;
}
