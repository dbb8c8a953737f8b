// The widget's WebSocket frames as one table (workerd/chat/wsframes.c),
// read from the source as routes.mjs reads the route table: the protocol
// page documents every frame and names exactly the frames that store as
// those an identity_required widget refuses before a verified identify,
// and a live socket of such a widget refuses exactly those; it names as
// the frames an origin taken out ends a socket at those whose storaged
// message writes (proto/msgtab.c: wschat.test.mjs sends each). A frame
// added to the table is checked here without a test change (but for a
// sample). The page's error codes and close codes are the C's too
// (vtext.c's codes[], the close codes workerd's C sends).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Parley, REPO } from './lib/harness.mjs';
import { adminCall, checkerFor } from './lib/openapi.mjs';
import { closeCodes, errorCodes, frameTable, serverTypes, writingFrames } from './lib/wsframes.mjs';
import { Visitor } from './lib/wsclient.mjs';

// A well-formed frame of each type (a new row needs one here).
const SAMPLE = {
  message: { content: 'hello' },
  contact_info: { email: 'someone@example.com' },
  resume: { token: '' },
  request_human: {},
  availability: {},
  visitor: { pageUrl: 'https://shop.example/cart' },
  identify: { id: 'nobody', hash: '0'.repeat(64) },
  feedback: { message_id: '0'.repeat(32), value: 'up' },
  rating: { score: 5 },
  new_conversation: {},
  conversations: {},
  open_conversation: { id: '0'.repeat(32) },
  confirm: { id: 'call_0', ok: false },
  tools: { tools: [] },
  tool_result: { id: 'call_0', result: 'ok' },
};

describe('WebSocket frames: one table', () => {
  const frames = frameTable();

  test('every frame has a row of its own and a storaged message or none', () => {
    assert.equal(new Set(frames.map((f) => f.type)).size, frames.length, 'each type once');
    assert.equal(new Set(frames.map((f) => f.msg)).size, frames.length, 'each WSMSG_ once');
    for (const f of frames) assert.ok(SAMPLE[f.type], `a sample ${f.type} frame in this test`);
  });

  test('docs/widget-protocol.md documents every frame and the identity rule as the table says', () => {
    const doc = fs.readFileSync(path.join(REPO, 'docs/widget-protocol.md'), 'utf8');
    // The "Client to server" table: | `type` | fields | stores | bound |
    const from = doc.indexOf('| `type` | fields | stores | bound |');
    assert.ok(from > 0, 'the client-to-server table');
    const lines = doc.slice(from).split('\n').slice(2);
    const rows = lines.slice(0, lines.findIndex((l) => !l.startsWith('|')));
    const BOUND = { client: 'WSF_CLIENT', socket: 'WSF_SOCKET', first: 'WSF_FIRST', kept: 'WSF_KEPT' };
    const documented = rows.map((l) => {
      const cells = l.split(' | ');
      return { type: cells[0].replace(/^\| `|`$/g, ''), stores: cells[cells.length - 2] === 'yes', bound: BOUND[cells[cells.length - 1].replace(/ \|$/, '')] };
    });
    assert.deepEqual(documented.map((d) => d.type).sort(), frames.map((f) => f.type).sort(), 'the same frames');
    for (const f of frames) {
      const d = documented.find((x) => x.type === f.type);
      assert.deepEqual({ stores: d.stores, bound: d.bound }, { stores: f.stores, bound: f.bound }, `${f.type}: as wsframes.c says`);
    }
    const at = doc.indexOf('On a widget with `identity_required`, until the socket');
    assert.ok(at > 0, 'the identity rule is documented');
    const rule = doc.slice(at, doc.indexOf(' get', at));
    const named = [...rule.matchAll(/`(\w+)`/g)].map((m) => m[1]).filter((n) => n !== 'identity_required');
    assert.deepEqual(named.sort(), frames.filter((f) => f.stores).map((f) => f.type).sort());
    // The frames an origin taken out ends the socket at: those whose
    // storaged request writes (proto/msgtab.c), as wschat.test.mjs sends.
    const o = doc.indexOf('with 4004 at their next frame that');
    assert.ok(o > 0, 'the origin rule is documented');
    const orule = doc.slice(o, doc.indexOf(':', o));
    assert.deepEqual([...orule.matchAll(/`(\w+)`/g)].map((m) => m[1]).sort(), writingFrames().map((f) => f.type).sort());
  });

  // An error code or a close code added or dropped in the C is one the
  // page must list or drop (it listed session_ended long after nothing
  // sent it, and not 1011, which a resume storaged fails is closed with).
  test('docs/widget-protocol.md lists the error codes and the close codes the server sends, and no others', () => {
    const doc = fs.readFileSync(path.join(REPO, 'docs/widget-protocol.md'), 'utf8');
    const intro = 'Such an `error` also carries a `code`';
    const at = doc.indexOf(intro) + intro.length;
    assert.ok(at > intro.length, 'the error codes are listed');
    const codes = doc.slice(at, doc.indexOf('A page\'s own mistake', at));
    const listed = new Set([...codes.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]));
    assert.deepEqual([...listed].sort(), errorCodes().sort());
    const c = doc.indexOf('Close codes: ');
    assert.ok(c > 0, 'the close codes are listed');
    const closes = new Set([...doc.slice(c, doc.indexOf('\n\n', c)).matchAll(/\b([14]\d{3})\b/g)].map((m) => Number(m[1])));
    // 1000, the normal close, is the client's own, answered in kind.
    assert.ok(closes.delete(1000), '1000 listed');
    assert.deepEqual([...closes].sort((a, b) => a - b), closeCodes());
  });

  // Each frame type the socket sends has its row in the page's "Server to
  // client" table (identity, feedback_saved, rating_saved, rating_request,
  // conversation_new and conversations had none).
  test('docs/widget-protocol.md\'s server-to-client table names every frame type the socket sends', () => {
    const doc = fs.readFileSync(path.join(REPO, 'docs/widget-protocol.md'), 'utf8');
    const from = doc.indexOf('Server to client:\n');
    assert.ok(from > 0, 'the server-to-client table');
    const lines = doc.slice(from).split('\n').slice(4);
    const rows = lines.slice(0, lines.findIndex((l) => !l.startsWith('|')));
    const listed = new Set(rows.flatMap((l) => [...l.split(' | ')[0].matchAll(/`(\w+)`/g)].map((m) => m[1])));
    assert.deepEqual([...listed].sort(), serverTypes());
  });

  describe('live', () => {
    let p;
    let api;
    const call = (...a) => adminCall(p, api, ...a);

    before(async () => {
      p = new Parley({ workers: 1, mock: true, env: { RATE_LIMIT_MAX_REQUESTS: '0' } });
      await p.start();
      api = await checkerFor(p);
    });
    after(async () => {
      if (p) await p.stop();
      assert.deepEqual(p.problems, []);
    });

    test('an identity_required widget refuses exactly the frames the table marks as storing', async () => {
      const w = (await call('POST', '/v1/admin/widgets', { handoff_enabled: true, feedback_enabled: true, rating_enabled: true })).json();
      assert.equal((await call('POST', `/v1/admin/widgets/${w.widget_id}/identity-secret`)).status, 200);
      assert.equal((await call('PATCH', `/v1/admin/widgets/${w.widget_id}`, { identity_required: true })).status, 200);
      for (const f of frames) {
        const v = await Visitor.open(p, w.widget_id);
        try {
          await v.next('session');
          while (v.inbox.length) v.inbox.shift(); // availability, if any
          v.send({ type: f.type, ...SAMPLE[f.type] });
          // a probe after it: its own error marks the end of the worker's
          // own answers; a message's refusal is storaged's (it checks the
          // widget as it is now), so it may come after the probe's
          const probe = `probe-${crypto.randomBytes(4).toString('hex')}`;
          v.send({ type: probe });
          const got = [];
          const isRefusal = (m) => m.type === 'error' && m.message === 'Identity required';
          for (let probed = false; !probed || (f.stores && !got.some(isRefusal));) {
            const m = await v.next();
            if (m.type === 'error' && m.message === 'Invalid message: unknown type') probed = true;
            else got.push(m);
          }
          const refused = got.some(isRefusal);
          assert.equal(refused, f.stores, `${f.type}: ${JSON.stringify(got)}`);
        } finally { v.close(); }
      }
    });

    // Every error answers a client frame and names it ("frame"): a turn's
    // (a refusal, a model failing mid-reply) says "message", which alone
    // ends the widget's streamed reply; a thumb's "feedback", a rating's
    // "rating", a malformed frame its own type; a frame of no known type
    // none. (There was no "frame": a refused thumb ended a reply.)
    test('each error names the frame it answers', async () => {
      const w = (await call('POST', '/v1/admin/widgets', { feedback_enabled: false, rating_enabled: true })).json();
      const v = await Visitor.open(p, w.widget_id);
      const answer = async (frame) => {
        v.send(frame);
        const e = await v.next('error');
        return { code: e.code, frame: e.frame };
      };
      try {
        await v.next('session');
        assert.deepEqual(await answer({ type: 'rating', score: 5 }), { code: 'message_first', frame: 'rating' });
        assert.deepEqual(await answer({ type: 'feedback', message_id: '0'.repeat(32), value: 'up' }), { code: undefined, frame: 'feedback' });
        assert.deepEqual(await answer({ type: 'rating', score: 9 }), { code: undefined, frame: 'rating' });
        assert.deepEqual(await answer({ type: 'message', content: '' }), { code: undefined, frame: 'message' });
        assert.deepEqual(await answer({ type: 'open_conversation', id: 'nope' }), { code: 'conversation_not_found', frame: 'open_conversation' });
        assert.deepEqual(await answer({ type: 'no_such_frame' }), { code: undefined, frame: undefined });
        assert.deepEqual(await answer('not json'), { code: undefined, frame: undefined });
        // A turn: another message meanwhile is refused, the model fails mid-reply.
        v.send({ type: 'message', content: 'cut me off [[mock:cut=2,chunks=6]]' });
        v.send({ type: 'message', content: 'too soon' });
        const errors = [];
        for (let m = await v.next(); m.type !== 'typing_stop'; m = await v.next()) {
          if (m.type === 'error') errors.push({ code: m.code, frame: m.frame });
        }
        assert.deepEqual(errors.sort((a, b) => a.code.localeCompare(b.code)),
          [{ code: 'model_failed', frame: 'message' }, { code: 'reply_in_progress', frame: 'message' }]);
      } finally { v.close(); }
    });

    // A socket opened (and chatting) before its widget took verified
    // visitors only knows nothing of it until storaged says: each storing
    // frame is refused there too, not only a message (a handoff asked, a
    // rating stored, a new conversation begun were let through).
    test('a socket opened before identity_required refuses each storing frame at its first', async () => {
      for (const f of frames.filter((x) => x.stores)) {
        const w = (await call('POST', '/v1/admin/widgets', { handoff_enabled: true, feedback_enabled: true, rating_enabled: true })).json();
        assert.equal((await call('POST', `/v1/admin/widgets/${w.widget_id}/identity-secret`)).status, 200);
        const v = await Visitor.open(p, w.widget_id);
        try {
          await v.next('session');
          await v.turn('hello before the change');
          assert.equal((await call('PATCH', `/v1/admin/widgets/${w.widget_id}`, { identity_required: true })).status, 200);
          while (v.inbox.length) v.inbox.shift();
          v.send({ type: f.type, ...SAMPLE[f.type] });
          const got = [];
          for (;;) {
            const m = await v.next(undefined, 10000);
            got.push(m);
            if (m.type === 'error') break;
            assert.ok(!['handoff', 'rating_saved', 'feedback_saved', 'conversation_new', 'contact_info_saved'].includes(m.type),
              `${f.type}: let through: ${JSON.stringify(got)}`);
          }
          assert.equal(got.at(-1).message, 'Identity required', `${f.type}: ${JSON.stringify(got)}`);
        } finally { v.close(); }
      }
    });
  });
});
