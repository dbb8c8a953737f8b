// Checks Parley's OpenAPI document (GET /v1/openapi.json) twice over:
//   - the document itself against the OpenAPI 3.1 schema
//     (@seriousme/openapi-schema-validator);
//   - real responses against the document: each body (and each NDJSON line)
//     is validated with ajv in JSON Schema 2020-12 mode (OpenAPI 3.1's
//     dialect) against the schema the document gives for that path,
//     method, status and content type.
// The packages come from tests/node_modules (scripts/deps.sh test installs
// them from tests/package-lock.json).
import assert from 'node:assert/strict';

import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

// Validates the document as OpenAPI; returns {valid, errors, version}.
// The validator is imported here, not above: its load (a YAML parser and
// its own bundle beside the ajv below) took 0.04 s of CPU in each of the
// 35 test files that check responses, and two of them validate the document.
export async function validateDocument(doc) {
  const { Validator } = await import('@seriousme/openapi-schema-validator');
  const v = new Validator();
  const res = await v.validate(structuredClone(doc));
  return { valid: res.valid, errors: res.errors, version: v.version };
}

const DOC_ID = 'https://parley.invalid/openapi.json';

function pointer(...parts) {
  return parts.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
}

// Turns "/v1/admin/conversations/{id}" into a RegExp for concrete paths.
function templateRe(tpl) {
  const re = tpl.split(/(\{[^}]+\})/).map((part) => (/^\{.+\}$/.test(part) ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('');
  return new RegExp(`^${re}/?$`);
}

export class ResponseChecker {
  constructor(doc) {
    this.doc = doc;
    this.ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
    addFormats(this.ajv);
    // The whole document is one resource, so "#/components/..." refs
    // resolve wherever they appear.
    this.ajv.addSchema({ ...structuredClone(doc), $id: DOC_ID });
    this.cache = new Map();
    this.templates = Object.keys(doc.paths || {}).map((t) => ({ t, re: templateRe(t) }))
      // literal paths before templated ones
      .sort((a, b) => (a.t.includes('{') - b.t.includes('{')) || b.t.length - a.t.length);
    this.checked = new Set();   // "METHOD template status" seen, for coverage reports
  }

  pathTemplate(p) {
    const bare = p.split('?')[0];
    const hit = this.templates.find(({ re }) => re.test(bare));
    return hit ? hit.t : null;
  }

  // The schema location for one response: {ptr, key} or throws with a clear message.
  locate(method, p, status, contentType) {
    const tpl = this.pathTemplate(p);
    assert.ok(tpl, `the OpenAPI document has no path for ${p}`);
    const op = this.doc.paths[tpl][method.toLowerCase()];
    assert.ok(op, `the OpenAPI document has no ${method} for ${tpl}`);
    const responses = op.responses || {};
    const code = String(status);
    const rkey = [code, `${code[0]}XX`, 'default'].find((k) => k in responses);
    assert.ok(rkey, `the OpenAPI document lists no response ${code} (nor ${code[0]}XX, default) for ${method} ${tpl}; it lists ${Object.keys(responses)}`);
    let resp = responses[rkey];
    let base = ['paths', tpl, method.toLowerCase(), 'responses', rkey];
    if (resp.$ref) {
      const m = /^#\/(.+)$/.exec(resp.$ref);
      base = m[1].split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
      resp = base.reduce((o, k) => o[k], this.doc);
    }
    const content = resp.content || {};
    const mediaType = (contentType || '').split(';')[0].trim().toLowerCase();
    const ckey = Object.keys(content).find((k) => k.toLowerCase() === mediaType);
    assert.ok(ckey, `${method} ${tpl} ${rkey}: the document has no content type ${mediaType} (it has ${Object.keys(content)})`);
    const media = content[ckey];
    // OpenAPI 3.2's itemSchema describes each item of a sequential media
    // type; in 3.1 the schema of an NDJSON response describes one line.
    const field = media.itemSchema ? 'itemSchema' : 'schema';
    assert.ok(media[field], `${method} ${tpl} ${rkey} ${ckey}: no schema`);
    this.checked.add(`${method.toUpperCase()} ${tpl} ${rkey} ${ckey}`);
    return `${DOC_ID}#/${pointer(...base, 'content', ckey, field)}`;
  }

  validatorFor(ref) {
    let v = this.cache.get(ref);
    if (!v) {
      v = this.ajv.compile({ $ref: ref });
      this.cache.set(ref, v);
    }
    return v;
  }

  validate(method, p, status, contentType, value, what = 'body') {
    const ref = this.locate(method, p, status, contentType);
    const v = this.validatorFor(ref);
    if (!v(value)) {
      assert.fail(`${method} ${p} ${status} ${what} does not match the OpenAPI document:\n` +
        `${JSON.stringify(value).slice(0, 500)}\n${this.ajv.errorsText(v.errors, { separator: '\n' })}`);
    }
  }

  // A response from http.mjs (or a Stream from chat.mjs) with a JSON body.
  checkJson(method, p, res) {
    const ct = res.headers['content-type'] || '';
    assert.match(ct, /^application\/json/, `${method} ${p}: content-type ${ct}`);
    const body = typeof res.json === 'function' ? res.json() : JSON.parse(res.body.toString('utf8'));
    this.validate(method, p, res.status, ct, body);
    return body;
  }

  // A webhook delivery as a receiver got it (receiver.mjs's hit): its body
  // against the document's webhooks entry for its type, and the headers
  // that entry's parameters require. Returns the parsed body.
  checkWebhook(hit) {
    const body = JSON.parse(hit.body);
    const op = this.doc.webhooks?.[body.type]?.post;
    assert.ok(op, `the document's webhooks have ${body.type}`);
    for (const prm of op.parameters) {
      const q = prm.$ref ? this.doc.components.parameters[prm.$ref.split('/').pop()] : prm;
      if (q.in === 'header' && q.required) assert.ok(hit.headers[q.name.toLowerCase()], `${body.type}: header ${q.name}`);
    }
    const v = this.validatorFor(`${DOC_ID}#/${pointer('webhooks', body.type, 'post', 'requestBody', 'content', 'application/json', 'schema')}`);
    if (!v(body)) {
      assert.fail(`webhook ${body.type} does not match the OpenAPI document:\n${hit.body.slice(0, 500)}\n` +
        `${this.ajv.errorsText(v.errors, { separator: '\n' })}`);
    }
    return body;
  }

  // A streamed response (chat.mjs Stream): every NDJSON line.
  checkStream(method, p, s) {
    const ct = s.headers['content-type'] || '';
    if (!/ndjson/.test(ct)) return this.checkJson(method, p, s);
    for (const [i, e] of s.events.entries()) this.validate(method, p, s.status, ct, JSON.parse(e.line), `line ${i + 1}`);
    return s.events;
  }
}

// The checker for a running Parley's own document.
export async function checkerFor(p) {
  const r = await p.get('/v1/openapi.json');
  assert.equal(r.status, 200, `GET /v1/openapi.json: ${r.status} ${r.text}`);
  return new ResponseChecker(r.json());
}

// call(method, path, body): adminCall on p, checked against p's document.
export async function adminCaller(p) {
  const api = await checkerFor(p);
  return (method, path, body, opts) => adminCall(p, api, method, path, body, opts);
}

// method path on p with the install key (and headers); a body that is not
// a string is sent as JSON (application/json unless headers say another
// type). The answer is checked against the document by api unless raw.
export async function adminCall(p, api, method, path, body, { headers = {}, raw = false } = {}) {
  const h = { 'x-admin-api-key': p.adminKey, ...headers };
  let b;
  if (body !== undefined) {
    b = typeof body === 'string' ? body : JSON.stringify(body);
    if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json';
  }
  const r = await p.request(method, path, { headers: h, body: b });
  if (!raw) api.checkJson(method, path, r);
  return r;
}
