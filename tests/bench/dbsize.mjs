#!/usr/bin/env node
// The first token against the database's size (scripts/bench.sh runs it on
// a fresh data directory, then after dbload.mjs filled it to 100k and to
// 1M conversations): BENCH_DB_ROUNDS rounds, each BENCH_DB_TTFT_TURNS
// sequential turns direct to the mock, then as many through Parley (each a
// new conversation); "added" is Parley's p50 (p99) minus the direct p50
// (p99) of the same round. The conversation count (admin API total) must
// grow by the Parley turns. Then the reports' query (GET /v1/admin/reports)
// at that size: BENCH_REPORT_QUERIES [200] sequential requests for the last
// 30 days and as many for 366 days, p50 and p99 of each (goal: p99 at most
// 100 ms), and the knowledge gaps' query (GET /v1/admin/knowledge-gaps, the
// last 30 days: the newest 500 gaps read and grouped; dbload.mjs makes
// every tenth conversation a gap) as many times. Raw figures go to --out
// under "db-<label>".
//
//   node tests/bench/dbsize.mjs --label NAME --mock PORT --parley PORT \
//        --parley-pids SPID,MPID --key KEY --admin KEY --out FILE
import {
  MOCK_DONE, MOCK_FIRST, PARLEY_DONE, PARLEY_FIRST, die, http, median, mockConfig, mockReq,
  parleyArgs, parleyReq, pct, saveJson, ttftRun,
} from './lib.mjs';

const a = parleyArgs('dbsize.mjs', ['label', 'out']);
const ROUNDS = Number(process.env.BENCH_DB_ROUNDS || 3);
const TURNS = Number(process.env.BENCH_DB_TTFT_TURNS || 1000);
const WARM = 100;
const RUN = `d${process.pid}-${Date.now().toString(36)}`;

async function total() {
  const r = await http(a.parley, 'GET', '/v1/admin/conversations?limit=1', { headers: { 'x-admin-api-key': a.admin } });
  if (r.status !== 200) die(`admin list: ${r.status} ${r.body}`);
  return JSON.parse(r.body).total;
}

const t0 = Date.now();
await mockConfig(a.mock, { chunks: 10, delay_ms: 0, first_delay_ms: 0 });
const before = await total();
const rounds = [];
let turns = 0;
for (let r = 0; r < ROUNDS; r++) {
  process.stderr.write(`bench: database ${a.label} (${before} conversations): round ${r + 1}/${ROUNDS}, ${TURNS} turns at c=1 each way...\n`);
  const d = await ttftRun('direct', a.mock, (i) => mockReq(`hello ${i}`), MOCK_FIRST, MOCK_DONE, TURNS, WARM);
  const p = await ttftRun('parley', a.parley, (i) => parleyReq(a.key, `${RUN}-${r}-${i}`, `hello ${i}`), PARLEY_FIRST, PARLEY_DONE, TURNS, WARM);
  turns += p.n + Math.min(WARM, TURNS);
  rounds.push({ direct: { n: d.n, p50: d.p50, p99: d.p99 }, parley: { n: p.n, p50: p.p50, p99: p.p99 }, added: { p50: p.p50 - d.p50, p99: p.p99 - d.p99 } });
}
const after = await total();

// The reports' query: ms of each answer, sorted.
const QUERIES = Number(process.env.BENCH_REPORT_QUERIES || 200);
async function reportTimes(days) {
  const to = new Date();
  const from = new Date(to.getTime() - (days - 1) * 86400000);
  const q = `/v1/admin/reports?from=${from.toISOString().slice(0, 10)}&to=${to.toISOString().slice(0, 10)}&tz=UTC`;
  const xs = [];
  for (let i = 0; i < QUERIES; i++) {
    const s = performance.now();
    const r = await http(a.parley, 'GET', q, { headers: { 'x-admin-api-key': a.admin } });
    xs.push(performance.now() - s);
    if (r.status !== 200) die(`reports: ${r.status} ${r.body}`);
    if (i === 0 && JSON.parse(r.body).totals.conversations < Math.min(after, 1)) die('reports: no conversation counted');
  }
  xs.sort((x, y) => x - y);
  return { n: xs.length, p50: pct(xs, 50), p99: pct(xs, 99) };
}
const reports = { days30: await reportTimes(30), days366: await reportTimes(366) };
process.stderr.write(`bench: database ${a.label}: GET /v1/admin/reports p50 ${reports.days30.p50.toFixed(2)} ms, p99 ${reports.days30.p99.toFixed(2)} ms (30 days); p50 ${reports.days366.p50.toFixed(2)} ms, p99 ${reports.days366.p99.toFixed(2)} ms (366 days) (goal: p99 at most 100 ms)\n`);

// The knowledge gaps' query (the newest 500 gaps read and grouped): ms of each answer, sorted.
async function gapTimes() {
  const xs = [];
  let got = null;
  for (let i = 0; i < QUERIES; i++) {
    const s = performance.now();
    const r = await http(a.parley, 'GET', '/v1/admin/knowledge-gaps?days=30', { headers: { 'x-admin-api-key': a.admin } });
    xs.push(performance.now() - s);
    if (r.status !== 200) die(`knowledge gaps: ${r.status} ${r.body}`);
    if (i === 0) got = JSON.parse(r.body);
  }
  xs.sort((x, y) => x - y);
  return { n: xs.length, p50: pct(xs, 50), p99: pct(xs, 99), gaps: got.total, groups: got.groups.length };
}
const gaps = await gapTimes();
process.stderr.write(`bench: database ${a.label}: GET /v1/admin/knowledge-gaps p50 ${gaps.p50.toFixed(2)} ms, p99 ${gaps.p99.toFixed(2)} ms (${gaps.gaps} gaps read, ${gaps.groups} groups)\n`);

const res = {
  conversations: before, rounds, turns, stored: { expected: turns, newConversations: after - before },
  added: { p50: median(rounds.map((x) => x.added.p50)), p99: median(rounds.map((x) => x.added.p99)) },
  reports,
  gaps,
  seconds: (Date.now() - t0) / 1000,
};
saveJson(a.out, `db-${a.label}`, res);
process.stderr.write(`bench: database ${a.label}: added TTFT p50 ${res.added.p50.toFixed(3)} ms, p99 ${res.added.p99.toFixed(3)} ms (medians of ${ROUNDS} rounds); ${after - before} of ${turns} turns stored as new conversations; ${res.seconds.toFixed(0)} s\n`);
if (after - before !== turns) die(`database ${a.label}: ${after - before} new conversations for ${turns} turns`);
