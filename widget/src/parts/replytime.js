// Part "replytime": the widget's reply_time line (config reply_time, the
// owner's words: "We usually reply in a few minutes") under the header
// while a person may answer: the widget hands over, and the server's
// availability is not away. An availability frame shows or hides it.
export default function (ctx) {
  const line = ctx.h('div', { 'data-part': 'reply-time', dir: 'auto' }, String(ctx.cfg.reply_time));
  ctx.css("[data-part='reply-time']{padding:4px 14px;font-size:12px;opacity:.85;border-bottom:1px solid rgba(0,0,0,.08)}");
  ctx.header.parentNode.after(line);
  const sync = () => {
    const a = ctx.away();
    line.hidden = !!(a && a.away);
  };
  ctx.onFrame('availability', sync);
  sync();
}
