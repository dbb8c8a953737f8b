// A backup put in place of data.mdb after a crash, with the crashed
// storaged's wal.log left beside it (docs/operations.md, "Administration:
// parleyctl"): storaged refuses to replay the log over the backup, saying
// what to do, and leaves the log as it was. With the data.mdb the log was
// written for, the log replays; with the log moved away, the backup starts
// alone. Until 2026-12-06 the log's records after the backup were replayed
// onto it without a word (a purge made after a backup would have been
// made again on the restored backup). After the reviewer's reproduction.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { BIN, Parley } from './lib/harness.mjs';

const hash = (f) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');

test('a backup put back after a crash, the log beside it: refused, then started as the operator chooses', { timeout: 60000 }, async (t) => {
  const p = new Parley({ masterd: false });
  t.after(() => p.stop());
  await p.start();
  const open = async (session) => {
    const c = await p.storage({ as: 'parley-workerd' });
    await c.convOpen('default', session);
    c.close();
  };
  const sessions = async () => {
    const c = await p.storage({ as: 'parley-workerd' });
    const l = await c.convList(100);
    c.close();
    return l.convs.map((x) => x.session).sort();
  };
  await open('in-the-backup');
  const bk = path.join(p.tmp, 'b.mdb');
  const r = await p.ctl(['backup', bk]);
  assert.equal(r.code, 0, r.stderr);
  await open('after-the-backup');
  await p.killStoraged('SIGKILL');

  const data = path.join(p.dataDir, 'data.mdb');
  const wal = path.join(p.dataDir, 'wal.log');
  const live = path.join(p.tmp, 'live.mdb');
  fs.copyFileSync(data, live);
  fs.copyFileSync(bk, data);
  const walBefore = hash(wal);
  const s = spawnSync(path.join(BIN, 'parley-storaged'), [], { env: p.env(), encoding: 'utf8', timeout: 10000, killSignal: 'SIGKILL' });
  assert.equal(s.signal, null, `it started (killed by the test's timeout):\n${s.stderr}`);
  assert.equal(s.status, 1, s.stderr);
  assert.match(s.stderr, /wal\.log's records from \d+ on follow another checkpoint .* than the one data\.mdb holds/);
  assert.match(s.stderr, /Refusing to replay the log over it: move wal\.log away to start from data\.mdb alone/);
  assert.doesNotMatch(s.stderr, /replayed \d+ records/);
  assert.equal(hash(wal), walBefore, 'the log is left as it was');

  // The database the log was written for: it replays, nothing lost.
  fs.copyFileSync(live, data);
  await p.startStoraged();
  assert.deepEqual(await sessions(), ['after-the-backup', 'in-the-backup']);

  // Crashed again, the backup put back and the log moved away: the backup alone.
  await open('after-the-restart');
  await p.killStoraged('SIGKILL');
  fs.copyFileSync(bk, data);
  fs.renameSync(wal, path.join(p.tmp, 'wal.moved'));
  await p.startStoraged();
  assert.deepEqual(await sessions(), ['in-the-backup']);
});
