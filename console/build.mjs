// SPDX-License-Identifier: MIT
// build.mjs — bundles the console (src/main.jsx, its CSS and uPlot's) with
// esbuild into dist/: index.html and assets/app-<hash>.js|css, minified.
// The hash in the names lets herald serve the assets as immutable; only
// index.html is revalidated. scripts/console-embed.py then turns dist/ into
// the C source herald is built with. No network: esbuild and the packages
// come from node_modules (npm ci).
import { build } from 'esbuild';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] ?? join(here, 'dist');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });

const result = await build({
  entryPoints: [join(here, 'src/main.jsx')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2020'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outdir: join(out, 'assets'),
  entryNames: 'app-[hash]',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

let js = '', css = '';
for (const file of Object.keys(result.metafile.outputs)) {
  if (file.endsWith('.js')) js = basename(file);
  if (file.endsWith('.css')) css = basename(file);
}
if (!js || !css) throw new Error('esbuild produced no app .js or .css');

// Everything by absolute path under /console/: herald normalises
// "/console/" to "/console", where relative URLs would resolve to "/".
// No inline script or style: the CSP allows only 'self'.
writeFileSync(join(out, 'index.html'), `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>herald console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/assets/${css}">
<script type="module" src="/console/assets/${js}"></script>
</head>
<body>
<div id="app"><noscript>The herald console needs JavaScript.</noscript></div>
</body>
</html>
`);
console.log(`console: built ${js} and ${css} into ${out}`);
