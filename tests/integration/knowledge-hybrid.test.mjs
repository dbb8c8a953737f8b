// Hybrid search: with PARLEY_EMBED_MODEL set, the fetcher sends each
// page's chunks to the model server's /v1/embeddings (the mock's hashed
// features) and storaged keeps their vectors; each search and each turn
// embeds its question too, and the chunks nearest it are merged with the
// words' hits. A misspelt question, no word of which the page holds, is
// found by meaning; an off-topic one finds nothing (PARLEY_EMBED_MIN_SCORE);
// with the embedding server failing, the words alone are searched, and a
// page stored meanwhile is embedded at the next sync. With
// PARLEY_RERANK_MODEL (in a stack of its own, searching by words), a
// turn's passages are put in the reranker's order (the mock's /v1/rerank)
// before the model gets the first five.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { chat, sid } from './lib/chat.mjs';
import { Parley, QUICK_POLLS, waitFor } from './lib/harness.mjs';
import { adminCall, checkerFor } from './lib/openapi.mjs';

const S = '/v1/admin/knowledge/sources';

// parley_tokens_total{kind} summed over the workers, once it is above 0.
async function tokensCounted(p, kind) {
  let n = 0;
  await waitFor(async () => {
    const r = await p.request('GET', '/metrics', { headers: { 'x-admin-api-key': p.adminKey } });
    const m = new RegExp(`^parley_tokens_total\\{kind="${kind}"\\} (\\d+)$`, 'm').exec(r.text);
    n = m ? Number(m[1]) : 0;
    return n > 0;
  }, 5000, `${kind} tokens counted`);
  return n;
}
// Its cosine with the page's chunk is 0.26 with the mock, 0.02 with the
// other page's; no word of it is the page's, stemmed or not.
const TYPO = 'desscaling kettel';

describe('hybrid knowledge search (embeddings)', () => {
  let p;
  let call;
  let descaling;
  let hours;

  async function upload(name, body) {
    const s = (await call('POST', S, { type: 'file', url: name })).json();
    const r = await p.request('PUT', `${S}/${s.id}/file`, { headers: { 'x-admin-api-key': p.adminKey,
      'content-type': 'text/markdown' }, body });
    assert.equal(r.status, 200, r.text);
    let got;
    await waitFor(async () => {
      got = (await call('GET', `${S}/${s.id}`)).json();
      return got.status !== 'syncing';
    }, 20000, `source ${s.id} synced`);
    assert.equal(got.status, 'ready', got.error);
    return got;
  }

  async function found(query, extra = {}) {
    const r = await call('POST', '/v1/admin/knowledge/search', { query, k: 5, ...extra });
    assert.equal(r.status, 200, r.text);
    return r.json().results;
  }

  before(async () => {
    p = new Parley({ workers: 1, mock: true, env: { RATE_LIMIT_MAX_REQUESTS: '0',
      PARLEY_EMBED_MODEL: 'mock-embed', PARLEY_EMBED_MIN_SCORE: '200', PARLEY_MODEL_ALLOW_PRIVATE: 'on', ...QUICK_POLLS } });
    await p.start();
    const api = await checkerFor(p);
    call = (method, pathname, body) => adminCall(p, api, method, pathname, body);
    await p.mock.resetStats();
    descaling = await upload('descaling.md', '# Descaling\n\nDescale the kettle every month with citric acid dissolved in water.\n');
    hours = await upload('hours.md', '# Opening hours\n\nThe shop opens at nine and closes at five.\n');
  });
  after(async () => {
    if (p) await p.stop();
  });

  test('the fetcher embeds each page\'s chunks with the install\'s model', async () => {
    const st = await p.mock.stats();
    assert.ok(st.embed_inputs >= 2, JSON.stringify(st));
    const reqs = (await p.mock.requests()).filter((r) => /\/embeddings$/.test(r.path));
    assert.ok(reqs.length >= 2);
    assert.equal(reqs[0].body.model, 'mock-embed');
    assert.match(reqs[0].body.input[0], /Descale the kettle every month/);
    // The tokens the embedding model reported for a source's pages, on the source.
    const got = (await call('GET', `${S}/${descaling.id}`)).json();
    assert.ok(got.embedding_tokens >= 10, JSON.stringify(got));
  });

  test('a misspelt question is found by meaning, and only by it', async () => {
    let hits = await found(TYPO);
    assert.equal(hits.length, 1, JSON.stringify(hits));
    assert.equal(hits[0].source_id, descaling.id);
    assert.equal(hits[0].title, 'Descaling');
    // The embedding server down: the words alone, which find nothing.
    await p.mock.fail('/v1/embeddings', 500, 2);
    hits = await found(TYPO);
    assert.deepEqual(hits, []);
    await p.mock.fail('/v1/embeddings', 500, 0);
    // Found by words and by meaning: the fused order puts it first.
    hits = await found('when does the shop open');
    assert.equal(hits[0].source_id, hours.id);
  });

  test('an off-topic question finds nothing, however near its nearest', async () => {
    assert.deepEqual(await found('zebra migration patterns'), []);
  });

  test('a turn embeds the question and gives the model what meaning found', async () => {
    let r = await call('POST', '/v1/admin/agents', { name: 'Kettle help', knowledge_source_ids: [descaling.id],
      knowledge_only: true });
    assert.equal(r.status, 201, r.text);
    const agent = r.json();
    const dw = (await call('GET', '/v1/admin/widgets')).json().widgets[0];
    r = await call('PATCH', `/v1/admin/widgets/${dw.widget_id}`, { agent_id: agent.id });
    assert.equal(r.status, 200, r.text);
    // The agent's sources alone: the other file is not its.
    assert.equal((await found(TYPO, { agent_id: agent.id }))[0].source_id, descaling.id);
    assert.deepEqual(await found('when does the shop open', { agent_id: agent.id }), []);
    const before = (await p.mock.stats()).embed_requests;
    r = await chat(p, sid('hy'), TYPO);
    assert.equal(r.status, 200, r.text);
    // The model was asked (an agent answering only from its sources
    // that found nothing would not ask it), with the passage meaning found.
    assert.doesNotMatch(r.json().message, /I don't know the answer/);
    assert.ok((await p.mock.stats()).embed_requests > before);
    const seen = await p.mock.completions();
    const sys = seen[seen.length - 1].body.messages.find((m) => m.role === 'system').content;
    assert.match(sys, /\[1\] Descaling \(descaling\.md\)\nDescale the kettle every month/);
    // The questions' embedding tokens, counted by the workers (the mock reports a word a token).
    assert.ok(await tokensCounted(p, 'embedding') >= 2);
  });

  test('an agent\'s own embedding model: its sources embedded again in a space of their own, its questions by it', async () => {
    const embeds = async (model) => (await p.mock.requests()).filter((x) => /\/embeddings$/.test(x.path) && x.body.model === model);
    await p.mock.clearRequests();
    const before = (await call('GET', `${S}/${descaling.id}`)).json().synced_at;
    let r = await call('POST', '/v1/admin/agents', { name: 'Own embeddings', knowledge_source_ids: [descaling.id],
      base_url: p.mock.baseUrl, embedding_model: 'mock-embed-b' });
    assert.equal(r.status, 201, r.text);
    const agent = r.json();
    assert.equal(agent.embedding_model, 'mock-embed-b');
    // Saved, its source syncs again: its unchanged page is read again for the new space.
    await waitFor(async () => (await call('GET', `${S}/${descaling.id}`)).json().synced_at > before, 20000, 'the source synced again');
    const pageEmbeds = await embeds('mock-embed-b');
    assert.equal(pageEmbeds.length, 1, JSON.stringify(pageEmbeds.map((x) => x.body)));
    assert.match(pageEmbeds[0].body.input[0], /Descale the kettle every month/);
    // The other file is not the agent's: not embedded by its model.
    assert.ok(!pageEmbeds.some((x) => x.body.input.some((t) => /opens at nine/.test(t))));
    // A re-sync with nothing changed reads nothing again: the page holds both spaces.
    const then = (await call('GET', `${S}/${descaling.id}`)).json().synced_at;
    assert.equal((await call('POST', `${S}/${descaling.id}/sync`)).status, 200);
    await waitFor(async () => (await call('GET', `${S}/${descaling.id}`)).json().synced_at > then, 20000, 'synced');
    assert.equal((await embeds('mock-embed-b')).length, 1);
    // "Test a question" for the agent embeds by its model, and meaning finds the page in its space.
    await p.mock.clearRequests();
    const hits = await found(TYPO, { agent_id: agent.id });
    assert.equal(hits.length, 1, JSON.stringify(hits));
    assert.equal(hits[0].source_id, descaling.id);
    assert.deepEqual((await embeds('mock-embed-b')).map((x) => x.body.input), [[TYPO]]);
    assert.equal((await embeds('mock-embed')).length, 0);
    // A turn too.
    const dw = (await call('GET', '/v1/admin/widgets')).json().widgets[0];
    assert.equal((await call('PATCH', `/v1/admin/widgets/${dw.widget_id}`, { agent_id: agent.id })).status, 200);
    await p.mock.clearRequests();
    r = await chat(p, sid('own'), TYPO);
    assert.equal(r.status, 200, r.text);
    assert.equal((await embeds('mock-embed-b')).length, 1);
    const seen = await p.mock.completions();
    const sys = seen[seen.length - 1].body.messages.find((m) => m.role === 'system').content;
    assert.match(sys, /\[1\] Descaling \(descaling\.md\)/);
    // The source deleted: found no more (its vectors leave every space: test_kbvec's test_spaces).
    assert.equal((await call('DELETE', `${S}/${descaling.id}`)).status, 200);
    await waitFor(async () => (await found(TYPO, { agent_id: agent.id })).length === 0, 10000, 'nothing found once deleted');
  });

  test('a page stored while the embedding server failed gets its vectors at the next sync, its bytes unchanged', async () => {
    // Its cosine with the page's chunk is 0.27 with the mock; no word of it is the page's.
    const paraphrase = 'cofee grinderz';
    // Sustained 429s through the file's sync: kept without vectors, found by its words alone.
    await p.mock.fail('/v1/embeddings', 429, 50);
    const grinder = await upload('grinder.md', '# Grinder\n\nClean the coffee grinder burrs weekly with rice tablets.\n');
    await p.mock.fail('/v1/embeddings', 429, 0);
    assert.equal((await found('coffee grinder'))[0].source_id, grinder.id);
    assert.ok(!(await found(paraphrase)).some((x) => x.source_id === grinder.id));
    // Synced again, the same bytes: read and embedded again, found by meaning.
    await p.mock.clearRequests();
    assert.equal((await call('POST', `${S}/${grinder.id}/sync`)).status, 200);
    await waitFor(async () => (await call('GET', `${S}/${grinder.id}`)).json().status === 'ready', 20000, 'synced again');
    const embedded = (await p.mock.requests()).filter((x) => /\/embeddings$/.test(x.path) &&
      x.body.input.some((t) => /coffee grinder burrs/.test(t)));
    assert.equal(embedded.length, 1);
    const hits = await found(paraphrase);
    assert.ok(hits.some((x) => x.source_id === grinder.id), JSON.stringify(hits));
    // A sync with nothing missing reads nothing again.
    await p.mock.clearRequests();
    const then = (await call('GET', `${S}/${grinder.id}`)).json().synced_at;
    assert.equal((await call('POST', `${S}/${grinder.id}/sync`)).status, 200);
    await waitFor(async () => (await call('GET', `${S}/${grinder.id}`)).json().synced_at > then, 20000, 'synced');
    assert.equal((await p.mock.requests()).filter((x) => /\/embeddings$/.test(x.path)).length, 0);
  });
});

describe('reranked passages (PARLEY_RERANK_MODEL, words alone)', () => {
  let p;
  let call;

  before(async () => {
    p = new Parley({ workers: 1, mock: true, env: { RATE_LIMIT_MAX_REQUESTS: '0', PARLEY_RERANK_MODEL: 'mock-rerank', ...QUICK_POLLS } });
    await p.start();
    call = async (method, pathname, body, type = 'application/json') => p.request(method, pathname, {
      headers: { 'x-admin-api-key': p.adminKey, 'content-type': type },
      body: body === undefined ? undefined : type === 'application/json' ? JSON.stringify(body) : body,
    });
  });
  after(async () => {
    if (p) await p.stop();
  });

  test('a turn\'s passages, and the admin search\'s, in the reranker\'s order; the search\'s when it fails', async () => {
    // The words put the first file ahead (all three in its title); its
    // text is about something else, which the reranker reads.
    const files = {
      'orders.md': '# Cleaning water kettle\n\nOrders ship from our warehouse in Leeds by courier. Parcels over two kilos go by ' +
        'freight, and returns are collected at the door within five working days of the request.\n',
      'care.md': '# Care\n\nTo clean the kettle, rinse it with water and wipe it with a soft cloth.\n',
      'faq.md': '# Kettle FAQ\n\n## Cleaning\n\nClean the kettle with a soft cloth; never in the dishwasher.\n\n' +
        '## Water\n\nFill the kettle with fresh water up to the max line.\n',
    };
    const ids = [];
    for (const [name, body] of Object.entries(files)) {
      const s = (await call('POST', S, { type: 'file', url: name })).json();
      assert.equal((await call('PUT', `${S}/${s.id}/file`, body, 'text/markdown')).status, 200);
      ids.push(s.id);
    }
    await waitFor(async () => (await call('GET', S)).json().sources.every((x) => x.status === 'ready'), 20000, 'the files read');
    let r = await call('POST', '/v1/admin/agents', { name: 'Reranked', knowledge_source_ids: ids });
    assert.equal(r.status, 201, r.text);
    const agentId = r.json().id;
    const dw = (await call('GET', '/v1/admin/widgets')).json().widgets[0];
    assert.equal((await call('PATCH', `/v1/admin/widgets/${dw.widget_id}`, { agent_id: agentId })).status, 200);
    await p.mock.clearRequests();
    const q = 'cleaning water kettle';
    r = await chat(p, sid('rr'), q);
    assert.equal(r.status, 200, r.text);
    const reqs = await p.mock.requests();
    const rr = reqs.filter((x) => /\/rerank$/.test(x.path));
    assert.equal(rr.length, 1);
    assert.equal(rr[0].body.model, 'mock-rerank');
    assert.equal(rr[0].body.query, q);
    assert.equal(rr[0].body.documents.length, 3);
    // The same documents scored by the mock: the prompt holds them in that order.
    const scored = await (await fetch(`${p.mock.baseUrl}/rerank`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', query: q, documents: rr[0].body.documents }) })).json();
    const want = scored.results.map((x) => rr[0].body.documents[x.index].split('\n').slice(1).join('\n'));
    const sys = reqs.filter((x) => /\/chat\/completions$/.test(x.path)).pop().body.messages[0].content;
    const got = sys.split(/\n\n\[\d+\] /).slice(1).map((x) => x.split('\n').slice(1).join('\n'));
    assert.deepEqual(got, want);
    // The admin search ("Test a question") gives the same order, each score the reranker's.
    r = await call('POST', '/v1/admin/knowledge/search', { query: q, k: 5, agent_id: agentId });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json().results.map((x) => x.text), want);
    r.json().results.forEach((x, i) => assert.ok(Math.abs(x.score - scored.results[i].relevance_score) < 2e-6,
      `${x.score} against ${scored.results[i].relevance_score}`));
    // The reranker failing: the search's own order, which is another, and the answer all the same.
    await p.mock.fail('/v1/rerank', 500, 2);
    await p.mock.clearRequests();
    r = await chat(p, sid('rr'), q);
    assert.equal(r.status, 200, r.text);
    const sys2 = (await p.mock.requests()).filter((x) => /\/chat\/completions$/.test(x.path)).pop().body.messages[0].content;
    const searchOrder = sys2.split(/\n\n\[\d+\] /).slice(1).map((x) => x.split('\n').slice(1).join('\n'));
    assert.equal(searchOrder.length, 3);
    assert.notDeepEqual(searchOrder, want);
    await waitFor(() => /passages not reranked/.test(p.logs.masterd), 5000, 'the failure logged');
    assert.ok(await tokensCounted(p, 'rerank') > 0);
  });
});
