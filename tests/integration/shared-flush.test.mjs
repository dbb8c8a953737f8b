// Shared flushes (storaged/server.c, PROTO_F_SHARE): a worker flags its
// turns' writes while many turns are alive, and storaged then lets one
// disk flush serve several batches. What must hold whatever the timing:
// a flagged write is confirmed only once a flush has covered it, a flush
// that fails loses nothing that was confirmed (storaged exits; the next
// start replays), a write flagged to wait longer (PROTO_F_SHARE_LONG) is
// flushed when its wait ends, and a worker flags only while many turns
// are alive (or were, 50 ms ago at most), long when its model is slow.
// And a write's own flush failing with the checkpoint after it (a failing
// disk fails both): storaged exits before anything reads the refused
// write, and the next start does not replay it.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';

import { startParley, within } from './lib/harness.mjs';
import { NO_LSAN, failSyncs } from './lib/faults.mjs';
import { sid, streamTurn } from './lib/chat.mjs';
import { F, T, chatBegin as begin, rep } from './lib/storage.mjs';



test('a flagged write whose shared flush fails is never confirmed: storaged exits, and a restart keeps every confirmed write', { timeout: 30000 }, async (t) => {
  // LeakSanitizer cannot run in a process strace holds: it would fail
  // storaged's exit whatever it found, so this Parley runs without it.
  const p = await startParley(t, { workers: 1, env: { ...NO_LSAN } });
  let st = await p.storage({ name: 'itest-share' });
  t.after(() => st.close());

  // Confirmed before anything fails: flushed with its commit, as always.
  const s0 = `share-${crypto.randomBytes(4).toString('hex')}`;
  const kept = rep(T.ST_CHAT_BEGIN, await st.call(T.ST_CHAT_BEGIN, begin(s0, 'confirmed first'))).ok.conv_id;

  const tr = await failSyncs(p.storagedPid);
  t.after(() => { try { tr.kill('SIGKILL'); } catch { /* gone */ } });
  p.expectExit('storaged', { codes: [1] });
  const s1 = `share-${crypto.randomBytes(4).toString('hex')}`;
  // Its early answer may come (it never says stored); its confirmation
  // may not: the request ends with the connection, storaged gone. A
  // request not flagged that writes nothing (a ping, as a worker's or
  // the notifier's may be) in the same batch (one write: one read) does
  // not make the flush at once: its reply waits behind the record too.
  st.sock.cork();
  const res = st.frames(T.ST_CHAT_BEGIN, begin(s1, 'never confirmed'), F.EARLY | F.SHARE, { timeout: 10000 })
    .then((fr) => ({ fr }), (e) => ({ e }));
  const ping = st.ping({ timeout: 10000 }).then(() => 'answered', (e) => e.message);
  st.sock.uncork();
  const { fr, e } = await res;
  assert.equal(e?.message, 'storage connection closed', `a final reply came: ${JSON.stringify(fr?.map((f) => f.flags))}`);
  assert.equal(await ping, 'storage connection closed', 'the ping\'s reply waited for the flush');
  const ex = await within(p.procs.storaged.exit, 10000);
  assert.ok(ex, 'storaged exited');
  assert.equal(ex.code, 1);
  await p.waitLog('storaged', /cannot flush wal\.log; exiting: nothing waiting on it was acknowledged/);

  // Started again on the same data: what was confirmed is there.
  await p.startStoraged();
  st.close();
  st = await p.storage({ name: 'itest-share-2' });
  const got = await st.convGet(kept);
  assert.deepEqual(got.messages.map((m) => m.content), ['confirmed first']);
});

test('a write whose flush fails, then the checkpoint that would spend its number: storaged exits, and a restart has the confirmed write and not the refused one', { timeout: 30000 }, async (t) => {
  const p = await startParley(t, { masterd: false, env: { ...NO_LSAN } });
  let st = await p.storage({ name: 'itest-ckpt' });
  t.after(() => st.close());
  const sessions = async () => (await st.convList(100)).convs.map((c) => c.session);
  const s0 = `ckpt-${crypto.randomBytes(4).toString('hex')}`;
  rep(T.ST_CHAT_BEGIN, await st.call(T.ST_CHAT_BEGIN, begin(s0, 'confirmed first')));

  // Every flush fails from here: the write's own, then LMDB's at the
  // checkpoint. Before, the checkpoint's undo replayed the refused record
  // (in the page cache, its CRC right): reads served it, and the next
  // checkpoint or start kept it.
  const tr = await failSyncs(p.storagedPid);
  t.after(() => { try { tr.kill('SIGKILL'); } catch { /* gone */ } });
  p.expectExit('storaged', { codes: [1] });
  const s1 = `ckpt-${crypto.randomBytes(4).toString('hex')}`;
  const res = await st.call(T.ST_CHAT_BEGIN, begin(s1, 'refused'), { timeout: 10000 })
    .then(() => 'stored', (e) => e.message);
  const read = await sessions().catch((e) => e.message);
  assert.equal(res, 'storage connection closed', `the refused write, then a read: ${res}; ${JSON.stringify(read)}`);
  const ex = await within(p.procs.storaged.exit, 10000);
  assert.equal(ex?.code, 1, 'storaged exited');
  await p.waitLog('storaged', /cannot checkpoint past refused record \d+; exiting/);

  // Started again on the same data (the disk well again): the confirmed
  // write is there, the refused one is not.
  tr.kill('SIGKILL');
  await p.startStoraged();
  st.close();
  st = await p.storage({ name: 'itest-ckpt-2' });
  assert.deepEqual(await sessions(), [s0]);
});

test('a write flagged PROTO_F_SHARE_LONG alone is confirmed once its flush is made, and read after it', { timeout: 30000 }, async (t) => {
  const p = await startParley(t, { masterd: false });
  const st = await p.storage({ name: 'itest-share-long' });
  t.after(() => st.close());
  // Nothing else writes: only the wait's end (4 ms) can flush it.
  const s0 = `long-${crypto.randomBytes(4).toString('hex')}`;
  const fr = await st.frames(T.ST_CHAT_BEGIN, begin(s0, 'waits a while'), F.EARLY | F.SHARE | F.SHARE_LONG, { timeout: 10000 });
  assert.deepEqual(fr.map((f) => f.flags), [F.REPLY | F.EARLY, F.REPLY], 'an early answer, then the confirmation');
  assert.equal(fr[1].payload.length, 0, 'the confirmation is empty: on disk');
  const convs = (await st.convList(100)).convs;
  assert.deepEqual(convs.map((c) => c.session), [s0]);
});

test('a worker flags its turns\' writes PROTO_F_SHARE only while many turns are alive or just were; every turn is answered and stored', { timeout: 60000 }, async (t) => {
  const p = await startParley(t, { workers: 1, mock: { chunks: 2, firstDelayMs: 300 },
    env: { RATE_LIMIT_MAX_REQUESTS: '0', PARLEY_METRICS_OPEN: 'loopback' } });
  const shared = async (kind = '') => {
    const r = await p.get('/metrics');
    assert.equal(r.status, 200, r.text);
    const name = `parley_storage_shared_${kind}requests_total`;
    const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(r.text);
    assert.ok(m, name);
    return Number(m[1]);
  };

  // One turn at a time: nothing flagged, each write flushed as it commits.
  for (let i = 0; i < 2; i++) await streamTurn(p, sid('one'), `alone ${i}`);
  assert.equal(await shared(), 0);

  // Twelve at once, the model taking 300 ms: the replies' appends of the
  // first ones to finish are made while at least eight turns are alive.
  const turns = await Promise.all(Array.from({ length: 12 }, (_, i) => streamTurn(p, sid('many'), `together ${i}`)));
  for (const s of turns) assert.ok(s.events.some((e) => e.type === 'done'), 'each turn done');
  const n = await shared();
  assert.ok(n >= 1 && n <= 24, `flagged requests: ${n}`);
  // A model this slow to its first text (300 ms, 16 ms or more): each
  // flagged write may wait the longer while (PROTO_F_SHARE_LONG).
  assert.equal(await shared('long_'), n, 'every flagged write of a slow model\'s turns flagged long');
  // Busy within the last 50 ms counts as busy (the turns that end
  // together begin again together); well after, a lone turn is alone.
  await new Promise((r) => setTimeout(r, 300));
  await streamTurn(p, sid('one'), 'alone again');
  assert.equal(await shared(), n, 'a lone turn 300 ms after the others flagged nothing');
  const st = await p.storage({ name: 'itest-share-turns' });
  t.after(() => st.close());
  for (const s of turns) {
    const id = s.events.find((e) => e.type === 'done').conversationId;
    const got = await st.convGet(id);
    assert.deepEqual(got.messages.map((m) => m.role), ['user', 'assistant']);
  }
});
