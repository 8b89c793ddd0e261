/* mapsnap against a real BPF hash map: every entry read, sorted by key, and
 * interval deltas that subtract the previous snapshot. Needs root. */
#include <bpf/bpf.h>
#include <stdint.h>
#include <unistd.h>
#include "check.h"
#include "mapsnap.h"

/* Rows are 12 bytes here (4-byte key, 8-byte value), so a value is not
 * 8-byte aligned: read and write it with memcpy (UBSan reported the plain
 * dereference, tests/integration/sanitize.sh). */
static uint64_t get_u64(const void *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void sub_u64(void *v, const void *p)
{
	uint64_t x = get_u64(v) - get_u64(p);

	memcpy(v, &x, sizeof(x));
}

TEST(mapsnap_read_and_delta)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "nt_test_snap", 4, 8, 16, NULL);
	struct nt_snap cur, prev = { 0 };
	uint32_t k;
	uint64_t v;

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	for (k = 3; k >= 1; k--) {
		v = k * 10;
		bpf_map_update_elem(fd, &k, &v, BPF_ANY);
	}
	CHECK_EQ_INT(nt_snap_read(fd, 4, 8, &cur), 0);
	CHECK_EQ_INT(cur.n, 3);
	CHECK_EQ_INT(*(uint32_t *)nt_snap_key(&cur, 0), 1); /* sorted */
	CHECK_EQ_INT(nt_snap_delta(&cur, &prev, sub_u64), 0); /* first: no change */
	CHECK_EQ_U64(get_u64(nt_snap_val(&cur, 2)), 30);
	nt_snap_free(&cur);

	k = 2, v = 25;
	bpf_map_update_elem(fd, &k, &v, BPF_ANY);
	k = 4, v = 7;
	bpf_map_update_elem(fd, &k, &v, BPF_ANY);
	CHECK_EQ_INT(nt_snap_read(fd, 4, 8, &cur), 0);
	CHECK_EQ_INT(nt_snap_delta(&cur, &prev, sub_u64), 0);
	CHECK_EQ_U64(get_u64(nt_snap_val(&cur, 0)), 0);  /* key 1 unchanged */
	CHECK_EQ_U64(get_u64(nt_snap_val(&cur, 1)), 5);  /* key 2: 25 - 20 */
	CHECK_EQ_U64(get_u64(nt_snap_val(&cur, 3)), 7);  /* key 4 is new */
	CHECK_EQ_U64(get_u64(nt_snap_find(&prev, &k)), 7); /* prev holds the totals */
	nt_snap_free(&cur);
	nt_snap_free(&prev);
	close(fd);
}
