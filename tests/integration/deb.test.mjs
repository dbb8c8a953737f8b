// The Debian package: built from this tree the way `make deb` builds it
// (`fakeroot debian/rules binary`: debhelper over the release binaries
// make test has built, so nothing is compiled again; make deb adds
// dpkg-buildpackage's .changes and lintian), then installed, upgraded and
// purged in a throwaway root (lib/debroot.sh: an overlay of / in a mount
// namespace of its own, chrooted; the real system's dpkg database is never
// written, which the test checks). The upgrade goes to the same package
// repacked with a higher version. Runs as root (unshare, mount, chroot).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { REPO } from './lib/harness.mjs';
import { layoutsId, PROTO_VERSION } from './lib/storage.mjs';

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-deb-'));
const OUT = path.join(TMP, 'out');
fs.mkdirSync(OUT);
const VERSION = /^parley \(([^)]+)\)/.exec(fs.readFileSync(path.join(REPO, 'debian/changelog'), 'utf8'))[1];
const NEXT = `${VERSION}+upgradetest1`;

// Runs cmd in the repository, with nothing of an outer make (make test) in its environment.
function run(cmd, args, opts = {}) {
  const env = { ...process.env, ...(opts.env || {}) };
  for (const k of ['MAKEFLAGS', 'MFLAGS', 'MAKELEVEL', 'MAKEOVERRIDES', 'DESTDIR', 'PREFIX', 'prefix']) delete env[k];
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: REPO, env, timeout: 300000, maxBuffer: 32 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolve(stdout + stderr);
    });
  });
}

// What debian/rules binary made: its own clean (dh_clean -d and
// debhelper's state files; never the rest of the tree).
const debClean = () => run('debian/rules', ['clean']);

const sha = (f) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');

describe('the Debian package', () => {
  let arch, deb, dbgsym, steps, hostStatus;
  const ms = {};

  before(async () => {
    hostStatus = sha('/var/lib/dpkg/status');
    arch = (await run('dpkg', ['--print-architecture'])).trim();
    let t0 = Date.now();
    try {
      await run('fakeroot', ['debian/rules', 'binary'], { env: { DEB_DESTDIR: OUT, DEB_BUILDDEB_OPTS: '-Zgzip -z1' } });
    } finally {
      await debClean();
    }
    ms.build = Date.now() - t0;
    deb = path.join(OUT, `parley_${VERSION}_${arch}.deb`);
    dbgsym = path.join(OUT, `parley-dbgsym_${VERSION}_${arch}.deb`);

    // The next version: the same package, its control file's Version raised.
    const unpacked = path.join(TMP, 'next');
    await run('dpkg-deb', ['-R', deb, unpacked]);
    const control = path.join(unpacked, 'DEBIAN/control');
    fs.writeFileSync(control, fs.readFileSync(control, 'utf8').replace(/^Version: .*$/m, `Version: ${NEXT}`));
    const next = path.join(TMP, `parley_${NEXT}_${arch}.deb`);
    await run('dpkg-deb', ['-Zgzip', '-z1', '-b', unpacked, next]);

    t0 = Date.now();
    const work = path.join(TMP, 'root');
    fs.mkdirSync(work);
    const out = await run('unshare', ['--mount', '--propagation', 'private', 'sh',
      path.join(REPO, 'tests/integration/lib/debroot.sh'), work, deb, next]);
    ms.root = Date.now() - t0;
    steps = {};
    let cur = null;
    for (const line of out.split('\n')) {
      const m = /^=== (\S+)$/.exec(line);
      if (m) steps[cur = m[1]] = [];
      else if (cur) steps[cur].push(line);
    }
    assert.ok(steps.end, `every step ran:\n${out}`);
    console.log(`# deb: built in ${ms.build} ms; installed, upgraded and purged in ${ms.root} ms`);
  });
  after(() => fs.rmSync(TMP, { recursive: true, force: true }));

  const text = (name) => steps[name].join('\n');

  test('parley_<version>_<arch>.deb, the version debian/changelog says, and its -dbgsym', async () => {
    assert.ok(fs.existsSync(deb), deb);
    assert.equal((await run('dpkg-deb', ['-f', deb, 'Version'])).trim(), VERSION);
    assert.match(await run('dpkg-deb', ['-f', deb, 'Depends']), /systemd-sysusers/);
    const debug = await run('dpkg-deb', ['-c', dbgsym]);
    assert.match(debug, /\.\/usr\/lib\/debug\/\.build-id\/[0-9a-f]{2}\/[0-9a-f]+\.debug/);
  });

  test('installed: files, owners and modes, the conffile, the parley user', () => {
    assert.match(text('install'), /Setting up parley \(/);
    assert.equal(steps.version[0], VERSION);
    const files = text('files');
    for (const f of ['/usr/sbin/parley-masterd', '/usr/sbin/parley-fetch', '/usr/sbin/parleyctl']) assert.match(files, new RegExp(`^755 root ${f}$`, 'm'));
    assert.match(files, /^644 root \/lib\/systemd\/system\/parley\.socket$/m);
    assert.match(files, /^644 root \/usr\/share\/doc\/parley\/copyright$/m);
    assert.match(files, /^640 root \/etc\/parley\/parley\.env$/m, 'the keys file is not readable by others');
    assert.match(text('conffiles'), /^ \/etc\/parley\/parley\.env [0-9a-f]{32}$/m);
    const [name, , uid, , , home, shell] = steps.user[0].split(':');
    assert.equal(name, 'parley');
    assert.ok(Number(uid) > 0 && Number(uid) < 1000, `a system user (uid ${uid})`);
    assert.equal(home, '/var/lib/parley');
    assert.equal(shell, '/usr/sbin/nologin');
  });

  test('stripped binaries; --version prints debian/changelog\'s version and one message table', () => {
    for (const line of steps['debug-sections'].filter(Boolean)) assert.match(line, / 0$/, `${line}: no .debug_info, no .symtab`);
    const versions = steps.versions.filter(Boolean);
    const table = ` (protocol ${PROTO_VERSION}, messages ${layoutsId().toString(16).padStart(16, '0')})`;
    assert.deepEqual(versions,
      ['parley-masterd', 'parley-workerd', 'parley-fetch', 'parley-storaged', 'parleyctl'].map((b) => `${b} ${VERSION}${table}`));
  });

  test('every manual page reads with man -l, the aliases of parley(8) too', () => {
    const man = text('man');
    assert.doesNotMatch(man, /can't|cannot|No such file|error/i, man);
    assert.equal((man.match(/^PARLEY\(8\)/gm) || []).length, 5, `parley-masterd, -workerd, -fetch, -storaged and parley:\n${man}`);
    assert.match(man, /^PARLEYCTL\(8\)/m);
    assert.match(man, /^PARLEY\.ENV\(5\)/m);
  });

  test('the installed environment file fails --check, naming the keys to set', () => {
    const check = text('check');
    assert.match(check, /check failed/);
    assert.match(check, /WIDGET_API_KEY, ADMIN_API_KEY, DASHBOARD_PASSWORD/);
  });

  test('upgraded to a higher version: the edited conffile kept', () => {
    assert.match(text('upgrade'), new RegExp(`Unpacking parley \\(${NEXT.replace(/[.+]/g, '\\$&')}\\) over \\(${VERSION}\\)`));
    assert.equal(steps['upgraded-version'][0], NEXT);
    assert.equal(steps['upgraded-env'][0], '# edited by the owner');
    assert.equal(steps['upgraded-env'][1], '640');
  });

  test('purged: the conffile, the data and the files gone; the system user kept', () => {
    assert.match(text('purge'), /Purging configuration files for parley/);
    const purged = text('purged');
    for (const f of ['/etc/parley', '/var/lib/parley', '/usr/sbin/parley-masterd', '/usr/share/parley']) {
      assert.match(purged, new RegExp(`^gone ${f}$`, 'm'));
    }
    assert.match(purged, /^user kept$/m);
  });

  test('the real system\'s dpkg database was never written', () => {
    assert.equal(sha('/var/lib/dpkg/status'), hostStatus);
  });
});
