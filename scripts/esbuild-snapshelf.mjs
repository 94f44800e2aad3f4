// One esbuild plugin for every script that bundles code importing `snapshelf` by name (the size
// budgets, the browser example, the IndexedDB bench and the two-tab test page): it resolves
// `snapshelf` and `snapshelf/<tier>` to the built `dist/` files (what users install) or to the
// TypeScript sources (no build needed).
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

/**
 * @param {'dist' | 'src'} from where `snapshelf/*` resolves
 * @returns {import('esbuild').Plugin}
 * @example
 * await build({ entryPoints: ['page.ts'], bundle: true, plugins: [resolveSnapshelf('src')] })
 */
export function resolveSnapshelf(from) {
  const dir = `${root}${from}/`
  const ext = from === 'dist' ? '.js' : '.ts'
  return {
    name: `snapshelf-${from}`,
    setup(b) {
      b.onResolve({ filter: /^snapshelf(\/[a-z0-9]+)?$/ }, (args) => ({
        path: `${dir}${args.path === 'snapshelf' ? 'index' : args.path.slice('snapshelf/'.length)}${ext}`,
      }))
    },
  }
}
