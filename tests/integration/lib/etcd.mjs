// A real etcd for the failover tests: Debian's etcd-server (/usr/bin/etcd,
// scripts/deps.sh's test group) on 127.0.0.1 with free ports and a temp
// data directory, stopped (and its directory removed) by stop(); or, for
// the cluster tests, inside a host of theirs (host, wrap, probe). And a
// proxy a test puts between a storaged and etcd, or between a standby and
// its primary, to cut it off. With tls, etcd serves https only and asks
// every client for a certificate of the cluster's CA.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';

import { freePort, REPO, sleep } from './harness.mjs';
import { spawnOwned } from './owned.mjs';

export const ETCD_BIN = process.env.ETCD_BIN || '/usr/bin/etcd';

// Whether /dev/shm holds SHM_MIN bytes free: each etcd preallocates two
// WAL segments of 64 MB (123 MB before its first write), and a container's
// /dev/shm is often 64 MB, where a second etcd panics ("create wal error:
// no space left on device").
const SHM_MIN = 1024 * 1024 * 1024;
function shmRoomy() {
  try {
    const s = fs.statfsSync('/dev/shm');
    return s.bavail * s.bsize >= SHM_MIN;
  } catch {
    return false;
  }
}

export class Etcd {
  // Starts etcd; resolves once its gateway answers /version (bounded).
  // Elsewhere than on loopback (a cluster test's host): host (its address;
  // ports 2379 and 2380 there), wrap(bin, args) -> [command, args] that
  // runs it inside that host, and probe(url) -> true once /version answers
  // (asked from where the host can be reached).
  // tls (loopback only): https, client-certificate auth (--client-cert-auth)
  // with certificates scripts/cluster-certs.sh makes in e.certs.dir (a
  // node "node" for 127.0.0.1, etcd's and the clients'); e.certs: {dir,
  // ca, cert, key, env} (env: the PARLEY_CLUSTER_* for a storaged).
  static async start({ readyMs = 15000, host, wrap, probe, tls = false } = {}) {
    const e = new Etcd();
    // On loopback its data lives in memory (/dev/shm): etcd fsyncs each
    // write, and behind the other test files' fsyncs on a busy disk a
    // call took longer than storaged's 1 s for one (a primary under a
    // 2 s TTL lost its lease again and again, and its standby never
    // paired). What is tested is storaged's, not etcd's, durability.
    const base = !host && shmRoomy() ? '/dev/shm' : os.tmpdir();
    e.dir = fs.mkdtempSync(path.join(base, 'parley-etcd-'));
    e.port = host ? 2379 : await freePort();
    const peer = host ? 2380 : await freePort();
    const at = host || '127.0.0.1';
    e.url = `${tls ? 'https' : 'http'}://${at}:${e.port}`;
    e.log = '';
    const args = [
      '--name', 'test', '--data-dir', path.join(e.dir, 'data'),
      '--listen-client-urls', e.url, '--advertise-client-urls', e.url,
      '--listen-peer-urls', `http://${at}:${peer}`,
      '--initial-advertise-peer-urls', `http://${at}:${peer}`,
      '--initial-cluster', `test=http://${at}:${peer}`,
      '--logger', 'zap', '--log-level', 'warn',
    ];
    if (tls) {
      e.certs = makeCerts(path.join(e.dir, 'certs'));
      args.push('--cert-file', e.certs.cert, '--key-file', e.certs.key,
        '--trusted-ca-file', e.certs.ca, '--client-cert-auth');
    }
    const [cmd, argv] = wrap ? wrap(ETCD_BIN, args) : [ETCD_BIN, args];
    e.proc = spawnOwned(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    e.proc.stdout.on('data', (d) => { e.log += d; });
    e.proc.stderr.on('data', (d) => { e.log += d; });
    e.exited = new Promise((r) => e.proc.on('exit', r));
    const deadline = Date.now() + readyMs;
    for (;;) {
      try {
        if (probe) {
          if (await probe(e.url)) break;
        } else if ((await e.request('GET', '/version', undefined, 1000)).status === 200) {
          break;
        }
      } catch { /* not yet */ }
      if (e.proc.exitCode !== null || Date.now() > deadline) {
        await e.stop();
        throw new Error(`etcd did not start within ${readyMs} ms:\n${e.log.slice(-2000)}`);
      }
      await sleep(50);
    }
    return e;
  }

  // One request to the gateway (with tls, with the node's certificate):
  // {status, body}; rejects on no answer within ms.
  request(method, pathname, body, ms) {
    const tls = this.certs ? { ca: fs.readFileSync(this.certs.ca), cert: fs.readFileSync(this.certs.cert), key: fs.readFileSync(this.certs.key) } : {};
    const mod = this.certs ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(`${this.url}${pathname}`, { method, timeout: ms, ...tls }, (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (d) => { data += d; });
        res.on('end', () => resolve({ status: res.statusCode, body: data }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`etcd: no answer within ${ms} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  // POST to the v3 gateway; the JSON reply.
  async call(pathname, body) {
    return JSON.parse((await this.request('POST', pathname, JSON.stringify(body), 3000)).body);
  }

  // {key: value} of every key under prefix (decoded).
  async get(prefix) {
    const b64 = (s) => Buffer.from(s).toString('base64');
    const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
    const r = await this.call('/v3/kv/range', { key: b64(prefix), range_end: b64(end) });
    const out = {};
    for (const kv of r.kvs ?? []) out[Buffer.from(kv.key, 'base64').toString()] = Buffer.from(kv.value ?? '', 'base64').toString();
    return out;
  }

  async stop() {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// A CA and a node "node" for 127.0.0.1 in dir (scripts/cluster-certs.sh):
// {dir, ca, cert, key, env}.
export function makeCerts(dir) {
  const r = spawnSync(path.join(REPO, 'scripts/cluster-certs.sh'), [dir, '--storaged', 'node=127.0.0.1'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cluster-certs.sh: ${r.stderr}`);
  const c = { dir, ca: path.join(dir, 'ca.pem'), cert: path.join(dir, 'node.pem'), key: path.join(dir, 'node.key') };
  c.env = { PARLEY_CLUSTER_CA: c.ca, PARLEY_CLUSTER_CERT: c.cert, PARLEY_CLUSTER_KEY: c.key };
  return c;
}

// A link a test can cut: 127.0.0.1:port → target port (etcd), or, with
// target a path, a Unix socket at listen → the one at target (a storaged's
// replication stream: the standby dials the address the primary
// advertises). Byte for byte; cut() closes the listener and every
// connection at once (a link gone), restore() listens again at the same
// place, close() cuts and ends it. The bytes go through a process of its
// own (proxy-relay.mjs), which the test's own work never holds up.
export class Proxy {
  static async start(target, { listen } = {}) {
    const p = new Proxy();
    p.target = target;
    p.asked = new Map();
    p.nextId = 1;
    p.child = spawnOwned(process.execPath, [path.join(REPO, 'tests/integration/lib/proxy-relay.mjs')],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    p.child.on('message', (m) => { p.asked.get(m.id)?.(m); p.asked.delete(m.id); });
    p.child.on('exit', () => {
      for (const done of p.asked.values()) done({ ok: false, message: 'the proxy\'s relay exited' });
      p.asked.clear();
    });
    if (typeof target === 'string') {
      p.path = listen;
      await p.restore().catch((e) => { p.close(); throw e; });
      return p;
    }
    // A free port may be taken before it is bound (another test's): another.
    for (let i = 0; ; i++) {
      p.port = await freePort();
      try {
        await p.restore();
        return p;
      } catch (e) {
        if (e.code !== 'EADDRINUSE' || i >= 10) {
          p.close();
          throw e;
        }
      }
    }
  }

  // One request to the relay, answered once it is done.
  ask(m) {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.asked.set(id, (r) => {
        if (r.ok) return resolve();
        const e = new Error(`proxy: ${r.message}`);
        e.code = r.code;
        return reject(e);
      });
      this.child.send({ id, ...m });
    });
  }

  restore() {
    return this.ask({ op: 'listen', target: this.target, path: this.path, port: this.port });
  }

  cut() {
    return this.ask({ op: 'cut' });
  }

  // Cut, and the relay ended (a test's teardown).
  close() {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}
