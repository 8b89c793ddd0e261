/* heatmap_svg: draw a heatmap (heatmap.h) as a standalone SVG file, time
 * across, latency up, colour = count, in the manner of Brendan Gregg's
 * latency heat maps. Hovering a cell shows its time range, latency range
 * and count (an SVG <title>). The cells are also embedded as JSON in
 * <script type="application/json" id="nodetap-heatmap-data"> so that tests
 * and tools read the numbers instead of the picture (docs/heatmap.md). */
#ifndef NODETAP_HEATMAP_SVG_H
#define NODETAP_HEATMAP_SVG_H

#include <stdbool.h>
#include <stdio.h>
#include "heatmap.h"

struct nt_hm_svg_info {
	const char *subcommand;   /* "dns" */
	const char *what;         /* "dns.lookup latency": our own literal */
	uint64_t ringbuf_drops;   /* events lost before they reached the map */
	uint64_t not_counted;     /* events the map could not take (no memory) */
	bool inline_svg;          /* inside an HTML page: no XML prolog */
	const char *stacks_hint;  /* --html: how to get stacks (our own text), or NULL */
};

/* Write the SVG document to F. Returns 0 or -EIO. */
int nt_hm_svg_write(const struct nt_heatmap *h, const struct nt_hm_svg_info *info, FILE *f);

/* Write it to PATH through a temporary file renamed over PATH, so that a
 * reader never sees half a file. Returns 0, or -errno after printing why
 * (prefixed "nodetap CMD:"). */
int nt_hm_svg_save(const struct nt_heatmap *h, const struct nt_hm_svg_info *info,
		   const char *path);

/* "512 us", "4.1 ms", "1.05 s": a latency for labels. */
void nt_hm_fmt_latency(uint64_t ns, char *buf, size_t len);

#endif
