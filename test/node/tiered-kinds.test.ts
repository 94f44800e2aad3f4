import { describe, expect, it } from 'vitest'
import { MemoryBackend, MemoryStorage, newSnapshotId, type Backend } from 'snapshelf'
import { TieredBackend, TieredStorage } from 'snapshelf/tiered'
import { sampleSnapshot } from 'snapshelf/testing'

// Sync treats a key by how it was written (create-only, compare-and-swap, plain overwrite,
// delete), recorded in the outbox when the write happens, never by its name: keys outside the
// snapshot layout (a future adapter's) sync with the same guarantees. Entries and sync state the
// previous version stored keep working.

let n = 0
const session = () => `kinds-${Date.now().toString(36)}-${n++}`
const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))
const text = (bytes: Uint8Array | undefined) => (bytes ? new TextDecoder().decode(bytes) : undefined)

function world() {
  const remote = new MemoryBackend()
  const device = () => {
    const local = new MemoryBackend()
    return { local, store: new TieredStorage({ local, remote, retries: 0 }) }
  }
  return { remote, device }
}

/** Keys of a backend under a prefix. */
async function keys(backend: Backend, prefix: string): Promise<string[]> {
  return (await backend.list(prefix, { limit: 1000 })).entries.map((e) => e.key)
}

describe('TieredStorage syncs keys by how they were written', () => {
  it('a create-only key outside the layout is pushed create-only; other bytes there are a conflict, kept queued', async () => {
    const w = world()
    const A = w.device()
    const s = session()
    const key = `${s}/adapter/blobs/b1.json`
    await A.store.backend.put(key, json({ v: 1 }), { ifNoneMatch: '*', writeOnce: true })
    expect(await A.store.pendingCount()).toBe(1)
    expect(await A.store.sync()).toMatchObject({ pushed: 1, conflicts: [] })
    expect(text((await w.remote.get(key))?.body)).toBe('{"v":1}')

    const other = `${s}/adapter/blobs/b2.json`
    await w.remote.put(other, json({ v: 'theirs' }))
    await A.store.backend.put(other, json({ v: 'ours' }), { ifNoneMatch: '*', writeOnce: true })
    expect((await A.store.sync()).conflicts).toEqual([other])
    expect(await A.store.pendingCount()).toBe(1)
    expect(text((await w.remote.get(other))?.body)).toBe('{"v":"theirs"}') // never overwritten
    A.store.close()
  })

  it('a compare-and-swap key outside the layout reconciles three-way: fast-forwards, then the dated rule', async () => {
    const w = world()
    const A = w.device()
    const B = w.device()
    const key = `${session()}/adapter/state.json`
    await A.store.backend.put(key, json({ updatedAt: '2026-01-01T00:00:00.000Z', by: 'A' }), { ifNoneMatch: '*' })
    expect(await A.store.sync()).toMatchObject({ pushed: 1 })
    // B creates it too, unaware of A's: both changed since they (never) agreed, so the later
    // `updatedAt` wins, on B's sync as on any other device's.
    await B.store.backend.put(key, json({ updatedAt: '2026-01-01T00:00:01.000Z', by: 'B' }), { ifNoneMatch: '*' })
    expect(await B.store.pendingCount()).toBe(1)
    expect(await B.store.sync()).toMatchObject({ pushed: 1, pulled: 0 })
    expect(await B.store.pendingCount()).toBe(0)
    // A agreed on the key before and did not change it since: the remote change comes down.
    expect(await A.store.sync()).toMatchObject({ pushed: 0, pulled: 1 })
    expect(text((await A.local.get(key))?.body)).toContain('"by":"B"')

    // Both change it: the later `updatedAt` wins on both devices, whoever syncs first.
    const a = (await A.store.backend.get(key))!
    await A.store.backend.put(key, json({ updatedAt: '2026-01-02T00:00:00.000Z', by: 'A2' }), { ifMatch: a.etag })
    expect(await A.store.pendingCount()).toBe(1) // a compare-and-swap is queued like any write
    const b = (await B.store.backend.get(key))!
    await B.store.backend.put(key, json({ updatedAt: '2026-01-03T00:00:00.000Z', by: 'B2' }), { ifMatch: b.etag })
    await A.store.sync()
    await B.store.sync()
    await A.store.sync()
    for (const backend of [w.remote, A.local, B.local]) expect(text((await backend.get(key))?.body)).toContain('"by":"B2"')
    for (const d of [A, B]) {
      expect(await d.store.pendingCount()).toBe(0)
      expect(await d.store.sync()).toEqual({ pushed: 0, pulled: 0, conflicts: [] })
      d.store.close()
    }
  })

  it('a plain overwrite and a delete of a key outside the layout reach the remote', async () => {
    const w = world()
    const A = w.device()
    const key = `${session()}/adapter/notes.json`
    await A.store.backend.put(key, json({ note: 1 }))
    await A.store.backend.put(key, json({ note: 2 }))
    expect(await A.store.pendingCount()).toBe(1) // one key, however many writes
    expect(await A.store.sync()).toMatchObject({ pushed: 1 })
    expect(text((await w.remote.get(key))?.body)).toBe('{"note":2}')
    await A.store.backend.delete([key])
    await A.store.sync()
    expect(await w.remote.get(key)).toBeNull()
    expect(await A.store.pendingCount()).toBe(0)
    A.store.close()
  })

  it('deleteSession erases an adapter folder and its sync state with the session', async () => {
    const w = world()
    const A = w.device()
    const s = session()
    await A.store.backend.put(`${s}/adapter/state.json`, json({ v: 1 }), { ifNoneMatch: '*' })
    await A.store.backend.put(`${s}/top.json`, json({ v: 1 }))
    await A.store.sync()
    expect(await keys(A.local, `.snapshelf/sync/${s}`)).not.toEqual([])
    await A.store.deleteSession({ sessionId: s })
    await A.store.sync()
    expect(await keys(w.remote, `${s}/`)).toEqual([`${s}/scopes/tombstone.json`]) // the session's tombstone: a date, no data
    expect(await keys(A.local, `.snapshelf/sync/${s}`)).toEqual([])
    expect(await keys(A.local, `${s}/`)).toEqual([])
    A.store.close()
  })
})

describe('what the previous version stored keeps syncing', () => {
  it('outbox entries written as `put` are classified by key: history create-only, latest reconciled', async () => {
    const local = new MemoryStorage()
    const remote = new MemoryStorage()
    const s = session()
    const location = { sessionId: s, scope: 'agent', scopeId: 'main' }
    const id = newSnapshotId()
    const history = `${s}/scopes/agent/main/snapshots/immutable_history/snapshot_${id}.json`
    const latest = `${s}/scopes/agent/main/snapshots/snapshot_latest.json`
    // Exactly what the previous TieredBackend left: data, then `<rel>!put!<uuidv7>` entries.
    const bytes = json(sampleSnapshot('legacy'))
    await local.backend.put(history, bytes)
    await local.backend.put(latest, bytes)
    await local.backend.put(`.snapshelf/outbox/${history}!put!${newSnapshotId()}`, new Uint8Array(0))
    await local.backend.put(`.snapshelf/outbox/${latest}!put!${newSnapshotId()}`, new Uint8Array(0))
    // And a history id the remote holds with other bytes: a legacy history entry stays create-only.
    const taken = newSnapshotId()
    const takenKey = `${s}/scopes/agent/main/snapshots/immutable_history/snapshot_${taken}.json`
    await local.backend.put(takenKey, json(sampleSnapshot('ours')))
    await remote.backend.put(takenKey, json(sampleSnapshot('theirs')))
    await local.backend.put(`.snapshelf/outbox/${takenKey}!put!${newSnapshotId()}`, new Uint8Array(0))

    const store = new TieredStorage({ local, remote, retries: 0 })
    expect(await store.pendingCount()).toBe(3)
    const result = await store.sync()
    expect(result).toMatchObject({ pushed: 2, conflicts: [takenKey] })
    expect(await store.pendingCount()).toBe(1)
    expect((await remote.loadSnapshot({ location, snapshotId: id }))?.appData.tag).toBe('legacy')
    expect((await remote.loadSnapshot({ location }))?.appData.tag).toBe('legacy')
    expect((await remote.loadSnapshot({ location, snapshotId: taken }))?.appData.tag).toBe('theirs')
    store.close()
  })

  it('per-location sync state in the stored JSON format is honoured: an agreed latest moves nothing', async () => {
    const local = new MemoryStorage()
    const remote = new MemoryStorage()
    const s = session()
    const location = { sessionId: s, scope: 'agent', scopeId: 'main' }
    const first = new TieredStorage({ local, remote, retries: 0 })
    await first.commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot: sampleSnapshot('one') })
    await first.sync()
    first.close()
    const stateKey = `.snapshelf/sync/${s}/scopes/agent/main/snapshots`
    const state = JSON.parse(text((await local.backend.get(stateKey))!.body)!)
    // The format the previous version wrote and reads: these field names are a storage format.
    expect(Object.keys(state).sort()).toEqual(['cursor', 'latest'])
    expect(Object.keys(state.latest).sort()).toEqual(['base', 'etag'])

    // The remote moves on; the device, unchanged since the agreed state, pulls (never pushes).
    await remote.commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot: sampleSnapshot('two') })
    const second = new TieredStorage({ local, remote, retries: 0 })
    expect(await second.sync()).toMatchObject({ pushed: 0, pulled: 2 })
    expect((await second.loadSnapshot({ location }))?.appData.tag).toBe('two')
    second.close()
  })

  it('TieredBackend still accepts the positional constructor', async () => {
    const local = new MemoryBackend()
    const remote = new MemoryBackend()
    const backend = new TieredBackend(local, 'l', remote, 'r', 'p')
    await remote.put('r/s1/x.json', json({ v: 1 })) // the remote has its own placement
    expect(text((await backend.get('p/s1/x.json'))?.body)).toBe('{"v":1}')
    expect(await keys(local, 'l/p/s1/')).toEqual(['l/p/s1/x.json']) // cached under the local prefix
    await backend.put('p/s1/y.json', json({ v: 2 }))
    expect((await keys(local, 'l/p/.snapshelf/outbox/')).map((k) => k.split('!')[1])).toEqual(['set'])
  })
})
