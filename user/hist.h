/* hist: log2 histograms as the BPF side fills them (see NT_HIST_SLOTS in
 * nodetap.h): slot 0 counts 0, slot i counts [2^(i-1), 2^i). */
#ifndef NODETAP_HIST_H
#define NODETAP_HIST_H

#include <stdint.h>
#include <stdio.h>
#include "json.h"

/* Bounds of slot I: low inclusive, high inclusive (2^i - 1). */
uint64_t nt_hist_low(int i);
uint64_t nt_hist_high(int i);
/* The slot a value falls in: the same function the BPF side uses. */
int nt_hist_slot(uint64_t v);
/* Approximate percentile P (0..100) of the histogram, as the upper bound of
 * the slot it falls in; 0 for an empty histogram. */
uint64_t nt_hist_percentile(const unsigned long long *slots, int n, double p);

/* BCC-style text: one line per slot from the first non-empty to the last,
 * with count and a bar of stars scaled to the largest slot. UNIT names the
 * values ("usecs"). */
void nt_hist_print(FILE *f, const unsigned long long *slots, int n, const char *unit,
		   const char *indent);

/* JSON: "KEY":{"unit":UNIT,"buckets":[{"low":L,"high":H,"count":C},...]}
 * with the same slots as the text form. */
void nt_hist_json(struct nt_json *j, const char *key, const unsigned long long *slots,
		  int n, const char *unit);

#endif
