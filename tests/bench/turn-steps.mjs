#!/usr/bin/env node
// Where a streamed turn's time goes in Parley, by step, from the worker's
// own timings (turn.c logs them at debug level as each turn ends): the
// begin sent to storaged -> its early answer -> the model asked -> the
// model's first text -> the first token handed to the client. One Parley
// (1 worker, PARLEY_SYNC=full) on the build PARLEY_BIN names (`make`: bin),
// the mock model thinking BENCH_THINK_MS (default 0,5,20) ms, BENCH_STEP_TURNS
// (300) sequential turns each; prints each step's median in µs.
//
//   PARLEY_BIN=$PWD/bin node tests/bench/turn-steps.mjs
import path from 'node:path';

import { Parley } from '../integration/lib/harness.mjs';
import { sid, streamTurn } from '../integration/lib/chat.mjs';

const BIN = process.env.PARLEY_BIN || path.resolve('bin');
const THINK = (process.env.BENCH_THINK_MS || '0,5,20').split(',').filter(Boolean).map(Number);
const TURNS = Number(process.env.BENCH_STEP_TURNS || 300);
const STEPS = ['begin->answer', 'answer->model', 'model->first text', 'first text->token'];

for (const ms of THINK) {
  const p = new Parley({
    workers: 1, logLevel: 'debug',
    mock: { chunks: 3, firstDelayMs: ms, bin: path.join(BIN, 'mockai') },
    env: { RATE_LIMIT_MAX_REQUESTS: '0', PARLEY_SYNC: 'full' },
  });
  await p.start();
  try {
    for (let i = 0; i < TURNS; i++) await streamTurn(p, sid('steps'), `hello ${i}`);
    await new Promise((r) => setTimeout(r, 300));
    const rows = [...p.logs.masterd.matchAll(/turn times \(us\): begin->answer (\d+), answer->model (\d+), model->first text (\d+), first text->token (\d+)/g)]
      .map((m) => m.slice(1).map(Number));
    const med = (k) => { const v = rows.map((r) => r[k]).sort((a, b) => a - b); return v[Math.floor(v.length / 2)]; };
    console.log(`model ${ms} ms, ${rows.length} turns, medians (µs): ${STEPS.map((s, k) => `${s} ${med(k)}`).join(', ')}`);
  } finally {
    await p.stop();
  }
}
