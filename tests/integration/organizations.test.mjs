// The organisations admin API (issue 22, its first slice): create, list
// (the default first), get, rename, delete; the default organisation,
// which exists from the start and cannot be deleted (409); the 400s
// naming the field, 404 for an unknown or malformed id, 401 without the
// key, 403 for a dashboard session (the install key only: R_INSTALL in
// the router); what was made survives a storaged restart; a deleted
// organisation's widgets answer no visitor at once, before the sweep
// removes them; a daily turn budget that holds across an organisation's
// widgets (WebSocket and chat API), set and unset by PATCH. Every JSON
// answer is validated against the OpenAPI document the server serves.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Parley, waitFor } from './lib/harness.mjs';
import { assertJsonError } from './lib/checks.mjs';
import { login, PASSWORD } from './lib/dashboard.mjs';
import { Events } from './lib/events.mjs';
import { adminCall, checkerFor } from './lib/openapi.mjs';
import { addKey, addMember } from './lib/people.mjs';
import { Visitor } from './lib/wsclient.mjs';

const O = '/v1/admin/organizations';
const ID_RE = /^org_[0-9a-f]{32}$/;
const UNKNOWN = `org_${'0'.repeat(32)}`;
const NOT_FOUND = 'Organization not found';
const INSTALL_ONLY = 'Only the install API key may do this';

describe('organizations admin API', () => {
  let p;
  let api;

  const call = (...a) => adminCall(p, api, ...a);

  async function create(name) {
    const r = await call('POST', O, { name });
    assert.equal(r.status, 201, r.text);
    return r.json();
  }

  before(async () => {
    p = new Parley({ workers: 2, mock: true, env: { DASHBOARD_PASSWORD: PASSWORD } });
    await p.start();
    api = await checkerFor(p);
  });
  after(async () => {
    if (p) await p.stop();
  });

  test('the default organization exists from the start and leads the list', async () => {
    const r = await call('GET', O);
    assert.equal(r.status, 200);
    const list = r.json().organizations;
    assert.equal(list[0].id, 'default');
    assert.equal(list[0].name, 'Default');
    assert.deepEqual(Object.keys(list[0]).sort(), ['created_at', 'daily_turn_budget', 'id', 'name', 'updated_at']);
    assert.equal(list[0].daily_turn_budget, null, 'no budget until the install sets one');
    const g = await call('GET', `${O}/default`);
    assert.equal(g.status, 200);
    assert.deepEqual(g.json(), list[0]);
  });

  test('create, list, get, rename, delete', async () => {
    const a = await create('Acme');
    assert.match(a.id, ID_RE);
    assert.equal(a.name, 'Acme');
    assert.ok(Number.isInteger(a.created_at) && a.created_at > 1.7e12, 'created_at in ms');
    assert.equal(a.updated_at, a.created_at);
    const b = await create('Émile & fils');

    let r = await call('GET', O);
    const ids = r.json().organizations.map((o) => o.id);
    assert.equal(ids[0], 'default');
    assert.ok(ids.indexOf(a.id) > 0 && ids.indexOf(b.id) > ids.indexOf(a.id), 'oldest first after the default');

    r = await call('GET', `${O}/${b.id}`);
    assert.equal(r.status, 200);
    assert.equal(r.json().name, 'Émile & fils');

    r = await call('PATCH', `${O}/${a.id}`, { name: 'Acme Ltd' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().name, 'Acme Ltd');
    assert.equal(r.json().created_at, a.created_at);
    // An empty PATCH changes nothing.
    r = await call('PATCH', `${O}/${a.id}`, {});
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().name, 'Acme Ltd');
    // The default one may be renamed, not deleted.
    r = await call('PATCH', `${O}/default`, { name: 'Main' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().name, 'Main');
    r = await call('PATCH', `${O}/default`, { name: 'Default' });
    assert.equal(r.status, 200, r.text);

    r = await call('DELETE', `${O}/${a.id}`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json(), { deleted: true });
    assertJsonError(await call('GET', `${O}/${a.id}`), 404, NOT_FOUND);
    assertJsonError(await call('DELETE', `${O}/${a.id}`), 404, NOT_FOUND);
    r = await call('GET', O);
    assert.ok(!r.json().organizations.some((o) => o.id === a.id));
  });

  test('the default organization cannot be deleted', async () => {
    assertJsonError(await call('DELETE', `${O}/default`), 409, 'The default organization cannot be deleted');
    assert.equal((await call('GET', `${O}/default`)).status, 200);
  });

  test('400 naming the field; 404 for unknown and malformed ids', async () => {
    assertJsonError(await call('POST', O, {}), 400, 'name: required');
    assertJsonError(await call('POST', O, { name: '' }), 400, 'name: must be 1 to 100 characters of UTF-8');
    assertJsonError(await call('POST', O, { name: 'x'.repeat(101) }), 400,
      'name: must be 1 to 100 characters of UTF-8');
    assertJsonError(await call('POST', O, { name: 7 }), 400);
    assert.match((await call('POST', O, { name: 7 })).json().error, /^name: /);
    assertJsonError(await call('POST', O, { name: 'a', color: 'red' }), 400, 'color: unknown field');
    assertJsonError(await call('POST', O, { name: 'a', id: 'default' }), 400, 'id: read-only');
    assertJsonError(await call('POST', O, '[1]'), 400, 'body: must be a JSON object');
    assertJsonError(await call('POST', O, '{"name":'), 400);
    assertJsonError(await call('PATCH', `${O}/default`, { name: '' }), 400,
      'name: must be 1 to 100 characters of UTF-8');
    assertJsonError(await call('PATCH', `${O}/default`, { created_at: 'x' }), 400, 'created_at: read-only');
    assertJsonError(await call('GET', `${O}/${UNKNOWN}`), 404, NOT_FOUND);
    assertJsonError(await call('PATCH', `${O}/${UNKNOWN}`, { name: 'x' }), 404, NOT_FOUND);
    assertJsonError(await call('DELETE', `${O}/${UNKNOWN}`), 404, NOT_FOUND);
    for (const bad of ['nope', '0'.repeat(32), `org_${'A'.repeat(32)}`, `org_${'0'.repeat(31)}`])
      assertJsonError(await call('GET', `${O}/${bad}`), 404, NOT_FOUND);
  });

  test('401 without the key; 403 for a dashboard session, before anything is done', async () => {
    for (const [method, path] of [['GET', O], ['POST', O], ['GET', `${O}/default`],
      ['PATCH', `${O}/default`], ['DELETE', `${O}/default`]]) {
      const body = method === 'POST' || method === 'PATCH' ? JSON.stringify({ name: 'x' }) : undefined;
      const headers = body ? { 'content-type': 'application/json' } : {};
      assertJsonError(await p.request(method, path, { headers, body }), 401, 'Unauthorized');
      assertJsonError(await p.request(method, path, { headers: { ...headers, 'x-admin-api-key': 'wrong-key-0123456789abcdef' }, body }),
        401, 'Unauthorized');
    }
    const s = await login(p);
    // The session works elsewhere...
    assert.equal((await s.get('/v1/admin/widgets')).status, 200);
    // ...but not here, reads and writes alike (with the CSRF token).
    const before = (await call('GET', O)).json().organizations;
    for (const [method, path] of [['GET', O], ['POST', O], ['GET', `${O}/default`],
      ['PATCH', `${O}/default`], ['DELETE', `${O}/default`]]) {
      const body = method === 'POST' || method === 'PATCH' ? { name: 'From the dashboard' } : undefined;
      const r = await s.request(method, path, { body });
      assertJsonError(r, 403, INSTALL_ONLY);
      api.checkJson(method, path, r);
    }
    assert.deepEqual((await call('GET', O)).json().organizations, before, 'nothing changed');
  });

  test('the install key acts in the organisation x-organization-id names', async () => {
    const c = await create('Acting in');
    const w = await call('GET', '/v1/admin/widgets', undefined, { headers: { 'x-organization-id': c.id } });
    assert.equal(w.status, 200, w.text);
    // Unknown, malformed, and deleted: 404 as for an id that does not exist.
    for (const bad of [UNKNOWN, 'nope', `org_${'A'.repeat(32)}`]) {
      assertJsonError(await call('GET', '/v1/admin/widgets', undefined, { headers: { 'x-organization-id': bad } }),
        404, NOT_FOUND);
    }
    assert.equal((await call('DELETE', `${O}/${c.id}`)).status, 200);
    assertJsonError(await call('GET', '/v1/admin/conversations', undefined, { headers: { 'x-organization-id': c.id } }),
      404, NOT_FOUND);
    // Without the header: the default organisation, as every client before.
    assert.equal((await call('GET', '/v1/admin/widgets')).status, 200);
  });

  test('the query\'s organization_id names it when no header does (the stream and downloads a browser opens)', async () => {
    const c = await create('By query');
    const made = await call('POST', '/v1/admin/widgets', { name: 'Queried' }, { headers: { 'x-organization-id': c.id } });
    assert.equal(made.status, 201, made.text);
    const names = async (url, headers = {}) => (await call('GET', url, undefined, { headers })).json().widgets.map((w) => w.name);
    assert.deepEqual(await names(`/v1/admin/widgets?organization_id=${c.id}`), ['Queried']);
    assert.ok(!(await names('/v1/admin/widgets?organization_id=default')).includes('Queried'));
    // The header wins over the query.
    assert.ok(!(await names(`/v1/admin/widgets?organization_id=${c.id}`, { 'x-organization-id': 'default' })).includes('Queried'));
    for (const bad of [UNKNOWN, 'nope', '%zz', 'x'.repeat(40)]) {
      assertJsonError(await call('GET', `/v1/admin/widgets?organization_id=${bad}`), 404, NOT_FOUND);
    }
    // Named twice: neither, and never the default organisation.
    for (const twice of [`${c.id}&organization_id=default`, `default&organization_id=${c.id}`, 'default&organization_id=default']) {
      assertJsonError(await call('GET', `/v1/admin/widgets?organization_id=${twice}`), 404, NOT_FOUND);
    }
  });

  test('a deleted organisation\'s widget answers no visitor at once: config 404, no new socket, an open one closed at its message', async () => {
    const c = await create('Leaving');
    const made = await call('POST', '/v1/admin/widgets', { name: 'Gone soon' }, { headers: { 'x-organization-id': c.id } });
    assert.equal(made.status, 201, made.text);
    const wid = made.json().widget_id;
    assert.equal((await p.get(`/api/widget/${wid}/config`)).status, 200);
    const open = await Visitor.open(p, wid);
    await open.next('session');
    assert.equal((await call('DELETE', `${O}/${c.id}`)).status, 200);
    // At once: the sweep that removes its widgets comes later.
    assertJsonError(await p.get(`/api/widget/${wid}/config`), 404, 'Widget not found');
    await assert.rejects(Visitor.open(p, wid), (e) => e.status === 404);
    open.send({ type: 'message', content: 'hello after the delete' });
    assert.equal(await open.waitClose(3000), 4004, 'the open socket is closed, its message not answered');
  });

  // Its event streams end with it, as a logout's or a deleted key's do:
  // its owner's, its key's and the install key's acting in it were left
  // open for good (pings, a slot of each cap, presence).
  test('a deleted organisation\'s open event streams end at once; another organisation\'s stays', async () => {
    const c = await create('Streams');
    const m = await addMember(p, { org: c.id, role: 'owner' });
    const k = await addKey(p, { org: c.id, role: 'agent' });
    const streams = {
      session: await Events.open(p, { key: false, headers: { Cookie: m.session.cookieHeader, 'x-organization-id': c.id } }),
      key: await Events.open(p, { key: false, headers: { 'x-admin-api-key': k.key } }),
      install: await Events.open(p, { headers: { 'x-organization-id': c.id } }),
    };
    const other = await Events.open(p);
    try {
      for (const [n, e] of Object.entries({ ...streams, other })) assert.equal(e.status, 200, n);
      await waitFor(() => [...Object.values(streams), other].every((e) => e.lastId !== null), 5000, 'the streams started');
      assert.equal((await call('DELETE', `${O}/${c.id}`)).status, 200);
      await waitFor(() => Object.values(streams).every((e) => e.ended), 5000,
        `ended: ${JSON.stringify(Object.fromEntries(Object.entries(streams).map(([n, e]) => [n, e.ended])))}`);
      assert.equal(other.ended, false, 'the default organisation\'s stream stays');
    } finally {
      for (const e of [...Object.values(streams), other]) e.close();
    }
  });

  // The install key names any organisation: a stream for one deleted, or
  // one never made, was opened (200, pings, a slot of the caps) where
  // every list of it answers 404.
  test('the install key\'s event stream for an organisation that is not there: 404, as its lists', async () => {
    const c = await create('Short-lived');
    assert.equal((await call('DELETE', `${O}/${c.id}`)).status, 200);
    for (const org of [c.id, `org_${'ab'.repeat(16)}`]) {
      const headers = { 'x-admin-api-key': p.adminKey, 'x-organization-id': org };
      assertJsonError(await p.request('GET', '/v1/admin/events', { headers }), 404, 'Organization not found');
      assertJsonError(await p.request('GET', `/v1/admin/events?organization_id=${org}`, { headers: { 'x-admin-api-key': p.adminKey } }),
        404, 'Organization not found');
      assert.equal((await p.request('HEAD', '/v1/admin/events', { headers })).status, 404, org);
      assertJsonError(await p.request('GET', '/v1/admin/widgets', { headers }), 404, 'Organization not found');
    }
    const live = await create('Here');
    const e = await Events.open(p, { headers: { 'x-organization-id': live.id } });
    try {
      assert.equal(e.status, 200);
      await waitFor(() => e.lastId !== null, 5000, 'the stream of one that is there started');
    } finally {
      e.close();
    }
  });

  // A visitor's message on a new socket of widget wid: 'answered', or the
  // error frame that refused it.
  async function turn(wid, content) {
    const v = await Visitor.open(p, wid);
    try {
      await v.next('session');
      v.send({ type: 'message', content });
      const m = await v.next();
      if (m.type === 'error') return m;
      assert.equal(m.type, 'typing_start');
      for (;;) if ((await v.next()).type === 'typing_stop') return 'answered';
    } finally {
      await v.close();
    }
  }

  async function widgetIn(org, name) {
    const r = await call('POST', '/v1/admin/widgets', { name }, { headers: { 'x-organization-id': org } });
    assert.equal(r.status, 201, r.text);
    return r.json().widget_id;
  }

  test('a daily turn budget holds across the organisation\'s widgets, leaves another\'s alone, and moves with its PATCH', async () => {
    const made = await call('POST', O, { name: 'Budgeted', daily_turn_budget: 3 });
    assert.equal(made.status, 201, made.text);
    const a = made.json();
    assert.equal(a.daily_turn_budget, 3);
    const b = await create('Unbudgeted');
    assert.equal(b.daily_turn_budget, null);
    const [a1, a2, b1] = [await widgetIn(a.id, 'A one'), await widgetIn(a.id, 'A two'), await widgetIn(b.id, 'B one')];

    const before = (await p.mock.stats()).requests;
    assert.equal(await turn(a1, 'one'), 'answered');
    assert.equal(await turn(a2, 'two'), 'answered');
    assert.equal(await turn(a1, 'three'), 'answered');
    for (const wid of [a1, a2]) {
      const refused = await turn(wid, 'over the budget');
      assert.equal(refused.code, 'daily_limit', JSON.stringify(refused));
      assert.match(refused.message, /daily message limit/);
    }
    assert.equal(await turn(b1, 'another organization'), 'answered');
    assert.equal((await p.mock.stats()).requests - before, 4, 'the model is not called over the budget');
    // The log says so once, by the turn that reached it, not by each refused.
    const reached = (n) => p.logs.storaged.split(`organization ${a.id} reached its daily turn budget of ${n}: its widgets answer daily_limit until the next UTC day`).length - 1;
    await waitFor(() => reached(3) > 0, 10000, 'the budget logged');
    assert.equal(reached(3), 1, p.logs.storaged);
    assert.equal(reached(4), 0);

    // What an admin of each organisation reads of it: the reports' today
    // (UTC), the budget and what counted against it, and with widget_id
    // that widget's cap and messages (none of another organisation's).
    const [ka, kb] = [await addKey(p, { org: a.id, role: 'admin' }), await addKey(p, { org: b.id, role: 'admin' })];
    const today = async (k, q = '') => {
      const r = await call('GET', `/v1/admin/reports${q}`, undefined, { headers: { 'x-admin-api-key': k.key } });
      assert.equal(r.status, 200, r.text);
      return r.json().today;
    };
    const now = Date.now();
    const seen = await today(ka);
    assert.equal(seen.date, new Date(now).toISOString().slice(0, 10));
    assert.equal(seen.resets_at, (Math.floor(now / 86400000) + 1) * 86400000);
    assert.deepEqual({ ...seen, date: 0, resets_at: 0 }, { date: 0, resets_at: 0, daily_turn_budget: 3, turns: 3 });
    const inA = await today(ka, `?widget_id=${a1}`);
    assert.deepEqual([inA.daily_turn_budget, inA.turns, inA.daily_message_cap, inA.messages], [3, 3, null, 2]);
    assert.deepEqual([(await today(ka, `?widget_id=${a2}`)).messages, (await today(kb, `?widget_id=${b1}`)).messages], [1, 1]);
    const other = await today(kb, `?widget_id=${a1}`);
    assert.deepEqual([other.daily_turn_budget, other.turns, other.daily_message_cap, other.messages], [null, null, null, 0]);

    // Raised by one: one more turn; unset: none counted, none refused.
    let r = await call('PATCH', `${O}/${a.id}`, { daily_turn_budget: 4 });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().daily_turn_budget, 4);
    assert.equal(r.json().name, 'Budgeted', 'a PATCH of the budget alone keeps the name');
    assert.equal(await turn(a2, 'four'), 'answered');
    assert.equal((await turn(a1, 'five')).code, 'daily_limit');
    assert.deepEqual([reached(3), reached(4)], [1, 1]);
    assert.deepEqual([(await today(ka)).daily_turn_budget, (await today(ka)).turns], [4, 4]);
    r = await call('PATCH', `${O}/${a.id}`, { daily_turn_budget: null });
    assert.equal(r.json().daily_turn_budget, null);
    assert.equal(await turn(a1, 'five again'), 'answered');
    assert.equal(await turn(a2, 'six'), 'answered');

    // Kept across a restart, as the record it is part of.
    await call('PATCH', `${O}/${a.id}`, { daily_turn_budget: 4 });
    await p.restartStoraged();
    assert.equal((await call('GET', `${O}/${a.id}`)).json().daily_turn_budget, 4);
    assert.equal((await turn(a2, 'after the restart')).code, 'daily_limit');
  });

  test('the chat API\'s turns count in the default organisation\'s budget', async () => {
    const chat = (message) => p.request('POST', '/v1/chat', {
      headers: { 'x-api-key': p.widgetKey, 'content-type': 'application/json' },
      body: JSON.stringify({ sessionId: `budget-${message}`, message }),
    });
    assert.equal((await call('PATCH', `${O}/default`, { daily_turn_budget: 1 })).status, 200);
    try {
      let r = await chat('first');
      assert.equal(r.status, 200, r.text);
      r = await chat('second');
      assertJsonError(r, 429, 'This chat has reached its daily message limit. Please come back tomorrow.');
      assert.ok(Number(r.headers['retry-after']) > 0, 'Retry-After to the next UTC day');
    } finally {
      assert.equal((await call('PATCH', `${O}/default`, { daily_turn_budget: null })).status, 200);
    }
    assert.equal((await chat('third')).status, 200);
  });

  test('a budget that is not an integer from 1 to 100,000,000 or null: 400 naming it', async () => {
    const why = 'daily_turn_budget: must be an integer from 1 to 100000000, or null';
    for (const bad of [0, -1, 1.5, '10', true, 100000001])
      assertJsonError(await call('PATCH', `${O}/default`, { daily_turn_budget: bad }), 400, why);
    assertJsonError(await call('POST', O, { name: 'Bad budget', daily_turn_budget: 0 }), 400, why);
    assert.equal((await call('GET', `${O}/default`)).json().daily_turn_budget, null);
  });

  test('organizations survive a storaged restart', async () => {
    const c = await create('Durable');
    await p.restartStoraged();
    const r = await call('GET', `${O}/${c.id}`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json(), c);
    const list = (await call('GET', O)).json().organizations;
    assert.equal(list[0].id, 'default');
    assert.equal(list.filter((o) => o.id === 'default').length, 1, 'the default not made twice');
    assert.ok(list.some((o) => o.id === c.id));
  });
});
