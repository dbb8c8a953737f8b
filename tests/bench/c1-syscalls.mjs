#!/usr/bin/env node
// What a lone visitor's chat turn (c=1) costs storaged and the worker in
// CPU and system calls: one Parley (1 worker, PARLEY_SYNC=full, the mock
// model) on the build PARLEY_BIN names (`make`: bin), BENCH_C1_TURNS (200)
// POST /v1/chat turns one after another, each a new conversation: first
// each program's CPU over them (its threads' run time,
// /proc/PID/task/*/schedstat, in ns), then the same count again with each
// under `strace -c` (which slows it: only its counts are kept). Printed,
// never asserted; loopback only.
//
//   PARLEY_BIN=$PWD/bin node tests/bench/c1-syscalls.mjs
import fs from 'node:fs';
import path from 'node:path';

import { benchParley, syscallsPerTurn } from './lib.mjs';

const BIN = process.env.PARLEY_BIN || path.resolve('bin');
const N = Number(process.env.BENCH_C1_TURNS || 200);

function cpuUs(pid) {
  let ns = 0;
  for (const t of fs.readdirSync(`/proc/${pid}/task`))
    ns += Number(fs.readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
  return ns / 1000;
}

const p = await benchParley(BIN);
await p.start();
try {
  let k = 0;
  const turn = async () => {
    const r = await p.request('POST', '/v1/chat', {
      headers: { 'x-api-key': p.widgetKey, 'Content-Type': 'application/json' },
      body: JSON.stringify({ sessionId: `c1-${k++}`, message: 'hello there' }),
    });
    if (r.status !== 200) throw new Error(`turn: ${r.status} ${r.text}`);
  };
  for (let i = 0; i < 20; i++) await turn();
  const progs = { storaged: p.procs.storaged.child.pid, workerd: p.workerPids()[0] };
  const c0 = Object.fromEntries(Object.entries(progs).map(([name, pid]) => [name, cpuUs(pid)]));
  for (let i = 0; i < N; i++) await turn();
  const cpu = Object.entries(progs).map(([name, pid]) => `${name} ${((cpuUs(pid) - c0[name]) / N).toFixed(0)}`);
  console.log(`bench: c1-syscalls (${BIN}, ${N} turns): CPU us a turn: ${cpu.join(', ')}`);
  for (const [name, pid] of Object.entries(progs)) {
    const sc = await syscallsPerTurn([pid], async () => {
      for (let i = 0; i < N; i++) await turn();
      return N;
    });
    const by = sc ? Object.entries(sc.by).filter(([, c]) => c >= 0.05).sort((x, y) => y[1] - x[1]) : [];
    console.log(`  ${name}'s system calls a turn: ${sc ? `${by.map(([n, c]) => `${n} ${c.toFixed(2)}`).join(', ')}, total ${sc.total.toFixed(2)}` : 'no strace'}`);
  }
} finally {
  await p.stop();
}
