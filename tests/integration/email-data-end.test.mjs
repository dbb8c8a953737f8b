// The SMTP server's answer to the end of a message, slower than the
// notifier's bound on the rest of a transaction (15 s; the test build's
// here NOTIFY_MS, PARLEY_TEST_NOTIFY_TIMEOUT_MS). Debian's aiosmtpd
// (lib/smtpd.py, STARTTLS and AUTH as in email.test.mjs) answers the end
// of each message DATA_HOLD_MS after it came:
//
//   - the notifier waits for it (RFC 5321 4.5.3.2.6: 10 minutes,
//     PARLEY_SMTP_DATA_END_MS): one message, one attempt, sent. Cut at
//     that bound, the attempt failed and the server, which delivers as it
//     answers, got the whole message again at every retry;
//   - a stop while the notifier waits for that answer ends the transfer:
//     the notifier leaves after its grace (PARLEY_SHUTDOWN_TIMEOUT_MS),
//     not killed by masterd.
//
// Every wait is bounded; the Parley and the server stop in after().
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Parley, waitFor } from './lib/harness.mjs';
import { addMember } from './lib/people.mjs';
import { smtpdOf } from './lib/smtp.mjs';
import { createWidget, Visitor } from './lib/wsclient.mjs';

const NOTIFY_MS = 5000;           // the bound before the end (15 s in a release)
const DATA_HOLD_MS = 8000;         // past it
const SHUTDOWN_MS = 2000;

describe('a server slow to answer the end of a message', { timeout: 150000 }, () => {
  let p, smtpd, wd;

  before(async () => {
    smtpd = await smtpdOf('email-end', { dataDelayMs: DATA_HOLD_MS });
    p = new Parley({
      workers: 1,
      mock: true,
      shutdownTimeoutMs: SHUTDOWN_MS,
      env: smtpd.env({
        PARLEY_NOTIFY_RETRY_MS: '1000',
        PARLEY_TEST_NOTIFY_TIMEOUT_MS: String(NOTIFY_MS),
      }),
    });
    await p.start();
    const u = await addMember(p, { role: 'agent' });
    const r = await u.session.request('PUT', '/v1/admin/notifications', { body: { handoff_requested: true } });
    assert.equal(r.status, 200, r.text);
    wd = await createWidget(p, { handoff_enabled: true });
  });
  after(async () => {
    if (p) await p.stop();
    if (smtpd) await smtpd.close();
  });

  async function handoff(text) {
    const v = await Visitor.open(p, wd.widget_id);
    await v.next('session');
    await v.turn(text);
    v.send({ type: 'request_human' });
    assert.equal((await v.next('handoff')).state, 'waiting_human');
    await v.close();
  }

  test('its answer waited for: one message, sent once', async () => {
    await handoff('answer me slowly');
    await waitFor(() => smtpd.mails.length >= 1, 20000, 'the handoff mail');
    // Its outcome: sent (logged), or the attempt failed (the bug).
    const log = () => p.tail('masterd', 1e6);
    await waitFor(() => /mail ml_[0-9a-f]+ \(handoff\) sent|attempt \d+ failed/.test(log()),
      DATA_HOLD_MS + 20000, 'the mail\'s outcome');
    assert.deepEqual(log().split('\n').filter((l) => /attempt \d+ failed/.test(l)), []);
    assert.equal(smtpd.mails.length, 1);
  });

  test('a stop while the answer is awaited ends the transfer', async () => {
    const before = smtpd.mails.length;
    await handoff('stop while I wait');
    await waitFor(() => smtpd.mails.length > before, 20000, 'the mail, its answer held');
    const stopping = p;
    p = null;
    await stopping.stop();
    assert.doesNotMatch(stopping.tail('masterd', 1e6), /notifier \d+ \(pid \d+\) killed by signal/);
  });
});
