/* fuzz_uvlocate: nt_uv_scan_done_ptr (user/uvlocate.c), which reads the
 * machine code of uv_getaddrinfo in a binary that the traced side may have
 * built, looking for the one instruction that loads the done callback.
 *
 * Input: 8 bytes of start address (little-endian), then the code, copied
 * to an exact-size heap buffer so that a read past it is caught. Checked
 * against a reference written from uvlocate.h: the result is the target
 * when exactly one distinct target is loaded into %r8 (`lea rel32(%rip),
 * %r8` = 4c 8d 05 rel32, or `mov $imm32,%r8d` = 41 b8 imm32) with a call
 * (e8) starting within the 32 bytes after the instruction, and 0
 * otherwise. */
#include "fuzz.h"
#include "uvlocate.h"

static uint64_t reference(const uint8_t *c, size_t n, uint64_t start)
{
	uint64_t targets[2];
	int distinct = 0;

	for (size_t i = 0; i + 7 <= n; i++) {
		uint64_t t;
		size_t next, k;
		int call = 0;

		if (c[i] == 0x4c && c[i + 1] == 0x8d && c[i + 2] == 0x05) {
			int32_t rel = (int32_t)((uint32_t)c[i + 3] | (uint32_t)c[i + 4] << 8 |
						(uint32_t)c[i + 5] << 16 | (uint32_t)c[i + 6] << 24);

			next = i + 7;
			t = start + next + (uint64_t)(int64_t)rel;
		} else if (c[i] == 0x41 && c[i + 1] == 0xb8) {
			next = i + 6;
			t = (uint64_t)c[i + 2] | (uint64_t)c[i + 3] << 8 | (uint64_t)c[i + 4] << 16 |
			    (uint64_t)c[i + 5] << 24;
		} else {
			continue;
		}
		for (k = next; k < n && k < next + 32; k++)
			if (c[k] == 0xe8)
				call = 1;
		if (!call)
			continue;
		if (distinct == 0 || (t != targets[0] && (distinct == 1 || t != targets[1]))) {
			if (distinct < 2)
				targets[distinct] = t;
			distinct++;
		}
		if (distinct > 1)
			return 0;
	}
	return distinct == 1 ? targets[0] : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t start = 0, got, want;
	uint8_t *code;
	size_t n;

	memcpy(&start, data, size < 8 ? size : 8);
	n = size < 8 ? 0 : size - 8;
	code = malloc(n ? n : 1);
	memcpy(code, data + size - n, n);
	got = nt_uv_scan_done_ptr(code, n, start);
	want = reference(code, n, start);
	FUZZ_CHECK(got == want, "found 0x%llx, the reference 0x%llx", (unsigned long long)got,
		   (unsigned long long)want);
	free(code);
	return 0;
}
