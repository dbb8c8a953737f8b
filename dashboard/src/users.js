// Users (#/users, owners): the organisation's members with their role,
// changed in place (a select), disabled or enabled, removed after a
// confirmation; and the invitation (email + role), whose link the server
// shows this once, with the pending invitations listed (never a link) and
// revoked after a confirmation. Disabling and removing act on this
// organisation's membership only. The server's refusals (the last owner:
// 409) are said in the page's alert. Every text goes in as text (h()).

import { api, endpoints, ROLES } from './api.js';
import { h, clear, timeEl, confirmDialog, pageTitle, cardTable, onceBox } from './dom.js';
import { formErrors, parseFieldError } from './form.js';

function roleSelect(value, attrs) {
  return h('select', attrs, ROLES.map((r) => h('option', { value: r, selected: r === value }, r)));
}

function userLabel(u) {
  return u.name || u.email;
}

/* ---------------------------------------------------------------- invite */

function inviteForm(onInvited) {
  const controls = {};
  const { formError, field, clearErrors, showErrors } = formErrors(controls);
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'invite-submit' }, 'Invite');
  const form = h('form', { class: 'widget-form', 'data-testid': 'invite-form', novalidate: true, 'aria-labelledby': 'invite-title' },
    h('h2', { id: 'invite-title' }, 'Invite someone'),
    formError,
    h('div', { class: 'field-pair' },
      field('email', 'Email', h('input', { type: 'email', autocomplete: 'off', spellcheck: 'false', maxlength: '254' })),
      field('role', 'Role', roleSelect('agent'), 'Agents answer visitors; admins also edit widgets and agents; owners also manage people and keys.')),
    h('div', { class: 'form-actions' }, submit));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const email = controls.email.value.trim();
    if (!email) {
      showErrors({ email: 'Enter the email address of the person to invite.' });
      return;
    }
    clearErrors();
    submit.disabled = true;
    try {
      const d = await api(endpoints.users, { method: 'POST', body: { email, role: controls.role.value } });
      controls.email.value = '';
      onInvited(d);
    } catch (e) {
      const fe = e.status === 400 ? parseFieldError(e.message) : null;
      if (fe && controls[fe.field]) showErrors({ [fe.field]: fe.message });
      else showErrors({}, `Could not invite: ${e.message}`);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function invitedBox(d) {
  const inv = (d && d.invitation) || {};
  const note = h('span', null,
    `Send this link to ${inv.email || 'the person'} (${inv.role || 'member'}). It is shown this once: copy it now. `,
    inv.expires_at ? h('span', null, 'It expires ', timeEl(inv.expires_at), '.') : null);
  return onceBox('Invitation link', (d && d.url) || '', note, 'invite-link');
}

/* ------------------------------------------------------------------ list */

/* A member's row: its role select and buttons act at once; report(text, isError) says how it went. */
function userRow(u, me, report, onRemoved) {
  const label = userLabel(u);
  const role = roleSelect(u.role, { 'aria-label': `Role of ${label}`, 'data-testid': 'user-role' });
  const status = h('span', { 'data-testid': 'user-status' });
  const toggle = h('button', { type: 'button', class: 'btn', 'data-testid': 'user-toggle' });
  const remove = h('button', { type: 'button', class: 'btn btn-danger', 'data-testid': 'user-remove' }, 'Remove');
  const show = () => {
    status.textContent = u.disabled ? 'Disabled' : 'Active';
    status.className = `badge ${u.disabled ? 'badge-danger' : 'badge-ok'}`;
    toggle.textContent = u.disabled ? 'Enable' : 'Disable';
    toggle.setAttribute('aria-label', `${u.disabled ? 'Enable' : 'Disable'} ${label}`);
  };
  remove.setAttribute('aria-label', `Remove ${label}`);
  show();
  const patch = async (body, done) => {
    role.disabled = toggle.disabled = true;
    try {
      Object.assign(u, await api(endpoints.user(u.id), { method: 'PATCH', body }));
      report(done(), false);
    } catch (e) {
      report(`Could not change ${label}: ${e.message}`, true);
    } finally {
      role.value = u.role;
      role.disabled = toggle.disabled = false;
      show();
    }
  };
  role.addEventListener('change', () => patch({ role: role.value }, () => `${label} is now ${u.role}.`));
  toggle.addEventListener('click', () => patch({ disabled: !u.disabled },
    () => `${label} is ${u.disabled ? 'disabled' : 'enabled'}.`));
  const row = h('tr', { 'data-testid': 'user-row', 'data-id': u.id },
    h('td', { 'data-label': 'Name' }, h('span', null, u.name || h('span', { class: 'muted' }, '—'),
      u.id === me ? h('span', { class: 'badge badge-info tag' }, 'You') : null)),
    h('td', { 'data-label': 'Email', class: 'cell-id', 'data-testid': 'user-email' }, u.email),
    h('td', { 'data-label': 'Role' }, role),
    h('td', { 'data-label': 'Status' }, h('span', null, status)),
    h('td', { 'data-label': 'Since' }, timeEl(u.created_at)),
    h('td', { 'data-label': 'Actions' }, h('span', { class: 'row-actions' }, toggle, remove)));
  remove.addEventListener('click', () => removeUser(u, remove, report, () => onRemoved(row, `${label} was removed.`)));
  return row;
}

/* Remove, after the confirmation: done() once the server did. */
async function removeUser(u, btn, report, done) {
  const label = userLabel(u);
  const ok = await confirmDialog({
    title: `Remove ${label}?`,
    message: `${u.email} loses access to this organization at once (their account and other organizations stay). You can invite them again later.`,
    confirmLabel: 'Remove', danger: true,
  });
  if (!ok) return;
  btn.disabled = true;
  try {
    await api(endpoints.user(u.id), { method: 'DELETE' });
    done();
  } catch (e) {
    btn.disabled = false;
    report(`Could not remove ${label}: ${e.message}`, true);
  }
}

/* ----------------------------------------------------------- invitations */

/* A pending invitation's row: Revoke after a confirmation. */
function invitationRow(inv, report, onRevoked) {
  const revoke = h('button', { type: 'button', class: 'btn btn-danger', 'data-testid': 'invitation-revoke',
    'aria-label': `Revoke the invitation of ${inv.email}` }, 'Revoke');
  const row = h('tr', { 'data-testid': 'invitation-row', 'data-id': inv.id },
    h('td', { 'data-label': 'Email', class: 'cell-id', 'data-testid': 'invitation-email' }, inv.email),
    h('td', { 'data-label': 'Role' }, inv.role),
    h('td', { 'data-label': 'Invited' }, timeEl(inv.created_at)),
    h('td', { 'data-label': 'Expires' }, timeEl(inv.expires_at)),
    h('td', { 'data-label': 'Actions' }, h('span', { class: 'row-actions' }, revoke)));
  revoke.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: `Revoke the invitation of ${inv.email}?`,
      message: 'Its link stops working at once. You can invite them again later.',
      confirmLabel: 'Revoke', danger: true,
    });
    if (!ok) return;
    revoke.disabled = true;
    try {
      await api(endpoints.invitation(inv.id), { method: 'DELETE' });
      onRevoked(row, `The invitation of ${inv.email} was revoked.`);
    } catch (e) {
      revoke.disabled = false;
      report(`Could not revoke the invitation of ${inv.email}: ${e.message}`, true);
    }
  });
  return row;
}

/* The pending invitations' section, filled by load(). */
function invitationsSection(report) {
  const tbody = h('tbody', { 'data-testid': 'invitation-list' });
  const count = h('p', { class: 'count', 'data-testid': 'invitation-count' });
  const counted = () => {
    const n = tbody.rows.length;
    count.textContent = `${n.toLocaleString()} pending ${n === 1 ? 'invitation' : 'invitations'}`;
  };
  const onRevoked = (row, text) => {
    row.remove();
    counted();
    report(text, false);
  };
  const load = async (signal) => {
    const d = await api(endpoints.invitations, { signal });
    clear(tbody);
    for (const inv of Array.isArray(d && d.invitations) ? d.invitations : []) tbody.append(invitationRow(inv, report, onRevoked));
    counted();
  };
  const el = h('section', { 'data-testid': 'invitations', 'aria-labelledby': 'invitations-title' },
    h('h2', { id: 'invitations-title' }, 'Pending invitations'), count,
    h('div', { class: 'table-wrap' }, cardTable('The pending invitations of this organization',
      ['Email', 'Role', 'Invited', 'Expires', 'Actions'], tbody, { 'data-testid': 'invitation-table' })));
  return { el, load };
}

export async function renderList(main, ctx) {
  ctx.setTitle('Users');
  main.append(h('div', { class: 'page-head' }, pageTitle('Users')));
  const once = h('div', { 'data-testid': 'invite-result' });
  const alert = h('p', { class: 'alert alert-error', role: 'alert', 'data-testid': 'users-error', hidden: true });
  const status = h('p', { class: 'save-status', role: 'status', 'data-testid': 'users-status' });
  const count = h('p', { class: 'count', 'data-testid': 'user-count' });
  const tbody = h('tbody', { 'data-testid': 'user-list' });
  const report = (text, isError) => {
    alert.textContent = isError ? text : '';
    alert.hidden = !isError;
    status.textContent = isError ? '' : text;
  };
  const counted = () => {
    const n = tbody.rows.length;
    count.textContent = `${n.toLocaleString()} ${n === 1 ? 'member' : 'members'}`;
  };
  const onRemoved = (row, text) => {
    row.remove();
    counted();
    report(text, false);
  };
  const pending = invitationsSection(report);
  main.append(
    inviteForm((d) => {
      clear(once).append(invitedBox(d));
      pending.load().catch((e) => report(`Could not list the invitations: ${e.message}`, true));
    }), once,
    // the status line beside the count: the table under it either way
    h('h2', null, 'Members'), h('div', { class: 'list-head' }, count, status), alert,
    h('div', { class: 'table-wrap' }, cardTable('The members of this organization',
      ['Name', 'Email', 'Role', 'Status', 'Since', 'Actions'], tbody, { 'data-testid': 'user-table' })),
    pending.el);
  const d = await api(endpoints.users, { signal: ctx.signal });
  const me = ctx.session && ctx.session.user ? ctx.session.user.id : '';
  for (const u of Array.isArray(d && d.users) ? d.users : []) tbody.append(userRow(u, me, report, onRemoved));
  counted();
  await pending.load(ctx.signal);
}
