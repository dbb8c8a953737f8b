// kill -9 under write load (issue 14): an acknowledged write survives the
// SIGKILL of any process. Writers go through the product's real paths and
// record every acknowledgement (lib/crashload.mjs); storaged is killed 50
// times at seeded random moments (and every fifth time once more during
// its start-up), a worker and masterd a few times; then an export must
// hold every acknowledged write, whole.
//
// The test waits only for what it needs: after each restart, one write
// acknowledged again (the workers reconnected). That is most of a cycle's
// time: storaged's start under ASan, then the workers' next reconnection
// attempt (every 250 ms, workerd/storec.c). The counts and where the time
// went are printed.
//
// A failure prints its seed: CRASH_SEED=<seed> replays the same kill
// moments (the writers' timing still varies from run to run).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { sleep, startParley, within } from './lib/harness.mjs';
import { checkAgainstExport, crashSeed, seededRandom, startLoad } from './lib/crashload.mjs';

const KILLS = Number(process.env.CRASH_KILLS || 50);
const ACK_WAIT_MS = 15000;	// for writes to be acknowledged again after a restart
const STARTUP_KILL_MS = 150;	// about storaged's start-up under ASan on a busy 2-core machine
// Every PARLEY_SYNC promises that a crash of Parley loses nothing
// (storaged/STORAGE.md): each restart of storaged takes the next one
// (CRASH_SYNC=full: that one only).
const SYNC_MODES = process.env.CRASH_SYNC ? [process.env.CRASH_SYNC] : ['full', 'nometa', 'interval'];

const OPTS = {
  mock: { chunks: 4, delayMs: 1 },
  env: { RATE_LIMIT_MAX_REQUESTS: '0' },
};

// Checks the export against the acknowledgements and prints the counts.
async function verify(t, p, load, extra) {
  const { problems, found } = await checkAgainstExport(p, load.acks);
  const a = load.acks;
  t.diagnostic(`${extra}; acknowledged: ${a.turns.length} turns, ${a.widgets.size} widgets, ${a.contacts.length} contacts, ${a.deleted.length} deletions ` +
    `(${a.summary()}); found: ${found.turns} turns, ${found.questions} of ${a.questions.length} questions, ${found.deletions} deletions, ${found.widgets} widgets, ${found.greetings} greetings, ${found.contacts} contacts; ` +
    `stored: ${found.conversations} conversations, ${found.messages} messages`);
  assert.deepEqual(problems.slice(0, 20), [], `${problems.length} problems (${extra})`);
}

// The two stacks side by side: the second's kills (a worker, masterd)
// beside the first's kill loop, each with its own load and counts.
describe('crashes under write load', { concurrency: true }, () => {
  test(`storaged killed with SIGKILL ${KILLS} times under write load: every acknowledged write is in the export, whole`, { timeout: 60000 + KILLS * 2000 }, async (t) => {
    const seed = crashSeed();
    t.diagnostic(`seed ${seed} (CRASH_SEED=${seed} replays the kill moments)`);
    const rand = seededRandom(seed);
    const t0 = Date.now();
    const p = await startParley(t, { workers: 2, ...OPTS });
    const load = await startLoad(p);
    let stopped = false;
    t.after(() => (stopped ? undefined : load.stop()));

    const acks = load.acks;
    // Where a cycle's time goes, in ms: to the first acknowledgement after a
    // restart (the workers reconnect), the random moment, the kill (to the
    // exit), the start (to serving).
    const ms = { ack: [], moment: [], kill: [], start: [] };
    let startupKills = 0;
    let sync = 'full';		// the running storaged's PARLEY_SYNC (the default at first)
    const killsBy = Object.fromEntries(SYNC_MODES.map((m) => [m, 0]));
    for (let k = 1; k <= KILLS; k++) {
      // Writes flow (the workers reconnected), then a random moment: at an
      // acknowledgement, during the next commits, or a little later.
      let at = Date.now();
      await acks.more(1, ACK_WAIT_MS, `a write acknowledged before kill ${k} (seed ${seed})`);
      ms.ack.push(Date.now() - at);
      const r = rand();
      const delay = r < 0.3 ? 0 : r < 0.7 ? Math.floor(rand() * 10) : Math.floor(rand() * 60);
      if (delay) await sleep(delay);
      ms.moment.push(delay);
      at = Date.now();
      await p.killStoraged('SIGKILL');
      ms.kill.push(Date.now() - at);
      killsBy[sync] = (killsBy[sync] || 0) + 1;
      sync = SYNC_MODES[k % SYNC_MODES.length];
      p.opts.env = { ...p.opts.env, PARLEY_SYNC: sync };
      if (k % 5 === 0) {
        // Now and then also during its start-up (opening the data, any
        // recovery), at a random moment within the first STARTUP_KILL_MS.
        p.spawnStoraged();
        await sleep(Math.floor(rand() * STARTUP_KILL_MS));
        await p.killStoraged('SIGKILL');
        startupKills++;
      }
      at = Date.now();
      await p.startStoraged();
      ms.start.push(Date.now() - at);
    }
    // Every writer is served again, then stops.
    await acks.eachWriterAgain(load.names, ACK_WAIT_MS, `every writer acknowledged after the last restart (seed ${seed})`);
    await load.stop();
    stopped = true;
    const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
    const cost = Object.entries(ms).map(([k, a]) => `${k} ${med(a)}`).join(', ');
    await verify(t, p, load, `seed ${seed}, ${KILLS} kills of storaged under load (${Object.entries(killsBy).map(([m, n]) => `${n} ${m}`).join(', ')}) and ${startupKills} during its start-up in ${Date.now() - t0} ms ` +
      `(a cycle's median ms: ${cost})`);
  });

  test('a worker and masterd killed with SIGKILL under write load: acknowledged writes survive, the service comes back', { timeout: 60000 }, async (t) => {
    const seed = crashSeed();
    t.diagnostic(`seed ${seed}`);
    const rand = seededRandom(seed);
    const t0 = Date.now();
    const p = await startParley(t, { workers: 2, shutdownTimeoutMs: 2000, ...OPTS });
    const load = await startLoad(p);
    let stopped = false;
    t.after(() => (stopped ? undefined : load.stop()));
    const acks = load.acks;
    const moment = async () => {
      await acks.more(3, ACK_WAIT_MS, `writes acknowledged before a kill (seed ${seed})`);
      await sleep(Math.floor(rand() * 30));
    };

    // A worker: masterd starts another at once (masterd/README.md).
    let workerKills = 0;
    for (let k = 0; k < 3; k++) {
      await moment();
      const pids = p.workerPids();
      const victim = pids[Math.floor(rand() * pids.length)];
      process.kill(victim, 'SIGKILL');
      workerKills++;
      await p.waitWorkerCount(2, 10000, (now) => !now.includes(victim));
    }
    await acks.eachWriterAgain(load.names, ACK_WAIT_MS, `every writer acknowledged after the worker kills (seed ${seed})`);

    // masterd: its workers finish what they hold and exit (docs/internals.md,
    // "Worker life"); the service manager starts it again (Restart=on-failure),
    // here the harness.
    for (let k = 0; k < 2; k++) {
      await moment();
      p.expectExit('masterd', { codes: [], signals: ['SIGKILL'] });
      process.kill(p.masterPid, 'SIGKILL');
      assert.ok(await within(p.procs.masterd.exit, 5000), 'masterd exits on SIGKILL');
      await p.restartMaster();
      await acks.eachWriterAgain(load.names, ACK_WAIT_MS, `every writer acknowledged after masterd restart ${k + 1} (seed ${seed})`);
    }
    await load.stop();
    stopped = true;
    await verify(t, p, load, `seed ${seed}, ${workerKills} worker kills and 2 masterd kills in ${Date.now() - t0} ms`);
  });
});
