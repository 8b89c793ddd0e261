/* The profile model (stackprof.c) and the folded output (folded.c): JS name
 * splitting, self/total counts, the call tree, folded lines merged and
 * escaped. */
#include <stdlib.h>
#include "check.h"
#include "folded.h"
#include "stackprof.h"

/* Add a stack of COUNT samples with frames LABELS (root first; NULL ends),
 * each NATIVE but the first (the process). */
static void add(struct nt_profile *p, int pid, uint64_t count, const char *const *labels)
{
	int n = 0;
	struct nt_pstack *v;

	while (labels[n])
		n++;
	v = realloc(p->stacks, (p->nstacks + 1) * sizeof(*v));
	if (!v)
		abort();
	p->stacks = v;
	v = &p->stacks[p->nstacks++];
	*v = (struct nt_pstack){ .pid = pid, .user_stack = (int)p->nstacks, .kernel_stack = -1,
				 .count = count, .nframes = n, .frames = calloc((size_t)n, sizeof(*v->frames)) };
	for (int i = 0; i < n; i++) {
		v->frames[i].label = strdup(labels[i]);
		v->frames[i].kind = i ? NT_PF_NATIVE : NT_PF_PROCESS;
	}
	p->total += count;
}

TEST(stackprof_split_js_name)
{
	char buf[128];
	const char *fn, *url;
	unsigned line, col;

	nt_split_js_name("hot /srv/app.js:10:3", buf, sizeof(buf), &fn, &url, &line, &col);
	CHECK_EQ_STR(fn, "hot");
	CHECK_EQ_STR(url, "/srv/app.js");
	CHECK_EQ_INT(line, 10);
	CHECK_EQ_INT(col, 3);
	nt_split_js_name("emit node:events:519:28", buf, sizeof(buf), &fn, &url, &line, &col);
	CHECK_EQ_STR(url, "node:events");
	CHECK_EQ_INT(line, 519);
	nt_split_js_name("fn a.js:7", buf, sizeof(buf), &fn, &url, &line, &col);
	CHECK_EQ_STR(url, "a.js");
	CHECK_EQ_INT(line, 7);
	CHECK_EQ_INT(col, 0);
	nt_split_js_name("hotThree :3:25", buf, sizeof(buf), &fn, &url, &line, &col);
	CHECK_EQ_STR(fn, "hotThree");
	CHECK_EQ_STR(url, "");
	CHECK_EQ_INT(line, 3);
	CHECK_EQ_INT(col, 25);
	nt_split_js_name("lonely", buf, sizeof(buf), &fn, &url, &line, &col);
	CHECK_EQ_STR(fn, "lonely");
	CHECK_EQ_STR(url, "");
}

TEST(stackprof_functions_and_tree)
{
	struct nt_profile p = { 0 };
	struct nt_pfunc *f = NULL;
	struct nt_ptree t;
	size_t n = 0;

	add(&p, 1, 6, (const char *const[]){ "node", "main", "a", "b", NULL });
	add(&p, 1, 3, (const char *const[]){ "node", "main", "a", NULL });
	add(&p, 1, 1, (const char *const[]){ "node", "main", "b", "b", NULL });   /* recursion */
	CHECK(nt_profile_functions(&p, &f, &n) == 0);
	CHECK_EQ_INT(n, 3);
	if (n == 3) {
		/* by self: b 7 (6 + 1), a 3, main 0; b's total counts a stack once */
		CHECK_EQ_STR(f[0].frame->label, "b");
		CHECK_EQ_INT(f[0].self, 7);
		CHECK_EQ_INT(f[0].total, 7);
		CHECK_EQ_STR(f[1].frame->label, "a");
		CHECK_EQ_INT(f[1].self, 3);
		CHECK_EQ_INT(f[1].total, 9);
		CHECK_EQ_STR(f[2].frame->label, "main");
		CHECK_EQ_INT(f[2].total, 10);
	}
	free(f);
	CHECK(nt_ptree_build(&p, &t) == 0);
	/* root, node, main, a, a>b, b, b>b */
	CHECK_EQ_INT(t.n, 7);
	CHECK_EQ_INT(t.nodes[0].total, 10);
	CHECK_EQ_INT(t.nodes[t.leaf[0]].self, 6);
	CHECK_EQ_STR(t.nodes[t.nodes[t.leaf[0]].parent].frame->label, "a");
	CHECK(t.leaf[1] == t.nodes[t.leaf[0]].parent);
	nt_ptree_free(&t);
	CHECK_EQ_INT(nt_profile_find(&p, 1, 2, -1), 1);
	CHECK_EQ_INT(nt_profile_find(&p, 2, 2, -1), -1);
	nt_profile_free(&p);
}

TEST(stackprof_folded)
{
	struct nt_profile p = { 0 };
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	add(&p, 1, 2, (const char *const[]){ "node", "main", "[jit]", NULL });
	add(&p, 1, 3, (const char *const[]){ "node", "main", "[jit]", NULL });   /* merged */
	add(&p, 1, 1, (const char *const[]){ "node", "a;b", "x\033[2J", NULL });
	add(&p, 1, 0, (const char *const[]){ "node", "never", NULL });        /* no samples */
	f = open_memstream(&out, &len);
	CHECK(f && nt_folded_write(f, &p) == 0);
	if (f)
		fclose(f);
	CHECK_EQ_STR(out, "node;a\\x3bb;x\\x1b[2J 1\nnode;main;[jit] 5\n");
	free(out);
	nt_profile_free(&p);
}
