import { defineConfig } from 'vitest/config'
import { packageAlias } from './vitest.shared.js'

// Node-side tests (memory, S3 against real Ceph, happy-dom + fake-indexeddb). Workers, browser
// and end-to-end suites have their own configs; scripts/test.mjs runs them all.
export default defineConfig({
  resolve: { alias: packageAlias },
  test: {
    include: ['test/node/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    globalSetup: ['test/setup/global-setup.ts'],
  },
})
