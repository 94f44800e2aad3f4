import { expect, it } from 'vitest'
import type { SnapshelfError, Snapshot } from 'snapshelf'
import { S3Storage } from 'snapshelf/s3'
import { sampleSnapshot } from 'snapshelf/testing'
import { latestKey as keyOfLatest } from '../../src/core/keys.js'
import { bump } from '../helpers/counter.js'
import { describeS3, s3Options, uniquePrefix, useS3FaultProxy } from '../helpers/s3.js'

// Write tokens against real Ceph: a conditional PUT whose answer is lost (the proxy forwards it,
// Ceph applies it, the client never hears back) is retried, fails its precondition, and must be
// settled from the tokens now on the object. A rival that chains the WRONG tokens (another key's,
// or none because it forgot them) must never make our landed write look like a lost race: that
// would run `mutate` a second time.
const prefix = uniquePrefix('tokens')
const location = (tag: string) => ({ sessionId: `${tag}-${Date.now().toString(36)}`, scope: 'agent', scopeId: 'main' })
const encode = (s: Snapshot) => new TextEncoder().encode(JSON.stringify(s))
const decode = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes)) as Snapshot

describeS3('S3 write tokens are tied to the key they were read from (real S3 behind a fault proxy)', () => {
  const faults = useS3FaultProxy(prefix)
  // Plain JSON, so a rival can copy bytes exactly and compute what it writes.
  const direct = () => new S3Storage(s3Options({ prefix, compression: 'none' }))

  /**
   * Runs writer 1's `updateLatest` through the proxy with its first conditional PUT's answer lost
   * (the PUT lands); `meanwhile` runs before the retry goes out. Returns how often writer 1's
   * mutate ran and how its call ended.
   */
  async function lostAnswer(meanwhile: () => Promise<void>) {
    let puts = 0
    const interleave: typeof fetch = async (input, init) => {
      if (init?.method === 'PUT' && new Headers(init.headers).has('if-match') && ++puts === 2) await meanwhile()
      return fetch(input, init)
    }
    const ours = new S3Storage(
      s3Options({ prefix, compression: 'none', endpoint: faults.proxy.url, retries: 3, timeoutMs: 5000, fetch: interleave }),
    )
    faults.proxy.force('lost', 1, (req) => req.method === 'PUT' && req.headers['if-match'] !== undefined)
    let calls = 0
    return ours
      .updateLatest({
        location: loc,
        mutate: (cur) => {
          calls++
          return bump(1)(cur)
        },
      })
      .then(
        (result) => ({ calls, result, error: null }),
        (error: SnapshelfError) => ({ calls, result: null, error }),
      )
  }
  let loc = location('x')
  /**
   * A fresh latest with count 0: written by a plain save (no write tokens, as Strands' own storage
   * writes it), or with `tokens` by a compare-and-swap create.
   */
  const seed = async (tag: string, how: 'plain' | 'tokens' = 'plain') => {
    loc = location(tag)
    const snapshot = sampleSnapshot('c', { count: 0, writers: [] })
    if (how === 'plain') await direct().saveSnapshot({ location: loc, snapshotId: 'latest', isLatest: true, snapshot })
    else await direct().updateLatest({ location: loc, mutate: () => snapshot })
  }

  it('a rival that also handled another key holding identical bytes still chains our token: mutate runs once', async () => {
    await seed('twin')
    const rival = direct().backend
    const key = keyOfLatest(prefix, loc)
    const outcome = await lostAnswer(async () => {
      // The rival reads our landed write, stores the very same bytes under another key (same
      // content, so the same ETag, but other tokens), then updates latest on top of ours.
      const ours = (await rival.get(key))!
      expect(await rival.put(`${prefix}/${loc.sessionId}/copy.json`, ours.body, { ifNoneMatch: '*' })).not.toBe(null)
      await rival.get(`${prefix}/${loc.sessionId}/copy.json`)
      expect(await rival.put(key, encode(bump(2)(decode(ours.body))), { ifMatch: ours.etag })).not.toBe(null)
    })
    expect(outcome.error).toBe(null)
    expect(outcome.result?.committed).toBe(true)
    expect(outcome.calls).toBe(1)
    expect((await direct().loadSnapshot({ location: loc }))!.data).toEqual({ count: 2, writers: [1, 2] })
  })

  it('a rival that handled 300 other objects between its read and its write still chains our token', async () => {
    await seed('busy')
    const rival = direct().backend
    const key = keyOfLatest(prefix, loc)
    const outcome = await lostAnswer(async () => {
      const ours = (await rival.get(key))!
      // Conditional creates: each one's tokens are remembered by the rival, as reads' are.
      const others = Array.from({ length: 300 }, (_, i) => `${prefix}/${loc.sessionId}/other/${String(i).padStart(3, '0')}.json`)
      for (let i = 0; i < others.length; i += 25) {
        await Promise.all(others.slice(i, i + 25).map((k, j) => rival.put(k, encode(sampleSnapshot(i + j)), { ifNoneMatch: '*' })))
      }
      expect(await rival.put(key, encode(bump(2)(decode(ours.body))), { ifMatch: ours.etag })).not.toBe(null)
    })
    expect(outcome.error).toBe(null)
    expect(outcome.calls).toBe(1)
    expect((await direct().loadSnapshot({ location: loc }))!.data).toEqual({ count: 2, writers: [1, 2] })
  })

  it('a writer without tokens buried under a token-carrying one makes the outcome unknown, never a second mutate', async () => {
    // (From a base written with tokens: from one without, this history cannot be told from a
    // plain lost race; see write-tokens.ts.)
    await seed('buried', 'tokens')
    const key = keyOfLatest(prefix, loc)
    const outcome = await lostAnswer(async () => {
      // A token-less overwrite of our landed write (another S3 client), then a snapshelf writer
      // on top of that one: the chain now on the object starts at the token-less write.
      const ours = (await direct().backend.get(key))!
      await direct().backend.put(key, encode(bump(9)(decode(ours.body))))
      await direct().updateLatest({ location: loc, mutate: bump(2) })
    })
    expect(outcome.error).toMatchObject({ code: 'ERR_REMOTE', status: 412, message: expect.stringContaining('outcome unknown') })
    expect(outcome.calls).toBe(1)
    expect((await direct().loadSnapshot({ location: loc }))!.data).toEqual({ count: 3, writers: [1, 9, 2] })
  })

  it('a deleted and recreated latest makes the outcome unknown, never a second mutate', async () => {
    await seed('recreated', 'tokens')
    const outcome = await lostAnswer(async () => {
      await direct().deleteSession({ sessionId: loc.sessionId })
      await direct().updateLatest({ location: loc, mutate: () => sampleSnapshot('c', { count: 10, writers: [2] }) })
    })
    expect(outcome.error).toMatchObject({ code: 'ERR_REMOTE', status: 412, message: expect.stringContaining('outcome unknown') })
    expect(outcome.calls).toBe(1)
    expect((await direct().loadSnapshot({ location: loc }))!.data).toMatchObject({ count: 10, writers: [2] })
  })

  it('a plain lost race (our PUT never arrived, a rival chained from the same base) re-reads and mutates again', async () => {
    await seed('race')
    let puts = 0
    const interleave: typeof fetch = async (input, init) => {
      if (init?.method === 'PUT' && new Headers(init.headers).has('if-match') && ++puts === 1) {
        await direct().updateLatest({ location: loc, mutate: bump(2) })
      }
      return fetch(input, init)
    }
    const ours = new S3Storage(s3Options({ prefix, compression: 'none', endpoint: faults.proxy.url, retries: 3, fetch: interleave }))
    // Our first attempt is reset before it reaches Ceph: nothing of ours landed.
    faults.proxy.force('reset', 1, (req) => req.method === 'PUT' && req.headers['if-match'] !== undefined)
    let calls = 0
    const result = await ours.updateLatest({
      location: loc,
      mutate: (cur) => {
        calls++
        return bump(1)(cur)
      },
    })
    expect(result.committed).toBe(true)
    expect(calls).toBe(2)
    expect((await direct().loadSnapshot({ location: loc }))!.data).toEqual({ count: 2, writers: [2, 1] })
  })
})
