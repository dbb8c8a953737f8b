// Profile (#/profile, every role): the signed-in user's own account.
// - the display name visitors see when this user answers ("Dana joined",
//   the name on each reply) and teammates see in the inbox
//   (PATCH /v1/admin/profile), with the initials avatar made of it;
// - the password (POST /v1/admin/profile/password: the current one and a
//   new one; the user's other sessions end, this one stays);
// - the email notifications (email.js's form).

import { api, endpoints } from './api.js';
import { avatar, h, pageTitle } from './dom.js';
import { renderForm as emailForm } from './email.js';
import { formErrors, markSaved } from './form.js';

/*
 * A form's status line and submit, disabled while it is sent. send()
 * resolves to what to say once saved, or null when refused (its errors
 * shown by the form).
 */
function sender(form, submit, status, send) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    status.textContent = 'Saving…';
    try {
      const said = await send(); // null: refused, told by the form's fields
      status.textContent = said || '';
      if (said !== null) markSaved(form);
    } catch (e) {
      status.textContent = `Could not save: ${e.message}`;
    } finally {
      submit.disabled = false;
    }
  });
}

/* The server's "field: message" as {field: message} when it names one of names. */
function fieldError(e, names) {
  const m = /^([a-z_]+): (.*)$/.exec((e && e.message) || '');
  return m && names.includes(m[1]) ? { [m[1]]: m[2] } : null;
}

function nameForm(me, onSaved) {
  const controls = {};
  const { formError, field, clearErrors, showErrors } = formErrors(controls);
  controls.name = h('input', { type: 'text', required: true, maxlength: '100', autocomplete: 'name', value: me.name || '', 'data-testid': 'profile-name' });
  const status = h('p', { class: 'save-status', role: 'status', 'data-testid': 'profile-name-status' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'profile-name-save' }, 'Save name');
  const form = h('form', { class: 'card form', 'data-testid': 'profile-name-form', 'data-guard': true, novalidate: true },
    h('h2', null, 'Display name'), formError,
    field('name', 'Name', controls.name, 'Visitors see it when you answer them, and your team sees it in the inbox.'),
    h('div', { class: 'form-actions' }, submit, status));
  sender(form, submit, status, async () => {
    clearErrors();
    const name = controls.name.value.trim();
    if (!name) {
      showErrors({ name: 'A name is needed.' });
      return null;
    }
    try {
      onSaved(await api(endpoints.profile, { method: 'PATCH', body: { name } }));
      return 'Saved.';
    } catch (e) {
      showErrors(fieldError(e, ['name']) || {}, fieldError(e, ['name']) ? undefined : e.message);
      return null;
    }
  });
  return form;
}

function passwordForm() {
  const controls = {};
  const { formError, field, clearErrors, showErrors } = formErrors(controls);
  controls.current_password = h('input', { type: 'password', required: true, autocomplete: 'current-password', 'data-testid': 'profile-current' });
  controls.new_password = h('input', { type: 'password', required: true, minlength: '12', maxlength: '1024', autocomplete: 'new-password', 'data-testid': 'profile-new' });
  controls.confirm = h('input', { type: 'password', required: true, autocomplete: 'new-password', 'data-testid': 'profile-confirm' });
  const status = h('p', { class: 'save-status', role: 'status', 'data-testid': 'profile-password-status' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'profile-password-save' }, 'Change password');
  const form = h('form', { class: 'card form', 'data-testid': 'profile-password-form', novalidate: true },
    h('h2', null, 'Password'), formError,
    field('current_password', 'Current password', controls.current_password),
    field('new_password', 'New password', controls.new_password, '12 characters or more.'),
    field('confirm', 'New password again', controls.confirm),
    h('p', { class: 'hint' }, 'Your other sessions (other browsers and devices) are signed out; this one stays.'),
    h('div', { class: 'form-actions' }, submit, status));
  sender(form, submit, status, async () => {
    clearErrors();
    const body = { current_password: controls.current_password.value, new_password: controls.new_password.value };
    const errors = {};
    if (!body.current_password) errors.current_password = 'Your current password is needed.';
    if ([...body.new_password].length < 12) errors.new_password = 'At least 12 characters.';
    else if (controls.confirm.value !== body.new_password) errors.confirm = 'The two new passwords differ.';
    if (Object.keys(errors).length) {
      showErrors(errors);
      return null;
    }
    try {
      await api(endpoints.profilePassword, { method: 'POST', body });
    } catch (e) {
      const fe = fieldError(e, ['current_password', 'new_password']);
      showErrors(fe || {}, fe ? undefined : e.message);
      return null;
    }
    for (const c of Object.values(controls)) c.value = '';
    return 'Password changed. Your other sessions were signed out.';
  });
  return form;
}

export async function render(main, ctx) {
  ctx.setTitle('Your profile');
  const me = await api(endpoints.profile, { signal: ctx.signal });
  const pic = h('span', { class: 'profile-avatar' }, avatar(me.name, me.email, { 'data-testid': 'profile-avatar' }));
  const shown = h('span', { class: 'profile-shown-name', 'data-testid': 'profile-shown-name' }, me.name || me.email);
  main.append(h('div', { class: 'page-head' }, pageTitle('Your profile')),
    h('div', { class: 'card profile-head' }, pic,
      h('p', null, shown, h('br'), h('span', { class: 'hint' }, me.email, ' · ', me.role))),
    nameForm(me, (saved) => {
      pic.replaceChildren(avatar(saved.name, saved.email, { 'data-testid': 'profile-avatar' }));
      shown.textContent = saved.name;
      ctx.userChanged(saved);
    }),
    passwordForm(),
    h('h2', { class: 'section-title' }, 'Email notifications'));
  await emailForm(main, ctx);
}
