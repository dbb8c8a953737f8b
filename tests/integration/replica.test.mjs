// The hot standby (issue 25, storaged/STORAGE.md "Replication"): two
// storaged on one machine, the standby following the primary's
// write-ahead log over its Unix socket (PARLEY_PRIMARY=unix:...).
//
// - the standby gets every write, a late one through a snapshot, and
//   refuses writes ("not primary");
// - with PARLEY_SYNC=replica under write load (every acknowledgement
//   recorded by the client, lib/crashload.mjs), kill -9 of the primary,
//   `parleyctl promote` of the standby: every acknowledged write is in it;
//   the old primary restarted as its standby gets a snapshot and then
//   holds the same data;
// - the standby away: degrade logs once and goes on alone, then is in sync
//   again once the standby is back; block holds the reply until it is;
// - a standby promoted by hand fences its old primary when that comes
//   back as a primary (ST_REPL_NEWER), over a Unix socket and over TLS;
//   with PARLEY_SYNC=replica, before it acknowledges anything (a primary
//   waits 3 s for its standby after a start, then goes on alone);
// - a promoted standby restarted as the standby of its old primary, back
//   as a primary of an older term: the old primary refuses its stream and
//   is fenced, the standby keeps its term's writes (no snapshot);
// - the same stream over mutual TLS (PARLEY_PRIMARY=tls://...).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { Parley, startParley, waitFor, within } from './lib/harness.mjs';
import { checkAgainstExport, startLoad } from './lib/crashload.mjs';
import { caughtUp, dump, role, sameData, turnsEnded } from './lib/standby.mjs';

const WAIT_MS = 15000;

// A storaged alone, as the standby of primary (a Parley), with env merged.
async function startStandby(t, primary, env = {}) {
  const s = new Parley({ masterd: false, env: { PARLEY_ROLE: 'standby', PARLEY_PRIMARY: `unix:${primary.sockPath}`, ...env } });
  t.after(() => s.stop());
  await s.start();
  return s;
}

const LOAD = { mock: { chunks: 4, delayMs: 1 }, workers: 1 };

describe('the hot standby', { concurrency: true }, () => {
  test('a standby started late gets a snapshot, then every write; it answers reads and refuses writes', { timeout: 60000 }, async (t) => {
    const p = await startParley(t, { ...LOAD, env: { RATE_LIMIT_MAX_REQUESTS: '0', PARLEY_SYNC: 'replica', PARLEY_WAL_MB: '1' } });
    // Writes before the standby exists: it can only have them by a snapshot.
    let load = await startLoad(p, { stream: 1, json: 1, ws: 1, admin: 1 });
    await load.acks.more(20, WAIT_MS, '20 writes acknowledged with no standby');
    await load.stop();
    const s = await startStandby(t, p);
    await caughtUp(p, s);
    await s.waitLog('storaged', /replication: took a snapshot of \d+ bytes/);
    // Then writes stream as they are made.
    load = await startLoad(p, { stream: 1, json: 1, ws: 1, admin: 1 });
    await load.acks.more(30, WAIT_MS, '30 more writes acknowledged with the standby');
    await load.stop();
    await caughtUp(p, s);
    assert.equal((s.logs.storaged.match(/took a snapshot/g) || []).length, 1, 'one snapshot, then records');
    await sameData(p, s);
    const [rp, rs] = [await role(p), await role(s)];
    assert.deepEqual([rp.role, rp.inSync, rs.role, rs.term], ['primary', true, 'standby', rp.term]);
    // /metrics says the replication series' types (they were untyped).
    const m = (await p.admin('/metrics')).text;
    for (const [n, ty] of [['parley_replica_connected', 'gauge'], ['parley_replica_in_sync', 'gauge'], ['parley_replica_out_of_sync_total', 'counter']]) {
      assert.match(m, new RegExp(`^# HELP ${n} .+\n# TYPE ${n} ${ty}$`, 'm'));
    }
    assert.doesNotMatch(m, /untyped/);
    assert.match(m, /^parley_replica_in_sync 1$/m);
    assert.match(m, /^parley_replica_snapshots_total\{outcome="begun"\} 1$/m);
    assert.match(m, /^parley_replica_snapshots_total\{outcome="refused"\} 0$/m);

    // A standby refuses writes and answers reads.
    const c = await s.storage({ as: 'parley-workerd' });
    t.after(() => c.close());
    await assert.rejects(c.convOpen('default', 'sess-standby'), (e) => e.code === 8 && e.storageMessage === 'not primary');
    assert.ok((await c.convList(10)).convs.length > 0);
    const add = await s.ctl(['user', 'add', 'x@example.com', '--role', 'owner'], { input: 'a-long-enough-password\n' });
    assert.equal(add.code, 1);
    assert.match(add.stderr, /not primary/);
  });

  test('PARLEY_SYNC=replica: kill -9 of the primary under write load, promote the standby: every acknowledged write is in it; the old primary comes back as a standby', { timeout: 90000 }, async (t) => {
    const p = await startParley(t, { ...LOAD, env: { RATE_LIMIT_MAX_REQUESTS: '0', PARLEY_SYNC: 'replica' } });
    const s = await startStandby(t, p, { RATE_LIMIT_MAX_REQUESTS: '0' });
    const load = await startLoad(p);
    t.after(() => load.stop());
    await load.acks.more(60, WAIT_MS, '60 writes acknowledged');
    await p.killStoraged('SIGKILL');
    await load.stop();

    const r = await s.ctl(['promote']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'promoted: primary with term 2\n');
    assert.equal((await s.ctl(['promote'])).stderr, 'parleyctl: promote: storaged: already primary (unavailable)\n');
    // The new primary's own front: its export against every acknowledgement.
    const logAt = s.logs.masterd.length;
    await s.startMasterd();
    await s.waitServing(logAt, WAIT_MS);
    const { problems, found } = await checkAgainstExport(s, load.acks);
    t.diagnostic(`acknowledged ${load.acks.total} writes (${load.acks.turns.length} turns); found ${found.turns} turns, ${found.messages} messages`);
    assert.deepEqual(problems.slice(0, 20), []);

    // The old primary, back as the new one's standby: a snapshot (its
    // term is older), then the same data; its unacknowledged tail is gone.
    process.kill(p.masterPid, 'SIGTERM');
    await within(p.procs.masterd.exit, 15000);
    const from = p.logs.storaged.length;
    p.opts.env = { ...p.opts.env, PARLEY_ROLE: 'standby', PARLEY_PRIMARY: `unix:${s.sockPath}` };
    await p.startStoraged();
    await turnsEnded(s);
    await caughtUp(s, p, 'the old primary caught up');
    await p.waitLog('storaged', /took a snapshot of \d+ bytes: term 2/, { from });
    await sameData(s, p);
  });

  // A fixed pair: the primary's unit restarts it with its old settings
  // (Restart=on-failure) after the standby was promoted by hand, and two
  // primaries each acknowledged writes the other never saw. The promoted
  // one now dials the primary it followed and tells it to step down
  // (ST_REPL_NEWER): it comes back fenced, names nobody's writes as its
  // own, and follows the new primary once started as its standby.
  test('a standby promoted by hand: its old primary, restarted as a primary, is fenced', { timeout: 60000 }, async (t) => {
    const p = await startParley(t, { masterd: false });
    const s = await startStandby(t, p);
    const c = await p.storage({ as: 'parley-workerd' });
    await c.convOpen('default', 'before-the-crash');
    c.close();
    await caughtUp(p, s);
    await p.killStoraged('SIGKILL');
    const r = await s.ctl(['promote']);
    assert.equal(r.stdout, 'promoted: primary with term 2\n', r.stderr);

    const from = p.logs.storaged.length;
    await p.startStoraged(); // PARLEY_ROLE unset: a primary, as before the crash
    await waitFor(async () => (await role(p)).role === 'fenced', WAIT_MS, 'the old primary fenced');
    await p.waitLog('storaged', /our standby was promoted \(term 2\) while this primary \(term 1\) was away: this storaged is fenced/, { from });
    await waitFor(() => /the primary we followed, was back as a primary: it is fenced now/.test(s.logs.storaged), WAIT_MS, 'the new primary says so');
    const old = await p.storage({ as: 'parley-workerd' });
    t.after(() => old.close());
    await assert.rejects(old.convOpen('default', 'after-the-crash'), (e) => e.code === 8 && e.storageMessage === 'not primary');
    const now = await s.storage({ as: 'parley-workerd' });
    t.after(() => now.close());
    await now.convOpen('default', 'after-the-crash');
    // Still fenced a watch later, and once started as the new primary's standby it follows.
    await new Promise((res) => setTimeout(res, 1500));
    assert.equal((await role(p)).role, 'fenced');
    old.close();
    await p.killStoraged('SIGTERM');
    p.opts.env = { ...p.opts.env, PARLEY_ROLE: 'standby', PARLEY_PRIMARY: `unix:${s.sockPath}` };
    await p.startStoraged();
    await caughtUp(s, p, 'the old primary caught up');
    assert.deepEqual(await dump(p), await dump(s));
  });

  // Both hosts of a fixed pair come back with their settings after a hand
  // promotion (a power cut): the old primary as a primary in term 1, the
  // promoted one as its standby (PARLEY_ROLE=standby, PARLEY_PRIMARY of
  // the old one) with data of term 2. The term was compared for equality
  // only: the standby took the old primary's snapshot, and the writes
  // acknowledged in term 2 were gone from both (until 2026-12-06). Now the
  // old primary refuses that stream and is fenced; the standby keeps its
  // data, and once promoted again the old primary follows it.
  test('a standby promoted by hand, restarted as the standby of its old primary (of an older term), keeps its term\'s writes; the old primary is fenced', { timeout: 60000 }, async (t) => {
    const p = await startParley(t, { masterd: false });
    const s = await startStandby(t, p);
    let c = await p.storage({ as: 'parley-workerd' });
    await c.convOpen('default', 'before-the-crash');
    c.close();
    await caughtUp(p, s);
    await p.killStoraged('SIGKILL');
    const r = await s.ctl(['promote']);
    assert.equal(r.stdout, 'promoted: primary with term 2\n', r.stderr);
    c = await s.storage({ as: 'parley-workerd' });
    await c.convOpen('default', 'acked-in-term-2');
    c.close();

    await s.killStoraged('SIGKILL');
    const fromP = p.logs.storaged.length;
    await p.startStoraged(); // PARLEY_ROLE unset: a primary in term 1
    const fromS = s.logs.storaged.length;
    await s.startStoraged(); // PARLEY_ROLE=standby of p, its data of term 2
    await waitFor(async () => (await role(p)).role === 'fenced', WAIT_MS, 'the old primary fenced');
    await waitFor(() => /refused the stream \(this primary's term is older than the standby's: it is fenced\)/.test(s.logs.storaged.slice(fromS)),
      WAIT_MS, 'the standby told why');
    await p.waitLog('storaged', /a standby holds data of term 2, newer than this primary's \(term 1\): it was promoted while this primary was away; two primaries: this storaged is fenced/, { from: fromP });
    const old = await p.storage({ as: 'parley-workerd' });
    t.after(() => old.close());
    await assert.rejects(old.convOpen('default', 'after-the-power-cut'), (e) => e.code === 8 && e.storageMessage === 'not primary');
    old.close();
    // A while later: no snapshot taken, its term and data its own.
    await new Promise((res) => setTimeout(res, 1500));
    assert.doesNotMatch(s.logs.storaged.slice(fromS), /receiving a snapshot|took a snapshot/);
    assert.deepEqual([(await role(s)).role, (await role(s)).term], ['standby', 2]);

    // What the operator does: the promoted one is the primary; the old one its standby.
    assert.equal((await s.ctl(['promote'])).stdout, 'promoted: primary with term 3\n');
    await p.killStoraged('SIGTERM');
    p.opts.env = { ...p.opts.env, PARLEY_ROLE: 'standby', PARLEY_PRIMARY: `unix:${s.sockPath}` };
    await p.startStoraged();
    await caughtUp(s, p, 'the old primary caught up');
    const now = await s.storage({ as: 'parley-workerd' });
    t.after(() => now.close());
    const ids = JSON.stringify((await now.convList(100)).convs);
    assert.match(ids, /acked-in-term-2/);
    assert.match(ids, /before-the-crash/);
    assert.deepEqual(await dump(p), await dump(s));
  });

  test('PARLEY_SYNC=replica: the old primary, restarted as a primary after a hand promotion, acknowledges no write before it is fenced', { timeout: 60000 }, async (t) => {
    const p = await startParley(t, { masterd: false, env: { PARLEY_SYNC: 'replica' } });
    const s = await startStandby(t, p, { PARLEY_SYNC: 'replica' });
    await caughtUp(p, s);
    await p.killStoraged('SIGKILL');
    const r = await s.ctl(['promote']);
    assert.equal(r.stdout, 'promoted: primary with term 2\n', r.stderr);

    const from = p.logs.storaged.length;
    await p.startStoraged(); // a primary again, its standby now the primary
    const old = await p.storage({ as: 'parley-workerd' });
    t.after(() => old.close());
    // Without the start's wait it went alone at once: this was acknowledged, then lost.
    await assert.rejects(old.convOpen('default', 'just-after-the-start', { timeout: 10000 }),
      (e) => e.code === 8 && e.storageMessage === 'not primary');
    // storaged logs the fence before it answers, but its log comes through a
    // pipe the test may read after the answer's socket: wait for the line.
    await waitFor(() => /this storaged is fenced/.test(p.logs.storaged.slice(from)), WAIT_MS,
      `the fence logged\n${p.tail('storaged')}`);
    const said = p.logs.storaged.slice(from);
    assert.match(said, /write replies wait for it a while after a start/);
    assert.doesNotMatch(said, /acknowledging writes without it/);
    assert.equal((await role(p)).role, 'fenced');
  });

  test('a fixed pair\'s primary started with PARLEY_SYNC=replica and no standby waits a while, then acknowledges alone', { timeout: 30000 }, async (t) => {
    const p = await startParley(t, { masterd: false, env: { PARLEY_SYNC: 'replica' } });
    const c = await p.storage({ as: 'parley-workerd' });
    t.after(() => c.close());
    const r = await c.convOpen('default', 'alone-after-the-wait', { timeout: 10000 });
    assert.match(r.conv.id, /^[0-9a-f]{32}$/);
    await p.waitLog('storaged', /standby away \(none connected yet\); write replies wait for it a while after a start/);
    await p.waitLog('storaged', /acknowledging writes without it/);
  });

  test('the standby away: degrade acknowledges alone once (logged) and is in sync again when it is back; block waits for it', { timeout: 60000 }, async (t) => {
    const opts = (wait) => ({ masterd: false, env: { PARLEY_SYNC: 'replica', PARLEY_REPLICA_WAIT: wait } });
    const [pd, pb] = [new Parley(opts('degrade')), new Parley(opts('block'))];
    for (const p of [pd, pb]) {
      t.after(() => p.stop());
      await p.start();
    }
    const [sd, sb] = [await startStandby(t, pd), await startStandby(t, pb)];
    await caughtUp(pd, sd);
    await caughtUp(pb, sb);
    const [cd, cb] = [await pd.storage({ as: 'parley-workerd' }), await pb.storage({ as: 'parley-workerd' })];
    t.after(() => { cd.close(); cb.close(); });
    const conv = await cd.convOpen('default', 'away-d');
    const convb = await cb.convOpen('default', 'away-b');

    // degrade: the standby killed, the next write is acknowledged without it.
    let from = pd.logs.storaged.length;
    await sd.killStoraged('SIGKILL');
    await cd.msgAppend(conv.conv.id, 'user', 'while the standby is away', 'complete', 0, 0, { timeout: 5000 });
    const said = () => pd.logs.storaged.slice(from);
    assert.match(said(), /standby away \(disconnected\)/);
    assert.equal((said().match(/acknowledging writes without it/g) || []).length, 1);
    assert.equal((await role(pd)).alone, true);
    // Back: it resumes from the backlog and is in sync again.
    from = pd.logs.storaged.length;
    await sd.startStoraged();
    await waitFor(async () => (await role(pd)).inSync, WAIT_MS, 'the standby in sync again');
    assert.match(said(), /streams from record \d+\n/, 'resumed, no snapshot');
    await cd.msgAppend(conv.conv.id, 'user', 'with the standby back');
    await caughtUp(pd, sd);
    await sameData(pd, sd);

    // block: the reply waits for the standby, and leaves once it is back.
    await sb.killStoraged('SIGKILL');
    const pending = cb.msgAppend(convb.conv.id, 'user', 'waits for the standby', 'complete', 0, 0, { timeout: 20000 });
    assert.equal(await within(pending.then(() => 'answered'), 1000), null, 'no reply while the standby is away');
    await sb.startStoraged();
    const r = await within(pending, WAIT_MS);
    assert.ok(r && /^[0-9a-f]{32}$/.test(r.id), 'answered once the standby has it');
    const { messages } = await cb.convGet(convb.conv.id);
    assert.equal(messages.find((m) => m.id === r.id)?.content, 'waits for the standby');
    await pb.waitLog('storaged', /write replies wait for it \(PARLEY_REPLICA_WAIT=block\)/);
    await caughtUp(pb, sb);
    await sameData(pb, sb);
  });

  test('a primary that expected no standby (PARLEY_SYNC=full, no listener) streams to one that comes: a snapshot, then the records', { timeout: 60000 }, async (t) => {
    const p = await startParley(t, { ...LOAD, env: { RATE_LIMIT_MAX_REQUESTS: '0' } });
    let load = await startLoad(p, { stream: 1, admin: 1 });
    await load.acks.more(10, WAIT_MS, '10 writes with no standby');
    await load.stop();
    const s = await startStandby(t, p, { RATE_LIMIT_MAX_REQUESTS: '0' });
    await caughtUp(p, s);
    await s.waitLog('storaged', /replication: took a snapshot of \d+ bytes/);
    load = await startLoad(p, { stream: 1, admin: 1 });
    await load.acks.more(10, WAIT_MS, '10 writes streamed to the standby');
    await load.stop();
    await caughtUp(p, s);
    await sameData(p, s);
  });

  test('over mutual TLS: a standby follows a primary at its tls:// address, with the cluster\'s certificate', { timeout: 60000 }, async (t) => {
    const p = await startParley(t, { ...LOAD, clusterTls: true, env: { RATE_LIMIT_MAX_REQUESTS: '0', PARLEY_SYNC: 'replica' } });
    const { PARLEY_CLUSTER_CA, PARLEY_CLUSTER_CERT, PARLEY_CLUSTER_KEY } = p.cluster.env;
    const s = await startStandby(t, p, { PARLEY_PRIMARY: p.cluster.addr, PARLEY_CLUSTER_CA, PARLEY_CLUSTER_CERT, PARLEY_CLUSTER_KEY });
    await caughtUp(p, s, 'the standby linked over TLS');
    await s.waitLog('storaged', new RegExp(`connected to the primary at ${p.cluster.addr}`));
    const load = await startLoad(p, { stream: 1, json: 1, ws: 1, admin: 1 });
    await load.acks.more(20, WAIT_MS, '20 writes acknowledged by the standby over TLS');
    await load.stop();
    await caughtUp(p, s);
    await sameData(p, s);
    // Promoted by hand, it tells the old primary, back as one, to step down over TLS too.
    await p.killStoraged('SIGKILL');
    assert.equal((await s.ctl(['promote'])).code, 0);
    await p.startStoraged();
    await waitFor(async () => (await role(p)).role === 'fenced', WAIT_MS, 'the old primary fenced over TLS');
  });
});
