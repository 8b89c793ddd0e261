#!/usr/bin/env bash
# nodetap dns --heatmap - draws a line per time column as each column ends.
# The workload of heatmap_dns_shift (5 ms answers for 20 queries, 50 ms
# after) runs three times: with stdout to a file (plain characters), on a
# pseudo-terminal made by script(1) (ANSI 256-colour cells), and on that
# terminal with NO_COLOR=1 (plain again). Checked: the lines' shape, the
# marks in the cells of 4-8 ms before the switch and of 32-64 ms after it,
# in that order, and the column counts adding up to the lookups made.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/netns.sh"

N=20
nt_netns_create
run() { # run OUTFILE [script]: one traced workload; a fresh server each time
	local out=$1 how=${2:-file} cmd
	nt_dns_start "$NT_NS" '{"shift.nodetap.test":{"a":"127.0.0.1","delay_ms":5,
		"then":{"after":'$N',"delay_ms":50}}}'
	cmd="$REPO/nodetap dns --heatmap - -- ip netns exec $NT_NS $NODE $TESTS_LIB/dns-client.js \
--count $((2 * N)) --mode sequential --pace-ms 90 --out $TEST_TMP/client.json shift.nodetap.test"
	if [ "$how" = file ]; then
		$cmd >"$out" 2>"$TEST_TMP/stderr" || fail "nodetap exited $?: $(cat "$TEST_TMP/stderr")"
	else
		# script(1) gives nodetap a terminal; its own output goes to $out.
		script -qec "$cmd" /dev/null >"$out" 2>"$TEST_TMP/stderr" </dev/null ||
			fail "nodetap under script exited $?: $(cat "$TEST_TMP/stderr")"
		sed -i 's/\r$//' "$out"
	fi
	kill_wait "$NT_DNS_PID"
	assert_jq "$TEST_TMP/client.json" '.names["shift.nodetap.test"].ok' $((2 * N)) "client: lookups ($how)"
}

# check_plain FILE: the plain form. Cells 28-31 are 4.1-8.2 ms (octave 12 of
# microseconds, 4 cells per octave from 32 us), 40-43 are 32.8-65.5 ms.
check_plain() {
	local f=$1 lines total fast_last slow_first
	grep -q $'\033' "$f" && fail "$f: escape sequences in plain output"
	lines=$TEST_TMP/lines
	grep -E '^ *[0-9]+\.[0-9]\|.{64}\| [0-9]+$' "$f" >"$lines" || fail "$f: no heatmap lines: $(cat "$f")"
	assert_contains "' .:-=+*#%@'" "$(grep 'heat map: a line per 1 s column' "$f")" "$f: legend"
	# Only the characters of the scale inside the cells.
	assert_eq 0 "$(cut -d'|' -f2 "$lines" | grep -c '[^ .:=+*#%@-]' || true)" "$f: other characters in cells"
	total=$(awk '{ s += $NF } END { print s }' "$lines")
	assert_eq $((2 * N)) "$total" "$f: sum of the column counts"
	# Nothing under 4 ms (the server waits 5 ms). Marks under 49 ms (cells
	# up to 41) are fast lookups for sure, and they stop before the marks of
	# the slow band (32-64 ms, cells 40-43) do; a loaded machine may push a
	# fast lookup anywhere to the right, so counts of lines, not positions,
	# carry the bands.
	assert_eq 0 "$(cut -d'|' -f2 "$lines" | cut -c1-28 | tr -d ' \n' | wc -c)" "$f: marks under 4 ms"
	fast_last=$(cut -d'|' -f2 "$lines" | cut -c29-42 | grep -n '[^ ]' | tail -1 | cut -d: -f1)
	slow_last=$(cut -d'|' -f2 "$lines" | cut -c41-44 | grep -n '[^ ]' | tail -1 | cut -d: -f1)
	[ -n "$fast_last" ] && [ -n "$slow_last" ] || fail "$f: a band is missing: $(cat "$lines")"
	assert_lt "$fast_last" "$slow_last" "$f: the last line with a lookup under 49 ms, before the last of the 32-64 ms band"
	assert_ge "$(cut -d'|' -f2 "$lines" | cut -c29-32 | grep -c '[^ ]')" 2 "$f: lines with marks in 4-8 ms"
	assert_ge "$(cut -d'|' -f2 "$lines" | cut -c41-44 | grep -c '[^ ]')" 3 "$f: lines with marks in 32-64 ms"
	assert_ge "$(wc -l <"$lines")" 4 "$f: lines (one per second of a 4 s and more workload)"
	assert_contains "$((2 * N)) events" "$(cat "$f")" "$f: closing line"
}

run "$TEST_TMP/plain.txt"
check_plain "$TEST_TMP/plain.txt"

NO_COLOR=1 run "$TEST_TMP/nocolor.txt" script
check_plain "$TEST_TMP/nocolor.txt"

run "$TEST_TMP/colour.txt" script
grep -q $'\033\\[48;5;[0-9]*m' "$TEST_TMP/colour.txt" || fail "no 256-colour cells on a terminal: $(cat -v "$TEST_TMP/colour.txt")"
# Strip the colours: every line still has 64 cells between the bars.
sed 's/\x1b\[[0-9;]*m//g' "$TEST_TMP/colour.txt" >"$TEST_TMP/colour-stripped.txt"
colour_lines=$(grep -cE '^ *[0-9]+\.[0-9]\|.{64}\| [0-9]+$' "$TEST_TMP/colour-stripped.txt" || true)
assert_ge "$colour_lines" 4 "colour lines"
assert_eq $((2 * N)) "$(grep -E '^ *[0-9]+\.[0-9]\|.{64}\| [0-9]+$' "$TEST_TMP/colour-stripped.txt" |
	awk '{ s += $NF } END { print s }')" "colour: sum of the column counts"
