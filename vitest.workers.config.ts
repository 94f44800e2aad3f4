import { cloudflareTest } from '@cloudflare/vitest-plugin'
import { defineConfig } from 'vitest/config'
import type { S3TestServer } from './test/setup/global-setup.js'
import { distInclude, packageAlias, packagePlugins, platformAlias, testDist } from './vitest.shared.js'

// Tests that run INSIDE real workerd (through miniflare): R2Storage over a local R2 binding,
// the HTTP handler and HttpStorage, S3Storage against the Ceph gateway from a Worker. With
// SNAPSHELF_TEST_DIST=1 (vitest.shared.ts) the contract runners run again on the built dist/.
export default defineConfig({
  plugins: [
    // A function, so the S3 server found (or booted) by the global setup reaches the Worker as a
    // binding: S3Storage then runs inside workerd against the real Ceph gateway over 127.0.0.1.
    cloudflareTest(({ inject }) => ({
      miniflare: {
        compatibilityDate: '2026-04-01',
        r2Buckets: ['SNAPSHOTS'],
        bindings: { S3_TEST_SERVER: JSON.stringify(inject<S3TestServer | null>('s3') ?? null) },
      },
    })),
    ...packagePlugins,
  ],
  resolve: { alias: [...packageAlias, ...platformAlias('web')] },
  test: {
    include: testDist ? distInclude.workers : ['test/workers/**/*.test.ts'],
    globalSetup: ['test/setup/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
