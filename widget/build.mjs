// Builds the widget: node widget/build.mjs (from anywhere).
//   dist/chat-widget.js     the core: one minified IIFE, no runtime dependencies
//   dist/parts/<name>.js    each src/parts/<name>.js: an ES module the core
//                           imports when it needs it (export default function (ctx))
//   dist/lang/<code>.js     each src/lang/<code>.js: an ES module of texts
//   *.gz                    beside each, gzip made by zopfli (served to clients that
//                           accept gzip; any gunzip reads it): 3 % smaller than zlib's
//                           level 9, for about 3 s of CPU for all of them
// Prints every file's raw and gzipped size. Fails when the gzipped core is
// over 12 KiB, or when any output uses an API the widget must never use.
// No banner comment: the core's version is ParleyChat.version and its host
// element's data-parley-widget, and the 17 bytes a "/* Parley x.y.z */"
// took gzipped pay for data-user-expires.

import * as esbuild from 'esbuild';
import zopfli from '@gfx/zopfli';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'dist', 'chat-widget.js');
const LIMIT = 12 * 1024;
const { version } = JSON.parse(await readFile(join(here, 'package.json'), 'utf8'));
const targets = ['chrome90', 'firefox90', 'safari15', 'edge90'];

// widget.css is imported as a string, minified first.
const cssAsText = {
  name: 'css-as-text',
  setup(b) {
    b.onLoad({ filter: /\.css$/ }, async (args) => {
      const src = await readFile(args.path, 'utf8');
      const { code } = await esbuild.transform(src, { loader: 'css', minify: true, target: targets });
      // esbuild keeps a custom property's value and a var()'s fallback as
      // written, with the spaces after ":" and ","; no such space means
      // anything (the other ", " it takes out itself).
      const tight = code.trim().replace(/(--[\w-]+): /g, '$1:').replace(/, /g, ',');
      return { contents: 'export default ' + JSON.stringify(tight), loader: 'js' };
    });
  },
};

const forbidden = /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\b|new Function|setAttribute\(\s*["']on/;
const kb = (n) => (n / 1024).toFixed(1) + ' KiB';

// What the core puts in each module's URL (?v=): a hash of every part and
// language as built, so a browser never mixes a new core with an old part.
// Its first 8 hex digits: a cache key, not a secret, and the core held to
// its gzip limit paid up to 3 bytes more for 12, by the digits' luck alone
// (a change to a part made it 12,288 of 12,288).
const modsHash = createHash('sha256');

// Bundles one entry (format: iife for the core, esm for the rest), checks
// it, writes it and its .gz; returns the gzipped size.
async function build(entry, file, format) {
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format,
    target: ['es2020', ...targets],
    charset: 'utf8',
    legalComments: 'none',
    define: { __VERSION__: JSON.stringify(version || 'dev'), __BUILD__: JSON.stringify(modsHash.copy().digest('hex').slice(0, 8)) },
    plugins: [cssAsText],
    write: false,
    logLevel: 'warning',
  });
  const js = Buffer.from(result.outputFiles[0].contents);
  const hit = forbidden.exec(js.toString('utf8'));
  if (hit) {
    console.error(`widget: ${file} uses ${hit[0]}, which the widget must never do`);
    process.exit(1);
  }
  if (format === 'esm') modsHash.update(file + '\0').update(js);
  // the core, held to its limit, gets more of zopfli's search (a few bytes)
  const gz = Buffer.from(await zopfli.gzipAsync(js, { numiterations: format === 'iife' ? 50 : 5 }));
  if (!gunzipSync(gz).equals(js)) {
    console.error(`widget: ${file}.gz does not unzip to ${file}`);
    process.exit(1);
  }
  const out = join(here, 'dist', file);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, js);
  await writeFile(out + '.gz', gz);
  console.log(`widget: dist/${file} ${js.length} bytes (${kb(js.length)}), gzipped ${gz.length} bytes (${kb(gz.length)})${format === 'iife' ? ', limit ' + LIMIT : ''}`);
  return gz.length;
}

// parts/<name>.js and lang/<code>.js: lowercase names only (the server
// serves nothing else); a removed source's old output goes too.
for (const dir of ['parts', 'lang']) {
  await rm(join(here, 'dist', dir), { recursive: true, force: true });
  for (const f of (await readdir(join(here, 'src', dir))).sort()) {
    if (!f.endsWith('.js')) continue;
    if (!/^[a-z0-9-]{1,32}\.js$/.test(f)) {
      console.error(`widget: src/${dir}/${f}: a name must be 1-32 of a-z 0-9 -`);
      process.exit(1);
    }
    await build(join(here, 'src', dir, f), dir + '/' + f, 'esm');
  }
}
// the core last: its module URLs name the parts' hash
const core = await build(join(here, 'src', 'index.js'), 'chat-widget.js', 'iife');

// Every language has every text (English) of the core's TEXT and of each
// part's own TEXT (which it gives to ctx.text), with the same placeholders
// ({seconds}, {name}, …), and nothing else. A text two files both have
// says the same in each.
const TEXT = {};
for (const f of ['index.js', ...(await readdir(join(here, 'src', 'parts'))).filter((n) => n.endsWith('.js')).map((n) => 'parts/' + n)]) {
  const src = await readFile(join(here, 'src', f), 'utf8');
  const at = src.indexOf('const TEXT = {');
  if (at < 0) continue;
  for (const [, k, v] of src.slice(at, src.indexOf('\n};', at)).matchAll(/^ {2}(\w+): '((?:[^'\\]|\\.)*)',$/gm)) {
    if (k in TEXT && TEXT[k] !== v) {
      console.error(`widget: src/${f}: the text ${k} differs from another file's`);
      process.exit(1);
    }
    TEXT[k] = v;
  }
}
for (const f of (await readdir(join(here, 'src', 'lang'))).filter((n) => n.endsWith('.js'))) {
  const t = (await import(pathToFileURL(join(here, 'src', 'lang', f)).href)).default;
  const bad = [
    ...Object.keys(TEXT).filter((k) => typeof t[k] !== 'string' || !t[k].trim()).map((k) => k + ' missing'),
    ...Object.keys(t).filter((k) => !(k in TEXT)).map((k) => k + ' is not in TEXT'),
    ...Object.keys(TEXT).filter((k) => typeof t[k] === 'string' && (TEXT[k].match(/\{\w+\}/g) || []).some((p) => !t[k].includes(p))).map((k) => k + ' lost a placeholder'),
  ];
  if (bad.length) {
    console.error(`widget: src/lang/${f}: ${bad.join(', ')}`);
    process.exit(1);
  }
}

if (core > LIMIT) {
  console.error(`widget: the gzipped core is ${core} bytes, over the ${LIMIT}-byte limit`);
  process.exit(1);
}
