// Reports through the real daemons: after a scripted day of traffic on
// two widgets and two agents (turns, a handoff answered by a person and
// one nobody answers, thumbs up and down, a rating replaced, a person
// resolving, the assistant resolving by itself, a conversation deleted, a
// contact erased with its conversation), every figure of GET
// /v1/admin/reports (totals, each day, each hour, each agent) equals a
// recount from the stored conversations and their messages, read through
// the admin API; the CSV holds the same days; bad parameters are a 400
// naming the field; another organisation sees none of it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Parley, waitFor } from './lib/harness.mjs';
import { adminCall, checkerFor } from './lib/openapi.mjs';
import { Visitor } from './lib/wsclient.mjs';

const COUNTS = ['conversations', 'visitor_messages', 'answers', 'prompt_tokens', 'completion_tokens',
  'resolved_assistant', 'resolved_person', 'handed_off', 'abandoned', 'first_responses', 'first_response_ms',
  'resolutions', 'resolution_ms', 'thumbs_up', 'thumbs_down', 'ratings', 'rating_sum'];
const HOUR = 3600000;
const DAY = 24 * HOUR;

const zero = () => Object.fromEntries(COUNTS.map((k) => [k, 0]));
const utcDate = (ms) => new Date(ms).toISOString().slice(0, 10);

// The counts of one conversation (the admin API's, with its messages), as
// docs/api.md defines them.
function recount(c, msgs) {
  const n = zero();
  const by = (role) => msgs.filter((m) => m.role === role);
  const people = by('agent');
  n.conversations = 1;
  n.visitor_messages = by('user').length;
  n.answers = by('assistant').length;
  n.prompt_tokens = by('assistant').reduce((s, m) => s + m.promptTokens, 0);
  n.completion_tokens = by('assistant').reduce((s, m) => s + m.completionTokens, 0);
  n.resolved_assistant = Number(c.state === 'resolved' && c.resolved_by === 'assistant');
  n.resolved_person = Number(c.state === 'resolved' && c.resolved_by === 'person');
  n.handed_off = Number(c.handoff !== 'ai' || people.length > 0 || c.handoff_requested_at !== null);
  // A person's answer to the request: at or after it (a note before does not answer it).
  const answers = people.filter((m) => c.handoff_requested_at !== null && m.createdAt >= c.handoff_requested_at);
  n.abandoned = Number(c.handoff_requested_at !== null && answers.length === 0);
  if (answers.length > 0) {
    n.first_responses = 1;
    n.first_response_ms = answers[0].createdAt - c.handoff_requested_at;
  }
  if (n.resolved_person) {
    n.resolutions = 1;
    n.resolution_ms = c.resolved_at - c.createdAt;
  }
  n.thumbs_up = msgs.filter((m) => m.feedback === 'up').length;
  n.thumbs_down = msgs.filter((m) => m.feedback === 'down').length;
  n.ratings = c.rating ? 1 : 0;
  n.rating_sum = c.rating ? c.rating.score : 0;
  return n;
}

const add = (a, b) => { for (const k of COUNTS) a[k] += b[k]; return a; };
const pick = (o) => Object.fromEntries(COUNTS.map((k) => [k, o[k]]));

describe('reports', () => {
  let p;
  let api;
  const agentOfWidget = new Map(); // widget id -> agent id ("default")

  const admin = (method, path, body, headers) => adminCall(p, api, method, path, body, { headers });

  // A widget (its agent: a new one with resolve window s, or the default):
  // {w (public id), id (the widget's id)}.
  async function widget(name, window) {
    let agent = 'default';
    const body = { name, rating_enabled: true, handoff_enabled: true, contact_info_mode: 'optional', collect_email: true };
    if (window !== undefined) {
      const r = await admin('POST', '/v1/admin/agents', { name: `${name} agent`, resolve_after_seconds: window });
      assert.equal(r.status, 201, r.text);
      agent = r.json().id;
      body.agent_id = agent;
    }
    const r = await admin('POST', '/v1/admin/widgets', body);
    assert.equal(r.status, 201, r.text);
    agentOfWidget.set(r.json().id, agent);
    return { w: r.json().widget_id, id: r.json().id };
  }

  // A visitor's conversation of n turns: {v, ids (the answers'), conv (its id)}.
  async function visit(wid, n) {
    const before0 = new Set((await admin('GET', '/v1/admin/conversations?limit=200')).json().conversations.map((c) => c._id));
    const v = await Visitor.open(p, wid.w);
    await v.next('session');
    const ids = [];
    for (let i = 0; i < n; i++) ids.push((await v.turn(`question ${i} of ${n}`)).message.id);
    const conv = (await admin('GET', '/v1/admin/conversations?limit=200')).json().conversations
      .find((c) => !before0.has(c._id))._id;
    return { v, ids, conv };
  }

  async function thumb(v, id, value) {
    v.send({ type: 'feedback', message_id: id, value });
    assert.equal((await v.next('feedback_saved')).value, value);
  }

  before(async () => {
    p = new Parley({ workers: 2, mock: true, env: { RATE_LIMIT_MAX_REQUESTS: '0' } });
    await p.start();
    api = await checkerFor(p);
  });
  after(async () => {
    if (p) await p.stop();
  });

  test('after a day of traffic, every figure equals a recount of the stored conversations', async () => {
    const w1 = await widget('Shop');
    const w2 = await widget('Help', 1);

    // Turns, thumbs, a rating given then replaced.
    const a = await visit(w1, 3);
    await thumb(a.v, a.ids[0], 'up');
    await thumb(a.v, a.ids[1], 'down');
    await thumb(a.v, a.ids[2], 'up');
    await thumb(a.v, a.ids[2], null);
    a.v.send({ type: 'rating', score: 2 });
    await a.v.next('rating_saved');
    a.v.send({ type: 'rating', score: 5, comment: 'better' });
    await a.v.next('rating_saved');

    // A person asked for and answering, then resolving it.
    const b = await visit(w1, 1);
    b.v.send({ type: 'request_human' });
    await b.v.next('handoff');
    await new Promise((r) => setTimeout(r, 30));
    let r = await admin('POST', `/v1/admin/conversations/${b.conv}/messages`, { content: 'Hello, a person here.' });
    assert.equal(r.status, 201, r.text);
    r = await admin('PATCH', `/v1/admin/conversations/${b.conv}`, { state: 'resolved' });
    assert.equal(r.status, 200, r.text);

    // A person asked for, and nobody answers.
    const c = await visit(w2, 2);
    c.v.send({ type: 'request_human' });
    await c.v.next('handoff');

    // A person's note, the conversation handed back; then a person asked
    // for: answered (g) and not (h). The note answers no request.
    const early = [];
    for (const answered of [true, false]) {
      const x = await visit(w1, 1);
      r = await admin('POST', `/v1/admin/conversations/${x.conv}/messages`, { content: 'An early note.' });
      assert.equal(r.status, 201, r.text);
      r = await admin('POST', `/v1/admin/conversations/${x.conv}/handoff`, { state: 'ai' });
      assert.equal(r.status, 200, r.text);
      await new Promise((res) => setTimeout(res, 30));
      x.v.send({ type: 'request_human' });
      for (let m = await x.v.next(); m.type !== 'handoff' || m.state !== 'waiting_human'; m = await x.v.next())
        ;
      if (answered) {
        await new Promise((res) => setTimeout(res, 30));
        r = await admin('POST', `/v1/admin/conversations/${x.conv}/messages`, { content: 'Here to help.' });
        assert.equal(r.status, 201, r.text);
      }
      early.push(x);
    }

    // The assistant resolves this one by itself (a 1 s window).
    const d = await visit(w2, 1);
    await thumb(d.v, d.ids[0], 'down');

    // Deleted, and erased with its contact: they leave the counts.
    const e = await visit(w1, 2);
    await thumb(e.v, e.ids[0], 'up');
    r = await adminCall(p, api, 'DELETE', `/v1/admin/conversations/${e.conv}`, undefined, { raw: true });
    assert.equal(r.status, 204, r.text);
    const f = await visit(w2, 1);
    f.v.send({ type: 'contact_info', email: 'erase.me@example.com' });
    await f.v.next('contact_info_saved');
    const contact = (await admin('GET', `/v1/admin/conversations/${f.conv}`)).json().conversation.contactId;
    assert.ok(contact);
    r = await admin('DELETE', `/v1/admin/contacts/${contact}?erase=all`);
    assert.ok(r.status === 200 || r.status === 202, r.text);
    await waitFor(async () => (await admin('GET', `/v1/admin/conversations/${f.conv}`)).status === 404, 5000, 'the erasure');
    await waitFor(async () => (await admin('GET', `/v1/admin/conversations/${d.conv}`)).json().conversation.state === 'resolved',
      8000, 'the assistant\'s resolution');
    for (const x of [a, b, c, d, e, f, ...early]) await x.v.close();

    // The recount: every stored conversation and its messages.
    const convs = (await admin('GET', '/v1/admin/conversations?limit=200')).json().conversations;
    assert.equal(convs.length, 6);
    const total = zero();
    const days = new Map();
    const hours = new Array(24).fill(0);
    const agents = new Map();
    for (const conv of convs) {
      const g = (await admin('GET', `/v1/admin/conversations/${conv._id}`)).json();
      const n = recount(g.conversation, g.messages);
      add(total, n);
      const day = utcDate(conv.createdAt);
      days.set(day, add(days.get(day) || zero(), n));
      hours[new Date(conv.createdAt).getUTCHours()] += 1;
      const ag = agentOfWidget.get(conv.widgetId);
      agents.set(ag, add(agents.get(ag) || zero(), n));
    }
    // What the script made, so the recount itself is checked.
    assert.deepEqual([total.conversations, total.resolved_person, total.resolved_assistant, total.abandoned,
      total.first_responses, total.thumbs_up, total.thumbs_down, total.ratings, total.rating_sum],
    [6, 1, 1, 2, 2, 1, 2, 1, 5]);

    const rep = (await admin('GET', '/v1/admin/reports?tz=UTC')).json();
    assert.equal(rep.ready, true);
    assert.deepEqual(pick(rep.totals), total);
    assert.ok(Math.abs(rep.totals.assistant_resolution_rate - 1 / 6) < 1e-12, String(rep.totals.assistant_resolution_rate));
    assert.equal(rep.totals.rating_avg, 5);
    assert.equal(rep.days.length, 30);
    assert.equal(rep.to, utcDate(Date.now()));
    for (const row of rep.days) assert.deepEqual(pick(row), days.get(row.date) || zero(), row.date);
    assert.deepEqual(rep.hours, hours);
    assert.deepEqual(new Map(rep.agents.map((x) => [x.agent_id, pick(x)])), agents);

    // One widget, one agent.
    const one = (await admin('GET', `/v1/admin/reports?widget_id=${w2.id}`)).json();
    assert.equal(one.totals.conversations, 2);
    const byAgent = (await admin('GET', `/v1/admin/reports?agent_id=${agentOfWidget.get(w2.id)}`)).json();
    assert.deepEqual(pick(byAgent.totals), agents.get(agentOfWidget.get(w2.id)));
    const byDefault = (await admin('GET', '/v1/admin/reports?agent_id=default')).json();
    assert.deepEqual(pick(byDefault.totals), agents.get('default'));

    // The CSV: the same days.
    r = await p.request('GET', '/v1/admin/reports.csv?tz=UTC', { headers: { 'x-admin-api-key': p.adminKey } });
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'], /^text\/csv/);
    const lines = r.text.trim().split('\r\n');
    assert.equal(lines[0], ['date', ...COUNTS].join(','));
    assert.equal(lines.length, 31);
    const today = lines.find((l) => l.startsWith(`${utcDate(Date.now())},`));
    assert.deepEqual(today.split(',').slice(1).map(Number), COUNTS.map((k) => (days.get(utcDate(Date.now())) || zero())[k]));

    // Another organisation sees none of it.
    const o = (await admin('POST', '/v1/admin/organizations', { name: 'Other' })).json().id;
    const theirs = (await admin('GET', '/v1/admin/reports', undefined, { 'x-organization-id': o })).json();
    assert.equal(theirs.totals.conversations, 0);
  });

  test('to= near the epoch: the default range starts no earlier than a from= may', async () => {
    // 30 days before 1970-01-01 was 1969-12-03, a date from= refuses.
    for (const q of ['to=1970-01-01&tz=Pacific/Pago_Pago', 'to=1970-01-05']) {
      const r = await admin('GET', `/v1/admin/reports?${q}`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json().from, '1970-01-01', q);
    }
  });

  test('bad parameters: 400 naming the field', async () => {
    for (const [q, error] of [
      ['from=2026-13-01', 'from: must be a date, YYYY-MM-DD'],
      ['from=2026-02-30', 'from: must be a date, YYYY-MM-DD'],
      ['to=yesterday', 'to: must be a date, YYYY-MM-DD'],
      ['from=2026-01-02&to=2026-01-01', 'from: must be on or before to'],
      ['from=2026-+1-01', 'from: must be a date, YYYY-MM-DD'], // %d alone took a sign
      ['from=2026-01-%201', 'from: must be a date, YYYY-MM-DD'], // or a space
      ['to=2026-+1-+5', 'to: must be a date, YYYY-MM-DD'],
      ['from=2024-01-01&to=2026-01-01', 'from: must be at most 366 days before to'],
      ['tz=Mars/Olympus', 'tz: no such time zone'],
      ['tz=../etc', 'tz: must be an IANA time zone, like Europe/Paris'],
      ['widget_id=a%20b', 'widget_id: must be a widget\'s id'],
      ['tz=UTC%00', 'Invalid query parameters'],
      ['agent_id=bob', 'agent_id: must be an agent\'s id or default'],
    ]) {
      const r = await admin('GET', `/v1/admin/reports?${q}`);
      assert.equal(r.status, 400, q);
      assert.equal(r.json().error, error, q);
    }
  });
});
