/* nt_test_map_sizes (user/common.c): NODETAP_TEST_MAP_ENTRIES, the setting
 * the integration tests use to make maps fill for real. Opened, not loaded:
 * no privilege needed. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include "check.h"
#include "common.h"
#include "dns.skel.h"

/* RC of nt_test_map_sizes with ENV, its complaint on stderr discarded. */
static int sizes(struct dns_bpf *skel, const char *env)
{
	struct nt_opts o = { .cmd = "dns" };
	int saved = dup(2), null = open("/dev/null", O_WRONLY), rc;

	setenv("NODETAP_TEST_MAP_ENTRIES", env, 1);
	dup2(null, 2);
	rc = nt_test_map_sizes(&o, skel->obj);
	dup2(saved, 2);
	close(saved);
	close(null);
	unsetenv("NODETAP_TEST_MAP_ENTRIES");
	return rc;
}

TEST(test_map_sizes_sets_named_maps)
{
	struct dns_bpf *skel = dns_bpf__open();

	CHECK(skel != NULL);
	if (!skel)
		return;
	CHECK_EQ_INT(bpf_map__max_entries(skel->maps.dns_stats), 10240);
	CHECK_EQ_INT(sizes(skel, ""), 0);
	CHECK_EQ_INT(bpf_map__max_entries(skel->maps.dns_stats), 10240);
	/* A map this object lacks is skipped: monitor has four objects. */
	CHECK_EQ_INT(sizes(skel, "dns_stats=16,events=4096,cb_stats=3"), 0);
	CHECK_EQ_INT(bpf_map__max_entries(skel->maps.dns_stats), 16);
	CHECK_EQ_INT(bpf_map__max_entries(skel->maps.events), 4096);
	CHECK_EQ_INT(bpf_map__max_entries(skel->maps.inflight), 16384);
	dns_bpf__destroy(skel);
}

TEST(test_map_sizes_refuses_malformed)
{
	const char *bad[] = { "dns_stats", "dns_stats=", "=5", "dns_stats=0", "dns_stats=x",
			      "dns_stats=5x", "dns_stats=-1", "dns_stats=4294967296",
			      "dns_stats=16,,inflight" };
	struct dns_bpf *skel = dns_bpf__open();

	CHECK(skel != NULL);
	if (!skel)
		return;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ_INT(sizes(skel, bad[i]), NT_EXIT_USAGE);
	dns_bpf__destroy(skel);
}
