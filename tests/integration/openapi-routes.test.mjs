// Every route of workerd/router.c's table is in the OpenAPI document, each
// method of it (read from the source by lib/routes.mjs, so a route added
// there must be documented to pass), and every documented operation is
// routed. Path parameters match by place, not by name (":id" and
// "{widget_id}"). POST /dashboard/api/invitations/view was routed and not
// documented until 2026-12-07.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { REPO } from './lib/harness.mjs';
import { routeTable } from './lib/routes.mjs';

const doc = JSON.parse(fs.readFileSync(path.join(REPO, 'workerd/site/openapi.json'), 'utf8'));
const shape = (p) => p.replace(/:[A-Za-z_]+/g, '{}').replace(/\{[^}]+\}/g, '{}');

test('every routed method is documented, and every documented one routed', () => {
  const documented = new Set();
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const m of Object.keys(item)) if (m !== 'parameters') documented.add(`${m.toUpperCase()} ${shape(p)}`);
  }
  const routed = new Set(routeTable().map((r) => `${r.method} ${shape(r.path)}`));
  assert.deepEqual([...routed].filter((k) => !documented.has(k)), [], 'routed, not documented');
  // GET /dashboard/ is the "/dashboard" row's (its function answers the
  // redirect and, with the slash, the page); the rest must match.
  assert.deepEqual([...documented].filter((k) => !routed.has(k) && k !== 'GET /dashboard/'), [],
    'documented, not routed');
});
