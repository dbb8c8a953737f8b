// The chat rate limit (RATE_LIMIT_MAX_REQUESTS per RATE_LIMIT_WINDOW_MS per
// client), counted in storaged so it is exact across workers: request N+1
// gets 429 {"error":"Too many requests"} with Retry-After whichever worker
// serves it; the order of checks is rate limit -> auth -> validation
// (unauthenticated requests count); X-Forwarded-For counts only from a
// peer in TRUST_PROXY, and then per forwarded address.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { Parley, sleep } from './lib/harness.mjs';
import { assertJsonError, assertSecurityHeaders } from './lib/checks.mjs';
import { assertGoodStream, chat, sid, streamTurn } from './lib/chat.mjs';
import { checkerFor } from './lib/openapi.mjs';
import { createWidget, Visitor } from './lib/wsclient.mjs';

const N = 5;
const WINDOW_MS = 3000;
const TOO_MANY = 'Too many requests';

function chatOn(conn, p, body, { key = p.widgetKey, headers = {}, path = '/v1/chat' } = {}) {
  const h = { 'Content-Type': 'application/json', ...headers };
  if (key !== null) h['x-api-key'] = key;
  return conn.request('POST', path, { headers: h, body: JSON.stringify(body), timeout: 10000 });
}

let api;   // the OpenAPI document of the Parley under test

function assert429(r, what = '', path = '/v1/chat') {
  assertJsonError(r, 429, TOO_MANY);
  if (api) api.checkJson('POST', path, r);
  assert.deepEqual(r.json(), { error: TOO_MANY }, what);
  assertSecurityHeaders(r, what);
  const ra = r.headers['retry-after'];
  assert.match(ra || '', /^\d+$/, `${what} Retry-After is whole seconds: ${ra}`);
  assert.ok(Number(ra) >= 1 && Number(ra) <= Math.ceil(WINDOW_MS / 1000), `${what} Retry-After ${ra} within the window`);
  return Number(ra);
}

describe('rate limit with 4 workers (TRUST_PROXY=127.0.0.1)', () => {
  let p;
  before(async () => {
    p = new Parley({
      workers: 4,
      mock: true,
      env: { RATE_LIMIT_MAX_REQUESTS: String(N), RATE_LIMIT_WINDOW_MS: String(WINDOW_MS), TRUST_PROXY: '127.0.0.1' },
    });
    await p.start();
    api = await checkerFor(p);
  });
  after(() => p && p.stop());

  test(`request ${N + 1} from one client gets 429 with Retry-After on every worker`, async () => {
    await p.mock.clearRequests();
    // One keep-alive connection per worker.
    const conns = [];
    for (let i = 0; i < 4; i++) conns.push(await p.connect());
    try {
      for (const c of conns) assert.equal((await c.request('GET', '/health')).status, 200);
      const owners = p.connectionOwners();
      const workers = conns.map((c) => owners.get(c.localPort));
      const workerPids = p.workerPids();
      for (const w of workers) assert.ok(workerPids.includes(w), `connection held by a worker (${w})`);
      assert.equal(new Set(workers).size, 4, `the 4 connections are on 4 different workers: ${workers}`);

      const s = sid();
      for (let i = 0; i < N; i++) {
        const r = await chatOn(conns[i % 4], p, { sessionId: s, message: `ok ${i}` });
        assert.equal(r.status, 200, `request ${i + 1} on worker ${workers[i % 4]}: ${r.text}`);
        assert.equal(r.headers['retry-after'], undefined);
      }
      // Over the limit on each worker, on /v1/chat and on the stream endpoints.
      for (let i = 0; i < 4; i++) {
        for (const path of ['/v1/chat', '/v1/chat/stream', '/chat']) {
          const r = await chatOn(conns[i], p, { sessionId: s, message: 'one too many' }, { path });
          assert429(r, `worker ${workers[i]} ${path}:`, path);
        }
      }
      const reqs = await p.mock.completions();
      assert.equal(reqs.length, N, 'only the allowed requests reached the model');
      // Other endpoints are not limited.
      assert.equal((await conns[0].request('GET', '/health')).status, 200);
      assert.equal((await p.admin('/v1/admin/conversations?limit=1')).status, 200);
    } finally {
      for (const c of conns) c.destroy();
    }
  });

  test('the window passes: after Retry-After the client is served again', async () => {
    const ip = '198.51.100.77';
    const hdr = { 'X-Forwarded-For': ip };
    for (let i = 0; i < N; i++) assert.equal((await chat(p, sid(), 'fill', { headers: hdr })).status, 200);
    const ra = assert429(await chat(p, sid(), 'over', { headers: hdr }));
    await sleep(ra * 1000 + 100);
    const r = await chat(p, sid(), 'after the window', { headers: hdr });
    assert.equal(r.status, 200, r.text);
  });

  test('order: rate limit, then auth, then validation; unauthenticated requests count', async () => {
    // Client A: N unauthenticated requests, each 401, use up the limit.
    const a = { 'X-Forwarded-For': '198.51.100.1' };
    for (let i = 0; i < N; i++) {
      assertJsonError(await chat(p, sid(), 'no key', { key: null, headers: a }), 401, 'Unauthorized');
    }
    // Now even a good request is 429, and so are a bad key and a bad body.
    assert429(await chat(p, sid(), 'good', { headers: a }), 'good request:');
    assert429(await chat(p, sid(), 'bad key', { key: 'k'.repeat(32), headers: a }), 'bad key:');
    assert429(await chat(p, null, null, { body: { sessionId: '', message: '' }, headers: a }), 'bad body:');
    assert429(await chat(p, null, null, { body: { sessionId: '', message: '' }, key: null, headers: a }), 'bad key and body:');

    // Client B, under the limit: auth comes before validation.
    const b = { 'X-Forwarded-For': '198.51.100.2' };
    assertJsonError(await chat(p, null, null, { body: { sessionId: 'a b', message: '' }, key: 'x'.repeat(32), headers: b }), 401, 'Unauthorized');
    assertJsonError(await chat(p, null, null, { body: { sessionId: 'a b', message: '' }, headers: b }), 400, 'Invalid request payload');
    // ... and both of those counted: N - 2 more are allowed, then 429.
    for (let i = 0; i < N - 2; i++) assert.equal((await chat(p, sid(), `b ${i}`, { headers: b })).status, 200);
    assert429(await chat(p, sid(), 'b over', { headers: b }));
  });

  test('behind a trusted proxy, each forwarded address has its own limit', async () => {
    const c1 = { 'X-Forwarded-For': '203.0.113.10' };
    for (let i = 0; i < N; i++) assert.equal((await chat(p, sid(), `c1 ${i}`, { headers: c1 })).status, 200);
    assert429(await chat(p, sid(), 'c1 over', { headers: c1 }));
    // Another client behind the same proxy is not affected.
    assert.equal((await chat(p, sid(), 'c2', { headers: { 'X-Forwarded-For': '203.0.113.11' } })).status, 200);
    // A chain through another trusted hop still ends at the same client.
    assert429(await chat(p, sid(), 'c1 via two hops', { headers: { 'X-Forwarded-For': '203.0.113.10, 127.0.0.1' } }));
    // The client cannot pick its own key by prepending an address: the
    // rightmost untrusted entry (added by our proxy) is the client.
    assert429(await chat(p, sid(), 'c1 spoofing', { headers: { 'X-Forwarded-For': '192.0.2.99, 203.0.113.10' } }));
    // Streamed turns count the same way.
    const c3 = { 'X-Forwarded-For': '203.0.113.12' };
    for (let i = 0; i < N; i++) assertGoodStream(await streamTurn(p, sid(), `c3 ${i}`, { headers: c3 }));
    const st = await streamTurn(p, sid(), 'c3 over', { headers: c3 });
    assert.equal(st.status, 429);
    assert.deepEqual(st.json(), { error: TOO_MANY });
    assert.match(st.headers['retry-after'] || '', /^\d+$/);
  });
});

describe('rate limit without TRUST_PROXY', () => {
  let p;
  before(async () => {
    p = new Parley({ workers: 2, mock: true, env: { RATE_LIMIT_MAX_REQUESTS: '3', RATE_LIMIT_WINDOW_MS: '60000' } });
    await p.start();
  });
  after(() => p && p.stop());

  test('X-Forwarded-For is ignored: a client cannot dodge the limit with it', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await chat(p, sid(), `x ${i}`, { headers: { 'X-Forwarded-For': `192.0.2.${i + 1}` } });
      assert.equal(r.status, 200, r.text);
    }
    for (const xff of ['192.0.2.50', '10.1.2.3', '192.0.2.1, 192.0.2.2', 'garbage', '']) {
      const r = await chat(p, sid(), 'dodge', { headers: xff ? { 'X-Forwarded-For': xff } : {} });
      assertJsonError(r, 429, TOO_MANY);
      const ra = Number(r.headers['retry-after']);
      assert.ok(ra >= 1 && ra <= 60, `Retry-After ${r.headers['retry-after']}`);
    }
  });
});

// WIDGET_NEW_SESSIONS_PER_MINUTE is one budget per widget, whichever way a
// session starts: the HTTP chat API's new sessionIds are the default
// widget's, so they and that widget's new WebSocket visitors count
// together. One client (X-Forwarded-For) throughout, under its own
// RATE_LIMIT_MAX_REQUESTS, so only the widget's budget refuses.
describe('WIDGET_NEW_SESSIONS_PER_MINUTE: one budget for the HTTP chat and the WebSocket', () => {
  const BUDGET = 2;
  const BUSY = 'Too many new conversations are starting right now. Please try again in a minute.';
  const client = { 'X-Forwarded-For': '198.51.100.90' };
  let p;
  let wid;   // the default widget's public id
  before(async () => {
    p = new Parley({ workers: 2, mock: true, env: {
      WIDGET_NEW_SESSIONS_PER_MINUTE: String(BUDGET), TRUST_PROXY: '127.0.0.1' } });
    await p.start();
    const r = await p.admin('/v1/admin/widgets');
    assert.equal(r.status, 200, r.text);
    wid = r.json().widgets.find((w) => w.id === 'default').widget_id;
  });
  after(async () => {
    if (!p) return;
    await p.stop();
    assert.deepEqual(p.problems, []);
  });

  const httpNew = () => chat(p, sid('budget'), 'hello', { headers: client });
  const assertBusy429 = (r, what) => {
    assert.equal(r.status, 429, `${what}: ${r.text}`);
    assert.deepEqual(r.json(), { error: BUSY }, what);
    assert.ok(Number(r.headers['retry-after']) >= 1, `${what}: Retry-After`);
  };
  const wsVisitor = async () => {
    const v = await Visitor.open(p, wid, { headers: client });
    await v.next('session');
    return v;
  };

  test('spent over HTTP: a new WebSocket visitor of the default widget is refused, its message and its contact details', async () => {
    for (let i = 0; i < BUDGET; i++) {
      const r = await httpNew();
      assert.equal(r.status, 200, `HTTP new session ${i + 1}: ${r.text}`);
    }
    assertBusy429(await httpNew(), 'HTTP new session over the budget');
    const v = await wsVisitor();
    try {
      v.send({ type: 'message', content: 'a new conversation' });
      assert.equal((await v.next('error')).message, BUSY, 'the WebSocket new session counts in the same budget');
      v.send({ type: 'contact_info', name: 'Tess', email: 'tess@example.com' });
      assert.equal((await v.next('error')).message, BUSY, 'a contact submission that would start one too');
    } finally {
      await v.close();
    }
  });

  test('spent over the WebSocket: a new HTTP chat session is refused with 429', async () => {
    await p.restartStoraged();   // the counts are storaged's memory: a fresh minute
    const vs = [];
    try {
      for (let i = 0; i < BUDGET; i++) {
        const v = await wsVisitor();
        vs.push(v);
        await v.turn(`ws new session ${i + 1}`);
      }
      const over = await wsVisitor();
      vs.push(over);
      over.send({ type: 'message', content: 'one too many' });
      assert.equal((await over.next('error')).message, BUSY, 'WebSocket new session over the budget');
      assertBusy429(await httpNew(), 'the HTTP new session counts in the same budget');
      // Sessions already made go on.
      await vs[0].turn('still here');
    } finally {
      await Promise.all(vs.map((v) => v.close()));
    }
  });

  test('spent over HTTP: a new visitor\'s verified identify on the default widget gets the error, and no session', async () => {
    await p.restartStoraged();   // a fresh minute
    const secret = (await p.adminJson('POST', `/v1/admin/widgets/${wid}/identity-secret`)).json().identity_secret;
    assert.match(secret || '', /^[0-9a-f]{64}$/);
    try {
      for (let i = 0; i < BUDGET; i++) assert.equal((await httpNew()).status, 200);
      const v = await Visitor.open(p, wid, { headers: client });
      try {
        const token = (await v.next('session')).session_token;
        const id = 'budget-user';
        v.send({ type: 'identify', id, hash: crypto.createHmac('sha256', secret).update(id).digest('hex') });
        assert.equal((await v.next('error')).message, BUSY, 'not "Your sign-in could not be checked"');
        // Nothing was kept: a resume of its token finds no session.
        const r = await Visitor.open(p, wid, { headers: client });
        try {
          await r.next('session');
          r.send({ type: 'resume', token });
          assert.equal((await r.next('session')).resumed, false);
        } finally {
          await r.close();
        }
      } finally {
        await v.close();
      }
    } finally {
      assert.equal((await p.adminJson('DELETE', `/v1/admin/widgets/${wid}/identity-secret`)).status, 200);
    }
  });

  test('a widget\'s budget is its own, and a reset of its public id does not renew it', async () => {
    const w = await createWidget(p);   // another widget: a budget of its own
    const vs = [];
    const visitor = async (id) => {
      const v = await Visitor.open(p, id, { headers: client });
      vs.push(v);
      await v.next('session');
      return v;
    };
    try {
      for (let i = 0; i < BUDGET; i++) await (await visitor(w.widget_id)).turn(`new session ${i + 1}`);
      const r = await p.adminJson('POST', `/v1/admin/widgets/${w.widget_id}/reset-id`);
      assert.equal(r.status, 200, r.text);
      const fresh = r.json().widget_id;
      assert.notEqual(fresh, w.widget_id);
      const over = await visitor(fresh);
      over.send({ type: 'message', content: 'under a new public id' });
      assert.equal((await over.next('error')).message, BUSY, 'the same widget, the same budget');
    } finally {
      await Promise.all(vs.map((v) => v.close()));
    }
  });
});

// A body refused at its request's head, before it is read (413 past the
// route's limit, 429 past what one client may have buffered, 503 past the
// worker's), is answered as its route would answer: with its CORS headers,
// so the page can read why, and Retry-After on a 429; from an Origin that
// CORS_ORIGIN refuses, 403.
describe('a body refused at its head (PARLEY_MAX_BODY_KB_PER_CLIENT=16)', () => {
  const SHOP = 'https://shop.example';
  let p;
  before(async () => {
    p = new Parley({ workers: 1, env: { PARLEY_MAX_BODY_KB_PER_CLIENT: '16', CORS_ORIGIN: SHOP } });
    await p.start();
  });
  after(() => p?.stop());

  const post = (path, bytes, origin) => p.request('POST', path, {
    headers: { 'Content-Type': 'application/json', 'x-api-key': p.widgetKey, ...(origin ? { Origin: origin } : {}) },
    body: JSON.stringify({ sessionId: sid(), message: 'a'.repeat(bytes) }),
  });

  test('429 and 413 carry the CORS headers and Retry-After; another Origin is 403', async () => {
    let r = await post('/v1/chat', 20000, SHOP);
    assertJsonError(r, 429, 'Too many requests');
    assert.equal(r.headers['access-control-allow-origin'], SHOP);
    assert.equal(r.headers['access-control-expose-headers'], 'Retry-After');
    assert.equal(r.headers['retry-after'], '1');
    r = await post('/v1/chat', 70000, SHOP);
    assertJsonError(r, 413, 'Request body too large');
    assert.equal(r.headers['access-control-allow-origin'], SHOP);
    r = await post('/v1/chat', 70000, 'https://evil.example');
    assertJsonError(r, 403, 'Origin not allowed');
    assert.equal(r.headers['access-control-allow-origin'], undefined);
    // A widget's upload (a public route): any Origin may read it.
    r = await p.request('PUT', '/api/widget/wid_none/attachments/att_none', {
      headers: { Origin: 'https://any.example', 'Content-Range': 'bytes 0-19999/20000' }, body: Buffer.alloc(20000),
    });
    assertJsonError(r, 429, 'Too many requests');
    assert.equal(r.headers['access-control-allow-origin'], '*');
    assert.equal(r.headers['retry-after'], '1');
  });
});
