// The route table of workerd/router.c (routes[]), read from the source so
// the tests that walk every admin route (isolation, the role matrices) follow
// the table as it is: a route added there is walked without a test change.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { REPO } from './harness.mjs';

export const ROLES = { agent: 1, admin: 2, owner: 3 };
const ROLE_OF = { ST_ROLE_AGENT: 1, ST_ROLE_ADMIN: 2, ST_ROLE_OWNER: 3 };

// Every route: { method, path, flags: [...], install, role (1-3, 0 for
// none), fn }, one entry per method.
export function routeTable() {
  const src = fs.readFileSync(path.join(REPO, 'workerd/router.c'), 'utf8');
  const start = src.indexOf('routes[] = {');
  const table = src.slice(start, src.indexOf('};', start));
  const re = /\{\s*([M_A-Z |]+),\s*"([^"]+)",\s*(\w+),\s*([^,]+),\s*([^,]+),\s*(ST_ROLE_\w+|0)\s*\}/g;
  const out = [];
  for (const m of table.matchAll(re)) {
    const flags = m[4].split('|').map((s) => s.trim());
    for (const method of m[1].split('|').map((s) => s.trim().replace(/^M_/, '')).filter(Boolean)) {
      out.push({ method, path: m[2], fn: m[3], flags, install: flags.includes('R_INSTALL'), role: ROLE_OF[m[6]] ?? 0 });
    }
  }
  assert.ok(out.length >= 30, `parsed ${out.length} routes of workerd/router.c`);
  return out;
}

// The admin API's routes (R_ADMIN), each naming the lowest role it needs.
export function adminRoutes() {
  const out = routeTable().filter((r) => r.flags.includes('R_ADMIN'));
  for (const r of out) assert.ok(r.role, `${r.method} ${r.path}: an admin route names its role`);
  return out;
}
