import { afterAll, beforeAll, expect, it } from 'vitest'
import { S3Backend } from 'snapshelf/s3'
import { startFaultProxy, type FaultProxy, type ProxyAnswer } from '../helpers/fault-proxy.js'
import { countingFetch, describeS3, s3Options, s3Server, uniquePrefix, wipePrefix } from '../helpers/s3.js'

// ListObjectsV2 pages that do not advance, from a proxy in front of real Ceph that rewrites
// Ceph's own answers: a truncated page answered again for its own continuation token (a server
// that repeats a page) must be an ERR_REMOTE at once, never a loop that spins until aborted or
// a page full of duplicates.
const prefix = uniquePrefix('listing')
const keys = Array.from({ length: 6 }, (_, i) => `${prefix}/k${i}`)
const isList = (req: { method?: string; url?: string }) => req.method === 'GET' && /[?&]list-type=2/.test(req.url ?? '')

/** Ceph's answer cut to its first `keep` entries, marked truncated, continuing at `token`. */
function truncated(answer: ProxyAnswer, keep: number, token: string): ProxyAnswer {
  let seen = 0
  const xml = answer.body
    .toString()
    .replace(/<Contents>[\s\S]*?<\/Contents>/g, (c) => (seen++ < keep ? c : ''))
    .replace(/<IsTruncated>\w+<\/IsTruncated>/, '<IsTruncated>true</IsTruncated>')
    .replace(/<NextContinuationToken>[^<]*<\/NextContinuationToken>/, '')
    .replace('</ListBucketResult>', `<NextContinuationToken>${token}</NextContinuationToken></ListBucketResult>`)
  return { ...answer, body: Buffer.from(xml) }
}

describeS3('S3 listing loops always advance (real S3 behind a rewriting proxy)', () => {
  let proxy: FaultProxy
  beforeAll(async () => {
    proxy = await startFaultProxy({ target: s3Server!.endpoint })
    const backend = new S3Backend(s3Options())
    for (const key of keys) await backend.put(key, new Uint8Array([1]))
  })
  afterAll(async () => {
    await proxy?.close()
    await wipePrefix(prefix)
  })
  const viaProxy = () => {
    const spy = countingFetch()
    return { backend: new S3Backend(s3Options({ endpoint: proxy.url, fetch: spy.fetch })), seen: spy.seen }
  }

  it('a truncated page answered again for its own continuation token is ERR_REMOTE, not a page of duplicates', async () => {
    let first: ProxyAnswer | undefined
    proxy.rewrite = (req, answer) => {
      if (!isList(req)) return answer
      first ??= truncated(answer, 2, 'page-2')
      return first
    }
    try {
      const { backend, seen } = viaProxy()
      const error = await backend.list(`${prefix}/`, { signal: AbortSignal.timeout(5000) }).catch((e: unknown) => e)
      expect(error).toMatchObject({ code: 'ERR_REMOTE', message: expect.stringContaining('did not advance') })
      expect(seen.length).toBe(2)
    } finally {
      proxy.rewrite = undefined
    }
  })

  it('an empty truncated page repeated forever is ERR_REMOTE, not a loop until the signal fires', async () => {
    proxy.rewrite = (req, answer) => (isList(req) ? truncated(answer, 0, 'same-token') : answer)
    try {
      const { backend, seen } = viaProxy()
      const error = await backend.list(`${prefix}/`, { signal: AbortSignal.timeout(5000) }).catch((e: unknown) => e)
      expect(error).toMatchObject({ code: 'ERR_REMOTE', message: expect.stringContaining('did not advance') })
      expect(seen.length).toBe(2)
    } finally {
      proxy.rewrite = undefined
    }
  })

  it('a continuation page that repeats keys already listed is ERR_REMOTE', async () => {
    // Fresh tokens, same two keys each time: a server that ignores the continuation token.
    let n = 0
    let first: ProxyAnswer | undefined
    proxy.rewrite = (req, answer) => {
      if (!isList(req)) return answer
      first ??= answer
      return truncated(first, 2, `token-${n++}`)
    }
    try {
      const { backend } = viaProxy()
      await expect(backend.list(`${prefix}/`, { signal: AbortSignal.timeout(5000) })).rejects.toMatchObject({ code: 'ERR_REMOTE' })
    } finally {
      proxy.rewrite = undefined
    }
  })

  it('a short truncated page with a real continuation token is still followed to the end of the page', async () => {
    // Ceph answers 4 keys and its own token; the proxy passes only 2 on, like a server whose
    // pages come out shorter than asked. The rest of the page comes from Ceph's token.
    let lists = 0
    proxy.rewrite = (req, answer) => {
      if (!isList(req) || lists++) return answer
      const token = /<NextContinuationToken>([^<]*)</.exec(answer.body.toString())![1]!
      return truncated(answer, 2, token)
    }
    try {
      const { backend } = viaProxy()
      const page = await backend.list(`${prefix}/`, { limit: 4 })
      expect(page.entries.map((e) => e.key)).toEqual([keys[0], keys[1], keys[4], keys[5]])
      expect(lists).toBe(2)
    } finally {
      proxy.rewrite = undefined
    }
  })
})
