#!/usr/bin/env node
// What a widget's chat turn costs storaged's sockets to the workers: one
// Parley (2 workers, PARLEY_SYNC=full, the mock model) on the build
// PARLEY_BIN names (`make`: bin), BENCH_WS_TURNS (200) turns over
// WebSocket, visitors of 10 turns each, one after another, each reply
// 1,040 characters (a paragraph, as a model answers); then the
// bytes storaged sent (its sendmsg calls under `strace`, which slows it:
// only the bytes are kept), a turn. Every worker is sent each visitor
// event (a visitor's message, the reply, a new conversation), whether a
// socket of its own is on the conversation or not. Printed, never
// asserted; loopback only.
//
//   PARLEY_BIN=$PWD/bin node tests/bench/visitor-events.mjs
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';

import { Parley } from '../integration/lib/harness.mjs';
import { createWidget, Visitor } from '../integration/lib/wsclient.mjs';

const BIN = process.env.PARLEY_BIN || path.resolve('bin');
const N = Number(process.env.BENCH_WS_TURNS || 200);
const PER = 10;
const REPLY = encodeURIComponent('A sentence of an answer. ');

const p = new Parley({
  workers: 2,
  mock: { bin: `${BIN}/mockai`, chunks: 3 },
  env: { RATE_LIMIT_MAX_REQUESTS: '0', WIDGET_NEW_SESSIONS_PER_MINUTE: '0', PARLEY_SYNC: 'full' },
});
await p.start();
try {
  const w = await createWidget(p);
  const turns = async (n) => {
    for (let done = 0; done < n; done += PER) {
      const v = await Visitor.open(p, w.widget_id);
      await v.next('session');
      for (let i = 0; i < PER; i++) await v.turn(`turn ${i} of a visitor [[mock:reply=${REPLY},repeat=40]]`);
      v.close();
    }
  };
  await turns(20);
  const out = `/tmp/parley-bench-vev-${process.pid}.txt`;
  const tr = spawn('strace', ['-f', '-e', 'trace=sendmsg', '-o', out, '-p', String(p.procs.storaged.child.pid)], { stdio: 'ignore' });
  await new Promise((res) => setTimeout(res, 500));
  await turns(N);
  tr.kill('SIGINT');
  await new Promise((res) => tr.on('exit', res));
  let bytes = 0;
  let calls = 0;
  for (const l of fs.readFileSync(out, 'latin1').split('\n')) {
    const m = /^(?:\d+\s+)?sendmsg\(.*\)\s+=\s+(\d+)$/.exec(l);
    if (m) { bytes += Number(m[1]); calls++; }
  }
  fs.unlinkSync(out);
  console.log(`bench: visitor-events (${BIN}, 2 workers, ${N} widget turns): storaged sent ${(bytes / N).toFixed(0)} bytes a turn to the workers in ${(calls / N).toFixed(2)} sendmsg calls`);
} finally {
  await p.stop();
}
