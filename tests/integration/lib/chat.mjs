// Chat clients for the integration tests: a JSON turn (POST /v1/chat) and a
// streamed turn (POST /v1/chat/stream, POST /chat) read as it arrives, over
// raw TCP, with control over reading (pause/resume) and over the connection
// (destroy mid-stream), and helpers to read what was stored through the
// admin API.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';

import { sleep } from './http.mjs';

export const EMPTY_REPLY = 'I could not generate a response right now.';
export const SYSTEM_PROMPT = 'You are a concise and helpful AI assistant embedded in a support chat widget.';
export const NDJSON_TYPE = 'application/x-ndjson; charset=utf-8';

let sidCounter = 0;
// A fresh session id that matches ^[A-Za-z0-9._:-]{1,128}$.
export function sid(prefix = 's') {
  return `${prefix}-${process.pid}-${++sidCounter}-${crypto.randomBytes(4).toString('hex')}`;
}

// A session as the admin API and the exports show it: a digest, never the
// credential itself (lib/exportrows.h, exprow_session).
export function sessionShown(sessionId) {
  return `sha256:${crypto.createHash('sha256').update(sessionId).digest('hex').slice(0, 24)}`;
}

// What the mock answers to a message (tests/mockai/README.md): "You said: "
// and the text without its [[mock:...]] blocks, trimmed.
export function mockReply(message) {
  return `You said: ${message.replace(/\[\[mock:.*?\]\]/g, '').trim()}`;
}

function chatHeaders(p, opts) {
  const h = [['Content-Type', 'application/json']];
  if (opts.key !== null) h.push([opts.keyHeader || 'x-api-key', opts.key ?? p.widgetKey]);
  for (const [k, v] of Object.entries(opts.headers || {})) h.push([k, v]);
  return h;
}

function bodyOf(opts, sessionId, message) {
  if (opts.rawBody !== undefined) return opts.rawBody;
  return JSON.stringify('body' in opts ? opts.body : { sessionId, message });
}

// POST /v1/chat (or opts.path) on a fresh connection.
// opts: key (null: none), keyHeader, headers, body (object), rawBody, path, timeout.
export function chat(p, sessionId, message, opts = {}) {
  return p.request('POST', opts.path || '/v1/chat', {
    headers: chatHeaders(p, opts),
    body: bodyOf(opts, sessionId, message),
    timeout: opts.timeout ?? 15000,
  });
}

// A streamed turn read as it arrives. Events are the parsed NDJSON lines,
// each with .at (ms since the request was written) and .read (which of
// the socket's reads brought it, from 1: what came in one packet shares
// it, whatever the machine's load).
export class Stream {
  constructor(port, reqBytes) {
    this.port = port;
    this.reqBytes = reqBytes;
    this.buf = Buffer.alloc(0);
    this.head = null;           // {status, headers}
    this.bodyParts = [];            // de-chunked body so far (see body)
    this.events = [];
    this.lineBuf = '';
    this.complete = false;      // the body ended properly (last chunk, or Content-Length)
    this.closed = false;
    this.error = null;
    this.badLines = [];
    this.received = 0;
    this.reads = 0;
    this._waiters = new Set();
  }

  // host: where Parley listens (127.0.0.1 unless a cluster test's host).
  static open(port, reqBytes, { timeout = 5000, host = '127.0.0.1' } = {}) {
    const s = new Stream(port, reqBytes);
    s.host = host;
    return s._connect(timeout);
  }

  _connect(timeout) {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ port: this.port, host: this.host });
      this.sock = sock;
      sock.setNoDelay(true);
      const t = setTimeout(() => { sock.destroy(); reject(new Error('connect timeout')); }, timeout);
      sock.once('connect', () => {
        clearTimeout(t);
        this.localPort = sock.localPort;
        this.t0 = Date.now();
        this.t0ns = process.hrtime.bigint();
        sock.write(this.reqBytes);
        resolve(this);
      });
      sock.on('data', (d) => this._data(d));
      sock.on('error', (e) => { clearTimeout(t); this.error = e; this._wake(); reject(e); });
      sock.on('close', () => { this.closed = true; this._wake(); });
      sock.on('end', () => { this.ended = true; this._wake(); });
    });
  }

  _wake() { for (const w of this._waiters) w(); }

  _data(d) {
    this.received += d.length;
    this.reads++;
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    try { this._parse(); } catch (e) { this.parseError = e; this.sock.destroy(); }
    this._wake();
  }

  _parse() {
    if (!this.head) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = this.buf.subarray(0, end).toString('latin1').split('\r\n');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
      if (!m) throw new Error(`bad status line ${lines[0]}`);
      const headers = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        const k = l.slice(0, i).toLowerCase();
        const v = l.slice(i + 1).trim();
        headers[k] = k in headers ? `${headers[k]}, ${v}` : v;
      }
      this.head = { status: Number(m[1]), headers, at: Date.now() - this.t0, read: this.reads };
      this.buf = this.buf.subarray(end + 4);
      this.chunked = /chunked/i.test(headers['transfer-encoding'] || '');
      this.length = headers['content-length'] !== undefined ? Number(headers['content-length']) : null;
    }
    if (this.complete) return;
    if (this.chunked) {
      for (;;) {
        const le = this.buf.indexOf('\r\n');
        if (le < 0) return;
        const size = parseInt(this.buf.subarray(0, le).toString('latin1'), 16);
        if (Number.isNaN(size)) throw new Error('bad chunk size');
        if (size === 0) {
          if (this.buf.length < le + 4) return;
          this.buf = this.buf.subarray(le + 4);
          this.complete = true;
          this._body(Buffer.alloc(0), true);
          return;
        }
        if (this.buf.length < le + 2 + size + 2) return;
        this._body(this.buf.subarray(le + 2, le + 2 + size));
        this.buf = this.buf.subarray(le + 2 + size + 2);
      }
    } else if (this.length !== null) {
      if (this.buf.length >= this.length) {
        this._body(this.buf.subarray(0, this.length), true);
        this.buf = this.buf.subarray(this.length);
        this.complete = true;
      }
    } else {
      this._body(this.buf);
      this.buf = Buffer.alloc(0);
    }
  }

  // The body so far, de-chunked (joined on demand: a long stream comes in
  // tens of thousands of pieces).
  get body() {
    if (this.bodyParts.length !== 1) this.bodyParts = [Buffer.concat(this.bodyParts)];
    return this.bodyParts[0];
  }

  _body(b, last = false) {
    if (b.length) this.bodyParts.push(Buffer.from(b));
    if (!/ndjson/.test(this.head.headers['content-type'] || '')) return;
    this.lineBuf += b.toString('latin1');
    let i;
    while ((i = this.lineBuf.indexOf('\n')) >= 0) {
      const line = Buffer.from(this.lineBuf.slice(0, i), 'latin1').toString('utf8');
      this.lineBuf = this.lineBuf.slice(i + 1);
      const at = Date.now() - this.t0;
      try {
        const ev = JSON.parse(line);
        Object.defineProperty(ev, 'at', { value: at, enumerable: false });
        Object.defineProperty(ev, 'read', { value: this.reads, enumerable: false });
        Object.defineProperty(ev, 'line', { value: line, enumerable: false });
        this.events.push(ev);
        if (ev.type === 'token' && this.firstTokenNs === undefined) this.firstTokenNs = process.hrtime.bigint();
      } catch { this.badLines.push(line); }
    }
    if (last && this.lineBuf.length) { this.badLines.push(`(unterminated) ${this.lineBuf}`); this.lineBuf = ''; }
  }

  get gone() { return this.closed || this.ended || !!this.error; }

  // Waits until pred() or the connection is gone or the timeout; returns pred().
  until(pred, timeout = 10000) {
    return new Promise((resolve) => {
      let t = null;
      const done = () => { clearTimeout(t); this._waiters.delete(w); resolve(pred()); };
      const w = () => { if (pred() || this.gone) done(); };
      t = setTimeout(done, timeout);
      this._waiters.add(w);
      w();
    });
  }

  waitHead(timeout = 10000) { return this.until(() => !!this.head, timeout); }
  waitEvent(type, timeout = 10000) { return this.until(() => this.events.some((e) => e.type === type), timeout); }
  // Until the body is complete (or the connection went away).
  async finish(timeout = 20000) {
    await this.until(() => this.complete, timeout);
    return this;
  }

  pause() { this.sock.pause(); }
  resume() { this.sock.resume(); }
  destroy() { this.sock.destroy(); }
  // The connection is kept or closed: for tests that reuse it.
  close() { this.sock.end(); }

  get status() { return this.head && this.head.status; }
  get headers() { return this.head && this.head.headers; }
  json() { return JSON.parse(this.body.toString('utf8')); }
  get types() { return this.events.map((e) => e.type); }
  get tokens() { return this.events.filter((e) => e.type === 'token').map((e) => e.token); }
  event(type) { return this.events.find((e) => e.type === type); }
}

// Starts a streamed turn. opts as for chat(); path defaults to /v1/chat/stream.
export function stream(p, sessionId, message, opts = {}) {
  const bodyStr = bodyOf(opts, sessionId, message);
  const headers = chatHeaders(p, opts);
  const b = Buffer.from(bodyStr);
  const host = p.host || '127.0.0.1';
  let head = `POST ${opts.path || '/v1/chat/stream'} HTTP/1.1\r\nHost: ${host}:${p.port}\r\n`;
  for (const [k, v] of headers) head += `${k}: ${v}\r\n`;
  head += `Content-Length: ${b.length}\r\n`;
  if (opts.close !== false) head += 'Connection: close\r\n';
  head += '\r\n';
  return Stream.open(p.port, Buffer.concat([Buffer.from(head, 'latin1'), b]), { host });
}

// A whole streamed turn, read to the end.
export async function streamTurn(p, sessionId, message, opts = {}) {
  const s = await stream(p, sessionId, message, opts);
  await s.finish(opts.timeout ?? 20000);
  s.destroy();
  return s;
}

// Equal strings, without printing megabytes when they are not.
export function sameText(actual, expected, what = 'text') {
  if (actual === expected) return;
  let i = 0;
  while (i < actual.length && i < expected.length && actual[i] === expected[i]) i++;
  assert.fail(`${what}: differs at ${i} (lengths ${actual.length} and ${expected.length}): ` +
    `${JSON.stringify(actual.slice(Math.max(0, i - 20), i + 40))} vs ${JSON.stringify(expected.slice(Math.max(0, i - 20), i + 40))}`);
}

// Checks the shape of a streamed turn that went well, returns {conversationId, message}.
export function assertGoodStream(s, expected) {
  assert.equal(s.status, 200, `status (body ${s.body.toString().slice(0, 300)})`);
  assert.equal(s.headers['content-type'], NDJSON_TYPE);
  assert.equal(s.headers['cache-control'], 'no-store, no-transform');
  assert.equal(s.headers['x-accel-buffering'], 'no');
  assert.ok(s.complete, 'the body ended properly');
  assert.deepEqual(s.badLines, [], 'every line is JSON');
  const types = s.types;
  assert.equal(types[0], 'start', `first event is start: ${types}`);
  assert.equal(types[types.length - 1], 'done', `last event is done: ${types}`);
  assert.ok(types.slice(1, -1).every((t) => t === 'token'), `only tokens in between: ${types}`);
  const start = s.events[0];
  const done = s.events[s.events.length - 1];
  assert.deepEqual(Object.keys(start).sort(), ['conversationId', 'type']);
  assert.equal(typeof start.conversationId, 'string');
  assert.ok(start.conversationId.length > 0);
  // messageId (issue 26): the stored reply's id, an addition old clients ignore.
  assert.deepEqual(Object.keys(done).filter((k) => k !== 'messageId').sort(), ['conversationId', 'message', 'type']);
  if ('messageId' in done) assert.match(done.messageId, /^[0-9a-f]{32}$/);
  assert.equal(done.conversationId, start.conversationId);
  for (const e of s.events.slice(1, -1)) {
    assert.deepEqual(Object.keys(e).sort(), ['token', 'type']);
    assert.equal(typeof e.token, 'string');
  }
  sameText(s.tokens.join(''), done.message, 'tokens joined vs done.message');
  if (expected !== undefined) sameText(done.message, expected, 'done.message');
  return { conversationId: start.conversationId, message: done.message };
}

// GET /v1/admin/conversations/:id -> {conversation, messages}.
export async function stored(p, conversationId) {
  const r = await p.admin(`/v1/admin/conversations/${encodeURIComponent(conversationId)}`);
  assert.equal(r.status, 200, `admin get ${conversationId}: ${r.status} ${r.text}`);
  return r.json();
}

// Polls the stored conversation until pred(messages) holds (or timeout); returns the last read.
export async function waitStored(p, conversationId, pred, timeout = 5000) {
  const deadline = Date.now() + timeout;
  let got;
  for (;;) {
    got = await stored(p, conversationId);
    if (pred(got.messages, got) || Date.now() > deadline) return got;
    await sleep(25);
  }
}

// The conversation for a session, by looking through the admin list (newest first).
export async function conversationOfSession(p, sessionId) {
  const r = await p.admin('/v1/admin/conversations?limit=200');
  assert.equal(r.status, 200);
  return r.json().conversations.find((c) => c.sessionId === sessionShown(sessionId)) || null;
}

// VmRSS of a process in KiB (0 when it is gone).
export function rssKiB(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
    return Number(/VmRSS:\s+(\d+)/.exec(s)[1]);
  } catch { return 0; }
}
