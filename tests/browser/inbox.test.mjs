// The dashboard as an inbox (issue 24, item 6), in headless Chromium
// against one Parley with the mock model: the list and the open thread side
// by side (one at a time on a phone, with a way back); rows named after the
// visitor with the visitor's last message and unread in bold until opened
// (the server told: POST …/read); a visitor's message arriving live moves
// its row to the top, unread; a long thread keeps the reply box on the
// screen; "/" in the reply box picks a canned reply by keyboard, sent, and
// the visitor's socket gets it; the visitor's details from a real widget
// page load (page, referrer, browser, language, local time); the canned
// replies' page (add, a duplicate refused, edit, delete); screenshots and
// axe-core at 1280x800 and 390x844 in light and dark, no sideways scroll.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  DASHBOARD_PASSWORD, PHONE, SCREENSHOTS, SHOT_TIMEOUT, SUITE_TIMEOUT, adminApi, assertClean, axeSerious, dashLogin, holdSecondRead, openDash, openPage, overflow, recordNotifications,
  part, sendByKeyboard, startSuite, stopSuite, waitFor, waitReady, waitReplyEnd,
} from './lib/browser.mjs';
import { Visitor } from '../integration/lib/wsclient.mjs';
import { login } from '../integration/lib/dashboard.mjs';
import { within } from '../integration/lib/harness.mjs';

const row = (id) => `[data-testid="conv-row"][data-id="${id}"]`;
const LONG = 40; // messages in the long thread
const HOURS = 'We are open from 9 to 17, Monday to Friday.';
const ZONE = 'Asia/Tokyo';
const REFERRER = 'https://search.example/?q=parley';

// The next message of the visitor's socket that fn accepts (others skipped).
async function nextWhere(v, fn, what) {
  for (let i = 0; i < 50; i++) {
    const m = await v.next(undefined, 10000);
    if (fn(m)) return m;
  }
  throw new Error(`no ${what} among 50 messages`);
}

describe('the inbox in Chromium', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  let browser;
  let session;
  let w;            // the widget
  const visitors = []; // WebSocket visitors, closed at the end
  let convA;        // a visitor's conversation (WebSocket)
  let convB;        // another one
  let convPage;     // the conversation of the widget page (browser)
  let vA;
  const t0 = Date.now();

  const admin = (method, p, body) => adminApi(stack, method, p, body);

  // A visitor over the WebSocket with one turn; returns {v, conv}.
  async function wsVisitor(text) {
    const v = await Visitor.open(stack.parley, w.widget_id);
    visitors.push(v);
    await v.next('session');
    await v.turn(text);
    const list = await admin('GET', `/v1/admin/conversations?widget=${encodeURIComponent(w.id)}&limit=50`);
    const c = list.json.conversations.find((x) => x.lastVisitorMessage === text);
    assert.ok(c, `the conversation of "${text}": ${list.text}`);
    return { v, conv: c._id };
  }

  before(async () => {
    ({ stack, browser } = await startSuite({ mock: { chunks: 2 }, env: { DASHBOARD_PASSWORD } }));
    const logged = login(stack.parley);
    logged.catch(() => {});
    const r = await admin('POST', '/v1/admin/widgets', { name: 'Inbox shop', allowed_origins: [], handoff_enabled: true });
    assert.equal(r.status, 201, r.text);
    w = r.json;
    ({ v: vA, conv: convA } = await wsVisitor('Do you ship to Canada?'));
    ({ conv: convB } = await wsVisitor('Where is my order 1234?'));
    // A's thread made long: turns of the visitor, the last one the first question again.
    for (let i = 0; i < LONG / 2; i++) await vA.turn(`line ${i} of a long conversation`);
    await vA.turn('Do you ship to Canada?');
    const c = await admin('POST', '/v1/admin/canned-replies', { shortcut: 'hours', text: HOURS });
    assert.equal(c.status, 201, c.text);
    assert.equal((await admin('POST', '/v1/admin/canned-replies', { shortcut: 'thanks', text: 'Thank you for writing!' })).status, 201);
    session = await logged;
  });
  after(async () => {
    for (const v of visitors) await v.close().catch(() => {});
    await stopSuite({ stack, browser });
    console.log(`# inbox.test.mjs: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  test('two panes; unread in bold until opened, read on the server after; a live visitor message moves its row up, unread', async () => {
    const { ctx, page, log } = await openPage(browser);
    try {
      await dashLogin(stack, ctx, session);
      await openDash(page, stack, '#/conversations', row(convB));
      // The rows: the visitor named, the visitor's words as the preview, unread, a relative time.
      const b = page.locator(row(convB));
      assert.equal(await b.getAttribute('data-unread'), 'true');
      assert.equal(await b.locator('[data-testid="conv-preview"]').textContent(), 'Where is my order 1234?');
      const listed = (await admin('GET', '/v1/admin/conversations?limit=50')).json.conversations.find((x) => x._id === convB);
      assert.equal(await b.locator('[data-testid="conv-name"]').textContent(), listed.visitorName);
      assert.ok(listed.visitorName && !listed.visitorName.includes('sha256'), `a readable name: ${listed.visitorName}`);
      const time = b.locator('[data-testid="conv-time"]');
      assert.match(await time.textContent(), /^just now$| ago$/, 'a relative time');
      assert.ok(Date.parse(await time.getAttribute('datetime')) > 0, 'the absolute time in datetime');
      // Found and read in one evaluation: the list is built again when the
      // live stream says "ready" (live.js), which may land between
      // $eval's query and its function; a row taken out of the page has
      // no computed style (font-weight "", read as 0: the failure of
      // 2026-11-27, once in 10 to 30 runs of this file).
      const weight = (sel) => page.evaluate((s) => {
        const e = document.querySelector(s);
        return e ? Number(getComputedStyle(e).fontWeight) : NaN;
      }, sel);
      const bold = await weight(`${row(convB)} [data-testid="conv-name"]`);
      assert.ok(bold >= 700, `unread: bold (font-weight ${bold}; the row: ${await page.$eval(row(convB),
        (e) => `class "${e.className}", data-unread ${e.dataset.unread}, ${e.outerHTML.length} bytes`)}; ` +
        `the stream: ${await page.evaluate(() => document.documentElement.dataset.live)})`);
      assert.equal(await page.locator(`${row(convB)} [data-testid="conv-unread"]`).count(), 1, 'and said to screen readers');
      // No thread yet: the placeholder on the right.
      await page.waitForSelector('[data-testid="thread-none"]');

      // Open B: the thread on the right, the list still on the left.
      await b.locator('[data-testid="conv-link"]').click();
      await page.waitForURL((u) => u.hash === `#/conversations/${convB}`);
      await page.waitForSelector('[data-testid="thread-message"]');
      const lb = await page.locator('[data-testid="inbox-list"]').boundingBox();
      const tb = await page.locator('[data-testid="inbox-thread"]').boundingBox();
      assert.ok(lb.width > 200 && tb.width > 400 && lb.x + lb.width <= tb.x + 1, `side by side: ${JSON.stringify({ lb, tb })}`);
      await page.waitForSelector(`${row(convB)}[data-unread="false"]`);
      assert.ok(await weight(`${row(convB)} [data-testid="conv-name"]`) < 700, 'read: not bold');
      assert.equal(await page.getAttribute(`${row(convB)} [data-testid="conv-link"]`, 'aria-current'), 'true');
      // Read on the server too, for this user (a key has nothing unread).
      await waitFor(async () => (await session.get('/v1/admin/conversations?limit=50')).json().conversations.find((x) => x._id === convB).unread === false,
        5000, 'B read on the server');
      await page.reload();
      await page.waitForSelector(`${row(convB)}[data-unread="false"]`);
      await page.waitForSelector('[data-testid="thread-message"]');
      await page.waitForFunction(() => document.documentElement.dataset.live === 'live', null, { timeout: 5000 });

      // A writes while B is open: A's row to the top, unread; B stays read.
      const first = () => page.getAttribute('[data-testid="conv-row"]', 'data-id');
      vA.send({ type: 'message', content: 'Hello again, anyone there?' });
      await page.waitForFunction((id) => {
        const r = document.querySelector('[data-testid="conv-row"]');
        return r && r.dataset.id === id && r.dataset.unread === 'true'
          && r.querySelector('[data-testid="conv-preview"]').textContent === 'Hello again, anyone there?';
      }, convA, { timeout: 10000 });
      assert.equal(await first(), convA);
      assert.equal(await page.getAttribute(row(convB), 'data-unread'), 'false');
      await nextWhere(vA, (m) => m.type === 'typing_stop', 'the reply\'s end');
      await assertClean(page, log, 'inbox live');
    } finally { await ctx.close(); }
  });

  test('a long thread keeps the reply box on the screen; "/" picks a canned reply by keyboard, sent to the visitor', async () => {
    const { ctx, page, log } = await openPage(browser);
    try {
      await dashLogin(stack, ctx, session);
      await openDash(page, stack, `#/conversations/${convA}`, '[data-testid="take-over"]');
      assert.ok(await page.locator('[data-testid="thread-message"]').count() > LONG, 'the long thread');
      await page.click('[data-testid="take-over"]');
      await page.waitForSelector('[data-testid="reply-form"]:not([hidden])');
      await nextWhere(vA, (m) => m.type === 'handoff' && m.state === 'human', 'the take-over');
      const inView = async (what) => {
        const box = await page.locator('[data-testid="reply-input"]').boundingBox();
        const vp = page.viewportSize();
        assert.ok(box && box.y >= 0 && box.y + box.height <= vp.height && box.x >= 0 && box.x + box.width <= vp.width,
          `${what}: the reply box within the viewport: ${JSON.stringify({ box, vp })}`);
      };
      await inView('after opening');
      // The messages scroll, not the box: the first message scrolled into view, the box stays.
      await page.locator('[data-testid="thread-message"]').first().scrollIntoViewIfNeeded();
      await inView('scrolled to the first message');

      // "/" opens the listbox; "th" filters it; arrows and Enter insert.
      await page.focus('[data-testid="reply-input"]');
      await page.keyboard.type('/');
      const picker = page.locator('[data-testid="canned-picker"]');
      await picker.waitFor();
      assert.equal(await picker.getAttribute('role'), 'listbox');
      assert.deepEqual(await page.$$eval('[data-testid="canned-option"]', (els) => els.map((e) => e.dataset.shortcut)), ['hours', 'thanks']);
      await page.keyboard.type('h');
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="canned-option"]').length === 2);
      await page.keyboard.type('o');
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="canned-option"]').length === 1);
      await page.keyboard.press('Backspace');
      await page.keyboard.press('Backspace');
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="canned-option"]').length === 2);
      await page.keyboard.press('ArrowDown');
      const active = await page.getAttribute('[data-testid="reply-input"]', 'aria-activedescendant');
      assert.equal(await page.getAttribute(`#${active}`, 'data-shortcut'), 'thanks', 'ArrowDown chose the second');
      assert.equal(await page.getAttribute(`#${active}`, 'aria-selected'), 'true');
      await page.keyboard.press('ArrowUp');
      await page.keyboard.press('Enter');
      await picker.waitFor({ state: 'hidden' });
      assert.equal(await page.inputValue('[data-testid="reply-input"]'), HOURS);
      await page.keyboard.type(' ');
      await page.keyboard.press('Control+Enter');
      await page.waitForFunction(() => document.querySelector('[data-testid="reply-status"]').textContent === 'Sent.');
      const got = await nextWhere(vA, (m) => m.type === 'message' && m.role === 'agent', 'the reply on the socket');
      assert.equal(got.content, HOURS);
      await inView('after sending');
      // Nothing matches: said so; Escape closes without inserting.
      await page.keyboard.type('/zz');
      await page.waitForSelector('[data-testid="canned-picker"] [aria-disabled="true"]');
      await page.keyboard.press('Escape');
      await picker.waitFor({ state: 'hidden' });
      assert.equal(await page.inputValue('[data-testid="reply-input"]'), '/zz');

      // On a phone: the thread alone, the box on the screen, a way back to the list.
      await page.setViewportSize(PHONE.viewport);
      await page.waitForFunction(() => !document.querySelector('[data-testid="inbox-list"]').offsetParent);
      await page.evaluate(() => window.scrollTo(0, 0));
      await inView('on a phone, at the top of the thread');
      await page.click('[data-testid="back-to-list"]');
      await page.waitForURL((u) => u.hash === '#/conversations');
      await page.waitForSelector(row(convA));
      assert.equal(await page.locator('[data-testid="inbox-thread"]').isVisible(), false, 'one pane at a time');
      await assertClean(page, log, 'inbox reply');
    } finally { await ctx.close(); }
  });

  test('the visitor\'s details from a widget page; screenshots and axe-core at 1280 and 390 px, light and dark', async () => {
    // A visitor on the host page, in Tokyo, reading French.
    const vis = await openPage(browser, { locale: 'fr-FR', timezoneId: ZONE });
    const url = stack.host.widgetEmbedUrl(w.widget_id);
    try {
      await vis.page.goto(url, { referer: REFERRER });
      await waitReady(vis.page);
      await vis.page.click(part('launcher'));
      await sendByKeyboard(vis.page, 'Bonjour, <b>une question</b>');
      assert.equal((await waitReplyEnd(vis.page)).state, 'done');
    } finally { await vis.ctx.close(); }
    const list = (await admin('GET', `/v1/admin/conversations?widget=${encodeURIComponent(w.id)}&limit=50`)).json.conversations;
    convPage = list.find((c) => c.lastVisitorMessage === 'Bonjour, <b>une question</b>')._id;

    const desk = await openPage(browser, { locale: 'en-GB' }); // a 24-hour clock, read below
    const phone = await openPage(browser, PHONE);
    try {
      await dashLogin(stack, desk.ctx, session);
      await dashLogin(stack, phone.ctx, session);
      const p = desk.page;
      await openDash(p, stack, `#/conversations/${convPage}`, '[data-testid="visitor-details"]');
      const link = p.locator('[data-testid="visitor-page"]');
      assert.equal(await link.getAttribute('href'), url);
      assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
      assert.match(await p.textContent('[data-testid="visitor-referrer"]'), /search\.example/);
      assert.match(await p.textContent('[data-testid="visitor-browser"]'), /^Chrome.* \d+ on Linux$/);
      assert.match(await p.textContent('[data-testid="visitor-language"]'), /^fr-FR/);
      // The visitor's clock: Tokyo's time now, within two minutes (the page's is computed in the page).
      const local = await p.textContent('[data-testid="visitor-local-time"]');
      assert.ok(local.endsWith(`(${ZONE})`), local);
      const [, hh, mm] = /(\d\d):(\d\d)/.exec(local) || [];
      const tokyo = new Date(Date.now() + 9 * 3600e3); // Asia/Tokyo: UTC+9, no summer time
      const diff = Math.abs((Number(hh) * 60 + Number(mm)) - (tokyo.getUTCHours() * 60 + tokyo.getUTCMinutes()));
      assert.ok(Math.min(diff, 1440 - diff) <= 2, `Tokyo's time in ${local}`);
      assert.equal(await p.locator('#view b').count(), 0, 'the visitor\'s markup is text');

      // Four states: desktop and phone (side by side), light and dark.
      fs.mkdirSync(SCREENSHOTS, { recursive: true });
      const states = async (name, pg) => {
        const found = [];
        for (const colorScheme of ['light', 'dark']) {
          await pg.emulateMedia({ colorScheme });
          await pg.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
          const o = await overflow(pg);
          assert.ok(o.scrollWidth <= o.innerWidth, `${name} ${colorScheme}: no sideways scroll: ${JSON.stringify(o)}`);
          await pg.screenshot({ path: path.join(SCREENSHOTS, `inbox-${name}-${colorScheme}.png`), fullPage: name === 'desktop', timeout: SHOT_TIMEOUT });
          found.push(...(await axeSerious(pg, `${name} ${colorScheme}`)).bad.map((v) => ({ state: `${name} ${colorScheme}`, ...v })));
        }
        return found;
      };
      const [onDesk, onPhone] = await Promise.allSettled([states('desktop', p), (async () => {
        await openDash(phone.page, stack, `#/conversations/${convPage}`, '[data-testid="visitor-details"]');
        return states('phone', phone.page);
      })()]);
      for (const r of [onDesk, onPhone]) if (r.status === 'rejected') throw r.reason;
      const bad = [...onDesk.value, ...onPhone.value];
      // The phone's list too.
      await phone.page.emulateMedia({ colorScheme: 'light' });
      await phone.page.click('[data-testid="back-to-list"]');
      await phone.page.waitForSelector(row(convPage));
      const o = await overflow(phone.page);
      assert.ok(o.scrollWidth <= o.innerWidth, `phone list: no sideways scroll: ${JSON.stringify(o)}`);
      // Its pane reaches the bottom of the screen under a short list.
      const paneEnd = await phone.page.evaluate(() => innerHeight -
        document.querySelector('.inbox-list-pane').getBoundingClientRect().bottom);
      assert.ok(paneEnd <= 0, `the list's pane ends ${paneEnd} px above the screen's bottom`);
      await phone.page.screenshot({ path: path.join(SCREENSHOTS, 'inbox-phone-list.png') });
      assert.deepEqual(bad, [], 'no serious or critical violation');
      await assertClean(p, desk.log, 'inbox desktop');
      await assertClean(phone.page, phone.log, 'inbox phone');
    } finally {
      await desk.ctx.close();
      await phone.ctx.close();
    }
  });

  test('canned replies\' page: add, a duplicate shortcut refused, edit, delete', async () => {
    const { ctx, page, log } = await openPage(browser);
    try {
      await dashLogin(stack, ctx, session);
      await openDash(page, stack, '#/canned-replies', '[data-testid="canned-row"]');
      await page.fill('#f-shortcut', 'refund');
      await page.fill('#f-text', 'Refunds take <i>5</i> days.');
      await page.click('[data-testid="canned-save"]');
      await page.waitForSelector('[data-testid="canned-row"] >> text=/refund');
      await page.fill('#f-shortcut', 'refund');
      await page.fill('#f-text', 'again');
      await page.click('[data-testid="canned-save"]');
      await page.waitForSelector('[data-testid="field-error-shortcut"]:not([hidden])');
      assert.match(await page.textContent('[data-testid="field-error-shortcut"]'), /taken/);
      const refund = page.locator('[data-testid="canned-row"]', { hasText: '/refund' });
      await refund.locator('[data-testid="canned-edit"]').click();
      assert.equal(await page.inputValue('#f-text'), 'Refunds take <i>5</i> days.');
      await page.fill('#f-text', 'Refunds take 3 days.');
      await page.click('[data-testid="canned-save"]');
      await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="canned-text"]')].some((e) => e.textContent === 'Refunds take 3 days.'));
      let items = (await admin('GET', '/v1/admin/canned-replies')).json.items;
      assert.equal(items.find((i) => i.shortcut === 'refund').text, 'Refunds take 3 days.');
      await refund.locator('[data-testid="canned-delete"]').click();
      await page.click('[data-testid="confirm-ok"]');
      await page.waitForFunction(() => ![...document.querySelectorAll('[data-testid="canned-shortcut"]')].some((e) => e.textContent === '/refund'));
      items = (await admin('GET', '/v1/admin/canned-replies')).json.items;
      assert.deepEqual(items.map((i) => i.shortcut).sort(), ['hours', 'thanks']);
      await assertClean(page, log, 'canned page', { allowConsole: /status of 409/ });
    } finally { await ctx.close(); }
  });

  // The list is read again when the stream starts (its "ready") and built
  // again from the answer: an event shown while that read was on its way
  // was undone by it (a hand-back shown, then "Person answering" back
  // until the next event or reload).
  test('the list: an answer read before a live event, arriving after it, does not undo it', async () => {
    assert.equal((await admin('POST', `/v1/admin/conversations/${convB}/handoff`, { state: 'human' })).status, 200);
    const { ctx, page, log } = await openPage(browser);
    try {
      await dashLogin(stack, ctx, session);
      // The stream waits for the list's first read, so its "ready" asks for
      // the second, held back once read, until the event is shown (the
      // list's page, not the conversations waiting: ?handoff=open).
      const { held, release } = await holdSecondRead(page,
        (u) => u.pathname === '/v1/admin/conversations' && !u.searchParams.has('handoff'));
      await openDash(page, stack, '#/conversations', null);
      await held;
      assert.equal((await admin('POST', `/v1/admin/conversations/${convB}/handoff`, { state: 'ai' })).status, 200);
      const shown = await page.waitForSelector(`${row(convB)}[data-handoff="ai"]`, { timeout: 10000 });
      await release();
      // the list built again from the late answer
      await page.waitForFunction((el) => !el.isConnected, shown, { timeout: 10000 });
      assert.equal(await page.getAttribute(row(convB), 'data-handoff'), 'ai', 'the hand-back stays shown');
      assert.equal(await page.locator(`${row(convB)} [data-testid="conv-handoff-badge"]`).count(), 0);
      await page.unrouteAll({ behavior: 'ignoreErrors' });
      await assertClean(page, log, 'the list: a late answer');
    } finally { await ctx.close(); }
  });

  // The waiting count is read again when the stream starts (its "ready"):
  // a take-over that came while that read was on its way was undone by it
  // (the nav said 1 waiting, the title "(1)", until the next event).
  test('the waiting count: an answer read before a take-over, arriving after it, does not undo it', async () => {
    // A answered by the assistant (a test above took it over), then waiting.
    assert.equal((await admin('POST', `/v1/admin/conversations/${convA}/handoff`, { state: 'ai' })).status, 200);
    vA.send({ type: 'request_human' });
    await waitFor(async () => (await admin('GET', `/v1/admin/conversations/${convA}`)).json.conversation.handoff === 'waiting_human',
      5000, 'A waiting for a person');
    const { ctx, page, log } = await openPage(browser);
    try {
      await dashLogin(stack, ctx, session);
      // The stream waits for the first read of the waiting conversations,
      // so its "ready" asks for the second, held back once read, until the
      // take-over is shown (a page without the inbox: no other such read).
      const { held, release } = await holdSecondRead(page,
        (u) => u.pathname === '/v1/admin/conversations' && u.searchParams.get('handoff') === 'open');
      await openDash(page, stack, '#/canned-replies', '[data-testid="canned-row"]');
      await held;
      await page.waitForSelector('#nav-waiting:not([hidden])', { state: 'attached' });
      assert.equal((await admin('POST', `/v1/admin/conversations/${convA}/handoff`, { state: 'human' })).status, 200);
      await page.waitForSelector('#nav-waiting[hidden]', { state: 'attached', timeout: 10000 });
      const shown = await page.$('#nav-waiting span');
      await release();
      // the count said again from the late answer
      await page.waitForFunction((el) => !el.isConnected, shown, { timeout: 10000 });
      assert.equal(await page.getAttribute('#nav-waiting', 'hidden'), '', 'no one waits');
      assert.ok(!(await page.title()).startsWith('('), `the title: ${await page.title()}`);
      await page.unrouteAll({ behavior: 'ignoreErrors' });
      await assertClean(page, log, 'the waiting count: a late answer');
    } finally { await ctx.close(); }
  });

  // An event that comes while a read is on its way is shown at once and
  // again after the answer (liveread.js), so a visitor's message in the
  // open thread told the server "read" twice (a needless write per event),
  // once as it came and again after the list's answer, and the thread read
  // the contact of a contact event twice.
  test('an event shown again after a held read: one mark-as-read, one contact read, one copy of the message', async () => {
    const { v, conv } = await wsVisitor('Is the blue one in stock?');
    // A person answers: the visitor's next message has no reply's events.
    assert.equal((await admin('POST', `/v1/admin/conversations/${conv}/handoff`, { state: 'human' })).status, 200);
    const { ctx, page, log } = await openPage(browser);
    try {
      await dashLogin(stack, ctx, session);
      const reads = [];
      const contacts = [];
      page.on('request', (r) => {
        const p = new URL(r.url()).pathname;
        if (r.method() === 'POST' && p === `/v1/admin/conversations/${conv}/read`) reads.push(p);
        if (r.method() === 'GET' && p.startsWith('/v1/admin/contacts/')) contacts.push(p);
      });
      // The list's second read (the stream's "ready"'s) held, and the
      // thread's too, until the visitor's message is shown.
      const { held, release } = await holdSecondRead(page,
        (u) => u.pathname === '/v1/admin/conversations' && !u.searchParams.has('handoff'));
      let n = 0;
      let threadRelease;
      let threadOk;
      const threadHeld = new Promise((ok) => { threadOk = ok; });
      await page.route(`**/v1/admin/conversations/${conv}`, async (r) => {
        if (r.request().method() !== 'GET' || ++n !== 2) return r.continue();
        const answer = await r.fetch();
        threadRelease = () => r.fulfill({ response: answer });
        threadOk();
      });
      await openDash(page, stack, `#/conversations/${conv}`, null);
      await held;
      await waitFor(() => threadRelease, 10000, 'the thread\'s second read');
      await waitFor(() => reads.length === 1, 5000, 'the thread read as it opened');

      const text = 'Hello, is anyone there?';
      v.send({ type: 'message', content: text });
      const msg = `[data-testid="thread-message"][data-role="user"]:has-text("${text}")`;
      await page.waitForSelector(msg, { timeout: 10000 });
      await page.waitForSelector(`${row(conv)}[data-unread="false"] [data-testid="conv-preview"]:has-text("${text}")`, { timeout: 10000 });
      await waitFor(() => reads.length === 2, 5000, 'the message read as it came');
      // The visitor's details: a contact event, its contact read once.
      v.send({ type: 'contact_info', name: 'Blue Buyer', email: 'blue@example.com' });
      await nextWhere(v, (m) => m.type === 'contact_info_saved', 'contact_info_saved');
      await page.waitForSelector('[data-testid="conv-contact"] [data-testid="conv-contact-link"]:has-text("Blue Buyer")', { timeout: 10000 });
      assert.equal(contacts.length, 1, `the contact read: ${contacts}`);
      await release();
      await threadRelease();
      // both late answers handled, the events kept shown again after them
      await page.waitForFunction(() => document.querySelector('[data-testid="inbox-list"]').dataset.reads === '2'
        && document.querySelector('[data-testid="inbox-thread"]').dataset.reads === '1', null, { timeout: 10000 });
      // A request made after them: one the replay made is seen before it.
      const after = page.waitForRequest((r) => r.url().endsWith('/dashboard/api/session'), { timeout: 10000 });
      await page.evaluate(() => fetch('/dashboard/api/session').then((r) => r.status));
      await after;
      assert.equal(reads.length, 2, `one mark-as-read at the opening, one for the message: ${reads.length}`);
      assert.equal(contacts.length, 1, `the contact read once: ${contacts}`);
      assert.equal(await page.locator(msg).count(), 1, 'one copy of the message');
      assert.equal(await page.getAttribute(row(conv), 'data-unread'), 'false');
      await page.unrouteAll({ behavior: 'ignoreErrors' });
      await assertClean(page, log, 'an event shown again after a held read');
    } finally { await ctx.close(); }
  });

  // The waiting count's answer, read before a wait began, forgot the
  // notification the wait's event had shown; the event shown again after
  // it notified a second time.
  test('the waiting count: a wait that begins while it is read is notified once', async () => {
    const { conv } = await wsVisitor('Can I talk to someone, please?');
    const { ctx, page, log } = await openPage(browser);
    try {
      await recordNotifications(page);
      await dashLogin(stack, ctx, session);
      const { held, release } = await holdSecondRead(page,
        (u) => u.pathname === '/v1/admin/conversations' && u.searchParams.get('handoff') === 'open');
      await openDash(page, stack, '#/canned-replies', '[data-testid="canned-row"]');
      await held;
      assert.equal((await admin('POST', `/v1/admin/conversations/${conv}/handoff`, { state: 'waiting_human' })).status, 200);
      await page.waitForFunction(() => window.__notes.length === 1, null, { timeout: 10000 });
      await page.waitForSelector('#nav-waiting:not([hidden])', { state: 'attached', timeout: 10000 });
      const shown = await page.$('#nav-waiting span');
      await release();
      // the count said again from the late answer, the event shown again after it
      await page.waitForFunction((el) => !el.isConnected, shown, { timeout: 10000 });
      assert.equal(await page.getAttribute('#nav-waiting', 'hidden'), null, 'it waits');
      assert.equal((await page.evaluate(() => window.__notes)).length, 1,
        `notified once: ${JSON.stringify(await page.evaluate(() => window.__notes))}`);
      await page.unrouteAll({ behavior: 'ignoreErrors' });
      await assertClean(page, log, 'the waiting count: a wait notified once');
    } finally {
      await ctx.close();
      await admin('POST', `/v1/admin/conversations/${conv}/handoff`, { state: 'ai' });
    }
  });

  // The waiting count's answer, read while a conversation waited, came
  // after the event of its take-over: it notified a wait already over (the
  // event shown again after it then took it off the count).
  test('the waiting count: an answer read before a wait ended does not notify it', async () => {
    const { conv: x } = await wsVisitor('Is anyone from sales there?');
    const { conv: y } = await wsVisitor('Can a person call me back?');
    const { ctx, page, log } = await openPage(browser);
    try {
      await recordNotifications(page);
      await dashLogin(stack, ctx, session);
      // The first read answered as none waits, X waiting by then: the
      // stream starts after it (live.js), so X's event is not sent; the
      // second read (the stream's "ready") sees X waiting, held back.
      let n = 0;
      let answer;
      let heldOk;
      const held = new Promise((ok) => { heldOk = ok; });
      await page.route((u) => u.pathname === '/v1/admin/conversations' && u.searchParams.get('handoff') === 'open', async (r) => {
        if (r.request().method() !== 'GET') return r.continue();
        if (++n === 1) {
          const first = await r.fetch();
          assert.equal((await admin('POST', `/v1/admin/conversations/${x}/handoff`, { state: 'waiting_human' })).status, 200);
          return r.fulfill({ response: first });
        }
        if (n !== 2) return r.continue();
        answer = { r, response: await r.fetch() };
        heldOk();
      });
      await openDash(page, stack, '#/canned-replies', '[data-testid="canned-row"]');
      assert.notEqual(await within(held, 10000), null, 'the second read');
      // X taken over, then Y waits: Y notified and counted, X's event before it.
      assert.equal((await admin('POST', `/v1/admin/conversations/${x}/handoff`, { state: 'human' })).status, 200);
      assert.equal((await admin('POST', `/v1/admin/conversations/${y}/handoff`, { state: 'waiting_human' })).status, 200);
      await page.waitForFunction(() => window.__notes.length === 1, null, { timeout: 10000 });
      const notes = await page.evaluate(() => window.__notes);
      const shown = await page.$('#nav-waiting span');
      await answer.r.fulfill({ response: answer.response });
      // the count said again from the late answer, the events kept after it
      await page.waitForFunction((el) => !el.isConnected, shown, { timeout: 10000 });
      assert.equal(await page.textContent('#nav-waiting'), '1 waiting for a person', 'Y alone waits');
      assert.deepEqual(await page.evaluate(() => window.__notes), notes, 'Y notified, X not');
      await page.unrouteAll({ behavior: 'ignoreErrors' });
      await assertClean(page, log, 'the waiting count: a late answer notifies no wait that is over');
    } finally {
      await ctx.close();
      for (const c of [x, y]) await admin('POST', `/v1/admin/conversations/${c}/handoff`, { state: 'ai' });
    }
  });
});
