// A chat turn that calls the owner's API (an action) through the model's
// tool calls, end to end: real processes, the mock model calling tools
// from a marker in the visitor's message, and an HTTP API of the test's
// on loopback (PARLEY_ACTIONS_ALLOW_PRIVATE=on: the default
// organisation's). An order looked up (the widget's socket shows the
// call running then done, the API gets the order id in its path and the
// action's header, the model reads its answer); the stream's tool lines;
// a schema-invalid argument goes back to the model and never reaches the
// API, nor does an argument the schema does not name (a model-written
// visitor id); an action that needs a verified visitor is refused to an
// anonymous one; a slow answer is cut at its timeout and a huge one at
// max_response_bytes; another organisation's action is never callable;
// each call carries an Idempotency-Key (the same across a retry of a call
// that got no answer, another for every other call); an action disabled
// or deleted mid-turn is not called, nor one taken off the agent, and one
// changed mid-turn is called as it is now (its new URL and headers), or
// not at all when it now needs a verified visitor or a confirmation the
// call did not have.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';

import { sid, streamTurn } from './lib/chat.mjs';
import { Parley, waitFor } from './lib/harness.mjs';
import { checkerFor } from './lib/openapi.mjs';
import { Visitor } from './lib/wsclient.mjs';

const SCHEMA = { type: 'object', properties: { order_id: { type: 'string', maxLength: 20 } }, required: ['order_id'] };
const call = (name, args) => `[[mock:call=${name},args=${encodeURIComponent(JSON.stringify(args)).replace(/,/g, '%2C')}]]`;

describe('a turn calls the owner\'s API', () => {
  let p;
  let api;
  let apiPort;
  const seen = [];
  const idem = [];	// each request's {url, key}: its Idempotency-Key
  const flaky = new Map();
  const held = [];
  const huge = { fed: 0, closed: false };
  let dw;
  let agentId;

  const admin = (method, path, body, org) => p.request(method, path, {
    headers: { 'content-type': 'application/json', 'x-admin-api-key': p.adminKey,
      ...(org ? { 'x-organization-id': org } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

  async function action(body, org) {
    const r = await admin('POST', '/v1/admin/actions', { description: 'd', parameters: SCHEMA, ...body }, org);
    assert.equal(r.status, 201, r.text);
    return r.json().id;
  }

  before(async () => {
    // The owner's API: /orders/ID answers its status 5 ms later; /slow
    // never in time; /huge 1 GiB, gzipped.
    api = http.createServer((req, res) => {
      seen.push({ method: req.method, url: req.url, auth: req.headers.authorization });
      idem.push({ url: req.url, key: req.headers['idempotency-key'] });
      if (req.url.startsWith('/flaky')) {
        // Its first request of each URL answered past the action's
        // timeout (no answer: it may have been applied); the next at once.
        const n = (flaky.get(req.url) || 0) + 1;
        flaky.set(req.url, n);
        setTimeout(() => { res.end('{"ok":true}'); }, n === 1 ? 1500 : 5);
        return;
      }
      if (req.url.startsWith('/slow')) {
        setTimeout(() => { res.end('{"late":true}'); }, 1500);
        return;
      }
      if (req.url.startsWith('/hold')) {
        held.push(res);	// answered when the test says
        return;
      }
      if (req.url.startsWith('/big')) {
        res.end('y'.repeat(1536 << 10));	// 1.5 MiB, whole
        return;
      }
      if (req.url.startsWith('/huge')) {
        // gzip inflating to 1 GiB of "x", made as it is read (a bomb):
        // huge.fed counts what was made before the worker let go.
        res.setHeader('content-encoding', 'gzip');
        const mib = Buffer.alloc(1 << 20, 'x');
        let n = 0;
        Object.assign(huge, { fed: 0, closed: false });
        const src = new Readable({ read() { if (n++ < 1024) { huge.fed += mib.length; this.push(mib); } else this.push(null); } });
        const gz = zlib.createGzip();
        res.on('close', () => { huge.closed = true; src.destroy(); gz.destroy(); });
        src.pipe(gz).pipe(res);
        return;
      }
      const id = decodeURIComponent(req.url.split('/')[2].split('?')[0]);
      setTimeout(() => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ order_id: id, status: 'shipped' }));
      }, 5);
    });
    await new Promise((resolve) => api.listen(0, '127.0.0.1', resolve));
    apiPort = api.address().port;
    p = new Parley({ workers: 1, mock: true,
      env: { RATE_LIMIT_MAX_REQUESTS: '0', PARLEY_ACTIONS_ALLOW_PRIVATE: 'on' } });
    await p.start();
    const ids = [
      await action({ name: 'order_status', url: `http://127.0.0.1:${apiPort}/orders/{{order_id}}`,
        headers: { Authorization: 'Bearer shop-key' } }),
      await action({ name: 'my_orders', url: `http://127.0.0.1:${apiPort}/orders/{{order_id}}?c={{visitor.external_id}}`,
        requires_verified: true }),
      await action({ name: 'slow', url: `http://127.0.0.1:${apiPort}/slow/{{order_id}}`, timeout_ms: 300 }),
      await action({ name: 'huge', url: `http://127.0.0.1:${apiPort}/huge/{{order_id}}`, max_response_bytes: 1000 }),
      await action({ name: 'cancel_order', method: 'POST', url: `http://127.0.0.1:${apiPort}/orders/{{order_id}}/cancel`,
        body: '{"order":"{{order_id}}"}', changes_data: true, description: 'Cancels an order' }),
    ];
    const o = (await admin('POST', '/v1/admin/organizations', { name: 'Other' })).json().id;
    const theirs = await action({ name: 'their_orders', url: 'https://93.184.216.34/orders/{{order_id}}' }, o);
    // Another organisation's action is refused, as an unknown one.
    let r = await admin('POST', '/v1/admin/agents', { name: 'Shop', action_ids: [...ids, theirs] });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json().error, 'action_ids: no such action');
    r = await admin('POST', '/v1/admin/agents', { name: 'Shop', action_ids: ids });
    assert.equal(r.status, 201, r.text);
    agentId = r.json().id;
    dw = (await admin('GET', '/v1/admin/widgets')).json().widgets[0];
    r = await admin('PATCH', `/v1/admin/widgets/${dw.widget_id}`, { agent_id: agentId });
    assert.equal(r.status, 200, r.text);
  });
  // The test's own server closed even when stop() throws (a sanitizer
  // report): left listening, it kept the file's process alive.
  after(async () => {
    try {
      if (p) await p.stop();
    } finally {
      for (const res of held.splice(0)) res.end('{}');
      if (api) api.close();
    }
  });

  // One turn of visitor v: when its card comes, change() runs, then the
  // yes is sent. Its frames.
  async function confirmTurn(v, content, change) {
    v.send({ type: 'message', content });
    const frames = [];
    for (;;) {
      const f = await v.next(undefined, 15000);
      frames.push(f);
      if (f.type === 'tool' && f.status === 'confirm') {
        await change();
        v.send({ type: 'confirm', id: f.id, ok: true });
      }
      if (f.type === 'typing_stop') return frames;
    }
  }
  const GONE = 'The tools said: error: not called: this action is no longer available (the owner disabled or deleted it); '
    + 'tell the visitor it cannot be done now';

  // The last model request's messages.
  async function lastRequest() {
    const c = await p.mock.completions();
    return c[c.length - 1].body;
  }

  test('an order looked up: the call shown running then done, its answer read by the model', async () => {
    seen.length = 0;
    const v = await Visitor.open(p, dw.widget_id);
    await v.next('session');
    const { message, tools } = await v.turn(`where is my order? ${call('order_status', { order_id: '4411' })}`);
    assert.deepEqual(tools.map((x) => [x.name, x.status]), [['order_status', 'running'], ['order_status', 'done']]);
    assert.equal(message.content, 'The tools said: {"order_id":"4411","status":"shipped"}');
    assert.deepEqual(seen, [{ method: 'GET', url: '/orders/4411', auth: 'Bearer shop-key' }]);
    const body = await lastRequest();
    const names = body.tools.map((x) => x.function.name).sort();
    assert.deepEqual(names, ['cancel_order', 'huge', 'my_orders', 'order_status', 'slow'],
      'another organisation\'s is not offered');
    const asked = body.messages.find((m) => m.role === 'assistant' && m.tool_calls);
    assert.equal(asked.tool_calls[0].function.name, 'order_status');
    const answered = body.messages.find((m) => m.role === 'tool');
    assert.equal(answered.tool_call_id, asked.tool_calls[0].id);
    assert.ok(!JSON.stringify(body).includes('shop-key'), 'the header\'s value never reaches the model');
    await v.close();
  });

  test('the stream says the tool is running and done before the answer', async () => {
    const session = sid('tools');
    const s = await streamTurn(p, session, `status? ${call('order_status', { order_id: 'A-7' })}`);
    (await checkerFor(p)).checkStream('POST', '/v1/chat/stream', s);
    const tools = s.events.filter((e) => e.type === 'tool');
    // Each line names the model's call, as the widget's frames do.
    const asked = (await lastRequest()).messages.find((m) => m.role === 'assistant' && m.tool_calls);
    const id = asked.tool_calls[0].id;
    assert.ok(id);
    assert.deepEqual(tools, [{ type: 'tool', name: 'order_status', id, status: 'running' },
      { type: 'tool', name: 'order_status', id, status: 'done' }]);
    const done = s.events.find((e) => e.type === 'done');
    assert.equal(done.message, 'The tools said: {"order_id":"A-7","status":"shipped"}');

    // The call is on the record: a step of the thread before the answer.
    const r = await admin('GET', `/v1/admin/conversations/${done.conversationId}`);
    assert.equal(r.status, 200, r.text);
    (await checkerFor(p)).checkJson('GET', `/v1/admin/conversations/${done.conversationId}`, r);
    const msgs = r.json().messages;
    assert.deepEqual(msgs.map((m) => m.role), ['user', 'tool', 'assistant']);
    const step = msgs[1];
    assert.equal(step.name, 'order_status');
    assert.equal(step.arguments, '{"order_id":"A-7"}');
    assert.equal(step.status, 'complete');
    assert.equal(step.content, '{"order_id":"A-7","status":"shipped"}');
    assert.ok(step.duration_ms >= 5 && step.duration_ms < 5000, `duration ${step.duration_ms}`);
    // The next turn's history: the question and the answer, not the step.
    await streamTurn(p, session, 'thanks');
    const roles = (await lastRequest()).messages.map((m) => m.role);
    assert.deepEqual(roles.filter((x) => x !== 'system'), ['user', 'assistant', 'user']);
  });

  // TOOLS_ROUNDS_MAX (4): a model that calls again after every answer is
  // asked, after its fourth round, with no tools offered (no "tools", no
  // "tool_choice": the rounds' calls and answers are still its messages),
  // and answers.
  test('a model that calls again and again: four rounds, then asked without tools', async () => {
    seen.length = 0;
    const before = (await p.mock.completions()).length;
    const session = sid('rounds');
    const s = await streamTurn(p, session, `status? ${call('order_status', { order_id: 'R-4' })} [[mock:rounds=9]]`);
    const done = s.events.find((e) => e.type === 'done');
    const answer = '{"order_id":"R-4","status":"shipped"}';
    assert.equal(done.message, `The tools said: ${Array(4).fill(answer).join('; ')}`);
    assert.equal(s.events.filter((e) => e.type === 'tool' && e.status === 'done').length, 4);
    assert.equal(seen.length, 4, 'the API called four times');
    const asked = (await p.mock.completions()).slice(before);
    assert.equal(asked.length, 5, 'four rounds of calls, then the answer');
    assert.deepEqual(asked.map((c) => [Array.isArray(c.body.tools), c.body.tool_choice ?? null]),
      [[true, null], [true, null], [true, null], [true, null], [false, null]]);
    assert.equal(asked[4].body.messages.filter((m) => m.role === 'tool').length, 4, 'the rounds\' answers still read');
    const msgs = (await admin('GET', `/v1/admin/conversations/${done.conversationId}`)).json().messages;
    assert.deepEqual(msgs.map((m) => m.role), ['user', 'tool', 'tool', 'tool', 'tool', 'assistant']);
  });

  // A server that ignores "tool_choice":"none" (Ollama): before, its
  // calls in the last request were refused ("past its last round") and
  // the turn failed, its text and the actions that ran gone from the
  // history. Offered no tools, it answers.
  test('a server that ignores "tool_choice":"none": the last request offers no tools, the turn completes', async () => {
    seen.length = 0;
    const s = await streamTurn(p, sid('ollama'), `status? ${call('order_status', { order_id: 'O-1' })} [[mock:rounds=9,ignore_none]]`);
    const done = s.events.find((e) => e.type === 'done');
    assert.ok(done, `done: ${JSON.stringify(s.events.filter((e) => e.type !== 'token')).slice(0, 400)}`);
    const answer = '{"order_id":"O-1","status":"shipped"}';
    assert.equal(done.message, `The tools said: ${Array(4).fill(answer).join('; ')}`);
    assert.equal(seen.length, 4);
  });

  // A server that calls even without tools offered: its calls after the
  // last round are dropped and the turn ends complete with what it said
  // (streamed, stored, in the next turn's history), the steps that ran
  // before it on the record. Before, the turn failed, its content the
  // error, and the history dropped the reply and its question.
  test('a model that still calls after its last round: the turn completes with its text so far', async () => {
    seen.length = 0;
    const session = sid('stubborn');
    const s = await streamTurn(p, session,
      `status? ${call('order_status', { order_id: 'S-9' })} [[mock:rounds=9,ignore_none,untooled,say=Checking.]]`);
    const done = s.events.find((e) => e.type === 'done');
    assert.ok(done, `done: ${JSON.stringify(s.events.filter((e) => e.type !== 'token')).slice(0, 400)}`);
    const said = Array(5).fill('Checking.').join('\n\n');
    assert.equal(done.message, said);
    assert.equal(s.tokens.join(''), said,
      'what was streamed is what is stored');
    assert.equal(seen.length, 4, 'four rounds ran; the fifth\'s calls were not made');
    const msgs = (await admin('GET', `/v1/admin/conversations/${done.conversationId}`)).json().messages;
    assert.deepEqual(msgs.map((m) => [m.role, m.status]), [['user', 'complete'], ...Array(4).fill(['tool', 'complete']),
      ['assistant', 'complete']]);
    assert.equal(msgs.at(-1).content, said);
    await streamTurn(p, session, 'thanks');
    const history = (await lastRequest()).messages.filter((m) => m.role !== 'system');
    assert.deepEqual(history.map((m) => m.role), ['user', 'assistant', 'user'], 'the question and its answer kept');
    assert.equal(history[1].content, said);
  });

  test('a stream left while a call runs: the call, made, stored as a failed step before the interrupted reply', async () => {
    const hold = await action({ name: 'hold', url: `http://127.0.0.1:${apiPort}/hold/{{order_id}}`, timeout_ms: 20000 });
    const ids = (await admin('GET', `/v1/admin/agents/${agentId}`)).json().action_ids;
    assert.equal((await admin('PATCH', `/v1/admin/agents/${agentId}`, { action_ids: [...ids, hold] })).status, 200);
    const ac = new AbortController();
    try {
      const res = await fetch(`http://127.0.0.1:${p.port}/v1/chat/stream`, {
        method: 'POST', signal: ac.signal, headers: { 'content-type': 'application/json', 'x-api-key': p.widgetKey },
        body: JSON.stringify({ sessionId: sid('left'), message: `where? ${call('hold', { order_id: 'H-1' })}` }),
      });
      const rd = res.body.getReader();
      let text = '';
      while (!text.includes('"running"')) {
        const { value, done } = await rd.read();
        assert.ok(!done, `the stream ended before the call ran: ${text}`);
        text += new TextDecoder().decode(value);
      }
      await waitFor(() => held.length === 1, 5000, 'the API called');
      ac.abort();
      const conv = JSON.parse(text.split('\n')[0]).conversationId;
      let msgs;
      await waitFor(async () => {
        msgs = (await admin('GET', `/v1/admin/conversations/${conv}`)).json().messages;
        return msgs.length === 3;
      }, 10000, 'the turn stored');
      assert.deepEqual(msgs.map((m) => [m.role, m.status]), [['user', 'complete'], ['tool', 'failed'], ['assistant', 'interrupted']]);
      assert.equal(msgs[1].name, 'hold');
      assert.equal(msgs[1].arguments, '{"order_id":"H-1"}');
      assert.match(msgs[1].content, /^error: no answer: the turn ended/);
    } finally {
      ac.abort();
      for (const res of held.splice(0)) res.end('{}');
      assert.equal((await admin('PATCH', `/v1/admin/agents/${agentId}`, { action_ids: ids })).status, 200);
    }
  });

  // Visitors' turns hold at most an organisation's share of a worker's
  // calls at once (32, tools.c's TURN_CALLS_ORG_MAX): ten turns of four
  // calls to an API that holds its answers make 32 calls; the other 8 are
  // not made, each a failed step whose answer tells the model so.
  test('calls past an organisation\'s share at once are not made: the model is told, the API never reached', async () => {
    const many = await action({ name: 'hold_many', url: `http://127.0.0.1:${apiPort}/hold/{{order_id}}`, timeout_ms: 20000 });
    const ids = (await admin('GET', `/v1/admin/agents/${agentId}`)).json().action_ids;
    assert.equal((await admin('PATCH', `/v1/admin/agents/${agentId}`, { action_ids: [...ids, many] })).status, 200);
    const BUSY = 'error: not called: too many calls of actions are running at once: answer with what you have';
    const four = (t) => [1, 2, 3, 4].map((i) => call('hold_many', { order_id: `${t}-${i}` })).join(' ');
    try {
      const turns = Array.from({ length: 10 }, (_, t) => streamTurn(p, sid(`many${t}`), `all of them ${four(t)}`, { timeout: 30000 }));
      await waitFor(() => held.length === 32, 10000, '32 calls at the API');
      // The two turns left with no slot end by themselves, their calls all refused.
      const done = [];
      turns.forEach((x, t) => x.then(() => done.push(t)));
      await waitFor(() => done.length === 2, 10000, 'the two turns without a slot ended');
      assert.equal(held.length, 32, 'no call past the share reached the API');
      for (const res of held.splice(0)) res.end('{"ok":true}');
      const all = await Promise.all(turns);
      const convs = all.map((x) => x.events[0].conversationId);
      let refused = 0;
      let made = 0;
      for (const conv of convs) {
        const msgs = (await admin('GET', `/v1/admin/conversations/${conv}`)).json().messages.filter((m) => m.role === 'tool');
        assert.equal(msgs.length, 4);
        for (const m of msgs) {
          if (m.content === BUSY) { refused++; assert.equal(m.status, 'failed'); } else { made++; assert.equal(m.status, 'complete', JSON.stringify(m)); }
        }
      }
      assert.deepEqual([made, refused], [32, 8]);
      // The slots given back: a turn's calls are made again.
      const after = streamTurn(p, sid('many-after'), `again ${four('a')}`, { timeout: 30000 });
      await waitFor(() => held.length === 4, 10000, 'the next turn\'s calls made');
      for (const res of held.splice(0)) res.end('{"ok":true}');
      await after;
    } finally {
      for (const res of held.splice(0)) res.end('{}');
      assert.equal((await admin('PATCH', `/v1/admin/agents/${agentId}`, { action_ids: ids })).status, 200);
    }
  });

  test('arguments the schema refuses go back to the model, never to the API', async () => {
    seen.length = 0;
    let s = await streamTurn(p, sid('bad'), `x ${call('order_status', { order_id: 4411 })}`);
    assert.match(s.events.find((e) => e.type === 'done').message, /^The tools said: error: order_id: must be a string/);
    s = await streamTurn(p, sid('bad'), `x ${call('order_status', { order_id: '1', 'visitor.external_id': 'cus_evil' })}`);
    assert.match(s.events.find((e) => e.type === 'done').message, /^The tools said: error: .*is not an argument this tool takes/);
    assert.deepEqual(seen, [], 'the API was never called');
    assert.deepEqual(s.events.filter((e) => e.type === 'tool').map((e) => e.status), ['running', 'failed']);
  });

  // An empty value standing as a whole path segment took the segment
  // away: /orders/{{order_id}} with "" called GET /orders/ (every order,
  // to most APIs) with the action's Authorization header, and the model
  // read the answer.
  test('an empty argument as a whole path segment is refused, never sent', async () => {
    seen.length = 0;
    const s = await streamTurn(p, sid('empty'), `x ${call('order_status', { order_id: '' })}`);
    assert.equal(s.events.find((e) => e.type === 'done').message,
      'The tools said: error: an empty argument as a segment of the URL\'s path');
    assert.deepEqual(s.events.filter((e) => e.type === 'tool').map((e) => e.status), ['running', 'failed']);
    assert.deepEqual(seen, [], 'the API was never called');
  });

  test('an action that needs a verified visitor is refused to an anonymous one; the model\'s id never fills the visitor\'s', async () => {
    seen.length = 0;
    const s = await streamTurn(p, sid('anon'), `mine ${call('my_orders', { order_id: 'cus_evil' })}`);
    assert.match(s.events.find((e) => e.type === 'done').message, /^The tools said: error: this needs a signed-in visitor/);
    assert.deepEqual(seen, []);
  });

  test('a verified visitor\'s own id fills the URL, whatever the model wrote', async () => {
    let r = await admin('POST', '/v1/admin/widgets', { name: 'Signed in', agent_id: agentId });
    assert.equal(r.status, 201, r.text);
    const wid = r.json().widget_id;
    r = await admin('POST', `/v1/admin/widgets/${wid}/identity-secret`);
    const secret = r.json().identity_secret;
    const v = await Visitor.open(p, wid);
    await v.next('session');
    const id = 'cus_42';
    v.send({ type: 'identify', id, hash: crypto.createHmac('sha256', secret).update(id).digest('hex') });
    assert.equal((await v.next('identity')).verified, true);
    seen.length = 0;
    const { message, tools } = await v.turn(`my order 7 ${call('my_orders', { order_id: '7&c=cus_evil' })}`);
    assert.deepEqual(tools.map((x) => x.status), ['running', 'done']);
    assert.deepEqual(seen.map((x) => x.url), ['/orders/7%26c%3Dcus_evil?c=cus_42'],
      'the model\'s text stays in its segment; the visitor\'s id is the verified one');
    assert.match(message.content, /^The tools said: /);
    await v.close();
  });

  test('{{visitor.email}} is filled by an email the page signed, and by no other', async () => {
    const aid = await action({ name: 'orders_by_email', url: `http://127.0.0.1:${apiPort}/orders/{{order_id}}?e={{visitor.email}}` });
    let r = await admin('POST', '/v1/admin/agents', { name: 'Mail', action_ids: [aid] });
    assert.equal(r.status, 201, r.text);
    r = await admin('POST', '/v1/admin/widgets', { name: 'Mail', agent_id: r.json().id });
    assert.equal(r.status, 201, r.text);
    const wid = r.json().widget_id;
    const secret = (await admin('POST', `/v1/admin/widgets/${wid}/identity-secret`)).json().identity_secret;
    const sign = (m) => crypto.createHmac('sha256', secret).update(m).digest('hex');
    const email = 'ada+shop@example.com';
    // The identity's answer, and the URL the action was called at (none: null).
    async function attempt(emailHash) {
      const v = await Visitor.open(p, wid);
      await v.next('session');
      v.send({ type: 'identify', id: 'cus_9', email, hash: sign('cus_9'), ...(emailHash ? { email_hash: emailHash } : {}) });
      const identity = await v.next('identity');
      seen.length = 0;
      const { message } = await v.turn(`by mail ${call('orders_by_email', { order_id: '5' })}`);
      await v.close();
      return { identity, url: seen.length ? seen[0].url : null, message: message.content };
    }
    let a = await attempt(sign(`email:${email}`));
    assert.deepEqual(a.identity, { type: 'identity', verified: true, required: false, email_verified: true });
    assert.equal(a.url, `/orders/5?e=${encodeURIComponent(email)}`);
    // Unsigned: the page's word; the call fails for want of it.
    a = await attempt(null);
    assert.deepEqual(a.identity, { type: 'identity', verified: true, required: false });
    assert.equal(a.url, null);
    assert.match(a.message, /the visitor's email is not known/);
    // The id's kind of signature of the bare email, or another email's: not
    // the email's; nor one not of an HMAC's form (longer than storaged's
    // field, it was "identity_not_checked", the id not verified either).
    for (const h of [sign(email), sign('email:eve@example.com'), 'z'.repeat(70), 'A'.repeat(64)]) {
      a = await attempt(h);
      assert.deepEqual(a.identity, { type: 'identity', verified: true, required: false, email_verified: false });
      assert.equal(a.url, null);
    }
  });

  // An SPA's user B signs in on the socket A verified: B's identify is
  // taken, and the socket's turns no longer carry A's verified email (they
  // did: the second identify was refused, the socket still A's).
  test('{{visitor.email}}: another user\'s identify on a verified socket ends the verified email', async () => {
    const aid = await action({ name: 'mail_orders', url: `http://127.0.0.1:${apiPort}/orders/{{order_id}}?e={{visitor.email}}` });
    let r = await admin('POST', '/v1/admin/agents', { name: 'Mail 2', action_ids: [aid] });
    assert.equal(r.status, 201, r.text);
    r = await admin('POST', '/v1/admin/widgets', { name: 'Mail 2', agent_id: r.json().id });
    assert.equal(r.status, 201, r.text);
    const wid = r.json().widget_id;
    const secret = (await admin('POST', `/v1/admin/widgets/${wid}/identity-secret`)).json().identity_secret;
    const sign = (m) => crypto.createHmac('sha256', secret).update(m).digest('hex');
    const email = 'a.user@example.com';
    const v = await Visitor.open(p, wid);
    await v.next('session');
    v.send({ type: 'identify', id: 'cus_a', email, hash: sign('cus_a'), email_hash: sign(`email:${email}`) });
    assert.equal((await v.next('identity')).email_verified, true);
    seen.length = 0;
    await v.turn(`as A ${call('mail_orders', { order_id: '1' })}`);
    assert.deepEqual(seen.map((x) => x.url), [`/orders/1?e=${encodeURIComponent(email)}`]);
    v.send({ type: 'identify', id: 'cus_b', hash: sign('cus_b') });
    assert.deepEqual(await v.next('identity'), { type: 'identity', verified: false, required: false, taken: true });
    seen.length = 0;
    const { message } = await v.turn(`as B ${call('mail_orders', { order_id: '2' })}`);
    assert.deepEqual(seen, [], 'A\'s email is not B\'s');
    assert.match(message.content, /the visitor's email is not known/);
    await v.close();
  });

  test('a call that changes data waits for the visitor\'s yes: run on yes, told no on no; refused where nobody can be asked', async () => {
    // The frames of one turn up to its typing_stop, answering a confirm
    // with ok.
    async function confirmTurn(v, content, ok) {
      v.send({ type: 'message', content });
      const frames = [];
      for (;;) {
        const f = await v.next(undefined, 15000);
        frames.push(f);
        if (f.type === 'tool' && f.status === 'confirm') v.send({ type: 'confirm', id: f.id, ok });
        if (f.type === 'typing_stop') return frames;
      }
    }
    const v = await Visitor.open(p, dw.widget_id);
    await v.next('session');
    seen.length = 0;
    let frames = await confirmTurn(v, `cancel 4411 ${call('cancel_order', { order_id: '4411' })}`, true);
    const ask = frames.find((f) => f.type === 'tool' && f.status === 'confirm');
    assert.equal(ask.name, 'cancel_order');
    assert.equal(ask.summary, 'Cancels an order\norder_id: 4411');
    assert.ok(frames.indexOf(ask) > frames.findIndex((f) => f.type === 'typing_start'), 'asked once the question is stored');
    assert.deepEqual(seen.map((x) => [x.method, x.url]), [['POST', '/orders/4411/cancel']]);
    assert.match(frames.find((f) => f.type === 'message').content, /^The tools said: \{"order_id":"4411"/);

    seen.length = 0;
    frames = await confirmTurn(v, `cancel 77 ${call('cancel_order', { order_id: '77' })}`, false);
    assert.deepEqual(seen, [], 'no: the API is never called');
    assert.equal(frames.find((f) => f.type === 'message').content, 'The tools said: error: the visitor said no; it was not done');
    assert.deepEqual(frames.filter((f) => f.type === 'tool').map((f) => f.status), ['running', 'confirm', 'failed']);
    // Each step names the call, as the confirmation does: a client knows
    // which card a call's end is for.
    const no = frames.find((f) => f.type === 'tool' && f.status === 'confirm').id;
    assert.ok(no);
    assert.deepEqual(frames.filter((f) => f.type === 'tool').map((f) => f.id), [no, no, no]);

    // An answer no call waits for: an error, nothing run.
    v.send({ type: 'confirm', id: 'call_nope', ok: true });
    assert.equal((await v.next('error')).message, 'confirm: no call waits for it');
    await v.close();

    // The HTTP stream cannot ask: refused, the API never called.
    const s = await streamTurn(p, sid('http'), `cancel ${call('cancel_order', { order_id: '5' })}`);
    assert.match(s.events.find((e) => e.type === 'done').message, /^The tools said: error: this changes data and needs the visitor's confirmation/);
    assert.deepEqual(seen, []);
  });

  // Each call of an action carries an Idempotency-Key, so an API that
  // honours it applies a call once: the same key for the model's retry of
  // a call that got no answer (timed out: it may have been applied), and
  // another for every other call (of the round, of the next round, of the
  // next turn).
  test('each call carries an Idempotency-Key: the same across a retry of a call that got no answer, another for every other call', async () => {
    const retried = await action({ name: 'flaky', method: 'POST', url: `http://127.0.0.1:${apiPort}/flaky/{{order_id}}`,
      body: '{"order":"{{order_id}}"}', timeout_ms: 300 });
    const base = (await admin('GET', `/v1/admin/agents/${agentId}`)).json().action_ids;
    assert.equal((await admin('PATCH', `/v1/admin/agents/${agentId}`, { action_ids: [...base, retried] })).status, 200);
    const KEY = /^[0-9a-f]{32}$/;
    try {
      // Two calls in one round: a key each.
      idem.length = 0;
      const two = `x ${call('order_status', { order_id: 'K-1' })} ${call('order_status', { order_id: 'K-2' })}`;
      await streamTurn(p, sid('idem'), two);
      assert.deepEqual(idem.map((x) => x.url).sort(), ['/orders/K-1', '/orders/K-2']);
      for (const x of idem) assert.match(x.key, KEY);
      assert.notEqual(idem[0].key, idem[1].key);
      // The same question again, the next turn of the conversation: others.
      await streamTurn(p, sid('idem'), two);
      assert.equal(idem.length, 4);
      assert.equal(new Set(idem.map((x) => x.key)).size, 4, 'four calls, four keys');
      // A call answered, made again in the next round: another call, another key.
      idem.length = 0;
      await streamTurn(p, sid('idem'), `x ${call('order_status', { order_id: 'K-3' })} [[mock:rounds=2]]`);
      assert.deepEqual(idem.map((x) => x.url), ['/orders/K-3', '/orders/K-3']);
      assert.notEqual(idem[0].key, idem[1].key);
      // A call that timed out, made again by the model with the same
      // arguments: a retry, with the same key; once it was answered, the
      // next is a new call.
      idem.length = 0;
      const s = await streamTurn(p, sid('idem'), `x ${call('flaky', { order_id: 'F-1' })} [[mock:rounds=3]]`);
      assert.match(s.events.find((e) => e.type === 'done').message, /^The tools said: error: timed out after 300 ms; \{"ok":true\}; \{"ok":true\}$/);
      assert.deepEqual(idem.map((x) => x.url), ['/flaky/F-1', '/flaky/F-1', '/flaky/F-1']);
      for (const x of idem) assert.match(x.key, KEY);
      assert.equal(idem[1].key, idem[0].key, 'the retry: the same key');
      assert.notEqual(idem[2].key, idem[1].key, 'after its answer: a new call');
      // After a timeout, other arguments: another call, another key.
      idem.length = 0;
      await streamTurn(p, sid('idem'), `x ${call('flaky', { order_id: 'F-2' })} ${call('flaky', { order_id: 'F-3' })} [[mock:rounds=2]]`);
      assert.equal(idem.length, 4);
      const byUrl = (u) => idem.filter((x) => x.url === u).map((x) => x.key);
      assert.equal(byUrl('/flaky/F-2')[0], byUrl('/flaky/F-2')[1]);
      assert.equal(byUrl('/flaky/F-3')[0], byUrl('/flaky/F-3')[1]);
      assert.notEqual(byUrl('/flaky/F-2')[0], byUrl('/flaky/F-3')[0]);
      // A call that changes data, confirmed in the widget: its key too.
      idem.length = 0;
      const v = await Visitor.open(p, dw.widget_id);
      await v.next('session');
      v.send({ type: 'message', content: `cancel ${call('cancel_order', { order_id: 'K-9' })}` });
      for (;;) {
        const f = await v.next(undefined, 15000);
        if (f.type === 'tool' && f.status === 'confirm') v.send({ type: 'confirm', id: f.id, ok: true });
        if (f.type === 'typing_stop') break;
      }
      await v.close();
      assert.deepEqual(idem.map((x) => x.url), ['/orders/K-9/cancel']);
      assert.match(idem[0].key, KEY);
    } finally {
      assert.equal((await admin('PATCH', `/v1/admin/agents/${agentId}`, { action_ids: base })).status, 200);
      // The mock keeps its last 100 requests: later tests count theirs from
      // the list's length, which these many turns would hold at its bound.
      await p.mock.clearRequests();
    }
  });

  // The turn reads its actions as it begins; one the owner disables or
  // deletes while the turn runs (here while its card waits for the
  // visitor's yes) is checked right before the call and not made.
  test('an action disabled or deleted mid-turn is not called: the model is told it is no longer available', async () => {
    const refund = await action({ name: 'refund', method: 'POST', url: `http://127.0.0.1:${apiPort}/orders/{{order_id}}/refund`,
      changes_data: true, description: 'Refunds an order' });
    const base = (await admin('GET', `/v1/admin/agents/${agentId}`)).json().action_ids;
    assert.equal((await admin('PATCH', `/v1/admin/agents/${agentId}`, { action_ids: [...base, refund] })).status, 200);
    const v = await Visitor.open(p, dw.widget_id);
    try {
      await v.next('session');
      const turn = (content, change) => confirmTurn(v, content, change);
      seen.length = 0;
      let frames = await turn(`refund ${call('refund', { order_id: '31' })}`, async () => {
        assert.equal((await admin('PATCH', `/v1/admin/actions/${refund}`, { enabled: false })).status, 200);
      });
      assert.deepEqual(seen, [], 'disabled: the API is never called');
      assert.equal(frames.find((f) => f.type === 'message').content, GONE);
      assert.deepEqual(frames.filter((f) => f.type === 'tool').map((f) => f.status), ['running', 'confirm', 'failed']);
      // Stored as a failed step.
      const conv = (await admin('GET', '/v1/admin/conversations?limit=1')).json().conversations[0];
      const msgs = (await admin('GET', `/v1/admin/conversations/${conv._id}`)).json().messages;
      const step = msgs.filter((m) => m.role === 'tool').at(-1);
      assert.deepEqual([step.name, step.status], ['refund', 'failed']);

      // Enabled again before the turn: called as ever (the check passes).
      assert.equal((await admin('PATCH', `/v1/admin/actions/${refund}`, { enabled: true })).status, 200);
      frames = await turn(`refund ${call('refund', { order_id: '32' })}`, async () => {});
      assert.deepEqual(seen.map((x) => [x.method, x.url]), [['POST', '/orders/32/refund']]);
      assert.match(frames.find((f) => f.type === 'message').content, /^The tools said: \{"order_id":"32"/);

      // Deleted while its card waits: not called either.
      seen.length = 0;
      frames = await turn(`refund ${call('refund', { order_id: '33' })}`, async () => {
        assert.equal((await admin('DELETE', `/v1/admin/actions/${refund}`)).status, 200);
      });
      assert.deepEqual(seen, [], 'deleted: the API is never called');
      assert.equal(frames.find((f) => f.type === 'message').content, GONE);
    } finally {
      await v.close();
      assert.equal((await admin('PATCH', `/v1/admin/agents/${agentId}`, { action_ids: base })).status, 200);
    }
  });

  // The call was made with the turn's copy of the action, read as it
  // began: a URL or headers changed since went to the old place with the
  // old key, and an action taken off the agent was called all the same.
  test('an action changed mid-turn is called as it is now; one taken off the agent is not called', async () => {
    const reorder = await action({ name: 'reorder', method: 'POST', url: `http://127.0.0.1:${apiPort}/orders/{{order_id}}/reorder`,
      headers: { Authorization: 'Bearer old-key' }, changes_data: true, description: 'Orders again' });
    const base = (await admin('GET', `/v1/admin/agents/${agentId}`)).json().action_ids;
    assert.equal((await admin('PATCH', `/v1/admin/agents/${agentId}`, { action_ids: [...base, reorder] })).status, 200);
    const v = await Visitor.open(p, dw.widget_id);
    try {
      await v.next('session');
      seen.length = 0;
      let frames = await confirmTurn(v, `again ${call('reorder', { order_id: '41' })}`, async () => {
        const r = await admin('PATCH', `/v1/admin/actions/${reorder}`, {
          url: `http://127.0.0.1:${apiPort}/orders/{{order_id}}/again`, headers: { Authorization: 'Bearer new-key' } });
        assert.equal(r.status, 200, r.text);
      });
      assert.deepEqual(seen, [{ method: 'POST', url: '/orders/41/again', auth: 'Bearer new-key' }],
        'the new URL and header, not the turn\'s copy');
      assert.match(frames.find((f) => f.type === 'message').content, /^The tools said: \{"order_id":"41"/);
      assert.ok(!JSON.stringify(frames).includes('-key'), 'no header value reaches the browser');
      assert.ok(!JSON.stringify(await lastRequest()).includes('-key'), 'nor the model');

      // Made to need a verified visitor while its card waits: this
      // anonymous one is refused, as at the call's start.
      seen.length = 0;
      frames = await confirmTurn(v, `again ${call('reorder', { order_id: '43' })}`, async () => {
        assert.equal((await admin('PATCH', `/v1/admin/actions/${reorder}`, { requires_verified: true })).status, 200);
      });
      assert.deepEqual(seen, [], 'now needing a verified visitor: the API is never called');
      assert.match(frames.find((f) => f.type === 'message').content, /^The tools said: error: this needs a signed-in visitor/);
      assert.equal((await admin('PATCH', `/v1/admin/actions/${reorder}`, { requires_verified: false })).status, 200);

      // Taken off the agent while its card waits: refused as a disabled one.
      seen.length = 0;
      frames = await confirmTurn(v, `again ${call('reorder', { order_id: '42' })}`, async () => {
        assert.equal((await admin('PATCH', `/v1/admin/agents/${agentId}`, { action_ids: base })).status, 200);
      });
      assert.deepEqual(seen, [], 'off the agent: the API is never called');
      assert.equal(frames.find((f) => f.type === 'message').content, GONE);
      assert.deepEqual(frames.filter((f) => f.type === 'tool').map((f) => f.status), ['running', 'confirm', 'failed']);
    } finally {
      await v.close();
      assert.equal((await admin('PATCH', `/v1/admin/agents/${agentId}`, { action_ids: base })).status, 200);
      assert.equal((await admin('DELETE', `/v1/admin/actions/${reorder}`)).status, 200);
    }
  });

  // Its first round's call held by the API while the owner makes it
  // change data: the second round's call, which no visitor confirmed (the
  // turn's copy did not change data), is not made.
  test('an action made to change data mid-turn is not called unconfirmed', async () => {
    const again = await action({ name: 'hold_again', url: `http://127.0.0.1:${apiPort}/hold/{{order_id}}`, timeout_ms: 20000 });
    const base = (await admin('GET', `/v1/admin/agents/${agentId}`)).json().action_ids;
    assert.equal((await admin('PATCH', `/v1/admin/agents/${agentId}`, { action_ids: [...base, again] })).status, 200);
    const v = await Visitor.open(p, dw.widget_id);
    try {
      await v.next('session');
      held.length = 0;
      const turn = v.turn(`again ${call('hold_again', { order_id: 'A-1' })} [[mock:rounds=2]]`);
      await waitFor(() => held.length === 1, 5000, 'the first round\'s call at the API');
      assert.equal((await admin('PATCH', `/v1/admin/actions/${again}`, { changes_data: true })).status, 200);
      held.shift().end('{"ok":true}');
      const { message, tools } = await turn;
      assert.equal(held.length, 0, 'the second round\'s call never reached the API');
      assert.equal(message.content, 'The tools said: {"ok":true}; error: not called: the owner changed this action while you '
        + 'called it: it now changes data and needs the visitor\'s confirmation; call it again');
      assert.deepEqual(tools.map((x) => x.status), ['running', 'done', 'running', 'failed']);
    } finally {
      await v.close();
      for (const res of held.splice(0)) res.end('{}');
      assert.equal((await admin('PATCH', `/v1/admin/agents/${agentId}`, { action_ids: base })).status, 200);
      assert.equal((await admin('DELETE', `/v1/admin/actions/${again}`)).status, 200);
    }
  });

  test('the page\'s own tools: offered, called in the page, their answer read by the model', async () => {
    const v = await Visitor.open(p, dw.widget_id);
    await v.next('session');
    v.send({ type: 'tools', tools: [{ name: 'bad name', description: 'x', parameters: { type: 'object' } }] });
    assert.match((await v.next('error')).message, /^tools: each needs a name/);
    v.send({ type: 'tools', tools: [{ name: 'cart_total', description: 'What the visitor\'s cart holds',
      parameters: { type: 'object', properties: { currency: { type: 'string' } } } }] });
    let frames = await v.pageTurn(`my cart? ${call('cart_total', { currency: 'EUR' })}`,
      (f) => ({ result: `3 items, 42 ${f.arguments.currency}` }));
    const asked = frames.find((f) => f.type === 'tool' && f.status === 'page');
    assert.deepEqual(asked.arguments, { currency: 'EUR' });
    assert.equal(asked.name, 'cart_total');
    assert.equal(frames.find((f) => f.type === 'message').content, 'The tools said: 3 items, 42 EUR');
    assert.ok((await lastRequest()).tools.some((x) => x.function.name === 'cart_total'), 'offered beside the actions');
    frames = await v.pageTurn(`again ${call('cart_total', {})}`, () => ({ error: 'not signed in' }));
    assert.equal(frames.find((f) => f.type === 'message').content, 'The tools said: error: not signed in');
    frames = await v.pageTurn(`bad ${call('cart_total', { currency: 7 })}`, () => ({ result: 'never' }));
    assert.ok(!frames.some((f) => f.status === 'page'), 'refused arguments never reach the page');
    assert.equal(frames.find((f) => f.type === 'message').content, 'The tools said: error: currency: must be a string');
    v.send({ type: 'tool_result', id: 'call_nope', result: 'x' });
    assert.equal((await v.next('error')).message, 'tool_result: no call waits for it');

    // Tools over 16 KiB as JSON (a control character is 6 bytes there):
    // refused, and nothing of them kept (ASan's leak check at the stop).
    const big = Array.from({ length: 8 }, (_, i) => ({ name: `t${i}`, description: '\u0001'.repeat(1000),
      parameters: { type: 'object' } }));
    for (let i = 0; i < 3; i++) {
      v.send({ type: 'tools', tools: big });
      assert.equal((await v.next('error')).message, 'tools: at most 16384 bytes as JSON');
    }

    // A page tool named like one of the agent's actions is not offered:
    // a call of that name is the action's (its confirmation asked, its
    // API called), never the page's, whose answer would be stored as the
    // action's.
    v.send({ type: 'tools', tools: [{ name: 'cancel_order', description: 'The page cancels', parameters: { type: 'object' } },
      { name: 'cart_total', description: 'What the visitor\'s cart holds', parameters: { type: 'object' } }] });
    seen.length = 0;
    v.send({ type: 'message', content: `cancel 9 ${call('cancel_order', { order_id: '9' })}` });
    frames = [];
    for (;;) {
      const f = await v.next(undefined, 15000);
      frames.push(f);
      if (f.type === 'tool' && f.status === 'confirm') v.send({ type: 'confirm', id: f.id, ok: true });
      if (f.type === 'typing_stop') break;
    }
    assert.ok(!frames.some((f) => f.status === 'page'), 'never handed to the page');
    assert.deepEqual(frames.filter((f) => f.type === 'tool').map((f) => f.status), ['running', 'confirm', 'done']);
    assert.deepEqual(seen.map((x) => [x.method, x.url]), [['POST', '/orders/9/cancel']]);
    const offered = (await lastRequest()).tools.map((x) => x.function);
    assert.deepEqual(offered.filter((x) => x.name === 'cancel_order').map((x) => x.description), ['Cancels an order']);
    assert.ok(offered.some((x) => x.name === 'cart_total'), 'the page\'s other tool still offered');
    await v.close();
  });

  test('a slow answer is cut at its timeout, a huge one at max_response_bytes (and read no further)', async () => {
    let s = await streamTurn(p, sid('slow'), `x ${call('slow', { order_id: '1' })}`);
    assert.match(s.events.find((e) => e.type === 'done').message, /^The tools said: error: .*(timed out|time)/);
    s = await streamTurn(p, sid('huge'), `x ${call('huge', { order_id: '1' })}`);
    const m = s.events.find((e) => e.type === 'done').message;
    assert.equal(m, `The tools said: ${'x'.repeat(1000)}\n[the answer was longer: this is its beginning]`);
    // The transfer stopped at the bound: not read, nor inflated, to its end
    // (1 GiB on the worker's loop, every other turn on it waiting).
    await waitFor(() => huge.closed, 10000, 'the API\'s answer let go');
    assert.ok(huge.fed < 64 << 20, `${huge.fed >> 20} MiB made before the worker let go`);
  });

  test('a turn reads 2 MiB of answers in all: the next call is cut to what is left, then not made', async () => {
    // An owner's max_response_bytes of 2 MiB, a model calling it in each of
    // four rounds: before, each read 2 MiB (8 calls a round: 64 MiB a turn).
    const big = await action({ name: 'big', url: `http://127.0.0.1:${apiPort}/big/{{order_id}}`, max_response_bytes: 2097152 });
    const ids = (await admin('GET', `/v1/admin/agents/${agentId}`)).json().action_ids;
    assert.equal((await admin('PATCH', `/v1/admin/agents/${agentId}`, { action_ids: [...ids, big] })).status, 200);
    try {
      seen.length = 0;
      const before = (await p.mock.completions()).length;
      const s = await streamTurn(p, sid('big'), `x ${call('big', { order_id: 'B-1' })} [[mock:rounds=4]]`);
      const done = s.events.find((e) => e.type === 'done');
      assert.ok(done, `the turn done: ${JSON.stringify(s.events.filter((e) => e.type !== 'token')).slice(0, 600)}`);
      // What each round added to the model's request (bodies this big are
      // not kept whole by the mock: their sizes are): the first answer
      // whole, the second cut to the 512 KiB left, then no more.
      const sizes = (await p.mock.completions()).slice(before).map((c) => c.body_bytes);
      assert.equal(sizes.length, 5, 'four rounds of calls, then the answer');
      const added = sizes.slice(1).map((n, i) => n - sizes[i]);
      const near = (n, want) => n >= want && n < want + 1024;
      assert.ok(near(added[0], 1536 << 10) && near(added[1], 512 << 10) && added[2] < 1024 && added[3] < 1024,
        `bytes each round added: ${added}`);
      const msgs = (await admin('GET', `/v1/admin/conversations/${done.conversationId}`)).json().messages.filter((m) => m.role === 'tool');
      assert.deepEqual(msgs.map((m) => m.status), ['complete', 'complete', 'failed', 'failed']);
      for (const m of msgs.slice(2)) assert.match(m.content, /^error: not called: this turn has read all the answers from actions it may \(2 MiB\)/);
      assert.equal(seen.filter((x) => x.url.startsWith('/big/')).length, 2, 'the API called twice');
    } finally {
      assert.equal((await admin('PATCH', `/v1/admin/agents/${agentId}`, { action_ids: ids })).status, 200);
    }
  });

  test('/metrics counts the calls by outcome, and times those that reached the API', async () => {
    const count = (text, re) => Number((re.exec(text) || [])[1] || 0);
    let text = '';
    await waitFor(async () => {
      text = (await p.request('GET', '/metrics', { headers: { 'x-admin-api-key': p.adminKey } })).text;
      return count(text, /^parley_tool_calls_total\{outcome="done"\} (\d+)$/m) >= 4 &&
        count(text, /^parley_tool_calls_total\{outcome="failed"\} (\d+)$/m) >= 4;
    }, 5000, 'the calls counted');
    assert.ok(count(text, /^parley_tool_call_seconds_count (\d+)$/m) >= 5, text.split('\n').filter((l) => l.includes('tool')).join('\n'));
  });

  test('the model hands the conversation to a person by itself, where the widget has one', async () => {
    let r = await admin('POST', '/v1/admin/agents', { name: 'Helper', handoff_tool: true });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json().handoff_tool, true);
    const helper = r.json().id;
    r = await admin('POST', '/v1/admin/widgets', { name: 'With people', agent_id: helper, handoff_enabled: true });
    assert.equal(r.status, 201, r.text);
    const v = await Visitor.open(p, r.json().widget_id);
    await v.next('session');
    await v.availability();
    const { message, tools, handoffs } = await v.turn(
      `I need a refund, a person please ${call('transfer_to_human', { reason: 'refund' })}`);
    assert.deepEqual(tools.map((x) => [x.name, x.status]),
      [['transfer_to_human', 'running'], ['transfer_to_human', 'done']]);
    assert.match(message.content, /^The tools said: The conversation is handed to a person/);
    if (handoffs.length === 0) handoffs.push(await v.next('handoff'));
    assert.equal(handoffs[0].state, 'waiting_human');
    const names = (await lastRequest()).tools.map((x) => x.function.name);
    assert.deepEqual(names, ['transfer_to_human'], 'offered, with no action');
    // The conversation says the assistant put it in the queue.
    r = await admin('GET', '/v1/admin/conversations?handoff=open');
    assert.equal(r.status, 200, r.text);
    const asked = r.json().conversations.filter((c) => c.lastVisitorMessage.startsWith('I need a refund'));
    assert.deepEqual(asked.map((c) => c.waiting_by), ['assistant']);
    await v.close();

    // A widget without a person: not offered; a call of it anyway runs
    // nothing (the turn had no tools: its answer is the blank reply's).
    r = await admin('POST', '/v1/admin/widgets', { name: 'No people', agent_id: helper });
    const v2 = await Visitor.open(p, r.json().widget_id);
    await v2.next('session');
    const t2 = await v2.turn(`a person? ${call('transfer_to_human', {})} [[mock:untooled]]`);
    assert.equal((await lastRequest()).tools, undefined, 'no tool offered');
    assert.deepEqual(t2.tools, []);
    assert.deepEqual(t2.handoffs, []);
    assert.doesNotMatch(t2.message.content, /tools said/);
    await v2.close();
  });

  test('the model asks for the visitor\'s contact details: the widget\'s form shown, saved or skipped, never asked again', async () => {
    // The frames of one turn up to its typing_stop, answer(f) called on
    // each tool frame of status contact.
    async function formTurn(v, content, answer) {
      v.send({ type: 'message', content });
      const frames = [];
      for (;;) {
        const f = await v.next(undefined, 15000);
        frames.push(f);
        if (f.type === 'tool' && f.status === 'contact') answer(f);
        if (f.type === 'typing_stop') return frames;
      }
    }
    const statuses = (frames) => frames.filter((f) => f.type === 'tool').map((f) => [f.name, f.status]);
    const reply = (frames) => frames.find((f) => f.type === 'message').content;
    let r = await admin('POST', '/v1/admin/agents', { name: 'Follow-up', contact_form_tool: true });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json().contact_form_tool, true);
    const agent = r.json().id;
    r = await admin('POST', '/v1/admin/widgets', { name: 'Asks', agent_id: agent, contact_info_mode: 'optional',
      collect_name: true, collect_email: true });
    assert.equal(r.status, 201, r.text);
    const wid = r.json().widget_id;
    const ask = `a quote please ${call('collect_contact', { reason: 'So the team can email you the quote.' })}`;

    const v = await Visitor.open(p, wid);
    await v.next('session');
    let frames = await formTurn(v, ask, () => v.send({ type: 'contact_info', name: 'Ann', email: 'Ann@Example.com' }));
    const form = frames.find((f) => f.type === 'tool' && f.status === 'contact');
    assert.equal(form.summary, 'So the team can email you the quote.');
    assert.ok(form.id, 'the call\'s id');
    assert.deepEqual(statuses(frames), [['collect_contact', 'running'], ['collect_contact', 'contact'], ['collect_contact', 'done']]);
    assert.ok(frames.findIndex((f) => f.type === 'contact_info_saved') < frames.findIndex((f) => f.type === 'message'));
    assert.equal(reply(frames), 'The tools said: The visitor\'s contact details were saved: the team can reach them now. Thank them.');
    assert.deepEqual((await lastRequest()).tools.map((x) => x.function.name), ['collect_contact']);
    const contacts = (await admin('GET', '/v1/admin/contacts')).json().contacts;
    assert.ok(contacts.some((c) => c.email === 'ann@example.com' && c.name === 'Ann'), JSON.stringify(contacts));

    // The same visitor again: their details are on file, so not offered.
    frames = await formTurn(v, ask, () => assert.fail('asked twice'));
    assert.equal((await lastRequest()).tools, undefined, 'not offered once left');
    assert.deepEqual(statuses(frames), []);
    await v.close();

    // Another visitor skips it: the model hears so, nothing is stored.
    const v2 = await Visitor.open(p, wid);
    await v2.next('session');
    frames = await formTurn(v2, ask, (f) => v2.send({ type: 'confirm', id: f.id, ok: false }));
    assert.equal(reply(frames), 'The tools said: The visitor chose not to leave their contact details; go on without them.');
    assert.deepEqual(statuses(frames), [['collect_contact', 'running'], ['collect_contact', 'contact'], ['collect_contact', 'done']]);
    // A yes to a form is no answer: the error, as for any unknown call.
    v2.send({ type: 'confirm', id: 'call_nope', ok: false });
    assert.equal((await v2.next('error')).message, 'confirm: no call waits for it');
    await v2.close();
    assert.equal((await admin('GET', '/v1/admin/contacts')).json().contacts.length, contacts.length, 'a skip stores nothing');

    // A widget that collects nothing: not offered.
    r = await admin('POST', '/v1/admin/widgets', { name: 'Asks nothing', agent_id: agent });
    const v3 = await Visitor.open(p, r.json().widget_id);
    await v3.next('session');
    frames = await formTurn(v3, ask, () => assert.fail('no form to show'));
    assert.equal((await lastRequest()).tools, undefined);
    await v3.close();
  });

  test('the model searches the knowledge base again with a query of its own; the passages it finds are cited', async () => {
    let r = await admin('POST', '/v1/admin/knowledge/sources', { type: 'qa', question: 'How long is the kettle warranty?',
      answer: 'The warranty lasts two years from purchase.' });
    assert.equal(r.status, 201, r.text);
    const src = r.json().id;
    r = await admin('POST', '/v1/admin/agents', { name: 'Searcher', knowledge_source_ids: [src], knowledge_search_tool: true });
    assert.equal(r.status, 201, r.text);
    r = await admin('POST', '/v1/admin/widgets', { name: 'Searching', agent_id: r.json().id });
    const v = await Visitor.open(p, r.json().widget_id);
    await v.next('session');
    const { message, tools } = await v.turn(`hello there ${call('search_knowledge', { query: 'kettle warranty' })}`);
    assert.deepEqual(tools.map((x) => [x.name, x.status]), [['search_knowledge', 'running'], ['search_knowledge', 'done']]);
    assert.equal(message.content, 'The tools said: [1] How long is the kettle warranty?\nThe warranty lasts two years from purchase.');
    assert.deepEqual(message.sources.map((s) => [s.n, s.source_id]), [[1, src]], 'cited as the prompt\'s passages are');
    assert.ok((await lastRequest()).tools.some((x) => x.function.name === 'search_knowledge'));
    // A passage the prompt has already: the search gives it its number again, no second one.
    const again = await v.turn(`How long is the kettle warranty? ${call('search_knowledge', { query: 'kettle warranty' })}`);
    assert.equal(again.message.content, 'The tools said: [1] How long is the kettle warranty?\nThe warranty lasts two years from purchase.');
    assert.deepEqual(again.message.sources.map((s) => [s.n, s.source_id]), [[1, src]], 'cited once');
    await v.close();
  });

  // The confirmation shows what will be sent: an argument's value cannot
  // make lines of its own (a fake "amount: 5") nor push the real one out of
  // sight, nor can a name the model chose (additionalProperties); arguments
  // too long to show whole are not asked about, not run.
  test('the confirmation shows every argument on its own line; one too long to show is not asked', async () => {
    const money = { type: 'object', properties: { note: { type: 'string', maxLength: 2000 }, amount: { type: 'number' } },
      required: ['amount'] };
    const many = { type: 'object', properties: Object.fromEntries('abcdef'.split('').map((k) => [k, { type: 'string' }])) };
    const open = { type: 'object', properties: { order_id: { type: 'string' } }, required: ['order_id'], additionalProperties: true };
    const ids = [
      await action({ name: 'transfer', method: 'POST', url: `http://127.0.0.1:${apiPort}/transfer/{{amount}}`,
        changes_data: true, description: 'Sends money', parameters: money }),
      await action({ name: 'many', method: 'POST', url: `http://127.0.0.1:${apiPort}/many/{{a}}`,
        changes_data: true, description: 'Takes many', parameters: many }),
      await action({ name: 'cancel_any', method: 'POST', url: `http://127.0.0.1:${apiPort}/cancel/{{order_id}}`,
        changes_data: true, description: 'Cancels an order', parameters: open }),
    ];
    let r = await admin('POST', '/v1/admin/agents', { name: 'Bank', action_ids: ids });
    assert.equal(r.status, 201, r.text);
    r = await admin('POST', '/v1/admin/widgets', { name: 'Bank', agent_id: r.json().id });
    assert.equal(r.status, 201, r.text);
    const v = await Visitor.open(p, r.json().widget_id);
    await v.next('session');
    // One turn's frames up to its typing_stop, each confirm answered no.
    async function turnFrames(content) {
      v.send({ type: 'message', content });
      const frames = [];
      for (;;) {
        const f = await v.next(undefined, 15000);
        frames.push(f);
        if (f.type === 'tool' && f.status === 'confirm') v.send({ type: 'confirm', id: f.id, ok: false });
        if (f.type === 'typing_stop') return frames;
      }
    }
    seen.length = 0;
    const note = `refund\namount: 5\u2028\r\n${' '.repeat(1100)}`;
    let frames = await turnFrames(`pay ${call('transfer', { note, amount: 5000 })}`);
    const ask = frames.find((f) => f.type === 'tool' && f.status === 'confirm');
    assert.equal(ask.summary, 'Sends money\nnote: refund amount: 5\namount: 5000');
    // Unicode's wide white space (em, ideographic, no-break spaces) in a
    // run is one space too: kept, the card (pre-wrap) showed it as wide
    // as it is and "amount: 5" wrapped onto a line of its own.
    const wide = `refund${'\u2003'.repeat(30)}\u3000\u00a0\u202f\u205f\u1680amount: 5`;
    frames = await turnFrames(`pay ${call('transfer', { note: wide, amount: 5000 })}`);
    assert.equal(frames.find((f) => f.type === 'tool' && f.status === 'confirm').summary,
      'Sends money\nnote: refund amount: 5\namount: 5000');
    // A long value: cut, and said to be: "…" and its whole length, so
    // the visitor knows more is sent than the card shows.
    frames = await turnFrames(`pay ${call('transfer', { note: 'x'.repeat(500), amount: 7 })}`);
    assert.equal(frames.find((f) => f.type === 'tool' && f.status === 'confirm').summary,
      `Sends money\nnote: ${'x'.repeat(200)}\u2026 (500 characters in all)\namount: 7`);
    // Cut between characters, never inside one: 2-byte é (100 fit in
    // 200 bytes), a 3-byte € after one byte (66 fit: 199 bytes).
    frames = await turnFrames(`pay ${call('transfer', { note: '\u00e9'.repeat(150), amount: 7 })}`);
    assert.equal(frames.find((f) => f.type === 'tool' && f.status === 'confirm').summary,
      `Sends money\nnote: ${'\u00e9'.repeat(100)}\u2026 (150 characters in all)\namount: 7`);
    frames = await turnFrames(`pay ${call('transfer', { note: `a${'\u20ac'.repeat(80)}`, amount: 7 })}`);
    assert.equal(frames.find((f) => f.type === 'tool' && f.status === 'confirm').summary,
      `Sends money\nnote: a${'\u20ac'.repeat(66)}\u2026 (81 characters in all)\namount: 7`);
    // A value the card shows whole says nothing more.
    frames = await turnFrames(`pay ${call('transfer', { note: 'y'.repeat(200), amount: 7 })}`);
    assert.equal(frames.find((f) => f.type === 'tool' && f.status === 'confirm').summary,
      `Sends money\nnote: ${'y'.repeat(200)}\namount: 7`);
    // Six values of 200 bytes: more than can be shown whole, so not asked, not run.
    const args = Object.fromEntries('abcdef'.split('').map((k) => [k, k.repeat(200)]));
    frames = await turnFrames(`take ${call('many', args)}`);
    assert.equal(frames.find((f) => f.type === 'tool' && f.status === 'confirm'), undefined);
    assert.match(frames.find((f) => f.type === 'message').content, /^The tools said: error: the visitor could not be asked to confirm/);
    assert.deepEqual(seen, [], 'no call was run');
    // A name of the model's with a line, a colon and a direction override in it: one word.
    frames = await turnFrames(`cancel ${call('cancel_any', { 'Nothing will be cancelled\norder_id: 1234\u202e': '', order_id: '4411' })}`);
    assert.equal(frames.find((f) => f.type === 'tool' && f.status === 'confirm').summary,
      'Cancels an order\nNothing_will_be_cancelled_order_id__1234_: \norder_id: 4411');
    frames = await turnFrames(`cancel ${call('cancel_any', { 'all\u2003orders\u00a0:': '', order_id: '4413' })}`);
    assert.equal(frames.find((f) => f.type === 'tool' && f.status === 'confirm').summary,
      'Cancels an order\nall_orders__: \norder_id: 4413');
    // A long one: cut, and said to be.
    frames = await turnFrames(`cancel ${call('cancel_any', { ['n'.repeat(100)]: 'x', order_id: '4412' })}`);
    assert.equal(frames.find((f) => f.type === 'tool' && f.status === 'confirm').summary,
      `Cancels an order\n${'n'.repeat(64)}\u2026: x\norder_id: 4412`);
    assert.deepEqual(seen, [], 'no call was run');
    await v.close();
  });

  test('another organisation\'s action is never callable', async () => {
    seen.length = 0;
    const s = await streamTurn(p, sid('other'), `x ${call('their_orders', { order_id: '1' })}`);
    assert.equal(s.events.find((e) => e.type === 'done').message, 'The tools said: error: there is no tool named their_orders');
    assert.deepEqual(seen, []);
  });
});
