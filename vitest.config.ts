import { defineConfig } from 'vitest/config'
import { distInclude, packageAlias, packagePlugins, platformAlias, testDist } from './vitest.shared.js'

// Node-side tests (memory, S3 against real Ceph, happy-dom + fake-indexeddb). Workers, browser
// and end-to-end suites have their own configs; scripts/test.mjs runs them all. With
// SNAPSHELF_TEST_DIST=1 (vitest.shared.ts) the contract runners run again on the built dist/.
export default defineConfig({
  plugins: packagePlugins,
  resolve: { alias: [...packageAlias, ...platformAlias('node')] },
  test: {
    include: testDist ? distInclude.node : ['test/node/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    globalSetup: ['test/setup/global-setup.ts'],
  },
})
