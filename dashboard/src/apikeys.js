// API keys (#/api-keys, owners): the organisation's keys (name, role,
// created, last used), a new one (name + role: the secret is shown this
// once, never listed) and a deletion after the confirmation.

import { api, endpoints, isAbort, ROLES } from './api.js';
import { h, clear, timeEl, confirmDialog, pageTitle, cardTable, onceBox } from './dom.js';
import { formErrors, parseFieldError } from './form.js';

/* The create form; onMade(answer) gets the new key with its secret. */
function keyForm(onMade) {
  const controls = {};
  const { formError, field, clearErrors, showErrors } = formErrors(controls);
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'key-create' }, 'Create key');
  const form = h('form', { class: 'widget-form', 'data-testid': 'key-form', novalidate: true, 'aria-labelledby': 'key-form-title' },
    h('h2', { id: 'key-form-title' }, 'New API key'),
    formError,
    h('div', { class: 'field-pair' },
      field('name', 'Name', h('input', { type: 'text', maxlength: '100', autocomplete: 'off' }), 'What uses it, e.g. "CRM sync".'),
      field('role', 'Role', h('select', null, ROLES.map((r) => h('option', { value: r, selected: r === 'admin' }, r))),
        'What the key may do, as a person with that role.')),
    h('div', { class: 'form-actions' }, submit));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = controls.name.value.trim();
    if (!name) {
      showErrors({ name: 'Enter a name.' });
      return;
    }
    clearErrors();
    submit.disabled = true;
    try {
      onMade(await api(endpoints.apiKeys, { method: 'POST', body: { name, role: controls.role.value } }));
      controls.name.value = '';
    } catch (e) {
      const fe = e.status === 400 ? parseFieldError(e.message) : null;
      if (fe && controls[fe.field]) showErrors({ [fe.field]: fe.message });
      else showErrors({}, `Could not create the key: ${e.message}`);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

/* A key's row; report(text, isError) says how the deletion went. */
function keyRow(k, report) {
  const del = h('button', { type: 'button', class: 'btn btn-danger', 'data-testid': 'key-delete', 'aria-label': `Delete ${k.name}` }, 'Delete');
  const row = h('tr', { 'data-testid': 'key-row', 'data-id': k.id },
    h('td', { 'data-label': 'Name', 'data-testid': 'key-name' }, k.name),
    h('td', { 'data-label': 'Role' }, k.role),
    h('td', { 'data-label': 'Created' }, timeEl(k.created_at)),
    h('td', { 'data-label': 'Last used' }, k.last_used_at ? timeEl(k.last_used_at) : h('span', { class: 'muted' }, 'Never')),
    h('td', { 'data-label': 'Actions' }, h('span', null, del)));
  del.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: `Delete the key ${k.name}?`,
      message: 'What uses it is refused from now on. This cannot be undone.',
      confirmLabel: 'Delete', danger: true,
    });
    if (!ok) return;
    del.disabled = true;
    try {
      await api(endpoints.apiKey(k.id), { method: 'DELETE' });
      row.remove();
      report(`The key ${k.name} was deleted.`, false);
    } catch (e) {
      del.disabled = false;
      report(`Could not delete ${k.name}: ${e.message}`, true);
    }
  });
  return row;
}

export async function renderList(main, ctx) {
  ctx.setTitle('API keys');
  main.append(h('div', { class: 'page-head' }, pageTitle('API keys')),
    h('p', { class: 'hint' }, 'A key acts in this organization through the admin API, sent as the x-admin-api-key header.'));
  const once = h('div', { 'data-testid': 'key-result' });
  const alert = h('p', { class: 'alert alert-error', role: 'alert', 'data-testid': 'keys-error', hidden: true });
  const status = h('p', { class: 'save-status', role: 'status', 'data-testid': 'keys-status' });
  const tbody = h('tbody', { 'data-testid': 'key-list' });
  const report = (text, isError) => {
    alert.textContent = isError ? text : '';
    alert.hidden = !isError;
    status.textContent = isError ? '' : text;
  };
  const load = async () => {
    const d = await api(endpoints.apiKeys, { signal: ctx.signal });
    clear(tbody);
    for (const k of Array.isArray(d && d.api_keys) ? d.api_keys : []) tbody.append(keyRow(k, report));
  };
  const made = (k) => {
    clear(once).append(onceBox(`The key ${k.name}`, k.key,
      'This secret is shown this once: copy it now and keep it somewhere safe.', 'key-secret'));
    load().catch((e) => { if (!isAbort(e)) report(`Could not list the keys: ${e.message}`, true); });
  };
  // the status line beside the heading: the table under it either way
  main.append(keyForm(made), once, h('div', { class: 'list-head' }, h('h2', null, 'Keys'), status), alert,
    h('div', { class: 'table-wrap' }, cardTable('The API keys of this organization, oldest first',
      ['Name', 'Role', 'Created', 'Last used', 'Actions'], tbody, { 'data-testid': 'key-table' })));
  await load();
}
