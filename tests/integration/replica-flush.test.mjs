// A standby acknowledges only what is on its disk (storaged/STORAGE.md,
// "Replication"): the records it applied are flushed before it says it
// holds them, also when the link ends in the same read as they came. It
// asks the stream again from its last record (ST_REPL_START), and the
// primary takes that as acknowledged: it released the replies held for
// them (PARLEY_SYNC=replica) though the standby had never flushed them,
// so a power loss of the standby, then of the primary's machine, lost
// writes the primary had said were on two machines.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { Parley, waitFor, within } from './lib/harness.mjs';
import { NO_LSAN, failSyncs } from './lib/faults.mjs';
import { T, req } from './lib/storage.mjs';
import { caughtUp, role } from './lib/standby.mjs';

// A primary on PARLEY_SYNC=replica (block; more env: primaryEnv) and its
// standby (more env: standbyEnv), caught up, with a worker's storage
// client and a conversation of session: { p, s, c, conv }, each stopped
// after t.
async function pairWithConv(t, standbyEnv, session, primaryEnv = {}) {
  const p = new Parley({ masterd: false, env: { PARLEY_SYNC: 'replica', PARLEY_REPLICA_WAIT: 'block', ...primaryEnv } });
  t.after(() => p.stop());
  await p.start();
  const s = new Parley({ masterd: false, env: { ...NO_LSAN, ...standbyEnv, PARLEY_ROLE: 'standby', PARLEY_PRIMARY: `unix:${p.sockPath}` } });
  t.after(() => s.stop());
  await s.start();
  await caughtUp(p, s);
  const c = await p.storage({ as: 'parley-workerd' });
  t.after(() => c.close());
  const conv = await c.convOpen('default', session);
  await caughtUp(p, s);
  return { p, s, c, conv };
}



// The two tests, each on a pair of its own, side by side: each mostly
// waits (4 s for a reply that must not come).
describe('a standby flushes before it acknowledges', { concurrency: true }, () => {

  // The write pending was never answered (its reply held: not on the
  // standby's disk), and standby s exited as it could not flush.
  async function heldAndExited(s, pending) {
    const answered = await within(pending.then(() => 'answered'), 4000);
    assert.equal(answered, null, `the reply left; the standby said:\n${s.logs.storaged.slice(-1500)}`);
    const ex = await within(s.procs.storaged.exit, 10000);
    assert.equal(ex?.code, 1, 'the standby exited');
    await s.waitLog('storaged', /replication: cannot flush wal\.log; exiting/);
  }
  test('a standby whose link ends in the read that brought records flushes them before it asks the stream again: a flush that fails acknowledges nothing', { timeout: 60000 }, async (t) => {
    // The other standby below asks a snapshot on the Unix socket right after
    // this one's: with the spacing of one peer's snapshots (30 s) it would be
    // refused, and this one never dropped.
    const { p, s, c, conv } = await pairWithConv(t, {}, 'flush-standby', { PARLEY_TEST_SNAP_SPACING_MS: '1' });

    // The standby's disk fails every flush from here; it is stopped, so the
    // record and the end of its link wait in its socket, to be read at once.
    const tr = await failSyncs(s.storagedPid);
    t.after(() => { try { tr.kill('SIGKILL'); } catch { /* gone */ } });
    process.kill(s.storagedPid, 'SIGSTOP');
    t.after(() => { try { process.kill(s.storagedPid, 'SIGCONT'); } catch { /* gone */ } });
    const seq = (await role(p)).seq;
    const pending = c.msgAppend(conv.conv.id, 'user', 'never on the standby\'s disk', 'complete', 0, 0, { timeout: 30000 });
    pending.catch(() => {});
    await waitFor(async () => (await role(p)).seq === seq + 1, 5000, 'the primary appended the write');

    // Another standby asks the stream: the primary drops this one's link.
    const from = p.logs.storaged.length;
    const other = await p.storage({ name: 'itest-other-standby', as: 'parley-storaged' });
    await other.call(T.ST_REPL_START, req(T.ST_REPL_START, { term: 0, last_seq: 0, digest: Buffer.alloc(32), addr: '' }));
    await waitFor(async () => /the standby's stream ended: another standby connected/.test(p.logs.storaged.slice(from)),
      5000, 'the primary dropped the standby');
    other.close();

    s.expectExit('storaged', { codes: [1] });
    process.kill(s.storagedPid, 'SIGCONT');
    // It applied the record and met the end of its link in one read. Before,
    // it closed without a flush and asked the stream again from that record,
    // and the primary released the reply: acknowledged, never on its disk.
    await heldAndExited(s, pending);
    const r = await role(p);
    assert.ok(!r.linked && r.acked <= seq, `the primary counts the write as on the standby: ${JSON.stringify(r)}`);
  });

  // A standby on PARLEY_SYNC=interval flushes what it applied before it
  // acknowledges it, as one on full does: the primary on `replica` counts the
  // acknowledgement as on the standby's disk. Until 2026-12-06 the standby
  // answered without a flush (its records in its page cache alone), and the
  // primary released the reply.
  test('a standby on PARLEY_SYNC=interval flushes the records before it acknowledges them: a flush that fails acknowledges nothing', { timeout: 60000 }, async (t) => {
    const { p, s, c, conv } = await pairWithConv(t, { PARLEY_SYNC: 'interval', PARLEY_SYNC_INTERVAL_MS: '60000' }, 'interval-standby');

    const tr = await failSyncs(s.storagedPid);
    t.after(() => { try { tr.kill('SIGKILL'); } catch { /* gone */ } });
    s.expectExit('storaged', { codes: [1] });
    const seq = (await role(p)).seq;
    const pending = c.msgAppend(conv.conv.id, 'user', 'never on the standby\'s disk', 'complete', 0, 0, { timeout: 30000 });
    pending.catch(() => {});
    await heldAndExited(s, pending);
    const r = await role(p);
    assert.ok(r.acked <= seq, `the primary counts the write as on the standby: ${JSON.stringify(r)}`);
  });
});
