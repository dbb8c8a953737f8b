// An organisation's actions in the admin API, against the real processes
// with 2 workers: made, listed, read, patched and deleted; header values
// write-only (a reply shows header_names alone, and no log holds a
// value); the 400s name the field (the schema's subset, the templates'
// placeholders, a body that is not JSON, a GET with a body, a header the
// call sets itself, a name given twice); another organisation's action is
// 404 and never listed; at most 100 an organisation (a name taken refused
// first); an agent names actions by id (action_ids). The
// address policy: 59 spellings of an internal address, of user info and of
// a templated host refused on create and patch, for a tenant and for the
// default organisation; with PARLEY_ACTIONS_ALLOW_PRIVATE=on (a second
// stack) the default organisation may call a loopback API and a tenant
// still may not, and a dry run (POST .../test) calls it with sample
// arguments: the request as sent (the header's value not shown), the
// answer, a refused argument, a disabled action, another organisation's
// 404; each call noted in the audit log (action.test), an action that
// changes data run only with "confirm": true. Every URL is a literal or a localhost name (never
// resolved through DNS). Every JSON answer is validated against the
// OpenAPI document.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';

import { Parley } from './lib/harness.mjs';
import { checkerFor } from './lib/openapi.mjs';

const A = '/v1/admin/actions';
const SCHEMA = {
  type: 'object',
  properties: { order_id: { type: 'string', description: 'The order number', maxLength: 20 } },
  required: ['order_id'],
};
const PUBLIC = 'https://93.184.216.34/orders/{{order_id}}?customer={{visitor.external_id}}';
// A refusal names the setting that allows it (as a webhook's does).
const WHY = 'url: resolves to a private, loopback or link-local address (PARLEY_ACTIONS_ALLOW_PRIVATE=on allows it, in the default organization)';

// Internal addresses in every spelling the webhooks' and agents' lists
// hold, user info, and a host a placeholder could choose: 59 forms.
const REFUSED = [
  'http://127.0.0.1:9/h', 'http://127.0.0.1/orders/{{order_id}}', 'http://[::1]/h', 'https://10.0.0.1/h',
  'http://169.254.169.254/latest/meta-data/', 'http://169.254.169.254/v1', 'http://[::ffff:127.0.0.1]/h',
  'http://[::ffff:7f00:1]/h', 'http://[fd00::1]/h', 'http://0.0.0.0/h', 'http://localhost:8080/h',
  'http://api.localhost/h', 'http://LOCALHOST./h', 'http://localhost./h', 'http://192.168.1.10/h',
  'http://[fe80::1]/h', 'http://[::]/h', 'http://2130706433/h', 'http://0x7f000001/h', 'http://0177.0.0.1/h',
  'http://127.1/h', 'http://10.1.2.3/v1', 'http://172.16.0.9/v1', 'http://172.31.255.255/v1',
  'http://192.168.1.20:11434/v1', 'http://100.64.0.1/v1', 'http://[fc00::1]/v1', 'http://[fd12:3456::1]/v1',
  'http://[64:ff9b::7f00:1]/v1', 'http://[::ffff:10.0.0.1]/h', 'http://[::ffff:169.254.169.254]/h',
  'http://[::ffff:192.168.0.1]/h', 'http://0.0.0.1/h', 'http://198.18.0.1/h', 'http://224.0.0.1/h',
  'http://240.0.0.1/h', 'http://255.255.255.255/h', 'http://[ff02::1]/h', 'http://[fec0::1]/h',
  'http://[2002:7f00:1::]/h', 'http://[::127.0.0.1]/h', 'http://192.0.0.8/h', 'http://127.0.0.1.:80/h',
  'http://127.255.255.254/h', 'http://0x7f.0.0.1/h', 'http://017700000001/h',
  // user info: another host than it seems
  'https://user:pw@93.184.216.34/h', 'https://user@93.184.216.34/h', 'https://93.184.216.34@127.0.0.1/h',
  // a lone brace, which curl takes in user info, hiding the host
  'http://93.184.216.34{x}@127.0.0.1:9/h', 'http://93.184.216.34{@localhost:9/h',
  'http://93.184.216.34:80{x}@127.0.0.1:9/h',
  // a host a placeholder would choose
  'https://{{order_id}}/h', 'https://api.{{order_id}}.com/h', 'https://93.184.216.34{{order_id}}/h',
  'https://{{visitor.email}}/h', 'http://{{order_id}}:80/h',
  // not http(s)
  'file:///etc/passwd', 'gopher://93.184.216.34/h',
];

function client(p, api) {
  return async function call(method, pathname, body, org) {
    const h = { 'x-admin-api-key': p.adminKey };
    if (org) h['x-organization-id'] = org;
    let b;
    if (body !== undefined) {
      b = JSON.stringify(body);
      h['content-type'] = 'application/json';
    }
    const r = await p.request(method, pathname, { headers: h, body: b });
    if ((r.headers['content-type'] || '').startsWith('application/json')) api.checkJson(method, pathname, r);
    return r;
  };
}

const order = (extra = {}) => ({
  name: 'order_status', description: 'Looks up an order by its number.', parameters: SCHEMA, url: PUBLIC,
  headers: { Authorization: 'Bearer sk-secret-123', 'X-Shop': 'one' }, ...extra,
});

describe('actions in the admin API, 2 workers', () => {
  let p;
  let call;

  before(async () => {
    p = new Parley({ workers: 2, mock: true, env: { RATE_LIMIT_MAX_REQUESTS: '0' } });
    await p.start();
    call = client(p, await checkerFor(p));
  });
  after(async () => {
    if (p) await p.stop();
  });

  async function newOrg(name) {
    const r = await call('POST', '/v1/admin/organizations', { name });
    assert.equal(r.status, 201, r.text);
    return r.json().id;
  }

  test('made, listed, read, patched and deleted; header values never shown', async () => {
    let r = await call('POST', A, order({ method: 'GET', timeout_ms: 2000 }));
    assert.equal(r.status, 201, r.text);
    const a = r.json();
    assert.match(a.id, /^act_[0-9a-f]{32}$/);
    assert.equal(a.name, 'order_status');
    assert.deepEqual(a.parameters, SCHEMA);
    assert.equal(a.method, 'GET');
    assert.equal(a.url, PUBLIC);
    assert.deepEqual(a.header_names, ['Authorization', 'X-Shop']);
    assert.equal(a.timeout_ms, 2000);
    assert.equal(a.max_response_bytes, null);
    assert.equal(a.enabled, true);
    assert.equal(a.changes_data, false);
    assert.ok(!('headers' in a));
    assert.ok(!r.text.includes('sk-secret-123'));

    r = await call('GET', A);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json().actions.map((x) => x.id), [a.id]);
    assert.ok(!r.text.includes('sk-secret-123'));
    r = await call('GET', `${A}/${a.id}`);
    assert.deepEqual(r.json(), a);

    r = await call('PATCH', `${A}/${a.id}`, { description: 'Order lookup.', method: 'POST',
      body: '{"order":"{{order_id}}","who":{{visitor.email}}}', headers: { 'X-Token': 't' }, changes_data: true });
    assert.equal(r.status, 200, r.text);
    const b = r.json();
    assert.equal(b.description, 'Order lookup.');
    assert.equal(b.method, 'POST');
    assert.deepEqual(b.header_names, ['X-Token'], 'headers replace them all');
    assert.equal(b.changes_data, true);
    assert.ok(b.updated_at >= a.updated_at);

    r = await call('DELETE', `${A}/${a.id}`);
    assert.deepEqual(r.json(), { deleted: true });
    assert.equal((await call('GET', `${A}/${a.id}`)).status, 404);
    assert.deepEqual((await call('GET', A)).json().actions, []);
    assert.ok(!p.logs.storaged.includes('sk-secret-123') && !p.logs.masterd.includes('sk-secret-123'),
      'no log holds a header value');
  });

  // requires_verified whose templates name no visitor field: saved, but
  // the answer warns (the API is not told who asks), as GET does; naming
  // one, or not requiring a verified visitor, warns of nothing.
  test('requires_verified naming no {{visitor.*}} field: saved with a warning', async () => {
    const NOVISIT = 'https://93.184.216.34/orders/{{order_id}}';
    const WARN = /^requires_verified: neither the url nor the body names \{\{visitor\.external_id\}\} or \{\{visitor\.email\}\}/;
    let r = await call('POST', A, order({ name: 'warned', url: NOVISIT, requires_verified: true }));
    assert.equal(r.status, 201, r.text);
    const a = r.json();
    assert.equal(a.warnings.length, 1, r.text);
    assert.match(a.warnings[0], WARN);
    assert.deepEqual((await call('GET', `${A}/${a.id}`)).json().warnings, a.warnings);
    assert.deepEqual((await call('GET', A)).json().actions.find((x) => x.id === a.id).warnings, a.warnings);
    // The body naming one: none.
    r = await call('PATCH', `${A}/${a.id}`, { method: 'POST', body: '{"o":"{{order_id}}","c":"{{ visitor.email }}"}' });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json().warnings, []);
    // Without it again: warned on the PATCH's answer.
    r = await call('PATCH', `${A}/${a.id}`, { body: '{"o":"{{order_id}}"}' });
    assert.equal(r.status, 200, r.text);
    assert.match(r.json().warnings[0], WARN);
    // No longer requiring a verified visitor: none.
    r = await call('PATCH', `${A}/${a.id}`, { requires_verified: false });
    assert.deepEqual(r.json().warnings, []);
    // The url naming one: none.
    r = await call('POST', A, order({ name: 'named', requires_verified: true }));
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(r.json().warnings, []);
    for (const id of [a.id, r.json().id]) assert.equal((await call('DELETE', `${A}/${id}`)).status, 200);
  });

  test('the 400s name the field', async () => {
    const cases = [
      [{ ...order(), name: undefined }, /^name: required$/],
      [order({ name: 'order status' }), /^name: must be 1-64 characters/],
      [order({ parameters: { type: 'string' } }), /^parameters/],
      [order({ parameters: { type: 'object', properties: { id: { type: 'string', pattern: '.*' } } } }),
        /^parameters: properties\.id: "pattern" is not supported/],
      [order({ url: 'https://93.184.216.34/orders/{{nope}}' }), /^url: a \{\{placeholder\}\} that is neither/],
      // the body takes "{{ order_id }}", a URL holds no space: said so, not "must be a URL"
      [order({ url: 'https://93.184.216.34/orders/{{ order_id }}' }), /^url: a \{\{placeholder\}\} is written without spaces in a URL$/],
      [order({ method: 'POST', body: '{"id":{{nope}}}' }), /^body: a \{\{placeholder\}\} that is neither/],
      [order({ method: 'POST', body: '{"id":' }), /^body: /],
      [order({ body: '{"id":"{{order_id}}"}' }), /^body: a GET or DELETE sends none$/],
      [order({ headers: { Host: 'evil' } }), /^headers: a name must be an HTTP token/],
      [order({ headers: { 'X-A': 'a\r\nX-B: b' } }), /^headers: each value must be a string/],
      [order({ method: 'FETCH' }), /^method: must be/],
      [order({ header_names: ['x'] }), /^header_names: read-only$/],
      [order({ color: 'red' }), /^color: unknown field$/],
      [order({ timeout_ms: 60000 }), /^timeout_ms: must be an integer from 1 to 30000, or null$/],
      // a built-in tool's name: the model got it twice, its calls the built-in's
      ...['transfer_to_human', 'search_knowledge', 'collect_contact'].map((name) =>
        [order({ name }), /^name: transfer_to_human, search_knowledge and collect_contact are the built-in tools'$/]),
    ];
    for (const [body, want] of cases) {
      const r = await call('POST', A, JSON.parse(JSON.stringify(body)));
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
      assert.match(r.json().error, want, JSON.stringify(body));
    }
    let r = await call('POST', A, order({ name: 'twice' }));
    assert.equal(r.status, 201, r.text);
    const id = r.json().id;
    r = await call('POST', A, order({ name: 'twice' }));
    assert.equal(r.status, 400);
    assert.equal(r.json().error, 'name: another action has it');
    r = await call('PATCH', `${A}/${id}`, { method: 'DELETE', body: '{}' });
    assert.equal(r.status, 400, 'a PATCH is checked as merged');
    assert.equal(r.json().error, 'body: a GET or DELETE sends none');
    assert.equal((await call('DELETE', `${A}/${id}`)).status, 200);
  });

  test('another organisation\'s action is 404 and never listed; an agent names actions by id', async () => {
    const b = await newOrg('B');
    let r = await call('POST', A, order({ name: 'b_only' }), b);
    assert.equal(r.status, 201, r.text);
    const theirs = r.json().id;
    for (const [m, body] of [['GET'], ['PATCH', { description: 'x' }], ['DELETE']]) {
      r = await call(m, `${A}/${theirs}`, body);
      assert.equal(r.status, 404, `${m} another organisation's`);
      assert.equal(r.json().error, 'Action not found');
    }
    assert.ok(!(await call('GET', A)).json().actions.some((x) => x.id === theirs));
    r = await call('POST', '/v1/admin/agents', { name: 'Shop', action_ids: [theirs] }, b);
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(r.json().action_ids, [theirs]);
    r = await call('POST', '/v1/admin/agents', { name: 'Bad', action_ids: ['order_status'] }, b);
    assert.equal(r.status, 400);
    assert.match(r.json().error, /^action_ids: /);
    // One action named twice was offered the model twice under one name.
    r = await call('POST', '/v1/admin/agents', { name: 'Twice', action_ids: [theirs, theirs] }, b);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json().error, 'action_ids: each at most once');
    const ks = `ks_${'1'.repeat(32)}`;
    r = await call('POST', '/v1/admin/agents', { name: 'Twice', knowledge_source_ids: [ks, ks] }, b);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json().error, 'knowledge_source_ids: each at most once');
    // Ours is refused to B's agent, as an id no action has.
    r = await call('POST', A, order({ name: 'a_only' }));
    assert.equal(r.status, 201, r.text);
    const ours = r.json().id;
    for (const id of [ours, `act_${'0'.repeat(32)}`]) {
      r = await call('POST', '/v1/admin/agents', { name: 'Mixed', action_ids: [theirs, id] }, b);
      assert.equal(r.status, 400, id);
      assert.equal(r.json().error, 'action_ids: no such action');
    }
    // An action deleted stays named by its agent, which may be sent back
    // as read; a new unknown id is still refused.
    r = await call('POST', '/v1/admin/agents', { name: 'Shop 2', action_ids: [ours] });
    assert.equal(r.status, 201, r.text);
    const agent = r.json().id;
    assert.equal((await call('DELETE', `${A}/${ours}`)).status, 200);
    const read = (await call('GET', `/v1/admin/agents/${agent}`)).json();
    assert.deepEqual(read.action_ids, [ours]);
    r = await call('PATCH', `/v1/admin/agents/${agent}`, { name: 'Shop 3', action_ids: read.action_ids });
    assert.equal(r.status, 200, r.text);
    r = await call('PATCH', `/v1/admin/agents/${agent}`, { action_ids: [ours, theirs] });
    assert.equal(r.status, 400, r.text);
  });

  test('at most 100 per organisation; a name taken is refused before the count; another organisation may still make one', async () => {
    const org = await newOrg('Full actions');
    for (let i = 0; i < 100; i++) {
      const r = await call('POST', A, order({ name: `lookup_${i}` }), org);
      assert.equal(r.status, 201, r.text);
    }
    let r = await call('POST', A, order({ name: 'lookup_100' }), org);
    assert.equal(r.status, 400);
    assert.deepEqual(r.json(), { error: 'actions: at most 100' });
    r = await call('POST', A, order({ name: 'lookup_7' }), org);
    assert.deepEqual(r.json(), { error: 'name: another action has it' });
    assert.equal((await call('GET', A, undefined, org)).json().actions.length, 100);
    const other = await newOrg('Room for actions');
    r = await call('POST', A, order({ name: 'lookup_100' }), other);
    assert.equal(r.status, 201, r.text);
  });

  test('59 internal, user-info and templated-host URLs refused on create and patch, tenant and default organisation', async () => {
    assert.equal(REFUSED.length, 59);
    const t = await newOrg('Tenant');
    for (const org of [t, null]) {
      let r = await call('POST', A, order({ name: 'public' }), org);
      assert.equal(r.status, 201, r.text);
      const id = r.json().id;
      for (const url of REFUSED) {
        r = await call('POST', A, order({ name: 'x', url }), org);
        assert.equal(r.status, 400, `${url}: ${r.text}`);
        assert.match(r.json().error, /^url: /, url);
        r = await call('PATCH', `${A}/${id}`, { url }, org);
        assert.equal(r.status, 400, `PATCH ${url}: ${r.text}`);
        assert.match(r.json().error, /^url: /, url);
      }
      r = await call('POST', A, order({ name: 'x', url: 'http://127.0.0.1:9/h' }), org);
      assert.equal(r.json().error, WHY);
      assert.equal((await call('GET', `${A}/${id}`, undefined, org)).json().url, PUBLIC, 'nothing stored');
    }
  });
});

describe('PARLEY_ACTIONS_ALLOW_PRIVATE=on', () => {
  let p;
  let call;

  before(async () => {
    p = new Parley({ workers: 1, mock: true, env: { PARLEY_ACTIONS_ALLOW_PRIVATE: 'on' } });
    await p.start();
    call = client(p, await checkerFor(p));
  });
  after(async () => {
    if (p) await p.stop();
  });

  test('a dry run: the request as sent, the answer; a refused argument; disabled or not; another organisation\'s 404', async () => {
    const seen = [];
    const idem = [];
    const api = http.createServer((req, res) => {
      seen.push({ url: req.url, key: req.headers['x-shop-key'] });
      idem.push(req.headers['idempotency-key']);
      // /orders/echo answers with the headers it was sent, as some APIs do.
      res.end(JSON.stringify(req.url.startsWith('/orders/echo') ? { ok: req.url, headers: req.headers } : { ok: req.url }));
    });
    await new Promise((ok) => api.listen(0, '127.0.0.1', ok));
    try {
      const url = `http://127.0.0.1:${api.address().port}/orders/{{order_id}}?c={{visitor.external_id}}`;
      let r = await call('POST', A, order({ name: 'dry', url, headers: { 'X-Shop-Key': 'sk-dry-secret' }, enabled: false }));
      assert.equal(r.status, 201, r.text);
      const id = r.json().id;
      r = await call('POST', `${A}/${id}/test`, { arguments: { order_id: '44 11' }, visitor_external_id: 'cus_1' });
      assert.equal(r.status, 200, r.text);
      const j = r.json();
      assert.equal(j.ok, true, r.text);
      assert.deepEqual(j.request, { method: 'GET', url: url.replace('{{order_id}}', '44%2011').replace('{{visitor.external_id}}', 'cus_1'), body: null });
      assert.equal(j.response.status, 200);
      assert.equal(j.response.body, JSON.stringify({ ok: '/orders/44%2011?c=cus_1' }));
      assert.deepEqual(seen, [{ url: '/orders/44%2011?c=cus_1', key: 'sk-dry-secret' }]);
      assert.ok(!r.text.includes('sk-dry-secret'), 'the header\'s value is not shown');
      // Each dry run a call of its own: an Idempotency-Key of its own.
      r = await call('POST', `${A}/${id}/test`, { arguments: { order_id: '44 11' }, visitor_external_id: 'cus_1' });
      assert.equal(r.json().ok, true, r.text);
      assert.equal(idem.length, 2);
      for (const k of idem) assert.match(k, /^[0-9a-f]{32}$/);
      assert.notEqual(idem[0], idem[1]);
      seen.pop();

      r = await call('POST', `${A}/${id}/test`, { arguments: { order_id: 7 } });
      assert.deepEqual(r.json(), { ok: false, error: 'order_id: must be a string', request: null, response: null });
      r = await call('POST', `${A}/${id}/test`, { arguments: { order_id: '1' } });
      assert.equal(r.json().ok, false, 'no visitor id: the template cannot be filled');
      assert.equal(seen.length, 1, 'neither reached the API');
      // An argument of .. as a path segment would climb to another
      // endpoint of the API, with the action's headers: refused.
      // So would one holding ../ once a server decodes its %2F first.
      for (const order_id of ['..', '../../admin', '..\\admin']) {
        r = await call('POST', `${A}/${id}/test`, { arguments: { order_id }, visitor_external_id: 'cus_1' });
        assert.equal(r.json().ok, false, r.text);
        assert.match(r.json().error, /\. or \.\./);
      }
      assert.equal(seen.length, 1, 'none reached the API');
      // A lone brace (user info to curl) is refused even where private
      // addresses are allowed.
      r = await call('POST', A, order({ name: 'brace', url: `http://127.0.0.1:1{x}@127.0.0.1:${api.address().port}/h` }));
      assert.equal(r.status, 400, r.text);
      assert.match(r.json().error, /^url: /);
      r = await call('POST', `${A}/${id}/test`, { arguments: [] });
      assert.equal(r.status, 400);
      assert.equal(r.json().error, 'arguments: must be an object');
      // A body that is no object, and an id with a NUL, are refused (they
      // ran as {} and as the id cut at the NUL).
      for (const [body, error] of [[null, /^body: /], [[], /^body: /], ['s', /^body: /],
        [{ arguments: { order_id: '1' }, visitor_external_id: 'cus\u00001' }, /^visitor_external_id: /]]) {
        r = await call('POST', `${A}/${id}/test`, body);
        assert.equal(r.status, 400, JSON.stringify(body));
        assert.match(r.json().error, error);
      }
      // A sample email stands for a signed one in {{visitor.email}}.
      r = await call('POST', A, order({ name: 'dry_mail', url: url.replace('{{visitor.external_id}}', '{{visitor.email}}') }));
      assert.equal(r.status, 201, r.text);
      const mid = r.json().id;
      r = await call('POST', `${A}/${mid}/test`, { arguments: { order_id: '2' } });
      assert.match(r.json().error, /the visitor's email is not known/);
      r = await call('POST', `${A}/${mid}/test`, { arguments: { order_id: '2' }, visitor_email: 'ada@example.com' });
      assert.equal(r.json().ok, true, r.text);
      assert.equal(seen.at(-1).url, '/orders/2?c=ada%40example.com');
      r = await call('POST', `${A}/${mid}/test`, { arguments: { order_id: '2' }, visitor_email: 'not an address' });
      assert.equal(r.status, 400);
      assert.equal(r.json().error, 'visitor_email: not a valid address');
      assert.equal(seen.length, 2, 'only the one with an email reached the API');

      // An API that echoes its request's headers: their values are not
      // shown in its answer either (they were, the answer shown as read).
      r = await call('POST', `${A}/${id}/test`, { arguments: { order_id: 'echo' }, visitor_external_id: 'cus_1' });
      assert.equal(r.json().ok, true, r.text);
      assert.equal(seen.at(-1).key, 'sk-dry-secret', 'the header was sent');
      assert.ok(!r.text.includes('sk-dry-secret'), r.text);
      assert.equal(JSON.parse(r.json().response.body).headers['x-shop-key'], '[hidden]');

      const o = (await call('POST', '/v1/admin/organizations', { name: 'O' })).json().id;
      r = await call('POST', `${A}/${id}/test`, { arguments: { order_id: '1' } }, o);
      assert.equal(r.status, 404);
      assert.equal(r.json().error, 'Action not found');
    } finally {
      api.close();
    }
  });

  // A dry run is a real call with the action's secret headers: it ran
  // changes_data actions at a click, with any visitor id, and left no
  // trace. Now each call is audited (action.test, who, which action: no
  // argument, visitor or header value), and an action that changes data
  // needs "confirm": true.
  test('a dry run is audited; one of an action that changes data needs "confirm": true', async () => {
    const seen = [];
    const api = http.createServer((req, res) => {
      seen.push({ method: req.method, url: req.url });
      res.end('{"cancelled":true}');
    });
    await new Promise((ok) => api.listen(0, '127.0.0.1', ok));
    try {
      const url = `http://127.0.0.1:${api.address().port}/orders/{{order_id}}/cancel?c={{visitor.external_id}}`;
      let r = await call('POST', A, order({ name: 'cancel_dry', method: 'POST', url, body: '{"why":"{{order_id}}"}',
        headers: { 'X-Shop-Key': 'sk-cancel-secret' }, changes_data: true }));
      assert.equal(r.status, 201, r.text);
      const id = r.json().id;
      const before = (await call('GET', '/v1/admin/audit?limit=200')).json().entries.length;
      for (const body of [{}, { confirm: false }]) {
        r = await call('POST', `${A}/${id}/test`, { arguments: { order_id: 'C-77' }, visitor_external_id: 'cus_secret', ...body });
        assert.equal(r.status, 400, r.text);
        assert.equal(r.json().error, 'This action changes data: its test calls its API for real. Send "confirm": true to run it');
      }
      r = await call('POST', `${A}/${id}/test`, { arguments: { order_id: 'C-77' }, confirm: 'yes' });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json().error, 'confirm: must be a boolean');
      assert.deepEqual(seen, [], 'nothing called');
      let entries = (await call('GET', '/v1/admin/audit?limit=200')).json().entries;
      assert.equal(entries.length, before, 'nothing run, nothing noted');

      r = await call('POST', `${A}/${id}/test`, { arguments: { order_id: 'C-77' }, visitor_external_id: 'cus_secret', confirm: true });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json().ok, true, r.text);
      assert.deepEqual(seen, [{ method: 'POST', url: '/orders/C-77/cancel?c=cus_secret' }]);
      // A plain action's dry run needs no confirmation, and is noted too.
      r = await call('POST', A, order({ name: 'look_dry', url: url.replace('/cancel', '') }));
      const look = r.json().id;
      r = await call('POST', `${A}/${look}/test`, { arguments: { order_id: 'L-1' }, visitor_external_id: 'cus_secret' });
      assert.equal(r.json().ok, true, r.text);
      entries = (await call('GET', '/v1/admin/audit?limit=200')).json().entries;
      const noted = entries.slice(0, entries.length - before).filter((e) => e.action === 'action.test');
      assert.deepEqual(noted.map((e) => [e.action, e.target, e.who.kind]),
        [['action.test', look, 'install_key'], ['action.test', id, 'install_key']]);
      const text = JSON.stringify(noted);
      for (const secret of ['C-77', 'L-1', 'cus_secret', 'sk-cancel-secret', 'sk-secret-123']) {
        assert.ok(!text.includes(secret), `${secret} is not in the audit log`);
      }
      // An argument the schema refuses: no call, no note.
      r = await call('POST', `${A}/${look}/test`, { arguments: { order_id: 5 } });
      assert.equal(r.json().ok, false);
      assert.equal((await call('GET', '/v1/admin/audit?limit=200')).json().entries.length, entries.length);
    } finally {
      api.close();
    }
  });

  // The headers' values are write-only: a PATCH that moved the url to
  // another server kept them, and the next call took them there (an
  // agent's key is cleared so: agentstore.c's agent_merge).
  test('headers never follow the url to another origin unless the PATCH sets them', async () => {
    const seen = [];
    const mk = (tag) => http.createServer((req, res) => {
      seen.push({ at: tag, url: req.url, key: req.headers['x-shop-key'] ?? null });
      res.end('{}');
    });
    const a = mk('a');
    const b = mk('b');
    await new Promise((ok) => a.listen(0, '127.0.0.1', ok));
    await new Promise((ok) => b.listen(0, '127.0.0.1', ok));
    try {
      const at = (s) => `http://127.0.0.1:${s.address().port}`;
      let r = await call('POST', A, order({ name: 'moved', url: `${at(a)}/o/{{order_id}}`, headers: { 'X-Shop-Key': 'sk-moved' } }));
      assert.equal(r.status, 201, r.text);
      const id = r.json().id;
      const dry = async () => {
        const d = await call('POST', `${A}/${id}/test`, { arguments: { order_id: '1' } });
        assert.equal(d.json().ok, true, d.text);
      };
      // Unchanged, they stay; another path of the same origin clears them
      // (on a shared host the path is another tenant's).
      r = await call('PATCH', `${A}/${id}`, { url: `${at(a)}/o/{{order_id}}`, description: 'Same url.' });
      assert.deepEqual(r.json().header_names, ['X-Shop-Key']);
      await dry();
      r = await call('PATCH', `${A}/${id}`, { url: `${at(a)}/v2/o/{{order_id}}` });
      assert.deepEqual(r.json().header_names, []);
      await dry();
      // Another origin (another port) without headers: cleared.
      r = await call('PATCH', `${A}/${id}`, { url: `${at(b)}/o/{{order_id}}` });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json().header_names, []);
      await dry();
      // With headers, the new ones go there.
      r = await call('PATCH', `${A}/${id}`, { url: `${at(a)}/o/{{order_id}}`, headers: { 'X-Shop-Key': 'sk-new' } });
      assert.deepEqual(r.json().header_names, ['X-Shop-Key']);
      await dry();
      assert.deepEqual(seen, [
        { at: 'a', url: '/o/1', key: 'sk-moved' },
        { at: 'a', url: '/v2/o/1', key: null },
        { at: 'b', url: '/o/1', key: null },
        { at: 'a', url: '/o/1', key: 'sk-new' },
      ]);
    } finally {
      a.close();
      b.close();
    }
  });

  test('the default organisation may call a loopback API; a tenant still may not', async () => {
    let r = await call('POST', A, order({ url: 'http://127.0.0.1:9/orders/{{order_id}}' }));
    assert.equal(r.status, 201, r.text);
    r = await call('POST', '/v1/admin/organizations', { name: 'T' });
    const t = r.json().id;
    r = await call('POST', A, order({ url: 'http://127.0.0.1:9/orders/{{order_id}}' }), t);
    assert.equal(r.status, 400);
    assert.equal(r.json().error, WHY);
  });
});
