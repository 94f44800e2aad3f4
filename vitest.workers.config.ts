import { cloudflareTest } from '@cloudflare/vitest-plugin'
import { defineConfig } from 'vitest/config'
import { packageAlias } from './vitest.shared.js'

// Tests that run INSIDE real workerd (through miniflare): R2Storage over a local R2 binding,
// the HTTP handler and HttpStorage, S3Storage against the Ceph gateway from a Worker.
export default defineConfig({
  plugins: [
    cloudflareTest({
      miniflare: {
        compatibilityDate: '2026-04-01',
        r2Buckets: ['SNAPSHOTS'],
      },
    }),
  ],
  resolve: { alias: packageAlias },
  test: {
    include: ['test/workers/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
