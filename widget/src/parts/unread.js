// Part "unread": what arrived while the panel was closed (a person's
// message, the proactive message). A count on the launcher (its label says
// it: "Open chat, 2 unread"), kept per widget until the panel opens; per
// the widget's config a short beep (unread_sound, WebAudio, no file) and
// "(N) " before the page's title (unread_title, restored on open).
// Returns add(): one more unread message (the core announces it).

// This part's texts (English; every src/lang/<code>.js has them too),
// in ctx.T once given to ctx.text.
const TEXT = {
  labelOpenUnread: 'Open chat, {count} unread',
};

export default function (ctx) {
  if (!ctx.host.isConnected) return; // destroy() came while this part loaded: the page's title stays
  const { h, cfg, store, launcher } = ctx;
  const T = ctx.text(TEXT);
  const k = ctx.key('unread');
  let n = +store.get(k) || 0;
  // The "(N) " this part put before the title ('' none): only that comes
  // off, and only while the title still starts with it (the page's own
  // "(5) Inbox" is the page's).
  let mark = '';
  const unmark = () => {
    const t = document.title;
    return mark && t.startsWith(mark) ? t.slice(mark.length) : t;
  };
  const badge = h('span', { 'data-part': 'badge', 'aria-hidden': 'true', hidden: true });
  launcher.append(badge);
  ctx.css(
    "[data-part='badge']{position:absolute;top:-4px;inset-inline-end:-4px;min-width:20px;height:20px;padding:0 5px;border-radius:10px;background:#b91c1c;color:#fff;font-size:12px;font-weight:700;line-height:20px;text-align:center;box-shadow:0 0 0 2px #fff}"
  );

  function show() {
    const c = n > 99 ? '99+' : String(n);
    badge.textContent = c;
    badge.hidden = !n;
    if (!ctx.isOpen()) launcher.setAttribute('aria-label', n ? T.labelOpenUnread.replace('{count}', c) : T.labelOpen);
    if (!cfg.unread_title) return;
    const t = unmark();
    mark = n ? '(' + c + ') ' : '';
    if (document.title !== mark + t) document.title = mark + t;
  }

  function beep() {
    try {
      const A = window.AudioContext || window.webkitAudioContext;
      const a = new A();
      const o = a.createOscillator();
      const g = a.createGain();
      o.frequency.value = 880;
      g.gain.setValueAtTime(0.08, a.currentTime);
      g.gain.exponentialRampToValueAtTime(0.001, a.currentTime + 0.25);
      o.connect(g).connect(a.destination);
      o.onended = () => a.close();
      o.start();
      o.stop(a.currentTime + 0.25);
    } catch (e) {
      /* no audio here */
    }
  }

  const clear = () => {
    n = 0;
    store.del(k);
    show();
  };
  ctx.on(ctx.host, 'parley:open', clear);
  // a new session (reset) has nothing unread; a removed widget (destroy) gives the page its title back
  ctx.on(ctx.host, 'parley:reset', clear);
  ctx.on(ctx.host, 'parley:destroy', () => mark && (document.title = unmark()));
  // loaded with the panel open (a reload of an open panel, a count another
  // tab kept): nothing is unread, and no open event is coming
  ctx.isOpen() ? clear() : show();
  return () => {
    if (ctx.isOpen()) return;
    store.set(k, String(++n));
    show();
    // no sound before the visitor used the page (browsers refuse it)
    if (cfg.unread_sound && !(navigator.userActivation && !navigator.userActivation.hasBeenActive)) beep();
  };
}
