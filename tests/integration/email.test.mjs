// Email notifications (issue 23, item 4) received by a real SMTP server:
// Debian's aiosmtpd (tests/integration/lib/smtpd.py) on 127.0.0.1 with a
// certificate this test makes (openssl req), STARTTLS required before
// anything and AUTH required; the notifier verifies the certificate
// (SMTP_CA_FILE) and must upgrade (smtp://, CURLUSESSL_ALL).
//
// Three members of the default organisation: one chose every email, one
// chose only handoffs, one chose none (the default). In order:
//   - the SMTP server is down when a visitor asks for a person: the mail
//     waits in storaged's outbox, the notifier's first attempt fails, the
//     server comes up, and the mail arrives with the next attempt (RETRY_MS,
//     backoff.c's first retry) to the two who chose it, not to the third;
//     its headers (From, To, a one-line Subject even though the visitor's
//     text has CR/LF and a "Bcc:" in it, Date, Message-ID, MIME) and both
//     parts (text/plain, text/html with the visitor's <script> escaped, the
//     dashboard link);
//   - a new contact (its name with <b>): one mail, to the one who chose it;
//   - a contact whose name is an RFC 2047 encoded word of its own (of
//     "\r\nBcc: ..."): the subject, decoded once, is that text as typed,
//     with no line break in it;
//   - a contact deleted (without an erase: its conversation stays) while
//     its mail waits for a retry (the server down): once the server is up
//     and the retry's time is past, the mail is not sent (it once was,
//     with the deleted contact's name and email);
//   - a contact deleted while its conversation's handoff mail waits (the
//     server down): a backup's mails hold neither its name nor its email,
//     and the mail is still sent once the server is up, naming neither;
//   - a visitor writing in `human`: one "waiting" mail, sent once nobody
//     has answered for the quiet time; writing again within 10 minutes
//     makes none; a person answering within the quiet time: none, and the
//     visitor's next message, left unanswered, makes one;
//   - the API: a key (no dashboard user) is 403, a bad body 400;
//   - last, masterd restarted with SMTP_URL at a plain server (no STARTTLS
//     offered, AUTH taken in clear): the attempt fails "STARTTLS not
//     supported" and that server sees neither AUTH nor a message.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { BIN, Parley, freePort, sleep, waitFor } from './lib/harness.mjs';
import { addMember } from './lib/people.mjs';
import { SMTP_FROM as FROM, SMTP_PASSWORD as PASSWORD, SMTP_USER as USER, Smtpd, smtpdOf } from './lib/smtp.mjs';
import { createWidget, Visitor } from './lib/wsclient.mjs';

const N = '/v1/admin/notifications';
const PUBLIC = 'https://chat.example.com';
// How long a visitor's message in `human` waits for a person before its
// "waiting" mail (2 minutes; the test build's here: PARLEY_TEST_MAIL_QUIET_MS).
const QUIET_MS = 3000;
// The first retry's wait after a failed attempt (5 s by default; an
// eighth less at most, doubled at each retry, backoff.c): PARLEY_NOTIFY_RETRY_MS.
const RETRY_MS = 1000;

describe('email notifications through a real SMTP server (STARTTLS, AUTH)', () => {
  let p, smtpd, plain, wd, all, handoffOnly, none;

  before(async () => {
    // Started by the tests, once what they mail is waiting.
    smtpd = await smtpdOf('email', { start: false });
    p = new Parley({
      workers: 1,
      mock: true,
      env: smtpd.env({
        PARLEY_PUBLIC_URL: `${PUBLIC}/`,
        PARLEY_TEST_MAIL_QUIET_MS: String(QUIET_MS),
        PARLEY_NOTIFY_RETRY_MS: String(RETRY_MS),
      }),
    });
    await p.start();
    all = await addMember(p, { role: 'owner' });
    handoffOnly = await addMember(p, { role: 'agent' });
    none = await addMember(p, { role: 'admin' });
    wd = await createWidget(p, { handoff_enabled: true, contact_info_mode: 'optional', collect_name: true, collect_email: true });
  });
  after(async () => {
    if (plain) await plain.stop();
    if (p) await p.stop();
    if (smtpd) await smtpd.close();
  });

  test('each user reads and sets their own choice; a key has none', async () => {
    let r = await all.session.get(N);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json(), { handoff_requested: false, visitor_waiting: false, new_contact: false, email_enabled: true });
    r = await all.session.request('PUT', N, { body: { handoff_requested: true, visitor_waiting: true, new_contact: true } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json(), { handoff_requested: true, visitor_waiting: true, new_contact: true, email_enabled: true });
    r = await handoffOnly.session.request('PUT', N, { body: { handoff_requested: true } });
    assert.deepEqual(r.json(), { handoff_requested: true, visitor_waiting: false, new_contact: false, email_enabled: true });
    // Another user's choice is their own.
    assert.equal((await none.session.get(N)).json().handoff_requested, false);
    assert.equal((await all.session.get(N)).json().new_contact, true);
    for (const body of [{ handoff_requested: 'yes' }, { email_enabled: true }, { other: true }, [true]]) {
      r = await none.session.request('PUT', N, { body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.ok(r.json().error, r.text);
    }
    r = await p.admin(N);
    assert.equal(r.status, 403, r.text);
    assert.ok(r.json().error);
  });

  test('the server down at first: the handoff mail arrives once it is up, STARTTLS, AUTH, headers, escaping', async () => {
    const v = await Visitor.open(p, wd.widget_id);
    await v.next('session');
    await v.turn('Help <script>alert(1)</script>\r\nBcc: evil@example.net\r\nX-Injected: 1');
    v.send({ type: 'request_human' });
    assert.equal((await v.next('handoff')).state, 'waiting_human');
    await waitFor(() => /mail ml_[0-9a-f]{32} \(handoff\), attempt 1 failed/.test(p.tail('masterd', 100000)), 10000,
      'a first attempt that fails (nothing listens)');
    await smtpd.start();
    await waitFor(() => smtpd.mails.length >= 1, 15000, 'the mail, sent again');
    await v.close();
    const [m] = smtpd.mails;
    assert.equal(m.tls, true, 'over STARTTLS');
    assert.ok(smtpd.lines.some((l) => l.auth === USER && l.ok && l.tls), 'AUTH over TLS');
    assert.equal(m.mail_from, FROM);
    assert.deepEqual([...m.rcpt_tos].sort(), [all.email, handoffOnly.email].sort());
    assert.deepEqual(m.headers.from, [`Parley <${FROM}>`]);
    assert.deepEqual(m.headers.to, ['undisclosed-recipients:;'], 'no recipient sees the others');
    assert.equal(m.headers.subject.length, 1);
    assert.equal(m.headers.bcc, undefined);
    assert.equal(m.headers['x-injected'], undefined);
    assert.doesNotMatch(m.head, /^Bcc:|^X-Injected:/mi);
    // The visitor's words, not the assistant's answer to them ("You said: …").
    assert.match(m.subject, /^A visitor asks for a person: Help <script>alert\(1\)<\/script> {2}Bcc: evil@example\.net {2}X-Injected: 1$/);
    assert.ok(!Number.isNaN(Date.parse(m.headers.date[0])), m.headers.date[0]);
    assert.ok(Math.abs(Date.parse(m.headers.date[0]) - Date.now()) < 60000);
    assert.match(m.headers['message-id'][0], /^<ml_[0-9a-f]{32}@example\.com>$/);
    assert.deepEqual(m.headers['mime-version'], ['1.0']);
    assert.match(m.headers['content-type'][0], /^multipart\/alternative; boundary="/);
    const convId = (await p.admin('/v1/admin/conversations')).json().conversations[0]._id;
    // In the conversation's organisation, whichever the dashboard chose last.
    const link = `${PUBLIC}/dashboard/?organization_id=default#/conversations/${convId}`;
    const text = m.parts['text/plain'];
    const html = m.parts['text/html'];
    assert.ok(text.includes('Help <script>alert(1)</script>'), text);
    assert.ok(text.includes(link), text);
    assert.ok(html.includes('Help &lt;script&gt;alert(1)&lt;/script&gt;'), html);
    assert.ok(!html.includes('<script'), html);
    assert.ok(html.includes(`<a href="${link}">`), html);
  });

  test('a new contact: one mail, to the one who chose it, the name escaped', async () => {
    const before = smtpd.mails.length;
    const v = await Visitor.open(p, wd.widget_id);
    await v.next('session');
    await v.turn('hi');
    v.send({ type: 'contact_info', name: 'Zoë <b>Bold</b>', email: 'zoe@example.org' });
    await v.next('contact_info_saved');
    await v.close();
    await waitFor(() => smtpd.mails.length > before, 10000, 'the contact mail');
    const m = smtpd.mails.at(-1);
    assert.deepEqual(m.rcpt_tos, [all.email]);
    assert.deepEqual(m.headers.to, [all.email]);
    assert.match(m.headers.subject[0], /^=\?UTF-8\?B\?/, 'not ASCII: an encoded word');
    assert.equal(m.subject, 'New contact: Zoë <b>Bold</b>');
    assert.ok(m.parts['text/html'].includes('Zoë &lt;b&gt;Bold&lt;/b&gt;'), m.parts['text/html']);
    assert.ok(m.parts['text/html'].includes('zoe@example.org'));
    assert.ok(m.parts['text/plain'].includes('Name: Zoë <b>Bold</b>'));
  });

  test("a visitor's own encoded word in the subject is text: a reader decodes no line break from it", async () => {
    // ASCII alone, so it once went into the Subject as it was: a mail
    // reader decoded it (RFC 2047) into CR, LF and a "Bcc:" line.
    const word = `=?UTF-8?B?${Buffer.from('\r\nBcc: evil@example.net\r\n').toString('base64')}?=`;
    const before = smtpd.mails.length;
    const v = await Visitor.open(p, wd.widget_id);
    await v.next('session');
    await v.turn('hi');
    v.send({ type: 'contact_info', name: word });
    await v.next('contact_info_saved');
    await v.close();
    await waitFor(() => smtpd.mails.length > before, 10000, 'the contact mail');
    const m = smtpd.mails.at(-1);
    assert.equal(m.headers.subject.length, 1);
    assert.equal(m.subject, `New contact: ${word}`, 'decoded once, the visitor\'s word is its own text');
    assert.doesNotMatch(m.subject, /[\r\n]/);
    assert.equal(m.headers.bcc, undefined);
  });

  // A contact mail as a marker: the mails before it have been sent.
  async function marker() {
    const n = smtpd.mails.length;
    const v = await Visitor.open(p, wd.widget_id);
    await v.next('session');
    await v.turn('marker');
    v.send({ type: 'contact_info', name: `Marker ${n}` });
    await v.next('contact_info_saved');
    await v.close();
    await waitFor(() => smtpd.mails.some((m) => m.subject === `New contact: Marker ${n}`), 10000, 'the marker');
    await sleep(300);
  }

  // The id of the newest mail of kind whose first attempt failed.
  const firstFailed = (kind) => [...p.tail('masterd', 1e7).matchAll(new RegExp(`mail (ml_[0-9a-f]{32}) \\(${kind}\\), attempt 1 failed`, 'g'))].at(-1)[1];

  // Sleeps past the next attempt of mail id, whose attempts failed before
  // up (the server listening since): backoff.c's wait after the n-th
  // failed attempt is at most RETRY_MS * 2^(n-1).
  async function pastRetry(id, up) {
    const n = Math.max(...[...p.tail('masterd', 1e7).matchAll(new RegExp(`mail ${id} \\(\\w+\\), attempt (\\d+) failed`, 'g'))]
      .map((m) => Number(m[1])));
    await sleep(Math.max(0, up + RETRY_MS * 2 ** (n - 1) + 1000 - Date.now()));
  }

  // A conversation handed to a person (waiting, then human by the API).
  async function inHuman() {
    const v = await Visitor.open(p, wd.widget_id);
    await v.next('session');
    await v.turn('first');
    v.send({ type: 'request_human' });
    assert.equal((await v.next('handoff')).state, 'waiting_human');
    const convId = (await p.admin('/v1/admin/conversations')).json().conversations[0]._id;
    const r = await p.adminJson('POST', `/v1/admin/conversations/${convId}/handoff`, { state: 'human', name: 'Ada' });
    assert.equal(r.status, 200, r.text);
    assert.equal((await v.next('handoff')).state, 'human');
    return { v, convId };
  }

  // The visitor's message in `human`, stored: its answer is the state.
  async function says(v, content) {
    v.send({ type: 'message', content });
    assert.equal((await v.next('handoff')).state, 'human');
  }
  const waiting = () => smtpd.mails.filter((x) => x.subject.startsWith('A visitor is waiting'));

  test('a visitor waiting in human: a mail once nobody has answered for the quiet time, then none for 10 minutes; none when a person answers in time, one when they then go quiet', async () => {
    const { v, convId } = await inHuman();
    const asked = Date.now();
    await says(v, 'is anyone there?');
    await waitFor(() => smtpd.mails.some((m) => m.subject === 'A visitor is waiting: is anyone there?'), 10000 + QUIET_MS,
      'the waiting mail');
    assert.ok(Date.now() - asked >= QUIET_MS, 'not sent before nobody had answered for the quiet time');
    const m = smtpd.mails.find((x) => x.subject === 'A visitor is waiting: is anyone there?');
    assert.deepEqual(m.rcpt_tos, [all.email]);
    assert.ok(m.parts['text/plain'].includes(`${PUBLIC}/dashboard/?organization_id=default#/conversations/${convId}`));
    await says(v, 'hello??');
    // Another conversation: a person answers the visitor within the quiet time.
    const other = await inHuman();
    await says(other.v, 'thanks, one more thing');
    const r = await p.adminJson('POST', `/v1/admin/conversations/${other.convId}/messages`, { content: 'Ada here.' });
    assert.equal(r.status, 201, r.text);
    assert.equal((await other.v.next('message')).role, 'agent');
    await sleep(QUIET_MS + 1500);
    await marker();
    assert.deepEqual(waiting().map((x) => x.subject), ['A visitor is waiting: is anyone there?']);
    // Then the person goes quiet: the visitor's next message mails.
    await says(other.v, 'are you still there?');
    await waitFor(() => waiting().length === 2, 10000 + QUIET_MS, 'the second waiting mail');
    assert.equal(waiting()[1].subject, 'A visitor is waiting: are you still there?');
    await v.close();
    await other.v.close();
  });

  test('a contact deleted while its mail waits for a retry: the mail is not sent', async () => {
    const NAME = 'Gone Soon';
    const EMAIL = 'gone.soon@example.org';
    const fails = () => (p.tail('masterd', 1e7).match(/\(contact\), attempt 1 failed/g) || []).length;
    const before = fails();
    await smtpd.stop();
    const v = await Visitor.open(p, wd.widget_id);
    await v.next('session');
    await v.turn('hello');
    v.send({ type: 'contact_info', name: NAME, email: EMAIL });
    await v.next('contact_info_saved');
    await v.close();
    await waitFor(() => fails() > before, 10000, 'a first attempt that fails (nothing listens)');
    const id = firstFailed('contact');
    const contact = (await p.admin('/v1/admin/contacts?limit=200')).json().contacts.find((c) => c.email === EMAIL);
    const r = await p.adminJson('DELETE', `/v1/admin/contacts/${contact.id}`);
    assert.equal(r.status, 200, r.text);
    await smtpd.start();
    // Past its retry, then a mail due later: what was due before it has been sent.
    await pastRetry(id, Date.now());
    await marker();
    const about = smtpd.lines.filter((l) => l.data !== undefined && (l.data.includes(EMAIL) || l.data.includes(NAME)));
    assert.deepEqual(about, [], 'no mail about the deleted contact');
  });

  test("a contact deleted while its conversation's handoff mail waits: the mail keeps none of its name or email", async () => {
    const NAME = 'Hidden Hollis';
    const EMAIL = 'hidden.hollis@example.org';
    const fails = () => (p.tail('masterd', 1e7).match(/\(handoff\), attempt 1 failed/g) || []).length;
    const before = fails();
    await smtpd.stop();
    const v = await Visitor.open(p, wd.widget_id);
    await v.next('session');
    v.send({ type: 'contact_info', name: NAME, email: EMAIL });
    await v.next('contact_info_saved');
    await v.turn('a question for a person');
    v.send({ type: 'request_human' });
    assert.equal((await v.next('handoff')).state, 'waiting_human');
    await v.close();
    await waitFor(() => fails() > before, 10000, 'a first attempt that fails (nothing listens)');
    const id = firstFailed('handoff');
    const contact = (await p.admin('/v1/admin/contacts?limit=200')).json().contacts.find((c) => c.email === EMAIL);
    const r = await p.adminJson('DELETE', `/v1/admin/contacts/${contact.id}`);
    assert.equal(r.status, 200, r.text);
    // The mail still waiting holds neither (a backup made now: the mails' records in hex).
    const bk = path.join(smtpd.dir, 'contact-deleted.mdb');
    execFileSync(path.join(BIN, 'parleyctl'), ['-S', p.sockPath, 'backup', bk], { timeout: 60000 });
    const dump = execFileSync('mdb_dump', ['-n', '-s', 'mails', bk], { encoding: 'utf8', maxBuffer: 1 << 28 }).replace(/\s/g, '');
    assert.ok(dump.length > 0);
    for (const s of [NAME, EMAIL]) assert.ok(!dump.includes(Buffer.from(s).toString('hex')), `the waiting mail holds ${s}`);
    // And it is still sent (the conversation stays, a person still asked for), naming neither.
    await smtpd.start();
    await pastRetry(id, Date.now());
    await marker();
    assert.ok(smtpd.mails.some((m) => m.subject.startsWith('A visitor asks for a person: ') && m.subject.includes('a question for a person')),
      smtpd.mails.map((m) => m.subject).join('\n'));
    const about = smtpd.lines.filter((l) => l.data !== undefined && (l.data.includes(EMAIL) || l.data.includes(NAME)));
    assert.deepEqual(about, [], 'no mail about the deleted contact');
  });

  test('a server that offers no STARTTLS gets neither the password nor the mail', async () => {
    plain = new Smtpd(smtpd.dir, await freePort(), { plain: true, user: USER, password: PASSWORD });
    await plain.start();
    // The failed attempts' errors the notifiers logged so far.
    const fails = () => [...p.tail('masterd', 1e7).matchAll(/\(handoff\), attempt \d+ failed: ([^\n]*)/g)].map((m) => m[1]);
    const before = fails().length;
    await p.restartMaster({ SMTP_URL: `smtp://127.0.0.1:${plain.port}` });
    const v = await Visitor.open(p, wd.widget_id);
    await v.next('session');
    await v.turn('plain please');
    v.send({ type: 'request_human' });
    assert.equal((await v.next('handoff')).state, 'waiting_human');
    await v.close();
    await waitFor(() => fails().length > before, 10000, 'an attempt on the plain server that fails');
    assert.match(fails().at(-1), /STARTTLS|TLS|SSL/i, 'refused for want of TLS');
    assert.deepEqual(plain.lines.filter((l) => l.auth !== undefined || l.data !== undefined), [],
      'no AUTH and no message in clear');
  });
});
