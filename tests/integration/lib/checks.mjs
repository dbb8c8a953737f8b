// Assertions shared by the test files.
import assert from 'node:assert/strict';

import { SECURITY_HEADERS } from './harness.mjs';

export function assertSecurityHeaders(res, what = '') {
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) {
    assert.equal(res.headers[k], v, `${what} header ${k}`);
  }
}

// A JSON error answer: the status, a JSON content type, {"error": "..."}.
export function assertJsonError(res, status, message) {
  if (Array.isArray(status)) assert.ok(status.includes(res.status), `status ${res.status} not in ${status} (body ${res.text})`);
  else assert.equal(res.status, status, `status (body ${res.text})`);
  assert.match(res.headers['content-type'] || '', /^application\/json/, 'content-type');
  let j;
  assert.doesNotThrow(() => { j = res.json(); }, `body is JSON: ${res.text}`);
  assert.equal(typeof j.error, 'string', 'error is a string');
  assert.ok(j.error.length > 0, 'error is not empty');
  if (message !== undefined) assert.equal(j.error, message);
  return j;
}
