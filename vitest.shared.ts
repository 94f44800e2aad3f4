import { fileURLToPath } from 'node:url'

/**
 * Vitest resolves `snapshelf` and `snapshelf/<tier>` to the TypeScript sources, so tests read
 * like user code (imports by package name) while builds running in parallel can never race them.
 * The Deno and Bun runners import the built `dist/` through the same names.
 */
const src = fileURLToPath(new URL('./src/', import.meta.url))
export const packageAlias = [
  { find: /^snapshelf$/, replacement: `${src}index.ts` },
  { find: /^snapshelf\/(s3|r2|indexeddb|http|tiered|testing)$/, replacement: `${src}$1.ts` },
]
