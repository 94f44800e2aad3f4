import { describe, expect, it } from 'vitest'
import { MemoryStorage, newSnapshotId } from 'snapshelf'
import { TieredStorage } from 'snapshelf/tiered'
import { sampleSnapshot } from 'snapshelf/testing'

// Sequences the main tiered suite does not walk: each must end with both tiers agreeing, nothing
// left in the outbox, and no false conflict.
const location = { sessionId: 'edge', scope: 'agent', scopeId: 'main' }

describe('TieredStorage sync edge sequences', () => {
  it('a history id deleted and saved again with other content reaches the remote (delete first, then create)', async () => {
    const remote = new MemoryStorage()
    const store = new TieredStorage({ local: new MemoryStorage(), remote, retries: 0 })
    const snapshotId = newSnapshotId()
    await store.saveSnapshot({ location, snapshotId, isLatest: false, snapshot: sampleSnapshot('first') })
    await store.sync()
    await store.deleteSnapshot({ location, snapshotId })
    await store.saveSnapshot({ location, snapshotId, isLatest: false, snapshot: sampleSnapshot('second') })
    const result = await store.sync()
    expect(result.conflicts).toEqual([])
    expect(await store.pendingCount()).toBe(0)
    expect((await remote.loadSnapshot({ location, snapshotId }))!.appData.tag).toBe('second')
    expect((await store.loadSnapshot({ location, snapshotId }))!.appData.tag).toBe('second')
    store.close()
  })

  it('an entry whose data has not landed yet (a write in flight in another tab) is kept, not reported as a conflict', async () => {
    const local = new MemoryStorage()
    const remote = new MemoryStorage()
    const store = new TieredStorage({ local, remote, retries: 0 })
    const snapshotId = newSnapshotId()
    const rel = `edge/scopes/agent/main/snapshots/immutable_history/snapshot_${snapshotId}.json`
    // What TieredBackend.put leaves between its two writes: the entry, not yet the data.
    await local.backend.put(`.snapshelf/outbox/${rel}!put!${newSnapshotId()}`, new Uint8Array(0))
    const first = await store.sync()
    expect(first.conflicts).toEqual([])
    expect(store.status.conflicts).toEqual([])
    expect(await store.pendingCount()).toBe(1)
    // The data lands; the next sync pushes it.
    await local.backend.put(rel, new TextEncoder().encode(JSON.stringify(sampleSnapshot('late'))))
    await store.sync()
    expect(await store.pendingCount()).toBe(0)
    expect((await remote.loadSnapshot({ location, snapshotId }))!.appData.tag).toBe('late')
    store.close()
  })
})
