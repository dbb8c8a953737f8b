// A worker with few file descriptors (masterd started under prlimit
// --nofile=256, as a low LimitNOFILE would): more connections than it has
// descriptors are opened from one address. The worker holds what its cap
// allows (conn_max_for: three quarters of 256 less 32, 160), answers each
// one past it 503 {"error":"Too many connections"} and closes it, and stays
// up: the same pid, no connection handed over lost to a full descriptor
// table (which closed the worker's channel to masterd, and so the worker).
// Once they close, a normal request is served.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { startParley, waitFor } from './lib/harness.mjs';

const NOFILE = 256;
const CAP = NOFILE - NOFILE / 4 - 32;
const N = NOFILE + 64;

test(`${N} connections to a worker of ${NOFILE} descriptors: ${CAP} held, the rest 503, the worker stays up`, { timeout: 60000 }, async (t) => {
  const p = await startParley(t, {
    workers: 1,
    headerTimeoutMs: 60000,
    wrap: { masterd: (bin, env) => ['prlimit', [`--nofile=${NOFILE}:${NOFILE}`, '--', bin], env] },
  });
  const workers = p.workerPids();
  const conns = [];
  t.after(() => { for (const c of conns) c.sock.destroy(); });
  for (let i = 0; i < N; i++) conns.push(await p.connect());

  const refused = () => conns.filter((c) => c.gone);
  await waitFor(() => refused().length >= N - CAP, 10000, () => `${refused().length} of ${N} refused`);
  const gone = refused();
  for (const c of gone) {
    const text = c.buf.toString('latin1');
    assert.match(text, /^HTTP\/1\.1 503 /, `a connection past the cap: ${JSON.stringify(text.slice(0, 80))}`);
    assert.match(text, /\r\n\r\n\{"error":"Too many connections"\}$/);
  }
  // The held ones are the cap's (a connection of the start's may hold one).
  const held = N - gone.length;
  t.diagnostic(`${held} held, ${gone.length} answered 503`);
  assert.ok(held <= CAP && held >= CAP - 4, `${held} held, cap ${CAP}`);
  assert.deepEqual(p.workerPids(), workers, 'the worker is the same');
  assert.doesNotMatch(p.logs.masterd, /masterd channel closed|without a descriptor/);

  // A held one is served; once they close, anyone is.
  const live = conns.find((c) => !c.gone);
  assert.equal((await live.request('GET', '/health')).status, 200);
  for (const c of conns) c.sock.destroy();
  await waitFor(async () => (await p.get('/health')).status === 200, 10000, 'GET /health answered 200');
  assert.deepEqual(p.workerPids(), workers, 'the worker is the same');
});
