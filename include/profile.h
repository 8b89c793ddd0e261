/* nodetap profile: records shared by bpf/profile.bpf.c and user/profile.c. */
#ifndef NODETAP_PROFILE_H
#define NODETAP_PROFILE_H

#include "nodetap.h"

/* Record type of profile's ring buffer (nodetap.h's enum nt_event_type
 * holds the shared ones, NT_EV_NEW_STACK among them). */
#define PROFILE_EV_SAMPLE 300   /* struct profile_sample_event */

/* The key of the sample counts: one per (process, user stack, kernel
 * stack). A stack id < 0 is the error bpf_get_stackid returned: no stack of
 * that kind was taken (a sample in user mode has no kernel stack). */
struct profile_key {
	unsigned int pid;
	int user_stack;
	int kernel_stack;
	char comm[NT_COMM_LEN];   /* the process's main thread name */
	unsigned int pad;         /* 0: keeps the counter after it aligned */
};

/* The file identity of a node executable named with --binary: a process
 * that runs it is profiled in the default mode, whatever its name. */
struct profile_file_key {
	unsigned long long ino;
	unsigned int dev;
	unsigned int pad;
};

/* One sample, sent only for the outputs that keep time (--cpuprofile,
 * --trace). */
/* --off-cpu: a traced thread that blocked, noted at its switch-out (in the
 * kernel's start map, keyed by thread id) until it runs again. */
struct profile_offcpu_start {
	unsigned long long time_ns;   /* bpf_ktime_get_ns() at the switch-out */
	unsigned int pid;
	int user_stack;
	int kernel_stack;
	char comm[NT_COMM_LEN];
};

struct profile_sample_event {
	unsigned int type;        /* PROFILE_EV_SAMPLE */
	unsigned int pid;
	unsigned int tid;
	unsigned int cpu;
	unsigned long long time_ns;   /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	int user_stack;
	int kernel_stack;
	char comm[NT_COMM_LEN];   /* the thread's name */
};

#endif
