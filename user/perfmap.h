/* perfmap: V8's perf map (/tmp/perf-PID.map, written by node
 * --perf-basic-prof), which names JIT code: lines "START_HEX SIZE_HEX name".
 *
 * The traced process writes this file and nodetap reads it as root, so it is
 * treated as hostile: opened without following a symlink or blocking on a
 * FIFO, only if it is a regular file owned by the process's uid, read up to a
 * total bound, with overlong and malformed lines skipped and counted. The
 * file only grows: a refresh reads only what was appended. */
#ifndef NODETAP_PERFMAP_H
#define NODETAP_PERFMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NT_PERFMAP_MAX_BYTES (256ull << 20) /* total read per file */
#define NT_PERFMAP_MAX_LINE  4096          /* longer lines are skipped */

struct nt_perfmap_sym {
	uint64_t start, end;  /* [start, end) as the line gave it */
	/* "fn file:line:col" for JS code ("(anonymous) file:..." when V8 gives
	 * no name), V8's "JS:"/"LazyCompile:"/"Function:" tag, tier marker and
	 * OSR mark (v24's "'") removed; other kinds keep their tag: "Builtin:ArrayMap", "Stub:..". */
	const char *name;
	bool js;              /* had a JS function tag */
	bool optimized;       /* marker '*' (TurboFan) or '+' (Maglev), not
	                         '~' (interpreted) or '^' (Sparkplug baseline) */
};

struct nt_perfmap_stats {
	uint64_t lines;       /* entries accepted */
	uint64_t malformed;   /* lines rejected: not "START SIZE name" */
	uint64_t overlong;    /* lines over NT_PERFMAP_MAX_LINE, skipped */
	uint64_t bytes_read;
	uint64_t restarts;    /* the file shrank (rewritten): read again */
	bool capped;          /* stopped at NT_PERFMAP_MAX_BYTES */
};

struct nt_perfmap;

/* Open PATH (relative to the process root ROOTFD, see nt_open_in_root, or
 * AT_FDCWD) and check it: a regular file, not a symlink, owned by UID.
 * Nothing is read until nt_perfmap_refresh. Returns 0 or -errno with a
 * message in err naming the file and the problem. */
int nt_perfmap_open(int rootfd, const char *path, uid_t uid,
		    struct nt_perfmap **out, char *err, size_t errlen);

/* Read what was appended since the last refresh. Returns the number of new
 * entries, or -errno with a message in err. A partial last line is left for
 * the next refresh. */
int nt_perfmap_refresh(struct nt_perfmap *pm, char *err, size_t errlen);

/* The entry covering ADDR; for overlapping entries the later line wins (V8
 * reuses code space). Sorts new entries first if any arrived. NULL if none
 * covers ADDR. Valid until the next refresh; its name until the free. */
const struct nt_perfmap_sym *nt_perfmap_find(struct nt_perfmap *pm, uint64_t addr);

void nt_perfmap_stats(const struct nt_perfmap *pm, struct nt_perfmap_stats *out);

/* Close the file and drop the entries, keeping the names: for a process
 * that exec'ed, whose old frames may still point at them. Lookups then find
 * nothing. */
void nt_perfmap_close(struct nt_perfmap *pm);

/* Frees the entries and closes the file. Names stay valid until this. */
void nt_perfmap_free(struct nt_perfmap *pm);

#endif
