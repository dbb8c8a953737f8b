// A model server that is odd but legal, byte by byte: a raw net server on
// loopback (not the mock) that picks its behaviour from the visitor's
// words. Each test says the quirk it serves and what the turn must make
// of it: what the visitor is shown, what is stored, what the model is
// asked next.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';

import { sid, streamTurn, waitStored } from './lib/chat.mjs';
import { Parley } from './lib/harness.mjs';

const IDLE_MS = 8000;
const REPLY_MS = 6000;	// above any of this file's answers, under load too
const sockets = new Set();
const requests = [];
let hung = null;	// the socket of the answer left open after [DONE]

function ev(obj) { return `data: ${JSON.stringify(obj)}\n\n`; }
function chunk(delta) {
  return { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm',
    choices: [{ index: 0, delta, finish_reason: null }] };
}
function fin(reason = 'stop') {
  return { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm',
    choices: [{ index: 0, delta: {}, finish_reason: reason }] };
}
function lastUser(body) {
  const m = body.messages.filter((x) => x.role === 'user').at(-1);
  return typeof m.content === 'string' ? m.content : m.content[0].text;
}

// One answer on c, chunked, its events as the visitor's words ask.
function serve(c, body) {
  const text = lastUser(body);
  const rewrite = /search query for the knowledge base/.test(body.messages[0].content);
  const w = (s) => { const b = Buffer.from(s); c.write(`${b.length.toString(16)}\r\n`); c.write(b); c.write('\r\n'); };
  const end = () => c.write('0\r\n\r\n');
  if (text.includes('plainerr')) {
    const b = '<html>Too many requests</html>';
    c.write(`HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/html\r\nContent-Length: ${b.length}\r\n\r\n${b}`);
    return;
  }
  c.write('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n');
  if (text.includes('usagefollow')) {
    // The follow-up's rewrite, then the answer: each with its usage.
    w(ev(chunk({ content: rewrite ? 'kettle warranty' : 'two years' })));
    w(ev(fin()));
    w(ev({ id: 'c1', object: 'chat.completion.chunk', choices: [],
      usage: rewrite ? { prompt_tokens: 100, completion_tokens: 7 } : { prompt_tokens: 1000, completion_tokens: 70 } }));
    w('data: [DONE]\n\n');
    end();
    return;
  }
  if (body.messages.at(-1).role === 'tool') {
    w(ev(chunk({ content: 'tools answered' })));
    w(ev(fin()));
    w('data: [DONE]\n\n');
    end();
    return;
  }
  if (text.includes('emptytools')) {
    w(ev(chunk({ content: 'plain ', tool_calls: [] })));
    w(ev(chunk({ content: 'answer', tool_calls: [] })));
    w(ev(fin()));
    w('data: [DONE]\n\n');
    end();
    return;
  }
  if (text.includes('donehang')) {
    w(ev(chunk({ content: 'all done' })));
    w(ev(fin()));
    w('data: [DONE]\n\n');
    hung = c;	// no last chunk: the body left open
    return;
  }
  if (text.includes('donesplit')) {
    w(ev(chunk({ content: 'split end' })));
    w(ev(fin()));
    w('data: [DONE]\n\n');
    setTimeout(end, 10);	// the last chunk in a read of its own
    return;
  }
  if (text.includes('pretext')) {
    w(ev(chunk({ content: 'Let me check.' })));
    w(ev(chunk({ tool_calls: [{ index: 0, id: 'call_p', type: 'function',
      function: { name: 'order_status', arguments: '{"order_id":"P1"}' } }] })));
    w(ev(fin('tool_calls')));
    w('data: [DONE]\n\n');
    end();
    return;
  }
  if (text.includes('dripforever')) {
    // Words, then a keep-alive comment every 300 ms, never an end: the
    // idle timer is met by each, so only the answer's own bound ends it.
    w(ev(chunk({ content: 'drip' })));
    const t = setInterval(() => { if (c.destroyed) clearInterval(t); else w(': ping\n\n'); }, 300);
    c.on('close', () => clearInterval(t));
    return;
  }
  if (text.includes('nulbyte')) {
    w(ev(chunk({ content: 'before ' })));
    w('data: {"choices":[{"index":0,"delta":{"content":"a\\u0000b"},"finish_reason":null}]}\n\n');
    w(ev(fin()));
    w('data: [DONE]\n\n');
    end();
    return;
  }
  w(ev(chunk({ content: 'default' })));
  w(ev(fin()));
  w('data: [DONE]\n\n');
  end();
}

function upstream() {
  return net.createServer((c) => {
    sockets.add(c);
    c.on('close', () => sockets.delete(c));
    c.on('error', () => {});
    let buf = Buffer.alloc(0);
    c.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const i = buf.indexOf('\r\n\r\n');
        if (i < 0) return;
        const len = Number(/content-length: (\d+)/i.exec(buf.subarray(0, i).toString())[1]);
        if (buf.length < i + 4 + len) return;
        const body = JSON.parse(buf.subarray(i + 4, i + 4 + len).toString());
        buf = buf.subarray(i + 4 + len);
        requests.push(body);
        serve(c, body);
      }
    });
  });
}

// The turn's events: the tokens joined, the done event.
function shown(s) {
  const done = s.events.at(-1);
  assert.equal(done?.type, 'done', `the turn ends with done: ${JSON.stringify(s.events)}`);
  return { tokens: s.tokens.join(''), done };
}

describe('a model server that is odd but legal', () => {
  let p, srv, api;
  const admin = (method, path, body) => p.request(method, path, {
    headers: { 'content-type': 'application/json', 'x-admin-api-key': p.adminKey },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = async (s) => (await waitStored(p, s.events[0].conversationId,
    (m) => m.length >= 2)).messages.at(-1);

  before(async () => {
    srv = upstream();
    await new Promise((r) => srv.listen(0, '127.0.0.1', r));
    api = http.createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ status: 'shipped' }));
    });
    await new Promise((r) => api.listen(0, '127.0.0.1', r));
    p = new Parley({ workers: 1, mock: false, env: {
      OPENAI_BASE_URL: `http://127.0.0.1:${srv.address().port}/v1`,
      RATE_LIMIT_MAX_REQUESTS: '0', OPENAI_IDLE_TIMEOUT_MS: String(IDLE_MS), OPENAI_REPLY_TIMEOUT_MS: String(REPLY_MS),
      PARLEY_ACTIONS_ALLOW_PRIVATE: 'on' } });
    await p.start();
    // The widget's agent has a tool: every request offers it.
    let r = await admin('POST', '/v1/admin/actions', { name: 'order_status', description: 'd',
      parameters: { type: 'object', properties: { order_id: { type: 'string' } }, required: ['order_id'] },
      url: `http://127.0.0.1:${api.address().port}/orders/{{order_id}}` });
    assert.equal(r.status, 201, r.text);
    r = await admin('POST', '/v1/admin/agents', { name: 'Shop', action_ids: [r.json().id] });
    assert.equal(r.status, 201, r.text);
    const agentId = r.json().id;
    const dw = (await admin('GET', '/v1/admin/widgets')).json().widgets[0];
    r = await admin('PATCH', `/v1/admin/widgets/${dw.widget_id}`, { agent_id: agentId });
    assert.equal(r.status, 200, r.text);
  });
  after(async () => {
    try { if (p) await p.stop(); } finally {
      for (const s of sockets) s.destroy();
      srv?.close();
      api?.close();
    }
  });

  // Each keep-alive met the idle timer: the turn stayed open as long as
  // the visitor did.
  test('a server that keeps sending and never ends: the answer ends at OPENAI_REPLY_TIMEOUT_MS', async () => {
    const t0 = Date.now();
    const s = await streamTurn(p, sid('drip'), 'dripforever');
    const ms = Date.now() - t0;
    const end = s.events.at(-1);
    assert.equal(end.type, 'error', JSON.stringify(s.events));
    assert.ok(ms >= REPLY_MS - 500 && ms < REPLY_MS + IDLE_MS, `${ms} ms`);
  });

  test('"tool_calls": [] beside the text is no call: a plain answer', async () => {
    const s = await streamTurn(p, sid('et'), 'emptytools');
    const { tokens, done } = shown(s);
    assert.equal(done.message, 'plain answer');
    assert.equal(tokens, 'plain answer');
    const m = await answer(s);
    assert.deepEqual([m.status, m.content], ['complete', 'plain answer']);
  });
  test('a body left open after [DONE]: done at once, that connection not kept', async () => {
    const t0 = Date.now();
    const s = await streamTurn(p, sid('dh'), 'donehang');
    const ms = Date.now() - t0;
    const { tokens, done } = shown(s);
    assert.equal(done.message, 'all done');
    assert.equal(tokens, 'all done');
    assert.ok(ms < IDLE_MS / 2, `done came ${ms} ms after the question (idle timeout ${IDLE_MS} ms)`);
    const m = await answer(s);
    assert.deepEqual([m.status, m.content], ['complete', 'all done']);
    // Its end never came: the connection cannot carry another request.
    await new Promise((r) => { if (hung.destroyed) r(); else { hung.once('close', r); setTimeout(r, 2000); } });
    assert.ok(hung.destroyed, 'the connection left open was closed');
    const s2 = await streamTurn(p, sid('dh'), 'and then');
    assert.equal(shown(s2).done.message, 'default');
  });

  test('[DONE], then the body\'s end in a read of its own: the connection is kept', async () => {
    const s = await streamTurn(p, sid('ds'), 'donesplit');
    assert.equal(shown(s).done.message, 'split end');
    const open = new Set(sockets);
    const s2 = await streamTurn(p, sid('ds'), 'and again');
    assert.equal(shown(s2).done.message, 'default');
    assert.ok([...sockets].every((c) => open.has(c)), 'no new connection: the kept one carried it');
  });

  test('a tool round keeps the words before its calls, the rounds apart', async () => {
    const n = requests.length;
    const s = await streamTurn(p, sid('pt'), 'pretext');
    const { tokens, done } = shown(s);
    const want = 'Let me check.\n\ntools answered';
    assert.equal(done.message, want);
    assert.equal(tokens, want, 'what is shown is what done says');
    const m = await answer(s);
    assert.deepEqual([m.status, m.content], ['complete', want]);
    assert.equal(requests.length, n + 2);
    const asked = requests[n + 1].messages.filter((x) => x.role === 'assistant' && x.tool_calls);
    assert.equal(asked.length, 1);
    assert.equal(asked[0].content, 'Let me check.', 'the model reads what it said before its calls');
  });

  test('a \\u0000 in the content is taken, the NUL dropped', async () => {
    const s = await streamTurn(p, sid('nul'), 'nulbyte');
    const { tokens, done } = shown(s);
    assert.equal(done.message, 'before ab');
    assert.equal(tokens, 'before ab');
    const m = await answer(s);
    assert.deepEqual([m.status, m.content], ['complete', 'before ab']);
  });

  test('an HTTP error whose body is not JSON: its status said once', async () => {
    const s = await streamTurn(p, sid('pe'), 'plainerr');
    assert.equal(s.events.at(-1)?.type, 'error', JSON.stringify(s.events));
    const m = await answer(s);
    assert.deepEqual([m.status, m.content], ['failed', 'model answered HTTP 429']);
  });

  test('a follow-up\'s rewrite counts in the turn\'s tokens', async () => {
    let r = await admin('POST', '/v1/admin/knowledge/sources', { type: 'qa',
      question: 'How long is the kettle warranty?', answer: 'Two years from purchase.' });
    assert.equal(r.status, 201, r.text);
    r = await admin('POST', '/v1/admin/agents', { name: 'Helper', knowledge_source_ids: [r.json().id],
      rewrite_follow_ups: true });
    assert.equal(r.status, 201, r.text);
    const dw = (await admin('GET', '/v1/admin/widgets')).json().widgets[0];
    r = await admin('PATCH', `/v1/admin/widgets/${dw.widget_id}`, { agent_id: r.json().id });
    assert.equal(r.status, 200, r.text);
    const s = sid('rw');
    shown(await streamTurn(p, s, 'how long is the kettle warranty?'));
    const n = requests.length;
    const t = await streamTurn(p, s, 'usagefollow: and after that?');
    assert.equal(shown(t).done.message, 'two years');
    assert.equal(requests.length, n + 2, 'the rewrite, then the answer');
    assert.match(requests[n].messages[0].content, /search query for the knowledge base/);
    const m = await answer(t);
    assert.deepEqual([m.promptTokens, m.completionTokens], [1100, 77]);
  });
});
