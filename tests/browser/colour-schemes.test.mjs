// The served style sheets' colour schemes change colours only. The axe
// scans lean on it (lib/browser.mjs, axeSerious): a scan in the dark scheme
// runs the colour rules alone, after a full scan of the same state in the
// light one. So every @media (prefers-color-scheme: …) block may set only
// custom properties whose values are colours or shadows, and color-scheme:
// a block that hid, moved or resized anything would need the full rules.
// Reads the files; no browser.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { REPO } from '../integration/lib/harness.mjs';

const SHEETS = ['dashboard/assets/style.css', 'widget/src/widget.css', 'widget/pages/test-pages.css'];

// The text between the brace at open and its match.
function block(css, open) {
  let depth = 0;
  for (let i = open; i < css.length; i++) {
    if (css[i] === '{') depth++;
    else if (css[i] === '}' && --depth === 0) return css.slice(open + 1, i);
  }
  assert.fail(`an unclosed block at offset ${open}`);
}

// [prelude, body] of each @media block about the colour scheme.
function schemeBlocks(css) {
  const out = [];
  const re = /@media([^{]*)\{/g;
  let m;
  while ((m = re.exec(css)) !== null) {
    if (/prefers-color-scheme/.test(m[1])) out.push([m[1].trim(), block(css, m.index + m[0].length - 1)]);
  }
  return out;
}

// [name, value] of every declaration inside the rules of a block's body.
function declarations(body) {
  const out = [];
  const re = /\{([^{}]*)\}/g;
  let m;
  while ((m = re.exec(body)) !== null) {
    for (const d of m[1].split(';')) {
      const i = d.indexOf(':');
      if (d.trim() !== '') out.push([d.slice(0, i).trim(), d.slice(i + 1).trim()]);
    }
  }
  return out;
}

// A colour, or a shadow: colours, lengths and commas only.
const COLOUR = /#[0-9a-f]{3,8}\b|\b(?:rgba?|hsla?)\([^)]*\)|\btransparent\b/gi;
const colourish = (v) => v.match(COLOUR) !== null && /^[-\d.\spx,]*$/.test(v.replace(COLOUR, ''));

test('the colour schemes of the served style sheets change colours only', () => {
  for (const f of SHEETS) {
    const css = fs.readFileSync(path.join(REPO, f), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
    const blocks = schemeBlocks(css);
    assert.ok(blocks.length > 0, `${f}: a dark scheme is found (or this check reads nothing)`);
    for (const [prelude, body] of blocks) {
      const decls = declarations(body);
      assert.ok(decls.length > 0, `${f} @media ${prelude}: declarations are found`);
      for (const [name, value] of decls) {
        const ok = name === 'color-scheme' ? /^(light|dark)$/.test(value) : name.startsWith('--') && colourish(value);
        assert.ok(ok, `${f} @media ${prelude}: "${name}: ${value}" is not a colour (the dark axe scans run the colour rules only)`);
      }
    }
  }
});

test('the check refuses a scheme that changes more than colours', () => {
  const bad = '@media (prefers-color-scheme: dark) { :root { --bg: #000; } .x { display: none; } }';
  const decls = declarations(schemeBlocks(bad)[0][1]);
  assert.deepEqual(decls, [['--bg', '#000'], ['display', 'none']]);
  assert.equal(colourish('#000'), true);
  assert.equal(colourish('0 1px 2px rgb(0 0 0 / 40%), 0 4px 16px rgb(0 0 0 / 30%)'), true);
  assert.equal(colourish('12px'), false);
});
