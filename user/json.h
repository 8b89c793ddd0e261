/* json: a small streaming JSON-lines emitter. One record per line; strings
 * pass through escape.h first, so that a JSON value reads the same as the
 * terminal text (see docs/json.md). Keys are the caller's literals. */
#ifndef NODETAP_JSON_H
#define NODETAP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define NT_JSON_MAX_DEPTH 16

struct nt_json {
	FILE *f;
	int depth;
	bool need_comma[NT_JSON_MAX_DEPTH];
	char closer[NT_JSON_MAX_DEPTH];   /* '}' or ']' for each open level */
};

/* Start a record {"type":TYPE ...} on F. */
void nt_json_begin(struct nt_json *j, FILE *f, const char *type);
/* Close the record and end the line; flushes, so readers see whole lines. */
void nt_json_end(struct nt_json *j);

/* KEY may be NULL inside an array. */
void nt_json_obj(struct nt_json *j, const char *key);
void nt_json_obj_end(struct nt_json *j);
void nt_json_arr(struct nt_json *j, const char *key);
void nt_json_arr_end(struct nt_json *j);

/* A string of at most LEN bytes (stops at NUL), escaped as escape.h says. */
void nt_json_strn(struct nt_json *j, const char *key, const char *s, size_t len);
void nt_json_str(struct nt_json *j, const char *key, const char *s);
void nt_json_u64(struct nt_json *j, const char *key, uint64_t v);
void nt_json_i64(struct nt_json *j, const char *key, int64_t v);
void nt_json_bool(struct nt_json *j, const char *key, bool v);
void nt_json_null(struct nt_json *j, const char *key);
/* A finite double with up to 6 significant decimals; NaN/inf become null. */
void nt_json_double(struct nt_json *j, const char *key, double v);

/* Write the JSON string literal (with quotes) for S to F. Exposed for tests. */
void nt_json_write_string(FILE *f, const char *s, size_t len);

#endif
