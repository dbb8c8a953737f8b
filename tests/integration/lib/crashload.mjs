// Write load for the crash tests (crash.test.mjs): writers that go through
// the product's real paths (streamed and JSON chat turns over HTTP, turns
// and contact details over the widget's WebSocket, widget creation and
// edits and conversation deletion through the admin API), each recording
// every acknowledgement it got; and the check, against an export, that
// every acknowledged write is there with its content and that nothing is
// half there.
//
// What counts as acknowledged (docs/internals.md "The life of a request",
// docs/widget-protocol.md): a streamed turn whose NDJSON ends with its
// "done" event; a JSON turn answered 200; a WebSocket turn whose "message"
// came; a "contact_info_saved"; an admin write answered 2xx (a deleted
// conversation must stay deleted). A turn's question alone is acknowledged
// by its stream's "start" or its WebSocket's "typing_start" (nothing
// reaches the visitor before the question is on disk). A request that
// failed (storaged or a worker was down, the connection was cut) was not
// acknowledged and may or may not have left something: the check allows
// it, as long as what it left is whole.
import crypto from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';

import { mockReply, stream } from './chat.mjs';
import { sleep } from './http.mjs';
import { Visitor, createWidget } from './wsclient.mjs';

// A seeded random number generator (mulberry32): numbers in [0, 1), the
// same sequence for the same seed, so a failing run's kill moments can be
// replayed with CRASH_SEED.
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// The seed: CRASH_SEED from the environment, else a fresh one.
export function crashSeed() {
  const s = process.env.CRASH_SEED;
  return s !== undefined && s !== '' ? Number(s) >>> 0 : crypto.randomBytes(4).readUInt32BE(0);
}

const TURN_TIMEOUT_MS = 10000;	// one request or turn, from connect to its last event

// A writer that failed waits before its next try, 10 ms doubling to 100 ms
// while it keeps failing, so the writers do not flood the workers with
// requests bound to fail while storaged is down (pacing, not a wait for a
// condition: the next try finds out).
class Backoff {
  constructor() { this.ms = 0; }
  ok() { this.ms = 0; }
  async failed() {
    this.ms = Math.min(this.ms ? this.ms * 2 : 10, 100);
    await sleep(this.ms);
  }
}

// What the writers were told (acknowledged) and tried, and a way to wait
// for new acknowledgements without polling.
export class Acks {
  constructor() {
    this.turns = [];		// {path, session, conversationId?, user, reply}
    // Turns cut after the visitor's message was acknowledged as stored (a
    // stream's "start", a WebSocket's "typing_start") and before the
    // reply: {path, conversationId?, user}.
    this.questions = [];
    this.sent = new Set();	// every user message sent, acknowledged or not
    this.widgets = new Map();	// widget_id -> name (created, acknowledged)
    this.greetings = new Map();	// widget_id -> {acked: index of the last acknowledged, tried: [values]}
    this.contacts = [];		// emails acknowledged
    this.deleted = [];		// conversation ids whose deletion was acknowledged
    this.failed = 0;		// attempts not acknowledged
    this.timeouts = 0;		// attempts that hit TURN_TIMEOUT_MS
    this.total = 0;		// acknowledgements of any kind
    this.byWriter = new Map();	// writer name -> acknowledgements
    this._waiters = new Set();
  }

  _ack(writer) {
    this.total++;
    this.lastAt = Date.now();	// wall ms of the last acknowledgement
    this.byWriter.set(writer, (this.byWriter.get(writer) || 0) + 1);
    for (const w of this._waiters) w();
  }

  // Resolves once pred() holds, checked at each acknowledgement; throws
  // "what: not after ms ms" at the deadline.
  until(pred, ms, what) {
    return new Promise((resolve, reject) => {
      let t = null;
      const w = () => {
        if (!pred()) return;
        clearTimeout(t);
        this._waiters.delete(w);
        resolve();
      };
      t = setTimeout(() => {
        this._waiters.delete(w);
        reject(new Error(`${what}: not after ${ms} ms (${this.summary()})`));
      }, ms);
      this._waiters.add(w);
      w();
    });
  }

  // Waits for n acknowledgements more than now.
  more(n, ms, what) {
    const goal = this.total + n;
    return this.until(() => this.total >= goal, ms, what);
  }

  // Waits until each named writer got an acknowledgement after now.
  eachWriterAgain(names, ms, what) {
    const base = new Map(names.map((n) => [n, this.byWriter.get(n) || 0]));
    return this.until(() => names.every((n) => (this.byWriter.get(n) || 0) > base.get(n)), ms, what);
  }

  summary() {
    const ack = [...this.byWriter.entries()].map(([k, v]) => `${k} ${v}`).join(', ');
    return `acknowledged ${this.total} (${ack}); not acknowledged ${this.failed}, of which cut after the question was stored ${this.questions.length}, timed out ${this.timeouts}`;
  }
}

let tagCounter = 0;
function tag(writer) { return `${writer}-${process.pid}-${++tagCounter}-${crypto.randomBytes(3).toString('hex')}`; }

// Streamed turns on /v1/chat/stream, several per session.
async function streamWriter(p, acks, name, running) {
  const backoff = new Backoff();
  let session = tag(name);
  for (let i = 0; running(); i++) {
    if (i % 5 === 0) session = tag(name);
    const user = `${tag(name)} turn ${i}`;
    acks.sent.add(user);
    let s = null;
    try {
      s = await stream(p, session, user);
      await s.finish(TURN_TIMEOUT_MS);
    } catch { /* not acknowledged */ }
    const last = s && s.events[s.events.length - 1];
    if (s && s.status === 200 && s.complete && last && last.type === 'done') {
      acks.turns.push({ path: 'stream', session, conversationId: last.conversationId, user, reply: last.message });
      acks._ack(name);
      backoff.ok();
    } else {
      const start = s && s.event('start');
      if (start) acks.questions.push({ path: 'stream', conversationId: start.conversationId, user });
      if (s && !s.complete && !s.gone) acks.timeouts++;
      acks.failed++;
      await backoff.failed();
    }
    if (s) s.destroy();
  }
}

// JSON turns on /v1/chat.
async function jsonWriter(p, acks, name, running) {
  const backoff = new Backoff();
  let session = tag(name);
  for (let i = 0; running(); i++) {
    if (i % 5 === 0) session = tag(name);
    const user = `${tag(name)} turn ${i}`;
    acks.sent.add(user);
    let r = null;
    try {
      r = await p.request('POST', '/v1/chat', {
        headers: { 'Content-Type': 'application/json', 'x-api-key': p.widgetKey },
        body: JSON.stringify({ sessionId: session, message: user }),
        timeout: TURN_TIMEOUT_MS,
      });
    } catch (e) { if (e.code === 'ETIMEOUT') acks.timeouts++; }
    if (r && r.status === 200) {
      const j = r.json();
      acks.turns.push({ path: 'json', session, conversationId: j.conversationId, user, reply: j.message });
      acks._ack(name);
      backoff.ok();
    } else {
      acks.failed++;
      await backoff.failed();
    }
  }
}

// The widget's WebSocket: on each socket, its contact details, then turns
// until something fails; then a new socket (a new session).
async function wsWriter(p, acks, name, running, widgetId) {
  const backoff = new Backoff();
  while (running()) {
    let v = null;
    try {
      v = await Visitor.open(p, widgetId, { timeout: TURN_TIMEOUT_MS });
      await v.next('session', TURN_TIMEOUT_MS);
      const email = `${tag(name)}@example.com`;
      v.send({ type: 'contact_info', email });
      await v.next('contact_info_saved', TURN_TIMEOUT_MS);
      acks.contacts.push(email);
      acks._ack(name);
      backoff.ok();
      for (let i = 0; running(); i++) {
        const user = `${tag(name)} turn ${i}`;
        acks.sent.add(user);
        v.send({ type: 'message', content: user });
        await v.next('typing_start', TURN_TIMEOUT_MS);
        let m;
        try {
          while ((m = await v.next(undefined, TURN_TIMEOUT_MS)).type === 'token');
          if (m.type !== 'message') throw new Error(`expected token or message, got ${JSON.stringify(m)}`);
        } catch (e) {
          acks.questions.push({ path: 'ws', user });
          throw e;
        }
        acks.turns.push({ path: 'ws', session: email, user, reply: m.content });
        acks._ack(name);
        backoff.ok();
        await v.next('typing_stop', TURN_TIMEOUT_MS);
      }
    } catch (e) {
      if (/ within /.test(e.message)) acks.timeouts++;
      acks.failed++;
      await backoff.failed();
    } finally {
      if (v) v.ws.terminate();
    }
  }
}

// The admin API, in turn: a widget created; its greeting changed twice;
// a conversation (one JSON turn of a fresh session) deleted.
async function adminWriter(p, acks, name, running) {
  const backoff = new Backoff();
  const json = { 'x-admin-api-key': p.adminKey, 'Content-Type': 'application/json' };
  const timeout = TURN_TIMEOUT_MS;
  let wid = null;
  for (let i = 0; running(); i++) {
    let r = null;
    try {
      if (wid === null || i % 4 === 0) {
        const wname = tag(name);
        r = await p.request('POST', '/v1/admin/widgets', { headers: json, body: JSON.stringify({ name: wname }), timeout });
        if (r.status === 201) {
          wid = r.json().widget_id;
          acks.widgets.set(wid, wname);
          acks.greetings.set(wid, { acked: -1, tried: [] });
        }
      } else if (i % 4 !== 3) {
        const g = acks.greetings.get(wid);
        const greeting = `${tag(name)} greeting ${g.tried.length}`;
        g.tried.push(greeting);
        r = await p.request('PATCH', `/v1/admin/widgets/${wid}`, { headers: json, body: JSON.stringify({ greeting }), timeout });
        if (r.status === 200) g.acked = g.tried.length - 1;
      } else {
        const user = `${tag(name)} to delete`;
        acks.sent.add(user);
        const c = await p.request('POST', '/v1/chat', {
          headers: { 'Content-Type': 'application/json', 'x-api-key': p.widgetKey },
          body: JSON.stringify({ sessionId: tag(name), message: user }),
          timeout,
        });
        if (c.status === 200) {
          const id = c.json().conversationId;
          r = await p.request('DELETE', `/v1/admin/conversations/${id}`, { headers: json, timeout });
          if (r.status === 204) acks.deleted.push(id);
        }
      }
    } catch (e) { if (e.code === 'ETIMEOUT') acks.timeouts++; }
    if (r && r.status >= 200 && r.status < 300) {
      acks._ack(name);
      backoff.ok();
    } else {
      acks.failed++;
      await backoff.failed();
    }
  }
}

// Starts the writers on p (a Parley started with the mock model and
// RATE_LIMIT_MAX_REQUESTS=0); returns {acks, names, stop()}. stop() lets
// each writer finish the request in hand and resolves when all are done.
export async function startLoad(p, { stream: nStream = 2, json = 1, ws = 1, admin = 1 } = {}) {
  const acks = new Acks();
  let on = true;
  const running = () => on;
  const widget = await createWidget(p, { contact_info_mode: 'optional', collect_email: true });
  const names = [];
  const loops = [];
  const add = (n, prefix, fn) => {
    for (let k = 0; k < n; k++) {
      const name = `${prefix}${k}`;
      names.push(name);
      loops.push(fn(p, acks, name, running, widget.widget_id));
    }
  };
  add(nStream, 'stream', streamWriter);
  add(json, 'json', jsonWriter);
  add(ws, 'ws', wsWriter);
  add(admin, 'admin', adminWriter);
  return {
    acks,
    names,
    async stop() { on = false; await Promise.all(loops); },
  };
}

// ------------------------------------------------------------------ check

// A 503 (storaged not reachable from the worker that answered: right after
// a failover, a front host may not have found the new primary yet) is the
// API's "try again": asked again after its Retry-After, for up to 20 s.
async function getJson(p, path) {
  const until = Date.now() + 20000;
  for (;;) {
    const r = await p.admin(path, { timeout: 15000 });
    if (r.status === 503 && Date.now() < until) {
      await sleep(Math.min(2000, 1000 * (Number(r.headers?.['retry-after']) || 1)));
      continue;
    }
    if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.text.slice(0, 300)}`);
    return r;
  }
}

// The whole export as rows (JSON Lines).
async function exportRows(p, rows) {
  const r = await getJson(p, `/v1/admin/export?format=jsonl&rows=${rows}`);
  return r.text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
}

async function allContacts(p) {
  const out = [];
  let cursor = '';
  for (let page = 0; page < 10000; page++) {
    const j = (await getJson(p, `/v1/admin/contacts?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)).json();
    out.push(...j.contacts);
    if (!j.nextCursor) break;
    cursor = j.nextCursor;
  }
  return out;
}

// The conversations and their messages as of one moment: storaged ends
// the turns its last stop (or the last primary) left open TURN_LOST_MS
// after it starts (storaged/server.c), which can fall between the two
// exports (a reply's row exported, its conversation's count before it).
// Each message written changes its conversation, so the conversations
// read the same before and after the messages say none was written.
async function settledExport(p) {
  const deadline = Date.now() + 15000;
  let convRows = await exportRows(p, 'conversations');
  for (;;) {
    const msgRows = await exportRows(p, 'messages');
    const again = await exportRows(p, 'conversations');
    if (isDeepStrictEqual(convRows, again) || Date.now() > deadline) return { convRows, msgRows };
    convRows = again;
  }
}

// Compares what was acknowledged with an export of everything. Returns
// {problems: [...], found: {...}}: problems is empty when every
// acknowledged write is there with its content and everything stored is
// whole. Every message and conversation is read as of one moment, through
// the admin export (conversations and messages), then the widget list and
// the contacts.
export async function checkAgainstExport(p, acks) {
  const problems = [];
  const found = { turns: 0, questions: 0, deletions: 0, widgets: 0, greetings: 0, contacts: 0 };
  const { convRows, msgRows } = await settledExport(p);

  // Whole: each message belongs to an exported conversation, whose count
  // and last message match its messages; a conversation starts with the
  // visitor; a reply follows a visitor's message and answers it.
  const convs = new Map(convRows.map((c) => [c.id, { ...c, msgs: [] }]));
  for (const m of msgRows) {
    const c = convs.get(m.conversationId);
    if (!c) { problems.push(`message ${m.id} of conversation ${m.conversationId}, which is not exported`); continue; }
    c.msgs.push(m);
  }
  const userAt = new Map();	// user message content -> {conv, index}
  for (const c of convs.values()) {
    if (c.messageCount !== c.msgs.length) problems.push(`conversation ${c.id}: messageCount ${c.messageCount}, ${c.msgs.length} messages exported`);
    if (c.msgs.length === 0) problems.push(`conversation ${c.id} has no message`);
    else if (c.lastMessage !== c.msgs[c.msgs.length - 1].content.slice(0, c.lastMessage.length) || (c.lastMessage === '' && c.msgs[c.msgs.length - 1].content !== '')) {
      problems.push(`conversation ${c.id}: lastMessage ${JSON.stringify(c.lastMessage.slice(0, 80))} is not its last message ${JSON.stringify(c.msgs[c.msgs.length - 1].content.slice(0, 80))}`);
    }
    c.msgs.forEach((m, i) => {
      const prev = c.msgs[i - 1];
      if (m.role === 'user') {
        if (m.status !== 'complete') problems.push(`user message ${m.id} has status ${m.status}`);
        if (!acks.sent.has(m.content)) problems.push(`user message ${m.id} ${JSON.stringify(m.content.slice(0, 80))} was never sent`);
        if (userAt.has(m.content)) problems.push(`user message ${JSON.stringify(m.content)} stored twice`);
        userAt.set(m.content, { c, i });
      } else if (m.role === 'assistant') {
        if (!prev || prev.role !== 'user') {
          problems.push(`reply ${m.id} in ${c.id} at ${i} does not follow a visitor's message (half a turn)`);
        } else if (m.status === 'complete' && m.content !== mockReply(prev.content)) {
          problems.push(`reply ${m.id} ${JSON.stringify(m.content.slice(0, 80))} does not answer ${JSON.stringify(prev.content.slice(0, 80))}`);
        } else if (m.status === 'interrupted' && !mockReply(prev.content).startsWith(m.content)) {
          problems.push(`interrupted reply ${m.id} ${JSON.stringify(m.content.slice(0, 80))} is not a start of the answer`);
        } else if (!['complete', 'interrupted', 'failed'].includes(m.status)) {
          problems.push(`reply ${m.id} has status ${m.status}`);
        }
      } else {
        problems.push(`message ${m.id} has role ${m.role}`);
      }
    });
  }

  // Every acknowledged turn: its question, then its answer, in the
  // conversation the client was told; a session's turns in order.
  const lastIndex = new Map();	// session -> {conv, index} of its last acknowledged turn
  for (const a of acks.turns) {
    const at = userAt.get(a.user);
    if (!at) { problems.push(`acknowledged ${a.path} turn ${JSON.stringify(a.user)}: its message is missing`); continue; }
    const reply = at.c.msgs[at.i + 1];
    if (a.conversationId && at.c.id !== a.conversationId) problems.push(`acknowledged turn ${JSON.stringify(a.user)} is in ${at.c.id}, the client was told ${a.conversationId}`);
    if (!reply || reply.role !== 'assistant') { problems.push(`acknowledged ${a.path} turn ${JSON.stringify(a.user)}: its reply is missing`); continue; }
    if (reply.status !== 'complete' || reply.content !== a.reply) {
      problems.push(`acknowledged ${a.path} turn ${JSON.stringify(a.user)}: reply ${reply.status} ${JSON.stringify(reply.content.slice(0, 80))}, acknowledged ${JSON.stringify(a.reply.slice(0, 80))}`);
      continue;
    }
    const before = lastIndex.get(a.session);
    if (before && (before.c !== at.c || before.i >= at.i)) problems.push(`acknowledged turn ${JSON.stringify(a.user)} is not after the session's previous one`);
    lastIndex.set(a.session, at);
    found.turns++;
  }

  // Every turn cut after its question was acknowledged: the question is
  // there (its reply may or may not be).
  for (const q of acks.questions) {
    const at = userAt.get(q.user);
    if (!at) problems.push(`${q.path} turn ${JSON.stringify(q.user)} cut after its question was acknowledged: the question is missing`);
    else if (q.conversationId && at.c.id !== q.conversationId) problems.push(`question ${JSON.stringify(q.user)} is in ${at.c.id}, the client was told ${q.conversationId}`);
    else found.questions++;
  }

  // Deleted conversations stay deleted.
  for (const id of acks.deleted) {
    if (convs.has(id)) problems.push(`conversation ${id} is exported, its deletion was acknowledged`);
    else found.deletions++;
  }

  // Widgets, and the last acknowledged greeting (or a later one tried).
  const widgets = new Map((await getJson(p, '/v1/admin/widgets')).json().widgets.map((w) => [w.widget_id, w]));
  for (const [wid, wname] of acks.widgets) {
    const w = widgets.get(wid);
    if (!w || w.name !== wname) { problems.push(`acknowledged widget ${wid} ${wname}: ${w ? `named ${w.name}` : 'missing'}`); continue; }
    found.widgets++;
    const g = acks.greetings.get(wid);
    if (g.acked < 0) continue;
    const k = g.tried.indexOf(w.greeting);
    if (k < g.acked) problems.push(`widget ${wid}: greeting ${JSON.stringify(w.greeting)}, the last acknowledged is ${JSON.stringify(g.tried[g.acked])}`);
    else found.greetings++;
  }

  // Contacts.
  // Contacts, and the conversation of a session that gave one is linked
  // to it (docs/widget-protocol.md, "Contacts").
  const contactOf = new Map((await allContacts(p)).map((c) => [c.email, c.id]));
  for (const e of acks.contacts) {
    if (contactOf.has(e)) found.contacts++;
    else problems.push(`acknowledged contact ${e} is missing`);
  }
  for (const a of acks.turns) {
    const at = userAt.get(a.user);
    if (a.path !== 'ws' || !at || !contactOf.has(a.session)) continue;
    if (at.c.contactId !== contactOf.get(a.session)) problems.push(`conversation ${at.c.id} of the session that gave ${a.session}: contactId ${at.c.contactId}, not ${contactOf.get(a.session)}`);
  }
  found.conversations = convRows.length;
  found.messages = msgRows.length;
  return { problems, found };
}
