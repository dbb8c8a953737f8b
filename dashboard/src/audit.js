// The audit log (#/audit, owners): who did what to what, and when, newest
// first, a page at a time ("Load more"). People and keys are named from
// the users and API keys lists where they are still there.

import { endpoints, loadList, loadPage, moreDone } from './api.js';
import { h, timeEl, plural, pageTitle, viewError, cardTable } from './dom.js';

const PAGE = 50;

const KIND_LABEL = { install_key: 'Install key', parleyctl: 'parleyctl', api_key: 'API key', session: 'Dashboard' };

/* Who did it: the person (a session), the key by its name, or the kind. */
function whoLabel(who, names) {
  if (!who) return h('span', { class: 'muted' }, 'Unknown');
  const person = who.user && names.users.get(who.user);
  if (person) return person;
  if (who.kind === 'api_key') return `API key ${names.keys.get(who.id) || who.id}`;
  return who.user || KIND_LABEL[who.kind] || who.kind || 'Unknown';
}

function entryRow(e, names) {
  return h('tr', { 'data-testid': 'audit-row' },
    h('td', { 'data-label': 'When' }, timeEl(e.at)),
    h('td', { 'data-label': 'Who', 'data-testid': 'audit-who' }, whoLabel(e.who, names)),
    h('td', { 'data-label': 'Action', 'data-testid': 'audit-action' }, h('code', null, e.action)),
    h('td', { 'data-label': 'Target', class: 'cell-id', 'data-testid': 'audit-target' },
      e.target ? h('code', null, e.target) : h('span', { class: 'muted' }, '—')));
}

/* The names of people and keys by id; a list that fails is left out. */
async function loadNames(signal) {
  const [users, keys] = await Promise.all([
    loadList(endpoints.users, 'users', signal), loadList(endpoints.apiKeys, 'api_keys', signal)]);
  return {
    users: new Map(users.map((u) => [u.id, u.name || u.email])),
    keys: new Map(keys.map((k) => [k.id, k.name])),
  };
}

export async function renderList(main, ctx) {
  ctx.setTitle('Audit');
  const count = h('p', { class: 'count', 'data-testid': 'audit-count', 'aria-live': 'polite' }, 'Loading…');
  const tbody = h('tbody', { 'data-testid': 'audit-list' });
  const table = cardTable('The audit log, newest first', ['When', 'Who', 'Action', 'Target'], tbody,
    { 'data-testid': 'audit-table', hidden: true });
  const empty = h('p', { class: 'empty', 'data-testid': 'audit-empty', hidden: true }, 'Nothing recorded yet.');
  const error = viewError(null, { hidden: true });
  const more = h('button', { type: 'button', class: 'btn', 'data-testid': 'load-more', hidden: true }, 'Load more');
  main.append(h('div', { class: 'page-head' }, pageTitle('Audit'), count),
    h('p', { class: 'hint' }, 'The changes made in this organization: by people in the dashboard, API keys, the install key and parleyctl.'),
    error, h('div', { class: 'table-wrap' }, table), empty, h('div', { class: 'more' }, more));
  const names = await loadNames(ctx.signal);
  let cursor = '';
  let shown = 0;
  async function load() {
    const data = await loadPage(endpoints.audit({ limit: PAGE, cursor }), { signal: ctx.signal, more, error });
    if (!data) return;
    const list = Array.isArray(data && data.entries) ? data.entries : [];
    const rows = list.map((e) => entryRow(e, names));
    tbody.append(...rows);
    shown += list.length;
    count.textContent = plural(Number(data.total) || 0, 'entry', 'entries');
    table.hidden = shown === 0;
    empty.hidden = shown !== 0;
    cursor = data.nextCursor || '';
    if (moreDone(more, cursor) && rows.length) {
      rows[0].cells[0].tabIndex = -1; // the focus stays on what was loaded, not the page's top
      rows[0].cells[0].focus();
    }
  }
  more.addEventListener('click', load);
  await load();
}
