// Issue 13, items 2 and 3: what one
// visitor without credentials can do with contacts and with resumes.
//   - 300 contact_info messages with new emails on one socket store at most
//     the per-session limit of contacts (3);
//   - a claim of an existing contact's email from another session leaves
//     the contact as it was and links the conversation unverified, with
//     what was submitted (admin API);
//   - 30 resumes of a small conversation in a row all resume (the budget
//     is of history replayed), and a client's resumes of 200 short
//     messages stop once the records read pass it;
//   - a 200-message, ~3 MB conversation resumes within the history cap,
//     newest kept and marked truncated, and the visitor chats on; a resume
//     loop from 4 clients is mostly refused (429) while the admin API is
//     sampled (its p99 is printed, not asserted: see tests/bench/abuse-resume.mjs).
// One stack, the per-client message limit off so that only the limits
// under test answer (sessionid.mjs's, before: shared.mjs).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { sharedStack, stopShared } from './shared.mjs';
import { mockReply } from '../lib/chat.mjs';
import { createWidget, Visitor } from '../lib/wsclient.mjs';

const CONTACTS_PER_SESSION = 3;	// ST_CONTACT_SUBMITS_MAX
const HISTORY_EVENT_MAX = 512 * 1024;	// wschat.c HISTORY_SEND_MAX
// A client's resumes: wschat.c's RESUME_KIB_MAX KiB of records read per
// RESUME_WINDOW_MS (10 s), that many whole histories (256 KiB,
// ST_WS_HISTORY_BYTES) a window.
const RESUME_KIB_MAX = 1280;
const RESUMES_PER_WINDOW = RESUME_KIB_MAX / 256;

// The bytes of a frame as the server sent it: compact JSON, UTF-8 (jansson
// and JSON.stringify write the same, keys in order).
const frameBytes = (m) => Buffer.byteLength(JSON.stringify(m));

// The answer to a contact_info: contact_info_saved or an error.
async function submit(v, fields) {
  v.send({ type: 'contact_info', ...fields });
  return v.next();
}

function p99(ms) {
  const s = [...ms].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(s.length * 0.99) - 1)];
}

describe('abuse: contacts and resumes, 2 workers', () => {
  let p;
  let w;
  before(async () => {
    p = await sharedStack();
    w = await createWidget(p, { contact_info_mode: 'optional', collect_name: true, collect_email: true, collect_phone: true });
  });
  after(async () => { await stopShared(); if (p) assert.deepEqual(p.problems, []); });

  test('300 contact_info with new emails on one socket store at most 3 contacts', async () => {
    const v = await Visitor.open(p, w.widget_id);
    await v.next('session');
    let saved = 0;
    let refused = 0;
    for (let i = 0; i < 300; i++) {
      const m = await submit(v, { email: `flood${i}@example.com` });
      if (m.type === 'contact_info_saved') saved++;
      else if (m.type === 'error') refused++;
    }
    assert.equal(saved, CONTACTS_PER_SESSION);
    assert.equal(refused, 300 - CONTACTS_PER_SESSION);
    const r = await p.admin('/v1/admin/contacts?limit=100');
    assert.equal(r.status, 200);
    const flood = r.json().contacts.filter((c) => /^flood\d+@/.test(c.email || ''));
    assert.equal(flood.length, CONTACTS_PER_SESSION);
    // The socket still chats.
    const { message } = await v.turn('still here');
    assert.equal(message.content, mockReply('still here'));
    await v.close();
  });

  test('a claim of an existing contact changes nothing and links unverified', async () => {
    const owner = await Visitor.open(p, w.widget_id);
    await owner.next('session');
    assert.equal((await submit(owner, { name: 'Ada Owner', email: 'ada@example.com' })).type, 'contact_info_saved');
    await owner.turn('owner asks');
    const before = (await p.admin('/v1/admin/contacts?limit=100')).json().contacts.find((c) => c.email === 'ada@example.com');
    assert.ok(before, 'the owner made the contact');

    const mallory = await Visitor.open(p, w.widget_id);
    await mallory.next('session');
    const name = '<img src=x onerror=alert(1)>Mallory';
    assert.equal((await submit(mallory, { name, email: 'ADA@example.com', phone: '+1 555 010 9999' })).type,
      'contact_info_saved');
    await mallory.turn('mallory asks');

    const r = await p.admin(`/v1/admin/contacts/${before.id}`);
    assert.equal(r.status, 200);
    const c = r.json();
    for (const k of ['name', 'email', 'phone', 'created_at', 'updated_at']) assert.deepEqual(c[k], before[k], k);
    assert.equal(c.conversations.length, 2);
    const claimed = c.conversations.find((x) => x.lastMessage === mockReply('mallory asks'));
    const own = c.conversations.find((x) => x.lastMessage === mockReply('owner asks'));
    assert.ok(claimed && own);
    assert.equal(own.contactVerified, true);
    assert.equal(own.submitted, undefined);
    assert.equal(claimed.contactVerified, false);
    assert.deepEqual(claimed.submitted, { name, email: 'ada@example.com', phone: '+15550109999' });
    await owner.close();
    await mallory.close();
  });

  // A visitor going from page to page, or an office behind one address:
  // resumes of small histories are charged what they replay, so 30 in a
  // row all resume (a count of 5 a window refused the sixth).
  test('30 resumes of a small conversation in a row from one client all resume', async () => {
    const v = await Visitor.open(p, w.widget_id);
    const { session_token: token } = await v.next('session');
    await v.turn('page one');
    await v.close();
    for (let i = 0; i < 30; i++) {
      const r = await Visitor.open(p, w.widget_id, { token });
      assert.equal((await r.next('session')).session_token, token, `resume ${i + 1}`);
      const h = await r.next('history');
      assert.deepEqual(h.messages.map((m) => m.content), ['page one', mockReply('page one')]);
      r.ws.terminate();
    }
  });

  test('a 200-message ~3 MB conversation resumes within the cap and chats on; a resume loop is limited', async () => {
    // The visitor's session and conversation, then 199 more messages of ~15 KB.
    const v = await Visitor.open(p, w.widget_id);
    const { session_token: token } = await v.next('session');
    await v.turn('first of many');
    await v.close();
    const list = (await p.admin('/v1/admin/conversations?limit=200')).json().conversations;
    const conv = list.find((c) => c.lastMessage === mockReply('first of many'));
    assert.ok(conv);
    const st = await p.storage();
    let bytes = 0;
    const body = 'x'.repeat(15 * 1024);
    for (let i = 2; i < 200; i++) {
      const content = `m${i} ${body}`;
      bytes += content.length;
      await st.msgAppend(conv._id, i % 2 ? 'assistant' : 'user', content);
    }
    const newest = `newest ${body}`;
    await st.msgAppend(conv._id, 'assistant', newest);
    bytes += newest.length;
    st.close();
    assert.ok(bytes > 3e6, `${bytes} bytes stored`);

    const r = await Visitor.open(p, w.widget_id, { token });
    assert.equal((await r.next('session')).session_token, token);
    const h = await r.next('history');
    const size = frameBytes(h);
    assert.ok(size <= HISTORY_EVENT_MAX, `history event of ${size} bytes`);
    assert.equal(h.truncated, true);
    assert.ok(h.messages.length > 5 && h.messages.length < 200, `${h.messages.length} messages`);
    assert.equal(h.messages.at(-1).content, newest);
    console.log(`# resume of a ${(bytes / 1e6).toFixed(1)} MB conversation: ${h.messages.length} messages, ${size} bytes`);
    // The visitor chats on, on the same socket.
    const { message } = await r.turn('and now?');
    assert.equal(message.content, mockReply('and now?'));
    await r.close();

    // Text that JSON escapes six-fold (control characters): the event still
    // fits, the oldest messages left out.
    const e = await Visitor.open(p, w.widget_id);
    const { session_token: etoken } = await e.next('session');
    await e.turn('escapes ahead');
    await e.close();
    const econv = (await p.admin('/v1/admin/conversations?limit=200')).json().conversations
      .find((c) => c.lastMessage === mockReply('escapes ahead'));
    const st2 = await p.storage();
    const ctl = '\u0001'.repeat(15 * 1024);
    for (let i = 0; i < 30; i++) await st2.msgAppend(econv._id, i % 2 ? 'assistant' : 'user', `c${i} ${ctl}`);
    st2.close();
    const x = await Visitor.open(p, w.widget_id, { token: etoken });
    await x.next('session');
    const eh = await x.next('history');
    assert.ok(frameBytes(eh) <= HISTORY_EVENT_MAX, `escaped history event of ${frameBytes(eh)} bytes`);
    assert.equal(eh.truncated, true);
    assert.ok(eh.messages.length >= 3, `${eh.messages.length} messages`);
    assert.equal(eh.messages.at(-1).content, `c29 ${ctl}`);
    await x.close();

    // 4 clients loop resumes while the admin API is sampled.
    const adminMs = [];
    let looping = true;
    const sampler = (async () => {
      while (looping || adminMs.length < 100) {
        const t0 = performance.now();
        const a = await p.admin('/v1/admin/conversations?limit=20');
        adminMs.push(performance.now() - t0);
        assert.equal(a.status, 200);
      }
    })();
    const per = 40;
    const counts = { ok: 0, limited: 0, other: 0, maxBytes: 0 };
    await Promise.all(Array.from({ length: 4 }, async () => {
      for (let i = 0; i < per; i++) {
        try {
          const x = await Visitor.open(p, w.widget_id, { token });
          await x.next('session');
          counts.maxBytes = Math.max(counts.maxBytes, frameBytes(await x.next('history')));
          counts.ok++;
          x.ws.terminate();
        } catch (e) {
          if (e.status === 429) counts.limited++;
          else counts.other++;
        }
      }
    }));
    looping = false;
    await sampler;
    console.log(`# resume loop: ${counts.ok} resumed, ${counts.limited} refused (429); ` +
      `admin API p99 ${p99(adminMs).toFixed(1)} ms over ${adminMs.length} requests`);
    assert.equal(counts.other, 0);
    // The loop takes a few seconds: it may span two windows.
    assert.ok(counts.ok <= 2 * RESUMES_PER_WINDOW, `${counts.ok} resumes let through`);
    assert.ok(counts.limited >= 4 * per - 2 * RESUMES_PER_WINDOW, `${counts.limited} refused`);
    assert.ok(counts.maxBytes <= HISTORY_EVENT_MAX);
    assert.ok(adminMs.length >= 100);
  });

  // Charged the records read, not the text shown: 200 one-word messages
  // are some 16 KiB of records (ids, roles, times...) for 1 KiB of text.
  // A client of its own (127.0.0.7): its window starts with its first
  // resume, and the loop ends at its first refusal, within the window.
  test('a client\'s resumes of 200 short messages stop once the records read pass the budget', async () => {
    const v = await Visitor.open(p, w.widget_id);
    const { session_token: token } = await v.next('session');
    await v.turn('short ones');
    await v.close();
    const conv = (await p.admin('/v1/admin/conversations?limit=200')).json().conversations
      .find((c) => c.lastMessage === mockReply('short ones'));
    const st = await p.storage();
    for (let i = 0; i < 198; i++) await st.msgAppend(conv._id, i % 2 ? 'assistant' : 'user', `s${i}`);
    st.close();
    let ok = 0;
    let sent = 0;
    let refused = false;
    const t0 = Date.now();
    while (!refused && Date.now() - t0 < 9000) {
      try {
        const r = await Visitor.open(p, w.widget_id, { token, localAddress: '127.0.0.7' });
        await r.next('session');
        const h = await r.next('history');
        assert.equal(h.messages.length, 200);
        sent += frameBytes(h);
        ok++;
        r.ws.terminate();
      } catch (e) {
        if (e.status !== 429) throw e;
        refused = true;
      }
    }
    console.log(`# resumes of 200 short messages: ${ok} resumed (${(sent / 1024).toFixed(0)} KiB of history sent), then ${refused ? '429' : 'none refused'}`);
    assert.ok(refused, `refused within the window, after ${ok}`);
    assert.ok(ok >= 10, `${ok} resumed`);
    // The budget and one history past it, each frame at most twice its
    // records (HISTORY_EVENT_MAX is twice ST_WS_HISTORY_BYTES).
    assert.ok(sent <= 2 * (RESUME_KIB_MAX + 256) * 1024, `${sent} bytes sent`);
  });
});
