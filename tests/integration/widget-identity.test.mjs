// Verified visitor identity (issue 26): a widget's identity secret (made,
// shown once, rotated, removed, audited, never in any other answer) and
// the WebSocket's identify, checked against it: one contact per external
// id across sessions, marked verified; a forged hash trusted nowhere; an
// identity_required widget refusing an unverified socket's writes.
// Every admin JSON answer is validated against the OpenAPI document.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { Parley, sleep, waitFor } from './lib/harness.mjs';
import { assertJsonError } from './lib/checks.mjs';
import { adminCall, checkerFor } from './lib/openapi.mjs';
import { chat } from './lib/chat.mjs';
import { upload } from './lib/attach.mjs';
import { Visitor } from './lib/wsclient.mjs';

const W = '/v1/admin/widgets';

describe('widget identity secret', () => {
  let p;
  let api;
  const call = (...a) => adminCall(p, api, ...a);

  async function create(body = {}) {
    const r = await call('POST', W, body);
    assert.equal(r.status, 201, r.text);
    return r.json();
  }

  before(async () => {
    p = new Parley({ workers: 2 });
    await p.start();
    api = await checkerFor(p);
  });
  after(async () => {
    if (p) await p.stop();
  });

  test('made, shown once, rotated, removed; never in a list or get; audited', async () => {
    const w = await create({ name: 'Identity' });
    assert.equal(w.identity_secret_set, false);
    const path = `${W}/${w.widget_id}/identity-secret`;
    const r1 = await call('POST', path);
    assert.equal(r1.status, 200, r1.text);
    const s1 = r1.json().identity_secret;
    assert.match(s1, /^[0-9a-f]{64}$/);
    assert.equal(r1.headers['cache-control'], 'no-store');
    // Rotation: a new one each time.
    const s2 = (await call('POST', path)).json().identity_secret;
    assert.match(s2, /^[0-9a-f]{64}$/);
    assert.notEqual(s2, s1);
    // Never shown again.
    const g = await call('GET', `${W}/${w.widget_id}`);
    assert.equal(g.json().identity_secret_set, true);
    const l = await call('GET', W);
    const cfg = await p.get(`/api/widget/${w.widget_id}/config`);
    for (const [what, text] of [['get', g.text], ['list', l.text], ['config', cfg.text]]) {
      assert.ok(!text.includes(s1) && !text.includes(s2), `${what}: no secret`);
      assert.ok(!text.includes('identity_secret"'), `${what}: no identity_secret field`);
    }
    // identity_required now allowed; removing the secret turns it off.
    const u = await call('PATCH', `${W}/${w.widget_id}`, { identity_required: true });
    assert.equal(u.status, 200, u.text);
    assert.equal(u.json().identity_required, true);
    assert.equal((await p.get(`/api/widget/${w.widget_id}/config`)).json().identity_required, true);
    // Other fields may change while it is required.
    assert.equal((await call('PATCH', `${W}/${w.widget_id}`, { name: 'Still' })).status, 200);
    const d = await call('DELETE', path);
    assert.equal(d.status, 200, d.text);
    assert.equal(d.json().identity_secret_set, false);
    assert.equal(d.json().identity_required, false);
    const again = await call('PATCH', `${W}/${w.widget_id}`, { identity_required: true });
    assert.match(assertJsonError(again, 400).error, /^identity_required: /);
    // Audited, without the secret.
    const a = await call('GET', '/v1/admin/audit?limit=50');
    assert.equal(a.status, 200, a.text);
    const acts = a.json().entries.filter((e) => e.target === w.widget_id).map((e) => e.action);
    assert.equal(acts.filter((x) => x === 'widget.identity_secret.set').length, 2);
    assert.equal(acts.filter((x) => x === 'widget.identity_secret.delete').length, 1);
    assert.ok(!a.text.includes(s1) && !a.text.includes(s2));
  });

  test('unknown widgets: 404; a secret cannot be set through create or PATCH', async () => {
    const unknown = `wid_${crypto.randomBytes(16).toString('hex')}`;
    for (const m of ['POST', 'DELETE']) {
      assertJsonError(await call(m, `${W}/${unknown}/identity-secret`), 404, 'Widget not found');
      assertJsonError(await call(m, `${W}/wid_nope/identity-secret`), 404, 'Widget not found');
    }
    const w = await create({});
    for (const body of [{ identity_secret: 'a'.repeat(64) }, { identity_secret_set: true }]) {
      const field = Object.keys(body)[0];
      assert.ok(assertJsonError(await call('POST', W, body), 400).error.startsWith(`${field}: `));
      assert.ok(assertJsonError(await call('PATCH', `${W}/${w.widget_id}`, body), 400).error.startsWith(`${field}: `));
    }
  });
});

describe('identify over the WebSocket', () => {
  let p;
  let api;
  const call = (...a) => adminCall(p, api, ...a);
  const mac = (secret, id) => crypto.createHmac('sha256', secret).update(id).digest('hex');

  async function widgetWithSecret(body = {}) {
    const w = (await call('POST', W, body)).json();
    const secret = (await call('POST', `${W}/${w.widget_id}/identity-secret`)).json().identity_secret;
    return { w, secret };
  }

  // A socket of w; v.token its session's token.
  async function open(w) {
    const v = await Visitor.open(p, w.widget_id);
    v.token = (await v.next('session')).session_token;
    return v;
  }

  async function identify(v, frame) {
    v.send({ type: 'identify', ...frame });
    return v.next('identity');
  }

  // The contact of external id ext (GET /v1/admin/contacts, then the contact).
  async function contactOf(ext) {
    const l = await call('GET', '/v1/admin/contacts?limit=100');
    assert.equal(l.status, 200, l.text);
    const c = l.json().contacts.filter((x) => x.external_id === ext);
    assert.ok(c.length <= 1, `one contact of ${ext}`);
    if (c.length === 0) return null;
    const g = await call('GET', `/v1/admin/contacts/${c[0].id}`);
    assert.equal(g.status, 200, g.text);
    return g.json();
  }

  async function conversationsOf(w) {
    const r = await p.admin('/v1/admin/conversations?limit=200');
    assert.equal(r.status, 200, r.text);
    return r.json().conversations.filter((c) => c.widgetId === w.id);
  }

  before(async () => {
    p = new Parley({ workers: 2, mock: true, env: { RATE_LIMIT_MAX_REQUESTS: '0' } });
    await p.start();
    api = await checkerFor(p);
  });
  after(async () => {
    if (p) await p.stop();
    assert.deepEqual(p.problems, []);
  });

  test('a verified id from two sessions is one contact, verified; a forged hash is neither', async () => {
    const { w, secret } = await widgetWithSecret({ name: 'Shop' });
    const id = `user-${crypto.randomBytes(4).toString('hex')}`;
    // Session 1 identifies before its first message: its session is made then.
    const v1 = await open(w);
    assert.deepEqual(await identify(v1, { id, name: 'Ada Lovelace', email: 'Ada@Example.com', hash: mac(secret, id) }),
      { type: 'identity', verified: true, required: false });
    await v1.turn('first device');
    // Session 2: a message first, then the identify links its conversation.
    const v2 = await open(w);
    await v2.turn('second device');
    assert.equal((await identify(v2, { id, hash: mac(secret, id) })).verified, true);
    const c = await contactOf(id);
    assert.ok(c, 'the contact of the external id');
    assert.equal(c.verified, true);
    assert.equal(c.external_id, id);
    assert.equal(c.name, 'Ada Lovelace');
    assert.equal(c.email, 'ada@example.com');
    assert.equal(c.conversations.length, 2);
    assert.ok(c.conversations.every((x) => x.contactVerified === true), 'linked verified');

    // Forged: a hash of another secret, a hash of another id, no hash, an upper-case hash.
    const v3 = await open(w);
    const bad = crypto.randomBytes(32).toString('hex');
    for (const hash of [mac(bad, id), mac(secret, `${id}x`), undefined, mac(secret, id).toUpperCase(), 'zz']) {
      assert.deepEqual(await identify(v3, { id, name: 'Mallory', hash }), { type: 'identity', verified: false, required: false });
    }
    await v3.turn('forged');
    const after = await contactOf(id);
    assert.equal(after.conversations.length, 2, 'the forged session is not linked');
    assert.equal(after.name, 'Ada Lovelace');
    const forged = (await conversationsOf(w)).find((x) => x.lastMessage && x.messageCount >= 1 && !after.conversations.some((y) => y._id === x._id));
    assert.ok(forged, 'the forged session has its own conversation');
    assert.equal(forged.contactId, null, 'not linked to any contact');
    for (const v of [v1, v2, v3]) v.close();

    // Rotated: the old secret's hash no longer verifies.
    await call('POST', `${W}/${w.widget_id}/identity-secret`);
    const v4 = await open(w);
    assert.equal((await identify(v4, { id, hash: mac(secret, id) })).verified, false);
    v4.close();
  });

  test('identity_required: an unverified socket\'s writes are refused and nothing is stored', async () => {
    const { w, secret } = await widgetWithSecret({ handoff_enabled: true, contact_info_mode: 'optional', collect_email: true,
      attachment_types: ['text'] });
    assert.equal((await call('PATCH', `${W}/${w.widget_id}`, { identity_required: true })).status, 200);
    const v = await open(w);
    const { token } = v;
    const refused = async (frame) => {
      v.send(frame);
      assert.deepEqual(await v.next('error'), { type: 'error', message: 'Identity required', frame: frame.type }, JSON.stringify(frame));
    };
    await refused({ type: 'message', content: 'hello' });
    await refused({ type: 'contact_info', email: 'x@example.com' });
    await refused({ type: 'request_human' });
    const id = 'required-user';
    assert.deepEqual(await identify(v, { id, hash: mac(secret, 'other') }), { type: 'identity', verified: false, required: true });
    await refused({ type: 'message', content: 'hello again' });
    // Its files too (a socket's session, or one never stored).
    for (const tok of [token, 'x'.repeat(43)]) {
      const up = await upload(p, w.widget_id, tok, 'notes.txt', Buffer.from('some notes\n'));
      assert.equal(up.status, 403, JSON.stringify(up.json));
      assert.equal(up.json.error, 'Identity required');
    }
    assert.deepEqual(await conversationsOf(w), [], 'nothing stored');
    assert.equal(await contactOf(id), null);
    // Verified: it may chat, and send files.
    assert.deepEqual(await identify(v, { id, hash: mac(secret, id) }), { type: 'identity', verified: true, required: true });
    await v.turn('hello, verified');
    assert.equal((await upload(p, w.widget_id, token, 'notes.txt', Buffer.from('some notes\n'))).status, 200);
    const c = await contactOf(id);
    assert.equal(c.verified, true);
    assert.equal(c.conversations.length, 1);
    v.close();
  });

  test('identity_required turned on: sockets open before it are refused too, by storaged', async () => {
    const { w, secret } = await widgetWithSecret({ contact_info_mode: 'optional', collect_email: true });
    const old = await open(w);
    await old.turn('before the switch');
    const fresh = await open(w);
    const ok = await open(w);
    assert.deepEqual(await identify(ok, { id: 'switch-user', hash: mac(secret, 'switch-user') }), { type: 'identity', verified: true, required: false });
    assert.equal((await call('PATCH', `${W}/${w.widget_id}`, { identity_required: true })).status, 200);
    const refused = async (v, frame) => {
      v.send(frame);
      assert.deepEqual(await v.next('error'), { type: 'error', message: 'Identity required', frame: frame.type }, JSON.stringify(frame));
    };
    // A stored session and a new visitor, each told required: false at its
    // open, are told required: true with storaged's refusal, once.
    for (const [v, who] of [[old, 'old'], [fresh, 'fresh']]) {
      v.send({ type: 'message', content: `${who}: after the switch` });
      assert.deepEqual(await v.next(), { type: 'identity', verified: false, required: true }, who);
      assert.deepEqual(await v.next(), { type: 'error', message: 'Identity required', frame: 'message' }, who);
      await refused(v, { type: 'contact_info', email: `${who}@example.com` });
    }
    const convs = await conversationsOf(w);
    assert.equal(convs.length, 1, 'only the conversation from before');
    const g = await p.admin(`/v1/admin/conversations/${convs[0]._id}`);
    assert.equal(g.json().messages.filter((m) => m.role === 'user').length, 1);
    // The verified socket chats on.
    await ok.turn('verified, after the switch');
    await Promise.all([old, fresh, ok].map((v) => v.close()));
  });

  // The other way: a socket opened while the widget took verified visitors
  // only refused its writes itself, and nothing ever told it the owner
  // turned that off, so it refused until a reload (reviewer 61). Its
  // message goes to storaged, which checks the widget as it is now: the
  // page is told required false, the message answered, the rest taken.
  test('identity_required turned off: a socket opened before it chats from its next message', async () => {
    const { w } = await widgetWithSecret({ handoff_enabled: true, contact_info_mode: 'optional', collect_email: true });
    assert.equal((await call('PATCH', `${W}/${w.widget_id}`, { identity_required: true })).status, 200);
    const v = await open(w);
    for (const frame of [{ type: 'message', content: 'before the switch' }, { type: 'request_human' }]) {
      v.send(frame);
      assert.deepEqual(await v.next('error'), { type: 'error', message: 'Identity required', frame: frame.type }, JSON.stringify(frame));
    }
    // Bounded: refused messages ask storaged at most once a second.
    const begins = async () => {
      const r = await p.get('/metrics', { headers: { 'x-admin-api-key': p.adminKey } });
      return Number((/^parley_storage_requests_total\{type="ST_WS_BEGIN"\} (\d+)$/m.exec(r.text) || [0, 0])[1]);
    };
    const before = await begins();
    const t0 = Date.now();
    for (let i = 0; i < 30; i++) v.send({ type: 'message', content: `unverified ${i}` });
    for (let i = 0; i < 30; i++) assert.deepEqual(await v.next('error'), { type: 'error', message: 'Identity required', frame: 'message' });
    const asked = (await begins()) - before;
    assert.ok(asked <= 2 + Math.floor((Date.now() - t0) / 1000), `30 refused messages asked storaged ${asked} times`);
    assert.equal((await call('PATCH', `${W}/${w.widget_id}`, { identity_required: false })).status, 200);
    // A second after storaged's last refusal, a message asks it again.
    await sleep(1100);
    v.send({ type: 'message', content: 'after the switch' });
    assert.deepEqual(await v.next(), { type: 'identity', verified: false, required: false });
    await v.next('typing_start');
    while ((await v.next()).type !== 'typing_stop');
    v.send({ type: 'contact_info', email: 'after@example.com' });
    assert.equal((await v.next()).type, 'contact_info_saved');
    v.send({ type: 'request_human' });
    assert.equal((await v.next('handoff')).state, 'waiting_human');
    const convs = await conversationsOf(w);
    assert.equal(convs.length, 1);
    v.close();
  });

  // A widget of body with a secret; a's session verified, a turn on it,
  // then the secret rotated: {w, a, b (another id), v, s2 (the new
  // secret), again() (a socket on a's session, its history read)}.
  async function rotatedAfterHers(body) {
    const { w, secret } = await widgetWithSecret(body);
    const a = `a-${crypto.randomBytes(4).toString('hex')}`;
    const b = `b-${crypto.randomBytes(4).toString('hex')}`;
    const v = await open(w);
    assert.equal((await identify(v, { id: a, hash: mac(secret, a) })).verified, true);
    await v.turn('my account number is 12345');
    v.close();
    const s2 = (await call('POST', `${W}/${w.widget_id}/identity-secret`)).json().identity_secret;
    const again = async () => {
      const x = await Visitor.open(p, w.widget_id, { token: v.token });
      await x.next('session');
      await x.next('history');
      return x;
    };
    return { w, a, b, v, s2, again };
  }

  test('a session verified as one id stays hers after a rotation: another id\'s identify on it is taken, her conversations stay', async () => {
    const { a, b, s2, again } = await rotatedAfterHers();
    // Another signed-in user on the same browser session, signed with the new secret.
    const vb = await again();
    assert.deepEqual(await identify(vb, { id: b, hash: mac(s2, b) }), { type: 'identity', verified: false, required: false, taken: true });
    vb.close();
    assert.equal((await contactOf(a)).conversations.length, 1, 'her conversation moved away');
    assert.equal(await contactOf(b), null, 'the other id given her session');
    // She herself, with the new secret, is verified again on it.
    const va = await again();
    assert.deepEqual(await identify(va, { id: a, hash: mac(s2, a) }), { type: 'identity', verified: true, required: false });
    assert.equal((await contactOf(a)).conversations.length, 1);
    va.close();
  });

  test('after a rotation, her session\'s contact form moves nothing: another id\'s identify is still taken, erasing her erases her conversation', async () => {
    const { w, a, b, s2, again } = await rotatedAfterHers({ contact_info_mode: 'optional', collect_email: true });
    const vz = await again();
    vz.send({ type: 'contact_info', email: 'zed@example.com' });
    assert.equal((await vz.next()).type, 'contact_info_saved');
    assert.equal((await contactOf(a)).conversations.length, 1, 'her conversation stays hers');
    assert.deepEqual(await identify(vz, { id: b, hash: mac(s2, b) }), { type: 'identity', verified: false, required: false, taken: true });
    vz.close();
    assert.equal(await contactOf(b), null);
    const er = await call('DELETE', `/v1/admin/contacts/${(await contactOf(a)).id}?erase=all`);
    assert.equal(er.status, 200, er.text);
    await waitFor(async () => (await conversationsOf(w)).length === 0, 10000, 'her conversation erased with her');
  });

  test('her contact deleted (not erased): her session is nobody else\'s, another id\'s identify on it is taken', async () => {
    const { w, secret } = await widgetWithSecret();
    assert.equal((await call('PATCH', `${W}/${w.widget_id}`, { identity_required: true })).status, 200);
    const a = `a-${crypto.randomBytes(4).toString('hex')}`;
    const b = `b-${crypto.randomBytes(4).toString('hex')}`;
    const v = await open(w);
    assert.equal((await identify(v, { id: a, hash: mac(secret, a) })).verified, true);
    await v.turn('hello from a');
    assert.equal((await call('DELETE', `/v1/admin/contacts/${(await contactOf(a)).id}`)).status, 200);
    v.close();
    const vb = await Visitor.open(p, w.widget_id, { token: v.token });
    await vb.next('session');
    await vb.next('history');
    assert.deepEqual(await identify(vb, { id: b, hash: mac(secret, b) }), { type: 'identity', verified: false, required: true, taken: true });
    vb.close();
    assert.equal(await contactOf(b), null, 'her conversation not given to another id');
  });

  test('a secret changed or removed: a verification made with the old one no longer counts', async () => {
    const { w, secret } = await widgetWithSecret();
    assert.equal((await call('PATCH', `${W}/${w.widget_id}`, { identity_required: true })).status, 200);
    const id = 'rotated-user';
    const v = await open(w);
    assert.deepEqual(await identify(v, { id, hash: mac(secret, id) }), { type: 'identity', verified: true, required: true });
    await v.turn('verified with the first secret');
    // The owner rotates it (it leaked): the socket, verified with the old
    // one, is refused by storaged, the page told it is no longer verified
    // (before the error, so it may identify again), and then by itself.
    const s2 = (await call('POST', `${W}/${w.widget_id}/identity-secret`)).json().identity_secret;
    v.send({ type: 'message', content: 'after the rotation' });
    assert.deepEqual(await v.next(), { type: 'identity', verified: false, required: true });
    assert.deepEqual(await v.next(), { type: 'error', message: 'Identity required', frame: 'message' });
    for (const frame of [{ type: 'contact_info', email: 'rot@example.com' }, { type: 'message', content: 'again' }]) {
      v.send(frame);
      assert.deepEqual(await v.next('error'), { type: 'error', message: 'Identity required', frame: frame.type }, JSON.stringify(frame));
    }
    // The old secret's hash verifies nothing; the new one's does, on the same socket.
    assert.deepEqual(await identify(v, { id, hash: mac(secret, id) }), { type: 'identity', verified: false, required: true });
    assert.deepEqual(await identify(v, { id, hash: mac(s2, id) }), { type: 'identity', verified: true, required: true });
    await v.turn('verified with the second secret');
    assert.equal((await contactOf(id)).conversations.length, 1);

    // Removed (identity_required goes off with it): the socket chats on,
    // unverified, the page told so before its answer, so it may identify
    // again (not 'already verified'), and its next conversation is no
    // verified link of the contact.
    assert.equal((await call('DELETE', `${W}/${w.widget_id}/identity-secret`)).status, 200);
    v.send({ type: 'message', content: 'after the removal' });
    assert.deepEqual(await v.next(), { type: 'identity', verified: false, required: false });
    await v.next('typing_start');
    let m;
    do m = await v.next(); while (m.type !== 'typing_stop');
    await v.turn('told once: an unverified socket is not told again');
    assert.deepEqual(await identify(v, { id, hash: mac(s2, id) }), { type: 'identity', verified: false, required: false });
    v.send({ type: 'new_conversation' });
    await v.next('conversation_new');
    await v.turn('a new conversation, unverified');
    const links = (await contactOf(id)).conversations;
    assert.equal(links.length, 2);
    assert.deepEqual(links.map((x) => x.contactVerified).sort(), [false, true]);
    v.close();
  });

  // The page may identify again (ParleyChat.identify() while connected: an
  // SPA's sign-in). The same id is answered as the first time; another
  // user's is taken, and the socket is no longer the first one's: its
  // writes are refused until it identifies (it was "identify: already
  // verified", the socket still A's, B chatting in A's verified session).
  test('identify again on a verified socket: the same id as the first time; another id taken, the socket verified no more', async () => {
    const { w, secret } = await widgetWithSecret();
    assert.equal((await call('PATCH', `${W}/${w.widget_id}`, { identity_required: true })).status, 200);
    const a = `spa-a-${crypto.randomBytes(3).toString('hex')}`;
    const b = `spa-b-${crypto.randomBytes(3).toString('hex')}`;
    const v = await open(w);
    const verifiedA = { type: 'identity', verified: true, required: true };
    assert.deepEqual(await identify(v, { id: a, hash: mac(secret, a) }), verifiedA);
    await v.turn('as A');
    assert.deepEqual(await identify(v, { id: a, hash: mac(secret, a) }), verifiedA, 'the same id: as the first time');
    await v.turn('still A');
    assert.deepEqual(await identify(v, { id: b, hash: mac(secret, b) }),
      { type: 'identity', verified: false, required: true, taken: true });
    v.send({ type: 'message', content: 'B in A\'s session' });
    const e = await v.next('error');
    assert.equal(e.message, 'Identity required', JSON.stringify(e));
    // A wrong hash for A's own id unverifies as well: the answer is the state.
    assert.deepEqual(await identify(v, { id: a, hash: mac(secret, a) }), verifiedA);
    assert.deepEqual(await identify(v, { id: a, hash: mac(secret, b) }), { type: 'identity', verified: false, required: true });
    v.send({ type: 'message', content: 'unverified again' });
    assert.equal((await v.next('error')).message, 'Identity required');
    assert.equal((await contactOf(a)).conversations.length, 1);
    assert.equal(await contactOf(b), null, 'B is nobody\'s contact: nothing of A\'s given to B');
    v.close();
  });

  test('identity_required on the default widget: the HTTP chat API, which carries no identity, is refused', async () => {
    const def = (await call('GET', W)).json().widgets[0];
    assert.equal(def.id, 'default');
    const D = `${W}/${def.widget_id}`;
    assert.equal((await call('POST', `${D}/identity-secret`)).status, 200);
    assert.equal((await call('PATCH', D, { identity_required: true })).status, 200);
    const session = `http-${crypto.randomBytes(4).toString('hex')}`;
    try {
      for (const path of ['/v1/chat', '/v1/chat/stream', '/chat']) {
        assertJsonError(await chat(p, session, `unverified via ${path}`, { path }), 403, 'Identity required');
      }
      const h = await p.get(`/v1/chat/history?sessionId=${session}`, { headers: { 'x-api-key': p.widgetKey } });
      assert.equal(h.status, 200, h.text);
      assert.deepEqual(h.json().messages, [], 'nothing stored');
    } finally {
      // Removing the secret turns identity_required off: the HTTP API answers again.
      assert.equal((await call('DELETE', `${D}/identity-secret`)).status, 200);
    }
    const r = await chat(p, session, 'now open');
    assert.equal(r.status, 200, r.text);
  });

  // The expiring form: expires (Unix seconds) signed with the id, as
  // "exp:" + expires + ":" + id. An hour either side of now is well clear
  // of storaged's 60 s of allowed clock skew.
  const xmac = (secret, exp, id) => mac(secret, `exp:${exp}:${id}`);
  const nowS = () => Math.floor(Date.now() / 1000);

  test('an expiring hash verifies before its expiry, never after; neither form passes for the other', async () => {
    const { w, secret } = await widgetWithSecret();
    const id = 'expiring-user';
    const later = nowS() + 3600;
    const past = nowS() - 3600;
    const v = await open(w);
    assert.deepEqual(await identify(v, { id, expires: later, hash: xmac(secret, later, id) }),
      { type: 'identity', verified: true, required: false });
    const c = await contactOf(id);
    assert.equal(c.verified, true);
    v.close();
    const v2 = await open(w);
    const unverified = { type: 'identity', verified: false, required: false };
    for (const frame of [
      // replayed after its expiry
      { id, expires: past, hash: xmac(secret, past, id) },
      // the plain hash with an expires added
      { id, expires: later, hash: mac(secret, id) },
      // the expiring hash without its expires
      { id, hash: xmac(secret, later, id) },
      // another expires than the one signed
      { id, expires: later + 1, hash: xmac(secret, later, id) },
    ]) assert.deepEqual(await identify(v2, frame), unverified, JSON.stringify(frame));
    // Without expires, as before.
    assert.deepEqual(await identify(v2, { id, hash: mac(secret, id) }), { type: 'identity', verified: true, required: false });
    v2.close();
    // An id that begins with "exp:" never verifies in the plain form.
    const v3 = await open(w);
    const odd = `exp:${later}:${id}`;
    assert.deepEqual(await identify(v3, { id: odd, hash: mac(secret, odd) }), unverified);
    assert.equal(await contactOf(odd), null);
    v3.close();
  });

  test('identity_required: an expired identify leaves the socket\'s writes refused, nothing stored', async () => {
    const { w, secret } = await widgetWithSecret();
    assert.equal((await call('PATCH', `${W}/${w.widget_id}`, { identity_required: true })).status, 200);
    const id = 'expired-required-user';
    const past = nowS() - 3600;
    const v = await open(w);
    assert.deepEqual(await identify(v, { id, expires: past, hash: xmac(secret, past, id) }),
      { type: 'identity', verified: false, required: true });
    for (const frame of [{ type: 'message', content: 'hello' }, { type: 'contact_info', email: 'x@example.com' }]) {
      v.send(frame);
      assert.deepEqual(await v.next('error'), { type: 'error', message: 'Identity required', frame: frame.type }, JSON.stringify(frame));
    }
    assert.deepEqual(await conversationsOf(w), [], 'nothing stored');
    assert.equal(await contactOf(id), null);
    // A fresh one verifies.
    const later = nowS() + 3600;
    assert.deepEqual(await identify(v, { id, expires: later, hash: xmac(secret, later, id) }),
      { type: 'identity', verified: true, required: true });
    await v.turn('hello, verified');
    v.close();
  });

  test('bad expires: an error naming the field', async () => {
    const { w, secret } = await widgetWithSecret();
    const v = await open(w);
    const msg = 'expires: must be an integer, 1 to 2^40 (Unix seconds)';
    for (const expires of ['1767225600', 1767225600.5, -1, 0, 2 ** 40 + 1, true, [1], { at: 1 }]) {
      v.send({ type: 'identify', id: 'a', hash: mac(secret, 'a'), expires });
      assert.deepEqual(await v.next('error'), { type: 'error', message: msg, frame: 'identify' }, JSON.stringify(expires));
    }
    // Its bounds themselves are taken (an expiry long past, or far ahead).
    assert.equal((await identify(v, { id: 'a', expires: 1, hash: xmac(secret, 1, 'a') })).verified, false);
    assert.equal((await identify(v, { id: 'a', expires: 2 ** 40, hash: xmac(secret, 2 ** 40, 'a') })).verified, true);
    // null is no expires, as for the other fields.
    assert.equal((await identify(v, { id: 'a', expires: null, hash: mac(secret, 'a') })).verified, true);
    v.close();
  });

  test('bad identify frames: a clear error, bounded per socket', async () => {
    const { w, secret } = await widgetWithSecret();
    const v = await open(w);
    for (const [frame, msg] of [
      [{ id: '' }, 'id: must be 1 to 128 characters'],
      [{}, 'id: must be 1 to 128 characters'],
      [{ id: 'x'.repeat(129) }, 'id: must be 1 to 128 characters'],
      [{ id: 5 }, 'id: must be a string'],
      [{ id: 'a', name: 'n'.repeat(201) }, 'name: must be at most 200 characters'],
      [{ id: 'a', email: 'not an email' }, 'email: not a valid address'],
      [{ id: 'a', hash: ['x'] }, 'hash: must be a string'],
    ]) {
      v.send({ type: 'identify', ...frame });
      assert.deepEqual(await v.next('error'), { type: 'error', message: msg, frame: 'identify' }, JSON.stringify(frame));
    }
    // 128 characters (not bytes) is fine.
    const long = 'é'.repeat(128);
    for (let i = 0; i < 5; i++) assert.equal((await identify(v, { id: long, hash: mac(secret, 'nope') })).verified, false);
    v.send({ type: 'identify', id: long, hash: mac(secret, long) });
    assert.deepEqual(await v.next('error'), { type: 'error', message: 'identify: at most 5 a connection', frame: 'identify' });
    v.close();
  });
});
