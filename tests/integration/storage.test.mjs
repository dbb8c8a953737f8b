// storaged killed with SIGKILL: admin requests get a quick 503; storaged
// restarted: served again within a couple of seconds; and everything
// storaged acknowledged before the kill is still there.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';

import { pool, sleep, startParley, within } from './lib/harness.mjs';
import { assertJsonError } from './lib/checks.mjs';

const LIST = '/v1/admin/conversations';

async function timed(fn) {
  const t0 = Date.now();
  const r = await fn();
  return [r, Date.now() - t0];
}

test('storaged SIGKILL -> 503 quickly; restart -> served again; acknowledged writes survive', { timeout: 90000 }, async (t) => {
  const p = await startParley(t, { workers: 2 });
  const acked = new Map();   // conv id -> [message ids in order]
  const st = await p.storage({ name: 'itest-writer' });
  t.after(() => st.close());

  // A keep-alive admin connection opened before the kill.
  const keep = await p.connect();
  t.after(() => keep.destroy());
  assert.equal((await keep.request('GET', `${LIST}?limit=1`, { headers: { 'x-admin-api-key': p.adminKey } })).status, 200);

  // Writers: open conversations and append messages until the connection drops.
  let stopWriters = false;
  let writeErrors = 0;
  const writer = async (w) => {
    for (let i = 0; i < 100000 && !stopWriters; i++) {
      try {
        const { conv } = await st.convOpen('default', `w${w}-${i}-${crypto.randomBytes(3).toString('hex')}`);
        acked.set(conv.id, []);
        for (let k = 0; k < 3; k++) {
          const { msg } = await st.msgAppend(conv.id, k % 2 ? 'assistant' : 'user', `w${w} c${i} m${k}`);
          acked.get(conv.id).push(msg.id);
        }
      } catch {
        writeErrors++;
        return;
      }
    }
  };
  const writers = Array.from({ length: 4 }, (_, w) => writer(w));
  await sleep(700);
  assert.ok(acked.size > 0, 'some writes were acknowledged before the kill');

  await p.killStoraged('SIGKILL');
  const tKill = Date.now();
  stopWriters = true;
  await within(Promise.all(writers), 5000);
  t.diagnostic(`${acked.size} conversations and ${[...acked.values()].reduce((a, m) => a + m.length, 0)} messages acknowledged before the kill (${writeErrors} writers cut off)`);

  // While storaged is down: a clear 503, quickly, on new and old connections, on every worker.
  const someId = [...acked.keys()][0];
  for (let i = 0; i < 12; i++) {
    const path = i % 2 ? `${LIST}/${someId}` : `${LIST}?limit=5`;
    const [r, ms] = await timed(() => p.admin(path, { timeout: 5000 }));
    assertJsonError(r, 503, 'Storage unavailable');
    assert.ok(ms < 2000, `503 took ${ms} ms`);
  }
  const [rk, msk] = await timed(() => keep.request('GET', `${LIST}?limit=1`, { headers: { 'x-admin-api-key': p.adminKey } }));
  assertJsonError(rk, 503, 'Storage unavailable');
  assert.ok(msk < 2000, `503 on the old keep-alive connection took ${msk} ms`);
  t.diagnostic(`503s served while storaged was down (${Date.now() - tKill} ms after the kill)`);

  // Restart storaged (same data and run directories).
  const tStart = Date.now();
  await p.startStoraged();
  const tUp = Date.now();
  let back = null;
  while (Date.now() - tUp < 5000) {
    const r = await p.admin(`${LIST}?limit=1`, { timeout: 3000 });
    if (r.status === 200) { back = Date.now() - tUp; break; }
    assertJsonError(r, 503, 'Storage unavailable');
    await sleep(100);
  }
  assert.ok(back !== null, 'admin API served again after storaged came back');
  t.diagnostic(`storaged ready ${tUp - tStart} ms after spawn; admin API served again ${back} ms later`);
  assert.ok(back <= 3000, `served again only after ${back} ms`);

  // Every worker reconnected: many new connections all succeed, as does the old one.
  const rs = await Promise.all(Array.from({ length: 16 }, () => p.admin(`${LIST}?limit=1`)));
  for (const r of rs) assert.equal(r.status, 200);
  const rk2 = await keep.request('GET', `${LIST}?limit=1`, { headers: { 'x-admin-api-key': p.adminKey } });
  assert.equal(rk2.status, 200, 'the keep-alive connection from before the outage still works');

  // Everything acknowledged is there, through the admin API.
  const listed = new Set();
  let cursor = '';
  let total = 0;
  for (let page = 0; page < 1000; page++) {
    const r = await p.admin(`${LIST}?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    assert.equal(r.status, 200);
    const j = r.json();
    total = j.total;
    for (const c of j.conversations) listed.add(c._id);
    if (!j.nextCursor) break;
    cursor = j.nextCursor;
  }
  assert.ok(total >= acked.size, `total ${total} < ${acked.size} acknowledged`);
  for (const id of acked.keys()) assert.ok(listed.has(id), `acknowledged conversation ${id} is listed`);
  const missing = [];
  await pool([...acked.entries()], 8, async ([id, msgIds]) => {
    const r = await p.admin(`${LIST}/${id}`);
    if (r.status !== 200) { missing.push(`${id}: ${r.status}`); return; }
    const got = r.json().messages.map((m) => m._id);
    // every acknowledged message, in order (an unacknowledged one may follow)
    if (got.slice(0, msgIds.length).join() !== msgIds.join()) missing.push(`${id}: ${msgIds} vs ${got}`);
  });
  assert.deepEqual(missing, []);
});
