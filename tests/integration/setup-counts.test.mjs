// Setup mistakes counted (issue 24): every refusal of a widget's visitors
// counted by reason in storaged, exactly, whichever of the two workers
// answered (wrong key, Origin not in CORS_ORIGIN, Origin not in the
// widget's allowed origins, the widget's CSP report, the widget disabled),
// read back by GET /v1/admin/widgets/:id/setup (checked against the
// OpenAPI document); the report endpoint's refusals; one log line per
// reason however many refusals, never the key; what a visitor may send is
// bounded (the last 8 origins, each cut at 100 bytes, unknown ids in one
// bucket nobody sees). tests/unit/storaged/test_setupcounts.c tests the bounds
// of the table itself.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Parley, pool, waitFor } from './lib/harness.mjs';
import { assertJsonError } from './lib/checks.mjs';
import { adminCall, checkerFor } from './lib/openapi.mjs';

const SITE = 'https://site.example'; // in CORS_ORIGIN
const EVIL = 'https://evil.example';

describe('setup counts', () => {
  let p, api, def;
  const call = (...a) => adminCall(p, api, ...a);
  const setup = async (wid) => {
    const r = await call('GET', `/v1/admin/widgets/${wid}/setup`);
    assert.equal(r.status, 200, r.text);
    return Object.fromEntries(r.json().refusals.map((x) => [x.reason, x.count]));
  };
  const origins = async (wid) => (await call('GET', `/v1/admin/widgets/${wid}/setup`)).json().origins;

  before(async () => {
    p = new Parley({ workers: 2, env: { CORS_ORIGIN: SITE, RATE_LIMIT_MAX_REQUESTS: '0' } });
    await p.start();
    api = await checkerFor(p);
    def = (await call('GET', '/v1/admin/widgets')).json().widgets[0].widget_id;
  });
  after(() => p && p.stop());

  test('each refusal counted once by reason, across workers; the log says each reason once, never the key', async () => {
    const before0 = await setup(def);
    const chat = (headers) => p.request('POST', '/v1/chat', {
      headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ sessionId: 's1', message: 'hi' }),
    });
    const BADKEY = 'wrong-key-wrong-key-wrong-key-0001';
    // new connections each: masterd spreads them over both workers
    await pool([...Array(12).keys()], 4, async () => assertJsonError(await chat({ origin: SITE, 'x-widget-api-key': BADKEY }), 401));
    await pool([...Array(5).keys()], 4, async () => assertJsonError(await chat({ origin: EVIL, 'x-widget-api-key': p.widgetKey }), 403));
    const pre = await p.request('OPTIONS', '/chat', { headers: { origin: EVIL, 'access-control-request-method': 'POST' } });
    assert.equal(pre.status, 403);
    // not the chat API's: not counted
    assert.equal((await p.get('/health', { headers: { origin: EVIL } })).status, 403);
    // let through (no model here: 502): not counted
    assert.ok(![401, 403].includes((await chat({ origin: SITE, 'x-widget-api-key': p.widgetKey })).status));

    const w = (await call('POST', '/v1/admin/widgets', { name: 'Counted', allowed_origins: [SITE] })).json();
    await pool([...Array(4).keys()], 4, async () => assert.equal((await p.get(`/api/widget/${w.widget_id}/config`, { headers: { origin: EVIL } })).status, 403));
    assert.equal((await p.get(`/api/widget/${w.widget_id}/config`, { headers: { origin: SITE } })).status, 200);
    const report = (wid, q = 'reason=csp', origin = SITE) => p.request('POST', `/api/widget/${wid}/report?${q}`, { headers: origin ? { origin } : {}, localAddress: '127.0.0.2' });
    for (let i = 0; i < 3; i++) {
      const r = await report(w.widget_id);
      assert.equal(r.status, 204);
      assert.equal(r.headers['access-control-allow-origin'], '*');
    }
    // each refusal names what is wrong
    assertJsonError(await report(w.widget_id, 'reason=other'), 400, 'Invalid report: reason must be csp');
    assertJsonError(await report(w.widget_id, ''), 400, 'Invalid report: reason must be csp');
    assertJsonError(await report(w.widget_id, 'reason=csp', null), 400, "Invalid report: the page's Origin header is required");
    assertJsonError(await report('not-a-widget'), 404, 'Widget not found');
    // Only an http(s) origin of at most 100 bytes is taken.
    for (const bad of ['javascript:alert(1)', 'https://bank.example/login', '<b>x</b>', 'null', 'ftp://a.example',
      `https://${'A'.repeat(100)}.example`, 'https://a.example?x=1', 'https://user@a.example']) {
      assertJsonError(await report(w.widget_id, 'reason=csp', bad), 400,
        'Invalid report: Origin must be an http(s) origin of at most 100 bytes');
    }
    await call('PATCH', `/v1/admin/widgets/${w.widget_id}`, { enabled: false });
    const off = await p.get(`/api/widget/${w.widget_id}/config`, { headers: { origin: SITE } });
    assertJsonError(off, 404, 'Widget not found');
    assert.equal(off.json().disabled, true);
    await call('PATCH', `/v1/admin/widgets/${w.widget_id}`, { enabled: true });

    // a note travels on its worker's own connection to storaged: the
    // other worker's read may come first, so wait for the counts to land
    let d;
    await waitFor(async () => (d = await setup(def)).key - before0.key >= 12 && d.cors - before0.cors >= 6, 5000, 'the key and CORS counts');
    assert.equal(d.key - before0.key, 12);
    assert.equal(d.cors - before0.cors, 6);
    await waitFor(async () => (await setup(w.widget_id)).csp === 3, 5000, 'the CSP count');
    assert.deepEqual(await setup(w.widget_id), { key: 0, cors: 0, origin: 4, csp: 3, disabled: 1 });
    const seen = await origins(w.widget_id);
    // the reports apart from the sites the server saw itself
    assert.deepEqual(seen.map((o) => [o.origin, o.result, o.count]), [[SITE, 'disabled', 2], [EVIL, 'origin', 4]]);
    const reported = (await call('GET', `/v1/admin/widgets/${w.widget_id}/setup`)).json().reported_origins;
    assert.deepEqual(reported.map((o) => [o.origin, o.result, o.count]), [[SITE, 'csp', 3]]);

    // one line per reason (the next after a minute), the key never
    await waitFor(() => /setup: refused: origin not in CORS_ORIGIN/.test(p.logs.storaged), 5000, 'the log line');
    const log = p.logs.storaged;
    assert.equal(log.match(/setup: refused: wrong data-api-key/g).length, 1, log);
    assert.equal(log.match(/setup: refused: origin not in CORS_ORIGIN/g).length, 1);
    assert.ok(!log.includes(BADKEY) && !p.logs.masterd.includes(BADKEY), 'the key is never logged');
  });

  // A chat turn's request keeps only its line while it streams: its
  // Origin must outlive that for the refusal storaged answers (disabled).
  test('the HTTP chat API\'s "chat disabled" 403s note their Origin, as the history\'s does', async () => {
    const site = async () => (await origins(def)).find((o) => o.origin === SITE) || { count: 0 };
    const { count } = await site();
    const before1 = (await setup(def)).disabled;
    await call('PATCH', `/v1/admin/widgets/${def}`, { enabled: false });
    try {
      const headers = { origin: SITE, 'content-type': 'application/json', 'x-api-key': p.widgetKey };
      const body = JSON.stringify({ sessionId: 'off-1', message: 'hi' });
      for (const path of ['/v1/chat', '/v1/chat/stream', '/chat']) {
        const r = await p.request('POST', path, { headers, body });
        assertJsonError(r, 403, 'This chat is disabled.');
        assert.equal(r.headers['access-control-allow-origin'], SITE, path);
      }
      assertJsonError(await p.get('/v1/chat/history?sessionId=off-1', { headers }), 403, 'This chat is disabled.');
      await waitFor(async () => (await setup(def)).disabled === before1 + 4, 5000, 'the 4 refusals counted');
      await waitFor(async () => (await site()).count === count + 4, 5000, 'the 4 refusals\' origin noted');
      const o = await site();
      assert.deepEqual([o.result, o.count], ['disabled', count + 4]);
    } finally {
      await call('PATCH', `/v1/admin/widgets/${def}`, { enabled: true });
    }
  });

  test('bounded: 8 reported origins kept, 10 reports a minute per client; reports never push the sites seen out', async () => {
    const w = (await call('POST', '/v1/admin/widgets', { name: 'Bounded' })).json();
    assert.equal((await p.get(`/api/widget/${w.widget_id}/config`, { headers: { origin: SITE } })).status, 200);
    await waitFor(async () => (await origins(w.widget_id)).length === 1, 5000, 'the site seen');
    // Each counted before the next is sent: the two workers' notes reach
    // storaged on two sockets, and the list's order is storaged's.
    const from = '127.0.0.3';
    const sites = Array.from({ length: 12 }, (_, i) => `https://s${i}.example`);
    for (const [i, origin] of sites.entries()) {
      assert.equal((await p.request('POST', `/api/widget/${w.widget_id}/report?reason=csp`, { headers: { origin }, localAddress: from })).status, 204);
      if (i < 10) await waitFor(async () => (await setup(w.widget_id)).csp === i + 1, 5000, `report ${i + 1} counted`);
    }
    // another client's report is still counted, after the first's two extra
    assert.equal((await p.request('POST', `/api/widget/${w.widget_id}/report?reason=csp`, { headers: { origin: SITE }, localAddress: '127.0.0.4' })).status, 204);
    await waitFor(async () => (await setup(w.widget_id)).csp === 11, 5000, 'the other client\'s report');
    const r = (await call('GET', `/v1/admin/widgets/${w.widget_id}/setup`)).json();
    assert.equal(r.reported_origins.length, 8);
    assert.deepEqual(r.reported_origins.map((o) => o.origin), [SITE, ...sites.slice(3, 10).reverse()]);
    assert.equal((await setup(w.widget_id)).csp, 11, 'the first client\'s 11th and 12th were not counted');
    assert.deepEqual(r.origins.map((o) => [o.origin, o.result]), [[SITE, 'accepted']], 'the site seen stays in view');
    // ids that name no widget: answered as any, counted apart
    for (let i = 0; i < 20; i++) {
      const id = `wid_${i.toString(16).padStart(32, '0')}`;
      assert.equal((await p.request('POST', `/api/widget/${id}/report?reason=csp`, { headers: { origin: SITE }, localAddress: '127.0.0.5' })).status, 204);
      assertJsonError(await call('GET', `/v1/admin/widgets/${id}/setup`), 404, 'Widget not found');
    }
    assert.equal((await setup(w.widget_id)).csp, 11);
  });
});
