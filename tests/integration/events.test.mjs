// storaged's live events (issue 15) over its own socket, as a worker sees
// them: subscription levels, events pushed after their commit and
// numbered, typing never kept, the HUMAN begin answered once, ST_EV_SINCE
// (and "gone" for another run's epoch), and a subscriber that stops
// reading: unsubscribed at 16 MiB queued, told ST_EV_LOST behind what it
// had, able to subscribe again and catch up, while storaged goes on. And
// the workers' streams (GET /v1/admin/events) counted per organisation
// and per key, so one organisation cannot take every stream, and ended
// with the key deleted or the session logged out that opened them, or
// the session a login past its user's cap ended.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';

import { Parley, startParley, waitFor } from './lib/harness.mjs';
import { COOKIE, login, PASSWORD } from './lib/dashboard.mjs';
import { Events } from './lib/events.mjs';
import { addKey } from './lib/people.mjs';
import { Dec, Enc, F, T, decAgent, decEvent } from './lib/storage.mjs';

const KIND = { CREATED: 1, MESSAGE: 2, HANDOFF: 3, TYPING: 5 };
const ST_DASH_LOGIN = 0x33;

// An event's payload as the harness reads it (lib/storage.mjs).
const decEv = (payload) => decEvent(new Dec(payload));

// An HTTP-chat begin for session sid: the result and, when stored, the
// conversation's id (what the answer says of it, with the visitor's language).
async function begin(cl, sid, text, flags = 0) {
  const payload = new Enc().str('default').str(sid).str(text).str('').u32(0).u32(0).u32(10)
    .str('').str('').str('').str('').str('')	// the widget told nothing of its visitor
    .u32(0).u32(0).done();	// no session hash, no attachments
  const frames = await cl.frames(T.ST_CHAT_BEGIN, payload, flags);
  const d = new Dec(frames[0].payload);
  const result = d.u8();
  d.u64();
  if (result !== 0 && result !== 4) return { result, frames };
  decAgent(d);
  d.u8();
  const conv = { id: d.str(), visitor: { language: d.str() } };
  return { result, frames, conv };
}

// A reply reflects the requests before it in its batch (one txn): their
// events come before it, the later ones' after, so that a worker reading
// a conversation (a socket's resume) and then following its events sees
// each message once. Two requests in one write are one batch.
test('events: a read answered in the batch of a write gets the write\'s event before its reply when after it, after when before', { timeout: 30000 }, async (t) => {
  const p = await startParley(t, { workers: 1 });
  const cl = await p.storage({ name: 'ev-order' });
  t.after(() => cl.close());
  await cl.call(T.ST_EV_SUBSCRIBE, new Enc().u8(2).done());
  const b = await begin(cl, 'evo', 'hello');
  assert.equal(b.result, 0);
  const conv = b.conv.id;
  await waitFor(async () => cl.events.length >= 2, 5000, 'the begin\'s events');
  cl.events.length = 0;
  // Asked in one write, in the given order: what came back, in order.
  const name = { [T.ST_MSG_APPEND]: 'append', [T.ST_CONV_GET]: 'get', [T.ST_EV]: 'ev' };
  const both = async (first) => {
    const write = () => cl.msgAppend(conv, 'assistant', `answer ${first}`);
    cl.order = [];
    cl.sock.cork();
    let wrote, read;
    if (first === 'write') {
      wrote = write();
      read = cl.convGet(conv);
    } else {
      read = cl.convGet(conv);
      wrote = write();
    }
    cl.sock.uncork();
    const [, got] = await Promise.all([wrote, read]);
    await waitFor(async () => cl.order.includes(`event ${T.ST_EV}`), 5000, 'the write\'s event');
    const order = cl.order.map((o) => o.replace(/\d+$/, (t) => name[t]));
    cl.order = null;
    cl.events.length = 0;
    return { order, shown: got.messages.map((m) => m.content) };
  };
  const w = await both('write');
  assert.deepEqual(w.order, ['reply append', 'event ev', 'reply get'], 'the read saw the message: its event before the read\'s reply');
  assert.ok(w.shown.includes('answer write'));
  const r = await both('read');
  assert.deepEqual(r.order, ['reply get', 'reply append', 'event ev'], 'the read did not see it: its event after');
  assert.ok(!r.shown.includes('answer read'));
});

test('events: levels, pushed after commit, numbered, since', { timeout: 30000 }, async (t) => {
  const p = await startParley(t, { workers: 1 });
  const all = await p.storage({ name: 'ev-all' });
  const vis = await p.storage({ name: 'ev-vis' });
  const cl = await p.storage({ name: 'ev-client' });
  t.after(() => { all.close(); vis.close(); cl.close(); });
  const raw = await all.call(T.ST_EV_SUBSCRIBE, new Enc().u8(2).done());
  const epoch = raw.subarray(0, 8);
  const last0 = new Dec(raw.subarray(8)).u64();
  await vis.call(T.ST_EV_SUBSCRIBE, new Enc().u8(1).done());

  const b = await begin(cl, 'evs', 'hello');
  assert.equal(b.result, 0);
  const e1 = decEv((await all.nextEvent()).payload);
  const e2 = decEv((await all.nextEvent()).payload);
  assert.deepEqual([e1.kind, e2.kind], [KIND.CREATED, KIND.MESSAGE]);
  assert.deepEqual([e1.seq, e2.seq], [last0 + 1, last0 + 2]);
  assert.equal(e2.msg.content, 'hello');
  const conv = e1.conv.id;
  assert.equal(conv, b.conv.id);

  // A person takes over, replies and types: visitors get these three
  // (not the HTTP API's message: its conversation has no socket).
  await cl.call(T.ST_HANDOFF_SET, new Enc().str(conv).u8(2).str('Ana').u8(0).done());
  await cl.call(T.ST_AGENT_MSG, new Enc().str(conv).str('hi from Ana').str('Ana').u32(0).done());
  await cl.call(T.ST_TYPING, new Enc().str(conv).u8(1).str('Ana').done());
  const v = [];
  for (let i = 0; i < 3; i++) v.push(decEv((await vis.nextEvent()).payload));
  assert.deepEqual(v.map((e) => e.kind), [KIND.HANDOFF, KIND.MESSAGE, KIND.TYPING]);
  assert.equal(v[0].state, 2);
  assert.equal(v[1].msg.name, 'Ana');
  assert.equal(v[1].msg.role, 'agent');
  assert.equal(v[2].seq, 0, 'typing is not numbered');
  assert.equal(v[0].seq, last0 + 3);

  // While a person answers, a begin stores the message and is answered
  // once, after its commit, even when asked early.
  const h = await begin(cl, 'evs', 'to Ana', F.EARLY);
  assert.equal(h.frames.length, 1);
  assert.equal(h.result, 4);

  // Since: the ring from last0; another run's epoch is gone.
  const since = (ep, seq) => Buffer.concat([ep, new Enc().u64(seq).u32(100).str('default').done()]);
  const s = new Dec(await cl.call(T.ST_EV_SINCE, since(epoch, last0)));
  assert.equal(s.u8(), 0);
  s.u64();
  const last = s.u64();
  assert.equal(s.u32(), last - last0);
  const other = Buffer.from(epoch);
  other[7] ^= 1;
  assert.equal(new Dec(await cl.call(T.ST_EV_SINCE, since(other, 0))).u8(), 1);
});

test('events: a subscriber that stops reading is dropped and told, and subscribes again', { timeout: 60000 }, async (t) => {
  const p = await startParley(t, { workers: 1 });
  const slow = await p.storage({ name: 'ev-slow' });
  const cl = await p.storage({ name: 'ev-client' });
  t.after(() => { slow.close(); cl.close(); });
  await slow.call(T.ST_EV_SUBSCRIBE, new Enc().u8(2).done());
  slow.sock.pause();
  const { conv } = await begin(cl, 'slow', 'hello');
  // 17 MiB of events for a reader that reads none: more than 16 MiB queued.
  const big = 'x'.repeat(65000);
  const n = 275;
  const t0 = Date.now();
  for (let i = 0; i < n; i++) await cl.call(T.ST_AGENT_MSG, new Enc().str(conv.id).str(big).str('Ana').u32(0).done(), { timeout: 20000 });
  t.diagnostic(`${n} agent messages of 65000 bytes in ${Date.now() - t0} ms`);
  await p.waitLog('storaged', /events unsubscribed/);
  // storaged went on meanwhile.
  await cl.call(T.ST_PING);

  slow.sock.resume();
  let got = 0;
  let lost = false;
  let lastSeq = 0;
  while (!lost) {
    const ev = await slow.nextEvent({ timeout: 10000 });
    if (ev.type === T.ST_EV_LOST) { lost = true; continue; }
    assert.equal(ev.type, T.ST_EV);
    lastSeq = decEv(ev.payload).seq;
    got++;
  }
  assert.ok(got > 0 && got < n + 2, `${got} events before ST_EV_LOST`);
  // Subscribed again, it catches up from its last event and gets new ones.
  const raw = await slow.call(T.ST_EV_SUBSCRIBE, new Enc().u8(2).done());
  const s = new Dec(await slow.call(T.ST_EV_SINCE, Buffer.concat([raw.subarray(0, 8), new Enc().u64(lastSeq).u32(10).str('default').done()]), { timeout: 20000 }));
  assert.equal(s.u8(), 0, 'what it missed is still in the ring');
  s.u64();
  assert.ok(s.u64() > lastSeq);
  assert.ok(s.u32() > 0);
  await cl.call(T.ST_AGENT_MSG, new Enc().str(conv.id).str('after').str('Ana').u32(0).done());
  const after = decEv((await slow.nextEvent({ timeout: 10000 })).payload);
  assert.equal(after.msg.content, 'after');
  t.diagnostic(`${got} events read before ST_EV_LOST; ${n + 2 - got} missed, read back with ST_EV_SINCE`);
});

// Live event streams are counted per organisation and per key (one worker,
// 20 streams in all): one organisation's agent-role keys get 16, each key
// 4, the rest 429 naming the cap; another organisation's dashboard is served.
test('event streams: one organisation cannot take them all; caps per organisation (16) and per key (4) named', { timeout: 60000 }, async (t) => {
  const p = new Parley({ workers: 1, env: { DASHBOARD_PASSWORD: PASSWORD, ADMIN_EVENTS_MAX_CLIENTS: '20' } });
  t.after(() => p.stop());
  await p.start();
  // A query that does not read is refused before any stream opens.
  for (const q of ['?%zz', '?last_event_id=%zz']) {
    const bad = await p.request('GET', `/v1/admin/events${q}`, { headers: { 'x-admin-api-key': p.adminKey } });
    assert.equal(bad.status, 400, q);
    assert.equal(bad.json().error, 'Invalid query parameters');
  }
  let r = await p.request('POST', '/v1/admin/organizations', {
    headers: { 'x-admin-api-key': p.adminKey, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'Noisy' }),
  });
  assert.equal(r.status, 201, r.text);
  const org = r.json().id;
  const keys = [];
  for (let i = 0; i < 5; i++) keys.push((await addKey(p, { org, role: 'agent' })).key);
  const open = [];
  const statuses = [];
  for (const key of keys) {
    for (let i = 0; i < 5; i++) {
      const e = await Events.open(p, { key: false, headers: { 'x-admin-api-key': key } });
      statuses.push(e.status);
      if (e.status === 200) { open.push(e); continue; }
      assert.equal(e.status, 429);
      await waitFor(() => e.ended, 5000, 'the refusal read');
      const want = open.length >= 16 ? 'Too many live event streams for this organisation (16)' : 'Too many live event streams for this user (4)';
      assert.deepEqual(JSON.parse(e.text), { error: want });
      e.close();
    }
  }
  assert.equal(statuses.filter((s) => s === 200).length, 16, `statuses ${statuses}`);
  assert.deepEqual(statuses.slice(0, 5), [200, 200, 200, 200, 429]);
  // Another organisation (the default one): its dashboard and its install key are served.
  const sess = await login(p);
  const dash = await Events.open(p, { key: false, headers: { Cookie: sess.cookieHeader } });
  assert.equal(dash.status, 200);
  await waitFor(() => dash.lastId !== null, 5000, 'the dashboard stream starts');
  const install = await Events.open(p);
  assert.equal(install.status, 200);
  for (const e of [...open, dash, install]) e.close();
  // Closed streams are given back to the organisation.
  await waitFor(async () => {
    const e = await Events.open(p, { key: false, headers: { 'x-admin-api-key': keys[4] } });
    e.close();
    return e.status === 200;
  }, 5000, 'a stream once the others closed');
});

// A stream's credential is checked once, when it opens: a key deleted or
// a session logged out ends the streams opened with it at once (the
// pings would keep them open for good), on every worker; the same
// user's other session keeps its stream.
test('event streams end with their key\'s deletion, their session\'s logout and its expiry; another session\'s stays', { timeout: 60000 }, async (t) => {
  const p = new Parley({ workers: 2, mock: true, env: { DASHBOARD_PASSWORD: PASSWORD } });
  t.after(() => p.stop());
  await p.start();
  const k = await addKey(p, { role: 'agent' });
  const other = await addKey(p, { role: 'agent' });
  const byKey = [];
  for (let i = 0; i < 2; i++) byKey.push(await Events.open(p, { key: false, headers: { 'x-admin-api-key': k.key } }));
  const byOther = await Events.open(p, { key: false, headers: { 'x-admin-api-key': other.key } });
  const s1 = await login(p);
  const s2 = await login(p);
  const byS1 = await Events.open(p, { key: false, headers: { Cookie: s1.cookieHeader } });
  const byS2 = await Events.open(p, { key: false, headers: { Cookie: s2.cookieHeader } });
  const all = [...byKey, byOther, byS1, byS2];
  for (const e of all) assert.equal(e.status, 200);
  await waitFor(() => all.every((e) => e.lastId !== null), 5000, 'every stream started');

  let r = await p.request('DELETE', `/v1/admin/api-keys/${k.id}`, { headers: { 'x-admin-api-key': p.adminKey } });
  assert.equal(r.status, 200, r.text);
  await waitFor(() => byKey.every((e) => e.ended), 5000, 'the deleted key\'s streams ended');
  r = await s1.request('POST', '/dashboard/api/logout');
  assert.equal(r.status, 204, r.text);
  await waitFor(() => byS1.ended, 5000, 'the logged-out session\'s stream ended');
  // What else was open goes on: a new conversation reaches it.
  r = await p.request('POST', '/v1/chat', { headers: { 'x-api-key': p.widgetKey, 'Content-Type': 'application/json' },
    body: JSON.stringify({ sessionId: 'after-revocation', message: 'hello' }) });
  assert.equal(r.status, 200, r.text);
  for (const e of [byOther, byS2]) {
    await e.take((x) => x.event === 'conversation', 5000, 'the new conversation');
    assert.equal(e.ended, false);
  }
  for (const e of all) e.close();

  // A session that ends by its expiry, as its 7 days do (stored here
  // with 2 s left, over storaged's own socket): its stream ends then.
  const owner = (await s2.get('/dashboard/api/session')).json().user;
  const st = await p.storage();
  const id = crypto.randomBytes(32);
  try {
    await st.call(ST_DASH_LOGIN, new Enc().bytes(crypto.createHash('sha256').update(id).digest())
      .str(crypto.randomBytes(32).toString('hex')).str(owner.id).u64(Date.now() + 2000).bytes(Buffer.alloc(0)).done());
  } finally { st.close(); }
  const brief = await Events.open(p, { key: false, headers: { Cookie: `${COOKIE}=${id.toString('hex')}` } });
  assert.equal(brief.status, 200);
  await waitFor(() => brief.ended, 10000, 'the expired session\'s stream ended');
  assert.equal((await p.get('/dashboard/api/session', { headers: { Cookie: `${COOKIE}=${id.toString('hex')}` } })).status, 401);
  brief.close();
});

// A login past its user's cap (ST_DASH_USER_SESSIONS_MAX, 20) ends that
// user's session that expires first: its stream ends too, at once, as a
// logout's does (ST_EV_CRED_GONE); the user's other session keeps its.
test('a session a login ended to make room ends its event stream', { timeout: 60000 }, async (t) => {
  const p = new Parley({ workers: 2, mock: true, env: { DASHBOARD_PASSWORD: PASSWORD } });
  t.after(() => p.stop());
  await p.start();
  const s1 = await login(p);
  const s2 = await login(p);
  const byS1 = await Events.open(p, { key: false, headers: { Cookie: s1.cookieHeader } });
  const byS2 = await Events.open(p, { key: false, headers: { Cookie: s2.cookieHeader } });
  for (const e of [byS1, byS2]) assert.equal(e.status, 200);
  await waitFor(() => byS1.lastId !== null && byS2.lastId !== null, 5000, 'both streams started');

  // 18 more sessions of the user (over storaged's socket: no login
  // limit), each expiring after s1 and s2: the user has 20.
  const owner = (await s2.get('/dashboard/api/session')).json().user;
  const st = await p.storage();
  t.after(() => st.close());
  const more = () => st.call(ST_DASH_LOGIN, new Enc()
    .bytes(crypto.createHash('sha256').update(crypto.randomBytes(32)).digest())
    .str(crypto.randomBytes(32).toString('hex')).str(owner.id)
    .u64(Date.now() + 8 * 86400000).bytes(Buffer.alloc(0)).done());
  for (let i = 0; i < 18; i++) await more();
  assert.equal((await s1.get('/dashboard/api/session')).status, 200);
  assert.equal(byS1.ended, false);
  // One more: s1, the one that expires first, makes room.
  await more();
  await waitFor(() => byS1.ended, 5000, 'the ended session\'s stream ended');
  assert.equal((await s1.get('/dashboard/api/session')).status, 401);
  assert.equal((await s2.get('/dashboard/api/session')).status, 200);
  const r = await p.request('POST', '/v1/chat', { headers: { 'x-api-key': p.widgetKey, 'Content-Type': 'application/json' },
    body: JSON.stringify({ sessionId: 'after-eviction', message: 'hello' }) });
  assert.equal(r.status, 200, r.text);
  await byS2.take((x) => x.event === 'conversation', 5000, 'the new conversation');
  assert.equal(byS2.ended, false);
  for (const e of [byS1, byS2]) e.close();
});

// The id a new stream is live from (its ready event's); the stream closed.
async function liveFrom(p) {
  const ev = await Events.open(p);
  try {
    return (await ev.take((e) => e.event === 'ready')).id;
  } finally {
    ev.close();
  }
}

// A dashboard that resumes after more than a page (1000) of another
// organisation's events: it pages through them (sent none of them) to its
// own event, in order, and goes live; the worker once asked for the same
// page of others' events forever, for as long as the stream stayed open.
// More of them than the ring keeps (ST_EV_RING_EVENTS, 4,096): only its
// own leaving the ring resets a resume, so a dashboard away while another
// organisation is busy resumes instead of starting over.
test('a resume past a page, and past the ring, of another organisation\'s events reaches its own and goes live', { timeout: 90000 }, async (t) => {
  const p = await startParley(t, { workers: 1 });
  const readyId = await liveFrom(p);
  let r = await p.adminJson('POST', '/v1/admin/organizations', { name: 'Other' });
  assert.equal(r.status, 201, r.text);
  const other = r.json().id;
  r = await p.request('POST', '/v1/admin/widgets', {
    headers: { 'x-admin-api-key': p.adminKey, 'x-organization-id': other, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Theirs' }),
  });
  assert.equal(r.status, 201, r.text);
  const theirs = r.json().id;	// the internal id: storaged's name of it
  const st = await p.storage({ name: 'other-org-writer' });
  t.after(() => st.close());
  const { conv } = await st.convOpen(theirs, `busy-${crypto.randomBytes(4).toString('hex')}`);
  // 50 at a time: storaged commits each group together.
  for (let i = 0; i < 4200; i += 50) {
    await Promise.all(Array.from({ length: 50 }, (_, j) => st.msgAppend(conv.id, 'user', `theirs ${i + j}`)));
  }
  const mine = await st.convOpen('default', `mine-${crypto.randomBytes(4).toString('hex')}`);
  await st.msgAppend(mine.conv.id, 'user', 'ours after theirs');

  const back = await Events.open(p, { lastEventId: readyId });
  t.after(() => back.close());
  assert.equal(back.status, 200, back.text);
  const got = await back.take((e) => e.event === 'message', 10000, 'our message, past their 4200');
  assert.equal(got.data.message.content, 'ours after theirs');
  assert.ok(!back.events.some((e) => e.event === 'reset'), 'no reset: nothing of ours left the ring');
  assert.ok(back.events.concat([got]).every((e) => e.event !== 'message' || e.data.conversation._id !== conv.id),
    'none of theirs');
  // Live now: the next of ours comes as it happens.
  await st.msgAppend(mine.conv.id, 'user', 'ours, live');
  assert.equal((await back.take((e) => e.event === 'message', 5000, 'a live one')).data.message.content, 'ours, live');
});

// A dashboard that resumes after more of its own events than a stream
// may hold unread (EVENTS_OUT_MAX, 512 KiB): it is sent them as it reads,
// all of them in order, not closed as a client that does not read (which
// it then met again at every reconnect).
test('a resume past more of its own events than the stream holds unread gets them all, as it reads', { timeout: 90000 }, async (t) => {
  const p = await startParley(t, { workers: 1 });
  const readyId = await liveFrom(p);
  const st = await p.storage({ name: 'own-org-writer' });
  t.after(() => st.close());
  const { conv } = await st.convOpen('default', `busy-${crypto.randomBytes(4).toString('hex')}`);
  const N = 1500;
  const text = 'x'.repeat(600);	// some 1.5 KiB an event: about 2 MiB in all
  for (let i = 0; i < N; i++) await st.msgAppend(conv.id, i % 2 ? 'assistant' : 'user', `${i} ${text}`);

  const back = await Events.open(p, { lastEventId: readyId });
  t.after(() => back.close());
  for (let i = 0; i < N; i++) {
    const m = await back.take((e) => e.event === 'message', 10000, `message ${i}`);
    assert.equal(m.data.message.content, `${i} ${text}`);
  }
  assert.ok(!back.ended, 'the stream goes on');
  assert.doesNotMatch(p.tail('masterd', 100000), /a client is not reading/);
  await st.msgAppend(conv.id, 'user', 'live');
  assert.equal((await back.take((e) => e.event === 'message', 5000, 'a live one')).data.message.content, 'live');
});
