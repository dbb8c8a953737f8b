// Canned replies: the picker a reply box opens when "/" starts it (a
// listbox filtered as one types, arrows, Enter, Escape; a reply's files
// go to the box with its text), and the page that manages them
// (#/canned-replies: list, add, edit, delete, each reply with up to 5
// files uploaded as the reply box's are (attach.js); writes for admins and
// owners, the server decides). The list is one per organisation
// (GET /v1/admin/canned-replies), kept here a minute once loaded and read
// again after a change made on the page.

import { api, endpoints, isAbort, roleAtLeast, sessionRole } from './api.js';
import { h, clear, confirmDialog, pageTitle, cardTable, relTimeEl, preview, plural, viewError } from './dom.js';
import { formErrors, parseFieldError, markSaved } from './form.js';
import { fileStrip, takeFiles, clipIcon, MAX_FILES, MAX_BYTES, humanSize } from './attach.js';

const MAX_SHOWN = 8; // options in the picker at once

const FRESH_MS = 60000; // the list is read again after this long (a teammate's changes)
const UPLOADS = endpoints.cannedAttachments; // a canned reply's new files

const filesOf = (it) => (it && Array.isArray(it.attachments) ? it.attachments.filter((a) => a && a.id) : []);

let cache = null; // Promise of the items
let cachedAt = 0;

/** The canned replies (kept FRESH_MS; a failure is not kept). */
export function cannedReplies() {
  if (!cache || Date.now() - cachedAt > FRESH_MS) {
    cachedAt = Date.now();
    cache = api(endpoints.cannedReplies)
      .then((d) => (Array.isArray(d && d.items) ? d.items : []))
      .catch((e) => { cache = null; throw e; });
  }
  return cache;
}

/** The list read again next time: one was added elsewhere in this tab (the gaps page). */
export function forget() {
  cache = null;
}

/** The replies matching query (the text after "/"): shortcut first, then the text. */
export function filterReplies(items, query) {
  const q = query.toLowerCase();
  const by = (f) => items.filter((it) => f(String(it.shortcut || '').toLowerCase(), String(it.text || '').toLowerCase()));
  const starts = by((s) => s.startsWith(q));
  const within = by((s, t) => !s.startsWith(q) && (s.includes(q) || t.includes(q)));
  return [...starts, ...within];
}

let pickerSeq = 0;

// How many files a reply has, a clip before it (for sight only), or null when none.
function filesCount(it, attrs) {
  const n = filesOf(it).length;
  return n ? h('span', attrs, clipIcon(), plural(n, 'file', 'files')) : null;
}

/**
 * The picker for textarea (a reply box). When its text is "/" and a word
 * (no space yet) the list opens under the box, filtered by that word;
 * ArrowDown/ArrowUp choose, Enter or a click inserts the reply in place of
 * "/word" (then onInsert(item): the reply, whose files the box adds),
 * Escape closes. The textarea says what is chosen with
 * aria-activedescendant. Returns the element to put beside the textarea.
 */
export function cannedPicker(textarea, { onInsert = () => {} } = {}) {
  const id = `canned-${++pickerSeq}`;
  const list = h('ul', { class: 'canned-list', role: 'listbox', id, 'aria-label': 'Canned replies', 'data-testid': 'canned-picker' });
  const note = h('p', { class: 'visually-hidden', 'aria-live': 'polite', 'data-testid': 'canned-status' });
  const box = h('div', { class: 'canned', hidden: true }, list);
  let items = [];
  let shown = [];
  let active = -1;
  let open = false;
  textarea.setAttribute('aria-autocomplete', 'list');
  textarea.setAttribute('aria-controls', id);

  // "/word" at the start of the box with the caret in it: the word, else null.
  function query() {
    const m = /^\/(\S*)$/.exec(textarea.value.slice(0, textarea.selectionEnd));
    return m ? m[1] : null;
  }

  function close() {
    if (!open) return;
    open = false;
    box.hidden = true;
    active = -1;
    textarea.removeAttribute('aria-activedescendant');
    note.textContent = '';
  }

  function choose(i) {
    active = i;
    [...list.children].forEach((li, k) => li.setAttribute('aria-selected', String(k === i)));
    const li = list.children[i];
    if (li && li.id) {
      textarea.setAttribute('aria-activedescendant', li.id);
      li.scrollIntoView({ block: 'nearest' });
    } else textarea.removeAttribute('aria-activedescendant');
  }

  function render(q) {
    shown = filterReplies(items, q).slice(0, MAX_SHOWN);
    clear(list);
    if (!shown.length) {
      list.append(h('li', { class: 'canned-none', role: 'option', 'aria-disabled': 'true', 'aria-selected': 'false' },
        items.length ? 'No canned reply matches.' : 'No canned replies yet.'));
    }
    shown.forEach((it, i) => {
      list.append(h('li', {
        id: `${id}-${i}`, role: 'option', class: 'canned-option', 'aria-selected': 'false',
        'data-testid': 'canned-option', 'data-shortcut': String(it.shortcut || ''),
        onMousedown: (ev) => { ev.preventDefault(); insert(i); },
      }, h('span', { class: 'canned-shortcut' }, `/${it.shortcut}`), ' ', h('span', { class: 'canned-text' }, preview(it.text, 80)),
      filesCount(it, { class: 'canned-option-files', 'data-testid': 'canned-option-files' })));
    });
    open = true;
    box.hidden = false;
    choose(shown.length ? 0 : -1);
    note.textContent = shown.length
      ? `${plural(shown.length, 'canned reply', 'canned replies')}: arrows to choose, Enter to insert, Escape to close.`
      : 'No canned reply matches.';
  }

  function insert(i) {
    const it = shown[i];
    if (!it) return;
    const v = textarea.value;
    const end = /^\/\S*/.exec(v)[0].length;
    textarea.value = String(it.text || '') + v.slice(end);
    const caret = String(it.text || '').length;
    textarea.setSelectionRange(caret, caret);
    close();
    textarea.focus();
    onInsert(it);
  }

  async function update() {
    const q = query();
    if (q === null) return close();
    try {
      items = await cannedReplies();
    } catch (e) {
      if (!isAbort(e)) note.textContent = `Canned replies could not be loaded: ${e.message}`;
      return;
    }
    if (query() === q && textarea.isConnected) render(q);
  }

  textarea.addEventListener('input', update);
  textarea.addEventListener('blur', close);
  textarea.addEventListener('keydown', (ev) => {
    if (!open) return;
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      ev.preventDefault();
      if (!shown.length) return;
      const step = ev.key === 'ArrowDown' ? 1 : -1;
      choose((active + step + shown.length) % shown.length);
    } else if (ev.key === 'Enter' && !ev.shiftKey) {
      ev.preventDefault();
      ev.stopImmediatePropagation();
      if (active >= 0) insert(active);
      else close();
    } else if (ev.key === 'Escape') {
      ev.preventDefault();
      ev.stopPropagation();
      close();
    } else if (ev.key === 'Tab') close();
  });
  return h('div', { class: 'canned-wrap' }, box, note);
}

/* ------------------------------------------------------------ the page */

/*
 * The form's files (attach.js's list, its uploads under UPLOADS, one given
 * up deleted): a field of the form (controls.attachments: its Attach
 * button) with its hint and error. Returns {el, files}.
 */
function filesField(ctx, controls, errEl, say) {
  const files = fileStrip(ctx, UPLOADS, {
    say, label: 'Files of this reply', ready: 'Ready to save', kept: 'Saved with the reply', discard: true, rest: 'save the rest',
  });
  files.button.setAttribute('aria-describedby', 'canned-files-label hint-attachments err-attachments');
  controls.attachments = files.button;
  const el = h('div', { class: 'field canned-files', 'data-field': 'attachments' },
    h('span', { class: 'field-label', id: 'canned-files-label' }, 'Files'),
    files.list,
    h('div', { class: 'canned-files-row' }, files.button, files.input,
      h('p', { id: 'hint-attachments', class: 'hint' },
        `Sent with the reply's text. Attach, drop or paste up to ${MAX_FILES} images, PDFs or plain text files of ${humanSize(MAX_BYTES)}.`)),
    errEl('attachments'));
  return { el, files };
}

/* The form: a new reply, or the one being edited (edit(item)), with its files. */
function cannedForm(ctx, onSaved) {
  const controls = {};
  const { formError, errEl, field, clearErrors, showErrors } = formErrors(controls);
  const title = h('h2', { id: 'canned-form-title', tabindex: '-1' }, 'New canned reply');
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'canned-save' }, 'Add reply');
  const cancel = h('button', { type: 'button', class: 'btn', 'data-testid': 'canned-cancel', hidden: true }, 'Cancel');
  const status = h('p', { class: 'save-status', role: 'status', 'data-testid': 'canned-form-status' });
  const { el: filesEl, files } = filesField(ctx, controls, errEl, (t) => { status.textContent = t; });
  const form = h('form', { class: 'widget-form canned-form', 'data-testid': 'canned-form', 'data-guard': true, novalidate: true, 'aria-labelledby': 'canned-form-title' },
    title, formError,
    field('shortcut', 'Shortcut', h('input', { type: 'text', maxlength: '64', autocomplete: 'off', spellcheck: 'false' }),
      'Typed after "/" in a reply box, e.g. "hours".'),
    field('text', 'Reply', h('textarea', { rows: '4', maxlength: '4096' }), 'The text the reply box gets.'),
    filesEl,
    h('div', { class: 'form-actions' }, submit, cancel, status));
  takeFiles(form, controls.text, files.add);
  let editing = null;

  function edit(item) {
    editing = item;
    clearErrors();
    files.reset();
    files.addKept(filesOf(item));
    status.textContent = '';
    controls.shortcut.value = item ? String(item.shortcut || '') : '';
    controls.text.value = item ? String(item.text || '') : '';
    title.textContent = item ? `Edit /${item.shortcut}` : 'New canned reply';
    submit.textContent = item ? 'Save changes' : 'Add reply';
    cancel.hidden = !item;
    if (item) controls.shortcut.focus();
  }
  cancel.addEventListener('click', () => edit(null));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const shortcut = controls.shortcut.value.trim().replace(/^\//, '');
    const text = controls.text.value.trim();
    const errors = {};
    if (!shortcut) errors.shortcut = 'Enter a shortcut.';
    else if (/\s/.test(shortcut)) errors.shortcut = 'A shortcut is one word, without spaces.';
    if (!text) errors.text = 'Enter the reply.';
    if (Object.keys(errors).length) return showErrors(errors);
    clearErrors();
    submit.disabled = true;
    const was = editing;
    try {
      const attachments = await filesToSave();
      if (!attachments) return;
      const body = { shortcut, text };
      // the list only when there are files, or were (none sent: the reply's files unchanged)
      if (attachments.length || filesOf(was).length) body.attachments = attachments;
      const saved = was
        ? await api(endpoints.cannedReply(was.id), { method: 'PUT', body })
        : await api(endpoints.cannedReplies, { method: 'POST', body });
      forget();
      files.sent(attachments);
      markSaved(form);
      edit(null);
      status.textContent = was ? `Saved /${shortcut}.` : `Added /${shortcut}.`;
      onSaved(saved);
    } catch (e) {
      if (isAbort(e)) return;
      if (e.status === 409) return showErrors({ shortcut: `/${shortcut} is taken: choose another shortcut.` });
      const fe = e.status === 400 ? parseFieldError(e.message) : null;
      if (fe && controls[fe.field]) showErrors({ [fe.field]: fe.message });
      else showErrors({}, `Could not save: ${e.message}`);
    } finally {
      submit.disabled = false;
    }
  });

  // The files' ids once all are uploaded; null when one could not be (said by its field).
  async function filesToSave() {
    if (!files.count()) return [];
    status.textContent = 'Uploading the files…';
    try {
      const ids = await files.ids();
      status.textContent = '';
      return ids;
    } catch (e) {
      status.textContent = '';
      showErrors({ attachments: e.message });
      return null;
    }
  }
  return { form, edit };
}

// A reply's files under its text: how many, and their names.
function filesNote(it) {
  const list = filesOf(it);
  if (!list.length) return null;
  return h('p', { class: 'canned-files-note', 'data-testid': 'canned-files' },
    filesCount(it, { class: 'canned-files-count', 'data-testid': 'canned-files-count' }), ': ',
    list.map((a, i) => [i ? ', ' : null, h('span', { class: 'canned-file-name', 'data-testid': 'canned-file-name' }, String(a.name || 'file'))]));
}

/* A reply's row: its shortcut, text and files, last change and (for admins) Edit and Delete. */
function cannedRow(it, canWrite, { onEdit, onDelete }) {
  const actions = canWrite ? h('span', { class: 'row-actions' },
    h('button', { type: 'button', class: 'btn', 'data-testid': 'canned-edit', 'aria-label': `Edit /${it.shortcut}`, onClick: () => onEdit(it) }, 'Edit'),
    h('button', { type: 'button', class: 'btn btn-danger', 'data-testid': 'canned-delete', 'aria-label': `Delete /${it.shortcut}`, onClick: () => onDelete(it) }, 'Delete'))
    : null;
  return h('tr', { 'data-testid': 'canned-row', 'data-id': String(it.id || '') },
    h('td', { 'data-label': 'Shortcut' }, h('code', { 'data-testid': 'canned-shortcut' }, `/${it.shortcut}`)),
    // one child: the cell is a grid of its label and its value on a phone
    h('td', { 'data-label': 'Reply', class: 'cell-preview' }, h('div', null,
      h('span', { 'data-testid': 'canned-text' }, String(it.text || '')), filesNote(it))),
    h('td', { 'data-label': 'Changed' }, relTimeEl(it.updatedAt || it.createdAt)),
    canWrite ? h('td', { 'data-label': 'Actions' }, actions) : null);
}

export async function renderList(main, ctx) {
  ctx.setTitle('Canned replies');
  const canWrite = roleAtLeast(sessionRole(ctx), 'admin');
  const status = h('p', { class: 'save-status', role: 'status', 'data-testid': 'canned-status-page' });
  const error = viewError(null, { hidden: true });
  const tbody = h('tbody', { 'data-testid': 'canned-list' });
  const heads = ['Shortcut', 'Reply', 'Changed', ...(canWrite ? ['Actions'] : [])];
  const table = cardTable('Canned replies', heads, tbody, { 'data-testid': 'canned-table' });
  const empty = h('p', { class: 'empty', 'data-testid': 'canned-empty', hidden: true }, 'No canned replies yet.');
  main.append(h('div', { class: 'page-head' }, pageTitle('Canned replies')),
    h('p', { class: 'hint' }, 'Type "/" at the start of a reply box to pick one; the text goes into the box for you to send.'),
    error, status);

  async function load() {
    forget();
    let items;
    try {
      items = await cannedReplies();
    } catch (e) {
      if (isAbort(e)) return;
      error.textContent = e.message;
      error.hidden = false;
      return;
    }
    if (ctx.signal.aborted) return;
    clear(tbody);
    for (const it of items) tbody.append(cannedRow(it, canWrite, { onEdit: f.edit, onDelete: remove }));
    table.hidden = !items.length;
    empty.hidden = !!items.length;
  }

  async function remove(it) {
    const ok = await confirmDialog({
      title: `Delete /${it.shortcut}?`, message: 'The reply leaves every reply box\'s list. This cannot be undone.',
      confirmLabel: 'Delete', danger: true,
    });
    if (!ok) return;
    try {
      await api(endpoints.cannedReply(it.id), { method: 'DELETE' });
      status.textContent = `Deleted /${it.shortcut}.`;
    } catch (e) {
      error.textContent = `Could not delete /${it.shortcut}: ${e.message}`;
      error.hidden = false;
    }
    await load();
  }

  const f = cannedForm(ctx, () => load());
  main.append(h('div', { class: 'table-wrap' }, table), empty);
  if (canWrite) main.append(f.form);
  await load();
}
