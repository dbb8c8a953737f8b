// A standby whose link to its primary dies silently (no reset ever comes)
// notices and dials again (storaged/STORAGE.md "Replication"). st1
// primary, st2 its hot standby over mutual TLS (lib/stores.mjs, etcd
// deciding), both with the dead-peer time lowered to 2 s
// (PARLEY_TEST_PEER_DEAD_MS, the test build's; PEER_DEAD_MS is 10 s).
//
// st1 and st2 stop reaching each other (a blackhole route to the other on
// each; both still reach etcd) until st1 closed its side of the stream
// (its TCP_USER_TIMEOUT/keepalive), then reach each other again; a write
// on st1 then reaches st2 within a few seconds: st2's own timeout ended
// its socket and it dialled again. Before, st2's socket had no timer: it
// stayed ESTABLISHED to a connection st1 had closed, never dialled again,
// and stayed at its old record while `parleyctl role` said linked.
//
// About 4 s: the cluster's start, a cut of about 2 s, the catch-up.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';

import { waitFor } from '../integration/lib/harness.mjs';
import { T, chatBegin as begin, rep } from '../integration/lib/storage.mjs';
import { ClientHost } from './lib/client.mjs';
import { Cluster } from './lib/netns.mjs';
import { MODE, STORES, Stores } from './lib/stores.mjs';

const DEAD_MS = 2000;

// Hosts a and b reach each other no more (a blackhole route to the other
// on each: what either sends the other goes nowhere, no reset, no error
// on the wire), or again: a link between them gone silently while both
// still reach etcd. (Cutting st2's whole link would cut etcd too, whose
// lease then tells st2 to follow st1 again once back, which redials
// whatever the link's socket knows.)
function route(cluster, op, a, b) {
  for (const [h, o] of [[a, b], [b, a]]) {
    execFileSync('ip', ['-n', cluster.ns(h), 'route', op, 'blackhole', `${cluster.addr(o)}/32`], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10000 });
  }
}
const partition = (cluster, a, b) => route(cluster, 'add', a, b);
const heal = (cluster, a, b) => route(cluster, 'del', a, b);

describe(`a standby's link to its primary dies silently (${MODE})`, () => {
  let cluster, client, st, tmp;
  before(async () => {
    cluster = await Cluster.create({ hosts: [...STORES, ...(MODE === 'auto' ? ['etcd'] : []), 'client'] });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-standby-link-'));
    client = await ClientHost.start(cluster);
    st = await Stores.start(cluster, { tmp, client, env: { PARLEY_TEST_PEER_DEAD_MS: String(DEAD_MS) } });
  });
  after(async () => {
    const problems = [];
    if (st) await st.stop().catch((e) => problems.push(e.message));
    if (client) await client.stop().catch((e) => problems.push(e.message));
    if (cluster) {
      const left = cluster.leftovers();
      if (Object.keys(left).length) problems.push(`processes left in the namespaces: ${JSON.stringify(left)}`);
      cluster.destroy();
    }
    if (problems.length) throw new Error(`${problems.join('\n')}\n--- kept: ${tmp}`);
    if (tmp && !process.env.PARLEY_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('cut off longer than the primary waits, then back: the standby dials again and catches up', { timeout: 60000 }, async (t) => {
    const sc = await st.node('st1').storage({ name: 'itest-link' });
    t.after(() => sc.close());
    const write = async (what) => {
      const s = `link-${crypto.randomBytes(4).toString('hex')}`;
      rep(T.ST_CHAT_BEGIN, await sc.call(T.ST_CHAT_BEGIN, begin(s, what), { timeout: 10000 }));
    };
    await write('before the cut');
    await st.caughtUp('st1', 'st2');
    const p1 = st.node('st1');
    const from = p1.logs.storaged.length;
    const t0 = Date.now();
    partition(cluster, 'st1', 'st2');
    try {
      // st1's keepalive ends its side first (its probes unanswered).
      await waitFor(() => /replication: the standby disconnected/.test(p1.logs.storaged.slice(from)), 5 * DEAD_MS,
        `st1 closed its side of st2's stream\n${p1.tail('storaged')}`);
    } finally {
      heal(cluster, 'st1', 'st2');
    }
    const cut = Date.now() - t0;
    await write('after the cut');
    const t1 = Date.now();
    await waitFor(async () => {
      const [a, b] = [await st.role('st1'), await st.role('st2')];
      return b.role === 'standby' && b.linked && a.linked && b.seq === a.seq && a.acked === a.seq;
    }, 5 * DEAD_MS, `st2 caught up with st1 after its link came back\n--- st1:\n${st.node('st1').tail('storaged')}\n--- st2:\n${st.node('st2').tail('storaged')}`);
    t.diagnostic(`link cut ${cut} ms (until st1 closed its side); st2 caught up ${Date.now() - t1} ms after the write`);
    await st.node('st2').waitLog('storaged', /replication: the link to the primary ended/);
  });
});
