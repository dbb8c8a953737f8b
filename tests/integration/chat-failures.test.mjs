// Every way a chat turn can fail, and what the client, the model and the
// store see: the model answering an error before streaming (401, 429, 500),
// a stream cut mid-way, a model that stalls (OPENAI_IDLE_TIMEOUT_MS), an
// empty reply, a client that leaves mid-stream, and storaged killed
// mid-stream. A failure before the answer started is a JSON error; after
// the stream started it is an NDJSON error event; the model call is
// cancelled when the client leaves; failed turns are stored as failed and
// left out of the history the next turn sends to the model. A client that
// leaves a stream has stored exactly the tokens it was sent (it half-closes
// and reads on to know them), also when it leaves before its question is on
// disk (storaged's fdatasync slowed under strace): nothing, and as the model
// ends (the workers stopped a moment): interrupted, not complete.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Parley, sleep } from './lib/harness.mjs';
import { assertJsonError } from './lib/checks.mjs';
import {
  EMPTY_REPLY, NDJSON_TYPE, SYSTEM_PROMPT, assertGoodStream, chat, sessionShown, sid, stored, stream, streamTurn,
  waitStored,
} from './lib/chat.mjs';
import { NO_LSAN, slowSyncs } from './lib/faults.mjs';
import { checkerFor } from './lib/openapi.mjs';
import { createWidget, Visitor } from './lib/wsclient.mjs';

const IDLE_MS = 1000;
const MODEL_ERROR = 'Upstream model error';
const MODEL_TIMEOUT = 'Upstream model timeout';

// A stream that started and then failed: start, maybe tokens, one error event, a proper end.
function assertErrorStream(st, error, path = '/v1/chat/stream') {
  assert.equal(st.status, 200, st.body.toString().slice(0, 300));
  if (api) api.checkStream('POST', path, st);
  assert.equal(st.headers['content-type'], NDJSON_TYPE);
  assert.ok(st.complete, 'the body ends properly after the error event');
  assert.deepEqual(st.badLines, []);
  const types = st.types;
  assert.equal(types[0], 'start', `events: ${types}`);
  assert.equal(types[types.length - 1], 'error', `events: ${types}`);
  assert.ok(types.slice(1, -1).every((x) => x === 'token'), `events: ${types}`);
  assert.deepEqual(st.events[st.events.length - 1], { type: 'error', error });
  return st.events[0].conversationId;
}

// The last chat completion request the mock received.
async function lastSent(p) {
  const reqs = await p.mock.completions();
  assert.ok(reqs.length > 0, 'the model was called');
  return reqs[reqs.length - 1].body;
}

// The reply stored for a turn: the conversation the admin list shows
// that is(c) finds (its session's digest, or its widget), once both its
// messages are stored.
async function storedReply(p, is, what = '') {
  let conv;
  for (let k = 0; k < 200 && !conv; k++) {
    conv = (await p.admin('/v1/admin/conversations?limit=50')).json().conversations.find(is);
    if (!conv) await sleep(25);
  }
  assert.ok(conv, `${what}the conversation is stored`);
  const got = await waitStored(p, conv._id, (msgs) => msgs.length === 2);
  assert.equal(got.messages.length, 2, `${what}the reply is stored`);
  return got.messages[1];
}

let api;   // every answer below is also checked against the OpenAPI document

// The three parts, each on a stack of its own, side by side: each mostly
// waits on its own timers (the model's, storaged's, a delayed disk).
// Within each, its tests one after another (each part says concurrency
// false: it would inherit true).
describe('chat failures, three stacks', { concurrency: true }, () => {
  describe('chat failures', { concurrency: false }, () => {
    let p;
    before(async () => {
      p = new Parley({
        workers: 2,
        mock: { chunks: 4 },
        env: { OPENAI_IDLE_TIMEOUT_MS: String(IDLE_MS), RATE_LIMIT_MAX_REQUESTS: '0' },
      });
      await p.start();
      api = await checkerFor(p);
    });
    after(() => p && p.stop());

    // A failed turn in the middle of a session: a turn that went well, the
    // failing one, then another good one. Returns what the test needs.
    async function session(failing, how) {
      const s = sid();
      const r1 = await chat(p, s, 'good one');
      assert.equal(r1.status, 200, r1.text);
      const conversationId = r1.json().conversationId;
      const res = await how(s, failing);
      await p.mock.clearRequests();
      const r3 = await chat(p, s, 'good three');
      assert.equal(r3.status, 200, r3.text);
      const sent = await lastSent(p);
      return { s, conversationId, res, sent };
    }

    function assertFailedTurnStored(got, failing) {
      const msgs = got.messages;
      assert.equal(msgs.length, 6, `messages: ${JSON.stringify(msgs.map((m) => [m.role, m.status, m.content]))}`);
      assert.deepEqual(msgs.map((m) => m.role), ['user', 'assistant', 'user', 'assistant', 'user', 'assistant']);
      assert.equal(msgs[2].content, failing);
      assert.equal(msgs[3].status, 'failed', 'the failed turn\'s reply is stored as failed');
      assert.ok(msgs[3].content !== '' && !msgs[3].content.startsWith('You said'), `the failed reply holds no invented text: ${msgs[3].content}`);
      assert.deepEqual([msgs[1].status, msgs[5].status], ['complete', 'complete']);
      assert.equal(msgs[5].content, 'You said: good three');
    }

    function assertLeftOutOfHistory(sent, failing) {
      assert.deepEqual(sent.messages, [
        { role: 'system', content: SYSTEM_PROMPT },
        { role: 'user', content: 'good one' },
        { role: 'assistant', content: 'You said: good one' },
        { role: 'user', content: 'good three' },
      ], `the failed turn (${failing}) is left out of the next turn's history`);
    }

    for (const status of [401, 429, 500]) {
      test(`the model answers ${status} before streaming: /v1/chat 502 JSON, stream an error event; stored as failed`, async () => {
        const failing = `please fail [[mock:status=${status}]]`;
        // /v1/chat
        const a = await session(failing, async (s, m) => {
          const r = await chat(p, s, m);
          assertJsonError(r, 502, MODEL_ERROR);
          assert.deepEqual(r.json(), { error: MODEL_ERROR });
          api.checkJson('POST', '/v1/chat', r);
          return r;
        });
        assertFailedTurnStored(await stored(p, a.conversationId), failing);
        // the stream endpoints
        for (const path of ['/v1/chat/stream', '/chat']) {
          const b = await session(failing, async (s, m) => {
            const st = await streamTurn(p, s, m, { path });
            assertErrorStream(st, MODEL_ERROR, path);
            assert.deepEqual(st.types, ['start', 'error'], 'no token before the error');
            return st;
          });
          assert.equal(b.res.events[0].conversationId, b.conversationId);
          assertFailedTurnStored(await stored(p, b.conversationId), failing);
        }
      });
    }

    test('the model\'s stream is cut mid-way: tokens so far, then an error event; /v1/chat 502; stored as failed', async () => {
      const failing = 'cut me off [[mock:cut=2,chunks=6]]';
      const b = await session(failing, async (s, m) => {
        const st = await streamTurn(p, s, m);
        assertErrorStream(st, MODEL_ERROR);
        assert.ok(st.tokens.length >= 1, `tokens before the cut: ${st.types}`);
        assert.ok('You said: cut me off'.startsWith(st.tokens.join('')), `the tokens are the reply's start: ${st.tokens.join('')}`);
        return st;
      });
      assertFailedTurnStored(await stored(p, b.conversationId), failing);
      const a = await session(failing, async (s, m) => {
        const r = await chat(p, s, m);
        assertJsonError(r, 502, MODEL_ERROR);
        return r;
      });
      assertFailedTurnStored(await stored(p, a.conversationId), failing);
    });

    test(`the model stalls: after OPENAI_IDLE_TIMEOUT_MS (${IDLE_MS} ms) an error event (/v1/chat 504), the model connection closed, stored as failed`, async () => {
      const failing = 'stall now [[mock:stall=1]]';
      await p.mock.resetStats();
      const b = await session(failing, async (s, m) => {
        const st = await stream(p, s, m);
        await st.finish(IDLE_MS + 10000);
        st.destroy();
        assertErrorStream(st, MODEL_TIMEOUT);
        assert.equal(st.tokens.length, 1, 'the one chunk the model sent');
        const errAt = st.events[st.events.length - 1].at;
        assert.ok(errAt >= IDLE_MS * 0.9 && errAt < IDLE_MS + 5000, `error after ${errAt} ms`);
        return st;
      });
      assertFailedTurnStored(await stored(p, b.conversationId), failing);
      const a = await session(failing, async (s, m) => {
        const r = await chat(p, s, m, { timeout: IDLE_MS + 10000 });
        assertJsonError(r, 504, MODEL_TIMEOUT);
        api.checkJson('POST', '/v1/chat', r);
        return r;
      });
      assertFailedTurnStored(await stored(p, a.conversationId), failing);
      const stats = await p.mock.waitStats((x) => x.aborted >= 2 && x.active_streams === 0);
      assert.equal(stats.aborted, 2, `the mock saw both stalled connections closed: ${JSON.stringify(stats)}`);
      assert.equal(stats.active_streams, 0);
    });

    test('a failed turn (user message and failed reply) is left out of the history the next turn sends', async () => {
      for (const failing of ['f [[mock:status=401]]', 'f [[mock:status=429]]', 'f [[mock:status=500]]', 'f [[mock:cut=2]]', 'f [[mock:stall=1]]']) {
        for (const endpoint of ['json', 'stream']) {
          const { sent } = await session(failing, async (s, m) => (endpoint === 'json' ? chat(p, s, m, { timeout: IDLE_MS + 10000 }) : streamTurn(p, s, m)));
          assertLeftOutOfHistory(sent, `${failing} via ${endpoint}`);
        }
      }
    });

    test(`an empty reply becomes "${EMPTY_REPLY}", answered and stored`, async () => {
      for (const m of ['say nothing [[mock:empty]]', 'only blanks [[mock:reply=%20%20%20,chunks=3]]']) {
        const r = await chat(p, sid(), m);
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json().message, EMPTY_REPLY);
        let got = await stored(p, r.json().conversationId);
        assert.deepEqual(got.messages.map((x) => [x.role, x.content, x.status]), [['user', m, 'complete'], ['assistant', EMPTY_REPLY, 'complete']]);
        const st = await streamTurn(p, sid(), m);
        assert.equal(st.status, 200);
        assert.deepEqual(st.types.filter((x) => x !== 'token').concat(), ['start', 'done']);
        const done = st.event('done');
        assert.equal(done.message, EMPTY_REPLY);
        got = await stored(p, done.conversationId);
        assert.deepEqual(got.messages.map((x) => [x.role, x.content, x.status]), [['user', m, 'complete'], ['assistant', EMPTY_REPLY, 'complete']]);
      }
    });

    test('an empty reply keeps the stream\'s promise too: tokens joined equal done.message', async () => {
      for (const m of ['say nothing [[mock:empty]]', 'only blanks [[mock:reply=%20%20%20,chunks=3]]']) {
        const st = await streamTurn(p, sid(), m);
        assertGoodStream(st, EMPTY_REPLY);
        api.checkStream('POST', '/v1/chat/stream', st);
      }
    });

    test('a client that leaves mid-stream: the model call is cancelled, the partial reply stored as interrupted', async () => {
      const full = 'You said: leave early';
      for (const path of ['/v1/chat/stream', '/chat']) {
        await p.mock.resetStats();
        const st = await stream(p, sid(), 'leave early [[mock:chunks=20,delay=100]]', { path });
        assert.ok(await st.until(() => st.tokens.length >= 2, 5000), `two tokens arrived: ${st.types}`);
        const seen = st.tokens.join('');
        const conversationId = st.events[0].conversationId;
        st.destroy();
        const stats = await p.mock.waitStats((x) => x.aborted >= 1 && x.active_streams === 0, 5000);
        assert.equal(stats.aborted, 1, `the mock saw its connection closed: ${JSON.stringify(stats)}`);
        assert.equal(stats.active_streams, 0);
        assert.equal(stats.completed, 0);
        const got = await waitStored(p, conversationId, (msgs) => msgs.length === 2);
        assert.equal(got.messages.length, 2, 'the reply is stored');
        const a = got.messages[1];
        assert.equal(a.role, 'assistant');
        assert.equal(a.status, 'interrupted');
        assert.ok(a.content.startsWith(seen), `stored ${JSON.stringify(a.content)} starts with what the client saw ${JSON.stringify(seen)}`);
        assert.ok(full.startsWith(a.content) && a.content.length < full.length, `stored ${JSON.stringify(a.content)} is a part of the reply`);
      }
    });

    // The client half-closes its side (the server takes that as leaving,
    // as a close) and reads on: it gets every byte the server had written
    // before it stopped, and nothing after. Leaving at once, at the start or
    // after a few tokens, with a model 1 to 3 ms a chunk: the reply stored
    // is exactly the tokens that arrived (the text the server took from the
    // model but had not written out, still in its buffer or waiting for the
    // question to reach the disk, was once stored too: "Y" for nothing seen).
    test('a client that leaves mid-stream: the reply stored is exactly the tokens it was sent', async () => {
      const wrong = [];
      for (let i = 0; i < 48; i++) {
        const s = sid();
        const at = i % 4;       // tokens to wait for; 3: none, not even the status line
        const st = await stream(p, s, `leave ${i} [[mock:chunks=40,delay=${1 + (i % 3)},first_delay=${(i >> 2) % 2}]]`);
        if (at < 3) assert.ok(await st.until(() => st.events.length > 0 && st.tokens.length >= at, 5000), `${i}: ${st.types}`);
        st.close();
        assert.ok(await st.until(() => st.gone, 10000), `${i}: the server ended the connection`);
        const seen = st.tokens.join('');
        st.destroy();
        const a = await storedReply(p, (x) => x.sessionId === sessionShown(s), `${i}: `);
        if (a.content !== seen) wrong.push({ i, status: a.status, seen, stored: a.content, events: st.types.join() });
      }
      assert.deepEqual(wrong, []);
    });

    // The model's end and the client's leaving read in one round (the
    // workers stopped, SIGSTOP, while both happen, as a loaded machine
    // once did): the turn's outcome known, its store not begun, the last
    // tokens still in the connection's output, thrown away with it. The
    // reply was then stored complete, all of it ("You said: leave 6" for
    // "You said: leave" seen, in a full run at load 19).
    // A round counts only when the model was still streaming as the
    // workers stopped: on a loaded machine the client may read its two
    // tokens after the whole reply went out, and such a round (a reply
    // complete before the client left, stored complete) tests nothing;
    // it is run again, at most 12 rounds for 4 that count.
    test('a client that leaves as the model ends: the reply stored is the tokens it was sent, interrupted', async () => {
      const wrong = [];
      let rounds = 0;
      for (let i = 0; rounds < 4 && i < 12; i++) {
        await p.mock.resetStats();
        const s = sid();
        const st = await stream(p, s, `leave as it ends ${i} [[mock:chunks=8,delay=40]]`);
        assert.ok(await st.until(() => st.tokens.length >= 2, 5000), `${i}: ${st.types}`);
        const pids = p.workerPids();
        for (const pid of pids) process.kill(pid, 'SIGSTOP');
        if ((await p.mock.stats()).completed > 0) {
          for (const pid of pids) process.kill(pid, 'SIGCONT');
          st.destroy();
          continue;
        }
        rounds++;
        try {
          const stats = await p.mock.waitStats((x) => x.completed >= 1, 5000);
          assert.equal(stats.completed, 1, `${i}: the model ended: ${JSON.stringify(stats)}`);
          st.close();
          await sleep(100);
        } finally {
          for (const pid of pids) process.kill(pid, 'SIGCONT');
        }
        assert.ok(await st.until(() => st.gone, 10000), `${i}: the server ended the connection`);
        const seen = st.tokens.join('');
        st.destroy();
        const a = await storedReply(p, (x) => x.sessionId === sessionShown(s), `${i}: `);
        if (a.content !== seen || a.status !== 'interrupted' || st.types.includes('done')) {
          wrong.push({ i, status: a.status, seen, stored: a.content, events: st.types.join() });
        }
      }
      assert.equal(rounds, 4, 'four rounds with the model still streaming as the workers stopped');
      assert.deepEqual(wrong, []);
    });

    // A client that pipelined a request behind its stream, read slowly and
    // half-closed: the server's socket still held tokens for it when the
    // turn ended. Closing over the request nobody would read sent a reset,
    // which threw them away: 2 tokens read, 3 stored. That input is read
    // away first; the client, reading on, gets what is stored.
    test('a client that pipelined a request and leaves mid-stream: it still gets the tokens stored', async () => {
      await p.mock.resetStats();
      const s = sid();
      const st = await stream(p, s, 'x [[mock:reply=%01,repeat=60000,chunks=4,delay=300]]', { close: false });
      st.pause();
      const stats = await p.mock.waitStats((x) => x.content_chunks >= 3, 5000);
      assert.ok(stats.content_chunks >= 3, JSON.stringify(stats));
      await sleep(100);
      st.sock.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
      await sleep(100);
      st.close();
      await sleep(300);
      st.resume();
      assert.ok(await st.until(() => st.gone, 10000), 'the server ended the connection');
      const seen = st.tokens.join('');
      st.destroy();
      const a = await storedReply(p, (x) => x.sessionId === sessionShown(s));
      assert.equal(a.status, 'interrupted');
      assert.ok(a.content.length >= 15000, `a token was written: ${a.content.length} bytes stored`);
      assert.equal(seen.length, a.content.length, `read ${st.types.join()}`);
      assert.equal(seen, a.content);
    });

    test('a client that leaves while /v1/chat waits: the model call is cancelled, stored as interrupted', async () => {
      await p.mock.resetStats();
      const s = sid();
      const c = await p.connect();
      const body = JSON.stringify({ sessionId: s, message: 'json leave [[mock:chunks=20,delay=100]]' });
      await c.write(`POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nx-api-key: ${p.widgetKey}\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      await p.mock.waitStats((x) => x.active_streams >= 1, 5000);
      await sleep(350);
      c.destroy();
      const stats = await p.mock.waitStats((x) => x.aborted >= 1 && x.active_streams === 0, 5000);
      assert.equal(stats.aborted, 1, JSON.stringify(stats));
      let conv = null;
      for (let i = 0; i < 100 && !conv; i++) {
        const l = await p.admin('/v1/admin/conversations?limit=50');
        conv = l.json().conversations.find((x) => x.sessionId === sessionShown(s));
        if (!conv) await sleep(25);
      }
      assert.ok(conv, 'the conversation exists');
      const got = await waitStored(p, conv._id, (msgs) => msgs.length === 2);
      assert.equal(got.messages.length, 2);
      assert.equal(got.messages[1].status, 'interrupted');
      assert.ok('You said: json leave'.startsWith(got.messages[1].content));
    });

    test('storaged killed mid-stream: an error event; then 503 once a request waited for it (about 2 s); back by itself once storaged is', { timeout: 60000 }, async () => {
      const st = await stream(p, sid(), 'outlive storage [[mock:chunks=10,delay=100]]');
      assert.ok(await st.until(() => st.tokens.length >= 1, 5000), 'streaming');
      await p.killStoraged('SIGKILL');
      await st.finish(10000);
      st.destroy();
      assertErrorStream(st, 'Storage unavailable');
      // While storaged is down: 503 JSON on every chat endpoint, once the
      // request waited for storaged a while (STOREC_WAIT_MS, 2 s). Three
      // each, all nine side by side: each waits its own 2 s.
      await Promise.all(['/v1/chat', '/v1/chat/stream', '/chat'].flatMap((path) => [0, 1, 2].map(async () => {
        const t0 = Date.now();
        const r = await chat(p, sid(), 'anyone there?', { path, timeout: 8000 });
        assertJsonError(r, 503, 'Storage unavailable');
        api.checkJson('POST', path, r);
        assert.ok(Date.now() - t0 >= 1500, `503 after ${Date.now() - t0} ms, before the wait`);
      })));
      assert.equal((await p.get('/health')).status, 200);
      const from = p.logs.masterd.length;
      await p.startStoraged();
      const t0 = Date.now();
      let ok = null;
      while (Date.now() - t0 < 10000) {
        const r = await chat(p, sid(), 'back?', { timeout: 5000 });
        if (r.status === 200) { ok = r; break; }
        assertJsonError(r, 503, 'Storage unavailable');
        await sleep(100);
      }
      assert.ok(ok, 'chat is served again within 10 s of storaged\'s restart');
      assert.equal(ok.json().message, 'You said: back?');
      // The other worker too (each reconnects on its own schedule).
      await p.waitConnected(from);
      assertGoodStream(await streamTurn(p, sid(), 'streams too'), 'You said: streams too');
    });
  });

  // The question slow to reach the disk (storaged's fdatasync delayed under
  // strace): the model answers meanwhile, but the client is shown nothing
  // until the question is stored. A client that leaves then was sent none of
  // the reply, and none is stored (the model's text held for it once was),
  // also when the model has ended meanwhile (it was once stored complete).
  describe('chat: a client that leaves before its question is on disk', { concurrency: false }, () => {
    let p;
    before(async () => {
      p = new Parley({ workers: 1, mock: true, env: { ...NO_LSAN, RATE_LIMIT_MAX_REQUESTS: '0' } });
      await p.start();
    });
    after(() => p && p.stop());

    // A stream asking text while storaged's syncs are slow, closed by its
    // client once meanwhile() is done and before the question is on disk:
    // it was sent no token, and its conversation is stored with the reply
    // interrupted and empty.
    async function leftBeforeDisk(text, meanwhile) {
      await p.mock.resetStats();
      const s = sid();
      const tr = await slowSyncs(p.storagedPid, 1500);
      let st;
      try {
        st = await stream(p, s, text);
        await meanwhile();
        assert.equal(st.received, 0, 'nothing shown before the question is stored');
        st.close();
        assert.ok(await st.until(() => st.gone, 10000), 'the server ended the connection');
      } finally {
        tr.kill();
      }
      assert.deepEqual(st.tokens, []);
      st.destroy();
      const reply = await storedReply(p, (x) => x.sessionId === sessionShown(s));
      assert.equal(reply.status, 'interrupted');
      assert.equal(reply.content, '', 'the reply stored holds what the client was never sent');
    }

    test('none of the reply is stored: the client was sent none of it', async () => {
      await leftBeforeDisk('not on disk yet [[mock:chunks=40,delay=5]]',
        () => p.mock.waitStats((x) => x.content_chunks >= 3, 5000));
    });

    // The model done before the question is on disk, and the client gone
    // before it is: the outcome was known (complete), but the client was
    // sent none of it (the whole reply was once stored, complete).
    test('the model done meanwhile: none of the reply is stored, interrupted', async () => {
      await leftBeforeDisk('done before disk [[mock:chunks=4,delay=5]]', async () => {
        await p.mock.waitStats((x) => x.completed >= 1, 5000);
        assert.equal((await p.mock.stats()).completed, 1, 'the model finished');
        await sleep(200);     // and workerd read its end
      });
    });
    // The WebSocket's twin: the widget's visitor who leaves before the
    // question is on disk was sent none of the reply, and none is stored,
    // the model still answering or done meanwhile (the whole reply was
    // once stored, later replayed in its history and to its other tabs).
    test('the widget: none of the reply is stored, the visitor was sent none of it', async () => {
      for (const [i, ask] of ['[[mock:chunks=40,delay=5]]', '[[mock:chunks=4,delay=5]]'].entries()) {
        const w = await createWidget(p, {});
        const v = await Visitor.open(p, w.widget_id);
        await v.next('session');
        await p.mock.resetStats();
        const tr = await slowSyncs(p.storagedPid, 1500);
        try {
          v.send({ type: 'message', content: `never shown ${ask}` });
          if (i === 0) await p.mock.waitStats((x) => x.content_chunks >= 3, 5000);
          else {
            await p.mock.waitStats((x) => x.completed >= 1, 5000);
            await sleep(200);   // and workerd read its end
          }
          assert.deepEqual(v.inbox, [], 'nothing shown before the question is stored');
          v.ws.terminate();
          await v.closed;
        } finally {
          tr.kill();
        }
        const reply = await storedReply(p, (c) => c.widgetId === w.id);
        assert.equal(reply.status, 'interrupted');
        assert.equal(reply.content, '', 'the reply stored holds what the visitor was never sent');
      }
    });
  });

  // storaged slower than the workers' storage timeout (its fdatasync
  // delayed 1.5 s under strace, PARLEY_STORAGE_TIMEOUT_MS 400): storaged goes
  // on with a turn's write whatever the worker decides, so the worker waits
  // for its outcome rather than guess. The turn ends as it would have, only
  // later: the question once got 503 "Storage unavailable" (the widget's
  // visitor "message_not_saved") and was stored all the same, with no answer
  // ever, the next turn sending the model two questions in a row; the reply
  // once got an error after all its tokens ("reply_not_saved") and was stored
  // complete all the same.
  describe('chat: storaged slower than its timeout', { concurrency: false }, () => {
    let p;
    before(async () => {
      p = new Parley({
        workers: 1,
        mock: { chunks: 4 },
        env: { ...NO_LSAN, PARLEY_STORAGE_TIMEOUT_MS: '400', RATE_LIMIT_MAX_REQUESTS: '0' },
      });
      await p.start();
    });
    after(() => p && p.stop());

    test('the stream: the question and the reply stored late are answered', async () => {
      const s = sid();
      const tr = await slowSyncs(p.storagedPid, 1500);
      let st;
      try {
        st = await streamTurn(p, s, 'is it saved?', { timeout: 15000 });
      } finally {
        tr.kill();
      }
      const { conversationId, message } = assertGoodStream(st);
      const got = await stored(p, conversationId);
      assert.deepEqual(got.messages.map((m) => [m.role, m.content]), [['user', 'is it saved?'], ['assistant', message]]);
      assert.equal(got.messages[1].status, 'complete');
      await p.mock.clearRequests();
      const r = await chat(p, s, 'and now?');
      assert.equal(r.status, 200, r.text);
      const roles = (await lastSent(p)).messages.map((m) => m.role).filter((x) => x !== 'system');
      assert.deepEqual(roles, ['user', 'assistant', 'user'], 'the question was answered');
    });

    test('the stream: a reply stored late ends done, not an error', async () => {
      const st = await stream(p, sid(), 'slow store [[mock:first_delay=1500]]');
      await sleep(300);   // the question is on disk
      const tr = await slowSyncs(p.storagedPid, 1500);
      try {
        await st.finish(15000);
      } finally {
        tr.kill();
      }
      st.destroy();
      const { conversationId, message } = assertGoodStream(st);
      const got = await stored(p, conversationId);
      assert.equal(got.messages.length, 2);
      assert.equal(got.messages[1].status, 'complete');
      assert.equal(got.messages[1].content, message);
    });

    test('the widget: the question and the reply stored late are answered', async () => {
      const w = await createWidget(p, {});
      const v = await Visitor.open(p, w.widget_id);
      await v.next('session');
      const tr = await slowSyncs(p.storagedPid, 1500);
      let t;
      try {
        t = await v.turn('is it saved?', 15000);
      } finally {
        tr.kill();
      }
      await v.close();
      const list = (await p.admin('/v1/admin/conversations?limit=50')).json().conversations;
      const conv = list.find((c) => c.widgetId === w.id);
      assert.ok(conv, 'the conversation is stored');
      const got = await stored(p, conv._id);
      assert.deepEqual(got.messages.map((m) => [m.role, m.status, m.content]),
        [['user', got.messages[0].status, 'is it saved?'], ['assistant', 'complete', t.message.content]]);
    });
  });
});
