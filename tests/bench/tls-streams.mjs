#!/usr/bin/env node
// Memory per open stream when the model server speaks TLS, against plain
// HTTP: one Parley (1 worker) on the build PARLEY_BIN names (`make`: bin),
// the mock model (first chunk at 100 ms, then 20 chunks 300 ms apart:
// about 6 s a stream) reached directly, then through a TLS front of this
// script's own (node:tls, a certificate made here with the openssl
// command, trusted through PARLEY_MODEL_CA). Each way: 20 turns to warm
// up, the worker's RSS once idle, then BENCH_TLS_STREAMS (1000) streams
// opened 50 at a time, each until its first token; the RSS then, and the
// growth per stream printed. Never asserted; loopback only.
//
//   PARLEY_BIN=$PWD/bin node tests/bench/tls-streams.mjs
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';

import { Parley } from '../integration/lib/harness.mjs';
import { MockAI } from '../integration/lib/mockai.mjs';

const BIN = process.env.PARLEY_BIN || path.resolve('bin');
const N = Number(process.env.BENCH_TLS_STREAMS || 1000);
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-tls-streams-'));
const CERT = path.join(TMP, 'model.crt');
const KEY = path.join(TMP, 'model.key');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
  '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-days', '1', '-keyout', KEY, '-out', CERT],
{ stdio: 'ignore' });

// One stream on a connection of its own: resolves with the socket at
// its first token (or when the connection fails: then not counted).
function open(p, i) {
  return new Promise((resolve) => {
    const s = net.connect(p.port, '127.0.0.1');
    const body = JSON.stringify({ sessionId: `tls-bench-${i}`, message: `hello ${i}` });
    s.write(`POST /v1/chat/stream HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nx-api-key: ${p.widgetKey}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    let got = '';
    const t = setTimeout(() => resolve({ s, ok: false }), 20000);
    s.on('data', (d) => { got += d; if (got.includes('"type":"token"')) { clearTimeout(t); resolve({ s, ok: true }); } });
    s.on('error', () => { clearTimeout(t); resolve({ s, ok: false }); });
  });
}

async function run(name, mock, baseUrl, extraEnv) {
  const p = new Parley({ workers: 1, env: { OPENAI_BASE_URL: baseUrl, RATE_LIMIT_MAX_REQUESTS: '0', WIDGET_NEW_SESSIONS_PER_MINUTE: '0', ...extraEnv } });
  await p.start();
  try {
    const pid = p.workerPids()[0];
    const rss = () => Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]);
    for (let i = 0; i < 20; i++) (await open(p, `${name}-w${i}`)).s.destroy();
    await sleep(7000);	// the warm-up's streams over
    const r0 = rss();
    const all = [];
    for (let i = 0; i < N; i += 50) {
      all.push(...await Promise.all(Array.from({ length: Math.min(50, N - i) }, (_, j) => open(p, `${name}-${i + j}`))));
    }
    const r1 = rss();
    const ok = all.filter((x) => x.ok).length;
    for (const x of all) x.s.destroy();
    console.log(`bench: tls-streams: ${name}: ${ok} of ${N} streams open, worker RSS ${r0} -> ${r1} KiB: ` +
      `${((r1 - r0) / Math.max(ok, 1)).toFixed(1)} KiB a stream`);
  } finally {
    await p.stop();
  }
}

const mock = new MockAI({ bin: path.join(BIN, 'mockai'), chunks: 20, delayMs: 300, firstDelayMs: 100 });
await mock.start();
const front = tls.createServer({ key: fs.readFileSync(KEY), cert: fs.readFileSync(CERT) }, (s) => {
  const up = net.connect(mock.port, '127.0.0.1');
  s.pipe(up);
  up.pipe(s);
  s.on('error', () => up.destroy());
  up.on('error', () => s.destroy());
});
front.on('tlsClientError', () => {});
await new Promise((r) => front.listen(0, '127.0.0.1', r));
try {
  await run('plain', mock, mock.baseUrl, {});
  await run('TLS', mock, `https://localhost:${front.address().port}/v1`, { PARLEY_MODEL_CA: CERT });
} finally {
  front.close();
  await mock.stop();
  fs.rmSync(TMP, { recursive: true, force: true });
}
process.exit(0);
