/* uvlocate: find libuv's static uv__getaddrinfo_done in a binary that has no
 * .symtab (Debian's libuv.so.1 is stripped), from the code of the exported
 * uv_getaddrinfo, which hands it to uv__work_submit as the fifth argument. */
#ifndef NODETAP_UVLOCATE_H
#define NODETAP_UVLOCATE_H

#include <stddef.h>
#include <stdint.h>
#include "elfsym.h"

/* Scan CODE (the bytes of uv_getaddrinfo, which starts at vaddr START) for the
 * instruction that loads the done callback into %r8 right before a call:
 * `lea rel32(%rip),%r8` (PIE) or `mov $imm32,%r8d` (non-PIE). Returns the
 * callback's vaddr, or 0 when such instructions do not load exactly one
 * distinct target (a load of 0, a NULL callback, counts as a target). */
uint64_t nt_uv_scan_done_ptr(const uint8_t *code, size_t len, uint64_t start);

/* Locate uv__getaddrinfo_done in E (opened from PATH): its file offset in
 * *offset. Returns 0, or -ENOENT with the reason in WHY. */
int nt_uv_locate_gai_done(const char *path, const struct nt_elf *e, uint64_t *offset,
			  char *why, size_t len);

#endif
