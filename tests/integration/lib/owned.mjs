// The daemons a test file started, killed when its node process exits
// with them still running: a file that dies outside its own teardown (an
// exception where no after() hook runs, a script that stops on an
// assertion) leaves no parley-masterd, parley-storaged or mock behind for
// the files after it; nor etcd, the SMTP server, what the cluster tests
// start in their namespaces, or make run's daemons. The teardowns stop
// them first, as they always did; this is only the net under them.
// (masterd's workers end with it.)
import { spawn } from 'node:child_process';

const live = new Set();

process.on('exit', () => {
  for (const child of live) {
    for (const pid of child.ownedToo ? child.ownedToo() : []) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
    try { child.kill('SIGKILL'); } catch { /* gone */ }
  }
});

// spawn(), the child remembered until it exits. too: a function giving
// the pids of what the child started that would outlive it (make run's
// daemons), killed with it.
export function spawnOwned(cmd, args, opts, too = null) {
  const child = spawn(cmd, args, opts);
  child.ownedToo = too;
  live.add(child);
  child.on('exit', () => live.delete(child));
  child.on('error', () => live.delete(child));
  return child;
}
