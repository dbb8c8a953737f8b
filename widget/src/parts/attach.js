// Part "attach" (data-widget mode): files in the chat (docs/attachments.md).
//
// Loaded at mount when the widget's config has attachment_types (the
// visitor may attach), and by the first frame that carries `attachments`
// (a `history`, a person's `message`): shown on any widget.
//
// Attaching: a paperclip button beside the text area opens the file picker
// (only the widget's types); a file dropped on the panel, or pasted (a
// screenshot), is attached too. Each file is checked here first (its type,
// attachment_max_mb, at most 5) and refused in words without any request;
// else its upload starts at once: POST {name, size}, then PUT pieces of
// piece_size in order (Content-Range), each with the session token in
// X-Parley-Session. A strip above the composer shows each file (an image's
// thumbnail, drawn on a canvas: no blob: URL for the page's CSP to refuse;
// else a card), its progress (the bytes the server acknowledged), a
// refusal (the server's status, said in the visitor's language) and × (an
// upload given up is deleted). Send waits while one uploads; a message
// may be files alone.
//
// The core calls what this returns: att(u) when a message goes (the ids
// of the files ready, which then show in u, the visitor's bubble; the
// strip empties), att() after a frame with files (each message whose
// el.d has `attachments` shows them: an image inline, a link to it in a
// new tab; another file as a card, a download link). att.busy: an upload
// is running; att.n: the files ready.
import CSS from './attach.css';

// This part's texts (English; every src/lang/<code>.js has them too),
// in ctx.T once given to ctx.text.
const TEXT = {
  labelAttach: 'Attach a file',
  labelRemove: 'Remove {name}',
  fileBig: 'Too large: at most {count} MB.',
  fileType: 'This type of file cannot be sent.',
  fileMany: 'At most 5 files per message.',
  fileRefused: 'Refused by the virus check.',
  fileWait: 'Too many uploads. Try again in {seconds} s.',
  fileFull: 'No room for files now.',
  fileFailed: 'Upload failed.',
};

// attachment_types → the types the picker offers and the widget takes; a
// text file by its name too (the server judges text by its bytes): browsers
// type a CSV text/csv (Excel's type on Windows), Markdown text/markdown,
// JSON application/json, a log often nothing
const KINDS = {
  image: ['image/png', 'image/jpeg', 'image/gif', 'image/webp'],
  pdf: ['application/pdf'],
  text: ['text/plain', '.txt', '.text', '.csv', '.tsv', '.log', '.md', '.json'],
};
const MAX = 5; // files a message may name
const TEXT_MAX = 262144; // bytes of a text file (docs/attachments.md)
const MB = 1048576;
const IMAGE_RE = /^image\/(png|jpeg|gif|webp)$/;
const ICON_CLIP = 'M21.4 11l-9.2 9.2a6 6 0 0 1-8.5-8.5l9.2-9.2a4 4 0 0 1 5.7 5.7l-9.2 9.2a2 2 0 0 1-2.8-2.8l8.5-8.5';
const ICON_FILE = 'M14 3H6a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V9zM14 3v6h6';
const ICON_X = 'M6 6l12 12M18 6L6 18';

export default function (ctx) {
  const { h, icon, on, cfg, root, panel, composer, input, list } = ctx;
  const T = ctx.text(TEXT);
  ctx.css(CSS);
  const origin = new URL(ctx.base).origin;
  const kinds = (Array.isArray(cfg.attachment_types) ? cfg.attachment_types : []).filter((k) => KINDS[k]);
  const types = [].concat(...kinds.map((k) => KINDS[k]));
  const maxMb = cfg.attachment_max_mb > 0 ? +cfg.attachment_max_mb : 10;

  // 482113 → "471 kB", in the widget's language
  const size = (n) => {
    const [v, unit] = n < 1024 ? [n, 'byte'] : n < MB ? [n / 1024, 'kilobyte'] : [n / MB, 'megabyte'];
    try {
      // ("33 bytes", "586 kB", "1.4 MB")
      return new Intl.NumberFormat(root.lang, { style: 'unit', unit, unitDisplay: n < 1024 ? 'long' : 'short', maximumFractionDigits: v < 10 ? 1 : 0 }).format(v);
    } catch (e) {
      return Math.round(v) + ' ' + unit[0].toUpperCase() + (unit === 'byte' ? '' : 'B');
    }
  };
  const num = (n) => new Intl.NumberFormat(root.lang, { maximumFractionDigits: 2 }).format(n);

  // ---- showing a message's files -------------------------------------------
  // The server's link (a path on it), or null for anything else.
  const link = (u) => {
    if (typeof u !== 'string' || u[0] !== '/' || u[1] === '/') return null;
    const url = new URL(u, origin);
    return url.origin === origin ? url.href : null;
  };

  // A file that is not shown inline: its icon, name and size, a download link.
  function card(a, href) {
    const kids = [icon(ICON_FILE, 1), h('span', { 'data-part': 'file-name', dir: 'auto' }, a.name), h('small', 0, size(a.size))];
    return href
      ? h('a', { 'data-part': 'file', href, download: a.name, target: '_blank', rel: 'noopener noreferrer' }, kids)
      : h('span', { 'data-part': 'file' }, kids);
  }

  // The list stays at its end when an image that loads makes it taller.
  const grown = (el) => {
    if (list.scrollHeight - list.scrollTop - list.clientHeight - el.offsetHeight < 48) list.scrollTop = list.scrollHeight;
  };

  function file(x) {
    const a = { name: String(x.name || 'file'), size: +x.size || 0, type: String(x.type || '') };
    const href = link(x.url);
    if (!href || !IMAGE_RE.test(a.type)) return card(a, href);
    const img = h('img', { src: href, alt: a.name, loading: 'lazy', decoding: 'async' });
    const el = h('a', { 'data-part': 'file-image', href, target: '_blank', rel: 'noopener noreferrer' }, img);
    on(img, 'load', () => grown(img));
    // not loaded (the page's CSP, a link expired): the card, still a link
    on(img, 'error', () => el.replaceWith(card(a, href)));
    return el;
  }

  // Each message (the chat's, and an earlier conversation's) whose frame
  // (el.d) has files, not yet shown.
  function scan() {
    root.querySelectorAll('[data-part=message]').forEach((el) => {
      const d = el.d;
      const fs = d && Array.isArray(d.attachments) ? d.attachments.filter((x) => x && typeof x === 'object').slice(0, MAX) : [];
      if (el.files || !fs.length) return;
      el.files = el.appendChild(h('div', { 'data-part': 'files' }, fs.map(file)));
      // a person's message as it comes: its files said too
      if (d.type === 'message') ctx.announce((d.name || T.agentName) + ': ' + [d.content].concat(fs.map((x) => x.name)).filter(Boolean).join(', '));
    });
  }

  // ---- attaching ---------------------------------------------------------------
  const pending = []; // {f, el, state: 'wait'|'up'|'done'|'error'|'gone', id, ac, bar, thumb, big}
  let given = null; // {u, ready}: the files of a message given back (u.back), until the next history
  function att(u) {
    if (!u) return scan();
    const ready = pending.filter((p) => p.state === 'done');
    const ids = ready.map((p) => p.id);
    if (ids.length) u.appendChild((u.files = h('div', { 'data-part': 'files' }, ready.map(sent))));
    pending.slice().forEach((p) => drop(p, 1));
    // the socket lost before the server had the message (the core's
    // onclose): its files go back in the strip, to go with it again
    u.back = () => {
      ready.forEach((p) => (pending.push(p), (p.state = 'done'), strip.append(p.el)));
      update();
      given = { u, ready };
    };
    // (a toJSON of its own that is none: a page's Array.prototype.toJSON,
    // Prototype.js's, would make the message frame's list a string)
    return ids.length ? Object.assign(ids, { toJSON: undefined }) : undefined;
  }
  const update = () => {
    att.busy = pending.some((p) => p.state === 'wait' || p.state === 'up');
    att.n = pending.filter((p) => p.state === 'done').length;
    strip.hidden = !pending.length;
    ctx.sync();
  };

  // What the visitor's own bubble shows of a file sent: the image as drawn
  // for it, or its card (the history brings the server's links).
  function sent(p) {
    if (!p.big) return card(p.f);
    p.big.setAttribute('data-part', 'file-image');
    return p.big;
  }

  // An image's bitmap drawn on a canvas of at most w × ht, named by the file.
  function draw(bmp, w, ht, name) {
    const k = Math.min(1, w / bmp.width, ht / bmp.height);
    const c = h('canvas', { width: Math.max(1, Math.round(bmp.width * k)), height: Math.max(1, Math.round(bmp.height * k)), role: 'img', 'aria-label': name });
    c.getContext('2d').drawImage(bmp, 0, 0, c.width, c.height);
    return c;
  }

  const strip = h('ul', { 'data-part': 'pending', hidden: true });
  const picker = h('input', { type: 'file', multiple: true, accept: types.join(','), hidden: true, tabindex: -1, 'aria-hidden': 'true' });
  const btn = h('button', { type: 'button', 'data-part': 'attach', 'aria-label': T.labelAttach, title: T.labelAttach }, icon(ICON_CLIP, 1));
  const base = ctx.base + '/attachments';
  const headers = (x) => Object.assign({ 'X-Parley-Session': ctx.sid() || '' }, x);

  // One file chosen, dropped or pasted: checked, shown, uploaded.
  function add(f) {
    const name = f.name || 'file';
    const p = { f, state: 'wait', ac: new AbortController() };
    const info = h('small', { 'data-part': 'file-size' }, size(f.size));
    p.bar = h('span', { 'data-part': 'progress', role: 'progressbar', 'aria-label': name, 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': 0 }, h('span'));
    const x = h('button', { type: 'button', 'data-part': 'file-remove', 'aria-label': T.labelRemove.replace('{name}', () => name), title: T.labelRemove.replace('{name}', () => name) }, icon(ICON_X, 1));
    p.thumb = h('span', { 'data-part': 'thumb', 'aria-hidden': 'true' }, icon(ICON_FILE, 1)); // (the name says it)
    p.el = h('li', { 'data-part': 'pending-file', 'data-state': 'up' }, [
      p.thumb,
      h('span', { 'data-part': 'file-info' }, [h('span', { 'data-part': 'file-name', dir: 'auto' }, name), info]),
      p.bar,
      x,
    ]);
    on(x, 'click', () => {
      const next = p.el.nextElementSibling || p.el.previousElementSibling;
      drop(p);
      (next ? next.querySelector('[data-part=file-remove]') : input).focus();
    });
    pending.push(p);
    strip.append(p.el);
    // its kind: by its type, else a text file's by its name's extension
    const ext = (/\.\w+$/.exec(name) || [''])[0].toLowerCase();
    const kind = kinds.find((k) => KINDS[k].indexOf(f.type) >= 0) || (kinds.indexOf('text') >= 0 && KINDS.text.indexOf(ext) >= 0 && 'text');
    const limit = Math.min(maxMb * MB, kind === 'text' ? TEXT_MAX : Infinity);
    const why =
      !kind
        ? T.fileType
        : f.size > limit
          ? T.fileBig.replace('{count}', num(limit / MB))
          : !f.size
            ? T.fileFailed
            : pending.filter((q) => q.state !== 'error').length > MAX
              ? T.fileMany
              : '';
    if (why) return refuse(p, why);
    // Drawn once, the thumbnail and the bubble's (240 CSS px at most, twice
    // that in pixels for sharp screens); the decoded image is let go.
    if (IMAGE_RE.test(f.type) && window.createImageBitmap)
      createImageBitmap(f).then(
        (bmp) => {
          if (p.state !== 'gone') {
            p.thumb.replaceChildren(draw(bmp, 96, 96, name));
            p.big = draw(bmp, 480, 480, name);
          }
          bmp.close();
        },
        () => 0 // not an image after all: the server will say
      );
    upload(p);
  }

  // Refused (here, or by the server): said in the strip, sent nowhere.
  function refuse(p, why) {
    if (p.state === 'gone') return;
    p.state = 'error';
    p.el.setAttribute('data-state', 'error');
    p.bar.remove();
    p.el.append(h('small', { 'data-part': 'file-error', role: 'alert' }, why));
    update();
  }

  // Given up (×, sent, reset): its upload stopped, and deleted on the
  // server unless a message took it (sent).
  function drop(p, sent) {
    const i = pending.indexOf(p);
    if (i >= 0) pending.splice(i, 1);
    p.ac.abort();
    if (p.id && !sent) fetch(base + '/' + p.id, { method: 'DELETE', headers: headers(), credentials: 'omit' }).catch(() => 0);
    p.state = 'gone';
    p.el.remove();
    update();
  }

  // The server's refusal in the visitor's words.
  function told(r, j) {
    const s = r ? r.status : 0;
    if (s === 413) return T.fileBig.replace('{count}', num((+j.max_bytes || maxMb * MB) / MB));
    if (s === 403 || s === 415) return T.fileType;
    if (s === 422) return T.fileRefused;
    if (s === 429) return T.fileWait.replace('{seconds}', +r.headers.get('Retry-After') || 60);
    if (s === 507) return T.fileFull;
    return T.fileFailed;
  }

  // A request of p's upload (ac: its own, which a new upload of p aborts).
  const call = (url, method, hdrs, body, ac) =>
    fetch(url, { method, headers: headers(hdrs), body, credentials: 'omit', signal: ac.signal }).then(async (r) => [r, await r.json().catch(() => ({}))]);

  // p's progress bar at pc (0 to 100)
  const progress = (p, pc) => (p.bar.setAttribute('aria-valuenow', pc), p.bar.style.setProperty('--p', pc + '%'));

  // One upload at a time: a piece is as large as what the server lets one
  // client send at once (PARLEY_MAX_BODY_KB_PER_CLIENT), so two side by
  // side refused each other's pieces (429). An upload given up, or begun
  // again (p.ac replaced), before its turn is skipped.
  let line = Promise.resolve();
  function upload(p) {
    const ac = p.ac;
    const run = line.then(() => p.ac === ac && p.state !== 'gone' && send(p));
    line = run.catch(() => 0);
  }

  // Sends p (again, from its start, when it was before).
  async function send(p) {
    const f = p.f;
    const ac = p.ac;
    p.state = 'up';
    p.id = null;
    p.el.setAttribute('data-state', 'up');
    progress(p, 0);
    update();
    try {
      // no token yet: the socket's session first
      if (!ctx.sid()) await session();
      const ask = () => ((p.sid = ctx.sid()), call(base, 'POST', { 'Content-Type': 'application/json' }, JSON.stringify({ name: f.name || 'file', size: f.size }), ac));
      let [r, j] = await ask();
      // a stored token the server no longer knows: the socket's new one
      if (r.status === 401) [r, j] = await session().then(ask);
      if (p.ac !== ac) return; // a new upload of it goes on
      if (r.status !== 201 || typeof j.id !== 'string') return refuse(p, told(r, j));
      p.id = j.id;
      const step = j.piece_size > 0 ? j.piece_size : 262144;
      let at = 0;
      let tries = 0;
      let waits = 0;
      for (;;) {
        const end = Math.min(at + step, f.size);
        [r, j] = await call(base + '/' + p.id, 'PUT', { 'Content-Range': 'bytes ' + at + '-' + (end - 1) + '/' + f.size }, f.slice(at, end), ac);
        if (p.ac !== ac) return;
        // Another tab (or visitor behind the same address) sends too: the
        // piece again once the server says, for a minute at most (a wait
        // longer than that, as for the PDFs an hour, is told at once).
        if (r.status === 429 && (+r.headers.get('Retry-After') || 1) <= 60 && waits++ < 20) {
          await new Promise((ok) => setTimeout(ok, 1000 * Math.min(+r.headers.get('Retry-After') || 1, 3)));
          if (p.ac !== ac) return;
          continue;
        }
        if (r.status === 409 && j.received >= 0 && j.received < f.size && tries++ < 3) {
          at = j.received; // the server has more (or less): from there
          continue;
        }
        if (!r.ok) {
          if (r.status !== 415) fetch(base + '/' + p.id, { method: 'DELETE', headers: headers(), credentials: 'omit' }).catch(() => 0);
          p.id = null;
          return refuse(p, told(r, j));
        }
        at = j.received >= 0 ? j.received : end;
        progress(p, Math.round((100 * at) / f.size));
        if (j.complete || at >= f.size) break;
      }
      p.state = 'done';
      p.el.setAttribute('data-state', 'done');
      update();
    } catch (e) {
      // (aborted for a new upload of it: that one goes on)
      if (p.state === 'up' && p.ac === ac) refuse(p, T.fileFailed);
    }
  }

  // the socket's next session token (uploads wait for it)
  const waiting = [];
  const session = () => new Promise((r) => setTimeout(r, 15000, waiting.push(r)));
  ctx.onFrame('session', () => {
    waiting.splice(0).forEach((r) => r());
    // A new session (the old one was never stored: its socket went before
    // a first message): what was uploaded under the old one, which the
    // server knows by its session, goes up again under it.
    pending.forEach((p) => {
      if (p.sid && p.sid !== ctx.sid() && (p.state === 'up' || p.state === 'done')) {
        p.ac.abort();
        p.ac = new AbortController();
        upload(p);
      }
    });
  });
  // The history after the socket came back: a message given back that it
  // holds (by the cid the core sent it with) was stored after all, only
  // its answer lost: its files leave the strip, as its words the text area.
  ctx.onFrame('history', (f) => {
    if (!f.readonly && given && Array.isArray(f.messages) && f.messages.some((m) => m && m.cid === given.u.cid)) given.ready.forEach((p) => drop(p, 1));
    if (!f.readonly) given = null;
  });

  const take = (files) => {
    if (!kinds.length || input.disabled || root.hasAttribute('data-convs')) return;
    [].slice.call(files || []).forEach(add);
  };

  if (kinds.length) {
    composer.insertBefore(btn, input);
    composer.append(picker);
    panel.insertBefore(strip, composer);
    on(btn, 'click', () => picker.click());
    on(picker, 'change', () => {
      take(picker.files);
      picker.value = '';
    });
    // dropped on the panel
    const hasFiles = (e) => e.dataTransfer && [].indexOf.call(e.dataTransfer.types || [], 'Files') >= 0;
    on(panel, 'dragover', (e) => {
      if (!hasFiles(e) || input.disabled) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
      panel.setAttribute('data-drop', '');
    });
    on(panel, 'dragleave', (e) => panel.contains(e.relatedTarget) || panel.removeAttribute('data-drop'));
    on(panel, 'drop', (e) => {
      panel.removeAttribute('data-drop');
      if (!hasFiles(e)) return;
      e.preventDefault();
      take(e.dataTransfer.files);
    });
    // pasted (a screenshot): the files only, text pastes as text
    on(panel, 'paste', (e) => {
      const fs = e.clipboardData && e.clipboardData.files;
      if (!fs || !fs.length) return;
      e.preventDefault();
      take(fs);
    });
    // the text area disabled (the chat gone, a setup failure): so is this
    new MutationObserver(() => (btn.disabled = input.disabled)).observe(input, { attributes: true, attributeFilter: ['disabled'] });
    btn.disabled = input.disabled;
    // a new session: the uploads were the old one's
    on(ctx.host, 'parley:reset', () => pending.slice().forEach((p) => drop(p)));
  }
  update();
  scan();
  return att;
}
