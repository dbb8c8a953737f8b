// A source changed while its sync runs is synced again as it is now: the
// running sync ends (storaged answers its next ask "sync ended") and a
// new one starts. A crawl source's URL changed (PATCH) while its old
// page is slow to answer gets the new URL crawled, the old one's words
// gone; a file uploaded again while the first is being embedded gets
// the file uploaded last indexed. Served on 127.0.0.1, the embedding
// model a slow loopback receiver.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Parley, waitFor } from './lib/harness.mjs';
import { receiver } from './lib/receiver.mjs';

const S = '/v1/admin/knowledge/sources';
const WAIT = 15000;
const SLOW_MS = 1500;
const page = (t, b) => '<!doctype html><html lang="en"><head>' +
  `<title>${t}</title></head><body><main><h1>${t}</h1><p>${b}</p></main></body></html>`;

let p;
let site;
let model;
let slowEmbed = false;

before(async () => {
  site = await receiver((req, res) => {
    setTimeout(() => {
      if (!req.url.startsWith('/old/') && !req.url.startsWith('/new/')) {
        res.writeHead(404);
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(req.url.startsWith('/old/') ? page('Old', 'The aardvark manual is obsolete.')
        : page('New', 'The pangolin manual is current.'));
    }, req.url.startsWith('/old/') ? SLOW_MS : 0);
  });
  model = await receiver((req, res) => {
    if (!req.url.endsWith('/embeddings')) {
      res.writeHead(404);
      res.end();
      return;
    }
    const body = model.hits.at(-1).body || '{}';
    const inp = JSON.parse(body).input || [];
    const n = Array.isArray(inp) ? inp.length : 1;
    const data = Array.from({ length: n }, (_, i) => ({ object: 'embedding', index: i, embedding: [1, 0.5, 0.25, i + 1] }));
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data, usage: { prompt_tokens: 1, total_tokens: 1 } }));
    }, slowEmbed ? SLOW_MS : 0);
  });
  p = new Parley({ workers: 1, mock: false, env: { OPENAI_BASE_URL: model.url('/v1'), PARLEY_EMBED_MODEL: 'e',
    PARLEY_MODEL_ALLOW_PRIVATE: 'on', PARLEY_KNOWLEDGE_ALLOW_PRIVATE: 'on', RATE_LIMIT_MAX_REQUESTS: '0' } });
  await p.start();
});

after(async () => {
  try {
    if (p) await p.stop();
  } finally {
    await site?.close();
    await model?.close();
  }
});

async function call(m, path, body, type = 'application/json') {
  return p.request(m, path, { headers: { 'x-admin-api-key': p.adminKey, 'content-type': type },
    body: typeof body === 'string' ? body : body && JSON.stringify(body) });
}

/* Whether a search for word finds a text with it. */
async function found(word) {
  const r = await call('POST', '/v1/admin/knowledge/search', { query: word, k: 5 });
  return r.json().results.some((x) => x.text.includes(word));
}

/* Source id ready with the words of want found. */
async function readyWith(id, want) {
  let s;
  await waitFor(async () => {
    s = (await call('GET', `${S}/${id}`)).json();
    return s.status === 'ready' && await found(want);
  }, WAIT, `${want} indexed`);
  return s;
}

test('a crawl source\'s URL changed while its sync runs: the new URL crawled', async () => {
  const r = await call('POST', S, { type: 'crawl', url: site.url('/old/') });
  assert.equal(r.status, 201, r.text);
  const id = r.json().id;
  await waitFor(() => site.hits.some((h) => h.path === '/old/'), WAIT, 'old asked');
  const u = await call('PATCH', `${S}/${id}`, { url: site.url('/new/') });
  assert.equal(u.status, 200, u.text);
  assert.equal(u.json().status, 'syncing');
  const s = await readyWith(id, 'pangolin');
  assert.equal(s.url, site.url('/new/'));
  assert.equal(s.pages, 1);
  assert.equal(await found('aardvark'), false);
  assert.equal((await call('DELETE', `${S}/${id}`)).status, 200);
});

test('a file uploaded again while its sync runs: the file uploaded last indexed', async () => {
  let r = await call('POST', S, { type: 'file', url: 'manual.md' });
  assert.equal(r.status, 201, r.text);
  const id = r.json().id;
  slowEmbed = true;
  const asked = model.hits.length;
  r = await call('PUT', `${S}/${id}/file`, '# Manual\n\nThe aardvark edition is obsolete.\n', 'text/markdown');
  assert.equal(r.status, 200, r.text);
  await waitFor(() => model.hits.slice(asked).some((h) => h.path.endsWith('/embeddings')), WAIT, 'embedding asked');
  r = await call('PUT', `${S}/${id}/file`, '# Manual\n\nThe pangolin edition is current.\n', 'text/markdown');
  assert.equal(r.status, 200, r.text);
  slowEmbed = false;
  const s = await readyWith(id, 'pangolin');
  assert.equal(s.pages, 1);
  assert.equal(await found('aardvark'), false);
});
