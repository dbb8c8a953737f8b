// An organisation's API keys and its audit log (issue 22, items 3 and 5),
// against the real processes with 2 workers: create, list, delete (owners
// only; the role matrix over every route is roles.test.mjs's); a key acts in its
// own organisation only (another's x-organization-id and ids: 404);
// after a delete the key is 401 on both workers; the secret shows in the
// create's answer and nowhere else, nor in any log. The audit log: each
// audited action leaves its entry, newest first, paged, with who did it;
// another organisation's owner sees none of them. Every JSON answer is
// validated against the OpenAPI document.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { Parley } from './lib/harness.mjs';
import { checkerFor } from './lib/openapi.mjs';

const K = '/v1/admin/api-keys';
const SECRET_RE = /^pk_[0-9a-f]{64}$/;
const hex = (n = 16) => crypto.randomBytes(n).toString('hex');

describe('organization API keys and the audit log, 2 workers', () => {
  let p;
  let api;
  const answers = [];   // every answer's text after the creates

  async function call(key, method, pathname, body, headers = {}) {
    const h = { 'x-admin-api-key': key, ...headers };
    let b;
    if (body !== undefined) {
      b = typeof body === 'string' ? body : JSON.stringify(body);
      h['content-type'] = 'application/json';
    }
    const r = await p.request(method, pathname, { headers: h, body: b });
    answers.push(r.text);
    if ((r.headers['content-type'] || '').startsWith('application/json')) api.checkJson(method, pathname, r);
    return r;
  }

  async function makeKey(role, { as, org } = {}) {
    const r = await call(as ?? p.adminKey, 'POST', K, { name: `${role} key`, role }, org ? { 'x-organization-id': org } : {});
    assert.equal(r.status, 201, r.text);
    const k = r.json();
    answers.pop();   // the one answer that shows the secret
    assert.match(k.key, SECRET_RE);
    assert.match(k.id, /^key_[0-9a-f]{32}$/);
    assert.equal(k.role, role);
    assert.equal(k.last_used_at, null);
    return k;
  }

  before(async () => {
    p = new Parley({ workers: 2, mock: true, env: { RATE_LIMIT_MAX_REQUESTS: '0' } });
    await p.start();
    api = await checkerFor(p);
  });
  after(async () => {
    if (p) await p.stop();
    assert.deepEqual(p.problems, []);
  });

  test('create, list, read one, delete; the 400s name the field; at most 100', async () => {
    const a = await makeKey('admin');
    let r = await call(p.adminKey, 'GET', K);
    assert.equal(r.status, 200);
    const listed = r.json().api_keys.find((k) => k.id === a.id);
    assert.deepEqual(Object.keys(listed).sort(), ['created_at', 'id', 'last_used_at', 'name', 'role']);
    assert.equal(listed.name, 'admin key');
    // One key: as the list shows it, never its secret.
    r = await call(p.adminKey, 'GET', `${K}/${a.id}`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json(), listed);
    for (const id of [`key_${hex()}`, 'nope']) {
      r = await call(p.adminKey, 'GET', `${K}/${id}`);
      assert.equal(r.status, 404, id);
      assert.deepEqual(r.json(), { error: 'API key not found' });
    }

    for (const [body, err] of [
      [{ role: 'admin' }, 'name: required'],
      [{ name: 'x' }, 'role: required'],
      [{ name: 'x', role: 'root' }, 'role: must be agent, admin or owner'],
      // Refused, not cut at the NUL (it made an owner's key).
      [{ name: 'x', role: 'owner\u0000x' }, 'role: must be agent, admin or owner'],
      [{ name: '', role: 'agent' }, 'name: must be 1 to 100 characters of UTF-8'],
      [{ name: 'é'.repeat(101), role: 'agent' }, 'name: must be 1 to 100 characters of UTF-8'],
      [{ name: 'x', role: 'agent', key: 'pk_0' }, 'body: only name and role may be given'],
      [[], 'body: must be a JSON object'],
    ]) {
      r = await call(p.adminKey, 'POST', K, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.deepEqual(r.json(), { error: err });
    }

    r = await call(p.adminKey, 'DELETE', `${K}/${a.id}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), { deleted: true });
    r = await call(p.adminKey, 'DELETE', `${K}/${a.id}`);
    assert.equal(r.status, 404);
    assert.deepEqual(r.json(), { error: 'API key not found' });
    assert.equal((await call(p.adminKey, 'DELETE', `${K}/nope`)).status, 404);
    assert.equal((await call(p.adminKey, 'GET', `${K}/${a.id}`)).status, 404, 'read after its delete');
    r = await call(p.adminKey, 'GET', K);
    assert.ok(!r.json().api_keys.some((k) => k.id === a.id));
  });

  test('at most 100 keys per organization', async () => {
    const org = (await call(p.adminKey, 'POST', '/v1/admin/organizations', { name: 'Full' })).json().id;
    const h = { 'x-organization-id': org };
    for (let i = 0; i < 100; i++) {
      const r = await call(p.adminKey, 'POST', K, { name: `k${i}`, role: 'agent' }, h);
      assert.equal(r.status, 201, r.text);
      answers.pop();
    }
    const r = await call(p.adminKey, 'POST', K, { name: 'one more', role: 'agent' }, h);
    assert.equal(r.status, 400);
    assert.deepEqual(r.json(), { error: 'api keys: at most 100' });
    assert.equal((await call(p.adminKey, 'GET', K, undefined, h)).json().api_keys.length, 100);
    // Another organization is not full.
    assert.equal((await call(p.adminKey, 'POST', K, { name: 'x', role: 'agent' })).status, 201);
    answers.pop();
  });

  test('last_used_at moves on use, at most once a minute', async () => {
    const owner = await makeKey('owner');
    assert.equal((await call(owner.key, 'GET', '/v1/admin/widgets')).status, 200);
    const r = await call(owner.key, 'GET', K);
    const used = r.json().api_keys.find((k) => k.id === owner.id).last_used_at;
    assert.ok(Number.isInteger(used) && used >= owner.created_at, `last_used_at ${used}`);
    const again = (await call(owner.key, 'GET', K)).json().api_keys.find((k) => k.id === owner.id);
    assert.equal(again.last_used_at, used);
  });

  test('a key acts in its own organization only', async () => {
    const b = (await call(p.adminKey, 'POST', '/v1/admin/organizations', { name: 'B' })).json().id;
    const ownerA = await makeKey('owner');
    const ownerB = await makeKey('owner', { org: b });
    // B's key: its own organization, whatever x-organization-id says else.
    let r = await call(ownerB.key, 'GET', K);
    assert.deepEqual(r.json().api_keys.map((k) => k.id), [ownerB.id]);
    r = await call(ownerB.key, 'GET', K, undefined, { 'x-organization-id': b });
    assert.equal(r.status, 200);
    for (const org of ['default', `org_${hex()}`, 'nonsense']) {
      r = await call(ownerB.key, 'GET', K, undefined, { 'x-organization-id': org });
      assert.equal(r.status, 404, org);
      assert.deepEqual(r.json(), { error: 'Organization not found' });
    }
    // A's key id is one B does not have; A's key is untouched.
    r = await call(ownerB.key, 'GET', `${K}/${ownerA.id}`);
    assert.equal(r.status, 404);
    assert.deepEqual(r.json(), { error: 'API key not found' });
    assert.equal((await call(ownerA.key, 'GET', `${K}/${ownerA.id}`)).json().id, ownerA.id);
    r = await call(ownerB.key, 'DELETE', `${K}/${ownerA.id}`);
    assert.equal(r.status, 404);
    assert.deepEqual(r.json(), { error: 'API key not found' });
    assert.equal((await call(ownerA.key, 'GET', K)).status, 200);
    // A's widget is one B does not have.
    r = await call(ownerA.key, 'POST', '/v1/admin/widgets', { name: 'A widget' });
    assert.equal(r.status, 201, r.text);
  });

  test('a deleted key is 401 at once on both workers', async () => {
    const k = await makeKey('agent');
    // Two connections open at once: one on each worker (the least loaded).
    const c1 = await p.connect();
    const c2 = await p.connect();
    try {
      const h = { headers: { 'x-admin-api-key': k.key } };
      for (const c of [c1, c2]) assert.equal((await c.request('GET', '/v1/admin/conversations', h)).status, 200);
      assert.equal((await call(p.adminKey, 'DELETE', `${K}/${k.id}`)).status, 200);
      for (const c of [c1, c2]) {
        const r = await c.request('GET', '/v1/admin/conversations', h);
        assert.equal(r.status, 401);
        assert.deepEqual(JSON.parse(r.body.toString()), { error: 'Unauthorized' });
      }
    } finally {
      c1.destroy();
      c2.destroy();
    }
    for (let i = 0; i < 4; i++) assert.equal((await call(k.key, 'GET', '/v1/admin/conversations')).status, 401);
    // A well-shaped key nobody made, and the install key's absence: 401 too.
    assert.equal((await call(`pk_${hex(32)}`, 'GET', '/v1/admin/conversations')).status, 401);
  });

  test('the audit log: each action its entry, newest first; owners only; not another organization\'s', async () => {
    const owner = await makeKey('owner');
    const admin = await makeKey('admin');
    const agent = await makeKey('agent');
    const b = (await call(p.adminKey, 'POST', '/v1/admin/organizations', { name: 'Audit B' })).json().id;
    const ownerB = await makeKey('owner', { org: b });

    // A conversation, by the chat API.
    let r = await p.request('POST', '/v1/chat', { headers: { 'x-api-key': p.widgetKey, 'content-type': 'application/json' }, body: JSON.stringify({ sessionId: `s-${hex(4)}`, message: 'secret content' }) });
    assert.equal(r.status, 200, r.text);
    r = await call(admin.key, 'GET', '/v1/admin/conversations?limit=1');
    const conv = r.json().conversations[0]._id;

    const w = (await call(admin.key, 'POST', '/v1/admin/widgets', { name: 'Audited' })).json();
    assert.equal((await call(admin.key, 'PATCH', `/v1/admin/widgets/${w.widget_id}`, { name: 'Renamed' })).status, 200);
    assert.equal((await call(admin.key, 'DELETE', `/v1/admin/widgets/${w.widget_id}`)).status, 200);
    const ag = (await call(admin.key, 'POST', '/v1/admin/agents', { name: 'Bot' })).json();
    assert.equal((await call(admin.key, 'PATCH', `/v1/admin/agents/${ag.id}`, { name: 'Bot 2' })).status, 200);
    assert.equal((await call(admin.key, 'DELETE', `/v1/admin/agents/${ag.id}`)).status, 200);
    assert.equal((await call(agent.key, 'POST', `/v1/admin/conversations/${conv}/handoff`, { state: 'human', name: 'Ada' })).status, 200);
    assert.equal((await call(agent.key, 'POST', `/v1/admin/conversations/${conv}/messages`, { content: 'private words' })).status, 201);
    assert.equal((await call(agent.key, 'POST', `/v1/admin/conversations/${conv}/handoff`, { state: 'ai' })).status, 200);
    // An export: noted before it starts; a refused one is not noted.
    r = await p.request('GET', '/v1/admin/export?format=jsonl&rows=messages', { headers: { 'x-admin-api-key': admin.key } });
    assert.equal(r.status, 200);
    r = await p.request('GET', `/v1/admin/export?format=csv&rows=conversations&conversation=${conv}`, { headers: { 'x-admin-api-key': admin.key } });
    assert.equal(r.status, 200);
    assert.equal((await call(admin.key, 'GET', '/v1/admin/export?format=xml&rows=messages')).status, 400);
    assert.equal((await call(admin.key, 'DELETE', `/v1/admin/conversations/${conv}`)).status, 204);
    const gone = await makeKey('agent', { as: owner.key });
    assert.equal((await call(owner.key, 'DELETE', `${K}/${gone.id}`)).status, 200);

    r = await call(owner.key, 'GET', '/v1/admin/audit?limit=200');
    assert.equal(r.status, 200);
    const page = r.json();
    const entries = page.entries;
    const at = entries.map((e) => e.at);
    assert.deepEqual(at, [...at].sort((x, y) => y - x), 'newest first');
    const mine = entries.filter((e) => e.who.kind === 'api_key' && [owner.id, admin.id, agent.id].includes(e.who.id));
    const expect = [
      ['apikey.delete', owner.id, gone.id],
      ['apikey.create', owner.id, gone.id],
      ['conversation.delete', admin.id, conv],
      ['export', admin.id, conv],
      ['export', admin.id, null],
      ['handoff.return', agent.id, conv],
      ['message.agent', agent.id, conv],
      ['handoff.take', agent.id, conv],
      ['agent.delete', admin.id, ag.id],
      ['agent.update', admin.id, ag.id],
      ['agent.create', admin.id, ag.id],
      ['widget.delete', admin.id, w.widget_id],
      ['widget.update', admin.id, w.widget_id],
      ['widget.create', admin.id, w.widget_id],
    ];
    assert.deepEqual(mine.map((e) => [e.action, e.who.id, e.target]), expect);
    // The install key's own changes are there too, as the install key.
    assert.ok(entries.some((e) => e.action === 'apikey.create' && e.target === admin.id && e.who.kind === 'install_key' && e.who.id === 'install'));
    // Never content.
    assert.ok(!r.text.includes('secret content') && !r.text.includes('private words'));

    // Paged: the same entries two at a time.
    const paged = [];
    let cursor = '';
    for (let i = 0; i < 200; i++) {
      const q = await call(owner.key, 'GET', `/v1/admin/audit?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(q.status, 200);
      paged.push(...q.json().entries);
      if (q.json().nextCursor === null) break;
      cursor = q.json().nextCursor;
    }
    assert.deepEqual(paged, entries);
    assert.equal(page.total, entries.length);
    assert.equal((await call(owner.key, 'GET', '/v1/admin/audit?cursor=zz')).status, 400);

    // Owners only; another organization's owner sees only its own.
    assert.equal((await call(admin.key, 'GET', '/v1/admin/audit')).status, 403);
    r = await call(ownerB.key, 'GET', '/v1/admin/audit');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json().entries.map((e) => [e.action, e.target]), [['apikey.create', ownerB.id]]);
  });

  test('the secrets show in no other answer and in no log', async () => {
    const k = await makeKey('owner');
    await call(k.key, 'GET', K);
    const hash = crypto.createHash('sha256').update(k.key).digest('hex');
    for (const text of answers) assert.ok(!/pk_[0-9a-f]{64}/.test(text), `an answer shows a secret: ${text.slice(0, 200)}`);
    for (const log of [p.logs.storaged, p.logs.masterd]) {
      assert.ok(!/pk_[0-9a-f]{8}/.test(log), 'a log shows a secret');
      assert.ok(!log.includes(hash) && !log.includes(hash.slice(0, 16)), 'a log shows a hash');
    }
  });
});
