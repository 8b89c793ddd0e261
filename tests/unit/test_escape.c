/* Escaping of strings the traced process controls: what reaches a terminal
 * or a JSON string must be printable, unambiguous and never cut inside an
 * escape. */
#include <stdlib.h>
#include "check.h"
#include "escape.h"
#include "json.h"

static const char *esc(const char *in, size_t len)
{
	static char buf[256];

	nt_escape(in, len, buf, sizeof(buf));
	return buf;
}

TEST(escape_plain_ascii_passes)
{
	CHECK_EQ_STR(esc("api.example.com", 100), "api.example.com");
}

TEST(escape_controls_and_ansi)
{
	CHECK_EQ_STR(esc("a\x1b[31mred\nb", 100), "a\\x1b[31mred\\x0ab");
	CHECK_EQ_STR(esc("\x7f", 100), "\\x7f");
	CHECK_EQ_STR(esc("tab\there", 100), "tab\\x09here");
}

TEST(escape_backslash_is_doubled)
{
	/* Otherwise a literal "\x41" and an escaped byte would look alike. */
	CHECK_EQ_STR(esc("a\\x41", 100), "a\\\\x41");
}

TEST(escape_valid_utf8_passes)
{
	CHECK_EQ_STR(esc("b\xc3\xbc" "cher.de", 100), "b\xc3\xbc" "cher.de");
	CHECK_EQ_STR(esc("\xe6\x97\xa5\xe6\x9c\xac", 100), "\xe6\x97\xa5\xe6\x9c\xac");
	CHECK_EQ_STR(esc("\xf0\x9f\x98\x80", 100), "\xf0\x9f\x98\x80");
}

TEST(escape_invalid_utf8_bytes)
{
	CHECK_EQ_STR(esc("\xff\xfe", 100), "\\xff\\xfe");
	CHECK_EQ_STR(esc("\xc3", 100), "\\xc3");              /* truncated */
	CHECK_EQ_STR(esc("\xc0\xaf", 100), "\\xc0\\xaf");     /* overlong '/' */
	CHECK_EQ_STR(esc("\xed\xa0\x80", 100), "\\xed\\xa0\\x80"); /* surrogate */
	CHECK_EQ_STR(esc("\xf4\x90\x80\x80", 100), "\\xf4\\x90\\x80\\x80"); /* > U+10FFFF */
}

TEST(escape_bidi_and_c1_controls)
{
	/* U+202E RIGHT-TO-LEFT OVERRIDE would reorder what follows. */
	CHECK_EQ_STR(esc("x\xe2\x80\xaey", 100), "x\\xe2\\x80\\xaey");
	/* U+0085 NEL is a C1 control. */
	CHECK_EQ_STR(esc("\xc2\x85", 100), "\\xc2\\x85");
	/* U+2028 LINE SEPARATOR breaks lines in some viewers. */
	CHECK_EQ_STR(esc("\xe2\x80\xa8", 100), "\\xe2\\x80\\xa8");
}

TEST(escape_stops_at_len_and_nul)
{
	CHECK_EQ_STR(esc("abcdef", 3), "abc");
	CHECK_EQ_STR(esc("ab\0cd", 5), "ab");
}

TEST(escape_cut_never_splits_an_escape)
{
	char small[6];
	size_t need = nt_escape("ab\x1b" "cd", 5, small, sizeof(small));

	CHECK_EQ_INT(need, 8); /* "ab\x1bcd" */
	CHECK_EQ_STR(small, "ab");  /* "\x1b" did not fit whole */
}

static char *json_of(const char *s, size_t len)
{
	char *buf = NULL;
	size_t sz = 0;
	FILE *f = open_memstream(&buf, &sz);

	nt_json_write_string(f, s, len);
	fclose(f);
	return buf;
}

TEST(json_string_quotes_and_escapes)
{
	char *a = json_of("say \"hi\"", 100);
	char *b = json_of("a\\b", 100);
	char *c = json_of("\x1b[2J", 100);

	CHECK_EQ_STR(a, "\"say \\\"hi\\\"\"");
	/* The escaped text is a\\b; JSON doubles each backslash again. */
	CHECK_EQ_STR(b, "\"a\\\\\\\\b\"");
	CHECK_EQ_STR(c, "\"\\\\x1b[2J\"");
	free(a);
	free(b);
	free(c);
}

TEST(json_record_shape)
{
	char *buf = NULL;
	size_t sz = 0;
	FILE *f = open_memstream(&buf, &sz);
	struct nt_json j;

	nt_json_begin(&j, f, "t");
	nt_json_u64(&j, "n", 18446744073709551615ULL);
	nt_json_i64(&j, "s", -3008);
	nt_json_arr(&j, "a");
	nt_json_u64(&j, NULL, 1);
	nt_json_obj(&j, NULL);
	nt_json_bool(&j, "b", true);
	nt_json_obj_end(&j);
	nt_json_arr_end(&j);
	nt_json_double(&j, "d", 0.0 / 0.0);
	nt_json_end(&j);
	fclose(f);
	CHECK_EQ_STR(buf, "{\"type\":\"t\",\"n\":18446744073709551615,\"s\":-3008,"
			  "\"a\":[1,{\"b\":true}],\"d\":null}\n");
	free(buf);
}

/* Found by tests/fuzz/fuzz_json (corpus/json/regress-end-closes-array):
 * nt_json_end closed every level a caller left open with '}', also an
 * array, which made the record invalid JSON. */
TEST(json_end_closes_open_levels_with_their_bracket)
{
	char *buf = NULL;
	size_t sz = 0;
	FILE *f = open_memstream(&buf, &sz);
	struct nt_json j;

	nt_json_begin(&j, f, "t");
	nt_json_arr(&j, "a");
	nt_json_obj(&j, NULL);
	nt_json_arr(&j, "b");
	nt_json_end(&j);
	fclose(f);
	CHECK_EQ_STR(buf, "{\"type\":\"t\",\"a\":[{\"b\":[]}]}\n");
	free(buf);
}
