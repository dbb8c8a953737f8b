// Part "handoff" (data-widget mode): what a handoff says and what a
// press of "Talk to a person" does, loaded at the first of them (cold
// code: a widget nobody hands over never needs it). Returns
//   status(line, state, was, name, left): the core's status line
//     (data-part=handoff-status, role=status: spoken) for the state the
//     conversation went to from was (a person's name; left: the visitor
//     left a message, the away form), hidden when it has nothing to say;
//   press(): the availability now is asked for, and its answer (or, none
//     within 2 s, the one known) picks "Leave a message" (the away form)
//     or a person (the core's askHuman);
//   typing(on, name): a person's typing bubble (typing_start and
//     typing_stop of role agent; their message ends it), shown or taken
//     away; it goes by itself after 20 s (a typing_stop lost with its
//     dashboard) and when the conversation is handed back.

// This part's texts (English; every src/lang/<code>.js has them too),
// in ctx.T once given to ctx.text.
const TEXT = {
  waitingText: 'Waiting for a person…',
  awayDoneText: 'Thanks! We got your message and will reply by email.',
  joinedText: '{name} joined',
  backText: 'The assistant is back',
  typingText: 'Typing',
};

export default function (ctx) {
  const T = ctx.text(TEXT);
  let picking = 0; // pressed, its availability not yet here (a timer)
  let typer = null; // the person's typing bubble
  let timer = 0;
  function typing(on, name) {
    clearTimeout(timer);
    if (typer) typer.remove();
    typer = null;
    if (!on) return;
    typer = ctx.add(ctx.bubble('agent', null, 'pending', name));
    typer.c.append(ctx.h('span', { 'data-part': 'typing' }, [T.typingText, ctx.h('i'), ctx.h('i'), ctx.h('i')]));
    typer.c = null; // (not one of ParleyChat.messages())
    timer = setTimeout(typing, 20000);
  }
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
  ctx.on(ctx.host, 'parley:destroy', () => clearTimeout(timer));
  return {
    typing,
    status(line, state, was, name, left) {
      if (state !== 'human') typing();
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
