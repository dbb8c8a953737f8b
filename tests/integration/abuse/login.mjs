// Issue 13, the login's part (docs/dashboard.md, "Login and the session"),
// on one stack of 2 workers behind a trusted proxy (TRUST_PROXY=loopback;
// each request names its client in X-Forwarded-For):
//  - 400 wrong logins from 40 addresses of one IPv6 /64: the /64 is one
//    client, so 10 are checked (401) and 390 refused (429);
//  - a login flood (wrong and right passwords from many /64s, hashed on
//    each worker's pool) while a chain of /health requests runs on every
//    worker: the chain goes on while the hashes run (many more /health
//    answers than logins before the last login is answered; a worker that
//    hashed on its loop would answer at most about one /health per hash),
//    and its p99 is printed;
//  - the failed-login budget (DASHBOARD_LOGIN_FAILURES_PER_MINUTE, 30
//    here) spent, its last failures invitations accepted with tokens
//    nobody holds: the right password from a fresh client gets 429 with
//    Retry-After (the refill is in tests/unit/storaged/test_dashstore.c,
//    on a fake clock), but a browser that signed in to the account
//    before (its known-device cookie, set at that login) signs in, and
//    that cookie lets no other account, nor a forged one, past; so does
//    a password change from that browser, and not from a session alone;
//  - storaged stores a session only for a user that exists (those of
//    older versions had none), and one of the owner is valid everywhere.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { Parley, pool, sleep, waitFor } from '../lib/harness.mjs';
import { Enc } from '../lib/storage.mjs';
import { COOKIE, PASSWORD, login, loginRequest, setCookies } from '../lib/dashboard.mjs';

const BUDGET = 30;
const ST_DASH_LOGIN = 0x33;

const xff = (ip) => ({ 'X-Forwarded-For': ip });

function p99(ms) {
  const s = [...ms].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(s.length * 0.99) - 1)];
}

describe('login abuse (2 workers, TRUST_PROXY=loopback)', { timeout: 120000 }, () => {
  let p;
  let net = 0;   // the next fresh /64: 2001:db8:<net>::/64
  const fresh = () => `2001:db8:${(++net).toString(16)}::1`;

  before(async () => {
    p = new Parley({
      workers: 2,
      env: { DASHBOARD_PASSWORD: PASSWORD, TRUST_PROXY: 'loopback', DASHBOARD_LOGIN_FAILURES_PER_MINUTE: String(BUDGET) },
    });
    await p.start();
  });
  after(() => p?.stop());

  test('a session is stored only for a user that exists; one of the owner is valid on every worker', async () => {
    const owner = (await (await login(p)).get('/dashboard/api/session')).json().user;
    const s = await p.storage();
    try {
      const seed = (user) => {
        const id = crypto.randomBytes(32);
        return s.call(ST_DASH_LOGIN, new Enc().bytes(crypto.createHash('sha256').update(id).digest())
          .str(crypto.randomBytes(32).toString('hex')).str(user).u64(Date.now() + 3600000).bytes(Buffer.alloc(0)).done())
          .then(() => ({ Cookie: `${COOKIE}=${id.toString('hex')}` }));
      };
      // Sessions of older versions had no user: they read as invalid.
      await assert.rejects(seed(`usr_${'0'.repeat(32)}`), { code: 3, message: /no such user/ });
      const now = await seed(owner.id);
      const forged = { Cookie: `${COOKIE}=${crypto.randomBytes(32).toString('hex')}` };
      // Each worker, more than once.
      for (let i = 0; i < 4; i++) {
        const r = await p.get('/dashboard/api/session', { headers: forged });
        assert.equal(r.status, 401, r.text);
        assert.deepEqual(r.json(), { error: 'Unauthorized' });
        assert.equal((await p.get('/v1/admin/widgets', { headers: forged })).status, 401);
        const ok = await p.get('/dashboard/api/session', { headers: now });
        assert.equal(ok.status, 200, ok.text);
        assert.equal(ok.json().user.id, owner.id);
      }
    } finally { s.close(); }
  });

  test('400 logins from 40 addresses of one /64: 10 answered 401, 390 429', async () => {
    const t0 = Date.now();
    const tries = [];
    for (let a = 1; a <= 40; a++) for (let k = 0; k < 10; k++) tries.push(`2001:db8:0:64::${a.toString(16)}`);
    const res = await pool(tries, 100, (ip, i) => loginRequest(p, `wrong ${i}`, { headers: xff(ip) }));
    const by = {};
    for (const r of res) by[r.status] = (by[r.status] || 0) + 1;
    assert.deepEqual(by, { 401: 10, 429: 390 });
    for (const r of res.filter((x) => x.status === 429)) {
      assert.deepEqual(r.json(), { error: 'Too many login attempts, try again later' });
      assert.match(r.headers['retry-after'], /^([1-9]|[1-5]\d|60)$/);
    }
    console.log(`# 400 logins from one /64: ${by[401]} x 401, ${by[429]} x 429 in ${Date.now() - t0} ms`);
  });

  test('a login flood does not stall /health on any worker', async () => {
    const PER_WORKER = 8;         // logins hashed on each worker (2 threads each)
    const RIGHT = 2;              // the last ones right: answered as soon as hashed
    const pids = p.workerPids();
    assert.equal(pids.length, 2);
    // Connections on each worker (masterd gives each to the one with fewest).
    const conns = [];
    const byPid = new Map(pids.map((w) => [w, []]));
    try {
      for (let i = 0; i < 4 * (PER_WORKER + 1); i++) conns.push(await p.connect());
      // The owners read once a look (each read walks /proc/net/tcp and
      // every fd of the workers: once per connection was 0.6 s of CPU).
      await waitFor(() => {
        const o = p.connectionOwners(pids);
        return conns.every((c) => pids.includes(o.get(c.localPort)));
      }, 5000, 'every connection on a worker');
      const owners = p.connectionOwners(pids);
      for (const c of conns) byPid.get(owners.get(c.localPort)).push(c);
      for (const w of pids) assert.ok(byPid.get(w).length >= PER_WORKER + 1, `worker ${w} holds ${byPid.get(w).length} connections`);

      const t0 = Date.now();
      const results = await Promise.all(pids.map(async (w) => {
        const [hc, ...lc] = byPid.get(w);
        let pending = PER_WORKER;
        const logins = lc.slice(0, PER_WORKER).map((c, i) => {
          const right = i >= PER_WORKER - RIGHT;
          return loginRequest(p, right ? PASSWORD : `wrong ${i}`, { conn: c, headers: xff(fresh()), timeout: 30000 })
            .then((r) => { pending--; return { right, status: r.status, at: Date.now() }; });
        });
        // /health, one after another, until every login here was answered
        // (the right ones once hashed; the wrong ones a second later).
        const lat = [];
        while (pending > 0) {
          const h0 = process.hrtime.bigint();
          const r = await p.request('GET', '/health', { conn: hc, timeout: 30000 });
          lat.push(Number(process.hrtime.bigint() - h0) / 1e6);
          assert.equal(r.status, 200);
          await sleep(1);   // a client's pace, not a busy loop
        }
        const done = await Promise.all(logins);
        return { w, lat, logins: done, floodMs: Math.max(...done.map((l) => l.at)) - t0 };
      }));
      const all = [];
      for (const { w, lat, logins, floodMs } of results) {
        all.push(...lat);
        // No /health waited for the hashes: a loop that hashed itself
        // keeps one waiting for a run of them, most of the flood's time
        // (measured against the flood on the same machine, not a figure).
        const max = Math.max(...lat);
        console.log(`# worker ${w}: ${lat.length} /health during ${PER_WORKER} logins (${floodMs} ms): p99 ${p99(lat).toFixed(2)} ms, max ${max.toFixed(2)} ms`);
        assert.ok(max < floodMs / 4, `worker ${w}: a /health waited ${max.toFixed(0)} ms of the flood's ${floodMs} ms`);
        assert.deepEqual(logins.filter((l) => l.right).map((l) => l.status), Array(RIGHT).fill(200), `worker ${w}: right passwords`);
        assert.deepEqual(logins.filter((l) => !l.right).map((l) => l.status), Array(PER_WORKER - RIGHT).fill(401), `worker ${w}: wrong passwords`);
      }
      console.log(`# /health p99 during the flood, every worker: ${p99(all).toFixed(2)} ms (${all.length} requests, ${2 * PER_WORKER} logins, ${Date.now() - t0} ms)`);
    } finally {
      for (const c of conns) c.destroy();
    }
  });

  // An invitation accepted with a token nobody holds hashes the new
  // password first, as a login hashes its attempt: it spends the budget
  // as a wrong password does (else such accepts from many clients kept
  // the hash threads busy past it).
  const strangerAccept = (ip) => p.request('POST', '/dashboard/api/invitations/accept', {
    headers: { 'Content-Type': 'application/json', ...xff(ip) }, timeout: 30000,
    body: JSON.stringify({ token: crypto.randomBytes(32).toString('hex'), name: 'N', password: `${PASSWORD}-new` }) });

  test('the failed-login budget spent, by accepts of unknown invitations: the right password gets 429 with Retry-After', async () => {
    // 10 + 12 wrong passwords so far: 8 such accepts from fresh /64s
    // spend the 30 (more rounds only if the minute ended meanwhile on a
    // slow machine; uncounted, they never would).
    const SPENT = 'Too many failed logins on this server, try again later';
    // The owner's browser signs in before the flood: its known-device cookie.
    const before = await login(p, PASSWORD, { headers: xff(fresh()) });
    const device = setCookies(before.res).find((c) => c.name === 'parley_device');
    assert.ok(device, `a known-device cookie is set: ${JSON.stringify(before.res.headers['set-cookie'])}`);
    assert.match(device.value, /^[0-9a-f]{16}\.[0-9a-f]{64}$/);
    assert.deepEqual(device.attrs, { path: '/', httponly: true, samesite: 'Strict', 'max-age': '7776000' });
    for (let round = 0; round < 5; round++) {
      const res = await pool(Array.from({ length: 8 }, fresh), 8, (ip) => strangerAccept(ip));
      for (const x of res) assert.ok(x.status === 404 || (x.status === 429 && x.json().error === SPENT), `${x.status} ${x.text}`);
      if (res.some((x) => x.status === 429)) break;
      const r0 = await strangerAccept(fresh());
      if (r0.status === 429) break;
    }
    const r = await loginRequest(p, PASSWORD, { headers: xff(fresh()) });
    assert.equal(r.status, 429, r.text);
    assert.deepEqual(r.json(), { error: SPENT });
    assert.match(r.headers['retry-after'], /^([1-9]|[1-5]\d|60)$/);
    assert.equal(r.headers['cache-control'], 'no-store');

    // The owner's browser: signed in all the same, from a fresh address.
    const known = { Cookie: `parley_device=${device.value}` };
    const ok = await loginRequest(p, PASSWORD, { headers: { ...xff(fresh()), ...known } });
    assert.equal(ok.status, 200, ok.text);
    assert.ok(setCookies(ok).some((c) => c.name === COOKIE), 'a session');
    // Its cookie is the owner's account's: another email, a forged cookie,
    // a wrong password's answer as ever once past (401).
    const other = await loginRequest(p, PASSWORD, { email: 'someone.else@example.org', headers: { ...xff(fresh()), ...known } });
    assert.equal(other.status, 429, other.text);
    assert.deepEqual(other.json(), { error: SPENT });
    const forged = { Cookie: `parley_device=${device.value.slice(0, -1)}${device.value.endsWith('0') ? '1' : '0'}` };
    const f = await loginRequest(p, PASSWORD, { headers: { ...xff(fresh()), ...forged } });
    assert.equal(f.status, 429, f.text);
    const wrong = await loginRequest(p, 'not the password', { headers: { ...xff(fresh()), ...known } });
    assert.equal(wrong.status, 401, wrong.text);

    // A password change is counted as a login of the account: from a
    // session without the browser's cookie, refused with the rest; with it, made.
    const signedIn = await login(p, PASSWORD, { headers: { ...xff(fresh()), ...known } });
    const change = (extra) => p.request('POST', '/v1/admin/profile/password', {
      headers: { ...signedIn.headers({ json: true }), ...xff(fresh()), ...extra },
      body: JSON.stringify({ current_password: PASSWORD, new_password: `${PASSWORD}-changed` }) });
    let ch = await change({});
    assert.equal(ch.status, 429, ch.text);
    ch = await change({ Cookie: `${signedIn.cookieHeader}; parley_device=${device.value}` });
    assert.equal(ch.status, 204, ch.text);
  });
});
