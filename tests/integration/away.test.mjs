// Away mode (issue 23, item 5) against the real processes: a widget's
// business_hours and away_message through the admin API (bad ones are 400
// with {"error"}), the availability a widget's public config and its
// WebSocket carry ("hours": outside them; "nobody": no signed-in dashboard
// of the organisation had its live stream open for PARLEY_AWAY_AFTER_MS,
// shortened here to 1500 ms so the rule is seen without waiting 2 minutes).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { PASSWORD, login } from './lib/dashboard.mjs';
import { Events } from './lib/events.mjs';
import { Parley, waitFor } from './lib/harness.mjs';
import { checkerFor } from './lib/openapi.mjs';
import { createWidget, Visitor } from './lib/wsclient.mjs';

const AWAY_MS = 1500;
const DEFAULT_MESSAGE = "We're away right now. Leave your email and we'll get back to you.";
const ALL_WEEK = Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, [['00:00', '24:00']]]));

describe('away mode: business hours and who is at the dashboard', () => {
  let p;
  let oa; // the server's OpenAPI document: every answer here is checked against it
  const t0 = Date.now();

  before(async () => {
    p = new Parley({ mock: true, env: { PARLEY_AWAY_AFTER_MS: String(AWAY_MS), DASHBOARD_PASSWORD: PASSWORD, RATE_LIMIT_MAX_REQUESTS: '0' } });
    await p.start();
    oa = await checkerFor(p);
  });
  after(async () => {
    await p.stop();
    assert.deepEqual(p.problems, []);
    console.log(`# away.test.mjs: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  const admin = async (method, path, body) => {
    const r = await p.request(method, path, {
      headers: { 'x-admin-api-key': p.adminKey, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    oa.checkJson(method, path, r);
    return r;
  };
  const config = async (w) => {
    const path = `/api/widget/${w.widget_id}/config`;
    const r = await p.get(path);
    assert.equal(r.status, 200, r.body);
    oa.checkJson('GET', path, r);
    return r.json();
  };
  // A visitor's socket: its session, then its availability.
  async function visit(w) {
    const v = await Visitor.open(p, w.widget_id);
    await v.next('session');
    return v;
  }

  test('business_hours and away_message: validated, stored, normalised', async () => {
    const bad = [
      [{ business_hours: 'weekdays' }, /^business_hours: must be null/],
      [{ business_hours: { timezone: 'Mars/Olympus_Mons', days: {} } }, /^business_hours: timezone: must be an IANA/],
      [{ business_hours: { timezone: '../../etc/passwd' } }, /^business_hours: timezone: must be an IANA/],
      [{ business_hours: { timezone: 'right/Europe/Paris' } }, /^business_hours: timezone: must be an IANA/],
      [{ business_hours: { days: { mon: [['09:00', '17:00']] } } }, /^business_hours: timezone/],
      [{ business_hours: { timezone: 'Europe/Paris', days: { monday: [] } } }, /^business_hours: days:/],
      [{ business_hours: { timezone: 'Europe/Paris', days: { mon: [['17:00', '09:00']] } } }, /^business_hours: each interval/],
      [{ business_hours: { timezone: 'Europe/Paris', days: { mon: [['09:00', '24:01']] } } }, /^business_hours: each day/],
      [{ business_hours: { timezone: 'Europe/Paris', days: { mon: [['9:00', '17:00']] } } }, /^business_hours: each day/],
      [{ business_hours: { timezone: 'Europe/Paris', days: { mon: [['09:00', '12:00'], ['11:00', '13:00']] } } }, /overlap/],
      [{ business_hours: { timezone: 'Europe/Paris', days: { mon: [['01:00', '02:00'], ['03:00', '04:00'], ['05:00', '06:00'], ['07:00', '08:00'], ['09:00', '10:00']] } } }, /at most 4/],
      [{ away_message: 'x'.repeat(501) }, /^away_message: must be at most 500/],
      [{ away_message: 42 }, /^away_message: /],
    ];
    for (const [body, want] of bad) {
      const r = await admin('POST', '/v1/admin/widgets', body);
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.status} ${r.body}`);
      assert.match(r.json().error, want, JSON.stringify(body));
    }
    const w = (await admin('POST', '/v1/admin/widgets', {
      business_hours: { timezone: 'America/New_York', days: { fri: [['13:00', '17:30'], ['09:00', '12:00']], sun: [['22:00', '24:00']] } },
      away_message: 'Back on <Monday> & soon',
    })).json();
    assert.deepEqual(w.business_hours, {
      timezone: 'America/New_York',
      days: { mon: [], tue: [], wed: [], thu: [], fri: [['09:00', '12:00'], ['13:00', '17:30']], sat: [], sun: [['22:00', '24:00']] },
    });
    assert.equal(w.away_message, 'Back on <Monday> & soon');
    // A PATCH of something else keeps them; a bad PATCH changes nothing.
    let r = await admin('PATCH', `/v1/admin/widgets/${w.widget_id}`, { name: 'renamed' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json().business_hours, w.business_hours);
    r = await admin('PATCH', `/v1/admin/widgets/${w.widget_id}`, { business_hours: { timezone: 'Nowhere/City' } });
    assert.equal(r.status, 400);
    r = await admin('GET', `/v1/admin/widgets/${w.widget_id}`);
    assert.deepEqual(r.json().business_hours, w.business_hours);
    r = await admin('PATCH', `/v1/admin/widgets/${w.widget_id}`, { business_hours: null, away_message: null });
    assert.equal(r.status, 200);
    assert.equal(r.json().business_hours, null);
    assert.equal(r.json().away_message, null);
    // No handoff button: no availability in the config.
    assert.equal((await config(w)).availability, undefined);
  });

  test('outside business hours (a zone, no hours): away, reason hours, in the config and on the socket', async () => {
    const w = await createWidget(p, { handoff_enabled: true, business_hours: { timezone: 'Asia/Kolkata', days: {} }, away_message: 'Closed <b>now</b>' });
    assert.deepEqual((await config(w)).availability, { away: true, reason: 'hours', message: 'Closed <b>now</b>' });
    const v = await visit(w);
    assert.deepEqual(await v.availability(), { type: 'availability', away: true, reason: 'hours', message: 'Closed <b>now</b>' });
    // Asked again: the same answer.
    v.send({ type: 'availability' });
    assert.equal((await v.availability()).reason, 'hours');
    await v.close();
  });

  test('within hours, the presence rule: a signed-in dashboard stream makes the team available; gone for the window, away', async () => {
    const w = await createWidget(p, { handoff_enabled: true, business_hours: { timezone: 'UTC', days: ALL_WEEK } });
    // storaged's start counts as a sighting; past the window nobody is there.
    await waitFor(async () => (await config(w)).availability.reason === 'nobody', 5000, 'away: nobody');
    assert.deepEqual((await config(w)).availability, { away: true, reason: 'nobody', message: DEFAULT_MESSAGE });
    const v = await visit(w);
    assert.deepEqual(await v.availability(), { type: 'availability', away: true, reason: 'nobody', message: DEFAULT_MESSAGE });

    // An API key's stream is no team member at a dashboard.
    const keyed = await Events.open(p);
    assert.equal(keyed.status, 200);
    const sess = await login(p);
    const ev = await Events.open(p, { key: false, headers: { Cookie: sess.cookieHeader } });
    assert.equal(ev.status, 200);
    await waitFor(async () => (await config(w)).availability.away === false, 5000, 'available once a dashboard is open');
    // The socket hears it when it asks (the widget does when its button is pressed).
    v.send({ type: 'availability' });
    assert.deepEqual(await v.availability(), { type: 'availability', away: false, reason: null, message: DEFAULT_MESSAGE });
    // It stays available while the stream is open, past several windows.
    const v2 = await visit(w);
    assert.equal((await v2.availability()).away, false);
    await new Promise((r) => setTimeout(r, 2 * AWAY_MS));
    assert.equal((await config(w)).availability.away, false, 'the stream keeps telling storaged');

    // The dashboard closes: away again within the window (plus a tick).
    ev.close();
    const closed = Date.now();
    await waitFor(async () => (await config(w)).availability.reason === 'nobody', AWAY_MS + 3000, 'away once the dashboard is gone');
    assert.ok(Date.now() - closed >= AWAY_MS - 600, `not before the window: ${Date.now() - closed} ms`);
    keyed.close();
    await v.close();
    await v2.close();
  });

  test('old clients: a widget without the handoff button sends no availability', async () => {
    const w = await createWidget(p, { business_hours: { timezone: 'UTC', days: {} } });
    const v = await visit(w);
    const { message } = await v.turn('hello');
    assert.equal(message.content, 'You said: hello');
    assert.deepEqual(v.avail, []);
    v.send({ type: 'availability' });
    await v.turn('again');
    assert.deepEqual(v.avail, [], 'asked without a handoff button: no answer');
    await v.close();
  });
});
