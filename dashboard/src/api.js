// The admin API over the session cookie. The CSRF token is kept in memory
// only and sent with every request other than GET/HEAD; the organisation
// chosen in the header's switcher (kept in localStorage) goes with every
// request as x-organization-id (in the query of what the browser opens
// itself: the events stream, an export's download).

export const LOGIN_URL = '/dashboard/login';
const RETURN_KEY = 'parley.returnTo';

const ORG_KEY = 'parley.org';
const DRAFT_KEY = 'parley.draft.';

let csrfToken = null;
let orgId = null;

export function setCsrfToken(t) {
  csrfToken = typeof t === 'string' ? t : null;
}

/** The organisation the stored choice names, or null (the session's first). */
export function storedOrg() {
  try { return localStorage.getItem(ORG_KEY); } catch { return null; }
}

/** Acts in organisation id from now on (null: the session's first) and keeps the choice. */
export function setOrg(id) {
  orgId = typeof id === 'string' && id ? id : null;
  try {
    if (orgId) localStorage.setItem(ORG_KEY, orgId);
    else localStorage.removeItem(ORG_KEY);
  } catch { /* storage may be off */ }
}

/*
 * What a browser opens by itself (the events stream, an export's
 * download) carries no header: it names the organisation in its query.
 */
function withOrg(params) {
  return orgId ? { ...params, organization_id: orgId } : params;
}

/*
 * A same-origin path the server gave (an attachment's url) as the browser
 * opens it itself (an <img>, a download): the organisation in its query
 * when one is chosen. null for anything that is not a path of this origin.
 */
export function openUrl(url) {
  let u;
  try { u = new URL(String(url ?? ''), location.origin); } catch { return null; }
  if (u.origin !== location.origin || !/^\/(v1|api)\//.test(u.pathname)) return null;
  if (orgId && u.pathname.startsWith('/v1/admin/') && !u.searchParams.has('organization_id')) u.searchParams.set('organization_id', orgId);
  return u.pathname + u.search;
}

export class ApiError extends Error {
  constructor(message, status, body) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
  }
}

// Set once the page is on its way out. A second location.replace would
// abort the first navigation, so the 401s that follow a logout (the event
// stream's session check) must not navigate again.
let leaving = false;
const leavingHooks = [];

/** fn() runs before a session's end sends the page to the login page. */
export function beforeLogin(fn) {
  leavingHooks.push(fn);
}

/** To the login page, remembering the route to come back to. */
export function toLogin() {
  if (leaving) return;
  leaving = true;
  for (const fn of leavingHooks) {
    try { fn(); } catch { /* the way to the login page goes on */ }
  }
  try {
    if (/^#\/[\w\-/?=&%.~+]*$/.test(location.hash)) sessionStorage.setItem(RETURN_KEY, location.hash);
  } catch { /* storage may be off */ }
  location.replace(LOGIN_URL);
}

/**
 * The session (GET /dashboard/api/signed-in: the session's answer, or
 * {"signed_in": false}, a 200 the browser logs no error for); nobody
 * signed in goes to the login page, as a 401 does.
 */
export async function signedInSession() {
  const s = await api(endpoints.signedIn);
  if (s && s.signed_in === false) {
    toLogin();
    throw new ApiError('Unauthorized', 401, s);
  }
  return s;
}

/**
 * Ends the session and goes to the login page, with no route to come back
 * to (the next person to sign in starts afresh). Marked as leaving before the
 * request: the ended session's event stream fails at once and its 401 must
 * not start a second navigation.
 */
export async function logout() {
  leaving = true;
  clearDrafts();
  try {
    await api(endpoints.logout, { method: 'POST' });
  } catch { /* gone either way */ }
  location.replace(LOGIN_URL);
}

/**
 * api(path, {method, body, signal}) -> the parsed JSON (null for 204);
 * {raw, type}: raw (a File, a Blob) sent as it is, as type; headers: more
 * request headers (a piece's Content-Range).
 * Throws ApiError (status, server's error text) on a non-2xx answer;
 * a 401 also sends the browser to the login page.
 */
export async function api(path, { method = 'GET', body, signal, raw, type, headers: more } = {}) {
  const headers = { Accept: 'application/json', ...more };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store', signal };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  } else if (raw !== undefined) {
    headers['Content-Type'] = type;
    init.body = raw;
  }
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['x-csrf-token'] = csrfToken;
  if (orgId) headers['x-organization-id'] = orgId;
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError('Could not reach the server. Check your connection and try again.', 0, null);
  }
  if (res.status === 204) return null;
  let data = null;
  const text = await res.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (res.status === 401) {
    toLogin();
    throw new ApiError((data && data.error) || 'Unauthorized', 401, data);
  }
  if (!res.ok) {
    const msg = (data && typeof data.error === 'string' && data.error) || `Request failed (HTTP ${res.status})`;
    throw new ApiError(msg, res.status, data);
  }
  return data;
}

export function isAbort(e) {
  return e && e.name === 'AbortError';
}

/**
 * One page of a list that has a "Load more" button: url fetched with the
 * button disabled and the error box hidden meanwhile. On a failure the
 * error is shown and the button enabled again. The answer, or null (also
 * when the view was left: aborted).
 */
export async function loadPage(url, { signal, more, error }) {
  error.hidden = true;
  moreBusy(more);
  try {
    return await api(url, { signal });
  } catch (e) {
    if (isAbort(e)) return null;
    moreDone(more, !more.hidden);
    error.textContent = e.message;
    error.hidden = false;
    return null;
  }
}

// The "Load more" buttons that had the focus when their page was asked
// for: a button disabled while it loads loses the focus to the page.
const focusedMore = new WeakSet();

/** A "Load more" button while its page loads: disabled, its focus noted. */
export function moreBusy(more) {
  if (document.activeElement === more) focusedMore.add(more);
  more.disabled = true;
}

/**
 * After the page (or its failure): "Load more" back, shown while there is
 * more, with the focus it had. True when it had the focus and is now
 * hidden: the caller moves the focus to what was loaded, not the page's top.
 */
export function moreDone(more, hasMore) {
  const hadFocus = focusedMore.delete(more);
  more.hidden = !hasMore;
  more.disabled = false;
  if (hadFocus && !more.hidden) more.focus();
  return hadFocus && more.hidden;
}

/** Query string from an object, leaving out empty values. */
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  }
  const s = u.toString();
  return s ? `?${s}` : '';
}

const enc = encodeURIComponent;

export const endpoints = {
  session: '/dashboard/api/session',
  signedIn: '/dashboard/api/signed-in',
  profile: '/v1/admin/profile',
  profilePassword: '/v1/admin/profile/password',
  logout: '/dashboard/api/logout',
  conversations: (p) => `/v1/admin/conversations${qs(p)}`,
  conversation: (id) => `/v1/admin/conversations/${enc(id)}`,
  handoff: (id) => `/v1/admin/conversations/${enc(id)}/handoff`,
  assign: (id) => `/v1/admin/conversations/${enc(id)}/assign`,
  convMessages: (id) => `/v1/admin/conversations/${enc(id)}/messages`,
  typing: (id) => `/v1/admin/conversations/${enc(id)}/typing`,
  convRead: (id) => `/v1/admin/conversations/${enc(id)}/read`,
  convAttachments: (id) => `/v1/admin/conversations/${enc(id)}/attachments`,
  cannedAttachments: '/v1/admin/canned-replies/attachments',
  cannedReplies: '/v1/admin/canned-replies',
  cannedReply: (id) => `/v1/admin/canned-replies/${enc(id)}`,
  agents: '/v1/admin/agents',
  agent: (id) => `/v1/admin/agents/${enc(id)}`,
  widgets: '/v1/admin/widgets',
  widget: (wid) => `/v1/admin/widgets/${enc(wid)}`,
  resetId: (wid) => `/v1/admin/widgets/${enc(wid)}/reset-id`,
  identitySecret: (wid) => `/v1/admin/widgets/${enc(wid)}/identity-secret`,
  widgetSetup: (wid) => `/v1/admin/widgets/${enc(wid)}/setup`,
  feedback: '/v1/admin/feedback',
  reports: (p) => `/v1/admin/reports${qs(p)}`,
  reportsCsvUrl: (p) => `/v1/admin/reports.csv${qs(withOrg(p))}`,
  contacts: (p) => `/v1/admin/contacts${qs(p)}`,
  contact: (id, p) => `/v1/admin/contacts/${enc(id)}${qs(p || {})}`,
  contactErase: (id) => `/v1/admin/contacts/${enc(id)}?erase=all`,
  contactExportUrl: (id) => `/v1/admin/contacts/${enc(id)}/export${qs(withOrg({}))}`,
  exportUrl: (p) => `/v1/admin/export${qs(withOrg(p))}`,
  events: (lastId) => `/v1/admin/events${qs(withOrg({ last_event_id: lastId }))}`,
  users: '/v1/admin/users',
  user: (id) => `/v1/admin/users/${enc(id)}`,
  invitations: '/v1/admin/invitations',
  invitation: (id) => `/v1/admin/invitations/${enc(id)}`,
  apiKeys: '/v1/admin/api-keys',
  apiKey: (id) => `/v1/admin/api-keys/${enc(id)}`,
  audit: (p) => `/v1/admin/audit${qs(p)}`,
  knowledgeSources: '/v1/admin/knowledge/sources',
  knowledgeSource: (id) => `/v1/admin/knowledge/sources/${enc(id)}`,
  knowledgeSync: (id) => `/v1/admin/knowledge/sources/${enc(id)}/sync`,
  knowledgeFile: (id) => `/v1/admin/knowledge/sources/${enc(id)}/file`,
  knowledgePages: (id, cursor) => `/v1/admin/knowledge/sources/${enc(id)}/pages${qs({ limit: 200, cursor: cursor || undefined })}`,
  knowledgeSearch: '/v1/admin/knowledge/search',
  knowledgeGaps: (p) => `/v1/admin/knowledge-gaps${qs(p)}`,
  knowledgeGapsResolve: '/v1/admin/knowledge-gaps/resolve',
  actions: '/v1/admin/actions',
  action: (id) => `/v1/admin/actions/${enc(id)}`,
  actionTest: (id) => `/v1/admin/actions/${enc(id)}/test`,
  webhooks: '/v1/admin/webhooks',
  webhook: (id) => `/v1/admin/webhooks/${enc(id)}`,
  webhookTest: (id) => `/v1/admin/webhooks/${enc(id)}/test`,
  webhookSecret: (id) => `/v1/admin/webhooks/${enc(id)}/secret`,
  deliveries: (id, p) => `/v1/admin/webhooks/${enc(id)}/deliveries${qs(p)}`,
  deliveryRetry: (id, dlv) => `/v1/admin/webhooks/${enc(id)}/deliveries/${enc(dlv)}/retry`,
};

/** The session's role in the chosen organisation ('' when unknown). */
export function sessionRole(ctx) {
  return ctx.session && ctx.session.organization ? ctx.session.organization.role || '' : '';
}

/** The roles, lowest first, as the API names them. */
export const ROLES = ['agent', 'admin', 'owner'];

/** True when role may do what needs at least min (ROLES' order). */
export function roleAtLeast(role, min) {
  return ROLES.indexOf(role) >= ROLES.indexOf(min);
}

/**
 * The array under key in GET url's answer, for names and pickers; a failure
 * other than an abort or a 401 (which throw) gives an empty list.
 */
export async function loadList(url, key, signal) {
  try {
    const data = await api(url, { signal });
    return Array.isArray(data && data[key]) ? data[key] : [];
  } catch (e) {
    if (isAbort(e) || (e && e.status === 401)) throw e;
    return [];
  }
}

/**
 * The widgets, for names and the filter, in a view's ctx; errors give an
 * empty list, and so does a role below admin (not asked: the server says 403).
 */
export function loadWidgets(ctx) {
  if (!roleAtLeast(sessionRole(ctx), 'admin')) return Promise.resolve([]);
  return loadList(endpoints.widgets, 'widgets', ctx.signal);
}

export function widgetLabel(w) {
  if (!w) return '';
  if (w.name) return w.name;
  if (w.id === 'default') return 'Default widget';
  return w.widget_id || w.id;
}

/** Map internal id -> display name. */
export function widgetNames(widgets) {
  const m = new Map();
  for (const w of widgets) m.set(w.id, widgetLabel(w));
  return m;
}

/*
 * A reply being typed, kept in the tab (sessionStorage) until it is sent:
 * a session that ends sends the page to the login page, and whoever signs
 * in again finds their reply where they left it. Keyed by the user too, so
 * that another person signing in in the same tab never sees it; an
 * explicit logout clears them all (the next person starts afresh).
 */
const draftKey = (userId, convId) => `${DRAFT_KEY}${userId || ''}.${convId}`;

/** The kept draft of userId's reply in conversation convId, or ''. */
export function loadDraft(userId, convId) {
  try { return sessionStorage.getItem(draftKey(userId, convId)) || ''; } catch { return ''; }
}

/** Keeps text as the draft (blank: none). */
export function saveDraft(userId, convId, text) {
  try {
    if (String(text).trim()) sessionStorage.setItem(draftKey(userId, convId), text);
    else sessionStorage.removeItem(draftKey(userId, convId));
  } catch { /* storage may be off or full: only a convenience */ }
}

function clearDrafts() {
  try {
    const keys = [];
    for (let i = 0; i < sessionStorage.length; i++) {
      const k = sessionStorage.key(i);
      if (k && k.startsWith(DRAFT_KEY)) keys.push(k);
    }
    for (const k of keys) sessionStorage.removeItem(k);
  } catch { /* storage may be off */ }
}

export function takeReturnRoute() {
  try {
    const r = sessionStorage.getItem(RETURN_KEY);
    sessionStorage.removeItem(RETURN_KEY);
    return r;
  } catch { return null; }
}
