// The reference's production smoke tests against the stack `make run`
// starts: the real scripts/run.sh with the release binaries in bin/, on a
// free loopback port, with its data, run directory and env file in a temp
// directory (PARLEY_DATA_DIR, PARLEY_RUN_DIR, PARLEY_ENV_FILE), so a
// developer's ./var and ./.env are never touched.
//
// Checked: GET /health is {"status":"ok"}; POST /v1/chat returns a JSON
// reply; POST /v1/chat/stream streams NDJSON; GET /v1/openapi.json returns
// the OpenAPI document; GET /widget/chat-widget.js serves the built bundle.
// (The dashboard's /login comes with a later issue.) Also what run.sh
// itself promises: the test pages' URLs printed and served, keys
// generated into the env file and printed, the local mock model started
// and announced when there is no OPENAI_API_KEY, a clean stop on Ctrl-C,
// the same keys and data on the next run, a short key refused.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { MockAI, REPO, childPids, freePort, sleep, within } from './lib/harness.mjs';
import { request } from './lib/http.mjs';
import { assertGoodStream, chat, sid, streamTurn } from './lib/chat.mjs';
import { validateDocument } from './lib/openapi.mjs';

const RUN = path.join(REPO, 'scripts/run.sh');

function pidAlive(pid) {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return !/^[ZX]$/.test(st.slice(st.lastIndexOf(')') + 2).split(' ')[0]);
  } catch { return false; }
}

// One `make run` (scripts/run.sh) in a temp directory.
class RunSh {
  constructor(dir, extraEnv = {}) {
    this.dir = dir;
    this.extraEnv = extraEnv;
    this.out = '';
    this.kids = new Set();
  }

  async start({ waitHealthy = true } = {}) {
    this.port = await freePort();
    const env = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (/^(PARLEY_|LISTEN_|NOTIFY_SOCKET|ADMIN_API_KEY|WIDGET_API_KEY|PORT$|NODE_ENV|OPENAI_|CORS_ORIGIN|RATE_LIMIT_|MAX_HISTORY_MESSAGES|TRUST_PROXY|SYSTEM_PROMPT|MOCKAI_)/.test(k)) continue;
      env[k] = v;
    }
    Object.assign(env, {
      PORT: String(this.port),
      PARLEY_HOST: '127.0.0.1',
      PARLEY_WORKERS: '2',
      PARLEY_ENV_FILE: path.join(this.dir, 'env'),
      PARLEY_DATA_DIR: path.join(this.dir, 'data'),
      PARLEY_RUN_DIR: path.join(this.dir, 'run'),
      PARLEY_LOG_LEVEL: 'info',
    }, this.extraEnv);
    this.child = spawn(RUN, [], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (d) => { this.out += d.toString('utf8'); };
    this.child.stdout.on('data', onData);
    this.child.stderr.on('data', onData);
    this.exited = false;
    this.exit = new Promise((resolve) => this.child.on('exit', (code, signal) => { this.exited = true; this.code = code; this.signal = signal; resolve({ code, signal }); }));
    this.closed = new Promise((resolve) => this.child.on('close', resolve));
    if (!waitHealthy) return this;
    const deadline = Date.now() + 30000;
    let last = '';
    while (Date.now() < deadline) {
      if (this.exited) throw new Error(`run.sh exited during start-up (code ${this.code}):\n${this.out}`);
      for (const k of childPids(this.child.pid)) this.kids.add(k);
      try {
        const r = await request(this.port, 'GET', '/health', { timeout: 2000 });
        if (r.status === 200) return this;
        last = `status ${r.status}`;
      } catch (e) { last = e.message; }
      await sleep(100);
    }
    throw new Error(`make run's stack not healthy after 30 s (${last}):\n${this.out}`);
  }

  envFile() {
    const s = fs.readFileSync(path.join(this.dir, 'env'), 'utf8');
    return Object.fromEntries(s.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  }

  // Ctrl-C: SIGINT to the script. Resolves {code, signal}.
  async stop(signal = 'SIGINT') {
    if (!this.exited) {
      for (const k of childPids(this.child.pid)) this.kids.add(k);
      this.child.kill(signal);
      await within(this.exit, 30000);
    }
    const res = { code: this.code, signal: this.signal, stuck: !this.exited };
    if (!this.exited) this.child.kill('SIGKILL');
    // Nothing it started may be left.
    const deadline = Date.now() + 5000;
    let left = [...this.kids].filter(pidAlive);
    while (left.length && Date.now() < deadline) { await sleep(50); left = left.filter(pidAlive); }
    for (const k of left) { try { process.kill(k, 'SIGKILL'); } catch { /* gone */ } }
    res.leftBehind = left;
    await within(this.closed, 2000);
    return res;
  }
}

function checkBinFresh() {
  for (const b of ['parley-masterd', 'parley-workerd', 'parley-storaged', 'mockai']) {
    assert.ok(fs.existsSync(path.join(REPO, 'bin', b)), `bin/${b} is missing: \`make test\` should build the release binaries (make build-release)`);
  }
  const q = spawnSync('make', ['-q', '--no-print-directory', 'build-release'], { cwd: REPO, encoding: 'utf8' });
  assert.equal(q.status, 0, 'bin/ is older than the sources: `make test` should build the release binaries that `make run` uses (make build-release)');
}

describe('make run (scripts/run.sh) passes the production smoke tests', () => {
  let dir;
  let run;
  let keys;
  const convs = [];

  before(async () => {
    checkBinFresh();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-run-'));
    run = new RunSh(dir);
    await run.start();
    keys = run.envFile();
  });
  after(async () => {
    if (run) await run.stop();
    if (dir && !process.env.PARLEY_KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('with no keys it generates strong ones into the env file (mode 0600) and prints them', () => {
    for (const k of ['WIDGET_API_KEY', 'ADMIN_API_KEY']) {
      assert.ok(keys[k], `${k} is in the env file`);
      assert.ok(keys[k].length >= 32, `${k} has at least 32 characters`);
      assert.match(keys[k], /^[A-Za-z0-9]+$/);
      assert.ok(run.out.includes(keys[k]), `${k} is printed`);
    }
    assert.notEqual(keys.WIDGET_API_KEY, keys.ADMIN_API_KEY);
    assert.equal(fs.statSync(path.join(dir, 'env')).mode & 0o777, 0o600);
    assert.match(run.out, /generated WIDGET_API_KEY ADMIN_API_KEY/);
  });

  test('with no OPENAI_API_KEY it starts the local mock model on loopback and says so', async () => {
    assert.match(run.out, /no OPENAI_API_KEY set: using the LOCAL MOCK MODEL/);
    const m = /at (http:\/\/127\.0\.0\.1:(\d+)\/v1)/.exec(run.out);
    assert.ok(m, run.out);
    const health = await request(Number(m[2]), 'GET', '/health');
    assert.equal(health.status, 200);
  });

  test('GET /health returns {"status":"ok"}', async () => {
    const r = await request(run.port, 'GET', '/health');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), { status: 'ok' });
  });

  test('POST /v1/chat returns a JSON reply', async () => {
    const p = { port: run.port, widgetKey: keys.WIDGET_API_KEY, request: (m, u, o) => request(run.port, m, u, o) };
    const r = await chat(p, sid('smoke'), 'Hello from the smoke test');
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers['content-type'], /^application\/json/);
    const j = r.json();
    assert.equal(typeof j.conversationId, 'string');
    assert.equal(j.message, 'You said: Hello from the smoke test');
    convs.push(j.conversationId);
  });

  test('POST /v1/chat/stream streams NDJSON', async () => {
    const p = { port: run.port, widgetKey: keys.WIDGET_API_KEY };
    const st = await streamTurn(p, sid('smoke'), 'Stream to me');
    const { conversationId } = assertGoodStream(st, 'You said: Stream to me');
    assert.ok(st.tokens.length > 1, 'more than one token');
    convs.push(conversationId);
  });

  test('GET /v1/openapi.json returns the OpenAPI document', async () => {
    const r = await request(run.port, 'GET', '/v1/openapi.json');
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'], /^application\/json/);
    const v = await validateDocument(r.json());
    assert.equal(v.valid, true, JSON.stringify(v.errors));
    assert.ok(r.json().paths['/v1/chat']);
  });

  test('GET /widget/chat-widget.js serves the bundle `make` built; the test pages are printed and served', async () => {
    const r = await request(run.port, 'GET', '/widget/chat-widget.js');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/javascript; charset=utf-8');
    assert.ok(r.body.equals(fs.readFileSync(path.join(REPO, 'widget/dist/chat-widget.js'))), 'the bytes of widget/dist/chat-widget.js');
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.match(r.headers.etag, /^"[0-9a-f]{32}"$/);
    for (const page of ['widget-test.html', 'headless-test.html']) {
      const url = `http://127.0.0.1:${run.port}/${page}`;
      assert.ok(run.out.includes(url), `run.sh prints ${url}:\n${run.out}`);
      const p = await request(run.port, 'GET', `/${page}`);
      assert.equal(p.status, 200, page);
      assert.match(p.headers['content-type'], /^text\/html/);
      assert.ok(p.text.includes(keys.WIDGET_API_KEY), `${page} is set up with the generated widget key`);
    }
  });

  test('the admin API with the generated key shows both conversations', async () => {
    const r = await request(run.port, 'GET', '/v1/admin/conversations', { headers: { 'x-admin-api-key': keys.ADMIN_API_KEY } });
    assert.equal(r.status, 200);
    const ids = r.json().conversations.map((c) => c._id);
    for (const id of convs) assert.ok(ids.includes(id));
  });

  test('Ctrl-C stops every process; the next run reads the same keys and has the same data', async () => {
    const res = await run.stop('SIGINT');
    assert.equal(res.stuck, false, `run.sh stopped:\n${run.out}`);
    assert.equal(res.code, 0, `run.sh exit status:\n${run.out}`);
    assert.deepEqual(res.leftBehind, [], 'no process left behind');
    assert.match(run.out, /run: stopped/);
    run = new RunSh(dir);
    await run.start();
    assert.deepEqual(run.envFile(), keys, 'the env file is unchanged');
    assert.doesNotMatch(run.out, /generated/);
    assert.match(run.out, /read settings from/);
    const r = await request(run.port, 'GET', `/v1/admin/conversations/${convs[0]}`, { headers: { 'x-admin-api-key': keys.ADMIN_API_KEY } });
    assert.equal(r.status, 200, 'the data survived the restart');
    assert.equal(r.json().messages[1].content, 'You said: Hello from the smoke test');
  });
});

describe('make run (scripts/run.sh) settings', () => {
  before(() => checkBinFresh());

  test('a key shorter than 24 characters: refused at start, with a message naming it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-run-'));
    try {
      fs.writeFileSync(path.join(dir, 'env'), `WIDGET_API_KEY=too-short-key\nADMIN_API_KEY=${'a'.repeat(40)}\n`, { mode: 0o600 });
      const run = new RunSh(dir);
      await run.start({ waitHealthy: false });
      const res = await within(run.exit, 30000);
      if (!res) await run.stop('SIGTERM');
      assert.ok(res, `run.sh exits by itself:\n${run.out}`);
      assert.notEqual(res.code, 0, `run.sh exits non-zero:\n${run.out}`);
      assert.match(run.out, /WIDGET_API_KEY must be at least 24 characters/);
      const st = await run.stop();
      assert.deepEqual(st.leftBehind, []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('with OPENAI_API_KEY set it starts no mock and uses OPENAI_BASE_URL with the key', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-run-'));
    const mock = new MockAI({ apiKey: 'sk-test-0123456789abcdef', chunks: 3 });
    await mock.start();
    const run = new RunSh(dir, { OPENAI_API_KEY: 'sk-test-0123456789abcdef', OPENAI_BASE_URL: mock.baseUrl });
    t.after(async () => {
      await run.stop();
      await mock.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    await run.start();
    assert.doesNotMatch(run.out, /MOCK MODEL/);
    assert.ok(!fs.existsSync(path.join(dir, 'run', 'mockai.port')));
    const keys = run.envFile();
    const p = { port: run.port, widgetKey: keys.WIDGET_API_KEY, request: (m, u, o) => request(run.port, m, u, o) };
    const r = await chat(p, sid('real'), 'to the configured model');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().message, 'You said: to the configured model');
    const [req] = await mock.completions();
    assert.equal(req.headers.authorization, 'Bearer sk-test-0123456789abcdef');
  });
});
