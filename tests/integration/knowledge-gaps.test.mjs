// Knowledge gaps (GET /v1/admin/knowledge-gaps, POST .../resolve) made by
// real traffic through the widget's socket, stored by storaged in the
// transaction that shows each:
//   - a thumbs down on an answer: its question is a gap (thumbs_down);
//     the thumb taken back (up): the gap goes;
//   - an answer saying the assistant does not know (dont_know);
//   - an agent that answers only from its sources finding nothing
//     (not_found, and its "I don't know" answer: dont_know);
//   - a visitor asking for a person (handoff);
//   - a question answered well: no gap.
// The similar wordings ("How do I return a jacket?", "how can I return my
// jacket", "Returning jackets: how?") are one group, the others apart;
// the document's schemas hold; resolving a group's ids deletes them;
// another organisation sees none and cannot delete them; a deleted
// conversation's gaps go with it; bad parameters are 400; small talk
// ("hi", "thanks", "can a person help me?") before "Talk to a person" or
// a thumbs down is no gap, a question beside it still is, and small talk
// after a question leaves that question the gap.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { assertJsonError } from './lib/checks.mjs';
import { Parley } from './lib/harness.mjs';
import { checkerFor } from './lib/openapi.mjs';
import { addKey } from './lib/people.mjs';
import { createWidget, Visitor } from './lib/wsclient.mjs';

const G = '/v1/admin/knowledge-gaps';

// A mock reply= directive: the model answers text.
function reply(text) {
  const enc = [...Buffer.from(text, 'utf8')].map((b) => {
    const c = String.fromCharCode(b);
    return /[A-Za-z0-9 ]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }).join('');
  return `[[mock:reply=${enc}]]`;
}

describe('knowledge gaps', { concurrency: 1 }, () => {
  let p;
  let api;
  let w;
  const admin = (method, path, body) => p.adminJson(method, path, body);

  // A visitor of widget w asks text: {v, id (the answer's), conv}.
  async function ask(text, widget = w) {
    const v = await Visitor.open(p, widget.widget_id);
    await v.next('session');
    const { message } = await v.turn(text);
    return { v, id: message.id };
  }
  async function thumb(v, id, value) {
    v.send({ type: 'feedback', message_id: id, value });
    return v.next();
  }
  async function gaps(query = '') {
    const r = await p.request('GET', `${G}${query}`, { headers: { 'x-admin-api-key': p.adminKey } });
    assert.equal(r.status, 200, r.text);
    api.checkJson('GET', G, r);
    return r.json();
  }

  before(async () => {
    p = new Parley({ workers: 2, mock: true, env: { RATE_LIMIT_MAX_REQUESTS: '0' } });
    await p.start();
    api = await checkerFor(p);
    w = await createWidget(p, { name: 'Shop', handoff_enabled: true });
  });
  after(() => p?.stop());

  test('thumbs down, "I don\'t know", nothing found and a handoff make gaps, grouped by wording', async () => {
    const a = await ask('How do I return a jacket?');
    assert.equal((await thumb(a.v, a.id, 'down')).type, 'feedback_saved');
    // An agent answering only from its sources, for a second widget.
    let r = await admin('POST', '/v1/admin/knowledge/sources', { type: 'qa',
      question: 'How long is the kettle warranty?', answer: 'Two years from purchase.' });
    assert.equal(r.status, 201, r.text);
    const source = r.json().id;
    r = await admin('POST', '/v1/admin/agents', { name: 'Kettles', knowledge_source_ids: [source], knowledge_only: true });
    assert.equal(r.status, 201, r.text);
    const kettles = r.json();
    const kw = await createWidget(p, { name: 'Kettle shop', agent_id: kettles.id });
    // Nothing found: the agent says it does not know.
    const b = await ask('how can I return my jacket', kw);
    // The source gone: the default agent (which searches all of the
    // organisation's sources) finds none, so w's answers are no
    // not_found gaps.
    assert.equal((await admin('DELETE', `/v1/admin/knowledge/sources/${source}`)).status, 200);
    const c = await ask('Returning jackets: how?');
    assert.equal((await thumb(c.v, c.id, 'down')).type, 'feedback_saved');
    // The model says it could not find it.
    const d = await ask(`Where is my parcel? ${reply('Sorry, I couldn\u2019t find your order.')}`);

    // Answered well: nothing.
    const fine = await ask('What colours do the hats come in?');
    assert.equal((await thumb(fine.v, fine.id, 'up')).type, 'feedback_saved');
    // Down, then taken back: nothing either.
    const back = await ask('Do you ship to Norway?');
    await thumb(back.v, back.id, 'down');
    await thumb(back.v, back.id, 'up');

    // The visitor asks for a person.
    const h = await ask('Can someone look at my invoice number 4411?');
    h.v.send({ type: 'request_human' });
    assert.equal((await h.v.next('handoff')).state, 'waiting_human');
    for (const x of [a, b, c, d, fine, back, h]) await x.v.close();

    const all = await gaps();
    assert.equal(all.total, 5, JSON.stringify(all.groups.map((g) => g.question)));
    assert.equal(all.truncated, false);
    const [jackets, ...rest] = all.groups;
    assert.equal(jackets.count, 3, JSON.stringify(all.groups.map((g) => g.question)));
    assert.equal(jackets.question, 'Returning jackets: how?', 'the newest question stands for its group');
    assert.deepEqual(jackets.reasons, { handoff: 0, thumbs_down: 2, dont_know: 1, not_found: 1 });
    assert.equal(jackets.gap_ids.length, 3);
    assert.deepEqual(jackets.examples.map((e) => e.question),
      ['Returning jackets: how?', 'how can I return my jacket', 'How do I return a jacket?']);
    assert.deepEqual(jackets.examples[1].reasons, ['dont_know', 'not_found']);
    assert.deepEqual(jackets.examples[2].reasons, ['thumbs_down']);
    assert.equal(jackets.examples[1].agent_id, kettles.id);
    assert.equal(jackets.examples[0].agent_id, 'default', 'the default agent as agent_id=default names it');
    assert.match(jackets.examples[0].conversation_id, /^[0-9a-f]{32}$/);
    assert.equal(jackets.examples[0].widget_id, w.id);

    const byQ = Object.fromEntries(rest.map((g) => [g.question.replace(/ \[\[.*/, ''), g]));
    assert.deepEqual(Object.keys(byQ).sort(), ['Can someone look at my invoice number 4411?', 'Where is my parcel?']);
    assert.deepEqual(byQ['Can someone look at my invoice number 4411?'].reasons, { handoff: 1, thumbs_down: 0, dont_know: 0, not_found: 0 });
    assert.deepEqual(byQ['Where is my parcel?'].reasons, { handoff: 0, thumbs_down: 0, dont_know: 1, not_found: 0 });

    // Filters.
    const only = await gaps(`?agent_id=${kettles.id}`);
    assert.deepEqual(only.groups.map((g) => g.question), ['how can I return my jacket']);
    assert.equal((await gaps(`?widget_id=${encodeURIComponent(w.id)}`)).total, 4);
    assert.equal((await gaps('?agent_id=default')).total, 4, 'the default agent\'s');
  });

  test('resolve: a group\'s ids go; another organisation sees none and deletes none', async () => {
    const before = await gaps();
    const jackets = before.groups[0];
    const org = await admin('POST', '/v1/admin/organizations', { name: 'Other' });
    assert.equal(org.status, 201, org.text);
    const key = await addKey(p, { org: org.json().id, role: 'admin' });
    const as = (method, path, body) => p.request(method, path, {
      headers: { 'x-admin-api-key': key.key, 'Content-Type': 'application/json' }, body: body && JSON.stringify(body),
    });
    let r = await as('GET', G);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json(), { groups: [], total: 0, truncated: false });
    r = await as('POST', `${G}/resolve`, { ids: jackets.gap_ids });
    assert.deepEqual(r.json(), { deleted: 0 });
    assert.equal((await gaps()).total, before.total, 'nothing of ours deleted');

    r = await admin('POST', `${G}/resolve`, { ids: jackets.gap_ids });
    assert.equal(r.status, 200, r.text);
    api.checkJson('POST', `${G}/resolve`, r);
    assert.deepEqual(r.json(), { deleted: 3 });
    const after = await gaps();
    assert.equal(after.total, before.total - 3);
    assert.ok(!after.groups.some((g) => g.question === jackets.question));
    r = await admin('POST', `${G}/resolve`, { ids: jackets.gap_ids });
    assert.deepEqual(r.json(), { deleted: 0 }, 'twice: nothing more');
  });

  test('a deleted conversation takes its gaps with it', async () => {
    const now = await gaps();
    const g = now.groups.find((x) => x.reasons.handoff === 1);
    const conv = g.examples[0].conversation_id;
    const r = await admin('DELETE', `/v1/admin/conversations/${conv}`);
    assert.equal(r.status, 204, r.text);
    const left = await gaps();
    assert.equal(left.total, now.total - 1);
    assert.ok(!left.groups.some((x) => x.examples.some((e) => e.conversation_id === conv)));
  });

  test('bad parameters and bodies are 400', async () => {
    for (const [q, msg] of [['?days=0', 'days: must be 1 to 366'], ['?days=367', 'days: must be 1 to 366'],
      ['?days=x', 'days: must be 1 to 366'], ['?widget_id=%20', 'widget_id: must be a widget\'s id'],
      ['?agent_id=nope', 'agent_id: must be an agent\'s id or default'], ['?days=%zz', 'Invalid query parameters']]) {
      assertJsonError(await p.request('GET', `${G}${q}`, { headers: { 'x-admin-api-key': p.adminKey } }), 400, msg);
    }
    for (const [body, msg] of [[{}, 'ids: an array of 1 to 500 gap ids'], [{ ids: [] }, 'ids: an array of 1 to 500 gap ids'],
      [{ ids: Array(501).fill('0'.repeat(40)) }, 'ids: an array of 1 to 500 gap ids'],
      [{ ids: ['nope'] }, 'ids: each a gap\'s id (40 hex digits)'], [{ ids: [7] }, 'ids: each a gap\'s id (40 hex digits)'],
      [{ ids: ['0'.repeat(40)], more: 1 }, 'ids: an array of 1 to 500 gap ids']]) {
      assertJsonError(await admin('POST', `${G}/resolve`, body), 400, msg);
    }
  });

  // Each question was analysed in its visitor's browser language: the
  // same words from an English and a German browser were two groups.
  test('one wording is one group whatever each visitor\'s browser language', async () => {
    const shop = await createWidget(p, { name: 'Jackets' });
    for (const language of ['en-US', 'de-DE', 'fr-FR', '']) {
      const v = await Visitor.open(p, shop.widget_id);
      await v.next('session');
      if (language) v.send({ type: 'visitor', language, pageUrl: 'https://example.com/', userAgent: 'x', timeZone: 'UTC' });
      const { message } = await v.turn('How do I return a padded jacket?');
      assert.equal((await thumb(v, message.id, 'down')).type, 'feedback_saved');
      await v.close();
    }
    const mine = (await gaps(`?widget_id=${shop.id}`)).groups;
    assert.deepEqual(mine.map((g) => [g.question, g.count]), [['How do I return a padded jacket?', 4]]);
  });

  // A greeting, thanks or asking for a person then "Talk to a person"
  // counted as questions the knowledge base could not answer.
  test('small talk before a handoff or a thumbs down is no gap; a question is', async () => {
    const shop = await createWidget(p, { name: 'Small talk', handoff_enabled: true });
    for (const text of ['hi', 'Thanks!', 'Can a person help me?', 'Can a person look at my invoice?']) {
      const a = await ask(text, shop);
      a.v.send({ type: 'request_human' });
      assert.equal((await a.v.next('handoff')).state, 'waiting_human');
      await a.v.close();
    }
    const t = await ask('thank you, bye', shop);
    assert.equal((await thumb(t.v, t.id, 'down')).type, 'feedback_saved');
    await t.v.close();
    const mine = (await gaps(`?widget_id=${shop.id}`)).groups;
    assert.deepEqual(mine.map((g) => [g.question, g.reasons.handoff]), [['Can a person look at my invoice?', 1]]);
  });

  // Only the visitor's last message was looked at: a question, "thanks",
  // then "can I talk to a person" made no gap at all.
  test('small talk after a question leaves that question the gap (a thumb on the small talk\'s answer, taken back; a handoff)', async () => {
    const shop = await createWidget(p, { name: 'Invoices', handoff_enabled: true });
    const q = await ask('How do I export my invoices?', shop);
    const { message } = await q.v.turn('thanks');
    const mine = async () => (await gaps(`?widget_id=${shop.id}`)).groups
      .map((g) => [g.question, g.reasons.thumbs_down, g.reasons.handoff]);
    assert.equal((await thumb(q.v, message.id, 'down')).type, 'feedback_saved');
    assert.deepEqual(await mine(), [['How do I export my invoices?', 1, 0]]);
    assert.equal((await thumb(q.v, message.id, 'up')).type, 'feedback_saved');
    assert.deepEqual(await mine(), []);
    await q.v.turn('can I talk to a person');
    q.v.send({ type: 'request_human' });
    assert.equal((await q.v.next('handoff')).state, 'waiting_human');
    await q.v.close();
    assert.deepEqual(await mine(), [['How do I export my invoices?', 0, 1]]);
  });
});
