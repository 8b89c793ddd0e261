/* trace_links: an arrow joins a lookup or connect to the callback of the
 * same (pid, wrap) that started at or after it, whichever end comes first;
 * a reused wrap address never joins a callback to an older source. */
#include <stdlib.h>
#include "check.h"
#include "trace_links.h"

static struct nt_tl_end end(uint32_t pid, uint64_t wrap, uint64_t start)
{
	return (struct nt_tl_end){ .pid = pid, .tid = pid, .wrap = wrap, .start_ns = start,
				   .at_ns = start + 1 };
}

TEST(trace_links_source_first)
{
	struct nt_tlinks *l = calloc(1, sizeof(*l));
	struct nt_tl_end s = end(10, 0x1000, 100), cb = end(10, 0x1000, 150), got;

	s.what = 7;
	CHECK(!nt_tl_source(l, &s, &got));
	CHECK(nt_tl_callback(l, &cb, &got));
	CHECK_EQ_U64(got.start_ns, 100);
	CHECK_EQ_INT(got.what, 7);
	/* Used up: a second callback of the wrap has no source. */
	cb.start_ns = 160;
	CHECK(!nt_tl_callback(l, &cb, &got));
	free(l);
}

TEST(trace_links_callback_first)
{
	struct nt_tlinks *l = calloc(1, sizeof(*l));
	struct nt_tl_end s = end(10, 0x1000, 100), cb = end(10, 0x1000, 150), got;

	CHECK(!nt_tl_callback(l, &cb, &got));
	CHECK(nt_tl_source(l, &s, &got));
	CHECK_EQ_U64(got.start_ns, 150);
	free(l);
}

TEST(trace_links_reused_address)
{
	struct nt_tlinks *l = calloc(1, sizeof(*l));
	struct nt_tl_end old_cb = end(10, 0x1000, 50), s = end(10, 0x1000, 100), got;
	struct nt_tl_end other_pid = end(11, 0x1000, 150), cb = end(10, 0x1000, 150);

	/* A callback of an earlier request at the same address. */
	CHECK(!nt_tl_callback(l, &old_cb, &got));
	CHECK(!nt_tl_source(l, &s, &got));
	/* Same address in another process. */
	CHECK(!nt_tl_callback(l, &other_pid, &got));
	CHECK(nt_tl_callback(l, &cb, &got));
	CHECK_EQ_U64(got.start_ns, 100);
	/* No wrap (a callback of no AsyncWrap): never linked. */
	s.wrap = 0;
	CHECK(!nt_tl_source(l, &s, &got));
	free(l);
}
