/* promtext: the Prometheus text exposition format (version 0.0.4), written
 * into a growing buffer: metric families (# HELP, # TYPE), samples with
 * escaped labels, and histograms from nodetap's log2 slots.
 *
 * Label values may come from the traced side (hostnames, process names):
 * they first get the escaping every nodetap output uses (escape.h: valid,
 * printable UTF-8, other bytes as \xNN, a backslash doubled), then the
 * format's own (backslash, double quote, newline). A scrape can therefore
 * never be broken or forged by a hostile hostname, and Prometheus shows the
 * same text as nodetap's terminal and JSON output. */
#ifndef NODETAP_PROMTEXT_H
#define NODETAP_PROMTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nt_prom {
	char *buf;
	size_t len, cap;
	bool oom;              /* an allocation failed: the text is incomplete */
};

/* A label; VALUE holds at most MAXLEN bytes (it may lack a NUL there, as
 * comm and host fields of BPF records do). */
struct nt_prom_label {
	const char *name;
	const char *value;
	size_t maxlen;
};

void nt_prom_init(struct nt_prom *p);
void nt_prom_free(struct nt_prom *p);

/* "# HELP NAME HELP" and "# TYPE NAME TYPE" (counter, gauge, histogram).
 * HELP is written with backslash and newline escaped. */
void nt_prom_family(struct nt_prom *p, const char *name, const char *type, const char *help);

/* One sample: NAME{labels} VALUE. */
void nt_prom_u64(struct nt_prom *p, const char *name, const struct nt_prom_label *l, int nl,
		 unsigned long long v);
void nt_prom_double(struct nt_prom *p, const char *name, const struct nt_prom_label *l, int nl,
		    double v);

/* Bucket bounds of histograms made from log2 slots of microseconds: le =
 * 2^i us for FIRST <= i <= LAST, then +Inf. Slot i (see hist.h) holds values
 * below 2^i us, so bucket 2^i holds slots 0..i exactly. */
#define NT_PROM_LE_FIRST 4     /* 16 us */
#define NT_PROM_LE_LAST  25    /* 33.554432 s */

/* NAME_bucket{labels,le="..."} for every bound, NAME_sum (SUM_SECONDS) and
 * NAME_count, from NSLOTS log2 slots of microseconds. A NaN SUM_SECONDS
 * leaves NAME_sum out (a sum that was never kept). */
void nt_prom_hist_log2(struct nt_prom *p, const char *name, const struct nt_prom_label *l, int nl,
		       const unsigned long long *slots, int nslots, double sum_seconds);

/* The escaped form of at most LEN bytes of IN as a label value (without the
 * quotes) into OUT, always NUL-terminated. Returns the length the full
 * result needs, like snprintf. Exposed for tests. */
size_t nt_prom_escape_label(const char *in, size_t len, char *out, size_t outlen);

/* "0.000016" for 16 us: seconds with the trailing zeros dropped. */
void nt_prom_us_to_le(uint64_t us, char *out, size_t len);

#endif
