// parleyctl (parleyctl/) against a running Parley: stats, widgets and
// export agree with the admin API; purge's CLI; the errors (no storaged,
// an existing backup file, bad arguments, a reply that does not decode);
// the users (add with the password on stdin, list, log in with it,
// reset-password: the old one refused, the new one let in); and the
// must-show: a backup taken while chat turns keep being written
// restores, in a fresh data directory under a second storaged, to an
// environment that opens and holds every message acknowledged before the
// backup began.
//
// Purge's deletion itself (old conversations, batches) is tested at the
// storaged level (tests/unit/storaged/test_ctlreq.c): storaged has no test clock to
// age data here.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';

import { BIN, StorageClient, sleep, startParley, waitFor, within } from './lib/harness.mjs';
import { chat, mockReply, sid } from './lib/chat.mjs';
import { Enc, F, frame, helloFrame, T } from './lib/storage.mjs';
import { assertJsonError } from './lib/checks.mjs';
import { Visitor } from './lib/wsclient.mjs';
import { login, loginRequest } from './lib/dashboard.mjs';

const CTL = path.join(BIN, 'parleyctl');

// Runs parleyctl; resolves {code, stdout, stderr} whatever its status.
function ctl(args, opts = {}) {
  return new Promise((resolve) => {
    execFile(CTL, args, { timeout: 120000, maxBuffer: 64 << 20, env: { ...process.env, ...(opts.env || {}) } },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
      });
  });
}

// Runs parleyctl with input on its stdin (not a terminal); {code, stdout, stderr}.
function ctlIn(args, input) {
  return new Promise((resolve) => {
    const child = spawn(CTL, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

async function ok(args) {
  const r = await ctl(args);
  assert.equal(r.code, 0, `parleyctl ${args.join(' ')}: ${r.stderr}`);
  assert.ok(!/Sanitizer|runtime error/.test(r.stderr), r.stderr);
  return r.stdout;
}

const jsonl = (s) => s.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));

// The two stacks side by side (an ASan start is seconds; the users' test
// waits mostly on scrypt).
describe('parleyctl against a running Parley', { concurrency: true }, () => {
  test('parleyctl', { timeout: 240000 }, async (t) => {
    assert.ok(fs.existsSync(CTL), `${CTL} does not exist: run "make test-build"`);
    const p = await startParley(t, { workers: 2, mock: true, env: { RATE_LIMIT_MAX_REQUESTS: '0' } });
    const S = ['-S', p.sockPath];

    // Some conversations, a few with several turns, and a second widget.
    // The conversations side by side, each one's turns in order.
    await Promise.all(Array.from({ length: 6 }, async (_, i) => {
      const s = sid('ctl');
      for (let k = 0; k <= i % 3; k++) {
        const r = await chat(p, s, `turn ${k} of ${i}, "quoted", =formula`);
        assert.equal(r.status, 200, r.text);
      }
    }));
    const mk = await p.request('POST', '/v1/admin/widgets', {
      headers: { 'x-admin-api-key': p.adminKey, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'Shop', daily_message_cap: 40, enabled: false }),
    });
    assert.ok(mk.status === 200 || mk.status === 201, mk.text);

    await t.test('stats agrees with the admin API', async () => {
      const s = JSON.parse(await ok([...S, 'stats', '--json']));
      const total = (await p.admin('/v1/admin/conversations?limit=1')).json().total;
      assert.equal(s.conversations, total);
      assert.equal(s.messages, 2 * (1 + 2 + 3 + 1 + 2 + 3));
      assert.equal(s.widgets, 2);
      assert.equal(s.mapSize, 64 * 1024 * 1024);
      assert.ok(s.fileSize > 0 && s.pageSize > 0 && s.leafPages > 0);
      const text = await ok([...S, 'stats']);
      assert.match(text, new RegExp(`^conversations +${total}$`, 'm'));
      assert.match(text, /^data file bytes +\d+$/m);
    });

    await t.test('widgets agrees with the admin API', async () => {
      const mine = JSON.parse(await ok([...S, 'widgets', '--json']));
      const { widgets } = (await p.admin('/v1/admin/widgets')).json();
      assert.deepEqual(mine, widgets.map((w) => ({
        id: w.id, widget_id: w.widget_id, name: w.name, enabled: w.enabled, daily_message_cap: w.daily_message_cap,
      })));
      const shop = mine.find((w) => w.name === 'Shop');
      assert.equal(shop.enabled, false);
      assert.equal(shop.daily_message_cap, 40);
      const text = await ok([...S, 'widgets']);
      assert.match(text, /^PUBLIC ID +ID +ENABLED +DAILY CAP +NAME$/m);
      assert.match(text, new RegExp(`^${shop.widget_id} +${shop.id} +no +40 +Shop$`, 'm'));
    });

    await t.test('export is the HTTP export, byte for byte', async () => {
      // Every combination side by side (nothing writes meanwhile).
      const combos = [];
      for (const format of ['jsonl', 'csv'])
        for (const rows of ['conversations', 'messages'])
          for (const widget of [null, 'default']) combos.push([format, rows, widget]);
      await Promise.all(combos.map(async ([format, rows, widget]) => {
        const q = `format=${format}&rows=${rows}${widget ? `&widget=${widget}` : ''}`;
        const [http, mine] = await Promise.all([
          p.admin(`/v1/admin/export?${q}`, { timeout: 30000 }),
          ok([...S, 'export', '--format', format, '--rows', rows, ...(widget ? ['--widget', widget] : [])]),
        ]);
        assert.equal(http.status, 200, http.text);
        assert.equal(mine, http.text, `export ${q}`);
      }));
      // The default: JSON Lines of conversations.
      assert.equal(jsonl(await ok([...S, 'export'])).length, 6);
      // Each export is in the audit log, parleyctl's as the API's.
      const log = (await p.admin('/v1/admin/audit?limit=200')).json().entries;
      const exports = log.filter((e) => e.action === 'export');
      assert.equal(exports.filter((e) => e.who.kind === 'parleyctl').length, 9);
      assert.equal(exports.filter((e) => e.who.kind === 'install_key').length, 8);
    });

    await t.test('purge: nothing is that old; its arguments', async () => {
      assert.match(await ok([...S, 'purge', '--older-than', '1', '--dry-run']), /^purge: would delete 0 conversations with no activity for 1 day\n$/);
      assert.match(await ok([...S, 'purge', '--older-than=36500']), /^purge: deleted 0 conversations/);
      assert.equal(JSON.parse(await ok([...S, 'stats', '--json'])).conversations, 6);
      const bads = [['purge'], ['purge', '--older-than', '0'], ['purge', '--older-than', '36501'], ['purge', '--older-than', 'ten'], ['purge', '--dry-run']];
      const rs = await Promise.all(bads.map((bad) => ctl([...S, ...bad])));
      for (const [i, r] of rs.entries()) {
        assert.equal(r.code, 2, `${bads[i].join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, /^parleyctl: purge: .*\nusage: parleyctl /);
      }
    });

    await t.test('a reply that does not decode exactly is an error, not a crash', async () => {
      // A storaged that answers every request with one byte, or with a
      // well-formed empty widget list and a byte more.
      const fake = path.join(p.tmp, 'fake-storaged.sock');
      const server = net.createServer((c) => {
        c.on('error', () => {});
        c.write(helloFrame('parley-storaged'));
        let buf = Buffer.alloc(0);
        c.on('data', (d) => {
          buf = Buffer.concat([buf, d]);
          while (buf.length >= 12 && buf.length >= 12 + buf.readUInt32BE(4)) {
            const type = buf.readUInt16BE(0);
            const id = buf.readUInt32BE(8);
            buf = buf.subarray(12 + buf.readUInt32BE(4));
            if (type === T.HELLO) continue;
            const reply = type === T.ST_WIDGET_LIST ? new Enc().u32(0).u8(0).done() : Buffer.from([0]);
            c.write(frame(type, F.REPLY, id, reply));
          }
        });
      });
      await new Promise((resolve) => server.listen(fake, resolve));
      try {
        const cmds = [['stats'], ['widgets'], ['export'], ['purge', '--older-than', '1']];
        const rs = await Promise.all(cmds.map((c) => ctl(['-S', fake, ...c])));
        for (const [i, r] of rs.entries()) {
          const cmd = cmds[i][0];
          assert.equal(r.code, 1, `${cmd}: ${r.stderr}`);
          assert.equal(r.stderr, `parleyctl: ${cmd}: storaged's answer does not decode\n`);
        }
      } finally {
        server.close();
      }
    });

    await t.test('errors: no storaged, an existing file, bad arguments', async () => {
      const nosock = path.join(p.tmp, 'nothing', 'storaged.sock');
      let r = await ctl(['-S', nosock, 'stats']);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `parleyctl: storaged is not running (no socket at ${nosock})\n`);
      r = await ctl(['stats'], { env: { PARLEY_RUN_DIR: path.join(p.tmp, 'nothing') } });
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `parleyctl: storaged is not running (no socket at ${nosock})\n`);
      const exists = path.join(p.tmp, 'exists.mdb');
      fs.writeFileSync(exists, 'mine');
      r = await ctl([...S, 'backup', exists]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `parleyctl: backup: ${exists} exists\n`);
      assert.equal(fs.readFileSync(exists, 'utf8'), 'mine');
      r = await ctl([...S, 'backup', path.join(p.tmp, 'no', 'such', 'dir.mdb')]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^parleyctl: backup: .*: No such file or directory\n$/);
      const bads = [[], ['frob'], ['stats', 'extra'], ['export', '--format', 'xml'], ['export', '--widget', 'no spaces'], ['backup'], ['-t', 'x', 'stats']];
      const rs = await Promise.all(bads.map((bad) => ctl([...S, ...bad])));
      for (const [i, rb] of rs.entries()) {
        assert.equal(rb.code, 2, `${bads[i].join(' ')}: ${rb.stderr}`);
        assert.match(rb.stderr, /^parleyctl: .*\nusage: parleyctl \[-S socket\]/);
      }
    });

    await t.test('must-show: a backup under write load restores with every acknowledged message', async () => {
      // Chat turns run all along; each records when its 200 came back.
      const acked = [];   // {conversationId, message, reply, at}
      let stop = false, failures = 0;
      const writer = async (w) => {
        for (let i = 0; !stop; i++) {
          const s = sid(`load${w}`);
          const message = `load ${w}/${i} ${'x'.repeat(2000)}`;
          const r = await chat(p, s, message, { timeout: 30000 });
          if (r.status !== 200) { failures++; continue; }
          const j = r.json();
          acked.push({ conversationId: j.conversationId, message, reply: j.message, at: Date.now() });
        }
      };
      const writers = Array.from({ length: 8 }, (_, w) => writer(w));
      await waitFor(() => acked.length >= 20 || failures > 0, 30000, '20 turns acknowledged before the backup');
      const began = Date.now();
      const before = acked.filter((a) => a.at <= began);
      const file = path.join(p.tmp, 'backup.mdb');
      const b = await ctl([...S, 'backup', file]);
      const ended = Date.now();
      await waitFor(() => acked.length > before.length || failures > 0, 30000, 'a turn acknowledged around or after the backup');
      const duringOrAfter = acked.length - before.length;
      stop = true;
      await within(Promise.all(writers), 40000);
      assert.equal(b.code, 0, b.stderr);
      assert.match(b.stdout, /^backup: \d+ bytes written to .*backup\.mdb\n$/);
      assert.equal(failures, 0);
      assert.ok(before.length >= 20, `turns acknowledged before the backup: ${before.length}`);
      assert.ok(duringOrAfter > 0, 'turns went on around the backup');
      t.diagnostic(`${before.length} turns acknowledged before the backup; backup took ${ended - began} ms; ${duringOrAfter} more turns around and after it`);
      assert.equal((fs.statSync(file).mode & 0o777), 0o600);

      // A storaged of its own on data (its socket in run), answering:
      // {sock, stop() (SIGTERM, a clean exit checked)}.
      const storagedOn = async (data, run) => {
        let log = '';
        const child = spawn(path.join(BIN, 'parley-storaged'), [], {
          env: { ...process.env, PARLEY_DATA_DIR: data, PARLEY_RUN_DIR: run, PARLEY_MAP_SIZE_MB: '64' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        child.stdout.on('data', (d) => { log += d; });
        child.stderr.on('data', (d) => { log += d; });
        const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
        t.after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
        const sock = path.join(run, 'storaged.sock');
        for (let i = 0; ; i++) {
          try {
            const c = await StorageClient.connect(sock, { name: 'itest-restore', timeout: 1000 });
            await c.ping({ timeout: 2000 });
            c.close();
            break;
          } catch (e) {
            if (i > 200) throw new Error(`restored storaged did not start: ${e.message}\n${log}`);
            await sleep(50);
          }
        }
        const stop = async () => {
          child.kill('SIGTERM');
          const ex = await within(exited, 10000);
          assert.deepEqual(ex, { code: 0, signal: null }, log);
          assert.ok(!/Sanitizer|runtime error/.test(log), log);
        };
        return { sock, stop };
      };
      // storaged on a data directory that cannot start: {code, signal, err}.
      const refusedOn = (data, run) => new Promise((resolve) => {
        const c = spawn(path.join(BIN, 'parley-storaged'), [], {
          env: { ...process.env, PARLEY_DATA_DIR: data, PARLEY_RUN_DIR: run, PARLEY_MAP_SIZE_MB: '64' },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let err = '';
        c.stderr.on('data', (d) => { err += d; });
        const timer = setTimeout(() => c.kill('SIGKILL'), 20000);
        c.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, err }); });
      });

      // Restore: a fresh data directory holding the file as data.mdb, served
      // by a storaged of its own.
      const dir = path.join(p.tmp, 'restore');
      const data = path.join(dir, 'data'), run = path.join(dir, 'run');
      fs.mkdirSync(data, { recursive: true });
      fs.copyFileSync(file, path.join(data, 'data.mdb'));
      let restored = await storagedOn(data, run);
      const sock = restored.sock;
      const msgs = jsonl(await ok(['-S', sock, 'export', '--rows', 'messages']));
      const have = new Set(msgs.map((m) => `${m.conversationId}\n${m.role}\n${m.content}`));
      for (const a of before) {
        assert.ok(have.has(`${a.conversationId}\nuser\n${a.message}`), `user message of ${a.conversationId} restored`);
        assert.ok(have.has(`${a.conversationId}\nassistant\n${a.reply}`), `reply of ${a.conversationId} restored`);
        assert.equal(a.reply, mockReply(a.message));
      }
      const st = JSON.parse(await ok(['-S', sock, 'stats', '--json']));
      assert.ok(st.conversations >= 6 + before.length);
      assert.ok(st.conversations <= 6 + acked.length + 8, 'nothing made up');
      // In place (parleyctl(8): stop storaged, parleyctl restore): the
      // backup as it was, not with the later writes its log held replayed
      // over it (after a checkpoint since, it refused to start).
      const b2 = path.join(p.tmp, 'backup2.mdb');
      await ok(['-S', sock, 'backup', b2]);
      for (const who of ['late@example.com', 'later@example.com']) {
        assert.equal((await ctlIn(['-S', sock, 'user', 'add', who, '--role', 'admin'], 'a password of length\n')).code, 0);
        await ok(['-S', sock, 'backup', path.join(p.tmp, `after-${who}.mdb`)]);	// a checkpoint
      }
      await restored.stop();
      await ok(['restore', '--data-dir', data, b2]);
      restored = await storagedOn(data, run);
      assert.doesNotMatch(await ok(['-S', restored.sock, 'user', 'list']), /late@example\.com|later@example\.com/);
      await restored.stop();

      // The backup copied in part: refused at start with why, where its
      // missing pages killed storaged with SIGBUS at their first read; in a
      // new directory, and in place of a store stopped cleanly.
      const whole = fs.readFileSync(file);
      const cut = path.join(p.tmp, 'cut', 'data');
      fs.mkdirSync(cut, { recursive: true });
      for (const where of [cut, data]) {
        fs.writeFileSync(path.join(where, 'data.mdb'), whole.subarray(0, Math.floor(whole.length / 2)));
        const r = await refusedOn(where, path.join(where, '..', 'run'));
        assert.deepEqual([r.code, r.signal], [1, null], r.err);
        assert.match(r.err, /data\.mdb is cut short: \d+ bytes where its last commit needs \d+/);
        assert.ok(!/Sanitizer|runtime error/.test(r.err), r.err);
      }
    });
  });

  test('parleyctl verify: a backup read back without storaged; a damaged copy named', { timeout: 120000 }, async (t) => {
    const p = await startParley(t, {
      workers: 1, mock: true,
      env: { RATE_LIMIT_MAX_REQUESTS: '0', PARLEY_WEBHOOK_ALLOW_PRIVATE: 'on', PARLEY_ACTIONS_ALLOW_PRIVATE: 'on' },
    });
    const S = ['-S', p.sockPath];
    // Records of several kinds: conversations, messages, visitor sessions,
    // a widget, an agent, a user.
    const MARK = 'verify-marker-0123456789';
    for (let i = 0; i < 3; i++) assert.equal((await chat(p, sid('vfy'), `${MARK} ${i}`)).status, 200);
    const mk = await p.request('POST', '/v1/admin/agents', {
      headers: { 'x-admin-api-key': p.adminKey, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'Verifier', system_prompt: 'Be brief.' }),
    });
    assert.equal(mk.status, 201, mk.text);
    assert.equal((await ctlIn([...S, 'user', 'add', 'vera@example.com', '--role', 'agent'], 'a password of length\n')).code, 0);
    // More kinds of record: a webhook (its deliveries come with the turn
    // after it), a canned reply, an action, an API key, an invitation, a
    // knowledge Q&A, a dashboard session.
    const admin = async (route, body) => {
      const r = await p.request('POST', route, {
        headers: { 'x-admin-api-key': p.adminKey, 'Content-Type': 'application/json' }, body: JSON.stringify(body),
      });
      assert.equal(r.status, 201, `${route}: ${r.text}`);
    };
    await admin('/v1/admin/webhooks', { url: 'http://127.0.0.1:9/h', events: ['message.created'] });
    await admin('/v1/admin/canned-replies', { shortcut: 'hours', text: 'We open at nine.' });
    await admin('/v1/admin/actions', {
      name: 'order_status', description: 'An order', url: 'http://127.0.0.1:9/orders/{{order_id}}',
      parameters: { type: 'object', properties: { order_id: { type: 'string' } }, required: ['order_id'] },
    });
    await admin('/v1/admin/api-keys', { name: 'ci', role: 'agent' });
    await admin('/v1/admin/users', { email: 'invited@example.com', role: 'agent' });
    await admin('/v1/admin/knowledge/sources', { type: 'qa', question: 'When do you open?', answer: 'At nine.' });
    await login(p, 'a password of length', { email: 'vera@example.com' });
    assert.equal((await chat(p, sid('vfy'), `${MARK} hooked`)).status, 200);
    // A contact linked to its visitor's conversation (contact_convs).
    const shop = await p.adminJson('POST', '/v1/admin/widgets', { name: 'Shop', contact_info_mode: 'optional', collect_email: true });
    assert.equal(shop.status, 201, shop.text);
    const visitor = await Visitor.open(p, shop.json().widget_id);
    await visitor.next('session');
    await visitor.turn('a visitor who leaves an email');
    visitor.send({ type: 'contact_info', email: 'linked@example.com' });
    await visitor.next('contact_info_saved');
    await visitor.close();
    const contacts = (await p.adminJson('GET', '/v1/admin/contacts')).json().contacts;
    assert.equal(contacts.length, 1);
    const file = path.join(p.tmp, 'verify.mdb');
    await ok([...S, 'backup', file]);

    // Whole: every database read, its records decoded; storaged not asked.
    let r = await ctl(['-S', path.join(p.tmp, 'no.sock'), 'verify', file]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const m = /^(.*): (\d+) entries read, (\d+) records decoded: no problem found\n(?![^]*\n)/m.exec(r.stdout);
    assert.ok(m, r.stdout);
    assert.equal(m[1], file);
    assert.ok(r.stdout.split('\n').filter(Boolean).every((l) => l.startsWith(`${file}: `)), r.stdout);
    assert.ok(Number(m[3]) >= 4 * 2 + 4 + 10, `records decoded: ${m[3]}`);
    assert.ok(Number(m[2]) > Number(m[3]), 'the indexes read too');
    // Each kind made above is read back, by its database.
    const kinds = Object.fromEntries([...r.stdout.matchAll(/: (\w+): (\d+) (\w+) records read\n/g)].map((x) => [x[1], [Number(x[2]), x[3]]]));
    for (const [db, name, least] of [['convs', 'conversation', 4], ['msgs', 'message', 8], ['widgets', 'widget', 1],
      ['agents', 'agent', 1], ['orgs', 'org', 1], ['users', 'user', 1], ['webhooks', 'webhook', 1],
      ['deliveries', 'delivery', 1], ['canned', 'canned', 1], ['actions', 'action', 1], ['apikeys', 'apikey', 1],
      ['invites', 'invite', 1], ['kb_sources', 'kbsource', 1], ['kb_chunks', 'kbchunk', 1], ['dsessions', 'dsession', 1]]) {
      assert.ok(kinds[db], `${db} read: ${r.stdout}`);
      assert.equal(kinds[db][1], name);
      assert.ok(kinds[db][0] >= least, `${db}: ${kinds[db][0]}`);
    }

    // The running storaged's own directory: refused, nothing read; so is
    // its data.mdb, or its directory, reached through a symbolic link.
    const linkFile = path.join(p.tmp, 'live-link.mdb');
    const linkDir = path.join(p.tmp, 'live-link-dir');
    fs.symlinkSync(path.join(p.dataDir, 'data.mdb'), linkFile);
    fs.symlinkSync(p.dataDir, linkDir);
    for (const live of [p.dataDir, path.join(p.dataDir, 'data.mdb'), linkFile, linkDir]) {
      r = await ctl(['verify', live]);
      assert.equal(r.code, 1, `${live}: ${r.stdout}`);
      assert.match(r.stderr, /^parleyctl: verify: a storaged is running on .*: verify a backup of it/, live);
    }

    // A message's text (as stored in its message or its conversation's
    // preview) made to hold NUL bytes (LMDB keeps no checksum: only the
    // record's own check tells): named, exit 1.
    const bytes = fs.readFileSync(file);
    // A copy of the backup as damage(copy) leaves it, verified: exit 1.
    const damaged = async (name, damage) => {
      const copy = Buffer.from(bytes);
      damage(copy);
      const f = path.join(p.tmp, `verify-${name}.mdb`);
      fs.writeFileSync(f, copy);
      const res = await ctl(['verify', f]);
      assert.equal(res.code, 1, res.stdout + res.stderr);
      return { r: res, file: f, copy };
    };
    const at = bytes.indexOf(Buffer.from(`${MARK} 1`));
    assert.ok(at > 0, 'the message is in the copy');
    const bad = await damaged('bad', (c) => c.fill(0, at, at + 4));
    ({ r } = bad);
    assert.match(r.stdout, /: (msgs: key [0-9a-f]+(\.\.\.)?: message|convs: key [0-9a-f]+: conversation) record of format \d+ does not read\n/);
    assert.match(r.stdout, /PROBLEMS FOUND\n.*: 1 problem\n$/);

    // An entity's list (records.c's order: u64 created_at | id) naming an
    // agent that is not there, as a bug or a bad copy would leave it: the
    // list is held against the records (its organisation's list, the same
    // key after "org NUL", is left as it is).
    const agentId = JSON.parse(mk.text).id;
    const orderAt = [];
    for (let i = bytes.indexOf(agentId); i >= 0; i = bytes.indexOf(agentId, i + 1)) {
      const t = i >= 8 ? Number(bytes.readBigUInt64BE(i - 8)) : 0;
      if (Math.abs(t - Date.now()) < 3600e3 && bytes.toString('latin1', i - 16, i - 8) !== 'default\0') orderAt.push(i);
    }
    assert.equal(orderAt.length, 1, 'the agent order key is in the copy once');
    const last = orderAt[0] + agentId.length - 1;
    ({ r } = await damaged('unlisted', (c) => { c[last] = c[last] === 0x30 ? 0x31 : 0x30; }));
    assert.match(r.stdout, new RegExp(`: agent_order: names agent ${agentId.slice(0, -1)}[0-9a-f], which is not in agents\n`));
    assert.match(r.stdout, /PROBLEMS FOUND\n.*: 1 problem\n$/);

    // The conversations' activity index (conv_activity: org NUL widget
    // NUL u64 updated_at | id[16], STORE_CONV_INDEXES) naming a
    // conversation that is not there: held against convs as the lists are.
    const actPrefix = Buffer.from('default\0default\0', 'latin1');
    const actAt = [];
    for (let i = bytes.indexOf(actPrefix); i >= 0; i = bytes.indexOf(actPrefix, i + 1)) {
      const k = i + actPrefix.length;
      if (k + 24 <= bytes.length && Math.abs(Number(bytes.readBigUInt64BE(k)) - Date.now()) < 3600e3) actAt.push(k + 8);
    }
    assert.ok(actAt.length >= 4, `the activity keys are in the copy: ${actAt.length}`);
    const unindexed = await damaged('unindexed', (c) => { c[actAt[0] + 15] ^= 1; });
    ({ r } = unindexed);
    const gone = unindexed.copy.toString('hex', actAt[0], actAt[0] + 16);
    assert.match(r.stdout, new RegExp(`: conv_activity: names conversation ${gone}, which is not in convs\n`));
    assert.match(r.stdout, /PROBLEMS FOUND\n.*: 1 problem\n$/);
    // A count kept of an index's entries (STORE_COUNTS): the default
    // widget's conversations (conv_counts: org NUL widget -> the version
    // byte and a u64) made one more than conv_activity holds: named.
    const counted = Buffer.concat([Buffer.from('default\0default', 'latin1'), Buffer.from([1, 0, 0, 0, 0, 0, 0, 0, 4])]);
    const countAt = bytes.indexOf(counted);
    assert.ok(countAt > 0 && bytes.indexOf(counted, countAt + 1) < 0, 'the default widget\'s count (4) is in the copy once');
    ({ r } = await damaged('miscounted', (c) => { c[countAt + counted.length - 1] = 5; }));
    assert.match(r.stdout, /: conv_counts: counts 5 for default\/default, which conv_activity has 4 entries of\n/);
    assert.match(r.stdout, /PROBLEMS FOUND\n.*: 1 problem\n$/);
    // A contact's link (contact_convs: contact id | conversation id) made
    // to name another contact than its conversation names: named, and so
    // are the counts of links it leaves wrong (contact_links) and the
    // contact it names, which is not there.
    const contactId = Buffer.from(contacts[0].id, 'hex');
    const linkAt = bytes.indexOf(contactId);
    assert.ok(linkAt > 0, 'the contact id is in the copy');
    const links = [];
    for (let i = linkAt; i >= 0; i = bytes.indexOf(contactId, i + 1)) links.push(i);
    // the key of 32 bytes whose second half is a conversation of the copy
    const convIds = new Set((await p.adminJson('GET', '/v1/admin/conversations?limit=100')).json().conversations.map((c) => c._id));
    const linkKey = links.find((i) => convIds.has(bytes.toString('hex', i + 16, i + 32)));
    assert.ok(linkKey !== undefined, 'the link key is in the copy');
    const mislinked = await damaged('mislinked', (c) => { c[linkKey + 15] ^= 1; });
    ({ r } = mislinked);
    const other = mislinked.copy.toString('hex', linkKey, linkKey + 16);
    const conv = bytes.toString('hex', linkKey + 16, linkKey + 32);
    assert.match(r.stdout, new RegExp(`: contact_convs: links contact ${other} to conversation ${conv}, which names contact "${contacts[0].id}"\n`));
    assert.match(r.stdout, new RegExp(`: contact_links: no count for ${other}, which contact_convs has 1 entries of\n`));
    assert.match(r.stdout, new RegExp(`: contact_links: counts 1 for ${contacts[0].id}, of which contact_convs has no entry\n`));
    assert.match(r.stdout, new RegExp(`: contact_convs: links contact ${other}, which is not in contacts nor being deleted \\(contact_gone\\)\n`));
    assert.match(r.stdout, /PROBLEMS FOUND\n.*: 4 problems\n$/);
    // The contact's count of links (contact_links: its id -> the version
    // byte and a u64) made 2 where contact_convs holds 1, then 0 (none is
    // kept at 0): named.
    const linkCount = Buffer.concat([contactId, Buffer.from([1, 0, 0, 0, 0, 0, 0, 0, 1])]);
    const linkCountAt = bytes.indexOf(linkCount);
    assert.ok(linkCountAt > 0 && bytes.indexOf(linkCount, linkCountAt + 1) < 0, 'the contact\'s count of links (1) is in the copy once');
    for (const [n, lines] of [[2, [`counts 2 for ${contacts[0].id}, which contact_convs has 1 entries of`]],
      [0, [`counts 0 for ${contacts[0].id}, which contact_convs has 1 entries of`, `the count for ${contacts[0].id} is 0 \\(kept as none\\)`]]]) {
      ({ r } = await damaged(`links-${n}`, (c) => { c[linkCountAt + linkCount.length - 1] = n; }));
      for (const l of lines) assert.match(r.stdout, new RegExp(`: contact_links: ${l}\n`));
      assert.match(r.stdout, new RegExp(`PROBLEMS FOUND\n.*: ${lines.length} problems?\n$`));
    }
    // The contact's record (contacts: its id as the key, 16 bytes) under
    // another id: its link names a contact that is not there and whose
    // deletion is not under way (contact_gone), what a deletion that left
    // a link behind would leave (its conversation names a contact nothing
    // answers for, and that no erasure will reach): named.
    const recordAt = links.filter((i) => i !== linkCountAt && bytes.readUInt16LE(i - 2) === 16);
    assert.equal(recordAt.length, 1, 'the contact\'s record key is in the copy once');
    ({ r } = await damaged('no-contact', (c) => { c[recordAt[0] + 15] ^= 1; }));
    assert.match(r.stdout, new RegExp(`: contact_convs: links contact ${contacts[0].id}, which is not in contacts nor being deleted \\(contact_gone\\)\n`));
    assert.match(r.stdout, /PROBLEMS FOUND\n.*: 1 problem\n$/);
    // The oldest formats' copy (no conv_activity: a start builds it) reads whole.
    r = await ctl(['verify', path.join(import.meta.dirname, '../fixtures/datadir-v1/data.mdb')]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /: no problem found\n$/);

    // Cut short (a copy made in part), not an LMDB file, no such file.
    const cut = path.join(p.tmp, 'verify-cut.mdb');
    fs.writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    r = await ctl(['verify', cut]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /: cut short: \d+ bytes where its last commit needs \d+ \(copied in part\?\)\n/);
    const junk = path.join(p.tmp, 'verify-junk.mdb');
    fs.writeFileSync(junk, Buffer.alloc(65536, 7));
    r = await ctl(['verify', junk]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^parleyctl: verify: .*verify-junk\.mdb: not an LMDB file\n$/);
    r = await ctl(['verify', path.join(p.tmp, 'none.mdb')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /none\.mdb: No such file or directory\n$/);
    for (const x of [r, await ctl(['verify', bad.file])]) assert.ok(!/Sanitizer|runtime error/.test(x.stderr), x.stderr);

    // One page overwritten (LMDB keeps no checksums: its reads of such a
    // page may crash it), each page in turn with bytes of its own seed,
    // until one crashes the read: every run names what it found and exits
    // 0 or 1 (a page no longer in use reads as before), never a crash
    // report; the crash says the copy is damaged, and where.
    const PAGE = 4096;
    let crashed = null;
    for (let pg = 2; pg < Math.min(bytes.length / PAGE, 64) && !crashed; pg++) {
      const dam = Buffer.from(bytes);
      for (let i = 16; i < PAGE; i += 32) {
        crypto.createHash('sha256').update(`page ${pg} at ${i}`).digest().copy(dam, pg * PAGE + i, 0, Math.min(32, PAGE - i));
      }
      const damFile = path.join(p.tmp, 'verify-page.mdb');
      fs.writeFileSync(damFile, dam);
      r = await ctl(['verify', damFile]);
      assert.ok(!/Sanitizer|runtime error/.test(r.stderr), `page ${pg}: ${r.stderr}`);
      assert.equal(r.stderr, '', `page ${pg}`);
      assert.ok(r.code === 0 || r.code === 1, `page ${pg}: exit ${r.code}`);
      assert.match(r.stdout, r.code === 0 ? /: no problem found\n$/ : /: PROBLEMS FOUND\n.*: \d+ problems?\n$/, `page ${pg}`);
      if (/: damaged: /.test(r.stdout)) crashed = r;
    }
    assert.ok(crashed, 'a damaged page crashed a read');
    assert.equal(crashed.code, 1);
    assert.match(crashed.stdout, /verify-page\.mdb: damaged: reading it crashed \((Segmentation fault|Bus error)\) while checking [^\n]+: a page of it is not as LMDB wrote it\n/);

    // A stopped storaged's data directory reads too (its data.mdb).
    await p.killStoraged('SIGTERM');
    r = await ctl(['verify', p.dataDir]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /data\.mdb: \d+ entries read, \d+ records decoded: no problem found\n$/);
  });

  test('parleyctl user: add (password on stdin), list, login, reset-password', { timeout: 120000 }, async (t) => {
    const p = await startParley(t, { workers: 2 });
    const S = ['-S', p.sockPath];
    const PW = 'first password of pat';
    const PW2 = 'second password of pat';

    let r = await ctlIn([...S, 'user', 'add', 'Pat@Example.com', '--role', 'admin', '--name', 'Pat P'], `${PW}\n`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^user add: usr_[0-9a-f]{32} pat@example\.com, admin of default\n$/);
    assert.ok(!r.stdout.includes(PW) && !r.stderr.includes(PW), 'the password is not printed');
    // Again: a member already. A short password, or none: refused before
    // anything is stored. The three side by side.
    const [again, short, none] = await Promise.all([
      ctlIn([...S, 'user', 'add', 'pat@example.com', '--role', 'agent'], `${PW}\n`),
      ctlIn([...S, 'user', 'add', 'short@example.com', '--role', 'agent'], 'short\n'),
      ctlIn([...S, 'user', 'add', 'none@example.com', '--role', 'agent'], ''),
    ]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /pat@example\.com is a member of default already/);
    assert.equal(short.code, 1);
    assert.match(short.stderr, /the password must be 12 to 1024 characters/);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no password on stdin/);

    const list = await ok([...S, 'user', 'list']);
    const rows = list.trim().split('\n');
    assert.match(rows[0], /^ID +EMAIL +ROLE +DISABLED +NAME$/);
    assert.equal(rows.length, 2, list);
    assert.match(rows[1], /^usr_[0-9a-f]{32} +pat@example\.com +admin +no +Pat P$/);

    const s = await login(p, PW, { email: 'pat@example.com' });
    const me = (await s.get('/dashboard/api/session')).json();
    assert.equal(me.user.name, 'Pat P');
    assert.deepEqual(me.organization, { id: 'default', role: 'admin' });

    r = await ctlIn([...S, 'user', 'reset-password', 'pat@example.com'], `${PW2}\n`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /password set, its sessions ended/);
    assert.equal((await s.get('/dashboard/api/session')).status, 401, 'the old session ended');
    assertJsonError(await loginRequest(p, PW, { email: 'pat@example.com' }), 401, 'Wrong email or password');
    await login(p, PW2, { email: 'pat@example.com' });
    r = await ctlIn([...S, 'user', 'reset-password', 'nobody@example.com'], `${PW2}\n`);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no user nobody@example\.com/);

    // Another organisation: its own members.
    const o = await p.adminJson('POST', '/v1/admin/organizations', { name: 'Other' });
    assert.equal(o.status, 201, o.text);
    r = await ctlIn([...S, 'user', 'add', 'pat@example.com', '--role', 'owner', '--org', o.json().id], `${PW}\n`);
    assert.equal(r.code, 0, r.stderr);
    const other = await ok([...S, 'user', 'list', '--org', o.json().id]);
    assert.match(other, /pat@example\.com +owner/);
    // Joined with its password kept.
    await login(p, PW2, { email: 'pat@example.com' });
  });
});
