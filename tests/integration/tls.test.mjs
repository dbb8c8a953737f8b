// TLS (issue 7): TLS_CERT/TLS_KEY make the workers speak TLS 1.2+ with
// ALPN http/1.1. A self-signed certificate made here; curl and openssl
// s_client from outside; a chat stream and a WebSocket chat over TLS;
// SIGHUP with a new certificate serves it to new connections while a
// stream that is open completes; a bad certificate at a reload leaves the
// old workers serving; bad pairs refused at start. Served over TLS (not in
// production), the dashboard's session cookie is Secure and an invitation's
// link is https.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { httpsRequest, Parley, refused, sleep } from './lib/harness.mjs';
import { mockReply } from './lib/chat.mjs';
import { createWidget, Visitor } from './lib/wsclient.mjs';
import { COOKIE, HTTPS_COOKIE, PASSWORD, parseSetCookie } from './lib/dashboard.mjs';
import { installIn } from './lib/people.mjs';

function run(cmd, args, { input, timeout = 15000 } = {}) {
  return new Promise((resolve) => {
    const c = execFile(cmd, args, { timeout, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr });
    });
    // A command that never reads its input (openssl req) may exit first:
    // its closed pipe (EPIPE) is no failure of the command's.
    c.stdin.on('error', () => {});
    c.stdin.end(input ?? '');
  });
}

// A new self-signed P-256 certificate for localhost and 127.0.0.1.
async function makeCert(dir, name) {
  const cert = path.join(dir, `${name}.crt`), key = path.join(dir, `${name}.key`);
  const r = await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-nodes', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-days', '1', '-keyout', key, '-out', cert]);
  assert.equal(r.code, 0, r.stderr);
  return { cert, key, pem: fs.readFileSync(cert, 'utf8'), fp: new crypto.X509Certificate(fs.readFileSync(cert)).fingerprint256 };
}

function sClient(port, args) {
  return run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', ...args], { input: '' });
}

// A streamed turn over TLS: resolves the NDJSON events once it ends.
function tlsStream(p, ca, message, onEvent) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ sessionId: `tls-${crypto.randomUUID()}`, message });
    const req = https.request({ host: '127.0.0.1', port: p.port, method: 'POST', path: '/v1/chat/stream', ca, agent: false,
      headers: { 'Content-Type': 'application/json', 'x-api-key': p.widgetKey, 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      let buf = '';
      const events = [];
      res.setEncoding('utf8');
      res.on('data', (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line.trim() === '') continue;
          const ev = JSON.parse(line);
          events.push(ev);
          if (onEvent) onEvent(ev, res.socket);
        }
      });
      res.on('end', () => resolve({ status: res.statusCode, events, fp: res.socket.getPeerCertificate().fingerprint256 }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function replyOf(events) {
  return events.filter((e) => e.type === 'token').map((e) => e.token ?? e.content ?? '').join('');
}

// The refusals (masterd alone, no stack) run beside the TLS stack's tests.
describe('TLS and its refusals', { concurrency: true }, () => {
  describe('TLS', { concurrency: 1 }, () => {
    let dir, c1, p;
    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-tls-'));
      c1 = await makeCert(dir, 'one');
      fs.copyFileSync(c1.cert, path.join(dir, 'cert.pem'));
      fs.copyFileSync(c1.key, path.join(dir, 'key.pem'));
      p = new Parley({ workers: 2, mock: { chunks: 30, delayMs: 40 }, tlsCa: c1.pem,
        env: { TLS_CERT: path.join(dir, 'cert.pem'), TLS_KEY: path.join(dir, 'key.pem'), RATE_LIMIT_MAX_REQUESTS: '0',
          DASHBOARD_PASSWORD: PASSWORD } });
      await p.start();
    });
    after(async () => {
      await p.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    test('curl: verified with --cacert, refused without', async () => {
      const ok = await run('curl', ['-sS', '--cacert', c1.cert, `https://127.0.0.1:${p.port}/health`]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /ok/i);
      const bad = await run('curl', ['-sS', `https://127.0.0.1:${p.port}/health`]);
      assert.equal(bad.code, 60, `curl without the CA fails verification: ${bad.code} ${bad.stderr}`);
      // Plain HTTP on the TLS port gets nothing useful.
      const plain = await run('curl', ['-sS', '-m', '5', `http://127.0.0.1:${p.port}/health`]);
      assert.notEqual(plain.code, 0);
    });

    test('TLS 1.2 and 1.3 only; ALPN http/1.1', async () => {
      const v12 = await sClient(p.port, ['-tls1_2', '-alpn', 'http/1.1']);
      assert.match(v12.stdout, /New, TLSv1\.2, Cipher is/);
      assert.match(v12.stdout, /ALPN protocol: http\/1\.1/);
      const v13 = await sClient(p.port, ['-tls1_3', '-alpn', 'h2,http/1.1']);
      assert.match(v13.stdout, /New, TLSv1\.3, Cipher is/);
      assert.match(v13.stdout, /ALPN protocol: http\/1\.1/);
      const h2 = await sClient(p.port, ['-alpn', 'h2']);
      assert.match(h2.stdout, /No ALPN negotiated/, 'h2 alone: no ALPN, the handshake goes on');
      const v11 = await sClient(p.port, ['-tls1_1', '-cipher', 'DEFAULT:@SECLEVEL=0']);
      assert.notEqual(v11.code, 0, 'TLS 1.1 is refused');
      // The server's whole answer is one alert (7 bytes): no ServerHello.
      assert.match(v11.stdout, /Cipher is \(NONE\)/);
      assert.match(v11.stdout, /handshake has read 7 bytes/);
      const v = await run('curl', ['-sS', '-v', '--cacert', c1.cert, '--tls-max', '1.1', `https://127.0.0.1:${p.port}/health`]);
      assert.notEqual(v.code, 0, 'curl --tls-max 1.1 fails');
      const r = await httpsRequest(p.port, 'GET', '/health', { ca: c1.pem });
      assert.equal(r.status, 200);
      assert.equal(r.alpn, 'http/1.1');
    });

    test('a garbage handshake is dropped; the server goes on', async () => {
      const r = await p.raw(Buffer.from('\x16\x03\x01\x00\x05hello garbage that is not TLS\r\n\r\n', 'latin1'));
      assert.ok(r.closed, 'closed');
      assert.equal((await httpsRequest(p.port, 'GET', '/health', { ca: c1.pem })).status, 200);
    });

    test('a byte of a TLS record, then silence: every worker goes on serving', async () => {
      // OpenSSL holds the byte; a worker that read again at once for it
      // served nothing else, and no timer fired.
      const held = await Promise.all(Array.from({ length: 4 }, () => new Promise((resolve, reject) => {
        const s = net.connect(p.port, '127.0.0.1', () => s.write(Buffer.from([0x16]), () => resolve(s)));
        s.on('error', reject);
      })));
      await sleep(300);
      for (let i = 0; i < 8; i++) {
        const r = await httpsRequest(p.port, 'GET', '/health', { ca: c1.pem, timeout: 3000 });
        assert.equal(r.status, 200);
      }
      for (const s of held) s.destroy();
    });

    test('a chat stream over TLS', async () => {
      // The two streams side by side (each is the mock's 30 chunks, 40 ms apart).
      const curled = run('curl', ['-sS', '-N', '--cacert', c1.cert, '-H', 'Content-Type: application/json',
        '-H', `x-api-key: ${p.widgetKey}`, '--data', JSON.stringify({ sessionId: 'tls-curl', message: 'curl' }),
        `https://127.0.0.1:${p.port}/v1/chat/stream`]);
      const s = await tlsStream(p, c1.pem, 'hello over tls');
      assert.equal(s.status, 200);
      assert.equal(s.events.at(-1).type, 'done', JSON.stringify(s.events.at(-1)));
      assert.ok(s.events.filter((e) => e.type === 'token').length >= 2);
      assert.equal(replyOf(s.events), mockReply('hello over tls'));
      const ok = await curled;
      assert.equal(ok.code, 0, ok.stderr);
      const lines = ok.stdout.trim().split('\n').map((l) => JSON.parse(l));
      assert.equal(lines.at(-1).type, 'done');
    });

    test('a WebSocket chat over TLS (wss)', async () => {
      const w = await createWidget(p);
      const v = await Visitor.open(p, w.widget_id);
      await v.next('session');
      const { tokens, message } = await v.turn('hello over wss');
      assert.ok(tokens.length >= 2);
      assert.equal(message.content, mockReply('hello over wss'));
      // A second turn on the same socket: the TLS state moved with the fd.
      const t2 = await v.turn('again');
      assert.equal(t2.message.content, mockReply('again'));
      await v.close();
    });

    test('the session cookie is Secure and __Host- over TLS (not in production), set and cleared; the plain name is no session there; an invitation\'s link is https', async () => {
      // Without Secure a browser sends the cookie to http:// on this host
      // (any port), where whoever is on the path reads it.
      const json = { 'Content-Type': 'application/json' };
      const r = await p.request('POST', '/dashboard/api/login', { headers: json, body: JSON.stringify({ password: PASSWORD }) });
      assert.equal(r.status, 200, r.text);
      const set = parseSetCookie([r.headers['set-cookie']].flat()[0]);
      assert.equal(set.name, HTTPS_COOKIE);
      assert.equal(set.attrs.secure, true, `Secure over TLS: ${r.headers['set-cookie']}`);
      // So is the browser's known-device cookie.
      const device = parseSetCookie([r.headers['set-cookie']].flat()[1]);
      assert.equal(device.name, '__Host-parley_device');
      assert.deepEqual([device.attrs.secure, device.attrs.path], [true, '/']);
      const plain = await p.request('GET', '/dashboard/api/session', { headers: { Cookie: `${COOKIE}=${set.value}` } });
      assert.equal(plain.status, 401, `the plain name is no session over TLS: ${plain.text}`);
      const out = await p.request('POST', '/dashboard/api/logout', { headers: { Cookie: `${HTTPS_COOKIE}=${set.value}`, 'x-csrf-token': r.json().csrfToken } });
      assert.equal(out.status, 204, out.text);
      const cleared = parseSetCookie([out.headers['set-cookie']].flat()[0]);
      assert.equal(cleared.name, HTTPS_COOKIE);
      assert.equal(cleared.attrs['max-age'], '0');
      assert.equal(cleared.attrs.secure, true, `the clearing cookie is Secure too: ${out.headers['set-cookie']}`);
      const inv = await p.request('POST', '/v1/admin/users', { headers: { ...installIn(p), ...json },
        body: JSON.stringify({ email: `tls-${crypto.randomUUID()}@example.com`, role: 'agent' }) });
      assert.equal(inv.status, 201, inv.text);
      assert.match(inv.json().url, new RegExp(`^https://127\\.0\\.0\\.1:${p.port}/dashboard/invite#[0-9a-f]{64}$`));
    });

    test('SIGHUP with a new certificate: new connections get it, an open stream completes', async () => {
      const c2 = await makeCert(dir, 'two');
      assert.notEqual(c1.fp, c2.fp);
      const old = p.workerPids();
      let started;
      const firstToken = new Promise((resolve) => { started = resolve; });
      const s = tlsStream(p, c1.pem, 'a long answer across the reload', (ev) => { if (ev.type === 'token') started(); });
      await firstToken;
      // Replace the files (rename: a reader never sees half a file).
      fs.copyFileSync(c2.key, path.join(dir, 'key.new'));
      fs.copyFileSync(c2.cert, path.join(dir, 'cert.new'));
      fs.renameSync(path.join(dir, 'key.new'), path.join(dir, 'key.pem'));
      fs.renameSync(path.join(dir, 'cert.new'), path.join(dir, 'cert.pem'));
      p.opts.tlsCa = [c1.pem, c2.pem];
      p.signalMaster('SIGHUP');
      await p.waitWorkerCount(2, 15000, (pids) => pids.every((x) => !old.includes(x)));
      const r = await httpsRequest(p.port, 'GET', '/health', { ca: c2.pem });
      assert.equal(r.status, 200);
      assert.equal(r.cert.fingerprint256, c2.fp, 'a new connection presents the new certificate');
      const done = await s;
      assert.equal(done.fp, c1.fp, 'the open stream kept its connection');
      assert.equal(done.events.at(-1).type, 'done', JSON.stringify(done.events.at(-1)));
      assert.equal(replyOf(done.events), mockReply('a long answer across the reload'));
      const curl = await run('curl', ['-sS', '--cacert', c2.cert, `https://127.0.0.1:${p.port}/health`]);
      assert.equal(curl.code, 0, curl.stderr);
      c1 = c2;
      p.opts.tlsCa = c2.pem;
    });

    test('SIGHUP with a bad certificate: the old workers go on serving, masterd logs why', async () => {
      const old = p.workerPids();
      const good = fs.readFileSync(path.join(dir, 'cert.pem'));
      fs.writeFileSync(path.join(dir, 'cert.pem'), 'not a certificate\n');
      p.signalMaster('SIGHUP');
      const deadline = Date.now() + 10000;
      while (!/TLS_CERT=.*not a PEM certificate/.test(p.logs.masterd) && Date.now() < deadline) await sleep(50);
      await p.waitLog('masterd', /TLS_CERT=.*not a PEM certificate/);
      // The reload ends as failed (READY=1 again for systemd), not pending.
      while (!/reload failed: the previous workers keep serving/.test(p.logs.masterd) && Date.now() < deadline) await sleep(50);
      await p.waitLog('masterd', /reload failed: the previous workers keep serving/);
      await sleep(300);
      const r = await httpsRequest(p.port, 'GET', '/health', { ca: c1.pem });
      assert.equal(r.status, 200);
      assert.equal(r.cert.fingerprint256, c1.fp);
      for (const pid of old) assert.ok(p.workerPids().includes(pid), `old worker ${pid} still serving`);
      // Fixed and reloaded: serving again from new workers.
      fs.writeFileSync(path.join(dir, 'cert.pem'), good);
      p.signalMaster('SIGHUP');
      await p.waitWorkerCount(2, 20000, (pids) => pids.every((x) => !old.includes(x)));
      assert.equal((await httpsRequest(p.port, 'GET', '/health', { ca: c1.pem })).status, 200);
    });
  });

  describe('TLS settings refused at start', () => {
    let dir, a, b;
    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-tls-bad-'));
      a = await makeCert(dir, 'a');
      b = await makeCert(dir, 'b');
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    test('a key that does not match the certificate', async () => {
      const r = await refused({ TLS_CERT: a.cert, TLS_KEY: b.key });
      assert.notEqual(r.code, 0);
      assert.match(r.log, /TLS_KEY=.*TLS_CERT/);
    });

    test('one without the other; an unreadable file', async () => {
      // Four masterds side by side, each on its own temp directories.
      const [cert, key, missing, certAsKey] = await Promise.all([
        refused({ TLS_CERT: a.cert }),
        refused({ TLS_KEY: a.key }),
        refused({ TLS_CERT: path.join(dir, 'missing.pem'), TLS_KEY: a.key }),
        refused({ TLS_CERT: a.cert, TLS_KEY: a.cert }),
      ]);
      assert.match(cert.log, /TLS_CERT and TLS_KEY go together: TLS_CERT is set, TLS_KEY is not/);
      assert.match(key.log, /TLS_KEY is set, TLS_CERT is not/);
      assert.match(missing.log, /TLS_CERT=.*missing\.pem: cannot read/);
      assert.match(certAsKey.log, /TLS_KEY=/);
    });
  });
});
