/* monconf: the configuration file of `nodetap monitor` (--config FILE,
 * docs/monitor.md#configuration-file), read at start and again on SIGHUP.
 *
 *   # comments start with '#' (at the start of a line, or after a space)
 *   top = 20
 *   log = "/var/log/nodetap/events.jsonl"
 *   dns = off
 *
 * One `key = value` a line; each key is a long option of the command line
 * and means the same (`top = 5` is `--top 5`); booleans are on/off (also
 * yes/no, true/false, 1/0). A value may be put in double quotes (a path with
 * " #" in it). Anything else is an error naming FILE:LINE: an unknown key, a
 * bad value, a key given twice, a line over NT_MONCONF_LINE_MAX bytes, a NUL
 * byte. The parser is pure (no file system, no global state): the unit tests
 * and tests/fuzz/fuzz_monconf.c call it on bytes. */
#ifndef NODETAP_MONCONF_H
#define NODETAP_MONCONF_H

#include <stddef.h>
#include "monitor.h"

#define NT_MONCONF_LINE_MAX 4096          /* bytes, without the newline */
#define NT_MONCONF_FILE_MAX (1u << 20)    /* a config is never this big */
#define NT_MONCONF_ERR_LEN 512            /* room for one message */

struct nt_monconf {
	struct nt_monitor_opts o;   /* the defaults, then what the file says */
	unsigned set;               /* 1 << NT_MK_*: keys the file gives */
	int line[NT_MK_COUNT];      /* where (the first binary's line) */
	char *owned[2 + NT_MAX_BINARIES];  /* strings o points at */
	int nowned;
};

/* The name of a key as the file and the command line spell it ("log-max-bytes"). */
const char *nt_monconf_key_name(enum nt_mon_key k);

/* Parse LEN bytes of TEXT, read from a file called NAME (for messages only),
 * into C, which is initialized here (free it with nt_monconf_free, also
 * after an error). Returns 0, or -1 with ERR holding one line:
 * "NAME:LINE: what is wrong (what to do)", every byte of the file it quotes
 * escaped (escape.h). */
int nt_monconf_parse(const char *name, const char *text, size_t len, struct nt_monconf *c,
		     char *err, size_t errlen);

/* Read PATH (a regular file of at most NT_MONCONF_FILE_MAX bytes) and parse
 * it as above. Returns 0 or -1 with ERR set. */
int nt_monconf_load(const char *path, struct nt_monconf *c, char *err, size_t errlen);

void nt_monconf_free(struct nt_monconf *c);

/* on/off, yes/no, true/false, 1/0 (any case). Returns 0 or -1. */
int nt_monconf_parse_bool(const char *s, bool *out);

/* The options in force: CLI (as nt_monitor_parse left them: defaults and
 * what the command line gave, with CLI->set), with every key the file gives
 * and the command line does not taken from C (C may be NULL: no file). The
 * strings of OUT point into CLI's and C's. */
void nt_monconf_merge(const struct nt_monitor_opts *cli, const struct nt_monconf *c,
		      struct nt_monitor_opts *out);

#endif
