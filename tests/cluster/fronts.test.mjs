// Front hosts behind HAProxy (issue 25), in the simulated cluster
// (lib/fronts.mjs: a balancer, two front hosts of masterd + workers,
// storaged on a host of its own, the mock model, a client host, each a
// network namespace): a visitor's session, a dashboard login and an
// owner's reply cross front hosts; the rate limit and the daily cap are
// exact across them; visitors stream through HAProxy, every process of
// front host 1 is killed (kill -9) and its visitors come back on front
// host 2 by the widget's reconnect and resume and chat on (p50/p99 time
// to resume printed).
//
// Short form (make test): 30 visitors, one worker a front host. Full
// (make cluster-test, PARLEY_CLUSTER_FULL=1): 200 visitors, two workers a
// front host. CLUSTER_VISITORS overrides either.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { ownerRepliesAcross, startFrontCluster } from './lib/fronts.mjs';

const FULL = process.env.PARLEY_CLUSTER_FULL === '1';
const VISITORS = Number(process.env.CLUSTER_VISITORS) || (FULL ? 200 : 30);
// Chat requests per client a minute: every visitor has an address of its
// own, and the fleet's stay under it (a turn, then 0.2-0.6 s of pause).
const RATE = 60;
const CAP = 7;
const EXTRA = 20; // addresses of the client host beside the fleet's

const pct = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))];
const ms = (x) => `${Math.round(x)} ms`;

describe(`front hosts behind HAProxy (${VISITORS} visitors)`, () => {
  let c, front1, front2, spare;
  before(async () => {
    c = await startFrontCluster({
      visitors: VISITORS + EXTRA,
      workers: FULL ? 2 : 1,
      mock: { chunks: 8, delayMs: 10 },
      env: { RATE_LIMIT_MAX_REQUESTS: String(RATE), RATE_LIMIT_WINDOW_MS: '60000' },
    });
    [front1, front2] = c.fronts;
    spare = c.addrs.slice(VISITORS);
  });
  after(async () => { if (c) await c.stop(); });

  const widget = async (fields = {}) => {
    const r = await front1.admin('POST', '/v1/admin/widgets', { name: `w-${Date.now()}`, ...fields });
    assert.equal(r.status, 201, r.text);
    return r.json().widget_id;
  };
  const wsUrl = (host, wid) => `ws://${host.addr}:${host.port}/api/widget/${wid}/ws`;

  test('a session, a dashboard login and an owner\'s reply cross front hosts', async (t) => {
    t.diagnostic(`cluster up: ${c.timings.join(', ')}`);
    const { wid, conv, token, v, lat } = await ownerRepliesAcross(c, front1, front2, { localAddress: spare[0] });
    t.diagnostic(`owner's reply POSTed to front1 -> the visitor's socket on front2: p50 ${ms(pct(lat, 0.5))}, max ${ms(Math.max(...lat))} (20 replies, the driver's round trip included)`);

    // A dashboard session made on front1 is good on front2, CSRF token too.
    let r = await c.client.http('POST', `${front1.url}/dashboard/api/login`, {
      headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ password: c.dashboardPassword }), localAddress: spare[1],
    });
    assert.equal(r.status, 200, r.text);
    const cookie = String(r.headers['set-cookie']).match(/parley_session=[0-9a-f]+/)[0];
    const csrf = r.json().csrfToken;
    r = await c.client.http('GET', `${front2.url}/dashboard/api/session`, { headers: { Cookie: cookie } });
    assert.equal(r.status, 200, r.text);
    r = await c.client.http('POST', `${front2.url}/v1/admin/conversations/${conv._id}/messages`, {
      headers: { Cookie: cookie, 'x-csrf-token': csrf, 'Content-Type': 'application/json' },
      body: JSON.stringify({ content: 'from the dashboard on front2', name: 'Bob' }),
    });
    assert.equal(r.status, 201, r.text);
    assert.equal((await v.next('message')).content, 'from the dashboard on front2');
    await v.close();

    // The visitor's token resumes on front1, with every message.
    const v1 = await c.client.ws({ url: wsUrl(front1, wid), localAddress: spare[0] });
    await v1.next('session');
    await v1.send({ type: 'resume', token });
    const s = await v1.next('session');
    assert.equal(s.resumed, true);
    assert.equal(s.session_token, token);
    const h = await v1.next('history');
    assert.equal(h.messages.filter((m) => m.role === 'agent').length, 21, JSON.stringify(h.messages.map((m) => m.role)));
    await v1.close();
  });

  test('the balancer caps one visitor\'s connections (docs/haproxy.cfg: 1024 at once)', async (t) => {
    // The front hosts count no cap against the balancer's own address:
    // without its cap, one address could hold every slot of its maxconn.
    // 1024 first, then 76 more, apart: one burst of 1100 held 1023 once
    // in a make test. Likely HAProxy's threads (two here): a refused
    // connection counts in conn_cur until it is freed, so one checked on
    // the other thread at that moment, at the cap's edge, is refused too.
    // The cap (at most 1024) held; the count below it is not exact.
    const [first, more] = await c.client.call('tcp.hold', { host: c.lb.addr, port: c.lb.port, n: [1024, 76],
      localAddress: spare[4], timeout: 30000 });
    t.diagnostic(`1024 connections from one address: ${first.held} held; 76 more: ${more.closed} refused`);
    assert.deepEqual([first, more], [{ held: 1024, closed: 0 }, { held: 0, closed: 76 }]);
    // Another visitor still gets in.
    const r = await c.client.http('GET', `${c.lb.url}/health`, { localAddress: spare[5] });
    assert.equal(r.status, 200, r.text);
  });

  test(`rate limit (${RATE} a minute) and daily cap (${CAP}) exact across both front hosts`, async (t) => {
    const chat = (host, addr, i, headers = {}) => c.client.http('POST', `${host.url || host}/v1/chat`, {
      headers: { 'Content-Type': 'application/json', 'x-api-key': front1.widgetKey, ...headers },
      body: JSON.stringify({ sessionId: `rate-${addr}-${i}`, message: `m ${i}` }), localAddress: addr,
    });
    // One client, straight to each front host in turn, all at once: exactly
    // RATE pass.
    const a = spare[2];
    let rs = await Promise.all(Array.from({ length: RATE + 10 }, (_, i) => chat(i % 2 ? front2 : front1, a, i)));
    const codes = rs.map((r) => r.status);
    assert.equal(codes.filter((x) => x === 200).length, RATE, `200s among ${codes.join(',')}`);
    assert.equal(codes.filter((x) => x === 429).length, 10);
    for (const host of [front1, front2]) assert.equal((await chat(host, a, 'over')).status, 429);

    // Through the balancer: its X-Forwarded-For names the client (one it
    // made up is dropped), so half the limit there and half straight to
    // the hosts are one client's.
    const b = spare[3];
    rs = await Promise.all(Array.from({ length: RATE }, (_, i) => (i % 2
      ? chat(i % 4 === 1 ? front1 : front2, b, i)
      : chat(c.lb.url, b, i, { 'X-Forwarded-For': `198.51.100.${i}` }))));
    assert.deepEqual(rs.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.text}`), []);
    assert.equal((await chat(c.lb.url, b, 'over', { 'X-Forwarded-For': '198.51.100.250' })).status, 429);
    assert.equal((await chat(front2, b, 'over')).status, 429);

    // The daily cap: 12 visitors, half on each host, one message each.
    const stats = async () => (await c.client.http('GET', `http://${c.cluster.addr('model')}:${c.mock.port}/_mock/stats`)).json();
    const wid = await widget({ daily_message_cap: CAP });
    const before = (await stats()).requests;
    const vs = await Promise.all(Array.from({ length: 12 }, async (_, i) => {
      const v = await c.client.ws({ url: wsUrl(i % 2 ? front2 : front1, wid), localAddress: spare[4 + i] });
      await v.next('session');
      return v;
    }));
    const outcomes = await Promise.all(vs.map(async (v, i) => {
      await v.send({ type: 'message', content: `cap ${i}` });
      const m = await v.next();
      if (m.type === 'error') { assert.match(m.message, /daily message limit/); return 'capped'; }
      assert.equal(m.type, 'typing_start');
      for (;;) if ((await v.next()).type === 'typing_stop') return `answered on front${(i % 2) + 1}`;
    }));
    assert.equal(outcomes.filter((o) => o === 'capped').length, 12 - CAP, outcomes.join(','));
    assert.equal((await stats()).requests - before, CAP, 'the model was called only for the messages under the cap');
    t.diagnostic(`daily cap ${CAP}: ${outcomes.filter((o) => o !== 'capped').length} answered (front1 ${outcomes.filter((o) => o.endsWith('front1')).length}, front2 ${outcomes.filter((o) => o.endsWith('front2')).length}), ${12 - CAP} capped`);
    await Promise.all(vs.map((v) => v.close()));
  });

  test(`${VISITORS} visitors through HAProxy; kill -9 of front host 1: its visitors resume on front host 2 and chat on`, { timeout: 120000 }, async (t) => {
    const wid = await widget();
    const started = await c.client.call('fleet.start', {
      url: `ws://${c.lb.addr}:${c.lb.port}/api/widget/${wid}/ws`, addrs: c.addrs.slice(0, VISITORS),
      content: 'hello', pauseMs: 400, timeout: 15000, startTimeout: 60000,
    }, 70000);
    t.diagnostic(`visitors per front host at the start: ${JSON.stringify(started.servers)}`);
    assert.ok(started.servers.front1 > 0 && started.servers.front2 > 0, JSON.stringify(started.servers));
    // Streaming for a moment, then every process of front1 killed at once.
    await new Promise((r) => setTimeout(r, 1000));
    front1.expectExit('masterd', { codes: [], signals: ['SIGKILL'] });
    const { pids, at: tKill, gone } = await c.cluster.killHost('front1');
    t.diagnostic(`kill -9 of front1's ${pids.length} processes (masterd, workers, notifier): all gone ${ms(gone - tKill)} after the signal`);

    // Until every visitor of front1 is through a turn on front2 (bounded).
    const on1 = new Set();
    const deadline = Date.now() + 60000;
    let rep;
    for (;;) {
      rep = await c.client.call('fleet.report');
      rep.visitors.forEach((x, k) => { if (x.conns[0].server === 'front1') on1.add(k); });
      const back = [...on1].filter((k) => rep.visitors[k].conns.some((cn) => cn.server === 'front2' && cn.firstTurnAt > 0));
      if (back.length === on1.size) break;
      if (Date.now() > deadline) assert.fail(`${back.length} of ${on1.size} visitors of front1 back through a turn 60 s after the kill; e.g. ${JSON.stringify(rep.visitors[[...on1].find((k) => !back.includes(k))])}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const tBack = Date.now();
    await new Promise((r) => setTimeout(r, 500));
    rep = await c.client.call('fleet.report');
    await c.client.call('fleet.stop', {}, 30000);

    const resume = [], firstTurn = [], noticed = [], upgrade = [];
    rep.visitors.forEach((x, k) => {
      assert.deepEqual(x.errors, [], `visitor ${k} saw no error but its lost socket`);
      if (!on1.has(k)) {
        assert.equal(x.conns.length, 1, `visitor ${k} of front2 kept its socket: ${JSON.stringify(x.conns)}`);
        return;
      }
      // One socket lost, the next one on front2, resumed with its history.
      assert.equal(x.conns.length, 2, `visitor ${k}: ${JSON.stringify(x.conns)}`);
      const [lost, back] = x.conns;
      assert.ok(lost.closedAt >= tKill, `visitor ${k} lost its socket after the kill`);
      assert.equal(back.server, 'front2');
      assert.equal(back.resumed, true);
      assert.ok(x.history[0] >= 2, `visitor ${k}'s history came back (${x.history[0]} messages)`);
      noticed.push(lost.closedAt - tKill);
      upgrade.push(back.openedAt - back.dialedAt);
      resume.push(back.resumedAt - tKill);
      firstTurn.push(back.firstTurnAt - tKill);
    });
    const turns = rep.visitors.reduce((n, x) => n + x.turns, 0);
    const down = c.lb.seen(/front1 is DOWN/);
    t.diagnostic(`${on1.size} visitors of front1 back on front2 (every one resumed its session, with its history), ${VISITORS - on1.size} on front2 kept their sockets; ${turns} turns in all`);
    t.diagnostic(`from the kill: socket closed p50 ${ms(pct(noticed, 0.5))} p99 ${ms(pct(noticed, 0.99))}; `
      + `resume acknowledged (the "session" with resumed:true) p50 ${ms(pct(resume, 0.5))} p99 ${ms(pct(resume, 0.99))}; `
      + `(the upgrade through HAProxy p50 ${ms(pct(upgrade, 0.5))} p99 ${ms(pct(upgrade, 0.99))}); `
      + `first turn done on front2 p50 ${ms(pct(firstTurn, 0.5))} p99 ${ms(pct(firstTurn, 0.99))}; all back after ${ms(tBack - tKill)} `
      + `(the widget waits 0.25-0.5 s before its first reconnect; HAProxy marked front1 DOWN after ${down ? ms(down - tKill) : 'never'})`);
  });
});
