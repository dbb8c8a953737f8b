// Issue 20's memory attack, as one machine without a key would run it
// against 2 workers with the default budgets, while another address is
// served:
//  - 1,000 connections from 127.0.0.2 each send POST /v1/chat with
//    Content-Length: 2 MiB and stall: each is refused from its head (413,
//    the chat route takes 64 KiB), before a byte of the body is buffered;
//  - 1,000 connections from 127.0.0.5 each send a chat body within the
//    route's limit (60 KiB) but one byte short: a few are held, as
//    PARLEY_MAX_BODY_KB_PER_CLIENT (256 KiB a worker) allows, the rest are
//    answered 429 at once;
//  - 250 WebSockets from 10 addresses flood pings and never read: each
//    socket is read no more once WS_READ_PAUSE bytes of pongs wait.
//  - 200 WebSockets from one address each register 16 KiB of page tools
//    (ParleyChat.registerTools, kept for the socket's turns), the most a
//    frame may: an "examples" of 5,400 {} (an annotation takes any JSON).
//    A socket keeps them as that text: the workers grow by under 64 MiB
//    for all of them (some 38 MiB under AddressSanitizer, 11 MiB of it
//    the sockets' own). Kept parsed, as before, each socket held some
//    1.3 MiB of jansson's objects (80 times the text): 446 MiB here.
// The workers' RSS is sampled throughout: its growth (printed) stays
// under 64 MiB for both together, and comes back near the start once
// the attackers go (within 16 MiB; under AddressSanitizer, whose
// allocator keeps its size-class regions and their shadow, it may stay
// near the peak, still within the 64 MiB: run with PARLEY_BIN=$PWD/bin
// for the release build's figures).
// AddressSanitizer's quarantine of freed memory is made small for this
// stack, so what is measured is what the server holds.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';

import { ASAN_SPEED, BIN, Parley, sleep, waitFor } from '../lib/harness.mjs';
import { chat, rssKiB, sid } from '../lib/chat.mjs';
import { Visitor } from '../lib/wsclient.mjs';

const WORKERS = 2;
const MiB = 1024 * 1024;
const GROWTH_MAX = 64 * MiB;
const BACK_MAX = 16 * MiB;
const SANITIZED = fs.readFileSync(`${BIN}/parley-workerd`).includes('__asan_init');

const rssAll = (pids) => pids.reduce((n, pid) => n + rssKiB(pid) * 1024, 0);
const mib = (n) => `${(n / MiB).toFixed(1)} MiB`;

// A socket from localAddress that sends head, then body bytes (a Buffer)
// as the kernel takes them, and never ends; what came back is in .data.
function stallingSocket(port, localAddress, head, body) {
  return new Promise((resolve) => {
    const s = { data: '', gone: false, sock: null };
    s.sock = net.connect({ port, host: '127.0.0.1', localAddress });
    s.sock.on('data', (d) => { s.data += d.toString('latin1'); });
    s.sock.on('error', () => { s.gone = true; });
    s.sock.on('close', () => { s.gone = true; });
    s.sock.on('connect', () => {
      s.sock.write(head);
      if (body) s.sock.write(body);
      resolve(s);
    });
  });
}

async function manyStalling(port, localAddress, n, head, body, batch = 200) {
  const out = [];
  for (let i = 0; i < n; i += batch) {
    const part = [];
    for (let k = i; k < Math.min(n, i + batch); k++) part.push(stallingSocket(port, localAddress, head, body));
    out.push(...await Promise.all(part));
  }
  return out;
}

// A client frame (masked with a zero key, as RFC 6455 allows).
function frame(opcode, payload) {
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
}

// Upgrades, then writes pings for ms without ever reading a byte.
function pingFlood(port, localAddress, wid, ms) {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1', localAddress });
    const pings = Buffer.concat(Array.from({ length: 64 }, () => frame(0x9, Buffer.alloc(125, 0x70))));
    const s = { sock, sent: 0, gone: false };
    const end = Date.now() + ms;
    sock.on('error', () => { s.gone = true; });
    sock.on('close', () => { s.gone = true; resolve(s); });
    sock.on('connect', () => {
      sock.pause();     // never read: the server's pongs pile up on its side
      sock.write(`GET /api/widget/${wid}/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n` +
        'Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
      const pump = () => {
        while (!s.gone && Date.now() < end) {
          s.sent += pings.length;
          if (!sock.write(pings)) { sock.once('drain', pump); return; }
        }
        resolve(s);
      };
      setTimeout(pump, 50);
      setTimeout(() => resolve(s), ms + 1000);
    });
  });
}

describe('memory one client can pin (issue 20)', () => {
  let p, wid;
  const samples = [];
  let timer = null;

  before(async () => {
    p = new Parley({
      workers: WORKERS,
      mock: true,
      env: {
        RATE_LIMIT_MAX_REQUESTS: '0',
        ASAN_OPTIONS: `abort_on_error=0:halt_on_error=1:detect_leaks=1:print_summary=1:exitcode=66:${ASAN_SPEED}` +
          ':quarantine_size_mb=4:allocator_release_to_os_interval_ms=200',
      },
    });
    await p.start();
    const r = await p.admin('/v1/admin/widgets');
    wid = r.json().widgets.find((w) => w.id === 'default').widget_id;
  });
  after(async () => { clearInterval(timer); await p.stop(); assert.deepEqual(p.problems, []); });

  test('/metrics needs the key by default (PARLEY_METRICS_OPEN=off)', async () => {
    assert.equal((await p.get('/metrics')).status, 401);
    assert.equal((await p.get('/metrics', { headers: { 'x-admin-api-key': p.adminKey } })).status, 200);
  });

  test('half-sent bodies and ping floods from one machine: RSS growth bounded, another address served, RSS back', { timeout: 120000 }, async (t) => {
    const pids = p.workerPids();
    assert.equal(pids.length, WORKERS);
    // Warm: each worker has answered chats and a WebSocket before the start.
    for (let i = 0; i < 6; i++) assert.equal((await chat(p, sid(`warm${i}`), 'hello')).status, 200);
    await sleep(500);
    const base = rssAll(pids);
    timer = setInterval(() => samples.push(rssAll(pids)), 100);

    // 1,000 bodies of 2 MiB announced: 413 from the head, nothing held.
    const bigHead = `POST /v1/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      `x-api-key: ${p.widgetKey}\r\nContent-Length: ${2 * MiB}\r\n\r\n`;
    const big = await manyStalling(p.port, '127.0.0.2', 1000, bigHead, Buffer.alloc(64 * 1024, 0x61));
    await waitFor(() => big.every((s) => s.data.startsWith('HTTP/1.1 ') || s.gone), 20000, 'every 2 MiB body answered');
    const refused413 = big.filter((s) => s.data.startsWith('HTTP/1.1 413 ')).length;

    // 1,000 chat bodies within the route's limit, one byte short.
    const size = 60 * 1024;
    const okHead = `POST /v1/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      `x-api-key: ${p.widgetKey}\r\nContent-Length: ${size}\r\n\r\n`;
    const half = await manyStalling(p.port, '127.0.0.5', 1000, okHead, Buffer.alloc(size - 1, 0x20));
    await waitFor(() => half.filter((s) => s.data.startsWith('HTTP/1.1 429 ')).length >= 1000 - 2 * WORKERS * 5,
      20000, 'the bodies past the client budget answered 429');
    const limited = half.filter((s) => s.data.startsWith('HTTP/1.1 429 ')).length;
    const held = half.filter((s) => s.data === '' && !s.gone).length;

    // 250 ping floods from 10 addresses, 3 s, while 127.0.0.3 chats (each
    // answered 200, one after another until the floods end).
    const floods = [];
    for (let i = 0; i < 250; i++) floods.push(pingFlood(p.port, `127.0.1.${1 + (i % 10)}`, wid, 3000));
    let flooding = true;
    const allFloods = Promise.all(floods).then((f) => { flooding = false; return f; });
    const during = [];
    while (flooding || during.length === 0) {
      const c0 = performance.now();
      const r = await p.request('POST', '/v1/chat', {
        localAddress: '127.0.0.3', timeout: 15000,
        headers: { 'Content-Type': 'application/json', 'x-api-key': p.widgetKey },
        body: JSON.stringify({ sessionId: sid('other'), message: 'still served?' }),
      });
      assert.equal(r.status, 200, r.text);
      during.push(performance.now() - c0);
      assert.equal((await p.request('GET', '/health', { localAddress: '127.0.0.3', timeout: 5000 })).status, 200);
    }
    const flooded = await allFloods;
    await sleep(500);
    const peak = Math.max(...samples);
    const pingBytes = flooded.reduce((n, s) => n + s.sent, 0);

    for (const s of [...big, ...half]) s.sock.destroy();
    for (const s of flooded) s.sock.destroy();
    // Back near the start once the attackers are gone (under
    // AddressSanitizer within the growth bound, asserted below: its
    // allocator may keep the peak, and waiting the whole deadline for
    // BACK_MAX there took 20 s for nothing).
    const backMax = SANITIZED ? GROWTH_MAX - 1 : BACK_MAX;
    let now = rssAll(pids);
    const deadline = Date.now() + 20000;
    while (now - base > backMax && Date.now() < deadline) { await sleep(250); now = rssAll(pids); }
    clearInterval(timer);

    t.diagnostic(`workers' RSS: ${mib(base)} at the start, ${mib(peak)} at the peak (+${mib(peak - base)}), ` +
      `${mib(now)} after (+${mib(now - base)})`);
    t.diagnostic(`2 MiB bodies: ${refused413}/1000 answered 413 at their head; 60 KiB bodies: ${limited}/1000 answered 429, ` +
      `${held} held; pings sent: ${mib(pingBytes)} over 250 sockets`);
    t.diagnostic(`127.0.0.3 meanwhile: ${during.length} chats, slowest ${Math.max(...during).toFixed(0)} ms`);
    assert.equal(refused413, 1000, 'every 2 MiB body refused from its head');
    assert.ok(limited >= 1000 - 2 * WORKERS * 5, `${limited} answered 429`);
    assert.ok(held >= WORKERS, `${held} bodies held within the budget`);
    assert.ok(peak - base < GROWTH_MAX, `RSS grew by ${mib(peak - base)}`);
    if (SANITIZED) assert.ok(now - base < GROWTH_MAX, `RSS after: +${mib(now - base)}`);
    else assert.ok(now - base <= BACK_MAX, `RSS back to +${mib(now - base)}`);
  });

  test('16 KiB of page tools on each of 200 sockets: kept as their text, RSS growth bounded', { timeout: 120000 }, async (t) => {
    const SOCKETS = 200;
    const tools = [{ name: 't', description: 'd', parameters: { type: 'object', examples: Array(5400).fill({}) } }];
    const pids = p.workerPids();
    const socks = [];
    t.after(() => Promise.all(socks.map((v) => v.close())));
    await sleep(500);
    const base = rssAll(pids);
    for (let i = 0; i < SOCKETS; i += 20) {
      const part = await Promise.all(Array.from({ length: Math.min(20, SOCKETS - i) },
        () => Visitor.open(p, wid, { localAddress: '127.0.2.1' })));
      socks.push(...part);
      for (const v of part) {
        await v.next('session');
        v.send({ type: 'tools', tools });
        v.send({ type: 'no_such_frame' });
      }
      // Taken: the frame after it is answered, and the tools were not.
      for (const v of part) assert.equal((await v.next('error')).frame, undefined);
    }
    const peak = rssAll(pids);
    t.diagnostic(`workers' RSS: ${mib(base)} before, ${mib(peak)} with ${SOCKETS} sockets' tools (+${mib(peak - base)})`);
    assert.ok(peak - base < GROWTH_MAX, `RSS grew by ${mib(peak - base)}`);
  });
});
