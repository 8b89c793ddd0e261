/* V8's perf map: both naming styles, hostile content (malformed and
 * overlong lines), growth between reads, later lines winning, and the
 * checks that keep a root reader from being pointed at the wrong file. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "perfmap.h"

struct tmp {
	char dir[64];
	char path[128];
};

static void tmp_init(struct tmp *t)
{
	strcpy(t->dir, "/tmp/nt-perfmap-XXXXXX");
	if (!mkdtemp(t->dir))
		abort();
	snprintf(t->path, sizeof(t->path), "%s/perf-1.map", t->dir);
}

static void tmp_done(struct tmp *t)
{
	unlink(t->path);
	rmdir(t->dir);
}

static void write_file(const char *path, const char *mode, const char *text, size_t len)
{
	FILE *f = fopen(path, mode);

	if (!f)
		abort();
	fwrite(text, 1, len, f);
	fclose(f);
}

static void write_str(const char *path, const char *mode, const char *text)
{
	write_file(path, mode, text, strlen(text));
}

/* Open and read PATH as the current uid; NULL on failure. */
static struct nt_perfmap *load(const char *path)
{
	struct nt_perfmap *pm;
	char err[256];

	if (nt_perfmap_open(AT_FDCWD, path, getuid(), &pm, err, sizeof(err))) {
		fprintf(stderr, "  %s\n", err);
		return NULL;
	}
	if (nt_perfmap_refresh(pm, err, sizeof(err)) < 0)
		fprintf(stderr, "  %s\n", err);
	return pm;
}

static const char *name_at(struct nt_perfmap *pm, uint64_t addr)
{
	const struct nt_perfmap_sym *s = nt_perfmap_find(pm, addr);

	return s ? s->name : "(none)";
}

TEST(perfmap_v22_style)
{
	struct tmp t;
	struct nt_perfmap *pm;
	const struct nt_perfmap_sym *s;

	tmp_init(&t);
	write_str(t.path, "w",
		  "18c4000 300 Builtin:DeoptimizationEntry_Eager\n"
		  "3ff43d5ce2a6 23 JS:~hot /srv/app.js:1:13\n"
		  "7f30337c5b80 1d4 JS:*hot /srv/app.js:1:13\n"
		  "7f30337c5900 118 JS:^warm /srv/app.js:5:1\n"
		  "7f30337c6000 40 JS:+maglev /srv/app.js:9:1\n"
		  "7f30337c7000 40 JS:*'osr /srv/app.js:12:1\n"
		  "258a1e5cb10e 183 JS:~ node:internal/main/eval_string:1:1\n"
		  "3ff43d5c8c7e 45 Script:~ [eval]:1:1\n"
		  "1900000 20 BytecodeHandler:Ldar\n"
		  "1a00000 20 RegExp:[a-z]+\n");
	pm = load(t.path);
	CHECK(pm != NULL);
	if (!pm)
		goto out;
	s = nt_perfmap_find(pm, 0x3ff43d5ce2a6 + 0x10);
	CHECK(s && s->js && !s->optimized);
	CHECK_EQ_STR(s ? s->name : NULL, "hot /srv/app.js:1:13");
	s = nt_perfmap_find(pm, 0x7f30337c5b80);
	CHECK(s && s->js && s->optimized);
	CHECK_EQ_STR(s ? s->name : NULL, "hot /srv/app.js:1:13");
	s = nt_perfmap_find(pm, 0x7f30337c5900 + 0x117);
	CHECK(s && s->js && !s->optimized);   /* Sparkplug is not optimized */
	CHECK_EQ_STR(s ? s->name : NULL, "warm /srv/app.js:5:1");
	s = nt_perfmap_find(pm, 0x7f30337c6000);
	CHECK(s && s->optimized);              /* Maglev is */
	s = nt_perfmap_find(pm, 0x7f30337c7000);   /* v24's OSR mark goes too */
	CHECK(s && s->js && s->optimized);
	CHECK_EQ_STR(s ? s->name : NULL, "osr /srv/app.js:12:1");
	CHECK_EQ_STR(name_at(pm, 0x258a1e5cb10e),
		     "(anonymous) node:internal/main/eval_string:1:1");
	/* Other tags stay in the name. */
	s = nt_perfmap_find(pm, 0x18c4000 + 0x2ff);
	CHECK(s && !s->js);
	CHECK_EQ_STR(s ? s->name : NULL, "Builtin:DeoptimizationEntry_Eager");
	CHECK_EQ_STR(name_at(pm, 0x3ff43d5c8c7e), "Script:~ [eval]:1:1");
	CHECK_EQ_STR(name_at(pm, 0x1900000), "BytecodeHandler:Ldar");
	CHECK_EQ_STR(name_at(pm, 0x1a00000), "RegExp:[a-z]+");
	/* Ends are exclusive; gaps find nothing. */
	CHECK(nt_perfmap_find(pm, 0x18c4000 + 0x300) == NULL);
	CHECK(nt_perfmap_find(pm, 0x18c3fff) == NULL);
	CHECK(nt_perfmap_find(pm, 0) == NULL);
	nt_perfmap_free(pm);
out:
	tmp_done(&t);
}

TEST(perfmap_old_style)
{
	struct tmp t;
	struct nt_perfmap *pm;
	const struct nt_perfmap_sym *s;

	tmp_init(&t);
	write_str(t.path, "w",
		  "3a5c0e8043c0 1e LazyCompile:~fn /srv/app.js:10\n"
		  "3a5c0e804500 80 LazyCompile:*fast /srv/app.js:20\n"
		  "3a5c0e804600 10 Function:~inner /srv/lib.js:3\n"
		  "3a5c0e804700 10 Stub:CEntryStub\n"
		  "0x3a5c0e804800 0x10 LazyCompile:~hexprefixed a.js:1\r\n");
	pm = load(t.path);
	CHECK(pm != NULL);
	if (!pm)
		goto out;
	s = nt_perfmap_find(pm, 0x3a5c0e8043c0);
	CHECK(s && s->js && !s->optimized);
	CHECK_EQ_STR(s ? s->name : NULL, "fn /srv/app.js:10");
	s = nt_perfmap_find(pm, 0x3a5c0e804500 + 0x7f);
	CHECK(s && s->optimized);
	CHECK_EQ_STR(s ? s->name : NULL, "fast /srv/app.js:20");
	CHECK_EQ_STR(name_at(pm, 0x3a5c0e804600), "inner /srv/lib.js:3");
	CHECK_EQ_STR(name_at(pm, 0x3a5c0e804700), "Stub:CEntryStub");
	CHECK_EQ_STR(name_at(pm, 0x3a5c0e804800), "hexprefixed a.js:1");
	nt_perfmap_free(pm);
out:
	tmp_done(&t);
}

TEST(perfmap_malformed_lines_counted)
{
	static const char text[] =
		"1000 10 good\n"
		"zz 10 bad-hex\n"
		"2000 0 empty-size\n"
		"3000 10\n"                       /* no name */
		"4000 10 \n"                      /* empty name */
		"5000\n"
		"\n"
		"ffffffffffffffff 10 wraps\n"
		"11112222333344445 10 seventeen-digits\n"
		"6000-10 dash\n"
		"7000 10 nul\0inside\n"
		"8000 10 good2\n";
	struct nt_perfmap_stats st;
	struct nt_perfmap *pm;
	struct tmp t;

	tmp_init(&t);
	write_file(t.path, "w", text, sizeof(text) - 1);
	pm = load(t.path);
	CHECK(pm != NULL);
	if (!pm)
		goto out;
	nt_perfmap_stats(pm, &st);
	CHECK_EQ_INT(st.lines, 2);
	CHECK_EQ_INT(st.malformed, 10);
	CHECK_EQ_INT(st.overlong, 0);
	CHECK_EQ_STR(name_at(pm, 0x1000), "good");
	CHECK_EQ_STR(name_at(pm, 0x8000), "good2");
	CHECK(nt_perfmap_find(pm, 0x7000) == NULL);
	nt_perfmap_free(pm);
out:
	tmp_done(&t);
}

TEST(perfmap_overlong_lines_skipped)
{
	/* One long line inside a chunk, one far longer than a read chunk, one
	 * cut at the end of the file and completed by a later write. */
	size_t big = 200000, len = 0;
	char *text = malloc(2 * big);
	struct nt_perfmap_stats st;
	struct nt_perfmap *pm;
	struct tmp t;

	tmp_init(&t);
	len += (size_t)sprintf(text + len, "1000 10 before\n2000 10 ");
	memset(text + len, 'a', 5000);
	len += 5000;
	len += (size_t)sprintf(text + len, "\n3000 10 middle\n4000 10 ");
	memset(text + len, 'b', big);
	len += big;
	len += (size_t)sprintf(text + len, "\n5000 10 after\n6000 10 ");
	memset(text + len, 'c', 8000);
	len += 8000;
	write_file(t.path, "w", text, len);
	pm = load(t.path);
	CHECK(pm != NULL);
	if (!pm)
		goto out;
	nt_perfmap_stats(pm, &st);
	CHECK_EQ_INT(st.lines, 3);
	CHECK_EQ_INT(st.overlong, 3);
	CHECK_EQ_INT(st.malformed, 0);
	CHECK(nt_perfmap_find(pm, 0x2000) == NULL);
	CHECK(nt_perfmap_find(pm, 0x4000) == NULL);
	CHECK_EQ_STR(name_at(pm, 0x5000), "after");
	/* The cut line ends later: its tail is not taken for a line. */
	write_str(t.path, "a", "cccc\n7000 10 last\n");
	CHECK_EQ_INT(nt_perfmap_refresh(pm, NULL, 0), 1);
	nt_perfmap_stats(pm, &st);
	CHECK_EQ_INT(st.overlong, 3);
	CHECK_EQ_INT(st.malformed, 0);
	CHECK(nt_perfmap_find(pm, 0x6000) == NULL);
	CHECK_EQ_STR(name_at(pm, 0x7000), "last");
	nt_perfmap_free(pm);
out:
	free(text);
	tmp_done(&t);
}

TEST(perfmap_growth_reads_only_new_part)
{
	struct nt_perfmap_stats st;
	struct nt_perfmap *pm;
	char err[256];
	struct tmp t;

	tmp_init(&t);
	/* The second line is cut mid-way, as a reader may see it while V8
	 * is writing. */
	write_str(t.path, "w", "1000 100 JS:~first a.js:1:1\n2000 100 JS:~sec");
	pm = load(t.path);
	CHECK(pm != NULL);
	if (!pm)
		goto out;
	CHECK_EQ_STR(name_at(pm, 0x1000), "first a.js:1:1");
	CHECK(nt_perfmap_find(pm, 0x2000) == NULL);
	CHECK_EQ_INT(nt_perfmap_refresh(pm, err, sizeof(err)), 0);  /* no growth */
	write_str(t.path, "a", "ond a.js:2:1\n3000 100 JS:*third a.js:3:1\n");
	CHECK_EQ_INT(nt_perfmap_refresh(pm, err, sizeof(err)), 2);
	CHECK_EQ_STR(name_at(pm, 0x2050), "second a.js:2:1");
	CHECK_EQ_STR(name_at(pm, 0x3000), "third a.js:3:1");
	CHECK_EQ_STR(name_at(pm, 0x1000), "first a.js:1:1");
	nt_perfmap_stats(pm, &st);
	CHECK_EQ_INT(st.lines, 3);
	CHECK_EQ_INT(st.malformed, 0);
	/* Read once, plus the re-read of the cut line's start. */
	CHECK_EQ_INT(st.bytes_read, strlen("1000 100 JS:~first a.js:1:1\n2000 100 JS:~sec") +
		     strlen("2000 100 JS:~second a.js:2:1\n3000 100 JS:*third a.js:3:1\n"));
	nt_perfmap_free(pm);
out:
	tmp_done(&t);
}

TEST(perfmap_later_line_wins)
{
	struct nt_perfmap *pm;
	const char *first;
	struct tmp t;

	tmp_init(&t);
	write_str(t.path, "w",
		  "1000 1000 JS:~old a.js:1:1\n"
		  "1800 100 JS:~inner b.js:1:1\n"
		  "1f00 200 JS:~straddle c.js:1:1\n"
		  "3000 100 JS:~same d.js:1:1\n"
		  "3000 100 JS:*same d.js:1:1\n");
	pm = load(t.path);
	CHECK(pm != NULL);
	if (!pm)
		goto out;
	CHECK_EQ_STR(name_at(pm, 0x1000), "old a.js:1:1");
	CHECK_EQ_STR(name_at(pm, 0x17ff), "old a.js:1:1");
	CHECK_EQ_STR(name_at(pm, 0x1800), "inner b.js:1:1");
	CHECK_EQ_STR(name_at(pm, 0x18ff), "inner b.js:1:1");
	CHECK_EQ_STR(name_at(pm, 0x1900), "old a.js:1:1");
	CHECK_EQ_STR(name_at(pm, 0x1eff), "old a.js:1:1");
	CHECK_EQ_STR(name_at(pm, 0x1f00), "straddle c.js:1:1");
	CHECK_EQ_STR(name_at(pm, 0x20ff), "straddle c.js:1:1");
	CHECK(nt_perfmap_find(pm, 0x2100) == NULL);
	CHECK(nt_perfmap_find(pm, 0x3000) && nt_perfmap_find(pm, 0x3000)->optimized);
	/* The offset is from the start of the line that names the address. */
	CHECK_EQ_U64(nt_perfmap_find(pm, 0x1850)->start, 0x1800);
	/* A later line over everything, read incrementally, wins too. */
	first = nt_perfmap_find(pm, 0x1000)->name;
	write_str(t.path, "a", "800 2000 JS:~new e.js:1:1\n");
	CHECK_EQ_INT(nt_perfmap_refresh(pm, NULL, 0), 1);
	CHECK_EQ_STR(name_at(pm, 0x1850), "new e.js:1:1");
	CHECK_EQ_STR(name_at(pm, 0x800), "new e.js:1:1");
	CHECK_EQ_STR(name_at(pm, 0x3000), "same d.js:1:1");
	/* Names handed out earlier stay valid. */
	CHECK_EQ_STR(first, "old a.js:1:1");
	nt_perfmap_free(pm);
out:
	tmp_done(&t);
}

TEST(perfmap_rewritten_file_restarts)
{
	struct nt_perfmap_stats st;
	struct nt_perfmap *pm;
	struct tmp t;

	tmp_init(&t);
	write_str(t.path, "w", "1000 10 JS:~a x.js:1:1\n2000 10 JS:~b x.js:2:1\n");
	pm = load(t.path);
	CHECK(pm != NULL);
	if (!pm)
		goto out;
	/* A new process with the same pid truncates and rewrites it. */
	write_str(t.path, "w", "5000 10 JS:~c y.js:1:1\n");
	CHECK_EQ_INT(nt_perfmap_refresh(pm, NULL, 0), 1);
	CHECK(nt_perfmap_find(pm, 0x1000) == NULL);
	CHECK_EQ_STR(name_at(pm, 0x5000), "c y.js:1:1");
	nt_perfmap_stats(pm, &st);
	CHECK_EQ_INT(st.restarts, 1);
	nt_perfmap_free(pm);
out:
	tmp_done(&t);
}

static void on_alarm(int sig)
{
	(void)sig;
	/* Opening blocked: the test has failed, and would hang. */
	if (write(2, "  perfmap open blocked\n", 23) < 0)
		_exit(2);
	_exit(1);
}

TEST(perfmap_refuses_symlink_fifo_foreign_owner)
{
	struct nt_perfmap *pm = (struct nt_perfmap *)1;
	char link[160], err[256];
	struct tmp t;
	int r;

	tmp_init(&t);
	signal(SIGALRM, on_alarm);
	alarm(5);
	/* A symlink to a file root may read. */
	write_str(t.path, "w", "1000 10 JS:~a x.js:1:1\n");
	snprintf(link, sizeof(link), "%s/perf-2.map", t.dir);
	CHECK(symlink(t.path, link) == 0);
	r = nt_perfmap_open(AT_FDCWD, link, getuid(), &pm, err, sizeof(err));
	CHECK_EQ_INT(r, -ELOOP);
	CHECK(pm == NULL);
	CHECK(strstr(err, "perf-2.map") && strstr(err, "symlink"));
	unlink(link);
	/* A FIFO: opening it must neither block nor be accepted. */
	CHECK(mkfifo(link, 0600) == 0);
	r = nt_perfmap_open(AT_FDCWD, link, getuid(), &pm, err, sizeof(err));
	CHECK_EQ_INT(r, -EINVAL);
	CHECK(strstr(err, "not a regular file"));
	unlink(link);
	/* A directory. */
	CHECK(mkdir(link, 0700) == 0);
	r = nt_perfmap_open(AT_FDCWD, link, getuid(), &pm, err, sizeof(err));
	CHECK(r < 0);
	rmdir(link);
	/* Owned by someone else than the process. */
	r = nt_perfmap_open(AT_FDCWD, t.path, getuid() + 4242, &pm, err, sizeof(err));
	CHECK_EQ_INT(r, -EPERM);
	CHECK(strstr(err, "owned by uid"));
	if (getuid() == 0) {
		CHECK(chown(t.path, 4242, 4242) == 0);
		r = nt_perfmap_open(AT_FDCWD, t.path, 0, &pm, err, sizeof(err));
		CHECK_EQ_INT(r, -EPERM);
		r = nt_perfmap_open(AT_FDCWD, t.path, 4242, &pm, err, sizeof(err));
		CHECK_EQ_INT(r, 0);
		if (!r)
			nt_perfmap_free(pm);
	}
	/* Missing. */
	r = nt_perfmap_open(AT_FDCWD, "/nonexistent/perf-1.map", 0, &pm, err, sizeof(err));
	CHECK_EQ_INT(r, -ENOENT);
	alarm(0);
	signal(SIGALRM, SIG_DFL);
	tmp_done(&t);
}

/* The latest line covering ADDR among the first N, the slow way. */
static int brute_latest(const uint64_t (*e)[2], int n, uint64_t addr)
{
	for (int i = n - 1; i >= 0; i--)
		if (addr >= e[i][0] && addr < e[i][0] + e[i][1])
			return i;
	return -1;
}

TEST(perfmap_index_matches_brute_force)
{
	/* Heavily overlapping lines arriving in batches of very different
	 * sizes, so both the small "recent" index and full rebuilds run. */
	static const int batches[] = { 50, 3, 400, 1, 17000, 20, 2500 };
	static uint64_t e[20000][2];
	struct nt_perfmap *pm = NULL;
	int n = 0, bad = 0;
	unsigned seed = 12345;
	struct tmp t;

	tmp_init(&t);
	write_str(t.path, "w", "");
	for (size_t b = 0; b < sizeof(batches) / sizeof(batches[0]); b++) {
		FILE *f = fopen(t.path, "a");

		for (int i = 0; i < batches[b]; i++, n++) {
			e[n][0] = 0x10000 + rand_r(&seed) % 0x40000;
			e[n][1] = 1 + rand_r(&seed) % 0x800;
			fprintf(f, "%" PRIx64 " %" PRIx64 " JS:~f%d x.js:1:1\n", e[n][0], e[n][1], n);
		}
		fclose(f);
		if (!pm)
			pm = load(t.path);
		else
			CHECK_EQ_INT(nt_perfmap_refresh(pm, NULL, 0), batches[b]);
		if (!pm)
			break;
		for (int q = 0; q < 3000; q++) {
			uint64_t addr = 0xf000 + rand_r(&seed) % 0x42000;
			int want = brute_latest(e, n, addr);
			const struct nt_perfmap_sym *s = nt_perfmap_find(pm, addr);
			char name[32];

			snprintf(name, sizeof(name), "f%d x.js:1:1", want);
			if (want < 0 ? s != NULL : (!s || strcmp(s->name, name)))
				bad++;
		}
	}
	CHECK_EQ_INT(bad, 0);
	nt_perfmap_free(pm);
	tmp_done(&t);
}
