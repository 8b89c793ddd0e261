#include <string.h>
#include "hist.h"

uint64_t nt_hist_low(int i)
{
	return i <= 0 ? 0 : 1ULL << (i - 1);
}

uint64_t nt_hist_high(int i)
{
	return i <= 0 ? 0 : (i >= 64 ? UINT64_MAX : (1ULL << i) - 1);
}

int nt_hist_slot(uint64_t v)
{
	int slot = 0;

	while (v) {
		v >>= 1;
		slot++;
	}
	return slot;
}

/* The range of non-empty slots; returns 0 when all are empty. */
static int used_range(const unsigned long long *slots, int n, int *first, int *last)
{
	*first = -1;
	*last = -1;
	for (int i = 0; i < n; i++) {
		if (!slots[i])
			continue;
		if (*first < 0)
			*first = i;
		*last = i;
	}
	return *first >= 0;
}

uint64_t nt_hist_percentile(const unsigned long long *slots, int n, double p)
{
	uint64_t total = 0, seen = 0, want;

	for (int i = 0; i < n; i++)
		total += slots[i];
	if (!total)
		return 0;
	want = (uint64_t)((p / 100.0) * (double)total + 0.5);
	if (want == 0)
		want = 1;
	for (int i = 0; i < n; i++) {
		seen += slots[i];
		if (seen >= want)
			return nt_hist_high(i);
	}
	return nt_hist_high(n - 1);
}

void nt_hist_print(FILE *f, const unsigned long long *slots, int n, const char *unit,
		   const char *indent)
{
	const int width = 40;
	uint64_t max = 0;
	int first, last;

	if (!used_range(slots, n, &first, &last))
		return;
	for (int i = first; i <= last; i++)
		if (slots[i] > max)
			max = slots[i];
	fprintf(f, "%s%15s%9s: count     distribution\n", indent, unit, "");
	for (int i = first; i <= last; i++) {
		int stars = (int)((slots[i] * width + max - 1) / max);
		char bar[64];

		memset(bar, '*', (size_t)stars);
		memset(bar + stars, ' ', (size_t)(width - stars));
		bar[width] = 0;
		fprintf(f, "%s%10llu -> %-10llu: %-9llu |%s|\n", indent,
			(unsigned long long)nt_hist_low(i),
			(unsigned long long)nt_hist_high(i),
			(unsigned long long)slots[i], bar);
	}
}

void nt_hist_json(struct nt_json *j, const char *key, const unsigned long long *slots,
		  int n, const char *unit)
{
	int first, last;

	nt_json_obj(j, key);
	nt_json_str(j, "unit", unit);
	nt_json_arr(j, "buckets");
	if (used_range(slots, n, &first, &last)) {
		for (int i = first; i <= last; i++) {
			nt_json_obj(j, NULL);
			nt_json_u64(j, "low", nt_hist_low(i));
			nt_json_u64(j, "high", nt_hist_high(i));
			nt_json_u64(j, "count", slots[i]);
			nt_json_obj_end(j);
		}
	}
	nt_json_arr_end(j);
	nt_json_obj_end(j);
}
