#!/usr/bin/env bash
# bench/monitor_cost.sh [SECONDS]: what `nodetap monitor` itself costs, in
# two situations measured one after the other (default 60 s each):
#   idle    in a pid namespace of its own (unshare -p -f --mount-proc): no node
#           process to watch, but the exec events of the whole host still
#           arrive (the agent's floor on this host);
#   host    host-wide: every node process of the machine, those that start
#           and exit meanwhile included (counted from its --log).
# For each: CPU (utime+stime from /proc/PID/stat over the window), VmRSS,
# the /metrics size, and 21 scrapes timed by curl (min/median/max), then the
# CPU 100 scrapes cost. Prints a markdown table. Run as root, from the repo.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-60}
NT=./nodetap
TMP=$(mktemp -d /tmp/nodetap-bench-monitor.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
. bench/lib.sh # free_port

# measure NAME PORT PID: one row of the table.
measure() {
	local name=$1 port=$2 pid=$3 t0 t1 c0 c1 lines bytes scrape execs=
	until curl -sf "127.0.0.1:$port/healthz" >/dev/null; do sleep 0.2; done
	sleep 2
	t0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
	sleep "$SECS"
	t1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
	lines=$(curl -s "127.0.0.1:$port/metrics" | grep -vc '^#')
	bytes=$(curl -s "127.0.0.1:$port/metrics" | wc -c)
	scrape=$(for _ in $(seq 21); do curl -s -o /dev/null -w '%{time_total}\n' "127.0.0.1:$port/metrics"; done |
		sort -n | awk '{a[NR] = $1 * 1000} END {printf "%.1f / %.1f / %.1f", a[1], a[11], a[21]}')
	c0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
	for _ in $(seq 100); do curl -s -o /dev/null "127.0.0.1:$port/metrics"; done
	c1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
	[ -f "$TMP/$name.jsonl" ] && execs=$(grep -c '"event":"appeared"' "$TMP/$name.jsonl" || true)
	printf '| %s | %.2f s | %s | %s ms | %s lines, %s bytes | %.1f ms | %s |\n' "$name" \
		"$(echo "($t1 - $t0) / $(getconf CLK_TCK)" | bc -l)" \
		"$(awk '/VmRSS/ {printf "%.1f MB", $2 / 1024}' "/proc/$pid/status")" "$scrape" "$lines" "$bytes" \
		"$(echo "($c1 - $c0) * 1000 / $(getconf CLK_TCK) / 100" | bc -l)" "${execs:--}"
}

echo "| situation | CPU in ${SECS} s | RSS | scrape min / median / max | /metrics | CPU per scrape | node processes appeared |"
echo "|---|---|---|---|---|---|---|"
port=$(free_port)
unshare -p -f --mount-proc "$NT" monitor --listen "127.0.0.1:$port" 2>"$TMP/idle.err" &
pids+=($!)
until pid=$(pgrep -P "${pids[-1]}" -x nodetap); do sleep 0.1; done
measure idle "$port" "$pid"
port=$(free_port)
"$NT" monitor --listen "127.0.0.1:$port" --log "$TMP/host.jsonl" --log-max-bytes 1000000000 2>"$TMP/host.err" &
pids+=($!)
measure host "$port" "${pids[-1]}"
