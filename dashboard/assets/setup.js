// A widget's "Setup" panel (issue 24): what its visitors' browsers were
// refused and why, with the fix for each (GET /v1/admin/widgets/:id/setup:
// counted by storaged since its start), the last origins seen, and the
// Content-Security-Policy line the owner's pages need for the data-widget
// embed (the script from here, its config over HTTP and its chat over a
// WebSocket: connect-src must name the ws:/wss: source too).

import { api, endpoints, isAbort } from './api.js';
import { h, clear, timeEl, copyButton } from './dom.js';

/* The CSP sources the embed needs on the owner's page. */
export function cspLine(origin = location.origin) {
  const ws = origin.replace(/^http/, 'ws');
  return `script-src ${origin}; connect-src ${origin} ${ws}`;
}

const RESULT = { accepted: 'Accepted', key: 'Wrong key', cors: 'Not in CORS_ORIGIN', origin: 'Not allowed', csp: 'Blocked by CSP', disabled: 'Disabled' };
const LABEL = { key: 'Wrong data-api-key', cors: 'Origin not in CORS_ORIGIN', origin: 'Origin not in allowed origins', csp: 'Socket blocked by the page\'s CSP', disabled: 'Chat disabled' };

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
    h('h3', null, 'Refused requests'),
    refusals,
    h('h3', null, 'Last sites seen'),
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
    clear(refusals).append(...(bad.length ? bad.map((r) => h('li', { 'data-testid': `setup-refusal-${r.reason}` },
      h('strong', null, `${LABEL[r.reason] || r.reason}: ${r.count.toLocaleString()}`), ' ', r.fix))
      : [h('li', { class: 'muted' }, 'None: no visitor was refused.')]));
    const originItem = (o) => h('li', null,
      h('code', null, o.origin), ` ${RESULT[o.result] || o.result}, ${o.count.toLocaleString()}× (last `, timeEl(o.last_seen), ')');
    clear(origins).append(...(s.origins.length ? s.origins.map(originItem)
      : [h('li', { class: 'muted' }, 'No site has loaded this widget yet.')]));
    const reported = s.reported_origins || [];
    clear(reports).append(...(reported.length ? reported.map(originItem)
      : [h('li', { class: 'muted' }, 'None.')]));
    clear(since).append('Counted since ', timeEl(s.since), ' (the counts start again when Parley restarts).');
  }
  reload.addEventListener('click', () => load());
  return { section, load };
}
