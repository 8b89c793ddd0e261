/* nodetap dns: records shared by bpf/dns.bpf.c and user/dns.c. */
#ifndef NODETAP_DNS_H
#define NODETAP_DNS_H

#include "nodetap.h"
#include "uv_layout.h"

#define NT_DNS_EAI_SLOTS 16      /* -3000 .. -3015 */

struct dns_key {
	unsigned int pid;
	int stack_id;             /* -1 without --stacks or when not taken */
	char host[NT_HOST_LEN];
};

struct dns_val {
	unsigned long long count;
	unsigned long long errors;
	unsigned long long total_ns;
	unsigned long long max_ns;
	unsigned long long hist[NT_HIST_SLOTS];     /* log2 of microseconds */
	unsigned long long eai[NT_DNS_EAI_SLOTS];   /* errors by UV_EAI_* code */
	unsigned long long other_errors;            /* any other status */
	int last_other_status;
	char comm[NT_COMM_LEN];
};

struct dns_event {
	unsigned int type;        /* NT_EV_DNS */
	unsigned int pid;
	unsigned int tid;         /* the thread that called uv_getaddrinfo */
	int status;               /* 0 or a libuv error (UV_EAI_*) */
	unsigned long long start_ns;  /* CLOCK_MONOTONIC */
	unsigned long long latency_ns;
	int stack_id;
	unsigned int flags;       /* DNS_F_* */
	char comm[NT_COMM_LEN];
	char host[NT_HOST_LEN];
};

#define DNS_F_TRUNCATED 1  /* host longer than NT_HOST_LEN - 1 */
#define DNS_F_SYNC      2  /* called without a callback: resolved inline */

#endif
