// The relay behind lib/etcd.mjs's Proxy, in a process of its own: a test
// file's process also drives load, reads every daemon's log and runs its
// other tests beside, and a moment it spends elsewhere was a moment the
// link stood still (a lease not renewed in time: a primary fenced by the
// test, not by the cut it meant). Asked over IPC:
//   {op: 'listen', target, path, port} -> {ok} or {ok: false, code, message}
//   {op: 'cut'} -> {ok}: the listener and every connection closed at once
// It exits when its parent goes (the IPC channel closes).
import net from 'node:net';

let server = null;
let socks = new Set();

function listen({ target, path, port }) {
  socks = new Set();
  server = net.createServer((c) => {
    const u = typeof target === 'string' ? net.connect(target) : net.connect(target, '127.0.0.1');
    for (const s of [c, u]) {
      socks.add(s);
      s.on('error', () => {});
      s.on('close', () => { socks.delete(s); c.destroy(); u.destroy(); });
    }
    c.pipe(u);
    u.pipe(c);
  });
  return new Promise((resolve) => {
    server.once('error', (e) => resolve({ ok: false, code: e.code, message: e.message }));
    if (path) server.listen(path, () => resolve({ ok: true }));
    else server.listen(port, '127.0.0.1', () => resolve({ ok: true }));
  });
}

function cut() {
  server?.close();
  for (const s of socks) s.destroy();
  socks.clear();
  return { ok: true };
}

process.on('message', async (m) => {
  const r = m.op === 'listen' ? await listen(m) : m.op === 'cut' ? cut() : { ok: false, message: `unknown op ${m.op}` };
  process.send({ id: m.id, ...r });
});
process.on('disconnect', () => process.exit(0));
