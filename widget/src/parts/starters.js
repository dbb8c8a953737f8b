// Part "starters": the widget's starter questions (config
// starter_questions) as buttons above the composer, until the
// conversation has a message of the visitor's or a person's (again after
// reset() and in a new conversation); a click sends the question.

// This part's texts (English; every src/lang/<code>.js has them too),
// in ctx.T once given to ctx.text.
const TEXT = {
  startersLabel: 'Suggested questions',
};

export default function (ctx) {
  const { h, cfg, on, host } = ctx;
  const T = ctx.text(TEXT);
  const qs = (Array.isArray(cfg.starter_questions) ? cfg.starter_questions : []).filter((q) => typeof q === 'string' && q.trim());
  if (!qs.length) return;
  const box = h(
    'div',
    { 'data-part': 'starters', role: 'group', 'aria-label': T.startersLabel },
    qs.slice(0, 4).map((q) => h('button', { type: 'button', 'data-part': 'starter', dir: 'auto' }, q.trim()))
  );
  ctx.css(
    "[data-part='starters']{display:flex;flex-wrap:wrap;gap:6px;padding:0 12px 8px}[data-part='starter']{max-width:100%;padding:5px 12px;border:1px solid var(--a);border-radius:999px;font-size:13px;text-align:start;overflow-wrap:anywhere}[data-part='starter']:hover{background:var(--bot)}"
  );
  ctx.panel.insertBefore(box, ctx.composer);
  const sync = () => (box.hidden = !!ctx.list.querySelector('[data-role=user],[data-role=agent]'));
  on(box, 'click', (e) => {
    const b = e.target.closest('button');
    if (!b) return;
    box.hidden = true;
    ctx.input.focus();
    ctx.send(b.textContent).then(sync); // not sent (a required contact form first): shown again
  });
  for (const n of ['send', 'history', 'reset', 'conversation-new']) on(host, 'parley:' + n, sync);
  sync();
}
