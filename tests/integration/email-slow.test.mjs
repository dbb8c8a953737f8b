// Email notifications through a slow SMTP server (Debian's aiosmtpd,
// lib/smtpd.py, STARTTLS and AUTH as in email.test.mjs) that answers each
// RCPT TO RCPT_DELAY_MS after it came and the end of each message
// DATA_HOLD_MS after it came, with PARLEY_NOTIFY_LEASE_MS at its least
// (1 s): a send outlives its mail's lease.
//
//   - a mail taken again while it is being sent (storaged hands it out
//     again once its lease is over, every poll) is not sent again beside
//     it: one handoff, one message, one attempt (the lease is documented
//     so: never two runs of a job at a time by the same notifier);
//   - while the server holds its answer to a mail's DATA, the notifier
//     goes on: a webhook event made then arrives within WEBHOOK_MS, well
//     before the hold ends (libcurl 7.88 waits for that answer in a
//     blocking loop: on the notifier's loop it held every webhook, every
//     storaged reply and the signals until the server answered), and the
//     mail's outcome reaches storaged once the server answers;
//   - a conversation deleted while its mail is being sent (the notifier
//     has leased it, logged in, and waits RCPT_DELAY_MS for its RCPT TO
//     to be answered) is not sent: the notifier asks storaged as the
//     message would end (ST_MAIL_CHECK), finds it gone and aborts, so the
//     server receives no message (one was sent: the visitor's words went
//     out after the owner deleted them).
//
// Every wait is bounded; the Parley and the server stop in after().
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Parley, sleep, waitFor } from './lib/harness.mjs';
import { addMember } from './lib/people.mjs';
import { receiver } from './lib/receiver.mjs';
import { smtpdOf } from './lib/smtp.mjs';
import { createWidget, Visitor } from './lib/wsclient.mjs';

const RCPT_DELAY_MS = 3000;
const DATA_HOLD_MS = 8000;
const WEBHOOK_MS = 4000;           // a webhook's latency during the hold, at most
const LEASE_MS = 1000;

// A stack of its own (a Parley and the slow server) for each part, the
// parts side by side: each waits mostly on the server's holds, and counts
// the mails its own server got.
function slowServer(title, body) {
  describe(title, { concurrency: 1 }, () => {
    const s = {};

    before(async () => {
      s.smtpd = await smtpdOf('email-slow', { rcptDelayMs: RCPT_DELAY_MS, dataDelayMs: DATA_HOLD_MS });
      s.rx = await receiver((req, res) => res.end('ok'));
      s.p = new Parley({
        workers: 1,
        mock: true,
        env: s.smtpd.env({
          PARLEY_NOTIFY_LEASE_MS: String(LEASE_MS),
          PARLEY_WEBHOOK_ALLOW_PRIVATE: 'on',
        }),
      });
      await s.p.start();
      const u = await addMember(s.p, { role: 'agent' });
      const r = await u.session.request('PUT', '/v1/admin/notifications', { body: { handoff_requested: true } });
      assert.equal(r.status, 200, r.text);
      s.wd = await createWidget(s.p, { handoff_enabled: true });
    });
    after(async () => {
      if (s.rx) await s.rx.close();
      if (s.p) await s.p.stop();
      if (s.smtpd) await s.smtpd.close();
    });

    body(s);
  });
}

describe('email through a slow SMTP server, a lease shorter than a send', { timeout: 120000, concurrency: true }, () => {
  slowServer('a lease that ends during a send', (s) => {
    test('a mail whose lease ends while it is being sent is sent once', async () => {
      const { p, smtpd, wd } = s;
      const v = await Visitor.open(p, wd.widget_id);
      await v.next('session');
      await v.turn('one handoff, one mail');
      v.send({ type: 'request_human' });
      assert.equal((await v.next('handoff')).state, 'waiting_human');
      await v.close();
      await waitFor(() => smtpd.mails.length >= 1, 20000, 'the handoff mail');
      // Copies taken meanwhile come a second or more after it: wait for
      // them, and for the server's answer to it (then storaged drops it).
      await sleep(DATA_HOLD_MS + 2000);
      const ids = smtpd.mails.map((m) => m.headers['message-id'][0]);
      assert.deepEqual(ids, [ids[0]], `one message, not ${ids.length}`);
      assert.doesNotMatch(p.tail('masterd', 1e6), /mail ml_[0-9a-f]{32} \(handoff\), attempt \d+ failed/);
    });
  });

  slowServer('a webhook during a hold', (s) => {
    test('while the server holds its answer to a DATA, a webhook arrives promptly', async () => {
      const { p, smtpd, wd, rx } = s;
      const r = await p.adminJson('POST', '/v1/admin/webhooks', { url: rx.url('/h'), events: ['message.created'] });
      assert.equal(r.status, 201, r.text);
      const before = smtpd.mails.length;
      const v = await Visitor.open(p, wd.widget_id);
      await v.next('session');
      await v.turn('a person, please');
      v.send({ type: 'request_human' });
      assert.equal((await v.next('handoff')).state, 'waiting_human');
      await v.close();
      await waitFor(() => smtpd.mails.length > before, 20000, 'the mail, its answer held');
      const held = Date.now();
      const w = await Visitor.open(p, wd.widget_id);
      await w.next('session');
      const t = Date.now();
      await w.turn('during the hold');
      await waitFor(() => rx.hits.some((h) => h.body.includes('during the hold')), 20000, 'the webhook');
      await w.close();
      const at = rx.hits.find((h) => h.body.includes('during the hold')).at;
      assert.ok(at - t < WEBHOOK_MS, `the webhook came ${at - t} ms after its message, ` +
        `${at - held} ms into the server's ${DATA_HOLD_MS} ms hold`);
      // The server answers: the outcome goes to storaged, the mail is not sent again.
      await sleep(Math.max(0, held + DATA_HOLD_MS + 2000 - Date.now()));
      assert.equal(smtpd.mails.length, before + 1);
      const log = p.tail('masterd', 1e6);
      assert.doesNotMatch(log, /ST_MAIL_RESULT failed|attempt \d+ failed/);
    });
  });

  slowServer('a conversation deleted during a send', (s) => {
    test('a conversation deleted while its mail is being sent: the mail is not sent', async () => {
      const { p, smtpd } = s;
      const own = await createWidget(p, { handoff_enabled: true });
      const before = smtpd.mails.length;
      const logins = () => smtpd.lines.filter((l) => l.auth !== undefined).length;
      const loggedIn = logins();
      const v = await Visitor.open(p, own.widget_id);
      await v.next('session');
      await v.turn('words deleted before they were mailed');
      v.send({ type: 'request_human' });
      assert.equal((await v.next('handoff')).state, 'waiting_human');
      await v.close();
      // The notifier took the mail and logged in: its RCPT TO waits.
      await waitFor(() => logins() > loggedIn, 10000, 'the notifier at the server');
      const r = await p.admin('/v1/admin/conversations?limit=200');
      assert.equal(r.status, 200, r.text);
      const conv = r.json().conversations.find((c) => c.widgetId === own.id);
      assert.ok(conv, 'the conversation is listed');
      assert.equal((await p.adminJson('DELETE', `/v1/admin/conversations/${conv._id}`)).status, 204);
      // The RCPT TO answered, the message would end; well past it, none came.
      await sleep(RCPT_DELAY_MS + 3000);
      assert.equal(smtpd.mails.length, before, `sent after its conversation was deleted: ${
        smtpd.mails.slice(before).map((m) => m.subject).join('\n')}`);
      await waitFor(() => /\(handoff\): its conversation or contact was deleted as it was sent: not sent/
        .test(p.tail('masterd', 1e6)), 5000, 'the notifier dropping the mail');
      assert.doesNotMatch(p.tail('masterd', 1e6), /ST_MAIL_RESULT failed|attempt \d+ failed/);
    });
  });
});
