// The admin conversation API (x-admin-api-key), as the reference backend
// answers it, plus paging (cursor / nextCursor). Data is created through
// storaged's own protocol, since the chat API comes in a later issue.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { Parley, pool, sleep } from './lib/harness.mjs';
import { assertJsonError, assertSecurityHeaders } from './lib/checks.mjs';
import { sessionShown } from './lib/chat.mjs';

const LIST = '/v1/admin/conversations';

function chars(s) { return Array.from(s).length; }

function assertConvShape(c) {
  for (const k of ['_id', 'sessionId', 'lastMessage']) assert.equal(typeof c[k], 'string', `conversation.${k}`);
  for (const k of ['_creationTime', 'createdAt', 'updatedAt']) assert.equal(typeof c[k], 'number', `conversation.${k}`);
  assert.match(c._id, /^[0-9a-f]{32}$/);
}

describe('admin API without ADMIN_API_KEY', () => {
  test('every admin endpoint answers 503', async (t) => {
    const p = new Parley({ workers: 1, adminKey: null });
    t.after(() => p.stop());
    await p.start();
    const msg = 'ADMIN_API_KEY is not configured on this deployment';
    for (const [path, headers] of [
      [LIST, {}],
      [LIST, { 'x-admin-api-key': 'x'.repeat(32) }],
      [`${LIST}?limit=5`, { 'x-admin-api-key': '' }],
      [`${LIST}/${'a'.repeat(32)}`, { 'x-admin-api-key': 'x'.repeat(32) }],
    ]) {
      const r = await p.get(path, { headers });
      assertJsonError(r, 503, msg);
      assertSecurityHeaders(r, path);
    }
    assert.equal((await p.get('/health')).status, 200);
  });
});

describe('admin API', () => {
  let p;
  let st;
  const convs = new Map();   // id -> {session, messages: [{id, role, content}]}

  before(async () => {
    p = new Parley({ workers: 2 });
    await p.start();
    st = await p.storage({ name: 'itest-admin' });
    // 250 conversations, each with one or two messages, written in parallel
    const sessions = Array.from({ length: 250 }, (_, i) => `sess-${i}-${crypto.randomBytes(4).toString('hex')}`);
    await pool(sessions, 16, async (session, i) => {
      const { created, conv } = await st.convOpen('default', session);
      assert.equal(created, true);
      const rec = { session, messages: [] };
      convs.set(conv.id, rec);
      const { id } = await st.msgAppend(conv.id, 'user', `hello ${i}`, 'complete', 0, 0);
      rec.messages.push({ id, role: 'user', content: `hello ${i}` });
      if (i % 2) {
        const { id: id2 } = await st.msgAppend(conv.id, 'assistant', `answer ${i}`, 'complete', 10, 20);
        rec.messages.push({ id: id2, role: 'assistant', content: `answer ${i}` });
      }
    });
  });
  after(async () => {
    if (st) st.close();
    if (p) await p.stop();
  });

  test('missing or wrong key: 401', async () => {
    for (const headers of [
      {},
      { 'x-admin-api-key': '' },
      { 'x-admin-api-key': 'wrong' },
      { 'x-admin-api-key': `${p.adminKey}x` },
      { 'x-admin-api-key': p.adminKey.slice(0, -1) },
      { 'x-admin-api-key': p.adminKey.toUpperCase() === p.adminKey ? p.adminKey.toLowerCase() : p.adminKey.toUpperCase() },
      { 'x-api-key': p.adminKey },
      { authorization: `Bearer ${p.adminKey}` },
    ]) {
      for (const path of [LIST, `${LIST}?limit=5`, `${LIST}/${[...convs.keys()][0]}`]) {
        const r = await p.get(path, { headers });
        assertJsonError(r, 401, 'Unauthorized');
        assertSecurityHeaders(r, path);
      }
    }
  });

  test('limit validation: 400 {"error":"Invalid query parameters"}', async () => {
    for (const q of ['0', '201', 'abc', '-1', '1.5', '', '99999999999999999999', '10abc', '%00']) {
      const r = await p.admin(`${LIST}?limit=${q}`);
      assertJsonError(r, 400, 'Invalid query parameters');
    }
    for (const [q, n] of [['1', 1], ['200', 200], ['7', 7], ['050', 50]]) {
      const r = await p.admin(`${LIST}?limit=${q}`);
      assert.equal(r.status, 200, `limit=${q}: ${r.text}`);
      assert.equal(r.json().conversations.length, n, `limit=${q}`);
    }
    // The reference's z.coerce.number().int().positive().max(200): what
    // JavaScript's Number() reads as an integer 1..200 is taken, its
    // decimal forms (Number() itself the oracle).
    for (const v of ['2.0', '1e1', '+5', ' 5', '5 ', '\t5\n', '\u00a05\u3000', '2.50e1', '.5e1', '5.', '2000e-1', '1E2', '0005.000',
      '1.5', '1e-1', '2.001e2', '-5', '+-5', '5e', 'e5', '.', '+', '1e3', '0e5', '-0', '5 5', 'Infinity', '1_0']) {
      const n = Number(v);
      const ok = Number.isInteger(n) && n >= 1 && n <= 200;
      const r = await p.admin(`${LIST}?limit=${encodeURIComponent(v)}`);
      if (!ok) {
        assertJsonError(r, 400, 'Invalid query parameters');
        continue;
      }
      assert.equal(r.status, 200, `limit=${JSON.stringify(v)}: ${r.text}`);
      assert.equal(r.json().conversations.length, n, `limit=${JSON.stringify(v)}`);
    }
  });

  test('default limit is 100; total counts everything; shape of each conversation', async () => {
    const r = await p.admin(LIST);
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'], /^application\/json/);
    assertSecurityHeaders(r, LIST);
    const j = r.json();
    assert.equal(j.conversations.length, 100);
    assert.equal(j.total, convs.size);
    for (const c of j.conversations) {
      assertConvShape(c);
      const rec = convs.get(c._id);
      assert.ok(rec, `unknown conversation ${c._id}`);
      assert.equal(c.sessionId, sessionShown(rec.session));
      assert.equal(c.lastMessage, rec.messages.at(-1).content);
      assert.ok(c.updatedAt >= c.createdAt);
    }
  });

  test('paging through 250 conversations with cursor/nextCursor: no gaps, no duplicates, newest activity first', async () => {
    const seen = [];
    let cursor = null;
    let pages = 0;
    let lastUpdated = Infinity;
    for (; pages < 20; pages++) {
      const q = cursor ? `?limit=60&cursor=${encodeURIComponent(cursor)}` : '?limit=60';
      const r = await p.admin(LIST + q);
      assert.equal(r.status, 200, `page ${pages}: ${r.text}`);
      const j = r.json();
      assert.equal(j.total, convs.size, 'total on every page');
      for (const c of j.conversations) {
        assert.ok(c.updatedAt <= lastUpdated, 'newest activity first across pages');
        lastUpdated = c.updatedAt;
        seen.push(c._id);
      }
      if (j.nextCursor === undefined || j.nextCursor === null || j.nextCursor === '') {
        assert.ok(j.conversations.length <= 60);
        break;
      }
      assert.equal(typeof j.nextCursor, 'string');
      assert.equal(j.conversations.length, 60, 'a page before the last one is full');
      cursor = j.nextCursor;
    }
    assert.equal(pages, 4, 'five pages of at most 60 (250 = 4 x 60 + 10)');
    assert.equal(new Set(seen).size, seen.length, 'no duplicates');
    assert.deepEqual(new Set(seen), new Set(convs.keys()), 'every conversation, once');
  });

  test('a bad cursor is a 400, not a crash', async () => {
    for (const c of ['%00', 'zzzz', 'x'.repeat(300), '%FF%FE', '-1']) {
      const r = await p.admin(`${LIST}?cursor=${c}`);
      assertJsonError(r, 400);
    }
  });

  test('order: newest activity first', async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) {
      const { conv } = await st.convOpen('default', `order-${i}-${Date.now()}`);
      await st.msgAppend(conv.id, 'user', `order ${i}`);
      convs.set(conv.id, { session: conv.session, messages: [{ content: `order ${i}` }] });
      ids.push(conv.id);
      await sleep(5);
    }
    await sleep(5);
    // new activity on the oldest of the three moves it to the front
    const { id } = await st.msgAppend(ids[0], 'assistant', 'bump');
    convs.get(ids[0]).messages.push({ id, content: 'bump' });
    const r = await p.admin(`${LIST}?limit=3`);
    assert.equal(r.status, 200);
    const j = r.json();
    assert.deepEqual(j.conversations.map((c) => c._id), [ids[0], ids[2], ids[1]]);
    assert.equal(j.conversations[0].lastMessage, 'bump');
    assert.equal(j.total, convs.size);
  });

  test('by id: the conversation and its messages in order', async () => {
    const { conv } = await st.convOpen('default', `thread-${Date.now()}`);
    const sent = [];
    for (let i = 0; i < 12; i++) {
      const role = i % 2 ? 'assistant' : 'user';
      const content = `message ${i} ${'é'.repeat(i)} "quoted" \\ \n line`;
      const { id } = await st.msgAppend(conv.id, role, content, 'complete', i, i * 2);
      sent.push({ id, role, content });
    }
    convs.set(conv.id, { session: conv.session, messages: sent });
    const r = await p.admin(`${LIST}/${conv.id}`);
    assert.equal(r.status, 200, r.text);
    assertSecurityHeaders(r, 'by id');
    const j = r.json();
    assertConvShape(j.conversation);
    assert.equal(j.conversation._id, conv.id);
    assert.equal(j.conversation.sessionId, sessionShown(conv.session));
    assert.equal(j.conversation.lastMessage, sent.at(-1).content);
    assert.equal(j.messages.length, sent.length);
    let prev = 0;
    j.messages.forEach((m, i) => {
      assert.equal(m._id, sent[i].id);
      assert.equal(m.conversationId, conv.id);
      assert.equal(m.role, sent[i].role);
      assert.equal(m.content, sent[i].content);
      assert.equal(typeof m.createdAt, 'number');
      assert.equal(typeof m._creationTime, 'number');
      assert.ok(m.createdAt >= prev, 'messages oldest first');
      prev = m.createdAt;
    });
  });

  test('by id: invalid id 400, unknown id 404', async () => {
    for (const bad of ['abc', 'a'.repeat(31), 'a'.repeat(33), 'A'.repeat(32), 'g'.repeat(32), '%2e%2e', `${'a'.repeat(30)}%20%20`]) {
      const r = await p.admin(`${LIST}/${bad}`);
      assertJsonError(r, 400, 'Invalid conversationId');
    }
    // a NUL in the path is refused before routing: still a 400 JSON error
    assertJsonError(await p.admin(`${LIST}/${'a'.repeat(31)}%00`), 400);
    const r = await p.admin(`${LIST}/${crypto.randomBytes(16).toString('hex')}`);
    assertJsonError(r, 404, 'Conversation not found');
  });

  test('lastMessage is the first 500 characters of the newest message', async () => {
    const { conv } = await st.convOpen('default', `preview-${Date.now()}`);
    // 700 characters mixing 1-, 2-, 3- and 4-byte UTF-8
    const unit = 'aé€😀';
    const content = unit.repeat(175);
    assert.equal(chars(content), 700);
    await st.msgAppend(conv.id, 'user', content);
    convs.set(conv.id, { session: conv.session, messages: [{ content }] });
    const expected = Array.from(content).slice(0, 500).join('');
    const one = await p.admin(`${LIST}/${conv.id}`);
    assert.equal(one.status, 200);
    const j = one.json();
    assert.equal(chars(j.conversation.lastMessage), 500);
    assert.equal(j.conversation.lastMessage, expected);
    assert.equal(j.messages[0].content, content, 'the message itself is whole');
    const list = await p.admin(`${LIST}?limit=1`);
    const c = list.json().conversations[0];
    assert.equal(c._id, conv.id);
    assert.equal(c.lastMessage, expected);
  });

  test('admin answers on every worker', async () => {
    // 20 fresh connections are spread over both workers by masterd.
    const rs = await Promise.all(Array.from({ length: 20 }, () => p.admin(`${LIST}?limit=2`)));
    for (const r of rs) assert.equal(r.status, 200);
  });
});
