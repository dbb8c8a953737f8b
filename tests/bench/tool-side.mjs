#!/usr/bin/env node
// The actions' figure of `make bench`: what a tool round adds to a turn's
// first token against a 5 ms loopback API, and Parley's own share of it
// (goal: at most 1 ms beyond the API's own time). scripts/bench.sh starts
// the mock model and Parley (PARLEY_ACTIONS_ALLOW_PRIVATE=on) pinned, then
// runs this on the client's CPU with the owner's API of its own on
// 127.0.0.1 (GET /orders/ID answers 5 ms later).
//
// The widget's agent is given the action. Interleaved rounds
// (BENCH_TOOL_ROUNDS, 3) of four parts, BENCH_TOOL_TURNS (200) each at
// concurrency 1, each turn a new conversation:
//   plain   a turn whose model answers in words (the tools offered, none
//           called): its first token;
//   tool    a turn whose model calls the action once, then answers with
//           what it said: its first token;
//   mock    the mock called directly with the tool turn's first request:
//           the time to its last byte (a tool round's own model time);
//   api     the API called directly, a new connection each time (as
//           Parley's calls are): the time to its whole answer.
// Parley's own time per tool round = (tool - plain) - mock - api, p50
// against p50. The raw figures go to --out (key "tools").
//
//   node tests/bench/tool-side.mjs --parley PORT --mock PORT --key WIDGET_KEY --admin ADMIN_KEY --out FILE
import http from 'node:http';

import { MOCK_DONE, PARLEY_DONE, PARLEY_FIRST, die, http as request, median, mockReq, now, parleyReq, parseArgs, pct,
  saveJson, ttftRun } from './lib.mjs';

const a = parseArgs();
for (const k of ['parley', 'mock', 'key', 'admin', 'out']) if (!a[k]) die(`tool-side.mjs: missing --${k}`);
const PORT = Number(a.parley);
const ROUNDS = Number(process.env.BENCH_TOOL_ROUNDS || 3);
const TURNS = Number(process.env.BENCH_TOOL_TURNS || 200);
const API_MS = 5;
const CALL = `[[mock:call=order_status,args=${encodeURIComponent('{"order_id":"4411"}')}]]`;

const api = http.createServer((req, res) => {
  setTimeout(() => {
    res.setHeader('content-type', 'application/json');
    res.end('{"order_id":"4411","status":"shipped"}');
  }, API_MS);
});
await new Promise((ok) => api.listen(0, '127.0.0.1', ok));
const apiPort = api.address().port;

async function admin(method, path, body) {
  const r = await request(PORT, method, path, {
    headers: { 'x-admin-api-key': a.admin }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (r.status >= 300) die(`tool-side.mjs: ${method} ${path}: ${r.status} ${r.body}`);
  return r.body ? JSON.parse(r.body) : {};
}

// The API called directly, a new connection a call: n times, sorted ms.
async function apiRun(n) {
  const xs = [];
  for (let i = 0; i < n; i++) {
    const t = now();
    await new Promise((ok, fail) => {
      http.get({ host: '127.0.0.1', port: apiPort, path: '/orders/4411', agent: false }, (res) => {
        res.resume();
        res.on('end', ok);
      }).on('error', fail);
    });
    xs.push(now() - t);
  }
  return xs.sort((x, y) => x - y);
}

const act = await admin('POST', '/v1/admin/actions', {
  name: 'order_status', description: 'Looks up an order by its number.',
  parameters: { type: 'object', properties: { order_id: { type: 'string' } }, required: ['order_id'] },
  url: `http://127.0.0.1:${apiPort}/orders/{{order_id}}`,
});
const agent = await admin('POST', '/v1/admin/agents', { name: 'Shop', action_ids: [act.id] });
const widget = (await admin('GET', '/v1/admin/widgets')).widgets[0];
await admin('PATCH', `/v1/admin/widgets/${widget.widget_id}`, { agent_id: agent.id });

const out = { rounds: [], turns: TURNS, api_ms: API_MS };
for (let r = 0; r < ROUNDS; r++) {
  const plain = await ttftRun('plain', PORT, (i) => parleyReq(a.key, `tp-${r}-${i}`, 'hello'),
    PARLEY_FIRST, PARLEY_DONE, TURNS, 20);
  const tool = await ttftRun('tool', PORT, (i) => parleyReq(a.key, `tt-${r}-${i}`, `where is 4411? ${CALL}`),
    PARLEY_FIRST, PARLEY_DONE, TURNS, 20);
  const mock = await ttftRun('mock', Number(a.mock), () => mockReq(`where is 4411? ${CALL}`),
    MOCK_DONE, MOCK_DONE, TURNS, 20);
  const apiXs = await apiRun(TURNS);
  const row = {
    round: r, plain_p50: plain.p50, plain_p99: plain.p99, tool_p50: tool.p50, tool_p99: tool.p99,
    mock_p50: mock.p50, api_p50: pct(apiXs, 50), api_p99: pct(apiXs, 99),
  };
  row.added_p50 = row.tool_p50 - row.plain_p50;
  row.own_p50 = row.added_p50 - row.mock_p50 - row.api_p50;
  out.rounds.push(row);
  console.log(`bench: tools round ${r + 1}: first token p50 ${row.plain_p50.toFixed(2)} ms plain, ` +
    `${row.tool_p50.toFixed(2)} ms with one call (added ${row.added_p50.toFixed(2)}); the mock's tool round ` +
    `${row.mock_p50.toFixed(2)} ms, the API ${row.api_p50.toFixed(2)} ms: Parley's own ${row.own_p50.toFixed(2)} ms`);
}
await admin('PATCH', `/v1/admin/widgets/${widget.widget_id}`, { agent_id: null });
api.close();
saveJson(a.out, 'tools', out);

const med = (k) => median(out.rounds.map((x) => x[k]));
console.log('bench: tools, medians over the rounds (ms, p50)');
for (const [k, label] of [['plain_p50', 'first token, no call'], ['tool_p50', 'first token, one call'],
  ['added_p50', 'added by the tool round'], ['mock_p50', "the model's tool round (direct)"],
  ['api_p50', "the API's own time (direct)"], ['own_p50', "Parley's own per tool round (goal <= 1 ms)"]]) {
  console.log(`bench:   ${label.padEnd(44)} ${med(k).toFixed(2).padStart(8)}`);
}
process.exit(0);
