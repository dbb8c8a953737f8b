#!/usr/bin/env node
// The side-by-side chat rounds of `make bench` (scripts/bench.sh starts the
// mock model, nginx as a plain streaming proxy to it, and Parley, pinned,
// then runs this on the client's CPU): the same turns direct to the mock,
// through nginx and through Parley, in interleaved rounds (direct, nginx,
// Parley, direct, nginx, Parley, ...), so a noisy machine hits both alike.
//
// Each of BENCH_ROUNDS rounds (mock: 10 chunks, no delay):
//   1. time to first token at concurrency 1: BENCH_TTFT_TURNS sequential
//      turns each way on one keep-alive connection; "added" is a server's
//      p50 (p99) minus the direct p50 (p99) of the same round; each Parley
//      turn is a new conversation (a visitor's first message); and the
//      server's CPU per turn by program, a lone visitor's (nothing shared);
//   2. turns per second at concurrency BENCH_CONC (32) for
//      BENCH_TURN_SECONDS each way (each client keeps one session for 10
//      turns), and the server's CPU time per turn: utime + stime from
//      /proc/<pid>/stat summed over its processes (nginx: master and
//      worker; Parley: storaged, masterd, workers), delta over the run,
//      also per program, user and system time apart, with its wakeups
//      per turn (voluntary context switches), and storaged's commits per
//      turn and requests per commit, its log flushes per turn and the
//      requests flagged to share one (Parley's /metrics): the CPU of a
//      turn grows with the wakeups and flushes it does not share.
// Then a thinking model (BENCH_THINK_MS, 5 and 20: the mock's first
// token that long after the request), BENCH_THINK_ROUNDS rounds (3), the
// delays taking turns within each: added time to first token at c=1
// (BENCH_THINK_TURNS, 300) and CPU per turn at c=32. One run each moved
// the added p50 by 0.1 ms from run to run, more than the goal's margin.
// Then, once each way, the system calls a turn makes at c=32 (strace -c
// on the server's processes for 2 s; strace slows them, so only the
// counts are used): on a virtual machine each costs microseconds. And
// what the disk takes to flush a 400-byte write, the floor under Parley's
// first token (diskFlush).
// Then storaged's round trips and the stored records it reads and writes
// for a visitor's first message and for a later one (c=1, 100 each).
// Then every Parley turn that completed is checked stored (admin API: the
// conversations' messageCount summed, 2 more per turn than before the
// section).
// The raw figures of every round go to --out (JSON, key "chat"); the
// table is printed by report.mjs. Only loopback; every loop is bounded.
//
//   node tests/bench/chat-side.mjs --mock PORT --nginx PORT --nginx-pids PID \
//        --parley PORT --parley-pids SPID,MPID --key WIDGET_KEY --admin ADMIN_KEY \
//        --out FILE
import {
  MOCK_DONE, MOCK_FIRST, PARLEY_DONE, PARLEY_FIRST, cpuSnap, cpuSplit,
  die, diskFlush, loopRun, mockConfig, mockReq, parleyArgs, perfProfile, parleyReq, saveJson, storageCounts, storageWork, storedTotal, syscallsPerTurn, ttftRun, workPer,
} from './lib.mjs';

const a = parleyArgs('chat-side.mjs', ['nginx', 'nginx-pids', 'out']);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);
const TTFT_TURNS = Number(process.env.BENCH_TTFT_TURNS || 1000);
const TURN_SECONDS = Number(process.env.BENCH_TURN_SECONDS || 5);
const CONC = Number(process.env.BENCH_CONC || 32);
// The thinking models' first-token delays (ms) and their c=1 turns.
const THINK_MS = (process.env.BENCH_THINK_MS || '5,20').split(',').filter(Boolean).map(Number);
const THINK_TURNS = Number(process.env.BENCH_THINK_TURNS || 300);
const THINK_ROUNDS = Number(process.env.BENCH_THINK_ROUNDS || 3);
const RUN = `s${process.pid}-${Date.now().toString(36)}`;
// BENCH_PERF=DIR: each c=CONC run profiled (perfProfile), its report in
// DIR: nginx-r0.txt, parley-r0.txt (round 1), parley-k20-r0.txt (the
// model thinking 20 ms, round 1)...
const PERF = process.env.BENCH_PERF || '';
// A run's name from its session prefix: "r0", "k20-r0" (each profile
// its own file: the thinking runs' once overwrote the rounds').
const runName = (pre) => pre.slice(RUN.length + 1, -'-c-'.length);

const sides = {
  direct: { port: a.mock, roots: [], req: (s, m) => mockReq(m), first: MOCK_FIRST, done: MOCK_DONE },
  nginx: { port: a.nginx, roots: a.nginxPids, req: (s, m) => mockReq(m), first: MOCK_FIRST, done: MOCK_DONE },
  parley: { port: a.parley, roots: a.parleyPids, req: (s, m) => parleyReq(a.key, s, m), first: PARLEY_FIRST, done: PARLEY_DONE },
};

// One c=1 run each way: {name: {n, p50, p99, xs, cpuSplit}}, nginx's and
// Parley's "added" over the direct run of the same round. cpuSplit: each
// server program's user and system µs per turn, warm-up turns included, of
// a lone visitor's turns (nothing shared with another turn).
async function ttftRound(label, pre, turns) {
  const out = {};
  for (const [name, s] of Object.entries(sides)) {
    process.stderr.write(`bench: ${label}: ${name}, ${turns} turns at c=1...\n`);
    const before = cpuSnap(s.roots);
    const x = await ttftRun(name, s.port, (i) => s.req(`${pre}${i}`, `hello ${i}`), s.first, s.done, turns);
    const all = x.n + x.warmed;
    const split = s.roots.length ? Object.fromEntries(Object.entries(cpuSplit(before, s.roots))
      .map(([k, v]) => [k, { user: v.user / all, sys: v.sys / all }])) : null;
    out[name] = { n: x.n, p50: x.p50, p99: x.p99, xs: x.xs.map((v) => Math.round(v * 1000) / 1000), cpuSplit: split };
    if (name === 'parley') parleyTurns += all;
  }
  for (const name of ['nginx', 'parley']) out[name].added = { p50: out[name].p50 - out.direct.p50, p99: out[name].p99 - out.direct.p99 };
  return out;
}

// One c=CONC run each way for seconds, with the server's CPU per turn.
async function loopRound(label, pre, seconds) {
  const out = {};
  for (const [name, s] of Object.entries(sides)) {
    process.stderr.write(`bench: ${label}: ${name}, c=${CONC} for ${seconds} s...\n`);
    const store0 = name === 'parley' ? await storageCounts(s.port, a.admin) : null;
    const before = cpuSnap(s.roots);
    const loop = () => loopRun(s.port, CONC, seconds, (k, i) => s.req(`${pre}${k}-${Math.floor(i / 10)}`, `turn ${i}`), s.first, s.done);
    const x = PERF && name !== 'direct' ? await perfProfile(PERF, `${name}-${runName(pre)}`, s.roots, loop) : await loop();
    const split = cpuSplit(before, s.roots);
    const store1 = store0 ? await storageCounts(s.port, a.admin) : null;
    const cpuUs = Object.values(split).reduce((n, v) => n + v.user + v.sys, 0);
    const measured = s.roots.length && x.turns;
    const perTurn = (v) => ({ user: v.user / x.turns, sys: v.sys / x.turns, wakeups: v.wakeups / x.turns });
    out[name] = {
      ...x, cpuUs, cpuUsPerTurn: measured ? cpuUs / x.turns : null,
      cpuSplit: measured ? Object.fromEntries(Object.entries(split).map(([k, v]) => [k, perTurn(v)])) : null,
      // storaged's batching: commits per turn and requests per commit
      // (the metrics reads themselves add one request each); the log's
      // flushes per turn, and the requests a worker flagged to share one.
      storage: store0 && x.turns ? {
        commitsPerTurn: (store1.commits - store0.commits) / x.turns,
        requestsPerCommit: (store1.requests - store0.requests) / Math.max(1, store1.commits - store0.commits),
        flushesPerTurn: (store1.flushes - store0.flushes) / x.turns,
        sharedPerTurn: (store1.shared - store0.shared) / x.turns,
      } : null,
    };
    if (name === 'parley') parleyTurns += x.turns;
  }
  return out;
}

const t0 = Date.now();
const rounds = [];
let parleyTurns = 0;
// What the store held before: the turns' messages are what it holds more.
const stored0 = await storedTotal(a.parley, a.admin);
await mockConfig(a.mock, { chunks: 10, delay_ms: 0, first_delay_ms: 0 });
for (let r = 0; r < ROUNDS; r++) {
  const label = `chat round ${r + 1}/${ROUNDS}`;
  rounds.push({
    ttft: await ttftRound(label, `${RUN}-r${r}-t-`, TTFT_TURNS),
    loop: await loopRound(label, `${RUN}-r${r}-c-`, TURN_SECONDS),
  });
}

// A thinking model: its first token THINK_MS after the request. The
// flush of the user message then overlaps the model's wait; what is left
// of Parley's added time is its own path before the request leaves and
// after the first token comes back. THINK_ROUNDS rounds, each delay once
// a round (c=1, then c=CONC); report.mjs takes the medians.
const thinking = THINK_MS.map((ms) => ({ firstMs: ms, rounds: [] }));
for (let r = 0; r < THINK_ROUNDS; r++) {
  for (const k of thinking) {
    const ms = k.firstMs;
    await mockConfig(a.mock, { chunks: 10, delay_ms: 0, first_delay_ms: ms });
    const label = `chat, model's first token at ${ms} ms, round ${r + 1}/${THINK_ROUNDS}`;
    k.rounds.push({
      ttft: await ttftRound(label, `${RUN}-k${ms}-r${r}-t-`, THINK_TURNS),
      loop: await loopRound(label, `${RUN}-k${ms}-r${r}-c-`, TURN_SECONDS),
    });
  }
}
await mockConfig(a.mock, { chunks: 10, delay_ms: 0, first_delay_ms: 0 });

// Where the CPU goes: the system calls of a turn, counted by strace (which
// slows the servers down: this run's rate is not a figure), each way once.
const syscalls = {};
for (const name of ['nginx', 'parley']) {
  const s = sides[name];
  process.stderr.write(`bench: chat: ${name}'s system calls per turn (strace -c), c=${CONC} for 2 s...\n`);
  const pre = `${RUN}-sys-`;
  syscalls[name] = await syscallsPerTurn(s.roots, async () => {
    const x = await loopRun(s.port, CONC, 2, (k, i) => s.req(`${pre}${k}-${Math.floor(i / 10)}`, `turn ${i}`), s.first, s.done);
    if (name === 'parley') parleyTurns += x.turns;
    return x.turns;
  });
}

// storaged's work for a message: WORK_TURNS visitors' first messages (each
// a new conversation), then a later message of each, at c=1: its round
// trips (requests by type) and the stored records it read and wrote (by
// record) per message, from Parley's /metrics before and after.
const WORK_TURNS = 100;
const work = {};
for (const [step, text] of [['first', 'hello'], ['later', 'and again']]) {
  process.stderr.write(`bench: chat: storaged's work for a ${step} message, ${WORK_TURNS} at c=1...\n`);
  const pre = `${RUN}-work-`;
  const w0 = await storageWork(a.parley, a.admin);
  const x = await ttftRun(`work ${step}`, a.parley, (i) => parleyReq(a.key, `${pre}${i}`, text), PARLEY_FIRST, PARLEY_DONE, WORK_TURNS, 0);
  const w1 = await storageWork(a.parley, a.admin);
  // the second metrics read is one ST_METRICS_GET, left out above
  work[step] = { n: x.n, requests: workPer(w0.requests, w1.requests, x.n), records: workPer(w0.records, w1.records, x.n) };
  parleyTurns += x.n;
}

// The floor under the first token: what this disk takes to flush a small
// write (storaged's log record: one write, one fdatasync), wall and CPU.
const flush = diskFlush(500);

process.stderr.write('bench: checking every Parley turn stored (admin API)...\n');
const msgs = (await storedTotal(a.parley, a.admin)) - stored0;
const out = {
  rounds, thinking, syscalls, work, flush, conc: CONC, ttftTurns: TTFT_TURNS, turnSeconds: TURN_SECONDS,
  stored: { expected: 2 * parleyTurns, msgs }, seconds: (Date.now() - t0) / 1000,
};
saveJson(a.out, 'chat', out);
process.stderr.write(`bench: chat rounds took ${out.seconds.toFixed(0)} s; Parley stored ${msgs} of ${2 * parleyTurns} messages\n`);
if (rounds.some((r) => !r.loop.parley.turns || !r.loop.nginx.turns)) die('a c=32 run completed no turn');
