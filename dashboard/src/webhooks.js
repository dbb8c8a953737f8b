// Webhooks (#/webhooks, #/webhooks/<id>; admins and owners, issue 23): the
// organisation's endpoints with their status (a webhook the notifier
// disabled after failures says so, and when), a new one (its signing
// secret shown this once), and one webhook: its settings (url, events,
// enabled), Send test, Rotate secret (the new one shown once) and Delete
// after a confirmation, and its delivery log,
// newest first, paged ("Load more"), with Refresh and, on a pending or
// failed delivery, Retry. After Send test and Retry the log follows the
// delivery until its attempt is recorded.

import { api, endpoints, isAbort, moreBusy, moreDone } from './api.js';
import { h, clear, timeEl, plural, confirmDialog, pageTitle, backLink, showLoadError, cardTable, onceBox } from './dom.js';
import { formErrors, submitForm, wide } from './form.js';

/* The events a webhook may want (hookmsg.h), with what they mean. */
const EVENTS = [
  ['conversation.created', 'A conversation starts'],
  ['message.created', 'A message is stored (visitor, assistant or person)'],
  ['handoff.requested', 'A conversation waits for a person (the visitor or the assistant asked, or a team member moved it)'],
  ['handoff.changed', 'A conversation\'s handoff state changes'],
  ['contact.created', 'A contact is made'],
  ['conversation.deleted', 'A conversation is deleted'],
  ['conversation.state_changed', 'A conversation is resolved, snoozed or reopened'],
];
const FIELD_NAMES = ['url', 'events', 'enabled'];
const URL_MAX = 2048;
const PAGE = 25;
/* How a delivery is followed after Send test or Retry: every FOLLOW_MS, FOLLOW_TRIES times at most. */
const FOLLOW_MS = 500;
const FOLLOW_TRIES = 40;

const STATUS = {
  delivered: ['Delivered', 'badge-ok'],
  pending: ['Pending', 'badge-warn'],
  failed: ['Failed', 'badge-danger'],
};

/* True when ms is in the local today (a time alone says when). */
function today(ms) {
  return new Date(ms).toDateString() === new Date().toDateString();
}

/* When a pending delivery is tried next (the time alone when that is today), else null. */
function nextAttempt(d) {
  const at = d.next_attempt_at;
  if (d.status !== 'pending' || !at) return null;
  return h('span', { class: 'hint', 'data-testid': 'delivery-next' }, ' next attempt ', timeEl(at, today(at) ? 'time' : 'date'));
}

/* The webhook's status: enabled, disabled, or disabled by the notifier after failures. */
function hookBadge(w) {
  if (w.enabled) return h('span', { class: 'badge badge-ok', 'data-testid': 'hook-status' }, 'Enabled');
  if (w.disabled_at) return h('span', { class: 'badge badge-danger', 'data-testid': 'hook-status' }, 'Disabled after failures');
  return h('span', { class: 'badge', 'data-testid': 'hook-status' }, 'Disabled');
}

/* Failures in a row, and when the notifier turned it off. */
function failuresNote(w) {
  const n = Number(w.failures) || 0;
  return h('span', { 'data-testid': 'hook-failures' },
    n ? `${plural(n, 'failed delivery', 'failed deliveries')} in a row` : 'No failures',
    w.disabled_at ? h('span', null, '; disabled ', timeEl(w.disabled_at)) : null);
}

function eventList(events) {
  const list = Array.isArray(events) ? events : [];
  return h('span', { 'data-testid': 'hook-events' }, list.length ? list.join(', ') : h('span', { class: 'muted' }, '—'));
}

/* ------------------------------------------------------------------ form */

/** The create and edit form: {form, controls, setValues, getValues, showErrors, clearErrors, save, saveStatus}. */
function hookForm(title) {
  const controls = {};
  const { formError, errEl, field, clearErrors, showErrors } = formErrors(controls);
  const boxes = EVENTS.map(([name, what]) => {
    const id = `f-event-${name.replace('.', '-')}`;
    const box = h('input', { id, type: 'checkbox', value: name, 'data-testid': `event-${name}`, 'aria-describedby': 'err-events' });
    return { box, el: h('div', { class: 'field field-check' }, box,
      h('label', { for: id }, h('code', null, name)), h('p', { class: 'hint' }, what)) };
  });
  controls.events = boxes[0].box; // the one focused and marked when the events are wrong
  const enabled = h('input', { id: 'f-enabled', name: 'enabled', type: 'checkbox', 'aria-describedby': 'hint-enabled err-enabled' });
  controls.enabled = enabled;
  const saveStatus = h('p', { class: 'save-status', role: 'status', 'data-testid': 'save-status' });
  const save = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'save-hook' }, 'Save');
  const form = h('form', { class: 'widget-form', 'data-testid': 'hook-form', 'data-guard': true, novalidate: true, 'aria-labelledby': 'hook-form-title' },
    h('h2', { id: 'hook-form-title' }, title),
    formError,
    wide(field('url', 'URL', h('input', { type: 'text', inputmode: 'url', maxlength: String(URL_MAX), spellcheck: 'false', autocomplete: 'off' }),
      'Where the events are POSTed, http:// or https://. Private and loopback addresses are refused unless the server allows them.')),
    h('fieldset', { 'data-field': 'events' }, h('legend', null, 'Events'),
      boxes.map((b) => b.el), errEl('events')),
    h('div', { class: 'field field-check', 'data-field': 'enabled' }, enabled, h('label', { for: 'f-enabled' }, 'Enabled'),
      h('p', { id: 'hint-enabled', class: 'hint' }, 'A disabled webhook is sent nothing. Enabling it again forgets its failures.'),
      errEl('enabled')),
    h('div', { class: 'form-actions' }, save, saveStatus));

  function setValues(w) {
    controls.url.value = w.url || '';
    const on = new Set(Array.isArray(w.events) ? w.events : []);
    for (const { box } of boxes) box.checked = on.has(box.value);
    enabled.checked = !!w.enabled;
  }

  /** The form as the API's JSON, and client-side errors {field: message}. */
  function getValues() {
    const values = {
      url: controls.url.value.trim(),
      events: boxes.filter((b) => b.box.checked).map((b) => b.box.value),
      enabled: enabled.checked,
    };
    const errors = {};
    if (!/^https?:\/\/\S+$/i.test(values.url)) errors.url = 'must be an http:// or https:// address';
    else if (values.url.length > URL_MAX) errors.url = `must be at most ${URL_MAX} characters`;
    if (!values.events.length) errors.events = 'choose at least one event';
    return { values, errors };
  }

  return { form, controls, setValues, getValues, showErrors, clearErrors, save, saveStatus };
}

function sameValue(a, b) {
  if (Array.isArray(a) || Array.isArray(b)) {
    const x = Array.isArray(a) ? [...a].sort() : [];
    const y = Array.isArray(b) ? [...b].sort() : [];
    return x.length === y.length && x.every((v, i) => v === y[i]);
  }
  return a === b;
}

/* ------------------------------------------------------------------ list */

function hookRow(w) {
  return h('tr', { 'data-testid': 'hook-row', 'data-id': w.id },
    h('td', { 'data-label': 'URL', class: 'cell-id' },
      h('a', { href: `#/webhooks/${encodeURIComponent(w.id)}`, 'data-testid': 'hook-link' }, w.url)),
    h('td', { 'data-label': 'Events' }, eventList(w.events)),
    h('td', { 'data-label': 'Status' }, h('span', null, hookBadge(w))),
    h('td', { 'data-label': 'Failures' }, failuresNote(w)),
    h('td', { 'data-label': 'Created' }, timeEl(w.created_at)));
}

/* The secret of the webhook just made, shown this once, and the way to it. */
function secretBox(w) {
  const note = h('span', null,
    'Deliveries to ', h('code', null, w.url), ' are signed with it (Standard Webhooks: the webhook-signature header). ',
    h('strong', null, 'It is shown this once: copy it now, you will not see it again.'));
  const box = onceBox('Signing secret', w.secret || '', note, 'hook-secret');
  box.append(h('p', null, h('a', { href: `#/webhooks/${encodeURIComponent(w.id)}`, 'data-testid': 'hook-secret-open' },
    'Open the webhook: send a test, see its deliveries')));
  return box;
}

export async function renderList(main, ctx) {
  ctx.setTitle('Webhooks');
  main.append(h('div', { class: 'page-head' }, pageTitle('Webhooks')),
    h('p', { class: 'hint' }, 'Parley POSTs each event you choose to your endpoint, signed, and tries again when it fails. At most 20 per organization.'));
  const f = hookForm('New webhook');
  f.save.textContent = 'Create webhook';
  f.setValues({ url: '', events: ['conversation.created'], enabled: true });
  const once = h('div', { 'data-testid': 'hook-result' });
  const count = h('p', { class: 'count', 'data-testid': 'hook-count' });
  const tbody = h('tbody', { 'data-testid': 'hook-list' });
  const table = cardTable('The webhooks of this organization, oldest first', ['URL', 'Events', 'Status', 'Failures', 'Created'],
    tbody, { 'data-testid': 'hook-table' });
  const empty = h('p', { class: 'empty', 'data-testid': 'hook-empty', hidden: true }, 'No webhooks yet.');
  const load = async () => {
    const d = await api(endpoints.webhooks, { signal: ctx.signal });
    const hooks = Array.isArray(d && d.webhooks) ? d.webhooks : [];
    clear(tbody).append(...hooks.map(hookRow));
    count.textContent = plural(hooks.length, 'webhook', 'webhooks');
    table.hidden = !hooks.length;
    empty.hidden = !!hooks.length;
  };
  f.form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const w = await submitForm(f, { url: endpoints.webhooks, old: null, names: FIELD_NAMES, same: sameValue, what: 'webhook' });
    if (!w) return;
    f.setValues({ url: '', events: ['conversation.created'], enabled: true });
    f.saveStatus.textContent = 'Webhook created.';
    clear(once).append(secretBox(w));
    load().catch((e) => { if (!isAbort(e)) f.showErrors({}, `Could not list the webhooks: ${e.message}`); });
  });
  await load(); // first: a role the server refuses gets its error alone
  main.append(f.form, once, h('h2', null, 'Endpoints'), count,
    h('div', { class: 'table-wrap' }, table), empty);
}

/* ------------------------------------------------------------ deliveries */

/* A delivery's row, filled by fill(d); onRetry(d, button) is Retry's. */
function deliveryRow(onRetry) {
  const tr = h('tr', { 'data-testid': 'delivery-row' });
  tr.fill = (d) => {
    const [label, cls] = STATUS[d.status] || [d.status, ''];
    tr.dataset.id = d.id;
    tr.dataset.status = d.status;
    const retry = d.status === 'pending' || d.status === 'failed'
      ? h('button', { type: 'button', class: 'btn', 'data-testid': 'delivery-retry', 'aria-label': `Retry ${d.event} ${d.id}` }, 'Retry')
      : null;
    if (retry) retry.addEventListener('click', () => onRetry(d, retry));
    const none = () => h('span', { class: 'muted' }, '—');
    clear(tr).append(
      h('td', { 'data-label': 'Created' }, timeEl(d.created_at)),
      h('td', { 'data-label': 'Event', 'data-testid': 'delivery-event' }, h('code', null, d.event)),
      h('td', { 'data-label': 'Status' }, h('span', null,
        h('span', { class: ['badge', cls], 'data-testid': 'delivery-status' }, label),
        nextAttempt(d))),
      h('td', { 'data-label': 'Attempts', class: 'cell-num', 'data-testid': 'delivery-attempts' }, String(d.attempts ?? 0)),
      h('td', { 'data-label': 'Response', class: 'cell-num', 'data-testid': 'delivery-code' },
        d.response_code != null ? String(d.response_code) : none()),
      h('td', { 'data-label': 'Duration', class: 'cell-num', 'data-testid': 'delivery-duration' },
        d.duration_ms != null ? `${Number(d.duration_ms).toLocaleString()} ms` : none()),
      h('td', { 'data-label': 'Last error', 'data-testid': 'delivery-error' }, d.last_error || none()),
      h('td', { 'data-label': 'Updated' }, timeEl(d.updated_at)),
      h('td', { 'data-label': 'Actions' }, retry ? h('span', null, retry) : none()));
  };
  return tr;
}

/*
 * The delivery log of webhook id: {section, load, follow, show}. load()
 * reads the next page (the first when nothing is shown); refresh() reads
 * the first page again and puts each delivery in its row, the new ones
 * in order above the ones they precede; follow(id, attempts) refreshes
 * until that delivery has more attempts or is no longer pending.
 */
function deliveryLog(ctx, hookId, report) {
  const rows = new Map();
  const tbody = h('tbody', { 'data-testid': 'delivery-list' });
  const table = cardTable('The deliveries of this webhook, newest first',
    ['Created', 'Event', 'Status', 'Attempts', 'Response', 'Duration', 'Last error', 'Updated', 'Actions'],
    tbody, { 'data-testid': 'delivery-table', hidden: true });
  const empty = h('p', { class: 'empty', 'data-testid': 'delivery-empty', hidden: true }, 'No deliveries yet. Send a test to see one.');
  const error = h('p', { class: 'alert alert-error', role: 'alert', 'data-testid': 'deliveries-error', hidden: true });
  const more = h('button', { type: 'button', class: 'btn', 'data-testid': 'load-more', hidden: true }, 'Load more');
  const refreshBtn = h('button', { type: 'button', class: 'btn', 'data-testid': 'deliveries-refresh' }, 'Refresh');
  let cursor = '';
  let loaded = false;
  let timer = 0;
  ctx.onLeave(() => window.clearTimeout(timer));

  const shown = () => {
    table.hidden = rows.size === 0;
    empty.hidden = !loaded || rows.size !== 0;
  };
  const fail = (e) => {
    if (isAbort(e)) return;
    error.textContent = `Could not load the deliveries: ${e.message}`;
    error.hidden = false;
  };

  /* d in its row (made when new, after anchor or first); returns the row. */
  function show(d, anchor) {
    let row = rows.get(d.id);
    if (!row) {
      row = deliveryRow(retry);
      rows.set(d.id, row);
      if (anchor === undefined) tbody.append(row);
      else if (anchor) anchor.after(row);
      else tbody.prepend(row);
    }
    row.fill(d);
    shown();
    return row;
  }

  async function page(c) {
    const d = await api(endpoints.deliveries(hookId, { limit: PAGE, cursor: c }), { signal: ctx.signal });
    error.hidden = true;
    return { list: Array.isArray(d && d.deliveries) ? d.deliveries : [], next: (d && d.nextCursor) || '' };
  }

  async function load() {
    const last = tbody.lastElementChild;
    moreBusy(more);
    try {
      const { list, next } = await page(loaded ? cursor : '');
      for (const d of list) show(d);
      cursor = next;
      loaded = true;
      shown();
    } catch (e) {
      fail(e);
    }
    const first = last ? last.nextElementSibling : tbody.firstElementChild;
    if (moreDone(more, cursor) && first) {
      first.cells[0].tabIndex = -1; // the focus stays on what was loaded, not the page's top
      first.cells[0].focus();
    }
  }

  async function refresh() {
    if (!loaded) return load();
    const { list } = await page('');
    let anchor = null;
    for (const d of list) anchor = show(d, anchor);
    return list;
  }

  function follow(id, attempts, tries = FOLLOW_TRIES) {
    window.clearTimeout(timer);
    timer = window.setTimeout(async () => {
      let list;
      try {
        list = await refresh();
      } catch (e) {
        fail(e);
        return;
      }
      const d = (list || []).find((x) => x.id === id);
      if (tries > 1 && (!d || (d.status === 'pending' && d.attempts <= attempts))) follow(id, attempts, tries - 1);
    }, FOLLOW_MS);
  }

  async function retry(d, btn) {
    btn.disabled = true;
    try {
      const r = await api(endpoints.deliveryRetry(hookId, d.id), { method: 'POST' });
      show(r);
      report(`Delivery ${r.id} is due again.`, false);
      follow(r.id, r.attempts);
    } catch (e) {
      btn.disabled = false;
      report(`Could not retry ${d.id}: ${e.message}`, true);
    }
  }

  more.addEventListener('click', load);
  refreshBtn.addEventListener('click', async () => {
    refreshBtn.disabled = true;
    try { await refresh(); } catch (e) { fail(e); } finally { refreshBtn.disabled = false; }
  });
  const section = h('section', { 'aria-labelledby': 'sec-deliveries', 'data-testid': 'deliveries' },
    h('div', { class: 'page-head' }, h('h2', { id: 'sec-deliveries' }, 'Deliveries'), refreshBtn),
    h('p', { class: 'hint' }, 'Newest first: the pending ones and the last 500 finished. A failed attempt is tried again later; Retry sends it now.'),
    error, h('div', { class: 'table-wrap' }, table), empty, h('div', { class: 'more' }, more));
  return { section, load, follow, show: (d) => show(d, null) };
}

/* ---------------------------------------------------------------- detail */

export async function renderDetail(main, ctx, hookId) {
  ctx.setTitle('Webhook');
  const title = pageTitle('Webhook');
  main.append(backLink('#/webhooks', '← All webhooks', 'back-to-webhooks'), title);
  const loading = h('p', { class: 'muted' }, 'Loading…');
  main.append(loading);
  let hook;
  try {
    hook = await api(endpoints.webhook(hookId), { signal: ctx.signal });
  } catch (e) {
    if (isAbort(e)) return;
    showLoadError(loading, e.status === 404 ? 'Webhook not found. It may have been deleted.' : e.message);
    return;
  }
  loading.remove();

  const actionError = h('p', { class: 'alert alert-error', role: 'alert', 'data-testid': 'action-error', hidden: true });
  const actionStatus = h('p', { class: 'save-status', role: 'status', 'data-testid': 'action-status' });
  const report = (text, isError) => {
    actionError.textContent = isError ? text : '';
    actionError.hidden = !isError;
    actionStatus.textContent = isError ? '' : text;
  };
  const titleUrl = h('span', { class: 'cell-id', 'data-testid': 'hook-title' });
  clear(title).append('Webhook: ', titleUrl);
  const badge = h('span');
  const failures = h('span');
  const updated = h('span');
  const refreshHook = () => {
    titleUrl.textContent = hook.url;
    ctx.setTitle(`Webhook ${hook.url}`);
    clear(badge).append(hookBadge(hook));
    clear(failures).append(failuresNote(hook));
    clear(updated).append(timeEl(hook.updated_at));
  };

  const f = hookForm('Settings');
  f.setValues(hook);
  f.form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const res = await submitForm(f, { url: endpoints.webhook(hook.id), old: hook, names: FIELD_NAMES, same: sameValue, what: 'webhook' });
    if (!res) return;
    hook = res;
    f.setValues(hook);
    refreshHook();
    f.saveStatus.textContent = 'Saved.';
  });

  const log = deliveryLog(ctx, hook.id, report);
  const testBtn = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'hook-test' }, 'Send test');
  testBtn.addEventListener('click', async () => {
    testBtn.disabled = true;
    try {
      const d = await api(endpoints.webhookTest(hook.id), { method: 'POST' });
      log.show(d);
      report('Test sent: a webhook.test delivery is due now.', false);
      log.follow(d.id, d.attempts);
    } catch (e) {
      report(`Could not send a test: ${e.message}`, true);
    } finally {
      testBtn.disabled = false;
    }
  });
  // Rotate secret: the new one shown once; the one before signs beside it a day.
  const secretNote = h('p', { class: 'hint', 'data-testid': 'hook-secret-note' });
  const secretOnce = h('div');
  const refreshSecret = () => {
    clear(secretNote).append('The signing secret is shown once, when it is made. ');
    // Past its time (storaged drops it within a minute after), it signs no more.
    if (hook.previous_secret_until > Date.now()) {
      secretNote.append('The one before it still signs deliveries too, until ', timeEl(hook.previous_secret_until), '.');
    }
  };
  const rotateBtn = h('button', { type: 'button', class: 'btn', 'data-testid': 'hook-rotate' }, 'Rotate secret');
  rotateBtn.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: 'Rotate the signing secret?',
      message: 'A new secret is made and shown once. For a day, deliveries are signed with both the new one and the current one, so your endpoint can switch over; then only with the new one.',
      confirmLabel: 'Rotate secret',
    });
    if (!ok || ctx.signal.aborted) return;
    rotateBtn.disabled = true;
    try {
      const res = await api(endpoints.webhookSecret(hook.id), { method: 'POST' });
      const { secret, ...rest } = res;
      hook = rest;
      refreshHook();
      refreshSecret();
      const note = h('span', null, h('strong', null, 'It is shown this once: copy it now, you will not see it again.'));
      clear(secretOnce).append(onceBox('New signing secret', secret || '', note, 'hook-secret'));
      report('Secret rotated.', false);
    } catch (e) {
      report(`Could not rotate the secret: ${e.message}`, true);
    } finally {
      rotateBtn.disabled = false;
    }
  });
  const deleteBtn = h('button', { type: 'button', class: 'btn btn-danger', 'data-testid': 'delete-hook' }, 'Delete webhook');
  deleteBtn.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: 'Delete this webhook?',
      message: `Nothing more is sent to ${hook.url}, and its pending deliveries and log go with it. This cannot be undone.`,
      confirmLabel: 'Delete webhook', danger: true,
    });
    if (!ok || ctx.signal.aborted) return;
    deleteBtn.disabled = true;
    try {
      await api(endpoints.webhook(hook.id), { method: 'DELETE' });
    } catch (e) {
      deleteBtn.disabled = false;
      report(`Could not delete: ${e.message}`, true);
      return;
    }
    ctx.navigate('#/webhooks', 'Webhook deleted.');
  });

  const statusPanel = h('section', { class: 'panel', 'aria-labelledby': 'sec-status' },
    h('h2', { id: 'sec-status' }, 'Status'),
    h('div', { class: 'panel-row' }, badge, testBtn),
    h('dl', { class: 'meta' },
      h('dt', null, 'Failures'), h('dd', null, failures),
      h('dt', null, 'Id'), h('dd', null, h('code', { 'data-testid': 'hook-id' }, hook.id)),
      h('dt', null, 'Created'), h('dd', null, timeEl(hook.created_at)),
      h('dt', null, 'Updated'), h('dd', null, updated)));
  const secretPanel = h('section', { class: 'panel', 'aria-labelledby': 'sec-secret' },
    h('h2', { id: 'sec-secret' }, 'Signing secret'), secretNote, secretOnce, rotateBtn);
  const deletePanel = h('section', { class: 'panel panel-danger', 'aria-labelledby': 'sec-delete' },
    h('h2', { id: 'sec-delete' }, 'Delete'),
    h('p', null, 'Nothing more is sent; its pending deliveries and log are deleted with it.'), deleteBtn);
  main.append(actionError, actionStatus,
    h('div', { class: 'widget-layout' }, h('div', { class: 'widget-side' }, statusPanel, secretPanel, deletePanel), f.form),
    log.section);
  refreshHook();
  refreshSecret();
  await log.load();
}
