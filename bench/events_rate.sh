#!/usr/bin/env bash
# bench/events_rate.sh: per-event mode's limit. How many lookups a second
# `nodetap dns --events` reports one by one without dropping any, and whether
# what it reports past that rate adds up: events printed + losses reported
# must equal the lookups the workload made, its own count (ground truth).
# Two losses leave a lookup without its line: a full ring buffer
# (ring_buffer_drops) and a full in-flight table (inflight_full, 16384
# lookups in flight at once).
#
#   bench/events_rate.sh [SECONDS] [START_RATE] [PROCS]
#                                default 3 s per step, 1000 a second, 2 processes
#
# PROCS node processes (bench/workload.js paced, spread over the CPUs) make
# RATE lookups a second between them, each started by a signal once nodetap
# dns --events --json -p PID,... has its probes placed; nodetap writes to a
# file and is not pinned (it shares the machine with the workload, as on a
# busy host). RATE doubles from START_RATE until nodetap reports drops or the
# workload cannot make the rate asked (90% of it); then one more run at twice
# the highest rate without drops. Every run is checked against the ground
# truth, drops or not.
# shellcheck disable=SC2046,SC2086  # lists of numbers are split into arguments on purpose
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
SECS=${1:-3}
RATE=${2:-1000}
PROCS=${3:-2}
MAX_RATE=128000
NODE=${NODE:-node}
NODE=$(command -v "$NODE")
bench_init events
make -s nodetap >/dev/null
ncpu=$(nproc)

# step RATE: one run; appends "asked made events ringdrops/inflightfull
# made_per_second" to $SCRATCH/steps.
step() {
	local rate=$1 i pids=() nt made=0 ms=0 events drops
	for ((i = 0; i < PROCS; i++)); do
		start_workload $((i % ncpu)) "$SCRATCH/wl$i" paced "$SECS" \
			"$(awk -v r="$rate" -v p="$PROCS" 'BEGIN { print r / p }')"
		pids+=("$WL_PID")
	done
	./nodetap dns --events --json -p "$(IFS=,; echo "${pids[*]}")" >"$SCRATCH/nt.json" 2>"$SCRATCH/nt.err" &
	nt=$!
	bench_track "$nt"
	for _ in $(seq 1500); do
		[ "$(grep -c '"type":"probe".*"placed":true' "$SCRATCH/nt.json" 2>/dev/null)" -ge $((3 * PROCS)) ] && break
		kill -0 "$nt" 2>/dev/null || break
		sleep 0.02
	done
	[ "$(grep -c '"type":"probe".*"placed":true' "$SCRATCH/nt.json" 2>/dev/null)" -ge $((3 * PROCS)) ] ||
		{ echo "events_rate.sh: nodetap did not attach: $(cat "$SCRATCH/nt.err" "$SCRATCH/nt.json")" >&2; exit 1; }
	kill -USR2 "${pids[@]}"
	wait "${pids[@]}"
	kill -INT "$nt"
	wait "$nt" || { echo "events_rate.sh: nodetap failed: $(cat "$SCRATCH/nt.err")" >&2; exit 1; }
	for ((i = 0; i < PROCS; i++)); do
		made=$((made + $(workload_field "$SCRATCH/wl$i" lookups)))
		ms=$(awk -v a="$ms" -v b="$(workload_field "$SCRATCH/wl$i" ms)" 'BEGIN { print (b > a) ? b : a }')
	done
	events=$(grep -c '"type":"dns_lookup"' "$SCRATCH/nt.json" || true)
	drops=$(jq -r 'select(.type == "losses") | "\(.ring_buffer_drops)/\(.inflight_full)"' "$SCRATCH/nt.json" | tail -1)
	# The rate made: all lookups over the longest run (a workload that falls
	# behind catches up after its SECONDS, and takes longer).
	echo "$rate $made $events ${drops:-?} $(awk -v n="$made" -v ms="$ms" 'BEGIN { printf "%d", n * 1000 / ms }')" >>"$SCRATCH/steps"
}

best=0 best_made=0
rate=$RATE
while :; do
	step "$rate"
	read -r _ _ _ drops made_rate < <(tail -1 "$SCRATCH/steps")
	[ "$drops" = 0/0 ] || break
	# The workload's own ceiling: it could not make 90% of the rate asked.
	if [ $((made_rate * 10)) -lt $((rate * 9)) ]; then
		ceiling=$rate
		break
	fi
	best=$rate best_made=$made_rate
	[ $((rate * 2)) -le $MAX_RATE ] || break
	rate=$((rate * 2))
done
[ "$best" -gt 0 ] && [ $((best * 2)) != "$rate" ] && step $((best * 2))

echo "$PROCS node processes, $SECS s per step; nodetap dns --events --json -p writing to a file, unpinned."
echo
echo "| lookups/s asked | lookups/s made | lookups made (ground truth) | events printed | ring buffer drops | in-flight table full | events + losses = lookups? |"
echo "|---:|---:|---:|---:|---:|---:|---|"
while read -r asked made events drops made_rate; do
	ok=no
	rb=${drops%/*} inf=${drops#*/}
	[ "$drops" != "?" ] && [ $((events + rb + inf)) = "$made" ] && ok=yes
	echo "| $asked | $made_rate | $made | $events | $rb | $inf | $ok |"
done <"$SCRATCH/steps"
echo
if [ "$best" = 0 ]; then
	echo "Drops from the first rate on ($RATE a second)."
else
	echo "Highest rate with zero drops: $best lookups a second asked, $best_made made ($((best_made * 3)) probe hits a second)."
	last_made=$(tail -1 "$SCRATCH/steps" | awk '{print $5}')
	[ $((last_made * 10)) -ge $((best_made * 18)) ] ||
		echo "The last row could not reach twice that rate: the workloads made $last_made a second of the $((best * 2)) asked."
fi
[ -n "${ceiling:-}" ] && echo "At $ceiling a second the workload could not keep up (it made less than 90% of that rate); the last row at twice the best rate shows the same."
true
