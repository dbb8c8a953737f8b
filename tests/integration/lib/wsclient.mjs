// A visitor of the widget's WebSocket chat, on the independent `ws`
// client: connect, read the server's messages in order, send, and see how
// the socket closed.
import WebSocket from 'ws';

import { randomKey } from './harness.mjs';

// Creates a widget through the admin API; returns its JSON.
export async function createWidget(p, fields = {}) {
  const r = await p.request('POST', '/v1/admin/widgets', {
    headers: { 'x-admin-api-key': p.adminKey, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: `w-${randomKey(6)}`, ...fields }),
  });
  if (r.status !== 201) throw new Error(`create widget: ${r.status} ${r.body}`);
  return r.json();
}

export class Visitor {
  constructor(ws) {
    this.ws = ws;
    this.inbox = [];
    // "availability" (away mode, issue 23) comes apart from the rest: the
    // other tests read the chat's messages in order, as an old client that
    // ignores it would; availability() takes them.
    this.avail = [];
    // "rating_request" (issue 26, when a person hands back) likewise:
    // ratingRequests holds them.
    this.ratingRequests = [];
    this.waiters = [];
    this.closeCode = null;
    this.closeReason = '';
    this.closedAt = 0;
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        this.closedAt = Date.now();
        resolve(code);
        this._wake();
      });
    });
    ws.on('message', (data, isBinary) => {
      let m;
      try { m = isBinary ? { type: '<binary>' } : JSON.parse(data.toString('utf8')); } catch { m = { type: '<not json>' }; }
      (m.type === 'availability' ? this.avail : m.type === 'rating_request' ? this.ratingRequests : this.inbox).push(m);
      this._wake();
    });
    ws.on('error', () => {});
  }

  _wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  // Opens /api/widget/{wid}/ws of Parley p (at p.host, else loopback;
  // from localAddress if given); resolves once upgraded, rejects with the
  // HTTP status of a refused upgrade (err.status).
  static open(p, wid, { token, origin, timeout = 5000, headers = {}, localAddress } = {}) {
    const ca = p.opts && p.opts.tlsCa;
    const url = `${ca ? 'wss' : 'ws'}://${p.host || '127.0.0.1'}:${p.port}/api/widget/${wid}/ws`;
    return Visitor.connect(url, { token, origin, timeout, headers, localAddress, ...(ca ? { ca } : {}) });
  }

  // Opens url (a widget's WebSocket address) from localAddress if given;
  // v.upgradeHeaders are the upgrade's response headers.
  static connect(url, { token, origin, timeout = 5000, headers = {}, localAddress, ca } = {}) {
    const u = token ? `${url}?token=${encodeURIComponent(token)}` : url;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(u, { origin, headers, localAddress, handshakeTimeout: timeout, maxPayload: 8 * 1024 * 1024, ...(ca ? { ca } : {}) });
      const v = new this(ws);
      ws.once('upgrade', (res) => { v.upgradeHeaders = res.headers; });
      ws.once('open', () => resolve(v));
      ws.once('unexpected-response', (req, res) => {
        let body = '';
        res.on('data', (d) => { body += d; });
        res.on('end', () => {
          const e = new Error(`upgrade refused: ${res.statusCode} ${body}`);
          e.status = res.statusCode;
          e.body = body;
          reject(e);
        });
      });
      ws.once('error', (e) => reject(e));
    });
  }

  send(obj) { this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj)); }

  // The next message (of type, skipping none: a different type fails).
  async next(type, timeout = 10000) {
    const deadline = Date.now() + timeout;
    while (this.inbox.length === 0) {
      if (this.closeCode !== null) throw new Error(`closed (${this.closeCode} ${this.closeReason}) while waiting for ${type || 'a message'}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${type || 'message'} within ${timeout} ms`);
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
    const m = this.inbox.shift();
    if (type && m.type !== type) throw new Error(`expected ${type}, got ${JSON.stringify(m)}`);
    return m;
  }

  // The next "availability" message (kept apart from the inbox).
  async availability(timeout = 5000) {
    const deadline = Date.now() + timeout;
    while (this.avail.length === 0) {
      if (this.closeCode !== null) throw new Error(`closed (${this.closeCode}) while waiting for availability`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no availability within ${timeout} ms`);
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
    return this.avail.shift();
  }

  // One chat turn: typing_start, tokens (and the tools' steps, when the
  // model calls actions; and a handoff, when it hands over), message,
  // typing_stop.
  async turn(content, timeout = 15000) {
    this.send({ type: 'message', content });
    await this.next('typing_start', timeout);
    const tokens = [];
    const tools = [];
    const handoffs = [];
    for (;;) {
      const m = await this.next(undefined, timeout);
      if (m.type === 'token') { tokens.push(m.token); continue; }
      if (m.type === 'tool') { tools.push(m); continue; }
      if (m.type === 'handoff') { handoffs.push(m); continue; }
      if (m.type !== 'message') throw new Error(`expected token or message, got ${JSON.stringify(m)}`);
      for (;;) {
        const e = await this.next(undefined, timeout);
        if (e.type === 'typing_stop') break;
        if (e.type !== 'handoff') throw new Error(`expected typing_stop, got ${JSON.stringify(e)}`);
        handoffs.push(e);
      }
      return { tokens, message: m, tools, handoffs };
    }
  }

  // The assistant answering the conversation's last message after a hand
  // back, as the socket's own turn shows: the frames before its
  // typing_start (the handoff), then the reply's tokens (its worker's
  // sockets alone get them), message, typing_stop. A frame of another
  // kind in the turn fails.
  async answered(timeout = 15000) {
    const before = [];
    for (let m = await this.next(undefined, timeout); m.type !== 'typing_start'; m = await this.next(undefined, timeout)) before.push(m);
    return { before, ...(await this.answerEnd(timeout)) };
  }

  // The rest of that answer once its typing_start is taken: its tokens,
  // message (or error), typing_stop.
  async answerEnd(timeout = 15000) {
    const tokens = [];
    for (;;) {
      const m = await this.next(undefined, timeout);
      if (m.type === 'token') { tokens.push(m.token); continue; }
      if (m.type !== 'message' && m.type !== 'error') throw new Error(`expected token, message or error, got ${JSON.stringify(m)}`);
      await this.next('typing_stop', timeout);
      return { tokens, message: m };
    }
  }

  // A message this socket's own turn did not bring (another tab's): the
  // next message copy of role, and the frames that came before it.
  async copied(role, timeout = 15000) {
    const before = [];
    for (;;) {
      const m = await this.next(undefined, timeout);
      if (m.type === 'message' && m.copy === true && m.role === role) return { message: m, before };
      before.push(m);
    }
  }

  // One turn's frames, all of them up to its typing_stop, each call of
  // the page's own tools answered with answer(frame)'s fields
  // ({ result } or { error }).
  async pageTurn(content, answer, timeout = 15000) {
    this.send({ type: 'message', content });
    const frames = [];
    for (;;) {
      const f = await this.next(undefined, timeout);
      frames.push(f);
      if (f.type === 'tool' && f.status === 'page') this.send({ type: 'tool_result', id: f.id, ...answer(f) });
      if (f.type === 'typing_stop') return frames;
    }
  }

  // Waits until the socket closes; its close code.
  async waitClose(timeout = 5000) {
    const t = setTimeout(() => this.ws.terminate(), timeout);
    const code = await this.closed;
    clearTimeout(t);
    return code;
  }

  // Closes (1000), or cuts the socket when the server does not answer
  // the close within 2 s; its close code.
  close() {
    if (this.closeCode === null) this.ws.close(1000);
    const t = setTimeout(() => this.ws.terminate(), 2000);
    return this.closed.finally(() => clearTimeout(t));
  }
}
