#!/usr/bin/env node
// Chat turns per second with the workers reaching storaged over its Unix
// socket, then over mutual TLS on loopback (issue 25): the same Parley
// (BENCH_WORKERS workers, default 2; the mock model answering at once),
// BENCH_TURNS (3000) non-streamed turns, BENCH_CONC (64) at a time. Each
// turn is two storaged round trips (begin, then the answer stored), so
// the figures show what TLS costs storaged's batching. Run by hand:
//
//   PARLEY_BIN=$PWD/bin node tests/bench/storaged-tls.mjs
import path from 'node:path';

import { Parley } from '../integration/lib/harness.mjs';
import { chat, sid } from '../integration/lib/chat.mjs';

const BIN = process.env.PARLEY_BIN || path.resolve('bin');
const TURNS = Number(process.env.BENCH_TURNS || 3000);
const CONC = Number(process.env.BENCH_CONC || 64);
const WORKERS = Number(process.env.BENCH_WORKERS || 2);

async function run(clusterTls) {
  const p = new Parley({
    workers: WORKERS, logLevel: 'warn', clusterTls,
    mock: { chunks: 1, bin: path.join(BIN, 'mockai') },
    env: { RATE_LIMIT_MAX_REQUESTS: '0', WIDGET_NEW_SESSIONS_PER_MINUTE: '0' },
  });
  await p.start();
  try {
    let next = 0, failed = 0;
    const one = async () => {
      while (next < TURNS) {
        next++;
        const r = await chat(p, sid('bench'), 'hello');
        if (r.status !== 200) failed++;
      }
    };
    // Warm up: connections made, pages in memory.
    await Promise.all(Array.from({ length: 8 }, () => chat(p, sid('warm'), 'hi')));
    const t0 = process.hrtime.bigint();
    await Promise.all(Array.from({ length: CONC }, one));
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    return { rate: TURNS / s, failed };
  } finally {
    await p.stop();
  }
}

const unix = await run(false);
const tls = await run(true);
console.log(`chat turns/s, ${TURNS} turns, ${CONC} at a time, ${WORKERS} workers:`);
console.log(`  storaged over the Unix socket: ${unix.rate.toFixed(0)}${unix.failed ? ` (${unix.failed} failed)` : ''}`);
console.log(`  storaged over TLS (loopback):  ${tls.rate.toFixed(0)}${tls.failed ? ` (${tls.failed} failed)` : ''}`);
console.log(`  TLS / Unix: ${(tls.rate / unix.rate).toFixed(2)}`);
