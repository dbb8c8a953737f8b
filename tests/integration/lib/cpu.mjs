// The CPU a test file's processes used, for scripts/test.sh's list of
// the costliest files (on 2 cores the files share the processors, so a
// file's wall time says little of what it costs the others). When
// PARLEY_TEST_CPU_LOG names a file, the process appends one line to it at
// exit: "<user+system s> <user s> <system s> <test file>". It counts this
// node process and every child it waited for, with theirs (/proc/self/
// stat's utime, stime, cutime and cstime): the daemons it started, their
// workers, Chromium. A process whose parent died first (the workers of a
// masterd killed with SIGKILL) is not counted.
import fs from 'node:fs';
import path from 'node:path';

const USER_HZ = 100;	// /proc's clock ticks on Linux

// {user, sys} in seconds, this process's and its waited-for children's.
function cpuSeconds() {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  // Fields from the 3rd (state) on: utime is the 14th.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  return { user: (f[11] + f[13]) / USER_HZ, sys: (f[12] + f[14]) / USER_HZ };
}

const log = process.env.PARLEY_TEST_CPU_LOG;
if (log && process.argv[1]) {
  const file = path.relative(process.cwd(), process.argv[1]);
  process.on('exit', () => {
    try {
      const { user, sys } = cpuSeconds();
      fs.appendFileSync(log, `${(user + sys).toFixed(1)} ${user.toFixed(1)} ${sys.toFixed(1)} ${file}\n`);
    } catch { /* no /proc: no line */ }
  });
}
