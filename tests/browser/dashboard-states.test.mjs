// A conversation's state in the dashboard, in headless Chromium: two
// visitors chat; the inbox opens on the Open folder with both; the owner
// resolves one from its thread (the state says so, the row leaves Open at
// once and is in Resolved, with its badge), snoozes the other (it leaves
// Open for Snoozed); reopening the resolved one brings it back to Open;
// the visitor writing to the snoozed one brings it back to Open live; the
// folder is kept in the hash; a conversation arriving live is counted in
// the list's status. Screenshots of the folders, a resolved and a
// reopened thread at 1280 and 390 wide, light and dark; axe-core clean on
// each; no page error. Last, Open's first page holds the open
// conversations older than 2,050 resolved ones (past what the server looks
// at a request).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  DASHBOARD_PASSWORD, PHONE, SUITE_TIMEOUT, adminApi, assertClean, axeLightDark, dashLogin, openDash, openPage, overflow,
  startSuite, stopSuite,
  shotsLightDark,
} from './lib/browser.mjs';
import { sid } from '../integration/lib/chat.mjs';
import { pool } from '../integration/lib/harness.mjs';
import { T } from '../integration/lib/storage.mjs';
import { Visitor } from '../integration/lib/wsclient.mjs';

const row = (id) => `[data-testid="conv-row"][data-id="${id}"]`;

describe('dashboard: open, snoozed and resolved conversations', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  let browser;
  let v; // {ctx, page, log}
  let session;
  let w;
  let convA; // resolved, then reopened
  let convB; // snoozed, then the visitor writes
  let visitorB;

  // A visitor of widget w and one turn: its conversation id (and the visitor, kept open when keep).
  async function visit(text, keep) {
    const seen = new Set((await adminApi(stack, 'GET', '/v1/admin/conversations')).json.conversations.map((c) => c._id));
    const m = await Visitor.open(stack.parley, w.widget_id);
    await m.next('session');
    await m.turn(text);
    if (!keep) await m.close();
    const c = (await adminApi(stack, 'GET', '/v1/admin/conversations')).json.conversations.find((x) => !seen.has(x._id));
    assert.ok(c, 'the visit made a conversation');
    return { id: c._id, m };
  }

  // The ids of the list's rows once it has loaded.
  async function rows(page) {
    await page.waitForFunction(() => !/Loading/.test(document.querySelector('[data-testid="list-status"]').textContent));
    return page.$$eval('[data-testid="conv-row"]', (rs) => rs.map((r) => r.dataset.id));
  }

  async function folder(page, name) {
    await Promise.all([
      page.waitForResponse((r) => r.url().includes('/v1/admin/conversations?') &&
        (name === 'all' ? !r.url().includes('state=') : r.url().includes(`state=${name}`))),
      page.click(`[data-testid="folder-${name}"]`),
    ]);
    return rows(page);
  }

  const shots = (page, name) => shotsLightDark(page, `dashboard-${name}`, { fullPage: false });

  before(async () => {
    ({ stack, browser } = await startSuite({ mock: { chunks: 2, delayMs: 10 }, env: { DASHBOARD_PASSWORD } }));
    const r = await adminApi(stack, 'POST', '/v1/admin/widgets', { name: 'States shop' });
    assert.equal(r.status, 201, r.text);
    w = r.json;
    convA = (await visit('hello from A')).id;
    ({ id: convB, m: visitorB } = await visit('hello from B', true));
    v = await openPage(browser);
    session = await dashLogin(stack, v.ctx);
  });
  after(async () => {
    if (visitorB) await visitorB.close();
    if (v) await v.ctx.close();
    await stopSuite({ stack, browser });
  });

  test('resolve and snooze from the thread: each leaves Open for its folder; reopen brings it back', async () => {
    const { page } = v;
    await openDash(page, stack, '#/conversations', '[data-testid="conv-row"]');
    assert.equal(await page.getAttribute('[data-testid="folder-open"]', 'aria-pressed'), 'true', 'Open by default');
    let ids = await rows(page);
    assert.ok(ids.includes(convA) && ids.includes(convB), JSON.stringify(ids));

    await page.click(`${row(convA)} a`);
    await page.waitForSelector('[data-testid="resolve-conv"]');
    assert.equal(await page.textContent('[data-testid="conv-state"]'), 'Open');
    await page.click('[data-testid="resolve-conv"]');
    await page.waitForSelector('[data-testid="reopen-conv"]:not([hidden])');
    assert.match(await page.textContent('[data-testid="conv-state"]'), /^Resolved by a person /);
    await page.waitForSelector(row(convA), { state: 'detached' });
    await shots(page, 'states-resolved-thread');
    assert.deepEqual(await axeLightDark(page, 'a resolved thread'), []);

    ids = await folder(page, 'resolved');
    assert.deepEqual(ids, [convA]);
    assert.equal(await page.textContent(`${row(convA)} [data-testid="conv-state-badge"]`), 'Resolved');
    assert.match(page.url(), /state=resolved/);
    await shots(page, 'states-folders');
    assert.deepEqual(await axeLightDark(page, 'the Resolved folder'), []);

    // Reopened: back in Open, gone from Resolved.
    await page.click('[data-testid="reopen-conv"]');
    await page.waitForSelector(row(convA), { state: 'detached' });
    await page.waitForSelector('[data-testid="resolve-conv"]:not([hidden])');
    assert.equal(await page.textContent('[data-testid="conv-state"]'), 'Open');
    await shots(page, 'states-reopened-thread');
    assert.deepEqual(await axeLightDark(page, 'a reopened thread'), []);
    ids = await folder(page, 'open');
    assert.ok(ids.includes(convA));
    let c = (await adminApi(stack, 'GET', `/v1/admin/conversations/${convA}`)).json.conversation;
    assert.equal(c.state, 'open');

    // B snoozed until tomorrow: Snoozed, not Open.
    await page.click(`${row(convB)} a`);
    await page.waitForSelector('[data-testid="snooze-menu"]');
    await page.click('[data-testid="snooze-menu"] summary');
    await page.click('[data-testid="snooze-tomorrow"]');
    await page.waitForSelector(row(convB), { state: 'detached' });
    assert.match(await page.textContent('[data-testid="conv-state"]'), /^Snoozed until /);
    c = (await adminApi(stack, 'GET', `/v1/admin/conversations/${convB}`)).json.conversation;
    assert.equal(c.state, 'snoozed');
    const t = new Date(c.snoozed_until);
    assert.ok(c.snoozed_until > Date.now() && t.getHours() === 9 && t.getMinutes() === 0, `tomorrow 9:00: ${t}`);
    ids = await folder(page, 'snoozed');
    assert.deepEqual(ids, [convB]);

    // The visitor writes: B opens again, live.
    await folder(page, 'open');
    await visitorB.turn('are you there?');
    await page.waitForSelector(row(convB), { timeout: 10000 });
    assert.equal((await adminApi(stack, 'GET', `/v1/admin/conversations/${convB}`)).json.conversation.state, 'open');
    await assertClean(page, v.log, 'states');
  });

  test('a conversation arriving live: the row and the list\'s status follow ("Showing 3 of 3", not 2 of 2)', async () => {
    const { page } = v;
    await openDash(page, stack, '#/conversations?state=all', '[data-testid="conv-row"]');
    await page.waitForFunction(() => !/Loading/.test(document.querySelector('[data-testid="list-status"]').textContent));
    assert.equal(await page.textContent('[data-testid="list-status"]'), 'Showing 2 of 2.');
    const c = (await visit('hello from C')).id;
    await page.waitForSelector(row(c), { timeout: 10000 });
    await page.waitForFunction(() => document.querySelector('[data-testid="list-status"]').textContent === 'Showing 3 of 3.',
      null, { timeout: 5000 });
    assert.equal(await page.textContent('[data-testid="conv-count"]'), '3 conversations');
    await assertClean(page, v.log, 'live status');
  });

  test('on a phone: the folders and the thread fit, in light and dark', async () => {
    const p = await openPage(browser, PHONE);
    try {
      await dashLogin(stack, p.ctx, session);
      await openDash(p.page, stack, '#/conversations', '[data-testid="conv-row"]');
      let o = await overflow(p.page);
      assert.ok(o.scrollWidth <= o.innerWidth, JSON.stringify(o));
      await shots(p.page, 'states-folders-phone');
      assert.deepEqual(await axeLightDark(p.page, 'the folders on a phone'), []);
      await openDash(p.page, stack, `#/conversations/${convA}`, '[data-testid="resolve-conv"]');
      o = await overflow(p.page);
      assert.ok(o.scrollWidth <= o.innerWidth, JSON.stringify(o));
      await shots(p.page, 'states-thread-phone');
      assert.deepEqual(await axeLightDark(p.page, 'the thread on a phone'), []);
      // Resolved and reopened on the phone.
      await p.page.click('[data-testid="resolve-conv"]');
      await p.page.waitForSelector('[data-testid="reopen-conv"]:not([hidden])');
      assert.match(await p.page.textContent('[data-testid="conv-state"]'), /^Resolved by a person /);
      await shots(p.page, 'states-resolved-phone');
      assert.deepEqual(await axeLightDark(p.page, 'a resolved thread on a phone'), []);
      await p.page.click('[data-testid="reopen-conv"]');
      await p.page.waitForSelector('[data-testid="resolve-conv"]:not([hidden])');
      assert.equal(await p.page.textContent('[data-testid="conv-state"]'), 'Open');
      await shots(p.page, 'states-reopened-phone');
      assert.deepEqual(await axeLightDark(p.page, 'a reopened thread on a phone'), []);
      await assertClean(p.page, p.log, 'phone');
    } finally {
      await p.ctx.close();
    }
  });

  // Last: it adds 2,051 conversations. A request of a folder looks at the
  // 2,000 newest conversations at most (ST_SEARCH_SCAN); the list asks on
  // by itself until its page fills, so an open conversation older than
  // 2,050 resolved ones is on Open's first page, not "all caught up".
  test('Open shows the open conversations older than 2,050 resolved ones', async () => {
    const { page } = v;
    await page.goto('about:blank'); // no dashboard taking the bulk's events live
    const st = await stack.parley.storage({ name: 'btest-dashboard-states' });
    const slow = { timeout: 30000 };
    let older;
    try {
      ({ conv: older } = await st.convOpen('default', sid('older'), slow));
      await st.msgAppend(older.id, 'user', 'an open question from before', 'complete', 0, 0, slow);
      await pool(Array.from({ length: 2050 }, (_, i) => i), 48, async (i) => {
        const { conv } = await st.convOpen('default', sid(`done${i}`), slow);
        await st.msgAppend(conv.id, 'user', `done ${i}`, 'complete', 0, 0, slow);
        await st.ask(T.ST_CONV_STATE, { conv_id: conv.id, state: 2, snoozed_until: 0 }, slow);
      });
    } finally {
      st.close();
    }
    await openDash(page, stack, '#/conversations', row(older.id));
    const ids = await rows(page);
    for (const id of [older.id, convA, convB]) assert.ok(ids.includes(id), `${id} on Open's first page: ${ids.length} rows`);
    assert.equal(await page.isVisible('[data-testid="conv-empty"]'), false);
    await assertClean(page, v.log, 'Open past the resolved');
  });
});
