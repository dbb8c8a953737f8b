// Attachments in the dashboard (docs/attachments.md), in headless Chromium
// against one Parley with the mock model: a visitor's message with a photo
// and a PDF, uploaded through the widget's routes with its session token
// and named by its WebSocket message, shown in the thread (the photo
// inline, a thumbnail that opens full size in a new tab; the PDF a card
// whose download gives its bytes, served as an attachment); a person's
// reply with an image pasted into the reply box and a PDF from the picker,
// no text, after a zip dropped on the box was refused (415, said in the
// page, nothing sent until it is removed): seen in the thread, in the
// admin API's messages (the bytes as pasted) and by the visitor's socket;
// the widget form's attachment types and size limit (a new widget starts
// with none, as the API's; a size out of range refused beside its field; saved
// and read back through the API). Screenshots at 1280 and 390 px, light
// and dark; axe-core clean in both schemes.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  DASHBOARD_PASSWORD, PHONE, SCREENSHOTS, SUITE_TIMEOUT, adminApi, assertClean, axeLightDark, dashLogin, openDash, openPage, overflow,
  phoneReplyChecked, shotsLightDark, startSuite, stopSuite, waitFor,
} from './lib/browser.mjs';
import { ZIP, pdf, png } from './lib/files.mjs';
import { Visitor } from '../integration/lib/wsclient.mjs';
import { login } from '../integration/lib/dashboard.mjs';

const PHOTO = png(360, 240, [40, 90, 160]);
const RECEIPT = pdf('Receipt 1042: one bicycle fork');
const PASTED = png(200, 120, [200, 60, 20]);
const GUIDE = pdf('How to fit the fork', 700 * 1024); // three pieces of 256 KiB

const sizeText = (n) => (n < 1024 ? `${n} bytes` : n < 10 * 1024 ? `${(n / 1024).toFixed(1).replace(/\.0$/, '')} KB` : `${Math.round(n / 1024)} KB`);

describe('attachments in the dashboard, in Chromium', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  let browser;
  let session;
  let w;
  let conv; // the visitor's conversation id
  let visitor;
  let sent; // the visitor's uploads: {photo, receipt} -> id
  let token; // the visitor's session token
  const t0 = Date.now();
  const admin = (method, p, body) => adminApi(stack, method, p, body);

  // Uploads data as name through the widget's routes with the visitor's token (one piece: small files).
  async function visitorUpload(token, name, data) {
    const p = stack.parley;
    let r = await p.request('POST', `/api/widget/${w.widget_id}/attachments`, {
      headers: { 'X-Parley-Session': token, 'Content-Type': 'application/json' }, body: JSON.stringify({ name, size: data.length }),
    });
    assert.equal(r.status, 201, `new upload ${name}: ${r.text}`);
    const { id, piece_size: piece } = r.json();
    assert.ok(data.length <= piece);
    r = await p.request('PUT', `/api/widget/${w.widget_id}/attachments/${id}`, {
      headers: { 'X-Parley-Session': token, 'Content-Range': `bytes 0-${data.length - 1}/${data.length}` }, body: data,
    });
    assert.equal(r.status, 200, `piece of ${name}: ${r.text}`);
    assert.equal(r.json().complete, true);
    return id;
  }

  before(async () => {
    ({ stack, browser } = await startSuite({ mock: { chunks: 2 }, env: { DASHBOARD_PASSWORD } }));
    const logged = login(stack.parley);
    logged.catch(() => {});
    const r = await admin('POST', '/v1/admin/widgets', {
      name: 'Bike shop', allowed_origins: [], handoff_enabled: true, attachment_types: ['image', 'pdf'],
    });
    assert.equal(r.status, 201, r.text);
    w = r.json;
    visitor = await Visitor.open(stack.parley, w.widget_id);
    ({ session_token: token } = await visitor.next('session'));
    sent = { photo: await visitorUpload(token, 'bent fork.png', PHOTO), receipt: await visitorUpload(token, 'receipt.pdf', RECEIPT) };
    visitor.send({ type: 'message', content: 'The fork arrived bent: a photo and my receipt', attachments: [sent.photo, sent.receipt] });
    for (let m = await visitor.next(); m.type !== 'typing_stop'; m = await visitor.next()) { /* the answer */ }
    const list = await admin('GET', `/v1/admin/conversations?widget=${encodeURIComponent(w.id)}&limit=5`);
    assert.equal(list.json.conversations.length, 1, list.text);
    conv = list.json.conversations[0]._id;
    session = await logged;
  });
  after(async () => {
    if (visitor) await visitor.close().catch(() => {});
    await stopSuite({ stack, browser });
    console.log(`# dashboard-attach.test.mjs: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  test('a visitor\'s photo inline and PDF as a card; the photo opens full size, the PDF downloads', async () => {
    const stored = (await admin('GET', `/v1/admin/conversations/${conv}`)).json;
    const mine = stored.messages.find((m) => m.role === 'user');
    assert.deepEqual(mine.attachments.map((a) => [a.id, a.name, a.type, a.size]),
      [[sent.photo, 'bent fork.png', 'image/png', PHOTO.length], [sent.receipt, 'receipt.pdf', 'application/pdf', RECEIPT.length]]);
    const [photoUrl, receiptUrl] = mine.attachments.map((a) => a.url);

    const { ctx, page, log } = await openPage(browser);
    try {
      await dashLogin(stack, ctx, session);
      await openDash(page, stack, `#/conversations/${conv}`, '[data-testid="msg-attachment"]');
      const msg = page.locator(`[data-testid="thread-message"][data-id="${mine._id}"]`);
      assert.equal(await msg.locator('[data-testid="msg-content"]').textContent(), 'The fork arrived bent: a photo and my receipt');
      const items = msg.locator('[data-testid="msg-attachment"]');
      assert.equal(await items.count(), 2);
      assert.deepEqual(await items.evaluateAll((els) => els.map((e) => [e.dataset.id, e.dataset.kind])),
        [[sent.photo, 'image'], [sent.receipt, 'pdf']]);
      // The photo: drawn (the session cookie opened it), its name as alt, at most 240 px.
      const img = items.nth(0).locator('[data-testid="att-image"]');
      assert.equal(await img.getAttribute('alt'), 'bent fork.png');
      assert.equal(await img.getAttribute('src'), photoUrl);
      await page.waitForFunction((sel) => document.querySelector(sel)?.naturalWidth > 0,
        `[data-id="${sent.photo}"] [data-testid="att-image"]`, { timeout: 10000 });
      assert.deepEqual(await img.evaluate((e) => [e.naturalWidth, e.naturalHeight]), [360, 240]);
      const box = await img.boundingBox();
      assert.ok(box.width <= 241 && box.height <= 241 && box.width > 100, `a thumbnail: ${JSON.stringify(box)}`);
      const open = items.nth(0).locator('[data-testid="att-open"]');
      assert.equal(await open.getAttribute('target'), '_blank');
      assert.match(await open.getAttribute('rel'), /noopener/);
      // A click opens it full size in a new tab, served inline as an image.
      const [tab] = await Promise.all([ctx.waitForEvent('page'), open.click()]);
      await tab.waitForLoadState();
      assert.equal(new URL(tab.url()).pathname, photoUrl);
      assert.equal(await tab.evaluate(() => document.contentType), 'image/png');
      await tab.close();
      const asImage = await ctx.request.get(stack.parleyOrigin + photoUrl);
      assert.equal(asImage.status(), 200);
      assert.match(asImage.headers()['content-disposition'], /^inline/);
      assert.ok((await asImage.body()).equals(PHOTO), 'the photo\'s bytes');

      // The PDF: a card with its kind, name and size, and a download.
      const card = items.nth(1);
      assert.equal(await card.locator('[data-testid="att-name"]').textContent(), 'receipt.pdf');
      assert.equal(await card.locator('[data-testid="att-size"]').textContent(), sizeText(RECEIPT.length));
      assert.match(await card.textContent(), /PDF/);
      const dl = card.locator('[data-testid="att-download"]');
      assert.equal(await dl.getAttribute('href'), receiptUrl);
      assert.equal(await dl.getAttribute('download'), 'receipt.pdf');
      const [download] = await Promise.all([page.waitForEvent('download'), dl.click()]);
      assert.equal(download.suggestedFilename(), 'receipt.pdf');
      assert.ok(fs.readFileSync(await download.path()).equals(RECEIPT), 'the downloaded bytes are the PDF');
      const asFile = await ctx.request.get(stack.parleyOrigin + receiptUrl);
      assert.equal(asFile.status(), 200);
      assert.equal(asFile.headers()['content-type'], 'application/pdf');
      assert.match(asFile.headers()['content-disposition'], /^attachment; filename="receipt\.pdf"/);
      assert.equal(asFile.headers()['x-content-type-options'], 'nosniff');
      assert.ok((await asFile.body()).equals(RECEIPT));

      // A visitor's photo alone comes live (the events stream's message carries its files).
      await page.waitForFunction(() => document.documentElement.dataset.live === 'live', null, { timeout: 5000 });
      const again = await visitorUpload(token, 'second angle.png', PASTED);
      visitor.send({ type: 'message', content: '', attachments: [again] });
      for (let m = await visitor.next(); m.type !== 'typing_stop'; m = await visitor.next()) { /* the answer */ }
      const live = page.locator(`[data-testid="msg-attachment"][data-id="${again}"]`);
      await live.waitFor({ timeout: 10000 });
      const liveMsg = page.locator('[data-testid="thread-message"]', { has: live });
      assert.equal(await liveMsg.getAttribute('data-role'), 'user');
      assert.equal(await liveMsg.locator('[data-testid="msg-content"]').isHidden(), true, 'no empty text');
      assert.equal(await live.locator('[data-testid="att-image"]').getAttribute('alt'), 'second angle.png');

      await shotsLightDark(page, 'dashboard-attach-thread-1280', { fullPage: false });
      const bad = await axeLightDark(page, 'thread with attachments');
      const phone = await openPage(browser, PHONE);
      try {
        await dashLogin(stack, phone.ctx, session);
        await openDash(phone.page, stack, `#/conversations/${conv}`, '[data-testid="msg-attachment"]');
        await phone.page.waitForFunction(() => document.querySelector('[data-testid="att-image"]')?.naturalWidth > 0, null, { timeout: 10000 });
        await phone.page.locator('[data-testid="msg-attachments"]').first().scrollIntoViewIfNeeded();
        const o = await overflow(phone.page);
        assert.ok(o.scrollWidth <= o.innerWidth, `no sideways scroll: ${JSON.stringify(o)}`);
        const cardBox = await phone.page.locator('[data-kind="pdf"]').boundingBox();
        assert.ok(cardBox.x >= 0 && cardBox.x + cardBox.width <= 390, `the card on the screen: ${JSON.stringify(cardBox)}`);
        await shotsLightDark(phone.page, 'dashboard-attach-thread-390', { fullPage: false });
        bad.push(...await axeLightDark(phone.page, 'phone thread with attachments'));
        await assertClean(phone.page, phone.log, 'phone thread');
      } finally { await phone.ctx.close(); }
      assert.deepEqual(bad, []);
      await assertClean(page, log, 'thread');
    } finally { await ctx.close(); }
  });

  test('a person replies with a pasted image and a picked PDF, no text, after a dropped zip is refused', async () => {
    const { ctx, page, log } = await openPage(browser);
    try {
      await dashLogin(stack, ctx, session);
      await openDash(page, stack, `#/conversations/${conv}`, '[data-testid="take-over"]');
      await page.click('[data-testid="take-over"]');
      await page.waitForSelector('[data-testid="reply-form"]:not([hidden])');
      assert.equal(await page.locator('[data-testid="reply-files"]').isHidden(), true, 'no files listed at first');
      const before = (await admin('GET', `/v1/admin/conversations/${conv}`)).json.messages.length;

      // A zip dropped on the box: uploaded, refused by its bytes, said in its place.
      await page.evaluate((b64) => {
        const form = document.querySelector('[data-testid="reply-form"]');
        const dt = new DataTransfer();
        dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], 'parts.zip', { type: 'application/zip' }));
        form.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt, bubbles: true, cancelable: true }));
        window.__dragover = form.classList.contains('is-dragover');
        form.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
        form.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      }, ZIP.toString('base64'));
      assert.equal(await page.evaluate(() => window.__dragover), true, 'the box shows it takes the drop');
      assert.equal(await page.locator('[data-testid="reply-form"]').evaluate((f) => f.classList.contains('is-dragover')), false);
      const zip = page.locator('[data-testid="reply-file"]', { hasText: 'parts.zip' });
      await page.waitForSelector('[data-testid="reply-file"][data-state="error"]', { timeout: 10000 });
      assert.match(await zip.locator('[data-testid="reply-file-error"]').textContent(),
        /^parts\.zip cannot be sent: only images \(PNG, JPEG, GIF, WebP\), PDF and plain text are\.$/);

      // An image pasted into the text box: a file, not its name as text.
      await page.focus('[data-testid="reply-input"]');
      const pasted = await page.evaluate((b64) => {
        const dt = new DataTransfer();
        dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], 'pasted.png', { type: 'image/png' }));
        const ev = new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true });
        document.querySelector('[data-testid="reply-input"]').dispatchEvent(ev);
        return ev.defaultPrevented;
      }, PASTED.toString('base64'));
      assert.equal(pasted, true, 'the paste taken as a file');
      assert.equal(await page.inputValue('[data-testid="reply-input"]'), '');
      // A PDF from the picker (the Attach button opens it), in three pieces: its progress told.
      await page.evaluate(() => {
        window.__notes = new Set();
        new MutationObserver(() => {
          for (const n of document.querySelectorAll('[data-testid="reply-file-note"]')) window.__notes.add(n.textContent);
        }).observe(document.querySelector('[data-testid="reply-files"]'), { subtree: true, childList: true, characterData: true });
      });
      const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.click('[data-testid="reply-attach"]')]);
      assert.equal(chooser.isMultiple(), true);
      await chooser.setFiles({ name: 'fitting guide.pdf', mimeType: 'application/pdf', buffer: GUIDE });
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="reply-file"][data-state="done"]').length === 2,
        null, { timeout: 15000 });
      const notes = await page.evaluate(() => [...window.__notes]);
      assert.ok(notes.some((n) => /^Uploading… ([1-9]\d?)%$/.test(n)), `progress between 0 and 100: ${JSON.stringify(notes)}`);
      const img = page.locator('[data-testid="reply-file"][data-kind="image"]');
      assert.equal(await img.locator('[data-testid="reply-file-name"]').textContent(), 'pasted.png');
      await page.waitForFunction(() => document.querySelector('[data-testid="reply-file-thumb"]')?.naturalWidth > 0);
      assert.match(await img.locator('[data-testid="reply-file-thumb"]').getAttribute('src'), /^data:image\/png;base64,/);
      assert.equal(await img.locator('[data-testid="reply-file-note"]').textContent(), 'Ready to send');
      assert.equal(await img.locator('progress').isHidden(), true);
      assert.equal(await page.locator('[data-testid="reply-file-remove"]').first().getAttribute('aria-label'), 'Remove parts.zip');

      // Screenshots and axe-core with the three files listed, the refusal among them.
      await shotsLightDark(page, 'dashboard-attach-reply-1280', { fullPage: false });
      const bad = await axeLightDark(page, 'reply box with files');
      const phone = await openPage(browser, PHONE);
      try {
        await dashLogin(stack, phone.ctx, session);
        await openDash(phone.page, stack, `#/conversations/${conv}`, '[data-testid="reply-form"]:not([hidden])');
        await phone.page.setInputFiles('[data-testid="reply-file-input"]', [
          { name: 'bent fork, again.png', mimeType: 'image/png', buffer: PHOTO },
          { name: 'fitting guide.pdf', mimeType: 'application/pdf', buffer: GUIDE }]);
        await phone.page.waitForFunction(() => document.querySelectorAll('[data-testid="reply-file"][data-state="done"]').length === 2,
          null, { timeout: 15000 });
        bad.push(...await phoneReplyChecked(phone, 'dashboard-attach-reply-390', 'phone reply box with files'));
      } finally { await phone.ctx.close(); }
      assert.deepEqual(bad, []);

      // Send with the refused file still listed: nothing sent, said why.
      await page.click('[data-testid="reply-send"]');
      await page.waitForFunction(() => document.querySelector('[data-testid="reply-status"]').textContent.startsWith('Not sent:'));
      assert.match(await page.textContent('[data-testid="reply-status"]'), /parts\.zip cannot be sent.*Remove it to send the rest\./);
      assert.equal((await admin('GET', `/v1/admin/conversations/${conv}`)).json.messages.length, before, 'nothing posted');
      await zip.locator('[data-testid="reply-file-remove"]').click();
      assert.equal(await page.locator('[data-testid="reply-file"]').count(), 2);
      assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), 'reply-attach', 'the focus back on Attach');

      // Sent without text: the files alone.
      visitor.inbox.length = 0;
      await page.click('[data-testid="reply-send"]');
      await page.waitForFunction(() => document.querySelector('[data-testid="reply-status"]').textContent === 'Sent.', null, { timeout: 15000 });
      assert.equal(await page.locator('[data-testid="reply-files"]').isHidden(), true, 'the list emptied');
      const stored = (await admin('GET', `/v1/admin/conversations/${conv}`)).json.messages;
      const reply = stored[stored.length - 1];
      assert.equal(reply.role, 'agent');
      assert.equal(reply.content, '');
      assert.deepEqual(reply.attachments.map((a) => [a.name, a.type, a.size]),
        [['pasted.png', 'image/png', PASTED.length], ['fitting guide.pdf', 'application/pdf', GUIDE.length]]);
      const bytes = await stack.parley.admin(reply.attachments[0].url);
      assert.equal(bytes.status, 200);
      assert.ok(bytes.body.equals(PASTED), 'the pasted image\'s bytes');
      const guide = await stack.parley.admin(reply.attachments[1].url);
      assert.ok(guide.body.equals(GUIDE), 'the PDF\'s bytes, its three pieces joined');
      // In the thread: the person's bubble with the image and the card, no empty text.
      const li = page.locator(`[data-testid="thread-message"][data-id="${reply._id}"]`);
      await li.waitFor({ timeout: 10000 });
      assert.equal(await li.getAttribute('data-role'), 'agent');
      assert.equal(await li.locator('[data-testid="msg-content"]').isHidden(), true);
      assert.deepEqual(await li.locator('[data-testid="msg-attachment"]').evaluateAll((els) => els.map((e) => e.dataset.kind)), ['image', 'pdf']);
      await page.waitForFunction((id) => document.querySelector(`[data-id="${id}"] [data-testid="att-image"]`)?.naturalWidth === 200,
        reply._id, { timeout: 10000 });
      // In view: the dock shrank as its files went, the thread kept its end on screen.
      assert.ok(await page.evaluate((id) => {
        const r = document.querySelector(`[data-testid="thread-message"][data-id="${id}"]`).getBoundingClientRect();
        const pane = document.querySelector('[data-testid="thread-scroll"]').getBoundingClientRect();
        return r.top >= pane.top - 1 && r.bottom <= pane.bottom + 1;
      }, reply._id), 'the reply in view');
      // The visitor's socket: the person's message with its files, linked.
      const agentMsg = () => visitor.inbox.find((x) => x.type === 'message' && x.role === 'agent');
      await waitFor(async () => agentMsg(), 10000, 'the reply on the socket');
      const m = agentMsg();
      assert.deepEqual(m.attachments.map((a) => a.name), ['pasted.png', 'fitting guide.pdf']);
      const viaLink = await stack.parley.get(m.attachments[0].url);
      assert.equal(viaLink.status, 200);
      assert.ok(viaLink.body.equals(PASTED));
      await shotsLightDark(page, 'dashboard-attach-sent-1280', { fullPage: false });
      await assertClean(page, log, 'reply with files', { allowConsole: /status of 415/ });
    } finally { await ctx.close(); }
  });

  // A reply's text is kept in the tab (a draft) when the thread is left;
  // its files are not (leaving empties the list), and a link or a reload
  // dropped them without a question.
  test('a reply holding files: leaving asks first; its text alone leaves without a question and is back', async () => {
    const { ctx, page, log } = await openPage(browser);
    const unloadAsks = () => page.evaluate(() => {
      const ev = new Event('beforeunload', { cancelable: true });
      window.dispatchEvent(ev);
      return ev.defaultPrevented;
    });
    const thread = `#/conversations/${conv}`;
    const typed = 'The receipt, as promised';
    const attach = async () => {
      await page.setInputFiles('[data-testid="reply-file-input"]', [{ name: 'receipt.pdf', mimeType: 'application/pdf', buffer: RECEIPT }]);
      await page.waitForSelector('[data-testid="reply-file"][data-state="done"]');
    };
    try {
      await dashLogin(stack, ctx, session);
      assert.equal((await admin('POST', `/v1/admin/conversations/${conv}/handoff`, { state: 'human' })).status, 200);
      await openDash(page, stack, thread, '[data-testid="reply-form"]:not([hidden])');
      await page.fill('[data-testid="reply-input"]', typed);
      await attach();
      assert.equal(await unloadAsks(), true, 'a reload asks');
      // A link: asked; Cancel stays, the text and the file kept.
      await page.click('[data-testid="nav-conversations"]');
      await page.waitForSelector('[data-testid="confirm-dialog"]');
      await page.click('[data-testid="confirm-cancel"]');
      assert.equal(await page.evaluate(() => location.hash), thread);
      assert.equal(await page.locator('[data-testid="reply-file"]').count(), 1);

      // The file removed: the text alone leaves without a question, and is back.
      await page.click('[data-testid="reply-file-remove"]');
      assert.equal(await unloadAsks(), false, 'the text is kept: no question');
      await page.click('[data-testid="nav-conversations"]');
      await page.waitForFunction(() => location.hash === '#/conversations');
      assert.equal(await page.$('[data-testid="confirm-dialog"][open]'), null);
      await page.goBack();
      await page.waitForSelector('[data-testid="reply-form"]:not([hidden])');
      assert.equal(await page.inputValue('[data-testid="reply-input"]'), typed, 'the text back');
      await page.reload();
      await page.waitForSelector('[data-testid="reply-form"]:not([hidden])');
      assert.equal(await page.inputValue('[data-testid="reply-input"]'), typed, 'the text back after a reload');

      // Sent with a file: nothing left to ask about.
      await attach();
      await page.click('[data-testid="reply-send"]');
      await page.waitForFunction(() => document.querySelector('[data-testid="reply-status"]').textContent === 'Sent.', null, { timeout: 15000 });
      assert.equal(await unloadAsks(), false, 'sent: no question');
      // Left on purpose: the question answered, the page goes.
      await attach();
      await page.click('[data-testid="nav-conversations"]');
      await page.click('[data-testid="confirm-ok"]');
      await page.waitForFunction(() => location.hash === '#/conversations');
      assert.equal(await unloadAsks(), false, 'left: nothing left to ask about');
      await assertClean(page, log, 'a reply with files left');
    } finally { await ctx.close(); }
  });

  test('the widget form: the types and the size limit, saved as the API says', async () => {
    const { ctx, page, log } = await openPage(browser);
    try {
      await dashLogin(stack, ctx, session);
      // A new widget starts with none (as the API's default, as the README says), 10 MB.
      await openDash(page, stack, '#/widgets/new', '[data-testid="widget-form"]');
      const checked = () => page.evaluate(() => ['image', 'pdf', 'text'].filter((t) => document.querySelector(`[data-testid="attach-type-${t}"]`).checked));
      assert.deepEqual(await checked(), []);
      assert.equal(await page.inputValue('#f-attachment_max_mb'), '10');
      const api = await admin('POST', '/v1/admin/widgets', { name: 'API default shop', allowed_origins: [] });
      assert.deepEqual([api.status, api.json.attachment_types, api.json.attachment_max_mb], [201, [], 10], 'the API\'s default, which the form starts with');
      await page.check('[data-testid="attach-type-image"]');
      await page.check('[data-testid="attach-type-pdf"]');
      await page.fill('#f-name', 'Attach form shop');
      await page.fill('#f-attachment_max_mb', '30');
      await page.click('[data-testid="save-widget"]');
      const err = page.locator('[data-testid="field-error-attachment_max_mb"]');
      await err.waitFor();
      assert.equal(await err.textContent(), 'must be a whole number from 1 to 25');
      assert.equal(await page.getAttribute('#f-attachment_max_mb', 'aria-invalid'), 'true');
      const bad = await axeLightDark(page, 'new widget, a size refused');
      await page.fill('#f-attachment_max_mb', '8');
      await page.click('[data-testid="save-widget"]');
      await page.waitForSelector('[data-testid="widget-title"]');
      const wid = decodeURIComponent(new URL(page.url()).hash.replace('#/widgets/', ''));
      let got = (await admin('GET', `/v1/admin/widgets/${wid}`)).json;
      assert.deepEqual([got.attachment_types, got.attachment_max_mb], [['image', 'pdf'], 8]);
      // Edited: PDF and text, 25 MB.
      assert.deepEqual(await checked(), ['image', 'pdf']);
      await page.uncheck('[data-testid="attach-type-image"]');
      await page.check('[data-testid="attach-type-text"]');
      await page.fill('#f-attachment_max_mb', '25');
      await page.click('[data-testid="save-widget"]');
      await page.waitForFunction(() => document.querySelector('[data-testid="save-status"]').textContent === 'Saved.');
      got = (await admin('GET', `/v1/admin/widgets/${wid}`)).json;
      assert.deepEqual([got.attachment_types, got.attachment_max_mb], [['pdf', 'text'], 25]);
      // And in the widget's public config.
      const cfg = await stack.parley.get(`/api/widget/${wid}/config`);
      assert.deepEqual(cfg.json().attachment_types, ['pdf', 'text']);
      // None: visitors cannot attach.
      await page.uncheck('[data-testid="attach-type-pdf"]');
      await page.uncheck('[data-testid="attach-type-text"]');
      await page.click('[data-testid="save-widget"]');
      await page.waitForFunction(() => document.querySelector('[data-testid="save-status"]').textContent === 'Saved.');
      got = (await admin('GET', `/v1/admin/widgets/${wid}`)).json;
      assert.deepEqual(got.attachment_types, []);
      // Kept over a reload; the widget made through the API shows its own.
      await page.reload();
      await page.waitForSelector('[data-testid="widget-form"]');
      assert.deepEqual(await checked(), []);
      assert.equal(await page.inputValue('#f-attachment_max_mb'), '25');
      await openDash(page, stack, `#/widgets/${w.widget_id}`, '[data-testid="widget-form"]');
      assert.deepEqual(await checked(), ['image', 'pdf']);
      assert.equal(await page.inputValue('#f-attachment_max_mb'), '10');
      bad.push(...await axeLightDark(page, 'widget form'));
      // The fieldset alone (the live preview, open at this width, taken away: it covers the form's right).
      await page.evaluate(() => window.ParleyChat && window.ParleyChat.destroy());
      const fieldset = page.locator('fieldset', { has: page.locator('[data-field="attachment_types"]') });
      await fieldset.evaluate((e) => e.scrollIntoView({ block: 'start' }));
      fs.mkdirSync(SCREENSHOTS, { recursive: true });
      for (const colorScheme of ['light', 'dark']) {
        await page.emulateMedia({ colorScheme });
        await fieldset.screenshot({ path: path.join(SCREENSHOTS, `dashboard-attach-form-1280-${colorScheme}.png`) });
      }
      await page.emulateMedia({ colorScheme: 'light' });
      assert.deepEqual(bad, []);
      await assertClean(page, log, 'widget form');
    } finally { await ctx.close(); }
  });
});
