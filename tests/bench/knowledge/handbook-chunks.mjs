#!/usr/bin/env node
// Cuts the Debian Administrator's Handbook (the debian-handbook package's
// en-US HTML) into the knowledge base's chunks, one JSON object a line:
// {id, page, section, url, title, headings: "A > B", text}. A page's
// readable content (no navigation, table of contents, scripts or styles),
// split at its section headings, then at paragraphs to about 1,000 bytes of
// text (2,000 at most); a sidebar ("BACK TO BASICS", "TIP", ...) is a chunk
// of its own. A stand-in for Parley's own extraction, which will write the
// same lines; Node's standard library only.
//
//   node tests/bench/knowledge/handbook-chunks.mjs [--dir DIR] --out FILE.jsonl
import fs from 'node:fs';
import path from 'node:path';

import { die, parseArgs } from '../lib.mjs';

const args = parseArgs();
const dir = args.dir || '/usr/share/doc/debian-handbook/html/en-US';
if (!args.out) die('usage: handbook-chunks.mjs [--dir DIR] --out FILE.jsonl');
if (!fs.existsSync(dir)) die(`no ${dir}: install the debian-handbook package`);

const TARGET = 1000, MAX = 2000, MIN = 400;
const BLOCK = new Set(['div', 'p', 'pre', 'li', 'dt', 'dd', 'tr', 'ul', 'ol', 'dl', 'table', 'blockquote', 'br', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6']);
const VOID = new Set(['img', 'br', 'meta', 'link', 'hr', 'col', 'input']);
const ENT = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };
const decode = (s) => s.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (m, e) =>
  e[0] === '#' ? String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1))) : (ENT[e] ?? m));
const attr = (a, name) => { const m = new RegExp(`\\b${name}="([^"]*)"`).exec(a); return m ? m[1] : null; };
const bytes = (s) => Buffer.byteLength(s);

// Elements whose content is not the page's: the docbook navigation, the
// banner and logos, a chapter's table of contents, and the empty index
// anchors.
function skipped(tag, a) {
  if (tag === 'head' || tag === 'script' || tag === 'style') return true;
  const cls = attr(a, 'class') || '', id = attr(a, 'id');
  return /\b(docnav|toc|indexterm)\b/.test(cls) || id === 'banner' || id === 'title';
}

// Splits one over-long block at line ends, else sentence ends, else spaces.
function cut(s) {
  const out = [];
  while (bytes(s) > MAX) {
    let head = Buffer.from(s).subarray(0, TARGET).toString().replace(/\uFFFD$/, '');
    const at = Math.max(head.lastIndexOf('\n'), head.lastIndexOf('. ') + 1, head.lastIndexOf(' '));
    if (at > TARGET / 4) head = head.slice(0, at);
    out.push(head.trim());
    s = s.slice(head.length).trim();
  }
  if (s) out.push(s);
  return out;
}

function chunkPage(file) {
  const html = fs.readFileSync(path.join(dir, file), 'utf8');
  const page = file;
  const title = decode(/<title[^>]*>([\s\S]*?)<\/title>/.exec(html)?.[1] || page).trim();
  const base = /<link[^>]*rel="canonical"[^>]*href="([^"]*)"/.exec(html)?.[1] || page;
  const out = [];
  const heads = [];          // [{level, id, title}] open headings, outermost first
  let blocks = [];           // the current section's finished blocks not yet in a chunk
  let cur = '';              // the block being read
  let pre = 0, skip = 0, heading = null;
  const stack = [];          // [{tag, skip, pre, sidebar}]

  const endBlock = () => {
    const t = pre ? cur.replace(/[ \t]+\n/g, '\n').replace(/^\n+|\s+$/g, '') : cur.replace(/\s+/g, ' ').trim();
    cur = '';
    if (t) blocks.push(...cut(t));
  };
  const flush = () => {
    endBlock();
    const sec = heads[heads.length - 1];
    let text = '';
    const emit = () => {
      if (!text) return;
      out.push({ id: `${page.replace(/\.html$/, '')}:${out.length}`, page, section: sec ? sec.id : null,
        url: sec && sec.id !== page.replace(/\.html$/, '') ? `${base}#${sec.id}` : base,
        title, headings: heads.map((h) => h.title).join(' > '), text });
      text = '';
    };
    for (const b of blocks) {
      const joined = text ? `${text}\n\n${b}` : b;
      if (text && bytes(joined) > TARGET && (bytes(text) >= MIN || bytes(joined) > MAX)) { emit(); text = b; } else text = joined;
    }
    emit();
    blocks = [];
  };

  const re = /<!--[\s\S]*?-->|<!\[CDATA\[([\s\S]*?)\]\]>|<![^>]*>|<\?[\s\S]*?\?>|<(\/?)([a-zA-Z][\w:-]*)((?:[^>"]|"[^"]*")*?)(\/?)>|([^<]+)/g;
  for (let m; (m = re.exec(html));) {
    const [, cdata, close, rawTag, a = '', selfClose, text] = m;
    if (text !== undefined || cdata !== undefined) {
      if (skip) continue;
      const t = text !== undefined ? decode(text) : cdata;
      if (heading) heading.title += t; else cur += t;
      continue;
    }
    if (!rawTag) continue;
    const tag = rawTag.toLowerCase();
    if (close) {
      // Pop to the matching open element (the pages are well formed).
      let i = stack.length - 1;
      while (i >= 0 && stack[i].tag !== tag) i--;
      if (i < 0) continue;
      const e = stack[i];
      stack.length = i;
      if (e.skip) { skip--; continue; }
      if (skip) continue;
      if (e.heading) {
        const h = heading;
        heading = null;
        h.title = h.title.replace(/\s+/g, ' ').trim();
        while (heads.length && heads[heads.length - 1].level >= h.level) heads.pop();
        heads.push(h);
        continue;
      }
      if (e.sidebar) flush();
      else if (BLOCK.has(tag) && !e.inline) endBlock();
      if (e.pre) pre--;
      else if (tag === 'td' || tag === 'th') cur += ' ';
      continue;
    }
    const isVoid = selfClose === '/' || VOID.has(tag);
    if (skip) { if (!isVoid) stack.push({ tag, skip: false }); continue; }
    if (!isVoid && skipped(tag, a)) { stack.push({ tag, skip: true }); skip++; continue; }
    if (heading) {
      if (tag === 'a' && !heading.id && attr(a, 'id')) heading.id = attr(a, 'id');
      if (!isVoid) stack.push({ tag });
      continue;
    }
    if (/^h[1-6]$/.test(tag) && /\btitle\b/.test(attr(a, 'class') || '')) {
      flush();
      heading = { level: Number(tag[1]), id: null, title: '' };
      stack.push({ tag, heading: true });
      continue;
    }
    const cls = tag === 'div' ? attr(a, 'class') || '' : '';
    const sidebar = /\bsidebar\b/.test(cls);
    // A link's "→ URL" line (div.url) stays in its paragraph.
    const inline = /^url$/.test(cls);
    if (sidebar) flush(); else if (BLOCK.has(tag) && !inline) endBlock();
    if (tag === 'td' || tag === 'th' || inline) cur += ' ';
    if (isVoid) continue;
    if (tag === 'pre') pre++;
    stack.push({ tag, pre: tag === 'pre', sidebar, inline });
  }
  flush();
  return out;
}

const files = fs.readdirSync(dir).filter((f) => f.endsWith('.html')).sort();
const lines = [];
let textBytes = 0, biggest = 0;
for (const f of files) {
  for (const c of chunkPage(f)) {
    lines.push(JSON.stringify(c));
    textBytes += bytes(c.text);
    biggest = Math.max(biggest, bytes(c.text));
  }
}
fs.writeFileSync(args.out, lines.join('\n') + '\n');
process.stderr.write(`bench: ${files.length} pages, ${lines.length} chunks, ${textBytes} bytes of text (${Math.round(textBytes / lines.length)} a chunk on average, ${biggest} the largest) to ${args.out}\n`);
