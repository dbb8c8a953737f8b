// An organisation's webhooks in the admin API (issue 23, its first slice),
// against the real processes with 2 workers: create (the secret
// "whsec_..." shown in that answer alone, never in a list, a get, an
// update or a log), list, get, patch, delete; the 400s name the field;
// at most 20 per organisation; another organisation's webhook is 404 and
// its list holds none of ours; an agent is 403. A chat turn leaves its
// pending deliveries (the outbox, written with the turn), listed newest
// first and paged; test and retry make one due now; another
// organisation's are 404. No server-side request
// forgery at creation: URLs to 127.0.0.1, [::1], 10.0.0.1,
// 169.254.169.254, [::ffff:127.0.0.1], [fd00::1], 0.0.0.0 and names under
// localhost are refused, on create and on patch, unless
// PARLEY_WEBHOOK_ALLOW_PRIVATE=on (a second stack, where the outbox is
// followed). Every URL is a literal or a localhost name (never resolved
// through DNS); nothing is delivered but to 127.0.0.1: the first stack
// has no events, the second's enabled webhooks point at a closed
// loopback port (webhooks-delivery.test.mjs tests deliveries). Every
// JSON answer is
// validated against the OpenAPI document.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Parley, freePort } from './lib/harness.mjs';
import { checkerFor } from './lib/openapi.mjs';
import { addMember } from './lib/people.mjs';

const H = '/v1/admin/webhooks';
const SECRET_RE = /^whsec_[A-Za-z0-9+/]{43}=$/;
const PUBLIC = 'https://93.184.216.34/hooks/parley?x=1';
const PRIVATE = ['http://127.0.0.1:9/h', 'http://[::1]/h', 'https://10.0.0.1/h', 'http://169.254.169.254/latest/meta-data/',
  'http://[::ffff:127.0.0.1]/h', 'http://[fd00::1]/h', 'http://0.0.0.0/h', 'http://localhost:8080/h',
  'http://api.localhost/h', 'http://LOCALHOST./h', 'http://192.168.1.10/h', 'http://[fe80::1]/h'];
const WHY = 'url: resolves to a private, loopback or link-local address (PARLEY_WEBHOOK_ALLOW_PRIVATE=on allows it, in the default organization)';

describe('webhooks in the admin API, 2 workers', () => {
  let p;
  let api;
  const secrets = [];
  const answers = [];

  async function call(method, pathname, body, headers = { 'x-admin-api-key': p.adminKey }) {
    const h = { ...headers };
    let b;
    if (body !== undefined) {
      b = JSON.stringify(body);
      h['content-type'] = 'application/json';
    }
    const r = await p.request(method, pathname, { headers: h, body: b });
    answers.push(r.text);
    if ((r.headers['content-type'] || '').startsWith('application/json')) api.checkJson(method, pathname, r);
    return r;
  }

  async function make(body, headers) {
    const r = await call('POST', H, body, headers);
    assert.equal(r.status, 201, r.text);
    answers.pop();   // the one answer that shows the secret
    const w = r.json();
    assert.match(w.secret, SECRET_RE);
    secrets.push(w.secret);
    return w;
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

  test('create, get, list, patch, delete; the secret once', async () => {
    const w = await make({ url: PUBLIC, events: ['message.created', 'handoff.requested'] });
    assert.match(w.id, /^wh_[0-9a-f]{32}$/);
    assert.equal(w.url, PUBLIC);
    assert.deepEqual(w.events, ['message.created', 'handoff.requested']);
    assert.equal(w.enabled, true);
    assert.equal(w.failures, 0);
    assert.equal(w.disabled_at, null);
    assert.equal(w.organization_id, 'default');
    const w2 = await make({ url: 'http://[2606:4700::1111]:8443/in', events: ['conversation.created'], enabled: false });
    assert.equal(w2.enabled, false);
    assert.notEqual(w2.secret, w.secret);

    let r = await call('GET', `${H}/${w.id}`);
    assert.equal(r.status, 200);
    assert.equal(r.json().secret, undefined);
    assert.deepEqual(r.json().events, w.events);
    r = await call('GET', H);
    assert.deepEqual(r.json().webhooks.map((x) => x.id), [w.id, w2.id]);
    assert.ok(r.json().webhooks.every((x) => x.secret === undefined));

    r = await call('PATCH', `${H}/${w.id}`, { events: ['conversation.deleted'], enabled: false });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json().events, ['conversation.deleted']);
    assert.equal(r.json().enabled, false);
    assert.equal(r.json().url, PUBLIC);
    assert.ok(r.json().updated_at >= w.updated_at);
    // The other worker sees the same.
    for (let i = 0; i < 4; i++) assert.deepEqual((await call('GET', `${H}/${w.id}`)).json().events, ['conversation.deleted']);

    r = await call('DELETE', `${H}/${w.id}`);
    assert.deepEqual(r.json(), { deleted: true });
    r = await call('GET', `${H}/${w.id}`);
    assert.equal(r.status, 404);
    assert.deepEqual(r.json(), { error: 'Webhook not found' });
    assert.equal((await call('DELETE', `${H}/${w.id}`)).status, 404);
    assert.equal((await call('GET', `${H}/wh_nope`)).status, 404);
  });

  test('the 400s name the field', async () => {
    for (const [body, err] of [
      [{ events: ['message.created'] }, 'url: required'],
      [{ url: PUBLIC }, 'events: required'],
      [{ url: PUBLIC, events: [] }, 'events: must be a non-empty array of event names'],
      [{ url: PUBLIC, events: 'message.created' }, 'events: must be a non-empty array of event names'],
      [{ url: PUBLIC, events: ['message.sent'] }, 'events: must name known events (conversation.created, message.created, handoff.requested, handoff.changed, contact.created, conversation.deleted, conversation.state_changed)'],
      [{ url: 'ftp://93.184.216.34/', events: ['message.created'] }, 'url: must be an http or https URL of at most 2048 bytes'],
      [{ url: `https://93.184.216.34/${'a'.repeat(2048)}`, events: ['message.created'] }, 'url: must be an http or https URL of at most 2048 bytes'],
      [{ url: PUBLIC, events: ['message.created'], secret: 'whsec_mine' }, 'secret: read-only'],
      [{ url: PUBLIC, events: ['message.created'], enabled: 'yes' }, 'enabled: must be a boolean'],
    ]) {
      const r = await call('POST', H, body);
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
      assert.deepEqual(r.json(), { error: err }, JSON.stringify(body));
    }
    const r = await call('POST', H, { url: 'https://user:pw@93.184.216.34/', events: ['message.created'] });
    assert.equal(r.status, 400);
    assert.match(r.json().error, /^url: /);
  });

  test('no URL to a loopback, private or link-local address, on create and on patch', async () => {
    for (const url of PRIVATE) {
      const r = await call('POST', H, { url, events: ['message.created'] });
      assert.equal(r.status, 400, `${url}: ${r.text}`);
      assert.deepEqual(r.json(), { error: WHY }, url);
    }
    const w = await make({ url: PUBLIC, events: ['message.created'] });
    const r = await call('PATCH', `${H}/${w.id}`, { url: 'http://127.0.0.1/h' });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json(), { error: WHY });
    assert.equal((await call('GET', `${H}/${w.id}`)).json().url, PUBLIC);
  });

  test("another organization's webhook is not ours; an agent may not", async () => {
    const b = (await call('POST', '/v1/admin/organizations', { name: 'Hooks B' })).json().id;
    const inB = { 'x-admin-api-key': p.adminKey, 'x-organization-id': b };
    const a = await make({ url: PUBLIC, events: ['contact.created'] });
    const wb = await make({ url: PUBLIC, events: ['contact.created'] }, inB);
    assert.equal(wb.organization_id, b);
    for (const [m, body] of [['GET'], ['PATCH', { enabled: false }], ['DELETE']]) {
      const r = await call(m, `${H}/${a.id}`, body, inB);
      assert.equal(r.status, 404, m);
    }
    // Nor its secret rotated: 404, and nothing shown.
    let r = await call('POST', `${H}/${a.id}/secret`, undefined, inB);
    assert.equal(r.status, 404, r.text);
    assert.deepEqual(r.json(), { error: 'Webhook not found' });
    const listB = (await call('GET', H, undefined, inB)).json().webhooks;
    assert.deepEqual(listB.map((x) => x.id), [wb.id]);
    assert.equal((await call('GET', `${H}/${a.id}`)).status, 200);

    const agent = await addMember(p, { role: 'agent' });
    r = await call('GET', H, undefined, agent.session.headers());
    assert.equal(r.status, 403);
    r = await call('POST', `${H}/${a.id}/secret`, undefined, agent.session.headers());
    assert.equal(r.status, 403);
    const admin = await addMember(p, { role: 'admin' });
    assert.equal((await call('GET', H, undefined, admin.session.headers())).status, 200);
  });

  test('at most 20 per organization', async () => {
    const org = (await call('POST', '/v1/admin/organizations', { name: 'Full hooks' })).json().id;
    const h = { 'x-admin-api-key': p.adminKey, 'x-organization-id': org };
    for (let i = 0; i < 20; i++) await make({ url: `${PUBLIC}&n=${i}`, events: ['message.created'] }, h);
    const r = await call('POST', H, { url: PUBLIC, events: ['message.created'] }, h);
    assert.equal(r.status, 400);
    assert.deepEqual(r.json(), { error: 'webhooks: at most 20' });
  });

  test('no secret in any other answer, nor in any log', () => {
    assert.ok(secrets.length > 20);
    const logs = Object.values(p.logs).join('\n');
    for (const s of secrets) {
      for (const text of answers) assert.ok(!text.includes(s), 'a secret in an answer');
      assert.ok(!logs.includes(s), 'a secret in a log');
      assert.ok(!logs.includes(s.slice(6)), "a secret's key in a log");
    }
  });
});

// Only loopback traffic: the webhooks this stack delivers to point at
// 127.0.0.1; the private addresses it takes are made disabled.
describe('PARLEY_WEBHOOK_ALLOW_PRIVATE=on', () => {
  let p;
  let api;
  async function call(method, pathname, body, headers = { 'x-admin-api-key': p.adminKey }) {
    const h = { ...headers };
    if (body !== undefined) h['content-type'] = 'application/json';
    const r = await p.request(method, pathname, { headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
    if ((r.headers['content-type'] || '').startsWith('application/json')) api.checkJson(method, pathname, r);
    return r;
  }
  async function make(body) {
    const r = await call('POST', H, body);
    assert.equal(r.status, 201, r.text);
    return r.json();
  }
  before(async () => {
    p = new Parley({ workers: 1, mock: true, env: { PARLEY_WEBHOOK_ALLOW_PRIVATE: 'on', RATE_LIMIT_MAX_REQUESTS: '0' } });
    await p.start();
    api = await checkerFor(p);
  });
  after(() => p?.stop());

  test('loopback, private and link-local URLs are taken', async () => {
    for (const url of PRIVATE) {
      const r = await call('POST', H, { url, events: ['message.created'], enabled: false });
      assert.equal(r.status, 201, `${url}: ${r.text}`);
    }
  });

  test("a chat turn's deliveries wait in the outbox; test and retry", async () => {
    // A loopback port nothing listens on: every attempt is refused at once.
    const closed = `http://127.0.0.1:${await freePort()}/hook`;
    const w = await make({ url: closed, events: ['conversation.created', 'message.created'] });
    const other = await make({ url: closed, events: ['handoff.changed'] });
    const r0 = await p.request('POST', '/v1/chat', {
      headers: { 'x-api-key': p.widgetKey, 'content-type': 'application/json' },
      body: JSON.stringify({ sessionId: `hooks-${Date.now()}`, message: 'hello hooks' }),
    });
    assert.equal(r0.status, 200, r0.text);
    let r = await call('GET', `${H}/${w.id}/deliveries`);
    assert.equal(r.status, 200, r.text);
    const ds = r.json().deliveries;
    // The visitor's message, the answer's, the conversation: newest first.
    assert.deepEqual(ds.map((d) => d.event), ['message.created', 'message.created', 'conversation.created']);
    for (const d of ds) {
      assert.match(d.id, /^dlv_[0-9a-f]{32}$/);
      assert.equal(d.webhook_id, w.id);
      assert.equal(d.status, 'pending');
      // The notifier may have tried already: refused, retried in 5 s.
      assert.ok(d.attempts <= 1, `attempts ${d.attempts}`);
      assert.equal(d.response_code, null);
      assert.ok(Number.isInteger(d.next_attempt_at));
    }
    assert.equal(r.json().nextCursor, null);
    assert.deepEqual((await call('GET', `${H}/${other.id}/deliveries`)).json().deliveries, []);
    // Paged.
    r = await call('GET', `${H}/${w.id}/deliveries?limit=2`);
    assert.equal(r.json().deliveries.length, 2);
    const next = r.json().nextCursor;
    // Its own kind, opaque: never a delivery's id (a webhook-id any receiver sees).
    assert.match(next, /^dlc_[0-9a-f]{32}$/);
    r = await call('GET', `${H}/${w.id}/deliveries?limit=2&cursor=${next}`);
    assert.deepEqual(r.json().deliveries.map((d) => d.id), [ds[2].id]);
    r = await call('GET', `${H}/${w.id}/deliveries?limit=2&cursor=${ds[1].id}`);
    assert.equal(r.status, 400, r.text);
    assert.equal((await call('GET', `${H}/${w.id}/deliveries?limit=0`)).status, 400);

    r = await call('POST', `${H}/${w.id}/test`);
    assert.equal(r.status, 202, r.text);
    assert.equal(r.json().event, 'webhook.test');
    assert.equal(r.json().status, 'pending');
    r = await call('POST', `${H}/${w.id}/deliveries/${ds[0].id}/retry`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().id, ds[0].id);
    // Another webhook's path, an unknown id: 404.
    assert.equal((await call('POST', `${H}/${other.id}/deliveries/${ds[0].id}/retry`)).status, 404);
    assert.equal((await call('POST', `${H}/${w.id}/deliveries/dlv_00000000000fffff/retry`)).status, 404);
    assert.equal((await call('POST', `${H}/${w.id}/deliveries/nope/retry`)).status, 404);
    // Another organisation: none of it.
    const b = (await call('POST', '/v1/admin/organizations', { name: 'Outbox B' })).json().id;
    const inB = { 'x-admin-api-key': p.adminKey, 'x-organization-id': b };
    assert.equal((await call('GET', `${H}/${w.id}/deliveries`, undefined, inB)).status, 404);
    assert.equal((await call('POST', `${H}/${w.id}/test`, undefined, inB)).status, 404);
    assert.equal((await call('POST', `${H}/${w.id}/deliveries/${ds[0].id}/retry`, undefined, inB)).status, 404);
    // Deleted: its deliveries go with it.
    assert.equal((await call('DELETE', `${H}/${w.id}`)).status, 200);
    assert.equal((await call('GET', `${H}/${w.id}/deliveries`)).status, 404);
  });

});
