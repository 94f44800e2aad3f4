// S3Storage in real Bun against the real S3 server (the Ceph gateway `npm test` boots), on the
// BUILT package imported by name. Without S3_ENDPOINT: a failure in CI, a loud skip locally.
import { test } from 'bun:test'
import { S3Storage } from 'snapshelf/s3'
import { runContractSuite } from 'snapshelf/testing'

const endpoint = process.env.S3_ENDPOINT
if (!endpoint) {
  if (process.env.CI === 'true')
    test('S3Storage (bun): S3_ENDPOINT is set', () => {
      throw new Error('S3_ENDPOINT is not set in CI')
    })
  else console.warn('\n!!! SKIPPING S3Storage (bun): set S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY (npm test does it for you)\n')
} else {
  const prefix = `bun-${Date.now().toString(36)}`
  runContractSuite((name, fn) => test(name, fn, 60_000), {
    name: 'S3Storage (bun)',
    watchIntervalMs: 50,
    create: async (options) => ({
      store: new S3Storage({
        ...options,
        bucket: process.env.S3_BUCKET ?? 'snapshelf-test',
        endpoint,
        region: process.env.S3_REGION ?? 'us-east-1',
        accessKeyId: process.env.S3_ACCESS_KEY!,
        secretAccessKey: process.env.S3_SECRET_KEY!,
        prefix,
      }),
    }),
  })
}
