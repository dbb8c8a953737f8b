// Part "feedback" (issue 26, data-widget mode): thumbs up and down under
// each finished answer of the assistant (config feedback_enabled), and the
// 1-5 rating form with a comment (config rating_enabled), offered on the
// server's rating_request (a person handed the chat back) and by
// ParleyChat.rate(). Returns rate(): shows the form (opens the panel, focuses
// the first star); false when it cannot. rate(0, 1): of the conversation
// just left (the conversations part): the next message, of the new one,
// takes the form away (a rating sent then would be the new one's);
// rate(0, id): that conversation's id (conversation_new's ended), named in
// the rating (this page may resume, another tab's first message in the new
// one, before it is sent).
// An answer knows its message through el.d (the core's, from history; this
// part's, from a message frame). One frame in flight at a time: a thumb
// pressed meanwhile is sent after it, its latest value only; an error
// answers it only when it names its frame (feedback, rating). The list
// stays at its end (when the visitor was there) as thumbs are added and as
// what shows under it shortens it, so the last answer's thumbs stay in sight.
import CSS from './feedback.css';

// This part's texts (English; every src/lang/<code>.js has them too),
// in ctx.T once given to ctx.text.
const TEXT = {
  fbUp: 'Helpful',
  fbDown: 'Not helpful',
  rateTitle: 'How was this chat?',
  rateStars: '{count} of 5',
  rateComment: 'Comment (optional)',
  rateThanks: 'Thanks for your feedback!',
  labelDismiss: 'Dismiss',
};

export default function (ctx) {
  const { h, cfg, on, host, list, icon } = ctx;
  const T = ctx.text(TEXT);
  ctx.css(CSS);
  const UP = 'M7 10v11M15 5l-1 5h5.5a2 2 0 0 1 2 2.3l-1.2 6A2 2 0 0 1 18.3 20H7V10l5-7a2 2 0 0 1 3 2z';
  const want = new Map(); // message id -> the value to send
  let busy = null; // the frame in flight: {id, value} or {score}
  let box = null; // the rating form, or its thanks

  // The buttons of el (an answer) show v ('up', 'down' or null).
  function show(el, v) {
    for (const b of el.fb.children) b.setAttribute('aria-pressed', String(b.value === v));
  }

  function next() {
    if (busy) return;
    const [id, value] = want.entries().next().value || [];
    if (!id) return;
    want.delete(id);
    busy = { id, value };
    if (!ctx.wsSend({ type: 'feedback', message_id: id, value })) busy = null;
  }

  // Thumbs under an answer that has its message id and is done.
  function thumbs(el) {
    const d = el.d;
    if (el.fb || !d || !/^[0-9a-f]{32}$/.test(d.id || '') || el.getAttribute('data-state') !== 'done') return;
    el.fb = h('div', { 'data-part': 'thumbs', role: 'group', 'aria-label': T.fbUp + ' / ' + T.fbDown }, [
      h('button', { type: 'button', value: 'up', 'aria-label': T.fbUp, title: T.fbUp }, icon(UP, 1)),
      h('button', { type: 'button', value: 'down', 'aria-label': T.fbDown, title: T.fbDown }, icon(UP, 1)),
    ]);
    el.append(el.fb);
    show(el, d.feedback || null);
    on(el.fb, 'click', (e) => {
      const b = e.target.closest('button');
      if (!b) return;
      const v = b.getAttribute('aria-pressed') === 'true' ? null : b.value; // pressed again: taken back
      show(el, v);
      want.set(d.id, v);
      next();
    });
  }

  // The list kept at its end while the visitor reads there: the thumbs
  // added under the last answer, and the list made shorter by what shows
  // below it ("Talk to a person" / "Leave a message", a form, the rating
  // form, a taller text area), would otherwise push the last answer's
  // thumbs out of sight, under that chip or form.
  const end = (height) => list.scrollHeight - list.scrollTop - height < 48;
  const toEnd = () => (list.scrollTop = list.scrollHeight);
  let seen = list.clientHeight; // the list's height before a resize
  new ResizeObserver(() => {
    // (0: the panel closed; opening it goes to the end anyway)
    if (list.clientHeight && list.clientHeight < seen && end(seen)) toEnd();
    seen = list.clientHeight;
  }).observe(list);

  const scan = () => {
    if (!cfg.feedback_enabled) return;
    const stick = end(list.clientHeight);
    list.querySelectorAll('[data-role=assistant]').forEach(thumbs);
    if (stick) toEnd();
  };

  ctx.onFrame('message', (f) => {
    if (f.role !== 'assistant') return;
    // (the proactive message may have come after the reply's bubble)
    const all = list.querySelectorAll('[data-role=assistant]:not([data-proactive])');
    const el = all[all.length - 1];
    if (el && !el.d) el.d = f;
    scan();
  });
  ctx.onFrame('history', scan);
  ctx.onFrame('feedback_saved', (f) => {
    // the server's value is the answer's now (another tab's press included)
    list.querySelectorAll('[data-role=assistant]').forEach((el) => {
      if (el.d && el.d.id === f.message_id) {
        el.d.feedback = f.value;
        if (el.fb && !want.has(f.message_id)) show(el, f.value);
      }
    });
    if (busy && busy.id === f.message_id) busy = null;
    next();
  });
  ctx.onFrame('error', (f) => {
    // refused (or not stored): what the server holds is shown again; only
    // the answer to the frame in flight (its `frame`), not another's (the
    // turn's, a list's...), which the core shows
    if (!busy || f.frame !== (busy.id ? 'feedback' : 'rating')) return;
    if (busy.id) list.querySelectorAll('[data-role=assistant]').forEach((el) => el.fb && el.d.id === busy.id && !want.has(busy.id) && show(el, el.d.feedback || null));
    else if (box && box.save) box.save.disabled = false;
    busy = null;
    next();
  });

  // A new socket: the frame in flight went with the old one (no answer is
  // coming): a thumb is sent again, the rating may be.
  ctx.onFrame('session', () => {
    if (busy && busy.id && !want.has(busy.id)) want.set(busy.id, busy.value);
    if (box && box.save) box.save.disabled = false;
    busy = null;
    next();
  });

  // ---- the rating form
  // (the focus in it, or on its Send when it was sent: to the text area)
  function close() {
    if (box && (box.sent || box.contains(ctx.root.getRootNode().activeElement))) ctx.input.focus();
    if (box) box.remove();
    box = null;
  }

  // asked: the server's rating_request (a frame): the form is offered
  // without moving the focus or opening the panel; else (the API) both.
  function rate(asked, ended) {
    if (!ctx.wsMode || !cfg.rating_enabled) return false;
    close();
    const stars = [1, 2, 3, 4, 5].map((n) =>
      h('label', 0, [
        h('input', { type: 'radio', name: 'pr-score', value: String(n), required: true }),
        h('span', { 'aria-hidden': 'true' }, n + '★'),
        h('span', { class: 'sr' }, T.rateStars.replace('{count}', n)),
      ])
    );
    const comment = h('textarea', { rows: '2', maxlength: '1000', 'aria-label': T.rateComment, placeholder: T.rateComment, dir: 'auto' });
    const save = h('button', { type: 'submit', 'data-part': 'save' }, T.labelSend);
    const x = h('button', { type: 'button', 'data-part': 'skip', 'aria-label': T.labelDismiss }, '×');
    box = h('form', { 'data-part': 'rating', 'aria-labelledby': 'pr-title' }, [
      h('fieldset', 0, [h('legend', { id: 'pr-title' }, T.rateTitle), h('div', { 'data-part': 'stars' }, stars)]),
      comment,
      h('div', 0, [save, x]),
    ]);
    box.save = save;
    box.ended = ended;
    on(x, 'click', close);
    on(box, 'submit', (e) => {
      e.preventDefault();
      const c = box.querySelector('input:checked');
      if (!c || busy) return;
      busy = { score: +c.value };
      box.sent = save.disabled = true;
      if (!ctx.wsSend({ type: 'rating', score: +c.value, comment: comment.value.trim(), conversation_id: typeof ended == 'string' ? ended : undefined })) {
        busy = null;
        save.disabled = false;
      }
    });
    ctx.panel.insertBefore(box, ctx.composer);
    if (asked) ctx.announce(T.rateTitle);
    else {
      ctx.setOpen(true, false);
      stars[0].firstChild.focus();
    }
    return true;
  }

  ctx.onFrame('rating_saved', () => {
    busy = null;
    close();
    box = h('p', { 'data-part': 'rated', role: 'status' }, T.rateThanks);
    ctx.panel.insertBefore(box, ctx.composer);
    ctx.announce(T.rateThanks);
    next();
  });
  ctx.onFrame('rating_request', (f) => rate(f));
  // the thanks goes with the next message; a new session has no form
  for (const n of ['send', 'reset']) on(host, 'parley:' + n, () => box && (!box.save || box.ended) && close());
  on(host, 'parley:reset', () => {
    close();
    want.clear(); // the old session's answers
    busy = null;
  });

  scan();
  return rate;
}
