// A visitor in several tabs (one session, several sockets, on either
// worker), against the real processes and the mock model: a message
// written in one tab, and the reply to it, reach the session's other
// sockets on that conversation as "message" with "copy" (a failed reply
// as "typing_stop" with "copy"); the socket that wrote it is not sent
// them again; while a person answers, the visitor's
// message reaches the other tabs the same way; another visitor's socket
// hears nothing of it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Parley, sleep } from './lib/harness.mjs';
import { mockReply } from './lib/chat.mjs';
import { createWidget, Visitor } from './lib/wsclient.mjs';

// The frames v got within ms (none waited for): what it was sent.
async function quiet(v, ms = 400) {
  await sleep(ms);
  return v.inbox.splice(0);
}

// A socket of session token, its history read.
async function tab(p, wid, token) {
  const v = await Visitor.open(p, wid, { token });
  await v.next('session');
  await v.next('history');
  return v;
}

describe('a visitor in several tabs', () => {
  let p;
  let w;
  before(async () => {
    p = new Parley({ workers: 2, mock: { chunks: 2, delayMs: 1 }, env: { RATE_LIMIT_MAX_REQUESTS: '0' } });
    await p.start();
    w = await createWidget(p);
  });
  after(async () => { await p.stop(); assert.deepEqual(p.problems, []); });

  test('a message and its reply reach the other tabs, once, and not the tab that wrote it', async () => {
    const a = await Visitor.open(p, w.widget_id);
    const token = (await a.next('session')).session_token;
    await a.turn('first question');
    // Three more tabs (a session's reconnects are 5 a window), each
    // on either worker (two).
    const others = [];
    for (let i = 0; i < 3; i++) others.push(await tab(p, w.widget_id, token));
    const stranger = await Visitor.open(p, w.widget_id);
    await stranger.next('session');

    const { message } = await a.turn('second question');
    assert.equal(message.content, mockReply('second question'));
    assert.equal(message.copy, undefined);
    assert.deepEqual(await quiet(a), [], 'the tab that wrote it');
    const conv = (await p.adminJson('GET', '/v1/admin/conversations?limit=200')).json().conversations
      .find((c) => c.lastVisitorMessage === 'second question');
    const stored = (await p.admin(`/v1/admin/conversations/${conv._id}`)).json().messages.slice(-2);
    for (const v of others) {
      const user = await v.next('message');
      assert.deepEqual(user, { type: 'message', role: 'user', content: 'second question', id: stored[0]._id, copy: true });
      const reply = await v.next('message');
      assert.deepEqual(reply, { type: 'message', role: 'assistant', content: message.content, id: stored[1]._id, copy: true });
      assert.equal(message.id, reply.id);
      assert.deepEqual(await quiet(v, 0), []);
    }
    assert.deepEqual(await quiet(stranger), [], "another visitor's socket");

    // A tab that writes is one of the others for the rest.
    const b = others[0];
    await b.turn('from the other tab');
    const copies = await a.next('message');
    assert.equal(copies.content, 'from the other tab');
    assert.equal((await a.next('message')).content, mockReply('from the other tab'));
    assert.deepEqual(await quiet(b), []);
    for (const v of others.slice(1)) {
      assert.equal((await v.next('message')).content, 'from the other tab');
      assert.equal((await v.next('message')).content, mockReply('from the other tab'));
    }

    // A reply that failed: the tab that asked shows its error; the
    // others the question alone (the stored text is the model's error),
    // then typing_stop with copy: no reply is coming.
    a.send({ type: 'message', content: 'break [[mock:status=500]]' });
    assert.equal((await a.next('typing_start')).type, 'typing_start');
    const err = await a.next('error');
    assert.equal(err.code, 'model_failed');
    assert.deepEqual(await a.next('typing_stop'), { type: 'typing_stop' });
    for (const v of others) {
      assert.equal((await v.next('message')).content, 'break [[mock:status=500]]');
      assert.deepEqual(await v.next('typing_stop'), { type: 'typing_stop', copy: true });
    }
    await sleep(300);
    for (const v of [a, ...others]) assert.deepEqual(await quiet(v, 0), []);
    for (const v of [a, ...others, stranger]) await v.close();
  });

  test('while a person answers: the visitor\'s message reaches the other tabs, and the person\'s every tab', async () => {
    const a = await Visitor.open(p, w.widget_id);
    const token = (await a.next('session')).session_token;
    await a.turn('hello');
    const b = await tab(p, w.widget_id, token);
    const conv = (await p.adminJson('GET', '/v1/admin/conversations?limit=200')).json().conversations
      .find((c) => c.lastVisitorMessage === 'hello');
    assert.equal((await p.adminJson('POST', `/v1/admin/conversations/${conv._id}/handoff`, { state: 'human' })).status, 200);
    for (const v of [a, b]) assert.equal((await v.next('handoff')).state, 'human');

    a.send({ type: 'message', content: 'are you there?' });
    // Stored, no reply coming: its tab hears the state again, not its message.
    assert.equal((await a.next('handoff')).state, 'human');
    const copy = await b.next('message');
    assert.equal(copy.role, 'user');
    assert.equal(copy.content, 'are you there?');
    assert.equal(copy.copy, true);
    assert.deepEqual(await quiet(a), []);

    assert.equal((await p.adminJson('POST', `/v1/admin/conversations/${conv._id}/messages`, { content: 'yes, Ann here' })).status, 201);
    for (const v of [a, b]) {
      const m = await v.next('message');
      assert.equal(m.role, 'agent');
      assert.equal(m.content, 'yes, Ann here');
    }
    await a.close();
    await b.close();
  });
});
