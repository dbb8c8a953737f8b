// `make install` into a DESTDIR tree (PREFIX=/usr): the files, their modes,
// the units with their paths filled in, the manual pages, the environment
// file (0640, never overwritten); then the installed daemons run from that
// tree with the installed environment file (and loopback overrides) and
// serve /health, the widget bundle and the dashboard from the installed
// assets, found from the binaries' own place without PARLEY_ASSETS_DIR, and
// a chat turn with the mock model; then `make uninstall` leaves nothing but
// the environment file.
//
// make install depends on the release build (`make`), which `make test`
// has already made (test-build builds bin/ too), so it only copies.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Parley, REPO } from './lib/harness.mjs';
import { chat, mockReply, sid } from './lib/chat.mjs';

const DEST = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-install-'));
const VARS = [`DESTDIR=${DEST}`, 'PREFIX=/usr'];
const SBIN = path.join(DEST, 'usr/sbin');
const SHARE = path.join(DEST, 'usr/share/parley');
const MAN = path.join(DEST, 'usr/share/man');
const ENV_FILE = path.join(DEST, 'etc/parley/parley.env');
const SITE = 'https://site.example';

// make, with nothing of an outer make (make test) in its environment.
function make(args) {
  const env = { ...process.env };
  for (const k of ['MAKEFLAGS', 'MFLAGS', 'MAKELEVEL', 'MAKEOVERRIDES', 'DESTDIR', 'PREFIX', 'prefix']) delete env[k];
  return new Promise((resolve, reject) => {
    execFile('make', ['-s', '--no-print-directory', ...args], { cwd: REPO, env, timeout: 600000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`make ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`));
        else resolve(stdout + stderr);
      });
  });
}

function mode(p) { return fs.statSync(p).mode & 0o7777; }

function files(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p); else out.push(path.relative(DEST, p));
    }
  };
  walk(dir);
  return out.sort();
}

// NAME=value lines, as systemd's EnvironmentFile= reads them (no quotes used).
function readEnvFile(p) {
  const env = {};
  for (const line of fs.readFileSync(p, 'utf8').split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m) env[m[1]] = m[2].trim();
  }
  return env;
}

const repoFiles = (dir, re) => fs.readdirSync(path.join(REPO, dir)).filter((f) => re.test(f));
const UNITS = repoFiles('systemd', /\.(service|socket)$/);
const MAN8 = repoFiles('man', /\.8$/);
const MAN5 = repoFiles('man', /\.5$/);

describe('make install', () => {
  let installLog;

  before(async () => { installLog = await make(['install', ...VARS]); });
  after(() => { fs.rmSync(DEST, { recursive: true, force: true }); });

  test('the daemons, executable, in sbindir', () => {
    for (const d of ['parley-masterd', 'parley-storaged', 'parley-workerd', 'parley-fetch']) {
      assert.equal(mode(path.join(SBIN, d)), 0o755, d);
    }
    assert.ok(!fs.existsSync(path.join(SBIN, 'mockai')), 'the mock model is not installed');
    if (fs.existsSync(path.join(REPO, 'bin/parleyctl'))) assert.equal(mode(path.join(SBIN, 'parleyctl')), 0o755);
  });

  test('the widget and dashboard assets, as built', () => {
    for (const f of ['widget/dist/chat-widget.js', 'widget/dist/chat-widget.js.gz', 'widget/pages/widget-test.html',
      'dashboard/index.html', 'dashboard/login.html', 'dashboard/invite.html',
      ...repoFiles('dashboard/assets', /./).map((f) => `dashboard/assets/${f}`)]) {
      const p = path.join(SHARE, f);
      assert.equal(mode(p), 0o644, f);
      assert.ok(fs.readFileSync(p).equals(fs.readFileSync(path.join(REPO, f))), `${f}: same bytes`);
    }
  });

  test('the units, with the installed paths', () => {
    assert.ok(UNITS.length > 0, 'systemd/ has units');
    for (const u of UNITS) {
      const p = path.join(DEST, 'lib/systemd/system', u);
      assert.equal(mode(p), 0o644, u);
      const text = fs.readFileSync(p, 'utf8');
      assert.doesNotMatch(text, /@[a-z_]+@/, `${u}: every @var@ filled in`);
      for (const m of text.matchAll(/^ExecStart=(\S+)/gm)) assert.match(m[1], /^\/usr\/sbin\/parley-/, `${u}: ${m[0]}`);
      for (const m of text.matchAll(/^EnvironmentFile=-?(\S+)/gm)) assert.equal(m[1], '/etc/parley/parley.env', u);
    }
  });

  test('the manual pages', () => {
    for (const f of ['parley.8', 'parley.env.5', 'parleyctl.8']) assert.ok([...MAN8, ...MAN5].includes(f), `man/${f}`);
    const aliases = ['parley-masterd', 'parley-storaged', 'parley-workerd', 'parley-fetch'];
    for (const f of MAN8) if (!aliases.includes(f.replace(/\.8$/, ''))) assert.equal(mode(path.join(MAN, 'man8', f)), 0o644, f);
    for (const f of MAN5) assert.equal(mode(path.join(MAN, 'man5', f)), 0o644, f);
    // The daemons' pages are parley(8): links to it, which man -l reads
    // wherever the tree is (a ".so man8/parley.8" line resolves only from
    // the manual's root).
    for (const d of aliases) {
      assert.equal(fs.readlinkSync(path.join(MAN, 'man8', `${d}.8`)), 'parley.8', `${d}.8`);
      const page = execFileSync('man', ['-l', path.join(MAN, 'man8', `${d}.8`)],
        { encoding: 'utf8', env: { ...process.env, MANPAGER: 'cat', MANWIDTH: '80' } });
      assert.match(page, /^PARLEY\(8\)/, `man -l ${d}.8`);
    }
    // parley.env(5) documents every setting the example file names.
    const page = fs.readFileSync(path.join(MAN, 'man5/parley.env.5'), 'utf8').replace(/\\-/g, '-');
    const example = fs.readFileSync(path.join(REPO, 'docs/parley.env.example'), 'utf8');
    for (const m of example.matchAll(/^#?([A-Z][A-Z0-9_]+)=/gm)) assert.ok(page.includes(m[1]), `parley.env(5) names ${m[1]}`);
    // ... and every setting in the daemons' table (parley-masterd --settings;
    // tests/integration/settings.test.mjs checks the defaults too).
    const table = execFileSync(path.join(SBIN, 'parley-masterd'), ['--settings'], { encoding: 'utf8' });
    const names = table.trim().split('\n').slice(1).map((l) => l.split('\t')[0]);
    assert.ok(names.length > 30, 'the table lists the settings');
    for (const n of names) assert.ok(page.includes(n), `parley.env(5) names ${n}`);
  });

  test('the environment file: 0640, every setting shown, installed paths', () => {
    assert.equal(mode(ENV_FILE), 0o640);
    const text = fs.readFileSync(ENV_FILE, 'utf8');
    for (const name of ['PORT', 'PARLEY_DATA_DIR', 'WIDGET_API_KEY', 'ADMIN_API_KEY', 'DASHBOARD_PASSWORD',
      'OPENAI_API_KEY', 'OPENAI_BASE_URL', 'CORS_ORIGIN', 'TRUST_PROXY', 'PARLEY_SYNC', 'PARLEY_ASSETS_DIR']) {
      assert.match(text, new RegExp(`^#?${name}=`, 'm'), name);
    }
    assert.match(text, /^#PARLEY_ASSETS_DIR=\/usr\/share\/parley$/m);
    assert.match(installLog, /parley\.env \(mode 0640\)/);
  });

  test('a second install keeps an edited environment file', async () => {
    const edited = fs.readFileSync(ENV_FILE, 'utf8') + '# edited by the owner\n';
    fs.writeFileSync(ENV_FILE, edited);
    fs.chmodSync(ENV_FILE, 0o600);
    const log = await make(['install', ...VARS]);
    assert.match(log, /kept the existing/);
    assert.equal(fs.readFileSync(ENV_FILE, 'utf8'), edited);
    assert.equal(mode(ENV_FILE), 0o600, 'its mode is left alone too');
    fs.chmodSync(ENV_FILE, 0o640);
  });

  describe('the installed daemons, with the installed environment file', () => {
    let p;
    const marker = path.join(SHARE, 'dashboard/assets/install-marker.txt');

    before(async () => {
      fs.writeFileSync(marker, 'served from the installed tree\n');
      const fromFile = readEnvFile(ENV_FILE);
      // What must differ here: loopback, a free port, temp dirs, the keys,
      // the mock model, an origin (production refuses CORS_ORIGIN=*).
      const KEEP = ['PORT', 'PARLEY_HOST', 'PARLEY_DATA_DIR', 'PARLEY_RUN_DIR', 'PARLEY_WORKERS', 'PARLEY_MAP_SIZE_MB',
        'WIDGET_API_KEY', 'ADMIN_API_KEY', 'OPENAI_BASE_URL'];
      const installed = (bin, env) => {
        const over = Object.fromEntries(KEEP.filter((k) => k in env).map((k) => [k, env[k]]));
        const merged = { ...env, ...fromFile, ...over, CORS_ORIGIN: SITE };
        delete merged.PARLEY_ASSETS_DIR;
        delete merged.WIDGET_BUNDLE_PATH;
        delete merged.PARLEY_WORKERD;
        return [path.join(SBIN, path.basename(bin)), [], merged];
      };
      p = new Parley({ mock: true, workers: 1, wrap: { storaged: installed, masterd: installed } });
      await p.start();
    });
    after(async () => {
      fs.rmSync(marker, { force: true });
      if (p) await p.stop();
    });

    test('the environment file is in force (production)', async () => {
      const r = await p.get('/health');
      assert.equal(r.status, 200);
      assert.deepEqual(r.json(), { status: 'ok' });
      assert.match(r.headers['strict-transport-security'] || '', /max-age=/, 'PARLEY_ENV=production from the file');
      assert.equal((await p.get('/widget-test.html')).status, 404, 'no test pages in production');
      const exe = fs.readlinkSync(`/proc/${p.workerPids()[0]}/exe`);
      assert.equal(exe, path.join(SBIN, 'parley-workerd'), 'masterd ran the installed worker beside it');
    });

    test('the widget bundle and the dashboard come from the installed assets', async () => {
      const b = await p.get('/widget/chat-widget.js');
      assert.equal(b.status, 200);
      assert.ok(b.body.equals(fs.readFileSync(path.join(SHARE, 'widget/dist/chat-widget.js'))));
      const d = await p.get('/dashboard/');
      assert.equal(d.status, 200);
      assert.equal(d.text, fs.readFileSync(path.join(SHARE, 'dashboard/index.html'), 'utf8'));
      const m = await p.get('/dashboard/assets/install-marker.txt');
      assert.equal(m.status, 200, 'a file only the installed tree has');
      assert.equal(m.text, 'served from the installed tree\n');
    });

    test('the installed parleyctl reads the installed storaged', async () => {
      const ctl = path.join(SBIN, 'parleyctl');
      assert.ok(fs.existsSync(ctl), 'make install installs parleyctl');
      const out = await new Promise((resolve, reject) => {
        execFile(ctl, ['-S', p.sockPath, 'stats', '--json'], { timeout: 30000 },
          (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
      });
      assert.equal(typeof JSON.parse(out), 'object');
    });

    test('the installed parleyctl finds the installed socket by itself', async () => {
      // /run/parley/storaged.sock, the units' socket, in a mount namespace
      // of the test's own (a tmpfs over /run): the host's /run untouched.
      const ctl = path.join(SBIN, 'parleyctl');
      const script = 'mount -t tmpfs tmpfs /run && mkdir /run/parley && ' +
        'ln -s "$SOCK" /run/parley/storaged.sock && cd / && exec "$CTL" stats --json';
      const out = await new Promise((resolve, reject) => {
        execFile('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script],
          { timeout: 30000, env: { PATH: process.env.PATH, SOCK: p.sockPath, CTL: ctl } },
          (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
      });
      assert.equal(typeof JSON.parse(out), 'object');
    });

    test('a chat turn', async () => {
      const r = await chat(p, sid('install'), 'hello from the installed tree');
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json().message, mockReply('hello from the installed tree'));
    });
  });

  test('make uninstall leaves only the environment file', async () => {
    const log = await make(['uninstall', ...VARS]);
    assert.match(log, /left .*parley\.env/);
    assert.deepEqual(files(DEST), ['etc/parley/parley.env']);
    assert.match(fs.readFileSync(ENV_FILE, 'utf8'), /# edited by the owner/);
  });
});
