// The dashboard's widget pages in headless Chromium (docs/dashboard.md):
// create (an invalid colour first: the error beside the field), edit,
// disable (the open embed stops, a new one shows nothing), enable (it
// chats again), reset the public id after the confirmation (the old id is
// dead at the config and on the host page, the new one chats); the
// widgets list; axe-core on the list, the edit and the new-widget pages in
// light and dark; a phone-sized screenshot of each without horizontal
// scroll. Issue 26: the new settings, the identity secret shown once, and
// a verified visitor's contact marked Verified in the contact pages.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import {
  DASHBOARD_PASSWORD, PHONE, SUITE_TIMEOUT, adminApi, assertBadgesFit, assertClean as assertCleanOf, axeAndPhone, axeLightDark, dashLogin, openDash,
  openPage, part, sendByKeyboard, startSuite, stopSuite, waitReady, waitReplyEnd,
} from './lib/browser.mjs';
import { Visitor } from '../integration/lib/wsclient.mjs';

const said = (m) => `You said: ${m}`;

// No page error, no CSP violation, no console error but the browser's own
// report of the 400 the test asked for (a field the server refuses).
const assertClean = (page, log, what) => assertCleanOf(page, log, what,
  { allowConsole: /^Failed to load resource: the server responded with a status of 400/ });

describe('dashboard widgets in Chromium', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  let browser;
  let owner;        // {ctx, page, log}: the dashboard, one page for the tests that build on each other
  let ownerSession; // its session, given to the phone's context too (neither logs out)
  let wid;          // the widget's public id (changes with reset-id)
  let internal;     // its internal id
  const NAME = 'Shop widget from the dashboard';

  before(async () => {
    ({ stack, browser } = await startSuite({ mock: { chunks: 3 }, env: { DASHBOARD_PASSWORD } }));
    owner = await openPage(browser);
    ownerSession = await dashLogin(stack, owner.ctx);
  });
  after(async () => {
    if (owner) await owner.ctx.close();
    await stopSuite({ stack, browser });
  });

  const admin = (method, path, body) => adminApi(stack, method, path, body);

  const config = async (id) => (await fetch(`${stack.parleyOrigin}/api/widget/${id}/config`)).status;

  // A visitor's page on the host site: {ctx, page, log}.
  async function visit(id) {
    const v = await openPage(browser);
    await v.page.goto(stack.host.widgetEmbedUrl(id));
    return v;
  }

  // The host page of id shows no widget (its config is refused).
  async function assertNoWidget(id) {
    const v = await visit(id);
    try {
      await v.page.waitForFunction(() => document.readyState === 'complete');
      const warned = () => v.log.console.some((m) => m.type === 'warning' && m.text.includes(id));
      for (let i = 0; i < 40 && !warned(); i++) await v.page.waitForTimeout(100);
      assert.equal(await v.page.locator('#parley-chat-widget').count(), 0, `no widget for ${id}`);
      assert.equal(await v.page.evaluate(() => typeof window.ParleyChat), 'undefined');
    } finally { await v.ctx.close(); }
  }

  // The host page of id chats: a message and its reply.
  async function assertChats(id, text) {
    const v = await visit(id);
    try {
      await waitReady(v.page);
      await v.page.click(part('launcher'));
      await sendByKeyboard(v.page, text);
      const m = await waitReplyEnd(v.page);
      assert.equal(m.state, 'done');
      assert.equal(m.text, said(text));
    } finally { await v.ctx.close(); }
  }

  test('create: an invalid colour is shown beside its field; then the widget is made', async () => {
    const { page, log } = owner;
    const before1 = (await admin('GET', '/v1/admin/widgets')).json.widgets.length;
    await openDash(page, stack, '#/widgets/new', '[data-testid="widget-form"]');
    await page.fill('#f-name', NAME);
    await page.fill('#f-primary_color', '#12345');
    await page.click('[data-testid="save-widget"]');
    const err = page.locator('[data-testid="field-error-primary_color"]');
    await err.waitFor({ state: 'visible', timeout: 5000 });
    assert.match(await err.textContent(), /#rrggbb|colou?r|hex/i);
    assert.equal(await page.getAttribute('#f-primary_color', 'aria-invalid'), 'true');
    assert.ok((await page.getAttribute('#f-primary_color', 'aria-describedby')).split(' ').includes(await err.getAttribute('id')),
      'the error describes the field');
    // beside the field: inside the same .field block
    assert.equal(await page.evaluate(() => document.querySelector('[data-testid="field-error-primary_color"]').closest('[data-field]').dataset.field), 'primary_color');
    assert.equal((await admin('GET', '/v1/admin/widgets')).json.widgets.length, before1, 'nothing created');
    // A value only the server refuses, shown beside its field too.
    await page.fill('#f-primary_color', '#0a7d4f');
    await page.fill('#f-allowed_origins', 'ftp://not an origin');
    await page.click('[data-testid="save-widget"]');
    await page.locator('[data-testid="field-error-allowed_origins"]').waitFor({ state: 'visible', timeout: 5000 });
    assert.equal((await admin('GET', '/v1/admin/widgets')).json.widgets.length, before1, 'nothing created');
    await page.fill('#f-allowed_origins', '');
    await page.click('[data-testid="save-widget"]');
    await page.waitForURL((u) => /^#\/widgets\/wid_[0-9a-f]{32}$/.test(u.hash), { timeout: 10000 });
    wid = new URL(page.url()).hash.split('/')[2];
    await page.waitForSelector('[data-testid="widget-public-id"]');
    const w = (await admin('GET', `/v1/admin/widgets/${wid}`)).json;
    assert.equal(w.name, NAME);
    assert.equal(w.primary_color, '#0a7d4f');
    assert.equal(w.enabled, true);
    internal = w.id;
    assert.equal(await page.textContent('[data-testid="widget-public-id"]'), wid);
    assert.ok((await page.textContent('[data-testid="embed-snippet"]')).includes(`data-widget="${wid}"`), 'the embed snippet');
    await assertClean(page, log, 'create');
  });

  test('edit: the saved fields are stored and shown again after a reload', async () => {
    const { page, log } = owner;
    await page.fill('#f-greeting', 'Hello from the dashboard');
    await page.selectOption('#f-position', 'bottom_left');
    await page.fill('#f-text_color', '#fefefe');
    await page.click('[data-testid="save-widget"]');
    await page.waitForFunction(() => /saved/i.test(document.querySelector('[data-testid="save-status"]').textContent), null, { timeout: 5000 });
    const w = (await admin('GET', `/v1/admin/widgets/${wid}`)).json;
    assert.equal(w.greeting, 'Hello from the dashboard');
    assert.equal(w.position, 'bottom_left');
    assert.equal(w.text_color, '#fefefe');
    assert.equal(w.name, NAME, 'the rest unchanged');
    await page.reload();
    await page.waitForSelector('[data-testid="widget-form"]');
    await page.waitForFunction(() => document.querySelector('#f-greeting').value !== '', null, { timeout: 5000 });
    assert.equal(await page.inputValue('#f-greeting'), 'Hello from the dashboard');
    assert.equal(await page.inputValue('#f-position'), 'bottom_left');
    // The widget list shows it, enabled.
    await openDash(page, stack, '#/widgets', `[data-testid="widget-row"][data-id="${wid}"]`);
    const row = `[data-testid="widget-row"][data-id="${wid}"]`;
    assert.match(await page.textContent(`${row} [data-testid="widget-status"]`), /enabled/i);
    assert.equal(await page.getAttribute(row, 'data-internal-id'), internal);
    await page.click(`${row} [data-testid="widget-link"]`);
    await page.waitForSelector('[data-testid="toggle-enabled"]');
    await assertClean(page, log, 'edit');
  });

  test('disable: the open chat stops and the embed shows nothing; enable: it chats again', async () => {
    const { page, log } = owner;
    await assertChats(wid, 'before disabling');
    const open = await visit(wid);
    try {
      await waitReady(open.page);
      await open.page.click(part('launcher'));
      await open.page.waitForFunction(() => !document.getElementById('parley-chat-widget').shadowRoot.querySelector('[data-part="send"]').disabled, null, { timeout: 10000 });
      await page.click('[data-testid="toggle-enabled"]');
      await page.waitForFunction(() => /disabled/i.test(document.querySelector('[data-testid="toggle-status"]').textContent), null, { timeout: 5000 });
      assert.equal((await admin('GET', `/v1/admin/widgets/${wid}`)).json.enabled, false);
      assert.equal(await config(wid), 404, 'the config of a disabled widget');
      await open.page.waitForFunction(() => document.getElementById('parley-chat-widget').shadowRoot
        .querySelector('[data-part="offline"]').getAttribute('data-reason') === 'disabled', null, { timeout: 5000 });
      assert.equal(await open.page.isDisabled(part('send')), true, 'the open chat cannot send');
    } finally { await open.ctx.close(); }
    await assertNoWidget(wid);

    await page.click('[data-testid="toggle-enabled"]');
    await page.waitForFunction(() => /enabled/i.test(document.querySelector('[data-testid="toggle-status"]').textContent), null, { timeout: 5000 });
    assert.equal((await admin('GET', `/v1/admin/widgets/${wid}`)).json.enabled, true);
    assert.equal(await config(wid), 200);
    await assertChats(wid, 'after enabling');
    await assertClean(page, log, 'disable/enable');
  });

  test('reset id: nothing without the confirmation; after it the old id is dead and the new one chats', async () => {
    const { page, log } = owner;
    const old = wid;
    await page.click('[data-testid="reset-id"]');
    await page.waitForSelector('[data-testid="confirm-dialog"]', { state: 'visible' });
    await page.click('[data-testid="confirm-cancel"]');
    await page.waitForSelector('[data-testid="confirm-dialog"]', { state: 'detached' });
    assert.equal(await config(old), 200, 'cancelled: the id still works');
    assert.equal((await admin('GET', `/v1/admin/widgets/${old}`)).status, 200);

    await page.click('[data-testid="reset-id"]');
    await page.waitForSelector('[data-testid="confirm-dialog"]', { state: 'visible' });
    await page.click('[data-testid="confirm-ok"]');
    await page.waitForFunction((o) => {
      const t = document.querySelector('[data-testid="widget-public-id"]');
      return t && /^wid_[0-9a-f]{32}$/.test(t.textContent) && t.textContent !== o;
    }, old, { timeout: 5000 });
    wid = await page.textContent('[data-testid="widget-public-id"]');
    assert.ok((await page.textContent('[data-testid="reset-status"]')).includes(wid), 'the new id is announced');
    assert.ok((await page.textContent('[data-testid="embed-snippet"]')).includes(wid), 'the snippet has the new id');
    assert.equal((await admin('GET', `/v1/admin/widgets/${wid}`)).json.id, internal, 'the same widget');
    assert.equal(await config(old), 404, 'GET /api/widget/<old>/config');
    assert.equal(await config(wid), 200);
    await assertNoWidget(old);
    await assertChats(wid, 'after the reset');
    await assertClean(page, log, 'reset id');
  });

  test('issue 26: the new settings are saved; the identity secret is shown once, then never again', async () => {
    const { page, log } = owner;
    await openDash(page, stack, `#/widgets/${wid}`, '[data-testid="widget-form"]');
    assert.equal(await page.isDisabled('#f-identity_required'), true, 'no secret: identity_required cannot be turned on');
    await page.fill('#f-starter_questions', '  What do you sell?\nWhere is my order?\n\n');
    await page.fill('#f-proactive_message', 'Need a hand?');
    await page.fill('#f-proactive_delay_s', '5');
    await page.fill('#f-proactive_path', '/pricing*');
    await page.selectOption('#f-language', 'de');
    await page.check('#f-unread_title');
    await page.uncheck('#f-feedback_enabled');
    await page.check('#f-rating_enabled');
    await page.click('[data-testid="save-widget"]');
    await page.waitForFunction(() => /saved/i.test(document.querySelector('[data-testid="save-status"]').textContent), null, { timeout: 5000 });
    let w = (await admin('GET', `/v1/admin/widgets/${wid}`)).json;
    assert.deepEqual(
      [w.starter_questions, w.proactive_message, w.proactive_delay_s, w.proactive_path, w.language, w.unread_title, w.unread_sound, w.feedback_enabled, w.rating_enabled],
      [['What do you sell?', 'Where is my order?'], 'Need a hand?', 5, '/pricing*', 'de', true, false, false, true]);

    // The secret: made, shown this once with its copy button. The panel
    // says how a site signs a hash, the expiring form too.
    assert.match(await page.textContent('[data-testid="identity-secret-state"]'), /no secret/i);
    const how = await page.textContent('section[aria-labelledby="sec-identity"] .hint');
    assert.match(how, /HMAC-SHA256 of the id/);
    assert.match(how, /signs "exp:", the expiry \(Unix seconds\), ":" and the id, and the page passes that expires too \(data-user-expires on the script tag, or identify's expires\)/);
    await page.click('[data-testid="identity-secret-make"]');
    await page.locator('[data-testid="identity-secret-once"]').waitFor({ state: 'visible', timeout: 5000 });
    let secret = (await page.textContent('[data-testid="identity-secret-once-value"]')).trim();
    assert.match(secret, /^[0-9a-f]{64}$/);
    assert.equal(await page.locator('[data-testid="identity-secret-once-copy"]').count(), 1);
    assert.match(await page.textContent('[data-testid="identity-secret-state"]'), /secret set/i);
    assert.deepEqual(await axeLightDark(page, 'identity secret shown'), [], 'no serious or critical violation');
    w = (await admin('GET', `/v1/admin/widgets/${wid}`)).json;
    assert.equal(w.identity_secret_set, true);
    assert.ok(!(await admin('GET', '/v1/admin/widgets')).text.includes(secret), 'not in the list');
    // Required now possible, and saved.
    assert.equal(await page.isDisabled('#f-identity_required'), false);
    await page.check('#f-identity_required');
    await page.click('[data-testid="save-widget"]');
    await page.waitForFunction(() => /saved/i.test(document.querySelector('[data-testid="save-status"]').textContent), null, { timeout: 5000 });
    assert.equal((await admin('GET', `/v1/admin/widgets/${wid}`)).json.identity_required, true);
    // Never shown again: not after a reload, not in the widgets list page.
    await page.reload();
    await page.waitForSelector('[data-testid="identity-secret-state"]');
    assert.equal(await page.locator('[data-testid="identity-secret-once"]').count(), 0);
    assert.ok(!(await page.content()).includes(secret), 'the reloaded page holds no secret');
    assert.match(await page.textContent('[data-testid="identity-secret-make"]'), /rotate/i);
    // Rotated while the reload of the widget after it fails: the new secret is
    // shown all the same (the old one no longer verifies; it is never given again).
    const widgetUrl = `**/v1/admin/widgets/${wid}`;
    const consoleBefore = log.console.length;
    await page.route(widgetUrl, (route) => (route.request().method() === 'GET'
      ? route.fulfill({ status: 503, contentType: 'application/json', body: '{"error":"Service unavailable"}' })
      : route.continue()));
    await page.click('[data-testid="identity-secret-make"]');
    await page.waitForSelector('[data-testid="confirm-dialog"]', { state: 'visible' });
    await page.click('[data-testid="confirm-ok"]');
    await page.locator('[data-testid="identity-secret-once"]').waitFor({ state: 'visible', timeout: 5000 });
    await page.waitForFunction(() => !document.querySelector('[data-testid="identity-secret-make"]').disabled, null, { timeout: 5000 });
    await page.unroute(widgetUrl);
    const rotated = (await page.textContent('[data-testid="identity-secret-once-value"]')).trim();
    assert.match(rotated, /^[0-9a-f]{64}$/);
    assert.notEqual(rotated, secret);
    assert.equal(await page.isHidden('[data-testid="action-error"]'), true, 'no error: the secret was made');
    assert.match(await page.textContent('[data-testid="identity-secret-state"]'), /secret set/i);
    secret = rotated;
    // (the refused reload's console line)
    log.console.splice(consoleBefore, log.console.length - consoleBefore,
      ...log.console.slice(consoleBefore).filter((m) => !/status of 503/.test(m.text)));
    await openDash(page, stack, '#/widgets', `[data-testid="widget-row"][data-id="${wid}"]`);
    assert.ok(!(await page.content()).includes(secret), 'the list holds no secret');

    // A signed-in visitor (the site signed its id): its contact is Verified
    // in the list, on its page and in its conversation's thread.
    const user = `dash-${crypto.randomBytes(4).toString('hex')}`;
    const v = await Visitor.open(stack.parley, wid);
    try {
      await v.next('session');
      v.send({ type: 'identify', id: user, name: 'Vera Fied', email: 'vera@example.com', hash: crypto.createHmac('sha256', secret).update(user).digest('hex') });
      assert.equal((await v.next('identity')).verified, true);
      await v.turn('hello, signed in');
    } finally { await v.close(); }
    const ct = (await admin('GET', '/v1/admin/contacts?limit=100')).json.contacts.find((c) => c.external_id === user);
    assert.ok(ct && ct.verified, 'the verified contact');
    await openDash(page, stack, '#/contacts', `[data-testid="contact-row"][data-id="${ct.id}"]`);
    assert.equal(await page.locator(`[data-testid="contact-row"][data-id="${ct.id}"] [data-testid="contact-verified"]`).count(), 1);
    await openDash(page, stack, `#/contacts/${ct.id}`, '[data-testid="contact-external-id"]');
    assert.equal(await page.textContent('[data-testid="contact-external-id"]'), user);
    assert.equal(await page.locator('[data-testid="contact-verified"]').count(), 1);
    // The hash signs the id alone: the name the page sent is marked as such.
    assert.equal((await page.textContent('[data-testid="contact-verified"]')).trim(), 'Verified user id');
    assert.match(await page.textContent('[data-testid="contact-name"]'), /^Vera Fied \(given by the page, not verified\)$/);
    assert.match(await page.textContent('[data-testid="contact-email"]'), /^vera@example\.com \(given by the page, not verified\)$/);
    assert.equal(await page.locator('[data-testid="contact-email-verified"]').count(), 0);
    assert.deepEqual(await axeLightDark(page, 'verified contact'), [], 'no serious or critical violation');
    const convId = (await admin('GET', `/v1/admin/contacts/${ct.id}`)).json.conversations[0]._id;
    await openDash(page, stack, `#/conversations/${convId}`, '[data-testid="conv-contact-verified"]');

    // The site signs the email too (email_hash): the contact's email is Verified.
    const signer = `dash-${crypto.randomBytes(4).toString('hex')}`;
    const hmac = (text) => crypto.createHmac('sha256', secret).update(text).digest('hex');
    const v2 = await Visitor.open(stack.parley, wid);
    try {
      await v2.next('session');
      v2.send({ type: 'identify', id: signer, email: 'Sig@Example.com', hash: hmac(signer), email_hash: hmac('email:Sig@Example.com') });
      const told = await v2.next('identity');
      assert.deepEqual([told.verified, told.email_verified], [true, true]);
      await v2.turn('hello, signed email');
    } finally { await v2.close(); }
    const signed = (await admin('GET', '/v1/admin/contacts?limit=100')).json.contacts.find((c) => c.external_id === signer);
    assert.deepEqual([signed.email, signed.email_verified, ct.email_verified], ['sig@example.com', true, false]);
    await openDash(page, stack, `#/contacts/${signed.id}`, '[data-testid="contact-email-verified"]');
    assert.equal((await page.textContent('[data-testid="contact-email"]')).trim(), 'sig@example.com Verified email');
    assert.equal(await page.locator('[data-testid="contact-email"] [data-testid="contact-page-given"]').count(), 0);
    assert.deepEqual(await axeLightDark(page, 'verified email'), [], 'no serious or critical violation');

    // Removed: required goes off with it.
    await openDash(page, stack, `#/widgets/${wid}`, '[data-testid="identity-secret-remove"]');
    await page.click('[data-testid="identity-secret-remove"]');
    await page.waitForSelector('[data-testid="confirm-dialog"]', { state: 'visible' });
    await page.click('[data-testid="confirm-ok"]');
    await page.waitForFunction(() => /no secret/i.test(document.querySelector('[data-testid="identity-secret-state"]').textContent), null, { timeout: 5000 });
    assert.equal(await page.isChecked('#f-identity_required'), false);
    w = (await admin('GET', `/v1/admin/widgets/${wid}`)).json;
    assert.deepEqual([w.identity_secret_set, w.identity_required], [false, false]);
    await assertClean(page, log, 'identity secret');
  });

  test('axe-core in light and dark, and a phone without horizontal scroll: widgets, widget, new widget', async () => {
    const pages = [
      ['widgets', '#/widgets', '[data-testid="widget-row"]'],
      ['widget', `#/widgets/${wid}`, '[data-testid="widget-form"]'],
      ['new-widget', '#/widgets/new', '[data-testid="widget-form"]'],
    ];
    const phone = await openPage(browser, PHONE);
    try {
      await dashLogin(stack, phone.ctx, ownerSession);
      const bad = await axeAndPhone(stack, owner.page, phone.page, pages);
      // A card's Status badge is as wide as its word, not the card.
      await openDash(phone.page, stack, '#/widgets', '[data-testid="widget-row"]');
      await assertBadgesFit(phone.page, '[data-testid="widget-status"]', 'widgets on a phone');
      // A pair of fields stacked on a phone, and a box of subfields and the
      // field under it, as far apart as any two fields one under the other.
      for (const p of [owner.page, phone.page]) {
        await openDash(p, stack, '#/widgets/new', '[data-testid="widget-form"]');
        const gaps = await p.evaluate(() => {
          const box = (s) => document.querySelector(s).getBoundingClientRect();
          const gap = (a, b) => Math.round(box(b).top - box(a).bottom);
          return {
            fields: gap('[data-field="name"]', '[data-field="greeting"]'),
            subfields: gap('fieldset[data-field="attachment_types"]', '[data-field="attachment_max_mb"]'),
            hours: gap('fieldset[data-field="business_hours"]', '[data-field="away_message"]'),
            stacked: box('[data-field="text_color"]').top > box('[data-field="primary_color"]').bottom
              ? gap('[data-field="primary_color"]', '[data-field="text_color"]') : null,
          };
        });
        const w = p.viewportSize().width;
        assert.ok(gaps.fields >= 12, `${w} px: two fields ${gaps.fields} px apart`);
        for (const k of ['subfields', 'hours', 'stacked']) {
          if (gaps[k] !== null) assert.equal(gaps[k], gaps.fields, `${w} px: ${k} ${gaps[k]} px apart, two fields ${gaps.fields}`);
        }
        if (p === phone.page) assert.notEqual(gaps.stacked, null, 'the colours stacked on a phone');
      }
      // A panel's status line, empty, takes no room: the Status panel's
      // row and its details apart by the details' margin alone, the Embed
      // panel ends its padding under Reset public id.
      await openDash(owner.page, stack, `#/widgets/${wid}`, '[data-testid="reset-id"]');
      const room = await owner.page.evaluate(() => {
        const status = document.querySelector('[aria-labelledby="sec-status"]');
        const row = status.querySelector('.panel-row').getBoundingClientRect();
        const dl = status.querySelector('dl');
        const embed = document.querySelector('[aria-labelledby="sec-embed"]');
        const reset = document.querySelector('[data-testid="reset-id"]').parentElement.getBoundingClientRect();
        const ecs = getComputedStyle(embed);
        return {
          status: Math.round(dl.getBoundingClientRect().top - row.bottom), meta: parseFloat(getComputedStyle(dl).marginTop),
          embed: Math.round(embed.getBoundingClientRect().bottom - parseFloat(ecs.borderBottomWidth) - reset.bottom), pad: parseFloat(ecs.paddingBottom),
        };
      });
      assert.equal(room.status, room.meta, `the Status panel's row and details ${room.status} px apart`);
      assert.equal(room.embed, room.pad, `the Embed panel ends ${room.embed} px under Reset public id`);
      // the form with its errors shown
      await openDash(owner.page, stack, '#/widgets/new', '[data-testid="widget-form"]');
      await owner.page.fill('#f-primary_color', 'red');
      await owner.page.click('[data-testid="save-widget"]');
      await owner.page.locator('[data-testid="field-error-primary_color"]').waitFor({ state: 'visible', timeout: 5000 });
      bad.push(...await axeLightDark(owner.page, 'new widget with an error'));
      assert.deepEqual(bad, [], 'no serious or critical violation');
      await assertClean(phone.page, phone.log, 'phone');
    } finally { await phone.ctx.close(); }
  });
});
