// The fetcher's CPU time bound (PARLEY_FETCH_CPU_SECONDS, RLIMIT_CPU): a
// page that makes the reader spin (the test build's own type,
// application/x-parley-test-spin: crawl.c's spin_hook) ends the fetcher
// within the bound, its log naming the page, masterd's saying why; masterd
// starts another, which syncs the next source. Without the bound the
// fetcher spun for ever.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Parley, waitFor } from './lib/harness.mjs';
import { adminCall, checkerFor } from './lib/openapi.mjs';
import { receiver } from './lib/receiver.mjs';

const S = '/v1/admin/knowledge/sources';

describe('the fetcher\'s CPU time bound', () => {
  let p;
  let site;
  let call;

  function serve(req, res) {
    if (req.url === '/spin/') {
      res.writeHead(200, { 'content-type': 'application/x-parley-test-spin' });
      res.end('spins the reader');
      return;
    }
    if (req.url === '/docs/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<html><head><title>Teapot</title></head><body><main><h1>Teapot</h1>' +
        '<p>The teapot spout is cleaned with a pipe brush.</p></main></body></html>');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('no');
  }

  before(async () => {
    site = await receiver(serve);
    p = new Parley({ workers: 1, mock: true, env: { PARLEY_KNOWLEDGE_ALLOW_PRIVATE: 'on',
      PARLEY_FETCH_CPU_SECONDS: '1', RATE_LIMIT_MAX_REQUESTS: '0' } });
    await p.start();
    const api = await checkerFor(p);
    call = (method, pathname, body) => adminCall(p, api, method, pathname, body);
  });
  after(async () => {
    try {
      if (p) await p.stop();
    } finally {
      if (site) await site.close();
    }
  });

  test('a page that spins its reader ends the fetcher, named; another takes over', async () => {
    await waitFor(() => p.fetcherPids().length === 1, 10000, 'a fetcher');
    const [first] = p.fetcherPids();
    const t0 = Date.now();
    let r = await call('POST', S, { type: 'crawl', url: site.url('/spin/') });
    assert.equal(r.status, 201, r.text);
    const spin = r.json().id;
    await waitFor(() => /ended at its CPU time bound/.test(p.logs.masterd), 30000,
      'masterd logs the fetcher ended at its CPU time bound');
    assert.ok(Date.now() - t0 < 30000);
    assert.match(p.logs.masterd, new RegExp(`parley-fetch\\[${first}\\]: error: page ` +
      `${site.url('/spin/').replace(/[.?]/g, '\\$&')}: CPU time bound`));
    assert.doesNotMatch(p.logs.masterd, /core dumped/);
    // Another fetcher, which reads the next source.
    await waitFor(() => p.fetcherPids().length === 1 && p.fetcherPids()[0] !== first, 20000,
      'a new fetcher');
    r = await call('POST', S, { type: 'crawl', url: site.url('/docs/') });
    assert.equal(r.status, 201, r.text);
    let s;
    await waitFor(async () => {
      s = (await call('GET', `${S}/${r.json().id}`)).json();
      return s.status !== 'syncing';
    }, 20000, 'the next source synced');
    assert.equal(s.status, 'ready', s.error);
    // The spinning source's sync was dropped: its lease brings it back.
    assert.equal((await call('GET', `${S}/${spin}`)).json().status, 'syncing');
  });
});
