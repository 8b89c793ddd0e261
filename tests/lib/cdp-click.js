#!/usr/bin/env node
// cdp-click.js: opens an HTML file in headless Chromium and drives it through
// the DevTools protocol as a person would: load, click (a real mouse event
// at the element's position on screen), read the page, screenshot. Needs a
// node with a global WebSocket and fetch (v22 and later).
//
// Usage: node cdp-click.js --chromium PATH --page FILE.html --shot OUT.png
//                          --profile DIR [--timeout-ms T] [--flame-click REGEX]
// It clicks the heat map cell with the largest data-n and prints one JSON
// line: {"errors": [console errors and uncaught exceptions],
//        "hottest": {"c":..,"r":..,"n":..}, "title": text of #cell-title,
//        "rows": [[cells of each row of #cell-table]] (the 7th: the event's
//        stack, every frame's text), "italic": number of <i> elements in the
//        page, "label_cells": [texts of the first column of #labels],
//        "label_time_cells": [... of #labels-time], "function_cells": [... of
//        #functions], "flame": {"frames": <g class="f"> in #flamegraph,
//        "names": [their distinct data-n], "drawn": those the script laid out
//        (a visible rect of non-zero width)},
//        "flame_click": with --flame-click, after a mouse click on the first
//        flame graph frame whose name matches REGEX: {"name", "dimmed": frames
//        the script's zoom dimmed (the clicked frame's callers), "hidden":
//        frames it hid (outside the clicked one)}}
// Exit status: 0 when it could do all that (the test judges the result),
// 2 on bad usage, 3 when the browser could not be driven (with a message).
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');

const opts = { chromium: null, page: null, shot: null, profile: null, timeoutMs: 60000,
	flameClick: null };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
	const val = () => argv[++i];
	switch (argv[i]) {
	case '--chromium': opts.chromium = val(); break;
	case '--page': opts.page = path.resolve(val()); break;
	case '--shot': opts.shot = val(); break;
	case '--profile': opts.profile = val(); break;
	case '--timeout-ms': opts.timeoutMs = Number(val()); break;
	case '--flame-click': opts.flameClick = val(); break;
	default: process.stderr.write(`cdp-click: unknown argument ${argv[i]}\n`); process.exit(2);
	}
}
if (!opts.chromium || !opts.page || !opts.shot || !opts.profile) {
	process.stderr.write('cdp-click: --chromium, --page, --shot and --profile are required\n');
	process.exit(2);
}
if (typeof WebSocket !== 'function') {
	process.stderr.write(`cdp-click: node ${process.version} has no WebSocket (v22+ needed)\n`);
	process.exit(2);
}

const browser = spawn(opts.chromium, ['--headless=new', '--no-sandbox', '--disable-gpu',
	'--no-first-run', '--no-default-browser-check', '--remote-debugging-port=0',
	`--user-data-dir=${opts.profile}`, '--window-size=1200,1600', 'about:blank'],
	{ stdio: ['ignore', 'ignore', 'pipe'] });
let browserLog = '';
browser.stderr.on('data', (d) => { browserLog += d; });

function die(msg) {
	process.stderr.write(`cdp-click: ${msg}\n`);
	browser.kill('SIGKILL');
	process.exit(3);
}
const guard = setTimeout(() => die(`gave up after ${opts.timeoutMs} ms; browser said: ${browserLog.slice(-2000)}`),
	opts.timeoutMs);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function debuggerPort() {
	const file = path.join(opts.profile, 'DevToolsActivePort');
	for (;;) {
		if (browser.exitCode !== null) die(`chromium exited ${browser.exitCode}: ${browserLog.slice(-2000)}`);
		try {
			const port = Number(fs.readFileSync(file, 'utf8').split('\n')[0]);
			if (port > 0) return port;
		} catch (e) { /* not yet */ }
		await sleep(50);
	}
}

async function main() {
	const port = await debuggerPort();
	let targets;
	for (;;) {
		targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
		if (targets.some((t) => t.type === 'page')) break;
		await sleep(50);
	}
	const ws = new WebSocket(targets.find((t) => t.type === 'page').webSocketDebuggerUrl);
	await new Promise((res, rej) => { ws.onopen = res; ws.onerror = () => rej(new Error('websocket')); });
	let seq = 0;
	const pending = new Map();
	const errors = [];
	let loaded = null;
	const loadedP = new Promise((r) => { loaded = r; });
	ws.onmessage = (m) => {
		const msg = JSON.parse(m.data);
		if (msg.id && pending.has(msg.id)) {
			const { res, rej } = pending.get(msg.id);
			pending.delete(msg.id);
			if (msg.error) rej(new Error(JSON.stringify(msg.error)));
			else res(msg.result);
		} else if (msg.method === 'Runtime.exceptionThrown') {
			errors.push(`exception: ${JSON.stringify(msg.params.exceptionDetails.exception || msg.params.exceptionDetails.text)}`);
		} else if (msg.method === 'Runtime.consoleAPICalled' && ['error', 'assert'].includes(msg.params.type)) {
			errors.push(`console.${msg.params.type}: ${JSON.stringify(msg.params.args)}`);
		} else if (msg.method === 'Log.entryAdded' && msg.params.entry.level === 'error') {
			errors.push(`log: ${msg.params.entry.text} ${msg.params.entry.url || ''}`);
		} else if (msg.method === 'Page.loadEventFired') {
			loaded();
		}
	};
	const send = (method, params = {}) => new Promise((res, rej) => {
		const id = ++seq;
		pending.set(id, { res, rej });
		ws.send(JSON.stringify({ id, method, params }));
	});
	const evaluate = async (expression) => {
		const r = await send('Runtime.evaluate', { expression, returnByValue: true });
		if (r.exceptionDetails) throw new Error(`evaluate: ${JSON.stringify(r.exceptionDetails)}`);
		return r.result.value;
	};
	await send('Runtime.enable');
	await send('Log.enable');
	await send('Page.enable');
	await send('Page.navigate', { url: `file://${opts.page}` });
	await loadedP;
	const hottest = await evaluate(`(() => {
		const cells = [...document.querySelectorAll('rect.cell')];
		if (!cells.length) return null;
		const el = cells.reduce((a, b) => Number(b.dataset.n) > Number(a.dataset.n) ? b : a);
		el.scrollIntoView({ block: 'center' });
		const b = el.getBoundingClientRect();
		return { c: Number(el.dataset.c), r: Number(el.dataset.r), n: Number(el.dataset.n),
			x: b.left + b.width / 2, y: b.top + b.height / 2 };
	})()`);
	if (!hottest) die('no heat map cell in the page');
	for (const type of ['mouseMoved', 'mousePressed', 'mouseReleased'])
		await send('Input.dispatchMouseEvent', { type, x: hottest.x, y: hottest.y, button: 'left',
			clickCount: type === 'mouseMoved' ? 0 : 1 });
	await sleep(200);
	const page = await evaluate(`(() => ({
		title: document.getElementById('cell-title').textContent,
		rows: [...document.querySelectorAll('#cell-table tr')].slice(1)
			.map((tr) => [...tr.children].map((td) => td.textContent)),
		italic: document.getElementsByTagName('i').length,
		label_cells: [...document.querySelectorAll('#labels tr')].slice(1)
			.map((tr) => tr.children[0].textContent),
		label_time_cells: [...document.querySelectorAll('#labels-time tr')].slice(1)
			.map((tr) => tr.children[0].textContent),
		function_cells: [...document.querySelectorAll('#functions tr')].slice(1)
			.map((tr) => tr.children[0].textContent),
		flame: (() => {
			const gs = [...document.querySelectorAll('#flamegraph g.f')];
			return { frames: gs.length, names: [...new Set(gs.map((g) => g.dataset.n))],
				drawn: gs.filter((g) => g.style.display !== 'none' &&
					g.querySelector('rect').getBoundingClientRect().width > 0).length };
		})(),
	}))()`);
	let flameClick = null;
	if (opts.flameClick) {
		const at = await evaluate(`(() => {
			const re = new RegExp(${JSON.stringify(opts.flameClick)});
			const g = [...document.querySelectorAll('#flamegraph g.f')].find((x) => re.test(x.dataset.n));
			if (!g) return null;
			const r = g.querySelector('rect');
			r.scrollIntoView({ block: 'center' });
			const b = r.getBoundingClientRect();
			return { name: g.dataset.n, x: b.left + Math.min(b.width / 2, 20), y: b.top + b.height / 2 };
		})()`);
		if (at) {
			for (const type of ['mouseMoved', 'mousePressed', 'mouseReleased'])
				await send('Input.dispatchMouseEvent', { type, x: at.x, y: at.y, button: 'left',
					clickCount: type === 'mouseMoved' ? 0 : 1 });
			await sleep(200);
			flameClick = { name: at.name, ...await evaluate(`(() => {
				const gs = [...document.querySelectorAll('#flamegraph g.f')];
				return { dimmed: gs.filter((g) => g.style.opacity === '0.6').length,
					hidden: gs.filter((g) => g.style.display === 'none').length };
			})()`) };
		}
		page.flame_click = flameClick;
		await evaluate(`document.getElementById('heatmap').scrollIntoView()`);
	}
	const shot = await send('Page.captureScreenshot', { format: 'png' });
	fs.writeFileSync(opts.shot, Buffer.from(shot.data, 'base64'));
	process.stdout.write(JSON.stringify({ errors, hottest: { c: hottest.c, r: hottest.r, n: hottest.n },
		...page }) + '\n');
	clearTimeout(guard);
	try { await send('Browser.close'); } catch (e) { /* it closes the socket */ }
	ws.close();
	await Promise.race([new Promise((r) => browser.on('exit', r)), sleep(5000)]);
	browser.kill('SIGKILL');
}

main().catch((e) => die(e.stack || String(e)));
