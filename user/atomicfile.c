/* atomicfile: see atomicfile.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "atomicfile.h"

static int write_to(FILE *f, nt_file_writer_fn writer, void *ctx)
{
	int err = writer(f, ctx);

	if (!err && (fflush(f) || ferror(f)))
		err = errno ? -errno : -EIO;
	return err;
}

int nt_write_file_atomic(const char *path, nt_file_writer_fn writer, void *ctx)
{
	struct stat st;
	char *tmp = NULL;
	FILE *f;
	int err;

	if (!stat(path, &st) && !S_ISREG(st.st_mode)) {
		f = fopen(path, "we");
		if (!f)
			return -errno;
		errno = 0;
		err = write_to(f, writer, ctx);
		if (fclose(f) && !err)
			err = -errno;
		return err;
	}
	if (asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0)
		return -ENOMEM;
	f = fopen(tmp, "we");
	if (!f) {
		err = -errno;
		free(tmp);
		return err;
	}
	errno = 0;
	err = write_to(f, writer, ctx);
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	free(tmp);
	return err;
}
