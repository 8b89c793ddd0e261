// A small service-like workload for `make run`: it resolves a few names the
// way real code does (config fetch, database connect, a name that does not
// exist) and makes HTTP requests to a server of its own on loopback, for
// about four seconds. Only loopback and /etc/hosts names are used, so it
// works on a machine without a network.
'use strict';

const dns = require('dns');
const http = require('http');
const os = require('os');

const server = http.createServer((req, res) => res.end('ok\n'));

function lookup(name) {
	return new Promise((resolve) => dns.lookup(name, { family: 4 }, (err, addr) => resolve(err || addr)));
}

// Named functions, so that `nodetap dns --stacks` has something to show.
async function fetchConfig() {
	return lookup('localhost');
}

async function connectDatabase() {
	return lookup(os.hostname());
}

async function reportToMissingCollector() {
	return lookup('metrics-collector.invalid');
}

function get(port) {
	return new Promise((resolve) => {
		http.get({ host: 'localhost', port, path: '/', family: 4 }, (res) => {
			res.resume();
			res.on('end', resolve);
		}).on('error', resolve);
	});
}

async function main() {
	await new Promise((r) => server.listen(0, '127.0.0.1', r));
	const port = server.address().port;
	for (let round = 0; round < 8; round++) {
		await Promise.all([fetchConfig(), fetchConfig(), connectDatabase()]);
		if (round % 2 === 0)
			await reportToMissingCollector();
		await get(port);
		await new Promise((r) => setTimeout(r, 500));
	}
	server.close();
}

main();
