/* Unit tests of the monitor's configuration file (user/monconf.c): the
 * syntax, every error with its FILE:LINE, the command line over the file. */
#include <stdlib.h>
#include <unistd.h>
#include "check.h"
#include "monconf.h"

static int parse(const char *text, struct nt_monconf *c, char *err)
{
	int rc = nt_monconf_parse("m.conf", text, strlen(text), c, err, NT_MONCONF_ERR_LEN);

	return rc;
}

/* Parses TEXT, expects an error starting with PREFIX and containing WHAT. */
static int error_is(const char *text, const char *prefix, const char *what)
{
	char err[NT_MONCONF_ERR_LEN];
	struct nt_monconf c;
	int rc = parse(text, &c, err), ok;

	nt_monconf_free(&c);
	ok = rc == -1 && !strncmp(err, prefix, strlen(prefix)) && strstr(err, what);
	if (!ok)
		fprintf(stderr, "  for %s: rc %d, message \"%s\"\n", text, rc, err);
	return ok;
}

TEST(monconf_empty_is_defaults)
{
	char err[NT_MONCONF_ERR_LEN];
	struct nt_monconf c;

	CHECK_EQ_INT(parse("", &c, err), 0);
	CHECK_EQ_INT(c.set, 0);
	CHECK_EQ_INT(c.o.top, NT_MONITOR_DEFAULT_TOP);
	CHECK_EQ_INT(c.o.features, NT_MON_F_ALL);
	CHECK_EQ_STR(c.o.listen, NT_MONITOR_DEFAULT_LISTEN);
	nt_monconf_free(&c);
	CHECK_EQ_INT(parse("\n  \n# only comments\n\t# indented\n", &c, err), 0);
	CHECK_EQ_INT(c.set, 0);
	nt_monconf_free(&c);
}

TEST(monconf_every_key)
{
	const char *text =
		"# nodetap monitor\n"
		"listen = [::1]:9465\n"
		"top=5\n"
		"  grace   =\t120   # two minutes\n"
		"freq = 99\r\n"                     /* a CRLF line */
		"binary = /usr/local/bin/app\n"
		"binary = /opt/app#2/node\n"        /* '#' inside a word: part of it */
		"log = \"/var/log/nodetap/a #1.jsonl\"  # quoted: ' #' kept\n"
		"log_max_bytes = 4096\n"            /* underscores for dashes */
		"DNS = off\n"                        /* any case */
		"connect = no\n"
		"tcp = False\n"
		"loop = 1\n"
		"verbose = yes";                     /* no final newline */
	char err[NT_MONCONF_ERR_LEN];
	struct nt_monconf c;

	CHECK_EQ_INT(parse(text, &c, err), 0);
	CHECK_EQ_STR(err, "");
	CHECK_EQ_INT(c.set, (1u << NT_MK_COUNT) - 1);
	CHECK_EQ_STR(c.o.listen, "[::1]:9465");
	CHECK_EQ_INT(c.o.addr.ss_family, AF_INET6);
	CHECK_EQ_INT(c.o.top, 5);
	CHECK_EQ_U64(c.o.grace_ns, 120000000000ULL);
	CHECK_EQ_INT(c.o.freq, 99);
	CHECK_EQ_INT(c.o.nbinaries, 2);
	CHECK_EQ_STR(c.o.binaries[0], "/usr/local/bin/app");
	CHECK_EQ_STR(c.o.binaries[1], "/opt/app#2/node");
	CHECK_EQ_INT(c.line[NT_MK_BINARY], 6);
	CHECK_EQ_STR(c.o.log_path, "/var/log/nodetap/a #1.jsonl");
	CHECK_EQ_U64(c.o.log_max_bytes, 4096);
	CHECK_EQ_INT(c.o.features, NT_MON_F_LOOP);
	CHECK(c.o.verbose);
	CHECK_EQ_INT(c.line[NT_MK_TOP], 3);
	CHECK_EQ_INT(c.line[NT_MK_VERBOSE], 14);
	nt_monconf_free(&c);
}

TEST(monconf_errors_name_file_and_line)
{
	char big[NT_MONCONF_LINE_MAX + 20];

	CHECK(error_is("top = 5\nfoo = 1\n", "m.conf:2: ", "unknown key 'foo' (keys: listen, top"));
	CHECK(error_is("top = 0\n", "m.conf:1: ", "top = '0': not a whole number from 1 to 1000"));
	CHECK(error_is("top = 1001\n", "m.conf:1: ", "top = '1001'"));
	CHECK(error_is("top = -1\n", "m.conf:1: ", "top = '-1'"));
	CHECK(error_is("top = 5 5\n", "m.conf:1: ", "top = '5 5'"));
	CHECK(error_is("grace = 1.5\n", "m.conf:1: ", "grace = '1.5': not seconds"));
	CHECK(error_is("\n\ntop\n", "m.conf:3: ", "'top': not 'key = value'"));
	CHECK(error_is("top 5\n", "m.conf:1: ", "not 'key = value'"));
	CHECK(error_is("= 5\n", "m.conf:1: ", "not 'key = value'"));
	CHECK(error_is("top =\n", "m.conf:1: ", "top has no value"));
	CHECK(error_is("top =   # none\n", "m.conf:1: ", "top has no value"));
	CHECK(error_is("log = \"\"\n", "m.conf:1: ", "log has no value"));
	CHECK(error_is("top = 5\n# x\ntop = 6\n", "m.conf:3: ", "top given again (first on line 1)"));
	CHECK(error_is("dns = maybe\n", "m.conf:1: ", "dns = 'maybe': not on or off"));
	CHECK(error_is("listen = nowhere\n", "m.conf:1: ", "listen = 'nowhere': "));
	CHECK(error_is("listen = 127.0.0.1:99999\n", "m.conf:1: ", "listen = '127.0.0.1:99999'"));
	CHECK(error_is("log-max-bytes = 100\n", "m.conf:1: ", "at least 4096"));
	CHECK(error_is("log = \"/x\n", "m.conf:1: ", "'\"' is not closed"));
	CHECK(error_is("log = \"/x\" y\n", "m.conf:1: ", "text after the closing"));
	CHECK(error_is("top = 5\ntop\xff = 1\n", "m.conf:2: ", "'top\\xff = 1': not 'key = value'"));
	/* What the file holds is quoted escaped: no control byte passes. */
	CHECK(error_is("top = 5\x1b[2J\n", "m.conf:1: ", "a control character (\\x1b) at column 8"));
	CHECK(error_is("log = /a\r\r\n", "m.conf:1: ", "a control character (\\x0d) at column 9"));
	CHECK(error_is("top = 5\xc2\x9b\n", "m.conf:1: ", "top = '5\\xc2\\x9b'"));
	CHECK(error_is("t\xffp = 5\n", "m.conf:1: ", "'t\\xffp = 5'"));
	memset(big, 'x', sizeof(big));
	memcpy(big, "log = /", 7);
	big[sizeof(big) - 1] = 0;
	CHECK(error_is(big, "m.conf:1: ", "a line longer than 4096 bytes"));
	big[NT_MONCONF_LINE_MAX] = 0;   /* exactly the limit: a path, accepted */
	{
		char err[NT_MONCONF_ERR_LEN];
		struct nt_monconf c;

		CHECK_EQ_INT(parse(big, &c, err), 0);
		CHECK_EQ_INT(strlen(c.o.log_path), NT_MONCONF_LINE_MAX - 6);
		nt_monconf_free(&c);
	}
	{
		char err[NT_MONCONF_ERR_LEN];
		struct nt_monconf c;

		CHECK_EQ_INT(nt_monconf_parse("m.conf", "top = 5\nto\0p = 1\n", 17, &c, err, sizeof(err)), -1);
		CHECK_EQ_STR(err, "m.conf:2: a NUL byte (is this a text file?)");
		nt_monconf_free(&c);
	}
}

TEST(monconf_too_many_binaries)
{
	char text[NT_MAX_BINARIES * 20 + 40] = "";

	for (int i = 0; i <= NT_MAX_BINARIES; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "binary = /b%d\n", i);
	CHECK(error_is(text, "m.conf:65: ", "more than 64 binary lines"));
}

TEST(monconf_load)
{
	char err[NT_MONCONF_ERR_LEN], path[] = "/tmp/nodetap-monconf-XXXXXX";
	struct nt_monconf c;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	CHECK_EQ_INT(write(fd, "top = 7\n", 8), 8);
	close(fd);
	CHECK_EQ_INT(nt_monconf_load(path, &c, err, sizeof(err)), 0);
	CHECK_EQ_INT(c.o.top, 7);
	nt_monconf_free(&c);
	unlink(path);
	CHECK_EQ_INT(nt_monconf_load(path, &c, err, sizeof(err)), -1);
	CHECK(strstr(err, "No such file or directory") != NULL);
	nt_monconf_free(&c);
	CHECK_EQ_INT(nt_monconf_load("/tmp", &c, err, sizeof(err)), -1);
	CHECK_EQ_STR(err, "/tmp: not a regular file");
	nt_monconf_free(&c);
	CHECK_EQ_INT(nt_monconf_load("/dev/null", &c, err, sizeof(err)), -1);
	nt_monconf_free(&c);
}

static int cli(struct nt_monitor_opts *o, const char *a1, const char *a2, const char *a3,
	       const char *a4)
{
	char *argv[] = { (char *)"monitor", (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL };
	int argc = 1;
	FILE *saved = stderr;
	int rc;

	while (argc < 5 && argv[argc])
		argc++;
	stderr = fopen("/dev/null", "w");   /* usage errors are expected here */
	rc = nt_monitor_parse(argc, argv, o);
	fclose(stderr);
	stderr = saved;
	return rc;
}

TEST(monconf_command_line_wins)
{
	char err[NT_MONCONF_ERR_LEN];
	struct nt_monitor_opts o, out;
	struct nt_monconf c;

	CHECK_EQ_INT(cli(&o, "--config", "/etc/nodetap/monitor.conf", "--top", "9"), 0);
	CHECK_EQ_STR(o.config_path, "/etc/nodetap/monitor.conf");
	CHECK_EQ_INT(o.set, 1u << NT_MK_TOP);
	CHECK_EQ_INT(parse("top = 3\ngrace = 7\ndns = off\nloop = off\nbinary = /a\n", &c, err), 0);
	nt_monconf_merge(&o, &c, &out);
	CHECK_EQ_INT(out.top, 9);                      /* the command line */
	CHECK_EQ_U64(out.grace_ns, 7000000000ULL);     /* the file */
	CHECK_EQ_INT(out.features, NT_MON_F_CONNECT | NT_MON_F_TCP);
	CHECK_EQ_STR(out.listen, NT_MONITOR_DEFAULT_LISTEN);   /* the default */
	CHECK_EQ_INT(out.nbinaries, 1);
	CHECK_EQ_STR(out.binaries[0], "/a");
	/* --loop on on the command line: the file's loop = off is not used;
	 * --binary replaces the file's list. */
	CHECK_EQ_INT(cli(&o, "--loop", "on", "--binary", "/b"), 0);
	nt_monconf_merge(&o, &c, &out);
	CHECK_EQ_INT(out.features, NT_MON_F_ALL & ~NT_MON_F_DNS);
	CHECK_EQ_INT(out.nbinaries, 1);
	CHECK_EQ_STR(out.binaries[0], "/b");
	nt_monconf_merge(&o, NULL, &out);
	CHECK_EQ_INT(out.features, NT_MON_F_ALL);
	nt_monconf_free(&c);

	CHECK_EQ_INT(cli(&o, "--dns", "off", "--tcp", "no"), 0);
	CHECK_EQ_INT(o.features, NT_MON_F_CONNECT | NT_MON_F_LOOP);
	CHECK_EQ_INT(cli(&o, "--dns", "sometimes", NULL, NULL), NT_EXIT_USAGE);
	CHECK_EQ_INT(cli(&o, "--config", "", NULL, NULL), NT_EXIT_USAGE);
	CHECK_EQ_INT(cli(&o, "--config", NULL, NULL, NULL), NT_EXIT_USAGE);
}
