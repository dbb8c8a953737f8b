// A JSON body that starts with a UTF-8 byte order mark, which RFC 8259 lets
// a parser ignore, is read as the body after it by the admin API
// (admin_json_parse) and by the dashboard's login and invitations, which
// read their bodies through it (the chat API's is chat.test.mjs's): both
// answered 400 for one. A mark after white space, or a second one, is no
// JSON: each route's answer to a body that is not JSON.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Parley } from './lib/harness.mjs';
import { assertJsonError } from './lib/checks.mjs';
import { COOKIE, PASSWORD, login, loginRequest, nextClient, setCookies } from './lib/dashboard.mjs';

const BOM = '\uFEFF';
// Bodies that are not JSON: a mark after white space, two marks.
const NOT_JSON = [` ${BOM}`, `${BOM}${BOM}`];

describe('a JSON body after a byte order mark', { concurrency: 1 }, () => {
  let p;
  before(async () => {
    p = new Parley({ workers: 1, env: { DASHBOARD_PASSWORD: PASSWORD } });
    await p.start();
  });
  after(() => p?.stop());

  // A POST of body as given (a string), as JSON, from a client of its own.
  const post = (path, body, headers = {}) => p.request('POST', path, {
    headers: { 'Content-Type': 'application/json', ...headers }, body, localAddress: nextClient(), timeout: 10000,
  });
  const admin = () => ({ 'x-admin-api-key': p.adminKey });
  // An invitation's token (POST /v1/admin/users, with a mark too).
  async function invite(email) {
    const r = await post('/v1/admin/users', BOM + JSON.stringify({ email, role: 'agent' }), admin());
    assert.equal(r.status, 201, r.text);
    return new URL(r.json().url).hash.slice(1);
  }

  test('the admin API takes it; after white space or twice it is 400 Invalid JSON body', async () => {
    const r = await post('/v1/admin/organizations', BOM + JSON.stringify({ name: 'With a BOM' }), admin());
    assert.equal(r.status, 201, r.text);
    const id = r.json().id;
    const patch = await p.request('PATCH', `/v1/admin/organizations/${id}`, {
      headers: { 'Content-Type': 'application/json', ...admin() }, body: BOM + JSON.stringify({ name: 'Renamed' }),
    });
    assert.equal(patch.status, 200, patch.text);
    const got = await p.admin(`/v1/admin/organizations/${id}`);
    assert.equal(got.status, 200, got.text);
    assert.equal(got.json().name, 'Renamed');
    for (const pre of NOT_JSON)
      assertJsonError(await post('/v1/admin/organizations', pre + JSON.stringify({ name: 'x' }), admin()), 400,
        'Invalid JSON body');
  });

  test('the dashboard login takes it; after white space or twice it is 400 Invalid request body', async () => {
    const r = await loginRequest(p, null, { body: BOM + JSON.stringify({ password: PASSWORD }) });
    assert.equal(r.status, 200, r.text);
    assert.ok(setCookies(r).some((c) => c.name === COOKIE), 'the session cookie');
    const by = await loginRequest(p, null, { body: BOM + JSON.stringify({ email: 'owner@localhost', password: PASSWORD }) });
    assert.equal(by.status, 200, by.text);
    for (const pre of NOT_JSON) {
      const bad = await loginRequest(p, null, { body: pre + JSON.stringify({ password: PASSWORD }) });
      assertJsonError(bad, 400, 'Invalid request body');
      assert.equal(setCookies(bad).length, 0);
    }
  });

  test('an invitation is viewed and accepted with it, anonymously and signed in', async () => {
    const email = 'bom@example.com';
    const token = await invite(email);
    const view = await post('/dashboard/api/invitations/view', BOM + JSON.stringify({ token }));
    assert.equal(view.status, 200, view.text);
    assert.equal(view.json().email, email);
    for (const pre of NOT_JSON)
      assertJsonError(await post('/dashboard/api/invitations/view', pre + JSON.stringify({ token })), 404,
        'Invitation not found or expired');
    for (const pre of NOT_JSON)
      assertJsonError(await post('/dashboard/api/invitations/accept',
        pre + JSON.stringify({ token, name: 'Bo', password: 'a password of bom' })), 400, 'Invalid request body');
    const ok = await post('/dashboard/api/invitations/accept',
      BOM + JSON.stringify({ token, name: 'Bo', password: 'a password of bom' }));
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json().email, email);
    // A signed-in acceptance, {"token"} alone: the new user's, of another organisation.
    const s = await login(p, 'a password of bom', { email });
    const o = await post('/v1/admin/organizations', JSON.stringify({ name: 'Another' }), admin());
    assert.equal(o.status, 201, o.text);
    const r = await post('/v1/admin/users', JSON.stringify({ email, role: 'admin' }),
      { ...admin(), 'x-organization-id': o.json().id });
    assert.equal(r.status, 201, r.text);
    const t2 = new URL(r.json().url).hash.slice(1);
    const signed = await s.request('POST', '/dashboard/api/invitations/accept', { body: BOM + JSON.stringify({ token: t2 }) });
    assert.equal(signed.status, 200, signed.text);
    const me = (await s.get('/dashboard/api/session')).json();
    assert.ok(me.organizations.some((x) => x.id === o.json().id && x.role === 'admin'), JSON.stringify(me.organizations));
  });
});
