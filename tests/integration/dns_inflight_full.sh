#!/usr/bin/env bash
# A full in-flight map is counted and reported. nodetap dns keeps each lookup
# between uv_getaddrinfo and its completion in 8 slots of its thread, then
# in a hash map of 16384 entries (bpf/dns.bpf.c "inflight"). One node
# process issues N = 20000 lookups of localhost in one tick: all of them
# enter uv_getaddrinfo before the first completion runs (libuv queues them
# for its 4 threads), so about 3600 find the map full. Ground truth: the
# lookups the process made and saw complete. Every one is either counted or
# in "inflight_full", exactly; and each lost start's completion is an
# "unmatched_completions", not a lookup.
. "$(dirname "$0")/../lib/common.sh"

N=20000
cat >"$TEST_TMP/burst.js" <<'EOF'
const dns = require('dns'), fs = require('fs');
const n = +process.argv[2];
let done = 0, ok = 0;
for (let i = 0; i < n; i++)
	dns.lookup('localhost', { family: 4 }, (err) => {
		if (!err) ok++;
		if (++done === n) fs.writeFileSync(process.argv[3], JSON.stringify({ pid: process.pid, done, ok }));
	});
setTimeout(() => process.exit(3), 120000).unref();
EOF
out=$TEST_TMP/out.jsonl
timeout -k 5 180 "$REPO/nodetap" dns --json -- "$NODE" "$TEST_TMP/burst.js" $N "$TEST_TMP/truth.json" \
	>"$out" 2>"$TEST_TMP/stderr" || fail "nodetap exited $?: $(cat "$TEST_TMP/stderr")"
assert_jq "$TEST_TMP/truth.json" .done $N "lookups completed in the process"
counted=$(jq -s '[.[] | select(.type=="dns_summary" and .host=="localhost") | .count] | add // 0' "$out")
full=$(jqv "$out" 'select(.type=="losses") | .inflight_full')
unmatched=$(jqv "$out" 'select(.type=="losses") | .unmatched_completions')
echo "dns_inflight_full: $N lookups at once: counted $counted, inflight_full $full, unmatched_completions $unmatched; losses: $(jq -c 'select(.type=="losses")' "$out")"
assert_gt "$full" 0 "inflight_full (the map holds 16384)"
assert_eq $N $((counted + full)) "lookups counted + inflight_full"
assert_eq "$full" "$unmatched" "completions without a start = starts lost"

# The text report names the loss too, with its count.
timeout -k 5 180 "$REPO/nodetap" dns -- "$NODE" "$TEST_TMP/burst.js" $N "$TEST_TMP/truth2.json" \
	>"$TEST_TMP/text" 2>"$TEST_TMP/stderr" || fail "nodetap (text) exited $?: $(cat "$TEST_TMP/stderr")"
assert_match "lost since start:.* [1-9][0-9]* inflight_full" "$(cat "$TEST_TMP/text")" "loss line of the text report"

run_cleanups
assert_no_procs_left
