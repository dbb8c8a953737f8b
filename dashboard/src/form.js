// What the dashboard's edit forms (widgets, agents) share: the field errors
// and the form's alert, and the submit that sends a new record whole or an
// edited one's changed fields, then shows the server's field error by its field.

import { api, isAbort, beforeLogin } from './api.js';
import { h } from './dom.js';

/**
 * The error side of a form. controls: the form's {name: control}, which the
 * caller fills in. Returns:
 * - formError: the alert atop the form (hook form-error), focusable;
 * - errEl(name): a field's message <p id="err-<name>"> (hook field-error-<name>);
 * - field(name, label, el, hint): el in its labelled .field, with its hint and message;
 * - clearErrors(): hides every message and the alert;
 * - showErrors(errors, general): each {field: message} under its field, the
 *   others (and general first) in the alert; focuses the first field in
 *   error, else the alert.
 */
export function formErrors(controls) {
  const formError = h('div', { class: 'alert alert-error', role: 'alert', 'data-testid': 'form-error', hidden: true, tabindex: '-1' });
  const errEls = {};

  function errEl(name) {
    const p = h('p', { id: `err-${name}`, class: 'field-error', 'data-testid': `field-error-${name}`, hidden: true });
    errEls[name] = p;
    return p;
  }

  function clearErrors() {
    formError.hidden = true;
    formError.textContent = '';
    for (const name of Object.keys(errEls)) {
      errEls[name].hidden = true;
      errEls[name].textContent = '';
      controls[name].removeAttribute('aria-invalid');
    }
  }

  function showErrors(errors, general) {
    clearErrors();
    let first = null;
    const other = [];
    for (const [name, msg] of Object.entries(errors)) {
      if (errEls[name]) {
        errEls[name].textContent = msg;
        errEls[name].hidden = false;
        controls[name].setAttribute('aria-invalid', 'true');
        if (!first) first = controls[name];
      } else {
        other.push(`${name}: ${msg}`);
      }
    }
    if (general) other.unshift(general);
    if (other.length) {
      formError.textContent = other.join(' ');
      formError.hidden = false;
    }
    if (first) first.focus();
    else if (other.length) formError.focus();
  }

  /**
   * A labelled field: el gets the id f-<name>, its name, the hint and its
   * error message as description, and goes in controls[name].
   */
  function field(name, label, el, hint) {
    el.id = `f-${name}`;
    el.name = name;
    el.setAttribute('aria-describedby', [hint ? `hint-${name}` : null, `err-${name}`].filter(Boolean).join(' '));
    controls[name] = el;
    return h('div', { class: 'field', 'data-field': name },
      h('label', { for: `f-${name}` }, label), el,
      hint ? h('p', { id: `hint-${name}`, class: 'hint' }, hint) : null, errEl(name));
  }

  return { formError, errEl, field, clearErrors, showErrors };
}

/** A field's box (field() above) for a long line, a URL: as wide as its form. */
export function wide(fieldBox) {
  fieldBox.classList.add('field-wide');
  return fieldBox;
}

/*
 * Unsaved edits. A form made with data-guard (a record's editor) is marked
 * data-dirty when the user changes one of its fields, and unmarked when its
 * save succeeds (markSaved: submitForm, and each other guarded form's own
 * submit). app.js asks before a route or a reload would drop a marked one.
 */
export function trackUnsaved(userId) {
  owner = userId || '';
  beforeLogin(keepUnsaved);
  const mark = (ev) => {
    const form = ev.isTrusted && ev.target && ev.target.form;
    if (form && form.hasAttribute('data-guard')) form.dataset.dirty = '1';
  };
  document.addEventListener('input', mark, true);
  document.addEventListener('change', mark, true);
  window.addEventListener('beforeunload', (ev) => {
    if (unsavedForm()) {
      ev.preventDefault();
      ev.returnValue = ''; // what older browsers ask for
    }
  });
}

/**
 * A form on the page with unsaved edits, or null; one marked data-unkept
 * holds what leaving would lose without a draft to keep it (a reply's
 * files) and is one too.
 */
export function unsavedForm() {
  return document.querySelector('form[data-guard][data-dirty], form[data-unkept]');
}

/*
 * A session that ends sends the page to the login page: the unsaved
 * forms' fields are kept in the tab (sessionStorage), keyed by the user
 * (another person signing in here never sees them; api.js's logout
 * clears every parley.draft.*), and put back when the same user is on
 * the same route again. Files and passwords are not kept.
 */
const KEPT_KEY = 'parley.draft.form.';
const RESTORE_WAIT_MS = 15000; // a view's form shown after its data loads
let owner = '';

function keepUnsaved() {
  const forms = [...document.querySelectorAll('form[data-guard][data-dirty]')];
  if (!forms.length) return;
  const kept = {
    hash: location.hash,
    forms: forms.map((f) => ({
      testid: f.dataset.testid,
      fields: [...f.elements].filter((e) => e.id && e.type !== 'file' && e.type !== 'password' && !e.disabled)
        .map((e) => [e.id, e.type === 'checkbox' || e.type === 'radio' ? e.checked : e.value]),
    })),
  };
  try { sessionStorage.setItem(KEPT_KEY + owner, JSON.stringify(kept)); } catch { /* storage off or full */ }
  forgetUnsaved(); // kept: the way out needs no question
}

/*
 * A kept field that cannot take its value yet: not drawn (an agent's
 * sources, drawn when a second request answers), a select without the
 * option (options read after the form shows), or disabled (a form
 * waiting for its data, which would overwrite it).
 */
function notYet(el, v) {
  if (!el || el.matches(':disabled')) return true;
  return el.tagName === 'SELECT' && ![...el.options].some((o) => o.value === String(v));
}

/*
 * Form f given its kept fields again, as if typed: marked unsaved.
 * Returns the fields not given yet (notYet), for a later try.
 */
function fillKept(f, fields) {
  const later = [];
  for (const [id, v] of fields) {
    const el = f.querySelector(`#${CSS.escape(id)}`);
    if (notYet(el, v)) {
      later.push([id, v]);
      continue;
    }
    if (el.type === 'checkbox' || el.type === 'radio') el.checked = !!v;
    else el.value = String(v);
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
  }
  if (later.length < fields.length) f.dataset.dirty = '1';
  return later;
}

/**
 * After a sign-in: the forms kept for this user on this route filled in
 * again when they show in root, and their fields that come later (notYet)
 * when they come, within RESTORE_WAIT_MS; a field the user changes
 * meanwhile is theirs. onRestored() once a form is.
 */
export function restoreUnsaved(root, onRestored) {
  let kept = null;
  try {
    kept = JSON.parse(sessionStorage.getItem(KEPT_KEY + owner) || 'null');
    sessionStorage.removeItem(KEPT_KEY + owner);
  } catch { return; }
  if (!kept || kept.hash !== location.hash || !Array.isArray(kept.forms)) return;
  let left = kept.forms.filter((k) => k && typeof k.testid === 'string' && Array.isArray(k.fields));
  let waiting = []; // [{f, fields}]: forms shown, some fields still to give
  let told = false;
  const fill = (f, fields) => {
    const later = fillKept(f, fields);
    if (later.length) waiting.push({ f, fields: later });
    if (!told && later.length < fields.length) {
      told = true;
      onRestored();
    }
  };
  const look = () => {
    const before = waiting;
    waiting = [];
    for (const w of before) fill(w.f, w.fields);
    left = left.filter((k) => {
      const f = root.querySelector(`form[data-guard][data-testid="${CSS.escape(k.testid)}"]`);
      if (f) fill(f, k.fields);
      return !f;
    });
    return !left.length && !waiting.length;
  };
  const mine = (ev) => {
    if (!ev.isTrusted || !ev.target || !ev.target.id) return;
    for (const w of waiting) w.fields = w.fields.filter(([id]) => id !== ev.target.id);
  };
  const stop = () => {
    seen.disconnect();
    document.removeEventListener('input', mine, true);
  };
  const seen = new MutationObserver(() => { if (look()) stop(); });
  if (look()) return;
  seen.observe(root, { childList: true, subtree: true, attributes: true, attributeFilter: ['disabled'] });
  document.addEventListener('input', mine, true);
  setTimeout(stop, RESTORE_WAIT_MS);
}

/** Form's edits saved: nothing left to lose. */
export function markSaved(form) {
  if (form) delete form.dataset.dirty;
}

/** The edits on the page given up (the user chose to leave, or an action did). */
export function forgetUnsaved() {
  for (const f of document.querySelectorAll('form[data-dirty], form[data-unkept]')) {
    delete f.dataset.dirty;
    delete f.dataset.unkept;
  }
}

/**
 * "primary_color: must be #rrggbb" -> {field, message}; null when no field
 * named. aliases: {name the server may use: the form's field}.
 */
export function parseFieldError(text, aliases = {}) {
  const m = /^([A-Za-z_][A-Za-z0-9_]*):\s*(.*)$/s.exec(String(text || ''));
  if (!m) return null;
  const field = aliases[m[1]] || m[1];
  return { field, message: m[2] };
}

/**
 * Submits form f ({getValues, showErrors, clearErrors, save, saveStatus}).
 * A new record (old null) is sent whole with POST to url; an existing one
 * sends, with PATCH, the fields (of names) that same(value, old value) finds
 * changed, or says "No changes to save." A 400 that names a field of names
 * (through aliases) shows under it, other failures in the form's alert as
 * "Could not create the <what>" or "Could not save". Resolves to the server's
 * answer, or null when nothing was saved (the form says why).
 */
export async function submitForm(f, { url, old, names, same, what, aliases }) {
  const isNew = !old;
  f.saveStatus.textContent = '';
  const { values, errors } = f.getValues();
  if (Object.keys(errors).length) {
    f.showErrors(errors, 'Please correct the fields marked below.');
    return null;
  }
  f.clearErrors();
  let body = values;
  if (!isNew) {
    body = {};
    for (const k of names) if (values[k] !== undefined && !same(values[k], old[k])) body[k] = values[k];
    if (!Object.keys(body).length) {
      f.saveStatus.textContent = 'No changes to save.';
      return null;
    }
  }
  f.save.disabled = true;
  f.saveStatus.textContent = 'Saving…';
  try {
    const saved = await api(url, { method: isNew ? 'POST' : 'PATCH', body });
    markSaved(f.save.form);
    return saved;
  } catch (e) {
    f.saveStatus.textContent = '';
    if (isAbort(e)) return null;
    const fe = e.status === 400 ? parseFieldError(e.message, aliases) : null;
    if (fe && names.includes(fe.field)) f.showErrors({ [fe.field]: fe.message });
    else f.showErrors({}, `Could not ${isNew ? `create the ${what}` : 'save'}: ${e.message}`);
    return null;
  } finally {
    f.save.disabled = false;
  }
}
