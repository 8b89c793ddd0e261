/* heatmap: row maths, bounded memory by merging columns, and both renderers
 * on known data. */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include "check.h"
#include "heatmap.h"
#include "heatmap_events.h"
#include "heatmap_html.h"
#include "heatmap_svg.h"
#include "heatmap_term.h"

#define MS 1000000ULL

TEST(heatmap_rows_bounds)
{
	/* Every row's bounds map back to it, and rows tile the axis. */
	for (unsigned r = 0; r + 1 < NT_HM_ROWS; r++) {
		CHECK_EQ_INT(nt_hm_row(nt_hm_row_low_ns(r)), r);
		CHECK_EQ_INT(nt_hm_row(nt_hm_row_high_ns(r) - 1), r);
		CHECK_EQ_U64(nt_hm_row_high_ns(r), nt_hm_row_low_ns(r + 1));
		/* At most 1/8 of its lower bound wide (HDR, 8 per octave). */
		if (r >= NT_HM_SUB)
			CHECK(nt_hm_row_high_ns(r) - nt_hm_row_low_ns(r) <= nt_hm_row_low_ns(r) / 8);
	}
	CHECK_EQ_INT(nt_hm_row(0), 0);
	CHECK_EQ_INT(nt_hm_row(UINT64_MAX), NT_HM_ROWS - 1);
	CHECK_EQ_U64(nt_hm_row_high_ns(NT_HM_ROWS - 1), UINT64_MAX);
	/* The resolution the issue asks for. */
	CHECK(nt_hm_row(1 * MS) != nt_hm_row(2 * MS));
	CHECK(nt_hm_row(50 * MS) != nt_hm_row(60 * MS));
	CHECK(nt_hm_row(50 * MS) + 1 < nt_hm_row(60 * MS));
	CHECK_EQ_U64(nt_hm_row_low_ns(nt_hm_row(5 * MS)), 4608000);
	CHECK_EQ_U64(nt_hm_row_low_ns(nt_hm_row(50 * MS)), 49152000);
}

TEST(heatmap_columns_and_merge)
{
	struct nt_heatmap h;
	uint64_t t0 = 1000 * MS, sum = 0;

	CHECK_EQ_INT(nt_hm_init(&h, t0, 1000 * MS, 4), 0);
	CHECK_EQ_INT(nt_hm_add(&h, t0 + 10 * MS, 5 * MS), 0);      /* column 0 */
	CHECK_EQ_INT(nt_hm_add(&h, t0 + 1500 * MS, 5 * MS), 0);    /* column 1 */
	CHECK_EQ_INT(nt_hm_add(&h, t0 + 3999 * MS, 50 * MS), 0);   /* column 3 */
	CHECK_EQ_INT(nt_hm_add(&h, t0 - 5 * MS, 5 * MS), 0);       /* early: column 0 */
	CHECK_EQ_INT(h.ncolumns, 4);
	CHECK_EQ_INT(h.merges, 0);
	CHECK_EQ_INT(nt_hm_cell(&h, 0, nt_hm_row(5 * MS)), 2);
	CHECK_EQ_INT(nt_hm_cell(&h, 1, nt_hm_row(5 * MS)), 1);
	CHECK_EQ_INT(nt_hm_cell(&h, 3, nt_hm_row(50 * MS)), 1);
	CHECK_EQ_U64(h.early, 1);
	/* Column 4 is beyond the bound of 4: pairs merge, 2 s columns. */
	CHECK_EQ_INT(nt_hm_add(&h, t0 + 4500 * MS, 50 * MS), 0);
	CHECK_EQ_INT(h.merges, 1);
	CHECK_EQ_U64(h.column_ns, 2000 * MS);
	CHECK_EQ_INT(h.ncolumns, 3);
	CHECK_EQ_INT(nt_hm_cell(&h, 0, nt_hm_row(5 * MS)), 3);
	CHECK_EQ_INT(nt_hm_cell(&h, 1, nt_hm_row(50 * MS)), 1);
	CHECK_EQ_INT(nt_hm_cell(&h, 2, nt_hm_row(50 * MS)), 1);
	/* Far ahead: several merges at once; nothing lost. */
	CHECK_EQ_INT(nt_hm_add(&h, t0 + 100000 * MS, 1 * MS), 0);
	CHECK(h.ncolumns <= 4);
	for (unsigned c = 0; c < h.ncolumns; c++)
		for (unsigned r = 0; r < NT_HM_ROWS; r++)
			sum += nt_hm_cell(&h, c, r);
	CHECK_EQ_U64(sum, 6);
	CHECK_EQ_U64(h.events, 6);
	CHECK(h.capacity <= 4);
	nt_hm_free(&h);
}

TEST(heatmap_svg_data)
{
	struct nt_heatmap h;
	struct nt_hm_svg_info info = { .subcommand = "dns", .what = "dns.lookup latency" };
	char *buf = NULL;
	size_t sz = 0;
	FILE *f = open_memstream(&buf, &sz);

	nt_hm_init(&h, 0, 1000 * MS, 16);
	for (int i = 0; i < 7; i++)
		nt_hm_add(&h, 100 * MS, 5 * MS);
	nt_hm_add(&h, 2100 * MS, 50 * MS);
	CHECK_EQ_INT(nt_hm_svg_write(&h, &info, f), 0);
	fclose(f);
	CHECK(strstr(buf, "<script type=\"application/json\" id=\"nodetap-heatmap-data\">") != NULL);
	CHECK(strstr(buf, "\"events\":8") != NULL);
	CHECK(strstr(buf, "\"cells\":[[0,81,7],[2,108,1]]") != NULL);
	CHECK(strstr(buf, "{\"row\":81,\"low_ns\":4608000,\"high_ns\":5120000}") != NULL);
	CHECK(strstr(buf, "<title>0.000-1.000 s, 4.61 ms - 5.12 ms: 7</title>") != NULL);
	CHECK(strstr(buf, "<title>2.000-3.000 s, 49.2 ms - 53.2 ms: 1</title>") != NULL);
	CHECK(strstr(buf, "</svg>\n") != NULL);
	free(buf);
	nt_hm_free(&h);
}

TEST(heatmap_term_plain)
{
	struct nt_hm_term t;
	char *buf = NULL;
	size_t sz = 0;
	FILE *f = open_memstream(&buf, &sz);
	char line5[NT_HMT_CELLS + 1];

	CHECK_EQ_INT(nt_hmt_level(0), 0);
	CHECK_EQ_INT(nt_hmt_level(1), 1);
	CHECK_EQ_INT(nt_hmt_level(3), 2);
	CHECK_EQ_INT(nt_hmt_level(4), 3);
	CHECK_EQ_INT(nt_hmt_level(300), 9);
	CHECK_EQ_INT(nt_hmt_cell(1000), 0);                  /* under 32 us */
	CHECK_EQ_INT(nt_hmt_cell(5 * MS), 28);               /* 5.0 ms: 4.1-8.2, 1st quarter */
	CHECK_EQ_INT(nt_hmt_cell(50 * MS), 42);
	CHECK_EQ_INT(nt_hmt_cell(60000 * MS), NT_HMT_CELLS - 1);
	nt_hmt_init(&t, f, false, "nodetap dns: dns.lookup latency", 0, 1000 * MS);
	for (int i = 0; i < 5; i++)
		nt_hmt_add(&t, 200 * MS, 5 * MS);
	nt_hmt_add(&t, 2200 * MS, 50 * MS);   /* prints columns 0 and 1 */
	nt_hmt_add(&t, 100 * MS, 50 * MS);    /* column 0 is out: late */
	nt_hmt_finish(&t, 2500 * MS);
	fclose(f);
	memset(line5, ' ', NT_HMT_CELLS);
	line5[NT_HMT_CELLS] = 0;
	line5[28] = '-';  /* 5 is in 4-7 */
	CHECK(strstr(buf, line5) != NULL);
	CHECK(strstr(buf, "     0.0|") != NULL);
	CHECK(strstr(buf, "     2.0|") != NULL);
	CHECK(strstr(buf, "| 5\n") != NULL);
	CHECK(strstr(buf, "| 0\n") != NULL);
	CHECK(strstr(buf, "7 events, 1 of them after") != NULL);
	CHECK(strchr(buf, '\033') == NULL);
	free(buf);
}

TEST(heatmap_events_bounded)
{
	struct nt_hm_events e;
	char host[300];

	CHECK_EQ_INT(nt_hme_init(&e, 3), 0);
	nt_hme_add(&e, 1, 2, 10, 11, "a.test", 6, "ok", NULL);
	nt_hme_add(&e, 3, 4, 10, 11, "b\033[31m", 300, "ok", NULL);
	nt_hme_add(&e, 5, 6, 10, 12, "a.test", 6, "EAI_NONAME", NULL);
	nt_hme_add(&e, 7, 8, 10, 12, "c.test", 6, "ok", NULL);   /* beyond 3: counted */
	CHECK_EQ_U64(e.n, 3);
	CHECK_EQ_U64(e.not_kept, 1);
	/* Labels and statuses interned once each; the traced side's text
	 * escaped; the event not kept still counts in its label's statistics. */
	CHECK_EQ_INT(e.nlabels, 5);
	CHECK_EQ_U64(e.lstats[e.ev[0].label].n, 2);
	CHECK_EQ_U64(e.lstats[e.ev[0].label].total_ns, 8);
	CHECK_EQ_U64(e.lstats[e.ev[0].label].max_ns, 6);
	CHECK_EQ_U64(e.lstats[4].n, 1);
	CHECK_EQ_STR(e.labels[4], "c.test");
	CHECK_EQ_U64(e.no_stack, 4);
	CHECK_EQ_INT(e.ev[0].stack, NT_HME_NO_STACK);
	CHECK_EQ_STR(e.labels[e.ev[1].label], "b\\x1b[31m");
	CHECK_EQ_INT(e.ev[0].label, e.ev[2].label);
	CHECK_EQ_STR(e.labels[e.ev[2].status], "EAI_NONAME");
	nt_hme_free(&e);
	/* More labels than kept: the rest share one. */
	CHECK_EQ_INT(nt_hme_init(&e, 10000), 0);
	for (int i = 0; i < NT_HME_MAX_LABELS + 10; i++) {
		snprintf(host, sizeof(host), "h%d.test", i);
		nt_hme_add(&e, 1, 1, 1, 1, host, sizeof(host), "ok", NULL);
	}
	CHECK(e.nlabels <= NT_HME_MAX_LABELS);
	CHECK_EQ_U64(e.n, NT_HME_MAX_LABELS + 10);
	CHECK_EQ_STR(e.labels[e.ev[e.n - 1].label], "(more labels than nodetap keeps)");
	nt_hme_free(&e);
}

/* Two functions of this test binary, whose addresses make stacks the
 * symbolizer names from its own ELF symbols. */
__attribute__((noinline)) void nt_test_hme_leaf(void);
__attribute__((noinline)) void nt_test_hme_leaf(void) { __asm__ volatile(""); }
__attribute__((noinline)) void nt_test_hme_caller(void);
__attribute__((noinline)) void nt_test_hme_caller(void) { nt_test_hme_leaf(); __asm__ volatile(""); }

TEST(heatmap_events_stacks_and_html)
{
	struct nt_symbolizer *sym = nt_symbolizer_new();
	struct nt_hm_events e;
	struct nt_heatmap h;
	struct nt_hm_svg_info info = { .subcommand = "loop", .what = "event-loop lag",
				       .stacks_hint = "no <stack>" };
	unsigned long long a[2] = { (unsigned long long)(uintptr_t)nt_test_hme_leaf,
				    (unsigned long long)(uintptr_t)nt_test_hme_caller + 1 };
	unsigned long long b[1] = { (unsigned long long)(uintptr_t)nt_test_hme_caller + 1 };
	struct nt_hme_stack sa = { sym, -1, -1, "node", a, 2 }, sb = { sym, -1, -1, "node", b, 1 };
	struct nt_hme_stack none = { sym, -1, -1, "node", NULL, 0 };
	uint32_t pid = (uint32_t)getpid();
	char *buf = NULL;
	size_t sz = 0;
	FILE *f;

	CHECK(sym != NULL);
	CHECK_EQ_INT(nt_hme_init(&e, 3), 0);
	nt_hm_init(&h, 0, 1000 * MS, 16);
	nt_hme_add(&e, 1 * MS, 5 * MS, pid, pid, "main", 4, "user", &sa);
	nt_hme_add(&e, 2 * MS, 7 * MS, pid, pid, "main", 4, "user", &sa);
	nt_hme_add(&e, 3 * MS, 9 * MS, pid, pid, "main", 4, "user", &sb);
	nt_hme_add(&e, 4 * MS, 1 * MS, pid, pid, "main", 4, "user", &none); /* not kept: max 3 */
	for (int i = 1; i <= 4; i++)
		nt_hm_add(&h, (uint64_t)i * MS, 5 * MS);
	/* One stack per distinct frames, counted per event, latency summed. */
	CHECK_EQ_U64(e.stacks.nstacks, 2);
	CHECK_EQ_U64(e.stacks.stacks[0].count, 2);
	CHECK_EQ_U64(e.stack_ns[0], 12 * MS);
	CHECK_EQ_U64(e.stacks.total, 3);
	CHECK_EQ_U64(e.with_stack, 3);
	CHECK_EQ_U64(e.no_stack, 1);
	CHECK_EQ_INT(e.ev[0].stack, 0);
	CHECK_EQ_INT(e.ev[1].stack, 0);
	CHECK_EQ_INT(e.ev[2].stack, 1);
	CHECK_EQ_U64(e.not_kept, 1);
	CHECK_EQ_U64(e.lstats[e.ev[0].label].n, 4);
	/* Root first: the process, then the caller, then the leaf. */
	CHECK_EQ_INT(e.stacks.stacks[0].nframes, 3);
	CHECK_EQ_STR(e.stacks.stacks[0].frames[0].label, "node");
	CHECK(strstr(e.stacks.stacks[0].frames[1].label, "nt_test_hme_caller") != NULL);
	CHECK(strstr(e.stacks.stacks[0].frames[2].label, "nt_test_hme_leaf") != NULL);
	/* Named again from other frames (what nt_hme_rename_jit does): the
	 * stack keeps its place and count. */
	CHECK_EQ_INT(e.stacks.stacks[1].nframes, 2);
	CHECK_EQ_INT(nt_profile_rename(&e.stacks, 1, sym, a, 2), 0);
	CHECK_EQ_INT(e.stacks.stacks[1].nframes, 3);
	CHECK_EQ_U64(e.stacks.stacks[1].count, 1);
	CHECK_EQ_STR(e.stacks.stacks[1].frames[0].label, "node");
	CHECK(strstr(e.stacks.stacks[1].frames[2].label, "nt_test_hme_leaf") != NULL);
	CHECK_EQ_INT(nt_profile_rename(&e.stacks, 1, sym, b, 1), 0);
	/* The page: the stacks, the frames, the tables, the flame graph. */
	f = open_memstream(&buf, &sz);
	CHECK_EQ_INT(nt_hm_html_write(&h, &info, &e, f), 0);
	fclose(f);
	CHECK(strstr(buf, "\"with_stack\":3,\"no_stack\":1,\"stacks_not_kept\":0") != NULL);
	CHECK(strstr(buf, "\"stacks_hint\":\"no \\u003cstack\\u003e\"") != NULL);
	CHECK(strstr(buf, "<svg version=\"1.1\" class=\"flamegraph\"") != NULL);
	CHECK(strstr(buf, "data-n=\"nt_test_hme_leaf") != NULL);
	CHECK(strstr(buf, "<table id=\"labels-time\">") != NULL);
	CHECK(strstr(buf, "<table id=\"functions\">") != NULL);
	CHECK(strstr(buf, ",0]") != NULL);   /* an event's stack index */
	CHECK(strstr(buf, "<?xml") == NULL);  /* no prolog inside the page */
	free(buf);
	nt_hme_free(&e);
	nt_hm_free(&h);
	/* The bound on distinct stacks: the rest are counted, not kept. */
	CHECK_EQ_INT(nt_hme_init(&e, 10), 0);
	for (int i = 0; i < NT_HME_MAX_STACKS + 5; i++) {
		unsigned long long ip = (unsigned long long)(uintptr_t)nt_test_hme_leaf + 1 + (unsigned)i % 2;
		unsigned long long ips[2] = { ip, (unsigned long long)i };
		struct nt_hme_stack st = { sym, -1, -1, "node", ips, 2 };

		nt_hme_add(&e, 1, 1, pid, pid, "main", 4, "user", &st);
	}
	CHECK_EQ_U64(e.stacks.nstacks, NT_HME_MAX_STACKS);
	CHECK_EQ_U64(e.stacks_not_kept, 5);
	CHECK_EQ_U64(e.with_stack, NT_HME_MAX_STACKS);
	nt_hme_free(&e);
	nt_symbolizer_free(sym);
}
