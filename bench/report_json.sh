#!/usr/bin/env bash
# bench/report_json.sh REPORT.md: the report bench/run writes, as one JSON
# object for programs: {"title": the first line, "sections": [{"title",
# "tables": [[{header: cell, ...} per row]], "notes": [other lines]}]}.
# Cells stay strings, as printed ("0.906 / 0.919 / 0.940" is min / median /
# max); the markdown report is the one to read.
set -euo pipefail
[ $# = 1 ] || { echo "usage: bench/report_json.sh REPORT.md" >&2; exit 2; }
jq -R -n '
	def cells: ltrimstr("|") | rtrimstr("|") | split("|") | map(gsub("^ +| +$"; ""));
	reduce inputs as $l (
		{title: null, sections: [], header: null};
		if ($l | length) == 0 then .header = null
		elif ($l | startswith("# ")) then .title = ($l | ltrimstr("# "))
		elif ($l | startswith("## ")) then
			.sections += [{title: ($l | ltrimstr("## ")), tables: [], notes: []}] | .header = null
		elif (.sections | length) == 0 then .
		elif ($l | startswith("|")) then
			($l | cells) as $c |
			if .header == null then .header = $c | .sections[-1].tables += [[]]
			elif ($c | all(test("^:?-+:?$"))) then .
			else .header as $h |
				.sections[-1].tables[-1] += [[range($c | length)] | map({key: ($h[.] // "col\(.)"), value: $c[.]}) | from_entries]
			end
		else .header = null | .sections[-1].notes += [$l]
		end
	) | del(.header)' "$1"
