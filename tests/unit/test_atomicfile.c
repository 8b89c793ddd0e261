/* atomicfile: the file appears whole or not at all; a failed write keeps the
 * old content and leaves no temporary file; a non-regular file (/dev/null)
 * is written in place. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include "atomicfile.h"
#include "check.h"

static int write_text(FILE *f, void *ctx)
{
	return fputs(ctx, f) < 0 ? -EIO : 0;
}

static int write_fail(FILE *f, void *ctx)
{
	fputs("half", f);
	return -ENOSPC;
}

static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void slurp(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, len - 1, f) : 0;

	buf[n] = '\0';
	if (f)
		fclose(f);
}

TEST(atomicfile_write_replace_fail)
{
	char dir[] = "/tmp/nt-atomic-XXXXXX", path[64], buf[64];

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/out.txt", dir);
	CHECK_EQ_INT(nt_write_file_atomic(path, write_text, "first\n"), 0);
	slurp(path, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "first\n");
	CHECK_EQ_INT(nt_write_file_atomic(path, write_text, "second\n"), 0);
	slurp(path, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "second\n");
	CHECK_EQ_INT(nt_write_file_atomic(path, write_fail, NULL), -ENOSPC);
	slurp(path, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "second\n");
	CHECK_EQ_INT(entries(dir), 1);
	snprintf(buf, sizeof(buf), "%s/no/such/x", dir);
	CHECK_EQ_INT(nt_write_file_atomic(buf, write_text, "x"), -ENOENT);
	CHECK_EQ_INT(nt_write_file_atomic("/dev/null", write_text, "in place"), 0);
	unlink(path);
	rmdir(dir);
}
