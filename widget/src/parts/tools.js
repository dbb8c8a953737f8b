// Part "tools" (data-widget mode): the assistant's tool calls in the chat,
// and the page's own tools. Loaded by the first `tool` frame, or by
// ParleyChat.registerTools(); the core hands it every `tool` frame, in
// order (docs/widget-protocol.md):
//   running   "Looking up…" (T.toolRunning) under the reply being written,
//             until the call is done or failed, or the reply ends
//   confirm   an action that changes data asks first: a card before that
//             reply, the server's summary (text, one line a line) and
//             "Yes, do it" / "No"; a click sends {type:'confirm', id, ok}
//             once, disables both and says the answer. A card still
//             unanswered when its call ends (the server waits 120 s), the
//             reply ends, or the socket is a new one, can no longer be
//             answered: its buttons are disabled
//   contact   the assistant asks for the visitor's contact details: the
//             forms part's contact form, with the server's summary (why)
//             as its text; saved, the server ends the call itself; skipped,
//             {type:'confirm', id, ok:false}. Hidden when its call fails
//             (the server waits 120 s) or the reply ends
//   page      the page's own tool of that name runs with the arguments;
//             its answer goes back as {type:'tool_result', id, result} (a
//             string: JSON for anything else, at most 16384 characters),
//             or {…, error} when it throws, rejects, is not there or takes
//             more than 14 s (the server waits 15)
// The page's tools are offered ({type:'tools'}) at once when connected and
// again after each `session` (a socket keeps them for its own turns only).
// Returns (frame, tools): a `tool` frame, or (0, tools) to register.
import CSS from './tools.css';

// This part's texts (English; every src/lang/<code>.js has them too),
// in ctx.T once given to ctx.text.
const TEXT = {
  toolRunning: 'Looking up…',
  toolYes: 'Yes, do it',
  toolNo: 'No',
  toolAnswer: 'Your answer: {answer}',
};

const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;
const MAX = 16384; // the characters of a result (or error) sent
const WAIT = 14000; // a handler's time: the server waits 15 s for the answer
const FRAME = 60000; // bytes: the server closes a socket sent more than 64 KiB

// s cut to n characters, never between the halves of a surrogate pair.
const cut = (s, n) => (s.length > n ? s.slice(0, /[\ud800-\udbff]/.test(s[n - 1]) ? n - 1 : n) : s);
const bytes = (s) => new TextEncoder().encode(s).length;

// JSON.stringify(v) without the page's Array.prototype.toJSON, which
// Prototype.js sets (it writes an array as a string): left out meanwhile.
function json(v) {
  const A = Array.prototype;
  const t = A.toJSON;
  try {
    delete A.toJSON;
    return JSON.stringify(v);
  } finally {
    if (t && A.toJSON !== t) A.toJSON = t;
  }
}

// The page's values made again from their JSON text (json()), each array
// with a toJSON of its own that is none: the core's JSON.stringify of the
// frame then writes them as arrays whatever the page set.
const fresh = (text) => JSON.parse(text, (k, x) => (Array.isArray(x) && (x.toJSON = undefined), x));

export default function (ctx) {
  const { h, list, on } = ctx;
  const T = ctx.text(TEXT);
  ctx.css(CSS);
  const busy = []; // the names of the calls running (one entry a call)
  let line = null; // "Looking up…", in the reply being written
  const open = new Set(); // the cards waiting for an answer
  let n = 0; // for the cards' ids
  let mine = null; // the page's tools by name (registerTools), null before
  let offer = null; // their `tools` frame

  // The reply being written: the core's pending or streaming bubble.
  const reply = () => list.querySelector('[data-part=message][aria-busy]');

  // The status line shows while a call runs, in the reply being written.
  function status() {
    const m = busy.length ? reply() : null;
    if (line && line.parentNode !== m) {
      line.remove();
      line = null;
    }
    if (m && !line) line = m.appendChild(h('span', { 'data-part': 'tool-status' }, T.toolRunning));
  }

  function done(name) {
    const i = busy.indexOf(name);
    if (i >= 0) busy.splice(i, 1);
  }

  // The reply ended (or the socket is a new one): nothing runs any more,
  // and an unanswered card can no longer be answered.
  function end() {
    busy.length = 0;
    status();
    for (const c of open) c.expire();
    const form = ctx.form();
    if (form && form.ask) ctx.hideForm(false); // its call has ended
  }

  // confirm: the card, before the reply being written.
  function ask(f) {
    const id = 'pc-confirm-' + ++n;
    const lines = String(f.summary || f.name || '').split('\n').filter((x) => x.trim());
    const yes = h('button', { type: 'button', 'data-part': 'confirm-yes' }, T.toolYes);
    const no = h('button', { type: 'button', 'data-part': 'confirm-no' }, T.toolNo);
    const card = h('div', { 'data-part': 'confirm', 'data-state': 'asking', 'data-id': String(f.id), role: 'group', 'aria-labelledby': id }, [
      h('div', { id, 'data-part': 'confirm-summary', dir: 'auto' }, lines.map((x) => h('p', 0, x))),
      h('div', { 'data-part': 'confirm-buttons' }, [yes, no]),
    ]);
    const settle = (state) => {
      open.delete(card);
      yes.disabled = no.disabled = true;
      card.setAttribute('data-state', state);
    };
    card.expire = () => settle('expired');
    const answer = (ok) => {
      if (card.getAttribute('data-state') !== 'asking' || !ctx.wsSend({ type: 'confirm', id: f.id, ok })) return;
      const focused = card.contains(ctx.root.getRootNode().activeElement);
      settle(ok ? 'yes' : 'no');
      (ok ? yes : no).setAttribute('data-chosen', '');
      const said = T.toolAnswer.replace('{answer}', ok ? T.toolYes : T.toolNo);
      card.append(h('p', { 'data-part': 'confirm-answer' }, said));
      ctx.announce(said);
      if (ok) busy.push(f.name); // it runs now: its done or failed follows
      status();
      if (focused) ctx.input.focus(); // the disabled button would lose it
    };
    on(yes, 'click', () => answer(true));
    on(no, 'click', () => answer(false));
    open.add(card);
    const stick = list.scrollHeight - list.scrollTop - list.clientHeight < 48;
    const m = reply();
    if (m) list.insertBefore(card, m);
    else ctx.add(card);
    if (stick) list.scrollTop = list.scrollHeight;
    ctx.announce(lines.join('. '));
  }

  // page: the page's handler runs; its answer (or why not) goes back.
  async function run(f) {
    const tool = mine && mine[f.name];
    let a;
    let timer = 0;
    try {
      if (!tool) throw new Error('this page has no tool named ' + f.name);
      const r = await Promise.race([
        new Promise((ok) => ok(tool.handler(f.arguments && typeof f.arguments === 'object' ? f.arguments : {}))),
        new Promise((ok, no) => (timer = setTimeout(no, WAIT, new Error('the page did not answer in time')))),
      ]);
      const s = typeof r === 'string' ? r : json(r);
      a = { result: s === undefined ? '' : s };
    } catch (e) {
      a = { error: String((e && e.message) || e || 'failed') };
    }
    clearTimeout(timer);
    const k = 'result' in a ? 'result' : 'error';
    let s = cut(a[k], MAX);
    // control characters escaped in JSON take six bytes each: a frame over
    // 64 KiB would close the socket
    while (bytes(JSON.stringify(s)) > FRAME) s = cut(s, s.length >> 1);
    ctx.wsSend({ type: 'tool_result', id: f.id, [k]: s });
  }

  function frame(f) {
    if (f.status === 'running') busy.push(f.name);
    else if (f.status === 'page') run(f);
    else if (f.status === 'contact') {
      done(f.name); // the visitor's to fill
      ctx.part('forms').then((show) => show && show('contact', f));
    }
    else {
      // A card still asking whose call has ended (the server's wait for
      // the answer is over) can no longer be answered, nor the contact
      // form the call asked for; else a call ended, or one the visitor is
      // to confirm.
      const c = [...open].find((x) => x.getAttribute('data-id') === String(f.id));
      const form = ctx.form();
      if (c) c.expire();
      else if (f.status === 'failed' && form && form.ask === f.id) ctx.hideForm(false);
      else done(f.name);
      if (f.status === 'confirm') ask(f);
    }
    status();
  }

  // tools: {name: {description, parameters, handler}}; false (and the
  // console says why) when the server would refuse them.
  function register(tools) {
    const by = Object.create(null);
    const list = [];
    let why = '';
    if (!ctx.wsMode) why = 'only a data-widget embed has them';
    for (const [name, t] of Object.entries(tools || {})) {
      const d = t && typeof t.description === 'string' ? t.description : '';
      if (!NAME_RE.test(name) || /^(transfer_to_human|search_knowledge|collect_contact)$/.test(name)) why = name + ': a name is 1-64 of A-Z a-z 0-9 _ -';
      else if (!t || typeof t.handler !== 'function') why = name + ': no handler';
      else if (!d.trim() || bytes(d) > 1000) why = name + ': a description is 1 to 1000 bytes';
      else if (t.parameters != null && (typeof t.parameters !== 'object' || Array.isArray(t.parameters))) why = name + ': parameters is a JSON Schema object';
      by[name] = t;
      list.push({ name, description: d, parameters: t && t.parameters ? t.parameters : { type: 'object', properties: {} } });
    }
    let text = ''; // the tools' JSON, once: measured, then the frame's
    if (list.length > 8) why = 'at most 8';
    else if (!why && bytes((text = json(list))) > 15000) why = 'at most 16 KiB as JSON';
    if (why) {
      console.warn('[parley] registerTools:', why);
      return false;
    }
    mine = by;
    offer = { type: 'tools', tools: fresh(text) };
    ctx.wsSend(offer); // not connected: after the next session
    return true;
  }

  ctx.onFrame('session', () => {
    end();
    if (offer) ctx.wsSend(offer);
  });
  ctx.onFrame('typing_stop', (f) => f.role || f.copy || end()); // (a person's, another tab's: not this turn's)
  on(ctx.host, 'parley:reply', end);
  on(ctx.host, 'parley:error', end);

  return (f, tools) => (f ? frame(f) : register(tools));
}
