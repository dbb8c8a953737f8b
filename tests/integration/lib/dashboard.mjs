// Helpers for the dashboard's tests (docs/dashboard.md): logging in over
// real HTTP, the session cookie and CSRF token, other loopback clients for
// the per-client login limit, an RFC 4180 CSV parser and the export's
// expected rows.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

export const PASSWORD = 'correct horse battery staple';
export const COOKIE = 'parley_session';
// Its name over https (TLS_CERT, or PARLEY_ENV=production behind a TLS proxy).
export const HTTPS_COOKIE = `__Host-${COOKIE}`;
export const SESSION_MAX_AGE = 604800;
export const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export const CONV_FIELDS = ['id', 'widgetId', 'sessionId', 'contactId', 'createdAt', 'updatedAt', 'messageCount', 'lastMessage', 'handoff',
  'rating', 'ratingComment', 'state', 'snoozedUntil', 'resolvedBy', 'resolvedAt'];
export const MSG_FIELDS = ['id', 'conversationId', 'role', 'status', 'content', 'createdAt', 'promptTokens', 'completionTokens', 'name',
  'feedback', 'sources', 'knowledge', 'arguments', 'durationMs', 'origin'];

// Another loopback source address for each call (127.0.0.2, 127.0.0.3, ...;
// the whole of 127/8 is the loopback interface): the login limit is per
// client address, so a test that logs in takes its own.
let clientN = 1 + (process.pid % 50) * 4;
export function nextClient() {
  clientN++;
  return `127.0.${Math.floor(clientN / 250) % 250}.${2 + (clientN % 250)}`;
}

// "name=value; A; B=c" -> {name, value, attrs: {a: true, b: 'c'}} (attribute names lowercased).
export function parseSetCookie(s) {
  assert.equal(typeof s, 'string', 'a Set-Cookie header');
  const [nv, ...rest] = s.split(';').map((x) => x.trim());
  const i = nv.indexOf('=');
  const attrs = {};
  for (const a of rest) {
    if (!a) continue;
    const j = a.indexOf('=');
    if (j < 0) attrs[a.toLowerCase()] = true;
    else attrs[a.slice(0, j).trim().toLowerCase()] = a.slice(j + 1).trim();
  }
  return { name: nv.slice(0, i), value: nv.slice(i + 1), attrs };
}

// The Set-Cookie headers of a response, each parsed.
export function setCookies(res) {
  return (res.headerList || []).filter(([n]) => n === 'set-cookie').map(([, v]) => parseSetCookie(v));
}

// POST /dashboard/api/login. opts: email (else DASHBOARD_PASSWORD's owner), localAddress (default: a
// fresh client), raw body, contentType.
export function loginRequest(p, password, opts = {}) {
  const body = opts.body !== undefined ? opts.body :
    JSON.stringify(opts.email !== undefined ? { email: opts.email, password } : { password });
  const headers = {};
  if (opts.contentType !== null) headers['Content-Type'] = opts.contentType ?? 'application/json';
  Object.assign(headers, opts.headers || {});
  const o = { headers, body, timeout: opts.timeout ?? 10000, localAddress: opts.localAddress ?? nextClient() };
  return opts.conn ? opts.conn.request('POST', '/dashboard/api/login', o) : p.request('POST', '/dashboard/api/login', o);
}

// Logs in (from a fresh client address unless given); returns a Session.
export async function login(p, password = PASSWORD, opts = {}) {
  const r = await loginRequest(p, password, opts);
  assert.equal(r.status, 200, `login: ${r.status} ${r.text}`);
  const c = setCookies(r).find((x) => x.name === COOKIE || x.name === HTTPS_COOKIE);
  assert.ok(c, `a ${COOKIE} cookie is set: ${JSON.stringify(r.headers['set-cookie'])}`);
  const j = r.json();
  return new Session(p, c.value, j.csrfToken, { res: r, cookie: c, body: j, cookieName: c.name });
}

export class Session {
  constructor(p, id, csrf, extra = {}) {
    this.p = p;
    this.id = id;
    this.csrf = csrf;
    Object.assign(this, extra);
  }

  get cookieHeader() { return `${this.cookieName ?? COOKIE}=${this.id}`; }

  // Headers for a request with this session: the cookie, and the CSRF token
  // unless csrf is false (or another token when a string).
  headers({ csrf = true, json = false, extra = {} } = {}) {
    const h = { Cookie: this.cookieHeader };
    if (csrf === true) h['x-csrf-token'] = this.csrf;
    else if (typeof csrf === 'string') h['x-csrf-token'] = csrf;
    if (json) h['Content-Type'] = 'application/json';
    return { ...h, ...extra };
  }

  request(method, path, { body, csrf, headers = {}, timeout } = {}) {
    const b = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return this.p.request(method, path, {
      headers: this.headers({ csrf: csrf ?? (method !== 'GET' && method !== 'HEAD'), json: b !== undefined, extra: headers }),
      body: b,
      timeout,
    });
  }

  get(path, opts) { return this.request('GET', path, opts); }
}

// A cookie value of the right shape that no login made.
export function handMadeId() { return crypto.randomBytes(32).toString('hex'); }

// The same id with one hex digit changed.
export function tampered(id, at = 17) {
  const d = id[at];
  const nd = ((parseInt(d, 16) + 1) % 16).toString(16);
  return id.slice(0, at) + nd + id.slice(at + 1);
}

// RFC 4180: fields separated by commas, records by CRLF, a field holding a
// comma, quote, CR or LF quoted with quotes doubled. Strict: a bare LF
// outside quotes, a quote inside an unquoted field or text after a closing
// quote throws. The file ends with CRLF (or not); returns [[field...]...].
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let i = 0;
  const n = text.length;
  if (n === 0) return rows;
  for (;;) {
    let field = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= n) throw new Error('CSV: unterminated quoted field');
        if (text[i] === '"') {
          if (text[i + 1] === '"') { field += '"'; i += 2; continue; }
          i++;
          break;
        }
        field += text[i++];
      }
      if (i < n && text[i] !== ',' && text[i] !== '\r') throw new Error(`CSV: ${JSON.stringify(text[i])} after a closing quote at ${i}`);
    } else {
      while (i < n && text[i] !== ',' && text[i] !== '\r') {
        if (text[i] === '"') throw new Error(`CSV: a quote inside an unquoted field at ${i}`);
        if (text[i] === '\n') throw new Error(`CSV: a bare LF at ${i}`);
        field += text[i++];
      }
    }
    row.push(field);
    if (i >= n) { rows.push(row); break; }
    if (text[i] === ',') { i++; continue; }
    // CRLF
    if (text[i + 1] !== '\n') throw new Error(`CSV: CR not followed by LF at ${i}`);
    i += 2;
    rows.push(row);
    row = [];
    if (i >= n) break;
  }
  return rows;
}

// What a CSV cell holds for a value: text as is, numbers in decimal, null
// empty; text that starts with = + - @ TAB or CR gets a leading '.
export function csvCell(v) {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
}

// Parses a CSV export into objects keyed by its header (checked against fields).
export function csvObjects(text, fields) {
  const rows = parseCsv(text);
  assert.ok(rows.length >= 1, 'a header row');
  assert.deepEqual(rows[0], fields, 'the header row');
  for (const [k, r] of rows.entries()) assert.equal(r.length, fields.length, `row ${k} has ${fields.length} fields`);
  return rows.slice(1).map((r) => Object.fromEntries(fields.map((f, k) => [f, r[k]])));
}

// Parses a JSON Lines export: every line an object with exactly fields.
export function jsonlObjects(text, fields) {
  if (text === '') return [];
  assert.ok(text.endsWith('\n'), 'JSON Lines end with a newline');
  return text.slice(0, -1).split('\n').map((line, k) => {
    let o;
    assert.doesNotThrow(() => { o = JSON.parse(line); }, `line ${k} is JSON: ${line.slice(0, 200)}`);
    assert.deepEqual(Object.keys(o).sort(), [...fields].sort(), `line ${k} has the fields`);
    return o;
  });
}

// The expected export row of a conversation (the list's item) and of a message (the get's).
export function convRow(c) {
  return {
    id: c._id, widgetId: c.widgetId, sessionId: c.sessionId, contactId: c.contactId ?? null,
    createdAt: c.createdAt, updatedAt: c.updatedAt, messageCount: c.messageCount, lastMessage: c.lastMessage ?? null,
    handoff: c.handoff, rating: c.rating ? c.rating.score : null, ratingComment: c.rating && c.rating.comment ? c.rating.comment : null,
    state: c.state, snoozedUntil: c.snoozed_until, resolvedBy: c.resolved_by, resolvedAt: c.resolved_at,
  };
}

export function msgRow(m, convId) {
  return {
    id: m._id, conversationId: m.conversationId ?? convId, role: m.role, status: m.status, content: m.content,
    createdAt: m.createdAt, promptTokens: m.promptTokens, completionTokens: m.completionTokens,
    name: m.name ?? null, feedback: m.feedback ?? null,
    sources: m.sources?.length ? m.sources.join(' ') : null, knowledge: m.knowledge ?? null,
    arguments: m.arguments || null, durationMs: m.duration_ms || null, origin: m.origin ?? null,
  };
}

// A row as CSV cells (every value through csvCell).
export function asCsv(row) {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, csvCell(v)]));
}
