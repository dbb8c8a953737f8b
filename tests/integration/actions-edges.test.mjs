// Actions at their edges (a review's findings, each failing before its
// fix): a PATCH of an action's url, body or parameters that leaves the url
// or body naming a value none of its parameters is, is refused as merged
// (it was saved, and the call went to another path with the owner's
// headers); a page tool handed to the page when the
// visitor leaves is on the record; an answer that is not UTF-8 says it
// was cut; arguments that are not one JSON object we take go back to the
// model, not fail the turn; a whole number written 3.0 is sent as 3; a
// PATCH of an action whose url or body was saved before that was refused
// says to send them; the page's answers count in the turn's budget of
// tools' answers (the test build's PARLEY_TEST_TURN_ANSWERS_MAX, 40,000
// bytes here, for 2 MiB); a page tool's step is stored and shown as the
// page's (origin "page"), even one named like a disabled action, and
// exported so (the messages export's origin, in CSV and JSON Lines).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { MSG_FIELDS, csvObjects, jsonlObjects } from './lib/dashboard.mjs';
import { Parley, waitFor } from './lib/harness.mjs';
import { checkerFor } from './lib/openapi.mjs';
import { Visitor } from './lib/wsclient.mjs';

const SCHEMA = { type: 'object', properties: { order_id: { type: 'string' } }, required: ['order_id'] };
// The turn's budget of tools' answers in this test build (2 MiB shipped).
const BUDGET = 40000;
const call = (name, argsText) => `[[mock:call=${name},args=${encodeURIComponent(argsText).replace(/,/g, '%2C')}]]`;

describe('actions at their edges', () => {
  let p, api, apiPort;
  const seen = [];
  const held = [];
  const admin = (method, path, body) => p.adminJson(method, path, body);
  async function action(body) {
    const r = await admin('POST', '/v1/admin/actions', { description: 'd', parameters: SCHEMA, ...body });
    assert.equal(r.status, 201, r.text);
    return r.json().id;
  }
  async function widgetWith(ids) {
    let r = await admin('POST', '/v1/admin/agents', { name: 'A' + Math.random(), action_ids: ids });
    r = await admin('POST', '/v1/admin/widgets', { name: 'W', agent_id: r.json().id });
    return r.json().widget_id;
  }
  async function storedWith(text) {
    let msgs;
    await waitFor(async () => {
      for (const c of (await admin('GET', '/v1/admin/conversations')).json().conversations) {
        const m = (await admin('GET', `/v1/admin/conversations/${c._id}`)).json().messages || [];
        if (m.some((x) => (x.content || '').includes(text)) && m.some((x) => x.role === 'assistant')) { msgs = m; return true; }
      }
      return false;
    }, 10000, 'stored');
    return msgs;
  }
  before(async () => {
    api = http.createServer((req, res) => {
      seen.push({ method: req.method, url: req.url, auth: req.headers.authorization });
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        seen[seen.length - 1].body = body;
        if (req.url.startsWith('/held')) {	// answered when the test lets it go
          held.push(res);
          return;
        }
        if (req.url.startsWith('/echocut')) {	// echoes its key past 100 bytes
          res.end('x'.repeat(100) + req.headers['x-shop-key'] + ' after');
          return;
        }
        if (req.url.startsWith('/echosk')) {	// its key's first 3 bytes, again and again
          res.end('sk-'.repeat(10) + req.headers['x-shop-key']);
          return;
        }
        if (req.url.startsWith('/accents')) {
          res.end('é'.repeat(100));
          return;
        }
        if (req.url.startsWith('/latin1')) {
          res.setHeader('content-type', 'application/json; charset=iso-8859-1');
          res.end(Buffer.from('{"status":"expédié","ville":"Zürich","note":"prêt à être livré demain"}', 'latin1'));
          return;
        }
        res.setHeader('content-type', 'application/json');
        res.end('{"ok":true}');
      });
    });
    await new Promise((resolve) => api.listen(0, '127.0.0.1', resolve));
    apiPort = api.address().port;
    p = new Parley({ workers: 1, mock: true, env: { RATE_LIMIT_MAX_REQUESTS: '0', PARLEY_ACTIONS_ALLOW_PRIVATE: 'on',
      PARLEY_TEST_TURN_ANSWERS_MAX: String(BUDGET) } });
    await p.start();
  });
  after(async () => { try { if (p) await p.stop(); } finally { if (api) api.close(); } });

  // An answer cut at max_response_bytes inside a character is shown up to
  // its last whole one (it was "(the answer is not UTF-8 text)").
  test('a dry run\'s answer cut inside a character: its whole characters', async () => {
    const id = await action({ name: 'accents', url: `http://127.0.0.1:${apiPort}/accents/{{order_id}}`, max_response_bytes: 101 });
    const r = await admin('POST', `/v1/admin/actions/${id}/test`, { arguments: { order_id: '1' } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual([r.json().response.body, r.json().response.cut], ['é'.repeat(50), true]);
  });

  // An answer cut inside a header's value it echoes showed that value's
  // first part (the whole value is hidden, its first part was not): the
  // part goes, shown as [hidden]; a cut in its first 3 bytes drops them.
  test('a dry run\'s answer cut inside an echoed header value: not its first part', async () => {
    const secret = 'sk-cut-secret-value';
    for (const [max, body] of [[110, 'x'.repeat(100) + '[hidden]'], [102, 'x'.repeat(100)],
      [140, 'x'.repeat(100) + '[hidden] after']]) {
      const id = await action({ name: `echocut${max}`, url: `http://127.0.0.1:${apiPort}/echocut/{{order_id}}`,
        headers: { 'X-Shop-Key': secret }, max_response_bytes: max });
      const r = await admin('POST', `/v1/admin/actions/${id}/test`, { arguments: { order_id: '1' } });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual([r.json().response.body, r.json().response.cut], [body, max < 125], r.text);
      assert.ok(!r.text.includes('sk-c'), r.text);
    }
    // Only the end goes, not each earlier run that could begin the value.
    const id = await action({ name: 'echosk', url: `http://127.0.0.1:${apiPort}/echosk/{{order_id}}`,
      headers: { 'X-Shop-Key': secret }, max_response_bytes: 30 });
    const r = await admin('POST', `/v1/admin/actions/${id}/test`, { arguments: { order_id: '1' } });
    assert.deepEqual([r.json().response.body, r.json().response.cut], ['sk-'.repeat(9), true], r.text);
  });

  // Each dry run holds a call to an API anyone may name and its answer: a
  // worker runs 16 at once, one organisation 4 of them (a key's holder
  // started a thousand, all at the target at once).
  test('dry runs at once: an organisation\'s fifth is 503, another organisation\'s is not held back', async () => {
    const id = await action({ name: 'held', url: `http://127.0.0.1:${apiPort}/held/{{order_id}}` });
    const run = (i, headers = {}) => p.request('POST', `/v1/admin/actions/${id}/test`, {
      headers: { 'content-type': 'application/json', 'x-admin-api-key': p.adminKey, ...headers },
      body: JSON.stringify({ arguments: { order_id: String(i) } }), timeout: 30000 });
    const four = [0, 1, 2, 3].map((i) => run(i));
    await waitFor(() => held.length === 4, 10000, 'four calls at the API');
    const fifth = await run(4);
    assert.equal(fifth.status, 503, fifth.text);
    assert.equal(fifth.json().error, 'Too many of this organization\'s dry runs under way; try again');
    const org = await admin('POST', '/v1/admin/organizations', { name: 'Other dry runs' });
    assert.equal(org.status, 201, org.text);
    // (its own API cannot be on loopback: an action of this one's id is 404, not 503)
    const elsewhere = await run(5, { 'x-organization-id': org.json().id });
    assert.equal(elsewhere.status, 404, elsewhere.text);
    for (const res of held.splice(0)) res.end('{"ok":true}');
    for (const x of await Promise.all(four)) assert.equal(x.status, 200, x.text);
    // Their slots given back: one more runs.
    const again = run(6);
    await waitFor(() => held.length === 1, 10000, 'a dry run once the others ended');
    held.pop().end('{"ok":true}');
    assert.equal((await again).status, 200);
  });

  test('a template left naming no parameter (PATCHes of url, body, parameters): refused as merged, nothing saved', async () => {
    const good = `http://127.0.0.1:${apiPort}/orders/{{order_id}}/items`;
    const id = await action({ name: 'lookup', url: good, headers: { Authorization: 'Bearer secret-xyz' } });
    const bad = `http://127.0.0.1:${apiPort}/orders/{{nope}}/items`;
    const post = await admin('POST', '/v1/admin/actions', { name: 'x1', description: 'd', parameters: SCHEMA, url: bad });
    assert.equal(post.status, 400, 'POST refuses {{nope}}');
    // Each checked with the other two as stored: it was saved (200), and
    // the call went to /orders//items with the secret header.
    const patches = [
      [{ url: bad }, /^url: a \{\{placeholder\}\} that is neither a parameter/],
      [{ method: 'POST', body: '{"x":"{{nope}}"}' }, /^body: a \{\{placeholder\}\} that is neither a parameter/],
      [{ parameters: { type: 'object', properties: { q: { type: 'string' } } } }, /^url: a \{\{placeholder\}\} that is neither a parameter/],
    ];
    for (const [body, want] of patches) {
      const r = await admin('PATCH', `/v1/admin/actions/${id}`, body);
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
      assert.match(r.json().error, want);
    }
    const a = (await admin('GET', `/v1/admin/actions/${id}`)).json();
    assert.deepEqual([a.url, a.method, a.body, a.parameters], [good, 'GET', '', SCHEMA], 'nothing saved');
    const wid = await widgetWith([id]);
    const v = await Visitor.open(p, wid); await v.next('session');
    seen.length = 0;
    await v.turn(`x ${call('lookup', '{"order_id":"7"}')}`);
    await v.close();
    assert.deepEqual(seen.map((x) => [x.url, x.auth]), [['/orders/7/items', 'Bearer secret-xyz']], JSON.stringify(seen));
  });

  test('an action saved before its url and body had to name a parameter: a PATCH that leaves them says which to send', async () => {
    const params = { type: 'object', properties: { order_id: { type: 'string' }, gone_id: { type: 'string' } } };
    const id = await action({ name: 'legacy', method: 'POST', url: `http://127.0.0.1:${apiPort}/legacy/{{gone_id}}`,
      body: '{"id":"{{gone_id}}"}', parameters: params });
    // As a server of before the check stored it: gone_id is no parameter
    // (its name changed in the schema, in data.mdb with storaged stopped).
    await p.killStoraged('SIGTERM');
    const hex = (s) => Buffer.from(s).toString('hex');
    const dump = execFileSync('mdb_dump', ['-s', 'actions', p.dataDir], { encoding: 'utf8' });
    assert.equal(dump.split(hex('"gone_id"')).length, 2, 'the schema names gone_id once');
    const file = path.join(p.tmp, 'actions.dump');
    fs.writeFileSync(file, dump.replace(hex('"gone_id"'), hex('"left_id"')));
    execFileSync('mdb_load', ['-s', 'actions', '-f', file, p.dataDir]);
    const from = p.logs.masterd.length;
    await p.startStoraged();
    await p.waitConnected(from);
    const stored = (f) => `${f}: this action's ${f}, saved before such a ${f} was refused, has a {{placeholder}} ` +
      `that is neither a parameter nor visitor.external_id or visitor.email: send ${f} with this change`;
    const good = `http://127.0.0.1:${apiPort}/legacy/{{order_id}}`;
    for (const [body, want] of [[{ description: 'New words.' }, stored('url')], [{ url: good }, stored('body')]]) {
      const r = await admin('PATCH', `/v1/admin/actions/${id}`, body);
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json().error, want);
    }
    const r = await admin('PATCH', `/v1/admin/actions/${id}`, { description: 'New words.', url: good, body: '{"id":"{{order_id}}"}' });
    assert.equal(r.status, 200, r.text);
  });

  test('a page tool handed to the page when the visitor leaves: stored as a failed step', async () => {
    const wid = await widgetWith([await action({ name: 'noop', url: `http://127.0.0.1:${apiPort}/n/{{order_id}}` })]);
    const v = await Visitor.open(p, wid); await v.next('session');
    v.send({ type: 'tools', tools: [{ name: 'pay_now', description: 'Pays the cart', parameters: { type: 'object', properties: { amount: { type: 'number' } } } }] });
    v.send({ type: 'message', content: `pay-b2 ${call('pay_now', '{"amount":99}')}` });
    for (;;) { const f = await v.next(undefined, 10000); if (f.type === 'tool' && f.status === 'page') break; }
    await v.close();
    const msgs = await storedWith('pay-b2');
    const step = msgs.find((m) => m.role === 'tool' && m.name === 'pay_now');
    assert.ok(step, `the call handed to the page is on the record: ${JSON.stringify(msgs.map((m) => [m.role, m.status]))}`);
    assert.deepEqual([step.status, step.content], ['failed', 'error: no answer: the turn ended while the call was made']);
  });

  test('an API answer that is not UTF-8: shown with U+FFFD, and said to be cut where it is', async () => {
    const wid = await widgetWith([await action({ name: 'latin', url: `http://127.0.0.1:${apiPort}/latin1/{{order_id}}` })]);
    const v = await Visitor.open(p, wid); await v.next('session');
    const t = await v.turn(`x ${call('latin', '{"order_id":"1"}')}`);
    await v.close();
    assert.match(t.message.content, /demain"\}$|answer was longer/, 'the whole answer (or the note that it was cut)');
  });

  test('arguments not one JSON object we take (a number past 64 bits, a NUL): back to the model, the turn goes on', async () => {
    const wid = await widgetWith([await action({ name: 'get', url: `http://127.0.0.1:${apiPort}/g/{{order_id}}` })]);
    const v = await Visitor.open(p, wid); await v.next('session');
    const out = [];
    for (const args of ['{"order_id":12345678901234567890}', '{"order_id":"a\\u0000b"}']) {
      v.send({ type: 'message', content: `x ${call('get', args)}` });
      for (;;) {
        const f = await v.next(undefined, 15000);
        if (f.type === 'error' || f.type === 'message') out.push(f.type === 'error' ? `error ${f.code}` : f.content);
        if (f.type === 'typing_stop') break;
      }
    }
    await v.close();
    assert.equal(out.length, 2, JSON.stringify(out));
    assert.ok(out.every((x) => x.startsWith('The tools said: error: the arguments are not one JSON object')), JSON.stringify(out));
  });

  test('a whole number written 3.0 is sent as 3', async () => {
    const wid = await widgetWith([await action({ name: 'num', method: 'POST', url: `http://127.0.0.1:${apiPort}/n/{{n}}`,
      body: '{"n":{{n}}}', parameters: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] } })]);
    const v = await Visitor.open(p, wid); await v.next('session');
    seen.length = 0;
    await v.turn(`x ${call('num', '{"n":3.0}')}`);
    await v.close();
    assert.deepEqual(seen.map((s) => [s.url, s.body]), [['/n/3', '{"n":3}']]);
  });
  // Before, the page's answers (the visitor's own text, 16 KiB each, 8
  // calls a round, 4 rounds) went into the prompt beside the actions'
  // 2 MiB, never counted: now each reads its share of what is left, and
  // once nothing is, the page is not asked.
  test('the page\'s answers count in the turn\'s budget: cut to what is left, then not asked', async () => {
    const wid = await widgetWith([await action({ name: 'noop2', url: `http://127.0.0.1:${apiPort}/n/{{order_id}}` })]);
    const v = await Visitor.open(p, wid); await v.next('session');
    v.send({ type: 'tools', tools: [{ name: 'cart_dump', description: 'The cart, in full', parameters: { type: 'object' } }] });
    const frames = await v.pageTurn(`cart ${call('cart_dump', '{}')} [[mock:rounds=4]]`, () => ({ result: 'c'.repeat(20000) }));
    await v.close();
    assert.equal(frames.filter((f) => f.type === 'tool' && f.status === 'page').length, 3, 'the page asked three times, not four');
    const said = frames.find((f) => f.type === 'message').content;
    assert.ok(said.startsWith('The tools said: '), said.slice(0, 100));
    const parts = said.slice('The tools said: '.length).split('; ');
    // 16 KiB (TOOLS_PAGE_ANSWER_MAX), 16 KiB, the 7,232 bytes left, none.
    assert.deepEqual(parts.slice(0, 3).map((x) => x.length), [16384, 16384, BUDGET - 2 * 16384]);
    assert.match(parts[3], /^error: not asked: this turn has read all the answers from tools it may/);
    const msgs = await storedWith(parts[3]);
    assert.deepEqual(msgs.filter((m) => m.role === 'tool').map((m) => [m.name, m.status, m.origin]),
      [['cart_dump', 'complete', 'page'], ['cart_dump', 'complete', 'page'], ['cart_dump', 'complete', 'page'],
        ['cart_dump', 'failed', 'page']]);
  });

  // A visitor's page may name its tool anything an action is not offered
  // as (a disabled action's name among them) and answer what it likes:
  // stored and shown as an action, "issue_refund … Refund issued" read
  // as the owner's refund having run. Its step now says it was the page's.
  test('a page tool\'s step is the page\'s (origin page), an action\'s the owner\'s (origin action), in the admin API', async () => {
    const refund = await action({ name: 'issue_refund', url: `http://127.0.0.1:${apiPort}/refund/{{order_id}}`, changes_data: true });
    assert.equal((await admin('PATCH', `/v1/admin/actions/${refund}`, { enabled: false })).status, 200);
    const wid = await widgetWith([await action({ name: 'refund_lookup', url: `http://127.0.0.1:${apiPort}/l/{{order_id}}` }), refund]);
    const v = await Visitor.open(p, wid); await v.next('session');
    v.send({ type: 'tools', tools: [{ name: 'issue_refund', description: 'Refunds the order', parameters: { type: 'object' } }] });
    seen.length = 0;
    const frames = await v.pageTurn(`refund-origin ${call('refund_lookup', '{"order_id":"7"}')} ${call('issue_refund', '{}')}`,
      () => ({ result: 'Refund issued' }));
    await v.close();
    assert.ok(frames.some((f) => f.type === 'tool' && f.status === 'page' && f.name === 'issue_refund'), 'the page was asked');
    assert.deepEqual(seen.map((x) => x.url), ['/l/7'], 'the disabled action\'s API never called');
    const msgs = await storedWith('refund-origin');
    const steps = msgs.filter((m) => m.role === 'tool');
    assert.deepEqual(steps.map((m) => [m.name, m.status, m.origin, m.content]).sort(),
      [['issue_refund', 'complete', 'page', 'Refund issued'], ['refund_lookup', 'complete', 'action', '{"ok":true}']]);
    // The conversation as the API answers it, against its OpenAPI schema.
    const conv = steps[0].conversationId;
    const r = await admin('GET', `/v1/admin/conversations/${conv}`);
    (await checkerFor(p)).checkJson('GET', `/v1/admin/conversations/${conv}`, r);
    // Other messages carry no origin.
    assert.ok(msgs.filter((m) => m.role !== 'tool').every((m) => !('origin' in m)));
    // The export says it too, a field of JSON Lines and the CSV's last
    // column (null, or empty, on the other messages), each row the
    // OpenAPI document's.
    const checker = await checkerFor(p);
    const url = `/v1/admin/export?format=jsonl&rows=messages&conversation=${conv}`;
    const j = await admin('GET', url);
    assert.equal(j.status, 200, j.text);
    const rows = jsonlObjects(j.text, MSG_FIELDS);
    rows.forEach((x, i) => checker.validate('GET', url, 200, 'application/x-ndjson', x, `line ${i + 1}`));
    const origins = (rs) => rs.map((x) => [x.role, x.name, x.origin]).sort();
    const want = msgs.map((m) => [m.role, m.name ?? null, m.role === 'tool' ? m.origin : null]).sort();
    assert.deepEqual(origins(rows), want);
    assert.deepEqual(rows.filter((x) => x.role === 'tool').map((x) => [x.name, x.origin]).sort(),
      [['issue_refund', 'page'], ['refund_lookup', 'action']]);
    const c = await admin('GET', `/v1/admin/export?format=csv&rows=messages&conversation=${conv}`);
    assert.equal(c.status, 200, c.text);
    const crows = csvObjects(c.text, MSG_FIELDS);
    assert.deepEqual(origins(crows), want.map(([r, n, o]) => [r, n ?? '', o ?? '']).sort());
  });
});
