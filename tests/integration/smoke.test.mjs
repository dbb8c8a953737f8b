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
// the same keys and data on the next run, a short key refused in
// production (tests/integration/make-run.test.mjs: the rest of make run).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { MockAI, REPO, within } from './lib/harness.mjs';
import { RunSh } from './lib/runsh.mjs';
import { request } from './lib/http.mjs';
import { assertGoodStream, chat, sid, streamTurn } from './lib/chat.mjs';
import { validateDocument } from './lib/openapi.mjs';

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

  test('a key shorter than 24 characters in production: refused at start, with a message naming it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-run-'));
    try {
      fs.writeFileSync(path.join(dir, 'env'), `WIDGET_API_KEY=too-short-key\nADMIN_API_KEY=${'a'.repeat(40)}\n`, { mode: 0o600 });
      const run = new RunSh(dir, { PARLEY_ENV: 'production', CORS_ORIGIN: 'https://a.example' });
      await run.start({ waitHealthy: false });
      const res = await within(run.exit, 30000);
      if (!res) await run.stop('SIGTERM');
      assert.ok(res, `run.sh exits by itself:\n${run.out}`);
      assert.notEqual(res.code, 0, `run.sh exits non-zero:\n${run.out}`);
      assert.match(run.out, /WIDGET_API_KEY must be at least 24 characters in production/);
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
      // The mock stopped even when run.stop() throws: left running, it
      // kept the file's process alive.
      try {
        await run.stop();
      } finally {
        await mock.stop();
        fs.rmSync(dir, { recursive: true, force: true });
      }
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
