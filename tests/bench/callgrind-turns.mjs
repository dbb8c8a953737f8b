// Instructions a fixed chat workload costs each server program, counted by
// valgrind's callgrind (no timing noise: to compare two builds on a noisy
// machine). Starts the build PARLEY_BIN names (`make`: bin) with storaged
// and masterd (and the worker it execs) under callgrind, makes 200 new
// conversations at c=1 then 16 clients x 4 sessions x 10 turns, stops,
// and prints each program's instruction total from the callgrind files
// (kept in OUT, default a temp folder, for callgrind_annotate). The mock's
// first token comes BENCH_THINK_MS (default 0) ms after the request. Slow
// (valgrind): about a minute. Prints, never asserts. BENCH_TEXT_BYTES
// (default 0: the short messages, "turn 3") pads each visitor message
// with words to that many bytes more, which the mock's answer repeats:
// chat-sized messages, where what a turn does a byte at a time shows.
//
//   PARLEY_BIN=$PWD/bin node tests/bench/callgrind-turns.mjs
//   BENCH_TEXT_BYTES=1000 PARLEY_BIN=$PWD/bin node tests/bench/callgrind-turns.mjs
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Parley } from '../integration/lib/harness.mjs';
import { sid, streamTurn } from '../integration/lib/chat.mjs';

const BIN = process.env.PARLEY_BIN || path.resolve('bin');
const PAD_BYTES = Number(process.env.BENCH_TEXT_BYTES || 0);
const PAD = ' lorem ipsum dolor sit amet,'.repeat(Math.ceil(PAD_BYTES / 28))
  .slice(0, PAD_BYTES);
const OUT = process.env.OUT || fs.mkdtempSync(path.join(os.tmpdir(), 'parley-cg-'));
// valgrind does not make the folder it writes to.
fs.mkdirSync(OUT, { recursive: true });
const vg = (name) => (bin, env) => ['valgrind',
  ['--tool=callgrind', '--trace-children=yes', `--callgrind-out-file=${OUT}/${name}.%p`, bin], env];

const p = new Parley({
  workers: 1, startTimeoutMs: 60000, waitAllWorkers: false,
  wrap: { storaged: vg('storaged'), masterd: vg('masterd') },
  mock: { chunks: 3, firstDelayMs: Number(process.env.BENCH_THINK_MS || 0), bin: path.join(BIN, 'mockai') },
  env: { RATE_LIMIT_MAX_REQUESTS: '0', WIDGET_NEW_SESSIONS_PER_MINUTE: '0', PARLEY_SYNC: 'full' },
});
await p.start();
try {
  for (let i = 0; i < 200; i++) await streamTurn(p, sid('s'), `hello ${i}${PAD}`);
  await Promise.all(Array.from({ length: 16 }, async () => {
    for (let j = 0; j < 4; j++) {
      const s = sid('c');
      for (let i = 0; i < 10; i++) await streamTurn(p, s, `turn ${i}${PAD}`);
    }
  }));
} finally {
  await p.stop();
}
// Each file names its program (masterd execs the worker: same prefix).
for (const f of fs.readdirSync(OUT).sort()) {
  const text = fs.readFileSync(path.join(OUT, f), 'utf8');
  const m = text.match(/^(?:summary|totals): (\d+)/m);
  const cmd = text.match(/^cmd: +(\S+)/m);
  console.log(`${path.basename(cmd ? cmd[1] : f)} (${f}): ${m ? Number(m[1]).toLocaleString('en') : '?'} instructions`);
}
console.log(`callgrind files in ${OUT}`);
