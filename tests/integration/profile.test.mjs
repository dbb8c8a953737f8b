// A dashboard user's own profile (GET/PATCH /v1/admin/profile, POST
// /v1/admin/profile/password) on a real stack:
//   - an agent reads and renames itself; the name is what its replies in
//     a conversation carry, and what the session says; bad names are 400;
//     a key (no dashboard user) is 403; the answers are as the document
//     says;
//   - a password change needs the current password (wrong: 403 after the
//     login's delay), a new one of 12 characters (400); it ends the
//     user's other sessions and keeps this one; the old password no longer
//     logs in, the new one does; both changes are in the audit log;
//   - the changes are counted as login attempts of the client: the 11th
//     in a minute is 429 with Retry-After.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Parley, waitFor } from './lib/harness.mjs';
import { Events } from './lib/events.mjs';
import { assertJsonError } from './lib/checks.mjs';
import { PASSWORD, login, loginRequest, nextClient } from './lib/dashboard.mjs';
import { checkerFor } from './lib/openapi.mjs';
import { addMember } from './lib/people.mjs';
import { Visitor } from './lib/wsclient.mjs';

const P = '/v1/admin/profile';
const PW = '/v1/admin/profile/password';

describe('a user\'s own profile', { concurrency: 1 }, () => {
  let p;
  let api;
  before(async () => {
    p = new Parley({ workers: 2, mock: true, env: { DASHBOARD_PASSWORD: PASSWORD } });
    await p.start();
    api = await checkerFor(p);
  });
  after(() => p?.stop());

  test('an agent reads and renames itself: its replies carry the new name; bad names are 400; a key is 403', async () => {
    const ana = await addMember(p, { role: 'agent', name: 'Ana' });
    let r = await ana.session.get(P);
    assert.equal(r.status, 200, r.text);
    api.checkJson('GET', P, r);
    assert.deepEqual(r.json(), { id: ana.id, email: ana.email, name: 'Ana', role: 'agent' });

    r = await ana.session.request('PATCH', P, { body: { name: '  Ana Lima <b>' } });
    assert.equal(r.status, 200, r.text);
    api.checkJson('PATCH', P, r);
    assert.equal(r.json().name, '  Ana Lima <b>');
    assert.equal((await ana.session.get('/dashboard/api/session')).json().user.name, '  Ana Lima <b>');
    assert.equal((await p.request('GET', '/v1/admin/users', { headers: { 'x-admin-api-key': p.adminKey } }))
      .json().users.find((u) => u.id === ana.id).name, '  Ana Lima <b>');

    // A reply of hers is signed with it.
    const w = (await p.request('POST', '/v1/admin/widgets', {
      headers: { 'x-admin-api-key': p.adminKey, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'shop' }),
    })).json();
    const visitor = await Visitor.open(p, w.widget_id);
    await visitor.next('session');
    await visitor.turn('hi');
    await visitor.close();
    const conv = (await p.request('GET', '/v1/admin/conversations', { headers: { 'x-admin-api-key': p.adminKey } }))
      .json().conversations[0]._id;
    r = await ana.session.request('POST', `/v1/admin/conversations/${conv}/messages`, { body: { content: 'hello' } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json().message.name, '  Ana Lima <b>');

    for (const [body, msg] of [
      [{ name: '' }, 'name: must be 1 to 100 characters of UTF-8'],
      [{ name: 'x'.repeat(101) }, 'name: must be 1 to 100 characters of UTF-8'],
      [{ name: ' \t\r\n ' }, 'name: must not be blank'], // visitors see it on replies
      [{ name: 7 }, 'name: must be a string'],
      [{ name: 'a', email: 'b@example.com' }, 'body: {"name"} only'],
      [{}, 'body: {"name"} only'],
    ]) assertJsonError(await ana.session.request('PATCH', P, { body }), 400, msg);
    assert.equal((await ana.session.get(P)).json().name, '  Ana Lima <b>', 'nothing changed by a refusal');

    const key = { 'x-admin-api-key': p.adminKey };
    assertJsonError(await p.request('GET', P, { headers: key }), 403,
      'A profile is a dashboard user\'s own: sign in to the dashboard');
    assertJsonError(await p.request('POST', PW, { headers: { ...key, 'Content-Type': 'application/json' },
      body: JSON.stringify({ current_password: 'x', new_password: 'y'.repeat(12) }) }), 403,
    'A profile is a dashboard user\'s own: sign in to the dashboard');
  });

  test('a password change: the current one is checked, other sessions end, this one stays, the audit says so', async () => {
    const bo = await addMember(p, { role: 'admin', name: 'Bo' });
    const other = await login(p, bo.password, { email: bo.email });
    const next = 'a brand new password';

    assertJsonError(await bo.session.request('POST', PW, { body: { current_password: bo.password, new_password: 'short' } }),
      400, 'new_password: must be 12 to 1024 characters');
    assertJsonError(await bo.session.request('POST', PW, { body: { current_password: bo.password } }),
      400, 'body: {"current_password", "new_password"}');
    const t0 = Date.now();
    assertJsonError(await bo.session.request('POST', PW, { body: { current_password: 'not it at all', new_password: next } }),
      403, 'current_password: wrong password');
    assert.ok(Date.now() - t0 >= 900, 'a wrong password waits as a login does');
    assert.equal((await other.get(P)).status, 200, 'a wrong guess ends nothing');

    // Each session's event stream, open across the change.
    const streams = [];
    for (const s of [bo.session, other]) streams.push(await Events.open(p, { key: false, headers: { Cookie: s.cookieHeader } }));
    const [mine, theirs] = streams;
    await waitFor(() => streams.every((e) => e.lastId !== null), 5000, 'both streams started');
    let r = await bo.session.request('POST', PW, { body: { current_password: bo.password, new_password: next } });
    assert.equal(r.status, 204, r.text);
    assert.equal((await bo.session.get(P)).status, 200, 'this session stays');
    assert.equal((await other.get(P)).status, 401, 'the other one ended');
    await waitFor(() => theirs.ended, 5000, 'the other session\'s stream ended');
    r = await p.request('POST', '/v1/chat', { headers: { 'x-api-key': p.widgetKey, 'Content-Type': 'application/json' },
      body: JSON.stringify({ sessionId: 'after-a-new-password', message: 'hello' }) });
    assert.equal(r.status, 200, r.text);
    await mine.take((x) => x.event === 'conversation', 5000, 'a new conversation, on this session\'s stream');
    assert.equal(mine.ended, false, 'this session\'s stream stays');
    for (const e of streams) e.close();
    assert.equal((await loginRequest(p, bo.password, { email: bo.email })).status, 401, 'the old password is gone');
    const again = await login(p, next, { email: bo.email });
    assert.equal((await again.get(P)).json().id, bo.id);

    // The stored password moved on: a change checked against the old one fails.
    assertJsonError(await bo.session.request('POST', PW, { body: { current_password: bo.password, new_password: next } }),
      403, 'current_password: wrong password');

    r = await p.request('GET', '/v1/admin/audit', { headers: { 'x-admin-api-key': p.adminKey } });
    const actions = r.json().entries.filter((e) => e.target === bo.id).map((e) => e.action);
    assert.equal(actions.filter((a) => a === 'user.password').length, 1, JSON.stringify(actions));
    assert.ok(!JSON.stringify(r.json()).includes(next), 'no password in the audit log');
  });

  test('changes are counted as the client\'s login attempts: the 11th in a minute is 429', async () => {
    const cy = await addMember(p, { role: 'agent', name: 'Cy' });
    const from = nextClient();
    // At once: each is counted before its guess is hashed, so one of the 11 is the 11th.
    const all = await Promise.all(Array.from({ length: 11 }, () => p.request('POST', PW, {
      headers: { ...cy.session.headers({ json: true }) },
      body: JSON.stringify({ current_password: 'wrong guess', new_password: 'whatever it is now' }),
      localAddress: from,
    })));
    const seen = all.map((r) => r.status).sort();
    const limited = all.find((r) => r.status === 429);
    assert.ok(limited && Number(limited.headers['retry-after']) >= 1, 'Retry-After');
    assert.deepEqual(seen, [...Array(10).fill(403), 429]);
    assertJsonError(limited, 429, 'Too many password attempts, try again later');
  });
});
