// A DNS storm: N sequential dns.lookup() calls of an /etc/hosts name, timed
// in-process. Prints {"lookups": N, "ms": elapsed}.
'use strict';
const dns = require('dns');
const n = Number(process.argv[2] || 2000);
let left = n;
const t0 = process.hrtime.bigint();
function next() {
	if (left-- === 0) {
		const ms = Number(process.hrtime.bigint() - t0) / 1e6;
		console.log(JSON.stringify({ lookups: n, ms }));
		return;
	}
	dns.lookup('localhost', { family: 4 }, next);
}
next();
