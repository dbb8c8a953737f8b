// Canned replies with files in the dashboard, in headless Chromium against
// one Parley with the mock model: a canned reply made on its page with an
// image pasted into its text and a PDF of two pieces from the picker (a
// third file removed, its upload deleted on the server), listed with its
// files, its bytes as sent; edited, its files shown and kept; "/" in a
// conversation's reply box inserting it brings its files to the reply's
// list, ready (once however often it is inserted), and the reply sent
// carries copies of them (new ids, the same bytes) while the canned reply
// keeps its own; a second reply mixing one of its files with an image
// pasted into the box. Screenshots at 1280 and 390 px, light and dark;
// axe-core clean in both schemes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  DASHBOARD_PASSWORD, PHONE, SUITE_TIMEOUT, adminApi, assertClean, axeLightDark, dashLogin, openDash, openPage, overflow,
  phoneReplyChecked, shotsLightDark, startSuite, stopSuite,
} from './lib/browser.mjs';
import { ZIP, pdf, png } from './lib/files.mjs';
import { Visitor } from '../integration/lib/wsclient.mjs';
import { login } from '../integration/lib/dashboard.mjs';

const FORK = png(320, 200, [30, 120, 90]);
const GUIDE = pdf('How to fit the fork', 300 * 1024); // two pieces of 256 KiB
const PASTED = png(160, 100, [210, 40, 120]);
const NOTE = Buffer.from('Torque: 5 Nm.\n', 'utf8');
const SHORTCUT = 'fork-fit';
const TEXT = 'Here is how to fit the new fork: the photo shows the parts, the guide each step.';
// the image's name is markup (no '/' or '"': the server keeps a name's last part, without quotes)
const FILES = [['fork <img src=x onerror=alert(1)>.png', 'image/png', FORK], ['fitting guide.pdf', 'application/pdf', GUIDE]];
const UPLOADS = '/v1/admin/canned-replies/attachments';

describe('canned replies with files in the dashboard, in Chromium', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  let browser;
  let session;
  let conv; // the visitor's conversation id
  let visitor;
  let canned; // the canned reply as the API says after the first test
  const t0 = Date.now();
  const admin = (method, p, body) => adminApi(stack, method, p, body);
  const cannedItem = async () => (await admin('GET', '/v1/admin/canned-replies')).json.items.find((i) => i.shortcut === SHORTCUT);
  // The bytes at an attachment's url (the admin key).
  async function bytesOf(url) {
    const r = await stack.parley.admin(url);
    assert.equal(r.status, 200, `GET ${url}`);
    return r.body;
  }
  // A file pasted into the text box sel: whether the paste was taken as a file.
  const paste = (page, sel, name, type, data) => page.evaluate(([s, n, t, b64]) => {
    const dt = new DataTransfer();
    dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], n, { type: t }));
    const ev = new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true });
    document.querySelector(s).dispatchEvent(ev);
    return ev.defaultPrevented;
  }, [sel, name, type, data.toString('base64')]);
  const doneFiles = (page, n) => page.waitForFunction((k) => {
    const all = document.querySelectorAll('[data-testid="reply-file"]');
    return all.length === k && [...all].every((li) => li.dataset.state === 'done');
  }, n, { timeout: 15000 });
  const fileNames = (page) => page.$$eval('[data-testid="reply-file-name"]', (els) => els.map((e) => e.textContent));
  // "/" and the start of the shortcut in the reply box, Enter: the canned reply inserted.
  async function insertCanned(page) {
    await page.fill('[data-testid="reply-input"]', '');
    await page.focus('[data-testid="reply-input"]');
    await page.keyboard.type('/fork');
    await page.waitForSelector(`[data-testid="canned-option"][data-shortcut="${SHORTCUT}"]`);
    await page.keyboard.press('Enter');
    await page.locator('[data-testid="canned-picker"]').waitFor({ state: 'hidden' });
    assert.equal(await page.inputValue('[data-testid="reply-input"]'), TEXT);
  }

  before(async () => {
    ({ stack, browser } = await startSuite({ mock: { chunks: 2 }, env: { DASHBOARD_PASSWORD } }));
    const logged = login(stack.parley);
    logged.catch(() => {});
    const r = await admin('POST', '/v1/admin/widgets', { name: 'Fork shop', allowed_origins: [], handoff_enabled: true });
    assert.equal(r.status, 201, r.text);
    const w = r.json;
    visitor = await Visitor.open(stack.parley, w.widget_id);
    await visitor.next('session');
    visitor.send({ type: 'message', content: 'How do I fit the fork you sent?' });
    for (let m = await visitor.next(); m.type !== 'typing_stop'; m = await visitor.next()) { /* the answer */ }
    const list = await admin('GET', `/v1/admin/conversations?widget=${encodeURIComponent(w.id)}&limit=5`);
    assert.equal(list.json.conversations.length, 1, list.text);
    conv = list.json.conversations[0]._id;
    session = await logged;
  });
  after(async () => {
    if (visitor) await visitor.close().catch(() => {});
    await stopSuite({ stack, browser });
    console.log(`# dashboard-canned-attach.test.mjs: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  test('the canned replies\' page: a reply with a pasted image and a picked PDF, listed with its files; edited, its files kept', async () => {
    const { ctx, page, log } = await openPage(browser);
    try {
      await dashLogin(stack, ctx, session);
      await openDash(page, stack, '#/canned-replies', '[data-testid="canned-form"]');
      assert.equal(await page.locator('[data-testid="canned-form"] [data-testid="reply-files"]').isHidden(), true, 'no files at first');
      await page.fill('#f-shortcut', SHORTCUT);
      await page.fill('#f-text', TEXT);
      // The image pasted into the text: a file (its name is markup: shown as text), not its name in the text.
      assert.equal(await paste(page, '#f-text', ...FILES[0]), true, 'the paste taken as a file');
      assert.equal(await page.inputValue('#f-text'), TEXT);
      // The PDF from the picker, in two pieces; a text file too, removed once uploaded: deleted on the server.
      const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.click('[data-testid="reply-attach"]')]);
      assert.equal(chooser.isMultiple(), true);
      await chooser.setFiles([{ name: FILES[1][0], mimeType: FILES[1][1], buffer: GUIDE }, { name: 'torque.txt', mimeType: 'text/plain', buffer: NOTE }]);
      await doneFiles(page, 3);
      assert.deepEqual(await fileNames(page), [FILES[0][0], FILES[1][0], 'torque.txt']);
      assert.equal(await page.locator('[data-testid="reply-file"]').first().getAttribute('data-kind'), 'image');
      await page.waitForFunction(() => document.querySelector('[data-testid="reply-file-thumb"]')?.naturalWidth > 0);
      assert.match(await page.getAttribute('[data-testid="reply-file-thumb"]', 'src'), /^data:image\/png;base64,/);
      const markup = () => page.locator('img[src="x"]').count();
      assert.equal(await markup(), 0, 'the name as text');
      const gone = page.waitForResponse((res) => res.request().method() === 'DELETE' && res.url().includes(`${UPLOADS}/att_`));
      await page.locator('[data-testid="reply-file"]', { hasText: 'torque.txt' }).locator('[data-testid="reply-file-remove"]').click();
      assert.equal((await gone).status(), 204, 'the removed upload deleted');
      await doneFiles(page, 2);
      assert.equal(await page.textContent('[data-testid="canned-form-status"]'), 'torque.txt removed.');
      // A file the server refuses: saving is refused, in the form's words (save, not send), until it is removed.
      await page.setInputFiles('[data-testid="canned-form"] [data-testid="reply-file-input"]', [{ name: 'parts.zip', mimeType: 'application/zip', buffer: ZIP }]);
      await page.waitForSelector('[data-testid="reply-file"][data-state="error"]', { timeout: 10000 });
      await page.click('[data-testid="canned-save"]');
      await page.waitForFunction(() => document.getElementById('err-attachments')?.textContent !== '');
      assert.match(await page.textContent('#err-attachments'), /^parts\.zip cannot be sent: .* Remove it to save the rest\.$/);
      assert.equal(await cannedItem(), undefined, 'nothing saved');
      await page.locator('[data-testid="reply-file"]', { hasText: 'parts.zip' }).locator('[data-testid="reply-file-remove"]').click();
      await doneFiles(page, 2);
      assert.ok(!log.requests.some((u) => u.includes('/conversations/')), 'uploaded under the canned replies\' route');

      await shotsLightDark(page, 'dashboard-canned-attach-form-1280');
      const bad = await axeLightDark(page, 'canned reply form with files');

      await page.click('[data-testid="canned-save"]');
      await page.waitForFunction((s) => document.querySelector('[data-testid="canned-form-status"]').textContent === `Added /${s}.`, SHORTCUT);
      assert.equal(await page.locator('[data-testid="canned-form"] [data-testid="reply-files"]').isHidden(), true, 'the form emptied');
      canned = await cannedItem();
      assert.ok(canned, 'saved');
      assert.deepEqual(canned.attachments.map((a) => [a.name, a.type, a.size]), FILES.map(([n, t, b]) => [n, t, b.length]));
      for (const [i, a] of canned.attachments.entries()) {
        assert.match(a.id, /^att_/);
        assert.equal(a.url, `${UPLOADS}/${a.id}`);
        assert.ok((await bytesOf(a.url)).equals(FILES[i][2]), `${a.name}: the bytes as sent`);
      }
      // Listed: how many files and their names.
      const row = page.locator('[data-testid="canned-row"]', { hasText: `/${SHORTCUT}` });
      await row.locator('[data-testid="canned-files-count"]').waitFor();
      assert.equal(await row.locator('[data-testid="canned-files-count"]').textContent(), '2 files');
      assert.deepEqual(await row.locator('[data-testid="canned-file-name"]').allTextContents(), FILES.map(([n]) => n));
      assert.equal(await row.locator('[data-testid="canned-text"]').textContent(), TEXT);
      assert.equal(await markup(), 0, 'the names as text');

      // Edited: its files shown (the image drawn from its url), the text changed, the files kept.
      await row.locator('[data-testid="canned-edit"]').click();
      await doneFiles(page, 2);
      assert.deepEqual(await fileNames(page), FILES.map(([n]) => n));
      const thumb = page.locator('[data-testid="reply-file-thumb"]');
      assert.equal(await thumb.getAttribute('src'), canned.attachments[0].url);
      await page.waitForFunction(() => document.querySelector('[data-testid="reply-file-thumb"]')?.naturalWidth === 320);
      const box = await thumb.boundingBox();
      assert.ok(box.width === box.height && box.width <= 64, `a fixed frame: ${JSON.stringify(box)}`);
      assert.equal(await page.locator('[data-testid="reply-file"][data-kind="pdf"] [data-testid="reply-file-note"]').textContent(), 'Saved with the reply');
      await shotsLightDark(page, 'dashboard-canned-attach-edit-1280');
      bad.push(...await axeLightDark(page, 'canned reply being edited'));
      await page.fill('#f-text', TEXT.replace('fork:', 'fork (model B):'));
      await page.click('[data-testid="canned-save"]');
      await page.waitForFunction((s) => document.querySelector('[data-testid="canned-form-status"]').textContent === `Saved /${s}.`, SHORTCUT);
      const edited = await cannedItem();
      assert.equal(edited.text, TEXT.replace('fork:', 'fork (model B):'));
      assert.deepEqual(edited.attachments.map((a) => a.id), canned.attachments.map((a) => a.id), 'the same files');
      // back to the text the next test inserts
      assert.equal((await admin('PUT', `/v1/admin/canned-replies/${canned.id}`, { shortcut: SHORTCUT, text: TEXT })).status, 200);

      // A phone: the list and the form, no sideways scroll.
      const phone = await openPage(browser, PHONE);
      try {
        await dashLogin(stack, phone.ctx, session);
        await openDash(phone.page, stack, '#/canned-replies', '[data-testid="canned-files-count"]');
        await phone.page.locator('[data-testid="canned-edit"]').first().click();
        await doneFiles(phone.page, 2);
        await phone.page.waitForFunction(() => document.querySelector('[data-testid="reply-file-thumb"]')?.naturalWidth > 0);
        const o = await overflow(phone.page);
        assert.ok(o.scrollWidth <= o.innerWidth, `no sideways scroll: ${JSON.stringify(o)}`);
        await shotsLightDark(phone.page, 'dashboard-canned-attach-390');
        bad.push(...await axeLightDark(phone.page, 'phone canned replies with files'));
        await assertClean(phone.page, phone.log, 'phone canned replies');
      } finally { await phone.ctx.close(); }
      assert.deepEqual(bad, []);
      assert.deepEqual(log.dialogs, []);
      await assertClean(page, log, 'canned replies with files', { allowConsole: /status of 415/ });
    } finally { await ctx.close(); }
  });

  test('"/" brings the canned reply\'s files to the reply; sent, the message carries copies and the canned reply keeps its own', async () => {
    assert.ok(canned, 'the canned reply of the first test');
    const cannedIds = canned.attachments.map((a) => a.id);
    const { ctx, page, log } = await openPage(browser);
    try {
      await dashLogin(stack, ctx, session);
      await openDash(page, stack, `#/conversations/${conv}`, '[data-testid="take-over"]');
      await page.click('[data-testid="take-over"]');
      await page.waitForSelector('[data-testid="reply-form"]:not([hidden])');
      await page.focus('[data-testid="reply-input"]');
      await page.keyboard.type('/fo');
      const option = page.locator(`[data-testid="canned-option"][data-shortcut="${SHORTCUT}"]`);
      await option.waitFor();
      assert.equal(await option.locator('[data-testid="canned-option-files"]').textContent(), '2 files');
      await insertCanned(page);
      await doneFiles(page, 2);
      assert.deepEqual(await fileNames(page), FILES.map(([n]) => n));
      assert.equal(await page.textContent('[data-testid="reply-status"]'), `2 files of /${SHORTCUT} added.`);
      assert.equal(await page.locator('[data-testid="reply-file"] [data-testid="reply-file-note"]').first().textContent(), 'Ready to send');
      await page.waitForFunction(() => document.querySelector('[data-testid="reply-file-thumb"]')?.naturalWidth > 0);
      // Inserted again: its files are listed once.
      await insertCanned(page);
      await doneFiles(page, 2);
      assert.ok(!log.requests.some((u) => /\/attachments$/.test(new URL(u).pathname)), 'nothing uploaded');

      await shotsLightDark(page, 'dashboard-canned-attach-reply-1280', { fullPage: false });
      const bad = await axeLightDark(page, 'reply box with a canned reply\'s files');
      const phone = await openPage(browser, PHONE);
      try {
        await dashLogin(stack, phone.ctx, session);
        await openDash(phone.page, stack, `#/conversations/${conv}`, '[data-testid="reply-form"]:not([hidden])');
        await insertCanned(phone.page);
        await doneFiles(phone.page, 2);
        bad.push(...await phoneReplyChecked(phone, 'dashboard-canned-attach-reply-390', 'phone reply box with a canned reply\'s files'));
      } finally { await phone.ctx.close(); }
      assert.deepEqual(bad, []);

      // Sent: the stored message has copies (new ids, the same bytes).
      await page.click('[data-testid="reply-send"]');
      await page.waitForFunction(() => document.querySelector('[data-testid="reply-status"]').textContent === 'Sent.', null, { timeout: 15000 });
      assert.equal(await page.locator('[data-testid="reply-files"]').isHidden(), true, 'the list emptied');
      let stored = (await admin('GET', `/v1/admin/conversations/${conv}`)).json.messages;
      const reply = stored[stored.length - 1];
      assert.equal(reply.role, 'agent');
      assert.equal(reply.content, TEXT);
      assert.deepEqual(reply.attachments.map((a) => [a.name, a.type, a.size]), FILES.map(([n, t, b]) => [n, t, b.length]));
      const copies = reply.attachments.map((a) => a.id);
      assert.ok(copies.every((id) => /^att_/.test(id) && !cannedIds.includes(id)), `new ids: ${copies} (the canned reply's ${cannedIds})`);
      for (const [i, a] of reply.attachments.entries()) assert.ok((await bytesOf(a.url)).equals(FILES[i][2]), `${a.name}: the copy's bytes`);
      // In the thread: the person's bubble with the image and the card.
      const li = page.locator(`[data-testid="thread-message"][data-id="${reply._id}"]`);
      await li.waitFor({ timeout: 10000 });
      assert.deepEqual(await li.locator('[data-testid="msg-attachment"]').evaluateAll((els) => els.map((e) => e.dataset.id)), copies);
      await page.waitForFunction((id) => document.querySelector(`[data-id="${id}"] [data-testid="att-image"]`)?.naturalWidth === 320,
        reply._id, { timeout: 10000 });
      // The canned reply keeps its files.
      const still = await cannedItem();
      assert.deepEqual(still.attachments.map((a) => a.id), cannedIds);
      for (const [i, a] of still.attachments.entries()) assert.ok((await bytesOf(a.url)).equals(FILES[i][2]), `${a.name}: still the canned reply's`);

      // Mixed: the canned reply's image (its PDF removed) and an image pasted into the box.
      await insertCanned(page);
      await doneFiles(page, 2);
      await page.locator('[data-testid="reply-file"][data-kind="pdf"] [data-testid="reply-file-remove"]').click();
      assert.equal(await paste(page, '[data-testid="reply-input"]', 'pasted.png', 'image/png', PASTED), true);
      await doneFiles(page, 2);
      assert.deepEqual(await fileNames(page), [FILES[0][0], 'pasted.png']);
      await page.click('[data-testid="reply-send"]');
      await page.waitForFunction(() => document.querySelector('[data-testid="reply-status"]').textContent === 'Sent.', null, { timeout: 15000 });
      stored = (await admin('GET', `/v1/admin/conversations/${conv}`)).json.messages;
      const mixed = stored[stored.length - 1];
      assert.deepEqual(mixed.attachments.map((a) => [a.name, a.size]), [[FILES[0][0], FORK.length], ['pasted.png', PASTED.length]]);
      assert.ok(mixed.attachments.every((a) => !cannedIds.includes(a.id) && !copies.includes(a.id)), 'new ids again');
      assert.ok((await bytesOf(mixed.attachments[0].url)).equals(FORK));
      assert.ok((await bytesOf(mixed.attachments[1].url)).equals(PASTED));
      assert.deepEqual((await cannedItem()).attachments.map((a) => a.id), cannedIds, 'the canned reply\'s files unchanged');
      assert.equal(await page.locator('img[src="x"]').count(), 0, 'the names as text');
      assert.deepEqual(log.dialogs, []);
      await assertClean(page, log, 'canned reply with files sent');
    } finally { await ctx.close(); }
  });
});
