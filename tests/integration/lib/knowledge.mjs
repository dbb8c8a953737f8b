// The knowledge tests' shared steps through the admin API: a source's
// sync waited for, its pages read, the search asked. call(method,
// pathname, body) is the test's admin call (openapi.mjs's adminCall, or
// the file's own), answering {status, text, json()}.
import assert from 'node:assert/strict';

import { Parley, waitFor } from './harness.mjs';
import { adminCaller } from './openapi.mjs';

export const SOURCES = '/v1/admin/knowledge/sources';

// A started Parley for a knowledge test: one worker, the mock model, the
// test's own site on loopback allowed, no rate limit, plus env. Answers
// { p, call } (call: the admin API checked against the OpenAPI document).
export async function kbParley(env = {}) {
  const p = new Parley({ workers: 1, mock: true,
    env: { PARLEY_KNOWLEDGE_ALLOW_PRIVATE: 'on', RATE_LIMIT_MAX_REQUESTS: '0', ...env } });
  await p.start();
  return { p, call: await adminCaller(p) };
}

// p stopped, then the test's own servers closed even when stop() throws (a
// sanitizer report): one left listening kept the file's process alive.
export async function stopAll(p, ...servers) {
  try {
    if (p) await p.stop();
  } finally {
    for (const s of servers) if (s) await s.close();
  }
}

// Source id once a sync ended after since (its synced_at): the source.
export async function synced(call, id, since, wait) {
  let s;
  await waitFor(async () => {
    s = (await call('GET', `${SOURCES}/${id}`)).json();
    return s.status !== 'syncing' && s.synced_at > since;
  }, wait, `source ${id} synced`);
  return s;
}

// Source id's pages, one answer of at most limit (no cursor followed).
export async function pageList(call, id, limit) {
  const r = await call('GET', `${SOURCES}/${id}/pages?limit=${limit}`);
  assert.equal(r.status, 200, r.text);
  return r.json().pages;
}

// The search's results for query, k at most.
export async function found(call, query, k = 10) {
  const r = await call('POST', '/v1/admin/knowledge/search', { query, k });
  assert.equal(r.status, 200, r.text);
  return r.json().results;
}
