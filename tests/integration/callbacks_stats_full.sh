#!/usr/bin/env bash
# A full callbacks map is counted and reported, and what it kept is exact.
# nodetap callbacks counts callbacks per (process, kind) in cb_stats (10240
# rows); the test shrinks it to N rows (NODETAP_TEST_MAP_ENTRIES, a
# test-only setting) and fills it for real: P > N node processes, one after
# the other, each make M fs.stat callbacks (--kind FSREQCALLBACK: one row
# per process). Ground truth: each process's pid and callbacks, in the
# order they ran. The first N processes are counted exactly M each; every
# callback of the others is a "map_full".
. "$(dirname "$0")/../lib/common.sh"

N=3 P=7 M=4
cat >"$TEST_TMP/stats.js" <<'EOF2'
// M fs.stat callbacks, one after the other; then "pid made" appended to OUT.
const fs = require('fs');
const [m, out] = [+process.argv[2], process.argv[3]];
let n = 0;
const one = () => fs.stat('/', () => {
	if (++n < m) return one();
	fs.appendFileSync(out, `${process.pid} ${n}\n`);
});
one();
EOF2

out=$TEST_TMP/out.jsonl
NODETAP_TEST_MAP_ENTRIES=cb_stats=$N timeout -k 5 120 "$REPO/nodetap" callbacks --kind FSREQCALLBACK --json -- \
	sh -c "for i in \$(seq $P); do '$NODE' '$TEST_TMP/stats.js' $M '$TEST_TMP/truth'; done" \
	>"$out" 2>"$TEST_TMP/stderr" || fail "nodetap exited $?: $(cat "$TEST_TMP/stderr")"
assert_eq $P "$(wc -l <"$TEST_TMP/truth")" "processes that ran"
assert_eq $((P * M)) "$(awk '{ s += $2 } END { print s }' "$TEST_TMP/truth")" "callbacks made"
want=$(head -n $N "$TEST_TMP/truth" | jq -RscS 'split("\n") | map(select(. != "") | split(" ") | {key: .[0], value: (.[1] | tonumber)}) | from_entries')
kept=$(jq -scS '[.[] | select(.type=="callbacks_summary" and .kind=="FSREQCALLBACK") | {key: (.pid | tostring), value: .count}] | from_entries' "$out")
full=$(jqv "$out" 'select(.type=="losses") | .map_full')
echo "callbacks_stats_full: $P processes x $M callbacks, cb_stats of $N rows: kept $(jq length <<<"$kept") processes, $(jq '[.[]] | add // 0' <<<"$kept") callbacks; map_full $full (want $(((P - N) * M)))"
assert_eq "$want" "$kept" "processes kept (the first $N) and their callbacks"
assert_eq $(((P - N) * M)) "$full" "map_full: the callbacks of the processes that did not fit"

run_cleanups
assert_no_procs_left
