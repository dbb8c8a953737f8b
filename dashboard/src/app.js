// The dashboard application: session check, header (who is signed in, the
// organisation switcher, the nav for the role), hash router.
// Each view is render(main, ctx) from its module; ctx.signal aborts when
// the route is left, ctx.onLeave(fn) registers clean-up (polling) and
// ctx.session is GET /dashboard/api/signed-in's answer (the session's). Routes of one group
// (the inbox's list and thread) keep their view: a view that called
// ctx.onRoute(fn) gets fn(arg, params) for the next route of its group
// instead of being rendered again.

import {
  api, endpoints, setCsrfToken, setOrg, storedOrg, roleAtLeast, toLogin, logout, takeReturnRoute, isAbort,
  signedInSession,
} from './api.js';
import { h, clear, viewError, lifetime, avatar, keepFocusThroughDisable, confirmDialog } from './dom.js';
import { trackUnsaved, unsavedForm, forgetUnsaved, restoreUnsaved } from './form.js';
import * as conversations from './conversations.js';
import * as widgets from './widgets.js';
import * as contacts from './contacts.js';
import * as agents from './agents.js';
import * as users from './users.js';
import * as apikeys from './apikeys.js';
import * as audit from './audit.js';
import * as webhooks from './webhooks.js';
import * as email from './email.js';
import * as profile from './profile.js';
import * as canned from './canned.js';
import * as knowledge from './knowledge.js';
import * as gaps from './gaps.js';
import * as actions from './actions.js';
import * as reports from './reports.js';
import { startLive, notifySupported, notifyOn, setNotify } from './live.js';

const main = document.getElementById('view');
const mainLandmark = document.getElementById('main');
const flashEl = document.getElementById('flash');
let current = null; // { life (dom.js lifetime), group, onRoute }
let shownHash = null; // the route current shows
let started = false;
let session = null;
let baseTitle = 'Parley dashboard';
let waitingN = 0;

/* The title: "(N) View · Parley dashboard" while N visitors wait for a person. */
function renderTitle() {
  document.title = waitingN > 0 ? `(${waitingN}) ${baseTitle}` : baseTitle;
}

function setWaiting(n) {
  waitingN = n;
  renderTitle();
  const badge = document.getElementById('nav-waiting');
  clear(badge).append(String(n), h('span', { class: 'visually-hidden' }, ' waiting for a person'));
  badge.hidden = n === 0;
}

const routes = [
  { re: /^\/conversations\/?$/, nav: 'conversations', view: conversations.renderInbox, group: 'inbox', layout: 'inbox' },
  { re: /^\/conversations\/([A-Za-z0-9_-]+)$/, nav: 'conversations', view: conversations.renderInbox, group: 'inbox', layout: 'inbox' },
  { re: /^\/canned-replies\/?$/, nav: 'conversations', view: canned.renderList },
  { re: /^\/reports\/?$/, nav: 'reports', view: reports.render },
  { re: /^\/widgets\/?$/, nav: 'widgets', view: widgets.renderList },
  { re: /^\/widgets\/new$/, nav: 'widgets', view: widgets.renderEdit },
  { re: /^\/widgets\/([A-Za-z0-9_-]+)$/, nav: 'widgets', view: widgets.renderEdit },
  { re: /^\/agents\/?$/, nav: 'agents', view: agents.renderList },
  { re: /^\/agents\/new$/, nav: 'agents', view: agents.renderEdit },
  { re: /^\/agents\/([A-Za-z0-9_-]+)$/, nav: 'agents', view: agents.renderEdit },
  { re: /^\/knowledge\/?$/, nav: 'knowledge', view: knowledge.renderList },
  { re: /^\/knowledge\/gaps\/?$/, nav: 'knowledge', view: gaps.renderGaps },
  { re: /^\/actions\/?$/, nav: 'actions', view: actions.renderList },
  { re: /^\/actions\/new$/, nav: 'actions', view: actions.renderNew },
  { re: /^\/actions\/([A-Za-z0-9_-]+)$/, nav: 'actions', view: actions.renderDetail },
  { re: /^\/contacts\/?$/, nav: 'contacts', view: contacts.renderList },
  { re: /^\/contacts\/([A-Za-z0-9_-]+)$/, nav: 'contacts', view: contacts.renderDetail },
  { re: /^\/webhooks\/?$/, nav: 'webhooks', view: webhooks.renderList },
  { re: /^\/webhooks\/([A-Za-z0-9_-]+)$/, nav: 'webhooks', view: webhooks.renderDetail },
  { re: /^\/email\/?$/, nav: 'email', view: email.render },
  { re: /^\/profile\/?$/, nav: 'profile', view: profile.render },
  { re: /^\/users\/?$/, nav: 'users', view: users.renderList },
  { re: /^\/api-keys\/?$/, nav: 'api-keys', view: apikeys.renderList },
  { re: /^\/audit\/?$/, nav: 'audit', view: audit.renderList },
];

/** The hash as {path, params}: "#/conversations?widget=x" -> "/conversations". */
export function parseHash(hash = location.hash) {
  const raw = hash.replace(/^#/, '');
  const i = raw.indexOf('?');
  const path = i < 0 ? raw : raw.slice(0, i);
  const params = new URLSearchParams(i < 0 ? '' : raw.slice(i + 1));
  return { path, params };
}

/** A message for the next view (or this one), in the page's status region. */
let flashPending = false;

export function flash(message) {
  flashEl.textContent = message;
  flashEl.hidden = false;
}

/** Go to another route with a message shown there. */
export function navigate(hash, message) {
  forgetUnsaved(); // the view's own action leaves it (a delete, a save)
  if (message) {
    flashPending = true;
    flash(message);
  }
  if (location.hash === hash) route();
  else location.hash = hash;
}

function clearFlash() {
  flashEl.textContent = '';
  flashEl.hidden = true;
}

function leave() {
  if (!current) return;
  current.life.end();
  current = null;
}

function setNav(which) {
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === which) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  // The Settings menu: closed once a page of it is open, marked while one is.
  const more = document.getElementById('nav-more');
  more.open = false;
  more.classList.toggle('has-current', !!more.querySelector('[aria-current]'));
}

/* The route of path: {r, m} (the table's entry, the match), or null. */
function matchRoute(path) {
  for (const r of routes) {
    const m = r.re.exec(path);
    if (m) return { r, m };
  }
  return null;
}

/*
 * The lowest role a route is for: its section's nav item's data-min-role
 * (index.html), the same that hides the item. A hash typed by hand must
 * not render a page (a form) whose every request the server refuses.
 */
function minRole(r) {
  const a = document.querySelector(`nav [data-nav="${r.nav}"]`);
  const item = a && a.closest('[data-min-role]');
  return item ? item.dataset.minRole : null;
}

/* A route's argument: the id in the path, decoded (undefined without). */
function routeArg(m) {
  return m[1] !== undefined ? decodeURIComponent(m[1]) : undefined;
}

/*
 * A link, Back or a typed hash would leave a form's unsaved edits: the
 * page stays (its route put back) until the user chooses to leave them.
 * A link is asked about before it is followed (no history entry made).
 */
function guardLinks() {
  document.addEventListener('click', (ev) => {
    const a = ev.target instanceof Element && ev.target.closest('a[href^="#/"]');
    if (!a || ev.defaultPrevented || ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey) return;
    if (a.getAttribute('href') === shownHash || !unsavedForm()) return;
    ev.preventDefault();
    askLeave(a.getAttribute('href'));
  });
}

async function askLeave(to) {
  if (location.hash !== shownHash) history.replaceState(null, '', shownHash);
  const ok = await confirmDialog({ title: 'Leave this page?', message: 'Your changes on this page are not saved.',
    confirmLabel: 'Leave without saving', danger: true });
  if (!ok) return;
  forgetUnsaved();
  location.hash = to;
}

function route() {
  const hash = location.hash;
  if (!hash.startsWith('#/')) {
    // "#main" (the skip link without script) or nothing: the default route.
    if (hash === '' || hash === '#' || !current) {
      history.replaceState(null, '', '#/conversations');
    } else {
      return;
    }
  }
  if (current && hash !== shownHash && unsavedForm()) {
    askLeave(hash);
    return;
  }
  shownHash = hash;
  const { path, params } = parseHash();
  const matched = matchRoute(path);
  if (flashPending) flashPending = false;
  else clearFlash();
  // The same group: the view shown takes the route itself.
  if (matched && current && current.onRoute && matched.r.group && current.group === matched.r.group) {
    current.onRoute(routeArg(matched.m), params);
    return;
  }
  leave();
  const life = lifetime();
  current = { life, group: matched ? matched.r.group : null, onRoute: null };
  const here = current;
  document.body.classList.toggle('layout-inbox', !!(matched && matched.r.layout === 'inbox'));
  const ctx = {
    signal: life.signal,
    params,
    onLeave: life.onLeave,
    session,
    flash,
    navigate,
    onRoute: (fn) => { here.onRoute = fn; },
    // The profile saved a new name: the header shows it.
    userChanged: (u) => {
      session.user = { ...(session.user || {}), name: u.name };
      showUser(session);
    },
    setTitle: (t) => {
      baseTitle = t ? `${t} · Parley dashboard` : 'Parley dashboard';
      renderTitle();
    },
  };
  clear(main);
  const role = session && session.organization ? session.organization.role || '' : '';
  const min = matched ? minRole(matched.r) : null;
  if (!matched) {
    setNav(null);
    ctx.setTitle('Not found');
    main.append(
      h('h1', { tabindex: '-1', class: 'page-title' }, 'Page not found'),
      h('p', null, 'There is nothing at this address. ', h('a', { href: '#/conversations' }, 'Go to the conversations'), '.'),
    );
  } else if (min && !roleAtLeast(role, min)) {
    setNav(null);
    ctx.setTitle('Not allowed');
    main.append(
      h('h1', { tabindex: '-1', class: 'page-title' }, 'Not allowed'),
      h('p', { 'data-testid': 'not-allowed' }, `This page is for the ${min === 'owner' ? 'owners' : 'admins and owners'}; your role is ${role || 'unknown'}. `,
        h('a', { href: '#/conversations' }, 'Go to the conversations'), '.'),
    );
  } else {
    setNav(matched.r.nav);
    const arg = routeArg(matched.m);
    // Called synchronously: every view puts its <h1> in before its first await.
    let done;
    try {
      done = Promise.resolve(matched.r.view(main, ctx, arg));
    } catch (e) {
      done = Promise.reject(e);
    }
    done.catch((e) => {
      if (isAbort(e) || life.signal.aborted) return;
      showError(e);
    });
  }
  if (started) {
    const title = main.querySelector('h1');
    if (title) title.focus({ preventScroll: false });
    window.scrollTo(0, 0);
  }
  started = true;
}

function showError(e) {
  const msg = e && e.message ? e.message : 'Something went wrong.';
  main.append(viewError(msg));
}

function onLogout(ev) {
  ev.currentTarget.disabled = true;
  logout();
}

/*
 * The organisation an email's link names (?organization_id=, beside the
 * conversation's route) is the one to act in: chosen and kept as the
 * switcher keeps it (signed out, it waits there for the login), and taken
 * out of the address bar, which keeps the route.
 */
function orgFromLink() {
  const q = new URLSearchParams(location.search);
  const id = q.get('organization_id');
  if (id === null) return;
  q.delete('organization_id');
  const rest = q.toString();
  history.replaceState(null, '', location.pathname + (rest ? `?${rest}` : '') + location.hash);
  if (/^[\w-]{1,64}$/.test(id)) setOrg(id);
}

/*
 * The session, in the organisation chosen before (localStorage): one the
 * user is no longer in (404) falls back to the session's first.
 */
async function loadSession() {
  orgFromLink();
  const stored = storedOrg();
  setOrg(stored);
  try {
    return await signedInSession();
  } catch (e) {
    if (!stored || !e || e.status !== 404) throw e;
    setOrg(null);
    return signedInSession();
  }
}

/* The header: who is signed in, with the role here; the nav for that role. */
function showUser(s) {
  const role = (s.organization && s.organization.role) || '';
  const user = s.user || {};
  const who = document.getElementById('whoami');
  clear(who).append(
    h('a', { href: '#/profile', class: 'whoami-link', 'data-nav': 'profile', 'data-testid': 'whoami-profile' },
      avatar(user.name, user.email),
      h('span', { class: 'visually-hidden' }, 'Your profile: signed in as '),
      h('span', { class: 'whoami-name', 'data-testid': 'whoami-name' }, user.name || user.email || '')),
    ' ', h('span', { class: 'badge badge-info', 'data-testid': 'whoami-role' }, role));
  who.title = user.email || '';
  who.hidden = false;
  for (const li of document.querySelectorAll('[data-min-role]')) li.hidden = !roleAtLeast(role, li.dataset.minRole);
}

/* The organisation switcher, when the user is in more than one. */
function setupOrgs(s) {
  const orgs = Array.isArray(s.organizations) ? s.organizations : [];
  if (orgs.length < 2) return;
  const form = document.getElementById('org-switch');
  const select = document.getElementById('org-select');
  const here = s.organization && s.organization.id;
  for (const o of orgs) {
    select.append(h('option', { value: o.id, selected: o.id === here }, `${o.name || o.id} (${o.role})`));
  }
  form.hidden = false;
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (select.value !== here) switchOrg(select.value);
  });
}

/* To another organisation: kept, then the page again at the list of its section. */
function switchOrg(id) {
  setOrg(id);
  const r = routes.find((x) => x.re.test(parseHash().path));
  history.replaceState(null, '', `#/${r ? r.nav : 'conversations'}`);
  location.reload();
}

async function start() {
  keepFocusThroughDisable();
  guardLinks();
  document.getElementById('skip-link').addEventListener('click', (ev) => {
    ev.preventDefault();
    const title = main.querySelector('h1');
    (title || mainLandmark).focus();
  });
  document.getElementById('logout').addEventListener('click', onLogout);
  setupNotify();
  flashEl.addEventListener('click', clearFlash);
  try {
    session = await loadSession();
  } catch (e) {
    if (e && e.status === 401) return; // api() is already on the way to the login page
    clear(main);
    main.append(
      h('h1', { tabindex: '-1' }, 'Parley dashboard'),
      viewError(`Could not check the session: ${e && e.message ? e.message : 'unknown error'}`),
    );
    return;
  }
  if (!session || typeof session.csrfToken !== 'string') {
    toLogin();
    return;
  }
  setCsrfToken(session.csrfToken);
  trackUnsaved(session.user && session.user.id);
  showUser(session);
  setupOrgs(session);
  document.body.classList.add('ready');
  const back = takeReturnRoute();
  if (back && (location.hash === '' || location.hash === '#' || location.hash === '#/conversations')) {
    history.replaceState(null, '', back);
  }
  window.addEventListener('hashchange', route);
  startLive(setWaiting, session.organization ? session.organization.role || '' : '');
  route();
  restoreUnsaved(main, () => flash('Your changes from before you signed in again are back: save them.'));
}

/* The opt-in for browser notifications (a conversation waits for a person). */
function setupNotify() {
  const btn = document.getElementById('notify');
  if (!notifySupported()) return;
  const show = () => {
    const on = notifyOn();
    btn.setAttribute('aria-pressed', String(on));
    btn.textContent = on ? 'Notifications on' : 'Notify me';
    btn.title = on ? 'Turn off the notification when a conversation waits for a person'
      : 'Get a browser notification when a conversation waits for a person';
  };
  btn.hidden = false;
  show();
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    const want = !notifyOn();
    const on = await setNotify(want);
    btn.disabled = false;
    show();
    // Asked for and not given: the browser's answer, said (else nothing shows).
    if (want && !on) {
      flash(Notification.permission === 'denied'
        ? 'Your browser blocks notifications from this dashboard: allow them in the site\'s settings (beside the address bar), then press Notify me again.'
        : 'Notifications are not on: the browser did not allow them. Press Notify me again to be asked.');
    }
  });
}

start();
