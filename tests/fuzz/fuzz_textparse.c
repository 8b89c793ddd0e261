/* fuzz_textparse: nt_parse_hex (user/textparse.c), the hex reader behind
 * the perf map and /proc maps parsers, against a reference written from
 * textparse.h.
 *
 * Input: the bytes to parse (a bounded buffer, not a C string: the
 * harness copies exactly those bytes to the heap, so that a read past the
 * end is caught). Checked: the result, the value, and where it stops agree
 * with the reference: an optional 0x/0X prefix (taken when at least one
 * byte follows it), then 1 to 16 hex digits; more digits or none is a
 * failure, which leaves the position alone. */
#include "fuzz.h"
#include "textparse.h"

static int hexdig(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	const char *p, *end;
	uint64_t v = 0x5a5a5a5a5a5a5a5aull, want = 0;
	size_t i = 0, digits = 0;
	int ok, want_ok;

	memcpy(buf, data, size);
	/* The reference. */
	if (size >= 3 && data[0] == '0' && (data[1] | 0x20) == 'x')
		i = 2;
	for (; i < size && hexdig(data[i]) >= 0; i++, digits++)
		want = want << 4 | (uint64_t)hexdig(data[i]);
	want_ok = digits >= 1 && digits <= 16;

	p = buf;
	end = buf + size;
	ok = nt_parse_hex(&p, end, &v);
	FUZZ_CHECK(ok == want_ok, "returned %d, the reference %d (%zu digits)", ok, want_ok, digits);
	if (ok) {
		FUZZ_CHECK(v == want, "value 0x%llx, the reference 0x%llx",
			   (unsigned long long)v, (unsigned long long)want);
		FUZZ_CHECK((size_t)(p - buf) == i, "stopped at %td, the reference at %zu", p - buf, i);
	} else {
		FUZZ_CHECK(p == buf && v == 0x5a5a5a5a5a5a5a5aull,
			   "a failed parse moved the position or wrote the value");
	}
	free(buf);
	return 0;
}
