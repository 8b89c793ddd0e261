/* uvloop: reading libuv's code for the loop's layout (byte strings taken
 * from node 18-24 and Debian's libuv.so.1), checking loop memory, finding a
 * loop on a stack, parsing /proc/PID/task/TID/syscall. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "loop.h"
#include "uvloop.h"

TEST(uvloop_now_disp32_and_disp8)
{
	/* node 18-24 and libuv.so.1: mov 0x220(%rdi),%rax; ret */
	static const uint8_t node[] = { 0x48, 0x8b, 0x87, 0x20, 0x02, 0, 0, 0xc3 };
	static const uint8_t cet[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x8b, 0x87, 0x20, 0x02, 0, 0, 0xc3 };
	static const uint8_t small[] = { 0x48, 0x8b, 0x47, 0x58, 0xc3 };
	static const uint8_t other[] = { 0x55, 0x48, 0x89, 0xe5, 0x48, 0x8b, 0x87, 0x20, 0x02, 0, 0, 0xc3 };
	static const uint8_t noret[] = { 0x48, 0x8b, 0x87, 0x20, 0x02, 0, 0, 0x90 };
	uint32_t off = 0;

	CHECK_EQ_INT(nt_uv_scan_now(node, sizeof(node), &off), 0);
	CHECK_EQ_INT(off, 0x220);
	off = 0;
	CHECK_EQ_INT(nt_uv_scan_now(cet, sizeof(cet), &off), 0);
	CHECK_EQ_INT(off, 0x220);
	CHECK_EQ_INT(nt_uv_scan_now(small, sizeof(small), &off), 0);
	CHECK_EQ_INT(off, 0x58);
	CHECK_EQ_INT(nt_uv_scan_now(other, sizeof(other), &off), -1);
	CHECK_EQ_INT(nt_uv_scan_now(noret, sizeof(noret), &off), -1);
	CHECK_EQ_INT(nt_uv_scan_now(node, 7, &off), -1); /* cut short */
}

TEST(uvloop_metrics_info)
{
	/* node 20-24: mov 0x28(%rdi),%rdx; xor %eax,%eax;
	 * movdqu 0x8(%rdx),%xmm0; movups %xmm0,(%rsi) */
	static const uint8_t node[] = { 0x48, 0x8b, 0x57, 0x28, 0x31, 0xc0, 0xf3, 0x0f, 0x6f,
					0x42, 0x08, 0x0f, 0x11, 0x06, 0xf3 };
	/* mov 0x28(%rdi),%rdx; mov 0x8(%rdx),%rax; mov %rax,(%rsi) */
	static const uint8_t plain[] = { 0x48, 0x8b, 0x57, 0x28, 0x48, 0x8b, 0x42, 0x08, 0x48, 0x89, 0x06 };
	static const uint8_t wrong[] = { 0x48, 0x8b, 0x57, 0x28, 0x31, 0xc0, 0xf3, 0x0f, 0x6f,
					 0x42, 0x08, 0x0f, 0x11, 0x07 };
	uint32_t f = 0, cnt = 0;

	CHECK_EQ_INT(nt_uv_scan_metrics_info(node, sizeof(node), &f, &cnt), 0);
	CHECK_EQ_INT(f, 0x28);
	CHECK_EQ_INT(cnt, 8);
	f = cnt = 0;
	CHECK_EQ_INT(nt_uv_scan_metrics_info(plain, sizeof(plain), &f, &cnt), 0);
	CHECK_EQ_INT(f, 0x28);
	CHECK_EQ_INT(cnt, 8);
	CHECK_EQ_INT(nt_uv_scan_metrics_info(wrong, sizeof(wrong), &f, &cnt), -1);
}

TEST(uvloop_metrics_idle_time)
{
	/* node 20-24: mov 0x28(%rdi),%rbx; lea 0x98(%rbx),%r13; ...; call lock;
	 * mov 0x90(%rbx),%r12; mov %r13,%rdi; mov 0x88(%rbx),%rbx; call unlock;
	 * test %rbx,%rbx */
	static const uint8_t node20[] = {
		0x48, 0x8b, 0x5f, 0x28, 0x4c, 0x8d, 0xab, 0x98, 0, 0, 0, 0x4c, 0x89, 0xef,
		0xe8, 0, 0, 0, 0, 0x4c, 0x8b, 0xa3, 0x90, 0, 0, 0, 0x4c, 0x89, 0xef,
		0x48, 0x8b, 0x9b, 0x88, 0, 0, 0, 0xe8, 0, 0, 0, 0, 0x48, 0x85, 0xdb };
	/* node 18 and libuv.so.1 (1.44): mov 0x10(%rbx),%rbp; mov 0x8(%rbx),%rbx */
	static const uint8_t uv144[] = {
		0x41, 0x54, 0x55, 0x53, 0x48, 0x8b, 0x5f, 0x28, 0x4c, 0x8d, 0x63, 0x18, 0x4c, 0x89,
		0xe7, 0xe8, 0, 0, 0, 0, 0x48, 0x8b, 0x6b, 0x10, 0x48, 0x8b, 0x5b, 0x08, 0x4c, 0x89,
		0xe7, 0xe8, 0, 0, 0, 0, 0x48, 0x85, 0xdb };
	/* The entry time loaded but never tested: not recognised. */
	static const uint8_t untested[] = { 0x48, 0x8b, 0x5f, 0x28, 0x48, 0x8b, 0x6b, 0x10,
					    0x48, 0x8b, 0x5b, 0x08, 0xc3 };
	uint32_t f = 0, e = 0, idle = 0;

	CHECK_EQ_INT(nt_uv_scan_metrics_idle_time(node20, sizeof(node20), &f, &e, &idle), 0);
	CHECK_EQ_INT(f, 0x28);
	CHECK_EQ_INT(e, 0x88);
	CHECK_EQ_INT(idle, 0x90);
	f = e = idle = 0;
	CHECK_EQ_INT(nt_uv_scan_metrics_idle_time(uv144, sizeof(uv144), &f, &e, &idle), 0);
	CHECK_EQ_INT(f, 0x28);
	CHECK_EQ_INT(e, 0x08);
	CHECK_EQ_INT(idle, 0x10);
	CHECK_EQ_INT(nt_uv_scan_metrics_idle_time(untested, sizeof(untested), &f, &e, &idle), -1);
}

static bool data_above_5m(uint64_t vaddr, void *arg)
{
	(void)arg;
	return vaddr >= 0x5000000;
}

TEST(uvloop_default_loop_non_pie_and_pie)
{
	/* node 20, non-PIE: mov default_loop_ptr(%rip),%r12 (a load: not it),
	 * then mov $0x566fa00,%edi; call uv_loop_init; mov $0x566fa00,%r12d */
	static const uint8_t node20[] = {
		0x55, 0x48, 0x89, 0xe5, 0x41, 0x54, 0x48, 0x83, 0xec, 0x08,
		0x4c, 0x8b, 0x25, 0x87, 0x44, 0xdc, 0x03, 0x4d, 0x85, 0xe4, 0x74, 0x0a,
		0x4c, 0x89, 0xe0, 0x4c, 0x8b, 0x65, 0xf8, 0xc9, 0xc3, 0x90,
		0xbf, 0x00, 0xfa, 0x66, 0x05, 0xe8, 0x06, 0x85, 0x00, 0x00, 0x85, 0xc0, 0x75, 0xe8,
		0x41, 0xbc, 0x00, 0xfa, 0x66, 0x05 };
	/* libuv.so.1 (PIE) at 0xe660: lea 0x20bd9(%rip),%rbp at 0xe680 names
	 * 0x2f260; mov 0x20bdb(%rip),%rbx (a load) does not count. */
	static const uint8_t pie[] = {
		0x55, 0x53, 0x48, 0x83, 0xec, 0x08, 0x48, 0x8b, 0x1d, 0xdb, 0x0b, 0x02, 0x00,
		0x48, 0x85, 0xdb, 0x74, 0x0e, 0x48, 0x83, 0xc4, 0x08, 0x48, 0x89, 0xd8, 0x5b, 0x5d,
		0xc3, 0x0f, 0x1f, 0x40, 0x00,
		0x48, 0x8d, 0x2d, 0xd9, 0x0b, 0x02, 0x00, 0x48, 0x89, 0xef, 0xe8, 0x01, 0xa1, 0xff, 0xff };
	/* Two different data addresses: ambiguous. */
	static const uint8_t two[] = { 0xbf, 0x00, 0x00, 0x00, 0x06, 0xbe, 0x00, 0x00, 0x10, 0x06 };

	CHECK_EQ_U64(nt_uv_scan_default_loop(node20, sizeof(node20), 0x18ab550, data_above_5m, NULL),
		     0x566fa00);
	/* Its target is not in that data segment: nothing. */
	CHECK_EQ_U64(nt_uv_scan_default_loop(pie, sizeof(pie), 0xe660, data_above_5m, NULL), 0);
	CHECK_EQ_U64(nt_uv_scan_default_loop(two, sizeof(two), 0, data_above_5m, NULL), 0);
}

static bool data_above_128k(uint64_t vaddr, void *arg)
{
	(void)arg;
	return vaddr >= 0x20000 && vaddr < 0x40000;
}

TEST(uvloop_default_loop_pie_lea)
{
	static const uint8_t pie[] = {
		0x48, 0x8b, 0x1d, 0xdb, 0x0b, 0x02, 0x00, 0x48, 0x85, 0xdb,
		0x48, 0x8d, 0x2d, 0xd9, 0x0b, 0x02, 0x00, 0x48, 0x89, 0xef, 0xe8, 0x01, 0xa1, 0xff, 0xff };

	/* lea at offset 10 of code that starts at 0xe676: 0xe676 + 10 + 7 + 0x20bd9 */
	CHECK_EQ_U64(nt_uv_scan_default_loop(pie, sizeof(pie), 0xe676, data_above_128k, NULL),
		     0xe676 + 17 + 0x20bd9);
}

/* A fake initialized loop at ADDR in BUF: backend fd, self pointer, clock. */
static void fake_loop(uint8_t *buf, uint64_t addr, int epfd, uint64_t time_ms)
{
	memset(buf, 0x11, UV_LOOP_MIN_SIZE);
	memcpy(buf + UV_LOOP_BACKEND_FD_OFF, &epfd, sizeof(epfd));
	memcpy(buf + UV_LOOP_WQ_ASYNC_LOOP_OFF, &addr, sizeof(addr));
	memcpy(buf + 0x220, &time_ms, sizeof(time_ms));
}

TEST(uvloop_check_loop)
{
	uint8_t buf[UV_LOOP_MIN_SIZE];

	fake_loop(buf, 0x7000, 9, 5000);
	CHECK_EQ_INT(nt_uv_check_loop(buf, sizeof(buf), 0x7000, 0x220, 6000), 0);
	/* A clock from the future, or a self pointer elsewhere: not a loop. */
	CHECK_EQ_INT(nt_uv_check_loop(buf, sizeof(buf), 0x7000, 0x220, 4000), -EINVAL);
	CHECK_EQ_INT(nt_uv_check_loop(buf, sizeof(buf), 0x7008, 0x220, 6000), -EINVAL);
	/* All zeros: not initialized yet. */
	memset(buf, 0, sizeof(buf));
	CHECK_EQ_INT(nt_uv_check_loop(buf, sizeof(buf), 0x7000, 0x220, 6000), -EAGAIN);
	/* Too short, or a clock offset past what was read. */
	CHECK_EQ_INT(nt_uv_check_loop(buf, 100, 0x7000, 0x220, 6000), -EINVAL);
	CHECK_EQ_INT(nt_uv_check_loop(buf, sizeof(buf), 0x7000, UV_LOOP_MIN_SIZE, 6000), -EINVAL);
}

TEST(uvloop_scan_stack)
{
	size_t len = 16384;
	uint8_t *stack = calloc(1, len);
	uint64_t base = 0x7fff0000;

	if (!stack) {
		CHECK(stack);
		return;
	}
	/* A decoy with the right fd but no self pointer, then the loop. */
	memcpy(stack + 1000 + UV_LOOP_BACKEND_FD_OFF, &(int){ 18 }, sizeof(int));
	fake_loop(stack + 8192, base + 8192, 18, 1234);
	CHECK_EQ_U64(nt_uv_scan_stack(stack, len, base, 18, 0x220, 2000), base + 8192);
	CHECK_EQ_U64(nt_uv_scan_stack(stack, len, base, 17, 0x220, 2000), 0);
	/* Not 8-aligned there: not found. */
	memset(stack, 0, len);
	fake_loop(stack + 8196, base + 8196, 18, 1234);
	CHECK_EQ_U64(nt_uv_scan_stack(stack, len, base, 18, 0x220, 2000), 0);
	/* Past the end of what was read: not found, not read. */
	memset(stack, 0, len);
	fake_loop(stack + len - UV_LOOP_MIN_SIZE, base + len - UV_LOOP_MIN_SIZE, 18, 1234);
	CHECK_EQ_U64(nt_uv_scan_stack(stack, len - 8, base, 18, 0x220, 2000), 0);
	free(stack);
}

TEST(uvloop_parse_syscall)
{
	long nr = 0;
	uint64_t a1 = 0, sp = 0;

	CHECK_EQ_INT(nt_uv_parse_syscall("281 0x12 0x7f8e167f8790 0x400 0x3e7 0x0 0x8 "
					 "0x7f8e167f7a30 0x7f8e1d306cae\n", &nr, &a1, &sp), 0);
	CHECK_EQ_INT(nr, 281);
	CHECK_EQ_U64(a1, 0x12);
	CHECK_EQ_U64(sp, 0x7f8e167f7a30);
	CHECK(nt_uv_is_epoll_wait(nr));
	CHECK(!nt_uv_is_epoll_wait(202));
	CHECK_EQ_INT(nt_uv_parse_syscall("running\n", &nr, &a1, &sp), -1);
	CHECK_EQ_INT(nt_uv_parse_syscall("-1 0x7ffd 0x4011\n", &nr, &a1, &sp), -1);
	CHECK_EQ_INT(nt_uv_parse_syscall("", &nr, &a1, &sp), -1);
}
