// The feedback summary (issue 26) under the widgets list: what visitors
// thought of the answers, per widget and per agent (GET /v1/admin/feedback):
// answers rated (a thumb up or down), the share positive, the ratings and
// their average, and the whole organisation's. Counts of the conversations
// still stored.

import { api, endpoints, isAbort } from './api.js';
import { h, cardTable } from './dom.js';

function pct(x) {
  return x == null ? '—' : `${Math.round(Number(x) * 100)}%`;
}

function avg(x) {
  return x == null ? '—' : `${(Math.round(Number(x) * 10) / 10).toFixed(1)} / 5`;
}

function rows(items, label, testid) {
  const tbody = h('tbody', { 'data-testid': `${testid}-rows` });
  for (const it of items) {
    tbody.append(h('tr', { 'data-testid': `${testid}-row`, 'data-id': String(it.widgetId ?? it.agentId ?? '') },
      h('td', { 'data-label': 'Name' }, label(it)),
      h('td', { 'data-label': 'Answers rated', 'data-testid': 'fb-rated' }, Number(it.answersRated || 0).toLocaleString()),
      h('td', { 'data-label': 'Positive', 'data-testid': 'fb-positive' }, pct(it.positiveShare)),
      h('td', { 'data-label': 'Ratings', 'data-testid': 'fb-ratings' }, Number(it.ratings || 0).toLocaleString()),
      h('td', { 'data-label': 'Average rating', 'data-testid': 'fb-average' }, avg(it.averageRating))));
  }
  return tbody;
}

const HEADS = ['Name', 'Answers rated', 'Positive', 'Ratings', 'Average rating'];

// The whole organisation's, and whether the lists below were cut (the least rated left out).
function totalLine(t, truncated) {
  const rated = Number(t.answersRated || 0);
  const ratings = Number(t.ratings || 0);
  const text = [
    `In all: ${rated.toLocaleString()} ${rated === 1 ? 'answer' : 'answers'} rated`,
    rated > 0 ? `, ${pct(t.positiveShare)} positive` : '',
    `; ${ratings.toLocaleString()} ${ratings === 1 ? 'rating' : 'ratings'}`,
    ratings > 0 ? `, ${avg(t.averageRating)} on average` : '',
    '.',
    truncated ? ' The lists below show the 5,000 most rated widgets and agents; these totals count them all.' : '',
  ].join('');
  return h('p', { 'data-testid': 'feedback-total' }, text);
}

/**
 * The panel, filled once the summary loads (a failure says so in it).
 * widgetName(id): the name the widgets list shows for an internal id.
 */
export function feedbackPanel(ctx, widgetName) {
  const body = h('div', { 'data-testid': 'feedback-body' }, h('p', { class: 'hint' }, 'Loading…'));
  const el = h('section', { class: 'feedback-summary', 'aria-labelledby': 'feedback-title', 'data-testid': 'feedback-summary' },
    h('h2', { id: 'feedback-title' }, 'Feedback'),
    h('p', { class: 'hint' }, 'Thumbs visitors gave the answers, and their 1–5 ratings of conversations.'),
    body);
  api(endpoints.feedback, { signal: ctx.signal }).then((s) => {
    const widgets = Array.isArray(s && s.widgets) ? s.widgets : [];
    const agents = Array.isArray(s && s.agents) ? s.agents : [];
    body.replaceChildren();
    if (widgets.length === 0) {
      body.append(h('p', { class: 'empty', 'data-testid': 'feedback-empty' }, 'No feedback yet.'));
      return;
    }
    body.append(totalLine(s.total || {}, s.truncated === true),
      h('h3', null, 'By widget'),
      h('div', { class: 'table-wrap' }, cardTable('Feedback by widget', HEADS,
        rows(widgets, (w) => widgetName(w.widgetId) || w.name || w.widgetId, 'fb-widget'), { 'data-testid': 'feedback-widgets' })),
      h('h3', null, 'By agent'),
      h('div', { class: 'table-wrap' }, cardTable('Feedback by agent', HEADS,
        rows(agents, (a) => (a.agentId ? a.name || a.agentId : 'Default agent'), 'fb-agent'), { 'data-testid': 'feedback-agents' })));
  }).catch((e) => {
    if (isAbort(e)) return;
    body.replaceChildren(h('p', { class: 'alert alert-error', role: 'alert', 'data-testid': 'feedback-error' },
      'The feedback summary could not be loaded.'));
  });
  return el;
}
