// Builds the widget bundle: node widget/build.mjs (from anywhere).
//   dist/chat-widget.js     one minified IIFE, no runtime dependencies
//   dist/chat-widget.js.gz  the same, gzip level 9 (served to clients that accept it)
// Prints the raw and gzipped sizes. Fails when the gzipped bundle is over
// 12 KiB, or when the output uses an API the widget must never use.

import * as esbuild from 'esbuild';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync, constants } from 'node:zlib';

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
      return { contents: 'export default ' + JSON.stringify(code.trim()), loader: 'js' };
    });
  },
};

const result = await esbuild.build({
  entryPoints: [join(here, 'src', 'index.js')],
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2019', ...targets],
  charset: 'utf8',
  legalComments: 'none',
  banner: { js: `/* Parley chat widget ${version || ''} */` },
  define: { __VERSION__: JSON.stringify(version || 'dev') },
  plugins: [cssAsText],
  write: false,
  logLevel: 'warning',
});

const js = Buffer.from(result.outputFiles[0].contents);
const text = js.toString('utf8');
const forbidden = /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\b|new Function|setAttribute\(\s*["']on/;
const hit = forbidden.exec(text);
if (hit) {
  console.error(`widget: the bundle uses ${hit[0]}, which the widget must never do`);
  process.exit(1);
}

const gz = gzipSync(js, { level: constants.Z_BEST_COMPRESSION });
await mkdir(dirname(out), { recursive: true });
await writeFile(out, js);
await writeFile(out + '.gz', gz);

const kb = (n) => (n / 1024).toFixed(1) + ' KiB';
console.log(`widget: dist/chat-widget.js ${js.length} bytes (${kb(js.length)}), gzipped ${gz.length} bytes (${kb(gz.length)}), limit ${LIMIT}`);
if (gz.length > LIMIT) {
  console.error(`widget: gzipped bundle is ${gz.length} bytes, over the ${LIMIT}-byte limit`);
  process.exit(1);
}
