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

// The inline constructs, tried at each `, *, [ and h from the left, the first
// that matches taken: `code`; **bold** (a non-space after the opening ** and
// before the closing); *italic* (neither a space nor a * after the opening *
// and before the closing); [text](url "title") (no ] or line break in the
// text; the url may be in <>, but (<) is the url <; a url is not empty and
// holds no space, no > and no parenthesis but balanced pairs one deep, as
// Wikipedia's /wiki/Foo_(bar) has: an unbalanced ) ends it, an unbalanced
// ( leaves no link); a bare http(s) URL at a word's start, without its
// trailing punctuation but a ) that closes its last (. Each closing delimiter is found by a forward search
// whose answer is kept for the next opener: one regex's lazy search again
// from each unmatched * or [ was quadratic (seconds for a reply with
// thousands of them, and a streaming reply renders on every frame). LINK is
// tried once per url start, and the urls tried share at most a pair: the (
// of another link's ]( inside a url ends it unless a pair closes there.
const URL_AT = /https?:\/\/[^\s<>]*[^\s<>.,:;!?"')\]*]/y;
const LINK = /<?((?:[^\s()>]|\([^\s()>]*\))+)>?(?:\s+"[^"\n]*")?\s*\)/y;

export function inline(s, el, noLinks) {
  // first(re)(k): the last index of re's first match (re global) at or
  // after k, s.length if none; kept while k stays between the k searched
  // from and it, so a scan that only moves forward searches s once.
  const first = (re, k0 = -1, at = -1) => (k) =>
    k < k0 || k > at ? ((re.lastIndex = k0 = k), (at = re.test(s) ? re.lastIndex - 1 : s.length)) : at;
  const codeEnd = first(/[`\n]/g); // the closing ` (or the line's end)
  const boldEnd = first(/\S\*\*/g); // the closing ** (its last *)
  const emEnd = first(/[^\s*]\*/g); // the closing *
  const textEnd = first(/[\]\n]/g); // the ] after a link's text (or the line's end)
  const nonSpace = first(/\S/g);
  let lastUrl = -1; // the last url's start tried, LINK's match there (null: none) and its end
  let m;
  let lastEnd;
  let from = 0; // the text not yet shown starts here
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    let j = 0; // the end of the construct that starts at i, if one does
    let tag; // code, strong, em, or a for [text](url)
    let t; // its text
    let href; // a link's url (a bare one's is its text)
    let e;
    if (c === '`') {
      e = codeEnd(i + 1);
      if (s[e] === '`' && e > i + 1) (tag = 'code'), (t = s.slice(i + 1, e)), (j = e + 1);
    } else if (c === '*') {
      if (s[i + 1] === '*' && /\S/.test(s[i + 2] || ' ') && (e = boldEnd(i + 2)) < s.length) (tag = 'strong'), (t = s.slice(i + 2, e - 1)), (j = e + 1);
      else if (/[^\s*]/.test(s[i + 1] || ' ') && (e = emEnd(i + 1)) < s.length) (tag = 'em'), (t = s.slice(i + 1, e)), (j = e + 1);
    } else if (c === '[') {
      e = textEnd(i + 1);
      if (s[e] === ']' && e > i + 1 && s[e + 1] === '(') {
        const u = nonSpace(e + 2);
        if (u !== lastUrl) (LINK.lastIndex = lastUrl = u), (m = LINK.exec(s)), (lastEnd = LINK.lastIndex);
        if (m) (tag = 'a'), (t = s.slice(i + 1, e)), (href = m[1]), (j = lastEnd);
      }
    } else if (c === 'h' && (i === from || !/\w/.test(s[i - 1]))) {
      URL_AT.lastIndex = i;
      if (URL_AT.test(s)) {
        j = URL_AT.lastIndex;
        // its ) too when it closes a ( of the url's (/wiki/Foo_(bar))
        if (s[j] === ')' && /\([^)]*$/.test(s.slice(i, j))) j++;
        href = t = s.slice(i, j);
      }
    }
    if (!j) continue;
    if (i > from) el.append(s.slice(from, i));
    if (tag === 'code') el.append(h(tag, 0, t));
    else if (!href) inline(t, el.appendChild(h(tag)), noLinks);
    else {
      const u = !noLinks && safeUrl(href);
      const a = u ? el.appendChild(link(u)) : el;
      tag ? inline(t, a, true) : a.append(t);
    }
    from = j;
    i = j - 1;
  }
  if (from < s.length) el.append(s.slice(from));
  return el;
}

const FENCE = /^\s{0,3}(`{3,}|~{3,})/;
const ITEM = /^\s*(?:([-*+])|(\d{1,9})[.)])\s+(.*)$/;
// The heading's text whole, its closing #s and spaces cut by hand: a
// (.*?)\s*#*\s*$ backtracked in cubic time on a long run of spaces.
const HEADING = /^\s{0,3}#{1,6}\s+(.*)$/;

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
      if (!list || list.localName !== tag) {
        list = out.appendChild(h(tag));
        if (m[2] && +m[2] !== 1) list.setAttribute('start', +m[2]);
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
      // A closing run of #s goes when a space or nothing is before it
      // (linear: each space tried once, each # after one space).
      const t = m[1].trimEnd().replace(/(^|\s)#*$/, '').trimEnd();
      out.append(h('p', { 'data-md': 'heading' }, inline(t, h('strong'))));
    } else {
      endList();
      (para = para || []).push(l);
    }
  }
  endPara();
  endList();
  return out;
}
