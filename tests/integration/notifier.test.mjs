// masterd's process table (masterd/procs.c): beside PARLEY_WORKERS workers
// it runs one notifier, parley-workerd --role notifier (comm
// parley-notify), which never holds a client connection. Killed, it is
// replaced within seconds and the workers are untouched (requests are
// answered meanwhile); a worker killed leaves it alone; SIGHUP replaces it
// with the workers; SIGTERM ends it with them, and so does masterd's death.
// A notifier sending what only a worker may (WM_LOAD) breaks its channel.
// Every wait is bounded; each test's Parley is stopped in its after().
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { BIN, childPids, pool, seenAlive, startParley, waitFor } from './lib/harness.mjs';
import { helloFrame, T } from './lib/storage.mjs';

const WAIT = 10000;

function alive(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return !['Z', 'X'].includes(s.slice(s.lastIndexOf(')') + 2).split(' ')[0]);
  } catch { return false; }
}

function comm(pid) {
  try { return fs.readFileSync(`/proc/${pid}/comm`, 'latin1').trim(); } catch { return null; }
}

// GET /health on new connections, a few at a time, until stopped: every
// one must be answered 200.
function requestLoop(p, n = 4) {
  const st = { ok: 0, failures: [], stopped: false };
  st.done = Promise.all(Array.from({ length: n }, async () => {
    while (!st.stopped) {
      try {
        const r = await p.get('/health', { timeout: 5000 });
        if (r.status === 200) st.ok++;
        else st.failures.push(`status ${r.status}`);
      } catch (e) { st.failures.push(e.message); }
    }
  }));
  st.stop = async () => { st.stopped = true; await st.done; return st; };
  return st;
}

test('one notifier and one fetcher beside the 2 workers, and neither holds a client connection', { timeout: 60000 }, async (t) => {
  const p = await startParley(t, { workers: 2 });
  const n = await p.waitNotifierReady(WAIT);
  const workers = p.workerPids();
  assert.equal(workers.length, 2);
  assert.ok(!workers.includes(n), 'workerPids() leaves the notifier out');
  await waitFor(() => p.fetcherPids().length === 1, WAIT, 'the fetcher started');
  const [fe] = p.fetcherPids();
  assert.ok(!workers.includes(fe), 'workerPids() leaves the fetcher out');
  assert.deepEqual(childPids(p.masterPid), [...workers, n, fe].sort((a, b) => a - b), 'masterd has the 2 workers, the notifier and the fetcher, nothing else');
  assert.equal(comm(n), 'parley-notify');
  for (const w of workers) assert.equal(comm(w), 'parley-workerd');
  await p.waitLog('masterd', new RegExp(`notifier 1 \\(pid ${n}\\) ready after \\d+ ms`));
  await waitFor(() => p.logs.masterd.includes(`parley-notify[${n}]: info: storaged: connected`), WAIT, 'the notifier connected to storaged');

  // Many connections, each held open while we look at who holds it.
  const conns = await pool(Array.from({ length: 60 }, (_, i) => i), 20, async () => {
    const c = await p.connect({ timeout: 5000 });
    assert.equal((await c.request('GET', '/health', { timeout: 5000 })).status, 200);
    return c;
  });
  t.after(() => conns.forEach((c) => c.destroy()));
  const owners = p.connectionOwners([...workers, n, p.masterPid]);
  const held = conns.map((c) => owners.get(c.localPort));
  assert.ok(held.every((pid) => workers.includes(pid)), `every connection is a worker's: ${held.join(',')}`);
  assert.equal(p.connectionCounts([n]).get(n), 0, 'the notifier holds no client connection');
  assert.equal(p.connectionCounts([fe]).get(fe), 0, 'the fetcher holds no client connection');
  assert.ok(workers.every((w) => held.includes(w)), 'both workers took some');
  t.diagnostic(`60 connections: ${workers.map((w) => `${w}: ${held.filter((x) => x === w).length}`).join(', ')}; notifier ${n}: 0`);
});

test('kill -9 of the notifier: a new one within seconds, the workers untouched, requests answered meanwhile', { timeout: 60000 }, async (t) => {
  const p = await startParley(t, { workers: 2 });
  const old = await p.waitNotifierReady(WAIT);
  const workers = p.workerPids();
  const load = requestLoop(p);
  t.after(() => load.stop());
  await waitFor(() => load.ok >= 20, WAIT, 'requests answered before the kill');

  const t0 = Date.now();
  process.kill(old, 'SIGKILL');
  const fresh = await p.waitNotifierReady(WAIT, [old]);
  const ms = Date.now() - t0;
  const before = load.ok;
  await waitFor(() => load.ok >= before + 20, WAIT, 'requests answered after the new notifier');
  const st = await load.stop();

  t.diagnostic(`notifier ${old} -> ${fresh} ready ${ms} ms after the kill; ${st.ok} requests answered`);
  assert.ok(ms < 5000, `a new notifier within 5 s (took ${ms} ms)`);
  assert.deepEqual(st.failures, [], 'no request failed');
  assert.ok(!alive(old), 'the old notifier is gone');
  assert.deepEqual(p.workerPids(), workers, 'the workers are the same processes');
  await p.waitLog('masterd', new RegExp(`notifier 1 \\(pid ${old}\\) killed by signal 9`));
  await p.waitLog('masterd', new RegExp(`notifier 2 \\(pid ${fresh}\\) ready after`));
  assert.equal((await p.get('/health')).status, 200);
});

test('kill -9 of a worker leaves the notifier alone', { timeout: 60000 }, async (t) => {
  const p = await startParley(t, { workers: 2 });
  const n = await p.waitNotifierReady(WAIT);
  const [victim, survivor] = p.workerPids();
  process.kill(victim, 'SIGKILL');
  const now = await p.waitWorkerCount(2, WAIT, (pids) => !pids.includes(victim));
  await p.waitWorkersReady(2, WAIT);
  assert.ok(now.includes(survivor));
  assert.equal(p.notifierPid(), n, 'the same notifier');
  assert.ok(alive(n));
  assert.doesNotMatch(p.logs.masterd, /notifier \d+ \(pid \d+\) (killed|exited)/, 'the notifier was never stopped');
  assert.equal((await p.get('/health')).status, 200);
});

test('SIGHUP: new workers and a new notifier, the old ones gone', { timeout: 60000 }, async (t) => {
  const p = await startParley(t, { workers: 2, shutdownTimeoutMs: 3000 });
  const oldN = await p.waitNotifierReady(WAIT);
  const oldW = p.workerPids();
  await p.reload(WAIT + 5000);
  await p.waitLog('masterd', /reload done: 2 new workers serving, 1 new notifier/);
  const newN = await p.waitNotifierReady(WAIT, [oldN]);
  const newW = await p.waitWorkerCount(2, WAIT, (pids) => pids.every((w) => !oldW.includes(w)));
  await waitFor(() => ![...oldW, oldN].some(alive), WAIT, 'the old workers and notifier exit');
  assert.notEqual(newN, oldN);
  // Gone is not yet reaped: masterd says it once it has waited for it.
  const quit = new RegExp(`notifier 1 \\(pid ${oldN}\\) exited`);
  await waitFor(() => quit.test(p.logs.masterd), WAIT, 'the old notifier quit when asked');
  assert.deepEqual(p.notifierPids(), [newN]);
  t.diagnostic(`workers ${oldW.join(',')} -> ${newW.join(',')}, notifier ${oldN} -> ${newN}`);
  assert.equal((await p.get('/health')).status, 200);
});

test('SIGTERM to masterd ends the notifier with the workers', { timeout: 60000 }, async (t) => {
  const p = await startParley(t, { workers: 2, shutdownTimeoutMs: 3000 });
  const n = await p.waitNotifierReady(WAIT);
  const stack = [...p.workerPids(), n];
  p.signalMaster('SIGTERM');
  const ex = await p.waitMasterExit(WAIT + 5000);
  assert.deepEqual(ex, { code: 0, signal: null }, 'masterd exits 0');
  await waitFor(() => !stack.some(alive), 3000, 'no worker or notifier left');
  await p.waitLog('masterd', new RegExp(`notifier 1 \\(pid ${n}\\) exited`), { what: 'the notifier quit when asked' });
  assert.deepEqual(seenAlive(p.seenNotifiers), [], 'no notifier of this stack left');
});

test('masterd killed: the notifier exits by itself', { timeout: 60000 }, async (t) => {
  const p = await startParley(t, { workers: 2, shutdownTimeoutMs: 3000 });
  const n = await p.waitNotifierReady(WAIT);
  p.expectExit('masterd', { codes: [], signals: ['SIGKILL'] });
  process.kill(p.masterPid, 'SIGKILL');
  await waitFor(() => !alive(n), WAIT, 'the notifier exits once masterd is gone');
});

// A stand-in notifier (PARLEY_WORKERD is a script that runs the real
// worker, or this for --role notifier): HELLO, WM_READY, then WM_LOAD,
// which the table lets only a worker send; it leaves when masterd hangs up.
const fakeNotifier = (frames) => `
import net from 'node:net';
const frame = (type, payload = Buffer.alloc(0), flags = 0) => {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(type, 0);
  h.writeUInt16BE(flags, 2);
  h.writeUInt32BE(payload.length, 4);
  return Buffer.concat([h, payload]);
};
const hello = Buffer.from('${helloFrame('parley-workerd').toString('hex')}', 'hex');
const load = Buffer.alloc(4);
const s = new net.Socket({ fd: 3, readable: true, writable: true });
s.on('data', () => {});
s.on('end', () => process.exit(0));
s.on('error', () => process.exit(0));
s.write(Buffer.concat([hello, ${frames}]));
`;

// A fake notifier sending frames (a JS expression of frame() calls) in
// place of the real one: its directory (removed after t) and the wrapper
// PARLEY_WORKERD names.
function fakeNotifierDir(t, frames) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-fake-notifier-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'notifier.mjs'), fakeNotifier(frames));
  const wrapper = path.join(dir, 'workerd');
  fs.writeFileSync(wrapper, `#!/bin/sh
if [ "$1" = --role ] && [ "$2" = notifier ]; then exec '${process.execPath}' '${path.join(dir, 'notifier.mjs')}'; fi
exec '${path.join(BIN, 'parley-workerd')}' "$@"
`, { mode: 0o755 });
  return wrapper;
}

test('a notifier that sends WM_LOAD breaks its channel and is replaced; the workers go on', { timeout: 60000 }, async (t) => {
  const wrapper = fakeNotifierDir(t, `frame(${T.WM_READY}), frame(${T.WM_LOAD}, load)`);
  const p = await startParley(t, { workers: 2, shutdownTimeoutMs: 1000, env: { PARLEY_WORKERD: wrapper } });
  const workers = p.workerPids();
  await waitFor(() => /notifier 1 sent unexpected WM_LOAD/.test(p.logs.masterd), WAIT, 'masterd refuses the notifier\'s WM_LOAD');
  await waitFor(() => /notifier 2 \(pid \d+\) ready after/.test(p.logs.masterd), WAIT, 'a new notifier');
  await p.waitLog('masterd', /notifier 1 \(pid \d+\) ready after/);
  assert.doesNotMatch(p.logs.masterd, /worker \d+ sent unexpected/);
  assert.deepEqual(p.workerPids(), workers, 'the workers are untouched');
  assert.equal((await p.get('/health')).status, 200);
});

// A child's messages carry no flag: a WM_READY flagged as a reply was
// taken as ready (a review, W).
test('a notifier whose WM_READY carries a reply flag breaks its channel, never ready', { timeout: 60000 }, async (t) => {
  const wrapper = fakeNotifierDir(t, `frame(${T.WM_READY}, Buffer.alloc(0), 1)`);
  const p = await startParley(t, { workers: 2, shutdownTimeoutMs: 1000, env: { PARLEY_WORKERD: wrapper } });
  await waitFor(() => /notifier 1 sent WM_READY with flags 0x0001/.test(p.logs.masterd), WAIT, 'masterd refuses the flagged WM_READY');
  assert.doesNotMatch(p.logs.masterd, /notifier 1 \(pid \d+\) ready after/);
  assert.equal((await p.get('/health')).status, 200);
});
