// storaged round trips of a widget visitor, and the stored records they
// read and write, counted by storaged itself (parley_storage_requests_total
// by type, the metrics' own pushes and the notifier's and the fetcher's
// polls left out; parley_storage_record_reads_total and _writes_total by
// record): a new visitor's first message, a returning visitor's first
// message (resumed by its token), and a later message.
// Printed as the tests' diagnostics; the counts are asserted, so a change
// that adds a round trip to the visitor's path shows here.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Parley, sleep } from './lib/harness.mjs';
import { createWidget, Visitor } from './lib/wsclient.mjs';

const BACKGROUND = new Set(['ST_CONV_RESOLVE_DUE', 'ST_KB_DUE', 'ST_ATT_EXTRACT_DUE']);

// storaged's counts: its requests by type, and the stored records it
// read and wrote by record ("read conversation", "wrote message").
async function requests(p) {
  const r = await p.get('/metrics', { headers: { 'x-admin-api-key': p.adminKey } });
  assert.equal(r.status, 200);
  const out = new Map();
  const recs = new Map();
  for (const m of r.text.matchAll(/^parley_storage_requests_total\{type="([A-Z_]+)"\} (\d+)$/gm))
    // Not a visitor's: the workers' metrics, the notifier's polls (the
    // webhooks', the resolver's ST_CONV_RESOLVE_DUE each second) and the
    // fetcher's (ST_KB_DUE, ST_ATT_EXTRACT_DUE), which come when they will.
    if (!m[1].startsWith('ST_METRICS_') && !BACKGROUND.has(m[1]) && !m[1].startsWith('ST_HOOK_')) out.set(m[1], Number(m[2]));
  for (const m of r.text.matchAll(/^parley_storage_record_(read|write)s_total\{record="([a-z]+)"\} (\d+)$/gm))
    recs.set(`${m[1] === 'read' ? 'read' : 'wrote'} ${m[2]}`, Number(m[3]));
  out.recs = recs;
  return out;
}

function diff(a, b) {
  const d = {};
  let n = 0;
  for (const [k, v] of b) if (v - (a.get(k) || 0) > 0) { d[k] = v - (a.get(k) || 0); n += d[k]; }
  return { n, d };
}

const fmt = ({ n, d }) => `${n} (${Object.entries(d).map(([k, v]) => `${k}${v > 1 ? ` x${v}` : ''}`).join(', ')})`;

describe('storaged round trips of a widget visitor', () => {
  let p, w;
  before(async () => {
    p = new Parley({ workers: 1, mock: true });
    await p.start();
    w = await createWidget(p);
  });
  after(async () => { await p.stop(); assert.deepEqual(p.problems, []); });

  // One step's round trips: the requests storaged counted while it ran.
  async function counted(step) {
    await sleep(50);
    const a = await requests(p);
    const out = await step();
    await sleep(50);
    const b = await requests(p);
    return { ...diff(a, b), recs: diff(a.recs, b.recs), out };
  }

  test('new visitor, returning visitor, later message', async (t) => {
    const first = await counted(async () => {
      const v = await Visitor.open(p, w.widget_id);
      const s = await v.next('session');
      await v.turn('hello');
      return { v, token: s.session_token };
    });
    const later = await counted(() => first.out.v.turn('and again'));
    await first.out.v.close();
    const back = await counted(async () => {
      const v = await Visitor.open(p, w.widget_id);
      await v.next('session');
      v.send({ type: 'resume', token: first.out.token });
      const s = await v.next('session');
      assert.equal(s.resumed, true);
      await v.next('history');
      await v.turn('I am back');
      await v.close();
    });
    t.diagnostic(`new visitor, connect and first message: ${fmt(first)}`);
    t.diagnostic(`returning visitor, connect, resume and first message: ${fmt(back)}`);
    t.diagnostic(`a later message: ${fmt(later)}`);
    t.diagnostic(`records, new visitor: ${fmt(first.recs)}`);
    t.diagnostic(`records, returning visitor: ${fmt(back.recs)}`);
    t.diagnostic(`records, later message: ${fmt(later.recs)}`);
    // Before issue 21: 4 (ST_RATE_HIT, ST_WS_OPEN, ST_WS_BEGIN,
    // ST_MSG_APPEND) and 6 (ST_RATE_HIT x2, ST_WS_OPEN x2, ...): the
    // upgrade's and the resume's counts are ST_WS_OPEN's own now.
    assert.deepEqual(first.d, { ST_WS_OPEN: 1, ST_WS_BEGIN: 1, ST_MSG_APPEND: 1 });
    assert.deepEqual(back.d, { ST_WS_OPEN: 2, ST_WS_BEGIN: 1, ST_MSG_APPEND: 1 });
    assert.deepEqual(later.d, { ST_WS_BEGIN: 1, ST_MSG_APPEND: 1 });
    // The records each reads and writes: the conversation once by the
    // begin and once by the append, the history's older messages (the
    // one just stored is in hand, not read again); the widget by the socket's open
    // and the first begin only, and its organisation (its daily turn budget) by
    // that begin (later begins find both in memory:
    // storaged/widgetstore.c's begin cache); the session written with
    // the first message only (a minute's activity is one write:
    // storaged/wsess.c, touch_due).
    assert.deepEqual(first.recs.d, {
      'read widget': 2, 'read org': 1, 'read conversation': 1,
      'wrote wsession': 1, 'wrote conversation': 2, 'wrote message': 2,
    });
    assert.deepEqual(later.recs.d, {
      'read wsession': 1, 'read conversation': 2, 'read message': 2,
      'wrote conversation': 2, 'wrote message': 2,
    });
  });
});
