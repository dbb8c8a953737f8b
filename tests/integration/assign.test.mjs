// Who answers a conversation (issue 22), against the real processes and the
// mock model, 2 workers: a dashboard user taking over becomes the
// conversation's assignee; the visitor's socket hears that user's account
// name (not one typed in the browser) when they join, type and reply, and
// still after a reload; each agent message stores its author; the list's
// ?assignee=mine|unassigned|<user id>; assigning to another member, to
// nobody, and refusals (another organisation's user, a key's "mine"); an
// admin or an agent assigns only themself or nobody, an owner anyone; a
// removed member's conversations are nobody's, a disabled one's stay.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Events } from './lib/events.mjs';
import { Parley, waitFor } from './lib/harness.mjs';
import { assertJsonError } from './lib/checks.mjs';
import { chat, sid } from './lib/chat.mjs';
import { checkerFor } from './lib/openapi.mjs';
import { PASSWORD, login } from './lib/dashboard.mjs';
import { addKey, addMember } from './lib/people.mjs';
import { ROLE, T, WHO } from './lib/storage.mjs';
import { createWidget, Visitor } from './lib/wsclient.mjs';

const LIST = '/v1/admin/conversations';

// A member of org named name, as parleyctl adds one; its user id.
async function addUser(p, org, email, name) {
  const st = await p.storage({ as: 'parleyctl' });
  try {
    const r = await st.ask(T.ST_USER_SET, { mode: 0, email, name, role: ROLE.AGENT, salt: Buffer.alloc(16), hash: Buffer.alloc(32) },
      { who: [WHO.CTL, 'uid 0', org] });
    assert.equal(r.result, 0);
    return r.m.id;
  } finally {
    st.close();
  }
}

// The ids of a list answer.
const ids = (r) => {
  assert.equal(r.status, 200, r.text);
  return r.json().conversations.map((c) => c._id);
};

describe('who answers a conversation, 2 workers', () => {
  let p;
  let oa;
  before(async () => {
    p = new Parley({
      workers: 2,
      mock: true,
      env: { RATE_LIMIT_MAX_REQUESTS: '0', DASHBOARD_AGENT_NAME: 'Team Parley', DASHBOARD_PASSWORD: PASSWORD },
    });
    await p.start();
    oa = await checkerFor(p);
  });
  after(async () => { await p.stop(); assert.deepEqual(p.problems, []); });

  test('take over, type, reply as a user: the visitor sees its name, live and after a reload', async () => {
    const sess = await login(p);
    const me = (await sess.get('/dashboard/api/session')).json().user;
    assert.equal(me.name, 'Support');
    const w = await createWidget(p, { handoff_enabled: true });
    const v = await Visitor.open(p, w.widget_id);
    const s = await v.next('session');
    await v.turn('hello');
    const convId = ids(await p.admin(`${LIST}?widget=${w.id}`))[0];
    const path = `${LIST}/${convId}`;

    // Taking over: the account's name, never the one sent; the user is the assignee.
    let r = await sess.request('POST', `${path}/handoff`, { body: { state: 'human', name: 'Typed' } });
    assert.equal(r.status, 200, r.text);
    oa.checkJson('POST', `${path}/handoff`, r);
    assert.deepEqual(r.json().conversation.assignee, { id: me.id, name: 'Support' });
    assert.deepEqual(await v.next('handoff'), { type: 'handoff', state: 'human', name: 'Support' });
    r = await sess.request('POST', `${path}/typing`, { body: { typing: true, name: 'Typed' } });
    assert.equal(r.status, 204);
    assert.deepEqual(await v.next('typing_start'), { type: 'typing_start', role: 'agent', name: 'Support' });
    r = await sess.request('POST', `${path}/messages`, { body: { content: 'Hi, Owner here.', name: 'Typed' } });
    assert.equal(r.status, 201, r.text);
    oa.checkJson('POST', `${path}/messages`, r);
    assert.equal(r.json().message.name, 'Support');
    assert.equal(r.json().message.authorId, me.id);
    const { id, ...said } = await v.next('message');
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.deepEqual(said, { type: 'message', role: 'agent', content: 'Hi, Owner here.', name: 'Support' });
    // A key has no person: the name it sends, no author.
    r = await p.adminJson('POST', `${path}/messages`, { content: 'An integration.', name: 'Bot' });
    assert.equal(r.status, 201);
    assert.equal(r.json().message.name, 'Bot');
    assert.equal(r.json().message.authorId, null);
    assert.equal((await v.next('message')).name, 'Bot');
    const got = await p.admin(path);
    oa.checkJson('GET', path, got);
    assert.deepEqual(got.json().messages.filter((m) => m.role === 'agent').map((m) => [m.name, m.authorId]),
      [['Support', me.id], ['Bot', null]]);
    await v.close();

    // A reload: who joined, and who wrote what.
    const v2 = await Visitor.open(p, w.widget_id, { token: s.session_token });
    const s2 = await v2.next('session');
    assert.equal(s2.handoff, 'human');
    assert.equal(s2.handoff_name, 'Support');
    const h = await v2.next('history');
    assert.deepEqual(h.messages.filter((m) => m.role === 'agent').map((m) => m.name), ['Support', 'Bot']);
    await v2.close();

    // Handing back keeps the assignee.
    r = await sess.request('POST', `${path}/handoff`, { body: { state: 'ai' } });
    assert.equal(r.json().conversation.handoff, 'ai');
    assert.deepEqual(r.json().conversation.assignee, { id: me.id, name: 'Support' });
  });

  test('?assignee=, assigning to a member or nobody, refusals', async () => {
    const sess = await login(p);
    const me = (await sess.get('/dashboard/api/session')).json().user;
    const bo = await addUser(p, 'default', 'bo@example.com', 'Bo');
    const org = await p.adminJson('POST', '/v1/admin/organizations', { name: 'Other' });
    assert.equal(org.status, 201, org.text);
    const xi = await addUser(p, org.json().id, 'xi@example.com', 'Xi');
    const mine = (await chat(p, sid('mine'), 'hi')).json().conversationId;
    const free = (await chat(p, sid('free'), 'hi')).json().conversationId;
    assert.equal((await sess.request('POST', `${LIST}/${mine}/handoff`, { body: { state: 'human' } })).status, 200);

    let r = await sess.get(`${LIST}?assignee=mine`);
    oa.checkJson('GET', LIST, r);
    assert.ok(ids(r).includes(mine));
    assert.ok(!ids(r).includes(free));
    assert.ok(r.json().conversations.every((c) => c.assignee && c.assignee.id === me.id));
    r = await p.admin(`${LIST}?assignee=unassigned`);
    assert.ok(ids(r).includes(free));
    assert.ok(!ids(r).includes(mine));
    assert.ok(r.json().conversations.every((c) => c.assignee === null));
    assertJsonError(await p.admin(`${LIST}?assignee=mine`), 400, 'assignee=mine needs a dashboard session');
    assertJsonError(await p.admin(`${LIST}?assignee=nobody`), 400, 'Invalid query parameters');

    // To Bo: Bo's, no longer mine; audited; open dashboards hear of it.
    const ev = await Events.open(p);
    await waitFor(() => ev.lastId !== null, 5000, 'the stream starts');
    r = await sess.request('POST', `${LIST}/${mine}/assign`, { body: { user_id: bo } });
    assert.equal(r.status, 200, r.text);
    oa.checkJson('POST', `${LIST}/${mine}/assign`, r);
    assert.equal(r.json().changed, true);
    assert.deepEqual(r.json().conversation.assignee, { id: bo, name: 'Bo' });
    const h = await ev.take((e) => e.event === 'handoff' && e.data.conversation._id === mine, 5000, 'the assign event');
    ev.close();
    assert.equal(h.data.state, 'human', 'the state as it is');
    assert.equal(h.data.name, 'Bo');
    assert.deepEqual(h.data.conversation.assignee, { id: bo, name: 'Bo' });
    const v = oa.validatorFor('https://parley.invalid/openapi.json#/components/schemas/HandoffStateEvent');
    assert.ok(v(h.data), oa.ajv.errorsText(v.errors));
    assert.ok(ids(await p.admin(`${LIST}?assignee=${bo}`)).includes(mine));
    assert.ok(!ids(await sess.get(`${LIST}?assignee=mine`)).includes(mine));
    const audit = await p.admin('/v1/admin/audit');
    assert.equal(audit.status, 200, audit.text);
    assert.ok(audit.json().entries.some((e) => e.action === 'conversation.assign' && e.target === mine),
      JSON.stringify(audit.json().entries.slice(0, 3)));
    r = await p.adminJson('POST', `${LIST}/${mine}/assign`, { user_id: bo });
    assert.equal(r.json().changed, false);

    // Another organisation's user is no member; refusals.
    assertJsonError(await p.adminJson('POST', `${LIST}/${mine}/assign`, { user_id: xi }), 404, 'User not found');
    assertJsonError(await p.adminJson('POST', `${LIST}/${'0'.repeat(32)}/assign`, { user_id: bo }), 404,
      'Conversation not found');
    for (const body of [{}, { user_id: 'nope' }, { user_id: bo, extra: 1 }])
      assert.equal((await p.adminJson('POST', `${LIST}/${mine}/assign`, body)).status, 400, JSON.stringify(body));

    // To nobody.
    r = await p.adminJson('POST', `${LIST}/${mine}/assign`, { user_id: null });
    assert.equal(r.status, 200);
    assert.equal(r.json().conversation.assignee, null);
    assert.ok(ids(await p.admin(`${LIST}?assignee=unassigned`)).includes(mine));
  });

  test('an admin or an agent assigns themself or nobody, an owner anyone: another named is 403, the assignee kept', async () => {
    const owner = await login(p);
    const ownerId = (await owner.get('/dashboard/api/session')).json().user.id;
    const agent = await addMember(p, { role: 'agent' });
    const admin = await addMember(p, { role: 'admin' });
    const agentKey = await addKey(p, { role: 'agent' });
    const conv = (await chat(p, sid('roles'), 'hi')).json().conversationId;
    const path = `${LIST}/${conv}/assign`;
    const assignee = async () => {
      const r = await p.admin(`${LIST}/${conv}`);
      assert.equal(r.status, 200, r.text);
      return r.json().conversation.assignee?.id ?? null;
    };
    const refused = 'Only an owner can assign a conversation to someone else';

    // Themself: works.
    let r = await agent.session.request('POST', path, { body: { user_id: agent.id } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json().conversation.assignee, { id: agent.id, name: agent.name });
    // Another member, by an agent, an admin or an agent's key: refused, nothing changed.
    for (const [who, send] of [
      ['the agent', (body) => agent.session.request('POST', path, { body })],
      ['the admin', (body) => admin.session.request('POST', path, { body })],
      ['an agent key', (body) => p.request('POST', path, { headers: { 'x-admin-api-key': agentKey.key, 'Content-Type': 'application/json' },
        body: JSON.stringify(body) })],
    ]) {
      r = await send({ user_id: ownerId });
      assertJsonError(r, 403, refused);
      oa.checkJson('POST', path, r);
      assert.equal(await assignee(), agent.id, `${who}: the assignee unchanged`);
    }
    // The admin takes it, then the agent takes it back: each themself.
    r = await admin.session.request('POST', path, { body: { user_id: admin.id } });
    assert.equal(r.status, 200, r.text);
    assert.equal(await assignee(), admin.id);
    r = await agent.session.request('POST', path, { body: { user_id: agent.id } });
    assert.equal(r.status, 200, r.text);
    assert.equal(await assignee(), agent.id);
    // Nobody: works.
    r = await agent.session.request('POST', path, { body: { user_id: null } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().conversation.assignee, null);
    assert.equal(await assignee(), null);
    // An owner names anyone, and so does the install key.
    r = await owner.request('POST', path, { body: { user_id: agent.id } });
    assert.equal(r.status, 200, r.text);
    assert.equal(await assignee(), agent.id);
    r = await p.adminJson('POST', path, { user_id: admin.id });
    assert.equal(r.status, 200, r.text);
    assert.equal(await assignee(), admin.id);
  });

  test('a removed member\'s conversations are nobody\'s: the thread, the list, its filters, the events; a take-over assigns the taker; a disabled member keeps its own', async () => {
    const owner = await login(p);
    const ownerId = (await owner.get('/dashboard/api/session')).json().user.id;
    const gone = await addMember(p, { role: 'agent' });
    const off = await addMember(p, { role: 'agent' });
    const taken = (await chat(p, sid('rm-taken'), 'hi')).json().conversationId;
    const givenSid = sid('rm-given');
    const given = (await chat(p, givenSid, 'hi')).json().conversationId;
    const kept = (await chat(p, sid('rm-kept'), 'hi')).json().conversationId;
    assert.equal((await gone.session.request('POST', `${LIST}/${taken}/handoff`, { body: { state: 'human' } })).status, 200);
    for (const [conv, user] of [[given, gone.id], [kept, off.id]])
      assert.equal((await p.adminJson('POST', `${LIST}/${conv}/assign`, { user_id: user })).status, 200);
    const assigneeOf = async (conv) => {
      const r = await p.admin(`${LIST}/${conv}`);
      assert.equal(r.status, 200, r.text);
      return r.json().conversation.assignee?.id ?? null;
    };
    assert.equal(await assigneeOf(taken), gone.id, 'the take-over assigned it');

    let r = await p.adminJson('PATCH', `/v1/admin/users/${off.id}`, { disabled: true });
    assert.equal(r.status, 200, r.text);
    r = await p.request('DELETE', `/v1/admin/users/${gone.id}`, { headers: { 'x-admin-api-key': p.adminKey } });
    assert.equal(r.status, 200, r.text);

    for (const conv of [taken, given])
      assert.equal(await assigneeOf(conv), null, 'the removed member\'s, read');
    assert.equal(await assigneeOf(kept), off.id, 'the disabled member keeps its own');
    const unassigned = ids(await p.admin(`${LIST}?assignee=unassigned&limit=200`));
    assert.ok(unassigned.includes(taken) && unassigned.includes(given), 'in Unassigned');
    assert.ok(!unassigned.includes(kept));
    assert.deepEqual(ids(await p.admin(`${LIST}?assignee=${gone.id}`)), [], 'nothing is the removed member\'s');
    assert.ok(ids(await p.admin(`${LIST}?assignee=${off.id}`)).includes(kept));
    const listed = (await p.admin(`${LIST}?limit=200`)).json().conversations.find((c) => c._id === given);
    assert.equal(listed.assignee, null, 'a list row');

    // The events' conversation says it too: a visitor's message in one.
    const ev = await Events.open(p);
    await waitFor(() => ev.lastId !== null, 5000, 'the stream starts');
    assert.equal((await chat(p, givenSid, 'again')).status, 200);
    const m = await ev.take((e) => e.event === 'message' && e.data.conversation._id === given, 5000, 'the message event');
    assert.equal(m.data.conversation.assignee, null, 'an event\'s conversation');

    // Taking over the one it held (still with a person) makes the taker its assignee.
    r = await owner.request('POST', `${LIST}/${taken}/handoff`, { body: { state: 'human' } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json().conversation.assignee?.id, ownerId);
    // ... and the one answering: the removed member answers no more.
    assert.equal(r.json().conversation.answered_by?.id, ownerId, 'the taker answers');
    const h = await ev.take((e) => e.event === 'handoff' && e.data.conversation._id === taken, 5000, 'the take-over event');
    ev.close();
    assert.equal(h.data.conversation.assignee?.id, ownerId);
    assert.equal(await assigneeOf(taken), ownerId);
    assert.equal((await p.admin(`${LIST}/${taken}`)).json().conversation.answered_by?.id, ownerId, 'read back');
  });
});
