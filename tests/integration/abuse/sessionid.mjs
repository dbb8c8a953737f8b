// Issue 20, part 2: the session id admins see does not open a visitor's
// conversation. A WebSocket visitor of the default widget chats; the
// admin API, its events and the exports show its session as a digest
// ("sha256:" and 24 hex digits), never as a sessionId the HTTP API takes;
// and the HTTP API given that digest (the public widget key in hand)
// reads none of the visitor's messages and adds none to its conversation.
// HTTP sessions, credentials themselves, are shown as digests too.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { sharedStack } from './shared.mjs';
import { chat, sid } from '../lib/chat.mjs';
import { Events } from '../lib/events.mjs';
import { Visitor } from '../lib/wsclient.mjs';

const DIGEST = /^sha256:[0-9a-f]{24}$/;

describe('session ids in admin views (issue 20)', () => {
  let p, wid;

  before(async () => {
    p = await sharedStack();   // history.mjs's too (shared.mjs)
    const r = await p.admin('/v1/admin/widgets');
    wid = r.json().widgets.find((w) => w.id === 'default').widget_id;
  });
  after(() => { if (p) assert.deepEqual(p.problems, []); });

  test('a WebSocket visitor\'s session: a digest everywhere, and the HTTP API cannot open its conversation', async () => {
    const ev = await Events.open(p);
    const v = await Visitor.open(p, wid);
    await v.next('session');
    await v.turn('my secret order number 4711');
    const list = (await p.admin('/v1/admin/conversations?limit=200')).json().conversations;
    const conv = list.find((c) => c.lastMessage && c.lastMessage.startsWith('You said: my secret order'));
    assert.ok(conv, 'the visitor\'s conversation is listed');
    assert.match(conv.sessionId, DIGEST);
    const one = (await p.admin(`/v1/admin/conversations/${conv._id}`)).json();
    assert.equal(one.conversation.sessionId, conv.sessionId);
    const seen = await ev.take((e) => e.event === 'message' && e.data.conversation._id === conv._id, 5000, 'the event');
    assert.equal(seen.data.conversation.sessionId, conv.sessionId);
    ev.close();
    for (const q of ['format=jsonl&rows=conversations', 'format=csv&rows=conversations']) {
      const x = await p.admin(`/v1/admin/export?${q}`);
      assert.equal(x.status, 200);
      assert.ok(x.text.includes(conv.sessionId), `${q} shows the digest`);
    }

    // What an export's reader would try, with the public widget key.
    const h = await p.get(`/v1/chat/history?sessionId=${encodeURIComponent(conv.sessionId)}`,
      { headers: { 'x-api-key': p.widgetKey } });
    assert.equal(h.status, 200);
    assert.ok(!h.text.includes('4711'), 'the visitor\'s messages are not read');
    assert.equal((await chat(p, conv.sessionId, 'injected text')).status, 200);
    const after = (await p.admin(`/v1/admin/conversations/${conv._id}`)).json();
    assert.equal(after.conversation.messageCount, 2);
    assert.ok(after.messages.every((m) => !m.content.includes('injected')), 'nothing added to the visitor\'s conversation');
    // The visitor chats on in its own conversation.
    await v.turn('still mine');
    assert.equal((await p.admin(`/v1/admin/conversations/${conv._id}`)).json().conversation.messageCount, 4);
    await v.close();
  });

  test('an HTTP sessionId, itself a credential, is shown as its digest only', async () => {
    const s = sid('cred');
    const r = await chat(p, s, 'hello');
    assert.equal(r.status, 200);
    const id = r.json().conversationId;
    const one = await p.admin(`/v1/admin/conversations/${id}`);
    assert.match(one.json().conversation.sessionId, DIGEST);
    for (const u of ['/v1/admin/conversations?limit=200', `/v1/admin/conversations/${id}`,
      '/v1/admin/export?format=jsonl&rows=conversations', '/v1/admin/export?format=csv&rows=conversations',
      '/v1/admin/export?format=jsonl&rows=messages']) {
      const x = await p.admin(u);
      assert.equal(x.status, 200);
      assert.ok(!x.text.includes(s), `${u} does not show the sessionId`);
    }
  });
});
