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

/* What each recorded action means, in words (storaged's audit table and the worker's notes). */
const ACTION_TEXT = {
  'action.create': 'Action created', 'action.update': 'Action changed', 'action.delete': 'Action deleted',
  'action.test': 'Action tested',
  'agent.create': 'Agent created', 'agent.update': 'Agent changed', 'agent.delete': 'Agent deleted',
  'apikey.create': 'API key created', 'apikey.delete': 'API key deleted',
  'canned_reply.create': 'Canned reply created', 'canned_reply.update': 'Canned reply changed',
  'canned_reply.delete': 'Canned reply deleted',
  'contact.delete': 'Contact deleted', 'contact.erase': 'Contact erased (on request)',
  'contact.export': 'Contact’s data exported',
  'conversation.assign': 'Conversation assigned', 'conversation.delete': 'Conversation deleted',
  'conversation.state': 'Conversation resolved, snoozed or reopened', export: 'Conversations exported',
  'handoff.take': 'Conversation taken over', 'handoff.return': 'Conversation handed back to the assistant',
  'message.agent': 'Reply sent by the team', 'knowledge_gap.delete': 'Knowledge gaps resolved',
  'knowledge_source.create': 'Knowledge source added', 'knowledge_source.update': 'Knowledge source changed',
  'knowledge_source.delete': 'Knowledge source deleted', 'knowledge_source.sync': 'Knowledge source synced',
  'knowledge_source.file': 'Knowledge file uploaded',
  'organization.create': 'Organization created', 'organization.update': 'Organization renamed',
  'organization.delete': 'Organization deleted',
  'user.add': 'User added (parleyctl)', 'user.invite': 'Person invited', 'user.invite_revoke': 'Invitation revoked',
  'user.join': 'Invitation accepted', 'user.update': 'Member’s role or access changed', 'user.delete': 'Member removed',
  'user.password': 'Password changed', 'user.profile': 'Profile changed',
  'webhook.create': 'Webhook created', 'webhook.update': 'Webhook changed', 'webhook.delete': 'Webhook deleted',
  'webhook.secret_rotate': 'Webhook secret rotated',
  'widget.create': 'Widget created', 'widget.update': 'Widget changed', 'widget.delete': 'Widget deleted',
  'widget.reset_id': 'Widget id reset', 'widget.identity_secret.set': 'Identity secret made',
  'widget.identity_secret.delete': 'Identity secret removed',
};

/* The dashboard page of an action's target, by the action's kind (none: no page of its own). */
const TARGET_PAGE = {
  action: '#/actions/', agent: '#/agents/', webhook: '#/webhooks/', widget: '#/widgets/', contact: '#/contacts/',
  conversation: '#/conversations/', handoff: '#/conversations/', message: '#/conversations/', export: '#/conversations/',
};

/*
 * The action in words, its code beside it (what the API and exports say).
 * One element: on a phone's card the cell is a grid of its label and one value.
 */
function actionCell(action) {
  const text = ACTION_TEXT[action];
  return text ? h('span', null, text, ' ', h('code', { class: 'muted' }, action)) : h('code', null, action);
}

/* The target: a person or key by name, a link to its page, or its id (one element, as above). */
function targetCell(action, target, names) {
  if (!target) return h('span', { class: 'muted' }, '—');
  const kind = action.split('.')[0];
  const named = kind === 'user' ? names.users.get(target) : kind === 'apikey' ? names.keys.get(target) : null;
  if (named) return h('span', null, named, ' ', h('code', { class: 'muted' }, target));
  const page = TARGET_PAGE[kind];
  const gone = action.endsWith('.delete') || action === 'contact.erase';
  if (page && !gone) return h('a', { href: page + encodeURIComponent(target) }, h('code', null, target));
  return h('code', null, target);
}

function entryRow(e, names) {
  return h('tr', { 'data-testid': 'audit-row', 'data-action': e.action },
    h('td', { 'data-label': 'When' }, timeEl(e.at)),
    h('td', { 'data-label': 'Who', 'data-testid': 'audit-who' }, whoLabel(e.who, names)),
    h('td', { 'data-label': 'Action', 'data-testid': 'audit-action' }, actionCell(e.action)),
    h('td', { 'data-label': 'Target', class: 'cell-id', 'data-testid': 'audit-target' },
      targetCell(e.action, e.target, names)));
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
