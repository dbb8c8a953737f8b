// HAProxy (Debian's package) as the cluster's balancer, on the `lb` host:
// docs/haproxy.cfg itself, the sample for real deployments, with its
// `bind` and `server` lines swapped for the namespace addresses, its log
// on stderr (alerts and server state changes), its global maxconn cut to
// what this machine's file limit allows, and one test-only line:
// X-Parley-Front names the front host that answered (the driver reads
// it at each upgrade). Started in the foreground by the test, never as
// a system service; stop() ends it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { REPO } from '../../integration/lib/harness.mjs';

export const HAPROXY = '/usr/sbin/haproxy';
export const SAMPLE = path.join(REPO, 'docs/haproxy.cfg');

// The sample with bind -> addr:port and one server line per front
// ({name, addr, port}); throws when the sample no longer has the lines
// this swaps (so a change to it is seen here).
export function haproxyConfig({ addr, port = 80, fronts }) {
  const lines = fs.readFileSync(SAMPLE, 'utf8').split('\n');
  const out = [];
  let binds = 0, servers = 0, logs = 0;
  for (const line of lines) {
    const l = line.trim();
    if (/^bind\s/.test(l)) {
      if (binds++ === 0) out.push(`\tbind ${addr}:${port}`);
    } else if (/^server\s/.test(l)) {
      if (servers++ === 0) {
        for (const f of fronts) out.push(`\tserver ${f.name} ${f.addr}:${f.port}`);
        out.push('\thttp-response set-header X-Parley-Front %s');
      }
    } else if (/^maxconn\s/.test(l)) {
      out.push('\tmaxconn 4000');
    } else if (/^log\s+\/dev\/log/.test(l)) {
      logs++;
      out.push('\tlog stderr format short local0 notice');
    } else {
      out.push(line);
    }
  }
  if (!binds || !servers || !logs) throw new Error(`${SAMPLE}: expected bind, server and "log /dev/log" lines to swap`);
  return out.join('\n');
}

export class HAProxy {
  // cluster: netns.mjs's; fronts: [{name, addr, port}]; dir: where its
  // config goes.
  constructor(cluster, { fronts, dir, host = 'lb', port = 80 }) {
    this.cluster = cluster;
    this.host = host;
    this.addr = cluster.addr(host);
    this.port = port;
    this.cfg = path.join(dir, 'haproxy.cfg');
    fs.writeFileSync(this.cfg, haproxyConfig({ addr: this.addr, port, fronts }));
    this.log = '';
    this.lines = [];   // [time, line] of its log, as they came
    this.exited = false;
  }

  // When a log line matching re came (Date.now()), or null.
  seen(re) {
    const l = this.lines.find(([, line]) => re.test(line));
    return l ? l[0] : null;
  }

  get url() { return `http://${this.addr}:${this.port}`; }

  // Starts it (-db: foreground, no daemon); resolves once the config is
  // checked and it runs. ready(): a probe the caller gives (a request
  // through it from the client host), tried until it is true.
  async start(ready, timeout = 10000) {
    if (!fs.existsSync(HAPROXY)) throw new Error(`${HAPROXY} is missing: scripts/deps.sh test installs Debian's haproxy`);
    this.child = this.cluster.spawn(this.host, HAPROXY, ['-db', '-f', this.cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (d) => {
      const s = d.toString('utf8');
      this.log += s;
      for (const line of s.split('\n')) if (line) this.lines.push([Date.now(), line]);
    };
    this.child.stdout.on('data', onData);
    this.child.stderr.on('data', onData);
    this.exit = new Promise((resolve) => this.child.on('exit', (code, signal) => {
      this.exited = true;
      this.code = code;
      this.signal = signal;
      resolve({ code, signal });
    }));
    const deadline = Date.now() + timeout;
    for (;;) {
      if (this.exited) throw new Error(`haproxy exited at start (${this.code ?? this.signal}):\n${this.log}`);
      if (await ready().catch(() => false)) return this;
      if (Date.now() > deadline) throw new Error(`haproxy not serving after ${timeout} ms:\n${this.log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  // Stops it (SIGTERM, then SIGKILL after 5 s); throws if it had to.
  async stop() {
    if (!this.child || this.exited) return;
    this.child.kill('SIGTERM');
    let t;
    await Promise.race([this.exit, new Promise((r) => { t = setTimeout(r, 5000); })]);
    clearTimeout(t);
    if (!this.exited) {
      this.child.kill('SIGKILL');
      await this.exit;
      throw new Error(`haproxy did not exit within 5 s of SIGTERM:\n${this.log}`);
    }
  }
}
