/* fuzz_uvloop: the readers of user/uvloop.c that take bytes the traced side
 * controls: the machine code of uv_now, uv_metrics_info,
 * uv_metrics_idle_time and uv_default_loop in a binary it may have built,
 * the memory of its loops and stacks, and /proc/PID/task/TID/syscall.
 *
 * Input: one selector byte, then the function's input, copied to an
 * exact-size heap buffer so that a read past it is caught:
 *   0 uv_now code          1 uv_metrics_info code
 *   2 uv_metrics_idle_time code
 *   3 uv_default_loop: 8 bytes of start address, then code; data is the
 *     range [start, start + 64 KiB)
 *   4 loop memory: 8 bytes of base address, 4 of epfd, then memory, given to
 *     nt_uv_scan_stack and nt_uv_check_loop
 *   5 syscall text
 * Properties: offsets found are below 64 KiB; a default loop found is in
 * the data range; a loop found on a "stack" is 8-aligned, within it, has
 * the epfd as its backend fd and passes nt_uv_check_loop; nt_uv_check_loop
 * says 0, -EAGAIN or -EINVAL, and -EAGAIN only for all-zero memory. */
#include <errno.h>
#include "fuzz.h"
#include "loop.h"
#include "uvloop.h"

#define DATA_SPAN 65536

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static bool in_data(uint64_t vaddr, void *arg)
{
	uint64_t start = *(const uint64_t *)arg;

	return vaddr >= start && vaddr - start < DATA_SPAN;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf;
	size_t n;
	uint32_t a = 0, b = 0, d = 0;

	if (size < 1)
		return 0;
	n = size - 1;
	buf = malloc(n ? n : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, n);
	switch (data[0] % 6) {
	case 0:
		if (!nt_uv_scan_now(buf, n, &a))
			FUZZ_CHECK(a < 0x10000, "uv_now offset 0x%x", a);
		break;
	case 1:
		if (!nt_uv_scan_metrics_info(buf, n, &a, &b))
			FUZZ_CHECK(a < 0x10000 && b < 0x80, "metrics offsets 0x%x 0x%x", a, b);
		break;
	case 2:
		if (!nt_uv_scan_metrics_idle_time(buf, n, &a, &b, &d))
			FUZZ_CHECK(a < 0x10000 && b < 0x10000 && d < 0x10000,
				   "idle offsets 0x%x 0x%x 0x%x", a, b, d);
		break;
	case 3:
		if (n >= 8) {
			uint64_t start = rd64(buf), found;

			/* The code starts at START; data at [START, START + 64K). */
			found = nt_uv_scan_default_loop(buf + 8, n - 8, start, in_data, &start);
			FUZZ_CHECK(!found || in_data(found, &start), "default loop 0x%llx outside the data",
				   (unsigned long long)found);
		}
		break;
	case 4:
		if (n >= 12) {
			uint64_t base = rd64(buf), found;
			int32_t epfd;
			const uint8_t *mem = buf + 12;
			size_t len = n - 12;
			int rc;

			memcpy(&epfd, buf + 8, 4);
			found = nt_uv_scan_stack(mem, len, base, epfd, 0x220, UINT64_MAX / 2);
			if (found) {
				size_t off = (size_t)(found - base);
				int32_t fd;

				FUZZ_CHECK(!(found & 7) && found >= base && off + UV_LOOP_MIN_SIZE <= len,
					   "loop at 0x%llx outside the stack", (unsigned long long)found);
				memcpy(&fd, mem + off + UV_LOOP_BACKEND_FD_OFF, 4);
				FUZZ_CHECK(fd == epfd, "backend fd %d, epfd %d", fd, epfd);
				FUZZ_CHECK(!nt_uv_check_loop(mem + off, UV_LOOP_MIN_SIZE, found, 0x220,
							     UINT64_MAX / 2), "found loop fails the check");
			}
			rc = nt_uv_check_loop(mem, len, base, (uint32_t)(epfd & 0x3ff), UINT64_MAX / 2);
			FUZZ_CHECK(rc == 0 || rc == -EAGAIN || rc == -EINVAL, "check_loop %d", rc);
			if (rc == -EAGAIN)
				for (size_t i = 0; i < UV_LOOP_MIN_SIZE; i++)
					FUZZ_CHECK(!mem[i], "-EAGAIN with a non-zero byte at %zu", i);
		}
		break;
	case 5: {
		char *text = malloc(n + 1);
		long nr;
		uint64_t arg1, sp;

		if (text) {
			memcpy(text, buf, n);
			text[n] = 0;
			(void)nt_uv_parse_syscall(text, &nr, &arg1, &sp);
			free(text);
		}
		break;
	}
	}
	free(buf);
	return 0;
}
