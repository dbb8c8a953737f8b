// Failover by an etcd lease (issue 25; storaged/lease.c, STORAGE.md
// "Failover"), against a real etcd (Debian's etcd-server, lib/etcd.mjs) on
// loopback. The lease engine runs in tests/leasedrv, a small program the
// Makefile builds from storaged/lease.c and storaged/etcd.c: the same
// settings and log lines as storaged, its callbacks on stdout, and a
// "write" command answered by lease_writable() (what a primary checks
// before it acknowledges a write).
//  - a new cluster: the first one becomes primary with a term, the next
//    follows it; writes are taken on the primary only;
//  - kill -9 of the primary: the standby it recorded in sync becomes
//    primary within TTL + a poll (printed), in a higher term, and the old
//    one, restarted, follows it;
//  - the primary cut off from etcd (a TCP proxy between them, stopped):
//    it stops taking writes at F before the other acquires at A, F < A by
//    the wall-clock times both log (same machine); back, it follows the
//    new primary, in a higher term;
//  - a standby not named in sync never campaigns, even with no primary.
// TTL 2 s throughout.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';

import { Etcd, Proxy } from './lib/etcd.mjs';
import { BIN, sleep } from './lib/harness.mjs';

const TTL_S = 2;
const TTL_MS = TTL_S * 1000;
const POLL_MS = 500;		// lease_poll_ms(2)
const MARGIN_MS = 1000;		// lease_margin_ms(2)
// etcd removes an expired lease's keys on a sweep every 500 ms; the rest
// is scheduling on a loaded 2-core machine.
const SLACK_MS = 1500;
const WAIT_MS = 10000;

// One lease engine: leasedrv with its settings, its lines, its commands.
class Node {
  constructor(etcdUrl, cluster, name) {
    this.name = name;
    this.addr = `unix:/run/${name}.sock`;
    this.lines = [];
    this.err = '';
    this.waiters = [];
    this.proc = spawn(`${BIN}/leasedrv`, [], {
      env: {
        ...process.env, PARLEY_ETCD: etcdUrl, PARLEY_ADVERTISE: this.addr,
        PARLEY_LEASE_TTL_S: String(TTL_S), PARLEY_CLUSTER_NAME: cluster,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.exited = new Promise((r) => this.proc.on('exit', (code, sig) => r({ code, sig })));
    let out = '';
    this.proc.stdout.on('data', (d) => {
      out += d;
      let i;
      while ((i = out.indexOf('\n')) >= 0) {
        this.lines.push(out.slice(0, i));
        out = out.slice(i + 1);
        this.poke();
      }
    });
    this.proc.stderr.on('data', (d) => { this.err += d; this.poke(); });
  }

  poke() {
    for (const w of [...this.waiters]) w();
  }

  // Resolves with the first match of re in what pick() returns, once there
  // is one; rejects after ms.
  until(re, pick, ms, what) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = pick().match(re);
        if (!m) return false;
        this.waiters = this.waiters.filter((w) => w !== check);
        clearTimeout(t);
        resolve(m);
        return true;
      };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`${this.name}: ${what} not within ${ms} ms\nstdout:\n${this.lines.join('\n')}\nstderr:\n${this.err}`));
      }, ms);
      if (!check()) this.waiters.push(check);
    });
  }

  // A line of stdout matching re, from the from-th on.
  line(re, { from = 0, ms = WAIT_MS } = {}) {
    return this.until(re, () => this.lines.slice(from).join('\n'), ms, String(re));
  }

  log(re, ms = WAIT_MS) {
    return this.until(re, () => this.err, ms, String(re));
  }

  // Sends a command; resolves with the next line of stdout.
  async ask(cmd) {
    const from = this.lines.length;
    this.proc.stdin.write(`${cmd}\n`);
    return (await this.line(/^.+$/m, { from }))[0];
  }

  async kill9() {
    this.proc.kill('SIGKILL');
    await this.exited;
  }

  // SIGTERM: it revokes its lease if primary; exits 0, no sanitizer report.
  async stop() {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGTERM');
    const { code } = await this.exited;
    assert.equal(code, 0, `${this.name} exit status\n${this.err}`);
  }

  checkClean() {
    assert.doesNotMatch(this.err, /ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:/, this.name);
  }
}

describe('failover by an etcd lease', () => {
  let etcd;
  const nodes = [];
  const node = (cluster, name, url = etcd.url) => {
    const n = new Node(url, cluster, name);
    nodes.push(n);
    return n;
  };

  before(async () => { etcd = await Etcd.start(); });
  after(async () => {
    for (const n of nodes) await n.kill9();
    await etcd?.stop();
  });

  test('a new cluster: one primary with a term, the other follows; writes on the primary only', async () => {
    const a = node('new', 'a');
    const term = Number((await a.line(/^primary (\d+)$/m))[1]);
    assert.ok(term > 0);
    const b = node('new', 'b');
    assert.equal((await b.line(/^follow (\S+) (\d+)$/m)).slice(1).join(' '), `${a.addr} ${term}`);
    assert.equal(await a.ask('write'), 'write ok');
    assert.equal(await b.ask('write'), 'write refused');
    const keys = await etcd.get('/new/');
    assert.deepEqual(JSON.parse(keys['/new/primary']), { addr: a.addr, term });
    assert.deepEqual(JSON.parse(keys['/new/holder']), { addr: a.addr, term });
    assert.equal(keys['/new/sync'], '');
    await b.stop();
    await a.stop();
    // Stopped, the primary revoked its lease: the key went with it.
    assert.equal((await etcd.get('/new/'))['/new/primary'], undefined);
    a.checkClean();
    b.checkClean();
  });

  test('kill -9 of the primary: the standby in sync takes over within TTL + a poll; the old one follows it', async (t) => {
    const a = node('kill', 'a');
    const t1 = Number((await a.line(/^primary (\d+)$/m))[1]);
    const b = node('kill', 'b');
    await b.line(/^follow /m);
    a.proc.stdin.write(`in ${b.addr}\n`);
    await a.line(/^synced$/m);
    assert.equal((await etcd.get('/kill/'))['/kill/sync'], b.addr);

    const t0 = Date.now();
    await a.kill9();
    const t2 = Number((await b.line(/^primary (\d+)$/m))[1]);
    const took = Date.now() - t0;
    t.diagnostic(`kill -9 of the primary → the standby primary in ${took} ms (TTL ${TTL_MS} ms, poll ${POLL_MS} ms)`);
    assert.ok(t2 > t1, `term ${t2} after ${t1}`);
    assert.ok(took <= TTL_MS + POLL_MS + SLACK_MS, `${took} ms`);
    assert.equal(await b.ask('write'), 'write ok');

    // a again (its address), restarted: it follows b, never campaigns.
    const a2 = node('kill', 'a');
    assert.equal((await a2.line(/^follow (\S+) (\d+)$/m)).slice(1).join(' '), `${b.addr} ${t2}`);
    assert.equal(await a2.ask('write'), 'write refused');
    await a2.stop();
    await b.stop();
    b.checkClean();
    a2.checkClean();
  });

  test('cut off from etcd, the primary stops taking writes before the other acquires (F < A)', async (t) => {
    const proxy = await Proxy.start(etcd.port);
    const a = node('cut', 'a', `http://127.0.0.1:${proxy.port}`);
    const t1 = Number((await a.line(/^primary (\d+)$/m))[1]);
    const b = node('cut', 'b');
    await b.line(/^follow /m);
    a.proc.stdin.write(`in ${b.addr}\n`);
    await a.line(/^synced$/m);
    assert.equal(await a.ask('write'), 'write ok');

    const cutAt = Date.now();
    proxy.cut();
    const [, f] = await a.log(/writes stopped, term \d+ \(at wall ms (\d+)\)/);
    const [, acq, at] = await b.log(/primary of cut in term (\d+) \(at wall ms (\d+)\)/);
    const F = Number(f), A = Number(at);
    t.diagnostic(`cut at 0: the old primary stopped writes at ${F - cutAt} ms, the other became primary at ${A - cutAt} ms (F < A by ${A - F} ms; margin ${MARGIN_MS} ms)`);
    assert.ok(F < A, `F ${F} < A ${A}`);
    assert.ok(Number(acq) > t1);
    // Fenced within TTL - margin of the last renewal sent, so before TTL after the cut.
    assert.ok(F - cutAt < TTL_MS, `fenced ${F - cutAt} ms after the cut`);
    await a.line(/^fenced$/m);
    assert.equal(await a.ask('write'), 'write refused');
    assert.equal(await b.ask('write'), 'write ok');

    // The link back: the old primary follows the new one, in its higher term.
    await proxy.restore();
    assert.equal((await a.line(/^follow (\S+) (\d+)$/m)).slice(1).join(' '), `${b.addr} ${acq}`);
    assert.equal(await a.ask('write'), 'write refused');
    await a.stop();
    await b.stop();
    proxy.cut();
    a.checkClean();
    b.checkClean();
  });

  test('a standby not named in sync never campaigns', async () => {
    const a = node('stale', 'a');
    await a.line(/^primary \d+$/m);
    const b = node('stale', 'b');
    await b.line(/^follow /m);
    await a.kill9();
    // The primary key expires; b sees it gone and says why it waits.
    await b.log(/not campaigning for stale: the standby in sync is none, the last primary unix:\/run\/a\.sock/, TTL_MS + POLL_MS + SLACK_MS + WAIT_MS);
    // Some polls more: still nobody primary.
    await sleep(3 * POLL_MS);
    assert.equal((await etcd.get('/stale/'))['/stale/primary'], undefined);
    assert.ok(!b.lines.some((l) => l.startsWith('primary')), b.lines.join('\n'));
    assert.equal(await b.ask('write'), 'write refused');
    await b.stop();
    b.checkClean();
  });
});
