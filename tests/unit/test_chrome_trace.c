/* chrome_trace: the event shapes, nanoseconds as microseconds, and names
 * from the traced process escaped. */
#include <stdlib.h>
#include "check.h"
#include "chrome_trace.h"

static bool fake_name(uint32_t pid, uint32_t tid, char *buf, size_t len)
{
	if (tid == 77)
		return false; /* a thread that is gone */
	snprintf(buf, len, "%s\033]0;x\n", tid ? "worker" : "proc");
	(void)pid;
	return true;
}

TEST(chrome_trace_events)
{
	struct nt_ctrace t;
	char *buf = NULL;
	size_t sz = 0;
	FILE *f = open_memstream(&buf, &sz);
	char us[32];

	nt_ct_fmt_us(1234567, us, sizeof(us));
	CHECK_EQ_STR(us, "1234.567");
	nt_ct_fmt_us(5, us, sizeof(us));
	CHECK_EQ_STR(us, "0.005");
	CHECK_EQ_INT(nt_ct_begin(&t, f), 0);
	t.read_name = fake_name;
	nt_ct_name_thread(&t, 10, 11, "comm", 16);
	nt_ct_name_thread(&t, 10, 11, "comm", 16);    /* once only */
	nt_ct_name_thread(&t, 10, 77, "gone\"th", 16); /* falls back to comm */
	nt_ct_event(&t, "X", "dns.lookup a\nb", "dns", 10, 11, 2000000);
	nt_ct_dur(&t, 1500);
	nt_ct_arg_strn(&t, "host", "a\nb", 3);
	nt_ct_event_end(&t);
	nt_ct_event(&t, "f", "lookup -> connect", "dns.flow", 10, 11, 3000000);
	nt_ct_field_u64(&t, "id", 2000000);
	nt_ct_field_str(&t, "bp", "e");
	nt_ct_event_end(&t);
	CHECK_EQ_INT(nt_ct_end(&t, 0), 0);
	fclose(f);
	CHECK(strncmp(buf, "{\"traceEvents\":[\n", 17) == 0);
	CHECK(strstr(buf, "{\"ph\":\"M\",\"name\":\"process_name\",\"cat\":\"__metadata\",\"pid\":10,"
		      "\"tid\":10,\"ts\":0.000,\"args\":{\"name\":\"proc\\\\x1b]0;x\\\\x0a\"}}") != NULL);
	CHECK(strstr(buf, "\"name\":\"thread_name\",\"cat\":\"__metadata\",\"pid\":10,\"tid\":11,") != NULL);
	CHECK(strstr(buf, "\"tid\":77,\"ts\":0.000,\"args\":{\"name\":\"gone\\\"th\"}}") != NULL);
	CHECK(strstr(buf, "{\"ph\":\"X\",\"name\":\"dns.lookup a\\\\x0ab\",\"cat\":\"dns\",\"pid\":10,"
		      "\"tid\":11,\"ts\":2000.000,\"dur\":1.500,\"args\":{\"host\":\"a\\\\x0ab\"}}") != NULL);
	CHECK(strstr(buf, "{\"ph\":\"f\",\"name\":\"lookup -> connect\",\"cat\":\"dns.flow\",\"pid\":10,"
		      "\"tid\":11,\"ts\":3000.000,\"id\":2000000,\"bp\":\"e\"}") != NULL);
	CHECK(strstr(buf, "\n],\"displayTimeUnit\":\"ms\",\"otherData\":{\"clock\":\"CLOCK_MONOTONIC\"") != NULL);
	/* Metadata: process + 2 threads; then 2 events. */
	CHECK_EQ_U64(t.events, 5);
	CHECK(strchr(buf, '\033') == NULL);
	nt_ct_free(&t);
	free(buf);
}

/* Samples ("P") pointing into "stackFrames", named with the names given
 * (a profile is written after its processes are gone), and who wrote it. */
TEST(chrome_trace_samples_and_frames)
{
	struct nt_ctrace t;
	char *buf = NULL;
	size_t sz = 0;
	FILE *f = open_memstream(&buf, &sz);

	CHECK_EQ_INT(nt_ct_begin(&t, f), 0);
	t.read_name = fake_name;   /* must not be asked */
	t.tool = "nodetap profile";
	nt_ct_name_as(&t, 10, 12, "node (10)", 9, "main\033", 5);
	nt_ct_event(&t, "P", "cpu sample", "cpu", 10, 12, 1500);
	nt_ct_field_u64_str(&t, "sf", 2);
	nt_ct_arg_i64(&t, "cpu", 1);
	nt_ct_event_end(&t);
	nt_ct_frames_begin(&t);
	nt_ct_frame(&t, 1, "node (10)", "process", 0);
	nt_ct_frame(&t, 2, "fn\"x a.js:1:2", "js", 1);
	CHECK_EQ_INT(nt_ct_end(&t, 3), 0);
	fclose(f);
	CHECK(strstr(buf, "\"name\":\"process_name\",\"cat\":\"__metadata\",\"pid\":10,\"tid\":10,"
		      "\"ts\":0.000,\"args\":{\"name\":\"node (10)\"}}") != NULL);
	CHECK(strstr(buf, "\"tid\":12,\"ts\":0.000,\"args\":{\"name\":\"main\\\\x1b\"}}") != NULL);
	CHECK(strstr(buf, "{\"ph\":\"P\",\"name\":\"cpu sample\",\"cat\":\"cpu\",\"pid\":10,\"tid\":12,"
		      "\"ts\":1.500,\"sf\":\"2\",\"args\":{\"cpu\":1}}\n],\"stackFrames\":{\n"
		      "\"1\":{\"name\":\"node (10)\",\"category\":\"process\"},\n"
		      "\"2\":{\"name\":\"fn\\\"x a.js:1:2\",\"category\":\"js\",\"parent\":\"1\"}},"
		      "\"displayTimeUnit\":\"ms\",\"otherData\":{\"clock\":\"CLOCK_MONOTONIC\","
		      "\"tool\":\"nodetap profile\",\"events\":3,\"lost_events\":3,") != NULL);
	CHECK(strstr(buf, "]0;x") == NULL);   /* fake_name (/proc) was not asked */
	nt_ct_free(&t);
	free(buf);
}
