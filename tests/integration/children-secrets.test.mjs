// Which secrets each child of masterd holds (masterd/procs.c, each row's
// secrets): a worker the widget and admin keys, the dashboard password and
// the model's key; the notifier the SMTP password alone; the fetcher
// (parley-fetch, whose child reads untrusted PDFs with poppler) the
// model's key alone. A secret a child does not get is nowhere in its
// memory (/proc/<pid>/mem, every readable mapping): not in its settings
// (MW_SETTINGS) and not in its environment (masterd's without them,
// config_child_env; /proc/<pid>/environ itself is blank once the process
// title is set, so the environment's copy in the heap is what is read),
// while the ones it gets are (the scan sees them). SMTP_USER is set with
// its password: the children that do not get the password still start.
// The fetcher's child that reads a PDF (workerd/fetch/docchild.c; a
// visitor's attachment that holds its reader, the test build's
// parley-test-spin) holds no fd but stdio and its pipe, and not the
// model's key the fetcher holds. Each Parley is stopped in its test's
// after().
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { test } from 'node:test';

import { upload } from './lib/attach.mjs';
import { childPids, startParley, waitFor } from './lib/harness.mjs';
import { createWidget, Visitor } from './lib/wsclient.mjs';

const WAIT = 10000;
// The largest mapping scanned: the sanitizers' shadow memory is reserved
// in terabytes, and no heap of these processes comes near this.
const MAP_MAX = 256 << 20;

const hex = () => crypto.randomBytes(16).toString('hex');
const SECRETS = {
  DASHBOARD_PASSWORD: `dash-${hex()}`,
  OPENAI_API_KEY: `sk-${hex()}`,
  SMTP_PASSWORD: `smtp-${hex()}`,
};
// What each role gets (besides, the harness's own widget and admin keys).
const GETS = {
  worker: ['WIDGET_API_KEY', 'ADMIN_API_KEY', 'DASHBOARD_PASSWORD', 'OPENAI_API_KEY'],
  notifier: ['SMTP_PASSWORD'],
  fetcher: ['OPENAI_API_KEY'],
};

// Which of needles ([name, bytes]) a readable mapping of pid holds, each
// mapping read whole.
function memHolds(pid, needles) {
  const found = new Set();
  const maps = fs.readFileSync(`/proc/${pid}/maps`, 'latin1').trim().split('\n');
  const fd = fs.openSync(`/proc/${pid}/mem`, 'r');
  try {
    for (const line of maps) {
      const [range, perms] = line.split(' ');
      const [lo, hi] = range.split('-').map((x) => parseInt(x, 16));
      if (perms[0] !== 'r' || hi - lo > MAP_MAX || /\[(vvar|vsyscall)\]/.test(line)) continue;
      const buf = Buffer.alloc(hi - lo);
      let n;
      try { n = fs.readSync(fd, buf, 0, buf.length, lo); } catch { continue; }
      for (const [name, bytes] of needles) if (buf.subarray(0, n).includes(bytes)) found.add(name);
    }
  } finally {
    fs.closeSync(fd);
  }
  return found;
}

test('each child holds the secrets its row gives it and no other, in its settings or its environment', { timeout: 60000 }, async (t) => {
  const p = await startParley(t, {
    workers: 1,
    env: { ...SECRETS, SMTP_URL: 'smtp://127.0.0.1:9', SMTP_USER: 'parley', SMTP_FROM: 'parley@example.com' },
  });
  const values = { ...SECRETS, WIDGET_API_KEY: p.widgetKey, ADMIN_API_KEY: p.adminKey };
  const notifier = await p.waitNotifierReady(WAIT);
  await waitFor(() => p.fetcherPids().length === 1 &&
    new RegExp(`fetcher \\d+ \\(pid ${p.fetcherPids()[0]}\\) ready after`).test(p.logs.masterd), WAIT, 'the fetcher ready');
  const roles = { worker: p.workerPids()[0], notifier, fetcher: p.fetcherPids()[0] };
  assert.equal((await p.get('/health')).status, 200);

  for (const [role, pid] of Object.entries(roles)) {
    const held = memHolds(pid, Object.entries(values).map(([n, v]) => [n, Buffer.from(v)]));
    t.diagnostic(`${role} (pid ${pid}) holds ${[...held].sort().join(', ') || 'no secret'}`);
    assert.deepEqual([...held].sort(), [...GETS[role]].sort(), `${role}'s memory holds what its row gives it alone`);
  }
});

// Its fds but stdio: each with what it is (readlink).
function fdsPast2(pid) {
  return fs.readdirSync(`/proc/${pid}/fd`).map(Number).filter((fd) => fd > 2).sort((a, b) => a - b)
    .map((fd) => { try { return `${fd} ${fs.readlinkSync(`/proc/${pid}/fd/${fd}`)}`; } catch { return `${fd} gone`; } });
}

test('the child that reads a PDF: no fd of the fetcher\'s, not the model\'s key it holds', { timeout: 60000 }, async (t) => {
  const p = await startParley(t, {
    workers: 1, mock: true,
    env: { OPENAI_API_KEY: SECRETS.OPENAI_API_KEY, RATE_LIMIT_MAX_REQUESTS: '0', PARLEY_TEST_ATT_CPU_S: '30' },
  });
  await waitFor(() => p.fetcherPids().length === 1, WAIT, 'a fetcher');
  const [fetcher] = p.fetcherPids();
  const w = await createWidget(p, { attachment_types: ['pdf'] });
  const v = await Visitor.open(p, w.widget_id);
  t.after(() => v.close());
  const { session_token: token } = await v.next('session');
  const up = await upload(p, w.widget_id, token, 'held.pdf', Buffer.from('%PDF-1.0\n% parley-test-spin\n%%EOF\n'));
  assert.equal(up.status, 200, JSON.stringify(up.json));
  await waitFor(() => childPids(fetcher).length === 1, 20000, 'the reader\'s child');
  const [child] = childPids(fetcher);
  const key = ['OPENAI_API_KEY', Buffer.from(SECRETS.OPENAI_API_KEY)];
  assert.deepEqual([...memHolds(fetcher, [key])], ['OPENAI_API_KEY'], 'the fetcher holds the model\'s key');
  let fds;
  await waitFor(() => (fds = fdsPast2(child)).length === 1, 5000, 'the child\'s fds but stdio: its pipe alone')
    .catch((e) => assert.fail(`${e.message}: ${fds.join(', ')}`));
  assert.match(fds[0], /^3 pipe:/);
  assert.deepEqual([...memHolds(child, [key])], [], 'the child does not hold the model\'s key');
});
