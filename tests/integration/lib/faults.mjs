// Disk faults for the durability tests: strace's fault injection on a
// running daemon, and the sanitizer options such a daemon runs with.
import { spawn } from 'node:child_process';

import { ASAN_SPEED } from './harness.mjs';

// LeakSanitizer cannot run in a process strace holds: a daemon strace will
// attach to runs with these ASAN_OPTIONS (leaks not checked).
export const NO_LSAN = { ASAN_OPTIONS: `abort_on_error=0:halt_on_error=1:detect_leaks=0:print_summary=1:exitcode=66:${ASAN_SPEED}` };

// strace attached to pid, every fdatasync from now on failing with EIO
// (its fault injection: the real call is not made). Resolves with the
// strace process once attached; killing it ends the faults.
export function failSyncs(pid) {
  return straceSyncs(pid, 'inject=fdatasync:error=EIO');
}

// strace attached to pid, every fdatasync from now on made ms later (its
// delay injection; the real call is made): a commit is slow to reach the
// disk. Resolves with the strace process once attached; killing it ends
// the delays.
export function slowSyncs(pid, ms) {
  return straceSyncs(pid, `inject=fdatasync:delay_enter=${ms * 1000}`);
}

function straceSyncs(pid, inject) {
  const tr = spawn('strace', ['-f', '-o', '/dev/null', '-e', 'trace=fdatasync', '-e', inject,
    '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    tr.stderr.on('data', (d) => {
      err += d;
      if (/attached/.test(err)) resolve(tr);
    });
    tr.on('error', reject);
    tr.on('exit', (code) => reject(new Error(`strace exited (${code}): ${err}`)));
  });
}
