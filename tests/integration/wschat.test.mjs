// The widget's WebSocket chat (issue 5), against the real processes and
// the mock model, with the independent `ws` client: every message type,
// resumed sessions and their history, origins and reset-id at the config
// and at the upgrade, the contact rule and contact resolution, the daily
// cap (exact over 4 workers, kept across a storaged restart), the rate
// limit, bad frames, and 1,000 sessions streaming at once.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';

import { Parley, pool, sleep, waitFor } from './lib/harness.mjs';
import { assertJsonError } from './lib/checks.mjs';
import { mockReply } from './lib/chat.mjs';
import { RECORDS, shownName } from './lib/records.mjs';
import { writingFrames } from './lib/wsframes.mjs';
import { createWidget, Visitor } from './lib/wsclient.mjs';

const GOOD = 'https://good.example';
const EVIL = 'https://evil.example';

// Every message of a conversation, through the admin API.
async function messagesOf(p, convId) {
  const r = await p.admin(`/v1/admin/conversations/${convId}`);
  assert.equal(r.status, 200);
  return r.json().messages.map((m) => [m.role, m.content, m.status]);
}

// The newest conversation whose last message is text.
async function conversationEndingWith(p, text) {
  const r = await p.admin('/v1/admin/conversations?limit=200');
  assert.equal(r.status, 200);
  return r.json().conversations.find((c) => c.lastMessage === text) || null;
}

describe('WebSocket chat, 4 workers', () => {
  let p;
  before(async () => {
    p = new Parley({ workers: 4, mock: { chunks: 6, delayMs: 5 }, env: { RATE_LIMIT_MAX_REQUESTS: '0' } });
    await p.start();
  });
  after(async () => { await p.stop(); assert.deepEqual(p.problems, []); });

  test('a turn: session, typing_start, tokens, message, typing_stop; stored; resumed with history', async () => {
    const w = await createWidget(p, { greeting: 'Hi there' });
    const v = await Visitor.open(p, w.widget_id);
    const s = await v.next('session');
    assert.match(s.session_token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(s.contact_info_submitted, false);
    // Tokens that come before storaged confirms the commit go out together
    // once it does: 100 ms between chunks leaves room for a slow commit on
    // a loaded machine (at 5 ms all six could come before it).
    const said = 'hello over ws [[mock:delay=100]]';
    const { tokens, message } = await v.turn(said);
    assert.ok(tokens.length >= 2, `streamed in ${tokens.length} tokens`);
    assert.equal(tokens.join(''), mockReply('hello over ws'));
    // The stored answer's id (issue 26: the widget's thumbs name it).
    assert.match(message.id, /^[0-9a-f]{32}$/);
    assert.deepEqual(message, { type: 'message', role: 'assistant', content: mockReply('hello over ws'), id: message.id });
    await v.close();

    const conv = await conversationEndingWith(p, mockReply('hello over ws'));
    assert.ok(conv, 'the conversation is listed');
    assert.deepEqual(await messagesOf(p, conv._id), [
      ['user', said, 'complete'],
      ['assistant', mockReply('hello over ws'), 'complete'],
    ]);

    // The token resumes the session: the same token, and the history.
    const v2 = await Visitor.open(p, w.widget_id, { token: s.session_token });
    const s2 = await v2.next('session');
    assert.equal(s2.session_token, s.session_token);
    const h = await v2.next('history');
    // Each with its id, an answer with its feedback; the conversation named.
    assert.equal(h.conversation_id, conv._id);
    assert.equal(h.messages[1].id, message.id);
    assert.deepEqual(h.messages.map(({ id, ...m }) => (assert.match(id, /^[0-9a-f]{32}$/), m)), [
      { role: 'user', content: said },
      { role: 'assistant', content: mockReply('hello over ws'), feedback: null, status: 'complete' },
    ]);
    // The next turn goes into the same conversation, with the history sent to the model.
    await v2.turn('second');
    await v2.close();
    assert.equal((await messagesOf(p, conv._id)).length, 4);

    // An unknown or malformed token starts a fresh session, not an error.
    for (const token of ['A'.repeat(43), 'short', '../../etc']) {
      const v3 = await Visitor.open(p, w.widget_id, { token });
      const s3 = await v3.next('session');
      assert.notEqual(s3.session_token, s.session_token);
      assert.notEqual(s3.session_token, token);
      await sleep(50);
      assert.equal(v3.inbox.length, 0, 'no history for a new session');
      await v3.close();
    }
  });

  // docs/widget-protocol.md: a resume only on a socket opened without
  // ?token=. A review found a socket opened with a token that named no
  // session (or a malformed one) took a resume of another token after all.
  test('a resume is refused on a socket opened with ?token=, whether it named a session, none, or was malformed', async () => {
    const w = await createWidget(p);
    const v = await Visitor.open(p, w.widget_id);
    const live = (await v.next('session')).session_token;
    await v.turn('hello before the resumes');
    await v.close();
    for (const token of [live, 'A'.repeat(43), 'abc']) {
      const r = await Visitor.open(p, w.widget_id, { token });
      try {
        await r.next('session');
        if (token === live) await r.next('history');
        r.send({ type: 'resume', token: live });
        assert.equal((await r.next('error')).message, 'resume: only as the first message of a socket opened without a token', `opened with ${token}`);
      } finally {
        await r.close();
      }
    }
  });

  test('a message sent with a cid, its socket gone before the answer: the resumed history names it by that cid', async () => {
    const w = await createWidget(p);
    const v = await Visitor.open(p, w.widget_id);
    const s = await v.next('session');
    // Sent and stored, then the socket gone unread: to the widget, its
    // answer (typing_start) was lost with it.
    v.send({ type: 'message', content: 'did this arrive?', cid: 'c-0123456789abcdef' });
    let conv = null;
    for (const t0 = Date.now(); !conv && Date.now() - t0 < 10000; await sleep(50)) {
      const r = await p.admin('/v1/admin/conversations?limit=200');
      conv = r.json().conversations.find((c) => c.lastVisitorMessage === 'did this arrive?') || null;
    }
    assert.ok(conv, 'the message was stored');
    await v.close();
    const v2 = await Visitor.open(p, w.widget_id, { token: s.session_token });
    await v2.next('session');
    const h = await v2.next('history');
    assert.deepEqual(h.messages.filter((m) => m.role === 'user').map((m) => [m.content, m.cid]), [['did this arrive?', 'c-0123456789abcdef']]);
    // A message sent without one has none; the admin API shows none either.
    await v2.turn('and this one');
    await v2.close();
    const v3 = await Visitor.open(p, w.widget_id, { token: s.session_token });
    await v3.next('session');
    const h3 = await v3.next('history');
    const mine = h3.messages.filter((m) => m.role === 'user');
    assert.deepEqual(mine.map((m) => [m.content, 'cid' in m]), [['did this arrive?', true], ['and this one', false]]);
    await v3.close();
    const r = await p.admin(`/v1/admin/conversations/${conv._id}`);
    assert.ok(r.json().messages.every((m) => !('cid' in m) && !('clientId' in m)), 'no client id in the admin API');
  });

  test('public config: only the public subset; origins checked at the config and at the upgrade', async () => {
    const w = await createWidget(p, { allowed_origins: [GOOD], primary_color: '#112233', position: 'bottom_left' });
    const ok = await p.get(`/api/widget/${w.widget_id}/config`, { headers: { Origin: GOOD } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['access-control-allow-origin'], GOOD);
    // Exactly the widget record's public rows (no handoff: no availability).
    assert.deepEqual(Object.keys(ok.json()).sort(),
      RECORDS.get('st_widget').filter((r) => r.view === 'pub').map((r) => shownName(r)).sort());
    assert.equal(ok.json().primary_color, '#112233');
    assertJsonError(await p.get(`/api/widget/${w.widget_id}/config`, { headers: { Origin: EVIL } }), 403);

    await assert.rejects(Visitor.open(p, w.widget_id, { origin: EVIL }), (e) => e.status === 403);
    await assert.rejects(Visitor.open(p, w.widget_id), (e) => e.status === 403, 'no Origin is not an allowed origin');
    const v = await Visitor.open(p, w.widget_id, { origin: GOOD });
    await v.next('session');
    await v.turn('from the shop');
    // The owner takes that origin out: the open socket's next message is
    // refused by storaged and the socket closed as gone (4004), the model
    // not asked; it once went on answering until the page reloaded.
    const n0 = (await p.mock.completions()).length;
    const r = await p.adminJson('PATCH', `/v1/admin/widgets/${w.widget_id}`, { allowed_origins: ['https://other.example'] });
    assert.equal(r.status, 200, r.text);
    v.send({ type: 'message', content: 'still here?' });
    assert.equal(await v.waitClose(5000), 4004);
    assert.equal((await p.mock.completions()).length, n0, 'the model not asked');
    await v.close();

    // Unknown widget ids: 404 at both.
    const unknown = `wid_${'0'.repeat(32)}`;
    assertJsonError(await p.get(`/api/widget/${unknown}/config`), 404);
    await assert.rejects(Visitor.open(p, unknown), (e) => e.status === 404);
    await assert.rejects(Visitor.open(p, 'not-a-widget'), (e) => e.status === 404);
  });

  test('an origin taken out: every frame that writes, from a socket open from it, closes it (4004) and stores nothing', async () => {
    const w = await createWidget(p, { allowed_origins: [GOOD], handoff_enabled: true, feedback_enabled: true, rating_enabled: true });
    const secret = (await p.adminJson('POST', `/v1/admin/widgets/${w.widget_id}/identity-secret`)).json().identity_secret;
    const origins = async (list) => {
      const r = await p.adminJson('PATCH', `/v1/admin/widgets/${w.widget_id}`, { allowed_origins: list });
      assert.equal(r.status, 200, r.text);
    };
    const thread = async (id) => (await p.admin(`/v1/admin/conversations/${id}`)).json();
    const contacts = async () => (await p.admin('/v1/admin/contacts?limit=200')).json().contacts;
    // Each frame (the tables' frames of an open socket whose storaged
    // request writes: a new one needs its case here), and whether what it
    // would store is there, read through the admin API. c: the socket's
    // conversation (id, its answer's id, the session's token).
    const CASES = {
      message: {
        frame: () => ({ type: 'message', content: 'still here?' }),
        stored: async (c) => (await thread(c.id)).messages.some((m) => m.content === 'still here?'),
      },
      contact_info: {
        frame: () => ({ type: 'contact_info', email: 'gone-origin@example.com' }),
        stored: async () => (await contacts()).some((x) => x.email === 'gone-origin@example.com'),
      },
      request_human: {
        frame: () => ({ type: 'request_human' }),
        stored: async (c) => (await thread(c.id)).conversation.handoff !== 'ai',
      },
      identify: {
        frame: () => ({ type: 'identify', id: 'cus_gone', hash: crypto.createHmac('sha256', secret).update('cus_gone').digest('hex') }),
        stored: async () => (await contacts()).some((x) => x.external_id === 'cus_gone'),
      },
      feedback: {
        frame: (c) => ({ type: 'feedback', message_id: c.answer, value: 'down' }),
        stored: async (c) => (await thread(c.id)).messages.find((m) => m._id === c.answer).feedback != null,
      },
      rating: {
        frame: () => ({ type: 'rating', score: 2, comment: 'from a removed origin' }),
        stored: async (c) => (await thread(c.id)).conversation.rating != null,
      },
      new_conversation: {
        frame: () => ({ type: 'new_conversation' }),
        // Not stored: the session resumed is still in its conversation.
        stored: async (c) => {
          const v = await Visitor.open(p, w.widget_id, { origin: GOOD, token: c.token });
          await v.next('session');
          const h = await v.next();
          await v.close();
          return !(h.type === 'history' && h.conversation_id === c.id);
        },
      },
    };
    const frames = writingFrames().map((f) => f.type);
    assert.deepEqual(frames.filter((t) => !CASES[t]), [], 'a case for each frame that writes');
    for (const type of frames) {
      await origins([GOOD]);
      const v = await Visitor.open(p, w.widget_id, { origin: GOOD });
      const token = (await v.next('session')).session_token;
      const asked = `before ${type}`;
      const { message } = await v.turn(asked);
      const conv = (await p.admin('/v1/admin/conversations?limit=200')).json().conversations
        .find((x) => x.widgetId === w.id && x.lastVisitorMessage === asked);
      assert.ok(conv, `${type}: the conversation is listed`);
      const c = { id: conv._id, answer: message.id, token };
      // The owner takes the origin out; the frame from the open socket is
      // refused by storaged as a message is: once stored all the same.
      await origins(['https://other.example']);
      v.send(CASES[type].frame(c));
      assert.equal(await v.waitClose(5000), 4004, `${type}: closed as gone (${JSON.stringify(v.inbox)})`);
      await origins([GOOD]);
      assert.equal(await CASES[type].stored(c), false, `${type}: nothing stored`);
    }
  });

  test('reset-id: the old id fails at once, at the config, the upgrade and on open sockets; the new one works', async () => {
    const w = await createWidget(p);
    const open = await Visitor.open(p, w.widget_id);
    await open.next('session');
    const r = await p.request('POST', `/v1/admin/widgets/${w.widget_id}/reset-id`, { headers: { 'x-admin-api-key': p.adminKey } });
    assert.equal(r.status, 200);
    const fresh = r.json().widget_id;
    assert.notEqual(fresh, w.widget_id);
    assert.equal(await open.waitClose(3000), 4004, 'the open socket is closed with 4004');
    assertJsonError(await p.get(`/api/widget/${w.widget_id}/config`), 404);
    await assert.rejects(Visitor.open(p, w.widget_id), (e) => e.status === 404);
    assert.equal((await p.get(`/api/widget/${fresh}/config`)).status, 200);
    const v = await Visitor.open(p, fresh);
    await v.next('session');
    await v.turn('after reset');
    await v.close();

    // Disabling closes sockets and refuses new ones too.
    const v2 = await Visitor.open(p, fresh);
    await v2.next('session');
    const d = await p.request('PATCH', `/v1/admin/widgets/${fresh}`, {
      headers: { 'x-admin-api-key': p.adminKey, 'Content-Type': 'application/json' }, body: JSON.stringify({ enabled: false }) });
    assert.equal(d.status, 200);
    assert.equal(await v2.waitClose(3000), 4004);
    await assert.rejects(Visitor.open(p, fresh), (e) => e.status === 404);
  });

  test('contact info required: enforced before the first message; validated; remembered', async () => {
    const w = await createWidget(p, { contact_info_mode: 'required', collect_email: true, collect_name: true });
    const v = await Visitor.open(p, w.widget_id);
    const s = await v.next('session');
    assert.equal(s.contact_info_submitted, false);
    v.send({ type: 'message', content: 'hi' });
    const e = await v.next('error');
    assert.match(e.message, /contact/i);
    v.send({ type: 'contact_info', name: 'Jane', email: 'not an email' });
    assert.match((await v.next('error')).message, /^email/);
    v.send({ type: 'contact_info', name: 7 });
    assert.match((await v.next('error')).message, /^name/);
    v.send({ type: 'contact_info', name: 'Jane', email: 'Jane@Example.com' });
    await v.next('contact_info_saved');
    // Resumed before its first message: no conversation, so no handoff
    // state to tell.
    const early = await Visitor.open(p, w.widget_id, { token: s.session_token });
    const se = await early.next('session');
    assert.equal(se.session_token, s.session_token);
    assert.equal(se.contact_info_submitted, true);
    assert.equal('handoff' in se, false, JSON.stringify(se));
    await early.close();
    await v.turn('now I may');
    await v.close();
    const v2 = await Visitor.open(p, w.widget_id, { token: s.session_token });
    const s2 = await v2.next('session');
    assert.equal(s2.contact_info_submitted, true);
    assert.equal(s2.handoff, 'ai');
    await v2.close();
  });

  test('contact info required: only the fields the widget asks for count, and only they are stored', async () => {
    const tag = Date.now().toString(36);
    // The contact a visitor's turn (said) left its conversation linked to.
    const contactOf = async (said) => {
      const conv = await conversationEndingWith(p, mockReply(said));
      assert.ok(conv && conv.contactId, 'the conversation is linked to a contact');
      const r = await p.admin(`/v1/admin/contacts/${conv.contactId}`);
      assert.equal(r.status, 200);
      return r.json();
    };
    // Email only: a name alone is refused as an empty contact_info is (no
    // code: the bundled widget never sends a field it does not show), and
    // the next message still is.
    const w = await createWidget(p, { contact_info_mode: 'required', collect_email: true });
    const v = await Visitor.open(p, w.widget_id);
    const s = await v.next('session');
    v.send({ type: 'contact_info', name: 'Jo' });
    const refused = await v.next('error');
    assert.match(refused.message, /^contact: give a detail this widget asks for/);
    assert.equal(refused.code, undefined);
    v.send({ type: 'message', content: 'hi' });
    const e = await v.next('error');
    assert.equal(e.code, 'contact_required');
    // Nothing stored: the socket's token names no session yet.
    const again = await Visitor.open(p, w.widget_id, { token: s.session_token });
    const s2 = await again.next('session');
    assert.notEqual(s2.session_token, s.session_token);
    assert.equal(s2.contact_info_submitted, false);
    await again.close();
    // The email too: saved, the name and phone it does not collect left out.
    const email = `jo-${tag}@example.com`;
    v.send({ type: 'contact_info', name: 'Jo', email, phone: '+1 555 000 0042' });
    await v.next('contact_info_saved');
    const said = `email only ${tag}`;
    await v.turn(said);
    await v.close();
    let c = await contactOf(said);
    assert.deepEqual([c.name, c.email, c.phone], [null, email, null]);

    // Name and email: either one lets the visitor chat (the widget's own
    // form asks for both; a page's own form may send one).
    const w2 = await createWidget(p, { contact_info_mode: 'required', collect_email: true, collect_name: true });
    const v2 = await Visitor.open(p, w2.widget_id);
    await v2.next('session');
    v2.send({ type: 'contact_info', name: 'Jo', phone: '+1 555 000 0043' });
    await v2.next('contact_info_saved');
    const said2 = `name and email ${tag}`;
    await v2.turn(said2);
    await v2.close();
    c = await contactOf(said2);
    assert.deepEqual([c.name, c.email, c.phone], ['Jo', null, null]);

    // Name only, with a person to talk to: the away form's email is kept
    // once the visitor may chat, but does not let them chat.
    const w3 = await createWidget(p, { contact_info_mode: 'required', collect_name: true, handoff_enabled: true });
    const v3 = await Visitor.open(p, w3.widget_id);
    await v3.next('session');
    const away = `away-${tag}@example.com`;
    v3.send({ type: 'contact_info', email: away });
    assert.match((await v3.next('error')).message, /^contact: give a detail this widget asks for/);
    v3.send({ type: 'message', content: 'hi' });
    assert.equal((await v3.next('error')).code, 'contact_required');
    v3.send({ type: 'contact_info', name: 'Ann' });
    await v3.next('contact_info_saved');
    v3.send({ type: 'contact_info', email: away, phone: '+1 555 000 0044' });
    await v3.next('contact_info_saved');
    const said3 = `name only ${tag}`;
    await v3.turn(said3);
    await v3.close();
    // (an email no contact holds resolves to a new contact, as ever)
    c = await contactOf(said3);
    assert.deepEqual([c.name, c.email, c.phone], [null, away, null]);

    // Optional: stored as given, as before (the form may be skipped).
    const w4 = await createWidget(p, { contact_info_mode: 'optional', collect_email: true });
    const v4 = await Visitor.open(p, w4.widget_id);
    await v4.next('session');
    v4.send({ type: 'contact_info', name: 'Opt' });
    await v4.next('contact_info_saved');
    const said4 = `optional ${tag}`;
    await v4.turn(said4);
    await v4.close();
    c = await contactOf(said4);
    assert.deepEqual([c.name, c.email, c.phone], ['Opt', null, null]);
  });

  test('contact resolution: by email, by phone, both, different contacts, none', async () => {
    const w = await createWidget(p, { contact_info_mode: 'optional', collect_email: true, collect_phone: true, collect_name: true });
    const tag = Date.now().toString(36);
    const submit = async (info) => {
      const v = await Visitor.open(p, w.widget_id);
      await v.next('session');
      await v.turn(`contact ${JSON.stringify(info)}`);
      v.send({ type: 'contact_info', ...info });
      await v.next('contact_info_saved');
      await v.close();
      const conv = await conversationEndingWith(p, mockReply(`contact ${JSON.stringify(info)}`));
      assert.ok(conv && conv.contactId, 'the conversation is linked to the contact');
      return conv.contactId;
    };
    const a = `a-${tag}@example.com`;
    const b = `b-${tag}@example.com`;
    const c1 = await submit({ name: 'A', email: a, phone: '+1 555 000 0001' });
    assert.equal(await submit({ email: a.toUpperCase() }), c1, 'email alone');
    assert.equal(await submit({ phone: '+1 (555) 000-0001' }), c1, 'phone alone (normalised)');
    assert.equal(await submit({ email: a, phone: '+15550000001' }), c1, 'both match the same');
    const c2 = await submit({ email: b, phone: '+1 555 000 0002' });
    assert.notEqual(c2, c1, 'none match: a new contact');
    assert.equal(await submit({ email: a, phone: '+1 555 000 0002' }), c1, 'different contacts: the email wins');
    assert.equal(await submit({ email: `c-${tag}@example.com`, phone: '+1 555 000 0002' }), c2, 'only the phone matches');

    const r = await p.admin(`/v1/admin/contacts/${c1}`);
    assert.equal(r.status, 200);
    assert.equal(r.json().email, a);
    assert.equal(r.json().conversations.length, 5, 'the five conversations resolved to it');
  });

  test('bad input: errors for bad JSON and types, close codes for binary and oversize; the worker lives on', async () => {
    const w = await createWidget(p);
    const v = await Visitor.open(p, w.widget_id);
    await v.next('session');
    for (const bad of ['not json', '[]', '{"type":"nope"}', '{"type":"message"}', '{"type":"message","content":""}',
      '{"type":"message","content":"   "}', `{"type":"message","content":"${'x'.repeat(4001)}"}`,
      // 4002 UTF-16 units, as the widget's box (maxlength) and the HTTP chat count
      JSON.stringify({ type: 'message', content: '\u{1F600}'.repeat(2001) }),
      '{"type":"message","content":"a","content":"b"}', '{"type":"message","content":"a","cid":7}',
      '{"type":"message","content":"a","cid":"not an id"}', `{"type":"message","content":"a","cid":"${'c'.repeat(65)}"}`]) {
      v.send(bad);
      const e = await v.next('error');
      assert.equal(typeof e.message, 'string');
    }
    // A NUL inside a string names nothing: "message\u0000x" is no
    // "message" (before, its type was read up to the NUL: stored, answered).
    v.send('{"type":"message\\u0000x","content":"stored?"}');
    assert.deepEqual(await v.next(), { type: 'error', message: 'Invalid message: unknown type' });
    v.send('{"type":"tools","tools":[{"name":"look\\u0000up","description":"d","parameters":{"type":"object","properties":{}}}]}');
    assert.match((await v.next('error')).message, /^tools: each needs a name/);
    await v.turn('still fine');
    // The limit itself passes.
    assert.equal((await v.turn('\u{1F600}'.repeat(2000))).message.content, mockReply('\u{1F600}'.repeat(2000)));
    // The reply trimmed as the HTTP chat's (the reference's trim()); the
    // tokens still add up to it, and it is what is stored.
    const said = 'trim me [[mock:reply=%20%0Ahello%20there%C2%A0%0A%20]]';
    const { tokens, message } = await v.turn(said);
    assert.equal(message.content, 'hello there');
    assert.equal(tokens.join(''), 'hello there');
    const conv = await conversationEndingWith(p, 'hello there');
    assert.deepEqual((await messagesOf(p, conv._id)).slice(-2), [['user', said, 'complete'], ['assistant', 'hello there', 'complete']]);
    v.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    assert.equal(await v.waitClose(), 1003);

    const v2 = await Visitor.open(p, w.widget_id);
    await v2.next('session');
    v2.send(JSON.stringify({ type: 'message', content: 'x'.repeat(70 * 1024) }));
    assert.equal(await v2.waitClose(), 1009);

    // Invalid UTF-8 in a text frame: 1007. Raw frame, masked, by hand.
    const v3 = await Visitor.open(p, w.widget_id);
    await v3.next('session');
    v3.ws._socket.write(Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0xc3, 0x28]));
    assert.equal(await v3.waitClose(), 1007);

    // A close frame with a 1-byte body breaks RFC 6455 (5.5.1): 1002.
    const v4 = await Visitor.open(p, w.widget_id);
    await v4.next('session');
    v4.ws._socket.write(Buffer.from([0x88, 0x81, 0, 0, 0, 0, 0x03]));
    assert.equal(await v4.waitClose(), 1002);

    // A broken upgrade request: 400, not a crash.
    const sock = net.connect(p.port, '127.0.0.1');
    await new Promise((resolve) => sock.once('connect', resolve));
    sock.write(`GET /api/widget/${w.widget_id}/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n\r\n');
    const answer = await new Promise((resolve) => { let b = ''; sock.on('data', (d) => { b += d; if (b.includes('\r\n\r\n')) resolve(b); }); });
    assert.match(answer, /^HTTP\/1\.1 400 /);
    sock.destroy();
    assert.equal((await p.get('/health')).status, 200);

    // An Origin longer than storaged's requests carry (255 bytes) is
    // refused at the upgrade, whatever the widget allows: let in, each
    // message of the socket failed to reach storaged, uncounted by the
    // rate limit, a warning logged each time.
    const long = 'https://' + 'a'.repeat(300) + '.example';
    await assert.rejects(Visitor.open(p, w.widget_id, { origin: long }), /upgrade refused: 403 {"error":"Origin too long"}/);
    const edge = 'https://' + 'a'.repeat(255 - 'https://'.length); // ST_ORIGIN_MAX, widgetmsg.h
    const v5 = await Visitor.open(p, w.widget_id, { origin: edge });
    await v5.next('session');
    const long5 = await v5.turn('hello from a long origin');
    assert.equal(long5.message.content, mockReply('hello from a long origin'));
    await v5.close();
  });

  // A message being reassembled counts against its client's body budget
  // (PARLEY_MAX_BODY_KB_PER_CLIENT, 256 KiB a worker): 4 messages of 63 KiB
  // half sent fit in each worker, the socket of a fifth is closed 1009
  // (before, 512 sockets of one address held 32 MiB so, pongs keeping them
  // alive). A message held is taken once whole.
  test('messages half sent from one address: past its body budget the socket is closed 1009, the rest go on', async (t) => {
    const w = await createWidget(p);
    const N = 20;                     // 4 workers hold at most 4 × 4
    const vs = [];
    for (let i = 0; i < N; i++) {
      const v = await Visitor.open(p, w.widget_id, { localAddress: '127.0.0.9' });
      await v.next('session');
      vs.push(v);
    }
    const part = Buffer.from(`{"type":"message","content":"${'x'.repeat(63 * 1024)}`);
    // A ping after each part: its pong says the part was read and kept
    // (a socket refused reads no more: its close comes instead).
    const codes = await Promise.all(vs.map((v) => {
      const pong = new Promise((resolve) => v.ws.once('pong', () => resolve(null)));
      v.ws.send(part, { fin: false, binary: false });
      v.ws.ping();
      return Promise.race([v.closed, pong]);
    }));
    const refused = codes.filter((c) => c === 1009).length;
    t.diagnostic(`${refused} of ${N} sockets closed 1009, ${N - refused} hold a message half sent`);
    assert.ok(refused >= N - 16, `${refused} of ${N} sockets closed 1009`);
    assert.equal(codes.filter((c) => c !== null && c !== 1009).length, 0, `other closes: ${codes}`);
    const held = vs.filter((v) => v.closeCode === null);
    assert.ok(held.length >= 4, `${held.length} held`);
    // The message held ends: taken whole (too long for a chat message).
    held[0].ws.send(Buffer.from('"}'), { fin: true, binary: false });
    assert.match((await held[0].next('error')).message, /long|4000/i);
    await held[0].turn('still here');
    for (const v of vs) v.ws.terminate();
  });

  test('1,000 sessions streaming at once all complete and are stored', { timeout: 120000 }, async (t) => {
    const w = await createWidget(p);
    const N = 1000;
    const t0 = Date.now();
    const visitors = [];
    await pool(Array.from({ length: N }, (_, i) => i), 100, async (i) => {
      const v = await Visitor.open(p, w.widget_id, { timeout: 20000 });
      await v.next('session', 20000);
      visitors[i] = v;
    });
    const results = await Promise.all(visitors.map((v, i) => v.turn(`load ${i} [[mock:chunks=5,delay=20]]`, 60000)));
    for (let i = 0; i < N; i++) assert.equal(results[i].message.content, mockReply(`load ${i} [[mock:chunks=5,delay=20]]`));
    await Promise.all(visitors.map((v) => v.close()));
    let stored = 0;
    let cursor = '';
    for (let page = 0; page < 100; page++) {
      const r = await p.admin(`/v1/admin/conversations?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      for (const c of r.json().conversations) if (c.lastMessage && c.lastMessage.startsWith('You said: load ')) stored += c.messageCount;
      if (!r.json().nextCursor) break;
      cursor = r.json().nextCursor;
    }
    assert.equal(stored, 2 * N, 'every question and reply stored');
    t.diagnostic(`${N} WebSocket sessions: connected and answered in ${Date.now() - t0} ms`);
  });
});

describe('WebSocket chat limits, 4 workers', () => {
  let p;
  before(async () => {
    p = new Parley({ workers: 4, mock: { chunks: 3 }, env: { RATE_LIMIT_MAX_REQUESTS: '4', RATE_LIMIT_WINDOW_MS: '60000' } });
    await p.start();
  });
  after(async () => { await p.stop(); assert.deepEqual(p.problems, []); });

  test('the per-client rate limit applies to WebSocket messages', async () => {
    const w = await createWidget(p);
    const v = await Visitor.open(p, w.widget_id);
    await v.next('session');
    for (let i = 0; i < 4; i++) await v.turn(`r${i}`);
    v.send({ type: 'message', content: 'one too many' });
    assert.match((await v.next('error')).message, /Too many messages/);
    await v.close();
  });
});

describe('daily message cap, 4 workers', () => {
  let p;
  before(async () => {
    p = new Parley({ workers: 4, mock: { chunks: 2 }, env: { RATE_LIMIT_MAX_REQUESTS: '0' } });
    await p.start();
  });
  after(async () => { await p.stop(); assert.deepEqual(p.problems, []); });

  test('exact across workers, kept across a storaged restart; the model is not called over it', async () => {
    const CAP = 7;
    const w = await createWidget(p, { daily_message_cap: CAP });
    const visitors = await Promise.all(Array.from({ length: 12 }, async () => {
      const v = await Visitor.open(p, w.widget_id);
      await v.next('session');
      return v;
    }));
    const before = (await p.mock.stats()).requests;
    const outcomes = await Promise.all(visitors.map(async (v, i) => {
      v.send({ type: 'message', content: `cap ${i}` });
      const m = await v.next();
      if (m.type === 'error') return 'capped';
      assert.equal(m.type, 'typing_start');
      for (;;) { const x = await v.next(); if (x.type === 'typing_stop') return 'answered'; }
    }));
    assert.equal(outcomes.filter((o) => o === 'answered').length, CAP);
    assert.equal(outcomes.filter((o) => o === 'capped').length, 12 - CAP);
    assert.equal((await p.mock.stats()).requests - before, CAP, 'the model was called only for the messages under the cap');
    // Logged once, by the message that reached it, not by the five refused.
    const said = `widget ${w.id} reached its daily cap of ${CAP} messages: it answers daily_limit until the next UTC day`;
    await waitFor(() => p.logs.storaged.includes(said), 10000, 'the cap logged');
    assert.equal(p.logs.storaged.split(said).length - 1, 1, p.logs.storaged);
    await Promise.all(visitors.map((v) => v.close()));

    await p.restartStoraged();
    const v = await Visitor.open(p, w.widget_id);
    await v.next('session');
    v.send({ type: 'message', content: 'after restart' });
    assert.match((await v.next('error')).message, /daily message limit/);
    await v.close();
  });
});
