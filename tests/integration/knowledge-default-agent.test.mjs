// The default agent (the deployment's environment: a widget without an
// agent of its own) searches all of its organisation's sources that have
// passages, as an agent given them would: a widget on it answers with a
// citation of its organisation's source, never another organisation's
// (each organisation's default agent reads its own). The admin search as
// the default agent finds what its turns would. An organisation without
// sources sends the model no passage.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { chat, sid } from './lib/chat.mjs';
import { Parley } from './lib/harness.mjs';
import { Visitor } from './lib/wsclient.mjs';

describe('the default agent searches its organisation\'s sources', () => {
  let p;
  let mine;
  let theirs;
  let orgB;
  let widgetB;

  const call = (method, path, body, headers = {}) => p.request(method, path, {
    headers: { 'content-type': 'application/json', 'x-admin-api-key': p.adminKey, ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const inB = () => ({ 'x-organization-id': orgB });

  async function lastSystem() {
    const seen = await p.mock.completions();
    const body = seen[seen.length - 1].body;
    return body.messages.find((m) => m.role === 'system')?.content ?? '';
  }

  before(async () => {
    p = new Parley({ workers: 1, mock: true, env: { RATE_LIMIT_MAX_REQUESTS: '0' } });
    await p.start();
    let r = await call('POST', '/v1/admin/organizations', { name: 'Org B' });
    assert.equal(r.status, 201, r.text);
    orgB = r.json().id;
    r = await call('POST', '/v1/admin/widgets', { name: 'B on the default agent' }, inB());
    assert.equal(r.status, 201, r.text);
    widgetB = r.json();
    assert.equal(widgetB.agent_id, 'default', r.text);
  });
  after(async () => {
    if (p) await p.stop();
  });

  test('an organisation without sources: no passage in the prompt', async () => {
    const r = await chat(p, sid('kd'), 'what is the warranty on this kettle?');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().sources, undefined, r.text);
    assert.doesNotMatch(await lastSystem(), /numbered sources/);
  });

  test('a source added is cited by a widget on the default agent at once', async () => {
    let r = await call('POST', '/v1/admin/knowledge/sources', { type: 'qa',
      question: 'How long is the kettle warranty?', answer: 'The warranty lasts two years from purchase.' });
    assert.equal(r.status, 201, r.text);
    mine = r.json();
    r = await call('POST', '/v1/admin/knowledge/sources', { type: 'qa',
      question: 'What colour is the toaster warranty card?', answer: 'The toaster warranty card is green.' }, inB());
    assert.equal(r.status, 201, r.text);
    theirs = r.json();
    const dw = (await call('GET', '/v1/admin/widgets')).json().widgets[0];
    assert.equal(dw.agent_id, 'default');
    r = await chat(p, sid('kd'), 'what is the warranty on this kettle?');
    assert.equal(r.status, 200, r.text);
    const j = r.json();
    assert.match(j.message, /\[1\]/);
    assert.deepEqual(j.sources, [{ n: 1, source_id: mine.id, title: 'How long is the kettle warranty?', url: '' }]);
    const sys = await lastSystem();
    assert.match(sys, /\[1\] How long is the kettle warranty\?\nThe warranty lasts two years from purchase\./);
    assert.doesNotMatch(sys, /toaster/, 'another organisation\'s source is not searched');
  });

  test('another organisation\'s default agent reads its own sources, not these', async () => {
    const v = await Visitor.open(p, widgetB.widget_id);
    await v.next('session');
    await v.turn('what is the kettle warranty?');
    let sys = await lastSystem();
    assert.doesNotMatch(sys, /two years/, 'the default organisation\'s source is not B\'s');
    await v.turn('what colour is the toaster warranty card?');
    sys = await lastSystem();
    assert.match(sys, /\[1\] What colour is the toaster warranty card\?\nThe toaster warranty card is green\./);
    await v.close();
  });

  test('the admin search as the default agent finds what its turns would', async () => {
    let r = await call('POST', '/v1/admin/knowledge/search', { query: 'warranty', agent_id: 'default' });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual([...new Set(r.json().results.map((x) => x.source_id))], [mine.id]);
    r = await call('POST', '/v1/admin/knowledge/search', { query: 'warranty', agent_id: 'default' }, inB());
    assert.equal(r.status, 200, r.text);
    assert.deepEqual([...new Set(r.json().results.map((x) => x.source_id))], [theirs.id]);
  });
});
