// Failover with etcd over TLS (storaged/STORAGE.md "Failover", docs/
// cluster.md): etcd (lib/etcd.mjs, tls) serves https only and asks every
// client for a certificate of the cluster's CA (--client-cert-auth);
// storaged with PARLEY_ETCD=https://... verifies etcd against
// PARLEY_CLUSTER_CA and presents PARLEY_CLUSTER_CERT.
//  - two storaged of the cluster's CA: one primary, the other its standby;
//    etcd's keys name them;
//  - storaged whose certificate is of another CA: one whose
//    PARLEY_CLUSTER_CA holds both CAs (it trusts etcd, etcd refuses its
//    certificate: the client-certificate check itself), one of the other
//    CA alone (it refuses etcd's certificate too); each alone in a cluster
//    of its own where reaching etcd would make it primary at once: each
//    logs why etcd is out of reach, neither becomes primary, and etcd has
//    no key of theirs. (A certificate its own PARLEY_CLUSTER_CA does not
//    accept stops storaged at start: storaged-tls.test.mjs.)
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { Etcd, makeCerts } from './lib/etcd.mjs';
import { Parley, waitFor } from './lib/harness.mjs';

const WAIT_MS = 10000;

let etcd;
before(async () => { etcd = await Etcd.start({ tls: true }); });
after(async () => { await etcd?.stop(); });

// A storaged in role auto, alone (no masterd), named by its socket, with
// the cluster's files of certs (PARLEY_CLUSTER_*), over etcd's https URL.
async function startAuto(t, cluster, certsEnv) {
  const p = new Parley({
    masterd: false,
    env: {
      PARLEY_ROLE: 'auto', PARLEY_SYNC: 'replica', PARLEY_ETCD: etcd.url,
      PARLEY_LEASE_TTL_S: '2', PARLEY_CLUSTER_NAME: cluster, ...certsEnv,
    },
  });
  t.after(() => p.stop());
  p.advertise = `unix:${p.sockPath}`;
  p.opts.env.PARLEY_ADVERTISE = p.advertise;
  await p.start();
  return p;
}

async function logged(p, re, what) {
  await waitFor(() => re.test(p.logs.storaged), WAIT_MS, () => `${what}\n${p.tail('storaged')}`);
}

test('etcd with client-certificate auth: storaged of the cluster\'s CA elect a primary; one of another CA, or trusting another, never takes part', { timeout: 60000 }, async (t) => {
  const good = etcd.certs.env;
  // Another CA, with a node of the same name and address.
  const other = makeCerts(path.join(etcd.dir, 'other'));
  const both = path.join(other.dir, 'both.pem');
  fs.writeFileSync(both, fs.readFileSync(other.ca, 'utf8') + fs.readFileSync(good.PARLEY_CLUSTER_CA, 'utf8'));
  const [a, strangerCert, strangerCa] = await Promise.all([
    startAuto(t, 'tls', good),
    startAuto(t, 'stranger-cert', { ...other.env, PARLEY_CLUSTER_CA: both }),
    startAuto(t, 'stranger-ca', other.env),
  ]);
  await logged(a, /lease: primary of tls in term \d+/, 'a is primary');
  const b = await startAuto(t, 'tls', good);
  await logged(b, new RegExp(`lease: following ${a.advertise}, term \\d+`), 'b follows a');
  await logged(a, new RegExp(`lease: tls's standby in sync: ${b.advertise}`), 'a records b in sync');
  const keys = await etcd.get('/tls/');
  assert.equal(JSON.parse(keys['/tls/primary']).addr, a.advertise);
  assert.equal(JSON.parse(keys['/tls/sync']).addr, b.advertise);

  // By now (several polls later) the strangers tried etcd many times.
  const url = etcd.url.replace(/[./]/g, '\\$&');
  // etcd's alert ends the connection: a send or a receive fails.
  await logged(strangerCert, new RegExp(`lease: etcd: ${url}: (Failure when receiving data from|Failed sending data to) the peer \\(does etcd take PARLEY_CLUSTER_CERT\\?\\)`), 'etcd refused the stranger\'s certificate');
  await logged(strangerCa, new RegExp(`lease: etcd: ${url}: SSL certificate problem`), 'the stranger refused etcd\'s certificate');
  t.diagnostic(`of another CA: ${strangerCert.logs.storaged.match(/lease: etcd: .*/g).join(" / ")}`);
  t.diagnostic(`trusting another CA: ${strangerCa.logs.storaged.match(/lease: etcd: .*/)[0]}`);
  for (const [p, name] of [[strangerCert, 'stranger-cert'], [strangerCa, 'stranger-ca']]) {
    assert.doesNotMatch(p.logs.storaged, /lease: primary of/);
    assert.deepEqual(await etcd.get(`/${name}/`), {});
  }
});
