#!/usr/bin/env node
// Where a streamed turn's time goes in Parley, by step, from the worker's
// own timings (turn.c logs them at debug level as each turn ends): the
// begin sent to storaged -> its early answer -> the model asked -> the
// model's first text -> the first token handed to the client. One Parley
// (1 worker, PARLEY_SYNC=full) on the build PARLEY_BIN names (`make`: bin),
// the mock model thinking BENCH_THINK_MS (default 0,5,20) ms, BENCH_STEP_TURNS
// (300) sequential turns each; prints each step's median in µs. With
// BENCH_PIN=1, pinned as `make bench`'s chat section: Parley's processes
// (every thread) on CPU 1, this client and the mock on CPU 0 (taskset).
//
//   PARLEY_BIN=$PWD/bin [BENCH_PIN=1] node tests/bench/turn-steps.mjs
import { execFileSync } from 'node:child_process';
import path from 'node:path';

import { Parley, childPids } from '../integration/lib/harness.mjs';
import { sid, streamTurn } from '../integration/lib/chat.mjs';

const BIN = process.env.PARLEY_BIN || path.resolve('bin');
const THINK = (process.env.BENCH_THINK_MS || '0,5,20').split(',').filter(Boolean).map(Number);
const TURNS = Number(process.env.BENCH_STEP_TURNS || 300);
const STEPS = ['begin->answer', 'answer->model', 'model->first text', 'first text->token'];
const PIN = process.env.BENCH_PIN === '1';

// Every thread of pid on cpu, and of its children too when tree (not
// for this process: the servers are its children).
function pin(pid, cpu, tree) {
  execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
  if (tree) for (const c of childPids(pid)) pin(c, cpu, tree);
}

for (const ms of THINK) {
  const p = new Parley({
    workers: 1, logLevel: 'debug',
    mock: { chunks: 3, firstDelayMs: ms, bin: path.join(BIN, 'mockai') },
    env: { RATE_LIMIT_MAX_REQUESTS: '0', WIDGET_NEW_SESSIONS_PER_MINUTE: '0', PARLEY_SYNC: 'full' },
  });
  await p.start();
  if (PIN) {
    pin(p.storagedPid, 1, true);
    pin(p.masterPid, 1, true);
    pin(p.mock.child.pid, 0, true);
    pin(process.pid, 0, false);
  }
  try {
    for (let i = 0; i < TURNS; i++) await streamTurn(p, sid('steps'), `hello ${i}`);
    await new Promise((r) => setTimeout(r, 300));
    const rows = [...p.logs.masterd.matchAll(/turn times \(us\): begin->answer (\d+), answer->model (\d+), model->first text (\d+), first text->token (\d+)/g)]
      .map((m) => m.slice(1).map(Number));
    const med = (k) => { const v = rows.map((r) => r[k]).sort((a, b) => a - b); return v[Math.floor(v.length / 2)]; };
    console.log(`model ${ms} ms${PIN ? ', pinned' : ''}, ${rows.length} turns, medians (µs): ${STEPS.map((s, k) => `${s} ${med(k)}`).join(', ')}`);
  } finally {
    await p.stop();
  }
}
