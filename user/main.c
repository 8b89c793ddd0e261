/* nodetap: eBPF observability for Node.js. One binary, one subcommand per
 * question; the conventions they share are in docs/usage.md. */
#include <stdio.h>
#include <string.h>
#include "options.h"
#include "subcommands.h"

#define NODETAP_VERSION "0.1.0"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} cmds[] = {
	{ "dns", cmd_dns, "count and time DNS lookups (dns.lookup), per host, with stacks" },
	{ "connect", cmd_connect, "who connects where, how fast, from which code; accepted connections" },
	{ "tcp", cmd_tcp, "the life of each TCP connection: bytes, duration, retransmits, resets" },
	{ "loop", cmd_loop, "event-loop lag and what blocks the loop, sampled: no probe in the process" },
	{ "profile", cmd_profile, "CPU profile: flame graphs (SVG, folded, .cpuprofile, trace) with JavaScript names" },
	{ "monitor", cmd_monitor, "the always-on agent: dns, connects, loop lag of every node process as Prometheus metrics" },
	{ "callbacks", cmd_callbacks, "callbacks into JavaScript by kind (TCPWRAP, FSREQCALLBACK, ...): costly, ad hoc" },
	{ "trace", cmd_trace, "one timeline as Chrome trace JSON for Perfetto: lookups, connects, TCP states" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: nodetap SUBCOMMAND [OPTIONS] [interval [count]] [-- COMMAND [ARGS...]]\n\n"
		   "eBPF observability for Node.js processes on Linux.\n\nSubcommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\n'nodetap SUBCOMMAND --help' explains each one, with examples.\n"
		   "Example: nodetap dns -- node app.js\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return NT_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		if (argc > 2 && strcmp(argv[1], "help") == 0) {
			for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
				if (!strcmp(argv[2], cmds[i].name)) {
					char *args[] = { argv[2], (char *)"--help", NULL };

					return cmds[i].fn(2, args);
				}
			}
		}
		usage(stdout);
		return NT_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("nodetap %s\n", NODETAP_VERSION);
		return NT_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "nodetap: unknown subcommand '%s'; see 'nodetap --help'\n", argv[1]);
	return NT_EXIT_USAGE;
}
