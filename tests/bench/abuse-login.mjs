#!/usr/bin/env node
// The login flood part of `make bench` (scripts/bench.sh runs it last, on a
// stack of its own): GET /health on every worker while wrong dashboard
// logins keep every worker's hash pool busy (issue 13: /health p99 under
// 20 ms during the flood).
//
//   1. a stack of 2 workers (tests/integration/lib/harness.mjs, the build
//      in PARLEY_BIN) with DASHBOARD_PASSWORD, TRUST_PROXY=loopback and the
//      failed-login budget off, so the flood is hashed all along;
//   2. /health on one keep-alive connection per worker, one request
//      after another (1 ms apart), BENCH_LOGIN_SECONDS (5) without logins,
//      then as long again during the flood: BENCH_LOGIN_CONCURRENCY (32)
//      wrong logins in flight at all times, each from a fresh IPv6 /64 in
//      X-Forwarded-For (so no per-client limit stops them);
//   3. prints per worker and in all: /health p50, p99, max, before and
//      during; the logins answered (401 = hashed, 503 = pool full).
//
// A figure is printed, never asserted. Only loopback.
//
//   PARLEY_BIN=bin node tests/bench/abuse-login.mjs
import { Parley, sleep, waitFor } from '../integration/lib/harness.mjs';
import { PASSWORD, loginRequest } from '../integration/lib/dashboard.mjs';

const SECONDS = Number(process.env.BENCH_LOGIN_SECONDS || 5);
const CONC = Number(process.env.BENCH_LOGIN_CONCURRENCY || 32);

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] : NaN;
};
const f = (x) => (Number.isFinite(x) ? x.toFixed(2) : '-');
const row = (name, xs) => `${name.padEnd(28)} ${String(xs.length).padStart(6)} ${f(pct(xs, 50)).padStart(8)} ${f(pct(xs, 99)).padStart(8)} ${f(Math.max(...xs)).padStart(9)}`;

// /health on conn, one after another, until stop(): latencies in ms.
async function healthLoop(p, conn, stop) {
  const lat = [];
  while (!stop()) {
    const t0 = process.hrtime.bigint();
    const r = await p.request('GET', '/health', { conn, timeout: 30000 });
    if (r.status !== 200) throw new Error(`/health: ${r.status}`);
    lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
    await sleep(1);
  }
  return lat;
}

async function main() {
  const p = new Parley({
    workers: 2,
    env: { DASHBOARD_PASSWORD: PASSWORD, TRUST_PROXY: 'loopback', DASHBOARD_LOGIN_FAILURES_PER_MINUTE: '0' },
  });
  // scripts/bench.sh stops this with SIGTERM on Ctrl-C or failure: stop the
  // stack first, or its processes would be left behind.
  for (const sig of ['SIGTERM', 'SIGINT']) process.once(sig, () => { p.stop().finally(() => process.exit(130)); });
  await p.start();
  try {
    const pids = p.workerPids();
    const conns = [];
    for (let i = 0; i < 8; i++) conns.push(await p.connect());
    await waitFor(() => conns.every((c) => pids.includes(p.connectionOwners(pids).get(c.localPort))), 5000, 'connections on workers');
    const owners = p.connectionOwners(pids);
    const hc = pids.map((w) => conns.find((c) => owners.get(c.localPort) === w));
    if (hc.some((c) => !c)) throw new Error('a worker without a connection');

    // Before: no logins.
    let end = Date.now() + SECONDS * 1000;
    const idle = await Promise.all(hc.map((c) => healthLoop(p, c, () => Date.now() > end)));

    // During: CONC wrong logins in flight, each from a fresh /64.
    end = Date.now() + SECONDS * 1000;
    let net = 0;
    const status = {};
    const flood = Array.from({ length: CONC }, async () => {
      while (Date.now() < end) {
        const ip = `2001:db8:${(++net).toString(16)}::1`;
        const r = await loginRequest(p, `wrong ${net}`, { headers: { 'X-Forwarded-For': ip }, timeout: 30000 });
        status[r.status] = (status[r.status] || 0) + 1;
      }
    });
    const busy = await Promise.all(hc.map((c) => healthLoop(p, c, () => Date.now() > end)));
    await Promise.all(flood);

    console.log(`\nLogin flood: /health (ms) on each worker, ${SECONDS} s idle, then ${SECONDS} s with ${CONC} wrong logins in flight`);
    console.log(`${'what'.padEnd(28)} ${'n'.padStart(6)} ${'p50'.padStart(8)} ${'p99'.padStart(8)} ${'max'.padStart(9)}`);
    pids.forEach((w, i) => {
      console.log(row(`worker ${w} idle`, idle[i]));
      console.log(row(`worker ${w} flood`, busy[i]));
    });
    console.log(row('every worker, flood', busy.flat()));
    console.log(`logins answered: ${Object.entries(status).map(([s, n]) => `${n} x ${s}`).join(', ')} (401: hashed; 503: a worker's pool was full); target /health p99 < 20 ms`);
    for (const c of conns) c.destroy();
  } finally {
    await p.stop();
  }
}

main().catch((e) => { console.error(`bench: ${e.stack || e}`); process.exit(1); });
