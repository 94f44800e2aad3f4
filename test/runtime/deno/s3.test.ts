// S3Storage in real Deno against the real S3 server (the Ceph gateway `npm test` boots), on the
// BUILT package imported by name. Without S3_ENDPOINT: a failure in CI, a loud skip locally.
import { S3Storage } from 'snapshelf/s3'
import { runContractSuite } from 'snapshelf/testing'

const endpoint = Deno.env.get('S3_ENDPOINT')
if (!endpoint) {
  if (Deno.env.get('CI') === 'true')
    Deno.test('S3Storage (deno): S3_ENDPOINT is set', () => {
      throw new Error('S3_ENDPOINT is not set in CI')
    })
  else console.warn('\n!!! SKIPPING S3Storage (deno): set S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY (npm test does it for you)\n')
} else {
  const prefix = `deno-${Date.now().toString(36)}`
  runContractSuite((name, fn) => Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false }), {
    name: 'S3Storage (deno)',
    watchIntervalMs: 50,
    create: async (options) => ({
      store: new S3Storage({
        ...options,
        bucket: Deno.env.get('S3_BUCKET') ?? 'snapshelf-test',
        endpoint,
        region: Deno.env.get('S3_REGION') ?? 'us-east-1',
        accessKeyId: Deno.env.get('S3_ACCESS_KEY')!,
        secretAccessKey: Deno.env.get('S3_SECRET_KEY')!,
        prefix,
      }),
    }),
  })
}
