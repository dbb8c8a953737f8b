// A conversation's state in the inbox: open, snoozed (until a time) or
// resolved (by the assistant or a person). The list's folders, a row's
// badge, and the thread's control: Resolve, Reopen, Snooze (for an hour,
// until tomorrow morning, until next Monday) through
// PATCH /v1/admin/conversations/<id>.

import { api, endpoints, isAbort } from './api.js';
import { h, clear, timeEl } from './dom.js';

/** The list's folders: [value in the hash's ?state=, label]; open first (the default). */
export const FOLDERS = [['open', 'Open'], ['snoozed', 'Snoozed'], ['resolved', 'Resolved'], ['all', 'All']];

/** Whether conversation c is in folder f (a snooze past its time is open). */
export function inFolder(f, c) {
  if (f === 'all') return true;
  if (!c || !c.state) return f === 'open';
  if (c.state === 'snoozed' && c.snoozed_until && c.snoozed_until <= Date.now()) return f === 'open';
  return c.state === f;
}

/** The state's badge in a row (none while open). */
export function stateBadge(c) {
  if (!c || !inFolder('all', c)) return null;
  if (c.state === 'resolved') {
    return h('span', { class: 'badge badge-ok', 'data-testid': 'conv-state-badge' },
      c.resolved_by === 'assistant' ? 'Resolved by the assistant' : 'Resolved');
  }
  if (c.state === 'snoozed' && !inFolder('open', c)) {
    return h('span', { class: 'badge badge-neutral', 'data-testid': 'conv-state-badge' }, 'Snoozed');
  }
  return null;
}

/* When a snooze of kind ends (local time): in an hour, tomorrow 9:00, next Monday 9:00. */
function snoozeUntil(kind, now = new Date()) {
  if (kind === 'hour') return now.getTime() + 3600000;
  const d = new Date(now);
  d.setHours(9, 0, 0, 0);
  if (kind === 'tomorrow') d.setDate(d.getDate() + 1);
  else d.setDate(d.getDate() + (((8 - d.getDay()) % 7) || 7)); // next Monday
  return d.getTime();
}

/* The words for conversation c's state. */
function stateText(c) {
  if (c.state === 'resolved') {
    return [c.resolved_by === 'assistant' ? 'Resolved by the assistant' : 'Resolved by a person', c.resolved_at];
  }
  if (c.state === 'snoozed' && !inFolder('open', c)) return ['Snoozed until', c.snoozed_until];
  return ['Open', null];
}

/**
 * The thread's state control for conversation id: its state in words and
 * the buttons that change it. actionError: the thread's alert. onChange(c):
 * the conversation as the server answered. Returns {el, show(c)}.
 */
export function stateControl(id, actionError, onChange) {
  const label = h('span', { 'data-testid': 'conv-state' });
  const resolveBtn = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'resolve-conv' }, 'Resolve');
  const reopenBtn = h('button', { type: 'button', class: 'btn', 'data-testid': 'reopen-conv' }, 'Reopen');
  const snoozeBody = h('div', { class: 'menu-body' });
  const snooze = h('details', { class: 'menu', 'data-testid': 'snooze-menu' },
    h('summary', { class: 'btn btn-quiet' }, 'Snooze'), snoozeBody);
  const status = h('p', { class: 'save-status visually-hidden', role: 'status', 'data-testid': 'conv-state-status' });
  const el = h('div', { class: 'conv-state', role: 'group', 'aria-label': 'Conversation state', 'data-testid': 'conv-state-control' },
    label, resolveBtn, reopenBtn, snooze, status);

  function show(c) {
    const [text, at] = stateText(c);
    clear(label).append(text, at ? ' ' : '', at ? timeEl(at, 'datetime') : '');
    const open = text === 'Open';
    resolveBtn.hidden = c.state === 'resolved';
    reopenBtn.hidden = open;
    snooze.hidden = !open && c.state !== 'resolved';
  }

  async function set(body, btn, done) {
    actionError.hidden = true;
    btn.disabled = true;
    try {
      const r = await api(endpoints.conversation(id), { method: 'PATCH', body });
      const c = (r && r.conversation) || {};
      show(c);
      status.textContent = done;
      onChange(c);
    } catch (e) {
      if (isAbort(e)) return;
      actionError.textContent = `Could not change the state: ${e.message}`;
      actionError.hidden = false;
    } finally {
      btn.disabled = false;
    }
  }

  for (const [kind, text] of [['hour', 'For an hour'], ['tomorrow', 'Until tomorrow, 9:00'], ['week', 'Until Monday, 9:00']]) {
    const b = h('button', { type: 'button', class: 'btn btn-quiet', 'data-testid': `snooze-${kind}` }, text);
    b.addEventListener('click', () => {
      snooze.open = false;
      set({ state: 'snoozed', snoozed_until: snoozeUntil(kind) }, b, 'Snoozed.');
    });
    snoozeBody.append(b);
  }
  resolveBtn.addEventListener('click', () => set({ state: 'resolved' }, resolveBtn, 'Resolved.'));
  reopenBtn.addEventListener('click', () => set({ state: 'open' }, reopenBtn, 'Reopened.'));
  return { el, show };
}
