// The stored records described by rows (proto/record.h): each row read from
// the C header (scripts/rows.mjs) is a property of the record's OpenAPI
// schemas in the generated document (build/gen/openapi.json, made by
// scripts/openapi.mjs from the template workerd/site/openapi.json), of the
// right type and bound, in the views its row says; the template writes none
// of what the rows give, and a row added gets its properties. And a value
// for every row goes through the admin API's JSON, storaged's C codec and
// LMDB, and comes back the same through the API and through the test
// harness's codec of the same rows. storage.test.mjs checks the harness's
// codec against the C encodings byte for byte.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';

import { generate, SCHEMAS as VIEWS } from '../../scripts/openapi.mjs';
import { Parley } from './lib/harness.mjs';
import { adminCall, checkerFor } from './lib/openapi.mjs';
import { constant, RECORDS, shownName } from './lib/records.mjs';
import { T } from './lib/storage.mjs';

const readJson = (path) => JSON.parse(fs.readFileSync(new URL(path, import.meta.url), 'utf8'));
const OPENAPI = readJson('../../build/gen/openapi.json');
const TEMPLATE = readJson('../../workerd/site/openapi.json');
const SCHEMAS = OPENAPI.components.schemas;


// The JSON types of a row's kind (OWN kinds: a schema of their own, $ref).
const TYPES = {
  BUF: ['string'], SECRET: ['boolean'], TEXT: ['string', 'null'], STR: ['string'], BOOL: ['boolean'],
  ENUM: ['string'], U32: ['integer'], COUNT: ['integer', 'null'], TIME: ['integer'], LIST: ['array'],
  ARRAY: ['array'],
};

function checkProperty(name, r, p, view) {
  const where = `${name}.${shownName(r)} (${r.kind} row of ${r.file})`;
  assert.ok(p, `${where}: in the schema`);
  if (!TYPES[r.kind]) {
    assert.ok(p.$ref || p.oneOf || p.anyOf, `${where}: a schema of its own`);
    return;
  }
  // A request may send null for a string's default (agent_id, language).
  const types = [p.type].flat();
  if (view === 'write' && (r.kind === 'BUF' || r.kind === 'STR')) assert.deepEqual(types.filter((x) => x !== 'null'), TYPES[r.kind], `${where}: its type`);
  else assert.deepEqual(types, TYPES[r.kind], `${where}: its type`);
  const bound = constant(r.bound);
  // A string's bound: its maxLength, or its pattern's {0,bound}.
  if (r.kind === 'TEXT' || r.kind === 'STR')
    assert.equal(p.maxLength ?? Number(/\{0,(\d+)\}\$$/.exec(p.pattern ?? '')?.[1]), bound, `${where}: its maxLength`);
  if (r.kind === 'U32' || r.kind === 'COUNT') assert.equal(p.maximum, bound, `${where}: its maximum`);
  if (r.kind === 'LIST' || r.kind === 'ARRAY') assert.equal(p.maxItems, bound, `${where}: its maxItems`);
  if (r.kind === 'ENUM') assert.equal(p.enum.length, bound + 1, `${where}: its names`);
}

// The property names each view of a record's rows shows.
const shownBy = (rows) => ({
  read: rows.filter((r) => r.view !== 'hid').map(shownName),
  write: rows.filter((r) => r.bit !== 'RF_RO').map((r) => r.json),
  pub: rows.filter((r) => r.view === 'pub').map(shownName),
});

test('every row is a property of its record\'s OpenAPI schemas, of its kind\'s type and bound, in its views', () => {
  assert.ok(RECORDS.size >= 1, 'records with rows were read');
  for (const [rec, rows] of RECORDS) {
    const v = VIEWS[rec];
    assert.ok(v, `${rec}: its schemas are named in scripts/openapi.mjs`);
    const want = shownBy(rows);
    for (const view of ['read', 'write', 'pub']) {
      const s = SCHEMAS[v[view]];
      assert.deepEqual(Object.keys(s.properties).sort(), [...want[view], ...v.extra[view]].sort(),
        `${v[view]}: exactly the ${view} rows of ${rec}`);
      for (const r of rows)
        if (want[view].includes(shownName(r)) || want[view].includes(r.json))
          checkProperty(v[view], r, s.properties[shownName(r)] ?? s.properties[r.json], view);
      // What is always there is required, in what is read.
      if (view !== 'write')
        for (const k of want[view]) assert.ok((s.required ?? []).includes(k), `${v[view]}: ${k} required`);
    }
  }
});

// What scripts/openapi.mjs writes for a row-backed property (and its items).
const GENERATED = ['type', 'maxLength', 'minimum', 'maximum', 'maxItems'];
const GENERATED_ITEMS = ['type', 'maxLength'];

test('the template writes nothing the rows give: no type or bound of a row-backed property, no row in required', () => {
  const schemas = TEMPLATE.components.schemas;
  for (const [rec, rows] of RECORDS) {
    const want = shownBy(rows);
    for (const view of ['read', 'write', 'pub']) {
      const name = VIEWS[rec][view];
      for (const k of want[view]) {
        const p = schemas[name].properties?.[k] ?? {};
        for (const g of GENERATED) assert.ok(!(g in p), `template ${name}.${k}: ${g} is generated`);
        for (const g of GENERATED_ITEMS) assert.ok(!(g in (p.items ?? {})), `template ${name}.${k}.items: ${g} is generated`);
      }
      for (const k of schemas[name].required ?? [])
        assert.ok(!want[view].includes(k), `template ${name}.required: ${k} is a row's (generated)`);
    }
  }
});

test('a TEXT row added is a property of the read, write and public schemas, with its maxLength', () => {
  const rows = RECORDS.get('st_widget');
  const motto = { kind: 'TEXT', member: 'motto', json: 'motto', since: 99, bit: 'ST_WF_MOTTO', view: 'pub', bound: 'ST_NAME_MAX', x: '0', file: 'widgetmsg.h' };
  const doc = generate(TEMPLATE, new Map([['st_widget', [...rows, motto]]]));
  const want = { type: ['string', 'null'], maxLength: constant('ST_NAME_MAX') };
  for (const name of ['Widget', 'WidgetInput', 'WidgetPublicConfig']) {
    const s = doc.components.schemas[name];
    assert.deepEqual(s.properties.motto, want, `${name}.motto`);
    assert.equal(Object.keys(s.properties).at(-1), 'motto', `${name}: the new row last`);
    if (name !== 'WidgetInput') assert.ok(s.required.includes('motto'), `${name}: motto required`);
  }
  // An admin-only row is in neither the public schema nor, read-only, the input.
  const ro = { ...motto, bit: 'RF_RO', view: 'adm' };
  const adm = generate(TEMPLATE, new Map([['st_widget', [...rows, ro]]])).components.schemas;
  assert.deepEqual(adm.Widget.properties.motto, want);
  assert.ok(!('motto' in adm.WidgetInput.properties) && !('motto' in adm.WidgetPublicConfig.properties));
});

// Strings with a form of their own (a BUF row's); a new plain row needs none.
const FORMED = { primary_color: '#123abc', text_color: '#fedcba', language: 'fr' };
// Rows that need another first (identity_required: a secret), or that take
// another form (agent_id: an agent; business_hours: its own schema).
const LEFT = new Set(['identity_required', 'agent_id', 'business_hours']);

// A value for every row a request sets, none its default.
function valuesFor(rows, schema) {
  const body = {};
  for (const r of rows.filter((x) => x.bit !== 'RF_RO' && !LEFT.has(x.json))) {
    const p = schema.properties[r.json];
    switch (r.kind) {
      case 'TEXT': case 'STR': body[r.json] = `x-${r.member}`; break;
      case 'BOOL': body[r.json] = r.x !== '1'; break;
      case 'ENUM': body[r.json] = p.enum[p.enum.length - 1]; break;
      case 'U32': case 'COUNT': body[r.json] = Math.min(constant(r.bound), 7); break;
      case 'LIST': body[r.json] = ['https://a.example']; break;
      case 'ARRAY': body[r.json] = ['A question?']; break;
      case 'BUF':
        assert.ok(r.json in FORMED, `${r.json}: a value of its form in FORMED`);
        body[r.json] = FORMED[r.json];
        break;
      default: assert.fail(`${r.json}: a ${r.kind} row: give it a value or put it in LEFT`);
    }
  }
  return body;
}

// The member as storaged's record holds the JSON value v of row r.
function stored(r, v, schema) {
  switch (r.kind) {
    case 'BOOL': return v ? 1 : 0;
    case 'ENUM': return schema.properties[r.json].enum.indexOf(v);
    case 'TEXT': case 'COUNT': return v ?? (r.kind === 'TEXT' ? '' : 0);
    default: return v;
  }
}

test('a value for every row: through the admin API, storaged and LMDB, back the same by the API and by the harness\'s codec', async (t) => {
  const p = new Parley({ workers: 1 });
  t.after(() => p.stop());
  await p.start();
  const api = await checkerFor(p);
  const rows = RECORDS.get('st_widget');
  const body = valuesFor(rows, SCHEMAS.WidgetInput);
  const made = await adminCall(p, api, 'POST', '/v1/admin/widgets', body);
  assert.equal(made.status, 201, made.body.toString());
  const got = await adminCall(p, api, 'GET', `/v1/admin/widgets/${made.json().widget_id}`);
  assert.equal(got.status, 200);
  const w = got.json();
  for (const [k, v] of Object.entries(body)) assert.deepEqual(w[k], v, `${k} as the API reads it back`);

  // storaged's record, read from LMDB by its C codec, then by the harness's.
  const c = await p.storage({ as: 'parley-workerd' });
  t.after(() => c.close());
  const rec = await c.ask(T.ST_WIDGET_GET, { id: w.widget_id });
  for (const r of rows) {
    if (r.view === 'hid' || r.kind === 'SECRET' || LEFT.has(r.json) || r.kind === 'TIME') continue;
    assert.deepEqual(rec[r.member], stored(r, w[r.json], SCHEMAS.Widget), `${r.member}: stored as the API shows it`);
  }
  assert.equal(rec.created_at, w.created_at);
});
