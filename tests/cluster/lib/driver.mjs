// The cluster tests' hands inside the `client` host (a network namespace
// the test in the root namespace cannot reach by itself): started there
// by client.mjs with `ip netns exec`, it reads one JSON request a line on
// stdin, {id, op, ...args}, and answers each with one JSON line on stdout,
// {id, ok: true, result} or {id, ok: false, error}. Its stderr is the
// test's to show.
//
// ops:
//   http {method, url, headers, body, localAddress, timeout}
//        -> {status, headers, text}
//   ws.open {url, origin, localAddress, token, timeout} -> {ws: handle, server}
//        (server: the balancer's X-Parley-Front header, when it sent one)
//   ws.send {ws, msg}; ws.next {ws, type, timeout} -> the message;
//   ws.turn {ws, content, timeout} -> {tokens, message}; ws.close {ws}
//   fleet.start {url, origin, addrs, n, content, pauseMs, timeout}
//        n visitors, each from its own address, chatting turn after turn
//        the widget's way (widget/src/index.js); -> {servers: {front: n}}
//   fleet.report {since} -> what each visitor saw (fleet() below)
//   fleet.stop -> closes every socket of the fleet
//   load.start {host, port, adminKey, widgetKey, mix} the crash tests'
//        writers (integration/lib/crashload.mjs: chat turns streamed, JSON
//        and over the widget's socket, admin writes) against Parley at
//        host:port, every acknowledgement recorded -> {names}
//   load.more {n, timeout}: n acknowledgements more; load.after {at,
//        timeout}: one acknowledged after wall ms at -> {at: its time};
//   load.state -> {total, lastAt, summary}; load.stop -> load.state
//   load.check -> {problems, found, total, turns}: every acknowledged
//        write against Parley's export (crashload's checkAgainstExport)
//   tls.probe {host, port, ca, cert, key (file paths), timeout} -> {hello,
//        error}: a TLS client against storaged's listener (storage.mjs)
//   tcp.hold {host, port, n, localAddress, settleMs} -> [{held, closed}]:
//        n plain connections from localAddress (64 at a time), then a
//        quiet settleMs; n a list: each count so, those before still held;
//        then for each count how many the peer left open and how many it
//        closed; then all closed
// Every wait is bounded by its timeout (default 10 s).
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import readline from 'node:readline';

import { checkAgainstExport, startLoad } from '../../integration/lib/crashload.mjs';
import { request } from '../../integration/lib/http.mjs';
import { tlsProbe } from '../../integration/lib/storage.mjs';
import { Visitor } from '../../integration/lib/wsclient.mjs';

const sockets = new Map();   // handle -> Visitor
let nextHandle = 1;
let fleetState = null;

// A visitor's socket (the integration tests' Visitor), from its own
// address; v.server names the front host that answered (the balancer's
// X-Parley-Front header), when it sent one.
async function openVisitor({ url, origin, localAddress, token, timeout = 10000 }) {
  const v = await Visitor.connect(url, { origin, localAddress, token, timeout });
  v.server = (v.upgradeHeaders && v.upgradeHeaders['x-parley-front']) || null;
  return v;
}

function httpOp({ method = 'GET', url, headers = {}, body, localAddress, timeout = 10000 }) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, localAddress, agent: false, timeout }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(parts).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer within ${timeout} ms`)));
    req.on('error', reject);
    if (body !== undefined) req.write(typeof body === 'string' ? body : JSON.stringify(body));
    req.end();
  });
}

function visitorOf(h) {
  const v = sockets.get(h);
  if (!v) throw new Error(`no socket ${h}`);
  return v;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- fleet
// One visitor of the fleet, the widget's way: open (no token in the URL),
// {"type":"resume"} first when it has a token and wait for the `session`
// that answers it ("resumed"), then `history`; turn after turn. When its
// socket closes it comes back after the widget's backoff (0.5 s doubling
// to 15 s, each wait between half and all of it, widget/src/index.js)
// and resumes. It records each connection: when it closed, when the next
// one's resume was acknowledged, when that one's first turn ended, and
// which front host served it.
async function fleetVisitor(f, k) {
  const me = { addr: f.addrs[k], token: null, conns: [], turns: 0, errors: [], history: [] };
  f.visitors[k] = me;
  let tries = 0;
  while (!f.stopping) {
    const conn = { server: null, dialedAt: Date.now(), openedAt: 0, resumedAt: 0, firstTurnAt: 0, closedAt: 0, resumed: null };
    let v;
    try {
      v = await openVisitor({ url: f.url, origin: f.origin, localAddress: me.addr, timeout: f.timeout });
    } catch (e) {
      me.errors.push(`open: ${e.message}`);
      const d = Math.min(15000, 500 * 2 ** tries++);
      await sleep(d / 2 + Math.random() * (d / 2));
      continue;
    }
    conn.openedAt = Date.now();
    conn.server = v.server;
    me.conns.push(conn);
    f.open.add(v);
    try {
      if (me.token) {
        v.send({ type: 'resume', token: me.token });
        let s = await v.next('session', f.timeout);           // the socket's own
        if (typeof s.resumed !== 'boolean') s = await v.next('session', f.timeout);
        conn.resumed = s.resumed;
        conn.resumedAt = Date.now();
        if (s.resumed !== true || s.session_token !== me.token) throw new Error(`not resumed: ${JSON.stringify(s)}`);
        const h = await v.next('history', f.timeout);
        me.history.push(h.messages.length);
      } else {
        const s = await v.next('session', f.timeout);
        me.token = s.session_token;
      }
      tries = 0;
      while (!f.stopping) {
        await v.turn(`${f.content} ${k}.${me.turns}`, f.timeout);
        me.turns++;
        if (!conn.firstTurnAt) conn.firstTurnAt = Date.now();
        if (f.pauseMs) await sleep(f.pauseMs * (0.5 + Math.random()));
      }
    } catch (e) {
      if (v.closeCode === null) me.errors.push(e.message);
    }
    f.open.delete(v);
    if (f.stopping) { await v.close(); break; }
    await v.close();
    conn.closedAt = v.closedAt;
    const d = Math.min(15000, 500 * 2 ** tries++);
    await sleep(d / 2 + Math.random() * (d / 2));
  }
}

async function fleetStart(args) {
  if (fleetState) throw new Error('a fleet is running');
  const f = fleetState = {
    url: args.url, origin: args.origin, addrs: args.addrs, n: args.n ?? args.addrs.length,
    content: args.content ?? 'hello', pauseMs: args.pauseMs ?? 0, timeout: args.timeout ?? 10000,
    visitors: [], open: new Set(), stopping: false, runs: [],
  };
  if (f.n > f.addrs.length) throw new Error(`${f.n} visitors, ${f.addrs.length} addresses`);
  for (let k = 0; k < f.n; k++) f.runs.push(fleetVisitor(f, k));
  // Started: every visitor through its first turn, bounded.
  const deadline = Date.now() + (args.startTimeout ?? 30000);
  while (f.visitors.filter((x) => x && x.turns > 0).length < f.n) {
    if (Date.now() > deadline) {
      const stuck = f.visitors.filter((x) => !x || x.turns === 0).slice(0, 5);
      throw new Error(`${f.visitors.filter((x) => x && x.turns > 0).length} of ${f.n} visitors through a turn after the start timeout; e.g. ${JSON.stringify(stuck)}`);
    }
    await sleep(20);
  }
  const servers = {};
  for (const x of f.visitors) { const s = x.conns[0].server; servers[s] = (servers[s] || 0) + 1; }
  return { servers };
}

function fleetReport() {
  if (!fleetState) throw new Error('no fleet');
  return { now: Date.now(), visitors: fleetState.visitors };
}

async function fleetStop() {
  const f = fleetState;
  if (!f) return {};
  f.stopping = true;
  await Promise.all([...f.open].map((v) => v.close()));
  let t;
  await Promise.race([Promise.all(f.runs), new Promise((r) => { t = setTimeout(r, 15000); })]);
  clearTimeout(t);
  fleetState = null;
  return {};
}

// ---------------------------------------------------------------- load
// Parley at host:port as crashload.mjs sees a Parley of the harness.
function remoteParley({ host, port, adminKey, widgetKey }) {
  const p = {
    host, port, adminKey, widgetKey, opts: {},
    request: (method, pathname, opts = {}) => request(port, method, pathname, { ...opts, host }),
    admin: (pathname, opts = {}) => p.request('GET', pathname, { ...opts, headers: { ...(opts.headers || {}), 'x-admin-api-key': adminKey } }),
  };
  return p;
}

let load = null;	// {p, run (startLoad's), acks}

function loadOf() {
  if (!load) throw new Error('no load');
  return load;
}

function loadState() {
  const { acks } = loadOf();
  return { total: acks.total, lastAt: acks.lastAt || 0, summary: acks.summary() };
}

async function loadStart(args) {
  if (load) throw new Error('a load is running');
  const p = remoteParley(args);
  const run = await startLoad(p, args.mix || {});
  load = { p, run, acks: run.acks };
  return { names: run.names };
}

async function loadCheck() {
  const { p, acks } = loadOf();
  const { problems, found } = await checkAgainstExport(p, acks);
  return { problems: problems.slice(0, 50), nproblems: problems.length, found, total: acks.total, turns: acks.turns.length };
}

async function tcpHold({ host, port, n, localAddress, settleMs = 1000 }) {
  const runs = [];
  for (const count of [n].flat()) {
    const socks = [];
    for (let i = 0; i < count; i += 64) {
      await Promise.all(Array.from({ length: Math.min(64, count - i) }, () => new Promise((resolve) => {
        const s = net.connect({ host, port, localAddress });
        s.gone = false;
        s.on('connect', resolve);
        s.on('error', () => { s.gone = true; resolve(); });
        s.on('close', () => { s.gone = true; resolve(); });
        socks.push(s);
      })));
    }
    await sleep(settleMs);
    runs.push(socks);
  }
  const counts = runs.map((socks) => {
    const closed = socks.filter((s) => s.gone).length;
    return { held: socks.length - closed, closed };
  });
  for (const s of runs.flat()) s.destroy();
  return counts;
}

// ---------------------------------------------------------------- requests
const ops = {
  http: httpOp,
  'ws.open': async (a) => {
    const v = await openVisitor(a);
    const h = nextHandle++;
    sockets.set(h, v);
    return { ws: h, server: v.server };
  },
  'ws.send': async ({ ws, msg }) => { visitorOf(ws).send(msg); return {}; },
  'ws.next': ({ ws, type, timeout }) => visitorOf(ws).next(type, timeout),
  'ws.turn': ({ ws, content, timeout }) => visitorOf(ws).turn(content, timeout),
  'ws.close': async ({ ws }) => { const code = await visitorOf(ws).close(); sockets.delete(ws); return { code }; },
  'fleet.start': fleetStart,
  'fleet.report': fleetReport,
  'fleet.stop': fleetStop,
  'load.start': loadStart,
  'load.more': async ({ n, timeout }) => { await loadOf().acks.more(n, timeout, `${n} acknowledgements more`); return loadState(); },
  'load.after': async ({ at, timeout }) => {
    await loadOf().acks.until(() => loadOf().acks.lastAt > at, timeout, `an acknowledgement after ${at}`);
    return { at: loadOf().acks.lastAt };
  },
  'load.state': async () => loadState(),
  'load.stop': async () => { await loadOf().run.stop(); return loadState(); },
  'load.check': loadCheck,
  'tcp.hold': tcpHold,
  'tls.probe': ({ host, port, ca, cert, key, timeout }) => {
    const read = (f) => (f ? fs.readFileSync(f) : undefined);
    return tlsProbe(port, { ca: read(ca), cert: read(cert), key: read(key) }, { host, timeout });
  },
};

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  let req;
  try { req = JSON.parse(line); } catch { return; }
  let out;
  try {
    if (!ops[req.op]) throw new Error(`unknown op ${req.op}`);
    out = { id: req.id, ok: true, result: await ops[req.op](req) };
  } catch (e) {
    out = { id: req.id, ok: false, error: e.message, status: e.status };
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
});
// The test closed our stdin: close every socket and leave.
rl.on('close', async () => {
  await fleetStop().catch(() => {});
  if (load) await load.run.stop().catch(() => {});
  await Promise.all([...sockets.values()].map((v) => v.close()));
  process.exit(0);
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
