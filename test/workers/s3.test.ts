import { env } from 'cloudflare:workers'
import { afterAll, describe, it } from 'vitest'
import { S3Storage, type S3StorageOptions } from 'snapshelf/s3'
import { runContractSuite } from 'snapshelf/testing'

// S3Storage inside real workerd (workerd's fetch, Web Crypto and streams) against the real Ceph
// gateway that test/setup/global-setup.ts found or booted; its settings arrive as a binding.
const server = JSON.parse((env as unknown as { S3_TEST_SERVER: string }).S3_TEST_SERVER) as
  | { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string; bucket: string }
  | null
const prefix = `s3t/workerd-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`
const options = (extra: Partial<S3StorageOptions> = {}): S3StorageOptions => ({
  bucket: server!.bucket,
  endpoint: server!.endpoint,
  region: server!.region,
  accessKeyId: server!.accessKeyId,
  secretAccessKey: server!.secretAccessKey,
  prefix,
  ...extra,
})

if (!server) console.warn(`\n${'!'.repeat(70)}\n!!  SKIPPED S3Storage in workerd: no S3 server (set S3_ENDPOINT… or run as root on Debian)\n${'!'.repeat(70)}\n`)

;(server ? describe : describe.skip)('S3Storage inside workerd against real S3', () => {
  afterAll(async () => {
    // The bucket is shared by every run: remove what this file wrote.
    const { backend } = new S3Storage(options())
    for (;;) {
      const page = await backend.list(`${prefix}/`, { limit: 1000 })
      if (page.entries.length) await backend.delete(page.entries.map((e) => e.key))
      if (!page.truncated) break
    }
  })
  runContractSuite(it, { name: 'S3Storage (workerd → Ceph)', create: async (o) => ({ store: new S3Storage(options(o)) }) })
})
