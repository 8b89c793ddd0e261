/* retarget: -p processes that exec another program.
 *
 * The probes placed for `-p PID` are bound to the file PID ran when they
 * were placed (a uprobe is on an inode): after an exec into another file
 * they never fire again. At every session tick (at least every 100 ms) the
 * executable of each -p process is compared, by identity, with the one its
 * probes are in; when it changed, the probes are placed again in the new
 * one and nodetap says so: a line on stderr, and with --json a
 * "target_exec" record and the new "probe" records. What the process did
 * between its exec and that check is not seen, and the line says so. An
 * exec of the same file needs nothing: its probes stay valid. */
#ifndef NODETAP_RETARGET_H
#define NODETAP_RETARGET_H

#include <stdbool.h>
#include <sys/types.h>
#include "options.h"
#include "probes.h"
#include "session.h"
#include "targets.h"

/* Places the probes on TS (one target, the new executable) and reports
 * them as nt_probes_report does; sets how many were placed and not. */
typedef void (*nt_retarget_place_fn)(void *ctx, const struct nt_targets *ts, int *placed,
				     int *failed);

struct nt_retarget_pid {
	pid_t pid;
	dev_t dev;
	ino_t ino;
	bool gone;
};

struct nt_retarget {
	const struct nt_opts *o;
	struct nt_probe_spec *specs;     /* a copy */
	int nspecs;
	struct nt_retarget_pid *pids;
	int npids;
	struct nt_probes *placed;        /* one set per re-placing */
	int nplaced;
	void (*next_tick)(void *ctx);    /* the session's tick it wraps */
	void *next_ctx;
	nt_retarget_place_fn place;      /* set: the subcommand places them */
	void *place_ctx;
};

/* Watch O's -p processes (nothing to do without -p) and hook S's tick,
 * keeping the tick it had. SPECS are the subcommand's probes, placed the
 * same way again. Returns 0 or -ENOMEM (after saying so). */
int nt_retarget_start(struct nt_retarget *r, struct nt_session *s, const struct nt_opts *o,
		      const struct nt_probe_spec *specs, int nspecs);
/* The same for a subcommand whose probes differ per executable (callbacks:
 * per-binary facts and cookies): PLACE places them, with CTX. */
int nt_retarget_start_placing(struct nt_retarget *r, struct nt_session *s,
			      const struct nt_opts *o, nt_retarget_place_fn place, void *ctx);
/* Check now (the tick does it). */
void nt_retarget_check(struct nt_retarget *r);
/* Detach what was placed again and free it all. */
void nt_retarget_free(struct nt_retarget *r);

#endif
