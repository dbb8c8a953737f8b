// The stored records described by rows (proto/record.h): each row read from
// the C header (scripts/rows.mjs) is a property of the record's OpenAPI
// schemas in the generated document (build/gen/openapi.json, made by
// scripts/openapi.mjs from the template workerd/site/openapi.json), of the
// right type and bound, in the views its row says (each record's views and
// particulars: the script's SCHEMAS); the template writes none of what the
// rows give, and a row added gets its properties. And a value
// for every row goes through the admin API's JSON, storaged's C codec and
// LMDB, and comes back the same through the API and through the test
// harness's codec of the same rows. storage.test.mjs checks the harness's
// codec against the C encodings byte for byte.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';

import { generate, SCHEMAS as VIEWS, shownAs } from '../../scripts/openapi.mjs';
import { Parley } from './lib/harness.mjs';
import { adminCall, checkerFor } from './lib/openapi.mjs';
import { constant, RECORDS, shownName } from './lib/records.mjs';
import { T } from './lib/storage.mjs';

const readJson = (path) => JSON.parse(fs.readFileSync(new URL(path, import.meta.url), 'utf8'));
const OPENAPI = readJson('../../build/gen/openapi.json');
const TEMPLATE = readJson('../../workerd/site/openapi.json');
const SCHEMAS = OPENAPI.components.schemas;

// Each record's admin API, for the round trip: the path, the id a record is
// read back by, storaged's get (or, with no get of one, list: the API's
// list key, storaged's list and its key). Its schemas (read, write, pub), the keys
// beside its rows (extra), the rows a view shows or takes its own way (own)
// and those its built-in record shows as null or unbounded (builtin) are
// scripts/openapi.mjs's SCHEMAS.
const API = {
  st_widget: { path: '/v1/admin/widgets', id: (j) => j.widget_id, get: 'ST_WIDGET_GET' },
  st_agent: { path: '/v1/admin/agents', id: (j) => j.id, get: 'ST_AGENT_GET' },
  st_org: { path: '/v1/admin/organizations', id: (j) => j.id, get: 'ST_ORG_GET' },
  st_webhook: { path: '/v1/admin/webhooks', id: (j) => j.id, get: 'ST_HOOK_GET' },
  st_kbsource: { path: '/v1/admin/knowledge/sources', id: (j) => j.id, get: 'ST_KB_SOURCE_GET' },
  st_action: { path: '/v1/admin/actions', id: (j) => j.id, get: 'ST_ACTION_GET' },
  // Read back from its list (no get of one): the API's key, storaged's.
  st_apikey: { path: '/v1/admin/api-keys', id: (j) => j.id, list: ['api_keys', 'ST_KEY_LIST', 'keys'] },
};

// Records with rows whose JSON is written by hand (SCHEMAS' byHand: the
// conversation's and the message's, the thread the API has always shown):
// no schema from their rows, no admin API of them here. Their codec is
// checked by storage.test.mjs and test_recbytes_conv.c.
const API_RECORDS = [...RECORDS].filter(([rec]) => !VIEWS[rec]?.byHand);

// The property names each view of a record's rows shows.
const shownBy = (rows) => ({
  read: rows.filter((r) => r.view !== 'hid').map((r) => shownName(r)),
  write: rows.filter((r) => r.bit !== 'RF_RO').map((r) => r.json),
  pub: rows.filter((r) => r.view === 'pub').map((r) => shownName(r)),
});

// The JSON types of a row's kind (OWN kinds: a schema of their own, $ref).
const TYPES = {
  BUF: ['string'], SECRET: ['boolean'], TEXT: ['string', 'null'], STR: ['string'], BYTES: ['string'],
  BOOL: ['boolean'], ENUM: ['string'], U8: ['integer'], U32: ['integer'], COUNT: ['integer', 'null'], TIME: ['integer'],
  LIST: ['array'], ARRAY: ['array'],
};

const types = (p) => [p.type].flat();
// Whether shownAs (scripts/openapi.mjs) says the built-in record shows it its way.
const builtin = (as) => as === 'null' || as === 'unbounded';

function checkProperty(name, r, p, view, as) {
  const where = `${name}.${shownName(r)} (${r.kind} row of ${r.file})`;
  assert.ok(p, `${where}: in the schema`);
  if (as === 'own') return;
  if (as === 'null') assert.ok(types(p).includes('null'), `${where}: null, as its built-in record shows it`);
  if (!TYPES[r.kind]) {
    assert.ok(p.$ref || p.oneOf || p.anyOf, `${where}: a schema of its own`);
    return;
  }
  // A request may send null for a string's default (agent_id, language),
  // not for a string of x characters at least (a name).
  const least = r.kind === 'TEXT' || r.kind === 'STR' ? constant(r.x) : 0;
  if (view === 'write' && least > 0) assert.deepEqual(types(p), ['string'], `${where}: its type, not null`);
  else if ((view === 'write' && ['BUF', 'STR', 'BYTES'].includes(r.kind)) || builtin(as))
    assert.deepEqual(types(p).filter((x) => x !== 'null'), TYPES[r.kind], `${where}: its type`);
  else assert.deepEqual(types(p), TYPES[r.kind], `${where}: its type`);
  const bound = constant(r.bound);
  // A bound: the schema's, or for the built-in record the row's or none looser.
  const same = (got, what) => {
    if (builtin(as)) assert.ok(got === undefined || got >= bound, `${where}: its ${what} at least the row's`);
    else assert.equal(got, bound, `${where}: its ${what}`);
  };
  // A string's bound: its maxLength, or its pattern's {0,bound}.
  if (r.kind === 'TEXT' || r.kind === 'STR' || r.kind === 'BYTES')
    same(p.maxLength ?? (/\{0,(\d+)\}\$$/.exec(p.pattern ?? '') ? Number(/\{0,(\d+)\}\$$/.exec(p.pattern)[1]) : undefined), 'maxLength');
  if (least > 0) assert.equal(p.minLength, least, `${where}: its minLength`);
  if (r.kind === 'U8' || r.kind === 'U32' || r.kind === 'COUNT') same(p.maximum, 'maximum');
  // A number's least: the row's (0 unless it says), a COUNT's 1.
  if (r.kind === 'U8' || r.kind === 'U32') assert.equal(p.minimum, constant(r.least), `${where}: its minimum`);
  if (r.kind === 'COUNT') assert.equal(p.minimum, 1, `${where}: its minimum`);
  if (r.kind === 'LIST' || r.kind === 'ARRAY') same(p.maxItems, 'maxItems');
  if (r.kind === 'ENUM') assert.equal(p.enum.length, bound + 1, `${where}: its names`);
}

// The rows' bounds and defaults are C expressions of the headers'
// #defines, which may be hex with a suffix or <stdint.h>'s limits.
test('constant() reads the headers\' expressions: sums of #defines, hex with a u, UINT32_MAX', () => {
  assert.equal(constant('ST_AGENT_UNSET'), 0xffffffff);
  assert.equal(constant('UINT32_MAX'), 4294967295);
  assert.equal(constant('0x10u + 2 * 3'), 22);
  assert.throws(() => constant('NO_SUCH_DEFINE'), /no #define NO_SUCH_DEFINE/);
  assert.throws(() => constant('"a string"'), /not arithmetic/);
});

// The schemas of a record's view (v: its SCHEMAS line), each with the keys
// beside its rows: the view's own, and those SCHEMAS' also adds.
function viewSchemas(v, view) {
  return [[v[view], v.extra?.[view] ?? []], ...Object.entries(v.also?.[view] ?? {})];
}

test('every row is a property of its record\'s OpenAPI schemas, of its kind\'s type and bound, in its views', () => {
  assert.ok(API_RECORDS.length >= 1, 'records with rows were read');
  for (const [rec, rows] of API_RECORDS) {
    const v = VIEWS[rec];
    assert.ok(v, `${rec}: its schemas are named in scripts/openapi.mjs's SCHEMAS`);
    assert.ok(API[rec] || !v.write, `${rec}: its admin API in API`);
    const want = shownBy(rows);
    for (const view of ['read', 'write', 'pub']) {
      // A view the record does not have: none of its rows is in it.
      if (!v[view]) {
        assert.deepEqual(want[view], [], `${rec}: rows of a ${view} view it has no schema of`);
        continue;
      }
      for (const [name, extra] of viewSchemas(v, view)) {
        const s = SCHEMAS[name];
        assert.deepEqual(Object.keys(s.properties).sort(), [...want[view], ...extra].sort(),
          `${name}: exactly the ${view} rows of ${rec}`);
        for (const r of rows)
          if (want[view].includes(shownName(r)) || want[view].includes(r.json))
            checkProperty(name, r, s.properties[shownName(r)] ?? s.properties[r.json], view, shownAs(v, view, r));
        // What is always there is required, in what is read.
        if (view !== 'write')
          for (const k of want[view]) assert.ok((s.required ?? []).includes(k), `${name}: ${k} required`);
      }
    }
  }
});

// What scripts/openapi.mjs writes for a row-backed property (and its
// items): its type and bounds, and a name's characters at least (minLength,
// TEXT's and STR's x). The upper bounds of a row its built-in record shows
// unbounded are the template's (looser) or none.
const GENERATED = ['type', 'maxLength', 'minimum', 'maximum', 'maxItems'];
const GENERATED_ITEMS = ['type', 'maxLength'];
const UPPER = ['maxLength', 'maximum', 'maxItems'];

test('the template writes nothing the rows give: no type or bound of a row-backed property (but one shown its own way), no row in required', () => {
  const schemas = TEMPLATE.components.schemas;
  for (const [rec, rows] of API_RECORDS) {
    const v = VIEWS[rec];
    const want = shownBy(rows);
    for (const view of ['read', 'write', 'pub'].filter((x) => v[x])) {
      for (const [name] of viewSchemas(v, view)) {
        for (const r of rows) {
          const k = view === 'write' ? r.json : shownName(r);
          const as = shownAs(v, view, r);
          if (!want[view].includes(k) || as === 'own') continue;
          const p = schemas[name].properties?.[k] ?? {};
          const least = (r.kind === 'TEXT' || r.kind === 'STR') && constant(r.x) > 0 ? ['minLength'] : [];
          const upper = as === 'unbounded' ? UPPER : [];
          for (const g of [...GENERATED, ...least].filter((x) => !upper.includes(x)))
            assert.ok(!(g in p), `template ${name}.${k}: ${g} is generated`);
          for (const g of GENERATED_ITEMS.filter((x) => !upper.includes(x)))
            assert.ok(!(g in (p.items ?? {})), `template ${name}.${k}.items: ${g} is generated`);
        }
        // What a request must send is the template's (only what is read is generated).
        for (const k of view === 'write' ? [] : schemas[name].required ?? [])
          assert.ok(!want[view].includes(k), `template ${name}.required: ${k} is a row's (generated)`);
      }
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

// Values with a form of their own (a BUF row's, a URL, a row a record takes
// its own way: a webhook's events by name); a new plain row needs none.
const FORMED = {
  primary_color: '#123abc', text_color: '#fedcba', language: 'fr', base_url: 'https://93.184.216.34/v1',
  temperature: 0.5, url: 'https://93.184.216.34/hook', events: ['message.created'], role: 'admin',
  knowledge_source_ids: ['ks_0123456789abcdef0123456789abcdef'],
  action_ids: ['act_0123456789abcdef0123456789abcdef'],
  // An action's: its schema, a method that sends its body template, headers.
  parameters: { type: 'object', properties: { id: { type: 'string' } } },
  method: 'POST', body: '{"id":"{{id}}"}', headers: { 'X-Api-Key': 'k' },
  // A widget's attachment kinds, by name.
  attachment_types: ['pdf', 'text'],
};
// Rows that need another first (identity_required: a secret), or that take
// another form (agent_id: an agent; business_hours: its own schema).
const LEFT = new Set(['identity_required', 'agent_id', 'business_hours']);

// A value for every row a request sets, none its default.
function valuesFor(rows, schema) {
  const body = {};
  for (const r of rows.filter((x) => x.bit !== 'RF_RO' && !LEFT.has(x.json))) {
    const p = schema.properties[r.json];
    if (r.json in FORMED) {
      body[r.json] = FORMED[r.json];
      continue;
    }
    switch (r.kind) {
      case 'BUF': case 'TEXT': case 'STR': case 'BYTES': body[r.json] = `x-${r.member}`; break;
      case 'BOOL': body[r.json] = r.x !== '1'; break;
      case 'ENUM': body[r.json] = p.enum[p.enum.length - 1]; break;
      case 'U8': case 'U32': case 'COUNT': body[r.json] = Math.min(constant(r.bound), 7); break;
      case 'LIST': body[r.json] = ['https://a.example']; break;
      case 'ARRAY': body[r.json] = ['A question?']; break;
      default: assert.fail(`${r.json}: a ${r.kind} row: give it a value in FORMED or put it in LEFT`);
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
  const c = await p.storage({ as: 'parley-workerd' });
  t.after(() => c.close());
  // An agent names actions and sources of its organisation: real ones.
  let r = await p.adminJson('POST', '/v1/admin/actions', { name: 'order_status', description: 'An order',
    parameters: { type: 'object', properties: { id: { type: 'string' } } }, url: 'https://93.184.216.34/orders/{{id}}' });
  assert.equal(r.status, 201, r.text);
  FORMED.action_ids = [r.json().id];
  r = await p.adminJson('POST', '/v1/admin/knowledge/sources', { type: 'qa', question: 'Q?', answer: 'A.' });
  assert.equal(r.status, 201, r.text);
  FORMED.knowledge_source_ids = [r.json().id];
  for (const [rec, rows] of API_RECORDS) {
    const v = VIEWS[rec];
    const a = API[rec];
    // A record no request makes (a webhook's delivery): its read view is
    // checked above, its codec by storage.test.
    if (!v.write) continue;
    const body = valuesFor(rows, SCHEMAS[v.write]);
    const made = await adminCall(p, api, 'POST', a.path, body);
    assert.equal(made.status, 201, `${rec}: ${made.body.toString()}`);
    const id = a.id(made.json());
    const got = await adminCall(p, api, 'GET', a.list ? a.path : `${a.path}/${id}`);
    assert.equal(got.status, 200);
    const w = a.list ? got.json()[a.list[0]].find((x) => a.id(x) === id) : got.json();
    // Every value as sent; a write-only row (a key) never shown.
    for (const [k, x] of Object.entries(body)) {
      const r = rows.find((y) => y.json === k);
      if (r.view === 'hid') assert.ok(!(k in w), `${rec}.${k}: never shown`);
      else assert.deepEqual(w[k], x, `${rec}.${k} as the API reads it back`);
    }

    // storaged's record, read from LMDB by its C codec, then by the harness's.
    const sr = a.list ? (await c.ask(T[a.list[1]], {}))[a.list[2]].find((x) => x.id === id) :
      await c.ask(T[a.get], { id });
    for (const r of rows) {
      if (r.view === 'hid' || r.kind === 'SECRET' || LEFT.has(r.json) || r.kind === 'TIME' ||
          shownAs(v, 'read', r) === 'own') continue;
      assert.deepEqual(sr[r.member], stored(r, w[shownName(r)], SCHEMAS[v.read]), `${rec}.${r.member}: stored as the API shows it`);
    }
    assert.equal(sr.created_at, w.created_at);
  }
});
