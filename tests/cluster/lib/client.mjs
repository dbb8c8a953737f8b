// The test's side of driver.mjs: starts it inside the cluster's `client`
// host and calls its ops, so the visitors' traffic (HTTP, WebSocket)
// starts inside the cluster and never crosses the root namespace.
//
//   const cl = await ClientHost.start(cluster);
//   const r = await cl.http('GET', 'http://10.77.0.11:4000/health');   // {status, headers, text, json()}
//   const ws = await cl.ws({ url, origin });                           // a socket, driven from here
//   await cl.stop();
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const DRIVER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'driver.mjs');

export class ClientHost {
  constructor(cluster, host) {
    this.cluster = cluster;
    this.host = host;
    this.pending = new Map();
    this.nextId = 1;
    this.log = '';
    this.exited = false;
  }

  // Starts the driver inside host (default `client`); resolves once it
  // said it is ready (at most timeout ms).
  static async start(cluster, { host = 'client', timeout = 10000 } = {}) {
    const c = new ClientHost(cluster, host);
    c.child = cluster.spawn(host, process.execPath, [DRIVER], { stdio: ['pipe', 'pipe', 'pipe'], cwd: path.dirname(DRIVER) });
    c.child.stderr.on('data', (d) => { c.log += d.toString('utf8'); });
    c.exit = new Promise((resolve) => c.child.on('exit', (code, signal) => {
      c.exited = true;
      for (const { reject } of c.pending.values()) reject(new Error(`the driver exited (${code ?? signal}): ${c.log.slice(-2000)}`));
      c.pending.clear();
      resolve({ code, signal });
    }));
    let ready;
    const isReady = new Promise((resolve) => { ready = resolve; });
    readline.createInterface({ input: c.child.stdout }).on('line', (line) => {
      let m;
      try { m = JSON.parse(line); } catch { c.log += `${line}\n`; return; }
      if (m.ready) { ready(); return; }
      const p = c.pending.get(m.id);
      if (!p) return;
      c.pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.ok) p.resolve(m.result);
      else p.reject(Object.assign(new Error(`${p.what}: ${m.error}`), { status: m.status }));
    });
    let t;
    const ok = await Promise.race([isReady.then(() => true), c.exit.then(() => false),
      new Promise((r) => { t = setTimeout(() => r(false), timeout); })]);
    clearTimeout(t);
    if (!ok) {
      await c.stop();
      throw new Error(`the client driver did not start within ${timeout} ms: ${c.log}`);
    }
    return c;
  }

  // One op; rejects after timeout ms (default: the op's own + 5 s).
  call(op, args = {}, timeout = (args.timeout ?? 10000) + 5000) {
    if (this.exited) return Promise.reject(new Error(`the driver has exited: ${this.log.slice(-2000)}`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const what = `${op}${args.url ? ` ${args.url}` : ''}`;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${what}: no answer from the driver within ${timeout} ms`));
      }, timeout);
      this.pending.set(id, { resolve, reject, timer, what });
      this.child.stdin.write(`${JSON.stringify({ ...args, id, op })}\n`);
    });
  }

  // An HTTP request from inside the client host: {status, headers, text, json()}.
  async http(method, url, { headers = {}, body, localAddress, timeout } = {}) {
    const r = await this.call('http', { method, url, headers, body, localAddress, timeout });
    return { ...r, json() { return JSON.parse(r.text); } };
  }

  // A WebSocket from inside the client host, driven from here.
  async ws(args) {
    const { ws, server } = await this.call('ws.open', args);
    const call = (op, a = {}, t) => this.call(op, { ...a, ws }, t);
    return {
      server,
      send: (msg) => call('ws.send', { msg }),
      next: (type, timeout = 10000) => call('ws.next', { type, timeout }),
      turn: (content, timeout = 10000) => call('ws.turn', { content, timeout }),
      close: () => call('ws.close'),
    };
  }

  // Closes its stdin (the driver closes its sockets and leaves), then
  // waits for it, killing it after timeout ms.
  async stop(timeout = 20000) {
    if (!this.exited) {
      this.child.stdin.end();
      let t;
      await Promise.race([this.exit, new Promise((r) => { t = setTimeout(r, timeout); })]);
      clearTimeout(t);
      if (!this.exited) {
        this.child.kill('SIGKILL');
        await this.exit;
        throw new Error(`the client driver did not leave within ${timeout} ms`);
      }
    }
  }
}
