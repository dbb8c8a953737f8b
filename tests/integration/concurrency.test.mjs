// 1,000 concurrent keep-alive connections are all answered, and masterd
// spreads them over every worker. Which process holds a connection is read
// from /proc: the server-side socket inode (from /proc/net/tcp, matched by
// the client's port) among the fds in /proc/<pid>/fd.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { pool, startParley } from './lib/harness.mjs';

const N_CONN = 1000;
const WORKERS = 4;

test('1,000 concurrent keep-alive connections are answered and spread over every worker', { timeout: 120000 }, async (t) => {
  const p = await startParley(t, { workers: WORKERS, idleTimeoutMs: 60000, headerTimeoutMs: 30000 });
  const workers = p.workerPids();
  assert.equal(workers.length, WORKERS);

  const conns = [];
  t.after(() => { for (const c of conns) c.destroy(); });

  // Open them (at most 100 connects at a time), one request each, and keep them open.
  const first = await pool(Array.from({ length: N_CONN }), 100, async () => {
    const c = await p.connect({ timeout: 10000 });
    conns.push(c);
    const r = await c.request('GET', '/health', { timeout: 20000 });
    return r.status;
  });
  assert.equal(first.filter((s) => s === 200).length, N_CONN, 'every first request answered 200');
  assert.equal(conns.filter((c) => c.gone).length, 0, 'no connection closed');

  // Who holds them?
  const counts = p.connectionCounts([...workers, p.masterPid]);
  const perWorker = workers.map((w) => counts.get(w));
  t.diagnostic(`connections per worker: ${workers.map((w, i) => `${w}=${perWorker[i]}`).join(' ')}; masterd holds ${counts.get(p.masterPid)}`);
  assert.equal(counts.get(p.masterPid), 0, 'masterd keeps no accepted connection after handing it off');
  assert.equal(perWorker.reduce((a, b) => a + b, 0), N_CONN, 'the workers hold every connection');
  const share = Math.floor(N_CONN / WORKERS / 3);
  for (let i = 0; i < workers.length; i++) {
    assert.ok(perWorker[i] >= share, `worker ${workers[i]} holds ${perWorker[i]} connections, less than ${share}`);
  }

  // Now all 1,000 send a request at the same moment, twice.
  for (let round = 0; round < 2; round++) {
    const t0 = Date.now();
    const rs = await Promise.all(conns.map((c) => c.request('GET', '/health', { timeout: 30000 }).then((r) => r.status, (e) => e.message)));
    const bad = rs.filter((s) => s !== 200);
    assert.equal(bad.length, 0, `round ${round}: ${bad.length} failures, e.g. ${bad.slice(0, 3).join('; ')}`);
    t.diagnostic(`round ${round}: ${N_CONN} concurrent requests answered in ${Date.now() - t0} ms`);
  }
  assert.equal(conns.filter((c) => c.gone).length, 0, 'still no connection closed');
  assert.deepEqual(p.workerPids(), workers, 'no worker died or was replaced');

  // A new client is still served while the 1,000 are open.
  assert.equal((await p.get('/health')).status, 200);
});
