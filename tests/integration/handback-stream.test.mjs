// The answer to a hand back streams to the visitor's socket on the worker
// that makes it (workerd/chat/answerlast.c): one worker here, so the socket
// is on it. A person takes over, the visitor asks, the person hands back:
// the socket gets typing_start, the reply's tokens as the model sends
// them (before the reply is stored), then the message they join to, and
// typing_stop, as for a turn of its own; a model that fails, its error.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Parley } from './lib/harness.mjs';
import { mockReply } from './lib/chat.mjs';
import { createWidget, Visitor } from './lib/wsclient.mjs';

describe('the answer to a hand back streams, 1 worker', () => {
  let p;
  before(async () => {
    p = new Parley({ workers: 1, mock: true, env: { RATE_LIMIT_MAX_REQUESTS: '0' } });
    await p.start();
  });
  after(async () => { await p.stop(); assert.deepEqual(p.problems, []); });

  // A visitor's conversation a person took over, asked q meanwhile, then handed back.
  async function handedBack(q) {
    const w = await createWidget(p, { handoff_enabled: true });
    const v = await Visitor.open(p, w.widget_id);
    await v.next('session');
    await v.turn('hello');
    const conv = (await p.admin('/v1/admin/conversations')).json().conversations.find((c) => c.widgetId === w.id)._id;
    let r = await p.adminJson('POST', `/v1/admin/conversations/${conv}/handoff`, { state: 'human' });
    assert.equal(r.status, 200, r.text);
    assert.equal((await v.next('handoff')).state, 'human');
    v.send({ type: 'message', content: q });
    assert.deepEqual(await v.next('handoff'), { type: 'handoff', state: 'human' });
    r = await p.adminJson('POST', `/v1/admin/conversations/${conv}/handoff`, { state: 'ai' });
    assert.equal(r.status, 200, r.text);
    assert.equal((await v.next('handoff')).state, 'ai');
    return { v, conv };
  }

  test('typing_start, tokens before the reply is stored, the message, typing_stop', async () => {
    // Three chunks, the last two 2 s apart: the first token comes well before the reply is stored.
    const q = 'stream it [[mock:chunks=3,delay=2000]]';
    const { v, conv } = await handedBack(q);
    assert.deepEqual(await v.next('typing_start'), { type: 'typing_start', answer: true });
    const first = await v.next('token');
    const stored = (await p.admin(`/v1/admin/conversations/${conv}`)).json().messages;
    assert.deepEqual(stored.map((m) => m.role), ['user', 'assistant', 'user'], 'streamed before it is stored');
    const { tokens, message } = await v.answerEnd();
    assert.equal(message.type, 'message');
    assert.equal(message.copy, undefined);
    assert.equal(message.content, mockReply(q));
    assert.ok(tokens.length >= 1, 'more than one token');
    assert.equal(first.token + tokens.join(''), message.content);
    assert.deepEqual(v.inbox, []);
    await v.close();
  });

  test('the model fails: the socket is told so (model_failed), and the typing ends', async () => {
    const { v } = await handedBack('break [[mock:status=500]]');
    const { message } = await v.answered();
    assert.equal(message.type, 'error');
    assert.equal(message.code, 'model_failed');
    assert.equal(message.frame, 'message');
    assert.deepEqual(v.inbox, []);
    // The visitor asks again: an ordinary turn.
    assert.equal((await v.turn('again')).message.content, mockReply('again'));
    await v.close();
  });
});
