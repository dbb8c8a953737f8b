// The widget's WebSocket frames as the server's tables say, read from the
// source as routes.mjs reads the route table: workerd/chat/wsframes.c's
// rows, and which of the storaged messages they ask write (the message
// table's `write`, proto/msgtab.c).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { REPO } from './harness.mjs';

// Every row: { type, msg, stores, st, bound }.
export function frameTable() {
  const src = fs.readFileSync(path.join(REPO, 'workerd/chat/wsframes.c'), 'utf8');
  const start = src.indexOf('wsframes[] = {');
  const table = src.slice(start, src.indexOf('};', start));
  const re = /\{\s*"(\w+)",\s*(WSMSG_\w+),\s*(\w+),\s*(\w+),\s*([01]),\s*(PROTO_ST_\w+|0),\s*(WSF_\w+)\s*\}/g;
  const out = [...table.matchAll(re)].map((m) => ({ type: m[1], msg: m[2], stores: m[5] === '1', st: m[6], bound: m[7] }));
  assert.ok(out.length >= 12, `parsed ${out.length} frames of wsframes.c`);
  return out;
}

// The message types storaged runs in a write batch: { type, name, from, to, write, ... } rows.
function writingTypes() {
  const src = fs.readFileSync(path.join(REPO, 'proto/msgtab.c'), 'utf8');
  const start = src.indexOf('msgs[] = {');
  const table = src.slice(start, src.indexOf('};', start));
  const rows = [...table.matchAll(/\{\s*(PROTO_\w+),\s*"\w+",\s*[^,]+,\s*[^,]+,\s*([01]),/g)];
  assert.ok(rows.length >= 100, `parsed ${rows.length} rows of msgtab.c`);
  return new Set(rows.filter((m) => m[2] === '1').map((m) => m[1]));
}

// The frames of an open socket that write through storaged (a `resume`,
// the socket's first frame, is its open's): those an origin taken out of
// the widget's allowed_origins ends the socket at (4004), nothing stored.
export function writingFrames() {
  const writes = writingTypes();
  return frameTable().filter((f) => writes.has(f.st) && f.bound !== 'WSF_FIRST');
}

// The codes of the texts the server speaks to a visitor (workerd/chat/
// vtext.c's codes[]), each once, but the default away message's ("away":
// an availability's text, never an error's code).
export function errorCodes() {
  const src = fs.readFileSync(path.join(REPO, 'workerd/chat/vtext.c'), 'utf8');
  const start = src.indexOf('codes[VT_COUNT] = {');
  assert.ok(start > 0, 'vtext.c\'s codes[]');
  const table = src.slice(start, src.indexOf('};', start));
  const rows = [...table.matchAll(/\[(VT_\w+)\]\s*=\s*"(\w+)"/g)];
  assert.ok(rows.length >= 20, `parsed ${rows.length} codes of vtext.c`);
  return [...new Set(rows.filter((m) => m[1] !== 'VT_AWAY').map((m) => m[2]))];
}

// The C files under dir (recursively).
function cFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return cFiles(p);
    return /\.[ch]$/.test(e.name) ? [p] : [];
  });
}

// The close codes workerd sends: each WS_CLOSE_* or CLOSE_* constant its
// C uses other than where it is defined (ws_close, ws_fail, the 1002
// written by hand as sent_code), as the number its #define gives.
export function closeCodes() {
  const srcs = cFiles(path.join(REPO, 'workerd')).map((f) => fs.readFileSync(f, 'utf8'));
  const value = new Map();
  for (const s of srcs) {
    for (const m of s.matchAll(/^#define\s+((?:WS_)?CLOSE_\w+)\s+(\d{4})\b/gm)) value.set(m[1], Number(m[2]));
  }
  assert.ok(value.size >= 8, `the close codes defined: ${[...value.keys()]}`);
  const used = new Set();
  for (const s of srcs) {
    const code = s.replace(/^#define\s+\S+.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
    for (const m of code.matchAll(/\b((?:WS_)?CLOSE_[A-Z_]+)\b/g)) {
      if (value.has(m[1])) used.add(value.get(m[1]));
    }
  }
  return [...used].sort((a, b) => a - b);
}

// The frame types the widget's socket sends (workerd/chat/ws*.c): each
// "type" its JSON is built with, typed ("type", "x"; wsend_type), as text
// (the token's) or by the away mode's builder (widget_avail_json's).
export function serverTypes() {
  const dir = path.join(REPO, 'workerd/chat');
  const src = fs.readdirSync(dir).filter((f) => /^ws\w*\.c$/.test(f))
    .map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('\n');
  const types = new Set([
    ...[...src.matchAll(/"type",\s*"(\w+)"/g)].map((m) => m[1]),
    ...[...src.matchAll(/wsend_type\(\w+,\s*"(\w+)"\)/g)].map((m) => m[1]),
    ...[...src.matchAll(/\\"type\\":\\"(\w+)\\"/g)].map((m) => m[1]),
    ...[...src.matchAll(/widget_avail_json\([^;]*?"(\w+)"/g)].map((m) => m[1]),
  ]);
  assert.ok(types.size >= 15, `parsed ${types.size} frame types of ws*.c`);
  return [...types].sort();
}
