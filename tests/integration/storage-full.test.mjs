// A full store (storaged/STORAGE.md, "The map's floor" and "A stalled
// store"): the floor keeps the owner's own writes from filling the map, so
// the owner's deletes still run and storaged still starts; a full disk
// leaves storaged up, serving reads and refusing writes with 503, until
// there is room again.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { pool, sleep, startParley, waitFor } from './lib/harness.mjs';
import { chat, sid, sessionShown } from './lib/chat.mjs';

const LIST = '/v1/admin/conversations';

// Fills p's store as a worker does (nobody's writes) until it refuses.
async function fill(p, prefix) {
  const st = await p.storage({ name: `itest-${prefix}` });
  const big = 'x'.repeat(60000);
  const convs = [];
  try {
    for (let i = 0; i < 400; i++) {
      const { conv } = await st.convOpen('default', `${prefix}-${i}`);
      convs.push(conv.id);
      for (let k = 0; k < 4; k++) await st.msgAppend(conv.id, 'user', big);
    }
  } catch (e) {
    assert.equal(e.code, 5, `refused as unavailable: ${e.message}`);
    return convs;
  } finally {
    st.close();
  }
  assert.fail('the filler was never refused');
}

// listAll once storaged answers again (a restart).
async function listSoon(p) {
  for (let k = 0; ; k++) {
    try {
      return await listAll(p);
    } catch (e) {
      if (k > 100) throw e;
      await sleep(200);
    }
  }
}

async function listAll(p) {
  const all = [];
  let cursor = '';
  for (;;) {
    const r = await p.admin(`${LIST}?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    assert.equal(r.status, 200, r.text);
    const j = r.json();
    all.push(...j.conversations);
    if (!j.nextCursor) return all;
    cursor = j.nextCursor;
  }
}

test('the owner\'s writes stop at the map\'s floor: deletes still run, storaged restarts', { timeout: 240000 }, async (t) => {
  const p = await startParley(t, { workers: 1, mock: true, env: { PARLEY_MAP_SIZE_MB: '8', RATE_LIMIT_MAX_REQUESTS: '0' } });
  const convs = await fill(p, 'fill');
  // The owner's writes go on in the reserve, then stop with a clear 503.
  const answer = 'answer '.repeat(1150);
  let refused = null;
  let made = 0;
  for (let i = 0; i < 2000 && !refused; i++) {
    const r = await p.adminJson('POST', '/v1/admin/knowledge/sources', { type: 'qa', question: `question number ${i} about things`, answer });
    if (r.status === 201) made++;
    else refused = r;
  }
  assert.ok(refused, 'the owner was refused at last');
  assert.equal(refused.status, 503, refused.text);
  assert.match(refused.json().error, /Storage full: delete conversations, or raise PARLEY_MAP_SIZE_MB/);
  assert.ok(made > 0, 'the owner wrote in the reserve');
  assert.doesNotMatch(p.logs.storaged, /MDB_MAP_FULL|cannot checkpoint/);
  // The owner's deletes make room; then visitors are served again.
  for (const id of convs.slice(0, Math.ceil(convs.length / 2))) {
    const d = await p.adminJson('DELETE', `${LIST}/${id}`);
    assert.equal(d.status, 204, d.text);
  }
  const r = await chat(p, sid('after'), 'hello again');
  assert.equal(r.status, 200, r.text);
  // Killed and started again at the same map size: it starts.
  const kept = new Set((await listAll(p)).map((c) => c._id));
  await p.killStoraged('SIGKILL');
  await p.startStoraged();
  const after = new Set((await listSoon(p)).map((c) => c._id));
  for (const id of kept) assert.ok(after.has(id), `conversation ${id} kept`);
  for (const id of convs.slice(0, Math.ceil(convs.length / 2))) assert.ok(!after.has(id), `deleted ${id} stays deleted`);
});

// Mounts a tmpfs of mb MiB at dir (root only): null when it cannot.
// A tmpfs of mb MiB on dir (the suite runs as root, as CI does).
function mountSmall(dir, mb) {
  fs.mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mb}m`, 'tmpfs', dir], { stdio: 'pipe' });
}

function freeKiB(dir) {
  return Number(execFileSync('df', ['-k', dir]).toString().trim().split('\n').pop().split(/\s+/)[3]);
}

test('a full disk: storaged stays up, serves reads, refuses writes, and writes again once there is room', { timeout: 300000 }, async (t) => {
  assert.equal(process.getuid(), 0, 'the suite runs as root (CI does): it mounts a tmpfs');
  const small = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-full-'));
  try {
    mountSmall(small, 20);
  } catch (e) {
    fs.rmSync(small, { recursive: true, force: true });
    throw e;
  }
  t.after(() => {
    try { execFileSync('umount', ['-l', small]); } catch { /* gone */ }
    fs.rmSync(small, { recursive: true, force: true });
  });
  const dataDir = path.join(small, 'data');
  const p = await startParley(t, { workers: 1, mock: true, env: { PARLEY_DATA_DIR: dataDir, PARLEY_MAP_SIZE_MB: '64', RATE_LIMIT_MAX_REQUESTS: '0' } });
  const ballast = path.join(small, 'ballast');
  execFileSync('dd', ['if=/dev/zero', `of=${ballast}`, 'bs=1024', `count=${freeKiB(small) - 3 * 1024}`], { stdio: 'ignore' });
  const msg = 'z'.repeat(3990);
  const acked = [];
  let refused = null;
  let i = 0;
  await pool(Array.from({ length: 3 }), 3, async () => {
    while (!refused && i < 5000) {
      const s = sid('d');
      const r = await chat(p, s, `${i++} ${msg}`);
      if (r.status === 200) acked.push(s);
      else refused = r;
    }
  });
  assert.ok(refused, 'the disk filled');
  assert.equal(refused.status, 503, refused.text);
  await p.waitLog('storaged', /cannot checkpoint: the disk is full/);
  await sleep(1500);
  assert.equal(p.procs.storaged.exited, false, `storaged is up:\n${p.logs.storaged.slice(-2000)}`);
  // Reads are served; the owner hears why writes are refused.
  assert.equal((await p.admin(`${LIST}?limit=5`)).status, 200);
  const w = await p.adminJson('POST', '/v1/admin/knowledge/sources', { type: 'qa', question: 'while the disk is full', answer: 'no' });
  assert.equal(w.status, 503, w.text);
  assert.match(w.json().error, /Storage full: the disk of the data directory is full/);
  // A backup (to another disk) says why it cannot be taken, not "(internal)".
  const copy = path.join(os.tmpdir(), `parley-full-backup-${process.pid}.mdb`);
  t.after(() => fs.rmSync(copy, { force: true }));
  const bk = await p.ctl(['backup', copy]);
  assert.notEqual(bk.code, 0, bk.stdout);
  assert.match(bk.stderr, /backup: storaged: disk full/);
  // Killed and started again while the disk is still full: it starts,
  // its checkpoint of the replayed log refused, and serves reads.
  await p.killStoraged('SIGKILL');
  const before = p.logs.storaged.length;
  await p.startStoraged();
  await p.waitLog('storaged', /cannot checkpoint: the disk is full/, { from: before });
  await waitFor(async () => (await p.admin(`${LIST}?limit=5`)).status === 200, 20000, 'reads while full');
  // Room again: writes resume without a restart.
  fs.rmSync(ballast);
  await waitFor(async () => (await chat(p, sid('room'), 'hello after room')).status === 200, 20000, 'writes once there is room', 500);
  // Every acknowledged turn is there, after a kill -9 too.
  await p.killStoraged('SIGKILL');
  await p.startStoraged();
  const shown = new Set((await listSoon(p)).map((c) => c.sessionId));
  const missing = acked.filter((s) => !shown.has(sessionShown(s)));
  assert.deepEqual(missing, [], `${missing.length} of ${acked.length} acknowledged turns lost`);
  await p.killStoraged('SIGKILL');
});
