#!/usr/bin/env node
// Where a streamed turn's first token goes in Parley, by step, on one
// clock (CLOCK_MONOTONIC: node's hrtime and the daemons' proto_mono_us):
// the client's request written (this script) -> the worker sends the begin
// -> storaged sends its early answer -> the worker has it -> the model
// asked -> the model's first text -> the first token written -> the
// client has it. The worker logs its moments at debug level as each turn
// ends (turn.c, turn_log_times), storaged the moment each batch's early
// answers leave (server.c, server_batch). One Parley (1 worker,
// PARLEY_SYNC=full) on the build PARLEY_BIN names (`make`: bin), the mock
// model (10 chunks, as `make bench`) thinking BENCH_THINK_MS (default
// 0,5,20) ms, BENCH_STEP_TURNS (300) sequential turns each on one
// keep-alive connection (100 more before, not counted), each a new
// conversation; prints each step's median in µs. With BENCH_PIN=1, pinned
// as `make bench`'s chat section: Parley's processes (every thread) on
// CPU 1, this client and the mock on CPU 0 (taskset). Printed, never
// asserted; loopback only.
//
//   PARLEY_BIN=$PWD/bin [BENCH_PIN=1] node tests/bench/turn-steps.mjs
import { execFileSync } from 'node:child_process';
import path from 'node:path';

import { Parley, childPids } from '../integration/lib/harness.mjs';
import { Client, PARLEY_DONE, PARLEY_FIRST, parleyReq } from './lib.mjs';

const BIN = process.env.PARLEY_BIN || path.resolve('bin');
const THINK = (process.env.BENCH_THINK_MS || '0,5,20').split(',').filter(Boolean).map(Number);
const TURNS = Number(process.env.BENCH_STEP_TURNS || 300);
const WARM = 100;
const PIN = process.env.BENCH_PIN === '1';
const STEPS = ['request written->begin sent', 'begin sent->early answer sent (storaged)',
  '->worker has it', '->model asked', '->model\'s first text', '->token written',
  '->client has it', 'first token (client)'];
const WORKER_LINE = /turn times \(us\): begin->answer (\d+), answer->model (\d+), model->first text (\d+), first text->token (\d+), begun at (\d+)/g;
const EARLY_LINE = /early answers sent at (\d+)/g;

// Every thread of pid on cpu, and of its children too when tree (not
// for this process: the servers are its children).
function pin(pid, cpu, tree) {
  execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
  if (tree) for (const c of childPids(pid)) pin(c, cpu, tree);
}

// Each counted turn's steps (µs), from the client's moments [t0, first]
// and the daemons' logs; a turn whose lines are not found is left out.
function steps(turns, workerLog, storagedLog) {
  const worker = [...workerLog.matchAll(WORKER_LINE)].map((m) => m.slice(1).map(Number));
  const early = [...storagedLog.matchAll(EARLY_LINE)].map((m) => Number(m[1]));
  const rows = [];
  for (const [t0, first] of turns) {
    const w = worker.find((x) => x[4] > t0 && x[4] < first);
    if (!w) continue;
    const [toAnswer, toModel, toFirst, toToken, begun] = w;
    const sent = early.find((x) => x >= begun && x <= begun + toAnswer);
    if (sent === undefined) continue;
    const token = begun + toAnswer + toModel + toFirst + toToken;
    rows.push([begun - t0, sent - begun, begun + toAnswer - sent, toModel, toFirst, toToken, first - token, first - t0]);
  }
  return rows;
}

for (const ms of THINK) {
  const p = new Parley({
    workers: 1, logLevel: 'debug',
    mock: { chunks: 10, firstDelayMs: ms, bin: path.join(BIN, 'mockai') },
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
    const c = await Client.open(p.port);
    const turns = [];
    const deadline = Date.now() + 120000;
    for (let i = 0; i < WARM + TURNS && Date.now() < deadline; i++) {
      const r = await c.turn(parleyReq(p.widgetKey, `steps-${ms}-${i}`, `hello ${i}`), PARLEY_FIRST, PARLEY_DONE);
      if (r.status !== 200 || r.ttft === null || !r.done) throw new Error(`turn ${i}: status ${r.status}`);
      // now() is in ms: the daemons log µs
      if (i >= WARM) turns.push([r.t0 * 1000, (r.t0 + r.ttft) * 1000]);
    }
    c.close();
    await new Promise((r) => setTimeout(r, 300));
    const rows = steps(turns, p.logs.masterd, p.logs.storaged);
    const med = (k) => { const v = rows.map((r) => r[k]).sort((a, b) => a - b); return Math.round(v[Math.floor(v.length / 2)]); };
    console.log(`model ${ms} ms${PIN ? ', pinned' : ''}, ${rows.length} of ${turns.length} turns, medians (µs): ${STEPS.map((s, k) => `${s} ${med(k)}`).join(', ')}`);
  } finally {
    await p.stop();
  }
}
