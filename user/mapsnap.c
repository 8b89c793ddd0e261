#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "mapsnap.h"

static size_t key_size_for_cmp;

static int row_cmp(const void *a, const void *b)
{
	return memcmp(a, b, key_size_for_cmp);
}

int nt_snap_read(int fd, size_t ksz, size_t vsz, struct nt_snap *out)
{
	size_t row = ksz + vsz, cap = 0;
	unsigned char *k = malloc(ksz), *next = malloc(ksz);
	void *prevk = NULL;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->ksz = ksz;
	out->vsz = vsz;
	if (!k || !next) {
		rc = -ENOMEM;
		goto done;
	}
	while (!bpf_map_get_next_key(fd, prevk, next)) {
		if (out->n == cap) {
			unsigned char *r = realloc(out->rows, (cap = cap ? cap * 2 : 64) * row);

			if (!r) {
				rc = -ENOMEM;
				goto done;
			}
			out->rows = r;
		}
		memcpy(nt_snap_key(out, out->n), next, ksz);
		/* A key deleted between the two calls is skipped. */
		if (!bpf_map_lookup_elem(fd, next, nt_snap_val(out, out->n)))
			out->n++;
		memcpy(k, next, ksz);
		prevk = k;
	}
	key_size_for_cmp = ksz;
	if (out->n)
		qsort(out->rows, out->n, row, row_cmp);
done:
	free(k);
	free(next);
	if (rc)
		nt_snap_free(out);
	return rc;
}

const void *nt_snap_find(const struct nt_snap *prev, const void *key)
{
	size_t lo = 0, hi = prev->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = memcmp(key, nt_snap_key(prev, mid), prev->ksz);

		if (!c)
			return nt_snap_val(prev, mid);
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

int nt_snap_delta(struct nt_snap *cur, struct nt_snap *prev,
		  void (*sub)(void *val, const void *prev_val))
{
	size_t bytes = cur->n * (cur->ksz + cur->vsz);
	unsigned char *copy = malloc(bytes ? bytes : 1);

	if (!copy)
		return -ENOMEM;
	memcpy(copy, cur->rows, bytes);
	for (size_t i = 0; i < cur->n; i++) {
		const void *p = prev->n ? nt_snap_find(prev, nt_snap_key(cur, i)) : NULL;

		if (p)
			sub(nt_snap_val(cur, i), p);
	}
	free(prev->rows);
	prev->rows = copy;
	prev->n = cur->n;
	prev->ksz = cur->ksz;
	prev->vsz = cur->vsz;
	return 0;
}

void nt_snap_free(struct nt_snap *s)
{
	free(s->rows);
	s->rows = NULL;
	s->n = 0;
}
