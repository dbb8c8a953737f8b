// The fetcher's CPU time bound (PARLEY_FETCH_CPU_SECONDS, RLIMIT_CPU): a
// page that makes the reader spin (the test build's own type,
// application/x-parley-test-spin: crawl.c's spin_hook) ends the fetcher
// within the bound, its log naming the page, masterd's saying why; masterd
// starts another, which finds what the last one read (parley-fetch.spun
// in the run directory), stores that page as failed and takes its sync
// again at once: the sync completes with the site's other pages, the page
// that spins not read again. Without the bound the fetcher spun for ever;
// without the record each fetcher read the page again when the sync's
// lease ran out, and ended again. (These stand for the readers the fetcher
// runs itself: HTML, text, sitemaps. A PDF is read in a child of its own,
// which ends alone: knowledge-pdf-reader.test.mjs.) A page whose reading
// aborts (as a parser does out of memory: the test build's
// application/x-parley-test-abort) is recovered the same way, its error saying so; it once left its
// source syncing until the lease ran out (2 hours), and again after. A
// visitor's PDF attachment is read in a child process of its own: one
// that aborts its reader (the test build's abort opening) or holds it
// (the spin opening, as one page can hold poppler: ended at its CPU
// bound, 5 s; the test build's here ATT_CPU_S, PARLEY_TEST_ATT_CPU_S)
// ends that child alone, and the sync running beside goes on in the same
// fetcher; any visitor may upload PDFs, and theirs once ended the fetcher
// one after another, every sync with it. A fetcher killed outright (SIGKILL: the OOM
// killer, kill -9), where no handler runs, has its sync taken again at
// once too: the record is kept in the file all along, not written at the
// end; the sync once waited for its lease.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { upload } from './lib/attach.mjs';
import { Parley, QUICK_POLLS, waitFor } from './lib/harness.mjs';
import { adminCaller } from './lib/openapi.mjs';
import { receiver } from './lib/receiver.mjs';
import { createWidget, Visitor } from './lib/wsclient.mjs';

const S = '/v1/admin/knowledge/sources';
const ENDED = /ended at its CPU time bound/;
const ATT_CPU_S = 1;      // a PDF reader's CPU time bound (5 s in a release)

describe('the fetcher\'s CPU time bound', () => {
  let p;
  let site;
  let call;

  function html(res, body) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<html><head><title>Teapot</title></head><body><main>${body}</main></body></html>`);
  }

  let held = null;	// /slow/wait's answers, held until released
  function serve(req, res) {
    if (req.url === '/slow/') {
      html(res, '<h1>Mugs</h1><p>Our mugs.</p><a href="/slow/wait">wait</a>');
      return;
    }
    if (req.url === '/slow/wait') {
      if (held) held.push(() => html(res, '<h1>Wait</h1><p>The mug handle is glazed twice.</p>'));
      else html(res, '<h1>Wait</h1><p>The mug handle is glazed twice.</p>');
      return;
    }
    if (req.url === '/site/') {
      html(res, '<h1>Teapots</h1><p>Our teapots, and how to keep them.</p>' +
        '<a href="/site/spin">spin</a> <a href="/site/care">care</a>');
      return;
    }
    if (req.url === '/site/spin') {
      res.writeHead(200, { 'content-type': 'application/x-parley-test-spin' });
      res.end('spins the reader');
      return;
    }
    if (req.url === '/abort/') {
      html(res, '<h1>Kettles</h1><p>Our kettles.</p><a href="/abort/manual.pdf">manual</a> <a href="/abort/care">care</a>');
      return;
    }
    if (req.url === '/abort/manual.pdf') {
      res.writeHead(200, { 'content-type': 'application/x-parley-test-abort' });
      res.end('runs the reader out of memory');
      return;
    }
    if (req.url === '/site/care' || req.url === '/abort/care') {
      html(res, '<h1>Care</h1><p>The teapot spout is cleaned with a pipe brush.</p>');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('no');
  }

  before(async () => {
    site = await receiver(serve);
    p = new Parley({ workers: 1, mock: true, env: { PARLEY_KNOWLEDGE_ALLOW_PRIVATE: 'on',
      PARLEY_FETCH_CPU_SECONDS: '1', RATE_LIMIT_MAX_REQUESTS: '0', ...QUICK_POLLS } });
    await p.start();
    call = await adminCaller(p);
  });
  after(async () => {
    try {
      if (p) await p.stop();
    } finally {
      if (site) await site.close();
    }
  });

  async function pages(id) {
    const r = await call('GET', `${S}/${id}/pages?limit=50`);
    assert.equal(r.status, 200, r.text);
    return new Map(r.json().pages.map((x) => [new URL(x.url).pathname, x]));
  }

  // A fetcher other than first, then source id synced by it, well before
  // its lease (2 h 1 min) runs out: the source, ready.
  async function recovered(id, first) {
    await waitFor(() => p.fetcherPids().length === 1 && p.fetcherPids()[0] !== first, 20000, 'a new fetcher');
    let s;
    await waitFor(async () => {
      s = (await call('GET', `${S}/${id}`)).json();
      return s.status !== 'syncing';
    }, 20000, 'the source synced');
    assert.equal(s.status, 'ready', s.error);
    return s;
  }

  test('a page that spins ends the fetcher, named; the next stores it failed, the sync completes',
    async () => {
      await waitFor(() => p.fetcherPids().length === 1, 10000, 'a fetcher');
      const [first] = p.fetcherPids();
      const t0 = Date.now();
      const r = await call('POST', S, { type: 'crawl', url: site.url('/site/') });
      assert.equal(r.status, 201, r.text);
      const id = r.json().id;
      await waitFor(() => ENDED.test(p.logs.masterd), 30000,
        'masterd logs the fetcher ended at its CPU time bound');
      assert.ok(Date.now() - t0 < 30000);
      await p.waitLog('masterd', new RegExp(`parley-fetch\\[${first}\\]: error: page ` +
        `${site.url('/site/spin').replace(/[.?]/g, '\\$&')}: CPU time bound`));
      assert.doesNotMatch(p.logs.masterd, /core dumped/);
      // Another fetcher, which stores the page as failed and syncs the
      // source again at once.
      let s = await recovered(id, first);
      const got = await pages(id);
      assert.deepEqual([...got.keys()].sort(), ['/site/', '/site/care', '/site/spin']);
      assert.equal(got.get('/site/spin').error, 'took more than 1 s of CPU to read');
      assert.equal(got.get('/site/spin').chunks, 0);
      assert.equal(got.get('/site/care').error, '');
      assert.ok(got.get('/site/care').chunks > 0);
      // Synced again, the page is not read again: the fetcher lives on.
      const again = p.fetcherPids()[0];
      const before1 = s.synced_at;
      const sr = await call('POST', `${S}/${id}/sync`);
      assert.ok(sr.status < 300, sr.text);
      await waitFor(async () => {
        s = (await call('GET', `${S}/${id}`)).json();
        return s.status !== 'syncing' && s.synced_at !== before1;
      }, 20000, 'the source synced again');
      await sleep(3000);
      assert.equal(s.status, 'ready', s.error);
      assert.equal((await pages(id)).get('/site/spin').error, 'took more than 1 s of CPU to read');
      assert.equal(p.logs.masterd.split(ENDED.source).length - 1, 1, p.logs.masterd);
      assert.deepEqual(p.fetcherPids(), [again]);
    });

  test('a page whose reading aborts (out of memory) ends the fetcher, named; the next stores it failed, the sync completes',
    async () => {
      await waitFor(() => p.fetcherPids().length === 1, 10000, 'a fetcher');
      const [first] = p.fetcherPids();
      const r = await call('POST', S, { type: 'crawl', url: site.url('/abort/') });
      assert.equal(r.status, 201, r.text);
      const id = r.json().id;
      await waitFor(() => /out of memory, or a fault, reading it/.test(p.logs.masterd), 30000,
        'the fetcher names the page it ended on');
      await p.waitLog('masterd', new RegExp(`parley-fetch\\[${first}\\]: error: page ` +
        `${site.url('/abort/manual.pdf').replace(/[.?]/g, '\\$&')}: out of memory`));
      await recovered(id, first);
      const got = await pages(id);
      assert.deepEqual([...got.keys()].sort(), ['/abort/', '/abort/care', '/abort/manual.pdf']);
      assert.equal(got.get('/abort/manual.pdf').error, 'the fetcher ended reading it (out of memory, or a fault)');
      assert.ok(got.get('/abort/care').chunks > 0);
    });

  // A restart of masterd (a reload, an upgrade) ended the fetcher, which
  // dropped its sync: the source stayed syncing until the sync's lease ran
  // out, 2 hours. The fetcher gives it back, due now, as it quits.
  // A crawl of /slow/ waiting for its second page: {first (the fetcher), id}.
  async function syncWaiting() {
    await waitFor(() => p.fetcherPids().length === 1, 10000, 'a fetcher');
    const [first] = p.fetcherPids();
    held = [];
    const r = await call('POST', S, { type: 'crawl', url: site.url('/slow/') });
    assert.equal(r.status, 201, r.text);
    const id = r.json().id;
    await waitFor(() => held.length > 0, 20000, 'the sync waits for a page');
    return { first, id };
  }

  test('masterd restarted mid-sync: the sync given back, taken again by the next fetcher at once', async () => {
    const { first, id } = await syncWaiting();
    await p.restartMaster();
    await p.waitLog('masterd', /quitting: its sync given back, due now/);
    const answers = held;
    held = null;
    for (const a of answers) a();
    await recovered(id, first);
    assert.ok((await pages(id)).get('/slow/wait').chunks > 0);
  });

  test('a fetcher killed outright mid-sync (SIGKILL): the next takes its sync again at once', async () => {
    const { first, id } = await syncWaiting();
    process.kill(first, 'SIGKILL');
    await waitFor(() => p.fetcherPids().length === 1 && p.fetcherPids()[0] !== first, 20000, 'a new fetcher');
    const answers = held;
    held = null;
    for (const a of answers) a();
    await recovered(id, first);
    assert.ok((await pages(id)).get('/slow/wait').chunks > 0);
    await p.waitLog('masterd', new RegExp(`knowledge source ${id}: its sync ended with the fetcher: taken again`));
  });

  test('a visitor\'s PDF attachment that aborts its reader: the reader alone ends; the sync beside it goes on in the same fetcher', async () => {
    const { first, id } = await syncWaiting();
    const w = await createWidget(p, { attachment_types: ['pdf'] });
    const v = await Visitor.open(p, w.widget_id);
    const { session_token: token } = await v.next('session');
    const up = await upload(p, w.widget_id, token, 'manual.pdf', Buffer.from('%PDF-1.0\n% parley-test-abort\n%%EOF\n'));
    assert.equal(up.status, 200, JSON.stringify(up.json));
    await waitFor(() => new RegExp(`attachments: ${up.id}: no text read: its reader ended \\(out of memory, or a fault\\)`)
      .test(p.logs.masterd), 30000, 'the reader ends on the attachment');
    const answers = held;
    held = null;	// answered at once from now on
    for (const a of answers) a();
    let s;
    await waitFor(async () => (s = (await call('GET', `${S}/${id}`)).json()).status !== 'syncing', 20000, 'the source synced');
    assert.equal(s.status, 'ready', s.error);
    assert.deepEqual(p.fetcherPids(), [first], 'the same fetcher');
    assert.ok((await pages(id)).get('/slow/wait').chunks > 0);
    v.close();
  });
});

describe('a visitor\'s PDF attachment: its own CPU time bound', () => {
  let p;
  before(async () => {
    p = new Parley({ workers: 1, mock: true, env: { RATE_LIMIT_MAX_REQUESTS: '0', PARLEY_TEST_ATT_CPU_S: String(ATT_CPU_S), ...QUICK_POLLS } });
    await p.start();
  });
  after(() => p && p.stop());

  test('files that hold the reader: each reader ends at its CPU time bound, named; the fetcher stays', async () => {
    await waitFor(() => p.fetcherPids().length === 1, 10000, 'a fetcher');
    const [first] = p.fetcherPids();
    const w = await createWidget(p, { attachment_types: ['pdf'] });
    const v = await Visitor.open(p, w.widget_id);
    const { session_token: token } = await v.next('session');
    const ids = [];
    for (const name of ['held-1.pdf', 'held-2.pdf']) {
      const up = await upload(p, w.widget_id, token, name, Buffer.from(`%PDF-1.0\n% parley-test-spin\n%%EOF ${name}\n`));
      assert.equal(up.status, 200, JSON.stringify(up.json));
      ids.push(up.id);
    }
    // (a guard, not a figure: ATT_CPU_S of CPU each, one after the other)
    for (const id of ids) {
      await waitFor(() => new RegExp(`attachments: ${id}: no text read: took more than ${ATT_CPU_S} s of CPU`).test(p.logs.masterd), 45000,
        'the reader ends on the attachment');
    }
    assert.deepEqual(p.fetcherPids(), [first], 'the same fetcher');
    assert.doesNotMatch(p.logs.masterd, /CPU time bound/);
    v.close();
  });
});
