// Away mode in headless Chromium (issue 23, item 5): a widget whose
// business hours exclude every instant (a zone and no hours: always
// closed, so the test holds whenever it runs). The visitor's "Talk to a
// person" reads "Leave a message"; pressing it shows the away message (the
// owner's text, shown as text) and asks for an email (checked in the page,
// then stored as the contact); the conversation then waits for a person
// (waiting_human) and the visitor sees a confirmation. The owner, in the
// dashboard of the same browser, sees the conversation waiting with the
// visitor's email, takes over and answers; the visitor sees the answer.
//
// The team gets an email: the owner chose it on the dashboard's Email page,
// and the test SMTP server (aiosmtpd, STARTTLS and AUTH) receives it, with
// the conversation's dashboard link.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { smtpdOf } from '../integration/lib/smtp.mjs';

import {
  DASHBOARD_PASSWORD, SUITE_TIMEOUT, adminApi, assertClean, axeSerious, dashLogin, openDash, openPage, part, sendByKeyboard,
  startSuite, stopSuite, waitFor, waitReady, waitReplyEnd,
} from './lib/browser.mjs';

const R = '#parley-chat-widget';
const AWAY = 'We are closed <b>right now</b> & back at 9.';
const EMAIL = 'visitor@example.com';
const PUBLIC = 'https://chat.example.com';
const inWidget = (page, fn, arg) => page.locator(R).evaluate(fn, arg);
const waitWidget = (page, fn, what = String(fn), arg) => waitFor(() => inWidget(page, fn, arg), 10000, what);

// The page's widget sockets through the test: the first socket's handoff
// frames are held (in held, sent on by route.send), the rest pass.
async function holdHandoff(page) {
  const sock = { held: [], route: null, sockets: 0 };
  await page.routeWebSocket(/\/api\/widget\/.*\/ws/, (ws) => {
    const first = ++sock.sockets === 1;
    if (first) sock.route = ws;
    const server = ws.connectToServer();
    ws.onMessage((m) => server.send(m));
    server.onMessage((m) => (first && JSON.parse(m).type === 'handoff' ? sock.held.push(m) : ws.send(m)));
  });
  return sock;
}

// On the widget's page at url (away): a message, then "Leave a message"
// with email, until the server's handoff answer is held (sock: holdHandoff's).
async function leaveMessage(page, url, sock, said, email) {
  await page.goto(url);
  await waitReady(page);
  await page.click(part('launcher'));
  await sendByKeyboard(page, said);
  await waitReplyEnd(page);
  await page.click(part('handoff'));
  await page.waitForSelector(`${R} [data-part="away"]`);
  await page.fill(`${R} [data-part="away"] input[name="email"]`, email);
  await page.press(`${R} [data-part="away"] input[name="email"]`, 'Enter');
  await waitFor(() => sock.held.length === 1, 10000, 'the server\'s handoff (held)');
}

describe('away mode in Chromium', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  let browser;
  let owner; // the dashboard
  let visitor; // the host page with the widget
  let w;
  let smtpd;
  const t0 = Date.now();

  before(async () => {
    smtpd = await smtpdOf('away-mail');
    ({ stack, browser } = await startSuite({
      mock: { chunks: 2, delayMs: 10 },
      env: {
        ...smtpd.env(), DASHBOARD_PASSWORD, PARLEY_PUBLIC_URL: PUBLIC,
      },
    }));
    const r = await adminApi(stack, 'POST', '/v1/admin/widgets', {
      name: 'Away shop', handoff_enabled: true, away_message: AWAY, reply_time: 'We usually reply in minutes',
      collect_email: true, business_hours: { timezone: 'Europe/Paris', days: {} },
    });
    assert.equal(r.status, 201, r.text);
    w = r.json;
    owner = await openPage(browser);
    await dashLogin(stack, owner.ctx);
    visitor = await openPage(browser);
  });
  after(async () => {
    if (owner) await owner.ctx.close();
    if (visitor) await visitor.ctx.close();
    await stopSuite({ stack, browser });
    if (smtpd) await smtpd.close();
    console.log(`# away.test.mjs: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  test('outside hours: "Leave a message" asks for an email, the conversation waits, the owner answers', async () => {
    const { page } = visitor;
    // The owner wants an email when a visitor asks for a person.
    await openDash(owner.page, stack, '#/email', '[data-testid="email-form"]');
    await owner.page.check('[data-testid="email-handoff_requested"]');
    await owner.page.click('[data-testid="email-save"]');
    await owner.page.waitForFunction(() => document.querySelector('[data-testid="email-status"]').textContent === 'Saved.');
    // The dashboard is open all along: outside hours is away even so.
    await openDash(owner.page, stack, '#/conversations', 'h1');
    await page.goto(stack.host.widgetEmbedUrl(w.widget_id));
    await waitReady(page);
    await page.click(part('launcher'));
    await sendByKeyboard(page, 'is anyone there?');
    assert.equal((await waitReplyEnd(page)).text, 'You said: is anyone there?');
    const btn = await inWidget(page, ({ shadowRoot: root }) => {
      const b = root.querySelector('[data-part="handoff"]');
      return { hidden: b.hidden, text: b.textContent };
    });
    assert.deepEqual(btn, { hidden: false, text: 'Leave a message' });
    // Away: no reply-time line (the part is there, the line hidden).
    await waitWidget(page, ({ shadowRoot: root }) => {
      const l = root.querySelector('[data-part="reply-time"]');
      return l && l.hidden && l.textContent === 'We usually reply in minutes';
    }, 'the reply-time line there and hidden');

    // Pressed: the away message as text (no markup made of it) and an email field.
    await page.click(part('handoff'));
    await page.waitForSelector(`${R} [data-part="away"]`);
    const form = await inWidget(page, ({ shadowRoot: root }) => {
      const f = root.querySelector('[data-part="away"]');
      return { text: f.querySelector('p').textContent, b: f.querySelectorAll('b').length, inputs: [...f.querySelectorAll('input')].map((i) => i.name),
        button: root.querySelector('[data-part="handoff"]').hidden, focus: root.activeElement && root.activeElement.name };
    });
    assert.deepEqual(form, { text: AWAY, b: 0, inputs: ['email'], button: true, focus: 'email' });
    const axe = await axeSerious(page, 'widget: leave a message');
    assert.deepEqual(axe.bad, [], `${axe.what}: ${JSON.stringify(axe.bad)}`);
    // An email is required and checked.
    await page.click(`${R} [data-part="away"] [data-part="save"]`);
    await waitWidget(page, ({ shadowRoot: root }) => root.querySelector('[data-part="away"] [data-part="contact-error"]').textContent === 'Please check this field: Email.');
    await page.fill(`${R} [data-part="away"] input[name="email"]`, 'not an email');
    await page.press(`${R} [data-part="away"] input[name="email"]`, 'Enter');
    assert.equal(await inWidget(page, ({ shadowRoot: root }) => root.querySelector('[data-part="away"] input').getAttribute('aria-invalid')), 'true');
    await page.fill(`${R} [data-part="away"] input[name="email"]`, EMAIL);
    await page.press(`${R} [data-part="away"] input[name="email"]`, 'Enter');
    await waitWidget(page, ({ shadowRoot: root }) => !root.querySelector('[data-part="away"]')
      && root.querySelector('[data-part="handoff-status"]').textContent === 'Thanks! We got your message and will reply by email.', 'the confirmation');
    assert.equal(await inWidget(page, ({ shadowRoot: root }) => root.querySelector('[data-part="handoff"]').hidden), true, 'left once');

    // Stored: the contact with the email, the conversation waiting for a person.
    const list = (await adminApi(stack, 'GET', '/v1/admin/conversations')).json.conversations;
    const conv = list.find((c) => c.widgetId === w.id);
    assert.ok(conv, JSON.stringify(list));
    assert.equal(conv.handoff, 'waiting_human');
    assert.ok(conv.contactId, 'linked to the contact');
    const contact = (await adminApi(stack, 'GET', `/v1/admin/contacts/${conv.contactId}`)).json;
    assert.equal(contact.email, EMAIL);
    // The team's email: to the owner, over STARTTLS, the conversation's link.
    const ownerEmail = (await adminApi(stack, 'GET', '/v1/admin/users')).json.users.find((u) => u.role === 'owner').email;
    await waitFor(() => smtpd.mails.some((m) => m.subject.startsWith('A visitor asks for a person')), 15000, 'the email');
    const mail = smtpd.mails.find((m) => m.subject.startsWith('A visitor asks for a person'));
    assert.deepEqual(mail.rcpt_tos, [ownerEmail]);
    assert.equal(mail.tls, true, 'over STARTTLS');
    const link = `${PUBLIC}/dashboard/?organization_id=default#/conversations/${conv._id}`;
    assert.ok(mail.parts['text/plain'].includes(link), mail.parts['text/plain']);
    assert.ok(mail.parts['text/html'].includes(`href="${link}"`), mail.parts['text/html']);

    // The owner: the waiting conversation, live in the list; take over and answer.
    const o = owner.page;
    const row = o.locator(`[data-testid="conv-row"][data-id="${conv._id}"]`);
    await row.locator('[data-testid="conv-handoff-badge"]').waitFor({ timeout: 5000 });
    assert.equal(await row.getAttribute('data-handoff'), 'waiting_human');
    await row.locator('[data-testid="conv-link"]').click();
    await o.waitForSelector('[data-testid="take-over"]');
    await o.click('[data-testid="take-over"]');
    await o.waitForSelector('[data-testid="reply-form"]:not([hidden])');
    await o.fill('[data-testid="reply-input"]', 'Hi! We are back early.');
    await o.keyboard.press('Control+Enter');
    await o.waitForFunction(() => document.querySelector('[data-testid="reply-status"]').textContent === 'Sent.');
    await waitWidget(page, ({ shadowRoot: root }) => [...root.querySelectorAll('[data-part="message"][data-role="agent"] [data-part="content"]')]
      .some((c) => c.textContent === 'Hi! We are back early.'), 'the answer in the widget');
    await waitWidget(page, ({ shadowRoot: root }) => root.querySelector('[data-part="handoff-status"]').textContent === 'Support joined');

    const a = await axeSerious(page, 'widget after leaving a message');
    assert.deepEqual(a.bad, [], `${a.what}: ${JSON.stringify(a.bad)}`);
    await assertClean(page, visitor.log, 'widget');
    await assertClean(o, owner.log, 'dashboard');
  });

  // What the visitor is told answers what is stored: the server's handoff
  // state, held here, is what shows the confirmation (the widget once showed
  // it as it sent request_human, and a reader could find the conversation
  // still "ai" after the visitor saw "Thanks!").
  test('the confirmation and the waiting line come with the server\'s answer, not before, and stay over a reload', async () => {
    const { ctx, page } = await openPage(browser);
    try {
      const sock = await holdHandoff(page);
      const { held } = sock;
      const status = () => inWidget(page, ({ shadowRoot: root }) => {
        const s = root.querySelector('[data-part="handoff-status"]');
        return { status: s.hidden ? '' : s.textContent, form: !!root.querySelector('[data-part="away"]'),
          button: root.querySelector('[data-part="handoff"]').hidden };
      });
      await leaveMessage(page, stack.host.widgetEmbedUrl(w.widget_id), sock, 'hello again', 'second@example.com');
      // Stored by now; the page, not yet told, still shows the form.
      await page.waitForTimeout(300);
      assert.deepEqual(await status(), { status: '', form: true, button: true });
      sock.route.send(held[0]);
      await waitWidget(page, ({ shadowRoot: root }) => !root.querySelector('[data-part="away"]')
        && root.querySelector('[data-part="handoff-status"]').textContent === 'Thanks! We got your message and will reply by email.', 'the confirmation');
      assert.deepEqual(await status(), { status: 'Thanks! We got your message and will reply by email.', form: false, button: true });
      // Kept over a reload: still the message left, not the waiting line.
      await page.reload();
      await waitReady(page);
      await waitWidget(page, ({ shadowRoot: root }) => root.querySelector('[data-part="handoff-status"]').textContent
        === 'Thanks! We got your message and will reply by email.', 'the confirmation after a reload');
    } finally {
      await ctx.close();
    }
  });

  // ParleyChat.reset() while the answer is on its way (held here): the old
  // socket's answer never comes, and the new session is not left with a busy
  // form and no "Leave a message" button (the review's repro).
  test('a reset while asking: the new session has its button, no busy form', async () => {
    const { ctx, page } = await openPage(browser);
    try {
      const sock = await holdHandoff(page);
      await leaveMessage(page, stack.host.widgetEmbedUrl(w.widget_id), sock, 'before the reset', 'third@example.com');
      await page.evaluate(() => window.ParleyChat.reset());
      await waitFor(() => sock.sockets === 2, 10000, 'the new session\'s socket');
      await sendByKeyboard(page, 'a new visitor');
      assert.equal((await waitReplyEnd(page)).text, 'You said: a new visitor');
      await waitWidget(page, ({ shadowRoot: root }) => !root.querySelector('[data-part="handoff"]').hidden, 'the button back');
      assert.deepEqual(await inWidget(page, ({ shadowRoot: root }) => ({
        form: !!root.querySelector('[data-part="away"]'), status: root.querySelector('[data-part="handoff-status"]').hidden,
      })), { form: false, status: true });
    } finally {
      await ctx.close();
    }
  });

  test('the dashboard\'s widget form: the time zone, a line a day, the away message', async () => {
    const o = owner.page;
    await openDash(o, stack, `#/widgets/${w.widget_id}`, '[data-testid="widget-form"]');
    assert.equal(await o.inputValue('[data-testid="hours-timezone"]'), 'Europe/Paris');
    assert.equal(await o.inputValue('[data-testid="hours-mon"]'), '');
    assert.equal(await o.inputValue('#f-away_message'), AWAY);
    // Checked in the page first: a day's line it cannot read.
    await o.fill('[data-testid="hours-mon"]', '9 to 5');
    await o.click('[data-testid="save-widget"]');
    const err = o.locator('[data-testid="field-error-business_hours"]');
    await err.waitFor({ state: 'visible', timeout: 5000 });
    assert.match(await err.textContent(), /^Monday: "9 to 5" is not like 09:00-17:30/);
    // Then by the server: a zone its tzdata does not have.
    await o.fill('[data-testid="hours-mon"]', '13:00-17:30, 9:00-12:00');
    await o.fill('[data-testid="hours-sun"]', '22:00-24:00');
    await o.fill('[data-testid="hours-timezone"]', 'Mars/Olympus_Mons');
    await o.click('[data-testid="save-widget"]');
    await o.waitForFunction(() => /IANA/.test(document.querySelector('[data-testid="field-error-business_hours"]').textContent), null, { timeout: 5000 });
    assert.equal(await o.getAttribute('[data-testid="hours-timezone"]', 'aria-invalid'), 'true');
    await o.fill('[data-testid="hours-timezone"]', 'America/New_York');
    await o.click('[data-testid="save-widget"]');
    await o.waitForFunction(() => /saved/i.test(document.querySelector('[data-testid="save-status"]').textContent), null, { timeout: 5000 });
    let got = (await adminApi(stack, 'GET', `/v1/admin/widgets/${w.widget_id}`)).json;
    assert.deepEqual(got.business_hours, {
      timezone: 'America/New_York',
      days: { mon: [['09:00', '12:00'], ['13:00', '17:30']], tue: [], wed: [], thu: [], fri: [], sat: [], sun: [['22:00', '24:00']] },
    });
    assert.equal(await o.inputValue('[data-testid="hours-mon"]'), '09:00-12:00, 13:00-17:30', 'shown as stored');
    const a = await axeSerious(o, 'widget form with business hours');
    assert.deepEqual(a.bad, [], `${a.what}: ${JSON.stringify(a.bad)}`);
    // Emptied: always open, the default message.
    await o.fill('[data-testid="hours-timezone"]', '');
    for (const d of ['mon', 'sun']) await o.fill(`[data-testid="hours-${d}"]`, '');
    await o.fill('#f-away_message', '');
    await o.click('[data-testid="save-widget"]');
    await o.waitForFunction(() => /saved/i.test(document.querySelector('[data-testid="save-status"]').textContent), null, { timeout: 5000 });
    got = (await adminApi(stack, 'GET', `/v1/admin/widgets/${w.widget_id}`)).json;
    assert.equal(got.business_hours, null);
    assert.equal(got.away_message, null);
    // The one 400 the browser logs is the zone the server refused.
    await assertClean(o, owner.log, 'dashboard', { allowConsole: /status of 400/ });
  });
});
