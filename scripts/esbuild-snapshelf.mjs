// One esbuild plugin for every script that bundles code importing `snapshelf` by name (the size
// budgets, the browser example, the IndexedDB bench and the two-tab test page): it resolves
// `snapshelf` and `snapshelf/<tier>` to the built `dist/` files (what users install) or to the
// TypeScript sources (no build needed). From the sources `#platform` is the web file (these are
// browser bundles); from dist/ esbuild resolves it itself through package.json `imports`
// (the `browser` condition), as a user's bundler does.
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

/**
 * @param {'dist' | 'src'} from where `snapshelf/*` resolves
 * @returns {import('esbuild').Plugin}
 * @example
 * await build({ entryPoints: ['page.ts'], bundle: true, plugins: [resolveSnapshelf('src')] })
 */
export function resolveSnapshelf(from) {
  const dir = from === 'dist' ? `${root}dist/` : `${root}src/entries/`
  const ext = from === 'dist' ? '.js' : '.ts'
  return {
    name: `snapshelf-${from}`,
    setup(b) {
      b.onResolve({ filter: /^snapshelf(\/[a-z0-9]+)?$/ }, (args) => ({
        path: `${dir}${args.path === 'snapshelf' ? 'index' : args.path.slice('snapshelf/'.length)}${ext}`,
      }))
      if (from === 'src') b.onResolve({ filter: /^#platform$/ }, () => ({ path: `${root}src/platform/web.ts` }))
    },
  }
}

/**
 * Bundles a page entry for a browser the way a user's bundler would (ESM, es2022, `snapshelf/*`
 * from the sources) and returns the script's text, for test and bench pages served from memory.
 *
 * @param {string} entry absolute path of the page's entry module
 * @param {{ minify?: boolean }} [options]
 * @returns {Promise<string>}
 * @example
 * const js = await bundleBrowserPage(`${root}bench/indexeddb/page.ts`, { minify: true })
 */
export async function bundleBrowserPage(entry, { minify = false } = {}) {
  const { build } = await import('esbuild')
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    minify,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    plugins: [resolveSnapshelf('src')],
  })
  return result.outputFiles[0].text
}
