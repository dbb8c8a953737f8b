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
