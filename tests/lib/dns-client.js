#!/usr/bin/env node
// dns-client.js: a workload that resolves names with dns.lookup (libuv's
// uv_getaddrinfo -> glibc getaddrinfo on the threadpool) and reports what it
// saw, as ground truth for the tests that trace it.
//
// Usage:
//   node dns-client.js [options] NAME...
//     --count N          lookups of each name (default 1)
//     --mode M           sequential (one lookup at a time, names round-robin)
//                        or concurrent (all N x names issued at once)
//     --family F         4 (default), 6 or 0 (any: A and AAAA)
//     --hints H          getaddrinfo hints: a number, or ADDRCONFIG / V4MAPPED /
//                        ALL joined with "|" (default: none)
//     --pace-ms P        sequential mode: wait P ms after each lookup before
//                        the next (default 0)
//     --timeout-ms T     give up after T ms (default 30000): prints the summary
//                        with "timed_out": true and exits 3
//     --wait-file F      before the first lookup, wait (at most --timeout-ms)
//                        until file F exists, e.g. until a tracer is attached
//     --ready-file F     write "PID\n" to F once started (before --wait-file)
//     --linger-ms L      stay alive L ms after the last lookup (default 0)
//     --per-lookup       add every lookup to the summary (start/end in
//                        CLOCK_MONOTONIC ns, the clock BPF's ktime uses)
//     --out F            write the JSON summary to F instead of stdout
//
// Every lookup is issued by the named function lookupFromApp, so that a
// stack taken under uv_getaddrinfo shows that frame. It is always called
// from a microtask, not from another JS function, so that V8 cannot inline
// it into a hot caller (an inlined function has no frame of its own).
//
// Summary (JSON, one line):
//   {"node": "v20.x", "pid": 123, "mode": "sequential", "family": 4,
//    "count": 5, "pace_ms": 0, "elapsed_ms": 260.1, "timed_out": false,
//    "names": {"slow.nodetap.test": {"ok": 5, "failed": {},
//       "addresses": ["127.0.0.1"],
//       "latency_ms": {"min": 50.3, "median": 51.0, "max": 52.2}}},
//    "lookups": [{"name": ..., "start_ns": "...", "end_ns": "...",
//                 "ms": 51.0, "error": null, "address": "127.0.0.1"}]}
// Exit status: 0 when every lookup finished (failed lookups included: they
// are data), 2 on bad usage, 3 on timeout.
'use strict';

const dns = require('dns');
const fs = require('fs');

function usage(msg) {
	process.stderr.write(`dns-client: ${msg}\n`);
	process.exit(2);
}

const opts = { count: 1, mode: 'sequential', family: 4, hints: 0, paceMs: 0, timeoutMs: 30000,
	waitFile: null, readyFile: null, lingerMs: 0, perLookup: false, out: null, names: [] };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
	const a = argv[i];
	const val = () => {
		if (i + 1 >= argv.length) usage(`${a} needs a value`);
		return argv[++i];
	};
	const int = (s) => {
		const n = Number(s);
		if (!Number.isInteger(n) || n < 0) usage(`${a}: not a count: ${s}`);
		return n;
	};
	switch (a) {
	case '--count': opts.count = int(val()); break;
	case '--mode': opts.mode = val(); break;
	case '--family': opts.family = int(val()); break;
	case '--hints': {
		const v = val();
		opts.hints = /^\d+$/.test(v) ? Number(v) : v.split('|').reduce((acc, h) => {
			if (!(h in dns) || typeof dns[h] !== 'number') usage(`unknown hint ${h}`);
			return acc | dns[h];
		}, 0);
		break;
	}
	case '--pace-ms': opts.paceMs = int(val()); break;
	case '--timeout-ms': opts.timeoutMs = int(val()); break;
	case '--wait-file': opts.waitFile = val(); break;
	case '--ready-file': opts.readyFile = val(); break;
	case '--linger-ms': opts.lingerMs = int(val()); break;
	case '--per-lookup': opts.perLookup = true; break;
	case '--out': opts.out = val(); break;
	default:
		if (a.startsWith('--')) usage(`unknown option ${a}`);
		opts.names.push(a);
	}
}
if (!opts.names.length) usage('give at least one name');
if (opts.mode !== 'sequential' && opts.mode !== 'concurrent') usage('--mode is sequential or concurrent');
if (![0, 4, 6].includes(opts.family)) usage('--family is 0, 4 or 6');
if (opts.paceMs && opts.mode !== 'sequential') usage('--pace-ms needs --mode sequential');

const t0 = process.hrtime.bigint();
const results = new Map(opts.names.map((n) => [n, []]));
const lookups = [];
let outstanding = opts.count * opts.names.length;
let finished = false;

function lookupFromApp(name, done) {
	const start = process.hrtime.bigint();
	dns.lookup(name, { family: opts.family, hints: opts.hints }, (err, address) => {
		const end = process.hrtime.bigint();
		const r = { name, start_ns: start.toString(), end_ns: end.toString(),
			ms: Number(end - start) / 1e6, error: err ? err.code || String(err) : null,
			address: err ? null : address };
		results.get(name).push(r);
		lookups.push(r);
		done();
	});
}

// Calls lookupFromApp from a microtask: its caller is V8's microtask runner,
// not JavaScript, so it keeps a frame of its own.
function issue(name, done) {
	queueMicrotask(lookupFromApp.bind(null, name, done));
}

function round(x) {
	return Math.round(x * 1000) / 1000;
}

function summary(timedOut) {
	const names = {};
	for (const [name, rs] of results) {
		const ms = rs.map((r) => r.ms).sort((a, b) => a - b);
		const failed = {};
		for (const r of rs) if (r.error) failed[r.error] = (failed[r.error] || 0) + 1;
		const mid = ms.length >> 1;
		names[name] = {
			ok: rs.filter((r) => !r.error).length,
			failed,
			addresses: [...new Set(rs.filter((r) => !r.error).map((r) => r.address))].sort(),
			latency_ms: ms.length ? {
				min: round(ms[0]),
				median: round(ms.length % 2 ? ms[mid] : (ms[mid - 1] + ms[mid]) / 2),
				max: round(ms[ms.length - 1]),
			} : null,
		};
	}
	const s = { node: process.version, pid: process.pid, mode: opts.mode, family: opts.family,
		hints: opts.hints, count: opts.count, pace_ms: opts.paceMs,
		elapsed_ms: round(Number(process.hrtime.bigint() - t0) / 1e6), timed_out: timedOut, names };
	if (opts.perLookup) s.lookups = lookups.map((r) => ({ ...r, ms: round(r.ms) }));
	return JSON.stringify(s) + '\n';
}

function finish(timedOut) {
	if (finished) return;
	finished = true;
	clearTimeout(guard);
	const text = summary(timedOut);
	if (opts.out) fs.writeFileSync(opts.out, text);
	else process.stdout.write(text);
	if (timedOut) process.exit(3);
	setTimeout(() => process.exit(0), opts.lingerMs);
}

const guard = setTimeout(() => {
	process.stderr.write(`dns-client: timed out after ${opts.timeoutMs} ms with ${outstanding} lookups outstanding\n`);
	finish(true);
}, opts.timeoutMs);

function runSequential() {
	const order = [];
	for (let i = 0; i < opts.count; i++) order.push(...opts.names);
	let next = 0;
	const step = () => {
		outstanding = order.length - next;
		if (next === order.length) return finish(false);
		issue(order[next++], next < order.length && opts.paceMs ? () => setTimeout(step, opts.paceMs) : step);
	};
	step();
}

function runConcurrent() {
	const done = () => {
		if (--outstanding === 0) finish(false);
	};
	if (outstanding === 0) return finish(false);
	for (let i = 0; i < opts.count; i++) for (const n of opts.names) issue(n, done);
}

function start() {
	if (opts.mode === 'sequential') runSequential();
	else runConcurrent();
}

if (opts.readyFile) fs.writeFileSync(opts.readyFile, `${process.pid}\n`);
if (opts.waitFile) {
	const poll = setInterval(() => {
		if (fs.existsSync(opts.waitFile)) {
			clearInterval(poll);
			start();
		}
	}, 10);
} else {
	start();
}
