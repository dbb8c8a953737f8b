// storaged over mutual TLS (issue 25): a worker set whose PARLEY_STORAGED
// lists a dead address first and storaged's TLS listener second serves a
// chat turn and a WebSocket turn; parleyctl reads stats over TLS and
// refuses a backup there; a client without a certificate, one from
// another CA and a plaintext one are refused at the handshake while the
// others are served; the handshake caps (64, 8 per address, 16 kept for
// addresses that completed a handshake) and deadline (5 s) hold; so do a
// certified peer's: a request begun is whole within 10 s (5 s here, the
// test build's PARLEY_TEST_FRAME_MS; trickled, it is closed) and 1024
// connections at most; one address's connections
// (PARLEY_STORAGED_TLS_PEER_MAX) and what they all hold together
// (PARLEY_STORAGED_TLS_BUFFER_MB: storaged's RSS) are bounded too, the
// workers served meanwhile. Workers and parleyctl listing a
// standby's tls:// address first hear it is one and write to the
// primary. A certificate's role (its OU, scripts/cluster-certs.sh) says
// what its HELLO may be: a front host's, or one made before roles, saying
// parley-storaged is refused ST_REPL_START (no snapshot, the real standby
// streams on) while parleyctl with it is served; a storaged host's
// replicates.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';

import { ASAN_SPEED, BIN, freePort, Parley, REPO, bytesInFlight, waitFor, within } from './lib/harness.mjs';
import { chat, mockReply, rssKiB, sid } from './lib/chat.mjs';
import { Enc, F, frame, helloFrame, T, tlsProbe } from './lib/storage.mjs';
import { caughtUp, role } from './lib/standby.mjs';
import { createWidget, Visitor } from './lib/wsclient.mjs';

const CTL = path.join(BIN, 'parleyctl');
// The test build's cap of TLS connections (PARLEY_TEST_TLS_CLIENTS_MAX;
// TLS_CLIENTS_MAX, 1024, in a release).
const TLS_CAP = 160;
// A TLS client's request whole within this once begun (storaged's
// FRAME_MS, 10 s; the test build's PARLEY_TEST_FRAME_MS here): the
// deadline's test waits it out.
const FRAME_MS = 5000;

function ctl(args, env) {
  return new Promise((resolve) => {
    execFile(CTL, args, { timeout: 30000, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

// A certified client from localAddress that said HELLO and holds its
// connection: resolves with the socket once storaged's HELLO came (then
// paused: it reads nothing more), null if closed before.
function holdPeer(port, certs, localAddress) {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, localAddress, ...certs });
    s.on('error', () => {});
    s.once('secureConnect', () => s.write(helloFrame('parleyctl')));
    s.once('data', (d) => { s.pause(); resolve(d.length >= 12 && d.readUInt16BE(0) === T.HELLO ? s : null); });
    s.once('close', () => resolve(null));
  });
}

// Bytes written by the client on local port lport to port not taken by
// the server yet: the client's send queue and the server's receive queue
// (/proc/net/tcp's tx_queue and rx_queue); 0 once the connection is gone.
function tcpInFlight(port, lport) {
  return bytesInFlight(port, lport, false);
}

// The three parts' stacks side by side: each waits mostly on its own
// (deadlines, handshakes, a standby catching up); a part's tests still
// run one after another.
describe('stacks of their own', { concurrency: true }, () => {
  describe('storaged over TLS', { concurrency: 1 }, () => {
    let p, dead, certs, other;
    const env = () => ({
      PARLEY_STORAGED: p.cluster.addr,
      PARLEY_CLUSTER_CA: certs.ca,
      PARLEY_CLUSTER_CERT: certs.cert,
      PARLEY_CLUSTER_KEY: certs.key,
    });

    before(async () => {
      dead = await freePort();	// nobody listens there
      // The TLS connections' cap at 160 (the test build's hook): the cap's
      // test makes that many handshakes, not a thousand.
      p = new Parley({
        workers: 2, mock: true, env: { PARLEY_TEST_TLS_CLIENTS_MAX: String(TLS_CAP), PARLEY_TEST_FRAME_MS: String(FRAME_MS) },
        clusterTls: { storaged: (addr) => `tls://127.0.0.1:${dead},${addr}` },
      });
      await p.start();
      const d = p.cluster.dir;
      certs = { ca: path.join(d, 'ca.pem'), cert: path.join(d, 'node.pem'), key: path.join(d, 'node.key') };
      // Another CA, with a certificate of the same name.
      other = path.join(p.tmp, 'other');
      const r = spawnSync(path.join(REPO, 'scripts/cluster-certs.sh'), [other, '--storaged', 'node=127.0.0.1'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    });
    after(async () => { if (p) await p.stop(); });

    test('the workers passed the dead address and reached storaged over TLS: a chat turn, a WebSocket turn', async () => {
      await waitFor(() => (p.logs.masterd.match(new RegExp(`storaged: connected to ${p.cluster.addr.replace(/\./g, '\\.')}`, 'g')) || []).length >= 2,
        10000, 'both workers connected over TLS');
      await p.waitLog('masterd', new RegExp(`cannot connect to tls://127\\.0\\.0\\.1:${dead}`));
      assert.doesNotMatch(p.logs.masterd, /storaged: connected to unix:/);
      const r = await chat(p, sid('tls'), 'hello over tls');
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json().message, mockReply('hello over tls'));
      const w = await createWidget(p);
      const v = await Visitor.open(p, w.widget_id);
      await v.next('session');
      await v.turn('hello over a socket');
      v.ws.close();
    });

    test('parleyctl: stats over TLS (the setting, and --storaged); a backup is refused before it is tried', async () => {
      let r = await ctl(['stats', '--json'], env());
      assert.equal(r.code, 0, r.stderr);
      assert.ok(JSON.parse(r.stdout).conversations >= 1);
      r = await ctl(['--storaged', `tls://127.0.0.1:${dead},${p.cluster.addr}`, 'stats'], { ...env(), PARLEY_STORAGED: '' });
      assert.equal(r.code, 0, r.stderr);
      r = await ctl(['backup', path.join(p.tmp, 'b.mdb')], env());
      assert.equal(r.code, 1);
      assert.equal(r.stderr, 'parleyctl: backup: backup needs the Unix socket: run parleyctl backup on the storaged host\n');
      assert.ok(!fs.existsSync(path.join(p.tmp, 'b.mdb')));
    });

    test('ST_BACKUP over TLS is answered unsupported; the protocol is as on the socket', async () => {
      const s = tls.connect({ host: '127.0.0.1', port: p.cluster.port, ca: fs.readFileSync(certs.ca), cert: fs.readFileSync(certs.cert), key: fs.readFileSync(certs.key) });
      const got = [];
      let buf = Buffer.alloc(0);
      const replied = new Promise((resolve) => {
        s.on('data', (d) => {
          buf = Buffer.concat([buf, d]);
          while (buf.length >= 12 && buf.length >= 12 + buf.readUInt32BE(4)) {
            const m = { type: buf.readUInt16BE(0), flags: buf.readUInt16BE(2), id: buf.readUInt32BE(8), payload: buf.subarray(12, 12 + buf.readUInt32BE(4)) };
            buf = buf.subarray(12 + buf.readUInt32BE(4));
            got.push(m);
            if (m.id === 7) resolve(m);
          }
        });
      });
      s.on('secureConnect', () => {
        s.write(Buffer.concat([helloFrame('parleyctl'), frame(T.ST_BACKUP, 0, 7, Buffer.alloc(0))]));
      });
      const m = await within(replied, 5000);
      s.destroy();
      assert.ok(m, 'ST_BACKUP answered');
      assert.deepEqual(got.slice(0, 2).map((x) => x.type), [T.HELLO, T.ST_EV_ROLE]);
      assert.deepEqual([...got[1].payload.subarray(0, 1)], [0], 'it says primary');
      assert.equal(m.flags, F.REPLY | F.ERROR);
      assert.equal(m.payload.readUInt32BE(0), 4);
      assert.match(m.payload.subarray(8).toString(), /^backup needs the Unix socket: run parleyctl backup on the storaged host$/);
    });

    // The two deadlines waited out side by side: a peer that never says
    // HELLO and peers that trickle a frame hold nothing of each other's.
    describe('the deadlines', { concurrency: true }, () => {
      test('a certified peer that never says HELLO is closed after the handshake\'s deadline (5 s), not held', async () => {
        const s = tls.connect({ host: '127.0.0.1', port: p.cluster.port, ca: fs.readFileSync(certs.ca), cert: fs.readFileSync(certs.cert), key: fs.readFileSync(certs.key) });
        s.on('error', () => {});
        s.resume();	// read, so that storaged's close is seen
        await new Promise((resolve) => s.once('secureConnect', resolve));
        const t0 = Date.now();
        const closed = new Promise((resolve) => s.once('close', () => resolve(true)));
        assert.ok(await within(closed, 9000), 'closed by storaged');
        const ms = Date.now() - t0;
        assert.ok(ms >= 4000, `closed after ${ms} ms: the deadline, not at once`);
        await waitFor(() => /no HELLO in time/.test(p.logs.storaged), 2000, 'the reason logged');
      });

      test(`certified peers that begin a large frame and trickle it are closed at the frame's deadline (${FRAME_MS / 1000} s here); the others are served meanwhile`, async () => {
        const opts = { host: '127.0.0.1', port: p.cluster.port, ca: fs.readFileSync(certs.ca), cert: fs.readFileSync(certs.cert), key: fs.readFileSync(certs.key) };
        // Each announces a 4 MB request, sends 256 KB of it, then a byte every 200 ms.
        const peers = await Promise.all(Array.from({ length: 4 }, () => new Promise((resolve) => {
          const s = tls.connect(opts);
          s.on('error', () => {});
          s.resume();	// read, so that storaged's close is seen
          const closed = new Promise((r) => s.once('close', () => r(Date.now())));
          s.once('secureConnect', () => {
            const head = frame(T.ST_BACKUP, 0, 9, Buffer.alloc(4 << 20)).subarray(0, 12 + (256 << 10));
            // Before the write: storaged's deadline runs from the frame's
            // first bytes, which may come long before the 256 KB are all
            // taken (the write's callback came 1.6 s late under load).
            const started = Date.now();
            s.write(Buffer.concat([helloFrame('parleyctl'), head]), () => {
              const drip = setInterval(() => { if (!s.destroyed) s.write(Buffer.alloc(1)); }, 200);
              resolve({ s, started, drip, closed });
            });
          });
        })));
        try {
          // Served meanwhile: a chat turn, a new certified client.
          assert.equal((await chat(p, sid('tls'), 'while frames trickle')).status, 200);
          assert.ok((await tlsProbe(p.cluster.port, { ca: opts.ca, cert: opts.cert, key: opts.key })).hello, 'a new client served');
          const at = await within(Promise.all(peers.map((x) => x.closed)), FRAME_MS + 6000);
          assert.ok(at, 'every trickling peer closed by storaged');
          for (let i = 0; i < peers.length; i++) {
            const ms = at[i] - peers[i].started;
            assert.ok(ms >= FRAME_MS - 1000 && ms < FRAME_MS + 4000, `closed at the deadline, ${ms} ms after its frame began`);
          }
        } finally {
          for (const x of peers) { clearInterval(x.drip); x.s.destroy(); }
        }
        await waitFor(() => /no whole request in time/.test(p.logs.storaged), 2000, 'the reason logged');
        assert.equal((await chat(p, sid('tls'), 'after they are gone')).status, 200);
      });
    });

    test('no certificate, another CA, plaintext: refused at the handshake; the others are served meanwhile', async () => {
      const ca = fs.readFileSync(certs.ca);
      const good = await tlsProbe(p.cluster.port, { ca, cert: fs.readFileSync(certs.cert), key: fs.readFileSync(certs.key) });
      assert.ok(good.hello, 'a client of the cluster is served');
      const none = await tlsProbe(p.cluster.port, { ca });
      assert.ok(!none.hello, 'no certificate: no HELLO');
      const otherCa = await tlsProbe(p.cluster.port, { ca, cert: fs.readFileSync(path.join(other, 'node.pem')), key: fs.readFileSync(path.join(other, 'node.key')) });
      assert.ok(!otherCa.hello, 'another CA: no HELLO');
      const plain = await new Promise((resolve) => {
        const s = net.connect(p.cluster.port, '127.0.0.1');
        let data = Buffer.alloc(0);
        s.on('connect', () => s.write(helloFrame('parley-workerd')));
        s.on('data', (d) => { data = Buffer.concat([data, d]); });
        s.on('error', () => {});
        s.on('close', () => resolve(data));
      });
      assert.ok(plain.length === 0 || plain[0] === 0x15, 'plaintext: nothing but a TLS alert back');
      await waitFor(() => /refused at the handshake: peer did not return a certificate/.test(p.logs.storaged), 5000, 'no certificate logged');
      await waitFor(() => /refused at the handshake: certificate: unable to get local issuer certificate/.test(p.logs.storaged), 5000, 'another CA logged');
      await waitFor(() => /TLS client 127\.0\.0\.1:\d+ refused at the handshake: wrong version number/.test(p.logs.storaged), 5000, 'plaintext logged');
      const r = await chat(p, sid('tls'), 'still served');
      assert.equal(r.status, 200, r.text);
    });

    test('80 silent peers from other addresses, reopened as they close, do not keep a certified client out; the deadline (5 s) closes them', async () => {
      const t0 = Date.now();
      const tlsOpts = { ca: fs.readFileSync(certs.ca), cert: fs.readFileSync(certs.cert), key: fs.readFileSync(certs.key) };
      // 10 addresses other than the workers' (127.0.0.1), 8 connections each.
      const addrs = Array.from({ length: 10 }, (_, i) => `127.0.0.${i + 2}`);
      let stop = false, reopened = 0, closedAtOnce = 0;
      const held = [];
      const open = (localAddress) => {
        const s = net.connect({ port: p.cluster.port, host: '127.0.0.1', localAddress });
        const opened = Date.now();
        const x = { s, opened, closedMs: null };
        s.on('error', () => {});
        s.on('close', () => {
          x.closedMs = Date.now() - opened;
          if (x.closedMs < 1000) closedAtOnce++;
          // Reopened as they close, a bounded number of times.
          if (!stop && reopened < 2000) { reopened++; setTimeout(() => open(localAddress), 20); }
        });
        held.push(x);
      };
      for (const a of addrs) for (let i = 0; i < 8; i++) open(a);
      // storaged is at its cap for strangers once connections are closed at once.
      await waitFor(() => closedAtOnce >= 20, 5000, 'connections past the caps closed at once');
      await waitFor(() => /connection\(s\) closed at once, \d+ in their TLS handshake \(the latest from 127\.0\.0\.\d+:\d+: /.test(p.logs.storaged), 2000, 'the cap logged');
      // A 9th connection from one address is closed at once.
      const ninth = net.connect({ port: p.cluster.port, host: '127.0.0.1', localAddress: addrs[0] });
      ninth.on('error', () => {});
      assert.ok(await within(new Promise((r) => ninth.on('close', () => r(true))), 2000).catch(() => false), 'a 9th from one address closed at once');
      // The workers' address completed handshakes before: a certified client gets in, 3 of 3 tries.
      for (let i = 0; i < 3; i++) {
        const r = await tlsProbe(p.cluster.port, tlsOpts, { timeout: 4000 });
        assert.ok(r.hello, `certified client served during the flood (try ${i + 1}): ${r.error || 'closed'}`);
      }
      // A worker's connection, made before, is served all along.
      assert.equal((await chat(p, sid('tls'), 'during the cap')).status, 200);
      stop = true;
      await new Promise((r) => setTimeout(r, 300));	// the last reopened ones settle
      const silent = held.filter((x) => x.closedMs === null);
      assert.ok(silent.length >= 40 && silent.length <= 48, `strangers hold at most the unreserved slots: ${silent.length}`);
      const closed = await within(Promise.all(silent.map((x) => new Promise((r) => x.s.on('close', () => r(x.closedMs))))), 9000);
      assert.ok(closed, 'every silent connection closed');
      for (const ms of closed) assert.ok(ms >= 4500 && ms < 8500, `closed at the deadline, ${ms} ms`);
      await waitFor(() => /refused at the handshake: no handshake in time/.test(p.logs.storaged), 2000, 'the deadline logged');
      const again = await tlsProbe(p.cluster.port, tlsOpts);
      assert.ok(again.hello, 'served again once they are gone');
      assert.ok(Date.now() - t0 < 30000);
    });

    test('at most TLS_CLIENTS_MAX TLS connections (160 in the test build): certified peers past it are closed at once; the workers are served, and a new one once some close', { timeout: 90000 }, async () => {
      const opts = { ca: fs.readFileSync(certs.ca), cert: fs.readFileSync(certs.cert), key: fs.readFileSync(certs.key) };
      // A certified client that said HELLO and holds its connection: resolves
      // with the socket once storaged's HELLO came, null if closed before.
      const hold = (localAddress) => new Promise((resolve) => {
        const s = tls.connect({ host: '127.0.0.1', port: p.cluster.port, localAddress, ...opts });
        s.on('error', () => {});
        s.once('secureConnect', () => s.write(helloFrame('parleyctl')));
        s.once('data', (d) => resolve(d.length >= 12 && d.readUInt16BE(0) === T.HELLO ? s : null));
        s.once('close', () => resolve(null));
      });
      const held = [];
      let refused = 0;
      try {
        // 32 at a time from 32 addresses (one handshake each at once), until refused.
        for (let round = 0; round < 40 && refused === 0; round++) {
          const got = await Promise.all(Array.from({ length: 32 }, (_, i) => hold(`127.0.1.${i + 1}`)));
          for (const s of got) if (s) held.push(s); else refused++;
        }
        assert.ok(refused > 0, `a connection past the cap refused (${held.length} held)`);
        // Ours and the two workers', and parleyctl's or a probe's of the tests before closing.
        assert.ok(held.length >= TLS_CAP - 8 && held.length <= TLS_CAP - 2, `connections held at the cap: ${held.length}`);
        // (The cap's log line is once a minute: the test before logged its own.)
        assert.ok(!(await tlsProbe(p.cluster.port, opts, { timeout: 4000 })).hello, 'a new client refused at the cap');
        assert.equal((await chat(p, sid('tls'), 'at the cap')).status, 200, 'the workers served');
        for (const s of held.splice(0, 8)) s.destroy();
        await waitFor(async () => (await tlsProbe(p.cluster.port, opts, { timeout: 4000 })).hello, 10000, 'a new client served once some closed');
      } finally {
        for (const s of held) s.destroy();
      }
    });
  });

  // A client over TLS with certs ({ca, cert, key}) whose HELLO says as:
  // {s, frames, reply(id)} (every frame it got; the reply to request id).
  function peer(port, certs, as) {
    return new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, ...certs });
      const frames = [];
      const waits = new Map();
      let buf = Buffer.alloc(0);
      s.on('error', reject);
      s.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 12 && buf.length >= 12 + buf.readUInt32BE(4)) {
          const m = { type: buf.readUInt16BE(0), flags: buf.readUInt16BE(2), id: buf.readUInt32BE(8), payload: buf.subarray(12, 12 + buf.readUInt32BE(4)) };
          buf = buf.subarray(12 + buf.readUInt32BE(4));
          frames.push(m);
          if ((m.flags & F.REPLY) && waits.has(m.id)) waits.get(m.id)(m);
        }
      });
      s.on('secureConnect', () => {
        s.write(helloFrame(as));
        resolve({ s, frames, reply: (id) => within(new Promise((r) => waits.set(id, r)), 5000) });
      });
    });
  }

  describe('a certificate\'s role says what its HELLO may be', { concurrency: 1 }, () => {
    let p, sb, dir, ca;
    const files = (name) => ({ ca, cert: fs.readFileSync(path.join(dir, `${name}.pem`)), key: fs.readFileSync(path.join(dir, `${name}.key`)) });
    const ctlEnv = (name) => ({ PARLEY_STORAGED: p.cluster.addr, PARLEY_CLUSTER_CA: path.join(dir, 'ca.pem'), PARLEY_CLUSTER_CERT: path.join(dir, `${name}.pem`), PARLEY_CLUSTER_KEY: path.join(dir, `${name}.key`) });
    // A standby's ST_REPL_START from name's certificate: refused, and not
    // one snapshot or record byte comes; its ST_REPL_ACK changes nothing.
    async function refusedStandby(name) {
      const c = await peer(p.cluster.port, files(name), 'parley-storaged');
      try {
        const start = new Enc().u64(0).u64(0).bytes(Buffer.alloc(32)).str('10.6.6.6:1').done();
        c.s.write(frame(T.ST_REPL_START, 0, 1, start));
        const m = await c.reply(1);
        assert.ok(m, 'ST_REPL_START answered');
        assert.equal(m.flags, F.REPLY | F.ERROR);
        assert.match(m.payload.subarray(8).toString(), /^not a request this process may send$/);
        const seq = (await role(p)).seq;
        c.s.write(frame(T.ST_REPL_ACK, 0, 2, new Enc().u64(seq + 5).done()));
        assert.ok(await c.reply(2), 'ST_REPL_ACK answered');
        await new Promise((r) => setTimeout(r, 300));
        const repl = c.frames.filter((f) => f.type === T.ST_REPL_SNAP || f.type === T.ST_REPL_REC);
        assert.equal(repl.length, 0, 'no snapshot, no record');
      } finally {
        c.s.destroy();
      }
    }

    before(async () => {
      p = new Parley({ workers: 1, mock: true, clusterTls: true, env: { RATE_LIMIT_MAX_REQUESTS: '0', PARLEY_SYNC: 'replica' } });
      await p.start();
      dir = p.cluster.dir;
      ca = fs.readFileSync(path.join(dir, 'ca.pem'));
      // The standby, with the harness's certificate (--storaged node).
      sb = new Parley({ masterd: false, env: { PARLEY_ROLE: 'standby', PARLEY_PRIMARY: p.cluster.addr, PARLEY_CLUSTER_CA: path.join(dir, 'ca.pem'), PARLEY_CLUSTER_CERT: path.join(dir, 'node.pem'), PARLEY_CLUSTER_KEY: path.join(dir, 'node.key') } });
      await sb.start();
      const r = spawnSync(path.join(REPO, 'scripts/cluster-certs.sh'), [dir, '--front', 'web1'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      // One made as the script did before roles: no OU.
      const run = (args) => { const x = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' }); assert.equal(x.status, 0, x.stderr); };
      fs.writeFileSync(path.join(dir, 'old.ext'), 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:old\n');
      run(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'old.key']);
      run(['req', '-new', '-key', 'old.key', '-subj', '/CN=old', '-out', 'old.csr']);
      run(['x509', '-req', '-in', 'old.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', '0x1234', '-days', '2', '-sha256', '-extfile', 'old.ext', '-out', 'old.pem']);
      for (let i = 0; i < 3; i++) assert.equal((await chat(p, sid('role'), `before ${i}`)).status, 200);
      await caughtUp(p, sb, 'the standby (a storaged certificate) linked over TLS');
    });
    after(async () => {
      if (sb) await sb.stop();
      if (p) await p.stop();
    });

    test('a front host\'s certificate saying parley-storaged: no snapshot, the standby streams on; parleyctl with it is served', async () => {
      await refusedStandby('web1');
      await waitFor(() => /says parley-storaged, which its certificate's role \(front\) may not: refused/.test(p.logs.storaged), 5000, 'the refusal logged');
      assert.doesNotMatch(p.logs.storaged, /another standby connected/);
      assert.equal((await chat(p, sid('role'), 'after the front host')).status, 200);
      await caughtUp(p, sb, 'the standby still streams');
      const r = await ctl(['stats', '--json'], ctlEnv('web1'));
      assert.equal(r.code, 0, r.stderr);
    });

    test('a certificate made before roles saying parley-storaged: refused, with a line to reissue it; parleyctl with it is served', async () => {
      await refusedStandby('old');
      await waitFor(() => /says parley-storaged, but its certificate names no role \(made before roles\): refused; reissue it with scripts\/cluster-certs\.sh --storaged/.test(p.logs.storaged), 5000, 'the refusal logged');
      assert.doesNotMatch(p.logs.storaged, /another standby connected/);
      assert.equal((await chat(p, sid('role'), 'after the old certificate')).status, 200);
      await caughtUp(p, sb, 'the standby still streams');
      const r = await ctl(['stats', '--json'], ctlEnv('old'));
      assert.equal(r.code, 0, r.stderr);
    });
  });

  describe('the workers and parleyctl go past a standby over TLS to the primary', { concurrency: 1 }, () => {
    let p, s, standby;

    before(async () => {
      const port = await freePort();
      standby = `tls://127.0.0.1:${port}`;
      // The standby is listed first: every worker meets it before the primary.
      p = new Parley({ workers: 2, mock: true, clusterTls: { storaged: (addr) => `${standby},${addr}` } });
      await p.start();
      const { PARLEY_CLUSTER_CA, PARLEY_CLUSTER_CERT, PARLEY_CLUSTER_KEY } = p.cluster.env;
      s = new Parley({ masterd: false, env: { PARLEY_ROLE: 'standby', PARLEY_PRIMARY: p.cluster.addr, PARLEY_STORAGED_LISTEN: standby, PARLEY_CLUSTER_CA, PARLEY_CLUSTER_CERT, PARLEY_CLUSTER_KEY } });
      await s.start();
      await caughtUp(p, s, 'the standby linked over TLS');
    });
    after(async () => { await s?.stop(); await p?.stop(); });

    test('workers started with the standby up hear it is one, write to the primary; parleyctl writes there too', async () => {
      const from = p.logs.masterd.length;
      await p.restartMaster();
      const said = p.logs.masterd.slice(from);
      const esc = (x) => x.replace(/[./[\]]/g, '\\$&');
      assert.equal((said.match(new RegExp(`parley-workerd\\[\\d+\\]: warn: storaged: cannot connect to ${esc(standby)} \\(it is standby; primary: ${esc(p.cluster.addr)}\\)`, 'g')) || []).length, 2, said);
      assert.equal((said.match(new RegExp(`parley-workerd\\[\\d+\\]: info: storaged: connected to ${esc(p.cluster.addr)}`, 'g')) || []).length, 2, said);
      for (let i = 0; i < 4; i++) {
        const r = await chat(p, sid('standby-first'), `written to the primary ${i}`);
        assert.equal(r.status, 200, r.text);
      }
      const { PARLEY_CLUSTER_CA, PARLEY_CLUSTER_CERT, PARLEY_CLUSTER_KEY } = p.cluster.env;
      const r = await new Promise((resolve) => {
        const c = execFile(CTL, ['--storaged', `${standby},${p.cluster.addr}`, 'user', 'add', 'past-the-standby@example.com', '--role', 'owner'],
          { timeout: 30000, env: { ...process.env, PARLEY_STORAGED: '', PARLEY_CLUSTER_CA, PARLEY_CLUSTER_CERT, PARLEY_CLUSTER_KEY } },
          (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stderr }));
        c.stdin.end('a-long-enough-password\n');
      });
      assert.equal(r.code, 0, r.stderr);	// a standby answers it "not primary"
    });
  });

  describe('what the TLS listener\'s peers hold together: per address, and a byte budget', { concurrency: 1 }, () => {
    // One address keeps 12 connections at most (PARLEY_STORAGED_TLS_PEER_MAX;
    // 288 by default); the TLS clients hold 16 MB together at most
    // (PARLEY_STORAGED_TLS_BUFFER_MB, its least; 256 by default). ASan's
    // quarantine kept small: a freed buffer leaves storaged's RSS at once,
    // so the RSS says what storaged holds.
    const PEER_MAX = 12, BUDGET_MB = 16;
    let p, certs;

    before(async () => {
      p = new Parley({
        workers: 1, mock: true, clusterTls: true,
        env: {
          PARLEY_STORAGED_TLS_PEER_MAX: String(PEER_MAX),
          PARLEY_STORAGED_TLS_BUFFER_MB: String(BUDGET_MB),
          ASAN_OPTIONS: `abort_on_error=0:halt_on_error=1:detect_leaks=1:print_summary=1:exitcode=66:quarantine_size_mb=1:${ASAN_SPEED}`,
        },
      });
      await p.start();
      const d = p.cluster.dir;
      certs = { ca: fs.readFileSync(path.join(d, 'ca.pem')), cert: fs.readFileSync(path.join(d, 'node.pem')), key: fs.readFileSync(path.join(d, 'node.key')) };
    });
    after(async () => { if (p) await p.stop(); });

    test('one address past PARLEY_STORAGED_TLS_PEER_MAX (12) is closed at once, logged once; another address and the workers are served', async () => {
      const held = [];
      try {
        // Two rounds of 6: an address's handshakes at once are 8 at most.
        for (let round = 0; round < 2; round++) {
          const got = await Promise.all(Array.from({ length: PEER_MAX / 2 }, () => holdPeer(p.cluster.port, certs, '127.0.0.2')));
          for (const s of got) { assert.ok(s, 'a connection under the cap served'); held.push(s); }
        }
        assert.equal(await holdPeer(p.cluster.port, certs, '127.0.0.2'), null, 'the 13th from 127.0.0.2 closed before its HELLO');
        assert.equal(await holdPeer(p.cluster.port, certs, '127.0.0.2'), null, 'and the 14th');
        const other = await tlsProbe(p.cluster.port, { ...certs, localAddress: '127.0.0.3' }, { timeout: 4000 });
        assert.ok(other.hello, `another address served: ${other.error || 'closed'}`);
        assert.equal((await chat(p, sid('tls-peer'), 'one address at its cap')).status, 200, 'the workers served');
        await waitFor(() => /connection from 127\.0\.0\.2:\d+ closed at once: its address has 12 open, PARLEY_STORAGED_TLS_PEER_MAX/.test(p.logs.storaged), 2000, 'the cap logged');
        assert.equal((p.logs.storaged.match(/connection from 127\.0\.0\.2:\d+ closed at once/g) || []).length, 1, 'said once for the address');
        held.pop().destroy();
        await waitFor(async () => (await tlsProbe(p.cluster.port, { ...certs, localAddress: '127.0.0.2' }, { timeout: 4000 })).hello, 5000, 'a new one from 127.0.0.2 once one closed');
      } finally {
        for (const s of held) s.destroy();
      }
    });

    test('peers sending 8 MB requests and never reading: storaged\'s RSS stays near the budget (16 MB), the workers are served, the largest holder closed and logged', async () => {
      const pid = p.procs.storaged.child.pid;
      const rss0 = rssKiB(pid);
      let peak = rss0;
      const sample = setInterval(() => { peak = Math.max(peak, rssKiB(pid)); }, 20);
      // 8 peers of one address, each 2 requests of (almost) 8 MB storaged
      // answers at once (ST_BACKUP over TLS: refused), never read: 128 MB.
      const big = frame(T.ST_BACKUP, 0, 9, Buffer.alloc((8 << 20) - 64));
      const peers = (await Promise.all(Array.from({ length: 8 }, () => holdPeer(p.cluster.port, certs, '127.0.0.4')))).filter(Boolean);
      assert.equal(peers.length, 8, 'the peers connected');
      try {
        // Each is done once storaged took all it sent, or closed it.
        const state = peers.map((s) => {
          const x = { s, lport: s.localPort, closed: false };
          s.once('close', () => { x.closed = true; });
          s.write(big);
          s.write(big);
          return x;
        });
        assert.equal((await chat(p, sid('tls-budget'), 'while peers hold')).status, 200, 'the workers served');
        await waitFor(() => state.every((x) => x.closed || (x.s.writableLength === 0 && tcpInFlight(p.cluster.port, x.lport) === 0)),
          20000, 'every peer sent all or was closed');
        const ends = state.map((x) => (x.closed ? 'closed' : 'taken'));
        peak = Math.max(peak, rssKiB(pid));
        const grewMB = (peak - rss0) / 1024;
        // The budget, one buffer's last doubling past it (8 MB), TLS's own buffers.
        assert.ok(grewMB < BUDGET_MB + 16, `storaged's RSS grew ${grewMB.toFixed(1)} MB (budget ${BUDGET_MB} MB; peers ${ends.join(',')})`);
        assert.ok(ends.includes('closed'), `some peer closed over the budget: ${ends.join(',')}`);
        await waitFor(() => /client \d+ \(parleyctl, 127\.0\.0\.4:\d+\): closed: the TLS clients hold \d+ bytes, PARLEY_STORAGED_TLS_BUFFER_MB is 16 MB/.test(p.logs.storaged), 2000, 'the close logged');
        assert.equal((await chat(p, sid('tls-budget'), 'after them')).status, 200, 'the workers served after');
      } finally {
        clearInterval(sample);
        for (const s of peers) s.destroy();
      }
    });
  });
});
