#include <math.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "escape.h"
#include "json.h"

void nt_json_write_string(FILE *f, const char *s, size_t len)
{
	char buf[512], *esc = buf;
	size_t need = nt_escape(s, len, buf, sizeof(buf));

	if (need >= sizeof(buf)) {
		esc = malloc(need + 1);
		if (!esc)
			esc = buf; /* out of memory: the prefix that fit, still valid */
		else
			nt_escape(s, len, esc, need + 1);
	}
	/* Escaped text holds no control characters: only '"' and '\' need
	 * quoting. */
	fputc('"', f);
	for (const char *p = esc; *p; p++) {
		if (*p == '"' || *p == '\\')
			fputc('\\', f);
		fputc(*p, f);
	}
	fputc('"', f);
	if (esc != buf)
		free(esc);
}

static void key(struct nt_json *j, const char *k)
{
	if (j->need_comma[j->depth])
		fputc(',', j->f);
	j->need_comma[j->depth] = true;
	if (k) {
		nt_json_write_string(j->f, k, strlen(k));
		fputc(':', j->f);
	}
}

static void open_(struct nt_json *j, const char *k, char c)
{
	key(j, k);
	fputc(c, j->f);
	if (j->depth + 1 < NT_JSON_MAX_DEPTH)
		j->depth++;
	j->need_comma[j->depth] = false;
	j->closer[j->depth] = c == '[' ? ']' : '}';
}

static void close_(struct nt_json *j, char c)
{
	fputc(c, j->f);
	if (j->depth > 0)
		j->depth--;
}

void nt_json_begin(struct nt_json *j, FILE *f, const char *type)
{
	j->f = f;
	j->depth = 0;
	j->need_comma[0] = false;
	fputc('{', f);
	nt_json_str(j, "type", type);
}

void nt_json_end(struct nt_json *j)
{
	/* A caller bug would leave a level open: close each with its own
	 * bracket, so that the record stays valid. */
	while (j->depth > 0)
		close_(j, j->closer[j->depth]);
	fputs("}\n", j->f);
	fflush(j->f);
}

void nt_json_obj(struct nt_json *j, const char *k) { open_(j, k, '{'); }
void nt_json_obj_end(struct nt_json *j) { close_(j, '}'); }
void nt_json_arr(struct nt_json *j, const char *k) { open_(j, k, '['); }
void nt_json_arr_end(struct nt_json *j) { close_(j, ']'); }

void nt_json_strn(struct nt_json *j, const char *k, const char *s, size_t len)
{
	key(j, k);
	nt_json_write_string(j->f, s, len);
}

void nt_json_str(struct nt_json *j, const char *k, const char *s)
{
	nt_json_strn(j, k, s, strlen(s));
}

void nt_json_u64(struct nt_json *j, const char *k, uint64_t v)
{
	key(j, k);
	fprintf(j->f, "%" PRIu64, v);
}

void nt_json_i64(struct nt_json *j, const char *k, int64_t v)
{
	key(j, k);
	fprintf(j->f, "%" PRId64, v);
}

void nt_json_bool(struct nt_json *j, const char *k, bool v)
{
	key(j, k);
	fputs(v ? "true" : "false", j->f);
}

void nt_json_null(struct nt_json *j, const char *k)
{
	key(j, k);
	fputs("null", j->f);
}

void nt_json_double(struct nt_json *j, const char *k, double v)
{
	key(j, k);
	if (!isfinite(v))
		fputs("null", j->f);
	else
		fprintf(j->f, "%.6g", v);
}
