// The agents admin API (issue 15): create, list, get, patch, delete, the
// read-only default agent, an agent in use (409 naming the widgets), the
// 400s, auth with the admin key or a dashboard session (+ CSRF), and no
// api_key ever in an answer or a log line. Every JSON answer is validated
// against the OpenAPI document the server serves (lib/openapi.mjs).
// That a widget's turns use its agent is the lead's end-to-end test.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Parley } from './lib/harness.mjs';
import { assertJsonError } from './lib/checks.mjs';
import { login, PASSWORD } from './lib/dashboard.mjs';
import { adminCall, checkerFor } from './lib/openapi.mjs';

const A = '/v1/admin/agents';
const W = '/v1/admin/widgets';
const ID_RE = /^[0-9a-f]{32}$/;
const ENV_KEY = 'sk-env-key-never-shown-0123456789';
const KEY1 = 'sk-agent-one-never-shown-0123456789';
const KEY2 = 'agent-two-never-shown-9876543210';
const DEFAULT_RO = 'The default agent is set by the environment';

describe('agents admin API', () => {
  let p;
  let api;

  async function call(method, path, body, opts) {
    const r = await adminCall(p, api, method, path, body, opts);
    for (const k of [KEY1, KEY2, ENV_KEY]) assert.ok(!r.text.includes(k), `${method} ${path}: no key in the answer`);
    return r;
  }

  async function create(body) {
    const r = await call('POST', A, body);
    assert.equal(r.status, 201, r.text);
    return r.json();
  }

  before(async () => {
    p = new Parley({
      workers: 2,
      env: {
        OPENAI_API_KEY: ENV_KEY, OPENAI_MODEL: 'env-model', SYSTEM_PROMPT: 'Env prompt.',
        MAX_HISTORY_MESSAGES: '12', DASHBOARD_PASSWORD: PASSWORD, PARLEY_MODEL_ALLOW_PRIVATE: 'on',
      },
    });
    await p.start();
    api = await checkerFor(p);
  });
  after(async () => {
    if (p) {
      // No key in any log line of the run.
      for (const [name, text] of Object.entries(p.logs)) {
        for (const k of [KEY1, KEY2, ENV_KEY]) assert.ok(!text.includes(k), `the ${name} log holds a key`);
      }
      await p.stop();
    }
  });

  test('the default agent: first in the list, the environment, read-only', async () => {
    const r = await call('GET', A);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['cache-control'], 'no-store');
    const { agents } = r.json();
    assert.deepEqual(agents[0], {
      id: 'default', organization_id: null, name: 'Default', system_prompt: 'Env prompt.', model: 'env-model',
      temperature: null, max_tokens: null, history_messages: 12, base_url: agents[0].base_url,
      api_key_set: true, answer_in_visitor_language: false, is_default: true, created_at: null, updated_at: null,
      knowledge_source_ids: [], knowledge_only: false, rewrite_follow_ups: false, embedding_model: '', action_ids: [], handoff_tool: false, knowledge_search_tool: false, contact_form_tool: false, resolve_after_seconds: 86400, vision: false,
    });
    assert.match(agents[0].base_url, /^http:\/\/127\.0\.0\.1:\d+\/v1$|^https:\/\/api\.openai\.com\/v1$/);
    const g = await call('GET', `${A}/default`);
    assert.equal(g.status, 200);
    assert.deepEqual(g.json(), agents[0]);
    assertJsonError(await call('PATCH', `${A}/default`, { name: 'x' }), 409, DEFAULT_RO);
    assertJsonError(await call('DELETE', `${A}/default`), 409, DEFAULT_RO);
  });

  test('create, get, list, patch, delete; api_key write-only', async () => {
    const a = await create({
      name: 'Shop bot', system_prompt: 'You sell things.', model: 'shop-model', temperature: 0.7,
      max_tokens: 300, history_messages: 5, base_url: 'http://127.0.0.1:9/v1', api_key: KEY1,
    });
    assert.match(a.id, ID_RE);
    assert.deepEqual({ ...a, id: 0, created_at: 0, updated_at: 0 }, {
      id: 0, organization_id: 'default', name: 'Shop bot', system_prompt: 'You sell things.', model: 'shop-model', temperature: 0.7,
      max_tokens: 300, history_messages: 5, base_url: 'http://127.0.0.1:9/v1', api_key_set: true,
      answer_in_visitor_language: false, is_default: false, created_at: 0, updated_at: 0,
      knowledge_source_ids: [], knowledge_only: false, rewrite_follow_ups: false, embedding_model: '', action_ids: [], handoff_tool: false, knowledge_search_tool: false, contact_form_tool: false, resolve_after_seconds: 86400, vision: false,
    });
    assert.ok(Math.abs(a.created_at - Date.now()) < 60000);
    assert.equal((await call('GET', `${A}/${a.id}`)).text, JSON.stringify(a));
    // Only the name: everything else the deployment's.
    const b = await create({ name: 'Plain' });
    assert.equal(b.system_prompt, '');
    assert.equal(b.model, '');
    assert.equal(b.temperature, null);
    assert.equal(b.base_url, null);
    assert.equal(b.api_key_set, false);
    const list = (await call('GET', A)).json().agents.map((x) => x.id);
    assert.deepEqual(list.slice(0, 1), ['default']);
    assert.ok(list.indexOf(a.id) > 0 && list.indexOf(a.id) < list.indexOf(b.id), 'oldest first after the default');

    // PATCH sets what it names; the key stays unless named.
    let r = await call('PATCH', `${A}/${a.id}`, { temperature: null, max_tokens: 1000000 });
    assert.equal(r.status, 200, r.text);
    let got = r.json();
    assert.equal(got.temperature, null);
    assert.equal(got.max_tokens, 1000000);
    assert.equal(got.name, 'Shop bot');
    assert.equal(got.api_key_set, true);
    assert.ok(got.updated_at >= a.updated_at);
    r = await call('PATCH', `${A}/${a.id}`, { api_key: KEY2 });
    assert.equal(r.json().api_key_set, true);
    r = await call('PATCH', `${A}/${a.id}`, { api_key: null });
    assert.equal(r.json().api_key_set, false);
    r = await call('PATCH', `${A}/${b.id}`, { api_key: '' });
    assert.equal(r.json().api_key_set, false);
    got = (await call('GET', `${A}/${a.id}`)).json();
    assert.equal(got.api_key_set, false);

    r = await call('DELETE', `${A}/${b.id}`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json(), { deleted: true });
    assertJsonError(await call('GET', `${A}/${b.id}`), 404, 'Agent not found');
    assertJsonError(await call('DELETE', `${A}/${b.id}`), 404, 'Agent not found');
    assertJsonError(await call('PATCH', `${A}/${b.id}`, { name: 'x' }), 404, 'Agent not found');
    assertJsonError(await call('GET', `${A}/not-an-id`), 404, 'Agent not found');
  });

  test('an agent in use cannot be deleted: 409 naming the widgets', async () => {
    const a = await create({ name: 'Clinic bot', api_key: KEY2 });
    let r = await call('POST', W, { name: 'Clinic', agent_id: a.id });
    assert.equal(r.status, 201, r.text);
    const w1 = r.json();
    assert.equal(w1.agent_id, a.id);
    assert.equal(w1.text_agent_id, a.id);
    r = await call('POST', W, { name: 'Clinic 2', text_agent_id: a.id });
    assert.equal(r.status, 201, r.text);
    const w2 = r.json();
    assert.equal(w2.agent_id, a.id);

    r = await call('DELETE', `${A}/${a.id}`);
    assert.equal(r.status, 409, r.text);
    const j = r.json();
    assert.equal(j.error, 'Agent is in use');
    assert.deepEqual([...j.widgets].sort(), [w1.widget_id, w2.widget_id].sort());
    assert.equal((await call('GET', `${A}/${a.id}`)).status, 200, 'still there');

    // A widget naming no agent is refused; moving both to the default frees it.
    assertJsonError(await call('POST', W, { agent_id: '0'.repeat(32) }), 400, 'agent_id: no such agent');
    r = await call('PATCH', `${W}/${w1.widget_id}`, { agent_id: 'default' });
    assert.equal(r.json().agent_id, 'default');
    r = await call('PATCH', `${W}/${w2.widget_id}`, { agent_id: null });
    assert.equal(r.json().agent_id, 'default');
    r = await call('DELETE', `${A}/${a.id}`);
    assert.equal(r.status, 200, r.text);
  });

  test('every validation error is a 400 naming its field', async () => {
    const a = await create({ name: 'Target' });
    const cases = [
      [{}, 'name', 'POST'],
      [{ name: '' }, 'name'],
      [{ name: 'x'.repeat(101) }, 'name'],
      [{ name: 5 }, 'name'],
      [{ system_prompt: 'p'.repeat(16385) }, 'system_prompt'],
      [{ model: 'has space' }, 'model'],
      [{ temperature: 2.5 }, 'temperature'],
      [{ temperature: -1 }, 'temperature'],
      [{ temperature: '1' }, 'temperature'],
      [{ max_tokens: 0 }, 'max_tokens'],
      [{ max_tokens: 1.5 }, 'max_tokens'],
      [{ history_messages: 201 }, 'history_messages'],
      [{ base_url: 'ftp://x.example' }, 'base_url'],
      [{ base_url: 'http://a b' }, 'base_url'],
      [{ base_url: `http://${'x'.repeat(2048)}` }, 'base_url'],
      [{ api_key: 'two words' }, 'api_key'],
      [{ api_key: 'k'.repeat(513) }, 'api_key'],
      [{ api_key: 5 }, 'api_key'],
      [{ id: a.id }, 'id'],
      [{ is_default: true }, 'is_default'],
      [{ api_key_set: true }, 'api_key_set'],
      [{ answer_in_visitor_language: 'yes' }, 'answer_in_visitor_language'],
      [{ answer_in_visitor_language: null }, 'answer_in_visitor_language'],
      [{ created_at: 1 }, 'created_at'],
      [{ foo: 1 }, 'foo'],
    ];
    for (const [body, field, only] of cases) {
      for (const [method, path] of [['POST', A], ['PATCH', `${A}/${a.id}`]]) {
        if (only && only !== method) continue;
        const b = method === 'POST' && !('name' in body) && field !== 'name' ? { name: 'n', ...body } : body;
        const r = await call(method, path, b);
        const j = assertJsonError(r, 400);
        assert.ok(j.error.startsWith(`${field}: `), `${method} ${JSON.stringify(b).slice(0, 80)}: ${j.error}`);
        assert.ok(!j.error.includes('kkkk'), 'a key is not echoed');
      }
    }
    assertJsonError(await call('POST', A, '{"name":'), 400, 'Invalid JSON body');
    assertJsonError(await call('POST', A, '{"name":"a"}', { headers: { 'content-type': 'text/plain' } }), 400,
      'Content-Type must be application/json');
    // Widgets: a malformed agent id, or two names that differ.
    for (const body of [{ agent_id: 'xyz' }, { agent_id: 5 }, { agent_id: a.id, text_agent_id: 'default' }]) {
      const j = assertJsonError(await call('POST', W, body), 400);
      assert.match(j.error, /^(text_)?agent_id: /);
    }
  });

  test('widget handoff fields; a PATCH of one keeps the other', async () => {
    let r = await call('POST', W, { name: 'Help', handoff_enabled: true, handoff_label: 'Ask a human' });
    assert.equal(r.status, 201, r.text);
    const w = r.json();
    assert.equal(w.handoff_enabled, true);
    assert.equal(w.handoff_label, 'Ask a human');
    r = await call('PATCH', `${W}/${w.widget_id}`, { handoff_enabled: false });
    assert.equal(r.json().handoff_enabled, false);
    assert.equal(r.json().handoff_label, 'Ask a human');
    r = await call('PATCH', `${W}/${w.widget_id}`, { handoff_label: 'Talk to us' });
    assert.equal(r.json().handoff_enabled, false);
    assert.equal(r.json().handoff_label, 'Talk to us');
    r = await call('PATCH', `${W}/${w.widget_id}`, { handoff_label: null, handoff_enabled: true });
    assert.equal(r.json().handoff_label, null);
    assert.equal(r.json().handoff_enabled, true);
    assertJsonError(await call('PATCH', `${W}/wid_${'0'.repeat(32)}`, { handoff_label: 'x' }), 404, 'Widget not found');
    const c = await p.get(`/api/widget/${w.widget_id}/config`);
    assert.equal(c.status, 200, c.text);
    api.checkJson('GET', `/api/widget/${w.widget_id}/config`, c);
    assert.equal(c.json().handoff_enabled, true);
    assert.equal(c.json().handoff_label, null);
    assert.equal(c.json().agent_id, undefined, 'the agent is not public');
  });

  test('auth: no key 401; a dashboard session works, with CSRF on writes', async () => {
    assertJsonError(await p.request('GET', A), 401, 'Unauthorized');
    assertJsonError(await p.request('POST', A, { headers: { 'x-admin-api-key': 'wrong', 'content-type': 'application/json' }, body: '{"name":"a"}' }), 401);
    const s = await login(p);
    let r = await s.get(A);
    assert.equal(r.status, 200, r.text);
    api.checkJson('GET', A, r);
    r = await s.request('POST', A, { body: { name: 'From the dashboard' }, csrf: false });
    assert.equal(r.status, 403, r.text);
    r = await s.request('POST', A, { body: { name: 'From the dashboard', api_key: KEY1 } });
    assert.equal(r.status, 201, r.text);
    api.checkJson('POST', A, r);
    assert.ok(!r.text.includes(KEY1));
  });
});
