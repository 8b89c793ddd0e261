# netns.sh: network namespaces for the integration tests. Source it after
# common.sh. Every function here registers its own cleanup with on_exit, so a
# failing or interrupted test leaves no namespace, /etc/netns entry, veth or
# server behind. Call these functions directly, never inside $(...): a subshell
# would lose the cleanup registration (they refuse to run there).
#
#   nt_netns_create [VAR]      new namespace nt-$$-N with lo up; sets $NT_NS or VAR
#   nt_dns_start NS ZONE_JSON  DNS server (dns-server.js) on 127.0.0.1:53 in NS
#   nt_dns_stop                stop it; its counts are then in $NT_DNS_COUNTS
#   nt_dns_snapshot            counts so far into $NT_DNS_COUNTS, server keeps running
#   nt_netns_peer NS DELAY_MS [LOSS]
#                              second namespace, DELAY_MS away (TUN delay line),
#                              optionally losing TCP data segments
#   nt_delayline_stats [PID FILE]  the delay line's packet counts so far (JSON)
#
# Resolver setup inside a namespace made here (see the comments in
# nt_netns_create for why): /etc/netns/NS/resolv.conf points at 127.0.0.1 with
# "options timeout:1 attempts:1" ($NT_RESOLV_OPTIONS overrides the options),
# nsswitch.conf resolves hosts with "files dns", and lo carries 127.0.0.2 as well
# as 127.0.0.1 so that getaddrinfo's AI_ADDRCONFIG sees an IPv4 address.

NT_NETNS_SEQ=0
NT_RESOLV_OPTIONS=${NT_RESOLV_OPTIONS:-timeout:1 attempts:1}
# v4: add 127.0.0.2 to lo (default); none: only 127.0.0.1 and ::1 on lo, so
# every AI_ADDRCONFIG lookup of an IPv4 family fails without a query.
NT_NETNS_ADDRCONFIG=${NT_NETNS_ADDRCONFIG:-v4}

_nt_not_in_subshell() {
	[ "$BASHPID" = "$$" ] || fail "$1 must not run in a subshell or \$(...): its cleanup would be lost"
}

# nt_netns_create [VAR]: creates a namespace with lo up and its own resolver
# files, and removes it all at exit. Sets VAR (default NT_NS) to its name.
nt_netns_create() {
	_nt_not_in_subshell nt_netns_create
	local ns
	NT_NETNS_SEQ=$((NT_NETNS_SEQ + 1))
	ns=nt-$$-$NT_NETNS_SEQ
	# Register the cleanup before creating anything, so a half-made namespace
	# is removed too.
	on_exit nt_netns_delete "$ns"
	ip netns add "$ns" || fail "ip netns add $ns failed"
	ip -n "$ns" link set lo up
	case $NT_NETNS_ADDRCONFIG in
	v4)
		# glibc's AI_ADDRCONFIG (which getent ahosts/ahostsv4 use) ignores
		# 127.0.0.1 and ::1 when it looks for configured addresses: with only
		# those, getaddrinfo(AF_INET, AI_ADDRCONFIG) fails with EAI_NONAME
		# and sends no query at all. A second loopback address counts.
		ip -n "$ns" addr add 127.0.0.2/8 dev lo ;;
	none) ;;
	*) fail "NT_NETNS_ADDRCONFIG must be v4 or none, not '$NT_NETNS_ADDRCONFIG'" ;;
	esac
	# `ip netns exec` bind-mounts every file in /etc/netns/NAME over /etc.
	mkdir -p "/etc/netns/$ns"
	printf 'nameserver 127.0.0.1\noptions %s\n' "$NT_RESOLV_OPTIONS" >"/etc/netns/$ns/resolv.conf"
	# Hosts through files and DNS only, whatever the machine's nsswitch says
	# (resolved, mdns, myhostname would bypass or precede the test server).
	if [ -f /etc/nsswitch.conf ]; then
		sed -E 's/^hosts:.*/hosts: files dns/' /etc/nsswitch.conf >"/etc/netns/$ns/nsswitch.conf"
	fi
	printf -v "${1:-NT_NS}" '%s' "$ns"
	log "netns $ns created"
}

# nt_netns_delete NS: kills what still runs in NS, deletes it and its
# /etc/netns directory. Registered by nt_netns_create; safe to call twice.
nt_netns_delete() {
	local ns=$1 pids i
	if ip netns list | awk '{print $1}' | grep -qxF "$ns"; then
		for i in 1 2 3 4 5 6 7 8 9 10; do
			pids=$(ip netns pids "$ns" 2>/dev/null || true)
			[ -n "$pids" ] || break
			if [ $i -lt 8 ]; then
				# shellcheck disable=SC2086
				kill -TERM $pids 2>/dev/null || true
			else
				log "processes in $ns survive TERM: KILL $pids"
				# shellcheck disable=SC2086
				kill -KILL $pids 2>/dev/null || true
			fi
			sleep 0.1
		done
		ip netns del "$ns" || log "ip netns del $ns failed"
	fi
	rm -rf "/etc/netns/$ns"
}

# nt_ns NS CMD [ARGS...]: runs CMD inside NS (with NS's resolver files).
nt_ns() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# nt_dns_start NS ZONE_JSON [dns-server.js args...]: starts the test DNS server
# on 127.0.0.1:53 inside NS, waits (at most 10 s) until it answers a query, and
# stops it at exit. Sets NT_DNS_PID, NT_DNS_COUNTS (the counts file, written when
# the server stops or on nt_dns_snapshot), NT_DNS_LOG (one JSON line per query)
# and NT_DNS_OUT (the server's stdout and stderr).
nt_dns_start() {
	_nt_not_in_subshell nt_dns_start
	local ns=$1 zone=$2
	shift 2
	local base=$TEST_TMP/dns-$ns
	NT_DNS_COUNTS=$base.counts.json
	NT_DNS_LOG=$base.queries.jsonl
	NT_DNS_OUT=$base.out
	rm -f "$base.ready" "$NT_DNS_COUNTS" "$NT_DNS_LOG"
	# `ip netns exec` execs the command: the pid is node's own.
	ip netns exec "$ns" "$NODE" "$TESTS_LIB/dns-server.js" --zone "$zone" \
		--counts "$NT_DNS_COUNTS" --log "$NT_DNS_LOG" --ready "$base.ready" "$@" \
		>"$NT_DNS_OUT" 2>&1 &
	NT_DNS_PID=$!
	on_exit kill_wait "$NT_DNS_PID"
	_nt_dns_ready() {
		kill -0 "$NT_DNS_PID" 2>/dev/null || fail "dns-server exited at start: $(cat "$NT_DNS_OUT")"
		[ -s "$base.ready" ] || return 1
		# A real query through c-ares: any answer (NXDOMAIN here) means the
		# server is up; a refusal or timeout means not yet.
		ip netns exec "$ns" "$NODE" -e '
			const r = new (require("dns").Resolver)({ timeout: 300, tries: 1 });
			r.setServers(["127.0.0.1"]);
			r.resolve4("ready.nodetap.invalid", (e) =>
				process.exit(!e || e.code === "ENOTFOUND" ? 0 : 1));'
	}
	local deadline=$(($(date +%s) + 10))
	until _nt_dns_ready; do
		[ "$(date +%s)" -lt $deadline ] || fail "dns-server in $ns did not answer within 10 s: $(cat "$NT_DNS_OUT")"
		sleep 0.05
	done
	log "dns-server pid $NT_DNS_PID answers in $ns"
}

# nt_dns_stop: stops the server (TERM); it writes its counts to $NT_DNS_COUNTS.
nt_dns_stop() {
	kill_wait "$NT_DNS_PID"
	[ -s "$NT_DNS_COUNTS" ] || fail "dns-server wrote no counts to $NT_DNS_COUNTS: $(cat "$NT_DNS_OUT")"
}

# nt_dns_snapshot: the counts so far into $NT_DNS_COUNTS; the server goes on.
nt_dns_snapshot() {
	rm -f "$NT_DNS_COUNTS"
	kill -USR1 "$NT_DNS_PID" || fail "dns-server (pid $NT_DNS_PID) is gone"
	wait_for 5 "dns-server counts in $NT_DNS_COUNTS" test -s "$NT_DNS_COUNTS"
}

# nt_dns_count NAME TYPE: queries of (NAME, TYPE) in $NT_DNS_COUNTS (0 if none).
nt_dns_count() {
	jqv "$NT_DNS_COUNTS" '.queries[$n][$t] // 0' --arg n "$1" --arg t "$2"
}

# nt_closing_server NS PORT: a node server on 127.0.0.1:PORT inside NS that
# accepts each connection and ends it at once (a connect's peer); waits (at
# most 10 s) until it accepts, and stops it at exit.
nt_closing_server() {
	_nt_not_in_subshell nt_closing_server
	local ns=$1 port=$2
	bg ip netns exec "$ns" "$NODE" -e '
		const net = require("net");
		net.createServer((s) => { s.on("error", () => {}); s.end(); })
			.listen(Number(process.argv[1]), "127.0.0.1");
		setTimeout(() => process.exit(0), 60000);' "$port"
	wait_for 10 "server listening on $port in $ns" \
		ip netns exec "$ns" bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
}

NT_PEER_SEQ=0

# nt_delayline_bin: builds tests/lib/delayline.c into build/test-bin/ when the
# binary is missing or older than its source; prints the binary's path.
nt_delayline_bin() {
	local src=$TESTS_LIB/delayline.c bin=$REPO/build/test-bin/delayline tmp
	if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ]; then
		mkdir -p "${bin%/*}"
		tmp=$(mktemp "$bin.XXXXXX")
		cc -O2 -Wall -Wextra -Werror -o "$tmp" "$src" >&2 || { rm -f "$tmp"; fail "cannot build $src"; }
		mv -f "$tmp" "$bin"
	fi
	echo "$bin"
}

# nt_netns_peer NS DELAY_MS [LOSS]: makes a second namespace (as
# nt_netns_create does) joined to NS by a point-to-point link that adds
# DELAY_MS to every packet from NS to the peer, so every round trip (a TCP
# handshake, a request and its answer) takes DELAY_MS longer. This kernel has
# no sch_netem, so the link is a pair of TUN devices with
# tests/lib/delayline.c copying packets between them. LOSS, if given, is the
# delay line's -l: "ab:EVERY[:MAX]" drops every EVERY-th TCP segment with
# payload from NS to the peer (at most MAX), "ba:..." the other way. The delay
# line also counts the TCP segments it forwards each way, and the
# retransmissions it sees: nt_delayline_stats. Addresses come from TEST-NET-1
# (192.0.2.0/24, RFC 5737), which exists only inside these namespaces. Sets:
#   NT_PEER_NS         the peer namespace
#   NT_LOCAL_ADDR      NS's end of the link
#   NT_PEER_ADDR       the peer's end: a server bound there is DELAY_MS away
#   NT_BLACKHOLE_ADDR  an address (TEST-NET-2, 198.51.100.0/24) routed from NS
#                      to the peer, which drops it silently (it does not
#                      forward): a connect there hangs until its own timeout
#   NT_DELAYLINE_PID   the delay line (it prints its packet counts on exit)
#   NT_DELAYLINE_STATS the file its counts go to (on exit, or nt_delayline_stats)
# Everything goes away with the namespaces at exit.
nt_netns_peer() {
	_nt_not_in_subshell nt_netns_peer
	local ns=$1 delay=$2 loss=${3:-} peer k va vb dl ready
	local -a lossarg=()
	[[ $delay =~ ^[0-9]+$ ]] || fail "nt_netns_peer: DELAY_MS must be an integer, got '$delay'"
	if [ -n "$loss" ]; then
		[[ $loss =~ ^(ab|ba):[1-9][0-9]*(:[0-9]+)?$ ]] ||
			fail "nt_netns_peer: LOSS must be ab|ba:EVERY[:MAX], got '$loss'"
		lossarg=(-l "$loss")
	fi
	dl=$(nt_delayline_bin)
	nt_netns_create peer
	NT_PEER_SEQ=$((NT_PEER_SEQ + 1))
	k=$NT_PEER_SEQ
	[ $k -le 60 ] || fail "nt_netns_peer: too many peers"
	# Interface names have at most 15 characters; pids at most 7 digits.
	va=ntv$$a$k
	vb=ntv$$b$k
	ready=$TEST_TMP/delayline-$k.ready
	NT_DELAYLINE_STATS=$TEST_TMP/delayline-$k.stats.json
	bg ip netns exec "$ns" "$dl" "${lossarg[@]}" -s "$NT_DELAYLINE_STATS" \
		"$va" "$vb" "$delay" 0 "$ready" 2>"$TEST_TMP/delayline-$k.log"
	NT_DELAYLINE_PID=$BG_PID
	wait_for 5 "delay line $va/$vb" test -s "$ready"
	ip -n "$ns" link set "$vb" netns "$peer"
	NT_LOCAL_ADDR=192.0.2.$((4 * k + 1))
	NT_PEER_ADDR=192.0.2.$((4 * k + 2))
	NT_BLACKHOLE_ADDR=198.51.100.$k
	ip -n "$ns" addr add "$NT_LOCAL_ADDR" peer "$NT_PEER_ADDR" dev "$va"
	ip -n "$peer" addr add "$NT_PEER_ADDR" peer "$NT_LOCAL_ADDR" dev "$vb"
	ip -n "$ns" link set "$va" up
	ip -n "$peer" link set "$vb" up
	ip -n "$ns" route add "$NT_BLACKHOLE_ADDR/32" dev "$va"
	# The peer is no router: a packet for the blackhole address is dropped
	# without an ICMP error.
	ip netns exec "$peer" sysctl -qw net.ipv4.ip_forward=0
	NT_PEER_NS=$peer
	log "peer $peer at $NT_PEER_ADDR (${delay} ms away${loss:+, losing $loss}), blackhole $NT_BLACKHOLE_ADDR"
}

# nt_delayline_stats [PID FILE]: asks the delay line PID (default
# $NT_DELAYLINE_PID, writing FILE, default $NT_DELAYLINE_STATS) for its counts
# so far and waits (at most 5 s) until the file holds them. The JSON object
# is described in tests/lib/delayline.c: per direction ("ab": from NS to the
# peer, "ba": back) the TCP segments forwarded, those with payload, the
# retransmissions seen and the segments lost on purpose.
nt_delayline_stats() {
	local pid=${1:-$NT_DELAYLINE_PID} file=${2:-$NT_DELAYLINE_STATS}
	rm -f "$file"
	kill -USR1 "$pid" || fail "delay line (pid $pid) is gone"
	wait_for 5 "delay line counts in $file" test -s "$file"
}
