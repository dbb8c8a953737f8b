// A small, strict HTTP/1.1 client over raw TCP for the integration tests.
//
// Node's own http client hides what we need to see (pipelining, exact bytes,
// when the server closes), so the tests speak HTTP themselves: Conn wraps one
// socket, writes whatever bytes a test wants and parses the responses that
// come back, in order. Every wait has a timeout.
import net from 'node:net';

// How long a response may take unless a test says (a guard against a
// hang, not a figure): a worker's first session check waits for its boot
// (the owner's password hashed with scrypt and stored), and with six test
// files side by side on 2 cores one such check took over 5 s.
const RESPONSE_MS = 15000;

export class TimeoutError extends Error {
  constructor(what) { super(`timeout: ${what}`); this.code = 'ETIMEOUT'; }
}
export class ClosedError extends Error {
  constructor(what) { super(`connection closed: ${what}`); this.code = 'ECLOSED'; }
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

// Parses one response from buf (a Buffer). Returns null when more bytes are
// needed, or {response, used}. With eof=true a body delimited by the close
// of the connection ends here. Throws on a malformed response.
export function parseResponse(buf, { head = false, eof = false } = {}) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) {
    if (buf.length > 256 * 1024) throw new Error('response head too long');
    return null;
  }
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/(1)\.([01]) (\d{3}) ?(.*)$/.exec(lines[0]);
  if (!m) throw new Error(`bad status line: ${JSON.stringify(lines[0])}`);
  const status = Number(m[3]);
  const headers = {};
  const headerList = [];
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    if (i <= 0) throw new Error(`bad header line: ${JSON.stringify(line)}`);
    const name = line.slice(0, i);
    if (!TOKEN.test(name)) throw new Error(`bad header name: ${JSON.stringify(name)}`);
    const value = line.slice(i + 1).trim();
    const lname = name.toLowerCase();
    headerList.push([lname, value]);
    headers[lname] = lname in headers ? `${headers[lname]}, ${value}` : value;
  }
  let off = end + 4;
  let body;
  const te = headers['transfer-encoding'];
  const cl = headers['content-length'];
  if (head || (status >= 100 && status < 200) || status === 204 || status === 304) {
    body = Buffer.alloc(0);
  } else if (te !== undefined) {
    if (!/(^|,)\s*chunked\s*$/i.test(te)) throw new Error(`unexpected transfer-encoding ${te}`);
    const parts = [];
    for (let guard = 0; ; guard++) {
      if (guard > 1e6) throw new Error('too many chunks');
      const le = buf.indexOf('\r\n', off);
      if (le < 0) return null;
      const sizeLine = buf.subarray(off, le).toString('latin1');
      const sm = /^([0-9a-fA-F]+)(;.*)?$/.exec(sizeLine);
      if (!sm) throw new Error(`bad chunk size ${JSON.stringify(sizeLine)}`);
      const size = parseInt(sm[1], 16);
      off = le + 2;
      if (size === 0) {
        // trailers, then an empty line
        for (;;) {
          const te2 = buf.indexOf('\r\n', off);
          if (te2 < 0) return null;
          const isEmpty = te2 === off;
          off = te2 + 2;
          if (isEmpty) break;
        }
        break;
      }
      if (buf.length < off + size + 2) return null;
      parts.push(buf.subarray(off, off + size));
      if (buf[off + size] !== 13 || buf[off + size + 1] !== 10) throw new Error('chunk not followed by CRLF');
      off += size + 2;
    }
    body = Buffer.concat(parts);
  } else if (cl !== undefined) {
    if (!/^\d+$/.test(cl)) throw new Error(`bad content-length ${cl}`);
    const n = Number(cl);
    if (buf.length < off + n) return null;
    body = buf.subarray(off, off + n);
    off += n;
  } else {
    if (!eof) return null;
    body = buf.subarray(off);
    off = buf.length;
  }
  const response = {
    status,
    reason: m[4],
    httpVersion: `1.${m[2]}`,
    headers,
    headerList,
    body: Buffer.from(body),
    get text() { return this.body.toString('utf8'); },
    json() { return JSON.parse(this.body.toString('utf8')); },
  };
  return { response, used: off };
}

// Builds a request. headers is an object or an array of [name, value];
// Host is added unless given; Content-Length is added for a body unless
// a Content-Length or Transfer-Encoding header is given.
export function buildRequest(method, path, { headers = {}, body, host = '127.0.0.1', version = 'HTTP/1.1' } = {}) {
  const list = Array.isArray(headers) ? headers.slice() : Object.entries(headers);
  const names = new Set(list.map(([n]) => n.toLowerCase()));
  if (!names.has('host')) list.unshift(['Host', host]);
  let b = body === undefined ? null : Buffer.isBuffer(body) ? body : Buffer.from(String(body));
  if (b && !names.has('content-length') && !names.has('transfer-encoding')) list.push(['Content-Length', String(b.length)]);
  const head = `${method} ${path} ${version}\r\n` + list.map(([n, v]) => `${n}: ${v}\r\n`).join('') + '\r\n';
  return b ? Buffer.concat([Buffer.from(head, 'latin1'), b]) : Buffer.from(head, 'latin1');
}

export class Conn {
  constructor(sock, { port, host = '127.0.0.1' } = {}) {
    this.sock = sock;
    this.port = port;
    this.host = host;
    this.buf = Buffer.alloc(0);
    this.received = 0;          // bytes received in all
    this.ended = false;         // the server sent FIN
    this.closed = false;        // the socket is closed (either side)
    this.error = null;          // socket error (ECONNRESET, EPIPE, ...)
    this.closedAt = 0;
    this.localPort = sock.localPort;
    this._waiters = new Set();
    sock.on('data', (d) => { this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d; this.received += d.length; this._wake(); });
    sock.on('end', () => { this.ended = true; if (!this.closedAt) this.closedAt = Date.now(); this._wake(); });
    sock.on('error', (e) => { this.error = e; this._wake(); });
    sock.on('close', () => { this.closed = true; if (!this.closedAt) this.closedAt = Date.now(); this._wake(); });
  }

  // localAddress: another loopback source address (127.0.0.2, ...), to be
  // another client for per-client limits.
  // port a string: the path of a Unix socket (Host: localhost:80).
  static open(port, { host = '127.0.0.1', timeout = 5000, localAddress } = {}) {
    const unix = typeof port === 'string';
    return new Promise((resolve, reject) => {
      const sock = unix ? net.connect({ path: port })
        : net.connect(localAddress ? { port, host, localAddress } : { port, host });
      if (!unix) sock.setNoDelay(true);
      const t = setTimeout(() => { sock.destroy(); reject(new TimeoutError(`connect ${host}:${port}`)); }, timeout);
      const named = unix ? { port: 80, host: 'localhost' } : { port, host };
      sock.once('connect', () => { clearTimeout(t); sock.removeListener('error', onErr); resolve(new Conn(sock, named)); });
      const onErr = (e) => { clearTimeout(t); reject(e); };
      sock.once('error', onErr);
    });
  }

  _wake() { for (const w of this._waiters) w(); }

  // Waits until pred() is true, the socket is gone, or the timeout.
  _until(pred, timeout) {
    return new Promise((resolve) => {
      if (pred()) return resolve(true);
      let t = null;
      const w = () => {
        if (pred()) { done(true); } else if (this.closed || this.ended || this.error) { done(pred()); }
      };
      const done = (v) => { clearTimeout(t); this._waiters.delete(w); resolve(v); };
      t = setTimeout(() => done(pred()), timeout);
      this._waiters.add(w);
      w();
    });
  }

  get gone() { return this.closed || this.ended || !!this.error; }

  write(data) {
    return new Promise((resolve) => {
      if (this.sock.destroyed || !this.sock.writable) return resolve(false);
      this.sock.write(data, (err) => resolve(!err));
    });
  }

  // The next response in order. Throws TimeoutError or ClosedError.
  async response({ head = false, timeout = RESPONSE_MS } = {}) {
    const deadline = Date.now() + timeout;
    for (;;) {
      const r = parseResponse(this.buf, { head, eof: this.ended || this.closed });
      if (r) {
        this.buf = this.buf.subarray(r.used);
        r.response.localPort = this.localPort;
        return r.response;
      }
      if (this.gone) {
        const why = this.error ? this.error.code || this.error.message : 'eof';
        throw new ClosedError(`${why} with ${this.buf.length} unparsed bytes` +
          (this.buf.length ? `: ${JSON.stringify(this.buf.subarray(0, 200).toString('latin1'))}` : ''));
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new TimeoutError(`response (have ${this.buf.length} bytes)`);
      const before = this.received;
      await this._until(() => this.received !== before, left);
    }
  }

  async request(method, path, opts = {}) {
    const ok = await this.write(buildRequest(method, path, { host: `${this.host}:${this.port}`, ...opts }));
    if (!ok && !this.buf.length) throw new ClosedError(`write failed: ${this.error ? this.error.code : 'not writable'}`);
    return this.response({ head: method === 'HEAD', timeout: opts.timeout ?? RESPONSE_MS });
  }

  // Resolves true once the server has closed (FIN or reset), false on timeout.
  waitClose(timeout = 5000) { return this._until(() => this.gone, timeout); }

  // Resolves once some bytes (more than now) arrived or the connection went.
  waitData(timeout = 5000) {
    const before = this.received;
    return this._until(() => this.received !== before || this.gone, timeout);
  }

  destroy() { this.sock.destroy(); }
}

// One request on a fresh connection that is closed afterwards (to
// opts.host, default 127.0.0.1).
export async function request(port, method, path, opts = {}) {
  const c = await Conn.open(port, { host: opts.host, timeout: opts.timeout ?? 5000, localAddress: opts.localAddress });
  try {
    return await c.request(method, path, opts);
  } finally {
    c.destroy();
  }
}

export function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }
