import { afterAll, expect, it } from 'vitest'
import { encodeJSON, newSnapshotId } from 'snapshelf'
import { S3Storage } from 'snapshelf/s3'
import { sampleSnapshot, snapshotIdAt } from 'snapshelf/testing'
import { countingFetch, describeS3, s3Options, uniquePrefix, wipePrefix } from '../helpers/s3.js'

const prefix = uniquePrefix('scale')
const historyKey = (sessionId: string, id: string) =>
  `${prefix}/${sessionId}/scopes/agent/main/snapshots/immutable_history/snapshot_${id}.json`

/** Plants `ids` as history objects with bounded concurrency (faster than 2,500 sequential saves). */
async function plant(store: S3Storage, sessionId: string, ids: string[]): Promise<void> {
  const bytes = await encodeJSON(sampleSnapshot('bulk'), 'gzip', 1 << 20)
  let next = 0
  await Promise.all(
    Array.from({ length: 24 }, async () => {
      while (next < ids.length) await store.backend.put(historyKey(sessionId, ids[next++]!), bytes)
    }),
  )
}

describeS3('S3Storage at scale (real S3)', () => {
  afterAll(() => wipePrefix(prefix))
  const ids = Array.from({ length: 2500 }, (_, i) => snapshotIdAt(1_700_000_000_000 + i * 1000))

  it('lists 2,500 snapshots in pages: ListObjectsV2 with max-keys = the page asked for, never more', async () => {
    const sessionId = `list-${Date.now().toString(36)}`
    const location = { sessionId, scope: 'agent', scopeId: 'main' }
    const spy = countingFetch()
    const store = new S3Storage(s3Options({ prefix, fetch: spy.fetch }))
    await plant(new S3Storage(s3Options({ prefix })), sessionId, ids)
    const lists = () => spy.seen.filter((r) => r.url.searchParams.get('list-type') === '2')
    // S3 may answer with fewer keys than max-keys (Ceph does under load); the backend then asks,
    // by continuation token, for exactly the rest of that page. Pages are the requests without one.
    const pages = () => lists().filter((r) => !r.url.searchParams.has('continuation-token'))
    const maxKeys = (rs: { url: URL }[]) => rs.map((r) => r.url.searchParams.get('max-keys'))
    const completions = () => lists().filter((r) => r.url.searchParams.has('continuation-token'))

    expect(await store.listSnapshotIds({ location })).toEqual(ids)
    expect(maxKeys(pages())).toEqual(['1000', '1000', '1000'])
    for (const c of completions()) expect(Number(c.url.searchParams.get('max-keys'))).toBeLessThan(1000)
    expect(pages()[1]!.url.searchParams.get('start-after')).toBe(historyKey(sessionId, ids[999]!))

    spy.seen.length = 0
    const page = await store.listSnapshots({ location, limit: 1500 })
    expect(page.items.map((i) => i.snapshotId)).toEqual(ids.slice(0, 1500))
    expect(page.nextStartAfter).toBe(ids[1499])
    expect(maxKeys(pages())).toEqual(['1000', '500'])
    for (const c of completions()) expect(Number(c.url.searchParams.get('max-keys'))).toBeLessThan(1000)

    spy.seen.length = 0
    expect(await store.listSnapshotIds({ location, startAfter: ids[2000], limit: 10 })).toEqual(ids.slice(2001, 2011))
    expect(pages()).toHaveLength(1)
    expect(pages()[0]!.url.searchParams.get('max-keys')).toBe('10')
    expect(pages()[0]!.url.searchParams.get('start-after')).toBe(historyKey(sessionId, ids[2000]!))
    expect(pages()[0]!.url.searchParams.get('prefix')).toBe(`${prefix}/${sessionId}/scopes/agent/main/snapshots/immutable_history/`)
  })

  it('deleteSession of 2,500 objects: DeleteObjects batches of at most 1000 keys with Content-MD5', async () => {
    const sessionId = `del-${Date.now().toString(36)}`
    const location = { sessionId, scope: 'agent', scopeId: 'main' }
    const spy = countingFetch()
    const store = new S3Storage(s3Options({ prefix, fetch: spy.fetch }))
    await plant(new S3Storage(s3Options({ prefix })), sessionId, ids)
    const neighbour = { sessionId: `${sessionId}-x`, scope: 'agent', scopeId: 'main' }
    await store.commitSnapshot({ location: neighbour, snapshotId: newSnapshotId(), snapshot: sampleSnapshot('keep') })
    spy.seen.length = 0

    await store.deleteSession({ sessionId })
    const posts = spy.seen.filter((r) => r.method === 'POST')
    expect(posts.map((r) => r.url.search)).toEqual(['?delete', '?delete', '?delete'])
    const counts = posts.map((r) => new TextDecoder().decode(r.body).split('<Object>').length - 1)
    expect(counts).toEqual([1000, 1000, 500])
    for (const p of posts) expect(p.headers.get('content-md5')).toMatch(/^[A-Za-z0-9+/]{22}==$/)
    expect(await store.listSnapshotIds({ location })).toEqual([])
    expect((await store.backend.list(`${prefix}/${sessionId}/`)).entries).toEqual([])
    expect((await store.loadSnapshot({ location: neighbour }))?.appData.tag).toBe('keep')
  })

  it('ids made of every allowed character round-trip through keys, listing and deletion', async () => {
    const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-'
    const store = new S3Storage(s3Options({ prefix }))
    const locations = [
      { sessionId: `_${chars}`, scope: `-${chars}`, scopeId: `0${chars}` },
      { sessionId: `-.${Date.now().toString(36)}`, scope: '_', scopeId: 'a.b..c' },
      { sessionId: 'Z'.repeat(128), scope: 'z'.repeat(128), scopeId: '9'.repeat(128) },
    ]
    for (const location of locations) {
      const id = newSnapshotId()
      await store.commitSnapshot({ location, snapshotId: id, snapshot: sampleSnapshot(location.scopeId) })
      await store.saveManifest({ location, manifest: { schemaVersion: '1.0', updatedAt: 'now' } })
      expect((await store.loadSnapshot({ location }))?.appData.tag).toBe(location.scopeId)
      expect((await store.loadSnapshot({ location, snapshotId: id }))?.appData.tag).toBe(location.scopeId)
      expect(await store.listSnapshotIds({ location })).toEqual([id])
      expect((await store.updateLatest({ location, mutate: (c) => ({ ...c!, appData: { tag: 'updated' } }) })).committed).toBe(true)
      await store.deleteSession({ sessionId: location.sessionId })
      expect((await store.backend.list(`${prefix}/${location.sessionId}/`)).entries).toEqual([])
    }
  })

  it('a 20 MB snapshot round-trips (compressed and plain)', async () => {
    for (const compression of ['gzip', 'none'] as const) {
      const store = new S3Storage(s3Options({ prefix, compression }))
      const location = { sessionId: `big-${compression}-${Date.now().toString(36)}`, scope: 'agent', scopeId: 'main' }
      // Varied text so gzip cannot shrink it to nothing: ~20 MB of JSON.
      const lines = Array.from({ length: 250_000 }, (_, i) => `${i}:${Math.random().toString(36).slice(2)}:${'turn '.repeat(12)}`)
      const snapshot = sampleSnapshot('big', { lines })
      expect(JSON.stringify(snapshot).length).toBeGreaterThan(20_000_000)
      const id = newSnapshotId()
      await store.saveSnapshot({ location, snapshotId: id, isLatest: false, snapshot })
      expect(await store.loadSnapshot({ location, snapshotId: id })).toEqual(snapshot)
      await store.deleteSession({ sessionId: location.sessionId })
    }
  })
})
