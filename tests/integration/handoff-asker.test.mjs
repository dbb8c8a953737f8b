// Who asked for a person, through the real daemons and a real SMTP server
// (Debian's aiosmtpd, lib/smtpd.py): a team member moving a conversation
// into the waiting queue (POST /v1/admin/conversations/:id/handoff
// {"state":"waiting_human"}) is not a visitor asking. The move is made as
// before (the conversation waits, the visitor's socket hears it, the
// dashboard lists it), but it mails nobody "A visitor asks for a person",
// and neither the reports (abandoned, the first response's start:
// handoff_requested_at) nor the knowledge gaps count it as a request. A
// visitor's request_human in another conversation does all three, and its
// mail tells when the notifier has been through what was due before it.
// The conversation says who put it in the queue while it waits there
// (waiting_by: person, visitor).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Parley, sleep, waitFor } from './lib/harness.mjs';
import { addMember } from './lib/people.mjs';
import { smtpdOf } from './lib/smtp.mjs';
import { createWidget, Visitor } from './lib/wsclient.mjs';

describe('a team member moving a conversation to waiting_human', () => {
  let p, smtpd, wd, member;

  before(async () => {
    smtpd = await smtpdOf('asker');
    p = new Parley({ workers: 1, mock: true, env: smtpd.env() });
    await p.start();
    member = await addMember(p, { role: 'owner' });
    const r = await member.session.request('PUT', '/v1/admin/notifications', { body: { handoff_requested: true } });
    assert.equal(r.status, 200, r.text);
    wd = await createWidget(p, { handoff_enabled: true });
  });
  after(async () => {
    if (p) await p.stop();
    if (smtpd) await smtpd.close();
  });

  // A visitor's conversation of one turn: {v, id}.
  async function visit(text) {
    const v = await Visitor.open(p, wd.widget_id);
    await v.next('session');
    await v.turn(text);
    const id = (await p.admin('/v1/admin/conversations')).json().conversations[0]._id;
    return { v, id };
  }

  test('is no visitor asking: no mail, no request in the reports or the gaps; the move itself as before', async () => {
    const moved = await visit('moved to the queue by a person');
    let r = await member.session.request('POST', `/v1/admin/conversations/${moved.id}/handoff`,
      { body: { state: 'waiting_human' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().changed, true);
    assert.equal(r.json().conversation.handoff, 'waiting_human');
    assert.equal(r.json().conversation.handoff_requested_at, null, 'nobody asked for a person');
    assert.equal(r.json().conversation.waiting_by, 'person');
    assert.equal((await moved.v.next('handoff')).state, 'waiting_human', "the visitor's socket hears the move");

    // A visitor asking, after it: its mail is due after the move's would be.
    const asked = await visit('asked for by the visitor');
    asked.v.send({ type: 'request_human' });
    assert.equal((await asked.v.next('handoff')).state, 'waiting_human');
    await waitFor(() => smtpd.mails.length >= 1, 20000, "the visitor's request's mail");
    await sleep(1000);
    assert.deepEqual(smtpd.mails.map((m) => m.subject), ['A visitor asks for a person: asked for by the visitor']);
    assert.deepEqual(smtpd.mails[0].rcpt_tos, [member.email]);

    // Both wait for a person in the dashboard's list.
    r = await p.admin('/v1/admin/conversations?handoff=open');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json().conversations.map((c) => c._id).sort(), [moved.id, asked.id].sort());
    const conv = async (id) => (await p.admin(`/v1/admin/conversations/${id}`)).json().conversation;
    assert.equal((await conv(moved.id)).handoff_requested_at, null);
    assert.equal(typeof (await conv(asked.id)).handoff_requested_at, 'number');
    // Who put each there, as the admin API (and a webhook's conversation) shows it.
    assert.deepEqual([(await conv(moved.id)).waiting_by, (await conv(asked.id)).waiting_by], ['person', 'visitor']);

    // Both handed to people; only the visitor's request waits unanswered.
    r = await p.admin('/v1/admin/reports');
    assert.equal(r.status, 200, r.text);
    const t = r.json().totals;
    assert.deepEqual([t.conversations, t.handed_off, t.abandoned, t.first_responses], [2, 2, 1, 0]);

    // The visitor's question is a gap (handoff); the moved one's is none.
    r = await p.admin('/v1/admin/knowledge-gaps');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json().groups.map((g) => [g.question, g.reasons.handoff]),
      [['asked for by the visitor', 1]]);

    // Taken over: it waits no more, so nobody put it in the queue.
    r = await member.session.request('POST', `/v1/admin/conversations/${moved.id}/handoff`, { body: { state: 'human' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().conversation.waiting_by, null);

    await moved.v.close();
    await asked.v.close();
  });
});
