#!/usr/bin/env node
// Open streams, side by side (scripts/bench.sh runs it for 1,000 and 4,000
// streams, then for 10,000 on a stack of two workers each): --n streams
// held through nginx, then through Parley, while the mock model takes
// 300 ms to its first chunk and then sends 60 chunks 200 ms apart (about
// 12.3 s a stream).
//
// For each server:
//   1. the mock is idle, the server's RSS (summed over its processes) is
//      the baseline;
//   2. --n keep-alive connections are opened (256 connecting at a time),
//      then one request on each, BENCH_STREAM_RATE a second (so every
//      stream is open at once: the last starts before the first ends);
//   3. every 100 ms: the mock's open streams and the server's RSS; the RSS
//      figure is the sample with the most streams open at once, and RSS per
//      stream is (that - baseline) / those streams;
//   4. each stream's time to first token (from its request written to its
//      first content) and whether it ended well; an error is a non-200, a
//      stream that did not end with its done marker, a closed connection,
//      or one not over by the deadline.
// Parley's streams are then checked stored (admin API). One run is one
// round; scripts/bench.sh runs BENCH_STREAM_ROUNDS of them, each on freshly
// started servers (a process keeps the memory a previous round grew, so a
// second round on it would show almost no growth). Each round is appended
// to --out under "streams<N>", with the rounds' medians (TTFT percentiles,
// RSS per stream) and sums (errors) as "nginx" and "parley"; report.mjs
// prints the table.
//
//   node tests/bench/streams.mjs --n N --mock PORT --nginx PORT --nginx-pids PID \
//        --parley PORT --parley-pids SPID,MPID --key KEY --admin KEY --out FILE \
//        [--workers W]
import fs from 'node:fs';

import {
  Client, MOCK_DONE, MOCK_FIRST, PARLEY_DONE, PARLEY_FIRST, die, median, mockConfig, mockReq,
  mockStats, now, parleyArgs, parleyReq, pct, rssSum, saveJson, sleep, storedTotal,
} from './lib.mjs';

const a = parleyArgs('streams.mjs', ['n', 'nginx', 'nginx-pids', 'out']);
const N = Number(a.n);
const RATE = Number(process.env.BENCH_STREAM_RATE || 2000);
const CHUNKS = 60;
const GAP = 200;
const FIRST = 300;
const RUN = `h${process.pid}-${Date.now().toString(36)}`;
// "You said: " + this, at least 60 code points, so the reply is cut in 60.
const msg = (i) => `stream ${i}: what are your opening hours, and how do returns work here?`;

async function idle() {
  for (let i = 0; i < 300; i++) {
    if ((await mockStats(a.mock)).active_streams === 0) return;
    await sleep(100);
  }
  die('the mock still has open streams 30 s after the last run');
}

async function openAll(port) {
  const clients = new Array(N);
  let next = 0;
  let errors = 0;
  await Promise.all(Array.from({ length: Math.min(256, N) }, async () => {
    while (next < N) {
      const i = next++;
      try { clients[i] = await Client.open(port); } catch { errors++; }
    }
  }));
  return { clients, errors };
}

async function side(name, port, roots, req, first, doneMark, round) {
  await idle();
  await sleep(1000);
  const base = rssSum(roots);
  process.stderr.write(`bench: ${N} streams through ${name} (${RATE}/s)...\n`);
  const { clients, errors: connectErrors } = await openAll(port);
  const results = new Array(N).fill(null);
  const tStart = now();
  const deadline = tStart + (N / RATE) * 1000 + FIRST + CHUNKS * GAP + 20000;
  let sent = 0;
  const pending = [];
  // Requests go out paced: every 10 ms, as many as the rate allows by then.
  const pacer = (async () => {
    while (sent < N) {
      const due = Math.min(N, Math.floor(((now() - tStart) / 1000) * RATE) + 1);
      for (; sent < due; sent++) {
        const i = sent;
        const cl = clients[i];
        if (!cl) continue;
        pending.push(cl.turn(req(`${RUN}-${name}-${round}-${i}`, msg(i)), first, doneMark)
          .then((r) => { results[i] = r; }, (e) => { results[i] = { error: e.message }; }));
      }
      await sleep(10);
    }
  })();
  let best = { active: -1, kib: base };
  let samples = 0;
  while (now() < deadline) {
    const [st, kib] = [await mockStats(a.mock), rssSum(roots)];
    samples++;
    if (st.active_streams > best.active || (st.active_streams === best.active && kib > best.kib)) best = { active: st.active_streams, kib };
    if (sent >= N && results.every((r, i) => r !== null || !clients[i])) break;
    await sleep(100);
  }
  await pacer;
  const wall = (now() - tStart) / 1000;
  for (const cl of clients) if (cl) cl.close();
  await Promise.allSettled(pending);
  const ok = results.filter((r) => r && r.status === 200 && r.done);
  const ttfts = ok.map((r) => r.ttft).filter((x) => x !== null).sort((x, y) => x - y);
  const late = results.filter((r, i) => r === null && clients[i]).length;
  const out = {
    n: N, rate: RATE, ok: ok.length, errors: N - ok.length, connectErrors, late,
    statuses: Object.entries(results.reduce((m, r) => { const k = r ? (r.error ? 'error' : `${r.status}${r.done ? '' : '-cut'}`) : 'late'; m[k] = (m[k] || 0) + 1; return m; }, {})),
    ttft: { p50: pct(ttfts, 50), p90: pct(ttfts, 90), p99: pct(ttfts, 99), max: ttfts[ttfts.length - 1] },
    rss: { baseKiB: base, peakKiB: best.kib, peakActive: best.active, perStreamKiB: best.active > 0 ? (best.kib - base) / best.active : null, samples },
    wall,
  };
  process.stderr.write(`bench:   ${name}: ${out.ok}/${N} ok, TTFT p50 ${out.ttft.p50?.toFixed(1)} p99 ${out.ttft.p99?.toFixed(1)} ms, ${best.active} open at once, RSS ${base} -> ${best.kib} KiB\n`);
  return out;
}

// The rounds of one server as one result: TTFT percentiles and RSS per
// stream are the medians over the rounds, counts are summed.
function summary(xs) {
  const med = (fn) => median(xs.map(fn));
  const statuses = {};
  for (const x of xs) for (const [k, v] of x.statuses) statuses[k] = (statuses[k] || 0) + v;
  return {
    n: N, rate: RATE, rounds: xs.length, ok: xs.reduce((t, x) => t + x.ok, 0), errors: xs.reduce((t, x) => t + x.errors, 0),
    statuses: Object.entries(statuses),
    ttft: { p50: med((x) => x.ttft.p50), p90: med((x) => x.ttft.p90), p99: med((x) => x.ttft.p99), max: Math.max(...xs.map((x) => x.ttft.max ?? NaN)) },
    rss: { baseKiB: med((x) => x.rss.baseKiB), peakKiB: med((x) => x.rss.peakKiB), peakActive: Math.min(...xs.map((x) => x.rss.peakActive)), perStreamKiB: med((x) => x.rss.perStreamKiB ?? NaN) },
  };
}

const t0 = Date.now();
await mockConfig(a.mock, { chunks: CHUNKS, delay_ms: GAP, first_delay_ms: FIRST });
const key = `streams${N}`;
let res = { workers: Number(a.workers || 1), rounds: [], seconds: 0 };
try { res = JSON.parse(fs.readFileSync(a.out, 'utf8'))[key] || res; } catch { /* the first round */ }
const round = res.rounds.length;
const nginx = await side('nginx', a.nginx, a.nginxPids, (s, m) => mockReq(m), MOCK_FIRST, MOCK_DONE, round);
const stored0 = await storedTotal(a.parley, a.admin);
const parley = await side('parley', a.parley, a.parleyPids, (s, m) => parleyReq(a.key, s, m), PARLEY_FIRST, PARLEY_DONE, round);
parley.stored = { expected: 2 * parley.ok, msgs: (await storedTotal(a.parley, a.admin)) - stored0 };
res.rounds.push({ nginx, parley });
res.nginx = summary(res.rounds.map((x) => x.nginx));
res.parley = summary(res.rounds.map((x) => x.parley));
res.parley.stored = res.rounds.reduce((t, x) => ({ expected: t.expected + x.parley.stored.expected, msgs: t.msgs + x.parley.stored.msgs }), { expected: 0, msgs: 0 });
await mockConfig(a.mock, { chunks: 10, delay_ms: 0, first_delay_ms: 0 });
await idle();
res.seconds += (Date.now() - t0) / 1000;
saveJson(a.out, key, res);
process.stderr.write(`bench: ${N} streams, round ${round + 1}, took ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
