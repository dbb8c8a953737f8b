// The stack two parts of abuse.test.mjs share, sessionid.mjs and then
// history.mjs (their settings are the same: 2 workers, the mock model in
// 2 chunks, the per-client message limit off, so that only the limits under
// test answer): one start and stop under ASan fewer. sessionid.mjs goes
// first, as its exports are then small (history.mjs leaves a 3 MB
// conversation). The first to ask starts it; history.mjs, the last to use
// it, stops it, and abuse.test.mjs's last hook stops it if a part left it
// running.
import { Parley } from '../lib/harness.mjs';

let started = null;   // a promise of the started Parley, or null

// The shared Parley, started (once).
export function sharedStack() {
  if (!started) {
    const p = new Parley({ workers: 2, mock: { chunks: 2 }, env: { RATE_LIMIT_MAX_REQUESTS: '0' } });
    started = p.start().then(() => p, async (e) => { await p.stop().catch(() => {}); throw e; });
  }
  return started;
}

// Stops the shared Parley if it was started (throws on its problems, as
// Parley.stop does); a no-op after the first call.
export async function stopShared() {
  if (!started) return;
  const s = started;
  started = null;
  let p;
  try { p = await s; } catch { return; }   // its start failed: reported by the part that asked
  await p.stop();
}
