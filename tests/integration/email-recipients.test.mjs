// Who receives a mail, decided again as it is sent, through a real SMTP
// server (Debian's aiosmtpd, lib/smtpd.py, STARTTLS and AUTH as in
// email.test.mjs), PARLEY_NOTIFY_RETRY_MS 1 s:
//
//   - members removed, disabled or unsubscribed while their mail waits for
//     a retry (the server down at first) get nothing: a mail is written
//     with the recipients of its time, and storaged hands it out with only
//     those who are still enabled members of its organisation and still
//     chose its kind (they all got it, however long its retries went on);
//     a mail none of whose recipients is left is dropped unsent (logged);
//   - one recipient refused for now (450 to its RCPT TO, as greylisting
//     does) gets the mail at a retry, it alone, the same message; one
//     refused for good (550) is dropped (logged), its RCPT TO never sent
//     again. libcurl 7.88 goes on without a refused recipient and says
//     nothing: the mail, sent to the others, was deleted, and the one
//     refused for now never got it.
//
// Every wait is bounded; the Parley and the server stop in after().
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Parley, waitFor } from './lib/harness.mjs';
import { addMember } from './lib/people.mjs';
import { smtpdOf } from './lib/smtp.mjs';
import { createWidget, Visitor } from './lib/wsclient.mjs';

const N = '/v1/admin/notifications';

describe('the recipients of a mail, checked as it is sent', { timeout: 120000 }, () => {
  let p, smtpd, wd, replies;

  before(async () => {
    // Not started: the first test starts it once each mail has failed.
    smtpd = await smtpdOf('email-rcpt', { start: false });
    replies = path.join(smtpd.dir, 'rcpt.json');
    fs.writeFileSync(replies, '{}');
    smtpd.rcptReplies = replies;
    p = new Parley({
      workers: 1,
      mock: true,
      env: smtpd.env({
        PARLEY_NOTIFY_RETRY_MS: '1000',
      }),
    });
    await p.start();
    wd = await createWidget(p, { handoff_enabled: true, contact_info_mode: 'optional', collect_name: true, collect_email: true });
  });
  after(async () => {
    if (p) await p.stop();
    if (smtpd) await smtpd.close();
  });

  // member chooses exactly body's emails.
  async function choose(member, body) {
    const r = await member.session.request('PUT', N, { body });
    assert.equal(r.status, 200, r.text);
  }

  test('removed, disabled, unsubscribed while the mail waits: not sent to them', async () => {
    const stays = await addMember(p, { role: 'owner' });
    const removed = await addMember(p, { role: 'agent' });
    const disabled = await addMember(p, { role: 'agent' });
    const unsubscribed = await addMember(p, { role: 'agent' });
    for (const m of [stays, removed, disabled]) await choose(m, { handoff_requested: true });
    // The only one who wants "new contact" mails: that mail is left with nobody.
    await choose(unsubscribed, { handoff_requested: true, new_contact: true });

    // Nothing listens on port: each mail's first attempt fails.
    const v = await Visitor.open(p, wd.widget_id);
    await v.next('session');
    await v.turn('please mail the members of now');
    v.send({ type: 'contact_info', name: 'Ann Example', email: 'ann@example.org' });
    await v.next('contact_info_saved');
    v.send({ type: 'request_human' });
    assert.equal((await v.next('handoff')).state, 'waiting_human');
    await v.close();
    await waitFor(() => /\(handoff\), attempt 1 failed/.test(p.tail('masterd', 1e6)) &&
      /\(contact\), attempt 1 failed/.test(p.tail('masterd', 1e6)), 20000, 'both mails\' first attempts');

    let r = await p.adminJson('DELETE', `/v1/admin/users/${removed.id}`);
    assert.equal(r.status, 200, r.text);
    r = await p.adminJson('PATCH', `/v1/admin/users/${disabled.id}`, { disabled: true });
    assert.equal(r.status, 200, r.text);
    await choose(unsubscribed, {});

    await smtpd.start();
    // The one who stays chose handoffs alone: theirs is the handoff mail.
    await waitFor(() => smtpd.mails.some((m) => m.rcpt_tos.includes(stays.email)), 30000, 'the handoff mail, retried');
    assert.deepEqual(smtpd.mails.find((m) => m.rcpt_tos.includes(stays.email)).rcpt_tos, [stays.email]);
    await waitFor(() => /mail ml_[0-9a-f]+ \(contact, organisation \S+\): none of its recipients is still a member who wants it: not sent/
      .test(p.tail('storaged', 1e6)), 30000, 'the contact mail dropped');
    assert.deepEqual(smtpd.mails.map((m) => m.rcpt_tos), [[stays.email]]);
  });

  test('a recipient refused for now gets it at a retry; one refused for good does not', async () => {
    const ok = await addMember(p, { role: 'agent' });
    const later = await addMember(p, { role: 'agent' });
    const never = await addMember(p, { role: 'agent' });
    for (const m of [ok, later, never]) await choose(m, { handoff_requested: true });
    fs.writeFileSync(replies, JSON.stringify({
      [later.email]: '450 4.2.0 Greylisted, try again later',
      [never.email]: '550 5.1.1 No such user',
    }));
    const before = smtpd.mails.length;
    const v = await Visitor.open(p, wd.widget_id);
    await v.next('session');
    await v.turn('a mail for three');
    v.send({ type: 'request_human' });
    assert.equal((await v.next('handoff')).state, 'waiting_human');
    await v.close();
    await waitFor(() => smtpd.mails.slice(before).some((m) => m.rcpt_tos.includes(ok.email)), 20000, 'the mail');
    const first = smtpd.mails.slice(before).find((m) => m.rcpt_tos.includes(ok.email));
    assert.ok(!first.rcpt_tos.includes(later.email) && !first.rcpt_tos.includes(never.email), first.rcpt_tos.join(' '));
    // The greylisting over: the next retry reaches the one refused for now.
    fs.writeFileSync(replies, JSON.stringify({ [never.email]: '550 5.1.1 No such user' }));
    await waitFor(() => smtpd.mails.slice(before).some((m) => m.rcpt_tos.includes(later.email)), 30000,
      'the mail, retried for the one refused for now');
    const again = smtpd.mails.slice(before).find((m) => m.rcpt_tos.includes(later.email));
    assert.deepEqual(again.rcpt_tos, [later.email]);
    assert.equal(again.headers['message-id'][0], first.headers['message-id'][0]);
    const id = /<(ml_[0-9a-f]+)@/.exec(first.headers['message-id'][0])[1];
    await waitFor(() => new RegExp(`mail ${id} \\(handoff\\) sent`).test(p.tail('masterd', 1e6)), 10000, 'sent');
    assert.match(p.tail('masterd', 1e6), new RegExp(`mail ${id} \\(handoff\\): recipient ${never.email} refused for good \\(550\\)`));
    const asked = (who) => smtpd.lines.filter((l) => l.rcpt === who.email).length;
    assert.equal(asked(never), 1, 'the one refused for good is not asked again');
    assert.equal(asked(ok), 1, 'the one who got it is not sent it again');
    assert.equal(smtpd.mails.slice(before).length, 2);
  });
});
