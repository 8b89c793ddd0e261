/* trace_links: see trace_links.h. */
#include "trace_links.h"

static uint64_t key_of(uint32_t pid, uint64_t wrap)
{
	return ((uint64_t)pid << 48 ^ wrap) | 1; /* never 0: 0 is an empty slot */
}

static struct nt_tl_end *slot(struct nt_tl_end *table, uint64_t key)
{
	return &table[(key * 0x9E3779B97F4A7C15ULL) >> (64 - 12)]; /* 4096 slots */
}

_Static_assert(NT_TL_SLOTS == 1 << 12, "slot() takes 12 bits");

static bool same(const struct nt_tl_end *a, uint64_t key, const struct nt_tl_end *e)
{
	return a->key == key && a->pid == e->pid && a->wrap == e->wrap;
}

bool nt_tl_source(struct nt_tlinks *l, const struct nt_tl_end *e, struct nt_tl_end *cb)
{
	uint64_t k = key_of(e->pid, e->wrap);
	struct nt_tl_end *c = slot(l->cb, k);

	if (!e->wrap)
		return false;
	if (same(c, k, e) && c->start_ns >= e->start_ns) {
		*cb = *c;
		c->key = 0;
		return true;
	}
	*slot(l->src, k) = *e;
	slot(l->src, k)->key = k;
	return false;
}

bool nt_tl_callback(struct nt_tlinks *l, const struct nt_tl_end *e, struct nt_tl_end *src)
{
	uint64_t k = key_of(e->pid, e->wrap);
	struct nt_tl_end *s = slot(l->src, k);

	if (!e->wrap)
		return false;
	if (same(s, k, e) && e->start_ns >= s->start_ns) {
		*src = *s;
		s->key = 0;
		return true;
	}
	*slot(l->cb, k) = *e;
	slot(l->cb, k)->key = k;
	return false;
}
