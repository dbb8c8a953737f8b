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
// BENCH_TOOL=dhat runs valgrind's DHAT instead: each program's heap
// allocations a turn, and the sites that make the most (malloc's cost
// grows with their count, most where a slow model leaves caches cold).
// The new-sessions limit is off, as in make bench; BENCH_NEW_SESSIONS
// sets it (3000, the default, adds its check to each begin).
//
//   PARLEY_BIN=$PWD/bin node tests/bench/callgrind-turns.mjs
//   BENCH_TEXT_BYTES=1000 PARLEY_BIN=$PWD/bin node tests/bench/callgrind-turns.mjs
//   BENCH_TOOL=dhat PARLEY_BIN=$PWD/bin node tests/bench/callgrind-turns.mjs
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
const TOOL = process.env.BENCH_TOOL || 'callgrind';
if (TOOL !== 'callgrind' && TOOL !== 'dhat') throw new Error('BENCH_TOOL: callgrind or dhat');
// The workload: NEW first messages, then CLIENTS x SESSIONS x LATER turns.
const NEW = 200, CLIENTS = 16, SESSIONS = 4, LATER = 10;
const TURNS = NEW + CLIENTS * SESSIONS * LATER;
const vg = (name) => (bin, env) => ['valgrind',
  [`--tool=${TOOL}`, '--trace-children=yes', `--${TOOL}-out-file=${OUT}/${name}.%p`, bin], env];

const p = new Parley({
  workers: 1, startTimeoutMs: 60000, waitAllWorkers: false,
  wrap: { storaged: vg('storaged'), masterd: vg('masterd') },
  mock: { chunks: 3, firstDelayMs: Number(process.env.BENCH_THINK_MS || 0), bin: path.join(BIN, 'mockai') },
  env: { RATE_LIMIT_MAX_REQUESTS: '0', WIDGET_NEW_SESSIONS_PER_MINUTE: process.env.BENCH_NEW_SESSIONS || '0', PARLEY_SYNC: 'full' },
});
await p.start();
try {
  for (let i = 0; i < NEW; i++) await streamTurn(p, sid('s'), `hello ${i}${PAD}`);
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    for (let j = 0; j < SESSIONS; j++) {
      const s = sid('c');
      for (let i = 0; i < LATER; i++) await streamTurn(p, s, `turn ${i}${PAD}`);
    }
  }));
} finally {
  await p.stop();
}
// A DHAT file's allocations a turn, and the sites of the most (each site
// named by its first frames of the program's own, not malloc's).
function heapSites(name, text) {
  const d = JSON.parse(text);
  const sites = d.pps.map((p) => ({ blocks: p.tbk, bytes: p.tb, frames: p.fs.map((i) => d.ftbl[i]) }))
    .sort((a, b) => b.blocks - a.blocks);
  const all = sites.reduce((n, s) => n + s.blocks, 0);
  console.log(`${path.basename(d.cmd.split(' ')[0])} (${name}): ${(all / TURNS).toFixed(1)} allocations a turn (${all} in all, start included)`);
  for (const s of sites.slice(0, 12)) {
    const own = s.frames.filter((f) => !/alloc|strn?dup|vg_replace|^\[root\]|\?\?\?/.test(f))
      .slice(0, 3).map((f) => f.replace(/^0x[0-9A-F]+: /, '').replace(/ \(.*\/([^/]*)\)$/, ' $1'));
    console.log(`  ${(s.blocks / TURNS).toFixed(2)} a turn, ${Math.round(s.bytes / Math.max(s.blocks, 1))} bytes each: ${own.join(' < ')}`);
  }
}
// Each file names its program (masterd execs the worker: same prefix).
for (const f of fs.readdirSync(OUT).sort()) {
  const text = fs.readFileSync(path.join(OUT, f), 'utf8');
  if (TOOL === 'dhat') {
    heapSites(f, text);
    continue;
  }
  const m = text.match(/^(?:summary|totals): (\d+)/m);
  const cmd = text.match(/^cmd: +(\S+)/m);
  console.log(`${path.basename(cmd ? cmd[1] : f)} (${f}): ${m ? Number(m[1]).toLocaleString('en') : '?'} instructions`);
}
console.log(`${TOOL} files in ${OUT}`);
