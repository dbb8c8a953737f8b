// What a turn's search finds at the edges: an agent tied to a few sources
// finds its own passages when the organisation's other sources match the
// question better (the search keeps the agent's chunks before it ranks,
// kbindex.h's kb_filter); a question over ST_KB_QUERY_MAX bytes is
// searched by its first 2,000 bytes, cut at a character; a question of
// more than 32 distinct terms is searched by the 32 rarest, not by the
// 32 first in byte order.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { chat, sid } from './lib/chat.mjs';
import { Parley, QUICK_POLLS, waitFor } from './lib/harness.mjs';
import { receiver } from './lib/receiver.mjs';

const NONE = "I'm sorry, I don't know the answer to that from what I have been given. Would you like to talk to a person?";

describe('retrieval at the edges', { concurrency: 1 }, () => {
  let p;

  const admin = (method, path, body) => p.request(method, path, {
    headers: { 'content-type': 'application/json', 'x-admin-api-key': p.adminKey },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const qa = async (question, answer) => {
    const r = await admin('POST', '/v1/admin/knowledge/sources', { type: 'qa', question, answer });
    assert.equal(r.status, 201, r.text);
    return r.json();
  };
  // A knowledge-only agent of sources, the default widget's.
  const agentOf = async (name, sources) => {
    let r = await admin('POST', '/v1/admin/agents', { name, knowledge_source_ids: sources, knowledge_only: true });
    assert.equal(r.status, 201, r.text);
    const agent = r.json();
    const dw = (await admin('GET', '/v1/admin/widgets')).json().widgets[0];
    r = await admin('PATCH', `/v1/admin/widgets/${dw.widget_id}`, { agent_id: agent.id });
    assert.equal(r.status, 200, r.text);
    return agent;
  };
  const knowledgeOf = async (conv) => {
    const r = await admin('GET', `/v1/admin/conversations/${conv}`);
    assert.equal(r.status, 200, r.text);
    return r.json().messages.filter((m) => m.role === 'assistant').pop().knowledge;
  };

  before(async () => {
    p = new Parley({ workers: 1, mock: true, env: { RATE_LIMIT_MAX_REQUESTS: '0', PARLEY_KNOWLEDGE_ALLOW_PRIVATE: 'on', ...QUICK_POLLS } });
    await p.start();
  });
  after(async () => {
    if (p) await p.stop();
  });

  test('an agent\'s own passage is found when 12 other sources match better', async () => {
    const mine = await qa('Kettle app login', 'To reset your password open the kettle app settings.');
    const agent = await agentOf('Kettle', [mine.id]);
    for (let i = 0; i < 12; i++)
      await qa(`Password reset for toaster model T${i}`, `Password reset: hold the T${i} button to reset the password.`);
    let r = await admin('POST', '/v1/admin/knowledge/search', { query: 'password reset', k: 50 });
    const all = r.json().results.map((x) => x.title);
    assert.ok(all.indexOf('Kettle app login') >= 12, JSON.stringify(all));
    r = await admin('POST', '/v1/admin/knowledge/search', { query: 'password reset', k: 5, agent_id: agent.id });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json().results.map((x) => x.source_id), [mine.id]);
    r = await chat(p, sid('kb'), 'password reset');
    assert.equal(r.status, 200, r.text);
    assert.notEqual(r.json().message, NONE);
    assert.deepEqual(r.json().sources.map((x) => x.source_id), [mine.id]);
  });

  // The best k chunks were kept before the owner's Q&As were moved ahead
  // of the pages': a matching Q&A that 12 page chunks outranked never
  // reached the prompt, and the page's other answer won. The Q&A holds
  // the question's three words (it truly matches: its score by words is
  // over a third of the page chunks'; one sharing a single word with the
  // question ranks by its score, storaged/kbsource.c's QA_SHARE).
  test('a matching Q&A comes first though a page\'s chunks outrank it', async () => {
    let body = '';
    for (let i = 0; i < 12; i++) {
      body += `<h2>Puffin heater warranty ${i}</h2><p>The puffin heater warranty covers the puffin heater for two years; ` +
        `puffin heater warranty claims go to the shop, section ${i}. ${'Filler words describe installation and cleaning steps. '.repeat(12)}</p>`;
    }
    const site = await receiver((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><html lang="en"><head><title>Puffins</title></head><body><main>${body}</main></body></html>`);
    });
    const made = [];
    try {
      let r = await admin('POST', '/v1/admin/knowledge/sources', { type: 'crawl', url: site.url('/') });
      assert.equal(r.status, 201, r.text);
      const page = r.json();
      made.push(page.id);
      await waitFor(async () => (await admin('GET', `/v1/admin/knowledge/sources/${page.id}`)).json().status === 'ready', 20000, 'the page synced');
      const answer = await qa('What does the guarantee on heating products cover, and for how long?',
        'Since March the warranty on every puffin heater is five years, parts and labour.');
      made.push(answer.id);
      const agent = await agentOf('Puffins', [page.id, answer.id]);
      r = await admin('POST', '/v1/admin/knowledge/search', { query: 'puffin heater warranty', k: 20 });
      const all = r.json().results.map((x) => x.source_id);
      assert.ok(all.indexOf(answer.id) >= 5, `the Q&A ranks below five page chunks: ${all.indexOf(answer.id)}`);
      r = await admin('POST', '/v1/admin/knowledge/search', { query: 'puffin heater warranty', k: 5, agent_id: agent.id });
      assert.equal(r.json().results[0]?.source_id, answer.id, JSON.stringify(r.json().results.map((x) => x.source_id)));
      r = await chat(p, sid('qa-first'), 'puffin heater warranty');
      assert.equal(r.status, 200, r.text);
      const seen = await p.mock.completions();
      assert.match(seen[seen.length - 1].body.messages.find((m) => m.role === 'system').content, /five years/);
    } finally {
      await site.close();
      // The tests after this one search warranties too.
      for (const id of made) await admin('DELETE', `/v1/admin/knowledge/sources/${id}`);
    }
  });

  test('a question over 2,000 bytes is searched by its first 2,000, cut at a character', async () => {
    const src = await qa('How long is the blender warranty?', 'The blender warranty lasts two years from purchase.');
    await agentOf('Blender', [src.id]);
    // 29 bytes, then two-byte characters: byte 2,000 falls inside one.
    const pad = 'ж'.repeat(1000);
    let q = 'what is the blender warranty? ' + pad;
    assert.ok(Buffer.byteLength(q) > 2000 && Buffer.byteLength(q) % 2 === 0);
    let r = await chat(p, sid('kb'), q);
    assert.equal(r.status, 200, r.text);
    assert.notEqual(r.json().message, NONE);
    assert.deepEqual(r.json().sources.map((x) => x.source_id), [src.id]);
    assert.equal(await knowledgeOf(r.json().conversationId), 'found');
    // Nothing found: the agent says so, the model not asked, a gap kept.
    const n0 = (await p.mock.completions()).length;
    q = 'do you sell microwaves? ' + pad;
    r = await chat(p, sid('kb'), q);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().message, NONE);
    assert.equal((await p.mock.completions()).length, n0, 'the model was not asked');
    assert.equal(await knowledgeOf(r.json().conversationId), 'not_found');
  });

  // Copies were dropped after the best k were taken: three copies among
  // the best three left one passage where four others matched.
  test('copies of one passage take one place: k distinct passages when there are k', async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await qa('Juicer warranty', 'The juicer warranty lasts two years.')).id);
    for (let i = 0; i < 4; i++) ids.push((await qa(`Juicer model J${i}`, `Model J${i} juicer holds ${i + 1} litres; warranty as usual.`)).id);
    const agent = await agentOf('Juicer', ids);
    for (const k of [2, 3, 5]) {
      for (const body of [{ query: 'juicer warranty', k }, { query: 'juicer warranty', k, agent_id: agent.id }]) {
        const r = await admin('POST', '/v1/admin/knowledge/search', body);
        assert.equal(r.status, 200, r.text);
        const titles = r.json().results.map((x) => x.title);
        assert.equal(titles.length, k, `${JSON.stringify(body)}: ${titles}`);
        assert.equal(new Set(titles.map((t, i) => t + r.json().results[i].text)).size, k, `no copies: ${titles}`);
      }
    }
  });

  // The question's terms were cut at its 128th word, repeats counted,
  // before its distinct ones were: a word after it was never searched.
  test('a long question\'s last word is searched: 150 words, then the one that matters', async () => {
    const src = await qa('Xylophone tuning', 'Tune the xylophone bars with a file.');
    for (const q of ['order '.repeat(150) + 'xylophone', 'please '.repeat(150) + 'how do I tune my xylophone?']) {
      assert.ok(Buffer.byteLength(q) <= 2000);
      const r = await admin('POST', '/v1/admin/knowledge/search', { query: q, k: 5 });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json().results[0]?.source_id, src.id, q.slice(-30));
    }
  });

  // Every Q&A's chunk has no URL: they were all one "page", so the best
  // Q&A lifted every other one (a page's share) over a better match.
  test('a Q&A is a page of its own: another Q&A that matches well lifts no unrelated one', async () => {
    let r = await admin('POST', '/v1/admin/knowledge/sources', { type: 'file', url: 'toaster.md' });
    assert.equal(r.status, 201, r.text);
    const toaster = r.json().id;
    r = await p.request('PUT', `/v1/admin/knowledge/sources/${toaster}/file`, {
      headers: { 'content-type': 'text/markdown', 'x-admin-api-key': p.adminKey },
      body: '# Toaster care\n\nThe toaster warranty lasts one year from the day you buy it.\n',
    });
    assert.equal(r.status, 200, r.text);
    await waitFor(async () => (await admin('GET', `/v1/admin/knowledge/sources/${toaster}`)).json().status === 'ready', 20000, 'the file read');
    await qa('Do you ship abroad?', 'We ship to every country in Europe and most of the world. Parcels leave our warehouse daily, ' +
      'tracked, and a warranty card is in every box. Customs fees are paid by the buyer on delivery.');
    await qa('Steamer warranty', 'The steamer warranty lasts two years.');
    r = await admin('POST', '/v1/admin/knowledge/search', { query: 'steamer warranty', k: 10 });
    const titles = r.json().results.map((x) => x.title);
    assert.equal(titles[0], 'Steamer warranty', JSON.stringify(titles));
    assert.ok(titles.indexOf('Toaster care') >= 0 && titles.indexOf('Toaster care') < titles.indexOf('Do you ship abroad?'), JSON.stringify(r.json().results.map((x) => [x.title, x.score])));
  });

  test('a question of more than 32 distinct terms keeps its rarest', async () => {
    const src = await qa('How long is the grinder guarantee?', 'The grinder guarantee lasts two years.');
    const words = 'bought my daughter a lovely new black steel electric device at your big downtown branch ' +
      'store because our old cheap plastic broken noisy leaky ugly one finally died after eight good years; ' +
      'anyway here is my question about it, since the box, the receipt, the bag, the card and the manual all ' +
      'got lost during a busy chaotic house move in april; absolutely amazing awful basic brilliant clean ' +
      'classic dear elegant extra fancy fine glass handy heavy huge:';
    for (const q of ['grinder guarantee? ' + words, words + ' grinder guarantee?']) {
      const r = await admin('POST', '/v1/admin/knowledge/search', { query: q, k: 5 });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json().results[0]?.source_id, src.id, q.slice(0, 40));
    }
  });
});
