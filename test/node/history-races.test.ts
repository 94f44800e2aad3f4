import { describe, expect, it } from 'vitest'
import { BackendSnapshotStore, MemoryBackend, type Backend, type Snapshot } from 'snapshelf'

// Delta history against writers in flight (issue 15): a snapshot built on one that a delete
// removes at the same moment must stay readable. Each ordering of the two is forced by a hook in
// front of a real memory backend; the seeded interleavings of the contract suite cover the rest.

const location = { sessionId: 'race', scope: 'agent', scopeId: 'main' }

function growing() {
  const messages: string[] = []
  return (turn: number): Snapshot => {
    messages.push(`${turn}: ${Array.from({ length: 80 }, (_, i) => ((i + 7) * 7919 * (turn + 1)) % 10007).join(' ')}`)
    return { scope: 'agent', schemaVersion: '1.0', createdAt: `turn ${turn}`, data: { messages: [...messages] }, appData: {} }
  }
}

/** `inner` with a hook run once before the first `delete` that names a history key. */
function hooked(inner: Backend, beforeDelete: () => Promise<void>): Backend {
  let fired = false
  return {
    get: (k, o) => inner.get(k, o),
    head: (k, o) => inner.head(k, o),
    put: (k, b, o) => inner.put(k, b, o),
    list: (p, o) => inner.list(p, o),
    delete: async (keys, o) => {
      if (!fired && keys.some((k) => k.includes('/immutable_history/'))) {
        fired = true
        await beforeDelete()
      }
      return inner.delete(keys, o)
    },
  }
}

async function historyKinds(backend: Backend) {
  const { entries } = await backend.list('race/', { limit: 100 })
  return entries.map((e) => e.key.split('/').slice(-2).join('/'))
}

describe('delta history: deletes racing writers in flight', () => {
  it('a child saved between the delete listing and the delete itself is copied whole by the delete', async () => {
    const memory = new MemoryBackend()
    const writer = new BackendSnapshotStore<Snapshot>({ backend: memory })
    const next = growing()
    const saved = new Map<string, string>()
    for (let t = 0; t < 3; t++) {
      const s = next(t)
      saved.set((await writer.commitSnapshot({ location, snapshot: s })).snapshotId, JSON.stringify(s))
    }
    const [, , doomed] = [...saved.keys()]
    let child = ''
    const deleter = new BackendSnapshotStore<Snapshot>({
      backend: hooked(memory, async () => {
        // The writer builds on the doomed snapshot and checks its parent: still there, so it
        // copies nothing; only the deleter's second listing can save this child.
        const s = next(3)
        child = (await writer.commitSnapshot({ location, snapshot: s })).snapshotId
        saved.set(child, JSON.stringify(s))
      }),
    })
    await deleter.deleteSnapshot({ location, snapshotId: doomed! })
    saved.delete(doomed!)
    expect(await historyKinds(memory)).toContain(`parts/snapshot_${child}.json`)
    const reader = new BackendSnapshotStore<Snapshot>({ backend: memory })
    for (const [id, json] of saved) expect(JSON.stringify(await reader.loadSnapshot({ location, snapshotId: id }))).toBe(json)
  })

  it('a child saved after its parent was deleted is copied whole by its own writer', async () => {
    const memory = new MemoryBackend()
    const writer = new BackendSnapshotStore<Snapshot>({ backend: memory })
    const next = growing()
    const first = next(0)
    await writer.commitSnapshot({ location, snapshot: first })
    const parent = (await writer.commitSnapshot({ location, snapshot: next(1) })).snapshotId
    await new BackendSnapshotStore<Snapshot>({ backend: memory }).deleteSnapshot({ location, snapshotId: parent })
    const s = next(2)
    const child = (await writer.commitSnapshot({ location, snapshot: s })).snapshotId // a delta of the deleted parent
    expect(await historyKinds(memory)).toContain(`parts/snapshot_${child}.json`)
    expect(
      JSON.stringify(await new BackendSnapshotStore<Snapshot>({ backend: memory }).loadSnapshot({ location, snapshotId: child })),
    ).toBe(JSON.stringify(s))
  })
})
