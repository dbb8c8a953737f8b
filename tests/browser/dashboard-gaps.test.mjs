// The knowledge gaps page in Chromium (#/knowledge/gaps), from real
// traffic over the widget's WebSocket: two visitors ask how to return a
// jacket in other words and give the answer a thumbs down (the second
// then asks for a person), one says "I'm not sure which size to order"
// (the mock model repeats it: an answer saying it is not sure), one asks
// for a person about an invoice. The Knowledge page names the most asked
// and leads to the gaps page, where the two jacket questions are one card
// (asked 2 times; 1 handed to a person, 2 thumbs down) and the others
// cards of their own, the examples linking to their conversations. The
// jacket's answer written as a Q&A pair (an empty answer told by its
// field): the source exists, the card and the group leave; the invoice's
// as a canned reply (the shortcut made from the question; one already in
// use told by its field, from the server's 409): the reply exists; the
// last dismissed after the confirmation (Cancel keeps it): the empty
// state. Screenshots at 1280 and 390, light and dark; axe-core clean on
// each; no sideways scroll on the phone; no page error.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  DASHBOARD_PASSWORD, PHONE, SUITE_TIMEOUT, adminApi, assertClean, axeLightDark, dashLogin, openDash, openPage, overflow,
  startSuite, stopSuite, waitFor,
  shotsLightDark,
} from './lib/browser.mjs';
import { Visitor } from '../integration/lib/wsclient.mjs';

const JACKET_A = 'How do I return a jacket?';
const JACKET_B = 'how can I return my jacket?';
const SIZE = 'I\'m not sure which size to order';
const INVOICE = 'Can I speak to a person about my invoice?';
const card = (id) => `[data-testid="gap-card"][data-id="${id}"]`;

const shots = (page, name) => shotsLightDark(page, name);

describe('dashboard: the knowledge gaps page', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  let browser;
  let desk;
  let phone;
  let w;
  const convs = {}; // question -> its conversation's id
  let groups; // the API's groups once every gap is in

  const gapsApi = async (q = '') => {
    const r = await adminApi(stack, 'GET', `/v1/admin/knowledge-gaps${q}`);
    assert.equal(r.status, 200, r.text);
    return r.json;
  };

  // A visitor of w asks text: {v, id (the answer's), conv}; then does what then says.
  async function visit(text, then = async () => {}) {
    const seen = new Set((await adminApi(stack, 'GET', '/v1/admin/conversations')).json.conversations.map((c) => c._id));
    const v = await Visitor.open(stack.parley, w.widget_id);
    try {
      await v.next('session');
      const { message } = await v.turn(text);
      await then(v, message.id);
    } finally {
      await v.close();
    }
    const c = (await adminApi(stack, 'GET', '/v1/admin/conversations')).json.conversations.find((x) => !seen.has(x._id));
    assert.ok(c, 'the visit made a conversation');
    convs[text] = c._id;
  }

  async function thumbDown(v, id) {
    v.send({ type: 'feedback', message_id: id, value: 'down' });
    assert.deepEqual(await v.next('feedback_saved'), { type: 'feedback_saved', message_id: id, value: 'down' });
  }

  async function askPerson(v) {
    v.send({ type: 'request_human' });
    assert.equal((await v.next('handoff')).state, 'waiting_human');
  }

  // The cards as shown: {id, question, count, reasons {reason: words}, examples [[text, href]]}.
  function cards(page) {
    return page.$$eval('[data-testid="gap-card"]', (cs) => cs.map((c) => ({
      id: c.dataset.id,
      question: c.querySelector('[data-testid="gap-question"]').textContent,
      count: c.querySelector('[data-testid="gap-count"]').textContent,
      reasons: Object.fromEntries([...c.querySelectorAll('[data-testid="gap-reason"]')].map((b) => [b.dataset.reason, b.textContent])),
      examples: [...c.querySelectorAll('[data-testid="gap-example-link"]')].map((a) => [a.textContent, a.getAttribute('href')]),
    })));
  }

  const groupOf = (q) => groups.find((g) => g.examples.some((e) => e.question === q));

  before(async () => {
    ({ stack, browser } = await startSuite({ mock: { chunks: 2 }, env: { DASHBOARD_PASSWORD } }));
    const r = await adminApi(stack, 'POST', '/v1/admin/widgets', { name: 'Gaps shop', handoff_enabled: true });
    assert.equal(r.status, 201, r.text);
    w = r.json;
    await visit(JACKET_A, thumbDown);
    await visit(JACKET_B, async (v, id) => { await thumbDown(v, id); await askPerson(v); });
    await visit(SIZE);
    await visit(INVOICE, askPerson);
    await waitFor(async () => (await gapsApi()).total === 4, 10000, 'the four gaps listed');
    groups = (await gapsApi()).groups;
    desk = await openPage(browser);
    phone = await openPage(browser, PHONE);
    const session = await dashLogin(stack, desk.ctx);
    await dashLogin(stack, phone.ctx, session);
  });
  after(async () => {
    for (const x of [desk, phone]) if (x) await x.ctx.close();
    await stopSuite({ stack, browser });
  });

  test('similar questions grouped in one card with their reasons; the others apart; from the Knowledge page', async () => {
    const { page } = desk;
    // The API: three groups, the jacket's first (asked twice).
    assert.equal(groups.length, 3, JSON.stringify(groups));
    assert.deepEqual(groups.map((g) => g.count), [2, 1, 1]);
    const jacket = groups[0];
    assert.deepEqual(jacket.examples.map((e) => e.question).sort(), [JACKET_A, JACKET_B].sort());
    assert.equal(jacket.question, JACKET_B, 'the newest question stands for the group');
    assert.equal(jacket.gap_ids.length, 2);

    // The Knowledge page names the most asked and leads to the gaps page.
    await openDash(page, stack, '#/knowledge', '[data-testid="kb-gap"]');
    assert.match(await page.textContent('[data-testid="kb-gaps-note"]'), /^4 questions in the last 30 days went unanswered/);
    const named = await page.$$eval('[data-testid="kb-gap"] a', (as) => as.map((a) => [a.textContent, a.getAttribute('href')]));
    assert.equal(named.length, 3);
    assert.deepEqual(named[0], [JACKET_B, `#/conversations/${convs[JACKET_B]}`]);
    await page.click('[data-testid="kb-gaps-link"]');
    await page.waitForSelector('[data-testid="gap-card"]');
    assert.match(page.url(), /#\/knowledge\/gaps$/);
    assert.equal(await page.getAttribute('[data-testid="nav-knowledge"]', 'aria-current'), 'page');
    assert.equal(await page.textContent('h1'), 'Knowledge gaps');
    assert.match(await page.title(), /^(\(\d+\) )?Knowledge gaps · Parley dashboard$/); // "(2)": two visitors wait for a person

    const shown = await cards(page);
    assert.deepEqual(shown.map((c) => c.id), groups.map((g) => g.id), 'the API\'s order');
    assert.deepEqual(shown[0], {
      id: jacket.id, question: JACKET_B, count: 'asked 2 times',
      reasons: { handoff: '1 handed to a person', thumbs_down: '2 thumbs down' },
      examples: [[JACKET_B, `#/conversations/${convs[JACKET_B]}`], [JACKET_A, `#/conversations/${convs[JACKET_A]}`]],
    });
    const size = shown.find((c) => c.question === SIZE);
    assert.deepEqual([size.count, size.reasons], ['asked 1 time', { dont_know: '1 \u201cI don\'t know\u201d' }]);
    const invoice = shown.find((c) => c.question === INVOICE);
    assert.deepEqual([invoice.count, invoice.reasons, invoice.examples],
      ['asked 1 time', { handoff: '1 handed to a person' }, [[INVOICE, `#/conversations/${convs[INVOICE]}`]]]);
    assert.equal(await page.textContent('[data-testid="gaps-summary"]'), '4 questions in 3 groups, asked in the last 30 days.');
    assert.equal(await page.isVisible('[data-testid="gaps-truncated"]'), false);
    assert.equal(await page.textContent(`${card(jacket.id)} [data-testid="gap-last"]`), 'just now');

    // The examples open; one leads to its thread.
    await page.click(`${card(jacket.id)} [data-testid="gap-examples"] summary`);
    await page.waitForSelector(`${card(jacket.id)} [data-testid="gap-example-link"]`, { state: 'visible' });
    await shots(page, 'dashboard-gaps-1280');
    assert.deepEqual(await axeLightDark(page, 'the knowledge gaps'), []);
    await page.click(`${card(jacket.id)} [data-testid="gap-example-link"] >> nth=1`);
    await page.waitForSelector('[data-testid="thread-message"]');
    assert.match(page.url(), new RegExp(`#/conversations/${convs[JACKET_A]}$`));

    // On a phone: the same cards, no sideways scroll.
    await openDash(phone.page, stack, '#/knowledge/gaps', '[data-testid="gap-card"]');
    await phone.page.click(`${card(jacket.id)} [data-testid="gap-examples"] summary`);
    await phone.page.click(`${card(jacket.id)} [data-testid="gap-write"]`);
    await phone.page.waitForSelector('[data-testid="gap-form"]');
    const o = await overflow(phone.page);
    assert.ok(o.scrollWidth <= o.innerWidth, JSON.stringify(o));
    await shots(phone.page, 'dashboard-gaps-390');
    assert.deepEqual(await axeLightDark(phone.page, 'the knowledge gaps on a phone'), []);
    await assertClean(page, desk.log, 'gaps list');
    await assertClean(phone.page, phone.log, 'gaps on a phone');
  });

  test('the answer written as a Q&A pair: the source made, the group resolved, the card gone', async () => {
    const { page } = desk;
    const jacket = groupOf(JACKET_A);
    await openDash(page, stack, '#/knowledge/gaps', card(jacket.id));
    await page.click(`${card(jacket.id)} [data-testid="gap-write"]`);
    await page.waitForSelector(`${card(jacket.id)} [data-testid="gap-form"]`);
    assert.equal(await page.getAttribute(`${card(jacket.id)} [data-testid="gap-write"]`, 'aria-expanded'), 'true');
    assert.equal(await page.inputValue('[data-testid="gap-form-question"]'), JACKET_B, 'the question prefilled');
    assert.equal(await page.isChecked('[data-testid="gap-kind-qa"]'), true, 'a Q&A pair by default');
    assert.equal(await page.isVisible('[data-testid="gap-form-shortcut"]'), false);
    assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), 'gap-form-answer');

    // An empty answer: told by its field, nothing sent.
    await page.click('[data-testid="gap-save"]');
    assert.equal(await page.textContent('[data-testid="field-error-answer"]'), 'Enter the answer.');
    assert.equal(await page.getAttribute('[data-testid="gap-form-answer"]', 'aria-invalid'), 'true');
    await shots(page, 'dashboard-gaps-form-1280');
    assert.deepEqual(await axeLightDark(page, 'the answer\'s form'), []);

    const answer = 'Send it back within 30 days with the receipt; the return label is in the box.';
    await page.fill('[data-testid="gap-form-question"]', 'How do I return a jacket?');
    await page.fill('[data-testid="gap-form-answer"]', answer);
    await page.click('[data-testid="gap-save"]');
    await page.waitForSelector(card(jacket.id), { state: 'detached' });
    assert.equal(await page.textContent('[data-testid="gaps-status"]'), 'Added \u201c\u2068How do I return a jacket?\u2069\u201d to the knowledge base: the agents given it as a source answer from it.');
    assert.equal(await page.getAttribute('[data-testid="gaps-status"]', 'role'), 'status');
    assert.equal(await page.textContent('[data-testid="gaps-summary"]'), '2 questions in 2 groups, asked in the last 30 days.');
    assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), 'gap-question', 'the focus on the next card');

    const sources = (await adminApi(stack, 'GET', '/v1/admin/knowledge/sources')).json.sources;
    const qa = sources.find((s) => s.type === 'qa');
    assert.ok(qa, JSON.stringify(sources));
    assert.deepEqual([qa.question, qa.answer], ['How do I return a jacket?', answer]);
    const left = await gapsApi();
    assert.equal(left.total, 2);
    const ids = left.groups.flatMap((g) => g.gap_ids);
    for (const id of jacket.gap_ids) assert.ok(!ids.includes(id), `${id} resolved`);
    await assertClean(page, desk.log, 'a Q&A pair');
  });

  test('the answer saved as a canned reply: the shortcut from the question, one in use told by its field', async () => {
    const { page } = desk;
    const invoice = groupOf(INVOICE);
    const r = await adminApi(stack, 'POST', '/v1/admin/canned-replies', { shortcut: 'speak-person-invoice', text: 'Taken already.' });
    assert.equal(r.status, 201, r.text);
    await openDash(page, stack, '#/knowledge/gaps', card(invoice.id));
    await page.click(`${card(invoice.id)} [data-testid="gap-write"]`);
    await page.check('[data-testid="gap-kind-canned"]');
    assert.equal(await page.isVisible('[data-testid="gap-form-question"]'), false);
    assert.equal(await page.inputValue('[data-testid="gap-form-shortcut"]'), 'speak-person-invoice', 'a slug of the question');
    const text = 'Our billing team answers invoice questions on weekdays: write to billing@example.com.';
    await page.fill('[data-testid="gap-form-answer"]', text);

    // Not a shortcut: told before anything is sent.
    await page.fill('[data-testid="gap-form-shortcut"]', 'Invoice help');
    await page.click('[data-testid="gap-save"]');
    assert.equal(await page.textContent('[data-testid="field-error-shortcut"]'), 'Only a-z, 0-9, _ and -, at most 32 characters.');

    // In use: the server's 409, by the field.
    await page.fill('[data-testid="gap-form-shortcut"]', 'speak-person-invoice');
    await page.click('[data-testid="gap-save"]');
    await page.waitForFunction(() => /is taken/.test(document.querySelector('[data-testid="field-error-shortcut"]').textContent));
    assert.equal(await page.textContent('[data-testid="field-error-shortcut"]'), '/speak-person-invoice is taken: choose another shortcut.');
    assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), 'gap-form-shortcut');
    assert.ok(await page.isVisible(card(invoice.id)), 'the card stays');

    await page.fill('[data-testid="gap-form-shortcut"]', 'invoice');
    await page.click('[data-testid="gap-save"]');
    await page.waitForSelector(card(invoice.id), { state: 'detached' });
    assert.equal(await page.textContent('[data-testid="gaps-status"]'), 'Saved the canned reply /invoice.');
    const items = (await adminApi(stack, 'GET', '/v1/admin/canned-replies')).json.items;
    assert.deepEqual(items.filter((x) => x.shortcut === 'invoice').map((x) => x.text), [text]);
    const left = await gapsApi();
    assert.deepEqual(left.groups.map((g) => g.question), [SIZE]);
    await assertClean(page, desk.log, 'a canned reply', { allowConsole: /status of 409/ });
    desk.log.console.length = 0; // the 409 asked for, told once
  });

  test('dismissed after the confirmation: the empty state; another range kept in the address', async () => {
    const { page } = desk;
    const size = groupOf(SIZE);
    await openDash(page, stack, '#/knowledge/gaps', card(size.id));
    await page.click(`${card(size.id)} [data-testid="gap-dismiss"]`);
    await page.waitForSelector('[data-testid="confirm-dialog"]');
    await page.click('[data-testid="confirm-cancel"]');
    assert.ok(await page.isVisible(card(size.id)), 'Cancel keeps it');
    assert.equal((await gapsApi()).total, 1);

    await page.click(`${card(size.id)} [data-testid="gap-dismiss"]`);
    await page.click('[data-testid="confirm-ok"]');
    await page.waitForSelector(card(size.id), { state: 'detached' });
    assert.equal(await page.textContent('[data-testid="gaps-status"]'), `Dismissed \u201c\u2068${SIZE}\u2069\u201d.`);
    assert.equal(await page.textContent('[data-testid="gaps-empty"]'), 'No gaps in the last 30 days: every question found an answer.');
    const none = await gapsApi();
    assert.deepEqual([none.groups, none.total, none.truncated], [[], 0, false]);

    await page.selectOption('[data-testid="gaps-days"]', '7');
    await page.waitForFunction(() => /last 7 days/.test(document.querySelector('[data-testid="gaps-empty"]').textContent));
    assert.match(page.url(), /#\/knowledge\/gaps\?days=7$/);
    assert.equal(await page.textContent('[data-testid="gaps-empty"]'), 'No gaps in the last 7 days: every question found an answer.');
    await shots(page, 'dashboard-gaps-empty-1280');
    assert.deepEqual(await axeLightDark(page, 'no knowledge gaps'), []);
    await page.reload();
    await page.waitForSelector('[data-testid="gaps-empty"]:not([hidden])');
    assert.equal(await page.inputValue('[data-testid="gaps-days"]'), '7');
    await assertClean(page, desk.log, 'dismissed');
  });
});
