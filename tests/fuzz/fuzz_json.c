/* fuzz_json: the JSON-lines emitter (user/json.c) must write strict JSON
 * whatever the strings, numbers and nesting, and a string's JSON value must
 * be exactly the terminal's escaped text (docs/json.md, docs/usage.md).
 *
 * Input: byte 0 holds flags, the rest is used twice: as one string for
 * nt_json_write_string, and as a stream of operations that builds a record
 * (objects, arrays, strings, integers, doubles from raw bits, booleans,
 * nulls). Checked:
 *   - nt_json_write_string: a strict RFC 8259 string (no raw control byte,
 *     only the escapes JSON defines, well-formed UTF-8) whose decoded value
 *     equals nt_escape's output, so it is safe text too;
 *   - the record: one line, strict JSON, an object whose first member is
 *     "type"; also when the caller leaves containers open (flag bit 0 clear),
 *     which nt_json_end promises to close validly.
 * The validator below is written from RFC 8259, not from json.c. */
#include <math.h>
#include "fuzz.h"
#include "escape.h"
#include "json.h"

/* ---- a strict JSON validator ------------------------------------------ */

struct jp {
	const char *p, *end;
	int depth;
	char *dec;          /* decoded string, for the last string parsed */
	size_t declen, deccap;
};

__attribute__((noreturn))
static void jp_fail(const struct jp *j, const char *start, const char *what)
{
	FUZZ_FAIL("invalid JSON at offset %td: %s (text: %.*s)", j->p - start, what,
		  (int)(j->end - start), start);
}

static void ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static void dec_put(struct jp *j, const char *s, size_t n)
{
	if (j->declen + n > j->deccap) {
		j->deccap = (j->declen + n) * 2 + 16;
		j->dec = realloc(j->dec, j->deccap);
		if (!j->dec)
			abort();
	}
	memcpy(j->dec + j->declen, s, n);
	j->declen += n;
}

static int hex4(const char *p, uint32_t *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
			c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

		if (d < 0)
			return 0;
		*v = *v << 4 | (uint32_t)d;
	}
	return 1;
}

static void put_utf8(struct jp *j, uint32_t cp)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | cp >> 18);
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	dec_put(j, b, n);
}

/* A string at j->p; its decoded bytes in j->dec[0, declen). */
static void jstring(struct jp *j, const char *start)
{
	j->declen = 0;
	if (j->p >= j->end || *j->p != '"')
		jp_fail(j, start, "expected a string");
	j->p++;
	for (;;) {
		uint32_t cp;
		size_t m;

		if (j->p >= j->end)
			jp_fail(j, start, "unterminated string");
		if (*j->p == '"') {
			j->p++;
			return;
		}
		if ((uint8_t)*j->p < 0x20)
			jp_fail(j, start, "raw control character in a string");
		if (*j->p != '\\') {
			m = fuzz_utf8_next((const uint8_t *)j->p, (size_t)(j->end - j->p), &cp);
			if (!m)
				jp_fail(j, start, "ill-formed UTF-8 in a string");
			dec_put(j, j->p, m);
			j->p += m;
			continue;
		}
		if (j->end - j->p < 2)
			jp_fail(j, start, "backslash at the end");
		switch (j->p[1]) {
		case '"': dec_put(j, "\"", 1); break;
		case '\\': dec_put(j, "\\", 1); break;
		case '/': dec_put(j, "/", 1); break;
		case 'b': dec_put(j, "\b", 1); break;
		case 'f': dec_put(j, "\f", 1); break;
		case 'n': dec_put(j, "\n", 1); break;
		case 'r': dec_put(j, "\r", 1); break;
		case 't': dec_put(j, "\t", 1); break;
		case 'u':
			if (j->end - j->p < 6 || !hex4(j->p + 2, &cp))
				jp_fail(j, start, "bad \\u escape");
			if (cp >= 0xdc00 && cp <= 0xdfff)
				jp_fail(j, start, "lone low surrogate");
			if (cp >= 0xd800 && cp <= 0xdbff) {
				uint32_t lo;

				if (j->end - j->p < 12 || j->p[6] != '\\' || j->p[7] != 'u' ||
				    !hex4(j->p + 8, &lo) || lo < 0xdc00 || lo > 0xdfff)
					jp_fail(j, start, "high surrogate without its low half");
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				j->p += 6;
			}
			put_utf8(j, cp);
			j->p += 4;
			break;
		default:
			jp_fail(j, start, "unknown escape");
		}
		j->p += 2;
	}
}

static int digit(const struct jp *j)
{
	return j->p < j->end && *j->p >= '0' && *j->p <= '9';
}

static void jnumber(struct jp *j, const char *start)
{
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (!digit(j))
		jp_fail(j, start, "expected a digit");
	if (*j->p == '0')
		j->p++;
	else
		while (digit(j))
			j->p++;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (!digit(j))
			jp_fail(j, start, "no digit after '.'");
		while (digit(j))
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (!digit(j))
			jp_fail(j, start, "no digit in the exponent");
		while (digit(j))
			j->p++;
	}
}

static void jvalue(struct jp *j, const char *start);

static void jcontainer(struct jp *j, const char *start, char close)
{
	int first = 1;

	if (++j->depth > 64)
		jp_fail(j, start, "nested too deep");
	j->p++;
	ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		j->depth--;
		return;
	}
	for (;;) {
		if (!first) {
			ws(j);
			if (j->p < j->end && *j->p == close) {
				j->p++;
				j->depth--;
				return;
			}
			if (j->p >= j->end || *j->p != ',')
				jp_fail(j, start, close == '}' ? "expected ',' or '}'" :
								 "expected ',' or ']'");
			j->p++;
			ws(j);
		}
		first = 0;
		if (close == '}') {
			jstring(j, start);
			ws(j);
			if (j->p >= j->end || *j->p != ':')
				jp_fail(j, start, "expected ':'");
			j->p++;
			ws(j);
		}
		jvalue(j, start);
	}
}

static int lit(struct jp *j, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(j->end - j->p) >= n && !memcmp(j->p, w, n)) {
		j->p += n;
		return 1;
	}
	return 0;
}

static void jvalue(struct jp *j, const char *start)
{
	ws(j);
	if (j->p >= j->end)
		jp_fail(j, start, "expected a value");
	switch (*j->p) {
	case '{': jcontainer(j, start, '}'); break;
	case '[': jcontainer(j, start, ']'); break;
	case '"': jstring(j, start); break;
	default:
		if (lit(j, "true") || lit(j, "false") || lit(j, "null"))
			break;
		jnumber(j, start);
	}
}

/* ---- the harness ------------------------------------------------------- */

static char *memstream_of(const uint8_t *s, size_t n, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		abort();
	nt_json_write_string(f, (const char *)s, n);
	fclose(f);
	return buf;
}

static void check_string(const uint8_t *s, size_t n)
{
	struct jp j = { 0 };
	size_t len, need;
	char *out = memstream_of(s, n, &len), *esc;

	j.p = out;
	j.end = out + len;
	jstring(&j, out);
	FUZZ_CHECK(j.p == j.end, "nt_json_write_string wrote more than one string: %s", out);
	need = nt_escape((const char *)s, n, NULL, 0);
	esc = malloc(need + 1);
	nt_escape((const char *)s, n, esc, need + 1);
	FUZZ_CHECK(j.declen == need && (!need || !memcmp(j.dec, esc, need)),
		   "the JSON value is not the escaped text:\n  json %s\n  text %s", out, esc);
	FUZZ_CHECK(!need || fuzz_safe_text(j.dec, j.declen) == j.declen,
		   "the JSON value holds an unsafe character: %s", out);
	free(esc);
	free(j.dec);
	free(out);
}

static const char *const keys[] = { "k", "host", "a\"b", "x\\y", "\x1b[31mred", "\xc3\xa9", "" };

struct ops {
	const uint8_t *p, *end;
};

static int next(struct ops *o, uint8_t *b)
{
	if (o->p >= o->end)
		return 0;
	*b = *o->p++;
	return 1;
}

static uint64_t next64(struct ops *o)
{
	uint64_t v = 0;
	size_t n = (size_t)(o->end - o->p) < 8 ? (size_t)(o->end - o->p) : 8;

	memcpy(&v, o->p, n);
	o->p += n;
	return v;
}

static void build_record(const uint8_t *data, size_t size, int close_all, FILE *f)
{
	struct nt_json j;
	struct ops o = { data, data + size };
	char stack[NT_JSON_MAX_DEPTH];   /* 'o' object, 'a' array, per level */
	int depth = 0;
	uint8_t b;

	nt_json_begin(&j, f, "fuzz");
	while (next(&o, &b)) {
		uint8_t kb = 0;
		const char *key = NULL;
		int op = b % 10;

		if (depth == 0 || stack[depth - 1] == 'o') {
			next(&o, &kb);
			key = keys[kb % (sizeof(keys) / sizeof(keys[0]))];
		}
		switch (op) {
		case 0:
		case 1:
			/* the emitter tracks NT_JSON_MAX_DEPTH - 1 levels in
			 * the record: that is its contract */
			if (depth + 1 >= NT_JSON_MAX_DEPTH)
				break;
			stack[depth++] = op == 0 ? 'o' : 'a';
			if (op == 0)
				nt_json_obj(&j, key);
			else
				nt_json_arr(&j, key);
			break;
		case 2:
			if (!depth)
				break;
			if (stack[--depth] == 'o')
				nt_json_obj_end(&j);
			else
				nt_json_arr_end(&j);
			break;
		case 3: {
			uint8_t n = 0;
			size_t avail;

			next(&o, &n);
			avail = (size_t)(o.end - o.p);
			if (n > avail)
				n = (uint8_t)avail;
			nt_json_strn(&j, key, (const char *)o.p, n);
			o.p += n;
			break;
		}
		case 4: nt_json_u64(&j, key, next64(&o)); break;
		case 5: nt_json_i64(&j, key, (int64_t)next64(&o)); break;
		case 6: {
			uint64_t bits = next64(&o);
			double d;

			memcpy(&d, &bits, sizeof(d));
			nt_json_double(&j, key, d);
			break;
		}
		case 7: nt_json_bool(&j, key, kb & 1); break;
		case 8: nt_json_null(&j, key); break;
		case 9: nt_json_str(&j, key, key ? key : "v"); break;
		}
	}
	while (close_all && depth > 0) {
		if (stack[--depth] == 'o')
			nt_json_obj_end(&j);
		else
			nt_json_arr_end(&j);
	}
	nt_json_end(&j);
}

static void check_record(const uint8_t *data, size_t size, int close_all)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct jp j = { 0 };

	if (!f)
		abort();
	build_record(data, size, close_all, f);
	fclose(f);
	FUZZ_CHECK(len >= 2 && buf[len - 1] == '\n' && !memchr(buf, '\n', len - 1),
		   "a record is not exactly one line: %s", buf);
	j.p = buf;
	j.end = buf + len - 1;
	if (*j.p != '{')
		jp_fail(&j, buf, "a record is not an object");
	/* The first member is "type":"fuzz". */
	FUZZ_CHECK(!strncmp(buf, "{\"type\":\"fuzz\"", 14), "record starts %.20s", buf);
	jvalue(&j, buf);
	if (j.p != j.end)
		jp_fail(&j, buf, "text after the record");
	free(j.dec);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	check_string(data + 1, size - 1);
	check_record(data + 1, size - 1, data[0] & 1);
	return 0;
}
