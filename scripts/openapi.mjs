// Writes the OpenAPI document the workers serve (build/gen/openapi.json,
// embedded by workerd/site/openapi.c): the hand-written template
// workerd/site/openapi.json with each record's schemas' row-backed
// properties made from the record's rows (proto/record.h, read by
// scripts/rows.mjs). A row gives its property's type and bounds (type,
// maxLength, minimum, maximum, maxItems, items) and its place in the read
// views' `required`; the template keeps the rest (description, pattern,
// default, examples, enum, $ref) and everything else in the document.
// A field added to a record is a row added: no edit here nor in the template.
//
//   node scripts/openapi.mjs [out]	(out: build/gen/openapi.json)
//
// It fails, naming the record and the row, on a row it cannot map.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { constant, RECORDS } from './rows.mjs';

const TEMPLATE = new URL('../workerd/site/openapi.json', import.meta.url);
const OUT = new URL('../build/gen/openapi.json', import.meta.url);

// Each record's schemas: read (every shown row), write (every row a request
// sets), pub (the public rows; none: no public schema); extra: the keys
// beside its rows in each; takesNull: BUF rows a request may also set to
// null (their own handler takes it, workerd/admin/widgets.c). A record
// with rows is a line here.
export const SCHEMAS = {
  st_widget: { read: 'Widget', write: 'WidgetInput', pub: 'WidgetPublicConfig', extra: { read: ['text_agent_id'], write: ['text_agent_id'], pub: ['availability'] }, takesNull: ['agent_id', 'language'] },
};

// Records whose schemas the template still writes whole, checked row by
// row by tests/integration/records.test.mjs: their rows the API shows its
// own way (an agent's temperature) or as null for a built-in record (the
// default agent) are not yet said in SCHEMAS' terms.
export const BY_HAND = new Set(['st_agent', 'st_org']);

// Which rows each view shows.
const SHOWS = {
  read: (r) => r.view !== 'hid',
  write: (r) => r.bit !== 'RF_RO',
  pub: (r) => r.view === 'pub',
};

// The property name of row r in view: a secret is shown as whether it is set.
export const shownName = (r, view) => (r.kind === 'SECRET' && view !== 'write' ? `${r.json}_set` : r.json);

// A string's keys: its bound is its maxLength, unless the template's
// pattern or enum bounds it.
function stringKeys(type, bound, t) {
  return t.pattern || t.enum ? { type } : { type, maxLength: constant(bound) };
}

// A LIST's or ARRAY's strings' characters at most: x is bytes, and
// `4 * N` (the headers' way of writing N characters of UTF-8) is N.
function itemChars(x) {
  const m = /^4\s*\*\s*(.+)$/.exec(x);
  return constant(m ? m[1] : x);
}

// The keys row r gives its property in view (t: the template's entry), or
// null for a kind of the record's own.
function rowKeys(r, view, t, nullable) {
  const write = view === 'write';
  switch (r.kind) {
    case 'BOOL': return { type: 'boolean' };
    case 'SECRET': return write ? stringKeys('string', r.bound, t) : { type: 'boolean' };
    case 'BUF': return stringKeys(write && nullable ? ['string', 'null'] : 'string', r.bound, t);
    case 'STR': return stringKeys(write ? ['string', 'null'] : 'string', r.bound, t);
    case 'TEXT': return stringKeys(['string', 'null'], r.bound, t);
    case 'ENUM': return { type: 'string' };
    case 'U32': return { type: 'integer', minimum: 0, maximum: constant(r.bound) };
    case 'COUNT': return { type: ['integer', 'null'], minimum: 1, maximum: constant(r.bound) };
    case 'TIME': return { type: 'integer', minimum: 0 };
    case 'LIST': case 'ARRAY':
      return { type: 'array', maxItems: constant(r.bound), items: { type: 'string', maxLength: itemChars(r.x) } };
    default: return null;
  }
}

// What the template must give a row: an ENUM's names, an own kind's schema.
function checkTemplate(r, t, keys) {
  if (r.kind === 'ENUM' && !Array.isArray(t.enum))
    throw new Error('an ENUM row: give its property its names (enum) in the template');
  if (r.kind === 'ENUM' && t.enum.length !== constant(r.bound) + 1)
    throw new Error(`${t.enum.length} names in the template's enum, ${constant(r.bound) + 1} values (0 to ${r.bound})`);
  if (keys === null && !t.$ref)
    throw new Error(`a kind of the record's own: give its property a $ref in the template`);
}

// The generated keys first, then the template's others (in items too).
function merge(gen, t) {
  const out = { ...gen };
  for (const [k, v] of Object.entries(t))
    if (!(k in gen)) out[k] = v;
    else if (k === 'items') out.items = merge(gen.items, v);
  return out;
}

// Row r's property in view, from its template entry t ({} when none).
function rowProperty(rec, r, view, t, names) {
  try {
    const keys = rowKeys(r, view, t, (names.takesNull ?? []).includes(r.json));
    checkTemplate(r, t, keys);
    return merge(keys ?? {}, t);
  } catch (e) {
    throw new Error(`${rec}: row ${r.member} ("${r.json}", ${r.kind}, ${r.file}), ${names[view]} (${view}): ${e.message}`);
  }
}

// s's keys in their order, with props and (when given) required after them.
function withProperties(s, props, required) {
  const out = {};
  for (const [k, v] of Object.entries('properties' in s ? s : { ...s, properties: {} })) {
    if (k === 'required') continue;
    out[k] = k === 'properties' ? props : v;
    if (k === 'properties' && required) out.required = required;
  }
  return out;
}

// Template schema s of record rec's view, its row-backed properties made.
function viewSchema(rec, rows, view, s, names) {
  const byName = new Map(rows.filter(SHOWS[view]).map((r) => [shownName(r, view), r]));
  const extra = names.extra?.[view] ?? [];
  const have = s.properties ?? {};
  const props = {};
  for (const [k, t] of Object.entries(have)) {
    if (!byName.has(k) && !extra.includes(k))
      throw new Error(`${rec}: ${names[view]}.${k}: no row shows it in ${view}, nor is it in SCHEMAS' extra (scripts/openapi.mjs)`);
    props[k] = byName.has(k) ? rowProperty(rec, byName.get(k), view, t, names) : t;
  }
  for (const k of extra)
    if (!(k in have)) throw new Error(`${rec}: ${names[view]}.${k}: an extra key the template does not write`);
  for (const [k, r] of byName) if (!(k in props)) props[k] = rowProperty(rec, r, view, {}, names);
  if (view === 'write') return withProperties(s, props, s.required);
  // What is read: every row it shows is always there.
  const more = (s.required ?? []).filter((k) => !byName.has(k));
  const required = Object.keys(props).filter((k) => byName.has(k) || more.includes(k));
  return withProperties(s, props, [...required, ...more.filter((k) => !(k in props))]);
}

// The document from the template (parsed) and the records' rows
// (struct name -> rows, as scripts/rows.mjs reads them).
export function generate(template, records = RECORDS) {
  const doc = structuredClone(template);
  const schemas = doc.components.schemas;
  for (const [rec, rows] of records) {
    const names = SCHEMAS[rec];
    if (!names && BY_HAND.has(rec)) continue;
    if (!names) throw new Error(`${rec}: its rows have no schemas: name them in SCHEMAS (scripts/openapi.mjs)`);
    for (const view of Object.keys(SHOWS).filter((v) => names[v])) {
      if (!schemas[names[view]]) throw new Error(`${rec}: the template has no schema ${names[view]}`);
      schemas[names[view]] = viewSchema(rec, rows, view, schemas[names[view]], names);
    }
  }
  return doc;
}

// file written whole or not at all: a temporary file renamed over it.
function writeAtomic(file, text) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

function main() {
  const out = process.argv[2] ?? fileURLToPath(OUT);
  let template;
  try {
    template = JSON.parse(fs.readFileSync(TEMPLATE, 'utf8'));
  } catch (e) {
    throw new Error(`workerd/site/openapi.json: ${e.message}`);
  }
  writeAtomic(out, `${JSON.stringify(generate(template), null, 2)}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (e) {
    console.error(`scripts/openapi.mjs: ${e.message}`);
    process.exit(1);
  }
}
