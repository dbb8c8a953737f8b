// Knowledge (#/knowledge; admins and owners): the organisation's knowledge
// sources with their status (a progress bar while one syncs, read again
// every few seconds until none does), pages and chunks; Sync now, Pages
// (each page's status and error), Delete after a confirmation; a new
// source: a site to crawl, a file to upload (HTML, Markdown, text, PDF) or
// a question and its answer; "Test a question": the passages the
// search finds (in all the sources, or as one agent would search: only
// its own sources when it was given some), their scores, and which ones
// a turn's model would get;
// and the knowledge gaps in short: how many questions went unanswered
// lately, the most asked, and the way to #/knowledge/gaps (gaps.js);
// above the list, what the organisation's knowledge base holds of its
// quota (PARLEY_KB_QUOTA_MB), with a word when it is nearly full.

import { api, endpoints, isAbort } from './api.js';
import { loadAgents, agentLabel } from './agents.js';
import { h, clear, confirmDialog, pageTitle, cardTable, relTimeEl, plural, preview, viewError } from './dom.js';
import { formErrors, parseFieldError, markSaved, wide } from './form.js';
import { humanSize } from './attach.js';

const POLL_MS = 2000; // the list read again while a source syncs
const GAP_DAYS = 30; // the days the unanswered questions are counted over
const GAPS_SHOWN = 3; // the most asked unanswered questions the page names
const PROMPT_PASSAGES = 5; // what a turn puts in the prompt (workerd/chat/turn.c)

const STATUS = {
  syncing: ['Syncing', 'badge-warn'],
  ready: ['Ready', 'badge-ok'],
  failed: ['Failed', 'badge-danger'],
};
const TYPES = { crawl: 'Site', file: 'File', qa: 'Q&A' };

const FILE_MAX = 7 * 1024 * 1024; // the server's bound on one file
const TYPES_OF = { md: 'text/markdown', markdown: 'text/markdown', txt: 'text/plain', pdf: 'application/pdf', html: 'text/html', htm: 'text/html' };

/* The Content-Type a chosen file is sent with. */
function fileType(f) {
  return f.type || TYPES_OF[(f.name.split('.').pop() || '').toLowerCase()] || 'text/plain';
}

/*
 * A file source whose file has not all arrived (its upload cut by a
 * reload, a closed tab): syncing, but nothing is due until it does.
 */
function waitsForFile(s) {
  return s.type === 'file' && s.status === 'syncing' && !s.next_sync_at;
}

/* What a source is, in a few words. */
function label(s) {
  if (s.type === 'qa') return s.question || '';
  return s.name || s.url || '';
}

function statusCell(s) {
  if (waitsForFile(s)) {
    return h('td', { 'data-label': 'Status' }, h('div', null,
      h('span', { class: 'badge badge-warn', 'data-testid': 'source-status' }, 'Waiting for its file'),
      h('p', { class: 'hint', 'data-testid': 'source-error' }, 'Its upload has not finished: if it was cut short, upload the file again.')));
  }
  const [text, cls] = STATUS[s.status] || [s.status, ''];
  const kids = [h('span', { class: `badge ${cls}`, 'data-testid': 'source-status' }, text)];
  if (s.status === 'syncing') {
    const max = s.max_pages || 0;
    kids.push(h('progress', max ? { max: String(max), value: String(s.pages), 'aria-label': `${s.pages} pages read` }
      : { 'aria-label': 'Syncing' }));
  }
  if (s.status === 'failed' && s.error) kids.push(h('p', { class: 'field-error', 'data-testid': 'source-error' }, s.error));
  // Ready with an error: a part of the site not read this time, its pages kept.
  if (s.status === 'ready' && s.error) {
    kids.push(h('p', { class: 'hint', 'data-testid': 'source-error' }, `Partly read, earlier pages kept: ${s.error}`));
  }
  // one child: the cell is a grid of its label and its value on a phone
  return h('td', { 'data-label': 'Status' }, h('div', null, ...kids));
}

/* The pages of source s, under its row. */
async function pagesBox(s) {
  const tbody = h('tbody');
  const box = h('div', { class: 'table-wrap', 'data-testid': 'source-pages' },
    cardTable(`Pages of ${label(s)}`, ['Page', 'Status', 'Chunks'], tbody));
  let cursor = '';
  for (let i = 0; i < 10; i++) {
    const d = await api(endpoints.knowledgePages(s.id, cursor));
    for (const p of d.pages) {
      const bad = p.error ? h('p', { class: 'field-error' }, p.error) : null;
      tbody.append(h('tr', { 'data-testid': 'page-row' },
        h('td', { 'data-label': 'Page' }, /^https?:/.test(p.url) ? h('a', { href: p.url, target: '_blank', rel: 'noopener noreferrer' }, p.title || p.url) : p.url, bad),
        h('td', { 'data-label': 'Status' }, p.status_code ? String(p.status_code) : '-'),
        h('td', { 'data-label': 'Chunks' }, String(p.chunks))));
    }
    if (!d.next_cursor) break;
    cursor = d.next_cursor;
  }
  return box;
}

/* The form of a new source. */
function sourceForm(onSaved) {
  const controls = {};
  const { formError, field, clearErrors, showErrors } = formErrors(controls);
  const type = h('select', {}, h('option', { value: 'crawl' }, 'A site to crawl'),
    h('option', { value: 'qa' }, 'A question and its answer'), h('option', { value: 'file' }, 'A file'));
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'source-save' }, 'Add source');
  const status = h('p', { class: 'save-status', role: 'status', 'data-testid': 'source-form-status' });
  const parts = {
    crawl: wide(field('url', 'Start URL or sitemap', h('input', { type: 'text', inputmode: 'url', spellcheck: 'false', maxlength: '2048', placeholder: 'https://docs.example.com/' }),
      'Its pages under this address are read, links followed; robots.txt is honoured.')),
    question: wide(field('question', 'Question', h('input', { type: 'text', maxlength: '300' }))),
    answer: field('answer', 'Answer', h('textarea', { rows: '4', maxlength: '8192' })),
    file: field('file', 'File', h('input', { type: 'file', accept: '.html,.htm,.md,.markdown,.txt,.pdf' }),
      'HTML, Markdown, plain text or PDF, at most 7 MiB.'),
  };
  const form = h('form', { class: 'widget-form', 'data-testid': 'source-form', 'data-guard': true, novalidate: true, 'aria-labelledby': 'source-form-title' },
    h('h2', { id: 'source-form-title' }, 'New source'), formError,
    field('type', 'Type', type), parts.crawl, parts.question, parts.answer, parts.file,
    h('div', { class: 'form-actions' }, submit, status));

  function show() {
    const t = type.value;
    parts.crawl.hidden = t !== 'crawl';
    parts.question.hidden = parts.answer.hidden = t !== 'qa';
    parts.file.hidden = t !== 'file';
  }
  type.addEventListener('change', show);
  show();

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const t = type.value;
    const body = { type: t };
    const errors = {};
    const f = controls.file.files && controls.file.files[0];
    if (t === 'crawl' && !(body.url = controls.url.value.trim())) errors.url = 'Enter the site\'s address.';
    if (t === 'qa') {
      if (!(body.question = controls.question.value.trim())) errors.question = 'Enter the question.';
      if (!(body.answer = controls.answer.value.trim())) errors.answer = 'Enter the answer.';
    }
    if (t === 'file') {
      if (!f) errors.file = 'Choose a file.';
      else if (f.size > FILE_MAX) errors.file = 'A file of at most 7 MiB.';
      else body.url = f.name;
    }
    if (Object.keys(errors).length) return showErrors(errors);
    clearErrors();
    submit.disabled = true;
    try {
      const s = await api(endpoints.knowledgeSources, { method: 'POST', body });
      if (t === 'file') {
        try {
          await upload(s.id, f, fileType(f), status);
        } catch (e) {
          // No source left waiting for a file that never came.
          await api(endpoints.knowledgeSource(s.id), { method: 'DELETE' }).catch(() => {});
          throw e;
        }
      }
      form.reset();
      markSaved(form);
      show();
      status.textContent = `Added ${label(s) || TYPES[t]}.`;
      onSaved();
    } catch (e) {
      if (isAbort(e)) return;
      const fe = e.status === 400 ? parseFieldError(e.message) : null;
      if (fe && controls[fe.field]) showErrors({ [fe.field]: fe.message });
      // The body bound a client may have in flight, even for the smallest piece.
      else if (t === 'file' && e.status === 429) {
        showErrors({ file: 'The server refused even a small piece of this file from this browser: '
          + 'other uploads may be running, or PARLEY_MAX_BODY_KB_PER_CLIENT is set very low.' });
      }
      else showErrors({}, `Could not add the source: ${e.message}`);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

/*
 * A file source's file: at once when small, else in pieces (Content-Range)
 * that each fit what the server reads from one client at a time
 * (PARLEY_MAX_BODY_KB_PER_CLIENT, 256 KiB by default); refused for that
 * (429), the pieces get smaller. The server joins them after the last.
 */
const PIECE = 192 * 1024;
const PIECE_MIN = 12 * 1024; // under the smallest budget the server allows (16 KiB)

async function upload(id, f, type, status) {
  const path = endpoints.knowledgeFile(id);
  if (f.size <= PIECE) return api(path, { method: 'PUT', raw: f, type });
  let piece = PIECE;
  for (let at = 0; at < f.size;) {
    const end = Math.min(at + piece, f.size);
    try {
      await api(path, { method: 'PUT', raw: f.slice(at, end), type,
        headers: { 'Content-Range': `bytes ${at}-${end - 1}/${f.size}` } });
    } catch (e) {
      if (e.status === 429 && piece > PIECE_MIN) {
        piece = Math.max(PIECE_MIN, Math.floor(piece / 2));
        continue;
      }
      // Not where the server's pieces end (a piece lost on the way): from there.
      if (e.status === 409 && e.body && Number.isInteger(e.body.received) && e.body.received < at) {
        at = e.body.received;
        continue;
      }
      throw e;
    }
    at = end;
    status.textContent = `Uploading ${f.name}: ${Math.floor((100 * at) / f.size)}%`;
  }
  return null;
}

/*
 * "Test a question": the passages found, their scores, the model's share;
 * searched in all the sources, or in those an agent reads (its own
 * sources when it was given some), as its turns would search.
 */
function testBox(ctx) {
  const input = h('input', { type: 'text', id: 'kb-query', maxlength: '2000', 'data-testid': 'kb-query' });
  const agent = h('select', { id: 'kb-agent', 'data-testid': 'kb-agent' }, h('option', { value: '' }, 'All sources'));
  const list = h('ol', { class: 'kb-results', 'data-testid': 'kb-results' });
  const note = h('p', { class: 'hint', role: 'status', 'data-testid': 'kb-note' });
  const form = h('form', { class: 'widget-form', 'data-testid': 'kb-test', 'aria-labelledby': 'kb-test-title' },
    h('h2', { id: 'kb-test-title' }, 'Test a question'),
    h('div', { class: 'field' }, h('label', { for: 'kb-query' }, 'Question'), input),
    h('div', { class: 'field' }, h('label', { for: 'kb-agent' }, 'As the agent'), agent,
      h('p', { class: 'hint' }, 'What that agent would find: only its own sources when it was given some.')),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn' }, 'Search')), note, list);
  // The agents to choose from (the default one by the name the server takes for it).
  loadAgents(ctx.signal).then((as) => {
    for (const a of as) agent.append(h('option', { value: a.is_default ? 'default' : a.id }, agentLabel(a)));
  }, () => {});
  // Each question numbered: an earlier one answered late shows nothing.
  let seq = 0;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const query = input.value.trim();
    if (!query) return;
    const mySeq = ++seq;
    clear(list);
    const body = { query, k: 10 };
    if (agent.value) body.agent_id = agent.value;
    try {
      const { results } = await api(endpoints.knowledgeSearch, { method: 'POST', body });
      if (mySeq !== seq) return;
      note.textContent = results.length ? `${results.length} passages found; the model would get the first ${Math.min(PROMPT_PASSAGES, results.length)}.`
        : 'Nothing found: an agent that answers only from its sources would say it does not know.';
      results.forEach((r, i) => list.append(h('li', { 'data-testid': 'kb-result', 'data-prompt': String(i < PROMPT_PASSAGES) },
        h('strong', {}, r.title || r.url || 'Untitled'), ` (score ${r.score.toFixed(2)}${i < PROMPT_PASSAGES ? ', in the prompt' : ''})`,
        r.headings ? h('span', { class: 'hint' }, ` ${r.headings}`) : null,
        h('p', { class: 'cell-preview' }, preview(r.text, 240)))));
    } catch (e) {
      if (!isAbort(e) && mySeq === seq) note.textContent = `Could not search: ${e.message}`;
    }
  });
  return form;
}

/*
 * "Knowledge gaps": how many questions went unanswered in the last 30
 * days, the most asked few (each linking to its latest conversation) and
 * the way to the page that answers them (#/knowledge/gaps).
 */
function gapsBox(ctx) {
  const list = h('ul', { class: 'kb-gaps', 'data-testid': 'kb-gaps' });
  const note = h('p', { class: 'hint', 'data-testid': 'kb-gaps-note' }, 'Loading…');
  const box = h('section', { class: 'widget-form', 'aria-labelledby': 'kb-gaps-title', 'data-testid': 'kb-gaps-box' },
    h('h2', { id: 'kb-gaps-title' }, 'Knowledge gaps'),
    h('p', { class: 'hint' }, 'Questions the assistant could not answer: write their answers, as Q&A pairs or canned replies.'),
    note, list,
    h('p', null, h('a', { href: '#/knowledge/gaps', 'data-testid': 'kb-gaps-link' }, 'See all the knowledge gaps and answer them')));
  (async () => {
    try {
      const d = await api(endpoints.knowledgeGaps({ days: GAP_DAYS }), { signal: ctx.signal });
      const groups = Array.isArray(d.groups) ? d.groups : [];
      const total = Number.isInteger(d.total) ? d.total : groups.reduce((n, g) => n + (g.count || 0), 0);
      for (const g of groups.slice(0, GAPS_SHOWN)) {
        const ex = Array.isArray(g.examples) && g.examples[0];
        const text = preview(g.question, 200);
        list.append(h('li', { 'data-testid': 'kb-gap' },
          h(ex ? 'a' : 'span', { href: ex ? `#/conversations/${encodeURIComponent(ex.conversation_id)}` : null, dir: 'auto' }, text),
          ' ', h('span', { class: 'kb-gap-meta' }, `asked ${plural(g.count || 0, 'time', 'times')}, last `, relTimeEl(g.last_at))));
      }
      note.textContent = groups.length
        ? `${plural(total, 'question', 'questions')}${d.truncated ? ' or more' : ''} in the last ${GAP_DAYS} days went unanswered`
          + `${groups.length > GAPS_SHOWN ? `; the ${GAPS_SHOWN} most asked:` : ':'}`
        : `None in the last ${GAP_DAYS} days: every question found an answer.`;
    } catch (e) {
      if (!isAbort(e)) note.textContent = `Could not read them: ${e.message}`;
    }
  })();
  return box;
}

export async function renderList(main, ctx) {
  ctx.setTitle('Knowledge');
  const error = viewError(null, { hidden: true });
  const status = h('p', { class: 'save-status', role: 'status', 'data-testid': 'kb-status' });
  const tbody = h('tbody', { 'data-testid': 'source-list' });
  const table = cardTable('Knowledge sources', ['Source', 'Type', 'Status', 'Pages', 'Chunks', 'Synced', 'Actions'], tbody,
    { 'data-testid': 'source-table' });
  const empty = h('p', { class: 'empty', 'data-testid': 'source-empty', hidden: true }, 'No sources yet.');
  const below = h('div', { class: 'kb-forms' }); // the boxes under the list
  // What the organisation's knowledge base holds, of its quota (PARLEY_KB_QUOTA_MB).
  const storage = h('p', { class: 'hint', 'data-testid': 'kb-storage', hidden: true });
  let timer = null;
  main.append(h('div', { class: 'page-head' }, pageTitle('Knowledge')),
    h('p', { class: 'hint', 'data-testid': 'kb-hint' }, 'What the assistant answers from: the default agent searches all of them; an agent of your own, those you give it on the Agents page.'),
    storage, error, status, h('div', { class: 'table-wrap' }, table), empty, below);

  async function load() {
    clearTimeout(timer);
    let d;
    try {
      d = await api(endpoints.knowledgeSources, { signal: ctx.signal });
    } catch (e) {
      if (isAbort(e)) return;
      error.textContent = e.message;
      error.hidden = false;
      return;
    }
    // The rows are made again (every 2 s while one syncs): the button a
    // keyboard user is on keeps the focus.
    const f = tbody.contains(document.activeElement) ? document.activeElement : null;
    const was = f && f.closest('tr') ? [f.closest('tr').dataset.id, f.dataset.testid] : null;
    clear(tbody);
    for (const s of d.sources) tbody.append(row(s));
    if (was) {
      const again = tbody.querySelector(`tr[data-id="${CSS.escape(was[0])}"] [data-testid="${CSS.escape(was[1] || '')}"]`);
      if (again) again.focus();
    }
    table.hidden = !d.sources.length;
    empty.hidden = !!d.sources.length;
    const st = d.storage;
    storage.hidden = !st;
    if (st) {
      storage.textContent = `Storage: ${humanSize(st.used_bytes)}${st.quota_bytes ? ` of ${humanSize(st.quota_bytes)}` : ''} used`
        + (st.quota_bytes && st.used_bytes >= st.quota_bytes * 0.9
          ? ': nearly full. Delete sources, or ask the server\'s operator for more (PARLEY_KB_QUOTA_MB).' : '.');
    }
    // One waiting for its file changes only when it comes: not polled for.
    if (d.sources.some((s) => s.status === 'syncing' && !waitsForFile(s)) && !ctx.signal.aborted) timer = setTimeout(load, POLL_MS);
  }
  ctx.signal.addEventListener('abort', () => clearTimeout(timer));

  function row(s) {
    const name = label(s);
    const act = (text, testid, fn) => h('button', { type: 'button', class: 'btn', 'data-testid': testid, 'aria-label': `${text}: ${name}`, onClick: fn }, text);
    return h('tr', { 'data-testid': 'source-row', 'data-id': s.id },
      h('td', { 'data-label': 'Source' }, name),
      h('td', { 'data-label': 'Type' }, TYPES[s.type] || s.type),
      statusCell(s),
      h('td', { 'data-label': 'Pages' }, String(s.pages)),
      h('td', { 'data-label': 'Chunks' }, String(s.chunks)),
      h('td', { 'data-label': 'Synced' }, s.synced_at ? relTimeEl(s.synced_at) : '-'),
      h('td', { 'data-label': 'Actions' }, h('span', { class: 'row-actions' },
        waitsForFile(s) ? uploadAgain(s, name) : null,
        s.type !== 'qa' && !waitsForFile(s) ? act('Sync now', 'source-sync', () => sync(s)) : null,
        s.type !== 'qa' ? act('Pages', 'source-pages-show', () => showPages(s)) : null,
        h('button', { type: 'button', class: 'btn btn-danger', 'data-testid': 'source-delete', 'aria-label': `Delete: ${name}`, onClick: () => remove(s) }, 'Delete'))));
  }

  /* A file source's "Upload file": its file chosen again, sent from its start. */
  function uploadAgain(s, name) {
    const input = h('input', { type: 'file', accept: '.html,.htm,.md,.markdown,.txt,.pdf', hidden: true, 'data-testid': 'source-file-input' });
    input.addEventListener('change', async () => {
      const f = input.files && input.files[0];
      if (!f) return;
      error.hidden = true;
      try {
        if (f.size > FILE_MAX) throw new Error('a file of at most 7 MiB');
        await upload(s.id, f, fileType(f), status);
        status.textContent = `Uploaded ${f.name}.`;
      } catch (e) {
        if (isAbort(e)) return;
        error.textContent = `Could not upload: ${e.message}`;
        error.hidden = false;
      }
      await load();
    });
    return h('span', null, input, h('button', { type: 'button', class: 'btn', 'data-testid': 'source-upload', 'aria-label': `Upload file: ${name}`,
      onClick: () => input.click() }, 'Upload file'));
  }

  async function sync(s) {
    try {
      await api(endpoints.knowledgeSync(s.id), { method: 'POST' });
      status.textContent = `Syncing ${label(s)}.`;
    } catch (e) {
      error.textContent = `Could not sync: ${e.message}`;
      error.hidden = false;
    }
    await load();
  }

  async function showPages(s) {
    clear(below);
    try {
      below.append(await pagesBox(s));
    } catch (e) {
      if (!isAbort(e)) below.append(viewError(`Could not read the pages: ${e.message}`));
    }
  }

  async function remove(s) {
    const ok = await confirmDialog({ title: `Delete ${label(s)}?`, message: 'Its pages leave the knowledge base; answers no longer use them. This cannot be undone.',
      confirmLabel: 'Delete', danger: true });
    if (!ok) return;
    try {
      await api(endpoints.knowledgeSource(s.id), { method: 'DELETE' });
      status.textContent = `Deleted ${label(s)}.`;
    } catch (e) {
      error.textContent = `Could not delete: ${e.message}`;
      error.hidden = false;
    }
    clear(below);
    await load();
  }

  main.append(sourceForm(() => load()), testBox(ctx), gapsBox(ctx));
  await load();
}
