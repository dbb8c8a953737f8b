#!/usr/bin/env node
// The chat part of `make bench` (scripts/bench.sh starts Parley and the mock
// model, then runs this): the same work sent direct to the mock (SSE) and
// through Parley (NDJSON), printed side by side with the targets.
//
//   1. time to first token at concurrency 1 (mock: 10 chunks, no delay),
//      over BENCH_TTFT_TURNS sequential turns each way: p50, p99, and what
//      Parley adds;
//   2. turns per second at concurrency 32 and 128 for BENCH_TURN_SECONDS
//      each, every Parley turn then checked stored (admin API: the
//      conversations' messageCount);
//   3. RSS of all Parley processes (masterd, workers, storaged) per open
//      stream with BENCH_STREAMS streams held (mock: 300 ms to the first
//      chunk, 200 chunks 20 ms apart), over the idle baseline.
//
// Only loopback; every loop is bounded in count and time. Node built-ins only.
//
//   node tests/bench/chat-bench.mjs --parley PORT --mock PORT --master PID \
//        --storaged PID --key WIDGET_KEY --admin ADMIN_KEY \
//        [--mode TEXT] [--save FILE]
//
// --mode names the storage setting in the table's title; --save writes the
// direct figures to FILE. A second run with --extra LABEL --direct FILE
// (after scripts/bench.sh restarted storaged with another PARLEY_SYNC)
// measures only Parley's side of parts 1 and 2 and prints them as extra
// rows under LABEL (and --note TEXT), against the first run's direct
// figures.
import fs from 'node:fs';

import { Client, http, now } from './lib.mjs';

const args = Object.fromEntries(process.argv.slice(2).reduce((a, x, i, all) => (x.startsWith('--') ? a.concat([[x.slice(2), all[i + 1]]]) : a), []));
const PPORT = Number(args.parley);
const MPORT = Number(args.mock);
const MASTER = Number(args.master);
const STORAGED = Number(args.storaged);
const KEY = args.key;
const ADMIN = args.admin;
const TTFT_TURNS = Number(process.env.BENCH_TTFT_TURNS || 2000);
const TURN_SECONDS = Number(process.env.BENCH_TURN_SECONDS || 8);
const STREAMS = Number(process.env.BENCH_STREAMS || 2000);
const MODE = args.mode || '';
const SAVE = args.save;
const EXTRA = args.extra;
const DIRECT = args.direct;
const MODEL = 'gpt-4.1-mini';
const SYSTEM = 'You are a concise and helpful AI assistant embedded in a support chat widget.';

function die(msg) { console.error(`bench: ${msg}`); process.exit(1); }
if (!PPORT || !MPORT || !MASTER || !STORAGED || !KEY || !ADMIN) die('usage: chat-bench.mjs --parley PORT --mock PORT --master PID --storaged PID --key KEY --admin KEY [--mode TEXT] [--save FILE | --extra LABEL --direct FILE]');
if (EXTRA && !DIRECT) die('--extra needs --direct FILE (the first run\'s --save)');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------ a client

function parleyReq(session, message) {
  const body = JSON.stringify({ sessionId: session, message });
  return `POST /v1/chat/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nx-api-key: ${KEY}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}
function mockReq(message) {
  const body = JSON.stringify({ model: MODEL, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: message }] });
  return `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}
const PARLEY_FIRST = '"type":"token"';
const PARLEY_DONE = '"type":"done"';
const MOCK_FIRST = '"delta":{"content":"';
const MOCK_DONE = 'data: [DONE]';

async function mockConfig(cfg) {
  const r = await http(MPORT, 'POST', '/_mock/config', { body: JSON.stringify(cfg) });
  if (r.status !== 200) die(`mock config: ${r.status} ${r.body}`);
}
async function mockStats() { return JSON.parse((await http(MPORT, 'GET', '/_mock/stats')).body); }

// ------------------------------------------------------------ processes

function children(pid) {
  const out = [];
  let tasks = [];
  try { tasks = fs.readdirSync(`/proc/${pid}/task`); } catch { return out; }
  for (const t of tasks) {
    try { out.push(...fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'latin1').trim().split(/\s+/).filter(Boolean).map(Number)); } catch { /* gone */ }
  }
  return out;
}
function rssKiB(pid) {
  try { return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'latin1'))[1]); } catch { return 0; }
}
function parleyRss() {
  const pids = [MASTER, STORAGED, ...children(MASTER)];
  return { kib: pids.reduce((n, p) => n + rssKiB(p), 0), pids: pids.length };
}

// ------------------------------------------------------------ figures

function pct(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

let sessionSeq = 0;
const RUN = `b${process.pid}-${Date.now().toString(36)}`;

async function ttft(label, port, makeReq, first, doneMark, n) {
  const c = await Client.open(port);
  const xs = [];
  try {
    for (let i = 0; i < Math.min(200, n); i++) await c.turn(makeReq(i), first, doneMark);   // warm-up
    const deadline = Date.now() + 60000;
    for (let i = 0; i < n && Date.now() < deadline; i++) {
      const r = await c.turn(makeReq(i), first, doneMark);
      if (r.status !== 200 || r.ttft === null || !r.done) die(`${label}: turn ${i} failed (status ${r.status})`);
      xs.push(r.ttft);
    }
  } finally { c.close(); }
  xs.sort((a, b) => a - b);
  return { n: xs.length, p50: pct(xs, 50), p99: pct(xs, 99) };
}

// c clients, each in a loop of turns for `seconds`; returns {turns, rate, failed}.
async function throughput(port, c, seconds, makeReq, first, doneMark) {
  const clients = [];
  for (let i = 0; i < c; i++) clients.push(await Client.open(port));
  let turns = 0;
  let failed = 0;
  const t0 = now();
  const stopAt = t0 + seconds * 1000;
  await Promise.all(clients.map(async (cl, k) => {
    for (let i = 0; now() < stopAt; i++) {
      let r;
      try { r = await cl.turn(makeReq(k, i), first, doneMark); } catch { failed++; return; }
      if (r.status === 200 && r.done) turns++; else failed++;
    }
  }));
  const secs = (now() - t0) / 1000;
  for (const cl of clients) cl.close();
  return { turns, failed, rate: turns / secs };
}

// Sums messageCount over the conversations whose session starts with prefix.
async function storedMessages(prefix) {
  let cursor = '';
  let msgs = 0;
  let convs = 0;
  for (let page = 0; page < 100000; page++) {
    const q = `/v1/admin/conversations?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const r = await http(PPORT, 'GET', q, { headers: { 'x-admin-api-key': ADMIN } });
    if (r.status !== 200) die(`admin list: ${r.status} ${r.body}`);
    const j = JSON.parse(r.body);
    for (const c of j.conversations) {
      if (c.sessionId.startsWith(prefix)) { convs++; msgs += c.messageCount; }
    }
    if (!j.nextCursor) break;
    cursor = j.nextCursor;
  }
  return { convs, msgs };
}

// ------------------------------------------------------------ main

const out = {};
const t00 = Date.now();
const f = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '-');
const row = (name, a, b, target = '', note = '') => console.log(`${name.padEnd(34)} ${String(a).padStart(12)} ${String(b).padStart(12)}   ${target.padEnd(14)} ${note}`);
const ok = (cond) => (cond ? 'met' : 'NOT met');
if (EXTRA) Object.assign(out, JSON.parse(fs.readFileSync(DIRECT, 'latin1')));

// 1. time to first token, concurrency 1
await mockConfig({ chunks: 10, delay_ms: 0, first_delay_ms: 0 });
process.stderr.write(`bench: ${EXTRA ? `${EXTRA}: ` : ''}time to first token, ${TTFT_TURNS} sequential turns ${EXTRA ? 'through Parley' : 'each way'}...\n`);
if (!EXTRA) out.ttftDirect = await ttft('direct', MPORT, (i) => mockReq(`hello ${i}`), MOCK_FIRST, MOCK_DONE, TTFT_TURNS);
out.ttftParley = await ttft('parley', PPORT, (i) => parleyReq(`${RUN}-t-${sessionSeq++}`, `hello ${i}`), PARLEY_FIRST, PARLEY_DONE, TTFT_TURNS);

// 2. turns per second at c=32 and c=128; each client keeps one session for 10 turns
for (const c of [32, 128]) {
  process.stderr.write(`bench: ${EXTRA ? `${EXTRA}: ` : ''}turns per second at concurrency ${c}, ${TURN_SECONDS} s ${EXTRA ? 'through Parley' : 'each way'}...\n`);
  if (!EXTRA) out[`direct${c}`] = await throughput(MPORT, c, TURN_SECONDS, (k, i) => mockReq(`turn ${i}`), MOCK_FIRST, MOCK_DONE);
  const prefix = `${RUN}-c${c}-`;
  out[`parley${c}`] = await throughput(PPORT, c, TURN_SECONDS, (k, i) => parleyReq(`${prefix}${k}-${Math.floor(i / 10)}`, `turn ${i}`), PARLEY_FIRST, PARLEY_DONE);
  out[`stored${c}`] = await storedMessages(prefix);
}
if (SAVE) fs.writeFileSync(SAVE, JSON.stringify({ ttftDirect: out.ttftDirect, direct32: out.direct32, direct128: out.direct128 }));

// Rows for parts 1 and 2: the same in both runs.
function chatRows() {
  const addP50 = out.ttftParley.p50 - out.ttftDirect.p50;
  const addP99 = out.ttftParley.p99 - out.ttftDirect.p99;
  row(`time to first token p50 (ms), c=1`, f(out.ttftDirect.p50, 3), f(out.ttftParley.p50, 3), '', `${out.ttftParley.n} turns each; mock: 10 chunks, no delay`);
  row(`time to first token p99 (ms), c=1`, f(out.ttftDirect.p99, 3), f(out.ttftParley.p99, 3), '', '');
  row('  added by Parley, p50 (ms)', '', f(addP50, 3), '<= 0.5', ok(addP50 <= 0.5));
  row('  added by Parley, p99 (ms)', '', f(addP99, 3), '<= 2', ok(addP99 <= 2));
  for (const c of [32, 128]) {
    const st = out[`stored${c}`];
    const p = out[`parley${c}`];
    const allStored = st.msgs === 2 * p.turns;
    row(`turns/s, c=${c}`, f(out[`direct${c}`].rate, 0), f(p.rate, 0), '>= 5000', `${ok(p.rate >= 5000)}; ${p.turns} turns in ${TURN_SECONDS} s, ${p.failed} failed; stored ${st.msgs}/${2 * p.turns} messages${allStored ? ' (all)' : ' — NOT ALL STORED'}`);
  }
}

function chatEnd() {
  console.log('');
  console.log(`bench: chat part took ${((Date.now() - t00) / 1000).toFixed(0)} s`);
  const bad = ['parley32', 'parley128'].some((k) => out[k].turns === 0) || (out.rss && out.rss.ok === 0);
  const unstored = [32, 128].some((c) => out[`stored${c}`].msgs !== 2 * out[`parley${c}`].turns);
  if (unstored) console.log('bench: WARNING: some turns that completed were not all stored');
  process.exit(bad ? 1 : 0);
}

if (EXTRA) {
  console.log('');
  console.log(`Through Parley again, storaged restarted with ${EXTRA}${args.note ? ` (${args.note})` : ''}; direct figures from the run above:`);
  console.log('');
  row('', 'direct', 'Parley', 'target', '');
  chatRows();
  chatEnd();
}

// 3. RSS per open stream
await mockConfig({ chunks: 200, delay_ms: 20, first_delay_ms: 300 });
await sleep(500);
const base = parleyRss();
process.stderr.write(`bench: ${STREAMS} streams held (300 ms to the first chunk, 200 chunks 20 ms apart)...\n`);
const held = [];
let started = 0;
let opened = 0;
const openErrors = [];
const streamsDone = [];
for (let i = 0; i < STREAMS; i++) {
  const p = Client.open(PPORT).then((cl) => {
    opened++;
    held.push(cl);
    // a stream counts as open once its start event came
    return cl.turn(parleyReq(`${RUN}-h-${i}`, `hold ${i}`), '"type":"start"', PARLEY_DONE, () => { started++; });
  }, (e) => { openErrors.push(e.message); return null; });
  streamsDone.push(p.catch((e) => ({ error: e.message })));
}
// Sample RSS and the mock's open streams together; the figure is taken
// where the most streams were open at once.
const tHold = Date.now();
let best = { active: 0, kib: base.kib };
let allStartedAt = null;
const holdDeadline = Date.now() + 20000;
while (Date.now() < holdDeadline) {
  const st = await mockStats();
  const r = parleyRss();
  if (st.active_streams > best.active || (st.active_streams === best.active && r.kib > best.kib)) best = { active: st.active_streams, kib: r.kib };
  if (allStartedAt === null && started === STREAMS) allStartedAt = Date.now() - tHold;
  if (st.active_streams === 0 && started + openErrors.length >= STREAMS) break;
  await sleep(50);
}
const results = await Promise.all(streamsDone);
for (const cl of held) cl.close();
const okStreams = results.filter((r) => r && r.status === 200 && r.done).length;
out.rss = { base: base.kib, peak: best.kib, peakActive: best.active, per: best.active ? (best.kib - base.kib) / best.active : NaN, ok: okStreams, openErrors: openErrors.length, pids: base.pids, allStartedAt };

// ------------------------------------------------------------ table

console.log('');
console.log(`Chat: direct to the mock (SSE) vs through Parley (NDJSON)${MODE ? `, ${MODE}` : ''}, loopback, ${children(MASTER).length} workers, ${fs.readFileSync('/proc/cpuinfo', 'latin1').split('\nprocessor').length} cores shared with the client and the mock.`);
console.log('');
row('', 'direct', 'Parley', 'target', '');
chatRows();
row(`RSS per open stream (KiB)`, '-', f(out.rss.per, 1), '<= 32', `${ok(out.rss.per <= 32)}; ${out.rss.peakActive} of ${STREAMS} streams open at once then; ${out.rss.ok} completed; ${out.rss.pids} processes ${out.rss.base} -> ${out.rss.peak} KiB`);
if (out.rss.peakActive < STREAMS) console.log(`${''.padEnd(34)} (not all ${STREAMS} were open at the same moment: the first ended before the last started${out.rss.allStartedAt === null ? '' : `; all had started after ${out.rss.allStartedAt} ms`})`);
chatEnd();
