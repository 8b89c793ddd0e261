#!/usr/bin/env node
// monitor-app.js: a node process for the monitor tests that does known work
// when told to: it listens on a loopback port, writes READY_FILE ("PID
// PORT"), waits for GO_FILE, then makes COUNT dns.lookup("localhost") calls,
// each followed by a connect to its own port, one after another; then blocks
// its event loop for BLOCK_MS with a busy wait, writes DONE_FILE and stays
// alive (idle) until killed.
//
// Usage: node monitor-app.js READY_FILE GO_FILE DONE_FILE COUNT BLOCK_MS
'use strict';
const fs = require('fs');
const net = require('net');
const dns = require('dns');

const [ready, go, done] = process.argv.slice(2, 5);
const count = Number(process.argv[5]);
const blockMs = Number(process.argv[6]);
if (!done || !Number.isInteger(count) || !Number.isInteger(blockMs)) {
	process.stderr.write('usage: monitor-app.js READY_FILE GO_FILE DONE_FILE COUNT BLOCK_MS\n');
	process.exit(2);
}

const server = net.createServer((s) => { s.on('error', () => {}); s.end(); });
server.listen(0, '127.0.0.1', () => {
	const port = server.address().port;
	fs.writeFileSync(ready, `${process.pid} ${port}\n`);
	const wait = setInterval(() => {
		if (!fs.existsSync(go)) return;
		clearInterval(wait);
		run(port, count);
	}, 50);
});

function run(port, n) {
	if (!n) {
		const end = Date.now() + blockMs;
		while (Date.now() < end);
		fs.writeFileSync(done, 'done\n');
		return;
	}
	dns.lookup('localhost', { family: 4 }, (err) => {
		if (err) throw err;
		const s = net.connect(port, '127.0.0.1', () => { s.destroy(); run(port, n - 1); });
		s.on('error', (e) => { throw e; });
	});
}
