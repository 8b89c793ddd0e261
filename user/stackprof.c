/* stackprof: see stackprof.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nodetap.h"
#include "stackfmt.h"
#include "stackprof.h"

#define LABEL_MAX 4096   /* bytes of a name kept (a C++ name can be long) */

/* A copy of at most LEN bytes of S, raw: each output escapes as its
 * format needs. */
static char *dupn(const char *s, size_t len)
{
	return strndup(s, len);
}

void nt_split_js_name(const char *name, char *buf, size_t len, const char **fn,
		      const char **url, unsigned *line, unsigned *col)
{
	char *sp, *c1, *c2, *end;

	*fn = *url = "";
	*line = *col = 0;
	if (!len)
		return;
	snprintf(buf, len, "%s", name);
	*fn = buf;
	/* The file is the last word ("fn /srv/a.js:3:10"): V8 writes the
	 * function's name, a space, then where it is. */
	sp = strrchr(buf, ' ');
	if (!sp)
		return;
	*sp = '\0';
	*url = sp + 1;
	c2 = strrchr(sp + 1, ':');
	if (c2 && c2[1]) {
		unsigned long v = strtoul(c2 + 1, &end, 10);

		if (!*end) {
			*c2 = '\0';
			c1 = strrchr(sp + 1, ':');
			if (c1 && c1[1]) {
				unsigned long v1 = strtoul(c1 + 1, &end, 10);

				if (!*end) {
					*c1 = '\0';
					*line = (unsigned)v1;
					*col = (unsigned)v;
					return;
				}
			}
			*line = (unsigned)v;
		}
	}
}

static int set_js_parts(struct nt_pframe *f, const char *name)
{
	size_t len = strlen(name) + 2;
	char *buf = malloc(len);
	const char *fn, *url;

	if (!buf)
		return -ENOMEM;
	nt_split_js_name(name, buf, len, &fn, &url, &f->js_line, &f->js_col);
	f->js_fn = dupn(*fn ? fn : "(anonymous)", LABEL_MAX);
	f->js_url = dupn(url, LABEL_MAX);
	free(buf);
	return f->js_fn && f->js_url ? 0 : -ENOMEM;
}

/* Fill F from a named frame FR. */
static int set_frame(struct nt_pframe *f, const struct nt_frame *fr)
{
	const char *name = fr->name ? fr->name : "[unknown]";
	char buf[LABEL_MAX + 32];

	switch (fr->kind) {
	case NT_FRAME_JS:
		f->kind = NT_PF_JS;
		f->optimized = fr->js_optimized;
		f->app = nt_frame_is_app(fr);
		/* V8 writes anonymous functions as " file:line:col". */
		if (name[0] == ' ') {
			snprintf(buf, sizeof(buf), "(anonymous)%s", name);
			name = buf;
		}
		if (set_js_parts(f, name))
			return -ENOMEM;
		break;
	case NT_FRAME_KERNEL:
		f->kind = NT_PF_KERNEL;
		break;
	case NT_FRAME_NATIVE:
		f->kind = NT_PF_NATIVE;
		/* Every function V8 interprets runs in one of these builtins:
		 * say so rather than leave a bare builtin name. */
		if (!strncmp(name, "Builtins_Interpreter", 20)) {
			f->kind = NT_PF_INTERP;
			snprintf(buf, sizeof(buf), "[interpreted] %.*s", LABEL_MAX, name);
			name = buf;
		}
		break;
	case NT_FRAME_UNNAMED:
		f->kind = NT_PF_UNNAMED;
		/* Code in an anonymous executable mapping with no perf map
		 * entry: V8's JIT. Its offset means nothing across runs and
		 * would split one function into many frames. */
		if (fr->module && !strcmp(fr->module, "[jit]")) {
			f->kind = NT_PF_JIT;
			name = "[jit]";
		}
		break;
	default:
		f->kind = NT_PF_MISSING;
		break;
	}
	f->label = dupn(name, LABEL_MAX);
	if (fr->module && fr->kind == NT_FRAME_NATIVE)
		f->module = dupn(fr->module, LABEL_MAX);
	return f->label ? 0 : -ENOMEM;
}

static int set_plain(struct nt_pframe *f, enum nt_pframe_kind kind, const char *raw, size_t len)
{
	f->kind = kind;
	f->label = dupn(raw, len);
	return f->label ? 0 : -ENOMEM;
}

static void frames_free(struct nt_pframe *v, int n)
{
	for (int i = 0; i < n; i++) {
		free(v[i].label);
		free(v[i].module);
		free(v[i].js_fn);
		free(v[i].js_url);
	}
	free(v);
}

/* Add the stack of user frames UIPS (NU) and kernel frames KIPS (NK),
 * innermost first, with C's key and count. */
static long add_frames(struct nt_profile *p, struct nt_symbolizer *sym, const struct nt_pcount *c,
		       const unsigned long long *uips, int nu, const unsigned long long *kips, int nk)
{
	int n = 1 + (nu ? nu : 1) + nk, k = 0, err = 0;
	struct nt_pframe *fr = calloc((size_t)n, sizeof(*fr));
	struct nt_pstack *v;

	if (!fr)
		return -1;
	err |= set_plain(&fr[k++], NT_PF_PROCESS, c->comm, NT_COMM_LEN);
	if (!nu)
		err |= set_plain(&fr[k++], NT_PF_MISSING, "[no user stack]", sizeof("[no user stack]"));
	for (int i = nu - 1; i >= 0; i--) {
		struct nt_frame f;

		nt_symbolize_user(sym, c->pid, uips[i], &f);
		err |= set_frame(&fr[k++], &f);
	}
	for (int i = nk - 1; i >= 0; i--) {
		struct nt_frame f;

		nt_symbolize_kernel(sym, kips[i], &f);
		err |= set_frame(&fr[k++], &f);
	}
	v = err ? NULL : realloc(p->stacks, (p->nstacks + 1) * sizeof(*v));
	if (!v) {
		frames_free(fr, n);
		return -1;
	}
	p->stacks = v;
	v[p->nstacks] = (struct nt_pstack){
		.pid = c->pid, .user_stack = c->user_stack, .kernel_stack = c->kernel_stack,
		.count = c->count, .nframes = n, .frames = fr,
	};
	p->total += c->count;
	return (long)p->nstacks++;
}

long nt_profile_add(struct nt_profile *p, struct nt_symbolizer *sym, int stacks_fd,
		    const struct nt_pcount *c)
{
	unsigned long long uips[NT_MAX_STACK_DEPTH], kips[NT_MAX_STACK_DEPTH];
	int nu = nt_stack_read(stacks_fd, c->user_stack, uips);
	int nk = nt_stack_read(stacks_fd, c->kernel_stack, kips);

	return add_frames(p, sym, c, uips, nu, kips, nk);
}

int nt_profile_rename(struct nt_profile *p, size_t i, struct nt_symbolizer *sym,
		      const unsigned long long *ips, int n)
{
	struct nt_profile tmp = { 0 };
	struct nt_pstack *s = &p->stacks[i];
	struct nt_pcount c = { .pid = s->pid, .user_stack = s->user_stack,
			       .kernel_stack = s->kernel_stack, .comm = s->frames[0].label };

	if (add_frames(&tmp, sym, &c, ips, n, NULL, 0) < 0)
		return -ENOMEM;
	frames_free(s->frames, s->nframes);
	s->frames = tmp.stacks[0].frames;
	s->nframes = tmp.stacks[0].nframes;
	free(tmp.stacks);
	return 0;
}

long nt_profile_add_ips(struct nt_profile *p, struct nt_symbolizer *sym, const struct nt_pcount *c,
			const unsigned long long *ips, int n)
{
	if (n < 0)
		n = 0;
	if (n > NT_MAX_STACK_DEPTH)
		n = NT_MAX_STACK_DEPTH;
	return add_frames(p, sym, c, ips, n, NULL, 0);
}

static int key_cmp(const struct nt_pstack *a, pid_t pid, int u, int k)
{
	if (a->pid != pid)
		return a->pid < pid ? -1 : 1;
	if (a->user_stack != u)
		return a->user_stack < u ? -1 : 1;
	if (a->kernel_stack != k)
		return a->kernel_stack < k ? -1 : 1;
	return 0;
}

static const struct nt_profile *sort_profile;   /* for index_cmp */

static int index_cmp(const void *pa, const void *pb)
{
	const struct nt_pstack *b = &sort_profile->stacks[*(const size_t *)pb];

	return key_cmp(&sort_profile->stacks[*(const size_t *)pa], b->pid, b->user_stack,
		       b->kernel_stack);
}

long nt_profile_find(const struct nt_profile *p, pid_t pid, int user_stack, int kernel_stack)
{
	struct nt_profile *mp = (struct nt_profile *)p;   /* the index is a cache */
	size_t lo = 0, hi;

	if (p->nindex != p->nstacks) {
		size_t *ix = realloc(mp->index, (p->nstacks ? p->nstacks : 1) * sizeof(*ix));

		if (!ix)
			return -1;
		for (size_t i = 0; i < p->nstacks; i++)
			ix[i] = i;
		sort_profile = p;
		qsort(ix, p->nstacks, sizeof(*ix), index_cmp);
		mp->index = ix;
		mp->nindex = p->nstacks;
	}
	hi = p->nindex;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int r = key_cmp(&p->stacks[p->index[mid]], pid, user_stack, kernel_stack);

		if (!r)
			return (long)p->index[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

void nt_profile_free(struct nt_profile *p)
{
	for (size_t i = 0; i < p->nstacks; i++)
		frames_free(p->stacks[i].frames, p->stacks[i].nframes);
	free(p->stacks);
	free(p->samples);
	free(p->index);
	memset(p, 0, sizeof(*p));
}

/* ---- functions by self and total ------------------------------------------ */

struct fent {
	const struct nt_pframe *frame;
	uint64_t self, total;
	size_t last_stack;   /* the stack that last added to total (+1) */
};

/* Compares two frames by (label, kind) through pointers to a frame
 * pointer: elements of an array of frame pointers, or struct fents (whose
 * first member is the frame pointer). */
static int fent_cmp_label(const void *pa, const void *pb)
{
	const struct nt_pframe *a = *(const struct nt_pframe *const *)pa;
	const struct nt_pframe *b = *(const struct nt_pframe *const *)pb;
	int r = strcmp(a->label, b->label);

	return r ? r : (int)a->kind - (int)b->kind;
}

static int func_cmp(const void *pa, const void *pb)
{
	const struct nt_pfunc *a = pa, *b = pb;

	if (a->self != b->self)
		return a->self < b->self ? 1 : -1;
	if (a->total != b->total)
		return a->total < b->total ? 1 : -1;
	return strcmp(a->frame->label, b->frame->label);
}

int nt_profile_functions(const struct nt_profile *p, struct nt_pfunc **out, size_t *n)
{
	size_t nall = 0, nu = 0;
	const struct nt_pframe **all;
	struct fent *u;
	struct nt_pfunc *r;

	*out = NULL;
	*n = 0;
	if (nt_profile_frame_ptrs(p, &all, &nall))
		return -ENOMEM;
	/* The distinct (label, kind), then each stack's frames looked up. */
	qsort(all, nall, sizeof(*all), fent_cmp_label);
	u = calloc(nall ? nall : 1, sizeof(*u));
	if (!u) {
		free(all);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nall; i++)
		if (!nu || fent_cmp_label(&u[nu - 1].frame, &all[i]))
			u[nu++].frame = all[i];
	free(all);
	for (size_t i = 0; i < p->nstacks; i++) {
		const struct nt_pstack *s = &p->stacks[i];

		for (int j = 1; j < s->nframes; j++) {
			const struct nt_pframe *key = &s->frames[j];
			struct fent probe = { .frame = key }, *e;

			e = bsearch(&probe, u, nu, sizeof(*u), fent_cmp_label);
			if (!e)
				continue;   /* cannot happen: every frame is in u */
			if (e->last_stack != i + 1) {
				e->total += s->count;
				e->last_stack = i + 1;
			}
			if (j == s->nframes - 1)
				e->self += s->count;
		}
	}
	r = calloc(nu ? nu : 1, sizeof(*r));
	if (!r) {
		free(u);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nu; i++)
		r[i] = (struct nt_pfunc){ .frame = u[i].frame, .self = u[i].self, .total = u[i].total };
	free(u);
	qsort(r, nu, sizeof(*r), func_cmp);
	*out = r;
	*n = nu;
	return 0;
}

/* ---- call tree ----------------------------------------------------------- */

static bool same_frame(const struct nt_pframe *a, const struct nt_pframe *b)
{
	return a->kind == b->kind && !strcmp(a->label, b->label);
}

int nt_ptree_build(const struct nt_profile *p, struct nt_ptree *t)
{
	size_t cap = 64;

	memset(t, 0, sizeof(*t));
	t->nodes = calloc(cap, sizeof(*t->nodes));
	t->leaf = calloc(p->nstacks ? p->nstacks : 1, sizeof(*t->leaf));
	if (!t->nodes || !t->leaf) {
		nt_ptree_free(t);
		return -ENOMEM;
	}
	t->n = 1;   /* the root */
	for (size_t i = 0; i < p->nstacks; i++) {
		const struct nt_pstack *s = &p->stacks[i];
		size_t cur = 0;

		t->nodes[0].total += s->count;
		for (int j = 0; j < s->nframes; j++) {
			size_t c = t->nodes[cur].first_child, last = 0;

			while (c && !same_frame(t->nodes[c].frame, &s->frames[j])) {
				last = c;
				c = t->nodes[c].next_sibling;
			}
			if (!c) {
				if (t->n == cap) {
					struct nt_pnode *v = realloc(t->nodes, cap * 2 * sizeof(*v));

					if (!v) {
						nt_ptree_free(t);
						return -ENOMEM;
					}
					t->nodes = v;
					cap *= 2;
				}
				c = t->n++;
				t->nodes[c] = (struct nt_pnode){ .frame = &s->frames[j], .parent = cur };
				if (last)
					t->nodes[last].next_sibling = c;
				else
					t->nodes[cur].first_child = c;
			}
			t->nodes[c].total += s->count;
			cur = c;
		}
		t->nodes[cur].self += s->count;
		t->leaf[i] = cur;
	}
	return 0;
}

void nt_ptree_free(struct nt_ptree *t)
{
	free(t->nodes);
	free(t->leaf);
	memset(t, 0, sizeof(*t));
}

const char *nt_pframe_kind_name(enum nt_pframe_kind k)
{
	switch (k) {
	case NT_PF_PROCESS: return "process";
	case NT_PF_JS: return "js";
	case NT_PF_INTERP: return "interpreted";
	case NT_PF_JIT: return "jit";
	case NT_PF_NATIVE: return "native";
	case NT_PF_UNNAMED: return "unnamed";
	case NT_PF_KERNEL: return "kernel";
	default: return "unknown";   /* NT_PF_MISSING: "[unknown]" frames */
	}
}

int nt_profile_frame_ptrs(const struct nt_profile *p, const struct nt_pframe ***out, size_t *n)
{
	const struct nt_pframe **all;
	size_t nall = 0, k = 0;

	for (size_t i = 0; i < p->nstacks; i++)
		nall += (size_t)p->stacks[i].nframes - 1;   /* not the process */
	all = malloc((nall ? nall : 1) * sizeof(*all));
	if (!all)
		return -ENOMEM;
	for (size_t i = 0; i < p->nstacks; i++)
		for (int j = 1; j < p->stacks[i].nframes; j++)
			all[k++] = &p->stacks[i].frames[j];
	*out = all;
	*n = nall;
	return 0;
}
