#!/usr/bin/env bash
# `make run`: nodetap dns on the bundled example app, or on what you name.
#   examples/run-demo.sh                 trace examples/app.js (about 4 s)
#   examples/run-demo.sh -p 1234 -d 10   any nodetap dns arguments instead
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -gt 0 ]; then
	exec ./nodetap dns "$@"
fi
echo "+ ./nodetap dns --stacks -- node --perf-basic-prof --interpreted-frames-native-stack examples/app.js" >&2
exec ./nodetap dns --stacks -- node --perf-basic-prof --interpreted-frames-native-stack examples/app.js
