// The widget's controls as an owner reported them, in headless Chromium at
// 1280×800 and at 390×844 (a phone), against the real daemons and the mock
// model, on a widget that is away (its business hours exclude every
// instant, so "Leave a message" shows whenever the test runs) with thumbs
// (feedback_enabled):
// - the last answer's thumbs stay in sight and clickable with the "Leave a
//   message" chip shown under the list: the thumb is the topmost element at
//   its centre and at its bottom edge (document.elementFromPoint), inside
//   the list's visible box, and a real mouse click presses it;
// - the header's earlier-conversations (☰) and new-conversation (+)
//   buttons show a word of text beside their icon ("Earlier", "New";
//   "Frühere", "Neues" in German), their aria-labels the whole label
//   (which holds the word), all of the header inside the panel ("Earlier"
//   once the visitor has an earlier conversation: after a turn and New);
// - the launcher becomes the close button while the panel is open: the ×
//   icon, aria-label "Close chat" ("Chat schließen"), aria-expanded true; a
//   click on it closes the panel (the phone's full-screen panel hides it:
//   the header's close button closes there), in both embeds.
// axe-core in light and dark with the chip, the thumbs and the labelled
// buttons; screenshots build/test/screenshots/widget-controls-*.png.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  PHONE, SCREENSHOTS, SUITE_TIMEOUT, adminApi, assertClean, axeLightDark, openPage, part, sendByKeyboard, startSuite, stopSuite,
  waitFor, waitReady, waitReplyEnd,
} from './lib/browser.mjs';

const R = '#parley-chat-widget';
const SIZES = [['desktop', {}, 1280], ['phone', PHONE, 390]];
const inWidget = (page, fn, arg) => page.locator(R).evaluate(fn, arg);

// A first-time visitor has no earlier conversation: "New" alone. A turn,
// then New: the one left is an earlier one, and "Earlier" shows.
async function leaveOne(page) {
  await page.waitForSelector(part('new-conversation'), { state: 'visible', timeout: 5000 });
  assert.equal(await page.isVisible(part('earlier')), false, 'no Earlier for a first-time visitor');
  await sendByKeyboard(page, 'a first question');
  assert.equal((await waitReplyEnd(page)).state, 'done');
  await page.click(part('new-conversation'));
  await page.waitForSelector(part('earlier'), { state: 'visible', timeout: 5000 });
}

// The launcher: its attributes and which of its two icons shows.
const launcherState = (page) => inWidget(page, ({ shadowRoot: root }) => {
  const l = root.querySelector('[data-part="launcher"]');
  const [chat, close] = [...l.querySelectorAll('svg')].map((s) => getComputedStyle(s).display !== 'none');
  const r = l.getBoundingClientRect();
  const top = r.width ? root.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2) : null;
  return {
    label: l.getAttribute('aria-label'), expanded: l.getAttribute('aria-expanded'), shown: !!r.width,
    chat, close, topmost: !!top && l.contains(top),
  };
});

describe('widget controls: thumbs above the chip, labelled header buttons, the launcher closes', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  let browser;
  let away; // English, away, thumbs
  let german; // the same in German
  const t0 = Date.now();

  before(async () => {
    ({ stack, browser } = await startSuite({ mock: { chunks: 2, delayMs: 10 } }));
    const make = async (body) => {
      const r = await adminApi(stack, 'POST', '/v1/admin/widgets', {
        allowed_origins: [], handoff_enabled: true, feedback_enabled: true, collect_email: true,
        business_hours: { timezone: 'Europe/Paris', days: {} }, ...body,
      });
      assert.equal(r.status, 201, r.text);
      return r.json;
    };
    [away, german] = await Promise.all([make({ name: 'Away shop' }), make({ name: 'Laden', language: 'de' })]);
  });
  after(async () => {
    await stopSuite({ stack, browser });
    console.log(`# widget-controls.test.mjs: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  for (const [size, opts, width] of SIZES) {
    test(`${size} (${width} px): the launcher, the header's labels, the thumbs above "Leave a message"`, async () => {
      const { page, log, ctx } = await openPage(browser, opts);
      try {
        await page.goto(stack.host.widgetEmbedUrl(away.widget_id));
        await waitReady(page);

        // Closed: the chat icon, "Open chat".
        assert.deepEqual(await launcherState(page), {
          label: 'Open chat', expanded: 'false', shown: true, chat: true, close: false, topmost: true,
        });
        await page.click(part('launcher'));
        await page.waitForSelector(part('panel'), { state: 'visible' });
        const open = await launcherState(page);
        assert.equal(open.label, 'Close chat');
        assert.equal(open.expanded, 'true');
        if (size === 'desktop') {
          // beside the panel: the × icon, on top, and a click closes
          assert.deepEqual(open, { label: 'Close chat', expanded: 'true', shown: true, chat: false, close: true, topmost: true });
          await page.click(part('launcher'));
          await page.waitForSelector(part('panel'), { state: 'hidden' });
          assert.deepEqual(await launcherState(page), {
            label: 'Open chat', expanded: 'false', shown: true, chat: true, close: false, topmost: true,
          });
          await page.click(part('launcher'));
          await page.waitForSelector(part('panel'), { state: 'visible' });
        } else {
          // the panel fills the phone: no launcher over it; the header's close closes
          assert.equal(open.shown, false, 'the launcher hides behind the full-screen panel');
          await page.tap(part('close'));
          await page.waitForSelector(part('panel'), { state: 'hidden' });
          assert.deepEqual(await launcherState(page), {
            label: 'Open chat', expanded: 'false', shown: true, chat: true, close: false, topmost: true,
          });
          await page.tap(part('launcher'));
          await page.waitForSelector(part('panel'), { state: 'visible' });
        }

        // The header: ☰ "Earlier" and + "New", readable, all inside the panel.
        await leaveOne(page);
        const head = await inWidget(page, ({ shadowRoot: root }) => {
          const box = (e) => e.getBoundingClientRect();
          const p = box(root.querySelector('[data-part="panel"]'));
          const btn = (n) => {
            const b = root.querySelector(`[data-part="${n}"]`);
            const r = box(b);
            const top = root.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
            return {
              text: b.innerText.trim(), label: b.getAttribute('aria-label'), left: r.left, right: r.right,
              inPanel: r.left >= p.left - 0.5 && r.right <= p.right + 0.5, fits: b.scrollWidth <= b.clientWidth,
              topmost: !!top && b.contains(top),
            };
          };
          const t = root.querySelector('[data-part="title"]');
          return { earlier: btn('earlier'), neu: btn('new-conversation'), close: btn('close'), title: [t.textContent, t.scrollWidth <= t.clientWidth] };
        });
        assert.equal(head.earlier.text, 'Earlier');
        assert.equal(head.earlier.label, 'Earlier conversations');
        assert.equal(head.neu.text, 'New');
        assert.equal(head.neu.label, 'New conversation');
        for (const k of ['earlier', 'neu', 'close']) {
          assert.ok(head[k].inPanel && head[k].fits && head[k].topmost, `${size}: ${k} inside the panel, its text whole: ${JSON.stringify(head[k])}`);
        }
        assert.ok(head.earlier.right <= head.neu.left && head.neu.right <= head.close.left, `in a row, apart: ${JSON.stringify(head)}`);
        assert.deepEqual(head.title, ['Away shop', true], `${size}: the title shown whole`);

        // Enough turns to scroll the list; then the chip and the last thumbs.
        for (let i = 1; i <= 7; i++) {
          await sendByKeyboard(page, `question ${i} about the opening hours of the shop`);
          assert.equal((await waitReplyEnd(page)).state, 'done');
        }
        await waitFor(() => inWidget(page, ({ shadowRoot: root }) => {
          const chip = root.querySelector('[data-part="handoff"]');
          const last = [...root.querySelectorAll('[data-part="message"][data-role="assistant"]')].pop();
          return !chip.hidden && chip.textContent === 'Leave a message' && !!last.querySelector('[data-part="thumbs"]');
        }), 10000, 'the chip and the last answer\'s thumbs');
        await page.waitForTimeout(150); // (a frame or two: nothing moves any more)
        const thumbs = await inWidget(page, ({ shadowRoot: root }) => {
          const list = root.querySelector('[data-part="messages"]');
          const l = list.getBoundingClientRect();
          const chip = root.querySelector('[data-part="handoff"]').getBoundingClientRect();
          const last = [...root.querySelectorAll('[data-part="message"][data-role="assistant"]')].pop();
          return {
            scrolls: list.scrollHeight > list.clientHeight + 40,
            chipBelow: chip.top >= l.bottom - 0.5,
            buttons: [...last.querySelectorAll('[data-part="thumbs"] button')].map((b) => {
              const r = b.getBoundingClientRect();
              const x = r.left + r.width / 2;
              const at = (y) => { const e = root.elementFromPoint(x, y); return !!e && b.contains(e); };
              return { value: b.value, inList: r.top >= l.top && r.bottom <= l.bottom + 0.5, centre: at(r.top + r.height / 2), bottom: at(r.bottom - 2) };
            }),
          };
        });
        assert.equal(thumbs.scrolls, true, 'the list scrolls (the case the owner met)');
        assert.equal(thumbs.chipBelow, true, 'the chip under the list, not over it');
        assert.deepEqual(thumbs.buttons, [
          { value: 'up', inList: true, centre: true, bottom: true },
          { value: 'down', inList: true, centre: true, bottom: true },
        ], `${size}: the last answer's thumbs in sight, on top of everything`);
        fs.mkdirSync(SCREENSHOTS, { recursive: true });
        await page.screenshot({ path: path.join(SCREENSHOTS, `widget-controls-${size}.png`) });

        // A real click (at the point the visitor sees) presses it.
        const up = page.locator(`${R} [data-part="message"][data-role="assistant"]`).last().locator('[data-part="thumbs"] button[value="up"]');
        const ub = await up.boundingBox();
        await page.mouse.click(ub.x + ub.width / 2, ub.y + ub.height / 2);
        assert.equal(await up.getAttribute('aria-pressed'), 'true');
        // The rating form or the chip's away form would shorten the list again: the thumbs stay.
        await page.click(part('handoff'));
        await page.waitForSelector(`${R} [data-part="away"]`);
        await page.waitForTimeout(150);
        const still = await inWidget(page, ({ shadowRoot: root }) => {
          const l = root.querySelector('[data-part="messages"]').getBoundingClientRect();
          const b = [...root.querySelectorAll('[data-part="message"][data-role="assistant"]')].pop().querySelector('[data-part="thumbs"] button').getBoundingClientRect();
          return b.top >= l.top && b.bottom <= l.bottom + 0.5;
        });
        assert.equal(still, true, `${size}: the thumbs in sight above the away form`);
        await page.screenshot({ path: path.join(SCREENSHOTS, `widget-controls-${size}-away.png`) });

        assert.deepEqual(await axeLightDark(page, `${size}: the away form under the thumbs`), []);
        await page.keyboard.press('Escape');
        await page.waitForSelector(part('panel'), { state: 'hidden' });
        await assertClean(page, log, size);
      } finally {
        await ctx.close();
      }
    });
  }

  test('the axe scan with the chip, the thumbs and the labelled buttons (light and dark)', async () => {
    const { page, log, ctx } = await openPage(browser, PHONE);
    try {
      await page.goto(stack.host.widgetEmbedUrl(away.widget_id));
      await waitReady(page);
      await page.tap(part('launcher'));
      await sendByKeyboard(page, 'hello');
      await waitReplyEnd(page);
      await page.waitForSelector(`${R} [data-part="thumbs"]`);
      await page.waitForSelector(part('handoff'), { state: 'visible' });
      assert.deepEqual(await axeLightDark(page, 'the chip, the thumbs, the header\'s labels'), []);
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.screenshot({ path: path.join(SCREENSHOTS, 'widget-controls-phone-dark.png') });
      await page.emulateMedia({ colorScheme: 'light' });
      await assertClean(page, log, 'axe');
    } finally {
      await ctx.close();
    }
  });

  test('German: the header\'s words and the launcher\'s label come from the language', async () => {
    for (const [size, opts] of SIZES) {
      const { page, log, ctx } = await openPage(browser, opts);
      try {
        await page.goto(stack.host.widgetEmbedUrl(german.widget_id));
        await waitReady(page);
        assert.equal(await page.getAttribute(part('launcher'), 'aria-label'), 'Chat öffnen');
        await page.click(part('launcher'));
        await leaveOne(page);
        const got = await inWidget(page, ({ shadowRoot: root }) => {
          const b = (n) => root.querySelector(`[data-part="${n}"]`);
          const p = b('panel').getBoundingClientRect();
          return {
            launcher: [b('launcher').getAttribute('aria-label'), b('launcher').getAttribute('aria-expanded')],
            earlier: [b('earlier').innerText.trim(), b('earlier').getAttribute('aria-label')],
            neu: [b('new-conversation').innerText.trim(), b('new-conversation').getAttribute('aria-label')],
            inPanel: ['earlier', 'new-conversation', 'close'].every((n) => {
              const r = b(n).getBoundingClientRect();
              return r.left >= p.left - 0.5 && r.right <= p.right + 0.5 && b(n).scrollWidth <= b(n).clientWidth;
            }),
          };
        });
        assert.deepEqual(got, {
          launcher: ['Chat schließen', 'true'],
          earlier: ['Frühere', 'Frühere Gespräche'],
          neu: ['Neues', 'Neues Gespräch'],
          inPanel: true,
        }, size);
        await page.screenshot({ path: path.join(SCREENSHOTS, `widget-controls-de-${size}.png`) });
        await assertClean(page, log, `German ${size}`);
      } finally {
        await ctx.close();
      }
    }
  });

  test('data-api-url embed: the launcher closes the panel too', async () => {
    const { page, log, ctx } = await openPage(browser);
    try {
      await page.goto(`${stack.host.origin}/embed.html`);
      await waitReady(page);
      await page.click(part('launcher'));
      await page.waitForSelector(part('panel'), { state: 'visible' });
      assert.deepEqual(await launcherState(page), { label: 'Close chat', expanded: 'true', shown: true, chat: false, close: true, topmost: true });
      await page.click(part('launcher'));
      await page.waitForSelector(part('panel'), { state: 'hidden' });
      assert.deepEqual(await launcherState(page), { label: 'Open chat', expanded: 'false', shown: true, chat: true, close: false, topmost: true });
      assert.equal(await page.evaluate(() => window.ParleyChat.isOpen), false);
      await assertClean(page, log, 'data-api-url');
    } finally {
      await ctx.close();
    }
  });
});
