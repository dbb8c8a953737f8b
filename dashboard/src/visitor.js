// The visitor's details in a thread (what the widget sent when the chat
// began): the page (a link only for http and https), the referrer, the
// browser told short from the user agent, the language and the visitor's
// local time, computed here from their time zone. Every value is the
// visitor's text: it goes into the page as text only.

import { h } from './dom.js';

// [token in the user agent, the browser's name]; the first found wins
// (Edge and Opera also say Chrome, Chrome also says Safari).
const BROWSERS = [
  ['Edg', 'Edge'], ['EdgA', 'Edge'], ['EdgiOS', 'Edge'], ['OPR', 'Opera'], ['SamsungBrowser', 'Samsung Internet'],
  ['Firefox', 'Firefox'], ['FxiOS', 'Firefox'], ['CriOS', 'Chrome'], ['HeadlessChrome', 'Chrome (headless)'],
  ['Chrome', 'Chrome'], ['Chromium', 'Chromium'],
];

// [pattern, system], the first that matches.
const SYSTEMS = [
  [/Windows NT/, 'Windows'], [/iPhone/, 'iPhone'], [/iPad/, 'iPad'], [/Android/, 'Android'],
  [/CrOS/, 'ChromeOS'], [/Mac OS X|Macintosh/, 'macOS'], [/Linux/, 'Linux'],
];

/** "Firefox 121 on Linux" from a user agent; "" for an empty one, the start of it when unknown. */
export function browserName(ua) {
  const s = String(ua || '');
  if (!s) return '';
  let name = '';
  for (const [token, label] of BROWSERS) {
    const m = new RegExp(`(?:^|[\\s)])${token}/(\\d+)`).exec(s);
    if (m) { name = `${label} ${m[1]}`; break; }
  }
  if (!name) {
    const m = /Version\/(\d+)[\d.]* .*Safari\//.exec(s);
    if (m) name = `Safari ${m[1]}`;
  }
  const sys = SYSTEMS.find(([re]) => re.test(s));
  if (!name) return s.length > 40 ? `${s.slice(0, 39)}…` : s;
  return sys ? `${name} on ${sys[1]}` : name;
}

/** The visitor's time now in timeZone ("Tue 14:05 (Europe/Paris)"), or "" when the zone is unknown here. */
export function localTime(timeZone, now = new Date()) {
  if (!timeZone) return '';
  try {
    const t = new Intl.DateTimeFormat(undefined, { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit' }).format(now);
    return `${t} (${timeZone})`;
  } catch {
    return '';
  }
}

/** "fr-FR" told with its name where the browser knows it: "fr-FR (French (France))". */
export function languageName(tag) {
  if (!tag) return '';
  try {
    const name = new Intl.DisplayNames(undefined, { type: 'language' }).of(tag);
    return name && name !== tag ? `${tag} (${name})` : tag;
  } catch {
    return tag;
  }
}

/** An http(s) URL as a link opening apart (no opener, no referrer); anything else as text. */
function urlValue(url, testid) {
  let u = null;
  try { u = new URL(url); } catch { /* not a URL */ }
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) return h('span', { 'data-testid': testid }, url);
  return h('a', { href: u.href, target: '_blank', rel: 'noopener noreferrer', 'data-testid': testid, class: 'url' }, url);
}

function row(label, value, testid, render) {
  const v = value ? (render ? render(value, testid) : h('span', { 'data-testid': testid }, value))
    : h('span', { class: 'muted', 'data-testid': testid }, 'Unknown');
  return [h('dt', null, label), h('dd', null, v)];
}

/**
 * The details list of visitor ({pageUrl, referrer, userAgent, language,
 * timeZone}, "" when unknown). Returns {el, tick()}: tick tells the local
 * time again (the thread calls it on its timer).
 */
export function visitorDetails(visitor) {
  const v = visitor && typeof visitor === 'object' ? visitor : {};
  const str = (k) => (typeof v[k] === 'string' ? v[k] : '');
  const tz = str('timeZone');
  const local = h('span', { 'data-testid': 'visitor-local-time' }, localTime(tz) || (tz ? `Unknown zone ${tz}` : ''));
  const el = h('dl', { class: 'meta meta-compact', 'data-testid': 'visitor-details' },
    row('Page', str('pageUrl'), 'visitor-page', urlValue),
    row('Referrer', str('referrer'), 'visitor-referrer', urlValue),
    row('Browser', browserName(str('userAgent')), 'visitor-browser'),
    row('Language', languageName(str('language')), 'visitor-language'),
    tz ? [h('dt', null, 'Local time'), h('dd', null, local)] : row('Local time', '', 'visitor-local-time'));
  const ua = str('userAgent');
  if (ua) el.querySelector('[data-testid="visitor-browser"]').title = ua;
  return {
    el,
    tick() {
      const t = localTime(tz);
      if (t && local.textContent !== t) local.textContent = t;
    },
  };
}
