// A full store (storaged/STORAGE.md, "The map's floor"): the floor keeps
// the owner's own writes from filling the map, so the owner's deletes
// still run and storaged still starts.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { sleep, startParley } from './lib/harness.mjs';
import { chat, sid } from './lib/chat.mjs';

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
