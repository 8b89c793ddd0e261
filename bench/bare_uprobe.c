/* bench/bare_uprobe.c: place a bare counting uprobe on each FUNCTION in
 * BINARY (and with -r, a uretprobe on the first one too), in process PID (-p)
 * or in every process running it; print "ready" once placed, and the number
 * of hits when SIGINT or SIGTERM comes. Built by bench/callbacks_cost.sh and
 * bench/hit_cost.sh (bare_uprobe.bpf.c, elfsym.o).
 *
 *   bare_uprobe [-r] [-p PID] BINARY FUNCTION [FUNCTION...]
 *                                      FUNCTION as nt_elf_find_func takes it */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bare_uprobe.skel.h"
#include "elfsym.h"

#define MAX_LINKS 9

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct bpf_link *links[MAX_LINKS] = { NULL };
	struct bare_uprobe_bpf *skel;
	struct nt_sym_match m;
	struct nt_elf *e;
	char err[256];
	int ret = 0, argi = 1, ncpu, pid = -1, nlinks = 0, nfuncs;
	unsigned long long total = 0, *vals;
	__u32 zero = 0;

	for (; argi < argc && argv[argi][0] == '-'; argi++) {
		if (!strcmp(argv[argi], "-r"))
			ret = 1;
		else if (!strcmp(argv[argi], "-p") && argi + 1 < argc)
			pid = atoi(argv[++argi]);
		else
			break;
	}
	nfuncs = argc - argi - 1;
	if (nfuncs < 1 || nfuncs + ret > MAX_LINKS) {
		fprintf(stderr, "usage: bare_uprobe [-r] [-p PID] BINARY FUNCTION [FUNCTION...] "
			"(at most %d probes)\n", MAX_LINKS);
		return 2;
	}
	if (nt_elf_open(argv[argi], &e, err, sizeof(err))) {
		fprintf(stderr, "bare_uprobe: %s\n", err);
		return 1;
	}
	skel = bare_uprobe_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "bare_uprobe: loading: %s\n", strerror(errno));
		return 1;
	}
	for (int f = 0; f < nfuncs; f++) {
		const char *func = argv[argi + 1 + f];

		if (nt_elf_find_func(e, func, &m, 1) < 1) {
			fprintf(stderr, "bare_uprobe: no %s in %s\n", func, argv[argi]);
			return 1;
		}
		/* The first function: entry, and with -r its return. */
		for (int i = 0; i <= (f == 0 ? ret : 0); i++) {
			LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = i == 1);
			links[nlinks] = bpf_program__attach_uprobe_opts(skel->progs.bare_count, pid,
									argv[argi], (size_t)m.file_offset, &uo);
			if (!links[nlinks]) {
				fprintf(stderr, "bare_uprobe: attaching to %s: %s\n", func, strerror(errno));
				return 1;
			}
			nlinks++;
		}
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("ready\n");
	fflush(stdout);
	while (!stop)
		pause();
	ncpu = libbpf_num_possible_cpus();
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (vals && !bpf_map_lookup_elem(bpf_map__fd(skel->maps.hits), &zero, vals))
		for (int i = 0; i < ncpu; i++)
			total += vals[i];
	printf("hits %llu\n", total);
	free(vals);
	for (int i = 0; i < nlinks; i++)
		bpf_link__destroy(links[i]);
	bare_uprobe_bpf__destroy(skel);
	nt_elf_free(e);
	return 0;
}
