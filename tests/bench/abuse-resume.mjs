#!/usr/bin/env node
// The resume-loop part of `make bench` (issue 13, item 3; scripts/bench.sh
// runs it on its stack): what a loop of WebSocket resumes of one long
// conversation costs the rest of the server.
//
//   1. a widget, a visitor session with one turn, then its conversation
//      grown to 200 messages of ~15 KB (~3 MB) straight through storaged;
//   2. the admin API's conversation list (limit 20), BENCH_RESUME_SAMPLES
//      requests one after another on a keep-alive connection, alone: the
//      client's p50 and p99;
//   3. the same while 4 clients loop resumes of that session for
//      BENCH_RESUME_SECONDS: p50 and p99 again (target: p99 < 20 ms), and
//      the resumes answered with a history, refused (429) and the largest
//      history event's bytes.
// A figure is printed, never asserted. Only loopback; every loop is
// bounded in count and time.
//
//   node tests/bench/abuse-resume.mjs --parley PORT --admin ADMIN_KEY \
//        --storaged SOCKET_PATH
import crypto from 'node:crypto';
import net from 'node:net';

import { Client, http, now } from './lib.mjs';
import { StorageClient } from '../integration/lib/storage.mjs';

const args = Object.fromEntries(process.argv.slice(2).reduce((a, x, i, all) => (x.startsWith('--') ? a.concat([[x.slice(2), all[i + 1]]]) : a), []));
const PPORT = Number(args.parley);
const ADMIN = args.admin;
const SOCK = args.storaged;
const SAMPLES = Number(process.env.BENCH_RESUME_SAMPLES || 500);
const SECONDS = Number(process.env.BENCH_RESUME_SECONDS || 5);

function die(msg) { console.error(`bench: ${msg}`); process.exit(1); }
if (!PPORT || !ADMIN || !SOCK) die('usage: abuse-resume.mjs --parley PORT --admin KEY --storaged SOCKET');

const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.max(0, Math.ceil((p / 100) * xs.length) - 1))];
const f = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '-');
const adminHeaders = { 'x-admin-api-key': ADMIN };

// A WebSocket of the widget on a raw socket (Node built-ins only): resolves
// with {send(obj), next(type, ms) -> {bytes, m}, close()}, or rejects with
// err.status for a refused upgrade.
function open(wid, token) {
  const q = token ? `?token=${encodeURIComponent(token)}` : '';
  return new Promise((resolve, reject) => {
    const s = net.connect({ port: PPORT, host: '127.0.0.1' });
    let buf = Buffer.alloc(0);
    let up = false;
    let part = [];
    const inbox = [];
    let wake = null;
    const parse = () => {
      for (;;) {
        if (buf.length < 2) return;
        let len = buf[1] & 0x7f;
        let off = 2;
        if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
        else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); off = 10; }
        if (buf.length < off + len) return;
        const fin = buf[0] & 0x80;
        const op = buf[0] & 0x0f;
        part.push(buf.subarray(off, off + len));
        buf = buf.subarray(off + len);
        if (op === 8) { s.destroy(); return; }
        if (!fin) continue;
        const data = Buffer.concat(part);
        part = [];
        if (op === 1 || op === 0) inbox.push({ bytes: data.length, m: JSON.parse(data.toString()) });
      }
    };
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!up) {
        const i = buf.indexOf('\r\n\r\n');
        if (i < 0) return;
        const status = Number(buf.subarray(9, 12).toString());
        if (status !== 101) {
          const e = new Error(`upgrade ${status}`);
          e.status = status;
          s.destroy();
          reject(e);
          return;
        }
        up = true;
        buf = buf.subarray(i + 4);
        resolve(sock);
      }
      parse();
      if (wake) wake();
    });
    s.on('error', (e) => { if (!up) reject(e); if (wake) wake(); });
    s.on('close', () => { if (wake) wake(); });
    const sock = {
      send(obj) {
        const p = Buffer.from(JSON.stringify(obj));
        if (p.length > 125) throw new Error('bench: a short message only');
        const mask = crypto.randomBytes(4);
        const f = Buffer.alloc(6 + p.length);
        f[0] = 0x81;
        f[1] = 0x80 | p.length;
        mask.copy(f, 2);
        for (let k = 0; k < p.length; k++) f[6 + k] = p[k] ^ mask[k & 3];
        s.write(f);
      },
      async next(type, ms = 10000) {
        const deadline = now() + ms;
        while (!inbox.length) {
          if (s.destroyed || now() > deadline) throw new Error(`no ${type || 'message'}`);
          await new Promise((r) => { wake = r; setTimeout(r, 50); });
        }
        const x = inbox.shift();
        if (type && x.m.type !== type) throw new Error(`expected ${type}, got ${x.m.type}`);
        return x;
      },
      close() { s.destroy(); },
    };
    s.write(`GET /api/widget/${wid}/ws${q} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\n\r\n`);
  });
}

// 1. The long conversation.
async function setup() {
  const r = await http(PPORT, 'POST', '/v1/admin/widgets', { headers: adminHeaders, body: JSON.stringify({ name: 'resume bench' }) });
  if (r.status !== 201) die(`create widget: ${r.status} ${r.body}`);
  const w = JSON.parse(r.body);
  const v = await open(w.widget_id);
  const token = (await v.next('session')).m.session_token;
  v.send({ type: 'message', content: 'the first of many' });
  await v.next('typing_start', 30000);
  while ((await v.next(null, 30000)).m.type !== 'typing_stop');
  v.close();
  const l = await http(PPORT, 'GET', `/v1/admin/conversations?limit=1&widget=${w.id}`, { headers: adminHeaders });
  const conv = l.status === 200 && JSON.parse(l.body).conversations[0];
  if (!conv) die(`the visitor's conversation: ${l.status} ${l.body}`);
  const st = await StorageClient.connect(SOCK);
  const body = 'x'.repeat(15 * 1024);
  let bytes = 0;
  for (let i = 0; i < 200; i++) {
    const content = `m${i} ${body}`;
    bytes += content.length;
    await st.msgAppend(conv._id, i % 2 ? 'assistant' : 'user', content);
  }
  st.close();
  return { wid: w.widget_id, token, bytes };
}

// The admin list, one request after another: ms each, sorted; n of them,
// and more until stop() says so when given.
async function sample(n, stop = null) {
  const cl = await Client.open(PPORT);
  const ms = [];
  const req = `GET /v1/admin/conversations?limit=20 HTTP/1.1\r\nHost: 127.0.0.1\r\nx-admin-api-key: ${ADMIN}\r\n\r\n`;
  const deadline = now() + 60000;
  while ((ms.length < n || (stop && !stop())) && now() < deadline) {
    const t0 = now();
    const r = await cl.turn(req, '{', null);
    if (r.status !== 200) die(`admin list: ${r.status}`);
    ms.push(now() - t0);
  }
  cl.close();
  return ms.sort((a, b) => a - b);
}

async function main() {
  const { wid, token, bytes } = await setup();
  const alone = await sample(SAMPLES);
  const counts = { resumed: 0, refused: 0, failed: 0, maxBytes: 0 };
  const end = now() + SECONDS * 1000;
  let done = false;
  const loops = Promise.all(Array.from({ length: 4 }, async () => {
    while (now() < end) {
      try {
        const v = await open(wid, token);
        await v.next('session');
        counts.maxBytes = Math.max(counts.maxBytes, (await v.next('history')).bytes);
        counts.resumed++;
        v.close();
      } catch (e) {
        if (e.status === 429) counts.refused++;
        else counts.failed++;
      }
    }
  })).then(() => { done = true; });
  const during = await sample(SAMPLES, () => done);
  await loops;
  console.log(`\nresume loop: a ${f(bytes / 1e6, 1)} MB conversation, 4 clients for ${SECONDS} s`);
  console.log(`${'admin list (limit 20)'.padEnd(28)} ${'p50 ms'.padStart(10)} ${'p99 ms'.padStart(10)} ${'requests'.padStart(10)}`);
  console.log(`${'  alone'.padEnd(28)} ${f(pct(alone, 50)).padStart(10)} ${f(pct(alone, 99)).padStart(10)} ${String(alone.length).padStart(10)}`);
  console.log(`${'  during the loop'.padEnd(28)} ${f(pct(during, 50)).padStart(10)} ${f(pct(during, 99)).padStart(10)} ${String(during.length).padStart(10)}   (target p99 < 20)`);
  console.log(`resumes: ${counts.resumed} with history, ${counts.refused} refused (429), ${counts.failed} failed; largest history event ${counts.maxBytes} bytes`);
}

main().catch((e) => die(e.stack || String(e)));
