// Proof that a runtime runner tests what ships: every name the package exports resolves, from the
// runner's own module, into dist/ (never src/). Runtime-neutral; each runner passes in its own
// `import.meta.resolve`, since resolution (tsconfig `paths` in Bun, for one) depends on the importer.
import pkg from '../../package.json' with { type: 'json' }

const dist = new URL('../../dist/', import.meta.url).href

/** Every import name the package exports: `snapshelf`, `snapshelf/s3`, … (not `./package.json`). */
export const packageNames: string[] = Object.keys(pkg.exports)
  .filter((path) => path !== './package.json')
  .map((path) => (path === '.' ? pkg.name : `${pkg.name}/${path.slice(2)}`))

/** Throws unless each package name resolves, through `resolve`, to a file under dist/. */
export function assertResolvesToDist(where: string, resolve: (name: string) => string): void {
  const wrong = packageNames.map((name) => [name, resolve(name)] as const).filter(([, url]) => !url.startsWith(dist))
  if (packageNames.length < 7 || wrong.length) {
    throw new Error(
      `${where}: not the built package: ${wrong.map(([n, u]) => `${n} → ${u}`).join(', ') || `only ${packageNames.length} names`}`,
    )
  }
}

/**
 * Throws unless `#platform` (the runtime's codec and crypto, package.json `imports`) resolves,
 * through the runtime's own `resolve`, to `dist/platform/<expected>.js`: the file the dist's own
 * imports of `#platform` get, since they share this package scope.
 */
export function assertPlatform(where: string, resolve: (name: string) => string, expected: 'node' | 'web'): void {
  const url = resolve('#platform')
  if (url !== `${dist}platform/${expected}.js`) throw new Error(`${where}: #platform → ${url}, not dist/platform/${expected}.js`)
}
