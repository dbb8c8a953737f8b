// The storaged side of the simulated cluster (issue 25): parley-storaged
// on st1 and st2, each with its TLS listener on its host's address
// (tls://10.77.0.2x:4100) and certificates scripts/cluster-certs.sh made
// in the test's temp dir; PARLEY_SYNC=replica; etcd on the `etcd` host
// (integration/lib/etcd.mjs, started there). The front hosts reach them
// with PARLEY_STORAGED=tls://st1,tls://st2 (frontEnv) and go to the
// primary.
//
//   const s = await Stores.start(cluster, { tmp, client, env });
//   s.node('st1')                       // its Parley (harness.mjs): logs, ctl()
//   s.frontEnv('front1')                // PARLEY_STORAGED and the front's certificate
//   await s.failover('st1', 'st2')      // st1 cut off already: st2 primary, st1 killed
//   const from = await s.restartCut('st1')  // st1 restarted, its link still down
//   await s.rejoin('st1', from)         // st1 back, as the standby of the other
//   await s.caughtUp('st2', 'st1'); await s.dump('st1')
//   await s.stop()
//
// Who decides which storaged is primary is in ONE place, MODE below: with
// 'standby' st1 starts primary and st2 its standby (PARLEY_ROLE=standby),
// and a failover is `parleyctl promote` of the standby once the old
// primary is dead; with 'auto' both run PARLEY_ROLE=auto and the etcd
// lease decides (a failover only waits for it, then kills the old one).
import { spawnSync } from 'node:child_process';
import path from 'node:path';

import { Etcd } from '../../integration/lib/etcd.mjs';
import { Parley, REPO, waitFor } from '../../integration/lib/harness.mjs';

export const ST_PORT = 4100;
export const STORES = ['st1', 'st2'];
export const LEASE_TTL_S = 2;
// 'auto' (the etcd lease decides), or 'standby' (a fixed pair, parleyctl
// promote): the one switch.
export const MODE = 'auto';

const WAIT_MS = 20000;

// Makes the cluster's CA and a certificate for each name (NAME or
// NAME=ADDR, each after its role: --storaged or --front) in dir with
// scripts/cluster-certs.sh; returns dir.
export function makeCerts(dir, names) {
  const r = spawnSync(path.join(REPO, 'scripts/cluster-certs.sh'), [dir, ...names], { encoding: 'utf8', timeout: 30000 });
  if (r.status !== 0) throw new Error(`cluster-certs.sh ${names.join(' ')}: ${r.stderr || r.error}`);
  return dir;
}

export class Stores {
  constructor(cluster, { tmp, client, env = {}, fronts = [] }) {
    this.cluster = cluster;
    this.client = client;
    this.env = env;
    this.certs = path.join(tmp, 'certs');
    makeCerts(this.certs, ['--storaged', ...STORES.map((h) => `${h}=${cluster.addr(h)}`), '--front', ...fronts, 'client']);
    this.otherCerts = makeCerts(path.join(tmp, 'other-ca'), ['--front', 'client']);
    this.nodes = {};
    this.primary = 'st1';
  }

  // st1 (primary) then st2 (its standby), etcd first in mode auto.
  static async start(cluster, opts) {
    const s = new Stores(cluster, opts);
    try {
      if (MODE === 'auto') {
        s.etcd = await Etcd.start({
          host: cluster.addr('etcd'),
          wrap: (bin, args) => cluster.command('etcd', bin, args),
          probe: async (url) => (await opts.client.http('GET', `${url}/version`, { timeout: 1000 })).status === 200,
        });
      }
      for (const h of STORES) {
        const p = new Parley({ masterd: false, wrap: { storaged: cluster.wrap(h) } });
        s.nodes[h] = p;
        p.opts.env = s.envOf(h);	// names its own socket
        p.port = 0;
        await p.startStoraged();
        if (MODE === 'auto' && h === 'st1') await s.waitRole('st1', 'primary');
      }
      await s.caughtUp('st1', 'st2');
    } catch (e) {
      await s.stop().catch((e2) => { e.message += `\n(and at cleanup: ${e2.message})`; });
      throw e;
    }
    return s;
  }

  addr(h) { return `tls://${this.cluster.addr(h)}:${ST_PORT}`; }

  // The certificate files of name (a front host, 'client'), as settings.
  certEnv(name) {
    return {
      PARLEY_CLUSTER_CA: path.join(this.certs, 'ca.pem'),
      PARLEY_CLUSTER_CERT: path.join(this.certs, `${name}.pem`),
      PARLEY_CLUSTER_KEY: path.join(this.certs, `${name}.key`),
    };
  }

  // A front host's settings: every storaged, its own certificate.
  frontEnv(name) {
    return { PARLEY_STORAGED: STORES.map((h) => this.addr(h)).join(','), ...this.certEnv(name) };
  }

  // Host h's storaged settings. The role: the one place that says how a
  // storaged learns it is primary or standby (MODE).
  envOf(h, { standbyOf } = {}) {
    const role = MODE === 'auto'
      ? {
        PARLEY_ROLE: 'auto', PARLEY_ETCD: this.etcd.url, PARLEY_ADVERTISE: this.advertise(h),
        PARLEY_LEASE_TTL_S: String(LEASE_TTL_S), PARLEY_CLUSTER_NAME: 'parley',
      }
      : (standbyOf ?? (h === 'st1' ? null : 'st1'))
        ? { PARLEY_ROLE: 'standby', PARLEY_PRIMARY: this.advertise(standbyOf ?? 'st1') }
        : { PARLEY_ROLE: 'primary' };
    return {
      PARLEY_STORAGED_LISTEN: this.addr(h), ...this.certEnv(h),
      PARLEY_SYNC: 'replica', ...role, ...this.env,
    };
  }

  // Where a standby dials h (PARLEY_PRIMARY, PARLEY_ADVERTISE): its TLS
  // listener on its namespace's address, so cutting h's link cuts the
  // stream too.
  advertise(h) {
    return this.addr(h);
  }

  node(h) { return this.nodes[h]; }
  other(h) { return OTHER[h]; }

  // parleyctl role --json of h, over its Unix socket.
  async role(h) {
    const r = await this.nodes[h].ctl(['role', '--json'], { timeout: 5000 });
    if (r.code !== 0) throw new Error(`${h}: parleyctl role: ${r.stderr}`);
    return JSON.parse(r.stdout);
  }

  // Until h says role (primary, standby); the time it took.
  async waitRole(h, role, timeout = WAIT_MS) {
    const t0 = Date.now();
    await waitFor(async () => (await this.role(h).catch(() => ({}))).role === role, timeout, `${h} ${role}\n${this.nodes[h].tail('storaged')}`);
    return Date.now() - t0;
  }

  // Until standby b has every record of primary a on disk.
  async caughtUp(a, b, what = `${b} caught up with ${a}`) {
    await waitFor(async () => {
      const [ra, rb] = [await this.role(a), await this.role(b)];
      return ra.linked && rb.linked && rb.seq === ra.seq && ra.acked === ra.seq;
    }, WAIT_MS, what);
  }

  // The primary `from` is cut off already: `to` becomes primary, `from`
  // is killed (kill -9 of every process of its host). {primaryAt: wall
  // ms when `to` said primary, killedAt}.
  async failover(from, to) {
    const p = this.nodes[from];
    p.expectExit('storaged', { codes: [], signals: ['SIGKILL'] });
    let killedAt;
    if (MODE === 'auto') {
      await this.waitRole(to, 'primary');
    } else {
      killedAt = (await this.cluster.killHost(from)).at;
      const r = await this.nodes[to].ctl(['promote'], { timeout: 10000 });
      if (r.code !== 0) throw new Error(`${to}: parleyctl promote: ${r.stderr}`);
      await this.waitRole(to, 'primary');
    }
    const primaryAt = Date.now();
    if (MODE === 'auto') killedAt = (await this.cluster.killHost(from)).at;
    this.primary = to;
    return { primaryAt, killedAt };
  }

  // h (killed) restarted as the standby of the primary, its link still
  // down: it reaches neither etcd nor the primary. Where its log is at the
  // restart, for rejoin().
  async restartCut(h) {
    const p = this.nodes[h];
    const from = p.logs.storaged.length;
    p.opts.env = this.envOf(h, { standbyOf: this.primary });
    await p.startStoraged();
    return from;
  }

  // h (killed) back: its link up, restarted (unless restartCut did, from
  // its log offset then) as the standby of the primary; resolves once it
  // caught up. Its log from the restart on.
  async rejoin(h, from) {
    const p = this.nodes[h];
    await this.cluster.join(h);
    if (from === undefined) from = await this.restartCut(h);
    await this.caughtUp(this.primary, h, `${h} back as the standby of ${this.primary}`);
    return p.logs.storaged.slice(from);
  }

  // What parleyctl exports of h: every conversation, message and widget.
  async dump(h) {
    const out = {};
    for (const [k, args] of Object.entries({
      convs: ['export', '--rows', 'conversations'],
      msgs: ['export', '--rows', 'messages'],
      widgets: ['widgets', '--json'],
    })) {
      const r = await this.nodes[h].ctl(args);
      if (r.code !== 0) throw new Error(`${h}: parleyctl ${args.join(' ')}: ${r.stderr}`);
      out[k] = r.stdout;
    }
    return out;
  }

  // Stops the storaged (the standby first), then etcd; throws with every
  // problem (harness.mjs's checks: sanitizers, exit statuses).
  async stop() {
    const problems = [];
    const order = [this.other(this.primary), this.primary];
    for (const h of order) {
      if (!this.nodes[h]) continue;
      try { await this.nodes[h].stop(); } catch (e) { problems.push(`storaged (${h}): ${e.message}`); }
    }
    if (this.etcd) {
      try { await this.etcd.stop(); } catch (e) { problems.push(`etcd: ${e.message}`); }
    }
    if (problems.length) throw new Error(problems.join('\n'));
  }
}

const OTHER = { st1: 'st2', st2: 'st1' };
