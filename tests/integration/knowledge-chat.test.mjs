// Grounded answers: an agent given knowledge sources searches them for
// each question before the model is asked (ST_KB_RETRIEVE, after the
// question is stored), puts the best passages in the system prompt with
// numbered markers and asks for citations; the mock model cites the
// markers whose passage shares a word with the question. /v1/chat adds
// "sources" (the cited passages), the stream a {"type":"sources"} event
// before "done", the widget's WebSocket message "sources"; they are kept
// with the answer: the admin thread's "citations", the HTTP history's and
// a resumed widget's history's "sources". An agent that
// answers only from its sources, finding nothing, says it does not know
// and offers a person, the model not asked. An agent without sources
// sends the model no passage. An agent with rewrite_follow_ups has the
// model turn a follow-up into a question that stands alone first (the
// mock answers with the conversation it was shown), which is searched. The agent's ids are checked, another
// organisation's source finds nothing. A passage's text with a line that
// starts as a marker does (a page's footnote, "[2] ...") goes to the model
// as "\[2] ...": the answer's [2] is the second passage, not the footnote.
// A list "[1, 3]" cites each number it names; a number no passage has, none.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { chat, sid, streamTurn } from './lib/chat.mjs';
import { Parley, waitFor } from './lib/harness.mjs';
import { checkerFor } from './lib/openapi.mjs';
import { Visitor } from './lib/wsclient.mjs';

const NONE = "I'm sorry, I don't know the answer to that from what I have been given. Would you like to talk to a person?";

describe('answers from the agent\'s knowledge', () => {
  let p;
  let src;
  let agent;
  let dw;

  const admin = (method, path, body, headers = {}) => p.request(method, path, {
    headers: { 'content-type': 'application/json', 'x-admin-api-key': p.adminKey, ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

  before(async () => {
    p = new Parley({ workers: 1, mock: true, env: { RATE_LIMIT_MAX_REQUESTS: '0' } });
    await p.start();
    let r = await admin('POST', '/v1/admin/knowledge/sources', { type: 'qa',
      question: 'How long is the kettle warranty?', answer: 'The warranty lasts two years from purchase.' });
    assert.equal(r.status, 201, r.text);
    src = r.json();
    r = await admin('POST', '/v1/admin/agents', { name: 'Helper', knowledge_source_ids: [src.id] });
    assert.equal(r.status, 201, r.text);
    agent = r.json();
    assert.deepEqual(agent.knowledge_source_ids, [src.id]);
    dw = (await admin('GET', '/v1/admin/widgets')).json().widgets[0];
    r = await admin('PATCH', `/v1/admin/widgets/${dw.widget_id}`, { agent_id: agent.id });
    assert.equal(r.status, 200, r.text);
  });
  after(async () => {
    if (p) await p.stop();
  });

  // The answer stored last in conversation id, as the admin API shows it.
  async function storedAnswer(id) {
    const r = await admin('GET', `/v1/admin/conversations/${id}`);
    assert.equal(r.status, 200, r.text);
    (await checkerFor(p)).checkJson('GET', `/v1/admin/conversations/${id}`, r);
    return r.json().messages.filter((m) => m.role === 'assistant').pop();
  }

  async function lastSystem() {
    const seen = await p.mock.completions();
    const body = seen[seen.length - 1].body;
    return body.messages.find((m) => m.role === 'system')?.content ?? '';
  }

  test('the JSON answer cites its source', async () => {
    const r = await chat(p, sid('kb'), 'what is the warranty on this kettle?');
    assert.equal(r.status, 200, r.text);
    (await checkerFor(p)).checkJson('POST', '/v1/chat', r);
    const j = r.json();
    assert.match(j.message, /\[1\]/);
    assert.deepEqual(j.sources, [{ n: 1, source_id: src.id, title: 'How long is the kettle warranty?', url: '' }]);
    const sys = await lastSystem();
    assert.match(sys, /cite each one you use by its number/);
    assert.match(sys, /\[1\] How long is the kettle warranty\?\nThe warranty lasts two years from purchase\./);
    // Stored with the answer: the thread and the export show it.
    const m = await storedAnswer(j.conversationId);
    assert.deepEqual(m.sources, [src.id]);
    assert.equal(m.knowledge, 'found');
  });

  test('kept with the answer: the thread and the API\'s history show its cited passages', async () => {
    const s = sid('kb');
    const r = await chat(p, s, 'what is the warranty on this kettle?');
    assert.equal(r.status, 200, r.text);
    const { sources, conversationId } = r.json();
    assert.equal(sources.length, 1, r.text);
    // the admin API's thread: the passages beside the sources' ids
    const m = await storedAnswer(conversationId);
    assert.deepEqual(m.citations, sources);
    assert.deepEqual(m.sources, [src.id]);
    // the HTTP API's history, as /v1/chat answered
    const h = await p.get(`/v1/chat/history?sessionId=${s}`, { headers: { 'x-api-key': p.widgetKey } });
    assert.equal(h.status, 200, h.text);
    (await checkerFor(p)).checkJson('GET', `/v1/chat/history?sessionId=${s}`, h);
    const [asked, answer] = h.json().messages;
    assert.deepEqual(answer.sources, sources);
    assert.equal(asked.sources, undefined, 'the question cites nothing');
    // an answer that cites nothing: none, and [] in the thread
    const r2 = await chat(p, s, 'do you sell toasters?');
    assert.equal(r2.json().sources, undefined);
    assert.deepEqual((await storedAnswer(conversationId)).citations, []);
    const h2 = (await p.get(`/v1/chat/history?sessionId=${s}`, { headers: { 'x-api-key': p.widgetKey } })).json();
    assert.equal(h2.messages[3].sources, undefined);
  });

  test('the stream says its sources before done', async () => {
    const s = await streamTurn(p, sid('kb'), 'warranty please');
    (await checkerFor(p)).checkStream('POST', '/v1/chat/stream', s);
    const types = s.types;
    assert.deepEqual(types.slice(-2), ['sources', 'done'], types.join(','));
    const ev = s.events.find((e) => e.type === 'sources');
    assert.equal(ev.sources[0].source_id, src.id);
    assert.match(s.events.find((e) => e.type === 'done').message, /\[1\]/);
  });

  test('a question the sources do not touch: no sources, the model uncited', async () => {
    const r = await chat(p, sid('kb'), 'do you sell toasters?');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().sources, undefined);
    assert.doesNotMatch(r.json().message, /\[\d\]/);
    assert.doesNotMatch(await lastSystem(), /numbered sources/);
  });

  test('the widget\'s message carries its sources, and so does its history when the session resumes', async () => {
    const v = await Visitor.open(p, dw.widget_id);
    const { session_token: token } = await v.next('session');
    const { message } = await v.turn('tell me about the warranty');
    assert.match(message.content, /\[1\]/);
    assert.equal(message.sources[0].title, 'How long is the kettle warranty?');
    await v.close();
    // a reload: the answer in the history with the same sources
    const v2 = await Visitor.open(p, dw.widget_id, { token });
    await v2.next('session');
    const h = await v2.next('history');
    assert.deepEqual(h.messages.map((m) => m.sources), [undefined, message.sources]);
    await v2.close();
  });

  test('a follow-up rewritten into a question that stands alone is what is searched', async () => {
    const bodies = async () => (await p.mock.completions()).map((c) => c.body);
    const isRewrite = (b) => /search query for the knowledge base/.test(b.messages[0].content);
    // Without the option: "and after that?" alone finds nothing.
    let s = sid('fu');
    await chat(p, s, 'how long is the kettle warranty?');
    let r = await chat(p, s, 'and after that?');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().sources, undefined);
    assert.doesNotMatch(await lastSystem(), /numbered sources/);
    r = await admin('PATCH', `/v1/admin/agents/${agent.id}`, { rewrite_follow_ups: true });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().rewrite_follow_ups, true);
    // A first question is searched as asked: one model call.
    s = sid('fu');
    let n = (await bodies()).length;
    await chat(p, s, 'how long is the kettle warranty?');
    assert.equal((await bodies()).length, n + 1);
    // The follow-up: the model rewrites it from the conversation, then answers from what that found.
    n = (await bodies()).length;
    r = await chat(p, s, 'and after that?');
    assert.equal(r.status, 200, r.text);
    const seen = (await bodies()).slice(n);
    assert.equal(seen.length, 2);
    assert.ok(isRewrite(seen[0]), JSON.stringify(seen[0].messages[0]));
    assert.equal(seen[0].stream, true);
    assert.equal(seen[0].temperature, 0);
    assert.equal(seen[0].messages.length, 2);
    assert.match(seen[0].messages[1].content, /^Conversation:\nVisitor: how long is the kettle warranty\?\nAssistant: .*\nVisitor: and after that\?$/s);
    assert.match(seen[1].messages[0].content, /\[1\] How long is the kettle warranty\?/);
    // The rewrite failing: searched as asked, answered all the same.
    await p.mock.fail('/v1/chat/completions', 500, 1);
    r = await chat(p, s, 'and after that?');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().sources, undefined);
    // The visitor leaving while the rewrite is asked ends it: a model that
    // never answers held it (its idle timer is a minute; keep-alive
    // comments would reset it for ever).
    const active = async () => Number(((await p.admin('/metrics')).text.match(/^parley_upstream_active (\d+)$/m) || [])[1]);
    const wid = (await p.admin('/v1/admin/widgets')).json().widgets.find((x) => x.id === 'default').widget_id;
    const v = await Visitor.open(p, wid);
    await v.next('session');
    await v.turn('how long is the kettle warranty?');
    const forced = (await p.mock.stats()).forced_failures;
    await p.mock._json('POST', '/_mock/fail', { path: '/v1/chat/completions', status: 500, count: 1, stall: true });
    v.send({ type: 'message', content: 'and after that?' });
    await waitFor(async () => (await p.mock.stats()).forced_failures > forced, 5000, 'the rewrite asked');
    assert.equal(await active(), 1);
    await v.close();
    await waitFor(async () => (await active()) === 0, 5000, 'the rewrite given up with its visitor');
    r = await admin('PATCH', `/v1/admin/agents/${agent.id}`, { rewrite_follow_ups: false });
    assert.equal(r.status, 200);
  });

  test('answer only from the sources: nothing found, a person offered, no model', async () => {
    let r = await admin('PATCH', `/v1/admin/agents/${agent.id}`, { knowledge_only: true });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().knowledge_only, true);
    const before = (await p.mock.completions()).length;
    r = await chat(p, sid('kb'), 'do you sell toasters?');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().message, NONE);
    assert.equal((await p.mock.completions()).length, before, 'the model was not asked');
    // A gap in the knowledge, stored as one, and listed as one.
    const gapConv = r.json().conversationId;
    const m = await storedAnswer(gapConv);
    assert.deepEqual(m.sources, []);
    assert.equal(m.knowledge, 'not_found');
    const gaps = await admin('GET', '/v1/admin/conversations?knowledge=not_found&limit=200');
    assert.equal(gaps.status, 200, gaps.text);
    (await checkerFor(p)).checkJson('GET', '/v1/admin/conversations', gaps);
    const listed = gaps.json().conversations.map((c) => c._id);
    assert.ok(listed.includes(gapConv), JSON.stringify(listed));
    const all = (await admin('GET', '/v1/admin/conversations?limit=200')).json().conversations.length;
    assert.ok(listed.length < all, `${listed.length} of ${all}: only those with a gap`);
    for (const id of listed) {
      const msgs = (await admin('GET', `/v1/admin/conversations/${id}`)).json().messages;
      assert.ok(msgs.some((x) => x.knowledge === 'not_found'), id);
    }
    assert.equal((await admin('GET', '/v1/admin/conversations?knowledge=found')).status, 400);
    // Found: the model answers as before.
    r = await chat(p, sid('kb'), 'the warranty?');
    assert.match(r.json().message, /\[1\]/);
    r = await admin('PATCH', `/v1/admin/agents/${agent.id}`, { knowledge_only: false });
    assert.equal(r.status, 200);
  });

  test('the admin search with agent_id searches that agent\'s sources alone', async () => {
    const other = (await admin('POST', '/v1/admin/knowledge/sources', { type: 'qa', question: 'Is there a kettle warranty card?',
      answer: 'The warranty card is in the box.' })).json();
    let r = await admin('POST', '/v1/admin/knowledge/search', { query: 'kettle warranty', k: 10 });
    assert.ok(r.json().results.some((x) => x.source_id === other.id));
    r = await admin('POST', '/v1/admin/knowledge/search', { query: 'kettle warranty', k: 10, agent_id: agent.id });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual([...new Set(r.json().results.map((x) => x.source_id))], [src.id]);
    // The default agent: all of the organisation's sources.
    r = await admin('POST', '/v1/admin/knowledge/search', { query: 'kettle warranty', k: 10, agent_id: 'default' });
    assert.deepEqual(new Set(r.json().results.map((x) => x.source_id)), new Set([src.id, other.id]));
    r = await admin('POST', '/v1/admin/knowledge/search', { query: 'kettle warranty', agent_id: '0123456789abcdef0123456789abcdef' });
    assert.equal(r.status, 400);
    assert.equal(r.json().error, 'agent_id: no such agent');
    assert.equal((await admin('DELETE', `/v1/admin/knowledge/sources/${other.id}`)).status, 200);
  });

  // A list of numbers in one pair of brackets, as models write them, cites
  // each (it cited none); a number no passage has, none.
  test('"[1, 3]" cites each passage it names; a number no passage has cites nothing', async () => {
    const r = await chat(p, sid('kb'), 'the warranty [[mock:reply=Two years [1%2C 3%5D. [0%5D [-1%5D [7%5D [99999999999999999999%5D [1%2C%5D]]');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json().sources, [{ n: 1, source_id: src.id, title: 'How long is the kettle warranty?', url: '' }], r.text);
    const none = await chat(p, sid('kb'), 'the warranty [[mock:reply=[0%5D [-1%5D [7%5D [99999999999999999999%5D [1%2C%5D [1 %5D]]');
    assert.equal(none.status, 200, none.text);
    assert.equal(none.json().sources, undefined, none.text);
  });

  test('a bracket in code (a code span, a fenced block) cites nothing; one in the text beside it does', async () => {
    const code = 'Use %60list[1%5D%60 or %60%60a[1%5D %60 b%60%60.%0A%60%60%60%0Am[1%5D%0A%60%60%60';
    const none = await chat(p, sid('kb'), `the warranty [[mock:reply=${code}]]`);
    assert.equal(none.status, 200, none.text);
    assert.equal(none.json().sources, undefined, none.text);
    // Cited in the text, after code and after a backtick nothing closes.
    for (const reply of [`${code} Two years[1%5D.`, 'Two years %60 [1%5D.', 'Two years %60%60 x%60 [1%5D.']) {
      const r = await chat(p, sid('kb'), `the warranty [[mock:reply=${reply}]]`);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json().sources?.map((s) => s.n), [1], `${reply}: ${r.text}`);
    }
  });

  // A page's own footnotes ("[2] ..." on a line of its text) read as the
  // prompt's passage markers: the model cited "[2]" from passage 1's
  // text, and the visitor was shown passage 2, a page it never used.
  test('a passage\'s text that holds a line like a marker cites no other passage', async () => {
    const made = [];
    for (const [question, answer] of [['How long is the kettle warranty?', 'Two years.\n[2] Descaling: use citric acid monthly.'],
      ['Which colours?', 'Red and blue kettles.']]) {
      const r = await admin('POST', '/v1/admin/knowledge/sources', { type: 'qa', question, answer });
      assert.equal(r.status, 201, r.text);
      made.push(r.json().id);
    }
    let r = await admin('POST', '/v1/admin/agents', { name: 'Footnotes', knowledge_source_ids: made });
    assert.equal(r.status, 201, r.text);
    const fa = r.json().id;
    r = await admin('PATCH', `/v1/admin/widgets/${dw.widget_id}`, { agent_id: fa });
    assert.equal(r.status, 200, r.text);
    try {
      r = await chat(p, sid('kb'), 'kettle descaling citric');
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json().sources.map((x) => [x.n, x.source_id]), [[1, made[0]]], r.text);
      const sys = await lastSystem();
      assert.match(sys, /\[1\] How long is the kettle warranty\?\nTwo years\.\n\\\[2\] Descaling/, sys);
      assert.match(sys, /\n\n\[2\] Which colours\?\nRed and blue kettles\./, sys);
    } finally {
      await admin('PATCH', `/v1/admin/widgets/${dw.widget_id}`, { agent_id: agent.id });
      await admin('DELETE', `/v1/admin/agents/${fa}`);
      for (const id of made) await admin('DELETE', `/v1/admin/knowledge/sources/${id}`);
    }
  });

  test('the agent\'s source ids are checked; another organisation\'s finds nothing', async () => {
    let r = await admin('PATCH', `/v1/admin/agents/${agent.id}`, { knowledge_source_ids: ['nope'] });
    assert.equal(r.status, 400);
    assert.match(r.json().error, /^knowledge_source_ids: /);
    r = await admin('PATCH', `/v1/admin/agents/${agent.id}`, { knowledge_source_ids: Array(51).fill(src.id) });
    assert.equal(r.status, 400);
    const b = (await admin('POST', '/v1/admin/organizations', { name: 'Other' })).json().id;
    const inB = { 'x-organization-id': b };
    r = await admin('POST', '/v1/admin/knowledge/sources', { type: 'qa', question: 'Kettle warranty?',
      answer: 'Their warranty is ten years.' }, inB);
    assert.equal(r.status, 201, r.text);
    r = await admin('PATCH', `/v1/admin/agents/${agent.id}`, { knowledge_source_ids: [src.id, r.json().id] });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json().error, 'knowledge_source_ids: no such knowledge source');
    r = await chat(p, sid('kb'), 'what is the warranty?');
    assert.equal(r.json().sources.length, 1);
    assert.equal(r.json().sources[0].source_id, src.id);
    assert.doesNotMatch(await lastSystem(), /ten years/);
  });
});
