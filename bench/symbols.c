/* bench/symbols.c: the driver of bench/symbols.sh. Times how long elfsym
 * takes to index a binary and to resolve nodetap's probe targets in it.
 *
 *   symbols [-r RUNS] [-v] BINARY [TARGET...]
 *
 * Prints one line "BINARY nsyms=N open_ms=X resolve_ms=Y", the medians of
 * RUNS (default 5) runs, each of which opens and indexes the file, resolves
 * every target, and frees it again. With -v it then prints one line per
 * match: "match TARGET ADDR OFFSET CLONE GLOBAL DEMANGLED", or
 * "missing TARGET" when nothing matched. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "elfsym.h"

static const char *const default_targets[] = {
	"uv_getaddrinfo", "uv__getaddrinfo_done", "uv_tcp_connect",
	"node::TCPWrap::Connect", "node::AsyncWrap::MakeCallback",
	"node::InternalMakeCallback",
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static const char *clone_name(enum nt_clone_kind k)
{
	switch (k) {
	case NT_CLONE_NONE: return "-";
	case NT_CLONE_ISRA: return "isra";
	case NT_CLONE_CONSTPROP: return "constprop";
	case NT_CLONE_PART: return "part";
	case NT_CLONE_COLD: return "cold";
	default: return "other";
	}
}

int main(int argc, char **argv)
{
	const char *const *targets = default_targets;
	size_t ntargets = sizeof(default_targets) / sizeof(default_targets[0]);
	int runs = 5, verbose = 0, opt;
	double *t_open, *t_resolve;
	size_t nsyms = 0;
	char err[512];

	while ((opt = getopt(argc, argv, "r:v")) != -1) {
		if (opt == 'r')
			runs = atoi(optarg);
		else if (opt == 'v')
			verbose = 1;
		else
			goto usage;
	}
	if (optind >= argc || runs < 1 || runs > 1000)
		goto usage;
	if (argc - optind > 1) {
		targets = (const char *const *)argv + optind + 1;
		ntargets = (size_t)(argc - optind - 1);
	}
	t_open = calloc((size_t)runs, sizeof(double));
	t_resolve = calloc((size_t)runs, sizeof(double));
	if (!t_open || !t_resolve)
		return 1;

	for (int r = 0; r < runs; r++) {
		struct nt_elf *e;
		struct nt_sym_match m[64];
		double t0 = now_ms(), t1;
		int rc = nt_elf_open(argv[optind], &e, err, sizeof(err));

		if (rc) {
			fprintf(stderr, "symbols: %s\n", err);
			return 1;
		}
		t1 = now_ms();
		for (size_t i = 0; i < ntargets; i++) {
			int n = nt_elf_find_func(e, targets[i], m, 64);

			if (n < 0) {
				fprintf(stderr, "symbols: %s: %s: error %d\n", argv[optind],
					targets[i], n);
				return 1;
			}
			if (verbose && r == runs - 1) {
				if (n == 0)
					printf("missing %s\n", targets[i]);
				for (int j = 0; j < n && j < 64; j++) {
					char dn[1024];

					printf("match %s 0x%llx 0x%llx %s %s %s\n", targets[i],
					       (unsigned long long)m[j].sym->addr,
					       (unsigned long long)m[j].file_offset,
					       clone_name(m[j].clone),
					       m[j].global ? "global" : "local",
					       nt_demangle(m[j].sym->name, dn, sizeof(dn)));
				}
			}
		}
		t_resolve[r] = now_ms() - t1;
		t_open[r] = t1 - t0;
		nsyms = e->nsyms;
		nt_elf_free(e);
	}
	qsort(t_open, (size_t)runs, sizeof(double), cmp_double);
	qsort(t_resolve, (size_t)runs, sizeof(double), cmp_double);
	printf("%s nsyms=%zu open_ms=%.1f resolve_ms=%.1f\n", argv[optind], nsyms,
	       t_open[runs / 2], t_resolve[runs / 2]);
	free(t_open);
	free(t_resolve);
	return 0;
usage:
	fprintf(stderr, "usage: symbols [-r RUNS] [-v] BINARY [TARGET...]\n");
	return 2;
}
