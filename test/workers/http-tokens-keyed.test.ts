import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { newSnapshotId, type Snapshot } from 'snapshelf'
import { HttpStorage, createSnapshotHandler } from 'snapshelf/http'
import { R2Storage, type R2BucketLike } from 'snapshelf/r2'
import { sampleSnapshot } from 'snapshelf/testing'

// Write tokens over HttpStorage → createSnapshotHandler → R2 (inside workerd) are remembered per
// key: R2's ETags are content hashes, so a rival that handled another key holding the very bytes
// of our landed write, or many other objects, must still chain OUR token when it updates on top
// of it. Otherwise our retried PUT reads as a lost race and our mutate runs twice.
const bucket = (env as unknown as { SNAPSHOTS: R2BucketLike }).SNAPSHOTS
const PREFIX = 'http-tokens-keyed'
const handle = createSnapshotHandler({ storage: new R2Storage({ bucket, prefix: PREFIX }), basePath: '/api', authorize: () => true })
type Send = (input: string, init: RequestInit) => Promise<Response>
const server: Send = (input, init) => handle(new Request(input, init))
type Counted = Omit<Snapshot, 'data'> & { data: { n: number; by: string[] } }
const client = (send: Send = server): HttpStorage<Counted> =>
  new HttpStorage<Counted>({ baseUrl: 'https://h.test/api', compression: 'none', fetch: send, retries: 3 })

/** A fetch whose first PUT lands but whose answer is lost, after `meanwhile` ran (a rival). */
function losingFirstPutAnswer(meanwhile: () => Promise<unknown>): Send {
  let puts = 0
  return async (input, init) => {
    const res = await server(input, init)
    if (init.method === 'PUT' && puts++ === 0) {
      await meanwhile()
      throw new TypeError('network connection lost')
    }
    return res
  }
}

describe('HttpStorage write tokens are tied to the key', () => {
  it('a rival that stored our landed bytes under another key still chains our token: mutate runs once', async () => {
    const location = { sessionId: `keyed-${newSnapshotId().slice(-12)}`, scope: 'agent', scopeId: 'main' }
    const rival = client()
    await rival.commitSnapshot({
      location,
      snapshotId: newSnapshotId(),
      snapshot: { ...sampleSnapshot('n'), data: { n: 1, by: [] } },
    })
    const copy = { ...location, scopeId: 'copy' }
    const send = losingFirstPutAnswer(() =>
      // Our write landed. The rival reads it and, before writing its increment, handles another
      // key holding the very same bytes (same content, same ETag, other tokens).
      rival.updateLatest({
        location,
        mutate: async (cur) => {
          await rival.updateLatest({ location: copy, mutate: () => cur })
          await rival.loadSnapshot({ location: copy })
          return { ...cur!, data: { n: cur!.data.n + 1, by: [...cur!.data.by, 'rival'] } }
        },
      }),
    )
    let calls = 0
    const result = await client(send).updateLatest({
      location,
      mutate: (cur) => {
        calls++
        return { ...cur!, data: { n: cur!.data.n + 1, by: [...cur!.data.by, 'ours'] } }
      },
    })
    expect(result.committed).toBe(true)
    expect(calls).toBe(1)
    expect((await client().loadSnapshot({ location }))!.data).toEqual({ n: 3, by: ['ours', 'rival'] })
  })
})
