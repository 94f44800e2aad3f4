import { describe, expect, it } from 'vitest'
import {
  AbortedError,
  MemoryBackend,
  MemoryStorage,
  RemoteError,
  newSnapshotId,
  type Backend,
  type BackendPutOptions,
  type Snapshot,
  type SnapshotLocation,
} from 'snapshelf'
import { TieredStorage, type TieredStatus } from 'snapshelf/tiered'
import { runContractSuite, sampleSnapshot, snapshotIdAt } from 'snapshelf/testing'

runContractSuite(it, {
  name: 'TieredStorage(Memory → Memory)',
  create: async (options) => {
    const store = new TieredStorage({ local: new MemoryStorage(), remote: new MemoryStorage(), ...options })
    return { store, cleanup: async () => store.close() }
  },
})

/**
 * A fault-injecting wrapper in front of a real backend: `offline` makes every call fail like a
 * dropped network, `failNext` fails that many calls (a flaky link), `beforePut` runs before each
 * put (to abort mid-sync), and every call is counted per method.
 */
class FaultyBackend implements Backend {
  offline = false
  failNext = 0
  beforePut?: (key: string) => void
  readonly calls: Record<string, number> = { get: 0, head: 0, put: 0, delete: 0, list: 0 }
  readonly putBytes = new Map<string, Uint8Array>()

  constructor(readonly inner: Backend) {}

  get maxListPage(): number | undefined {
    return this.inner.maxListPage
  }

  writes(): number {
    return this.calls.put! + this.calls.delete!
  }

  resetCounts(): void {
    for (const k of Object.keys(this.calls)) this.calls[k] = 0
  }

  private gate(method: string): void {
    this.calls[method]!++
    if (this.offline) throw new RemoteError(`${method}: network error (offline)`, { status: 0 })
    if (this.failNext > 0) {
      this.failNext--
      throw new RemoteError(`${method}: 503 (injected)`, { status: 503 })
    }
  }

  async get(key: string, o?: { signal?: AbortSignal }) {
    this.gate('get')
    return this.inner.get(key, o)
  }
  async head(key: string, o?: { signal?: AbortSignal }) {
    this.gate('head')
    return this.inner.head(key, o)
  }
  async put(key: string, body: Uint8Array, o?: BackendPutOptions) {
    this.beforePut?.(key)
    if (o?.signal?.aborted) throw new AbortedError()
    this.gate('put')
    const r = await this.inner.put(key, body, o)
    if (r) this.putBytes.set(key, body.slice())
    return r
  }
  async delete(keys: string[], o?: { signal?: AbortSignal }) {
    this.gate('delete')
    return this.inner.delete(keys, o)
  }
  async list(prefix: string, o?: { signal?: AbortSignal; startAfter?: string; limit?: number }) {
    this.gate('list')
    return this.inner.list(prefix, o)
  }
}

let counter = 0
function uniqueLocation(scopeId = 'main'): SnapshotLocation {
  return { sessionId: `tiered-${Date.now().toString(36)}-${counter++}`, scope: 'agent', scopeId }
}

/** One remote (a memory backend behind a fault injector) shared by any number of devices. */
function world() {
  const remoteBackend = new MemoryBackend()
  const remote = new FaultyBackend(remoteBackend)
  // Reads the remote directly, bypassing the fault injector: what "the server" holds.
  const server = new MemoryStorage()
  Object.defineProperty(server, 'backend', { value: remoteBackend })
  const devices: TieredStorage[] = []
  const device = (options: { retries?: number; concurrency?: number } = {}) => {
    const local = new FaultyBackend(new MemoryBackend())
    const store = new TieredStorage({ local, remote, retries: 0, ...options })
    devices.push(store)
    return { store, local }
  }
  return {
    remote,
    remoteBackend,
    server,
    device,
    close: () => {
      for (const d of devices) d.close()
    },
  }
}

async function sha256(bytes: Uint8Array): Promise<string> {
  return Buffer.from(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)).toString('hex')
}

async function keysUnder(backend: Backend, prefix: string): Promise<string[]> {
  return (await backend.list(prefix, { limit: 1000 })).entries.map((e) => e.key)
}

describe('TieredStorage sync (Memory → Memory behind a fault injector)', () => {
  it('offline writes stay local and queued; sync then pushes all of them, byte for byte', async () => {
    const w = world()
    const { store, local } = w.device()
    const location = uniqueLocation()
    w.remote.offline = true
    const ids: string[] = []
    let last: Snapshot | undefined
    for (let i = 0; i < 30; i++) {
      ids.push(newSnapshotId())
      last = sampleSnapshot(i)
      await store.commitSnapshot({ location, snapshotId: ids[i]!, snapshot: last })
    }
    const manifest = { schemaVersion: '1.0', updatedAt: new Date().toISOString(), turns: 30 }
    await store.saveManifest({ location, manifest })
    expect(await store.listSnapshotIds({ location })).toEqual(ids)
    expect(await store.pendingCount()).toBe(32) // 30 history keys, latest, manifest
    await expect(store.sync()).rejects.toMatchObject({ code: 'ERR_REMOTE' })
    expect(store.status.online).toBe(false)
    expect(await store.pendingCount()).toBe(32)
    expect(await keysUnder(w.remoteBackend, `${location.sessionId}/`)).toEqual([])

    w.remote.offline = false
    const progress: { pushed: number; pulled: number; total: number }[] = []
    const result = await store.sync({ onProgress: (p) => progress.push(p) })
    expect(result).toEqual({ pushed: 32, pulled: 0, conflicts: [] })
    expect(progress.at(-1)).toEqual({ pushed: 32, pulled: 0, total: 30 })
    expect(await store.pendingCount()).toBe(0)
    expect(store.status).toMatchObject({ online: true, pending: 0, lastError: null })
    expect(store.status.lastSyncAt).toBeInstanceOf(Date)
    expect(await w.server.listSnapshotIds({ location })).toEqual(ids)
    expect(await w.server.loadSnapshot({ location })).toEqual(last)
    expect(await w.server.loadManifest({ location })).toEqual(manifest)
    // No re-encoding: every remote object holds exactly the local object's bytes.
    const keys = await keysUnder(w.remoteBackend, `${location.sessionId}/`)
    expect(keys).toHaveLength(32)
    for (const key of keys) expect((await w.remoteBackend.get(key))!.body).toEqual((await local.get(key))!.body)
    w.close()
  })

  it('remote-only snapshots: reads fall through (and cache), hydrate pulls the rest, sync pulls what is new', async () => {
    const w = world()
    const location = uniqueLocation()
    const ids = Array.from({ length: 5 }, () => newSnapshotId())
    for (const [i, id] of ids.entries())
      if (i === 4) await w.server.commitSnapshot({ location, snapshotId: id, snapshot: sampleSnapshot(`r${i}`) })
      else await w.server.saveSnapshot({ location, snapshotId: id, isLatest: false, snapshot: sampleSnapshot(`r${i}`) })
    await w.server.saveManifest({ location, manifest: { schemaVersion: '1.0', updatedAt: '2026-01-01T00:00:00.000Z' } })
    const { store, local } = w.device()
    expect((await store.loadSnapshot({ location, snapshotId: ids[2]! }))?.appData.tag).toBe('r2')
    expect(await store.hasSnapshot({ location, snapshotId: ids[3]! })).toBe(true)
    expect(await store.listSnapshotIds({ location })).toEqual([ids[2], ids[3]]) // listing is local: only what the reads cached

    const hydrated = await store.hydrate({ location })
    // 3 history and the manifest: latest was cached by the load by id, which fetches it beside
    // the snapshot (the newest snapshot by id is latest).
    expect(hydrated).toEqual({ pushed: 0, pulled: 4, conflicts: [] })
    expect(await store.listSnapshotIds({ location })).toEqual(ids)
    expect((await store.loadSnapshot({ location }))?.appData.tag).toBe('r4')
    expect((await store.loadManifest({ location })).updatedAt).toBe('2026-01-01T00:00:00.000Z')
    local.resetCounts()
    expect(await store.hydrate({ location })).toEqual({ pushed: 0, pulled: 0, conflicts: [] })
    expect(local.writes()).toBe(0) // a no-op when local is current

    const more = Array.from({ length: 3 }, () => newSnapshotId())
    for (const [i, id] of more.entries()) await w.server.commitSnapshot({ location, snapshotId: id, snapshot: sampleSnapshot(`m${i}`) })
    w.remote.resetCounts()
    expect(await store.sync()).toEqual({ pushed: 0, pulled: 4, conflicts: [] })
    expect(await store.listSnapshotIds({ location })).toEqual([...ids, ...more])
    expect((await store.loadSnapshot({ location }))?.appData.tag).toBe('m2')
    expect(w.remote.calls.get).toBe(4) // the 3 new ids and the changed latest, nothing already held
    w.close()
  })

  it('two devices writing concurrently converge: no history lost, one agreed latest by the documented rule', async () => {
    const w = world()
    const A = w.device()
    const B = w.device()
    const location = uniqueLocation()
    w.remote.offline = true
    const ids: string[] = []
    for (let i = 0; i < 20; i++) {
      for (const [name, d] of [
        ['a', A],
        ['b', B],
      ] as const) {
        const id = newSnapshotId()
        ids.push(id)
        await d.store.commitSnapshot({ location, snapshotId: id, snapshot: sampleSnapshot(`${name}${i}`) })
      }
    }
    w.remote.offline = false
    await Promise.all([A.store.sync(), B.store.sync()])
    await Promise.all([A.store.sync(), B.store.sync()])
    const all = [...ids].sort()
    expect(await w.server.listSnapshotIds({ location })).toEqual(all)
    expect(await A.store.listSnapshotIds({ location })).toEqual(all)
    expect(await B.store.listSnapshotIds({ location })).toEqual(all)
    // The rule: greater createdAt wins, then the greater SHA-256 of the stored bytes.
    const key = `${location.sessionId}/scopes/agent/main/snapshots/snapshot_latest.json`
    const candidates = await Promise.all(
      ['a19', 'b19'].map(async (tag) => {
        const id = ids[19 * 2 + (tag === 'a19' ? 0 : 1)]!
        const bytes = (await w.remoteBackend.get(
          `${location.sessionId}/scopes/agent/main/snapshots/immutable_history/snapshot_${id}.json`,
        ))!.body
        const snapshot = (await w.server.loadSnapshot({ location, snapshotId: id }))!
        return { tag, time: Date.parse(snapshot.createdAt), hash: await sha256(bytes), bytes }
      }),
    )
    candidates.sort((x, y) => x.time - y.time || (x.hash < y.hash ? -1 : 1))
    const winner = candidates[1]!
    expect((await w.server.loadSnapshot({ location }))?.appData.tag).toBe(winner.tag)
    expect((await A.store.loadSnapshot({ location }))?.appData.tag).toBe(winner.tag)
    expect((await B.store.loadSnapshot({ location }))?.appData.tag).toBe(winner.tag)
    expect((await w.remoteBackend.get(key))!.body).toEqual(winner.bytes)
    for (const d of [A, B]) expect(await d.store.sync()).toEqual({ pushed: 0, pulled: 0, conflicts: [] })

    // Only one side changed since the agreed state: it wins even with an equal createdAt.
    await B.store.updateLatest({ location, mutate: (cur) => ({ ...cur!, appData: { tag: 'edited on B' } }) })
    expect(await B.store.sync()).toMatchObject({ pushed: 1, pulled: 0 })
    expect(await A.store.sync()).toMatchObject({ pushed: 0, pulled: 1 })
    expect((await A.store.loadSnapshot({ location }))?.appData.tag).toBe('edited on B')
    w.close()
  })

  it('an abort mid-history and one between pushing history and moving latest both resume correctly', async () => {
    const w = world()
    const { store } = w.device({ concurrency: 1 })
    const location = uniqueLocation()
    w.remote.offline = true
    const ids = Array.from({ length: 10 }, () => newSnapshotId())
    for (const [i, id] of ids.entries()) await store.commitSnapshot({ location, snapshotId: id, snapshot: sampleSnapshot(i) })
    w.remote.offline = false

    let puts = 0
    const first = new AbortController()
    w.remote.beforePut = () => void (++puts === 5 && first.abort())
    await expect(store.sync({ signal: first.signal })).rejects.toBeInstanceOf(AbortedError)
    expect(await w.server.listSnapshotIds({ location })).toEqual(ids.slice(0, 4))
    expect(await store.pendingCount()).toBe(7) // 6 history keys and latest

    const second = new AbortController()
    w.remote.beforePut = (key) => void (key.endsWith('snapshot_latest.json') && second.abort())
    await expect(store.sync({ signal: second.signal })).rejects.toBeInstanceOf(AbortedError)
    expect(await w.server.listSnapshotIds({ location })).toEqual(ids)
    expect(await w.server.loadSnapshot({ location })).toBeNull() // latest not moved yet
    expect(await store.pendingCount()).toBe(1)

    w.remote.beforePut = undefined
    expect(await store.sync()).toEqual({ pushed: 1, pulled: 0, conflicts: [] })
    expect((await w.server.loadSnapshot({ location }))?.appData.tag).toBe('9')
    expect(await keysUnder(w.remoteBackend, `${location.sessionId}/`)).toHaveLength(11) // no duplicates
    expect(await store.pendingCount()).toBe(0)
    w.close()
  })

  it('a second sync moves nothing: no writes on either tier, three metadata requests per location', async () => {
    const w = world()
    const { store, local } = w.device()
    const location = uniqueLocation()
    for (let i = 0; i < 5; i++) await store.commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot: sampleSnapshot(i) })
    await store.saveManifest({ location, manifest: { schemaVersion: '1.0', updatedAt: new Date().toISOString() } })
    expect((await store.sync()).pushed).toBe(7)
    w.remote.resetCounts()
    local.resetCounts()
    expect(await store.sync()).toEqual({ pushed: 0, pulled: 0, conflicts: [] })
    expect(w.remote.writes()).toBe(0)
    expect(local.writes()).toBe(0)
    expect(w.remote.calls).toEqual({ get: 0, head: 2, put: 0, delete: 0, list: 1 })
    w.close()
  })

  it('deletes propagate: deleteSnapshot and deleteSession are queued, never resurrected by reads, then pushed', async () => {
    const w = world()
    const { store } = w.device()
    const l1 = uniqueLocation('one')
    const l2 = { ...l1, scopeId: 'two' }
    const ids = Array.from({ length: 3 }, () => newSnapshotId())
    for (const id of ids)
      for (const location of [l1, l2]) await store.commitSnapshot({ location, snapshotId: id, snapshot: sampleSnapshot(id) })
    await store.sync()
    w.remote.offline = true
    await store.deleteSnapshot({ location: l1, snapshotId: ids[0]! })
    w.remote.offline = false
    expect(await store.loadSnapshot({ location: l1, snapshotId: ids[0]! })).toBeNull() // the remote still has it
    expect(await store.hasSnapshot({ location: l1, snapshotId: ids[0]! })).toBe(false)
    expect(await store.sync()).toMatchObject({ pushed: 1 })
    expect(await w.server.listSnapshotIds({ location: l1 })).toEqual(ids.slice(1))

    await store.deleteSession({ sessionId: l1.sessionId })
    expect(await store.loadSnapshot({ location: l2 })).toBeNull()
    expect(await store.pendingCount()).toBe(1)
    const fresh = newSnapshotId() // written after the deletion: must survive it
    await store.commitSnapshot({ location: l2, snapshotId: fresh, snapshot: sampleSnapshot('after') })
    await store.sync()
    expect(await keysUnder(w.remoteBackend, `${l1.sessionId}/`)).toEqual([
      `${l1.sessionId}/scopes/agent/two/snapshots/immutable_history/snapshot_${fresh}.json`,
      `${l1.sessionId}/scopes/agent/two/snapshots/snapshot_latest.json`,
      `${l1.sessionId}/scopes/tombstone.json`, // the deletion's tombstone: a date, no data
    ])
    expect(await store.listSnapshotIds({ location: l2 })).toEqual([fresh])
    expect(await store.listSnapshotIds({ location: l1 })).toEqual([])
    expect(await store.pendingCount()).toBe(0)
    w.close()
  })

  it('flush pushes one location only; retries ride out a flaky link; status events follow along', async () => {
    const w = world()
    const { store } = w.device({ retries: 4 })
    const statuses: TieredStatus[] = []
    store.onStatus((s) => statuses.push(s))
    const l1 = uniqueLocation('one')
    const l2 = { ...l1, scopeId: 'two' }
    for (const location of [l1, l2])
      await store.commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot: sampleSnapshot(location.scopeId) })
    w.remote.failNext = 3
    expect(await store.flush({ location: l1 })).toMatchObject({ pushed: 2 })
    expect(w.remote.failNext).toBe(0)
    expect((await w.server.loadSnapshot({ location: l1 }))?.appData.tag).toBe('one')
    expect(await w.server.loadSnapshot({ location: l2 })).toBeNull()
    expect(await store.pendingCount()).toBe(2)
    await store.sync()
    await new Promise((r) => setTimeout(r, 20))
    expect(statuses.some((s) => s.syncing)).toBe(true)
    expect(statuses.at(-1)).toMatchObject({ syncing: false, pending: 0, online: true })
    w.close()
  })

  it('a read-through while offline answers from the local view and reports offline', async () => {
    const w = world()
    const location = uniqueLocation()
    await w.server.commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot: sampleSnapshot('remote') })
    const { store } = w.device()
    w.remote.offline = true
    expect(await store.loadSnapshot({ location })).toBeNull()
    expect(store.status.online).toBe(false)
    w.remote.offline = false
    expect((await store.loadSnapshot({ location }))?.appData.tag).toBe('remote')
    w.close()
  })

  it('history written late by a device that was offline (older ids) is still pulled', async () => {
    const w = world()
    const location = uniqueLocation()
    const { store } = w.device()
    const early = snapshotIdAt(Date.now() - 3_600_000)
    await w.server.commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot: sampleSnapshot('now') })
    await store.hydrate({ location })
    await w.server.saveSnapshot({ location, snapshotId: early, isLatest: false, snapshot: sampleSnapshot('late') })
    expect((await store.sync()).pulled).toBe(1)
    expect((await store.loadSnapshot({ location, snapshotId: early }))?.appData.tag).toBe('late')
    w.close()
  })

  it('bad options and ids are ERR_VALIDATION before any I/O', async () => {
    const w = world()
    expect(() => new TieredStorage({ local: {} as never, remote: w.remote })).toThrow(expect.objectContaining({ code: 'ERR_VALIDATION' }))
    expect(() => new TieredStorage({ local: new MemoryStorage(), remote: w.remote, concurrency: 0 })).toThrow(
      expect.objectContaining({ field: 'concurrency' }),
    )
    const { store, local } = w.device()
    await store.pendingCount()
    local.resetCounts() // the store counts its outbox when it starts: that listing is not the bad calls'
    await expect(store.hydrate({ location: { sessionId: '../x', scope: 'agent', scopeId: 'a' } })).rejects.toMatchObject({
      code: 'ERR_VALIDATION',
    })
    await expect(store.flush({ location: null as never })).rejects.toMatchObject({ code: 'ERR_VALIDATION' })
    await expect(store.deleteSession({ sessionId: '.snapshelf' })).rejects.toMatchObject({ code: 'ERR_VALIDATION' })
    expect(local.calls).toEqual({ get: 0, head: 0, put: 0, delete: 0, list: 0 })
    expect(w.remote.calls).toEqual({ get: 0, head: 0, put: 0, delete: 0, list: 0 })
    w.close()
  })
})
