// A conversation's state through the real daemons: the assistant resolves
// a conversation by itself once the visitor has been silent for its
// agent's resolve_after_seconds (the notifier asks storaged each second),
// not one in which a person was asked for; a person resolves, snoozes and
// reopens it (PATCH /v1/admin/conversations/{id}), audited, the answers
// checked against the OpenAPI document; ?state= lists one folder; the
// visitor writing again reopens it, and so does asking for a person (the
// visitor's request_human, the dashboard's waiting_human); bad input is a 400 naming the field;
// another organisation's conversation is a 404; the webhook event
// conversation.state_changed carries the conversation with its state.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';

import { Parley, waitFor } from './lib/harness.mjs';
import { adminCall, checkerFor } from './lib/openapi.mjs';
import { Visitor } from './lib/wsclient.mjs';

// The tests side by side on the one stack: each waits mostly on the
// notifier's ticks and its agent's window, and each looks at its own
// widget's conversation alone (its id in the lists, the webhooks, the audit).
describe('conversation states', { concurrency: true }, () => {
  let p;
  let api;
  let hook;
  const delivered = [];

  const admin = (method, path, body, headers) => adminCall(p, api, method, path, body, { headers });
  const conv = async (id) => (await admin('GET', `/v1/admin/conversations/${id}`)).json().conversation;
  const folder = async (state) => (await admin('GET', `/v1/admin/conversations?state=${state}&limit=200`)).json()
    .conversations.map((c) => c._id);

  // A widget answered by an agent with window s (seconds), and one turn on
  // it: the conversation's id.
  async function turnOn(window, text = 'hello') {
    let r = await admin('POST', '/v1/admin/agents', { name: `Win ${window}`, resolve_after_seconds: window });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json().resolve_after_seconds, window);
    r = await admin('POST', '/v1/admin/widgets', { name: `W ${window}`, agent_id: r.json().id, handoff_enabled: true });
    const w = r.json();
    const v = await Visitor.open(p, w.widget_id);
    await v.next('session');
    await v.turn(text);
    const list = (await admin('GET', '/v1/admin/conversations?limit=200')).json().conversations;
    const mine = list.filter((c) => c.widgetId === w.id);
    assert.equal(mine.length, 1, JSON.stringify(list.map((c) => c.widgetId)));
    return { v, id: mine[0]._id };
  }

  before(async () => {
    hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        try { delivered.push(JSON.parse(body)); } catch { /* not JSON */ }
        res.end('ok');
      });
    });
    await new Promise((resolve) => hook.listen(0, '127.0.0.1', resolve));
    p = new Parley({ workers: 1, mock: true,
      env: { RATE_LIMIT_MAX_REQUESTS: '0', PARLEY_WEBHOOK_ALLOW_PRIVATE: 'on' } });
    await p.start();
    api = await checkerFor(p);
    const r = await admin('POST', '/v1/admin/webhooks', { url: `http://127.0.0.1:${hook.address().port}/h`,
      events: ['conversation.state_changed'] });
    assert.equal(r.status, 201, r.text);
  });
  // The test's own server closed even when stop() throws (a sanitizer
  // report): left listening, it kept the file's process alive.
  after(async () => {
    try {
      if (p) await p.stop();
    } finally {
      if (hook) hook.close();
    }
  });

  test('the assistant resolves a conversation once the visitor is silent for its agent\'s window', async () => {
    const { v, id } = await turnOn(1);
    let c = await conv(id);
    assert.equal(c.state, 'open');
    assert.equal(c.resolved_by, null);
    await waitFor(async () => (await conv(id)).state === 'resolved', 8000, 'resolved by the assistant');
    c = await conv(id);
    assert.equal(c.resolved_by, 'assistant');
    assert.ok(c.resolved_at > c.createdAt);
    assert.ok((await folder('resolved')).includes(id));
    assert.ok(!(await folder('open')).includes(id));
    await waitFor(() => delivered.some((d) => d.type === 'conversation.state_changed' &&
      d.data.conversation._id === id && d.data.conversation.state === 'resolved'), 8000, 'the webhook');

    // The visitor writes again: open, the webhook told (as docs/api.md
    // says; it was not), and resolved again after the window.
    await v.turn('one more thing');
    c = await conv(id);
    assert.equal(c.state, 'open');
    assert.equal(c.resolved_by, null);
    assert.equal(c.resolved_at, null);
    await waitFor(() => delivered.some((d) => d.type === 'conversation.state_changed' &&
      d.data.conversation._id === id && d.data.conversation.state === 'open'), 8000, 'the webhook of the reopening');
    await waitFor(async () => (await conv(id)).state === 'resolved', 8000, 'resolved again');
    await v.close();
  });

  // Snoozed by a person, the visitor writes: open again, the webhook told;
  // a snooze already past is open already: no second state event.
  test('the visitor writing in a snoozed conversation opens it again, with its webhook', async () => {
    const s = await turnOn(0, 'snooze me');
    let r = await admin('PATCH', `/v1/admin/conversations/${s.id}`, { state: 'snoozed', snoozed_until: Date.now() + 3600000 });
    assert.equal(r.status, 200, r.text);
    const states = () => delivered.filter((d) => d.type === 'conversation.state_changed' && d.data.conversation._id === s.id);
    await waitFor(() => states().some((d) => d.data.conversation.state === 'snoozed'), 8000, 'the snooze\'s webhook');
    await s.v.turn('back again');
    assert.equal((await conv(s.id)).state, 'open');
    await waitFor(() => states().some((d) => d.data.conversation.state === 'open'), 8000, 'the reopening\'s webhook');
    // Snoozed for 1.5 s: once past, a message changes no state.
    const until = Date.now() + 1500;
    r = await admin('PATCH', `/v1/admin/conversations/${s.id}`, { state: 'snoozed', snoozed_until: until });
    assert.equal(r.status, 200, r.text);
    await waitFor(() => states().filter((d) => d.data.conversation.state === 'snoozed').length === 2, 8000, 'the second snooze\'s webhook');
    await new Promise((res) => setTimeout(res, Math.max(0, until + 300 - Date.now())));
    const before = states().length;
    await s.v.turn('after the snooze');
    await new Promise((res) => setTimeout(res, 1500));
    assert.equal(states().length, before, 'no state event for a snooze already past');
    await s.v.close();
  });

  test('not when a person was asked for', async () => {
    const { v, id } = await turnOn(1, 'I need help');
    v.send({ type: 'request_human' });
    await v.next('handoff');
    await new Promise((r) => setTimeout(r, 2500));
    const c = await conv(id);
    assert.equal(c.handoff, 'waiting_human');
    assert.equal(c.state, 'open');
    await v.close();
  });

  // Asking for a person (the visitor's request_human, the dashboard's
  // waiting_human) opens it again, as the visitor's message does: in the
  // Open folder, the resolution or snooze gone, and the webhook hears it.
  test('a person asked for in a resolved or snoozed conversation opens it again', async () => {
    const reopened = async (id, what) => {
      const c = await conv(id);
      assert.equal(c.handoff, 'waiting_human', what);
      assert.equal(c.state, 'open', what);
      assert.equal(c.resolved_by, null, what);
      assert.equal(c.resolved_at, null, what);
      assert.equal(c.snoozed_until, null, what);
      assert.ok((await folder('open')).includes(id), what);
      await waitFor(() => delivered.some((d) => d.type === 'conversation.state_changed' &&
        d.data.conversation._id === id && d.data.conversation.state === 'open' &&
        d.data.conversation.handoff === 'waiting_human'), 8000, `the webhook: ${what}`);
    };

    // Resolved by the assistant, then the visitor asks for a person.
    const a = await turnOn(1, 'hello again');
    await waitFor(async () => (await conv(a.id)).state === 'resolved', 8000, 'resolved by the assistant');
    a.v.send({ type: 'request_human' });
    assert.equal((await a.v.next('handoff')).state, 'waiting_human');
    await reopened(a.id, 'assistant-resolved, request_human');
    await a.v.close();

    // Snoozed by a person, then the visitor asks for a person.
    const s = await turnOn(0, 'a snooze');
    let r = await admin('PATCH', `/v1/admin/conversations/${s.id}`, { state: 'snoozed', snoozed_until: Date.now() + 3600000 });
    assert.equal(r.status, 200, r.text);
    s.v.send({ type: 'request_human' });
    assert.equal((await s.v.next('handoff')).state, 'waiting_human');
    await reopened(s.id, 'snoozed, request_human');
    await s.v.close();

    // Resolved by a person, then the dashboard moves it to waiting_human.
    const d = await turnOn(0, 'resolved by a person');
    r = await admin('PATCH', `/v1/admin/conversations/${d.id}`, { state: 'resolved' });
    assert.equal(r.status, 200, r.text);
    r = await admin('POST', `/v1/admin/conversations/${d.id}/handoff`, { state: 'waiting_human' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().conversation.state, 'open');
    await reopened(d.id, 'person-resolved, waiting_human');
    await d.v.close();
  });

  test('a person resolves, snoozes and reopens it; audited; refused out of bounds', async () => {
    const { v, id } = await turnOn(0);
    let r = await admin('PATCH', `/v1/admin/conversations/${id}`, { state: 'resolved' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().changed, true);
    assert.equal(r.json().conversation.state, 'resolved');
    assert.equal(r.json().conversation.resolved_by, 'person');
    r = await admin('PATCH', `/v1/admin/conversations/${id}`, { state: 'resolved' });
    assert.equal(r.json().changed, false);

    const until = Date.now() + 3600000;
    r = await admin('PATCH', `/v1/admin/conversations/${id}`, { state: 'snoozed', snoozed_until: until });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().conversation.state, 'snoozed');
    assert.equal(r.json().conversation.snoozed_until, until);
    assert.equal(r.json().conversation.resolved_by, null);
    assert.ok((await folder('snoozed')).includes(id));

    for (const [body, error] of [
      [{ state: 'closed' }, 'state: must be open, snoozed or resolved'],
      [{ state: 'resolved\u0000x' }, 'state: must be open, snoozed or resolved'],
      [{}, 'state: must be open, snoozed or resolved'],
      [{ state: 'snoozed' }, 'snoozed_until: a time in ms since the epoch, with snoozed'],
      [{ state: 'snoozed', snoozed_until: Date.now() - 1000 }, 'snoozed_until must be a time within a year, with state snoozed alone'],
      [{ state: 'snoozed', snoozed_until: Date.now() + 400 * 86400000 }, 'snoozed_until must be a time within a year, with state snoozed alone'],
      [{ state: 'open', snoozed_until: until }, 'snoozed_until: only with state snoozed'],
    ]) {
      r = await admin('PATCH', `/v1/admin/conversations/${id}`, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.json().error, error, JSON.stringify(body));
    }
    r = await admin('PATCH', '/v1/admin/conversations/0123456789abcdef0123456789abcdef', { state: 'open' });
    assert.equal(r.status, 404);
    assert.equal((await admin('GET', '/v1/admin/conversations?state=closed')).status, 400);

    // Another organisation's key sees no such conversation.
    const o = (await admin('POST', '/v1/admin/organizations', { name: 'Other' })).json().id;
    r = await admin('PATCH', `/v1/admin/conversations/${id}`, { state: 'open' }, { 'x-organization-id': o });
    assert.equal(r.status, 404);

    // The visitor writes: open again.
    await v.turn('still there?');
    assert.equal((await conv(id)).state, 'open');
    r = await admin('GET', '/v1/admin/audit?limit=200');
    const actions = r.json().entries.filter((e) => e.target === id).map((e) => e.action);
    assert.deepEqual(actions.filter((a) => a === 'conversation.state').length, 2, JSON.stringify(actions));
    await v.close();
  });
});
