// Small DOM helpers. Everything the widget shows is built with these:
// createElement / createElementNS, setAttribute and text nodes (Element.append
// with a string inserts a Text node; it never parses markup). Nothing in the
// bundle uses innerHTML, outerHTML, insertAdjacentHTML or document.write.

export const doc = document;

// h('div', {'data-part': 'x'}, [child, 'text', ...]): attributes whose value
// is null, undefined or false are left out; true gives an empty attribute.
export function h(tag, attrs, kids) {
  const e = set(doc.createElement(tag), attrs);
  if (kids != null) e.append(...[].concat(kids).filter((k) => k != null));
  return e;
}

// attrs on e, as h() sets them; e.
function set(e, attrs) {
  for (const k in attrs) {
    const v = attrs[k];
    if (v != null && v !== false) e.setAttribute(k, v === true ? '' : v);
  }
  return e;
}

const NS = 'http://www.w3.org/2000/svg';

// A 24×24 icon from one path; decorative, hidden from assistive technology.
export function icon(d, stroke) {
  const s = set(doc.createElementNS(NS, 'svg'), { viewBox: '0 0 24 24', width: 24, height: 24, 'aria-hidden': 'true', focusable: 'false' });
  s.append(
    set(
      doc.createElementNS(NS, 'path'),
      stroke ? { d, fill: 'none', stroke: 'currentColor', 'stroke-width': 2, 'stroke-linecap': 'round' } : { d, fill: 'currentColor' }
    )
  );
  return s;
}
