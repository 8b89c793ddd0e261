/* log2 histogram maths: the user side must agree with the BPF side's slots. */
#include <stdlib.h>
#include "check.h"
#include "hist.h"

TEST(hist_slot_bounds)
{
	CHECK_EQ_INT(nt_hist_slot(0), 0);
	CHECK_EQ_INT(nt_hist_slot(1), 1);
	CHECK_EQ_INT(nt_hist_slot(2), 2);
	CHECK_EQ_INT(nt_hist_slot(3), 2);
	CHECK_EQ_INT(nt_hist_slot(4), 3);
	CHECK_EQ_INT(nt_hist_slot(50000), 16);   /* 50 ms in us: 32768..65535 */
	for (int i = 1; i < 40; i++) {
		CHECK_EQ_INT(nt_hist_slot(nt_hist_low(i)), i);
		CHECK_EQ_INT(nt_hist_slot(nt_hist_high(i)), i);
	}
	CHECK_EQ_U64(nt_hist_low(16), 32768);
	CHECK_EQ_U64(nt_hist_high(16), 65535);
}

TEST(hist_percentile)
{
	unsigned long long s[40] = { 0 };

	CHECK_EQ_U64(nt_hist_percentile(s, 40, 99), 0);
	s[3] = 99;  /* 4..7 */
	s[10] = 1;  /* 512..1023 */
	CHECK_EQ_U64(nt_hist_percentile(s, 40, 50), 7);
	CHECK_EQ_U64(nt_hist_percentile(s, 40, 99), 7);
	CHECK_EQ_U64(nt_hist_percentile(s, 40, 100), 1023);
}

TEST(hist_print_range)
{
	unsigned long long s[40] = { 0 };
	char *buf = NULL;
	size_t sz = 0;
	FILE *f = open_memstream(&buf, &sz);

	s[2] = 4;
	s[4] = 2;
	nt_hist_print(f, s, 40, "usecs", "");
	fclose(f);
	/* Header plus slots 2..4, the empty one in the middle included. */
	CHECK(strstr(buf, "usecs") != NULL);
	CHECK(strstr(buf, "2 -> 3") != NULL);
	CHECK(strstr(buf, "4 -> 7") != NULL);
	CHECK(strstr(buf, "8 -> 15") != NULL);
	CHECK(strstr(buf, "1 -> 1 ") == NULL);
	CHECK(strstr(buf, "|****************************************|") != NULL);
	free(buf);
}
