// Contacts: the paged list (#/contacts) and one contact (#/contacts/<id>)
// with their conversations, and for admins and owners the contact's data on
// request: the export (a download) and the erasure of all of it.

import { api, endpoints, isAbort, loadPage, loadWidgets, moreDone, widgetNames, roleAtLeast, sessionRole } from './api.js';
import {
  h, clear, timeEl, plural, pageTitle, backLink, viewError, showLoadError, cardTable, confirmDialog, downloadLink,
  isolated,
} from './dom.js';
import { convRow, convTable } from './conversations.js';

const PAGE = 25;
// A contact's conversations a page: the API's most (and what it answers
// without a limit).
const CONV_PAGE = 200;

function contactName(c) {
  return c.name || c.email || c.phone || 'Unnamed contact';
}

function orNone(v) {
  return v ? String(v) : h('span', { class: 'muted' }, 'Not given');
}

// A verified identity's contact: the site signed its user id, and its
// email only when it signed that too (email_verified); the name, and an
// email it did not sign, came from the page.
function verifiedBadge(c) {
  const given = c.email_verified ? 'The name was given by the page and is not verified.'
    : 'The name and email were given by the page and are not verified.';
  return c.verified
    ? [' ', h('span', { class: 'badge badge-ok', 'data-testid': 'contact-verified',
      title: `Your site signed this user id: ${c.external_id || ''}. ${given}` },
      'Verified user id')]
    : null;
}

// A verified contact's name or email: given by the page, not signed.
function pageGiven(c, value) {
  if (!c.verified || !value) return value;
  return h('span', null, typeof value === 'string' ? h('span', { dir: 'auto' }, value) : value, ' ',
    h('span', { class: 'muted', 'data-testid': 'contact-page-given' }, '(given by the page, not verified)'));
}

// A mailto: link to email, each side of its last @ encoded: a visitor's
// address may hold ? & = %, which a link of it as it is read as the
// mail's own headers (a Bcc, a subject, a body).
function mailtoHref(email) {
  const at = email.lastIndexOf('@');
  if (at < 0) return `mailto:${encodeURIComponent(email)}`;
  return `mailto:${encodeURIComponent(email.slice(0, at))}@${encodeURIComponent(email.slice(at + 1))}`;
}

// A contact's email: marked verified when the site signed it.
function emailShown(c) {
  const link = h('a', { href: mailtoHref(c.email) }, c.email);
  if (!c.email_verified) return pageGiven(c, link);
  return h('span', null, link, ' ',
    h('span', { class: 'badge badge-ok', 'data-testid': 'contact-email-verified',
      title: 'Your site signed this email address.' }, 'Verified email'));
}

export async function renderList(main, ctx) {
  ctx.setTitle('Contacts');
  const count = h('p', { class: 'count', 'data-testid': 'contact-count', 'aria-live': 'polite' }, 'Loading…');
  const tbody = h('tbody', { 'data-testid': 'contact-list' });
  const table = cardTable('Contacts, newest first', ['Name', 'Email', 'Phone', 'Created'], tbody,
    { 'data-testid': 'contact-table', hidden: true });
  const empty = h('p', { class: 'empty', 'data-testid': 'contact-empty', hidden: true },
    'No contacts yet. Widgets that ask for contact details collect them here.');
  const error = viewError(null, { hidden: true });
  const status = h('p', { class: 'list-status', 'data-testid': 'list-status', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', class: 'btn', 'data-testid': 'load-more', hidden: true }, 'Load more');
  main.append(h('div', { class: 'page-head' }, pageTitle('Contacts'), count),
    error, status, h('div', { class: 'table-wrap' }, table), empty, h('div', { class: 'more' }, more));

  let cursor = '';
  let shown = 0;
  async function load() {
    const data = await loadPage(endpoints.contacts({ limit: PAGE, cursor }), { signal: ctx.signal, more, error });
    if (!data) return;
    const list = Array.isArray(data && data.contacts) ? data.contacts : [];
    let firstNew = null;
    for (const c of list) {
      const link = h('a', { href: `#/contacts/${encodeURIComponent(c.id)}`, class: 'contact-name', 'data-testid': 'contact-link', dir: 'auto' }, contactName(c));
      if (!firstNew) firstNew = link;
      tbody.append(h('tr', { 'data-testid': 'contact-row', 'data-id': c.id },
        // one child: the cell is a grid of its label and its value on a phone
        h('td', { 'data-label': 'Name' }, h('span', null, link, verifiedBadge(c))),
        h('td', { 'data-label': 'Email', class: 'cell-id' }, orNone(c.email)),
        h('td', { 'data-label': 'Phone' }, orNone(c.phone)),
        h('td', { 'data-label': 'Created' }, timeEl(c.created_at))));
    }
    shown += list.length;
    const total = Number(data.total) || 0;
    count.textContent = plural(total, 'contact', 'contacts');
    status.textContent = shown ? `Showing ${shown.toLocaleString()} of ${total.toLocaleString()}.` : '';
    table.hidden = shown === 0;
    empty.hidden = shown !== 0;
    cursor = data.nextCursor || '';
    if (moreDone(more, cursor) && firstNew) firstNew.focus();
  }
  more.addEventListener('click', load);
  await load();
}

export async function renderDetail(main, ctx, id) {
  ctx.setTitle('Contact');
  const back = backLink('#/contacts', '← All contacts', 'back-to-contacts');
  const title = pageTitle('Contact');
  const loading = h('p', { class: 'muted' }, 'Loading…');
  main.append(back, title, loading);
  let c;
  let widgets;
  try {
    [c, widgets] = await Promise.all([
      api(endpoints.contact(id, { limit: CONV_PAGE }), { signal: ctx.signal }),
      loadWidgets(ctx),
    ]);
  } catch (e) {
    if (isAbort(e)) return;
    showLoadError(loading, e.status === 404 ? 'Contact not found.' : e.message);
    return;
  }
  loading.remove();
  ctx.setTitle(`Contact ${isolated(contactName(c))}`);
  clear(title).append('Contact: ', h('span', { 'data-testid': 'contact-title', dir: 'auto' }, contactName(c)),
    ...(verifiedBadge(c) || []));
  const row = (label, value, testid) => [h('dt', null, label), h('dd', { 'data-testid': testid }, value)];
  main.append(h('dl', { class: 'meta', 'data-testid': 'contact-meta' },
    row('Name', c.name ? pageGiven(c, c.name) : orNone(''), 'contact-name'),
    row('Email', c.email ? emailShown(c) : orNone(''), 'contact-email'),
    row('Phone', c.phone ? h('a', { href: `tel:${c.phone}` }, c.phone) : orNone(''), 'contact-phone'),
    c.verified ? row('Site user id', h('code', null, c.external_id || ''), 'contact-external-id') : null,
    row('First seen', timeEl(c.created_at), 'contact-created'),
    row('Updated', timeEl(c.updated_at), 'contact-updated')));
  if (roleAtLeast(sessionRole(ctx), 'admin')) main.append(...dataActions(ctx, id, c));

  main.append(...conversationsSection(ctx, id, c, widgetNames(widgets)));
}

/*
 * The contact's conversations, newest activity first: the first page came
 * with the contact; "Load more" asks for the next one with its cursor
 * (conversationsNextCursor) and appends it, hidden on the last page. The
 * count is all of them (conversationsTotal). Returns the section's elements.
 */
function conversationsSection(ctx, id, c, names) {
  const count = h('p', { class: 'count', 'data-testid': 'contact-conversations-count', 'aria-live': 'polite' });
  const status = h('p', { class: 'list-status', 'data-testid': 'list-status', 'aria-live': 'polite' });
  const error = viewError(null, { hidden: true });
  const empty = h('p', { class: 'empty', 'data-testid': 'contact-conversations-empty', hidden: true }, 'No conversations.');
  const note = h('p', { class: 'hint', 'data-testid': 'contact-unverified-note', hidden: true },
    'Conversations marked Unverified come from a visitor who gave this contact\'s email or phone; ' +
    'the contact was not changed. What they submitted is shown beside it.');
  const { table, tbody } = convTable('This contact\'s conversations, newest activity first', 'contact-conversations');
  const wrap = h('div', { class: 'table-wrap', hidden: true }, table);
  const more = h('button', { type: 'button', class: 'btn', 'data-testid': 'load-more', hidden: true }, 'Load more');
  const seen = new Set();
  let cursor = '';

  // A page of the contact's answer: its conversations appended (each once),
  // the count and "Load more" as it says. The first appended row, or null.
  function show(data) {
    let first = null;
    for (const conv of Array.isArray(data.conversations) ? data.conversations : []) {
      const cid = String(conv._id || '');
      if (seen.has(cid)) continue;
      seen.add(cid);
      const tr = convRow(conv, names);
      if (conv.contactVerified === false) {
        markUnverified(tr, conv, c);
        note.hidden = false;
      }
      tbody.append(tr);
      if (!first) first = tr;
    }
    const total = Math.max(Number(data.conversationsTotal) || 0, seen.size);
    count.textContent = plural(total, 'conversation', 'conversations');
    status.textContent = seen.size && seen.size < total
      ? `Showing ${seen.size.toLocaleString()} of ${total.toLocaleString()}.` : '';
    wrap.hidden = seen.size === 0;
    empty.hidden = seen.size !== 0;
    cursor = data.conversationsNextCursor || '';
    return first;
  }

  more.addEventListener('click', async () => {
    const data = await loadPage(endpoints.contact(id, { limit: CONV_PAGE, cursor }), { signal: ctx.signal, more, error });
    if (!data) return;
    const first = show(data);
    if (moreDone(more, cursor) && first) {
      first.cells[0].tabIndex = -1; // the focus stays on what was loaded, not the page's top
      first.cells[0].focus();
    }
  });
  show(c);
  more.hidden = !cursor;
  return [h('h2', null, 'Conversations'), count, error, status, note, wrap, empty, h('div', { class: 'more' }, more)];
}

/*
 * The contact's data on request (admins and owners): "Export data" (one
 * JSON document, downloaded) and "Erase all data" (after a confirmation:
 * DELETE ?erase=all, then the list with a message). Returns [actions, alert].
 */
function dataActions(ctx, id, c) {
  const error = h('p', { class: 'alert alert-error', role: 'alert', 'data-testid': 'erase-error', hidden: true, tabindex: '-1' });
  const exp = downloadLink(endpoints.contactExportUrl(id), 'Export data', 'contact-export');
  exp.className = 'btn';
  const erase = h('button', { type: 'button', class: 'btn btn-danger', 'data-testid': 'contact-erase' }, 'Erase all data');
  erase.addEventListener('click', async () => {
    const listed = Array.isArray(c.conversations) ? c.conversations.length : 0;
    const n = Math.max(Number(c.conversationsTotal) || 0, listed);
    const ok = await confirmDialog({
      title: 'Erase all of this contact\'s data?',
      message: `The contact "${isolated(contactName(c))}", its ${plural(n, 'conversation', 'conversations')} with every message, ` +
        'and the visitor sessions that name it (with what they submitted) will be deleted for good. This cannot be undone.',
      confirmLabel: 'Erase all data',
      danger: true,
    });
    if (!ok || ctx.signal.aborted) return;
    error.hidden = true;
    erase.disabled = true;
    try {
      const r = await api(endpoints.contactErase(id), { method: 'DELETE' });
      ctx.navigate('#/contacts', r && r.erasing
        ? 'Contact erased. Its conversations and sessions are being deleted in the background.'
        : 'Contact erased with its conversations, messages and sessions.');
    } catch (e) {
      if (e.status === 404) return void ctx.navigate('#/contacts', 'The contact was already deleted.');
      erase.disabled = false;
      error.textContent = `Could not erase: ${e.message}`;
      error.hidden = false;
      error.focus();
    }
  });
  return [h('div', { class: 'data-actions', role: 'group', 'aria-label': 'This contact\'s data' }, exp, erase), error];
}

// An unverified link: a badge, and what the visitor submitted beside the
// contact's stored values (text nodes only: it is visitor input).
function markUnverified(tr, conv, c) {
  const sub = conv.submitted || {};
  const cell = tr.lastElementChild;
  const fields = [['Name', sub.name, c.name], ['Email', sub.email, c.email], ['Phone', sub.phone, c.phone]]
    .filter(([, given]) => given);
  tr.setAttribute('data-unverified', '');
  cell.replaceChildren(
    h('span', { class: 'badge badge-warn', 'data-testid': 'conv-unverified' }, 'Unverified'),
    h('dl', { class: 'submitted', 'data-testid': 'conv-submitted' },
      fields.map(([label, given, stored]) => [
        h('dt', null, `${label} submitted`),
        h('dd', { 'data-testid': `submitted-${label.toLowerCase()}` }, given,
          given === stored ? null : h('span', { class: 'muted' }, ` (stored: ${stored || 'none'})`)),
      ])));
}
