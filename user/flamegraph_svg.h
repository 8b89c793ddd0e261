/* flamegraph_svg: a profile drawn as an SVG flame graph, by nodetap itself
 * (no FlameGraph scripts needed), each frame as wide as its share of the
 * samples, children in name order. The root is at the top (an "icicle"
 * graph, as DevTools and speedscope draw them): node's stacks are 50-100
 * frames deep, and the wide frames are what one looks at first. Opened in a browser
 * it is interactive (a small embedded script): hovering shows the name and
 * the share, a click zooms into a frame, Ctrl-F or "Search" highlights
 * frames matching a regular expression and shows their share. */
#ifndef NODETAP_FLAMEGRAPH_SVG_H
#define NODETAP_FLAMEGRAPH_SVG_H

#include <stdio.h>
#include "stackprof.h"

/* Write P to F with TITLE (escaped here). Returns 0 or -errno. */
int nt_flamegraph_svg_write(FILE *f, const struct nt_profile *p, const char *title);
/* The same as an <svg class="flamegraph"> element inside an HTML page (the
 * --html report): no XML prolog, its style scoped to that class, no Ctrl-F
 * taken from the page. Only one per page (its script finds its frames and
 * controls by id). */
int nt_flamegraph_svg_write_inline(FILE *f, const struct nt_profile *p, const char *title);

#endif
