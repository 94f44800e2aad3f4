import { defineConfig } from 'vitest/config'

// Node-side tests. Tests import the built package by its name ('snapshelf', 'snapshelf/s3', …)
// exactly as a user does; scripts/test.mjs builds first. Workers and browser suites have their
// own configs (vitest.workers.config.ts, vitest.browser.config.ts).
export default defineConfig({
  test: {
    include: ['test/node/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    globalSetup: ['test/setup/global-setup.ts'],
  },
})
