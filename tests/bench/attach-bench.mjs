#!/usr/bin/env node
// Attachments (`make bench`, section attach): a Parley of its own (the
// release build, PARLEY_BIN) on a mock model.
//   - Upload throughput and the workers' memory: BENCH_ATTACH_CLIENTS (100)
//     clients, each from an address of its own on loopback (127.0.2.x),
//     upload BENCH_ATTACH_MB (10) MiB at once in 256 KiB pieces; MiB/s
//     over the whole, and the peak resident memory (VmHWM) of each
//     worker and of storaged, printed.
//   - The first token of a turn with one image against one without, for
//     an agent with vision: BENCH_ATTACH_TURNS (30) turns each way, the
//     image (200 KiB) uploaded before its turn; p50 and p99 from the
//     message sent to its first token, and the CPU the workers, storaged
//     and the mock model each spent a turn (/proc/<pid>/stat, 10 ms
//     ticks: a mean over the turns).
// Figures printed and saved (--out, key "attach"), never asserted.
import crypto from 'node:crypto';
import fs from 'node:fs';

import { Parley } from '../integration/lib/harness.mjs';
import { png } from '../integration/lib/attach.mjs';
import { createWidget, Visitor } from '../integration/lib/wsclient.mjs';
import { children, now, parseArgs, pct, saveJson } from './lib.mjs';

const args = parseArgs();
const CLIENTS = Number(process.env.BENCH_ATTACH_CLIENTS || 100);
const MB = Number(process.env.BENCH_ATTACH_MB || 10);
const TURNS = Number(process.env.BENCH_ATTACH_TURNS || 30);
const PIECE = 256 << 10;

// A token of a session's shape: the upload needs no stored session.
const token = () => crypto.randomBytes(32).toString('base64url');

// VmHWM (KiB) of pid: its peak resident memory.
function peakKiB(pid) {
  const m = /VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}
// masterd's children named parley-workerd: its workers (the notifier
// and the fetcher have names of their own).
function workerPids(p) {
  return children(p.masterPid).filter((pid) => {
    try { return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'parley-workerd'; } catch { return false; }
  });
}

// One client's upload of data through wid, from address local.
async function uploadFrom(p, wid, data, local) {
  const t = token();
  let r = await p.request('POST', `/api/widget/${wid}/attachments`, {
    localAddress: local, headers: { 'X-Parley-Session': t, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'manual.pdf', size: data.length }),
  });
  if (r.status !== 201) throw new Error(`new upload: ${r.status} ${r.text}`);
  const { id } = r.json();
  for (let off = 0; off < data.length; off += PIECE) {
    const piece = data.subarray(off, Math.min(off + PIECE, data.length));
    r = await p.request('PUT', `/api/widget/${wid}/attachments/${id}`, {
      localAddress: local, timeout: 60000,
      headers: { 'X-Parley-Session': t, 'Content-Range': `bytes ${off}-${off + piece.length - 1}/${data.length}` }, body: piece,
    });
    if (r.status !== 200) throw new Error(`piece at ${off}: ${r.status} ${r.text}`);
  }
}

async function throughput(p) {
  const w = await createWidget(p, { attachment_types: ['pdf'], attachment_max_mb: MB });
  const files = Array.from({ length: CLIENTS }, () => Buffer.concat([Buffer.from('%PDF-1.7\n'), crypto.randomBytes(MB * (1 << 20) - 9)]));
  const t0 = now();
  await Promise.all(files.map((f, i) => uploadFrom(p, w.widget_id, f, `127.0.2.${1 + (i % 250)}`)));
  const secs = (now() - t0) / 1000;
  const workers = workerPids(p);
  const storaged = [p.storagedPid];
  const out = {
    clients: CLIENTS, mib: MB, seconds: secs, mibPerSecond: (CLIENTS * MB) / secs,
    workerPeakMiB: workers.map((pid) => peakKiB(pid) / 1024), storagedPeakMiB: storaged.map((pid) => peakKiB(pid) / 1024),
  };
  console.log(`attach: ${CLIENTS} clients uploading ${MB} MiB each at once: ${out.mibPerSecond.toFixed(1)} MiB/s ` +
    `(${secs.toFixed(2)} s); peak resident memory per worker ${out.workerPeakMiB.map((x) => x.toFixed(1)).join(', ')} MiB, ` +
    `storaged ${out.storagedPeakMiB.map((x) => x.toFixed(1)).join(', ')} MiB`);
  return out;
}

// CPU time (ms, user and system) pid has used.
const TICKS_PER_S = 100;
function cpuMs(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / TICKS_PER_S;
}
// The CPU ms of the workers, storaged and the mock model, summed each.
function cpuOf(p) {
  const sum = (pids) => pids.reduce((a, pid) => a + cpuMs(pid), 0);
  return { workers: sum(workerPids(p)), storaged: cpuMs(p.storagedPid), mock: cpuMs(p.mock.child.pid) };
}

// n turns of a visitor: with an image (uploaded before its turn) or not.
// Also the CPU each process spent a turn (the uploads left out).
async function turns(p, wid, withImage, n) {
  const v = await Visitor.open(p, wid);
  const s = await v.next('session');
  const ttft = [];
  const cpu = { workers: 0, storaged: 0, mock: 0 };
  for (let i = 0; i < n; i++) {
    const atts = [];
    if (withImage) {
      const t = s.session_token;
      let r = await p.request('POST', `/api/widget/${wid}/attachments`, {
        headers: { 'X-Parley-Session': t, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'p.png', size: 200 << 10 }) });
      const { id } = r.json();
      r = await p.request('PUT', `/api/widget/${wid}/attachments/${id}`, {
        headers: { 'X-Parley-Session': t, 'Content-Range': `bytes 0-${(200 << 10) - 1}/${200 << 10}` }, body: png(200 << 10) });
      if (r.status !== 200) throw new Error(`image: ${r.status} ${r.text}`);
      atts.push(id);
    }
    const c0 = cpuOf(p);
    const t0 = now();
    v.send({ type: 'message', content: `what is this ${i}?`, attachments: atts });
    let m;
    do m = await v.next(undefined, 30000); while (m.type !== 'token');
    ttft.push(now() - t0);
    do m = await v.next(undefined, 30000); while (m.type !== 'typing_stop');
    const c1 = cpuOf(p);
    for (const k of Object.keys(cpu)) cpu[k] += (c1[k] - c0[k]) / n;
  }
  v.ws.close();
  ttft.sort((a, b) => a - b);
  return { n, p50: pct(ttft, 50), p99: pct(ttft, 99), cpuMsPerTurn: cpu };
}
const cpuText = (c) => `workers ${c.workers.toFixed(2)}, storaged ${c.storaged.toFixed(2)}, mock model ${c.mock.toFixed(2)}`;

const p = new Parley({ workers: 2, mock: true, env: {
  RATE_LIMIT_MAX_REQUESTS: '0', WIDGET_NEW_SESSIONS_PER_MINUTE: '0', PARLEY_ATTACH_RATE_MB: '100000', PARLEY_ATTACH_QUOTA_MB: '0',
  PARLEY_MAX_BODY_MB: '256', PARLEY_MAP_SIZE_MB: '4096', PARLEY_ATTACH_STRIP: process.env.BENCH_STRIP || 'on',
} });
await p.start();
try {
  const up = await throughput(p);
  const r = await p.adminJson('POST', '/v1/admin/agents', { name: 'Eyes', vision: true });
  const w = await createWidget(p, { agent_id: r.json().id, attachment_types: ['image'] });
  await turns(p, w.widget_id, false, 5);		/* warm */
  const plain = await turns(p, w.widget_id, false, TURNS);
  const image = await turns(p, w.widget_id, true, TURNS);
  console.log(`attach: first token of a turn, agent with vision, ${TURNS} turns each: without an image p50 ${plain.p50.toFixed(2)} ms ` +
    `(p99 ${plain.p99.toFixed(2)}), with one 200 KiB image p50 ${image.p50.toFixed(2)} ms (p99 ${image.p99.toFixed(2)}); ` +
    `the image adds ${(image.p50 - plain.p50).toFixed(2)} ms at p50`);
  console.log(`attach: CPU ms a turn without an image: ${cpuText(plain.cpuMsPerTurn)}; with one: ${cpuText(image.cpuMsPerTurn)}`);
  if (args.out) saveJson(args.out, 'attach', { upload: up, firstToken: { plain, image } });
} catch (e) {
  // What the servers said of it.
  for (const [name, lines] of Object.entries(p.logs)) {
    const warn = (Array.isArray(lines) ? lines : String(lines).split('\n')).filter((l) => /warn|error|fatal/i.test(l));
    if (warn.length) console.error(`${name}:\n${warn.slice(0, 12).join('\n')}`);
  }
  throw e;
} finally {
  await p.stop();
}
