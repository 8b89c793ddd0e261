#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "uvlocate.h"

/* Bytes between the %r8 load and the call: argument set-up of the other
 * registers, at most a few instructions. */
#define MAX_GAP 32

static int call_follows(const uint8_t *code, size_t len, size_t from)
{
	for (size_t i = from; i < len && i < from + MAX_GAP; i++)
		if (code[i] == 0xe8) /* call rel32 */
			return 1;
	return 0;
}

uint64_t nt_uv_scan_done_ptr(const uint8_t *code, size_t len, uint64_t start)
{
	uint64_t found = 0;
	int hits = 0;

	for (size_t i = 0; i + 7 <= len; i++) {
		uint64_t target;
		size_t next;

		if (code[i] == 0x4c && code[i + 1] == 0x8d && code[i + 2] == 0x05) {
			int32_t rel;

			memcpy(&rel, code + i + 3, 4);
			next = i + 7;
			target = start + next + (uint64_t)(int64_t)rel;
		} else if (code[i] == 0x41 && code[i + 1] == 0xb8) {
			uint32_t imm;

			memcpy(&imm, code + i + 2, 4);
			next = i + 6;
			target = imm;
		} else {
			continue;
		}
		/* A repeat of the target just seen is the same load (hits, not
		 * found, says whether there was one: 0 is a target too, a NULL
		 * callback, and must not be mistaken for "none yet"). */
		if (!call_follows(code, len, next) || (hits && target == found))
			continue;
		found = target;
		hits++;
	}
	return hits == 1 ? found : 0;
}

int nt_uv_locate_gai_done(const char *path, const struct nt_elf *e, uint64_t *offset,
			  char *why, size_t len)
{
	struct nt_sym_match m;
	uint8_t *code;
	uint64_t done, off;
	ssize_t n;
	int fd;

	if (nt_elf_find_func(e, "uv_getaddrinfo", &m, 1) < 1 || !m.sym->size ||
	    m.sym->size > 65536 || m.file_offset == UINT64_MAX) {
		snprintf(why, len, "no symbol uv__getaddrinfo_done, and no uv_getaddrinfo to find it "
			 "from (stripped binary, or not libuv)");
		return -ENOENT;
	}
	code = malloc(m.sym->size);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = (code && fd >= 0) ? pread(fd, code, m.sym->size, (off_t)m.file_offset) : -1;
	if (fd >= 0)
		close(fd);
	if (n != (ssize_t)m.sym->size) {
		free(code);
		snprintf(why, len, "no symbol uv__getaddrinfo_done, and reading uv_getaddrinfo's code failed");
		return -ENOENT;
	}
	done = nt_uv_scan_done_ptr(code, m.sym->size, m.sym->addr);
	free(code);
	off = done ? nt_elf_vaddr_to_offset(e, done) : UINT64_MAX;
	if (off == UINT64_MAX) {
		snprintf(why, len, "no symbol uv__getaddrinfo_done (stripped), and uv_getaddrinfo's "
			 "code does not name it in a way nodetap recognises");
		return -ENOENT;
	}
	*offset = off;
	return 0;
}
