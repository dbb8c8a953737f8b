// One `make run` (scripts/run.sh) in a temp directory: its data, run
// directory and env file there (PARLEY_DATA_DIR, PARLEY_RUN_DIR,
// PARLEY_ENV_FILE), so a developer's ./var and ./.env are never touched;
// the release binaries in bin/ unless extraEnv names PARLEY_RUN_BIN.
import fs from 'node:fs';
import path from 'node:path';

import { REPO, childPids, freePort, seeAll, seenAlive, sleep, within } from './harness.mjs';
import { request } from './http.mjs';
import { spawnOwned } from './owned.mjs';

export const RUN = path.join(REPO, 'scripts/run.sh');

export class RunSh {
  constructor(dir, extraEnv = {}) {
    this.dir = dir;
    this.extraEnv = extraEnv;
    this.out = '';
    // Every process run.sh started that was seen: pid -> its start.
    this.kids = new Map();
  }

  // run.sh's children now, added to kids.
  seeKids() { seeAll(this.kids, childPids(this.child.pid)); }

  // The kids still running as themselves (harness.mjs's seenAlive: a
  // pid another test's process took since is none of ours).
  kidsAlive() { return seenAlive(this.kids); }

  async start({ waitHealthy = true } = {}) {
    this.port = await freePort();
    const env = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (/^(PARLEY_|LISTEN_|NOTIFY_SOCKET|ADMIN_API_KEY|WIDGET_API_KEY|PORT$|NODE_ENV|OPENAI_|CORS_ORIGIN|RATE_LIMIT_|MAX_HISTORY_MESSAGES|TRUST_PROXY|SYSTEM_PROMPT|MOCKAI_)/.test(k)) continue;
      env[k] = v;
    }
    Object.assign(env, {
      PORT: String(this.port),
      PARLEY_WORKERS: '2',
      PARLEY_ENV_FILE: path.join(this.dir, 'env'),
      PARLEY_DATA_DIR: path.join(this.dir, 'data'),
      PARLEY_RUN_DIR: path.join(this.dir, 'run'),
      PARLEY_LOG_LEVEL: 'info',
    }, this.extraEnv);
    this.child = spawnOwned(RUN, [], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] }, () => this.kidsAlive());
    const onData = (d) => { this.out += d.toString('utf8'); };
    this.child.stdout.on('data', onData);
    this.child.stderr.on('data', onData);
    this.exited = false;
    this.exit = new Promise((resolve) => this.child.on('exit', (code, signal) => { this.exited = true; this.code = code; this.signal = signal; resolve({ code, signal }); }));
    this.closed = new Promise((resolve) => this.child.on('close', resolve));
    if (!waitHealthy) return this;
    const deadline = Date.now() + 30000;
    let last = '';
    while (Date.now() < deadline) {
      if (this.exited) throw new Error(`run.sh exited during start-up (code ${this.code}):\n${this.out}`);
      this.seeKids();
      try {
        const r = await request(this.port, 'GET', '/health', { timeout: 2000 });
        // Up when /health says so and run.sh has told the user (its
        // "Parley on <url>" line comes after its own check, a moment later).
        if (r.status === 200 && /^run: Parley on /m.test(this.out)) return this;
        last = r.status === 200 ? 'healthy, run.sh has not said "Parley on" yet' : `status ${r.status}`;
      } catch (e) { last = e.message; }
      await sleep(100);
    }
    throw new Error(`make run's stack not healthy after 30 s (${last}):\n${this.out}`);
  }

  envFile() {
    const s = fs.readFileSync(path.join(this.dir, 'env'), 'utf8');
    return Object.fromEntries(s.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  }

  // Ctrl-C: SIGINT to the script. Resolves {code, signal}.
  async stop(signal = 'SIGINT') {
    if (!this.exited) {
      this.seeKids();
      this.child.kill(signal);
      await within(this.exit, 30000);
    }
    const res = { code: this.code, signal: this.signal, stuck: !this.exited };
    if (!this.exited) this.child.kill('SIGKILL');
    // Nothing it started may be left.
    const deadline = Date.now() + 5000;
    let left = this.kidsAlive();
    while (left.length && Date.now() < deadline) { await sleep(50); left = this.kidsAlive(); }
    // Which they were, for the failure's message (read before the kill).
    res.leftNames = left.map((k) => {
      try { return `${k} ${fs.readFileSync(`/proc/${k}/cmdline`, 'latin1').split('\0').join(' ').trim()}`; } catch { return `${k} (gone)`; }
    });
    for (const k of left) { try { process.kill(k, 'SIGKILL'); } catch { /* gone */ } }
    res.leftBehind = left;
    await within(this.closed, 2000);
    return res;
  }
}
