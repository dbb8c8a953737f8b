// The daemons a test file started, killed when its node process exits
// with them still running: a file that dies outside its own teardown (an
// exception where no after() hook runs, a script that stops on an
// assertion) leaves no parley-masterd, parley-storaged or mock behind for
// the files after it. The teardowns stop them first, as they always did;
// this is only the net under them. (masterd's workers end with it.)
import { spawn } from 'node:child_process';

const live = new Set();

process.on('exit', () => {
  for (const child of live) {
    try { child.kill('SIGKILL'); } catch { /* gone */ }
  }
});

// spawn(), the child remembered until it exits.
export function spawnOwned(cmd, args, opts) {
  const child = spawn(cmd, args, opts);
  live.add(child);
  child.on('exit', () => live.delete(child));
  child.on('error', () => live.delete(child));
  return child;
}
