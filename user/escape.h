/* escape: make bytes that the traced process controls safe to print.
 *
 * One rule for the terminal and for JSON, so that both show the same text:
 * printable ASCII and printable UTF-8 pass through; a backslash becomes "\\";
 * every other byte (control characters such as ESC and newline, bytes that
 * are not valid UTF-8, C1 controls, bidirectional overrides and line
 * separators) becomes "\xNN". The result is unambiguous and never moves the
 * cursor, changes colours or reorders text. The JSON emitter then only has
 * to quote '"' and '\'. */
#ifndef NODETAP_ESCAPE_H
#define NODETAP_ESCAPE_H

#include <stddef.h>
#include <stdio.h>

/* Escape at most LEN bytes of IN (stopping at a NUL) into OUT, always
 * NUL-terminated. Returns the length the full result needs (excluding the
 * NUL), like snprintf: a result >= OUTLEN means OUT was cut, at a character
 * boundary of the escaped text. */
size_t nt_escape(const char *in, size_t len, char *out, size_t outlen);

/* Write the escaped form of at most LEN bytes of IN to F. */
void nt_fputs_escaped(FILE *f, const char *in, size_t len);

#endif
