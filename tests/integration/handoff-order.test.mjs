// A person's reply sent while the assistant's reply streams, against the
// real processes and the mock model: the stored transcript reads in the
// order the visitor saw it, the question, the assistant's reply (whole,
// or cut off as interrupted when the person took over), then the
// person's reply; as the admin API lists it and a reloaded widget's
// history shows it. The reply's place is kept on disk with its turn: a
// worker killed mid-reply has its turn ended (interrupted) there, and a
// storaged killed (-9) and started again still puts the reply there.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Parley, SHORT_STARTUP, waitFor } from './lib/harness.mjs';
import { mockReply, sid, stored as storedConv, stream } from './lib/chat.mjs';
import { createWidget, Visitor } from './lib/wsclient.mjs';

// The conversation's messages as [role, status, content], stored order.
const rows = (msgs) => msgs.map((m) => [m.role, m.status ?? 'complete', m.content]);

// The two parts, each on a stack of its own, side by side: each mostly
// waits on its replies and crashes. Within each, its tests one after
// another (each says concurrency false: it would inherit true).
describe('a person replying while the assistant streams: two stacks', { concurrency: true }, () => {
  describe('a person replying while the assistant streams', { concurrency: false }, () => {
    let p;
    before(async () => {
      p = new Parley({ workers: 2, mock: true, env: { RATE_LIMIT_MAX_REQUESTS: '0', DASHBOARD_AGENT_NAME: 'Team Parley' } });
      await p.start();
    });
    after(async () => { await p.stop(); assert.deepEqual(p.problems, []); });

    // A visitor of a new handoff widget whose question's reply streams
    // (its first token seen); its conversation's id.
    async function streaming(question) {
      const w = await createWidget(p, { handoff_enabled: true });
      const v = await Visitor.open(p, w.widget_id);
      const { session_token: token } = await v.next('session');
      v.send({ type: 'message', content: question });
      await v.next('typing_start');
      const first = await v.next('token');
      const convs = (await p.admin('/v1/admin/conversations?limit=200')).json().conversations;
      return { w, v, token, first, convId: convs.find((c) => c.widgetId === w.id)._id };
    }

    // What the socket was sent until both the turn's end and the person's
    // message came: the reply's text streamed, and the frames that are not
    // tokens, in order.
    async function live(v, first) {
      let text = first.token;
      const frames = [];
      let ended = false;
      let agent = false;
      while (!ended || !agent) {
        const m = await v.next(undefined, 15000);
        if (m.type === 'token') { text += m.token; continue; }
        frames.push(m.type === 'message' ? [m.type, m.role, m.status ?? 'complete'] : [m.type]);
        ended ||= m.type === 'typing_stop';
        agent ||= m.type === 'message' && m.role === 'agent';
      }
      return { text, frames };
    }

    // The stored order, through the admin API and a reloaded widget.
    async function stored(w, token, convId) {
      const admin = rows((await p.admin(`/v1/admin/conversations/${convId}`)).json().messages);
      const v2 = await Visitor.open(p, w.widget_id, { token });
      await v2.next('session');
      const history = rows((await v2.next('history')).messages);
      await v2.close();
      return { admin, history };
    }

    // The person writes while the reply streams, then takes over: the
    // stream stops, its text so far stored as interrupted after the
    // person's message reached storaged.
    test('answered mid-stream, then taken over: question, the cut-off reply, the person\'s', async () => {
      const question = 'tell me a long story [[mock:chunks=400,delay=25]]';
      const { w, v, token, first, convId } = await streaming(question);
      const r = await p.adminJson('POST', `/v1/admin/conversations/${convId}/messages`, { content: 'Hi, Ada here.' });
      assert.equal(r.status, 201, r.text);
      // Live, the person's message comes while the tokens do.
      let text = first.token;
      let m;
      while ((m = await v.next()).type === 'token') text += m.token;
      assert.deepEqual([m.type, m.role, m.content], ['message', 'agent', 'Hi, Ada here.']);
      const h = await p.adminJson('POST', `/v1/admin/conversations/${convId}/handoff`, { state: 'human', name: 'Ada' });
      assert.equal(h.status, 200, h.text);
      // Then the stream's end (the text so far), the turn's, the handoff.
      while ((m = await v.next()).type === 'token') text += m.token;
      assert.deepEqual(m, { type: 'message', role: 'assistant', content: text, id: m.id, status: 'interrupted' });
      assert.ok(text.length < mockReply(question).length, `cut off: ${text.length} characters`);
      await v.next('typing_stop');
      assert.equal((await v.next('handoff')).state, 'human');
      await v.close();
      const want = [['user', 'complete', question], ['assistant', 'interrupted', text],
        ['agent', 'complete', 'Hi, Ada here.']];
      const got = await stored(w, token, convId);
      assert.deepEqual(got.admin, want, 'the admin API\'s order');
      assert.deepEqual(got.history, want, 'the reloaded widget\'s history');
      // The conversation's preview is the person's message, its last.
      const conv = (await p.admin(`/v1/admin/conversations/${convId}`)).json().conversation;
      assert.equal(conv.lastMessage, 'Hi, Ada here.');
      // The export, in the same order.
      const ex = await p.admin(`/v1/admin/export?format=jsonl&rows=messages&conversation=${convId}`);
      assert.equal(ex.status, 200, ex.text);
      assert.deepEqual(rows(ex.text.trim().split('\n').map((l) => JSON.parse(l))), want, 'the export\'s order');
    });

    // The takeover first, the person's message at once after it: the
    // worker's stop and the message race to storaged; either way the order
    // stored is the same.
    test('taken over, then answered at once: question, the cut-off reply, the person\'s', async () => {
      const question = 'a long tale [[mock:chunks=400,delay=25]]';
      const { w, v, token, first, convId } = await streaming(question);
      const h = await p.adminJson('POST', `/v1/admin/conversations/${convId}/handoff`, { state: 'human', name: 'Ada' });
      assert.equal(h.status, 200, h.text);
      const r = await p.adminJson('POST', `/v1/admin/conversations/${convId}/messages`, { content: 'Ada again.' });
      assert.equal(r.status, 201, r.text);
      const seen = await live(v, first);
      await v.close();
      const want = [['user', 'complete', question], ['assistant', 'interrupted', seen.text],
        ['agent', 'complete', 'Ada again.']];
      const got = await stored(w, token, convId);
      assert.deepEqual(got.admin, want, 'the admin API\'s order');
      assert.deepEqual(got.history, want, 'the reloaded widget\'s history');
    });

    test('answered without taking over: question, the whole reply, the person\'s', async () => {
      const question = 'another long story [[mock:chunks=200,delay=25]]';
      const { w, v, token, first, convId } = await streaming(question);
      const r = await p.adminJson('POST', `/v1/admin/conversations/${convId}/messages`, { content: 'Ada, reading along.' });
      assert.equal(r.status, 201, r.text);
      const seen = await live(v, first);
      await v.close();
      const got = await stored(w, token, convId);
      const want = [['user', 'complete', question], ['assistant', 'complete', mockReply(question)],
        ['agent', 'complete', 'Ada, reading along.']];
      assert.deepEqual(got.admin, want, `the admin API's order (live: ${JSON.stringify(seen.frames)})`);
      assert.deepEqual(got.history, want, 'the reloaded widget\'s history');
    });
  });

  // The place is the turn's, on disk: each test kills a process.
  describe('a person replying while the assistant streams, and a crash', { concurrency: false }, () => {
    const Q = '[[mock:chunks=40,delay=250]] a long story';
    let p;
    before(async () => {
      p = new Parley({ workers: 2, mock: true, env: { RATE_LIMIT_MAX_REQUESTS: '0', ...SHORT_STARTUP } });
      await p.start();
      // Past masterd's throttle of a worker dying young.
      await p.pastStartup();
    });
    after(() => p.stop());

    // An HTTP stream of a new session whose first token came, and a
    // person's message stored meanwhile: the stream and its conversation.
    async function answeredMidStream(t) {
      const s = sid();
      const st = await stream(p, s, Q);
      t.after(() => st.destroy());
      assert.ok(await st.until(() => st.tokens.length >= 1, 10000), 'the first token');
      const conv = st.events[0].conversationId;
      const r = await p.adminJson('POST', `/v1/admin/conversations/${conv}/messages`, { content: 'Ada here.' });
      assert.equal(r.status, 201, r.text);
      return { s, st, conv };
    }

    const rowsOf = (got) => got.messages.map((m) => [m.role, m.status, m.content]);

    // The headless API's history of session s: [role, content] of each message.
    async function visitorHistory(s) {
      const h = await p.request('GET', `/v1/chat/history?sessionId=${s}`, { headers: { 'x-api-key': p.widgetKey } });
      assert.equal(h.status, 200, h.text);
      return h.json().messages.map((m) => [m.role, m.content]);
    }

    test('its worker killed: storaged ends the turn (interrupted, empty) before the person\'s message', { timeout: 60000 }, async (t) => {
      const workers = p.workerPids();
      const { st, conv } = await answeredMidStream(t);
      const victim = p.connectionOwners(workers).get(st.localPort);
      assert.ok(workers.includes(victim), `the stream's worker (${victim}) is one of ${workers}`);
      process.kill(victim, 'SIGKILL');
      // A request the dying worker took is cut: asked again.
      let got;
      await waitFor(async () => {
        try {
          got = await storedConv(p, conv);
        } catch (e) {
          if (e.code !== 'ECLOSED') throw e;
          return false;
        }
        return got.messages.length === 3;
      }, 15000, 'the lost turn ended');
      assert.deepEqual(rowsOf(got), [['user', 'complete', Q], ['assistant', 'interrupted', ''],
        ['agent', 'complete', 'Ada here.']]);
      assert.equal(got.conversation.lastMessage, 'Ada here.');
    });

    test('storaged killed (-9) and started again: the reply still goes before the person\'s message', { timeout: 60000 }, async (t) => {
      const { s, st, conv } = await answeredMidStream(t);
      await p.killStoraged('SIGKILL');
      const from = p.logs.masterd.length;
      await p.startStoraged();
      await p.waitConnected(from);
      await st.finish(30000);
      const done = st.event('done');
      assert.ok(done, `the stream ends with done: ${st.types.join(',')}`);
      await waitFor(async () => (await storedConv(p, conv)).messages.length === 3, 10000, 'the reply stored');
      assert.deepEqual(rowsOf(await storedConv(p, conv)), [['user', 'complete', Q],
        ['assistant', 'complete', done.message], ['agent', 'complete', 'Ada here.']]);
      assert.equal(done.message, mockReply(Q));
      assert.deepEqual(await visitorHistory(s), [['user', Q], ['assistant', done.message], ['agent', 'Ada here.']]);
    });
  });
});
