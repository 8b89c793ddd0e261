/* fuzz.h: shared pieces of the libFuzzer harnesses in tests/fuzz.
 *
 * Each fuzz_NAME.c defines LLVMFuzzerTestOneInput and links only the
 * modules it exercises (see the Makefile's FUZZ_MODS_NAME). The modules are
 * compiled with coverage instrumentation, the harness without: coverage of
 * the reference code would steer the fuzzer towards the oracle, and tracing
 * its comparisons made the brute-force oracles ten times slower. A harness checks
 * properties, not only "no crash": a broken property calls FUZZ_FAIL, which
 * prints what broke and aborts, so libFuzzer saves the input as a crash. */
#ifndef NODETAP_FUZZ_H
#define NODETAP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_FAIL(...) do {                                                   \
	fprintf(stderr, "FUZZ PROPERTY FAILED at %s:%d: ", __FILE__, __LINE__); \
	fprintf(stderr, __VA_ARGS__);                                        \
	fputc('\n', stderr);                                                 \
	abort();                                                             \
} while (0)

/* FUZZ_CHECK(COND, FORMAT, ...): FUZZ_FAIL with the message unless COND. */
#define FUZZ_CHECK(cond, ...) do { if (!(cond)) {                             \
	fprintf(stderr, "FUZZ CHECK %s ", #cond);                            \
	FUZZ_FAIL(__VA_ARGS__); } } while (0)

/* A memfd holding DATA, and a path that opens it ("/proc/self/fd/N"): for
 * modules that take a path. Nothing is left on disk, even after a crash.
 * The fd stays open across runs and is rewritten each time. */
static inline const char *fuzz_memfd_file(int *fdp, const uint8_t *data, size_t size)
{
	static char path[64];

	if (*fdp < 0) {
		*fdp = memfd_create("nodetap-fuzz", MFD_CLOEXEC);
		if (*fdp < 0) {
			perror("memfd_create");
			abort();
		}
	}
	if (ftruncate(*fdp, 0) || (size && pwrite(*fdp, data, size, 0) != (ssize_t)size)) {
		perror("memfd write");
		abort();
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", *fdp);
	return path;
}

/* ---- UTF-8 and the escaping rule, written from their definitions ------
 *
 * Independent of user/escape.c on purpose: the byte ranges of RFC 3629
 * (table 3-7 of the Unicode standard) rather than decode-then-check. */

/* Length of the well-formed UTF-8 sequence at S (N bytes available) and its
 * code point in *CP, or 0 if it is not well formed. */
static inline size_t fuzz_utf8_next(const uint8_t *s, size_t n, uint32_t *cp)
{
	uint8_t lo = 0x80, hi = 0xbf;
	size_t len;

	if (!n)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	*cp = s[0] & (0xff >> (len + 1));
	for (size_t i = 1; i < len; i++)
		*cp = *cp << 6 | (s[i] & 0x3f);
	return len;
}

/* Code points that must never reach a terminal or a JSON string as
 * themselves (docs/usage.md, "Strings from the traced process"): the
 * controls (Unicode category Cc: C0, DEL, C1), the Bidi_Control characters,
 * the line and paragraph separators (Zl, Zp); escape.h also escapes U+FEFF
 * (a BOM, invisible) and the embeddings U+202A..U+202E. */
static inline int fuzz_cp_forbidden(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||
	       cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
	       cp == 0xfeff;
}

/* Check that OUT (LEN bytes) is safe text: well-formed UTF-8 with no
 * forbidden code point (so no byte < 0x20 and no 0x7f). Returns the offset
 * of the first problem, or LEN. */
static inline size_t fuzz_safe_text(const char *out, size_t len)
{
	const uint8_t *s = (const uint8_t *)out;

	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t m = fuzz_utf8_next(s + i, len - i, &cp);

		if (!m || fuzz_cp_forbidden(cp))
			return i;
		i += m;
	}
	return len;
}

/* The reference escaper: what the docs say, one unit at a time. Appends the
 * escaped form of the first character of S[0, n) to OUT (room for 4 bytes)
 * and returns its length; *used gets the input bytes it stands for. */
static inline size_t fuzz_ref_escape_one(const uint8_t *s, size_t n, char *out, size_t *used)
{
	static const char hex[] = "0123456789abcdef";
	uint32_t cp;
	size_t m = fuzz_utf8_next(s, n, &cp);

	*used = 1;
	if (s[0] == '\\') {
		memcpy(out, "\\\\", 2);
		return 2;
	}
	if (m && !fuzz_cp_forbidden(cp)) {
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

#endif
