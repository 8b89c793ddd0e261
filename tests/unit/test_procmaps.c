/* /proc/PID/maps parsing: every kind of line the kernel writes, lines cut
 * short or too long for a fixed buffer, the live maps of this process, and
 * opening a file inside another root without escaping it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "check.h"
#include "procmaps.h"

static const char sample[] =
	"00400000-00401000 r--p 00000000 fd:01 1234      /usr/bin/node\n"
	"00401000-02a00000 r-xp 00001000 fd:01 1234      /usr/bin/node\n"
	"02a00000-02b00000 rw-p 00000000 00:00 0          [heap]\n"
	"1e5c00000000-1e5c00040000 rwxp 00000000 00:00 0 \n"
	"7f0000000000-7f0000001000 r-xp 00000000 00:00 0\n"
	"7f1000000000-7f1000010000 r-xp 00002000 103:05 99   /opt/my app/lib x.so (deleted)\n"
	"7f2000000000-7f2000001000 rw-s 00000000 00:05 7     /dev/zero (deleted)\n"
	"7f3000000000-7f3000001000 r--p 00000000 00:00 0     [anon:v8 code]\n"
	"garbage line\n"
	"7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0     [vdso]\n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0  [vsyscall]";

TEST(procmaps_parses_every_kind)
{
	struct nt_maps m;
	const struct nt_map *e;

	CHECK_EQ_INT(nt_maps_parse(sample, sizeof(sample) - 1, &m), 0);
	CHECK_EQ_INT(m.n, 10);
	CHECK_EQ_INT(m.lines_skipped, 1);
	if (m.n != 10)
		goto out;
	e = &m.v[1];
	CHECK_EQ_U64(e->start, 0x401000);
	CHECK_EQ_U64(e->end, 0x2a00000);
	CHECK_EQ_U64(e->offset, 0x1000);
	CHECK_EQ_U64(e->dev, makedev(0xfd, 1));
	CHECK_EQ_U64(e->inode, 1234);
	CHECK_EQ_INT(e->perms, NT_MAP_R | NT_MAP_X);
	CHECK_EQ_STR(e->path, "/usr/bin/node");
	CHECK(nt_map_is_file(e));
	CHECK(m.v[0].path == m.v[1].path);   /* one copy per run of one file */
	CHECK_EQ_STR(m.v[2].path, "[heap]");
	CHECK(!nt_map_is_file(&m.v[2]));
	/* Anonymous, with and without trailing padding. */
	CHECK(m.v[3].path == NULL);
	CHECK_EQ_INT(m.v[3].perms, NT_MAP_R | NT_MAP_W | NT_MAP_X);
	CHECK(m.v[4].path == NULL);
	/* Spaces in the path; " (deleted)" stripped and noted. */
	e = &m.v[5];
	CHECK_EQ_STR(e->path, "/opt/my app/lib x.so");
	CHECK(e->deleted);
	CHECK_EQ_U64(e->dev, makedev(0x103, 5));
	CHECK(!m.v[1].deleted);
	CHECK_EQ_INT(m.v[6].perms, NT_MAP_R | NT_MAP_W | NT_MAP_SHARED);
	CHECK_EQ_STR(m.v[7].path, "[anon:v8 code]");
	CHECK_EQ_STR(m.v[8].path, "[vdso]");
	/* The last line has no newline. */
	CHECK_EQ_STR(m.v[9].path, "[vsyscall]");
	CHECK_EQ_U64(m.v[9].end, 0xffffffffff601000);
	/* Lookups: ends exclusive, gaps miss. */
	CHECK(nt_maps_find(&m, 0x400000) == &m.v[0]);
	CHECK(nt_maps_find(&m, 0x400fff) == &m.v[0]);
	CHECK(nt_maps_find(&m, 0x401000) == &m.v[1]);
	CHECK(nt_maps_find(&m, 0x3ff000) == NULL);
	CHECK(nt_maps_find(&m, 0x2b00000) == NULL);
	CHECK(nt_maps_find(&m, 0x7f1000008000) == &m.v[5]);
	CHECK(nt_maps_find(&m, 0) == NULL);
	CHECK(nt_maps_find(&m, UINT64_MAX) == NULL);
out:
	nt_maps_free(&m);
}

TEST(procmaps_cut_and_overlong_lines)
{
	/* A file cut mid-line (a snapshot copied while being written), and a
	 * path far longer than any fixed line buffer. */
	static const char cut[] =
		"00400000-00401000 r-xp 00000000 fd:01 1234      /usr/bin/node\n"
		"00500000-00501000 r-xp 0000";
	size_t plen = 20000, len;
	struct nt_maps m;
	char *text;

	CHECK_EQ_INT(nt_maps_parse(cut, sizeof(cut) - 1, &m), 0);
	CHECK_EQ_INT(m.n, 1);
	CHECK_EQ_INT(m.lines_skipped, 1);
	nt_maps_free(&m);

	text = malloc(plen + 200);
	len = (size_t)sprintf(text, "00400000-00401000 r-xp 00000000 fd:01 1234 /");
	memset(text + len, 'd', plen);
	len += plen;
	len += (size_t)sprintf(text + len,
			       "\n00500000-00501000 r-xp 00000000 fd:01 5678 /short\n");
	CHECK_EQ_INT(nt_maps_parse(text, len, &m), 0);
	CHECK_EQ_INT(m.n, 2);
	if (m.n == 2) {
		CHECK_EQ_INT(strlen(m.v[0].path), plen + 1);
		CHECK_EQ_STR(m.v[1].path, "/short");
	}
	nt_maps_free(&m);
	free(text);

	CHECK_EQ_INT(nt_maps_parse("", 0, &m), 0);
	CHECK_EQ_INT(m.n, 0);
	CHECK(nt_maps_find(&m, 0x1000) == NULL);
	nt_maps_free(&m);
}

TEST(procmaps_rejects_bad_fields)
{
	static const char bad[] =
		"00401000-00400000 r-xp 00000000 fd:01 1 /end-before-start\n"
		"00400000-00401000 rxp 00000000 fd:01 1 /short-perms\n"
		"00400000-00401000 r-xq 00000000 fd:01 1 /bad-share\n"
		"00400000-00401000 r-xp 00000000 fd01 1 /no-colon\n"
		"00400000-00401000 r-xp 00000000 fd:01 x /bad-inode\n"
		"00400000-00401000 r-xp 00000000 fd:01 1/no-space\n"
		"00400000 r-xp 00000000 fd:01 1 /no-end\n"
		"11112222333344445-11112222333344446 r-xp 0 fd:01 1 /17-digits\n";
	struct nt_maps m;

	CHECK_EQ_INT(nt_maps_parse(bad, sizeof(bad) - 1, &m), 0);
	CHECK_EQ_INT(m.n, 0);
	CHECK_EQ_INT(m.lines_skipped, 8);
	nt_maps_free(&m);
}

static __attribute__((noinline)) int procmaps_marker(int x)
{
	return x * 3 + 1;
}

TEST(procmaps_reads_own_process)
{
	uint64_t fn = (uint64_t)(uintptr_t)&procmaps_marker;
	char err[256], exe[4096];
	const struct nt_map *e;
	struct nt_maps m;
	struct stat st;
	ssize_t n;

	CHECK_EQ_INT(procmaps_marker(1), 4);
	CHECK_EQ_INT(nt_maps_read_pid(getpid(), &m, err, sizeof(err)), 0);
	CHECK(m.n > 5);
	CHECK_EQ_INT(m.lines_skipped, 0);
	e = nt_maps_find(&m, fn);
	CHECK(e != NULL);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	CHECK(n > 0);
	if (e && n > 0) {
		exe[n] = '\0';
		CHECK_EQ_STR(e->path, exe);
		CHECK(e->perms & NT_MAP_X);
		CHECK(stat(exe, &st) == 0 && st.st_ino == e->inode);
	}
	nt_maps_free(&m);
	/* Errors name the file. */
	CHECK(nt_maps_read_pid(-5, &m, err, sizeof(err)) < 0);
	CHECK(strstr(err, "/proc/-5/maps") != NULL);
}

TEST(procmaps_open_in_root_stays_inside)
{
	char dir[64], path[160];
	int root, fd;
	ssize_t n;
	char buf[16];
	FILE *f;

	strcpy(dir, "/tmp/nt-root-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/etc", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/etc/hostname", dir);
	f = fopen(path, "w");
	if (f) {
		fputs("inside", f);
		fclose(f);
	}
	/* A container's absolute symlink must resolve in the container. */
	snprintf(path, sizeof(path), "%s/link", dir);
	CHECK(symlink("/etc/hostname", path) == 0);
	root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK(root >= 0);
	/* With openat2 it resolves inside; without (valgrind, old kernels)
	 * it is refused. Never the host's file. */
	fd = nt_open_in_root(root, "/link", O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0 || fd == -ELOOP);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : 6;
	CHECK_EQ_INT(n, 6);
	if (fd >= 0 && n == 6)
		CHECK(!memcmp(buf, "inside", 6));
	if (fd >= 0)
		close(fd);
	/* ".." cannot climb out either. */
	fd = nt_open_in_root(root, "../../../../etc/hostname", O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0 || fd == -EXDEV);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : 6;
	CHECK_EQ_INT(n, 6);
	if (fd >= 0 && n == 6)
		CHECK(!memcmp(buf, "inside", 6));
	if (fd >= 0)
		close(fd);
	/* A plain path works either way. */
	fd = nt_open_in_root(root, "/etc/hostname", O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	CHECK_EQ_INT(nt_open_in_root(root, "/missing", O_RDONLY), -ENOENT);
	close(root);
	unlink(path);
	snprintf(path, sizeof(path), "%s/etc/hostname", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/etc", dir);
	rmdir(path);
	rmdir(dir);
}
