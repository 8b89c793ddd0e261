#!/usr/bin/env bash
# timeout: 120
# nodetap monitor --log: JSON lines of node processes appearing, exiting and
# leaving the metrics, and of the probes placed, rotated by size (FILE.1 keeps
# the previous file); SIGHUP reopens FILE (after logrotate moved it) and
# rescans processes. The log is host-wide (other node processes of this
# machine write to it too): the test copies both files every 0.2 s, so that
# its own records are seen whatever rotation does meanwhile.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/monitor.sh"

LOG=$TEST_TMP/events.jsonl
MAX=4096
P=16    # short-lived node processes: 3 records each, ~1.5 files of MAX

nt_monitor_start --log "$LOG" --log-max-bytes $MAX --grace 1
CAP=$TEST_TMP/captured.jsonl
capture() { while :; do cat "$LOG.1" "$LOG" 2>/dev/null >>"$CAP" || true; sleep 0.2; done; }
capture &
capturer=$!
on_exit kill_wait $capturer
pids=()
for ((i = 0; i < P; i++)); do
	"$NODE" -e 'setTimeout(() => {}, 300)' &
	pids+=($!)
	wait $!
done
all_removed() {
	local p
	for p in "${pids[@]}"; do
		grep -q "\"type\":\"monitor_process\".*\"pid\":$p,.*\"event\":\"removed\"" "$CAP" || return 1
	done
}
wait_for 30 "every process removed, in the log" all_removed

# Rotated: two files, each at most MAX plus the record that crossed it.
test -s "$LOG.1" || fail "no $LOG.1 after $P processes with --log-max-bytes $MAX"
assert_le "$(stat -c %s "$LOG.1")" $((MAX + 512)) "bytes in $LOG.1"
assert_le "$(stat -c %s "$LOG")" $((MAX + 512)) "bytes in $LOG"
# Every line one JSON object with a type; each process appeared, exited,
# was removed, in that order.
kill_wait $capturer
sort -u "$CAP" | jq -sc 'sort_by(.time_ns) | .[]' >"$TEST_TMP/all.jsonl"
assert_eq 0 "$(jq -c 'select(.type | type != "string")' "$TEST_TMP/all.jsonl" | wc -l)" "records without a type"
for p in "${pids[@]}"; do
	assert_eq "appeared exited removed" \
		"$(jq -r --argjson p "$p" 'select(.type=="monitor_process" and .pid==$p) | .event' "$TEST_TMP/all.jsonl" | xargs)" \
		"events of pid $p"
done

# SIGHUP after logrotate moved the file: new records go to a new FILE.
mv "$LOG" "$LOG.moved"
rm -f "$LOG.1"
kill -HUP "$NT_MON_PID"
wait_for 10 "the log reopened" test -e "$LOG"
"$NODE" -e 'setTimeout(() => {}, 300)' &
late=$!
wait $late
appeared() { grep -q "\"pid\":$late,.*\"event\":\"appeared\"" "$LOG"; }
wait_for 10 "pid $late in the reopened log" appeared
assert_eq 0 "$(grep -c "\"pid\":$late," "$LOG.moved" || true)" "records of pid $late in the moved file"
assert_contains "SIGHUP: rescanning processes, reopening the log" "$(cat "$NT_MON_ERR")" "monitor's message on SIGHUP"
kill_wait "$NT_MON_PID" TERM 10
