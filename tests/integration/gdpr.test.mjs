// A visitor's data on request (issue 22 item 6, GDPR articles 15 and 17).
// A widget visitor chats, starts a new conversation ("New conversation"),
// chats again and gives a distinctive name, email and phone; a second
// session of the same visitor names the contact too. Then:
//   - GET /v1/admin/contacts/:id/export is one JSON document holding the
//     contact, its conversations with every message (the one before the
//     new conversation too: the form links the session's earlier
//     conversations that no contact has), the sessions and
//     their submissions; audited as contact.export; another
//     organisation's contact is 404; an agent's key is 403;
//   - DELETE /v1/admin/contacts/:id?erase=all ends it all: afterwards no
//     admin answer (contacts, search, conversations, exports, the audit
//     log) and no backup made afterwards (parleyctl backup, LMDB's
//     compacting copy) holds a byte of the email, name, phone or
//     messages, nor of a file it uploaded and never sent, while a backup
//     made before does (the check can fail),
//     nor do the events GET /v1/admin/events replays from before the
//     visits (storaged's ring: the three conversation_deleted alone);
//   - DELETE without erase keeps the conversations, unlinked, and the
//     visitor's session keeps nothing it submitted (no backup made
//     afterwards holds the name or email);
//   - a widget's retention_days is set and cleared (its deletions are
//     storaged's sweep's, on the store's clock: tests/unit/storaged/
//     test_erase.c).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { BIN, Parley, settledInFlight, waitFor } from './lib/harness.mjs';
import { ClosedError, buildRequest } from './lib/http.mjs';
import { addKey } from './lib/people.mjs';
import { upload } from './lib/attach.mjs';
import { mockReply } from './lib/chat.mjs';
import { Events } from './lib/events.mjs';
import { checkerFor } from './lib/openapi.mjs';
import { Visitor } from './lib/wsclient.mjs';

function ctl(args) {
  return new Promise((resolve) => {
    execFile(path.join(BIN, 'parleyctl'), args, { timeout: 60000 },
      (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
  });
}

describe('a contact exported and erased on request', () => {
  let p;
  let api;
  const tag = Date.now().toString(36);
  const who = {
    name: `Zelda Quuxington ${tag}`,
    email: `zelda.quux.${tag}@example.org`,
    phone: '+44 7700 900123',
    phoneDigits: '+447700900123',
    said: `my secret plan is ${tag}-BLUEBERRY`,
    again: `second session says ${tag}-MANGO`,
    early: `before a new conversation ${tag}-PAPAYA`,
    unsent: `${tag}-UNSENT.txt`,	// a file uploaded, never sent
    unsentBody: `my passport number ${tag}-KUMQUAT`,
  };
  const ids = {};

  async function call(method, pathname, { key = p.adminKey, headers = {}, check = true } = {}) {
    const r = await p.request(method, pathname, { headers: { 'x-admin-api-key': key, ...headers } });
    if (check && (r.headers['content-type'] || '').startsWith('application/json')) api.checkJson(method, pathname, r);
    return r;
  }

  // A visitor of the widget: a turn (after an earlier conversation's, when
  // given), a file it uploads and never sends (when given), then its
  // contact details.
  async function visit(text, contact, earlier, unsent) {
    const v = await Visitor.open(p, ids.widget);
    const { session_token: token } = await v.next('session');
    if (earlier) {
      await v.turn(earlier);
      v.send({ type: 'new_conversation' });
      await v.next('conversation_new');
    }
    const { message } = await v.turn(text);
    assert.equal(message.content, mockReply(text));
    if (unsent) assert.equal((await upload(p, ids.widget, token, unsent.name, Buffer.from(unsent.body))).status, 200);
    v.send({ type: 'contact_info', ...contact });
    await v.next('contact_info_saved');
    await v.close();
  }

  before(async () => {
    p = new Parley({ workers: 1, mock: true, env: { RATE_LIMIT_MAX_REQUESTS: '0' } });
    await p.start();
    api = await checkerFor(p);
    const r = await p.adminJson('POST', '/v1/admin/widgets', {
      name: 'Shop', contact_info_mode: 'optional', collect_name: true, collect_email: true, collect_phone: true,
      attachment_types: ['text'],
    });
    assert.equal(r.status, 201, r.text);
    ids.widget = r.json().widget_id;
    // Where a stream resumes from to have every event since replayed.
    const ev = await Events.open(p);
    await waitFor(() => ev.lastId !== null, 5000, 'the first event id');
    ids.firstEvent = ev.lastId;
    ev.close();
    await visit(who.said, { name: who.name, email: who.email, phone: who.phone }, who.early,
      { name: who.unsent, body: who.unsentBody });
    await visit(who.again, { email: who.email });
    const c = (await call('GET', '/v1/admin/contacts?limit=200')).json().contacts;
    assert.equal(c.length, 1);
    ids.contact = c[0].id;
    assert.equal(c[0].email, who.email);
  });
  after(async () => {
    if (p) await p.stop();
    assert.deepEqual(p.problems, []);
  });

  test('the export holds everything about the contact', async () => {
    const r = await call('GET', `/v1/admin/contacts/${ids.contact}/export`);
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers['content-disposition'], new RegExp(`filename="contact-${ids.contact}\\.json"`));
    const doc = r.json();
    assert.deepEqual(Object.keys(doc), ['contact', 'conversations', 'sessions', 'submissions']);
    assert.equal(doc.contact.id, ids.contact);
    assert.equal(doc.contact.name, who.name);
    assert.equal(doc.contact.email, who.email);
    assert.equal(doc.contact.phone, who.phoneDigits);
    assert.equal(doc.conversations.length, 3);
    const texts = doc.conversations.flatMap((cv) => cv.messages.map((m) => `${m.role}: ${m.content}`)).sort();
    assert.deepEqual(texts, [
      `assistant: ${mockReply(who.again)}`, `assistant: ${mockReply(who.said)}`, `assistant: ${mockReply(who.early)}`,
      `user: ${who.again}`, `user: ${who.said}`, `user: ${who.early}`,
    ].sort());
    for (const cv of doc.conversations) assert.equal(cv.contactId, ids.contact);
    // The second session named a contact it did not make: unverified.
    assert.deepEqual(doc.conversations.map((cv) => cv.contactVerified).sort(), [false, true, true]);
    assert.equal(doc.sessions.length, 2);
    for (const s of doc.sessions) assert.match(s.session, /^sha256:[0-9a-f]{24}$/);
    assert.equal(doc.submissions.length, 2);
    assert.deepEqual(doc.submissions.map((s) => s.email), [who.email, who.email]);
    assert.deepEqual(doc.submissions.map((s) => s.contactVerified).sort(), [false, true]);
    ids.conversations = doc.conversations.map((cv) => cv._id);

    const audit = (await call('GET', '/v1/admin/audit?limit=200')).json().entries;
    assert.ok(audit.some((e) => e.action === 'contact.export' && e.target === ids.contact), 'contact.export audited');
  });

  test("another organisation's contact is 404; an agent's key is 403", async () => {
    let r = await p.adminJson('POST', '/v1/admin/organizations', { name: 'Other' });
    assert.equal(r.status, 201, r.text);
    const other = { 'x-organization-id': r.json().id };
    for (const [m, u] of [['GET', `/v1/admin/contacts/${ids.contact}/export`], ['DELETE', `/v1/admin/contacts/${ids.contact}?erase=all`]]) {
      r = await call(m, u, { headers: other });
      assert.equal(r.status, 404, `${m} ${u}: ${r.text}`);
      assert.deepEqual(r.json(), { error: 'Contact not found' });
      assert.ok(!r.text.includes(who.email));
    }
    r = await p.request('POST', '/v1/admin/api-keys', {
      headers: { 'x-admin-api-key': p.adminKey, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'an agent', role: 'agent' }),
    });
    assert.equal(r.status, 201, r.text);
    const agent = r.json().key;
    for (const [m, u] of [['GET', `/v1/admin/contacts/${ids.contact}/export`], ['DELETE', `/v1/admin/contacts/${ids.contact}?erase=all`],
      ['GET', `/v1/admin/contacts/${ids.contact}/erasure`]]) {
      r = await call(m, u, { key: agent });
      assert.equal(r.status, 403, `${m} ${u}: ${r.text}`);
    }
    // No erasure under way: said of its own contact; another organisation's is 404.
    r = await call('GET', `/v1/admin/contacts/${ids.contact}/erasure`);
    assert.deepEqual([r.status, r.json()], [200, { erasing: false }]);
    r = await call('GET', `/v1/admin/contacts/${ids.contact}/erasure`, { headers: other });
    assert.deepEqual([r.status, r.json()], [404, { error: 'Contact not found' }]);
    r = await call('GET', '/v1/admin/contacts/nothex/erasure');
    assert.equal(r.status, 400);
    assert.deepEqual(r.json(), { error: 'Invalid contactId' });
    assert.equal((await call('DELETE', `/v1/admin/contacts/${ids.contact}?erase=some`)).status, 400);
    assert.equal((await call('DELETE', '/v1/admin/contacts/nothex?erase=all')).status, 400);
    // Still all there.
    assert.equal((await call('GET', `/v1/admin/contacts/${ids.contact}`)).status, 200);
  });

  test('erase=all leaves no byte of the contact in any answer or backup', async () => {
    const strings = [who.name, who.email, who.phoneDigits, who.said, who.again, who.early, `${tag}-BLUEBERRY`, `${tag}-MANGO`,
      `${tag}-PAPAYA`, who.unsent, `${tag}-KUMQUAT`];
    const before = path.join(p.tmp, 'before.mdb');
    let b = await ctl(['-S', p.sockPath, 'backup', before]);
    assert.equal(b.code, 0, b.stderr);
    const held = fs.readFileSync(before);
    for (const s of [who.email, who.name, `${tag}-BLUEBERRY`, `${tag}-PAPAYA`, who.unsent, `${tag}-KUMQUAT`]) {
      assert.ok(held.includes(Buffer.from(s)), `the backup before holds ${s}`);
    }

    let r = await call('DELETE', `/v1/admin/contacts/${ids.contact}?erase=all`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json(), { erasing: false });
    r = await call('GET', `/v1/admin/contacts/${ids.contact}/erasure`);
    assert.deepEqual([r.status, r.json()], [404, { error: 'Contact not found' }], 'done in the request: nothing of it left');
    r = await call('DELETE', `/v1/admin/contacts/${ids.contact}?erase=all`);
    assert.equal(r.status, 404, 'erased: gone');

    const answers = [];
    for (const u of [
      '/v1/admin/contacts?limit=200', `/v1/admin/contacts/${ids.contact}`, `/v1/admin/contacts/${ids.contact}/export`,
      `/v1/admin/conversations?q=${encodeURIComponent(`${tag}-BLUEBERRY`)}`, `/v1/admin/conversations?q=${encodeURIComponent(who.email)}`,
      '/v1/admin/conversations?limit=200', ...ids.conversations.map((id) => `/v1/admin/conversations/${id}`),
      '/v1/admin/export?format=jsonl&rows=messages', '/v1/admin/export?format=csv&rows=conversations',
      '/v1/admin/audit?limit=200',
    ]) {
      r = await call('GET', u);
      assert.ok(r.status === 200 || r.status === 404, `${u}: ${r.status}`);
      answers.push([u, r.text]);
    }
    assert.equal((await call('GET', '/v1/admin/conversations?limit=200')).json().total, 0);
    for (const [u, text] of answers) for (const s of strings) assert.ok(!text.includes(s), `${u} holds ${s}`);
    const audit = (await call('GET', '/v1/admin/audit?limit=200')).json().entries;
    assert.ok(audit.some((e) => e.action === 'contact.erase' && e.target === ids.contact), 'contact.erase audited');

    // The event stream replays the ring storaged keeps: the conversations'
    // deletions alone, which tell nothing of what they held.
    const ev = await Events.open(p, { lastEventId: ids.firstEvent });
    try {
      await waitFor(() => ev.events.filter((e) => e.event === 'conversation_deleted').length === 3, 5000,
        'the deletions replayed');
    } finally {
      ev.close();
    }
    assert.deepEqual(ev.events.map((e) => e.event), ['conversation_deleted', 'conversation_deleted', 'conversation_deleted'], ev.text);
    const replayed = JSON.stringify(ev.events);
    for (const s of strings) assert.ok(!replayed.includes(s), `the events replayed hold ${s}`);

    const afterFile = path.join(p.tmp, 'after.mdb');
    b = await ctl(['-S', p.sockPath, 'backup', afterFile]);
    assert.equal(b.code, 0, b.stderr);
    const bytes = fs.readFileSync(afterFile);
    for (const s of strings) assert.ok(!bytes.includes(Buffer.from(s)), `the backup after holds ${s}`);
  });

  test("a widget's retention_days is set, read back and cleared", async () => {
    let r = await p.adminJson('PATCH', `/v1/admin/widgets/${ids.widget}`, { retention_days: 30 });
    assert.equal(r.status, 200, r.text);
    api.checkJson('PATCH', `/v1/admin/widgets/${ids.widget}`, r);
    assert.equal(r.json().retention_days, 30);
    assert.equal((await call('GET', `/v1/admin/widgets/${ids.widget}`)).json().retention_days, 30);
    r = await p.adminJson('PATCH', `/v1/admin/widgets/${ids.widget}`, { retention_days: null });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().retention_days, null);
  });

  test('without erase: the contact goes, its conversations stay unlinked', async () => {
    const mark = `kept ${tag}-KIWI`;
    const kiwi = { name: `Kiwi Fruitwell ${tag}`, email: `kiwi.${tag}@example.org` };
    await visit(mark, kiwi);
    const c = (await call('GET', '/v1/admin/contacts?limit=200')).json().contacts;
    assert.equal(c.length, 1);
    let r = await call('DELETE', `/v1/admin/contacts/${c[0].id}`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json(), { erasing: false });
    assert.equal((await call('GET', `/v1/admin/contacts/${c[0].id}`)).status, 404);
    r = await call('GET', '/v1/admin/conversations?limit=200');
    const convs = r.json().conversations;
    assert.equal(convs.length, 1);
    assert.equal(convs[0].contactId, null);
    assert.equal(convs[0].lastMessage, mockReply(mark));
    const audit = (await call('GET', '/v1/admin/audit?limit=200')).json().entries;
    assert.ok(audit.some((e) => e.action === 'contact.delete' && e.target === c[0].id), 'contact.delete audited');
    // Nor does the visitor's session keep what it submitted (its claim):
    // a backup made now holds neither the name nor the email.
    const bk = path.join(p.tmp, 'deleted.mdb');
    const b = await ctl(['-S', p.sockPath, 'backup', bk]);
    assert.equal(b.code, 0, b.stderr);
    const bytes = fs.readFileSync(bk);
    for (const s of [kiwi.name, kiwi.email]) assert.ok(!bytes.includes(Buffer.from(s)), `the backup holds ${s}`);
  });
});

describe("an erased visitor's socket still open", () => {
  // erase=all deletes the visitor's session; its socket stays open. Its
  // next contact_info or identify, as its next message, finds the session
  // gone: the socket is closed 4001 and nothing is stored. Both made the
  // session again under the erased token before (a contact_info_saved,
  // the old token resumed with its details).
  let p;
  const admin = (method, url) => p.request(method, url, { headers: { 'x-admin-api-key': p.adminKey } });
  const mac = (secret, id) => crypto.createHmac('sha256', secret).update(id).digest('hex');

  before(async () => {
    p = new Parley({ workers: 1, mock: true, env: { RATE_LIMIT_MAX_REQUESTS: '0' } });
    await p.start();
  });
  after(async () => {
    if (p) await p.stop();
    assert.deepEqual(p.problems, []);
  });

  // A visitor of widget wid who chatted and left email, erased=all with
  // its socket open: the socket and its token.
  async function erased(wid, email) {
    const v = await Visitor.open(p, wid);
    const { session_token: token } = await v.next('session');
    await v.turn(`words of ${email}`);
    v.send({ type: 'contact_info', email });
    await v.next('contact_info_saved');
    const c = (await admin('GET', '/v1/admin/contacts?limit=200')).json().contacts.find((x) => x.email === email);
    assert.ok(c, 'its contact');
    const r = await admin('DELETE', `/v1/admin/contacts/${c.id}?erase=all`);
    assert.equal(r.status, 200, r.text);
    return { v, token };
  }

  // Nothing of the visitor is stored, and its old token resumes nothing.
  async function nothingLeft(wid, token) {
    assert.deepEqual((await admin('GET', '/v1/admin/contacts?limit=200')).json().contacts, []);
    assert.equal((await admin('GET', '/v1/admin/conversations?limit=200')).json().total, 0);
    const again = await Visitor.open(p, wid, { token });
    const s = await again.next('session');
    assert.notEqual(s.session_token, token, 'the erased token resumes nothing');
    assert.equal(s.contact_info_submitted, false);
    await again.close();
  }

  test('its contact_info closes it 4001, stores nothing', async () => {
    const w = (await p.adminJson('POST', '/v1/admin/widgets', { name: 'Erased', contact_info_mode: 'optional', collect_email: true })).json();
    const { v, token } = await erased(w.widget_id, 'erase.me@example.org');
    v.send({ type: 'contact_info', email: 'again@example.org' });
    assert.equal(await v.waitClose(5000), 4001);
    assert.equal(v.inbox.length, 0, JSON.stringify(v.inbox));
    await nothingLeft(w.widget_id, token);
  });

  test('its verified identify closes it 4001, stores nothing', async () => {
    const w = (await p.adminJson('POST', '/v1/admin/widgets', { name: 'Erased id', contact_info_mode: 'optional', collect_email: true })).json();
    const r = await admin('POST', `/v1/admin/widgets/${w.widget_id}/identity-secret`);
    const secret = r.json().identity_secret;
    assert.match(secret, /^[0-9a-f]{64}$/, r.text);
    const { v, token } = await erased(w.widget_id, 'erase.two@example.org');
    v.send({ type: 'identify', id: 'user-9', hash: mac(secret, 'user-9') });
    assert.equal(await v.waitClose(5000), 4001);
    assert.equal(v.inbox.length, 0, JSON.stringify(v.inbox));
    await nothingLeft(w.widget_id, token);
  });

  // Every other frame that asks storaged of the session finds it gone
  // the same way: closed 4001, as docs/widget-protocol.md lists them (a
  // thumb and a rating were an error, session_ended, the socket open).
  test('its request_human, feedback, rating, new_conversation, conversations and open_conversation close it 4001', async () => {
    const w = (await p.adminJson('POST', '/v1/admin/widgets', { name: 'Erased frames', contact_info_mode: 'optional',
      collect_email: true, handoff_enabled: true, rating_enabled: true })).json();
    const frames = [
      { type: 'request_human' },
      { type: 'feedback', message_id: '0'.repeat(32), value: 'up' },
      { type: 'rating', score: 4 },
      { type: 'new_conversation' },
      { type: 'conversations' },
      { type: 'open_conversation', id: '0'.repeat(32) },
    ];
    for (const [i, frame] of frames.entries()) {
      const { v, token } = await erased(w.widget_id, `erase.frame${i}@example.org`);
      v.send(frame);
      assert.equal(await v.waitClose(5000), 4001, `${frame.type}: ${JSON.stringify(v.inbox)}`);
      assert.deepEqual(v.inbox, [], frame.type);
      await nothingLeft(w.widget_id, token);
    }
  });
});

describe('a contact export whose key is deleted meanwhile', () => {
  // Its key is checked once, when it begins: a long download (a reader
  // that takes its time) must not go on reading the contact's pages, with
  // what is written after the key's end, for a caller who may no longer.
  test('ends, its download cut', async (t) => {
    const p = new Parley({ workers: 1, mock: true, env: { RATE_LIMIT_MAX_REQUESTS: '0' } });
    t.after(() => p.stop());
    await p.start();
    const org = await p.adminJson('POST', '/v1/admin/organizations', { name: 'Exported' });
    assert.equal(org.status, 201, org.text);
    const h = { 'x-admin-api-key': p.adminKey, 'x-organization-id': org.json().id };
    const json = (method, url, body) => p.request(method, url,
      { headers: { ...h, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    let r = await json('POST', '/v1/admin/widgets', { name: 'w', contact_info_mode: 'optional', collect_email: true });
    assert.equal(r.status, 201, r.text);
    const v = await Visitor.open(p, r.json().widget_id);
    await v.next('session');
    await v.turn('hello');
    v.send({ type: 'contact_info', email: 'exported@example.org' });
    await v.next('contact_info_saved');
    await v.close();
    const conv = (await p.request('GET', '/v1/admin/conversations', { headers: h })).json().conversations[0]._id;
    const contact = (await p.request('GET', '/v1/admin/contacts', { headers: h })).json().contacts[0].id;
    // 260 messages of 60 KB (15 MB): more than loopback holds for a
    // reader that does not read.
    const big = 'x'.repeat(60000);
    for (let i = 0; i < 260; i++) {
      r = await json('POST', `/v1/admin/conversations/${conv}/messages`, { content: `m${i} ${big}`, name: 'Ann' });
      assert.equal(r.status, 201, r.text);
    }
    const key = await addKey(p, { org: org.json().id, role: 'admin' });
    const conn = await p.connect();
    t.after(() => conn.destroy());
    conn.sock.pause();
    await conn.write(buildRequest('GET', `/v1/admin/contacts/${contact}/export`, { headers: { 'x-admin-api-key': key.key } }));
    assert.ok(await settledInFlight(p.port, conn.localPort) > 0, 'the export waits on its reader');
    const from = p.logs.masterd.length;
    r = await p.request('DELETE', `/v1/admin/api-keys/${key.id}`, { headers: h });
    assert.equal(r.status, 200, r.text);
    await waitFor(() => p.logs.masterd.includes('contact export: its credential ended; the download is cut', from),
      10000, 'the worker ends the export');
    r = await json('POST', `/v1/admin/conversations/${conv}/messages`, { content: 'WRITTEN-AFTER-THE-KEY', name: 'Ann' });
    assert.equal(r.status, 201, r.text);
    conn.sock.resume();
    await assert.rejects(conn.response({ timeout: 60000 }), (e) => e instanceof ClosedError,
      'the download ends without its last chunk');
    assert.ok(conn.received < 260 * 60000, `cut: ${conn.received} bytes`);
  });
});
