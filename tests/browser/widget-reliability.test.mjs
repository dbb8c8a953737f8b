// The widget when the connection fails it, in headless Chromium against
// the real daemons and the mock model:
// - an error frame answering another client frame than the message (its
//   `frame`: a thumb, a late confirm) is shown and leaves the reply being
//   written to go on in its one bubble; the turn's error ends it; nor
//   does it touch the feedback part's thumb or rating form, or the
//   conversations part's list, waiting on their frames' answers (their
//   own frames' errors still show there);
// - a reply cut off by a lost socket (stored as interrupted), or stopped
//   by the visitor, shows after the reconnect or a reload as a stopped one
//   (data-state="stopped", the "Stopped." note), never as a finished
//   answer: the history carries each reply's status; so does one whose
//   worker was killed while it streamed (storaged ends that turn);
// - a message sent on a socket that turns out dead (the server never
//   acknowledged it) is given back in the text area, not lost; one the
//   server acknowledged (typing_start, or while a person answers the
//   handoff state again) stays sent; one the server refuses, storing
//   nothing (the daily cap), leaves the list and is given back too;
// - the unread count in the page's title takes off only the widget's own
//   "(N) ", never the host page's own count;
// - the offline notice does not say messages cannot be sent (Send stays
//   enabled offline);
// - two tabs of one visitor show the same conversation: what one says,
//   and the answer, appear in the other, once; so do two opened before
//   anything was said (each given a session of its own), whichever writes
//   first, and the next page of either resumes it; never a signed-in
//   user's tab, nor another's session; a reset tab's next page resumes its
//   new conversation whatever the old one's tab does; a contact saved
//   with another tab open is not asked again on the next page, and that
//   tab takes the conversation up and may write; an anonymous tab's words
//   never take a signed-in user's place in the browser;
// - a new conversation ("New") in one tab: the visitor's other tabs follow
//   (empty, as after a reload), and the first words in it, in any tab,
//   show in each; never an anonymous tab into a signed-in user's session,
//   nor a tab into another visitor's after a reset() elsewhere; the
//   rating of the conversation left is stored on it; a New pressed with
//   the socket down sends nothing and leaves nothing behind.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import {
  SUITE_TIMEOUT, adminApi, conversationOfSession, openPage, part, sleep, startSuite, stopSuite, waitFor, waitReady, waitStored,
} from './lib/browser.mjs';

// A wait's failure e thrown again with what probe (run in page) read
// there then.
const sayingPage = (page, probe) => async (e) => {
  const seen = await page.evaluate(probe).catch(() => 'not read');
  throw new Error(`${e.message}; the page then: ${JSON.stringify(seen)}`);
};

// A timeout says what the page's sockets were then (tracked pages: TRACK):
// where the next try went.
const waitConnected = (page, timeout = 10000) => page.waitForFunction(() => {
  const root = document.getElementById('parley-chat-widget').shadowRoot;
  return !root.querySelector('[data-part="send"]').disabled;
}, null, { timeout }).catch(sayingPage(page, () => ({ hidden: document.hidden, online: navigator.onLine,
  socks: (window.__socks || []).map((k) => `${k.url} ${k.readyState}`) })));

const streaming = (page) => page.waitForFunction(() => document.getElementById('parley-chat-widget').shadowRoot
  .querySelector('[data-part="message"][data-state="streaming"]'), null, { timeout: 10000 });

// The last assistant message: its state and its whole text (the note too).
const lastReply = (page) => page.evaluate(() => {
  const all = document.getElementById('parley-chat-widget').shadowRoot
    .querySelectorAll('[data-part="message"][data-role="assistant"]:not([data-welcome])');
  const m = all[all.length - 1];
  return m && { state: m.getAttribute('data-state'), text: m.querySelector('[data-part="content"]').textContent };
});

// every WebSocket the page makes, in window.__socks (while window.__down,
// one that Parley refuses: a path it does not serve, so the handshake
// fails with a close event, as a socket to a server that is down does; a
// socket the page's CSP refuses gets an error and no close in Chromium,
// and the widget waits on that socket for good); the types of the frames
// they send, in window.__sent; the values other tabs write to the
// widget's said key, in window.__said (this listener runs before the widget's, in one dispatch)
const TRACK = `(() => { const W = window.WebSocket; window.__socks = []; window.__sent = []; window.__said = []; window.__got = [];
  window.WebSocket = function (u, p) { if (window.__down) u += '-down';
    const s = p === undefined ? new W(u) : new W(u, p); const i = window.__socks.push(s) - 1;
    s.addEventListener('message', (e) => { try { window.__got.push(i + ':' + JSON.parse(e.data).type); } catch (x) {} }); return s; };
  window.WebSocket.prototype = W.prototype; Object.assign(window.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
  const send = W.prototype.send;
  W.prototype.send = function (d) { try { window.__sent.push(JSON.parse(d).type); } catch (e) {} return send.call(this, d); };
  addEventListener('storage', (e) => /:said$/.test(e.key || '') && window.__said.push(e.newValue)); })();`;

// w's embed in page, the panel open and connected.
async function openPanel(page, w, host) {
  await page.goto(host.widgetEmbedUrl(w.widget_id));
  await waitReady(page);
  await page.click(part('launcher'));
  await waitConnected(page);
}

// openPanel, the page's sockets tracked.
async function openTracked(page, w, host) {
  await page.addInitScript(TRACK);
  await openPanel(page, w, host);
}

// How many histories the widget has shown (its parley:history events,
// the page probes' window.__events), and a wait for more than n: a
// resume's history replaces the list, and gives back or keeps the text area.
const histories = (page) => page.evaluate(() => window.__events.filter((e) => e.name === 'history').length);
const historyAfter = (page, n) => page.waitForFunction((k) => window.__events.filter((e) => e.name === 'history').length > k, n, { timeout: 10000 });

// n messages shown, the last one done. A timeout says what the page
// showed then, and its sockets' frames (tracked pages: TRACK).
const hasDone = (page, n) => page.waitForFunction((k) => {
  const m = window.ParleyChat.messages();
  return m.length === k && m[k - 1].state === 'done';
}, n, { timeout: 10000 }).catch(sayingPage(page, () => ({ shown: window.ParleyChat.messages().map((m) => `${m.role} ${m.state}: ${m.content}`),
  socks: (window.__socks || []).map((k) => k.readyState), sent: window.__sent, got: window.__got, said: window.__said })));

// openTracked, then text sent: its reply streaming.
async function sendStreaming(page, w, host, text) {
  await openTracked(page, w, host);
  await page.fill(part('input'), text);
  await page.press(part('input'), 'Enter');
  await streaming(page);
}

describe('widget reliability: lost sockets, cut replies, the title, offline', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  let browser;
  before(async () => { ({ stack, browser } = await startSuite({ mock: { chunks: 8, delayMs: 5 } })); });
  after(() => stopSuite({ stack, browser }));
  const admin = (m, p, b) => adminApi(stack, m, p, b);
  const widget = async (body) => (await admin('POST', '/v1/admin/widgets', { allowed_origins: [], contact_info_mode: 'none', ...body })).json;
  // The panel opened, text sent and answered, then Dana takes the conversation over: its summary.
  async function handedToDana(page, text) {
    await page.click(part('launcher'));
    await waitConnected(page);
    await page.fill(part('input'), text);
    await page.press(part('input'), 'Enter');
    await hasDone(page, 2);
    const conv = (await admin('GET', '/v1/admin/conversations?limit=50')).json.conversations.find((c) => c.lastVisitorMessage === text);
    assert.equal((await admin('POST', `/v1/admin/conversations/${conv._id}/handoff`, { state: 'human', name: 'Dana' })).status, 200);
    await page.waitForFunction(() => /Dana/.test(document.getElementById('parley-chat-widget').shadowRoot
      .querySelector('[data-part="handoff-status"]').textContent), null, { timeout: 5000 });
    return conv;
  }

  test('a reply cut off by a lost socket shows as stopped after the reconnect and after a reload', async () => {
    const w = await widget({ name: 'R' });
    const { ctx, page } = await openPage(browser);
    try {
      await sendStreaming(page, w, stack.host, 'slow one [[mock:chunks=12,delay=400]]');
      // a few tokens in, the connection goes (as a network drop ends it)
      await page.evaluate(() => window.__socks[window.__socks.length - 1].close());
      await page.waitForFunction(() => window.__socks.length >= 2, null, { timeout: 10000 });
      await waitConnected(page, 20000);
      // the resume's history has the reply as stored: interrupted
      await page.waitForFunction(() => {
        const m = window.ParleyChat.messages();
        return m.length === 2 && m[1].state !== 'streaming' && m[1].state !== 'pending';
      }, null, { timeout: 10000 });
      const r = await lastReply(page);
      assert.equal(r.state, 'stopped', `the cut reply is not shown as a finished answer: ${JSON.stringify(r)}`);
      assert.ok(r.text.endsWith('Stopped.') && r.text.length > 'Stopped.'.length, `its words and the note: ${r.text}`);
      await page.reload();
      await waitReady(page);
      await waitConnected(page, 10000);
      await page.waitForFunction(() => window.ParleyChat.messages().length === 2, null, { timeout: 10000 });
      assert.equal((await lastReply(page)).state, 'stopped', 'after a reload too');
    } finally { await ctx.close(); }
  });

  // Every `error` names the client frame it answers (`frame`): only the
  // turn's ("message"; none from an older server) ends the reply being
  // written. The server's reply to another frame (a thumb, a late confirm)
  // sent while a reply streams is made here, by the page's socket routed:
  // it is shown, and the reply goes on in its one bubble to its end, no
  // parley:error (every error ended it: marked failed, parley:error, the
  // tools part's cards ended, and the next token opened a second bubble).
  // The turn's error still ends it (the server's frames of that turn after
  // it dropped here).
  test('an error for another frame than the message leaves the reply streaming; the turn\'s ends it', async () => {
    const w = await widget({ name: 'F' });
    const { ctx, page } = await openPage(browser);
    try {
      let route = null;
      let drop = false; // the server's frames of the turn the page was told failed
      await page.routeWebSocket(/\/api\/widget\/.*\/ws/, (ws) => {
        route = ws;
        const server = ws.connectToServer();
        ws.onMessage((m) => server.send(m));
        server.onMessage((m) => {
          const type = JSON.parse(m).type;
          if (drop && /^(token|message|typing_stop)$/.test(type)) drop = type !== 'typing_stop';
          else ws.send(m);
        });
      });
      await openPanel(page, w, stack.host);
      const events = (name) => page.evaluate((n) => window.__events.filter((e) => e.name === n).map((e) => e.detail), name);
      const boxes = () => page.evaluate(() => [...document.getElementById('parley-chat-widget').shadowRoot
        .querySelectorAll('[data-part="error"]')].map((e) => e.textContent));
      const error = (o) => route.send(JSON.stringify({ type: 'error', ...o }));

      await page.fill(part('input'), 'slow one [[mock:chunks=12,delay=250]]');
      await page.press(part('input'), 'Enter');
      await streaming(page);
      error({ frame: 'feedback', code: 'feedback_not_saved', message: 'Your feedback could not be saved. Please try again.' });
      error({ frame: 'confirm', message: 'confirm: no call waits for call_x' });
      await page.waitForFunction(() => document.getElementById('parley-chat-widget').shadowRoot
        .querySelectorAll('[data-part="error"]').length === 2, null, { timeout: 5000 });
      assert.equal((await lastReply(page)).state, 'streaming', 'still written');
      await hasDone(page, 2);
      assert.deepEqual((await page.evaluate(() => window.ParleyChat.messages())).map((m) => `${m.role} ${m.state}: ${m.content}`),
        ['user : slow one [[mock:chunks=12,delay=250]]', 'assistant done: You said: slow one'], 'one bubble, the whole reply');
      assert.deepEqual(await boxes(), ['Your feedback could not be saved. Please try again.', 'confirm: no call waits for call_x'], 'both shown');
      assert.deepEqual(await events('error'), [], 'no parley:error');
      assert.equal((await events('reply')).length, 1);

      // the turn's error, named (frame "message") or not (an older server): the reply ends failed
      for (const frame of ['message', undefined]) {
        const text = `slow ${frame || 'unnamed'} [[mock:chunks=12,delay=250]]`;
        await page.fill(part('input'), text);
        await page.press(part('input'), 'Enter');
        await streaming(page);
        drop = true;
        error({ frame, code: 'model_failed', message: 'The assistant could not answer right now. Please try again.' });
        await page.waitForFunction(() => !document.getElementById('parley-chat-widget').shadowRoot
          .querySelector('[data-part="send"]').disabled, null, { timeout: 5000 });
        const m = await page.evaluate(() => window.ParleyChat.messages());
        assert.deepEqual(m.slice(-2).map((x) => `${x.role} ${x.state}`), ['user ', 'assistant error'], `${frame}: ${JSON.stringify(m)}`);
        const so = m[m.length - 1].content;
        assert.ok(so && `You said: slow ${frame || 'unnamed'}`.startsWith(so), `the words written so far: ${so}`);
        assert.equal(m[m.length - 2].content, text);
        assert.deepEqual((await events('error')).map((d) => d.error), ['The assistant could not answer right now. Please try again.'].concat(frame ? [] : ['The assistant could not answer right now. Please try again.']));
        assert.deepEqual((await boxes()).slice(-1), ['The assistant could not answer right now. Please try again.']);
        await waitFor(() => !drop, 10000, 'the server\'s turn over');
      }
    } finally { await ctx.close(); }
  });

  // The feedback and conversations parts took every error for their own:
  // the turn's error, or a thumb's while the list was asked for, took back
  // a thumb still on its way, enabled the rating's Send again, or wrote
  // another frame's words in the list's note. Each now answers only the
  // errors of its own frames (`frame`: feedback, rating; conversations);
  // theirs show as before. The page's frames are held here, unanswered.
  test('an error for another frame leaves the feedback and conversations parts as they were; their own frames\' errors show there', async () => {
    const w = await widget({ name: 'E', feedback_enabled: true, rating_enabled: true });
    const { ctx, page } = await openPage(browser);
    try {
      let route = null;
      const held = new Set(); // the types of the page's frames not passed on
      const sent = [];
      await page.routeWebSocket(/\/api\/widget\/.*\/ws/, (ws) => {
        route = ws;
        const server = ws.connectToServer();
        ws.onMessage((m) => {
          const type = JSON.parse(m).type;
          sent.push(type);
          if (!held.has(type)) server.send(m);
        });
        server.onMessage((m) => ws.send(m));
      });
      await openPanel(page, w, stack.host);
      await page.fill(part('input'), 'thumbs for this');
      await page.press(part('input'), 'Enter');
      await hasDone(page, 2);
      // Errors answering frames, each shown by the core (its own box):
      // once all are there, every part has had them too.
      let n = 0;
      const errors = async (...frames) => {
        const texts = frames.map((frame) => {
          const message = `error ${++n} of ${frame || 'no frame'}`;
          route.send(JSON.stringify({ type: 'error', message, ...(frame ? { frame } : {}) }));
          return message;
        });
        await page.waitForFunction((t) => {
          const shown = [...document.getElementById('parley-chat-widget').shadowRoot.querySelectorAll('[data-part="error"]')]
            .map((e) => e.textContent);
          return t.every((x) => shown.includes(x));
        }, texts, { timeout: 5000 });
      };
      const sentOne = (type) => waitFor(() => sent.includes(type), 5000, `${type} sent`);
      const others = ['message', 'confirm', 'open_conversation', undefined];

      // A thumb on its way (its frame held): others' errors leave it pressed;
      // its own refusal shows the server's value again (none).
      held.add('feedback');
      const up = `${part('thumbs')} button[value="up"]`;
      await page.waitForSelector(up, { timeout: 5000 });
      await page.click(up);
      await sentOne('feedback');
      assert.equal(await page.getAttribute(up, 'aria-pressed'), 'true');
      await errors(...others, 'rating', 'conversations');
      assert.equal(await page.getAttribute(up, 'aria-pressed'), 'true', 'still pressed: no answer to it yet');
      await errors('feedback');
      await page.waitForSelector(`${up}[aria-pressed="false"]`, { timeout: 5000 });

      // A rating on its way: its Send stays disabled through others' errors,
      // enabled again by its own; then it is sent, and thanked.
      held.add('rating');
      assert.equal(await page.evaluate(() => window.ParleyChat.rate()), true);
      await page.locator(`${part('rating')} input[value="4"]`).check();
      const save = `${part('rating')} [data-part="save"]`;
      await page.click(save);
      await sentOne('rating');
      assert.equal(await page.isDisabled(save), true);
      await errors(...others, 'feedback', 'new_conversation');
      assert.equal(await page.isDisabled(save), true, 'still waiting for the rating\'s answer');
      await errors('rating');
      await page.waitForSelector(`${save}:not([disabled])`, { timeout: 5000 });
      held.delete('rating');
      await page.click(save);
      await page.waitForSelector(part('rated'), { timeout: 5000 });

      // The earlier conversations asked for (a New first: the one left
      // is an earlier one, and "Earlier" shows): others' errors leave the
      // list's note empty; the list's own refusal is said there.
      await page.click(part('new-conversation'));
      await page.waitForSelector(part('earlier'), { state: 'visible', timeout: 5000 });
      held.add('conversations');
      await page.click(part('earlier'));
      await sentOne('conversations');
      const note = () => page.textContent(part('conv-note'));
      await errors(...others, 'feedback', 'rating');
      assert.equal(await note(), '', 'nothing of other frames in the list\'s note');
      await errors('conversations');
      assert.equal(await note(), `error ${n} of conversations`);
    } finally { await ctx.close(); }
  });

  // The worker streaming the reply killed (kill -9): the widget connects
  // again, to a replacement, and its question is not left hanging: storaged
  // ends the lost turn (docs/internals.md, "Worker life"), and the widget
  // shows the reply stopped, from the history or as it is stored.
  test('the worker streaming a reply killed: the reply shows as stopped, not left unanswered', async () => {
    const w = await widget({ name: 'K' });
    const { ctx, page } = await openPage(browser);
    try {
      await sendStreaming(page, w, stack.host, 'a long one [[mock:chunks=60,delay=250]]');
      const p = stack.parley;
      const old = p.workerPids();
      for (const pid of old) process.kill(pid, 'SIGKILL');
      await p.waitWorkerCount(2, 15000, (now) => !now.some((x) => old.includes(x)));
      await waitConnected(page, 20000);
      await page.waitForFunction(() => {
        const m = window.ParleyChat.messages();
        return m.length === 2 && m[1].state === 'stopped';
      }, null, { timeout: 15000 });
      assert.deepEqual(await lastReply(page), { state: 'stopped', text: 'Stopped.' });
    } finally { await ctx.close(); }
  });

  // The proactive message is not stored: a resume's history used to put it
  // below the whole conversation, as if the assistant had just said it.
  test('the proactive message keeps its place when a reconnect replaces the list', async () => {
    const w = await widget({ name: 'P', proactive_message: 'PROACTIVE hello', proactive_delay_s: 0 });
    const { ctx, page } = await openPage(browser);
    const texts = () => page.evaluate(() => window.ParleyChat.messages().map((m) => `${m.role}: ${m.content}`));
    try {
      await openTracked(page, w, stack.host);
      await page.waitForFunction(() => document.getElementById('parley-chat-widget').shadowRoot.querySelector('[data-proactive]'), null, { timeout: 10000 });
      for (const q of ['first question', 'second question']) {
        const k = (await texts()).length;
        await page.fill(part('input'), q);
        await page.press(part('input'), 'Enter');
        await page.waitForFunction((n) => { const m = window.ParleyChat.messages(); return m.length === n + 2 && m[n + 1].state === 'done'; }, k, { timeout: 10000 });
      }
      const shown = await texts();
      assert.equal(shown[0], 'assistant: PROACTIVE hello');
      assert.equal(shown.length, 5);
      // each history the widget renders (the resume's), counted
      await page.evaluate(() => { window.__hist = 0; document.getElementById('parley-chat-widget').addEventListener('parley:history', () => window.__hist++); });
      await page.evaluate(() => window.__socks[window.__socks.length - 1].close());
      await page.waitForFunction(() => window.__hist === 1, null, { timeout: 20000 });
      assert.deepEqual(await texts(), shown, 'the same order after the reconnect');
      // Sent after it once more, then a reconnect: still first.
      await page.fill(part('input'), 'third question');
      await page.press(part('input'), 'Enter');
      await page.waitForFunction(() => { const m = window.ParleyChat.messages(); return m.length === 7 && m[6].state === 'done'; }, null, { timeout: 10000 });
      const again = await texts();
      await page.evaluate(() => window.__socks[window.__socks.length - 1].close());
      await page.waitForFunction(() => window.__hist === 2, null, { timeout: 20000 });
      assert.deepEqual(await texts(), again);
      assert.equal(again[0], 'assistant: PROACTIVE hello');
    } finally { await ctx.close(); }
  });

  test('data-api-url: a stopped reply is still stopped after a reload', async () => {
    const { ctx, page } = await openPage(browser);
    try {
      await page.goto(`${stack.host.origin}/embed.html`);
      await waitReady(page);
      await page.click(part('launcher'));
      // 2 s between chunks: the server stores what it wrote before it saw
      // the request end, the widget shows what it read before the stop,
      // and a chunk on its way at the click (400 ms apart, on a loaded
      // machine) was once in the one and not the other ("Yo", "Y").
      await page.fill(part('input'), 'stop me [[mock:chunks=12,delay=2000]]');
      await page.press(part('input'), 'Enter');
      await streaming(page);
      await page.click(part('stop'));
      await page.waitForFunction(() => window.ParleyChat.messages()[1]?.state === 'stopped', null, { timeout: 5000 });
      const before = await lastReply(page);
      // stored (interrupted) once the server has seen the request end: the
      // reload reads the history once, so not before then
      const conv = await conversationOfSession(stack.parley, await page.evaluate(() => window.ParleyChat.sessionId));
      assert.ok(conv, 'the conversation of the page\'s session');
      const s = await waitStored(stack.parley, conv._id, (msgs) => msgs.at(-1)?.status === 'interrupted', 10000);
      assert.equal(s.messages.at(-1)?.status, 'interrupted', `the stopped reply stored as interrupted: ${JSON.stringify(s.messages.at(-1))}`);
      await page.reload();
      await waitReady(page);
      await page.waitForFunction(() => window.ParleyChat.messages().length === 2, null, { timeout: 10000 });
      const r = await lastReply(page);
      assert.equal(r.state, 'stopped', `a stopped reply is not shown as a finished one after a reload: ${JSON.stringify(r)}`);
      assert.equal(r.text, before.text, 'the same words and note as before the reload');
    } finally { await ctx.close(); }
  });

  test('unread title: only the widget\'s own count comes off, the page\'s own "(5) " stays', async () => {
    const w = await widget({ name: 'U', handoff_enabled: true, unread_title: true });
    const { ctx, page } = await openPage(browser);
    try {
      await page.goto(stack.host.widgetEmbedUrl(w.widget_id));
      await waitReady(page);
      const conv = await handedToDana(page, 'unread please');
      await page.click(part('close'));
      await page.evaluate(() => { document.title = '(5) Inbox'; }); // the host app's own unread count
      await admin('POST', `/v1/admin/conversations/${conv._id}/messages`, { content: 'Dana here', name: 'Dana' });
      await page.waitForSelector(part('badge'), { state: 'visible', timeout: 5000 });
      await waitFor(async () => (await page.title()) === '(1) (5) Inbox', 5000, 'the count before the page\'s title');
      await page.click(part('launcher'));
      await waitFor(async () => (await page.title()) !== '(1) (5) Inbox', 5000, 'the count taken off on open');
      assert.equal(await page.title(), '(5) Inbox', 'the page title given back as the page had it');
      // the page's own count with the panel closed and nothing unread: left alone
      await page.click(part('close'));
      await page.evaluate(() => { document.title = '(7) Inbox'; });
      await page.evaluate(() => window.ParleyChat.destroy());
      assert.equal(await page.title(), '(7) Inbox');
    } finally { await ctx.close(); }
  });

  test('offline: the notice does not say messages cannot be sent while Send takes them', async () => {
    const w = await widget({ name: 'O' });
    const { ctx, page } = await openPage(browser);
    try {
      await page.goto(stack.host.widgetEmbedUrl(w.widget_id));
      await waitReady(page);
      await page.click(part('launcher'));
      await waitConnected(page);
      const state = () => page.evaluate(() => {
        const r = document.getElementById('parley-chat-widget').shadowRoot;
        const o = r.querySelector('[data-part="offline"]');
        return { notice: o.hidden ? '' : o.textContent, reason: o.getAttribute('data-reason'), send: !r.querySelector('[data-part="send"]').disabled };
      });
      await ctx.setOffline(true);
      await page.waitForFunction(() => document.getElementById('parley-chat-widget').shadowRoot
        .querySelector('[data-part="offline"]').getAttribute('data-reason') === 'offline', null, { timeout: 5000 });
      const off = await state();
      assert.equal(off.send, true, 'Send stays enabled offline (the open socket takes the message)');
      assert.ok(off.notice && !/cannot be sent/i.test(off.notice), `the notice matches what Send does: ${off.notice}`);
      // what it says holds: a message sent now goes through once the network is back
      await page.fill(part('input'), 'typed offline');
      await page.press(part('input'), 'Enter');
      await sleep(300);
      await ctx.setOffline(false);
      await page.waitForFunction(() => { const m = window.ParleyChat.messages(); return m.length === 2 && m[1].state === 'done'; }, null, { timeout: 15000 });
      assert.deepEqual((await page.evaluate(() => window.ParleyChat.messages())).map((m) => m.content), ['typed offline', 'You said: typed offline']);
      assert.equal((await state()).notice, '');
    } finally { await ctx.close(); }
  });

  test('a message sent on a socket that turns out dead comes back in the text area', async () => {
    const w = await widget({ name: 'D' });
    const { ctx, page } = await openPage(browser);
    const victims = [];
    try {
      await page.goto(stack.host.widgetEmbedUrl(w.widget_id));
      await waitReady(page);
      await page.click(part('launcher'));
      await waitConnected(page);
      await page.fill(part('input'), 'first');
      await page.press(part('input'), 'Enter');
      await hasDone(page, 2);
      // the worker holding the socket stops answering (a laptop asleep, a dead NAT entry)
      victims.push(...new Set(stack.parley.connectionOwners(stack.parley.workerPids()).values()));
      assert.ok(victims.length > 0, 'the worker holding the socket');
      for (const pid of victims) process.kill(pid, 'SIGSTOP');
      await page.fill(part('input'), 'my important question');
      await page.press(part('input'), 'Enter');
      await sleep(300);
      assert.equal(await page.inputValue(part('input')), '', 'sent: the text area emptied');
      // then it is gone: the socket closes, the message was never acknowledged
      const h = await histories(page);
      for (const pid of victims.splice(0)) process.kill(pid, 'SIGKILL');
      await waitConnected(page, 30000);
      await historyAfter(page, h); // the resume's history replaces the list
      const r = await page.evaluate(() => ({ msgs: window.ParleyChat.messages().map((m) => m.content),
        input: document.getElementById('parley-chat-widget').shadowRoot.querySelector('[data-part="input"]').value }));
      assert.equal(r.input, 'my important question', `given back to send again: ${JSON.stringify(r)}`);
      assert.deepEqual(r.msgs, ['first', 'You said: first'], 'not shown as sent');
      // sent again, it is answered
      await page.press(part('input'), 'Enter');
      await page.waitForFunction(() => { const m = window.ParleyChat.messages(); return m.length === 4 && m[3].state === 'done'; }, null, { timeout: 10000 });
    } finally {
      for (const pid of victims) process.kill(pid, 'SIGKILL');
      await ctx.close();
    }
  });

  // The server refuses a message and stores nothing (docs/widget-protocol.md:
  // the daily cap's daily_limit here; rate_limited, busy, resuming,
  // reply_in_progress, message_not_saved, contact_required alike): its
  // bubble goes and its words come back to the text area, before what the
  // visitor wrote meanwhile, to send again. (It stayed shown as sent, the
  // words gone with the emptied text area.)
  test('a message the server refuses (the daily cap) comes back in the text area, not shown as sent', async () => {
    const w = await widget({ name: 'C', daily_message_cap: 1 });
    const { ctx, page } = await openPage(browser);
    const state = () => page.evaluate(() => ({
      msgs: window.ParleyChat.messages().map((m) => `${m.role} ${m.state}: ${m.content}`),
      input: document.getElementById('parley-chat-widget').shadowRoot.querySelector('[data-part="input"]').value,
      error: [...document.getElementById('parley-chat-widget').shadowRoot.querySelectorAll('[data-part="error"]')].map((e) => e.textContent),
      send: !document.getElementById('parley-chat-widget').shadowRoot.querySelector('[data-part="send"]').disabled,
    }));
    const answered = ['user : first', 'assistant done: You said: first'];
    try {
      await openPanel(page, w, stack.host);
      await page.fill(part('input'), 'first');
      await page.press(part('input'), 'Enter');
      await hasDone(page, 2);
      // the cap reached: the next is refused
      await page.fill(part('input'), 'my second question');
      await page.press(part('input'), 'Enter');
      await page.waitForSelector(part('error'), { timeout: 10000 });
      let r = await state();
      assert.deepEqual(r.msgs, answered, `no bubble for it, no failed reply: ${JSON.stringify(r)}`);
      assert.equal(r.input, 'my second question', 'its words back in the text area');
      assert.equal(r.error.length, 1);
      assert.match(r.error[0], /daily message limit/, 'the server\'s words');
      assert.ok(r.send, 'Send free');
      // sent while the visitor has written more: theirs stays, after it
      await page.evaluate(() => window.ParleyChat.send('a third'));
      r = await state();
      assert.deepEqual(r.msgs, answered, JSON.stringify(r));
      assert.equal(r.input, 'a third\nmy second question');
      assert.equal(r.error.length, 1);
      // the cap lifted: what came back goes, and is answered
      assert.equal((await admin('PATCH', `/v1/admin/widgets/${w.widget_id}`, { daily_message_cap: null })).status, 200);
      await page.fill(part('input'), 'my second question');
      await page.press(part('input'), 'Enter');
      await hasDone(page, 4);
      r = await state();
      assert.deepEqual(r.msgs, [...answered, 'user : my second question', 'assistant done: You said: my second question']);
      assert.deepEqual(r.error, [], 'the error went with the next message');
    } finally { await ctx.close(); }
  });

  test('while a person answers, a stored message stays sent when the socket closes later', async () => {
    const w = await widget({ name: 'P', handoff_enabled: true });
    const { ctx, page } = await openPage(browser);
    try {
      await page.addInitScript(TRACK);
      await page.goto(stack.host.widgetEmbedUrl(w.widget_id));
      await waitReady(page);
      const conv = await handedToDana(page, 'person please');
      await page.fill(part('input'), 'for Dana');
      await page.press(part('input'), 'Enter');
      await waitFor(async () => (await admin('GET', `/v1/admin/conversations/${conv._id}`)).json.messages.some((m) => m.content === 'for Dana'), 5000, 'stored');
      await sleep(300);
      const h = await histories(page);
      await page.evaluate(() => window.__socks[window.__socks.length - 1].close());
      await page.waitForFunction(() => window.__socks.length >= 2, null, { timeout: 10000 });
      await waitConnected(page, 20000);
      await historyAfter(page, h);
      assert.equal(await page.inputValue(part('input')), '', 'not given back: the server said it is stored');
      assert.deepEqual((await page.evaluate(() => window.ParleyChat.messages())).map((m) => m.content), ['person please', 'You said: person please', 'for Dana']);
    } finally { await ctx.close(); }
  });

  // A widget made of body, a visitor's browser (one context: one storage)
  // and its first tab, whose 'old words' are answered: {w, url, ctx, a};
  // the caller closes ctx (closed here when this fails).
  async function oldWordsSaid(body) {
    const w = await widget(body);
    const url = stack.host.widgetEmbedUrl(w.widget_id);
    const ctx = await browser.newContext();
    try {
      const a = await tab(ctx, url);
      await say(a, 'old words');
      await hasDone(a, 2);
      return { w, url, ctx, a };
    } catch (e) {
      await ctx.close();
      throw e;
    }
  }

  // A tab of the visitor's (one browser: one storage), its sockets tracked,
  // its panel open and connected unless open is false.
  async function tab(ctx, url, open = true) {
    const page = await ctx.newPage();
    page.setDefaultTimeout(10000);
    await page.addInitScript(TRACK);
    await page.goto(url);
    await waitReady(page);
    // (the panel opens as the visitor's last tab left it)
    if (open && !(await page.evaluate(() => window.ParleyChat.isOpen))) await page.click(part('launcher'));
    if (open) await waitConnected(page);
    return page;
  }
  const say = async (page, text) => { await page.fill(part('input'), text); await page.press(part('input'), 'Enter'); };
  const shown = (page) => page.evaluate(() => window.ParleyChat.messages().map((m) => `${m.role}: ${m.content}`));
  // Tab x says first, then tab y: each shows the other's words and both
  // replies, in one conversation. Returns the four lines shown.
  async function takeTurns(x, y, first, second) {
    await say(x, first);
    await hasDone(x, 2);
    const both = [`user: ${first}`, `assistant: You said: ${first}`];
    await hasDone(y, 2);
    assert.deepEqual(await shown(y), both);
    await say(y, second);
    await hasDone(y, 4);
    await hasDone(x, 4);
    const all = [...both, `user: ${second}`, `assistant: You said: ${second}`];
    assert.deepEqual(await shown(x), all);
    return all;
  }
  const sockets = (page) => page.evaluate(() => window.__socks.length);
  // The page reloaded, connected, with n messages shown, the last done.
  async function reloaded(page, n) {
    await page.reload();
    await waitReady(page);
    await waitConnected(page);
    await hasDone(page, n);
  }
  // A widget with an identity secret: its embed's url, and as(id), what
  // signs a page's visitor in as user id (data-user-id and its hash).
  async function signedWidget(name) {
    const w = await widget({ name });
    const secret = (await admin('POST', `/v1/admin/widgets/${w.widget_id}/identity-secret`)).json.identity_secret;
    const as = (id) => `&user-id=${id}&user-hash=${crypto.createHmac('sha256', secret).update(id).digest('hex')}`;
    return { url: stack.host.widgetEmbedUrl(w.widget_id), as };
  }

  // The server charges a client's resumes the history they replay (a
  // budget of five whole ones in 10 s): a small conversation resumes on
  // every page however quickly the visitor goes (a count of 5 in 10 s
  // refused the sixth page's, and its socket reconnected).
  test('a visitor going quickly from page to page: each of 10 pages resumes the conversation on its first socket', async () => {
    const w = await widget({ name: 'N' });
    const { ctx, page } = await openPage(browser);
    try {
      await openTracked(page, w, stack.host);
      await say(page, 'before the pages');
      await hasDone(page, 2);
      for (let i = 0; i < 10; i++) {
        await reloaded(page, 2);
        assert.equal(await sockets(page), 1, `page ${i + 1}: resumed on its first socket`);
      }
      assert.deepEqual(await shown(page), ['user: before the pages', 'assistant: You said: before the pages']);
    } finally { await ctx.close(); }
  });

  test('two tabs of one visitor: what one says, and its answer, show in the other, once in each', async () => {
    const w = await widget({ name: 'T' });
    const { ctx, page } = await openPage(browser);
    const said = (pg) => pg.evaluate(() => window.ParleyChat.messages().map((m) => `${m.role}: ${m.content} (${m.state})`));
    try {
      await openPanel(page, w, stack.host);
      await say(page, 'from the first tab');
      await hasDone(page, 2);
      // the same browser's second tab: the same session (its storage)
      const page2 = await ctx.newPage();
      await page2.goto(stack.host.widgetEmbedUrl(w.widget_id));
      await waitReady(page2);
      // (it opens as the first tab left it: open)
      await waitConnected(page2);
      await hasDone(page2, 2);
      await say(page, 'again from the first');
      await hasDone(page, 4);
      await hasDone(page2, 4);
      await say(page2, 'and from the second');
      await hasDone(page2, 6);
      await hasDone(page, 6);
      await sleep(300);
      const one = await said(page);
      assert.deepEqual(one, [
        'user: from the first tab (done)', 'assistant: You said: from the first tab (done)',
        'user: again from the first (done)', 'assistant: You said: again from the first (done)',
        'user: and from the second (done)', 'assistant: You said: and from the second (done)',
      ].map((x) => x.replace(/^user: (.*) \(done\)$/, 'user: $1 ()')));
      assert.deepEqual(await said(page2), one);
    } finally { await ctx.close(); }
  });

  // Either tab may say the first words: the other takes the conversation up.
  for (const first of [0, 1]) {
    test(`two tabs opened before the first message, the ${first ? 'second' : 'first'} writing: the conversation is the visitor's in both, and after a reload`, async () => {
      const w = await widget({ name: `T${first}` });
      const url = stack.host.widgetEmbedUrl(w.widget_id);
      const ctx = await browser.newContext();
      try {
        const page = await tab(ctx, url);
        // a second tab before anything is said: the first's session is not stored yet
        const page2 = await tab(ctx, url);
        const [a, b] = first ? [page2, page] : [page, page2];
        // the other tab is told, and what it says next is in the same conversation
        const all = await takeTurns(a, b, 'first words', 'second words');
        // the next page of the tab that wrote first resumes the conversation
        await reloaded(a, 4);
        assert.deepEqual(await shown(a), all);
        const convs = (await admin('GET', `/v1/admin/conversations?widget=${encodeURIComponent(w.id)}`)).json.conversations;
        assert.equal(convs.length, 1, `one conversation: ${JSON.stringify(convs.map((c) => c.lastVisitorMessage))}`);
      } finally { await ctx.close(); }
    });
  }

  test('tabs of signed-in users take up no other tab\'s session: Bob\'s tab never gets Alice\'s, nor does an anonymous tab, and Alice\'s reload keeps hers', async () => {
    const { url, as } = await signedWidget('Signed');
    const ctx = await browser.newContext();
    try {
      const bob = await tab(ctx, url + as('bob'));
      const alice = await tab(ctx, url + as('alice'));
      await say(alice, 'alice: 1 Main St');
      await hasDone(alice, 2);
      // (a tab taking it up would have opened its socket by now)
      assert.deepEqual(await shown(bob), []);
      assert.equal(await sockets(bob), 1);
      await reloaded(alice, 2);
      assert.deepEqual(await shown(alice), ['user: alice: 1 Main St', 'assistant: You said: alice: 1 Main St']);
      // a tab nobody signed in to (a session of its own: Alice's is hers)
      const anon = await tab(ctx, url);
      await say(alice, 'alice: 2 Elm St');
      await hasDone(alice, 4);
      assert.deepEqual(await shown(anon), []);
      assert.equal(await sockets(anon), 1);
    } finally { await ctx.close(); }
  });

  // ParleyChat.reset() in one tab: its new conversation is the one its
  // next page resumes, whatever the old session's tab does after.
  for (const then of ['writes', 'is taken over by a person']) {
    test(`reset() in one tab, then the old session's tab ${then}: the reset tab's reload shows its new conversation`, async () => {
      const { w, url, ctx, a } = await oldWordsSaid({ name: `Reset ${then}`, handoff_enabled: true });
      try {
        const b = await tab(ctx, url);
        await hasDone(b, 2);
        await b.evaluate(() => window.ParleyChat.reset());
        await waitConnected(b);
        await say(b, 'new words');
        await hasDone(b, 2);
        if (then === 'writes') {
          await say(a, 'old words again');
          await hasDone(a, 4);
        } else {
          const old = (await admin('GET', `/v1/admin/conversations?widget=${encodeURIComponent(w.id)}`)).json.conversations
            .find((c) => c.lastVisitorMessage === 'old words');
          assert.equal((await admin('POST', `/v1/admin/conversations/${old._id}/handoff`, { state: 'human', name: 'Dana' })).status, 200);
          await a.waitForFunction(() => /Dana/.test(document.getElementById('parley-chat-widget').shadowRoot
            .querySelector('[data-part="handoff-status"]').textContent));
        }
        await reloaded(b, 2);
        assert.deepEqual(await shown(b), ['user: new words', 'assistant: You said: new words']);
      } finally { await ctx.close(); }
    });
  }

  test('a required contact form saved in one tab while another was open: the other takes the conversation up, and may write; not asked again after a reload', async () => {
    const w = await widget({ name: 'Contact', contact_info_mode: 'required', collect_email: true });
    const url = stack.host.widgetEmbedUrl(w.widget_id);
    const ctx = await browser.newContext();
    try {
      const a = await tab(ctx, url, false);
      await a.click(part('launcher'));
      await a.waitForSelector(part('contact'));
      const b = await tab(ctx, url, false);	// opens as a left it: open
      await b.waitForSelector(part('contact'));
      await a.fill(`${part('contact')} input[type=email]`, 'v@example.com');
      await a.press(`${part('contact')} input[type=email]`, 'Enter');
      await waitConnected(a);	// Send is held until the contact is saved
      await say(a, 'after the form');
      await hasDone(a, 2);
      // the other tab: the conversation, no form, Send free
      await hasDone(b, 2);
      await waitConnected(b);
      assert.deepEqual(await shown(b), await shown(a));
      await reloaded(a, 2);
      assert.equal(await a.evaluate(() => !!document.getElementById('parley-chat-widget').shadowRoot
        .querySelector('[data-part="contact"]:not([hidden])')), false);
    } finally { await ctx.close(); }
  });

  // ---- a new conversation in one tab: the others follow ----
  const sid = (page) => page.evaluate(() => window.ParleyChat.sessionId);
  const saidSeen = (page, n) => page.waitForFunction((k) => window.__said.length >= k, n);
  const empty = (page) => page.waitForFunction(() => window.ParleyChat.messages().length === 0);
  async function pressNew(page) {
    await page.waitForSelector(part('new-conversation'));
    await page.click(part('new-conversation'));
  }
  const convsOf = async (w) => (await admin('GET', `/v1/admin/conversations?widget=${encodeURIComponent(w.id)}`)).json.conversations;

  for (const first of [0, 1]) {
    test(`New in one tab: the other follows to the new conversation, and the ${first ? 'other' : 'same'} tab's first words there show in both, and after a reload`, async () => {
      const { w, url, ctx, a } = await oldWordsSaid({ name: `New ${first}` });
      try {
        const b = await tab(ctx, url);
        await hasDone(b, 2);
        await pressNew(a);
        await empty(a);
        // the other tab: the new conversation (nothing in it yet), the same session
        await empty(b);
        await waitConnected(b);
        assert.equal(await sid(b), await sid(a));
        const [x, y] = first ? [b, a] : [a, b];
        const all = await takeTurns(x, y, 'new words', 'more words');
        await reloaded(b, 4);
        assert.deepEqual(await shown(b), all);
        assert.deepEqual((await convsOf(w)).map((c) => c.lastVisitorMessage).sort(), ['more words', 'old words']);
      } finally { await ctx.close(); }
    });
  }

  // The conversations part loads beside the socket, and may come after
  // the resumed session's `history`: a tab opened on a session with no
  // conversation yet (another tab's New) still says its first words
  // there, so the other tab follows to them.
  test('New in one tab, then a tab whose conversations part loads after its history: its first words show in both', async () => {
    const { w, url, ctx, a } = await oldWordsSaid({ name: 'New, part late' });
    try {
      await pressNew(a);
      await empty(a);
      const b = await ctx.newPage();
      b.setDefaultTimeout(10000);
      await b.addInitScript(TRACK);
      let release;
      const held = new Promise((r) => { release = r; });
      await b.route(/\/widget\/parts\/conversations\.js/, async (route) => { await held; await route.continue(); });
      await b.goto(url);
      await waitReady(b);
      if (!(await b.evaluate(() => window.ParleyChat.isOpen))) await b.click(part('launcher'));
      await b.waitForFunction(() => window.__got.some((g) => g.endsWith(':history')));
      assert.equal(await b.locator(part('new-conversation')).count(), 0, 'the part not loaded yet');
      release();
      await b.waitForSelector(part('new-conversation'), { state: 'visible' });
      await waitConnected(b);
      assert.equal(await sid(b), await sid(a));
      await takeTurns(b, a, 'new words', 'more words');
    } finally { await ctx.close(); }
  });

  test('New in a signed-in user\'s tab: an anonymous tab beside it never takes her session up, nor on a said naming it', async () => {
    const { url, as } = await signedWidget('Signed new');
    const ctx = await browser.newContext();
    try {
      const anon = await tab(ctx, url);
      const alice = await tab(ctx, url + as('alice'));
      await say(alice, 'alice: 1 Main St');
      await hasDone(alice, 2);
      await pressNew(alice);
      await empty(alice);
      await say(alice, 'alice: 2 Elm St');
      await hasDone(alice, 2);
      const hers = await sid(alice);
      // nothing said in her name (she is signed in): the key's writes, as the other tab saw them
      assert.deepEqual((await anon.evaluate(() => window.__said)).filter((v) => v.startsWith(hers)), []);
      // a said naming her session (as an unguarded tab would write it): not taken up
      const key = await anon.evaluate(() => Object.keys(localStorage).find((k) => k.endsWith(':token')).replace(/token$/, 'said'));
      await alice.evaluate(([k, t]) => localStorage.setItem(k, t + ' 2'), [key, hers]);
      await anon.waitForFunction((t) => window.__said.includes(t + ' 2'), hers);
      assert.equal(await sockets(anon), 1);
      assert.notEqual(await sid(anon), hers);
      assert.deepEqual(await shown(anon), []);
    } finally { await ctx.close(); }
  });

  test('reset() in a third tab: the tabs that followed a New stay on the visitor\'s session, never take the next visitor\'s up, and follow the next New by name', async () => {
    const { w, url, ctx, a } = await oldWordsSaid({ name: 'New reset' });
    try {
      const b = await tab(ctx, url);
      const c = await tab(ctx, url);
      await hasDone(c, 2);
      const mine = await sid(a);
      await pressNew(a);
      await empty(b);
      await empty(c);
      await waitConnected(b);
      // the next visitor: a new session in c, and their words (said: its token stored)
      const socks = await sockets(b);
      await c.evaluate(() => window.ParleyChat.reset());
      await waitConnected(c);
      await say(c, 'next visitor words');
      await hasDone(c, 2);
      const theirs = await sid(c);
      await b.waitForFunction((t) => window.__said.includes(t), theirs);
      await a.waitForFunction((t) => window.__said.includes(t), theirs);
      for (const p of [a, b]) {
        assert.equal(await sid(p), mine);
        assert.deepEqual(await shown(p), []);
      }
      assert.equal(await sockets(b), socks, 'b did not take the next visitor\'s session up');
      // the visitor's tabs still share their conversation: b's words show in a
      await say(b, 'still mine');
      await hasDone(b, 2);
      await hasDone(a, 2);
      // another New in a: b follows it by name, not the stored (next visitor's) token
      await pressNew(a);
      await empty(b);
      await waitConnected(b);
      assert.equal(await sid(b), mine);
      await say(a, 'last words');
      await hasDone(b, 2);
      assert.deepEqual(await shown(b), ['user: last words', 'assistant: You said: last words']);
      assert.deepEqual(await shown(c), ['user: next visitor words', 'assistant: You said: next visitor words']);
    } finally { await ctx.close(); }
  });

  test('New with a rating form: the rating of the conversation left is stored on it, though another tab wrote first in the new one (its page resumed)', async () => {
    const { w, url, ctx, a } = await oldWordsSaid({ name: 'New rated', rating_enabled: true });
    try {
      const b = await tab(ctx, url);
      await hasDone(b, 2);
      await pressNew(a);
      await a.waitForSelector(part('rating'));
      await empty(b);
      await waitConnected(b);
      const socks = await sockets(a);
      await say(b, 'new words');
      await hasDone(b, 2);
      // a resumed (a new socket, on the new conversation), its form still there
      await hasDone(a, 2);
      assert.equal(await sockets(a), socks + 1);
      await a.locator(`${part('rating')} input[value="4"]`).check();
      await a.locator(`${part('rating')} [data-part="save"]`).click();
      await a.waitForSelector(part('rated'));
      const convs = await convsOf(w);
      const by = (m) => convs.find((c) => c.lastVisitorMessage === m);
      const rating = async (c) => (await admin('GET', `/v1/admin/conversations/${c._id}`)).json.conversation.rating;
      assert.equal((await rating(by('old words'))).score, 4);
      assert.equal(await rating(by('new words')), null);
    } finally { await ctx.close(); }
  });

  test('New pressed with the socket down: nothing sent, nothing said; the next New elsewhere is followed, never echoed', async () => {
    const { w, url, ctx, a } = await oldWordsSaid({ name: 'New down' });
    try {
      const b = await tab(ctx, url);
      await hasDone(b, 2);
      await a.waitForSelector(part('new-conversation'));
      // a's socket down, and kept down
      await a.evaluate(() => { window.__down = true; window.__socks[window.__socks.length - 1].close(); });
      await a.waitForFunction(() => document.getElementById('parley-chat-widget').shadowRoot.querySelector('[data-part="send"]').disabled);
      const before = await b.evaluate(() => window.__said.length);
      const key = await a.evaluate(() => Object.keys(localStorage).find((k) => k.endsWith(':said')) || '');
      const was = await a.evaluate((k) => localStorage.getItem(k), key);
      await pressNew(a);
      assert.equal(await a.evaluate((k) => localStorage.getItem(k), key), was, 'nothing said');
      assert.deepEqual(await shown(a), ['user: old words', 'assistant: You said: old words']);
      await a.evaluate(() => { window.__down = false; window.dispatchEvent(new Event('online')); });
      await waitConnected(a, 20000);
      await hasDone(a, 2);
      assert.equal(await b.evaluate(() => window.__said.length), before);
      // the New of the other tab: a follows, sends no New of its own
      await pressNew(b);
      await empty(b);
      await empty(a);
      await waitConnected(a);
      await say(a, 'fresh words');
      await hasDone(a, 2);
      await hasDone(b, 2);
      assert.deepEqual(await a.evaluate(() => window.__sent.filter((t) => t === 'new_conversation')), []);
      await say(b, 'and more');
      await hasDone(b, 4);
      await hasDone(a, 4);
      assert.deepEqual((await convsOf(w)).map((c) => c.lastVisitorMessage).sort(), ['and more', 'old words']);
    } finally { await ctx.close(); }
  });

  test('an anonymous tab beside a signed-in one: what it says does not take the signed-in user\'s place in the browser', async () => {
    const { url, as } = await signedWidget('Anon beside');
    const ctx = await browser.newContext();
    try {
      const anon = await tab(ctx, url);
      const alice = await tab(ctx, url + as('alice'));
      await say(alice, 'alice: 1 Main St');
      await hasDone(alice, 2);
      await say(anon, 'anon words');
      await hasDone(anon, 2);
      await reloaded(alice, 2);
      assert.deepEqual(await shown(alice), ['user: alice: 1 Main St', 'assistant: You said: alice: 1 Main St']);
    } finally { await ctx.close(); }
  });
});
