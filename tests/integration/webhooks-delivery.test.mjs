// Webhook deliveries by the notifier (issue 23), against the real
// processes, with receivers that are node http servers of this test on
// 127.0.0.1 (PARLEY_WEBHOOK_ALLOW_PRIVATE=on). Every delivery verifies
// with the reference library (standardwebhooks); the events driven
// through the API (a widget visitor's turn, a handoff requested and taken
// over, an agent's reply, contact info, the conversation deleted) each
// arrive once, their data the
// admin API's JSON, their bodies and headers as the OpenAPI document's
// webhooks say, their webhook-ids unique; the deliveries list shows
// them delivered with 200. A 500 is retried (after the first retry's
// wait, PARLEY_NOTIFY_RETRY_MS, here RETRY_MS; the same webhook-id) and
// ends delivered after 2 attempts; a 302 is not followed
// (its target never hit; the delivery pending with code 302); a slow
// receiver does not delay a fast one; a delivery not yet under way when
// its webhook is disabled is never sent. A contact erased (erase=all): its
// conversation.deleted tells none of what it held, its other deliveries
// keep no payload (a pending one fails, uncounted; a retry is 410), and a
// backup made afterwards holds none of it. A contact deleted without an
// erase: its contact.created deliveries keep no payload (a pending one
// fails, "contact deleted", uncounted; a retry is 410), its
// conversation's are still sent, and a backup's deliveries hold no
// email. A contact deleted or erased while its conversation's deliveries
// wait for a receiver that refuses them: once it accepts, what it gets
// names neither the contact's name nor its email. Last, with
// the setting turned off
// (masterd restarted in a mount namespace whose /etc/hosts maps a name to
// 127.0.0.1): that name is refused at creation (resolved off the loop),
// a name that does not resolve too, and a delivery to 127.0.0.1 or to
// the name (made while allowed) is refused before any connection. Every wait is bounded.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';

import { BIN, Parley, QUICK_POLLS, sleep, waitFor } from './lib/harness.mjs';
import { assertJsonError } from './lib/checks.mjs';
import { checkerFor } from './lib/openapi.mjs';
import { receiver } from './lib/receiver.mjs';
import { createWidget, Visitor } from './lib/wsclient.mjs';
import { recordFormat, RECORDS, rowCodec } from './lib/records.mjs';
import { Dec, decConv, Enc } from './lib/storage.mjs';

const H = '/v1/admin/webhooks';
const REFUSED = 'address refused: private, loopback or link-local';
const ERASED = 'Delivery erased: its conversation or contact was deleted';
// The first retry's wait (5 s by default; an eighth less at most, backoff.c):
// the tests that wait for a retry wait this.
const RETRY_MS = 1500;

describe('webhook deliveries, 1 worker and the notifier', () => {
  let p;
  const receivers = [];
  const seen = new Set();   // every webhook-id of an accepted delivery

  // Events other than a test's are only the first test's business.
  async function make(url, events = ['handoff.changed']) {
    const r = await p.adminJson('POST', H, { url, events });
    assert.equal(r.status, 201, r.text);
    return r.json();
  }
  async function deliveries(id) {
    const r = await p.admin(`${H}/${id}/deliveries`);
    assert.equal(r.status, 200, r.text);
    return r.json().deliveries;
  }
  async function recv(handler) {
    const r = await receiver(handler);
    receivers.push(r);
    return r;
  }
  // A widget's visitor says said, then leaves contact details who.
  async function visitorSays(said, who) {
    const widget = await createWidget(p, { contact_info_mode: 'optional', collect_email: true, collect_name: true });
    const v = await Visitor.open(p, widget.widget_id);
    await v.next('session');
    await v.turn(said);
    v.send({ type: 'contact_info', ...who });
    await v.next('contact_info_saved');
    await v.close();
  }
  // A visitor of widget says text, then asks for a person; first(v) what it
  // does before (leaves contact details).
  async function visitorAsks(widget, text, first = async () => {}) {
    const v = await Visitor.open(p, widget.widget_id);
    await v.next('session');
    await first(v);
    await v.turn(text);
    v.send({ type: 'request_human' });
    assert.equal((await v.next('handoff')).state, 'waiting_human');
    await v.close();
  }
  // Webhook w's deliveries, 3 at least, each refused once: every one waits for its retry.
  async function allRefused(w) {
    await waitFor(async () => {
      const ds = await deliveries(w.id);
      return ds.length >= 3 && ds.every((d) => d.status === 'pending' && d.response_code === 500);
    }, 10000, 'the deliveries refused');
  }
  function verify(secret, hit) {
    assert.doesNotThrow(() => new Webhook(secret).verify(hit.body, hit.headers), hit.path);
    assert.equal(hit.headers['content-type'], 'application/json');
    assert.equal(hit.headers['user-agent'], 'Parley-Webhooks/1');
    return JSON.parse(hit.body);
  }

  before(async () => {
    p = new Parley({ workers: 1, mock: true, env: { PARLEY_WEBHOOK_ALLOW_PRIVATE: 'on', RATE_LIMIT_MAX_REQUESTS: '0',
      PARLEY_NOTIFY_RETRY_MS: String(RETRY_MS), ...QUICK_POLLS } });
    await p.start();
  });
  after(async () => {
    for (const r of receivers) await r.close();
    if (p) await p.stop();
  });

  test('every event type arrives, signed, as the admin API has it', async () => {
    const rx = await recv((req, res) => res.end('ok'));
    const all = ['conversation.created', 'message.created', 'handoff.requested', 'handoff.changed', 'contact.created',
      'conversation.deleted'];
    const w = await make(rx.url('/all'), all);
    const wd = await createWidget(p, { handoff_enabled: true, contact_info_mode: 'optional', collect_email: true, collect_name: true });
    const v = await Visitor.open(p, wd.widget_id);
    await v.next('session');
    await v.turn('hello hooks');
    v.send({ type: 'request_human' });
    assert.equal((await v.next('handoff')).state, 'waiting_human');
    await waitFor(() => rx.hits.some((h) => JSON.parse(h.body).type === 'handoff.requested'), 10000, 'handoff.requested');
    const convId = JSON.parse(rx.hits.find((h) => JSON.parse(h.body).type === 'handoff.requested').body).data.conversation._id;
    let r = await p.adminJson('POST', `/v1/admin/conversations/${convId}/handoff`, { state: 'human', name: 'Ada' });
    assert.equal(r.status, 200, r.text);
    r = await p.adminJson('POST', `/v1/admin/conversations/${convId}/messages`, { content: 'Hi, Ada here.' });
    assert.equal(r.status, 201, r.text);
    assert.equal((await v.next('handoff')).state, 'human');
    assert.equal((await v.next('message')).role, 'agent');
    v.send({ type: 'contact_info', name: 'Jane', email: 'jane@example.com' });
    await v.next('contact_info_saved');
    await v.close();
    const want = ['conversation.created', 'message.created:user', 'message.created:assistant', 'handoff.requested',
      'handoff.changed', 'message.created:agent', 'contact.created', 'conversation.deleted'];
    const kind = (b) => (b.type === 'message.created' ? `${b.type}:${b.data.message.role}` : b.type);
    // Delivered before the deletion, which takes what is still pending.
    await waitFor(async () => want.slice(0, -1).every((k) => rx.hits.some((h) => kind(JSON.parse(h.body)) === k)) &&
      (await deliveries(w.id)).every((d) => d.status === 'delivered'), 10000, 'every event type but the deletion');
    // The conversation as the admin API shows it, then deleted.
    const conv = (await p.admin(`/v1/admin/conversations/${convId}`)).json().conversation;
    r = await p.adminJson('DELETE', `/v1/admin/conversations/${convId}`);
    assert.ok(r.status === 200 || r.status === 204, r.text);
    await waitFor(() => rx.hits.some((h) => kind(JSON.parse(h.body)) === 'conversation.deleted'), 10000,
      'conversation.deleted');
    const ids = new Set();
    const api = await checkerFor(p);
    for (const hit of rx.hits) {
      const b = verify(w.secret, hit);
      api.checkWebhook(hit);	// as the OpenAPI document's webhooks say
      assert.equal(hit.path, '/all');
      assert.ok(!ids.has(hit.headers['webhook-id']), 'a webhook-id once');
      ids.add(hit.headers['webhook-id']);
      seen.add(hit.headers['webhook-id']);
      assert.match(hit.headers['webhook-id'], /^dlv_[0-9a-f]{32}$/);
      assert.match(b.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.equal(b.data.conversation._id, convId, hit.body);
    }
    const byKind = Object.fromEntries(rx.hits.map((h) => { const b = JSON.parse(h.body); return [kind(b), b]; }));
    assert.equal(byKind['message.created:user'].data.message.content, 'hello hooks');
    assert.equal(byKind['message.created:agent'].data.message.content, 'Hi, Ada here.');
    assert.equal(byKind['handoff.requested'].data.state, 'waiting_human');
    assert.equal(byKind['handoff.requested'].data.conversation.waiting_by, 'visitor');
    assert.equal(byKind['handoff.changed'].data.state, 'human');
    assert.equal(byKind['handoff.changed'].data.name, 'Ada');
    assert.equal(byKind['contact.created'].data.contact.email, 'jane@example.com');
    assert.equal(byKind['conversation.created'].data.conversation.widgetId, conv.widgetId);
    // Deleted: the conversation as it was, its messages gone with it.
    assert.equal(byKind['conversation.deleted'].data.conversation.widgetId, conv.widgetId);
    assert.equal(byKind['conversation.deleted'].data.conversation.contactId, conv.contactId);
    assert.equal((await p.admin(`/v1/admin/conversations/${convId}`)).status, 404);
    await waitFor(async () => (await deliveries(w.id)).every((d) => d.status === 'delivered'), 5000, 'delivered');
    const ds = await deliveries(w.id);
    assert.equal(ds.length, rx.hits.length);
    for (const d of ds) {
      assert.equal(d.response_code, 200);
      assert.equal(d.attempts, 1);
      assert.ok(ids.has(d.id));
    }
    // Each outcome went to storaged flagged to share a disk flush: nobody waits for its answer.
    const m = await p.admin('/metrics');
    assert.equal(m.status, 200, m.text);
    const shared = Number(/^parley_storage_shared_requests_total (\d+)$/m.exec(m.text)?.[1]);
    assert.ok(shared >= ds.length, `flagged requests ${shared}, deliveries ${ds.length}`);
  });

  test("an erased conversation's deliveries keep no payload: conversation.deleted tells none of it, a pending one fails, a retry is 410", async () => {
    const tag = Date.now().toString(36);
    const said = `my secret plan is ${tag}-BLUEBERRY`;
    const who = { name: `Zelda ${tag}`, email: `zelda.${tag}@example.org` };
    const ok = await recv((req, res) => res.end('ok'));
    const down = await recv((req, res) => { res.statusCode = 500; res.end(); });
    const w = await make(ok.url('/erase'), ['message.created', 'contact.created', 'conversation.deleted']);
    const wd = await make(down.url('/down'), ['message.created']);
    await visitorSays(said, who);
    await waitFor(() => ok.hits.some((h) => h.body.includes(said)) && ok.hits.some((h) => h.body.includes(who.email)),
      10000, 'the deliveries');
    // The failing webhook's first attempts answered 500: pending, retried later.
    await waitFor(async () => (await deliveries(wd.id)).some((d) => d.response_code === 500), 5000, 'a 500 recorded');
    const convId = JSON.parse(ok.hits[0].body).data.conversation._id;
    const contact = (await p.admin('/v1/admin/contacts?limit=200')).json().contacts.find((c) => c.email === who.email);
    let r = await p.adminJson('DELETE', `/v1/admin/contacts/${contact.id}?erase=all`);
    assert.equal(r.status, 200, r.text);

    const deleted = (h) => JSON.parse(h.body).type === 'conversation.deleted';
    await waitFor(() => ok.hits.some(deleted), 10000, 'conversation.deleted');
    const del = ok.hits.find(deleted);
    verify(w.secret, del);
    for (const s of [said, who.name, who.email]) assert.ok(!del.body.includes(s), `conversation.deleted holds ${s}`);
    const conv = JSON.parse(del.body).data.conversation;
    assert.equal(conv._id, convId);
    assert.equal(conv.contactId, contact.id);
    assert.equal(conv.lastMessage, '');
    assert.equal(conv.lastVisitorMessage, '');

    // Pending: failed, not counted against its webhook; finished: kept, without payload.
    const pending = await deliveries(wd.id);
    assert.ok(pending.length >= 1);
    for (const d of pending) {
      assert.equal(d.status, 'failed', JSON.stringify(d));
      assert.equal(d.last_error, 'conversation deleted');
    }
    assert.equal((await p.admin(`${H}/${wd.id}`)).json().failures, 0);
    const ds = await deliveries(w.id);
    const before = ok.hits.length;
    let sent = 0;
    for (const [hook, d] of [...ds.map((d) => [w.id, d]), ...pending.map((d) => [wd.id, d])]) {
      r = await p.request('POST', `${H}/${hook}/deliveries/${d.id}/retry`, { headers: { 'x-admin-api-key': p.adminKey } });
      if (d.event === 'conversation.deleted') {
        assert.equal(r.status, 200, r.text);
        sent++;
        continue;
      }
      assert.equal(r.status, 410, `${d.event}: ${r.status} ${r.text}`);
      assert.deepEqual(r.json(), { error: ERASED });
    }
    assert.equal(sent, 1);
    await waitFor(() => ok.hits.length >= before + sent, 10000, 'the retried conversation.deleted');
    await sleep(300);
    for (const h of ok.hits.slice(before)) assert.ok(deleted(h), h.body);
    // Nor does storaged keep it: a backup made now holds none of it.
    const bk = path.join(p.tmp, 'erased.mdb');
    execFileSync(path.join(BIN, 'parleyctl'), ['-S', p.sockPath, 'backup', bk], { timeout: 60000 });
    const bytes = fs.readFileSync(bk);
    for (const s of [said, who.name, who.email]) assert.ok(!bytes.includes(Buffer.from(s)), `the backup holds ${s}`);
  });

  test("a contact deleted without an erase: its contact.created deliveries keep no payload, a pending one fails, a retry is 410", async () => {
    const tag = Date.now().toString(36);
    const said = `kept words ${tag}`;
    const who = { name: `Quinn ${tag}`, email: `quinn.${tag}@example.org` };
    const ok = await recv((req, res) => res.end('ok'));
    const down = await recv((req, res) => { res.statusCode = 500; res.end(); });
    const w = await make(ok.url('/contact'), ['message.created', 'contact.created']);
    const wd = await make(down.url('/contact-down'), ['contact.created']);
    await visitorSays(said, who);
    await waitFor(() => ok.hits.some((h) => h.body.includes(who.email)), 10000, 'contact.created delivered');
    await waitFor(async () => (await deliveries(wd.id)).some((d) => d.response_code === 500), 5000, 'a 500 recorded');
    const contact = (await p.admin('/v1/admin/contacts?limit=200')).json().contacts.find((c) => c.email === who.email);
    let r = await p.adminJson('DELETE', `/v1/admin/contacts/${contact.id}`);
    assert.equal(r.status, 200, r.text);

    // Pending: failed, not counted against its webhook.
    const pending = await deliveries(wd.id);
    assert.equal(pending.length, 1);
    assert.equal(pending[0].status, 'failed', JSON.stringify(pending[0]));
    assert.equal(pending[0].last_error, 'contact deleted');
    assert.equal((await p.admin(`${H}/${wd.id}`)).json().failures, 0);
    // Finished: kept as it ended, but no retry sends it again; the
    // conversation's own deliveries (it stays) still can be.
    const ds = await deliveries(w.id);
    const events = ds.map((d) => d.event).sort();
    assert.ok(events.includes('contact.created') && events.includes('message.created'), events.join());
    const before = ok.hits.length;
    let sent = 0;
    for (const [hook, d] of [...ds.map((d) => [w.id, d]), [wd.id, pending[0]]]) {
      r = await p.request('POST', `${H}/${hook}/deliveries/${d.id}/retry`, { headers: { 'x-admin-api-key': p.adminKey } });
      if (d.event === 'contact.created') {
        assert.equal(r.status, 410, `${d.event}: ${r.status} ${r.text}`);
        assert.deepEqual(r.json(), { error: ERASED });
        continue;
      }
      assert.equal(r.status, 200, r.text);
      sent++;
    }
    assert.ok(sent >= 1);
    await waitFor(() => ok.hits.length >= before + sent, 10000, 'the retried message.created');
    await sleep(300);
    for (const h of ok.hits.slice(before)) {
      assert.equal(JSON.parse(h.body).type, 'message.created', h.body);
      assert.ok(!h.body.includes(who.email), 'a retry sent the email');
    }
    // Nor does the outbox keep it: a backup made now holds no email in
    // its deliveries (mdb_dump's hex; the visitor's session, kept
    // without an erase, still holds its own last submission).
    const bk = path.join(p.tmp, 'contact-deleted.mdb');
    execFileSync(path.join(BIN, 'parleyctl'), ['-S', p.sockPath, 'backup', bk], { timeout: 60000 });
    const dump = execFileSync('mdb_dump', ['-n', '-s', 'deliveries', bk], { encoding: 'utf8', maxBuffer: 1 << 28 });
    assert.match(dump, /^HEADER=END$/m);
    assert.ok(!dump.replace(/\s/g, '').includes(Buffer.from(who.email).toString('hex')), 'the deliveries hold the email');
  });

  // A delivery waiting for its receiver when the contact goes, which tells
  // of the contact's conversation (its visitorName the contact's name,
  // else email): what the receiver gets afterwards names none of it.
  for (const erase of [false, true]) {
    test(`a contact ${erase ? 'erased' : 'deleted'} while its conversation's deliveries wait: none sent afterwards names it`, async () => {
      const tag = Date.now().toString(36);
      const who = { name: `Wendy ${tag}`, email: `wendy.${tag}@example.org` };
      let open = false;
      const rx = await recv((req, res) => { res.statusCode = open ? 200 : 500; res.end(); });
      const w = await make(rx.url(`/waiting-${erase}`), ['message.created', 'handoff.requested']);
      const widget = await createWidget(p, { handoff_enabled: true, contact_info_mode: 'optional', collect_email: true, collect_name: true });
      await visitorAsks(widget, `a question ${tag}`, async (v) => {
        v.send({ type: 'contact_info', ...who });
        await v.next('contact_info_saved');
      });
      await allRefused(w);
      assert.ok(rx.hits.some((h) => h.body.includes(who.name)), 'the refused attempts named the contact');
      const contact = (await p.admin('/v1/admin/contacts?limit=200')).json().contacts.find((c) => c.email === who.email);
      const r = await p.adminJson('DELETE', `/v1/admin/contacts/${contact.id}${erase ? '?erase=all' : ''}`);
      assert.equal(r.status, 200, r.text);
      const before = rx.hits.length;
      open = true;
      // Each sent again, or failed with its conversation (erased).
      await waitFor(async () => (await deliveries(w.id)).every((d) => d.status !== 'pending'), 30000, 'the deliveries ended');
      const ds = await deliveries(w.id);
      if (!erase) assert.ok(ds.every((d) => d.status === 'delivered'), JSON.stringify(ds));
      assert.equal(rx.hits.length - before, ds.filter((d) => d.status === 'delivered').length);
      for (const h of rx.hits.slice(before)) {
        verify(w.secret, h);
        for (const s of [who.name, who.email]) assert.ok(!h.body.includes(s), `sent after the deletion: ${s} in ${h.body}`);
      }
    });
  }

  // An upgrade across a record format change: deliveries waiting in the
  // outbox were written by the build before, their events' conversations
  // in its format. Rewritten in data.mdb (storaged stopped): the
  // message.created ones as an event that says its conversation is of
  // format 9 (before waiting_by), the others as an event of before events
  // said their formats (ST_EV_LEGACY_*). Each is sent, its conversation
  // read (the old code read every payload at today's formats and failed
  // these as "cannot be read").
  test('deliveries waiting across an upgrade: events of an older conversation format, and of before formats were said, are still sent', async () => {
    let open = false;
    const rx = await recv((req, res) => { res.statusCode = open ? 200 : 500; res.end(); });
    const w = await make(rx.url('/upgrade'), ['message.created', 'handoff.requested']);
    await visitorAsks(await createWidget(p, { handoff_enabled: true }), 'a question before the upgrade');
    await allRefused(w);
    const ours = new Set((await deliveries(w.id)).map((d) => d.id));

    await p.killStoraged('SIGTERM');
    const dump = execFileSync('mdb_dump', ['-s', 'deliveries', p.dataDir], { encoding: 'utf8', maxBuffer: 1 << 28 });
    const lines = dump.split('\n');
    const head = lines.indexOf('HEADER=END');
    const end = lines.indexOf('DATA=END');
    assert.ok(head > 0 && end > head, 'a dump of the deliveries');
    const DLV = rowCodec('st_delivery');
    const conv9 = rowCodec('st_conv', 9);
    const rows = RECORDS.get('st_conv');
    assert.equal(rows.at(-1).member, 'waiting_by', 'format 10 added the last row');
    let rewritten = 0;
    for (let i = head + 1; i + 1 < end; i += 2) {
      const val = Buffer.from(lines[i + 1].trim(), 'hex');
      assert.equal(val[0], recordFormat('st_delivery'));
      const dv = DLV.dec(new Dec(val.subarray(1)));
      if (!ours.has(dv.id)) continue;
      const d = new Dec(dv.payload);
      const [epoch, seq, at, kind] = [d.u64n(), d.u64n(), d.u64n(), d.u8()];
      assert.equal(kind & 0x80, 0x80, 'an event says its formats');
      const formats = [d.u8(), d.u8(), d.u8()];
      const convAt = d.off;
      const conv = decConv(d);
      const rest = dv.payload.subarray(d.off);
      const e = new Enc().u64(epoch).u64(seq).u64(at);
      if ((kind & 0x7f) === 2) {
        e.u8(kind).u8(9).u8(formats[1]).u8(formats[2]);
        conv9.enc(e, conv);
      } else {
        e.u8(kind & 0x7f).parts.push(dv.payload.subarray(convAt, d.off));
      }
      e.parts.push(rest);
      dv.payload = e.done();
      const out = new Enc().u8(val[0]);
      DLV.enc(out, dv);
      lines[i + 1] = ` ${out.done().toString('hex')}`;
      rewritten++;
    }
    assert.equal(rewritten, ours.size);
    const file = path.join(p.tmp, 'deliveries.dump');
    fs.writeFileSync(file, lines.join('\n'));
    execFileSync('mdb_load', ['-s', 'deliveries', '-f', file, p.dataDir]);
    const from = p.logs.masterd.length;
    await p.startStoraged();
    await p.waitConnected(from);

    open = true;
    const before = rx.hits.length;
    for (const id of ours) {
      const r = await p.request('POST', `${H}/${w.id}/deliveries/${id}/retry`, { headers: { 'x-admin-api-key': p.adminKey } });
      assert.equal(r.status, 200, r.text);
    }
    await waitFor(async () => (await deliveries(w.id)).every((d) => d.status === 'delivered'), 15000, 'every delivery sent');
    const sent = rx.hits.slice(before).map((h) => verify(w.secret, h));
    assert.equal(sent.length, ours.size);
    // One conversation, its id as the live deliveries said it; the
    // visitor's message and the assistant's, and the request.
    const convIds = new Set(rx.hits.slice(0, before).filter((h) => h.path === '/upgrade')
      .map((h) => JSON.parse(h.body).data.conversation._id));
    assert.equal(convIds.size, 1);
    for (const b of sent) assert.ok(convIds.has(b.data.conversation._id), JSON.stringify(b));
    const kind = (b) => (b.type === 'message.created' ? `${b.type}:${b.data.message.role}` : b.type);
    assert.deepEqual(sent.map(kind).sort(), ['handoff.requested', 'message.created:assistant', 'message.created:user']);
    assert.equal(sent.find((b) => kind(b) === 'message.created:user').data.message.content, 'a question before the upgrade');
    assert.equal(sent.find((b) => b.type === 'handoff.requested').data.state, 'waiting_human');
  });

  test('a 500 is retried with the same webhook-id, then delivered', async () => {
    let n = 0;
    const rx = await recv((req, res) => { res.statusCode = n++ === 0 ? 500 : 200; res.end(); });
    const w = await make(rx.url('/flaky'));
    assert.equal((await p.adminJson('POST', `${H}/${w.id}/test`)).status, 202);
    await waitFor(() => rx.hits.length >= 1, 5000, 'the first attempt');
    await waitFor(async () => (await deliveries(w.id))[0].response_code === 500, 3000, 'recorded 500');
    let [d] = await deliveries(w.id);
    assert.equal(d.status, 'pending');
    assert.equal(d.attempts, 1);
    assert.equal(d.last_error, 'HTTP 500');
    await waitFor(() => rx.hits.length >= 2, 20000, 'the retry');
    assert.ok(rx.hits[1].at - rx.hits[0].at >= RETRY_MS * 7 / 8, `retried after ${rx.hits[1].at - rx.hits[0].at} ms`);
    assert.equal(rx.hits[0].headers['webhook-id'], rx.hits[1].headers['webhook-id']);
    for (const h of rx.hits) assert.deepEqual(verify(w.secret, h).type, 'webhook.test');
    await waitFor(async () => (await deliveries(w.id))[0].status === 'delivered', 3000, 'delivered');
    [d] = await deliveries(w.id);
    assert.equal(d.attempts, 2);
    assert.equal(d.response_code, 200);
  });

  test('a secret rotated: shown once, and the one before signs beside it; a second rotation drops the first', async () => {
    const rx = await recv((req, res) => res.end('ok'));
    const w = await make(rx.url('/rotated'));
    assert.equal(w.previous_secret_until, null);
    const rotate = async () => {
      const t0 = Date.now();
      const r = await p.adminJson('POST', `${H}/${w.id}/secret`);
      assert.equal(r.status, 200, r.text);
      const got = r.json();
      assert.equal(got.id, w.id);
      assert.match(got.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
      // A day from now, as the API says it.
      const until = got.previous_secret_until;
      assert.ok(until >= t0 + 86400000 - 1000 && until <= Date.now() + 86400000 + 1000, got.previous_secret_until);
      return got.secret;
    };
    const sent = async (n) => {
      assert.equal((await p.adminJson('POST', `${H}/${w.id}/test`)).status, 202);
      await waitFor(() => rx.hits.length >= n, 10000, `delivery ${n}`);
      return rx.hits[n - 1];
    };
    const verifies = (secret, hit) => {
      try { new Webhook(secret).verify(hit.body, hit.headers); return true; } catch { return false; }
    };
    const s2 = await rotate();
    assert.notEqual(s2, w.secret);
    // Shown once: neither the new secret nor the old one is read back.
    const got = (await p.admin(`${H}/${w.id}`)).json();
    assert.equal(got.secret, undefined);
    assert.ok(!JSON.stringify(got).includes(s2.slice(6)) && !JSON.stringify(got).includes(w.secret.slice(6)));
    const list = (await p.admin(H)).text;
    assert.ok(!list.includes(s2.slice(6)) && !list.includes(w.secret.slice(6)));
    let hit = await sent(1);
    assert.equal(hit.headers['webhook-signature'].split(' ').length, 2, hit.headers['webhook-signature']);
    assert.ok(verifies(s2, hit), 'the new secret verifies');
    assert.ok(verifies(w.secret, hit), 'the one before verifies');
    const s3 = await rotate();
    hit = await sent(2);
    assert.equal(hit.headers['webhook-signature'].split(' ').length, 2);
    assert.ok(verifies(s3, hit) && verifies(s2, hit), 'the newest two verify');
    assert.ok(!verifies(w.secret, hit), 'the first no longer does');
    assert.equal(verify(s3, hit).type, 'webhook.test');
  });

  test('a redirect is not followed', async () => {
    const rx = await recv((req, res) => {
      if (req.url === '/redir') { res.writeHead(302, { location: '/target' }); res.end(); } else res.end('ok');
    });
    const w = await make(rx.url('/redir'));
    assert.equal((await p.adminJson('POST', `${H}/${w.id}/test`)).status, 202);
    await waitFor(async () => (await deliveries(w.id))[0].response_code === 302, 5000, 'recorded 302');
    const [d] = await deliveries(w.id);
    assert.equal(d.status, 'pending');
    assert.equal(d.attempts, 1);
    assert.equal(d.last_error, 'HTTP 302');
    await sleep(300);
    assert.deepEqual(rx.hits.map((h) => h.path), ['/redir']);
  });

  test('a slow receiver does not delay a fast one', async () => {
    // The slow one answers 10 s late, or at once from the test's end
    // (released): none of its attempts is left in flight for the last
    // test's restarts of masterd to wait out.
    let released = false;
    const held = [];
    const slow = await recv((req, res) => {
      if (released) res.end('late');
      else held.push({ res, timer: setTimeout(() => res.end('late'), 10000) });
    });
    const fast = await recv((req, res) => res.end('ok'));
    const ws = await make(slow.url('/slow'));
    const wf = await make(fast.url('/fast'));
    for (let i = 0; i < 6; i++) assert.equal((await p.adminJson('POST', `${H}/${ws.id}/test`)).status, 202);
    await waitFor(() => slow.hits.length >= 4, 5000, 'the slow receiver busy');
    for (let i = 0; i < 3; i++) assert.equal((await p.adminJson('POST', `${H}/${wf.id}/test`)).status, 202);
    // From here each of the three is due (the 202s' time is not the
    // notifier's, and a busy machine may take a while over them).
    const t0 = Date.now();
    // Served while the slow one still holds its four (10 s each): the
    // bound tells waiting behind them from not, with room for a busy
    // machine. Each arrival's own time is held to it; the wait is longer,
    // so that a late one fails the assertion, which says how late.
    await waitFor(() => fast.hits.length >= 3, 10000, 'the fast receiver served');
    const late = Math.max(...fast.hits.map((h) => h.at)) - t0;
    assert.ok(late < 5000, `the fast receiver served ${late} ms after its deliveries were made`);
    // None waited for a slow one's answer (the first 10 s after its hit).
    const slowFirst = Math.min(...slow.hits.map((h) => h.at));
    for (const h of fast.hits) assert.ok(h.at < slowFirst + 10000, `served ${h.at - slowFirst} ms after the slow one's first hit`);
    // At most 4 in flight to one webhook.
    assert.equal(slow.hits.length, 4);
    for (const h of fast.hits) verify(wf.secret, h);
    released = true;
    for (const { res, timer } of held) {
      clearTimeout(timer);
      if (!res.writableEnded) res.end('late');
    }
  });

  // The notifier takes a delivery only to start it: one still due when
  // its webhook is disabled stays in storaged, which fails it (before, up
  // to 8 waited in the notifier, and went out after the change).
  test('a delivery not yet under way when its webhook is disabled is not sent', async () => {
    // The receiver holds its answers until the webhook is disabled (four
    // in flight then, however slow the machine), and answers at once after.
    const held = [];
    let hold = true;
    const rx = await recv((req, res) => (hold ? held.push(res) : res.end('ok')));
    const w = await make(rx.url('/soon-off'));
    for (let i = 0; i < 7; i++) assert.equal((await p.adminJson('POST', `${H}/${w.id}/test`)).status, 202);
    await waitFor(() => rx.hits.length >= 4, 5000, '4 in flight');
    const r = await p.adminJson('PATCH', `${H}/${w.id}`, { enabled: false });
    assert.equal(r.status, 200, r.text);
    const off = Date.now();
    hold = false;
    for (const res of held) res.end('ok');
    // The four in flight answered and recorded, the three left failed
    // (bounded: a busy machine records them late) ...
    const ENDED = ['delivered', 'delivered', 'delivered', 'delivered', 'failed', 'failed', 'failed'];
    const statuses = async () => (await deliveries(w.id)).map((d) => d.status).sort();
    await waitFor(async () => JSON.stringify(await statuses()) === JSON.stringify(ENDED), 20000, 'every delivery ended')
      .catch(() => {});
    // ... and watched 1.5 s from their answers at least: one that waited
    // in the notifier goes out as the four end, however its delivery is
    // recorded.
    await sleep(Math.max(0, off + 1500 - Date.now()));
    assert.deepEqual(rx.hits.filter((h) => h.at > off).map((h) => h.at - off), [], 'none sent after the change');
    assert.equal(rx.hits.length, 4);
    assert.deepEqual(await statuses(), ENDED);
  });

  // A delivery failed because its webhook was disabled was never sent: it
  // is no failure of the receiver's (before, each counted one, and the
  // webhook showed that many "failures in a row").
  test('pending deliveries failed by a disable are not counted as failures', async () => {
    const rx = await recv((req, res) => { res.statusCode = 500; res.end(); });
    const w = await make(rx.url('/off-pending'), ['message.created']);
    const r0 = await p.request('POST', '/v1/chat', {
      headers: { 'x-api-key': p.widgetKey, 'content-type': 'application/json' },
      body: JSON.stringify({ sessionId: `off-${Date.now()}`, message: 'hello' }),
    });
    assert.equal(r0.status, 200, r0.text);
    await waitFor(async () => (await deliveries(w.id)).every((d) => d.attempts === 1), 5000, 'each tried once');
    const r = await p.adminJson('PATCH', `${H}/${w.id}`, { enabled: false });
    assert.equal(r.status, 200, r.text);
    await waitFor(async () => (await deliveries(w.id)).every((d) => d.status === 'failed'), 3 * RETRY_MS + 2000,
      'failed once due');
    assert.deepEqual((await deliveries(w.id)).map((d) => d.last_error), ['webhook disabled', 'webhook disabled']);
    const h = (await p.admin(`${H}/${w.id}`)).json();
    assert.equal(h.failures, 0, 'none of them was a failed delivery');
    assert.equal(h.disabled_at, null);
    // A test or a retry of it while disabled is refused, not failed unsent
    // (before: 202 and 200, then "webhook disabled" with nothing sent).
    const seen = rx.hits.length;
    const t = await p.adminJson('POST', `${H}/${w.id}/test`);
    assertJsonError(t, 409, 'Webhook disabled: enable it to send to it');
    const d0 = (await deliveries(w.id))[0];
    assertJsonError(await p.adminJson('POST', `${H}/${w.id}/deliveries/${d0.id}/retry`), 409,
      'Webhook disabled: enable it to send to it');
    assert.equal((await deliveries(w.id)).length, 2, 'no test delivery made');
    assert.equal((await p.adminJson('PATCH', `${H}/${w.id}`, { enabled: true })).status, 200);
    assert.equal((await p.adminJson('POST', `${H}/${w.id}/test`)).status, 202, 'enabled again: a test is sent');
    await waitFor(() => rx.hits.length > seen, 5000, 'the test sent');
  });

  test('contact.created once a contact: its details sent again, or another visitor naming it, make none; one left before the first message comes with that conversation, one left after "New conversation" with the one left', async () => {
    const rx = await recv((req, res) => res.end('ok'));
    const w = await make(rx.url('/contacts'), ['contact.created']);
    const tag = Date.now().toString(36);
    const ann = `ann.${tag}@example.org`;
    const bea = `bea.${tag}@example.org`;
    const wd = await createWidget(p, { contact_info_mode: 'optional', collect_email: true, collect_name: true });
    const v = await Visitor.open(p, wd.widget_id);
    await v.next('session');
    await v.turn('hello');
    for (let i = 0; i < 3; i++) {
      v.send({ type: 'contact_info', name: 'Ann', email: ann });
      await v.next('contact_info_saved');
    }
    await v.close();
    const v2 = await Visitor.open(p, wd.widget_id);
    await v2.next('session');
    await v2.turn('me too');
    v2.send({ type: 'contact_info', name: 'Mallory', email: ann });
    await v2.next('contact_info_saved');
    await v2.close();
    // The form before the first message (required): no conversation yet.
    const wr = await createWidget(p, { contact_info_mode: 'required', collect_email: true, collect_name: true });
    const v3 = await Visitor.open(p, wr.widget_id);
    await v3.next('session');
    v3.send({ type: 'contact_info', name: 'Bea', email: bea });
    await v3.next('contact_info_saved');
    await v3.turn('hello after the form');
    await v3.close();
    // The form after "New conversation", before its first message: the
    // contact holds the conversation left, and comes with it.
    const fay = `fay.${tag}@example.org`;
    const v4 = await Visitor.open(p, wd.widget_id);
    await v4.next('session');
    await v4.turn('before the new one');
    v4.send({ type: 'new_conversation' });
    await v4.next('conversation_new');
    v4.send({ type: 'contact_info', name: 'Fay', email: fay });
    await v4.next('contact_info_saved');
    await v4.turn('in the new one');
    await v4.close();
    // A signed-in visitor identifies on each page she opens: one contact.
    const wi = await createWidget(p, {});
    const secret = (await p.adminJson('POST', `/v1/admin/widgets/${wi.widget_id}/identity-secret`)).json().identity_secret;
    const cy = `cy-${tag}`;
    const hash = crypto.createHmac('sha256', secret).update(cy).digest('hex');
    let token;
    for (let i = 0; i < 3; i++) {
      const vi = await Visitor.open(p, wi.widget_id, token ? { token } : {});
      token = (await vi.next('session')).session_token;
      if (i > 0) await vi.next('history');
      vi.send({ type: 'identify', id: cy, email: `cy.${tag}@example.org`, hash });
      assert.equal((await vi.next('identity')).verified, true);
      if (i === 0) await vi.turn('signed in');
      await vi.close();
    }
    // Each event's delivery is stored with it: they are all listed now.
    const ds = await deliveries(w.id);
    await waitFor(() => rx.hits.length >= ds.length, 10000, 'delivered');
    const got = rx.hits.map((h) => JSON.parse(h.body).data);
    assert.deepEqual(got.map((d) => d.contact.email).sort(), [ann, bea, `cy.${tag}@example.org`, fay]);
    const b = got.find((d) => d.contact.email === bea);
    assert.equal(b.conversation.contactId, b.contact.id);
    assert.equal(b.conversation.lastVisitorMessage, 'hello after the form');
    const f = got.find((d) => d.contact.email === fay);
    assert.equal(f.conversation.contactId, f.contact.id);
    assert.equal(f.conversation.lastVisitorMessage, 'before the new one');
    assert.equal(ds.length, 4);
    assert.equal((await p.adminJson('DELETE', `${H}/${w.id}`)).status, 200);
  });

  test('contact.created once a contact: one whose only conversation was deleted is not announced again with its next', async () => {
    const rx = await recv((req, res) => res.end('ok'));
    const w = await make(rx.url('/again'), ['contact.created']);
    const tag = Date.now().toString(36);
    let announced = 0;
    // Her details before (required) or after (optional) her first message.
    for (const [mode, name] of [['optional', 'Dan'], ['required', 'Eve']]) {
      const email = `${name.toLowerCase()}.${tag}@example.org`;
      const wd = await createWidget(p, { contact_info_mode: mode, collect_email: true, collect_name: true });
      let v = await Visitor.open(p, wd.widget_id);
      const token = (await v.next('session')).session_token;
      if (mode === 'optional') await v.turn('hello');
      v.send({ type: 'contact_info', name, email });
      await v.next('contact_info_saved');
      if (mode === 'required') await v.turn('hello');
      await v.close();
      announced++;
      await waitFor(() => rx.hits.length === announced, 10000, 'the contact announced');
      const first = JSON.parse(rx.hits.at(-1).body).data;
      assert.equal(first.contact.email, email);
      const r = await p.adminJson('DELETE', `/v1/admin/conversations/${first.conversation._id}`);
      assert.equal(r.status, 204, r.text);
      // The same visitor (her session names the contact) writes again: a
      // new conversation, the contact's only one, as the first was.
      v = await Visitor.open(p, wd.widget_id, { token });
      await v.next('session');
      assert.deepEqual((await v.next('history')).messages, []);
      await v.turn('back again');
      await v.close();
      const c = (await p.adminJson('GET', `/v1/admin/contacts/${first.contact.id}`)).json();
      assert.equal(c.conversations.length, 1);
      assert.notEqual(c.conversations[0]._id, first.conversation._id);
    }
    // A delivery is stored with its event, in the turn's own commit.
    assert.equal((await deliveries(w.id)).length, 2);
    assert.equal(rx.hits.length, 2);
    assert.equal((await p.adminJson('DELETE', `${H}/${w.id}`)).status, 200);
  });

  test('PARLEY_WEBHOOK_ALLOW_PRIVATE on is the default organization\'s alone; off: a name resolving to loopback refused at creation; literal and name refused before connecting', async () => {
    const rx = await recv((req, res) => res.end('ok'));
    const port = rx.server.address().port;
    const w = await make(rx.url('/private'));
    // masterd and its children in a mount namespace of their own where
    // /etc/hosts says hooks.example.com is 127.0.0.1 and the resolver is
    // 127.0.0.1 (nothing there: a name not in the file fails at once, and
    // no lookup leaves the machine). CI runs as root.
    const hosts = path.join(p.tmp, 'hosts');
    const resolv = path.join(p.tmp, 'resolv.conf');
    const hostsFor = (rebind) => `127.0.0.1 localhost\n127.0.0.1 hooks.example.com\n${rebind} rebind.example.com\n`;
    fs.writeFileSync(hosts, hostsFor('203.0.113.7'));
    fs.writeFileSync(resolv, 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n');
    p.opts.wrap = {
      masterd: (bin, env) => ['unshare', ['-m', 'sh', '-c',
        `mount --bind "${hosts}" /etc/hosts && mount --bind "${resolv}" /etc/resolv.conf && exec "${bin}"`], env],
    };
    // Allowed, a name is not looked up: made now, to be delivered later.
    await p.restartMaster();
    const byName = await make(`http://hooks.example.com:${port}/by-name`);
    // Allowed for the default organization alone: another's admin reaches
    // none of the operator's network, at creation (a literal, a name) nor at
    // delivery (a name that resolved to a public address, then to loopback).
    const b = (await p.adminJson('POST', '/v1/admin/organizations', { name: 'Hooks elsewhere' })).json().id;
    const inB = (method, url, body) => p.request(method, url, { headers: { 'x-admin-api-key': p.adminKey,
      'x-organization-id': b, 'content-type': 'application/json' }, body: body && JSON.stringify(body) });
    const ONLY_DEFAULT = 'url: resolves to a private, loopback or link-local address (PARLEY_WEBHOOK_ALLOW_PRIVATE=on allows it, in the default organization)';
    for (const url of [`http://127.0.0.1:${port}/b-literal`, `http://hooks.example.com:${port}/b-name`]) {
      const r = await inB('POST', H, { url, events: ['message.created'] });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json().error, ONLY_DEFAULT);
    }
    let r0 = await inB('POST', H, { url: `http://rebind.example.com:${port}/b-rebound`, events: ['message.created'] });
    assert.equal(r0.status, 201, r0.text);
    const rebound = r0.json();
    fs.writeFileSync(hosts, hostsFor('127.0.0.1'));
    assert.equal((await inB('POST', `${H}/${rebound.id}/test`)).status, 202);
    await waitFor(async () => (await inB('GET', `${H}/${rebound.id}/deliveries`)).json().deliveries[0]?.last_error === REFUSED,
      5000, 'the rebound name refused');
    r0 = await inB('GET', `${H}/${rebound.id}/deliveries`);
    assert.equal(r0.json().deliveries[0].response_code, null);
    assert.equal(rx.connections, 0, 'nothing connected to the receiver');
    await p.restartMaster({ PARLEY_WEBHOOK_ALLOW_PRIVATE: 'off' });
    // At creation and on a new URL: resolved off the loop, then refused.
    let r = await p.adminJson('POST', H, { url: `http://hooks.example.com:${port}/again`, events: ['message.created'] });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json().error, ONLY_DEFAULT);
    r = await p.adminJson('PATCH', `${H}/${w.id}`, { url: `http://hooks.example.com:${port}/patched` });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json().error, ONLY_DEFAULT);
    r = await p.adminJson('POST', H, { url: 'https://nowhere.invalid/h', events: ['message.created'] });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json().error, 'url: host does not resolve');
    assert.equal((await p.admin(H)).json().webhooks.filter((x) => /again|nowhere/.test(x.url)).length, 0, 'none stored');
    // At each delivery: the literal and the name, before any connection.
    for (const id of [w.id, byName.id]) {
      assert.equal((await p.adminJson('POST', `${H}/${id}/test`)).status, 202);
      await waitFor(async () => (await deliveries(id))[0].last_error === REFUSED, 5000, 'refused');
      const [d] = await deliveries(id);
      assert.equal(d.status, 'pending');
      assert.equal(d.response_code, null);
    }
    await sleep(300);
    assert.equal(rx.connections, 0);
    assert.equal(rx.hits.length, 0);
  });
});
