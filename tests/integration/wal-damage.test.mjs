// A log record damaged on disk after its flush, acknowledged turns after
// it (storaged/STORAGE.md, "Durability"): storaged refuses to start,
// naming wal.log, the record and its offset, and what to do, rather than
// start without the turns after it; the byte put back, it starts. One
// stack, one worker; storaged killed with SIGKILL, so the turns are in the
// log alone.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { BIN, Parley } from './lib/harness.mjs';
import { chat, sid } from './lib/chat.mjs';

const HDR = 16; // u32 length, u32 CRC-32C, u64 seq (storaged/wal.h)

// The log's records from offset 0 while seqs go up by one (the CRCs
// unchecked): [{ off, len, seq }].
function records(file) {
  const b = fs.readFileSync(file);
  const out = [];
  for (let off = 0; off + HDR <= b.length;) {
    const len = b.readUInt32BE(off);
    const seq = b.readBigUInt64BE(off + 8);
    if (len === 0 || off + HDR + len > b.length) break;
    if (out.length > 0 && seq !== out[out.length - 1].seq + 1n) break;
    out.push({ off, len, seq });
    off += HDR + len;
  }
  return out;
}

function flip(file, off) {
  const fd = fs.openSync(file, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, off);
  b[0] ^= 0x10;
  fs.writeSync(fd, b, 0, 1, off);
  fs.closeSync(fd);
}

describe('a damaged log record', () => {
  let p;

  before(async () => {
    p = new Parley({ mock: true, workers: 1 });
    await p.start();
  });
  after(async () => { if (p) await p.stop(); });

  test('with acknowledged turns after it: storaged refuses to start, saying where and what to do', async () => {
    // One after another: each turn's records were flushed before its
    // reply, so before the next turn's were written.
    for (let i = 0; i < 4; i++) assert.equal((await chat(p, sid('d'), `turn ${i}`)).status, 200);
    await p.killStoraged('SIGKILL');
    const wal = path.join(p.dataDir, 'wal.log');
    const recs = records(wal);
    assert.ok(recs.length >= 4, `records in the log: ${recs.length}`);
    const k = recs[1];
    const at = k.off + HDR + k.len - 1; // its body's last byte
    flip(wal, at);

    const r = spawnSync(path.join(BIN, 'parley-storaged'), [], { env: p.env(), encoding: 'utf8', timeout: 10000, killSignal: 'SIGKILL' });
    assert.equal(r.signal, null, `it started (killed by the test's timeout):\n${r.stderr}`);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`wal\\.log: record ${k.seq} at offset ${k.off} is damaged`));
    assert.match(r.stderr, /Restore a backup .*, or move wal\.log away/);

    // Put back: it starts, and serves.
    flip(wal, at);
    await p.startStoraged();
    assert.equal((await p.get('/health')).status, 200);
  });
});
