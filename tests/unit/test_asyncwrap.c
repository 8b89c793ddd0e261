/* asyncwrap: the decoders that prove where AsyncWrap keeps provider_type_,
 * on the bytes node's own builds have (v18/v20: +0x20, v22/v24: +0x30), on
 * the PIE form, and on code that must not be taken for them. */
#include <stdint.h>
#include "check.h"
#include "asyncwrap.h"

/* node v20's node::AsyncWrap::MemoryInfoName() const at 0xbc3f10:
 * movslq 0x20(%rdi),%rax; mov 0x2604ea0(,%rax,8),%rax; ret */
static const uint8_t info_v20[] = { 0x48, 0x63, 0x47, 0x20, 0x48, 0x8b, 0x04, 0xc5,
				    0xa0, 0x4e, 0x60, 0x02, 0xc3 };
/* v24: the same at +0x30, table 0x3206fe0. */
static const uint8_t info_v24[] = { 0x48, 0x63, 0x47, 0x30, 0x48, 0x8b, 0x04, 0xc5,
				    0xe0, 0x6f, 0x20, 0x03, 0xc3 };

TEST(aw_info_name_non_pie)
{
	uint32_t off = 0;
	uint64_t table = 0;

	CHECK_EQ_INT(nt_aw_decode_info_name(info_v20, sizeof(info_v20), 0xbc3f10, &off, &table), 0);
	CHECK_EQ_INT(off, 0x20);
	CHECK_EQ_U64(table, 0x2604ea0);
	CHECK_EQ_INT(nt_aw_decode_info_name(info_v24, sizeof(info_v24), 0x814ee0, &off, &table), 0);
	CHECK_EQ_INT(off, 0x30);
	CHECK_EQ_U64(table, 0x3206fe0);
}

TEST(aw_info_name_pie)
{
	/* endbr64; lea 0x1000(%rip),%rdx; movslq 0x30(%rdi),%rax;
	 * mov (%rdx,%rax,8),%rax; ret -- the lea first, as gcc may order it */
	static const uint8_t lea_first[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x8d, 0x15, 0x00, 0x10,
					     0x00, 0x00, 0x48, 0x63, 0x47, 0x30, 0x48, 0x8b, 0x04,
					     0xc2, 0xc3 };
	/* movslq 0x28(%rdi),%rax; lea 0x2000(%rip),%rcx; mov (%rcx,%rax,8),%rax */
	static const uint8_t lea_after[] = { 0x48, 0x63, 0x47, 0x28, 0x48, 0x8d, 0x0d, 0x00, 0x20,
					     0x00, 0x00, 0x48, 0x8b, 0x04, 0xc1, 0xc3 };
	uint32_t off = 0;
	uint64_t table = 0;

	CHECK_EQ_INT(nt_aw_decode_info_name(lea_first, sizeof(lea_first), 0x10000, &off, &table), 0);
	CHECK_EQ_INT(off, 0x30);
	CHECK_EQ_U64(table, 0x10000 + 11 + 0x1000);
	CHECK_EQ_INT(nt_aw_decode_info_name(lea_after, sizeof(lea_after), 0x20000, &off, &table), 0);
	CHECK_EQ_INT(off, 0x28);
	CHECK_EQ_U64(table, 0x20000 + 11 + 0x2000);
}

TEST(aw_info_name_rejects_other_code)
{
	/* movslq 0x20(%rsi),%rax: not `this` */
	static const uint8_t other_base[] = { 0x48, 0x63, 0x46, 0x20, 0x48, 0x8b, 0x04, 0xc5,
					      0xa0, 0x4e, 0x60, 0x02, 0xc3 };
	/* the load without the table lookup */
	static const uint8_t no_table[] = { 0x48, 0x63, 0x47, 0x20, 0xc3 };
	/* push %rbp; ...: a function with a prologue is not the lookup */
	static const uint8_t prologue[] = { 0x55, 0x48, 0x89, 0xe5, 0x48, 0x63, 0x47, 0x20 };
	/* the table lookup indexed through %rsp (SIB base 4 means no base) */
	static const uint8_t sib_rsp[] = { 0x48, 0x63, 0x47, 0x20, 0x48, 0x8d, 0x25, 0, 0, 0, 0,
					   0x48, 0x8b, 0x04, 0xc4 };
	uint32_t off;
	uint64_t table;

	CHECK(nt_aw_decode_info_name(other_base, sizeof(other_base), 0, &off, &table) < 0);
	CHECK(nt_aw_decode_info_name(no_table, sizeof(no_table), 0, &off, &table) < 0);
	CHECK(nt_aw_decode_info_name(prologue, sizeof(prologue), 0, &off, &table) < 0);
	CHECK(nt_aw_decode_info_name(sib_rsp, sizeof(sib_rsp), 0, &off, &table) < 0);
	/* cut short: no reading past the end */
	CHECK(nt_aw_decode_info_name(info_v20, 6, 0, &off, &table) < 0);
	CHECK(nt_aw_decode_info_name(info_v20, 0, 0, &off, &table) < 0);
}

TEST(aw_trace_before)
{
	/* node v18 EmitTraceEventBefore(): push %rbp; mov %rsp,%rbp; push %rbx;
	 * sub $8,%rsp; cmpl $0x3a,0x20(%rdi); ja ...  (59 providers) */
	static const uint8_t v18[] = { 0x55, 0x48, 0x89, 0xe5, 0x53, 0x48, 0x83, 0xec, 0x08, 0x83,
				       0x7f, 0x20, 0x3a, 0x0f, 0x87, 0x9f, 0x1b, 0x00, 0x00 };
	/* v24: cmpl $0x43,0x30(%rdi) (68 providers) */
	static const uint8_t v24[] = { 0x55, 0x48, 0x89, 0xe5, 0x53, 0x48, 0x83, 0xec, 0x08, 0x83,
				       0x7f, 0x30, 0x43, 0x0f, 0x87, 0x56, 0x18, 0x00, 0x00 };
	/* the disp32 form: cmpl $0x3a,0x120(%rdi) */
	static const uint8_t d32[] = { 0x55, 0x83, 0xbf, 0x20, 0x01, 0x00, 0x00, 0x3a };
	uint32_t off = 0, max = 0;

	CHECK_EQ_INT(nt_aw_decode_trace_before(v18, sizeof(v18), &off, &max), 0);
	CHECK_EQ_INT(off, 0x20);
	CHECK_EQ_INT(max, 0x3a);
	CHECK_EQ_INT(nt_aw_decode_trace_before(v24, sizeof(v24), &off, &max), 0);
	CHECK_EQ_INT(off, 0x30);
	CHECK_EQ_INT(max, 0x43);
	CHECK_EQ_INT(nt_aw_decode_trace_before(d32, sizeof(d32), &off, &max), 0);
	CHECK_EQ_INT(off, 0x120);
	CHECK_EQ_INT(max, 0x3a);
}

TEST(aw_trace_before_rejects)
{
	/* sub $8,%rsp alone (83 ec 08: /5, not a cmp on [rdi]) */
	static const uint8_t sub_only[] = { 0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xec, 0x08, 0xc3 };
	/* cmpl $0,0x20(%rdi): a zero bound is no provider count */
	static const uint8_t zero[] = { 0x83, 0x7f, 0x20, 0x00 };
	uint32_t off, max;

	CHECK(nt_aw_decode_trace_before(sub_only, sizeof(sub_only), &off, &max) < 0);
	CHECK(nt_aw_decode_trace_before(zero, sizeof(zero), &off, &max) < 0);
	CHECK(nt_aw_decode_trace_before(zero, 3, &off, &max) < 0);
}

TEST(aw_code_reaches)
{
	/* at 0x1000: call 0x2000 (rel32 = 0x2000 - 0x1005); at 0x1005: jmp 0x3000 */
	static const uint8_t code[] = { 0xe8, 0xfb, 0x0f, 0x00, 0x00, 0xe9, 0xf6, 0x1f, 0x00, 0x00 };

	CHECK(nt_aw_code_reaches(code, sizeof(code), 0x1000, 0x2000));
	CHECK(nt_aw_code_reaches(code, sizeof(code), 0x1000, 0x3000));
	CHECK(!nt_aw_code_reaches(code, sizeof(code), 0x1000, 0x4000));
	CHECK(!nt_aw_code_reaches(code, 4, 0x1000, 0x2000)); /* cut short */
}

TEST(aw_valid_name)
{
	CHECK(nt_aw_valid_name("TCPWRAP"));
	CHECK(nt_aw_valid_name("QUIC_LOGSTREAM"));
	CHECK(nt_aw_valid_name("HTTP2SESSION"));
	CHECK(!nt_aw_valid_name(""));
	CHECK(!nt_aw_valid_name("tcpwrap"));
	CHECK(!nt_aw_valid_name("TCP WRAP"));
	CHECK(!nt_aw_valid_name("TCPWRAP\n"));
	CHECK(!nt_aw_valid_name("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
}
