// Every setting, from the one table (`parley-masterd --settings`, TSV:
// name, type, default, rule, processes, doc):
//  - the docs (parley.env(5), docs/configuration.md's table and
//    docs/internals.md's settings table) name each one with its default,
//    and the README's short configuration table names only settings, each
//    with its default;
//  - docs/parley.env.example shows every setting, commented out at its
//    default, reads as systemd reads it and fails --check in production,
//    naming the keys to set;
//  - a bad value of each (not a number, out of range, blank, too long, a
//    bad pattern, as its type allows) stops parley-masterd within 5 s with
//    exit status 1 and one line naming the variable, before any worker is
//    started (PARLEY_WORKERD is a script that leaves a mark when run), and
//    parley-storaged the same for its own; a secret's value is never
//    printed;
//  - `make run` (scripts/run.sh) with PARLEY_HEADER_TIMEOUT_MS=abc exits 1
//    at once, having started nothing;
//  - `parley-masterd --check FILE` reads FILE as systemd does;
//  - as root with PARLEY_USER, a TLS key only root may read is refused
//    at once: the workers, started as that user, could never read it.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { BIN, REPO, freePort } from './lib/harness.mjs';

const MASTERD = path.join(BIN, 'parley-masterd');
// The 350-odd bad values run the release build that `make test` builds
// (and `make run` and the package ship): each case is a process start,
// and an ASan one cost 66 ms of CPU more (23 s of this file's 31). The
// same parser runs under ASan and UBSan in every other test's start, in
// test_settings and in fuzz_settings; the control case below is ASan's.
const REL_MASTERD = path.join(REPO, 'bin', 'parley-masterd');
const REL_STORAGED = path.join(REPO, 'bin', 'parley-storaged');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-settings-'));
const MARK = path.join(TMP, 'worker-started');
const FAKE_WORKERD = path.join(TMP, 'fake-workerd');
// "At once": a bad value must stop the daemon before it waits on anything
// (storaged's socket, a worker: seconds). A run takes ~50 ms here; 5 s
// leaves room for a machine loaded three times over (one run took 2.06 s
// during a make test beside three parallel builds) and still tells a stop
// from a wait.
const DEADLINE_MS = 5000;

// The table, as rows of objects.
function table() {
  const lines = execFileSync(MASTERD, ['--settings'], { encoding: 'utf8' }).trim().split('\n');
  const head = lines[0].split('\t');
  return lines.slice(1).map((l) => Object.fromEntries(l.split('\t').map((v, i) => [head[i], v])));
}

// The environment of the tests, without any Parley setting in it.
function baseEnv(names) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!names.has(k)) env[k] = v;
  delete env.NOTIFY_SOCKET;
  return env;
}

// Runs bin with env; resolves {code, signal, ms, stderr, timedOut}.
function runOnce(bin, env, args = []) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout.on('data', (d) => { stderr += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); }, 5000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, ms: Date.now() - t0, stderr, timedOut: signal === 'SIGKILL' });
    });
  });
}

// The bad values of a row, by its type and rule: [label, value, extraEnv].
function badValues(r) {
  const bad = [];
  const range = r.rule.match(/from (\d+) to (\d+)/);
  const len = r.rule.match(/at most (\d+) bytes/);
  switch (r.type) {
    case 'number': {
      const [, min, max] = range.map(Number);
      bad.push(['not a number', 'abc'], ['blank', ' '], ['negative', '-1'], ['too large', String(max + 1)],
        ['too long', '9'.repeat(30)], ['a unit', `${min + 1}ms`]);
      if (min > 0) bad.push(['below the range', String(min - 1)]);
      break;
    }
    case 'text':
      bad.push(['too long', 'a'.repeat(Number(len[1]) + 1)]);
      if (r.rule.startsWith('a path')) bad.push(['a control character', 'a\x01b']);
      else if (r.rule.startsWith('an absolute path')) bad.push(['relative', 'widget/dist/chat-widget.js'], ['a control character', '/a\x01b']);
      else if (r.rule.startsWith('an address')) bad.push(['bad pattern', 'a b'], ['unclosed bracket', '[::1']);
      else if (r.rule.startsWith('a URL')) {
        // What the workers' URL parser (libcurl's) refuses is refused here.
        bad.push(['bad pattern', 'ftp://example.com'], ['no host', 'http://'], ['a port out of range', 'http://127.0.0.1:99999/v1'],
          ['port 0', 'http://127.0.0.1:0/v1'], ['an unclosed bracket', 'https://[::1/v1']);
      }
      else if (r.rule.startsWith('tls://')) bad.push(['a Unix socket', 'unix:/x.sock'], ['no port', 'tls://127.0.0.1']);
      else if (r.rule.startsWith('smtp://')) {
        bad.push(['bad pattern', 'http://mail.example.com'], ['a port out of range', 'smtp://mail.example.com:99999'],
          ['a port not a number', 'smtp://mail.example.com:abc'], ['port 0', 'smtp://mail.example.com:0'],
          ['not an IPv6 address', 'smtp://[zz]:25'], ['IPv6 without brackets', 'smtp://::1:25'],
          // A password is never shown, even one that makes the URL bad.
          ['a password with a slash', 'smtp://u:sec/ret@mail.example.com', {}, 'sec/ret'],
          ['a password with an @', 'smtps://me%40x.com:p@ss#1@mail.example.com', {}, 'ss#1']);
      }
      else if (r.rule.startsWith('a user')) bad.push(['bad pattern', '-root']);
      else if (r.rule.startsWith('an email')) bad.push(['bad pattern', 'no-at-sign'], ['a space', 'a b@example.com']);
      else if (r.rule.startsWith('one word') || r.rule.startsWith('a name')) bad.push(['bad pattern', 'two words']);
      break;
    case 'secret': {
      const m = r.rule.match(/^(\d+) to (\d+) characters/);
      const [min, max] = [Number(m[1]), Number(m[2])];
      bad.push(['too long', 'k'.repeat(max + 1)]);
      // A key under its minimum is refused in production only.
      const prod = r.rule.includes('only outside production') ? { PARLEY_ENV: 'production', CORS_ORIGIN: 'https://a.example' } : {};
      if (min > 1) bad.push(['too short', 'k'.repeat(min - 1), prod]);
      if (r.rule.includes('one line')) bad.push(['two lines', 'sk-one\nsk-two']);
      break;
    }
    case 'choice':
      bad.push(['not a choice', 'sometimes'], ['blank', ' '], ['too long', 'x'.repeat(5000)]);
      break;
    case 'boolean':
      bad.push(['not a boolean', 'maybe'], ['blank', ' ']);
      break;
    case 'list':
      if (r.name === 'CORS_ORIGIN') bad.push(['not an origin', 'example.com/path'], ['empty entries', ' , '], ['too long', `https://${'a'.repeat(300)}.com`]);
      if (r.name === 'TRUST_PROXY') bad.push(['not an address', 'proxy.example'], ['bad prefix', '10.0.0.0/40']);
      if (r.name === 'PARLEY_STORAGED') {
        bad.push(['not an address', '/run/parley/storaged.sock'], ['no port', 'tls://10.0.0.5'], ['an empty entry', 'unix:/a,,unix:/b'],
          ['a relative socket path', 'unix:rel.sock'],
          ['nine addresses', Array.from({ length: 9 }, (_, i) => `tls://10.0.0.${i + 1}:4100`).join(',')],
          ['tls:// without the cluster files', 'tls://10.0.0.5:4100']);
      }
      break;
    case 'systemd':
      if (r.name === 'LISTEN_PID') bad.push(['not a number', 'abc', { LISTEN_FDS: '1' }]);
      // LISTEN_PID must name masterd itself: a shell that execs it.
      if (r.name === 'LISTEN_FDS') bad.push(['not a number', 'abc', { LISTEN_PID: '$$' }]);
      break;
    default:
      assert.fail(`${r.name}: a type this test does not know: ${r.type}`);
  }
  return bad;
}

// The default as the docs write it, without markup.
function plain(s) {
  return s.replace(/`/g, '').replace(/\\-/g, '-').replace(/\\&/g, '').trim().replace(/\.$/, '');
}

// A markdown table's rows under heading: {names: [...], def}.
function markdownTable(file, heading) {
  const text = fs.readFileSync(path.join(REPO, file), 'utf8');
  const start = text.indexOf(heading);
  assert.ok(start >= 0, `${file}: ${heading}`);
  const rows = [];
  let seen = false;
  for (const line of text.slice(start).split('\n').slice(1)) {
    if (line.startsWith('|')) {
      seen = true;
      const cells = line.split('|').slice(1, -1).map((c) => c.trim());
      const names = [...cells[0].matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]);
      if (names.length) rows.push({ names, def: plain(cells[1]) });
    } else if (seen) break;
  }
  return rows;
}

// parley.env(5): ".B NAME[, NAME]" then "Default: X."
function manPage() {
  const lines = fs.readFileSync(path.join(REPO, 'man/parley.env.5'), 'utf8').split('\n');
  const rows = [];
  for (let i = 0; i < lines.length - 1; i++) {
    const b = lines[i].match(/^\.B ([A-Z][A-Z0-9_]+(?:, [A-Z][A-Z0-9_]+)*)$/);
    const d = lines[i + 1].match(/^Default: (.*)$/);
    if (b && d) rows.push({ names: b[1].split(', '), def: plain(d[1]) });
  }
  return rows;
}

function sameDefault(doc, shown) {
  return doc === shown || doc.startsWith(`${shown} (`);
}

describe('the settings table', () => {
  let rows;
  before(() => { rows = table(); });

  test('lists every setting once, PARLEY_ACCESS_LOG among them (off)', () => {
    const names = rows.map((r) => r.name);
    assert.equal(new Set(names).size, names.length);
    for (const n of ['PORT', 'PARLEY_RATE_KEYS', 'WIDGET_BUNDLE_PATH', 'PARLEY_ASSETS_DIR', 'PARLEY_USER', 'TLS_CERT',
      'TLS_KEY', 'PARLEY_SYNC', 'PARLEY_SYNC_INTERVAL_MS', 'PARLEY_LOG_LEVEL', 'PARLEY_ENV', 'NODE_ENV', 'SYSTEM_PROMPT']) {
      assert.ok(names.includes(n), n);
    }
    const al = rows.find((r) => r.name === 'PARLEY_ACCESS_LOG');
    assert.equal(al.type, 'boolean');
    assert.equal(al.default, 'off');
    assert.match(al.processes, /workerd/);
    assert.equal(al.doc, 'one line per request: client, method, path, status, bytes, ms');
  });

  for (const [what, read] of [
    ['parley.env(5)', manPage],
    ["docs/configuration.md's table", () => markdownTable('docs/configuration.md', '## Every setting')],
    ["docs/internals.md's settings table", () => markdownTable('docs/internals.md', '## Settings')],
  ]) {
    test(`${what} names every setting with its default`, () => {
      const docs = read();
      for (const r of rows) {
        const row = docs.find((d) => d.names.includes(r.name));
        assert.ok(row, `${what} names ${r.name}`);
        assert.ok(sameDefault(row.def, plain(r.default)), `${what}: ${r.name} defaults to "${r.default}", not "${row.def}"`);
      }
    });
  }

  // docs/parley.env.example (installed as /etc/parley/parley.env) shows
  // every setting once: uncommented (set on purpose: PARLEY_ENV), or
  // commented out at its default: "#NAME=default", "#NAME=" when it is
  // unset, and where the default is a description ("one per core") any
  // value, its comments saying "unset: <the description>". An example
  // goes on a "# e.g." line, never on the assignment.
  test('docs/parley.env.example shows every setting, commented out at its default', () => {
    const lines = fs.readFileSync(path.join(REPO, 'docs/parley.env.example'), 'utf8').split('\n');
    const assign = /^(#?)([A-Z][A-Z0-9_]+)=(.*)$/;
    const named = lines.map((l) => l.match(assign)?.[2]).filter(Boolean);
    for (const n of named) assert.ok(rows.some((r) => r.name === n), `parley.env.example names ${n}, which is no setting`);
    for (const r of rows) {
      const at = lines.flatMap((l, i) => (l.match(assign)?.[2] === r.name ? [i] : []));
      assert.equal(at.length, 1, `parley.env.example: ${r.name} on ${at.length} lines, not 1`);
      const [, hash, , value] = lines[at[0]].match(assign);
      if (!hash) continue;
      if (value === r.default || (r.default === 'unset' && value === '')) continue;
      // Its comments: the comment lines right above and right below.
      const near = [];
      for (let i = at[0] - 1; i >= 0 && /^#/.test(lines[i]) && !assign.test(lines[i]); i--) near.push(lines[i]);
      for (let i = at[0] + 1; i < lines.length && /^#/.test(lines[i]) && !assign.test(lines[i]); i++) near.push(lines[i]);
      assert.ok(r.default !== 'unset' && near.join(' ').includes(`unset: ${r.default}`),
        `parley.env.example: "${lines[at[0]]}", but ${r.name} defaults to "${r.default}"`);
    }
  });

  test('docs/parley.env.example reads as systemd reads it, and fails --check in production naming the keys', () => {
    const file = path.join(REPO, 'docs/parley.env.example');
    const env = baseEnv(new Set(rows.map((r) => r.name)));
    // --env prints what is read, NUL-terminated: only the uncommented lines.
    const read = execFileSync(MASTERD, ['--env', file], { encoding: 'utf8', env });
    assert.deepEqual(read.split('\0').filter(Boolean),
      ['PARLEY_DATA_DIR=/var/lib/parley', 'PARLEY_RUN_DIR=/run/parley', 'PARLEY_ENV=production']);
    const r = spawnSync(MASTERD, ['--check', file], { encoding: 'utf8', env });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /WIDGET_API_KEY, ADMIN_API_KEY, DASHBOARD_PASSWORD/);
  });

  test("the README's configuration table names settings with their defaults", () => {
    const shown = markdownTable('README.md', '## Configuration');
    assert.ok(shown.length >= 10, `the README's table has ${shown.length} rows`);
    for (const d of shown) {
      for (const n of d.names) {
        const r = rows.find((x) => x.name === n);
        assert.ok(r, `the README names ${n}, which is no setting`);
        assert.ok(sameDefault(d.def, plain(r.default)), `the README: ${n} defaults to "${r.default}", not "${d.def}"`);
      }
    }
  });
});

describe('a bad value stops the daemon at start', () => {
  let rows, names, ok;
  before(async () => {
    rows = table();
    names = new Set(rows.map((r) => r.name));
    fs.writeFileSync(FAKE_WORKERD, `#!/bin/sh\ntouch '${MARK}'\n`, { mode: 0o755 });
    ok = baseEnv(names);
    Object.assign(ok, {
      PORT: '1', // never bound: every case fails first (the control takes a free port)
      PARLEY_HOST: '127.0.0.1',
      PARLEY_WORKERS: '1',
      PARLEY_WORKERD: FAKE_WORKERD,
      PARLEY_DATA_DIR: path.join(TMP, 'data'),
      PARLEY_RUN_DIR: path.join(TMP, 'run'),
      PARLEY_LOG_LEVEL: 'debug',
      // Each case stops at once on its bad value. LeakSanitizer's scan at
      // exit was half of every run's time (~55 ms of ~100, 300-odd runs);
      // the daemons' real paths keep it in every other test.
      ASAN_OPTIONS: `${process.env.ASAN_OPTIONS ?? ''}:detect_leaks=0`,
    });
  });
  after(() => fs.rmSync(TMP, { recursive: true, force: true }));

  test('control: with good values masterd does start the (fake) worker', async () => {
    fs.rmSync(MARK, { force: true });
    const port = String(await freePort());
    const child = spawn(MASTERD, [], { env: { ...ok, PORT: port, PARLEY_SHUTDOWN_TIMEOUT_MS: '0' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    const closed = new Promise((r) => child.on('close', r));
    const t0 = Date.now();
    while (!fs.existsSync(MARK) && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGTERM');
    await closed;
    assert.ok(fs.existsSync(MARK), `the fake worker ran:\n${err}`);
    assert.match(err, /worker 1 started/);
  });

  // A worker that crashed at start-up was logged "killed" (masterd kills
  // one whose channel ends before READY), at info: the crash unsaid.
  test('a worker ended by a signal before READY is logged with its signal', async () => {
    const segv = path.join(TMP, 'segv-workerd');
    fs.writeFileSync(segv, '#!/bin/sh\nkill -SEGV $$\n', { mode: 0o755 });
    const port = String(await freePort());
    const child = spawn(MASTERD, [], { env: { ...ok, PORT: port, PARLEY_WORKERD: segv, PARLEY_SHUTDOWN_TIMEOUT_MS: '0' },
      stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    const closed = new Promise((r) => child.on('close', r));
    // The notifier and the fetcher run the same binary and die the same
    // way: wait for the worker's line, not the first one (the notifier's
    // came first once, and the stop then went before the worker's end).
    const said = /worker \d+ \(pid \d+\) killed by signal 11 \(Segmentation fault\)/;
    const t0 = Date.now();
    while (!said.test(err) && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGTERM');
    await closed;
    assert.match(err, said);
    assert.doesNotMatch(err, /worker \d+ \(pid \d+\) killed\n/);
  });

  test('--check FILE reads the file as systemd does: a value with spaces and a ; comment are fine, a bad value and a bad line named', async () => {
    const f = path.join(TMP, 'parley.env');
    fs.writeFileSync(f, '; a comment\nSYSTEM_PROMPT=You are a concise assistant\nMAX_HISTORY_MESSAGES="12"\n');
    let r = await runOnce(MASTERD, ok, ['--check', f]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /the settings are valid/);
    fs.writeFileSync(f, 'SYSTEM_PROMPT=You are concise\nMAX_HISTORY_MESSAGES=twelve\n');
    r = await runOnce(MASTERD, ok, ['--check', f]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /MAX_HISTORY_MESSAGES/);
    fs.writeFileSync(f, 'PORT=4000\r\n');
    r = await runOnce(MASTERD, ok, ['--check', f]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /parley\.env: line 1: ends in CR LF/);
    r = await runOnce(MASTERD, ok, ['--check', path.join(TMP, 'none.env')]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /none\.env/);
    // In production, the keys to set are named with the file checked.
    fs.writeFileSync(f, 'PARLEY_ENV=production\n');
    r = await runOnce(MASTERD, ok, ['--check', f]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`production: set WIDGET_API_KEY, ADMIN_API_KEY, DASHBOARD_PASSWORD \\(in ${f.replace(/[.]/g, '\\.')}:`));
  });

  test('Open Chat Widget\'s .env.example, as published, passes --check: its relative WIDGET_BUNDLE_PATH ignored with a warning', async () => {
    // Its sample, byte for byte (farrugiag/open-chat-widget's .env.example).
    const sample = '# Convex\nCONVEX_URL=https://your-deployment.convex.cloud\n\n# OpenAI\nOPENAI_API_KEY=sk-...\n' +
      'OPENAI_MODEL=gpt-4.1-mini\n\n# Widget backend\nWIDGET_API_KEY=change-me-widget-key\n' +
      '# Optional: required only for /v1/admin/* endpoints\nADMIN_API_KEY=change-me-admin-api-key\nPORT=4000\n' +
      '# Never use "*" in production. Use a comma-separated allowlist of trusted origins.\n' +
      'CORS_ORIGIN=http://localhost:3000\nWIDGET_BUNDLE_PATH=../widget/dist/chat-widget.js\n' +
      'RATE_LIMIT_WINDOW_MS=60000\nRATE_LIMIT_MAX_REQUESTS=30\n\n# Dashboard\n' +
      'DASHBOARD_PASSWORD=change-me-admin-password\nNEXT_PUBLIC_BACKEND_URL=http://localhost:4000\n' +
      'NEXT_PUBLIC_WIDGET_SCRIPT_URL=http://localhost:4000/widget/chat-widget.js\n';
    const f = path.join(TMP, 'ocw.env');
    fs.writeFileSync(f, sample);
    const r = await runOnce(MASTERD, ok, ['--check', f]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /WIDGET_BUNDLE_PATH is relative \(as in Open Chat Widget's \.env\.example[^\n]*ignored, the bundle Parley ships is served/);
    assert.match(r.stderr, /the settings are valid/);
  });

  test('as root with PARLEY_USER=nobody, a TLS key only root reads is refused (the workers run as nobody)', async () => {
    assert.equal(process.getuid(), 0, 'the suite runs as root (CI does)');
    // Beside masterd (a folder nobody may enter): its fetcher; a fake worker.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-privfiles-'));
    try {
      fs.chmodSync(dir, 0o755);
      for (const p of ['parley-masterd', 'parley-fetch']) fs.copyFileSync(path.join(BIN, p), path.join(dir, p));
      for (const p of ['parley-masterd', 'parley-fetch']) fs.chmodSync(path.join(dir, p), 0o755);
      fs.writeFileSync(path.join(dir, 'fake-workerd'), '#!/bin/sh\n', { mode: 0o755 });
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'key.pem'),
        '-out', path.join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=localhost'], { stdio: 'ignore' });
      fs.chmodSync(path.join(dir, 'cert.pem'), 0o644);
      fs.chmodSync(path.join(dir, 'key.pem'), 0o600);
      const env = { ...ok, PARLEY_USER: 'nobody', PARLEY_WORKERD: path.join(dir, 'fake-workerd'),
        TLS_CERT: path.join(dir, 'cert.pem'), TLS_KEY: path.join(dir, 'key.pem') };
      let r = await runOnce(path.join(dir, 'parley-masterd'), env, ['--check']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /TLS_KEY=.*key\.pem: cannot read: Permission denied/);
      fs.chmodSync(path.join(dir, 'key.pem'), 0o644);
      r = await runOnce(path.join(dir, 'parley-masterd'), env, ['--check']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /the settings are valid/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('every setting, every kind of bad value (masterd, and storaged for its own)', async () => {
    const cases = [];
    for (const r of rows) {
      for (const [label, value, extra = {}, hidden] of badValues(r)) {
        cases.push({ r, label, value, extra, hidden, bin: REL_MASTERD });
        if (r.processes.includes('storaged') && r.type !== 'systemd') cases.push({ r, label, value, extra, hidden, bin: REL_STORAGED });
      }
    }
    // The pair rule, and production with the default CORS_ORIGIN.
    const tls = rows.find((r) => r.name === 'TLS_CERT');
    cases.push({ r: tls, label: 'without TLS_KEY', value: '/etc/ssl/c.pem', extra: {}, bin: REL_MASTERD });
    cases.push({ r: rows.find((r) => r.name === 'TLS_KEY'), label: 'without TLS_CERT', value: '/etc/ssl/k.pem', extra: {}, bin: REL_MASTERD });
    cases.push({ r: rows.find((r) => r.name === 'PARLEY_ENV'), label: 'production with CORS_ORIGIN=*', value: 'production', extra: {}, bin: REL_MASTERD, says: 'CORS_ORIGIN' });
    // The cluster's files, read at start: the wrong one is named.
    const cluster = { PARLEY_STORAGED: 'tls://127.0.0.1:4100', PARLEY_CLUSTER_CERT: '/etc/hostname', PARLEY_CLUSTER_KEY: '/etc/hostname' };
    cases.push({ r: rows.find((r) => r.name === 'PARLEY_CLUSTER_CA'), label: 'unreadable', value: '/nonexistent/ca.pem', extra: cluster, bin: REL_MASTERD, says: 'PARLEY_CLUSTER_CA=/nonexistent/ca.pem: cannot read' });
    cases.push({ r: rows.find((r) => r.name === 'PARLEY_CLUSTER_CA'), label: 'not PEM', value: '/etc/hostname', extra: cluster, bin: REL_MASTERD, says: 'PARLEY_CLUSTER_CA=/etc/hostname: not a PEM certificate' });
    cases.push({ r: rows.find((r) => r.name === 'PARLEY_MODEL_CA'), label: 'unreadable', value: '/nonexistent/ca.pem', extra: {}, bin: REL_MASTERD, says: 'PARLEY_MODEL_CA=/nonexistent/ca.pem: cannot read' });
    cases.push({ r: rows.find((r) => r.name === 'PARLEY_MODEL_CA'), label: 'not PEM', value: '/etc/hostname', extra: {}, bin: REL_MASTERD, says: 'PARLEY_MODEL_CA=/etc/hostname: not a PEM certificate' });
    const smtp = { SMTP_URL: 'smtp://127.0.0.1:25', SMTP_FROM: 'parley@example.com' };
    cases.push({ r: rows.find((r) => r.name === 'SMTP_CA_FILE'), label: 'unreadable', value: '/nonexistent/ca.pem', extra: smtp, bin: REL_MASTERD, says: 'SMTP_CA_FILE=/nonexistent/ca.pem: cannot read' });
    cases.push({ r: rows.find((r) => r.name === 'SMTP_CA_FILE'), label: 'not PEM', value: '/etc/hostname', extra: smtp, bin: REL_MASTERD, says: 'SMTP_CA_FILE=/etc/hostname: not a PEM certificate' });
    cases.push({ r: rows.find((r) => r.name === 'PARLEY_STORAGED_LISTEN'), label: 'files not PEM', value: 'tls://127.0.0.1:1', extra: { PARLEY_CLUSTER_CA: '/etc/hostname', PARLEY_CLUSTER_CERT: '/etc/hostname', PARLEY_CLUSTER_KEY: '/etc/hostname' }, bin: REL_STORAGED, says: 'PARLEY_CLUSTER_CA=/etc/hostname: not a PEM certificate' });
    assert.ok(rows.every((r) => cases.some((c) => c.r === r)), 'a case for every setting');

    // SLOTS cases at a time (they wait mostly on process start-up), each
    // slot with its own fake worker, mark and directories, so a mark is
    // still its own masterd's.
    const SLOTS = 3;
    const slots = Array.from({ length: SLOTS }, (_, i) => {
      const mark = path.join(TMP, `worker-started-${i}`);
      const workerd = path.join(TMP, `fake-workerd-${i}`);
      fs.writeFileSync(workerd, `#!/bin/sh\ntouch '${mark}'\n`, { mode: 0o755 });
      return { mark, env: { PARLEY_WORKERD: workerd, PARLEY_DATA_DIR: path.join(TMP, `data-${i}`), PARLEY_RUN_DIR: path.join(TMP, `run-${i}`) } };
    });
    const failures = [];
    const runCase = async (c, slot) => {
      fs.rmSync(slot.mark, { force: true });
      const env = { ...ok, ...slot.env, ...c.extra, [c.r.name]: c.value };
      let res;
      if (env.LISTEN_PID === '$$') {
        delete env.LISTEN_PID;
        res = await runOnce('/bin/sh', env, ['-c', 'LISTEN_PID=$$ exec "$0"', c.bin]);
      } else res = await runOnce(c.bin, env);
      const what = `${path.basename(c.bin)} ${c.r.name} ${c.label}`;
      const lines = res.stderr.trim().split('\n').filter((l) => /fatal|error/i.test(l));
      if (res.code !== 1) failures.push(`${what}: exit ${res.code} ${res.signal ?? ''}\n${res.stderr}`);
      else if (res.ms > DEADLINE_MS) failures.push(`${what}: took ${res.ms} ms`);
      else if (!res.stderr.includes(c.says ?? c.r.name)) failures.push(`${what}: the message does not name it:\n${res.stderr}`);
      else if (lines.length !== 1) failures.push(`${what}: not one line:\n${res.stderr}`);
      else if (c.r.type === 'secret' && res.stderr.includes(c.value)) failures.push(`${what}: the secret was printed`);
      else if (c.hidden && res.stderr.includes(c.hidden)) failures.push(`${what}: the password was printed:\n${res.stderr}`);
      else if (/started \(pid/.test(res.stderr)) failures.push(`${what}: a worker was started`);
      if (c.bin === REL_MASTERD && fs.existsSync(slot.mark)) failures.push(`masterd ${c.r.name} ${c.label}: a worker was forked`);
    };
    let next = 0;
    await Promise.all(slots.map(async (slot) => {
      while (next < cases.length) await runCase(cases[next++], slot);
    }));
    assert.deepEqual(failures, [], `${failures.length} of ${cases.length} cases:\n${failures.join('\n')}`);
    for (let i = 0; i < SLOTS; i++)
      assert.ok(!fs.existsSync(path.join(TMP, `run-${i}`, 'storaged.sock')), 'storaged never got as far as its socket');
  });

  test('make run (scripts/run.sh) with PARLEY_HEADER_TIMEOUT_MS=abc exits 1 at once and starts nothing', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-run-'));
    try {
      // The keys are there already, so the script generates none.
      const keys = ['WIDGET_API_KEY', 'ADMIN_API_KEY', 'DASHBOARD_PASSWORD'].map((k) => `${k}=${'k'.repeat(40)}\n`).join('');
      fs.writeFileSync(path.join(dir, 'env'), `${keys}PARLEY_HEADER_TIMEOUT_MS=abc\n`, { mode: 0o600 });
      const env = {
        ...baseEnv(names),
        PARLEY_RUN_BIN: BIN,
        PARLEY_ENV_FILE: path.join(dir, 'env'),
        PARLEY_DATA_DIR: path.join(dir, 'data'),
        PARLEY_RUN_DIR: path.join(dir, 'run'),
        PARLEY_HOST: '127.0.0.1',
        PORT: '1',
      };
      const res = await runOnce(path.join(REPO, 'scripts/run.sh'), env);
      assert.equal(res.code, 1, res.stderr);
      assert.ok(res.ms < DEADLINE_MS, `took ${res.ms} ms`);
      assert.match(res.stderr, /PARLEY_HEADER_TIMEOUT_MS must be a whole number from 100 to 3600000, not "abc"/);
      assert.doesNotMatch(res.stderr, /MOCK MODEL|Parley on|keeps dying/);
      assert.ok(!fs.existsSync(path.join(dir, 'run')), 'nothing was started (no run directory)');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the settings module is the only reader of the environment', () => {
  // systemd's and masterd's hand-over variables are read where they are used.
  const HANDOVER = new Set(['LISTEN_PID', 'LISTEN_FDS', 'NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID', 'PARLEY_CHANNEL_FD']);

  test('getenv appears only in lib/settings.c, apart from the hand-over variables', () => {
    const found = [];
    for (const dir of ['masterd', 'workerd', 'storaged', 'proto', 'lib']) {
      for (const f of fs.readdirSync(path.join(REPO, dir), { recursive: true })) {
        if (!/\.[ch]$/.test(f)) continue;
        const rel = `${dir}/${f}`;
        const src = fs.readFileSync(path.join(REPO, rel), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
        for (const m of src.matchAll(/\b(?:secure_)?getenv\s*\(\s*("([A-Z0-9_]+)")?/g)) {
          if (rel === 'lib/settings.c') continue;
          if (!HANDOVER.has(m[2])) found.push(`${rel}: ${m[0]}`);
        }
      }
    }
    assert.deepEqual(found, []);
  });
});
