/* heatmap_term: a live terminal heat map (see heatmap_term.h). */
#include <string.h>
#include "heatmap_term.h"

static const char plain_shades[] = " .:-=+*#%@";
/* xterm 256-colour palette, yellow to dark red: levels 1..9. */
static const int colour_shades[10] = { 0, 226, 220, 214, 208, 202, 196, 160, 124, 88 };

unsigned nt_hmt_cell(uint64_t ns)
{
	uint64_t us = ns / 1000;
	unsigned e;

	if (us < (1ULL << NT_HMT_FIRST_OCTAVE))
		return 0;
	e = 63u - (unsigned)__builtin_clzll(us);
	if (e >= NT_HMT_FIRST_OCTAVE + NT_HMT_OCTAVES)
		return NT_HMT_CELLS - 1;
	return (e - NT_HMT_FIRST_OCTAVE) * NT_HMT_PER_OCTAVE +
	       (unsigned)((us >> (e - 2)) & (NT_HMT_PER_OCTAVE - 1));
}

unsigned nt_hmt_level(uint64_t count)
{
	unsigned l = 0;

	while (count && l < 9) {
		count >>= 1;
		l++;
	}
	return l;
}

void nt_hmt_init(struct nt_hm_term *t, FILE *f, bool colour, const char *title,
		 uint64_t start_ns, uint64_t column_ns)
{
	memset(t, 0, sizeof(*t));
	t->f = f;
	t->colour = colour;
	t->title = title;
	t->start_ns = start_ns;
	t->column_ns = column_ns;
}

/* Labels every 3 octaves (12 cells), at the low edge of their cell. */
static void header(struct nt_hm_term *t)
{
	static const char *const labels[] = { "32us", "256us", "2.0ms", "16ms", "131ms", "1.05s" };
	char axis[NT_HMT_CELLS + 8], ticks[NT_HMT_CELLS + 8];

	memset(axis, ' ', sizeof(axis));
	memset(ticks, ' ', sizeof(ticks));
	for (unsigned i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
		size_t at = i * 3 * NT_HMT_PER_OCTAVE, n = strlen(labels[i]);

		memcpy(axis + at, labels[i], n);
		ticks[at] = '|';
	}
	axis[NT_HMT_CELLS + 6] = ticks[NT_HMT_CELLS] = 0; /* the last label may stick out */
	fprintf(t->f, "%s heat map: a line per %.3g s column, latency to the right "
		"(4 cells per power of two), %s\n", t->title, (double)t->column_ns / 1e9,
		t->colour ? "yellow (1) to dark red (256+) per cell" :
		"events per cell ' .:-=+*#%@' = 0 1 2+ 4+ 8+ 16+ 32+ 64+ 128+ 256+");
	fprintf(t->f, "%8s %s\n%8s %s| COUNT\n", "", axis, "TIME(s)", ticks);
	t->header_done = true;
}

static void print_column(struct nt_hm_term *t)
{
	unsigned shown = 0; /* the background set now: 0 = the terminal's own */

	if (!t->header_done)
		header(t);
	fprintf(t->f, "%8.1f|", (double)(t->column * t->column_ns) / 1e9);
	for (unsigned i = 0; i < NT_HMT_CELLS; i++) {
		unsigned l = nt_hmt_level(t->cells[i]);

		if (!t->colour) {
			fputc(plain_shades[l], t->f);
			continue;
		}
		if (l != shown) {
			if (l)
				fprintf(t->f, "\033[48;5;%dm", colour_shades[l]);
			else
				fputs("\033[0m", t->f);
			shown = l;
		}
		fputc(' ', t->f);
	}
	fprintf(t->f, "%s| %llu\n", shown ? "\033[0m" : "", (unsigned long long)t->total);
	fflush(t->f);
	memset(t->cells, 0, sizeof(t->cells));
	t->total = 0;
	t->column++;
}

static uint64_t column_of(const struct nt_hm_term *t, uint64_t ns)
{
	return ns > t->start_ns ? (ns - t->start_ns) / t->column_ns : 0;
}

void nt_hmt_add(struct nt_hm_term *t, uint64_t end_ns, uint64_t latency_ns)
{
	uint64_t c = column_of(t, end_ns);

	t->events++;
	if (c < t->column) {
		t->late++;
		return;
	}
	while (t->column < c)
		print_column(t);
	if (t->cells[nt_hmt_cell(latency_ns)] < UINT32_MAX)
		t->cells[nt_hmt_cell(latency_ns)]++;
	t->total++;
}

void nt_hmt_tick(struct nt_hm_term *t, uint64_t now_ns)
{
	if (now_ns < t->start_ns + NT_HMT_GRACE_NS)
		return;
	while (column_of(t, now_ns - NT_HMT_GRACE_NS) > t->column)
		print_column(t);
}

void nt_hmt_finish(struct nt_hm_term *t, uint64_t now_ns)
{
	nt_hmt_tick(t, now_ns);
	while (column_of(t, now_ns) >= t->column)
		print_column(t);
	fprintf(t->f, "%llu event%s", (unsigned long long)t->events, t->events == 1 ? "" : "s");
	if (t->late)
		fprintf(t->f, ", %llu of them after their column's line was printed (not drawn)",
			(unsigned long long)t->late);
	fputs("\n", t->f);
	fflush(t->f);
}
