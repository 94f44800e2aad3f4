import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { newSnapshotId } from 'snapshelf'
import { HttpStorage, createSnapshotHandler } from 'snapshelf/http'
import { R2Backend, R2Storage, type R2BucketLike } from 'snapshelf/r2'
import { sampleSnapshot } from 'snapshelf/testing'
import { registerCatalogueCases } from '../helpers/catalogue-cases.js'

// The session catalogue (issue 14) over a real R2 binding inside workerd.
const bucket = (env as unknown as { SNAPSHOTS: R2BucketLike }).SNAPSHOTS

describe('R2Storage catalogue (workerd)', () => {
  registerCatalogueCases({
    name: 'r2',
    create: async () => {
      const prefix = `cat-${newSnapshotId()}`
      return { store: new R2Storage({ bucket, prefix }), backend: new R2Backend(bucket), root: `${prefix}/` }
    },
  })

  registerCatalogueCases({
    name: 'http -> handler -> r2',
    create: async () => {
      const prefix = `cath-${newSnapshotId()}`
      const handle = createSnapshotHandler({ storage: new R2Storage({ bucket, prefix }), authorize: () => true })
      const store = new HttpStorage({ baseUrl: 'https://h.test', fetch: (input, init) => handle(new Request(input, init)) })
      return { store, backend: new R2Backend(bucket), root: `${prefix}/` }
    },
  })

  it('folders come from the binding with a delimiter, sessions are dated by `uploaded`', async () => {
    const prefix = `catr2-${newSnapshotId()}`
    const calls: Parameters<R2BucketLike['list']>[0][] = []
    const counting: R2BucketLike = {
      get: (k) => bucket.get(k),
      head: (k) => bucket.head(k),
      put: (k, v, o) => bucket.put(k, v, o),
      delete: (k) => bucket.delete(k),
      list: (o) => {
        calls.push(o)
        return bucket.list(o)
      },
    }
    const store = new R2Storage({ bucket: counting, prefix })
    for (const id of ['s1', 's2', 's3'])
      await store.commitSnapshot({ location: { sessionId: id, scope: 'agent', scopeId: 'm' }, snapshot: sampleSnapshot(id) })
    calls.length = 0
    const page = await store.listSessions({ limit: 2 })
    expect(page.items.map((i) => i.sessionId)).toEqual(['s1', 's2'])
    expect(page.nextStartAfter).toBe('s2')
    expect(calls.filter((o) => o?.delimiter === '/')).toEqual([{ prefix: `${prefix}/`, limit: 2, delimiter: '/', startAfter: undefined }])
    expect(calls).toHaveLength(3)
    const head = await bucket.head(`${prefix}/s1/scopes/agent/m/snapshots/snapshot_latest.json`)
    expect(page.items[0]!.updatedAt!.getTime()).toBeGreaterThanOrEqual((head as unknown as { uploaded: Date }).uploaded.getTime())
    const rest = await store.listSessions({ startAfter: 's2' })
    expect(rest.items.map((i) => i.sessionId)).toEqual(['s3'])
  })
})
