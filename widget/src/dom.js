// Small DOM helpers. Everything the widget shows is built with these:
// createElement / createElementNS, setAttribute and text nodes (Element.append
// with a string inserts a Text node; it never parses markup). Nothing in the
// bundle uses innerHTML, outerHTML, insertAdjacentHTML or document.write.

export const doc = document;

// h('div', {'data-part': 'x'}, [child, 'text', ...]): attributes whose value
// is null, undefined or false are left out; true gives an empty attribute.
export function h(tag, attrs, kids) {
  const e = doc.createElement(tag);
  for (const k in attrs) {
    const v = attrs[k];
    if (v != null && v !== false) e.setAttribute(k, v === true ? '' : v);
  }
  if (kids != null) e.append(...[].concat(kids).filter((k) => k != null));
  return e;
}

const NS = 'http://www.w3.org/2000/svg';

// A 24×24 icon from one path; decorative, hidden from assistive technology.
export function icon(d, stroke) {
  const s = doc.createElementNS(NS, 'svg');
  const p = doc.createElementNS(NS, 'path');
  s.setAttribute('viewBox', '0 0 24 24');
  s.setAttribute('width', '24');
  s.setAttribute('height', '24');
  s.setAttribute('aria-hidden', 'true');
  s.setAttribute('focusable', 'false');
  p.setAttribute('d', d);
  if (stroke) {
    p.setAttribute('fill', 'none');
    p.setAttribute('stroke', 'currentColor');
    p.setAttribute('stroke-width', '2');
    p.setAttribute('stroke-linecap', 'round');
  } else {
    p.setAttribute('fill', 'currentColor');
  }
  s.append(p);
  return s;
}
