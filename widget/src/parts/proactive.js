// Part "proactive": the widget's proactive message (config
// proactive_message; the core waited proactive_delay_s on a page that
// proactive_path matches: ctx.pathMatches). On a page whose path it still
// matches, once a day (UTC) per visitor and widget: shown as the
// assistant's first message in the list and, while the panel is closed,
// in a bubble beside the launcher (a click opens the panel; x dismisses
// it), counted unread.

// This part's texts (English; every src/lang/<code>.js has them too),
// in ctx.T once given to ctx.text.
const TEXT = {
  labelDismiss: 'Dismiss',
};

export default function (ctx) {
  const { h, cfg, store, on } = ctx;
  const T = ctx.text(TEXT);
  const k = ctx.key('proactive');
  const day = new Date().toISOString().slice(0, 10);
  const text = String(cfg.proactive_message || '');
  if (!text || ctx.root.hasAttribute('data-layout') || store.get(k) === day) return;
  if (!ctx.pathMatches(String(cfg.proactive_path || ''), location.pathname)) return;
  store.set(k, day);
  const m = ctx.bubble('assistant', text);
  m.keep = 1; // stays when the history replaces the list
  m.setAttribute('data-proactive', '');
  ctx.add(m);
  // It is not stored: a history (a reconnect) puts it back before the
  // messages sent since it showed (n), after the others.
  let n = 0;
  on(ctx.host, 'parley:send', (e) => e.detail.retry || n++);
  on(ctx.host, 'parley:reply', () => n++);
  on(ctx.host, 'parley:stop', () => n++);
  on(ctx.host, 'parley:error', () => n && n--);
  ctx.onFrame('message', (f) => f.role === 'agent' && n++);
  on(ctx.host, 'parley:history', (e) => {
    const h = e.detail.messages;
    const d = h[Math.max(0, h.length - n)];
    const at = d && [...ctx.list.children].find((x) => x.d === d);
    if (at) ctx.list.insertBefore(m, at);
  });
  if (ctx.isOpen()) return ctx.announce(T.title + ': ' + text);
  const show = h('button', { type: 'button', 'data-part': 'proactive-open', dir: 'auto' }, text);
  const x = h('button', { type: 'button', 'data-part': 'proactive-dismiss', 'aria-label': T.labelDismiss }, ctx.icon('M6 6l12 12M18 6L6 18', 1));
  const box = h('div', { 'data-part': 'proactive' }, [show, x]);
  ctx.css(
    "[data-part='proactive']{position:fixed;z-index:2147483646;bottom:calc(88px + env(safe-area-inset-bottom,0px));right:calc(20px + env(safe-area-inset-right,0px));display:flex;align-items:flex-start;gap:4px;max-width:min(300px,calc(100vw - 40px));padding:10px 6px 10px 14px;border:1px solid var(--bd);border-radius:14px;background:var(--bg);color:var(--fg);box-shadow:var(--sh)}[data-position='left'] [data-part='proactive']{right:auto;left:calc(20px + env(safe-area-inset-left,0px))}[data-part='proactive-open']{flex:1;text-align:start;display:-webkit-box;-webkit-line-clamp:4;-webkit-box-orient:vertical;overflow:hidden;overflow-wrap:anywhere}[data-part='proactive-dismiss']{flex:none;width:28px;height:28px;display:flex;align-items:center;justify-content:center;border-radius:6px}[data-part='proactive-dismiss'] svg{width:18px;height:18px}"
  );
  ctx.root.append(box);
  ctx.unread(T.title + ': ' + text);
  const gone = () => box.remove();
  on(show, 'click', () => ctx.setOpen(true, true));
  on(x, 'click', () => {
    gone();
    ctx.launcher.focus();
  });
  on(ctx.host, 'parley:open', gone);
}
