// Builds the dashboard's scripts: node dashboard/build.mjs (from anywhere).
//   assets/app.js      src/app.js and every module it imports, one ES module
//   assets/login.js    the login page's (src/login.js)
//   assets/invite.js   the invitation page's (src/invite.js)
//   *.gz               beside each, gzip (zlib, level 9): what a browser that
//                      accepts gzip is sent (app.js: 300 KB, 79 KB gzipped)
// A page loads one script instead of some thirty modules, two imports deep:
// one request and no waterfall for the owner, and about a third less of the
// browser's CPU a page load (Chromium, ten loads of #/widgets: 2.9 s, 1.8 s
// bundled). Not minified: the dashboard is the owner's, on their own
// server, and read in a browser's developer tools when something goes wrong.
// Fails when a script uses what the dashboard's pages must never use
// (dashboard/README.md: no innerHTML & co., no style attribute, no eval).
//
// esbuild is the widget's (widget/package-lock.json pins it): the one
// front-end build tool, installed once (make's npm ci --prefix widget).
import { createRequire } from 'node:module';
import { writeFile } from 'node:fs/promises';
import { constants, gunzipSync, gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const esbuild = createRequire(join(here, '..', 'widget', 'package.json'))('esbuild');
const ENTRIES = ['app', 'login', 'invite'];
const forbidden = /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\b|new Function|\.style\b|setAttribute\(\s*["'](on|style)/;

for (const name of ENTRIES) {
  const result = await esbuild.build({
    entryPoints: [join(here, 'src', name + '.js')],
    bundle: true,
    format: 'esm',
    target: ['es2020', 'chrome90', 'firefox90', 'safari15'],
    charset: 'utf8',
    legalComments: 'none',
    write: false,
    logLevel: 'warning',
  });
  const js = Buffer.from(result.outputFiles[0].contents);
  const hit = forbidden.exec(js.toString('utf8'));
  if (hit) {
    console.error(`dashboard: src/${name}.js (or a module it imports) uses ${hit[0]}, which the dashboard must never do`);
    process.exit(1);
  }
  const gz = gzipSync(js, { level: constants.Z_BEST_COMPRESSION });
  if (!gunzipSync(gz).equals(js)) {
    console.error(`dashboard: assets/${name}.js.gz does not unzip to assets/${name}.js`);
    process.exit(1);
  }
  await writeFile(join(here, 'assets', name + '.js'), js);
  await writeFile(join(here, 'assets', name + '.js.gz'), gz);
  console.log(`dashboard: assets/${name}.js ${js.length} bytes, gzipped ${gz.length}`);
}
