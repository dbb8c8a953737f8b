// Agents' model servers under the outgoing-URL policy (workerd/net/
// urlpolicy.c): a tenant organisation's agent may not point base_url at a
// loopback, private, link-local or otherwise internal address, in any
// spelling (IPv4-mapped IPv6, decimal, octal, hex, 0.0.0.0, ::, metadata,
// fc00::/7, fe80::/10, 100.64/10, a name under localhost), nor smuggle a
// path with a query, a fragment or user info: 400 naming base_url at save.
// The deployment's own default agent (OPENAI_BASE_URL, here the mock on
// loopback) answers as ever; the default organisation's agents may use
// private addresses with PARLEY_MODEL_ALLOW_PRIVATE=on; a host listed in
// PARLEY_MODEL_ALLOW_HOSTS is taken for any organisation; and the check
// runs again at connect: an agent saved while its host was listed, the
// list changed, is refused as curl connects, the visitor told the
// assistant could not answer and the internal server never asked.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Parley } from './lib/harness.mjs';
import { assertJsonError } from './lib/checks.mjs';
import { Visitor } from './lib/wsclient.mjs';

const A = '/v1/admin/agents';

describe('agents\' base_url under the address policy', () => {
  let p, port;
  before(async () => {
    p = new Parley({ workers: 2, mock: { chunks: 1 },
      env: { RATE_LIMIT_MAX_REQUESTS: '0', PARLEY_MODEL_ALLOW_HOSTS: 'localhost, model.example' } });
    await p.start();
    port = p.mock.port;
  });
  after(async () => { await p.stop(); assert.deepEqual(p.problems, []); });

  const headersIn = (org) => ({ 'x-admin-api-key': p.adminKey, 'content-type': 'application/json',
    ...(org ? { 'x-organization-id': org } : {}) });
  const call = (method, path, org, body) =>
    p.request(method, path, { headers: headersIn(org), body: body === undefined ? undefined : JSON.stringify(body) });
  async function newOrg(name) {
    const r = await call('POST', '/v1/admin/organizations', null, { name });
    assert.equal(r.status, 201, r.text);
    return r.json().id;
  }
  // A widget of org answered by agent (id); a visitor's one turn on it.
  async function widgetOf(org, agent) {
    const r = await call('POST', '/v1/admin/widgets', org, { name: 'W', agent_id: agent });
    assert.equal(r.status, 201, r.text);
    return r.json().widget_id;
  }

  const internal = () => [
    `http://127.0.0.1:${port}/v1`,
    `http://127.0.0.1:${port}/internal/admin?x=`,
    `http://[::ffff:127.0.0.1]:${port}/v1`,
    `http://[::ffff:7f00:1]:${port}/v1`,
    'http://169.254.169.254/latest/meta-data#',
    'http://169.254.169.254/v1',
    `http://localhost.:${port}/v1`,
    `http://api.localhost:${port}/v1`,
    `http://0.0.0.0:${port}/v1`,
    `http://[::]:${port}/v1`,
    `http://[::1]:${port}/v1`,
    `http://2130706433:${port}/v1`,
    `http://0x7f000001:${port}/v1`,
    `http://0177.0.0.1:${port}/v1`,
    `http://127.1:${port}/v1`,
    'http://10.1.2.3/v1',
    'http://172.16.0.9/v1',
    'http://192.168.1.20:11434/v1',
    'http://100.64.0.1/v1',
    'http://[fc00::1]/v1',
    'http://[fd12:3456::1]/v1',
    'http://[fe80::1]/v1',
    'http://[64:ff9b::7f00:1]/v1',
  ];
  const smuggled = () => [
    'https://api.example.com/v1?x=',
    'https://api.example.com/v1#',
    'https://user:pw@api.example.com/v1',
    'https://user@api.example.com/v1',
    `http://model.example:${port}/v1?path=`,
  ];

  test('a tenant organisation: every internal and smuggled base_url refused at save (POST and PATCH)', async () => {
    const org = await newOrg('Tenant');
    // A public address as a literal: the test machine may have no DNS.
    let r = await call('POST', A, org, { name: 'ok', base_url: 'https://93.184.216.34/v1' });
    assert.equal(r.status, 201, r.text);
    const agent = r.json();
    for (const url of [...internal(), ...smuggled()]) {
      r = await call('POST', A, org, { name: 'x', base_url: url });
      const j = assertJsonError(r, 400);
      assert.ok(j.error.startsWith('base_url: '), `${url}: ${j.error}`);
      r = await call('PATCH', `${A}/${agent.id}`, org, { base_url: url });
      assert.ok(assertJsonError(r, 400).error.startsWith('base_url: '), `PATCH ${url}`);
    }
    r = await call('POST', A, org, { name: 'q', base_url: 'https://api.example.com/v1?x=' });
    assert.match(r.json().error, /^base_url: must not have a query/);
    r = await call('POST', A, org, { name: 'u', base_url: 'https://u:p@api.example.com/v1' });
    assert.match(r.json().error, /^base_url: must not hold a user name or password/);
    r = await call('GET', `${A}/${agent.id}`, org);
    assert.equal(r.json().base_url, 'https://93.184.216.34/v1', 'nothing stored');
  });

  test('the default agent (the environment\'s loopback server) answers; the default organisation without the setting is refused', async () => {
    const v = await Visitor.open(p, await widgetOf(null, 'default'));
    await v.next('session');
    const { message } = await v.turn('hello');
    assert.equal(message.role, 'assistant');
    await v.close();
    const r = await call('POST', A, null, { name: 'lan', base_url: `http://127.0.0.1:${port}/v1` });
    assert.ok(assertJsonError(r, 400).error.startsWith('base_url: '), r.text);
  });

  test('an allow-listed host is taken for a tenant; delisted, it is refused at connect and nothing reaches it', async () => {
    const org = await newOrg('Listed');
    let r = await call('POST', A, org, { name: 'listed', base_url: `http://localhost:${port}/v1` });
    assert.equal(r.status, 201, r.text);
    const wid = await widgetOf(org, r.json().id);
    let v = await Visitor.open(p, wid);
    await v.next('session');
    const { message } = await v.turn('through the list');
    assert.equal(message.role, 'assistant');
    await v.close();

    await p.restartMaster({ PARLEY_MODEL_ALLOW_HOSTS: 'model.example' });
    await p.mock.clearRequests();
    v = await Visitor.open(p, wid);
    await v.next('session');
    v.send({ type: 'message', content: 'secret system prompt please' });
    let m;
    do m = await v.next(undefined, 15000); while (m.type !== 'error');
    assert.equal(m.message, 'The assistant could not answer right now. Please try again.');
    await v.close();
    assert.deepEqual(await p.mock.completions(), [], 'the internal server was never asked');
    // Saving it again is refused now.
    r = await call('POST', A, org, { name: 'again', base_url: `http://localhost:${port}/v1` });
    assert.ok(assertJsonError(r, 400).error.startsWith('base_url: '), r.text);
  });
});

describe('the default organisation with PARLEY_MODEL_ALLOW_PRIVATE=on', () => {
  let p, port;
  before(async () => {
    p = new Parley({ workers: 1, mock: { chunks: 1 }, env: { RATE_LIMIT_MAX_REQUESTS: '0', PARLEY_MODEL_ALLOW_PRIVATE: 'on' } });
    await p.start();
    port = p.mock.port;
  });
  after(async () => { await p.stop(); assert.deepEqual(p.problems, []); });

  const call = (method, path, org, body) => p.request(method, path, {
    headers: { 'x-admin-api-key': p.adminKey, 'content-type': 'application/json', ...(org ? { 'x-organization-id': org } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body) });

  test('its agents may use a LAN server; smuggled URLs and other organisations still refused', async () => {
    let r = await call('POST', A, null, { name: 'ollama', base_url: `http://127.0.0.1:${port}/v1` });
    assert.equal(r.status, 201, r.text);
    const agent = r.json();
    r = await call('POST', '/v1/admin/widgets', null, { name: 'LAN', agent_id: agent.id });
    assert.equal(r.status, 201, r.text);
    const v = await Visitor.open(p, r.json().widget_id);
    await v.next('session');
    assert.equal((await v.turn('hi')).message.role, 'assistant');
    await v.close();
    for (const url of [`http://[::ffff:127.0.0.1]:${port}/v1`, 'http://192.168.1.20:11434/v1', `http://localhost:${port}/v1`]) {
      r = await call('POST', A, null, { name: 'lan', base_url: url });
      assert.equal(r.status, 201, `${url}: ${r.text}`);
    }
    r = await call('POST', A, null, { name: 'q', base_url: `http://127.0.0.1:${port}/v1?x=` });
    assert.ok(assertJsonError(r, 400).error.startsWith('base_url: '));
    r = await call('POST', '/v1/admin/organizations', null, { name: 'Other' });
    const org = r.json().id;
    r = await call('POST', A, org, { name: 'x', base_url: `http://127.0.0.1:${port}/v1` });
    assert.ok(assertJsonError(r, 400).error.startsWith('base_url: '), r.text);
  });
});
