/* bench/bare_uprobe.c: place a bare counting uprobe (and with -r, a
 * uretprobe too) on FUNCTION in BINARY, in process PID (-p) or in every
 * process running it; print
 * "ready" once placed, and the number of hits when SIGINT or SIGTERM comes.
 * Built by bench/callbacks_cost.sh (bare_uprobe.bpf.c, elfsym.o).
 *
 *   bare_uprobe [-r] [-p PID] BINARY FUNCTION   FUNCTION as nt_elf_find_func takes it */
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

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct bpf_link *links[2] = { NULL, NULL };
	struct bare_uprobe_bpf *skel;
	struct nt_sym_match m;
	struct nt_elf *e;
	char err[256];
	int ret = 0, argi = 1, ncpu, pid = -1;
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
	if (argc - argi != 2) {
		fprintf(stderr, "usage: bare_uprobe [-r] [-p PID] BINARY FUNCTION\n");
		return 2;
	}
	if (nt_elf_open(argv[argi], &e, err, sizeof(err))) {
		fprintf(stderr, "bare_uprobe: %s\n", err);
		return 1;
	}
	if (nt_elf_find_func(e, argv[argi + 1], &m, 1) < 1) {
		fprintf(stderr, "bare_uprobe: no %s in %s\n", argv[argi + 1], argv[argi]);
		return 1;
	}
	skel = bare_uprobe_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "bare_uprobe: loading: %s\n", strerror(errno));
		return 1;
	}
	for (int i = 0; i <= ret; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = i == 1);
		links[i] = bpf_program__attach_uprobe_opts(skel->progs.bare_count, pid, argv[argi],
							   (size_t)m.file_offset, &uo);
		if (!links[i]) {
			fprintf(stderr, "bare_uprobe: attaching: %s\n", strerror(errno));
			return 1;
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
	for (int i = 0; i < 2; i++)
		bpf_link__destroy(links[i]);
	bare_uprobe_bpf__destroy(skel);
	nt_elf_free(e);
	return 0;
}
