/* textparse: pieces for parsing the text files of /proc and of perf maps,
 * which are bounded buffers, not NUL-terminated strings. */
#ifndef NODETAP_TEXTPARSE_H
#define NODETAP_TEXTPARSE_H

#include <stdbool.h>
#include <stdint.h>

/* Parse hex digits at *PP (before END), with an optional 0x prefix, into
 * *OUT; at most 16 digits. Advances *PP past them. False if there are none
 * or too many. */
bool nt_parse_hex(const char **pp, const char *end, uint64_t *out);

#endif
