#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "escape.h"

/* Length of the valid UTF-8 sequence at S (at most N bytes) that encodes a
 * printable code point, or 0. Rejects overlong forms, surrogates, values past
 * U+10FFFF, and code points that control a terminal's layout. */
static size_t printable_utf8(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff)
		return 0; /* overlong or out of range */
	if (cp >= 0xd800 && cp <= 0xdfff)
		return 0; /* surrogates are not characters */
	if (cp <= 0x9f)                       /* C1 controls */
		return 0;
	if (cp == 0x061c || cp == 0x200e || cp == 0x200f || cp == 0xfeff ||
	    (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
		return 0; /* line separators and bidirectional controls */
	return len;
}

/* The escaped form of the character at S: its bytes in OUT (at most 4),
 * their count returned; *used gets the number of input bytes consumed. */
static size_t escape_one(const unsigned char *s, size_t n, char out[4], size_t *used)
{
	static const char hex[] = "0123456789abcdef";
	size_t m;

	*used = 1;
	if (s[0] == '\\') {
		out[0] = out[1] = '\\';
		return 2;
	}
	if (s[0] >= 0x20 && s[0] < 0x7f) {
		out[0] = (char)s[0];
		return 1;
	}
	if ((m = printable_utf8(s, n)) > 0) {
		memcpy(out, s, m);
		*used = m;
		return m;
	}
	out[0] = '\\';
	out[1] = 'x';
	out[2] = hex[s[0] >> 4];
	out[3] = hex[s[0] & 15];
	return 4;
}

size_t nt_escape(const char *in, size_t len, char *out, size_t outlen)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, need = 0, copied = 0;
	bool cut = outlen == 0;

	while (i < len && s[i]) {
		char e[4];
		size_t used, n = escape_one(s + i, len - i, e, &used);

		/* Whole characters only, so a cut never splits an escape. */
		if (!cut && copied + n < outlen) {
			memcpy(out + copied, e, n);
			copied += n;
		} else {
			cut = true;
		}
		need += n;
		i += used;
	}
	if (outlen)
		out[copied] = 0;
	return need;
}

void nt_fputs_escaped(FILE *f, const char *in, size_t len)
{
	char buf[1024];
	size_t need = nt_escape(in, len, buf, sizeof(buf));

	if (need < sizeof(buf)) {
		fputs(buf, f);
		return;
	}
	/* Rare: a long string. Escape into a buffer of the right size. */
	char *big = malloc(need + 1);

	if (!big) {
		fputs(buf, f); /* what fit; the allocation failure is not fatal */
		return;
	}
	nt_escape(in, len, big, need + 1);
	fputs(big, f);
	free(big);
}
