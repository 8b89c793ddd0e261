#!/usr/bin/env bash
# A program that links libuv as a shared library (as distro node builds may):
# nodetap finds uv_getaddrinfo in the libuv.so it needs (--binary, through
# DT_NEEDED) or maps (-p, through /proc/PID/maps), and counts both kinds of
# call: with a callback (async) and without (sync, flagged as such). Debian's
# libuv.so.1 is stripped, so uv__getaddrinfo_done is found from the code of
# uv_getaddrinfo; a stripped copy of node (non-PIE) is traced the same way.
. "$(dirname "$0")/../lib/common.sh"

N=5
bin=$TEST_TMP/uv-lookups
cc -O2 -Wall -Werror -o "$bin" "$TESTS_LIB/uv-lookups.c" -luv || fail "building uv-lookups"

out=$TEST_TMP/a.jsonl
"$REPO/nodetap" dns --events --json --binary "$bin" -- "$bin" $N localhost >"$out" 2>"$TEST_TMP/stderr" ||
	fail "nodetap exited $?: $(cat "$TEST_TMP/stderr")"
assert_jq "$out" 'select(.type=="dns_summary") | .count' $((2 * N)) "lookups counted (--binary)"
assert_eq $N "$(jq -s '[.[] | select(.type=="dns_lookup" and .sync)] | length' "$out")" "sync lookups"
assert_eq $N "$(jq -s '[.[] | select(.type=="dns_lookup" and (.sync | not))] | length' "$out")" "async lookups"
assert_match 'libuv\.so' "$(jq -r 'select(.type=="probe" and .placed and .function=="uv_getaddrinfo") | .file' "$out" | sort -u)" "file the probe went on"
assert_contains '"async_ok":5,"sync_ok":5' "$(grep async_ok "$out")" "the program's own count"

# -p: the library is found through the process's maps.
go=$TEST_TMP/go
out=$TEST_TMP/p.jsonl
"$bin" $N localhost "$go" >"$TEST_TMP/prog.out" &
prog=$!
on_exit kill_wait $prog
wait_for 5 "uv-lookups started" test -s "$TEST_TMP/prog.out"
"$REPO/nodetap" dns --json -p $prog -d 30 >"$out" 2>"$TEST_TMP/stderr" &
nodetap=$!
on_exit kill_wait $nodetap
wait_for 10 "probes placed" grep -q '"type":"probe"' "$out"
touch "$go"
wait $prog || fail "uv-lookups failed"
kill -INT $nodetap
wait $nodetap || fail "nodetap exited $? after SIGINT: $(cat "$TEST_TMP/stderr")"
assert_jq "$out" 'select(.type=="dns_summary") | .count' $((2 * N)) "lookups counted (-p)"
assert_match "/proc/$prog/root/.*libuv\.so" "$(jq -r 'select(.type=="probe" and .function=="uv_getaddrinfo") | .file' "$out")" "file the probe went on (-p)"

# A stripped node: no .symtab, uv__getaddrinfo_done found from the code.
cp "$NODE" "$TEST_TMP/node-stripped"
strip --strip-all "$TEST_TMP/node-stripped"
out=$TEST_TMP/s.jsonl
"$REPO/nodetap" dns --json -- "$TEST_TMP/node-stripped" -e '
	const dns = require("dns"); let left = 4;
	for (let i = 0; i < 4; i++) dns.lookup("localhost", { family: 4 }, () => --left || console.error("done"));' \
	>"$out" 2>"$TEST_TMP/stderr" || fail "nodetap exited $?: $(cat "$TEST_TMP/stderr")"
assert_jq "$out" 'select(.type=="dns_summary") | .count' 4 "lookups of a stripped node"
