import { afterAll, beforeAll, describe, inject } from 'vitest'
import { S3Backend, type S3StorageOptions } from 'snapshelf/s3'
import type { S3TestServer } from '../setup/global-setup.js'
import { startFaultProxy, type FaultProxy } from './fault-proxy.js'

/**
 * Shared S3 test plumbing: the server from the global setup, a unique key prefix per test file
 * (the bucket is shared by every run), a counting `fetch`, and a `describe` that skips loudly
 * when no S3 is available.
 */

/** The real S3 server (Ceph or S3_ENDPOINT), or `null` when the global setup found none. */
export const s3Server: S3TestServer | null = inject('s3')

/**
 * `describe` when an S3 server is available; otherwise `describe.skip` after a warning banner,
 * so a local run without S3 never passes silently.
 *
 * @example
 * describeS3('S3Storage against Ceph', () => { it('…', async () => {}) })
 */
export function describeS3(name: string, fn: () => void): void {
  if (s3Server) return void describe(name, fn)
  console.warn(`\n${'!'.repeat(70)}\n!!  SKIPPED "${name}": no S3 server (set S3_ENDPOINT… or run as root on Debian)\n${'!'.repeat(70)}\n`)
  describe.skip(name, fn)
}

/** A fresh key prefix, unique per call: `s3t/<time>-<random>`. */
export function uniquePrefix(tag = 't'): string {
  return `s3t/${tag}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`
}

/**
 * Storage options pointing at the test server, with extras merged in.
 *
 * @example
 * const store = new S3Storage(s3Options({ prefix: uniquePrefix() }))
 */
export function s3Options(extra: Partial<S3StorageOptions> = {}): S3StorageOptions {
  const s = s3Server!
  return {
    bucket: s.bucket,
    endpoint: s.endpoint,
    region: s.region,
    accessKeyId: s.accessKeyId,
    secretAccessKey: s.secretAccessKey,
    ...extra,
  }
}

/** One request seen by `countingFetch`. */
export interface SeenRequest {
  method: string
  url: URL
  headers: Headers
  body?: Uint8Array
}

/**
 * A `fetch` wrapper that records every request (method, URL, headers, body) before sending it.
 *
 * @example
 * const { fetch, seen } = countingFetch()
 * new S3Storage(s3Options({ fetch }))
 */
export function countingFetch(inner: typeof fetch = fetch): { fetch: typeof fetch; seen: SeenRequest[] } {
  const seen: SeenRequest[] = []
  const wrapped: typeof fetch = async (input, init) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url)
    const body = init?.body instanceof Uint8Array ? init.body : undefined
    seen.push({ method: init?.method ?? 'GET', url, headers: new Headers(init?.headers), ...(body ? { body } : {}) })
    return inner(input, init)
  }
  return { fetch: wrapped, seen }
}

/** Deletes every object under `prefix` (test cleanup: the Ceph memstore lives in RAM). */
export async function wipePrefix(prefix: string): Promise<void> {
  const backend = new S3Backend(s3Options())
  for (;;) {
    const page = await backend.list(`${prefix}/`, { limit: 1000 })
    if (page.entries.length) await backend.delete(page.entries.map((e) => e.key))
    if (!page.truncated) return
  }
}

/**
 * A fault proxy in front of the real S3 server for the enclosing `describe`: started before its
 * tests, closed after them, and `prefix` wiped. Read `proxy` inside the tests (it exists once
 * `beforeAll` ran).
 *
 * @example
 * const faults = useS3FaultProxy(prefix)
 * it('…', () => new S3Storage(s3Options({ prefix, endpoint: faults.proxy.url })))
 */
export function useS3FaultProxy(prefix: string): { readonly proxy: FaultProxy } {
  const handle = {} as { proxy: FaultProxy }
  beforeAll(async () => {
    handle.proxy = await startFaultProxy({ target: s3Server!.endpoint })
  })
  afterAll(async () => {
    await handle.proxy?.close()
    await wipePrefix(prefix)
  })
  return handle
}
