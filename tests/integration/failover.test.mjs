// Failover end to end (issue 25; storaged/STORAGE.md "Failover"): two
// storaged with PARLEY_ROLE=auto and PARLEY_SYNC=replica, a real etcd
// (Debian's etcd-server, lib/etcd.mjs) on loopback deciding which is
// primary, the standby following over Unix sockets. TTL 2 s throughout.
//  - kill -9 of the primary under write load (workers on it, every
//    acknowledgement recorded, lib/crashload.mjs): the standby is primary
//    within TTL + a poll (printed), every acknowledged write is in its
//    export; the old primary restarted follows it, gets a snapshot (its
//    stale tail is gone) and ends with the same data;
//  - the primary cut off from etcd and from its standby (a TCP proxy to
//    etcd, a Unix-socket proxy for the stream, both cut): it stops
//    acknowledging, fenced at F before the other acquires at A (F < A by
//    the wall-clock times both log), acknowledged writes lost: 0; back,
//    it follows the new primary with the same data;
//  - etcd away for 1.5 s: the primary fenced wins its lease back in a
//    new term, and its standby has that term's snapshot at once (the
//    snapshots' spacing once held it out of sync for 30 s); told of the
//    term by etcd, the standby keeps its link (it dialled again, cutting
//    a snapshot under way);
//  - a clean SIGTERM of the primary hands over within a poll, well under
//    the TTL (printed); etcd's keys name who is who; a standby refuses
//    writes and parleyctl promote; the new primary's knowledge search
//    finds what was indexed on the old one;
//  - a standby that fell out of sync (the primary recorded sync = "" and
//    acknowledged alone) never campaigns, even with no primary;
//  - nor does one named in sync whose data directory is empty since (both
//    hosts down together, then its disk replaced): sync names the data
//    too (term, record), and the last primary campaigns with its own;
//    with block (sync keeps naming a standby that is away) the same, and
//    a standby back with another data directory while the primary serves
//    gets its snapshot only once etcd names none, and is named in sync
//    only once it caught up again;
//  - nor does the last primary restored from a backup older than the data
//    its standby in sync was named with: the standby does, and keeps
//    every acknowledged write;
//  - auto without PARLEY_ETCD or PARLEY_ADVERTISE: masterd and storaged
//    refuse to start, naming what is missing;
//  - etcd's keys lost (a new etcd, its revision 1): the primary restarted
//    on it is primary at its first campaign, in a term above its data's.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';

import { checkAgainstExport, startLoad } from './lib/crashload.mjs';
import { Etcd, Proxy } from './lib/etcd.mjs';
import { Parley, refused, sleep, waitFor, within } from './lib/harness.mjs';
import { stream, waitStored } from './lib/chat.mjs';
import { receiver } from './lib/receiver.mjs';
import { caughtUp, dump, restoreBackup, role } from './lib/standby.mjs';
import { T } from './lib/storage.mjs';

const TTL_MS = 2000;
const POLL_MS = 500;		// lease_poll_ms(2)
// etcd removes an expired lease's keys on a sweep every 500 ms; the rest
// is scheduling on a loaded 2-core machine (four tests side by side).
const SLACK_MS = 2000;
const WAIT_MS = 15000;

let etcd;
before(async () => { etcd = await Etcd.start(); });
// etcd's own warnings of slow work (a slow disk, a late apply) are printed:
// a lease that could not be renewed in time under load left nothing else.
after(async () => {
  const slow = (etcd?.log ?? '').split('\n').filter((l) => /took too long|slow|timed out/i.test(l));
  if (slow.length > 0) console.log(`etcd's slow work (${slow.length} lines, the last 5):\n${slow.slice(-5).join('\n')}`);
  await etcd?.stop();
});

// A storaged in role auto (alone: masterd once it is primary), named in
// etcd by its own socket; with proxied, by a socket of a proxy in front
// of it (p.proxy, which a test cuts: its standby's only way to it).
async function startAuto(t, cluster, { etcdUrl = etcd.url, proxied = false, env = {}, load = false } = {}) {
  const p = new Parley({
    masterd: false,
    ...(load ? { mock: { chunks: 4, delayMs: 1 }, workers: 1 } : {}),
    env: {
      PARLEY_ROLE: 'auto', PARLEY_SYNC: 'replica', PARLEY_ETCD: etcdUrl,
      PARLEY_LEASE_TTL_S: String(TTL_MS / 1000), PARLEY_CLUSTER_NAME: cluster,
      RATE_LIMIT_MAX_REQUESTS: '0', ...env,
    },
  });
  t.after(() => p.stop());
  if (proxied) {
    const listen = path.join(p.tmp, 'via-proxy.sock');
    p.proxy = await Proxy.start(p.sockPath, { listen });
    t.after(() => p.proxy.close());
    p.advertise = `unix:${listen}`;
  } else {
    p.advertise = `unix:${p.sockPath}`;
  }
  p.opts.env.PARLEY_ADVERTISE = p.advertise;
  await p.start();
  return p;
}

// The first match of re in p's storaged log from offset from, within ms.
async function logged(p, re, what, { from = 0, ms = WAIT_MS } = {}) {
  let m = null;
  await waitFor(() => (m = p.logs.storaged.slice(from).match(re)) !== null, ms, () => `${what}\n${p.tail('storaged')}`);
  return m;
}

// p holds the lease: its term and the wall ms it logged. The lease's
// thread logs it before the loop takes the role, so also the loop's
// promotion: from then on p takes writes.
async function primaryOf(p, cluster, opts) {
  const m = await logged(p, new RegExp(`lease: primary of ${cluster} in term (\\d+) \\(at wall ms (\\d+)\\)`), `${cluster}: primary`, opts);
  await logged(p, new RegExp(`replication: promoted to primary: term ${m[1]},`), `${cluster}: promoted in term ${m[1]}`, opts);
  return { term: Number(m[1]), at: Number(m[2]) };
}

// A conversation opened on p (primary) for session: an acknowledged write.
async function acked(p, session) {
  const c = await p.storage({ as: 'parley-workerd' });
  try {
    await c.convOpen('default', session, { timeout: 10000 });
  } finally {
    c.close();
  }
}

// a primary, b its standby in sync (named so in etcd).
async function pair(a, b, cluster) {
  await logged(b, new RegExp(`lease: following ${a.advertise}, term`), `${cluster}: b follows a`);
  await logged(a, new RegExp(`lease: ${cluster}'s standby in sync: ${b.advertise}`), `${cluster}: a records b in sync`);
}

// The workers of p (now primary) up, and their write load started.
async function loadOn(t, p) {
  const from = p.logs.masterd.length;
  await p.startMasterd();
  await p.waitServing(from, WAIT_MS);
  const load = await startLoad(p);
  t.after(() => load.stop());
  return load;
}

// The new primary's own front, its export against every acknowledgement.
async function noneLost(t, p, acks) {
  const from = p.logs.masterd.length;
  await p.startMasterd();
  await p.waitServing(from, WAIT_MS);
  const { problems, found } = await checkAgainstExport(p, acks);
  t.diagnostic(`acknowledged ${acks.total} writes (${acks.turns.length} turns); found ${found.turns} turns, ${found.messages} messages; acknowledged writes lost: ${problems.length}`);
  assert.deepEqual(problems.slice(0, 20), []);
}

// The old primary p (its masterd stopped), restarted: it follows q, gets
// a snapshot in q's term and ends with q's data.
async function rejoins(p, q, term, from) {
  await logged(p, new RegExp(`lease: following ${q.advertise}, term ${term}`), 'the old primary follows the new one', { from });
  await logged(p, new RegExp(`took a snapshot of \\d+ bytes: term ${term}`), 'the old primary took a snapshot', { from });
  await sameSettled(q, p);
}

// p's data is q's. q ends the turns its old primary left open
// TURN_LOST_MS after its promotion (interrupted, replicated to p), which
// can come at any moment here, between any two reads: p is caught up and
// read between two reads of q that are the same (nothing changed on q
// meanwhile), and compared with them; read again while q changes.
async function sameSettled(q, p) {
  const deadline = Date.now() + 15000;
  for (;;) {
    const before = await dump(q);
    await caughtUp(q, p, 'the old primary caught up');
    const theirs = await dump(p);
    const after = await dump(q);
    if (isDeepStrictEqual(before, after) || Date.now() > deadline) {
      assert.ok(before.msgs.split('\n').length > 1, 'there is something to compare');
      assert.deepEqual(theirs, before, 'the old primary has the new one\'s data');
      return;
    }
  }
}

// The address etcd's sync value names ({"addr", "term", "seq"}, or an
// older storaged's address alone); "" none.
function syncAddr(v) {
  return v?.startsWith('{') ? JSON.parse(v).addr : v;
}

// b, named in sync, restarted on an empty data directory: it says why it
// does not campaign, and polls later nobody is primary.
async function wipedWaits(b, a, cluster) {
  const from = b.logs.storaged.length;
  await b.startStoraged();
  await logged(b, new RegExp(`lease: not campaigning for ${cluster}: the standby in sync is "${b.advertise}" \\(term \\d+, record \\d+\\), the last primary ${a.advertise} \\(term \\d+\\); this data is of term 0, record 0: this data is new \\(no term\\)`),
    'b says why it waits', { from, ms: TTL_MS + POLL_MS + SLACK_MS + WAIT_MS });
  await sleep(3 * POLL_MS);
  assert.equal((await etcd.get(`/${cluster}/`))[`/${cluster}/primary`], undefined);
  assert.doesNotMatch(b.logs.storaged.slice(from), /lease: primary of/);
}

// a, the last primary, back: primary again with its data; b its standby
// by a snapshot, the conversation on both.
async function lastPrimaryKeeps(t, a, b, cluster) {
  const fromB = b.logs.storaged.length;
  const fromA = a.logs.storaged.length;
  await a.startStoraged();
  const { term } = await primaryOf(a, cluster, { from: fromA });
  await logged(b, new RegExp(`took a snapshot of \\d+ bytes: term ${term}`), 'b took a\'s snapshot', { from: fromB });
  await caughtUp(a, b);
  await bothHold(t, a, b, ['acked-with-standby']);
}

// primary and standby each hold the conversations of sessions.
async function bothHold(t, primary, standby, sessions) {
  for (const p of [primary, standby]) {
    const c = await p.storage({ as: 'parley-workerd' });
    const l = await c.convList(100);
    c.close();
    t.diagnostic(`${p === primary ? 'primary' : 'standby'}: ${l.total} conversations`);
    for (const session of sessions)
      assert.match(JSON.stringify(l.convs), new RegExp(session));
  }
}

async function stopMasterd(p) {
  process.kill(p.masterPid, 'SIGTERM');
  await within(p.procs.masterd.exit, 15000);
}

describe('failover: PARLEY_ROLE=auto with an etcd lease', { concurrency: true }, () => {
  test('kill -9 of the primary under write load: the standby is primary within TTL + a poll with every acknowledged write; the old primary follows it', { timeout: 90000 }, async (t) => {
    const a = await startAuto(t, 'kill', { load: true });
    const t1 = (await primaryOf(a, 'kill')).term;
    const b = await startAuto(t, 'kill', { load: true });
    await pair(a, b, 'kill');
    const load = await loadOn(t, a);
    await load.acks.more(40, WAIT_MS, '40 writes acknowledged');

    const t0 = Date.now();
    await a.killStoraged('SIGKILL');
    const { term: t2, at } = await primaryOf(b, 'kill', { ms: TTL_MS + POLL_MS + SLACK_MS + WAIT_MS });
    t.diagnostic(`kill -9 of the primary → the standby primary in ${at - t0} ms (TTL ${TTL_MS} ms, poll ${POLL_MS} ms)`);
    assert.ok(t2 > t1, `term ${t2} after ${t1}`);
    assert.ok(at - t0 <= TTL_MS + POLL_MS + SLACK_MS, `${at - t0} ms`);
    await load.stop();
    await noneLost(t, b, load.acks);

    await stopMasterd(a);
    const from = a.logs.storaged.length;
    await a.startStoraged();
    await rejoins(a, b, t2, from);
    assert.equal((await role(a)).role, 'standby');
  });

  // The turns a lost worker left lived in the primary's memory: its
  // standby, promoted, never ended them. It reads the turns open off its
  // copy of the disk (turnstore.c) as a start does.
  test('a worker and the primary killed mid-reply: the standby promoted ends the turn as interrupted', { timeout: 90000 }, async (t) => {
    const a = await startAuto(t, 'turns', { load: true });
    await primaryOf(a, 'turns');
    const b = await startAuto(t, 'turns', { load: true });
    await pair(a, b, 'turns');
    const from = a.logs.masterd.length;
    await a.startMasterd();
    await a.waitServing(from, WAIT_MS);
    const s = await stream(a, 'promoted-turn', '[[mock:chunks=40,delay=250]] a long story');
    t.after(() => s.destroy());
    await waitFor(() => s.events.some((e) => e.type === 'token'), WAIT_MS, 'the first token');
    const conv = s.events[0].conversationId;
    process.kill(a.connectionOwners(a.workerPids()).get(s.localPort), 'SIGKILL');
    await a.killStoraged('SIGKILL');
    await primaryOf(b, 'turns', { ms: TTL_MS + POLL_MS + SLACK_MS + WAIT_MS });
    await logged(b, /1 model turns open at the last stop \(or the last primary's\)/, 'the promoted standby reads the turn open');
    const fromB = b.logs.masterd.length;
    await b.startMasterd();
    await b.waitServing(fromB, WAIT_MS);
    const got = await waitStored(b, conv, (m) => m.length >= 2, WAIT_MS);
    assert.deepEqual(got.messages.map((m) => [m.role, m.status, m.content]),
      [['user', 'complete', '[[mock:chunks=40,delay=250]] a long story'], ['assistant', 'interrupted', '']]);
    await stopMasterd(a);
  });

  test('cut off from etcd and from its standby, the primary stops acknowledging before the other acquires (F < A); acknowledged writes lost: 0', { timeout: 90000 }, async (t) => {
    const toEtcd = await Proxy.start(etcd.port);
    t.after(() => toEtcd.close());
    // pa is reached by its standby only through pa.proxy.
    const pa = await startAuto(t, 'cut', { load: true, etcdUrl: `http://127.0.0.1:${toEtcd.port}`, proxied: true });
    const t1 = (await primaryOf(pa, 'cut')).term;
    const b = await startAuto(t, 'cut', { load: true });
    await pair(pa, b, 'cut');
    const load = await loadOn(t, pa);
    await load.acks.more(40, WAIT_MS, '40 writes acknowledged');

    // The fence after the cut (a blip of etcd before it fences too).
    const fromPa = pa.logs.storaged.length;
    const cutAt = Date.now();
    await Promise.all([toEtcd.cut(), pa.proxy.cut()]);
    const [, f] = await logged(pa, /lease: writes stopped, term \d+ \(at wall ms (\d+)\)/, 'the old primary fenced', { from: fromPa });
    const { term: t2, at: A } = await primaryOf(b, 'cut', { ms: TTL_MS + POLL_MS + SLACK_MS + WAIT_MS });
    const F = Number(f);
    const last = load.acks.lastAt;
    t.diagnostic(`cut at 0: the old primary stopped writes at ${F - cutAt} ms, the other became primary at ${A - cutAt} ms (F < A by ${A - F} ms); the last acknowledgement came at ${last - cutAt} ms`);
    assert.ok(F < A, `F ${F} < A ${A}`);
    // Fenced TTL - margin after the last renewal sent: before TTL after the cut.
    assert.ok(F - cutAt < TTL_MS, `fenced ${F - cutAt} ms after the cut`);
    assert.ok(last < A, `the last acknowledgement (${last}) before the other became primary (${A})`);
    assert.ok(t2 > t1);
    // No write is taken any more: "not primary".
    const c = await pa.storage({ as: 'parley-workerd' });
    t.after(() => c.close());
    await assert.rejects(c.convOpen('default', 'after-the-fence'), (e) => e.code === 8 && e.storageMessage === 'not primary');
    await load.stop();
    await noneLost(t, b, load.acks);

    // etcd back: the old primary follows the new one, in its term.
    await stopMasterd(pa);
    await toEtcd.restore();
    await rejoins(pa, b, t2, 0);
  });

  // etcd away past the fence's margin, then back: the primary fenced
  // itself and wins its lease back in a new term, which needs its standby's
  // snapshot. The snapshots' spacing (30 s a peer) once refused it, and the
  // standby, told of the new term by etcd, dialled again, cutting a
  // snapshot under way (then refused by the spacing): either way the
  // cluster stayed without a standby in sync, one that could take over,
  // for 30 s after a blip of etcd (CI runs of the test above).
  test('etcd away for 1.5 s: the primary wins its lease back in a new term, and its standby is in sync again at once, not 30 s later; told of the term, it keeps its link', { timeout: 60000 }, async (t) => {
    const [toEtcdA, toEtcdB] = [await Proxy.start(etcd.port), await Proxy.start(etcd.port)];
    t.after(() => { toEtcdA.close(); toEtcdB.close(); });
    const a = await startAuto(t, 'blip', { etcdUrl: `http://127.0.0.1:${toEtcdA.port}` });
    const { term: t1 } = await primaryOf(a, 'blip');
    const b = await startAuto(t, 'blip', { etcdUrl: `http://127.0.0.1:${toEtcdB.port}` });
    await pair(a, b, 'blip');
    const [fromA, fromB] = [a.logs.storaged.length, b.logs.storaged.length];

    // b away from etcd until it has a's new term by its link: a wins, not b.
    await Promise.all([toEtcdA.cut(), toEtcdB.cut()]);
    await logged(a, /lease: writes stopped, term \d+/, 'a fenced', { from: fromA });
    await sleep(500);
    await toEtcdA.restore();
    const { term: t2, at } = await primaryOf(a, 'blip', { from: fromA, ms: TTL_MS + POLL_MS + SLACK_MS + WAIT_MS });
    assert.ok(t2 > t1, `term ${t2} after ${t1}`);
    await logged(b, new RegExp(`took a snapshot of \\d+ bytes: term ${t2}`), 'b took a\'s snapshot of the new term', { from: fromB });
    await logged(a, new RegExp(`lease: blip's standby in sync: ${b.advertise} \\(term ${t2}`), 'a names b in sync', { from: fromA });
    t.diagnostic(`the standby in sync again ${Date.now() - at} ms after the primary's new term`);
    assert.doesNotMatch(a.logs.storaged.slice(fromA), /snapshot for .* refused/);

    // etcd tells b of the term its link has: the link stays.
    const linked = b.logs.storaged.length;
    await toEtcdB.restore();
    await logged(b, new RegExp(`lease: following ${a.advertise}, term ${t2}`), 'b told of the new term', { from: linked, ms: TTL_MS + WAIT_MS });
    await sleep(3 * POLL_MS);
    assert.doesNotMatch(b.logs.storaged.slice(linked), /replication: (connected to the primary|the link to the primary ended)/);

    const c = await a.storage({ as: 'parley-workerd' });
    t.after(() => c.close());
    await c.convOpen('default', 'after-the-blip', { timeout: 10000 });
    await caughtUp(a, b);
    await bothHold(t, a, b, ['after-the-blip']);
  });

  test('a clean SIGTERM of the primary hands over within a poll; etcd names who is who; a standby refuses writes', { timeout: 60000 }, async (t) => {
    const a = await startAuto(t, 'term');
    const { term: t1 } = await primaryOf(a, 'term');
    const b = await startAuto(t, 'term');
    await pair(a, b, 'term');
    const keys = await etcd.get('/term/');
    assert.deepEqual(JSON.parse(keys['/term/primary']), { addr: a.advertise, term: t1 });
    assert.deepEqual(JSON.parse(keys['/term/holder']), { addr: a.advertise, term: t1 });
    // sync names b with its data: a's term, the last record b had then.
    const sync = JSON.parse(keys['/term/sync']);
    assert.deepEqual([sync.addr, sync.term], [b.advertise, t1]);
    assert.ok(sync.seq > 0, keys['/term/sync']);
    const [ca, cb] = [await a.storage({ as: 'parley-workerd' }), await b.storage({ as: 'parley-workerd' })];
    t.after(() => { ca.close(); cb.close(); });
    await assert.rejects(cb.convOpen('default', 'on-the-standby'), (e) => e.code === 8);
    // Promotion by hand could make two primaries: etcd decides.
    const promote = await b.ctl(['promote']);
    assert.equal(promote.code, 1);
    assert.match(promote.stderr, /etcd's lease decides who is primary \(PARLEY_ROLE=auto\): stop the primary instead/);
    const conv = await ca.convOpen('default', 'handed-over');
    await ca.msgAppend(conv.conv.id, 'user', 'acknowledged before the stop');
    // The knowledge base's index is a record like any: the standby holds it.
    const src = await ca.ask(T.ST_KB_SOURCE_CREATE, { id: '', org: '', source_type: 2, name: '', url: '', lang: '',
      question: 'Where is the lighthouse?', answer: 'The lighthouse stands on the northern cape.', max_pages: 0,
      max_depth: 0, sync_hours: 0, sync_status: 0, error: '', pages: 0, chunks: 0, synced_at: 0n, next_sync_at: 0n,
      sync_id: 0n, bytes: 0n, created_at: 0n, updated_at: 0n });

    const t0 = Date.now();
    await a.killStoraged('SIGTERM');
    const { term: t2, at } = await primaryOf(b, 'term');
    t.diagnostic(`SIGTERM of the primary → the standby primary in ${at - t0} ms (a kill takes TTL ${TTL_MS} ms + a poll)`);
    assert.ok(at - t0 < TTL_MS, `${at - t0} ms`);
    assert.ok(t2 > t1);
    await a.waitLog('storaged', /lease: revoked \(term \d+\)/);
    assert.doesNotMatch(a.logs.storaged, /exiting with replies undelivered/);
    const got = await cb.convOpen('default', 'handed-over');
    assert.equal(got.conv.id, conv.conv.id);
    const found = await cb.ask(T.ST_KB_SEARCH, { query: 'lighthouse cape', k: 5, lang: '', agent_id: '',
      qvec: { dim: 0, min_score: 0, data: Buffer.alloc(0) }, space: '' });
    assert.equal(found.hits.length, 1);
    assert.equal(found.hits[0].source_id, src.id);
    assert.deepEqual(JSON.parse((await etcd.get('/term/'))['/term/primary']), { addr: b.advertise, term: t2 });
  });

  test('an etcd endpoint answering errors (a learner\'s 503) is passed over: the next one makes it primary', { timeout: 60000 }, async (t) => {
    const learner = await receiver((req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end('{"error":"etcdserver: rpc not supported for learner","code":14,"message":"etcdserver: rpc not supported for learner"}');
    });
    t.after(() => learner.close());
    const a = await startAuto(t, 'learner', { etcdUrl: `${learner.url('')},${etcd.url}` });
    await primaryOf(a, 'learner');
    assert.ok(learner.hits.length > 0, 'the first endpoint asked');
  });

  test('auto needs PARLEY_ETCD and PARLEY_ADVERTISE: masterd and storaged refuse to start without, naming what is missing', async (t) => {
    const says = "PARLEY_ROLE is auto: PARLEY_ETCD (the etcd endpoints) and PARLEY_ADVERTISE (this storaged's address) must be set too";
    const r = await refused({ PARLEY_ROLE: 'auto' });
    assert.notEqual(r.code, 0);
    assert.ok(r.log.includes(says), r.log);
    const s = new Parley({ masterd: false, env: { PARLEY_ROLE: 'auto', PARLEY_ETCD: etcd.url } });
    t.after(() => s.stop());
    const rec = s.spawnStoraged();
    s.expectExit('storaged', { codes: [1] });
    const { code } = await within(rec.exit, 10000);
    assert.equal(code, 1);
    await s.waitLog('storaged', /PARLEY_ROLE is auto: PARLEY_ADVERTISE \(this storaged's address\) must be set too/);
  });

  // The primary cut off from etcd while its standby goes away, comes back
  // in sync and goes away again: etcd takes "out" then "in" in order, so
  // the primary acknowledges alone only after a second "out" (before, the
  // first "out"'s answer let it, and etcd then named in sync a standby
  // lacking what it acknowledged).
  test('a standby away, back in sync and away again while etcd is unreachable: etcd names no standby in sync once the primary acknowledges alone', { timeout: 60000 }, async (t) => {
    const toEtcd = await Proxy.start(etcd.port);
    t.after(() => toEtcd.close());
    // A lease long enough to outlast the cut (etcd away for some seconds).
    const env = { PARLEY_LEASE_TTL_S: '15' };
    const a = await startAuto(t, 'flap', { etcdUrl: `http://127.0.0.1:${toEtcd.port}`, env });
    await primaryOf(a, 'flap');
    const b = await startAuto(t, 'flap', { env });
    await pair(a, b, 'flap');
    const c = await a.storage({ as: 'parley-workerd' });
    t.after(() => c.close());
    const conv = (await c.convOpen('default', 'flap-session')).conv;
    await c.msgAppend(conv.id, 'user', 'm0', 'complete', 0, 0, { timeout: 10000 });

    try {
      let from = a.logs.storaged.length;
      await toEtcd.cut();
      process.kill(b.storagedPid, 'SIGSTOP');
      const m1 = c.msgAppend(conv.id, 'user', 'm1', 'complete', 0, 0, { timeout: 20000 });
      await logged(a, /standby away/, 'away', { from });
      process.kill(b.storagedPid, 'SIGCONT');
      assert.ok(await within(m1, 10000), 'm1 acknowledged once b has it');
      await logged(a, /the standby is in sync at record/, 'b in sync again', { from });
      from = a.logs.storaged.length;
      process.kill(b.storagedPid, 'SIGSTOP');
      const m2 = c.msgAppend(conv.id, 'user', 'm2', 'complete', 0, 0, { timeout: 20000 });
      await logged(a, /standby away/, 'away again', { from });
      await toEtcd.restore();
      assert.ok(await within(m2, 15000), 'm2 acknowledged alone');
      // Acknowledged alone: etcd names no standby in sync, and stays so.
      await waitFor(async () => (await etcd.get('/flap/'))['/flap/sync'] === '', 5000, 'sync emptied');
      await sleep(1500);
      assert.equal((await etcd.get('/flap/'))['/flap/sync'], '', 'etcd still names no standby in sync');
    } finally {
      process.kill(b.storagedPid, 'SIGCONT'); // so that it can stop
    }
  });

  // Another storaged streaming while etcd still names the standby before
  // it (a standby host replaced) must not have a write acknowledged on its
  // word alone: a kill of the primary would promote the one named, which
  // lacks it. With block, "out" was never asked: the window never closed.
  test('another standby streaming while etcd names the one before: a write is acknowledged only once etcd names that one no more', { timeout: 60000 }, async (t) => {
    // s3 asks its snapshot on the Unix socket soon after b's: the spacing
    // of one peer's snapshots (30 s) lowered.
    const a = await startAuto(t, 'swap', { proxied: true, env: { PARLEY_REPLICA_WAIT: 'block', PARLEY_TEST_SNAP_SPACING_MS: '1' } });
    await primaryOf(a, 'swap');
    const b = await startAuto(t, 'swap');
    await pair(a, b, 'swap');
    const c = await a.storage({ as: 'parley-workerd' });
    t.after(() => c.close());
    await c.convOpen('default', 'before');
    const from = a.logs.storaged.length;
    await a.proxy.cut();	// b's stream ends; etcd still names b
    await logged(a, /standby away \(disconnected\)/, 'b gone', { from });
    let synced = null;
    const w = c.convOpen('default', 'acked-write', { timeout: 20000 }).then(async () => {
      synced = syncAddr((await etcd.get('/swap/'))['/swap/sync']);
      return true;
    });
    // A fixed standby of a (no PARLEY_ADVERTISE: etcd cannot name it).
    const s3 = new Parley({ masterd: false, env: { PARLEY_ROLE: 'standby', PARLEY_PRIMARY: `unix:${a.sockPath}`, PARLEY_SYNC: 'replica' } });
    t.after(() => s3.stop());
    await s3.start();
    assert.ok(await within(w, 15000), `the write acknowledged once s3 has it\n${a.tail('storaged')}`);
    assert.notEqual(synced, b.advertise, 'etcd named b, which lacks the write, when it was acknowledged');
    assert.equal((await etcd.get('/swap/'))['/swap/sync'], '');
  });

  // etcd named the standby in sync by its address alone. Both hosts down
  // together (a power cut: the primary never emptied sync), the standby
  // back with an empty data directory (a disk replaced, a standby rebuilt
  // by hand, a mistyped PARLEY_DATA_DIR): it campaigned because sync named
  // it, became primary with nothing, and the old primary, following it,
  // took its empty snapshot: the conversation was gone from both (until
  // 2026-12-06). sync now names the data too, and a new database never
  // campaigns while sync or holder names anyone.
  test('a standby named in sync, back with an empty data directory after both hosts went down, does not campaign; the last primary does and keeps its data', { timeout: 90000 }, async (t) => {
    const a = await startAuto(t, 'wiped');
    await primaryOf(a, 'wiped');
    const b = await startAuto(t, 'wiped');
    await pair(a, b, 'wiped');
    await acked(a, 'acked-with-standby');
    await a.killStoraged('SIGKILL');
    await b.killStoraged('SIGKILL');
    assert.equal(syncAddr((await etcd.get('/wiped/'))['/wiped/sync']), b.advertise);
    fs.rmSync(b.dataDir, { recursive: true, force: true });
    await sleep(TTL_MS + POLL_MS); // a's lease expires
    await wipedWaits(b, a, 'wiped');
    await lastPrimaryKeeps(t, a, b, 'wiped');
  });

  // With block, sync keeps naming a standby that is away (nothing is
  // acknowledged without it). Back with another data directory while the
  // primary serves, its data is not what was named: etcd names none until
  // it caught up again. Stopped again, rebuilt empty, the primary lost:
  // it does not campaign either.
  test('with block: a standby named in sync and rebuilt while away is named again only once caught up, and rebuilt once more, the primary lost, does not campaign', { timeout: 90000 }, async (t) => {
    // b rebuilt asks its snapshot soon after its first: the spacing of one
    // peer's snapshots (30 s) lowered.
    const env = { PARLEY_REPLICA_WAIT: 'block', PARLEY_TEST_SNAP_SPACING_MS: '1' };
    const a = await startAuto(t, 'rebuilt', { env });
    await primaryOf(a, 'rebuilt');
    const b = await startAuto(t, 'rebuilt', { env });
    await pair(a, b, 'rebuilt');
    await acked(a, 'acked-with-standby');
    let from = a.logs.storaged.length;
    await b.killStoraged('SIGTERM');
    await logged(a, /standby away/, 'b away', { from });
    await sleep(3 * POLL_MS);
    assert.equal(syncAddr((await etcd.get('/rebuilt/'))['/rebuilt/sync']), b.advertise, 'block: sync still names b');

    // b rebuilt by hand while a serves: a snapshot; named again once caught up.
    fs.rmSync(b.dataDir, { recursive: true, force: true });
    from = a.logs.storaged.length;
    await b.startStoraged();
    await logged(a, /etcd may name \S+ in sync, and it needs a snapshot: write replies past record \d+ wait until it names none/, 'a unnames b', { from });
    await logged(a, /lease: rebuilt's standby in sync: none/, 'etcd names none', { from });
    // Its snapshot only then: b crashing while it swaps it in is never
    // named with what it then holds.
    await logged(a, /etcd may name this standby in sync: its snapshot waits until etcd names none/, 'the snapshot waits', { from });
    await logged(a, /snapshot of \d+ bytes sent/, 'the snapshot sent', { from });
    const since = a.logs.storaged.slice(from);
    assert.ok(since.search(/lease: rebuilt's standby in sync: none/) < since.search(/the standby's snapshot begins/), since);
    assert.ok(since.search(/the standby's snapshot begins/) < since.search(/snapshot of \d+ bytes sent/), since);
    await logged(a, new RegExp(`lease: rebuilt's standby in sync: ${b.advertise} \\(term \\d+, record \\d+\\)`), 'b named again', { from });

    // The reviewer's case: b away (named), a lost, b rebuilt empty.
    from = a.logs.storaged.length;
    await b.killStoraged('SIGTERM');
    await logged(a, /standby away/, 'b away again', { from });
    await a.killStoraged('SIGKILL');
    assert.equal(syncAddr((await etcd.get('/rebuilt/'))['/rebuilt/sync']), b.advertise);
    fs.rmSync(b.dataDir, { recursive: true, force: true });
    await sleep(TTL_MS + POLL_MS);
    await wipedWaits(b, a, 'rebuilt');
    await lastPrimaryKeeps(t, a, b, 'rebuilt');
  });

  // The last primary restored from a backup older than the data its
  // standby in sync was named with: of the same term, fewer records. It
  // must not take the lease back with it (the writes it acknowledged with
  // its standby would go, the standby taking its snapshot): it says why and
  // waits; the standby takes the lease, and the restored one follows it and
  // takes its snapshot, every acknowledged write on both. Before, holder's
  // name and term were enough: the restored primary, back first, was
  // primary again.
  test('the last primary restored from an older backup does not campaign over the standby in sync; the standby does, every acknowledged write kept', { timeout: 90000 }, async (t) => {
    const a = await startAuto(t, 'restored');
    await primaryOf(a, 'restored');
    const bk = path.join(a.tmp, 'older.mdb');
    const r = await a.ctl(['backup', bk]);
    assert.equal(r.code, 0, r.stderr);
    await acked(a, 'acked-after-the-backup');
    const b = await startAuto(t, 'restored');
    await pair(a, b, 'restored');
    await acked(a, 'acked-with-standby');
    await a.killStoraged('SIGKILL');
    await b.killStoraged('SIGKILL');
    restoreBackup(a, bk);
    await sleep(TTL_MS + POLL_MS); // a's lease expires

    let fromA = a.logs.storaged.length;
    await a.startStoraged();
    await logged(a, /lease: not campaigning for restored: .*this data lacks records the standby in sync holds/,
      'a says why it waits', { from: fromA, ms: TTL_MS + POLL_MS + SLACK_MS + WAIT_MS });
    await sleep(3 * POLL_MS);
    assert.equal((await etcd.get('/restored/'))['/restored/primary'], undefined);
    assert.doesNotMatch(a.logs.storaged.slice(fromA), /lease: primary of/);

    fromA = a.logs.storaged.length;
    const fromB = b.logs.storaged.length;
    await b.startStoraged();
    const { term } = await primaryOf(b, 'restored', { from: fromB });
    await logged(a, new RegExp(`took a snapshot of \\d+ bytes: term ${term}`), 'a took b\'s snapshot', { from: fromA });
    await caughtUp(b, a);
    await bothHold(t, b, a, ['acked-after-the-backup', 'acked-with-standby']);
  });

  test('a standby out of sync (the primary acknowledged alone) never campaigns, even with no primary', { timeout: 60000 }, async (t) => {
    const a = await startAuto(t, 'stale', { proxied: true });
    await primaryOf(a, 'stale');
    const b = await startAuto(t, 'stale');
    await pair(a, b, 'stale');

    // The standby cut off: the primary records sync = "" first, then
    // acknowledges alone.
    const from = a.logs.storaged.length;
    await a.proxy.cut();
    const c = await a.storage({ as: 'parley-workerd' });
    t.after(() => c.close());
    const conv = await c.convOpen('default', 'alone', { timeout: 10000 });
    await c.msgAppend(conv.conv.id, 'user', 'acknowledged without the standby', 'complete', 0, 0, { timeout: 10000 });
    await logged(a, /lease: stale's standby in sync: none/, 'sync emptied', { from });
    assert.equal((await etcd.get('/stale/'))['/stale/sync'], '');

    await a.killStoraged('SIGKILL');
    await logged(b, /lease: not campaigning for stale: the standby in sync is none, the last primary /, 'b says why it waits', { ms: TTL_MS + POLL_MS + SLACK_MS + WAIT_MS });
    // Polls later (an absence: some time must pass): still nobody
    // primary, and b takes no writes.
    await sleep(3 * POLL_MS);
    assert.equal((await etcd.get('/stale/'))['/stale/primary'], undefined);
    assert.doesNotMatch(b.logs.storaged, /lease: primary of stale/);
    const cb = await b.storage({ as: 'parley-workerd' });
    t.after(() => cb.close());
    await assert.rejects(cb.convOpen('default', 'stale'), (e) => e.code === 8);
  });

  test('etcd\'s keys lost (a new etcd, its revision below this data\'s term): the storaged with the data is primary at its first campaign, in a later term', { timeout: 60000 }, async (t) => {
    const a = await startAuto(t, 'reset');
    const { term: t1 } = await primaryOf(a, 'reset');
    await a.killStoraged('SIGTERM');
    // A new etcd: revision 1, no keys. Before, the campaign's term was
    // the revision plus one (2), at or below this data's: storaged exited
    // (fatal), and each restart raised the revision by about 2.
    const fresh = await Etcd.start();
    t.after(() => fresh.stop());
    a.opts.env.PARLEY_ETCD = fresh.url;
    const from = a.logs.storaged.length;
    await a.startStoraged();
    const { term: t2 } = await primaryOf(a, 'reset', { from });
    assert.ok(t2 > t1, `term ${t2} after ${t1}`);
    const r = await role(a);
    assert.deepEqual([r.role, r.term], ['primary', t2]);
    assert.doesNotMatch(a.logs.storaged.slice(from), /cannot become primary/);
    assert.deepEqual(JSON.parse((await fresh.get('/reset/'))['/reset/holder']), { addr: a.advertise, term: t2 });
  });
});
