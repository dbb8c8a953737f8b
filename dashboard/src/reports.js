// Reports (#/reports): what the assistant resolves and where it fails, for
// a date range in the browser's time zone, for every widget and agent or
// one (GET /v1/admin/reports). Cards of the totals, then charts drawn as
// plain SVG (colours from the page's variables, so dark mode reads them):
// conversations a day (resolved by the assistant, by a person, the rest),
// the assistant's resolution rate a day, the busiest hours, tokens per
// agent. Each chart has its numbers in a table beside it (a <details>), and
// the days download as CSV. The filters stay in the hash's query. Above
// them, when the organisation has a daily budget or the widget shown a
// daily cap, today's count against each.

import { api, endpoints, isAbort, loadWidgets, widgetNames } from './api.js';
import { loadAgents, agentLabel } from './agents.js';
import { h, clear, pageTitle, plural, viewError, downloadLink } from './dom.js';

const SVG = 'http://www.w3.org/2000/svg';
// The charts' drawing width before their box is measured; then each is drawn
// as wide as its box (chartsFor), so its 11 px labels show at 11 px: a
// fixed 640 scaled down to a phone's box drew them at 6.
const W = 640;
const H = 180;
const LABEL_STEP = 44; // px along the x axis a day's label ("11-08") takes, with room
const PAD = { l: 36, r: 8, t: 10, b: 26 };

function svg(tag, attrs, ...kids) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v != null) el.setAttribute(k, String(v));
  for (const c of kids.flat()) if (c) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

const pct = (x) => (x == null ? '—' : `${Math.round(x * 100)}%`);
const num = (x) => Number(x || 0).toLocaleString();
function dur(ms) {
  if (ms == null) return '—';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/* A date input's value for a Date (local). */
function dateValue(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/* A chart's axis: a nice top value for max (1, 2, 5 x 10^k). */
function niceTop(max) {
  if (max <= 0) return 1;
  const e = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * e >= max) return m * e;
  return 10 * e;
}

/*
 * A bar chart: labels (x), series [{name, cls, values}] stacked; top: the
 * y axis's top (else from the data); fmt: a y label; w: its drawing width.
 * Returns the figure.
 */
function barChart(title, testid, labels, series, { top, fmt = num, every = 1, w = W } = {}) {
  const n = labels.length;
  const totals = labels.map((_, i) => series.reduce((s, x) => s + x.values[i], 0));
  const ymax = top ?? niceTop(Math.max(0, ...totals));
  const iw = w - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  const bw = iw / Math.max(n, 1);
  const y = (v) => PAD.t + ih - (v / ymax) * ih;
  const g = svg('g');
  for (const t of [0, ymax / 2, ymax]) {
    g.append(svg('line', { x1: PAD.l, x2: w - PAD.r, y1: y(t), y2: y(t), class: 'chart-grid' }),
      svg('text', { x: PAD.l - 4, y: y(t) + 4, 'text-anchor': 'end', class: 'chart-label' }, fmt(t)));
  }
  labels.forEach((label, i) => {
    let base = 0;
    for (const s of series) {
      const v = s.values[i];
      if (v > 0) {
        g.append(svg('rect', { x: PAD.l + i * bw + bw * 0.15, width: Math.max(bw * 0.7, 1), y: y(base + v),
          height: Math.max(y(base) - y(base + v), 0), class: s.cls }, svg('title', null, `${label}: ${s.name} ${fmt(v)}`)));
      }
      base += v;
    }
    if (i % every === 0) {
      g.append(svg('text', { x: PAD.l + i * bw + bw / 2, y: H - 8, 'text-anchor': 'middle', class: 'chart-label' }, label));
    }
  });
  const legend = series.length > 1
    ? h('ul', { class: 'chart-legend' }, series.map((s) => h('li', null, h('span', { class: `chart-key ${s.cls}`, 'aria-hidden': 'true' }), s.name)))
    : null;
  return figure(title, testid, svg('svg', { viewBox: `0 0 ${w} ${H}`, class: 'chart', role: 'img', 'aria-label': title }, g),
    legend, ['', ...series.map((s) => s.name)], labels.map((l, i) => [l, ...series.map((s) => fmt(s.values[i]))]));
}

/* A line chart of values (null: no point) from 0 to top; w: its drawing width. */
function lineChart(title, testid, labels, name, values, { top = 1, fmt = pct, every = 1, w = W } = {}) {
  const iw = w - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  const n = labels.length;
  const x = (i) => PAD.l + (n > 1 ? (i / (n - 1)) * iw : iw / 2);
  const y = (v) => PAD.t + ih - (v / top) * ih;
  const g = svg('g');
  for (const t of [0, top / 2, top]) {
    g.append(svg('line', { x1: PAD.l, x2: w - PAD.r, y1: y(t), y2: y(t), class: 'chart-grid' }),
      svg('text', { x: PAD.l - 4, y: y(t) + 4, 'text-anchor': 'end', class: 'chart-label' }, fmt(t)));
  }
  let d = '';
  values.forEach((v, i) => {
    if (v == null) return;
    d += `${d ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
    g.append(svg('circle', { cx: x(i), cy: y(v), r: 3, class: 'chart-dot' }, svg('title', null, `${labels[i]}: ${fmt(v)}`)));
  });
  if (d) g.prepend(svg('path', { d, class: 'chart-line', fill: 'none' }));
  labels.forEach((l, i) => {
    if (i % every === 0) g.append(svg('text', { x: x(i), y: H - 8, 'text-anchor': 'middle', class: 'chart-label' }, l));
  });
  return figure(title, testid, svg('svg', { viewBox: `0 0 ${w} ${H}`, class: 'chart', role: 'img', 'aria-label': title }, g),
    null, ['', name], labels.map((l, i) => [l, fmt(values[i])]));
}

/* A figure: its title, the chart, a legend, and its numbers as a table. */
function figure(title, testid, chart, legend, heads, rows) {
  const table = h('table', { class: 'table chart-table', 'data-testid': `${testid}-table` },
    h('caption', { class: 'visually-hidden' }, title),
    h('thead', null, h('tr', null, heads.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', null, rows.map((r) => h('tr', null, r.map((c, i) => (i === 0 ? h('th', { scope: 'row' }, c) : h('td', null, c)))))));
  return h('figure', { class: 'report-chart', 'data-testid': testid },
    h('figcaption', null, title), chart, legend,
    h('details', { class: 'chart-numbers' }, h('summary', null, 'The numbers'), table));
}

/* A card: a figure and what it is. */
function card(label, value, note, testid) {
  return h('div', { class: 'report-card', 'data-testid': testid },
    h('p', { class: 'report-card-value' }, value), h('p', { class: 'report-card-label' }, label),
    note ? h('p', { class: 'hint' }, note) : null);
}

function summary(t) {
  return h('div', { class: 'report-cards', 'data-testid': 'report-cards' },
    card('Conversations', num(t.conversations), plural(t.visitor_messages, 'visitor message', 'visitor messages'), 'card-conversations'),
    card('Resolved by the assistant', pct(t.assistant_resolution_rate), plural(t.resolved_assistant, 'conversation', 'conversations'),
      'card-assistant'),
    card('Handed to a person', pct(t.handed_off_rate),
      `${plural(t.handed_off, 'conversation', 'conversations')}; ${num(t.resolved_person)} resolved by a person`, 'card-handed'),
    card('Abandoned', pct(t.abandoned_rate), `${num(t.abandoned)}: a person was asked for, none answered`, 'card-abandoned'),
    card('First response', dur(t.first_response_avg_ms), 'of people, on average', 'card-first-response'),
    card('Resolution time', dur(t.resolution_avg_ms), 'of people, on average', 'card-resolution'),
    card('Helpful answers', pct(t.positive_share), `${num(t.thumbs_up)} helpful, ${num(t.thumbs_down)} not`, 'card-thumbs'),
    card('Rating', t.rating_avg == null ? '—' : `${t.rating_avg.toFixed(1)} / 5`, plural(t.ratings, 'rating', 'ratings'), 'card-rating'));
}

/*
 * Today's daily bounds, as the server counts them (by UTC day, whatever the
 * range's zone): the organisation's budget, which only the install key
 * sets, and the widget shown's cap, each with what counted against it so
 * far and when the count starts again (in local time). null when there is
 * neither: nothing to tell. A bound reached is a warning: visitors are
 * refused until then.
 */
function todayNote(t) {
  const parts = [];
  if (t.daily_turn_budget != null) parts.push(`${num(t.turns)} of the organisation's ${num(t.daily_turn_budget)} visitor messages a day`);
  if (t.daily_message_cap != null) parts.push(`${num(t.messages)} of this widget's ${num(t.daily_message_cap)}`);
  if (!parts.length) return null;
  const full = (t.daily_turn_budget != null && t.turns >= t.daily_turn_budget) ||
    (t.daily_message_cap != null && t.messages >= t.daily_message_cap);
  const at = new Date(t.resets_at).toLocaleString([], { weekday: 'short', hour: '2-digit', minute: '2-digit' });
  const text = `Today: ${parts.join('; ')}. ${full ? `Visitors' messages are refused until ${at}, when the count starts again.` : `The count starts again ${at}.`}`;
  return h('div', { class: full ? 'alert alert-warn' : 'alert', role: 'status', 'data-testid': 'report-today' }, h('p', {}, text));
}

/* The charts drawn w px wide (their box's content width). */
function charts(d, agentName, w) {
  const days = d.days.map((x) => x.date.slice(5));
  const every = Math.ceil(days.length / Math.max(1, Math.floor((w - PAD.l - PAD.r) / LABEL_STEP)));
  const rest = d.days.map((x) => Math.max(0, x.conversations - x.resolved_assistant - x.resolved_person));
  const rate = d.days.map((x) => (x.conversations > 0 ? x.resolved_assistant / x.conversations : null));
  const agents = [...d.agents].sort((a, b) => (b.prompt_tokens + b.completion_tokens) - (a.prompt_tokens + a.completion_tokens));
  return h('div', { class: 'report-charts' },
    barChart('Conversations a day', 'chart-days', days, [
      { name: 'Resolved by the assistant', cls: 'series-1', values: d.days.map((x) => x.resolved_assistant) },
      { name: 'Resolved by a person', cls: 'series-2', values: d.days.map((x) => x.resolved_person) },
      { name: 'Open or snoozed', cls: 'series-3', values: rest },
    ], { every, w }),
    lineChart('Resolved by the assistant, a day', 'chart-rate', days, 'Share', rate, { every, w }),
    barChart('Busiest hours (conversations started)', 'chart-hours', d.hours.map((_, i) => String(i).padStart(2, '0')), [
      { name: 'Conversations', cls: 'series-1', values: d.hours },
    ], { every: 3, w }),
    barChart('Tokens per agent', 'chart-agents', agents.map((a) => agentName(a.agent_id)), [
      { name: 'Prompt', cls: 'series-1', values: agents.map((a) => a.prompt_tokens) },
      { name: 'Completion', cls: 'series-2', values: agents.map((a) => a.completion_tokens) },
    ], { w }));
}

/*
 * The charts in body, each drawn as wide as its box: drawn at W first, to
 * lay the grid out, then again at the width its first box's content has.
 */
function chartsFor(body, d, agentName) {
  const first = charts(d, agentName, W);
  body.append(first);
  const box = first.querySelector('.report-chart');
  const cs = getComputedStyle(box);
  const w = Math.floor(box.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight));
  if (w > 0 && w !== W) first.replaceWith(charts(d, agentName, w));
}

export async function render(main, ctx) {
  ctx.setTitle('Reports');
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  const today = new Date();
  // 29 calendar days back (30 with today): 29 x 24 h is a day off across a change of clocks.
  const monthAgo = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 29);
  const p = ctx.params;
  const from = h('input', { type: 'date', id: 'rep-from', name: 'from', value: p.get('from') || dateValue(monthAgo), 'data-testid': 'report-from' });
  const to = h('input', { type: 'date', id: 'rep-to', name: 'to', value: p.get('to') || dateValue(today), 'data-testid': 'report-to' });
  const widget = h('select', { id: 'rep-widget', name: 'widget_id', 'data-testid': 'report-widget' }, h('option', { value: '' }, 'All widgets'));
  const agent = h('select', { id: 'rep-agent', name: 'agent_id', 'data-testid': 'report-agent' }, h('option', { value: '' }, 'All agents'));
  const field = (id, label, el) => h('div', { class: 'field field-inline' }, h('label', { for: id }, label), el);
  const form = h('form', { class: 'report-filters', 'data-testid': 'report-filters', 'aria-label': 'Report filters' },
    field('rep-from', 'From', from), field('rep-to', 'To', to), field('rep-widget', 'Widget', widget), field('rep-agent', 'Agent', agent),
    h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'report-apply' }, 'Show'));
  const csv = h('span', { class: 'report-csv' });
  const status = h('p', { class: 'hint', role: 'status', 'data-testid': 'report-status' }, 'Loading…');
  const body = h('div', { 'data-testid': 'report-body' });
  main.append(h('div', { class: 'page-head' }, pageTitle('Reports'), csv),
    h('p', { class: 'hint' }, `Conversations that started in the range, in your time zone (${tz}), counted with what they hold now.`),
    form, status, body);

  const [widgets, agents] = await Promise.all([loadWidgets(ctx), loadAgents(ctx.signal)]);
  const names = widgetNames(widgets);
  for (const w of widgets) widget.append(h('option', { value: w.id }, names.get(w.id)));
  for (const a of agents) agent.append(h('option', { value: a.id }, agentLabel(a)));
  widget.value = p.get('widget_id') || '';
  agent.value = p.get('agent_id') || '';
  const agentName = (id) => agentLabel(agents.find((a) => a.id === id) || { id, name: id === 'default' ? 'Default agent' : id });

  // Each load numbered: an earlier one answered late shows nothing.
  let seq = 0;
  async function load() {
    const mySeq = ++seq;
    const q = { from: from.value, to: to.value, tz, widget_id: widget.value, agent_id: agent.value };
    history.replaceState(null, '', `#/reports?${new URLSearchParams(Object.entries(q).filter(([k, v]) => v && k !== 'tz'))}`);
    clear(csv).append(downloadLink(endpoints.reportsCsvUrl(q), 'Download CSV', 'report-csv'));
    status.textContent = 'Loading…';
    let d;
    try {
      d = await api(endpoints.reports(q), { signal: ctx.signal });
    } catch (e) {
      if (isAbort(e) || mySeq !== seq) return;
      status.textContent = '';
      clear(body).append(viewError(e.message));
      return;
    }
    if (mySeq !== seq) return;
    status.textContent = d.ready ? `${d.from} to ${d.to}.` : `${d.from} to ${d.to}. Older conversations are still being counted in: the figures grow until they are.`;
    clear(body).append(...[todayNote(d.today), summary(d.totals)].filter(Boolean));
    chartsFor(body, d, agentName);
  }
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    load();
  });
  await load();
}
