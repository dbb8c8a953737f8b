// The widget's Markdown (widget/src/markdown.js) in Chromium: a reply
// full of unmatched * or [ renders in linear time (one regex's lazy search
// again from each of them took seconds per render, and a streaming reply
// renders on every frame: the visitor's page froze), and ordinary Markdown
// renders as before. The module is loaded from widget/src by the page; a
// reply of 15,000 unmatched ** also streams through the widget itself.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  REPO, SUITE_TIMEOUT, assertClean, openPage, part, sendByKeyboard, startSuite, stopSuite, waitReady, waitReplyEnd,
} from './lib/browser.mjs';

// A page of its own origin whose /<name>.js are widget/src's files.
const ORIGIN = 'http://markdown.parley.test';
async function modulePage(browser) {
  const o = await openPage(browser);
  await o.ctx.route(`${ORIGIN}/**`, (route) => {
    const name = new URL(route.request().url()).pathname.slice(1);
    if (!/^[a-z]+\.js$/.test(name)) return route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>markdown</title>' });
    return route.fulfill({ status: 200, contentType: 'text/javascript', body: fs.readFileSync(path.join(REPO, 'widget/src', name)) });
  });
  await o.page.goto(`${ORIGIN}/`);
  return o;
}

// Each text rendered by markdown() in the page: its HTML and text.
function render(page, texts) {
  return page.evaluate(async (all) => {
    const { markdown } = await import('/markdown.js');
    return all.map((t) => {
      const d = document.createElement('div');
      d.append(markdown(t));
      return { html: d.innerHTML, text: d.textContent };
    });
  }, texts);
}

// The page main thread's CPU time (s, CDP's ThreadTime) that rendering
// text took: CPU time, which other processes' load does not stretch.
async function renderCpu(page, cdp, text) {
  const cpu = async () => (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'ThreadTime').value;
  await page.evaluate(() => import('/markdown.js'));
  const t0 = await cpu();
  await page.evaluate(async (t) => {
    const { markdown } = await import('/markdown.js');
    document.createElement('div').append(markdown(t));
  }, text);
  return (await cpu()) - t0;
}

// Each render of unmatched marks took 1 to 3 times the CPU of a plain text
// as long here (10-24 ms), and 170 to 520 times before fdbda41f (1.8-5.8 s;
// "[" was linear both times): a bound far from both. Plain text's time has
// a floor of 5 ms, under which the clock's steps would count.
const RENDER_RATIO = 8;
// Through the widget, the renderer's main thread spent as much CPU time on a
// reply of 15,000 unmatched ** as on a plain reply as long (0.24 s and 0.23
// s here), and 5.4 times as much before (1.17 s): a bound between the two.
// CPU time, not a long task's length: the suite's load stretched a task
// from under 50 ms to over 500 ms, never the thread's own CPU time.
const CPU_RATIO = 2.5;

// The CPU time (s) the page's main thread spends while the widget streams
// repeat copies of unit (URL-encoded) and shows them: the reply's text.
async function streamed(browser, stack, unit, repeat) {
  const { page, log, ctx } = await openPage(browser);
  try {
    await page.goto(`${stack.host.origin}/embed.html`);
    await waitReady(page);
    await page.click(part('launcher'));
    const cdp = await ctx.newCDPSession(page);
    await cdp.send('Performance.enable');
    const cpu = async () => (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'ThreadTime').value;
    const t0 = await cpu();
    await sendByKeyboard(page, `[[mock:reply=${unit},repeat=${repeat},chunks=8]]`);
    const m = await waitReplyEnd(page, 120000);
    const s = (await cpu()) - t0;
    assert.equal(m.state, 'done');
    await assertClean(page, log, `a reply of ${repeat} ${unit}`);
    return { s, text: m.text };
  } finally { await ctx.close(); }
}

describe('the widget\'s Markdown in Chromium', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  let browser;

  before(async () => { ({ stack, browser } = await startSuite({ mock: { chunks: 8, delayMs: 60 } })); });
  after(() => stopSuite({ stack, browser }));

  test('unmatched * and [ by the ten thousand render in linear time', async () => {
    const { page, log, ctx } = await modulePage(browser);
    try {
      const cases = {
        'a *': 50000, // italic never closed (a space before each *)
        '*a ': 50000,
        '**a ': 40000, // bold never closed
        '[': 40000, // a link's text never closed
        '[a](b': 30000, // a link's url never closed
        '[a](b(c)': 20000, // a url with a pair, then another link's ( unclosed
      };
      const texts = Object.entries(cases).map(([t, n]) => t.repeat(n));
      const out = await render(page, texts);
      for (const [i, t] of texts.entries()) {
        assert.equal(out[i].text, t, 'shown as it is');
        assert.ok(!/<(strong|em|a|code)\b/.test(out[i].html), `no markup made of ${JSON.stringify(t.slice(0, 5))}`);
      }
      const cdp = await ctx.newCDPSession(page);
      await cdp.send('Performance.enable');
      const took = [];
      for (const t of texts) {
        const marks = await renderCpu(page, cdp, t);
        const plain = await renderCpu(page, cdp, 'ab c'.repeat(Math.ceil(t.length / 4)).slice(0, t.length));
        took.push({ t: t.slice(0, 5), marks, plain });
      }
      const said = took.map((x) => `${JSON.stringify(x.t)}: ${(x.marks * 1000).toFixed(1)} ms against ${(x.plain * 1000).toFixed(1)}`).join(', ');
      console.log(`# markdown CPU of ${Object.values(cases).join(', ')} repeats, against plain text as long: ${said}`);
      for (const x of took) assert.ok(x.marks < RENDER_RATIO * Math.max(x.plain, 0.005), `under ${RENDER_RATIO} times plain text's CPU: ${said}`);
      await assertClean(page, log, 'markdown');
    } finally { await ctx.close(); }
  });

  // A heading's closing #s and spaces were cut by one regex whose lazy text
  // and the two runs after it backtracked in cubic time: a line of "# a",
  // 5,000 spaces and "x" took about 20 s per render (1.4 s at 2,000).
  test('a heading with a long run of spaces or #s renders in linear time', async () => {
    const { page, log, ctx } = await modulePage(browser);
    try {
      const n = 5000;
      const cases = [
        ['# a' + ' '.repeat(n) + 'x', `a${' '.repeat(n)}x`],
        ['# a' + ' '.repeat(n) + '#'.repeat(n) + 'x', `a${' '.repeat(n)}${'#'.repeat(n)}x`],
        ['## a' + ' '.repeat(n), 'a'],
        ['### a' + ' #'.repeat(n), `a${' #'.repeat(n - 1)}`], // the last # closes
      ];
      const out = await render(page, cases.map((c) => c[0]));
      for (const [i, [, text]] of cases.entries()) {
        assert.equal(out[i].text, text, `heading ${i} shown whole, its closing #s and spaces cut`);
        assert.ok(out[i].html.startsWith('<p data-md="heading"><strong>'), `heading ${i} is a heading`);
      }
      const cdp = await ctx.newCDPSession(page);
      await cdp.send('Performance.enable');
      const took = [];
      for (const [t] of cases) {
        const heading = await renderCpu(page, cdp, t);
        const plain = await renderCpu(page, cdp, 'ab c'.repeat(Math.ceil(t.length / 4)).slice(0, t.length));
        took.push({ heading, plain });
      }
      const said = took.map((x) => `${(x.heading * 1000).toFixed(1)} ms against ${(x.plain * 1000).toFixed(1)}`).join(', ');
      console.log(`# markdown CPU of headings with ${n} spaces or #s, against plain text as long: ${said}`);
      for (const x of took) assert.ok(x.heading < RENDER_RATIO * Math.max(x.plain, 0.005), `under ${RENDER_RATIO} times plain text's CPU: ${said}`);
      await assertClean(page, log, 'markdown headings');
    } finally { await ctx.close(); }
  });

  test('ordinary Markdown renders as before, and markup stays text', async () => {
    const { page, log, ctx } = await modulePage(browser);
    try {
      const A = (href, text) => `<a href="${href}" target="_blank" rel="noopener noreferrer">${text}</a>`;
      const cases = [
        ['**bold** and *italic*, `code`, [a link](https://example.com/ "t") and https://example.org/x.',
          `<p><strong>bold</strong> and <em>italic</em>, <code>code</code>, ${A('https://example.com/', 'a link')} and ${A('https://example.org/x', 'https://example.org/x')}.</p>`],
        ['**bold *and italic* inside** and *italic with `code`*',
          '<p><strong>bold <em>and italic</em> inside</strong> and <em>italic with <code>code</code></em></p>'],
        ['a ** b, 2 * 3 * 4, *not closed and **neither',
          '<p>a ** b, 2 * 3 * 4, *not closed and **neither</p>'],
        ['***x*** and *****', '<p><strong>*x</strong>* and <strong>*</strong></p>'],
        ['[**bold link**](<https://example.com/a>) [x](javascript:alert%281%29) [y](mailto:a@b.c)',
          `<p>${A('https://example.com/a', '<strong>bold link</strong>')} x ${A('mailto:a@b.c', 'y')}</p>`],
        ['- one *1*\n- two **2**\n\n# Title *t*\n\n```\n**not bold**\n```',
          '<ul><li>one <em>1</em></li><li>two <strong>2</strong></li></ul><p data-md="heading"><strong>Title <em>t</em></strong></p><pre tabindex="0"><code>**not bold**</code></pre>'],
        ['## Closed ##\n\n###### six ###   \n\n# C#\n\n# #\n\n####### seven',
          '<p data-md="heading"><strong>Closed</strong></p><p data-md="heading"><strong>six</strong></p><p data-md="heading"><strong>C#</strong></p><p data-md="heading"><strong></strong></p><p>####### seven</p>'],
        ['<img src=x onerror=alert(1)> **<b>x</b>** `<script>`',
          '<p>&lt;img src=x onerror=alert(1)&gt; <strong>&lt;b&gt;x&lt;/b&gt;</strong> <code>&lt;script&gt;</code></p>'],
      ];
      const out = await render(page, cases.map((c) => c[0]));
      for (const [i, [md, html]] of cases.entries()) assert.equal(out[i].html, html, JSON.stringify(md));
      await assertClean(page, log, 'markdown');
    } finally { await ctx.close(); }
  });

  // A link's url ended at its first ): Wikipedia's /wiki/Foo_(bar) became a
  // link to /wiki/Foo_(bar and a ")" after it; so did a bare one.
  test('a link\'s url holds balanced parentheses; an unbalanced ) ends it, an unbalanced ( makes no link', async () => {
    const { page, log, ctx } = await modulePage(browser);
    try {
      const A = (href, text) => `<a href="${href}" target="_blank" rel="noopener noreferrer">${text}</a>`;
      const W = 'https://en.wikipedia.org/wiki/Foo_(bar)';
      const cases = [
        [`[Foo](${W})`, `<p>${A(W, 'Foo')}</p>`],
        [`See [Foo](${W}), [B](https://a.example/B_(b)_c "t") and [<C>](<https://a.example/(c)>).`,
          `<p>See ${A(W, 'Foo')}, ${A('https://a.example/B_(b)_c', 'B')} and ${A('https://a.example/(c)', '&lt;C&gt;')}.</p>`],
        ['[x](https://a.example/b))', `<p>${A('https://a.example/b', 'x')})</p>`],
        // ( never closed, or a space in the pair: no such link, as in
        // CommonMark (what looks like a url in its text is a bare one)
        ['[x](https://a.example/b(c)', `<p>[x](${A('https://a.example/b(c)', 'https://a.example/b(c)')}</p>`],
        // A bare url keeps a closing pair's ), not a lone one.
        [`${W} and (see ${W}) or https://a.example/x), (https://a.example/y).`,
          `<p>${A(W, W)} and (see ${A(W, W)}) or ${A('https://a.example/x', 'https://a.example/x')}), (${A('https://a.example/y', 'https://a.example/y')}).</p>`],
        ['[x](mailto:a@b.example(c d))', '<p>[x](mailto:a@b.example(c d))</p>'],
        ['[x](javascript:alert(1)) [y](javascript:alert(document.cookie)//(x)) [z](JavaScript:void(0) "t")', '<p>x y z</p>'],
        ['[x](data:text/html,(1)) [y](vbscript:msgbox(1)) [z](//a.example/(b))', '<p>x y z</p>'],
        ['[x](<>) [y](<) [z]() [w](<https://a.example/(w)) [v](<https://a.example/v>', `<p>x y [z]() ${A('https://a.example/(w)', 'w')} [v](&lt;${A('https://a.example/v', 'https://a.example/v')}&gt;</p>`],
      ];
      const out = await render(page, cases.map((c) => c[0]));
      for (const [i, [md, html]] of cases.entries()) assert.equal(out[i].html, html, JSON.stringify(md));
      await assertClean(page, log, 'markdown links with parentheses');
    } finally { await ctx.close(); }
  });

  // Random texts of link pieces, hostile urls among them (a seeded
  // generator: a failure names its seed and text): whatever comes out is
  // only the renderer's elements, every link an http(s) or mailto one, and
  // every character of the text shown but the markup's.
  test('random texts of link pieces and hostile urls: only the renderer\'s elements, only http(s) and mailto links', async () => {
    const { page, log, ctx } = await modulePage(browser);
    try {
      const bad = await page.evaluate(async () => {
        const { markdown } = await import('/markdown.js');
        const pieces = ['[', ']', '](', '(', ')', '<', '>', ' ', '\n', '"t"', '*', '`', 'x', 'Foo_(bar)', 'https://a.example/', 'http://b.example/(c)', 'mailto:a@b.example',
          'javascript:', 'JaVaScRiPt:alert(1)', 'java\tscript:', 'data:text/html,<script>alert(1)</script>', 'vbscript:', ' javascript:', '%6a', '<img src=x onerror=alert(1)>', '&lt;'];
        const allowed = new Set(['P', 'STRONG', 'EM', 'CODE', 'A', 'UL', 'OL', 'LI', 'PRE']);
        let seed = 0x5eed;
        const rnd = (n) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
        const found = [];
        for (let k = 0; k < 3000 && found.length < 5; k++) {
          let t = '';
          for (let n = 1 + rnd(24); n > 0; n--) t += pieces[rnd(pieces.length)];
          const d = document.createElement('div');
          try {
            d.append(markdown(t));
          } catch (e) {
            found.push({ t, why: 'threw ' + e.message });
            continue;
          }
          for (const e of d.querySelectorAll('*')) {
            if (!allowed.has(e.tagName)) found.push({ t, why: 'a ' + e.tagName });
            for (const a of e.attributes) if (!['href', 'target', 'rel', 'start', 'tabindex', 'data-md'].includes(a.name)) found.push({ t, why: 'attribute ' + a.name });
          }
          for (const a of d.querySelectorAll('a')) {
            const u = new URL(a.getAttribute('href'));
            if (!/^(https?|mailto):$/.test(u.protocol) || a.target !== '_blank' || a.rel !== 'noopener noreferrer') found.push({ t, why: 'link ' + a.getAttribute('href') });
          }
        }
        return found;
      });
      assert.deepEqual(bad, [], 'every random text rendered safely');
      await assertClean(page, log, 'random markdown links');
    } finally { await ctx.close(); }
  });

  test('through the widget: a streamed reply of 15,000 unmatched ** costs the page no more than a plain one', async () => {
    const plain = await streamed(browser, stack, 'ab%20c', 15000);
    const stars = await streamed(browser, stack, '%2A%2Aa%20', 15000);
    assert.ok(plain.text === 'ab c'.repeat(15000), `the plain reply shown as it is (${plain.text.length} characters)`);
    // (trimmed, as every reply: its last space is not part of it)
    assert.ok(stars.text === '**a '.repeat(15000).trimEnd(), `the reply shown as it is (${stars.text.length} characters)`);
    const took = `${stars.s.toFixed(3)} s against ${plain.s.toFixed(3)} s`;
    console.log(`# the page's main thread while 60,000 characters streamed: unmatched ** ${took} for a plain reply`);
    assert.ok(stars.s < CPU_RATIO * plain.s, `at most ${CPU_RATIO} times a plain reply's CPU time: ${took}`);
  });
});
