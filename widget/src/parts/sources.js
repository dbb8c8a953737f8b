// Part "sources": the knowledge an answer cites, under it: "Sources" and
// each cited passage by its number, its title a link when its page is an
// http(s) URL, plain text otherwise (a question and answer, a file). The
// texts are the server's and go in as text nodes, never as markup.
// Returns show(sources): under the newest answer of the assistant; show()
// under each answer of a history (.d, its message, with the sources it
// was stored with) that shows none yet, in box (an earlier conversation's
// thread) or the chat's list.
import CSS from './sources.css';

// This part's texts (English; every src/lang/<code>.js has them too),
// in ctx.T once given to ctx.text.
const TEXT = {
  sourcesLabel: 'Sources',
};


export default function (ctx) {
  const { h, list } = ctx;
  const T = ctx.text(TEXT);
  ctx.css(CSS);

  const web = (u) => typeof u === 'string' && /^https?:\/\//i.test(u);

  function item(s) {
    const title = String(s.title || s.url || '');
    const label = '[' + (s.n | 0) + '] ';
    return h('li', null, [
      label,
      web(s.url) ? h('a', { href: s.url, target: '_blank', rel: 'noopener noreferrer' }, title) : title,
    ]);
  }

  function under(el, sources) {
    if (!el || el.src || !Array.isArray(sources) || !sources.length) return;
    el.src = h('div', { 'data-part': 'sources' }, [
      h('span', null, T.sourcesLabel),
      h('ol', null, sources.slice(0, 5).map(item)),
    ]);
    el.append(el.src);
  }

  return function show(sources, box) {
    const all = (box || list).querySelectorAll('[data-role=assistant]:not([data-proactive])');
    if (sources) under(all[all.length - 1], sources);
    else all.forEach((el) => el.d && under(el, el.d.sources));
  };
}
