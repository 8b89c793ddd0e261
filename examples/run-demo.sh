#!/usr/bin/env bash
# `make run`: nodetap dns on the bundled example app, or on what you name.
#   examples/run-demo.sh                 trace examples/app.js (about 4 s)
#   examples/run-demo.sh -p 1234 -d 10   any nodetap dns arguments instead
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -gt 0 ]; then
	exec "$repo/nodetap" dns "$@"
fi
# node --perf-basic-prof also writes V8's isolate-*-v8.log into the working
# directory: run it in a scratch one.
work=$(mktemp -d /tmp/nodetap-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
echo "+ nodetap dns --stacks -- node --perf-basic-prof --interpreted-frames-native-stack examples/app.js" >&2
"$repo/nodetap" dns --stacks -- node --perf-basic-prof --interpreted-frames-native-stack "$repo/examples/app.js"
