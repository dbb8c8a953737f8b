// Uploads scanned by a real ClamAV daemon (Debian's clamav-daemon, started
// here on a Unix socket of a temp folder with a one-line signature database
// of EICAR's test file): EICAR refused with 422 naming the signature and
// nothing left of the upload; a clean file in several pieces kept (its
// earlier pieces read back from storaged for the scan); clamd gone: 503
// with PARLEY_CLAMD_UNAVAILABLE=refuse, kept with =accept; a last piece
// whose Content-Range SIZE is not the upload's refused, never stored
// unscanned, and (a clamd of the test's counting its streams) before
// anything of the upload is read back or scanned; a clamd that stops
// reading midway with =accept: the last piece answered, the file kept.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Parley, waitFor } from './lib/harness.mjs';
import { sleep } from './lib/http.mjs';
import { createWidget, Visitor } from './lib/wsclient.mjs';
import { PIECE, png, upload } from './lib/attach.mjs';

const CLAMD = '/usr/sbin/clamd';
// EICAR's test file, reversed so no scanner flags this source.
const EICAR = Buffer.from('*H+H$!ELIF-TSET-SURIVITNA-DRADNATS-RACIE$})7CC7)^P(45XZP\\4[PA@%P!O5X'.split('').reverse().join(''));

// A clamd of its own: {sock, stop()}.
async function startClamd() {
  assert.ok(fs.existsSync(CLAMD), `${CLAMD} is missing: scripts/deps.sh test installs it (clamav-daemon)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-clamd-'));
  fs.mkdirSync(path.join(dir, 'db'));
  fs.writeFileSync(path.join(dir, 'db', 'parley.ndb'), `Parley.Test.EICAR:0:*:${EICAR.toString('hex')}\n`);
  const sock = path.join(dir, 'clamd.sock');
  fs.writeFileSync(path.join(dir, 'clamd.conf'), [
    'Foreground yes', `LocalSocket ${sock}`, `DatabaseDirectory ${dir}/db`, `TemporaryDirectory ${dir}`,
    'StreamMaxLength 30M', 'MaxThreads 4', 'SelfCheck 0', '',
  ].join('\n'));
  const child = spawn(CLAMD, ['--foreground', `--config-file=${dir}/clamd.conf`], { stdio: 'ignore' });
  const deadline = Date.now() + 30000;
  while (!fs.existsSync(sock)) {
    assert.ok(Date.now() < deadline, 'clamd did not open its socket within 30 s');
    assert.equal(child.exitCode, null, 'clamd exited');
    await sleep(50);
  }
  return {
    sock,
    async stop() {
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await gone;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// A clamd of the test's on a Unix socket of a temp folder: each
// connection kept in conns, its INSTREAM read (streamed: every byte that
// came, the command's and the chunks' heads too). Answered "stream: OK" at
// the stream's end; hold: never; cutAfter: once more bytes than that came,
// as clamd past its StreamMaxLength (its error, then the connection
// closed). {sock, conns, streamed(), close()}.
async function fakeClamd({ hold = false, cutAfter = Infinity } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-fakeclamd-'));
  const sock = path.join(dir, 'clamd.sock');
  const conns = [];
  let streamed = 0;
  const srv = net.createServer((c) => {
    conns.push(c);
    let n = 0;
    let over = false;
    // Where the stream stands: bytes to pass over (the command's first,
    // then each chunk's), or a chunk's length being read.
    let skip = 10;
    let head = [];
    c.on('data', (b) => {
      streamed += b.length;
      n += b.length;
      if (over || hold) return;
      if (n > cutAfter) {
        over = true;
        c.end('INSTREAM size limit exceeded. ERROR\0');
        return;
      }
      for (let i = 0; i < b.length;) {
        if (skip > 0) {
          const k = Math.min(skip, b.length - i);
          skip -= k;
          i += k;
          continue;
        }
        head.push(b[i++]);
        if (head.length < 4) continue;
        skip = Buffer.from(head).readUInt32BE(0);
        head = [];
        if (skip === 0) {
          over = true;
          c.end('stream: OK\0');
          return;
        }
      }
    });
    c.on('error', () => {});
  });
  await new Promise((r) => srv.listen(sock, r));
  return {
    sock,
    conns,
    streamed: () => streamed,
    close() {
      for (const c of conns) c.destroy();
      srv.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// A clamd that stops reading the stream midway, as one past its
// StreamMaxLength does, unseen until the worker next writes
// (shutdown(SHUT_RD): no event, the next write EPIPE; node's sockets have
// no such shutdown, so python's). Once more than after bytes came, it
// stops storaged (pid) at once, reads on for 200 ms (the worker writes
// all it was given and waits on its next piece read back), stops reading,
// lets storaged go on, and says "cut". {sock, cut (a promise), close()}.
const STOPS_READING = `
import os, select, signal, socket, sys, time
path, after, pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
srv = socket.socket(socket.AF_UNIX)
srv.bind(path)
srv.listen(8)
print('ready', flush=True)
c, _ = srv.accept()
n = 0
while n <= after:
    b = c.recv(65536)
    if not b:
        sys.exit(1)
    n += len(b)
os.kill(pid, signal.SIGSTOP)
try:
    end = time.time() + 0.2
    while time.time() < end:
        if select.select([c], [], [], max(end - time.time(), 0))[0] and not c.recv(65536):
            sys.exit(1)
    c.shutdown(socket.SHUT_RD)
finally:
    os.kill(pid, signal.SIGCONT)
print('cut', flush=True)
sys.stdin.read()
`;
async function stopsReading(sock, after, pid) {
  const child = spawn('/usr/bin/python3', ['-c', STOPS_READING, sock, String(after), String(pid)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (b) => { out += b; });
  const said = (word) => out.split('\n').includes(word);
  await waitFor(() => said('ready'), 30000, 'the clamd ready');
  return { cut: () => said('cut'), close: () => child.kill('SIGKILL') };
}

describe('attachments scanned by clamd', { concurrency: 1 }, () => {
  let clamd;
  const stacks = [];

  // A stack scanning with clamd, and a widget that takes everything.
  async function stack(env) {
    const p = new Parley({ workers: 1, mock: true, env: { RATE_LIMIT_MAX_REQUESTS: '0', ...env } });
    stacks.push(p);
    await p.start();
    const w = await createWidget(p, { attachment_types: ['image', 'pdf', 'text'] });
    const v = await Visitor.open(p, w.widget_id);
    const s = await v.next('session');
    return { p, w, v, token: s.session_token };
  }

  before(async () => { clamd = await startClamd(); });
  after(async () => {
    // clamd stopped even when a stop() throws: left running, it kept
    // the file's process alive.
    try {
      for (const p of stacks) await p.stop();
    } finally {
      await clamd?.stop();
    }
  });

  test('EICAR is refused and named; a clean file in pieces is kept', async () => {
    const { p, w, v, token } = await stack({ PARLEY_CLAMD: `unix:${clamd.sock}` });
    const bad = await upload(p, w.widget_id, token, 'readme.txt', EICAR);
    assert.equal(bad.status, 422, JSON.stringify(bad.json));
    assert.match(bad.json.error, /virus scanner \(Parley\.Test\.EICAR\.UNOFFICIAL\)/);
    // Nothing left of it: clean bytes in its place find no upload.
    const plain = Buffer.alloc(EICAR.length, 'a');
    const again = await p.request('PUT', `/api/widget/${w.widget_id}/attachments/${bad.id}`, {
      headers: { 'X-Parley-Session': token, 'Content-Range': `bytes 0-${plain.length - 1}/${plain.length}` }, body: plain });
    assert.equal(again.status, 404);
    // A last piece whose Content-Range says a SIZE over the upload's
    // (which the worker reads the last piece from): refused, never
    // stored unscanned; the true SIZE then gets the scanner's word.
    let r = await p.request('POST', `/api/widget/${w.widget_id}/attachments`, {
      headers: { 'X-Parley-Session': token, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'b.txt', size: EICAR.length }) });
    assert.equal(r.status, 201, r.text);
    const lie = r.json().id;
    const put = (size) => p.request('PUT', `/api/widget/${w.widget_id}/attachments/${lie}`, {
      headers: { 'X-Parley-Session': token, 'Content-Range': `bytes 0-${EICAR.length - 1}/${size}` }, body: EICAR });
    r = await put(EICAR.length + 1);
    assert.equal(r.status, 400, r.text);
    assert.match(r.json().error, /SIZE is not the upload's size/);
    r = await put(EICAR.length);
    assert.equal(r.status, 422, r.text);
    // EICAR inside a picture's third piece, read back for the scan.
    const hidden = png(3 * 262144 + 500);
    EICAR.copy(hidden, 2 * 262144 + 100);
    const bad2 = await upload(p, w.widget_id, token, 'photo.png', hidden);
    assert.equal(bad2.status, 422, JSON.stringify(bad2.json));
    const clean = png(3 * 262144 + 500);
    const good = await upload(p, w.widget_id, token, 'photo.png', clean);
    assert.equal(good.status, 200, JSON.stringify(good.json));
    assert.equal(good.json.complete, true);
    v.send({ type: 'message', content: 'ok?', attachments: [good.id] });
    let m;
    do m = await v.next(); while (m.type !== 'typing_stop');
    v.ws.close();
  });

  // An image to strip is held whole in the worker, twice (the file and
  // its stripped copy, then that copy and clamd's stream of it), against
  // the worker's 64 MiB for images at once. A clamd of the test's holds
  // the first image's verdict: 25 MiB (the widget's most) fits alone; a
  // second of 8 MiB beside it (2 x 33 MiB held) is refused with 503 and
  // deleted (counted once each, as before, it was taken).
  test('images held for stripping count twice against the worker\'s 64 MiB', async () => {
    const fake = await fakeClamd({ hold: true });
    try {
      const { p, w, token, v } = await stack({ PARLEY_CLAMD: `unix:${fake.sock}`, PARLEY_MAP_SIZE_MB: '256' });
      let r = await p.request('PATCH', `/v1/admin/widgets/${w.widget_id}`, {
        headers: { 'x-admin-api-key': p.adminKey, 'Content-Type': 'application/json' },
        body: JSON.stringify({ attachment_max_mb: 25 }) });
      assert.equal(r.status, 200, r.text);
      // The second image, all but its last piece.
      const small = png(8 << 20);
      const h = { 'X-Parley-Session': token, 'Content-Type': 'application/json' };
      r = await p.request('POST', `/api/widget/${w.widget_id}/attachments`, { headers: h,
        body: JSON.stringify({ name: 'b.png', size: small.length }) });
      assert.equal(r.status, 201, r.text);
      const id2 = r.json().id;
      const put2 = (off) => p.request('PUT', `/api/widget/${w.widget_id}/attachments/${id2}`, {
        headers: { 'X-Parley-Session': token, 'Content-Range': `bytes ${off}-${Math.min(off + PIECE, small.length) - 1}/${small.length}` },
        body: small.subarray(off, off + PIECE) });
      const lastOff = Math.floor((small.length - 1) / PIECE) * PIECE;
      for (let off = 0; off < lastOff; off += PIECE) assert.equal((await put2(off)).status, 200);
      // The first, whole: held while clamd says nothing (its last piece's
      // answer awaited as long as the streaming may take on a loaded
      // machine, and more: it comes once clamd is gone, below).
      const big = png(25 << 20);
      const first = upload(p, w.widget_id, token, 'a.png', big, { timeout: 120000 });
      await waitFor(() => fake.streamed() >= big.length, 60000, 'the first image streamed to clamd');
      r = await put2(lastOff);
      assert.equal(r.status, 503, r.text);
      assert.match(r.json().error, /Too many uploads at once/);
      // clamd gone: the first ends as the owner said (refused), and the
      // second was deleted with its refusal.
      fake.close();
      assert.equal((await first).status, 503);
      assert.equal((await put2(0)).status, 404, 'the second upload deleted');
      v.ws.close();
    } finally {
      fake.close();
    }
  });

  // Every piece of an upload but its last, then one byte at the last
  // piece's offset with a SIZE that ends the file there: the worker took
  // it for the last piece and read back and scanned the whole file (25
  // MiB a byte) before storaged refused it (400), the upload left as it
  // was for the next byte. Now the upload's record says the SIZE is false
  // before anything is read back or clamd connected to.
  test('a last piece with a false SIZE is refused (400) before a read-back or a scan', async () => {
    const fake = await fakeClamd();
    try {
      const { p, w, v, token } = await stack({ PARLEY_CLAMD: `unix:${fake.sock}` });
      // Not an image: its pieces go to clamd as they are read back.
      const file = Buffer.concat([Buffer.from('%PDF-1.7\n'), crypto.randomBytes(3 * PIECE + 1000)]);
      const url = `/api/widget/${w.widget_id}/attachments`;
      let r = await p.request('POST', url, { headers: { 'X-Parley-Session': token, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'a.pdf', size: file.length }) });
      assert.equal(r.status, 201, r.text);
      const { id } = r.json();
      const put = (from, to, size, body) => p.request('PUT', `${url}/${id}`, {
        headers: { 'X-Parley-Session': token, 'Content-Range': `bytes ${from}-${to - 1}/${size}` }, body });
      for (let off = 0; off < 3 * PIECE; off += PIECE) assert.equal((await put(off, off + PIECE, file.length, file.subarray(off, off + PIECE))).status, 200);
      for (let i = 0; i < 10; i++) {
        r = await put(3 * PIECE, 3 * PIECE + 1, 3 * PIECE + 1, Buffer.from('A'));
        assert.equal(r.status, 400, r.text);
        assert.match(r.json().error, /^Content-Range: /);
      }
      assert.equal(fake.conns.length, 0, 'no scan begun');
      // The upload as it was: its true last piece ends it, scanned once.
      r = await put(3 * PIECE, file.length, file.length, file.subarray(3 * PIECE));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json().complete, true);
      assert.equal(fake.conns.length, 1);
      v.ws.close();
    } finally {
      fake.close();
    }
  });

  // clamd stopping midway (past its StreamMaxLength, say) with
  // PARLEY_CLAMD_UNAVAILABLE=accept: the file kept, not scanned. A piece
  // read back whose feed to clamd failed (the write found it gone) was
  // neither counted nor followed by the next, and the verdict went on only
  // once the reading was done: the last piece was never answered.
  test('clamd stopping midway with accept: the last piece is answered, the file kept unscanned', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-cutclamd-'));
    const sock = path.join(dir, 'clamd.sock');
    let fake;
    try {
      const { p, w, v, token } = await stack({ PARLEY_CLAMD: `unix:${sock}`, PARLEY_CLAMD_UNAVAILABLE: 'accept' });
      fake = await stopsReading(sock, PIECE, p.storagedPid);
      // A GIF: not stripped, its pieces go to clamd as they are read back.
      const file = Buffer.concat([Buffer.from('GIF89a'), crypto.randomBytes(10 * PIECE)]);
      const from = p.logs.masterd.length;
      const r = await upload(p, w.widget_id, token, 'a.gif', file, { timeout: 20000 });
      assert.ok(fake.cut(), 'clamd stopped reading');
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.equal(r.json.complete, true);
      await p.waitLog('masterd', /not scanned: .*it closed the connection without a reply/, { from });
      v.ws.close();
    } finally {
      fake?.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('clamd away: refused (503), or kept unscanned when the owner says accept', async () => {
    const refuse = await stack({ PARLEY_CLAMD: 'unix:/nonexistent/clamd.sock' });
    const r = await upload(refuse.p, refuse.w.widget_id, refuse.token, 'a.png', png(2000));
    assert.equal(r.status, 503, JSON.stringify(r.json));
    assert.match(r.json.error, /virus scanner could not be reached/);
    refuse.v.ws.close();
    const accept = await stack({ PARLEY_CLAMD: 'unix:/nonexistent/clamd.sock', PARLEY_CLAMD_UNAVAILABLE: 'accept' });
    const a = await upload(accept.p, accept.w.widget_id, accept.token, 'a.png', png(2000));
    assert.equal(a.status, 200, JSON.stringify(a.json));
    assert.equal(a.json.complete, true);
    accept.v.ws.close();
  });
});
