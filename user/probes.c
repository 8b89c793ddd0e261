#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "elfsym.h"
#include "escape.h"
#include "probes.h"

/* Directories the dynamic linker searches on Debian-like systems; looked up
 * under the process's root, so that a container's libuv is the one found. */
static const char *const lib_dirs[] = {
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64",
	"/lib", "/usr/lib", "/usr/local/lib",
};

static struct nt_probe_result *new_result(struct nt_probes *p, const char *func,
					  const char *file, pid_t pid)
{
	struct nt_probe_result *r = realloc(p->res, (size_t)(p->nres + 1) * sizeof(*r));

	if (!r)
		return NULL;
	p->res = r;
	r = &p->res[p->nres++];
	memset(r, 0, sizeof(*r));
	r->func = func;
	r->file = strdup(file);
	r->pid = pid;
	return r;
}

static struct nt_probe_result *target_result(struct nt_probes *p, const char *func,
					     const char *file, const struct nt_target *t)
{
	struct nt_probe_result *r = new_result(p, func, file, t->pid);

	if (r)
		r->implicit = t->implicit;
	return r;
}

/* A libuv shared library mapped by PID, as a path from here. */
static int libuv_of_pid(pid_t pid, char *out, size_t len)
{
	char maps[64], line[PATH_MAX + 256];
	FILE *f;
	int rc = -ENOENT;

	snprintf(maps, sizeof(maps), "/proc/%d/maps", pid);
	f = fopen(maps, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *path = strchr(line, '/'), *base;

		if (!path)
			continue;
		path[strcspn(path, "\n")] = 0;
		/* The file's own name, not a directory on its way. */
		base = strrchr(path, '/') + 1;
		if (strncmp(base, "libuv", 5) || !strstr(base, ".so"))
			continue;
		snprintf(out, len, "/proc/%d/root%s", pid, path);
		rc = 0;
		break;
	}
	fclose(f);
	return rc;
}

/* libuv named in the executable's DT_NEEDED, found in the usual places. */
static int libuv_of_binary(const struct nt_elf *e, const char *root, char *out, size_t len)
{
	for (size_t i = 0; i < e->nneeded; i++) {
		if (!strstr(e->needed[i], "libuv"))
			continue;
		for (size_t d = 0; d < sizeof(lib_dirs) / sizeof(lib_dirs[0]); d++) {
			snprintf(out, len, "%s%s/%s", root, lib_dirs[d], e->needed[i]);
			if (!access(out, R_OK))
				return 0;
		}
	}
	return -ENOENT;
}

/* Find SPEC's function in E (opened from PATH); fills the offset or a reason. */
static int resolve(const char *path, const struct nt_elf *e, const struct nt_probe_spec *spec,
		   uint64_t *offset, char *reason, size_t len)
{
	struct nt_sym_match m[8];
	int n = nt_elf_find_func(e, spec->func, m, 8);

	if (n < 0) {
		snprintf(reason, len, "reading symbols failed: %s", strerror(-n));
		return n;
	}
	if (n == 0 && spec->locate)
		return spec->locate(path, e, offset, reason, len);
	if (n == 0) {
		snprintf(reason, len, "no symbol %s (stripped binary, or not this kind of program)",
			 spec->func);
		return -ENOENT;
	}
	/* Entry points come first; a .cold or .part piece is never one. */
	if (m[0].clone == NT_CLONE_COLD || m[0].clone == NT_CLONE_PART) {
		snprintf(reason, len, "only a split-off fragment of %s exists (%s), no entry point",
			 spec->func, m[0].sym->name);
		return -ENOENT;
	}
	if (m[0].file_offset == UINT64_MAX) {
		snprintf(reason, len, "%s is at 0x%llx, outside every loadable segment", spec->func,
			 (unsigned long long)m[0].sym->addr);
		return -ENOEXEC;
	}
	*offset = m[0].file_offset;
	return 0;
}

static void place_one(struct nt_probes *p, const struct nt_probe_spec *spec,
		      const struct nt_target *t, struct nt_elf *exe, uint64_t cookie)
{
	char libpath[PATH_MAX + 64], reason[160], exereason[160];
	struct nt_elf *lib = NULL;
	const char *file = t->path;
	struct nt_probe_result *r;
	char err[256];
	uint64_t off = 0;
	int rc;

	rc = resolve(t->path, exe, spec, &off, exereason, sizeof(exereason));
	if (rc == -ENOENT && spec->in_libuv) {
		/* A distro node may link libuv as a shared library. */
		int lr = t->pid > 0 ? libuv_of_pid(t->pid, libpath, sizeof(libpath))
				    : libuv_of_binary(exe, t->root, libpath, sizeof(libpath));

		if (!lr && !nt_elf_open(libpath, &lib, err, sizeof(err))) {
			rc = resolve(libpath, lib, spec, &off, reason, sizeof(reason));
			file = libpath;
		}
	}
	r = target_result(p, spec->func, file, t);
	if (!r) {
		nt_elf_free(lib);
		return;
	}
	if (rc) {
		r->err = rc;
		snprintf(r->reason, sizeof(r->reason), "%s", file == t->path ? exereason : reason);
		p->failed++;
		nt_elf_free(lib);
		return;
	}
	r->offset = off;
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = spec->retprobe, .bpf_cookie = cookie);
	struct bpf_link *link = bpf_program__attach_uprobe_opts(spec->prog, t->pid, file, (size_t)off, &uo);

	if (!link) {
		r->err = -errno;
		snprintf(r->reason, sizeof(r->reason), "the kernel refused the uprobe: %s", strerror(errno));
		p->failed++;
	} else {
		struct bpf_link **l = realloc(p->links, (size_t)(p->nlinks + 1) * sizeof(*l));

		if (!l) {
			bpf_link__destroy(link);
			r->err = -ENOMEM;
			snprintf(r->reason, sizeof(r->reason), "out of memory");
			p->failed++;
		} else {
			p->links = l;
			p->links[p->nlinks++] = link;
			p->placed++;
		}
	}
	nt_elf_free(lib);
}

/* Targets often share a file (-p of several processes of one node): index
 * each file once per call. */
struct elf_cache {
	const struct nt_target *t;  /* the target it was opened for */
	struct nt_elf *e;
};

static struct nt_elf *cached_elf(struct elf_cache *cache, int n, const struct nt_target *t)
{
	for (int i = 0; i < n; i++)
		if (cache[i].e && cache[i].t->dev == t->dev && cache[i].t->ino == t->ino)
			return cache[i].e;
	return NULL;
}

int nt_probes_place(struct nt_probes *p, const struct nt_probe_spec *specs, int nspecs,
		    const struct nt_targets *targets)
{
	return nt_probes_place_cookies(p, specs, NULL, nspecs, targets);
}

int nt_probes_place_cookies(struct nt_probes *p, const struct nt_probe_spec *specs,
			    const uint64_t *cookies, int nspecs, const struct nt_targets *targets)
{
	struct elf_cache *cache = calloc((size_t)(targets->n ? targets->n : 1), sizeof(*cache));

	if (!cache)
		return p->placed;
	for (int i = 0; i < targets->n; i++) {
		const struct nt_target *t = &targets->t[i];
		struct nt_elf *exe = cached_elf(cache, i, t);
		char err[256];

		if (!exe && nt_elf_open(t->path, &exe, err, sizeof(err))) {
			for (int s = 0; s < nspecs; s++) {
				struct nt_probe_result *r = target_result(p, specs[s].func, t->path, t);

				if (!r)
					continue;
				r->err = -ENOEXEC;
				snprintf(r->reason, sizeof(r->reason), "%s", err);
				p->failed++;
			}
			continue;
		}
		cache[i] = (struct elf_cache){ t, exe };
		for (int s = 0; s < nspecs; s++)
			place_one(p, &specs[s], t, exe, cookies ? cookies[s] : 0);
	}
	/* Free each file once: later entries may share an earlier one's. */
	for (int i = 0; i < targets->n; i++)
		if (cache[i].e && cached_elf(cache, i, cache[i].t) != cache[i].e)
			nt_elf_free(cache[i].e);
	free(cache);
	return p->placed;
}

void nt_probes_report(const struct nt_probes *p, const char *cmd, bool json, bool verbose)
{
	for (int i = 0; i < p->nres; i++) {
		const struct nt_probe_result *r = &p->res[i];

		if (json) {
			struct nt_json j;

			nt_json_begin(&j, stdout, "probe");
			nt_json_str(&j, "function", r->func);
			nt_json_str(&j, "file", r->file ? r->file : "");
			nt_json_i64(&j, "pid", r->pid);
			nt_json_bool(&j, "placed", r->err == 0);
			if (r->err)
				nt_json_str(&j, "reason", r->reason);
			else
				nt_json_u64(&j, "offset", r->offset);
			nt_json_end(&j);
			continue;
		}
		if ((r->err == 0 || r->implicit) && !verbose)
			continue;
		fprintf(stderr, "nodetap %s: %s %s in ", cmd, r->err ? "cannot place" : "placed", r->func);
		nt_fputs_escaped(stderr, r->file ? r->file : "?", PATH_MAX);
		if (r->pid > 0)
			fprintf(stderr, " (pid %d)", r->pid);
		if (r->err)
			fprintf(stderr, ": %s\n", r->reason);
		else
			fprintf(stderr, " at file offset 0x%llx\n", (unsigned long long)r->offset);
	}
}

void nt_probes_destroy(struct nt_probes *p)
{
	for (int i = 0; i < p->nlinks; i++)
		bpf_link__destroy(p->links[i]);
	for (int i = 0; i < p->nres; i++)
		free(p->res[i].file);
	free(p->links);
	free(p->res);
	memset(p, 0, sizeof(*p));
}
