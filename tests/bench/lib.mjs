// What the benchmark scripts share: a keep-alive HTTP/1.1 client on a raw
// socket (so the figures measure the servers, not an HTTP library), and a
// one-shot request. Node built-ins only; loopback only.
import net from 'node:net';

export const now = () => Number(process.hrtime.bigint()) / 1e6;   // ms, sub-µs resolution

const END = '\r\n0\r\n\r\n';

// One keep-alive connection; turn() sends a request and resolves when the
// chunked answer has ended: {status, ttft (ms from write to the first
// content), total, done (saw the marker that says the turn went well)}.
export class Client {
  static open(port) {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.setNoDelay(true);
      s.once('connect', () => resolve(new Client(s)));
      s.once('error', reject);
    });
  }

  constructor(sock) {
    this.sock = sock;
    this.cur = null;
    sock.on('data', (d) => this.data(d));
    sock.on('error', (e) => this.fail(e));
    sock.on('close', () => this.fail(new Error('connection closed')));
  }

  fail(e) {
    const c = this.cur;
    this.cur = null;
    if (c) c.reject(e);
  }

  data(d) {
    const c = this.cur;
    if (!c) return;
    const s = d.toString('latin1');
    if (c.head === null) {
      c.pre += s;
      const i = c.pre.indexOf('\r\n\r\n');
      if (i < 0) return;
      c.head = c.pre.slice(0, i);
      c.status = Number(c.head.slice(9, 12));
      if (!/transfer-encoding: chunked/i.test(c.head)) {
        // A JSON error with Content-Length: read it whole.
        const m = /content-length: (\d+)/i.exec(c.head);
        c.body = c.pre.slice(i + 4);
        c.need = m ? Number(m[1]) : 0;
      } else c.body = c.pre.slice(i + 4);
      c.pre = '';
    } else c.body += s;
    if (c.ttft === null && c.body.includes(c.first)) {
      c.ttft = now() - c.t0;
      if (c.onFirst) c.onFirst();
    }
    if (c.need !== undefined) {
      if (c.body.length >= c.need) this.finish(c);
    } else if (c.body.endsWith(END) || c.body.slice(-16).includes(END)) this.finish(c);
  }

  finish(c) {
    this.cur = null;
    c.resolve({ status: c.status, head: c.head, body: c.body, ttft: c.ttft, total: now() - c.t0, done: c.doneMark ? c.body.includes(c.doneMark) : true });
  }

  // first: the text whose arrival is the first token; doneMark: proof of success.
  turn(req, first, doneMark, onFirst = null) {
    return new Promise((resolve, reject) => {
      this.cur = { resolve, reject, head: null, pre: '', body: '', ttft: null, first, doneMark, onFirst, t0: now() };
      this.sock.write(req);
    });
  }

  close() { this.sock.destroy(); }
}

// Plain HTTP/1.1 request on a fresh connection: {status, body}.
export async function http(port, method, path, { headers = {}, body } = {}) {
  const c = await Client.open(port);
  try {
    let h = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n`;
    for (const [k, v] of Object.entries(headers)) h += `${k}: ${v}\r\n`;
    if (body !== undefined) h += `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`;
    h += '\r\n';
    if (body !== undefined) h += body;
    const r = await new Promise((resolve, reject) => {
      let buf = '';
      c.sock.removeAllListeners('data');
      c.sock.on('data', (d) => { buf += d.toString('utf8'); });
      c.sock.on('end', () => resolve(buf));
      c.sock.on('error', reject);
      c.sock.write(h);
    });
    const i = r.indexOf('\r\n\r\n');
    let b = r.slice(i + 4);
    if (/transfer-encoding: chunked/i.test(r.slice(0, i))) {
      let out = '';
      for (let off = 0; ;) {
        const le = b.indexOf('\r\n', off);
        const n = parseInt(b.slice(off, le), 16);
        if (!n) break;
        out += b.slice(le + 2, le + 2 + n);
        off = le + 2 + n + 2;
      }
      b = out;
    }
    return { status: Number(r.slice(9, 12)), body: b };
  } finally { c.close(); }
}

