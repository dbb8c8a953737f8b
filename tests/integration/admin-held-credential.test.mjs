// A write held by its URL's check meets the end of its credential. A
// webhook's, an agent's base_url, an action's or a knowledge source's URL
// whose host is a name is resolved off the worker's loop before the write
// is sent to storaged (admin/entity.c's vet), for as long as its name
// server takes; the role was checked at the gate, before. A member removed
// or given another role, a session logged out or a key deleted meanwhile
// must not have the write stored with the credential as it was: it is
// answered 401 and nothing is stored or audited (credwatch.c watches it
// while it waits). The test build resolves a name under slow.test to a
// public address PARLEY_TEST_SLOW_LOOKUP_MS late (notify/lookup.c), as a
// name server of the member's own that answers late would. A password
// change, held by its hashes (PARLEY_TEST_HASH_LATE_MS, admin/hashpool.c),
// is watched the same way until the new password is sent.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { Parley, waitFor } from './lib/harness.mjs';
import { PASSWORD, login } from './lib/dashboard.mjs';
import { buildRequest } from './lib/http.mjs';
import { addKey, addMember } from './lib/people.mjs';

const LATE = 3000;	// ms a name under slow.test takes to resolve
const HELD = 400;	// ms after a client's reset for its worker to drop the request
const ENDED = /^Unauthorized: the credential this request was made with ended/;

// The two parts, each on a stack of its own, side by side: each mostly
// waits (a lookup's LATE, a hash's LATE_HASH). Within each, its tests
// one after another (each part says concurrency false: it would inherit
// true).
describe('a held write or password change, its credential ended meanwhile', { concurrency: true }, () => {
  describe('a write held by its URL\'s check, its credential ended meanwhile', { concurrency: false }, () => {
    let p;
    let owner;

    before(async () => {
      p = new Parley({ workers: 2, env: { DASHBOARD_PASSWORD: PASSWORD, RATE_LIMIT_MAX_REQUESTS: '0',
        PARLEY_TEST_SLOW_LOOKUP_MS: String(LATE) } });
      await p.start();
      owner = await login(p);
    });
    after(() => p?.stop());

    const install = (method, path, body) => p.adminJson(method, path, body);
    const audit = async () => {
      const r = await p.admin('/v1/admin/audit?limit=200');
      assert.equal(r.status, 200, r.text);
      return r.json().entries;
    };
    // The audit entries of who (a member's user id, or a key's id) of action.
    const auditOf = async (who, action) => (await audit()).filter((e) =>
      e.action === action && (e.who?.user === who || e.who?.id === who));
    // The slow names' lookups begun so far (the test hook's log line):
    // past a new one, the write is held by it for LATE ms.
    const lookups = () => (p.logs.masterd.match(/test hook: [^ ]+\.slow\.test resolves/g) || []).length;
    // When the last write seen held began its lookup: a write answered 401
    // leaves its lookup running LATE ms, holding one of its organisation's
    // slots on that worker (NOTIFY_LOOKUPS_ORG, 4), past which a write is
    // 503 "Too many URLs being checked" with no lookup at all.
    let heldAt = 0;
    const held = async (before_) => {
      await waitFor(() => lookups() > before_, 10000, 'the write held by its lookup');
      heldAt = Date.now();
    };
    // The earlier writes' lookups ended: their slots free again.
    const slotsFree = () => sleep(Math.max(0, heldAt + LATE + 200 - Date.now()));

    test('without an end meanwhile, the held write is stored once its name resolves', async () => {
      const m = await addMember(p, { role: 'admin' });
      const other = await addMember(p, { role: 'admin' });
      const t0 = Date.now();
      const lk = lookups();
      const pending = m.session.request('POST', '/v1/admin/webhooks',
        { body: { url: 'https://hook.slow.test/in', events: ['message.created'] }, timeout: 20000 });
      await held(lk);
      // Another member's end is not this request's.
      assert.equal((await owner.request('DELETE', `/v1/admin/users/${other.id}`)).status, 200);
      const r = await pending;
      assert.equal(r.status, 201, r.text);
      assert.ok(Date.now() - t0 >= LATE - 100, `held by the lookup (${Date.now() - t0} ms)`);
      assert.equal(r.json().url, 'https://hook.slow.test/in');
      assert.equal((await auditOf(m.id, 'webhook.create')).length, 1);
      assert.equal((await install('DELETE', `/v1/admin/webhooks/${r.json().id}`)).status, 200);
    });

    test('an admin removed while its webhook\'s URL resolves: 401, no webhook, nothing audited', async () => {
      const m = await addMember(p, { role: 'admin' });
      const before_ = (await p.admin('/v1/admin/webhooks')).json().webhooks.length;
      const lk = lookups();
      const pending = m.session.request('POST', '/v1/admin/webhooks',
        { body: { url: 'https://hook.slow.test/all', events: ['message.created', 'conversation.created'] }, timeout: 20000 });
      await held(lk);
      assert.equal((await owner.request('DELETE', `/v1/admin/users/${m.id}`)).status, 200);
      const r = await pending;
      assert.equal(r.status, 401, r.text);
      assert.match(r.json().error, ENDED);
      const hooks = (await p.admin('/v1/admin/webhooks')).json().webhooks;
      assert.equal(hooks.length, before_, JSON.stringify(hooks));
      assert.ok(!hooks.some((h) => h.url === 'https://hook.slow.test/all'));
      assert.deepEqual(await auditOf(m.id, 'webhook.create'), []);
    });

    test('an admin demoted to agent while an agent\'s new base_url resolves: 401, the agent unchanged', async () => {
      const m = await addMember(p, { role: 'admin' });
      let r = await install('POST', '/v1/admin/agents', { name: 'Sales' });
      assert.equal(r.status, 201, r.text);
      const ag = r.json();
      const lk = lookups();
      const pending = m.session.request('PATCH', `/v1/admin/agents/${ag.id}`,
        { body: { base_url: 'https://model.slow.test/v1' }, timeout: 20000 });
      await held(lk);
      r = await owner.request('PATCH', `/v1/admin/users/${m.id}`, { body: { role: 'agent' } });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json().role, 'agent');
      r = await pending;
      assert.equal(r.status, 401, r.text);
      assert.match(r.json().error, ENDED);
      r = await p.admin(`/v1/admin/agents/${ag.id}`);
      assert.equal(r.json().base_url, ag.base_url);
      assert.deepEqual(await auditOf(m.id, 'agent.update'), []);
      // As an agent now, the same change is refused at the gate.
      r = await m.session.request('PATCH', `/v1/admin/agents/${ag.id}`, { body: { base_url: 'https://model.slow.test/v1' } });
      assert.equal(r.status, 403, r.text);
    });

    test('an admin key deleted while its action\'s URL resolves: 401, no action', async () => {
      const k = await addKey(p, { role: 'admin' });
      const lk = lookups();
      const pending = p.request('POST', '/v1/admin/actions', {
        headers: { 'x-admin-api-key': k.key, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'order_status', description: 'Looks up an order.',
          parameters: { type: 'object', properties: {} }, url: 'https://api.slow.test/orders' }),
        timeout: 20000,
      });
      await held(lk);
      assert.equal((await owner.request('DELETE', `/v1/admin/api-keys/${k.id}`)).status, 200);
      const r = await pending;
      assert.equal(r.status, 401, r.text);
      assert.match(r.json().error, ENDED);
      const actions = (await p.admin('/v1/admin/actions')).json().actions;
      assert.ok(!actions.some((a) => a.url === 'https://api.slow.test/orders'), JSON.stringify(actions));
      assert.deepEqual(await auditOf(k.id, 'action.create'), []);
    });

    test('a session logged out while its knowledge source\'s URL resolves: 401, no source', async () => {
      const m = await addMember(p, { role: 'admin' });
      const again = await login(p, m.password, { email: m.email });	// the same user, another session
      const lk = lookups();
      const pending = m.session.request('POST', '/v1/admin/knowledge/sources',
        { body: { type: 'crawl', url: 'https://docs.slow.test/', max_pages: 10, sync_hours: 24 }, timeout: 20000 });
      await held(lk);
      assert.equal((await m.session.request('POST', '/dashboard/api/logout')).status, 204);
      const r = await pending;
      assert.equal(r.status, 401, r.text);
      assert.match(r.json().error, ENDED);
      const sources = (await again.get('/v1/admin/knowledge/sources')).json().sources;
      assert.ok(!sources.some((s) => s.url === 'https://docs.slow.test/'), JSON.stringify(sources));
      assert.deepEqual(await auditOf(m.id, 'knowledge_source.create'), []);
    });

    test('a client gone (reset) while its URL resolves, its member removed after: its watch went with it', async () => {
      const m = await addMember(p, { role: 'admin' });
      // Four writes answered 401 just before, each lookup still running:
      // had all four reached this socket's worker, this write was 503.
      await slotsFree();
      const sock = net.connect(p.port, '127.0.0.1');
      await once(sock, 'connect');
      const lk = lookups();
      sock.write(buildRequest('POST', '/v1/admin/webhooks', { headers: m.session.headers({ json: true }),
        body: JSON.stringify({ url: 'https://gone.slow.test/in', events: ['message.created'] }) }));
      await held(lk);
      sock.resetAndDestroy();	// an RST: the worker drops the request and its vet
      await sleep(HELD);
      // The event walks the watches: a freed one would be the sanitizer's report at stop.
      assert.equal((await owner.request('DELETE', `/v1/admin/users/${m.id}`)).status, 200);
      await sleep(LATE);
      const hooks = (await p.admin('/v1/admin/webhooks')).json().webhooks;
      assert.ok(!hooks.some((h) => h.url === 'https://gone.slow.test/in'), JSON.stringify(hooks));
      assert.equal((await p.get('/health')).status, 200);
    });
  });

  describe('a password change held by its hashes, its session ended meanwhile', { concurrency: false }, () => {
    // Each hash this late: a change is held by its two, 2.4 s past its
    // attempt counted (held() below); an end made then must reach its
    // worker within that, however loaded the machine. Logins and checks
    // hash too: the file's time. The owner and each test's member (its
    // password hashed, then its login) are made side by side before the
    // tests (each worker hashes on HASHPOOL_THREADS threads), not one
    // after another.
    const LATE_HASH = 1200;
    const PW = '/v1/admin/profile/password';
    let p;
    let owner;
    let members; // one a test, in order

    before(async () => {
      p = new Parley({ workers: 2, env: { DASHBOARD_PASSWORD: PASSWORD, RATE_LIMIT_MAX_REQUESTS: '0',
        PARLEY_TEST_HASH_LATE_MS: String(LATE_HASH) } });
      await p.start();
      [owner, ...members] = await Promise.all([login(p), ...['agent', 'agent', 'admin'].map((role) => addMember(p, { role }))]);
    });
    after(() => p?.stop());

    const loginStatus = async (m, password) => (await p.request('POST', '/dashboard/api/login', {
      headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email: m.email, password }) })).status;
    // storaged's count of dashboard login attempts; a password change is
    // one, counted after its watch began and just before its first hash
    // (profile.c): past it, an end of its session is the held change's.
    const attempts = async () => {
      const r = await p.get('/metrics', { headers: { 'x-admin-api-key': p.adminKey } });
      assert.equal(r.status, 200);
      return Number(/^parley_storage_requests_total\{type="ST_DASH_ATTEMPT"\} (\d+)$/m.exec(r.text)?.[1] ?? 0);
    };
    const held = async (before_) => waitFor(async () => await attempts() > before_, 10000, 'the password change counted as a login attempt');
    const changes = async (m) => (await p.admin('/v1/admin/audit?limit=200')).json().entries.filter((e) =>
      e.action === 'user.password' && e.who?.user === m.id);

    test('without an end meanwhile, the held change is made', async () => {
      const m = members[0];
      const t0 = Date.now();
      const r = await m.session.request('POST', PW, { body: { current_password: m.password, new_password: `${m.password} new` },
        timeout: 20000 });
      assert.equal(r.status, 204, r.text);
      assert.ok(Date.now() - t0 >= 2 * LATE_HASH - 100, `held by its two hashes (${Date.now() - t0} ms)`);
      assert.equal((await changes(m)).length, 1);
    });

    test('a session logged out while its password change is hashed: 401, the password unchanged', async () => {
      const m = members[1];
      const before_ = await attempts();
      const pending = m.session.request('POST', PW, { body: { current_password: m.password, new_password: `${m.password} new` },
        timeout: 20000 });
      await held(before_);
      assert.equal((await m.session.request('POST', '/dashboard/api/logout')).status, 204);
      const r = await pending;
      assert.equal(r.status, 401, r.text);
      assert.match(r.json().error, /^Unauthorized: the session this password change was made with ended/);
      // Both logins at once (each hashed LATE_HASH late): the new password
      // refused, the old one taken.
      const [fresh, old] = await Promise.all([loginStatus(m, `${m.password} new`), loginStatus(m, m.password)]);
      assert.equal(fresh, 401);
      assert.equal(old, 200);
      assert.deepEqual(await changes(m), []);
    });

    test('a member disabled while its password change is hashed: 401, the password unchanged', async () => {
      const m = members[2];
      const before_ = await attempts();
      const pending = m.session.request('POST', PW, { body: { current_password: m.password, new_password: `${m.password} new` },
        timeout: 20000 });
      await held(before_);
      let r = await owner.request('PATCH', `/v1/admin/users/${m.id}`, { body: { disabled: true } });
      assert.equal(r.status, 200, r.text);
      r = await pending;
      assert.equal(r.status, 401, r.text);
      r = await owner.request('PATCH', `/v1/admin/users/${m.id}`, { body: { disabled: false } });
      assert.equal(r.status, 200, r.text);
      // Both logins at once (each hashed LATE_HASH late): the new password
      // refused, the old one taken.
      const [fresh, old] = await Promise.all([loginStatus(m, `${m.password} new`), loginStatus(m, m.password)]);
      assert.equal(fresh, 401);
      assert.equal(old, 200);
      assert.deepEqual(await changes(m), []);
    });
  });
});
