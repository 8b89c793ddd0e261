/* options: the command-line conventions every subcommand shares (see
 * docs/usage.md): -p, --binary, -d, interval [count], --json, --events,
 * --stacks, -- COMMAND. A subcommand adds its own options through
 * struct nt_cmd_spec. */
#ifndef NODETAP_OPTIONS_H
#define NODETAP_OPTIONS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define NT_MAX_PIDS 256
#define NT_MAX_BINARIES 64
#define NT_PID_MAX 4194304U          /* the kernel's PID_MAX_LIMIT */
#define NT_DURATION_MAX 31536000U    /* one year of seconds */
#define NT_INTERVAL_MAX 86400U

/* Exit statuses, the same for every subcommand. */
#define NT_EXIT_OK 0
#define NT_EXIT_RUNTIME 1
#define NT_EXIT_USAGE 2

struct nt_opts {
	const char *cmd;             /* "dns" */
	pid_t pids[NT_MAX_PIDS];
	int npids;
	const char *binaries[NT_MAX_BINARIES];
	int nbinaries;
	unsigned duration;           /* seconds; 0: until Ctrl-C or COMMAND ends */
	unsigned interval;           /* seconds; 0: one report at the end */
	unsigned count;              /* reports; 0: unlimited */
	bool json;
	bool events;
	bool stacks;
	bool verbose;
	char **command;              /* argv after "--", or NULL */
};

struct nt_cmd_spec {
	const char *name;
	const char *summary;         /* one line */
	const char *help;            /* the subcommand's own options and examples */
	bool has_events, has_stacks;
	const struct option *extra;  /* the subcommand's long options, or NULL */
	const char *extra_short;     /* their short letters for getopt, or "" */
	/* Handles one of the extra options. Returns 0, or NT_EXIT_USAGE after
	 * printing an error with nt_usage_error. */
	int (*handle)(int key, const char *arg, void *ctx);
	void *ctx;
};

/* Parse ARGV (argv[0] is the subcommand name). Returns 0, -1 when --help was
 * printed (exit 0), or NT_EXIT_USAGE after printing one line that names the
 * bad argument. */
int nt_parse_options(int argc, char **argv, const struct nt_cmd_spec *spec,
		     struct nt_opts *o);

/* Print "nodetap CMD: <message>; see 'nodetap CMD --help'" on stderr and
 * return NT_EXIT_USAGE. */
int nt_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Strict unsigned decimal: digits only, no sign, no spaces, within
 * [min, max]. Returns 0 or -1. */
int nt_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Parse a comma list of ports or similar into OUT (max N). Returns the
 * count, or -1 with *bad pointing at the offending item. */
int nt_parse_uint_list(const char *s, uint64_t min, uint64_t max,
		       uint64_t *out, int n, const char **bad);

#endif
