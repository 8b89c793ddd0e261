/* heatmap: latencies over time, as one histogram per time column (the data
 * behind a latency heat map in the manner of Brendan Gregg's): time runs in
 * columns of a fixed width from a start on CLOCK_MONOTONIC, latency in
 * log-linear rows, a cell counts the events that ended in that column with
 * a latency in that row.
 *
 * Rows: 8 linear rows per power of two of microseconds (HDR-style), so that
 * each row is at most 1/8 of its lower bound wide: 1 ms and 2 ms land three
 * octaves' worth of rows apart, 50 ms and 60 ms two rows apart. Rows 0-7 are
 * 0-7 us one by one; the last row also takes everything above it.
 *
 * Memory is bounded: at most max_columns columns of NT_HM_ROWS 32-bit counts
 * each. When a run outgrows them, adjacent columns are merged in pairs and
 * the column width doubles, so the whole run stays on the map at a coarser
 * time resolution; nothing is dropped. */
#ifndef NODETAP_HEATMAP_H
#define NODETAP_HEATMAP_H

#include <stdint.h>

#define NT_HM_SUB_BITS 3                       /* 8 rows per octave */
#define NT_HM_SUB (1u << NT_HM_SUB_BITS)
#define NT_HM_MAX_OCTAVE 36                    /* 2^36 us: 19 hours */
#define NT_HM_ROWS (NT_HM_SUB + (NT_HM_MAX_OCTAVE - NT_HM_SUB_BITS + 1) * NT_HM_SUB)
#define NT_HM_DEFAULT_COLUMNS 1024

struct nt_heatmap {
	uint64_t start_ns;        /* CLOCK_MONOTONIC start of column 0 */
	uint64_t column_ns;       /* width of a column; doubles on a merge */
	unsigned max_columns;     /* memory bound: columns kept at most */
	unsigned ncolumns;        /* columns in use: 0 .. the last with an event */
	unsigned capacity;        /* columns allocated (grows up to max_columns) */
	unsigned merges;          /* how often columns were merged in pairs */
	uint32_t *counts;         /* capacity x NT_HM_ROWS, column-major */
	uint64_t events;          /* every event added */
	uint64_t saturated;       /* adds to a cell already at UINT32_MAX */
	uint64_t early;           /* events that ended before start_ns (column 0) */
};

/* The row of a latency of NS nanoseconds. */
unsigned nt_hm_row(uint64_t ns);
/* Bounds of row R in nanoseconds: [low, high). */
uint64_t nt_hm_row_low_ns(unsigned r);
uint64_t nt_hm_row_high_ns(unsigned r);

/* Set up an empty heatmap. COLUMN_NS > 0, MAX_COLUMNS >= 2. Returns 0 or
 * -ENOMEM. */
int nt_hm_init(struct nt_heatmap *h, uint64_t start_ns, uint64_t column_ns,
	       unsigned max_columns);
void nt_hm_free(struct nt_heatmap *h);

/* Count one event that ended at END_NS (CLOCK_MONOTONIC) after LATENCY_NS.
 * Returns 0 or -ENOMEM (the event is then not counted; the caller reports
 * it). */
int nt_hm_add(struct nt_heatmap *h, uint64_t end_ns, uint64_t latency_ns);

/* Extend the map to cover time NOW_NS with (possibly empty) columns, so that
 * quiet time shows as quiet. Returns 0 or -ENOMEM. */
int nt_hm_extend(struct nt_heatmap *h, uint64_t now_ns);

/* The count of cell (column C, row R); 0 outside the map. */
uint32_t nt_hm_cell(const struct nt_heatmap *h, unsigned c, unsigned r);

/* Bytes of memory one column takes. */
static inline unsigned long nt_hm_column_bytes(void)
{
	return NT_HM_ROWS * sizeof(uint32_t);
}

#endif
