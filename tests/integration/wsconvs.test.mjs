// Several conversations a visitor session (issue 26), over the widget's
// WebSocket against the real processes and the mock model:
// new_conversation, the list, an earlier conversation read-only, another
// session's refused, a resumed session's history and whether it has an
// earlier conversation (`session`'s `earlier`), the list's bound, the
// per-socket rate, and a new conversation kept across a kill -9 of
// storaged right after its acknowledgement.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Parley } from './lib/harness.mjs';
import { mockReply } from './lib/chat.mjs';
import { createWidget, Visitor } from './lib/wsclient.mjs';

// Every message of a conversation, through the admin API.
async function messagesOf(p, convId) {
  const r = await p.admin(`/v1/admin/conversations/${convId}`);
  assert.equal(r.status, 200);
  return r.json().messages.map((m) => [m.role, m.content]);
}

// A frame and its answer (of type; an error fails unless type is 'error').
async function ask(v, frame, type) {
  v.send(frame);
  return v.next(type);
}

async function list(v) {
  return (await ask(v, { type: 'conversations' }, 'conversations')).conversations;
}

// A visitor with a stored session: its first turn said.
async function visitorWith(p, wid, text) {
  const v = await Visitor.open(p, wid);
  const s = await v.next('session');
  await v.turn(text);
  return { v, token: s.session_token };
}

describe('WebSocket: several conversations a session', () => {
  let p;
  let w;
  before(async () => {
    p = new Parley({ workers: 2, mock: { chunks: 2, delayMs: 1 }, env: { RATE_LIMIT_MAX_REQUESTS: '0', TRUST_PROXY: '127.0.0.1' } });
    await p.start();
    w = await createWidget(p);
  });
  after(async () => { await p.stop(); assert.deepEqual(p.problems, []); });

  test('a new conversation beside the old: both listed, the old one read-only, two conversations in the dashboard', async () => {
    const { v, token } = await visitorWith(p, w.widget_id, 'first question');
    const one = await list(v);
    assert.equal(one.length, 1);
    assert.equal(one[0].current, true);
    assert.equal(one[0].preview, 'first question');
    const firstId = one[0].id;
    assert.match(firstId, /^[0-9a-f]{32}$/);
    // Resumed with its one conversation: none earlier to offer.
    const r1 = await Visitor.open(p, w.widget_id, { token });
    assert.equal((await r1.next('session')).earlier, undefined, 'no earlier conversation');
    await r1.close();

    // (naming the one left: a rating sent from another socket may name it)
    assert.deepEqual(await ask(v, { type: 'new_conversation' }, 'conversation_new'), { type: 'conversation_new', ended: firstId });
    // Pressed again before a message: nothing more to end (the one left still named).
    assert.deepEqual(await ask(v, { type: 'new_conversation' }, 'conversation_new'), { type: 'conversation_new', ended: firstId });
    const { message } = await v.turn('second question');
    assert.equal(message.content, mockReply('second question'));

    const two = await list(v);
    assert.equal(two.length, 2);
    assert.deepEqual(two.map((c) => [c.preview, c.current]), [['second question', true], ['first question', false]]);
    assert.equal(two[1].id, firstId);
    assert.notEqual(two[0].id, firstId);
    assert.ok(two[0].started_at >= two[1].started_at && two[1].updated_at >= two[1].started_at);

    const old = await ask(v, { type: 'open_conversation', id: firstId }, 'history');
    assert.equal(old.readonly, true);
    assert.equal(old.conversation_id, firstId);
    // Each message with its id, an answer with its thumb (issue 26's feedback).
    assert.deepEqual(old.messages.map(({ id, ...m }) => (assert.match(id, /^[0-9a-f]{32}$/), m)), [
      { role: 'user', content: 'first question' },
      { role: 'assistant', content: mockReply('first question'), feedback: null, status: 'complete' },
    ]);
    // The socket still talks in the new one.
    await v.turn('third');
    await v.close();

    // The dashboard has them as two conversations, each its own messages.
    assert.deepEqual(await messagesOf(p, firstId), [['user', 'first question'], ['assistant', mockReply('first question')]]);
    assert.deepEqual(await messagesOf(p, two[0].id), [
      ['user', 'second question'], ['assistant', mockReply('second question')],
      ['user', 'third'], ['assistant', mockReply('third')],
    ]);

    // A resumed session's history is its current conversation's.
    const v2 = await Visitor.open(p, w.widget_id, { token });
    assert.equal((await v2.next('session')).earlier, true, 'the first one is an earlier one');
    const h = await v2.next('history');
    assert.equal(h.conversation_id, two[0].id);
    assert.equal(h.readonly, undefined);
    assert.equal(h.messages.length, 4);
    await ask(v2, { type: 'new_conversation' }, 'conversation_new');
    await v2.close();
    // ... and empty after new_conversation.
    const v3 = await Visitor.open(p, w.widget_id, { token });
    assert.equal((await v3.next('session')).earlier, true, 'none current: both are earlier ones');
    const empty = await v3.next('history');
    assert.deepEqual(empty.messages, []);
    assert.equal(empty.conversation_id, null);
    assert.equal((await list(v3)).length, 2, 'no conversation until a message');
    await v3.close();
  });

  test("another session's conversation, a malformed id, no session: refused or empty", async () => {
    const a = await visitorWith(p, w.widget_id, 'mine');
    const [mine] = await list(a.v);
    const b = await visitorWith(p, w.widget_id, 'theirs');
    assert.deepEqual(await ask(b.v, { type: 'open_conversation', id: mine.id }, 'error'), { type: 'error', message: 'Conversation not found', code: 'conversation_not_found', frame: 'open_conversation' });
    for (const id of ['0'.repeat(32), 'ZZ', mine.id.toUpperCase(), '']) {
      assert.equal((await ask(b.v, { type: 'open_conversation', id }, 'error')).message, 'Conversation not found');
    }
    assert.equal((await ask(b.v, { type: 'open_conversation', id: 7 }, 'error')).message, 'id: must be a string');
    assert.equal((await list(b.v)).length, 1, 'only its own');
    // A new visitor (nothing stored): nothing listed, nothing to end or read.
    const n = await Visitor.open(p, w.widget_id);
    await n.next('session');
    assert.deepEqual(await list(n), []);
    await ask(n, { type: 'new_conversation' }, 'conversation_new');
    assert.equal((await ask(n, { type: 'open_conversation', id: mine.id }, 'error')).message, 'Conversation not found');
    await Promise.all([a.v.close(), b.v.close(), n.close()]);
  });

  test('leaving a conversation a person answers: handoff ai first; the person still answers the old one', async () => {
    const hw = await createWidget(p, { handoff_enabled: true });
    const v = await Visitor.open(p, hw.widget_id);
    await v.next('session');
    await v.availability();
    await v.turn('a person please');
    v.send({ type: 'request_human' });
    assert.equal((await v.next('handoff')).state, 'waiting_human');
    const [old] = await list(v);
    const r = await p.adminJson('POST', `/v1/admin/conversations/${old.id}/handoff`, { state: 'human', name: 'Ada' });
    assert.equal(r.status, 200);
    assert.deepEqual(await v.next('handoff'), { type: 'handoff', state: 'human', name: 'Ada' });
    v.send({ type: 'new_conversation' });
    assert.deepEqual(await v.next('handoff'), { type: 'handoff', state: 'ai' });
    await v.next('conversation_new');
    // The assistant answers the new one; the old one stays with the person.
    const { message } = await v.turn('back to the assistant');
    assert.equal(message.content, mockReply('back to the assistant'));
    const got = await p.admin(`/v1/admin/conversations/${old.id}`);
    assert.equal(got.json().conversation.handoff, 'human');
    await v.close();
  });

  test('another tab began a new conversation: the tab told its handoff state, and its request for a person stored', async () => {
    const wh = await createWidget(p, { handoff_enabled: true });
    const { v: a, token } = await visitorWith(p, wh.widget_id, 'hello from tab A');
    const b = await Visitor.open(p, wh.widget_id, { token });
    await b.next('session');
    await b.next('history');
    b.send({ type: 'request_human' });
    assert.equal((await b.next('handoff')).state, 'waiting_human');
    assert.equal((await a.next('handoff')).state, 'waiting_human');
    a.send({ type: 'new_conversation' });
    assert.deepEqual(await a.next(), { type: 'handoff', state: 'ai' });
    await a.next('conversation_new');
    // B's next message goes to the new conversation, which waits for nobody.
    b.send({ type: 'message', content: 'tab B writes in the new conversation' });
    assert.deepEqual(await b.next(), { type: 'handoff', state: 'ai' });
    let m;
    do m = await b.next(); while (m.type !== 'typing_stop');
    const cur = (await list(b)).find((c) => c.current);
    b.send({ type: 'request_human' });
    assert.equal((await b.next('handoff')).state, 'waiting_human');
    const got = (await p.admin(`/v1/admin/conversations/${cur.id}`)).json().conversation;
    assert.equal(got.handoff, 'waiting_human');
    await a.close();
    await b.close();
  });

  test('another tab began a new conversation and asked for a person in it: the tab that writes next is told waiting_human', async () => {
    const wh = await createWidget(p, { handoff_enabled: true });
    const { v: a, token } = await visitorWith(p, wh.widget_id, 'hello from tab A');
    const b = await Visitor.open(p, wh.widget_id, { token });
    await b.next('session');
    await b.next('history');
    a.send({ type: 'new_conversation' });
    await a.next('conversation_new');
    await a.turn('tab A starts the new one');
    a.send({ type: 'request_human' });
    assert.equal((await a.next('handoff')).state, 'waiting_human');
    // B still had the first conversation: its message goes to the new one, which waits for a person.
    b.send({ type: 'message', content: 'tab B writes' });
    assert.deepEqual(await b.next('handoff'), { type: 'handoff', state: 'waiting_human' });
    let m;
    do m = await b.next(); while (m.type !== 'typing_stop');
    const cur = (await list(b)).find((c) => c.current);
    assert.equal((await p.admin(`/v1/admin/conversations/${cur.id}`)).json().conversation.handoff, 'waiting_human');
    await a.close();
    await b.close();
  });

  test('the list keeps the newest 50; a socket asks at most 30 times a minute', async () => {
    const { v, token } = await visitorWith(p, w.widget_id, 'c0');
    let sock = v;
    let sent = 0;
    for (let i = 1; i <= 52; i++) {
      // 30 frames a socket a minute: the next socket takes over.
      if (sent === 28) {
        await sock.close();
        sock = await Visitor.open(p, w.widget_id, { token });
        await sock.next('session');
        await sock.next('history');
        sent = 0;
      }
      await ask(sock, { type: 'new_conversation' }, 'conversation_new');
      sent++;
      await sock.turn(`c${i}`);
    }
    const all = await list(sock);
    sent++;
    assert.equal(all.length, 50);
    assert.equal(all[0].preview, 'c52');
    assert.equal(all[49].preview, 'c3');
    assert.equal(all.filter((c) => c.current).length, 1);
    // The oldest left the list, and with it the session's right to read it.
    const oldest = await p.admin('/v1/admin/conversations?limit=200');
    const c0 = oldest.json().conversations.find((c) => c.lastMessage === mockReply('c0'));
    assert.ok(c0, 'the oldest conversation stays in the dashboard');
    assert.equal((await ask(sock, { type: 'open_conversation', id: c0._id }, 'error')).message, 'Conversation not found');
    sent++;
    while (sent < 30) { await list(sock); sent++; }
    assert.match((await ask(sock, { type: 'conversations' }, 'error')).message, /^Too many requests/);
    await sock.close();
  });

  test('a client reads at most 30 times a minute, whatever its sockets', async () => {
    // A client of its own (X-Forwarded-For: TRUST_PROXY) on two sockets
    // (a socket's own bound is 30): 20 lists on one, the other's 11th is
    // refused, by the count storaged keeps for the client.
    const headers = { 'X-Forwarded-For': '198.51.100.40' };
    const a = await Visitor.open(p, w.widget_id, { headers });
    const { session_token: token } = await a.next('session');
    await a.turn('many readers');
    const b = await Visitor.open(p, w.widget_id, { token, headers });
    await b.next('session');
    await b.next('history');
    for (let i = 0; i < 20; i++) await list(a);
    for (let i = 0; i < 10; i++) await list(b);
    const over = await ask(b, { type: 'conversations' }, 'error');
    assert.match(over.message, /^Too many requests\. Please wait \d+ seconds/);
    const c = (await p.admin('/v1/admin/conversations?limit=200')).json().conversations
      .find((x) => x.lastMessage === mockReply('many readers'));
    assert.match((await ask(a, { type: 'open_conversation', id: c._id }, 'error')).message, /^Too many requests/);
    // Another client reads on.
    const { v } = await visitorWith(p, w.widget_id, 'someone else');
    assert.equal((await list(v)).length, 1);
    await Promise.all([a, b, v].map((x) => x.close()));
  });

  test('a new conversation acknowledged survives a kill -9 of storaged', { timeout: 30000 }, async () => {
    const { v, token } = await visitorWith(p, w.widget_id, 'before the crash');
    const [first] = await list(v);
    await ask(v, { type: 'new_conversation' }, 'conversation_new');
    await p.killStoraged('SIGKILL');
    await v.close();
    const from = p.logs.masterd.length;
    await p.startStoraged();
    await p.waitConnected(from);
    const v2 = await Visitor.open(p, w.widget_id, { token });
    await v2.next('session');
    const h = await v2.next('history');
    assert.deepEqual(h.messages, [], 'the session had left its conversation');
    await v2.turn('after the crash');
    const convs = await list(v2);
    assert.deepEqual(convs.map((c) => c.preview), ['after the crash', 'before the crash']);
    assert.equal(convs[1].id, first.id);
    await v2.close();
  });
});
