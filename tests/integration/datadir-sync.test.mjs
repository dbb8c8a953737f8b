// A first start's files are durable by name too (storaged/store.c's
// dir_entries_sync): an fdatasync of a new file (data.mdb, the log) need
// not write the directory entry that names it, so a power loss right
// after the first acknowledged writes could lose the files whole. storaged
// under strace, in a data directory it makes: it opens the data directory
// and its parent and fsyncs each before it serves. And a backup's file
// (parleyctl backup makes it, storaged fsyncs it): parleyctl under strace
// fsyncs the directory that names it before it says it is written.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { BIN, Parley, waitFor } from './lib/harness.mjs';
import { NO_LSAN } from './lib/faults.mjs';

// The fds strace saw dir opened on (O_DIRECTORY) and then fsynced.
function fsyncedDirs(trace) {
  const open = new Map(); // fd -> path
  const synced = new Set();
  for (const line of trace.split('\n')) {
    let m = /openat\(AT_FDCWD, "([^"]+)", [^)]*O_DIRECTORY[^)]*\) = (\d+)/.exec(line);
    if (m) open.set(m[2], m[1]);
    m = /fsync\((\d+)\)\s+= 0/.exec(line);
    if (m && open.has(m[1])) synced.add(open.get(m[1]));
  }
  return synced;
}

test('a new data directory: storaged fsyncs it and its parent before it serves', { timeout: 60000 }, async (t) => {
  // Beside the harness's folder, which its stop removes.
  const dir0 = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-dirsync-'));
  t.after(() => fs.rmSync(dir0, { recursive: true, force: true }));
  const traceFile = path.join(dir0, 'storaged.strace');
  const p = new Parley({
    workers: 1,
    env: { ...NO_LSAN },
    wrap: {
      storaged: (bin, env) => {
        // -D: strace a grandchild, storaged the process the harness signals.
        return ['strace', ['-D', '-f', '-e', 'trace=openat,fsync', '-o', traceFile, bin], env];
      },
    },
  });
  try {
    await p.start();
  } finally {
    await p.stop();
  }
  // strace (a detached grandchild) ends after storaged: its last line.
  const read = () => (fs.existsSync(traceFile) ? fs.readFileSync(traceFile, 'utf8') : '');
  await waitFor(() => /\+\+\+ exited with \d+ \+\+\+\s*$/.test(read()), 10000, 'the trace whole');
  const synced = fsyncedDirs(read());
  const dir = p.dataDir.replace(/\/+$/, '');
  assert.ok(synced.has(dir), `the data directory ${dir} fsynced: ${JSON.stringify([...synced])}`);
  assert.ok(synced.has(path.dirname(dir)), `its parent fsynced: ${JSON.stringify([...synced])}`);
});

test('a backup: parleyctl fsyncs the directory that names the new file before it says so', { timeout: 60000 }, async (t) => {
  const p = new Parley({ masterd: false });
  t.after(() => p.stop());
  await p.start();
  const dir = path.join(p.tmp, 'backups');
  fs.mkdirSync(dir);
  const file = path.join(dir, 'b.mdb');
  const traceFile = path.join(p.tmp, 'parleyctl.strace');
  const r = spawnSync('strace', ['-f', '-e', 'trace=openat,fsync', '-o', traceFile,
    path.join(BIN, 'parleyctl'), '-S', p.sockPath, 'backup', file],
  { env: { ...p.env(), ...NO_LSAN }, encoding: 'utf8', timeout: 30000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /backup: \d+ bytes written to /);
  assert.ok(fs.statSync(file).size > 0);
  const synced = fsyncedDirs(fs.readFileSync(traceFile, 'utf8'));
  assert.ok(synced.has(dir), `the backup's directory ${dir} fsynced: ${JSON.stringify([...synced])}`);
});
