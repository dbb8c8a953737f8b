// Email (#/email, every role): the signed-in user's own email
// notifications (GET/PUT /v1/admin/notifications): a visitor asked for a
// person, a visitor is waiting in a conversation a person answers, a new
// contact. For every organisation the user is in. When the server sends
// no email (SMTP_URL unset) the page says so and the form still saves.

import { api } from './api.js';
import { h, pageTitle } from './dom.js';
import { markSaved } from './form.js';

const URL = '/v1/admin/notifications';
const CHOICES = [
  ['handoff_requested', 'A visitor asks for a person', 'Sent to you and to every member who chose it, with the conversation’s link. At most 20 an hour per organization: past that, one email at the hour’s end says how many more asked.'],
  ['visitor_waiting', 'A visitor is waiting for an answer', 'A visitor wrote in a conversation a person answers and nobody answered for 2 minutes (at most one email per conversation every 10 minutes).'],
  ['new_contact', 'A new contact', 'A visitor left their contact details. At most 20 an hour per organization: past that, one email at the hour’s end says how many more came (the Contacts page lists them all).'],
];

export async function render(main, ctx) {
  ctx.setTitle('Email notifications');
  main.append(h('div', { class: 'page-head' }, pageTitle('Email notifications')),
    h('p', { class: 'hint' }, 'Which emails you get, in every organization you are in. Off until you choose.'));
  await renderForm(main, ctx);
}

/** The choices' form into container (the profile page has it too). */
export async function renderForm(container, ctx) {
  const off = h('p', { class: 'alert', 'data-testid': 'email-off', hidden: true },
    'This server sends no email (SMTP_URL is not set): your choice is kept for when it does.');
  const status = h('p', { class: 'save-status', role: 'status', 'data-testid': 'email-status' });
  const boxes = {};
  const fields = CHOICES.map(([name, label, hint]) => {
    boxes[name] = h('input', { id: `f-${name}`, name, type: 'checkbox', 'aria-describedby': `h-${name}`, 'data-testid': `email-${name}` });
    return h('div', { class: 'field field-check' }, boxes[name], h('label', { for: `f-${name}` }, label),
      h('p', { class: 'hint', id: `h-${name}` }, hint));
  });
  // Disabled until the saved choices are in: a box ticked or a Save
  // pressed before then was undone by the load, or submitted the form
  // natively (a page reload) before its handler was there.
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'email-save', disabled: true }, 'Save');
  const set = h('fieldset', { disabled: true }, h('legend', null, 'Email me when'), ...fields);
  const form = h('form', { class: 'card form', 'data-testid': 'email-form', 'data-guard': true, novalidate: true },
    set, h('div', { class: 'form-actions' }, submit, status));
  container.append(off, form);

  const show = (v) => {
    for (const [name] of CHOICES) boxes[name].checked = !!v[name];
    off.hidden = !!v.email_enabled;
  };
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    status.textContent = 'Saving…';
    try {
      const body = Object.fromEntries(CHOICES.map(([name]) => [name, boxes[name].checked]));
      show(await api(URL, { method: 'PUT', body }));
      markSaved(form);
      status.textContent = 'Saved.';
    } catch (e) {
      status.textContent = `Could not save: ${e.message}`;
    } finally {
      submit.disabled = false;
    }
  });
  show(await api(URL, { signal: ctx.signal }));
  set.disabled = submit.disabled = false;
}
