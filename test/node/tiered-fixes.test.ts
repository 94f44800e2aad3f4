import { describe, expect, it } from 'vitest'
import { MemoryBackend, MemoryStorage, RemoteError, newSnapshotId, type Backend, type SnapshotLocation } from 'snapshelf'
import { createSnapshotHandler, HttpStorage } from 'snapshelf/http'
import { TieredStorage, type TieredStatus } from 'snapshelf/tiered'
import { sampleSnapshot } from 'snapshelf/testing'

// Regressions of issue 10 (tiered data loss and status), one `describe` per item.

let n = 0
const where = (): SnapshotLocation => ({ sessionId: `fix-${Date.now().toString(36)}-${n++}`, scope: 'agent', scopeId: 'main' })

/** A remote (or local) backend that can run a hook before a call goes through. */
class HookedBackend implements Backend {
  beforeList?: (prefix: string) => Promise<void> | void
  beforeGet?: (key: string) => Promise<void> | void
  constructor(readonly inner: Backend) {}
  get = async (key: string, o?: { signal?: AbortSignal }) => {
    await this.beforeGet?.(key)
    return this.inner.get(key, o)
  }
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
      await remote.commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot: sampleSnapshot('server') })
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

describe('item 2: a delete issued while a sync is running', () => {
  /** A device with `count` snapshots synced to a hooked remote. */
  async function synced(count: number) {
    const remote = new HookedBackend(new MemoryBackend())
    const local = new MemoryBackend()
    const store = new TieredStorage({ local, remote, retries: 0 })
    const location = where()
    const ids = Array.from({ length: count }, () => newSnapshotId())
    for (const id of ids) await store.commitSnapshot({ location, snapshotId: id, snapshot: sampleSnapshot(id) })
    await store.sync()
    const server = new MemoryStorage()
    Object.defineProperty(server, 'backend', { value: remote.inner })
    return { remote, local, store, location, ids, server }
  }

  /** Runs `deletion` once, while the sync lists the remote history (before it pulls). */
  function during(remote: HookedBackend, deletion: () => Promise<unknown>): void {
    let done = false
    remote.beforeList = async (prefix) => {
      if (done || !prefix.includes('immutable_history')) return
      done = true
      await deletion()
    }
  }

  /** After the running sync and one more, both tiers agree and nothing is pending. */
  async function settle(d: Awaited<ReturnType<typeof synced>>) {
    await d.store.sync()
    d.remote.beforeList = undefined
    await d.store.sync()
    expect(await d.store.pendingCount()).toBe(0)
    return {
      here: await d.store.listSnapshotIds({ location: d.location }),
      there: await d.server.listSnapshotIds({ location: d.location }),
    }
  }

  it('deleteSnapshot: the deleted id does not come back', async () => {
    const d = await synced(4)
    during(d.remote, () => d.store.deleteSnapshot({ location: d.location, snapshotId: d.ids[1]! }))
    const { here, there } = await settle(d)
    const expected = d.ids.filter((_, i) => i !== 1)
    expect(here).toEqual(expected)
    expect(there).toEqual(expected)
    d.store.close()
  })

  it('prune: the pruned ids do not come back', async () => {
    const d = await synced(5)
    during(d.remote, () => d.store.prune({ location: d.location, keepLast: 2 }))
    const { here, there } = await settle(d)
    expect(here).toEqual(d.ids.slice(3))
    expect(there).toEqual(d.ids.slice(3))
    d.store.close()
  })

  it('a read-through racing deleteSnapshot does not cache the deleted id back', async () => {
    const remote = new HookedBackend(new MemoryBackend())
    const server = new MemoryStorage()
    Object.defineProperty(server, 'backend', { value: remote.inner })
    const location = where()
    const snapshotId = newSnapshotId()
    await server.saveSnapshot({ location, snapshotId, isLatest: false, snapshot: sampleSnapshot('remote') })
    const store = new TieredStorage({ local: new MemoryBackend(), remote, retries: 0 })
    // The hook is on the snapshot's own GET (a load by id also fetches latest beside it).
    remote.beforeGet = async (key) => {
      if (!key.endsWith(`snapshot_${snapshotId}.json`)) return
      remote.beforeGet = undefined
      await store.deleteSnapshot({ location, snapshotId })
    }
    await store.loadSnapshot({ location, snapshotId }) // reads through while the delete runs
    expect(await store.hasSnapshot({ location, snapshotId })).toBe(false)
    await store.sync()
    expect(await store.hasSnapshot({ location, snapshotId })).toBe(false)
    expect(await server.hasSnapshot({ location, snapshotId })).toBe(false)
    expect(await store.listSnapshotIds({ location })).toEqual([])
    store.close()
  })

  it('deleteSession: nothing of the session comes back', async () => {
    const d = await synced(3)
    during(d.remote, () => d.store.deleteSession({ sessionId: d.location.sessionId }))
    const { here, there } = await settle(d)
    expect(here).toEqual([])
    expect(there).toEqual([])
    expect(await d.store.loadSnapshot({ location: d.location })).toBeNull()
    expect((await d.local.list(`${d.location.sessionId}/`, { limit: 10 })).entries).toEqual([])
    // Only the session's tombstone stays (a date, no data): a late create from elsewhere stays deleted.
    expect((await d.remote.inner.list(`${d.location.sessionId}/`, { limit: 10 })).entries.map((e) => e.key)).toEqual([
      `${d.location.sessionId}/scopes/tombstone.json`,
    ])
    d.store.close()
  })
})

describe('item 16: TieredStorage({ prefix }) over an HttpStorage remote', () => {
  function server() {
    const storage = new MemoryStorage({ prefix: 'tenant' })
    const handler = createSnapshotHandler({ storage, authorize: () => true, basePath: '/api' })
    const fetch = async (input: string, init: RequestInit) => handler(new Request(new URL(input, 'http://app.test'), init))
    return { storage, remote: new HttpStorage({ baseUrl: '/api', fetch, retries: 0 }) }
  }

  it('syncs: the prefix namespaces the local tier, the server decides where bytes live', async () => {
    const s = server()
    const local = new MemoryStorage()
    const store = new TieredStorage({ local, remote: s.remote, prefix: 'app', retries: 0 })
    const location = where()
    const snapshotId = newSnapshotId()
    await store.commitSnapshot({ location, snapshotId, snapshot: sampleSnapshot('prefixed') })
    expect(await store.sync()).toMatchObject({ pushed: 2, conflicts: [] })
    expect(store.status).toMatchObject({ online: true, lastError: null })
    expect((await s.storage.loadSnapshot({ location }))?.appData.tag).toBe('prefixed')
    expect(await s.storage.listSnapshotIds({ location })).toEqual([snapshotId])
    // Locally everything lives under the tiered prefix.
    expect((await local.backend.list(`app/${location.sessionId}/`, { limit: 10 })).entries).toHaveLength(2)

    // A second device with the same prefix pulls it; one without a prefix sees the same remote.
    for (const prefix of ['app', undefined]) {
      const other = new TieredStorage({ local: new MemoryStorage(), remote: s.remote, prefix, retries: 0 })
      await other.hydrate({ location })
      expect(await other.listSnapshotIds({ location })).toEqual([snapshotId])
      expect((await other.loadSnapshot({ location }))?.appData.tag).toBe('prefixed')
      other.close()
    }
    store.close()
  })

  it('a remote that refuses a request (4xx) is an error, not "offline"', async () => {
    const refusing = new MemoryBackend()
    refusing.put = async () => {
      throw new RemoteError('HTTP PUT /objects/…: 400 must follow the snapshot key layout', { status: 400 })
    }
    const store = new TieredStorage({ local: new MemoryStorage(), remote: refusing, retries: 2 })
    await store.saveSnapshot({ location: where(), snapshotId: newSnapshotId(), isLatest: false, snapshot: sampleSnapshot('x') })
    await expect(store.sync()).rejects.toMatchObject({ code: 'ERR_REMOTE', status: 400 })
    expect(store.status.online).toBe(true)
    expect(store.status.lastError).toMatchObject({ status: 400 })
    store.close()
  })
})

describe('item 17: TieredStorage options are validated', () => {
  const base = () => ({ local: new MemoryStorage(), remote: new MemoryStorage() })
  const invalid = (field: string) => expect.objectContaining({ code: 'ERR_VALIDATION', field })

  it('construction: numbers in range (timers at most 2^31-1 ms), integers where counted, booleans', () => {
    expect(() => new TieredStorage({ ...base(), autoSyncDelayMs: 2 ** 31 })).toThrow(invalid('autoSyncDelayMs'))
    expect(() => new TieredStorage({ ...base(), autoSyncDelayMs: Number.NaN })).toThrow(invalid('autoSyncDelayMs'))
    expect(() => new TieredStorage({ ...base(), concurrency: 1.5 })).toThrow(invalid('concurrency'))
    expect(() => new TieredStorage({ ...base(), retries: -1 })).toThrow(invalid('retries'))
    expect(() => new TieredStorage({ ...base(), retries: 0.5 })).toThrow(invalid('retries'))
    expect(() => new TieredStorage({ ...base(), lookbackMs: Infinity })).toThrow(invalid('lookbackMs'))
    expect(() => new TieredStorage({ ...base(), readThrough: 'yes' as never })).toThrow(invalid('readThrough'))
    expect(() => new TieredStorage({ ...base(), syncOnOnline: 1 as never })).toThrow(invalid('syncOnOnline'))
    expect(() => new TieredStorage(null as never)).toThrow(expect.objectContaining({ code: 'ERR_VALIDATION' }))
    // The largest timer delay is fine.
    new TieredStorage({ ...base(), autoSyncDelayMs: 2 ** 31 - 1 }).close()
  })

  it('sync, hydrate and flush: options are an object of the documented types, checked before any I/O', async () => {
    const local = new MemoryBackend()
    let calls = 0
    const counted = new Proxy(local, {
      get: (target, name, receiver) => {
        const value = Reflect.get(target, name, receiver)
        return typeof value === 'function' && ['get', 'put', 'list', 'delete', 'head'].includes(String(name))
          ? (...args: unknown[]) => {
              calls++
              return value.apply(target, args)
            }
          : value
      },
    })
    const store = new TieredStorage({ local: counted, remote: new MemoryStorage() })
    await new Promise((r) => setTimeout(r, 10)) // whatever the store reads when it starts
    calls = 0
    const location = where()
    await expect(store.sync(null as never)).rejects.toThrow(invalid('options'))
    await expect(store.sync('all' as never)).rejects.toThrow(invalid('options'))
    await expect(store.sync({ signal: 'stop' as never })).rejects.toThrow(invalid('signal'))
    await expect(store.sync({ onProgress: 'log' as never })).rejects.toThrow(invalid('onProgress'))
    await expect(store.sync({ full: 'yes' as never })).rejects.toThrow(invalid('full'))
    await expect(store.sync({ ifAvailable: 1 as never })).rejects.toThrow(invalid('ifAvailable'))
    await expect(store.hydrate({ location, onProgress: 5 as never })).rejects.toThrow(invalid('onProgress'))
    await expect(store.flush({ location, signal: {} as never })).rejects.toThrow(invalid('signal'))
    expect(calls).toBe(0)
    expect(store.status.lastError).toBeNull() // a bad call is the caller's, not the storage's state
    store.close()
  })
})

describe('item 18: status.pending', () => {
  it('is counted when the storage starts, without a listener', async () => {
    const local = new MemoryStorage()
    const remote = new MemoryStorage()
    const first = new TieredStorage({ local, remote })
    const location = where()
    for (let i = 0; i < 3; i++)
      await first.saveSnapshot({ location, snapshotId: newSnapshotId(), isLatest: false, snapshot: sampleSnapshot(i) })
    first.close()
    const second = new TieredStorage({ local, remote }) // the "reloaded" page
    await expect.poll(() => second.status.pending, { timeout: 1000 }).toBe(3)
    second.close()
  })

  it('is current as soon as a write or a sync resolves, with or without a listener', async () => {
    for (const listening of [false, true]) {
      const store = new TieredStorage({ local: new MemoryStorage(), remote: new MemoryStorage() })
      const heard: number[] = []
      if (listening) store.onStatus((s: TieredStatus) => heard.push(s.pending))
      await new Promise((r) => setTimeout(r, 10)) // the starting count
      const location = where()
      await store.commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot: sampleSnapshot('a') })
      expect(store.status.pending).toBe(2) // the history key and latest
      await store.saveManifest({ location, manifest: { schemaVersion: '1.0', updatedAt: new Date().toISOString() } })
      expect(store.status.pending).toBe(3)
      await store.saveManifest({ location, manifest: { schemaVersion: '1.0', updatedAt: new Date().toISOString() } })
      expect(store.status.pending).toBe(3) // the same key again
      if (listening) expect(heard.at(-1)).toBe(3)
      await store.sync()
      expect(store.status.pending).toBe(0)
      if (listening) expect(heard.at(-1)).toBe(0)
      await store.deleteSession({ sessionId: location.sessionId })
      expect(store.status.pending).toBe(1)
      store.close()
    }
  })

  it('a write during a sync stays counted after it', async () => {
    const remote = new HookedBackend(new MemoryBackend())
    const store = new TieredStorage({ local: new MemoryStorage(), remote })
    const location = where()
    await store.saveSnapshot({ location, snapshotId: newSnapshotId(), isLatest: false, snapshot: sampleSnapshot('before') })
    remote.beforeList = async () => {
      remote.beforeList = undefined
      await store.saveSnapshot({ location, snapshotId: newSnapshotId(), isLatest: false, snapshot: sampleSnapshot('during') })
    }
    await store.sync()
    expect(store.status.pending).toBe(await store.pendingCount())
    expect(store.status.pending).toBe(1)
    store.close()
  })

  it('a listener that throws breaks neither a write nor a sync', async () => {
    const store = new TieredStorage({ local: new MemoryStorage(), remote: new MemoryStorage() })
    // The storage reports a listener's error the way EventTarget does (reportError, as in
    // browsers, Deno and Bun); captured here instead of reaching the console.
    const errors: unknown[] = []
    const global = globalThis as { reportError?: (error: unknown) => void }
    const saved = global.reportError
    global.reportError = (error) => errors.push(error)
    try {
      store.onStatus(() => {
        throw new Error('listener bug')
      })
      const location = where()
      await store.commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot: sampleSnapshot('x') })
      await expect(store.sync()).resolves.toMatchObject({ pushed: 2 })
      expect(errors.length).toBeGreaterThan(0)
      expect(errors[0]).toMatchObject({ message: 'listener bug' })
    } finally {
      global.reportError = saved
      store.close()
    }
  })
})

describe('found by the model-based test: a session deletion pushed late', () => {
  it('removes the session as of when it was issued, keeping what another device wrote after it', async () => {
    const remote = new MemoryStorage()
    const A = new TieredStorage({ local: new MemoryStorage(), remote, retries: 0, name: 'a' })
    const B = new TieredStorage({ local: new MemoryStorage(), remote, retries: 0, name: 'b' })
    const location = where()
    const old = newSnapshotId()
    await A.commitSnapshot({ location, snapshotId: old, snapshot: sampleSnapshot('old') })
    await A.sync()
    await B.hydrate({ location })
    await B.deleteSession({ sessionId: location.sessionId }) // offline: pushed later
    const newer = newSnapshotId()
    await A.commitSnapshot({ location, snapshotId: newer, snapshot: sampleSnapshot('newer') })
    await A.sync()
    await B.sync()
    // The snapshot written before the deletion is gone; the one written after it, and the latest
    // that changed since B last saw it, survive.
    expect(await remote.listSnapshotIds({ location })).toEqual([newer])
    expect((await remote.loadSnapshot({ location }))?.appData.tag).toBe('newer')
    // B, opening the session again, converges on what survived (it stopped following the
    // session when it deleted it).
    await B.hydrate({ location })
    expect(await B.listSnapshotIds({ location })).toEqual([newer])
    expect((await B.loadSnapshot({ location }))?.appData.tag).toBe('newer')
    A.close()
    B.close()
  })

  it('still erases everything of the session it saw, latest and manifest included', async () => {
    const remote = new MemoryStorage()
    const A = new TieredStorage({ local: new MemoryStorage(), remote, retries: 0 })
    const location = where()
    await A.commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot: sampleSnapshot('x') })
    await A.saveManifest({ location, manifest: { schemaVersion: '1.0', updatedAt: '2020-01-01T00:00:00.000Z' } })
    await A.sync()
    // A key this device never agreed on, dated before the deletion: erased too.
    await remote.backend.put(
      `${location.sessionId}/adapter/notes.json`,
      new TextEncoder().encode('{"updatedAt":"2020-01-01T00:00:00.000Z"}'),
    )
    await A.deleteSession({ sessionId: location.sessionId })
    await A.sync()
    expect((await remote.backend.list(`${location.sessionId}/`, { limit: 10 })).entries.map((e) => e.key)).toEqual([
      `${location.sessionId}/scopes/tombstone.json`,
    ])
    A.close()
  })
})
