#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "targets.h"

bool nt_looks_like_node(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	if (!strcmp(base, "nodejs"))
		return true;
	if (strncmp(base, "node", 4))
		return false;
	/* "node", "node20", "node-v22.1.0", but not "node_exporter". */
	for (const char *p = base + 4; *p; p++)
		if (!isdigit((unsigned char)*p) && *p != '.' && *p != '-' && *p != 'v')
			return false;
	return true;
}

bool nt_pid_runs_node(pid_t pid, const struct nt_file_id *files, int n, struct nt_file_id *id)
{
	char link[64], exe[PATH_MAX];
	struct stat st;
	ssize_t len;

	if (id)
		id->dev = id->ino = 0;
	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	len = readlink(link, exe, sizeof(exe) - 1);
	if (len <= 0)
		return false;
	exe[len] = 0;
	if (nt_looks_like_node(strtok(exe, " ")))
		return true;
	if ((!n && !id) || stat(link, &st))
		return false;
	if (id) {
		id->dev = st.st_dev;
		id->ino = st.st_ino;
	}
	for (int i = 0; i < n; i++)
		if (files[i].dev == st.st_dev && files[i].ino == st.st_ino)
			return true;
	return false;
}

static int add(struct nt_targets *ts, const char *path, const char *root,
	       pid_t pid, const char *comm, bool implicit)
{
	struct stat st;
	struct nt_target *t;

	if (stat(path, &st) || !S_ISREG(st.st_mode))
		return -ENOENT;
	/* The same file through another path or process: attach once. Keep
	 * a path of our own namespace over one through /proc/PID/root: that
	 * process may exit before the probes are placed. */
	for (int i = 0; i < ts->n; i++) {
		char *p, *r;

		if (ts->t[i].dev != st.st_dev || ts->t[i].ino != st.st_ino || ts->t[i].pid != pid)
			continue;
		if (!ts->t[i].root[0] || root[0] || !(p = strdup(path)))
			return 0;
		if (!(r = strdup(root))) {
			free(p);
			return 0;
		}
		free(ts->t[i].path);
		free(ts->t[i].root);
		ts->t[i].path = p;
		ts->t[i].root = r;
		ts->t[i].implicit &= implicit;
		return 0;
	}
	t = realloc(ts->t, (size_t)(ts->n + 1) * sizeof(*t));
	if (!t)
		return -ENOMEM;
	ts->t = t;
	t = &ts->t[ts->n];
	memset(t, 0, sizeof(*t));
	t->path = strdup(path);
	t->root = strdup(root);
	if (!t->path || !t->root) {
		free(t->path);
		free(t->root);
		return -ENOMEM;
	}
	t->pid = pid;
	t->implicit = implicit;
	t->dev = st.st_dev;
	t->ino = st.st_ino;
	snprintf(t->comm, sizeof(t->comm), "%s", comm ? comm : "");
	ts->n++;
	return 0;
}

static void read_comm(pid_t pid, char *comm, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	comm[0] = 0;
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(comm, (int)len, f))
		comm[strcspn(comm, "\n")] = 0;
	fclose(f);
}

/* The executable of PID as a path that opens from here, and its root
 * ("/proc/PID/root", where its libraries are). The link's text is the path
 * as seen from OUR root (the kernel resolves it against the reader's root):
 * for a process in another mount namespace, its path inside, to be opened
 * through /proc/PID/root; for one in a chroot, the host's path to its file,
 * which /proc/PID/root would prefix with the chroot a second time. So the
 * candidates are checked against the file's identity, and the link itself
 * (which opens the very file) is the last resort. Returns 0 or -errno. */
static int exe_of(pid_t pid, char *out, size_t len, char *root, size_t rootlen)
{
	char link[64], target[PATH_MAX];
	struct stat exe, st;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = 0;
	if (stat(link, &exe))
		return -errno;
	snprintf(root, rootlen, "/proc/%d/root", pid);
	if (strstr(target, " (deleted)")) {
		/* Upgraded or removed since it started: the file lives on
		 * only through the link itself. */
		snprintf(out, len, "%s", link);
		return 0;
	}
	if ((size_t)snprintf(out, len, "%s%s", root, target) < len && !stat(out, &st) &&
	    st.st_dev == exe.st_dev && st.st_ino == exe.st_ino)
		return 0;
	if ((size_t)snprintf(out, len, "%s", target) < len && !stat(out, &st) &&
	    st.st_dev == exe.st_dev && st.st_ino == exe.st_ino)
		return 0;
	snprintf(out, len, "%s", link);
	return 0;
}

int nt_targets_add_pid(struct nt_targets *ts, const char *cmd, pid_t pid)
{
	char path[PATH_MAX + 64], root[64], comm[16];
	char dir[64];
	int rc;

	snprintf(dir, sizeof(dir), "/proc/%d", pid);
	if (access(dir, F_OK)) {
		fprintf(stderr, "nodetap %s: pid %d: no such process\n", cmd, pid);
		return NT_EXIT_RUNTIME;
	}
	read_comm(pid, comm, sizeof(comm));
	rc = exe_of(pid, path, sizeof(path), root, sizeof(root));
	if (rc) {
		fprintf(stderr, "nodetap %s: pid %d (%s): cannot read its executable: %s "
			"(a kernel thread, or it exited?)\n", cmd, pid, comm, strerror(-rc));
		return NT_EXIT_RUNTIME;
	}
	rc = add(ts, path, root, pid, comm, false);
	if (rc) {
		fprintf(stderr, "nodetap %s: pid %d (%s): cannot open %s: %s\n", cmd, pid, comm,
			path, strerror(-rc));
		return NT_EXIT_RUNTIME;
	}
	return 0;
}

/* Every running node executable, by /proc/PID/exe. */
static void scan_running(struct nt_targets *ts)
{
	DIR *d = opendir("/proc");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[PATH_MAX + 64], root[64], link[64], target[PATH_MAX];
		pid_t pid = (pid_t)atoi(e->d_name);
		ssize_t n;

		if (pid <= 0 || pid == getpid())
			continue;
		snprintf(link, sizeof(link), "/proc/%d/exe", pid);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		if (!nt_looks_like_node(strtok(target, " ")))
			continue;
		pid_t *np = realloc(ts->node_pids, (size_t)(ts->nnode_pids + 1) * sizeof(*np));

		if (np) {
			ts->node_pids = np;
			ts->node_pids[ts->nnode_pids++] = pid;
		}
		if (exe_of(pid, path, sizeof(path), root, sizeof(root)))
			continue;
		add(ts, path, root, -1, NULL, true); /* it may have exited: skip quietly */
	}
	closedir(d);
}

int nt_targets_add_exe(struct nt_targets *ts, pid_t pid)
{
	char path[PATH_MAX + 64], root[64], link[64], target[PATH_MAX];
	struct stat exe, st;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0 || stat(link, &exe))
		return -ESRCH;
	target[n] = 0;
	/* Our own path to the same file first: the process may exit before
	 * the probes are placed (see add()). */
	if (!stat(target, &st) && st.st_dev == exe.st_dev && st.st_ino == exe.st_ino)
		return add(ts, target, "", -1, NULL, true);
	if (exe_of(pid, path, sizeof(path), root, sizeof(root)))
		return -ESRCH;
	return add(ts, path, root, -1, NULL, true);
}

/* NAME resolved like execvp does; 0 and the path in OUT if found. */
static int which(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	if (strchr(name, '/')) {
		if (!realpath(name, out))
			return -1;
		return access(out, X_OK);
	}
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");

		if (n && (size_t)snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, name) < sizeof(buf) &&
		    !access(buf, X_OK) && realpath(buf, out) && strlen(out) < len)
			return 0;
		path += n;
		if (*path == ':')
			path++;
	}
	return -1;
}

int nt_targets_find(const struct nt_opts *o, struct nt_targets *ts)
{
	char path[PATH_MAX];
	int rc;

	memset(ts, 0, sizeof(*ts));
	for (int i = 0; i < o->npids; i++)
		if ((rc = nt_targets_add_pid(ts, o->cmd, o->pids[i])))
			return rc;
	for (int i = 0; i < o->nbinaries; i++) {
		if (!realpath(o->binaries[i], path) || add(ts, path, "", -1, NULL, false)) {
			fprintf(stderr, "nodetap %s: --binary %s: %s\n", o->cmd, o->binaries[i],
				strerror(errno ? errno : ENOENT));
			return NT_EXIT_RUNTIME;
		}
	}
	if (o->npids)
		return 0;
	scan_running(ts);
	if (!which("node", path, sizeof(path)))
		add(ts, path, "", -1, NULL, true);
	/* `-- /opt/node-v22/bin/node app.js` or `-- ip netns exec X node ...`:
	 * the node that COMMAND runs may be neither running nor on PATH. Its
	 * own executable is always tried (whatever its name); later arguments
	 * only when they look like node. */
	for (char **a = o->command; a && *a; a++)
		if ((a == o->command || nt_looks_like_node(*a)) && !which(*a, path, sizeof(path)))
			add(ts, path, "", -1, NULL, true);
	return 0;
}

void nt_targets_free(struct nt_targets *ts)
{
	for (int i = 0; i < ts->n; i++) {
		free(ts->t[i].path);
		free(ts->t[i].root);
	}
	free(ts->t);
	free(ts->node_pids);
	memset(ts, 0, sizeof(*ts));
}
