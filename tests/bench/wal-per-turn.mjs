// What a chat turn writes: starts the test build (build/test/bin, one
// worker, the mock model), makes TURNS HTTP chat turns in new sessions,
// then reads storaged's write-ahead log and prints its operations grouped
// by database (storaged/storelog.c's format: u8 kind, u8 database, u32 key
// length, key, for a put u32 value length and value), biggest first. A
// figure for comparing releases: `node tests/bench/wal-per-turn.mjs` in
// each checkout (after `make test-build-node`). Prints, never asserts.
import fs from 'node:fs';
import path from 'node:path';

import { Parley, REPO } from '../integration/lib/harness.mjs';

const TURNS = Number(process.env.TURNS || 3);
const KINDS = ['', 'put', 'del', 'drop'];

// store_dbs[] of storaged/store.c: a database's place is its number in the log.
const dbs = [...fs.readFileSync(path.join(REPO, 'storaged/store.c'), 'utf8')
  .matchAll(/\{ "([a-z_]+)", offsetof\(struct store/g)].map((m) => m[1]);

const p = new Parley({ workers: 1, mock: true });
await p.start();
try {
  for (let i = 0; i < TURNS; i++) {
    const r = await p.request('POST', '/v1/chat', {
      headers: { 'x-api-key': p.widgetKey, 'Content-Type': 'application/json' },
      body: JSON.stringify({ sessionId: `wal-${i}`, message: 'hello there' }),
    });
    if (r.status !== 200) throw new Error(`turn ${i}: ${r.status} ${r.text}`);
  }
  await new Promise((r) => setTimeout(r, 300));
  const file = fs.readdirSync(p.dataDir).find((f) => f.includes('wal'));
  const buf = fs.readFileSync(path.join(p.dataDir, file));
  const by = new Map();
  let off = 0, records = 0, bytes = 0;
  while (off + 16 <= buf.length) {
    const len = buf.readUInt32BE(off);
    if (len === 0) break;
    const body = buf.subarray(off + 16, off + 16 + len);
    records++;
    bytes += len;
    for (let o = 0; o < body.length;) {
      const kind = body[o], db = body[o + 1], kl = body.readUInt32BE(o + 2);
      let n = 6 + kl;
      if (kind === 1) n += 4 + body.readUInt32BE(o + n);
      const name = `${KINDS[kind]} ${dbs[db] ?? db}`;
      const e = by.get(name) ?? { ops: 0, bytes: 0 };
      e.ops++;
      e.bytes += n;
      by.set(name, e);
      o += n;
    }
    off += 16 + len;
  }
  console.log(`${TURNS} turns: ${records} log records since start, ${bytes} body bytes (${Math.round(bytes / TURNS)} a turn, start-up included)`);
  for (const [name, e] of [...by].sort((a, b) => b[1].bytes - a[1].bytes)) {
    console.log(`  ${name.padEnd(28)} ${String(e.ops).padStart(4)} ops ${String(e.bytes).padStart(7)} bytes`);
  }
} finally {
  await p.stop();
}
