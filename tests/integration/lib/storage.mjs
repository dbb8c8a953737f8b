// A client of storaged's binary protocol (proto/proto.h, proto/stmsgs.h),
// used by the tests to create data and to know what storaged acknowledged.
//
// Frame: u16 type | u16 flags | u32 length | u32 id, big-endian, then the
// payload. Strings are u32 length + bytes. Both sides start with
// HELLO {u32 version, str name, u64 layouts}: the message table's
// fingerprint, which the built programs print with --version.
//
// The message table is read from the C sources when this module loads:
// the type numbers (proto.h), which types carry who asks and each type's
// request and reply layouts (msgtab.c), the layouts' fields in wire order
// (stmsgs.c). req() and rep() walk them, so no field list is written here
// twice: a field the C code adds, drops or moves is one here too (a
// request's value left out is an error). Records with codecs of their own
// (stmsgs.c's RECORD: a due job, an event...) have theirs below, and
// those with rows (its ROWS: a widget, an agent, an organisation, a
// webhook, a delivery, an API key, a canned reply, a contact, a mail, a
// user, a conversation, a message) theirs from
// records.mjs; storage.test.mjs checks every payload against the C
// encodings test_stmsgs writes at each test build.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';

import { BIN } from './bin.mjs';
import { recordFormat, rowCodec } from './records.mjs';

const PROTO = new URL('../../../proto/', import.meta.url);
const source = (f) => fs.readFileSync(new URL(f, PROTO), 'utf8');

// The arguments of a C macro call, split at its top-level commas.
function macroArgs(text) {
  const args = [];
  let depth = 0, cur = '';
  for (const ch of text) {
    if (ch === ',' && depth === 0) { args.push(cur.trim()); cur = ''; continue; }
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    cur += ch;
  }
  args.push(cur.trim());
  return args;
}

// Every NAME(...) call in text: [NAME, args].
function macroCalls(text, name) {
  const calls = [];
  for (const m of text.matchAll(new RegExp(`\\b(${name})\\(`, 'g'))) {
    let depth = 1, i = m.index + m[0].length;
    for (; depth > 0; i++) depth += text[i] === '(' ? 1 : text[i] === ')' ? -1 : 0;
    calls.push([m[1], macroArgs(text.slice(m.index + m[0].length, i - 1))]);
  }
  return calls;
}

// The ST_ constants of proto/*.h (#define and enum), for the tags' masks.
function constants() {
  const k = new Map();
  for (const f of fs.readdirSync(PROTO).filter((n) => n.endsWith('.h'))) {
    for (const m of source(f).matchAll(/^#define\s+(ST_\w+)\s+(0x[0-9a-f]+|\d+)\b/gm)) k.set(m[1], Number(m[2]));
    for (const m of source(f).matchAll(/\b(ST_\w+) = (0x[0-9a-f]+|\d+)/g)) k.set(m[1], Number(m[2]));
  }
  return k;
}

// A PF_WHEN mask: "(1u << ST_CHAT_OK) | (1u << ST_CHAT_HUMAN)".
function maskOf(expr, k) {
  let v = 0;
  for (const term of expr.split('|')) {
    const m = /^\(?\s*1u?\s*<<\s*(\w+)\s*\)?$/.exec(term.trim());
    const bit = m && (/^\d+$/.test(m[1]) ? Number(m[1]) : k.get(m[1]));
    if (bit === undefined || bit === null) throw new Error(`stmsgs.c: a mask I cannot read: ${expr}`);
    v |= 1 << bit;
  }
  return v >>> 0;
}

// A field of a layout, from its maker in stmsgs.c (msgcodec.h's PF* macros).
const FIELD = {
  PFU8: (a) => ({ kind: 'u8', name: a[1] }),
  PFU32: (a) => ({ kind: 'u32', name: a[1] }),
  PFU64: (a) => ({ kind: 'u64', name: a[1] }),
  PFSTR: (a) => ({ kind: 'str', name: a[1] }),
  PFCLIP: (a) => ({ kind: 'str', name: a[1] }),
  PFBUF: (a) => ({ kind: 'str', name: a[1] }),
  PFBYTES: (a) => ({ kind: 'bytes', name: a[1] }),
  PFREC: (a) => ({ kind: 'rec', name: a[1], sub: a[2] }),
  PFLIST: (a) => ({ kind: 'list', name: a[1], count: a[2], sub: a[4] }),
  PFLIST_SAMEN: (a) => ({ kind: 'list', name: a[1], count: a[2], sub: a[4], same: true }),
  PFWHEN: (a, k) => ({ kind: 'when', tag: a[1], mask: maskOf(a[2], k), name: a[3], sub: a[4] }),
};

// The table: {types, layouts, rows}. Layouts by name: {fields} or {record}.
function readTable() {
  const types = {};
  const enumTypes = /enum proto_type \{([^}]*)\}/.exec(source('proto.h'))[1];
  for (const m of enumTypes.matchAll(/\bPROTO_(\w+) = (0x[0-9a-f]+|\d+)/g))
    if (m[1] !== 'TYPE_MAX') types[m[1]] = Number(m[2]);
  const k = constants();
  const st = source('stmsgs.c');
  const arrays = new Map();
  for (const m of st.matchAll(/static const struct pfield (f_\w+)\[\] = \{([^;]*)\};/g)) {
    const fields = macroCalls(m[2], 'PF[A-Z0-9_]+').map(([mk, a]) => {
      if (!FIELD[mk]) throw new Error(`stmsgs.c: ${m[1]}: a field maker I do not know: ${mk}`);
      return FIELD[mk](a, k);
    });
    arrays.set(m[1], fields);
  }
  const layouts = new Map([['pl_empty', { name: 'pl_empty', fields: [] }]]);
  for (const [, a] of macroCalls(st, 'PLAYOUT(?:_FREE|_DEC)?')) {
    if (!arrays.has(a[2])) throw new Error(`stmsgs.c: ${a[0]}: no field list ${a[2]}`);
    layouts.set(a[0], { name: a[0], fields: arrays.get(a[2]) });
  }
  // RECORD(pl_conv, struct st_conv, ...) and ROWS(pl_org, struct st_org,
  // ...): not the macros' own #defines.
  for (const [mk, a] of macroCalls(st, 'RECORD|ROWS'))
    if (a[0].startsWith('pl_')) layouts.set(a[0], { name: a[0], record: a[1].replace(/^struct /, ''), rows: mk === 'ROWS' });
  const rows = new Map();
  const rowRe = /\{ PROTO_(\w+), "(\w+)",\s*([^,]+),\s*([^,]+),\s*([01]), ([01]), ([012]),\s*(NULL|&pl_\w+), (NULL|&pl_\w+) \}/g;
  const layoutOf = (ref) => {
    if (ref === 'NULL') return null;
    const l = layouts.get(ref.slice(1));
    if (!l) throw new Error(`msgtab.c: no layout ${ref}`);
    return l;
  };
  for (const m of source('msgtab.c').matchAll(rowRe)) {
    rows.set(types[m[1]], { type: types[m[1]], name: m[2], from: m[3].trim(), to: m[4].trim(), who: m[7] !== '0',
      req: layoutOf(m[8]), rep: layoutOf(m[9]) });
  }
  return { types, layouts, rows };
}

export const TABLE = readTable();
export const T = TABLE.types;
export const F = { REPLY: 1, ERROR: 2, FD: 4, EARLY: 8, SHARE: 16, SHARE_LONG: 32 };

// The types whose payload starts with who asks (proto/msgtab.c's `who`
// column): call() puts it first, as the install key (parleyctl: as itself).
export const WHO_TYPES = new Set([...TABLE.rows.values()].filter((r) => r.who).map((r) => r.type));
export const WHO = { PUBLIC: 0, KEY: 1, SESSION: 2, CTL: 3, ORGKEY: 4 };
// A role in an organisation (proto/storemsg.h, enum st_role).
export const ROLE = { NONE: 0, AGENT: 1, ADMIN: 2, OWNER: 3 };
export const PROTO_VERSION = 2;
// The message table's fingerprint (proto/msgtab.h's proto_layouts_id),
// which every HELLO carries and a peer's must equal: the built
// programs', as parley-storaged --version prints it (a BigInt).
let layouts = null;
export function layoutsId() {
  if (layouts === null) {
    const v = execFileSync(path.join(BIN, 'parley-storaged'), ['--version'], { encoding: 'utf8' });
    const m = /\(protocol (\d+), messages ([0-9a-f]{16})\)$/m.exec(v);
    if (!m || Number(m[1]) !== PROTO_VERSION) throw new Error(`parley-storaged --version: ${v.trim()}`);
    layouts = BigInt(`0x${m[2]}`);
  }
  return layouts;
}
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
  u64n() { this.need(8); return this.b.readBigUInt64BE((this.off += 8) - 8); }
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

// The HELLO of a process named as (its name decides what storaged lets it
// ask), with this build's version and message table.
export const helloFrame = (as) => frame(T.HELLO, 0, 0, new Enc().u32(PROTO_VERSION).str(as).u64(layoutsId()).done());

// A conversation and a message (proto/storemsg.h): their rows' codecs
// (records.mjs), the values their C members (a conversation's visitor:
// page_url, referrer, user_agent, language, time_zone).
const CONV = rowCodec('st_conv');
const MSG = rowCodec('st_msg');
export const decConv = (d) => CONV.dec(d);
export const decMsg = (d) => MSG.dec(d);

// An agent (proto/agentmsg.h), as the chat-begin replies carry it: its
// rows' codec (records.mjs), the values its C members.
const AGENT = rowCodec('st_agent');
export const decAgent = (d) => AGENT.dec(d);

// A due job (proto/hookmsg.h): a delivery (its rows' codec), url, secret.
const DELIVERY = rowCodec('st_delivery');

// A mail of the mail outbox (proto/mailmsg.h): its rows' codec.
const MAIL = rowCodec('st_mail');
export const decMail = (d) => MAIL.dec(d);

// A contact (proto/widgetmsg.h): its rows' codec.
const CONTACT = rowCodec('st_contact');
export const decContact = (d) => CONTACT.dec(d);

// An event (proto/agentmsg.h): its head (the kind's 0x80 bit: its records'
// formats follow, which a live event's are today's), its conversation, what
// its kind carries.
export function decEvent(d) {
  const ev = { epoch: d.u64(), seq: d.u64(), at: d.u64(), kind: d.u8() };
  if (ev.kind & 0x80) {
    ev.kind &= 0x7f;
    const formats = [d.u8(), d.u8(), d.u8()];
    const today = ['st_conv', 'st_msg', 'st_contact'].map(recordFormat);
    if (formats.join() !== today.join()) throw new Error(`decode: event formats ${formats} (today ${today})`);
  }
  ev.conv = decConv(d);
  switch (ev.kind) {
    case 1: case 6: case 7: break;	// created, deleted, its state: the conversation alone
    case 2: ev.msg = decMsg(d); break;	// msg.cited: a reply's passages, in the visitor's sockets' encoding alone
    case 3: ev.state = d.u8(); ev.name = d.str(); break;
    case 4: ev.contact = decContact(d); break;
    case 5: ev.on = d.u8(); ev.name = d.str(); break;
    default: throw new Error(`decode: event kind ${ev.kind}`);
  }
  return ev;
}

const STATS = ['conversations', 'messages', 'widgets', 'contacts', 'ownerSessions', 'visitorSessions', 'fileSize',
  'mapSize', 'lastPgno', 'lastTxnid', 'pageSize:u32', 'maxReaders:u32', 'readers:u32', 'branchPages', 'leafPages',
  'overflowPages'];

// The records with codecs of their own (stmsgs.c's RECORD), by their C
// struct, and those with rows (its ROWS, proto/record.h): their rows' codec.
const RECORDS = {
  ...Object.fromEntries([...TABLE.layouts.values()].filter((l) => l.rows).map((l) => [l.record, rowCodec(l.record)])),
  // Rows, but stmsgs.c's RECORD: pdec_conv and pdec_msg refuse what
  // their rows' bounds alone do not (an unread past 1, a rating past 5, a
  // thumb past down).
  st_conv: CONV,
  st_msg: MSG,
  st_hook_job: { dec: (d) => ({ d: DELIVERY.dec(d), url: d.str(), secret: d.str(), old_secret: d.str() }) },
  st_event: { dec: decEvent },
  st_stats: {
    dec: (d) => Object.fromEntries(STATS.map((f) => f.split(':')).map(([f, k]) => [f, k ? d.u32() : d.u64()])),
  },
  mseries: {
    enc: (e, s) => e.u8(s.kind).str(s.name).str(s.labels).u64(s.value),
    dec: (d) => ({ kind: d.u8(), name: d.str(), labels: d.str(), value: d.u64n() }),
  },
  // Bytes of anything (replication's record parts and snapshot chunks).
  st_blob: { enc: (e, b) => e.bytes(b), dec: (d) => Buffer.from(d.bytes()) },
  st_kb_bytes: { enc: (e, b) => e.bytes(b), dec: (d) => Buffer.from(d.bytes()) },
  // Embeddings: u32 dim, u32 min_score, bytes of dim-float rows (none: dim 0).
  st_kb_vecs: {
    enc: (e, v) => e.u32(v.dim).u32(v.min_score).bytes(v.data),
    dec: (d) => ({ dim: d.u32(), min_score: d.u32(), data: Buffer.from(d.bytes()) }),
  },
  // An event as bytes: exactly one event inside.
  st_evblob: {
    enc: (e, b) => e.bytes(b),
    dec: (d) => { const b = d.bytes(); const in1 = new Dec(b); decEvent(in1); in1.end(); return Buffer.from(b); },
  },
};

const holds = (f, v) => v[f.tag] < 32 && ((f.mask >>> v[f.tag]) & 1) === 1;

// Appends v as layout l says: v's keys are the C struct's members (a list
// an array, its count implied; a group present when its tag holds).
function encodeLayout(e, l, v, where) {
  if (l.record) {
    const r = RECORDS[l.record];
    if (!r || !r.enc) throw new Error(`${where}: no JS encoder for the record ${l.record}`);
    r.enc(e, v);
    return;
  }
  const known = new Set(l.fields.flatMap((f) => (f.kind === 'list' ? [f.name, f.count] : [f.name])));
  for (const key of Object.keys(v)) if (!known.has(key)) throw new Error(`${where}: no field ${key} in ${l.name}`);
  for (const f of l.fields) {
    const x = v[f.name];
    if (x === undefined && !(f.kind === 'when' && !holds(f, v))) throw new Error(`${where}: ${f.name} left out (${l.name})`);
    switch (f.kind) {
      case 'u8': e.u8(x); break;
      case 'u32': e.u32(x); break;
      case 'u64': e.u64(x); break;
      case 'str': e.str(x); break;
      case 'bytes': e.bytes(x); break;
      case 'rec': encodeLayout(e, TABLE.layouts.get(f.sub), x, `${where}.${f.name}`); break;
      case 'list':
        if (f.same && x.length !== v[l.fields.find((g) => g.count === f.count && !g.same).name].length)
          throw new Error(`${where}: ${f.name} is not as long as the list whose count it shares`);
        if (!f.same) e.u32(x.length);
        for (const y of x) encodeLayout(e, TABLE.layouts.get(f.sub), y, `${where}.${f.name}[]`);
        break;
      case 'when': if (holds(f, v)) encodeLayout(e, TABLE.layouts.get(f.sub), x, `${where}.${f.name}`); break;
      default: throw new Error(`${where}: field kind ${f.kind}`);
    }
  }
}

function decodeLayout(d, l, where) {
  if (l.record) {
    const r = RECORDS[l.record];
    if (!r) throw new Error(`${where}: no JS decoder for the record ${l.record}`);
    return r.dec(d);
  }
  const v = {};
  for (const f of l.fields) {
    const sub = () => decodeLayout(d, TABLE.layouts.get(f.sub), `${where}.${f.name}`);
    switch (f.kind) {
      case 'u8': v[f.name] = d.u8(); break;
      case 'u32': v[f.name] = d.u32(); break;
      case 'u64': v[f.name] = d.u64n(); break;
      case 'str': v[f.name] = d.str(); break;
      case 'bytes': v[f.name] = Buffer.from(d.bytes()); break;
      case 'rec': v[f.name] = sub(); break;
      case 'list': {
        const n = f.same ? v[l.fields.find((g) => g.count === f.count && !g.same).name].length : d.u32();
        if (n > d.b.length - d.off) throw new Error(`decode: ${where}.${f.name}: ${n} elements past the payload`);
        v[f.name] = Array.from({ length: n }, sub);
        break;
      }
      case 'when': if (holds(f, v)) v[f.name] = sub(); break;
      default: throw new Error(`${where}: field kind ${f.kind}`);
    }
  }
  return nested(v);
}

// A field named by a member's path (PFBUF(struct T, a.id)):
// {a: {id}} in JS, as the C struct holds it.
function nested(v) {
  for (const key of Object.keys(v)) {
    if (!key.includes('.')) continue;
    const path = key.split('.');
    let o = v;
    for (const p of path.slice(0, -1)) o = o[p] ??= {};
    o[path.at(-1)] = v[key];
    delete v[key];
  }
  return v;
}

function layoutFor(type, reply) {
  const row = TABLE.rows.get(type);
  const l = row && (reply ? row.rep : row.req);
  if (!l) throw new Error(`type 0x${type.toString(16)}: no ${reply ? 'reply' : 'request'} layout in msgtab.c`);
  return [row, l];
}

// A payload of type by its table layout: the request (or an unasked
// message's), or with reply the reply. u64 fields as numbers or BigInts.
export function encodeAs(type, reply, values) {
  const [row, l] = layoutFor(type, reply);
  const e = new Enc();
  encodeLayout(e, l, values, `${row.name} ${reply ? 'reply' : 'request'}`);
  return e.done();
}

// A payload of type read by its layout to its last byte (else it throws).
// u64 fields come as BigInts, records as their decoders give them.
export function decodeAs(type, reply, payload) {
  const [row, l] = layoutFor(type, reply);
  const d = new Dec(payload);
  const v = decodeLayout(d, l, `${row.name} ${reply ? 'reply' : 'request'}`);
  d.end();
  return v;
}

export const req = (type, values = {}) => encodeAs(type, 0, values);
// A worker's ST_CHAT_BEGIN on the default widget: the visitor's message
// in session, counted under rate key key (rateMax 0: no limit).
export const chatBegin = (session, message, { key = `k-${session}`, rateMax = 0 } = {}) => req(T.ST_CHAT_BEGIN, {
  widget: 'default', session, content: message, rate_key: key, window_ms: 60000, rate_max: rateMax, history_max: 20,
  visitor: { page_url: '', referrer: '', user_agent: '', language: '', time_zone: '' }, token: Buffer.alloc(0), atts: [] });
export const rep = (type, payload) => decodeAs(type, 1, payload);

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
    // Set to an array, the frames as they come: 'reply TYPE' or 'event TYPE'.
    this.order = null;
    sock.on('data', (d) => this._onData(d));
    sock.on('error', () => {});
    sock.on('close', () => this._onClose());
  }

  // name: the test's label for this client; as: the process it speaks
  // for in its HELLO, which decides what storaged lets it ask
  // (proto/msgtab.c): a worker's requests unless told otherwise.
  static connect(path, opts = {}) {
    return StorageClient._over(() => net.connect({ path }), 'connect', path, opts);
  }

  // The same over TLS to storaged's listener on 127.0.0.1:port, with
  // certs ({ca, cert, key}: a cluster certificate, PEM).
  static connectTls(port, certs, opts = {}) {
    return StorageClient._over(() => tls.connect({ host: '127.0.0.1', port, minVersion: 'TLSv1.3', ...certs }),
      'secureConnect', `tls port ${port}`, opts);
  }

  // A client on the socket dial() makes, saying HELLO once it emits ready.
  static _over(dial, ready, where, { name = 'itest', as = 'parley-workerd', timeout = 3000 } = {}) {
    return new Promise((resolve, reject) => {
      const sock = dial();
      let connected = false;
      const t = setTimeout(() => {
        sock.destroy();
        reject(new Error(`storage connect timeout ${where} (${connected ? 'connected, no HELLO' : 'not connected'} in ${timeout} ms)`));
      }, timeout);
      sock.once('error', (e) => { clearTimeout(t); reject(e); });
      sock.once(ready, () => {
        connected = true;
        const c = new StorageClient(sock, name);
        c.as = as;
        sock.write(helloFrame(as));
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
          const layoutsOf = version === PROTO_VERSION ? dd.u64n() : null;
          this.peerHello = { version, name, layouts: layoutsOf };
          if (version !== PROTO_VERSION) throw new Error(`storaged HELLO version ${version}`);
          if (layoutsOf !== layoutsId()) throw new Error(`storaged HELLO layouts ${layoutsOf.toString(16)}`);
          if (this._helloWaiter) { this._helloWaiter(null); this._helloWaiter = null; }
        } catch (e) { this._fail(e); return; }
        continue;
      }
      if (id === 0 && flags === 0 && type === T.ST_EV_ROLE) {
        // Which storaged this is (after its HELLO): kept, not an event.
        this.role = payload;
        continue;
      }
      if (this.order) this.order.push(`${id === 0 && flags === 0 ? 'event' : 'reply'} ${type}`);
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

  // The payload as sent: who asks first for WHO_TYPES (opts.who: [kind,
  // id, org, role, user]; org "default", role owner and user "" unless given).
  withWho(type, payload, who) {
    if (!WHO_TYPES.has(type)) return payload;
    const [kind, id, org = 'default', role = ROLE.OWNER, user = ''] =
      who || (this.as === 'parleyctl' ? [WHO.CTL, 'uid 0'] : [WHO.KEY, 'install']);
    return Buffer.concat([new Enc().u8(kind).str(id).str(org).u8(role).str(user).done(), payload]);
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

  // A request by its table layout (values: its C struct's members), the reply decoded by its.
  async ask(type, values, opts) {
    return rep(type, await this.call(type, req(type, values), opts));
  }

  async ping(opts) {
    await this.ask(T.ST_PING, {}, opts);
    return true;
  }

  async convOpen(widget, session, opts) {
    const r = await this.ask(T.ST_CONV_OPEN, { widget, session }, opts);
    return { created: r.created !== 0, conv: r.conv };
  }

  // A message stored; the reply: {id} (st_msg_stored). cited: the cited
  // passages' JSON a reply's copy carries to the visitor's other sockets.
  async msgAppend(convId, role, content, status = 'complete', promptTokens = 0, completionTokens = 0, opts) {
    return this.ask(T.ST_MSG_APPEND, { conv_id: convId, role, content, status, prompt_tokens: promptTokens,
      completion_tokens: completionTokens, sources: [], knowledge: 0, tools: [], cited: '', question: '' }, opts);
  }

  async convList(limit = 100, cursor = '', opts) {
    const r = await this.ask(T.ST_CONV_LIST, { limit, cursor }, opts);
    return { total: Number(r.total), convs: r.convs, nextCursor: r.next_cursor };
  }

  async convGet(convId, maxMessages = 1000, opts) {
    const r = await this.ask(T.ST_CONV_GET, { conv_id: convId, max_messages: maxMessages }, opts);
    return { conv: r.conv, messages: r.msgs, truncated: r.truncated !== 0 };
  }

  // A visitor's contact details (the WebSocket's contact_info). The rate
  // fields always go (rate_max 0: not counted); origin is the socket's
  // ('' none: refused by a widget with allowed_origins); create as a
  // socket whose session was never stored sends it (false: no session
  // under the token is NO_SESSION). The reply:
  // {result, contact when ST_WS_OK, retry_ms when LIMITED}.
  async contactSubmit(widgetId, tokenHash, { name = '', email = '', phone = '' } = {},
    { rateKey = '', windowMs = 0, rateMax = 0, origin = '', create = true } = {}, opts) {
    return this.ask(T.ST_CONTACT_SUBMIT, { widget_id: widgetId, token: tokenHash, name, email, phone,
      rate_key: rateKey, window_ms: windowMs, rate_max: rateMax, origin, create: create ? 1 : 0 }, opts);
  }

  close() { this.sock.end(); this.sock.destroy(); }
}

// A TLS connection to storaged's listener at host:port (opts: tls.connect's
// ca, cert, key...), saying HELLO once the handshake is done; resolves with
// what happened: {hello: storaged's HELLO arrived, error, closedMs} once it
// closed or hello arrived (then it is closed by us), or at timeout ms.
export function tlsProbe(port, opts, { sendHello = true, host = '127.0.0.1', timeout = 10000 } = {}) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const s = tls.connect({ host, port, minVersion: 'TLSv1.3', ...opts });
    let buf = Buffer.alloc(0);
    let t = null;
    const done = (r) => { clearTimeout(t); s.destroy(); resolve({ ...r, closedMs: Date.now() - t0 }); };
    t = setTimeout(() => done({ hello: false, error: `nothing within ${timeout} ms` }), timeout);
    s.on('secureConnect', () => {
      if (sendHello) s.write(helloFrame('parley-workerd'));
    });
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 12 && buf.readUInt16BE(0) === T.HELLO) done({ hello: true });
    });
    s.on('error', (e) => done({ hello: false, error: e.message }));
    s.on('close', () => done({ hello: false }));
  });
}
