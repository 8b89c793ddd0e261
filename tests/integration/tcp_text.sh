#!/usr/bin/env bash
# timeout: 90
#
# The terminal output of nodetap tcp, and reports over time:
#   - a line per connection as it ends (the default), in the documented
#     columns, then the summary per (process, remote), then the loss line;
#   - a comm the process set itself (process.title) with an escape sequence
#     and a newline is shown escaped, in event lines and the summary: no raw
#     control byte reaches the terminal;
#   - --no-events: the summary alone;
#   - `interval count` with --json: count reports, the connections of each
#     interval add up to all of them; -d ends a run with its final report.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/netns.sh"
. "$TESTS_LIB/tcp.sh"

N=1234 M=4321 K=3
nt_netns_create
NS=$NT_NS
peer=$TESTS_LIB/tcp-peer.js
bg ip netns exec "$NS" "$NODE" "$peer" server --listen 127.0.0.1:8080 --reply $M --ready "$TEST_TMP/s.ready"
S=$BG_PID
wait_for 10 "server" test -s "$TEST_TMP/s.ready"
title=$'evil\e[31m\nname'

# Text: events (the default) for the server; --no-events; --all, where the
# client with its hostile comm shows up too.
run_text() { # OUT ARGS...
	local o=$1
	shift
	"$REPO/nodetap" tcp "$@" >"$o" 2>"$o.err" &
	BG_TEXT=$!
	on_exit kill_wait $BG_TEXT
	wait_for 10 "nodetap tcp started" grep -q "tracing TCP connections" "$o.err"
}
run_text "$TEST_TMP/events.txt" -p "$S"; T1=$BG_TEXT
run_text "$TEST_TMP/summary.txt" -p "$S" --no-events; T2=$BG_TEXT
run_text "$TEST_TMP/all.txt" --all; T3=$BG_TEXT
nt_tcp_start "$TEST_TMP/all.jsonl" --all
ip netns exec "$NS" "$NODE" "$peer" client --connect 127.0.0.1:8080 --conns $K --send $N --expect $M \
	--title "$title" --out "$TEST_TMP/c.json" || fail "client failed"
nt_tcp_wait_closed "$NS"
for p in $T1 $T2 $T3; do
	kill -INT $p
	wait $p || fail "nodetap tcp (text) exited $?"
done
nt_tcp_stop
CL=$(jqv "$TEST_TMP/c.json" .pid)
cat "$TEST_TMP/events.txt" >&2

ev=$TEST_TMP/events.txt
# Header, K lines, the summary title and one row, the loss line.
assert_match '^TIME\(s\) +PID +COMM +DIR +LOCAL +REMOTE +TX_BYTES +RX_BYTES +MS +RETRANS +RST_TX +RST_RX +END$' \
	"$(head -n 1 "$ev")" "event header"
lines=$(grep -cE "^[0-9]+\.[0-9]{6} +$S +node +in +127\.0\.0\.1:8080 +127\.0\.0\.1:[0-9]+ +$M +$N +[0-9]+\.[0-9]{2} +[0-9]+ +0 +0 +closed$" "$ev" || true)
assert_eq $K "$lines" "event lines of the server's $K connections (tx $M, rx $N, closed)"
assert_eq $((K + 1)) "$(grep -cvE '^$|^TCP connections|^PID |^[0-9]+ +node +127|^lost since' "$ev")" "lines of the events output besides the summary"
assert_match "^TCP connections closed over [0-9.]+ s: $K \(0 failed\), 1 process/remote pair; [0-9]+ still open$" \
	"$(grep '^TCP connections closed' "$ev")" "summary title"
assert_match "^$S +node +127\.0\.0\.1 +$K +0 +$((K * M)) +$((K * N)) +[0-9]+ +[0-9]+ +0 +0 +[0-9]+\.[0-9]{2}$" \
	"$(grep -E "^$S " "$ev")" "summary row"
assert_eq "lost since start: nothing" "$(tail -n 1 "$ev")" "loss line"

sm=$TEST_TMP/summary.txt
assert_eq 0 "$(grep -c '^TIME(s)' "$sm" || true)" "--no-events: event header"
assert_eq 0 "$(grep -cE '^[0-9]+\.[0-9]{6} ' "$sm" || true)" "--no-events: event lines"
assert_match "^$S +node +127\.0\.0\.1 +$K " "$(grep -E "^$S " "$sm")" "--no-events: summary row"

# The hostile comm: escaped in the terminal and in JSON, the same text; no
# control byte anywhere in nodetap's output.
esc='evil\x1b[31m\x0aname'
assert_eq "$esc" "$(jq -s -r --argjson p "$CL" '[.[] | select(.type=="tcp_conn" and .pid==$p)][0].comm' "$TEST_TMP/all.jsonl")" "comm in JSON"
# (awk -v would interpret the backslashes: the values go through ENVIRON.)
assert_eq $K "$(P=$CL C=$esc awk '$2 == ENVIRON["P"] && $3 == ENVIRON["C"] && $4 == "out"' "$TEST_TMP/all.txt" | wc -l)" \
	"event lines of the client, comm escaped"
assert_eq 1 "$(P=$CL C=$esc awk '$1 == ENVIRON["P"] && $2 == ENVIRON["C"] && $3 == "127.0.0.1" && $4 == '$K "$TEST_TMP/all.txt" | wc -l)" \
	"summary row of the client, comm escaped"
for f in "$ev" "$sm" "$TEST_TMP/all.txt" "$TEST_TMP/all.jsonl"; do
	if LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$f"; then fail "a raw control byte in $f"; fi
done

# interval count: 4 reports of 1 s each; the connections, spread over about
# 1.5 s, add up over the reports.
K2=6
"$REPO/nodetap" tcp --json --no-events -p "$S" 1 4 >"$TEST_TMP/iv.jsonl" 2>"$TEST_TMP/iv.err" &
IV=$!
on_exit kill_wait $IV
wait_for 10 "nodetap tcp attached" grep -q '"function":"tcp_receive_reset"' "$TEST_TMP/iv.jsonl"
ip netns exec "$NS" "$NODE" "$peer" client --connect 127.0.0.1:8080 --conns $K2 --pause-ms 250 \
	--send $N --expect $M --out "$TEST_TMP/c2.json" || fail "client failed"
wait $IV || fail "nodetap tcp 1 4 exited $?: $(cat "$TEST_TMP/iv.err")"
assert_eq 4 "$(jq -s '[.[] | select(.type=="report")] | length' "$TEST_TMP/iv.jsonl")" "reports"
assert_eq $K2 "$(jq -s '[.[] | select(.type=="report") | .connections] | add' "$TEST_TMP/iv.jsonl")" "connections over the reports"
assert_eq $K2 "$(jq -s '[.[] | select(.type=="tcp_summary") | .conns] | add' "$TEST_TMP/iv.jsonl")" "connections over the summaries"
assert_eq $((K2 * N)) "$(jq -s '[.[] | select(.type=="tcp_summary") | .rx_bytes] | add' "$TEST_TMP/iv.jsonl")" "bytes received over the summaries"
assert_ge "$(jq -s '[.[] | select(.type=="report" and .connections > 0)] | length' "$TEST_TMP/iv.jsonl")" 2 "reports with connections (the counts are per interval)"
assert_eq 0 "$(jq -s '[.[] | select(.type=="tcp_conn")] | length' "$TEST_TMP/iv.jsonl")" "--no-events: connection records"
assert_eq 4 "$(jq -s '[.[] | select(.type=="losses")] | length' "$TEST_TMP/iv.jsonl")" "loss records (one per report)"

# -d: the run ends by itself, with its final report.
start=$(now_ms)
"$REPO/nodetap" tcp --json -p "$S" -d 1 >"$TEST_TMP/d.jsonl" 2>"$TEST_TMP/d.err" || fail "nodetap tcp -d 1 exited $?: $(cat "$TEST_TMP/d.err")"
assert_lt $(($(now_ms) - start)) 5000 "ms for a 1 s run"
assert_jq "$TEST_TMP/d.jsonl" 'select(.type=="report") | .final' true "final report after -d"
