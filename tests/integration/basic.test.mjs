// /health, the headers every response carries, 404/405, keep-alive,
// pipelining, HTTP/1.0 and Connection: close, and the idle timeout.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Parley, sleep } from './lib/harness.mjs';
import { buildRequest } from './lib/http.mjs';
import { assertJsonError, assertSecurityHeaders } from './lib/checks.mjs';

describe('basic HTTP', () => {
  let p;
  before(async () => {
    p = new Parley({ workers: 2, idleTimeoutMs: 2000, headerTimeoutMs: 3000 });
    await p.start();
  });
  after(async () => { await p.stop(); });

  test('GET /health answers 200 {"status":"ok"} with no-store and the security headers', async () => {
    const r = await p.get('/health');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), { status: 'ok' });
    assert.match(r.headers['content-type'], /^application\/json/);
    assert.match(r.headers['cache-control'] || '', /(^|,\s*)no-store(\s*,|$)/);
    assert.equal(r.headers['content-length'], String(r.body.length));
    assertSecurityHeaders(r, '/health');
    assert.equal(r.headers['strict-transport-security'], undefined, 'no HSTS outside production');
  });

  test('HEAD /health: same headers, no body', async () => {
    const g = await p.get('/health');
    const c = await p.connect();
    try {
      const h = await c.request('HEAD', '/health');
      assert.equal(h.status, 200);
      assert.equal(h.body.length, 0);
      assert.equal(h.headers['content-length'], String(g.body.length));
      assertSecurityHeaders(h, 'HEAD');
      // the connection is still in sync: the next response parses
      const g2 = await c.request('GET', '/health');
      assert.equal(g2.status, 200);
      assert.deepEqual(g2.json(), { status: 'ok' });
    } finally { c.destroy(); }
  });

  test('unknown path: 404 JSON error with the security headers', async () => {
    for (const path of ['/nope', '/v1/nothing/here', '/health/x', '/%2e%2e/etc/passwd', '/v1/admin/conversationsX']) {
      const r = await p.get(path);
      assertJsonError(r, 404);
      assertSecurityHeaders(r, path);
    }
  });

  test('wrong method: 405 with Allow', async () => {
    for (const m of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const r = await p.request(m, '/health', { body: m === 'DELETE' ? undefined : '{}' , headers: { 'Content-Type': 'application/json' } });
      assertJsonError(r, 405);
      assert.ok(r.headers.allow, `${m} /health has an Allow header`);
      const allowed = r.headers.allow.split(',').map((s) => s.trim());
      assert.ok(allowed.includes('GET'), `Allow lists GET: ${r.headers.allow}`);
      assert.ok(!allowed.includes(m), `Allow does not list ${m}`);
      assertSecurityHeaders(r, `${m} /health`);
    }
    const r = await p.request('POST', '/v1/admin/conversations', { body: '{}', headers: { 'x-admin-api-key': p.adminKey } });
    assertJsonError(r, 405);
    assert.ok(r.headers.allow && r.headers.allow.includes('GET'));
  });

  test('keep-alive: 100 requests on one connection', async () => {
    const c = await p.connect();
    try {
      for (let i = 0; i < 100; i++) {
        const r = await c.request('GET', i % 2 ? '/health' : '/nope');
        assert.equal(r.status, i % 2 ? 200 : 404);
        assert.notEqual((r.headers.connection || '').toLowerCase(), 'close', `request ${i} closed the connection`);
      }
      assert.equal(c.gone, false);
    } finally { c.destroy(); }
  });

  test('pipelining: requests sent in one write are answered in order', async () => {
    const c = await p.connect();
    const reqs = [
      ['GET', '/health', {}, 200],
      ['GET', '/nope', {}, 404],
      ['HEAD', '/health', {}, 200],
      ['POST', '/health', { body: 'x=1' }, 405],
      ['GET', '/v1/admin/conversations?limit=0', { headers: { 'x-admin-api-key': p.adminKey } }, 400],
      ['GET', '/v1/admin/conversations?limit=1', { headers: { 'x-admin-api-key': 'wrong-key-wrong-key-wrong-key' } }, 401],
      ['GET', '/health', {}, 200],
    ];
    try {
      // 7 requests, then the same 7 again, all in one write
      const bytes = Buffer.concat([...reqs, ...reqs].map(([m, path, o]) => buildRequest(m, path, o)));
      assert.ok(await c.write(bytes));
      for (const [m, path, , status] of [...reqs, ...reqs]) {
        const r = await c.response({ head: m === 'HEAD' });
        assert.equal(r.status, status, `${m} ${path}`);
        if (m === 'GET' && path === '/health') assert.deepEqual(r.json(), { status: 'ok' });
      }
      // and the connection is still usable
      const r = await c.request('GET', '/health');
      assert.equal(r.status, 200);
      // nothing extra arrived
      assert.equal(c.buf.length, 0);
    } finally { c.destroy(); }
  });

  // A request with a body has its route found at its head (for its body
  // limit) and kept for its dispatch: the next requests on the connection,
  // with or without a body, with or without parameters, are each matched
  // for themselves.
  test("pipelining: a body request's route is its own, never the next request's", async () => {
    const c = await p.connect();
    const admin = { 'x-admin-api-key': p.adminKey, 'content-type': 'application/json' };
    const reqs = [
      ['POST', '/chat', { body: '{}', headers: { 'content-type': 'application/json' } }, 401],
      ['GET', '/health', {}, 200],
      ['POST', '/chat', { body: '{}', headers: { 'content-type': 'application/json' } }, 401],
      ['PATCH', '/v1/admin/widgets/wgt_nonexistent', { body: '{"name":"x"}', headers: admin }, 404],
      ['POST', '/health', { body: 'x=1' }, 405],
      ['GET', '/nope', {}, 404],
    ];
    try {
      assert.ok(await c.write(Buffer.concat(reqs.map(([m, path, o]) => buildRequest(m, path, o)))));
      for (const [m, path, , status] of reqs) {
        const r = await c.response();
        assert.equal(r.status, status, `${m} ${path}: ${r.body}`);
        if (path === '/health' && m === 'GET') assert.deepEqual(r.json(), { status: 'ok' });
      }
    } finally { c.destroy(); }
  });

  // Requests held back while the answers were over CONN_OUT_HIGH (then 1 MiB)
  // waited for an event none asked for once a flush had written them all:
  // 2 of 3 answered, and the connection never timed out.
  test('pipelining: answers past 1 MiB in all, every request answered, then the idle timeout', async () => {
    const c = await p.connect();
    try {
      const one = (await p.get('/v1/openapi.json')).body.length;
      assert.ok(one > 400 * 1024, `the document is ${one} bytes`);
      assert.ok(await c.write(Buffer.concat(Array.from({ length: 4 }, () => buildRequest('GET', '/v1/openapi.json')))));
      for (let i = 0; i < 4; i++) {
        const r = await c.response();
        assert.equal(r.status, 200, `answer ${i + 1} of 4`);
        assert.equal(r.body.length, one);
      }
      assert.equal(await c.waitClose(5000), true, 'closed at the idle timeout (2 s)');
    } finally { c.destroy(); }
  });

  test('pipelining: a request split across writes at every awkward place', async () => {
    const c = await p.connect();
    try {
      const one = buildRequest('GET', '/health', { headers: { 'X-Pad': 'abc' } });
      const bytes = Buffer.concat([one, one, one]);
      for (let i = 0; i < bytes.length; i += 7) {
        await c.write(bytes.subarray(i, i + 7));
        await sleep(1);
      }
      for (let i = 0; i < 3; i++) assert.equal((await c.response()).status, 200);
    } finally { c.destroy(); }
  });

  test('Connection: close and HTTP/1.0 requests are answered, then the server closes', async () => {
    for (const [opts, label] of [
      [{ headers: { Connection: 'close' } }, 'Connection: close'],
      [{ version: 'HTTP/1.0' }, 'HTTP/1.0'],
    ]) {
      const c = await p.connect();
      try {
        assert.ok(await c.write(buildRequest('GET', '/health', opts)));
        const r = await c.response();
        assert.equal(r.status, 200, label);
        assert.ok(await c.waitClose(2000), `${label}: server closes the connection`);
      } finally { c.destroy(); }
    }
    // HTTP/1.0 with keep-alive asked for stays open, and says so (1.0 reuses only then)
    const c = await p.connect();
    try {
      await c.write(buildRequest('GET', '/health', { version: 'HTTP/1.0', headers: { Connection: 'keep-alive' } }));
      const first = await c.response();
      assert.equal(first.status, 200);
      assert.equal(first.headers.connection, 'keep-alive');
      await c.write(buildRequest('GET', '/health', { version: 'HTTP/1.0', headers: { Connection: 'keep-alive' } }));
      assert.equal((await c.response()).status, 200);
    } finally { c.destroy(); }
  });

  test('an idle keep-alive connection is closed after PARLEY_IDLE_TIMEOUT_MS', async () => {
    const c = await p.connect();
    try {
      assert.equal((await c.request('GET', '/health')).status, 200);
      const t0 = Date.now();
      assert.ok(await c.waitClose(6000), 'closed by the server');
      const took = Date.now() - t0;
      assert.ok(took >= 2000 - 250, `closed too early: ${took} ms`);
      assert.ok(took <= 2000 + 2000, `closed too late: ${took} ms`);
      assert.equal(c.buf.length, 0, 'nothing sent on an idle close');
    } finally { c.destroy(); }
  });
});

describe('production mode', () => {
  test('PARLEY_ENV=production adds HSTS on every response', async (t) => {
    const p = new Parley({ workers: 1, env: { PARLEY_ENV: 'production', CORS_ORIGIN: 'https://example.com' } });
    t.after(() => p.stop());
    await p.start();
    for (const path of ['/health', '/nope']) {
      const r = await p.get(path);
      assert.equal(r.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains', path);
      assertSecurityHeaders(r, path);
    }
  });
});

describe('access log', () => {
  // Resolves with the first match of re in the masterd/workerd log (5 s at most).
  async function logLine(p, re) {
    for (let i = 0; i < 100; i++) {
      const m = p.logs.masterd.match(re);
      if (m) return m;
      await sleep(50);
    }
    assert.fail(`no log line ${re}; log:\n${p.tail('masterd')}`);
  }

  // One line per request at info level: client, method, path (no query
  // string: it may carry a token), status, bytes, ms. Off by default.
  test('PARLEY_ACCESS_LOG=on logs one line per request, without the query string', async (t) => {
    const p = new Parley({ workers: 1, env: { PARLEY_ACCESS_LOG: 'on' } });
    t.after(() => p.stop());
    await p.start();
    // HEAD: the start-up's own GET /health polls log lines of their own.
    const r = await p.raw('HEAD /health?token=sekrit-token-value HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(r.data.toString('latin1'), /^HTTP\/1\.1 200 /);
    assert.equal((await p.get('/nope')).status, 404);
    const m = await logLine(p, /access: 127\.0\.0\.1 HEAD \/health 200 (\d+) (\d+)/);
    assert.equal(Number(m[1]), r.data.length, 'bytes: the whole answer');
    await logLine(p, /access: 127\.0\.0\.1 GET \/nope 404 \d+ \d+/);
    assert.doesNotMatch(p.logs.masterd, /sekrit-token-value/);
  });

  // Behind a trusted proxy the client is the one X-Forwarded-For names:
  // a chat turn's too, whose request keeps only its line while it runs.
  test('behind TRUST_PROXY, the forwarded client, a chat turn\'s as any other\'s', async (t) => {
    const p = new Parley({ workers: 1, mock: true, env: { PARLEY_ACCESS_LOG: 'on', TRUST_PROXY: '127.0.0.1' } });
    t.after(() => p.stop());
    await p.start();
    const headers = { 'content-type': 'application/json', 'x-api-key': p.widgetKey, 'x-forwarded-for': '203.0.113.7' };
    const body = JSON.stringify({ sessionId: 'log-1', message: 'hi' });
    for (const path of ['/v1/chat', '/v1/chat/stream']) {
      const r = await p.request('POST', path, { headers, body });
      assert.equal(r.status, 200, r.text);
      await logLine(p, new RegExp(`access: 203\\.0\\.113\\.7 POST ${path} 200 \\d+ \\d+`));
    }
    assert.equal((await p.get('/v1/chat/history?sessionId=log-1', { headers })).status, 200);
    await logLine(p, /access: 203\.0\.113\.7 GET \/v1\/chat\/history 200 \d+ \d+/);
    assert.doesNotMatch(p.logs.masterd, /access: 127\.0\.0\.1 (POST|GET \/v1)/);
  });

  // A request whose answer never ended is logged as its connection
  // closes: a stream its client left with the 200 it had, an answer its
  // client did not wait for with 499.
  test('a request its client left is logged too: a stream\'s 200, 499 when nothing was answered', async (t) => {
    const p = new Parley({ workers: 1, mock: true, env: { PARLEY_ACCESS_LOG: 'on' } });
    t.after(() => p.stop());
    await p.start();
    const post = (path, message) => {
      const body = JSON.stringify({ sessionId: 'left-1', message });
      return `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
        `x-api-key: ${p.widgetKey}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    };
    const s = await p.connect();
    await s.write(post('/v1/chat/stream', 'a long one [[mock:chunks=20,delay=200]]'));
    for (let i = 0; i < 100 && !s.buf.toString('latin1').includes('"type":"token"'); i++) await sleep(20);
    assert.match(s.buf.toString('latin1'), /"type":"token"/);
    s.destroy();
    const m = await logLine(p, /access: 127\.0\.0\.1 POST \/v1\/chat\/stream 200 (\d+) \d+/);
    assert.ok(Number(m[1]) > 0, 'the bytes it was given');
    const j = await p.connect();
    await j.write(post('/v1/chat', 'a slow one [[mock:first_delay=3000]]'));
    await sleep(300);
    j.destroy();
    await logLine(p, /access: 127\.0\.0\.1 POST \/v1\/chat 499 0 \d+/);
  });

  test('off by default', async (t) => {
    const p = new Parley({ workers: 1 });
    t.after(() => p.stop());
    await p.start();
    assert.equal((await p.get('/health')).status, 200);
    assert.equal((await p.get('/nope')).status, 404);
    await p.stop();
    assert.doesNotMatch(p.logs.masterd, /access: /);
  });
});
