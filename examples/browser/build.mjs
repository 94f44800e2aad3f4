#!/usr/bin/env node
// Bundles examples/browser/app.ts into examples/browser/dist/app.js with esbuild. `snapshelf` and
// `snapshelf/<tier>` resolve to the TypeScript sources, so the example never needs a prior
// `npm run build`. Run by `npm start` (examples/worker serves this directory) or by hand:
// `node examples/browser/build.mjs [--watch]`.
import { build, context } from 'esbuild'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('.', import.meta.url))
const src = fileURLToPath(new URL('../../src/', import.meta.url))

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
  plugins: [
    {
      name: 'snapshelf-src',
      setup(b) {
        b.onResolve({ filter: /^snapshelf(\/[a-z0-9]+)?$/ }, (args) => ({
          path: `${src}${args.path === 'snapshelf' ? 'index' : args.path.slice('snapshelf/'.length)}.ts`,
        }))
      },
    },
  ],
}

if (process.argv.includes('--watch')) {
  await (await context(options)).watch()
  console.log('examples/browser: watching')
} else {
  await build(options)
  console.log('examples/browser: built dist/app.js')
}
