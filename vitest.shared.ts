import { fileURLToPath } from 'node:url'

/**
 * Vitest resolves `snapshelf` and `snapshelf/<tier>` to the TypeScript sources, so tests read
 * like user code (imports by package name) while builds running in parallel can never race them.
 * The Deno and Bun runners import the built `dist/` through the same names.
 */
const src = fileURLToPath(new URL('./src/', import.meta.url))
export const packageAlias = [
  { find: /^snapshelf$/, replacement: `${src}entries/index.ts` },
  { find: /^snapshelf\/(s3|r2|indexeddb|http|tiered|testing)$/, replacement: `${src}entries/$1.ts` },
]

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
