// Starts the current code on a copy of a data directory the release before
// organisations made (tests/fixtures/datadir-v1/, described by
// tests/fixtures/datadir-v1.json; tests/fixtures/README.md) and checks that
// every record it holds is read: widgets, the agent, the conversations with
// their messages, counts and handoff states, the contact, the dashboard's
// password (its session, of no user, is refused: one more login), the
// visitors' WebSocket tokens and the HTTP API's session ids, which go on
// chatting in their conversations; all of it the default organisation's,
// none of it another's.
//
// The settings are the fixture's (its JSON, "env"): ADMIN_API_KEY
// fixture-v1-admin-key-0123456789abcdef, WIDGET_API_KEY
// fixture-v1-widget-key-0123456789abcdef, DASHBOARD_PASSWORD
// fixture-v1-dashboard-password, WIDGET_SESSION_IDLE_DAYS 3650. The agent's
// base_url is a second mock on the fixture's loopback address and port that
// requires the agent's stored key.
//
// Each kind of record is checked by one function (checkWidget, checkAgent,
// checkConversation, checkContact). The read-only tests run first, on the data
// as the fixture holds it; the chats come last.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { BIN, MockAI, Parley, REPO, sleep } from './lib/harness.mjs';
import { COOKIE, login } from './lib/dashboard.mjs';
import { Visitor } from './lib/wsclient.mjs';
import { mockReply } from './lib/chat.mjs';

const FIXTURE_DIR = path.join(REPO, 'tests/fixtures/datadir-v1');
const FX = JSON.parse(fs.readFileSync(path.join(REPO, 'tests/fixtures/datadir-v1.json'), 'utf8'));
const ACME_ORIGIN = FX.widgets.acme.allowed_origins[0];

// actual holds every field of expected, equal (fields added since the
// fixture was made are not looked at).
function assertFields(actual, expected, what) {
  assert.ok(actual && typeof actual === 'object', `${what}: an object, got ${JSON.stringify(actual)}`);
  for (const [k, v] of Object.entries(expected)) assert.deepEqual(actual[k], v, `${what}: ${k}`);
}

function json(r, status, what) {
  assert.equal(r.status, status, `${what}: ${r.status} ${r.text}`);
  return r.json();
}

function checkWidget(w, name) {
  assertFields(w, FX.widgets[name], `widget ${name}`);
}

function checkAgent(a, name) {
  assertFields(a, FX.agents[name], `agent ${name}`);
}

// c: a conversation as the list, the get or a contact shows it.
function checkConversation(c, name) {
  assertFields(c, FX.conversations[name].conversation, `conversation ${name}`);
}

function checkMessages(msgs, name) {
  const want = FX.conversations[name].messages;
  assert.equal(msgs.length, want.length, `conversation ${name}: ${want.length} messages`);
  want.forEach((m, i) => assertFields(msgs[i], m, `conversation ${name}, message ${i}`));
}

// A contact as the list shows it (without conversations) or the get (with them).
function checkContact(c, name) {
  const { conversations, ...fields } = FX.contacts[name];
  assertFields(c, fields, `contact ${name}`);
  // Issue 26's fields, which the fixture's records lack: not verified.
  assertFields(c, { verified: false, external_id: null }, `contact ${name}: issue 26`);
  if (c.conversations) {
    assert.deepEqual(c.conversations.map((x) => x._id), conversations.map((x) => x._id), `contact ${name}: its conversations`);
    conversations.forEach((x, i) => assertFields(c.conversations[i], x, `contact ${name}, conversation ${i}`));
  }
}

// The fixture's conversation names, and the one whose id is id.
const CONV_NAMES = Object.keys(FX.conversations);
const convName = (id) => CONV_NAMES.find((n) => FX.conversations[n].id === id);

// The fixture's history of a conversation as a WebSocket resume shows it.
function wsHistory(name) {
  return FX.conversations[name].messages.filter((m) => m.status !== 'failed')
    .map((m) => {
      const h = m.name ? { role: m.role, content: m.content, name: m.name } : { role: m.role, content: m.content };
      // An assistant's reply says whether it was whole (a cut one shows as stopped).
      return m.role === 'assistant' ? { ...h, status: m.status } : h;
    });
}

function parleyctl(p, args) {
  return new Promise((resolve, reject) => {
    execFile(path.join(BIN, 'parleyctl'), ['-S', p.sockPath, ...args], { timeout: 30000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`parleyctl ${args.join(' ')}: ${err.message} ${stderr}`));
      else resolve(stdout);
    });
  });
}

// The agent's upstream: a mock on the fixture's address and port that
// requires the agent's key. Another run of this test may hold the port for
// a few seconds: tried again for at most 60 s.
async function startAgentUpstream() {
  const { host, port, apiKey } = FX.agentUpstream;
  const deadline = Date.now() + 60000;
  for (;;) {
    const m = new MockAI({ host, port, apiKey });
    try {
      await m.start();
      return m;
    } catch (e) {
      fs.rmSync(m.tmp, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`the agent's upstream on ${host}:${port}: ${e.message}`);
    }
    await sleep(500);
  }
}

describe('a data directory made by the release before organisations (tests/fixtures/datadir-v1)', { timeout: 180000 }, () => {
  let p;
  let upstream;

  before(async () => {
    assert.ok(fs.existsSync(path.join(FIXTURE_DIR, 'data.mdb')), 'the fixture is there');
    upstream = await startAgentUpstream();
    p = new Parley({
      workers: 2, mock: true, dataFrom: FIXTURE_DIR,
      adminKey: FX.env.ADMIN_API_KEY, widgetKey: FX.env.WIDGET_API_KEY,
      env: { DASHBOARD_PASSWORD: FX.env.DASHBOARD_PASSWORD, WIDGET_SESSION_IDLE_DAYS: FX.env.WIDGET_SESSION_IDLE_DAYS,
        PARLEY_MODEL_ALLOW_PRIVATE: 'on' },
    });
    await p.start();
  });

  after(async () => {
    // The upstream stopped even when stop() throws: left running, it
    // kept the file's process alive.
    try {
      if (p) await p.stop();
    } finally {
      if (upstream) await upstream.stop();
    }
  });

  test('storaged counts every record as the fixture has them (parleyctl stats)', async () => {
    const st = JSON.parse(await parleyctl(p, ['stats', '--json']));
    assert.ok(FX.stats.conversations > 0 && FX.stats.ownerSessions > 0 && FX.stats.visitorSessions > 0);
    assertFields(st, FX.stats, 'stats');
  });

  test('the data is brought to this build\'s schema version: an older storaged refuses it from then on', () => {
    const log = fs.readFileSync(p.logFiles.storaged, 'utf8');
    assert.match(log, /data of schema version 1 brought to version 2 \(an older storaged refuses it now\)/);
  });

  test('widgets: listed and read with every field; public config; the disabled one stays off', async () => {
    const list = json(await p.admin('/v1/admin/widgets'), 200, 'list widgets').widgets;
    assert.deepEqual(list.map((w) => w.id).sort(), Object.values(FX.widgets).map((w) => w.id).sort());
    for (const [name, want] of Object.entries(FX.widgets)) {
      checkWidget(list.find((w) => w.id === want.id), name);
      checkWidget(json(await p.admin(`/v1/admin/widgets/${want.widget_id}`), 200, `get widget ${name}`), name);
    }
    // Issue 26's settings, which the fixture's records lack, read their
    // defaults: thumbs on and a 10 s proactive delay, the rest off or empty.
    for (const w of list) {
      assertFields(w, {
        starter_questions: [], proactive_message: '', proactive_delay_s: 10, proactive_path: '', language: '',
        identity_required: false, identity_secret_set: false, unread_sound: false, unread_title: false,
        feedback_enabled: true, rating_enabled: false,
      }, `widget ${w.id}: issue 26 defaults`);
    }
    const cfg = json(await p.get(`/api/widget/${FX.widgets.acme.widget_id}/config`, { headers: { Origin: ACME_ORIGIN } }), 200, 'acme config');
    for (const k of ['name', 'greeting', 'primary_color', 'text_color', 'position', 'contact_info_mode', 'collect_name', 'collect_email', 'collect_phone']) {
      assert.deepEqual(cfg[k], FX.widgets.acme[k], `acme config: ${k}`);
    }
    // Its allowed origins are still enforced; the disabled widget answers 404.
    assert.equal((await p.get(`/api/widget/${FX.widgets.acme.widget_id}/config`, { headers: { Origin: 'https://other.example' } })).status, 403);
    assert.equal(FX.widgets.retired.enabled, false);
    assert.equal((await p.get(`/api/widget/${FX.widgets.retired.widget_id}/config`)).status, 404);
    await assert.rejects(Visitor.open(p, FX.widgets.retired.widget_id), (e) => e.status === 404);
  });

  test('the agent: listed and read, its key kept, still the widget\'s', async () => {
    const list = json(await p.admin('/v1/admin/agents'), 200, 'list agents').agents;
    assert.deepEqual(list.filter((a) => !a.is_default).map((a) => a.id).sort(), Object.values(FX.agents).map((a) => a.id).sort());
    for (const [name, want] of Object.entries(FX.agents)) {
      assert.equal(want.api_key_set, true);
      checkAgent(list.find((a) => a.id === want.id), name);
      checkAgent(json(await p.admin(`/v1/admin/agents/${want.id}`), 200, `get agent ${name}`), name);
    }
    assert.equal(FX.widgets.acme.agent_id, FX.agents.acme.id);
  });

  test('conversations: listed, each read with its messages, count and handoff state', async () => {
    const r = json(await p.admin('/v1/admin/conversations?limit=100'), 200, 'list conversations');
    assert.equal(r.total, CONV_NAMES.length);
    assert.deepEqual(r.conversations.map((c) => convName(c._id)).sort(), [...CONV_NAMES].sort());
    for (const c of r.conversations) checkConversation(c, convName(c._id));
    // Newest activity first, as they were (the fixture's times differ).
    assert.equal(new Set(CONV_NAMES.map((n) => FX.conversations[n].conversation.updatedAt)).size, CONV_NAMES.length);
    const byActivity = [...CONV_NAMES].sort((a, b) => FX.conversations[b].conversation.updatedAt - FX.conversations[a].conversation.updatedAt);
    assert.deepEqual(r.conversations.map((c) => convName(c._id)), byActivity);
    for (const name of CONV_NAMES) {
      const d = json(await p.admin(`/v1/admin/conversations/${FX.conversations[name].id}`), 200, `get ${name}`);
      checkConversation(d.conversation, name);
      checkMessages(d.messages, name);
    }
    // The lists read through an index: the handoff queue and one widget's.
    const open = json(await p.admin('/v1/admin/conversations?handoff=open'), 200, 'handoff=open').conversations;
    const wantOpen = CONV_NAMES.filter((n) => FX.conversations[n].conversation.handoff !== 'ai');
    assert.ok(wantOpen.length >= 2);
    assert.deepEqual(open.map((c) => convName(c._id)).sort(), wantOpen.sort());
    for (const [name, w] of Object.entries(FX.widgets)) {
      const mine = json(await p.admin(`/v1/admin/conversations?widget=${w.id}`), 200, `widget ${name}`);
      const want = CONV_NAMES.filter((n) => FX.conversations[n].widget === name);
      assert.equal(mine.total, want.length, `widget ${name}: total`);
      assert.deepEqual(mine.conversations.map((c) => convName(c._id)).sort(), want.sort(), `widget ${name}`);
    }
  });

  test('contacts: listed and read with their conversations', async () => {
    const r = json(await p.admin('/v1/admin/contacts'), 200, 'list contacts');
    assert.deepEqual(r.contacts.map((c) => c.id).sort(), Object.values(FX.contacts).map((c) => c.id).sort());
    for (const [name, want] of Object.entries(FX.contacts)) {
      checkContact(r.contacts.find((c) => c.id === want.id), name);
      checkContact(json(await p.admin(`/v1/admin/contacts/${want.id}`), 200, `get contact ${name}`), name);
      assert.ok(want.conversations.length > 0);
    }
  });

  test('the dashboard session made before people had accounts is refused: one more login', async () => {
    // Its record is counted by the stats test; it names no user, so it opens nothing.
    const r = await p.get('/dashboard/api/session', { headers: { Cookie: `${COOKIE}=${FX.dashboard.cookie}` } });
    assert.equal(r.status, 401, `the session of no user: ${r.status} ${r.text}`);
  });

  test('everything is the default organisation\'s; another organisation sees none of it', async () => {
    for (const w of json(await p.admin('/v1/admin/widgets'), 200, 'widgets').widgets) assert.equal(w.organization_id, 'default');
    for (const a of json(await p.admin('/v1/admin/agents'), 200, 'agents').agents) {
      assert.equal(a.organization_id, a.is_default ? null : 'default', `agent ${a.id}`);
    }
    const o = json(await p.adminJson('POST', '/v1/admin/organizations', { name: 'After the upgrade' }), 201, 'new org');
    const h = { headers: { 'x-organization-id': o.id } };
    assert.deepEqual(json(await p.admin('/v1/admin/widgets', h), 200, 'its widgets').widgets, []);
    assert.deepEqual(json(await p.admin('/v1/admin/contacts', h), 200, 'its contacts').contacts, []);
    const convs = json(await p.admin('/v1/admin/conversations', h), 200, 'its conversations');
    assert.equal(convs.total, 0);
    for (const name of CONV_NAMES) {
      assert.equal((await p.admin(`/v1/admin/conversations/${FX.conversations[name].id}`, h)).status, 404, name);
    }
    assert.equal(json(await p.admin('/v1/admin/conversations?limit=100'), 200, 'default').total, CONV_NAMES.length);
  });

  test('the old DASHBOARD_PASSWORD logs in and reads the conversations', async () => {
    const s = await login(p, FX.dashboard.password);
    const r = json(await s.get('/v1/admin/conversations?limit=100'), 200, 'dashboard list');
    assert.deepEqual(r.conversations.map((c) => convName(c._id)).sort(), [...CONV_NAMES].sort());
    const name = 'http2';
    const d = json(await s.get(`/v1/admin/conversations/${FX.conversations[name].id}`), 200, `dashboard get ${name}`);
    checkConversation(d.conversation, name);
    checkMessages(d.messages, name);
  });

  // From here on the tests write.

  test('a visitor\'s WebSocket token resumes its conversation (history shown) and chats on through the agent', async () => {
    const vis = FX.visitors.acme1;
    const name = vis.conversation;
    const before = FX.conversations[name].messages.length;
    assert.ok(before > 0);
    const said = 'Still there after the upgrade?';
    const v = await Visitor.open(p, FX.widgets[vis.widget].widget_id, { origin: ACME_ORIGIN });
    try {
      await v.next('session');
      v.send({ type: 'resume', token: vis.token });
      const s = await v.next('session');
      assert.equal(s.resumed, true, JSON.stringify(s));
      assert.equal(s.session_token, vis.token);
      const h = await v.next('history');
      assert.deepEqual(h.messages.map(({ id, feedback, ...m }) => m), wsHistory(name));
      await upstream.clearRequests();
      const { message } = await v.turn(said);
      assert.equal(message.content, mockReply(said));
    } finally {
      await v.close();
    }
    // The agent's upstream answered, with its key, model and prompt, and the history.
    const [req] = await upstream.completions();
    assert.ok(req, 'the agent\'s upstream was called');
    assert.equal(req.headers.authorization, `Bearer ${FX.agentUpstream.apiKey}`);
    assert.equal(req.body.model, FX.agents.acme.model);
    assert.deepEqual(req.body.messages[0], { role: 'system', content: FX.agents.acme.system_prompt });
    assert.deepEqual(req.body.messages.slice(1).map((m) => m.content), [...wsHistory(name).map((m) => m.content), said]);
    const d = json(await p.admin(`/v1/admin/conversations/${FX.conversations[name].id}`), 200, `get ${name}`);
    assert.equal(d.conversation.messageCount, before + 2);
    checkMessages(d.messages.slice(0, before), name);

    // The other visitor: their contact details and waiting state come back.
    const vis2 = FX.visitors.acme2;
    const v2 = await Visitor.open(p, FX.widgets[vis2.widget].widget_id, { origin: ACME_ORIGIN });
    try {
      await v2.next('session');
      v2.send({ type: 'resume', token: vis2.token });
      const s2 = await v2.next('session');
      assert.equal(s2.resumed, true, JSON.stringify(s2));
      assert.equal(s2.contact_info_submitted, true);
      assert.equal(s2.handoff, FX.conversations[vis2.conversation].conversation.handoff);
      assert.deepEqual((await v2.next('history')).messages.map(({ id, feedback, ...m }) => m), wsHistory(vis2.conversation));
    } finally {
      await v2.close();
    }
  });

  test('POST /v1/chat with an old sessionId continues its conversation (and a human\'s stays human)', async () => {
    const chat = (sessionId, message) => p.request('POST', '/v1/chat', {
      headers: { 'Content-Type': 'application/json', 'x-api-key': FX.env.WIDGET_API_KEY },
      body: JSON.stringify({ sessionId, message }), timeout: 15000,
    });
    for (const name of ['http1', 'http2']) {
      const c = FX.conversations[name];
      const hist = json(await p.get(`/v1/chat/history?sessionId=${c.sessionId}`, { headers: { 'x-api-key': FX.env.WIDGET_API_KEY } }), 200, `history ${name}`);
      assert.equal(hist.conversationId, c.id);
      assert.deepEqual(hist.messages.map((m) => [m.role, m.content]), c.messages.map((m) => [m.role, m.content]));
      const said = `Back after the upgrade (${name})`;
      const r = json(await chat(c.sessionId, said), 200, `chat ${name}`);
      assert.equal(r.conversationId, c.id);
      if (c.conversation.handoff === 'human') assert.deepEqual(r, { conversationId: c.id, message: '', handoff: 'human' });
      else assert.equal(r.message, mockReply(said));
      const d = json(await p.admin(`/v1/admin/conversations/${c.id}`), 200, `get ${name}`);
      assert.equal(d.conversation.messageCount, c.messages.length + (r.message ? 2 : 1));
      checkMessages(d.messages.slice(0, c.messages.length), name);
    }
  });
});
