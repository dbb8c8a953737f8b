// A reader of the dashboard's Server-Sent Events (GET /v1/admin/events)
// on a connection of its own.
import http from 'node:http';

// GET /v1/admin/events read as it arrives: {id, event, data} blocks (data
// parsed), and lastId (the newest id line, an id-only block included).
export class Events {
  constructor(req, res) {
    this.req = req;
    this.res = res;
    this.status = res.statusCode;
    this.headers = res.headers;
    this.events = [];
    this.pings = 0;
    this.lastId = null;
    this.ended = false;
    this.clean = false;       // ended with the stream's last chunk
    this.text = '';
    this.waiters = [];
    res.setEncoding('utf8');
    res.on('data', (d) => { this.text += d; this._parse(); this._wake(); });
    res.on('end', () => { this.ended = true; this.clean = true; this._wake(); });
    res.on('error', () => { this.ended = true; this._wake(); });
  }

  static open(p, { lastEventId, query = '', headers = {}, key = true } = {}) {
    const h = { Accept: 'text/event-stream', ...headers };
    if (key) h['x-admin-api-key'] = p.adminKey;
    if (lastEventId) h['Last-Event-ID'] = lastEventId;
    return new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: p.port, path: `/v1/admin/events${query}`, headers: h, agent: false }, (res) => resolve(new Events(req, res)));
      req.on('error', reject);
    });
  }

  _parse() {
    let i;
    while ((i = this.text.indexOf('\n\n')) >= 0) {
      const block = this.text.slice(0, i);
      this.text = this.text.slice(i + 2);
      const e = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) { this.pings++; continue; }
        const k = line.slice(0, line.indexOf(':'));
        const v = line.slice(line.indexOf(':') + 2);
        e[k] = v;
      }
      if (e.id !== undefined) this.lastId = e.id;
      if (e.event !== undefined) this.events.push({ id: e.id, event: e.event, data: JSON.parse(e.data) });
    }
  }

  _wake() { const w = this.waiters; this.waiters = []; for (const f of w) f(); }

  // The first event (not yet taken) that pred accepts; earlier ones stay.
  async take(pred, timeout = 5000, what = 'an event') {
    const deadline = Date.now() + timeout;
    for (;;) {
      const k = this.events.findIndex(pred);
      if (k >= 0) {
        const e = this.events.splice(k, 1)[0];
        if (this.seen) this.seen.push(e);
        return e;
      }
      const left = deadline - Date.now();
      if (left <= 0 || this.ended) throw new Error(`no ${what} within ${timeout} ms: ${JSON.stringify(this.events.map((e) => e.event))}`);
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  // The client port of the stream's connection (to see which worker holds it).
  get localPort() { return this.req.socket && this.req.socket.localPort; }

  close() { this.req.destroy(); }
}
