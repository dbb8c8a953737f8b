// Part "layout": data-layout="inline" fills the page's element named by
// data-container (its id, or a CSS selector), data-layout="fullpage" the
// viewport; both stay open, without the launcher, close and expand
// buttons. An inline widget without its element logs why and stays a
// bubble.
import CSS from './layout.css';

export default function (ctx) {
  if (!ctx.host.isConnected) return; // destroy() came while this part loaded: the widget stays gone
  const layout = ctx.ds.layout;
  if (layout === 'inline') {
    const c = (ctx.ds.container || '').trim();
    let el = c && document.getElementById(c.replace(/^#/, ''));
    try {
      el = el || (c && document.querySelector(c));
    } catch (e) {
      /* not a selector */
    }
    if (!el) {
      console.error('[parley] data-layout="inline" needs data-container, the id or CSS selector of an element of the page (' + (c ? c + ': not found' : 'none given') + '); showing the bubble instead');
      return;
    }
    el.append(ctx.host);
  }
  ctx.css(CSS);
  ctx.host.setAttribute('data-layout', layout);
  ctx.root.setAttribute('data-layout', layout);
  ctx.pin();
}
