// The role matrix (issue 22, "Must show"), generated from workerd/router.c's
// routes[] (lib/routes.mjs): every admin route × (a dashboard user who is
// owner, admin, agent; an API key of each role) → allowed or 403 exactly as
// the route's role says. Allowed means the request passed the gate: any
// answer but 401 and 403 (the ids are of nothing, the bodies empty, so
// nothing is changed). The organisations' routes are the install key's
// alone: 403 "Only the install API key may do this" for every one of them.
// A user's own email notifications and profile are a dashboard user's: 403
// to any key.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { Parley } from './lib/harness.mjs';
import { buildRequest } from './lib/http.mjs';
import { addKey, addMember } from './lib/people.mjs';
import { ROLES, adminRoutes } from './lib/routes.mjs';

const hex = () => crypto.randomBytes(16).toString('hex');

// A path of the route's shape whose ids name nothing.
function concrete(p) {
  return p.replace(/:(\w+)/g, (_, name) => ({ key_id: `key_${hex()}`, org_id: `org_${hex()}`, wid: `wid_${hex()}`,
    user_id: `usr_${hex()}`, hook_id: `wh_${hex()}` })[name] ?? hex());
}

describe('the role matrix, from the route table', () => {
  let p;
  const principals = [];

  before(async () => {
    p = new Parley({ workers: 2, env: { RATE_LIMIT_MAX_REQUESTS: '0' } });
    await p.start();
    for (const role of Object.keys(ROLES)) {
      const m = await addMember(p, { role });
      principals.push({ name: `${role} user`, role, headers: (write) => m.session.headers({ csrf: write }) });
      const k = await addKey(p, { role });
      principals.push({ name: `${role} key`, role, headers: () => ({ 'x-admin-api-key': k.key }) });
    }
  });
  after(() => p?.stop());

  // The status line of a request whose answer may be a stream (the events).
  async function statusOf(method, pathname, headers) {
    const c = await p.connect();
    try {
      await c.write(buildRequest(method, pathname, { host: `127.0.0.1:${p.port}`, headers }));
      await c.waitData(5000);
      const m = /^HTTP\/1\.1 (\d{3})/.exec(c.buf.toString('latin1'));
      assert.ok(m, `${method} ${pathname}: no status line`);
      return Number(m[1]);
    } finally {
      c.destroy();
    }
  }

  test('every admin route × every principal: 403 below the route\'s role, through the gate at or above it', async () => {
    const routes = adminRoutes().filter((r) => r.method !== 'OPTIONS' && r.method !== 'HEAD');
    assert.ok(routes.some((r) => r.role === ROLES.agent) && routes.some((r) => r.role === ROLES.admin) &&
      routes.some((r) => r.role === ROLES.owner), 'the table names every role');
    let checked = 0;
    for (const route of routes) {
      for (const who of principals) {
        const write = route.method !== 'GET';
        const pathname = concrete(route.path);
        const what = `${route.method} ${route.path} as the ${who.name}`;
        if (route.path === '/v1/admin/events') {
          const status = await statusOf('GET', pathname, who.headers(false));
          if (ROLES[who.role] < route.role) assert.equal(status, 403, what);
          else assert.equal(status, 200, what);
          checked++;
          continue;
        }
        const body = write && route.method !== 'DELETE' ? '{}' : undefined;
        const headers = { ...who.headers(write), ...(body ? { 'Content-Type': 'application/json' } : {}) };
        const r = await p.request(route.method, pathname, { headers, body });
        assert.notEqual(r.status, 401, `${what}: ${r.text}`);
        if (route.install) {
          assert.equal(r.status, 403, what);
          assert.deepEqual(r.json(), { error: 'Only the install API key may do this' }, what);
        } else if ((route.path === '/v1/admin/notifications' || route.path.startsWith('/v1/admin/profile')) &&
          who.name.endsWith(' key')) {
          assert.equal(r.status, 403, what);
          assert.match(r.json().error, /dashboard user's own/, what);
        } else if (ROLES[who.role] < route.role) {
          assert.equal(r.status, 403, what);
          assert.deepEqual(r.json(), { error: 'Your role may not do this' }, what);
        } else {
          assert.notEqual(r.status, 403, `${what}: ${r.text}`);
        }
        checked++;
      }
    }
    assert.equal(checked, routes.length * principals.length);
  });
});
