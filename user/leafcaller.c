/* leafcaller: the caller that a frame-pointer walk skips; see leafcaller.h. */
#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include "leafcaller.h"

/* Longest `call r/m64`: REX, 0xff, ModRM, SIB, disp32. */
#define CALL_MAX_LEN 8

/* Length of the `call r/m64` (0xff /2) that starts at CODE[0], with an
 * optional REX prefix, or 0 if none starts there. AVAIL: bytes readable. */
static size_t call_rm_len(const uint8_t *code, size_t avail)
{
	size_t p = 0, len;
	uint8_t modrm, mod, rm;

	if (avail && code[0] >= 0x40 && code[0] <= 0x4f)
		p = 1;                             /* REX */
	if (avail < p + 2 || code[p] != 0xff)
		return 0;
	modrm = code[p + 1];
	if (((modrm >> 3) & 7) != 2)               /* /2: call near, absolute indirect */
		return 0;
	mod = modrm >> 6;
	rm = modrm & 7;
	len = p + 2;
	if (mod != 3 && rm == 4) {                 /* a SIB byte follows */
		if (avail < len + 1)
			return 0;
		if (mod == 0 && (code[len] & 7) == 5)
			len += 4;                  /* SIB with no base: disp32 */
		len += 1;
	}
	if (mod == 1)
		len += 1;
	else if (mod == 2 || (mod == 0 && rm == 5))   /* disp32, or RIP-relative */
		len += 4;
	return len;
}

bool nt_ends_with_call(const uint8_t *code, size_t len)
{
	if (len >= 5 && code[len - 5] == 0xe8)    /* call rel32 */
		return true;
	for (size_t start = len > CALL_MAX_LEN ? len - CALL_MAX_LEN : 0; start + 2 <= len; start++)
		if (call_rm_len(code + start, len - start) == len - start)
			return true;
	return false;
}

bool nt_leaf_caller(struct nt_symbolizer *s, pid_t pid, uint64_t top_word, uint64_t next_addr,
		    struct nt_frame *out)
{
	uint8_t code[CALL_MAX_LEN];
	struct iovec local = { .iov_base = code, .iov_len = sizeof(code) };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)(top_word - sizeof(code)),
				.iov_len = sizeof(code) };

	/* Small numbers are not code: spare the symbolizer a refresh of the
	 * process's maps for them. */
	if (top_word < 0x10000 || top_word == next_addr)
		return false;
	nt_symbolize_user_word(s, pid, top_word, out);
	if (out->kind != NT_FRAME_JS)
		return false;
	/* JIT code lives as long as its function does; the sample is at most a
	 * few seconds old. Unreadable: not proven a return address. */
	if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != (ssize_t)sizeof(code))
		return false;
	return nt_ends_with_call(code, sizeof(code));
}
