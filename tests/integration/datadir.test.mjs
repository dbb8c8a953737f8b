// The data directory guarded (storaged/STORAGE.md, "The data directory
// guarded"): a first start in an empty directory says so at warning level;
// `rm -rf` of the data directory under chat turns going on makes storaged
// refuse every write (503 JSON) and /health answer 503 within 5 s, and no
// turn sent after the first refusal came back is acknowledged; storaged
// restarted makes a new database and serves again; data.mdb replaced by
// another file (mv) is noticed too; a second storaged on the same data
// directory stops at once, its storaged.data.lock deleted or not. One
// stack, two workers. And a data.mdb truncated to 0 bytes in a directory
// that held a database (its wal.log, of any length, or LMDB's lock.mdb
// beside it) is refused at start, nothing made: until 2026-12 an empty
// log, or none, let storaged make a new database there.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { BIN, Parley, waitFor } from './lib/harness.mjs';
import { chat, sid } from './lib/chat.mjs';
import { assertJsonError } from './lib/checks.mjs';

const LOOPS = 4;

// Chat turns on LOOPS sequential loops until stopped; every answer
// recorded with when it was sent and when it came back (client side).
function turns(p) {
  const log = [];
  let stop = false;
  const loop = async (n) => {
    for (let i = 0; !stop; i++) {
      const sent = Date.now();
      let status;
      try {
        status = (await chat(p, sid(`g${n}`), `turn ${n}.${i}`, { timeout: 10000 })).status;
      } catch (e) {
        status = `error: ${e.message}`;
      }
      log.push({ sent, got: Date.now(), status });
    }
  };
  const loops = Array.from({ length: LOOPS }, (_, n) => loop(n));
  return { log, stop: () => { stop = true; return Promise.all(loops); } };
}

async function health(p) {
  const r = await p.get('/health');
  return r;
}

describe('the data directory guarded', () => {
  let p;

  before(async () => {
    // No rate limit: the loops go on fast once every turn is refused.
    p = new Parley({ mock: true, workers: 2, env: { RATE_LIMIT_MAX_REQUESTS: '0' } });
    await p.start();
  });
  after(async () => { if (p) await p.stop(); });

  test('a first start in an empty directory says so, at warning level', async () => {
    const re = new RegExp(`\\]: warn: created a new database in ${p.dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`);
    await p.waitLog('storaged', re);
  });

  test('a second storaged on the same data directory (another run directory) stops at once, naming the lock', async () => {
    const env = { ...p.env(), PARLEY_RUN_DIR: path.join(p.tmp, 'run2') };
    const r = spawnSync(path.join(BIN, 'parley-storaged'), [], { env, encoding: 'utf8', timeout: 10000, killSignal: 'SIGKILL' });
    assert.equal(r.signal, null, `it waited (killed by the test's timeout):\n${r.stderr}`);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /another storaged is running \(.*storaged\.data\.lock is locked\)/);
    assert.equal((await health(p)).status, 200, 'the first one serves on');
  });

  test('storaged.data.lock deleted: a second storaged still stops at once, naming the data directory', async () => {
    // The directory itself is locked too: a lock file deleted under the
    // first one would otherwise let the second wait for ever on LMDB's
    // write lock (deaf to SIGTERM).
    fs.rmSync(path.join(p.dataDir, 'storaged.data.lock'));
    const env = { ...p.env(), PARLEY_RUN_DIR: path.join(p.tmp, 'run3') };
    const r = spawnSync(path.join(BIN, 'parley-storaged'), [], { env, encoding: 'utf8', timeout: 10000, killSignal: 'SIGKILL' });
    assert.equal(r.signal, null, `it waited (killed by the test's timeout):\n${r.stderr}`);
    assert.equal(r.status, 1, r.stderr);
    assert.ok(r.stderr.includes(`another storaged is running (${p.dataDir} is locked)`), r.stderr);
    // parleyctl verify still sees it running.
    const v = spawnSync(path.join(BIN, 'parleyctl'), ['verify', p.dataDir], { encoding: 'utf8', timeout: 10000, killSignal: 'SIGKILL' });
    assert.equal(v.status, 1, v.stderr);
    assert.match(v.stderr, /^parleyctl: verify: a storaged is running on /);
    assert.equal((await health(p)).status, 200, 'the first one serves on');
  });

  test('rm -rf under chat turns: writes refused, /health 503, nothing acknowledged after', async () => {
    assert.equal((await health(p)).status, 200);
    const t = turns(p);
    try {
      await waitFor(() => t.log.filter((e) => e.status === 200).length >= 8, 20000, 'turns acknowledged before');
      fs.rmSync(p.dataDir, { recursive: true, force: true });
      await waitFor(() => t.log.some((e) => e.status === 503), 5000, 'a turn refused after rm -rf');
      await waitFor(async () => (await health(p)).status === 503, 5000, '/health 503 after rm -rf');
      // The loops go on until turns sent after the first refusal came back:
      // stopping at once could leave none sent in a later millisecond.
      const firstRefusal = () => Math.min(...t.log.filter((e) => e.status === 503).map((e) => e.got));
      await waitFor(() => t.log.filter((e) => e.sent > firstRefusal()).length >= LOOPS, 5000,
        'turns sent after the first refusal answered');
    } finally {
      await t.stop();
    }
    const refusedAt = Math.min(...t.log.filter((e) => e.status === 503).map((e) => e.got));
    const late = t.log.filter((e) => e.sent > refusedAt && e.status === 200);
    assert.deepEqual(late, [], 'no turn sent after the first refusal came back is acknowledged');
    assert.deepEqual(t.log.filter((e) => e.sent > refusedAt && e.status !== 503), [], 'each is refused with 503');
    assert.ok(t.log.some((e) => e.sent > refusedAt), 'turns were sent after the refusal');

    // Every worker says so (each new connection may go to either), with a JSON body.
    for (let i = 0; i < 4; i++) {
      const h = await health(p);
      assert.equal(h.status, 503);
      assert.equal(h.json().status, 'error');
      assert.match(h.json().error, /data directory was removed or replaced/);
    }
    const r = await chat(p, sid('after'), 'hello');
    assertJsonError(r, 503);
    const w = await p.adminJson('POST', '/v1/admin/widgets', { name: 'refused' });
    assert.equal(w.status, 503, 'an admin write is refused too');

    // One error line naming the path, saying it lasts until a restart.
    const lines = p.logs.storaged.split('\n').filter((l) => /\]: error: /.test(l));
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.ok(lines[0].includes(p.dataDir), lines[0]);
    assert.match(lines[0], /removed.*until parley-storaged is restarted/);
  });

  test('storaged restarted: a new database, served again; data.mdb replaced (mv) is noticed', async () => {
    const from = p.logs.storaged.length;
    await p.restartStoraged();
    await p.waitLog('storaged', /warn: created a new database in /, { from });
    await waitFor(async () => (await health(p)).status === 200, 5000, '/health 200 after the restart');
    assert.equal((await chat(p, sid('new'), 'hello again')).status, 200);

    const other = path.join(p.dataDir, 'other.mdb');
    fs.writeFileSync(other, 'not a database\n');
    fs.renameSync(other, path.join(p.dataDir, 'data.mdb'));
    await waitFor(async () => (await health(p)).status === 503, 5000, '/health 503 after data.mdb was replaced');
    assertJsonError(await chat(p, sid('mv'), 'refused'), 503);
    await p.waitLog('storaged', /error: PARLEY_DATA_DIR \S+\/data\.mdb: replaced by another file/, { from });
  });
});

describe('an emptied data.mdb', () => {
  test('truncated to 0 bytes beside its wal.log (full, empty or moved away): refused, nothing made', { timeout: 60000 }, async (t) => {
    const p = new Parley({ masterd: false });
    t.after(() => p.stop());
    await p.start();
    await p.killStoraged('SIGTERM');
    const file = (n) => path.join(p.dataDir, n);
    const listing = () => Object.fromEntries(fs.readdirSync(p.dataDir).sort().map((n) => [n, fs.statSync(file(n)).size]));
    const cases = [
      ['its wal.log', () => {}, 'wal.log'],
      ['an empty wal.log', () => fs.truncateSync(file('wal.log'), 0), 'wal.log'],
      ['no wal.log (moved away), lock.mdb there', () => fs.rmSync(file('wal.log')), 'lock.mdb'],
    ];
    for (const [what, make, sign] of cases) {
      fs.truncateSync(file('data.mdb'), 0);
      make();
      const before = listing();
      const r = spawnSync(path.join(BIN, 'parley-storaged'), [], { env: p.env(), encoding: 'utf8', timeout: 10000, killSignal: 'SIGKILL' });
      assert.equal(r.signal, null, `${what}: it started (killed by the test's timeout):\n${r.stderr}`);
      assert.equal(r.status, 1, `${what}: ${r.stderr}`);
      assert.ok(r.stderr.includes(`${p.dataDir}: data.mdb is empty (0 bytes), yet ${sign} beside it shows this directory has held a database: not making a new one`), `${what}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /created a new database/, what);
      assert.ok(!/Sanitizer|runtime error/.test(r.stderr), r.stderr);
      assert.deepEqual(listing(), before, `${what}: nothing made or written`);
    }
  });
});
