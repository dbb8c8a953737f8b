// `make run` (scripts/run.sh, with the test build: PARLEY_RUN_BIN) on a
// laptop, around one stack started twice:
//  - the env file read as systemd reads it (quotes removed, the last
//    assignment wins, blanks around =); an empty WIDGET_API_KEY= filled
//    in its own line, a missing DASHBOARD_PASSWORD appended, once: the
//    second start leaves the file byte for byte as the first left it;
//  - a key of 20 characters (Open Chat Widget's samples) taken outside
//    production with a warning naming the variable, never its value;
//  - it binds 127.0.0.1 when PARLEY_HOST is unset; it says when a new
//    database will be created; / answers a page of links;
//  - a second make run on the same port, or with the same run directory,
//    stops before starting anything, printing no URL and no password;
//    one whose masterd cannot bind, or whose storaged cannot open its
//    store, stops too, printing none;
//  - a CRLF env file is refused with the line's number;
//  - a closed terminal (SIGHUP, the output gone) stops all it started.
// (The .env rules case by case: tests/unit/lib/test_envfile.c.)
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { BIN, freePort, within } from './lib/harness.mjs';
import { request } from './lib/http.mjs';
import { chat, sid } from './lib/chat.mjs';
import { RunSh } from './lib/runsh.mjs';

const SHORT_ADMIN = 'change-me-admin-key0';	// 20 characters
const LONG = 'L'.repeat(40);
// One worker: each start is the slow part of this file.
const ENV = { PARLEY_RUN_BIN: BIN, PARLEY_WORKERS: '1' };

// run.sh to its end (it must stop by itself): {code, out}.
async function runToEnd(dir, extraEnv) {
  const run = new RunSh(dir, { ...ENV, ...extraEnv });
  await run.start({ waitHealthy: false });
  const res = await within(run.exit, 30000);
  const st = await run.stop('SIGTERM');
  assert.ok(res, `run.sh stops by itself:\n${run.out}`);
  assert.deepEqual(st.leftBehind, [], 'no process left behind');
  return { code: res.code, out: run.out };
}

describe('make run on a laptop', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-makerun-'));
  const envPath = path.join(dir, 'env');
  const original = [
    '# my settings',
    'WIDGET_API_KEY=',
    `ADMIN_API_KEY=${LONG}`,
    `ADMIN_API_KEY = '${SHORT_ADMIN}'`,
    'MAX_HISTORY_MESSAGES="12"',
    '',
  ].join('\n');
  let run;
  let first;	// the file after the first start

  before(async () => {
    fs.writeFileSync(envPath, original, { mode: 0o600 });
    run = new RunSh(dir, ENV);
    await run.start();
    first = fs.readFileSync(envPath, 'utf8');
  });
  after(async () => {
    if (run) await run.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the empty key is filled in its own line, the missing password appended; the rest kept byte for byte', () => {
    const lines = first.split('\n');
    assert.match(lines[1], /^WIDGET_API_KEY=[A-Za-z0-9]{40}$/);
    assert.match(lines[5], /^DASHBOARD_PASSWORD=[A-Za-z0-9]{40}$/);
    assert.equal(first, original.replace(/^WIDGET_API_KEY=$/m, lines[1]) + `${lines[5]}\n`);
    assert.equal(fs.statSync(envPath).mode & 0o777, 0o600);
    assert.match(run.out, /generated WIDGET_API_KEY DASHBOARD_PASSWORD into/);
    assert.match(run.out, /no database in .* yet; a new one will be created/);
  });

  test('quotes removed, the last assignment wins: the 20-character admin key works, with a warning naming it', async () => {
    const r = await request(run.port, 'GET', '/v1/admin/widgets', { headers: { 'x-admin-api-key': SHORT_ADMIN } });
    assert.equal(r.status, 200, r.text);
    const widgetKey = /^WIDGET_API_KEY=(.*)$/m.exec(first)[1];
    const c = await chat({ port: run.port, widgetKey, request: (m, u, o) => request(run.port, m, u, o) }, sid('mr'), 'hi');
    assert.equal(c.status, 200, c.text);
    assert.match(run.out, /ADMIN_API_KEY has 20 characters, fewer than 24: taken outside production only/);
    assert.match(run.out, /ADMIN_API_KEY is a sample \(it begins "change-me", as in Open Chat Widget's \.env\.example, which is published\): taken outside production only/);
    assert.ok(!run.out.includes(SHORT_ADMIN), 'the key itself is never printed');
  });

  test('it binds 127.0.0.1 when PARLEY_HOST is unset', () => {
    assert.match(run.out, new RegExp(`listening on 127\\.0\\.0\\.1:${run.port} `));
    assert.match(run.out, new RegExp(`Parley on http://127\\.0\\.0\\.1:${run.port} `));
  });

  test('the default widget\'s line names its page in the dashboard (its embed code) first, the API after', async () => {
    for (let i = 0; i < 100 && !/^run: widget embed page:/m.test(run.out); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(run.out, new RegExp(`^run: widget embed page: .*\\(the default widget; its embed code: `
      + `http://127\\.0\\.0\\.1:${run.port}/dashboard/#/widgets/wid_[0-9a-f]{32}, or the API: /v1/admin/widgets\\)$`, 'm'));
  });

  test('/ is a page of links, with the test pages\' CSP', async () => {
    const r = await request(run.port, 'GET', '/');
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'], /^text\/html/);
    assert.match(r.headers['content-security-policy'], /script-src 'self'/);
    for (const href of ['/dashboard/', '/widget-test.html', '/headless-test.html', '/v1/openapi.json', '/health'])
      assert.ok(r.text.includes(`href="${href}"`), href);
  });

  test('the second start changes nothing in the file and makes no key', async () => {
    await run.stop('SIGINT');
    run = new RunSh(dir, ENV);
    await run.start();
    assert.equal(fs.readFileSync(envPath, 'utf8'), first);
    assert.doesNotMatch(run.out, /generated|no database/);
  });

  test('a second make run on the same port stops at once: no URL, no password', async () => {
    const res = await runToEnd(dir, { PORT: String(run.port), PARLEY_DATA_DIR: path.join(dir, 'data2'), PARLEY_RUN_DIR: path.join(dir, 'run2') });
    assert.equal(res.code, 1, res.out);
    assert.match(res.out, new RegExp(`port ${run.port} on 127\\.0\\.0\\.1 is already in use`));
    assert.doesNotMatch(res.out, /run: dashboard:|run: Parley on|password/);
    assert.ok(!fs.existsSync(path.join(dir, 'run2')), 'nothing was started');
    const health = await request(run.port, 'GET', '/health');
    assert.equal(health.status, 200, 'the first one still serves');
  });

  // Its storaged's socket once passed for the second one's: URLs and the
  // password printed, the first run's mock port file rewritten.
  test('a second make run with the same run directory on another port stops at once: no URL, no password', async () => {
    const portFile = path.join(dir, 'run', 'mockai.port');
    const mockPort = fs.readFileSync(portFile, 'utf8');
    const res = await runToEnd(dir, { PORT: String(await freePort()), PARLEY_DATA_DIR: path.join(dir, 'data3') });
    assert.equal(res.code, 1, res.out);
    assert.match(res.out, /another Parley \(make run\?\) uses .*\/run: stop it/);
    assert.doesNotMatch(res.out, /run: dashboard:|run: Parley on|password/);
    assert.equal(fs.readFileSync(portFile, 'utf8'), mockPort, 'the first run\'s files untouched');
    assert.equal((await request(run.port, 'GET', '/health')).status, 200, 'the first one still serves');
  });

  test('the terminal closed (SIGHUP, its output gone): everything it started stops', async () => {
    run.child.stdout.destroy();
    run.child.stderr.destroy();
    const st = await run.stop('SIGHUP');
    assert.equal(st.stuck, false, 'run.sh ended');
    assert.deepEqual(st.leftBehind, [], `nothing it started is left running: ${st.leftNames.join('; ')}`);
    run = null;
  });
});

describe('make run refuses', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-makerun-'));
  const keys = ['WIDGET_API_KEY', 'ADMIN_API_KEY', 'DASHBOARD_PASSWORD'].map((k) => `${k}=${LONG}\n`).join('');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('an env file with CRLF line endings, naming the line', async () => {
    fs.writeFileSync(path.join(dir, 'env'), `# ok\n${keys}PORT=4000\r\n`, { mode: 0o600 });
    const res = await runToEnd(dir, {});
    assert.equal(res.code, 1, res.out);
    assert.match(res.out, /env: line 5: ends in CR LF/);
    assert.match(res.out, /parley-masterd --env: status=1\)/, 'its status, not "no status" (set -e in the substitution)');
    assert.ok(!fs.existsSync(path.join(dir, 'run')), 'nothing was started');
  });

  // storaged ended at start; run.sh printed the URLs and the password all
  // the same, then stayed up without a store, every request 503.
  test('to print URLs when storaged cannot open its store, and it stops by itself', async () => {
    fs.writeFileSync(path.join(dir, 'env'), keys, { mode: 0o600 });
    const data = path.join(dir, 'bad-data');
    fs.mkdirSync(data, { recursive: true });
    fs.writeFileSync(path.join(data, 'data.mdb'), Buffer.alloc(65536, 0x5a));
    const res = await runToEnd(dir, { PARLEY_DATA_DIR: data, OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' });
    assert.equal(res.code, 1, res.out);
    assert.match(res.out, /parley-storaged could not start|ended at start/);
    assert.doesNotMatch(res.out, /run: dashboard:|run: Parley on/);
    assert.ok(!res.out.includes(LONG), 'no password or key printed');
  });

  test('to print URLs when masterd cannot bind', async () => {
    // A listener on 127.0.0.2 takes the port from 0.0.0.0 but does not
    // answer on 127.0.0.1: the check before the start passes, the bind fails.
    const port = await freePort();
    const holder = net.createServer();
    await new Promise((resolve, reject) => { holder.once('error', reject); holder.listen(port, '127.0.0.2', resolve); });
    try {
      fs.writeFileSync(path.join(dir, 'env'), keys, { mode: 0o600 });
      // A model URL: no mock model to start for a run that stops anyway.
      const res = await runToEnd(dir, { PORT: String(port), PARLEY_HOST: '0.0.0.0', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' });
      assert.notEqual(res.code, 0, res.out);
      assert.match(res.out, /cannot listen on 0\.0\.0\.0 port/);
      assert.match(res.out, /parley-masterd could not start/);
      assert.doesNotMatch(res.out, /run: dashboard:|run: Parley on/);
      assert.ok(!res.out.includes(LONG), 'no password or key printed');
    } finally {
      holder.close();
    }
  });
});
