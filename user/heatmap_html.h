/* heatmap_html: one self-contained HTML report (--html FILE): the heat map
 * (the SVG of heatmap_svg.h, inline), the latency histogram of the whole run,
 * a table per label (hostname, destination), and the events behind each
 * cell: a click on a cell lists them (time, latency, pid, tid, label,
 * status). No external file, script or font: it opens offline. The events
 * are embedded as JSON in <script type="application/json"
 * id="nodetap-events">; the page's own script only reads them and builds the
 * list with textContent, so nothing from the traced process becomes markup. */
#ifndef NODETAP_HEATMAP_HTML_H
#define NODETAP_HEATMAP_HTML_H

#include <stdio.h>
#include "heatmap.h"
#include "heatmap_events.h"
#include "heatmap_svg.h"

int nt_hm_html_write(const struct nt_heatmap *h, const struct nt_hm_svg_info *info,
		     const struct nt_hm_events *ev, FILE *f);
/* Through a temporary file renamed over PATH. Returns 0, or -errno after
 * printing why. */
int nt_hm_html_save(const struct nt_heatmap *h, const struct nt_hm_svg_info *info,
		    const struct nt_hm_events *ev, const char *path);

#endif
