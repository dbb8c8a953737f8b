// Small DOM helpers. Everything is built with createElement and text nodes:
// no HTML strings, no inline style, so visitor and model text stays inert.

/**
 * h('a', {href: '#/x', class: 'link', 'data-testid': 'x'}, 'text', child)
 * Attribute keys: class, for, on<Event> (a function), hidden/disabled/...
 * (booleans), everything else through setAttribute. "style" is refused.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'style') throw new Error('inline style is not allowed');
      if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
      else if (k === 'for') el.htmlFor = v;
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
      else if (k === 'value' && 'value' in el) el.value = v;
      else if (k === 'checked') el.checked = !!v;
      else if (v === true) el.setAttribute(k, '');
      else el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/**
 * What a view (or a part of one) holds while shown: signal aborts its
 * requests, onLeave(fn) registers a clean-up; end() aborts and runs them.
 */
export function lifetime() {
  const controller = new AbortController();
  const cleanups = [];
  return {
    signal: controller.signal,
    onLeave: (fn) => cleanups.push(fn),
    end() {
      controller.abort();
      for (const fn of cleanups.splice(0)) {
        try { fn(); } catch { /* ignore */ }
      }
    },
  };
}

/*
 * A control disabled while its request runs loses the keyboard focus (the
 * browser moves it to the body, and the next Tab starts from the top):
 * the one focused last gets it back when it is enabled again, unless the
 * user has gone on elsewhere meanwhile. Once, for the whole document.
 */
export function keepFocusThroughDisable() {
  let focused = null;
  let lost = null;
  document.addEventListener('focusin', (ev) => { focused = ev.target; lost = null; });
  new MutationObserver((records) => {
    for (const { target: el } of records) {
      if (el.disabled) {
        if (el === focused) lost = el;
      } else if (el === lost) {
        lost = null;
        const at = document.activeElement;
        if (el.isConnected && (!at || at === document.body)) el.focus();
      }
    }
  }).observe(document.body, { attributes: true, attributeFilter: ['disabled'], subtree: true });
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function setText(el, text) {
  el.textContent = text == null ? '' : String(text);
  return el;
}

const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dayFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

function validMs(ms) {
  return typeof ms === 'number' && Number.isFinite(ms) && ms > 0;
}

/** A <time> with the local, readable time and the full ISO time as title. */
export function timeEl(ms, style = 'date') {
  if (!validMs(ms)) return h('span', { class: 'muted' }, '—');
  const d = new Date(ms);
  const iso = d.toISOString();
  const fmt = style === 'time' ? timeFmt : style === 'day' ? dayFmt : dateFmt;
  return h('time', { datetime: iso, title: iso }, fmt.format(d));
}

export function updateTimeEl(el, ms) {
  if (!el || !validMs(ms)) return;
  const d = new Date(ms);
  const iso = d.toISOString();
  el.setAttribute('datetime', iso);
  el.setAttribute('title', iso);
  el.textContent = dateFmt.format(d);
}

const relFmt = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto', style: 'short' });
const REL_STEPS = [[60, 'second', 1], [3600, 'minute', 60], [86400, 'hour', 3600], [7 * 86400, 'day', 86400]];

/** "just now", "2 min. ago", "3 hr. ago", "yesterday"; older: the date. */
export function relTime(ms, now = Date.now()) {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 45) return 'just now';
  for (const [limit, unit, size] of REL_STEPS) {
    if (s < limit) return relFmt.format(-Math.round(s / size), unit);
  }
  return dayFmt.format(new Date(ms));
}

/**
 * A <time> saying how long ago ms was, the full local time as its title
 * (data-rel: refreshRelTimes keeps the text current).
 */
export function relTimeEl(ms, attrs) {
  if (!validMs(ms)) return h('span', { class: 'muted' }, '—');
  const d = new Date(ms);
  return h('time', { datetime: d.toISOString(), title: dateFmt.format(d), 'data-rel': String(ms), ...attrs }, relTime(ms));
}

/** The relative times under root, told again (called on a timer). */
export function refreshRelTimes(root) {
  const now = Date.now();
  for (const t of root.querySelectorAll('time[data-rel]')) {
    const text = relTime(Number(t.dataset.rel), now);
    if (t.textContent !== text) t.textContent = text;
  }
}

/*
 * Visitor or model text inside a sentence of the page's own (a title, a
 * dialog's message, a status line): between FIRST STRONG ISOLATE and POP
 * DIRECTIONAL ISOLATE, so a direction control it holds (U+202E RIGHT-TO-LEFT
 * OVERRIDE, an embedding left open) ends with it instead of turning the words
 * after it around. An element of such text among others gets dir="auto"
 * (HTML isolates it the same way) and keeps its text as it is.
 */
export function isolated(text) {
  return `\u2068${text == null ? '' : String(text)}\u2069`;
}

export function plural(n, one, many) {
  return `${Number(n).toLocaleString()} ${n === 1 ? one : many}`;
}

/** First line-ish preview of a text, at most max characters. */
export function preview(text, max = 120) {
  if (!text) return '';
  const s = String(text).replace(/\s+/g, ' ').trim();
  const chars = Array.from(s);
  return chars.length > max ? chars.slice(0, max - 1).join('') + '…' : s;
}

/**
 * A list's table (rows become cards on a phone): a caption for screen readers,
 * a head of column names, then tbody. attrs: the table's own (data-testid…).
 */
export function cardTable(caption, heads, tbody, attrs) {
  return h('table', { class: 'table table-cards', ...attrs },
    h('caption', { class: 'visually-hidden' }, caption),
    h('thead', null, h('tr', null, heads.map((t) => h('th', { scope: 'col' }, t)))),
    tbody);
}

/** A view's title: the h1 that takes the focus when the route changes. */
export function pageTitle(text) {
  return h('h1', { class: 'page-title', tabindex: '-1' }, text);
}

/** A detail page's way back to its list: <p class="back"><a …>label</a></p>. */
export function backLink(href, label, testid) {
  return h('p', { class: 'back' }, h('a', { href, 'data-testid': testid }, label));
}

/**
 * The alert a view shows when it cannot show its data (hook: view-error).
 * hidden: made hidden, for a list that fills it in when a page fails.
 */
export function viewError(message, { hidden = false } = {}) {
  return h('p', { class: 'alert alert-error', role: 'alert', 'data-testid': 'view-error', hidden }, message);
}

/** A detail page that could not load: its "Loading…" gives way to the alert. */
export function showLoadError(loading, message) {
  loading.replaceWith(viewError(message));
}

let dialogSeq = 0;

/**
 * A confirmation in a modal <dialog> (showModal). Resolves true on the
 * confirm button, false on Cancel or Escape.
 * Hooks: confirm-dialog, confirm-ok, confirm-cancel.
 */
export function confirmDialog({ title, message, confirmLabel = 'Confirm', danger = false }) {
  return new Promise((resolve) => {
    const id = `dlg-${++dialogSeq}`;
    const opener = document.activeElement;
    const cancel = h('button', { type: 'button', class: 'btn', 'data-testid': 'confirm-cancel' }, 'Cancel');
    const ok = h('button', {
      type: 'button',
      class: ['btn', danger ? 'btn-danger' : 'btn-primary'],
      'data-testid': 'confirm-ok',
    }, confirmLabel);
    const dlg = h('dialog', {
      class: 'dialog',
      'data-testid': 'confirm-dialog',
      'aria-labelledby': `${id}-title`,
      'aria-describedby': `${id}-msg`,
    },
    h('h2', { id: `${id}-title` }, title),
    h('p', { id: `${id}-msg` }, message),
    h('div', { class: 'dialog-actions' }, cancel, ok));
    let result = false;
    const close = (v) => { result = v; dlg.close(); };
    cancel.addEventListener('click', () => close(false));
    ok.addEventListener('click', () => close(true));
    dlg.addEventListener('close', () => {
      dlg.remove();
      if (opener && opener.isConnected && typeof opener.focus === 'function') opener.focus();
      resolve(result);
    });
    document.body.append(dlg);
    dlg.showModal();
    cancel.focus();
  });
}

/** An export link (a same-origin GET download: the cookie goes along). */
export function downloadLink(href, label, testid) {
  return h('a', { href, download: '', class: 'menu-link', 'data-testid': testid }, label);
}

/**
 * A Copy button for the text of source (an element), and its status line:
 * the clipboard where the browser allows it, else the text selected for
 * Ctrl+C. Returns [button, status]; hooks: testid, testid + '-status'
 * unless statusTestid is given.
 */
export function copyButton(source, testid, statusTestid = `${testid}-status`) {
  const btn = h('button', { type: 'button', class: 'btn', 'data-testid': testid }, 'Copy');
  const status = h('span', { class: 'copy-status', role: 'status', 'data-testid': statusTestid });
  btn.addEventListener('click', async () => {
    try {
      if (!navigator.clipboard || !window.isSecureContext) throw new Error('no clipboard');
      await navigator.clipboard.writeText(source.textContent);
      status.textContent = 'Copied';
    } catch {
      const range = document.createRange();
      range.selectNodeContents(source);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      status.textContent = 'Selected: press Ctrl+C (⌘C on a Mac) to copy';
    }
    window.setTimeout(() => { if (status.isConnected) status.textContent = ''; }, 6000);
  });
  return [btn, status];
}

/**
 * A secret the server shows this once (an API key, an invitation link): the
 * panel says so, holds the value and its Copy button, and takes the focus.
 * Hooks: testid (the panel), testid + '-value', testid + '-copy'.
 */
export function onceBox(title, value, note, testid) {
  const code = h('code', { class: 'snippet once-value', 'data-testid': `${testid}-value` }, value);
  const [btn, status] = copyButton(code, `${testid}-copy`);
  const head = h('h2', { tabindex: '-1' }, title);
  const box = h('section', { class: 'panel once', 'data-testid': testid, 'aria-label': title },
    head, h('p', { class: 'once-note' }, note), code, h('div', { class: 'panel-row' }, btn, status));
  queueMicrotask(() => { if (box.isConnected) head.focus(); });
  return box;
}

/** A person's initials: the first letters of their name's first and last words (of the email without one). */
export function initials(name, email) {
  const words = String(name || '').trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[words.length - 1]] : words.length ? [words[0]] : [String(email || '?')];
  return letters.map((w) => Array.from(w)[0] || '').join('').toUpperCase();
}

/** A round avatar with a person's initials; one of 6 colours, by the name; for sight only (the name is beside it). */
export function avatar(name, email, attrs = {}) {
  let n = 0;
  for (const ch of String(name || email || '')) n = (n * 31 + ch.codePointAt(0)) % 6;
  return h('span', { class: `avatar avatar-c${n}`, 'aria-hidden': 'true', ...attrs }, initials(name, email));
}
