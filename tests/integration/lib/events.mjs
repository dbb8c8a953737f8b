// A reader of Server-Sent Events (GET /v1/admin/events) on its own
// keep-alive connection: open it, then take the events in order.
import http from 'node:http';

export class EventReader {
  constructor() {
    this.events = [];
    this.waiters = [];
    this.buf = '';
    this.ended = false;
    this.status = 0;
  }

  // Opens the stream; resolves once the answer's head has come.
  // headers: e.g. {'x-admin-api-key': k, 'last-event-id': id}.
  static open(port, { headers = {}, path = '/v1/admin/events', timeout = 5000 } = {}) {
    const r = new EventReader();
    return new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path, headers, timeout }, (res) => {
        r.status = res.statusCode;
        r.headers = res.headers;
        r.res = res;
        res.setEncoding('utf8');
        res.on('data', (d) => r._feed(d));
        res.on('end', () => { r.ended = true; r._wake(); });
        res.on('error', () => { r.ended = true; r._wake(); });
        resolve(r);
      });
      req.on('socket', (s) => { r.sock = s; });
      req.on('timeout', () => req.destroy(new Error('no answer head')));
      req.on('error', reject);
      r.req = req;
    });
  }

  get localPort() { return this.sock && this.sock.localPort; }

  _wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  // One event per blank-line-ended block; comments (": ping") are counted
  // apart, "retry:" kept.
  _feed(s) {
    this.buf += s;
    let i;
    while ((i = this.buf.indexOf('\n\n')) >= 0) {
      const block = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 2);
      const ev = { event: 'message', data: '', id: undefined };
      let data = [];
      let any = false;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) { this.comments = (this.comments || 0) + 1; continue; }
        const c = line.indexOf(':');
        const k = c < 0 ? line : line.slice(0, c);
        const v = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '');
        if (k === 'event') { ev.event = v; any = true; } else if (k === 'data') { data.push(v); any = true; } else if (k === 'id') { ev.id = v; any = true; } else if (k === 'retry') this.retry = Number(v);
      }
      if (!any) continue;
      ev.data = data.join('\n');
      try { ev.json = JSON.parse(ev.data); } catch { ev.json = undefined; }
      this.events.push(ev);
    }
    this._wake();
  }

  // The next event that pred accepts (events before it are dropped).
  async next(pred = () => true, timeout = 10000, what = 'an event') {
    const deadline = Date.now() + timeout;
    for (;;) {
      const k = this.events.findIndex(pred);
      if (k >= 0) return this.events.splice(0, k + 1)[k];
      if (this.ended) throw new Error(`the event stream ended while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${timeout} ms`);
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  close() { if (this.req) this.req.destroy(); }
}
