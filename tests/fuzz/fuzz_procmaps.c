/* fuzz_procmaps: the /proc/PID/maps parser (user/procmaps.c).
 *
 * Input: the text of a maps file. The kernel writes the numbers, the
 * traced process chooses the paths (spaces, " (deleted)", anything but a
 * newline, which the kernel shows as "\012"). Checked:
 *   - every line is either a mapping or counted as skipped;
 *   - mappings come out sorted by start, each with start < end, a dev
 *     whose major and minor fit, a path that is NULL or a non-empty string
 *     without '\n' (the storage is read whole: ASan sees an overrun);
 *   - each mapping printed back in the kernel's format and parsed again
 *     gives the same mapping (path, " (deleted)" and all); this and the
 *     non-empty path are not checked for a text with a NUL byte, which the
 *     kernel never writes (a path is a C string there);
 *   - nt_maps_find: an address inside a mapping finds a mapping that holds
 *     it (the same one when mappings do not overlap), an address outside
 *     all of them finds nothing;
 *   - nt_maps_read_file of the same text (through a memfd) gives the same
 *     result as nt_maps_parse, so its read loop is covered too.
 */
#include <sys/sysmacros.h>
#include "fuzz.h"
#include "procmaps.h"

static int memfd = -1;

static size_t count_lines(const uint8_t *s, size_t n)
{
	size_t lines = 0;

	for (size_t i = 0; i < n; i++)
		lines += s[i] == '\n';
	if (n && s[n - 1] != '\n')
		lines++;      /* a last line without its newline */
	return lines;
}

static int same_map(const struct nt_map *a, const struct nt_map *b)
{
	if (a->start != b->start || a->end != b->end || a->offset != b->offset ||
	    a->dev != b->dev || a->inode != b->inode || a->perms != b->perms ||
	    a->deleted != b->deleted)
		return 0;
	if (!a->path || !b->path)
		return a->path == b->path;
	return !strcmp(a->path, b->path);
}

static void check_roundtrip(const struct nt_map *m)
{
	char *line = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&line, &len);
	struct nt_maps again;
	int rc;

	if (!f)
		abort();
	fprintf(f, "%llx-%llx %c%c%c%c %08llx %02x:%02x %llu",
		(unsigned long long)m->start, (unsigned long long)m->end,
		m->perms & NT_MAP_R ? 'r' : '-', m->perms & NT_MAP_W ? 'w' : '-',
		m->perms & NT_MAP_X ? 'x' : '-', m->perms & NT_MAP_SHARED ? 's' : 'p',
		(unsigned long long)m->offset, major(m->dev), minor(m->dev),
		(unsigned long long)m->inode);
	if (m->path)
		fprintf(f, "                          %s", m->path);
	if (m->deleted)
		fputs(" (deleted)", f);
	fputc('\n', f);
	fclose(f);
	rc = nt_maps_parse(line, len, &again);
	FUZZ_CHECK(rc == 0, "parsing a printed line failed: %d", rc);
	FUZZ_CHECK(again.n == 1 && again.lines_skipped == 0 && same_map(&again.v[0], m),
		   "a mapping printed and parsed again differs: %s", line);
	nt_maps_free(&again);
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nt_maps m, fm;
	char err[256];
	const char *path;
	int overlap = 0, rc, nul = memchr(data, 0, size) != NULL;

	rc = nt_maps_parse((const char *)data, size, &m);
	FUZZ_CHECK(rc == 0, "nt_maps_parse failed: %d", rc);
	FUZZ_CHECK(m.n + m.lines_skipped == count_lines(data, size),
		   "%zu mappings + %llu skipped, but %zu lines", m.n,
		   (unsigned long long)m.lines_skipped, count_lines(data, size));
	for (size_t i = 0; i < m.n; i++) {
		const struct nt_map *e = &m.v[i];

		FUZZ_CHECK(e->start < e->end, "mapping %zu: start >= end", i);
		FUZZ_CHECK(!i || m.v[i - 1].start <= e->start, "mapping %zu: not sorted", i);
		if (i && m.v[i - 1].end > e->start)
			overlap = 1;
		FUZZ_CHECK(major(e->dev) <= 0xfff && minor(e->dev) <= 0xfffff, "mapping %zu: dev", i);
		FUZZ_CHECK(e->perms < 16, "mapping %zu: perms 0x%x", i, e->perms);
		if (e->path)
			FUZZ_CHECK((nul || e->path[0]) && !strchr(e->path, '\n'),
				   "mapping %zu: empty path or a newline in it", i);
		if (!nul)
			check_roundtrip(e);
	}
	for (size_t i = 0; i < m.n; i++) {
		const struct nt_map *e = &m.v[i];
		uint64_t probe[3] = { e->start, e->end - 1, e->start + (e->end - e->start) / 2 };

		for (int k = 0; k < 3; k++) {
			const struct nt_map *f = nt_maps_find(&m, probe[k]);

			/* With overlapping mappings (never from the kernel) a
			 * binary search may miss; what it finds must still hold
			 * the address. */
			if (f)
				FUZZ_CHECK(probe[k] >= f->start && probe[k] < f->end,
					   "find(0x%llx) returned a mapping that does not hold it",
					   (unsigned long long)probe[k]);
			if (!overlap)
				FUZZ_CHECK(f == e, "find(0x%llx) did not return mapping %zu",
					   (unsigned long long)probe[k], i);
		}
		if (!overlap && e->end != UINT64_MAX &&
		    (i + 1 == m.n || m.v[i + 1].start > e->end))
			FUZZ_CHECK(!nt_maps_find(&m, e->end), "found a mapping in a gap");
	}

	path = fuzz_memfd_file(&memfd, data, size);
	rc = nt_maps_read_file(path, &fm, err, sizeof(err));
	FUZZ_CHECK(rc == 0, "nt_maps_read_file: %s", err);
	FUZZ_CHECK(fm.n == m.n && fm.lines_skipped == m.lines_skipped,
		   "read_file and parse disagree");
	for (size_t i = 0; i < m.n; i++)
		FUZZ_CHECK(same_map(&fm.v[i], &m.v[i]), "read_file and parse disagree at %zu", i);
	nt_maps_free(&fm);
	nt_maps_free(&m);
	return 0;
}
