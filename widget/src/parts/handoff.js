// Part "handoff" (data-widget mode): what a handoff says and what a
// press of "Talk to a person" does, loaded at the first of them (cold
// code: a widget nobody hands over never needs it). Returns
//   status(line, state, was, name, left): the core's status line
//     (data-part=handoff-status, role=status: spoken) for the state the
//     conversation went to from was (a person's name; left: the visitor
//     left a message, the away form), hidden when it has nothing to say;
//   press(): the availability now is asked for, and its answer (or, none
//     within 2 s, the one known) picks "Leave a message" (the away form)
//     or a person (the core's askHuman).

// This part's texts (English; every src/lang/<code>.js has them too),
// in ctx.T once given to ctx.text.
const TEXT = {
  waitingText: 'Waiting for a person…',
  awayDoneText: 'Thanks! We got your message and will reply by email.',
  joinedText: '{name} joined',
  backText: 'The assistant is back',
};

export default function (ctx) {
  const T = ctx.text(TEXT);
  let picking = 0; // pressed, its availability not yet here (a timer)
  function choose() {
    picking = clearTimeout(picking); // (undefined: none)
    const f = ctx.root.getRootNode().activeElement;
    if (!ctx.up()) return;
    const a = ctx.away();
    if (a && a.away) return ctx.showForm('away');
    ctx.askHuman();
    // (the button hides once asked: the focus goes on to the text area)
    if (f && f.getAttribute('data-part') == 'handoff') ctx.input.focus();
  }
  // the press waited for it (the core took it first: ctx.away())
  ctx.onFrame('availability', () => picking && choose());
  // nor is a press's choice made for a session reset() ended
  ctx.on(ctx.host, 'parley:reset', () => (picking = clearTimeout(picking)));
  return {
    status(line, state, was, name, left) {
      // (a replacer function: a name's $' or $& is not a pattern)
      line.textContent =
        state === 'human'
          ? T.joinedText.replace('{name}', () => name || T.agentName)
          : state === 'ai'
            ? was === 'human'
              ? T.backText
              : ''
            : left
              ? T.awayDoneText
              : T.waitingText;
      line.hidden = !line.textContent;
    },
    press() {
      if (!picking && ctx.wsSend({ type: 'availability' })) picking = setTimeout(choose, 2000);
    },
  };
}
