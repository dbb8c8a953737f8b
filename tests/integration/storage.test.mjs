// storaged killed with SIGKILL: admin requests get a quick 503; storaged
// restarted: served again within a couple of seconds; and everything
// storaged acknowledged before the kill is still there. storaged stalled
// (SIGSTOP): 503 after PARLEY_STORAGE_TIMEOUT_MS. Early answers,
// who may ask what, who asks; and the tests' own client (lib/storage.mjs)
// against the C message table.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';

import { BIN, pool, sleep, startParley, waitFor, within } from './lib/harness.mjs';
import { assertJsonError } from './lib/checks.mjs';
import { Enc, F, PROTO_VERSION, T, TABLE, WHO, WHO_TYPES, chatBegin, decodeAs, encodeAs, frame, layoutsId, rep, req } from './lib/storage.mjs';
import { chat, conversationOfSession, sid } from './lib/chat.mjs';
import { createWidget, Visitor } from './lib/wsclient.mjs';

const LIST = '/v1/admin/conversations';

async function timed(fn) {
  const t0 = Date.now();
  const r = await fn();
  return [r, Date.now() - t0];
}

// The stalled storaged's test (mostly waiting on its timeouts: 10 s and
// more) side by side with the others, each on a stack of its own; the
// others one after another, as before (the first asserts how soon it is
// served, under a load of its own).
describe('storaged: lost, stalled, and what it serves', { concurrency: true }, () => {
  describe('lost, and what it serves', { concurrency: false }, () => {
    test('storaged SIGKILL -> 503 after a bounded wait; restart -> served again; acknowledged writes survive', { timeout: 90000 }, async (t) => {
      const p = await startParley(t, { workers: 2 });
      const acked = new Map();   // conv id -> [message ids in order]
      const st = await p.storage({ name: 'itest-writer' });
      t.after(() => st.close());
  
      // A keep-alive admin connection opened before the kill.
      const keep = await p.connect();
      t.after(() => keep.destroy());
      assert.equal((await keep.request('GET', `${LIST}?limit=1`, { headers: { 'x-admin-api-key': p.adminKey } })).status, 200);
  
      // Writers: open conversations and append messages until the connection drops.
      let stopWriters = false;
      let writeErrors = 0;
      const writer = async (w) => {
        for (let i = 0; i < 100000 && !stopWriters; i++) {
          try {
            const { conv } = await st.convOpen('default', `w${w}-${i}-${crypto.randomBytes(3).toString('hex')}`);
            acked.set(conv.id, []);
            for (let k = 0; k < 3; k++) {
              const { id } = await st.msgAppend(conv.id, k % 2 ? 'assistant' : 'user', `w${w} c${i} m${k}`);
              acked.get(conv.id).push(id);
            }
          } catch {
            writeErrors++;
            return;
          }
        }
      };
      const writers = Array.from({ length: 4 }, (_, w) => writer(w));
      // Some writes acknowledged (each conversation takes 4 round trips).
      await waitFor(() => acked.size >= 20 || writeErrors > 0, 30000, 'writes acknowledged before the kill');
      assert.ok(acked.size > 0, 'some writes were acknowledged before the kill');
  
      await p.killStoraged('SIGKILL');
      const tKill = Date.now();
      stopWriters = true;
      await within(Promise.all(writers), 5000);
      t.diagnostic(`${acked.size} conversations and ${[...acked.values()].reduce((a, m) => a + m.length, 0)} messages acknowledged before the kill (${writeErrors} writers cut off)`);
  
      // While storaged is down: a clear 503 once a request waited for it (about
      // 2 s, STOREC_WAIT_MS), on new and old connections, on every worker.
      const someId = [...acked.keys()][0];
      await Promise.all(Array.from({ length: 12 }, async (_, i) => {
        const path = i % 2 ? `${LIST}/${someId}` : `${LIST}?limit=5`;
        const [r, ms] = await timed(() => p.admin(path, { timeout: 8000 }));
        assertJsonError(r, 503, 'Storage unavailable');
        assert.ok(ms >= 1500 && ms < 6000, `503 after ${ms} ms`);
      }));
      const [rk, msk] = await timed(() => keep.request('GET', `${LIST}?limit=1`, { headers: { 'x-admin-api-key': p.adminKey } }));
      assertJsonError(rk, 503, 'Storage unavailable');
      assert.ok(msk >= 1500 && msk < 6000, `503 on the old keep-alive connection after ${msk} ms`);
      t.diagnostic(`503s served while storaged was down (${Date.now() - tKill} ms after the kill)`);
  
      // Restart storaged (same data and run directories).
      const tStart = Date.now();
      await p.startStoraged();
      const tUp = Date.now();
      let back = null;
      while (Date.now() - tUp < 5000) {
        const r = await p.admin(`${LIST}?limit=1`, { timeout: 3000 });
        if (r.status === 200) { back = Date.now() - tUp; break; }
        assertJsonError(r, 503, 'Storage unavailable');
        await sleep(100);
      }
      assert.ok(back !== null, 'admin API served again after storaged came back');
      t.diagnostic(`storaged ready ${tUp - tStart} ms after spawn; admin API served again ${back} ms later`);
      assert.ok(back <= 3000, `served again only after ${back} ms`);
  
      // Every worker reconnects by itself: soon many new connections (spread
      // over the workers) all succeed, as does the old one. A worker retries
      // after a backoff of at most 250 ms (workerd/storec.c), so the one that
      // answered first may be alone for that long: each round is all or none.
      let allBack = null;
      for (const t0 = Date.now(); Date.now() - t0 < 5000;) {
        const rs = await Promise.all(Array.from({ length: 16 }, () => p.admin(`${LIST}?limit=1`)));
        for (const r of rs) if (r.status !== 200) assertJsonError(r, 503, 'Storage unavailable');
        if (rs.every((r) => r.status === 200)) { allBack = Date.now() - tUp; break; }
        await sleep(50);
      }
      assert.ok(allBack !== null, 'every worker serves again within 5 s of storaged\'s return');
      t.diagnostic(`16 connections at once all served ${allBack} ms after storaged was ready`);
      const rk2 = await keep.request('GET', `${LIST}?limit=1`, { headers: { 'x-admin-api-key': p.adminKey } });
      assert.equal(rk2.status, 200, 'the keep-alive connection from before the outage still works');
  
      // Everything acknowledged is there, through the admin API.
      const listed = new Set();
      let cursor = '';
      let total = 0;
      for (let page = 0; page < 1000; page++) {
        const r = await p.admin(`${LIST}?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        assert.equal(r.status, 200);
        const j = r.json();
        total = j.total;
        for (const c of j.conversations) listed.add(c._id);
        if (!j.nextCursor) break;
        cursor = j.nextCursor;
      }
      assert.ok(total >= acked.size, `total ${total} < ${acked.size} acknowledged`);
      for (const id of acked.keys()) assert.ok(listed.has(id), `acknowledged conversation ${id} is listed`);
      const missing = [];
      await pool([...acked.entries()], 8, async ([id, msgIds]) => {
        const r = await p.admin(`${LIST}/${id}`);
        if (r.status !== 200) { missing.push(`${id}: ${r.status}`); return; }
        const got = r.json().messages.map((m) => m._id);
        // every acknowledged message, in order (an unacknowledged one may follow)
        if (got.slice(0, msgIds.length).join() !== msgIds.join()) missing.push(`${id}: ${msgIds} vs ${got}`);
      });
      assert.deepEqual(missing, []);
    });

  
    // The chat turn asks storaged to answer ST_CHAT_BEGIN before its commit
    // (PROTO_F_EARLY) so the model is called while the disk flushes: the real
    // storaged answers early, then confirms once committed; requests that
    // change nothing get their one reply.
    test('ST_CHAT_BEGIN with PROTO_F_EARLY: an answer before the commit, then a confirmation', async (t) => {
      const p = await startParley(t, { workers: 1 });
      const st = await p.storage({ name: 'itest-early' });
      t.after(() => st.close());
      const begin = (session, message, key = 'k-early', rateMax = 0) => chatBegin(session, message, { key, rateMax });
      const decBegin = (payload) => {
        const r = rep(T.ST_CHAT_BEGIN, payload);
        if (r.result !== 0) return { limited: r.result };
        return { limited: 0, created: r.ok.created, convId: r.ok.conv_id, language: r.ok.language,
          history: r.ok.history.map((h) => [h.role, h.content]) };
      };
  
      const session = `early-${crypto.randomBytes(4).toString('hex')}`;
      const fr = await st.frames(T.ST_CHAT_BEGIN, begin(session, 'hello early'), F.EARLY);
      assert.equal(fr.length, 2, 'an early answer and a confirmation');
      assert.equal(fr[0].flags, F.REPLY | F.EARLY);
      const b = decBegin(fr[0].payload);
      assert.equal(b.limited, 0);
      assert.equal(b.created, 1);
      // Of the conversation the answer carries its id and the visitor's language.
      assert.match(b.convId, /^[0-9a-f]{32}$/);
      assert.equal(b.language, '');
      assert.deepEqual(b.history, [['user', 'hello early']]);
      assert.equal(fr[1].flags, F.REPLY);
      assert.equal(fr[1].payload.length, 0);
      const got = await st.convGet(b.convId);
      assert.equal(got.conv.last_message, 'hello early');
      assert.deepEqual(got.messages.map((m) => [m.role, m.content]), [['user', 'hello early']]);
  
      // Without the flag: one reply, as always (the turn before answered:
      // a conversation takes one turn at a time).
      await st.msgAppend(b.convId, 'assistant', 'answer early');
      const fr2 = await st.frames(T.ST_CHAT_BEGIN, begin(session, 'second'), 0);
      assert.equal(fr2.length, 1);
      assert.equal(fr2[0].flags, F.REPLY);
      const b2 = decBegin(fr2[0].payload);
      assert.equal(b2.created, 0);
      assert.equal(b2.convId, b.convId);
      assert.deepEqual(b2.history, [['user', 'hello early'], ['assistant', 'answer early'], ['user', 'second']]);
  
      // Rate limited: nothing changed, so one reply (limited), no early one.
      await st.msgAppend(b.convId, 'assistant', 'answer second');
      const key = `k-${session}`;
      assert.equal((await st.frames(T.ST_CHAT_BEGIN, begin(session, 'third', key, 1), F.EARLY)).length, 2);
      const fr3 = await st.frames(T.ST_CHAT_BEGIN, begin(session, 'fourth', key, 1), F.EARLY);
      assert.equal(fr3.length, 1);
      assert.equal(fr3[0].flags, F.REPLY);
      assert.equal(decBegin(fr3[0].payload).limited, 1);
      // Its turn still open ('third' unanswered): refused (7), nothing
      // changed, so one reply.
      const fr6 = await st.frames(T.ST_CHAT_BEGIN, begin(session, 'held'), F.EARLY);
      assert.deepEqual(fr6.map((f) => f.flags), [F.REPLY]);
      assert.equal(decBegin(fr6[0].payload).limited, 7);
  
      // Invalid: one error reply.
      const fr4 = await st.frames(T.ST_CHAT_BEGIN, Buffer.from([1, 2, 3]), F.EARLY);
      assert.equal(fr4.length, 1);
      assert.equal(fr4[0].flags, F.REPLY | F.ERROR);
      const after = await st.convGet(b.convId);
      assert.deepEqual(after.messages.map((m) => m.content), ['hello early', 'answer early', 'second', 'answer second', 'third']);
  
      // A write msgtab.c does not mark early gets its one reply, after its
      // commit, whatever its flags say (a worker's bug cannot have one early).
      const fr5 = await st.frames(T.ST_CONV_OPEN, req(T.ST_CONV_OPEN, { widget: 'default', session: `${session}-open` }), F.EARLY);
      assert.deepEqual(fr5.map((f) => f.flags), [F.REPLY]);
      assert.match(rep(T.ST_CONV_OPEN, fr5[0].payload).conv.id, /^[0-9a-f]{32}$/);
    });
  
    // Which process may ask what is proto/msgtab.c's: storaged refuses the rest
    // (unsupported), in its place among the replies, and logs it.
    test('a worker\'s ST_PURGE, ST_STATS and ST_BACKUP are refused and logged; parleyctl\'s are served', async (t) => {
      const p = await startParley(t, { workers: 1 });
      const PURGE = 0x3f, STATS = 0x3e, BACKUP = 0x3d;
      const dryRun = req(PURGE, { cutoff_ms: Date.now(), max: 10, dry_run: 1 });
      const w = await p.storage({ name: 'as-worker' });
      for (const [type, payload] of [[PURGE, dryRun], [STATS, Buffer.alloc(0)], [BACKUP, Buffer.alloc(0)]]) {
        await assert.rejects(w.call(type, payload), (e) => e.code === 4 && e.storageMessage === 'not a request this process may send',
          `type 0x${type.toString(16)} from a worker`);
      }
      // The requests around them are served as ever, in order.
      const [a, b] = await Promise.all([w.ping(), w.call(STATS).catch((e) => e.code), w.ping()]);
      assert.equal(a, true);
      assert.equal(b, 4);
      await waitFor(() => /refused ST_PURGE: not a request it may send/.test(p.logs.storaged) &&
        /refused ST_BACKUP/.test(p.logs.storaged), 5000, 'the refusals logged');
      // parleyctl may: a purge dry run and the stats.
      const ctl = await p.storage({ name: 'as-ctl', as: 'parleyctl' });
      assert.deepEqual(rep(PURGE, await ctl.call(PURGE, dryRun)), { n: 0, more: 0 });
      assert.ok((await ctl.call(STATS)).length > 0);
      // ...but not a worker's requests, nor may an unknown process ask anything.
      await assert.rejects(ctl.call(T.ST_CONV_GET, req(T.ST_CONV_GET, { conv_id: '0'.repeat(32), max_messages: 0 })),
        (e) => e.code === 4);
      const other = await p.storage({ name: 'stranger', as: 'some-tool' });
      await assert.rejects(other.ping(), (e) => e.code === 4);
      w.close();
      ctl.close();
      other.close();
    });
  
    // A process of another build: its HELLO's message table (proto_layouts_id)
    // differs by one bit. storaged closes the channel before anything is
    // asked, says why in its log, and a process of this build is served.
    test('a process of another build is refused at its HELLO, the reason logged', async (t) => {
      const p = await startParley(t, { workers: 1 });
      const hello = new Enc().u32(PROTO_VERSION).str('parley-workerd').u64(layoutsId() ^ 1n).done();
      const r = await new Promise((resolve) => {
        const s = net.connect({ path: p.sockPath });
        let got = Buffer.alloc(0);
        const timer = setTimeout(() => { s.destroy(); resolve({ closed: false, got }); }, 5000);
        s.on('connect', () => s.write(Buffer.concat([frame(T.HELLO, 0, 0, hello), frame(T.ST_PING, 0, 1)])));
        s.on('data', (d) => { got = Buffer.concat([got, d]); });
        s.on('error', () => {});
        s.on('close', () => { clearTimeout(timer); resolve({ closed: true, got }); });
      });
      assert.ok(r.closed, 'storaged closes the channel');
      const types = [];
      for (let off = 0; off + 12 <= r.got.length; off += 12 + r.got.readUInt32BE(off + 4)) types.push(r.got.readUInt16BE(off));
      assert.equal(types[0], T.HELLO, 'its own HELLO first');
      assert.ok(!types.includes(T.ST_PING), `the ping is never answered: ${types}`);
      await waitFor(() => /parley-workerd's messages are laid out otherwise \([0-9a-f]{16}, ours [0-9a-f]{16}\): another build/.test(p.logs.storaged),
        5000, 'the reason in storaged\'s log');
      const same = await p.storage({ name: 'same-build' });
      assert.equal(await same.ping(), true);
      same.close();
    });
  
    // Who asks (issue 21): the types whose payload starts with it are the
    // message table's `who` column (lib/storage.mjs reads it there);
    // storaged checks it against the process that sends it.
    test('who asks leads the admin requests; storaged checks it against the sender', async (t) => {
      assert.ok(WHO_TYPES.size > 20, `${WHO_TYPES.size} types carry who asks`);
      assert.ok(WHO_TYPES.has(T.ST_CONV_LIST) && WHO_TYPES.has(T.ST_PURGE) && !WHO_TYPES.has(T.ST_CHAT_BEGIN));
  
      const p = await startParley(t, { workers: 1 });
      const w = await p.storage({ name: 'who-worker' });
      const list = req(T.ST_CONV_LIST, { limit: 10, cursor: '' });
      // As the install key: served.
      assert.ok(rep(T.ST_CONV_LIST, await w.call(T.ST_CONV_LIST, list)).total >= 0n);
      // Nobody signed in may read a widget's config, and nothing else.
      await assert.rejects(w.call(T.ST_CONV_LIST, list, { who: [WHO.PUBLIC, ''] }),
        (e) => e.code === 2 && /the public may not ask this/.test(e.storageMessage));
      // A worker may not speak for parleyctl; a kind past the last is malformed.
      await assert.rejects(w.call(T.ST_CONV_LIST, list, { who: [WHO.CTL, 'uid 0'] }),
        (e) => e.code === 2 && /not one this process may speak for/.test(e.storageMessage));
      await assert.rejects(w.call(T.ST_CONV_LIST, list, { who: [9, 'x'] }), (e) => e.code === 2 && /malformed/.test(e.storageMessage));
      // Who acts in an organisation: one that does not exist is its own error
      // (PROTO_E_NO_ORG); one no organisation can have, or a role past owner,
      // is malformed.
      await assert.rejects(w.call(T.ST_CONV_LIST, list, { who: [WHO.KEY, 'install', 'org_' + '0'.repeat(32)] }),
        (e) => e.code === 6 && /no such organisation/.test(e.storageMessage));
      await assert.rejects(w.call(T.ST_CONV_LIST, list, { who: [WHO.KEY, 'install', 'Default'] }),
        (e) => e.code === 2 && /malformed/.test(e.storageMessage));
      await assert.rejects(w.call(T.ST_CONV_LIST, list, { who: [WHO.KEY, 'install', 'default', 4] }),
        (e) => e.code === 2 && /malformed/.test(e.storageMessage));
      await waitFor(() => /ST_CONV_LIST refused: who asks/.test(p.logs.storaged), 5000, 'the refusal logged');
      // An install-only type (the table's who 2): the key is served, an owner's
      // session refused by storaged itself, whatever a router let through.
      assert.ok(rep(T.ST_ORG_LIST, await w.call(T.ST_ORG_LIST, Buffer.alloc(0))).orgs.length >= 1);
      await assert.rejects(w.call(T.ST_ORG_LIST, Buffer.alloc(0), { who: [WHO.SESSION, '0123456789abcdef'] }),
        (e) => e.code === 2 && /only the install key may ask this/.test(e.storageMessage));
      // parleyctl speaks for itself only.
      const ctl = await p.storage({ name: 'who-ctl', as: 'parleyctl' });
      const query = req(T.ST_CONV_QUERY, { limit: 10, cursor: '', widget: '', q: '', assigned: 0, assignee: '', gaps: 0, state: 0, order: 0 });
      assert.ok(rep(T.ST_CONV_QUERY, await ctl.call(T.ST_CONV_QUERY, query)).total >= 0n);
      await assert.rejects(ctl.call(T.ST_CONV_QUERY, query, { who: [WHO.KEY, 'install'] }), (e) => e.code === 2);
      w.close();
      ctl.close();
    });
  
    // lib/storage.mjs writes and reads storaged's payloads by the C table
    // (proto/msgtab.c, stmsgs.c), read when it loads, and by record codecs of
    // its own. Each is checked against the C encodings test_stmsgs writes at
    // each test build (build/test/stmsgs-samples/ST_*, as its fuzz seeds: byte
    // 0 the type, byte 1 0 request or 1 reply, the payload): the JS reads
    // every one to its last byte, and writes every request back to the same
    // bytes.
    test('lib/storage.mjs reads and writes every payload of the table as the C code does', () => {
      const read = (f) => fs.readFileSync(new URL(`../../proto/${f}`, import.meta.url), 'utf8');
      // The whole table was read: every row, each storaged request with both layouts.
      assert.equal(TABLE.rows.size, read('msgtab.c').match(/\{ PROTO_\w+,/g).length);
      // (Between two storaged, a message with no reply is unasked: replication's stream.)
      for (const r of TABLE.rows.values())
        if (r.to === 'S' && r.name !== 'HELLO' && !(r.from === 'S' && r.rep === null)) assert.ok(r.req && r.rep, `${r.name}: both layouts read`);
  
      const dir = new URL(`file://${path.resolve(BIN, '../stmsgs-samples')}/`);
      const seen = new Set();
      for (const f of fs.readdirSync(dir).filter((n) => /^ST_\w+-re[qp]-\d+$/.test(n))) {
        const b = fs.readFileSync(new URL(f, dir));
        const [type, reply, payload] = [b[0], b[1], b.subarray(2)];
        const row = TABLE.rows.get(type);
        assert.equal(`${row.name}-${reply ? 'rep' : 'req'}`, f.replace(/-\d+$/, ''), `${f}: its type and direction`);
        let v;
        try {
          v = decodeAs(type, reply, payload);
        } catch (e) {
          assert.fail(`${f}: ${e.message} (make test-build writes them)`);
        }
        if (!reply && row.to === 'S') assert.deepEqual(encodeAs(type, 0, v), payload, `${f}: written back the same`);
        seen.add(`${type}/${reply}`);
      }
      // A sample of every layout.
      for (const r of TABLE.rows.values()) {
        if (r.req) assert.ok(seen.has(`${r.type}/0`), `a seed of ${r.name}'s request`);
        if (r.rep) assert.ok(seen.has(`${r.type}/1`), `a seed of ${r.name}'s reply`);
      }
  
      // A value the C layout does not have, or one it has left out, fails.
      assert.throws(() => req(T.ST_CONV_OPEN, { widget: 'w', session: 's', extra: 1 }), /no field extra/);
      const submit = { widget_id: 'wid', token: Buffer.alloc(32), name: 'n', email: '', phone: '' };
      assert.throws(() => req(T.ST_CONTACT_SUBMIT, submit), /rate_key left out/);
      assert.throws(() => req(T.ST_CONTACT_SUBMIT, { ...submit, rate_key: '', window_ms: 0, rate_max: 0 }), /origin left out/);
      assert.throws(() => req(T.ST_CONTACT_SUBMIT, { ...submit, rate_key: '', window_ms: 0, rate_max: 0, origin: '' }), /create left out/);
      assert.deepEqual(req(T.ST_CONTACT_SUBMIT, { ...submit, rate_key: '', window_ms: 0, rate_max: 0, origin: '', create: 1 }).subarray(-17),
        Buffer.from([...Buffer.alloc(16), 1]));
    });
  
    // The map's last sixteenth is kept for who signs in (storaged/STORAGE.md):
    // filled as a worker fills it (nobody's writes), the store refuses a
    // visitor's turn with 503 before the map is full, the owner's deletes run
    // (a full map would refuse them too), and the visitors are served again.
    test('a store in its last sixteenth: visitors get 503, the owner deletes, visitors are served again', { timeout: 90000 }, async (t) => {
      const p = await startParley(t, { workers: 1, mock: true, env: { PARLEY_MAP_SIZE_MB: '8', RATE_LIMIT_MAX_REQUESTS: '0' } });
      const st = await p.storage({ name: 'itest-filler' });
      t.after(() => st.close());
      // A widget visitor with an open session, from before the store filled.
      const w = await createWidget(p);
      const v = await Visitor.open(p, w.widget_id);
      t.after(() => v.close());
      await v.next('session');
      await v.turn('before it filled');
      const big = 'x'.repeat(60000);
      const convs = [];
      let refused = null;
      for (let i = 0; i < 400 && !refused; i++) {
        try {
          const { conv } = await st.convOpen('default', `fill-${i}`);
          convs.push(conv.id);
          for (let k = 0; k < 4; k++) await st.msgAppend(conv.id, 'user', big);
        } catch (e) {
          refused = e;
        }
      }
      assert.ok(refused, 'the filler was refused');
      assert.equal(refused.code, 5, `refused as unavailable, not failed: ${refused.message}`);
      assert.match(refused.storageMessage, /the store is full/);
      assertJsonError(await chat(p, 'visitor-full', 'hello'), 503, 'Storage unavailable');
      // The widget: the open session's message is refused in a frame, a new
      // session's upgrade with the same 503.
      v.send({ type: 'message', content: 'while full' });
      assert.deepEqual(await v.next('error'), { type: 'error', message: 'The chat is unavailable right now. Please try again.', code: 'unavailable', frame: 'message' });
      await assert.rejects(Visitor.open(p, w.widget_id), (e) => e.status === 503 && /Storage unavailable/.test(e.body));
      // The metrics say so (as of the last checkpoint).
      const gauge = async (name) => {
        const m = await p.admin('/metrics');
        assert.equal(m.status, 200);
        const line = m.text.match(new RegExp(`^${name} (\\d+)$`, 'm'));
        assert.ok(line, `${name} in /metrics`);
        return Number(line[1]);
      };
      assert.equal(await gauge('parley_storage_map_reserved'), 1);
      assert.equal(await gauge('parley_storage_map_size_bytes'), 8 * 1024 * 1024);
      assert.ok(await gauge('parley_storage_map_used_bytes') > 8 * 1024 * 1024 * 15 / 16);
      // The owner: every conversation read is there, and half of them go.
      assert.equal((await p.admin(`${LIST}/${convs[0]}`)).status, 200);
      for (const id of convs.slice(0, Math.ceil(convs.length / 2))) {
        const d = await p.adminJson('DELETE', `${LIST}/${id}`);
        assert.equal(d.status, 204, d.text);
      }
      const r = await chat(p, 'visitor-full', 'hello again');
      assert.equal(r.status, 200, r.text);
      const v2 = await Visitor.open(p, w.widget_id);
      t.after(() => v2.close());
      await v2.next('session');
      await v2.turn('after the deletes');
      assert.equal(await gauge('parley_storage_map_reserved'), 0);
    });
  });

  // storaged alive but silent (SIGSTOP: its socket open, nothing read):
  // each request fails once PARLEY_STORAGE_TIMEOUT_MS has passed without an
  // answer, and the worker's log names the timeout it was given; once
  // storaged runs again it answers the next requests (its late replies to
  // the failed ones are dropped). A chat turn's question is a write whose
  // outcome is waited for (storaged would store it whatever the worker
  // decided): three timeouts, 10 s at least; then storaged is taken to be
  // stuck, the connection is dropped and the turn answers 503. storaged,
  // running again, ends such a question as a lost worker's turn (stored,
  // an empty "interrupted" reply after it) if it stored it: never a
  // question without an answer.
  test('PARLEY_STORAGE_TIMEOUT_MS: storaged stalled -> 503 once that long went by unanswered; running again -> served', { timeout: 60000 }, async (t) => {
    const TIMEOUT_MS = 700;
    const STUCK_MS = 10000;
    const p = await startParley(t, { workers: 1, mock: true, env: { PARLEY_STORAGE_TIMEOUT_MS: String(TIMEOUT_MS) } });
    assert.equal((await p.admin(`${LIST}?limit=1`)).status, 200);
    const from = p.logs.masterd.length;
    const s = sid();
    process.kill(p.storagedPid, 'SIGSTOP');
    try {
      const [r, ms] = await timed(() => p.admin(`${LIST}?limit=1`, { timeout: 30000 }));
      assertJsonError(r, 503, 'Storage unavailable');
      assert.ok(ms >= TIMEOUT_MS - 50, `503 after ${ms} ms, before the timeout`);
      await waitFor(() => p.logs.masterd.includes(`got no reply in ${TIMEOUT_MS} ms`, from), 5000,
        'the worker logs the timeout it was given');
      const [c, cms] = await timed(() => chat(p, s, 'anyone there?', { timeout: 30000 }));
      assertJsonError(c, 503, 'Storage unavailable');
      assert.ok(cms >= STUCK_MS - 100, `the turn's 503 after ${cms} ms, before storaged was taken to be stuck`);
      await waitFor(() => p.logs.masterd.includes(`no answer to ST_CHAT_BEGIN in ${STUCK_MS} ms`, from), 5000,
        'the worker logs the connection it dropped');
    } finally {
      process.kill(p.storagedPid, 'SIGCONT');
    }
    await waitFor(async () => (await p.admin(`${LIST}?limit=1`)).status === 200, 10000, 'served again');
    const c = await chat(p, sid(), 'back?');
    assert.equal(c.status, 200, c.body.toString());
    assert.equal(c.json().message, 'You said: back?');
    // storaged ran the question it had read once it ran again: it is
    // answered (interrupted) once its turn counts as lost (3 s). It once
    // stayed without an answer for good, its turn open on the connection.
    const conv = await conversationOfSession(p, s);
    assert.ok(conv, 'the question read before the stall is stored');
    let msgs;
    await waitFor(async () => {
      msgs = (await p.admin(`${LIST}/${conv._id}`)).json().messages;
      return msgs.length === 2;
    }, 8000, () => `the stalled question answered as a lost turn: ${JSON.stringify(msgs)}`);
    assert.deepEqual(msgs.map((m) => [m.role, m.status, m.content]),
      [['user', msgs[0].status, 'anyone there?'], ['assistant', 'interrupted', '']]);
  });
});
