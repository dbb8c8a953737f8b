// The widget's attach part (docs/attachments.md) in headless Chromium,
// against the real daemons and the mock model, on Parley's own data-widget
// test page (/test-pages/embed-test.html: its CSP's img-src 'self' lets
// the server's images in) for a widget that takes images, PDFs and text
// (1 MiB at most): the paperclip, its picker offering those types only; a
// screenshot pasted into the text area (a PNG File in a paste event's
// DataTransfer) uploads at once (POST, then a PUT with Content-Range and
// the session token), is sent with no text, shows in the visitor's bubble
// at once, and the admin API has it within a second; a PDF of three pieces
// dropped on the panel (Send held while it uploads, the progress the bytes
// acknowledged) goes with words and shows as a card; the server's refusal
// of a "PNG" that is not one, told in the strip; text files a browser types
// otherwise (a CSV, Markdown, JSON, a log) taken as text by their names; a
// person's reply with an image (the admin API's upload, then the message
// naming it) inline, opening in a new tab; after a reload, the history's
// files (an image, a card with a download link); screenshots at 1280 and
// 390 px wide, axe-core light and dark; the files in an earlier
// conversation's read-only view. Then a German widget on another site (the
// host page: CORS): a type it does not take and a file over its size
// refused in German without any request; text files uploaded across
// origins (a sixth for one message refused), each deleted on ×.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  PHONE, SCREENSHOTS, SUITE_TIMEOUT, adminApi, assertClean, axeLightDark, openPage, part, sleep, startSuite, stopSuite, waitFor,
  waitReady, waitReplyEnd,
} from './lib/browser.mjs';

const R = '#parley-chat-widget';
const TYPES = 'image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain,.txt,.text,.csv,.tsv,.log,.md,.json';

// A PDF of n bytes (its header, then comment lines: the bytes say PDF).
function pdf(n) {
  const head = '%PDF-1.4\n1 0 obj <<>> endobj\n';
  const tail = 'trailer <<>>\n%%EOF\n';
  const b = Buffer.alloc(n, '%'.charCodeAt(0));
  b.write(head, 0, 'latin1');
  for (let i = head.length + 79; i < n - tail.length; i += 80) b[i] = 10;
  b.write(tail, n - tail.length, 'latin1');
  return b;
}

// Gives the widget files as a visitor would: how 'paste' (a paste event
// on the text area, its clipboardData holding them) or 'drop' (dragenter,
// dragover and drop on the message list, inside the panel). Each file:
// {name, type} and png: [w, h] (a PNG drawn on a canvas, a "screenshot"),
// b64 (these bytes) or size (that many zero bytes).
function give(page, how, files) {
  return page.evaluate(async ({ how, files }) => {
    const root = document.getElementById('parley-chat-widget').shadowRoot;
    const dt = new DataTransfer();
    for (const f of files) {
      let blob;
      if (f.png) {
        const c = document.createElement('canvas');
        [c.width, c.height] = f.png;
        const g = c.getContext('2d');
        g.fillStyle = '#1e3a8a';
        g.fillRect(0, 0, c.width, c.height);
        g.fillStyle = '#fbbf24';
        g.fillRect(24, 24, c.width / 2, c.height / 3);
        g.fillStyle = '#fff';
        g.font = '28px sans-serif';
        g.fillText('Error 42: the cart is empty', 24, c.height - 32);
        blob = await new Promise((r) => c.toBlob(r, 'image/png'));
      } else if (f.b64) blob = new Blob([Uint8Array.from(atob(f.b64), (ch) => ch.charCodeAt(0))]);
      else blob = new Blob([new Uint8Array(f.size)]);
      dt.items.add(new File([blob], f.name, { type: f.type }));
    }
    if (how === 'paste') {
      const input = root.querySelector('[data-part="input"]');
      input.focus();
      input.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
    } else {
      const list = root.querySelector('[data-part="messages"]');
      for (const type of ['dragenter', 'dragover', 'drop']) list.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    }
  }, { how, files });
}

// The strip's files: [{state, name, size, error, progress}].
const strip = (page) => page.evaluate((r) => [...document.querySelector(r).shadowRoot.querySelectorAll('[data-part="pending-file"]')].map((li) => {
  const q = (p) => li.querySelector(`[data-part="${p}"]`);
  return {
    state: li.getAttribute('data-state'),
    name: q('file-name').textContent,
    size: q('file-size') ? q('file-size').textContent : null,
    error: q('file-error') ? q('file-error').textContent : null,
    alert: q('file-error') ? q('file-error').getAttribute('role') : null,
    progress: q('progress') ? Number(q('progress').getAttribute('aria-valuenow')) : null,
    remove: q('file-remove').getAttribute('aria-label'),
  };
}), R);

// The files shown in the message bubbles (the welcome left out): [{role, text, files: [...]}].
const bubbles = (page) => page.evaluate((r) => [...document.querySelector(r).shadowRoot.querySelectorAll('[data-part="messages"] [data-part="message"]:not([data-welcome])')].map((m) => ({
  role: m.getAttribute('data-role'),
  text: m.querySelector('[data-part="content"]').textContent,
  files: [...m.querySelectorAll('[data-part="files"] > *')].map((f) => {
    const img = f.querySelector('img');
    return {
      kind: f.tagName === 'CANVAS' ? 'canvas' : img ? 'img' : 'card',
      part: f.getAttribute('data-part'),
      name: img ? img.alt : f.tagName === 'CANVAS' ? f.getAttribute('aria-label') : (f.querySelector('[data-part="file-name"]') || {}).textContent,
      href: f.getAttribute('href'),
      download: f.getAttribute('download'),
      target: f.getAttribute('target'),
      rel: f.getAttribute('rel'),
      src: img ? img.src : null,
      loaded: img ? img.complete && img.naturalWidth > 0 : null,
      width: Math.round(f.getBoundingClientRect().width),
      bubble: Math.round(m.getBoundingClientRect().width),
      size: (f.querySelector('small') || {}).textContent || null,
    };
  }),
})), R);

const sendDisabled = (page) => page.$eval(part('send'), (b) => b.disabled);

// A message frame without its cid (each message's own random id), which
// must be there.
function noCid({ cid, ...f }) {
  assert.match(cid, /^[0-9a-f-]{32,36}$/, 'the message frame\'s cid');
  return f;
}

describe('the widget\'s attach part: files in the chat', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  let browser;
  let w; // the widget: images, PDFs and text, 1 MiB
  let v; // {ctx, page, log}: one page, the tests build on each other
  let convId;
  const reqs = []; // the page's requests to the upload routes: {method, url, headers, body (a POST's), status, answer}
  const sent = []; // the frames the page's sockets sent, parsed
  const t0 = Date.now();

  const admin = async (method, p, body) => {
    const r = await adminApi(stack, method, p, body);
    assert.ok(r.status < 300, `${method} ${p}: ${r.status} ${r.text}`);
    return r.json;
  };
  const uploads = () => reqs.filter((r) => /\/attachments/.test(r.url) && r.method !== 'GET');
  // The page's requests' answers reach this process after the page has
  // them (the strip may show "done" first): wait for every one's answer.
  const answered = () => waitFor(() => uploads().every((r) => r.answer !== undefined), 5000, 'every upload answered');

  function record(page) {
    page.on('request', (r) => {
      if (!/\/attachments/.test(r.url())) return;
      const seen = { method: r.method(), url: r.url(), headers: r.headers(), body: r.method() === 'POST' ? r.postData() : null };
      reqs.push(seen);
      r.response().then(async (a) => {
        seen.status = a && a.status();
        seen.answer = a && (await a.json().catch(() => null));
      }, () => { seen.answer = null; });
    });
    page.on('websocket', (ws) => ws.on('framesent', (e) => { try { sent.push(JSON.parse(e.payload)); } catch { /* not JSON */ } }));
  }

  before(async () => {
    ({ stack, browser } = await startSuite({ mock: { chunks: 2, delayMs: 10 }, env: { RATE_LIMIT_MAX_REQUESTS: '0' } }));
    w = await admin('POST', '/v1/admin/widgets', {
      name: 'Bikes', allowed_origins: [], handoff_enabled: true, attachment_types: ['image', 'pdf', 'text'], attachment_max_mb: 1,
    });
    v = await openPage(browser);
    record(v.page);
    await v.page.goto(`${stack.parleyOrigin}/test-pages/embed-test.html?widget=${w.widget_id}`);
    await waitReady(v.page);
    await v.page.click(part('launcher'));
    await v.page.waitForFunction((r) => !document.querySelector(r).shadowRoot.querySelector('[data-part="send"]').disabled, R);
  });
  after(async () => {
    if (v) await v.ctx.close();
    await stopSuite({ stack, browser });
    console.log(`# widget-attach.test.mjs: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  test('the paperclip beside the text area, its picker offering the widget\'s types only', async () => {
    const { page } = v;
    const b = await page.$eval(part('attach'), (el) => ({
      label: el.getAttribute('aria-label'), next: el.nextElementSibling.getAttribute('data-part'), icon: !!el.querySelector('svg'),
      accept: el.parentNode.querySelector('input[type=file]').accept, multiple: el.parentNode.querySelector('input[type=file]').multiple,
    }));
    assert.deepEqual(b, { label: 'Attach a file', next: 'input', icon: true, accept: TYPES, multiple: true });
    // a click opens the browser's file picker
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.click(part('attach'))]);
    assert.equal(chooser.isMultiple(), true);
    await chooser.setFiles([]);
    assert.deepEqual(await strip(page), [], 'nothing chosen, nothing shown');
  });

  test('a pasted screenshot: uploaded at once, sent without words, in the bubble at once and in the admin API', async (t) => {
    const { page } = v;
    reqs.length = 0;
    await give(page, 'paste', [{ name: 'screenshot.png', type: 'image/png', png: [640, 360] }]);
    await waitFor(async () => (await strip(page))[0]?.state === 'done', 10000, 'the screenshot uploaded');
    const [item] = await strip(page);
    assert.equal(item.name, 'screenshot.png');
    assert.equal(item.progress, 100, 'the progress: every byte acknowledged');
    assert.equal(item.remove, 'Remove screenshot.png');
    assert.ok(await page.$eval(`${R} [data-part="thumb"] canvas`, (c) => c.width > 0 && c.getAttribute('aria-label') === 'screenshot.png'), 'the thumbnail, drawn');
    assert.equal(await page.inputValue(part('input')), '', 'nothing pasted as text');

    const token = await page.evaluate(() => window.ParleyChat.sessionId);
    const [post, put, ...more] = uploads();
    assert.equal(post.method, 'POST');
    assert.equal(post.url, `${stack.parleyOrigin}/api/widget/${w.widget_id}/attachments`);
    assert.equal(post.headers['x-parley-session'], token, 'the session token');
    const { size } = JSON.parse(post.body);
    assert.deepEqual(JSON.parse(post.body), { name: 'screenshot.png', size });
    assert.equal(put.method, 'PUT');
    assert.match(put.url, new RegExp(`/api/widget/${w.widget_id}/attachments/att_\\w+$`));
    assert.equal(put.headers['content-range'], `bytes 0-${size - 1}/${size}`);
    assert.equal(put.headers['x-parley-session'], token);
    assert.deepEqual(more, [], 'the whole file in one piece');
    await answered();
    assert.deepEqual([put.status, put.answer.received, put.answer.complete, put.answer.type], [200, size, true, 'image/png']);
    const id = put.url.split('/').pop();

    // Send with no text: the frame names the upload; the bubble shows it at once
    assert.equal(await sendDisabled(page), false);
    const clicked = Date.now();
    await page.click(part('send'));
    const mine = (await bubbles(page)).filter((m) => m.role === 'user').pop();
    assert.equal(mine.text, '');
    assert.deepEqual(mine.files.map((f) => [f.kind, f.name]), [['canvas', 'screenshot.png']], 'the visitor\'s bubble shows the screenshot at once');
    assert.deepEqual(await strip(page), [], 'the strip emptied');
    assert.deepEqual(noCid(sent.filter((f) => f.type === 'message').pop()), { type: 'message', content: '', attachments: [id] });

    let got;
    await waitFor(async () => {
      const list = (await admin('GET', '/v1/admin/conversations')).conversations;
      convId = list[0]?._id;
      got = convId && (await admin('GET', `/v1/admin/conversations/${convId}`)).messages.find((m) => m.role === 'user' && m.attachments?.length);
      return !!got;
    }, 10000, 'the message with its file in the admin API');
    // How soon is the machine's load (a figure, not asserted): said.
    t.diagnostic(`in the admin API ${Date.now() - clicked} ms after Send`);
    const a = got.attachments[0];
    assert.deepEqual([a.id, a.name, a.type, a.size], [id, 'screenshot.png', 'image/png', size]);
    await waitReplyEnd(page);
  });

  test('a PDF dropped on the panel: three pieces in order, Send disabled meanwhile, sent with words as a card', async () => {
    const { page } = v;
    reqs.length = 0;
    const data = pdf(600000);
    // each piece answered 300 ms late, so the upload is seen running; the
    // last one held until the checks made while it runs are done (on a
    // loaded machine they may take longer than the three pieces' 900 ms)
    let release;
    const held = new Promise((r) => { release = r; });
    await page.route('**/attachments/att_*', async (route) => {
      if (route.request().method() === 'PUT') {
        await sleep(300);
        if (/-599999\/600000$/.test(route.request().headers()['content-range'] || '')) await held;
      }
      await route.continue();
    });
    const seen = new Set();
    try {
      await page.fill(part('input'), 'Here is the manual');
      await give(page, 'drop', [{ name: 'manual.pdf', type: 'application/pdf', b64: data.toString('base64') }]);
      await waitFor(async () => (await strip(page))[0]?.state === 'up', 5000, 'the upload running');
      assert.equal(await sendDisabled(page), true, 'Send waits for the upload');
      await page.press(part('input'), 'Enter');
      assert.equal(await page.inputValue(part('input')), 'Here is the manual', 'Enter sends nothing meanwhile; the text stays');
      // the last piece asked for, held: the two before it acknowledged
      await waitFor(() => uploads().some((r) => r.method === 'PUT' && /-599999\/600000$/.test(r.headers['content-range'] || '')), 10000, 'the last piece sent');
      seen.add((await strip(page))[0]?.progress);
    } finally {
      release();
    }
    await waitFor(async () => {
      const [it] = await strip(page);
      if (it) seen.add(it.progress);
      return it?.state === 'done';
    }, 15000, 'the PDF uploaded');
    await page.unroute('**/attachments/att_*');
    assert.ok([...seen].some((p) => p > 0 && p < 100), `the progress grew piece by piece: ${[...seen]}`);
    const [item] = await strip(page);
    assert.equal(item.progress, 100);
    assert.match(item.size, /586\s?kB|586\s?KB/, 'its size');
    await answered();
    const puts = uploads().filter((r) => r.method === 'PUT');
    assert.deepEqual(puts.map((r) => [r.headers['content-range'], r.status, r.answer?.received]), [
      ['bytes 0-262143/600000', 200, 262144], ['bytes 262144-524287/600000', 200, 524288], ['bytes 524288-599999/600000', 200, 600000],
    ], 'pieces of piece_size, in order, each acknowledged');

    // The page is one with Prototype.js, whose Array.prototype.toJSON
    // writes an array as a string: the frame's list of files stays a list.
    await page.evaluate(() => { Array.prototype.toJSON = function () { return '[' + this.join(', ') + ']'; }; });
    await page.click(part('send'));
    const mine = (await bubbles(page)).filter((m) => m.role === 'user').pop();
    assert.equal(mine.text, 'Here is the manual');
    assert.deepEqual(mine.files.map((f) => [f.kind, f.part, f.name]), [['card', 'file', 'manual.pdf']]);
    const id = puts[0].url.split('/').pop();
    await waitFor(() => sent.some((f) => f.type === 'message' && f.content === 'Here is the manual'), 5000, 'the message frame');
    await page.evaluate(() => { delete Array.prototype.toJSON; });
    assert.deepEqual(noCid(sent.filter((f) => f.type === 'message').pop()), { type: 'message', content: 'Here is the manual', attachments: [id] });
    await waitFor(async () => (await admin('GET', `/v1/admin/conversations/${convId}`)).messages
      .some((m) => m.content === 'Here is the manual' && m.attachments?.[0]?.type === 'application/pdf'), 10000, 'the PDF in the admin API');
    await waitReplyEnd(page);
  });

  // A piece is as large as what one client may send at once
  // (PARLEY_MAX_BODY_KB_PER_CLIENT): two uploads side by side refused each
  // other's pieces (429). They go one at a time.
  test('two large PDFs dropped at once: both uploaded, one after the other, none refused', async () => {
    const { page } = v;
    reqs.length = 0;
    const files = ['one.pdf', 'two.pdf'].map((name) => ({ name, type: 'application/pdf', b64: pdf(400000).toString('base64') }));
    await give(page, 'drop', files);
    await waitFor(async () => (await strip(page)).map((f) => f.state).join() === 'done,done', 15000, 'both uploaded');
    await answered();
    const puts = uploads().filter((r) => r.method === 'PUT');
    assert.deepEqual(puts.map((r) => r.status), [200, 200, 200, 200], 'two pieces each, none refused');
    const ids = puts.map((r) => r.url.split('/').pop());
    assert.equal(ids[0], ids[1], 'the first upload\'s pieces first');
    assert.equal(ids[2], ids[3]);
    assert.notEqual(ids[1], ids[2]);
    for (let i = 0; i < 2; i++) await page.click(`${R} [data-part="file-remove"]`);
    await waitFor(() => uploads().filter((r) => r.method === 'DELETE' && r.status === 204).length === 2, 5000, 'both given up, deleted');
  });

  test('the server\'s refusal (a "PNG" that is not one) told in the strip; refused files never sent', async () => {
    const { page } = v;
    reqs.length = 0;
    const noise = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7919 + 13) % 256));
    noise.write('PK\x03\x04', 0, 'latin1');
    await give(page, 'paste', [{ name: 'photo.png', type: 'image/png', b64: noise.toString('base64') }]);
    await waitFor(async () => (await strip(page))[0]?.state === 'error', 10000, 'the refusal');
    const [item] = await strip(page);
    assert.deepEqual([item.error, item.alert], ['This type of file cannot be sent.', 'alert']);
    assert.deepEqual(uploads().map((r) => r.method), ['POST', 'PUT'], 'the server judged it by its bytes');
    assert.equal(await sendDisabled(page), false);
    await page.click(part('send')); // no words, no file: nothing goes
    assert.equal(sent.filter((f) => f.type === 'message').length, 2);
    await page.click(`${R} [data-part="file-remove"]`);
    assert.deepEqual(await strip(page), []);
    assert.equal(await page.evaluate((r) => document.querySelector(r).shadowRoot.activeElement?.getAttribute('data-part'), R), 'input', 'the focus back in the text area');
  });

  test('text files the browser types otherwise (a CSV, Markdown, JSON, a log) are taken as text, as the server takes them; text past 256 KiB refused in the page', async () => {
    const { page } = v;
    reqs.length = 0;
    // What browsers say of them: text/csv (Linux, macOS), Excel's type on
    // Windows, text/markdown, application/json, nothing for a .log.
    const files = [['orders.csv', 'text/csv'], ['ORDERS.CSV', 'application/vnd.ms-excel'], ['notes.md', 'text/markdown'],
      ['cart.json', 'application/json'], ['app.log', '']].map(([name, type]) => ({ name, type, b64: Buffer.from(`${name}: id,qty\n1,2\n`).toString('base64') }));
    await give(page, 'drop', files);
    await waitFor(async () => (await strip(page)).map((f) => f.state).join() === 'done,done,done,done,done', 10000,
      `the five uploaded: ${JSON.stringify(await strip(page))}`);
    await answered();
    const last = uploads().filter((r) => r.method === 'PUT').map((r) => [r.answer.name, r.answer.type]);
    assert.deepEqual(last, files.map((f) => [f.name, 'text/plain; charset=utf-8']), 'each kept as text, its name as it was');
    for (let i = 0; i < 5; i++) await page.click(`${R} [data-part="file-remove"]`);
    await waitFor(() => uploads().filter((r) => r.method === 'DELETE' && r.status === 204).length === 5, 5000, 'the five given up, deleted');
    // A text file is 256 KiB at most, whatever its type says.
    reqs.length = 0;
    await give(page, 'drop', [{ name: 'big.csv', type: 'text/csv', size: 300 * 1024 }]);
    assert.equal((await strip(page))[0].error, 'Too large: at most 0.25 MB.');
    await sleep(300);
    assert.deepEqual(uploads(), [], 'no request for it');
    await page.click(`${R} [data-part="file-remove"]`);
    assert.deepEqual(await strip(page), []);
  });

  test('a person\'s reply with an image: inline, as wide as its bubble at most, a click opens it in a new tab', async () => {
    const { page } = v;
    await admin('POST', `/v1/admin/conversations/${convId}/handoff`, { state: 'human', name: 'Dana' });
    const pic = Buffer.from(await page.evaluate(async () => {
      const c = document.createElement('canvas');
      c.width = 900;
      c.height = 500;
      const g = c.getContext('2d');
      g.fillStyle = '#065f46';
      g.fillRect(0, 0, 900, 500);
      g.fillStyle = '#f9fafb';
      g.beginPath();
      g.arc(450, 250, 180, 0, 7);
      g.fill();
      return c.toDataURL('image/png').split(',')[1];
    }), 'base64');
    const up = await admin('POST', `/v1/admin/conversations/${convId}/attachments`, { name: 'fix.png', size: pic.length });
    assert.ok(up.piece_size >= pic.length);
    const r = await fetch(`${stack.parleyOrigin}/v1/admin/conversations/${convId}/attachments/${up.id}`, {
      method: 'PUT', headers: { 'x-admin-api-key': stack.parley.adminKey, 'Content-Range': `bytes 0-${pic.length - 1}/${pic.length}` }, body: pic,
    });
    assert.equal(r.status, 200, await r.clone().text());
    assert.equal((await r.json()).complete, true);
    await admin('POST', `/v1/admin/conversations/${convId}/messages`, { content: 'Like this', attachments: [up.id], name: 'Dana' });

    let agent;
    await waitFor(async () => {
      agent = (await bubbles(page)).filter((m) => m.role === 'agent').pop();
      return agent?.files[0]?.loaded;
    }, 10000, 'the person\'s image loaded in the widget');
    const [f] = agent.files;
    assert.equal(agent.text, 'Like this');
    assert.equal(f.name, 'fix.png', 'alt: the file\'s name');
    assert.ok(f.src.startsWith(`${stack.parleyOrigin}/api/widget/${w.widget_id}/attachments/${up.id}?exp=`), `the server's signed link: ${f.src}`);
    assert.deepEqual([f.href, f.target, f.rel], [f.src, '_blank', 'noopener noreferrer']);
    assert.ok(f.width <= f.bubble - 20, `the image (${f.width} px) within its bubble (${f.bubble} px)`);
    const [tab] = await Promise.all([v.ctx.waitForEvent('page'), page.click(`${R} [data-role="agent"] [data-part="file-image"]`)]);
    await tab.waitForLoadState();
    assert.equal(tab.url(), f.src, 'opened in a new tab');
    await tab.close();
  });

  test('after a reload the history shows the files: the screenshot from the server, the PDF as a download card', async () => {
    const { page } = v;
    await page.reload();
    await waitReady(page);
    let all;
    await waitFor(async () => {
      all = await bubbles(page);
      return all.filter((m) => m.files.length).length === 3 && all.every((m) => m.files.every((f) => f.kind !== 'img' || f.loaded));
    }, 10000, 'the history with its files, images loaded');
    const withFiles = all.filter((m) => m.files.length).map((m) => [m.role, m.text, m.files.map((f) => [f.kind, f.name])]);
    assert.deepEqual(withFiles, [
      ['user', '', [['img', 'screenshot.png']]],
      ['user', 'Here is the manual', [['card', 'manual.pdf']]],
      ['agent', 'Like this', [['img', 'fix.png']]],
    ]);
    const card = all[withFiles.length && all.findIndex((m) => m.text === 'Here is the manual')].files[0];
    assert.equal(card.download, 'manual.pdf', 'a download link');
    assert.match(card.href, new RegExp(`^${stack.parleyOrigin}/api/widget/${w.widget_id}/attachments/att_\\w+\\?exp=\\d+&sig=`));
    assert.match(card.size, /586/);
    const r = await fetch(card.href);
    assert.equal(r.status, 200);
    assert.equal(Buffer.from(await r.arrayBuffer()).subarray(0, 8).toString('latin1'), '%PDF-1.4');
  });

  test('screenshots at 1280 and 390 px wide (files ready, one refused), axe-core light and dark', async () => {
    const { page } = v;
    await give(page, 'paste', [{ name: 'cart.png', type: 'image/png', png: [400, 300] }]);
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.click(part('attach'))]);
    await chooser.setFiles([
      { name: 'order-4411.txt', mimeType: 'text/plain', buffer: Buffer.from('Order 4411: two forks, one bell.\n') },
      { name: 'setup.exe', mimeType: 'application/x-msdownload', buffer: Buffer.from([0x4d, 0x5a, 0x90, 0x00]) },
    ]);
    await waitFor(async () => (await strip(page)).map((f) => f.state).join() === 'done,done,error', 10000, 'two ready, one refused');
    const files = await strip(page);
    assert.deepEqual(files.map((f) => [f.name, f.size, f.error]), [
      ['cart.png', files[0].size, null], ['order-4411.txt', '33 bytes', null], ['setup.exe', '4 bytes', 'This type of file cannot be sent.'],
    ]);
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOTS, 'widget-attach-1280.png') });
    const bad = await axeLightDark(page, 'the widget with files');

    const token = await page.evaluate(() => window.ParleyChat.sessionId);
    const phone = await openPage(browser, PHONE);
    try {
      await phone.page.addInitScript(([k, t]) => {
        localStorage.setItem(`parley:${k}:token`, t);
        localStorage.setItem(`parley:${k}:open`, 'true');
      }, [w.widget_id, token]);
      await phone.page.goto(`${stack.parleyOrigin}/test-pages/embed-test.html?widget=${w.widget_id}`);
      await waitReady(phone.page);
      await waitFor(async () => (await bubbles(phone.page)).some((m) => m.files.some((f) => f.loaded)), 10000, 'the history on the phone');
      await give(phone.page, 'drop', [{ name: 'too-big.png', type: 'image/png', size: 1536 * 1024 }]);
      assert.equal((await strip(phone.page))[0].error, 'Too large: at most 1 MB.');
      const f = (await bubbles(phone.page)).flatMap((m) => m.files).find((x) => x.kind === 'img');
      assert.ok(f.width <= f.bubble, 'the image within its bubble on a phone');
      const o = await phone.page.evaluate((r) => {
        const p = document.querySelector(r).shadowRoot.querySelector('[data-part="panel"]');
        return { scroll: p.scrollWidth, width: p.clientWidth };
      }, R);
      assert.ok(o.scroll <= o.width, `the panel does not scroll sideways: ${JSON.stringify(o)}`);
      await phone.page.screenshot({ path: path.join(SCREENSHOTS, 'widget-attach-390.png') });
      bad.push(...await axeLightDark(phone.page, 'the widget with files on a phone'));
      await assertClean(phone.page, phone.log, 'the phone');
    } finally {
      await phone.ctx.close();
    }
    assert.deepEqual(bad, [], 'axe-core: no serious or critical violation');
    // (the server's 415 of the test before is the console's only error)
    await assertClean(page, v.log, 'the widget with files', { allowConsole: /status of 415/ });
  });

  test('an earlier conversation\'s files in its read-only view', async () => {
    const { page } = v;
    await page.click(part('new-conversation'));
    await waitFor(async () => !(await bubbles(page)).length, 5000, 'a new conversation, the list emptied');
    await page.click(part('earlier'));
    await page.click(`${R} [data-part="conv-item"]:not([aria-current])`);
    let files;
    await waitFor(async () => {
      files = await page.evaluate((r) => [...document.querySelector(r).shadowRoot.querySelectorAll('[data-part="conv-thread"] [data-part="files"] > *')]
        .map((f) => [f.getAttribute('data-part'), f.querySelector('img') ? f.querySelector('img').alt : f.querySelector('[data-part="file-name"]').textContent]), R);
      return files.length === 3;
    }, 10000, 'the earlier conversation with its files');
    assert.deepEqual(files, [['file-image', 'screenshot.png'], ['file', 'manual.pdf'], ['file-image', 'fix.png']]);
    await page.click(part('conv-back'));
    await page.click(part('conv-back'));
  });

  // The widget names the site it is on (allowed_origins): the uploads'
  // preflights are answered for that site alone, and the uploads go on.
  test('in German, on another site: a refused type and an oversize file told without any request; uploads across origins, a sixth refused, deleted on ×', async () => {
    const de = await admin('POST', '/v1/admin/widgets', {
      name: 'Fahrräder', allowed_origins: [stack.host.origin], language: 'de', attachment_types: ['image', 'text'], attachment_max_mb: 1,
    });
    const x = await openPage(browser);
    try {
      reqs.length = 0;
      record(x.page);
      await x.page.goto(stack.host.widgetEmbedUrl(de.widget_id));
      await waitReady(x.page);
      await x.page.click(part('launcher'));
      await x.page.waitForFunction((r) => !document.querySelector(r).shadowRoot.querySelector('[data-part="send"]').disabled, R);
      assert.equal(await x.page.getAttribute(part('attach'), 'aria-label'), 'Datei anhängen');
      assert.equal(await x.page.$eval(`${R} input[type=file]`, (i) => i.accept), 'image/png,image/jpeg,image/gif,image/webp,text/plain,.txt,.text,.csv,.tsv,.log,.md,.json');
      await give(x.page, 'drop', [
        { name: 'setup.exe', type: 'application/x-msdownload', size: 64 },
        { name: 'bericht.pdf', type: 'application/pdf', size: 64 },
        { name: 'gross.png', type: 'image/png', size: 1100 * 1024 },
      ]);
      const refused = await strip(x.page);
      assert.deepEqual(refused.map((f) => [f.name, f.state, f.error]), [
        ['setup.exe', 'error', 'Dieser Dateityp kann nicht gesendet werden.'],
        ['bericht.pdf', 'error', 'Dieser Dateityp kann nicht gesendet werden.'],
        ['gross.png', 'error', 'Zu groß: höchstens 1 MB.'],
      ]);
      assert.equal(refused[0].remove, 'setup.exe entfernen');
      await sleep(300);
      assert.deepEqual(uploads(), [], 'no request for a refused file');
      for (let i = 0; i < 3; i++) await x.page.click(`${R} [data-part="file-remove"]`);

      // six text files at once: five uploaded across origins, the sixth refused
      await give(x.page, 'paste', [1, 2, 3, 4, 5, 6].map((n) => ({ name: `notiz-${n}.txt`, type: 'text/plain', b64: Buffer.from(`Notiz ${n}\n`).toString('base64') })));
      await waitFor(async () => (await strip(x.page)).map((f) => f.state).join() === 'done,done,done,done,done,error', 10000, 'five uploaded, one refused');
      assert.equal((await strip(x.page))[5].error, 'Höchstens 5 Dateien pro Nachricht.');
      await answered();
      const posts = uploads().filter((r) => r.method === 'POST');
      assert.equal(posts.length, 5, 'five uploads');
      assert.ok(uploads().every((r) => r.url.startsWith(`${stack.parleyOrigin}/api/widget/${de.widget_id}/attachments`)), 'to Parley, another origin');
      const ids = posts.map((r) => r.answer?.id);
      // × on each: the five uploads given up, deleted
      for (let i = 0; i < 6; i++) await x.page.click(`${R} [data-part="file-remove"]`);
      await waitFor(() => uploads().filter((r) => r.method === 'DELETE' && r.status === 204).length === 5, 5000, 'the uploads given up, deleted');
      assert.deepEqual(uploads().filter((r) => r.method === 'DELETE').map((r) => r.url.split('/').pop()).sort(), ids.sort());
      assert.deepEqual(await strip(x.page), []);
      await assertClean(x.page, x.log, 'the German widget on the host page');
    } finally {
      await x.ctx.close();
    }
  });

  // The widget w on a page of its own, open, its socket to the server
  // through the test: frames, the message frames the page sent; while
  // cut.message is set, a message frame is not passed on, and the page's
  // socket is closed; while cut.answer is, the server's typing_start (the
  // message is stored) is not passed on, the page's socket is closed and
  // cut.answer cleared; cut.ws: the page's side of its newest socket.
  // x.ready(): Send enabled.
  async function cutWidget(cut) {
    const x = await openPage(browser);
    const frames = [];
    await x.page.routeWebSocket(/\/api\/widget\/.*\/ws/, (ws) => {
      cut.ws = ws;
      const server = ws.connectToServer();
      ws.onMessage((m) => {
        const f = JSON.parse(m);
        if (f.type === 'message') frames.push(f);
        if (f.type === 'message' && cut.message) return ws.close();
        server.send(m);
      });
      server.onMessage((m) => {
        if (cut.answer && JSON.parse(m).type === 'typing_start') {
          cut.answer = false;
          return ws.close();
        }
        ws.send(m);
      });
    });
    x.ready = () => x.page.waitForFunction((r) => !document.querySelector(r).shadowRoot.querySelector('[data-part="send"]').disabled, R, { timeout: 20000 });
    await x.page.goto(`${stack.parleyOrigin}/test-pages/embed-test.html?widget=${w.widget_id}`);
    await waitReady(x.page);
    await x.page.click(part('launcher'));
    await x.ready();
    return { x, frames };
  }

  test('a message the socket lost before the server had it: its words and its files come back, and go again together', async () => {
    const cut = { message: false };
    const { x, frames } = await cutWidget(cut);
    try {
      // A first message stores the session the uploads are made under.
      await x.page.fill(part('input'), 'hello');
      await x.page.click(part('send'));
      await waitReplyEnd(x.page);
      cut.message = true;
      const shown = ['hello'];
      for (const words of ['see my notes', '']) {
        await give(x.page, 'paste', [{ name: 'notes.txt', type: 'text/plain', b64: Buffer.from('the notes\n').toString('base64') }]);
        await waitFor(async () => (await strip(x.page))[0]?.state === 'done', 10000, 'the file uploaded');
        await x.page.fill(part('input'), words);
        const n = frames.length;
        await x.page.click(part('send'));
        await waitFor(() => frames.length > n, 5000, 'the message frame');
        const id = frames[n].attachments[0];
        // Lost: the words back in the text area, the file back in the strip, no bubble.
        await waitFor(async () => (await strip(x.page)).length === 1, 5000, 'the file back in the strip');
        assert.deepEqual((await strip(x.page)).map((f) => [f.name, f.state]), [['notes.txt', 'done']], JSON.stringify(words));
        assert.equal(await x.page.inputValue(part('input')), words);
        assert.deepEqual((await bubbles(x.page)).filter((b) => b.role === 'user').map((b) => b.text), shown, 'no bubble for it');
        // Connected again: sent once more, with the same file.
        cut.message = false;
        await x.ready();
        await x.page.click(part('send'));
        await waitFor(() => frames.length > n + 1, 5000, 'the message sent again');
        assert.deepEqual(noCid(frames[n + 1]), { type: 'message', content: words, attachments: [id] });
        assert.notEqual(frames[n + 1].cid, frames[n].cid, 'a new message: a new cid');
        assert.deepEqual(await strip(x.page), [], 'the strip emptied');
        await waitReplyEnd(x.page);
        shown.push(words);
        cut.message = true;
      }
      // Stored once each, with the file.
      const conv = (await admin('GET', '/v1/admin/conversations')).conversations[0];
      const mine = (await admin('GET', `/v1/admin/conversations/${conv._id}`)).messages.filter((m) => m.role === 'user');
      assert.deepEqual(mine.map((m) => [m.content, (m.attachments || []).map((a) => a.name)]), [['hello', []], ['see my notes', ['notes.txt']], ['', ['notes.txt']]]);
    } finally {
      await x.ctx.close();
    }
  });

  test('a message stored whose answer the socket lost: once the history shows it stored, its words and files are not given back', async () => {
    const cut = { answer: false };
    const { x, frames } = await cutWidget(cut);
    try {
      // A first message stores the session the uploads are made under.
      await x.page.fill(part('input'), 'hello again');
      await x.page.click(part('send'));
      await waitReplyEnd(x.page);
      await give(x.page, 'paste', [{ name: 'bill.txt', type: 'text/plain', b64: Buffer.from('the bill\n').toString('base64') }]);
      await waitFor(async () => (await strip(x.page))[0]?.state === 'done', 10000, 'the file uploaded');
      await x.page.fill(part('input'), 'was it stored?');
      cut.answer = true;
      await x.page.click(part('send'));
      await waitFor(() => frames.length === 2 && !cut.answer, 10000, 'the message sent, its answer lost');
      // Connected again, the history holds it by its cid: nothing given back.
      await waitFor(async () => (await x.page.inputValue(part('input'))) === '' && (await strip(x.page)).length === 0, 10000, 'neither its words nor its file given back');
      await waitFor(async () => (await bubbles(x.page)).filter((b) => b.role === 'user').map((b) => b.text).join('|') === 'hello again|was it stored?', 10000, 'the history shows it');
      // Stored once, with its file; the file not deleted.
      const conv = (await admin('GET', '/v1/admin/conversations')).conversations.find((c) => c.lastVisitorMessage === 'was it stored?');
      const mine = (await admin('GET', `/v1/admin/conversations/${conv._id}`)).messages.filter((m) => m.role === 'user');
      assert.deepEqual(mine.map((m) => [m.content, (m.attachments || []).map((a) => a.name)]), [['hello again', []], ['was it stored?', ['bill.txt']]]);
      assert.equal(frames.length, 2, 'not sent again');
      await assertClean(x.page, x.log, 'a message stored, its answer lost');
    } finally {
      await x.ctx.close();
    }
  });

  test('a file uploaded before the first message, its socket lost meanwhile: uploaded again under the new session, and sent with it', async () => {
    const cut = {};
    const { x, frames } = await cutWidget(cut);
    const posts = []; // each upload's session
    x.page.on('request', (q) => {
      if (q.method() === 'POST' && /\/attachments$/.test(q.url())) posts.push(q.headers()['x-parley-session']);
    });
    try {
      await give(x.page, 'paste', [{ name: 'first.txt', type: 'text/plain', b64: Buffer.from('before any message\n').toString('base64') }]);
      await waitFor(async () => (await strip(x.page))[0]?.state === 'done', 10000, 'the file uploaded');
      // Its session was never stored: the socket back is another session's.
      cut.ws.close();
      await waitFor(() => posts.length === 2, 10000, 'the file uploaded again');
      assert.ok(posts[0] && posts[1] && posts[1] !== posts[0], 'under the new session');
      await waitFor(async () => (await strip(x.page))[0]?.state === 'done', 10000, 'uploaded again');
      await x.ready();
      await x.page.fill(part('input'), 'here it is');
      await x.page.click(part('send'));
      await waitReplyEnd(x.page);
      assert.deepEqual(await strip(x.page), [], 'the strip emptied');
      const conv = (await admin('GET', '/v1/admin/conversations')).conversations.find((c) => c.lastVisitorMessage === 'here it is');
      const mine = (await admin('GET', `/v1/admin/conversations/${conv._id}`)).messages.filter((m) => m.role === 'user');
      assert.deepEqual(mine.map((m) => [m.content, (m.attachments || []).map((a) => a.name)]), [['here it is', ['first.txt']]]);
      assert.equal(frames.length, 1);
      await assertClean(x.page, x.log, 'a file uploaded again under a new session');
    } finally {
      await x.ctx.close();
    }
  });
});
