// A knowledge base's PDF is read in a child process of its own
// (workerd/fetch/docchild.c): one that holds poppler past its CPU time
// bound (PARLEY_FETCH_CPU_SECONDS) or runs it out of memory ends that
// child alone; the page is stored as failed with the error, its sync goes
// on, and the fetcher, with every other organisation's sync it runs, lives
// on. poppler once ran in the fetcher itself: an organisation whose
// sources each held a distinct PDF that spins poppler ended the fetcher
// once a PDF, and every other organisation's sync running beside was
// interrupted and taken again each time.
//
// The PDFs that spin are real ones: a page whose content stream inflates
// to 64 MiB of "q Q" (save, restore) operators, 64 KiB of file and some
// 3.5 s of poppler's CPU time. The one that ends its reader as poppler
// does out of memory is the test build's (an opening docchild.c's
// test_hook aborts on; under AddressSanitizer the address-space bound
// is not set).
//
// And a PDF whose CJK text is in a font it does not embed is read with
// poppler-data's maps, the one set of files its reader may open.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import zlib from 'node:zlib';

import { Parley, QUICK_POLLS, waitFor } from './lib/harness.mjs';
import { adminCaller } from './lib/openapi.mjs';
import { receiver } from './lib/receiver.mjs';

const S = '/v1/admin/knowledge/sources';
const CPU_S = 1;
const SPUN = `took more than ${CPU_S} s of CPU to read`;
const CRASHED = 'its reader ended (out of memory, or a fault)';

// A PDF of the objects given (each a string, or a Buffer for bytes that
// are not text), numbered from 1, the first the catalog; head: a comment
// after the header (bytes of a file's own).
function pdfOf(objects, head = '') {
  const parts = [Buffer.from(`%PDF-1.4\n${head ? `% ${head}\n` : ''}`)];
  let at = parts[0].length;
  const offs = objects.map((o, i) => {
    const off = at;
    for (const b of [`${i + 1} 0 obj\n`, o, '\nendobj\n']) {
      const buf = Buffer.isBuffer(b) ? b : Buffer.from(b, 'latin1');
      parts.push(buf);
      at += buf.length;
    }
    return off;
  });
  parts.push(Buffer.from(`xref\n0 ${objects.length + 1}\n0000000000 65535 f \n` +
    offs.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('') +
    `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${at}\n%%EOF\n`));
  return Buffer.concat(parts);
}

const ONE_PAGE = ['<< /Type /Catalog /Pages 2 0 R >>', '<< /Type /Pages /Kids [3 0 R] /Count 1 >>'];

// A PDF of one page whose content stream inflates to mb MiB of "q Q",
// tag making its bytes its own.
function spinningPdf(tag, mb = 64) {
  const ops = zlib.deflateSync(Buffer.alloc(mb << 20, 'q Q\n'), { level: 9 });
  return pdfOf([...ONE_PAGE,
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>',
    Buffer.concat([Buffer.from(`<< /Length ${ops.length} /Filter /FlateDecode >>\nstream\n`), ops, Buffer.from('\nendstream')]),
  ], tag);
}

// A PDF of one page whose text is in a CJK font it does not embed
// (STSong-Light, UniGB-UCS2-H): poppler reads its text only with
// poppler-data's CMap and CID-to-Unicode map (/usr/share/poppler).
function cjkPdf(text) {
  const hex = [...text].map((c) => c.codePointAt(0).toString(16).padStart(4, '0')).join('');
  const content = `BT /F1 24 Tf 72 700 Td <${hex}> Tj ET`;
  return pdfOf([...ONE_PAGE,
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>',
    '<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H /DescendantFonts [6 0 R] >>',
    `<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
    '<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> /FontDescriptor 7 0 R >>',
    '<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [0 -200 1000 900] /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 80 >>',
  ]);
}

describe('a knowledge base\'s PDF that ends its reader', () => {
  let p;
  let site;
  let call;
  let held = [];	// /good/wait's answers, held until released
  let hold = true;

  function html(res, body) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<html><head><title>Teapot</title></head><body><main>${body}</main></body></html>`);
  }

  function serve(req, res) {
    if (req.url === '/good/') {
      html(res, '<h1>Kettles</h1><p>Our kettles.</p><a href="/good/wait">wait</a> <a href="/good/guide.pdf">guide</a>');
    } else if (req.url === '/good/wait') {
      const answer = () => html(res, '<h1>Wait</h1><p>The kettle whistle is brass.</p>');
      if (hold) held.push(answer);
      else answer();
    } else if (req.url === '/good/guide.pdf') {
      res.writeHead(200, { 'content-type': 'application/pdf' });
      res.end(fs.readFileSync(new URL('../fixtures/knowledge/paragraphs.pdf', import.meta.url)));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('no');
    }
  }

  before(async () => {
    site = await receiver(serve);
    p = new Parley({ workers: 1, mock: true, env: { PARLEY_KNOWLEDGE_ALLOW_PRIVATE: 'on',
      PARLEY_FETCH_CPU_SECONDS: String(CPU_S), RATE_LIMIT_MAX_REQUESTS: '0', ...QUICK_POLLS } });
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

  test('each ends its child alone, stored failed; the fetcher and another organisation\'s sync beside go on',
    async () => {
      await waitFor(() => p.fetcherPids().length === 1, 10000, 'a fetcher');
      const [first] = p.fetcherPids();
      // The default organisation's crawl, waiting on a page meanwhile.
      const good = (await call('POST', S, { type: 'crawl', url: site.url('/good/') })).json();
      await waitFor(() => held.length > 0, 20000, 'the crawl waits on a page');

      // Another organisation's file sources: a distinct PDF each, which
      // ends its reader.
      const org = (await call('POST', '/v1/admin/organizations', { name: 'PDFs that spin' })).json().id;
      const inA = { 'x-admin-api-key': p.adminKey, 'x-organization-id': org };
      const files = [['spin-1.pdf', spinningPdf('one'), SPUN], ['spin-2.pdf', spinningPdf('two'), SPUN],
        ['abort.pdf', Buffer.from('%PDF-1.0\n% parley-test-abort\n%%EOF\n'), CRASHED]];
      const bad = [];
      for (const [name, bytes, why] of files) {
        const r = await p.request('POST', S, { headers: { ...inA, 'content-type': 'application/json' },
          body: JSON.stringify({ type: 'file', url: name }) });
        assert.equal(r.status, 201, r.text);
        const { id } = r.json();
        const u = await p.request('PUT', `${S}/${id}/file`, { headers: { ...inA, 'content-type': 'application/pdf' },
          body: bytes });
        assert.equal(u.status, 200, u.text);
        bad.push({ id, name, why });
      }
      const status = async (id) => (await p.request('GET', `${S}/${id}`, { headers: inA })).json();
      for (const b of bad)
        await waitFor(async () => (await status(b.id)).status !== 'syncing', 30000, `${b.name} read`);

      // The same fetcher throughout: it never ended.
      assert.deepEqual(p.fetcherPids(), [first], 'the same fetcher');
      assert.doesNotMatch(p.logs.masterd, /the fetcher ends|CPU time bound \(PARLEY_FETCH_CPU_SECONDS/);
      for (const b of bad) {
        const s = await status(b.id);
        assert.equal(s.status, 'failed');
        assert.equal(s.error, `file: ${b.why}`);
        const r = await p.request('GET', `${S}/${b.id}/pages?limit=5`, { headers: inA });
        const [page] = r.json().pages;
        assert.equal(page.error, b.why);
        assert.equal(page.chunks, 0);
        await p.waitLog('masterd', new RegExp(`knowledge source ${b.id}: file ${b.name.replace('.', '\\.')}: ` +
          `${b.why.replace(/[()]/g, '\\$&')}`));
      }

      // The other organisation's crawl, released, completes once: never
      // taken again.
      hold = false;
      for (const a of held.splice(0)) a();
      let s;
      await waitFor(async () => (s = (await call('GET', `${S}/${good.id}`)).json()).status !== 'syncing',
        20000, 'the crawl synced');
      assert.equal(s.status, 'ready', s.error);
      const pages = new Map((await call('GET', `${S}/${good.id}/pages?limit=10`)).json().pages
        .map((x) => [new URL(x.url).pathname, x]));
      assert.ok(pages.get('/good/wait').chunks > 0);
      assert.ok(pages.get('/good/guide.pdf').chunks > 0, 'a PDF that reads is read');
      assert.equal(pages.get('/good/guide.pdf').error, '');
      assert.doesNotMatch(p.logs.masterd, /taken again|given back/);
      assert.deepEqual(p.fetcherPids(), [first], 'the same fetcher');

      // Synced again, the same bytes: not read again (its child not
      // started), the error kept.
      const before1 = (await status(bad[0].id)).synced_at;
      const r = await p.request('POST', `${S}/${bad[0].id}/sync`, { headers: inA });
      assert.ok(r.status < 300, r.text);
      await waitFor(async () => {
        const x = await status(bad[0].id);
        return x.status !== 'syncing' && x.synced_at !== before1;
      }, 10000, 'synced again');
      assert.equal((await status(bad[0].id)).error, `file: ${SPUN}`);
      await p.waitLog('masterd', new RegExp(`knowledge page spin-1\\.pdf: not read \\(${SPUN}\\)`));
    });

  // Its reader may open poppler-data's files, read-only, where the kernel
  // has Landlock (workerd/fetch/sandbox.h): before, no file at all, and
  // such a PDF's text was lost (a page of no text), as it still is on a
  // kernel without Landlock, which the fetcher says at its start.
  test('a PDF whose Chinese text is in a font it does not embed is read with poppler-data\'s maps', async () => {
    await waitFor(() => /document readers may open|has no Landlock/.test(p.logs.masterd), 10000, 'the fetcher\'s word on its readers\' files');
    if (/has no Landlock: document readers open no file/.test(p.logs.masterd)) {
      const made = await call('POST', S, { type: 'file', url: 'chinese.pdf' });
      const { id } = made.json();
      await p.request('PUT', `${S}/${id}/file`, { headers: { 'x-admin-api-key': p.adminKey, 'content-type': 'application/pdf' },
        body: cjkPdf('你好世界') });
      await waitFor(async () => (await call('GET', `${S}/${id}`)).json().status !== 'syncing', 20000, 'the PDF read');
      assert.equal((await call('GET', `${S}/${id}/pages?limit=5`)).json().pages[0].error, 'no text', 'without Landlock, as said');
      return;
    }
    await p.waitLog('masterd', /document readers may open \/usr\/share\/poppler alone, read-only \(Landlock ABI \d+\)/);
    const text = '你好世界，欢迎光临本店';
    const made = await call('POST', S, { type: 'file', url: 'chinese.pdf' });
    assert.equal(made.status, 201, made.text);
    const { id } = made.json();
    const u = await p.request('PUT', `${S}/${id}/file`, { headers: { 'x-admin-api-key': p.adminKey, 'content-type': 'application/pdf' },
      body: cjkPdf(text) });
    assert.equal(u.status, 200, u.text);
    let s;
    await waitFor(async () => (s = (await call('GET', `${S}/${id}`)).json()).status !== 'syncing', 20000, 'the PDF read');
    assert.equal(s.status, 'ready', s.error);
    const [page] = (await call('GET', `${S}/${id}/pages?limit=5`)).json().pages;
    assert.equal(page.error, '');
    assert.ok(page.chunks > 0, JSON.stringify(page));
    const found = (await call('POST', '/v1/admin/knowledge/search', { query: text })).json().results;
    assert.ok(found.some((r) => r.source_id === id && r.text.includes(text)), JSON.stringify(found));
  });
});
