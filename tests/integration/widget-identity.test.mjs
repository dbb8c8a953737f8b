// Verified visitor identity (issue 26): a widget's identity secret (made,
// shown once, rotated, removed, audited, never in any other answer) and
// the WebSocket's identify, checked against it: one contact per external
// id across sessions, marked verified; a forged hash trusted nowhere; an
// identity_required widget refusing an unverified socket's writes.
// Every admin JSON answer is validated against the OpenAPI document.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { Parley } from './lib/harness.mjs';
import { assertJsonError } from './lib/checks.mjs';
import { adminCall, checkerFor } from './lib/openapi.mjs';

const W = '/v1/admin/widgets';

describe('widget identity secret', () => {
  let p;
  let api;
  const call = (...a) => adminCall(p, api, ...a);

  async function create(body = {}) {
    const r = await call('POST', W, body);
    assert.equal(r.status, 201, r.text);
    return r.json();
  }

  before(async () => {
    p = new Parley({ workers: 2 });
    await p.start();
    api = await checkerFor(p);
  });
  after(async () => {
    if (p) await p.stop();
  });

  test('made, shown once, rotated, removed; never in a list or get; audited', async () => {
    const w = await create({ name: 'Identity' });
    assert.equal(w.identity_secret_set, false);
    const path = `${W}/${w.widget_id}/identity-secret`;
    const r1 = await call('POST', path);
    assert.equal(r1.status, 200, r1.text);
    const s1 = r1.json().identity_secret;
    assert.match(s1, /^[0-9a-f]{64}$/);
    assert.equal(r1.headers['cache-control'], 'no-store');
    // Rotation: a new one each time.
    const s2 = (await call('POST', path)).json().identity_secret;
    assert.match(s2, /^[0-9a-f]{64}$/);
    assert.notEqual(s2, s1);
    // Never shown again.
    const g = await call('GET', `${W}/${w.widget_id}`);
    assert.equal(g.json().identity_secret_set, true);
    const l = await call('GET', W);
    const cfg = await p.get(`/api/widget/${w.widget_id}/config`);
    for (const [what, text] of [['get', g.text], ['list', l.text], ['config', cfg.text]]) {
      assert.ok(!text.includes(s1) && !text.includes(s2), `${what}: no secret`);
      assert.ok(!text.includes('identity_secret"'), `${what}: no identity_secret field`);
    }
    // identity_required now allowed; removing the secret turns it off.
    const u = await call('PATCH', `${W}/${w.widget_id}`, { identity_required: true });
    assert.equal(u.status, 200, u.text);
    assert.equal(u.json().identity_required, true);
    assert.equal((await p.get(`/api/widget/${w.widget_id}/config`)).json().identity_required, true);
    // Other fields may change while it is required.
    assert.equal((await call('PATCH', `${W}/${w.widget_id}`, { name: 'Still' })).status, 200);
    const d = await call('DELETE', path);
    assert.equal(d.status, 200, d.text);
    assert.equal(d.json().identity_secret_set, false);
    assert.equal(d.json().identity_required, false);
    const again = await call('PATCH', `${W}/${w.widget_id}`, { identity_required: true });
    assert.match(assertJsonError(again, 400).error, /^identity_required: /);
    // Audited, without the secret.
    const a = await call('GET', '/v1/admin/audit?limit=50');
    assert.equal(a.status, 200, a.text);
    const acts = a.json().entries.filter((e) => e.target === w.widget_id).map((e) => e.action);
    assert.equal(acts.filter((x) => x === 'widget.identity_secret.set').length, 2);
    assert.equal(acts.filter((x) => x === 'widget.identity_secret.delete').length, 1);
    assert.ok(!a.text.includes(s1) && !a.text.includes(s2));
  });

  test('unknown widgets: 404; a secret cannot be set through create or PATCH', async () => {
    const unknown = `wid_${crypto.randomBytes(16).toString('hex')}`;
    for (const m of ['POST', 'DELETE']) {
      assertJsonError(await call(m, `${W}/${unknown}/identity-secret`), 404, 'Widget not found');
      assertJsonError(await call(m, `${W}/wid_nope/identity-secret`), 404, 'Widget not found');
    }
    const w = await create({});
    for (const body of [{ identity_secret: 'a'.repeat(64) }, { identity_secret_set: true }]) {
      const field = Object.keys(body)[0];
      assert.ok(assertJsonError(await call('POST', W, body), 400).error.startsWith(`${field}: `));
      assert.ok(assertJsonError(await call('PATCH', `${W}/${w.widget_id}`, body), 400).error.startsWith(`${field}: `));
    }
  });
});
