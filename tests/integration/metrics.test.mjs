// GET /metrics (issue 7): Prometheus text, read by a strict parser written
// here (HELP/TYPE once per family and before its samples, a family's
// samples together, labels and their escapes, histograms cumulative with
// +Inf equal to _count), with totals over every worker: chat turns, a
// stream, a WebSocket turn and 404s move their counters by exactly what
// was sent; a worker killed by SIGKILL bumps parley_worker_restarts_total
// and no counter goes backwards; without storaged a worker answers alone;
// a push that timed out while storaged was stopped (SIGSTOP), and that
// storaged then ran all the same, is counted once, not once per resend.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Parley, SHORT_STARTUP, sleep } from './lib/harness.mjs';
import { chat, sid, streamTurn } from './lib/chat.mjs';
import { createWidget, Visitor } from './lib/wsclient.mjs';

const CTYPE = 'text/plain; version=0.0.4; charset=utf-8';
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseLabels(s, line) {
  const out = {};
  let i = 0;
  while (i < s.length) {
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(s.slice(i));
    assert.ok(m, `label name at ${i}: ${line}`);
    i += m[0].length;
    let v = '';
    for (;;) {
      assert.ok(i < s.length, `unterminated label value: ${line}`);
      const ch = s[i++];
      if (ch === '"') break;
      if (ch === '\\') {
        const e = s[i++];
        assert.ok(e === '\\' || e === '"' || e === 'n', `bad escape \\${e}: ${line}`);
        v += e === 'n' ? '\n' : e;
      } else {
        assert.notEqual(ch, '\n');
        v += ch;
      }
    }
    assert.ok(!(m[1] in out), `label ${m[1]} twice: ${line}`);
    out[m[1]] = v;
    if (i < s.length) {
      assert.equal(s[i], ',', `after a label: ${line}`);
      i++;
      assert.ok(i < s.length, `trailing comma: ${line}`);
    }
  }
  return out;
}

function parseValue(s, line) {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  assert.match(s, /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/, `value: ${line}`);
  return Number(s);
}

// Strict enough for what we emit: returns {families: Map(name -> {type, help,
// samples: [{name, labels, value}]})} and checks the exposition rules.
export function parseProm(text) {
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  const families = new Map();
  const closed = new Set();
  let cur = null;
  const familyOf = (name) => {
    if (families.has(name)) return name;
    for (const sfx of ['_bucket', '_sum', '_count']) {
      if (name.endsWith(sfx)) {
        const base = name.slice(0, -sfx.length);
        if (families.get(base)?.type === 'histogram') return base;
      }
    }
    return name;
  };
  for (const line of text.slice(0, -1).split('\n')) {
    assert.notEqual(line, '', 'no empty lines');
    let m;
    if ((m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line))) {
      const [, kw, name, rest] = m;
      assert.match(name, NAME, line);
      if (!families.has(name)) {
        assert.ok(!closed.has(name), `family ${name} seen again: ${line}`);
        if (cur && cur !== name) closed.add(cur);
        families.set(name, { type: 'untyped', help: null, typed: false, samples: [] });
        cur = name;
      }
      assert.equal(cur, name, `HELP/TYPE of ${name} away from its family`);
      const f = families.get(name);
      assert.equal(f.samples.length, 0, `${kw} after samples of ${name}`);
      if (kw === 'TYPE') {
        assert.ok(!f.typed, `TYPE twice for ${name}`);
        assert.ok(TYPES.has(rest), `type ${rest}`);
        f.type = rest;
        f.typed = true;
      } else {
        assert.equal(f.help, null, `HELP twice for ${name}`);
        f.help = rest;
      }
      continue;
    }
    assert.ok(!line.startsWith('#'), `unknown comment: ${line}`);
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `sample line: ${line}`);
    const [, name, lab, val] = m;
    const fam = familyOf(name);
    if (!families.has(fam)) {
      if (cur) closed.add(cur);
      families.set(fam, { type: 'untyped', help: null, typed: false, samples: [] });
      cur = fam;
    }
    assert.equal(cur, fam, `samples of ${fam} not together: ${line}`);
    assert.ok(!closed.has(fam), `family ${fam} again: ${line}`);
    families.get(fam).samples.push({ name, labels: lab ? parseLabels(lab, line) : {}, value: parseValue(val, line) });
  }
  for (const [name, f] of families) {
    const keys = new Set();
    for (const s of f.samples) {
      const k = s.name + JSON.stringify(Object.entries(s.labels).sort());
      assert.ok(!keys.has(k), `duplicate sample ${k}`);
      keys.add(k);
      if (f.type === 'counter') assert.ok(s.value >= 0, `counter ${name} negative`);
    }
    if (f.type === 'histogram') checkHistogram(name, f);
  }
  return families;
}

function checkHistogram(name, f) {
  const groups = new Map();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const k = JSON.stringify(Object.entries(rest).sort());
    if (!groups.has(k)) groups.set(k, { buckets: [], sum: null, count: null });
    const g = groups.get(k);
    if (s.name === `${name}_bucket`) {
      assert.ok(le !== undefined, `${name}_bucket without le`);
      g.buckets.push([le === '+Inf' ? Infinity : Number(le), s.value]);
    } else if (s.name === `${name}_sum`) g.sum = s.value;
    else if (s.name === `${name}_count`) g.count = s.value;
    else assert.fail(`${s.name} in histogram ${name}`);
  }
  for (const g of groups.values()) {
    assert.ok(g.buckets.length > 0 && g.sum !== null && g.count !== null, `${name}: buckets, _sum, _count`);
    for (let i = 1; i < g.buckets.length; i++) {
      assert.ok(g.buckets[i][0] > g.buckets[i - 1][0], `${name}: le ascending`);
      assert.ok(g.buckets[i][1] >= g.buckets[i - 1][1], `${name}: cumulative`);
    }
    const last = g.buckets[g.buckets.length - 1];
    assert.equal(last[0], Infinity, `${name}: +Inf bucket last`);
    assert.equal(last[1], g.count, `${name}: +Inf equals _count`);
  }
}

// One sample's value (0 when absent).
function val(fams, name, labels = {}) {
  for (const f of fams.values()) {
    for (const s of f.samples) {
      if (s.name !== name) continue;
      if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) {
        if (Object.keys(s.labels).length === Object.keys(labels).length) return s.value;
      }
    }
  }
  return 0;
}

// Every counter-like sample as key -> value (counters and histograms).
function counters(fams) {
  const m = new Map();
  for (const f of fams.values()) {
    if (f.type !== 'counter' && f.type !== 'histogram') continue;
    for (const s of f.samples) m.set(s.name + JSON.stringify(Object.entries(s.labels).sort()), s.value);
  }
  return m;
}

const http = (route, method, status) => ['parley_http_requests_total', { route, method, status: String(status) }];

// The two parts, each on a stack of its own, side by side: the second
// mostly waits on a stopped storaged. Within each, its tests one after
// another (each says concurrency false: it would inherit true).
describe('GET /metrics', { concurrency: true }, () => {
  describe('GET /metrics, 2 workers', { concurrency: false }, () => {
    let p;
    before(async () => {
      p = new Parley({ workers: 2, mock: { chunks: 3 }, env: { RATE_LIMIT_MAX_REQUESTS: '1000000', PARLEY_METRICS_OPEN: 'loopback', ...SHORT_STARTUP } });
      await p.start();
    });
    after(async () => { await p.stop(); assert.deepEqual(p.problems, []); });

    async function scrape(opts = {}) {
      const r = await p.get('/metrics', opts);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers['content-type'], CTYPE);
      assert.equal(r.headers['cache-control'], 'no-store');
      return parseProm(r.text);
    }

    // Scrapes until pred(families) holds, up to ms; returns the last scrape.
    async function scrapeUntil(pred, ms = 4000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const f = await scrape();
        if (pred(f) || Date.now() > deadline) return f;
        await sleep(100);
      }
    }

    test('parses; storage up; both workers report; HEAD works; the key is accepted too', async () => {
      const f = await scrapeUntil((x) => val(x, 'parley_workers') === 2);
      assert.equal(val(f, 'parley_storage_up'), 1);
      assert.equal(val(f, 'parley_workers'), 2);
      for (const name of ['parley_storage_up', 'parley_workers', 'parley_http_connections', 'parley_ws_sessions_open',
        'parley_streams_open', 'parley_storage_commits_total']) {
        assert.ok(f.has(name), `family ${name}`);
        assert.ok(f.get(name).help && f.get(name).typed, `HELP and TYPE for ${name}`);
      }
      // The route's own answers: loopback without a key, with a wrong key, with the key.
      await scrape({ headers: { 'x-admin-api-key': 'wrong' } });
      await scrape({ headers: { 'x-admin-api-key': p.adminKey } });
      const h = await p.request('HEAD', '/metrics');
      assert.equal(h.status, 200);
      assert.equal(h.text, '');
    });

    test('counters move with the traffic, summed over the workers', async () => {
      const a = await scrape();
      const N = 5;
      for (let i = 0; i < N; i++) {
        const r = await chat(p, sid('m'), `metrics turn ${i}`);
        assert.equal(r.status, 200, r.text);
      }
      await streamTurn(p, sid('ms'), 'a streamed turn');
      const w = await createWidget(p, {});
      const v = await Visitor.open(p, w.widget_id);
      await v.next('session');
      await v.turn('hello metrics over ws');
      await v.close();
      for (let i = 0; i < 7; i++) assert.equal((await p.get(`/no/such/${i}`)).status, 404);

      const d = (f, name, labels) => val(f, name, labels) - val(a, name, labels);
      const want = [
        [http('/v1/chat', 'POST', 200), N],
        [http('/v1/chat/stream', 'POST', 200), 1],
        [http('/api/widget/:wid/ws', 'GET', 101), 1],
        [http('other', 'other', 404), 7],
        [['parley_upstream_requests_total', {}], N + 2],
        [['parley_upstream_responses_total', { outcome: 'ok' }], N + 2],
        [['parley_upstream_duration_seconds_count', {}], N + 2],
        [['parley_upstream_ttfb_seconds_count', {}], N + 2],
        [['parley_storage_requests_total', { type: 'ST_CHAT_BEGIN' }], N + 1],
        [['parley_storage_requests_total', { type: 'ST_WS_BEGIN' }], 1],
      ];
      const ok = (f) => want.every(([[n, l], x]) => d(f, n, l) === x);
      const b = await scrapeUntil(ok);
      for (const [[n, l], x] of want) assert.equal(d(b, n, l), x, `${n} ${JSON.stringify(l)}`);

      // Tokens: what the stored replies say the model reported.
      const list = (await p.admin('/v1/admin/conversations?limit=200')).json().conversations;
      let prompt = 0; let completion = 0;
      for (const c of list) {
        const msgs = (await p.admin(`/v1/admin/conversations/${c._id || c.id}`)).json().messages;
        for (const m of msgs) { prompt += m.promptTokens || 0; completion += m.completionTokens || 0; }
      }
      assert.ok(prompt > 0 && completion > 0, 'the mock reports usage');
      assert.equal(val(b, 'parley_tokens_total', { kind: 'prompt' }), prompt);
      assert.equal(val(b, 'parley_tokens_total', { kind: 'completion' }), completion);

      assert.ok(d(b, 'parley_storage_commits_total', { mode: 'write' }) >= 1, 'write commits');
      assert.ok(d(b, 'parley_storage_commit_seconds_count', {}) >= 1, 'commit latency observed');
      assert.ok(d(b, 'parley_storage_batch_requests_sum', {}) >= N + 2, 'batch sizes observed');
      assert.ok(d(b, 'parley_upstream_duration_seconds_sum', {}) > 0);
      assert.equal(val(b, 'parley_ws_sessions_open'), 0);
    });

    test('a worker killed and replaced: restarts counted, counters never go backwards', { timeout: 30000 }, async () => {
      await p.pastStartup();
      for (let i = 0; i < 4; i++) await p.get(`/nothing/${i}`);
      const before = await scrapeUntil((x) => val(x, 'parley_workers') === 2);
      const r0 = val(before, 'parley_worker_restarts_total');
      const workers = p.workerPids();
      process.kill(workers[0], 'SIGKILL');
      await p.waitWorkerCount(2, 10000, (pids) => !pids.includes(workers[0]));
      const c = await scrapeUntil((x) => val(x, 'parley_worker_restarts_total') === r0 + 1 &&
        val(x, 'parley_workers') === 2);
      assert.equal(val(c, 'parley_worker_restarts_total'), r0 + 1);
      assert.equal(val(c, 'parley_workers'), 2);
      const cb = counters(before);
      const cc = counters(c);
      for (const [k, v] of cb) {
        assert.ok((cc.get(k) ?? 0) >= v, `${k}: ${v} before, ${cc.get(k)} after`);
      }
    });

    // masterd restarted alone (storaged up): its count of replaced workers
    // starts from 0, and the total used to stay at the largest ever seen,
    // so the next crashes were not counted.
    test('masterd restarted, storaged up: the restarts go on counting', { timeout: 60000 }, async () => {
      const before = await scrapeUntil((x) => val(x, 'parley_workers') === 2);
      const r1 = val(before, 'parley_worker_restarts_total');
      assert.ok(r1 >= 1, 'the test before replaced a worker');
      await p.restartMaster();
      await p.waitWorkerCount(2, 15000);
      await sleep(2600);	// past the new workers' start-up window
      const after = await scrapeUntil((x) => val(x, 'parley_workers') === 2);
      assert.equal(val(after, 'parley_worker_restarts_total'), r1, 'stopping with masterd is no restart');
      const workers = p.workerPids();
      process.kill(workers[0], 'SIGKILL');
      await p.waitWorkerCount(2, 10000, (pids) => !pids.includes(workers[0]));
      const c = await scrapeUntil((x) => val(x, 'parley_worker_restarts_total') === r1 + 1 && val(x, 'parley_workers') === 2);
      assert.equal(val(c, 'parley_worker_restarts_total'), r1 + 1);
    });

    test('storaged down: each worker answers with its own numbers and parley_storage_up 0', { timeout: 30000 }, async () => {
      await p.killStoraged('SIGKILL');
      for (let i = 0; i < 3; i++) assert.equal((await p.get(`/gone/${i}`)).status, 404);
      const f = await scrape();
      assert.equal(val(f, 'parley_storage_up'), 0);
      assert.equal(val(f, 'parley_workers'), 1, 'one worker, its own');
      assert.ok(!f.has('parley_storage_commits_total'), 'nothing of storaged');
      assert.ok(f.get('parley_http_requests_total').samples.length > 0);
      assert.ok(f.has('parley_tokens_total'));
      // Back: the totals again, which kept counting from what was pushed.
      await p.startStoraged();
      const g = await scrapeUntil((x) => val(x, 'parley_storage_up') === 1 && val(x, 'parley_workers') === 2, 8000);
      assert.equal(val(g, 'parley_storage_up'), 1);
      assert.equal(val(g, 'parley_workers'), 2);
    });

    test('the path exactly: /metrics/ is 404, so a proxy\'s deny of /metrics (docs/haproxy.cfg) is not passed by it', async () => {
      for (const path of ['/metrics/', '/metrics/?x=1'])
        assert.equal((await p.get(path, { headers: { 'x-admin-api-key': p.adminKey } })).status, 404, path);
      assert.equal((await p.get('/metrics', { headers: { 'x-admin-api-key': p.adminKey } })).status, 200);
    });
  });

  describe('GET /metrics, pushes that time out', { concurrency: false }, () => {
    let p;
    before(async () => {
      p = new Parley({
        workers: 1,
        env: { RATE_LIMIT_MAX_REQUESTS: '1000000', PARLEY_METRICS_OPEN: 'loopback', PARLEY_STORAGE_TIMEOUT_MS: '300' },
      });
      await p.start();
    });
    after(async () => { await p.stop(); assert.deepEqual(p.problems, []); });

    async function scrape() {
      const r = await p.get('/metrics');
      assert.equal(r.status, 200, r.text);
      return parseProm(r.text);
    }

    // storaged stopped 3.6 s: the worker's pushes of the 404s time out (300 ms)
    // and go again, while each one waits in storaged's socket and runs when it
    // wakes. The 404s count once (they counted 4 times: 40 for 10).
    test('a push resent after a timeout is added once', { timeout: 30000 }, async () => {
      const N = 10;
      const L = http('other', 'other', 404);
      let a;
      for (let i = 0; i < 40; i++) {
        a = await scrape();
        if (val(a, 'parley_storage_up') === 1 && val(a, 'parley_workers') === 1) break;
        await sleep(100);
      }
      assert.equal(val(a, 'parley_storage_up'), 1);
      for (let i = 0; i < N; i++) assert.equal((await p.get(`/nope/${i}`)).status, 404);
      process.kill(p.storagedPid, 'SIGSTOP');
      try {
        await sleep(3600);
      } finally {
        process.kill(p.storagedPid, 'SIGCONT');
      }
      // The pushes queued while it slept run before this scrape's own.
      let b;
      for (let i = 0; i < 40; i++) {
        b = await scrape();
        if (val(b, 'parley_storage_up') === 1) break;
        await sleep(100);
      }
      assert.equal(val(b, 'parley_storage_up'), 1);
      assert.equal(val(b, ...L) - val(a, ...L), N);
      // And later, once every resend has had its answer.
      await sleep(1500);
      const c = await scrape();
      assert.equal(val(c, ...L) - val(a, ...L), N);
    });
  });
});
