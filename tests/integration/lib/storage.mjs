// A client of storaged's binary protocol (proto/proto.h, proto/storemsg.h),
// used by the tests to create data and to know what storaged acknowledged.
//
// Frame: u16 type | u16 flags | u32 length | u32 id, big-endian, then the
// payload. Strings are u32 length + bytes. Both sides start with
// HELLO {u32 version, str name}.
import net from 'node:net';

export const T = {
  HELLO: 1,
  ST_PING: 0x20,
  ST_CONV_OPEN: 0x21,
  ST_MSG_APPEND: 0x22,
  ST_CONV_LIST: 0x23,
  ST_CONV_GET: 0x24,
  ST_CHAT_BEGIN: 0x25,
  ST_RATE_HIT: 0x26,
  ST_SESSION_HISTORY: 0x27,
  // widgets, visitor sessions, contacts (proto/widgetmsg.h)
  ST_WIDGET_CREATE: 0x28,
  ST_WIDGET_UPDATE: 0x29,
  ST_WIDGET_GET: 0x2a,
  ST_WIDGET_LIST: 0x2b,
  ST_WIDGET_DELETE: 0x2c,
  ST_WIDGET_RESET_ID: 0x2d,
  ST_WS_OPEN: 0x2e,
  ST_WS_BEGIN: 0x2f,
  ST_CONTACT_SUBMIT: 0x30,
  ST_CONTACT_LIST: 0x31,
  ST_CONTACT_GET: 0x32,
  // agents, handoff, live events (proto/agentmsg.h)
  ST_AGENT_CREATE: 0x40,
  ST_HANDOFF_SET: 0x45,
  ST_AGENT_MSG: 0x46,
  ST_TYPING: 0x47,
  ST_EV_SUBSCRIBE: 0x49,
  ST_EV_SINCE: 0x4b,
  // storaged -> every client, unasked (flags 0, id 0)
  ST_EV_WIDGET_GONE: 0x38,
  // storaged -> a subscriber, unasked
  ST_EV: 0x4f,
  ST_EV_LOST: 0x4d,
};
export const F = { REPLY: 1, ERROR: 2, FD: 4, EARLY: 8 };

// The types whose payload starts with who asks (proto/msgtab.c's `who`
// column; tests/integration/storage.test.mjs checks this list against it):
// call() puts it first, as the install key (parleyctl: as itself).
export const WHO_TYPES = new Set([0x23, 0x24, 0x36, 0x37, 0x39, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x31, 0x32,
  0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x4c, 0x46, 0x47, 0x3e, 0x3f]);
export const WHO = { PUBLIC: 0, KEY: 1, SESSION: 2, CTL: 3 };
export const PROTO_VERSION = 1;
const HDR = 12;
const MAX_PAYLOAD = 8 * 1024 * 1024;

export class StorageError extends Error {
  constructor(code, message) { super(`storaged error ${code}: ${message}`); this.code = code; this.storageMessage = message; }
}

export class Enc {
  constructor() { this.parts = []; }
  u8(v) { const b = Buffer.alloc(1); b.writeUInt8(v); this.parts.push(b); return this; }
  u16(v) { const b = Buffer.alloc(2); b.writeUInt16BE(v); this.parts.push(b); return this; }
  u32(v) { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); this.parts.push(b); return this; }
  u64(v) { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(v)); this.parts.push(b); return this; }
  bytes(buf) { this.u32(buf.length); this.parts.push(Buffer.from(buf)); return this; }
  str(s) { return this.bytes(Buffer.from(s ?? '', 'utf8')); }
  done() { return Buffer.concat(this.parts); }
}

export class Dec {
  constructor(buf) { this.b = buf; this.off = 0; }
  need(n) { if (this.off + n > this.b.length) throw new Error(`decode: need ${n} bytes at ${this.off} of ${this.b.length}`); }
  u8() { this.need(1); return this.b.readUInt8((this.off += 1) - 1); }
  u16() { this.need(2); return this.b.readUInt16BE((this.off += 2) - 2); }
  u32() { this.need(4); return this.b.readUInt32BE((this.off += 4) - 4); }
  u64() { this.need(8); return Number(this.b.readBigUInt64BE((this.off += 8) - 8)); }
  bytes() { const n = this.u32(); this.need(n); return this.b.subarray(this.off, (this.off += n)); }
  str() { return this.bytes().toString('utf8'); }
  end() { if (this.off !== this.b.length) throw new Error(`decode: ${this.b.length - this.off} trailing bytes`); }
}

export function frame(type, flags, id, payload = Buffer.alloc(0)) {
  const h = Buffer.alloc(HDR);
  h.writeUInt16BE(type, 0);
  h.writeUInt16BE(flags, 2);
  h.writeUInt32BE(payload.length, 4);
  h.writeUInt32BE(id >>> 0, 8);
  return Buffer.concat([h, payload]);
}

export function decConv(d) {
  return {
    id: d.str(),
    widget: d.str(),
    session: d.str(),
    createdAt: d.u64(),
    updatedAt: d.u64(),
    messageCount: d.u32(),
    lastMessage: d.str(),
    contactId: d.str(),
    handoff: d.u8(),
  };
}

export function decMsg(d) {
  return {
    id: d.str(),
    convId: d.str(),
    role: d.str(),
    status: d.str(),
    createdAt: d.u64(),
    promptTokens: d.u32(),
    completionTokens: d.u32(),
    content: d.str(),
    name: d.str(),
  };
}

// An agent (proto/agentmsg.h), as the chat-begin replies carry it.
export function decAgent(d) {
  return {
    id: d.str(),
    name: d.str(),
    systemPrompt: d.str(),
    model: d.str(),
    temperatureMilli: d.u32(),
    maxTokens: d.u32(),
    historyMessages: d.u32(),
    baseUrl: d.str(),
    apiKey: d.str(),
    apiKeySet: d.u8(),
    createdAt: d.u64(),
    updatedAt: d.u64(),
  };
}

export class StorageClient {
  constructor(sock, name) {
    this.sock = sock;
    this.name = name;
    this.buf = Buffer.alloc(0);
    this.nextId = 1;
    this.pending = new Map();
    this.peerHello = null;
    this.closed = false;
    this._helloWaiter = null;
    // Events storaged sends unasked ({type, payload}), oldest first.
    this.events = [];
    this._eventWaiters = [];
    sock.on('data', (d) => this._onData(d));
    sock.on('error', () => {});
    sock.on('close', () => this._onClose());
  }

  // name: the test's label for this client; as: the process it speaks
  // for in its HELLO, which decides what storaged lets it ask
  // (proto/msgtab.c): a worker's requests unless told otherwise.
  static connect(path, { name = 'itest', as = 'parley-workerd', timeout = 3000 } = {}) {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ path });
      const t = setTimeout(() => { sock.destroy(); reject(new Error(`storage connect timeout ${path}`)); }, timeout);
      sock.once('error', (e) => { clearTimeout(t); reject(e); });
      sock.once('connect', () => {
        const c = new StorageClient(sock, name);
        c.as = as;
        sock.write(frame(T.HELLO, 0, 0, new Enc().u32(PROTO_VERSION).str(as).done()));
        c._helloWaiter = (err) => {
          clearTimeout(t);
          if (err) { sock.destroy(); reject(err); } else resolve(c);
        };
        if (c.peerHello) c._helloWaiter(null);
      });
    });
  }

  _onData(d) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    while (this.buf.length >= HDR) {
      const type = this.buf.readUInt16BE(0);
      const flags = this.buf.readUInt16BE(2);
      const len = this.buf.readUInt32BE(4);
      const id = this.buf.readUInt32BE(8);
      if (len > MAX_PAYLOAD) { this._fail(new Error(`storaged sent a frame of ${len} bytes`)); return; }
      if (this.buf.length < HDR + len) break;
      const payload = Buffer.from(this.buf.subarray(HDR, HDR + len));
      this.buf = this.buf.subarray(HDR + len);
      if (type === T.HELLO) {
        try {
          const dd = new Dec(payload);
          const version = dd.u32();
          const name = dd.str();
          this.peerHello = { version, name };
          if (version !== PROTO_VERSION) throw new Error(`storaged HELLO version ${version}`);
          if (this._helloWaiter) { this._helloWaiter(null); this._helloWaiter = null; }
        } catch (e) { this._fail(e); return; }
        continue;
      }
      if (id === 0 && flags === 0) {
        // An event (ST_EV_WIDGET_GONE), not a reply.
        const ev = { type, payload };
        const w = this._eventWaiters.shift();
        if (w) w(ev); else this.events.push(ev);
        continue;
      }
      const p = this.pending.get(id);
      if (!p) { this._fail(new Error(`reply with unknown id ${id} type ${type}`)); return; }
      if (p.frames) {
        // frames(): every reply to the request, up to the final one.
        p.frames.push({ type, flags, payload });
        if (flags & F.EARLY) continue;
        this.pending.delete(id);
        clearTimeout(p.timer);
        p.resolve(p.frames);
        continue;
      }
      this.pending.delete(id);
      clearTimeout(p.timer);
      if (!(flags & F.REPLY) || type !== p.type) {
        p.reject(new Error(`bad reply: type ${type} flags ${flags} for request type ${p.type}`));
      } else if (flags & F.ERROR) {
        try {
          const dd = new Dec(payload);
          const code = dd.u32();
          const msg = dd.str();
          p.reject(new StorageError(code, msg));
        } catch (e) { p.reject(e); }
      } else {
        p.resolve(payload);
      }
    }
  }

  _fail(err) {
    this.sock.destroy();
    if (this._helloWaiter) { this._helloWaiter(err); this._helloWaiter = null; }
    for (const p of this.pending.values()) { clearTimeout(p.timer); p.reject(err); }
    this.pending.clear();
  }

  _onClose() {
    this.closed = true;
    this._fail(new Error('storage connection closed'));
  }

  // The next event storaged sends (one already received first).
  nextEvent({ timeout = 5000 } = {}) {
    if (this.events.length) return Promise.resolve(this.events.shift());
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this._eventWaiters = this._eventWaiters.filter((w) => w !== done);
        reject(new Error('no storaged event'));
      }, timeout);
      const done = (ev) => { clearTimeout(t); resolve(ev); };
      this._eventWaiters.push(done);
    });
  }

  // The payload as sent: who asks first for WHO_TYPES (opts.who: [kind, id]).
  withWho(type, payload, who) {
    if (!WHO_TYPES.has(type)) return payload;
    const [kind, id] = who || (this.as === 'parleyctl' ? [WHO.CTL, 'uid 0'] : [WHO.KEY, 'install']);
    return Buffer.concat([new Enc().u8(kind).str(id).done(), payload]);
  }

  call(type, payload = Buffer.alloc(0), { timeout = 5000, who } = {}) {
    if (this.closed) return Promise.reject(new Error('storage connection closed'));
    payload = this.withWho(type, payload, who);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.pending.delete(id); reject(new Error(`storage request ${type} timed out`)); }, timeout);
      this.pending.set(id, { type, resolve, reject, timer });
      this.sock.write(frame(type, 0, id, payload));
    });
  }

  // Sends a request with flags; resolves with every reply frame to it
  // ({type, flags, payload}), the last one being the first without EARLY.
  frames(type, payload, flags = 0, { timeout = 5000, who } = {}) {
    if (this.closed) return Promise.reject(new Error('storage connection closed'));
    payload = this.withWho(type, payload, who);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.pending.delete(id); reject(new Error(`storage request ${type} timed out`)); }, timeout);
      this.pending.set(id, { type, resolve, reject, timer, frames: [] });
      this.sock.write(frame(type, flags, id, payload));
    });
  }

  async ping(opts) {
    const p = await this.call(T.ST_PING, Buffer.alloc(0), opts);
    new Dec(p).end();
    return true;
  }

  async convOpen(widget, session, opts) {
    const p = await this.call(T.ST_CONV_OPEN, new Enc().str(widget).str(session).done(), opts);
    const d = new Dec(p);
    const created = d.u8();
    const conv = decConv(d);
    d.end();
    return { created: created !== 0, conv };
  }

  async msgAppend(convId, role, content, status = 'complete', promptTokens = 0, completionTokens = 0, opts) {
    const p = await this.call(T.ST_MSG_APPEND, new Enc().str(convId).str(role).str(content).str(status)
      .u32(promptTokens).u32(completionTokens).done(), opts);
    const d = new Dec(p);
    const msg = decMsg(d);
    const conv = decConv(d);
    d.end();
    return { msg, conv };
  }

  async convList(limit = 100, cursor = '', opts) {
    const p = await this.call(T.ST_CONV_LIST, new Enc().u32(limit).str(cursor).done(), opts);
    const d = new Dec(p);
    const total = d.u64();
    const n = d.u32();
    const convs = [];
    for (let i = 0; i < n; i++) convs.push(decConv(d));
    const nextCursor = d.str();
    d.end();
    return { total, convs, nextCursor };
  }

  async convGet(convId, maxMessages = 1000, opts) {
    const p = await this.call(T.ST_CONV_GET, new Enc().str(convId).u32(maxMessages).done(), opts);
    const d = new Dec(p);
    const conv = decConv(d);
    const n = d.u32();
    const messages = [];
    for (let i = 0; i < n; i++) messages.push(decMsg(d));
    const truncated = d.u8() !== 0;
    d.end();
    return { conv, messages, truncated };
  }

  close() { this.sock.end(); this.sock.destroy(); }
}
