// Part "conversations" (data-widget mode, issue 26): "Earlier" and "New"
// in the header (buttons named "Earlier conversations" and "New
// conversation", an icon and that short word each); the session's conversations
// listed (newest first), an earlier one shown read-only, and the way back
// to the chat. Frames (docs/widget-protocol.md, "Conversations"):
// new_conversation -> conversation_new, conversations -> conversations,
// open_conversation -> history with readonly (an error naming the frame
// asked, in the list's note). Before a new conversation
// it emits parley:conversation-end ({rating}); once it started, on a
// widget with rating_enabled whose conversation left had a visitor
// message, the feedback part's rate() (its rating form), when that part
// exists. The visitor's other tabs follow (ctx.said: they resume the
// session, as a reload would): once a new conversation starts here, and
// once its first message is stored (a socket that left its conversation
// hears no other's; resumed, it is on the new one). "Earlier" shows only
// while the session has an earlier conversation (one other than the one
// shown): a resumed session's `session` says so (`earlier`; the core
// keeps that frame, ctx.up(), for this part loaded beside the socket), a
// New that left one (`ended`), the list itself; a new session has none.
import CSS from './conversations.css';
import { shown } from '../net.js';

// This part's texts (English; every src/lang/<code>.js has them too),
// in ctx.T once given to ctx.text.
const TEXT = {
  labelNewChat: 'New conversation',
  labelEarlier: 'Earlier conversations',
  // their buttons' visible text: words of the two above (the name holds the text)
  labelNewShort: 'New',
  labelEarlierShort: 'Earlier',
  labelBack: 'Back to chat',
  readonlyText: 'Earlier conversation (read only)',
  noChatsText: 'No earlier conversations.',
};

const ICON_NEW = 'M12 5v14M5 12h14';
const ICON_LIST = 'M4 6h16M4 12h16M4 18h10';

export default function (ctx) {
  const { h, icon, on, root, panel } = ctx;
  if (!ctx.wsMode) return;
  const T = ctx.text(TEXT);
  ctx.css(CSS);
  // An icon and a short visible text (a word of the label, so the name
  // holds what is seen); the whole label is the name and the tooltip.
  const btn = (part, label, text, d) =>
    h('button', { type: 'button', 'data-part': part, 'aria-label': label, title: label }, [icon(d, 1), h('span', 0, text)]);
  const pastBtn = btn('earlier', T.labelEarlier, T.labelEarlierShort, ICON_LIST);
  const newBtn = btn('new-conversation', T.labelNewChat, T.labelNewShort, ICON_NEW);
  pastBtn.setAttribute('aria-expanded', 'false');
  pastBtn.setAttribute('aria-controls', 'pc-convs');
  ctx.header.append(pastBtn, newBtn);
  const earlier = (b) => (pastBtn.hidden = !b);
  const up = ctx.up();
  earlier(up && up.earlier);
  ctx.onFrame('session', (f) => earlier(f.earlier));

  const heading = h('h2', { id: 'pc-convs-h', tabindex: -1 }, T.labelEarlier);
  const back = h('button', { type: 'button', 'data-part': 'conv-back' }, T.labelBack);
  const note = h('p', { 'data-part': 'conv-note', role: 'status' });
  const items = h('ul', { 'data-part': 'conv-list', 'aria-labelledby': 'pc-convs-h' });
  const thread = h('div', { 'data-part': 'conv-thread', role: 'log', 'aria-labelledby': 'pc-convs-h', tabindex: 0 });
  const view = h('section', { id: 'pc-convs', 'data-part': 'conversations', 'aria-labelledby': 'pc-convs-h', hidden: true }, [
    h('div', { 'data-part': 'conv-bar' }, [back, heading]),
    note,
    items,
    thread,
  ]);
  panel.append(view);
  let state = 'chat'; // 'chat' | 'list' | 'thread'
  // this tab's conversation has no message yet (begun here, or another tab's resumed);
  // a part loaded after the resumed session's `history`: its `session` has no handoff
  let fresh = !!(up && up.resumed && !up.handoff);
  let asked = ''; // the frame whose answer is awaited

  // Shows the chat, the list or an earlier conversation.
  function show(s) {
    state = s;
    const open = s !== 'chat';
    view.hidden = !open;
    root.toggleAttribute('data-convs', open);
    pastBtn.setAttribute('aria-expanded', String(open));
    items.hidden = s !== 'list';
    thread.hidden = s !== 'thread';
    heading.textContent = s === 'thread' ? T.readonlyText : T.labelEarlier;
    back.textContent = s === 'thread' ? T.labelEarlier : T.labelBack;
    if (open) heading.focus();
  }

  function ask(frame) {
    note.textContent = '';
    if (ctx.wsSend(frame)) asked = frame.type;
    else note.textContent = T.reconnectingText;
  }

  function list() {
    items.textContent = '';
    show('list');
    ask({ type: 'conversations' });
  }

  on(pastBtn, 'click', () => (state === 'chat' ? list() : show('chat')));
  on(back, 'click', () => (state === 'thread' ? list() : (show('chat'), ctx.input.focus())));
  // Not while a reply is written (the server would refuse it; the error
  // would end the reply's bubble).
  let rateIt = false; // the conversation left had a visitor message: rate it
  on(newBtn, 'click', () => {
    if (root.hasAttribute('data-busy')) return;
    rateIt = !!ctx.cfg.rating_enabled && !!ctx.list.querySelector("[data-role='user']");
    ctx.emit('conversation-end', { rating: rateIt });
    ask({ type: 'new_conversation' });
  });
  on(ctx.host, 'parley:reset', () => (show('chat'), earlier(0)));
  on(items, 'click', (e) => {
    const b = e.target.closest('button');
    if (!b) return;
    if (b.cur) {
      show('chat');
      ctx.input.focus(); // (the focus was in the list, now hidden)
    } else ask({ type: 'open_conversation', id: b.value });
  });

  const when = (t) => {
    const d = new Date(t);
    return isNaN(d) ? '' : d.toLocaleString(root.lang || undefined, { dateStyle: 'medium', timeStyle: 'short' });
  };
  ctx.onFrame('conversations', (f) => {
    asked = '';
    const cs = Array.isArray(f.conversations) ? f.conversations : [];
    const any = cs.some((c) => !c.current);
    earlier(any);
    // none earlier: that said, and no item (the current one is the chat)
    items.replaceChildren(
      ...(any ? cs : []).map((c) => {
        const b = h('button', { type: 'button', 'data-part': 'conv-item', value: String(c.id), 'aria-current': c.current ? 'true' : null }, [
          h('span', { dir: 'auto' }, String(c.preview || '…')),
          h('small', 0, when(c.updated_at)),
        ]);
        b.cur = !!c.current;
        return h('li', 0, b);
      })
    );
    note.textContent = any ? '' : T.noChatsText;
  });
  ctx.onFrame('history', (f) => {
    if (!f.readonly) return void (fresh = !f.conversation_id);
    asked = '';
    // the messages the chat itself would show (no system ones, none empty)
    // (.d: each message, as the core's history keeps it: the attach part shows its files)
    thread.replaceChildren(...shown(f.messages).map((m) => Object.assign(ctx.bubble(m.role, m.content, m.status, m.name), { d: m })));
    // the knowledge its answers cite, under them (the sources part)
    if (f.messages.some((m) => m && m.sources)) ctx.part('sources').then((s) => s && s(0, thread));
    show('thread');
  });
  // (its first message stored: the other tabs, on no conversation, resume it)
  ctx.onFrame('typing_start', (f) => f.role || !fresh || ((fresh = false), ctx.said(0, 1)));
  ctx.onFrame('conversation_new', (f) => {
    asked = '';
    fresh = true;
    if (f.ended) earlier(1); // the one left is an earlier one
    ctx.said(0, 1); // only now, on disk: a New the socket never sent says nothing
    ctx.clear();
    show('chat');
    ctx.announce(T.labelNewChat);
    ctx.emit('conversation-new', {});
    ctx.input.focus();
    // The feedback part's rating form, for the conversation just left
    // (named: f.ended; else the socket's last one before new_conversation).
    if (rateIt) ctx.part('feedback').then((rate) => typeof rate === 'function' && rate(0, f.ended || 1));
    rateIt = false;
  });
  // The answer to the frame asked (its `frame`); another's (the turn's, a
  // thumb's...) is not this part's: the core shows it.
  ctx.onFrame('error', (f) => {
    if (!asked || f.frame !== asked) return;
    if (state !== 'chat') note.textContent = String(f.message || T.errorText);
    asked = '';
  });
  return { show };
}
