// Actions (#/actions, #/actions/<id>; admins and owners): the HTTP APIs the
// assistant may call for the visitor (tools). The list with a new action's
// form, and one action: the same form to edit it, a dry run (Test: sample
// arguments, the request as sent and the answer) and Delete after a
// confirmation. Header values are write-only: the page shows the names
// stored, and sends headers only when they are changed (the whole set).

import { api, endpoints, isAbort } from './api.js';
import { h, append, clear, timeEl, plural, confirmDialog, pageTitle, backLink, showLoadError, cardTable } from './dom.js';
import { formErrors, parseFieldError, submitForm, wide } from './form.js';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;
const HEADERS_MAX = 8;
const DEFAULT_PARAMS = { type: 'object', properties: {}, required: [] };
const CHECKS = ['changes_data', 'requires_verified', 'enabled'];
const NUMS = ['timeout_ms', 'max_response_bytes'];
const FIELD_NAMES = ['name', 'description', 'parameters', 'method', 'url', 'body', 'headers', ...CHECKS, ...NUMS];
const NEW = { method: 'GET', enabled: true };

function statusBadge(a) {
  return a.enabled
    ? h('span', { class: 'badge badge-ok', 'data-testid': 'action-status' }, 'Enabled')
    : h('span', { class: 'badge', 'data-testid': 'action-status' }, 'Disabled');
}

/* "Changes data" and "Needs a verified visitor", where they apply. */
function marks(a) {
  const m = [];
  if (a.changes_data) m.push(h('span', { class: 'badge badge-warn', 'data-testid': 'mark-changes-data' }, 'Changes data'));
  if (a.requires_verified) m.push(h('span', { class: 'badge badge-info', 'data-testid': 'mark-verified' }, 'Needs a verified visitor'));
  return m.length ? h('span', { class: 'marks' }, m) : h('span', { class: 'muted' }, '—');
}

function request(a) {
  return h('span', { 'data-testid': 'action-request' }, h('code', null, a.method), ' ', h('code', { class: 'action-url' }, a.url));
}

/* ------------------------------------------------------------------ headers */

/*
 * The headers: stored names shown as set (never their values), or rows of
 * name and value. touched: the user changed them; only then are they sent.
 */
function headersEditor(box) {
  let stored = [];
  let editing = true;
  let touched = false;
  let rows = [];
  const add = h('button', { type: 'button', class: 'btn', 'data-testid': 'header-add' }, 'Add header');
  const change = h('button', { type: 'button', class: 'btn', 'data-testid': 'header-change' }, 'Change headers');
  const keep = h('button', { type: 'button', class: 'btn', 'data-testid': 'header-keep' }, 'Keep the stored headers');

  function row(name) {
    const r = {
      name: h('input', { type: 'text', value: name, maxlength: '64', spellcheck: 'false', autocomplete: 'off', 'data-testid': 'header-name' }),
      value: h('input', { type: 'text', maxlength: '1024', spellcheck: 'false', autocomplete: 'off', 'data-testid': 'header-value' }),
      remove: h('button', { type: 'button', class: 'btn', 'data-testid': 'header-remove' }, 'Remove'),
    };
    r.el = h('div', { class: 'header-row', 'data-testid': 'header-row' }, r.name, r.value, r.remove);
    r.name.addEventListener('input', () => { touched = true; });
    r.value.addEventListener('input', () => { touched = true; });
    r.remove.addEventListener('click', () => {
      touched = true;
      rows = rows.filter((x) => x !== r);
      draw();
      add.focus();
    });
    return r;
  }

  function draw() {
    clear(box);
    if (!editing) {
      box.append(h('ul', { class: 'header-list', 'data-testid': 'header-list' }, stored.map((n) => h('li', { 'data-testid': 'header-set' },
        h('code', null, n), ' ', h('span', { class: 'badge badge-ok' }, 'set')))), h('div', { class: 'panel-row' }, change));
      return;
    }
    rows.forEach((r, i) => {
      r.name.setAttribute('aria-label', `Header ${i + 1}: name`);
      r.name.placeholder = 'Name';
      r.value.setAttribute('aria-label', `Header ${i + 1}: value`);
      r.value.placeholder = stored.length ? 'Value (enter it again)' : 'Value';
      r.remove.setAttribute('aria-label', `Remove header ${i + 1}`);
    });
    add.hidden = rows.length >= HEADERS_MAX;
    box.append(...rows.map((r) => r.el), h('div', { class: 'panel-row' }, add, stored.length ? keep : null));
  }

  add.addEventListener('click', () => {
    touched = true;
    const r = row('');
    rows.push(r);
    draw();
    r.name.focus();
  });
  change.addEventListener('click', () => {
    touched = true;
    editing = true;
    rows = stored.map(row);
    draw();
    if (rows.length) rows[0].value.focus();
  });
  keep.addEventListener('click', () => {
    set(stored);
    change.focus();
  });

  /* The stored names (a new action: none). */
  function set(names) {
    stored = names;
    editing = !names.length;
    touched = false;
    rows = [];
    draw();
  }

  /* {name: value} when touched, else undefined; a message when a row is wrong. */
  function get() {
    if (!touched) return { headers: undefined };
    const headers = {};
    const seen = new Set();
    for (const r of rows) {
      const n = r.name.value.trim();
      const v = r.value.value.trim();
      if (!n && !v) continue;
      if (!n) return { error: 'each header needs a name' };
      if (!v) return { error: `${n}: enter its value (values are never shown, so each is entered again)` };
      if (seen.has(n.toLowerCase())) return { error: `${n} is given twice` };
      seen.add(n.toLowerCase());
      headers[n] = v;
    }
    return { headers };
  }

  return { set, get };
}

/* ------------------------------------------------------------------ form */

/** The create and edit form: {form, controls, setValues, getValues, showErrors, clearErrors, save, saveStatus, showWarnings}. */
function actionForm(title) {
  const controls = {};
  const { formError, errEl, field, clearErrors, showErrors } = formErrors(controls);
  const text = (attrs) => h('input', { type: 'text', spellcheck: 'false', autocomplete: 'off', ...attrs });
  const mono = (rows) => h('textarea', { rows, class: 'mono', spellcheck: 'false' });
  const num = () => h('input', { type: 'number', min: '1', step: '1', inputmode: 'numeric' });
  // A checkbox with its label after it.
  function check(name, label, hint) {
    const wrap = field(name, label, h('input', { type: 'checkbox' }), hint);
    wrap.classList.add('field-check');
    wrap.insertBefore(controls[name], wrap.querySelector('label'));
    return wrap;
  }
  const headerBox = h('div', { class: 'header-rows', tabindex: '-1', 'aria-describedby': 'hint-headers err-headers', 'data-testid': 'action-headers' });
  controls.headers = headerBox;
  const headers = headersEditor(headerBox);
  const method = h('select', null, METHODS.map((m) => h('option', { value: m }, m)));

  const saveStatus = h('p', { class: 'save-status', role: 'status', 'data-testid': 'save-status' });
  const save = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'save-action' }, 'Save');
  // The server's warnings of the action as saved (saved all the same).
  const warnBox = h('div', { class: 'alert alert-warn', role: 'status', 'data-testid': 'action-warnings', hidden: true });
  function showWarnings(list) {
    const w = Array.isArray(list) ? list.filter((x) => typeof x === 'string') : [];
    clear(warnBox).append(...w.map((x) => h('p', null, x)));
    warnBox.hidden = !w.length;
  }
  const form = h('form', { class: 'widget-form', 'data-testid': 'action-form', 'data-guard': true, novalidate: true, 'aria-labelledby': 'action-form-title' },
    h('h2', { id: 'action-form-title' }, title),
    formError,
    h('fieldset', null, h('legend', null, 'For the model'),
      field('name', 'Name', text({ maxlength: '64' }), 'The tool\'s name the model calls: 1 to 64 of A-Z a-z 0-9 _ -, once in the organization.'),
      field('description', 'Description', h('textarea', { rows: '3', maxlength: '1000' }), 'When to use it, for the model.'),
      field('parameters', 'Parameters (JSON Schema)', mono('8'),
        'The arguments the model gives, as a JSON Schema object (no pattern, $ref or oneOf). An argument it does not name is refused.')),
    h('fieldset', null, h('legend', null, 'Request'),
      field('method', 'Method', method),
      wide(field('url', 'URL template', text({ maxlength: '2048', inputmode: 'url' }),
        'http:// or https://. {{argument}}, {{visitor.external_id}} and {{visitor.email}} (a signed-in visitor\'s, the email when your site signs it too) may stand in its path and query.')),
      field('body', 'Body template', mono('4'), 'For POST, PUT and PATCH: JSON with the same {{placeholders}}. Empty: none.'),
      h('fieldset', { class: 'subfields', 'data-field': 'headers' }, h('legend', null, 'Headers'), headerBox,
        h('p', { id: 'hint-headers', class: 'hint' },
          'Sent with each call (Authorization…), at most 8. Values are write-only: never shown again. Saving leaves the stored headers as they are unless you change them; changed, the whole set replaces them, so enter each value again.'),
        errEl('headers')),
      h('div', { class: 'field-pair' },
        field('timeout_ms', 'Timeout (ms)', num(), 'Up to 30000. Empty: 10000.'),
        field('max_response_bytes', 'Max response bytes', num(), 'Of the answer given to the model. Empty: 16384.'))),
    h('fieldset', null, h('legend', null, 'Use'),
      check('changes_data', 'Changes data',
        'The visitor is asked to confirm each call first, in the widget; where nobody can be asked (the HTTP API), it is refused.'),
      check('requires_verified', 'Requires a verified visitor', 'Only a visitor your site has verified may have it called.'),
      check('enabled', 'Enabled', 'A disabled action is not offered to the model (Test still runs it).')),
    h('div', { class: 'form-actions' }, save, saveStatus), warnBox);

  function setValues(a) {
    for (const n of ['name', 'description', 'url', 'body']) controls[n].value = a[n] || '';
    controls.parameters.value = JSON.stringify(a.parameters || DEFAULT_PARAMS, null, 2);
    controls.method.value = a.method || 'GET';
    for (const n of CHECKS) controls[n].checked = !!a[n];
    for (const n of NUMS) controls[n].value = a[n] == null ? '' : String(a[n]);
    headers.set(Array.isArray(a.header_names) ? a.header_names : []);
  }

  /** The form as the API's JSON, and client-side errors {field: message}. */
  function getValues() {
    const v = {};
    const errors = {};
    v.name = controls.name.value.trim();
    if (!NAME_RE.test(v.name)) errors.name = 'must be 1-64 of A-Z a-z 0-9 _ -';
    v.description = controls.description.value.trim();
    if (!v.description) errors.description = 'required';
    try {
      v.parameters = JSON.parse(controls.parameters.value);
      if (!v.parameters || typeof v.parameters !== 'object' || Array.isArray(v.parameters)) errors.parameters = 'must be a JSON object';
    } catch (e) {
      errors.parameters = `not JSON: ${e.message}`;
    }
    v.method = controls.method.value;
    v.url = controls.url.value.trim();
    if (!v.url) errors.url = 'required';
    v.body = controls.body.value.trim();
    const hd = headers.get();
    if (hd.error) errors.headers = hd.error;
    v.headers = hd.headers;
    for (const n of CHECKS) v[n] = controls[n].checked;
    for (const n of NUMS) {
      const t = controls[n].value.trim();
      v[n] = t === '' ? null : Number(t);
      if (t !== '' && !(Number.isInteger(v[n]) && v[n] > 0)) errors[n] = 'must be a whole number, or empty';
    }
    return { values: v, errors };
  }

  return { form, controls, setValues, getValues, showErrors, clearErrors, save, saveStatus, showWarnings };
}

function sameValue(a, b) {
  if (a && typeof a === 'object') return JSON.stringify(a) === JSON.stringify(b);
  return a === b;
}

/* ------------------------------------------------------------------ list */

function actionRow(a) {
  return h('tr', { 'data-testid': 'action-row', 'data-id': a.id },
    h('td', { 'data-label': 'Name' }, h('a', { href: `#/actions/${encodeURIComponent(a.id)}`, 'data-testid': 'action-link' }, a.name)),
    h('td', { 'data-label': 'Request' }, request(a)),
    h('td', { 'data-label': 'Status' }, h('span', null, statusBadge(a))),
    h('td', { 'data-label': 'Marks' }, marks(a)),
    h('td', { 'data-label': 'Created' }, timeEl(a.created_at)));
}

/* #/actions/new: the list, its new-action form scrolled to and its first field focused. */
export function renderNew(main, ctx) {
  return renderList(main, ctx, true);
}

export async function renderList(main, ctx, toNew = false) {
  ctx.setTitle(toNew ? 'New action' : 'Actions');
  main.append(h('div', { class: 'page-head' }, pageTitle('Actions'),
    h('a', { href: '#/actions/new', class: 'btn btn-primary', 'data-testid': 'new-action' }, 'New action')),
    h('p', { class: 'hint' }, 'HTTP APIs the assistant may call for the visitor (an order\'s status, a booking…). An agent calls those chosen on its page (Agents). At most 100 per organization.'));
  const count = h('p', { class: 'count', 'data-testid': 'action-count' });
  const tbody = h('tbody', { 'data-testid': 'action-list' });
  const table = cardTable('The actions of this organization', ['Name', 'Request', 'Status', 'Marks', 'Created'],
    tbody, { 'data-testid': 'action-table' });
  const empty = h('p', { class: 'empty', 'data-testid': 'action-empty', hidden: true }, 'No actions yet.');
  const f = actionForm('New action');
  f.save.textContent = 'Create action';
  f.form.classList.add('action-new');
  f.setValues(NEW);
  const load = async () => {
    const d = await api(endpoints.actions, { signal: ctx.signal });
    const list = Array.isArray(d && d.actions) ? d.actions : [];
    clear(tbody).append(...list.map(actionRow));
    count.textContent = plural(list.length, 'action', 'actions');
    table.hidden = !list.length;
    empty.hidden = !!list.length;
  };
  f.form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const a = await submitForm(f, { url: endpoints.actions, old: null, names: FIELD_NAMES, same: sameValue, what: 'action' });
    if (!a) return;
    f.setValues(NEW);
    f.saveStatus.textContent = `Action ${a.name} created.`;
    f.showWarnings(a.warnings);
    load().catch((e) => { if (!isAbort(e)) f.showErrors({}, `Could not list the actions: ${e.message}`); });
  });
  await load(); // first: a role the server refuses gets its error alone
  main.append(count, h('div', { class: 'table-wrap' }, table), empty, f.form);
  if (toNew) {
    f.form.scrollIntoView({ block: 'start' });
    f.controls.name.focus({ preventScroll: true });
  }
}

/* ------------------------------------------------------------------ test */

/*
 * The dry run: sample arguments, a visitor id and email in, the request
 * and the answer out. current() is the action as last saved: one that
 * changes data is run only after a confirmation (its API acts for real),
 * sent as "confirm": true.
 */
function testPanel(actionId, current) {
  const controls = {};
  const { formError, field, clearErrors, showErrors } = formErrors(controls);
  formError.setAttribute('data-testid', 'test-error');
  const args = h('textarea', { rows: '4', class: 'mono', spellcheck: 'false' });
  args.value = '{}';
  const run = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'run-test' }, 'Run test');
  const status = h('p', { class: 'save-status', role: 'status', 'data-testid': 'test-status' });
  const result = h('div', { class: 'test-result', 'data-testid': 'test-result', hidden: true });
  const form = h('form', { class: 'widget-form action-test', 'data-testid': 'action-test', novalidate: true, 'aria-labelledby': 'sec-test' },
    h('h2', { id: 'sec-test' }, 'Test'),
    h('p', { class: 'hint' }, 'Calls the API now with these arguments, as a chat turn would, enabled or not: an action that changes data changes it. Recorded in the audit log; nothing else is stored; header values are sent, never shown.'),
    formError,
    field('arguments', 'Sample arguments (JSON)', args, 'An object, as the model would write it.'),
    field('visitor_external_id', 'Visitor id', h('input', { type: 'text', maxlength: '128', spellcheck: 'false', autocomplete: 'off' }),
      'Optional: a verified visitor\'s id, for {{visitor.external_id}}.'),
    field('visitor_email', 'Visitor email', h('input', { type: 'email', maxlength: '254', spellcheck: 'false', autocomplete: 'off' }),
      'Optional: a signed-in visitor\'s email, for {{visitor.email}}.'),
    h('div', { class: 'form-actions' }, run, status), result);

  const none = () => h('span', { class: 'muted' }, '—');
  const pre = (text, testid) => h('pre', { class: 'snippet test-body', tabindex: '0', 'data-testid': testid }, text);
  function show(r) {
    const rq = r.request;
    const rs = r.response;
    append(clear(result), [
      h('p', { 'data-testid': 'test-outcome' },
        h('span', { class: ['badge', r.ok ? 'badge-ok' : 'badge-danger'] }, r.ok ? 'OK' : 'Failed'),
        r.error ? h('span', { 'data-testid': 'test-outcome-error' }, ` ${r.error}`) : null),
      rq ? h('h3', null, 'Request') : null,
      rq ? h('dl', { class: 'meta' },
        h('dt', null, 'Method'), h('dd', null, h('code', { 'data-testid': 'test-request-method' }, rq.method)),
        h('dt', null, 'URL'), h('dd', null, h('code', { class: 'action-url', 'data-testid': 'test-request-url' }, rq.url)),
        h('dt', null, 'Body'), h('dd', null, rq.body == null || rq.body === '' ? none() : pre(rq.body, 'test-request-body'))) : null,
      rs ? h('h3', null, 'Response') : null,
      rs ? h('dl', { class: 'meta' },
        h('dt', null, 'Status'), h('dd', { 'data-testid': 'test-response-status' }, String(rs.status)),
        h('dt', null, 'Duration'), h('dd', { 'data-testid': 'test-response-duration' }, `${Number(rs.duration_ms).toLocaleString()} ms`)) : null,
      rs ? pre(rs.body || '', 'test-response-body') : null,
      rs && rs.cut ? h('p', { class: 'hint', 'data-testid': 'test-response-cut' }, 'Cut: the answer was longer than the max response bytes; the model gets this much.') : null]);
    result.hidden = false;
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    status.textContent = '';
    let a;
    try {
      a = JSON.parse(args.value);
    } catch (e) {
      showErrors({ arguments: `not JSON: ${e.message}` });
      return;
    }
    if (!a || typeof a !== 'object' || Array.isArray(a)) {
      showErrors({ arguments: 'must be a JSON object' });
      return;
    }
    clearErrors();
    const body = { arguments: a };
    const who = controls.visitor_external_id.value.trim();
    if (who) body.visitor_external_id = who;
    const mail = controls.visitor_email.value.trim();
    if (mail) body.visitor_email = mail;
    const a0 = current();
    if (a0.changes_data) {
      const ok = await confirmDialog({
        title: 'Run this test for real?',
        message: `${a0.name} changes data: the test calls its API now with these arguments, as if a visitor had said yes, and it acts. The test is recorded in the audit log.`,
        confirmLabel: 'Run test', danger: true,
      });
      if (!ok) return;
      body.confirm = true;
    }
    run.disabled = true;
    status.textContent = 'Running…';
    try {
      const r = await api(endpoints.actionTest(actionId), { method: 'POST', body });
      status.textContent = r.ok ? 'Test done.' : 'Test failed.';
      show(r);
    } catch (e) {
      status.textContent = '';
      const fe = e.status === 400 ? parseFieldError(e.message) : null;
      if (fe && controls[fe.field]) showErrors({ [fe.field]: fe.message });
      else showErrors({}, `Could not run the test: ${e.message}`);
    } finally {
      run.disabled = false;
    }
  });
  return form;
}

/* ---------------------------------------------------------------- detail */

export async function renderDetail(main, ctx, actionId) {
  ctx.setTitle('Action');
  const title = pageTitle('Action');
  main.append(backLink('#/actions', '← All actions', 'back-to-actions'), title);
  const loading = h('p', { class: 'muted' }, 'Loading…');
  main.append(loading);
  let action;
  try {
    action = await api(endpoints.action(actionId), { signal: ctx.signal });
  } catch (e) {
    if (isAbort(e)) return;
    showLoadError(loading, e.status === 404 ? 'Action not found. It may have been deleted.' : e.message);
    return;
  }
  loading.remove();

  const actionError = h('p', { class: 'alert alert-error', role: 'alert', 'data-testid': 'action-error', hidden: true });
  const titleName = h('span', { 'data-testid': 'action-title' });
  clear(title).append('Action: ', titleName);
  const badge = h('span');
  const markBox = h('span');
  const updated = h('span');
  const refresh = () => {
    titleName.textContent = action.name;
    ctx.setTitle(`Action ${action.name}`);
    clear(badge).append(statusBadge(action));
    clear(markBox);
    if (action.changes_data || action.requires_verified) markBox.append(marks(action));
    clear(updated).append(timeEl(action.updated_at));
  };

  const f = actionForm('Settings');
  f.setValues(action);
  f.showWarnings(action.warnings);
  f.form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const sentHeaders = f.getValues().values.headers !== undefined;
    const res = await submitForm(f, { url: endpoints.action(action.id), old: action, names: FIELD_NAMES, same: sameValue, what: 'action' });
    if (!res) return;
    // The server clears them when the url changes.
    const cleared = !sentHeaders && (action.header_names || []).length > 0 && !(res.header_names || []).length;
    action = res;
    f.setValues(action);
    f.showWarnings(action.warnings);
    refresh();
    f.saveStatus.textContent = cleared
      ? 'Saved. The headers were cleared: the URL changed. Enter them again to send them there.'
      : 'Saved.';
  });

  const deleteBtn = h('button', { type: 'button', class: 'btn btn-danger', 'data-testid': 'delete-action' }, 'Delete action');
  deleteBtn.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: 'Delete this action?',
      message: `The assistant can no longer call ${action.name}: the agents that name it go on without it. This cannot be undone.`,
      confirmLabel: 'Delete action', danger: true,
    });
    if (!ok || ctx.signal.aborted) return;
    deleteBtn.disabled = true;
    try {
      await api(endpoints.action(action.id), { method: 'DELETE' });
    } catch (e) {
      deleteBtn.disabled = false;
      actionError.textContent = `Could not delete: ${e.message}`;
      actionError.hidden = false;
      return;
    }
    ctx.navigate('#/actions', 'Action deleted.');
  });

  const statusPanel = h('section', { class: 'panel', 'aria-labelledby': 'sec-status' },
    h('h2', { id: 'sec-status' }, 'Status'),
    h('div', { class: 'panel-row' }, badge, markBox),
    h('dl', { class: 'meta' },
      h('dt', null, 'Id'), h('dd', null, h('code', { 'data-testid': 'action-id' }, action.id)),
      h('dt', null, 'Created'), h('dd', null, timeEl(action.created_at)),
      h('dt', null, 'Updated'), h('dd', null, updated)));
  const deletePanel = h('section', { class: 'panel panel-danger', 'aria-labelledby': 'sec-delete' },
    h('h2', { id: 'sec-delete' }, 'Delete'),
    h('p', null, 'The agents that name it no longer call it.'), deleteBtn);
  main.append(actionError,
    h('div', { class: 'widget-layout' }, h('div', { class: 'widget-side' }, statusPanel, deletePanel), f.form),
    testPanel(action.id, () => action));
  refresh();
}
