/* samplekeep: CPU samples kept with their time for a timeline, from the
 * records of bpf/profile.bpf.c (emit_samples): each sample as it came, and
 * each new stack named as soon as it is announced, while its process is
 * alive (its perf map and mappings are read then; the names are cached for
 * when the timeline is written). Shared by `nodetap profile` (--cpuprofile,
 * --trace) and `nodetap trace -F`. */
#ifndef NODETAP_SAMPLEKEEP_H
#define NODETAP_SAMPLEKEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "nodetap.h"
#include "stackprof.h"
#include "symbolize.h"

/* Samples kept: 2000 a second (1000 Hz on 2 CPUs) for over an hour; past
 * it, samples are counted as not kept. */
#define NT_SK_MAX_KEPT (8u << 20)

struct nt_sk_sample {
	uint64_t time_ns;
	pid_t pid, tid;
	int cpu, user_stack, kernel_stack;
	char thread[NT_COMM_LEN];
};

struct nt_samplekeep {
	struct nt_symbolizer *sym;      /* the caller's */
	int stacks_fd;                  /* the stack map the ids index */
	struct nt_sk_sample *raw;
	size_t nraw, capraw;
	unsigned long long dropped;     /* past NT_SK_MAX_KEPT, or out of memory */
	uint64_t last_reread_ns;        /* maps re-read for a frame in none */
	uint64_t eager_window_ns, eager_spent_ns;   /* naming new stacks at once */
};

/* One ring buffer record: a new stack (NT_EV_NEW_STACK: named now, within
 * a budget) or a sample (PROFILE_EV_SAMPLE: kept). Returns true when it was
 * one of those. */
bool nt_sk_record(struct nt_samplekeep *k, const void *data, size_t len);
/* The samples kept, in time order, into P, each pointing at its stack (a
 * stack not in P yet is added with count 0). Returns 0 or -ENOMEM. */
int nt_sk_add_samples(struct nt_samplekeep *k, struct nt_profile *p);
void nt_sk_free(struct nt_samplekeep *k);

#endif
