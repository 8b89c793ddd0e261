#!/usr/bin/env bash
# bench/dns_cost.sh: what `nodetap dns` costs a process that does nothing but
# DNS lookups (the worst case: every lookup hits three probes), and how long
# nodetap takes to attach. Rounds alternate untraced and traced runs of the
# same workload, so that the machine's drift hits both; reports the
# traced/untraced time ratio as min/median/max over rounds, and an
# untraced/untraced control pair per round for the noise floor.
#
#   bench/dns_cost.sh [ROUNDS] [LOOKUPS]     default 5 rounds of 2000 lookups
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh # make_var, stats, ratio
ROUNDS=${1:-5}
N=${2:-2000}
NODE=${NODE:-node}

ms() { "$@" | jq -r .ms; }
untraced=() traced=() control=() attach=()
for r in $(seq "$ROUNDS"); do
	a=$(ms "$NODE" bench/dns_storm.js "$N")
	b=$(./nodetap dns -- "$NODE" bench/dns_storm.js "$N" 2>/dev/null | grep '^{"lookups"' | jq -r .ms)
	c=$(ms "$NODE" bench/dns_storm.js "$N")
	untraced+=("$a") traced+=("$b") control+=("$c")
	# Time to probes attached: from start until the first probe record.
	f=$(mktemp)
	t0=$(date +%s%N)
	./nodetap dns --json -d 1 >"$f" 2>/dev/null &
	until grep -q '"type":"probe"' "$f"; do sleep 0.002; done
	attach+=($((($(date +%s%N) - t0) / 1000000)))
	wait
	rm -f "$f"
done
tr_r=() ct_r=()
for i in "${!untraced[@]}"; do
	tr_r+=("$(awk -v t="${traced[$i]}" -v u="${untraced[$i]}" 'BEGIN{printf "%.4f", t/u}')")
	ct_r+=("$(awk -v t="${control[$i]}" -v u="${untraced[$i]}" 'BEGIN{printf "%.4f", t/u}')")
done
per_lookup_us=$(printf '%s\n' "${!traced[@]}" | while read -r i; do
	awk -v t="${traced[$i]}" -v u="${untraced[$i]}" -v n="$N" 'BEGIN{printf "%.2f\n", (t-u)*1000/n}'; done | sort -g |
	awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "| figure | min / median / max over $ROUNDS rounds |"
echo "|---|---|"
echo "| dns storm ($N lookups): nodetap dns / untraced time | $(stats "${tr_r[@]}") |"
echo "| control: untraced / untraced time | $(stats "${ct_r[@]}") |"
echo "| added cost per lookup, us (median) | $per_lookup_us |"
echo "| nodetap dns start to first probe record, ms | $(stats "${attach[@]}") |"
