// The stored records described by rows (proto/record.h), read from the C
// headers when this module loads: each `#define ST_<NAME>_ROWS(F)` list
// (proto/recordtab.h) and the struct whose members it makes (its RL_RECORD,
// in its own header), and the value of the headers' C constants
// (constant()). Plain ESM, no npm packages: the build runs it
// (scripts/openapi.mjs) and so do the tests (tests/integration/lib/records.mjs).
import fs from 'node:fs';

const PROTO = new URL('../proto/', import.meta.url);
const LIB = new URL('../lib/', import.meta.url);

const headers = (dir) => fs.readdirSync(dir).filter((n) => n.endsWith('.h'));

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

// A row from F's arguments, as written (bound, x and least: C
// expressions; least, a number's least value, is '0' where the row
// leaves it out).
const row = (a, file) => ({
  kind: a[0], member: a[1], json: JSON.parse(a[2]), since: Number(a[3]), bit: a[4],
  view: VIEW[a[5]], bound: a[6], x: a[7], least: a[8] ?? '0', file,
});

// Every record with rows: struct name -> [{kind, member, json, since, bit, view, bound, x, least, file}].
function readRecords() {
  const records = new Map();
  const texts = headers(PROTO).map((f) => [f, fs.readFileSync(new URL(f, PROTO), 'utf8')]);
  const all = texts.map(([, text]) => text).join('\n');
  for (const [f, text] of texts) {
    for (const m of text.matchAll(/^#define (ST_\w+_ROWS)\(F\)((?:.*\\\n)*.*)$/gm)) {
      const owner = new RegExp(`RL_RECORD\\((\\w+), \\w+, ${m[1]}\\)`).exec(all);
      if (!owner) throw new Error(`${f}: no struct made of ${m[1]}`);
      records.set(owner[1], rowCalls(m[2].replace(/\\\n/g, ' ')).map((a) => row(a, f)));
    }
  }
  return records;
}

export const RECORDS = readRecords();

// The JSON key row r is under in view ('read', 'write' or 'pub'; read when
// none): a secret is written as itself and shown as whether it is set.
export const shownName = (r, view = 'read') => (r.kind === 'SECRET' && view !== 'write' ? `${r.json}_set` : r.json);

// The headers' #defines (proto/ and lib/) and proto/'s ST_ enum values:
// name -> its C text.
function readDefines() {
  const k = new Map([['UINT32_MAX', '4294967295']]);
  for (const dir of [PROTO, LIB])
    for (const f of headers(dir))
      for (const m of fs.readFileSync(new URL(f, dir), 'utf8').matchAll(/^#define\s+([A-Z]\w+)\s+([^/\n]+?)\s*(?:\/\*.*)?$/gm))
        k.set(m[1], m[2]);
  for (const f of headers(PROTO))
    for (const m of fs.readFileSync(new URL(f, PROTO), 'utf8').matchAll(/\b(ST_\w+) = (\d+)/g)) k.set(m[1], m[2]);
  return k;
}

const DEFINES = readDefines();

// <stdint.h>'s limits the rows use as bounds.
const STDINT = { UINT8_MAX: 255, UINT16_MAX: 65535, UINT32_MAX: 4294967295, INT32_MAX: 2147483647 };

// The value of a C constant expression of the headers' #defines
// ("ST_NAME_MAX", "4 * ST_STARTER_MAX"): a number.
export function constant(expr, depth = 0) {
  if (depth > 8) throw new Error(`constant: ${expr} goes too deep`);
  const text = String(expr).replace(/\b0[xX]([0-9a-fA-F]+)[uU]?\b/g, (_, hex) => String(parseInt(hex, 16)))
    .replace(/\b[A-Z_][A-Z0-9_]*\b/g, (id) => {
      if (STDINT[id] !== undefined) return String(STDINT[id]);
      if (!DEFINES.has(id)) throw new Error(`constant: no #define ${id}`);
      return `(${constant(DEFINES.get(id), depth + 1)})`;
    }).replace(/(\d+)[uU]\b/g, '$1');
  if (!/^[\d\s()+*-]+$/.test(text)) throw new Error(`constant: not arithmetic: ${expr}`);
  return Function(`return (${text});`)();
}
