// Feedback (issue 26), against the real processes: a visitor's thumbs on
// answers (stored, changed, taken back, the counts exact; another
// session's answer and a visitor's own message refused), its 1-5 rating
// (replaced, out of bounds refused), the handed-back rating_request, and
// where the owner sees them: the thread, the export (CSV and JSON Lines),
// /metrics and GET /v1/admin/feedback (per widget and agent, a deleted
// conversation's leaving the figures). Responses are checked against the
// OpenAPI document.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Parley, sleep, waitFor } from './lib/harness.mjs';
import { checkerFor } from './lib/openapi.mjs';
import { createWidget, Visitor } from './lib/wsclient.mjs';

const HEX32 = /^[0-9a-f]{32}$/;

describe('feedback on answers and ratings, 2 workers', () => {
  let p, api;
  before(async () => {
    p = new Parley({ workers: 2, mock: { chunks: 2 }, env: { RATE_LIMIT_MAX_REQUESTS: '0', PARLEY_METRICS_OPEN: 'loopback' } });
    await p.start();
    api = await checkerFor(p);
  });
  after(async () => { await p.stop(); assert.deepEqual(p.problems, []); });

  async function adminGet(path) {
    const r = await p.admin(path);
    assert.equal(r.status, 200, r.text);
    api.checkJson('GET', path, r);
    return r.json();
  }
  const summary = () => adminGet('/v1/admin/feedback');
  const thread = (id) => adminGet(`/v1/admin/conversations/${id}`);

  // A visitor with a conversation of n answers: {v, session, conv, ids}.
  async function visitorWith(wid, n) {
    const v = await Visitor.open(p, wid);
    const session = await v.next('session');
    const ids = [];
    for (let i = 0; i < n; i++) {
      const { message } = await v.turn(`question ${i}`);
      assert.match(message.id, HEX32);
      ids.push(message.id);
    }
    const convs = (await adminGet('/v1/admin/conversations?limit=200')).conversations;
    const conv = convs.find((c) => c.widgetId === widgetOf(wid) && c.messageCount === 2 * n);
    assert.ok(conv, 'the conversation is listed');
    return { v, session, ids, conv };
  }

  const widgets = new Map();	// public id -> internal id
  const widgetOf = (wid) => widgets.get(wid);

  async function thumb(v, id, value) {
    v.send({ type: 'feedback', message_id: id, value });
    return v.next();
  }

  test('thumbs: stored, changed, taken back, counted exactly; refusals; rating; export; metrics; summary', async () => {
    let r = await p.adminJson('POST', '/v1/admin/agents', { name: 'Support bot' });
    assert.equal(r.status, 201, r.text);
    const agent = r.json();
    const w = await createWidget(p, { name: 'Shop', agent_id: agent.id, rating_enabled: true });
    widgets.set(w.widget_id, w.id);
    const a = await visitorWith(w.widget_id, 2);
    const [m1, m2] = a.ids;
    const convId = a.conv._id;

    // Up, then down, then taken back: the message and the counts follow.
    assert.deepEqual(await thumb(a.v, m1, 'up'), { type: 'feedback_saved', message_id: m1, value: 'up' });
    let s = await summary();
    assert.equal(s.widgets.length, 1);
    assert.deepEqual(s.widgets[0], { widgetId: w.id, name: 'Shop', answersRated: 1, thumbsUp: 1, thumbsDown: 0,
      positiveShare: 1, ratings: 0, averageRating: null });
    assert.deepEqual(s.agents.map((x) => [x.agentId, x.name, x.thumbsUp]), [[agent.id, 'Support bot', 1]]);
    assert.equal((await thread(convId)).messages.find((m) => m._id === m1).feedback, 'up');
    assert.deepEqual(await thumb(a.v, m1, 'down'), { type: 'feedback_saved', message_id: m1, value: 'down' });
    s = await summary();
    assert.deepEqual([s.total.thumbsUp, s.total.thumbsDown, s.total.positiveShare], [0, 1, 0]);
    // value left out is null (docs/widget-protocol.md): taken back, then given again.
    a.v.send({ type: 'feedback', message_id: m1 });
    assert.deepEqual(await a.v.next(), { type: 'feedback_saved', message_id: m1, value: null });
    assert.equal((await thread(convId)).messages.find((m) => m._id === m1).feedback, null);
    assert.deepEqual(await thumb(a.v, m1, 'down'), { type: 'feedback_saved', message_id: m1, value: 'down' });
    assert.deepEqual(await thumb(a.v, m1, null), { type: 'feedback_saved', message_id: m1, value: null });
    s = await summary();
    assert.deepEqual([s.widgets, s.agents, s.total.answersRated, s.total.positiveShare, s.truncated], [[], [], 0, null, false]);
    assert.equal((await thread(convId)).messages.find((m) => m._id === m1).feedback, null);
    // The same value twice counts once.
    await thumb(a.v, m1, 'up');
    await thumb(a.v, m1, 'up');
    await thumb(a.v, m2, 'down');
    s = await summary();
    assert.deepEqual([s.total.answersRated, s.total.thumbsUp, s.total.thumbsDown, s.total.positiveShare], [2, 1, 1, 0.5]);

    // A user message, an unknown id, a malformed frame: refused, nothing changes.
    const msgs = (await thread(convId)).messages;
    const userMsg = msgs.find((m) => m.role === 'user')._id;
    assert.equal(msgs.find((m) => m.role === 'user').feedback, undefined);
    assert.deepEqual(await thumb(a.v, userMsg, 'up'), { type: 'error', message: 'message_id: no such answer in this conversation', frame: 'feedback' });
    assert.equal((await thumb(a.v, '0'.repeat(32), 'up')).type, 'error');
    assert.deepEqual(await thumb(a.v, 'nothex', 'up'), { type: 'error', message: "message_id: must be a message's id", frame: 'feedback' });
    assert.deepEqual(await thumb(a.v, m1, 'sideways'), { type: 'error', message: 'value: must be "up", "down" or null', frame: 'feedback' });

    // Another session cannot touch this one's answers, before or after it has a conversation.
    const b = await Visitor.open(p, w.widget_id);
    await b.next('session');
    assert.deepEqual(await thumb(b, m1, 'down'), { type: 'error', message: 'Please send a message first.', code: 'message_first', frame: 'feedback' });
    // So is a rating naming a conversation (another's) before anything is
    // stored for the socket: it was told its session had ended (reload).
    b.send({ type: 'rating', score: 2, conversation_id: convId });
    assert.deepEqual(await b.next(), { type: 'error', message: 'Please send a message first.', code: 'message_first', frame: 'rating' });
    await b.turn('my own question');
    assert.deepEqual(await thumb(b, m1, 'down'), { type: 'error', message: 'message_id: no such answer in this conversation', frame: 'feedback' });
    b.send({ type: 'rating', score: 1 });
    assert.deepEqual(await b.next(), { type: 'rating_saved', score: 1 });
    s = await summary();
    assert.deepEqual([s.total.thumbsUp, s.total.thumbsDown, s.total.ratings, s.total.averageRating], [1, 1, 1, 1]);
    assert.equal((await thread(convId)).messages.find((m) => m._id === m1).feedback, 'up');

    // The rating: 1-5, a comment of at most 1000 characters; the last one counts.
    a.v.send({ type: 'rating', score: 4, comment: 'Quick, thanks' });
    assert.deepEqual(await a.v.next(), { type: 'rating_saved', score: 4 });
    a.v.send({ type: 'rating', score: 5, comment: 'Even better, thanks' });
    assert.deepEqual(await a.v.next(), { type: 'rating_saved', score: 5 });
    for (const bad of [{ score: 0 }, { score: 6 }, { score: 4.5 }, { score: '5' }, {}]) {
      a.v.send({ type: 'rating', ...bad });
      assert.deepEqual(await a.v.next(), { type: 'error', message: 'score: must be 1 to 5', frame: 'rating' }, JSON.stringify(bad));
    }
    a.v.send({ type: 'rating', score: 3, comment: 'x'.repeat(1001) });
    assert.deepEqual(await a.v.next(), { type: 'error', message: 'comment: must be at most 1000 characters', frame: 'rating' });
    // A NUL inside a string: no value, no id, no comment (before, each
    // was read up to the NUL: "up\u0000x" saved "up", an id with a tail its id).
    assert.deepEqual(await thumb(a.v, m1, 'up\u0000x'), { type: 'error', message: 'value: must be "up", "down" or null', frame: 'feedback' });
    assert.deepEqual(await thumb(a.v, `${m1}\u0000x`, 'down'), { type: 'error', message: "message_id: must be a message's id", frame: 'feedback' });
    assert.equal((await thread(convId)).messages.find((m) => m._id === m1).feedback, 'up');
    a.v.send({ type: 'rating', score: 2, conversation_id: `${convId}\u0000x` });
    assert.deepEqual(await a.v.next(), { type: 'error', message: "conversation_id: must be a conversation's id", frame: 'rating' });
    a.v.send({ type: 'rating', score: 2, comment: 'fine\u0000' });
    assert.deepEqual(await a.v.next(), { type: 'error', message: 'comment: must not contain NUL characters', frame: 'rating' });
    a.v.send({ type: 'rating', score: 3, comment: 'é'.repeat(1000) });	// 1000 characters, 2000 bytes
    assert.deepEqual(await a.v.next(), { type: 'rating_saved', score: 3 });
    a.v.send({ type: 'rating', score: 5, comment: 'Even better, thanks' });
    assert.deepEqual(await a.v.next(), { type: 'rating_saved', score: 5 });
    const conv = (await thread(convId)).conversation;
    assert.equal(conv.rating.score, 5);
    assert.equal(conv.rating.comment, 'Even better, thanks');
    assert.ok(conv.rating.ratedAt > 0);
    s = await summary();
    assert.deepEqual([s.total.ratings, s.total.averageRating], [2, 3]);
    assert.deepEqual(s.widgets.map((x) => [x.widgetId, x.answersRated, x.ratings, x.averageRating]), [[w.id, 2, 2, 3]]);

    // A reload: the history carries each answer's feedback and the conversation.
    const v2 = await Visitor.open(p, w.widget_id, { token: a.session.session_token });
    await v2.next('session');
    const h = await v2.next('history');
    assert.equal(h.conversation_id, convId);
    assert.deepEqual(h.messages.filter((m) => m.role === 'assistant').map((m) => [m.id, m.feedback]), [[m1, 'up'], [m2, 'down']]);
    await v2.close();

    // The export: a feedback column on messages, rating and ratingComment on conversations.
    r = await p.admin(`/v1/admin/export?format=jsonl&rows=messages&conversation=${convId}`);
    assert.equal(r.status, 200, r.text);
    const rows = r.text.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(rows.map((x) => [x.id, x.feedback]).filter((x) => x[1] !== null), [[m1, 'up'], [m2, 'down']]);
    r = await p.admin(`/v1/admin/export?format=jsonl&rows=conversations&conversation=${convId}`);
    const crow = JSON.parse(r.text.trim());
    assert.deepEqual([crow.rating, crow.ratingComment], [5, 'Even better, thanks']);
    r = await p.admin(`/v1/admin/export?format=csv&rows=conversations&conversation=${convId}`);
    const [head, line] = r.text.trim().split('\r\n');
    assert.ok(head.endsWith(',rating,ratingComment,state,snoozedUntil,resolvedBy,resolvedAt'), head);
    assert.ok(line.endsWith(',5,"Even better, thanks",open,,,'), line);
    r = await p.admin(`/v1/admin/export?format=csv&rows=messages&conversation=${convId}`);
    assert.ok(r.text.split('\r\n')[0].endsWith(',name,feedback,sources,knowledge,arguments,durationMs,origin'));
    // An answer's thumb, then no source and no knowledge search (the default agent), no tool's origin.
    assert.ok(r.text.includes(`${m1},`) && /,up,,none,,,\r\n/.test(r.text) && /,down,,none,,,\r\n/.test(r.text));

    // /metrics: every thumb given (up 2, down 3: a change counts, a repeat
    // or a thumb taken back does not) and every rating saved (5).
    const metric = (text, name) => Number((text.match(new RegExp(`^${name} (\\d+)$`, 'm')) || [])[1]);
    let text = '';
    await waitFor(async () => {
      text = (await p.get('/metrics')).text;
      return metric(text, 'parley_ratings_total') === 5;
    }, 5000, 'the ratings counted');
    assert.equal(metric(text, 'parley_feedback_total\\{value="up"\\}'), 2);
    assert.equal(metric(text, 'parley_feedback_total\\{value="down"\\}'), 3);

    // Handed back by a person: the visitor is asked for a rating.
    assert.equal((await p.adminJson('POST', `/v1/admin/conversations/${convId}/handoff`, { state: 'human', name: 'Ada' })).status, 200);
    assert.equal((await a.v.next('handoff')).state, 'human');
    assert.equal(a.v.ratingRequests.length, 0);
    assert.equal((await p.adminJson('POST', `/v1/admin/conversations/${convId}/handoff`, { state: 'ai' })).status, 200);
    assert.equal((await a.v.next('handoff')).state, 'ai');
    await waitFor(() => a.v.ratingRequests.length === 1, 5000, 'rating_request');
    assert.deepEqual(a.v.ratingRequests, [{ type: 'rating_request' }]);
    await a.v.close();
    await b.close();

    // A deleted conversation's thumbs and rating leave the figures; the other's stay.
    assert.equal((await p.adminJson('DELETE', `/v1/admin/conversations/${convId}`)).status, 204);
    s = await summary();
    assert.deepEqual([s.total.answersRated, s.total.ratings, s.total.averageRating], [0, 1, 1]);
  });

  test('a widget without thumbs or ratings refuses them, and asks for no rating when handed back', async () => {
    const w = await createWidget(p, { feedback_enabled: false });
    widgets.set(w.widget_id, w.id);
    const a = await visitorWith(w.widget_id, 1);
    assert.deepEqual(await thumb(a.v, a.ids[0], 'up'), { type: 'error', message: 'feedback: this chat does not take feedback', frame: 'feedback' });
    a.v.send({ type: 'rating', score: 5 });
    assert.deepEqual(await a.v.next(), { type: 'error', message: 'rating: this chat does not take ratings', frame: 'rating' });
    for (const state of ['human', 'ai']) {
      assert.equal((await p.adminJson('POST', `/v1/admin/conversations/${a.conv._id}/handoff`, { state })).status, 200);
      assert.equal((await a.v.next('handoff')).state, state);
    }
    await a.v.turn('after the hand-back');	// a rating_request would have come before it
    assert.deepEqual(a.v.ratingRequests, []);
    assert.equal((await thread(a.conv._id)).messages.find((m) => m.role === 'assistant').feedback, null);
    await a.v.close();
  });

  test('ratings turned off while a socket is open: storaged refuses the next one', async () => {
    const w = await createWidget(p, { rating_enabled: true });
    widgets.set(w.widget_id, w.id);
    const a = await visitorWith(w.widget_id, 1);
    a.v.send({ type: 'rating', score: 3 });
    assert.deepEqual(await a.v.next(), { type: 'rating_saved', score: 3 });
    const r = await p.adminJson('PATCH', `/v1/admin/widgets/${w.widget_id}`, { rating_enabled: false });
    assert.equal(r.status, 200, r.text);
    a.v.send({ type: 'rating', score: 1 });
    assert.deepEqual(await a.v.next(), { type: 'error', message: 'rating: this chat does not take ratings', frame: 'rating' });
    assert.equal((await thread(a.conv._id)).conversation.rating.score, 3);
    await a.v.close();
  });

  test('ending the chat with new_conversation: the rating and a thumb go to the conversation just left, until the next message starts another', async () => {
    const w = await createWidget(p, { rating_enabled: true });
    widgets.set(w.widget_id, w.id);
    const a = await visitorWith(w.widget_id, 1);
    a.v.send({ type: 'new_conversation' });
    assert.deepEqual(await a.v.next(), { type: 'conversation_new', ended: a.conv._id });
    a.v.send({ type: 'rating', score: 2, comment: 'ended' });
    assert.deepEqual(await a.v.next(), { type: 'rating_saved', score: 2 });
    assert.deepEqual(await thumb(a.v, a.ids[0], 'up'), { type: 'feedback_saved', message_id: a.ids[0], value: 'up' });
    const old = await thread(a.conv._id);
    assert.deepEqual([old.conversation.rating.score, old.conversation.rating.comment], [2, 'ended']);
    assert.equal(old.messages.find((m) => m._id === a.ids[0]).feedback, 'up');
    // The next message starts another conversation: a rating is of that one now.
    await a.v.turn('a new question');
    a.v.send({ type: 'rating', score: 5 });
    assert.deepEqual(await a.v.next(), { type: 'rating_saved', score: 5 });
    assert.equal((await thread(a.conv._id)).conversation.rating.score, 2);
    await a.v.close();
  });

  // A rating is asked for only when a person hands the conversation back:
  // a new conversation leaving a person's one (this tab's new_conversation,
  // or another tab's, heard at this tab's next message) is no hand-back,
  // though the visitor hears handoff ai then (each sent a rating_request).
  test('no rating_request when a new conversation leaves one a person answers, here or in another tab', async () => {
    const w = await createWidget(p, { rating_enabled: true, handoff_enabled: true });
    widgets.set(w.widget_id, w.id);
    const a = await visitorWith(w.widget_id, 1);
    const b = await Visitor.open(p, w.widget_id, { token: a.session.session_token });
    await b.next('session');
    await b.next('history');
    assert.equal((await p.adminJson('POST', `/v1/admin/conversations/${a.conv._id}/handoff`, { state: 'human', name: 'Ada' })).status, 200);
    for (const v of [a.v, b]) assert.equal((await v.next('handoff')).state, 'human');
    b.send({ type: 'new_conversation' });
    assert.deepEqual(await b.next(), { type: 'handoff', state: 'ai' });
    assert.deepEqual(await b.next(), { type: 'conversation_new', ended: a.conv._id });
    // The other tab learns of the new conversation from its next message.
    a.v.send({ type: 'message', content: 'in the new one' });
    assert.deepEqual(await a.v.next(), { type: 'handoff', state: 'ai' });
    assert.equal((await a.v.next()).type, 'typing_start');
    let m;
    do m = await a.v.next(); while (m.type !== 'typing_stop');
    await sleep(200);
    assert.deepEqual([a.v.ratingRequests, b.ratingRequests], [[], []]);
    await Promise.all([a.v.close(), b.close()]);
  });

  // The widget's other tabs: one writes first in the new conversation, and
  // the tab that ended the old one resumes (a new socket, on the new one):
  // its rating names the conversation left (conversation_new's ended).
  test('a rating naming the conversation left, from a socket that resumed since: stored on that one, not the new one', async () => {
    const w = await createWidget(p, { rating_enabled: true });
    widgets.set(w.widget_id, w.id);
    const a = await visitorWith(w.widget_id, 1);
    const token = a.session.session_token;
    a.v.send({ type: 'new_conversation' });
    const { ended } = await a.v.next('conversation_new');
    assert.equal(ended, a.conv._id);
    const b = await Visitor.open(p, w.widget_id, { token });
    await b.next('session');
    assert.equal((await b.next('history')).conversation_id, null, 'on no conversation yet');
    await b.turn('in the new one');
    await a.v.close();
    const again = await Visitor.open(p, w.widget_id, { token });
    await again.next('session');
    await again.next('history');
    again.send({ type: 'rating', score: 4, comment: 'the old one', conversation_id: ended });
    assert.deepEqual(await again.next(), { type: 'rating_saved', score: 4 });
    const old = (await thread(ended)).conversation;
    assert.deepEqual([old.rating.score, old.rating.comment], [4, 'the old one']);
    const now = (await adminGet('/v1/admin/conversations?limit=200')).conversations
      .find((c) => c.widgetId === w.id && c._id !== ended);
    assert.equal((await thread(now._id)).conversation.rating, null, 'the new one is not rated');
    // Not the session's: refused as none known, nothing stored.
    again.send({ type: 'rating', score: 1, conversation_id: '0'.repeat(32) });
    assert.equal((await again.next()).type, 'error');
    again.send({ type: 'rating', score: 1, conversation_id: 'nope' });
    assert.deepEqual(await again.next(), { type: 'error', message: 'conversation_id: must be a conversation\'s id', frame: 'rating' });
    assert.equal((await thread(ended)).conversation.rating.score, 4);
    await b.close();
    await again.close();
  });

  // A widget moved to another agent: a conversation Alpha answered, thumbed
  // and rated after the move, is Alpha's in the summary, as in the reports
  // and the gaps (the agent that answered it), not Beta's, which answered
  // none of it; the next conversation is Beta's.
  test('a widget moved to another agent: an earlier conversation\'s thumbs and rating stay with the agent that answered it', async () => {
    const made = [];
    for (const name of ['Alpha', 'Beta']) {
      const r = await p.adminJson('POST', '/v1/admin/agents', { name });
      assert.equal(r.status, 201, r.text);
      made.push(r.json().id);
    }
    const [alpha, beta] = made;
    const w = await createWidget(p, { name: 'Moved', agent_id: alpha, rating_enabled: true });
    widgets.set(w.widget_id, w.id);
    const a = await visitorWith(w.widget_id, 1);
    const r = await p.adminJson('PATCH', `/v1/admin/widgets/${w.widget_id}`, { agent_id: beta });
    assert.equal(r.status, 200, r.text);
    assert.equal((await thumb(a.v, a.ids[0], 'down')).type, 'feedback_saved');
    a.v.send({ type: 'rating', score: 2 });
    assert.equal((await a.v.next()).type, 'rating_saved');
    const b = await visitorWith(w.widget_id, 1);
    assert.equal((await thumb(b.v, b.ids[0], 'up')).type, 'feedback_saved');
    const byAgent = (s) => Object.fromEntries(s.agents.filter((x) => made.includes(x.agentId))
      .map((x) => [x.name, [x.thumbsUp, x.thumbsDown, x.ratings, x.averageRating]]));
    assert.deepEqual(byAgent(await summary()), { Alpha: [0, 1, 1, 2], Beta: [1, 0, 0, null] });
    // The reports say the same of each agent.
    for (const [id, up, down] of [[alpha, 0, 1], [beta, 1, 0]]) {
      const rep = await adminGet(`/v1/admin/reports?agent_id=${id}`);
      assert.deepEqual([rep.totals.thumbs_up, rep.totals.thumbs_down], [up, down]);
    }
    await a.v.close();
    await b.v.close();
  });
});

// Thumbs and ratings count per client address as messages do (a count of
// their own under the messages' limit), not only per socket: 25 sockets of
// one address sending 30 ratings each (750) get at most the limit stored,
// the rest "Too much feedback. Please wait N seconds ..."; another address
// is still taken.
describe('feedback bounded per client address (TRUST_PROXY=127.0.0.1)', () => {
  const LIMIT = 40;
  let p;
  before(async () => {
    p = new Parley({ workers: 2, mock: { chunks: 1 },
      env: { RATE_LIMIT_MAX_REQUESTS: String(LIMIT), RATE_LIMIT_WINDOW_MS: '600000', TRUST_PROXY: '127.0.0.1' } });
    await p.start();
  });
  after(async () => { await p.stop(); assert.deepEqual(p.problems, []); });

  // A socket from address ip with a conversation of one answer.
  async function chattingFrom(wid, ip) {
    const v = await Visitor.open(p, wid, { headers: { 'X-Forwarded-For': ip } });
    await v.next('session');
    await v.turn('hello');
    return v;
  }

  test('750 ratings from one address: at most the limit stored; another address still rates', async () => {
    const w = await createWidget(p, { name: 'Rated', rating_enabled: true });
    const comment = 'c'.repeat(1000);
    let saved = 0, refused = 0, wait = 0;
    for (let s = 0; s < 25; s++) {
      const v = await chattingFrom(w.widget_id, '198.51.100.50');
      for (let i = 0; i < 30; i++) {
        v.send({ type: 'rating', score: 1 + (i % 5), comment });
        const m = await v.next();
        if (m.type === 'rating_saved') { saved++; continue; }
        assert.equal(m.type, 'error', JSON.stringify(m));
        const n = /^Too much feedback\. Please wait (\d+) seconds and try again\.$/.exec(m.message);
        assert.ok(n, m.message);
        wait = Number(n[1]);
        refused++;
      }
      await v.close();
    }
    assert.equal(saved + refused, 750);
    assert.ok(saved >= 1 && saved <= LIMIT, `${saved} ratings stored`);
    assert.ok(wait >= 1 && wait <= 600, `wait ${wait} s within the window`);

    const other = await chattingFrom(w.widget_id, '198.51.100.51');
    other.send({ type: 'rating', score: 4, comment: 'fine' });
    assert.deepEqual(await other.next(), { type: 'rating_saved', score: 4 });
    other.send({ type: 'feedback', message_id: '0'.repeat(32), value: 'up' });
    assert.equal((await other.next('error')).message, 'message_id: no such answer in this conversation');
    await other.close();
  });
});
