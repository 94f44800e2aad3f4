import { describe, expect, it } from 'vitest'
import { MemoryBackend, MemoryStorage, newSnapshotId, type Backend, type SnapshotLocation } from 'snapshelf'
import { TieredStorage } from 'snapshelf/tiered'
import { sampleSnapshot } from 'snapshelf/testing'

// Regressions of issue 10 (tiered data loss and status), one `describe` per item.

let n = 0
const where = (): SnapshotLocation => ({ sessionId: `fix-${Date.now().toString(36)}-${n++}`, scope: 'agent', scopeId: 'main' })

/** A remote (or local) backend that can run a hook before a call goes through. */
class HookedBackend implements Backend {
  beforeList?: (prefix: string) => Promise<void> | void
  constructor(readonly inner: Backend) {}
  get = (key: string, o?: { signal?: AbortSignal }) => this.inner.get(key, o)
  head = (key: string, o?: { signal?: AbortSignal }) => this.inner.head(key, o)
  put = (key: string, body: Uint8Array, o?: Parameters<Backend['put']>[2]) => this.inner.put(key, body, o)
  delete = (keys: string[], o?: { signal?: AbortSignal }) => this.inner.delete(keys, o)
  list = async (prefix: string, o?: { signal?: AbortSignal; startAfter?: string; limit?: number }) => {
    await this.beforeList?.(prefix)
    return this.inner.list(prefix, o)
  }
}

describe('item 1: updateLatest on a latest that came by read-through', () => {
  it('is queued and synced on a fresh device, and the edit wins over the bytes it started from', async () => {
    const remote = new MemoryStorage()
    const store = new TieredStorage({ local: new MemoryStorage(), remote, retries: 0 })
    // Sixteen locations: an edit that kept `createdAt` would lose to the server's copy about half
    // the time if the device did not know it started from that copy (the hash tie-break).
    const locations = Array.from({ length: 16 }, where)
    for (const location of locations) {
      await remote.saveSnapshot({ location, snapshotId: newSnapshotId(), isLatest: true, snapshot: sampleSnapshot('server') })
    }
    for (const [i, location] of locations.entries()) {
      const result = await store.updateLatest({ location, mutate: (current) => ({ ...current!, appData: { tag: `edit ${i}` } }) })
      expect(result.committed).toBe(true)
    }
    expect(await store.pendingCount()).toBe(16)
    expect((await store.sync()).pushed).toBe(16) // the sixteen edits; each location's history comes down too
    for (const [i, location] of locations.entries()) expect((await remote.loadSnapshot({ location }))?.appData.tag).toBe(`edit ${i}`)
    expect(await store.pendingCount()).toBe(0)
    store.close()
  })
})
