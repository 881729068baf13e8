// Bundles the console's browser app (console/ui) into dist/console-ui with esbuild: one minified script and one
// stylesheet, named by content hash so they can be cached for a year, and index.html naming them. Run by `npm run build`.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, '..', 'dist', 'console-ui');
rmSync(out, { recursive: true, force: true });
mkdirSync(path.join(out, 'assets'), { recursive: true });

const result = await build({
  entryPoints: { app: path.join(here, 'ui', 'main.ts'), style: path.join(here, 'ui', 'style.css') },
  outdir: path.join(out, 'assets'),
  entryNames: '[name]-[hash]',
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  metafile: true,
  logLevel: 'warning',
});
const outputs = Object.keys(result.metafile.outputs).map((f) => path.basename(f));
const js = outputs.find((f) => f.endsWith('.js'));
const css = outputs.find((f) => f.endsWith('.css'));
const html = readFileSync(path.join(here, 'ui', 'index.html'), 'utf8').replace('__JS__', js).replace('__CSS__', css);
writeFileSync(path.join(out, 'index.html'), html);
console.log(`console UI: dist/console-ui (${js}, ${css})`);
