/* fuzz_monconf: the monitor's configuration file parser (user/monconf.c),
 * on whatever bytes a file may hold.
 *
 * Input: the file's bytes (copied to the heap with nothing after them, so a
 * read past the end is caught). Checked:
 *   - an error is one line "fuzz.conf:LINE: ...", LINE a line the input
 *     has, and safe text (escape.h: no control byte, no invalid UTF-8 of
 *     the file reaches the message);
 *   - a file accepted gives values within their documented ranges;
 *   - what was accepted, written back as `key=value` lines (the value in
 *     double quotes unless it holds one), parses again to the same
 *     configuration: nothing is lost or changed between the file and the
 *     options;
 *   - nothing leaks (nt_monconf_free after success and after an error). */
#include "fuzz.h"
#include "monconf.h"

static int lines_of(const uint8_t *data, size_t size)
{
	int n = 1;

	for (size_t i = 0; i < size; i++)
		n += data[i] == '\n';
	return n;
}

static void check_error(const char *err, const uint8_t *data, size_t size)
{
	size_t len = strnlen(err, NT_MONCONF_ERR_LEN);
	long line;
	char *end;

	FUZZ_CHECK(len > 0 && len < NT_MONCONF_ERR_LEN, "an error with an empty or unterminated message");
	FUZZ_CHECK(!strncmp(err, "fuzz.conf:", 10), "message \"%s\" does not start with the file", err);
	line = strtol(err + 10, &end, 10);
	FUZZ_CHECK(end > err + 10 && !strncmp(end, ": ", 2), "message \"%s\" has no line number", err);
	FUZZ_CHECK(line >= 1 && line <= lines_of(data, size), "message \"%s\": line %ld of %d",
		   err, line, lines_of(data, size));
	FUZZ_CHECK(fuzz_safe_text(err, len) == len, "message \"%s\" not safe at byte %zu", err,
		   fuzz_safe_text(err, len));
}

static void check_ranges(const struct nt_monconf *c)
{
	const struct nt_monitor_opts *o = &c->o;

	FUZZ_CHECK(o->top >= 1 && o->top <= NT_MONITOR_MAX_TOP, "top %llu", (unsigned long long)o->top);
	FUZZ_CHECK(o->freq >= 1 && o->freq <= NT_MONITOR_MAX_FREQ, "freq %llu", (unsigned long long)o->freq);
	FUZZ_CHECK(o->grace_ns <= NT_DURATION_MAX * 1000000000ULL && o->grace_ns % 1000000000ULL == 0,
		   "grace_ns %llu", (unsigned long long)o->grace_ns);
	FUZZ_CHECK(o->log_max_bytes >= NT_MONITOR_MIN_LOG_MAX, "log-max-bytes %llu",
		   (unsigned long long)o->log_max_bytes);
	FUZZ_CHECK(!(o->features & ~NT_MON_F_ALL), "features 0x%x", o->features);
	FUZZ_CHECK(o->nbinaries >= 0 && o->nbinaries <= NT_MAX_BINARIES, "%d binaries", o->nbinaries);
	FUZZ_CHECK(o->listen && (o->addr.ss_family == AF_INET || o->addr.ss_family == AF_INET6),
		   "listen without an address");
	FUZZ_CHECK(!(c->set & ~((1u << NT_MK_COUNT) - 1)), "set 0x%x", c->set);
	for (int i = 0; i < o->nbinaries; i++)
		FUZZ_CHECK(*o->binaries[i] && !strchr(o->binaries[i], '\n'), "binary %d empty or with a newline", i);
	FUZZ_CHECK(!o->log_path || (*o->log_path && !strchr(o->log_path, '\n')), "log empty or with a newline");
}

/* KEY=VALUE, in quotes unless VALUE holds one (then it was read without
 * them): never longer than the line it was read from. */
static void put_str(char **p, const char *key, const char *v)
{
	*p += sprintf(*p, strchr(v, '"') ? "%s=%s\n" : "%s=\"%s\"\n", key, v);
}

/* C written back as a file. */
static size_t write_back(const struct nt_monconf *c, char *out)
{
	const struct nt_monitor_opts *o = &c->o;
	char *p = out;

	if (c->set & (1u << NT_MK_LISTEN))
		put_str(&p, "listen", o->listen);
	if (c->set & (1u << NT_MK_TOP))
		p += sprintf(p, "top = %llu\n", (unsigned long long)o->top);
	if (c->set & (1u << NT_MK_GRACE))
		p += sprintf(p, "grace=%llu\n", (unsigned long long)(o->grace_ns / 1000000000ULL));
	if (c->set & (1u << NT_MK_FREQ))
		p += sprintf(p, "freq\t=\t%llu # Hz\n", (unsigned long long)o->freq);
	for (int i = 0; i < o->nbinaries; i++)
		put_str(&p, "binary", o->binaries[i]);
	if (c->set & (1u << NT_MK_LOG))
		put_str(&p, "log", o->log_path);
	if (c->set & (1u << NT_MK_LOG_MAX))
		p += sprintf(p, "log_max_bytes = %llu\n", (unsigned long long)o->log_max_bytes);
	if (c->set & (1u << NT_MK_DNS))
		p += sprintf(p, "dns = %s\n", o->features & NT_MON_F_DNS ? "on" : "off");
	if (c->set & (1u << NT_MK_CONNECT))
		p += sprintf(p, "connect = %s\n", o->features & NT_MON_F_CONNECT ? "yes" : "no");
	if (c->set & (1u << NT_MK_TCP))
		p += sprintf(p, "TCP = %s\n", o->features & NT_MON_F_TCP ? "true" : "false");
	if (c->set & (1u << NT_MK_LOOP))
		p += sprintf(p, "loop = %d\n", !!(o->features & NT_MON_F_LOOP));
	if (c->set & (1u << NT_MK_VERBOSE))
		p += sprintf(p, "# last\nverbose = %s\r\n", o->verbose ? "ON" : "OFF");
	return (size_t)(p - out);
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[NT_MONCONF_ERR_LEN], err2[NT_MONCONF_ERR_LEN], *text = malloc(size ? size : 1), *again;
	struct nt_monconf c, d;
	size_t n;
	int rc;

	memcpy(text, data, size);
	rc = nt_monconf_parse("fuzz.conf", text, size, &c, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == -1, "returned %d", rc);
	if (rc) {
		check_error(err, data, size);
		nt_monconf_free(&c);
		free(text);
		return 0;
	}
	check_ranges(&c);
	/* Every value is at most a line long; keys and syntax add little. */
	again = malloc(size * 2 + 4096);
	n = write_back(&c, again);
	rc = nt_monconf_parse("again.conf", again, n, &d, err2, sizeof(err2));
	FUZZ_CHECK(rc == 0, "written back, refused: %s\n%.*s", err2, (int)n, again);
	FUZZ_CHECK(d.set == c.set, "set 0x%x, then 0x%x", c.set, d.set);
	FUZZ_CHECK(same_str(d.o.listen, c.o.listen) && d.o.addrlen == c.o.addrlen &&
		   !memcmp(&d.o.addr, &c.o.addr, c.o.addrlen), "listen changed");
	FUZZ_CHECK(d.o.top == c.o.top && d.o.grace_ns == c.o.grace_ns && d.o.freq == c.o.freq &&
		   d.o.log_max_bytes == c.o.log_max_bytes && d.o.features == c.o.features &&
		   d.o.verbose == c.o.verbose, "a number or a switch changed");
	FUZZ_CHECK(same_str(d.o.log_path, c.o.log_path), "log \"%s\" became \"%s\"",
		   c.o.log_path, d.o.log_path);
	FUZZ_CHECK(d.o.nbinaries == c.o.nbinaries, "%d binaries, then %d", c.o.nbinaries, d.o.nbinaries);
	for (int i = 0; i < c.o.nbinaries; i++)
		FUZZ_CHECK(!strcmp(d.o.binaries[i], c.o.binaries[i]), "binary \"%s\" became \"%s\"",
			   c.o.binaries[i], d.o.binaries[i]);
	nt_monconf_free(&d);
	nt_monconf_free(&c);
	free(again);
	free(text);
	return 0;
}
