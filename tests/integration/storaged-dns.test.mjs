// A storaged address given by DNS name, and a resolver that does not
// answer: the workers, and a standby dialling its primary, look the name
// up off their event loop (lib/dnslookup.c), so the lookup that hangs stalls
// only that connection attempt. Past the storage timeout the workers go on
// to the next address and serve chats while the name's query is still
// unanswered; the standby answers its clients (parleyctl role) meanwhile.
// A blocking getaddrinfo() in the loop held every socket of the process
// until the resolver gave up (here, never within the test: 30 s a try,
// 5 tries).
//
// The daemons run in a mount namespace of their own (unshare -m, as root)
// whose /etc/resolv.conf names a DNS server of this test's on loopback,
// which records each query and answers none until it is let go.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Parley, waitFor } from './lib/harness.mjs';
import { chat, mockReply, sid } from './lib/chat.mjs';
import { role } from './lib/standby.mjs';

const DNS_ADDR = '127.0.0.77';
const NAME = 'stall.parley.test';

// A DNS server that holds every query until release(), then answers each
// (and every later one) "no such name".
function holdingDns() {
  const sock = dgram.createSocket('udp4');
  const held = [];
  const queries = [];
  let released = false;
  const nxdomain = (msg) => {
    const r = Buffer.from(msg);
    r[2] = 0x81 | (msg[2] & 0x01); // QR, RD as asked
    r[3] = 0x83; // RA, NXDOMAIN
    r.writeUInt16BE(0, 6); // no answers
    return r;
  };
  const qname = (msg) => {
    const labels = [];
    for (let i = 12; i < msg.length && msg[i] !== 0; i += msg[i] + 1) labels.push(msg.subarray(i + 1, i + 1 + msg[i]).toString());
    return labels.join('.');
  };
  sock.on('message', (msg, rinfo) => {
    if (msg.length < 12) return;
    queries.push(qname(msg));
    if (released) sock.send(nxdomain(msg), rinfo.port, rinfo.address);
    else held.push([msg, rinfo]);
  });
  return {
    queries,
    held: () => held.length,
    start: () => new Promise((resolve, reject) => { sock.once('error', reject); sock.bind(53, DNS_ADDR, resolve); }),
    release() {
      released = true;
      for (const [msg, rinfo] of held.splice(0)) sock.send(nxdomain(msg), rinfo.port, rinfo.address);
    },
    close: () => new Promise((resolve) => sock.close(resolve)),
  };
}

describe('a storaged address by DNS name, the resolver silent', () => {
  let p;
  let dns;
  let inNamespace;

  before(async () => {
    dns = holdingDns();
    await dns.start();
    const dir = fs.mkdtempSync('/tmp/parley-dns-');
    const resolv = path.join(dir, 'resolv.conf');
    fs.writeFileSync(resolv, `nameserver ${DNS_ADDR}\noptions timeout:30 attempts:5\n`);
    // A daemon (masterd and the workers it starts) in a mount namespace
    // whose resolv.conf is this one; exec keeps the pid the daemon's.
    inNamespace = (bin, env) => ['unshare', ['-m', '--', 'sh', '-c',
      `mount --bind ${resolv} /etc/resolv.conf && exec "$0" "$@"`, bin], env];
    p = new Parley({
      workers: 2, mock: true,
      env: { PARLEY_STORAGE_TIMEOUT_MS: '1000', RATE_LIMIT_MAX_REQUESTS: '0' },
      clusterTls: { storaged: (addr) => `tls://${NAME}:${addr.split(':').at(-1)},${addr}` },
      wrap: { masterd: inNamespace },
    });
    await p.start();
  });
  after(async () => {
    if (p) await p.stop();
    if (dns) await dns.close();
  });

  test('a standby whose primary is a name answers its clients while the lookup hangs', async (t) => {
    const s = new Parley({
      masterd: false, clusterTls: true,
      env: { PARLEY_ROLE: 'standby', PARLEY_PRIMARY: `tls://${NAME}:${p.cluster.port}` },
      wrap: { storaged: inNamespace },
    });
    t.after(() => s.stop());
    const asked = dns.queries.length;
    await s.start();
    await waitFor(() => dns.queries.slice(asked).includes(NAME), 10000, `the standby's query for ${NAME}`);
    const r = await role(s);
    assert.equal(r.role, 'standby');
    assert.equal(r.linked, false);
    assert.ok(dns.held() > 0, 'its query is still unanswered');
  });

  test('the workers go on to the next address and serve while the name\'s query is unanswered', async () => {
    await waitFor(() => dns.queries.includes(NAME), 10000, `a query for ${NAME}`);
    await waitFor(() => (p.logs.masterd.match(new RegExp(`storaged: connected to ${p.cluster.addr.replace(/\./g, '\\.')}`, 'g')) || []).length >= 2,
      15000, 'both workers connected at the next address');
    await p.waitLog('masterd', new RegExp(`storaged: cannot connect to tls://${NAME.replace(/\./g, '\\.')}:\\d+ \\(name lookup timed out\\)`));
    for (let i = 0; i < 4; i++) {
      const r = await chat(p, sid(`dns${i}`), `hello ${i}`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json().message, mockReply(`hello ${i}`));
    }
    assert.ok(dns.held() > 0, 'the name\'s queries are still unanswered');
    // Answered at last ("no such name"): the next tries of the name fail
    // at once, and the workers stay where they are.
    dns.release();
    const r = await chat(p, sid('dns-after'), 'after the answer');
    assert.equal(r.status, 200, r.text);
  });
});
