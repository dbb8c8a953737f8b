// The bound on the mails an organisation's visitors cause, through a real
// SMTP server (Debian's aiosmtpd, lib/smtpd.py, STARTTLS and AUTH as in
// email.test.mjs). Anyone may leave contact details (3 a session) or open
// a conversation and ask for a person: each once mailed every member who
// chose it, so one socket sent a mail a second to each, until the
// organisation's 1,000 pending mails were full and its real ones were
// dropped. Now at most ST_MAIL_BOUND (20; the test build's
// PARLEY_TEST_MAIL_BOUND here, 3) of each kind go out per window
// (ST_MAIL_BOUND_WINDOW_MS, an hour; PARLEY_TEST_MAIL_WINDOW_MS here), at
// once; the rest are told in one summary mail as the window ends:
//   - a single new contact is mailed at once;
//   - a burst of new contacts (one socket's 3, then more sockets'):
//     BOUND mails in all, and one "N more new contacts since …" after the
//     window's end (not before), linking the dashboard's contacts; every
//     contact is listed by the API (nothing left out of the dashboard);
//   - new_conversation, message, request_human again and again on one
//     socket: BOUND handoff mails, and one "N more visitors asked for a
//     person" as its window ends;
//   - the next window: a single contact is mailed at once again.
// Each kind has its own window: the contacts' test and the handoffs' run
// side by side, each waiting out its own.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Parley, sleep, waitFor } from './lib/harness.mjs';
import { addMember } from './lib/people.mjs';
import { smtpdOf } from './lib/smtp.mjs';
import { createWidget, Visitor } from './lib/wsclient.mjs';

const BOUND = 3;
const WINDOW_MS = 12000;
const PUBLIC = 'https://chat.example.com';
// A mail sent "at once": the notifier polls every 250 ms (a second when
// idle; smtpEnv's QUICK_POLLS here).
const AT_ONCE_MS = 5000;

describe('the mails visitors cause are bounded per organisation, the rest summed up', { timeout: 180000, concurrency: true }, () => {
  let p, smtpd, wd, member;

  before(async () => {
    smtpd = await smtpdOf('email-bound');
    p = new Parley({
      workers: 1,
      mock: true,
      env: smtpd.env({
        PARLEY_PUBLIC_URL: `${PUBLIC}/`,
        PARLEY_TEST_MAIL_BOUND: String(BOUND),
        PARLEY_TEST_MAIL_WINDOW_MS: String(WINDOW_MS),
      }),
    });
    await p.start();
    member = await addMember(p, { role: 'owner' });
    const r = await member.session.request('PUT', '/v1/admin/notifications',
      { body: { handoff_requested: true, new_contact: true } });
    assert.equal(r.status, 200, r.text);
    wd = await createWidget(p, { handoff_enabled: true, contact_info_mode: 'optional', collect_name: true, collect_email: true });
  });
  after(async () => {
    if (p) await p.stop();
    if (smtpd) await smtpd.close();
  });

  const contactMails = () => smtpd.mails.filter((m) => m.subject.startsWith('New contact: '));
  const handoffMails = () => smtpd.mails.filter((m) => m.subject.startsWith('A visitor asks for a person: '));
  const summaries = (re) => smtpd.mails.filter((m) => re.test(m.subject));
  const CONTACTS_SUMMARY = /^(\d+) more new contacts? since \d{4}-\d\d-\d\d \d\d:\d\d UTC$/;
  const HANDOFFS_SUMMARY = /^(\d+) more visitors? asked for a person since \d{4}-\d\d-\d\d \d\d:\d\d UTC$/;

  // A visitor's socket, its conversation begun.
  async function visitor() {
    const v = await Visitor.open(p, wd.widget_id);
    await v.next('session');
    await v.turn('hello');
    return v;
  }

  // Contact details of names on one socket (3 at most: a session's bound).
  async function leave(names) {
    const v = await visitor();
    for (const name of names) {
      v.send({ type: 'contact_info', name, email: `${name.toLowerCase().replace(/\W+/g, '.')}@example.org` });
      await v.next('contact_info_saved');
    }
    await v.close();
  }

  // A single contact: its mail comes at once.
  async function single(name) {
    const t0 = Date.now();
    await leave([name]);
    await waitFor(() => contactMails().some((m) => m.subject === `New contact: ${name}`), AT_ONCE_MS, `${name}'s mail`);
    return Date.now() - t0;
  }

  test('a single new contact is mailed at once; a burst: the bound mailed, the rest in one summary as the window ends', async () => {
    const start = Date.now();
    await single('First One');
    // The burst: one socket's 3 submissions, then two sockets' more.
    const burst = ['Flood A', 'Flood B', 'Flood C', 'Flood D', 'Flood E', 'Flood F', 'Flood G'];
    await leave(burst.slice(0, 3));
    await leave(burst.slice(3, 6));
    await leave(burst.slice(6));
    const all = 1 + burst.length;
    // The dashboard's list holds every one.
    const listed = (await p.admin('/v1/admin/contacts?limit=200')).json().contacts;
    assert.equal(listed.length, all, JSON.stringify(listed.map((c) => c.name)));
    // Within the window: the bound's mails, no more, and no summary yet.
    await sleep(Math.min(3000, Math.max(0, start + WINDOW_MS - 2000 - Date.now())));
    assert.ok(Date.now() < start + WINDOW_MS - 500, 'the burst took the whole window: too slow to tell');
    assert.equal(contactMails().length, BOUND, contactMails().map((m) => m.subject).join('\n'));
    assert.deepEqual(summaries(CONTACTS_SUMMARY), [], 'a summary before the window ended');
    // As the window ends: one summary of the rest, to the member.
    await waitFor(() => summaries(CONTACTS_SUMMARY).length > 0, WINDOW_MS + 10000, 'the summary');
    assert.ok(Date.now() >= start + WINDOW_MS - 1000, 'the summary came before the window ended');
    const [s] = summaries(CONTACTS_SUMMARY);
    assert.equal(Number(CONTACTS_SUMMARY.exec(s.subject)[1]), all - BOUND, s.subject);
    assert.deepEqual(s.rcpt_tos, [member.email]);
    assert.ok(s.parts['text/plain'].includes(`${PUBLIC}/dashboard/?organization_id=default#/contacts`), s.parts['text/plain']);
    assert.ok(!s.parts['text/plain'].includes('Flood'), 'a summary names no visitor');
    assert.equal(contactMails().length, BOUND);
    // The next window: one contact is mailed at once again.
    await single('After The Window');
    await sleep(1000);
    assert.equal(summaries(CONTACTS_SUMMARY).length, 1);
  });

  test('new_conversation, message, request_human over and over on one socket: the bound mailed, the rest in one summary', async () => {
    const start = Date.now();
    const v = await visitor();
    const asks = BOUND + 3;
    for (let i = 0; i < asks; i++) {
      if (i > 0) {
        // The next conversation (the one left waiting said so: handoff ai).
        v.send({ type: 'new_conversation' });
        for (let m = await v.next(); m.type !== 'conversation_new'; m = await v.next())
          assert.equal(m.type, 'handoff', JSON.stringify(m));
      }
      await v.turn(`question ${i}`);
      v.send({ type: 'request_human' });
      assert.equal((await v.next('handoff')).state, 'waiting_human');
    }
    await v.close();
    // Every conversation waits for a person in the dashboard's queue.
    const convs = (await p.admin('/v1/admin/conversations?limit=200')).json().conversations;
    assert.equal(convs.filter((c) => c.handoff === 'waiting_human').length, asks);
    await waitFor(() => handoffMails().length >= BOUND, AT_ONCE_MS, 'the bound\'s handoff mails');
    assert.ok(Date.now() < start + WINDOW_MS - 1000, 'too slow to tell');
    await sleep(1000);
    assert.equal(handoffMails().length, BOUND);
    assert.deepEqual(summaries(HANDOFFS_SUMMARY), []);
    await waitFor(() => summaries(HANDOFFS_SUMMARY).length > 0, WINDOW_MS + 10000, 'the summary');
    const [s] = summaries(HANDOFFS_SUMMARY);
    assert.equal(Number(HANDOFFS_SUMMARY.exec(s.subject)[1]), asks - BOUND, s.subject);
    assert.ok(s.parts['text/plain'].includes(`${PUBLIC}/dashboard/?organization_id=default#/conversations`));
    assert.equal(handoffMails().length, BOUND);
  });
});
