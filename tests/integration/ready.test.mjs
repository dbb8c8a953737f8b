// Ready means ready: a worker is handed connections only once its
// storaged connection is up, so requests made the instant masterd listens,
// with storaged started last, are all answered (none "Storage
// unavailable"); GET /ready answers 503 until the worker can store while
// /health stays liveness; a request that meets a storaged restart waits
// for it a while instead of failing.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';

import { freePort, Parley, waitFor } from './lib/harness.mjs';
import { chat, mockReply, sid } from './lib/chat.mjs';

// Resolves once something accepts TCP connections on port (bounded).
async function listening(port, ms = 20000) {
  await waitFor(() => new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  }), ms, `port ${port} listening`);
}

// masterd and its workers, storaged not started: p.startStoraged() later.
async function startWithoutStoraged(p) {
  p.port = await freePort();
  await p.mock.start();
  p._spawn('masterd');
  p.masterPid = p.procs.masterd.child.pid;
  await listening(p.port);
}

test('storaged started last: 200 requests made the instant masterd listens are all answered 200', { timeout: 60000 }, async (t) => {
  const p = new Parley({ workers: 2, mock: true, env: { RATE_LIMIT_MAX_REQUESTS: '0' } });
  t.after(() => p.stop());
  await startWithoutStoraged(p);
  const replies = Array.from({ length: 200 }, (_, i) => chat(p, sid('ready'), `first ${i}`, { timeout: 30000 }));
  await p.startStoraged();
  const rs = await Promise.all(replies);
  const bad = rs.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.text}`);
  assert.deepEqual(bad, [], `${bad.length} of 200 not answered 200`);
  for (let i = 0; i < 200; i++) assert.equal(rs[i].json().message, mockReply(`first ${i}`));
  assert.doesNotMatch(p.logs.masterd, /taking connections anyway/);
});

test('GET /ready: 503 until storaged is up (/health 200 meanwhile), 200 after; a request across a storaged restart waits for it', { timeout: 60000 }, async (t) => {
  // The worker's wait for storaged before it takes connections anyway:
  // 5 s, the test build's PARLEY_TEST_READY_WAIT_MS here.
  const READY_WAIT_MS = 1500;
  const p = new Parley({ workers: 1, mock: true, env: { PARLEY_TEST_READY_WAIT_MS: String(READY_WAIT_MS) } });
  t.after(() => p.stop());
  await startWithoutStoraged(p);
  // Storaged away: the worker is ready after its wait, and says it is not.
  await waitFor(() => new RegExp(`storaged not connected after ${READY_WAIT_MS} ms: taking connections anyway`).test(p.logs.masterd), 15000, 'the worker ready without storaged');
  let r = await p.request('GET', '/ready');
  assert.equal(r.status, 503);
  assert.deepEqual(r.json(), { error: 'not ready: storage unavailable' });
  assert.equal(r.headers['cache-control'], 'no-store');
  r = await p.request('HEAD', '/ready');
  assert.equal(r.status, 503);
  r = await p.request('GET', '/health');
  assert.equal(r.status, 200);
  // A request while storaged is away waits about 2 s, then 503.
  const t0 = Date.now();
  r = await chat(p, sid('away'), 'nobody stores this');
  assert.equal(r.status, 503);
  assert.deepEqual(r.json(), { error: 'Storage unavailable' });
  assert.ok(Date.now() - t0 >= 1500, `waited ${Date.now() - t0} ms`);
  await p.startStoraged();
  await waitFor(async () => (await p.request('GET', '/ready')).status === 200, 10000, '/ready 200');
  r = await p.request('GET', '/ready');
  assert.deepEqual(r.json(), { status: 'ready' });
  assert.equal((await chat(p, sid('up'), 'stored now')).status, 200);

  // storaged restarts: requests made meanwhile wait for it and are answered.
  await p.killStoraged('SIGTERM');
  const during = Array.from({ length: 20 }, (_, i) => chat(p, sid('restart'), `during ${i}`));
  await p.startStoraged();
  const rs = await Promise.all(during);
  assert.deepEqual(rs.map((x) => x.status), Array(20).fill(200), rs.map((x) => x.text).join('\n'));
});
