// Every route that takes a body answers bad bodies with a clear error. For
// each POST, PUT and PATCH route of workerd/router.c's routes[] (parsed by
// lib/routes.mjs, so a route added there is swept without a test change),
// under the credentials it takes (the install key; a member's dashboard
// session for the user's own routes and the logout; the widget key for the
// chat API; a visitor's session token for the widget's uploads) and with
// its path parameters the ids of real objects made first, a fixed table of
// bad bodies: no JSON, JSON of another type than an object, each field of
// the OpenAPI document's request schema given a value of another type (one
// at a time, beside a valid body, and all at once), numbers no field takes
// (1e308, -1, 2^64), strings of 100,000 characters, a NUL inside a string,
// arrays nested 10,000 deep, a key given twice, another Content-Type and
// no body at all. Each answer must be a 4xx with a JSON body whose `error`
// is a non-empty string, within a few seconds: never a 5xx, a hang or a
// close, and never a 2xx. A route that takes no body (the document has no
// requestBody for it) may act and answer 2xx, but never a 5xx. An upload's
// pieces and a file source's file are bytes, not JSON: their table is of bad
// Content-Range and Content-Type headers. Then every worker and storaged
// are the ones that started (no restart in masterd's log, no sanitizer
// report) and a normal request still works.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { login, nextClient } from './lib/dashboard.mjs';
import { startParley } from './lib/harness.mjs';
import { addMember, installIn } from './lib/people.mjs';
import { routeTable } from './lib/routes.mjs';
import { Visitor } from './lib/wsclient.mjs';

const WAIT = 5000;                      // ms an answer may take
const LONG = 'x'.repeat(100000);
const DEEP = `${'['.repeat(10000)}${']'.repeat(10000)}`;
const BODY_METHODS = ['POST', 'PUT', 'PATCH'];
const ACTION_URL = 'https://93.184.216.34/orders/{{id}}';   // a public literal, never called here

// The routes whose caller is a dashboard user (a key is 403 there).
const SESSION_ONLY = ['/v1/admin/profile', '/v1/admin/profile/password', '/v1/admin/notifications'];
// The routes that count as a login attempt of the client (10 a minute):
// each request comes from another loopback address.
const LOGIN_LIKE = ['/dashboard/api/login', '/dashboard/api/invitations/accept', '/v1/admin/profile/password'];
// Routes whose answer to a body it ignores changes what later routes use:
// swept last.
const LAST = ['/v1/admin/widgets/:wid/reset-id', '/dashboard/api/logout'];
// The bodies of routes the OpenAPI document leaves out (docs/dashboard.md's).
const UNLISTED = { '/dashboard/api/invitations/view': { properties: { token: { type: 'string' } } } };

function jsonType(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (Number.isInteger(v)) return 'integer';
  return typeof v;
}

function deref(doc, s) {
  while (s && s.$ref) s = s.$ref.slice(2).split('/').map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~')).reduce((o, k) => o[k], doc);
  return s || {};
}

// The JSON types a schema takes ([] when it does not say).
function typesOf(doc, s) {
  s = deref(doc, s);
  if (s.type) return [].concat(s.type);
  const alts = s.oneOf || s.anyOf;
  if (alts) return alts.flatMap((a) => typesOf(doc, a));
  if (s.enum) return [...new Set(s.enum.map(jsonType))];
  if ('const' in s) return [jsonType(s.const)];
  return [];
}

const takes = (types, v) => types.includes(jsonType(v)) || (jsonType(v) === 'integer' && types.includes('number'));

// A value of a type the field does not take.
const wrongFor = (types) => [12345, 'x', true, {}].find((v) => !takes(types, v));

// The OpenAPI request schema of a route (an object schema), or null when
// the document gives it no JSON body.
function bodySchema(doc, method, routePath) {
  const norm = (s) => s.replace(/\/:[^/]+/g, '/:').replace(/\{[^}]+\}/g, ':');
  const tpl = Object.keys(doc.paths).find((t) => norm(t) === norm(routePath));
  const media = tpl && doc.paths[tpl][method.toLowerCase()]?.requestBody?.content?.['application/json'];
  return media ? deref(doc, media.schema) : null;
}

// A body whose value at key is the JSON text lit (a number JavaScript cannot write).
const withLiteral = (base, key, lit) => JSON.stringify({ ...base, [key]: '@@LIT@@' }).replace('"@@LIT@@"', lit);

// The table of bad JSON bodies for a route with the request schema s (and
// base, a valid body): [{ name, body, ctype, field }]; field: the one field
// that is wrong, which a 400 names.
function jsonCases(doc, s, base) {
  const out = [
    { name: 'no JSON', body: '{' },
    ...['[]', '"x"', '1', 'null', 'true'].map((b) => ({ name: `JSON ${b}`, body: b })),
    { name: 'nested 10,000 deep', body: DEEP },
    { name: 'no body', body: undefined },
    { name: 'Content-Type text/plain', body: JSON.stringify(base), ctype: 'text/plain' },
    { name: 'no Content-Type', body: JSON.stringify(base), ctype: null },
  ];
  const props = Object.entries(s.properties || {}).map(([k, v]) => ({ k, types: typesOf(doc, v) }));
  const all = {};
  for (const { k, types } of props) {
    if (!types.length) continue;
    const w = wrongFor(types);
    all[k] = w;
    out.push({ name: `${k}: ${JSON.stringify(w)}`, body: JSON.stringify({ ...base, [k]: w }), field: k });
    if (types.includes('integer') || types.includes('number')) {
      for (const lit of ['1e308', '-1', '18446744073709551616']) {
        // -1 only where the schema says the field takes no negative number.
        if (lit === '-1' && !(deref(doc, s.properties[k]).minimum >= 0)) continue;
        // 2^64 is past what the JSON reader takes: the body's error, no field's.
        out.push({ name: `${k}: ${lit}`, body: withLiteral(base, k, lit), field: lit === '18446744073709551616' ? undefined : k });
      }
    }
    if (types.includes('string')) {
      out.push({ name: `${k}: 100,000 characters`, body: JSON.stringify({ ...base, [k]: LONG }), field: k });
      out.push({ name: `${k}: a NUL inside`, body: JSON.stringify({ ...base, [k]: 'a\u0000b' }), field: k });
    }
    out.push({ name: `${k}: nested 10,000 deep`, body: withLiteral(base, k, DEEP) });
  }
  if (Object.keys(all).length) out.push({ name: 'every field of another type', body: JSON.stringify(all) });
  const k0 = props[0]?.k;
  if (k0) {
    const v = k0 in base ? base[k0] : 'x';
    out.push({ name: `"${k0}" given twice`, body: `{${JSON.stringify(k0)}:${JSON.stringify(v)},${JSON.stringify({ [k0]: v, ...base }).slice(1)}` });
  }
  return out;
}

// The table for an upload's piece (declared 13 bytes).
const PIECE_CASES = [
  { name: 'no Content-Range', body: '{', headers: {} },
  { name: 'Content-Range not bytes', body: '{', headers: { 'content-range': 'bytes=0-0/13' } },
  { name: 'Content-Range of 2^64', body: '{', headers: { 'content-range': 'bytes 0-0/18446744073709551616' } },
  { name: 'Content-Range backwards', body: '{', headers: { 'content-range': 'bytes 5-1/13' } },
  { name: 'Content-Range past the size', body: LONG, headers: { 'content-range': 'bytes 0-99999/100000' } },
  { name: 'Content-Range longer than the body', body: '{', headers: { 'content-range': 'bytes 0-12/13' } },
  { name: 'no body', body: undefined, headers: { 'content-range': 'bytes 0-12/13' } },
];

// The table for a file source's file.
const FILE_CASES = [
  { name: 'Content-Type application/json', body: '{', headers: { 'content-type': 'application/json' } },
  { name: 'Content-Type unknown', body: 'x', headers: { 'content-type': 'application/x-nothing' } },
  { name: 'no Content-Type', body: 'x', headers: {} },
  { name: 'Content-Range not bytes', body: 'x', headers: { 'content-type': 'text/plain', 'content-range': 'bytes=0-0/1' } },
  { name: 'Content-Range of 2^64', body: 'x', headers: { 'content-type': 'text/plain', 'content-range': 'bytes 0-0/18446744073709551616' } },
  { name: 'Content-Range over 7 MiB', body: 'x', headers: { 'content-type': 'text/plain', 'content-range': 'bytes 0-0/99999999999' } },
];

test('every route that takes a body answers bad bodies with a clear error', { timeout: 120000 }, async (t) => {
  const p = await startParley(t, { workers: 2, mock: { chunks: 1, delayMs: 1 }, env: { RATE_LIMIT_MAX_REQUESTS: '0' } });
  const doc = (await p.get('/v1/openapi.json')).json();
  const key = installIn(p);
  const admin = async (method, path, body, status = [200, 201]) => {
    const r = await p.request(method, path, { headers: { ...key, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.ok([].concat(status).includes(r.status), `${method} ${path}: ${r.status} ${r.text}`);
    return r.json();
  };

  // The objects the routes' parameters name.
  const ids = {};
  const agent = await admin('POST', '/v1/admin/agents', { name: 'Sweep' });
  ids.agent = agent.id;
  const widget = await admin('POST', '/v1/admin/widgets', { name: 'Sweep', agent_id: agent.id, attachment_types: ['text'] });
  ids.wid = widget.widget_id;
  // The chat API's uploads go through the default widget (the first one):
  // every widget takes text files.
  for (const w of (await p.admin('/v1/admin/widgets')).json().widgets) {
    await admin('PATCH', `/v1/admin/widgets/${w.widget_id}`, { attachment_types: ['text'] });
  }
  const v = await Visitor.open(p, ids.wid);
  ids.token = (await v.next('session')).session_token;
  await v.turn('hello');
  v.close();
  ids.conv = (await p.admin('/v1/admin/conversations')).json().conversations[0]._id;
  ids.convAtt = (await admin('POST', `/v1/admin/conversations/${ids.conv}/attachments`, { name: 'a.txt', size: 13 })).id;
  ids.cannedAtt = (await admin('POST', '/v1/admin/canned-replies/attachments', { name: 'c.txt', size: 13 })).id;
  ids.canned = (await admin('POST', '/v1/admin/canned-replies', { shortcut: 'sweep', text: 'Hello' })).id;
  ids.qa = (await admin('POST', '/v1/admin/knowledge/sources', { type: 'qa', question: 'Kettle?', answer: 'Zebra.' })).id;
  ids.file = (await admin('POST', '/v1/admin/knowledge/sources', { type: 'file', url: 'sweep.md' })).id;
  ids.action = (await admin('POST', '/v1/admin/actions', { name: 'sweep_order', description: 'Looks an order up.', url: ACTION_URL,
    parameters: { type: 'object', properties: { id: { type: 'string' } } } })).id;
  ids.hook = (await admin('POST', '/v1/admin/webhooks', { url: 'https://93.184.216.34/hook', events: ['message.created'], enabled: false })).id;
  ids.org = (await admin('POST', '/v1/admin/organizations', { name: 'Sweep org' })).id;
  const member = await addMember(p, { role: 'owner' });
  ids.user = member.id;
  const leaving = await login(p, member.password, { email: member.email });   // the logout's own session
  const invite = await admin('POST', '/v1/admin/users', { email: 'invitee-sweep@example.com', role: 'agent' });
  ids.invite = new URL(invite.url).hash.slice(1);
  ids.chatSession = 'sweep-chat-1';
  let r = await p.request('POST', '/v1/chat', { headers: { 'x-api-key': p.widgetKey, 'content-type': 'application/json' },
    body: JSON.stringify({ sessionId: ids.chatSession, message: 'hello' }) });
  assert.equal(r.status, 200, r.text);
  r = await p.request('POST', '/v1/chat/attachments', { headers: { 'x-api-key': p.widgetKey, 'content-type': 'application/json' },
    body: JSON.stringify({ sessionId: ids.chatSession, name: 'h.txt', size: 13 }) });
  assert.equal(r.status, 201, r.text);
  ids.chatAtt = r.json().id;
  r = await p.request('POST', `/api/widget/${ids.wid}/attachments`, { headers: { 'x-parley-session': ids.token, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'v.txt', size: 13 }) });
  assert.equal(r.status, 201, r.text);
  ids.visitorAtt = r.json().id;

  const PARAM = {
    id: ids.conv, wid: ids.wid, agent_id: ids.agent, user_id: ids.user, org_id: ids.org, canned_id: ids.canned,
    action_id: ids.action, hook_id: ids.hook, delivery_id: 'dlv_00000000000000000000000000000000',
  };
  function fill(route) {
    return route.path.replace(/:(\w+)/g, (_, name) => {
      if (name === 'att') {
        if (route.path.startsWith('/v1/admin/conversations/')) return ids.convAtt;
        if (route.path.startsWith('/v1/admin/canned-replies/')) return ids.cannedAtt;
        if (route.path.startsWith('/api/widget/')) return ids.visitorAtt;
        return ids.chatAtt;
      }
      if (name === 'source_id') return route.path.endsWith('/file') || route.path.endsWith('/sync') ? ids.file : ids.qa;
      assert.ok(PARAM[name], `body-sweep.test.mjs: no id for :${name} of ${route.path}: say which here`);
      return PARAM[name];
    }) + (route.path.startsWith('/v1/chat/attachments/') ? `?sessionId=${ids.chatSession}` : '')
      + (route.path.endsWith('/report') ? '?reason=csp' : '');
  }

  // A valid body for each route that takes one (the fields beside the one
  // made wrong).
  function baseFor(route) {
    const b = {
      '/v1/chat': { sessionId: ids.chatSession, message: 'hello' },
      '/v1/chat/attachments': { sessionId: ids.chatSession, name: 'b.txt', size: 13 },
      '/v1/admin/conversations/:id': { state: 'resolved' },
      '/v1/admin/conversations/:id/handoff': { state: 'human' },
      '/v1/admin/conversations/:id/messages': { content: 'A reply', name: 'Ann' },
      '/v1/admin/conversations/:id/typing': { typing: true },
      '/v1/admin/conversations/:id/assign': { user_id: null },
      '/v1/admin/conversations/:id/attachments': { name: 'b.txt', size: 13 },
      '/v1/admin/canned-replies/attachments': { name: 'b.txt', size: 13 },
      '/api/widget/:wid/attachments': { name: 'b.txt', size: 13 },
      '/v1/admin/canned-replies': { shortcut: 'sweep-b', text: 'Hello' },
      '/v1/admin/canned-replies/:canned_id': { shortcut: 'sweep', text: 'Hello' },
      '/v1/admin/widgets': { name: 'Sweep B' },
      '/v1/admin/agents': { name: 'Sweep B' },
      '/v1/admin/users': { email: 'sweep-b@example.com', role: 'agent' },
      '/v1/admin/organizations': { name: 'Sweep B' },
      '/v1/admin/api-keys': { name: 'Sweep', role: 'agent' },
      '/v1/admin/knowledge/sources': { type: 'qa', question: 'Q?', answer: 'A.' },
      '/v1/admin/knowledge/search': { query: 'kettle' },
      '/v1/admin/knowledge-gaps/resolve': { ids: ['0'.repeat(40)] },
      '/v1/admin/actions': { name: 'sweep_b', description: 'Looks it up.', url: ACTION_URL, parameters: { type: 'object' } },
      '/v1/admin/webhooks': { url: 'https://93.184.216.34/b', events: ['message.created'], enabled: false },
      '/v1/admin/profile': { name: 'Sweeper' },
      '/v1/admin/profile/password': { current_password: member.password, new_password: member.password },
      '/dashboard/api/login': { email: member.email, password: member.password },
      '/dashboard/api/invitations/accept': { token: ids.invite, name: 'Invitee', password: 'a long enough password' },
      '/dashboard/api/invitations/view': { token: ids.invite },
    };
    if (route.path === '/v1/chat/stream' || route.path === '/chat') return b['/v1/chat'];
    return b[route.path] ?? {};
  }

  function headersFor(route) {
    if (route.path.startsWith('/v1/chat') || route.path === '/chat') return { 'x-api-key': p.widgetKey };
    if (route.path.startsWith('/api/widget/')) return { 'x-parley-session': ids.token, origin: 'https://example.com' };
    if (route.path === '/dashboard/api/logout') return leaving.headers();
    if (SESSION_ONLY.includes(route.path)) return member.session.headers();
    if (route.flags.includes('R_ADMIN')) return { ...key };
    return {};
  }

  // Sends one case; the reason it is wrong, or null.
  async function check(route, path, c, { bodyless }) {
    const headers = { ...headersFor(route), ...(c.headers || {}) };
    if (c.ctype !== null && c.headers === undefined) headers['content-type'] = c.ctype ?? 'application/json';
    const t0 = Date.now();
    let res;
    try {
      res = await p.request(route.method, path, { headers, body: c.body, timeout: WAIT,
        localAddress: LOGIN_LIKE.includes(route.path) ? nextClient() : undefined });
    } catch (e) {
      return `no answer within ${Date.now() - t0} ms: ${e.message}`;
    }
    if (res.status >= 500) return `${res.status} ${res.text.slice(0, 200)}`;
    if (res.status < 400) return bodyless ? null : `${res.status} ${res.text.slice(0, 200)}`;
    if (!/^application\/json/.test(res.headers['content-type'] || '')) return `${res.status} with Content-Type ${res.headers['content-type']}`;
    let j;
    try { j = JSON.parse(res.text); } catch { return `${res.status} whose body is no JSON: ${res.text.slice(0, 200)}`; }
    if (typeof j?.error !== 'string' || j.error === '') return `${res.status} without an error: ${res.text.slice(0, 200)}`;
    // A 400 for a field's bad value names the field (in `details` on the
    // chat API's, outside production: docs/api.md); the login's is "Invalid
    // request body" whatever is wrong (docs/dashboard.md). (Canned replies'
    // NUL and notifications' non-booleans said "body: ..." until
    // 2026-12-07.)
    const said = `${j.error} ${j.details ?? ''}`;
    if (res.status === 400 && c.field && route.path !== '/dashboard/api/login' &&
      !said.includes(c.field)) return `400 that does not name ${c.field}: ${res.text.slice(0, 200)}`;
    return null;
  }

  const workers = p.workerPids().sort();
  const storaged = p.procs.storaged.child.pid;
  const routes = routeTable().filter((x) => BODY_METHODS.includes(x.method));
  routes.sort((a, b) => LAST.includes(a.path) - LAST.includes(b.path));
  assert.ok(routes.length >= 40, `parsed ${routes.length} routes that take a body`);
  const t0 = Date.now();
  let sent = 0;
  for (const route of routes) {
    await t.test(`${route.method} ${route.path}`, async () => {
      const path = fill(route);
      const schema = bodySchema(doc, route.method, route.path) ?? UNLISTED[route.path];
      let cases;
      if (route.method === 'PUT' && route.path.endsWith('/file')) cases = FILE_CASES;
      else if (route.method === 'PUT' && route.path.includes('/attachments/')) cases = PIECE_CASES;
      else cases = jsonCases(doc, schema ?? { properties: {} }, baseFor(route));
      const bad = [];
      for (const c of cases) {
        const why = await check(route, path, c, { bodyless: !schema && cases !== PIECE_CASES && cases !== FILE_CASES });
        sent++;
        if (why) bad.push(`${c.name}: ${why}`);
      }
      assert.deepEqual(bad, [], `${route.method} ${path}`);
    });
  }
  t.diagnostic(`${sent} requests in ${Date.now() - t0} ms`);

  // Nothing died or restarted, and the server still serves.
  assert.deepEqual(p.workerPids().sort(), workers, 'the workers that started still run');
  assert.ok(!p.procs.storaged.exited && p.procs.storaged.child.pid === storaged, 'storaged still runs');
  assert.doesNotMatch(p.logs.masterd, /\(pid \d+\) (exited with status|killed by signal)/);
  assert.deepEqual(p.sanitizerReports(), []);
  r = await p.admin('/v1/admin/widgets');
  assert.equal(r.status, 200, r.text);
  await admin('POST', '/v1/admin/agents', { name: 'After the sweep' }, 201);
});
