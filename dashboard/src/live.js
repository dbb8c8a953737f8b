// Live updates: one EventSource on /v1/admin/events for the whole
// application (docs/dashboard.md). Views subscribe with onEvent(fn); fn gets
// (type, data) for the stream's events (conversation, message, handoff,
// contact, conversation_deleted, state), 'reset' when events may have been missed (the server's reset,
// or a new stream's "ready": reload what you show), 'mode' when the stream goes up or down and, while the
// stream is down, 'poll' every POLL_MS (the views fetch again, as before
// the stream). The stream falls back to that polling only after FAILS_MAX
// failures in a row, and is tried again every RETRY_MS meanwhile. The
// stream names the organisation in its query (an EventSource sends no
// header).
//
// It also keeps the conversations waiting for a person (read from
// ?handoff=open, then the events): the count goes into the document title
// and the nav, and an opt-in browser notification says when one is added.

import { api, endpoints, signedInSession } from './api.js';
import { liveReads } from './liveread.js';

const POLL_MS = 2000;
const FAILS_MAX = 3;
const RETRY_MS = 30000;
const NOTIFY_KEY = 'parley.notify';

const listeners = new Set();
const waiting = new Set(); // conversation _id in waiting_human
let es = null;
let fails = 0;
let lastId = '';
let mode = 'connecting'; // 'live' | 'poll' | 'connecting'
let pollTimer = 0;
let retryTimer = 0;
let started = false;
let onCount = () => {};
let pageRole = ''; // the role the page was built for ('' unknown)
let waitingLive = null; // the waiting conversations' reads (waitingReads)

/** fn(type, data) for every event; returns the unsubscribe function. */
export function onEvent(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** 'live' while the stream is up, 'poll' while the views poll, else 'connecting'. */
export function liveMode() {
  return mode;
}

function emit(type, data) {
  for (const fn of [...listeners]) {
    try { fn(type, data); } catch (e) { console.error('[dashboard] live update failed:', e); }
  }
}

function setMode(m) {
  if (mode === m) return;
  mode = m;
  document.documentElement.dataset.live = m; // for the tests: the stream's state
  window.clearInterval(pollTimer);
  pollTimer = 0;
  let ticks = 0;
  if (m === 'poll') {
    pollTimer = window.setInterval(() => {
      if (document.hidden) return;
      if (++ticks % 5 === 0 && waitingLive) waitingLive.run(); // the waiting count, and its notices, without events
      emit('poll', {});
    }, POLL_MS);
  }
  emit('mode', { mode: m });
}

/* ---- the conversations waiting for a person ---- */

export function waitingCount() {
  return waiting.size;
}

// The conversations a notification was shown for, while they wait: the
// event that says one waits notifies once, whether or not a list loaded
// meanwhile (waitingReads) already counted it.
const notified = new Set();

// again: the event shown again after a read's answer (liveread.js), which
// may have forgotten it was notified: marked so, not notified twice.
function track(c, notify, again = false) {
  if (!c || !c._id) return;
  const id = String(c._id);
  const was = waiting.has(id);
  if (c.handoff === 'waiting_human') waiting.add(id);
  else if (c.handoff) waiting.delete(id);
  else return;
  if (waiting.has(id) !== was) onCount(waiting.size);
  if (!waiting.has(id)) notified.delete(id);
  else if (notify && !notified.has(id)) {
    notified.add(id);
    if (!again) notifyWaiting(c);
  }
}

// A deleted conversation waits no more.
function untrack(c) {
  const id = String(c._id || '');
  notified.delete(id);
  if (waiting.delete(id)) onCount(waiting.size);
}

// The waiting conversations read (before the stream, then on its ready or
// reset, and every fifth poll while it is down) and kept by the events between
// (liveread.js: a take-over that came while a read was on its way is not
// undone by its answer). After the first: one that began waiting while the
// stream was not there yet, or away, had its event missed: it is notified
// now, once, if it still waits once the events that came during the read are
// shown (settled: an answer older than a take-over notified a wait over).
function waitingReads() {
  let first = true;
  let fresh = []; // the answer's waits no event told, notified when settled
  const reads = liveReads({ signal: new AbortController().signal, onLeave() {} });
  reads.attach({
    poll: false, // setMode's ticks ask
    read: () => api(endpoints.conversations({ handoff: 'open', limit: 200 })),
    show(d) {
      const notifyNew = !first;
      first = false;
      const before = new Set(waiting);
      waiting.clear();
      fresh = [];
      for (const c of (d && Array.isArray(d.conversations) ? d.conversations : [])) {
        if (!c || c.handoff !== 'waiting_human') continue;
        const id = String(c._id);
        waiting.add(id);
        if (notifyNew && !before.has(id) && !notified.has(id)) fresh.push(c);
      }
      for (const id of notified) if (!waiting.has(id)) notified.delete(id);
      onCount(waiting.size);
    },
    settled() {
      for (const c of fresh) {
        const id = String(c._id);
        if (!waiting.has(id) || notified.has(id)) continue;
        notified.add(id);
        notifyWaiting(c);
      }
      fresh = [];
    },
    event(t, d, again) {
      const c = d && d.conversation;
      if (!c) return;
      if (t === 'conversation_deleted') untrack(c);
      else track(c, t === 'handoff' || t === 'conversation', again);
    },
    fail(e) {
      console.warn('[dashboard] could not list the conversations waiting for a person:', e.message);
    },
  });
  return reads;
}

/* ---- browser notifications (opt-in) ---- */

export function notifySupported() {
  return typeof window.Notification === 'function';
}

/** On: the owner asked for them and the browser allows them. */
export function notifyOn() {
  try {
    return notifySupported() && Notification.permission === 'granted' && localStorage.getItem(NOTIFY_KEY) === '1';
  } catch { return false; }
}

/** Asks the browser (a user gesture) and remembers the choice; resolves notifyOn(). */
export async function setNotify(on) {
  try {
    if (!on) localStorage.removeItem(NOTIFY_KEY);
    else if (notifySupported() && (await Notification.requestPermission()) === 'granted') localStorage.setItem(NOTIFY_KEY, '1');
  } catch { /* storage off or permission refused */ }
  return notifyOn();
}

// A conversation in waiting_human: the visitor or the assistant asked for
// a person, or a team member moved it into the queue; the title says
// what is true of all three.
function notifyWaiting(c) {
  if (!notifyOn()) return;
  try {
    const n = new Notification('A conversation waits for a person', {
      body: `Conversation ${c.sessionId || c._id}`,
      tag: `parley-waiting-${c._id}`,
    });
    n.onclick = () => {
      window.focus();
      location.hash = `#/conversations/${encodeURIComponent(c._id)}`;
      n.close();
    };
  } catch { /* not allowed here (e.g. a service worker is required) */ }
}

/* ---- the stream ---- */

const TYPES = ['conversation', 'message', 'handoff', 'contact', 'conversation_deleted', 'state', 'reset', 'ready'];

function connect() {
  window.clearTimeout(retryTimer);
  if (es) es.close();
  const s = (es = new EventSource(endpoints.events(lastId)));
  let opened = false;
  // A new stream (no id to resume from) starts with "ready", a resumed one
  // with what was missed or "reset": either way the views catch up.
  s.onopen = () => {
    opened = true;
    fails = 0;
    setMode('live');
  };
  s.onerror = () => {
    if (es !== s) return;
    // A stream that was up and dropped may have been ended because this
    // person was disabled or removed: the session says so at once (its 401
    // goes to the login page) rather than after the retries.
    // A role changed by an owner ends the stream too: the page is built
    // again for the new one (its navigation, its pages), as a reload does.
    if (opened) {
      signedInSession().then((s) => {
        const role = s && s.organization ? s.organization.role : '';
        if (pageRole && role && role !== pageRole) location.reload();
      }).catch(() => {});
    }
    fails++;
    if (fails >= FAILS_MAX) {
      s.close();
      es = null;
      setMode('poll');
      retryTimer = window.setTimeout(connect, RETRY_MS);
    } else if (s.readyState === EventSource.CLOSED) {
      // refused (not 200 text/event-stream): the browser does not retry by itself
      es = null;
      retryTimer = window.setTimeout(connect, 2000);
    } else if (opened) setMode('connecting');
  };
  for (const t of TYPES) {
    s.addEventListener(t, (ev) => {
      if (es !== s) return;
      if (ev.lastEventId) lastId = ev.lastEventId;
      let data = {};
      try { data = JSON.parse(ev.data || '{}') || {}; } catch { return; }
      // ready: a new stream is live from here; what the views loaded
      // before it may have missed a change meanwhile: load it again.
      if (t === 'reset' || t === 'ready') {
        emit('reset', {});
        return;
      }
      if (t === 'handoff' && data.state && data.conversation) data.conversation.handoff = data.state;
      emit(t, data);
    });
  }
}

/**
 * Starts the stream (once, after the session is known); count(n) gets the
 * waiting count; role is the one the page was built for (a stream ended
 * by a change of it reloads the page).
 */
export function startLive(count, role = '') {
  if (es || mode === 'poll' || started) return;
  started = true;
  onCount = count;
  pageRole = role;
  // The list first, then the stream: the stream's "ready" compares
  // against it, so a wait that began before the stream was live is told
  // once (a list still on its way could count it as already known).
  waitingLive = waitingReads();
  waitingLive.run().finally(connect);
}
