// Snapshot-layer guards that no tier's contract run can provoke: a backend that never advances a
// listing, and a watch that could never fire.
import { describe, expect, it } from 'vitest'
import { BackendSnapshotStore, MemoryBackend, newSnapshotId, type BackendListPage } from 'snapshelf'
import { sampleSnapshot } from 'snapshelf/testing'

const location = { sessionId: 's1', scope: 'agent', scopeId: 'main' }

/** A memory backend whose listings, once `stuck`, answer the first page again and again, always "truncated". */
class RepeatingListBackend extends MemoryBackend {
  stuck = false
  lists = 0
  override async list(prefix: string, o: { startAfter?: string; limit?: number } = {}): Promise<BackendListPage> {
    this.lists++
    if (!this.stuck) return super.list(prefix, o)
    const first = await super.list(prefix, { limit: 1 })
    return { entries: first.entries, truncated: true }
  }
}

describe('listing progress guard', () => {
  it('a truncated page that does not advance is ERR_REMOTE, not an endless loop', async () => {
    const backend = new RepeatingListBackend()
    const store = new BackendSnapshotStore({ backend })
    for (let i = 0; i < 3; i++)
      await store.saveSnapshot({ location, snapshotId: newSnapshotId(), isLatest: false, snapshot: sampleSnapshot(`v${i}`) })
    backend.stuck = true
    await expect(store.listSnapshots({ location })).rejects.toMatchObject({ code: 'ERR_REMOTE' })
    await expect(store.prune({ location, keepLast: 1 })).rejects.toMatchObject({ code: 'ERR_REMOTE' })
    expect(backend.lists).toBeLessThan(10)
    backend.stuck = false
    expect(await store.listSnapshotIds({ location })).toHaveLength(3) // nothing was deleted
    // deleteSession erases each page it is handed: it moves on as keys vanish, then the repeated
    // (now empty) "more" is ERR_REMOTE instead of a spin.
    backend.stuck = true
    backend.lists = 0
    await expect(store.deleteSession({ sessionId: 's1' })).rejects.toMatchObject({ code: 'ERR_REMOTE' })
    expect(backend.lists).toBeLessThan(10)
  })

  it('an empty page that claims more is ERR_REMOTE', async () => {
    const backend = new MemoryBackend()
    backend.list = async () => ({ entries: [], truncated: true })
    await expect(new BackendSnapshotStore({ backend }).listSnapshots({ location })).rejects.toMatchObject({ code: 'ERR_REMOTE' })
  })
})

describe('watchLatest', () => {
  it('intervalMs 0 (push only) is ERR_VALIDATION on a backend that cannot push', () => {
    const backend = new MemoryBackend()
    Object.defineProperty(backend, 'subscribe', { value: undefined })
    const store = new BackendSnapshotStore({ backend })
    expect(() => store.watchLatest({ location, intervalMs: 0, onChange: () => {} })).toThrow(
      expect.objectContaining({ code: 'ERR_VALIDATION', field: 'intervalMs' }),
    )
    store.watchLatest({ location, intervalMs: 50, onChange: () => {} })() // polling is fine
  })

  it('intervalMs 0 is accepted where the backend pushes, and hears the change', async () => {
    const store = new BackendSnapshotStore({ backend: new MemoryBackend() })
    const got: string[] = []
    const stop = store.watchLatest({ location, intervalMs: 0, onChange: (s) => got.push(String(s.appData.tag)) })
    await new Promise((r) => setTimeout(r, 20))
    await store.updateLatest({ location, mutate: () => sampleSnapshot('pushed') })
    await expect.poll(() => got).toEqual(['pushed'])
    stop()
  })
})
