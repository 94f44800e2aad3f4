import { afterAll, describe, expect, it } from 'vitest'
import { S3Backend, S3Storage, type S3StorageOptions } from 'snapshelf/s3'
import { s3Server } from './s3-server.js'
import { runContractSuite } from 'snapshelf/testing'

// S3Storage inside real workerd (workerd's fetch, Web Crypto and streams) against the real Ceph
// gateway that test/setup/global-setup.ts found or booted; its settings arrive as a binding.
const server = s3Server
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

if (!server)
  console.warn(
    `\n${'!'.repeat(70)}\n!!  SKIPPED S3Storage in workerd: no S3 server (set S3_ENDPOINT… or run as root on Debian)\n${'!'.repeat(70)}\n`,
  )

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

  it('asks workerd not to follow redirects, and a 3xx answer is ERR_REMOTE, never "no such object"', async () => {
    // workerd's own fetch sends the real signed request to Ceph; its answer comes back as the
    // redirect a misconfigured endpoint or a hostile middlebox would give (workerd, unlike a
    // browser, shows an unfollowed redirect as the 3xx itself).
    const modes: (RequestRedirect | undefined)[] = []
    const redirecting: typeof fetch = async (input, init) => {
      modes.push(init?.redirect)
      await (await fetch(input, init)).arrayBuffer()
      return new Response(null, { status: 307, headers: { location: 'http://127.0.0.1:9/elsewhere' } })
    }
    const backend = new S3Backend(options({ fetch: redirecting, sessionToken: 'workerd-session-token', retries: 0 }))
    await expect(backend.get(`${prefix}/redirected`)).rejects.toMatchObject({
      code: 'ERR_REMOTE',
      status: 307,
      message: expect.stringContaining('redirect'),
    })
    await expect(backend.list(`${prefix}/`)).rejects.toMatchObject({ code: 'ERR_REMOTE', status: 307 })
    expect(modes).toEqual(['manual', 'manual'])
  })
})
