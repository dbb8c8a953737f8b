// The dashboard's conversations and contacts in headless Chromium
// (docs/dashboard.md), against the real daemons and the mock model:
// 1,050 conversations made through the chat API paged with "Load more" in
// the API's order; a conversation made through the data-widget embed read
// in the thread as stored, and a new message showing up while it is open;
// the export downloads parsed and compared with the stored rows; visitor,
// model and contact text carrying HTML/JS rendered as text (no dialog, no
// CSP violation, no console error), a claimed contact's conversation marked
// Unverified with the claimant's values as text; a contact with 205
// conversations paged with "Load more" (the count of all, each once, a
// failed page said); the thread of a contact's conversation past its
// first page saying how it is linked (Unverified, Verified user id);
// axe-core on every page in light and
// dark; a phone-sized screenshot of each page without horizontal scroll;
// the keyboard path to the first conversation.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';

import {
  DASHBOARD_PASSWORD, PHONE, SUITE_TIMEOUT, adminApi, assertCardCells, assertClean, axeAndPhone, dashLogin, mockReply, openDash, openPage,
  part, sendByKeyboard, startSuite, stopSuite, waitReady, waitReplyEnd,
} from './lib/browser.mjs';
import { pool } from '../integration/lib/harness.mjs';
import { chat, sid } from '../integration/lib/chat.mjs';
import {
  CONV_FIELDS, MSG_FIELDS, asCsv, convRow, csvObjects, jsonlObjects, login, msgRow,
} from '../integration/lib/dashboard.mjs';
import { Visitor } from '../integration/lib/wsclient.mjs';

const BULK = 1050;
const CONTACT_PAGE = 200;   // a contact's conversations the page shows at first (the API's most)
const XSS_VISITOR = '<img src=x onerror=alert("visitor")><script>alert("s")</script> <a href="javascript:alert(1)">click</a>';
const XSS_REPLY = '<img src=x onerror=alert("model")><b onclick=alert(2)>bold</b> [x](javascript:alert(3))';
const XSS_NAME = '<img src=x onerror=alert("name")>Eve';
const XSS_CLAIM = '<img src=x onerror=alert("claim")>Mallory';

describe('dashboard conversations and contacts in Chromium', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  let browser;
  let p;
  let w;             // the widget the embed chats with
  let widgetConv;    // its conversation id
  let xssConv;       // the conversation with the payloads (through the embed)
  let contactId;     // the contact named XSS_NAME
  let session;       // the owner's, given to each test's context (none logs out)

  const admin = (method, path, body) => adminApi(stack, method, path, body);

  async function listAll() {
    const out = [];
    let cursor = '';
    for (let i = 0; i < 50; i++) {
      const r = await admin('GET', `/v1/admin/conversations?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.equal(r.status, 200, r.text);
      out.push(...r.json.conversations);
      if (!r.json.nextCursor) return out;
      cursor = r.json.nextCursor;
    }
    throw new Error('too many pages');
  }

  // A message's text as the thread shows it: a reply (the assistant's, a
  // person's) in the widget's Markdown, where a link to javascript: is its
  // text alone; the visitor's as stored.
  const shownText = (m) => (m.role === 'assistant' || m.role === 'agent' ? m.content.replace('[x](javascript:alert(3))', 'x') : m.content);

  // The whole thread as the page shows it.
  const threadInPage = (page) => page.$$eval('[data-testid="thread-message"]', (els) => els.map((e) => ({
    id: e.getAttribute('data-id'),
    role: e.getAttribute('data-role'),
    status: e.getAttribute('data-status'),
    content: e.querySelector('[data-testid="msg-content"]').textContent,
  })));

  // Chat on the host page's widget: a message and its reply, done.
  async function widgetSay(page, text) {
    await sendByKeyboard(page, text);
    const m = await waitReplyEnd(page, 15000);
    assert.equal(m.state, 'done', `reply to ${text}`);
    return m;
  }

  before(async () => {
    const t0 = Date.now();
    ({ stack, browser } = await startSuite({ mock: { chunks: 2 }, env: { DASHBOARD_PASSWORD } }));
    p = stack.parley;
    // 1,050 conversations of the default widget, a question and its reply
    // each, stored through storaged (the chat API is the other tests' business),
    // 48 conversations at a time: storaged commits what arrives together
    // as one batch (one fsync), and on a loaded machine a round trip at a
    // time took 20 s of waiting (16 at a time, a few seconds); set-up, so
    // a loaded machine may take its time. The owner logs in meanwhile.
    const logged = login(p);   // awaited below
    logged.catch(() => {});
    const st = await p.storage({ name: 'btest-dashboard-data' });
    const slow = { timeout: 30000 };
    try {
      await pool(Array.from({ length: BULK }, (_, i) => i), 48, async (i) => {
        const { conv } = await st.convOpen('default', sid(`bulk${i}`), slow);
        await st.msgAppend(conv.id, 'user', `bulk message ${i}`, 'complete', 0, 0, slow);
        await st.msgAppend(conv.id, 'assistant', mockReply(`bulk message ${i}`), 'complete', 5, 7, slow);
      });
    } finally {
      st.close();
    }
    // A widget with an optional contact form, and a visitor of it on the host site.
    const r = await admin('POST', '/v1/admin/widgets', { name: 'Data widget', contact_info_mode: 'optional', collect_name: true, collect_email: true });
    assert.equal(r.status, 201, r.text);
    w = r.json;
    session = await logged;
    console.log(`# set-up: ${BULK} conversations and a widget in ${Date.now() - t0} ms`);
  });
  after(() => stopSuite({ stack, browser }));

  describe('a conversation through the embed', () => {
    let visitor;     // {ctx, page, log} on the host page
    before(async () => {
      visitor = await openPage(browser);
      await visitor.page.goto(stack.host.widgetEmbedUrl(w.widget_id));
      await waitReady(visitor.page);
      await visitor.page.click(part('launcher'));
      await visitor.page.waitForSelector(part('contact'), { state: 'visible' });
      await visitor.page.fill(`${part('contact')} input[name="name"]`, XSS_NAME);
      await visitor.page.fill(`${part('contact')} input[name="email"]`, 'eve@example.com');
      await visitor.page.click(part('save'));
      await visitor.page.waitForSelector(part('contact'), { state: 'detached', timeout: 5000 });
      await widgetSay(visitor.page, 'hello from the widget');
      await widgetSay(visitor.page, `${XSS_VISITOR} ${mockReply(XSS_REPLY)}`);
      const list = await admin('GET', `/v1/admin/conversations?widget=${encodeURIComponent(w.id)}`);
      assert.equal(list.status, 200, list.text);
      assert.equal(list.json.conversations.length, 1, 'one conversation of the widget');
      widgetConv = list.json.conversations[0]._id;
      xssConv = widgetConv;
      contactId = list.json.conversations[0].contactId;
      assert.ok(contactId, 'the conversation has its contact');
      // Another visitor claims Eve's email: linked unverified, Eve unchanged.
      const m = await Visitor.open(stack.parley, w.widget_id);
      await m.next('session');
      m.send({ type: 'contact_info', name: XSS_CLAIM, email: 'EVE@example.com' });
      assert.equal((await m.next()).type, 'contact_info_saved');
      await m.turn('a claim');
      await m.close();
    });
    after(async () => { if (visitor) await visitor.ctx.close(); });

    test('XSS: the payloads are text in the list, the thread and the contact pages; no dialog', async () => {
      const { ctx, page, log } = await openPage(browser);
      try {
        await dashLogin(stack, ctx, session);
        // the list, filtered to the widget
        await openDash(page, stack, `#/conversations?widget=${encodeURIComponent(w.id)}`, `[data-testid="conv-row"][data-id="${xssConv}"]`);
        // The row previews the visitor's last message (the visitor's payload), as text.
        const rowText = await page.textContent(`[data-testid="conv-row"][data-id="${xssConv}"] [data-testid="conv-preview"]`);
        assert.ok(rowText.startsWith(XSS_VISITOR), `the visitor's last message as text: ${rowText}`);
        // a search that finds the payload
        await page.fill('[data-testid="search-input"]', 'onerror=alert("model")');
        await page.click('[data-testid="search-submit"]');
        await page.waitForSelector(`[data-testid="conv-row"][data-id="${xssConv}"]`);
        // the contact list and page
        await openDash(page, stack, '#/contacts', `[data-testid="contact-row"][data-id="${contactId}"]`);
        assert.ok((await page.textContent(`[data-testid="contact-row"][data-id="${contactId}"]`)).includes(XSS_NAME));
        await page.click(`[data-testid="contact-row"][data-id="${contactId}"] [data-testid="contact-link"]`);
        await page.waitForSelector('[data-testid="contact-title"]');
        assert.equal(await page.textContent('[data-testid="contact-title"]'), XSS_NAME);
        await page.waitForSelector(`[data-testid="conv-row"][data-id="${xssConv}"]`);
        // The claim: marked Unverified, what was submitted beside Eve's own.
        await page.waitForSelector('[data-testid="conv-row"][data-unverified] [data-testid="conv-unverified"]');
        assert.equal(await page.locator('[data-testid="conv-unverified"]').count(), 1);
        assert.equal(await page.locator(`[data-testid="conv-row"][data-id="${xssConv}"] [data-testid="conv-unverified"]`).count(), 0);
        assert.equal(await page.textContent('[data-testid="submitted-name"]'), `${XSS_CLAIM} (stored: ${XSS_NAME})`);
        assert.equal(await page.textContent('[data-testid="submitted-email"]'), 'eve@example.com');
        assert.equal(await page.textContent('[data-testid="contact-title"]'), XSS_NAME);
        // Its thread says Unverified beside the contact; Eve's own does not.
        await page.click('[data-testid="conv-row"][data-unverified] [data-testid="conv-link"]');
        await page.waitForSelector('[data-testid="conv-contact-unverified"]');
        await openDash(page, stack, `#/conversations/${xssConv}`, '[data-testid="conv-contact-link"]');
        assert.equal(await page.locator('[data-testid="conv-contact-unverified"]').count(), 0);
        // An email with ? & = %: its mailto: link has them encoded, so a
        // click opens a mail to that address alone (no Bcc or subject).
        const sly = 'help@shop.example?bcc=eve%40evil.example&subject=x';
        const mv = await Visitor.open(stack.parley, w.widget_id);
        await mv.next('session');
        mv.send({ type: 'contact_info', name: 'Sly', email: sly });
        assert.equal((await mv.next()).type, 'contact_info_saved');
        await mv.close();
        const slyId = (await admin('GET', '/v1/admin/contacts?limit=100')).json.contacts.find((c) => c.email === sly).id;
        await openDash(page, stack, `#/contacts/${slyId}`, '[data-testid="contact-email"] a');
        assert.equal(await page.getAttribute('[data-testid="contact-email"] a', 'href'),
          'mailto:help@shop.example%3Fbcc%3Deve%2540evil.example%26subject%3Dx');
        assert.equal(await page.textContent('[data-testid="contact-email"] a'), sly);
        await page.waitForTimeout(200);
        assert.deepEqual(log.dialogs, [], 'no dialog');
        assert.equal(await page.locator('#view img, #view script, #view b').count(), 0, 'no element from the payloads');
        assert.ok(!log.requests.some((u) => /\/x$/.test(new URL(u).pathname)), 'the image was never requested');
        await assertClean(page, log, 'xss list and contact');
      } finally { await ctx.close(); }
    });

    test('the thread shows what is stored; a new message appears without a reload', async () => {
      const { ctx, page, log } = await openPage(browser);
      try {
        await dashLogin(stack, ctx, session);
        await openDash(page, stack, `#/conversations/${widgetConv}`, '[data-testid="thread-message"]');
        const stored = (await admin('GET', `/v1/admin/conversations/${widgetConv}`)).json;
        const want = stored.messages.map((m) => ({ id: m._id, role: m.role, status: m.status, content: shownText(m) }));
        assert.equal(want.length, 4);
        assert.deepEqual(await threadInPage(page), want, 'roles, contents and statuses as stored');
        assert.equal(want[2].content, `${XSS_VISITOR} ${mockReply(XSS_REPLY)}`);
        assert.equal(stored.messages[3].content, XSS_REPLY);
        assert.equal(want[3].content, '<img src=x onerror=alert("model")><b onclick=alert(2)>bold</b> x', 'the unsafe link its text alone');
        // token usage shown for the model's replies
        const tokens = await page.$$eval('[data-testid="msg-tokens"]', (els) => els.map((e) => e.textContent));
        assert.equal(tokens.length, 2);
        assert.ok(tokens.every((t) => /\d/.test(t)), `token usage: ${tokens}`);
        // the contact, by name, as text
        await page.waitForFunction(() => {
          const a = document.querySelector('[data-testid="conv-contact-link"]');
          return a && a.textContent.includes('Eve');
        }, null, { timeout: 5000 });
        assert.equal(await page.textContent('[data-testid="conv-contact-link"]'), XSS_NAME);

        // A new message from the visitor while the thread is open.
        await widgetSay(visitor.page, 'a message while the owner reads');
        await page.waitForFunction(() => document.querySelectorAll('[data-testid="thread-message"]').length === 6, null, { timeout: 8000 });
        const stored2 = (await admin('GET', `/v1/admin/conversations/${widgetConv}`)).json;
        assert.deepEqual(await threadInPage(page), stored2.messages.map((m) => ({ id: m._id, role: m.role, status: m.status, content: shownText(m) })));
        assert.equal(log.dialogs.length, 0, 'no dialog');
        assert.equal(await page.locator('#view img, #view script, #view b, #view a[href^="javascript:"]').count(), 0, 'no element from the payloads');
        await assertClean(page, log, 'thread');
      } finally { await ctx.close(); }
    });

    test('export from the pages: the downloads hold the stored rows', async () => {
      const { ctx, page, log } = await openPage(browser, { acceptDownloads: true });
      try {
        await dashLogin(stack, ctx, session);
        await openDash(page, stack, `#/conversations/${widgetConv}`, '[data-testid="thread-message"]');
        const stored = (await admin('GET', `/v1/admin/conversations/${widgetConv}`)).json;
        const want = stored.messages.map((m) => msgRow(m, widgetConv));
        for (const format of ['jsonl', 'csv']) {
          const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 10000 }), page.click(`[data-testid="export-thread-${format}"]`)]);
          assert.equal(dl.suggestedFilename(), `parley-messages.${format}`);
          const text = fs.readFileSync(await dl.path(), 'utf8');
          const rows = format === 'csv' ? csvObjects(text, MSG_FIELDS) : jsonlObjects(text, MSG_FIELDS);
          assert.deepEqual(rows, format === 'csv' ? want.map(asCsv) : want, `thread export ${format}`);
        }
        // every conversation, from the list's export menu
        await openDash(page, stack, '#/conversations', '[data-testid="conv-row"]');
        await page.click('[data-testid="export-menu"] summary');
        const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 15000 }), page.click('[data-testid="export-conversations-csv"]')]);
        assert.equal(dl.suggestedFilename(), 'parley-conversations.csv');
        const rows = csvObjects(fs.readFileSync(await dl.path(), 'utf8'), CONV_FIELDS);
        // The export's order: newest first by creation (no message moves it).
        const all = (await listAll()).sort((a, b) => b.createdAt - a.createdAt || (a._id < b._id ? 1 : -1));
        assert.equal(rows.length, all.length);
        assert.deepEqual(rows, all.map((c) => asCsv(convRow(c))), 'every conversation, newest first by creation');
        await assertClean(page, log, 'export');
      } finally { await ctx.close(); }
    });
  });

  test(`"Load more" pages through ${BULK}+ conversations in the API's order`, async () => {
    const { ctx, page, log } = await openPage(browser);
    try {
      await dashLogin(stack, ctx, session);
      await openDash(page, stack, '#/conversations', '[data-testid="conv-row"]');
      const all = await listAll();
      assert.ok(all.length >= BULK);
      const count = await page.textContent('[data-testid="conv-count"]');
      assert.equal(count.replace(/[^\d]/g, ''), String(all.length), `the count: ${count}`);
      const t0 = Date.now();
      // The rows shown and whether "Load more" is visible, in one round
      // trip (each click is followed by its page of rows or the button
      // hidden): {n, more}, or null while k rows are shown and the button is not hidden.
      const shown = (k) => {
        const n = document.querySelectorAll('[data-testid="conv-row"]').length;
        const b = document.querySelector('[data-testid="load-more"]');
        if (k !== null && n <= k && !(b && b.hidden)) return null;
        return { n, more: !!b && !b.hidden && b.getClientRects().length > 0 && getComputedStyle(b).visibility !== 'hidden' };
      };
      const more = page.locator('[data-testid="load-more"]');
      const focused = () => document.activeElement && document.activeElement.getAttribute('data-testid');
      let state = await page.evaluate(shown, null);
      let before = state.n;
      for (let i = 0; i < 200 && state.more; i++) {
        before = state.n;
        await more.click();
        state = await (await page.waitForFunction(shown, state.n, { timeout: 10000 })).jsonValue();
        assert.ok(Date.now() - t0 < 60000, 'paging took under a minute');
        // Disabled while its page loaded, the button has its focus back.
        if (i === 0 && state.more) assert.equal(await page.evaluate(focused), 'load-more', 'the focus back on "Load more"');
      }
      // The last click hid "Load more" while it had the focus: the focus
      // goes to the first row that page brought, not to the page's top.
      if (state.n > before) {
        const f = await page.evaluate(() => {
          const a = document.activeElement;
          const r = a && a.closest('[data-testid="conv-row"]');
          return { testid: a && a.getAttribute('data-testid'), index: r ? [...r.parentNode.children].indexOf(r) : -1 };
        });
        assert.deepEqual(f, { testid: 'conv-link', index: before }, 'the focus on the last page\'s first row');
      }
      const ids = await page.$$eval('[data-testid="conv-row"]', (els) => els.map((e) => e.getAttribute('data-id')));
      assert.equal(ids.length, all.length, 'every conversation, once');
      assert.deepEqual(ids, all.map((c) => c._id), 'in the API\'s order');
      await assertClean(page, log, 'load more');
    } finally { await ctx.close(); }
  });

  test('keyboard: Tab reaches the nav and the first conversation; Enter opens it', async () => {
    const { ctx, page, log } = await openPage(browser);
    try {
      await dashLogin(stack, ctx, session);
      await openDash(page, stack, '#/conversations', '[data-testid="conv-row"]');
      const first = await page.getAttribute('[data-testid="conv-row"]', 'data-id');
      await page.evaluate(() => { document.activeElement && document.activeElement.blur(); window.focus(); });
      const seen = [];
      let reached = false;
      for (let i = 0; i < 60 && !reached; i++) {
        await page.keyboard.press('Tab');
        const f = await page.evaluate(() => {
          const a = document.activeElement;
          return { testid: a && a.getAttribute('data-testid'), nav: !!(a && a.closest('nav')), row: a && a.closest('[data-testid="conv-row"]') && a.closest('[data-testid="conv-row"]').getAttribute('data-id'), visible: a && a.matches(':focus-visible') };
        });
        seen.push(f);
        if (f.testid === 'conv-link') reached = true;
      }
      assert.ok(seen.some((f) => f.nav), `Tab reaches the nav: ${JSON.stringify(seen)}`);
      assert.ok(reached, 'Tab reaches the first conversation link');
      const last = seen.at(-1);
      assert.equal(last.row, first, 'the first row\'s link');
      assert.equal(last.visible, true, 'with a visible focus');
      await page.keyboard.press('Enter');
      await page.waitForURL((u) => u.hash === `#/conversations/${first}`, { timeout: 5000 });
      await page.waitForSelector('[data-testid="thread-message"]');
      await assertClean(page, log, 'keyboard');
    } finally { await ctx.close(); }
  });

  test('delete from the thread: nothing on Cancel; after the confirmation it is gone', async () => {
    const victim = (await chat(p, sid('del'), 'delete me from the page')).json().conversationId;
    const { ctx, page, log } = await openPage(browser);
    try {
      await dashLogin(stack, ctx, session);
      await openDash(page, stack, `#/conversations/${victim}`, '[data-testid="thread-message"]');
      await page.click('[data-testid="delete-conv"]');
      await page.waitForSelector('[data-testid="confirm-dialog"]', { state: 'visible' });
      await page.click('[data-testid="confirm-cancel"]');
      await page.waitForSelector('[data-testid="confirm-dialog"]', { state: 'detached' });
      assert.equal((await admin('GET', `/v1/admin/conversations/${victim}`)).status, 200, 'kept on Cancel');
      await page.click('[data-testid="delete-conv"]');
      await page.click('[data-testid="confirm-ok"]');
      await page.waitForURL((u) => u.hash === '#/conversations', { timeout: 5000 });
      await page.waitForSelector('[data-testid="conv-row"]');
      assert.equal(await page.locator(`[data-testid="conv-row"][data-id="${victim}"]`).count(), 0, 'not listed');
      assert.equal((await admin('GET', `/v1/admin/conversations/${victim}`)).status, 404, 'deleted');
      await assertClean(page, log, 'delete');
    } finally { await ctx.close(); }
  });

  // A signed-in user of the site (a verified identity) of a new widget
  // with an optional contact form: {widget (its widget_id), user, email, hash}.
  async function siteUser(name) {
    const r = await admin('POST', '/v1/admin/widgets', { name, contact_info_mode: 'optional', collect_email: true });
    assert.equal(r.status, 201, r.text);
    const secret = (await admin('POST', `/v1/admin/widgets/${r.json.widget_id}/identity-secret`)).json.identity_secret;
    assert.match(secret || '', /^[0-9a-f]{64}$/);
    const user = `many-${Date.now()}-${crypto.randomBytes(3).toString('hex')}`;
    return { widget: r.json.widget_id, user, email: `${user}@example.com`,
      hash: crypto.createHmac('sha256', secret).update(user).digest('hex') };
  }

  // Conversations from..to-1 of site user su (a question and its reply
  // each, all linked to its contact), in several sessions at once, 25
  // conversations each (a socket may ask for 30 new ones a minute): 205
  // in about 1 s.
  async function siteUserConversations(su, from, to) {
    await pool(Array.from({ length: Math.ceil((to - from) / 25) }, (_, j) => j), 4, async (j) => {
      const v = await Visitor.open(stack.parley, su.widget);
      try {
        await v.next('session');
        v.send({ type: 'identify', id: su.user, email: su.email, hash: su.hash });
        assert.equal((await v.next('identity')).verified, true);
        for (let i = from + j * 25; i < Math.min(to, from + (j + 1) * 25); i++) {
          if (i > from + j * 25) {
            v.send({ type: 'new_conversation' });
            await v.next('conversation_new');
          }
          await v.turn(`conversation ${i}`);
        }
      } finally { await v.close(); }
    });
  }

  // The id of the contact with this email.
  async function contactOf(email) {
    const c = (await admin('GET', '/v1/admin/contacts?limit=200')).json.contacts.find((x) => x.email === email);
    assert.ok(c, `the contact of ${email}`);
    return c.id;
  }

  // A contact with more conversations than a page: the thread of one past
  // the first page (GET /v1/admin/contacts/:id answers the newest 200)
  // still says how it is linked: a claim of a verified site user's email,
  // older than 201 of the user's own conversations, says Unverified (not
  // "Verified user id"); the user's oldest own one says Verified.
  test('a contact with more conversations than a page: the thread of its oldest says how it is linked', async () => {
    const su = await siteUser('Many conversations, a claim');
    await siteUserConversations(su, 0, 1);
    const cid = await contactOf(su.email);
    // Another visitor gives the user's email: linked unverified.
    const m = await Visitor.open(stack.parley, su.widget);
    try {
      await m.next('session');
      m.send({ type: 'contact_info', name: 'Claimant <b>x</b>', email: su.email.toUpperCase() });
      assert.equal((await m.next()).type, 'contact_info_saved');
      await m.turn('a claim');
    } finally { await m.close(); }
    await siteUserConversations(su, 1, CONTACT_PAGE + 2);
    const all = [];
    for (let cursor = '', i = 0; i === 0 || cursor; i++) {
      assert.ok(i < 10, 'the pages end');
      const pg = await admin('GET', `/v1/admin/contacts/${cid}?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.equal(pg.status, 200, pg.text);
      all.push(...pg.json.conversations);
      cursor = pg.json.conversationsNextCursor;
    }
    assert.equal(all.length, CONTACT_PAGE + 3);
    const idx = all.findIndex((c) => c.contactVerified === false);
    assert.ok(idx >= CONTACT_PAGE, `the claim past the first page (${idx})`);
    const claim = all[idx]._id;
    const ownOldest = all.filter((c) => c.contactVerified !== false).pop()._id;
    assert.ok(all.findIndex((c) => c._id === ownOldest) >= CONTACT_PAGE, 'the oldest own one past the first page');

    const { ctx, page, log } = await openPage(browser);
    try {
      await dashLogin(stack, ctx, session);
      await openDash(page, stack, `#/conversations/${claim}`, '[data-testid="conv-contact-link"]');
      await page.waitForSelector('[data-testid="conv-contact-unverified"]');
      assert.equal(await page.textContent('[data-testid="conv-contact-unverified"]'), 'Unverified');
      assert.equal(await page.locator('[data-testid="conv-contact-verified"]').count(), 0, 'not "Verified user id"');
      assert.equal(await page.textContent('[data-testid="conv-contact-link"]'), su.email);
      assert.ok(log.requests.some((u) => new URL(u).pathname === `/v1/admin/contacts/${cid}` &&
        new URL(u).searchParams.get('cursor')), 'the next page asked with its cursor');

      await openDash(page, stack, `#/conversations/${ownOldest}`, '[data-testid="conv-contact-verified"]');
      assert.equal(await page.locator('[data-testid="conv-contact-unverified"]').count(), 0);
      assert.equal(await page.textContent('[data-testid="conv-contact-verified"]'), 'Verified user id');
      await assertClean(page, log, 'thread of a contact\'s oldest conversation');
    } finally { await ctx.close(); }
  });

  // A contact with more conversations than the page's one answer (the
  // API's most, 200): the count is all of them, "Load more" asks with the
  // cursor and appends the rest, each once in the API's order, and goes
  // at the end; a page that fails says so and keeps the button.
  test('a contact with more conversations than a page: the count, "Load more" to the end', async () => {
    const N = CONTACT_PAGE + 5;
    const t0 = Date.now();
    const su = await siteUser('Many conversations');
    await siteUserConversations(su, 0, N);
    const cid = await contactOf(su.email);
    // The API's order, page by page.
    const want = [];
    for (let cursor = '', i = 0; i === 0 || cursor; i++) {
      assert.ok(i < 10, 'the pages end');
      const pg = await admin('GET', `/v1/admin/contacts/${cid}?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.equal(pg.status, 200, pg.text);
      assert.equal(pg.json.conversationsTotal, N);
      want.push(...pg.json.conversations.map((c) => c._id));
      cursor = pg.json.conversationsNextCursor;
    }
    assert.equal(new Set(want).size, N);
    console.log(`# ${N} conversations of one contact in ${Date.now() - t0} ms`);

    const { ctx, page, log } = await openPage(browser);
    try {
      await dashLogin(stack, ctx, session);
      await openDash(page, stack, `#/contacts/${cid}`, '[data-testid="contact-conversations"] [data-testid="conv-row"]');
      const rows = () => page.$$eval('[data-testid="contact-conversations"] [data-testid="conv-row"]',
        (els) => els.map((e) => e.getAttribute('data-id')));
      assert.equal(await page.textContent('[data-testid="contact-conversations-count"]'), `${N} conversations`);
      assert.deepEqual(await rows(), want.slice(0, CONTACT_PAGE), 'the first page');
      assert.equal(await page.textContent('[data-testid="list-status"]'), `Showing ${CONTACT_PAGE} of ${N}.`);
      assert.ok(await page.isVisible('[data-testid="load-more"]'), '"Load more" while there is more');

      // The next page fails once: said in the page's alert, the button kept.
      let failed = 0;
      const pageUrl = new RegExp(`/v1/admin/contacts/${cid}\\?.*cursor=`);
      await page.route(pageUrl, (route) => {
        failed++;
        return route.fulfill({ status: 500, contentType: 'application/json', body: '{"error":"Storage <b>down</b>"}' });
      });
      await page.click('[data-testid="load-more"]');
      await page.waitForSelector('[data-testid="view-error"]', { state: 'visible' });
      assert.equal(failed, 1);
      assert.equal(await page.textContent('[data-testid="view-error"]'), 'Storage <b>down</b>', 'as text');
      assert.ok(await page.isVisible('[data-testid="load-more"]'), 'kept after a failure');
      assert.equal((await rows()).length, CONTACT_PAGE, 'nothing appended');
      await page.unroute(pageUrl);

      await page.click('[data-testid="load-more"]');
      await page.waitForSelector('[data-testid="load-more"]', { state: 'hidden' });
      assert.deepEqual(await rows(), want, 'every conversation once, in the API\'s order');
      assert.ok(await page.isHidden('[data-testid="view-error"]'), 'the alert gone');
      assert.equal(await page.textContent('[data-testid="contact-conversations-count"]'), `${N} conversations`);
      assert.equal(await page.textContent('[data-testid="list-status"]'), '');
      assert.ok(log.requests.some((u) => new URL(u).pathname === `/v1/admin/contacts/${cid}` &&
        new URL(u).searchParams.get('cursor')), 'the next page asked with its cursor');
      await assertClean(page, log, 'contact paged', { allowConsole: /status of 500/ });
    } finally { await ctx.close(); }
  });

  test('axe-core in light and dark, and a phone without horizontal scroll, on every conversation and contact page', async () => {
    const pages = [
      ['conversations', '#/conversations', '[data-testid="conv-row"]'],
      ['thread', `#/conversations/${widgetConv}`, '[data-testid="thread-message"]'],
      ['contacts', '#/contacts', '[data-testid="contact-row"]'],
      ['contact', `#/contacts/${contactId}`, '[data-testid="contact-title"]'],
    ];
    const desk = await openPage(browser);
    const phone = await openPage(browser, PHONE);
    try {
      await dashLogin(stack, desk.ctx, session);
      await dashLogin(stack, phone.ctx, session);
      const bad = await axeAndPhone(stack, desk.page, phone.page, pages);
      assert.deepEqual(bad, [], 'no serious or critical violation');
      // A contact's name and its Verified user id badge beside the label.
      await openDash(phone.page, stack, '#/contacts', '[data-testid="contact-verified"]');
      await assertCardCells(phone.page, '[data-testid="contact-row"]', 'contacts on a phone');
      await assertClean(desk.page, desk.log, 'axe desktop');
      await assertClean(phone.page, phone.log, 'axe phone');
    } finally {
      await desk.ctx.close();
      await phone.ctx.close();
    }
  });

  test('a contact name of one long word wraps in the contacts list: its Email and Phone stay on screen', async () => {
    const m = await Visitor.open(stack.parley, w.widget_id);
    await m.next('session');
    m.send({ type: 'contact_info', name: 'N'.repeat(150), email: 'longname@example.com' });
    assert.equal((await m.next()).type, 'contact_info_saved');
    await m.turn('my name is long');
    await m.close();
    const { ctx, page, log } = await openPage(browser);
    try {
      await dashLogin(stack, ctx, session);
      const row = '[data-testid="contact-row"]:has-text("longname@example.com")';
      await openDash(page, stack, '#/contacts', row);
      const box = await page.$eval(row, (tr) => {
        const cell = (label) => tr.querySelector(`td[data-label="${label}"]`).getBoundingClientRect();
        return { email: cell('Email').right, phone: cell('Phone').right, width: document.documentElement.clientWidth };
      });
      // Before: the name kept the column 2,000 px wide, Email and Phone beyond the screen.
      assert.ok(box.email <= box.width && box.phone <= box.width, `the Email and Phone columns on screen: ${JSON.stringify(box)}`);
      await assertClean(page, log, 'long contact name');
    } finally { await ctx.close(); }
  });
});
