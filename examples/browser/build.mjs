#!/usr/bin/env node
// Bundles examples/browser/app.ts into examples/browser/dist/app.js with esbuild. `snapshelf` and
// `snapshelf/<tier>` resolve to the TypeScript sources, so the example never needs a prior
// `npm run build`. Run by `npm start` (examples/worker serves this directory) or by hand:
// `node examples/browser/build.mjs [--watch]`.
import { build, context } from 'esbuild'
import { fileURLToPath } from 'node:url'
import { resolveSnapshelf } from '../../scripts/esbuild-snapshelf.mjs'

const here = fileURLToPath(new URL('.', import.meta.url))

const options = {
  entryPoints: [`${here}app.ts`],
  outfile: `${here}dist/app.js`,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
  plugins: [resolveSnapshelf('src')],
}

if (process.argv.includes('--watch')) {
  await (await context(options)).watch()
  console.log('examples/browser: watching')
} else {
  await build(options)
  console.log('examples/browser: built dist/app.js')
}
