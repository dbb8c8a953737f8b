// What the hot standby costs a write (issue 25; run by hand):
//
//   PARLEY_BIN=$PWD/bin node tests/bench/replica.mjs [seconds] [clients]
//
// A storaged alone (PARLEY_SYNC=full), then a primary with PARLEY_SYNC=
// replica and its standby on the same machine (over its Unix socket):
// `clients` connections each append messages (ST_MSG_APPEND, one in flight
// per connection) for `seconds`; printed: appends acknowledged a second,
// batches (commits) a second, and the latency's p50/p99 of each.
import { Parley } from '../integration/lib/harness.mjs';

const SECONDS = Number(process.argv[2] || 5);
const CLIENTS = Number(process.argv[3] || 32);

async function run(p) {
  const conns = [];
  for (let i = 0; i < CLIENTS; i++) conns.push(await p.storage({ as: 'parley-workerd' }));
  const convs = await Promise.all(conns.map((c, i) => c.convOpen('default', `bench-${i}`)));
  const lat = [];
  const t0 = Date.now();
  const before = (await p.ctl(['role', '--json'])).stdout;
  await Promise.all(conns.map(async (c, i) => {
    while (Date.now() - t0 < SECONDS * 1000) {
      const s = process.hrtime.bigint();
      await c.msgAppend(convs[i].conv.id, 'user', `turn ${lat.length} of client ${i}`);
      lat.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
  }));
  const secs = (Date.now() - t0) / 1000;
  const seqs = JSON.parse((await p.ctl(['role', '--json'])).stdout).seq - JSON.parse(before).seq;
  for (const c of conns) c.close();
  lat.sort((a, b) => a - b);
  const q = (f) => lat[Math.min(lat.length - 1, Math.floor(lat.length * f))].toFixed(2);
  return { perSec: lat.length / secs, batches: seqs / secs, p50: q(0.5), p99: q(0.99) };
}

async function main() {
  const out = [];
  for (const mode of ['full', 'replica']) {
    const p = new Parley({ masterd: false, env: { PARLEY_SYNC: mode, PARLEY_MAP_SIZE_MB: '1024' } });
    await p.start();
    let s = null;
    if (mode === 'replica') {
      s = new Parley({ masterd: false, env: { PARLEY_ROLE: 'standby', PARLEY_PRIMARY: `unix:${p.sockPath}`, PARLEY_MAP_SIZE_MB: '1024' } });
      await s.start();
      for (let i = 0; i < 500 && !JSON.parse((await p.ctl(['role', '--json'])).stdout).inSync; i++) await new Promise((r) => setTimeout(r, 20));
    }
    try {
      out.push({ mode, ...(await run(p)) });
    } finally {
      if (s) await s.stop();
      await p.stop();
    }
  }
  console.log(`ST_MSG_APPEND, ${CLIENTS} connections, ${SECONDS} s each (${process.env.PARLEY_BIN || 'build/test/bin'}):`);
  for (const r of out) {
    console.log(`  PARLEY_SYNC=${r.mode.padEnd(8)} ${r.perSec.toFixed(0).padStart(6)} appends/s  ${r.batches.toFixed(0).padStart(5)} batches/s  p50 ${r.p50} ms  p99 ${r.p99} ms`);
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
