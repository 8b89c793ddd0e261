/* targets: which node binaries and processes a subcommand attaches to.
 *
 * -p PID: the process's own executable (through /proc/PID/exe, so that it
 * works inside containers) and the libraries it maps; probes go into that
 * process only. Otherwise: every distinct node executable that runs now
 * (found through /proc/PID/exe, deduplicated by device and inode), `node` on
 * PATH, --binary paths and node binaries named in `-- COMMAND`; probes go on
 * the file, for every process that runs it. */
#ifndef NODETAP_TARGETS_H
#define NODETAP_TARGETS_H

#include <stdbool.h>
#include <sys/types.h>
#include "options.h"

struct nt_target {
	char *path;      /* opens the executable from here (our namespace) */
	char *root;      /* "/proc/PID/root" for files of that process, or "" */
	pid_t pid;       /* -1: every process that runs the file */
	char comm[16];   /* for -p targets */
	bool implicit;   /* found by nodetap, not named by the user: a probe
	                    that does not fit it is no news (`-- bash -c ...`) */
	dev_t dev;
	ino_t ino;
};

struct nt_targets {
	struct nt_target *t;
	int n;
	pid_t *node_pids;  /* without -p: the node processes running now */
	int nnode_pids;
};

/* Fill TARGETS from the options. Returns 0, or NT_EXIT_RUNTIME after printing
 * one line naming the process or file that is wrong (no such process, not
 * readable, ...). Finding no node binary at all is not an error here: the
 * caller says so once no probe could be placed. */
int nt_targets_find(const struct nt_opts *o, struct nt_targets *targets);
void nt_targets_free(struct nt_targets *targets);
/* Add running process PID as a -p target: its executable, probes for it
 * alone. Returns 0, or NT_EXIT_RUNTIME after saying what is wrong on
 * stderr as "nodetap CMD: pid PID: ...". */
int nt_targets_add_pid(struct nt_targets *targets, const char *cmd, pid_t pid);
/* Add the executable of running process PID as a target for every process
 * that runs it (pid -1), found by nodetap (implicit). Returns 0 or -errno
 * (-ESRCH: the process is gone). */
int nt_targets_add_exe(struct nt_targets *targets, pid_t pid);

/* Does this file name look like a node executable ("node", "nodejs",
 * "node20", "node-v22")? Exposed for tests. */
bool nt_looks_like_node(const char *path);

/* A file by identity: a copy of node may have any name. */
struct nt_file_id {
	dev_t dev;
	ino_t ino;
};

/* Does PID run node: an executable named like node, or one of the N files
 * of FILES? When ID is given, the executable's identity goes there (dev and
 * ino 0 if it cannot be read), for callers that know more node files. */
bool nt_pid_runs_node(pid_t pid, const struct nt_file_id *files, int n, struct nt_file_id *id);

#endif
