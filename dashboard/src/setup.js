// A widget's "Setup" panel (issue 24): what its visitors' browsers were
// refused and why, with the fix for each (GET /v1/admin/widgets/:id/setup:
// counted by storaged since its start), the last origins seen, and the
// Content-Security-Policy line the owner's pages need for the data-widget
// embed (the script from here, its config over HTTP and its chat over a
// WebSocket: connect-src must name the ws:/wss: source too).
//
// The two lists count different things, and each says which: a refusal's
// count is the requests refused for that reason; a site's is every
// request seen from its origin, accepted or not, and its result is the
// last one's ("11 requests seen, last one refused" beside "refused: 1
// request" is not a contradiction: ten were accepted).
//
// "Check my page" (POST /v1/admin/widgets/:id/check-page): the server
// fetches a page of the owner's site and says whether it holds this
// widget's embed tag; when not, the Parley tags it found are listed (a
// mistyped data-widget shows there beside this widget's id).

import { api, endpoints, isAbort } from './api.js';
import { h, clear, timeEl, copyButton, plural, setText } from './dom.js';

/* The CSP sources the embed needs on the owner's page. */
export function cspLine(origin = location.origin) {
  const ws = origin.replace(/^http/, 'ws');
  return `script-src ${origin}; connect-src ${origin} ${ws}`;
}

// How a site's last request went.
const LAST = {
  accepted: 'last one accepted',
  key: 'last one refused: wrong data-api-key',
  cors: 'last one refused: origin not in CORS_ORIGIN',
  origin: 'last one refused: origin not allowed',
  csp: 'last one blocked by the page\'s CSP',
  disabled: 'last one refused: the widget is disabled',
};
// Why requests were refused, and what each count counts.
const LABEL = {
  key: ['Refused because the page\'s data-api-key is wrong', 'request', 'requests'],
  cors: ['Refused because the origin is not in CORS_ORIGIN', 'request', 'requests'],
  origin: ['Refused because the origin is not in the allowed origins', 'request', 'requests'],
  csp: ['Chat socket blocked by the page\'s Content-Security-Policy', 'report from the widget', 'reports from the widget'],
  disabled: ['Refused because the widget is disabled', 'request', 'requests'],
};
const NOT_SEEN = 'Not seen on any site yet: check the data-widget id in your page\'s embed tag.';

/* The "Check my page" form of widget id(): the page's address in, the verdict out. */
function checkPageForm(id, signal) {
  const input = h('input', {
    type: 'text', id: 'check-page-url', inputmode: 'url', autocomplete: 'url', spellcheck: 'false',
    placeholder: 'https://www.example.com/', 'aria-describedby': 'check-page-hint', 'data-testid': 'check-page-url',
  });
  const run = h('button', { type: 'submit', class: 'btn', 'data-testid': 'check-page-run' }, 'Check my page');
  const status = h('p', { class: 'save-status', role: 'status', 'data-testid': 'check-page-status' });
  const tags = h('ul', { class: 'setup-list', 'data-testid': 'check-page-tags', hidden: true });
  const form = h('form', { class: 'check-page', novalidate: true, 'aria-labelledby': 'sec-check-page', 'data-testid': 'check-page' },
    h('h3', { id: 'sec-check-page' }, 'Check my page'),
    h('div', { class: 'field' },
      h('label', { class: 'field-label', for: 'check-page-url' }, 'Page address'),
      input,
      h('p', { class: 'hint', id: 'check-page-hint' }, 'A page of your site with the embed tag: the server fetches it and looks for this widget\'s tag.')),
    h('div', { class: 'form-actions' }, run),
    status,
    tags);
  const tagItem = (t) => h('li', { 'data-testid': 'check-page-tag' },
    t.data_widget === null ? 'No data-widget attribute' : ['data-widget ', h('code', null, t.data_widget || '""')],
    t.src ? [', src ', h('code', null, t.src)] : null);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const url = input.value.trim();
    tags.hidden = true;
    clear(tags);
    if (!url) {
      clear(status).append(h('span', { class: 'badge badge-danger' }, 'Check failed'), ' Type the address of a page of your site.');
      input.focus();
      return;
    }
    run.disabled = true;
    setText(status, 'Checking the page…');
    let r;
    try {
      r = await api(endpoints.widgetSetup(id()).replace(/\/setup$/, '/check-page'), { method: 'POST', body: { url }, signal });
    } catch (e) {
      if (isAbort(e)) return;
      clear(status).append(h('span', { class: 'badge badge-danger', 'data-testid': 'check-page-verdict' }, 'Check failed'), ' ', e.message);
      return;
    } finally {
      run.disabled = false;
    }
    clear(status).append(
      h('span', { class: ['badge', r.found ? 'badge-ok' : 'badge-warn'], 'data-testid': 'check-page-verdict' }, r.found ? 'Found' : 'Not found'),
      ' ', h('span', { 'data-testid': 'check-page-message' }, r.message));
    if (!r.found && r.tags.length) {
      tags.append(...r.tags.map(tagItem));
      tags.hidden = false;
    }
  });
  return form;
}

/* The panel (a <section>) of widget widgetId; load() fills it (again). */
export function setupPanel(widgetId, signal) {
  const csp = h('code', { 'data-testid': 'setup-csp' }, cspLine());
  const [copyBtn, copyStatus] = copyButton(csp, 'copy-csp', 'copy-csp-status');
  const refusals = h('ul', { class: 'setup-list', 'data-testid': 'setup-refusals' });
  const origins = h('ul', { class: 'setup-list', 'data-testid': 'setup-origins' });
  const reports = h('ul', { class: 'setup-list', 'data-testid': 'setup-reports' });
  const since = h('p', { class: 'hint', 'data-testid': 'setup-since' });
  const reload = h('button', { type: 'button', class: 'btn', 'data-testid': 'setup-reload' }, 'Refresh');
  let id = widgetId;
  const check = checkPageForm(() => id, signal);
  const section = h('section', { class: 'panel', 'aria-labelledby': 'sec-setup', 'data-testid': 'setup' },
    h('h2', { id: 'sec-setup' }, 'Setup'),
    h('p', null, 'If your pages send a Content-Security-Policy, it must allow this server:'),
    h('pre', { class: 'snippet' }, csp),
    h('div', { class: 'panel-row' }, copyBtn, copyStatus),
    h('h3', null, 'Refused requests, by reason'),
    refusals,
    h('h3', null, 'Last sites seen'),
    h('p', { class: 'hint' }, 'Every request from each site, accepted or refused, and how the last one went.'),
    origins,
    check,
    h('h3', null, 'CSP blocks reported by widgets'),
    h('p', { class: 'hint' }, 'Any page can send these reports: they are listed apart and are not proof a site uses the widget.'),
    reports,
    since,
    h('div', { class: 'panel-row' }, reload));

  async function load(newId = id) {
    id = newId;
    let s;
    try {
      s = await api(endpoints.widgetSetup(id), { signal });
    } catch (e) {
      if (isAbort(e)) return;
      clear(refusals).append(h('li', { class: 'muted' }, `Could not load: ${e.message}`));
      return;
    }
    const bad = s.refusals.filter((r) => r.count > 0);
    const refusalItem = (r) => {
      const [label, one, many] = LABEL[r.reason] || [`Refused (${r.reason})`, 'request', 'requests'];
      return h('li', { 'data-testid': `setup-refusal-${r.reason}` },
        h('strong', null, `${label}: ${plural(r.count, one, many)}.`), ' ', r.fix);
    };
    clear(refusals).append(...(bad.length ? bad.map(refusalItem)
      : [h('li', { class: 'muted' }, 'None: no visitor was refused.')]));
    const originItem = (o) => h('li', { 'data-testid': 'setup-origin' },
      h('code', null, o.origin), `: ${plural(o.count, 'request', 'requests')} seen, ${LAST[o.result] || `last one ${o.result}`} (`,
      timeEl(o.last_seen), ').');
    const reportItem = (o) => h('li', { 'data-testid': 'setup-report' },
      h('code', null, o.origin), `: ${plural(o.count, 'report', 'reports')}, the last `, timeEl(o.last_seen), '.');
    // No site at all: most likely the page's embed names another widget.
    clear(origins).append(...(s.origins.length ? s.origins.map(originItem)
      : [h('li', { 'data-testid': 'setup-not-seen' }, bad.length
        ? 'No site\'s origin recorded: the refused requests above sent none.' : NOT_SEEN)]));
    const reported = s.reported_origins || [];
    clear(reports).append(...(reported.length ? reported.map(reportItem)
      : [h('li', { class: 'muted' }, 'None.')]));
    clear(since).append('Counted since ', timeEl(s.since), ' (the counts start again when Parley restarts).');
  }
  reload.addEventListener('click', () => load());
  return { section, load };
}
