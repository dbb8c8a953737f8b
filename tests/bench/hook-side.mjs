#!/usr/bin/env node
// The webhooks' isolation figures of `make bench` (issue 23: "a slow
// receiver (10 s per request) does not change chat's first-token latency
// or delay deliveries to another endpoint"). scripts/bench.sh starts the
// mock model and Parley (PARLEY_WEBHOOK_ALLOW_PRIVATE=on) pinned, then
// runs this on the client's CPU with two receivers of its own on
// 127.0.0.1: a fast one (answers at once) and a slow one (10 s an answer).
// Both webhooks want message.created (two deliveries a turn each).
//
// Interleaved rounds (BENCH_HOOK_ROUNDS, 3) of two halves, "fast" (the
// slow webhook disabled) and "fast+slow" (enabled: its 4 attempts in
// flight always busy and its backlog growing), each BENCH_HOOK_TURNS
// (300) turns at concurrency 1, each a new conversation: the time to first
// token (p50, p99), and the fast receiver's delivery delay (received
// minus the event's timestamp, p50, p99). The raw figures go to --out
// (key "hooks"); the table is printed here. Only loopback; every loop is
// bounded.
//
//   node tests/bench/hook-side.mjs --parley PORT --key WIDGET_KEY --admin ADMIN_KEY --out FILE
import http from 'node:http';

import { PARLEY_DONE, PARLEY_FIRST, die, http as request, median, parleyReq, parseArgs, pct, saveJson, sleep, ttftRun } from './lib.mjs';

const a = parseArgs();
for (const k of ['parley', 'key', 'admin', 'out']) if (!a[k]) die(`hook-side.mjs: missing --${k}`);
const PORT = Number(a.parley);
const ROUNDS = Number(process.env.BENCH_HOOK_ROUNDS || 3);
const TURNS = Number(process.env.BENCH_HOOK_TURNS || 300);
const SLOW_MS = 10000;

// A receiver: answers after delayMs; each request's delay after its event.
async function receiver(delayMs) {
  const r = { delays: [], open: new Set() };
  r.server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      try { r.delays.push(Date.now() - Date.parse(JSON.parse(body).timestamp)); } catch { /* not ours */ }
      const t = setTimeout(() => res.end('ok'), delayMs);
      r.open.add(t);
      res.on('close', () => { clearTimeout(t); r.open.delete(t); });
    });
  });
  await new Promise((ok) => r.server.listen(0, '127.0.0.1', ok));
  r.url = `http://127.0.0.1:${r.server.address().port}/hook`;
  r.close = () => new Promise((ok) => { r.server.closeAllConnections(); r.server.close(ok); });
  return r;
}

async function admin(method, path, body) {
  const r = await request(PORT, method, path, {
    headers: { 'x-admin-api-key': a.admin }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (r.status >= 300) die(`hook-side.mjs: ${method} ${path}: ${r.status} ${r.body}`);
  return r.body ? JSON.parse(r.body) : {};
}

const fast = await receiver(0);
const slow = await receiver(SLOW_MS);
const fastHook = await admin('POST', '/v1/admin/webhooks', { url: fast.url, events: ['message.created'] });
const slowHook = await admin('POST', '/v1/admin/webhooks', { url: slow.url, events: ['message.created'], enabled: false });

const out = { rounds: [], turns: TURNS, slow_ms: SLOW_MS };
for (let r = 0; r < ROUNDS; r++) {
  for (const mode of ['fast', 'fast+slow']) {
    await admin('PATCH', `/v1/admin/webhooks/${slowHook.id}`, { enabled: mode === 'fast+slow' });
    await sleep(500);
    fast.delays.length = 0;
    const t = await ttftRun(mode, PORT, (i) => parleyReq(a.key, `hook-${r}-${mode === "fast" ? "f" : "fs"}-${i}`, "hello"),
      PARLEY_FIRST, PARLEY_DONE, TURNS, 20);
    // The fast receiver's last deliveries of the half.
    const want = 2 * (TURNS + 20);
    for (let w = 0; w < 100 && fast.delays.length < want; w++) await sleep(50);
    const d = [...fast.delays].sort((x, y) => x - y);
    out.rounds.push({
      round: r, mode, ttft_p50: t.p50, ttft_p99: t.p99, delivered: d.length, of: want,
      delay_p50: pct(d, 50), delay_p99: pct(d, 99), slow_received: slow.delays.length,
    });
    console.log(`bench: hooks round ${r + 1} ${mode.padEnd(9)}: first token p50 ${t.p50.toFixed(2)} ms, p99 ${t.p99.toFixed(2)} ms; ` +
      `fast receiver ${d.length}/${want} delivered, delay p50 ${pct(d, 50)} ms, p99 ${pct(d, 99)} ms; slow receiver ${slow.delays.length} so far`);
  }
}
await admin('DELETE', `/v1/admin/webhooks/${slowHook.id}`);
await admin('DELETE', `/v1/admin/webhooks/${fastHook.id}`);
await fast.close();
await slow.close();
saveJson(a.out, 'hooks', out);

const med = (mode, k) => median(out.rounds.filter((x) => x.mode === mode).map((x) => x[k]));
console.log('bench: hooks, medians over the rounds    fast only   fast + slow (10 s) receiver');
for (const [k, label] of [['ttft_p50', 'first token p50 (ms)'], ['ttft_p99', 'first token p99 (ms)'],
  ['delay_p50', 'fast delivery delay p50 (ms)'], ['delay_p99', 'fast delivery delay p99 (ms)']]) {
  console.log(`bench:   ${label.padEnd(32)} ${med('fast', k).toFixed(2).padStart(9)}   ${med('fast+slow', k).toFixed(2).padStart(9)}`);
}
process.exit(0);
