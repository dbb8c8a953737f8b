// 500 slow clients sending one byte a second of a request head: others are
// still served quickly, and every slow socket is closed by the server once
// PARLEY_HEADER_TIMEOUT_MS has passed (not reset by each byte). A body is
// bounded by its pace instead: one trickled steadily for longer than the
// header timeout is taken, one that stops is answered 408 and read (the
// server lingers on what the client still sends rather than resetting).
// A connection that never begins a request is closed after the header
// timeout, not the idle one.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';

import { sid } from './lib/chat.mjs';
import { pool, sleep, startParley, waitFor } from './lib/harness.mjs';

const N_SLOW = 500;
const HEADER_TIMEOUT = 3000;
const MARGIN = 1500;

test('500 slowloris clients: others served quickly; each slow socket closed after the header timeout', { timeout: 90000 }, async (t) => {
  const p = await startParley(t, { workers: 2, headerTimeoutMs: HEADER_TIMEOUT, idleTimeoutMs: 60000 });
  const workers = p.workerPids();
  const head = Buffer.from(`GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'s'.repeat(100)}\r\n\r\n`, 'latin1');

  const slow = [];
  t.after(() => { for (const s of slow) s.c.destroy(); });
  await pool(Array.from({ length: N_SLOW }), 100, async () => {
    const c = await p.connect({ timeout: 10000 });
    const s = { c, openedAt: Date.now(), sent: 1 };
    slow.push(s);
    await c.write(head.subarray(0, 1));
  });
  const opened = Date.now();
  t.diagnostic(`${N_SLOW} slow connections opened in ${opened - slow[0].openedAt} ms`);

  // one more byte a second on each, until the server closes it
  let ticks = 0;
  const iv = setInterval(() => {
    ticks++;
    for (const s of slow) {
      if (!s.c.gone && s.sent < head.length - 4) { s.c.write(head.subarray(s.sent, s.sent + 1)); s.sent++; }
    }
  }, 1000);
  t.after(() => clearInterval(iv));

  // Meanwhile, normal clients: sequential and concurrent requests on new connections.
  const lat = [];
  // Until just before the first slow socket's header timeout (opening 500
  // of them takes a second or more on a loaded machine).
  const deadline = slow[0].openedAt + HEADER_TIMEOUT - 500;
  let rounds = 0;
  while (Date.now() < deadline && rounds < 100) {
    rounds++;
    const rs = await Promise.all(Array.from({ length: 5 }, async () => {
      const t0 = Date.now();
      const r = await p.get('/health', { timeout: 3000 });
      lat.push(Date.now() - t0);
      return r.status;
    }));
    for (const s of rs) assert.equal(s, 200);
    await sleep(50);
  }
  lat.sort((a, b) => a - b);
  const p50 = lat[Math.floor(lat.length / 2)];
  const max = lat.at(-1);
  t.diagnostic(`${lat.length} normal requests during the slowloris: p50 ${p50} ms, max ${max} ms`);
  assert.ok(lat.length >= 20, 'enough normal requests were made');
  assert.ok(max < 1000, `a normal request took ${max} ms during the slowloris`);
  const early = slow.filter((s) => s.c.gone && s.c.closedAt - s.openedAt < HEADER_TIMEOUT - 100);
  assert.equal(early.length, 0, `${early.length} slow sockets were closed before the header timeout`);

  // Now wait for the server to close every slow socket.
  const waitUntil = Date.now() + HEADER_TIMEOUT + MARGIN + 2000;
  while (Date.now() < waitUntil && !slow.every((s) => s.c.gone)) await sleep(50);
  clearInterval(iv);
  const open = slow.filter((s) => !s.c.gone);
  assert.equal(open.length, 0, `${open.length} slow sockets still open ${Date.now() - opened} ms after they were opened (bytes sent: ${open.slice(0, 3).map((s) => s.sent)})`);
  const lives = slow.map((s) => s.c.closedAt - s.openedAt).sort((a, b) => a - b);
  t.diagnostic(`slow sockets closed after ${lives[0]}..${lives.at(-1)} ms (median ${lives[Math.floor(lives.length / 2)]}); ${ticks} byte ticks`);
  assert.ok(lives[0] >= HEADER_TIMEOUT - 100, `a slow socket was closed after only ${lives[0]} ms`);
  assert.ok(lives.at(-1) <= HEADER_TIMEOUT + MARGIN, `a slow socket stayed open ${lives.at(-1)} ms`);
  // What the server sent before closing, if anything, is a JSON 408.
  for (const s of slow) {
    if (s.c.buf.length) assert.match(s.c.buf.toString('latin1'), /^HTTP\/1\.1 408 /, 'only a 408 may be sent to a slow client');
  }

  // And the server is still fine.
  assert.equal((await p.get('/health')).status, 200);
  assert.deepEqual(p.workerPids(), workers);
});

// A raw socket that stays writable after the server's FIN (allowHalfOpen):
// what came back (.data), the server's end (.endedAt), an error (.error).
function halfOpen(port) {
  return new Promise((resolve, reject) => {
    const s = { data: '', endedAt: 0, closedAt: 0, error: null, openedAt: Date.now() };
    s.sock = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    s.sock.on('data', (d) => { s.data += d.toString('latin1'); });
    s.sock.on('end', () => { s.endedAt = Date.now(); });
    s.sock.on('close', () => { s.closedAt = Date.now(); });
    s.sock.on('error', (e) => { s.error = e; });
    s.sock.once('connect', () => resolve(s));
    s.sock.once('error', reject);
  });
}

const SHORT = 1000;   // PARLEY_HEADER_TIMEOUT_MS of the tests below

test('a body is bounded by its pace, a connection without a request by the header timeout', { timeout: 60000 }, async (t) => {
  const p = await startParley(t, { workers: 1, mock: true, headerTimeoutMs: SHORT, idleTimeoutMs: 60000 });
  const workers = p.workerPids();
  const head = (len) => `POST /v1/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
    `x-api-key: ${p.widgetKey}\r\nContent-Length: ${len}\r\n\r\n`;

  await t.test(`a chat body trickled over ${3 * SHORT} ms (${SHORT} ms header timeout) is answered`, async () => {
    const body = Buffer.from(JSON.stringify({ sessionId: sid('slow'), message: `hello ${'x'.repeat(1400)}` }));
    const s = await halfOpen(p.port);
    t.after(() => s.sock.destroy());
    s.sock.write(head(body.length));
    const piece = Math.ceil(body.length / 30);
    for (let off = 0; off < body.length; off += piece) {
      await sleep(100);
      s.sock.write(body.subarray(off, off + piece));
    }
    const took = Date.now() - s.openedAt;
    await waitFor(() => /\r\n\r\n/.test(s.data) || s.endedAt, 15000, 'an answer');
    assert.ok(took > 2 * SHORT, `the body took ${took} ms`);
    assert.match(s.data, /^HTTP\/1\.1 200 /, s.data.slice(0, 200));
  });

  await t.test('a body that stops: 408 after the header timeout, read whole; the server lingers, no reset', async () => {
    const s = await halfOpen(p.port);
    t.after(() => s.sock.destroy());
    s.sock.write(`${head(400)}{"sessionId":"`);
    const stopped = Date.now();
    await waitFor(() => s.endedAt, SHORT + 3000, 'the server\'s end');
    const waited = s.endedAt - stopped;
    assert.ok(waited >= SHORT - 100, `408 after ${waited} ms`);
    assert.match(s.data, /^HTTP\/1\.1 408 /);
    assert.match(s.data, /\r\nConnection: close\r\n/);
    assert.match(s.data, /\r\n\r\n\{"error":"Request timeout"\}$/);
    // The client, still sending, is read (a close would reset it, and
    // its next write fail).
    const write = () => new Promise((resolve) => s.sock.write('x'.repeat(300), (e) => resolve(e ?? null)));
    assert.equal(await write(), null);
    await sleep(200);
    const e = await write();
    assert.equal(e, null, `a write after the 408: ${e && e.code}`);
    await sleep(100);
    assert.equal(s.error, null, `no error: ${s.error && s.error.code}`);
    s.sock.end();
    await waitFor(() => s.closedAt, 3000, 'the close');
    assert.equal(s.error, null);
  });

  await t.test(`a connection that sends nothing, or empty lines, is closed after ${SHORT} ms, unanswered`, async () => {
    const quiet = await halfOpen(p.port);
    const lines = await halfOpen(p.port);
    t.after(() => { quiet.sock.destroy(); lines.sock.destroy(); });
    lines.sock.write('\r\n\r\n');
    await waitFor(() => quiet.endedAt && lines.endedAt, SHORT + 3000, 'both closed');
    for (const s of [quiet, lines]) {
      const life = s.endedAt - s.openedAt;
      assert.ok(life >= SHORT - 100 && life <= SHORT + 1500, `closed after ${life} ms`);
      assert.equal(s.data, '');
      assert.equal(s.error, null);
    }
    // Between requests, the idle timeout: kept past the header timeout.
    const c = await p.connect();
    t.after(() => c.sock.destroy());
    assert.equal((await c.request('GET', '/health')).status, 200);
    await sleep(SHORT + 500);
    assert.equal((await c.request('GET', '/health')).status, 200);
  });

  assert.deepEqual(p.workerPids(), workers);
});
