#!/usr/bin/env node
// connect-client.js: a workload that opens TCP connections the way an
// application does (net.connect to a hostname: dns.lookup, then connect()
// in its callback) and reports what happened, as ground truth for the tests
// that trace it.
//
// Usage: node connect-client.js [options] TARGET...
//   TARGET           HOST:PORT:COUNT (IPv6 literal in brackets: [::1]:443:2)
//   --family F       0 (default: whatever the lookup gives), 4 or 6
//   --timeout-ms T   give up on a connect after T ms (socket timeout; default
//                    5000): counted as "timeout" and the socket destroyed
//   --out F          write the JSON summary to F instead of stdout
// Connections are made one after another, each from the named function
// connectFromApp (called from a microtask, so that V8 cannot inline it), and
// closed by the client as soon as they are established.
//
// Summary: {"pid": N, "node": "v20.x", "targets": {"HOST:PORT":
//   {"connected": n, "timeout": n, "errors": {"ECONNREFUSED": n}}}}
'use strict';

const net = require('net');
const fs = require('fs');

const opts = { family: 0, timeoutMs: 5000, out: null, targets: [] };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
	const a = argv[i];
	const val = () => {
		if (i + 1 >= argv.length) usage(`${a} needs a value`);
		return argv[++i];
	};
	if (a === '--family') opts.family = Number(val());
	else if (a === '--timeout-ms') opts.timeoutMs = Number(val());
	else if (a === '--out') opts.out = val();
	else {
		const m = /^(\[[^\]]+\]|[^:]+):(\d+):(\d+)$/.exec(a);
		if (!m) usage(`not a target HOST:PORT:COUNT: ${a}`);
		opts.targets.push({ host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]), count: Number(m[3]) });
	}
}
if (!opts.targets.length) usage('no target');

function usage(msg) {
	process.stderr.write(`connect-client: ${msg}\n`);
	process.exit(2);
}

function connectFromApp(host, port) {
	return new Promise((resolve) => {
		const o = { host, port, timeout: opts.timeoutMs };
		if (opts.family) o.family = opts.family;
		const s = net.connect(o);
		s.on('connect', () => { s.destroy(); resolve('connected'); });
		s.on('timeout', () => { s.destroy(); resolve('timeout'); });
		s.on('error', (e) => resolve(e.code || 'error'));
	});
}

async function main() {
	const summary = { pid: process.pid, node: process.version, targets: {} };
	for (const t of opts.targets) {
		const r = summary.targets[`${t.host}:${t.port}`] = { connected: 0, timeout: 0, errors: {} };
		for (let i = 0; i < t.count; i++) {
			const res = await new Promise((resolve) =>
				queueMicrotask(() => connectFromApp(t.host, t.port).then(resolve)));
			if (res === 'connected' || res === 'timeout') r[res]++;
			else r.errors[res] = (r.errors[res] || 0) + 1;
		}
	}
	const text = JSON.stringify(summary) + '\n';
	if (opts.out) fs.writeFileSync(opts.out, text);
	else process.stdout.write(text);
}

main();
