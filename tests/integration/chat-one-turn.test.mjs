// One model turn at a time in a conversation, whatever asks: a second
// message of a session while its reply is still to come (a double submit
// on the HTTP chat, the session's other tab on the WebSocket) is refused
// by storaged, nothing stored and the model not called: 429 JSON with
// Retry-After on HTTP, an "error" with code reply_in_progress on the
// socket. Two turns at once were each answered by the model, and replies
// are paired with their questions by position: the first failing, its
// failure dropped the second's question, and the second's answer was
// filed under the first question (in the history sent to the model, in
// GET /v1/chat/history and in a resumed socket's history). A turn whose
// worker's connection closed (its front host died) holds the
// conversation no more: storaged ends such a turn itself (3 s on, an
// empty interrupted reply while its question is still the last), and the
// visitor chats on at once on another. One a restarted storaged read off
// its disk holds it until that end (its worker may still answer it).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Parley, SHORT_STARTUP, sleep } from './lib/harness.mjs';
import { assertJsonError } from './lib/checks.mjs';
import { assertGoodStream, chat, mockReply, sid, stored, stream, streamTurn, waitStored } from './lib/chat.mjs';
import { createWidget, Visitor } from './lib/wsclient.mjs';
import { checkerFor } from './lib/openapi.mjs';
import { T, chatBegin, rep } from './lib/storage.mjs';

// How long a stalled model keeps its turn open before it fails: every
// refused message of the first describe must reach storaged within it,
// and it must outlast the double submit's first_delay (the model sending
// nothing then), however slow a loaded machine under ASan is.
const IDLE_MS = 6000;
const WAIT = 'Please wait for the reply to finish.';

// GET /v1/chat/history of session s: [role, content] of each message.
async function visitorHistory(p, s) {
  const h = await p.request('GET', `/v1/chat/history?sessionId=${s}`, { headers: { 'x-api-key': p.widgetKey } });
  assert.equal(h.status, 200, h.text);
  return h.json().messages.map((m) => [m.role, m.content]);
}

// The last chat completion request the mock received: [role, content] of each message but the system prompt.
async function lastSent(p) {
  const reqs = await p.mock.completions();
  assert.ok(reqs.length > 0, 'the model was called');
  return reqs[reqs.length - 1].body.messages.filter((m) => m.role !== 'system').map((m) => [m.role, m.content]);
}

// Chat turns of session s until one is answered 200 (within timeout): the
// statuses seen before it ('closed': a connection a dying worker took).
async function untilAnswered(p, s, message, timeout = 15000) {
  const seen = [];
  const t0 = Date.now();
  while (Date.now() - t0 < timeout) {
    let r;
    try {
      r = await chat(p, s, message, { timeout: 5000 });
    } catch (e) {
      if (e.code !== 'ECLOSED') throw e;
      seen.push('closed');
      await sleep(200);
      continue;
    }
    if (r.status === 200) return { seen, r, ms: Date.now() - t0 };
    seen.push(r.status);
    if (r.status === 429) assertJsonError(r, 429, WAIT);
    await sleep(200);
  }
  assert.fail(`no 200 within ${timeout} ms: ${seen}`);
}

// The two parts, each on stacks of their own, side by side: the second's
// mostly wait on storaged's 3 s for a lost turn. The first's tests one
// after another (it says concurrency false: it would inherit true).
describe('one turn at a time', { concurrency: true }, () => {
  describe('one turn at a time in a conversation', { concurrency: false }, () => {
    let p;
    let api;
    before(async () => {
      p = new Parley({ workers: 2, mock: { chunks: 3 }, env: { OPENAI_IDLE_TIMEOUT_MS: String(IDLE_MS), RATE_LIMIT_MAX_REQUESTS: '0' } });
      await p.start();
      api = await checkerFor(p);
    });
    after(async () => { await p.stop(); assert.deepEqual(p.problems, []); });

    test('HTTP: a second message while the first turn fails is refused 429; the next one after it is paired with its own answer', { timeout: 30000 }, async () => {
      const s = sid();
      const r0 = await chat(p, s, 'zero');
      assert.equal(r0.status, 200, r0.text);
      const conv = r0.json().conversationId;
      await p.mock.clearRequests();
      // The first turn stalls, then fails (OPENAI_IDLE_TIMEOUT_MS).
      const a = await stream(p, s, 'one [[mock:stall=0]]');
      assert.ok(await a.waitEvent('start', 5000), 'the first turn began');
      for (const path of ['/v1/chat/stream', '/v1/chat', '/chat']) {
        const b = await chat(p, s, 'two [[mock:chunks=3,first_delay=1000,delay=1000]]', { path });
        assertJsonError(b, 429, WAIT);
        assert.equal(b.headers['retry-after'], '1');
        api.checkJson('POST', path, b);
      }
      await a.finish(IDLE_MS + 10000);
      a.destroy();
      assert.equal(a.types[a.types.length - 1], 'error', `events: ${a.types}`);
      // The model was asked once: the refused messages were never sent to it.
      assert.equal((await p.mock.completions()).length, 1);
      assert.deepEqual((await stored(p, conv)).messages.map((m) => [m.role, m.status, m.role === 'user' ? m.content : '']), [
        ['user', 'complete', 'zero'], ['assistant', 'complete', ''],
        ['user', 'complete', 'one [[mock:stall=0]]'], ['assistant', 'failed', ''],
      ]);

      // Asked again once the first is over: answered, and paired with it.
      await p.mock.clearRequests();
      const r2 = await chat(p, s, 'two');
      assert.equal(r2.status, 200, r2.text);
      assert.equal(r2.json().message, mockReply('two'));
      assert.deepEqual(await lastSent(p), [['user', 'zero'], ['assistant', mockReply('zero')], ['user', 'two']]);
      assert.deepEqual(await visitorHistory(p, s), [
        ['user', 'zero'], ['assistant', mockReply('zero')], ['user', 'two'], ['assistant', mockReply('two')],
      ]);
    });

    test('HTTP: a double submit is answered once; the turn after it goes on', { timeout: 30000 }, async () => {
      const s = sid();
      await p.mock.clearRequests();
      // The first turn is open 3 s past its start (the model's first_delay,
      // under IDLE_MS): the duplicate reaches storaged within it.
      const twice = 'twice [[mock:chunks=3,first_delay=3000,delay=100]]';
      const a = await stream(p, s, twice);
      assert.ok(await a.waitEvent('start', 5000), 'the first turn began');
      const b = await chat(p, s, twice, { path: '/v1/chat/stream' });
      assertJsonError(b, 429, WAIT);
      await a.finish(10000);
      a.destroy();
      const { conversationId } = assertGoodStream(a, mockReply('twice'));
      assert.equal((await p.mock.completions()).length, 1, 'the model was paid once');
      assertGoodStream(await streamTurn(p, s, 'after'), mockReply('after'));
      assert.deepEqual((await stored(p, conversationId)).messages.map((m) => [m.role, m.content]), [
        ['user', twice], ['assistant', mockReply('twice')],
        ['user', 'after'], ['assistant', mockReply('after')],
      ]);
    });

    test('WebSocket: the session\'s other tab is told reply_in_progress while the first turn fails; its message after is paired with its own answer', { timeout: 30000 }, async () => {
      const w = await createWidget(p, {});
      const a = await Visitor.open(p, w.widget_id);
      const { session_token: token } = await a.next('session');
      await a.turn('zero');
      const b = await Visitor.open(p, w.widget_id, { token });
      await b.next('session');
      await b.next('history');
      a.send({ type: 'message', content: 'one [[mock:stall=0]]' });
      await a.next('typing_start');
      b.send({ type: 'message', content: 'two [[mock:chunks=3,first_delay=1000,delay=1000]]' });
      // b hears a's question (a copy), then its own refusal.
      let m;
      while ((m = await b.next()).type !== 'error') assert.equal(m.copy, true, JSON.stringify(m));
      assert.equal(m.code, 'reply_in_progress');
      assert.equal(m.message, WAIT);
      // a's turn fails, as the model stalls.
      const err = await a.next('error', IDLE_MS + 10000);
      assert.equal(err.code, 'model_failed');
      await a.next('typing_stop');
      // The failed turn's copies to b, up to the last: the failed reply,
      // copied as "typing_stop" with "copy" (wschat.c copy_json).
      while (!((m = await b.next(undefined, 10000)).type === 'typing_stop' && m.copy === true));
      b.inbox.splice(0);

      const { message } = await b.turn('two');
      assert.equal(message.content, mockReply('two'));
      // A tab opened now (a resume) is shown each question with its own answer.
      const c = await Visitor.open(p, w.widget_id, { token });
      await c.next('session');
      const h = await c.next('history');
      assert.deepEqual(h.messages.map((x) => [x.role, x.content]), [
        ['user', 'zero'], ['assistant', mockReply('zero')], ['user', 'two'], ['assistant', mockReply('two')],
      ]);
      for (const v of [a, b, c]) await v.close();
    });
  });

  // What holds a conversation is let go when its turn cannot end as usual.
  describe('one turn at a time: a turn that cannot end as usual holds the conversation no longer', { concurrency: true }, () => {
    // Its worker killed mid-reply: the turn is a lost one, which holds the
    // conversation no more (storaged would end it 3 s on): the session's
    // next message is answered at once, and the lost turn's question, no
    // longer the last, stays without an answer.
    test('its worker killed: the session is answered again at once, not held', { timeout: 60000 }, async (t) => {
      const p = new Parley({ workers: 2, mock: true, env: { RATE_LIMIT_MAX_REQUESTS: '0', ...SHORT_STARTUP } });
      t.after(() => p.stop());
      await p.start();
      // Past masterd's throttle of a worker dying young.
      await p.pastStartup();
      const workers = p.workerPids();
      const s = sid();
      const st = await stream(p, s, '[[mock:chunks=40,delay=250]] a long story');
      t.after(() => st.destroy());
      assert.ok(await st.until(() => st.tokens.length >= 1, 10000), 'the first token');
      const conv = st.events[0].conversationId;
      const victim = p.connectionOwners(workers).get(st.localPort);
      assert.ok(workers.includes(victim), `the stream's worker (${victim}) is one of ${workers}`);
      const held = await chat(p, s, 'meanwhile');
      assertJsonError(held, 429, WAIT);
      process.kill(victim, 'SIGKILL');
      const { seen, r, ms } = await untilAnswered(p, s, 'after the crash');
      t.diagnostic(`answered ${ms} ms after the kill, after ${seen}`);
      assert.ok(seen.every((x) => x === 429 || x === 'closed'), `refused only as held: ${seen}`);
      assert.equal(r.json().message, mockReply('after the crash'));
      // Past the lost turn's end: nothing was added to the question it left.
      await sleep(4000);
      assert.deepEqual((await stored(p, conv)).messages.map((m) => [m.role, m.status, m.content]), [
        ['user', 'complete', '[[mock:chunks=40,delay=250]] a long story'],
        ['user', 'complete', 'after the crash'], ['assistant', 'complete', mockReply('after the crash')],
      ], 'answered before storaged ended the lost turn, which then added nothing');
    });

    // A worker whose reply storaged refused, its connection kept: the
    // worker ended its turn with an error and answers it no more, and the
    // turn held the conversation 15 minutes (STORE_TURN_HOLD_MS). Now the
    // refusal leaves it lost, as a closed connection's: ended as
    // interrupted 3 s on, the session free. The test speaks for the worker
    // on storaged's socket (as shared-flush.test.mjs does) to have a reply
    // refused while the connection lives.
    test('a reply its worker failed to store: the turn ends as interrupted, the session is not held', { timeout: 30000 }, async (t) => {
      const p = new Parley({ workers: 1, mock: true, env: { RATE_LIMIT_MAX_REQUESTS: '0' } });
      t.after(() => p.stop());
      await p.start();
      const st = await p.storage({ name: 'itest-refused-reply' });
      t.after(() => st.close());
      const s = sid();
      const begin = async (text) => rep(T.ST_CHAT_BEGIN, await st.call(T.ST_CHAT_BEGIN, chatBegin(s, text)));
      const first = await begin('a question');
      assert.equal(first.result, 0);
      const conv = first.ok.conv_id;
      assert.equal((await begin('too soon')).result, 7, 'held while its reply is to come (ST_CHAT_TURN_OPEN)');
      await assert.rejects(st.msgAppend(conv, 'assistant', 'half a reply', 'garbled'), /status must be/);
      const got = await waitStored(p, conv, (m) => m.length === 2, 10000);
      assert.deepEqual(got.messages.map((m) => [m.role, m.status, m.content]), [
        ['user', 'complete', 'a question'], ['assistant', 'interrupted', ''],
      ], 'the refused reply\'s turn ended as a lost worker\'s');
      const again = await begin('and now?');
      assert.equal(again.result, 0, 'the session chats on');
      assert.equal(again.ok.conv_id, conv);
      await p.waitLog('storaged', /the reply in [0-9a-f]+ not stored: its turn ends as interrupted in 3000 ms/);
    });

    // storaged killed mid-turn: the worker's reply cannot be stored, and the
    // turn stays open on disk. The new storaged holds the conversation to
    // it (its worker, reconnected, may still answer it) until it ends it
    // 3 s after its start (no worker names it again): the session chats again.
    test('storaged killed mid-turn and started again: the session is answered again once the turn is ended', { timeout: 60000 }, async (t) => {
      const p = new Parley({ workers: 1, mock: true, env: { RATE_LIMIT_MAX_REQUESTS: '0' } });
      t.after(() => p.stop());
      await p.start();
      const s = sid();
      const r0 = await chat(p, s, 'zero');
      assert.equal(r0.status, 200, r0.text);
      const conv = r0.json().conversationId;
      const st = await stream(p, s, 'lost reply [[mock:chunks=10,delay=100]]');
      t.after(() => st.destroy());
      assert.ok(await st.until(() => st.tokens.length >= 1, 10000), 'the first token');
      await p.killStoraged('SIGKILL');
      await st.finish(10000);
      assert.deepEqual(st.events[st.events.length - 1], { type: 'error', error: 'Storage unavailable' });
      await p.startStoraged();
      const { seen, r, ms } = await untilAnswered(p, s, 'after the restart');
      t.diagnostic(`answered ${ms} ms after storaged's start, after ${seen}`);
      assert.ok(seen.every((x) => x === 429 || x === 503), `refused only as held or unavailable: ${seen}`);
      assert.ok(seen.includes(429), `held a while: ${seen}`);
      assert.equal(r.json().message, mockReply('after the restart'));
      const got = await waitStored(p, conv, (m) => m.length === 6);
      assert.deepEqual(got.messages.map((m) => [m.role, m.status]), [
        ['user', 'complete'], ['assistant', 'complete'],
        ['user', 'complete'], ['assistant', 'interrupted'],
        ['user', 'complete'], ['assistant', 'complete'],
      ]);
    });
  });
});
