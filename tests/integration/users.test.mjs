// People (issue 22, docs/dashboard.md "Login and the session"): a login by
// email with DASHBOARD_PASSWORD's first owner, owner@localhost; a wrong email
// answers as a wrong password does, after the same delay; the session names its
// user and organisations; GET /v1/admin/users lists the organisation's members
// (as documented); an organisation the user is not in is 404 on every
// worker (a new DASHBOARD_PASSWORD ending the owner's sessions is
// dashboard-api.test.mjs's "a password change"). Invitations: POST
// /v1/admin/users (owners; the link shown once, at PARLEY_PUBLIC_URL when set,
// else at the request's Host), accepted at
// /dashboard/api/invitations/accept (fields named, spent once, answered alike
// whether or not the email has an account, an existing account joins signed
// in as itself or with its own password, even one disabled in every
// organisation it belongs to, the login's per-client limit: 429).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { Parley, waitFor } from './lib/harness.mjs';
import { assertJsonError } from './lib/checks.mjs';
import { COOKIE, PASSWORD, Session, login, loginRequest, nextClient, setCookies } from './lib/dashboard.mjs';
import { checkerFor } from './lib/openapi.mjs';
import { addKey, addMember, installIn } from './lib/people.mjs';

const LIST = '/v1/admin/conversations';

// Three stacks of their own side by side (an ASan start is seconds); each
// one's tests one after another.
describe('people', { concurrency: true }, () => {
  describe('people: login by email', { concurrency: 1 }, () => {
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
      // The two side by side, from the same moment, on the same worker
      // (one it has served a login already): each its own delay. On two
      // workers, a cold one's first login hashed the owner's password
      // twice more first, which a loaded machine once made 700 ms.
      const pids = p.workerPids();
      const conns = [];
      let pair = null;
      let u;
      let w;
      try {
        for (let i = 0; i < 16 && !pair; i++) {
          conns.push(await p.connect());
          await waitFor(() => conns.every((c) => p.connectionOwners(pids).has(c.localPort)), 5000, 'the connection on a worker');
          const owners = p.connectionOwners(pids);
          const last = conns[conns.length - 1];
          const mate = conns.slice(0, -1).find((c) => owners.get(c.localPort) === owners.get(last.localPort));
          if (mate) pair = [mate, last];
        }
        assert.ok(pair, 'two connections on one worker');
        assert.equal((await loginRequest(p, PASSWORD, { conn: pair[0] })).status, 200, 'the worker warmed');
        const timed = async (conn, pw, email) => {
          const t0 = Date.now();
          const r = await loginRequest(p, pw, { email, conn });
          return { r, ms: Date.now() - t0 };
        };
        [u, w] = await Promise.all([timed(pair[0], PASSWORD, 'nobody@example.com'),
          timed(pair[1], 'not the password', 'owner@localhost')]);
      } finally {
        for (const c of conns) c.destroy();
      }
      assertJsonError(u.r, 401, 'Wrong email or password');
      assertJsonError(w.r, 401, 'Wrong email or password');
      const unknown = u.ms, wrong = w.ms;
      assert.ok(unknown >= 900 && wrong >= 900, `both wait: ${unknown} ms, ${wrong} ms`);
      assert.ok(Math.abs(unknown - wrong) < 600, `about the same: ${unknown} ms vs ${wrong} ms`);
      assertJsonError(await loginRequest(p, PASSWORD, { email: 'no-at-sign' }), 400,
        'email: must be an address like name@example.com');
      // A NUL inside cut it short: signed in as the owner with the rest ignored.
      assertJsonError(await loginRequest(p, PASSWORD, { email: 'owner@localhost\u0000anything' }), 400,
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
          { id: me.id, email: 'owner@localhost', name: 'Support', role: 'owner', disabled: false, created_at: 0, updated_at: 0 });
      }
      // Another organisation's members: not this one's.
      const o = await p.adminJson('POST', '/v1/admin/organizations', { name: 'B' });
      assert.equal(o.status, 201, o.text);
      const r = await p.admin('/v1/admin/users', { headers: { 'x-organization-id': o.json().id } });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json(), { users: [] });
    });

    test('a user acting in no organisation (disabled in its only one, or that one deleted) is refused as a wrong password, and stores no session', async () => {
      const owner = await login(p);
      const a = await addMember(p, { role: 'agent' });
      const patch = (disabled) => owner.request('PATCH', `/v1/admin/users/${a.id}`, { headers: owner.headers({ json: true }), body: JSON.stringify({ disabled }) });
      assert.equal((await patch(true)).status, 200);
      let r = await loginRequest(p, a.password, { email: a.email });
      assertJsonError(r, 401, 'Wrong email or password');
      assert.equal(setCookies(r).length, 0, JSON.stringify(r.headers['set-cookie']));
      // Enabled again: its password logs in, and nothing made while disabled comes back.
      assert.equal((await patch(false)).status, 200);
      const back = await login(p, a.password, { email: a.email });
      assert.equal((await back.get('/dashboard/api/session')).status, 200);
      // The member of one other organisation only, which is then deleted.
      const o = await p.adminJson('POST', '/v1/admin/organizations', { name: 'Gone soon' });
      assert.equal(o.status, 201, o.text);
      const b = await addMember(p, { org: o.json().id, role: 'owner' });
      assert.equal((await p.adminJson('DELETE', `/v1/admin/organizations/${o.json().id}`)).status, 200);
      r = await loginRequest(p, b.password, { email: b.email });
      assertJsonError(r, 401, 'Wrong email or password');
      assert.equal(setCookies(r).length, 0);
    });

    // Its session asked for an organisation deleted since: 200 with the
    // deleted one's role, where every admin route was 404 (the dashboard
    // then stayed in it); it falls back to its others on a 404.
    test('a session that names a deleted organisation of its user is 404 there, its others work', async () => {
      const H = (o) => ({ ...installIn(p, o), 'Content-Type': 'application/json' });
      const invite = async (org, email, role) => {
        const r = await p.request('POST', '/v1/admin/users', { headers: H(org), body: JSON.stringify({ email, role }) });
        assert.equal(r.status, 201, r.text);
        return new URL(r.json().url).hash.slice(1);
      };
      const x = (await p.request('POST', '/v1/admin/organizations', { headers: H(), body: JSON.stringify({ name: 'Deleted soon' }) })).json().id;
      const email = `del-${crypto.randomBytes(4).toString('hex')}@example.com`;
      const r = await p.request('POST', '/dashboard/api/invitations/accept', { headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ token: await invite(x, email, 'owner'), name: 'Del', password: 'del password 1234' }), localAddress: nextClient() });
      assert.equal(r.status, 200, r.text);
      const s = await login(p, 'del password 1234', { email });
      assert.equal((await s.request('POST', '/dashboard/api/invitations/accept', { body: { token: await invite(undefined, email, 'agent') } })).status, 200);
      const inX = { headers: { 'x-organization-id': x } };
      assert.equal((await s.get('/dashboard/api/session', inX)).json().organization.id, x);
      assert.equal((await p.request('DELETE', `/v1/admin/organizations/${x}`, { headers: installIn(p) })).status, 200);
      assertJsonError(await s.get('/dashboard/api/session', inX), 404, 'Organization not found');
      const back = (await s.get('/dashboard/api/session')).json();
      assert.equal(back.organization.role, 'agent');
      assert.ok(!back.organizations.some((o) => o.id === x));
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
      // A role with a NUL inside is refused, not cut at ("owner\u0000x" read as owner), as an invitation's.
      assertJsonError(await s.request('PATCH', path, { headers: s.headers({ json: true }), body: '{"role":"owner\\u0000x"}' }), 400,
        'role: must be owner, admin or agent');
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

  const ACCEPT = '/dashboard/api/invitations/accept';
  const NEW_PASSWORD = 'a new user\'s password';

  // POST /v1/admin/users as s (a Session) or, without, with the install key.
  function invite(p, body, s) {
    if (s) return s.request('POST', '/v1/admin/users', { headers: s.headers({ json: true }), body: JSON.stringify(body) });
    return p.adminJson('POST', '/v1/admin/users', body);
  }

  function acceptRequest(p, body, localAddress = nextClient()) {
    return p.request('POST', ACCEPT, {
      headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), localAddress, timeout: 10000,
    });
  }

  describe('people: invitations', { concurrency: 1 }, () => {
    let p;
    before(async () => {
      p = new Parley({ workers: 2, env: { DASHBOARD_PASSWORD: PASSWORD } });
      await p.start();
    });
    after(() => p?.stop());

    test('POST /v1/admin/users: 201 with the invitation and its link, as documented; 400 naming the field; 409 a member', async () => {
      const api = await checkerFor(p);
      const s = await login(p);
      const r = await invite(p, { email: 'Bea@Example.COM', role: 'admin' }, s);
      assert.equal(r.status, 201, r.text);
      api.checkJson('POST', '/v1/admin/users', r);
      const j = r.json();
      assert.deepEqual(Object.keys(j).sort(), ['invitation', 'url']);
      assert.equal(j.invitation.email, 'bea@example.com');
      assert.equal(j.invitation.role, 'admin');
      const week = 7 * 24 * 3600 * 1000;
      assert.ok(Math.abs(j.invitation.expires_at - (Date.now() + week)) < 60000, `expires_at ${j.invitation.expires_at}`);
      assert.match(j.url, new RegExp(`^http://127\\.0\\.0\\.1:${p.port}/dashboard/invite#[0-9a-f]{64}$`));
      // Another invitation: another token.
      const r2 = await invite(p, { email: 'bea@example.com', role: 'admin' }, s);
      assert.equal(r2.status, 201, r2.text);
      assert.notEqual(r2.json().url, j.url);
      for (const [body, msg] of [
        [{ role: 'admin' }, 'email: required'],
        [{ email: 'no-at-sign', role: 'admin' }, 'email: must be an address like name@example.com'],
        [{ email: 'x@example.com' }, 'role: required'],
        [{ email: 'x@example.com', role: 'boss' }, 'role: must be owner, admin or agent'],
        // a NUL inside is refused, not cut at (a@b.c was invited, the role read as owner)
        [{ email: 'a@b.c\u0000evil@x.com', role: 'agent' }, 'email: must be an address like name@example.com'],
        [{ email: 'x@example.com', role: 'owner\u0000x' }, 'role: must be owner, admin or agent'],
        [{ email: 'x@example.com', role: 'agent', name: 'X' }, 'Only email and role can be given'],
      ]) {
        const b = await invite(p, body, s);
        assertJsonError(b, 400, msg);
        api.checkJson('POST', '/v1/admin/users', b);
      }
      const m = await invite(p, { email: 'owner@localhost', role: 'agent' });
      assertJsonError(m, 409, 'Already a member of this organization');
      api.checkJson('POST', '/v1/admin/users', m);
    });

    test('accepting: fields named (400), an unknown token 404, then the new account made (it logs in); the token spent', async () => {
      const api = await checkerFor(p);
      const r = await invite(p, { email: 'cy@example.com', role: 'agent' });
      assert.equal(r.status, 201, r.text);
      const token = r.json().url.split('#')[1];
      for (const [body, status, msg] of [
        [{ token, name: '', password: NEW_PASSWORD }, 400, 'name: must be 1 to 100 characters of UTF-8'],
        [{ token, name: 'x'.repeat(101), password: NEW_PASSWORD }, 400, 'name: must be 1 to 100 characters of UTF-8'],
        [{ token, name: 'Cy', password: 'short' }, 400, 'password: must be 12 to 1024 characters'],
        [{ token, name: 'Cy' }, 400, 'password: required'],
        [{ token: crypto.randomBytes(32).toString('hex'), name: 'Cy', password: NEW_PASSWORD }, 404, 'Invitation not found or expired'],
        [{ token: 'nope', name: 'Cy', password: NEW_PASSWORD }, 404, 'Invitation not found or expired'],
        [{ token: 'nope' }, 404, 'Invitation not found or expired'],
        [{ token }, 401, 'Sign in as the invited account to accept, or give a name and a password for a new one'],
      ]) {
        const b = await acceptRequest(p, body);
        assertJsonError(b, status, msg);
        api.checkJson('POST', ACCEPT, b);
      }
      const a = await acceptRequest(p, { token, name: 'Cy', password: NEW_PASSWORD });
      assert.equal(a.status, 200, a.text);
      api.checkJson('POST', ACCEPT, a);
      assert.deepEqual(a.json(), { organization: { id: 'default' }, email: 'cy@example.com' });
      assert.equal(setCookies(a).length, 0, 'no session: the answer is the one an existing account\'s email gets');
      // Spent.
      assertJsonError(await acceptRequest(p, { token, name: 'Cy', password: NEW_PASSWORD }), 404, 'Invitation not found or expired');
      // The new user logs in with its password, an agent of default.
      const s = await login(p, NEW_PASSWORD, { email: 'cy@example.com' });
      const me = (await s.get('/dashboard/api/session')).json();
      assert.equal(me.user.email, 'cy@example.com');
      assert.equal(me.user.name, 'Cy');
      assert.deepEqual(me.organization, { id: 'default', role: 'agent' });
      // An agent may list conversations, not people.
      assert.equal((await s.get(LIST)).status, 200);
      assert.equal((await s.get('/v1/admin/users')).status, 403);
    });

    test('an email with an account: the anonymous accept without its password answers as for a new one and does nothing; the account joins signed in as itself', async () => {
      const o = await p.adminJson('POST', '/v1/admin/organizations', { name: 'Joined' });
      assert.equal(o.status, 201, o.text);
      const org = o.json().id;
      const inviteIn = async (email) => {
        const r = await p.request('POST', '/v1/admin/users', {
          headers: { 'Content-Type': 'application/json', 'x-admin-api-key': p.adminKey, 'x-organization-id': org },
          body: JSON.stringify({ email, role: 'admin' }),
        });
        assert.equal(r.status, 201, r.text);
        return r.json().url.split('#')[1];
      };
      // The inviter takes both links itself: one to the owner's email, one to a free one.
      const taken = await inviteIn('owner@localhost');
      const free = await inviteIn(`free-${crypto.randomBytes(4).toString('hex')}@example.com`);
      const answers = [];
      for (const token of [taken, free]) {
        const a = await acceptRequest(p, { token, name: 'Someone', password: 'the inviter\'s guess' });
        // The email is the invitation's, which the link's holder knows.
        answers.push({ status: a.status, body: { ...a.json(), email: '' }, cookies: setCookies(a).length });
      }
      assert.deepEqual(answers[0], answers[1], 'the same answer whether or not the email has an account');
      assert.deepEqual(answers[0], { status: 200, body: { organization: { id: org }, email: '' }, cookies: 0 });
      // Taken again: the free one is spent (its account made); a wrong
      // password spent nothing, so the owner's is still open to a try.
      assertJsonError(await acceptRequest(p, { token: free, name: 'Someone', password: 'the inviter\'s guess' }), 404,
        'Invitation not found or expired');
      assert.equal((await acceptRequest(p, { token: taken, name: 'Someone', password: 'the inviter\'s guess' })).status, 200);
      // The owner did not join, and its password is its own.
      assertJsonError(await loginRequest(p, 'the inviter\'s guess', { email: 'owner@localhost' }), 401, 'Wrong email or password');
      const s = await login(p);
      let me = (await s.get('/dashboard/api/session')).json();
      assert.equal(me.user.name, 'Support');
      assert.ok(!me.organizations.some((x) => x.id === org), JSON.stringify(me.organizations));
      // Another account's session cannot take it: as a wrong token.
      const other = await login(p, NEW_PASSWORD, { email: 'cy@example.com' });
      assertJsonError(await other.request('POST', ACCEPT, { body: { token: taken } }), 404,
        'Invitation not found or expired');
      // Without the CSRF token: refused.
      assertJsonError(await s.request('POST', ACCEPT, { csrf: false, body: { token: taken } }), 403,
        'Missing or invalid CSRF token');
      // Signed in as itself: it joins.
      const j = await s.request('POST', ACCEPT, { body: { token: taken } });
      assert.equal(j.status, 200, j.text);
      assert.deepEqual(j.json(), { organization: { id: org }, email: 'owner@localhost' });
      me = (await s.get('/dashboard/api/session')).json();
      assert.ok(me.organizations.some((x) => x.id === org && x.role === 'admin'), JSON.stringify(me.organizations));
      assertJsonError(await s.request('POST', ACCEPT, { body: { token: taken } }), 404,
        'Invitation not found or expired');
    });

    test('an account disabled in every organisation it belongs to takes an invitation elsewhere with its own password: it joins and logs in there; another password joins nothing, answered alike', async () => {
      const owner = await login(p);
      const a = await addMember(p, { role: 'agent' });
      const d = await owner.request('PATCH', `/v1/admin/users/${a.id}`, { body: { disabled: true } });
      assert.equal(d.status, 200, d.text);
      // It acts nowhere: its right password logs in no more, as before.
      assertJsonError(await loginRequest(p, a.password, { email: a.email }), 401, 'Wrong email or password');
      const o = await p.adminJson('POST', '/v1/admin/organizations', { name: 'New employer' });
      assert.equal(o.status, 201, o.text);
      const org = o.json().id;
      const inOrg = installIn(p, org);
      const inviteIn = async () => {
        const r = await p.request('POST', '/v1/admin/users', {
          headers: { ...inOrg, 'Content-Type': 'application/json' }, body: JSON.stringify({ email: a.email, role: 'agent' }),
        });
        assert.equal(r.status, 201, r.text);
        return r.json().url.split('#')[1];
      };
      const members = async () => (await p.request('GET', '/v1/admin/users', { headers: inOrg })).json().users;
      const answer = (r) => ({ status: r.status, body: r.json(), cookies: setCookies(r).length });
      const accepted = { status: 200, body: { organization: { id: org }, email: a.email }, cookies: 0 };

      // Another password (the inviter's guess): 200 as ever, nothing joined, the link still open.
      const guessed = await inviteIn();
      assert.deepEqual(answer(await acceptRequest(p, { token: guessed, name: 'Guess', password: 'the inviter\'s guess' })), accepted);
      assert.deepEqual(await members(), []);
      assertJsonError(await loginRequest(p, a.password, { email: a.email }), 401, 'Wrong email or password');

      // Its own password: the same answer, and it joins.
      const token = await inviteIn();
      assert.deepEqual(answer(await acceptRequest(p, { token, name: 'Another name', password: a.password })), accepted);
      const list = await members();
      assert.deepEqual(list.map((u) => u.email), [a.email], 'it joined');
      const [m] = list;
      assert.deepEqual({ id: m.id, email: m.email, name: m.name, role: m.role, disabled: m.disabled },
        { id: a.id, email: a.email, name: a.name, role: 'agent', disabled: false });
      // The guessed link stays pending (its account joined by another); the taken one is gone.
      const idOf = (t) => `inv_${crypto.createHash('sha256').update(Buffer.from(t, 'hex')).digest('hex').slice(0, 32)}`;
      assert.deepEqual((await p.request('GET', '/v1/admin/invitations', { headers: inOrg })).json().invitations.map((x) => x.id),
        [idOf(guessed)]);
      assertJsonError(await acceptRequest(p, { token, name: 'A', password: a.password }), 404,
        'Invitation not found or expired');
      // It logs in (as the invitation page does next) and lands in the new organisation; still disabled in default.
      const s = await login(p, a.password, { email: a.email });
      const me = (await s.get('/dashboard/api/session')).json();
      assert.deepEqual(me.organization, { id: org, role: 'agent' });
      assert.equal((await s.get(LIST)).status, 200);
      assert.notEqual((await s.get(LIST, { headers: { 'x-organization-id': 'default' } })).status, 200);
      const inDefault = (await owner.get('/v1/admin/users')).json().users.find((u) => u.id === a.id);
      assert.equal(inDefault.disabled, true);
    });

    // A wrong password once claimed the invitation: the lookup and the
    // acceptance answered 404 after it, and the person could not retry.
    test('a wrong password for the email\'s account spends nothing: the invite page still finds the invitation, and a try with the account\'s own password joins', async () => {
      const b = await addMember(p, { role: 'agent' });
      const o = await p.adminJson('POST', '/v1/admin/organizations', { name: 'Retry' });
      assert.equal(o.status, 201, o.text);
      const org = o.json().id;
      const r = await p.request('POST', '/v1/admin/users', {
        headers: { ...installIn(p, org), 'Content-Type': 'application/json' }, body: JSON.stringify({ email: b.email, role: 'admin' }),
      });
      assert.equal(r.status, 201, r.text);
      const token = r.json().url.split('#')[1];
      const view = () => p.request('POST', '/dashboard/api/invitations/view', {
        headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token }), localAddress: nextClient(),
      });
      const about = { organization: { id: org, name: 'Retry' }, email: b.email, role: 'admin' };
      const v0 = await view();
      assert.equal(v0.status, 200, v0.text);
      assert.deepEqual(v0.json(), about);
      const wrong = await acceptRequest(p, { token, name: b.name, password: 'not the account\'s password' });
      assert.equal(wrong.status, 200, wrong.text);
      const v1 = await view();
      assert.equal(v1.status, 200, v1.text);
      assert.deepEqual(v1.json(), about);
      const right = await acceptRequest(p, { token, name: b.name, password: b.password });
      assert.equal(right.status, 200, right.text);
      assert.deepEqual(right.json(), { organization: { id: org }, email: b.email });
      const me = (await b.session.get('/dashboard/api/session')).json();
      assert.ok(me.organizations.some((x) => x.id === org && x.role === 'admin'), JSON.stringify(me.organizations));
      // Now it is spent.
      assertJsonError(await view(), 404, 'Invitation not found or expired');
    });

    test('an active account takes an invitation anonymously with its own password: it joins, keeping its name and other organisations', async () => {
      const b = await addMember(p, { role: 'admin' });
      const o = await p.adminJson('POST', '/v1/admin/organizations', { name: 'Second' });
      assert.equal(o.status, 201, o.text);
      const org = o.json().id;
      const r = await p.request('POST', '/v1/admin/users', {
        headers: { ...installIn(p, org), 'Content-Type': 'application/json' }, body: JSON.stringify({ email: b.email, role: 'owner' }),
      });
      assert.equal(r.status, 201, r.text);
      const a = await acceptRequest(p, { token: r.json().url.split('#')[1], name: 'Not my name', password: b.password });
      assert.equal(a.status, 200, a.text);
      assert.deepEqual(a.json(), { organization: { id: org }, email: b.email });
      assert.equal(setCookies(a).length, 0);
      const me = (await b.session.get('/dashboard/api/session')).json();
      assert.equal(me.user.name, b.name);
      assert.deepEqual(me.organizations.map((x) => [x.id, x.role]).sort(), [['default', 'admin'], [org, 'owner']].sort());
    });

    test('another organisation\'s owner cannot lock a user out: its invitation joins nobody, and disabling or removing act on its own membership only', async () => {
      const o = await p.adminJson('POST', '/v1/admin/organizations', { name: 'Attacker' });
      assert.equal(o.status, 201, o.text);
      const org = o.json().id;
      const mallory = await addMember(p, { org, role: 'owner' });
      const m = mallory.session;
      const inB = { 'x-organization-id': org };
      const victim = await login(p);
      const vid = (await victim.get('/dashboard/api/session')).json().user.id;
      const inviteVictim = async () => {
        const r = await m.request('POST', '/v1/admin/users', { headers: inB, body: { email: 'owner@localhost', role: 'owner' } });
        assert.equal(r.status, 201, r.text);
        return r.json().url.split('#')[1];
      };
      // The invitation taken by the inviter: nothing joins, so nothing to disable.
      let token = await inviteVictim();
      const a = await acceptRequest(p, { token, name: 'Mallory', password: 'mallory\'s own password' });
      assert.equal(a.status, 200, a.text);
      assert.deepEqual(a.json(), { organization: { id: org }, email: 'owner@localhost' });
      assertJsonError(await m.request('PATCH', `/v1/admin/users/${vid}`, { headers: inB, body: { disabled: true } }), 404, 'User not found');
      assertJsonError(await m.request('DELETE', `/v1/admin/users/${vid}`, { headers: inB }), 404, 'User not found');
      assert.equal((await victim.get(LIST)).status, 200);
      // The victim joins of its own accord (signed in), then the other owner disables it there.
      token = await inviteVictim();
      const j = await victim.request('POST', ACCEPT, { body: { token } });
      assert.equal(j.status, 200, j.text);
      assert.equal((await victim.get(LIST, { headers: inB })).status, 200);
      const d = await m.request('PATCH', `/v1/admin/users/${vid}`, { headers: inB, body: { disabled: true } });
      assert.equal(d.status, 200, d.text);
      assert.equal(d.json().disabled, true);
      // Disabled in that organisation only: its session still works in its own, its password too.
      assert.notEqual((await victim.get(LIST, { headers: inB })).status, 200);
      assert.equal((await victim.get(LIST)).status, 200);
      assert.equal((await victim.get(LIST, { headers: { 'x-organization-id': 'default' } })).status, 200);
      const again = await login(p);
      const me = (await again.get('/dashboard/api/session')).json();
      assert.deepEqual(me.organization, { id: 'default', role: 'owner' });
      assert.ok(!me.organizations.some((x) => x.id === org), JSON.stringify(me.organizations));
      const listed = (r) => r.json().users.find((u) => u.id === vid);
      assert.equal(listed(await m.get('/v1/admin/users', { headers: inB })).disabled, true);
      assert.equal(listed(await again.get('/v1/admin/users')).disabled, false);
      // Default's last-owner guard still counts it: it is default's only enabled owner.
      assertJsonError(await again.request('PATCH', `/v1/admin/users/${vid}`, { body: { disabled: true } }), 409,
        'An organization keeps at least one owner');
      // Removed from that organisation: the account and its sessions stay.
      const del = await m.request('DELETE', `/v1/admin/users/${vid}`, { headers: inB });
      assert.equal(del.status, 200, del.text);
      assert.equal((await victim.get(LIST)).status, 200);
      assert.equal(listed(await again.get('/v1/admin/users')).role, 'owner');
      await login(p);
    });

    test('invitations are counted per organisation: 1,000 pending in one leave the others free to invite', async () => {
      const o = await p.adminJson('POST', '/v1/admin/organizations', { name: 'Inviter' });
      assert.equal(o.status, 201, o.text);
      const org = o.json().id;
      const key = { 'Content-Type': 'application/json', 'x-admin-api-key': p.adminKey, 'x-organization-id': org };
      const one = (i) => p.request('POST', '/v1/admin/users', {
        headers: key, body: JSON.stringify({ email: `bulk-${i}@example.com`, role: 'agent' }),
      });
      let made = 0;
      const t0 = Date.now();
      // Batches of 25 side by side: bounded in count and in time.
      for (let i = 0; i < 1000 && Date.now() - t0 < 300000; i += 25) {
        const rs = await Promise.all(Array.from({ length: 25 }, (_, k) => one(i + k)));
        for (const r of rs) assert.equal(r.status, 201, r.text);
        made += rs.length;
      }
      assert.equal(made, 1000);
      assertJsonError(await one(1000), 400, 'invitations: at most 1000 pending in an organization (revoke some first)');
      // Another organisation, and the default one, still invite.
      const c = await p.adminJson('POST', '/v1/admin/organizations', { name: 'Other' });
      assert.equal(c.status, 201, c.text);
      const r = await p.request('POST', '/v1/admin/users', {
        headers: { ...key, 'x-organization-id': c.json().id }, body: JSON.stringify({ email: 'free@example.com', role: 'agent' }),
      });
      assert.equal(r.status, 201, r.text);
      assert.equal((await invite(p, { email: 'free@example.com', role: 'agent' })).status, 201);
    });

    test('GET /v1/admin/invitations lists the organisation\'s pending ones (no token); DELETE revokes one; another organisation\'s is 404', async () => {
      const api = await checkerFor(p);
      const o = await p.adminJson('POST', '/v1/admin/organizations', { name: 'Lister' });
      assert.equal(o.status, 201, o.text);
      const org = o.json().id;
      const inOrg = { 'x-admin-api-key': p.adminKey, 'x-organization-id': org };
      const made = await p.request('POST', '/v1/admin/users', {
        headers: { ...inOrg, 'Content-Type': 'application/json' }, body: JSON.stringify({ email: 'Lee@Example.com', role: 'admin' }),
      });
      assert.equal(made.status, 201, made.text);
      const token = made.json().url.split('#')[1];
      const r = await p.request('GET', '/v1/admin/invitations', { headers: inOrg });
      assert.equal(r.status, 200, r.text);
      api.checkJson('GET', '/v1/admin/invitations', r);
      const { invitations } = r.json();
      assert.equal(invitations.length, 1);
      const [inv] = invitations;
      assert.match(inv.id, /^inv_[0-9a-f]{32}$/);
      assert.deepEqual({ email: inv.email, role: inv.role }, { email: 'lee@example.com', role: 'admin' });
      assert.equal(inv.expires_at - inv.created_at, 7 * 24 * 3600 * 1000);
      assert.ok(!r.text.includes(token), 'never the token');
      // Not in another organisation's list, and not revocable from there.
      const mine = (await p.admin('/v1/admin/invitations')).json().invitations;
      assert.ok(!mine.some((x) => x.id === inv.id));
      const path = `/v1/admin/invitations/${inv.id}`;
      const other = await p.request('DELETE', path, { headers: { 'x-admin-api-key': p.adminKey } });
      assertJsonError(other, 404, 'Invitation not found');
      api.checkJson('DELETE', path, other);
      assertJsonError(await p.request('DELETE', '/v1/admin/invitations/nope', { headers: inOrg }), 404, 'Invitation not found');
      // An agent of the organisation may not list them.
      const agent = await addMember(p, { org, role: 'agent' });
      assert.equal((await agent.session.get('/v1/admin/invitations', { headers: { 'x-organization-id': org } })).status, 403);
      // Revoked: gone from the list, and its link no longer works.
      const d = await p.request('DELETE', path, { headers: inOrg });
      assert.equal(d.status, 200, d.text);
      api.checkJson('DELETE', path, d);
      assert.deepEqual(d.json(), { deleted: true });
      assert.deepEqual((await p.request('GET', '/v1/admin/invitations', { headers: inOrg })).json().invitations
        .filter((x) => x.email === 'lee@example.com'), []);
      assertJsonError(await acceptRequest(p, { token, name: 'Lee', password: NEW_PASSWORD }), 404, 'Invitation not found or expired');
      assertJsonError(await p.request('DELETE', path, { headers: inOrg }), 404, 'Invitation not found');
    });

    test('a member removed: the spare links of its invitations into that organisation stop working (they let it back in)', async () => {
      const o = await p.adminJson('POST', '/v1/admin/organizations', { name: 'Spare' });
      assert.equal(o.status, 201, o.text);
      const org = o.json().id;
      const inOrg = { 'x-admin-api-key': p.adminKey, 'x-organization-id': org };
      const invited = async (email) => {
        const r = await p.request('POST', '/v1/admin/users', {
          headers: { ...inOrg, 'Content-Type': 'application/json' }, body: JSON.stringify({ email, role: 'admin' }),
        });
        assert.equal(r.status, 201, r.text);
        return r.json().url.split('#')[1];
      };
      const pending = async (email) => (await p.request('GET', '/v1/admin/invitations', { headers: inOrg })).json().invitations
        .filter((x) => x.email === email);
      const remove = async (id) => {
        const d = await p.request('DELETE', `/v1/admin/users/${id}`, { headers: inOrg });
        assert.equal(d.status, 200, d.text);
      };
      // Invited twice (the owner sent the link again), joined with one.
      const email = `spare-${crypto.randomBytes(4).toString('hex')}@example.com`;
      const [t1, t2] = [await invited(email), await invited(email)];
      assert.equal((await acceptRequest(p, { token: t1, name: 'Spare', password: NEW_PASSWORD })).status, 200);
      const s = await login(p, NEW_PASSWORD, { email });
      await remove((await s.get('/dashboard/api/session')).json().user.id);
      assert.deepEqual(await pending(email), [], 'its removal took the spare invitation');
      assertJsonError(await acceptRequest(p, { token: t2, name: 'Spare', password: NEW_PASSWORD }), 404,
        'Invitation not found or expired');
      assert.equal((await loginRequest(p, NEW_PASSWORD, { email })).status, 401, 'not back in as an admin');
      // An account of another organisation too: joined signed in, removed, its spare link is spent.
      const m = await addMember(p, { role: 'agent' });
      const [u1, u2] = [await invited(m.email), await invited(m.email)];
      const signedIn = (token) => p.request('POST', ACCEPT, {
        headers: m.session.headers({ json: true }), body: JSON.stringify({ token }), localAddress: nextClient(), timeout: 10000,
      });
      assert.equal((await signedIn(u1)).status, 200);
      await remove(m.id);
      assert.deepEqual(await pending(m.email), []);
      assertJsonError(await signedIn(u2), 404, 'Invitation not found or expired');
      assertJsonError(await m.session.get('/dashboard/api/session', { headers: { 'x-organization-id': org } }), 404,
        'Organization not found');
    });

    test('accepting is counted as a login: the 11th attempt in a minute from one client is 429 with Retry-After', async () => {
      const from = nextClient();
      const body = () => ({ token: crypto.randomBytes(32).toString('hex'), name: 'N', password: NEW_PASSWORD });
      // The first ten side by side, then the 11th.
      const first = await Promise.all(Array.from({ length: 10 }, () => acceptRequest(p, body(), from)));
      for (const r of first) assertJsonError(r, 404, 'Invitation not found or expired');
      const r = await acceptRequest(p, body(), from);
      assertJsonError(r, 429, 'Too many login attempts, try again later');
      assert.match(r.headers['retry-after'] || '', /^\d+$/);
      // And so is a login from that client.
      assertJsonError(await loginRequest(p, PASSWORD, { localAddress: from }), 429, 'Too many login attempts, try again later');
      // The signed-in account's acceptance ({"token"} alone) counts too.
      const m = await addMember(p, { role: 'agent' });
      const from2 = nextClient();
      const mine = () => p.request('POST', ACCEPT, { headers: m.session.headers({ json: true }), localAddress: from2,
        body: JSON.stringify({ token: crypto.randomBytes(32).toString('hex') }) });
      const ten = await Promise.all(Array.from({ length: 10 }, mine));
      for (const x of ten) assertJsonError(x, 404, 'Invitation not found or expired');
      assertJsonError(await mine(), 429, 'Too many login attempts, try again later');
    });
  });

  describe('people: DASHBOARD_OWNER_EMAIL, PARLEY_PUBLIC_URL', { concurrency: 1 }, () => {
    const PUBLIC = 'https://chat.example.com/parley/';
    let p;
    before(async () => {
      p = new Parley({ workers: 2, env: {
        DASHBOARD_PASSWORD: PASSWORD, DASHBOARD_OWNER_EMAIL: 'Boss@Example.COM', PARLEY_PUBLIC_URL: PUBLIC,
      } });
      await p.start();
    });
    after(() => p?.stop());

    test('that email logs in with DASHBOARD_PASSWORD (and {"password"} alone is it); owner@localhost is nobody', async () => {
      const a = await login(p, PASSWORD, { email: 'boss@example.com' });
      const me = (await a.get('/dashboard/api/session')).json();
      assert.equal(me.user.email, 'boss@example.com');
      assert.deepEqual(me.organization, { id: 'default', role: 'owner' });
      const b = await login(p);
      assert.equal((await b.get('/dashboard/api/session')).json().user.id, me.user.id);
      assertJsonError(await loginRequest(p, PASSWORD, { email: 'owner@localhost' }), 401, 'Wrong email or password');
    });

    // (Unset, the link's origin is the request's Host: "POST /v1/admin/users: 201", above.)
    test('PARLEY_PUBLIC_URL set: the invitation link starts with it (its slash not doubled), not the Host; accepted, it works', async () => {
      const s = await login(p, PASSWORD, { email: 'boss@example.com' });
      for (const r of [await invite(p, { email: 'dee@example.com', role: 'agent' }, s),
        await invite(p, { email: 'dee@example.com', role: 'agent' })]) {
        assert.equal(r.status, 201, r.text);
        assert.match(r.json().url, /^https:\/\/chat\.example\.com\/parley\/dashboard\/invite#[0-9a-f]{64}$/);
      }
      const made = await invite(p, { email: 'dee@example.com', role: 'agent' }, s);
      const token = made.json().url.split('#')[1];
      const a = await acceptRequest(p, { token, name: 'Dee', password: NEW_PASSWORD });
      assert.equal(a.status, 200, a.text);
      const d = await login(p, NEW_PASSWORD, { email: 'dee@example.com' });
      const me = (await d.get('/dashboard/api/session')).json();
      assert.equal(me.user.email, 'dee@example.com');
      assert.deepEqual(me.organization, { id: 'default', role: 'agent' });
    });
  });

  // Before the operator's first login, another organisation invited the
  // first owner's email and accepted it (a review's find): that login only
  // set the password, leaving the operator an agent of that organisation
  // and the default one without an owner. The first login makes the
  // account an owner of the default organisation whoever made it.
  describe('people: the first owner\'s email taken before the first login', () => {
    let p;
    before(async () => {
      p = new Parley({ workers: 1, env: { DASHBOARD_PASSWORD: PASSWORD } });
      await p.start();
    });
    after(() => p?.stop());

    test('the first login still makes owner@localhost an owner of the default organisation', async () => {
      const json = { 'Content-Type': 'application/json' };
      let r = await p.request('POST', '/v1/admin/organizations', { headers: { ...installIn(p), ...json }, body: JSON.stringify({ name: 'Tenant' }) });
      assert.equal(r.status, 201, r.text);
      const tenant = r.json().id;
      const { key } = await addKey(p, { org: tenant, role: 'owner' });
      r = await p.request('POST', '/v1/admin/users', { headers: { 'x-admin-api-key': key, ...json }, body: JSON.stringify({ email: 'owner@localhost', role: 'agent' }) });
      assert.equal(r.status, 201, r.text);
      const token = new URL(r.json().url).hash.slice(1);
      r = await p.request('POST', '/dashboard/api/invitations/accept', { headers: json,
        body: JSON.stringify({ token, name: 'Not the operator', password: 'the tenant chose this one' }) });
      assert.equal(r.status, 200, r.text);
      const s = await login(p);
      const me = (await s.get('/dashboard/api/session')).json();
      assert.deepEqual(me.organizations.map((o) => [o.id, o.role]).sort(), [['default', 'owner'], [tenant, 'agent']].sort());
      r = await p.request('GET', '/v1/admin/users', { headers: installIn(p, 'default') });
      assert.deepEqual(r.json().users.map((u) => [u.email, u.role, u.disabled]), [['owner@localhost', 'owner', false]]);
      // The tenant's password no longer opens it.
      assert.equal((await loginRequest(p, 'the tenant chose this one', { email: 'owner@localhost' })).status, 401);
    });
  });

  // An owner removed DASHBOARD_PASSWORD's first owner (its only
  // organisation, so its account went): each worker's start made it again,
  // owner of the default organisation with the same password, so a
  // restart (or a worker's crash) undid the Remove. It stays removed until
  // DASHBOARD_PASSWORD changes.
  describe('people: the first owner removed by an owner', () => {
    let p;
    before(async () => {
      p = new Parley({ workers: 1, env: { DASHBOARD_PASSWORD: PASSWORD } });
      await p.start();
    });
    after(() => p?.stop());

    test('stays removed after a restart with the same DASHBOARD_PASSWORD; a new one makes it again', async () => {
      const first = (await (await login(p)).get('/dashboard/api/session')).json().user;
      assert.equal(first.email, 'owner@localhost');
      const other = await addMember(p, { role: 'owner' });
      let r = await other.session.request('DELETE', `/v1/admin/users/${first.id}`);
      assert.equal(r.status, 200, r.text);
      const emails = async () => (await p.request('GET', '/v1/admin/users', { headers: installIn(p) })).json().users.map((u) => [u.email, u.role]);
      assert.deepEqual(await emails(), [[other.email, 'owner']]);
      await p.restartMaster();
      assertJsonError(await loginRequest(p, PASSWORD), 401, 'Wrong password');
      assert.deepEqual(await emails(), [[other.email, 'owner']], 'the removed first owner was made again');
      await p.waitLog('storaged', /owner@localhost was removed by an owner: not made again until DASHBOARD_PASSWORD changes/);
      // An account made for the email since (another organisation's
      // invitation) is not taken over under the same password either.
      const json = { 'Content-Type': 'application/json' };
      r = await p.request('POST', '/v1/admin/organizations', { headers: { ...installIn(p), ...json }, body: JSON.stringify({ name: 'Tenant' }) });
      const tenant = r.json().id;
      r = await p.request('POST', '/v1/admin/users', { headers: { ...installIn(p, tenant), ...json }, body: JSON.stringify({ email: 'owner@localhost', role: 'agent' }) });
      assert.equal(r.status, 201, r.text);
      r = await p.request('POST', '/dashboard/api/invitations/accept', { headers: json,
        body: JSON.stringify({ token: new URL(r.json().url).hash.slice(1), name: 'A tenant', password: 'the tenant chose this one' }) });
      assert.equal(r.status, 200, r.text);
      await p.restartMaster();
      assertJsonError(await loginRequest(p, PASSWORD), 401, 'Wrong password');
      assert.deepEqual(await emails(), [[other.email, 'owner']]);
      assert.equal((await loginRequest(p, 'the tenant chose this one', { email: 'owner@localhost' })).status, 200);
      // Another DASHBOARD_PASSWORD: the operator's choice, made again as before.
      await p.restartMaster({ DASHBOARD_PASSWORD: `${PASSWORD} changed` });
      const s = await login(p, `${PASSWORD} changed`);
      const me = (await s.get('/dashboard/api/session')).json();
      assert.equal(me.user.email, 'owner@localhost');
      assert.deepEqual(me.organizations.map((o) => [o.id, o.role]).sort(), [['default', 'owner'], [tenant, 'agent']].sort());
    });
  });
});
