// The test SMTP server (Debian's aiosmtpd, lib/smtpd.py) on 127.0.0.1, and
// the mails it received, parsed: email.test.mjs and the browser's away
// test. STARTTLS and AUTH (user, password) are required unless plain.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

import { QUICK_POLLS, REPO, freePort, waitFor } from './harness.mjs';
import { spawnOwned } from './owned.mjs';

// A self-signed certificate for 127.0.0.1 in dir (cert.pem, key.pem).
export function smtpCert(dir) {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'key.pem'),
    '-out', path.join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  return path.join(dir, 'cert.pem');
}

// The test server's account and the sender, as every mail test uses them.
export const SMTP_USER = 'mailer';
export const SMTP_PASSWORD = 'smtp pass 1234';
export const SMTP_FROM = 'parley@example.com';

// A Parley's settings to send through the server on port (dir: smtpCert's),
// with more; the rate limit off (a test's visitors are one client), the
// mail outbox polled often (QUICK_POLLS: each mail a test waited for sat
// out an idle poll).
export function smtpEnv(dir, port, more = {}) {
  return {
    RATE_LIMIT_MAX_REQUESTS: '0', SMTP_URL: `smtp://127.0.0.1:${port}`, SMTP_USER, SMTP_PASSWORD, SMTP_FROM,
    SMTP_CA_FILE: path.join(dir, 'cert.pem'), ...QUICK_POLLS, ...more,
  };
}

// The SMTP server: its JSON lines as they come.
export class Smtpd {
  // plain: no STARTTLS offered, AUTH taken in clear. rcptDelayMs: each
  // RCPT TO answered that long after it came; dataDelayMs: each message's
  // end likewise (it is in mails at once). rcptReplies: a JSON file
  // {address: reply line} the server reads at each RCPT TO (smtpd.py).
  constructor(dir, port, { plain = false, user, password, rcptDelayMs = 0, dataDelayMs = 0, rcptReplies = '-' } = {}) {
    this.dir = dir;
    this.port = port;
    this.plain = plain;
    this.rcptDelayMs = rcptDelayMs;
    this.dataDelayMs = dataDelayMs;
    this.rcptReplies = rcptReplies;
    this.user = user;
    this.password = password;
    this.lines = [];
  }

  async start() {
    const tls = this.plain ? ['-', '-'] : [path.join(this.dir, 'cert.pem'), path.join(this.dir, 'key.pem')];
    this.proc = spawnOwned('/usr/bin/python3', [path.join(REPO, 'tests/integration/lib/smtpd.py'),
      ...tls, this.user, this.password, String(this.port), String(this.rcptDelayMs),
      String(this.dataDelayMs), this.rcptReplies],
    { stdio: ['ignore', 'pipe', 'pipe'] });
    this.stderr = '';
    // Its own lines: a server started again is ready when it says so.
    const from = this.lines.length;
    const ready = () => this.lines.slice(from).some((l) => l.ready);
    this.proc.stderr.on('data', (d) => { this.stderr += d; });
    readline.createInterface({ input: this.proc.stdout }).on('line', (l) => this.lines.push(JSON.parse(l)));
    // Ready, or gone: a server that could not start says why (its stderr).
    try {
      await waitFor(() => ready() || this.proc.exitCode !== null, 40000, 'smtpd ready');
    } catch (err) {
      err.message += `; its stderr: ${this.stderr}`;
      throw err;
    }
    assert.ok(ready(), `smtpd exited ${this.proc.exitCode} before it was ready: ${this.stderr}`);
  }

  get mails() { return this.lines.filter((l) => l.data !== undefined).map(parseMail); }

  // A Parley's settings to send through this server, with more (smtpEnv).
  env(more) { return smtpEnv(this.dir, this.port, more); }

  // Stopped, and its folder (smtpdOf's) removed.
  async close() {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  stop() {
    if (!this.proc || this.proc.exitCode !== null) return Promise.resolve();
    const gone = new Promise((ok) => this.proc.once('exit', ok));
    this.proc.kill('SIGTERM');
    return gone;
  }
}

// A server of the usual account (SMTP_USER, SMTP_PASSWORD) in a folder of
// its own (parley-<name>-…, its certificate made there), on a free port,
// started unless start is false; opts as Smtpd's. close() when done.
export async function smtpdOf(name, { start = true, ...opts } = {}) {
  const dir = fs.mkdtempSync(path.join(process.env.TMPDIR || '/tmp', `parley-${name}-`));
  smtpCert(dir);
  const s = new Smtpd(dir, await freePort(), { user: SMTP_USER, password: SMTP_PASSWORD, ...opts });
  if (start) await s.start();
  return s;
}

// RFC 2047 "B" words (UTF-8) of a header, decoded.
function decodeWords(v) {
  return v.replace(/\?=\s+=\?/g, '?==?').replace(/=\?UTF-8\?B\?([A-Za-z0-9+/=]+)\?=/gi,
    (_, b) => Buffer.from(b, 'base64').toString('utf8'));
}

// A received message: envelope, headers (unfolded, by lower-case name,
// each a list), raw header block, and the multipart's parts decoded.
export function parseMail(l) {
  const raw = l.data;
  const cut = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, cut);
  const headers = {};
  for (const line of head.replace(/\r\n[ \t]/g, ' ').split('\r\n')) {
    const i = line.indexOf(':');
    const k = line.slice(0, i).toLowerCase();
    (headers[k] ??= []).push(line.slice(i + 1).trim());
  }
  const boundary = /boundary="([^"]+)"/.exec(headers['content-type']?.[0] ?? '')?.[1];
  const parts = {};
  if (boundary) {
    for (const chunk of raw.slice(cut + 4).split(`--${boundary}`).slice(1)) {
      if (chunk.startsWith('--')) break;
      const j = chunk.indexOf('\r\n\r\n');
      const ph = chunk.slice(0, j);
      const type = /Content-Type: ([^;\r\n]+)/i.exec(ph)[1];
      assert.match(ph, /Content-Transfer-Encoding: base64/i);
      assert.match(ph, /charset=utf-8/i);
      parts[type] = Buffer.from(chunk.slice(j + 4).replace(/\s+/g, ''), 'base64').toString('utf8');
    }
  }
  return { ...l, head, headers, subject: decodeWords(headers.subject?.[0] ?? ''), parts, boundary };
}

