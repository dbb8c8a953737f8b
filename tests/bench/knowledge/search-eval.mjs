#!/usr/bin/env node
// Measures a knowledge base search on the handbook's evaluation set: for
// each answerable question, where the first chunk of an answer (its page,
// and its section or a subsection of it when one is given) comes in the top
// 10; recall@1, @5, @10 and MRR@10, overall and by kind of question; and the
// top scores of the unanswerable questions beside the answerable ones' (does
// a threshold tell them apart?). The baseline is SQLite FTS5's BM25 over an
// OR of the question's words, with the unicode61 tokenizer and with porter
// stemming, run in one sqlite3 process. Another engine is one more
// evaluate(name, searchFn) line, searchFn(query, k) resolving to chunk ids
// (or {id, score}) best first. With --kbeval BIN, Parley's own index
// (storaged/kbindex.c, driven by tests/bench/kbeval.c) is the third
// engine, on the same chunks. With --embed URL too (a model server's base,
// such as the mock's http://127.0.0.1:PORT/v1), every chunk and question is
// embedded there (the fetcher's text: title, headings, text) and "parley
// hybrid" searches as a turn with an embedding model does: the words' hits
// and the nearest chunks merged by rank fusion. With the mock's hashed
// embeddings this tests the plumbing, not the quality a real model gives.
//
//   node tests/bench/knowledge/search-eval.mjs --chunks FILE.jsonl --questions FILE.json [--kbeval BIN [--embed URL]] [--out FILE.json] [--list]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { die, parseArgs, pct } from '../lib.mjs';

const a = parseArgs();
if (!a.chunks || !a.questions) die('usage: search-eval.mjs --chunks FILE.jsonl --questions FILE.json [--out FILE.json] [--list]');
const K = 10;
const chunks = fs.readFileSync(a.chunks, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const set = JSON.parse(fs.readFileSync(a.questions, 'utf8'));
const questions = set.questions;
const byId = new Map(chunks.map((c) => [c.id, c]));

// A chunk's sections: its own and those of the headings above it in its
// page (a heading path that is a prefix of its own names a parent section).
const sectionOf = new Map(chunks.map((c) => [`${c.page}\n${c.headings || ''}`, c.section]));
const within = new Map(chunks.map((c) => {
  const parts = (c.headings || '').split(' > ');
  const s = new Set([c.section]);
  for (let i = 1; i < parts.length; i++) s.add(sectionOf.get(`${c.page}\n${parts.slice(0, i).join(' > ')}`));
  return [c.id, s];
}));
const known = new Set(chunks.map((c) => `${c.page}#${c.section}`));
const pages = new Set(chunks.map((c) => c.page));
for (const q of questions) {
  for (const ans of q.answers || []) {
    if (!pages.has(ans.page)) process.stderr.write(`bench: ${q.id}: no chunk of page ${ans.page}\n`);
    else if (ans.section && !known.has(`${ans.page}#${ans.section}`)) process.stderr.write(`bench: ${q.id}: no chunk of section ${ans.page}#${ans.section}\n`);
  }
}
const hit = (id, answers, pageOnly) => {
  const c = byId.get(id);
  return !!c && answers.some((x) => x.page === c.page && (pageOnly || !x.section || within.get(id).has(x.section)));
};

// The question's words, each quoted (FTS5's syntax escaped), ORed.
const terms = (q) => [...new Set((q.toLowerCase().match(/[\p{L}\p{N}]+/gu) || []))];
const ftsQuery = (q) => terms(q).map((t) => `"${t}"`).join(' OR ');
const sqlStr = (s) => `'${String(s).replace(/'/g, "''")}'`;

// Every question against both tables in one sqlite3 run; rows come back as
// table, question's index, rowid, bm25 (lower is better).
function fts5Runs() {
  const tables = { 'fts5 unicode61': 'unicode61 remove_diacritics 2', 'fts5 porter': 'porter unicode61 remove_diacritics 2' };
  const sql = ['.bail off', '.mode tabs', '.headers off'];
  const names = Object.keys(tables);
  names.forEach((n, i) => sql.push(`CREATE VIRTUAL TABLE t${i} USING fts5(title, headings, text, tokenize=${sqlStr(tables[n])});`));
  sql.push('BEGIN;');
  chunks.forEach((c, r) => sql.push(`INSERT INTO t0(rowid, title, headings, text) VALUES (${r + 1}, ${sqlStr(c.title)}, ${sqlStr(c.headings)}, ${sqlStr(c.text)});`));
  for (let i = 1; i < names.length; i++) sql.push(`INSERT INTO t${i}(rowid, title, headings, text) SELECT rowid, title, headings, text FROM t0;`);
  sql.push('COMMIT;');
  questions.forEach((q, j) => {
    const m = ftsQuery(q.q);
    if (!m) return;
    names.forEach((n, i) => sql.push(`SELECT ${i}, ${j}, rowid, bm25(t${i}) FROM t${i} WHERE t${i} MATCH ${sqlStr(m)} ORDER BY rank LIMIT ${K};`));
  });
  const t0 = Date.now();
  const r = spawnSync('sqlite3', [':memory:'], { input: sql.join('\n') + '\n', encoding: 'utf8', maxBuffer: 64 << 20, timeout: 60000 });
  if (r.error) die(`sqlite3: ${r.error.message}`);
  if (r.status !== 0 || r.stderr.trim()) die(`sqlite3 (exit ${r.status}): ${r.stderr.trim().slice(0, 500)}`);
  const res = names.map(() => questions.map(() => []));
  for (const line of r.stdout.split('\n')) {
    if (!line) continue;
    const [i, j, rowid, bm25] = line.split('\t');
    res[i][j].push({ id: chunks[rowid - 1].id, score: -Number(bm25) });
  }
  process.stderr.write(`bench: sqlite3: ${chunks.length} chunks in ${names.length} FTS5 tables, ${questions.length} questions each, in ${Date.now() - t0} ms\n`);
  const index = new Map(questions.map((q, j) => [q.q, j]));
  return names.map((n, i) => [n, (query, k) => res[i][index.get(query)].slice(0, k)]);
}

const results = {};

// Runs one engine over the set and keeps its figures under `name`.
async function evaluate(name, searchFn) {
  const t0 = Date.now();
  const per = [];
  for (const q of questions) {
    const got = ((await searchFn(q.q, K)) || []).slice(0, K).map((x) => (typeof x === 'string' ? { id: x, score: null } : x));
    const ids = got.map((x) => x.id);
    const answerable = q.kind !== 'unanswerable';
    const rank = answerable ? ids.findIndex((id) => hit(id, q.answers, false)) + 1 : 0;
    const pageRank = answerable ? ids.findIndex((id) => hit(id, q.answers, true)) + 1 : 0;
    per.push({ id: q.id, kind: q.kind, rank, pageRank, top: ids, topScore: got.length ? got[0].score : null, terms: terms(q.q).length });
  }
  const kinds = {};
  const groups = [['all', per.filter((p) => p.kind !== 'unanswerable')]];
  for (const k of [...new Set(per.map((p) => p.kind))].filter((k) => k !== 'unanswerable')) groups.push([k, per.filter((p) => p.kind === k)]);
  for (const [k, ps] of groups) {
    const n = ps.length;
    const at = (x) => ps.filter((p) => p.rank >= 1 && p.rank <= x).length / n;
    kinds[k] = { n, r1: at(1), r5: at(5), r10: at(10), mrr10: ps.reduce((s, p) => s + (p.rank ? 1 / p.rank : 0), 0) / n,
      pageR10: ps.filter((p) => p.pageRank >= 1).length / n };
  }
  // The top score: raw, and divided by the number of words searched (BM25
  // adds a term's weight per word, so longer questions score higher).
  const scores = {};
  for (const [label, f] of [['top score', (p) => p.topScore], ['top score / words', (p) => p.topScore / p.terms]]) {
    const ans = per.filter((p) => p.kind !== 'unanswerable' && p.topScore !== null).map(f).sort((x, y) => x - y);
    const un = per.filter((p) => p.kind === 'unanswerable').map((p) => (p.topScore === null ? -Infinity : f(p))).sort((x, y) => x - y);
    if (!ans.length) continue;
    // The threshold that keeps 90% of the answerable questions, and how many
    // unanswerable ones it turns away; the best accuracy of any threshold.
    const t90 = pct(ans, 10);
    let best = { acc: 0, t: null };
    for (const t of [...ans, ...un, Infinity]) {
      const acc = (ans.filter((s) => s >= t).length + un.filter((s) => s < t).length) / (ans.length + un.length);
      if (acc > best.acc) best = { acc, t };
    }
    const q = (xs) => ({ n: xs.length, min: xs[0], p25: pct(xs, 25), median: pct(xs, 50), p75: pct(xs, 75), max: xs[xs.length - 1] });
    scores[label] = { answerable: q(ans), unanswerable: q(un), keep90: { t: t90, unanswerableTurnedAway: un.filter((s) => s < t90).length }, best,
      answerAll: ans.length / (ans.length + un.length) };
  }
  results[name] = { kinds, scores, questions: per, ms: Date.now() - t0 };
}

const t0 = Date.now();
for (const [name, fn] of fts5Runs()) await evaluate(name, fn);
// Runs the driver on every question (extra: its vector arguments); a line
// of "id<TAB>score" pairs per question, in order; its times on standard error.
function kbevalRun(extra = []) {
  const r = spawnSync(a.kbeval, [a.chunks, String(K), ...extra], { input: questions.map((q) => q.q.replace(/\s+/g, ' ')).join('\n') + '\n',
    encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) die(`kbeval: ${r.stderr || r.error}`);
  process.stderr.write(r.stderr);
  const lines = r.stdout.split('\n');
  return new Map(questions.map((q, i) => [q.q, lines[i] === '-' ? [] : lines[i].split(' ').map((h) => {
    const [id, score] = h.split('\t');
    return { id, score: Number(score) };
  })]));
}

// texts embedded by the server at a.embed, 128 a request: their vectors
// as rows of one file of host-order f32 (what kbeval reads); the dimension.
async function embedFile(texts, file) {
  const rows = [];
  for (let i = 0; i < texts.length; i += 128) {
    const r = await fetch(`${a.embed.replace(/\/+$/, '')}/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'bench-embed', input: texts.slice(i, i + 128) }) });
    if (!r.ok) die(`embeddings: HTTP ${r.status}: ${await r.text()}`);
    for (const d of (await r.json()).data) rows.push(d.embedding);
  }
  const dim = rows[0].length;
  const out = new Float32Array(rows.length * dim);
  rows.forEach((v, i) => out.set(v, i * dim));
  fs.writeFileSync(file, Buffer.from(out.buffer));
  return dim;
}

if (a.kbeval) {
  const found = kbevalRun();
  await evaluate('parley', (q) => found.get(q));
  if (a.embed) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-kbembed-'));
    const te = Date.now();
    const dim = await embedFile(chunks.map((c) => `${c.title || ''}\n${c.headings || ''}\n${c.text || ''}`), path.join(dir, 'chunks.f32'));
    await embedFile(questions.map((q) => q.q.replace(/\s+/g, ' ')), path.join(dir, 'questions.f32'));
    process.stderr.write(`bench: ${chunks.length} chunks and ${questions.length} questions embedded (${dim} dimensions) in ${Date.now() - te} ms\n`);
    const hy = kbevalRun([path.join(dir, 'chunks.f32'), path.join(dir, 'questions.f32'), String(dim)]);
    fs.rmSync(dir, { recursive: true, force: true });
    await evaluate('parley hybrid', (q) => hy.get(q));
  }
}

const f = (x, d = 3) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(d));
const nAns = questions.filter((q) => q.kind !== 'unanswerable').length;
console.log(`\n${set.source}: ${chunks.length} chunks, ${questions.length} questions (${nAns} answerable, ${questions.length - nAns} unanswerable); top ${K}`);
console.log('a question is found when a chunk of its answer page (and section, or a subsection, when given) is in the top k; page R@10 counts the page alone\n');
const row = (...c) => console.log(c[0].padEnd(16) + c[1].padEnd(16) + c.slice(2).map((x, i) => String(x).padStart(i ? 10 : 4)).join(''));
row('engine', 'kind', 'n', 'R@1', 'R@5', 'R@10', 'MRR@10', 'page R@10');
for (const [name, r] of Object.entries(results)) {
  for (const [k, m] of Object.entries(r.kinds)) row(name, k, m.n, f(m.r1), f(m.r5), f(m.r10), f(m.mrr10), f(m.pageR10));
}
console.log('\ntop scores (higher is better), answerable beside unanswerable:');
const srow = (...c) => console.log(c[0].padEnd(16) + c[1].padEnd(19) + c[2].padEnd(14) + c.slice(3).map((x, i) => String(x).padStart(i ? 8 : 4)).join(''));
srow('engine', 'score', 'questions', 'n', 'min', 'p25', 'median', 'p75', 'max');
for (const [name, r] of Object.entries(results)) {
  for (const [label, s] of Object.entries(r.scores)) {
    for (const side of ['answerable', 'unanswerable']) {
      const d = s[side];
      srow(name, label, side, d.n, f(d.min, 2), f(d.p25, 2), f(d.median, 2), f(d.p75, 2), f(d.max, 2));
    }
    console.log(`${''.padEnd(16)}${label}: keeping 90% of the answerable (>= ${f(s.keep90.t, 2)}) turns away ${s.keep90.unanswerableTurnedAway} of ${s.unanswerable.n} unanswerable; ` +
      `the best threshold (${f(s.best.t, 2)}) classifies ${f(100 * s.best.acc, 1)}% right (answering all: ${f(100 * s.answerAll, 1)}%)`);
  }
}
if ('list' in a) {
  console.log('\nrank of the first right chunk by question (0: not in the top 10; unanswerable: the top score):');
  console.log(`${'id'.padEnd(5)}${'kind'.padEnd(16)}${Object.keys(results).map((n) => n.replace(/^fts5 /, '').padStart(10)).join('')}`);
  for (const [i, q] of questions.entries()) {
    const cells = Object.values(results).map((r) => { const p = r.questions[i]; return q.kind === 'unanswerable' ? f(p.topScore, 2) : String(p.rank); });
    console.log(`${q.id.padEnd(5)}${q.kind.padEnd(16)}${cells.map((c) => c.padStart(10)).join('')}  ${q.q}`);
  }
}
if (a.out) fs.writeFileSync(a.out, JSON.stringify({ source: set.source, chunks: chunks.length, k: K, engines: results }, null, 1) + '\n');
process.stderr.write(`bench: evaluated ${Object.keys(results).length} engines in ${Date.now() - t0} ms${a.out ? `; figures in ${a.out}` : ''}\n`);
