// The dashboard's webhooks pages (issue 23) in headless Chromium, against a
// Parley that may deliver to loopback (PARLEY_WEBHOOK_ALLOW_PRIVATE=on) and
// a receiver of this test on 127.0.0.1. The owner creates a webhook in the
// page (a URL only the server refuses shown beside its field first); its
// secret is shown once, with Copy, and is gone after a reload; Send test
// shows the delivery delivered with 200 (signed with that secret); a
// receiver answering 500 leaves the delivery pending with its code and
// error, and Retry after the receiver is fixed delivers it again at once;
// the events are edited (none refused in the page); a URL holding markup is
// shown as text; its secret rotated after the confirmation (the new one
// shown once, a delivery then signed with both); the webhook is deleted
// after the confirmation. A member
// below admin has no Webhooks in the nav, and the page says the API's
// refusal. axe-core in light and dark on the webhook's page; it and the
// list do not scroll sideways on a 390 px phone.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';

import {
  DASHBOARD_PASSWORD, PHONE, QUICK_POLLS, SUITE_TIMEOUT, adminApi, assertBadgesFit, assertClean as assertCleanOf, axeLightDark, dashLogin, dashShot, openDash, openPage,
  overflow, rightGap, startSuite, stopSuite, waitFor,
} from './lib/browser.mjs';
import { loginRequest, nextClient, setCookies, COOKIE } from '../integration/lib/dashboard.mjs';
import { receiver } from '../integration/lib/receiver.mjs';

// The browser's own report of the 400 the test asks for (a port out of range).
const assertClean = (page, log, what) => assertCleanOf(page, log, what,
  { allowConsole: /^Failed to load resource: the server responded with a status of 400/ });

const row = (id) => `[data-testid="delivery-row"][data-id="${id}"]`;

// A receiver on 127.0.0.1 answering rx.code; every request kept.
async function codeReceiver() {
  const rx = await receiver((req, res) => {
    res.statusCode = rx.code;
    res.end();
  });
  rx.code = 200;
  return rx;
}

describe('dashboard webhooks in Chromium', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  let browser;
  let rx;
  let owner;    // {ctx, page, log}
  let hook;     // the webhook made in the page: {id, secret}

  before(async () => {
    [rx, { stack, browser }] = await Promise.all([codeReceiver(), startSuite({
      workers: 1, mock: { chunks: 2 }, env: { DASHBOARD_PASSWORD, PARLEY_WEBHOOK_ALLOW_PRIVATE: 'on', ...QUICK_POLLS },
    })]);
    owner = await openPage(browser);
    await dashLogin(stack, owner.ctx);
  });
  after(async () => {
    if (owner) await owner.ctx.close();
    await stopSuite({ stack, browser });
    if (rx) await rx.close();
  });

  const admin = (method, path, body) => adminApi(stack, method, path, body);

  // The px from the last detail of the Status panel to its padding's edge,
  // and the panel's padding: a panel ends under its details by its padding.
  const statusEnd = (page) => page.$eval('[aria-labelledby="sec-status"]', (panel) => {
    const cs = getComputedStyle(panel);
    const dds = panel.querySelectorAll('dd');
    return {
      under: Math.round(panel.getBoundingClientRect().bottom - parseFloat(cs.borderBottomWidth) - dds[dds.length - 1].getBoundingClientRect().bottom),
      pad: parseFloat(cs.paddingBottom),
    };
  });

  test('create: a refusal beside the URL, then the secret shown once, gone after a reload', async () => {
    const { page, log } = owner;
    await openDash(page, stack, '#/webhooks', '[data-testid="hook-form"]');
    await page.waitForSelector('[data-testid="hook-empty"]:not([hidden])');
    assert.equal(await page.getAttribute('[data-testid="nav-webhooks"]', 'aria-current'), 'page');
    assert.equal(await rightGap(page, '#f-url'), 0, 'the URL as wide as the form');
    // The Events box ends its padding under its last event (its error line,
    // hidden, after it takes no room), as a box ends under its last field.
    const events = await page.$eval('fieldset[data-field="events"]', (fs) => {
      const fields = fs.querySelectorAll('.field');
      const cs = getComputedStyle(fs);
      return {
        under: Math.round(fs.getBoundingClientRect().bottom - parseFloat(cs.borderBottomWidth) - fields[fields.length - 1].getBoundingClientRect().bottom),
        pad: parseFloat(cs.paddingBottom),
      };
    });
    assert.equal(events.under, events.pad, `the Events box ends ${events.under} px under its last event`);
    await page.fill('#f-url', 'http://127.0.0.1:99999/hook');
    await page.click('[data-testid="save-hook"]');
    const err = page.locator('[data-testid="field-error-url"]');
    await err.waitFor({ state: 'visible' });
    assert.equal(await err.textContent(), 'port must be 1-65535', 'the server\'s text, beside the field');
    assert.equal(await page.getAttribute('#f-url', 'aria-invalid'), 'true');
    assert.equal((await admin('GET', '/v1/admin/webhooks')).json.webhooks.length, 0, 'nothing made');

    await page.fill('#f-url', rx.url('/hook'));
    await page.check('[data-testid="event-message.created"]');
    await page.click('[data-testid="save-hook"]');
    await page.waitForSelector('[data-testid="hook-secret"]');
    const secret = await page.textContent('[data-testid="hook-secret-value"]');
    assert.match(secret, /^whsec_[A-Za-z0-9+/=]{40,}$/);
    assert.match(await page.textContent('[data-testid="hook-secret"]'), /shown this once.*you will not see it again/i);
    await page.click('[data-testid="hook-secret-copy"]');
    await page.waitForFunction(() => /Copied|Selected/.test(document.querySelector('[data-testid="hook-secret-copy-status"]').textContent));
    const listed = (await admin('GET', '/v1/admin/webhooks')).json.webhooks;
    assert.equal(listed.length, 1);
    assert.equal(listed[0].url, rx.url('/hook'));
    assert.deepEqual(listed[0].events, ['conversation.created', 'message.created']);
    assert.equal(listed[0].enabled, true);
    assert.ok(!('secret' in listed[0]));
    hook = { id: listed[0].id, secret };
    const r = `[data-testid="hook-row"][data-id="${hook.id}"]`;
    await page.waitForSelector(r);
    assert.equal(await page.textContent(`${r} [data-testid="hook-link"]`), rx.url('/hook'));
    assert.equal(await page.textContent(`${r} [data-testid="hook-events"]`), 'conversation.created, message.created');
    assert.equal(await page.textContent(`${r} [data-testid="hook-status"]`), 'Enabled');

    await page.reload();
    await page.waitForSelector(r);
    assert.equal(await page.locator('[data-testid="hook-secret"]').count(), 0, 'no secret after a reload');
    assert.ok(!(await page.content()).includes(secret), 'the secret is nowhere in the page');
    await assertClean(page, log, 'create');
  });

  test('Send test: the delivery shows delivered with 200, signed with the secret', async () => {
    const { page, log } = owner;
    await page.click(`[data-testid="hook-row"][data-id="${hook.id}"] [data-testid="hook-link"]`);
    await page.waitForSelector('[data-testid="delivery-empty"]:not([hidden])');
    assert.equal(await page.textContent('[data-testid="hook-title"]'), rx.url('/hook'));
    const end = await statusEnd(page);
    assert.equal(end.under, end.pad, `the Status panel ends ${end.under} px under its details`);
    await page.click('[data-testid="hook-test"]');
    await page.waitForSelector('[data-testid="delivery-row"][data-status="delivered"]', { timeout: 10000 });
    const id = await page.getAttribute('[data-testid="delivery-row"]', 'data-id');
    assert.equal(await page.textContent(`${row(id)} [data-testid="delivery-status"]`), 'Delivered');
    assert.equal(await page.textContent(`${row(id)} [data-testid="delivery-event"]`), 'webhook.test');
    assert.equal(await page.textContent(`${row(id)} [data-testid="delivery-code"]`), '200');
    assert.equal(await page.textContent(`${row(id)} [data-testid="delivery-attempts"]`), '1');
    assert.match(await page.textContent(`${row(id)} [data-testid="delivery-duration"]`), /^\d[\d,.]* ms$/);
    assert.equal(await page.locator(`${row(id)} [data-testid="delivery-retry"]`).count(), 0, 'no Retry on a delivered one');
    assert.equal(rx.hits.length, 1);
    assert.equal(rx.hits[0].headers['webhook-id'], id);
    const body = new Webhook(hook.secret).verify(rx.hits[0].body, rx.hits[0].headers);
    assert.equal(body.type, 'webhook.test');
    await assertClean(page, log, 'test');
  });

  test('a 500: pending with its code and error; Retry after the fix delivers it at once', async () => {
    const { page, log } = owner;
    rx.code = 500;
    await page.click('[data-testid="hook-test"]');
    await page.waitForFunction(() => {
      const r = document.querySelector('[data-testid="delivery-row"]');
      return r && r.querySelector('[data-testid="delivery-code"]').textContent === '500';
    }, null, { timeout: 10000 });
    const id = await page.getAttribute('[data-testid="delivery-row"]', 'data-id');
    assert.equal(await page.locator('[data-testid="delivery-row"]').count(), 2, 'the new one above the first');
    assert.equal(await page.getAttribute(row(id), 'data-status'), 'pending');
    assert.equal(await page.textContent(`${row(id)} [data-testid="delivery-status"]`), 'Pending');
    assert.equal(await page.textContent(`${row(id)} [data-testid="delivery-error"]`), 'HTTP 500');
    assert.equal(await page.textContent(`${row(id)} [data-testid="delivery-attempts"]`), '1');
    assert.ok(await page.isVisible(`${row(id)} [data-testid="delivery-next"]`), 'when it is tried next');

    rx.code = 200;
    const t0 = Date.now();
    await page.click(`${row(id)} [data-testid="delivery-retry"]`);
    await page.waitForFunction(() => /due again/.test(document.querySelector('[data-testid="action-status"]').textContent));
    await page.waitForSelector(`${row(id)}[data-status="delivered"]`, { timeout: 10000 });
    assert.equal(await page.textContent(`${row(id)} [data-testid="delivery-code"]`), '200');
    assert.equal(await page.textContent(`${row(id)} [data-testid="delivery-error"]`), '—');
    assert.ok(rx.hits.some((x) => x.headers['webhook-id'] === id && x.at >= t0), 'sent again after Retry');
    // The log as the API has it, and Refresh keeps it so.
    const api = (await admin('GET', `/v1/admin/webhooks/${hook.id}/deliveries`)).json.deliveries;
    assert.deepEqual(api.map((d) => d.status), ['delivered', 'delivered']);
    await page.click('[data-testid="deliveries-refresh"]');
    await waitFor(async () => !(await page.isDisabled('[data-testid="deliveries-refresh"]')), 5000, 'refreshed');
    assert.deepEqual(await page.$$eval('[data-testid="delivery-row"]', (rs) => rs.map((r) => r.dataset.id)), api.map((d) => d.id));
    assert.deepEqual(await axeLightDark(page, 'a webhook with deliveries'), []);
    await assertClean(page, log, 'retry');
    // On a phone, the list and this page do not scroll sideways (a screenshot of each).
    const phone = await openPage(browser, PHONE);
    try {
      await dashLogin(stack, phone.ctx);
      for (const [name, route, ready] of [['webhooks', '#/webhooks', '[data-testid="hook-row"]'],
        ['webhook', `#/webhooks/${hook.id}`, `${row(id)}[data-status="delivered"]`]]) {
        await openDash(phone.page, stack, route, ready);
        const o = await overflow(phone.page);
        assert.ok(o.scrollWidth <= o.innerWidth, `${name}: no horizontal scroll on a phone: ${JSON.stringify(o)}`);
        await dashShot(phone.page, name);
      }
      const end = await statusEnd(phone.page);
      assert.equal(end.under, end.pad, `on a phone, the Status panel ends ${end.under} px under its details`);
      // A card's Status badge is as wide as its word, not the card.
      await openDash(phone.page, stack, '#/webhooks', '[data-testid="hook-row"]');
      await assertBadgesFit(phone.page, '[data-testid="hook-status"]', 'webhooks on a phone');
      await assertClean(phone.page, phone.log, 'phone');
    } finally { await phone.ctx.close(); }
  });

  test('edit the events: none is refused in the page; the saved ones stay after a reload', async () => {
    const { page, log } = owner;
    await page.uncheck('[data-testid="event-conversation.created"]');
    await page.uncheck('[data-testid="event-message.created"]');
    await page.click('[data-testid="save-hook"]');
    await page.locator('[data-testid="field-error-events"]').waitFor({ state: 'visible' });
    await page.check('[data-testid="event-handoff.requested"]');
    await page.check('[data-testid="event-conversation.deleted"]');
    await page.click('[data-testid="save-hook"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="save-status"]').textContent === 'Saved.');
    const w = (await admin('GET', `/v1/admin/webhooks/${hook.id}`)).json;
    assert.deepEqual(w.events, ['handoff.requested', 'conversation.deleted']);
    assert.equal(w.url, rx.url('/hook'), 'the rest unchanged');
    await page.reload();
    await page.waitForSelector('[data-testid="delivery-row"]');
    assert.ok(await page.isChecked('[data-testid="event-handoff.requested"]'));
    assert.ok(!(await page.isChecked('[data-testid="event-message.created"]')));
    await assertClean(page, log, 'edit');
  });

  test('"Load more" pages the deliveries in the API\'s order; the focus stays where the reader is', async () => {
    const { page, log } = owner;
    for (let i = 0; i < 50; i++) assert.equal((await admin('POST', `/v1/admin/webhooks/${hook.id}/test`)).status, 202);
    const all = [];
    for (let cursor = ''; ;) {
      const d = (await admin('GET', `/v1/admin/webhooks/${hook.id}/deliveries?limit=25${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)).json;
      all.push(...d.deliveries.map((x) => x.id));
      if (!d.nextCursor) break;
      cursor = d.nextCursor;
    }
    assert.ok(all.length > 50, `three pages: ${all.length}`);
    await page.reload();
    await page.waitForSelector('[data-testid="delivery-row"]');
    const rows = () => page.$$eval('[data-testid="delivery-row"]', (rs) => rs.map((r) => r.dataset.id));
    const focused = () => page.evaluate(() => {
      const a = document.activeElement;
      const r = a && a.closest('[data-testid="delivery-row"]');
      return { testid: a && a.getAttribute('data-testid'), row: r ? [...r.parentNode.children].indexOf(r) : -1 };
    });
    assert.equal((await rows()).length, 25);
    await page.click('[data-testid="load-more"]');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="delivery-row"]').length === 50);
    await waitFor(async () => !(await page.isDisabled('[data-testid="load-more"]')), 5000, 'loaded');
    // Disabled while its page loaded, the button has its focus back.
    assert.deepEqual(await focused(), { testid: 'load-more', row: -1 }, 'the focus back on "Load more"');
    await page.click('[data-testid="load-more"]');
    await page.locator('[data-testid="load-more"]').waitFor({ state: 'hidden' });
    // It went while it had the focus: the focus is on the last page's first row.
    assert.deepEqual(await focused(), { testid: null, row: 50 }, 'the focus on the last page\'s first row');
    assert.deepEqual(await rows(), all, 'every delivery once, in the API\'s order');
    await assertClean(page, log, 'load more');
  });

  test('a URL holding markup is shown as text', async () => {
    const { page, log } = owner;
    const url = 'http://127.0.0.1:1/"><img/src=x/onerror=window.__xss=1><b>bold</b>';
    await openDash(page, stack, '#/webhooks', '[data-testid="hook-form"]');
    await page.fill('#f-url', url);
    await page.click('[data-testid="save-hook"]');
    await page.waitForSelector('[data-testid="hook-secret"]');
    const id = (await admin('GET', '/v1/admin/webhooks')).json.webhooks.find((x) => x.url === url).id;
    const r = `[data-testid="hook-row"][data-id="${id}"]`;
    await page.waitForSelector(r);
    assert.equal(await page.textContent(`${r} [data-testid="hook-link"]`), url);
    await page.click(`${r} [data-testid="hook-link"]`);
    await page.waitForSelector('[data-testid="delivery-empty"]:not([hidden])');
    assert.equal(await page.textContent('[data-testid="hook-title"]'), url);
    assert.equal(await page.inputValue('#f-url'), url);
    assert.equal(await page.evaluate(() => document.querySelectorAll('#view img, #view b').length), 0, 'no element from the URL');
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.match(await page.title(), /^Webhook http:\/\/127\.0\.0\.1:1\/"><img/);
    await assertClean(page, log, 'markup');
  });

  test('Rotate secret after the confirmation (Cancel keeps it): the new one shown once, and a delivery signed with both', async () => {
    const { page, log } = owner;
    await openDash(page, stack, `#/webhooks/${hook.id}`, '[data-testid="hook-rotate"]');
    assert.doesNotMatch(await page.textContent('[data-testid="hook-secret-note"]'), /until/);
    // The panel's text and its button apart, as the Delete panel's are.
    const gaps = await page.evaluate(() => {
      const box = (s) => document.querySelector(s).getBoundingClientRect();
      return {
        secret: Math.round(box('[data-testid="hook-rotate"]').top - box('[data-testid="hook-secret-note"]').bottom),
        del: Math.round(box('[data-testid="delete-hook"]').top - document.querySelector('[data-testid="delete-hook"]').previousElementSibling.getBoundingClientRect().bottom),
      };
    });
    assert.ok(gaps.del >= 12, `the Delete panel's text and button ${gaps.del} px apart`);
    assert.equal(gaps.secret, gaps.del, `the signing secret's text and Rotate secret ${gaps.secret} px apart, the Delete panel's ${gaps.del}`);
    await page.click('[data-testid="hook-rotate"]');
    await page.click('[data-testid="confirm-cancel"]');
    assert.equal((await admin('GET', `/v1/admin/webhooks/${hook.id}`)).json.previous_secret_until, null, 'not rotated');
    await page.click('[data-testid="hook-rotate"]');
    await page.click('[data-testid="confirm-ok"]');
    await page.waitForSelector('[data-testid="hook-secret"]');
    const secret = await page.textContent('[data-testid="hook-secret-value"]');
    assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.notEqual(secret, hook.secret);
    assert.match(await page.textContent('[data-testid="hook-secret"]'), /shown this once/i);
    assert.match(await page.textContent('[data-testid="hook-secret-note"]'), /one before it still signs deliveries too, until/);
    const got = (await admin('GET', `/v1/admin/webhooks/${hook.id}`)).json;
    assert.equal(got.secret, undefined);
    assert.ok(got.previous_secret_until > Date.now() + 23 * 3600000, String(got.previous_secret_until));
    const n = rx.hits.length;
    rx.code = 200;
    await page.click('[data-testid="hook-test"]');
    await waitFor(() => rx.hits.length > n, 10000, 'the delivery after the rotation');
    const hit = rx.hits[n];
    for (const s of [secret, hook.secret]) assert.equal(new Webhook(s).verify(hit.body, hit.headers).type, 'webhook.test');
    await page.reload();
    await page.waitForSelector('[data-testid="hook-rotate"]');
    assert.equal(await page.locator('[data-testid="hook-secret"]').count(), 0, 'no secret after a reload');
    assert.ok(!(await page.content()).includes(secret), 'the secret is nowhere in the page');
    await assertClean(page, log, 'rotate');
  });

  test('delete after the confirmation (Cancel keeps it)', async () => {
    const { page, log } = owner;
    await openDash(page, stack, `#/webhooks/${hook.id}`, '[data-testid="delete-hook"]');
    await page.click('[data-testid="delete-hook"]');
    await page.click('[data-testid="confirm-cancel"]');
    assert.equal((await admin('GET', `/v1/admin/webhooks/${hook.id}`)).status, 200, 'kept');
    await page.click('[data-testid="delete-hook"]');
    assert.match(await page.textContent('[data-testid="confirm-dialog"]'), /127\.0\.0\.1/);
    await page.click('[data-testid="confirm-ok"]');
    await page.waitForURL((u) => u.hash === '#/webhooks');
    assert.equal(await page.textContent('[data-testid="flash"]'), 'Webhook deleted.');
    assert.equal((await admin('GET', `/v1/admin/webhooks/${hook.id}`)).status, 404);
    await page.waitForSelector('[data-testid="hook-row"]');
    assert.equal(await page.locator(`[data-testid="hook-row"][data-id="${hook.id}"]`).count(), 0);
    await assertClean(page, log, 'delete');
  });

  test('a member below admin: no Webhooks in the nav; the page says the refusal', async () => {
    const inv = await admin('POST', '/v1/admin/users', { email: 'ann@example.com', role: 'agent' });
    assert.equal(inv.status, 201, inv.text);
    const res = await stack.parley.request('POST', '/dashboard/api/invitations/accept', {
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: new URL(inv.json.url).hash.slice(1), name: 'Ann', password: 'a long password for Ann' }),
      localAddress: nextClient(),
    });
    assert.equal(res.status, 200, res.text);
    // No session from the accept: Ann logs in with her new password.
    const li = await loginRequest(stack.parley, 'a long password for Ann', { email: 'ann@example.com' });
    assert.equal(li.status, 200, li.text);
    const c = setCookies(li).find((x) => x.name === COOKIE);
    const { ctx, page, log } = await openPage(browser);
    try {
      await ctx.addCookies([{ name: COOKIE, value: c.value, domain: '127.0.0.1', path: '/', httpOnly: true, sameSite: 'Strict' }]);
      await openDash(page, stack, '#/conversations', '[data-testid="whoami"]:not([hidden])');
      assert.equal(await page.textContent('[data-testid="whoami-role"]'), 'agent');
      assert.ok(await page.isVisible('[data-testid="nav-conversations"]'));
      assert.equal(await page.$eval('[data-testid="nav-webhooks"]', (a) => a.closest('li').hidden), true, 'no Webhooks for an agent');
      // typed by hand: the router refuses it as the nav does (nothing asked of the server)
      await page.goto(`${stack.parleyOrigin}/dashboard/#/webhooks`);
      await page.waitForSelector('[data-testid="not-allowed"]');
      assert.equal(await page.textContent('main h1'), 'Not allowed');
      assert.equal(await page.locator('[data-testid="hook-row"]').count(), 0);
      await assertCleanOf(page, log, 'agent', { allowConsole: /status of 403/ });
    } finally { await ctx.close(); }
  });
});
