// What the replication tests ask of a pair of storaged (replica.test.mjs,
// failover.test.mjs): its role as parleyctl says it, waiting until a
// standby has every record, and whether two hold the same data.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { waitFor } from './harness.mjs';

// `parleyctl role --json` of Parley p: {role, term, seq, linked, acked, ...}.
export async function role(p) {
  const r = await p.ctl(['role', '--json']);
  assert.equal(r.code, 0, `parleyctl role: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

// Until standby has every record of primary on disk, and primary knows it.
export async function caughtUp(primary, standby, what = 'the standby caught up', ms = 15000) {
  await waitFor(async () => {
    const [a, b] = [await role(primary), await role(standby)];
    return a.linked && b.linked && b.seq === a.seq && a.acked === a.seq;
  }, ms, what);
}

// Every conversation, message and widget of p, as parleyctl exports them.
export async function dump(p) {
  const out = {};
  for (const [k, args] of Object.entries({
    convs: ['export', '--rows', 'conversations'],
    msgs: ['export', '--rows', 'messages'],
    widgets: ['widgets', '--json'],
  })) {
    const r = await p.ctl(args);
    assert.equal(r.code, 0, `parleyctl ${args.join(' ')}: ${r.stderr}`);
    out[k] = r.stdout;
  }
  return out;
}

// Until no conversation of p ends with a visitor's message: a promoted
// primary ends the turns it found open TURN_LOST_MS (3 s) after its start
// (storaged/server.c), and those writes would land between two dumps.
export async function turnsEnded(p, ms = 15000) {
  await waitFor(async () => {
    const r = await p.ctl(['export', '--rows', 'messages']);
    assert.equal(r.code, 0, `parleyctl export: ${r.stderr}`);
    const last = new Map();
    for (const line of r.stdout.split('\n').filter(Boolean)) {
      const m = JSON.parse(line);
      last.set(m.conversationId, m.role);
    }
    return last.size > 0 && ![...last.values()].includes('user');
  }, ms, 'the promoted primary ended the turns it found open', 250); // an export a try: not every 20 ms
}

// a and b export the same, and there is something to compare.
export async function sameData(a, b) {
  const [da, db] = [await dump(a), await dump(b)];
  assert.ok(da.msgs.split('\n').length > 1, 'there is something to compare');
  assert.deepEqual(db, da);
}

// p's data directory (its storaged stopped) made a backup's restore, as
// STORAGE.md says: an empty directory, the backup file bk as data.mdb.
export function restoreBackup(p, bk) {
  fs.rmSync(p.dataDir, { recursive: true, force: true });
  fs.mkdirSync(p.dataDir);
  fs.copyFileSync(bk, path.join(p.dataDir, 'data.mdb'));
}
