// A simulated cluster for the cluster tests: one network namespace per
// host, each joined by a veth pair to a bridge that lives in a namespace
// of its own (never in the root namespace). No address of the cluster
// exists outside its namespaces and none has a route out, so no traffic
// leaves them. Every name carries this process's pid and a random
// suffix, so runs side by side never meet.
//
//   const c = await Cluster.create();           // every host of HOSTS
//   c.addr('front1')                            // '10.77.0.11'
//   c.spawn('model', bin, args, opts)           // a process inside a host
//   c.wrap('front1')                            // for harness.mjs's opts.wrap
//   await c.cut('st1') / await c.join('st1')    // its link down / up
//   await c.killHost('front1')                  // kill -9 of its every process
//   c.destroy()                                 // every process and namespace gone
//
// destroy() runs on its own at exit and on SIGINT/SIGTERM too. Making
// namespaces needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN): without it
// create() fails saying so; there is no fallback to loopback.
import { execFile, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';

import { spawnOwned } from '../../integration/lib/owned.mjs';

// The address plan: 10.77.0.0/16 on the bridge; host H is 10.77.0.HOSTS[H].
// The client host also carries the visitors' own addresses, 10.77.1.x
// (addAddresses), so each visitor is a client of its own to Parley.
export const HOSTS = { lb: 2, front1: 11, front2: 12, st1: 21, st2: 22, etcd: 31, model: 41, client: 51 };
export const PREFIX = '10.77';
const BITS = 16;
const BRIDGE = 'br0';

const live = new Set();     // clusters not destroyed yet, for the handlers below
let handlersOn = false;

function onSignal(sig) {
  for (const c of live) c.destroy();
  process.exit(sig === 'SIGINT' ? 130 : 143);
}

function installHandlers() {
  if (handlersOn) return;
  handlersOn = true;
  process.on('exit', () => { for (const c of live) c.destroy(); });
  process.once('SIGINT', () => onSignal('SIGINT'));
  process.once('SIGTERM', () => onSignal('SIGTERM'));
}

// Runs ip with args (input: its stdin, for -batch -); resolves with its
// stdout, rejects with its stderr in the message.
function ip(args, input) {
  return new Promise((resolve, reject) => {
    const child = execFile('ip', args, { timeout: 10000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`ip ${args.join(' ')}: ${(stderr || err.message).trim()}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin.end(input);
  });
}

// A process that has not exited (a zombie has: it only waits to be reaped).
function pidAlive(pid) {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return !/^[ZX]/.test(st.slice(st.lastIndexOf(')') + 2));
  } catch { return false; }
}

// The pids of every process inside namespace ns (none when it is gone).
function nsPids(ns) {
  try {
    return execFileSync('ip', ['netns', 'pids', ns], { encoding: 'latin1', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 })
      .split('\n').filter(Boolean).map(Number);
  } catch { return []; }
}

// Kills every process in the namespaces and removes them; sync, so that
// it can run from an exit handler. Returns the pids it killed.
function removeNamespaces(names) {
  const killed = [];
  for (const ns of names) {
    for (const pid of nsPids(ns)) {
      try { process.kill(pid, 'SIGKILL'); killed.push(pid); } catch { /* gone */ }
    }
  }
  // A namespace is freed once its last process is gone; ip netns del only
  // unmounts it, so it may run at once.
  const input = names.map((n) => `netns del ${n}\n`).join('');
  try { execFileSync('ip', ['-force', '-batch', '-'], { input, stdio: ['pipe', 'ignore', 'ignore'], timeout: 10000 }); } catch { /* reported by leftovers() */ }
  return killed;
}

// Namespaces of earlier runs whose process is gone (a run killed with
// SIGKILL could not clean up): removed before a new run makes its own.
function sweepStale() {
  let list = '';
  try { list = execFileSync('ip', ['netns', 'list'], { encoding: 'latin1', timeout: 5000 }); } catch { return; }
  const stale = [];
  for (const line of list.split('\n')) {
    const m = /^(pc(\d+)-[a-z0-9]{6}-[a-z0-9]+)\b/.exec(line);
    if (m && !pidAlive(Number(m[2]))) stale.push(m[1]);
  }
  if (stale.length) removeNamespaces(stale);
}

export class Cluster {
  constructor(hosts) {
    this.hosts = hosts;
    this.tag = `pc${process.pid}-${crypto.randomBytes(6).toString('base64url').toLowerCase().replace(/[^a-z0-9]/g, '0').slice(0, 6)}`;
    this.made = [];          // namespaces made so far
    this.extra = new Map();  // host -> its added addresses
    this.destroyed = false;
  }

  // Makes the bridge's namespace and one namespace per host (default
  // every host of HOSTS), each host's eth0 on the bridge with its
  // address, lo up. Fails when namespaces cannot be made.
  static async create({ hosts = Object.keys(HOSTS) } = {}) {
    for (const h of hosts) if (!(h in HOSTS)) throw new Error(`unknown host ${h} (netns.mjs HOSTS)`);
    sweepStale();
    const c = new Cluster(hosts);
    installHandlers();
    live.add(c);
    try {
      await c._make();
    } catch (e) {
      c.destroy();
      if (/Operation not permitted|Permission denied/.test(e.message)) {
        throw new Error(`cannot make network namespaces (${e.message}): the cluster tests need root `
          + '(CAP_SYS_ADMIN and CAP_NET_ADMIN), as CI runs them; they do not fall back to loopback');
      }
      throw e;
    }
    return c;
  }

  async _make() {
    const [first, ...rest] = [this.bridgeNs, ...this.hosts.map((h) => this.ns(h))];
    // The first alone, so that a refusal names its cause; the rest in one run.
    await ip(['netns', 'add', first]);
    this.made.push(first);
    this.made.push(...rest);
    await ip(['-batch', '-'], rest.map((n) => `netns add ${n}\n`).join(''));
    const br = [`link add ${BRIDGE} type bridge`, `link set ${BRIDGE} up`];
    for (const h of this.hosts) {
      br.push(`link add ${this.port(h)} type veth peer name eth0 netns ${this.ns(h)}`);
      br.push(`link set ${this.port(h)} master ${BRIDGE} up`);
    }
    await ip(['-n', this.bridgeNs, '-batch', '-'], br.join('\n') + '\n');
    await Promise.all(this.hosts.map((h) => ip(['-n', this.ns(h), '-batch', '-'],
      `addr add ${this.addr(h)}/${BITS} dev eth0\nlink set eth0 up\nlink set lo up\n`)));
  }

  get bridgeNs() { return `${this.tag}-br`; }

  // The namespace of host h.
  ns(h) {
    if (!this.hosts.includes(h)) throw new Error(`host ${h} is not in this cluster`);
    return `${this.tag}-${h}`;
  }

  // Host h's end of its veth pair, in the bridge's namespace.
  port(h) { return `v-${h}`; }

  addr(h) {
    if (!this.hosts.includes(h)) throw new Error(`host ${h} is not in this cluster`);
    return `${PREFIX}.0.${HOSTS[h]}`;
  }

  // Adds n more addresses to host h (10.77.1.1 and on; at most 2540) in
  // one ip run; returns them.
  async addAddresses(h, n) {
    const have = this.extra.get(h) || [];
    if (have.length + n > 2540) throw new Error('at most 2540 added addresses');
    const fresh = [];
    for (let i = have.length; i < have.length + n; i++) fresh.push(`${PREFIX}.${1 + Math.floor(i / 254)}.${1 + (i % 254)}`);
    await ip(['-n', this.ns(h), '-batch', '-'], fresh.map((a) => `addr add ${a}/${BITS} dev eth0\n`).join(''));
    this.extra.set(h, have.concat(fresh));
    return fresh;
  }

  // The command and arguments that run cmd inside host h: ip netns exec
  // execs it, so the pid spawn() reports is cmd's own.
  command(h, cmd, args = []) { return ['ip', ['netns', 'exec', this.ns(h), cmd, ...args]]; }

  // child_process.spawn of cmd inside host h.
  spawn(h, cmd, args = [], opts = {}) {
    const [c, a] = this.command(h, cmd, args);
    return spawnOwned(c, a, opts);
  }

  // For harness.mjs's Parley opts.wrap: starts a daemon inside host h.
  wrap(h) { return (bin, env) => [...this.command(h, bin), env]; }

  // Every process inside host h.
  pids(h) { return nsPids(this.ns(h)); }

  // Host h's link down (cut off from every other host; its processes run
  // on) or up again.
  cut(h) { return ip(['-n', this.bridgeNs, 'link', 'set', this.port(h), 'down']); }
  join(h) { return ip(['-n', this.bridgeNs, 'link', 'set', this.port(h), 'up']); }

  // Sends signal to every process inside host h at once and waits (at
  // most timeout ms) until they are gone; returns their pids, when the
  // first signal went and when the last was gone (Date.now()).
  async killHost(h, signal = 'SIGKILL', timeout = 5000) {
    const pids = this.pids(h);
    const at = Date.now();
    for (const pid of pids) {
      try { process.kill(pid, signal); } catch { /* gone */ }
    }
    const deadline = Date.now() + timeout;
    while (pids.some(pidAlive)) {
      if (Date.now() > deadline) throw new Error(`host ${h}: pids ${pids.filter(pidAlive).join(',')} still alive ${timeout} ms after ${signal}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return { pids, at, gone: Date.now() };
  }

  // Every process still inside one of the hosts: {host: [pids]} for the
  // hosts that have some (a test checks it is empty after its stop).
  leftovers() {
    const out = {};
    for (const h of this.hosts) {
      const p = this.pids(h);
      if (p.length) out[h] = p;
    }
    return out;
  }

  // Kills what is left in the namespaces and removes them all (the veth
  // pairs and the bridge go with them). Idempotent; returns the pids it
  // had to kill.
  destroy() {
    if (this.destroyed) return [];
    this.destroyed = true;
    live.delete(this);
    const killed = removeNamespaces([...this.made].reverse());
    let list = '';
    try { list = execFileSync('ip', ['netns', 'list'], { encoding: 'latin1', timeout: 5000 }); } catch { /* none */ }
    const left = this.made.filter((n) => list.split('\n').some((l) => l.split(' ')[0] === n));
    if (left.length) throw new Error(`namespaces not removed: ${left.join(', ')}`);
    return killed;
  }
}
