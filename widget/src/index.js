// Parley chat widget: one script tag, two ways to talk to the server.
//
//   Open Chat Widget compatible (HTTP, NDJSON stream, API key):
//   <script src="https://chat.example.com/widget/chat-widget.js"
//           data-api-url="https://chat.example.com/chat"
//           data-api-key="…" defer></script>
//
//   Loquent compatible (config from the server, WebSocket, no key):
//   <script src="https://chat.example.com/api/widget/embed.js"
//           data-widget="wid_…"></script>
//
// See widget/README.md for every attribute, the JS API, the events and the
// data-part hooks tests use.

import CSS from './widget.css';
import { doc, h, icon } from './dom.js';
import { markdown } from './markdown.js';
import { shown, visitorInfo } from './net.js';

const VERSION = typeof __VERSION__ === 'string' ? __VERSION__ : 'dev';
const BUILD = typeof __BUILD__ === 'string' ? __BUILD__ : 'dev'; // the parts' hash (build.mjs)
const SESSION_KEY = 'os-chatbot-session-id';
const OPEN_KEY = 'os-chatbot-widget-open';
const SESSION_RE = /^[A-Za-z0-9._:-]{1,128}$/;
const COLOR_RE = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;
const DEFAULT_ACCENT = '#0ea5e9';
const WIDGET_RE = /^[A-Za-z0-9_-]{1,128}$/;
// the languages of widget/src/lang/ (English is TEXT, never loaded)
const LANG_RE = /^(en|es|pt|fr|de|it|nl|pl|tr|ar|ja|zh)(?![a-z])/;
const LOG = '[parley]';

// Visible (and spoken) strings; each one is replaced by the data-* attribute
// of the same name (dataset keys: labelSend ⇔ data-label-send).
const TEXT = {
  title: 'Assistant',
  welcomeMessage: 'Hi! Ask me anything and I will help you out.',
  inputPlaceholder: 'Type your message...',
  labelOpen: 'Open chat',
  labelClose: 'Close chat',
  labelSend: 'Send',
  labelStop: 'Stop',
  labelInput: 'Message',
  labelMessages: 'Messages',
  labelYou: 'You',
  thinkingText: 'Thinking',
  errorText: 'Something went wrong. Please try again.',
  retryText: 'Retry',
  // (not "cannot be sent": Send stays enabled, and a socket still open carries it)
  offlineText: 'You are offline. Messages may not go through.',
  stoppedText: 'Stopped.',
  // data-widget mode only
  reconnectingText: 'Reconnecting…',
  goneText: 'This chat is no longer available.',
  handoffLabel: 'Talk to a person',
  // away mode (outside business hours, or no one at the dashboard)
  awayLabel: 'Leave a message',
  agentName: 'Support',
  // setup failures: the owner's to fix (the console says how)
  unreachableText: 'Cannot connect to the chat.',
  originText: 'This chat is not available on this site.',
  disabledText: 'This chat is disabled.',
  cspText: 'This page blocks the chat.',
  // the expanded layout (the parts' own texts are theirs: ctx.text)
  labelExpand: 'Expand chat',
};

// The page's CSP blocked a request to this origin (securitypolicyviolation;
// listened to from the start, the first fetch may be the blocked one).
const blocked = {};
doc.addEventListener('securitypolicyviolation', (e) => {
  try {
    blocked[new URL(e.blockedURI).host] = 1;
  } catch (x) {
    /* not a URL: 'inline', 'eval' */
  }
});

// One console.warn per reason, naming the fix; resolves once it is said,
// so that the state the widget then shows comes after it. The lines are
// the setup part's (cold code: only a mistake needs them), but for an
// unreachable server's, whose parts could not load either: every other
// reason is an answer of the server (or a CSP that lets its scripts in).
const told = {};
let src; // the script tag (boot): the setup part is beside it
async function tell(why, o, wid, status) {
  if (told[why]) return;
  told[why] = 1;
  const u = new URL(o, location.href);
  if (why === 'unreachable') return console.warn(LOG, 'cannot connect to ' + u.origin + ': is Parley running there?');
  await load(src, 'parts/setup')
    .then((say) => say(why, u, wid, status))
    .catch(() => console.warn(LOG, why, u.origin)); // (never a rejection: a state waits on it)
}

// Why a request to url failed outright (a TypeError: no answer the page
// may read): the CSP ('csp'), else a reachable server refusing this
// origin ('origin': its 403 carries no CORS header), else no server
// ('unreachable').
async function diagnose(url) {
  const u = new URL(url, location.href);
  const r = blocked[u.host] || (await fetch(u.origin + '/health', { mode: 'no-cors', credentials: 'omit', cache: 'no-store' }).then(() => 'origin', () => 'unreachable'));
  return blocked[u.host] ? 'csp' : r;
}

const ICON_CHAT = 'M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z';
const ICON_CLOSE = 'M6 6l12 12M18 6L6 18';
const ICON_EXPAND = 'M4 10V4h6M20 14v6h-6M4 4l6 6M20 20l-6-6';

// localStorage, or nothing where it is blocked (sandboxed frame, privacy
// settings): null read, nothing persisted.
const ls = (f) => (k, v) => {
  try {
    return localStorage[f](k, v);
  } catch (e) {
    return null;
  }
};
const store = { get: ls('getItem'), set: ls('setItem'), del: ls('removeItem') };

// 128 random bits in hex (getRandomValues: randomUUID needs a secure
// context, https, and the page may be http).
function newSessionId() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (x) => (x + 256).toString(16).slice(1)).join('');
}

// Black or white, whichever contrasts more with the accent (WCAG relative
// luminance); one of them always reaches 4.5:1.
function textOn(hex) {
  let s = hex.slice(1);
  let l = 0;
  if (s.length === 3) s = s.replace(/./g, '$&$&');
  [0.2126, 0.7152, 0.0722].forEach((k, i) => {
    const c = parseInt(s.substr(2 * i, 2), 16) / 255;
    l += k * (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
  });
  return 1.05 / (l + 0.05) >= (l + 0.05) / 0.05 ? '#fff' : '#000';
}

// data-widget mode: the widget's public config comes first. Without it,
// the widget shows why when the owner can fix it (the site not allowed,
// the page's CSP, no server); a disabled widget, an unknown or reset id
// show nothing (the console says why).
async function loadConfig(script, wid) {
  if (!WIDGET_RE.test(wid)) return tell('id', script.src);
  const base = new URL(script.src, location.href).origin + '/api/widget/' + wid;
  let cfg, r;
  try {
    r = await fetch(base + '/config', { credentials: 'omit', cache: 'no-store' });
    cfg = await r.json();
  } catch (e) {
    // no answer the page may read: a site not allowed gets no CORS header
    if (r) return tell('config', base, wid);
    return [script, {}, base, await diagnose(base)];
  }
  if (r.ok && cfg && typeof cfg === 'object') return [script, cfg, base];
  // disabled on purpose, or gone (404): the console alone says so
  return tell(cfg && cfg.disabled ? 'disabled' : 'gone', base, wid, r.status);
}

// The script's origin: where the parts and language files are.
const originOf = (script) => new URL(script.src || '/', location.href).origin;

// One of the widget's ES modules (parts/<name>, lang/<code>), its default export.
const load = (script, path) => import(originOf(script) + '/widget/' + path + '.js?v=' + BUILD).then((m) => m.default);

// The language: the widget's config, else data-lang, else the page's
// <html lang>, else the browser's; the first one given that we have,
// its primary subtag whole ("arn" is not "ar"; en when none). Resolves
// [code, texts]; English loads nothing, and a file that fails to load
// leaves English (the console says why, unless the widget is broken: its
// own warning says it all).
function texts(script, cfg, broken) {
  let code = 'en';
  for (const v of [cfg && cfg.language, script.dataset.lang, doc.documentElement.lang, navigator.language]) {
    const c = String(v || '').toLowerCase();
    if (LANG_RE.test(c)) {
      code = c.slice(0, 2);
      break;
    }
  }
  return code === 'en'
    ? Promise.resolve([code, {}])
    : load(script, 'lang/' + code).then(
        (t) => [code, t],
        (e) => {
          broken || console.warn(LOG, 'language ' + code + ' not loaded, English instead:', e.message);
          return ['en', {}];
        }
      );
}

// cfg and base: data-widget mode (the public config, the widget's URL);
// broken: why it cannot chat (a key of TEXT's …Text), shown instead;
// lang: [code, texts of that language].
function mount(script, cfg, base, broken, lang) {
  const ds = script.dataset;
  const apiUrl = (ds.apiUrl || '').trim();
  const apiKey = (ds.apiKey || '').trim();
  if (!cfg && (!apiUrl || !apiKey)) {
    console.error(LOG, 'not started: the script tag needs data-widget, or data-api-url and data-api-key');
    return;
  }
  // TEXT's texts, and a part's own (ctx.text): the data-* attribute, else
  // the language's, else English
  const T = {};
  const text = (en) => {
    for (const k in en) T[k] = ds[k] && ds[k].trim() ? ds[k] : lang[1][k] || en[k];
    return T;
  };
  text(TEXT);
  let accent, accentFg, left;
  if (cfg) {
    // the owner's settings win over the tag's
    if (cfg.name) T.title = String(cfg.name);
    T.welcomeMessage = String(cfg.greeting || '');
    accent = COLOR_RE.test(cfg.primary_color) ? cfg.primary_color : '#4f46e5';
    accentFg = COLOR_RE.test(cfg.text_color) ? cfg.text_color : textOn(accent);
    left = cfg.position === 'bottom_left';
    if (cfg.handoff_label) T.handoffLabel = String(cfg.handoff_label);
  } else {
    const ac = (ds.accentColor || '').trim();
    accent = COLOR_RE.test(ac) ? ac : DEFAULT_ACCENT;
    if (ac && accent !== ac) tell('accent', apiUrl); // (the setup part's line)
    accentFg = textOn(accent);
    left = ds.position === 'left';
  }
  const wsMode = !!cfg;
  // per widget id, so two widgets of one site keep apart
  const key = (k) => 'parley:' + (wsMode ? base.slice(base.lastIndexOf('/') + 1) : 'key') + ':' + k;
  const rtl = lang[0] === 'ar';
  // ltr or rtl (the page's direction: the only values there are)
  const dir = () => (rtl ? 'rtl' : getComputedStyle(doc.body || doc.documentElement).direction);
  // inline and fullpage (data-layout; the layout part): always open
  let pinned = false;
  const openKey = wsMode ? key('open') : OPEN_KEY;

  const life = new AbortController(); // every listener and the history fetch
  const on = (t, type, fn) => t.addEventListener(type, fn, { signal: life.signal });

  // The signed-in user the page names (data-user-*, ParleyChat.identify): {id, name, email, hash, email_hash,
  // expires} (an expiring hash's Unix seconds, a number; left out when not given)
  let ident = ds.userId && { id: ds.userId, name: ds.userName, email: ds.userEmail, hash: ds.userHash, email_hash: ds.userEmailHash, expires: +ds.userExpires || void 0 };
  // o as a frame on the socket (open: the caller knows).
  const put = (o) => ws.send(JSON.stringify(o));
  const identify = () => ident && put({ ...ident, type: 'identify' });
  // A session a verified user had (its id kept beside the token) is theirs
  // alone: another user, or nobody, signed in on this browser starts anew.
  if (wsMode && store.get(key('user')) && store.get(key('user')) !== (ident ? ident.id : '')) {
    store.del(key('token'));
    store.del(key('user'));
  }
  let sessionId = store.get(wsMode ? key('token') : SESSION_KEY);
  let restore = !!sessionId && SESSION_RE.test(sessionId); // ask the server for history once
  if (!restore && !wsMode) store.set(SESSION_KEY, (sessionId = newSessionId()));

  let isOpen = false;
  let historyP = null; // the history fetch, once started
  let cur = null; // the turn in flight: {ac, m, c, text, raf, gen}
  let other = 0; // another tab's turn: the reply's typing bubble here
  // data-widget mode: the visitor's message sent, not yet acknowledged
  // (typing_start, handoff or error: the server has it)
  let unsent = null;
  let back; // the unsent message given back: stored if history has its cid
  let gen = 0; // bumped by reset(): late answers for an old session are dropped
  let lastText = ''; // what Retry sends again
  let failed = null; // the failed reply's bubble (removed by Retry)
  let errorBox = null;
  let retryTimer = 0;
  let announceTimer = 0;
  let was = false; // a session was had: a lost socket is "reconnecting"

  // ---- DOM ---------------------------------------------------------------
  const host = h('div', { id: 'parley-chat-widget', 'data-parley-widget': VERSION });
  const shadow = host.attachShadow({ mode: 'open' });
  // A style sheet for the shadow root (the core's, then the parts').
  // adoptedStyleSheets came with constructable sheets (replaceSync) in each browser.
  function css(text) {
    if (doc.adoptedStyleSheets) {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(text);
      shadow.adoptedStyleSheets = [...shadow.adoptedStyleSheets, sheet];
    } else {
      // Old browsers only; under a strict CSP this needs the script's nonce.
      shadow.append(h('style', { nonce: script.nonce || null }, text));
    }
  }
  css(CSS);

  const title = h('div', { id: 'pc-title', 'data-part': 'title' }, T.title);
  // the header's buttons: the parts' (ctx.header), then expand (bubble only)
  const tools = h('div', { 'data-part': 'tools' });
  const expandBtn = h('button', { type: 'button', 'data-part': 'expand', 'aria-label': T.labelExpand, 'aria-pressed': 'false' }, icon(ICON_EXPAND, 1));
  const closeBtn = h('button', { type: 'button', 'data-part': 'close', 'aria-label': T.labelClose }, icon(ICON_CLOSE, 1));
  // The connection notice: offline, and in data-widget mode reconnecting or gone.
  const offline = h('div', { 'data-part': 'offline', role: 'status', hidden: true });
  const welcome = bubble('assistant', T.welcomeMessage);
  welcome.setAttribute('data-welcome', '');
  welcome.hidden = !T.welcomeMessage; // a widget without a greeting
  // role=log, but not live: a finished reply is announced once through the
  // announcer below, never token by token.
  const list = h(
    'div',
    { 'data-part': 'messages', role: 'log', 'aria-live': 'off', 'aria-label': T.labelMessages, tabindex: 0 },
    welcome
  );
  const input = h('textarea', {
    'data-part': 'input',
    rows: 1,
    maxlength: 4000,
    placeholder: T.inputPlaceholder,
    'aria-label': T.labelInput,
    enterkeyhint: 'send',
  });
  const sendBtn = h('button', { type: 'button', 'data-part': 'send' }, T.labelSend);
  const stopBtn = h('button', { type: 'button', 'data-part': 'stop', hidden: true }, T.labelStop);
  const announcer = h('div', { class: 'sr', 'data-part': 'announcer', 'aria-live': 'polite', 'aria-atomic': 'true' });
  const composer = h('div', { 'data-part': 'composer' }, [input, sendBtn, stopBtn]);
  // data-widget mode, handoff: the state line (spoken when it changes) and
  // "Talk to a person" (shown after the first message, while the assistant answers).
  const handStatus = h('div', { 'data-part': 'handoff-status', role: 'status', hidden: true });
  const handBtn = h('button', { type: 'button', 'data-part': 'handoff', hidden: true }, T.handoffLabel);
  const panel = h(
    'div',
    {
      id: 'pc-panel',
      'data-part': 'panel',
      role: 'dialog',
      'aria-modal': 'false',
      'aria-labelledby': 'pc-title',
      tabindex: -1, // focused on opening on a touch screen (setOpen)
      hidden: true,
    },
    [
      h('div', { 'data-part': 'header' }, [title, tools, expandBtn, closeBtn]),
      offline,
      handStatus,
      list,
      handBtn,
      composer,
    ]
  );
  const launcher = h(
    'button',
    {
      type: 'button',
      'data-part': 'launcher',
      'aria-label': T.labelOpen,
      'aria-expanded': 'false',
      'aria-controls': 'pc-panel',
    },
    // the chat icon while closed, × while open (widget.css)
    [icon(ICON_CHAT), icon(ICON_CLOSE, 1)]
  );
  const root = h(
    'div',
    {
      'data-part': 'root',
      role: 'complementary',
      'aria-label': T.title,
      'data-position': left ? 'left' : 'right',
      'data-theme': /^(light|dark)$/.test(ds.theme) ? ds.theme : null,
      dir: dir(),
      lang: lang[0],
    },
    // the announcer outside the panel: heard while it is closed too
    [panel, launcher, announcer]
  );
  root.style.setProperty('--a', accent); // validated above; CSSOM, not CSS text
  root.style.setProperty('--af', accentFg);
  shadow.append(root);

  // ---- helpers -------------------------------------------------------------
  // A part (widget/src/parts/<name>.js), loaded once, when first needed:
  // resolves what its function returned, or undefined when it failed (the
  // console says why; the next call tries again).
  const parts = {};
  function part(name) {
    return (parts[name] =
      parts[name] ||
      load(script, 'parts/' + name)
        .then((f) => f(ctx))
        .catch((e) => {
          delete parts[name];
          console.warn(LOG, 'part ' + name + ' not loaded:', e.message);
        }));
  }

  // The tools part (data-widget mode): each `tool` frame, in order (f),
  // or the page's own tools (t, ParleyChat.registerTools).
  const toolsPart = (f, t) => part('tools').then((p) => p && p(f, t));

  // Each event's detail names the session (sessionId first).
  function emit(name, detail) {
    host.dispatchEvent(new CustomEvent('parley:' + name, { detail: { sessionId, ...detail }, bubbles: true, composed: true }));
  }

  // One message: <div data-part=message data-role data-state>
  //   <span class=sr>You: </span><div data-part=content>…</div></div>
  // A person's (role agent) shows their name: <div data-part=name>Ann</div>.
  // A history's reply of status interrupted (cut off by a lost socket, or
  // stopped) shows as a stopped one, its note after it: it never ended.
  function bubble(role, text, state, name) {
    state = { interrupted: 'stopped', pending: state }[state] || 'done';
    const c = h('div', { 'data-part': 'content', dir: 'auto' });
    const ag = role === 'agent';
    const m = h('div', { 'data-part': 'message', 'data-role': role, 'data-state': role === 'user' ? null : state }, [
      ag
        ? h('div', { 'data-part': 'name', dir: 'auto' }, String(name || T.agentName))
        : h('span', { class: 'sr' }, (role === 'user' ? T.labelYou : T.title) + ': '),
      c,
    ]);
    if (role === 'user') c.append(text);
    else if (text != null) c.append(markdown(text));
    if (state == 'stopped') note(c);
    m.c = c;
    m.t = text || ''; // the raw text, for messages()
    return m;
  }

  // the typing indicator: its words, three animated dots
  const dots = (t) => h('span', { 'data-part': 'typing' }, [t, h('i'), h('i'), h('i')]);
  const note = (c) => c.append(h('span', { 'data-part': 'note' }, T.stoppedText));

  const nearBottom = () => list.scrollHeight - list.scrollTop - list.clientHeight < 48;
  const toBottom = () => {
    list.scrollTop = list.scrollHeight;
  };
  function add(el) {
    const stick = nearBottom();
    list.append(el);
    if (stick || el.getAttribute('data-role') === 'user') toBottom();
    return el;
  }

  function grow() {
    input.style.height = '';
    input.style.height = Math.min(input.scrollHeight + 2, 140) + 'px';
  }

  // While a reply is on its way the Stop button takes the Send button's place
  // (and its focus, so a keyboard user does not lose their place).
  // (data-widget mode has no Stop: the protocol cannot cancel a reply; Send
  // is disabled instead.)
  function setBusy(b) {
    const f = shadow.activeElement;
    root.toggleAttribute('data-busy', b);
    if (wsMode) return sync();
    sendBtn.hidden = b;
    stopBtn.hidden = !b;
    if (f === (b ? sendBtn : stopBtn)) (b ? stopBtn : input).focus();
  }

  function clearError() {
    clearTimeout(retryTimer);
    if (errorBox) errorBox.remove();
    if (failed) failed.remove();
    errorBox = failed = null;
  }

  // err.show: the server's own words (data-widget mode), without Retry.
  function showError(err) {
    const wait = err.status === 429 && err.retryAfter;
    const retry = err.show ? null : h('button', { type: 'button', 'data-part': 'retry', disabled: !!wait }, T.retryText);
    errorBox = add(
      h('div', { 'data-part': 'error', role: 'alert', 'data-status': err.status || 0 }, [
        h('span', 0, err.show || err.net ? err.message : wait ? T.rateLimitText.replace(/\{seconds\}/g, wait) : T.errorText),
        retry,
      ])
    );
    if (!retry) return;
    if (wait) retryTimer = setTimeout(() => (retry.disabled = false), wait * 1000);
    retry.addEventListener('click', () => {
      const t = lastText;
      const refocus = shadow.activeElement === retry;
      clearError();
      send(t, true);
      if (refocus) input.focus();
    });
  }

  function announce(text) {
    clearTimeout(announceTimer);
    announcer.textContent = '';
    announceTimer = setTimeout(() => (announcer.textContent = text), 60);
  }

  // Re-render the reply being streamed; called at most once per frame.
  function paint(t) {
    const stick = nearBottom();
    if (t.text.length > 30000 && t.raf != null) t.c.textContent = t.text; // huge: plain text until the end
    else t.c.replaceChildren(markdown(t.text));
    if (stick) toBottom();
  }

  // data-api-url mode, when the panel opens or a message goes: the http
  // part, and the history of a stored session (once).
  function ensureHistory() {
    if (!historyP) {
      const g = gen;
      const r = restore;
      historyP = part('http').then((n) => n && r && n.restore(apiUrl, apiKey, sessionId, life.signal, () => g !== gen));
      restore = false;
    }
    return historyP;
  }

  // ---- a chat turn -----------------------------------------------------------
  // The reply's bubble, the same for both transports: begin() (pending, the
  // typing indicator) → token()… → finish().
  function begin(t) {
    t.m = add(bubble('assistant', null, 'pending'));
    t.c = t.m.c;
    t.m.setAttribute('aria-busy', 'true');
    t.c.append(dots(T.thinkingText));
    return t;
  }

  function token(t, s) {
    t.m.t = t.text += s;
    if (t.m.getAttribute('data-state') === 'pending') t.m.setAttribute('data-state', 'streaming');
    if (!t.raf)
      t.raf = requestAnimationFrame(() => {
        t.raf = 0;
        paint(t);
      });
    emit('token', { token: s, text: t.text });
  }

  // done: the final text (null when there is none: stopped, or err).
  function finish(t, done, err, conversationId) {
    cancelAnimationFrame(t.raf);
    t.raf = null; // null (not 0): paint() renders the final Markdown
    cur = null;
    const m = t.m;
    m.removeAttribute('aria-busy');
    const state = done != null ? ((t.text = done), 'done') : t.ac.signal.aborted ? 'stopped' : 'error';
    if (t.text) paint(t);
    else m.remove();
    m.t = t.text;
    m.setAttribute('data-state', state);
    if (state === 'done') {
      announce(t.c.textContent);
      emit('reply', { conversationId, text: done });
    } else if (state === 'stopped') {
      if (t.text) note(t.c);
      emit('stop', { text: t.text });
    } else {
      failed = t.text ? m : null;
      if (!err.told) console.warn(LOG, 'send failed:', err.message);
      if (!err.quiet) showError(err);
      emit('error', { error: err.message, status: err.status || 0, retryAfter: err.retryAfter || 0 });
    }
    setBusy(false);
    if (t.res) t.res(state === 'done');
    return state === 'done';
  }

  async function send(text, isRetry) {
    text = String(text == null ? '' : text).trim();
    if (!(text || att.n) || cur) return false;
    if (wsMode) {
      // not connected yet: connect first (15 s at most)
      if (!up && !gone && !broken) {
        wanted = true;
        connect();
        await new Promise((r) => setTimeout(r, 15000, waiters.push(r)));
      }
      return wsSend(text);
    }
    if (!isRetry) clearError();
    const t = { ac: new AbortController(), text: '', raf: 0, gen };
    cur = t;
    setBusy(true);
    await ensureHistory();
    if (t.gen !== gen) return false;
    if (t.ac.signal.aborted) {
      // stopped while the history loaded: nothing was sent; give the text back
      cur = null;
      setBusy(false);
      if (!isRetry && !input.value) {
        input.value = text;
        grow();
      }
      return false;
    }
    if (!isRetry) add(bubble('user', text));
    lastText = text;
    begin(t);
    emit('send', { message: text, retry: !!isRetry });

    // the stream (the http part, which says a setup failure), or why
    // there is none: the part did not load, so no server (the core came
    // from it) or a CSP that blocks its scripts
    const n = await part('http');
    const why = !n && (blocked[new URL(apiUrl, location.href).host] ? 'csp' : 'unreachable');
    const [done, err, conversationId] = n
      ? await n.turn(apiUrl, apiKey, { sessionId, message: text, visitor: visitorInfo() }, t, () => t.gen !== gen, token)
      : [null, { message: T[why + 'Text'], net: 1, told: (await tell(why, apiUrl), 1), quiet: why == 'csp', broken: why == 'csp' && why, show: why == 'csp' }];
    if (err && err.broken) {
      broken = err.broken; // the notice says it
      sync();
    }
    if (t.gen !== gen) {
      cancelAnimationFrame(t.raf); // reset() or destroy() took it away
      return false;
    }
    return finish(t, done, err, conversationId);
  }

  function submit() {
    const v = input.value;
    if (!(v.trim() || att.n) || cur || sendBtn.disabled) return; // not connected: the text stays
    input.value = '';
    grow();
    send(v);
  }

  function stop() {
    if (cur) cur.ac.abort();
  }

  // Drops the turn in flight (reset, destroy): no bubble state, no event.
  function drop() {
    if (cur) {
      cur.ac.abort();
      if (cur.res) cur.res(false);
    }
    cur = unsent = null;
  }

  // ---- data-widget mode: the WebSocket ------------------------------------------
  // Opened when the panel first opens. After an unexpected close it comes
  // back by itself (0.5 s doubling to 15 s, with jitter; at once on `online`
  // and when the page is shown again); the session token, kept per widget
  // id, makes the server send the `history` of what was missed.
  let ws = null; // the socket, open or opening
  let resuming = false; // the resume was sent, its `session` not yet here
  let up = false; // the `session` that made the socket up (its frame): messages may go
  let wanted = false; // the panel was opened: keep a socket
  let gone = false; // the widget was deleted or its id reset
  let tries = 0; // failed attempts since the last `history` (or new `session`)
  let sent = ''; // the token the open socket resumes with ('' none), or the new session said() announced
  let wsTimer = 0;
  let form = null; // the contact or away form (forms part), while it shows
  let needForm = false; // the required contact form is due: Send waits for it
  const required = wsMode && cfg.contact_info_mode === 'required';
  let hand = 'ai'; // the conversation's handoff state: ai, waiting_human, human
  // Away mode: the server's availability ({away, reason, message}) and
  // whether a message was left.
  let away = cfg && cfg.availability;
  // a message left (the away form) and not yet answered, kept over a reload
  let leftMsg = store.get(key('hand')) == 'left';
  let asking = false; // request_human sent, the server's handoff not yet here
  let talked = false; // a visitor message is in the list: "Talk to a person" may show
  // The attach part: att(u) → the ids of the files ready to go with a
  // message (u: its bubble, which then shows them), att.n how many,
  // att.busy while one uploads; att() shows the files of the messages listed.
  let att = () => {};
  const files = () => part('attach').then((a) => a && (att = a)());
  const waiters = []; // send() before the socket was up: resolved by `session` (or `identity`) (1) or end() (0)
  const flush = (v = 1) => waiters.splice(0).forEach((r) => r(v));

  // Said aloud; while the panel is closed also counted unread (the unread part).
  function unread(text) {
    announce(text);
    if (!isOpen) part('unread').then((u) => u && u(text));
  }

  // The newest message the session has shown, by id, kept over a reload: a
  // history that brings a person's messages after it (said while a reloaded
  // page's socket came up, or while the socket was down) counts them unread
  // as if they had come live. None found in it: nothing is counted.
  const seenKey = key('seen');
  function seenUpTo(msgs) {
    const last = store.get(seenKey);
    const at = last ? msgs.findIndex((m) => m.id === last) : -1;
    if (at >= 0) msgs.slice(at + 1).forEach((m) => m.role === 'agent' && unread((m.name || T.agentName) + ': ' + m.content));
    const id = msgs.length ? msgs[msgs.length - 1].id : '';
    if (typeof id === 'string' && id) store.set(seenKey, id);
  }

  // Whether proactive_path p ("" every path; * any run of characters, the
  // rest literal, the whole path) matches the path raw, or decoded
  // (/preise-f%C3%BCr is /preise-für, as an admin writes the pattern; a
  // malformed escape leaves it as it is). A walk that goes back only to
  // the last * (at most pattern x path steps), not a RegExp: a
  // backtracking one took a visitor's tab seconds on a long path.
  function glob(p, s) {
    let i = 0, j = 0, si = -1, sj = 0;
    while (j < s.length) {
      if (p[i] == '*') si = i++, sj = j;
      else if (p[i] == s[j]) i++, j++;
      else if (si < 0) return false;
      else i = si + 1, j = ++sj;
    }
    while (p[i] == '*') i++;
    return i == p.length;
  }
  function pathMatches(p, raw) {
    let d = raw;
    try {
      d = decodeURIComponent(raw);
    } catch {}
    return !p || glob(p, raw) || glob(p, d);
  }

  // The proactive message: after proactive_delay_s, on a path that
  // proactive_path matches, once a day (UTC) per visitor; the proactive
  // part checks the path again (a page may have moved on meanwhile),
  // shows it (and notes the day).
  function proactive() {
    if (!cfg.proactive_message || pinned || store.get(key('proactive')) === new Date().toISOString().slice(0, 10) || !pathMatches(String(cfg.proactive_path || ''), location.pathname)) return;
    setTimeout(() => life.signal.aborted || part('proactive'), (cfg.proactive_delay_s ?? 10) * 1000);
  }

  // t: the session to resume (another tab's new conversation: this tab's own, never the stored token)
  function connect(t) {
    if (!wanted || ws || gone || broken || life.signal.aborted) return;
    clearTimeout(wsTimer);
    // The token goes in the first message, not the URL (proxies log
    // URLs); until its answer (a `session` with `resumed`), the socket's
    // own `session` is passed over.
    // (this page's own when storage is blocked: nothing is remembered
    // across pages then, but a reconnect still resumes)
    const tok = (sent = t || store.get(key('token')) || sessionId);
    const s = (ws = new WebSocket(base.replace(/^http/, 'ws') + '/ws'));
    let opened = false;
    resuming = false;
    s.onopen = () => {
      opened = true;
      if (tok && ws === s) {
        resuming = true;
        s.send(JSON.stringify({ type: 'resume', token: tok }));
      }
    };
    s.onmessage = (e) => ws === s && frame(e.data);
    // The page's CSP refused the socket (Chromium: an error, no close):
    // the setup part says so, and tells the server (base: a widget's).
    s.onerror = () => {
      if (opened || ws !== s || !blocked[new URL(base).host]) return;
      broken = 'csp';
      tell(broken, base, base).then(end);
    };
    // Closed, or given up (s.lost: a message not taken in time): what it
    // was doing is given back, and another socket made.
    s.onclose = s.lost = (e) => {
      if (ws !== s) return; // closed on purpose
      ws = null;
      s.close();
      up = false;
      if (cur) finish(cur, null, { message: 'connection lost', quiet: 1 }); // history brings the rest
      // a message the server never acknowledged was not stored: its text
      // goes back in the text area, its files in the strip, to send again
      // once connected
      if (unsent) (back = unsent), giveBack();
      asking = false;
      if (form) form.busy = false; // its answer was lost with the socket: it may be sent again
      const d = Math.min(15000, 500 * 2 ** tries++);
      wsTimer = setTimeout(
        async () => {
          // Never got in, or closed as gone (4004): a deleted or disabled
          // widget cannot say which through a WebSocket, its config can.
          if (!opened || e.code === 4004) {
            const r = await fetch(base + '/config', { credentials: 'omit', cache: 'no-store' }).catch(() => 0);
            if (e.code === 4004 || (r && r.status === 404)) return end(r && (await r.json().catch(() => 0)));
          }
          connect();
        },
        e.code === 4004 ? 0 : d / 2 + Math.random() * (d / 2)
      );
      sync();
    };
    sync();
  }

  // This tab's message or contact is stored (typing_start,
  // contact_info_saved; a message a person answers is in a stored
  // session). The first store of a new session (not the one the socket
  // resumed, sent) writes its token again (another tab's may have taken
  // its place) for the next page to resume. Its first message (m: a
  // conversation now, whose messages a socket on it is sent) also goes to
  // said: another tab of the visitor's opened before (given a session of
  // its own) takes it up if nothing was said there, a resume, its history,
  // then the conversation's messages. Never while someone is signed in,
  // here (ident) or as the browser's stored session (user): theirs alone.
  // n (the conversations part): the session's new conversation, or its
  // first message, said as "token nonce": that session's other tabs resume
  // it by name (the stored token is left as it is: a reset() elsewhere
  // stays done, and no tab takes up a session not its own).
  function said(m, n) {
    if (ident || store.get(key('user'))) return;
    if (n) store.set(key('said'), sessionId + ' ' + Math.random());
    else if (sessionId != sent) store.set(key('token'), sessionId), m && store.set(key('said'), (sent = sessionId));
  }

  function closeWs() {
    const s = ws;
    ws = null;
    up = false;
    if (s) s.close();
  }

  // The widget is gone (close code 4004, or its config answers 404), or
  // disabled (j: that answer's body), or broken: stop.
  async function end(j) {
    if (j && j.disabled) await tell((broken = 'disabled'), base, base.slice(base.lastIndexOf('/') + 1));
    gone = true;
    flush(0);
    clearTimeout(wsTimer);
    closeWs();
    hideForm();
    sync();
  }

  // A frame from the server: the core's handling, then the parts' (ctx.onFrame).
  function frame(data) {
    let f;
    try {
      f = JSON.parse(data);
    } catch (e) {
      return;
    }
    if (f && handle(f, f.type) !== 0) (hooks[f.type] || []).forEach((fn) => fn(f));
    // files in it (history, a person's message): the attach part shows them
    if (/"attachments":\[{/.test(data)) files();
  }

  // 0: a frame passed over
  function handle(f, type) {
    if (type === 'session') {
      if (resuming && typeof f.resumed !== 'boolean') return 0; // the socket's own, before the resume's
      resuming = false;
      // A resume is whole once its history is here: a socket closed
      // before then (a refused or oversized resume) keeps backing off.
      if (f.session_token !== sent) tries = 0;
      // a widget that requires an identity: what waits goes once it is checked (`identity`)
      const hold = !up && ident && cfg.identity_required;
      if (!up) {
        // once a socket: who the page says the visitor is (first), what the browser says
        identify();
        put({ type: 'visitor', ...visitorInfo() });
      }
      up = was = f;
      if (typeof f.session_token === 'string' && f.session_token) store.set(key('token'), (sessionId = f.session_token));
      if (f.contact_info_submitted) store.set(key('contact'), '1');
      if (typeof f.handoff === 'string') setHand(f.handoff, f.handoff_name);
      // (a tab that took another's session up may have had the form due)
      needForm = required && !f.contact_info_submitted && ['name', 'email', 'phone'].some((k) => cfg['collect_' + k]);
      if (required ? !f.contact_info_submitted : cfg.contact_info_mode === 'optional' && !store.get(key('contact'))) showForm('contact');
      else hideForm(false);
      sync();
      hold || flush();
    } else if (type === 'history' && !f.readonly) {
      // (an earlier conversation's, read only: the conversations part's)
      tries = 0;
      // Replaces what is shown (a turn sent meanwhile stays, after it).
      const msgs = shown(f.messages);
      // the message given back was stored after all (its socket went before the answer)
      if (back && msgs.some((m) => m.cid == back.cid)) (input.value = input.value.replace(back.t, '').trim()), grow();
      back = 0;
      const fr = doc.createDocumentFragment();
      // .d: the frame's message (its id and feedback, for the feedback part)
      msgs.forEach((m) => (fr.appendChild(bubble(m.role, m.content, m.status, m.name)).d = m));
      clearError();
      [...list.children].forEach((el) => el === welcome || el.keep || (cur && (el === cur.u || el === cur.m)) || el.remove());
      list.insertBefore(fr, welcome.nextSibling);
      talked = talked || msgs.some((m) => m.role === 'user');
      sync();
      toBottom();
      seenUpTo(msgs);
      // the knowledge each answer cites, under it, as it showed live
      if (msgs.some((m) => m.sources)) part('sources').then((show) => show && show());
      emit('history', { messages: msgs, truncated: !!f.truncated });
    } else if (f.role === 'agent') {
      // a person: typing (the handoff part's bubble), or their message
      // (never the assistant's turn)
      part('handoff').then((p) => p && p.typing(type === 'typing_start', f.name));
      if (type === 'message' && typeof f.content === 'string') {
        add(bubble('agent', f.content, 0, f.name)).d = f;
        unread((f.name || T.agentName) + ': ' + f.content);
        if (typeof f.id === 'string' && f.id) store.set(seenKey, f.id);
      }
    } else if (type === 'identity') {
      emit(type, f);
      // another user's session (a shared browser): this user's starts anew
      if (f.taken) return api.reset(), 0;
      if (f.verified && ident) store.set(key('user'), ident.id);
      flush();
    }
    else if (type === 'handoff') {
      // stored: the away form goes, the status line says so (never
      // before); a hand back acknowledges no message of this tab's
      asking = null;
      if (f.state != 'ai') unsent = null;
      if (leftMsg) hideForm(true);
      // the answer to a message while a person answers (a state this page
      // did not know, e.g. after a reload): no reply is coming
      if (f.state === 'human' && cur && !cur.text) {
        cur.m.remove();
        if (cur.res) cur.res(true);
        cur = null;
        setBusy(false);
      }
      setHand(f.state, f.name);
    }
    // (the answer to a question a person left, on a hand back: not this
    // tab's message, which may still be on its way, refused then)
    else if (type === 'typing_start') f.answer || (unsent = null), said(1), cur || turn();
    else if (type === 'token') typeof f.token === 'string' && token(cur || turn(), f.token);
    else if (type === 'typing_stop') f.copy && copied(); // another tab's reply failed
    else if (type === 'message') {
      // another tab's message, or the reply to it: added as history's
      // are; the reply to the visitor's is written meanwhile (typing)
      // (a copy of one already shown, by its id: a history that came
      // while the copy was on its way had it; not added again)
      if (f.copy) copied(([...list.children].find((e) => f.id && e.d && e.d.id == f.id) || 0).d || (add(bubble(f.role, f.content, f.status)).d = f));
      else if (f.role !== 'user' && typeof f.content === 'string') finish(cur || turn(), f.content);
      // the knowledge it cites, under it (the sources part)
      if (Array.isArray(f.sources) && f.sources.length) part('sources').then((show) => show && show(f.sources));
    }
    else if (type === 'tool') toolsPart(f);
    else if (type === 'availability') {
      away = f;
      sync();
    } else if (type === 'contact_info_saved') {
      said();
      if (form && form.away && form.busy) {
        // the email is stored: now a person is asked (the form stays busy)
        leftMsg = true;
        askHuman();
      } else doneForm();
    } else if (type === 'error') {
      // The turn's (frame: the client frame it answers, "message"; none
      // from an older server) ends the reply being written; another
      // frame's (a thumb, identify, a late confirm...) is only shown.
      const turnErr = !f.frame || f.frame == 'message';
      asking = null;
      if (turnErr) {
        // the visitor's message refused, nothing stored (docs/widget-protocol.md):
        // its bubble goes, its words (and files) come back to send again
        if (unsent && /^(reply_in_progress|rate_limited|daily_limit|busy|resuming|message_not_saved|contact_required)$/.test(f.code)) giveBack();
        unsent = null;
      }
      const err = { message: String(f.message || T.errorText), show: 1 };
      if (form && form.busy) form.err.textContent = err.message; // the contact info was refused
      else if (cur && turnErr) finish(cur, null, err);
      else showError(err);
      if (form) form.busy = false;
      if (f.code == 'contact_required') {
        needForm = required;
        showForm('contact');
      }
      sync();
    }
  }

  // The visitor's message the server does not have (its socket lost
  // first, or refused): its text back in the text area, before what the
  // visitor wrote since, its files in the strip (the attach part), its
  // bubble gone.
  function giveBack() {
    input.value = unsent.t + (input.value && '\n' + input.value);
    unsent.back && unsent.back();
    unsent.remove();
    unsent = null;
    grow();
  }

  // Another tab's turn: its reply ended (or this tab's began), or its
  // message (f) came, whose reply the assistant writes there: typing here.
  function copied(f) {
    if (other) other.remove();
    other = f && f.role == 'user' && hand != 'human' && !cur && begin({}).m;
  }

  // A reply on its way (u: the visitor's bubble that asked for it).
  function turn(u) {
    copied();
    cur = begin({ ac: new AbortController(), text: '', raf: 0, gen, u });
    setBusy(true);
    return cur;
  }

  function wsSend(text) {
    if (sendBtn.disabled) return false;
    clearError();
    if (form && !form.away) doneForm(); // optional form: writing instead is skipping it
    const u = (unsent = add(bubble('user', text)));
    talked = true;
    // a person answers: no reply from the assistant is coming
    const t = hand === 'human' ? null : turn(u);
    emit('send', { message: text, retry: false });
    put({ type: 'message', content: text, attachments: att(u), cid: (u.cid = newSessionId()) });
    // Not taken in 15 s: the socket died silently (a network change, no
    // FIN): given up (its text back), another made.
    const s = ws;
    setTimeout(() => unsent == u && ws == s && s.lost(0), 15e3);
    sync();
    return t ? new Promise((r) => (t.res = r)) : true;
  }

  // The handoff state changed (or a resumed session's): the status line
  // (the handoff part's words, in handStatus) says so, unless reset()
  // came first (gen).
  function setHand(state, name) {
    if (!/^(ai|waiting_human|human)$/.test(state) || state === hand) return;
    const was = hand;
    const left = leftMsg;
    const g = gen;
    hand = state;
    store.set(key('hand'), left && state == 'waiting_human' ? 'left' : state);
    part('handoff').then((p) => p && g === gen && p.status(handStatus, state, was, name, left));
    if (state !== 'waiting_human') leftMsg = false; // the message left is answered
    sync();
  }

  // The forms part shows the contact form ('contact': only the fields the
  // widget collects; `required` mode blocks Send until it is saved) or the
  // away form ('away': an email, saved as the contact, then the handoff is
  // asked), one at a time, in `form`.
  function showForm(kind) {
    if (!gone) part('forms').then((show) => show && !gone && show(kind));
  }

  // Hides the form that shows (away: only if it is that kind).
  function hideForm(away) {
    if (!form || (away != null && !!form.away !== away)) return;
    const f = form.contains(shadow.activeElement);
    form.remove();
    form = null;
    sync();
    if (f) input.focus();
  }

  function doneForm() {
    store.set(key('contact'), '1');
    needForm = false;
    hideForm(false);
  }

  // The notice (offline / reconnecting / gone) and, in data-widget mode,
  // what may be sent now.
  function sync() {
    const why =
      broken ||
      (gone ? 'gone' : navigator.onLine === false ? 'offline' : wanted && !up && tries ? (was ? 'reconnecting' : 'unreachable') : '');
    if (why === 'unreachable') tell(why, base); // a socket that never opened
    const t = why ? T[why + 'Text'] : '';
    if (offline.textContent !== t) offline.textContent = t; // role=status: announce changes only
    offline.hidden = !why;
    offline.setAttribute('data-reason', why);
    input.disabled = gone || !!broken;
    if (!wsMode) sendBtn.disabled = !!broken;
    else {
      sendBtn.disabled = !up || !!cur || needForm || att.busy;
      if (form) form.save.disabled = !up || !!form.busy;
      handBtn.hidden = !(cfg.handoff_enabled && talked && hand === 'ai' && !gone && !asking) || !!(form && form.away);
      handBtn.disabled = !up || !!cur; // asked once the visitor's message is stored
      const label = away && away.away ? T.awayLabel : T.handoffLabel;
      if (handBtn.textContent !== label) handBtn.textContent = label;
    }
  }

  // Back online or shown: the next try at once, not after the backoff a
  // socket still failing now would wait (tries grown while offline).
  const wake = () => {
    tries = 0;
    sync();
    if (!doc.hidden) connect();
  };

  // ---- open / close -----------------------------------------------------------
  function setOpen(open, focus) {
    open = !!open || pinned; // inline and fullpage stay open
    if (open === isOpen) return;
    isOpen = open;
    panel.hidden = !open;
    root.toggleAttribute('data-open', open);
    launcher.setAttribute('aria-expanded', open); // as "true" or "false"
    launcher.setAttribute('aria-label', open ? T.labelClose : T.labelOpen);
    store.set(openKey, open); // stored as "true" or "false"
    if (open) {
      if (wsMode) {
        wanted = true;
        connect();
        part('conversations');
      } else ensureHistory();
      toBottom();
      // A touch screen's keyboard would cover the page: there the panel
      // itself takes the focus (a screen reader names it: the dialog and
      // its title), elsewhere the text area (or the form's first field).
      if (focus) (matchMedia('(pointer:coarse)').matches ? panel : form ? form.querySelector('input') : input).focus();
    } else if (focus || panel.contains(shadow.activeElement)) launcher.focus();
    emit(open ? 'open' : 'close');
  }

  // Phones: follow the visual viewport (on-screen keyboard, pinch zoom).
  function viewport() {
    const vv = window.visualViewport;
    if (!vv) return;
    // a host page wider than the screen widens the layout viewport: the
    // panel keeps to the visible part
    for (const [k, v] of [['vh', vv.height], ['vt', vv.offsetTop], ['vw', vv.width], ['vl', vv.offsetLeft]])
      root.style.setProperty('--parley-' + k, v + 'px');
  }

  // ---- wiring -------------------------------------------------------------------
  on(launcher, 'click', () => setOpen(!isOpen, true));
  on(closeBtn, 'click', () => setOpen(false, true));
  on(expandBtn, 'click', () => expandBtn.setAttribute('aria-pressed', root.toggleAttribute('data-expanded')));
  on(sendBtn, 'click', () => {
    submit();
    input.focus();
  });
  on(stopBtn, 'click', stop);
  // Pressed: the handoff part asks for the availability and picks "Leave a
  // message" or a person (cold code: only a handoff widget's visitor who
  // asks for someone needs it).
  on(handBtn, 'click', () => part('handoff').then((p) => p && p.press()));
  // A person, please: the handoff state shows once the server has stored it.
  function askHuman() {
    asking = true;
    put({ type: 'request_human' });
    sync();
  }
  on(input, 'input', grow);
  on(input, 'keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      submit();
    }
  });
  on(root, 'keydown', (e) => {
    if (e.key === 'Escape' && isOpen) {
      e.preventDefault();
      setOpen(false, true);
    }
  });
  // A key typed in a field of ours (e.target.select: an input or a text
  // area) stops here: past the shadow root the page's shortcut handlers
  // see the host element, not a field, and took "/" or "s" to their
  // search box, "n" to the next page (DocSearch's, MkDocs Material's).
  for (const k of ['keydown', 'keypress', 'keyup']) on(root, k, (e) => e.target.select && e.stopPropagation());
  on(window, 'online', wake);
  // Another tab's said: a session stored first, taken up (the stored
  // token, never a signed-in visitor's) by a tab whose own session never
  // was (nothing said, none resumed: sent); or a session's new
  // conversation, resumed by name by that session's tabs (never the
  // stored token: after a reset() there, another visitor's). Not while a
  // message or reply is on its way.
  on(window, 'storage', (e) => {
    const s = e.key == key('said') && String(e.newValue).split(' ')[0];
    if (s && !ident && !cur && !unsent && (s == sessionId || (!talked && sent != sessionId && !store.get(key('user')) && s == store.get(key('token'))))) (talked = false), closeWs(), connect(s), part('conversations');
  });
  on(window, 'offline', sync);
  on(doc, 'visibilitychange', wake);
  if (window.visualViewport) {
    on(visualViewport, 'resize', viewport);
    on(visualViewport, 'scroll', viewport);
  }
  const dirWatch = new MutationObserver(() => root.setAttribute('dir', dir()));
  dirWatch.observe(doc.documentElement, { attributes: true, attributeFilter: ['dir'] });
  if (doc.body) dirWatch.observe(doc.body, { attributes: true, attributeFilter: ['dir'] });
  sync();
  viewport();

  // What a part gets (widget/README.md, "Parts"): the core's pieces.
  const hooks = {};
  const ctx = {
    T,
    pathMatches,
    text,
    h,
    icon,
    ds,
    cfg: cfg || {},
    wsMode,
    tell,
    diagnose,
    base,
    sid: () => sessionId,
    said,
    host,
    root,
    panel,
    header: tools,
    list,
    composer,
    input,
    launcher,
    add,
    bubble,
    announce,
    unread,
    emit,
    wsSend: (o) => (up ? (put(o), true) : false),
    onFrame: (type, fn) => (hooks[type] = hooks[type] || []).push(fn),
    store,
    key,
    on,
    send: (t) => send(t),
    setOpen,
    isOpen: () => isOpen,
    clear: () => {
      while (welcome.nextSibling) welcome.nextSibling.remove();
      talked = false; // (no visitor message in the list)
      sync();
    },
    showComposer: (b) => (composer.hidden = !b),
    css,
    part,
    sync,
    // the forms part's slot (one form at a time, above the composer)
    form: (f) => {
      if (f === undefined) return form;
      hideForm();
      form = f;
      panel.insertBefore(f, composer);
      sync();
    },
    showForm,
    hideForm,
    doneForm,
    askHuman,
    up: () => up,
    away: () => away,
    // the panel open for good (the layout part)
    pin() {
      pinned = true;
      setOpen(true);
    },
  };

  // On <html>: a body with a transform (or filter, will-change, contain)
  // would hold the fixed launcher instead of the viewport, and a page that
  // swaps its body (Turbo, pjax) would take the widget with it.
  doc.documentElement.append(host);
  if (/^(inline|fullpage)$/.test(ds.layout)) {
    // the layout part first (it pins the panel open, or leaves the bubble)
    root.hidden = true;
    part('layout').then(() => (root.hidden = false));
  } else if (store.get(openKey) === 'true') setOpen(true);
  if (wsMode) {
    if (+store.get(key('unread'))) part('unread');
    // a person is (to be) on it: their replies come while the panel is closed too
    if (/hu|left/.test(store.get(key('hand')))) {
      wanted = true;
      connect();
    }
    if (cfg.starter_questions && cfg.starter_questions.length) part('starters');
    if (cfg.feedback_enabled || cfg.rating_enabled) part('feedback');
    if (cfg.handoff_enabled && cfg.reply_time) part('replytime');
    if ((cfg.attachment_types || '')[0]) files();
    proactive();
  }

  // ---- the JS API -----------------------------------------------------------------
  const api = {
    version: VERSION,
    host,
    // o.message: the text area's text (not sent)
    open: (o) => {
      setOpen(true, true);
      if (o && o.message) {
        input.value = String(o.message);
        grow();
      }
    },
    close: () => setOpen(),
    toggle: () => setOpen(!isOpen, true),
    send: (text) => send(text),
    // o: {id, name, email, hash, email_hash, expires}: sent now when connected, and after each session
    identify(o) {
      ident = o;
      up && identify();
    },
    // the rating form (rating_enabled widgets): a promise of whether it is shown
    rate: () => part('feedback').then((f) => !!f && f()),
    // the page's own tools, {name: {description, parameters, handler}}: a promise of whether they are offered
    registerTools: (t) => toolsPart(0, t),
    stop,
    // What the list shows (welcome and error boxes left out), raw text:
    // [{role: 'user'|'assistant', content, state}]; state '' for user.
    messages: () =>
      [...list.children]
        .filter((m) => m.c && m !== welcome)
        .map((m) => ({ role: m.getAttribute('data-role'), content: m.t, state: m.getAttribute('data-state') || '' })),
    // A new session: a new id, the list emptied (welcome kept), storage cleared.
    reset() {
      setHand('ai'); // (before gen moves on: its status line is never said)
      gen++;
      drop();
      setBusy(false);
      clearError();
      while (welcome.nextSibling) welcome.nextSibling.remove();
      if (wsMode) {
        // the server starts a new session for a socket without a token; the
        // visitor's contact (saved or skipped) and handoff go too: a shared
        // browser's next visitor is asked for their own
        store.del(key('token'));
        store.del(key('user'));
        store.del(key('contact'));
        store.del(key('said'));
        sessionId = null;
        // an answer to the old session's request_human never comes
        asking = leftMsg = false;
        hideForm(true);
        store.del(key('hand'));
        handStatus.hidden = true;
        talked = false;
        closeWs();
        connect();
      } else {
        store.del(SESSION_KEY);
        store.set(SESSION_KEY, (sessionId = newSessionId()));
      }
      restore = false;
      historyP = null;
      lastText = '';
      store.del(seenKey);
      emit('reset');
    },
    // Remove everything: the element, listeners, timers, the request in flight.
    destroy() {
      emit('destroy');
      gen++;
      drop();
      life.abort();
      closeWs();
      clearTimeout(wsTimer);
      dirWatch.disconnect();
      clearTimeout(retryTimer);
      clearTimeout(announceTimer);
      host.remove();
      if (window.ParleyChat === api) delete window.ParleyChat;
      if (window.OpenChatWidget === api) delete window.OpenChatWidget;
    },
  };
  Object.defineProperties(api, {
    isOpen: { get: () => isOpen, enumerable: true },
    sessionId: { get: () => sessionId, enumerable: true },
  });
  window.ParleyChat = window.OpenChatWidget = api;
  emit('ready', { version: VERSION });
}

(function boot() {
  // ours, not a page element of id="ParleyChat" (named access)
  if ((window.ParleyChat || 0).send) {
    console.warn(LOG, 'already loaded');
    return;
  }
  const script =
    doc.currentScript ||
    [...doc.querySelectorAll('script[data-api-url],script[data-widget]')].pop() ||
    h('script'); // no tag found: mount() logs what is missing
  src = script;
  const wid = (script.dataset.widget || '').trim();
  // data-widget: the config is fetched at once, the DOM waits for the body
  // (and the language's texts, which the config may name)
  const go = (wid ? loadConfig(script, wid) : Promise.resolve([script])).then(
    (a) => a && texts(script, a[1], a[3]).then((t) => [a[0], a[1], a[2], a[3], t])
  );
  const start = () =>
    go.then(async (a) => {
      if (a && a[3]) await tell(a[3], a[2], wid);
      if (a && !(window.ParleyChat || 0).send) mount(...a);
    });
  if (doc.body) start();
  else doc.addEventListener('DOMContentLoaded', start, { once: true });
})();
