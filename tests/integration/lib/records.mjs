// The test harness's codec of the stored records (proto/record.h):
// rowCodec() walks a record's rows as the C codec does (proto/record.c), so
// a row added in C is a field here too; the records test checks it against
// the C encodings and the OpenAPI schemas. The rows themselves, and the
// headers' constants, are read from the C headers by scripts/rows.mjs
// (the build's too), re-exported here.
import { constant, RECORDS, shownName } from '../../../scripts/rows.mjs';

export { constant, RECORDS, shownName };

// struct st_visitor's members, in their wire order.
const VISITOR_KEYS = ['page_url', 'referrer', 'user_agent', 'language', 'time_zone'];

// A record's kinds of its own, as its C codec (struct rcodec) writes them.
const OWN = {
  // Business hours (proto/widgetmsg.c): the zone, then n x (day, start, end).
  HOURS: {
    enc: (e, v) => {
      e.str(v.timezone).u32(v.hours.length);
      for (const h of v.hours) e.u8(h.day).u16(h.start).u16(h.end);
    },
    dec: (d, v) => {
      v.timezone = d.str();
      v.hours = Array.from({ length: d.u32() }, () => ({ day: d.u8(), start: d.u16(), end: d.u16() }));
    },
  },
  // A delivery's and a mail's payload (proto/hookmsg.c): bytes, none when
  // absent.
  PAYLOAD: {
    enc: (e, v) => e.bytes(v.payload ?? Buffer.alloc(0)),
    dec: (d, v) => { v.payload = Buffer.from(d.bytes()); },
  },
  // An API key's hash (proto/keymsg.c): 32 bytes, or none (a reply's).
  HASH: {
    enc: (e, v) => e.bytes(v.hash?.length === 32 ? v.hash : Buffer.alloc(0)),
    dec: (d, v) => { v.hash = Buffer.from(d.bytes()); },
  },
  // What the widget told of a conversation's visitor (proto/storemsg.c,
  // penc_visitor): five strings.
  VISITOR: {
    enc: (e, v) => { for (const k of VISITOR_KEYS) e.str(v.visitor[k]); },
    dec: (d, v) => { v.visitor = Object.fromEntries(VISITOR_KEYS.map((k) => [k, d.str()])); },
  },
  // A user's password (proto/usermsg.c): salt, hash, fp, each bytes.
  PASSWORD: {
    enc: (e, v) => e.bytes(v.salt).bytes(v.hash).bytes(v.fp),
    dec: (d, v) => {
      v.salt = Buffer.from(d.bytes());
      v.hash = Buffer.from(d.bytes());
      v.fp = Buffer.from(d.bytes());
    },
  },
  // A user's memberships: n x (org, role); their disabled flags (format 2)
  // are MEMBER_OFF's, a later row: 0 or n flags.
  MEMBERS: {
    enc: (e, v) => {
      e.u32(v.mems.length);
      for (const m of v.mems) e.str(m.org).u8(m.role);
    },
    dec: (d, v) => {
      v.mems = Array.from({ length: d.u32() }, () => ({ org: d.str(), role: d.u8(), disabled: 0 }));
    },
  },
  MEMBER_OFF: {
    enc: (e, v) => {
      e.u32(v.mems.length);
      for (const m of v.mems) e.u8(m.disabled ?? 0);
    },
    dec: (d, v) => {
      const n = d.u32();
      if (n !== 0 && n !== v.mems.length) throw new Error('decode: memberships\' disabled flags: not one each');
      for (let i = 0; i < n; i++) v.mems[i].disabled = d.u8();
    },
  },
  // A message's attachments (proto/storemsg.c, pl_msg_att): n x (id,
  // type, size, name, key).
  ATTS: {
    enc: (e, v) => {
      const a = v.atts ?? [];
      e.u32(a.length);
      for (const x of a) e.str(x.id).u8(x.type).u32(x.size).str(x.name).str(x.key ?? '');
    },
    dec: (d, v) => {
      v.atts = Array.from({ length: d.u32() }, () => ({ id: d.str(), type: d.u8(), size: d.u32(), name: d.str(), key: d.str() }));
    },
  },
};

function encRow(e, r, v) {
  const x = v[r.member];
  switch (r.kind) {
    case 'BUF': case 'SECRET': case 'TEXT': case 'STR': case 'BYTES': e.str(x); break;
    case 'BOOL': case 'ENUM': case 'U8': e.u8(x); break;
    case 'U32': case 'COUNT': e.u32(x); break;
    case 'TIME': e.u64(x); break;
    case 'GONE': e.str(''); break; // an older format's row, written empty
    case 'LIST': case 'ARRAY': e.u32(x.length); for (const s of x) e.str(s); break;
    default:
      if (!OWN[r.kind]) throw new Error(`${r.file}: a kind of row I do not know: ${r.kind}`);
      OWN[r.kind].enc(e, v);
  }
}

function decRow(d, r, v) {
  switch (r.kind) {
    case 'BUF': case 'SECRET': case 'TEXT': case 'STR': case 'BYTES': v[r.member] = d.str(); break;
    case 'BOOL': case 'ENUM': case 'U8': v[r.member] = d.u8(); break;
    case 'U32': case 'COUNT': v[r.member] = d.u32(); break;
    case 'TIME': v[r.member] = d.u64(); break;
    case 'GONE': d.str(); break; // an older format's row, dropped
    case 'LIST': case 'ARRAY': v[r.member] = Array.from({ length: d.u32() }, () => d.str()); break;
    default:
      if (!OWN[r.kind]) throw new Error(`${r.file}: a kind of row I do not know: ${r.kind}`);
      OWN[r.kind].dec(d, v);
  }
}

// The codec of the record struct name: {enc(e, v), dec(d)}, v's keys its
// rows' members (a LIST or ARRAY an array; business hours timezone and hours;
// a visitor an object of its five strings).
// version: the record format to read and write (default today's, for an
// older one its rows then: recordRow's).
export function rowCodec(name, version = recordFormat(name)) {
  const all = RECORDS.get(name);
  if (!all) throw new Error(`no rows for ${name}`);
  const rows = all.filter((r) => rowIn(r, version));
  return {
    enc: (e, v) => { for (const r of rows) encRow(e, r, v); },
    dec: (d) => { const v = {}; for (const r of rows) decRow(d, r, v); return v; },
  };
}

// Whether row r is written in a record's format version: from its since, and a
// GONE row until the format that dropped it (its x).
const rowIn = (r, version) => r.since <= version && (r.kind !== 'GONE' || version < constant(r.x));

// The format a record is written in today (rl_version): its newest row's
// since, a GONE row's x (the format that dropped it).
export function recordFormat(name) {
  const rows = RECORDS.get(name);
  if (!rows) throw new Error(`no rows for ${name}`);
  return Math.max(...rows.map((r) => (r.kind === 'GONE' ? constant(r.x) : r.since)));
}

// What the admin API shows for a new record's row when nothing set it: the
// kind's own default (proto/record.h: TEXT null, STR "", COUNT null for 0,
// a number its x...). BUF, ENUM and a record's own kinds have no generic
// default: undefined, for the test to give.
export function shownDefault(r) {
  switch (r.kind) {
    case 'TEXT': return null;
    case 'STR': return '';
    case 'BOOL': return constant(r.x) !== 0;
    case 'U8': case 'U32': return constant(r.x);
    case 'COUNT': return constant(r.x) || null;
    case 'TIME': return 0;
    case 'LIST': case 'ARRAY': return [];
    default: return undefined;
  }
}


// A new record as the admin API shows it: each shown row's default, then
// the test's own values (given) over them.
export function shownDefaults(name, given) {
  const out = {};
  for (const r of RECORDS.get(name)) {
    if (r.view === 'hid') continue;
    out[shownName(r)] = r.kind === 'SECRET' ? false : shownDefault(r);
  }
  return { ...out, ...given };
}
