// The inbox's API (issue 24, item 6), over real HTTP and a real WebSocket
// on loopback: visitors named by their contact or by a name made from the
// session (the same in the list, the thread and the live events), the
// visitor's last message as the preview, unread per dashboard user and
// POST .../read, what the widget tells of its visitor (from a WebSocket
// session and from the HTTP chat, bounded), and canned replies (CRUD,
// duplicates, limits, roles, organisations). One stack for the file.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Parley, waitFor } from './lib/harness.mjs';
import { assertJsonError } from './lib/checks.mjs';
import { chat, sid } from './lib/chat.mjs';
import { PASSWORD } from './lib/dashboard.mjs';
import { Events } from './lib/events.mjs';
import { checkerFor } from './lib/openapi.mjs';
import { addKey, addMember, installIn } from './lib/people.mjs';
import { createWidget, Visitor } from './lib/wsclient.mjs';

const LIST = '/v1/admin/conversations';
const CANNED = '/v1/admin/canned-replies';
const NAME_RE = /^[A-Z][a-z]+ [A-Z][a-z]+ ([1-9]|[1-9][0-9])$/;

const VISITOR = {
  pageUrl: 'https://shop.example.com/pricing?plan=pro#faq',
  referrer: 'https://www.example.org/search?q=parley',
  userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Test/1.0',
  language: 'de-CH',
  timeZone: 'Europe/Zurich',
};

let oa; // the OpenAPI checker of the stack's own document

async function row(p, id, s) {
  const r = s ? await s.get(`${LIST}?limit=200`) : await p.admin(`${LIST}?limit=200`);
  assert.equal(r.status, 200, r.text);
  return oa.checkJson('GET', LIST, r).conversations.find((c) => c._id === id);
}

async function thread(p, id, s) {
  const r = s ? await s.get(`${LIST}/${id}`) : await p.admin(`${LIST}/${id}`);
  assert.equal(r.status, 200, r.text);
  return oa.checkJson('GET', `${LIST}/${id}`, r);
}

describe('the inbox API', { concurrency: 1 }, () => {
  let p, agentA, agentB, admin;
  before(async () => {
    p = new Parley({ workers: 2, mock: true, env: { DASHBOARD_PASSWORD: PASSWORD, RATE_LIMIT_MAX_REQUESTS: '0' } });
    await p.start();
    oa = await checkerFor(p);
    [agentA, agentB, admin] = await Promise.all([
      addMember(p, { role: 'agent' }), addMember(p, { role: 'agent' }), addMember(p, { role: 'admin' }),
    ]);
  });
  after(async () => { await p.stop(); assert.deepEqual(p.problems, []); });

  test('HTTP chat: a made-up name, stable; the visitor\'s last message; the details, bounded', async () => {
    const session = sid('inbox');
    let r = await chat(p, session, 'first question', { body: { sessionId: session, message: 'first question', visitor: VISITOR } });
    assert.equal(r.status, 200, r.text);
    const id = r.json().conversationId;
    const c = await row(p, id);
    assert.match(c.visitorName, NAME_RE);
    assert.equal(c.lastVisitorMessage, 'first question');
    assert.notEqual(c.lastMessage, 'first question', 'lastMessage is still the last message (the reply)');
    assert.equal(c.unread, false, 'a key has nothing unread');
    assert.equal(c.visitor, undefined, 'list rows carry no details');
    let t = await thread(p, id);
    assert.equal(t.conversation.visitorName, c.visitorName, 'the same name in the thread');
    assert.deepEqual(t.conversation.visitor, { ...VISITOR, pageUrl: 'https://shop.example.com/pricing?plan=pro' });
    // The same session again: the same name; a new message is the preview.
    r = await chat(p, session, 'second one');
    assert.equal(r.status, 200);
    t = await thread(p, id);
    assert.equal(t.conversation.visitorName, c.visitorName);
    assert.equal(t.conversation.lastVisitorMessage, 'second one');
    assert.deepEqual(t.conversation.visitor, { ...VISITOR, pageUrl: 'https://shop.example.com/pricing?plan=pro' },
      'a turn that tells nothing keeps what was told');
    // Over the bounds or of the wrong shape: dropped, the chat goes on.
    r = await chat(p, session, 'third', {
      body: {
        sessionId: session, message: 'third',
        visitor: { pageUrl: `https://x.example/${'a'.repeat(2100)}`, referrer: 'javascript:alert(1)', userAgent: 'ua\u0001', language: 'en US', timeZone: 'Europe/Paris' },
      },
    });
    assert.equal(r.status, 200, r.text);
    t = await thread(p, id);
    assert.deepEqual(t.conversation.visitor, { pageUrl: '', referrer: '', userAgent: '', language: '', timeZone: 'Europe/Paris' });
    // Not an object: ignored.
    r = await chat(p, session, 'fourth', { body: { sessionId: session, message: 'fourth', visitor: 'nope' } });
    assert.equal(r.status, 200, r.text);
  });

  test('WebSocket: details from the session; a contact names the visitor everywhere, events too', async () => {
    const w = await createWidget(p, { contact_info_mode: 'optional' });
    const ev = await Events.open(p);
    // Live from its "ready" on: what comes before it is not sent.
    await waitFor(() => ev.lastId !== null, 5000, 'the stream starts');
    const v = await Visitor.open(p, w.widget_id);
    await v.next('session');
    v.send({ type: 'visitor', ...VISITOR });
    await v.turn('hello from the socket');
    const list = (await (await p.admin(`${LIST}?limit=200`)).json()).conversations;
    const c = list.find((x) => x.lastVisitorMessage === 'hello from the socket');
    assert.ok(c, 'the conversation is listed with its preview');
    assert.match(c.visitorName, NAME_RE);
    // The live events name the visitor as the list does.
    const made = await ev.take((e) => e.event === 'conversation' && e.data.conversation._id === c._id, 5000, 'conversation');
    assert.equal(made.data.conversation.visitorName, c.visitorName);
    const said = await ev.take((e) => e.event === 'message' && e.data.conversation._id === c._id && e.data.message.role === 'user', 5000, 'message');
    assert.equal(said.data.conversation.visitorName, c.visitorName);
    assert.equal(said.data.conversation.lastVisitorMessage, 'hello from the socket');
    ev.close();
    let t = await thread(p, c._id);
    assert.equal(t.conversation.visitor.timeZone, 'Europe/Zurich');
    assert.equal(t.conversation.visitor.pageUrl, 'https://shop.example.com/pricing?plan=pro');
    // An email alone names it; then a name does.
    v.send({ type: 'contact_info', email: 'Ada@Example.com' });
    await v.next('contact_info_saved');
    t = await thread(p, c._id);
    assert.equal(t.conversation.visitorName, 'ada@example.com');
    assert.equal((await row(p, c._id)).visitorName, 'ada@example.com');
    await v.close();
    // A new visitor with a name.
    const v2 = await Visitor.open(p, w.widget_id);
    await v2.next('session');
    v2.send({ type: 'contact_info', name: 'Grace Hopper' });
    await v2.next('contact_info_saved');
    await v2.turn('named visitor here');
    const c2 = (await (await p.admin(`${LIST}?limit=200`)).json()).conversations.find((x) => x.lastVisitorMessage === 'named visitor here');
    assert.equal(c2.visitorName, 'Grace Hopper');
    await v2.close();
  });

  test('unread per user: A reads, B still has it unread; a new visitor message makes it unread again', async () => {
    const session = sid('unread');
    let r = await chat(p, session, 'are you there?');
    const id = r.json().conversationId;
    assert.equal((await row(p, id, agentA.session)).unread, true);
    assert.equal((await row(p, id, agentB.session)).unread, true);
    assert.equal((await thread(p, id, agentA.session)).conversation.unread, true, 'the thread says it too');
    r = await agentA.session.request('POST', `${LIST}/${id}/read`);
    assert.equal(r.status, 204, r.text);
    assert.equal((await row(p, id, agentA.session)).unread, false);
    assert.equal((await row(p, id, agentB.session)).unread, true, 'B has not read it');
    // A person's reply is not the visitor's: still read.
    r = await agentA.session.request('POST', `${LIST}/${id}/messages`, { body: { content: 'yes, here' } });
    assert.ok(r.status === 200 || r.status === 201, r.text);
    assert.equal((await row(p, id, agentA.session)).unread, false);
    r = await chat(p, session, 'one more thing');
    assert.equal(r.status, 200);
    assert.equal((await row(p, id, agentA.session)).unread, true, 'unread again');
    // A key: 204, nothing to remember; an unknown or malformed id.
    r = await p.adminJson('POST', `${LIST}/${id}/read`);
    assert.equal(r.status, 204);
    assertJsonError(await p.adminJson('POST', `${LIST}/${'0'.repeat(32)}/read`), 404, 'Conversation not found');
    assertJsonError(await p.adminJson('POST', `${LIST}/nope/read`), 400, 'Invalid conversationId');
    // Deleted: its marks go with it (B reads, then it is gone).
    assert.equal((await agentB.session.request('POST', `${LIST}/${id}/read`)).status, 204);
    assert.equal((await p.request('DELETE', `${LIST}/${id}`, { headers: { 'x-admin-api-key': p.adminKey } })).status, 204);
    assertJsonError(await agentB.session.request('POST', `${LIST}/${id}/read`), 404, 'Conversation not found');
  });

  test('canned replies: CRUD, duplicates 409, checks, roles', async () => {
    let r = await admin.session.request('POST', CANNED, { body: { shortcut: 'hello', text: 'Hello! How can I help?' } });
    assert.equal(r.status, 201, r.text);
    const a = oa.checkJson('POST', CANNED, r);
    assert.match(a.id, /^cr_[0-9a-f]{32}$/);
    assert.equal(a.shortcut, 'hello');
    assert.equal(a.text, 'Hello! How can I help?');
    assert.ok(a.createdAt && a.updatedAt);
    r = await admin.session.request('POST', CANNED, { body: { shortcut: 'bye', text: 'Goodbye 👋' } });
    assert.equal(r.status, 201);
    const b = r.json();
    // Every member reads them, by shortcut.
    r = await agentA.session.get(CANNED);
    assert.equal(r.status, 200);
    oa.checkJson('GET', CANNED, r);
    assert.deepEqual(r.json().items.map((x) => x.shortcut), ['bye', 'hello']);
    // Duplicates: 409, on create and on a rename.
    assertJsonError(await admin.session.request('POST', CANNED, { body: { shortcut: 'hello', text: 'x' } }), 409, 'shortcut: already in use');
    assertJsonError(await admin.session.request('PUT', `${CANNED}/${b.id}`, { body: { shortcut: 'hello', text: 'x' } }), 409, 'shortcut: already in use');
    // Update: a new shortcut and text.
    r = await admin.session.request('PUT', `${CANNED}/${b.id}`, { body: { shortcut: 'see-you_2', text: 'See you!' } });
    assert.equal(r.status, 200, r.text);
    oa.checkJson('PUT', `${CANNED}/${b.id}`, r);
    assert.equal(r.json().id, b.id);
    assert.equal(r.json().shortcut, 'see-you_2');
    assert.equal(r.json().createdAt, b.createdAt);
    r = await p.admin(CANNED);
    assert.deepEqual(r.json().items.map((x) => [x.shortcut, x.text]), [['hello', 'Hello! How can I help?'], ['see-you_2', 'See you!']]);
    // Checks.
    for (const [body, msg] of [
      [{ shortcut: '', text: 'x' }, 'shortcut: 1 to 32 characters'],
      [{ shortcut: 'a'.repeat(33), text: 'x' }, 'shortcut: 1 to 32 characters'],
      [{ shortcut: 'Hello', text: 'x' }, 'shortcut: only a-z, 0-9, _ and -'],
      [{ shortcut: 'a b', text: 'x' }, 'shortcut: only a-z, 0-9, _ and -'],
      [{ shortcut: 'ok', text: '' }, 'text: 1 to 2000 characters'],
      [{ shortcut: 'ok', text: 'é'.repeat(2001) }, 'text: 1 to 2000 characters'],
      [{ shortcut: 'ok' }, 'text: must be a string'],
      [{ shortcut: 'ok', text: 'x', extra: 1 }, 'body: unknown field'],
    ]) assertJsonError(await admin.session.request('POST', CANNED, { body }), 400, msg);
    r = await admin.session.request('POST', CANNED, { body: { shortcut: 'long', text: 'é'.repeat(2000) } });
    assert.equal(r.status, 201, '2000 characters fit');
    // Roles: an agent reads, never writes.
    assert.equal((await agentA.session.request('POST', CANNED, { body: { shortcut: 'no', text: 'x' } })).status, 403);
    assert.equal((await agentA.session.request('PUT', `${CANNED}/${a.id}`, { body: { shortcut: 'no', text: 'x' } })).status, 403);
    assert.equal((await agentA.session.request('DELETE', `${CANNED}/${a.id}`)).status, 403);
    // Delete; then it is not found.
    assert.equal((await admin.session.request('DELETE', `${CANNED}/${a.id}`)).status, 204);
    assertJsonError(await admin.session.request('DELETE', `${CANNED}/${a.id}`), 404, 'Canned reply not found');
    assertJsonError(await admin.session.request('PUT', `${CANNED}/${a.id}`, { body: { shortcut: 'x', text: 'x' } }), 404, 'Canned reply not found');
    assertJsonError(await admin.session.request('DELETE', `${CANNED}/nope`), 404, 'Canned reply not found');
  });

  test('canned replies: at most 200 an organisation; each organisation its own', async () => {
    const org = (await (await p.adminJson('POST', '/v1/admin/organizations', { name: 'Canned Org' })).json());
    const h = { ...installIn(p, org.id), 'Content-Type': 'application/json' };
    const put = (shortcut) => p.request('POST', CANNED, { headers: h, body: JSON.stringify({ shortcut, text: `text ${shortcut}` }) });
    for (let i = 0; i < 200; i += 20) {
      const rs = await Promise.all(Array.from({ length: 20 }, (_, j) => put(`r${i + j}`)));
      rs.forEach((r) => assert.equal(r.status, 201, r.text));
    }
    assertJsonError(await put('one-more'), 400, 'canned replies: at most 200');
    let r = await p.request('GET', CANNED, { headers: installIn(p, org.id) });
    assert.equal(r.json().items.length, 200);
    // The default organisation sees none of them; the same shortcut is free there.
    r = await p.admin(CANNED);
    assert.ok(!r.json().items.some((x) => x.shortcut === 'r0'));
    r = await p.adminJson('POST', CANNED, { shortcut: 'r0', text: 'mine' });
    assert.equal(r.status, 201);
    // Another organisation's id is not found here, and its key sees its own only.
    const theirs = (await p.request('GET', CANNED, { headers: installIn(p, org.id) })).json().items[0];
    assertJsonError(await p.adminJson('DELETE', `${CANNED}/${theirs.id}`), 404, 'Canned reply not found');
    const key = await addKey(p, { org: org.id, role: 'agent' });
    r = await p.request('GET', CANNED, { headers: { 'x-admin-api-key': key.key } });
    assert.equal(r.status, 200);
    assert.equal(r.json().items.length, 200);
    // Deleting the organisation takes them.
    assert.equal((await p.request('DELETE', `/v1/admin/organizations/${org.id}`, { headers: installIn(p) })).status, 200);
  });
});
