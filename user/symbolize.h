/* symbolize: turns addresses in a stack into named frames, for any process,
 * including ones inside containers (paths through /proc/PID/root) and ones
 * that have exited since their maps were noted.
 *
 * Sources: ELF .symtab/.dynsym (via elfsym, cached per (dev, inode)), V8's
 * perf map /tmp/perf-NSPID.map for JIT code (NSPID: the pid the process sees
 * for itself), /proc/kallsyms for the kernel. A frame that cannot be named is
 * still returned, as module+offset or [unknown], never dropped. */
#ifndef NODETAP_SYMBOLIZE_H
#define NODETAP_SYMBOLIZE_H

#include <stdbool.h>
#include <stdint.h>

enum nt_frame_kind {
	NT_FRAME_NATIVE,   /* named from an ELF symbol table */
	NT_FRAME_JS,       /* named from the perf map */
	NT_FRAME_KERNEL,   /* named from kallsyms */
	NT_FRAME_UNNAMED,  /* module known, no symbol: name is "module+0xoff" */
	NT_FRAME_UNKNOWN,  /* no mapping holds the address: name is "[unknown]" */
};

struct nt_frame {
	uint64_t addr;
	enum nt_frame_kind kind;
	/* Both point into the symbolizer's caches and stay valid until
	 * nt_symbolizer_free. They are raw bytes from files the traced process
	 * may control: escape them before printing (see escape.h). */
	const char *name;    /* demangled C++ name; JS "fn file:line" without
	                        V8's "JS:"/"LazyCompile:" tag; kernel symbol */
	const char *module;  /* path of the ELF file, "[jit]" or "[kernel]" */
	uint64_t offset;     /* addr - start of the named symbol, or of the module */
	bool js_optimized;   /* JS frame tagged '*' (optimized) rather than '~' */
};

struct nt_symbolizer;

struct nt_symbolizer *nt_symbolizer_new(void);
void nt_symbolizer_free(struct nt_symbolizer *s);

/* Snapshot what naming PID's frames needs while the process is alive: its
 * maps, its root, its pid as it sees it. Cheap to call again: a second call
 * re-reads only if the process exec'ed. Returns 0 or -errno. */
int nt_symbolizer_note_pid(struct nt_symbolizer *s, int pid);

/* Read PID's maps again now, whatever the age of the snapshot (a caller
 * that found a frame in no mapping while the process is alive, and will
 * name it again after it exited). Returns 0 or -errno. */
int nt_symbolizer_reread_maps(struct nt_symbolizer *s, int pid);

/* Name user address ADDR of PID. Uses the snapshot from note_pid, taking one
 * first if there is none. The perf map is re-read when it has grown. Never
 * fails: an unnamed frame is UNNAMED or UNKNOWN. */
void nt_symbolize_user(struct nt_symbolizer *s, int pid, uint64_t addr,
		       struct nt_frame *out);
/* The same for a word that may not be a code address at all (a candidate
 * return address: see leafcaller.h): what it names is not a frame, so an
 * UNNAMED or UNKNOWN answer is not counted as a frame lost. */
void nt_symbolize_user_word(struct nt_symbolizer *s, int pid, uint64_t addr,
			    struct nt_frame *out);
/* Name kernel address ADDR from /proc/kallsyms (loaded once, lazily). */
void nt_symbolize_kernel(struct nt_symbolizer *s, uint64_t addr,
			 struct nt_frame *out);

/* Counts of frames that could not be named, for the loss report. */
struct nt_symbolizer_stats {
	uint64_t frames, unnamed, unknown, perfmap_lines_rejected;
};
void nt_symbolizer_stats(const struct nt_symbolizer *s, struct nt_symbolizer_stats *out);

/* The details behind perfmap_lines_rejected, summed over every perf map
 * read (struct in perfmap.h): malformed and overlong lines, bytes read,
 * files cut at the read bound. */
struct nt_perfmap_stats;
void nt_symbolizer_perfmap_stats(const struct nt_symbolizer *s,
				 struct nt_perfmap_stats *out);

/* Where to report problems (a perf map refused, an ELF file that cannot be
 * read, kallsyms hidden), each once per process or file. Default: nowhere.
 * MSG may hold bytes the traced process controls (paths): escape it. */
typedef void (*nt_symbolizer_warn_fn)(void *ctx, const char *msg);
void nt_symbolizer_set_warn(struct nt_symbolizer *s, nt_symbolizer_warn_fn fn, void *ctx);

#endif
