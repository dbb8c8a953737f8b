// Attachments through the headless chat API (docs/attachments.md, "The chat
// API"): a developer's client uploads with the API key and its sessionId,
// names the uploads in POST /v1/chat and /v1/chat/stream, and finds them in
// /v1/chat/history behind signed links; another sessionId owns nothing;
// the key is needed for everything but a signed link.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Parley } from './lib/harness.mjs';
import { PIECE, png } from './lib/attach.mjs';

describe('attachments over the chat API', { concurrency: 1 }, () => {
  let p;
  const sid = (s) => `${s}-${Math.random().toString(16).slice(2, 10)}`;
  const keyed = (extra = {}) => ({ 'x-api-key': p.widgetKey, ...extra });
  const json = (body) => JSON.stringify(body);

  // Uploads data as name for sessionId s: {status, json, id}.
  async function apiUpload(s, name, data) {
    let r = await p.request('POST', '/v1/chat/attachments', {
      headers: keyed({ 'Content-Type': 'application/json' }),
      body: json({ sessionId: s, name, size: data.length }),
    });
    if (r.status !== 201) return { status: r.status, json: r.json() };
    const { id } = r.json();
    for (let off = 0; off < data.length; off += PIECE) {
      const piece = data.subarray(off, Math.min(off + PIECE, data.length));
      r = await p.request('PUT', `/v1/chat/attachments/${id}?sessionId=${s}`, {
        headers: keyed({ 'Content-Range': `bytes ${off}-${off + piece.length - 1}/${data.length}` }),
        body: piece,
      });
      if (r.status !== 200) return { status: r.status, json: r.json(), id };
    }
    return { status: r.status, json: r.json(), id };
  }

  const chat = (path, body) => p.request('POST', path, {
    headers: keyed({ 'Content-Type': 'application/json' }), body: json(body),
  });
  const completions = async () => (await p.mock.requests()).filter((x) => x.path.endsWith('/chat/completions'));

  before(async () => {
    p = new Parley({ workers: 1, mock: true, env: { RATE_LIMIT_MAX_REQUESTS: '0' } });
    await p.start();
    const eyes = await p.adminJson('POST', '/v1/admin/agents', { name: 'API eyes', vision: true });
    assert.equal(eyes.status, 201, eyes.text);
    // The chat API's widget is the install's first, "default".
    const dw = (await p.adminJson('GET', '/v1/admin/widgets')).json().widgets[0];
    const r = await p.adminJson('PATCH', `/v1/admin/widgets/${dw.widget_id}`,
      { attachment_types: ['image', 'text'], attachment_max_mb: 2, agent_id: eyes.json().id });
    assert.equal(r.status, 200, r.text);
  });
  after(() => p?.stop());

  test('an upload needs the key and a sessionId; the widget\'s kinds and size hold', async () => {
    let r = await p.request('POST', '/v1/chat/attachments', {
      headers: { 'Content-Type': 'application/json' }, body: json({ sessionId: 's1', name: 'a.png', size: 10 }),
    });
    assert.equal(r.status, 401);
    assert.equal(r.json().error, 'Unauthorized');
    r = await p.request('POST', '/v1/chat/attachments', {
      headers: keyed({ 'Content-Type': 'application/json' }), body: json({ sessionId: 'a b', name: 'a.png', size: 10 }),
    });
    assert.equal(r.status, 400);
    assert.match(r.json().error, /sessionId/);
    // A NUL inside: no sessionId, as /v1/chat says (not its first part).
    r = await p.request('POST', '/v1/chat/attachments', {
      headers: keyed({ 'Content-Type': 'application/json' }), body: '{"sessionId":"s1\\u0000x","name":"a.png","size":10}',
    });
    assert.equal(r.status, 400);
    assert.match(r.json().error, /sessionId/);
    r = await p.request('POST', '/v1/chat/attachments', {
      headers: keyed({ 'Content-Type': 'application/json' }), body: json({ sessionId: 's1', name: 'big.png', size: 3 << 20 }),
    });
    assert.equal(r.status, 413);
    assert.equal(r.json().max_bytes, 2 << 20);
    const pdf = await apiUpload(sid('pdf'), 'doc.pdf', Buffer.from('%PDF-1.7\n%%EOF\n'));
    assert.equal(pdf.status, 415, 'the default widget takes no PDFs here');
    // A piece without the key, or of another sessionId: nothing.
    const s = sid('own');
    r = await p.request('POST', '/v1/chat/attachments', {
      headers: keyed({ 'Content-Type': 'application/json' }), body: json({ sessionId: s, name: 'n.txt', size: 5 }),
    });
    assert.equal(r.status, 201, r.text);
    const { id } = r.json();
    r = await p.request('PUT', `/v1/chat/attachments/${id}?sessionId=${s}`, { headers: { 'Content-Range': 'bytes 0-4/5' }, body: 'hello' });
    assert.equal(r.status, 401);
    r = await p.request('PUT', `/v1/chat/attachments/${id}?sessionId=${s}-x`, { headers: keyed({ 'Content-Range': 'bytes 0-4/5' }), body: 'hello' });
    assert.equal(r.status, 404);
    r = await p.request('PUT', `/v1/chat/attachments/${id}`, { headers: keyed({ 'Content-Range': 'bytes 0-4/5' }), body: 'hello' });
    assert.equal(r.status, 400);
    assert.match(r.json().error, /sessionId/);
    // In pieces, as the widget's.
    const two = await apiUpload(s, 'two.png', png(PIECE + 100));
    assert.equal(two.status, 200, JSON.stringify(two.json));
    assert.deepEqual([two.json.complete, two.json.size, two.json.received], [true, PIECE + 100, PIECE + 100]);
    r = await p.request('DELETE', `/v1/chat/attachments/${id}?sessionId=${s}`, { headers: keyed() });
    assert.equal(r.status, 204);
    r = await p.request('PUT', `/v1/chat/attachments/${id}?sessionId=${s}`, { headers: keyed({ 'Content-Range': 'bytes 0-4/5' }), body: 'hello' });
    assert.equal(r.status, 404, 'given up');
  });

  test('a picture named by POST /v1/chat reaches the model as an image_url part and comes back in the history', async () => {
    const s = sid('pic');
    const pic = png(60000);	// the mock logs bodies of 256 KiB at most
    const up = await apiUpload(s, 'fork.png', pic);
    assert.equal(up.status, 200, JSON.stringify(up.json));
    assert.equal(up.json.complete, true);
    assert.equal(up.json.type, 'image/png');

    // Another session names it: refused, nothing stored.
    let r = await chat('/v1/chat', { sessionId: sid('thief'), message: 'mine now', attachments: [up.id] });
    assert.equal(r.status, 400, r.text);
    assert.match(r.json().error, /attachments/);
    r = await chat('/v1/chat', { sessionId: s, attachments: ['nope'] });
    assert.equal(r.status, 400);

    await p.mock.clearRequests();
    r = await chat('/v1/chat', { sessionId: s, attachments: [up.id] });
    assert.equal(r.status, 200, r.text);
    const convId = r.json().conversationId;
    const calls = await completions();
    assert.equal(calls.length, 1);
    const last = calls[0].body.messages.at(-1);
    assert.equal(last.role, 'user');
    assert.ok(Array.isArray(last.content), JSON.stringify(last).slice(0, 200));
    assert.match(last.content[0].text, /\[Attached: fork\.png \(image\/png, \d+ KB\)\]/);
    assert.equal(last.content[1].type, 'image_url');
    assert.ok(Buffer.from(last.content[1].image_url.url.slice('data:image/png;base64,'.length), 'base64').equals(pic));

    // Named once: a second message naming it is refused.
    r = await chat('/v1/chat', { sessionId: s, message: 'again', attachments: [up.id] });
    assert.equal(r.status, 400);

    const h = await p.get(`/v1/chat/history?sessionId=${s}`, { headers: keyed() });
    assert.equal(h.status, 200, h.text);
    const mine = h.json().messages.filter((m) => m.role === 'user');
    assert.equal(mine.length, 1, 'the refused messages were never stored');
    assert.equal(mine[0].content, '');
    const a = mine[0].attachments[0];
    assert.deepEqual([a.id, a.name, a.type, a.size], [up.id, 'fork.png', 'image/png', pic.length]);
    assert.match(a.url, new RegExp(`^/v1/chat/attachments/${up.id}\\?exp=\\d+&sig=[0-9a-f]{32}$`));
    // A signed link opens without the key, byte for byte, as nothing that runs.
    const got = await p.get(a.url);
    assert.equal(got.status, 200);
    assert.ok(got.body.equals(pic));
    assert.equal(got.headers['content-type'], 'image/png');
    assert.equal(got.headers['x-content-type-options'], 'nosniff');
    assert.match(got.headers['content-security-policy'], /default-src 'none'; sandbox/);
    assert.equal(got.headers['cache-control'], 'private, max-age=60');
    const forged = a.url.replace(/sig=./, (m) => (m.endsWith('0') ? 'sig=1' : 'sig=0'));
    const bad = await p.get(forged);
    assert.equal(bad.status, 403);
    assert.equal((await p.get(`/v1/chat/attachments/${up.id}`)).status, 403);
    // A page's fetch of the link (and of a refused one) gets one
    // Access-Control-Allow-Origin, the chat API's (CORS_ORIGIN "*"): the
    // link's own "*" beside it made "*, *", which a browser refuses.
    const origin = { Origin: 'https://shop.example' };
    for (const [url, status] of [[a.url, 200], [forged, 403], [`/v1/chat/attachments/${up.id}`, 403]]) {
      const r = await p.request('GET', url, { headers: origin });
      assert.equal(r.status, status, url);
      assert.equal(r.headers['access-control-allow-origin'], '*', url);
    }

    // The dashboard sees it too.
    const g = (await p.adminJson('GET', `/v1/admin/conversations/${convId}`)).json();
    assert.equal(g.conversation._id, convId);
    assert.equal(g.messages.find((m) => m.role === 'user').attachments[0].id, up.id);
  });

  test('a text file named by POST /v1/chat/stream follows its message to the model', async () => {
    const s = sid('log');
    // The first 16 KiB go to the model.
    const log = Buffer.from(`error 42 at boot\n${'x'.repeat(100000)}\nTAIL-NOT-SENT\n`);
    const up = await apiUpload(s, 'boot.log', log);
    assert.equal(up.status, 200, JSON.stringify(up.json));
    assert.equal(up.json.type, 'text/plain; charset=utf-8');
    await p.mock.clearRequests();
    const r = await chat('/v1/chat/stream', { sessionId: s, message: 'Why?', attachments: [up.id] });
    assert.equal(r.status, 200, r.text);
    const events = r.text.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(events[0].type, 'start');
    assert.equal(events.at(-1).type, 'done');
    const last = (await completions())[0].body.messages.at(-1);
    assert.ok(Array.isArray(last.content) || typeof last.content === 'string');
    const text = Array.isArray(last.content) ? last.content[0].text : last.content;
    assert.match(text, /^Why\?\n\n\[Attached: boot\.log \(text\/plain; charset=utf-8, 98 KB\)\]\n\n--- boot\.log \(its beginning\) ---\nerror 42 at boot\n/);
    assert.ok(!text.includes('TAIL-NOT-SENT'));
  });

  test('hostile files are served as nothing that runs: an SVG with a script, an HTML page named .png, a PNG with HTML after it', async () => {
    const s = sid('hostile');
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
    const html = Buffer.from('<!doctype html><html><script>alert(2)</script></html>');
    const poly = Buffer.concat([png(2000), Buffer.from('<html><script>alert(3)</script></html>')]);
    const ups = [];
    for (const [name, data] of [['logo.svg', svg], ['photo.png', html], ['poly.png', poly]]) {
      const up = await apiUpload(s, name, data);
      assert.equal(up.status, 200, JSON.stringify(up.json));
      ups.push(up);
    }
    assert.deepEqual(ups.map((u) => u.json.type), ['text/plain; charset=utf-8', 'text/plain; charset=utf-8', 'image/png']);
    const r = await chat('/v1/chat', { sessionId: s, message: 'three files', attachments: ups.map((u) => u.id) });
    assert.equal(r.status, 200, r.text);
    const h = (await p.get(`/v1/chat/history?sessionId=${s}`, { headers: keyed() })).json();
    const atts = h.messages.find((m) => m.role === 'user').attachments;
    for (const [i, want] of [[0, 'text/plain; charset=utf-8'], [1, 'text/plain; charset=utf-8'], [2, 'image/png']]) {
      const got = await p.get(atts[i].url);
      assert.equal(got.status, 200);
      assert.equal(got.headers['content-type'], want);
      assert.equal(got.headers['x-content-type-options'], 'nosniff');
      assert.equal(got.headers['content-security-policy'], "default-src 'none'; sandbox");
      assert.match(got.headers['content-disposition'], want === 'image/png' ? /^inline;/ : /^attachment;/);
    }
  });

  test('an old client\'s body is as before: message still required without files', async () => {
    const r = await chat('/v1/chat', { sessionId: sid('old') });
    assert.equal(r.status, 400);
    const e = r.json();
    assert.equal(e.error, 'Invalid request payload');
    assert.match(e.details, /message: required/);
  });
});
