#!/usr/bin/env node
// The messages export's cost (GET /v1/admin/export?rows=messages): one
// Parley (1 worker, PARLEY_SYNC=full) on the build PARLEY_BIN names (`make`:
// bin), BENCH_EXPORT_CONVS (2,000) conversations of BENCH_EXPORT_MSGS (3)
// messages each written through storaged, then BENCH_EXPORT_ROUNDS (5)
// exports of every message as JSON Lines: the median time, the rows and
// bytes, and storaged's requests per export (its /metrics, before and
// after the last one). A figure is printed, never asserted.
//
//   PARLEY_BIN=$PWD/bin node tests/bench/export-pages.mjs
import crypto from 'node:crypto';
import path from 'node:path';

import { pool } from '../integration/lib/harness.mjs';
import { benchParley, storageCounts } from './lib.mjs';

const BIN = process.env.PARLEY_BIN || path.resolve('bin');
const CONVS = Number(process.env.BENCH_EXPORT_CONVS || 2000);
const MSGS = Number(process.env.BENCH_EXPORT_MSGS || 3);
const ROUNDS = Number(process.env.BENCH_EXPORT_ROUNDS || 5);

const p = await benchParley(BIN);
await p.start();
try {
  const st = await p.storage({ name: 'bench-export' });
  try {
    await pool(Array.from({ length: CONVS }, (_, i) => i), 16, async (i) => {
      const { conv } = await st.convOpen('default', `export-${i}-${crypto.randomBytes(3).toString('hex')}`);
      for (let k = 0; k < MSGS; k++)
        await st.msgAppend(conv.id, k % 2 ? 'assistant' : 'user', `message ${k} of conversation ${i}`, 'complete', 0, 0);
    });
  } finally {
    st.close();
  }
  const times = [];
  let rows = 0, bytes = 0, requests = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const before = await storageCounts(p.port, p.adminKey);
    const t0 = process.hrtime.bigint();
    const res = await p.admin('/v1/admin/export?format=jsonl&rows=messages', { timeout: 600000 });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (res.status !== 200) throw new Error(`export: ${res.status} ${res.text.slice(0, 200)}`);
    rows = res.text.split('\n').filter(Boolean).length;
    bytes = Buffer.byteLength(res.text);
    requests = (await storageCounts(p.port, p.adminKey)).requests - before.requests;
  }
  if (rows !== CONVS * MSGS) throw new Error(`export: ${rows} rows, ${CONVS * MSGS} written`);
  times.sort((a, b) => a - b);
  console.log(`export of ${CONVS} conversations x ${MSGS} messages (rows=messages, JSON Lines, ${bytes} bytes): ` +
    `median ${times[Math.floor(times.length / 2)].toFixed(1)} ms of ${ROUNDS} (min ${times[0].toFixed(1)}, ` +
    `max ${times[times.length - 1].toFixed(1)}); storaged requests per export ${requests}`);
} finally {
  await p.stop();
}
