// Writes the OpenAPI document the workers serve (build/gen/openapi.json,
// embedded by workerd/site/openapi.c): the hand-written template
// workerd/site/openapi.json with every record's schemas' row-backed
// properties made from the record's rows (proto/record.h, read by
// scripts/rows.mjs): the widget's, the agent's and the organisation's
// (SCHEMAS, below). A row gives its property's type and bounds (type,
// minLength, maxLength, minimum, maximum, maxItems, items) and its place in
// the read views' `required`; the template keeps the rest (description,
// pattern, default, examples, enum, $ref) and everything else in the
// document. A string's maxLength is left to the template's pattern when it
// bounds the length (anchored, no endless repeat) or enum; a BYTES row's
// is its bound in bytes (no longer string passes it); a TEXT's or STR's x
// is a name's characters at least (minLength; a request may not set it to
// null). What a record shows its own way is said in SCHEMAS (own,
// builtin), its property or bound then the template's. A field added to a
// record is a row added: no edit here nor in the template. The audit
// entries' actions are storaged's (auditActions).
//
//   node scripts/openapi.mjs [out]	(out: build/gen/openapi.json)
//
// It fails, naming the record and the row, on a row it cannot map.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { constant, RECORDS, shownName } from './rows.mjs';

const TEMPLATE = new URL('../workerd/site/openapi.json', import.meta.url);
const OUT = new URL('../build/gen/openapi.json', import.meta.url);

// Each record's schemas: read (every shown row), write (every row a request
// sets), pub (the public rows; none: no public schema). A record with rows
// is a line here. Besides, when the record has them:
//   extra: the keys beside its rows in each view's schema;
//   takesNull: BUF rows a request may also set to null (their own handler
//     takes it, workerd/admin/widgets.c);
//   own: per view, the rows it shows or takes its own way (recjson.c's
//     rec_own, an admin_field): the template writes their property whole;
//   builtin: the rows its built-in record (the default agent, made from
//     the environment, answered through the same read schema) shows as
//     null (their read type takes null) or unbounded (no upper bound from
//     the row; the template may give a looser one);
//   also: per view, more schemas showing the record the same way, each
//     with its own extra keys (a contact's page: Contact and its
//     conversations).
export const SCHEMAS = {
  st_widget: {
    read: 'Widget', write: 'WidgetInput', pub: 'WidgetPublicConfig',
    extra: { read: ['text_agent_id'], write: ['text_agent_id'], pub: ['availability'] },
    takesNull: ['agent_id', 'language'],
  },
  st_agent: {
    read: 'Agent', write: 'AgentInput',
    extra: { read: ['is_default'] },
    // temperature: thousandths shown and taken as a number from 0 to 2;
    // base_url: shown with its password hidden (workerd/admin/agents.c).
    own: { read: ['temperature', 'base_url'], write: ['temperature'] },
    // The default agent: no organisation nor times; the environment's
    // SYSTEM_PROMPT and OPENAI_MODEL (lib/settingtab.c's bounds).
    builtin: { null: ['organization_id', 'created_at', 'updated_at'], unbounded: ['system_prompt', 'model'] },
  },
  st_org: { read: 'Organization', write: 'OrganizationInput' },
  st_webhook: {
    read: 'Webhook', write: 'WebhookInput',
    // events: their names; failures: no upper bound; disabled_at and
    // previous_secret_until: null for 0; url: a string, never null
    // (workerd/admin/webhooks.c).
    own: { read: ['events', 'failures', 'disabled_at', 'previous_secret_until'], write: ['url', 'events'] },
  },
  st_apikey: {
    read: 'ApiKey', write: 'ApiKeyInput',
    // role: its name (agent, admin or owner: no role 0); last_used_at:
    // null for never (workerd/admin/apikeys.c).
    own: { read: ['role', 'last_used_at'], write: ['role'] },
  },
  // Read alone (storaged's record: no request sets a row). Its event by
  // name, its attempts unbounded, the others null when there are none
  // (workerd/admin/webhooks.c).
  st_delivery: {
    read: 'WebhookDelivery',
    own: { read: ['event', 'attempts', 'response_code', 'last_error', 'duration_ms', 'next_attempt_at'] },
  },
  // Rows whose JSON is written by hand (workerd/admin/admin.c's function
  // named): the thread's keys are the API's own, its schemas the template's.
  st_conv: { byHand: 'admin_conv_json' },
  st_msg: { byHand: 'admin_msg_json' },
  // No row has a bit (ST_CANNED_PUT sets shortcut and text whole): its
  // input, CannedReplyInput, is the template's, which requires both.
  st_canned: { read: 'CannedReply' },
  // Made and filled by storaged alone: no input.
  st_contact: { read: 'Contact', also: { read: { ContactDetail: ['conversations', 'conversationsTotal', 'conversationsNextCursor'] } } },
  // The notifier's alone, never shown: no schema.
  st_mail: {},
  // Shown only as a member (ST_USER_LIST's member view): no schema.
  st_user: {},
  // storaged's alone, shown as ST_INVITE_LIST's view: no schema.
  st_invite: {},
  // A dashboard session: storaged's alone, never shown.
  st_dsess: {},
  // A visitor session: storaged's alone, never shown.
  st_wsess: {},
  // A knowledge chunk: storaged's index alone; not yet shown by a route.
  st_kbchunk: {},
  st_kbsource: { read: 'KnowledgeSource', write: 'KnowledgeSourceInput' },
  // A source's page: storaged's (the fetcher's), read alone.
  st_kbpage: { read: 'KnowledgePage' },
  // parameters: a JSON Schema object both ways; header_names: an array of
  // the names; headers: an object of names and values, write-only
  // (workerd/admin/actions.c).
  st_action: {
    read: 'Action', write: 'ActionInput',
    // warnings: what the action as saved likely does not mean
    // (workerd/admin/actions.c's action_warnings).
    extra: { read: ['warnings'] },
    own: { read: ['parameters', 'header_names'], write: ['parameters', 'headers'] },
  },  // A knowledge gap: storaged's alone, shown grouped by the worker
  // (workerd/admin/gaps.c writes the groups and their examples by hand).
  st_gap: {},
  // An attachment: storaged's alone; a message shows its description
  // (workerd/admin/recjson.c writes it by hand).
  st_att: {},
};

// Which rows each view shows.
const SHOWS = {
  read: (r) => r.view !== 'hid',
  write: (r) => r.bit !== 'RF_RO',
  pub: (r) => r.view === 'pub',
};


// Whether a pattern bounds a string's length: anchored at both ends, with
// no repeat without end (*, +, {n,}).
const boundsLength = (p) => /^\^.*\$$/.test(p) && !/[*+]|\{\d+,\}/.test(p);

// A string's keys: characters at least (least, when not 0), and its bound
// as its maxLength, unless the template's pattern or enum bounds it.
function stringKeys(type, bound, t, least = 0) {
  const keys = { type };
  if (least > 0) keys.minLength = least;
  if (!(t.pattern && boundsLength(t.pattern)) && !t.enum) keys.maxLength = constant(bound);
  return keys;
}

// A LIST's or ARRAY's strings' characters at most: x is bytes, and
// `4 * N` (the headers' way of writing N characters of UTF-8) is N.
function itemChars(x) {
  const m = /^4\s*\*\s*(.+)$/.exec(x);
  return constant(m ? m[1] : x);
}

// The keys row r gives its property in view (t: the template's entry), or
// null for a kind of the record's own. A TEXT's or STR's x is its
// characters at least: a name, which a request may not set to null.
function rowKeys(r, view, t, nullable) {
  const write = view === 'write';
  const least = r.kind === 'TEXT' || r.kind === 'STR' ? constant(r.x) : 0;
  switch (r.kind) {
    case 'BOOL': return { type: 'boolean' };
    case 'SECRET': return write ? stringKeys('string', r.bound, t) : { type: 'boolean' };
    case 'BUF': return stringKeys(write && nullable ? ['string', 'null'] : 'string', r.bound, t);
    case 'STR': case 'BYTES': return stringKeys(write && !least ? ['string', 'null'] : 'string', r.bound, t, least);
    case 'TEXT': return stringKeys(write && least ? 'string' : ['string', 'null'], r.bound, t, least);
    case 'ENUM': return { type: 'string' };
    case 'U8': case 'U32': return { type: 'integer', minimum: constant(r.least), maximum: constant(r.bound) };
    case 'COUNT': return { type: ['integer', 'null'], minimum: 1, maximum: constant(r.bound) };
    case 'TIME': return { type: 'integer', minimum: 0 };
    case 'LIST': case 'ARRAY':
      return { type: 'array', maxItems: constant(r.bound), items: { type: 'string', maxLength: itemChars(r.x) } };
    default: return null;
  }
}

// keys as the built-in record shows the row: also null, or unbounded.
function builtinKeys(keys, how) {
  const out = { ...keys };
  if (how === 'null') out.type = [...new Set([keys.type, 'null'].flat())];
  if (how === 'unbounded') {
    for (const k of ['maxLength', 'maximum', 'maxItems']) delete out[k];
    if (out.items) {
      out.items = { ...out.items };
      delete out.items.maxLength;
    }
  }
  return out;
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

// How view shows row r of a record (names: its SCHEMAS line): 'own' (the
// template's property whole), 'null' or 'unbounded' (as the built-in
// record shows it), or as its kind ('kind').
export function shownAs(names, view, r) {
  if ((names.own?.[view] ?? []).includes(r.json)) return 'own';
  if (view === 'read')
    for (const how of ['null', 'unbounded'])
      if ((names.builtin?.[how] ?? []).includes(shownName(r, view))) return how;
  return 'kind';
}

// Row r's property in view, from its template entry t ({} when none).
function rowProperty(rec, r, view, t, names) {
  try {
    const as = shownAs(names, view, r);
    if (as === 'own') {
      if (Object.keys(t).length === 0) throw new Error('a row shown its own way (SCHEMAS\' own): write its property in the template');
      return t;
    }
    let keys = rowKeys(r, view, t, (names.takesNull ?? []).includes(r.json));
    checkTemplate(r, t, keys);
    if (keys && as !== 'kind') keys = builtinKeys(keys, as);
    return merge(keys ?? {}, t);
  } catch (e) {
    throw new Error(`${rec}: row ${r.member} ("${r.json}", ${r.kind}, ${r.file}), ${names[view]} (${view}): ${e.message}`);
  }
}

// Every name SCHEMAS' own and builtin give is a row the view shows.
function checkNames(rec, rows, names) {
  const lists = [
    ...Object.entries(names.own ?? {}).map(([view, l]) => [view, l, 'own']),
    ...Object.entries(names.builtin ?? {}).map(([how, l]) => ['read', l, `builtin.${how}`]),
  ];
  for (const [view, list, what] of lists) {
    if (!SHOWS[view] || !names[view]) throw new Error(`${rec}: SCHEMAS' ${what}: no ${view} view`);
    for (const k of list)
      if (!rows.some((r) => SHOWS[view](r) && shownName(r, view) === k))
        throw new Error(`${rec}: SCHEMAS' ${what} names ${k}: no row shows it in ${view}`);
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

// The audit log's actions, as storaged writes them: its table's rows'
// (storaged/optab.c's .action), its picks' (storaged/auditstore.c's
// literals) and the notes it takes (proto/keymsg.c's
// st_audit_note_action), in that order, each once.
export function auditActions() {
  const src = (f) => fs.readFileSync(new URL(`../${f}`, import.meta.url), 'utf8');
  const found = [
    ...[...src('storaged/optab.c').matchAll(/\.action = "([a-z_.]+)"/g)].map((m) => m[1]),
    ...[...src('storaged/auditstore.c').matchAll(/"([a-z_]+(?:\.[a-z_]+)+)"/g)].map((m) => m[1])
      .filter((a) => !/\.[ch]$/.test(a)),
    ...[...src('proto/keymsg.c').matchAll(/strcmp\(action, "([a-z_.]+)"\)/g)].map((m) => m[1]),
  ];
  if (found.length < 10) throw new Error('the audit actions: fewer than 10 found in storaged/optab.c and storaged/auditstore.c');
  return [...new Set(found)];
}

// The document from the template (parsed) and the records' rows
// (struct name -> rows, as scripts/rows.mjs reads them).
export function generate(template, records = RECORDS) {
  const doc = structuredClone(template);
  const schemas = doc.components.schemas;
  schemas.AuditEntry.properties.action.enum = auditActions();
  for (const [rec, rows] of records) {
    const names = SCHEMAS[rec];
    if (!names) throw new Error(`${rec}: its rows have no schemas: name them in SCHEMAS (scripts/openapi.mjs)`);
    if (names.byHand) continue;
    checkNames(rec, rows, names);
    for (const view of Object.keys(SHOWS).filter((v) => names[v])) {
      const also = Object.entries(names.also?.[view] ?? {}).map(([name, extra]) =>
        ({ ...names, [view]: name, extra: { ...names.extra, [view]: extra } }));
      for (const n of [names, ...also]) {
        if (!schemas[n[view]]) throw new Error(`${rec}: the template has no schema ${n[view]}`);
        schemas[n[view]] = viewSchema(rec, rows, view, schemas[n[view]], n);
      }
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
