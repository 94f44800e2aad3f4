import { defineConfig } from 'vitest/config'
import { packageAlias, platformAlias } from './vitest.shared.js'

// End to end: `npm start` (examples/worker in workerd with a local R2, serving examples/browser)
// on its own port, driven by playwright-core through the system's Chromium. One file at a time:
// the suites share one server and one browser per file.
export default defineConfig({
  resolve: { alias: [...packageAlias, ...platformAlias('node')] },
  test: {
    include: ['test/e2e/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
})
