// Parley chat widget: one script tag, Open Chat Widget compatible.
//
//   <script src="https://chat.example.com/widget/chat-widget.js"
//           data-api-url="https://chat.example.com/chat"
//           data-api-key="…" defer></script>
//
// See widget/README.md for every attribute, the JS API, the events and the
// data-part hooks tests use.

import CSS from './widget.css';
import { doc, h, icon } from './dom.js';
import { markdown } from './markdown.js';
import { chatStream, history, historyUrl } from './net.js';

const VERSION = typeof __VERSION__ === 'string' ? __VERSION__ : 'dev';
const SESSION_KEY = 'os-chatbot-session-id';
const OPEN_KEY = 'os-chatbot-widget-open';
const SESSION_RE = /^[A-Za-z0-9._:-]{1,128}$/;
const COLOR_RE = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;
const DEFAULT_ACCENT = '#0ea5e9';
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
  offlineText: 'You are offline. Messages cannot be sent until the connection is back.',
  rateLimitText: 'Too many messages. Please wait {seconds} seconds and try again.',
  stoppedText: 'Stopped.',
};

const ICON_CHAT = 'M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z';
const ICON_CLOSE = 'M6 6l12 12M18 6L6 18';

const store = {
  get(k) {
    try {
      return localStorage.getItem(k);
    } catch (e) {
      return null; // storage blocked (sandboxed frame, privacy settings)
    }
  },
  set(k, v) {
    try {
      localStorage.setItem(k, v);
    } catch (e) {
      /* not persisted */
    }
  },
  del(k) {
    try {
      localStorage.removeItem(k);
    } catch (e) {
      /* nothing stored */
    }
  },
};

function newSessionId() {
  const c = window.crypto;
  if (c && c.randomUUID) return c.randomUUID();
  const b = new Uint8Array(16);
  if (c && c.getRandomValues) c.getRandomValues(b);
  else for (let i = 0; i < 16; i++) b[i] = (Math.random() * 256) | 0;
  return Array.from(b, (x) => (x + 256).toString(16).slice(1)).join('');
}

// Black or white, whichever contrasts more with the accent (WCAG relative
// luminance); one of them always reaches 4.5:1.
function textOn(hex) {
  let s = hex.slice(1);
  if (s.length === 3) s = s.replace(/./g, '$&$&');
  const [r, g, b] = [0, 2, 4].map((i) => {
    const c = parseInt(s.substr(i, 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  const l = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return 1.05 / (l + 0.05) >= (l + 0.05) / 0.05 ? '#fff' : '#000';
}

function pageDir() {
  const el = doc.body || doc.documentElement;
  return getComputedStyle(el).direction === 'rtl' ? 'rtl' : 'ltr';
}

function mount(script) {
  const ds = script.dataset;
  const apiUrl = (ds.apiUrl || '').trim();
  const apiKey = (ds.apiKey || '').trim();
  if (!apiUrl || !apiKey) {
    console.error(LOG, 'not started: the script tag needs data-api-url and data-api-key' + (ds.widget ? ' (data-widget is not supported yet)' : ''));
    return;
  }
  const T = {};
  for (const k in TEXT) T[k] = ds[k] && ds[k].trim() ? ds[k] : TEXT[k];
  const accent = COLOR_RE.test((ds.accentColor || '').trim()) ? ds.accentColor.trim() : DEFAULT_ACCENT;
  if (ds.accentColor && accent === DEFAULT_ACCENT && ds.accentColor.trim().toLowerCase() !== DEFAULT_ACCENT)
    console.warn(LOG, 'data-accent-color must be #rgb or #rrggbb; using', DEFAULT_ACCENT);

  const life = new AbortController(); // every listener and the history fetch
  const on = (t, type, fn) => t.addEventListener(type, fn, { signal: life.signal });

  let sessionId = store.get(SESSION_KEY);
  let restore = !!sessionId && SESSION_RE.test(sessionId); // ask the server for history once
  if (!restore) store.set(SESSION_KEY, (sessionId = newSessionId()));

  let isOpen = false;
  let historyP = null; // the history fetch, once started
  let cur = null; // the turn in flight: {ac, m, c, text, raf, gen}
  let gen = 0; // bumped by reset(): late answers for an old session are dropped
  let lastText = ''; // what Retry sends again
  let failed = null; // the failed reply's bubble (removed by Retry)
  let errorBox = null;
  let retryTimer = 0;
  let announceTimer = 0;

  // ---- DOM ---------------------------------------------------------------
  const host = h('div', { id: 'parley-chat-widget', 'data-parley-widget': VERSION });
  const shadow = host.attachShadow({ mode: 'open' });
  if (doc.adoptedStyleSheets && window.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    shadow.adoptedStyleSheets = [sheet];
  } else {
    // Old browsers only; under a strict CSP this needs the script's nonce.
    shadow.append(h('style', { nonce: script.nonce || null }, CSS));
  }

  const title = h('div', { id: 'pc-title', 'data-part': 'title' }, T.title);
  const closeBtn = h('button', { type: 'button', 'data-part': 'close', 'aria-label': T.labelClose }, icon(ICON_CLOSE, 1));
  const offline = h('div', { 'data-part': 'offline', role: 'status', hidden: true }, T.offlineText);
  const welcome = bubble('assistant', T.welcomeMessage);
  welcome.setAttribute('data-welcome', '');
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
  const panel = h(
    'div',
    {
      id: 'pc-panel',
      'data-part': 'panel',
      role: 'dialog',
      'aria-modal': 'false',
      'aria-labelledby': 'pc-title',
      hidden: true,
    },
    [
      h('div', { 'data-part': 'header' }, [title, closeBtn]),
      offline,
      list,
      h('div', { 'data-part': 'composer' }, [input, sendBtn, stopBtn]),
      announcer,
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
    icon(ICON_CHAT)
  );
  const root = h(
    'div',
    {
      'data-part': 'root',
      role: 'complementary',
      'aria-label': T.title,
      'data-position': ds.position === 'left' ? 'left' : 'right',
      'data-theme': /^(light|dark)$/.test(ds.theme) ? ds.theme : null,
      dir: pageDir(),
    },
    [panel, launcher]
  );
  root.style.setProperty('--a', accent); // validated above; CSSOM, not CSS text
  root.style.setProperty('--af', textOn(accent));
  shadow.append(root);

  // ---- helpers -------------------------------------------------------------
  function emit(name, detail) {
    host.dispatchEvent(new CustomEvent('parley:' + name, { detail, bubbles: true, composed: true }));
  }

  // One message: <div data-part=message data-role data-state>
  //   <span class=sr>You: </span><div data-part=content>…</div></div>
  function bubble(role, text, state) {
    const c = h('div', { 'data-part': 'content', dir: 'auto' });
    const m = h('div', { 'data-part': 'message', 'data-role': role, 'data-state': role === 'user' ? null : state || 'done' }, [
      h('span', { class: 'sr' }, (role === 'user' ? T.labelYou : T.title) + ': '),
      c,
    ]);
    if (role === 'user') c.append(text);
    else if (text != null) c.append(markdown(text));
    m.c = c;
    m.t = text || ''; // the raw text, for messages()
    return m;
  }

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
  function setBusy(b) {
    const f = shadow.activeElement;
    sendBtn.hidden = b;
    stopBtn.hidden = !b;
    root.toggleAttribute('data-busy', b);
    if (f === (b ? sendBtn : stopBtn)) (b ? stopBtn : input).focus();
  }

  function clearError() {
    clearTimeout(retryTimer);
    if (errorBox) errorBox.remove();
    if (failed) failed.remove();
    errorBox = failed = null;
  }

  function showError(err) {
    const wait = err.status === 429 && err.retryAfter;
    const retry = h('button', { type: 'button', 'data-part': 'retry', disabled: !!wait }, T.retryText);
    errorBox = add(
      h('div', { 'data-part': 'error', role: 'alert', 'data-status': String(err.status || 0) }, [
        h('span', 0, wait ? T.rateLimitText.replace(/\{seconds\}/g, wait) : T.errorText),
        retry,
      ])
    );
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

  function ensureHistory() {
    if (!historyP) {
      const g = gen;
      historyP = restore
        ? history(historyUrl(apiUrl, sessionId), apiKey, life.signal).then(
            (msgs) => {
              if (g !== gen) return; // reset() meanwhile: another session
              const f = doc.createDocumentFragment();
              msgs.forEach((m) => f.append(bubble(m.role, m.content)));
              list.insertBefore(f, welcome.nextSibling); // before anything sent meanwhile
              toBottom();
              emit('history', { sessionId, messages: msgs });
            },
            (e) => {
              if (!life.signal.aborted) console.warn(LOG, 'could not load the history:', e.message);
            }
          )
        : Promise.resolve();
      restore = false;
    }
    return historyP;
  }

  // ---- a chat turn -----------------------------------------------------------
  async function send(text, isRetry) {
    text = String(text == null ? '' : text).trim();
    if (!text || cur) return false;
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
    t.m = add(bubble('assistant', null, 'pending'));
    t.c = t.m.c;
    t.m.setAttribute('aria-busy', 'true');
    t.c.append(h('span', { 'data-part': 'typing' }, [T.thinkingText, h('i'), h('i'), h('i')]));
    emit('send', { sessionId, message: text, retry: !!isRetry });

    let done = null;
    let err = null;
    let conversationId = null;
    try {
      await chatStream(apiUrl, apiKey, { sessionId, message: text }, t.ac.signal, (ev) => {
        if (t.gen !== gen) return;
        if (ev.type === 'start') conversationId = ev.conversationId || null;
        else if (ev.type === 'token' && typeof ev.token === 'string' && done == null) {
          t.m.t = t.text += ev.token;
          if (t.m.getAttribute('data-state') === 'pending') t.m.setAttribute('data-state', 'streaming');
          if (!t.raf)
            t.raf = requestAnimationFrame(() => {
              t.raf = 0;
              paint(t);
            });
          emit('token', { token: ev.token, text: t.text });
        } else if (ev.type === 'done') {
          done = typeof ev.message === 'string' ? ev.message : t.text;
          conversationId = ev.conversationId || conversationId;
        } else if (ev.type === 'error') err = new Error(ev.error || 'Stream error');
      });
      if (done == null && !err) err = new Error('The reply ended early');
    } catch (e) {
      err = e;
    }
    cancelAnimationFrame(t.raf);
    t.raf = null; // null (not 0): paint() renders the final Markdown
    if (t.gen !== gen) return false; // reset() or destroy() took it away
    cur = null;
    const m = t.m;
    m.removeAttribute('aria-busy');
    let state;
    if (done != null) {
      t.text = done;
      state = 'done';
    } else if (t.ac.signal.aborted) state = 'stopped';
    else state = 'error';
    if (t.text) paint(t);
    else m.remove();
    m.t = t.text;
    m.setAttribute('data-state', state);
    if (state === 'done') {
      announce(t.c.textContent);
      emit('reply', { sessionId, conversationId, text: done });
    } else if (state === 'stopped') {
      if (t.text) t.c.append(h('span', { 'data-part': 'note' }, T.stoppedText));
      emit('stop', { sessionId, text: t.text });
    } else {
      failed = t.text ? m : null;
      console.warn(LOG, 'send failed:', err.message);
      showError(err);
      emit('error', { sessionId, error: err.message, status: err.status || 0, retryAfter: err.retryAfter || 0 });
    }
    setBusy(false);
    return state === 'done';
  }

  function submit() {
    const v = input.value;
    if (!v.trim() || cur) return;
    input.value = '';
    grow();
    send(v);
  }

  function stop() {
    if (cur) cur.ac.abort();
  }

  // ---- open / close -----------------------------------------------------------
  function setOpen(open, focus) {
    open = !!open;
    if (open === isOpen) return;
    isOpen = open;
    panel.hidden = !open;
    root.toggleAttribute('data-open', open);
    launcher.setAttribute('aria-expanded', String(open));
    launcher.setAttribute('aria-label', open ? T.labelClose : T.labelOpen);
    store.set(OPEN_KEY, String(open));
    if (open) {
      viewport();
      ensureHistory();
      toBottom();
      if (focus) input.focus();
    } else if (focus || panel.contains(shadow.activeElement)) launcher.focus();
    emit(open ? 'open' : 'close', { sessionId });
  }

  // Phones: follow the visual viewport (on-screen keyboard, pinch zoom).
  function viewport() {
    const vv = window.visualViewport;
    if (!vv || !isOpen) return;
    root.style.setProperty('--parley-vh', vv.height + 'px');
    root.style.setProperty('--parley-vt', vv.offsetTop + 'px');
  }

  const online = () => {
    offline.hidden = navigator.onLine !== false;
  };

  // ---- wiring -------------------------------------------------------------------
  on(launcher, 'click', () => setOpen(!isOpen, true));
  on(closeBtn, 'click', () => setOpen(false, true));
  on(sendBtn, 'click', () => {
    submit();
    input.focus();
  });
  on(stopBtn, 'click', stop);
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
  on(window, 'online', online);
  on(window, 'offline', online);
  if (window.visualViewport) {
    on(visualViewport, 'resize', viewport);
    on(visualViewport, 'scroll', viewport);
  }
  const dirWatch = new MutationObserver(() => root.setAttribute('dir', pageDir()));
  dirWatch.observe(doc.documentElement, { attributes: true, attributeFilter: ['dir'] });
  if (doc.body) dirWatch.observe(doc.body, { attributes: true, attributeFilter: ['dir'] });
  online();

  (doc.body || doc.documentElement).append(host);
  if (store.get(OPEN_KEY) === 'true') setOpen(true, false);

  // ---- the JS API -----------------------------------------------------------------
  const api = {
    version: VERSION,
    host,
    open: () => setOpen(true, true),
    close: () => setOpen(false, false),
    toggle: () => setOpen(!isOpen, true),
    send: (text) => send(text),
    stop,
    // What the list shows (welcome and error boxes left out), raw text:
    // [{role: 'user'|'assistant', content, state}]; state '' for user.
    messages: () =>
      [].slice
        .call(list.children)
        .filter((m) => m.c && m !== welcome)
        .map((m) => ({ role: m.getAttribute('data-role'), content: m.t, state: m.getAttribute('data-state') || '' })),
    // A new session: a new id, the list emptied (welcome kept), storage cleared.
    reset() {
      gen++;
      if (cur) cur.ac.abort();
      cur = null;
      setBusy(false);
      clearError();
      while (welcome.nextSibling) welcome.nextSibling.remove();
      store.del(SESSION_KEY);
      store.set(SESSION_KEY, (sessionId = newSessionId()));
      restore = false;
      historyP = null;
      lastText = '';
      emit('reset', { sessionId });
    },
    // Remove everything: the element, listeners, timers, the request in flight.
    destroy() {
      emit('destroy', { sessionId });
      gen++;
      if (cur) cur.ac.abort();
      cur = null;
      life.abort();
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
  emit('ready', { sessionId, version: VERSION });
}

(function boot() {
  if (window.ParleyChat) {
    console.warn(LOG, 'already loaded; this copy does nothing');
    return;
  }
  const script =
    doc.currentScript ||
    [].slice.call(doc.querySelectorAll('script[data-api-url]')).pop() ||
    h('script'); // no tag found: mount() logs what is missing
  if (doc.body) mount(script);
  else doc.addEventListener('DOMContentLoaded', () => mount(script), { once: true });
})();
