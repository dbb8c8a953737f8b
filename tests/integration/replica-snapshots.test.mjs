// A primary's snapshots are bounded (storaged/STORAGE.md, "Replication"):
// each copies the whole database, and a peer allowed to stream (a storaged
// certificate, or the Unix socket) asked for one with every ST_REPL_START
// its position could not resume from: connect, ask, close, again, and the
// primary copied its data each time. Now one is sent at a time (another
// asked meanwhile is refused, "ask again later"), a peer (its certificate's
// CN; the Unix socket is one) has its next one a spacing after its last
// ended (30 s; PARLEY_TEST_SNAP_SPACING_MS here), the refusals are logged a
// line per spacing (/metrics counts them all: parley_replica_snapshots_total),
// and a real standby refused at first dials again until it has its snapshot.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { Parley, waitFor } from './lib/harness.mjs';
import { StorageClient, T, rep, req } from './lib/storage.mjs';
import { caughtUp, sameData } from './lib/standby.mjs';

// Long enough that the standby started after the loop, on a loaded machine,
// still comes within it.
const SPACING_MS = 10000;
// The loop's length, well within one spacing, and its tries at most.
const LOOP_MS = 3000;
const LOOP_MAX = 500;

// ST_REPL_START from a standby with no data (a snapshot it must be):
// {granted, snapshot} or {code, message} of the refusal.
async function askSnapshot(c) {
  try {
    const r = rep(T.ST_REPL_START, await c.call(T.ST_REPL_START,
      req(T.ST_REPL_START, { term: 0, last_seq: 0, digest: Buffer.alloc(32), addr: '' })));
    return { granted: true, snapshot: r.snapshot };
  } catch (e) {
    if (e.storageMessage === undefined) throw e;
    return { granted: false, code: e.code, message: e.storageMessage };
  }
}

const count = (s, re) => (s.match(re) || []).length;

test('a peer asking for snapshots in a loop gets one a spacing (its own: another peer has its own), one is sent at a time; a real standby started after catches up', { timeout: 120000 }, async (t) => {
  const p = new Parley({ workers: 1, mock: true, clusterTls: true, env: { PARLEY_TEST_SNAP_SPACING_MS: String(SPACING_MS) } });
  t.after(() => p.stop());
  await p.start();
  // About 12 MB of messages: a snapshot past the standby channel's 4 MiB
  // (REPL_WQ_MAX), so one whose peer reads nothing stays in flight.
  const w = await p.storage({ as: 'parley-workerd' });
  t.after(() => w.close());
  const conv = await w.convOpen('default', 'bulk');
  for (let i = 0; i < 200; i++)
    await w.msgAppend(conv.conv.id, 'user', crypto.randomBytes(45000).toString('base64'));

  // A peer on the Unix socket is granted a snapshot and reads none of it.
  const hold = await p.storage({ name: 'itest-hold', as: 'parley-storaged' });
  t.after(() => hold.close());
  assert.deepEqual(await askSnapshot(hold), { granted: true, snapshot: 1 });
  hold.sock.pause();
  // Another peer (the storaged certificate) meanwhile: refused, and the
  // held one streams on.
  const dir = p.cluster.dir;
  const certs = { ca: fs.readFileSync(path.join(dir, 'ca.pem')), cert: fs.readFileSync(path.join(dir, 'node.pem')), key: fs.readFileSync(path.join(dir, 'node.key')) };
  const other = await StorageClient.connectTls(p.cluster.port, certs, { name: 'itest-tls', as: 'parley-storaged' });
  t.after(() => other.close());
  assert.deepEqual(await askSnapshot(other), { granted: false, code: 5, message: 'a snapshot is being sent already: ask again later' });
  other.close();
  assert.doesNotMatch(p.logs.storaged, /another standby connected|snapshot of \d+ bytes sent/);
  hold.close();
  await waitFor(() => /the standby disconnected/.test(p.logs.storaged), 5000, 'the held snapshot ended');
  // The certificate's peer again, none in flight now: granted (the spacing
  // is a peer's own); it too reads nothing and closes.
  const again = await StorageClient.connectTls(p.cluster.port, certs, { name: 'itest-tls-again', as: 'parley-storaged' });
  t.after(() => again.close());
  assert.deepEqual(await askSnapshot(again), { granted: true, snapshot: 1 });
  again.sock.pause();
  again.close();
  await waitFor(() => count(p.logs.storaged, /the standby disconnected/g) === 2, 5000, 'its snapshot ended');

  // The Unix socket's peer in a loop: connect, ask, close. Every one refused.
  const t0 = Date.now();
  const got = [];
  while (Date.now() - t0 < LOOP_MS && got.length < LOOP_MAX) {
    const c = await p.storage({ name: 'itest-loop', as: 'parley-storaged' });
    got.push(await askSnapshot(c));
    c.close();
  }
  t.diagnostic(`${got.length} snapshots asked in ${Date.now() - t0} ms`);
  assert.ok(got.length >= 10, `${got.length} asked`);
  assert.deepEqual(got.filter((r) => r.granted), [], 'none granted within the spacing');
  for (const r of got)
    assert.deepEqual(r, { granted: false, code: 5, message: `this peer's last snapshot ended less than ${SPACING_MS / 1000} s ago: ask again later` });

  // A real standby now, on the Unix socket within the spacing: refused at
  // first, it dials again until it may have its snapshot, and catches up.
  const s = new Parley({ masterd: false, env: { PARLEY_ROLE: 'standby', PARLEY_PRIMARY: `unix:${p.sockPath}` } });
  t.after(() => s.stop());
  await s.start();
  await caughtUp(p, s, 'the standby caught up', SPACING_MS + 20000);
  await sameData(p, s);
  assert.equal(count(s.logs.storaged, /refused the stream \(this peer's last snapshot ended less than/g), 1, 'the standby said the refusal once');
  assert.equal(count(s.logs.storaged, /took a snapshot of \d+ bytes/g), 1);

  // What the primary did: three snapshots begun (the held one, the
  // certificate's, the standby's), one sent whole; the refusals in a line
  // or two, not one each.
  const said = p.logs.storaged;
  assert.equal(count(said, /streams from record \d+ after a snapshot/g), 3, said.slice(-3000));
  assert.equal(count(said, /snapshot of \d+ bytes sent/g), 1);
  const lines = count(said, /replication: a snapshot for .+ refused/g);
  for (const l of said.split('\n').filter((x) => /snapshot/.test(x))) t.diagnostic(l);
  assert.ok(lines >= 1 && lines <= 3, `${lines} refusal lines for ${got.length + 2} refusals`);
  assert.match(said, /a snapshot for certificate CN=node refused \(a snapshot is being sent already: ask again later\)/);
  const m = (await p.admin('/metrics')).text;
  assert.match(m, /^parley_replica_snapshots_total\{outcome="begun"\} 3$/m);
  const refusedAt = Number(m.match(/^parley_replica_snapshots_total\{outcome="refused"\} (\d+)$/m)?.[1]);
  assert.ok(refusedAt >= got.length + 2, `${refusedAt} refusals counted, ${got.length + 2} at least`);
});
