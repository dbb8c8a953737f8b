// The Reports page in headless Chromium: after a few conversations (one
// resolved by a person, one handed to a person nobody answers, thumbs),
// its cards say what the API's report says; its four charts are drawn
// (SVG) with their numbers in a table each, the day's bar as tall as its
// count; the CSV link downloads the days; a widget filter narrows it and
// stays in the hash; today's daily bounds (a widget's cap, the
// organisation's budget) above the cards, a warning once one is reached;
// the menu fits one row at 1280 and 1024 wide (the
// pages set up once under Settings). Screenshots at 1280 and 390 wide, light and dark;
// axe-core clean; no horizontal scroll on a phone; no page error.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  DASHBOARD_PASSWORD, PHONE, SCREENSHOTS, SUITE_TIMEOUT, adminApi, assertClean, axeLightDark, dashLogin, openDash, openPage, overflow,
  startSuite, stopSuite,
  shotsLightDark, waitFor,
} from './lib/browser.mjs';
import { Visitor } from '../integration/lib/wsclient.mjs';

describe('dashboard: the Reports page', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  let browser;
  let v;
  let session;
  let w1;
  let w2;

  async function visit(w, n) {
    const m = await Visitor.open(stack.parley, w.widget_id);
    await m.next('session');
    const ids = [];
    for (let i = 0; i < n; i++) ids.push((await m.turn(`question ${i}`)).message.id);
    return { m, ids };
  }

  const shots = (page, name) => shotsLightDark(page, `dashboard-${name}`);

  before(async () => {
    ({ stack, browser } = await startSuite({ mock: { chunks: 2, delayMs: 5 }, env: { DASHBOARD_PASSWORD } }));
    w1 = (await adminApi(stack, 'POST', '/v1/admin/widgets', { name: 'Shop', handoff_enabled: true })).json;
    w2 = (await adminApi(stack, 'POST', '/v1/admin/widgets', { name: 'Help' })).json;
    const a = await visit(w1, 2);
    a.m.send({ type: 'feedback', message_id: a.ids[0], value: 'up' });
    await a.m.next('feedback_saved');
    const b = await visit(w1, 1);
    b.m.send({ type: 'request_human' });
    await b.m.next('handoff');
    const c = await visit(w2, 3);
    const convs = (await adminApi(stack, 'GET', '/v1/admin/conversations')).json.conversations;
    const cid = convs.find((x) => x.widgetId === w2.id)._id;
    assert.equal((await adminApi(stack, 'PATCH', `/v1/admin/conversations/${cid}`, { state: 'resolved' })).status, 200);
    for (const x of [a, b, c]) await x.m.close();
    v = await openPage(browser);
    session = await dashLogin(stack, v.ctx);
  });
  after(async () => {
    if (v) await v.ctx.close();
    await stopSuite({ stack, browser });
  });

  // The charts' labels as the page shows them: the smallest one's size in
  // screen px (its font size times the chart's scale), and the axis labels
  // that overlap the next one along (none).
  const chartLabels = (page) => page.$$eval('svg.chart', (svgs) => {
    let smallest = Infinity;
    const overlaps = [];
    for (const s of svgs) {
      const scale = s.getBoundingClientRect().width / s.viewBox.baseVal.width;
      const texts = [...s.querySelectorAll('text')];
      for (const t of texts) smallest = Math.min(smallest, parseFloat(getComputedStyle(t).fontSize) * scale);
      const bottom = texts.filter((t) => t.getAttribute('text-anchor') === 'middle').map((t) => t.getBoundingClientRect());
      for (let i = 1; i < bottom.length; i++) {
        if (bottom[i].left < bottom[i - 1].right) overlaps.push(`${s.getAttribute('aria-label')}: label ${i}`);
      }
    }
    return { smallest: Math.round(smallest * 10) / 10, overlaps };
  });
  const assertLabelsRead = async (page, what) => {
    const l = await chartLabels(page);
    assert.ok(l.smallest >= 10.5, `${what}: the charts' labels ${l.smallest} px`);
    assert.deepEqual(l.overlaps, [], `${what}: labels apart`);
  };

  test('the cards say what the API says; four charts with their tables; the CSV; a widget filter', async () => {
    const { page } = v;
    await openDash(page, stack, '#/reports', '[data-testid="report-cards"]');
    const tz = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
    const rep = (await adminApi(stack, 'GET', `/v1/admin/reports?tz=${encodeURIComponent(tz)}`)).json;
    assert.equal(rep.totals.conversations, 3);
    // The dates are fields as the widget and agent lists are: framed alike, one height.
    const look = (sel) => page.$eval(sel, (e) => {
      const cs = getComputedStyle(e);
      return { border: cs.borderTopStyle + ' ' + cs.borderTopWidth + ' ' + cs.borderTopColor, radius: cs.borderTopLeftRadius, height: Math.round(e.getBoundingClientRect().height) };
    });
    const list = await look('[data-testid="report-widget"]');
    for (const id of ['report-from', 'report-to']) {
      const date = await look(`[data-testid="${id}"]`);
      assert.equal(date.border, list.border, `${id}: its frame`);
      assert.equal(date.radius, list.radius, `${id}: its corners`);
      assert.ok(Math.abs(date.height - list.height) <= 2, `${id}: ${date.height} px high beside ${list.height}`);
    }
    const card = (id) => page.textContent(`[data-testid="${id}"] .report-card-value`);
    assert.equal(await card('card-conversations'), '3');
    assert.equal(await card('card-handed'), `${Math.round(rep.totals.handed_off_rate * 100)}%`);
    assert.equal(await card('card-abandoned'), '33%');
    assert.equal(await card('card-thumbs'), '100%');
    for (const id of ['chart-days', 'chart-rate', 'chart-hours', 'chart-agents']) {
      assert.equal(await page.locator(`[data-testid="${id}"] svg[role="img"]`).count(), 1, id);
      assert.ok(await page.locator(`[data-testid="${id}-table"] tbody tr`).count() >= 1, `${id}: its numbers`);
    }
    // Today's bar holds the 3 conversations: its table row says so.
    const today = rep.days[rep.days.length - 1].date.slice(5);
    const row = await page.$$eval('[data-testid="chart-days-table"] tbody tr', (rs, d) => rs.map((r) => [...r.children].map((c) => c.textContent))
      .find((cells) => cells[0] === d), today);
    assert.deepEqual(row.slice(1).map(Number).reduce((s, x) => s + x, 0), 3);
    assert.ok(await page.locator('[data-testid="chart-days"] rect').count() >= 2, 'today\'s bar, two parts at least');
    await assertLabelsRead(page, '1280 px');
    await shots(page, 'reports');
    assert.deepEqual(await axeLightDark(page, 'the Reports page'), []);

    // The CSV link: the days, as the API's.
    const href = await page.getAttribute('[data-testid="report-csv"]', 'href');
    const csv = await page.evaluate(async (u) => (await fetch(u)).text(), href);
    const lines = csv.trim().split('\r\n');
    assert.equal(lines.length, rep.days.length + 1);
    assert.match(lines[0], /^date,conversations,visitor_messages,/);

    // One widget: the cards follow, the hash keeps it.
    await page.selectOption('[data-testid="report-widget"]', w2.id);
    await Promise.all([
      page.waitForResponse((r) => r.url().includes('/v1/admin/reports?') && r.url().includes(`widget_id=${w2.id}`)),
      page.click('[data-testid="report-apply"]'),
    ]);
    await page.waitForFunction(() => document.querySelector('[data-testid="card-conversations"] .report-card-value').textContent === '1');
    assert.match(page.url(), new RegExp(`widget_id=${w2.id}`));
    assert.equal(await card('card-assistant'), '0%');
    await assertClean(page, v.log, 'reports');
  });

  // Each range applied was loaded and shown as it came: an earlier one
  // answered late showed its figures under the later one's dates.
  test('a range asked after another shows its own figures, whichever answer comes last', async () => {
    const { page } = v;
    await openDash(page, stack, '#/reports?from=2026-01-01&to=2026-01-31', '[data-testid="report-cards"]');
    // February's answer held until March's is in (15 s at most), so it
    // comes last however slow the machine.
    let slowed = false;
    let febDone = null; // February's answer, its body received
    let marchIn;
    const march = new Promise((r) => { marchIn = r; });
    await page.route('**/v1/admin/reports?*', async (route) => {
      const url = route.request().url();
      if (!slowed && url.includes('from=2026-02-01')) {
        slowed = true;
        febDone = route.request().response().then((r) => r && r.finished());
        await Promise.race([march, new Promise((r) => setTimeout(r, 15000))]);
      }
      await route.continue().catch(() => {});
      if (url.includes('from=2026-03-01')) route.request().response().then((r) => r && r.finished()).then(marchIn, marchIn);
    });
    try {
      await page.fill('[data-testid="report-from"]', '2026-02-01');
      await page.fill('[data-testid="report-to"]', '2026-02-28');
      await page.click('[data-testid="report-apply"]');
      await waitFor(() => slowed, 10000, 'February\'s request, held');
      await page.fill('[data-testid="report-from"]', '2026-03-01');
      await page.fill('[data-testid="report-to"]', '2026-03-31');
      await page.click('[data-testid="report-apply"]');
      assert.ok(slowed);
      // the February answer came after: its body in, then the page's next
      // frame; then March's figures are what shows
      await febDone;
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
      await page.waitForFunction(() => /^2026-03-01 to 2026-03-31/.test(document.querySelector('[data-testid="report-status"]').textContent), null, { timeout: 10000 })
        .catch(() => {});
      assert.match(await page.textContent('[data-testid="report-status"]'), /^2026-03-01 to 2026-03-31/);
    } finally { await page.unroute('**/v1/admin/reports?*'); }
  });

  // The default range is the last 30 calendar days: 29 x 24 h back made
  // it 31 days in spring and 29 in autumn, when the clocks changed between.
  test('the default range is 30 days across a change of clocks', async () => {
    const cases = [
      // Friday 10 April 2026, 00:30 in Paris (summer time since 29 March).
      { now: '2026-04-09T22:30:00Z', from: '2026-03-12', to: '2026-04-10' },
      // Tuesday 10 November 2026, 23:30 in Paris (winter time since 25 October).
      { now: '2026-11-10T22:30:00Z', from: '2026-10-12', to: '2026-11-10' },
    ];
    for (const c of cases) {
      const p = await openPage(browser, { timezoneId: 'Europe/Paris' });
      try {
        await dashLogin(stack, p.ctx, session);
        await p.page.clock.setFixedTime(new Date(c.now));
        await openDash(p.page, stack, '#/reports', '[data-testid="report-cards"]');
        assert.equal(await p.page.inputValue('[data-testid="report-from"]'), c.from, c.now);
        assert.equal(await p.page.inputValue('[data-testid="report-to"]'), c.to, c.now);
        assert.match(await p.page.textContent('[data-testid="report-status"]'), new RegExp(`^${c.from} to ${c.to}`));
        await assertClean(p.page, p.log, `reports at ${c.now}`);
      } finally { await p.ctx.close(); }
    }
  });

  test('the menu fits one row at 1280 and 1024 wide; Settings opens the pages set up once, and marks the one open', async () => {
    for (const width of [1280, 1024]) {
      const p = await openPage(browser, { viewport: { width, height: 800 } });
      try {
        await dashLogin(stack, p.ctx, session);
        await openDash(p.page, stack, '#/reports', '[data-testid="report-cards"]');
        const box = (sel) => p.page.locator(sel).boundingBox();
        const [nav, logout, reports] = await Promise.all([box('.site-nav'), box('#logout'), box('[data-testid="nav-reports"]')]);
        assert.ok(Math.abs(logout.y + logout.height / 2 - (reports.y + reports.height / 2)) < 8,
          `${width}: Log out on the menu's row: ${JSON.stringify({ nav, logout, reports })}`);
        await p.page.click('[data-testid="nav-more"] summary');
        await p.page.click('[data-testid="nav-webhooks"]');
        await p.page.waitForSelector('h1 >> text=Webhooks');
        assert.equal(await p.page.getAttribute('[data-testid="nav-more"]', 'open'), null, 'closed once a page is chosen');
        assert.match(await p.page.getAttribute('[data-testid="nav-more"]', 'class'), /has-current/);
        fs.mkdirSync(SCREENSHOTS, { recursive: true });
        await p.page.screenshot({ path: path.join(SCREENSHOTS, `dashboard-menu-${width}.png`) });
        await assertClean(p.page, p.log, `menu at ${width}`);
      } finally {
        await p.ctx.close();
      }
    }
  });

  // Today's daily bounds above the cards: none without one; a widget's cap
  // and the organisation's budget (the install key's alone) with what
  // counted against each; a bound reached is a warning, axe-clean.
  test('today\'s daily bounds: a widget\'s cap, the organisation\'s budget, a warning once one is reached', async () => {
    const { page } = v;
    const setBudget = async (n) => assert.equal((await adminApi(stack, 'PATCH', '/v1/admin/organizations/default', { daily_turn_budget: n })).status, 200);
    const shown = async (hash) => {
      await openDash(page, stack, hash, '[data-testid="report-cards"]');
      const el = page.locator('[data-testid="report-today"]');
      return (await el.count()) ? { text: await el.textContent(), warn: await el.evaluate((e) => e.classList.contains('alert-warn')) } : null;
    };
    try {
      assert.equal(await shown('#/reports'), null, 'no bound, no line');
      assert.equal((await adminApi(stack, 'PATCH', `/v1/admin/widgets/${w2.widget_id}`, { daily_message_cap: 5 })).status, 200);
      assert.equal(await shown('#/reports'), null, 'a cap is a widget\'s: shown with that widget');
      let t = await shown(`#/reports?widget_id=${w2.id}`);
      assert.match(t.text, /^Today: 3 of this widget's 5\. The count starts again /);
      assert.equal(t.warn, false);
      await setBudget(4);
      const m = await Visitor.open(stack.parley, w1.widget_id);
      await m.next('session');
      await m.turn('counted in the budget');
      await m.close();
      t = await shown('#/reports');
      assert.match(t.text, /^Today: 1 of the organisation's 4 visitor messages a day\. The count starts again /);
      await setBudget(1);
      t = await shown(`#/reports?widget_id=${w2.id}`);
      assert.match(t.text, /^Today: 1 of the organisation's 1 visitor messages a day; 3 of this widget's 5\. Visitors' messages are refused until .+, when the count starts again\.$/);
      assert.equal(t.warn, true);
      await shots(page, 'reports-today');
      assert.deepEqual(await axeLightDark(page, 'the Reports page with a bound reached'), []);
      await assertClean(page, v.log, 'reports with today\'s bounds');
    } finally {
      await setBudget(null);
    }
  });

  test('on a phone: no horizontal scroll, light and dark', async () => {
    const p = await openPage(browser, PHONE);
    try {
      await dashLogin(stack, p.ctx, session);
      await openDash(p.page, stack, '#/reports', '[data-testid="report-cards"]');
      const o = await overflow(p.page);
      assert.ok(o.scrollWidth <= o.innerWidth, JSON.stringify(o));
      await assertLabelsRead(p.page, '390 px');
      await shots(p.page, 'reports-phone');
      assert.deepEqual(await axeLightDark(p.page, 'the Reports page on a phone'), []);
      await assertClean(p.page, p.log, 'reports on a phone');
    } finally {
      await p.ctx.close();
    }
  });
});
