#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "options.h"

int nt_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "nodetap %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "; see 'nodetap %s --help'\n", cmd);
	return NT_EXIT_USAGE;
}

int nt_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s || strlen(s) > 20)
		return -1;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int nt_parse_uint_list(const char *s, uint64_t min, uint64_t max,
		       uint64_t *out, int n, const char **bad)
{
	static char item[64];
	int count = 0;

	*bad = s;
	if (!*s)
		return -1;
	while (*s) {
		const char *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);

		snprintf(item, sizeof(item), "%.*s", (int)(len < 63 ? len : 63), s);
		*bad = item;
		if (len >= sizeof(item) || count >= n ||
		    nt_parse_uint(item, min, max, &out[count]))
			return -1;
		count++;
		if (!end)
			break;
		s = end + 1;
		if (!*s) { /* trailing comma */
			item[0] = 0;
			return -1;
		}
	}
	return count;
}

static const char common_help[] =
"Which processes (default: every node process on the host, including ones that start later):\n"
"  -p, --pid PID[,PID...]   only these processes; probes are placed in them alone\n"
"                           (repeatable)\n"
"      --binary PATH        also attach to this node binary (repeatable); by default\n"
"                           every node executable running now and `node` on PATH\n"
"  -- COMMAND [ARGS...]     start COMMAND once the probes are in place, trace only it\n"
"                           and its children, exit with its exit status\n"
"How long and how often:\n"
"  -d, --duration SECONDS   stop after SECONDS (1-31536000)\n"
"  interval [count]         print a report every interval seconds, count times\n"
"                           (default: one report when tracing ends)\n"
"                           Ctrl-C or SIGTERM prints the final report and exits 0\n"
"Output:\n"
"  -j, --json               JSON lines on stdout, one record per line (docs/json.md)\n"
"  -v, --verbose            say where each probe was placed\n"
"  -h, --help               this help\n";

static void print_help(const struct nt_cmd_spec *spec)
{
	printf("Usage: nodetap %s [OPTIONS] [interval [count]] [-- COMMAND [ARGS...]]\n\n"
	       "%s\n\n", spec->name, spec->summary);
	if (spec->help)
		fputs(spec->help, stdout);
	fputs("\n", stdout);
	if (spec->has_events)
		fputs("  -e, --events             print each event as it completes\n", stdout);
	if (spec->has_stacks)
		fputs("  -s, --stacks             record and name the caller's stack (JS frames need node\n"
		      "                           --perf-basic-prof --interpreted-frames-native-stack)\n", stdout);
	fputs(common_help, stdout);
	printf("\nExit status: 0 success (or COMMAND's status), 1 runtime failure, 2 usage error.\n"
	       "Conventions shared by every subcommand: docs/usage.md.\n");
}

static int add_pids(const char *cmd, const char *arg, struct nt_opts *o)
{
	uint64_t v[NT_MAX_PIDS];
	const char *bad;
	int n = nt_parse_uint_list(arg, 1, NT_PID_MAX, v, NT_MAX_PIDS - o->npids, &bad);

	if (n < 0)
		return nt_usage_error(cmd, "-p '%s': not a process id (a whole number from 1 to %u, "
				      "at most %d in all)", bad, NT_PID_MAX, NT_MAX_PIDS);
	for (int i = 0; i < n; i++)
		o->pids[o->npids++] = (pid_t)v[i];
	return 0;
}

/* Long options common to every subcommand; values are the short letter or
 * one of these for options without one. */
enum { OPT_BINARY = 1000 };

int nt_parse_options(int argc, char **argv, const struct nt_cmd_spec *spec,
		     struct nt_opts *o)
{
	static const struct option common[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "binary", required_argument, NULL, OPT_BINARY },
		{ "duration", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "events", no_argument, NULL, 'e' },
		{ "stacks", no_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
	};
	struct option longopts[64];
	char shortopts[64];
	size_t n = 0, nc = sizeof(common) / sizeof(common[0]);
	int dashdash = -1, rc, c;
	uint64_t v;

	memset(o, 0, sizeof(*o));
	o->cmd = spec->name;
	for (size_t i = 0; i < nc; i++)
		longopts[n++] = common[i];
	for (const struct option *e = spec->extra; e && e->name && n < 63; e++)
		longopts[n++] = *e;
	memset(&longopts[n], 0, sizeof(longopts[n]));
	snprintf(shortopts, sizeof(shortopts), ":p:d:jesvh%s", spec->extra_short ? spec->extra_short : "");

	/* "--" ends our options; what follows is the command to run. */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			dashdash = i;
			break;
		}
	}
	if (dashdash >= 0) {
		if (dashdash + 1 >= argc)
			return nt_usage_error(spec->name, "'--' must be followed by a command to run");
		o->command = &argv[dashdash + 1];
		argc = dashdash;
	}

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if ((rc = add_pids(spec->name, optarg, o)))
				return rc;
			break;
		case OPT_BINARY:
			if (o->nbinaries >= NT_MAX_BINARIES)
				return nt_usage_error(spec->name, "--binary: at most %d binaries", NT_MAX_BINARIES);
			if (!*optarg)
				return nt_usage_error(spec->name, "--binary: empty path");
			o->binaries[o->nbinaries++] = optarg;
			break;
		case 'd':
			if (nt_parse_uint(optarg, 1, NT_DURATION_MAX, &v))
				return nt_usage_error(spec->name, "-d '%s': not a duration (whole seconds from 1 to %u)",
						      optarg, NT_DURATION_MAX);
			o->duration = (unsigned)v;
			break;
		case 'j':
			o->json = true;
			break;
		case 'e':
			if (!spec->has_events)
				return nt_usage_error(spec->name, "--events is not an option of this subcommand");
			o->events = true;
			break;
		case 's':
			if (!spec->has_stacks)
				return nt_usage_error(spec->name, "--stacks is not an option of this subcommand");
			o->stacks = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			print_help(spec);
			return -1;
		case ':':
			return nt_usage_error(spec->name, "%s needs a value", argv[optind - 1]);
		case '?':
			/* A short letter; long options without one have values >= 256. */
			if (optopt > 0 && optopt < 256)
				return nt_usage_error(spec->name, "unknown option '-%c'", optopt);
			return nt_usage_error(spec->name, "unknown option '%s'", argv[optind - 1]);
		default:
			if (!spec->handle || (rc = spec->handle(c, optarg, spec->ctx)))
				return rc ? rc : nt_usage_error(spec->name, "unknown option");
		}
	}
	/* Positional: interval [count]. */
	if (optind < argc) {
		if (nt_parse_uint(argv[optind], 1, NT_INTERVAL_MAX, &v))
			return nt_usage_error(spec->name, "interval '%s': not a number of seconds (1 to %u)",
					      argv[optind], NT_INTERVAL_MAX);
		o->interval = (unsigned)v;
		optind++;
	}
	if (optind < argc) {
		if (nt_parse_uint(argv[optind], 1, UINT32_MAX, &v))
			return nt_usage_error(spec->name, "count '%s': not a number of reports (1 to %u)",
					      argv[optind], UINT32_MAX);
		o->count = (unsigned)v;
		optind++;
	}
	if (optind < argc)
		return nt_usage_error(spec->name, "unexpected argument '%s' (a command to run goes after '--')",
				      argv[optind]);
	if (o->command && o->npids)
		return nt_usage_error(spec->name, "-p and '-- COMMAND' exclude each other: trace running processes or start one");
	return 0;
}
