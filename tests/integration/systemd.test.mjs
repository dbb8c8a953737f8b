// The systemd units (systemd/) and running without them.
//
//  - `systemd-analyze verify` passes on parley-storaged.service,
//    parley.service and parley.socket (concrete copies whose paths point at
//    the binaries under test);
//  - `systemd-analyze security --offline=yes` rates both services at an
//    overall exposure of at most 2.0 (printed to the test log);
//  - masterd started by systemd-socket-activate serves /health and a chat
//    turn through the inherited socket (LISTEN_FDS);
//  - on an inherited Unix socket (ListenStream=/path) the peer is the local
//    proxy: each visitor its X-Forwarded-For names is a client of its own
//    (RATE_LIMIT_MAX_REQUESTS), and its connections are not capped
//    (PARLEY_MAX_CONNS_PER_CLIENT), with no TRUST_PROXY;
//  - started as root with PARLEY_USER=nobody, storaged and masterd (on a
//    port below 1024) and every worker run as nobody once bound.
// The tools come from Debian's systemd package (scripts/deps.sh test).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';

import { BIN, REPO, Parley, freePort } from './lib/harness.mjs';
import { chat, sid } from './lib/chat.mjs';

const UNITS = ['parley-storaged.service', 'parley.service', 'parley.socket'];
const SERVICES = ['parley-storaged.service', 'parley.service'];
const MAX_EXPOSURE = 2.0;

function tool(name) {
  for (const dir of ['/usr/bin', '/bin', '/usr/sbin']) {
    const p = path.join(dir, name);
    if (fs.existsSync(p)) return p;
  }
  assert.fail(`${name} is missing: it comes from Debian's systemd package; ` +
    'run "scripts/deps.sh test" (as root) to install it');
}

// The units as `make install` writes them, with this tree's paths.
function concreteUnits() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-units-'));
  for (const u of UNITS) {
    const text = fs.readFileSync(path.join(REPO, 'systemd', u), 'utf8')
      .replaceAll('@sbindir@', BIN)
      .replaceAll('@sysconfdir@', '/etc')
      .replaceAll('@datadir@', REPO);
    assert.doesNotMatch(text, /@[a-z]+@/, `${u}: a placeholder left unsubstituted`);
    fs.writeFileSync(path.join(dir, u), text);
  }
  return dir;
}

// The man pages named in Documentation= (man/), as a MANPATH for
// verify's man check; null while man/ does not have them all.
function manPath() {
  const want = ['parley.8', 'parley.env.5'];
  const found = want.map((n) => [n, path.join(REPO, 'man', n)]).filter(([, p]) => fs.existsSync(p));
  if (found.length !== want.length) return null;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-man-'));
  for (const [n, p] of found) {
    const sec = path.join(dir, `man${n.slice(n.lastIndexOf('.') + 1)}`);
    fs.mkdirSync(sec, { recursive: true });
    fs.copyFileSync(p, path.join(sec, n));
  }
  return dir;
}

describe('systemd units', () => {
  test('systemd-analyze verify passes on every unit', (t) => {
    const sa = tool('systemd-analyze');
    const dir = concreteUnits();
    const man = manPath();
    // Documentation= names man pages; without them in man/ yet, only
    // that check is left out.
    const args = ['verify', ...(man ? [] : ['--man=no']), ...UNITS.map((u) => `./${u}`)];
    const env = { ...process.env, SYSTEMD_LOG_LEVEL: 'notice' };
    if (man) env.MANPATH = man;
    const r = spawnSync(sa, args, { cwd: dir, env, encoding: 'utf8' });
    t.diagnostic(`systemd-analyze ${args.join(' ')}${man ? ` (MANPATH=${man})` : ' (man pages not in man/ yet)'}: status ${r.status}`);
    assert.equal(r.status, 0, `systemd-analyze verify failed:\n${r.stdout}${r.stderr}`);
    assert.equal(`${r.stdout}${r.stderr}`.trim(), '', `systemd-analyze verify complained:\n${r.stdout}${r.stderr}`);
    fs.rmSync(dir, { recursive: true, force: true });
    if (man) fs.rmSync(man, { recursive: true, force: true });
  });

  // ProtectSystem=strict makes all but /dev, /proc and /sys read-only: the
  // run directory (PARLEY_RUN_DIR) must be made writable, or the fetcher
  // cannot keep what it was reading when it ran out of CPU time or memory.
  test('ProtectSystem=strict leaves each service its run directory writable', () => {
    for (const svc of SERVICES) {
      const unit = fs.readFileSync(path.join(REPO, 'systemd', svc), 'utf8');
      const values = (k) => [...unit.matchAll(new RegExp(`^${k}=(.*)$`, 'gm'))].flatMap((m) => m[1].trim().split(/\s+/));
      assert.deepEqual(values('ProtectSystem'), ['strict'], svc);
      const run = /^Environment=PARLEY_RUN_DIR=(\S+)$/m.exec(unit)?.[1];
      assert.ok(run, `${svc}: PARLEY_RUN_DIR`);
      const writable = [...values('ReadWritePaths').map((p) => p.replace(/^-/, '')), ...values('RuntimeDirectory').map((d) => `/run/${d}`)];
      assert.ok(writable.includes(run), `${svc}: ${run} is read-only under ProtectSystem=strict (writable: ${writable.join(' ')})`);
    }
  });

  for (const svc of SERVICES) {
    test(`systemd-analyze security: ${svc} exposure <= ${MAX_EXPOSURE}`, (t) => {
      const sa = tool('systemd-analyze');
      const dir = concreteUnits();
      const r = spawnSync(sa, ['security', '--offline=yes', '--no-pager', `./${svc}`],
        { cwd: dir, encoding: 'utf8' });
      fs.rmSync(dir, { recursive: true, force: true });
      const out = `${r.stdout}${r.stderr}`;
      const m = /Overall exposure level for \S+: (\d+(?:\.\d+)?) (\S+)/.exec(out);
      assert.ok(m, `no "Overall exposure level" in:\n${out}`);
      const level = Number(m[1]);
      t.diagnostic(`${svc}: overall exposure ${m[1]} ${m[2]}`);
      console.log(`systemd-analyze security ${svc}: exposure ${m[1]} ${m[2]}`);
      assert.ok(level <= MAX_EXPOSURE, `${svc}: exposure ${level} > ${MAX_EXPOSURE}:\n${out}`);
    });
  }
});

describe('socket activation', () => {
  test('masterd under systemd-socket-activate serves through the inherited socket', async (t) => {
    const ssa = tool('systemd-socket-activate');
    let port;
    const wrap = {
      // systemd-socket-activate binds, and on the first connection execs
      // masterd with LISTEN_FDS=1 and only the variables named by -E.
      masterd: (bin, env) => [ssa, ['-l', `127.0.0.1:${port}`,
        ...Object.keys(env).flatMap((k) => ['-E', k]), bin], env],
    };
    const p = new Parley({ mock: true, wrap });
    t.after(() => p.stop());
    // Any port but the one masterd would bind by itself: PORT is never used.
    port = await freePort();
    p.opts.port = port;
    p.opts.env = { PORT: '1' };
    await p.start();
    const r = await p.get('/health');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), { status: 'ok' });
    const c = await chat(p, sid(), 'hello through systemd');
    assert.equal(c.status, 200, c.text);
    assert.equal(c.json().message, 'You said: hello through systemd');
    await p.waitLog('masterd', /listening on 127\.0\.0\.1:\d+ \(from systemd\)/);
    // The log lines carry syslog priorities for journald.
    await p.waitLog('masterd', /^<6>parley-masterd\[\d+\]: info: listening/m);
    assert.equal(p.workerPids().length, p.workers);
  });

  test('on a Unix socket the proxy is trusted: each visitor is a client, the proxy is not capped', async (t) => {
    const ssa = tool('systemd-socket-activate');
    let sock;
    const wrap = {
      masterd: (bin, env) => [ssa, ['-l', sock,
        ...Object.keys(env).flatMap((k) => ['-E', k]), bin], env],
    };
    // One worker: every connection counts against the same caps.
    const p = new Parley({
      mock: true, wrap, workers: 1,
      env: { PORT: '1', RATE_LIMIT_MAX_REQUESTS: '1', PARLEY_MAX_CONNS_PER_CLIENT: '1' },
    });
    t.after(() => p.stop());
    sock = path.join(p.tmp, 'parley.sock');
    p.opts.port = sock;	// the harness connects to a string as a Unix socket
    await p.start();
    await p.waitLog('masterd', /listening on .*parley\.sock \(from systemd\)/);
    // An idle keep-alive connection of the proxy, held open.
    const held = await p.connect();
    t.after(() => held.destroy());
    assert.equal((await held.request('GET', '/health')).status, 200);
    const via = (ip) => chat(p, sid(), `hello from ${ip}`, { headers: { 'X-Forwarded-For': ip } });
    for (const ip of ['203.0.113.1', '203.0.113.2', '2001:db8:1::5']) {
      const r = await via(ip);
      assert.equal(r.status, 200, `${ip}: ${r.text}`);
      assert.equal(r.json().message, `You said: hello from ${ip}`);
    }
    // Each visitor has its own limit: the first one is at it now.
    const again = await via('203.0.113.1');
    assert.equal(again.status, 429, again.text);
    assert.ok(Number(again.headers['retry-after']) >= 1, JSON.stringify(again.headers));
  });
});

function uidsOf(pid) {
  const st = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
  const line = (k) => st.split('\n').find((l) => l.startsWith(`${k}:`)).split(/\s+/).slice(1).filter(Boolean).map(Number);
  return { uid: line('Uid'), gid: line('Gid'), groups: line('Groups') };
}

// A free port below 1024 on loopback (we are root), or null.
async function privilegedPort() {
  for (let port = 900; port < 1024; port++) {
    const ok = await new Promise((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  return null;
}

describe('without systemd', () => {
  const isRoot = process.geteuid && process.geteuid() === 0;
  test('started as root with PARLEY_USER=nobody, every process runs as nobody after binding', async (t) => {
    assert.ok(isRoot, 'dropping privileges is tested as root, as make test runs (it installs packages with apt-get)');
    const pw = spawnSync('getent', ['passwd', 'nobody'], { encoding: 'utf8' });
    assert.equal(pw.status, 0, 'no user "nobody"');
    const [, , uid, gid] = pw.stdout.trim().split(':');
    const port = await privilegedPort();
    assert.ok(port, 'no free port from 900 to 1023 on 127.0.0.1');
    const p = new Parley({
      mock: true, port, env: { PARLEY_USER: 'nobody' },
    });
    t.after(() => p.stop());
    // nobody must reach its data and run directories under the temp dir.
    fs.chmodSync(p.tmp, 0o755);
    await p.start();
    const pids = { storaged: p.storagedPid, masterd: p.masterPid };
    p.workerPids().forEach((w, i) => { pids[`worker ${i}`] = w; });
    pids.notifier = await p.waitNotifierReady();
    assert.equal(Object.keys(pids).length, 3 + p.workers);
    for (const [name, pid] of Object.entries(pids)) {
      const ids = uidsOf(pid);
      assert.deepEqual(ids.uid, [Number(uid), Number(uid), Number(uid), Number(uid)], `${name} uids`);
      assert.deepEqual(ids.gid, [Number(gid), Number(gid), Number(gid), Number(gid)], `${name} gids`);
      assert.deepEqual(ids.groups, [], `${name} supplementary groups`);
    }
    for (const d of [p.dataDir, p.runDir, path.join(p.runDir, 'storaged.sock')])
      assert.equal(fs.statSync(d).uid, Number(uid), `${d} owned by nobody`);
    await p.waitLog('masterd', /running as nobody/);
    await p.waitLog('storaged', /running as nobody/);
    // Still serves, and stores (as nobody).
    const c = await chat(p, sid(), 'hello as nobody');
    assert.equal(c.status, 200, c.text);
    t.diagnostic(`masterd on 127.0.0.1:${port} as uid ${uid}`);
  });

  test('PARLEY_USER naming no user stops masterd and storaged at start', async () => {
    const { refused } = await import('./lib/harness.mjs');
    const r = await refused({ PARLEY_USER: 'no-such-user-parley' });
    assert.match(r.log, /PARLEY_USER "no-such-user-parley": no such user/);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-it-user-'));
    const s = spawnSync(path.join(BIN, 'parley-storaged'), [], {
      encoding: 'utf8', timeout: 10000,
      env: { PATH: process.env.PATH, PARLEY_USER: 'no-such-user-parley',
        PARLEY_DATA_DIR: path.join(tmp, 'data'), PARLEY_RUN_DIR: path.join(tmp, 'run') },
    });
    fs.rmSync(tmp, { recursive: true, force: true });
    assert.equal(s.status, 1, `storaged: ${s.stderr}`);
    assert.match(s.stderr, /^<3>parley-storaged\[\d+\]: fatal: PARLEY_USER "no-such-user-parley": no such user/m);
  });
});
