// The mock model's own endpoints beyond chat (tests/mockai/README.md):
// /v1/embeddings (shape, determinism, similar texts closer than unrelated
// ones, dimensions, base64, errors, API key), /v1/rerank (order, top_n,
// documents, errors), the forced failures of POST /_mock/fail and their
// counters, and the [n] citations of a chat reply.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { MockAI } from './lib/mockai.mjs';

let m;
let keyed;
before(async () => {
  m = new MockAI();
  keyed = new MockAI({ apiKey: 'sk-mock-key-0123456789' });
  await m.start();
  await keyed.start();
});
after(async () => {
  await m.stop();
  await keyed.stop();
});

async function post(path, body, { mock = m, headers = {} } = {}) {
  const r = await fetch(`http://127.0.0.1:${mock.port}${path}`, {
    method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'Content-Type': 'application/json', ...headers },
  });
  const text = await r.text();
  return { status: r.status, headers: r.headers, text, json: text ? JSON.parse(text) : null };
}

const embed = async (input, extra = {}) => post('/v1/embeddings', { model: 'text-embedding-3-small', input, ...extra });
const cos = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);
const norm = (a) => Math.sqrt(cos(a, a));

describe('POST /v1/embeddings', () => {
  test('OpenAI shape, 1536 unit-length dimensions by default, usage as words', async () => {
    const r = await embed(['How do I install a package?', 'zebras']);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^application\/json/);
    const j = r.json;
    assert.equal(j.object, 'list');
    assert.equal(j.model, 'text-embedding-3-small');
    assert.deepEqual(j.usage, { prompt_tokens: 7, total_tokens: 7 });
    assert.equal(j.data.length, 2);
    j.data.forEach((d, i) => {
      assert.deepEqual(Object.keys(d).sort(), ['embedding', 'index', 'object']);
      assert.equal(d.object, 'embedding');
      assert.equal(d.index, i);
      assert.equal(d.embedding.length, 1536);
      assert.ok(d.embedding.every(Number.isFinite));
      assert.ok(Math.abs(norm(d.embedding) - 1) < 1e-4, `norm ${norm(d.embedding)}`);
    });
  });

  test('deterministic: the same text, alone or in a batch, on any run, gets the same vector', async () => {
    const a = (await embed('Debian package management with apt')).json.data[0].embedding;
    const b = (await embed(['other text', 'Debian package management with apt'])).json.data[1].embedding;
    assert.deepEqual(a, b);
    const other = new MockAI();
    await other.start();
    try {
      const r = await post('/embeddings', { model: 'x', input: 'Debian package management with apt' }, { mock: other });
      assert.deepEqual(r.json.data[0].embedding, a);
    } finally { await other.stop(); }
  });

  test('texts sharing words (or stems) are closer than unrelated ones', async () => {
    const [q, near, stemmed, far] = (await embed([
      'How do I configure the network interface?',
      'Configuring a network interface in Debian',
      'configured interfaces networking',
      'The zebra grazes on the savannah at dawn',
    ])).json.data.map((d) => d.embedding);
    assert.ok(cos(q, near) > cos(q, far) + 0.2, `near ${cos(q, near)} far ${cos(q, far)}`);
    assert.ok(cos(q, stemmed) > cos(q, far) + 0.1, `stemmed ${cos(q, stemmed)} far ${cos(q, far)}`);
    assert.ok(Math.abs(cos(q, far)) < 0.2);
  });

  test('dimensions 1 to 4096; base64 is the same vector as float32 little-endian', async () => {
    for (const dims of [1, 3, 256, 4096]) {
      const v = (await embed('hello world', { dimensions: dims })).json.data[0].embedding;
      assert.equal(v.length, dims);
      assert.ok(Math.abs(norm(v) - 1) < 1e-4, `dims ${dims}: norm ${norm(v)}`);
    }
    const f = (await embed(['hello world', 'hi'], { dimensions: 64 })).json.data;
    const b = (await embed(['hello world', 'hi'], { dimensions: 64, encoding_format: 'base64' })).json.data;
    for (let i = 0; i < 2; i++) {
      assert.equal(typeof b[i].embedding, 'string');
      const buf = Buffer.from(b[i].embedding, 'base64');
      assert.equal(buf.length, 64 * 4);
      const v = Array.from({ length: 64 }, (_, k) => buf.readFloatLE(4 * k));
      v.forEach((x, k) => assert.ok(Math.abs(x - f[i].embedding[k]) < 1e-6));
    }
  });

  test('bad requests get 400 in OpenAI\'s error shape, counted in embed_errors', async () => {
    await m.resetStats();
    const cases = [
      ['{"model":"m","input":', null],
      [{ input: 'x' }, 'model'],
      [{ model: 'm' }, 'input'],
      [{ model: 'm', input: [] }, 'input'],
      [{ model: 'm', input: [1, 2, 3] }, 'input[0]'],
      [{ model: 'm', input: ['ok', ''] }, 'input[1]'],
      [{ model: 'm', input: 'x'.repeat(65537) }, 'input'],
      [{ model: 'm', input: Array(2049).fill('a') }, 'input'],
      [{ model: 'm', input: 'x', dimensions: 0 }, 'dimensions'],
      [{ model: 'm', input: 'x', dimensions: 4097 }, 'dimensions'],
      [{ model: 'm', input: 'x', dimensions: '8' }, 'dimensions'],
      [{ model: 'm', input: 'x', encoding_format: 'int8' }, 'encoding_format'],
      [{ model: 'm', input: Array(2048).fill('a'), dimensions: 4096 }, 'input'],
    ];
    for (const [body, param] of cases) {
      const r = await post('/v1/embeddings', body);
      assert.equal(r.status, 400, JSON.stringify(body).slice(0, 80));
      assert.equal(r.json.error.type, 'invalid_request_error');
      assert.equal(typeof r.json.error.message, 'string');
      if (param) assert.equal(r.json.error.param, param);
    }
    const s = await m.stats();
    assert.equal(s.embed_requests, cases.length);
    assert.equal(s.embed_errors, cases.length);
    assert.equal(s.embed_inputs, 0);
    assert.equal(s.errors, 0, 'chat errors untouched');
    const g = await fetch(`http://127.0.0.1:${m.port}/v1/embeddings`);
    assert.equal(g.status, 405);
    await g.text();
  });

  test('--api-key is required on embeddings and rerank', async () => {
    const body = { model: 'm', input: 'x' };
    assert.equal((await post('/v1/embeddings', body, { mock: keyed })).status, 401);
    const wrong = await post('/v1/embeddings', body, { mock: keyed, headers: { Authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.json.error.code, 'invalid_api_key');
    const ok = await post('/v1/embeddings', body, { mock: keyed, headers: { Authorization: 'Bearer sk-mock-key-0123456789' } });
    assert.equal(ok.status, 200);
    const rr = { model: 'm', query: 'q', documents: ['d'] };
    assert.equal((await post('/v1/rerank', rr, { mock: keyed })).status, 401);
    assert.equal((await post('/v1/rerank', rr, { mock: keyed, headers: { Authorization: 'Bearer sk-mock-key-0123456789' } })).status, 200);
  });
});

describe('POST /v1/rerank', () => {
  const docs = [
    'The zebra grazes on the savannah',
    { text: 'Installing packages with apt-get install' },
    'apt is the package manager of Debian',
    'Nothing in common here at all',
  ];

  test('results best first, scores from word overlap, documents returned', async () => {
    const r = await post('/v1/rerank', { model: 'rr', query: 'how to install packages with apt', documents: docs });
    assert.equal(r.status, 200);
    const { results, usage, model } = r.json;
    assert.equal(model, 'rr');
    assert.equal(results.length, 4);
    assert.deepEqual(results.slice(0, 2).map((x) => x.index).sort(), [1, 2]);
    assert.equal(results[0].index, 1);
    for (let i = 1; i < results.length; i++) assert.ok(results[i - 1].relevance_score >= results[i].relevance_score);
    results.forEach((x) => {
      assert.ok(x.relevance_score >= 0 && x.relevance_score <= 1);
      const d = docs[x.index];
      assert.equal(x.document.text, typeof d === 'string' ? d : d.text);
    });
    assert.equal(usage.total_tokens, 6 + 6 + 5 + 7 + 6);
    const again = await post('/rerank', { model: 'rr', query: 'how to install packages with apt', documents: docs });
    assert.deepEqual(again.json.results, results);
  });

  test('top_n cuts the list; return_documents false leaves them out', async () => {
    const r = await post('/v1/rerank', { model: 'rr', query: 'apt package', documents: docs, top_n: 2, return_documents: false });
    assert.equal(r.json.results.length, 2);
    assert.equal(r.json.results[0].index, 2);
    r.json.results.forEach((x) => assert.equal(x.document, undefined));
    const all = await post('/v1/rerank', { model: 'rr', query: 'apt package', documents: docs, top_n: 99 });
    assert.equal(all.json.results.length, 4);
  });

  test('bad requests get 400', async () => {
    await m.resetStats();
    const cases = [
      [{ model: 'm', documents: ['a'] }, 'query'],
      [{ model: 'm', query: '', documents: ['a'] }, 'query'],
      [{ model: 'm', query: 'q' }, 'documents'],
      [{ model: 'm', query: 'q', documents: [] }, 'documents'],
      [{ model: 'm', query: 'q', documents: ['a', { txt: 'b' }] }, 'documents[1]'],
      [{ model: 'm', query: 'q', documents: Array(1001).fill('a') }, 'documents'],
      [{ model: 'm', query: 'q', documents: ['a'], top_n: 0 }, 'top_n'],
      [{ model: 'm', query: 'q', documents: ['a'], return_documents: 'yes' }, 'return_documents'],
    ];
    for (const [body, param] of cases) {
      const r = await post('/v1/rerank', body);
      assert.equal(r.status, 400, JSON.stringify(body).slice(0, 80));
      assert.equal(r.json.error.param, param);
    }
    const s = await m.stats();
    assert.equal(s.rerank_requests, cases.length);
    assert.equal(s.rerank_errors, cases.length);
    assert.equal(s.rerank_documents, 0);
  });
});

describe('POST /_mock/fail', () => {
  test('the next N calls fail with the status, then calls succeed; counted', async () => {
    await m.reset();
    const armed = await m.fail('/embeddings', 429, 2);
    assert.deepEqual(armed['/v1/embeddings'], { status: 429, stall: false, count: 2 });
    const a = await embed('one');
    assert.equal(a.status, 429);
    assert.equal(a.headers.get('retry-after'), '1');
    assert.equal(a.json.error.code, 'rate_limit_exceeded');
    assert.equal((await embed('two')).status, 429);
    assert.equal((await embed('three')).status, 200);
    await m.fail('/v1/rerank', 503, 1);
    assert.equal((await post('/v1/rerank', { model: 'm', query: 'q', documents: ['d'] })).status, 503);
    assert.equal((await post('/v1/rerank', { model: 'm', query: 'q', documents: ['d'] })).status, 200);
    await m.fail('/v1/chat/completions', 500, 1);
    const chat = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };
    assert.equal((await post('/v1/chat/completions', chat)).status, 500);
    assert.equal((await post('/v1/chat/completions', chat)).json.choices[0].message.content, 'You said: hi');
    const s = await m.stats();
    assert.equal(s.forced_failures, 4);
    assert.equal(s.embed_requests, 3);
    assert.equal(s.embed_errors, 2);
    assert.equal(s.embed_inputs, 1);
    assert.equal(s.rerank_requests, 2);
    assert.equal(s.rerank_documents, 1);
    assert.equal(s.errors, 1);
  });

  test('status 0 closes the connection without an answer', async () => {
    await m.fail('/v1/embeddings', 0, 1);
    await assert.rejects(embed('dropped'));
    assert.equal((await embed('fine')).status, 200);
  });

  test('stall: no answer until the client gives up; the next call is answered', async () => {
    await m.fail('/v1/rerank', 0, 1);
    const armed = await post('/_mock/fail', { path: '/rerank', status: 0, count: 1, stall: true });
    assert.deepEqual(armed.json['/v1/rerank'], { status: 0, stall: true, count: 1 });
    const t0 = Date.now();
    await assert.rejects(fetch(`http://127.0.0.1:${m.port}/v1/rerank`, { method: 'POST',
      body: JSON.stringify({ model: 'm', query: 'q', documents: ['d'] }), signal: AbortSignal.timeout(300) }));
    assert.ok(Date.now() - t0 >= 290);
    assert.equal((await post('/v1/rerank', { model: 'm', query: 'q', documents: ['d'] })).status, 200);
    assert.equal((await post('/_mock/fail', { path: '/rerank', status: 0, count: 1, stall: 1 })).status, 400);
  });

  test('count 0 disarms; reset disarms; bad bodies get 400', async () => {
    await m.fail('/v1/embeddings', 500, 5);
    await m.fail('/v1/embeddings', 500, 0);
    assert.equal((await embed('x')).status, 200);
    await m.fail('/v1/rerank', 500, 5);
    await m.reset();
    const g = await (await fetch(`http://127.0.0.1:${m.port}/_mock/fail`)).json();
    assert.deepEqual(g['/v1/rerank'], { status: 0, stall: false, count: 0 });
    for (const body of [{ path: '/v2/x', status: 500, count: 1 }, { path: '/v1/rerank', status: 200, count: 1 },
      { path: '/v1/rerank', status: 500, count: -1 }, { path: '/v1/rerank', status: 500 },
      { path: '/v1/rerank', status: 500, count: 1, extra: 1 }]) {
      const r = await post('/_mock/fail', body);
      assert.equal(r.status, 400, JSON.stringify(body));
    }
  });
});

describe('cited answers', () => {
  const SYS = 'Answer from these sources and cite them.\n\n[1] Zebras live on the savannah.\n' +
    '[2] APT installs packages\nfrom the Debian archive.\n\n[3] Unrelated words only.\n' +
    '[12] The ARCHIVE keyring signs packages.\nCite like [1].';
  const ask = async (user, sys = SYS, extra = {}) => (await post('/v1/chat/completions',
    { model: 'm', messages: [{ role: 'system', content: sys }, { role: 'user', content: user }], ...extra })).json.choices[0].message.content;

  test('[n] for each passage sharing a word of 4+ letters, in number order', async () => {
    assert.equal(await ask('where do packages come from?'), 'You said: where do packages come from? [2] [12]');
    // "archive" is on the continuation line of [2], and in [12] (case folded).
    assert.equal(await ask('the archive'), 'You said: the archive [2] [12]');
    // words under 4 letters never count; "Cite like [1]." belongs to passage 12.
    assert.equal(await ask('apt zoo its'), 'You said: apt zoo its');
    assert.equal(await ask('cite zebras'), 'You said: cite zebras [1] [12]');
  });

  test('at most three, the lowest numbers first', async () => {
    const sys = '[5] common word\n[1] common word\n[9] common word\n[3] common word';
    assert.equal(await ask('common', sys), 'You said: common [1] [3] [5]');
  });

  test('passages only in system messages; a blank line or the message end ends one', async () => {
    const r = await post('/v1/chat/completions', { model: 'm', messages: [
      { role: 'system', content: '[1] first\n\nzebras here are not in a passage' },
      { role: 'user', content: '[2] zebras in a user message are no source' },
      { role: 'system', content: 'zebras after the end of a message\n[4] zebras' },
      { role: 'user', content: 'zebras?' }] });
    assert.equal(r.json.choices[0].message.content, 'You said: zebras? [4]');
  });

  test('[[mock:nocite]] turns it off; reply= is never cited; streams carry it too', async () => {
    assert.equal(await ask('packages [[mock:nocite]]'), 'You said: packages');
    assert.equal(await ask('packages [[mock:reply=plain]]'), 'plain');
    const r = await fetch(`http://127.0.0.1:${m.port}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({
      model: 'm', stream: true, messages: [{ role: 'system', content: SYS }, { role: 'user', content: 'zebras' }] }) });
    const text = (await r.text()).split('\n').filter((l) => l.startsWith('data: {'))
      .map((l) => JSON.parse(l.slice(6)).choices[0]?.delta?.content ?? '').join('');
    assert.equal(text, 'You said: zebras [1]');
  });

  test('no marked lines: the reply is the plain echo', async () => {
    assert.equal(await ask('packages', 'You are helpful. [1]x\n [2] indented\n[0] zero\n[100] big\n[01] lead'), 'You said: packages');
  });
});

describe('tool calls', () => {
  const ARGS = encodeURIComponent('{"order_id":"4411","note":"héllo, world"}');
  const USER = `where is my order? [[mock:call=get_order,args=${ARGS},call=now]]`;
  const body = (messages, extra = {}) => ({ model: 'm', tools: [{ type: 'function', function: { name: 'get_order' } }],
    messages, ...extra });

  test('call= streams OpenAI\'s tool_calls deltas: the name first, the arguments in pieces, then finish tool_calls', async () => {
    const r = await fetch(`http://127.0.0.1:${m.port}/v1/chat/completions`, { method: 'POST',
      body: JSON.stringify(body([{ role: 'user', content: USER }], { stream: true })) });
    const chunks = (await r.text()).split('\n').filter((l) => l.startsWith('data: {')).map((l) => JSON.parse(l.slice(6)));
    const calls = [];
    let pieces = 0;
    for (const c of chunks) {
      for (const d of c.choices[0]?.delta?.tool_calls ?? []) {
        calls[d.index] ??= { id: '', name: '', args: '' };
        if (d.id) calls[d.index].id = d.id;
        if (d.function?.name) calls[d.index].name = d.function.name;
        if (d.function?.arguments) { calls[d.index].args += d.function.arguments; pieces++; }
      }
    }
    assert.equal(calls.length, 2);
    assert.equal(calls[0].name, 'get_order');
    assert.deepEqual(JSON.parse(calls[0].args), { order_id: '4411', note: 'héllo, world' });
    assert.equal(calls[1].name, 'now');
    assert.equal(calls[1].args, '{}');
    assert.match(calls[0].id, /^call_mock\d+_0$/);
    assert.ok(pieces >= 3, `${pieces} pieces`);
    assert.equal(chunks.at(-1).choices[0].finish_reason, 'tool_calls');
    assert.ok(chunks.every((c) => !c.choices[0]?.delta?.content));
  });

  test('not streamed: the message\'s tool_calls; answered by tool messages, the reply tells them back', async () => {
    let r = await post('/v1/chat/completions', body([{ role: 'user', content: USER }]));
    assert.equal(r.status, 200, r.text);
    const msg = r.json.choices[0].message;
    assert.equal(r.json.choices[0].finish_reason, 'tool_calls');
    assert.equal(msg.content, null);
    assert.deepEqual(msg.tool_calls.map((c) => c.function.name), ['get_order', 'now']);
    r = await post('/v1/chat/completions', body([{ role: 'user', content: USER }, msg,
      { role: 'tool', tool_call_id: msg.tool_calls[0].id, content: 'shipped on Monday' },
      { role: 'tool', tool_call_id: msg.tool_calls[1].id, content: '10:00' }]));
    assert.equal(r.json.choices[0].finish_reason, 'stop');
    assert.equal(r.json.choices[0].message.content, 'The tools said: shipped on Monday; 10:00');
    // A new question after them: its own calls again.
    r = await post('/v1/chat/completions', body([{ role: 'user', content: USER }, msg,
      { role: 'tool', tool_call_id: msg.tool_calls[0].id, content: 'x' }, { role: 'user', content: USER }]));
    assert.equal(r.json.choices[0].finish_reason, 'tool_calls');
  });

  // As OpenAI: a request that lists no tools, or says "tool_choice":
  // "none", gets the text; ignore_none (Ollama's way) and untooled (a
  // server that calls tools it was not given) make the calls all the
  // same; say= comes before them.
  test('no tools listed, or tool_choice none: the text, unless ignore_none or untooled; say= before the calls', async () => {
    const reason = async (b) => (await post('/v1/chat/completions', b)).json.choices[0].finish_reason;
    const noTools = (messages) => ({ model: 'm', messages });
    assert.equal(await reason(noTools([{ role: 'user', content: USER }])), 'stop');
    assert.equal(await reason(body([{ role: 'user', content: USER }], { tools: [] })), 'stop');
    assert.equal(await reason(body([{ role: 'user', content: USER }], { tool_choice: 'none' })), 'stop');
    assert.equal(await reason(body([{ role: 'user', content: `${USER} [[mock:ignore_none]]` }], { tool_choice: 'none' })), 'tool_calls');
    assert.equal(await reason(noTools([{ role: 'user', content: `${USER} [[mock:untooled]]` }])), 'tool_calls');
    assert.equal(await reason(noTools([{ role: 'user', content: `${USER} [[mock:ignore_none]]` }])), 'stop');
    let r = await post('/v1/chat/completions', body([{ role: 'user', content: `${USER} [[mock:say=Let%20me%20look.]]` }]));
    assert.equal(r.json.choices[0].message.content, 'Let me look.');
    assert.equal(r.json.choices[0].message.tool_calls.length, 2);
    r = await fetch(`http://127.0.0.1:${m.port}/v1/chat/completions`, { method: 'POST',
      body: JSON.stringify(body([{ role: 'user', content: `${USER} [[mock:say=Let%20me%20look.]]` }], { stream: true })) });
    const chunks = (await r.text()).split('\n').filter((l) => l.startsWith('data: {')).map((l) => JSON.parse(l.slice(6)));
    const deltas = chunks.map((c) => c.choices[0]?.delta ?? {});
    assert.equal(deltas.map((d) => d.content ?? '').join(''), 'Let me look.');
    const first = deltas.findIndex((d) => d.tool_calls);
    assert.ok(first > deltas.findIndex((d) => d.content === 'Let me look.'), 'said before the calls');
    assert.equal(chunks.at(-1).choices[0].finish_reason, 'tool_calls');
  });

  test('bad call directives get 400', async () => {
    for (const bad of ['[[mock:args=%7B%7D]]', '[[mock:call=get order]]', '[[mock:call=]]',
      '[[mock:call=a,call=b,call=c,call=d,call=e]]']) {
      const r = await post('/v1/chat/completions', body([{ role: 'user', content: bad }]));
      assert.equal(r.status, 400, bad);
      assert.equal(r.json.error.code, 'mock_directive');
    }
  });
});
