#!/usr/bin/env bash
# per-node: yes
# nodetap dns --heatmap FILE.svg against a workload whose DNS delay switches
# at a known moment: the test's DNS server answers shift.nodetap.test after
# 5 ms for its first 30 queries and after 50 ms from then on; a client makes
# 60 sequential lookups, paced over several seconds. The SVG's embedded data
# (not the picture) must show the band in the 4-8 ms rows before the switch
# and in the 48-64 ms rows after it, in the right columns, with every lookup
# counted once: each column holds between the lookups that lay entirely
# inside it and those that touched it (the client's own start and end times,
# on the same clock, bracket nodetap's).
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/netns.sh"

N=30   # lookups at each delay
nt_netns_create
nt_dns_start "$NT_NS" '{"shift.nodetap.test":{"a":"127.0.0.1","delay_ms":5,
	"then":{"after":30,"delay_ms":50}}}'

svg=$TEST_TMP/dns.svg
client=$TEST_TMP/client.json
"$REPO/nodetap" dns --heatmap "$svg" -- ip netns exec "$NT_NS" "$NODE" "$TESTS_LIB/dns-client.js" \
	--count $((2 * N)) --mode sequential --pace-ms 90 --per-lookup --out "$client" \
	shift.nodetap.test >"$TEST_TMP/stdout" 2>"$TEST_TMP/stderr" ||
	fail "nodetap exited $?: $(cat "$TEST_TMP/stderr")"
nt_dns_stop
assert_contains "heat map of $((2 * N)) events" "$(cat "$TEST_TMP/stderr")" "nodetap's closing line"

# Ground truth: the server switched after N queries, the client saw it.
assert_eq $((2 * N)) "$(nt_dns_count shift.nodetap.test A)" "server: A queries"
assert_jq "$client" '.names["shift.nodetap.test"].ok' $((2 * N)) "client: lookups that succeeded"
# A loaded machine may stretch a few 5 ms lookups: count those the client
# saw at 48 ms or more; nodetap's latency lies within the client's.
outliers=$(jqv "$client" "[.lookups | sort_by(.start_ns|tonumber) | .[:$N][] | select(.ms >= 48)] | length")
assert_jq "$client" "[.lookups | sort_by(.start_ns|tonumber) | .[$N:][] | select(.ms < 50)] | length" 0 \
	"client: fast lookups after the switch"
# The switch: the start of the first lookup that got the 50 ms answer. Every
# lookup before it ended before it (one at a time).
switch_ns=$(jqv "$client" ".lookups | sort_by(.start_ns|tonumber) | .[$N].start_ns")

# The SVG: well-formed XML with one hoverable <title> per cell, and the data.
xmllint --noout "$svg" ||
	fail "$svg is not well-formed XML"
data=$TEST_TMP/heatmap.json
sed -n '/<script type="application\/json" id="nodetap-heatmap-data">/,/<\/script>/p' "$svg" |
	sed '1d;$d' >"$data"
assert_jq "$data" '.format' nodetap-heatmap "embedded data"
assert_jq "$data" '.events' $((2 * N)) "events in the heatmap"
assert_jq "$data" '[.cells[][2]] | add' $((2 * N)) "sum of the cells"
assert_jq "$data" '.ringbuf_drops + .not_counted' 0 "events lost"
assert_jq "$data" '.column_ns' 1000000000 "column width"
assert_eq "$(jqv "$data" '.cells | length')" "$(grep -c '<rect [^>]*class="cell"[^>]*><title>[^<]*: [0-9]*</title></rect>' "$svg")" \
	"cells drawn with a <title> = cells in the data"
# The drawn cells carry the same numbers as the data (data-c, data-r, data-n).
assert_eq "$(jqv "$data" '.cells[] | map(tostring) | join(",")' | sort)" \
	"$(grep -o 'data-c="[0-9]*" data-r="[0-9]*" data-n="[0-9]*"' "$svg" | tr -dc '0-9 \n' | tr ' ' ',' | sort)" \
	"drawn cells = cells in the data"

# Each cell with its row bounds and its column's time span.
cells=$TEST_TMP/cells.json
jq -c '. as $d | [.cells[] | . as [$c, $r, $n] | ($d.rows[] | select(.row == $r)) as $row |
	{c: $c, n: $n, low: $row.low_ns, high: $row.high_ns,
	 from: ($d.start_ns + $c * $d.column_ns), to: ($d.start_ns + ($c + 1) * $d.column_ns)}]' \
	"$data" >"$cells"
q() { jqv "$cells" "$1" --argjson T "$switch_ns"; }

# The band: under 48 ms before the switch, 48 ms or more after it, and
# mostly in the rows 4-8 ms and 48-64 ms (a loaded machine may delay a few:
# $outliers fast lookups took 48 ms or more by the client's clock).
under=$(q '[.[] | select(.high <= 48000000) | .n] | add // 0')
assert_ge "$under" $((N - outliers)) "lookups in rows under 48 ms"
assert_le "$under" $N "lookups in rows under 48 ms"
assert_eq $((2 * N - under)) "$(q '[.[] | select(.low >= 48000000) | .n] | add')" "lookups in rows of 48 ms and more"
assert_eq 0 "$(q '[.[] | select(.low < 4000000) | .n] | add // 0')" "lookups in rows under 4 ms (the server waits 5)"
in_band=$(q '[.[] | select(.low >= 4000000 and .high <= 8192000) | .n] | add // 0')
assert_ge "$in_band" $((N / 2)) "lookups in the 4-8 ms rows"
in_band=$(q '[.[] | select(.low >= 48000000 and .high <= 65536000) | .n] | add // 0')
assert_ge "$in_band" $((N / 2)) "lookups in the 48-64 ms rows"
# ... in the right columns: fast ones in columns that began before the
# switch, slow ones in columns that ended after it; columns wholly before it
# hold only fast ones (and the outliers), wholly after it only slow ones.
assert_eq 0 "$(q '[.[] | select(.high <= 48000000 and .from >= $T) | .n] | add // 0')" "fast lookups in columns after the switch"
assert_le "$(q '[.[] | select(.low >= 48000000 and .to <= $T) | .n] | add // 0')" "$outliers" "slow lookups in columns before the switch"
# The band moves at the switch's column.
col_T=$(jqv "$data" '(($T - .start_ns) / .column_ns) | floor' --argjson T "$switch_ns")
last_fast=$(q '[.[] | select(.high <= 48000000) | .c] | max')
first_slow=$(q '[.[] | select(.low >= 48000000 and .to > $T) | .c] | min')
# (The last fast lookup ended up to 90 ms, the client's pace, before it.)
assert_match "^($((col_T - 1))|$col_T)$" "$last_fast" "last column with fast lookups (the switch is in column $col_T)"
assert_match "^($col_T|$((col_T + 1)))$" "$first_slow" "first column with slow lookups (the switch is in column $col_T)"
assert_ge "$(q '[.[] | select(.high <= 48000000) | .c] | unique | length')" 2 "columns with fast lookups"
assert_ge "$(q '[.[] | select(.low >= 48000000) | .c] | unique | length')" 3 "columns with slow lookups"

# Every column against the client's own times: nodetap's completion lies
# between the client's start and end of the same lookup.
ncols=$(jqv "$data" '.columns')
for ((c = 0; c < ncols; c++)); do
	from=$(jqv "$data" ".start_ns + $c * .column_ns")
	to=$((from + 1000000000))
	got=$(q "[.[] | select(.c == $c) | .n] | add // 0")
	inside=$(jqv "$client" "[.lookups[] | select((.start_ns|tonumber) >= $from and (.end_ns|tonumber) < $to)] | length")
	touching=$(jqv "$client" "[.lookups[] | select((.end_ns|tonumber) >= $from and (.start_ns|tonumber) < $to)] | length")
	assert_ge "$got" "$inside" "column $c: lookups at least those wholly inside it"
	assert_le "$got" "$touching" "column $c: lookups at most those that touch it"
done
log "switch in column $col_T; $ncols columns; $(stat -c %s "$svg") bytes of SVG"
