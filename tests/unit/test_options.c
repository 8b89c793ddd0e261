/* Numeric arguments: every bad number is refused with a usage error. */
#include <stdio.h>
#include "check.h"
#include "options.h"

TEST(parse_uint_strict)
{
	uint64_t v;

	CHECK_EQ_INT(nt_parse_uint("42", 1, 100, &v), 0);
	CHECK_EQ_U64(v, 42);
	CHECK_EQ_INT(nt_parse_uint("0", 1, 100, &v), -1);
	CHECK_EQ_INT(nt_parse_uint("-1", 0, 100, &v), -1);
	CHECK_EQ_INT(nt_parse_uint("+1", 0, 100, &v), -1);
	CHECK_EQ_INT(nt_parse_uint(" 1", 0, 100, &v), -1);
	CHECK_EQ_INT(nt_parse_uint("1x", 0, 100, &v), -1);
	CHECK_EQ_INT(nt_parse_uint("", 0, 100, &v), -1);
	CHECK_EQ_INT(nt_parse_uint("18446744073709551616", 0, UINT64_MAX, &v), -1);
	CHECK_EQ_INT(nt_parse_uint("18446744073709551615", 0, UINT64_MAX, &v), 0);
	CHECK_EQ_INT(nt_parse_uint("99999999999", 1, NT_DURATION_MAX, &v), -1);
}

TEST(parse_uint_list)
{
	uint64_t v[4];
	const char *bad;

	CHECK_EQ_INT(nt_parse_uint_list("1,22,333", 1, 1000, v, 4, &bad), 3);
	CHECK_EQ_U64(v[2], 333);
	CHECK_EQ_INT(nt_parse_uint_list("1,,2", 1, 1000, v, 4, &bad), -1);
	CHECK_EQ_INT(nt_parse_uint_list("1,abc", 1, 1000, v, 4, &bad), -1);
	CHECK_EQ_STR(bad, "abc");
	CHECK_EQ_INT(nt_parse_uint_list("1,", 1, 1000, v, 4, &bad), -1);
	CHECK_EQ_INT(nt_parse_uint_list("1,2,3,4,5", 1, 1000, v, 4, &bad), -1);
}

static int parse(int argc, char **argv, struct nt_opts *o)
{
	struct nt_cmd_spec spec = { .name = "test", .summary = "", .has_events = true,
				    .has_stacks = true };
	FILE *saved = stderr;
	int rc;

	stderr = fopen("/dev/null", "w"); /* the messages are tested end to end */
	rc = nt_parse_options(argc, argv, &spec, o);
	fclose(stderr);
	stderr = saved;
	return rc;
}

TEST(options_common)
{
	struct nt_opts o;
	char *a1[] = { "dns", "-p", "12,34", "--pid", "56", "-d", "5", "--json", "2", "3", NULL };
	char *a2[] = { "dns", "-e", "--", "node", "-e", "1", NULL };

	CHECK_EQ_INT(parse(10, a1, &o), 0);
	CHECK_EQ_INT(o.npids, 3);
	CHECK_EQ_INT(o.pids[2], 56);
	CHECK_EQ_INT(o.duration, 5);
	CHECK(o.json);
	CHECK_EQ_INT(o.interval, 2);
	CHECK_EQ_INT(o.count, 3);
	CHECK_EQ_INT(parse(6, a2, &o), 0);
	CHECK(o.events);
	CHECK_EQ_STR(o.command[0], "node");
	CHECK_EQ_STR(o.command[1], "-e"); /* COMMAND's options are its own */
}

TEST(options_bad_numbers_are_usage_errors)
{
	struct nt_opts o;
	char *bad[][4] = {
		{ "dns", "-p", "abc", NULL }, { "dns", "-p", "0", NULL },
		{ "dns", "-d", "-1", NULL }, { "dns", "-d", "99999999999", NULL },
		{ "dns", "-p", "4194305", NULL }, { "dns", "0", NULL, NULL },
		{ "dns", "--nope", NULL, NULL }, { "dns", "--", NULL, NULL },
		{ "dns", "1", "2", "3" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int argc = 0;

		while (argc < 4 && bad[i][argc])
			argc++;
		CHECK_EQ_INT(parse(argc, bad[i], &o), NT_EXIT_USAGE);
	}
}
