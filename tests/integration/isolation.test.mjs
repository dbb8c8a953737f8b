// Organisations see only their own (issue 22, "Must show"): organisations
// A and B each get an agent, a widget using it, a visitor's conversation
// through that widget (the real WebSocket chat and the mock model) and a
// contact. Then, for EVERY admin route of workerd/router.c's routes[]
// (parsed here, as lib/storage.mjs parses the message table, so a route
// added without scoping fails this test; the install key's organisation
// routes, R_INSTALL, are not an organisation's), each principal of B
// given A's ids gets 404, and every answer it gets (lists, export, search,
// the event stream) holds none of A's ids or distinctive strings. A
// visitor token of A's widget used on B's widget does not open A's
// session.
//
// The principals of B: the install key acting in B, an owner key of B and
// an owner of B logged in (each a function giving request headers).
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { execFile } from 'node:child_process';

import { BIN, Parley } from './lib/harness.mjs';
import { mockReply } from './lib/chat.mjs';
import { addKey, addMember } from './lib/people.mjs';
import { adminRoutes } from './lib/routes.mjs';
import { Visitor } from './lib/wsclient.mjs';


const ORG_ROUTES = adminRoutes().filter((r) => !r.install && r.method !== 'OPTIONS' && r.method !== 'HEAD');

// A valid body for the routes that take one (so the answer is about the id, not the body).
function bodyFor(method, p) {
  if (method === 'GET' || method === 'DELETE') return undefined;
  if (p.endsWith('/handoff')) return { state: 'human' };
  if (p.endsWith('/messages')) return { content: 'B writes here', name: 'Bea' };
  if (p.endsWith('/attachments')) return { name: 'b.txt', size: 13 };
  if (p.endsWith('/typing')) return { typing: true };
  if (p.endsWith('/assign')) return { user_id: null };
  if (method === 'PATCH' && p === '/v1/admin/conversations/:id') return { state: 'resolved' };
  if (p.startsWith('/v1/admin/users/')) return { role: 'agent' };
  if (p.endsWith('/reset-id')) return undefined;
  if (p.startsWith('/v1/admin/agents')) return { name: 'B agent' };
  if (p.startsWith('/v1/admin/webhooks/')) return { enabled: false };
  if (p.startsWith('/v1/admin/canned-replies')) return { shortcut: 'b-thing', text: 'B writes here' };
  if (p === '/v1/admin/knowledge/search') return { query: 'zebra kettle answer', k: 50 };
  if (p === '/v1/admin/knowledge/sources') return { type: 'qa', question: 'B question?', answer: 'B writes here' };
  if (p === '/v1/admin/actions') return ACTION('b_thing');
  if (p.startsWith('/v1/admin/actions/')) return { description: 'B writes here' };
  return { name: 'B thing' };
}

// An action of name (its API a public literal: never called here).
function ACTION(name) {
  return { name, description: 'Looks an order up.', url: 'https://93.184.216.34/orders/{{id}}',
    parameters: { type: 'object', properties: { id: { type: 'string' } } } };
}

describe('organisations are isolated, route by route', () => {
  let p;
  const org = {};

  async function call(method, pathname, headers, body) {
    const h = { ...headers };
    // A file source's file is its bytes, not JSON; so is an upload's piece.
    if (method === 'PUT' && pathname.endsWith('/file')) {
      h['content-type'] = 'text/plain';
      return p.request(method, pathname, { headers: h, body: 'B writes here' });
    }
    if (method === 'PUT' && pathname.includes('/attachments/')) {
      h['content-range'] = 'bytes 0-12/13';
      return p.request(method, pathname, { headers: h, body: 'B writes here' });
    }
    if (body !== undefined) h['content-type'] = 'application/json';
    return p.request(method, pathname, { headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  }
  const installIn = (id) => () => ({ 'x-admin-api-key': p.adminKey, 'x-organization-id': id });

  // Everything of one organisation, made through the API and a visitor.
  async function populate(tag) {
    const o = { tag, secret: `SECRET-${tag}-${Date.now().toString(36)}` };
    let r = await call('POST', '/v1/admin/organizations', { 'x-admin-api-key': p.adminKey }, { name: `Org ${tag}` });
    assert.equal(r.status, 201, r.text);
    o.id = r.json().id;
    const h = installIn(o.id)();
    r = await call('POST', '/v1/admin/agents', h, { name: `Agent ${o.secret}` });
    assert.equal(r.status, 201, r.text);
    o.agent = r.json();
    assert.equal(o.agent.organization_id, o.id);
    r = await call('POST', '/v1/admin/widgets', h, {
      name: `Widget ${o.secret}`, agent_id: o.agent.id, contact_info_mode: 'optional', collect_email: true,
    });
    assert.equal(r.status, 201, r.text);
    o.widget = r.json();
    assert.equal(o.widget.organization_id, o.id);
    const v = await Visitor.open(p, o.widget.widget_id);
    o.token = (await v.next('session')).session_token;
    o.said = `hello ${o.secret}`;
    const { message } = await v.turn(o.said);
    assert.equal(message.content, mockReply(o.said));
    o.email = `${o.secret.toLowerCase()}@example.com`;
    v.send({ type: 'contact_info', email: o.email });
    await v.next('contact_info_saved');
    await v.close();
    r = await call('GET', '/v1/admin/conversations?limit=200', h);
    assert.equal(r.status, 200, r.text);
    const convs = r.json().conversations;
    assert.equal(convs.length, 1, 'a new organisation has its one conversation');
    o.conv = convs[0]._id;
    // A person's reply with a file of its own.
    r = await call('POST', `/v1/admin/conversations/${o.conv}/attachments`, h, { name: `notes-${o.secret}.txt`, size: 13 });
    assert.equal(r.status, 201, r.text);
    o.att = r.json().id;
    r = await p.request('PUT', `/v1/admin/conversations/${o.conv}/attachments/${o.att}`,
      { headers: { ...h, 'content-range': 'bytes 0-12/13' }, body: 'A writes here' });
    assert.equal(r.status, 200, r.text);
    r = await call('POST', `/v1/admin/conversations/${o.conv}/messages`, h, { content: '', attachments: [o.att], name: 'Ann' });
    assert.equal(r.status, 201, r.text);
    r = await call('GET', '/v1/admin/contacts?limit=200', h);
    assert.equal(r.status, 200, r.text);
    const contacts = r.json().contacts;
    assert.equal(contacts.length, 1);
    o.contact = contacts[0].id;
    o.key = await addKey(p, { org: o.id, role: 'owner' });
    r = await call('POST', '/v1/admin/webhooks', h, { url: `https://93.184.216.34/${o.secret}`, events: ['message.created'],
      enabled: false });   // never delivered: tests reach only loopback
    assert.equal(r.status, 201, r.text);
    o.hook = r.json();
    o.member = await addMember(p, { org: o.id, role: 'owner', name: `Member ${o.secret}` });
    // A canned reply with a file of its own.
    r = await call('POST', '/v1/admin/canned-replies/attachments', h, { name: `canned-${o.secret}.txt`, size: 13 });
    assert.equal(r.status, 201, r.text);
    o.catt = r.json().id;
    r = await p.request('PUT', `/v1/admin/canned-replies/attachments/${o.catt}`,
      { headers: { ...h, 'content-range': 'bytes 0-12/13' }, body: 'A writes here' });
    assert.equal(r.status, 200, r.text);
    r = await call('POST', '/v1/admin/canned-replies', h, { shortcut: `hi-${tag.toLowerCase()}`, text: `Canned ${o.secret}`,
      attachments: [o.catt] });
    assert.equal(r.status, 201, r.text);
    o.canned = r.json();
    assert.equal((await call('GET', `/v1/admin/canned-replies/attachments/${o.catt}`, h)).status, 200);
    r = await call('POST', '/v1/admin/knowledge/sources', h, { type: 'qa', question: `Kettle ${o.secret}?`,
      answer: `The zebra kettle answer of ${o.secret}.` });
    assert.equal(r.status, 201, r.text);
    o.source = r.json();
    r = await call('POST', '/v1/admin/actions', h, ACTION(`order_${o.secret}`));
    assert.equal(r.status, 201, r.text);
    o.action = r.json();
    o.inviteEmail = `invitee-${o.secret.toLowerCase()}@example.com`;
    r = await call('POST', '/v1/admin/users', h, { email: o.inviteEmail, role: 'agent' });
    assert.equal(r.status, 201, r.text);
    r = await call('GET', '/v1/admin/invitations', h);
    assert.equal(r.status, 200, r.text);
    o.invitation = r.json().invitations.find((x) => x.email === o.inviteEmail).id;
    return o;
  }

  // What of o must never be in another organisation's answers.
  const marks = (o) => [o.id, o.secret, o.conv, o.contact, o.widget.id, o.widget.widget_id, o.agent.id, o.token,
    o.key.id, o.key.key, o.member.id, o.member.email, o.hook.id, o.hook.secret, o.canned.id,
    o.invitation, o.inviteEmail, o.source.id, o.action.id, o.att, o.catt];
  function holdsNothingOf(text, o, what) {
    for (const m of marks(o)) assert.ok(!text.includes(m), `${what} holds ${m} of organisation ${o.tag}`);
  }

  // The id a route's parameter takes, from o.
  function idFor(o, route) {
    if (route.startsWith('/v1/admin/conversations/')) return o.conv;
    if (route.startsWith('/v1/admin/contacts/')) return o.contact;
    if (route.startsWith('/v1/admin/widgets/')) return o.widget.widget_id;
    if (route.startsWith('/v1/admin/agents/')) return o.agent.id;
    if (route.startsWith('/v1/admin/users/')) return o.member.id;
    if (route.startsWith('/v1/admin/api-keys/')) return o.key.id;
    if (route.startsWith('/v1/admin/webhooks/')) return o.hook.id;
    if (route.startsWith('/v1/admin/canned-replies/attachments/')) return o.catt;
    if (route.startsWith('/v1/admin/canned-replies/')) return o.canned.id;
    if (route.startsWith('/v1/admin/invitations/')) return o.invitation;
    if (route.startsWith('/v1/admin/knowledge/sources/')) return o.source.id;
    if (route.startsWith('/v1/admin/actions/')) return o.action.id;
    throw new Error(`isolation.test.mjs: no id of an organisation for ${route}: say which here`);
  }

  before(async () => {
    p = new Parley({ workers: 2, mock: { chunks: 2, delayMs: 1 }, env: { RATE_LIMIT_MAX_REQUESTS: '0' } });
    await p.start();
    org.A = await populate('A');
    org.B = await populate('B');
  });
  after(async () => {
    if (p) await p.stop();
  });

  // Each principal of B: its name and its request headers.
  const principalsOfB = () => [
    { name: 'the install key in B', headers: installIn(org.B.id) },
    { name: "an owner key of B", headers: () => ({ 'x-admin-api-key': org.B.key.key }) },
    { name: 'an owner of B, logged in', headers: () => org.B.member.session.headers() },
  ];

  test('the route table has admin routes to walk', () => {
    assert.ok(ORG_ROUTES.length >= 15, `parsed ${ORG_ROUTES.length} routes`);
    assert.ok(ORG_ROUTES.some((r) => r.path === '/v1/admin/conversations/:id'));
  });

  test("every admin route: B given A's ids gets 404; B's answers hold nothing of A", async () => {
    const a = org.A;
    for (const who of principalsOfB()) {
      for (const route of ORG_ROUTES) {
        const { method } = route;
        const what = `${who.name}: ${method} ${route.path}`;
        if (route.path === '/v1/admin/events') continue; // a stream: its own test below
        if (route.path.includes(':')) {
          const url = route.path.replace(/:\w+/, encodeURIComponent(idFor(a, route.path))).replace(':att', a.att);
          const r = await call(method, url, who.headers(), bodyFor(method, route.path));
          assert.equal(r.status, 404, `${what}: ${r.status} ${r.text}`);
          holdsNothingOf(r.text, a, what);
        } else {
          const r = await call(method, route.path, who.headers(), bodyFor(method, route.path));
          assert.ok(r.status < 500, `${what}: ${r.status} ${r.text}`);
          holdsNothingOf(r.text, a, what);
        }
      }
      // A still has everything.
      const h = installIn(a.id)();
      assert.equal((await call('GET', `/v1/admin/conversations/${a.conv}`, h)).status, 200);
      assert.equal((await call('GET', `/v1/admin/widgets/${a.widget.widget_id}`, h)).status, 200);
      assert.equal((await call('GET', `/v1/admin/agents/${a.agent.id}`, h)).status, 200);
      assert.equal((await call('GET', `/v1/admin/contacts/${a.contact}`, h)).status, 200);
      assert.equal((await call('GET', `/v1/admin/knowledge/sources/${a.source.id}`, h)).status, 200);
      // B's search finds B's own answer: the check looks at a real one.
      const s = await call('POST', '/v1/admin/knowledge/search', who.headers(), { query: 'zebra kettle answer', k: 50 });
      assert.ok(s.json().results.some((x) => x.source_id === org.B.source.id), s.text);
    }
  });

  test("a route of two ids: B's own conversation with A's attachment is 404, A's file untouched", async () => {
    const a = org.A;
    for (const who of principalsOfB()) {
      const url = `/v1/admin/conversations/${org.B.conv}/attachments/${a.att}`;
      for (const method of ['GET', 'PUT', 'DELETE']) {
        const r = await call(method, url, who.headers());
        assert.equal(r.status, 404, `${who.name}: ${method} ${url}: ${r.status} ${r.text}`);
        holdsNothingOf(r.text, a, `${who.name}: ${method} ${url}`);
      }
    }
    const r = await call('GET', `/v1/admin/conversations/${a.conv}/attachments/${a.att}`, installIn(a.id)());
    assert.equal(r.status, 200, r.text);
    assert.equal(r.text, 'A writes here');
  });

  test("B's search, export and widget filter hold nothing of A", async () => {
    const a = org.A;
    for (const who of principalsOfB()) {
      for (const url of [
        `/v1/admin/conversations?q=${encodeURIComponent(a.secret)}`,
        `/v1/admin/conversations?widget=${a.widget.id}`,
        `/v1/admin/conversations?widget=${a.widget.widget_id}`,
        `/v1/admin/reports?widget_id=${a.widget.widget_id}`,
        `/v1/admin/knowledge-gaps?widget_id=${a.widget.widget_id}`,
        '/v1/admin/conversations?handoff=open',
        '/v1/admin/export?format=jsonl&rows=messages',
        '/v1/admin/export?format=csv&rows=conversations',
        `/v1/admin/export?format=jsonl&rows=messages&conversation=${a.conv}`,
        `/v1/admin/export?format=jsonl&rows=messages&widget=${a.widget.id}`,
        `/v1/admin/export?format=jsonl&rows=messages&widget=${a.widget.widget_id}`,
      ]) {
        const r = await call('GET', url, who.headers());
        assert.ok(r.status === 200 || r.status === 404, `${who.name}: ${url}: ${r.status}`);
        holdsNothingOf(r.text, a, `${who.name}: ${url}`);
      }
      // B's own are there: the check looks at real answers.
      const r = await call('GET', `/v1/admin/conversations?q=${encodeURIComponent(org.B.secret)}`, who.headers());
      assert.equal(r.json().conversations.length, 1);
      assert.equal(r.json().total, 1);
    }
  });

  // Owners copy the public id (the widgets' page shows it): the filters
  // take it as they take the internal one, within the organisation alone.
  test("A's widget filters take its public id as its internal one", async () => {
    const a = org.A;
    const h = installIn(a.id)();
    const ids = async (url) => {
      const r = await call('GET', url, h);
      assert.equal(r.status, 200, `${url}: ${r.text}`);
      return r.json().conversations.map((c) => c._id);
    };
    assert.deepEqual(await ids(`/v1/admin/conversations?widget=${a.widget.widget_id}`), [a.conv]);
    assert.deepEqual(await ids(`/v1/admin/conversations?widget=${a.widget.id}`), [a.conv]);
    assert.deepEqual(await ids(`/v1/admin/conversations?widget=wid_${'0'.repeat(32)}`), []);
    const exp = await call('GET', `/v1/admin/export?format=jsonl&rows=conversations&widget=${a.widget.widget_id}`, h);
    assert.equal(exp.status, 200, exp.text);
    assert.ok(exp.text.includes(a.conv), exp.text);
    const started = async (w) => {
      const r = await call('GET', `/v1/admin/reports?widget_id=${w}`, h);
      assert.equal(r.status, 200, r.text);
      return r.json();
    };
    const byPublic = await started(a.widget.widget_id);
    assert.deepEqual(byPublic, await started(a.widget.id));
    assert.notDeepEqual(byPublic, await started(`wid_${'0'.repeat(32)}`), 'the report counts the widget\'s conversation');
  });

  test("B's event stream carries B's events, none of A's", async () => {
    for (const who of principalsOfB()) {
      const ac = new AbortController();
      const res = await fetch(`http://127.0.0.1:${p.port}/v1/admin/events`, { headers: who.headers(), signal: ac.signal });
      assert.equal(res.status, 200);
      let text = '';
      const reading = (async () => {
        try {
          for await (const chunk of res.body) text += Buffer.from(chunk).toString('utf8');
        } catch { /* aborted */ }
      })();
      // Wait for the stream to be live, then a turn in each organisation.
      const t0 = Date.now();
      while (!text.includes('id:') && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
      for (const o of [org.A, org.B]) {
        const v = await Visitor.open(p, o.widget.widget_id);
        await v.next('session');
        await v.turn(`again ${o.secret}`);
        await v.close();
      }
      const t1 = Date.now();
      while (!text.includes(`again ${org.B.secret}`) && Date.now() - t1 < 5000) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 300));
      ac.abort();
      await reading;
      assert.ok(text.includes(`again ${org.B.secret}`), "B's own event came");
      holdsNothingOf(text, org.A, `${who.name}: the event stream`);
    }
  });

  test("parleyctl --org B: B's widgets and export, nothing of A", async () => {
    const run = (args) => new Promise((resolve) => {
      execFile(path.join(BIN, 'parleyctl'), ['-S', p.sockPath, ...args], { timeout: 60000 },
        (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
    });
    for (const args of [['widgets', '--json', '--org', org.B.id], ['export', '--rows', 'messages', '--org', org.B.id]]) {
      const r = await run(args);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stdout.includes(org.B.secret), `parleyctl ${args.join(' ')} shows B's`);
      holdsNothingOf(r.stdout, org.A, `parleyctl ${args.join(' ')}`);
    }
    // Without --org: the default organisation's, neither A's nor B's.
    const r = await run(['widgets', '--json']);
    assert.equal(r.code, 0, r.stderr);
    holdsNothingOf(r.stdout, org.A, 'parleyctl widgets');
    assert.equal((await run(['widgets', '--org', 'org_x'])).code, 2);
  });

  test("a visitor token of A's widget on B's widget does not open A's session", async () => {
    const v = await Visitor.open(p, org.B.widget.widget_id, { token: org.A.token });
    const s = await v.next('session');
    await v.close();
    assert.notEqual(s.session_token, org.A.token);
    holdsNothingOf(JSON.stringify(s), org.A, "B's widget given A's token");
  });
});
