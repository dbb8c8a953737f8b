// A visitor's history whose JSON (control characters take 6 bytes
// escaped) is over the frame's bound (HISTORY_SEND_MAX, 512 KiB) is sent
// with its oldest messages dropped and truncated set, on a resume and on
// open_conversation, whatever its size: the newest message's size is
// chosen so the kept messages land in the bytes the envelope around them
// takes (once trimmed for an envelope of 64 bytes where it is about 100,
// and then nothing was sent).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Parley } from './lib/harness.mjs';
import { createWidget, Visitor } from './lib/wsclient.mjs';

const MAX = 2 * 256 * 1024;	// HISTORY_SEND_MAX
const ID = 'x'.repeat(32);

let p;
before(async () => {
  p = new Parley({ mock: { chunks: 1, delayMs: 0 }, env: { RATE_LIMIT_MAX_REQUESTS: '0' } });
  await p.start();
});
after(async () => {
  if (p) await p.stop();
  assert.deepEqual(p.problems, []);
});

// A history item's compact JSON, as the worker writes it.
const item = (m) => JSON.stringify(m.role === 'assistant'
  ? { role: m.role, content: m.content, id: ID, feedback: null, status: 'complete' }
  : { role: m.role, content: m.content, id: ID });

// The bytes of the newest items (newest first) that fit in max, as the
// worker counts them: brackets, and a comma after each.
function kept(items, max) {
  let used = 2;
  for (const it of items) {
    if (used + it.length + 1 > max) break;
    used += it.length + 1;
  }
  return used;
}

test('a history over the frame\'s bound is sent trimmed, truncated set, when its kept part lands in the envelope\'s bytes', async () => {
  const w = await createWidget(p);
  const v = await Visitor.open(p, w.widget_id);
  const { session_token: token } = await v.next('session');
  const big = '\u0001'.repeat(4000);
  for (let i = 0; i < 13; i++) await v.turn(big);
  v.send({ type: 'conversations' });
  const cid = (await v.next('conversations')).conversations[0].id;
  const older = (await p.admin(`/v1/admin/conversations/${cid}`)).json().messages.map(item).reverse();
  const envelope = JSON.stringify({ type: 'history', messages: [], truncated: true, conversation_id: ID }).length - 2;
  // The last turn's size: trimmed for 64 bytes, the frame is still over.
  let last = null;
  for (let n = 1; n <= 12 * 4000 && last === null; n++) {
    const c = '\u0001'.repeat(Math.floor(n / 12)) + 'a'.repeat(n % 12);
    const items = [item({ role: 'assistant', content: `You said: ${c}` }), item({ role: 'user', content: c }), ...older];
    if (kept(items, MAX - 64) - 1 + envelope > MAX) last = c;
  }
  assert.ok(last !== null, 'a size in the gap');
  await v.turn(last);
  await v.close();

  const again = await Visitor.open(p, w.widget_id, { token });
  await again.next('session');
  const h = await again.next('history');
  assert.equal(h.truncated, true);
  assert.ok(h.messages.length >= 2, `${h.messages.length} messages`);
  assert.ok(JSON.stringify(h).length <= MAX);
  assert.equal(h.messages.at(-2).content, last);
  again.send({ type: 'open_conversation', id: cid });
  const o = await again.next('history');
  assert.equal(o.truncated, true);
  assert.equal(o.messages.at(-1).content, `You said: ${last}`);
  await again.close();
});
