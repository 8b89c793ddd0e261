#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "escape.h"
#include "json.h"
#include "retarget.h"
#include "targets.h"

static void tick(void *ctx)
{
	struct nt_retarget *r = ctx;

	nt_retarget_check(r);
	if (r->next_tick)
		r->next_tick(r->next_ctx);
}

/* PID's executable, by identity; false if it is gone. */
static bool exe_id(pid_t pid, dev_t *dev, ino_t *ino)
{
	char link[64];
	struct stat st;

	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	if (stat(link, &st))
		return false;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return true;
}

static void watch(struct nt_retarget *r, struct nt_session *s);

int nt_retarget_start(struct nt_retarget *r, struct nt_session *s, const struct nt_opts *o,
		      const struct nt_probe_spec *specs, int nspecs)
{
	memset(r, 0, sizeof(*r));
	r->o = o;
	if (!o->npids)
		return 0;
	r->specs = malloc((size_t)nspecs * sizeof(*specs));
	r->pids = calloc((size_t)o->npids, sizeof(*r->pids));
	if (!r->specs || !r->pids) {
		fprintf(stderr, "nodetap %s: out of memory watching the -p processes for exec\n",
			o->cmd);
		nt_retarget_free(r);
		return -ENOMEM;
	}
	memcpy(r->specs, specs, (size_t)nspecs * sizeof(*specs));
	r->nspecs = nspecs;
	watch(r, s);
	return 0;
}

int nt_retarget_start_placing(struct nt_retarget *r, struct nt_session *s,
			      const struct nt_opts *o, nt_retarget_place_fn place, void *ctx)
{
	memset(r, 0, sizeof(*r));
	r->o = o;
	if (!o->npids)
		return 0;
	r->pids = calloc((size_t)o->npids, sizeof(*r->pids));
	if (!r->pids) {
		fprintf(stderr, "nodetap %s: out of memory watching the -p processes for exec\n",
			o->cmd);
		return -ENOMEM;
	}
	r->place = place;
	r->place_ctx = ctx;
	watch(r, s);
	return 0;
}

/* Note each -p process's executable and hook S's tick. */
static void watch(struct nt_retarget *r, struct nt_session *s)
{
	const struct nt_opts *o = r->o;

	for (int i = 0; i < o->npids; i++) {
		struct nt_retarget_pid *p = &r->pids[r->npids++];

		p->pid = o->pids[i];
		p->gone = !exe_id(p->pid, &p->dev, &p->ino);
	}
	r->next_tick = s->tick;
	r->next_ctx = s->tick_ctx;
	s->tick = tick;
	s->tick_ctx = r;
}

static void say(const struct nt_retarget *r, pid_t pid, const char *comm, const char *file,
		int placed, int failed)
{
	if (r->o->json) {
		struct nt_json j;

		nt_json_begin(&j, stdout, "target_exec");
		nt_json_i64(&j, "pid", pid);
		nt_json_strn(&j, "comm", comm, 16);
		nt_json_str(&j, "file", file);
		nt_json_i64(&j, "placed", placed);
		nt_json_i64(&j, "failed", failed);
		nt_json_end(&j);
		fflush(stdout);
	}
	fprintf(stderr, "nodetap %s: pid %d (", r->o->cmd, pid);
	nt_fputs_escaped(stderr, comm, 16);
	fputs(") exec'd ", stderr);
	nt_fputs_escaped(stderr, file, strlen(file));
	if (placed)
		fprintf(stderr, ": its probes are placed again in it (%d placed, %d not); what it did "
			"between its exec and now (up to 0.1 s) was not seen\n", placed, failed);
	else
		fputs(": no probe could be placed in it (see above): it is not traced any more\n",
		      stderr);
}

static void say_exec(const struct nt_retarget *r, pid_t pid, const struct nt_targets *ts,
		     int placed, int failed)
{
	char exe[4096], link[64];
	ssize_t n;

	/* The path as the process sees it, not ours through its root. */
	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	say(r, pid, ts->t[0].comm, n > 0 ? exe : ts->t[0].path, placed, failed);
}

void nt_retarget_check(struct nt_retarget *r)
{
	for (int i = 0; i < r->npids; i++) {
		struct nt_retarget_pid *p = &r->pids[i];
		struct nt_targets ts = { 0 };
		struct nt_probes *more;
		dev_t dev;
		ino_t ino;

		if (p->gone)
			continue;
		if (!exe_id(p->pid, &dev, &ino)) {
			p->gone = true;  /* it exited: nothing to say */
			continue;
		}
		if (dev == p->dev && ino == p->ino)
			continue;
		p->dev = dev;
		p->ino = ino;
		/* Errors (it exited meanwhile) are said by nt_targets_add_pid. */
		if (nt_targets_add_pid(&ts, r->o->cmd, p->pid) || !ts.n) {
			nt_targets_free(&ts);
			continue;
		}
		int placed = 0, failed = 0;

		if (r->place) {
			r->place(r->place_ctx, &ts, &placed, &failed);
			say_exec(r, p->pid, &ts, placed, failed);
			nt_targets_free(&ts);
			continue;
		}
		more = realloc(r->placed, (size_t)(r->nplaced + 1) * sizeof(*more));
		if (!more) {
			fprintf(stderr, "nodetap %s: pid %d exec'd another program; out of memory "
				"placing its probes again: it is not traced any more\n", r->o->cmd,
				p->pid);
			nt_targets_free(&ts);
			continue;
		}
		r->placed = more;
		more = &r->placed[r->nplaced++];
		memset(more, 0, sizeof(*more));
		nt_probes_place(more, r->specs, r->nspecs, &ts);
		nt_probes_report(more, r->o->cmd, r->o->json, r->o->verbose);
		say_exec(r, p->pid, &ts, more->placed, more->failed);
		nt_targets_free(&ts);
	}
}

void nt_retarget_free(struct nt_retarget *r)
{
	for (int i = 0; i < r->nplaced; i++)
		nt_probes_destroy(&r->placed[i]);
	free(r->placed);
	free(r->specs);
	free(r->pids);
	memset(r, 0, sizeof(*r));
}
