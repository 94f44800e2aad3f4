import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import type { Plugin } from 'vitest/config'

/**
 * Where `snapshelf` and `snapshelf/<tier>` resolve in the vitest runs.
 *
 * By default, to the TypeScript sources, so tests read like user code (imports by package name)
 * while builds running in parallel can never race them.
 *
 * With `SNAPSHELF_TEST_DIST=1` (scripts/test.mjs sets it for its "(dist)" runs, after its own
 * build), to the BUILT package: each name goes through Node's resolver from our own package.json
 * (a self-reference), so the `exports` map decides which dist/ file a user gets, exactly as it does
 * for them. The Deno and Bun runners always import the built package through the same names.
 */
export const testDist = process.env.SNAPSHELF_TEST_DIST === '1'

const root = fileURLToPath(new URL('./', import.meta.url))
const src = `${root}src/`
const subpaths = ['s3', 'r2', 'indexeddb', 'http', 'tiered', 'testing', 'strands', 'genkit', 'langgraph'] as const

function distAlias() {
  if (!existsSync(`${root}dist/index.js`))
    throw new Error('SNAPSHELF_TEST_DIST=1 but dist/ is not built: run `npx tsup` (npm test builds it first)')
  // The `require` resolver honours the same `exports` entries (we only ship `types` + `default`).
  const resolve = createRequire(`${root}package.json`).resolve
  return [
    { find: /^snapshelf$/, replacement: resolve('snapshelf') },
    ...subpaths.map((s) => ({ find: new RegExp(`^snapshelf/${s}$`), replacement: resolve(`snapshelf/${s}`) })),
  ]
}

export const packageAlias = testDist
  ? distAlias()
  : [
      { find: /^snapshelf$/, replacement: `${src}entries/index.ts` },
      { find: /^snapshelf\/(s3|r2|indexeddb|http|tiered|testing|strands|genkit|langgraph)$/, replacement: `${src}entries/$1.ts` },
    ]

/**
 * Where `#platform` (the runtime's codec and crypto primitives, src/platform/) resolves: with the
 * sources, to the file the runner's runtime gets (`node` for the Node runner, `web` for workerd
 * and Chromium), since package.json `imports` points at dist/. In a dist run, nowhere: the tools
 * resolve dist's own `#platform` imports through package.json `imports` with the runner's
 * conditions (Node's resolver, the Cloudflare plugin's `workerd`, the browser's `browser`),
 * exactly as a user's runtime or bundler would.
 *
 * @example
 * resolve: { alias: [...packageAlias, ...platformAlias('web')] }
 */
export function platformAlias(platform: 'node' | 'web') {
  return testDist ? [] : [{ find: /^#platform$/, replacement: `${src}platform/${platform}.ts` }]
}

/**
 * Plugins every config adds. In a dist run: a guard that fails any module load from src/, so a
 * test that reaches the sources (a relative import, a missed alias) cannot pass as a test of dist/.
 */
export const packagePlugins: Plugin[] = testDist
  ? [
      {
        name: 'snapshelf:dist-only',
        enforce: 'pre',
        load(id) {
          if (id.startsWith(src))
            throw new Error(`SNAPSHELF_TEST_DIST=1: ${id} is a source file; a dist run must load the package only from dist/`)
          return null
        },
      },
    ]
  : []

/**
 * The test files a dist run takes from each config: every file that runs the contract suite (and,
 * with it, that tier's own checks in the same file). Unit tests of internals stay source-only.
 */
export const distInclude = {
  node: [
    'memory',
    's3',
    'http',
    'tiered',
    'indexeddb',
    'tiered-indexeddb',
    'strands-storage',
    'strands-differential',
    'strands-agent',
    'genkit-differential',
    'genkit-agent',
    // LangGraph's validation suite (issue 13) in every runtime it runs in.
    'langgraph-validation-memory',
    'langgraph-validation-s3',
    'langgraph-validation-indexeddb',
    'langgraph-validation-tiered',
  ].map((f) => `test/node/${f}.test.ts`),
  workers: ['r2', 'http', 's3', 'strands', 'langgraph'].map((f) => `test/workers/${f}.test.ts`),
  browser: ['test/browser/indexeddb.test.ts', 'test/browser/strands.test.ts', 'test/browser/langgraph.test.ts'],
}

// vitest 5.1's reporter calls Map.groupBy (Node >= 21) when it prints a failure; on Node 20 the
// report itself crashes and hides the failure. A faithful polyfill for the reporting process;
// every config imports this module, so every run gets it.
const mapCtor = Map as unknown as { groupBy?: unknown }
mapCtor.groupBy ??= <K, V>(items: Iterable<V>, key: (item: V, index: number) => K): Map<K, V[]> => {
  const groups = new Map<K, V[]>()
  let i = 0
  for (const item of items) {
    const k = key(item, i++)
    const group = groups.get(k)
    if (group) group.push(item)
    else groups.set(k, [item])
  }
  return groups
}
