#!/usr/bin/env node
// The knowledge base's isolation figures of `make bench`: "a search never
// holds up a write: storaged's commit latency under chat load is
// unchanged while searches run". scripts/bench.sh starts the mock model
// and Parley pinned, then runs this on the client's CPU.
//
// The index: the first BENCH_KB_SIDE_CHUNKS (10,000) chunks of --chunks
// (the handbook's, handbook-chunks.mjs's JSON Lines) uploaded as Markdown
// files of at most 200 KiB (file sources, read by the fetcher), waited
// for until ready.
// Then interleaved rounds (BENCH_KB_SIDE_ROUNDS, 3) of three parts,
// "chat", "chat+search" and "chat+retrieve": chat turns at concurrency 1
// for BENCH_KB_SIDE_SECONDS (10), each a new conversation (two durable
// writes each) asking one of the evaluation set's questions in turn. In
// the second part a searcher asks POST /v1/admin/knowledge/search 50
// times a second (the same questions); in the third the widget's agent is
// one given every source, so each turn searches them before the model is
// asked and sends it the passages (by words alone: no embedding model, so
// what it adds to the first token is retrieval's own). Each part: the time
// to first token (p50, p99) and storaged's commit time p99 from /metrics'
// parley_storage_commit_seconds histogram (the bucket where 99% of that
// part's commits fall: an upper bound). The raw figures go to --out (key
// "knowledge_side"). Only loopback; every loop is bounded.
//
// --embedded: Parley runs with PARLEY_EMBED_MODEL (the mock's embeddings),
// so the fetcher embeds every chunk and each retrieving turn embeds its
// question and searches by words and meaning (hybrid); the parts are
// "chat" and "chat+retrieve" alone, saved under "knowledge_side_hybrid".
// The first token then includes the mock's embedding call too (it
// overlaps the question's durable write).
//
//   node tests/bench/kb-side.mjs --parley PORT --key WIDGET_KEY --admin ADMIN_KEY --chunks FILE --questions FILE --out FILE [--embedded 1]
import fs from 'node:fs';

import { Client, PARLEY_DONE, PARLEY_FIRST, die, median, parleyReq, parseArgs, pct, saveJson, sleep } from './lib.mjs';

const a = parseArgs();
for (const k of ['parley', 'key', 'admin', 'chunks', 'questions', 'out']) if (!a[k]) die(`kb-side.mjs: missing --${k}`);
const BASE = `http://127.0.0.1:${Number(a.parley)}`;
const ROUNDS = Number(process.env.BENCH_KB_SIDE_ROUNDS || 3);
const SECONDS = Number(process.env.BENCH_KB_SIDE_SECONDS || 10);
const TURNS_MAX = 200000;
const CHUNKS = Number(process.env.BENCH_KB_SIDE_CHUNKS || 10000);
const SEARCH_HZ = 50;
const EMBEDDED = Boolean(a.embedded);
const MODES = EMBEDDED ? ['chat', 'chat+retrieve'] : ['chat', 'chat+search', 'chat+retrieve'];
// Under PARLEY_MAX_BODY_KB_PER_CLIENT's default (256 KiB a client at once).
const FILE_MAX = 200 << 10;

async function admin(method, path, body, type = 'application/json') {
  const r = await fetch(BASE + path, {
    method, headers: { 'x-admin-api-key': a.admin, 'content-type': type },
    body: body === undefined ? undefined : type === 'application/json' ? JSON.stringify(body) : body,
  });
  const text = await r.text();
  if (r.status >= 300) die(`kb-side.mjs: ${method} ${path}: ${r.status} ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : {};
}

// The commit histogram's cumulative counts by bound (seconds), +Inf last.
async function commitBuckets() {
  const r = await fetch(`${BASE}/metrics`, { headers: { 'x-admin-api-key': a.admin } });
  const m = new Map();
  for (const l of (await r.text()).split('\n')) {
    const x = /^parley_storage_commit_seconds_bucket\{.*le="([^"]+)".*\} (\d+)/.exec(l);
    if (x) m.set(x[1], (m.get(x[1]) || 0) + Number(x[2]));
  }
  return m;
}

// The p99 of the commits between two readings: the first bound holding 99%.
function p99Between(before, after) {
  const bounds = [...after.keys()];
  const total = (after.get('+Inf') || 0) - (before.get('+Inf') || 0);
  if (total <= 0) return { n: 0, p99_ms: 0 };
  for (const b of bounds) {
    if ((after.get(b) - (before.get(b) || 0)) >= 0.99 * total) return { n: total, p99_ms: b === '+Inf' ? Infinity : Number(b) * 1000 };
  }
  return { n: total, p99_ms: Infinity };
}

// The index: the chunks as Markdown files, each one a source.
const lines = fs.readFileSync(a.chunks, 'utf8').split('\n').filter(Boolean).slice(0, CHUNKS);
const files = [''];
for (const l of lines) {
  const c = JSON.parse(l);
  const md = `# ${c.title || 'Untitled'}\n\n## ${c.headings || 'Section'}\n\n${c.text}\n\n`;
  if (Buffer.byteLength(files[files.length - 1]) + Buffer.byteLength(md) > FILE_MAX) files.push('');
  files[files.length - 1] += md;
}
const t0 = Date.now();
const ids = [];
for (const [i, body] of files.entries()) {
  const s = await admin('POST', '/v1/admin/knowledge/sources', { type: 'file', url: `handbook-${i}.md` });
  await admin('PUT', `/v1/admin/knowledge/sources/${s.id}/file`, body, 'text/markdown');
  ids.push(s.id);
}
let chunks = 0;
for (let w = 0; w < 600; w++) {
  const all = (await admin('GET', '/v1/admin/knowledge/sources')).sources.filter((s) => ids.includes(s.id));
  if (all.some((s) => s.status === 'failed')) die(`kb-side.mjs: a source failed: ${JSON.stringify(all)}`);
  if (all.every((s) => s.status === 'ready')) {
    chunks = all.reduce((n, s) => n + s.chunks, 0);
    break;
  }
  await sleep(500);
}
if (!chunks) die('kb-side.mjs: the sources were not ready in 5 minutes');
console.log(`bench: knowledge side: ${lines.length} chunks of ${a.chunks} as ${files.length} Markdown file(s), ${chunks} chunks indexed by the fetcher in ${Date.now() - t0} ms`);

const questions = JSON.parse(fs.readFileSync(a.questions, 'utf8')).questions.map((q) => q.q.replace(/\s+/g, ' '));

// The widget the turns go to, and an agent that answers from every source.
const widget = (await admin('GET', '/v1/admin/widgets')).widgets[0];
const plainAgent = widget.agent_id;
const reader = await admin('POST', '/v1/admin/agents', { name: 'Handbook', knowledge_source_ids: ids.slice(0, 50) });
const useAgent = (id) => admin('PATCH', `/v1/admin/widgets/${widget.widget_id}`, { agent_id: id });

// A searcher at SEARCH_HZ until stopped: {stop(), done, errors}.
function searcher() {
  const s = { n: 0, errors: 0, on: true, t0: Date.now() };
  s.done = (async () => {
    const t = s.t0;
    while (s.on && Date.now() - t < 600000) {
      const next = t + (s.n + 1) * (1000 / SEARCH_HZ);
      try {
        await admin('POST', '/v1/admin/knowledge/search', { query: questions[s.n % questions.length], k: 5 });
      } catch { s.errors++; }
      s.n++;
      const wait = next - Date.now();
      if (wait > 0) await sleep(wait);
    }
  })();
  s.stop = async () => { s.on = false; await s.done; s.secs = (Date.now() - s.t0) / 1000; };
  return s;
}

// Turns one after another for SECONDS (TURNS_MAX at most): their first tokens.
async function turnsFor(label) {
  const c = await Client.open(Number(a.parley));
  const xs = [];
  try {
    const end = Date.now() + SECONDS * 1000;
    for (let i = 0; i < TURNS_MAX && Date.now() < end; i++) {
      const r = await c.turn(parleyReq(a.key, `${label}-${i}`, questions[i % questions.length]), PARLEY_FIRST, PARLEY_DONE);
      if (r.status !== 200 || r.ttft === null || !r.done) die(`kb-side.mjs: ${label}: turn ${i} failed (status ${r.status})`);
      xs.push(r.ttft);
    }
  } finally { c.close(); }
  xs.sort((x, y) => x - y);
  return { n: xs.length, p50: pct(xs, 50), p99: pct(xs, 99) };
}

const out = { rounds: [], seconds: SECONDS, chunks, search_hz: SEARCH_HZ };
for (let r = 0; r < ROUNDS; r++) {
  for (const mode of MODES) {
    const s = mode === 'chat+search' ? searcher() : null;
    if (mode === 'chat+retrieve') await useAgent(reader.id);
    await sleep(300);
    const before = await commitBuckets();
    const t1 = Date.now();
    const t = await turnsFor(`kb-${r}-${mode === 'chat' ? 'c' : mode === 'chat+search' ? 'cs' : 'cr'}`);
    const secs = (Date.now() - t1) / 1000;
    if (mode === 'chat+retrieve') await useAgent(plainAgent);
    const c = p99Between(before, await commitBuckets());
    let rate = 0;
    if (s) {
      await s.stop();
      rate = s.n / s.secs;
    }
    out.rounds.push({ round: r, mode, turns: t.n, ttft_p50: t.p50, ttft_p99: t.p99, commits: c.n, commit_p99_ms: c.p99_ms,
      searches_per_s: rate, secs });
    console.log(`bench: knowledge side round ${r + 1} ${mode.padEnd(13)}: ${t.n} turns, first token p50 ${t.p50.toFixed(2)} ms, p99 ${t.p99.toFixed(2)} ms; ` +
      `${c.n} commits in ${secs.toFixed(1)} s, p99 <= ${c.p99_ms} ms; ${rate.toFixed(1)} searches/s${s && s.errors ? `, ${s.errors} failed` : ''}`);
  }
}
saveJson(a.out, EMBEDDED ? 'knowledge_side_hybrid' : 'knowledge_side', out);

const med = (mode, k) => median(out.rounds.filter((x) => x.mode === mode).map((x) => x[k]));
const heads = { chat: 'chat alone', 'chat+search': `chat + ${SEARCH_HZ} searches/s`, 'chat+retrieve': EMBEDDED ? 'chat retrieving, hybrid' : 'chat retrieving' };
console.log(`bench: knowledge side${EMBEDDED ? ' (the mock\'s embeddings)' : ''}, medians over the rounds   ${MODES.map((m) => heads[m]).join('   ')}`);
for (const [k, label] of [['commit_p99_ms', 'storaged commit p99 (ms, bucket)'], ['ttft_p50', 'first token p50 (ms)'],
  ['ttft_p99', 'first token p99 (ms)']]) {
  console.log(`bench:   ${label.padEnd(34)} ${MODES.map((m) => med(m, k).toFixed(2).padStart(heads[m].length)).join('   ')}`);
}
console.log(`bench:   retrieval adds to the first token: p99 ${(med('chat+retrieve', 'ttft_p99') - med('chat', 'ttft_p99')).toFixed(2)} ms ` +
  (EMBEDDED ? '(goal: 5 ms beyond the embedding call; the mock\'s call included here)' : '(goal: 5 ms beyond the embedding call; none here)'));
process.exit(0);
