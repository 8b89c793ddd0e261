/* heatmap_term: a latency heat map drawn live in the terminal. Time runs
 * down, one line per time column, printed as soon as the column has ended;
 * latency runs right, 4 cells per power of two from 32 us to 2.1 s (faster
 * and slower events go to the first and last cell). A cell's shade says how
 * many events it holds, on a log2 scale that stays the same for the whole
 * run: ANSI 256-colour backgrounds from yellow to dark red on a terminal,
 * the characters " .:-=+*#%@" (0, 1, 2-3, 4-7, ... 256 and more) when the
 * output is not a terminal or NO_COLOR is set. Every line ends with the
 * column's total. */
#ifndef NODETAP_HEATMAP_TERM_H
#define NODETAP_HEATMAP_TERM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define NT_HMT_FIRST_OCTAVE 5    /* 2^5 us = 32 us */
#define NT_HMT_OCTAVES 16        /* up to 2^21 us = 2.1 s */
#define NT_HMT_PER_OCTAVE 4
#define NT_HMT_CELLS (NT_HMT_OCTAVES * NT_HMT_PER_OCTAVE)
/* A column is printed this long after its end: events reach nodetap through
 * the ring buffer, which is read at least every 100 ms. */
#define NT_HMT_GRACE_NS 300000000ULL

struct nt_hm_term {
	FILE *f;
	bool colour;
	const char *title;        /* our own literal: "nodetap dns: dns.lookup latency" */
	uint64_t start_ns, column_ns;
	uint64_t column;          /* the column being collected */
	uint32_t cells[NT_HMT_CELLS];
	uint64_t total;           /* events in this column */
	uint64_t events, late;    /* all events; those whose line was out already */
	bool header_done;
};

/* The cell of a latency of NS nanoseconds. */
unsigned nt_hmt_cell(uint64_t ns);
/* The shade of COUNT: 0 for none, 1 for one, 2 for 2-3 ... 9 for 256+. */
unsigned nt_hmt_level(uint64_t count);

void nt_hmt_init(struct nt_hm_term *t, FILE *f, bool colour, const char *title,
		 uint64_t start_ns, uint64_t column_ns);
/* Count an event that ended at END_NS; prints the columns before it that
 * were still open. */
void nt_hmt_add(struct nt_hm_term *t, uint64_t end_ns, uint64_t latency_ns);
/* Print every column that ended at least NT_HMT_GRACE_NS before NOW_NS. */
void nt_hmt_tick(struct nt_hm_term *t, uint64_t now_ns);
/* Print the open column (cut at NOW_NS) and a closing line. */
void nt_hmt_finish(struct nt_hm_term *t, uint64_t now_ns);

#endif
