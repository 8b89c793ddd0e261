#!/usr/bin/env bash
# Installs what building and testing nodetap needs, and only what is missing.
# Called by the Makefile before a build (deps-build) and by the test runner
# (deps-test); safe to run again: a second run installs nothing.
set -euo pipefail

# Debian packages a build needs: the BPF compiler, libbpf and bpftool for
# skeletons, libelf for symbol tables, libiberty for the C++ demangler,
# libmicrohttpd for the HTTP endpoint of `nodetap monitor`.
BUILD_PKGS=(clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libiberty-dev libmicrohttpd-dev make gcc pkg-config)
# What the tests need on top: iproute2 for network namespaces, jq to read
# nodetap's JSON, libuv1-dev for the test program that links a shared libuv,
# node and npm for the workloads and for fetching other node majors,
# libclang-rt-dev for libFuzzer and the sanitizer runtimes (make fuzz),
# libxml2-utils for xmllint (the heat map SVGs are well-formed XML), chromium
# to open the --html report and profile's SVG flame graphs in a real browser,
# prometheus to scrape `nodetap monitor` in its tests, curl to read /metrics,
# util-linux and mount for unshare -m and a private /tmp (the perf map tests).
TEST_PKGS=(iproute2 jq libuv1-dev nodejs npm procps libclang-rt-dev libxml2-utils chromium prometheus curl util-linux mount)
# What bench/ needs on top of the tests' (`scripts/deps.sh bench`, called by
# bench/run): bpftrace, the tool nodetap is compared with; wrk, the HTTP load
# of bench/loop_cost.sh; util-linux for unshare and taskset.
BENCH_PKGS=(bpftrace wrk util-linux)

missing=()
want=("${BUILD_PKGS[@]}")
case "${1:-build}" in
test) want+=("${TEST_PKGS[@]}") ;;
bench) want+=("${TEST_PKGS[@]}" "${BENCH_PKGS[@]}") ;;
esac
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node may come from elsewhere than Debian's nodejs package; a working node and
# npm on PATH is what matters.
if command -v node >/dev/null && command -v npm >/dev/null; then
	filtered=()
	for p in "${missing[@]}"; do
		case "$p" in nodejs|npm) ;; *) filtered+=("$p") ;; esac
	done
	missing=("${filtered[@]+"${filtered[@]}"}")
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages: ${missing[*]}; run as root or install them with apt-get" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# apt-cache and install need package lists; a fresh machine has none.
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
