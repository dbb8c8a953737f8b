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

import { api, endpoints, isAbort } from './api.js';
import { h, clear, timeEl, copyButton, plural } from './dom.js';

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

/* The panel (a <section>) of widget widgetId; load() fills it (again). */
export function setupPanel(widgetId, signal) {
  const csp = h('code', { 'data-testid': 'setup-csp' }, cspLine());
  const [copyBtn, copyStatus] = copyButton(csp, 'copy-csp', 'copy-csp-status');
  const refusals = h('ul', { class: 'setup-list', 'data-testid': 'setup-refusals' });
  const origins = h('ul', { class: 'setup-list', 'data-testid': 'setup-origins' });
  const reports = h('ul', { class: 'setup-list', 'data-testid': 'setup-reports' });
  const since = h('p', { class: 'hint', 'data-testid': 'setup-since' });
  const reload = h('button', { type: 'button', class: 'btn', 'data-testid': 'setup-reload' }, 'Refresh');
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
    h('h3', null, 'CSP blocks reported by widgets'),
    h('p', { class: 'hint' }, 'Any page can send these reports: they are listed apart and are not proof a site uses the widget.'),
    reports,
    since,
    h('div', { class: 'panel-row' }, reload));

  let id = widgetId;
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
