#!/usr/bin/env bash
# bench/profile_cost.sh [ROUNDS] [ITERS]: what `nodetap profile` costs a busy
# node process. Each round runs the same CPU-bound node loop (ITERS
# iterations of integer arithmetic, default 2e8) three times: untraced,
# traced by `nodetap profile -p` at 99 Hz, and at 1000 Hz, in an order that
# rotates every round; the loop reports its own CPU time (user + system,
# process.cpuUsage). Prints the median CPU time of each and the ratios to
# untraced, and nodetap's own CPU time per second of sampling.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
ITERS=${2:-200000000}
NT=./nodetap
NODE=${NODE:-node}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The loop starts 1.5 s after node does: nodetap attaches meanwhile.
work='const n = +process.argv[1]; setTimeout(() => { const c0 = process.cpuUsage(); let a = 1;
for (let i = 0; i < n; i++) a = (a * 31 + i) % 1000003;
const c = process.cpuUsage(c0); console.log(((c.user + c.system) / 1000).toFixed(1), a > -1 ? "" : "-"); }, 1500);'

# run_one HZ: prints the loop's CPU ms, and nodetap's CPU ms per second
# (0 untraced).
run_one() {
	local hz=$1 nt=0 ntcpu=0 t0 t1
	"$NODE" -e "$work" "$ITERS" >"$tmp/out" &
	local app=$!
	t0=$(date +%s%N)
	if [ "$hz" != 0 ]; then
		"$NT" profile -p $app -F "$hz" >/dev/null 2>"$tmp/nt.err" &
		nt=$!
	fi
	wait $app
	t1=$(date +%s%N)
	if [ "$nt" != 0 ]; then
		ntcpu=$(awk '{ print ($14 + $15) * 1000 / '"$(getconf CLK_TCK)"' }' /proc/$nt/stat)
		kill -INT $nt
		wait $nt || true
		ntcpu=$(awk -v c="$ntcpu" -v s="$(( (t1 - t0) / 1000000 ))" 'BEGIN { printf "%.1f", c / (s / 1000) }')
	fi
	echo "$(awk '{ print $1 }' "$tmp/out") $ntcpu"
}

declare -a base f99 f1000 nt99 nt1000
for r in $(seq 1 "$ROUNDS"); do
	case $((r % 3)) in
	0) order="0 99 1000" ;; 1) order="99 1000 0" ;; *) order="1000 0 99" ;;
	esac
	for hz in $order; do
		read -r ms ntc < <(run_one "$hz")
		case $hz in
		0) base+=("$ms") ;;
		99) f99+=("$ms"); nt99+=("$ntc") ;;
		1000) f1000+=("$ms"); nt1000+=("$ntc") ;;
		esac
	done
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
b=$(median "${base[@]}") a=$(median "${f99[@]}") c=$(median "${f1000[@]}")
echo "node loop CPU ms, median of $ROUNDS: untraced $b, profile 99 Hz $a ($(awk -v x="$a" -v y="$b" 'BEGIN { printf "%.3f", x / y }')x), profile 1000 Hz $c ($(awk -v x="$c" -v y="$b" 'BEGIN { printf "%.3f", x / y }')x)"
echo "untraced runs: ${base[*]}; 99 Hz: ${f99[*]}; 1000 Hz: ${f1000[*]}"
echo "nodetap's own CPU ms per second (includes start-up): 99 Hz $(median "${nt99[@]}"), 1000 Hz $(median "${nt1000[@]}")"
