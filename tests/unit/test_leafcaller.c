/* nt_ends_with_call: the bytes before a return address end with a call in
 * each encoding that JIT code and builtins use; other instructions do not. */
#include <stdint.h>
#include <string.h>
#include "check.h"
#include "leafcaller.h"

/* INSN right-aligned in 8 bytes of zeros, as read before a return address. */
static int ends_with_call(const uint8_t *insn, size_t len)
{
	uint8_t buf[8] = { 0 };

	memcpy(buf + sizeof(buf) - len, insn, len);
	return nt_ends_with_call(buf, sizeof(buf));
}

TEST(leafcaller_calls)
{
	static const uint8_t rel32[] = { 0xe8, 0x10, 0, 0, 0 };            /* call rel32 */
	static const uint8_t reg[] = { 0xff, 0xd0 };                        /* call *%rax */
	static const uint8_t rex_reg[] = { 0x41, 0xff, 0xd2 };              /* call *%r10 */
	static const uint8_t disp8[] = { 0xff, 0x50, 0x10 };                /* call *0x10(%rax) */
	static const uint8_t r13_disp32[] = { 0x41, 0xff, 0x95, 0x34, 0x12, 0, 0 }; /* call *0x1234(%r13) */
	static const uint8_t rip[] = { 0xff, 0x15, 0, 0, 0, 0 };           /* call *0(%rip) */
	static const uint8_t sib[] = { 0xff, 0x14, 0x24 };                  /* call *(%rsp) */
	static const uint8_t sib_disp8[] = { 0xff, 0x54, 0x24, 0x08 };      /* call *8(%rsp) */
	static const uint8_t mem[] = { 0xff, 0x10 };                        /* call *(%rax) */

	CHECK(ends_with_call(rel32, sizeof(rel32)));
	CHECK(ends_with_call(reg, sizeof(reg)));
	CHECK(ends_with_call(rex_reg, sizeof(rex_reg)));
	CHECK(ends_with_call(disp8, sizeof(disp8)));
	CHECK(ends_with_call(r13_disp32, sizeof(r13_disp32)));
	CHECK(ends_with_call(rip, sizeof(rip)));
	CHECK(ends_with_call(sib, sizeof(sib)));
	CHECK(ends_with_call(sib_disp8, sizeof(sib_disp8)));
	CHECK(ends_with_call(mem, sizeof(mem)));
}

TEST(leafcaller_not_calls)
{
	static const uint8_t jmp_reg[] = { 0xff, 0xe0 };                    /* jmp *%rax */
	static const uint8_t mov[] = { 0x48, 0x89, 0xef };                  /* mov %rbp,%rdi */
	static const uint8_t push[] = { 0xff, 0x75, 0x08 };                 /* push 8(%rbp) */
	static const uint8_t short_disp32[] = { 0xff, 0x95, 0x34, 0x12 };   /* call *disp32(%rbp), cut */
	static const uint8_t zeros[8] = { 0 };

	CHECK(!ends_with_call(jmp_reg, sizeof(jmp_reg)));
	CHECK(!ends_with_call(mov, sizeof(mov)));
	CHECK(!ends_with_call(push, sizeof(push)));
	CHECK(!ends_with_call(short_disp32, sizeof(short_disp32)));
	CHECK(!nt_ends_with_call(zeros, sizeof(zeros)));
	CHECK(!nt_ends_with_call(zeros, 0));
	CHECK(!nt_ends_with_call((const uint8_t[]){ 0xff }, 1));
}
