// Settings checked at start and their effects: CORS_ORIGIN='*' refused in
// production, API keys shorter than 24 characters refused in production
// with a message naming them (and 24 accepted; make run's test shows a
// shorter one taken outside production, smoke.test.mjs), production answers without details, and
// the chat endpoints without a WIDGET_API_KEY.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Parley, refused } from './lib/harness.mjs';
import { assertJsonError, assertSecurityHeaders } from './lib/checks.mjs';
import { assertGoodStream, chat, sid, streamTurn } from './lib/chat.mjs';
import { checkerFor } from './lib/openapi.mjs';

describe('refused at start', () => {
  const CORS_MSG = "Refusing to start with CORS_ORIGIN='*' in production.";
  for (const [name, env] of [
    ['CORS_ORIGIN=* with PARLEY_ENV=production', { CORS_ORIGIN: '*', PARLEY_ENV: 'production' }],
    ['CORS_ORIGIN=* with NODE_ENV=production', { CORS_ORIGIN: '*', NODE_ENV: 'production' }],
    ['CORS_ORIGIN unset (it means *) in production', { PARLEY_ENV: 'production' }],
    ['* among other origins in production', { CORS_ORIGIN: 'https://a.example, *', PARLEY_ENV: 'production' }],
  ]) {
    test(name, async () => {
      const r = await refused(env);
      assert.notEqual(r.code, 0, `masterd exits non-zero (code ${r.code}, signal ${r.signal})`);
      assert.equal(r.signal, null);
      assert.ok(r.log.includes(CORS_MSG), `the log says ${JSON.stringify(CORS_MSG)}:\n${r.log}`);
      assert.ok(r.ms < 5000, `refused at once (${r.ms} ms)`);
    });
  }

  for (const [name, opts, which] of [
    ['WIDGET_API_KEY of 23 characters', { widgetKey: 'w'.repeat(23) }, 'WIDGET_API_KEY'],
    ['ADMIN_API_KEY of 23 characters', { adminKey: 'a'.repeat(23) }, 'ADMIN_API_KEY'],
    ['WIDGET_API_KEY of 23 two-byte characters (46 bytes)', { widgetKey: '\u00e9'.repeat(23) }, 'WIDGET_API_KEY'],
    ['WIDGET_API_KEY of 11 characters', { widgetKey: 'short-key-9' }, 'WIDGET_API_KEY'],
  ]) {
    test(`${name}: refused in production with a message naming it`, async () => {
      const r = await refused({ CORS_ORIGIN: 'https://a.example', PARLEY_ENV: 'production' }, opts);
      assert.notEqual(r.code, 0, `masterd exits non-zero (code ${r.code}, signal ${r.signal})`);
      assert.equal(r.signal, null);
      const line = r.log.split('\n').find((l) => l.includes(which));
      assert.ok(line, `a log line names ${which}:\n${r.log}`);
      assert.match(line, /24/, `it says the minimum: ${line}`);
      assert.ok(!r.log.includes(opts.widgetKey ?? opts.adminKey), 'the key itself is not printed');
    });
  }
});

describe('production (PARLEY_ENV=production, keys of exactly 24 characters)', () => {
  let p;
  let api;
  const ORIGIN = 'https://prod.example';
  before(async () => {
    p = new Parley({
      workers: 2,
      mock: true,
      widgetKey: 'W'.repeat(12) + 'w'.repeat(12),
      adminKey: 'A'.repeat(12) + 'a'.repeat(12),
      env: { PARLEY_ENV: 'production', CORS_ORIGIN: ORIGIN, RATE_LIMIT_MAX_REQUESTS: '0' },
    });
    await p.start();
    api = await checkerFor(p);
  });
  after(() => p && p.stop());

  test('24-character keys are accepted; chat and admin work', async () => {
    const r = await chat(p, sid(), 'hello prod', { headers: { Origin: ORIGIN } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().message, 'You said: hello prod');
    assert.equal(r.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
    assert.equal(r.headers['access-control-allow-origin'], ORIGIN);
    assert.equal((await p.admin('/v1/admin/conversations')).status, 200);
    const st = await streamTurn(p, sid(), 'stream prod');
    assertGoodStream(st, 'You said: stream prod');
    assert.equal(st.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
  });

  test('400 "Invalid request payload" has no details in production', async () => {
    for (const body of [{ sessionId: '', message: 'x' }, { sessionId: 'a', message: '' }, { message: 'x' }, [], { sessionId: 'a', message: 'm'.repeat(4001) }]) {
      for (const path of ['/v1/chat', '/v1/chat/stream', '/chat']) {
        const r = await chat(p, null, null, { body, path });
        assertJsonError(r, 400, 'Invalid request payload');
        assert.deepEqual(r.json(), { error: 'Invalid request payload' });
        api.checkJson('POST', path, r);
        assertSecurityHeaders(r);
        assert.equal(r.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
      }
    }
    const h = await p.get('/v1/chat/history?sessionId=a%20b', { headers: { 'x-api-key': p.widgetKey } });
    assertJsonError(h, 400, 'Invalid request payload');
    assert.deepEqual(h.json(), { error: 'Invalid request payload' });
  });

  test('malformed JSON is 400 {"error":"Invalid JSON body"} and says no more', async () => {
    const r = await chat(p, null, null, { rawBody: '{"sessionId":' });
    assertJsonError(r, 400, 'Invalid JSON body');
    assert.deepEqual(r.json(), { error: 'Invalid JSON body' });
  });

  test('the model\'s own error text does not reach the client', async () => {
    const r = await chat(p, sid(), 'x [[mock:status=401]]');
    assert.deepEqual([r.status, r.json()], [502, { error: 'Upstream model error' }]);
  });

  test('/ sends to the dashboard (outside production: a page of links, make-run.test.mjs)', async () => {
    const r = await p.get('/');
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, '/dashboard/');
    assertSecurityHeaders(r);
  });
});

describe('no WIDGET_API_KEY', () => {
  let p;
  let api;
  before(async () => {
    p = new Parley({ workers: 1, mock: true, widgetKey: null, env: { RATE_LIMIT_MAX_REQUESTS: '0' } });
    await p.start();
    api = await checkerFor(p);
  });
  after(() => p && p.stop());

  test('the chat endpoints answer 503 and say why; the rest works', async () => {
    const msg = 'WIDGET_API_KEY is not configured on this deployment';
    for (const path of ['/v1/chat', '/v1/chat/stream', '/chat']) {
      for (const key of [null, 'k'.repeat(32)]) {
        const r = await chat(p, sid(), 'hi', { path, key });
        assertJsonError(r, 503, msg);
        api.checkJson('POST', path, r);
        assert.deepEqual(r.json(), { error: msg });
      }
    }
    const h = await p.get(`/v1/chat/history?sessionId=${sid()}`, { headers: { 'x-api-key': 'k'.repeat(32) } });
    assertJsonError(h, 503, msg);
    assert.equal((await p.get('/health')).status, 200);
    assert.equal((await p.admin('/v1/admin/conversations')).status, 200);
    assert.equal((await p.mock.completions()).length, 0);
  });
});
