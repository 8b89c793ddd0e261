/* stackprof: a CPU profile in memory, the one model every output format
 * reads (folded.c, flamegraph_svg.c, cpuprofile.c, chrometrace.c, the text
 * and JSON reports of profile.c): distinct stacks with their sample counts,
 * each frame named, and optionally every sample in time order.
 *
 * Built from a BPF map of counts by (pid, user stack id, kernel stack id)
 * and the stack-trace map those ids index: user frames named by the
 * symbolizer (ELF, perf maps, [jit]), kernel frames from kallsyms. */
#ifndef NODETAP_STACKPROF_H
#define NODETAP_STACKPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "symbolize.h"

enum nt_pframe_kind {
	NT_PF_PROCESS,    /* the root of a process's stacks: "comm" */
	NT_PF_JS,         /* JavaScript, named from the perf map */
	NT_PF_INTERP,     /* V8's interpreter running some JavaScript function
	                     (a Builtins_Interpreter* frame: which function is
	                     not known without --interpreted-frames-native-stack) */
	NT_PF_JIT,        /* JIT code with no perf map entry: "[jit]" */
	NT_PF_NATIVE,     /* C/C++ from an ELF symbol table */
	NT_PF_UNNAMED,    /* module+offset */
	NT_PF_KERNEL,
	NT_PF_MISSING,    /* "[no user stack]", "[unknown]": never dropped */
};

/* The kind's name in JSON and in the HTML report's data: "js", "native"... */
const char *nt_pframe_kind_name(enum nt_pframe_kind k);

struct nt_pframe {
	/* Raw bytes, some of them the traced process's (perf map names,
	 * paths, comm): every output escapes them (escape.h) for its format. */
	char *label;
	enum nt_pframe_kind kind;
	bool optimized;   /* JS: V8 optimized it ('*') */
	bool app;         /* JS: the application's own code (stackfmt.h) */
	char *module;     /* path of the ELF file (native frames), or NULL */
	/* JS frames "fn file:line:col", split for formats that want them; the
	 * strings are raw; line and col are 1-based, 0 when absent. */
	char *js_fn, *js_url;
	unsigned js_line, js_col;
};

struct nt_pstack {
	pid_t pid;
	int user_stack, kernel_stack;   /* the BPF stack ids (< 0: none) */
	uint64_t count;
	int nframes;
	struct nt_pframe *frames;       /* root first: frames[0] is the process */
};

struct nt_psample {
	uint64_t time_ns;               /* CLOCK_MONOTONIC */
	pid_t pid, tid;
	int cpu;
	size_t stack;                   /* index in stacks */
	char thread[16];                /* the thread's name, raw */
};

struct nt_profile {
	struct nt_pstack *stacks;
	size_t nstacks;
	uint64_t total;                 /* sum of the counts */
	struct nt_psample *samples;     /* in time order, when kept */
	size_t nsamples;
	uint64_t start_ns, end_ns;      /* what the profile covers */
	unsigned freq_hz;
	const char *unit;               /* of the counts: NULL for samples,
	                                   "us" for off-CPU microseconds */
	size_t *index;                  /* stacks by (pid, user, kernel), for
	                                   nt_profile_find; rebuilt as needed */
	size_t nindex;
};

/* A raw count row: the BPF map's key and value. */
struct nt_pcount {
	pid_t pid;
	int user_stack, kernel_stack;
	const char *comm;               /* raw, up to 16 bytes */
	uint64_t count;
};

/* Add a stack of COUNT samples to P, naming its frames (user stack ids and
 * kernel stack ids from STACKS_FD). Returns its index, or -1 (out of memory). */
long nt_profile_add(struct nt_profile *p, struct nt_symbolizer *sym, int stacks_fd,
		    const struct nt_pcount *c);
/* The same for a stack that came with its own user frames (IPS, N of them,
 * innermost first; a sample record that carries them) instead of a stack
 * id: C's stack ids are stored as given (-1: none). */
long nt_profile_add_ips(struct nt_profile *p, struct nt_symbolizer *sym, const struct nt_pcount *c,
			const unsigned long long *ips, int n);
/* Name the frames of stack I again from its user frames IPS (N, innermost
 * first; a stack without kernel frames): JIT code whose perf map entry was
 * not yet written when the stack was first named. Returns 0 or -ENOMEM
 * (the stack keeps its old frames). */
int nt_profile_rename(struct nt_profile *p, size_t i, struct nt_symbolizer *sym,
		      const unsigned long long *ips, int n);
/* The index of the stack (pid, user, kernel), or -1 (also out of memory). */
long nt_profile_find(const struct nt_profile *p, pid_t pid, int user_stack, int kernel_stack);
void nt_profile_free(struct nt_profile *p);

/* The functions of a profile by self samples (the frame is innermost) and
 * total samples (the frame is anywhere in the stack, counted once), keyed
 * by label and kind. Sorted by self, then total, then label. */
struct nt_pfunc {
	const struct nt_pframe *frame;  /* one frame with this label */
	uint64_t self, total;
};
/* Every frame of P's stacks but their process roots, as pointers into P,
 * into *OUT (malloc'ed, at least one slot; the caller frees it), their
 * number in *N. Returns 0 or -ENOMEM. */
int nt_profile_frame_ptrs(const struct nt_profile *p, const struct nt_pframe ***out, size_t *n);
int nt_profile_functions(const struct nt_profile *p, struct nt_pfunc **out, size_t *n);

/* The call tree of a profile: stacks merged from the root by frame (label
 * and kind), as flame graphs and .cpuprofile files show them. Node 0 is the
 * root (no frame); its children are the processes. */
struct nt_pnode {
	const struct nt_pframe *frame;  /* NULL for the root */
	size_t parent;
	size_t first_child, next_sibling;   /* 0: none (the root is no child) */
	uint64_t total, self;           /* samples: in it and below; in it */
};
struct nt_ptree {
	struct nt_pnode *nodes;
	size_t n;
	size_t *leaf;                   /* per stack of the profile: its node */
};
int nt_ptree_build(const struct nt_profile *p, struct nt_ptree *t);
void nt_ptree_free(struct nt_ptree *t);

/* Split a JS perf-map name "fn file:line:col" (or "fn file:line", "fn
 * file", "fn") into its parts. Exposed for tests. FN and URL point into a
 * copy in BUF (of LEN bytes, at least strlen(name)+2). */
void nt_split_js_name(const char *name, char *buf, size_t len, const char **fn,
		      const char **url, unsigned *line, unsigned *col);

#endif
