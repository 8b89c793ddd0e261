/* nodetap callbacks: records shared by bpf/callbacks.bpf.c and
 * user/callbacks.c. See docs/callbacks.md for what is probed and why. */
#ifndef NODETAP_CALLBACKS_H
#define NODETAP_CALLBACKS_H

#include "nodetap.h"

#define NT_CB_MAX_BINARIES 64    /* node executables traced at once */
#define NT_CB_MAX_PROVIDERS 256  /* provider numbers per binary (node has 59-68) */
#define NT_CB_MAX_KINDS 512      /* kind ids, over every binary */
#define NT_CB_MAX_DEPTH 8        /* callbacks nested on one thread */
#define NT_CB_SAMPLES 8          /* --min-ms: stacks kept per callback, the last ones
                                    (a power of two) */

/* Kind ids: user space numbers every provider name it found (the same name
 * in two binaries is one id); these fixed ids name what is not a provider. */
#define NT_CB_KIND_UNKNOWN   (NT_CB_MAX_KINDS - 1) /* provider number out of range */
#define NT_CB_KIND_CALLER    (NT_CB_MAX_KINDS - 2) /* named in user space by caller */
#define NT_CB_KIND_TIMERWRAP (NT_CB_MAX_KINDS - 3) /* Environment::RunTimers */
#define NT_CB_KIND_IMMEDIATE (NT_CB_MAX_KINDS - 4) /* CheckImmediate's MakeCallback */
#define NT_CB_KIND_OTHER     (NT_CB_MAX_KINDS - 5) /* node::MakeCallback from elsewhere */
#define NT_CB_KIND_FIRST_FIXED NT_CB_KIND_OTHER
#define NT_CB_KIND_SKIP      0xffffffffu           /* filtered out by --kind */

/* What a probe is on; the attach cookie holds role | binary index << 8. */
enum nt_cb_role {
	NT_CB_ROLE_ASYNCWRAP = 0, /* node::AsyncWrap::MakeCallback(Local<Function>, ...) */
	NT_CB_ROLE_TIMERS,        /* node::Environment::RunTimers */
	NT_CB_ROLE_MAKECALLBACK,  /* node::MakeCallback(Isolate*, ..., Local<Function>, ..., async_context) */
	NT_CB_ROLE_INTERNAL,      /* node::InternalMakeCallback(Isolate*, ...) (v22+) */
	NT_CB_ROLES,
};

/* Per traced binary, indexed by the cookie's binary index. */
struct nt_cb_bin {
	unsigned int provider_off;  /* offset of AsyncWrap::provider_type_; 0:
	                               not proven, classify by caller */
	unsigned int nproviders;
	long long imm_lo, imm_hi;   /* node::Environment::CheckImmediate, relative
	                               to the probed node::MakeCallback: a return
	                               address in [lo, hi) is an immediate */
};

struct nt_cb_key {
	unsigned int pid;
	unsigned int kind;
	/* NT_CB_KIND_CALLER only (else 0): the return address at entry and
	 * the one above it, for user space to name the native caller. */
	unsigned long long caller, caller2;
};

struct nt_cb_val {
	unsigned long long count;
	unsigned long long total_ns;
	unsigned long long max_ns;
	unsigned long long hist[NT_HIST_SLOTS];  /* log2 of microseconds */
	char comm[NT_COMM_LEN];
};

/* --min-ms: one callback that ran at least that long. */
struct nt_cb_event {
	unsigned int type;            /* NT_EV_CALLBACK */
	unsigned int pid;
	unsigned int tid;
	unsigned int kind;
	unsigned long long start_ns;  /* CLOCK_MONOTONIC */
	unsigned long long dur_ns;
	int sampled_stacks[NT_CB_SAMPLES]; /* user stacks sampled while it ran
	                                 (the JavaScript in it), the last
	                                 samples (slot samples % NT_CB_SAMPLES
	                                 is the next), -1 where none */
	int caller_stack;             /* user stack at its return: the native
	                                 code that made the callback, or -1 */
	unsigned int samples;         /* on-CPU samples taken while it ran */
	unsigned long long caller, caller2;  /* as in nt_cb_key */
	char comm[NT_COMM_LEN];
};

/* nodetap trace --callbacks: every callback, as it returns. */
struct nt_cb_trace_event {
	unsigned int type;            /* NT_EV_CB_TRACE */
	unsigned int pid;
	unsigned int tid;
	unsigned int kind;
	unsigned int depth;           /* callbacks it ran inside (0: from the loop) */
	unsigned int role;            /* enum nt_cb_role: the function probed */
	unsigned long long start_ns;  /* CLOCK_MONOTONIC */
	unsigned long long dur_ns;
	unsigned long long wrap;      /* the AsyncWrap (its `this`; for a request,
	                                 the uv_req_t's data pointer), 0 if none */
};

#endif
