// Chat under load: 200 concurrent streams over every worker all complete
// and are all stored; and a client that stops reading makes Parley pause
// the model (the mock stops producing) without the worker's memory
// growing, and everything completes once it reads again.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Conn, Parley, pool, sleep } from './lib/harness.mjs';
import { parseResponse } from './lib/http.mjs';
import { assertGoodStream, rssKiB, sameText, sessionShown, sid, stored, stream } from './lib/chat.mjs';

test('200 concurrent streams across all workers all complete and are all stored', { timeout: 120000 }, async (t) => {
  // Each model call waits 3 s before its first chunk, so all N overlap
  // even when a busy machine takes 2-3 s to start the last one (with no
  // wait, 0.8 s a stream, a loaded run saw only 154 at once).
  const p = new Parley({ workers: 2, mock: { chunks: 20, delayMs: 40, firstDelayMs: 3000 }, env: { RATE_LIMIT_MAX_REQUESTS: '0' } });
  t.after(() => p.stop());
  await p.start();
  const before = (await p.admin('/v1/admin/conversations?limit=1')).json().total;
  const N = 200;
  const streams = [];
  // While they run, every worker holds some of them: the most each held,
  // looked at every 50 streams (on a slow machine the first ones may be
  // done before the last ones are open).
  const most = new Map(p.workerPids().map((pid) => [pid, 0]));
  for (let i = 0; i < N; i++) {
    streams.push(await stream(p, sid('c200'), `concurrent ${i}`));
    if (i % 50 === 49) {
      for (const [pid, n] of p.connectionCounts([...most.keys()])) most.set(pid, Math.max(most.get(pid), n));
    }
  }
  t.diagnostic(`most connections per worker while streaming: ${JSON.stringify([...most])}`);
  for (const [pid, n] of most) assert.ok(n > 0, `worker ${pid} serves some of the streams`);
  await Promise.all(streams.map((s) => s.finish(60000)));
  for (const s of streams) s.destroy();
  const results = streams.map((s, i) => assertGoodStream(s, `You said: concurrent ${i}`));
  const stats = await p.mock.stats();
  t.diagnostic(`mock: ${JSON.stringify(stats)}`);
  assert.equal(stats.completed, N);
  assert.ok(stats.max_concurrent >= N * 0.9, `the model calls ran concurrently (max ${stats.max_concurrent})`);
  // All stored, exactly.
  await pool(results, 16, async ({ conversationId, message }, i) => {
    const got = await stored(p, conversationId);
    assert.deepEqual(got.messages.map((m) => [m.role, m.content, m.status]), [
      ['user', `concurrent ${i}`, 'complete'],
      ['assistant', message, 'complete'],
    ]);
  });
  const after = (await p.admin('/v1/admin/conversations?limit=1')).json().total;
  assert.equal(after - before, N);
});

// A client sends several stream requests at once (pipelined) and does not
// read. A reply is at most 64 KiB of text (what a stored message holds), so
// one stream alone fits in loopback's socket buffers (up to 4 MiB); the
// pipelined replies together do not, so Parley must pause the model.
// ASan keeps freed memory in quarantine (256 MiB by default), which would
// count in RSS: this Parley runs with a 1 MiB quarantine.
test('a client that stops reading: the model is paused, the worker does not grow, all completes on resume', { timeout: 180000 }, async (t) => {
  const p = new Parley({
    workers: 1,
    mock: { sndbuf: 65536 },
    env: {
      RATE_LIMIT_MAX_REQUESTS: '0',
      ASAN_OPTIONS: 'abort_on_error=0:halt_on_error=1:detect_leaks=1:print_summary=1:exitcode=66:quarantine_size_mb=1',
    },
  });
  t.after(() => p.stop());
  await p.start();
  const [worker] = p.workerPids();
  const K = 10;               // pipelined requests
  const CHUNKS = 3750;        // per reply; 16 control characters each (6 bytes apiece in JSON)
  const REPLY = '\u0001'.repeat(60000);
  const msg = `[[mock:reply=%01,repeat=60000,chunks=${CHUNKS}]]`;

  // Warm up the worker (first allocations), then measure.
  for (let i = 0; i < 2; i++) {
    const w = await stream(p, sid(), '[[mock:reply=%01,repeat=6000,chunks=375]]');
    await w.finish(30000);
    w.destroy();
  }
  await p.mock.resetStats();
  const rss0 = rssKiB(worker);

  const c = await Conn.open(p.port);
  t.after(() => c.destroy());
  c.sock.pause();
  const sessions = Array.from({ length: K }, () => sid('slow'));
  let reqs = '';
  for (const s of sessions) {
    const body = JSON.stringify({ sessionId: s, message: msg });
    reqs += `POST /v1/chat/stream HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nx-api-key: ${p.widgetKey}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  }
  await c.write(reqs);

  // Wait until the mock stops producing: the same count for 2 s.
  let last = -1;
  let stableSince = Date.now();
  let stats;
  let rssMax = rss0;
  const deadline = Date.now() + 90000;
  for (;;) {
    stats = await p.mock.stats();
    rssMax = Math.max(rssMax, rssKiB(worker));
    if (stats.content_chunks !== last) { last = stats.content_chunks; stableSince = Date.now(); }
    if (Date.now() - stableSince >= 2000 || Date.now() > deadline) break;
    await sleep(100);
  }
  t.diagnostic(`stalled at ${stats.content_chunks} of ${K * CHUNKS} chunks; mock ${JSON.stringify(stats)}; worker RSS ${rss0} KiB -> max ${rssMax} KiB`);
  assert.ok(stats.content_chunks < K * CHUNKS, `the model was paused before the end (${stats.content_chunks} of ${K * CHUNKS} chunks produced)`);
  // Usually one model call is paused mid-reply; when the output filled up
  // exactly at the end of a reply, the next call has not started yet. Either
  // way no more than one runs for a client that does not read.
  assert.ok(stats.active_streams <= 1, `at most one model call in progress (${stats.active_streams})`);
  assert.equal(stats.aborted, 0);
  const growth = rssMax - rss0;
  assert.ok(growth < 32 * 1024, `the worker grew by ${growth} KiB while its client did not read`);

  // Read again: every reply completes.
  c.sock.resume();
  const got = [];
  const end = Date.now() + 120000;
  while (got.length < K && Date.now() < end) {
    const r = parseResponse(c.buf);
    if (r) {
      got.push(r.response);
      c.buf = c.buf.subarray(r.used);
      continue;
    }
    if (c.gone) break;
    await c.waitData(5000);
  }
  assert.equal(got.length, K, `${got.length} of ${K} replies arrived`);
  const final = await p.mock.stats();
  assert.equal(final.content_chunks, K * CHUNKS);
  assert.equal(final.completed, K);
  for (const [i, r] of got.entries()) {
    assert.equal(r.status, 200);
    const events = r.text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    assert.equal(events[0].type, 'start');
    const done = events[events.length - 1];
    assert.equal(done.type, 'done', `reply ${i} ends with done`);
    const tokens = events.filter((e) => e.type === 'token').map((e) => e.token).join('');
    sameText(tokens, done.message, `reply ${i}: tokens joined vs done.message`);
    sameText(done.message, REPLY, `reply ${i}`);
    const st = await stored(p, done.conversationId);
    assert.equal(st.conversation.sessionId, sessionShown(sessions[i]));
    sameText(st.messages[1].content, REPLY, `reply ${i} stored`);
    assert.equal(st.messages[1].status, 'complete');
  }
});
