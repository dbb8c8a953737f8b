// Starts the project's mock OpenAI-compatible model (tests/mockai, built as
// build/test/bin/mockai) on a free loopback port, and reads what it saw and
// did through its /_mock/... endpoints (see tests/mockai/README.md).
//
// At stop() it fails when the mock printed a sanitizer report or did not
// exit 0 on SIGTERM.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { BIN } from './bin.mjs';
import { Conn, sleep } from './http.mjs';
import { spawnOwned } from './owned.mjs';


const SANITIZER_PATTERNS = ['ERROR: AddressSanitizer', 'ERROR: LeakSanitizer', 'runtime error:', 'SUMMARY: UndefinedBehaviorSanitizer'];

export class MockAI {
  // opts: {host (127.0.0.1), port (0: a free one), chunks, delayMs,
  // firstDelayMs, apiKey, sndbuf, args: [...], bin, wrap}. wrap(bin, args)
  // -> [command, args]: start it through a program that execs it (the
  // cluster tests' `ip netns exec`), so the pid is still the mock's.
  constructor(opts = {}) {
    this.opts = opts;
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-mock-'));
    this.portFile = path.join(this.tmp, 'port');
    this.log = '';
    this.problems = [];
    this.exited = false;
  }

  get host() { return this.opts.host ?? '127.0.0.1'; }

  get baseUrl() { return `http://${this.host}:${this.port}/v1`; }

  args() {
    const a = ['--host', this.host, '--port', String(this.opts.port ?? 0), '--port-file', this.portFile];
    const o = this.opts;
    if (o.chunks !== undefined) a.push('--chunks', String(o.chunks));
    if (o.delayMs !== undefined) a.push('--delay-ms', String(o.delayMs));
    if (o.firstDelayMs !== undefined) a.push('--first-delay-ms', String(o.firstDelayMs));
    if (o.apiKey !== undefined) a.push('--api-key', o.apiKey);
    if (o.sndbuf !== undefined) a.push('--sndbuf', String(o.sndbuf));
    return a.concat(o.args || []);
  }

  async start(timeout = 10000) {
    const bin = this.opts.bin || path.join(BIN, 'mockai');
    if (!fs.existsSync(bin)) throw new Error(`${bin} does not exist: run "make test-build"`);
    const env = { ...process.env,
      ASAN_OPTIONS: 'abort_on_error=0:halt_on_error=1:detect_leaks=1:exitcode=66',
      UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1:exitcode=67',
      PARLEY_LOG_LEVEL: 'warn' };
    const [cmd, args] = this.opts.wrap ? this.opts.wrap(bin, this.args()) : [bin, this.args()];
    this.child = spawnOwned(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (d) => { this.log += d.toString('utf8'); };
    this.child.stdout.on('data', onData);
    this.child.stderr.on('data', onData);
    this.exit = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exited = true; this.code = code; this.signal = signal;
        if (!this.stopping) this.problems.push(`mockai exited unexpectedly: code ${code} signal ${signal}`);
        resolve({ code, signal });
      });
    });
    this.closed = new Promise((resolve) => this.child.on('close', resolve));
    const deadline = Date.now() + timeout;
    while (Date.now() < deadline) {
      if (this.exited) throw new Error(`mockai exited during start-up:\n${this.log}`);
      let s = '';
      try { s = fs.readFileSync(this.portFile, 'latin1'); } catch { /* not yet */ }
      if (/^\d+\n$/.test(s)) { this.port = Number(s.trim()); return this; }
      await sleep(20);
    }
    throw new Error(`mockai did not start within ${timeout} ms:\n${this.log}`);
  }

  async _json(method, p, body) {
    const opts = { timeout: 5000 };
    if (body !== undefined) {
      opts.body = JSON.stringify(body);
      opts.headers = { 'Content-Type': 'application/json' };
    }
    const c = await Conn.open(this.port, { host: this.host, timeout: 5000 });
    let r;
    try { r = await c.request(method, p, opts); } finally { c.destroy(); }
    if (r.status !== 200) throw new Error(`mockai ${method} ${p}: ${r.status} ${r.text}`);
    return r.json();
  }

  stats() { return this._json('GET', '/_mock/stats'); }
  resetStats() { return this._json('DELETE', '/_mock/stats'); }
  requests() { return this._json('GET', '/_mock/requests'); }
  clearRequests() { return this._json('DELETE', '/_mock/requests'); }
  config(c) { return c === undefined ? this._json('GET', '/_mock/config') : this._json('POST', '/_mock/config', c); }
  reset() { return this._json('POST', '/_mock/reset'); }
  // Makes the next count calls to path (/v1/embeddings, /v1/rerank,
  // /v1/chat/completions) answer status (0: close without an answer).
  fail(path, status, count) { return this._json('POST', '/_mock/fail', { path, status, count }); }

  // The chat completion requests (bodies) received since the list was last cleared.
  async completions() {
    return (await this.requests()).filter((r) => /\/chat\/completions$/.test(r.path));
  }

  // Waits until pred(stats) holds; returns the last stats (check pred on it).
  async waitStats(pred, timeout = 5000) {
    const deadline = Date.now() + timeout;
    let s;
    for (;;) {
      s = await this.stats();
      if (pred(s) || Date.now() > deadline) return s;
      await sleep(20);
    }
  }

  async stop() {
    const problems = [...this.problems];
    if (this.child && !this.exited) {
      this.stopping = true;
      this.child.kill('SIGTERM');
      let t;
      await Promise.race([this.exit, new Promise((r) => { t = setTimeout(r, 10000); })]);
      clearTimeout(t);
      if (!this.exited) {
        problems.push('mockai did not exit within 10 s of SIGTERM');
        this.child.kill('SIGKILL');
        await this.exit;
      } else if (this.code !== 0) {
        problems.push(`mockai exited with code ${this.code} signal ${this.signal} after SIGTERM`);
      }
      await this.closed;
    }
    for (const pat of SANITIZER_PATTERNS) {
      const i = this.log.indexOf(pat);
      if (i >= 0) problems.push(`mockai log has "${pat}":\n${this.log.slice(Math.max(0, i - 300), i + 3000)}`);
    }
    if (problems.length) throw new Error(`${problems.join('\n')}\n--- mockai log tail:\n${this.log.slice(-3000)}`);
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}

export async function startMock(t, opts = {}) {
  const m = new MockAI(opts);
  if (t) t.after(() => m.stop());
  await m.start();
  return m;
}
