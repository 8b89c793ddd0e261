/* monconf: the monitor's configuration file (monconf.h). Written for a file
 * an administrator edits by hand and may get wrong: every error names the
 * file, the line and what to do, and quotes what it read escaped (a stray
 * control byte cannot reach the terminal). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "escape.h"
#include "httpserve.h"
#include "monconf.h"

enum kind { K_LISTEN, K_UINT, K_PATH, K_BOOL };

static const struct key {
	const char *name;
	enum kind kind;
	uint64_t min, max;      /* K_UINT */
	const char *what;       /* what a good value is, for messages */
} keys[NT_MK_COUNT] = {
	[NT_MK_LISTEN] = { "listen", K_LISTEN, 0, 0, "ADDR:PORT, as 127.0.0.1:9464 or [::1]:9464" },
	[NT_MK_TOP] = { "top", K_UINT, 1, NT_MONITOR_MAX_TOP, "a whole number from 1 to 1000" },
	[NT_MK_GRACE] = { "grace", K_UINT, 0, NT_DURATION_MAX, "seconds, from 0 to 31536000" },
	[NT_MK_FREQ] = { "freq", K_UINT, 1, NT_MONITOR_MAX_FREQ, "Hz, from 1 to 1000" },
	[NT_MK_BINARY] = { "binary", K_PATH, 0, 0, "a file name" },
	[NT_MK_LOG] = { "log", K_PATH, 0, 0, "a file name" },
	[NT_MK_LOG_MAX] = { "log-max-bytes", K_UINT, NT_MONITOR_MIN_LOG_MAX, UINT64_MAX / 2,
			    "bytes, at least 4096" },
	[NT_MK_DNS] = { "dns", K_BOOL, 0, 0, "on or off" },
	[NT_MK_CONNECT] = { "connect", K_BOOL, 0, 0, "on or off" },
	[NT_MK_TCP] = { "tcp", K_BOOL, 0, 0, "on or off" },
	[NT_MK_LOOP] = { "loop", K_BOOL, 0, 0, "on or off" },
	[NT_MK_VERBOSE] = { "verbose", K_BOOL, 0, 0, "on or off" },
};

static const char key_list[] = "listen, top, grace, freq, binary, log, log-max-bytes, dns, "
			       "connect, tcp, loop, verbose";

const char *nt_monconf_key_name(enum nt_mon_key k)
{
	return k < NT_MK_COUNT ? keys[k].name : "?";
}

int nt_monconf_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "on", "yes", "true", "1" };
	static const char *const no[] = { "off", "no", "false", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static unsigned feature_of(enum nt_mon_key k)
{
	switch (k) {
	case NT_MK_DNS: return NT_MON_F_DNS;
	case NT_MK_CONNECT: return NT_MON_F_CONNECT;
	case NT_MK_TCP: return NT_MON_F_TCP;
	case NT_MK_LOOP: return NT_MON_F_LOOP;
	default: return 0;
	}
}

/* Escaped, and cut to a readable length with "..." when longer. */
static const char *quote(const char *s, size_t n, char *buf, size_t buflen)
{
	/* Room for "...": the escaper cuts at a character's boundary. */
	if (nt_escape(s, n, buf, buflen - 3) >= buflen - 3)
		strcat(buf, "...");
	return buf;
}

/* "NAME:LINE: " and the message into ERR; returns -1. */
__attribute__((format(printf, 5, 6)))
static int fail(char *err, size_t errlen, const char *name, int line, const char *fmt, ...)
{
	char qname[160];
	va_list ap;
	int n;

	n = snprintf(err, errlen, "%s:%d: ", quote(name, strlen(name), qname, sizeof(qname)), line);
	if (n < 0 || (size_t)n >= errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static void init(struct nt_monconf *c)
{
	char why[128];

	memset(c, 0, sizeof(*c));
	c->o.listen = NT_MONITOR_DEFAULT_LISTEN;
	nt_http_parse_listen(c->o.listen, &c->o.addr, &c->o.addrlen, why, sizeof(why));
	c->o.top = NT_MONITOR_DEFAULT_TOP;
	c->o.grace_ns = NT_MONITOR_DEFAULT_GRACE * 1000000000ULL;
	c->o.freq = NT_MONITOR_DEFAULT_FREQ;
	c->o.log_max_bytes = NT_MONITOR_DEFAULT_LOG_MAX;
	c->o.features = NT_MON_F_ALL;
}

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t';
}

static bool is_key_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '-' || ch == '_';
}

/* The key of [S, S+N) (underscores taken as dashes, any case), or -1. */
static int find_key(const char *s, size_t n)
{
	for (int k = 0; k < NT_MK_COUNT; k++) {
		const char *name = keys[k].name;
		size_t i;

		if (strlen(name) != n)
			continue;
		for (i = 0; i < n; i++) {
			char ch = s[i] == '_' ? '-' : (char)(s[i] | (s[i] >= 'A' && s[i] <= 'Z' ? 0x20 : 0));

			if (ch != name[i])
				break;
		}
		if (i == n)
			return k;
	}
	return -1;
}

/* The value VAL (NUL-terminated) of key K on line LINE, into C. */
static int set_value(struct nt_monconf *c, const char *name, int line, int k, const char *val,
		     char *err, size_t errlen)
{
	const struct key *key = &keys[k];
	char qv[96], why[128];
	uint64_t v = 0;
	bool b = false;

	quote(val, strlen(val), qv, sizeof(qv));
	if (k != NT_MK_BINARY && (c->set & (1u << k)))
		return fail(err, errlen, name, line, "%s given again (first on line %d): keep one",
			    key->name, c->line[k]);
	switch (key->kind) {
	case K_UINT:
		if (nt_parse_uint(val, key->min, key->max, &v))
			return fail(err, errlen, name, line, "%s = '%s': not %s", key->name, qv, key->what);
		break;
	case K_BOOL:
		if (nt_monconf_parse_bool(val, &b))
			return fail(err, errlen, name, line, "%s = '%s': not on or off", key->name, qv);
		break;
	case K_LISTEN:
		if (nt_http_parse_listen(val, &c->o.addr, &c->o.addrlen, why, sizeof(why))) {
			char qwhy[160];   /* WHY quotes the value as it is */

			return fail(err, errlen, name, line, "listen = '%s': %s (%s)", qv,
				    quote(why, strlen(why), qwhy, sizeof(qwhy)), key->what);
		}
		break;
	case K_PATH:
		break;
	}
	if (k == NT_MK_BINARY && c->o.nbinaries >= NT_MAX_BINARIES)
		return fail(err, errlen, name, line, "more than %d binary lines: keep at most %d",
			    NT_MAX_BINARIES, NT_MAX_BINARIES);
	if (key->kind == K_LISTEN || key->kind == K_PATH) {
		char *copy = strdup(val);

		if (!copy)
			return fail(err, errlen, name, line, "out of memory");
		c->owned[c->nowned++] = copy;
		if (k == NT_MK_LISTEN)
			c->o.listen = copy;
		else if (k == NT_MK_LOG)
			c->o.log_path = copy;
		else
			c->o.binaries[c->o.nbinaries++] = copy;
	}
	switch (k) {
	case NT_MK_TOP: c->o.top = v; break;
	case NT_MK_GRACE: c->o.grace_ns = v * 1000000000ULL; break;
	case NT_MK_FREQ: c->o.freq = v; break;
	case NT_MK_LOG_MAX: c->o.log_max_bytes = v; break;
	case NT_MK_VERBOSE: c->o.verbose = b; break;
	default:
		if (feature_of(k))
			c->o.features = b ? c->o.features | feature_of(k) : c->o.features & ~feature_of(k);
		break;
	}
	if (!(c->set & (1u << k)))
		c->line[k] = line;
	c->set |= 1u << k;
	return 0;
}

/* One line (without its newline, N bytes, no NUL inside). */
static int parse_line(struct nt_monconf *c, const char *name, int line, const char *s, size_t n,
		      char *err, size_t errlen)
{
	char val[NT_MONCONF_LINE_MAX + 1], qk[96];
	const char *end = s + n, *key, *v, *vend;
	size_t klen;
	int k;

	if (n && s[n - 1] == '\r')   /* written on Windows */
		end--;
	/* No option takes a control character; one in a file is a mistake
	 * (a stray escape sequence, a binary file) better named than kept. */
	for (const char *p = s; p < end; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			return fail(err, errlen, name, line, "a control character (\\x%02x) at column "
				    "%td: remove it", (unsigned char)*p, p - s + 1);
	while (s < end && is_space(*s))
		s++;
	if (s == end || *s == '#')
		return 0;
	for (key = s; s < end && is_key_char(*s); s++)
		;
	klen = (size_t)(s - key);
	while (s < end && is_space(*s))
		s++;
	if (!klen || s == end || *s != '=')
		return fail(err, errlen, name, line, "'%s': not 'key = value' (keys: %s)",
			    quote(key, (size_t)(end - key), qk, sizeof(qk)), key_list);
	k = find_key(key, klen);
	if (k < 0)
		return fail(err, errlen, name, line, "unknown key '%s' (keys: %s; docs/monitor.md)",
			    quote(key, klen, qk, sizeof(qk)), key_list);
	for (s++; s < end && is_space(*s); s++)
		;
	if (s < end && *s == '"') {
		v = ++s;
		vend = memchr(s, '"', (size_t)(end - s));
		if (!vend)
			return fail(err, errlen, name, line, "%s: the value's '\"' is not closed",
				    keys[k].name);
		for (s = vend + 1; s < end && is_space(*s); s++)
			;
		if (s < end && *s != '#')
			return fail(err, errlen, name, line, "%s: text after the closing '\"' "
				    "(a comment needs '#')", keys[k].name);
	} else {
		/* A comment starts at a '#' after a space (or at the value's start). */
		v = s;
		for (vend = s; vend < end && !(*vend == '#' && (vend == v || is_space(vend[-1]))); vend++)
			;
		while (vend > v && is_space(vend[-1]))
			vend--;
	}
	if (vend == v)
		return fail(err, errlen, name, line, "%s has no value (%s: %s)", keys[k].name,
			    keys[k].name, keys[k].what);
	memcpy(val, v, (size_t)(vend - v));
	val[vend - v] = 0;
	return set_value(c, name, line, k, val, err, errlen);
}

int nt_monconf_parse(const char *name, const char *text, size_t len, struct nt_monconf *c,
		     char *err, size_t errlen)
{
	const char *s = text, *end = text + len;
	int line = 0;

	init(c);
	if (errlen)
		err[0] = 0;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = (size_t)((nl ? nl : end) - s);

		line++;
		if (n > NT_MONCONF_LINE_MAX)
			return fail(err, errlen, name, line, "a line longer than %d bytes (is this the "
				    "monitor's configuration file?)", NT_MONCONF_LINE_MAX);
		if (memchr(s, 0, n))
			return fail(err, errlen, name, line, "a NUL byte (is this a text file?)");
		if (parse_line(c, name, line, s, n, err, errlen))
			return -1;
		s += n + (nl != NULL);
	}
	return 0;
}

int nt_monconf_load(const char *path, struct nt_monconf *c, char *err, size_t errlen)
{
	char qp[160];
	struct stat st;
	char *buf;
	ssize_t got = 0;
	int fd, rc;

	init(c);
	quote(path, strlen(path), qp, sizeof(qp));
	/* O_NONBLOCK: a FIFO named by mistake must not hang the agent. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", qp, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st)) {
		snprintf(err, errlen, "%s: %s", qp, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > NT_MONCONF_FILE_MAX) {
		snprintf(err, errlen, "%s: %s", qp, S_ISREG(st.st_mode) ?
			 "larger than 1 MiB: not a configuration file" : "not a regular file");
		close(fd);
		return -1;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", qp);
		close(fd);
		return -1;
	}
	/* The file may change while read (an editor writing it): read what is
	 * there, up to the size seen. */
	while (got < st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)(st.st_size - got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s: %s", qp, strerror(errno));
			free(buf);
			close(fd);
			return -1;
		}
		if (!r)
			break;
		got += r;
	}
	close(fd);
	rc = nt_monconf_parse(path, buf, (size_t)got, c, err, errlen);
	free(buf);
	return rc;
}

void nt_monconf_free(struct nt_monconf *c)
{
	for (int i = 0; i < c->nowned; i++)
		free(c->owned[i]);
	c->nowned = 0;
}

void nt_monconf_merge(const struct nt_monitor_opts *cli, const struct nt_monconf *c,
		      struct nt_monitor_opts *out)
{
	*out = *cli;
	if (!c)
		return;
	for (int k = 0; k < NT_MK_COUNT; k++) {
		unsigned bit = 1u << k;

		if (!(c->set & bit) || (cli->set & bit))
			continue;
		switch (k) {
		case NT_MK_LISTEN:
			out->listen = c->o.listen;
			out->addr = c->o.addr;
			out->addrlen = c->o.addrlen;
			break;
		case NT_MK_TOP: out->top = c->o.top; break;
		case NT_MK_GRACE: out->grace_ns = c->o.grace_ns; break;
		case NT_MK_FREQ: out->freq = c->o.freq; break;
		case NT_MK_BINARY:
			memcpy(out->binaries, c->o.binaries, sizeof(out->binaries));
			out->nbinaries = c->o.nbinaries;
			break;
		case NT_MK_LOG: out->log_path = c->o.log_path; break;
		case NT_MK_LOG_MAX: out->log_max_bytes = c->o.log_max_bytes; break;
		case NT_MK_VERBOSE: out->verbose = c->o.verbose; break;
		default:
			out->features = (out->features & ~feature_of(k)) | (c->o.features & feature_of(k));
			break;
		}
	}
}
