// Conversations as an inbox: the list on the left (#/conversations), the
// open thread on the right (#/conversations/<id>, thread.js); on a phone one
// at a time. The list follows the live events (live.js): a row per
// conversation named after its visitor, the visitor's last message, how long
// ago, unread (bold, a dot) until opened here, the handoff and assignee; the
// conversations waiting for a person pinned first. Folders (open, snoozed,
// resolved, all: convstate.js), filters and the search stay in the hash's
// query (?state=&widget=&q=&assignee=), with or without a thread.

import {
  api, endpoints, isAbort, loadWidgets, moreBusy, moreDone, widgetLabel, widgetNames, roleAtLeast, sessionRole,
} from './api.js';
import { liveReads } from './liveread.js';
import {
  h, clear, lifetime, timeEl, relTimeEl, refreshRelTimes, plural, preview, downloadLink, viewError, cardTable,
} from './dom.js';
import { FOLDERS, inFolder, stateBadge } from './convstate.js';
import { renderThread } from './thread.js';

const PAGE = 25;
// Requests one page of a folder or an assignee filter may take (listPane's fetchPage).
const FILTER_ROUNDS = 10;
const Q_MAX_BYTES = 200;
const TICK_MS = 30000; // the rows' relative times told again

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
export function assigneeEl(a, testid = 'conv-assignee') {
  if (a === undefined) return h('span', { class: 'muted', 'data-testid': testid }, '—');
  if (!a) return h('span', { class: 'muted', 'data-testid': testid, 'data-assignee': '' }, 'Unassigned');
  return h('span', { 'data-testid': testid, 'data-assignee': String(a.id || '') }, String(a.name || a.id || ''));
}

/** The visitor's name: the server's (contact or generated), else from the session id. */
export function visitorLabel(c) {
  if (c.visitorName) return String(c.visitorName);
  const s = String(c.sessionId || c._id || '').replace(/^[a-z0-9]+:/, '');
  return s ? `Visitor ${s.slice(0, 6)}` : 'Visitor';
}

/** One row of a conversation table (a contact's page). */
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

/* ------------------------------------------------------------ inbox rows */

/** The text a row previews: the visitor's last message, else the last one. */
function rowPreview(c) {
  return c.lastVisitorMessage || c.lastMessage || '';
}

/*
 * One row of the inbox's list: a link to the thread (href, keeping the
 * list's query) holding the visitor's name, how long ago, the preview and
 * the badges. Unread: data-unread, bold and a dot.
 */
function inboxRow(c, names, href, isOpen) {
  const id = String(c._id || '');
  const handoff = HANDOFF_LABEL[c.handoff] ? c.handoff : 'ai';
  const unread = c.unread === true;
  const text = rowPreview(c);
  const widget = (names && names.get(c.widgetId)) || '';
  return h('li', {
    'data-testid': 'conv-row', 'data-id': id, 'data-handoff': handoff, 'data-unread': String(unread),
    class: ['inbox-row', unread && 'is-unread', isOpen && 'is-open', handoff === 'waiting_human' && 'conv-pinned'],
  },
  h('a', { href, class: 'inbox-link', 'data-testid': 'conv-link', 'aria-current': isOpen ? 'true' : null },
    h('span', { class: 'row-top' },
      h('span', { class: 'unread-dot', 'aria-hidden': 'true' }),
      unread ? h('span', { class: 'visually-hidden', 'data-testid': 'conv-unread' }, 'Unread: ') : null,
      h('span', { class: 'row-name', 'data-testid': 'conv-name' }, visitorLabel(c)),
      relTimeEl(c.updatedAt, { class: 'row-time', 'data-testid': 'conv-time' })),
    h('span', { class: 'row-preview', 'data-testid': 'conv-preview' },
      // a message of files alone has no text
      text ? preview(text) : h('span', { class: 'muted' }, Number(c.messageCount) > 0 ? 'No text' : 'No messages')),
    h('span', { class: 'row-tags' },
      handoffBadge(handoff),
      stateBadge(c),
      assigneeEl(c.assignee),
      c.contactId ? h('span', { class: 'badge badge-info', 'data-testid': 'conv-contact-marker' }, 'Contact') : null,
      widget ? h('span', { class: 'row-widget muted' }, widget) : null)));
}

/* ------------------------------------------------------------ list pane */

/* The list's filters from the hash's query. */
function listFilters(params) {
  const assignee = params.get('assignee');
  const folder = params.get('state');
  return {
    folder: FOLDERS.some(([v]) => v === folder) ? folder : 'open',
    widget: params.get('widget') || '',
    q: (params.get('q') || '').trim(),
    assignee: ASSIGNEE_FILTERS.some(([v]) => v === assignee) ? assignee : '',
  };
}

/* The list's query string ("?widget=…&q=…", or ""). */
function filterQuery(f) {
  const p = new URLSearchParams();
  if (f.folder && f.folder !== 'open') p.set('state', f.folder);
  if (f.widget) p.set('widget', f.widget);
  if (f.q) p.set('q', f.q);
  if (f.assignee) p.set('assignee', f.assignee);
  const s = p.toString();
  return s ? `?${s}` : '';
}

/*
 * The list pane: count, search, filters, export, the rows, Load more.
 * Returns {el, ready (the first load), state, setOpen(id), setFilters(f),
 * dropRow(id), markRead(id), rowLink(id)}.
 */
function listPane(ctx, initial, openId) {
  const state = {
    ...initial,
    open: openId || null,
    cursor: null,
    shown: 0,
    total: 0,
    seq: 0,
    names: new Map(),
  };
  const me = ctx.session && ctx.session.user ? ctx.session.user.id : '';

  const count = h('p', { class: 'count', 'data-testid': 'conv-count', 'aria-live': 'polite' }, 'Loading…');
  const qInput = h('input', {
    type: 'search', id: 'conv-q', name: 'q', maxlength: String(Q_MAX_BYTES),
    autocomplete: 'off', 'data-testid': 'search-input', 'aria-describedby': 'conv-q-hint',
  });
  qInput.value = state.q;
  const clearBtn = h('button', { type: 'button', class: 'btn', 'data-testid': 'search-clear', hidden: !state.q }, 'Clear');
  const searchForm = h('form', { class: 'search', role: 'search', 'data-testid': 'search-form', 'aria-label': 'Search conversations' },
    h('label', { for: 'conv-q', class: 'visually-hidden' }, 'Search'),
    h('div', { class: 'search-row' },
      qInput,
      h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'search-submit' }, 'Search'),
      clearBtn),
    h('p', { id: 'conv-q-hint', class: 'visually-hidden' }, 'Session id, contact name, email or phone, or message text.'));

  const select = h('select', { id: 'conv-widget', name: 'widget', 'data-testid': 'widget-filter' },
    h('option', { value: '' }, 'All widgets'));
  const filter = h('div', { class: 'field field-inline' }, h('label', { for: 'conv-widget' }, 'Widget'), select);
  const assignee = assigneeFilter(state.assignee);
  const folders = FOLDERS.map(([v, t]) => h('button', {
    type: 'button', class: 'folder', 'data-folder': v, 'data-testid': `folder-${v}`, 'aria-pressed': String(v === state.folder),
  }, t));
  const folderBar = h('div', { class: 'folders', role: 'group', 'aria-label': 'Folders', 'data-testid': 'folders' }, folders);

  const exportBody = h('div', { class: 'menu-body' });
  const exportMenu = h('details', { class: 'menu', 'data-testid': 'export-menu' },
    h('summary', { class: 'btn btn-quiet' }, 'Export'), exportBody);

  const status = h('p', { class: 'list-status', 'data-testid': 'list-status', 'aria-live': 'polite' });
  const list = h('ul', { class: 'inbox-list', 'data-testid': 'conv-list', 'aria-label': 'Conversations, newest activity first' });
  const empty = h('p', { class: 'empty', 'data-testid': 'conv-empty', hidden: true });
  const more = h('button', { type: 'button', class: 'btn', 'data-testid': 'load-more', hidden: true }, 'Load more');
  const error = viewError(null, { hidden: true });

  const el = h('section', { class: 'inbox-pane inbox-list-pane', 'aria-labelledby': 'inbox-title', 'data-testid': 'inbox-list' },
    h('div', { class: 'inbox-list-head' },
      h('div', { class: 'page-head' }, h('h1', { class: 'page-title', id: 'inbox-title', tabindex: '-1' }, 'Conversations'), count,
        // the export is for admins and owners (an agent's is refused: 403)
        roleAtLeast(sessionRole(ctx), 'admin') ? exportMenu : null),
      folderBar,
      searchForm,
      h('div', { class: 'inbox-filters' }, filter, assignee.field)),
    h('div', { class: 'inbox-list-scroll', 'data-testid': 'conv-scroll' },
      error, status, list, empty, h('div', { class: 'more' }, more)));

  const hrefOf = (id) => `#/conversations/${encodeURIComponent(id)}${filterQuery(state)}`;

  function renderExport() {
    clear(exportBody);
    const label = state.widget
      ? `Every conversation of ${state.names.get(state.widget) || state.widget}:`
      : 'Every conversation:';
    exportBody.append(h('p', { class: 'menu-label' }, label),
      h('ul', { class: 'menu-list' }, exportLinks({ widget: state.widget }, 'export').map((a) => h('li', null, a))));
  }

  function syncUrl() {
    const path = state.open ? `#/conversations/${encodeURIComponent(state.open)}` : '#/conversations';
    history.replaceState(null, '', `${path}${filterQuery(state)}`);
  }

  const rows = new Map(); // _id -> {li, c}

  // A row shown (or updated in place: the focus stays on its link).
  function putRow(c, where) {
    const id = String(c._id);
    const old = rows.get(id);
    const merged = old ? { ...old.c, ...c } : c;
    const li = inboxRow(merged, state.names, hrefOf(id), id === state.open);
    const focused = old && old.li.contains(document.activeElement);
    if (old) old.li.replaceWith(li);
    rows.set(id, { li, c: merged });
    if (where === 'top') list.prepend(li);
    else if (!old) list.append(li);
    if (focused) li.querySelector('a').focus();
    return li;
  }

  function showCount() {
    count.textContent = plural(state.total, 'conversation', 'conversations');
  }

  // What the list shows of what there is: the rows as they are now (a
  // live update adds or takes one; the pinned waiting ones count too).
  function showStatus() {
    state.shown = rows.size;
    if (state.q) {
      status.textContent = state.cursor
        ? `${plural(state.shown, 'match', 'matches')} so far. Older conversations have not been searched yet.`
        : `${plural(state.shown, 'match', 'matches')}.`;
    } else if (state.folder !== 'all') {
      // total counts every folder: say what this one shows
      status.textContent = state.shown > 0 ? `Showing ${state.shown.toLocaleString()}${state.cursor ? ' so far' : ''}.` : '';
    } else {
      status.textContent = state.shown > 0
        ? `Showing ${state.shown.toLocaleString()} of ${Math.max(state.total, state.shown).toLocaleString()}.` : '';
    }
  }

  // No conversations at all: where they come from, the widget whose embed
  // code puts the chat on a site (for admins and owners, who see widgets).
  function noneYet() {
    clear(empty);
    const ws = state.widgets || [];
    const w = ws.find((x) => x.id === (state.widget || 'default')) || (!state.widget && ws.length === 1 ? ws[0] : null);
    empty.append(state.widget ? 'No conversations for this widget yet.' : 'No conversations yet.');
    if (w) {
      empty.append(' Chats show here once the widget is on your site: ',
        h('a', { href: `#/widgets/${encodeURIComponent(w.widget_id)}`, 'data-testid': 'conv-empty-widget' },
          `${widgetLabel(w)}: its embed code`), '.');
    } else if (ws.length && !state.widget) {
      empty.append(' Chats show here once a widget is on your site: ',
        h('a', { href: '#/widgets', 'data-testid': 'conv-empty-widget' }, 'your widgets and their embed code'), '.');
    }
  }

  function showEmpty() {
    list.hidden = rows.size === 0;
    empty.hidden = rows.size !== 0;
  }

  // A row deleted (here or elsewhere) goes, and the count with it.
  function dropRow(id) {
    const row = rows.get(id);
    if (!row) return;
    row.li.remove();
    rows.delete(id);
    state.total = Math.max(0, state.total - 1);
    showCount();
    showStatus();
    if (!rows.size) noneYet();
    showEmpty();
  }

  // A row that no longer belongs in the folder goes (the count stays).
  function leaveRow(id) {
    const row = rows.get(id);
    if (!row) return;
    const focused = row.li.contains(document.activeElement);
    row.li.remove();
    rows.delete(id);
    showStatus();
    showEmpty();
    if (focused) qInput.focus();
  }

  // The conversations waiting for a person first (in the order they are shown).
  function pin() {
    const all = [...list.children];
    const w = all.filter((li) => li.dataset.handoff === 'waiting_human');
    if (w.every((li, i) => all[i] === li)) return;
    const f = document.activeElement;
    list.prepend(...w);
    if (f && f !== document.activeElement && f.isConnected) f.focus();
  }

  // The conversations waiting for a person that the first page does not
  // hold (d: their list, null when it could not be read: the list works
  // without them).
  function showWaiting(d) {
    for (const c of Array.isArray(d && d.conversations) ? d.conversations : []) {
      if (c && c._id && c.handoff === 'waiting_human' && (!state.widget || c.widgetId === state.widget)
        && assigneeMatches(state.assignee, c, me) && inFolder(state.folder, c)) putRow(c, 'top');
    }
    pin();
    showStatus();
    if (rows.size) showEmpty();
  }

  // Read here: the row loses its unread mark, the server is told.
  function markRead(id) {
    const row = rows.get(id);
    if (row && row.c.unread) putRow({ _id: id, unread: false });
    api(endpoints.convRead(id), { method: 'POST' }).catch(() => { /* shown unread again on the next load */ });
  }

  // A live event: the row changes, moves up, or comes in. A visitor's
  // message marks it unread, unless it is open here (then it is read: the
  // server told once, not again when the event is shown again, liveread.js).
  function onLive(type, d, again = false) {
    const c = d && d.conversation;
    if (type === 'conversation_deleted' && c && c._id) {
      dropRow(String(c._id));
      return;
    }
    if (!c || !c._id || !['conversation', 'message', 'handoff', 'contact', 'state'].includes(type)) return;
    const id = String(c._id);
    const upd = { ...c };
    delete upd.unread; // the stream is everyone's; unread is this person's
    const m = type === 'message' ? d.message : null;
    if (m && typeof m.content === 'string') {
      if (upd.lastMessage === undefined) upd.lastMessage = m.content;
      if (m.role === 'user' && upd.lastVisitorMessage === undefined) upd.lastVisitorMessage = m.content;
    }
    if (m && m.role === 'user') {
      const seen = id === state.open && document.visibilityState === 'visible';
      upd.unread = !seen;
      if (seen && !again) api(endpoints.convRead(id), { method: 'POST' }).catch(() => {});
    } else if (type === 'conversation' && !rows.has(id)) upd.unread = upd.unread ?? false;
    if (type === 'contact' && d.contact && d.contact._id && !upd.contactId) upd.contactId = d.contact._id;
    const mine = !state.q && (!state.widget || c.widgetId === state.widget) && assigneeMatches(state.assignee, c, me)
      && inFolder(state.folder, c);
    // No longer in the folder, or no longer the assignee the list shows.
    if (rows.has(id) && ((c.state && !inFolder(state.folder, c))
      || (state.assignee && c.assignee !== undefined && !assigneeMatches(state.assignee, c, me)))) leaveRow(id);
    else if (rows.has(id)) putRow(upd, mine && (type === 'message' || type === 'conversation') ? 'top' : null);
    else if (mine) {
      putRow(upd, 'top');
      if (type === 'conversation') {
        state.total++;
        showCount();
      }
      showStatus();
      showEmpty();
    } else return;
    pin();
  }

  // Back to the tab: the open thread's visitor messages are read now.
  const onVisible = () => {
    if (document.visibilityState !== 'visible' || !state.open) return;
    const row = rows.get(state.open);
    if (row && row.c.unread) markRead(state.open);
  };
  document.addEventListener('visibilitychange', onVisible);
  ctx.onLeave(() => document.removeEventListener('visibilitychange', onVisible));
  const tick = window.setInterval(() => refreshRelTimes(list), TICK_MS);
  ctx.onLeave(() => window.clearInterval(tick));

  // One page of the list as filtered. The server looks at a bounded number
  // of conversations a request (newest first) when a folder or an assignee
  // filters them, so a page may come back short, even empty, with a cursor:
  // a folder's rows older than the conversations it has looked at. The
  // next requests are made here (FILTER_ROUNDS at most) until the page is
  // full or the list ends, so that Open never says "all caught up" above
  // an open conversation further down. A search goes further only when
  // asked ("Search further"): each of its requests reads messages.
  // seq: the load's; a newer load (another folder, a search) stops it.
  async function fetchPage(cursor, seq) {
    const f = {
      limit: PAGE, widget: state.widget, q: state.q, assignee: state.assignee,
      state: state.folder === 'all' ? '' : state.folder,
    };
    const ask = (c) => api(endpoints.conversations({ ...f, cursor: c }), { signal: ctx.signal });
    const data = await ask(cursor);
    const filtered = !f.q && (f.state || f.assignee);
    const convs = Array.isArray(data && data.conversations) ? [...data.conversations] : [];
    for (let i = 1; filtered && i < FILTER_ROUNDS && convs.length < PAGE && data && data.nextCursor && seq === state.seq; i++) {
      const next = await ask(data.nextCursor);
      if (Array.isArray(next && next.conversations)) convs.push(...next.conversations);
      data.nextCursor = next && next.nextCursor;
    }
    return { ...data, conversations: convs };
  }

  function loading() {
    error.hidden = true;
    moreBusy(more);
    status.textContent = state.q ? 'Searching…' : 'Loading…';
  }

  function failed(e) {
    moreDone(more, !more.hidden);
    status.textContent = '';
    error.textContent = e.message;
    error.hidden = false;
  }

  // The list read afresh (the first load, a filter changed, the stream's
  // reset or poll): its first page and the conversations waiting for a
  // person, as one read, which the live events that come meanwhile do not
  // lose to (liveread.js). Listening before it, and the first load too.
  const live = liveReads(ctx);
  live.attach({
    el,
    async read() {
      const seq = ++state.seq;
      loading();
      const waiting = !state.q && !state.assignee; // the server takes no handoff with assignee
      const [data, w] = await Promise.all([
        fetchPage('', seq),
        waiting ? api(endpoints.conversations({ handoff: 'open', limit: 200 }), { signal: ctx.signal }).catch((e) => {
          if (isAbort(e)) throw e;
          return null;
        }) : null,
      ]);
      return { seq, data, waiting: waiting ? w : undefined };
    },
    show({ seq, data, waiting }) {
      if (seq !== state.seq) return;
      showPage(data, true);
      if (waiting !== undefined) showWaiting(waiting);
    },
    fail(e) {
      failed(e);
    },
    event: onLive,
  });
  // A filter changed: the answer to a read still on its way is not shown.
  const load = () => {
    state.seq++;
    live.run();
  };

  // Load more: the next page.
  async function loadMore() {
    const seq = ++state.seq;
    loading();
    let data;
    try {
      data = await fetchPage(state.cursor, seq);
    } catch (e) {
      if (isAbort(e) || seq !== state.seq) return;
      failed(e);
      return;
    }
    if (seq !== state.seq) return;
    showPage(data, false);
  }

  function showPage(data, reset) {
    if (reset) {
      state.cursor = null;
      state.shown = 0;
      clear(list);
      rows.clear();
    }
    // The open conversation is being read here, whatever the answer says.
    const page = (Array.isArray(data && data.conversations) ? data.conversations : [])
      .map((c) => (c && c._id === state.open ? { ...c, unread: false } : c));
    const firstNew = page.length ? putRow(page[0]) : null;
    page.slice(1).forEach((c) => putRow(c));
    pin();
    state.shown += page.length;
    state.total = Number(data.total) || 0;
    state.cursor = data.nextCursor || null;
    showCount();
    list.hidden = state.shown === 0 && rows.size === 0;
    showStatus();
    if (state.shown === 0) {
      if (state.q) empty.textContent = state.cursor ? 'No matches yet. Search further to look at older conversations.' : 'No matches.';
      else if (state.cursor) empty.textContent = 'None of the newest conversations is here. Load more looks at older ones.';
      else if (state.assignee) empty.textContent = 'No conversations match this filter.';
      else if (state.folder !== 'all' && state.folder !== 'open') empty.textContent = `No ${state.folder} conversations.`;
      else if (state.folder === 'open' && state.total > 0) empty.textContent = 'No open conversations: all caught up.';
      else noneYet();
      empty.hidden = false;
    } else {
      empty.hidden = true;
    }
    more.textContent = state.q ? 'Search further' : 'Load more';
    if (moreDone(more, state.cursor) && firstNew) firstNew.querySelector('a').focus();
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
    load();
  });
  clearBtn.addEventListener('click', () => {
    qInput.value = '';
    state.q = '';
    clearBtn.hidden = true;
    syncUrl();
    qInput.focus();
    load();
  });
  select.addEventListener('change', () => {
    state.widget = select.value;
    syncUrl();
    renderExport();
    load();
  });
  for (const b of folders) {
    b.addEventListener('click', () => {
      if (state.folder === b.dataset.folder) return;
      state.folder = b.dataset.folder;
      for (const x of folders) x.setAttribute('aria-pressed', String(x === b));
      syncUrl();
      load();
    });
  }
  assignee.select.addEventListener('change', () => {
    state.assignee = assignee.select.value;
    syncUrl();
    load();
  });
  more.addEventListener('click', loadMore);

  async function start() {
    const widgets = await loadWidgets(ctx);
    state.widgets = widgets;
    state.names = widgetNames(widgets);
    for (const w of widgets) select.append(h('option', { value: w.id }, state.names.get(w.id)));
    if (state.widget && !state.names.has(state.widget)) {
      // A widget that no longer exists (or is unknown): still filterable.
      select.append(h('option', { value: state.widget }, state.widget));
    }
    select.value = state.widget;
    renderExport();
    await live.run();
  }

  return {
    el,
    state,
    start,
    dropRow,
    markRead,
    onState: (c) => onLive('state', { conversation: c }),
    query: () => filterQuery(state),
    rowLink: (id) => { const r = rows.get(id); return r ? r.li.querySelector('a') : null; },
    // The open conversation (null: none): its row marked, the others' links kept.
    setOpen(id) {
      const was = state.open;
      state.open = id || null;
      for (const k of [was, state.open]) if (k && rows.has(k)) putRow({ _id: k });
    },
    // Filters from a hash changed by hand (back, forward): loaded again.
    setFilters(f) {
      if (f.widget === state.widget && f.q === state.q && f.assignee === state.assignee && f.folder === state.folder) return;
      Object.assign(state, f);
      qInput.value = f.q;
      clearBtn.hidden = !f.q;
      select.value = f.widget;
      assignee.select.value = f.assignee;
      for (const x of folders) x.setAttribute('aria-pressed', String(x.dataset.folder === f.folder));
      renderExport();
      load();
    },
  };
}

/* ---------------------------------------------------------------- inbox */

/*
 * #/conversations and #/conversations/<id>: the list pane and the thread
 * pane side by side (one at a time under 44rem: .has-thread says which).
 * The view stays while the route stays in the inbox (ctx.onRoute): the
 * list keeps its rows and the thread pane changes.
 */
export async function renderInbox(main, ctx, id) {
  ctx.setTitle('Conversations');
  const list = listPane(ctx, listFilters(ctx.params), id);
  const threadPane = h('section', { class: 'inbox-pane inbox-thread-pane', 'aria-label': 'Conversation', 'data-testid': 'inbox-thread' });
  const inbox = h('div', { class: 'inbox', 'data-testid': 'inbox' }, list.el, threadPane);
  main.append(inbox);
  let thread = null; // {life (dom.js lifetime), id}

  function closeThread() {
    if (!thread) return;
    thread.life.end();
    thread = null;
  }

  function placeholder() {
    clear(threadPane).append(h('div', { class: 'thread-none', 'data-testid': 'thread-none' },
      h('p', null, 'Choose a conversation to read it here.')));
  }

  function openThread(tid, focus) {
    closeThread();
    clear(threadPane);
    inbox.classList.toggle('has-thread', !!tid);
    list.setOpen(tid);
    if (!tid) {
      ctx.setTitle('Conversations');
      placeholder();
      return;
    }
    const life = lifetime();
    const mine = { life, id: tid };
    thread = mine;
    const tctx = {
      signal: life.signal,
      onLeave: life.onLeave,
      session: ctx.session,
      setTitle: ctx.setTitle,
      navigate: ctx.navigate,
      flash: ctx.flash,
    };
    renderThread(threadPane, tctx, tid, {
      backHref: `#/conversations${list.query()}`,
      onOpened: () => list.markRead(tid),
      onDeleted: (x) => list.dropRow(x),
      // resolved, snoozed or reopened here: the row follows its folder
      onState: (c) => list.onState(c),
    }).then((t) => {
      // On a phone the list is gone: the thread's title takes the focus.
      if (t && focus && thread === mine && !list.el.offsetParent) t.title.focus();
    }).catch((e) => {
      if (!isAbort(e) && thread === mine) threadPane.append(viewError(e && e.message ? e.message : 'Something went wrong.'));
    });
  }

  ctx.onLeave(closeThread);
  ctx.onRoute((tid, params) => {
    const was = thread ? thread.id : null;
    list.setFilters(listFilters(params));
    if ((tid || null) !== was) openThread(tid || null, true);
    // Back to the list on a phone: the focus on the row it came from.
    if (!tid && was) {
      const a = list.rowLink(was);
      if (a && a.offsetParent) a.focus();
    }
  });
  openThread(id || null, false);
  await list.start();
}
