// Attachments (docs/attachments.md) through the real stack: a visitor's
// upload in pieces over HTTP with its session token, named by its next
// WebSocket message, seen by the dashboard's API and served back byte for
// byte with headers that run nothing; a person's reply with a file, seen
// by the visitor through a signed link; the type decided by the bytes
// (an HTML page named .png is text; a zip declared as text is refused);
// the widget's types and size limit; a piece out of order; a stranger's
// token; the widget's allowed origins holding for its uploads and their
// preflight; a cut upload swept; a conversation's deletion taking its files;
// a person's upload completed, deleted or named through its own
// conversation only; a PDF the fetcher dies reading read again once its
// lease ends, or given up as unreadable after 3;
// PARLEY_VISION_MEMORY_MB: an image past a worker's bound left out of its
// turn, the model told, shown again once another turn's images are freed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Parley, QUICK_POLLS, sleep, waitFor } from './lib/harness.mjs';
import { T, rep, req } from './lib/storage.mjs';
import { PIECE, pdf, png, pngChunk, upload } from './lib/attach.mjs';
import { assertJsonError } from './lib/checks.mjs';
import { createWidget, Visitor } from './lib/wsclient.mjs';

// A backup of p's store (parleyctl backup): storaged checkpoints first,
// so LMDB holds every acknowledged write. Its file.
let backups = 0;
async function backup(p) {
  const file = path.join(p.tmp, `backup-${backups++}.mdb`);
  const r = await p.ctl(['backup', file]);
  assert.equal(r.code, 0, r.stderr);
  return file;
}

// What mdb_stat says of LMDB file (a backup) or directory: n the number
// after label (its first).
function mdbStat(args, label) {
  const out = execFileSync('mdb_stat', args, { encoding: 'utf8' });
  const m = new RegExp(`${label}: (\\d+)`).exec(out);
  assert.ok(m, out);
  return Number(m[1]);
}

// The three parts' stacks side by side: each waits mostly on its own
// (the fetcher's reads, the leases' ends, a turn); a part's tests still
// run one after another.
describe('stacks of their own', { concurrency: true }, () => {
  describe('attachments', { concurrency: 1 }, () => {
    let p;
    let w;
    const admin = (method, path, body) => p.adminJson(method, path, body);

    // A visitor of w with its session token.
    async function visitor(widget = w) {
      const v = await Visitor.open(p, widget.widget_id);
      const s = await v.next('session');
      return { v, token: s.session_token };
    }

    before(async () => {
      p = new Parley({ workers: 2, mock: true, env: { RATE_LIMIT_MAX_REQUESTS: '0', PARLEY_ATTACH_RATE_MB: '30', ...QUICK_POLLS } });
      await p.start();
      w = await createWidget(p, { name: 'Bikes', attachment_types: ['image', 'pdf', 'text'], attachment_max_mb: 1 });
    });
    after(() => p?.stop());

    test('the widget says what it takes', async () => {
      const r = await p.get(`/api/widget/${w.widget_id}/config`);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json().attachment_types, ['image', 'pdf', 'text']);
      assert.equal(r.json().attachment_max_mb, 1);
      const bad = await admin('PATCH', `/v1/admin/widgets/${w.widget_id}`, { attachment_types: ['exe'] });
      assert.equal(bad.status, 400);
      assert.match(bad.json().error, /attachment_types/);
    });

    test('a visitor sends a photo in two pieces; the dashboard sees and opens it', async () => {
      const { v, token } = await visitor();
      const photo = png(3 * PIECE + 12345);
      const up = await upload(p, w.widget_id, token, '../../bent fork.png', photo);
      assert.equal(up.status, 200, JSON.stringify(up.json));
      assert.equal(up.json.complete, true);
      assert.equal(up.json.type, 'image/png');
      assert.equal(up.json.size, photo.length);
      assert.equal(up.json.name, 'bent fork.png');
      // Characters that change how a name reads are taken out of it: a
      // right-to-left override showed "invoice\u202efdp.hta" as
      // "invoiceath.pdf" in the dashboard.
      // So are the C1 controls (U+009B begins a terminal's escape) and the
      // line and paragraph separators.
      const bidi = await upload(p, w.widget_id, token, 'invoice\u202efdp\u200b\u2066\u0085\u009b\u2028\u2029.hta', Buffer.from('just text\n'));
      assert.equal(bidi.status, 200, JSON.stringify(bidi.json));
      // A name is shown and saved with its type's extension: this text
      // saved as ".hta" would run when opened.
      assert.equal(bidi.json.name, 'invoicefdp.hta.txt');
      const kept = await upload(p, w.widget_id, token, 'Notes.TXT', Buffer.from('just text\n'));
      assert.equal(kept.json.name, 'Notes.TXT');

      v.send({ type: 'message', content: '', attachments: [up.id, bidi.id] });
      await v.next('typing_start');
      let m;
      do m = await v.next(); while (m.type !== 'message');
      // The newest conversation is this visitor's.
      const conv = (await admin('GET', '/v1/admin/conversations')).json().conversations[0];
      const g = (await admin('GET', `/v1/admin/conversations/${conv._id}`)).json();
      const mine = g.messages.find((x) => x.role === 'user');
      assert.equal(mine.attachments.length, 2);
      const [a, text] = mine.attachments;
      assert.deepEqual([text.name, text.type], ['invoicefdp.hta.txt', 'text/plain; charset=utf-8']);
      const saved = await p.admin(text.url);
      assert.equal(saved.status, 200);
      assert.match(saved.headers['content-disposition'], /^attachment; filename="invoicefdp\.hta\.txt"; filename\*=UTF-8''invoicefdp\.hta\.txt$/);
      assert.deepEqual([a.id, a.name, a.type, a.size], [up.id, 'bent fork.png', 'image/png', photo.length]);
      assert.equal(a.url, `/v1/admin/conversations/${conv._id}/attachments/${up.id}`);

      const r = await p.admin(a.url);
      assert.equal(r.status, 200);
      assert.ok(r.body.equals(photo), 'the bytes as sent');
      assert.equal(r.headers['content-type'], 'image/png');
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      assert.match(r.headers['content-security-policy'], /default-src 'none'; sandbox/);
      assert.match(r.headers['content-disposition'], /^inline; filename="bent fork.png"/);
      assert.equal(r.headers['cache-control'], 'private, no-cache');
      // Another conversation's path: nothing.
      const other = await p.admin(`/v1/admin/conversations/${'0'.repeat(32)}/attachments/${up.id}`);
      assert.equal(other.status, 404);
      v.ws.close();
    });

    // A client whose answer to the last piece was lost sends it again:
    // the upload is whole, so 409 with received, as a file of one piece
    // gets, and the file is still there to send. The worker, reading the
    // earlier pieces back to strip it, found no upload in progress and
    // deleted the file (404 no such upload; the message naming it refused).
    test('a last piece sent again once the upload is whole: 409, the file kept and sent', async () => {
      const { v, token } = await visitor();
      const photo = png(PIECE + 1000);
      const up = await upload(p, w.widget_id, token, 'again.png', photo);
      assert.equal(up.status, 200, JSON.stringify(up.json));
      assert.equal(up.json.complete, true);
      const r = await p.request('PUT', `/api/widget/${w.widget_id}/attachments/${up.id}`, {
        headers: { 'X-Parley-Session': token, 'Content-Range': `bytes ${PIECE}-${photo.length - 1}/${photo.length}` },
        body: photo.subarray(PIECE) });
      assert.equal(r.status, 409, r.text);
      assert.equal(r.json().received, photo.length);
      v.send({ type: 'message', content: 'again', attachments: [up.id] });
      let m;
      do m = await v.next(); while (m.type !== 'typing_stop' && m.type !== 'error');
      assert.equal(m.type, 'typing_stop', JSON.stringify(m));
      const conv = (await admin('GET', '/v1/admin/conversations')).json().conversations[0];
      const g = (await admin('GET', `/v1/admin/conversations/${conv._id}`)).json();
      const [a] = g.messages.find((x) => x.role === 'user').attachments;
      assert.equal(a.id, up.id);
      const got = await p.admin(a.url);
      assert.equal(got.status, 200);
      assert.ok(got.body.equals(photo), 'the bytes as sent');
      v.ws.close();
    });

    test('the visitor\'s history links its files, signed; a changed link opens nothing', async () => {
      const { v, token } = await visitor();
      const up = await upload(p, w.widget_id, token, 'receipt.pdf', Buffer.from('%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n'));
      assert.equal(up.status, 200, JSON.stringify(up.json));
      v.send({ type: 'message', content: 'My receipt', attachments: [up.id] });
      let m;
      do m = await v.next(); while (m.type !== 'typing_stop');
      v.ws.close();
      const again = await Visitor.open(p, w.widget_id, { token });
      await again.next('session');
      const h = await again.next('history');
      const item = h.messages.find((x) => x.role === 'user');
      assert.equal(item.content, 'My receipt');
      const a = item.attachments[0];
      assert.equal(a.type, 'application/pdf');
      assert.match(a.url, new RegExp(`^/api/widget/${w.widget_id}/attachments/${up.id}\\?exp=\\d+&sig=[0-9a-f]{32}$`));
      const r = await p.get(a.url);
      assert.equal(r.status, 200);
      assert.match(r.headers['content-disposition'], /^attachment; filename="receipt.pdf"/);
      assert.equal(r.headers['access-control-allow-origin'], '*');
      // Kept a minute at most: a file deleted, or its link expired, is
      // not shown from a browser's cache for an hour after.
      assert.equal(r.headers['cache-control'], 'private, max-age=60');
      assert.equal(r.body.toString('latin1').slice(0, 8), '%PDF-1.7');
      // HEAD answers the head a GET has: it said Content-Length: 0 of a
      // file of 45 bytes.
      const head = await p.request('HEAD', a.url);
      assert.equal(head.status, 200);
      assert.equal(head.headers['content-length'], r.headers['content-length']);
      assert.equal(head.headers['transfer-encoding'], r.headers['transfer-encoding']);
      assert.equal(head.headers['content-disposition'], r.headers['content-disposition']);
      const forged = a.url.replace(/sig=[0-9a-f]/, (s) => s.slice(0, -1) + (s.endsWith('0') ? '1' : '0'));
      assert.equal((await p.get(forged)).status, 403);
      const later = a.url.replace(/exp=(\d+)/, (s, e) => `exp=${Number(e) + 1}`);
      assert.equal((await p.get(later)).status, 403);
      assert.equal((await p.get(a.url.replace(/\?.*/, ''))).status, 403);
      // The same link under another widget's path: refused as a forged one.
      const other = await createWidget(p, { name: 'Other', attachment_types: ['pdf'] });
      const elsewhere = await p.get(a.url.replace(w.widget_id, other.widget_id));
      assert.equal(elsewhere.status, 403);
      assert.equal(elsewhere.text, (await p.get(forged)).text);
      assert.equal((await p.get(a.url.replace(/^\/api\/widget\/[^/]+/, '/v1/chat'))).status, 403);
      assert.equal((await p.get(a.url)).status, 200);
      again.ws.close();
    });

    test('a person replies with a picture; the visitor gets it, linked', async () => {
      const { v, token } = await visitor();
      await v.turn('Hello');
      v.send({ type: 'request_human' });
      const convs = (await admin('GET', '/v1/admin/conversations')).json().conversations;
      const conv = convs[0];
      const pic = png(2000);
      // A body with a NUL in the name, or a field it does not take: 400.
      for (const [body, error] of [[{ name: 'report\u0000.exe.txt', size: 5 }, /^name: /],
        [{ name: 'a.txt', size: 5, zz: 1 }, /^body: unknown field/]]) {
        const bad = await admin('POST', `/v1/admin/conversations/${conv._id}/attachments`, body);
        assert.equal(bad.status, 400, bad.text);
        assert.match(bad.json().error, error);
      }
      // An id no upload can have is no upload's (it was 503 for one too long to encode).
      for (const bad of ['a'.repeat(40), `att_${'0'.repeat(40)}`, 'att_nope']) {
        const d = await p.request('DELETE', `/v1/admin/canned-replies/attachments/${bad}`, { headers: { 'x-admin-api-key': p.adminKey } });
        assert.equal(d.status, 404, `${bad}: ${d.text}`);
        assert.equal(d.json().error, 'no such upload');
      }
      let r = await admin('POST', `/v1/admin/conversations/${conv._id}/attachments`, { name: 'fix.png', size: pic.length });
      assert.equal(r.status, 201, r.text);
      const { id } = r.json();
      r = await p.request('PUT', `/v1/admin/conversations/${conv._id}/attachments/${id}`, {
        headers: { 'x-admin-api-key': p.adminKey, 'Content-Range': `bytes 0-${pic.length - 1}/${pic.length}` }, body: pic,
      });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json().complete, true);
      // Refused, it says why: the same file twice, one not whole.
      r = await admin('POST', `/v1/admin/conversations/${conv._id}/messages`, { content: '', attachments: [id, id], name: 'Dana' });
      assert.equal(r.status, 400, r.text);
      assert.match(r.json().error, /^attachments: each at most once/);
      r = await admin('POST', `/v1/admin/conversations/${conv._id}/attachments`, { name: 'half.png', size: pic.length });
      assert.equal(r.status, 201, r.text);
      const half = r.json().id;
      r = await admin('POST', `/v1/admin/conversations/${conv._id}/messages`, { content: '', attachments: [half], name: 'Dana' });
      assert.equal(r.status, 400, r.text);
      assert.match(r.json().error, /^attachments: no such upload, or not whole yet/);
      r = await admin('POST', `/v1/admin/conversations/${conv._id}/messages`, { content: '', attachments: [id], name: 'Dana' });
      assert.equal(r.status, 201, r.text);
      let m;
      do m = await v.next(); while (!(m.type === 'message' && m.role === 'agent'));
      assert.equal(m.attachments[0].id, id);
      const got = await p.get(m.attachments[0].url);
      assert.equal(got.status, 200);
      assert.ok(got.body.equals(pic));
      // A visitor cannot name a person's upload, nor one of another session.
      const stranger = await visitor();
      const theirs = await upload(p, w.widget_id, stranger.token, 'x.png', png(100));
      v.send({ type: 'message', content: 'mine?', attachments: [theirs.id] });
      const e = await v.next('error');
      assert.match(e.message ?? e.error ?? JSON.stringify(e), /attachments|try again|went wrong/i);
      v.ws.close();
      stranger.v.ws.close();
      assert.ok(token);
    });

    // A canned reply's upload of pic, complete: its id.
    async function cannedUpload(pic, name) {
      let r = await admin('POST', '/v1/admin/canned-replies/attachments', { name, size: pic.length });
      assert.equal(r.status, 201, r.text);
      const { id } = r.json();
      for (let off = 0; off < pic.length; off += PIECE) {
        const piece = pic.subarray(off, Math.min(off + PIECE, pic.length));
        r = await p.request('PUT', `/v1/admin/canned-replies/attachments/${id}`, {
          headers: { 'x-admin-api-key': p.adminKey, 'Content-Range': `bytes ${off}-${off + piece.length - 1}/${pic.length}` }, body: piece,
        });
        assert.equal(r.status, 200, r.text);
      }
      assert.equal(r.json().complete, true);
      return id;
    }

    test('a canned reply keeps files; each reply that uses it sends the visitor a copy', async () => {
      const pic = png(PIECE + 3000);
      const id = await cannedUpload(pic, 'how-to.png');
      let r = await admin('POST', '/v1/admin/canned-replies', { shortcut: 'howto', text: 'Here is how', attachments: [id] });
      assert.equal(r.status, 201, r.text);
      const canned = r.json();
      assert.deepEqual(canned.attachments.map((a) => [a.id, a.name, a.type, a.url]),
        [[id, 'how-to.png', 'image/png', `/v1/admin/canned-replies/attachments/${id}`]]);
      const own = await p.admin(canned.attachments[0].url);
      assert.equal(own.status, 200);
      assert.ok(own.body.equals(pic));
      assert.match(own.headers['content-security-policy'], /sandbox/);
      // Listed with its files; an edit without attachments keeps them.
      r = await admin('PUT', `/v1/admin/canned-replies/${canned.id}`, { shortcut: 'howto', text: 'Here is how:' });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json().attachments[0].id, id);
      const listed = (await admin('GET', '/v1/admin/canned-replies')).json().items.find((x) => x.id === canned.id);
      assert.equal(listed.attachments[0].id, id);
      // Used twice: each reply sends a copy of its own.
      const copies = [];
      for (let i = 0; i < 2; i++) {
        const { v } = await visitor();
        await v.turn(`Help ${i}`);
        const conv = (await admin('GET', '/v1/admin/conversations')).json().conversations[0];
        r = await admin('POST', `/v1/admin/conversations/${conv._id}/messages`, { content: 'Here is how:', attachments: [id], name: 'Dana' });
        assert.equal(r.status, 201, r.text);
        let m;
        do m = await v.next(); while (!(m.type === 'message' && m.role === 'agent'));
        const a = m.attachments[0];
        assert.notEqual(a.id, id);
        assert.equal(a.name, 'how-to.png');
        const got = await p.get(a.url);
        assert.equal(got.status, 200);
        assert.ok(got.body.equals(pic), 'the visitor gets the canned picture');
        copies.push([conv._id, a.id]);
        v.ws.close();
      }
      assert.notEqual(copies[0][1], copies[1][1]);
      // A visitor's link to the canned reply's own file opens nothing.
      assert.equal((await p.get(`/api/widget/${w.widget_id}/attachments/${id}?exp=9999999999999&sig=${'0'.repeat(32)}`)).status, 404);
      // Deleting one conversation leaves the canned reply's file and the other copy.
      assert.equal((await admin('DELETE', `/v1/admin/conversations/${copies[0][0]}`)).status, 204);
      assert.equal((await p.admin(canned.attachments[0].url)).status, 200);
      assert.equal((await p.admin(`/v1/admin/conversations/${copies[1][0]}/attachments/${copies[1][1]}`)).status, 200);
      // The canned reply deleted: its file is gone, the copy sent stays.
      assert.equal((await admin('DELETE', `/v1/admin/canned-replies/${canned.id}`)).status, 204);
      assert.equal((await p.admin(canned.attachments[0].url)).status, 404);
      const kept = await p.admin(`/v1/admin/conversations/${copies[1][0]}/attachments/${copies[1][1]}`);
      assert.equal(kept.status, 200);
      assert.ok(kept.body.equals(pic));
      // Someone else's upload, or none: refused.
      r = await admin('POST', '/v1/admin/canned-replies', { shortcut: 'nope', text: 'x', attachments: [`att_${'0'.repeat(32)}`] });
      assert.equal(r.status, 400);
      assert.match(r.json().error, /attachments/);
      // A person's file of no kind kept: told without naming a widget.
      const zip = Buffer.alloc(3000, 7);
      zip.write('PK\x03\x04', 0, 'latin1');
      r = await admin('POST', '/v1/admin/canned-replies/attachments', { name: 'notes.zip', size: zip.length });
      assert.equal(r.status, 201, r.text);
      r = await p.request('PUT', `/v1/admin/canned-replies/attachments/${r.json().id}`, {
        headers: { 'x-admin-api-key': p.adminKey, 'Content-Range': `bytes 0-${zip.length - 1}/${zip.length}` }, body: zip,
      });
      assertJsonError(r, 415, 'type: not a kind of file kept (images, PDFs and plain text, decided by the file\'s bytes)');
      // A PUT with "attachments": null deletes its files, as [] does (docs/attachments.md).
      const other = await cannedUpload(png(2000), 'map.png');
      const withMap = (await admin('POST', '/v1/admin/canned-replies', { shortcut: 'map', text: 'The map', attachments: [other] })).json();
      r = await admin('PUT', `/v1/admin/canned-replies/${withMap.id}`, { shortcut: 'map', text: 'The map', attachments: null });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json().attachments, []);
      assert.equal((await p.admin(`/v1/admin/canned-replies/attachments/${other}`)).status, 404);
    });

    test('a person\'s upload is its conversation\'s: another\'s path, or the canned replies\', neither completes nor deletes it', async () => {
      // Two conversations of the organisation, A and B.
      const convs = [];
      for (const hello of ['Hello A', 'Hello B']) {
        const { v } = await visitor();
        await v.turn(hello);
        convs.push((await admin('GET', '/v1/admin/conversations')).json().conversations[0]._id);
        v.ws.close();
      }
      const [a, b] = convs;
      assert.notEqual(a, b);
      const key = { 'x-admin-api-key': p.adminKey };
      const pic = png(1500);
      const whole = { ...key, 'Content-Range': `bytes 0-${pic.length - 1}/${pic.length}` };
      const put = (base, id) => p.request('PUT', `${base}/${id}`, { headers: whole, body: pic });
      const del = (base, id) => p.request('DELETE', `${base}/${id}`, { headers: key });
      const [pathA, pathB, canned] = [`/v1/admin/conversations/${a}/attachments`,
        `/v1/admin/conversations/${b}/attachments`, '/v1/admin/canned-replies/attachments'];
      const made = async (base) => {
        const r = await admin('POST', base, { name: 'fix.png', size: pic.length });
        assert.equal(r.status, 201, r.text);
        return r.json().id;
      };
      const refused = (r, what) => {
        assert.equal(r.status, 404, `${what}: ${r.text}`);
        assert.equal(r.json().error, 'no such upload', what);
      };
      // A's upload: through B's path or the canned replies', no such upload.
      const id = await made(pathA);
      refused(await put(pathB, id), 'completed through B');
      refused(await put(canned, id), 'completed through the canned replies');
      refused(await del(pathB, id), 'deleted through B');
      refused(await del(canned, id), 'deleted through the canned replies');
      // Through A's it completes, whole still (nothing of it was taken).
      let r = await put(pathA, id);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json().complete, true);
      // B's messages, and a canned reply, cannot name it; A's can.
      r = await admin('POST', `/v1/admin/conversations/${b}/messages`, { content: '', attachments: [id], name: 'Dana' });
      assert.equal(r.status, 400, r.text);
      r = await admin('POST', '/v1/admin/canned-replies', { shortcut: 'theirs', text: 'x', attachments: [id] });
      assert.equal(r.status, 400, r.text);
      r = await admin('POST', `/v1/admin/conversations/${a}/messages`, { content: '', attachments: [id], name: 'Dana' });
      assert.equal(r.status, 201, r.text);
      assert.equal((await p.admin(`${pathA}/${id}`)).status, 200);
      assert.equal((await p.admin(`${pathB}/${id}`)).status, 404);
      // A canned reply's upload: not through a conversation's path, nor
      // named by a conversation's message before a canned reply holds it.
      const own = await made(canned);
      refused(await put(pathA, own), 'a canned upload completed through A');
      refused(await del(pathA, own), 'a canned upload deleted through A');
      assert.equal((await put(canned, own)).status, 200);
      r = await admin('POST', `/v1/admin/conversations/${a}/messages`, { content: 'x', attachments: [own], name: 'Dana' });
      assert.equal(r.status, 400, r.text);
      assert.match(r.json().error, /^attachments: no such upload/);
      assert.equal((await del(canned, own)).status, 204);
      // Another of A's deleted through A's path: gone.
      const gone = await made(pathA);
      assert.equal((await del(pathA, gone)).status, 204);
      refused(await put(pathA, gone), 'a deleted upload');
    });

    test('an agent with vision sees the visitor\'s picture as an image_url part; one without, its name', async () => {
      let r = await admin('POST', '/v1/admin/agents', { name: 'Eyes', vision: true });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.json().vision, true);
      const seeing = await createWidget(p, { name: 'Seeing', agent_id: r.json().id, attachment_types: ['image'] });
      const blind = await createWidget(p, { name: 'Blind', attachment_types: ['image'] });
      const pic = png(3000);
      for (const [widget, sees] of [[seeing, true], [blind, false]]) {
        const { v, token } = await visitor(widget);
        const up = await upload(p, widget.widget_id, token, 'fork.png', pic);
        assert.equal(up.status, 200, JSON.stringify(up.json));
        await p.mock.clearRequests();
        const before = (await p.mock.stats()).images;
        v.send({ type: 'message', content: 'What is bent here?', attachments: [up.id] });
        let m;
        do m = await v.next(); while (m.type !== 'typing_stop');
        const calls = (await p.mock.requests()).filter((x) => x.path.endsWith('/chat/completions'));
        assert.equal(calls.length, 1);
        const last = calls[0].body.messages.at(-1);
        assert.equal(last.role, 'user');
        if (sees) {
          assert.ok(Array.isArray(last.content), JSON.stringify(last).slice(0, 200));
          assert.equal(last.content[0].type, 'text');
          assert.match(last.content[0].text, /^What is bent here\?\n\n\[Attached: fork\.png \(image\/png, 3 KB\)\]$/);
          assert.equal(last.content[1].type, 'image_url');
          const url = last.content[1].image_url.url;
          assert.ok(url.startsWith('data:image/png;base64,'));
          assert.ok(Buffer.from(url.slice(22), 'base64').equals(pic), 'the picture as uploaded');
          assert.equal((await p.mock.stats()).images, before + 1);
        } else {
          assert.equal(typeof last.content, 'string');
          assert.match(last.content, /\[Attached: fork\.png/);
          assert.equal((await p.mock.stats()).images, before);
        }
        v.ws.close();
      }
    });

    // A picture whose first bytes and container are a PNG's (all Parley
    // checks) but whose data the model's server cannot decode: OpenAI
    // answers 400 invalid_image. The images of the last 10 messages go
    // with every turn, so each turn of the conversation failed until it
    // was 10 messages back. Now the request is asked once more without
    // them, the model told which it was not shown; a 400 to that one, or
    // to a request with no image, fails the turn as before.
    test('a picture the model cannot decode (400 invalid_image): asked again without it, the model told; later turns answered; a 400 again, or with no image, fails the turn', async () => {
      const r = await admin('POST', '/v1/admin/agents', { name: 'Squint', vision: true });
      assert.equal(r.status, 201, r.text);
      const widget = await createWidget(p, { name: 'Squinting', agent_id: r.json().id, attachment_types: ['image'] });
      const { v, token } = await visitor(widget);
      const up = await upload(p, widget.widget_id, token, 'fork.png', png(3000));
      assert.equal(up.status, 200, JSON.stringify(up.json));
      const files = '[Attached: fork.png (image/png, 3 KB)]\n[fork.png: could not be shown to you]';
      // A turn's frames to its typing_stop: its reply's message, or its error.
      const turn = async (ws, msg) => {
        ws.send(msg);
        let m, end;
        do {
          m = await ws.next();
          if (m.type === 'message' || m.type === 'error') end = m;
        } while (m.type !== 'typing_stop');
        return end;
      };
      await p.mock.config({ refuse_images: true });
      try {
        await p.mock.clearRequests();
        let end = await turn(v, { type: 'message', content: 'What is bent here?', attachments: [up.id] });
        assert.equal(end.type, 'message', JSON.stringify(end));
        assert.equal(end.role, 'assistant');
        let calls = await p.mock.completions();
        assert.equal(calls.length, 2, 'asked once more');
        const first = calls[0].body.messages.at(-1);
        assert.ok(Array.isArray(first.content) && first.content[1].type === 'image_url', 'the first request held the picture');
        assert.equal(calls[1].body.messages.at(-1).content, `What is bent here?\n\n${files}`);
        assert.ok(!JSON.stringify(calls[1].body).includes('image_url'), 'no image part asked again');
        // Logged once, with the status and the server's message.
        const logged = () => (p.logs.masterd.match(/wschat: the model refused a request with 1 image \(HTTP 400: You uploaded an unsupported image\. Please make sure your image is valid\.\): asking again without them/g) || []).length;
        await waitFor(() => logged() > 0, 5000, 'the retry logged');
        assert.equal(logged(), 1);
        // The next turn sends the picture again (one of the last 10
        // messages'): refused, asked again without it, answered.
        await p.mock.clearRequests();
        end = await turn(v, { type: 'message', content: 'And the wheel?' });
        assert.equal(end.type, 'message', JSON.stringify(end));
        calls = await p.mock.completions();
        assert.equal(calls.length, 2);
        assert.equal(JSON.stringify(calls[0].body).match(/"type":"image_url"/g).length, 1, 'the picture sent again');
        const users = calls[1].body.messages.filter((x) => x.role === 'user');
        assert.deepEqual(users.map((x) => x.content), [`What is bent here?\n\n${files}`, 'And the wheel?']);
        // Refused without it too: the turn fails, asked again once only.
        await p.mock.clearRequests();
        end = await turn(v, { type: 'message', content: 'Still there? [[mock:status=400]]' });
        assert.equal(end.type, 'error', JSON.stringify(end));
        assert.equal((await p.mock.completions()).length, 2, 'asked again once, not more');
      } finally {
        await p.mock.config({ refuse_images: false });
      }
      const conv = (await admin('GET', '/v1/admin/conversations')).json().conversations[0];
      const g = (await admin('GET', `/v1/admin/conversations/${conv._id}`)).json();
      assert.deepEqual(g.messages.filter((x) => x.role === 'assistant').map((x) => x.status), ['complete', 'complete', 'failed']);
      v.ws.close();
      // A 400 to a request with no image: the turn fails, not asked again.
      const plain = await visitor(widget);
      await p.mock.clearRequests();
      const end = await turn(plain.v, { type: 'message', content: 'Hello [[mock:status=400]]' });
      assert.equal(end.type, 'error', JSON.stringify(end));
      assert.equal((await p.mock.completions()).length, 1);
      plain.v.ws.close();
    });

    test('a text file goes to the model after its message, its first 16 KiB', async () => {
      const { v, token } = await visitor();
      const log = Buffer.from(`line 1: error 42 at boot\n${'x'.repeat(20000)}\nTAIL-NOT-SENT\n`);
      const up = await upload(p, w.widget_id, token, 'boot.log', log);
      assert.equal(up.status, 200, JSON.stringify(up.json));
      assert.equal(up.json.type, 'text/plain; charset=utf-8');
      await p.mock.clearRequests();
      v.send({ type: 'message', content: 'Why does it fail?', attachments: [up.id] });
      let m;
      do m = await v.next(); while (m.type !== 'typing_stop');
      const calls = (await p.mock.requests()).filter((x) => x.path.endsWith('/chat/completions'));
      const last = calls[0].body.messages.at(-1);
      assert.equal(typeof last.content, 'string');
      assert.match(last.content, /^Why does it fail\?\n\n\[Attached: boot\.log \(text\/plain; charset=utf-8, 20 KB\)\]\n\n--- boot\.log \(its beginning\) ---\nline 1: error 42 at boot\n/);
      assert.ok(!last.content.includes('TAIL-NOT-SENT'));
      assert.ok(last.content.endsWith('\n--- end of file ---'));
      assert.ok(last.content.length < 17 * 1024);
      v.ws.close();
    });

    // Each PDF is read by the fetcher (up to 5 s of CPU): one address could
    // keep a core busy about 20 minutes an hour with what the byte budgets
    // let through. Its PDFs an hour are counted (ST_ATT_PDF_HOUR, 20).
    test('a client\'s PDFs an hour: the 21st refused with a wait; its images, and another address\'s PDFs, go on', async () => {
      const { v, token } = await visitor();
      const tiny = (i) => Buffer.from(`%PDF-1.4\n% ${i}\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n`);
      const from = '127.0.0.5';
      for (let i = 0; i < 20; i++) {
        const up = await upload(p, w.widget_id, token, `bill-${i}.pdf`, tiny(i), { localAddress: from });
        assert.equal(up.status, 200, `PDF ${i}: ${JSON.stringify(up.json)}`);
      }
      const over = await upload(p, w.widget_id, token, 'bill-20.pdf', tiny(20), { localAddress: from });
      assertJsonError({ status: over.status, json: () => over.json, headers: over.headers }, 429,
        'Too many PDFs from this address (at most 20 an hour, each read for the assistant), please wait');
      const wait = Number(over.headers['retry-after']);
      assert.ok(wait > 3000 && wait <= 3600, `Retry-After ${over.headers['retry-after']}`);
      const photo = await upload(p, w.widget_id, token, 'photo.png', png(2000), { localAddress: from });
      assert.equal(photo.status, 200, JSON.stringify(photo.json));
      const other = await upload(p, w.widget_id, token, 'bill.pdf', tiny(99), { localAddress: '127.0.0.6' });
      assert.equal(other.status, 200, JSON.stringify(other.json));
      v.ws.close();
    });

    // Only a PDF whose first piece is stored counts: a first piece sent
    // again (a client's retry after a lost answer, refused as out of
    // order) is not another PDF begun.
    test('a client\'s PDFs an hour count the PDFs begun, not the first pieces refused', async () => {
      const { v, token } = await visitor();
      const tiny = (i) => Buffer.from(`%PDF-1.4\n% again ${i}\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n`);
      const from = '127.0.0.21';	// an address of its own: the count is by address
      const first = await upload(p, w.widget_id, token, 'bill-0.pdf', tiny(0), { localAddress: from });
      assert.equal(first.status, 200, JSON.stringify(first.json));
      const body = tiny(0);
      for (let i = 0; i < 20; i++) {
        const r = await p.request('PUT', `/api/widget/${w.widget_id}/attachments/${first.id}`, {
          localAddress: from,
          headers: { 'X-Parley-Session': token, 'Content-Range': `bytes 0-${body.length - 1}/${body.length}` },
          body,
        });
        assert.ok(r.status >= 400 && r.status !== 429, `the piece again: ${r.status} ${r.text}`);
      }
      for (let i = 1; i < 20; i++) {
        const up = await upload(p, w.widget_id, token, `bill-${i}.pdf`, tiny(i), { localAddress: from });
        assert.equal(up.status, 200, `PDF ${i}: ${JSON.stringify(up.json)}`);
      }
      const over = await upload(p, w.widget_id, token, 'bill-20.pdf', tiny(20), { localAddress: from });
      assert.equal(over.status, 429, JSON.stringify(over.json));
      v.ws.close();
    });

    test('a PDF\'s text, read by the fetcher, goes to the model with its message', async () => {
      const { v, token } = await visitor();
      const pdf = fs.readFileSync(new URL('../fixtures/knowledge/paragraphs.pdf', import.meta.url));
      const up = await upload(p, w.widget_id, token, 'manual.pdf', pdf);
      assert.equal(up.status, 200, JSON.stringify(up.json));
      assert.equal(up.json.type, 'application/pdf');
      v.send({ type: 'message', content: 'What does the manual say?', attachments: [up.id] });
      let m;
      do m = await v.next(); while (m.type !== 'typing_stop');
      // The fetcher reads it on its own time: wait until storaged keeps its
      // text (asked straight, so no turn pushes the message out of the
      // history the model is sent), then the next turn's history has it.
      const st = await p.storage({ name: 'itest-pdf-text' });
      try {
        await waitFor(async () => {
          const r = rep(T.ST_ATT_READ, await st.call(T.ST_ATT_READ, req(T.ST_ATT_READ, { id: up.id, piece: 0, mode: 3, widget_id: '' })));
          return r.result === 0 && r.text !== '';
        }, 30000, 'the fetcher kept the PDF\'s text');
      } finally { st.close(); }
      await p.mock.clearRequests();
      await v.turn('and then?');
      const calls = (await p.mock.requests()).filter((x) => x.path.endsWith('/chat/completions'));
      const mine = calls[0].body.messages.find((x) => x.role === 'user' && String(x.content).startsWith('What does the manual say?'));
      const seen = mine && mine.content.includes('--- manual.pdf (its text) ---') ? mine.content : null;
      assert.ok(seen, 'the PDF\'s text reached the model');
      assert.match(seen, /\[Attached: manual\.pdf \(application\/pdf, \d+ KB\)\]/);
      assert.match(seen, /bullet item/);
      v.ws.close();
    });

    // The fetcher reads PDFs one at a time, each up to 5 s: one address's 20
    // an hour once held another visitor's one behind them all (the queue
    // went by the uploads' random ids). It is served round by round across
    // clients: the others' each wait for one of the first's at most. The
    // queue is storaged's, on disk: storaged killed meanwhile loses none.
    test('PDFs are read in turn across clients: another address\'s one waits for one of a client\'s many, not all, through a kill -9', async () => {
      const { v, token } = await visitor();
      // A PDF poppler reads no page of: the fetcher logs it as it reads it.
      const tiny = (i) => Buffer.from(`%PDF-1.4\n% turn ${i}\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n`);
      await waitFor(() => p.fetcherPids().length === 1, 10000, 'a fetcher');
      const [fetcher] = p.fetcherPids();
      const many = [];
      const few = [];
      // Held while all are queued, so the order is the queue's alone.
      process.kill(fetcher, 'SIGSTOP');
      try {
        for (let i = 0; i < 19; i++) {
          const up = await upload(p, w.widget_id, token, `many-${i}.pdf`, tiny(i), { localAddress: '127.0.0.7' });
          assert.equal(up.status, 200, `PDF ${i}: ${JSON.stringify(up.json)}`);
          many.push(up.id);
        }
        for (const from of ['127.0.0.8', '127.0.0.9', '127.0.0.10', '127.0.0.11']) {
          const up = await upload(p, w.widget_id, token, 'one.pdf', tiny(from), { localAddress: from });
          assert.equal(up.status, 200, `${from}: ${JSON.stringify(up.json)}`);
          few.push(up.id);
        }
        // Queued with the upload, their turns too: a kill -9 loses none.
        await p.killStoraged('SIGKILL');
        const from = p.logs.masterd.length;
        await p.startStoraged();
        await p.waitConnected(from);
      } finally {
        process.kill(fetcher, 'SIGCONT');
      }
      const at = (id) => p.logs.masterd.indexOf(`attachments: ${id}: no text read`);
      await waitFor(() => [...many, ...few].every((id) => at(id) >= 0), 60000, 'every PDF read');
      for (const id of few) {
        const before = many.filter((m) => at(m) < at(id)).length;
        assert.ok(before <= 1, `${id} read after ${before} of the other address's 19`);
      }
      assert.deepEqual(p.fetcherPids(), [fetcher], 'the same fetcher');
      v.ws.close();
    });

    test('the most files a turn shows at once: 4 images, 2 text files and 2 PDFs of a visitor\'s messages', async () => {
      let r = await admin('POST', '/v1/admin/agents', { name: 'Many eyes', vision: true });
      const many = await createWidget(p, { agent_id: r.json().id, attachment_types: ['image', 'pdf', 'text'] });
      const { v, token } = await visitor(many);
      const pdfBytes = fs.readFileSync(new URL('../fixtures/knowledge/paragraphs.pdf', import.meta.url));
      const files = [
        ...Array.from({ length: 5 }, (_, i) => [`p${i}.png`, png(1000 + i)]),
        ['a.txt', Buffer.from('first notes')], ['b.txt', Buffer.from('second notes')], ['c.txt', Buffer.from('third notes')],
        ['a.pdf', pdfBytes], ['b.pdf', pdfBytes],
      ];
      const ids = [];
      for (const [name, data] of files) {
        const up = await upload(p, many.widget_id, token, name, data);
        assert.equal(up.status, 200, `${name}: ${JSON.stringify(up.json)}`);
        ids.push(up.id);
      }
      await p.mock.clearRequests();
      for (const batch of [ids.slice(0, 5), ids.slice(5, 10)]) {
        v.send({ type: 'message', content: 'look', attachments: batch });
        let m;
        do m = await v.next(); while (m.type !== 'typing_stop');
      }
      const calls = (await p.mock.requests()).filter((x) => x.path.endsWith('/chat/completions'));
      const msgs = calls.at(-1).body.messages.filter((x) => x.role === 'user');
      const images = msgs.flatMap((x) => (Array.isArray(x.content) ? x.content.filter((c) => c.type === 'image_url') : []));
      assert.equal(images.length, 4, 'at most 4 images');
      const last = msgs.at(-1);
      const text = Array.isArray(last.content) ? last.content[0].text : last.content;
      assert.ok(text.includes('--- c.txt ---') && text.includes('--- b.txt ---') && !text.includes('--- a.txt ---'),
        'the 2 newest text files');
      v.ws.close();
      assert.ok(r);
    });

    test('a photo\'s metadata is taken out before it is kept: where it was taken is gone, the picture whole', async () => {
      const { v, token } = await visitor();
      // A JPEG: JFIF, an EXIF segment with a position, a comment, then the
      // tables and a scan of 700 KB: three pieces, the metadata in the first;
      // after its end, a second image with its own EXIF (as a phone's preview
      // or gain map is), in the last piece: dropped with it.
      const head = Buffer.from('ffd8ffe000104a46494600010100000100010000', 'hex');
      const gps = 'GPSLatitude 59.9139N GPSLongitude 10.7522E';
      const exif = Buffer.concat([Buffer.from([0xff, 0xe1, 0, 2 + 6 + gps.length]), Buffer.from('Exif\0\0', 'latin1'), Buffer.from(gps)]);
      const com = Buffer.concat([Buffer.from([0xff, 0xfe, 0, 2 + 9]), Buffer.from('my street')]);
      const scan = crypto.randomBytes(700000).map((b) => (b === 0xff ? 0xfe : b));
      const rest = Buffer.concat([Buffer.from('ffdb00040001ffda0004010211', 'hex'), scan, Buffer.from('ffd9', 'hex')]);
      const second = Buffer.concat([head, exif, Buffer.from('ffda0004010211aabbffd9', 'hex')]);
      const jpeg = Buffer.concat([head, exif, com, rest, second]);
      const up = await upload(p, w.widget_id, token, 'street.jpg', jpeg);
      assert.equal(up.status, 200, JSON.stringify(up.json));
      assert.equal(up.json.type, 'image/jpeg');
      const want = Buffer.concat([head, rest]);
      assert.equal(up.json.size, want.length, 'the size of the photo as kept');
      // A PNG whose text chunk, after the header, holds a place.
      const place = pngChunk('tEXt', Buffer.from('Location\0Oslo, Karl Johans gate 1'));
      const pic = png(3000, [place]);
      const up2 = await upload(p, w.widget_id, token, 'map.png', pic);
      assert.equal(up2.status, 200, JSON.stringify(up2.json));
      assert.equal(up2.json.size, pic.length - place.length);
      v.send({ type: 'message', content: 'Here', attachments: [up.id, up2.id] });
      let m;
      do m = await v.next(); while (m.type !== 'typing_stop');
      const conv = (await admin('GET', '/v1/admin/conversations')).json().conversations[0];
      const g = (await admin('GET', `/v1/admin/conversations/${conv._id}`)).json();
      const atts = g.messages.find((x) => x.role === 'user' && x.attachments).attachments;
      const got = await p.admin(atts[0].url);
      assert.ok(got.body.equals(want), 'the JPEG without its EXIF and comment, the rest byte for byte');
      assert.ok(!got.body.includes(Buffer.from('GPSLatitude')));
      const got2 = await p.admin(atts[1].url);
      assert.ok(!got2.body.includes(Buffer.from('Karl Johans')));
      assert.equal(got2.body.length, pic.length - place.length);
      // A broken image is refused, nothing kept.
      const broken = Buffer.concat([Buffer.from('ffd8ffe1ff00', 'hex'), Buffer.from('Exif')]);
      const bad = await upload(p, w.widget_id, token, 'x.jpg', broken);
      assert.equal(bad.status, 415, JSON.stringify(bad.json));
      v.ws.close();
    });

    // The last piece sent from another address while the first is still
    // arriving: the worker reads the upload back to strip it, finds the
    // first piece missing, and sends the last on as it came, for storaged
    // to refuse. The first piece landed in between, and storaged kept the
    // last unstripped (a review found 57 of 60 such races did, EXIF and
    // all; with PARLEY_CLAMD, unscanned). Now the last piece names the
    // pieces the worker read (ST_ATT_PUT prior): none, so it is refused.
    test('a last piece that overtakes the piece before it is never kept unstripped; sent again, it is', async () => {
      const { v, token } = await visitor();
      const head = Buffer.from('ffd8ffe000104a46494600010100000100010000', 'hex');
      const gps = 'GPSLatitude 51.5007N GPSLongitude 0.1246W';
      const exif = Buffer.concat([Buffer.from([0xff, 0xe1, 0, 2 + 6 + gps.length]), Buffer.from('Exif\0\0', 'latin1'), Buffer.from(gps)]);
      const scan = crypto.randomBytes(PIECE + 5000).map((b) => (b === 0xff ? 0xfe : b));
      const file = Buffer.concat([head, exif, Buffer.from('ffdb00040001ffda0004010211', 'hex'), scan, Buffer.from('ffd9', 'hex')]);
      const stripped = file.length - exif.length;
      const url = (id) => `/api/widget/${w.widget_id}/attachments/${id}`;
      const putHead = (id, from, to) => `PUT ${url(id)} HTTP/1.1\r\nHost: x\r\nX-Parley-Session: ${token}\r\n` +
        `Content-Range: bytes ${from}-${to - 1}/${file.length}\r\nContent-Length: ${to - from}\r\nConnection: close\r\n\r\n`;
      // A PUT on a socket of its own from localAddress: send(n) writes its
      // head and the body's first n bytes, the rest later; done: {status, json}.
      function put(id, from, to, localAddress) {
        const s = net.connect({ port: p.port, host: '127.0.0.1', localAddress });
        const body = file.subarray(from, to);
        let got = Buffer.alloc(0);
        const done = new Promise((resolve) => {
          s.on('data', (d) => {
            got = Buffer.concat([got, d]);
            const e = got.indexOf('\r\n\r\n');
            const n = e < 0 ? -1 : Number((/content-length: (\d+)/i.exec(got.subarray(0, e).toString()) || [0, 0])[1]);
            if (e >= 0 && got.length >= e + 4 + n) {
              s.destroy();
              resolve({ status: Number(got.subarray(9, 12).toString()), json: JSON.parse(got.subarray(e + 4, e + 4 + n).toString() || '{}') });
            }
          });
          s.on('error', (err) => resolve({ status: 0, json: { error: String(err) } }));
        });
        const ready = new Promise((resolve) => s.once('connect', resolve));
        return { done, ready, send: (n = body.length) => s.write(Buffer.concat([Buffer.from(putHead(id, from, to)), body.subarray(0, n)])), rest: (n) => s.write(body.subarray(n)) };
      }
      const outcomes = {};
      let lastId;
      for (let k = 0; k < 20; k++) {
        const r = await p.request('POST', `/api/widget/${w.widget_id}/attachments`, {
          headers: { 'X-Parley-Session': token, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'a.jpg', size: file.length }) });
        assert.equal(r.status, 201, r.text);
        const id = r.json().id;
        const first = put(id, 0, PIECE, '127.0.0.1');
        const last = put(id, PIECE, file.length, '127.0.0.2');
        await Promise.all([first.ready, last.ready]);
        first.send(PIECE - 1);
        await sleep(30); // the first piece all but its last byte read
        last.send();
        for (let i = 0; i < k % 6; i++) await new Promise((resolve) => setImmediate(resolve));
        first.rest(PIECE - 1);
        const [a, b] = await Promise.all([last.done, first.done]);
        outcomes[`${a.status}/${b.status}`] = (outcomes[`${a.status}/${b.status}`] || 0) + 1;
        if (a.status === 200 && a.json.complete) assert.equal(a.json.size, stripped, `try ${k}: the last piece kept the photo unstripped (${JSON.stringify(outcomes)})`);
        if (a.status === 409) lastId = id;
      }
      assert.ok(lastId, `a last piece overtook the first at least once: ${JSON.stringify(outcomes)}`);
      // That upload stands after its first piece: the last sent again ends it, stripped.
      const again = put(lastId, PIECE, file.length, '127.0.0.2');
      await again.ready;
      again.send();
      const a = await again.done;
      assert.equal(a.status, 200, JSON.stringify(a.json));
      assert.equal(a.json.complete, true);
      assert.equal(a.json.size, stripped, 'the photo as kept: without its EXIF');
      v.ws.close();
    });

    test('eight visitors upload photos and PDFs at once, each from an address of its own: each file kept whole, as sent', async () => {
      const files = Array.from({ length: 8 }, (_, i) => (i % 2 ? png(2 * PIECE + 1000 * i)
        : Buffer.concat([Buffer.from('%PDF-1.7\n'), crypto.randomBytes(2 * PIECE + 1000 * i)])));
      const visitors = await Promise.all(files.map(() => visitor()));
      const ups = await Promise.all(files.map((f, i) => upload(p, w.widget_id, visitors[i].token, `f${i}`, f,
        { localAddress: `127.0.3.${i + 1}` })));
      for (const [i, up] of ups.entries()) {
        assert.equal(up.status, 200, `${i}: ${JSON.stringify(up.json)}`);
        assert.equal(up.json.size, files[i].length);
      }
      for (const [i, { v }] of visitors.entries()) v.send({ type: 'message', content: `file ${i}`, attachments: [ups[i].id] });
      for (const { v } of visitors) {
        let m;
        do m = await v.next(); while (m.type !== 'typing_stop');
        v.ws.close();
      }
      const convs = (await admin('GET', '/v1/admin/conversations')).json().conversations.slice(0, 8);
      let seen = 0;
      for (const c of convs) {
        const g = (await admin('GET', `/v1/admin/conversations/${c._id}`)).json();
        const m = g.messages.find((x) => x.role === 'user' && x.attachments);
        const i = Number(m.content.slice(5));
        assert.ok((await p.admin(m.attachments[0].url)).body.equals(files[i]), `file ${i} as sent`);
        seen++;
      }
      assert.equal(seen, 8);
    });

    test('the type is the bytes\'; the widget\'s types and size hold', async () => {
      const { v, token } = await visitor();
      // An HTML page named .png is kept as plain text, served as text.
      const html = Buffer.from('<html><script>alert(1)</script></html>');
      const asText = await upload(p, w.widget_id, token, 'evil.png', html);
      assert.equal(asText.status, 200, JSON.stringify(asText.json));
      assert.equal(asText.json.type, 'text/plain; charset=utf-8');
      // A zip declared as text: refused, and nothing left to finish.
      const zip = Buffer.concat([Buffer.from('504b0304', 'hex'), crypto.randomBytes(200)]);
      const refused = await upload(p, w.widget_id, token, 'notes.txt', zip);
      assert.equal(refused.status, 415);
      assert.match(refused.json.error, /type/);
      const again = await p.request('PUT', `/api/widget/${w.widget_id}/attachments/${refused.id}`, {
        headers: { 'X-Parley-Session': token, 'Content-Range': `bytes 0-9/${zip.length}` }, body: zip.subarray(0, 10) });
      assert.equal(again.status, 404);
      // Over the widget's 1 MiB.
      const big = await p.request('POST', `/api/widget/${w.widget_id}/attachments`, {
        headers: { 'X-Parley-Session': token, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'big.png', size: (1 << 20) + 1 }) });
      assert.equal(big.status, 413);
      assert.equal(big.json().max_bytes, 1 << 20);
      // A widget that takes images only refuses a PDF by its bytes.
      const imgOnly = await createWidget(p, { attachment_types: ['image'] });
      const io = await visitor(imgOnly);
      const pdf = await upload(p, imgOnly.widget_id, io.token, 'cat.png', Buffer.from('%PDF-1.4\n%%EOF\n'));
      assert.equal(pdf.status, 415);
      // A widget that takes none.
      const none = await createWidget(p, {});
      const nv = await visitor(none);
      const off = await upload(p, none.widget_id, nv.token, 'a.png', png(100));
      assert.equal(off.status, 403);
      v.ws.close();
      io.v.ws.close();
      nv.v.ws.close();
    });

    test('tokens, order and bounds', async () => {
      const { v, token } = await visitor();
      const h = { 'Content-Type': 'application/json' };
      let r = await p.request('POST', `/api/widget/${w.widget_id}/attachments`, { headers: h, body: JSON.stringify({ name: 'a.png', size: 10 }) });
      assert.equal(r.status, 401);
      r = await p.request('POST', `/api/widget/${w.widget_id}/attachments`, {
        headers: { ...h, 'X-Parley-Session': token }, body: JSON.stringify({ name: 'a.png', size: 0 }) });
      assert.equal(r.status, 400);
      assert.match(r.json().error, /size/);
      // A body that is no JSON: answered for any page to read, as every
      // other answer of the route is (it had the dashboard's headers).
      r = await p.request('POST', `/api/widget/${w.widget_id}/attachments`, {
        headers: { ...h, 'X-Parley-Session': token, Origin: 'https://shop.example' }, body: '{"name": "a.png",' });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json().error, 'Invalid JSON body');
      assert.equal(r.headers['access-control-allow-origin'], '*');
      r = await p.request('POST', `/api/widget/${w.widget_id}/attachments`, {
        headers: { ...h, 'X-Parley-Session': token }, body: JSON.stringify({ name: 'a.png', size: 2 * PIECE }) });
      assert.equal(r.status, 201);
      const { id } = r.json();
      // The second piece first: where the upload stands is said.
      r = await p.request('PUT', `/api/widget/${w.widget_id}/attachments/${id}`, {
        headers: { 'X-Parley-Session': token, 'Content-Range': `bytes ${PIECE}-${2 * PIECE - 1}/${2 * PIECE}` }, body: Buffer.alloc(PIECE) });
      assert.equal(r.status, 409);
      assert.equal(r.json().received, 0);
      // Another session's token: no such upload.
      const other = await visitor();
      r = await p.request('PUT', `/api/widget/${w.widget_id}/attachments/${id}`, {
        headers: { 'X-Parley-Session': other.token, 'Content-Range': `bytes 0-${PIECE - 1}/${2 * PIECE}` }, body: png(PIECE) });
      assert.equal(r.status, 404);
      // A short piece before the last.
      r = await p.request('PUT', `/api/widget/${w.widget_id}/attachments/${id}`, {
        headers: { 'X-Parley-Session': token, 'Content-Range': `bytes 0-99/${2 * PIECE}` }, body: png(100) });
      assert.equal(r.status, 400);
      // Given up: gone.
      r = await p.request('DELETE', `/api/widget/${w.widget_id}/attachments/${id}`, { headers: { 'X-Parley-Session': token } });
      assert.equal(r.status, 204);
      r = await p.request('DELETE', `/api/widget/${w.widget_id}/attachments/${id}`, { headers: { 'X-Parley-Session': token } });
      assert.equal(r.status, 404);
      // The preflight of a widget that names no page answers any origin.
      r = await p.request('OPTIONS', `/api/widget/${w.widget_id}/attachments`, { headers: { Origin: 'https://shop.example' } });
      assert.equal(r.status, 204);
      assert.match(r.headers['access-control-allow-headers'], /X-Parley-Session/);
      assert.equal(r.headers['access-control-allow-origin'], 'https://shop.example');
      assert.match(r.headers.vary, /Origin/);
      v.ws.close();
      other.v.ws.close();
    });

    // Any page could make its visitors' browsers upload through any
    // widget (the routes answered every origin), filling the
    // organisation's quota: a widget's allowed_origins, which guard its
    // config and socket, hold for its uploads too.
    test('a widget\'s allowed origins hold for its uploads: another page\'s, and their preflight, refused (403), nothing stored; its own page\'s and a client\'s without Origin go on', async () => {
      const shop = await createWidget(p, { name: 'Shop', attachment_types: ['image'], allowed_origins: ['https://shop.example'] });
      const v = await Visitor.open(p, shop.widget_id, { origin: 'https://shop.example' });
      const { session_token: token } = await v.next('session');
      const base = `/api/widget/${shop.widget_id}/attachments`;
      const evil = 'https://evil.example';
      const stored = async () => {
        const f = await backup(p);
        return ['atts', 'att_chunks'].map((t) => mdbStat(['-n', '-s', t, f], 'Entries'));
      };
      const ask = (method, path, origin, headers = {}, body) => p.request(method, path, {
        headers: { 'X-Parley-Session': token, ...(origin ? { Origin: origin } : {}), ...headers }, body });
      const refusedHere = (r, what) => {
        assertJsonError(r, 403, 'Origin not allowed');
        assert.equal(r.headers['access-control-allow-origin'], undefined, what);
      };

      // The preflights: CORS headers for the widget's page alone.
      const pre = { 'Access-Control-Request-Method': 'PUT', 'Access-Control-Request-Headers': 'content-range, x-parley-session' };
      for (const path of [base, `${base}/att_${'0'.repeat(32)}`]) {
        refusedHere(await p.request('OPTIONS', path, { headers: { Origin: evil, ...pre } }), path);
        const r = await p.request('OPTIONS', path, { headers: { Origin: 'https://shop.example', ...pre } });
        assert.equal(r.status, 204, path);
        assert.equal(r.headers['access-control-allow-origin'], 'https://shop.example', path);
        assert.match(r.headers.vary, /Origin/, path);
        assert.match(r.headers['access-control-allow-methods'], /PUT/, path);
        assert.match(r.headers['access-control-allow-headers'], /X-Parley-Session/, path);
      }

      const before = await stored();
      // Another page's new upload: refused.
      const photo = png(PIECE + 1000);
      const refused = await upload(p, shop.widget_id, token, 'a.png', photo, { origin: evil });
      refusedHere({ status: refused.status, json: () => refused.json, headers: refused.headers, text: JSON.stringify(refused.json) }, 'new');
      // An origin longer than any a widget may name: refused as the
      // socket's upgrade refuses it.
      assertJsonError(await ask('POST', base, `https://${'a'.repeat(300)}.example`, { 'Content-Type': 'application/json' },
        JSON.stringify({ name: 'a.png', size: 10 })), 403, 'Origin too long');
      // An upload begun by the widget's page: another page's piece, or
      // DELETE, refused.
      let r = await ask('POST', base, 'https://shop.example', { 'Content-Type': 'application/json' }, JSON.stringify({ name: 'b.png', size: photo.length }));
      assert.equal(r.status, 201, r.text);
      assert.equal(r.headers['access-control-allow-origin'], '*');
      const { id } = r.json();
      const range = (off, n) => ({ 'Content-Range': `bytes ${off}-${off + n - 1}/${photo.length}` });
      refusedHere(await ask('PUT', `${base}/${id}`, evil, range(0, PIECE), photo.subarray(0, PIECE)), 'piece');
      refusedHere(await ask('DELETE', `${base}/${id}`, evil), 'delete');
      // Nothing of another page's kept: the widget's page's upload alone.
      assert.deepEqual(await stored(), [before[0] + 1, before[1]]);
      // Its own page's pieces (its origin in any case): where it stood, kept whole.
      r = await ask('PUT', `${base}/${id}`, 'https://shop.example', range(0, PIECE), photo.subarray(0, PIECE));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json().received, PIECE);
      r = await ask('PUT', `${base}/${id}`, 'HTTPS://Shop.Example', range(PIECE, 1000), photo.subarray(PIECE));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json().complete, true);
      // A client with no Origin (no browser's page): as before.
      const plain = await upload(p, shop.widget_id, token, 'c.png', png(1000));
      assert.equal(plain.status, 200, JSON.stringify(plain.json));
      v.send({ type: 'message', content: 'Two', attachments: [id, plain.id] });
      let m;
      do m = await v.next(); while (m.type !== 'typing_stop');
      // A widget that names no page: any page's upload, as before.
      const o = await visitor();
      const anyPage = await upload(p, w.widget_id, o.token, 'd.png', png(1000), { origin: evil });
      assert.equal(anyPage.status, 200, JSON.stringify(anyPage.json));
      v.ws.close();
      o.v.ws.close();
    });

    test('a deleted conversation takes its files: their pages go back to LMDB\'s free list', async () => {
      // A conversation of its own with 3 MiB of files no other holds.
      const { v, token } = await visitor();
      const ids = [];
      for (let i = 0; i < 3; i++) {
        const up = await upload(p, w.widget_id, token, `scan${i}.png`, png(4 * PIECE - 100));
        assert.equal(up.status, 200, JSON.stringify(up.json));
        ids.push(up.id);
      }
      v.send({ type: 'message', content: 'three scans', attachments: ids });
      let m;
      do m = await v.next(); while (m.type !== 'typing_stop');
      v.ws.close();
      const conv = (await admin('GET', '/v1/admin/conversations')).json().conversations[0];
      const g = (await admin('GET', `/v1/admin/conversations/${conv._id}`)).json();
      const atts = g.messages.find((x) => x.attachments).attachments;
      assert.equal(atts.length, 3);
      assert.equal((await p.admin(atts[0].url)).status, 200);
      // In a backup: the records and the pieces (the checkpoint before it
      // puts them in LMDB, whose free pages are then counted).
      const b0 = await backup(p);
      const pieces = mdbStat(['-n', '-s', 'att_chunks', b0], 'Entries');
      assert.ok(pieces >= 12, `${pieces} pieces in the backup`);
      const before = mdbStat(['-f', p.dataDir], 'Free pages');
      assert.equal((await admin('DELETE', `/v1/admin/conversations/${conv._id}`)).status, 204);
      for (const a of atts) assert.equal((await p.admin(a.url)).status, 404);
      const b1 = await backup(p);
      assert.equal(mdbStat(['-n', '-s', 'att_chunks', b1], 'Entries'), pieces - 12);
      // 12 pieces of 256 KiB: 768 pages of 4 KiB (and their records) freed.
      const after = mdbStat(['-f', p.dataDir], 'Free pages');
      assert.ok(after - before >= 700, `free pages ${before} -> ${after}`);
    });
    test('one client\'s MiB a minute are bounded', async () => {
      const { v, token } = await visitor();
      const h = { 'X-Parley-Session': token, 'Content-Type': 'application/json' };
      const codes = [];
      for (let i = 0; i < 32; i++) {
        const r = await p.request('POST', `/api/widget/${w.widget_id}/attachments`, { headers: h, body: JSON.stringify({ name: `f${i}.png`, size: 1 << 20 }) });
        codes.push(r.status);
        if (r.status === 429) assert.ok(Number(r.headers['retry-after']) >= 1);
      }
      // 30 MiB a minute, less what the tests before spent (the last test:
      // it spends the rest): 1 MiB each, then 429.
      assert.ok(codes.includes(429), codes.join(' '));
      assert.ok(codes.indexOf(429) <= 30, codes.join(' '));
      assert.ok(codes.slice(codes.indexOf(429)).every((c) => c === 429), codes.join(' '));
      v.ws.close();
    });
  });

  // A PDF the fetcher takes is leased (storaged/attqueue.c), not removed: a
  // fetcher killed while reading one once left it without text for good.
  // Its text not kept within the lease, it is read again; one that ends the
  // fetcher each time is given up after 3 tries, kept as unreadable. The
  // lease is 60 s; the test build's here 3 s (PARLEY_TEST_ATT_LEASE_MS).
  describe('a PDF being read is leased to the fetcher', { concurrency: 1 }, () => {
    let p;
    let w;

    before(async () => {
      p = new Parley({ workers: 1, mock: true, env: { RATE_LIMIT_MAX_REQUESTS: '0', PARLEY_TEST_ATT_LEASE_MS: '3000', ...QUICK_POLLS } });
      await p.start();
      w = await createWidget(p, { attachment_types: ['pdf'] });
    });
    after(() => p?.stop());

    // The text storaged keeps of PDF id ('' none yet, or none read) and
    // where it stands (proto/attmsg.h's enum st_att_text_status).
    const STATUS = ['none', 'pending', 'ready', 'failed'];
    async function textRead(id) {
      const st = await p.storage({ name: 'itest-pdf-lease' });
      try {
        const r = rep(T.ST_ATT_READ, await st.call(T.ST_ATT_READ, req(T.ST_ATT_READ, { id, piece: 0, mode: 3, widget_id: '' })));
        assert.equal(r.result, 0);
        return { text: r.text, status: STATUS[r.text_status] };
      } finally { st.close(); }
    }
    const text = async (id) => (await textRead(id)).text;
    // The user message the model was last sent that starts with start.
    async function toModel(start) {
      const calls = (await p.mock.requests()).filter((x) => x.path.endsWith('/chat/completions'));
      const m = calls.at(-1).body.messages.find((x) => x.role === 'user' && String(x.content).startsWith(start));
      return m ? String(m.content) : '';
    }
    // The fetcher logged its n-th lease of id.
    const reading = (id, n) => p.logs.masterd.includes(`attachments: ${id}: reading its text (try ${n})`);

    async function visitorToken() {
      const v = await Visitor.open(p, w.widget_id);
      const s = await v.next('session');
      return { v, token: s.session_token };
    }
    // v's message naming upload id (a PDF's text is read back once named).
    async function send(v, id) {
      v.send({ type: 'message', content: 'Here it is', attachments: [id] });
      let m;
      do m = await v.next(); while (m.type !== 'typing_stop');
    }

    // Its text "" both while it waited and once given up: now it says which.
    test('a PDF waiting for the fetcher reads as pending, to the model too; ready once read', async () => {
      await waitFor(() => p.fetcherPids().length === 1, 10000, 'a fetcher');
      const [fetcher] = p.fetcherPids();
      const { v, token } = await visitorToken();
      let up;
      process.kill(fetcher, 'SIGSTOP');
      try {
        up = await upload(p, w.widget_id, token, 'wait.pdf', pdf('Brake pad sizes'));
        assert.equal(up.status, 200, JSON.stringify(up.json));
        await p.mock.clearRequests();
        v.send({ type: 'message', content: 'Sizes?', attachments: [up.id] });
        let m;
        do m = await v.next(); while (m.type !== 'typing_stop');
        assert.match(await toModel('Sizes?'), /\]\n\[wait\.pdf: its text is still being read, not shown to you yet\]$/);
        assert.deepEqual(await textRead(up.id), { text: '', status: 'pending' });
      } finally {
        process.kill(fetcher, 'SIGCONT');
      }
      await waitFor(async () => (await textRead(up.id)).status === 'ready', 30000, 'its text read');
      assert.match(await text(up.id), /Brake pad sizes/);
      v.ws.close();
    });

    test('the fetcher killed (-9) while it reads a PDF, storaged killed too: the PDF is read once its lease ends', async () => {
      await waitFor(() => p.fetcherPids().length === 1, 10000, 'a fetcher');
      const [fetcher] = p.fetcherPids();
      const { v, token } = await visitorToken();
      // Its reader waits on its first lease (the test build's hook), till the fetcher dies.
      const up = await upload(p, w.widget_id, token, 'held.pdf', pdf('Saddle height guide', 'parley-test-hold'));
      assert.equal(up.status, 200, JSON.stringify(up.json));
      await waitFor(() => reading(up.id, 1), 20000, 'the fetcher reads it');
      await send(v, up.id);
      process.kill(fetcher, 'SIGKILL');
      // The lease is on disk: a storaged killed meanwhile keeps it.
      await p.killStoraged('SIGKILL');
      const from = p.logs.masterd.length;
      await p.startStoraged();
      await p.waitConnected(from);
      await waitFor(async () => (await text(up.id)) !== '', 30000, 'its text read after the lease');
      assert.match(await text(up.id), /Saddle height guide/);
      assert.ok(reading(up.id, 2), 'read on its second lease');
      assert.ok(!p.fetcherPids().includes(fetcher), 'another fetcher');
      assert.ok(!p.logs.masterd.includes(`${up.id}: no text read`));
      v.ws.close();
    });

    test('a PDF that ends the fetcher each time it is read: given up after 3 tries, kept as unreadable; the next is read', async () => {
      const { v, token } = await visitorToken();
      // The test build's fetcher kills itself (-9) on this one, each time.
      const up = await upload(p, w.widget_id, token, 'deadly.pdf', Buffer.from('%PDF-1.0\n% parley-test-kill-fetcher\n%%EOF\n'));
      assert.equal(up.status, 200, JSON.stringify(up.json));
      await send(v, up.id);
      await waitFor(() => p.logs.storaged.includes(`attachments: ${up.id}: given up after 3 tries`), 60000, 'given up');
      for (const n of [1, 2, 3]) assert.ok(reading(up.id, n), `try ${n}`);
      // The queue goes on; the one given up is never taken again.
      const next = await upload(p, w.widget_id, token, 'next.pdf', pdf('Tyre pressure table'));
      assert.equal(next.status, 200, JSON.stringify(next.json));
      await p.mock.clearRequests();
      await send(v, next.id);
      // Given up: failed, not "not yet"; the model told it will not come.
      assert.deepEqual(await textRead(up.id), { text: '', status: 'failed' });
      assert.match(await toModel('Here it is\n\n[Attached: deadly.pdf'), /\]\n\[deadly\.pdf: its text could not be read\]$/);
      await waitFor(async () => (await text(next.id)) !== '', 30000, 'the next PDF read');
      assert.ok(!reading(up.id, 4), 'no fourth try');
      // Kept with an empty text, as a PDF poppler cannot read is: no lease left.
      const b = await backup(p);
      assert.equal(mdbStat(['-n', '-s', 'att_text', b], 'Entries'), 4, 'wait.pdf\'s, held.pdf\'s, deadly.pdf\'s (empty), next.pdf\'s');
      assert.equal(mdbStat(['-n', '-s', 'att_leases', b], 'Entries'), 0);
      assert.equal((await textRead(next.id)).status, 'ready');
      v.ws.close();
    });
  });

  // PARLEY_ATTACH_RATE_MB from 4096 up: its bytes (MiB times 2^20) wrapped
  // in 32 bits, 4096 to 0, which storaged reads as no limit at all.
  describe('a client\'s MiB a minute past 4 GiB', { concurrency: 1 }, () => {
    let p;

    before(async () => {
      p = new Parley({ workers: 1, mock: true, env: { RATE_LIMIT_MAX_REQUESTS: '0', PARLEY_ATTACH_RATE_MB: '4096', PARLEY_ATTACH_QUOTA_MB: '0' } });
      await p.start();
    });
    after(() => p?.stop());

    test('PARLEY_ATTACH_RATE_MB=4096 still limits: 25 MiB uploads refused (429) after 163', async () => {
      const w = await createWidget(p, { attachment_types: ['image'], attachment_max_mb: 25 });
      const v = await Visitor.open(p, w.widget_id);
      const token = (await v.next('session')).session_token;
      const h = { 'X-Parley-Session': token, 'Content-Type': 'application/json' };
      const codes = [];
      for (let i = 0; i < 170; i++) {
        const r = await p.request('POST', `/api/widget/${w.widget_id}/attachments`, { headers: h, body: JSON.stringify({ name: `f${i}.png`, size: 25 << 20 }) });
        codes.push(r.status);
      }
      // 4 GiB less a byte, in KiB, holds 163 uploads of 25 MiB (none
      // counted before: no quota, so no share of it an hour either).
      assert.deepEqual([...new Set(codes.slice(0, 163))], [201], codes.join(' '));
      assert.deepEqual([...new Set(codes.slice(163))], [429], codes.join(' '));
      v.ws.close();
    });
  });

  // PARLEY_VISION_MEMORY_MB: the images all the turns of a worker hold at
  // once, each with its base64 copy in the model request.
  describe('images held for vision, bounded per worker', { concurrency: 1 }, () => {
    let p;

    before(async () => {
      p = new Parley({ workers: 1, mock: true, env: { RATE_LIMIT_MAX_REQUESTS: '0', PARLEY_VISION_MEMORY_MB: '1' } });
      await p.start();
    });
    after(() => p?.stop());

    async function turnEnds(v) {
      let m;
      do m = await v.next(); while (m.type !== 'typing_stop');
    }
    async function completions() {
      return (await p.mock.requests()).filter((x) => x.path.endsWith('/chat/completions'));
    }

    test('an image past the worker\'s bound is left out of its turn, the model told; shown once a turn gives its room back', async () => {
      const r = await p.adminJson('POST', '/v1/admin/agents', { name: 'Eyes', vision: true });
      assert.equal(r.status, 201, r.text);
      const w = await createWidget(p, { agent_id: r.json().id, attachment_types: ['image'], attachment_max_mb: 1 });
      const open = async () => {
        const v = await Visitor.open(p, w.widget_id);
        return { v, token: (await v.next('session')).session_token };
      };
      const a = await open();
      const b = await open();
      // Each 160,000 bytes and 213,336 of base64: two fit in 1 MiB, not three.
      const ids = [];
      for (const name of ['a1.png', 'a2.png', 'b.png']) {
        const up = await upload(p, w.widget_id, (name === 'b.png' ? b : a).token, name, png(160000));
        assert.equal(up.status, 200, JSON.stringify(up.json));
        ids.push(up.id);
      }
      // a's turn holds its two images while the model waits 3 s.
      const seen = (await p.mock.stats()).images;
      a.v.send({ type: 'message', content: 'hold on [[mock:first_delay=3000]]', attachments: ids.slice(0, 2) });
      await waitFor(async () => (await p.mock.stats()).images >= seen + 2, 10000, 'a\'s images at the model');
      await p.mock.clearRequests();
      b.v.send({ type: 'message', content: 'What is this?', attachments: [ids[2]] });
      await turnEnds(b.v);
      let calls = await completions();
      assert.equal(calls.length, 1);
      const last = calls[0].body.messages.at(-1);
      assert.equal(typeof last.content, 'string', 'no image part: the worker\'s images are full');
      assert.match(last.content, /^What is this\?\n\n\[Attached: b\.png \(image\/png, 157 KB\)\]\n\[b\.png: not shown to you now: too many images at once on this server; the visitor may send it again in a moment\]$/);
      // a's turn over: its room given back, b's picture goes with b's next turn.
      await turnEnds(a.v);
      await p.mock.clearRequests();
      b.v.send({ type: 'message', content: 'And now?' });
      await turnEnds(b.v);
      calls = await completions();
      assert.equal(calls.length, 1);
      assert.ok(calls[0].body, 'the request parsed');
      const parts = calls[0].body.messages.flatMap((x) => (Array.isArray(x.content) ? x.content : []));
      assert.equal(parts.filter((x) => x.type === 'image_url').length, 1);
      a.v.ws.close();
      b.v.ws.close();
    });
  });
});
