#!/usr/bin/env node
// dns-server.js: a tiny authoritative DNS server, the ground truth for the DNS
// tests. No npm dependencies; runs on every node major the tests use.
//
// Usage:
//   node dns-server.js [--zone JSON | --zone-file FILE] [--listen ADDR] [--port N]
//                      [--counts FILE] [--log FILE] [--ready FILE] [--no-tcp]
//
// Zone: an object mapping a name to what the server does with it:
//   {"fast.nodetap.test":    {"a": "127.0.0.1"},
//    "slow.nodetap.test":    {"a": ["127.0.0.1", "127.0.0.2"], "delay_ms": 50},
//    "v6.nodetap.test":      {"a": "127.0.0.1", "aaaa": "::1"},
//    "missing.nodetap.test": {"rcode": "NXDOMAIN", "delay_ms": 10},
//    "broken.nodetap.test":  {"rcode": "SERVFAIL"},
//    "hole.nodetap.test":    {"drop": true}}
// A known name answers its A records (and AAAA records if "aaaa" is given); any
// other type for a known name is NOERROR with no records. "rcode" answers every
// type with that code (NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED);
// "drop" never answers (the client times out). "delay_ms" is applied to every
// answer for that name, per query, with setTimeout (never less than delay_ms
// after the query arrived). "then": {"after": N, "delay_ms": D} changes that
// delay to D for every query of that name after its first N (any type), so
// that a workload sees the delay switch at a known lookup, e.g.
//    "shift.nodetap.test":   {"a": "127.0.0.1", "delay_ms": 5,
//                             "then": {"after": 30, "delay_ms": 50}}
// Unknown names: NXDOMAIN.
// Names are matched case-insensitively, without the trailing dot.
//
// Counting: every query is counted per (name, type), answered or not. On
// SIGTERM or SIGINT the server writes the counts as JSON to --counts FILE (or
// to stdout) and exits 0; SIGUSR1 writes them without exiting. Format:
//   {"queries": {"fast.nodetap.test": {"A": 3}}, "total": 3, "tcp": 0,
//    "malformed": 0}
// --log FILE appends one JSON line per query as it arrives:
//   {"t_ns": "<CLOCK_MONOTONIC ns>", "name": ..., "type": "A", "id": 1234,
//    "transport": "udp"}
// --ready FILE is written once the UDP (and TCP) sockets are bound.
'use strict';

const dgram = require('dgram');
const net = require('net');
const fs = require('fs');

const TYPES = { 1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 15: 'MX', 16: 'TXT',
	28: 'AAAA', 33: 'SRV', 41: 'OPT', 65: 'HTTPS', 255: 'ANY' };
const RCODES = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };

function die(msg) {
	process.stderr.write(`dns-server: ${msg}\n`);
	process.exit(2);
}

function parseArgs(argv) {
	const o = { zone: null, listen: '127.0.0.1', port: 53, counts: null, log: null,
		ready: null, tcp: true };
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		const val = () => {
			if (i + 1 >= argv.length) die(`${a} needs a value`);
			return argv[++i];
		};
		switch (a) {
		case '--zone': o.zone = val(); break;
		case '--zone-file': o.zone = fs.readFileSync(val(), 'utf8'); break;
		case '--listen': o.listen = val(); break;
		case '--port': o.port = Number(val()); break;
		case '--counts': o.counts = val(); break;
		case '--log': o.log = val(); break;
		case '--ready': o.ready = val(); break;
		case '--no-tcp': o.tcp = false; break;
		default: die(`unknown argument ${a}`);
		}
	}
	if (!o.zone) die('--zone JSON or --zone-file FILE is required');
	if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) die('bad --port');
	return o;
}

function ipv4Bytes(s) {
	const p = String(s).split('.').map(Number);
	if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255))
		die(`bad IPv4 address ${s}`);
	return Buffer.from(p);
}

function ipv6Bytes(s) {
	// Expand "::" and parse the eight 16-bit groups.
	const str = String(s);
	if (!net.isIPv6(str) || str.includes('.')) die(`bad IPv6 address ${s}`);
	let [head, tail] = str.split('::');
	const h = head ? head.split(':') : [];
	const t = tail !== undefined ? (tail ? tail.split(':') : []) : [];
	const groups = tail !== undefined ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
	const b = Buffer.alloc(16);
	groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
	return b;
}

function loadZone(text) {
	let z;
	try {
		z = JSON.parse(text);
	} catch (e) {
		die(`zone is not JSON: ${e.message}`);
	}
	const zone = new Map();
	for (const [rawName, spec] of Object.entries(z)) {
		const name = rawName.toLowerCase().replace(/\.$/, '');
		const e = { a: [], aaaa: [], rcode: 0, delay: 0, drop: false, then: null, seen: 0 };
		if (spec.a !== undefined) e.a = [].concat(spec.a).map(ipv4Bytes);
		if (spec.aaaa !== undefined) e.aaaa = [].concat(spec.aaaa).map(ipv6Bytes);
		if (spec.rcode !== undefined) {
			if (!(spec.rcode in RCODES)) die(`bad rcode ${spec.rcode} for ${name}`);
			e.rcode = RCODES[spec.rcode];
		}
		if (spec.delay_ms !== undefined) {
			e.delay = Number(spec.delay_ms);
			if (!(e.delay >= 0)) die(`bad delay_ms for ${name}`);
		}
		if (spec.then !== undefined) {
			const t = spec.then;
			if (!t || !Number.isInteger(t.after) || t.after < 0 || !(Number(t.delay_ms) >= 0))
				die(`bad "then" for ${name}: {"after": N, "delay_ms": D}`);
			e.then = { after: t.after, delay: Number(t.delay_ms) };
		}
		e.drop = !!spec.drop;
		zone.set(name, e);
	}
	return zone;
}

// Parses the header and the first question. Returns null if malformed.
function parseQuery(msg) {
	if (msg.length < 12) return null;
	const id = msg.readUInt16BE(0);
	const flags = msg.readUInt16BE(2);
	const qdcount = msg.readUInt16BE(4);
	if (flags & 0x8000 || qdcount < 1) return null; // a response, or no question
	const labels = [];
	let off = 12;
	for (;;) {
		if (off >= msg.length) return null;
		const len = msg[off++];
		if (len === 0) break;
		if (len & 0xc0 || off + len > msg.length) return null; // no compression in a question
		labels.push(msg.toString('latin1', off, off + len));
		off += len;
	}
	if (off + 4 > msg.length) return null;
	const qtype = msg.readUInt16BE(off);
	const qclass = msg.readUInt16BE(off + 2);
	return { id, flags, name: labels.join('.').toLowerCase(), qtype, qclass,
		question: msg.subarray(12, off + 4) };
}

function rr(type, data, ttl) {
	const b = Buffer.alloc(12);
	b.writeUInt16BE(0xc00c, 0); // pointer to the question's name
	b.writeUInt16BE(type, 2);
	b.writeUInt16BE(1, 4); // IN
	b.writeUInt32BE(ttl, 6);
	b.writeUInt16BE(data.length, 10);
	return Buffer.concat([b, data]);
}

function buildResponse(q, rcode, answers) {
	const h = Buffer.alloc(12);
	h.writeUInt16BE(q.id, 0);
	// QR, opcode copied, AA, RD copied, RA (a stub resolver expects it).
	const flags = 0x8000 | (q.flags & 0x7800) | 0x0400 | (q.flags & 0x0100) | 0x0080 | rcode;
	h.writeUInt16BE(flags, 2);
	h.writeUInt16BE(1, 4);
	h.writeUInt16BE(answers.length, 6);
	return Buffer.concat([h, q.question, ...answers]);
}

const opts = parseArgs(process.argv.slice(2));
const zone = loadZone(opts.zone);
const counts = new Map(); // name -> {type: n}
let total = 0, tcpQueries = 0, malformed = 0;
const logFd = opts.log ? fs.openSync(opts.log, 'a') : null;

function count(name, type) {
	let c = counts.get(name);
	if (!c) counts.set(name, (c = {}));
	c[type] = (c[type] || 0) + 1;
	total++;
}

// Decides the answer to one query; calls send(buf) later (after the delay), or
// never for a dropped name.
function handle(msg, transport, send) {
	const arrived = process.hrtime.bigint();
	const q = parseQuery(msg);
	if (!q) {
		malformed++;
		return;
	}
	const type = TYPES[q.qtype] || `TYPE${q.qtype}`;
	count(q.name, type);
	if (transport === 'tcp') tcpQueries++;
	if (logFd !== null) {
		fs.writeSync(logFd, JSON.stringify({ t_ns: arrived.toString(),
			name: q.name, type, id: q.id, transport }) + '\n');
	}
	const e = zone.get(q.name);
	let rcode = 0, answers = [];
	if (!e) {
		rcode = RCODES.NXDOMAIN;
	} else if (e.drop) {
		return;
	} else if (e.rcode) {
		rcode = e.rcode;
	} else if (q.qclass === 1 && (q.qtype === 1 || q.qtype === 255)) {
		answers = e.a.map((ip) => rr(1, ip, 60));
	} else if (q.qclass === 1 && q.qtype === 28) {
		answers = e.aaaa.map((ip) => rr(28, ip, 60));
	}
	const out = buildResponse(q, rcode, answers);
	let delay = e ? e.delay : 0;
	if (e && e.then && e.seen++ >= e.then.after) delay = e.then.delay;
	if (delay > 0) sendAfter(arrived, delay, () => send(out));
	else send(out);
}

// Calls fn no sooner than delay ms after `from` (hrtime ns). setTimeout alone
// may fire up to 1 ms early (libuv counts whole milliseconds of a cached clock),
// so check the real clock and wait out the rest.
function sendAfter(from, delay, fn) {
	const due = from + BigInt(Math.round(delay * 1e6));
	const check = () => {
		const left = due - process.hrtime.bigint();
		if (left > 0n) setTimeout(check, Math.ceil(Number(left) / 1e6));
		else fn();
	};
	setTimeout(check, delay);
}

function dumpCounts() {
	const queries = {};
	for (const name of [...counts.keys()].sort()) queries[name] = counts.get(name);
	const text = JSON.stringify({ queries, total, tcp: tcpQueries, malformed }) + '\n';
	if (opts.counts) {
		fs.writeFileSync(opts.counts + '.tmp', text);
		fs.renameSync(opts.counts + '.tmp', opts.counts);
	} else {
		process.stdout.write(text);
	}
}

const udp = dgram.createSocket(net.isIPv6(opts.listen) ? 'udp6' : 'udp4');
udp.on('message', (msg, rinfo) => {
	handle(msg, 'udp', (out) => udp.send(out, rinfo.port, rinfo.address));
});
udp.on('error', (e) => die(`udp: ${e.message}`));

let tcp = null;
const pending = [];
if (opts.tcp) {
	tcp = net.createServer((sock) => {
		let buf = Buffer.alloc(0);
		sock.on('data', (d) => {
			buf = Buffer.concat([buf, d]);
			while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
				const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
				buf = buf.subarray(2 + msg.length);
				handle(msg, 'tcp', (out) => {
					if (sock.destroyed) return;
					const len = Buffer.alloc(2);
					len.writeUInt16BE(out.length);
					sock.write(Buffer.concat([len, out]));
				});
			}
		});
		sock.on('error', () => {});
	});
	tcp.on('error', (e) => die(`tcp: ${e.message}`));
	pending.push(new Promise((res) => tcp.listen(opts.port, opts.listen, res)));
}
pending.push(new Promise((res) => udp.bind(opts.port, opts.listen, res)));

Promise.all(pending).then(() => {
	const port = udp.address().port;
	if (opts.ready) fs.writeFileSync(opts.ready, `${process.pid} ${port}\n`);
	process.stderr.write(`dns-server: pid ${process.pid} listening on ${opts.listen}:${port}` +
		` (udp${tcp ? '+tcp' : ''}), ${zone.size} names\n`);
});

function stop() {
	dumpCounts();
	process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('SIGUSR1', dumpCounts);
