#!/usr/bin/env node
// The dashboard part of `make bench` (scripts/bench.sh runs it last, on the
// stack the chat part used): the server time of the conversation list's
// first page and of a search, with --target conversations stored.
//
//   1. tops the store up to --target conversations through the chat API
//      (POST /v1/chat/stream, one new session per turn, 128 connections);
//   2. the first page (limit 50) BENCH_DASH_PAGES times, one after another:
//      the worker's own time from its Server-Timing header (routing to the
//      answer queued, storaged's round trip included) and the time the
//      client saw, p50 and p99; target: p99 <= 5 ms;
//   3. a search for a text no conversation holds, so each request looks at
//      its full budget of conversations (2,000): the same figures per
//      request, then one whole search through every conversation by
//      following nextCursor: requests, summed server time, wall time;
//   4. the inbox (issue 24) as a signed-in dashboard user (--password:
//      DASHBOARD_PASSWORD's owner): the list's first page (each row named,
//      its unread looked up for the user; half of the page marked read
//      first) and a thread (GET /v1/admin/conversations/:id, its messages
//      included), the same figures; target: p50 and p99 under 50 ms.
//
// Only loopback; every loop is bounded in count and time.
//
//   node tests/bench/dash-bench.mjs --parley PORT --key WIDGET_KEY \
//        --admin ADMIN_KEY [--target N] [--password DASHBOARD_PASSWORD]
import { Client, http, now } from './lib.mjs';

const args = Object.fromEntries(process.argv.slice(2).reduce((a, x, i, all) => (x.startsWith('--') ? a.concat([[x.slice(2), all[i + 1]]]) : a), []));
const PPORT = Number(args.parley);
const KEY = args.key;
const ADMIN = args.admin;
const PASSWORD = args.password;
const TARGET = Number(args.target || 100000);
const PAGES = Number(process.env.BENCH_DASH_PAGES || 500);
const SEARCHES = Number(process.env.BENCH_DASH_SEARCHES || 50);

function die(msg) { console.error(`bench: ${msg}`); process.exit(1); }
if (!PPORT || !KEY || !ADMIN) die('usage: dash-bench.mjs --parley PORT --key KEY --admin KEY [--target N]');

const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.max(0, Math.ceil((p / 100) * xs.length) - 1))];
const f = (x, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : '-');

// With the admin key, or as the signed-in user when a cookie is given.
function getReq(path, cookie) {
  const who = cookie ? `Cookie: ${cookie}` : `x-admin-api-key: ${ADMIN}`;
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${who}\r\n\r\n`;
}
function chatReq(session, message) {
  const body = JSON.stringify({ sessionId: session, message });
  return `POST /v1/chat/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nx-api-key: ${KEY}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

async function total() {
  const r = await http(PPORT, 'GET', '/v1/admin/conversations?limit=1', { headers: { 'x-admin-api-key': ADMIN } });
  if (r.status !== 200) die(`admin list: ${r.status} ${r.body}`);
  return JSON.parse(r.body).total;
}

// 1. Enough conversations: one turn per new session, 128 at a time.
async function fill(missing) {
  const RUN = `d${process.pid}-${Date.now().toString(36)}`;
  const clients = [];
  for (let i = 0; i < 128; i++) clients.push(await Client.open(PPORT));
  let next = 0;
  let failed = 0;
  const deadline = now() + 240000;
  await Promise.all(clients.map(async (cl) => {
    while (next < missing && now() < deadline) {
      const i = next++;
      const r = await cl.turn(chatReq(`${RUN}-${i}`, `dashboard bench conversation ${i}`), '"type":"token"', '"type":"done"');
      if (r.status !== 200 || !r.done) failed++;
    }
  }));
  for (const cl of clients) cl.close();
  if (failed) die(`${failed} turns failed while storing conversations`);
}

// One request after another on a keep-alive connection: server and client ms.
async function timed(path, n, cookie) {
  const cl = await Client.open(PPORT);
  const server = [];
  const client = [];
  let last = null;
  try {
    const deadline = now() + 60000;
    for (let i = 0; i < n && now() < deadline; i++) {
      const r = await cl.turn(getReq(path, cookie), '{', null);
      if (r.status !== 200) die(`GET ${path}: ${r.status} ${r.body}`);
      const m = /\r\nserver-timing:\s*app;dur=([0-9.]+)/i.exec(r.head);
      if (!m) die(`GET ${path}: no Server-Timing header`);
      server.push(Number(m[1]));
      client.push(r.total);
      last = r.body;
    }
  } finally { cl.close(); }
  server.sort((a, b) => a - b);
  client.sort((a, b) => a - b);
  return { n: server.length, s50: pct(server, 50), s99: pct(server, 99), c50: pct(client, 50), c99: pct(client, 99), body: last };
}

// 3b. One whole search, following nextCursor to the end.
async function wholeSearch(q) {
  const cl = await Client.open(PPORT);
  let cursor = '';
  let requests = 0;
  let server = 0;
  let found = 0;
  const t0 = now();
  try {
    for (; requests < 10000;) {
      const path = `/v1/admin/conversations?limit=50&q=${encodeURIComponent(q)}${cursor ? `&cursor=${cursor}` : ''}`;
      const r = await cl.turn(getReq(path), '{', null);
      requests++;
      if (r.status !== 200) die(`search: ${r.status} ${r.body}`);
      server += Number(/\r\nserver-timing:\s*app;dur=([0-9.]+)/i.exec(r.head)[1]);
      const j = JSON.parse(Buffer.from(r.body, 'latin1').toString('utf8'));
      found += j.conversations.length;
      if (!j.nextCursor) break;
      cursor = j.nextCursor;
    }
  } finally { cl.close(); }
  return { requests, server, wall: now() - t0, found };
}

const t00 = Date.now();
let have = await total();
if (have < TARGET) {
  process.stderr.write(`bench: storing ${TARGET - have} more conversations through the chat API (${have} stored)...\n`);
  await fill(TARGET - have);
  have = await total();
}
process.stderr.write(`bench: the conversation list and search with ${have} conversations stored...\n`);
await timed('/v1/admin/conversations?limit=50', 50);	// warm-up
const first = await timed('/v1/admin/conversations?limit=50', PAGES);
const miss = `no-such-text-${process.pid}`;
const search = await timed(`/v1/admin/conversations?limit=50&q=${miss}`, SEARCHES);
const whole = await wholeSearch(miss);

// 4. The inbox as DASHBOARD_PASSWORD's owner: a session, then half of the
// first page read, then the list and a thread.
async function inbox() {
  const base = `http://127.0.0.1:${PPORT}`;
  const r = await fetch(`${base}/dashboard/api/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ password: PASSWORD }) });
  if (r.status !== 200) die(`login: ${r.status} ${await r.text()}`);
  const cookie = /parley_session=[0-9a-f]+/.exec(r.headers.get('set-cookie') || '')?.[0];
  const { csrfToken } = await r.json();
  if (!cookie) die('login: no session cookie');
  const page = JSON.parse(Buffer.from((await timed('/v1/admin/conversations?limit=50', 1, cookie)).body, 'latin1').toString('utf8'));
  const convs = page.conversations;
  if (!convs.length || !convs[0].visitorName) die('inbox: the first page has no named rows');
  for (const c of convs.slice(0, 25)) {
    const m = await fetch(`${base}/v1/admin/conversations/${c._id}/read`, { method: 'POST', headers: { Cookie: cookie, 'x-csrf-token': csrfToken } });
    if (m.status !== 204) die(`read: ${m.status}`);
  }
  await timed('/v1/admin/conversations?limit=50', 20, cookie);	// warm-up
  const list = await timed('/v1/admin/conversations?limit=50', PAGES, cookie);
  const thread = await timed(`/v1/admin/conversations/${convs[0]._id}`, PAGES, cookie);
  const unread = JSON.parse(Buffer.from(list.body, 'latin1').toString('utf8')).conversations.filter((c) => c.unread).length;
  return { list, thread, unread };
}
const box = PASSWORD ? await inbox() : null;

const row = (name, a, b, target = '', note = '') => console.log(`${name.padEnd(40)} ${String(a).padStart(10)} ${String(b).padStart(10)}   ${target.padEnd(10)} ${note}`);
console.log('');
console.log(`Dashboard: GET /v1/admin/conversations with ${have} conversations stored, loopback, one request at a time;`);
console.log('server = the worker\'s Server-Timing (routing to the answer queued, storaged included); client = what the client waited.');
console.log('');
row('', 'server ms', 'client ms', 'target');
row('first page (limit 50), p50', f(first.s50), f(first.c50), '', `${first.n} requests`);
row('first page (limit 50), p99', f(first.s99), f(first.c99), '<= 5', first.s99 <= 5 ? 'met' : 'NOT met');
row('search, one request (2,000 looked at), p50', f(search.s50), f(search.c50), '', `${search.n} requests; a text no conversation holds`);
row('search, one request, p99', f(search.s99), f(search.c99), '', '');
row('search through all, summed', f(whole.server, 1), f(whole.wall, 1), '', `${whole.requests} requests, ${whole.found} matches`);
console.log('');
if (box) {
  const met = (x) => (x < 50 ? 'met' : 'NOT met');
  console.log(`Inbox (issue 24): as a signed-in user (visitorName and unread on every row; ${box.unread} of the 50 unread), ${have} conversations.`);
  console.log('');
  row('', 'server ms', 'client ms', 'target');
  row('inbox first page (limit 50), p50', f(box.list.s50), f(box.list.c50), '< 50', `${box.list.n} requests; ${met(box.list.c50)}`);
  row('inbox first page (limit 50), p99', f(box.list.s99), f(box.list.c99), '< 50', met(box.list.c99));
  row('thread (GET :id with messages), p50', f(box.thread.s50), f(box.thread.c50), '< 50', `${box.thread.n} requests; ${met(box.thread.c50)}`);
  row('thread (GET :id with messages), p99', f(box.thread.s99), f(box.thread.c99), '< 50', met(box.thread.c99));
  console.log('');
}
process.stderr.write(`bench: dashboard part took ${Math.round((Date.now() - t00) / 1000)} s\n`);
