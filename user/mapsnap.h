/* mapsnap: a snapshot of a BPF hash map of counters, and interval deltas.
 *
 * The BPF side keeps counters cumulative (no race between reading and
 * clearing, nothing lost); an interval report subtracts the snapshot of the
 * previous report. Rows are key bytes then value bytes, sorted by key bytes
 * (memcmp) so that the previous snapshot is found by binary search. A value
 * sits at offset ksz of its row: it is aligned for its type only when ksz
 * and vsz are multiples of that alignment (a caller that views the rows as
 * a struct { key; val; } static-asserts that it has no padding); otherwise
 * read it with memcpy. */
#ifndef NODETAP_MAPSNAP_H
#define NODETAP_MAPSNAP_H

#include <stddef.h>

struct nt_snap {
	unsigned char *rows;   /* n rows of ksz + vsz bytes */
	size_t n, ksz, vsz;
};

/* Read every entry of map FD. Returns 0 or -errno. */
int nt_snap_read(int fd, size_t ksz, size_t vsz, struct nt_snap *out);
static inline void *nt_snap_key(const struct nt_snap *s, size_t i)
{
	return s->rows + i * (s->ksz + s->vsz);
}
static inline void *nt_snap_val(const struct nt_snap *s, size_t i)
{
	return s->rows + i * (s->ksz + s->vsz) + s->ksz;
}
/* The value PREV had for KEY, or NULL. */
const void *nt_snap_find(const struct nt_snap *prev, const void *key);
/* For interval reports: turn CUR into the difference from *PREV (SUB
 * subtracts one value from another, field by field), then make *PREV a copy
 * of CUR as it was. Returns 0 or -ENOMEM. */
int nt_snap_delta(struct nt_snap *cur, struct nt_snap *prev,
		  void (*sub)(void *val, const void *prev_val));
void nt_snap_free(struct nt_snap *s);

#endif
