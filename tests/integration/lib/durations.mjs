// A node --test reporter that writes how long each test file took (the
// sum of its top-level tests and suites), slowest first, one line a file:
// "  12.3 s  tests/integration/chat.test.mjs". scripts/test.sh uses it
// beside the TAP reporter so each run says where its time went.
import path from 'node:path';

// A test defined in a part (tests/integration/abuse/login.mjs) counts for
// the file that imports its parts (tests/integration/abuse.test.mjs).
function testFile(file) {
  if (file.endsWith('.test.mjs')) return file;
  return `${path.dirname(file)}.test.mjs`;
}

export default async function* durations(source) {
  const files = new Map();
  for await (const ev of source) {
    if ((ev.type !== 'test:pass' && ev.type !== 'test:fail') || ev.data.nesting !== 0) continue;
    const f = ev.data.file ? testFile(path.relative(process.cwd(), ev.data.file)) : '?';
    files.set(f, (files.get(f) || 0) + (ev.data.details.duration_ms || 0));
  }
  for (const [f, ms] of [...files].sort((a, b) => b[1] - a[1])) {
    yield `${(ms / 1000).toFixed(1).padStart(6)} s  ${f}\n`;
  }
}
