// A model server over TLS (the worker's own TLS on the connection libcurl
// makes: workerd/model/mtls.c): a TLS front of the test's own, with a
// certificate made here, before the mock model. Trusted through
// PARLEY_MODEL_CA, chat turns stream whole over it, long replies too, on
// one kept connection that offered http/1.1 alone; without it the server
// is not trusted and the turn fails as a model error, nothing streamed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';

import { Parley } from './lib/harness.mjs';
import { MockAI } from './lib/mockai.mjs';
import { assertGoodStream, chat, sid, streamTurn } from './lib/chat.mjs';
import { assertJsonError } from './lib/checks.mjs';

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-model-tls-'));
const CERT = path.join(TMP, 'model.crt');
const KEY = path.join(TMP, 'model.key');

// A TLS front for the mock at 127.0.0.1: each connection's ALPN kept.
async function tlsFront(mockPort) {
  const conns = [];
  const srv = tls.createServer({ key: fs.readFileSync(KEY), cert: fs.readFileSync(CERT), ALPNProtocols: ['h2', 'http/1.1'] }, (s) => {
    conns.push(s.alpnProtocol);
    const up = net.connect(mockPort, '127.0.0.1');
    s.pipe(up);
    up.pipe(s);
    s.on('error', () => up.destroy());
    up.on('error', () => s.destroy());
  });
  srv.on('tlsClientError', () => {});
  await new Promise((res) => srv.listen(0, '127.0.0.1', res));
  return { srv, conns, url: `https://localhost:${srv.address().port}/v1` };
}

describe('a model server over TLS', () => {
  let mock, front, p, q;
  before(async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-days', '1', '-keyout', KEY, '-out', CERT],
    { stdio: 'ignore' });
    mock = new MockAI({ chunks: 4 });
    await mock.start();
    front = await tlsFront(mock.port);
    p = new Parley({ workers: 1, env: { OPENAI_BASE_URL: front.url, PARLEY_MODEL_CA: CERT, RATE_LIMIT_MAX_REQUESTS: '0' } });
    await p.start();
  });
  after(async () => {
    if (p) await p.stop();
    if (q) await q.stop();
    if (front) front.srv.close();
    if (mock) await mock.stop();
    fs.rmSync(TMP, { recursive: true, force: true });
  });

  test('turns stream whole, a long reply too, on one kept connection that offered http/1.1 alone', async () => {
    for (const m of ['hello over TLS', 'and again']) {
      assertGoodStream(await streamTurn(p, sid(), m), `You said: ${m}`);
    }
    const long = await streamTurn(p, sid(), '[[mock:reply=abcdefghij,repeat=3000,chunks=300]]', { timeout: 30000 });
    const { message } = assertGoodStream(long);
    assert.equal(message, 'abcdefghij'.repeat(3000));
    assert.equal(long.tokens.join(''), message);
    const sent = await mock.completions();
    assert.equal(sent.length, 3, 'each request reached the model whole');
    assert.deepEqual(front.conns, ['http/1.1'], 'one connection, kept; http/1.1 picked though h2 was on offer');
  });

  test('without PARLEY_MODEL_CA the server is not trusted: 502, the model never asked', async () => {
    const before = (await mock.completions()).length;
    q = new Parley({ workers: 1, env: { OPENAI_BASE_URL: front.url, RATE_LIMIT_MAX_REQUESTS: '0' } });
    await q.start();
    const r = await chat(q, sid(), 'who are you?');
    assertJsonError(r, 502);
    assert.equal((await mock.completions()).length, before);
    assert.match(q.tail('workerd') + q.tail('masterd'), /model TLS: localhost: certificate: self-signed certificate/);
  });
});
