/* fuzz_escape: the terminal escaper (user/escape.c) against what
 * docs/usage.md "Strings from the traced process" and escape.h promise.
 *
 * Input: byte 0 picks how LEN relates to the string, bytes 1-2 pick the
 * output buffer size for a cut, the rest is the string. Checked:
 *   - the output is well-formed UTF-8 without a forbidden code point: no
 *     byte < 0x20, no 0x7f, no C1 control, no bidi control or separator;
 *   - it decodes back to the input ("\\" a backslash, "\xNN" a byte, any
 *     other backslash is an error): the escaping is unambiguous;
 *   - it equals the reference escaper of fuzz.h (printable characters pass
 *     unchanged, everything else is escaped byte by byte);
 *   - nt_escape stops at LEN and at the first NUL, returns the full length
 *     like snprintf, at most 4 bytes per input byte;
 *   - cut into a smaller buffer: NUL-terminated inside it, a prefix of the
 *     full result that ends at an escape boundary, and as long as fits;
 *   - nt_fputs_escaped writes the full result (also past its 1 KB buffer).
 */
#include "fuzz.h"
#include "escape.h"

/* Reference result and its unit boundaries (bnd[k]: 1 if a unit starts at
 * output offset k). */
static size_t ref_escape(const uint8_t *s, size_t n, char *out, uint8_t *bnd)
{
	size_t i = 0, o = 0;

	while (i < n) {
		size_t used, m = fuzz_ref_escape_one(s + i, n - i, out + o, &used);

		bnd[o] = 1;
		o += m;
		i += used;
	}
	bnd[o] = 1;
	out[o] = '\0';
	return o;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;   /* escape.h's escapes are lower-case */
}

/* Decode escaped OUT (LEN bytes) and compare with S[0, n). */
static void check_decodes(const char *out, size_t len, const uint8_t *s, size_t n)
{
	size_t i = 0, k = 0;

	while (i < len) {
		int b;

		if (out[i] != '\\') {
			b = (uint8_t)out[i];
			i++;
		} else if (i + 1 < len && out[i + 1] == '\\') {
			b = '\\';
			i += 2;
		} else if (i + 3 < len && out[i + 1] == 'x' && hexval(out[i + 2]) >= 0 &&
			   hexval(out[i + 3]) >= 0) {
			b = hexval(out[i + 2]) << 4 | hexval(out[i + 3]);
			i += 4;
		} else {
			FUZZ_FAIL("a backslash at %zu that is neither \\\\ nor \\xNN", i);
		}
		FUZZ_CHECK(k < n, "the output decodes to more bytes than the input (%zu)", n);
		FUZZ_CHECK(b == s[k], "decoded byte %zu is 0x%02x, the input had 0x%02x", k, b, s[k]);
		k++;
	}
	FUZZ_CHECK(k == n, "the output decodes to %zu bytes, the input had %zu", k, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	uint8_t mode = data[0];
	size_t outsel = (size_t)data[1] << 8 | data[2];
	size_t n = size - 3, len, eff;
	/* Exactly N bytes on the heap, so that a read past them is caught. With
	 * mode bit 0 a NUL follows them and LEN may point past it, as when a
	 * caller passes a buffer's size (NT_HOST_LEN, PATH_MAX). */
	int nul_after = mode & 1;
	uint8_t *in = malloc(n + nul_after);

	memcpy(in, data + 3, n);
	if (nul_after) {
		in[n] = 0;
		len = (mode & 2) ? SIZE_MAX : n + 1 + (mode >> 2);
	} else {
		len = n - (n ? (mode >> 1) % (n + 1) : 0);   /* len <= n */
	}
	eff = strnlen((const char *)in, nul_after ? n + 1 : len);
	if (eff > len)
		eff = len;

	/* The reference, with room for 4 bytes an input byte. */
	char *ref = malloc(4 * eff + 1);
	uint8_t *bnd = calloc(4 * eff + 1, 1);
	size_t rlen = ref_escape(in, eff, ref, bnd);

	/* The full result. */
	char *full = malloc(4 * eff + 1);
	size_t need = nt_escape((const char *)in, len, full, 4 * eff + 1);

	FUZZ_CHECK(need <= 4 * eff, "needs %zu bytes for %zu input bytes", need, eff);
	FUZZ_CHECK(strlen(full) == need, "returned %zu, wrote %zu", need, strlen(full));
	FUZZ_CHECK(fuzz_safe_text(full, need) == need, "unsafe byte 0x%02x at %zu of \"%s\"",
		   (uint8_t)full[fuzz_safe_text(full, need)], fuzz_safe_text(full, need), full);
	check_decodes(full, need, in, eff);
	FUZZ_CHECK(need == rlen && !memcmp(full, ref, need),
		   "differs from the reference:\n  got \"%s\"\n  ref \"%s\"", full, ref);

	/* A cut: an exact-size buffer, so a write past it is caught. */
	size_t outlen = outsel % (need + 2);
	char *cut = malloc(outlen ? outlen : 1);
	size_t need2 = nt_escape((const char *)in, len, cut, outlen);

	FUZZ_CHECK(need2 == need, "cut to %zu: returned %zu, not %zu", outlen, need2, need);
	if (outlen) {
		size_t c = strnlen(cut, outlen);

		FUZZ_CHECK(c < outlen, "cut to %zu: not NUL-terminated", outlen);
		FUZZ_CHECK(!memcmp(cut, full, c), "cut to %zu: not a prefix", outlen);
		FUZZ_CHECK(bnd[c], "cut to %zu: ends inside an escape at %zu", outlen, c);
		if (c < need) {
			size_t next = c + 1;

			while (!bnd[next])
				next++;
			FUZZ_CHECK(next >= outlen, "cut to %zu: stopped at %zu though the next "
				   "unit (to %zu) fits", outlen, c, next);
		}
	}

	/* nt_fputs_escaped: the same text, whatever its length. */
	char *buf = NULL;
	size_t bsz = 0;
	FILE *f = open_memstream(&buf, &bsz);

	if (!f)
		abort();
	nt_fputs_escaped(f, (const char *)in, len);
	fclose(f);
	FUZZ_CHECK(bsz == need && !memcmp(buf, full, need),
		   "nt_fputs_escaped wrote %zu bytes, nt_escape %zu", bsz, need);

	free(buf);
	free(cut);
	free(full);
	free(bnd);
	free(ref);
	free(in);
	return 0;
}
