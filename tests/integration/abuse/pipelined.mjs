// Answers nobody reads, as a review found them: 100 connections from one
// address each pipeline 200 GETs of the public widget bundle in one
// write and never read. The next pipelined request waits while its
// connection holds more than CONN_OUT_HIGH (16 KiB) of unsent answers,
// so each connection holds about one answer beyond the socket's buffer:
// the worker's RSS grows by a few MiB (before, each connection buffered
// 1 MiB of answers: over 100 MiB here, 600 MiB for the reviewer's 300
// connections of 300 requests). Another address is served meanwhile, not
// after them (its slowest answer printed: about 30 ms alone on a 2-core
// machine; 250 to 1,250 ms, and twice over 5 s in a loaded make test,
// before the worker took its channel's connections in batches and cut
// chains of deferred calls, docs/internals.md).
// AddressSanitizer's quarantine is made small, as in memory.mjs.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';

import { ASAN_SPEED, Parley, sleep } from '../lib/harness.mjs';
import { rssKiB } from '../lib/chat.mjs';

const CONNS = 100;
const PIPELINED = 200;
const GROWTH_MAX_KIB = 24 * 1024;

// A connection from localAddress that writes data and never reads.
function neverReading(port, localAddress, data) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress });
    s.on('error', () => {});
    s.pause();
    s.on('connect', () => s.write(data, () => resolve(s)));
  });
}

describe('pipelined answers nobody reads', () => {
  let p;
  before(async () => {
    p = new Parley({
      workers: 1,
      env: {
        ASAN_OPTIONS: `abort_on_error=0:halt_on_error=1:detect_leaks=1:print_summary=1:exitcode=66:${ASAN_SPEED}` +
          ':quarantine_size_mb=4:allocator_release_to_os_interval_ms=200',
      },
    });
    await p.start();
  });
  after(async () => { await p.stop(); assert.deepEqual(p.problems, []); });

  test(`${CONNS} connections pipelining ${PIPELINED} bundle GETs, never reading: worker RSS bounded, another address served`, { timeout: 60000 }, async (t) => {
    const [pid] = p.workerPids();
    const bundle = await p.get('/widget/chat-widget.js');
    assert.equal(bundle.status, 200);
    const base = rssKiB(pid);
    const reqs = 'GET /widget/chat-widget.js HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'.repeat(PIPELINED);
    const socks = [];
    t.after(() => { for (const s of socks) s.destroy(); });
    for (let i = 0; i < CONNS; i += 25) {
      const part = [];
      for (let k = i; k < i + 25; k++) part.push(neverReading(p.port, '127.0.0.2', reqs));
      socks.push(...await Promise.all(part));
    }
    // Every request is in the worker's socket buffers: another address is
    // answered while the attack holds, and the worker's RSS is sampled for
    // a while (what it holds shows as soon as it has read the requests).
    let peak = 0;
    let slowest = 0;
    const end = Date.now() + 2000;
    while (Date.now() < end) {
      const t0 = performance.now();
      const r = await p.request('GET', '/widget/chat-widget.js', { localAddress: '127.0.0.3', timeout: 5000 });
      slowest = Math.max(slowest, performance.now() - t0);
      assert.equal(r.status, 200);
      assert.equal(r.body.length, bundle.body.length);
      peak = Math.max(peak, rssKiB(pid) - base);
      await sleep(100);
    }
    t.diagnostic(`worker RSS +${(peak / 1024).toFixed(1)} MiB for ${CONNS} connections of ${PIPELINED} pipelined GETs; `
      + `127.0.0.3's slowest answer meanwhile ${slowest.toFixed(0)} ms`);
    assert.ok(peak < GROWTH_MAX_KIB, `the worker grew by ${(peak / 1024).toFixed(1)} MiB for one address's unread answers`);
  });
});
