/* atomicfile: write an output file so that a reader never sees half of it:
 * into a temporary file next to it, renamed over it once complete. The
 * heat map SVG and the HTML report are rewritten at every interval report
 * while a browser or a script may be reading them; the profile outputs use
 * it too, so that a run stopped while writing leaves the old file whole.
 *
 * A PATH that exists and is not a regular file (/dev/stdout, a FIFO) is
 * written in place: renaming over it would replace the device. */
#ifndef NODETAP_ATOMICFILE_H
#define NODETAP_ATOMICFILE_H

#include <stdio.h>

/* Writes the content to F; returns 0 or -errno. */
typedef int (*nt_file_writer_fn)(FILE *f, void *ctx);

/* Write PATH with WRITER(F, CTX). Returns 0 or -errno (nothing is printed:
 * the caller names the file and what it is); on an error the temporary
 * file is removed and PATH keeps its old content. */
int nt_write_file_atomic(const char *path, nt_file_writer_fn writer, void *ctx);

#endif
