// Attachments (docs/attachments.md) in the thread: a message's files under
// its text (images as thumbnails that open full size in a new tab, other
// files as a card with a download link), and the files of a reply or of a
// canned reply: picked, dropped or pasted, each uploaded at once in pieces
// (POST then PUT with Content-Range) under the routes it is given, shown
// with a thumbnail, its name, progress and Remove, their ids given to the
// reply; files uploaded already (a canned reply's) listed as they are.
// Built with DOM calls only; the server's url is used only as a path of
// this origin.

import { api, endpoints, isAbort, openUrl } from './api.js';
import { h, clear, plural } from './dom.js';

export const MAX_FILES = 5; // a message names at most 5
export const MAX_BYTES = 25 * 1024 * 1024; // a person's files: 25 MiB
const PIECE = 256 * 1024; // when the server does not say its piece_size
const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];
// What the picker offers (the server decides by the bytes all the same).
const ACCEPT = 'image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain,.png,.jpg,.jpeg,.gif,.webp,.pdf,.txt';
const KINDS = { image: 'Image', pdf: 'PDF', text: 'Text', file: 'File' };

const sizeFmt = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

/** "812 bytes", "48 KB", "1.2 MB" (1024 a step). */
export function humanSize(bytes) {
  const n = Math.max(0, Number(bytes) || 0);
  if (n < 1024) return `${n.toLocaleString()} ${n === 1 ? 'byte' : 'bytes'}`;
  if (n < 1024 * 1024) return `${sizeFmt.format(n < 10 * 1024 ? n / 1024 : Math.round(n / 1024))} KB`;
  return `${sizeFmt.format(n / (1024 * 1024))} MB`;
}

/** image, pdf, text or file, by a type such as "image/png" or "text/plain; charset=utf-8". */
export function kindOf(type) {
  const t = String(type || '').split(';')[0].trim().toLowerCase();
  if (IMAGE_TYPES.includes(t)) return 'image';
  if (t === 'application/pdf') return 'pdf';
  if (t.startsWith('text/')) return 'text';
  return 'file';
}

// A file's icon: a page with its kind's short name (for sight only: the
// name and kind are written beside it).
function fileIcon(kind) {
  return h('span', { class: ['att-icon', `att-icon-${kind}`], 'aria-hidden': 'true' },
    { pdf: 'PDF', text: 'TXT', image: 'IMG' }[kind] || 'FILE');
}

function attachmentItem(a) {
  const name = String(a.name || 'file');
  const kind = kindOf(a.type);
  const size = humanSize(a.size);
  const href = openUrl(a.url);
  const attrs = { class: ['att', `att-${kind}`], 'data-testid': 'msg-attachment', 'data-id': String(a.id || ''), 'data-kind': kind };
  if (kind === 'image' && href) {
    return h('li', attrs,
      h('a', {
        href, target: '_blank', rel: 'noopener noreferrer', class: 'att-thumb', 'data-testid': 'att-open',
        title: `${name}, ${size}: opens full size in a new tab`,
      }, h('img', { src: href, alt: name, decoding: 'async', 'data-testid': 'att-image' })),
      h('span', { class: 'att-caption' },
        h('span', { class: 'att-name', 'data-testid': 'att-name' }, name), ' ',
        h('span', { class: 'att-size', 'data-testid': 'att-size' }, size)));
  }
  return h('li', attrs,
    h('span', { class: 'att-card' },
      fileIcon(kind),
      h('span', { class: 'att-meta' },
        h('span', { class: 'att-name', 'data-testid': 'att-name' }, name),
        h('span', { class: 'att-size' }, `${KINDS[kind]}, `, h('span', { 'data-testid': 'att-size' }, size))),
      href
        ? h('a', { href, download: name, class: 'btn att-download', 'data-testid': 'att-download', 'aria-label': `Download ${name}` }, 'Download')
        : h('span', { class: 'muted' }, 'Unavailable')));
}

/** A message's attachments ([{id, name, type, size, url}]) as a list, or null when none. */
export function attachmentsEl(list) {
  const items = (Array.isArray(list) ? list : []).filter((a) => a && typeof a === 'object');
  if (!items.length) return null;
  return h('ul', { class: 'msg-atts', 'data-testid': 'msg-attachments', 'aria-label': items.length === 1 ? 'Attachment' : 'Attachments' },
    items.map(attachmentItem));
}

/** Their ids, to tell whether a message's files changed. */
export function attachmentKey(list) {
  return (Array.isArray(list) ? list : []).map((a) => (a && a.id) || '').join(',');
}

/** A paper clip (drawn by the style sheet's stroke), for sight only. */
export function clipIcon() {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', 'reply-attach-icon');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const path = document.createElementNS(NS, 'path');
  path.setAttribute('d', 'M21.4 11.1l-9.2 9.2a6 6 0 0 1-8.5-8.5l9.2-9.2a4 4 0 0 1 5.7 5.7l-9.2 9.2a2 2 0 0 1-2.8-2.8l8.5-8.5');
  svg.append(path);
  return svg;
}

// A small picture of an image file as a data: URL (the page's CSP allows
// those, not blob:), or null when the browser cannot read it.
async function thumbUrl(file) {
  if (typeof createImageBitmap !== 'function') return null;
  let bmp;
  try {
    bmp = await createImageBitmap(file);
  } catch {
    return null;
  }
  const scale = Math.min(1, 96 / Math.max(bmp.width, bmp.height, 1));
  const c = document.createElement('canvas');
  c.width = Math.max(1, Math.round(bmp.width * scale));
  c.height = Math.max(1, Math.round(bmp.height * scale));
  c.getContext('2d').drawImage(bmp, 0, 0, c.width, c.height);
  if (bmp.close) bmp.close();
  return c.toDataURL('image/png');
}

// What went wrong with an upload, in words for a person.
function uploadError(e, name) {
  const b = (e && e.body) || {};
  switch (e && e.status) {
    case 413: return `${name} is too large: files can be up to ${humanSize(Number(b.max_bytes) || MAX_BYTES)}.`;
    case 415: return `${name} cannot be sent: only images (PNG, JPEG, GIF, WebP), PDF and plain text are.`;
    case 422: return `${name} was refused by the virus scanner.`;
    case 429: return 'Too many files uploaded from here in the last minute: wait a moment, then remove this one and attach it again.';
    case 503: return 'The virus scanner cannot be reached right now: try again later.';
    case 507: return 'The storage for this organisation\'s files is full: delete old conversations, or ask the server\'s operator for more (PARLEY_ATTACH_QUOTA_MB).';
    default: return `${name} could not be uploaded: ${e && e.message ? e.message : 'unknown error'}`;
  }
}

/*
 * A list of files to send, uploaded under base (POST base, PUT base/{id},
 * DELETE base/{id}). Each file added is uploaded at once, one after the
 * other. opts:
 * - say(text): tells the status line what happened;
 * - label: the list's name; ready: the note of a file uploaded whole; kept:
 *   of a file on the server already (addKept; ready unless given);
 * - discard: a file uploaded here and then removed (or left: reset) is
 *   deleted on the server (DELETE), not left to expire;
 * - rest: what removing a file that could not be uploaded lets the person
 *   do ("send the rest", "save the rest"), said when ids() rejects;
 * - changed(count): the list's length, each time it changes.
 * Returns:
 * - button (Attach, which opens the picker), input (the picker), list (the
 *   files, hidden when none);
 * - add(files): takes files (a FileList or array) as the picker, a drop or a
 *   paste gives them; returns how many were taken;
 * - addKept(list, from): takes files uploaded already ([{id, name, type,
 *   size, url}], e.g. a canned reply's), ready as they are (one listed
 *   already left out); from names where they come from in what is said;
 * - count(): how many files are listed;
 * - ids(): resolves to their ids once all are uploaded, rejects (Error, its
 *   message for the page) when one could not be;
 * - sent(ids): takes the files of those ids off the list, kept on the
 *   server (the reply that named them is sent; one added meanwhile stays);
 * - reset(): empties the list (when leaving).
 */
export function fileStrip(ctx, base, {
  say, label = 'Files to send', ready = 'Ready to send', kept = ready, discard = false, rest = 'send the rest', changed = () => {},
}) {
  const input = h('input', { type: 'file', multiple: true, accept: ACCEPT, hidden: true, 'data-testid': 'reply-file-input', tabindex: '-1' });
  const button = h('button', {
    type: 'button', class: 'btn reply-attach', 'data-testid': 'reply-attach', 'aria-label': 'Attach files',
    title: `Attach files: images, PDF or plain text, up to ${MAX_FILES} of ${humanSize(MAX_BYTES)} each`,
  }, clipIcon(), h('span', { class: 'reply-attach-label' }, 'Attach'));
  const list = h('ul', { class: 'reply-files', 'data-testid': 'reply-files', 'aria-label': label, hidden: true });
  // {name, li, bar, note, id, state, promise, ctrl}; an upload's also file and made (its id once asked for)
  let pending = [];
  let queue = Promise.resolve();

  button.addEventListener('click', () => input.click());
  input.addEventListener('change', () => {
    add(input.files);
    input.value = '';
  });

  function show() {
    list.hidden = pending.length === 0;
    changed(pending.length);
  }

  function setState(p, state, text) {
    p.state = state;
    p.li.dataset.state = state;
    p.note.textContent = text;
    p.note.className = state === 'error' ? 'reply-file-note field-error' : 'reply-file-note';
    p.note.dataset.testid = state === 'error' ? 'reply-file-error' : 'reply-file-note';
    p.bar.hidden = state !== 'uploading' && state !== 'waiting';
  }

  // An upload given up: stopped, and deleted on the server when asked to (never a file kept already).
  function drop(p) {
    p.ctrl.abort();
    if (discard && p.file && p.made) api(`${base}/${encodeURIComponent(p.made)}`, { method: 'DELETE' }).catch(() => {});
  }

  function remove(p) {
    drop(p);
    p.li.remove();
    pending = pending.filter((x) => x !== p);
    show();
    say(`${p.name} removed.`);
    button.focus();
  }

  async function upload(p) {
    const { file } = p;
    if (p.ctrl.signal.aborted) return null;
    setState(p, 'uploading', 'Uploading… 0%');
    const signal = p.ctrl.signal;
    const made = await api(base, { method: 'POST', body: { name: p.name, size: file.size }, signal });
    const id = String(made && made.id);
    p.made = id;
    const piece = Number.isInteger(made && made.piece_size) && made.piece_size > 0 ? made.piece_size : PIECE;
    const size = file.size;
    let at = 0;
    let resent = 0;
    while (at < size) {
      const end = Math.min(at + piece, size);
      try {
        await api(`${base}/${encodeURIComponent(id)}`, {
          method: 'PUT', raw: file.slice(at, end), type: 'application/octet-stream', signal,
          headers: { 'Content-Range': `bytes ${at}-${end - 1}/${size}` },
        });
      } catch (e) {
        // The server has another part of it (a piece lost on the way): from there.
        const r = e && e.body && e.body.received;
        if (e.status === 409 && Number.isInteger(r) && r >= 0 && r < size && r % piece === 0 && resent++ < 3) {
          at = r;
          continue;
        }
        // A piece refused for what the file is (too large, its type, the scan, the room): the server dropped it itself.
        if ([413, 415, 422, 507].includes(e.status)) p.made = null;
        throw e;
      }
      at = end;
      const pct = Math.floor((100 * at) / size);
      p.bar.value = pct;
      p.note.textContent = `Uploading… ${pct}%`;
    }
    return id;
  }

  // A file's line in the list (thumb: its picture, or null for its kind's icon), listed.
  function item(name, kind, size, thumb) {
    const bar = h('progress', { max: '100', value: '0', class: 'reply-file-bar', 'aria-label': `Uploading ${name}` });
    const note = h('span', { class: 'reply-file-note' });
    const rm = h('button', {
      type: 'button', class: 'btn btn-quiet reply-file-remove', 'data-testid': 'reply-file-remove', 'aria-label': `Remove ${name}`,
    }, h('span', { 'aria-hidden': 'true' }, '×'));
    const li = h('li', { class: 'reply-file', 'data-testid': 'reply-file', 'data-kind': kind },
      thumb || fileIcon(kind),
      h('span', { class: 'reply-file-meta' },
        h('span', { class: 'reply-file-name', 'data-testid': 'reply-file-name' }, name),
        h('span', { class: 'reply-file-size' }, humanSize(size)),
        bar, note),
      rm);
    const p = { name, li, bar, note, id: null, state: 'waiting', ctrl: new AbortController() };
    rm.addEventListener('click', () => remove(p));
    list.append(li);
    pending.push(p);
    return p;
  }

  const thumbEl = (src) => h('img', { class: 'reply-file-thumb', alt: '', src, 'data-testid': 'reply-file-thumb' });

  function addOne(file) {
    const name = String(file.name || 'file');
    const kind = kindOf(file.type);
    const thumb = kind === 'image' ? thumbEl(null) : null;
    const p = Object.assign(item(name, kind, file.size, thumb), { file });
    if (thumb) {
      thumbUrl(file).then((url) => {
        if (url) thumb.src = url;
        else thumb.replaceWith(fileIcon('image'));
      });
    }
    setState(p, 'waiting', 'Waiting…');
    if (file.size === 0) {
      setState(p, 'error', `${name} is empty.`);
      p.promise = Promise.reject(new Error(p.note.textContent));
    } else if (file.size > MAX_BYTES) {
      setState(p, 'error', `${name} is too large: files can be up to ${humanSize(MAX_BYTES)}.`);
      p.promise = Promise.reject(new Error(p.note.textContent));
    } else {
      p.promise = queue.then(() => upload(p)).then((id) => {
        if (id === null) return null;
        p.id = id;
        setState(p, 'done', ready);
        return id;
      }, (e) => {
        if (isAbort(e) || p.ctrl.signal.aborted) return null;
        setState(p, 'error', uploadError(e, name));
        say(p.note.textContent);
        throw new Error(p.note.textContent);
      });
      queue = p.promise.catch(() => {});
    }
    p.promise.catch(() => {}); // told in the list; ids() says it again
    return p;
  }

  // A file on the server already: its picture from its url (an image), ready.
  function addKeptOne(a) {
    const name = String(a.name || 'file');
    const kind = kindOf(a.type);
    const src = kind === 'image' ? openUrl(a.url) : null;
    const thumb = src ? thumbEl(src) : null;
    if (thumb) thumb.addEventListener('error', () => thumb.replaceWith(fileIcon('image')), { once: true });
    const p = item(name, kind, a.size, thumb);
    p.id = String(a.id);
    p.promise = Promise.resolve(p.id);
    setState(p, 'done', kept);
  }

  // Of all, what room leaves (MAX_FILES in all), the rest said; then shown.
  function take(all, one) {
    const room = MAX_FILES - pending.length;
    const taken = all.slice(0, Math.max(0, room));
    for (const x of taken) one(x);
    show();
    const left = all.length - taken.length;
    if (left > 0) say(`At most ${MAX_FILES} files a message: ${left === 1 ? 'one was' : `${left} were`} not added.`);
    return taken;
  }

  function add(files) {
    const all = Array.from(files || []);
    if (!all.length) return 0;
    const taken = take(all, addOne);
    if (taken.length === all.length) say(taken.length === 1 ? `${taken[0].name || 'A file'} added.` : `${taken.length} files added.`);
    return taken.length;
  }

  function addKept(files, from = '') {
    const all = (Array.isArray(files) ? files : [])
      .filter((a) => a && a.id && !pending.some((p) => p.id === String(a.id)));
    if (!all.length) return 0;
    const taken = take(all, addKeptOne);
    if (taken.length === all.length) say(`${plural(taken.length, 'file', 'files')}${from ? ` of ${from}` : ''} added.`);
    return taken.length;
  }

  async function ids() {
    const now = pending.slice();
    const got = await Promise.allSettled(now.map((p) => p.promise));
    const bad = got.find((g) => g.status === 'rejected');
    if (bad) throw new Error(`${bad.reason.message} Remove it to ${rest}.`);
    // removed while uploading: left out
    return now.filter((p) => pending.includes(p) && p.id).map((p) => p.id);
  }

  function sent(done) {
    for (const p of pending.filter((x) => x.id && done.includes(x.id))) p.li.remove();
    pending = pending.filter((x) => !(x.id && done.includes(x.id)));
    show();
  }

  function reset() {
    for (const p of pending) drop(p);
    pending = [];
    clear(list);
    show();
  }
  ctx.onLeave(reset);

  return { button, input, list, add, addKept, count: () => pending.length, ids, sent, reset };
}

/**
 * The files of a reply to conversation convId (fileStrip); say(text) tells
 * the reply's status line, changed(count) when the list changes.
 */
export function replyFiles(ctx, convId, say, changed) {
  return fileStrip(ctx, endpoints.convAttachments(convId), { say, changed });
}

/*
 * Files dropped on el (a drop target while dragging files over it: class
 * is-dragover) or pasted into paste (a text box: a paste holding files
 * gives the files, not their names as text) go to add(files).
 */
export function takeFiles(el, paste, add) {
  const hasFiles = (ev) => ev.dataTransfer && Array.from(ev.dataTransfer.types || []).includes('Files');
  let depth = 0;
  el.addEventListener('dragenter', (ev) => {
    if (!hasFiles(ev)) return;
    depth += 1;
    el.classList.add('is-dragover');
  });
  el.addEventListener('dragover', (ev) => {
    if (!hasFiles(ev)) return;
    ev.preventDefault();
    ev.dataTransfer.dropEffect = 'copy';
  });
  el.addEventListener('dragleave', (ev) => {
    if (!hasFiles(ev)) return;
    depth = Math.max(0, depth - 1);
    if (!depth) el.classList.remove('is-dragover');
  });
  el.addEventListener('drop', (ev) => {
    depth = 0;
    el.classList.remove('is-dragover');
    if (!hasFiles(ev)) return;
    ev.preventDefault();
    add(ev.dataTransfer.files);
  });
  paste.addEventListener('paste', (ev) => {
    const files = ev.clipboardData ? Array.from(ev.clipboardData.files || []) : [];
    if (!files.length) return;
    ev.preventDefault();
    add(files);
  });
}
