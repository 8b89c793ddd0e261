/* nt_uv_scan_done_ptr: the one %r8 load before a call in uv_getaddrinfo's
 * code names its done callback; none, or two different ones, name nothing. */
#include <stdint.h>
#include "check.h"
#include "uvlocate.h"

TEST(uvlocate_lea_r8_before_call)
{
	/* lea 0x10(%rip),%r8; call ... at vaddr 0x1000: 0x1000 + 7 + 0x10 */
	static const uint8_t code[] = { 0x4c, 0x8d, 0x05, 0x10, 0, 0, 0, 0xe8, 0, 0, 0, 0 };

	CHECK_EQ_U64(nt_uv_scan_done_ptr(code, sizeof(code), 0x1000), 0x1017);
}

TEST(uvlocate_mov_r8d_before_call)
{
	static const uint8_t code[] = { 0x41, 0xb8, 0x78, 0x56, 0x34, 0x12, 0x90, 0xe8, 0, 0, 0, 0 };

	CHECK_EQ_U64(nt_uv_scan_done_ptr(code, sizeof(code), 0x400000), 0x12345678);
}

TEST(uvlocate_no_call_or_two_targets_is_nothing)
{
	static const uint8_t nocall[] = { 0x41, 0xb8, 0x78, 0x56, 0x34, 0x12, 0x90, 0x90 };
	static const uint8_t two[] = { 0x41, 0xb8, 1, 0, 0, 0, 0xe8, 0, 0, 0, 0,
				       0x41, 0xb8, 2, 0, 0, 0, 0xe8, 0, 0, 0, 0 };
	static const uint8_t same_twice[] = { 0x41, 0xb8, 1, 0, 0, 0, 0xe8, 0, 0, 0, 0,
					      0x41, 0xb8, 1, 0, 0, 0, 0xe8, 0, 0, 0, 0 };

	CHECK_EQ_U64(nt_uv_scan_done_ptr(nocall, sizeof(nocall), 0), 0);
	CHECK_EQ_U64(nt_uv_scan_done_ptr(two, sizeof(two), 0), 0);
	CHECK_EQ_U64(nt_uv_scan_done_ptr(same_twice, sizeof(same_twice), 0), 1);
}

/* Found by tests/fuzz/fuzz_uvlocate (corpus/uvlocate/regress-zero-target):
 * a load of 0 (a NULL callback) before the real one was taken for "no
 * target yet", so two different loads gave an answer, while the same two
 * in the other order gave none. Both orders are ambiguous. */
TEST(uvlocate_zero_target_counts)
{
	static const uint8_t zero_first[] = { 0x41, 0xb8, 0, 0, 0, 0, 0xe8, 0, 0, 0, 0,
					      0x41, 0xb8, 1, 0, 0, 0, 0xe8, 0, 0, 0, 0 };
	static const uint8_t zero_last[] = { 0x41, 0xb8, 1, 0, 0, 0, 0xe8, 0, 0, 0, 0,
					     0x41, 0xb8, 0, 0, 0, 0, 0xe8, 0, 0, 0, 0 };

	CHECK_EQ_U64(nt_uv_scan_done_ptr(zero_first, sizeof(zero_first), 0), 0);
	CHECK_EQ_U64(nt_uv_scan_done_ptr(zero_last, sizeof(zero_last), 0), 0);
}
