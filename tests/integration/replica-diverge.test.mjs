// A primary that starts again in its own term with fewer records than its
// standby applied, then writes other records under the numbers the standby
// already holds: the standby must not resume its stream (the histories
// differ though the term and the last record's number agree), but take a
// snapshot, so both hold the primary's data. Before the history's digest
// (store_digest, ST_REPL_START's digest) the standby resumed: it kept a
// conversation the primary no longer had, lacked the primary's records of
// the same numbers, and answered reads as "checked".
//
// Two ways to get there: the primary restored from an older backup (any
// PARLEY_SYNC), and a power loss of a primary with PARLEY_SYNC=interval
// (records streamed from its page cache, never synced there; shown by
// putting back the files as they were at the last sync).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { Parley, waitFor } from './lib/harness.mjs';
import { caughtUp, role, dump, restoreBackup } from './lib/standby.mjs';

// A primary and its standby (sEnv: more of its settings), one
// conversation written and streamed.
async function pair(t, sync, sEnv = {}) {
  const env = { PARLEY_SYNC: sync };
  if (sync === 'interval') env.PARLEY_SYNC_INTERVAL_MS = '60000';
  const p = new Parley({ masterd: false, env });
  t.after(() => p.stop());
  await p.start();
  const s = new Parley({ masterd: false, env: { PARLEY_ROLE: 'standby',
    PARLEY_PRIMARY: `unix:${p.sockPath}`, ...sEnv } });
  t.after(() => s.stop());
  await s.start();
  await open(p, 'base-session');
  await caughtUp(p, s);
  return { p, s };
}

// A conversation opened on p: one record.
async function open(p, session) {
  const c = await p.storage({ as: 'parley-workerd' });
  try {
    return await c.convOpen('default', session);
  } finally {
    c.close();
  }
}

// keep() saved p's files; conversation A is written and streamed; both
// machines go down; restore() puts the primary's files back; the primary
// writes other conversations up to the standby's last record number (its
// backlog begins with the standby's connection: the standby's ST_REPL_START
// is checked against its last record); the standby comes back. Its data must be the primary's, then and after
// a new write.
async function diverge(t, p, s, keep, restore) {
  await keep();
  const a = await open(p, 'session-A-only-on-old-primary');
  await caughtUp(p, s);
  const sRole = await role(s);
  assert.match((await dump(s)).convs, new RegExp(a.conv.id));

  await s.killStoraged('SIGKILL');
  await p.killStoraged('SIGKILL');
  restore();
  await p.startStoraged();
  for (let i = 0; (await role(p)).seq < sRole.seq; i++) {
    assert.ok(i < 20, 'the primary writes up to the standby\'s last');
    await open(p, `session-B${i}-after-restart`);
  }
  const pRole = await role(p);
  assert.equal(pRole.term, sRole.term, 'the same term');
  assert.equal(pRole.seq, sRole.seq, 'the same last record number');

  const from = p.logs.storaged.length;
  await s.startStoraged();
  await caughtUp(p, s);
  // A primary that expects no standby (no PARLEY_STORAGED_LISTEN, no
  // PARLEY_SYNC=replica) chains no record until one connects: its
  // history is then unknown, which refuses the resume as surely.
  await p.waitLog('storaged',
    /after a snapshot: (its records are not ours|our records since the last checkpoint have no digest)/, { from });
  let [dp, ds] = [await dump(p), await dump(s)];
  assert.doesNotMatch(dp.convs, new RegExp(a.conv.id));
  assert.doesNotMatch(ds.convs, new RegExp(a.conv.id),
    'no conversation survives on the standby alone');
  assert.deepEqual(ds, dp, 'the standby holds the primary\'s data');

  // The stream goes on from there.
  const c = await open(p, 'session-C-after-the-snapshot');
  await caughtUp(p, s);
  [dp, ds] = [await dump(p), await dump(s)];
  assert.match(ds.convs, new RegExp(c.conv.id));
  assert.deepEqual(ds, dp);
}

test('a primary restored from an older backup: the standby takes a snapshot',
  { timeout: 90000 }, async (t) => {
    const { p, s } = await pair(t, 'full');
    const bk = path.join(p.tmp, 'backup.mdb');
    await diverge(t, p, s, async () => {
      const b = await p.ctl(['backup', bk]);
      assert.equal(b.code, 0, b.stderr);
    }, () => {
      restoreBackup(p, bk);
    });
  });

test('PARLEY_SYNC=interval, the primary\'s unsynced records lost: a snapshot',
  { timeout: 90000 }, async (t) => {
    const { p, s } = await pair(t, 'interval');
    const disk = path.join(p.tmp, 'disk-at-last-sync');
    const files = ['data.mdb', 'wal.log'];
    await diverge(t, p, s, async () => {
      fs.mkdirSync(disk);
      for (const f of files)
        fs.copyFileSync(path.join(p.dataDir, f), path.join(disk, f));
    }, () => {
      for (const f of files)
        fs.copyFileSync(path.join(disk, f), path.join(p.dataDir, f));
    });
  });

// A standby the primary checked once, still running when that primary comes
// back restored from an older backup: the primary answers its ST_REPL_START
// with a snapshot (the standby's records are not its own). Until that
// snapshot is in, the standby's data is not the primary's: it must answer
// no read (unavailable, as before any check), not go on exporting the
// conversation only it has. The snapshot is kept from landing (a directory
// where its file goes, as a full disk would) so the window stays open.
test('a checked standby told to take a snapshot answers no read until it is in',
  { timeout: 90000 }, async (t) => {
    const { p, s } = await pair(t, 'full');
    const bk = path.join(p.tmp, 'backup.mdb');
    const b = await p.ctl(['backup', bk]);
    assert.equal(b.code, 0, b.stderr);
    const a = await open(p, 'session-A-only-on-old-primary');
    await caughtUp(p, s);
    assert.match((await dump(s)).convs, new RegExp(a.conv.id));

    const part = path.join(s.dataDir, 'snapshot.mdb.part');
    fs.mkdirSync(part);
    await p.killStoraged('SIGKILL');
    restoreBackup(p, bk);
    const from = p.logs.storaged.length;
    const sfrom = s.logs.storaged.length;
    // The standby asks again each time its snapshot fails to land: the
    // spacing of one peer's snapshots (30 s) lowered.
    p.opts.env = { ...p.opts.env, PARLEY_TEST_SNAP_SPACING_MS: '500' };
    await p.startStoraged();
    await waitFor(() => /streams from record \d+ after a snapshot/.test(
      p.logs.storaged.slice(from)), 15000, 'the primary sends a snapshot');
    // The standby has the primary's answer (it says so), not only the primary sent it.
    await waitFor(() => /the primary sends a snapshot: reads are unavailable/.test(
      s.logs.storaged.slice(sfrom)), 15000, 'the standby told of the snapshot');

    const r = await s.ctl(['export', '--rows', 'conversations']);
    assert.doesNotMatch(r.stdout, new RegExp(a.conv.id),
      'the standby does not export what the primary does not hold');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /not checked against the primary/);
    assert.equal((await role(s)).linked, false, 'not linked while the snapshot is to come');

    // The snapshot lands: the primary's data, reads answered again.
    fs.rmdirSync(part);
    await caughtUp(p, s);
    const [dp, ds] = [await dump(p), await dump(s)];
    assert.doesNotMatch(ds.convs, new RegExp(a.conv.id));
    assert.deepEqual(ds, dp);
  });

// A snapshot that arrives whole while the standby runs a backup (parleyctl
// backup, whose copy reads the environment the snapshot replaces; its reply
// held by the test build's hook): the standby keeps the snapshot and swaps
// it in once the backup is done, and its loop goes on meanwhile. Before,
// the loop waited for the rest of the backup: no parleyctl role, ping or
// acknowledgement was answered until then.
test('a snapshot that lands while the standby\'s backup runs waits for it off the loop',
  { timeout: 90000 }, async (t) => {
    const { p, s } = await pair(t, 'full', { PARLEY_TEST_BACKUP_REPLY_MS: '15000' });
    const bk = path.join(p.tmp, 'backup.mdb');
    const b = await p.ctl(['backup', bk]);
    assert.equal(b.code, 0, b.stderr);
    const a = await open(p, 'session-A-only-on-old-primary');
    await caughtUp(p, s);

    const sfrom = s.logs.storaged.length;
    let backedUp = false;
    const sb = s.ctl(['backup', path.join(s.tmp, 'standby-backup.mdb')])
      .then((r) => { backedUp = true; return r; });
    await waitFor(() => /test hook: backup copied, its reply held/.test(
      s.logs.storaged.slice(sfrom)), 15000, 'the standby\'s backup runs');

    // The primary back from its older backup: the standby needs a snapshot.
    await p.killStoraged('SIGKILL');
    restoreBackup(p, bk);
    await p.startStoraged();
    await waitFor(() => /the snapshot \(\d+ bytes\) waits for the backup under way/.test(
      s.logs.storaged.slice(sfrom)), 15000, 'the standby holds the snapshot');
    const r = await role(s);
    assert.equal(backedUp, false, 'the standby answered while its backup ran');
    assert.equal(r.linked, false, 'not linked while the snapshot waits');

    const done = await sb;
    assert.equal(done.code, 0, done.stderr);
    await caughtUp(p, s);
    await s.waitLog('storaged', /took a snapshot of \d+ bytes/, { from: sfrom });
    const [dp, ds] = [await dump(p), await dump(s)];
    assert.doesNotMatch(ds.convs, new RegExp(a.conv.id));
    assert.deepEqual(ds, dp);
  });
