#!/usr/bin/env node
// The reports' rollups' cost to a turn (`make bench`, section rollups):
// two Parleys side by side on the server's CPU, one with storaged as
// built (a conversation saved moves its report row, in the turn's
// transaction) and one with a storaged built without the rollups
// (PARLEY_BENCH_NO_ROLLUPS: conv_save neither reads the stored record nor
// moves a row). In interleaved rounds (direct, on, off, direct, ...):
// time to first token at c=1, BENCH_ROLLUP_TURNS (1000) turns each way,
// each a visitor's first message; "added" is a Parley's p50 (p99) minus
// the direct p50 (p99) of the same round. The goal: no measurable
// difference at p50. Figures printed and saved (--out, key "rollups"),
// never asserted.
//
//   node tests/bench/rollups-side.mjs --mock PORT --parley PORT --off PORT \
//        --parley-pids SPID,MPID --key WIDGET_KEY --admin ADMIN_KEY --out FILE
import {
  MOCK_DONE, MOCK_FIRST, PARLEY_DONE, PARLEY_FIRST, mockReq, parleyArgs, parleyReq, saveJson, ttftRun,
} from './lib.mjs';

const a = parleyArgs('rollups-side.mjs', ['off', 'out']);
const ROUNDS = Number(process.env.BENCH_ROLLUP_ROUNDS || 3);
const TURNS = Number(process.env.BENCH_ROLLUP_TURNS || 1000);
const RUN = `r${process.pid}-${Date.now().toString(36)}`;

const sides = {
  direct: { port: a.mock, req: (s, m) => mockReq(m), first: MOCK_FIRST, done: MOCK_DONE },
  on: { port: a.parley, req: (s, m) => parleyReq(a.key, s, m), first: PARLEY_FIRST, done: PARLEY_DONE },
  off: { port: Number(a.off), req: (s, m) => parleyReq(a.key, s, m), first: PARLEY_FIRST, done: PARLEY_DONE },
};
const ms = (v) => v.toFixed(3);
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

const rounds = [];
for (let r = 0; r < ROUNDS; r++) {
  const out = {};
  for (const [name, s] of Object.entries(sides)) {
    process.stderr.write(`bench: rollups round ${r + 1}: ${name}, ${TURNS} turns at c=1...\n`);
    const x = await ttftRun(name, s.port, (i) => s.req(`${RUN}-${r}-${i}`, `hello ${i}`), s.first, s.done, TURNS);
    out[name] = { n: x.n, p50: x.p50, p99: x.p99 };
  }
  for (const name of ['on', 'off']) out[name].added = { p50: out[name].p50 - out.direct.p50, p99: out[name].p99 - out.direct.p99 };
  rounds.push(out);
  console.log(`rollups round ${r + 1}: added first token p50 / p99, rollups on ${ms(out.on.added.p50)} / ${ms(out.on.added.p99)} ms, ` +
    `off ${ms(out.off.added.p50)} / ${ms(out.off.added.p99)} ms`);
}
const on = median(rounds.map((x) => x.on.added.p50));
const off = median(rounds.map((x) => x.off.added.p50));
const spread = (k) => `${ms(Math.min(...rounds.map((x) => x[k].added.p50)))} to ${ms(Math.max(...rounds.map((x) => x[k].added.p50)))}`;
console.log(`rollups: Parley's added first token at c=1, median of ${ROUNDS} rounds' p50: on ${ms(on)} ms (rounds ${spread('on')}), ` +
  `off ${ms(off)} ms (rounds ${spread('off')}); difference ${ms(on - off)} ms (goal: none measurable at p50)`);
saveJson(a.out, 'rollups', { rounds, medianAddedP50: { on, off } });
