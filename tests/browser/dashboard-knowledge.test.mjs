// The dashboard's Knowledge page in Chromium (#/knowledge, admins and
// owners), against the real daemons with the fetcher crawling the host
// site on loopback (PARLEY_KNOWLEDGE_ALLOW_PRIVATE=on): a question and
// answer added (ready at once; the storage line above the list: 0 bytes
// of 512 MB used), a site added and followed until ready (a
// progress bar while it syncs), its pages listed with their status and
// error (a 404), a Markdown file uploaded and read; "Test a question"
// shows the passages found with their scores and which ones the model
// would get; an agent given sources on its page (and "answer only from
// the sources", "rewrite follow-up questions"), as the API then shows,
// and "Test a question" as that agent finding its one source alone;
// its answers' thread showing the source cited (and the passage, as
// text) and a question nothing
// answered, which the Knowledge page then lists; a source deleted after
// the confirmation. axe-core light and dark; a phone screenshot without
// horizontal scroll.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { chat, sid } from '../integration/lib/chat.mjs';
import { chooseSized } from './lib/files.mjs';
import {
  DASHBOARD_PASSWORD, PHONE, QUICK_POLLS, SUITE_TIMEOUT, adminApi, axeLightDark, dashLogin, dashShot, openDash, openPage, overflow, startSuite,
  assertCardCells, rightGap, stopSuite, waitFor,
  atLoginPage,
} from './lib/browser.mjs';

describe('the dashboard\'s Knowledge page in Chromium', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  let browser;
  let owner;
  let phone;

  function hostPage(u) {
    if (u.pathname === '/help/') {
      return { type: 'text/html; charset=utf-8', body: '<!doctype html><html lang="en"><head><title>Help centre</title></head><body><main>' +
        '<h1>Help centre</h1><p>Our opening hours are nine to five on weekdays.</p><a href="/help/gone">Old page</a></main></body></html>' };
    }
    if (u.pathname === '/slow/') {
      return { type: 'text/html; charset=utf-8', delayMs: 6000, body: '<!doctype html><html lang="en"><head><title>Slow</title></head>' +
        '<body><main><h1>Slow</h1><p>This page takes its time.</p></main></body></html>' };
    }
    return null;
  }

  before(async () => {
    ({ stack, browser } = await startSuite({ workers: 1, mock: { chunks: 2 },
      env: { DASHBOARD_PASSWORD, PARLEY_KNOWLEDGE_ALLOW_PRIVATE: 'on', ...QUICK_POLLS } }));
    stack.host.custom = hostPage;
    owner = await openPage(browser);
    // the list's read every 2 s while a source syncs (knowledge.js), moved on by synced()
    await owner.page.clock.install();
    await dashLogin(stack, owner.ctx);
    phone = await openPage(browser, PHONE);
    await dashLogin(stack, phone.ctx);
  });
  after(async () => {
    if (owner) await owner.ctx.close();
    if (phone) await phone.ctx.close();
    await stopSuite({ stack, browser });
  });

  // pred() true, looked at every 250 ms, the page's clock moved on 2 s
  // between looks: the list read again at once when a source syncs (its
  // timer set), not 2 s later.
  const synced = (page, pred, ms, what) => waitFor(async () => (await pred()) || (await page.clock.fastForward(2000), false), ms, what, 250);

  const rows = (page) => page.$$eval('[data-testid="source-row"]', (rs) => rs.map((r) => ({
    id: r.getAttribute('data-id'), text: r.textContent, status: r.querySelector('[data-testid="source-status"]').textContent,
  })));

  test('sources added, synced, listed; a question tested', async () => {
    const { page } = owner;
    await openDash(page, stack, '#/knowledge', '[data-testid="source-form"]');
    // The new source's box and the question's are apart, not border to border.
    const gap = await page.evaluate(() => document.querySelector('[data-testid="kb-test"]').getBoundingClientRect().top -
      document.querySelector('[data-testid="source-form"]').getBoundingClientRect().bottom);
    assert.ok(gap >= 8, `the two boxes ${gap} px apart`);
    assert.equal(await rightGap(page, '#f-url'), 0, 'the start URL as wide as the form');
    // The sources are the default agent's, and those of an agent given them.
    assert.match(await page.textContent('[data-testid="kb-hint"]'), /the default agent searches all of them; an agent of your own, those you give it/);
    await page.waitForSelector('[data-testid="source-empty"]:not([hidden])');
    assert.equal(await page.getAttribute('[data-testid="nav-knowledge"]', 'aria-current'), 'page');
    // What the knowledge base holds of its quota (PARLEY_KB_QUOTA_MB, 512 MiB).
    assert.equal(await page.textContent('[data-testid="kb-storage"]'), 'Storage: 0 bytes of 512 MB used.');

    // A question and its answer: ready at once.
    await page.selectOption('#f-type', 'qa');
    // Its question (up to 300 characters) as wide as its answer below.
    assert.equal(await rightGap(page, '#f-question'), 0, 'the question as wide as the form');
    await page.fill('#f-question', 'When are you open?');
    await page.fill('#f-answer', 'We are open nine to five, Monday to Friday.');
    await page.click('[data-testid="source-save"]');
    await waitFor(async () => (await rows(page)).some((r) => /When are you open/.test(r.text) && r.status === 'Ready'), 10000, 'the qa ready');
    // The list and the new source's box under it: apart as the boxes are.
    const under = await page.evaluate(() => document.querySelector('[data-testid="source-form"]').getBoundingClientRect().top -
      document.querySelector('[data-testid="source-table"]').getBoundingClientRect().bottom);
    assert.equal(Math.round(under), Math.round(gap), `the list and the box ${under} px apart, the boxes ${gap}`);

    // A site: syncing, then ready; its pages with a 404.
    await page.selectOption('#f-type', 'crawl');
    await page.fill('#f-url', `${stack.host.origin}/help/`);
    await page.click('[data-testid="source-save"]');
    await synced(page, async () => (await rows(page)).some((r) => /help/.test(r.text) && r.status === 'Ready'), 20000, 'the site ready');
    const site = (await rows(page)).find((r) => /help/.test(r.text));
    await page.click(`[data-testid="source-row"][data-id="${site.id}"] [data-testid="source-pages-show"]`);
    await page.waitForSelector('[data-testid="page-row"]');
    const pages = await page.$$eval('[data-testid="page-row"]', (rs) => rs.map((r) => r.textContent));
    assert.equal(pages.length, 2, pages.join(' | '));
    assert.ok(pages.some((p) => /Help centre/.test(p) && /200/.test(p)));
    assert.ok(pages.some((p) => /HTTP 404/.test(p)));

    // A Markdown file.
    await page.selectOption('#f-type', 'file');
    await page.setInputFiles('#f-file', { name: 'parking.md', mimeType: 'text/markdown', buffer: Buffer.from('# Parking\n\nVisitors park behind the shop for free.\n') });
    await page.click('[data-testid="source-save"]');
    await synced(page, async () => (await rows(page)).some((r) => /parking\.md/.test(r.text) && r.status === 'Ready'), 20000, 'the file ready');

    // A file over what one client may send at once (the default 256 KiB):
    // sent in pieces, joined by the server, read whole (its last words found).
    let big = '';
    for (let i = 0; big.length < 300 * 1024; i++) big += `Paragraph ${i}: the kettle boils water quickly and quietly.\n\n`;
    big += 'Final note: the narwhal mascot greets visitors at the door.\n';
    await page.selectOption('#f-type', 'file');
    await page.setInputFiles('#f-file', { name: 'big.txt', mimeType: 'text/plain', buffer: Buffer.from(big) });
    await page.click('[data-testid="source-save"]');
    await synced(page, async () => (await rows(page)).some((r) => /big\.txt/.test(r.text) && r.status === 'Ready'), 30000, 'the big file ready');
    const hits = (await adminApi(stack, 'POST', '/v1/admin/knowledge/search', { query: 'narwhal mascot', k: 3 })).json.results;
    assert.match(hits[0]?.text ?? '', /narwhal mascot greets/, JSON.stringify(hits));
    const bigSource = (await adminApi(stack, 'GET', '/v1/admin/knowledge/sources')).json.sources.find((x) => x.url === 'big.txt');
    assert.equal(hits[0].source_id, bigSource.id);
    // Over the server's bound on a file: refused before anything is sent.
    await page.selectOption('#f-type', 'file');
    await chooseSized(page, '#f-file', { name: 'huge.txt', type: 'text/plain', size: 7 * 1024 * 1024 + 1 });
    await page.click('[data-testid="source-save"]');
    await page.waitForFunction(() => /at most 7 MiB/.test(document.querySelector('[data-testid="field-error-file"]').textContent));
    assert.ok(!(await rows(page)).some((r) => /huge\.txt/.test(r.text)));

    // Test a question.
    await page.fill('[data-testid="kb-query"]', 'opening hours weekdays');
    await page.click('[data-testid="kb-test"] button[type=submit]');
    await page.waitForSelector('[data-testid="kb-result"]');
    const results = await page.$$eval('[data-testid="kb-result"]', (rs) => rs.map((r) => ({ text: r.textContent, prompt: r.getAttribute('data-prompt') })));
    assert.ok(results.length >= 2, JSON.stringify(results));
    assert.match(results[0].text, /score \d+\.\d\d, in the prompt/);
    assert.equal(results[0].prompt, 'true');
    assert.match(await page.textContent('[data-testid="kb-note"]'), /the model would get the first \d/);
    assert.deepEqual(await axeLightDark(page, 'the knowledge page'), []);

    // A question asked while an earlier one's answer is slow: only its
    // passages are shown (the two answers' passages once were, mixed).
    let slowed = null; // the first question's answer, its body received
    await page.route('**/v1/admin/knowledge/search', async (route) => {
      if (!slowed) {
        slowed = route.request().response().then((r) => r && r.finished());
        await new Promise((r) => setTimeout(r, 2000));
      }
      await route.continue().catch(() => {});
    });
    try {
      await page.fill('[data-testid="kb-query"]', 'zzzz qqqq nothing matches this');
      await page.click('[data-testid="kb-test"] button[type=submit]');
      await page.waitForTimeout(200);
      await page.fill('[data-testid="kb-query"]', 'opening hours weekdays');
      await page.click('[data-testid="kb-test"] button[type=submit]');
      // the first answer came meanwhile: its body in, then the page's next frame
      await slowed;
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
      assert.equal(await page.locator('[data-testid="kb-result"]').count(), results.length);
      assert.match(await page.textContent('[data-testid="kb-note"]'), new RegExp(`^${results.length} passages found`));
    } finally { await page.unroute('**/v1/admin/knowledge/search'); }
  });

  test('an agent given sources on its page', async () => {
    const { page } = owner;
    const agent = (await adminApi(stack, 'POST', '/v1/admin/agents', { name: 'Front desk' })).json;
    const sources = (await adminApi(stack, 'GET', '/v1/admin/knowledge/sources')).json.sources;
    const qa = sources.find((s) => s.type === 'qa');
    await openDash(page, stack, `#/agents/${agent.id}`, '[data-testid="agent-form"]');
    await page.waitForSelector(`#kb-${qa.id}`);
    assert.equal(await rightGap(page, '#f-base_url'), 0, 'the base URL as wide as its fieldset');
    await page.check(`#kb-${qa.id}`);
    await page.check('#f-knowledge_only');
    await page.check('#f-rewrite_follow_ups');
    await page.click('[data-testid="save-agent"]');
    await page.waitForSelector('[data-testid="save-status"]:has-text("Saved")');
    const saved = (await adminApi(stack, 'GET', `/v1/admin/agents/${agent.id}`)).json;
    assert.deepEqual(saved.knowledge_source_ids, [qa.id]);
    assert.equal(saved.knowledge_only, true);
    assert.equal(saved.rewrite_follow_ups, true);
    assert.deepEqual(await axeLightDark(page, 'an agent with its sources'), []);

    // "Test a question" as that agent: its one source alone; all of them by default.
    await openDash(page, stack, '#/knowledge', '[data-testid="kb-test"]');
    await page.waitForSelector(`[data-testid="kb-agent"] option[value="${agent.id}"]`, { state: 'attached' });
    assert.equal(await page.inputValue('[data-testid="kb-agent"]'), '', 'all sources by default');
    const asked = async (who) => {
      await page.selectOption('[data-testid="kb-agent"]', who);
      await page.fill('[data-testid="kb-query"]', 'opening hours weekdays');
      const answer = page.waitForResponse('**/v1/admin/knowledge/search');
      await page.click('[data-testid="kb-test"] button[type=submit]');
      const sent = (await answer).request().postDataJSON();
      await page.waitForSelector('[data-testid="kb-result"]');
      return { sent, shown: await page.$$eval('[data-testid="kb-result"] strong', (rs) => rs.map((r) => r.textContent)) };
    };
    let t = await asked(agent.id);
    assert.equal(t.sent.agent_id, agent.id);
    assert.deepEqual(t.shown, [qa.question], 'the agent\'s one source alone');
    t = await asked('');
    assert.equal(t.sent.agent_id, undefined);
    assert.ok(t.shown.includes('Help centre') && t.shown.includes(qa.question), JSON.stringify(t.shown));
    assert.deepEqual(await axeLightDark(page, 'a question tested as an agent'), []);

    // Its answers in the thread: the source one cites, and a question nothing answered.
    const w = (await adminApi(stack, 'GET', '/v1/admin/widgets')).json.widgets[0];
    assert.equal((await adminApi(stack, 'PATCH', `/v1/admin/widgets/${w.widget_id}`, { agent_id: agent.id })).status, 200);
    const kbSession = sid('kbthread');
    let r = await chat(stack.parley, kbSession, 'when are you open?');
    assert.equal(r.status, 200, r.text);
    assert.match(r.json().message, /\[1\]/);
    await openDash(page, stack, `#/conversations/${r.json().conversationId}`, '[data-testid="thread-message"]');
    await page.waitForSelector('[data-testid="msg-source"]');
    assert.equal(await page.textContent('[data-testid="msg-source"]'), qa.name || qa.question);
    assert.equal(await page.getAttribute('[data-testid="msg-source"]', 'data-source-id'), qa.id);
    // the passage it cites, as the visitor saw it under the answer (a qa pair: no page to link)
    const cited = () => page.$$eval('[data-testid="msg-citation"]', (lis) => lis.map((li) => [li.textContent, li.querySelectorAll('*').length]));
    assert.deepEqual(await cited(), [[`[1] ${qa.question}`, 0]]);
    // a title with markup and a URL that is no web page's: text, no link
    const conv = r.json().conversationId;
    await page.route(`**/v1/admin/conversations/${conv}`, async (route) => {
      const res = await route.fetch();
      const j = await res.json();
      for (const m of j.messages) for (const c of m.citations || []) Object.assign(c, { title: '<b>Hours</b> & <img src=x>', url: 'javascript:alert(1)' });
      await route.fulfill({ response: res, json: j });
    });
    try {
      await page.reload();	// (the same address: read again)
      await page.waitForSelector('[data-testid="msg-citation"]');
      assert.deepEqual(await cited(), [['[1] <b>Hours</b> & <img src=x>', 0]]);
    } finally {
      // The page may be reading the thread again (its event stream's
      // reset or a poll) inside the handler: unroute alone lets that read
      // through under it, and its fulfill throws 'Route is already handled!'.
      await page.unrouteAll({ behavior: 'wait' });
    }
    // A cited answer that comes while the thread is open: its passages
    // too (its live event carries its sources' ids alone).
    r = await chat(stack.parley, kbSession, 'when are you open, again?');
    assert.equal(r.status, 200, r.text);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="msg-citation"]').length === 2);
    assert.deepEqual(await cited(), [[`[1] ${qa.question}`, 0], [`[1] ${qa.question}`, 0]]);
    r = await chat(stack.parley, sid('kbthread'), 'do you sell zebras?');
    assert.equal(r.status, 200, r.text);
    await openDash(page, stack, `#/conversations/${r.json().conversationId}`, '[data-testid="thread-message"]');
    assert.equal(await page.textContent('[data-testid="msg-gap"]'), 'Nothing found in the knowledge base');
    assert.deepEqual(await axeLightDark(page, 'a thread with its sources'), []);
    // The Knowledge page lists the question nothing was found for, linking to its thread.
    await openDash(page, stack, '#/knowledge', '[data-testid="kb-gap"]');
    const gaps = await page.$$eval('[data-testid="kb-gap"] a', (as) => as.map((a) => [a.textContent, a.getAttribute('href')]));
    assert.deepEqual(gaps, [['do you sell zebras?', `#/conversations/${r.json().conversationId}`]]);
    assert.equal((await adminApi(stack, 'PATCH', `/v1/admin/widgets/${w.widget_id}`, { agent_id: 'default' })).status, 200);
  });

  // A session that ended while an agent's sources were being chosen: the
  // sources' boxes come from a second request, after the form shows, and
  // the kept choice was put back before they were there (lost).
  test('a session ended while an agent\'s sources were chosen: signed in again, the choice is back, not saved', async () => {
    const { page, ctx } = owner;
    const agent = (await adminApi(stack, 'POST', '/v1/admin/agents', { name: 'Night desk' })).json;
    const qa = (await adminApi(stack, 'POST', '/v1/admin/knowledge/sources',
      { type: 'qa', question: 'Do you deliver at night?', answer: 'Until midnight.' })).json;
    await openDash(page, stack, `#/agents/${agent.id}`, `#kb-${qa.id}`);
    await page.check(`#kb-${qa.id}`);
    await page.fill('#f-name', 'Night desk, renamed');
    await ctx.clearCookies();	// the session gone for this browser
    await page.click('[data-testid="save-agent"]');
    await atLoginPage(page);
    await dashLogin(stack, ctx);
    await page.goto(`${stack.parleyOrigin}/dashboard/`);
    await page.waitForSelector(`#kb-${qa.id}`);
    await waitFor(async () => (await page.inputValue('#f-name')) === 'Night desk, renamed', 5000, 'the name back');
    assert.match(await page.textContent('[data-testid="flash"]'), /are back: save them/);
    assert.equal(await page.isChecked(`#kb-${qa.id}`), true, 'the source chosen again');
    assert.deepEqual((await adminApi(stack, 'GET', `/v1/admin/agents/${agent.id}`)).json.knowledge_source_ids, [], 'nothing saved meanwhile');
    await page.click('[data-testid="save-agent"]');
    await page.waitForSelector('[data-testid="save-status"]:has-text("Saved")');
    assert.deepEqual((await adminApi(stack, 'GET', `/v1/admin/agents/${agent.id}`)).json.knowledge_source_ids, [qa.id]);
  });

  // While a source syncs the list is made again every 2 s: the button a
  // keyboard user was on lost the focus to the page's body each time.
  test('the list made again while a source syncs: the focused button keeps the focus', async () => {
    const { page } = owner;
    const s = (await adminApi(stack, 'POST', '/v1/admin/knowledge/sources', { type: 'crawl', url: `${stack.host.origin}/slow/` })).json;
    try {
      await page.goto('about:blank');	// the page is on #/knowledge already: load it anew
      await openDash(page, stack, '#/knowledge', `[data-testid="source-row"][data-id="${s.id}"]`);
      const button = `[data-testid="source-row"][data-id="${s.id}"] [data-testid="source-pages-show"]`;
      await page.focus(button);
      await page.$eval(button, (b) => { b.closest('tr').dataset.old = '1'; });
      // Made again (the old row gone) while the page is still on its way.
      await synced(page, () => page.$eval(`[data-testid="source-row"][data-id="${s.id}"]`, (r) => !r.dataset.old), 5000, 'the list made again');
      assert.equal(await page.evaluate((sel) => document.activeElement === document.querySelector(sel), button), true,
        await page.evaluate(() => document.activeElement.outerHTML.slice(0, 120)));
    } finally {
      await adminApi(stack, 'DELETE', `/v1/admin/knowledge/sources/${s.id}`);
      await page.goto('about:blank');	// its list, with that row, not left for the next test
    }
  });

  // A file source whose upload was cut (a reload) was shown syncing for
  // good, the list read again every 2 s as long as the page stayed open.
  test('a file source whose upload never finished: waiting for its file, uploaded again from its row', async () => {
    const { page } = owner;
    const s = (await adminApi(stack, 'POST', '/v1/admin/knowledge/sources', { type: 'file', url: 'hours.md' })).json;
    const row = `[data-testid="source-row"][data-id="${s.id}"]`;
    let reads = 0;
    const count = (r) => { if (r.method() === 'GET' && new URL(r.url()).pathname === '/v1/admin/knowledge/sources') reads++; };
    try {
      await openDash(page, stack, '#/knowledge', row);
      assert.equal(await page.textContent(`${row} [data-testid="source-status"]`), 'Waiting for its file');
      assert.equal(await page.$(`${row} [data-testid="source-sync"]`), null, 'no Sync now: nothing to sync');
      page.on('request', count);
      // more than a poll's 2 s on the page's clock (a read it had set
      // would go now), then 300 ms for such a read's request to be seen
      await page.clock.fastForward(2600);
      await page.waitForTimeout(300);
      assert.equal(reads, 0, 'not read again while it only waits');
      await page.setInputFiles(`${row} [data-testid="source-file-input"]`,
        { name: 'hours.md', mimeType: 'text/markdown', buffer: Buffer.from('# Hours\n\nThe shop opens at seven on Saturdays.\n') });
      await synced(page, async () => (await page.textContent(`${row} [data-testid="source-status"]`)) === 'Ready', 15000, 'the file read');
      const got = (await adminApi(stack, 'GET', `/v1/admin/knowledge/sources/${s.id}`)).json;
      assert.equal(got.status, 'ready', JSON.stringify(got));
      assert.ok(got.chunks >= 1, JSON.stringify(got));
    } finally {
      page.off('request', count);
      await adminApi(stack, 'DELETE', `/v1/admin/knowledge/sources/${s.id}`);
      await page.goto('about:blank');
    }
  });

  test('on a phone, no sideways scroll; a status and its note beside its label; a source deleted after the confirmation', async () => {
    // A file source waiting for its file: its status and the note under it.
    const waiting = (await adminApi(stack, 'POST', '/v1/admin/knowledge/sources', { type: 'file', url: 'later.md' })).json;
    try {
      await openDash(phone.page, stack, '#/knowledge', `[data-testid="source-row"][data-id="${waiting.id}"] [data-testid="source-error"]`);
      const o = await overflow(phone.page);
      assert.ok(o.scrollWidth <= o.innerWidth, JSON.stringify(o));
      await dashShot(phone.page, 'knowledge-390x844');
      await assertCardCells(phone.page, '[data-testid="source-row"]', 'sources on a phone');
    } finally {
      await adminApi(stack, 'DELETE', `/v1/admin/knowledge/sources/${waiting.id}`);
    }
    const { page } = owner;
    await openDash(page, stack, '#/knowledge', '[data-testid="source-row"]');
    const before = await rows(page);
    const qa = before.find((r) => /When are you open/.test(r.text));
    await page.click(`[data-testid="source-row"][data-id="${qa.id}"] [data-testid="source-delete"]`);
    await page.click('[data-testid="confirm-ok"]');
    await waitFor(async () => (await rows(page)).length === before.length - 1, 10000, 'the row gone');
    assert.equal((await adminApi(stack, 'GET', `/v1/admin/knowledge/sources/${qa.id}`)).status, 404);
  });
});
