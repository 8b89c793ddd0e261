/* procmaps: the memory mappings of a process, from /proc/PID/maps, keeping
 * what naming a frame needs: which file (by dev/inode and path) and which
 * file offset an address falls in. */
#ifndef NODETAP_PROCMAPS_H
#define NODETAP_PROCMAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	NT_MAP_R = 1, NT_MAP_W = 2, NT_MAP_X = 4,
	NT_MAP_SHARED = 8,     /* 's' rather than 'p' */
};

struct nt_map {
	uint64_t start, end;   /* [start, end) */
	uint64_t offset;       /* file offset of start */
	uint64_t dev;          /* makedev(major, minor) as shown in maps */
	uint64_t inode;        /* 0 for anonymous and pseudo mappings */
	unsigned perms;        /* NT_MAP_* */
	bool deleted;          /* path ended in " (deleted)": stripped from path */
	/* NULL for a plain anonymous mapping; "[vdso]", "[heap]", "[anon:x]" for
	 * pseudo mappings; else the path as the process sees it (relative to its
	 * root). Owned by the nt_maps. */
	const char *path;
};

struct nt_maps {
	struct nt_map *v;      /* sorted by start, as the kernel lists them */
	size_t n;
	uint64_t lines_skipped; /* malformed lines (e.g. a file cut mid-line) */
	char *strings;         /* storage for the paths */
};

/* Parse /proc/PID/maps. Returns 0 or -errno with a message in err naming
 * the file and the problem. */
int nt_maps_read_pid(int pid, struct nt_maps *out, char *err, size_t errlen);
/* Parse a maps-format file (tests, saved snapshots). */
int nt_maps_read_file(const char *path, struct nt_maps *out, char *err, size_t errlen);
/* Parse maps text already in memory (LEN bytes; need not end in '\n'). */
int nt_maps_parse(const char *text, size_t len, struct nt_maps *out);

/* The mapping that holds ADDR, or NULL. */
const struct nt_map *nt_maps_find(const struct nt_maps *m, uint64_t addr);
/* A file-backed mapping (a regular file, not anonymous or [pseudo]). */
bool nt_map_is_file(const struct nt_map *m);
void nt_maps_free(struct nt_maps *m);

/* Open PATH as a process whose root directory is ROOTFD (an O_PATH fd of
 * /proc/PID/root) sees it: absolute symlinks and ".." stay inside that root,
 * so a container cannot point nodetap at the host's files (without
 * openat2, symlinks and ".." are refused instead). With ROOTFD == AT_FDCWD,
 * a plain openat. Returns an fd or -errno. */
int nt_open_in_root(int rootfd, const char *path, int flags);

#endif
