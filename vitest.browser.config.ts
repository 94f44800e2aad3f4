import { playwright } from '@vitest/browser-playwright'
import { defineConfig } from 'vitest/config'
// @ts-expect-error -- a plain .mjs helper shared with scripts and benches; no types needed
import { chromiumArgs, chromiumHowTo, findChromium } from './scripts/chromium.mjs'
import { distInclude, packageAlias, packagePlugins, platformAlias, testDist } from './vitest.shared.js'

// The contract suite (and the IndexedDB tier's own checks) inside real Chromium: vitest browser
// mode, headless, driven by playwright-core against the system's Chromium (never a downloaded
// one). `npm test` runs this only when Chromium exists; run by hand it fails loudly without it.
// With SNAPSHELF_TEST_DIST=1 (vitest.shared.ts) it runs on the built dist/ instead of src/.
const executablePath = findChromium()
if (!executablePath) throw new Error(`vitest.browser.config.ts: no Chromium found: ${chromiumHowTo}`)

export default defineConfig({
  plugins: packagePlugins,
  resolve: { alias: [...packageAlias, ...platformAlias('web')] },
  // Port 0: the OS picks a free port, so parallel runs (and colleagues) never clash.
  server: { host: '127.0.0.1', port: 0, strictPort: false },
  test: {
    api: { host: '127.0.0.1', port: 0 },
    include: testDist ? distInclude.browser : ['test/browser/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    browser: {
      enabled: true,
      headless: true,
      screenshotFailures: false,
      provider: playwright({ launchOptions: { executablePath, args: chromiumArgs } }),
      instances: [{ browser: 'chromium' }],
    },
  },
})
