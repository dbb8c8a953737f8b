// The front-host cluster the cluster tests run in (netns.mjs's hosts):
//
//   client ──► lb (HAProxy, docs/haproxy.cfg) ──► front1, front2 (parley-masterd
//   + its workers and notifier each, PORT 4000 on the host's address)
//        │                                           │ storaged.sock
//        └──────────── model (mockai) ◄──────────────┤
//                                                    st1 (parley-storaged)
//                                  (opts.stores: st1 and st2 over TLS, stores.mjs)
//
// Each daemon runs inside its host's namespace (ip netns exec), started
// and watched by tests/integration/lib/harness.mjs's Parley (sanitizer
// reports, exit statuses, orphan workers). The front hosts reach storaged
// through its Unix socket path, which network namespaces share (the
// filesystem is one); or, with opts.stores, two storaged (st1, st2: a
// primary and its hot standby, lib/stores.mjs) over mutual TLS on their
// hosts' addresses. Every front host gets the same settings (keys,
// limits, TRUST_PROXY = the balancer's address): docs/cluster.md says
// which must match. stop() stops everything and removes the namespaces;
// it fails when a process was left in one of them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { MockAI, Parley, randomKey, sleep } from '../../integration/lib/harness.mjs';
import { ClientHost } from './client.mjs';
import { HAProxy } from './haproxy.mjs';
import { Cluster } from './netns.mjs';
import { MODE, STORES, Stores } from './stores.mjs';

export const FRONT_PORT = 4000;
export const MODEL_PORT = 8000;

// One front host: masterd and its workers inside the host's namespace,
// on its address. Its health is asked from the client host (the root
// namespace cannot reach it).
export class FrontHost extends Parley {
  constructor(cluster, name, client, opts) {
    super({ ...opts, port: FRONT_PORT, wrap: { masterd: cluster.wrap(name) } });
    this.name = name;
    this.cluster = cluster;
    this.client = client;
    this.addr = cluster.addr(name);
    this.port = FRONT_PORT;
  }

  get url() { return `http://${this.addr}:${this.port}`; }

  async waitHealthy(timeout = 15000) {
    const deadline = Date.now() + timeout;
    let last = '';
    while (Date.now() < deadline) {
      const m = this.procs.masterd;
      if (m.exited) throw new Error(`${this.name}: parley-masterd exited during start-up (code ${m.code}, signal ${m.signal}):\n${this.tail('masterd')}`);
      try {
        const r = await this.client.http('GET', `${this.url}/health`, { timeout: 2000 });
        if (r.status === 200) return;
        last = `status ${r.status}`;
      } catch (e) { last = e.message; }
      await sleep(20);
    }
    throw new Error(`${this.name} not healthy after ${timeout} ms (${last}):\n${this.tail('masterd')}`);
  }

  // masterd, its workers ready (storaged runs already).
  async start() {
    await this.startMasterd();
    await this.waitWorkersReady(this.workers, 15000);
    return this;
  }

  // An admin API call on this host, from the client host.
  admin(method, pathname, body, headers = {}) {
    return this.client.http(method, `${this.url}${pathname}`, {
      headers: { 'x-admin-api-key': this.adminKey, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }
}

// The owner's replies cross front hosts: a widget with handoff, a visitor
// on `to` (from localAddress) who asks for a human, the owner on `from`
// taking the conversation and posting n replies, each read on the
// visitor's socket (storaged's event fan-out). -> {wid, conv, token, v
// (the visitor's socket, open), lat (ms from each POST to its message)}.
export async function ownerRepliesAcross(c, from, to, { localAddress, n = 20 } = {}) {
  let r = await from.admin('POST', '/v1/admin/widgets', { name: `w-${Date.now()}`, handoff_enabled: true });
  assert.equal(r.status, 201, r.text);
  const wid = r.json().widget_id;
  const hello = `hello from ${to.name}`;
  const v = await c.client.ws({ url: `ws://${to.addr}:${to.port}/api/widget/${wid}/ws`, localAddress });
  const { session_token: token } = await v.next('session');
  await v.turn(hello);
  await v.send({ type: 'request_human' });
  assert.equal((await v.next('handoff')).state, 'waiting_human');
  r = await from.admin('GET', '/v1/admin/conversations?handoff=open');
  assert.equal(r.status, 200, r.text);
  const conv = r.json().conversations.find((x) => x.lastVisitorMessage === hello);
  assert.ok(conv, `the waiting conversation is listed on ${from.name}: ${r.text}`);
  r = await from.admin('POST', `/v1/admin/conversations/${conv._id}/handoff`, { state: 'human' });
  assert.equal(r.status, 200, r.text);
  assert.equal((await v.next('handoff')).state, 'human');
  const lat = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const posted = from.admin('POST', `/v1/admin/conversations/${conv._id}/messages`, { content: `reply ${i}`, name: 'Alice' });
    const m = await v.next('message');
    lat.push(performance.now() - t0);
    assert.deepEqual([m.role, m.content, m.name], ['agent', `reply ${i}`, 'Alice']);
    assert.equal((await posted).status, 201);
  }
  return { wid, conv, token, v, lat };
}

// Starts the whole cluster: {cluster, client, mock, storaged (a Parley
// whose storaged runs on st1), fronts: [FrontHost], lb (HAProxy), tmp,
// stop()}. opts: fronts (2), workers (per front host, 2), mock (MockAI
// options), env (every front host's settings beside the shared ones),
// storagedEnv (st1's, or both's with stores), visitors (addresses to add
// to the client host), stores (true: st1 and st2 over TLS, with etcd when
// stores.mjs's MODE needs it; then c.stores, and no c.storaged).
//
// Without stores the front hosts reach storaged by its socket's path
// (PARLEY_RUN_DIR, shared with st1).
export async function startFrontCluster(opts = {}) {
  const nFronts = opts.fronts ?? 2;
  const names = Array.from({ length: nFronts }, (_, i) => `front${i + 1}`);
  const timings = [];
  let t0 = Date.now();
  const lap = (what) => { const t = Date.now(); timings.push(`${what} ${t - t0} ms`); t0 = t; };
  const storeHosts = opts.stores ? [...STORES, ...(MODE === 'auto' ? ['etcd'] : [])] : ['st1'];
  const cluster = await Cluster.create({ hosts: ['lb', ...names, ...storeHosts, 'model', 'client'] });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-cluster-'));
  const c = { cluster, tmp, fronts: [], addrs: [], timings };
  lap('namespaces');
  c.stop = () => stopFrontCluster(c);
  try {
    c.addrs = opts.visitors ? await cluster.addAddresses('client', opts.visitors) : [];
    c.mock = new MockAI({ ...(opts.mock || {}), host: cluster.addr('model'), port: MODEL_PORT, wrap: (bin, args) => cluster.command('model', bin, args) });
    if (!opts.stores) c.storaged = new Parley({ mock: false, wrap: { storaged: cluster.wrap('st1') }, env: opts.storagedEnv || {} });
    await Promise.all([
      ClientHost.start(cluster).then((cl) => { c.client = cl; }),
      c.mock.start(),
      c.storaged?.startStoraged(),
    ]);
    if (opts.stores) c.stores = await Stores.start(cluster, { tmp, client: c.client, env: opts.storagedEnv, fronts: names });
    lap(`client driver, model and storaged${opts.stores ? ' (st1 primary, st2 its standby, over TLS)' : ''}`);
    // What every front host shares: the keys, the store, the model, the proxy.
    const shared = {
      adminKey: randomKey(32),
      widgetKey: randomKey(32),
      env: {
        PARLEY_HOST: '', ...(c.storaged ? { PARLEY_RUN_DIR: c.storaged.runDir } : {}), OPENAI_BASE_URL: c.mock.baseUrl,
        TRUST_PROXY: cluster.addr('lb'), DASHBOARD_PASSWORD: randomKey(24), ...(opts.env || {}),
      },
    };
    for (const name of names) {
      const f = new FrontHost(cluster, name, c.client, {
        workers: opts.workers ?? 2, mock: false, adminKey: shared.adminKey, widgetKey: shared.widgetKey,
        env: { ...shared.env, PARLEY_HOST: cluster.addr(name), ...(c.stores ? c.stores.frontEnv(name) : {}) },
      });
      if (c.storaged) {
        f.runDir = c.storaged.runDir;
        f.sockPath = c.storaged.sockPath;
      }
      c.fronts.push(f);
    }
    c.dashboardPassword = shared.env.DASHBOARD_PASSWORD;
    await Promise.all(c.fronts.map((f) => f.start()));
    lap('front hosts');
    c.lb = new HAProxy(cluster, { dir: tmp, fronts: c.fronts.map((f) => ({ name: f.name, addr: f.addr, port: f.port })) });
    await c.lb.start(async () => (await c.client.http('GET', `${c.lb.url}/health`, { timeout: 2000 })).status === 200);
    lap('haproxy');
  } catch (e) {
    await c.stop().catch((e2) => { e.message += `\n(and at cleanup: ${e2.message})`; });
    throw e;
  }
  return c;
}

// Stops what started, in order (visitors, balancer, front hosts, storaged,
// model), then removes the namespaces. Throws with every problem found:
// a daemon's (harness.mjs's stop), haproxy's, a process left behind.
async function stopFrontCluster(c) {
  const problems = [];
  const step = async (what, fn) => { try { await fn(); } catch (e) { problems.push(`${what}: ${e.message}`); } };
  if (c.client) await step('client driver', () => c.client.stop());
  if (c.lb) await step('haproxy', () => c.lb.stop());
  await Promise.all(c.fronts.map((f) => step(f.name, () => f.stop())));
  if (c.storaged) await step('storaged (st1)', () => c.storaged.stop());
  if (c.stores) await step('storaged (st1, st2) and etcd', () => c.stores.stop());
  if (c.mock && c.mock.child) await step('mockai (model)', () => c.mock.stop());
  const left = c.cluster.leftovers();
  if (Object.keys(left).length) problems.push(`processes left in the namespaces: ${JSON.stringify(left)}`);
  try { c.cluster.destroy(); } catch (e) { problems.push(e.message); }
  if (problems.length) throw new Error(`${problems.join('\n')}\n--- kept: ${c.tmp}`);
  if (!process.env.PARLEY_KEEP_TMP) fs.rmSync(c.tmp, { recursive: true, force: true });
}
