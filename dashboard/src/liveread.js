// A view kept by its reads and the live events (live.js) together, in the
// order things happened. Two races this closes:
// - a view that listened only after its first read lost every event that
//   came between (the stream's "ready" already past, nothing read again);
// - a read's answer is older than an event shown while it was on its way
//   (the stream's "ready" asks for a read, a hand-back comes, then the
//   answer puts "a colleague is answering" back for good).
// So the view listens before its first read, and the events that come while
// a read is on its way are shown at once and again after its answer (an
// event says what its conversation is now: shown twice, it shows the same).
// Shown again, it is said to be (event's again): what the view asks or tells
// for an event (the list's mark-as-read, a notification, a contact read) was
// done the first time, and is not done twice.
// A read asked while another runs ('reset', 'poll', a filter changed) is
// made after it.

import { isAbort } from './api.js';
import { onEvent } from './live.js';

const KEEP_MAX = 1000; // events kept during one read; more: read again instead
const ROUNDS_MAX = 10; // reads in a row each asked again; then the next ask

/**
 * Listens from now on (call it before the view's first read), until
 * ctx.onLeave. Returns {attach(view), run()}:
 * attach({read, show, event, fail, el, settled}) once the view can show:
 * read() its data (a promise), show(answer), event(type, data, again) each
 * event but 'reset' and 'poll' (which read again; poll: false, not 'poll':
 * the view asks itself; again: shown already, before the answer just shown),
 * settled() (optional) once an answer and the events kept during its read
 * are shown (what the answer says may be older than they are: tell what
 * is so then) and fail(e) a read's error; el (optional) gets data-reads, the
 * answers handled (for the tests). The events that came before go to
 * event(), and a read asked before is made.
 * run() reads and shows: the first load, or again (a filter changed).
 */
export function liveReads(ctx) {
  let view = null;
  let kept = []; // [type, data, shown]: before attach, and while a read is on its way
  let reading = false;
  let again = false; // a read asked while one runs: made after it
  let lost = false; // events not kept (KEEP_MAX): the answer is not shown, read again
  let handled = 0;

  ctx.onLeave(onEvent((type, d) => {
    if (type === 'reset' || (type === 'poll' && !(view && view.poll === false))) return void run();
    if (type !== 'mode' && (reading || !view)) {
      if (kept.length < KEEP_MAX) kept.push([type, d, !!view]);
      else lost = true;
    }
    if (view) view.event(type, d, false);
  }));

  function replay() {
    const k = kept;
    kept = [];
    for (const [type, d, shown] of k) view.event(type, d, shown);
  }

  async function run() {
    if (ctx.signal.aborted) return;
    if (reading || !view) {
      again = true;
      return;
    }
    reading = true;
    try {
      for (let round = 0; round < ROUNDS_MAX; round++) {
        again = false;
        lost = false;
        kept = [];
        let answer;
        let failed = null;
        try {
          answer = await view.read();
        } catch (e) {
          failed = e;
        }
        if (ctx.signal.aborted || (failed && isAbort(failed))) return;
        handled++;
        if (view.el) view.el.dataset.reads = String(handled);
        if (failed) {
          if (!again && !lost) view.fail(failed);
        } else if (!lost) {
          view.show(answer);
          replay();
          if (view.settled) view.settled();
        }
        if (!again && !lost) return;
      }
    } finally {
      reading = false;
      kept = [];
    }
  }

  function attach(v) {
    view = v;
    replay();
    if (again || lost) {
      again = false;
      lost = false;
      run();
    }
  }

  return { attach, run };
}
