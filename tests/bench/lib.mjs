// What the benchmark scripts share: a keep-alive HTTP/1.1 client on a raw
// socket (so the figures measure the servers, not an HTTP library), and a
// one-shot request. Node built-ins only; loopback only.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import net from 'node:net';

export const now = () => Number(process.hrtime.bigint()) / 1e6;   // ms, sub-µs resolution

const END = '\r\n0\r\n\r\n';

// One keep-alive connection; turn() sends a request and resolves when the
// chunked answer has ended: {status, ttft (ms from write to the first
// content), total, done (saw the marker that says the turn went well)}.
export class Client {
  static open(port) {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.setNoDelay(true);
      s.once('connect', () => resolve(new Client(s)));
      s.once('error', reject);
    });
  }

  constructor(sock) {
    this.sock = sock;
    this.cur = null;
    sock.on('data', (d) => this.data(d));
    sock.on('error', (e) => this.fail(e));
    sock.on('close', () => this.fail(new Error('connection closed')));
  }

  fail(e) {
    const c = this.cur;
    this.cur = null;
    if (c) c.reject(e);
  }

  data(d) {
    const c = this.cur;
    if (!c) return;
    const s = d.toString('latin1');
    if (c.head === null) {
      c.pre += s;
      const i = c.pre.indexOf('\r\n\r\n');
      if (i < 0) return;
      c.head = c.pre.slice(0, i);
      c.status = Number(c.head.slice(9, 12));
      if (!/transfer-encoding: chunked/i.test(c.head)) {
        // A JSON error with Content-Length: read it whole.
        const m = /content-length: (\d+)/i.exec(c.head);
        c.body = c.pre.slice(i + 4);
        c.need = m ? Number(m[1]) : 0;
      } else c.body = c.pre.slice(i + 4);
      c.pre = '';
    } else c.body += s;
    if (c.ttft === null && c.body.includes(c.first)) {
      c.ttft = now() - c.t0;
      if (c.onFirst) c.onFirst();
    }
    if (c.need !== undefined) {
      if (c.body.length >= c.need) this.finish(c);
    } else if (c.body.endsWith(END) || c.body.slice(-16).includes(END)) this.finish(c);
  }

  finish(c) {
    this.cur = null;
    c.resolve({ t0: c.t0, status: c.status, head: c.head, body: c.body, ttft: c.ttft, total: now() - c.t0, done: c.doneMark ? c.body.includes(c.doneMark) : true });
  }

  // first: the text whose arrival is the first token; doneMark: proof of success.
  turn(req, first, doneMark, onFirst = null) {
    return new Promise((resolve, reject) => {
      this.cur = { resolve, reject, head: null, pre: '', body: '', ttft: null, first, doneMark, onFirst, t0: now() };
      this.sock.write(req);
    });
  }

  close() { this.sock.destroy(); }
}

// Plain HTTP/1.1 request on a fresh connection: {status, body}.
export async function http(port, method, path, { headers = {}, body } = {}) {
  const c = await Client.open(port);
  try {
    let h = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n`;
    for (const [k, v] of Object.entries(headers)) h += `${k}: ${v}\r\n`;
    if (body !== undefined) h += `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`;
    h += '\r\n';
    if (body !== undefined) h += body;
    const r = await new Promise((resolve, reject) => {
      let buf = '';
      c.sock.removeAllListeners('data');
      c.sock.on('data', (d) => { buf += d.toString('utf8'); });
      c.sock.on('end', () => resolve(buf));
      c.sock.on('error', reject);
      c.sock.write(h);
    });
    const i = r.indexOf('\r\n\r\n');
    let b = r.slice(i + 4);
    if (/transfer-encoding: chunked/i.test(r.slice(0, i))) {
      let out = '';
      for (let off = 0; ;) {
        const le = b.indexOf('\r\n', off);
        const n = parseInt(b.slice(off, le), 16);
        if (!n) break;
        out += b.slice(le + 2, le + 2 + n);
        off = le + 2 + n + 2;
      }
      b = out;
    }
    return { status: Number(r.slice(9, 12)), body: b };
  } finally { c.close(); }
}


// ------------------------------------------------------------ shared by the
// side-by-side sections (chat-side.mjs, streams.mjs, dbsize.mjs, report.mjs)

// --name value pairs of the command line, as an object.
export function parseArgs(argv = process.argv.slice(2)) {
  const a = {};
  for (let i = 0; i < argv.length; i++) if (argv[i].startsWith('--')) a[argv[i].slice(2)] = argv[i + 1];
  return a;
}

export function die(msg) { console.error(`bench: ${msg}`); process.exit(1); }
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The p-th percentile of an ascending array (nearest rank); NaN when empty.
export function pct(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
export function median(xs) {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

// The requests each side is sent. Through nginx and direct to the mock the
// request is the model's (SSE back); through Parley it is the widget's
// (NDJSON back). A turn counts as started at its first content.
export const MODEL = 'gpt-4.1-mini';
const SYSTEM = 'You are a concise and helpful AI assistant embedded in a support chat widget.';
export const MOCK_FIRST = '"delta":{"content":"';
export const MOCK_DONE = 'data: [DONE]';
export const PARLEY_FIRST = '"type":"token"';
export const PARLEY_DONE = '"type":"done"';
export function parleyReq(key, session, message) {
  const body = JSON.stringify({ sessionId: session, message });
  return `POST /v1/chat/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nx-api-key: ${key}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}
export function mockReq(message) {
  const body = JSON.stringify({ model: MODEL, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: message }] });
  return `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

// The mock's knobs (tests/mockai/README.md: /_mock/config) and counters.
export async function mockConfig(port, cfg) {
  const r = await http(port, 'POST', '/_mock/config', { body: JSON.stringify(cfg) });
  if (r.status !== 200) die(`mock config: ${r.status} ${r.body}`);
}
// storaged's commits and requests so far (Parley's /metrics, with the
// admin key): {commits, requests}, write and read commits together.
export async function storageCounts(port, admin) {
  const r = await http(port, 'GET', '/metrics', { headers: { 'x-admin-api-key': admin } });
  const sum = (name) => r.body.split('\n').filter((l) => l.startsWith(name + '{') || l.startsWith(name + ' '))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  return { commits: sum('parley_storage_commits_total'), requests: sum('parley_storage_requests_total'),
    flushes: sum('parley_storage_log_flushes_total'), shared: sum('parley_storage_shared_requests_total') };
}
// storaged's work so far (Parley's /metrics, with the admin key): its
// requests by type and the stored records it read and wrote by record
// ("read conversation", "wrote message"), the metrics' own requests and
// the background polls left out (they come when they will).
export async function storageWork(port, admin) {
  const r = await http(port, 'GET', '/metrics', { headers: { 'x-admin-api-key': admin } });
  const requests = {};
  const records = {};
  for (const m of r.body.matchAll(/^parley_storage_requests_total\{type="([A-Z_]+)"\} (\d+)$/gm))
    if (!/^ST_(METRICS_|HOOK_|KB_DUE|ATT_EXTRACT_DUE|CONV_RESOLVE_DUE)/.test(m[1])) requests[m[1]] = Number(m[2]);
  for (const m of r.body.matchAll(/^parley_storage_record_(read|write)s_total\{record="([a-z]+)"\} (\d+)$/gm))
    records[`${m[1] === 'read' ? 'read' : 'wrote'} ${m[2]}`] = Number(m[3]);
  return { requests, records };
}
// What grew from a to b (storageWork's), divided by n: {key: per n}.
export function workPer(a, b, n) {
  const out = {};
  for (const [k, v] of Object.entries(b)) if (v > (a[k] || 0)) out[k] = (v - (a[k] || 0)) / n;
  return out;
}
export async function mockStats(port) { return JSON.parse((await http(port, 'GET', '/_mock/stats')).body); }

// ------------------------------------------------------------ processes

// The children of pid (every thread's), from /proc.
export function children(pid) {
  const out = [];
  let tasks = [];
  try { tasks = fs.readdirSync(`/proc/${pid}/task`); } catch { return out; }
  for (const t of tasks) {
    try { out.push(...fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'latin1').trim().split(/\s+/).filter(Boolean).map(Number)); } catch { /* gone */ }
  }
  return out;
}
// The processes of a server: the given pids and their children.
export function serverPids(roots) { return roots.flatMap((p) => [p, ...children(p)]); }
export function rssKiB(pid) {
  try { return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'latin1'))[1]); } catch { return 0; }
}
export function rssSum(roots) { return serverPids(roots).reduce((n, p) => n + rssKiB(p), 0); }
// {comm, user, sys} of a process: user and system time of all its threads,
// in clock ticks (1/100 s on Linux; fields 14 and 15 of stat(5)); null
// when it is gone.
const TICK_US = 10000;
export function cpuOf(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { comm: s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')), user: Number(f[11]), sys: Number(f[12]), wakeups: wakeupsOf(pid) };
  } catch { return null; }
}
// The times a process went to sleep and was woken (its threads' voluntary
// context switches, /proc/PID/task/*/status): a loop's wakeups.
function wakeupsOf(pid) {
  let n = 0;
  let tasks = [];
  try { tasks = fs.readdirSync(`/proc/${pid}/task`); } catch { return 0; }
  for (const t of tasks) {
    try { n += Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/task/${t}/status`, 'latin1'))[1]); } catch { /* gone */ }
  }
  return n;
}
// The server's processes' CPU now (pid -> cpuOf), to measure from.
export function cpuSnap(roots) { const m = new Map(); for (const p of serverPids(roots)) m.set(p, cpuOf(p)); return m; }
// User and system µs each program (comm) used since the snapshot before,
// and its wakeups.
export function cpuSplit(before, roots) {
  const out = {};
  for (const p of serverPids(roots)) {
    const now = cpuOf(p);
    if (!now) continue;
    const b = before.get(p) || { user: 0, sys: 0, wakeups: 0 };
    const o = out[now.comm] || (out[now.comm] = { user: 0, sys: 0, wakeups: 0 });
    o.user += (now.user - b.user) * TICK_US;
    o.sys += (now.sys - b.sys) * TICK_US;
    o.wakeups += now.wakeups - b.wakeups;
  }
  return out;
}
// System calls per turn: `strace -c -f` on the server's processes while
// run() drives them; {total, by: {name: calls per turn}} (null without strace).
export async function syscallsPerTurn(roots, run) {
  const out = `/tmp/parley-bench-strace-${process.pid}.txt`;
  const args = ['-c', '-f', '-o', out];
  for (const p of serverPids(roots)) args.push('-p', String(p));
  const tr = spawn('strace', args, { stdio: 'ignore' });
  const failed = new Promise((res) => tr.on('error', () => res(true)));
  if (await Promise.race([failed, sleep(500)])) return null;
  const turns = await run();
  tr.kill('SIGINT');
  await new Promise((res) => tr.on('exit', res));
  let text = '';
  try { text = fs.readFileSync(out, 'latin1'); fs.unlinkSync(out); } catch { return null; }
  const by = {};
  let total = 0;
  for (const l of text.split('\n')) {
    const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?([a-z_0-9]+)\s*$/.exec(l);
    if (!m || m[2] === 'total') continue;
    by[m[2]] = Number(m[1]) / turns;
    total += Number(m[1]);
  }
  return { total: total / turns, by, turns };
}

// perfProfile's sampling rate: a sample stands for 1/PERF_HZ s of CPU.
const PERF_HZ = 2999;

// What `perf args` prints ('' when it cannot run), read as latin1: a
// symbol's bytes are not always UTF-8.
function perfText(args) {
  return new Promise((res) => {
    let out = '';
    const r = spawn('perf', args, { stdio: ['ignore', 'pipe', 'ignore'] });
    r.stdout.setEncoding('latin1');
    r.stdout.on('data', (b) => { out += b; });
    r.on('close', () => res(out));
    r.on('error', () => res(''));
  });
}

// What one sample was doing, by its call chain (leaf first: {sym, dso}):
// in the kernel, the system call it came through (a disk flush, a
// loopback TCP or Unix socket, epoll_wait...) or none (an interrupt, the
// scheduler); in user space, the library, malloc and free, or the
// program's own code.
function samplePart(comm, frames) {
  const leaf = frames[0];
  if (leaf.dso === '[kernel.kallsyms]') {
    // The system call's own frame is often a tail call: its callees say.
    const has = (re) => frames.some((f) => re.test(f.sym));
    if (!has(/^do_syscall_64$/)) return 'kernel: interrupts, softirqs, scheduling';
    if (has(/^do_fsync$|^ext4_sync_file$/)) return 'kernel: disk flush (fdatasync)';
    if (has(/^do_epoll_wait$|^do_epoll_ctl$/)) return 'kernel: epoll';
    if (has(/^unix_stream_/)) return 'kernel: Unix socket (storaged channel)';
    if (has(/^tcp_|^__tcp_|^inet_/)) return 'kernel: TCP over loopback (client, model)';
    if (has(/^vfs_write$|^ext4_/)) return 'kernel: file write (log)';
    return 'kernel: other system calls';
  }
  const lib = leaf.dso.replace(/^.*\//, '').replace(/\.so.*$/, '');
  if (lib === 'libc') {
    if (/malloc|free|calloc|realloc|tcache|unlink_chunk|_int_|memalign/.test(leaf.sym)) return 'user: malloc and free';
    return 'user: libc (memcpy, strings, other)';
  }
  if (lib.startsWith(comm) || lib.startsWith('nginx')) return `user: ${comm}'s own code`;
  return `user: ${lib}`;
}

// Each program's CPU µs a turn by part (samplePart) from perf's samples
// in data, hz samples a second of CPU: a text table, largest first.
async function perfParts(data, hz, turns) {
  const out = await perfText(['script', '-i', data, '-F', 'comm,ip,sym,dso']);
  const by = new Map();
  for (const block of out.split('\n\n')) {
    const lines = block.split('\n').filter((l) => l.trim());
    if (lines.length < 2) continue;
    const comm = lines[0].trim();
    const frames = lines.slice(1).map((l) => {
      const m = /^\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$/.exec(l);
      return m ? { sym: m[1].replace(/\+0x[0-9a-f]+$/, ''), dso: m[2] } : { sym: '?', dso: '?' };
    });
    const key = `${comm}\t${samplePart(comm, frames)}`;
    by.set(key, (by.get(key) || 0) + 1);
  }
  if (!turns || by.size === 0) return '(no samples)\n';
  const perTurn = (n) => (n * 1e6) / hz / turns;
  const progs = new Map();
  for (const [key, n] of by) {
    const [comm, part] = key.split('\t');
    if (!progs.has(comm)) progs.set(comm, []);
    progs.get(comm).push([part, n]);
  }
  let text = '';
  for (const [comm, rows] of progs) {
    const all = rows.reduce((a, [, n]) => a + n, 0);
    if (perTurn(all) < 0.5) continue;
    text += `  ${comm}: ${perTurn(all).toFixed(1)}\n`;
    for (const [part, n] of rows.sort((a, b) => b[1] - a[1]))
      if (perTurn(n) >= 0.3) text += `    ${perTurn(n).toFixed(1).padStart(6)}  ${part}\n`;
  }
  return text;
}

// Where the servers' CPU goes while run() drives them: `perf record -g`
// on their processes (BENCH_PERF=DIR: make bench's profile of the c=32
// runs; perf slows them a little, so this run's rate is no figure), then
// the hottest symbols by process and by call site, and each program's
// CPU µs a turn by part (perfParts), as text in DIR/name.txt (the samples
// in DIR/name.data for `perf report -i`). Returns run()'s.
export async function perfProfile(dir, name, roots, run) {
  fs.mkdirSync(dir, { recursive: true });
  const data = `${dir}/${name}.data`;
  const pids = serverPids(roots).join(',');
  const rec = spawn('perf', ['record', '-q', '-g', '-F', String(PERF_HZ), '-o', data, '-p', pids], { stdio: 'ignore' });
  const failed = new Promise((res) => rec.on('error', () => res(true)));
  if (await Promise.race([failed, sleep(300)])) { process.stderr.write('bench: perf is missing: no profile\n'); return run(); }
  const x = await run();
  rec.kill('SIGINT');
  await new Promise((res) => rec.on('exit', res));
  const report = async (sort) => (await perfText(['report', '-i', data, '--stdio', '--no-children',
    '--percent-limit', '0.7', '-g', 'none', '--sort', sort]))
    .split('\n').filter((l) => l && !l.startsWith('#')).join('\n');
  const parts = await perfParts(data, PERF_HZ, x.turns);
  const text = `== ${name}: by program and library\n${await report('comm,dso')}\n\n` +
    `== ${name}: hottest symbols\n${await report('comm,sym')}\n\n` +
    `== ${name}: CPU µs a turn by part (${x.turns} turns)\n${parts}`;
  fs.writeFileSync(`${dir}/${name}.txt`, text);
  process.stderr.write(`bench: profile of ${name} in ${dir}/${name}.txt\n`);
  return x;
}

// What this disk takes to flush a write: a 400-byte write into a file of
// 1 MiB written before, then fdatasync, in the temporary folder (where the
// bench's data directories are), n times back to back and n times 1 ms
// apart (a turn's flushes come spaced: a virtual disk idle for a moment
// may take twice as long). {n, p50, p99, spacedP50, spacedP99} of the wall
// µs, and cpuUs, the CPU µs each back to back (this process).
export function diskFlush(n) {
  const dir = fs.mkdtempSync(`${os.tmpdir()}/parley-flush-`);
  const fd = fs.openSync(`${dir}/f`, 'w+');
  const rec = Buffer.alloc(400, 120);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const run = (gapMs) => {
    const xs = [];
    for (let i = 0; i < n; i++) {
      if (gapMs > 0) Atomics.wait(pause, 0, 0, gapMs);
      const t = now();
      fs.writeSync(fd, rec, 0, rec.length, (i * 400) % (1 << 20));
      fs.fdatasyncSync(fd);
      xs.push((now() - t) * 1000);
    }
    return xs.sort((x, y) => x - y);
  };
  try {
    fs.writeSync(fd, Buffer.alloc(1 << 20), 0, 1 << 20, 0);
    fs.fsyncSync(fd);
    const c0 = process.cpuUsage();
    const xs = run(0);
    const c = process.cpuUsage(c0);
    const ys = run(1);
    return { n, p50: pct(xs, 50), p99: pct(xs, 99), cpuUs: (c.user + c.system) / n,
      spacedP50: pct(ys, 50), spacedP99: pct(ys, 99) };
  } finally {
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}


// ------------------------------------------------------------ load shapes

// TTFT at concurrency 1: n sequential turns on one keep-alive connection
// after a short warm-up: {n, warmed (the warm-up's turns), p50, p99, xs
// (sorted)}.
export async function ttftRun(label, port, makeReq, first, doneMark, n, warm = 100) {
  const c = await Client.open(port);
  const xs = [];
  const warmed = Math.min(warm, n);
  try {
    for (let i = 0; i < warmed; i++) await c.turn(makeReq(`w${i}`), first, doneMark);
    const deadline = Date.now() + 120000;
    for (let i = 0; i < n && Date.now() < deadline; i++) {
      const r = await c.turn(makeReq(i), first, doneMark);
      if (r.status !== 200 || r.ttft === null || !r.done) die(`${label}: turn ${i} failed (status ${r.status})`);
      xs.push(r.ttft);
    }
  } finally { c.close(); }
  xs.sort((a, b) => a - b);
  return { n: xs.length, warmed, p50: pct(xs, 50), p99: pct(xs, 99), xs };
}

// c clients, each in a loop of turns for `seconds`: {turns, failed, rate, secs}.
export async function loopRun(port, c, seconds, makeReq, first, doneMark) {
  const clients = [];
  for (let i = 0; i < c; i++) clients.push(await Client.open(port));
  let turns = 0;
  let failed = 0;
  const t0 = now();
  const stopAt = t0 + seconds * 1000;
  await Promise.all(clients.map(async (cl, k) => {
    for (let i = 0; now() < stopAt; i++) {
      let r;
      try { r = await cl.turn(makeReq(k, i), first, doneMark); } catch { failed++; return; }
      if (r.status === 200 && r.done) turns++; else failed++;
    }
  }));
  const secs = (now() - t0) / 1000;
  for (const cl of clients) cl.close();
  return { turns, failed, rate: turns / secs, secs };
}

// Every message the store holds: the admin list's messageCount summed
// over every conversation, 200 a page. A section's turns are the
// difference it makes (the search finds a session by its whole digest
// only: a part of a sessionId, the visitor's credential, finds nothing).
export async function storedTotal(port, admin) {
  let cursor = '';
  let msgs = 0;
  for (let page = 0; page < 100000; page++) {
    const q = `/v1/admin/conversations?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const r = await http(port, 'GET', q, { headers: { 'x-admin-api-key': admin } });
    if (r.status !== 200) die(`admin list: ${r.status} ${r.body}`);
    const j = JSON.parse(r.body);
    for (const c of j.conversations) msgs += c.messageCount;
    if (!j.nextCursor) break;
    cursor = j.nextCursor;
  }
  return msgs;
}

// Appends obj under key to the JSON file path (created when missing).
export function saveJson(path, key, obj) {
  let all = {};
  try { all = JSON.parse(fs.readFileSync(path, 'utf8')); } catch { /* new */ }
  all[key] = obj;
  fs.writeFileSync(path, `${JSON.stringify(all, null, 1)}\n`);
}

// The command line the side-by-side scripts share: --mock PORT --parley PORT
// --parley-pids SPID,MPID --key WIDGET_KEY --admin ADMIN_KEY, plus the names
// in more (required too). Ports become numbers and pid lists arrays
// (nginxPids, parleyPids).
export function parleyArgs(script, more = []) {
  const a = parseArgs();
  const need = ['mock', 'parley', 'parley-pids', 'key', 'admin', ...more];
  const missing = need.filter((k) => !a[k]);
  if (missing.length) die(`${script}: missing ${missing.map((k) => `--${k}`).join(' ')}`);
  const pids = (s) => (s ? s.split(',').map(Number).filter(Boolean) : []);
  return { ...a, mock: Number(a.mock), parley: Number(a.parley), nginx: Number(a.nginx || 0), parleyPids: pids(a['parley-pids']), nginxPids: pids(a['nginx-pids']) };
}

// The stack the single-figure benches measure (export-pages.mjs,
// c1-syscalls.mjs): one Parley of one worker on the build in bin, the mock
// model of the same build, no rate limit, every commit flushed. Not started.
export async function benchParley(bin) {
  const { Parley } = await import('../integration/lib/harness.mjs');
  return new Parley({
    workers: 1,
    mock: { bin: `${bin}/mockai` },
    env: { RATE_LIMIT_MAX_REQUESTS: '0', WIDGET_NEW_SESSIONS_PER_MINUTE: '0', PARLEY_SYNC: 'full' },
  });
}
