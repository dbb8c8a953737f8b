// A Markdown subset for the model's replies, built with DOM calls only:
// paragraphs (a single newline is a line break), **bold**, *italic*,
// `inline code`, fenced code blocks (``` or ~~~), "- " / "* " / "+ " and
// "1. " / "1) " lists, "# " headings (shown as a bold paragraph),
// [links](url) and bare http(s) URLs. A link is made only for an absolute
// http:, https: or mailto: URL, and opens in a new tab with
// rel="noopener noreferrer"; any other link shows its text alone. Markup in
// the text (<script>, <img onerror=…>) stays text: it only ever reaches the
// page through Text nodes.
//
// Unfinished constructs (while a reply streams) are harmless: an unclosed
// ** shows as it is, an unclosed fence runs to the end.

import { h } from './dom.js';

const LINK_PROTOCOLS = /^(https?|mailto):$/;

export function safeUrl(s) {
  try {
    const u = new URL(s);
    return LINK_PROTOCOLS.test(u.protocol) ? u.href : null;
  } catch (e) {
    return null; // relative or malformed: no link
  }
}

const link = (href) => h('a', { href, target: '_blank', rel: 'noopener noreferrer' });

// 1 code, 2 bold, 3 italic, 4+5 [text](url), 6 bare URL
const INLINE =
  /`([^`\n]+)`|\*\*(?=\S)([\s\S]*?\S)\*\*|\*(?=[^\s*])([\s\S]*?[^\s*])\*|\[([^\]\n]+)\]\(\s*<?([^\s)>]+)>?(?:\s+"[^"\n]*")?\s*\)|\b(https?:\/\/[^\s<>]*[^\s<>.,:;!?"')\]*])/;

export function inline(s, el, noLinks) {
  let m;
  while (s && (m = INLINE.exec(s))) {
    if (m.index) el.append(s.slice(0, m.index));
    if (m[1] != null) el.append(h('code', 0, m[1]));
    else if (m[2] != null) inline(m[2], el.appendChild(h('strong')), noLinks);
    else if (m[3] != null) inline(m[3], el.appendChild(h('em')), noLinks);
    else if (m[4] != null) {
      const u = !noLinks && safeUrl(m[5]);
      inline(m[4], u ? el.appendChild(link(u)) : el, true);
    } else {
      const u = !noLinks && safeUrl(m[6]);
      (u ? el.appendChild(link(u)) : el).append(m[6]);
    }
    s = s.slice(m.index + m[0].length);
  }
  if (s) el.append(s);
  return el;
}

const FENCE = /^\s{0,3}(`{3,}|~{3,})/;
const ITEM = /^\s*(?:([-*+])|(\d{1,9})[.)])\s+(.*)$/;
const HEADING = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/;

export function markdown(src) {
  const out = document.createDocumentFragment();
  const lines = String(src).replace(/\r\n?/g, '\n').split('\n');
  let para = null; // lines of the open paragraph
  let list = null; // the open <ul>/<ol>
  let item = null; // {e: <li>, t: its text}

  const endItem = () => {
    if (item) inline(item.t, item.e);
    item = null;
  };
  const endPara = () => {
    if (para) out.append(inline(para.join('\n'), h('p')));
    para = null;
  };
  const endList = () => {
    endItem();
    list = null;
  };

  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    let m;
    if ((m = FENCE.exec(l))) {
      endPara();
      endList();
      const f = m[1];
      const code = [];
      while (++i < lines.length) {
        const t = lines[i].trim();
        if (t.length >= f.length && t === f[0].repeat(t.length)) break;
        code.push(lines[i]);
      }
      // tabindex: a wide block scrolls sideways, and must be reachable by keyboard
      out.append(h('pre', { tabindex: 0 }, h('code', 0, code.join('\n'))));
    } else if ((m = ITEM.exec(l))) {
      endPara();
      endItem();
      const tag = m[1] ? 'ul' : 'ol';
      if (!list || list.tagName.toLowerCase() !== tag) {
        list = out.appendChild(h(tag));
        if (m[2] && +m[2] !== 1) list.setAttribute('start', String(+m[2]));
      }
      item = { e: list.appendChild(h('li')), t: m[3] };
    } else if (!l.trim()) {
      endPara();
      endItem(); // a blank line between items keeps the list (and its numbering)
    } else if (list && item && /^\s{2,}\S/.test(l)) {
      item.t += '\n' + l.trim(); // continuation of the item
    } else if ((m = HEADING.exec(l))) {
      endPara();
      endList();
      out.append(h('p', { 'data-md': 'heading' }, inline(m[1], h('strong'))));
    } else {
      endList();
      (para = para || []).push(l);
    }
  }
  endPara();
  endList();
  return out;
}
