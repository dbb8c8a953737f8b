// The widget admin API (create, list, get, patch, delete, reset-id), the
// contacts API and a widget's public config, against the real processes.
// Every JSON answer is validated against the OpenAPI document the server
// serves (lib/openapi.mjs).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { Parley } from './lib/harness.mjs';
import { assertJsonError, assertSecurityHeaders } from './lib/checks.mjs';
import { adminCall, checkerFor } from './lib/openapi.mjs';
import { RECORDS, shownDefaults } from './lib/records.mjs';
import { Enc } from './lib/storage.mjs';
import { Visitor } from './lib/wsclient.mjs';

const W = '/v1/admin/widgets';
const C = '/v1/admin/contacts';
const DASH = 'https://dash.example';     // CORS_ORIGIN
const SHOP = 'https://shop.example';
const EVIL = 'https://evil.example';
const WID_RE = /^wid_[0-9a-f]{32}$/;
// The public rows of the widget record (proto/widgetmsg.h).
const PUBLIC_KEYS = RECORDS.get('st_widget').filter((r) => r.view === 'pub').map((r) => r.json);

// storaged requests the HTTP side has no endpoint for (widgetmsg.h).
const ST_WS_OPEN = 0x2e;
const ST_CONTACT_SUBMIT = 0x30;

describe('widget admin API without ADMIN_API_KEY', () => {
  test('503 on every admin endpoint; the public config still answers', async (t) => {
    const p = new Parley({ workers: 1, adminKey: null });
    t.after(() => p.stop());
    await p.start();
    const api = await checkerFor(p);
    const msg = 'ADMIN_API_KEY is not configured on this deployment';
    const wid = `wid_${'0'.repeat(32)}`;
    for (const [method, path] of [['GET', W], ['POST', W], ['GET', `${W}/${wid}`], ['PATCH', `${W}/${wid}`],
      ['DELETE', `${W}/${wid}`], ['POST', `${W}/${wid}/reset-id`], ['GET', C], ['GET', `${C}/${'a'.repeat(32)}`]]) {
      const r = await p.request(method, path, {
        headers: { 'x-admin-api-key': 'x'.repeat(32), 'content-type': 'application/json' },
        body: method === 'POST' || method === 'PATCH' ? '{}' : undefined,
      });
      assertJsonError(r, 503, msg);
      api.checkJson(method, path, r);
    }
    const r = await p.get(`/api/widget/${wid}/config`);
    assertJsonError(r, 404, 'Widget not found');
  });
});

describe('widget admin API', () => {
  let p;
  let api;

  // An admin request; the JSON answer is checked against the document.
  const call = (...a) => adminCall(p, api, ...a);

  // GET (or OPTIONS) the public config; JSON answers checked.
  async function config(wid, origin, method = 'GET') {
    const headers = {};
    if (origin !== undefined) headers.origin = origin;
    if (method === 'OPTIONS') headers['access-control-request-method'] = 'GET';
    const path = `/api/widget/${wid}/config`;
    const r = await p.request(method, path, { headers });
    if (method === 'GET') api.checkJson(method, path, r);
    return r;
  }

  async function create(body = {}) {
    const r = await call('POST', W, body);
    assert.equal(r.status, 201, r.text);
    return r.json();
  }

  before(async () => {
    p = new Parley({ workers: 2, env: { CORS_ORIGIN: DASH } });
    await p.start();
    api = await checkerFor(p);
  });
  after(async () => {
    if (p) await p.stop();
  });

  // A storaged connection for one test: storaged tells every client when
  // a widget goes (ST_EV_WIDGET_GONE), which lib/storage.mjs does not
  // expect, so a connection kept across the tests above would be closed.
  async function storage(t) {
    const st = await p.storage({ name: 'itest-widgets' });
    t.after(() => st.close());
    return st;
  }

  test('contacts: an empty list before any visitor gave contact info', async () => {
    const r = await call('GET', C);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json(), { contacts: [], total: 0, nextCursor: null });
    assert.equal(r.headers['cache-control'], 'no-store');
    assertSecurityHeaders(r, C);
    const r2 = await call('GET', `${C}?limit=5`);
    assert.deepEqual(r2.json(), { contacts: [], total: 0, nextCursor: null });
  });

  test('the default widget is always there, first', async () => {
    const r = await call('GET', W);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['cache-control'], 'no-store');
    const { widgets } = r.json();
    assert.ok(widgets.length >= 1);
    assert.equal(widgets[0].id, 'default');
    assert.match(widgets[0].widget_id, WID_RE);
  });

  test('create with nothing: every default', async () => {
    const w = await create({});
    assert.match(w.widget_id, WID_RE);
    assert.equal(typeof w.id, 'string');
    assert.notEqual(w.id, 'default');
    // Each row's kind default (a row added later too), and these.
    assert.deepEqual({ ...w, id: 0, widget_id: 0, created_at: 0, updated_at: 0 }, shownDefaults('st_widget', {
      id: 0,
      widget_id: 0,
      organization_id: 'default',
      name: null,
      greeting: null,
      primary_color: '#4f46e5',
      text_color: '#ffffff',
      position: 'bottom_right',
      contact_info_mode: 'none',
      collect_name: false,
      collect_email: false,
      collect_phone: false,
      allowed_origins: [],
      daily_message_cap: null,
      retention_days: null,
      business_hours: null,
      away_message: null,
      enabled: true,
      system_prompt: null,
      model: null,
      agent_id: 'default',
      text_agent_id: 'default',
      handoff_enabled: false,
      handoff_label: null,
      starter_questions: [],
      proactive_message: '',
      proactive_delay_s: 10,
      proactive_path: '',
      language: '',
      identity_required: false,
      identity_secret_set: false,
      unread_sound: false,
      unread_title: false,
      feedback_enabled: true,
      rating_enabled: false,
      created_at: 0,
      updated_at: 0,
    }));
    assert.ok(Math.abs(w.created_at - Date.now()) < 60000, 'created_at is ms since the epoch');
    assert.ok(w.updated_at >= w.created_at);
    // it is listed, and can be read back
    const list = (await call('GET', W)).json().widgets;
    assert.ok(list.some((x) => x.widget_id === w.widget_id));
    const g = await call('GET', `${W}/${w.widget_id}`);
    assert.equal(g.status, 200);
    assert.deepEqual(g.json(), w);
  });

  test('create with every field; get returns them', async () => {
    const body = {
      name: 'Shop help ✓',
      greeting: 'Hello! "How" can we help?',
      primary_color: '#112233',
      text_color: '#000000',
      position: 'bottom_left',
      contact_info_mode: 'required',
      collect_name: true,
      collect_email: true,
      collect_phone: false,
      allowed_origins: [SHOP, 'http://localhost:8080'],
      daily_message_cap: 500,
      enabled: true,
      system_prompt: 'You are the shop assistant.',
      model: 'gpt-4o-mini',
    };
    const w = await create(body);
    for (const [k, v] of Object.entries(body)) assert.deepEqual(w[k], v, k);
    const g = (await call('GET', `${W}/${w.widget_id}`)).json();
    assert.deepEqual(g, w);
  });

  test('a list given as null is none, as in Loquent\'s WidgetConfig (Option<Vec<String>>): stored []', async () => {
    const w = await create({ allowed_origins: null, starter_questions: null });
    assert.deepEqual(w.allowed_origins, []);
    assert.deepEqual(w.starter_questions, []);
    const u = (await call('PATCH', `${W}/${w.widget_id}`, { allowed_origins: [SHOP] })).json();
    assert.deepEqual(u.allowed_origins, [SHOP]);
    const r = await call('PATCH', `${W}/${w.widget_id}`, { allowed_origins: null });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json().allowed_origins, []);
    assert.deepEqual((await call('GET', `${W}/${w.widget_id}`)).json().allowed_origins, []);
  });

  test('every validation error is a 400 naming its field', async () => {
    const cases = [
      [{ name: 5 }, 'name'],
      [{ name: 'x'.repeat(101) }, 'name'],
      [{ greeting: ['hi'] }, 'greeting'],
      [{ greeting: 'g'.repeat(501) }, 'greeting'],
      [{ primary_color: 'red' }, 'primary_color'],
      [{ primary_color: null }, 'primary_color'],
      [{ primary_color: '#12345z' }, 'primary_color'],
      [{ text_color: '#fff' }, 'text_color'],
      [{ position: 'top_left' }, 'position'],
      [{ position: null }, 'position'],
      [{ contact_info_mode: 'always' }, 'contact_info_mode'],
      [{ contact_info_mode: 'required' }, 'contact_info_mode'],
      [{ collect_name: 'yes' }, 'collect_name'],
      [{ collect_email: 1 }, 'collect_email'],
      [{ collect_phone: null }, 'collect_phone'],
      [{ allowed_origins: SHOP }, 'allowed_origins'],
      [{ allowed_origins: [42] }, 'allowed_origins'],
      [{ allowed_origins: [`${SHOP}/path`] }, 'allowed_origins'],
      [{ allowed_origins: ['*'] }, 'allowed_origins'],
      [{ allowed_origins: Array.from({ length: 33 }, (_, i) => `https://h${i}.example`) }, 'allowed_origins'],
      [{ daily_message_cap: 0 }, 'daily_message_cap'],
      [{ daily_message_cap: -1 }, 'daily_message_cap'],
      [{ daily_message_cap: 2.5 }, 'daily_message_cap'],
      [{ daily_message_cap: '10' }, 'daily_message_cap'],
      [{ daily_message_cap: 2 ** 32 }, 'daily_message_cap'],
      [{ retention_days: 0 }, 'retention_days'],
      [{ retention_days: 3651 }, 'retention_days'],
      [{ retention_days: '30' }, 'retention_days'],
      [{ enabled: null }, 'enabled'],
      [{ enabled: 'false' }, 'enabled'],
      [{ system_prompt: 7 }, 'system_prompt'],
      [{ system_prompt: 'p'.repeat(8001) }, 'system_prompt'],
      [{ model: 'gpt 4' }, 'model'],
      [{ model: 'm'.repeat(101) }, 'model'],
      [{ colour: '#000000' }, 'colour'],
      [{ widget_id: 'wid_x' }, 'widget_id'],
      [{ id: 'default' }, 'id'],
      [{ created_at: 1 }, 'created_at'],
      // issue 26
      [{ starter_questions: 'a' }, 'starter_questions'],
      [{ starter_questions: ['a', 'b', 'c', 'd', 'e'] }, 'starter_questions'],
      [{ starter_questions: [1] }, 'starter_questions'],
      [{ starter_questions: ['  '] }, 'starter_questions'],
      [{ starter_questions: ['q'.repeat(121)] }, 'starter_questions'],
      [{ proactive_message: 5 }, 'proactive_message'],
      [{ proactive_message: 'm'.repeat(501) }, 'proactive_message'],
      [{ proactive_delay_s: -1 }, 'proactive_delay_s'],
      [{ proactive_delay_s: 601 }, 'proactive_delay_s'],
      [{ proactive_delay_s: 1.5 }, 'proactive_delay_s'],
      [{ proactive_delay_s: null }, 'proactive_delay_s'],
      [{ proactive_path: 'p'.repeat(201) }, 'proactive_path'],
      [{ proactive_path: [] }, 'proactive_path'],
      [{ language: 'xx' }, 'language'],
      [{ language: 'EN' }, 'language'],
      [{ language: 'en-US' }, 'language'],
      [{ language: 1 }, 'language'],
      [{ identity_required: 'yes' }, 'identity_required'],
      [{ identity_required: true }, 'identity_required'],
      [{ identity_secret_set: true }, 'identity_secret_set'],
      [{ identity_secret: 'a'.repeat(64) }, 'identity_secret'],
      [{ unread_sound: 1 }, 'unread_sound'],
      [{ unread_title: null }, 'unread_title'],
      [{ feedback_enabled: 'no' }, 'feedback_enabled'],
      [{ rating_enabled: 0 }, 'rating_enabled'],
    ];
    const target = (await create({ name: 'validation target' })).widget_id;
    for (const [body, field] of cases) {
      for (const [method, path] of [['POST', W], ['PATCH', `${W}/${target}`]]) {
        const r = await call(method, path, body);
        const j = assertJsonError(r, 400);
        assert.ok(j.error.startsWith(`${field}: `), `${method} ${JSON.stringify(body).slice(0, 80)}: "${j.error}" names ${field}`);
      }
    }
    // Nothing of that was stored.
    const g = (await call('GET', `${W}/${target}`)).json();
    assert.equal(g.name, 'validation target');
    assert.deepEqual(g.allowed_origins, []);
  });

  test('a number out of its range is told its real range: attachment_max_mb 26 and 0 alike, as its row bounds it', async () => {
    const target = (await create({ name: 'range target', attachment_max_mb: 3 })).widget_id;
    for (const n of [26, 0, -1]) {
      for (const [method, path] of [['POST', W], ['PATCH', `${W}/${target}`]]) {
        assertJsonError(await call(method, path, { name: 'range', attachment_max_mb: n }), 400,
          'attachment_max_mb: must be an integer from 1 to 25');
      }
    }
    // The bounds themselves are taken.
    for (const n of [1, 25]) {
      const r = await call('PATCH', `${W}/${target}`, { attachment_max_mb: n });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json().attachment_max_mb, n);
    }
    // A row whose least is 0 still says 0 (proactive_delay_s: 0 to 600).
    assertJsonError(await call('PATCH', `${W}/${target}`, { proactive_delay_s: 601 }), 400,
      'proactive_delay_s: must be an integer from 0 to 600');
  });

  test('bad bodies: 400, never a crash', async () => {
    for (const body of ['', '{', '{"name":"a","name":"b"}', 'null x', '\u0000']) {
      const r = await call('POST', W, body);
      assertJsonError(r, 400, 'Invalid JSON body');
    }
    // A number JSON allows but no field could take is told as such.
    for (const n of ['100000000000000000000', '-100000000000000000000', '1e400']) {
      assertJsonError(await call('POST', W, `{"name":"a","attachment_max_mb":${n}}`), 400, 'Invalid JSON body: a number out of range');
    }
    for (const body of ['[]', '"x"', '5', 'null']) {
      const r = await call('POST', W, body);
      assertJsonError(r, 400, 'body: must be a JSON object');
    }
    const r = await call('POST', W, '{}', { headers: { 'content-type': 'text/plain' } });
    assertJsonError(r, 400, 'Content-Type must be application/json');
    const nul = await call('POST', W, '{"name":"a\\u0000b"}');
    assertJsonError(nul, 400, 'name: must not contain NUL characters');
  });

  test('issue 26 settings: each round-trips through create, PATCH and get; the public config carries them', async () => {
    const set = {
      starter_questions: ['  What do you sell?  ', 'Where is my order?', '¿Hablas español? ✓', 'q'.repeat(120)],
      proactive_message: 'Need a hand?',
      proactive_delay_s: 0,
      proactive_path: '/pricing*',
      language: 'de',
      unread_sound: true,
      unread_title: true,
      feedback_enabled: false,
      rating_enabled: true,
    };
    const want = { ...set, starter_questions: ['What do you sell?', ...set.starter_questions.slice(1)] };
    const w = await create({ ...set, allowed_origins: [SHOP] });
    for (const [k, v] of Object.entries(want)) assert.deepEqual(w[k], v, `create: ${k}`);
    assert.deepEqual((await call('GET', `${W}/${w.widget_id}`)).json(), w);
    const cfg = (await config(w.widget_id, SHOP)).json();
    for (const [k, v] of Object.entries(want)) assert.deepEqual(cfg[k], v, `config: ${k}`);
    assert.equal(cfg.identity_required, false);
    assert.ok(!('identity_secret_set' in cfg), 'identity_secret_set is not public');

    // Each field on its own through PATCH; the others stay.
    const other = {
      starter_questions: [], proactive_message: '', proactive_delay_s: 600, proactive_path: '',
      language: 'ja', unread_sound: false, unread_title: false, feedback_enabled: true, rating_enabled: false,
    };
    let cur = w;
    for (const [k, v] of Object.entries(other)) {
      const r = await call('PATCH', `${W}/${w.widget_id}`, { [k]: v });
      assert.equal(r.status, 200, r.text);
      const u = r.json();
      assert.deepEqual(u[k], v, `PATCH ${k}`);
      for (const [k2, v2] of Object.entries(other)) if (k2 !== k) assert.deepEqual(u[k2], cur[k2], `PATCH ${k} kept ${k2}`);
      cur = u;
    }
    // null clears the texts and the language
    const n = (await call('PATCH', `${W}/${w.widget_id}`, { proactive_message: 'x', language: 'ar' })).json();
    assert.deepEqual([n.proactive_message, n.language], ['x', 'ar']);
    const n2 = (await call('PATCH', `${W}/${w.widget_id}`, { proactive_message: null, language: null, proactive_path: null })).json();
    assert.deepEqual([n2.proactive_message, n2.language, n2.proactive_path], ['', '', '']);
    // identity_required needs a secret: 400 on create and PATCH, nothing stored
    const idr = await call('PATCH', `${W}/${w.widget_id}`, { identity_required: true, rating_enabled: true });
    assert.match(assertJsonError(idr, 400).error, /^identity_required: /);
    const g = (await call('GET', `${W}/${w.widget_id}`)).json();
    assert.deepEqual([g.identity_required, g.rating_enabled], [false, false]);
  });

  test('PATCH sets only the fields present', async () => {
    const w = await create({ name: 'Before', greeting: 'Hi', daily_message_cap: 10, allowed_origins: [SHOP] });
    await new Promise((r) => setTimeout(r, 5));
    const r = await call('PATCH', `${W}/${w.widget_id}`, { name: 'After', daily_message_cap: null });
    assert.equal(r.status, 200, r.text);
    const u = r.json();
    assert.equal(u.name, 'After');
    assert.equal(u.daily_message_cap, null);
    assert.equal(u.greeting, 'Hi');
    assert.deepEqual(u.allowed_origins, [SHOP]);
    assert.equal(u.widget_id, w.widget_id);
    assert.equal(u.created_at, w.created_at);
    assert.ok(u.updated_at >= w.updated_at);
    // null clears; an empty body changes nothing
    const u2 = (await call('PATCH', `${W}/${w.widget_id}`, { greeting: null, allowed_origins: [] })).json();
    assert.equal(u2.greeting, null);
    assert.deepEqual(u2.allowed_origins, []);
    const u3 = await call('PATCH', `${W}/${w.widget_id}`, {});
    assert.equal(u3.status, 200);
    assert.equal(u3.json().name, 'After');
    // checked merged with what is stored
    const m = await create({ contact_info_mode: 'required', collect_email: true });
    const bad = await call('PATCH', `${W}/${m.widget_id}`, { collect_email: false });
    const j = assertJsonError(bad, 400);
    assert.match(j.error, /^(contact_info_mode|collect_\w+): /, j.error);
    const ok = await call('PATCH', `${W}/${m.widget_id}`, { collect_email: false, collect_phone: true });
    assert.equal(ok.status, 200, ok.text);
    // the two handoff fields each on their own
    const h = await create({ handoff_enabled: true, handoff_label: 'Ask us' });
    const h1 = (await call('PATCH', `${W}/${h.widget_id}`, { handoff_label: 'A person' })).json();
    assert.deepEqual([h1.handoff_enabled, h1.handoff_label], [true, 'A person']);
    const h2 = (await call('PATCH', `${W}/${h.widget_id}`, { handoff_enabled: false })).json();
    assert.deepEqual([h2.handoff_enabled, h2.handoff_label], [false, 'A person']);
  });

  test('unknown widget ids: 404', async () => {
    const unknown = `wid_${crypto.randomBytes(16).toString('hex')}`;
    for (const id of [unknown, 'wid_nope', 'default', 'WID_' + 'a'.repeat(32), '%2e%2e']) {
      for (const [method, path, body] of [['GET', `${W}/${id}`], ['PATCH', `${W}/${id}`, {}],
        ['DELETE', `${W}/${id}`], ['POST', `${W}/${id}/reset-id`]]) {
        const r = await call(method, path, body);
        assertJsonError(r, 404, 'Widget not found');
      }
      const r = await config(id, SHOP);
      assertJsonError(r, 404, 'Widget not found');
    }
  });

  test('auth: missing or wrong key is 401 on every admin endpoint', async () => {
    const w = (await call('GET', W)).json().widgets[0].widget_id;
    for (const headers of [{}, { 'x-admin-api-key': '' }, { 'x-admin-api-key': `${p.adminKey}x` },
      { 'x-api-key': p.adminKey }]) {
      for (const [method, path] of [['GET', W], ['POST', W], ['GET', `${W}/${w}`], ['PATCH', `${W}/${w}`],
        ['DELETE', `${W}/${w}`], ['POST', `${W}/${w}/reset-id`], ['GET', C], ['GET', `${C}/${'a'.repeat(32)}`]]) {
        const r = await p.request(method, path, { headers: { ...headers, 'content-type': 'application/json' }, body: '{}' });
        assertJsonError(r, 401, 'Unauthorized');
        api.checkJson(method, path, r);
      }
    }
    // The default widget survived all that.
    assert.equal((await call('GET', `${W}/${w}`)).status, 200);
  });

  test('config: the public subset, origin checked, CORS for that origin', async () => {
    const w = await create({ name: 'Shop', greeting: 'Hi!', allowed_origins: [SHOP], system_prompt: 'secret prompt', model: 'm1' });
    const r = await config(w.widget_id, SHOP);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.json()).sort(), [...PUBLIC_KEYS].sort());
    assert.deepEqual(r.json(), Object.fromEntries(PUBLIC_KEYS.map((k) => [k, w[k]])));
    assert.ok(!r.text.includes('secret prompt') && !r.text.includes(w.id), 'nothing internal');
    assert.equal(r.headers['access-control-allow-origin'], SHOP);
    assert.match(r.headers.vary || '', /Origin/);
    assert.equal(r.headers['cache-control'], 'no-cache');
    assertSecurityHeaders(r, 'config');
    // the default port is no port
    assert.equal((await config(w.widget_id, `${SHOP}:443`)).status, 200);

    // Not allowed: another site, http, a suffix, none at all.
    for (const origin of [EVIL, 'http://shop.example', 'https://shop.example.evil.example', 'null', undefined, DASH]) {
      const x = await config(w.widget_id, origin);
      assertJsonError(x, 403, 'Origin not allowed');
      assert.equal(x.headers['access-control-allow-origin'], undefined);
    }

    // Preflight.
    const pf = await config(w.widget_id, SHOP, 'OPTIONS');
    assert.equal(pf.status, 204);
    assert.equal(pf.headers['access-control-allow-origin'], SHOP);
    assert.match(pf.headers['access-control-allow-methods'] || '', /GET/);
    const pf2 = await config(w.widget_id, EVIL, 'OPTIONS');
    assertJsonError(pf2, 403, 'Origin not allowed');

    // HEAD answers as GET without a body.
    const h = await p.request('HEAD', `/api/widget/${w.widget_id}/config`, { headers: { origin: SHOP } });
    assert.equal(h.status, 200);
    assert.equal(h.body.length, 0);
  });

  test('config: a widget without allowed_origins is open to any site, CORS_ORIGIN or not', async () => {
    const w = await create({ name: 'Open' });
    for (const origin of [EVIL, DASH, 'http://localhost:3000']) {
      const r = await config(w.widget_id, origin);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers['access-control-allow-origin'], origin);
    }
    const r = await config(w.widget_id, undefined);
    assert.equal(r.status, 200);
    // The rest of the API still obeys CORS_ORIGIN.
    const a = await call('GET', W, undefined, { headers: { origin: EVIL } });
    assertJsonError(a, 403, 'Origin not allowed');
  });

  test('disabled: 404 at the config; enabled again: 200', async () => {
    const w = await create({ enabled: false });
    assertJsonError(await config(w.widget_id, SHOP), 404, 'Widget not found');
    // the admin still sees it
    assert.equal((await call('GET', `${W}/${w.widget_id}`)).json().enabled, false);
    await call('PATCH', `${W}/${w.widget_id}`, { enabled: true });
    assert.equal((await config(w.widget_id, SHOP)).status, 200);
    await call('PATCH', `${W}/${w.widget_id}`, { enabled: false });
    assertJsonError(await config(w.widget_id, SHOP), 404, 'Widget not found');
  });

  test('reset-id: a new widget_id; the old one is 404 at once', async () => {
    const w = await create({ name: 'Reset me' });
    assert.equal((await config(w.widget_id, SHOP)).status, 200);
    const r = await call('POST', `${W}/${w.widget_id}/reset-id`);
    assert.equal(r.status, 200, r.text);
    const n = r.json();
    assert.match(n.widget_id, WID_RE);
    assert.notEqual(n.widget_id, w.widget_id);
    assert.equal(n.id, w.id, 'the internal id stays');
    assert.equal(n.name, 'Reset me');
    // at once, on every worker (fresh connections spread over both)
    const olds = await Promise.all(Array.from({ length: 6 }, () => config(w.widget_id, SHOP)));
    for (const o of olds) assertJsonError(o, 404, 'Widget not found');
    assertJsonError(await call('GET', `${W}/${w.widget_id}`), 404, 'Widget not found');
    assert.equal((await config(n.widget_id, SHOP)).status, 200);
    assert.equal((await call('GET', `${W}/${n.widget_id}`)).json().name, 'Reset me');
  });

  test('delete: 200 {"deleted":true}, then 404; the default widget stays', async () => {
    const w = await create({ name: 'Doomed' });
    const r = await call('DELETE', `${W}/${w.widget_id}`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json(), { deleted: true });
    assertJsonError(await call('GET', `${W}/${w.widget_id}`), 404, 'Widget not found');
    assertJsonError(await call('DELETE', `${W}/${w.widget_id}`), 404, 'Widget not found');
    assertJsonError(await config(w.widget_id, SHOP), 404, 'Widget not found');
    assert.ok(!(await call('GET', W)).json().widgets.some((x) => x.widget_id === w.widget_id));

    const def = (await call('GET', W)).json().widgets[0];
    assert.equal(def.id, 'default');
    const d = await call('DELETE', `${W}/${def.widget_id}`);
    const j = assertJsonError(d, 400);
    assert.match(j.error, /default/);
    assert.equal((await call('GET', `${W}/${def.widget_id}`)).status, 200);
  });

  test('conversations carry contactId (null when none)', async (t) => {
    const st = await storage(t);
    await st.convOpen('default', `contact-null-${Date.now()}`);
    const r = await call('GET', '/v1/admin/conversations?limit=5');
    assert.equal(r.status, 200);
    for (const c of r.json().conversations) assert.ok(c.contactId === null || /^[0-9a-f]{32}$/.test(c.contactId));
  });

  test('contacts: a visitor\'s contact is listed, and shown with its conversations', async (t) => {
    const st = await storage(t);
    const w = await create({ contact_info_mode: 'optional', collect_email: true, collect_phone: true });
    // A visitor session and its contact info, made the way the WebSocket does.
    const hash = crypto.randomBytes(32);
    const open = await st.call(ST_WS_OPEN, new Enc().str(w.widget_id).str(SHOP).bytes(Buffer.alloc(0)).bytes(hash)
      .u64(3600000).u32(10).u32(0).u8(0).done());
    assert.equal(open[0], 0, 'ST_WS_OPEN ok');
    const email = `visitor-${Date.now()}@example.com`;
    const sub = await st.call(ST_CONTACT_SUBMIT, new Enc().str(w.widget_id).bytes(hash).str('Vera Visitor')
      .str(email).str('+1 (555) 010-9999').str('').u32(0).u32(0).str('').u8(1).done());
    assert.equal(sub[0], 0, 'ST_CONTACT_SUBMIT ok');

    const r = await call('GET', C);
    assert.equal(r.status, 200, r.text);
    const j = r.json();
    assert.equal(j.total, 1);
    assert.equal(j.nextCursor, null);
    const c = j.contacts[0];
    assert.equal(c.name, 'Vera Visitor');
    assert.equal(c.email, email);
    assert.equal(typeof c.phone, 'string');
    assert.match(c.id, /^[0-9a-f]{32}$/);

    const g = await call('GET', `${C}/${c.id}`);
    assert.equal(g.status, 200, g.text);
    const d = g.json();
    assert.equal(d.id, c.id);
    assert.equal(d.email, email);
    assert.ok(Array.isArray(d.conversations));

    // paging: limit 1 over one contact ends at once
    const one = (await call('GET', `${C}?limit=1`)).json();
    assert.equal(one.contacts.length, 1);
    assert.equal(one.nextCursor, null);
  });

  test('contacts: bad ids and queries', async () => {
    for (const bad of ['abc', 'A'.repeat(32), 'g'.repeat(32), 'a'.repeat(33)]) {
      assertJsonError(await call('GET', `${C}/${bad}`), 400, 'Invalid contactId');
    }
    assertJsonError(await call('GET', `${C}/${crypto.randomBytes(16).toString('hex')}`), 404, 'Contact not found');
    for (const q of ['limit=0', 'limit=201', 'limit=x']) {
      assertJsonError(await call('GET', `${C}?${q}`), 400, 'Invalid query parameters');
    }
    for (const cur of ['zzzz', 'x'.repeat(300)]) {
      assertJsonError(await call('GET', `${C}?cursor=${cur}`), 400);
    }
  });
});

// GET /v1/admin/contacts/:id?limit=&cursor=: a contact's conversations
// paged like every list (before, at most 200 and no cursor).
describe('a contact\'s conversations, paged', () => {
  let p;
  let api;
  const N = 5;
  const call = (...a) => adminCall(p, api, ...a);

  before(async () => {
    p = new Parley({ workers: 1, mock: true, env: { RATE_LIMIT_MAX_REQUESTS: '0' } });
    await p.start();
    api = await checkerFor(p);
  });
  after(async () => {
    if (p) await p.stop();
    assert.deepEqual(p.problems, []);
  });

  // One visitor leaves its email, then has N conversations in all: each
  // linked to the contact. The contact's id.
  async function contactWithConversations() {
    const w = (await call('POST', W, { contact_info_mode: 'optional', collect_email: true })).json();
    const v = await Visitor.open(p, w.widget_id);
    await v.next('session');
    await v.turn('the first');
    v.send({ type: 'contact_info', email: `paged-${Date.now()}@example.com` });
    await v.next('contact_info_saved');
    for (let i = 1; i < N; i++) {
      v.send({ type: 'new_conversation' });
      await v.next('conversation_new');
      await v.turn(`conversation ${i}`);
    }
    await v.close();
    const c = (await call('GET', C)).json().contacts;
    assert.equal(c.length, 1);
    return c[0].id;
  }

  test('each conversation once, newest activity first, with the total; a bad cursor is 400', async () => {
    const id = await contactWithConversations();
    // Without limit: every one (up to 200) in one answer, as before.
    const all = await call('GET', `${C}/${id}`);
    assert.equal(all.status, 200, all.text);
    const whole = all.json();
    assert.equal(whole.conversations.length, N);
    assert.equal(whole.conversationsTotal, N);
    assert.equal(whole.conversationsNextCursor, null);
    const want = whole.conversations.map((c) => c._id);
    assert.equal(new Set(want).size, N);
    for (let i = 1; i < N; i++) {
      assert.ok(whole.conversations[i - 1].updatedAt >= whole.conversations[i].updatedAt, 'newest activity first');
    }

    const got = [];
    let cursor = '';
    let pages = 0;
    do {
      const r = await call('GET', `${C}/${id}?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.equal(r.status, 200, r.text);
      const j = r.json();
      assert.equal(j.id, id);
      assert.equal(j.conversationsTotal, N);
      assert.ok(j.conversations.length <= 2);
      for (const c of j.conversations) assert.equal(c.contactVerified, true);
      got.push(...j.conversations.map((c) => c._id));
      cursor = j.conversationsNextCursor;
      pages++;
      assert.ok(pages <= N, 'the pages end');
    } while (cursor);
    assert.equal(pages, Math.ceil(N / 2));
    assert.deepEqual(got, want, 'each once, in order');

    for (const q of ['cursor=zzzz', `cursor=${'0'.repeat(47)}`, `cursor=${'x'.repeat(48)}`, 'limit=0', 'limit=201',
      'limit=x']) {
      assertJsonError(await call('GET', `${C}/${id}?${q}`), 400, 'Invalid query parameters');
    }
  });
});
