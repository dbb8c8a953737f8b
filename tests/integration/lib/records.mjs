// The stored records described by rows (proto/record.h), read from the C
// headers when this module loads: each `#define ST_<NAME>_ROWS(F)` list and
// the struct whose members it makes. rowCodec() walks a record's rows as
// the C codec does (proto/record.c), so a row added in C is a field here
// too; the records test checks both against the C encodings and the
// OpenAPI schemas.
import fs from 'node:fs';

const PROTO = new URL('../../../proto/', import.meta.url);

// The arguments of each F(...) in a list macro's body.
function rowCalls(body) {
  const out = [];
  for (const m of body.matchAll(/\bF\(/g)) {
    let depth = 1, i = m.index + 2;
    for (; depth > 0; i++) depth += body[i] === '(' ? 1 : body[i] === ')' ? -1 : 0;
    out.push(body.slice(m.index + 2, i - 1).split(',').map((s) => s.trim()));
  }
  return out;
}

const VIEW = { RF_HID: 'hid', RF_PUB: 'pub', RF_ADM: 'adm' };

// Every record with rows: struct name -> [{kind, member, json, since, bit, view, bound, x}].
function readRecords() {
  const records = new Map();
  for (const f of fs.readdirSync(PROTO).filter((n) => n.endsWith('.h'))) {
    const text = fs.readFileSync(new URL(f, PROTO), 'utf8');
    for (const m of text.matchAll(/^#define (ST_\w+_ROWS)\(F\)((?:.*\\\n)*.*)$/gm)) {
      const owner = new RegExp(`struct (\\w+) \\{\\s*${m[1]}\\(RF_MEMBER\\)`).exec(text);
      if (!owner) throw new Error(`${f}: no struct made of ${m[1]}`);
      const rows = rowCalls(m[2].replace(/\\\n/g, ' ')).map((a) => ({
        kind: a[0], member: a[1], json: JSON.parse(a[2]), since: Number(a[3]), bit: a[4],
        view: VIEW[a[5]], bound: a[6], x: a[7], file: f,
      }));
      records.set(owner[1], rows);
    }
  }
  return records;
}

export const RECORDS = readRecords();

// The record format of rows: the newest row's since.
export const versionOf = (rows) => Math.max(...rows.map((r) => r.since));

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
};

function encRow(e, r, v) {
  const x = v[r.member];
  switch (r.kind) {
    case 'BUF': case 'SECRET': case 'TEXT': case 'STR': case 'BYTES': e.str(x); break;
    case 'BOOL': case 'ENUM': e.u8(x); break;
    case 'U32': case 'COUNT': e.u32(x); break;
    case 'TIME': e.u64(x); break;
    case 'LIST': case 'ARRAY': e.u32(x.length); for (const s of x) e.str(s); break;
    default:
      if (!OWN[r.kind]) throw new Error(`${r.file}: a kind of row I do not know: ${r.kind}`);
      OWN[r.kind].enc(e, v);
  }
}

function decRow(d, r, v) {
  switch (r.kind) {
    case 'BUF': case 'SECRET': case 'TEXT': case 'STR': case 'BYTES': v[r.member] = d.str(); break;
    case 'BOOL': case 'ENUM': v[r.member] = d.u8(); break;
    case 'U32': case 'COUNT': v[r.member] = d.u32(); break;
    case 'TIME': v[r.member] = d.u64(); break;
    case 'LIST': case 'ARRAY': v[r.member] = Array.from({ length: d.u32() }, () => d.str()); break;
    default:
      if (!OWN[r.kind]) throw new Error(`${r.file}: a kind of row I do not know: ${r.kind}`);
      OWN[r.kind].dec(d, v);
  }
}

// The codec of the record struct name: {enc(e, v), dec(d)}, v's keys its
// rows' members (a LIST or ARRAY an array; business hours timezone and hours).
export function rowCodec(name) {
  const rows = RECORDS.get(name);
  if (!rows) throw new Error(`no rows for ${name}`);
  return {
    enc: (e, v) => { for (const r of rows) encRow(e, r, v); },
    dec: (d) => { const v = {}; for (const r of rows) decRow(d, r, v); return v; },
  };
}

// The value of a C constant expression of the headers' #defines
// ("ST_NAME_MAX", "4 * ST_STARTER_MAX"): a number.
const DEFINES = (() => {
  const k = new Map([['UINT32_MAX', '4294967295']]);
  for (const dir of [PROTO, new URL('../../../lib/', import.meta.url)])
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.h')))
      for (const m of fs.readFileSync(new URL(f, dir), 'utf8').matchAll(/^#define\s+([A-Z]\w+)\s+([^/\n]+?)\s*(?:\/\*.*)?$/gm))
        k.set(m[1], m[2]);
  for (const m of fs.readFileSync(new URL('widgetmsg.h', PROTO), 'utf8').matchAll(/\b(ST_\w+) = (\d+)/g)) k.set(m[1], m[2]);
  return k;
})();

export function constant(expr, depth = 0) {
  if (depth > 8) throw new Error(`constant: ${expr} goes too deep`);
  const text = String(expr).replace(/\b[A-Z_][A-Z0-9_]*\b/g, (id) => {
    if (!DEFINES.has(id)) throw new Error(`constant: no #define ${id}`);
    return `(${constant(DEFINES.get(id), depth + 1)})`;
  }).replace(/(\d+)u\b/g, '$1');
  if (!/^[\d\s()+*-]+$/.test(text)) throw new Error(`constant: not arithmetic: ${expr}`);
  return Function(`return (${text});`)();
}
