// Starts a real Parley (parley-storaged, then parley-masterd, which starts
// its parley-workerd processes: the workers and the notifier) on loopback
// with a fresh temp data and run directory, and gives the tests what they
// need to look at it from outside: HTTP helpers, raw TCP, the worker pids
// and the notifier's, which worker holds which client connection (from
// /proc), and control over the processes.
//
// At teardown (stop) it fails when a sanitizer printed a report or a daemon
// exited with a status the test did not expect.
import { execFile, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { BIN, REPO } from './bin.mjs';
import './cpu.mjs';
import { Conn, request as httpRequest, sleep } from './http.mjs';
import { MockAI } from './mockai.mjs';
import { spawnOwned } from './owned.mjs';
import { StorageClient } from './storage.mjs';

export { Conn, sleep } from './http.mjs';
export { MockAI } from './mockai.mjs';
export { StorageClient } from './storage.mjs';

export { BIN, REPO } from './bin.mjs';

// ASan zeroes the shadow of a large block with mmap past 64 KiB by
// default; storaged's LMDB allocates 3 MiB in every nested transaction
// (one a request), and the mmaps (page faults, TLB shootdowns) took most
// of its time. memset does the same work in about half the CPU, with the
// same checks.
export const ASAN_SPEED = 'clear_shadow_mmap_threshold=1073741824';

// For a stack's env: the polls of storaged's queues (the notifier's
// outbox and mail outbox, the fetcher's syncs and attachments; a second
// when idle) every 100 ms, in the test build (PARLEY_TEST_POLL_MS,
// workerd/storec.c), where a test waits on those jobs one after another
// and none of it needs a job to start late.
export const QUICK_POLLS = { PARLEY_TEST_POLL_MS: '100' };

// For a stack's env: masterd's start-up window (a child that dies within
// it failed its start, and the next start waits a back-off; 2 s) at
// 500 ms, in the test build (PARLEY_TEST_STARTUP_WINDOW_MS,
// masterd/workers.c), for a test that kills a worker once it runs and
// waits first for it to be past the window (pastStartup).
export const SHORT_STARTUP = { PARLEY_TEST_STARTUP_WINDOW_MS: '500' };

const SANITIZER_PATTERNS = [
  'ERROR: AddressSanitizer',
  'ERROR: LeakSanitizer',
  'runtime error:',
  'SUMMARY: UndefinedBehaviorSanitizer',
  'WARNING: ThreadSanitizer',
];

// One request over TLS on a fresh connection (ca: the PEM to trust):
// {status, headers, body, text, json(), cert (the server's, node form),
// alpn, protocol}.
export function httpsRequest(port, method, pathname, { ca, headers = {}, body, timeout = 5000, servername } = {}) {
  return new Promise((resolve, reject) => {
    const hs = Array.isArray(headers) ? Object.fromEntries(headers) : { ...headers };
    const req = https.request({ host: '127.0.0.1', port, method, path: pathname, ca, headers: hs, agent: false, timeout, servername, ALPNProtocols: ['http/1.1'] }, (res) => {
      const parts = [];
      const sock = res.socket;
      const cert = sock.getPeerCertificate();
      const alpn = sock.alpnProtocol;
      const protocol = sock.getProtocol();
      res.on('data', (d) => parts.push(d));
      res.on('end', () => {
        const b = Buffer.concat(parts);
        resolve({ status: res.statusCode, headers: res.headers, body: b, get text() { return b.toString('utf8'); }, json() { return JSON.parse(b.toString('utf8')); }, cert, alpn, protocol });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

// Resolves with what promise resolves to, or null after ms; leaves no timer behind.
export function within(promise, ms) {
  let t;
  return Promise.race([
    promise,
    new Promise((resolve) => { t = setTimeout(() => resolve(null), ms); }),
  ]).finally(() => clearTimeout(t));
}

// Waits until pred() (sync or async) is true, looking every `every` ms
// (20: a pred that starts a process, such as parleyctl, wants more);
// throws "what: not after ms ms" when it is still false at the deadline.
// For a test that needs something to have happened (so many writes
// acknowledged) instead of sleeping for a time that is too short on a busy
// machine.
export async function waitFor(pred, ms, what, every = 20) {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    // what may be a function: logs read when the wait fails, not before.
    if (Date.now() > deadline) throw new Error(`${typeof what === 'function' ? what() : what}: not after ${ms} ms`);
    await sleep(every);
  }
}

// The kernel's ephemeral ports (listen(0) and every outgoing connection
// take theirs from there): [low, high].
function ephemeralRange() {
  try {
    const [lo, hi] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo > 0 && hi >= lo) return [lo, hi];
  } catch { /* not Linux: listen(0) below */ }
  return [0, 0];
}

// 1 if port is free on 127.0.0.1 now, else 0; rejects on other errors.
function tryPort(port) {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', (e) => (e.code === 'EADDRINUSE' || e.code === 'EACCES' ? resolve(0) : reject(e)));
    s.listen(port, '127.0.0.1', () => {
      const got = s.address().port;
      s.close(() => resolve(got));
    });
  });
}

// A port free on 127.0.0.1, for a server a test starts later. Picked at
// random below the ephemeral range, so that no outgoing connection (of
// this test or of another running beside it) can take it meanwhile: a
// port from listen(0) could be, and the server then failed to start
// ("Address already in use").
// Chromium refuses to load a page from these ports (ERR_UNSAFE_PORT):
// those of its list above the range's base.
const UNSAFE_PORTS = new Set([10080]);

export async function freePort() {
  const [lo] = ephemeralRange();
  const base = 10000;
  if (lo > base + 1000) {
    for (let i = 0; i < 50; i++) {
      const want = base + Math.floor(Math.random() * (lo - base));
      const port = UNSAFE_PORTS.has(want) ? null : await tryPort(want);
      if (port) return port;
    }
  }
  return tryPort(0);
}

export function randomKey(n = 32) {
  return crypto.randomBytes(n).toString('base64url').slice(0, Math.max(24, n));
}

function pidAlive(pid) {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = st.slice(st.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch { return false; }
}

// When pid started (clock ticks since boot, /proc/<pid>/stat's 22nd
// field), or null when there is no such process. A pid and its start
// name one process; a pid alone may since have been taken by another
// test's (pid_max is 32768 here, and make test goes through them).
export function pidStart(pid) {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return st.slice(st.lastIndexOf(')') + 2).split(' ')[19];
  } catch { return null; }
}

// The processes of seen (a Map pid -> pidStart) still running as
// themselves, not zombies.
export function seenAlive(seen) {
  return [...seen].filter(([p, start]) => start !== null && pidStart(p) === start && pidAlive(p)).map(([p]) => p);
}

// Records in seen (pid -> pidStart) each of pids not seen yet.
export function seeAll(seen, pids) {
  for (const p of pids) if (!seen.has(p)) seen.set(p, pidStart(p));
}

function readComm(pid) {
  try { return fs.readFileSync(`/proc/${pid}/comm`, 'latin1').trim(); } catch { return null; }
}

// masterd's notifier (parley-workerd --role notifier, masterd/procs.c):
// comm parley-notify once it has named itself; in the instant before,
// comm parley-workerd with "notifier" on its command line.
function isNotifier(pid) {
  const c = readComm(pid);
  if (c === 'parley-notify') return true;
  if (c === null || !c.startsWith('parley-worker')) return false;
  try { return fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('notif'); } catch { return false; }
}

// masterd's fetcher, parley-fetch: a program of its own, comm
// parley-fetch from its exec.
function isFetcher(pid) {
  return readComm(pid) === 'parley-fetch';
}

// Live (non-zombie) children of pid.
export function childPids(pid) {
  const out = new Set();
  let tasks = [];
  try { tasks = fs.readdirSync(`/proc/${pid}/task`); } catch { return []; }
  for (const t of tasks) {
    let s = '';
    try { s = fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'latin1'); } catch { continue; }
    for (const c of s.trim().split(/\s+/)) if (c) out.add(Number(c));
  }
  return [...out].filter(pidAlive).sort((a, b) => a - b);
}

// Every TCP socket of /proc/net/tcp and tcp6: {lport, rport, state, tx,
// rx, inode}, tx and rx its send and receive queues in bytes.
export function tcpTable() {
  const out = [];
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try { text = fs.readFileSync(f, 'latin1'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const p = line.trim().split(/\s+/);
      if (p.length < 10) continue;
      const [tx, rx] = p[4].split(':').map((h) => parseInt(h, 16));
      out.push({
        lport: parseInt(p[1].split(':').pop(), 16), rport: parseInt(p[2].split(':').pop(), 16),
        state: parseInt(p[3], 16), tx, rx, inode: Number(p[9]),
      });
    }
  }
  return out;
}

// Server-side TCP sockets on a local port: Map inode -> {remotePort, state}.
export function tcpSocketsOnPort(port) {
  const m = new Map();
  for (const s of tcpTable()) if (s.lport === port && s.inode) m.set(s.inode, { remotePort: s.rport, state: s.state });
  return m;
}

// Bytes the server has not read yet on the server side of the connection
// from client port clientPort to port (rx_queue in /proc/net/tcp), or null
// when there is no such socket.
export function serverUnread(port, clientPort) {
  const s = tcpTable().find((x) => x.lport === port && x.rport === clientPort);
  return s ? s.rx : null;
}

// Bytes in flight between a server on port and its client on clientPort:
// toClient, what the server's side has sent and not had acknowledged (its
// send queue) and what the client's side holds unread (its receive
// queue); else the other way. 0 once the connection is gone.
export function bytesInFlight(port, clientPort, toClient = true) {
  let n = 0;
  for (const s of tcpTable()) {
    if (s.lport === port && s.rport === clientPort) n += toClient ? s.tx : s.rx;
    else if (s.lport === clientPort && s.rport === port) n += toClient ? s.rx : s.tx;
  }
  return n;
}

// The bytes in flight to clientPort once the server has stopped writing
// (two reads 200 ms apart agree, some bytes out): a download waiting on a
// reader that does not read. 0 when it never settles within 20 s.
export async function settledInFlight(port, clientPort) {
  let last = -1;
  for (let i = 0; i < 100; i++) {
    await sleep(200);
    const n = bytesInFlight(port, clientPort);
    if (n > 0 && n === last) return n;
    last = n;
  }
  return 0;
}

export function socketInodes(pid) {
  const s = new Set();
  let fds = [];
  try { fds = fs.readdirSync(`/proc/${pid}/fd`); } catch { return s; }
  for (const fd of fds) {
    let l;
    try { l = fs.readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { continue; }
    const m = /^socket:\[(\d+)\]$/.exec(l);
    if (m) s.add(Number(m[1]));
  }
  return s;
}

const TCP_LISTEN = 0x0a;

export class Parley {
  constructor(opts = {}) {
    this.opts = opts;
    this.workers = opts.workers ?? 2;
    this.adminKey = opts.adminKey === undefined ? randomKey(32) : opts.adminKey; // null: unset
    // opts.mock (true or MockAI options): start the mock model first, point
    // OPENAI_BASE_URL at it, and stop it after the daemons.
    this.mock = opts.mock ? new MockAI(opts.mock === true ? {} : opts.mock) : null;
    this.widgetKey = opts.widgetKey === undefined ? randomKey(32) : opts.widgetKey; // null: unset
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-it-'));
    this.dataDir = path.join(this.tmp, 'data');
    this.runDir = path.join(this.tmp, 'run');
    this.sockPath = path.join(this.runDir, 'storaged.sock');
    // opts.dataFrom: a data directory (a fixture an older release made)
    // whose files are copied into this fresh one, so it starts on that data
    // and the original is never written.
    if (opts.dataFrom) fs.cpSync(opts.dataFrom, this.dataDir, { recursive: true });
    this.procs = {};            // name -> {child, exit: Promise, code, signal, expect}
    this.logs = { storaged: '', masterd: '' };
    this.logFiles = { storaged: path.join(this.tmp, 'storaged.log'), masterd: path.join(this.tmp, 'masterd.log') };
    this.problems = [];
    // Every worker and notifier seen: pid -> its start (pidStart).
    this.seenWorkers = new Map();
    this.seenNotifiers = new Map();
    this.startedAt = 0;
  }

  env() {
    const env = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (/^(PARLEY_|LISTEN_|NOTIFY_SOCKET|ADMIN_API_KEY|WIDGET_API_KEY|PORT$|NODE_ENV|ASAN_|UBSAN_|LSAN_|OPENAI_|CORS_ORIGIN|RATE_LIMIT_|MAX_HISTORY_MESSAGES|TRUST_PROXY|SYSTEM_PROMPT)/.test(k)) continue;
      env[k] = v;
    }
    Object.assign(env, {
      PARLEY_DATA_DIR: this.dataDir,
      PARLEY_RUN_DIR: this.runDir,
      PARLEY_HOST: '127.0.0.1',
      PORT: String(this.port),
      PARLEY_WORKERS: String(this.workers),
      PARLEY_LOG_LEVEL: this.opts.logLevel ?? 'info',
      PARLEY_MAP_SIZE_MB: '64',
      ASAN_OPTIONS: `abort_on_error=0:halt_on_error=1:detect_leaks=1:print_summary=1:exitcode=66:${ASAN_SPEED}`,
      UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1:exitcode=67',
      LSAN_OPTIONS: 'exitcode=68',
    });
    if (this.adminKey !== null) env.ADMIN_API_KEY = this.adminKey;
    if (this.widgetKey !== null) env.WIDGET_API_KEY = this.widgetKey;
    if (this.mock && this.mock.port) env.OPENAI_BASE_URL = this.mock.baseUrl;
    if (this.opts.headerTimeoutMs) env.PARLEY_HEADER_TIMEOUT_MS = String(this.opts.headerTimeoutMs);
    if (this.opts.idleTimeoutMs) env.PARLEY_IDLE_TIMEOUT_MS = String(this.opts.idleTimeoutMs);
    if (this.opts.shutdownTimeoutMs) env.PARLEY_SHUTDOWN_TIMEOUT_MS = String(this.opts.shutdownTimeoutMs);
    if (this.cluster) Object.assign(env, this.cluster.env);
    Object.assign(env, this.opts.env || {});
    return env;
  }

  // opts.clusterTls (true, or { storaged(addr) -> PARLEY_STORAGED }):
  // storaged also listens on tls://127.0.0.1:<free port> and the workers
  // reach it there (or at what storaged(addr) lists), with certificates
  // scripts/cluster-certs.sh makes in this.tmp/cluster (one node, "node",
  // for 127.0.0.1, used as both server and client). this.cluster: {dir,
  // port, addr, env}.
  async _clusterTls() {
    const o = this.opts.clusterTls;
    if (!o || this.cluster) return;
    const dir = path.join(this.tmp, 'cluster');
    const r = spawnSync(path.join(REPO, 'scripts/cluster-certs.sh'), [dir, '--storaged', 'node=127.0.0.1'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cluster-certs.sh: ${r.stderr}`);
    const port = await freePort();
    const addr = `tls://127.0.0.1:${port}`;
    this.cluster = {
      dir, port, addr,
      env: {
        PARLEY_STORAGED_LISTEN: addr,
        PARLEY_STORAGED: typeof o === 'object' && o.storaged ? o.storaged(addr) : addr,
        PARLEY_CLUSTER_CA: path.join(dir, 'ca.pem'),
        PARLEY_CLUSTER_CERT: path.join(dir, 'node.pem'),
        PARLEY_CLUSTER_KEY: path.join(dir, 'node.key'),
      },
    };
  }

  _spawn(name) {
    const bin = path.join(BIN, `parley-${name}`);
    if (!fs.existsSync(bin)) throw new Error(`${bin} does not exist: run "make test-build" (or set PARLEY_BIN)`);
    // opts.wrap[name](bin, env) -> [command, args, env]: start the daemon
    // through another program that execs it (systemd-socket-activate), so
    // the pid is still the daemon's.
    let cmd = bin, args = [], env = this.env();
    if (this.opts.wrap && this.opts.wrap[name]) [cmd, args, env] = this.opts.wrap[name](bin, env);
    const child = spawnOwned(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], cwd: this.tmp });
    const rec = { child, name, code: undefined, signal: undefined, expect: { codes: [0], signals: [] }, exited: false };
    const onData = (d) => {
      const s = d.toString('utf8');
      this.logs[name] += s;
      try { fs.appendFileSync(this.logFiles[name], s); } catch { /* ignore */ }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    rec.exit = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        rec.code = code; rec.signal = signal; rec.exited = true;
        const ok = signal ? rec.expect.signals.includes(signal) : rec.expect.codes.includes(code);
        if (!ok) this.problems.push(`parley-${name} (pid ${child.pid}) exited unexpectedly: code ${code} signal ${signal}`);
        resolve({ code, signal });
      });
    });
    rec.streamsClosed = new Promise((resolve) => child.on('close', resolve));
    child.on('error', (e) => this.problems.push(`parley-${name}: spawn error ${e.message}`));
    this.procs[name] = rec;
    return rec;
  }

  // opts.masterd false: storaged alone (a standby, issue 25: masterd can
  // be started later with startMasterd(), once it is promoted).
  async start() {
    this.port = this.opts.port ?? await freePort();
    if (this.mock && !this.mock.port) await this.mock.start();
    await this._clusterTls();
    await this.startStoraged();
    if (this.opts.masterd === false) return this;
    await this.startMasterd();
    if (this.opts.waitAllWorkers !== false) await this.waitWorkersReady(this.workers, 10000);
    return this;
  }

  // masterd on this.port, healthy. The port freePort() found free may be
  // taken before masterd binds it (a connection of another test's gets it
  // as its local port): then masterd stops at once, "Address already in
  // use", and it starts again on another port, three times at most.
  async startMasterd() {
    for (let attempt = 1; ; attempt++) {
      this.startedAt = Date.now();
      const m = this._spawn('masterd');
      this.masterPid = m.child.pid;
      try {
        await this.waitHealthy(this.opts.startTimeoutMs ?? 20000);
        return;
      } catch (e) {
        if (this.opts.port || attempt >= 3 || !m.exited || !/Address already in use/.test(this.logs.masterd)) throw e;
        await m.exit;
        this.problems = this.problems.filter((p) => !p.includes(`(pid ${m.child.pid}) exited`));
        this.logs.masterd = '';
        this.port = await freePort();
      }
    }
  }

  // Waits for n workers, each of them ready (masterd's "worker N (pid P)
  // ready" line, at info): masterd gives connections only to ready ones,
  // so a test that spreads load over every worker must not start before.
  async waitWorkersReady(n, timeout = 10000) {
    const deadline = Date.now() + timeout;
    const pids = await this.waitWorkerCount(n, timeout);
    if (this.opts.logLevel === 'warn') return pids;
    while (Date.now() < deadline) {
      if (pids.every((pid) => this.logs.masterd.includes(`(pid ${pid}) ready after`))) return pids;
      await sleep(25);
    }
    throw new Error(`workers ${pids.join(',')} not all ready after ${timeout} ms:\n${this.tail('masterd')}`);
  }

  // Starts parley-storaged and returns at once, not waiting for it to
  // serve (a test that kills it during its start-up).
  spawnStoraged() {
    const rec = this._spawn('storaged');
    this.storagedPid = rec.child.pid;
    return rec;
  }

  async startStoraged(timeout = 15000) {
    const rec = this.spawnStoraged();
    const t0 = Date.now();
    const deadline = t0 + timeout;
    // Each kind of failed probe: how many, and when first and last (ms
    // after the spawn), for the message of a start that never serves.
    const failed = new Map();
    while (Date.now() < deadline) {
      if (rec.exited) throw new Error(`parley-storaged exited during start-up (code ${rec.code}, signal ${rec.signal}):\n${this.tail('storaged')}`);
      try {
        const c = await StorageClient.connect(this.sockPath, { name: 'itest-probe', timeout: 1000 });
        await c.ping({ timeout: 2000 });
        c.close();
        return rec;
      } catch (e) {
        const why = e.message.replace(this.sockPath, 'the socket');
        const f = failed.get(why) ?? { n: 0, first: Date.now() - t0 };
        f.n++;
        f.last = Date.now() - t0;
        failed.set(why, f);
      }
      // Looked at often: a restart (crash.test.mjs's fifty) waits on it,
      // and a refused connect to a socket not there yet costs nothing.
      await sleep(10);
    }
    const probes = [...failed].map(([why, f]) => `${f.n} x ${why} (${f.first}..${f.last} ms)`).join('; ');
    throw new Error(`parley-storaged not ready after ${timeout} ms (probes: ${probes}):\n${this.tail('storaged')}`);
  }

  async waitHealthy(timeout = 15000) {
    const deadline = Date.now() + timeout;
    let last = '';
    while (Date.now() < deadline) {
      const m = this.procs.masterd;
      if (m.exited) throw new Error(`parley-masterd exited during start-up (code ${m.code}, signal ${m.signal}):\n${this.tail('masterd')}`);
      try {
        const r = this.opts.tlsCa
          ? await httpsRequest(this.port, 'GET', '/health', { ca: this.opts.tlsCa, timeout: 2000 })
          : await httpRequest(this.port, 'GET', '/health', { timeout: 2000 });
        if (r.status === 200) return;
        last = `status ${r.status}`;
      } catch (e) { last = e.message; }
      await sleep(20);
    }
    throw new Error(`parley not healthy after ${timeout} ms (${last}):\n${this.tail('masterd')}`);
  }

  // Exec'd workers (comm parley-workerd) that are children of masterd;
  // never the notifier.
  workerPids() {
    const pids = childPids(this.masterPid).filter((p) => {
      const c = readComm(p);
      return c !== null && c.startsWith('parley-worker') && !isNotifier(p) && !isFetcher(p);
    });
    seeAll(this.seenWorkers, pids);
    return pids;
  }

  // masterd's fetcher children (comm parley-fetch): one, or two for a
  // moment while a reload replaces it.
  fetcherPids() {
    return childPids(this.masterPid).filter(isFetcher);
  }

  // masterd's notifier children (comm parley-notify): one, or two for a
  // moment while a reload replaces it.
  notifierPids() {
    const pids = childPids(this.masterPid).filter(isNotifier);
    seeAll(this.seenNotifiers, pids);
    return pids;
  }

  // The notifier's pid when there is exactly one, else null.
  notifierPid() {
    const pids = this.notifierPids();
    return pids.length === 1 ? pids[0] : null;
  }

  // Waits for a single notifier that masterd logged ready ("notifier N
  // (pid P) ready after"; log level info), other than the pids in not;
  // returns its pid.
  async waitNotifierReady(timeout = 10000, not = []) {
    const deadline = Date.now() + timeout;
    let pid = null;
    while (Date.now() < deadline) {
      pid = this.notifierPid();
      if (pid !== null && !not.includes(pid) &&
          new RegExp(`notifier \\d+ \\(pid ${pid}\\) ready after`).test(this.logs.masterd)) return pid;
      await sleep(25);
    }
    throw new Error(`no single ready notifier (other than ${not.join(',') || 'none'}) after ${timeout} ms; notifiers ${this.notifierPids().join(',') || 'none'}:\n${this.tail('masterd')}`);
  }

  async waitWorkerCount(n, timeout = 10000, pred = () => true) {
    const deadline = Date.now() + timeout;
    let pids = [];
    while (Date.now() < deadline) {
      pids = this.workerPids();
      if (pids.length === n && pred(pids)) return pids;
      await sleep(25);
    }
    throw new Error(`expected ${n} workers, have ${pids.length} (${pids.join(',')}) after ${timeout} ms`);
  }

  // Map client local port -> pid of the process holding the server side.
  // Only pids given are looked at (default: the workers and masterd).
  connectionOwners(pids = [...this.workerPids(), this.masterPid]) {
    const socks = tcpSocketsOnPort(this.port);
    const owners = new Map();
    for (const pid of pids) {
      for (const inode of socketInodes(pid)) {
        const s = socks.get(inode);
        if (s && s.state !== TCP_LISTEN) owners.set(s.remotePort, pid);
      }
    }
    return owners;
  }

  // pid -> number of accepted (non-listening) TCP sockets on our port it holds.
  connectionCounts(pids = [...this.workerPids(), this.masterPid]) {
    const socks = tcpSocketsOnPort(this.port);
    const counts = new Map();
    for (const pid of pids) {
      let n = 0;
      for (const inode of socketInodes(pid)) {
        const s = socks.get(inode);
        if (s && s.state !== TCP_LISTEN) n++;
      }
      counts.set(pid, n);
    }
    return counts;
  }

  connect(opts) { return Conn.open(this.port, opts); }

  // Waits until the server has read everything written so far on conn
  // (a worker took the bytes of a partial request off the socket).
  waitServerRead(conn, timeout = 5000) {
    return waitFor(() => serverUnread(this.port, conn.localPort) === 0, timeout, `the server reads what :${conn.localPort} sent`);
  }

  request(method, pathname, opts = {}) {
    if (opts.conn) return opts.conn.request(method, pathname, opts);
    // opts.tlsCa (the PEM to trust): the server speaks TLS.
    if (this.opts.tlsCa) return httpsRequest(this.port, method, pathname, { ca: this.opts.tlsCa, ...opts });
    return httpRequest(this.port, method, pathname, opts);
  }

  get(pathname, opts = {}) { return this.request('GET', pathname, opts); }

  admin(pathname, opts = {}) {
    const headers = { ...(opts.headers || {}) };
    if (this.adminKey) headers['x-admin-api-key'] = this.adminKey;
    return this.request('GET', pathname, { ...opts, headers });
  }

  // An admin API call with body as JSON (no body when undefined).
  adminJson(method, pathname, body) {
    const headers = { 'Content-Type': 'application/json' };
    if (this.adminKey) headers['x-admin-api-key'] = this.adminKey;
    return this.request(method, pathname, { headers, body: body === undefined ? undefined : JSON.stringify(body) });
  }

  // Sends raw bytes on a new connection and collects what comes back until
  // the server closes or the timeout: {data: Buffer, closed: bool, error}.
  async raw(bytes, { timeout = 3000 } = {}) {
    const c = await this.connect();
    await c.write(bytes);
    const closed = await c.waitClose(timeout);
    const res = { data: c.buf, closed, error: c.error };
    c.destroy();
    return res;
  }

  storage(opts) { return StorageClient.connect(this.sockPath, opts); }

  // Runs parleyctl on this storaged's socket; resolves {code, stdout,
  // stderr} whatever its status (input: written to its stdin).
  ctl(args, { input, timeout = 60000 } = {}) {
    return new Promise((resolve) => {
      const child = execFile(path.join(BIN, 'parleyctl'), ['-S', this.sockPath, ...args],
        { timeout, maxBuffer: 256 << 20, env: this.env() },
        (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
      if (input !== undefined) child.stdin.end(input);
      else child.stdin.end();
    });
  }

  expectExit(name, { codes = [0], signals = [] } = {}) {
    this.procs[name].expect = { codes, signals };
  }

  async killStoraged(signal = 'SIGKILL') {
    const rec = this.procs.storaged;
    if (!rec || rec.exited) return;
    this.expectExit('storaged', signal === 'SIGKILL' ? { codes: [], signals: ['SIGKILL'] } : { codes: [0] });
    process.kill(rec.child.pid, signal);
    await within(rec.exit, 10000);
    if (!rec.exited) throw new Error('parley-storaged did not exit');
    // All it logged is read: a log offset taken next is the next start's.
    await within(rec.streamsClosed, 2000);
  }

  // Restarts storaged and waits until every worker is connected to it
  // again (each logs "storaged: connected"; it retries 10 ms after a drop, doubling to 250 ms, and a
  // call made before fails at once). Needs log level info (the default).
  async restartStoraged(timeout = 10000) {
    await this.killStoraged('SIGTERM');
    const from = this.logs.masterd.length;
    const rec = await this.startStoraged();
    await this.waitConnected(from, timeout);
    return rec;
  }

  // Waits until every worker, and the notifier when pids names it, has
  // logged "storaged: connected" after masterd's log offset from (a
  // restarted storaged: each retries on its own schedule, up to 250 ms).
  async waitConnected(from, timeout = 10000, pids = this.workerPids()) {
    const connected = (pid) => this.logs.masterd.includes(`[${pid}]: info: storaged: connected`, from);
    await waitFor(() => pids.every(connected), timeout, () => 'every worker connected to storaged\n' +
      `masterd:\n${this.tail('masterd')}\nstoraged:\n${this.tail('storaged')}`);
  }

  // Stops parley-masterd (and so its workers) with SIGTERM and starts it
  // again on the same data dir and storaged, with env merged into
  // opts.env (a setting's new value, e.g. DASHBOARD_PASSWORD).
  async restartMaster(env = {}) {
    const m = this.procs.masterd;
    const workers = this.workerPids();
    if (m && !m.exited) {
      process.kill(m.child.pid, 'SIGTERM');
      await within(m.exit, 15000);
      if (!m.exited) throw new Error('parley-masterd did not exit within 15 s of SIGTERM');
      await within(m.streamsClosed, 2000);
    }
    const deadline = Date.now() + 3000;
    while (workers.some(pidAlive) && Date.now() < deadline) await sleep(25);
    this.opts.env = { ...(this.opts.env || {}), ...env };
    const from = this.logs.masterd.length;
    const rec = this._spawn('masterd'); // its log goes on after the old one's
    this.masterPid = rec.child.pid;
    await this.waitHealthy(this.opts.startTimeoutMs ?? 20000);
    if (this.opts.waitAllWorkers !== false) await this.waitServing(from, 10000);
    return this;
  }

  // The workers ready and each connected to storaged (its log from masterd's
  // offset from): a worker is ready once connected (or 5 s after it started
  // without storaged: then its requests wait 2 s and answer 503 "Storage
  // unavailable"). Needs log level info.
  async waitServing(from, timeout = 10000) {
    const pids = await this.waitWorkersReady(this.workers, timeout);
    if (this.opts.logLevel !== 'warn') await this.waitConnected(from, timeout, pids);
    return pids;
  }

  signalMaster(signal) { process.kill(this.masterPid, signal); }

  // Sleeps until the workers masterd started are past its start-up window
  // (2 s, or the env's PARLEY_TEST_STARTUP_WINDOW_MS: SHORT_STARTUP), with
  // 600 ms for their own start: one killed then is lost, not failing.
  async pastStartup() {
    const window = Number(this.env().PARLEY_TEST_STARTUP_WINDOW_MS || 2000);
    await sleep(Math.max(0, this.startedAt + window + 600 - Date.now()));
  }

  // SIGHUP, then waits until masterd logs that the reload is done: every
  // new worker is ready and every old one was told to quit, so each
  // connection accepted from then on goes to a new worker (until a new
  // worker answers, an old one may still take connections: masterd/README.md,
  // "SIGHUP"). Needs PARLEY_LOG_LEVEL info or debug (the default here).
  async reload(timeout = 15000) {
    const done = /reload done: \d+ new workers serving/g;
    const n = (this.logs.masterd.match(done) || []).length;
    this.signalMaster('SIGHUP');
    const deadline = Date.now() + timeout;
    while ((this.logs.masterd.match(done) || []).length <= n) {
      if (Date.now() > deadline) throw new Error(`reload not done ${timeout} ms after SIGHUP:\n${this.tail('masterd')}`);
      await sleep(20);
    }
  }

  async waitMasterExit(timeout = 15000) {
    const rec = this.procs.masterd;
    return within(rec.exit, timeout);
  }

  // Waits until name's log (from the offset from) matches re. What a
  // daemon logs before it answers may reach this process's pipe after the
  // answer does, so a log line is waited for, never looked for once.
  async waitLog(name, re, { from = 0, timeout = 10000, what = '' } = {}) {
    await waitFor(() => re.test((this.logs[name] || '').slice(from)), timeout,
      () => `${what ? `${what}: ` : ''}${name}'s log matching ${re}\n${this.tail(name)}`);
  }

  tail(name, n = 4000) {
    const s = this.logs[name] || '';
    return s.length > n ? `...${s.slice(-n)}` : s;
  }

  sanitizerReports() {
    const out = [];
    for (const [name, text] of Object.entries(this.logs)) {
      for (const pat of SANITIZER_PATTERNS) {
        const i = text.indexOf(pat);
        if (i >= 0) out.push(`${name} log has "${pat}":\n${text.slice(Math.max(0, i - 500), i + 3000)}`);
      }
    }
    return out;
  }

  // Stops everything. Throws when something went wrong (sanitizer report,
  // unexpected exit status, orphan worker, daemon that would not stop).
  async stop() {
    const problems = [];
    const m = this.procs.masterd;
    if (m) {
      // Workers seen, each by its pid and start: a pid another test's
      // process has taken since is not ours to report or kill.
      if (!m.exited) { this.workerPids(); this.notifierPids(); }
      const workers = new Map([...this.seenWorkers, ...this.seenNotifiers]);
      if (!m.exited) {
        try { process.kill(m.child.pid, 'SIGTERM'); } catch { /* gone */ }
        const grace = (this.opts.shutdownTimeoutMs ?? 10000) + 8000;
        await within(m.exit, grace);
        if (!m.exited) {
          problems.push(`parley-masterd did not exit within ${grace} ms of SIGTERM`);
          m.expect = { codes: [], signals: ['SIGKILL'] };
          try { process.kill(m.child.pid, 'SIGKILL'); } catch { /* gone */ }
          await within(m.exit, 3000);
        }
      }
      // Workers must not outlive masterd.
      const deadline = Date.now() + 3000;
      let left = seenAlive(workers);
      while (left.length && Date.now() < deadline) { await sleep(50); left = seenAlive(workers); }
      for (const p of left) {
        const c = readComm(p);
        if (c?.startsWith('parley-worker') || c === 'parley-notify' || c === 'parley-fetch') {
          problems.push(`${c === 'parley-notify' ? 'notifier' : c === 'parley-fetch' ? 'fetcher' : 'worker'} ${p} still running after masterd exited`);
          try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
        }
      }
      await within(m.streamsClosed, 2000);
    }
    const s = this.procs.storaged;
    if (s && !s.exited) {
      try { process.kill(s.child.pid, 'SIGTERM'); } catch { /* gone */ }
      await within(s.exit, 10000);
      if (!s.exited) {
        problems.push('parley-storaged did not exit within 10 s of SIGTERM');
        s.expect = { codes: [], signals: ['SIGKILL'] };
        try { process.kill(s.child.pid, 'SIGKILL'); } catch { /* gone */ }
        await within(s.exit, 3000);
      }
      await within(s.streamsClosed, 2000);
    }
    if (this.mock) {
      try { await this.mock.stop(); } catch (e) { problems.push(e.message); }
    }
    problems.push(...this.problems, ...this.sanitizerReports());
    if (problems.length) {
      const msg = `${problems.join('\n')}\n--- logs kept in ${this.tmp}\n--- masterd/workerd log tail:\n${this.tail('masterd')}\n--- storaged log tail:\n${this.tail('storaged')}`;
      throw new Error(msg);
    }
    if (!process.env.PARLEY_KEEP_TMP) fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}

// Starts a Parley for one test and registers its teardown on t.
export async function startParley(t, opts = {}) {
  const p = new Parley(opts);
  if (t) t.after(() => p.stop());
  try {
    await p.start();
  } catch (e) {
    if (!t) await p.stop().catch(() => {});
    throw e;
  }
  return p;
}

// Starts masterd alone with env, for a setting it must refuse, and waits
// for it to exit with a status other than 0 (at most 10 s, else the test
// fails with its log); stops what is left. {code, signal, log, ms}.
export async function refused(env, opts = {}) {
  const p = new Parley({ workers: 2, mock: false, ...opts, env });
  p.port = await freePort();
  const t0 = Date.now();
  const rec = p._spawn('masterd');
  p.masterPid = rec.child.pid;
  p.expectExit('masterd', { codes: Array.from({ length: 255 }, (_, i) => i + 1) });
  const res = await within(rec.exit, 10000);
  if (!res) {
    p.expectExit('masterd', { codes: [0], signals: ['SIGTERM'] });
    await p.stop().catch(() => {});
    throw new Error(`masterd did not exit within 10 s; its log:\n${p.tail('masterd')}`);
  }
  await within(rec.streamsClosed, 2000);
  const out = { ...res, log: p.logs.masterd, ms: Date.now() - t0 };
  await p.stop();
  return out;
}

// Runs fn over items with at most n at a time.
export async function pool(items, n, fn) {
  const out = new Array(items.length);
  let next = 0;
  const runners = [];
  for (let k = 0; k < Math.min(n, items.length); k++) {
    runners.push((async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    })());
  }
  await Promise.all(runners);
  return out;
}

export const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
};
