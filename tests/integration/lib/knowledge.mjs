// The knowledge tests' shared steps through the admin API: a source's
// sync waited for, its pages read, the search asked. call(method,
// pathname, body) is the test's admin call (openapi.mjs's adminCall, or
// the file's own), answering {status, text, json()}.
import assert from 'node:assert/strict';

import { waitFor } from './harness.mjs';

export const SOURCES = '/v1/admin/knowledge/sources';

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
