// Conversations: the list (#/conversations) and a thread (#/conversations/<id>).
// Both follow the live events (live.js): the list updates its rows and pins
// the conversations waiting for a person first; the thread adds messages as
// they are stored and has the handoff controls and the reply box.

import { api, endpoints, isAbort, loadWidgets, widgetNames, ApiError, roleAtLeast, sessionRole, loadList } from './api.js';
import { onEvent, liveMode } from './live.js';
import {
  h, append, clear, timeEl, updateTimeEl, plural, preview, confirmDialog, downloadLink, pageTitle, backLink, viewError,
  showLoadError, cardTable,
} from './dom.js';

const PAGE = 25;
const Q_MAX_BYTES = 200;
const TYPING_EVERY_MS = 3000; // typing true again at most this often while typing
const TYPING_IDLE_MS = 4000; // typing false after this long without a keystroke

const HANDOFF_LABEL = { waiting_human: 'Waiting for a person', human: 'Person answering' };

/** The handoff badge of a conversation (none while the assistant answers). */
function handoffBadge(state) {
  if (!HANDOFF_LABEL[state]) return null;
  return h('span', {
    class: ['badge', state === 'human' ? 'badge-info' : 'badge-warn', 'conv-badge'],
    'data-testid': 'conv-handoff-badge',
  }, HANDOFF_LABEL[state]);
}

/** Who answers a conversation: the assignee's name, or "Unassigned" muted. */
function assigneeEl(a, testid = 'conv-assignee') {
  if (a === undefined) return h('span', { class: 'muted', 'data-testid': testid }, '—');
  if (!a) return h('span', { class: 'muted', 'data-testid': testid, 'data-assignee': '' }, 'Unassigned');
  return h('span', { 'data-testid': testid, 'data-assignee': String(a.id || '') }, String(a.name || a.id || ''));
}

/** One row of a conversation table (also used on a contact's page). */
export function convRow(c, names) {
  const id = String(c._id || '');
  const count = Number(c.messageCount) || 0;
  const handoff = HANDOFF_LABEL[c.handoff] ? c.handoff : 'ai';
  return h('tr', {
    'data-testid': 'conv-row', 'data-id': id, 'data-handoff': handoff,
    class: handoff === 'waiting_human' ? 'conv-pinned' : null,
  },
    h('td', { 'data-label': 'Session', class: 'cell-id' }, h('span', null,
      h('a', { href: `#/conversations/${encodeURIComponent(id)}`, 'data-testid': 'conv-link' },
        c.sessionId || id),
      handoffBadge(handoff))),
    h('td', { 'data-label': 'Widget' }, (names && names.get(c.widgetId)) || c.widgetId || '—'),
    h('td', { 'data-label': 'Last message', class: 'cell-preview' },
      c.lastMessage ? preview(c.lastMessage) : h('span', { class: 'muted' }, 'No messages')),
    h('td', { 'data-label': 'Messages', class: 'cell-num' }, count.toLocaleString()),
    h('td', { 'data-label': 'Assigned to' }, assigneeEl(c.assignee)),
    h('td', { 'data-label': 'Updated' }, timeEl(c.updatedAt)),
    h('td', { 'data-label': 'Contact' },
      c.contactId
        ? h('span', { class: 'badge badge-info', 'data-testid': 'conv-contact-marker' }, 'Contact')
        : h('span', { class: 'muted' }, 'None')));
}

/** The table head and an empty body for conversation rows. */
export function convTable(captionText, testid = 'conv-table') {
  const tbody = h('tbody', { 'data-testid': 'conv-list' });
  const table = cardTable(captionText, ['Session', 'Widget', 'Last message', 'Messages', 'Assigned to', 'Updated', 'Contact'], tbody,
    { 'data-testid': testid });
  return { table, tbody };
}

function exportLinks(params, prefix) {
  const link = (format, rows, label) => downloadLink(
    endpoints.exportUrl({ format, rows, ...params }), label, `${prefix}-${rows}-${format}`);
  return [link('jsonl', 'conversations', 'Conversations, JSON Lines'),
    link('csv', 'conversations', 'Conversations, CSV'),
    link('jsonl', 'messages', 'Messages, JSON Lines'),
    link('csv', 'messages', 'Messages, CSV')];
}

function utf8Len(s) {
  return new TextEncoder().encode(s).length;
}

/* ------------------------------------------------------------------ list */

const ASSIGNEE_FILTERS = [['', 'All'], ['mine', 'Mine'], ['unassigned', 'Unassigned']];

/** The assignee filter's select (All / Mine / Unassigned), set to value. */
function assigneeFilter(value) {
  const select = h('select', { id: 'conv-assignee', name: 'assignee', 'data-testid': 'assignee-filter' },
    ASSIGNEE_FILTERS.map(([v, t]) => h('option', { value: v, selected: v === value }, t)));
  return { select, field: h('div', { class: 'field field-inline' }, h('label', { for: 'conv-assignee' }, 'Assigned'), select) };
}

/** Whether conversation c belongs in a list filtered by assignee (me: my user id). */
function assigneeMatches(filter, c, me) {
  if (!filter) return true;
  if (c.assignee === undefined) return false; // not known: left to the next load
  if (filter === 'unassigned') return c.assignee === null;
  return !!c.assignee && c.assignee.id === (filter === 'mine' ? me : filter);
}

export async function renderList(main, ctx) {
  ctx.setTitle('Conversations');
  const state = {
    widget: ctx.params.get('widget') || '',
    q: (ctx.params.get('q') || '').trim(),
    assignee: ASSIGNEE_FILTERS.some(([v]) => v === ctx.params.get('assignee')) ? ctx.params.get('assignee') : '',
    cursor: null,
    shown: 0,
    total: 0,
    seq: 0,
    names: new Map(),
  };

  const count = h('p', { class: 'count', 'data-testid': 'conv-count', 'aria-live': 'polite' }, 'Loading…');
  const qInput = h('input', {
    type: 'search', id: 'conv-q', name: 'q', maxlength: String(Q_MAX_BYTES),
    autocomplete: 'off', 'data-testid': 'search-input', 'aria-describedby': 'conv-q-hint',
  });
  qInput.value = state.q;
  const clearBtn = h('button', { type: 'button', class: 'btn', 'data-testid': 'search-clear', hidden: !state.q }, 'Clear search');
  const searchForm = h('form', { class: 'search', role: 'search', 'data-testid': 'search-form', 'aria-label': 'Search conversations' },
    h('label', { for: 'conv-q' }, 'Search'),
    h('div', { class: 'search-row' },
      qInput,
      h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'search-submit' }, 'Search'),
      clearBtn),
    h('p', { id: 'conv-q-hint', class: 'hint' }, 'Session id, contact name, email or phone, or message text.'));

  const select = h('select', { id: 'conv-widget', name: 'widget', 'data-testid': 'widget-filter' },
    h('option', { value: '' }, 'All widgets'));
  const filter = h('div', { class: 'field field-inline' },
    h('label', { for: 'conv-widget' }, 'Widget'), select);
  const assignee = assigneeFilter(state.assignee);
  const me = ctx.session && ctx.session.user ? ctx.session.user.id : '';

  const exportBody = h('div', { class: 'menu-body' });
  const exportMenu = h('details', { class: 'menu', 'data-testid': 'export-menu' },
    h('summary', { class: 'btn' }, 'Export'), exportBody);

  const status = h('p', { class: 'list-status', 'data-testid': 'list-status', 'aria-live': 'polite' });
  const { table, tbody } = convTable('Conversations, newest activity first');
  const empty = h('p', { class: 'empty', 'data-testid': 'conv-empty', hidden: true });
  const more = h('button', { type: 'button', class: 'btn', 'data-testid': 'load-more', hidden: true }, 'Load more');
  const error = viewError(null, { hidden: true });

  main.append(
    h('div', { class: 'page-head' }, pageTitle('Conversations'), count),
    h('div', { class: 'toolbar' }, searchForm, filter, assignee.field, exportMenu),
    error, status,
    h('div', { class: 'table-wrap' }, table),
    empty,
    h('div', { class: 'more' }, more));

  function renderExport() {
    clear(exportBody);
    const label = state.widget
      ? `Every conversation of ${state.names.get(state.widget) || state.widget}:`
      : 'Every conversation:';
    exportBody.append(h('p', { class: 'menu-label' }, label),
      h('ul', { class: 'menu-list' }, exportLinks({ widget: state.widget }, 'export').map((a) => h('li', null, a))));
  }

  function syncUrl() {
    const p = new URLSearchParams();
    if (state.widget) p.set('widget', state.widget);
    if (state.q) p.set('q', state.q);
    if (state.assignee) p.set('assignee', state.assignee);
    const s = p.toString();
    history.replaceState(null, '', `#/conversations${s ? `?${s}` : ''}`);
  }

  const rows = new Map(); // _id -> {tr, c}

  // A row shown (or updated in place: the focus stays on its link).
  function putRow(c, where) {
    const id = String(c._id);
    const old = rows.get(id);
    const merged = old ? { ...old.c, ...c } : c;
    const tr = convRow(merged, state.names);
    if (old) {
      const focused = old.tr.contains(document.activeElement);
      old.tr.replaceWith(tr);
      if (focused) tr.querySelector('a').focus();
    }
    rows.set(id, { tr, c: merged });
    if (where === 'top') {
      const focused = tr.contains(document.activeElement);
      tbody.prepend(tr);
      if (focused) tr.querySelector('a').focus();
    } else if (!old) tbody.append(tr);
    return tr;
  }

  // A row deleted elsewhere goes, and the count with it.
  function dropRow(id) {
    const row = rows.get(id);
    if (!row) return;
    row.tr.remove();
    rows.delete(id);
    state.shown = Math.max(0, state.shown - 1);
    state.total = Math.max(0, state.total - 1);
    count.textContent = plural(state.total, 'conversation', 'conversations');
    table.hidden = rows.size === 0;
    empty.hidden = rows.size !== 0;
  }

  // The conversations waiting for a person first (in the order they are shown).
  function pin() {
    const all = [...tbody.children];
    const w = all.filter((tr) => tr.dataset.handoff === 'waiting_human');
    if (w.every((tr, i) => all[i] === tr)) return;
    const f = document.activeElement;
    tbody.prepend(...w);
    if (f && f !== document.activeElement && f.isConnected) f.focus();
  }

  // The conversations waiting for a person that the first page does not hold.
  async function loadWaiting(seq) {
    let d;
    try {
      d = await api(endpoints.conversations({ handoff: 'open', limit: 200 }), { signal: ctx.signal });
    } catch (e) {
      return; // the list works without them
    }
    if (seq !== state.seq || state.q) return;
    for (const c of Array.isArray(d && d.conversations) ? d.conversations : []) {
      if (c && c._id && c.handoff === 'waiting_human' && (!state.widget || c.widgetId === state.widget)
        && assigneeMatches(state.assignee, c, me)) putRow(c, 'top');
    }
    pin();
    if (rows.size) {
      table.hidden = false;
      empty.hidden = true;
    }
  }

  // A live event: the row changes, moves up, or comes in.
  function onLive(type, d) {
    if (type === 'reset') {
      load(true);
      return;
    }
    const c = d && d.conversation;
    if (type === 'conversation_deleted' && c && c._id) {
      dropRow(String(c._id));
      return;
    }
    if (!c || !c._id || !['conversation', 'message', 'handoff', 'contact'].includes(type)) return;
    const id = String(c._id);
    const upd = { ...c };
    if (type === 'message' && d.message && typeof d.message.content === 'string' && upd.lastMessage === undefined) {
      upd.lastMessage = d.message.content;
    }
    if (type === 'contact' && d.contact && d.contact._id && !upd.contactId) upd.contactId = d.contact._id;
    const mine = !state.q && (!state.widget || c.widgetId === state.widget) && assigneeMatches(state.assignee, c, me);
    if (rows.has(id)) putRow(upd, mine && (type === 'message' || type === 'conversation') ? 'top' : null);
    else if (mine) {
      putRow(upd, 'top');
      if (type === 'conversation') {
        state.total++;
        count.textContent = plural(state.total, 'conversation', 'conversations');
      }
      table.hidden = false;
      empty.hidden = true;
    } else return;
    pin();
  }
  ctx.onLeave(onEvent(onLive));

  async function load(reset) {
    const seq = ++state.seq;
    if (reset) {
      state.cursor = null;
      state.shown = 0;
    }
    error.hidden = true;
    more.disabled = true;
    status.textContent = state.q ? 'Searching…' : 'Loading…';
    let data;
    try {
      data = await api(endpoints.conversations({
        limit: PAGE, cursor: reset ? '' : state.cursor, widget: state.widget, q: state.q, assignee: state.assignee,
      }), { signal: ctx.signal });
    } catch (e) {
      if (isAbort(e) || seq !== state.seq) return;
      more.disabled = false;
      status.textContent = '';
      error.textContent = e.message;
      error.hidden = false;
      return;
    }
    if (seq !== state.seq) return;
    if (reset) {
      clear(tbody);
      rows.clear();
    }
    const list = Array.isArray(data && data.conversations) ? data.conversations : [];
    const firstNew = list.length ? putRow(list[0]) : null;
    list.slice(1).forEach((c) => putRow(c));
    if (reset && !state.q && !state.assignee) loadWaiting(seq); // the server takes no handoff with assignee
    else pin();
    state.shown += list.length;
    state.total = Number(data.total) || 0;
    state.cursor = data.nextCursor || null;
    count.textContent = plural(state.total, 'conversation', 'conversations');
    table.hidden = state.shown === 0;
    if (state.q) {
      status.textContent = state.cursor
        ? `${plural(state.shown, 'match', 'matches')} so far. Older conversations have not been searched yet.`
        : `${plural(state.shown, 'match', 'matches')}.`;
    } else {
      status.textContent = state.shown > 0 ? `Showing ${state.shown.toLocaleString()} of ${state.total.toLocaleString()}.` : '';
    }
    if (state.shown === 0) {
      if (state.q) empty.textContent = state.cursor ? 'No matches yet. Search further to look at older conversations.' : 'No matches.';
      else if (state.assignee) empty.textContent = 'No conversations match this filter.';
      else empty.textContent = state.widget ? 'No conversations for this widget yet.' : 'No conversations yet.';
      empty.hidden = false;
    } else {
      empty.hidden = true;
    }
    const hadFocus = document.activeElement === more;
    more.textContent = state.q ? 'Search further' : 'Load more';
    more.hidden = !state.cursor;
    more.disabled = false;
    if (hadFocus && more.hidden && firstNew) firstNew.querySelector('a').focus();
  }

  searchForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = qInput.value.trim();
    if (q && utf8Len(q) > Q_MAX_BYTES) {
      error.textContent = `Search text is too long (at most ${Q_MAX_BYTES} bytes).`;
      error.hidden = false;
      return;
    }
    state.q = q;
    clearBtn.hidden = !q;
    syncUrl();
    load(true);
  });
  clearBtn.addEventListener('click', () => {
    qInput.value = '';
    state.q = '';
    clearBtn.hidden = true;
    syncUrl();
    qInput.focus();
    load(true);
  });
  select.addEventListener('change', () => {
    state.widget = select.value;
    syncUrl();
    renderExport();
    load(true);
  });
  assignee.select.addEventListener('change', () => {
    state.assignee = assignee.select.value;
    syncUrl();
    load(true);
  });
  more.addEventListener('click', () => load(false));

  const widgets = await loadWidgets(ctx);
  state.names = widgetNames(widgets);
  for (const w of widgets) {
    select.append(h('option', { value: w.id }, state.names.get(w.id)));
  }
  if (state.widget && !state.names.has(state.widget)) {
    // A widget that no longer exists (or is unknown): still filterable.
    select.append(h('option', { value: state.widget }, state.widget));
  }
  select.value = state.widget;
  renderExport();
  await load(true);
}

/* ---------------------------------------------------------------- thread */

const STATUS_LABEL = { complete: 'Complete', interrupted: 'Interrupted', failed: 'Failed' };
const STATUS_CLASS = { complete: 'badge-ok', interrupted: 'badge-warn', failed: 'badge-danger' };
const ROLE_LABEL = { user: 'Visitor', assistant: 'Assistant', system: 'System', agent: 'Person' };

function statusBadge(status) {
  const s = String(status || 'complete');
  return h('span', { class: ['badge', STATUS_CLASS[s] || 'badge-neutral'], 'data-testid': 'msg-status' },
    STATUS_LABEL[s] || s);
}

function tokensText(m) {
  const p = Number(m.promptTokens) || 0;
  const c = Number(m.completionTokens) || 0;
  return `Tokens: ${p.toLocaleString()} prompt, ${c.toLocaleString()} completion`;
}

function msgClasses(m) {
  const role = /^[a-z]+$/.test(m.role || '') ? m.role : 'other';
  const status = /^[a-z]+$/.test(m.status || '') ? m.status : 'unknown';
  return ['msg', `msg-${role}`, `msg-status-${status}`];
}

function messageItem(m) {
  const role = String(m.role || '');
  // a person's message: their name, and that it is not the assistant's
  const agent = role === 'agent';
  const head = h('div', { class: 'msg-head' },
    h('span', { class: 'msg-role', 'data-testid': 'msg-role' },
      agent && m.name ? String(m.name) : ROLE_LABEL[role] || role || 'Unknown'),
    agent ? h('span', { class: 'badge badge-ok', 'data-testid': 'msg-agent' }, 'Person') : null,
    timeEl(m.createdAt),
    agent ? null : statusBadge(m.status));
  const content = h('div', { class: 'msg-content', 'data-testid': 'msg-content' }, String(m.content ?? ''));
  const li = h('li', {
    class: msgClasses(m),
    'data-testid': 'thread-message',
    'data-id': String(m._id || ''),
    'data-role': role,
    'data-status': String(m.status || ''),
  }, head, content);
  if (role === 'assistant') {
    li.append(h('p', { class: 'msg-tokens', 'data-testid': 'msg-tokens' }, tokensText(m)));
  }
  return li;
}

/** Updates a message already shown (its status, text or tokens changed). */
function updateItem(li, old, m) {
  if (old.status !== m.status) {
    li.dataset.status = String(m.status || '');
    li.className = msgClasses(m).join(' ');
    const badge = li.querySelector('[data-testid="msg-status"]');
    if (badge) badge.replaceWith(statusBadge(m.status));
  }
  if (old.content !== m.content) {
    li.querySelector('[data-testid="msg-content"]').textContent = String(m.content ?? '');
  }
  const tok = li.querySelector('[data-testid="msg-tokens"]');
  if (tok && (old.promptTokens !== m.promptTokens || old.completionTokens !== m.completionTokens)) {
    tok.textContent = tokensText(m);
  }
}

function metaRow(label, value, testid) {
  return [h('dt', null, label), h('dd', testid ? { 'data-testid': testid } : null, value)];
}

// The contact of conversation convId; Unverified when its visitor named a
// contact they did not make (the contact's page shows what they submitted).
function contactSummary(contact, id, convId) {
  const href = `#/contacts/${encodeURIComponent(id)}`;
  if (!contact) return h('a', { href, 'data-testid': 'conv-contact-link' }, 'View contact');
  const parts = [contact.name, contact.email, contact.phone].filter(Boolean);
  const link = (Array.isArray(contact.conversations) ? contact.conversations : []).find((c) => c._id === convId);
  return h('span', null,
    h('a', { href, 'data-testid': 'conv-contact-link' }, contact.name || contact.email || contact.phone || 'Contact'),
    parts.length > 1 ? h('span', { class: 'contact-extra' }, ` · ${parts.slice(1).join(' · ')}`) : null,
    link && link.contactVerified === false
      ? [' ', h('span', { class: 'badge badge-warn', 'data-testid': 'conv-contact-unverified',
        title: 'This visitor gave the contact\'s email or phone; the contact was not changed.' }, 'Unverified')]
      : null);
}

/*
 * The people a conversation can be assigned to: for owners the enabled
 * members (GET /v1/admin/users, owners only); for the others "Me". Each
 * {id, label}; "Nobody" is added by the select.
 */
async function assignChoices(ctx) {
  const me = ctx.session && ctx.session.user ? ctx.session.user : {};
  if (roleAtLeast(sessionRole(ctx), 'owner')) {
    const users = await loadList(endpoints.users, 'users', ctx.signal);
    const list = users.filter((u) => !u.disabled)
      .map((u) => ({ id: u.id, label: `${u.name || u.email}${u.id === me.id ? ' (me)' : ''}` }));
    if (list.length) return list;
  }
  return me.id ? [{ id: me.id, label: 'Me' }] : [];
}

/*
 * "Assigned to" and its "Assign to" form for conversation id: posts /assign
 * and shows the answer; failures in actionError (an alert). Returns
 * {el, show(assignee)} (show: the assignee as the server says now).
 */
function assignControl(ctx, id, choices, actionError) {
  const current = h('span', { 'data-testid': 'thread-assignee' });
  const select = h('select', { id: 'assign-to', name: 'user_id', 'data-testid': 'assign-select' },
    h('option', { value: '' }, 'Nobody'), choices.map((c) => h('option', { value: c.id }, c.label)));
  const btn = h('button', { type: 'submit', class: 'btn', 'data-testid': 'assign-submit' }, 'Assign');
  const status = h('p', { class: 'save-status', role: 'status', 'data-testid': 'assign-status' });
  const form = h('form', { class: 'assign-form', 'data-testid': 'assign-form', 'aria-label': 'Assign this conversation' },
    h('div', { class: 'field field-inline' }, h('label', { for: 'assign-to' }, 'Assign to'), select), btn);
  function show(a) {
    clear(current).append(assigneeEl(a ?? null, 'thread-assignee-name'));
    const v = a && a.id ? String(a.id) : '';
    if (v && ![...select.options].some((o) => o.value === v)) select.append(h('option', { value: v }, a.name || v));
    select.value = v;
  }
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    actionError.hidden = true;
    btn.disabled = true;
    status.textContent = '';
    try {
      const r = await api(endpoints.assign(id), { method: 'POST', body: { user_id: select.value || null } });
      const a = r && r.conversation ? r.conversation.assignee : null;
      show(a);
      status.textContent = a ? `Assigned to ${a.name || a.id}.` : 'Assigned to nobody.';
    } catch (e) {
      if (isAbort(e)) return;
      actionError.textContent = `Could not assign: ${e.message}`;
      actionError.hidden = false;
      actionError.focus();
    } finally {
      btn.disabled = false;
    }
  });
  const el = h('div', { class: 'assign', 'data-testid': 'assign' },
    h('p', null, 'Assigned to: ', current), h('div', { class: 'panel-row' }, form), status);
  return { el, show };
}

function nearBottom() {
  const doc = document.documentElement;
  return window.innerHeight + window.scrollY >= doc.scrollHeight - 120;
}

export async function renderThread(main, ctx, id) {
  ctx.setTitle('Conversation');
  const back = backLink('#/conversations', '← All conversations', 'back-to-list');
  const title = pageTitle('Conversation');
  const loading = h('p', { class: 'muted', 'data-testid': 'thread-loading' }, 'Loading…');
  main.append(back, title, loading);

  let data;
  let widgets;
  let choices;
  try {
    [data, widgets, choices] = await Promise.all([
      api(endpoints.conversation(id), { signal: ctx.signal }),
      loadWidgets(ctx),
      assignChoices(ctx),
    ]);
  } catch (e) {
    if (isAbort(e)) return;
    showLoadError(loading, e instanceof ApiError && e.status === 404 ? 'Conversation not found. It may have been deleted.' : e.message);
    return;
  }
  loading.remove();
  const conv = data.conversation || {};
  const names = widgetNames(widgets);
  const widget = widgets.find((w) => w.id === conv.widgetId);
  ctx.setTitle(`Conversation ${conv.sessionId || id}`);
  title.append(h('span', { class: 'title-sub' }, ' ', h('code', { 'data-testid': 'thread-session' }, conv.sessionId || id)));

  const updated = timeEl(conv.updatedAt);
  const countEl = h('span', null, (Number(conv.messageCount) || 0).toLocaleString());
  const contactDd = h('span', null, conv.contactId ? 'Loading…' : h('span', { class: 'muted' }, 'None'));
  const meta = h('dl', { class: 'meta', 'data-testid': 'conv-meta' },
    metaRow('Session', h('code', null, conv.sessionId || ''), 'conv-session'),
    metaRow('Widget', widget
      ? h('a', { href: `#/widgets/${encodeURIComponent(widget.widget_id)}` }, names.get(widget.id))
      : (conv.widgetId || '—'), 'conv-widget'),
    metaRow('Started', timeEl(conv.createdAt), 'conv-created'),
    metaRow('Last activity', updated, 'conv-updated'),
    metaRow('Messages', countEl, 'conv-message-count'),
    metaRow('Contact', contactDd, 'conv-contact'));

  const actionError = h('p', { class: 'alert alert-error', role: 'alert', 'data-testid': 'action-error', hidden: true, tabindex: '-1' });
  const assign = assignControl(ctx, id, choices, actionError);
  assign.show(conv.assignee);
  const del = h('button', { type: 'button', class: 'btn btn-danger', 'data-testid': 'delete-conv' }, 'Delete conversation');
  const exp = (format, label) => downloadLink(
    endpoints.exportUrl({ format, rows: 'messages', conversation: id }), label, `export-thread-${format}`);
  const actions = h('div', { class: 'actions' },
    h('div', { class: 'export-inline', role: 'group', 'aria-label': 'Export this conversation' },
      h('span', { class: 'export-label' }, 'Export this conversation:'),
      exp('jsonl', 'JSON Lines'), exp('csv', 'CSV')),
    del);

  const list = h('ol', { class: 'thread', 'data-testid': 'thread-messages', 'aria-label': 'Messages' });
  const liveNote = h('p', { class: 'visually-hidden', 'aria-live': 'polite', 'data-testid': 'thread-status' });
  const pollNote = h('p', { class: 'hint', 'data-testid': 'poll-status' }, 'New messages appear here as they arrive.');
  const emptyNote = h('p', { class: 'empty', 'data-testid': 'thread-empty', hidden: true }, 'No messages yet.');
  append(main, [meta, actions, actionError,
    h('h2', null, 'Messages'),
    data.truncated ? h('p', { class: 'alert', 'data-testid': 'thread-truncated' },
      'This thread is long: only part of it is shown. Export it to read every message.') : null,
    list, emptyNote, liveNote, pollNote]);

  const known = new Map(); // _id -> {li, m}
  function merge(messages) {
    const wasNearBottom = nearBottom();
    let added = 0;
    let last = null;
    for (const m of messages) {
      const mid = String(m._id || '');
      const k = known.get(mid);
      if (k) {
        updateItem(k.li, k.m, m);
        k.m = m;
      } else {
        const li = messageItem(m);
        list.append(li);
        known.set(mid, { li, m });
        added++;
        last = li;
      }
    }
    emptyNote.hidden = known.size > 0;
    return { added, last, wasNearBottom };
  }
  merge(Array.isArray(data.messages) ? data.messages : []);

  if (conv.contactId) {
    api(endpoints.contact(conv.contactId), { signal: ctx.signal })
      .then((c) => { clear(contactDd).append(contactSummary(c, conv.contactId, id)); })
      .catch((e) => {
        if (isAbort(e)) return;
        clear(contactDd).append(contactSummary(null, conv.contactId));
      });
  }

  /* Live: the events of this conversation; polling (live.js 'poll') only
     while the stream is down; a 'reset' fetches the thread again. */
  let busy = false;
  let stopped = false;
  const stop = () => { stopped = true; };
  const LIVE_TEXT = 'New messages appear here as they arrive.';
  const modeText = () => (liveMode() === 'poll' ? 'Live updates are unavailable; checking every 2 seconds.' : LIVE_TEXT);
  pollNote.textContent = modeText();
  function showAdded({ added, last, wasNearBottom }) {
    if (added > 0) {
      liveNote.textContent = plural(added, 'new message', 'new messages');
      if (wasNearBottom && last) last.scrollIntoView({ block: 'end' });
    }
  }
  function showConv(c) {
    updateTimeEl(updated, c.updatedAt);
    if (c.messageCount != null) countEl.textContent = (Number(c.messageCount) || 0).toLocaleString();
    if (c.handoff) setHandoff(c.handoff, true);
    if (c.assignee !== undefined) assign.show(c.assignee);
  }
  async function poll() {
    if (busy || stopped || ctx.signal.aborted) return;
    busy = true;
    try {
      const d = await api(endpoints.conversation(id), { signal: ctx.signal });
      if (stopped || ctx.signal.aborted) return;
      showConv(d.conversation || {});
      showAdded(merge(Array.isArray(d.messages) ? d.messages : []));
      pollNote.textContent = modeText();
    } catch (e) {
      if (isAbort(e) || stopped) return;
      if (e.status === 404) {
        stop();
        pollNote.textContent = 'This conversation has been deleted.';
        return;
      }
      pollNote.textContent = `Could not refresh (${e.message}); trying again.`;
    } finally {
      busy = false;
    }
  }
  ctx.onLeave(onEvent((type, d) => {
    if (stopped) return;
    if (type === 'poll' || type === 'reset') return void poll();
    if (type === 'mode') {
      pollNote.textContent = modeText();
      return;
    }
    const c = d && d.conversation;
    if (!c || String(c._id) !== id) return;
    showConv(c);
    if (type === 'message' && d.message) showAdded(merge([d.message]));
  }));
  ctx.onLeave(stop);

  /* Handoff: Take over / Hand back, and the reply box while a person answers. */
  let hstate = null;
  const stateBadge = h('span', { 'data-testid': 'handoff-state' });
  const takeBtn = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'take-over' }, 'Take over');
  const backBtn = h('button', { type: 'button', class: 'btn', 'data-testid': 'hand-back' }, 'Hand back');
  const hStatus = h('p', { class: 'save-status', role: 'status', 'data-testid': 'handoff-status' });
  const hHint = h('p', { class: 'hint', id: 'handoff-hint' });
  const text = h('textarea', {
    id: 'reply-text', name: 'content', rows: '3', maxlength: '65536', 'data-testid': 'reply-input',
    'aria-describedby': 'reply-hint',
  });
  const sendBtn = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'reply-send' }, 'Send reply');
  const replyStatus = h('p', { class: 'save-status', role: 'status', 'data-testid': 'reply-status' });
  const replyForm = h('form', { class: 'reply-form', 'data-testid': 'reply-form', 'aria-labelledby': 'reply-title', novalidate: true },
    h('h3', { id: 'reply-title' }, 'Reply to the visitor'),
    h('div', { class: 'field' },
      h('label', { for: 'reply-text' }, 'Message'), text,
      h('p', { class: 'hint', id: 'reply-hint' }, 'Reaches the visitor at once. Ctrl+Enter sends.')),
    h('div', { class: 'reply-row' }, sendBtn, replyStatus));
  const handoffSection = h('section', { class: 'handoff', 'aria-labelledby': 'sec-handoff', 'data-testid': 'handoff' },
    h('h2', { id: 'sec-handoff' }, 'Handoff'),
    h('div', { class: 'panel-row' }, stateBadge, takeBtn, backBtn),
    hHint, hStatus, assign.el,
    h('p', { class: 'hint' }, 'The visitor sees the name of your account when you take over and with your messages.'));
  actions.after(handoffSection);
  pollNote.after(replyForm); // under the messages, as in a chat

  const STATE_TEXT = {
    ai: ['The assistant answers', 'badge-neutral', 'Take over to answer the visitor yourself: the assistant stays silent until you hand back.'],
    waiting_human: ['Waiting for a person', 'badge-warn', 'The visitor asked for a person. The assistant keeps answering until you take over.'],
    human: ['You are answering', 'badge-info', 'The assistant is silent. Hand back to let it answer the next message.'],
  };
  function setHandoff(st, live) {
    if (!STATE_TEXT[st] || st === hstate) return;
    const was = hstate;
    hstate = st;
    const [label, cls, hint] = STATE_TEXT[st];
    stateBadge.className = `badge ${cls}`;
    stateBadge.textContent = label;
    hHint.textContent = hint;
    takeBtn.hidden = st === 'human';
    backBtn.hidden = st !== 'human';
    replyForm.hidden = st !== 'human';
    if (live && was && st === 'waiting_human') hStatus.textContent = 'The visitor asks for a person.';
    if (st !== 'human') typing(false);
  }
  async function changeHandoff(st, btn) {
    actionError.hidden = true;
    btn.disabled = true;
    try {
      const r = await api(endpoints.handoff(id), { method: 'POST', body: { state: st } });
      setHandoff((r && r.conversation && r.conversation.handoff) || st);
      if (r && r.conversation && r.conversation.assignee !== undefined) assign.show(r.conversation.assignee);
      hStatus.textContent = st === 'human' ? 'You took over: the assistant stays silent.' : 'Handed back: the assistant answers the next message.';
      (st === 'human' ? text : takeBtn).focus();
    } catch (e) {
      if (isAbort(e)) return;
      actionError.textContent = `Could not change the handoff: ${e.message}`;
      actionError.hidden = false;
    } finally {
      btn.disabled = false;
    }
  }
  takeBtn.addEventListener('click', () => changeHandoff('human', takeBtn));
  backBtn.addEventListener('click', () => changeHandoff('ai', backBtn));

  /* Typing, shown to the visitor: true at most every TYPING_EVERY_MS while
     keys are pressed, false after TYPING_IDLE_MS without one and on send. */
  let typingOn = false;
  let typingAt = 0;
  let idle = 0;
  function typing(on) {
    window.clearTimeout(idle);
    if (!on && !typingOn) return;
    typingOn = on;
    typingAt = Date.now();
    api(endpoints.typing(id), { method: 'POST', body: { typing: on } }).catch(() => { /* only a hint */ });
  }
  text.addEventListener('input', () => {
    window.clearTimeout(idle);
    if (!text.value.trim()) return typing(false);
    if (!typingOn || Date.now() - typingAt > TYPING_EVERY_MS) typing(true);
    idle = window.setTimeout(() => typing(false), TYPING_IDLE_MS);
  });
  text.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      replyForm.requestSubmit();
    }
  });
  ctx.onLeave(() => typing(false));
  setHandoff(conv.handoff || 'ai');

  replyForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const content = text.value.trim();
    if (!content) {
      replyStatus.textContent = 'Write a message first.';
      text.focus();
      return;
    }
    typing(false);
    sendBtn.disabled = true;
    replyStatus.textContent = 'Sending…';
    try {
      const r = await api(endpoints.convMessages(id), { method: 'POST', body: { content } });
      if (r && r.message) showAdded(merge([r.message]));
      text.value = '';
      replyStatus.textContent = 'Sent.';
    } catch (e) {
      if (isAbort(e)) return;
      replyStatus.textContent = `Not sent: ${e.message}`;
    } finally {
      sendBtn.disabled = false;
      text.focus();
    }
  });

  del.addEventListener('click', async () => {
    const n = known.size;
    const ok = await confirmDialog({
      title: 'Delete this conversation?',
      message: `The conversation and its ${plural(n, 'message', 'messages')} will be deleted for good. This cannot be undone.`,
      confirmLabel: 'Delete',
      danger: true,
    });
    if (!ok || ctx.signal.aborted) return;
    actionError.hidden = true;
    del.disabled = true;
    stop();
    try {
      await api(endpoints.conversation(id), { method: 'DELETE' });
    } catch (e) {
      if (e.status === 404) {
        ctx.navigate('#/conversations', 'The conversation was already deleted.');
        return;
      }
      del.disabled = false;
      actionError.textContent = `Could not delete: ${e.message}`;
      actionError.hidden = false;
      stopped = false;
      return;
    }
    ctx.navigate('#/conversations', 'Conversation deleted.');
  });
}
