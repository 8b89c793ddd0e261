/* heatmap: one log-linear latency histogram per time column (see heatmap.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "heatmap.h"

static unsigned ilog2_u64(uint64_t v)
{
	return 63u - (unsigned)__builtin_clzll(v);
}

unsigned nt_hm_row(uint64_t ns)
{
	uint64_t us = ns / 1000;
	unsigned e, sub;

	if (us < NT_HM_SUB)
		return (unsigned)us;
	e = ilog2_u64(us);
	if (e > NT_HM_MAX_OCTAVE)
		return NT_HM_ROWS - 1;
	sub = (unsigned)(us >> (e - NT_HM_SUB_BITS)) & (NT_HM_SUB - 1);
	return NT_HM_SUB + (e - NT_HM_SUB_BITS) * NT_HM_SUB + sub;
}

/* Row R's lower bound in microseconds. */
static uint64_t row_low_us(unsigned r)
{
	unsigned e, sub;

	if (r < NT_HM_SUB)
		return r;
	e = (r - NT_HM_SUB) / NT_HM_SUB + NT_HM_SUB_BITS;
	sub = (r - NT_HM_SUB) % NT_HM_SUB;
	return (uint64_t)(NT_HM_SUB + sub) << (e - NT_HM_SUB_BITS);
}

uint64_t nt_hm_row_low_ns(unsigned r)
{
	return row_low_us(r) * 1000;
}

uint64_t nt_hm_row_high_ns(unsigned r)
{
	if (r + 1 >= NT_HM_ROWS)
		return UINT64_MAX; /* the last row takes everything above */
	return row_low_us(r + 1) * 1000;
}

int nt_hm_init(struct nt_heatmap *h, uint64_t start_ns, uint64_t column_ns,
	       unsigned max_columns)
{
	memset(h, 0, sizeof(*h));
	if (!column_ns || max_columns < 2)
		return -EINVAL;
	h->start_ns = start_ns;
	h->column_ns = column_ns;
	h->max_columns = max_columns;
	return 0;
}

void nt_hm_free(struct nt_heatmap *h)
{
	free(h->counts);
	h->counts = NULL;
	h->capacity = h->ncolumns = 0;
}

/* Halve the number of columns: column i becomes columns 2i and 2i+1. */
static void merge_pairs(struct nt_heatmap *h)
{
	unsigned n = (h->ncolumns + 1) / 2;

	for (unsigned i = 0; i < n; i++) {
		uint32_t *d = h->counts + (size_t)i * NT_HM_ROWS;
		const uint32_t *a = h->counts + (size_t)(2 * i) * NT_HM_ROWS;
		const uint32_t *b = 2 * i + 1 < h->ncolumns ? a + NT_HM_ROWS : NULL;

		for (unsigned r = 0; r < NT_HM_ROWS; r++) {
			uint64_t s = (uint64_t)a[r] + (b ? b[r] : 0);

			d[r] = s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
		}
	}
	memset(h->counts + (size_t)n * NT_HM_ROWS, 0,
	       (size_t)(h->ncolumns - n) * NT_HM_ROWS * sizeof(uint32_t));
	h->ncolumns = n;
	h->column_ns *= 2;
	h->merges++;
}

/* Make column C (at the current width) exist; merges when C is beyond the
 * bound. Returns the column index after any merges, or -ENOMEM. */
static long ensure_column(struct nt_heatmap *h, uint64_t t_ns)
{
	uint64_t c = t_ns > h->start_ns ? (t_ns - h->start_ns) / h->column_ns : 0;

	while (c >= h->max_columns) {
		merge_pairs(h);
		c = (t_ns - h->start_ns) / h->column_ns;
	}
	if (c >= h->capacity) {
		unsigned cap = h->capacity ? h->capacity : 16;
		uint32_t *p;

		while (cap <= c)
			cap *= 2;
		if (cap > h->max_columns)
			cap = h->max_columns;
		p = realloc(h->counts, (size_t)cap * NT_HM_ROWS * sizeof(uint32_t));
		if (!p)
			return -ENOMEM;
		memset(p + (size_t)h->capacity * NT_HM_ROWS, 0,
		       (size_t)(cap - h->capacity) * NT_HM_ROWS * sizeof(uint32_t));
		h->counts = p;
		h->capacity = cap;
	}
	if (c + 1 > h->ncolumns)
		h->ncolumns = (unsigned)c + 1;
	return (long)c;
}

int nt_hm_add(struct nt_heatmap *h, uint64_t end_ns, uint64_t latency_ns)
{
	long c = ensure_column(h, end_ns);
	uint32_t *cell;

	if (c < 0)
		return (int)c;
	if (end_ns < h->start_ns)
		h->early++;
	cell = &h->counts[(size_t)c * NT_HM_ROWS + nt_hm_row(latency_ns)];
	if (*cell == UINT32_MAX)
		h->saturated++;
	else
		(*cell)++;
	h->events++;
	return 0;
}

int nt_hm_extend(struct nt_heatmap *h, uint64_t now_ns)
{
	long c = ensure_column(h, now_ns);

	return c < 0 ? (int)c : 0;
}

uint32_t nt_hm_cell(const struct nt_heatmap *h, unsigned c, unsigned r)
{
	if (c >= h->ncolumns || r >= NT_HM_ROWS)
		return 0;
	return h->counts[(size_t)c * NT_HM_ROWS + r];
}
