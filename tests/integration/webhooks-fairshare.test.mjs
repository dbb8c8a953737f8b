// An organisation's share of the notifier's slots (issue 23): organisation
// A has 16 webhooks whose receivers (node http servers of this test on
// 127.0.0.1, PARLEY_WEBHOOK_ALLOW_HOSTS=127.0.0.1) read each request and never
// answer, each with 4 deliveries due: 64 attempts, which once filled every
// slot, so every other organisation's deliveries waited behind them until
// their timeout (15 s), again at each of their retries. Now A holds at
// most its share (32) and organisation B's webhook gets its delivery
// within a few seconds. Every wait is bounded.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Parley, sleep, waitFor } from './lib/harness.mjs';
import { receiver } from './lib/receiver.mjs';

const H = '/v1/admin/webhooks';
const HOOKS_A = 16;	// 4 in flight each: the 64 slots of before
const SHARE = 32;	// the notifier's ORG_SHARE

describe("webhook deliveries, one organisation's share", () => {
  let p;
  const receivers = [];

  async function call(method, pathname, body, org) {
    const headers = { 'x-admin-api-key': p.adminKey, 'Content-Type': 'application/json' };
    if (org) headers['x-organization-id'] = org;
    return p.request(method, pathname, { headers, body: body === undefined ? undefined : JSON.stringify(body) });
  }
  async function make(url, org) {
    const r = await call('POST', H, { url, events: ['handoff.changed'] }, org);
    assert.equal(r.status, 201, r.text);
    return r.json();
  }
  async function recv(handler) {
    const r = await receiver(handler);
    receivers.push(r);
    return r;
  }

  before(async () => {
    // Organisation B's receiver is on the loop too: a host every organisation may use.
    p = new Parley({ workers: 1, mock: true, env: { PARLEY_WEBHOOK_ALLOW_HOSTS: '127.0.0.1', RATE_LIMIT_MAX_REQUESTS: '0' } });
    await p.start();
  });
  after(async () => {
    for (const r of receivers) await r.close();
    if (p) await p.stop();
  });

  test("one organisation's never-answering receivers do not stall another's", async () => {
    const r = await call('POST', '/v1/admin/organizations', { name: 'Share B' });
    assert.equal(r.status, 201, r.text);
    const orgB = r.json().id;
    const mute = await recv(() => {});	// reads, never answers
    const hooksA = [];
    for (let i = 0; i < HOOKS_A; i++) hooksA.push(await make(mute.url(`/a${i}`)));
    for (const w of hooksA)
      for (let i = 0; i < 4; i++) assert.equal((await call('POST', `${H}/${w.id}/test`)).status, 202);
    await waitFor(() => mute.hits.length >= SHARE, 5000, "A's receivers busy");
    await sleep(1000);	// what else of A's the notifier would take
    assert.equal(mute.hits.length, SHARE, 'A holds its share, no more');

    const fast = await recv((req, res) => res.end('ok'));
    const wb = await make(fast.url('/b'), orgB);
    const t0 = Date.now();
    assert.equal((await call('POST', `${H}/${wb.id}/test`, undefined, orgB)).status, 202);
    // A's attempts run 15 s: served well before, B waited on none.
    await waitFor(() => fast.hits.length >= 1, 5000, "B's delivery");
    assert.ok(Date.now() - t0 < 5000);
    assert.equal(mute.hits.length, SHARE);
  });
});
