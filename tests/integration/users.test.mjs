// People (issue 22, docs/dashboard.md "Login and the session"): a login by
// email with DASHBOARD_PASSWORD's first owner, owner@localhost; a wrong email
// answers as a wrong password does, after the same delay; the session names its
// user and organisations; GET /v1/admin/users lists the organisation's members
// (as documented); an organisation the user is not in is 404 on every
// worker (a new DASHBOARD_PASSWORD ending the owner's sessions is
// dashboard-api.test.mjs's "a password change").
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Parley } from './lib/harness.mjs';
import { assertJsonError } from './lib/checks.mjs';
import { PASSWORD, login, loginRequest } from './lib/dashboard.mjs';
import { checkerFor } from './lib/openapi.mjs';

const LIST = '/v1/admin/conversations';

describe('people: login by email', () => {
  let p;
  before(async () => {
    p = new Parley({ workers: 2, env: { DASHBOARD_PASSWORD: PASSWORD } });
    await p.start();
  });
  after(() => p?.stop());

  test('owner@localhost (any case) is DASHBOARD_PASSWORD\'s owner; {"password"} alone is the same user', async () => {
    const a = await login(p, PASSWORD, { email: 'Owner@LocalHost' });
    const b = await login(p);
    const sa = (await a.get('/dashboard/api/session')).json();
    const sb = (await b.get('/dashboard/api/session')).json();
    assert.match(sa.user.id, /^usr_[0-9a-f]{32}$/);
    assert.equal(sa.user.id, sb.user.id);
    assert.equal(sa.user.email, 'owner@localhost');
    assert.deepEqual(sa.organization, { id: 'default', role: 'owner' });
    assert.equal((await a.get(LIST)).status, 200);
  });

  test('a wrong email is refused as a wrong password, after the same delay; a malformed one is 400', async () => {
    let t0 = Date.now();
    assertJsonError(await loginRequest(p, PASSWORD, { email: 'nobody@example.com' }), 401, 'Wrong email or password');
    const unknown = Date.now() - t0;
    t0 = Date.now();
    assertJsonError(await loginRequest(p, 'not the password', { email: 'owner@localhost' }), 401, 'Wrong email or password');
    const wrong = Date.now() - t0;
    assert.ok(unknown >= 900 && wrong >= 900, `both wait: ${unknown} ms, ${wrong} ms`);
    assert.ok(Math.abs(unknown - wrong) < 600, `about the same: ${unknown} ms vs ${wrong} ms`);
    assertJsonError(await loginRequest(p, PASSWORD, { email: 'no-at-sign' }), 400,
      'email: must be an address like name@example.com');
    assertJsonError(await loginRequest(p, PASSWORD, { body: JSON.stringify({ email: 7, password: PASSWORD }) }), 400,
      'Invalid request body');
  });

  test('x-organization-id: one the user is not in (or that cannot exist) is 404, its own works', async () => {
    const s = await login(p);
    const other = 'org_0123456789abcdef0123456789abcdef';
    for (const org of [other, 'nope']) {
      assertJsonError(await s.get(LIST, { headers: { 'x-organization-id': org } }), 404, 'Organization not found');
      assertJsonError(await s.get('/dashboard/api/session', { headers: { 'x-organization-id': org } }), 404,
        'Organization not found');
    }
    assert.equal((await s.get(LIST, { headers: { 'x-organization-id': 'default' } })).status, 200);
  });

  test('GET /v1/admin/users: the organisation\'s members with their role, as the document says', async () => {
    const api = await checkerFor(p);
    const s = await login(p);
    const me = (await s.get('/dashboard/api/session')).json().user;
    for (const r of [await s.get('/v1/admin/users'), await p.admin('/v1/admin/users')]) {
      assert.equal(r.status, 200, r.text);
      api.checkJson('GET', '/v1/admin/users', r);
      const { users } = r.json();
      assert.equal(users.length, 1);
      assert.deepEqual({ ...users[0], created_at: 0, updated_at: 0 },
        { id: me.id, email: 'owner@localhost', name: 'Owner', role: 'owner', disabled: false, created_at: 0, updated_at: 0 });
    }
    // Another organisation's members: not this one's.
    const o = await p.adminJson('POST', '/v1/admin/organizations', { name: 'B' });
    assert.equal(o.status, 201, o.text);
    const r = await p.admin('/v1/admin/users', { headers: { 'x-organization-id': o.json().id } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json(), { users: [] });
  });

  test('PATCH/DELETE /v1/admin/users/{id}: the last owner is kept (409); bad fields 400; another organisation\'s user 404', async () => {
    const api = await checkerFor(p);
    const s = await login(p);
    const me = (await s.get('/dashboard/api/session')).json().user;
    const path = `/v1/admin/users/${me.id}`;
    for (const body of [{ role: 'admin' }, { disabled: true }]) {
      const r = await s.request('PATCH', path, { headers: s.headers({ json: true }), body: JSON.stringify(body) });
      assertJsonError(r, 409, 'An organization keeps at least one owner');
      api.checkJson('PATCH', path, r);
    }
    assertJsonError(await s.request('DELETE', path, { headers: s.headers() }), 409, 'An organization keeps at least one owner');
    assertJsonError(await s.request('PATCH', path, { headers: s.headers({ json: true }), body: '{"role":"boss"}' }), 400,
      'role: must be owner, admin or agent');
    assertJsonError(await s.request('PATCH', path, { headers: s.headers({ json: true }), body: '{"disabled":1}' }), 400,
      'disabled: must be true or false');
    // Still the owner, still logged in.
    const r = await s.request('PATCH', path, { headers: s.headers({ json: true }), body: '{"role":"owner"}' });
    assert.equal(r.status, 200, r.text);
    api.checkJson('PATCH', path, r);
    assert.equal(r.json().role, 'owner');
    // In another organisation (the key's x-organization-id) it is not a member: 404.
    const o = await p.adminJson('POST', '/v1/admin/organizations', { name: 'C' });
    const other = { 'x-organization-id': o.json().id, 'x-admin-api-key': p.adminKey, 'Content-Type': 'application/json' };
    assertJsonError(await p.request('PATCH', path, { headers: other, body: '{"disabled":true}' }), 404, 'User not found');
    assertJsonError(await p.request('DELETE', path, { headers: other }), 404, 'User not found');
    assertJsonError(await p.request('DELETE', '/v1/admin/users/nope', { headers: other }), 404, 'User not found');
    assert.equal((await s.get(LIST)).status, 200);
  });
});
