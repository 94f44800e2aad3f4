// @vitest-environment happy-dom
import 'fake-indexeddb/auto'
import { deleteDB } from 'idb'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import {
  type Backend,
  ConflictError,
  MemoryStorage,
  RemoteError,
  type Snapshot,
  type SnapshotLocation,
  ValidationError,
  newSnapshotId,
} from 'snapshelf'
import { createSnapshotHandler, HttpStorage } from 'snapshelf/http'
import { IndexedDBStorage } from 'snapshelf/indexeddb'
import { TieredStorage } from 'snapshelf/tiered'
import { sampleSnapshot } from 'snapshelf/testing'
import { prng } from '../helpers/random.js'

// Issue 14 item 5: `evict` drops a location's local history (the bulk of its bytes) once the remote
// has confirmed every write; reads fall through to the remote. Latest, manifest and the sync state
// stay (deleting a mutable key is unconditional: another tab's write of it would be lost). Every test checks the local tier's own
// keys directly, so "dropped" and "dropped nothing" are what is stored, not what the store says.
// happy-dom gives the storage `navigator.locks` (the sync lock evict takes) and a window.

let n = 0
const unique = (tag: string) => `${tag}-${Date.now().toString(36)}-${n++}`
const where = (sessionId = unique('ev'), scopeId = 'main'): SnapshotLocation => ({ sessionId, scope: 'agent', scopeId })
const folderOf = (l: SnapshotLocation) => `${l.sessionId}/scopes/${l.scope}/${l.scopeId}/snapshots/`

/** A remote: MemoryStorage itself, or HttpStorage → createSnapshotHandler → MemoryStorage, switchable offline. */
function remoteOf(kind: 'memory' | 'http') {
  const server = new MemoryStorage()
  const network = { online: true }
  if (kind === 'memory') return { server, network, remote: server }
  const handler = createSnapshotHandler({ storage: server, authorize: () => true, basePath: '/api' })
  const fetch = async (input: string, init: RequestInit): Promise<Response> => {
    if (!network.online) throw new TypeError('Failed to fetch') // what a browser's fetch does offline
    return handler(new Request(new URL(input, 'http://app.test'), init))
  }
  return { server, network, remote: new HttpStorage({ baseUrl: '/api', fetch, retries: 0 }) }
}

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c()
})

/** A local tier, with its backend for direct inspection. */
function localOf(kind: 'memory' | 'indexeddb'): { backend: Backend; tier: MemoryStorage | IndexedDBStorage } {
  if (kind === 'memory') {
    const tier = new MemoryStorage()
    return { backend: tier.backend, tier }
  }
  const dbName = unique('evict-db')
  const tier = new IndexedDBStorage({ dbName })
  cleanups.push(async () => {
    tier.close()
    await deleteDB(dbName)
  })
  return { backend: tier.backend, tier }
}

/** Every local key, sorted (data, outbox and sync state). */
async function localKeys(backend: Backend): Promise<string[]> {
  const keys: string[] = []
  for (let startAfter: string | undefined; ; ) {
    const page = await backend.list('', { startAfter })
    keys.push(...page.entries.map((e) => e.key))
    if (!page.truncated || !page.entries.length) return keys.sort()
    startAfter = page.entries.at(-1)!.key
  }
}

const dataKeysOf = (keys: string[], l: SnapshotLocation) => keys.filter((k) => k.startsWith(folderOf(l)))
const stateKeyOf = (l: SnapshotLocation) => `.snapshelf/sync/${folderOf(l).slice(0, -1)}`

/** A location with three history snapshots, latest and a manifest. */
async function fill(store: TieredStorage, location: SnapshotLocation, tag = 'm') {
  const ids: string[] = []
  for (let i = 0; i < 3; i++) ids.push((await store.commitSnapshot({ location, snapshot: sampleSnapshot(`${tag}${i}`) })).snapshotId)
  await store.saveManifest({ location, manifest: { schemaVersion: '1', updatedAt: '2026-12-03T08:00:00.000Z' } })
  return ids
}

describe.each([
  ['memory', 'memory'],
  ['memory', 'http'],
  ['indexeddb', 'memory'],
  ['indexeddb', 'http'],
] as const)('evict: local %s, remote %s', (localKind, remoteKind) => {
  function setup() {
    const local = localOf(localKind)
    const r = remoteOf(remoteKind)
    const name = unique('evict')
    const store = new TieredStorage({ local: local.tier, remote: r.remote, name, retries: 0 })
    cleanups.push(() => store.close())
    return { ...r, local, store }
  }

  it('after a sync drops the location’s local history, keeps latest, manifest and sync state; history reads come from the remote', async () => {
    const { local, store } = setup()
    const location = where()
    const other = where(location.sessionId, 'other')
    const ids = await fill(store, location)
    await fill(store, other, 'o')
    await store.sync()
    const before = await localKeys(local.backend)
    expect(dataKeysOf(before, location)).toHaveLength(5) // 3 history, latest, manifest
    expect(before).toContain(stateKeyOf(location))
    const latest = await store.loadSnapshot({ location })
    const history = await Promise.all(ids.map((snapshotId) => store.loadSnapshot({ location, snapshotId })))

    expect(await store.evict({ location })).toEqual({ evicted: 3, folders: [folderOf(location)] })
    const after = await localKeys(local.backend)
    const kept = [`${folderOf(location)}manifest.json`, `${folderOf(location)}snapshot_latest.json`]
    expect(dataKeysOf(after, location)).toEqual(kept)
    expect(after).toContain(stateKeyOf(location))
    // The other location of the same session is untouched.
    expect(dataKeysOf(after, other)).toEqual(dataKeysOf(before, other))
    // A sync does not bring the history back (its cursor is kept), and keeps latest current.
    await store.sync()
    expect(dataKeysOf(await localKeys(local.backend), location)).toEqual(kept)

    // Read-through: the same snapshots, now from the remote (and cached again).
    expect(await store.loadSnapshot({ location })).toEqual(latest)
    for (const [i, snapshotId] of ids.entries()) expect(await store.loadSnapshot({ location, snapshotId })).toEqual(history[i])
    expect(await store.loadManifest({ location })).toEqual({ schemaVersion: '1', updatedAt: '2026-12-03T08:00:00.000Z' })
    expect(dataKeysOf(await localKeys(local.backend), location).length).toBeGreaterThan(2)
    // Listing is local-first: hydrate brings the whole history back.
    await store.hydrate({ location })
    expect(await store.listSnapshotIds({ location })).toEqual(ids)
  })

  it('refuses with ERR_CONFLICT naming what is pending, and drops nothing', async () => {
    const { local, store } = setup()
    const location = where()
    await fill(store, location)
    await store.sync()
    const { snapshotId } = await store.commitSnapshot({ location, snapshot: sampleSnapshot('late') })
    const before = await localKeys(local.backend)
    const refused = await store.evict({ location }).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(ConflictError)
    expect((refused as ConflictError).code).toBe('ERR_CONFLICT')
    expect((refused as Error).message).toContain(`snapshot_${snapshotId}.json`)
    expect((refused as Error).message).toContain('snapshot_latest.json')
    expect(await localKeys(local.backend)).toEqual(before)
    // Never synced at all: refused too.
    const fresh = where()
    await fill(store, fresh)
    await expect(store.evict({ location: fresh })).rejects.toMatchObject({ code: 'ERR_CONFLICT' })
    expect(dataKeysOf(await localKeys(local.backend), fresh)).toHaveLength(5)
  })

  it('refuses while a deletion of the session is pending', async () => {
    const { store } = setup()
    const location = where()
    await fill(store, location)
    await store.sync()
    await store.deleteSession({ sessionId: location.sessionId })
    await expect(store.evict({ location })).rejects.toMatchObject({
      code: 'ERR_CONFLICT',
      message: expect.stringContaining(location.sessionId),
    })
  })

  it('flush({ location }) pushes only that location; flush({ evict: true }) then drops it', async () => {
    const { server, local, store } = setup()
    const a = where()
    const b = where()
    const ids = await fill(store, a)
    await fill(store, b)
    const result = await store.flush({ location: a })
    expect(result.evicted).toBeUndefined()
    expect(await server.listSnapshotIds({ location: a })).toEqual(ids)
    expect(await server.listSnapshotIds({ location: b })).toEqual([])
    expect(dataKeysOf(await localKeys(local.backend), a)).toHaveLength(5)

    expect(await store.flush({ location: b, evict: true })).toMatchObject({ evicted: 3 })
    expect(await server.listSnapshotIds({ location: b })).toHaveLength(3)
    expect(dataKeysOf(await localKeys(local.backend), b)).toHaveLength(2)
    expect(await store.loadSnapshot({ location: b })).toEqual(await server.loadSnapshot({ location: b }))
  })

  it('evict({ sessionId }) drops every location of the session and nothing of another', async () => {
    const { local, store } = setup()
    const a = where()
    const b = where(a.sessionId, 'b')
    const c = where()
    for (const l of [a, b, c]) await fill(store, l)
    await store.sync()
    const result = await store.evict({ sessionId: a.sessionId })
    expect(result).toEqual({ evicted: 6, folders: [folderOf(a), folderOf(b)].sort() })
    const keys = await localKeys(local.backend)
    expect(keys.filter((k) => k.startsWith(`${a.sessionId}/`) && k.includes('/immutable_history/'))).toEqual([])
    expect(keys.filter((k) => k.startsWith(`${a.sessionId}/`))).toHaveLength(4)
    expect(dataKeysOf(keys, c)).toHaveLength(5)
    expect((await store.loadSnapshot({ location: b }))?.data).toEqual(sampleSnapshot('m2').data)
  })
})

describe('evict: offline, validation, a second tab', () => {
  it('flush({ evict: true }) offline fails with the offline error and drops nothing', async () => {
    const local = new MemoryStorage()
    const { server, network, remote } = remoteOf('http')
    const store = new TieredStorage({ local, remote, name: unique('off'), retries: 0 })
    const location = where()
    await fill(store, location)
    // `.snapshelf/tried` is the sync's own mark of what it tried to push: not data, not the outbox.
    const stored = async () => (await localKeys(local.backend)).filter((k) => k !== '.snapshelf/tried')
    const before = await stored()
    const pending = await store.pendingCount()
    network.online = false
    await expect(store.flush({ location, evict: true })).rejects.toBeInstanceOf(RemoteError)
    expect(store.status.online).toBe(false)
    expect(await stored()).toEqual(before)
    expect(await store.pendingCount()).toBe(pending)
    // Synced but offline: evict itself needs no remote and works; what it dropped is on the server.
    network.online = true
    await store.sync()
    network.online = false
    expect((await store.evict({ location })).evicted).toBe(3)
    network.online = true
    expect(await store.loadSnapshot({ location })).toEqual(await server.loadSnapshot({ location }))
    store.close()
  })

  it('rejects a bad location, a bad sessionId or both at once with ValidationError before any I/O', async () => {
    const calls: string[] = []
    const inner = new MemoryStorage().backend
    const counted = new Proxy(inner, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver)
        if (typeof value !== 'function') return value
        return (...args: unknown[]) => {
          calls.push(String(prop))
          return value.apply(target, args)
        }
      },
    })
    const store = new TieredStorage({ local: counted, remote: new MemoryStorage(), name: unique('val') })
    await new Promise((r) => setTimeout(r, 10)) // the constructor's outbox count
    calls.length = 0
    const bad: unknown[] = [
      { location: { sessionId: '../x', scope: 'agent', scopeId: 'a' } },
      { location: { sessionId: 's', scope: 'agent' } },
      { sessionId: '.hidden' },
      {},
      null,
      { location: where(), sessionId: 's1' },
      { location: where(), signal: 'soon' },
    ]
    for (const p of bad) await expect(store.evict(p as never)).rejects.toBeInstanceOf(ValidationError)
    await expect(store.flush({ location: where(), evict: 'yes' as never })).rejects.toBeInstanceOf(ValidationError)
    expect(calls).toEqual([])
    store.close()
  })

  it('a write of this storage arriving mid-evict waits, then lands and is synced', async () => {
    const { local, paused, release } = pausingLocal()
    const { server, remote } = remoteOf('memory')
    const store = new TieredStorage({ local: { backend: local }, remote, name: unique('gate') })
    const location = where()
    await fill(store, location)
    await store.sync()
    paused.armed = true // the evict's delete of the data keys stops there
    const evicting = store.evict({ location })
    await paused.reached
    const writing = store.commitSnapshot({ location, snapshot: sampleSnapshot('mid') })
    await new Promise((r) => setTimeout(r, 20))
    release()
    expect((await evicting).evicted).toBe(3)
    const { snapshotId } = await writing
    expect((await store.loadSnapshot({ location, snapshotId }))?.data).toEqual(sampleSnapshot('mid').data)
    expect(await store.pendingCount()).toBeGreaterThan(0)
    await store.sync()
    expect((await server.loadSnapshot({ location, snapshotId }))?.data).toEqual(sampleSnapshot('mid').data)
    expect((await server.loadSnapshot({ location }))?.data).toEqual(sampleSnapshot('mid').data)
    store.close()
  })

  it('a history write of another tab (same local tier) landing mid-evict is kept and synced (a new id is never among the keys listed)', async () => {
    const { local, paused, release } = pausingLocal()
    const { server, remote } = remoteOf('memory')
    const name = unique('tabs')
    const tab1 = new TieredStorage({ local: { backend: local }, remote, name })
    const tab2 = new TieredStorage({ local: { backend: local }, remote, name })
    const location = where()
    await fill(tab1, location)
    await tab1.sync()
    paused.armed = true
    const evicting = tab1.evict({ location }).catch((e: unknown) => e)
    await paused.reached
    // A new history id: not among the keys the evict listed, so it is never deleted.
    const snapshotId = newSnapshotId()
    await tab2.saveSnapshot({ location, snapshotId, isLatest: false, snapshot: sampleSnapshot('tab2') })
    release()
    expect(await evicting).toMatchObject({ evicted: 3 })
    expect(await tab1.pendingCount()).toBe(1)
    await tab1.sync()
    expect(await server.listSnapshotIds({ location })).toHaveLength(4)
    expect((await server.loadSnapshot({ location, snapshotId }))?.data).toEqual(sampleSnapshot('tab2').data)
    tab1.close()
    tab2.close()
  })
})

describe('evict: a latest written by another tab mid-evict', () => {
  // Another tab's writes bypass this storage's write gate. Evicting latest too lost such a write
  // (an unconditional delete after the listing): this test was an expected failure then. Evict now
  // drops history only, so latest is never deleted.
  it('survives and syncs', async () => {
    const { local, paused, release } = pausingLocal()
    const { server, remote } = remoteOf('memory')
    const name = unique('tabs-latest')
    const tab1 = new TieredStorage({ local: { backend: local }, remote, name })
    const tab2 = new TieredStorage({ local: { backend: local }, remote, name })
    const location = where()
    await fill(tab1, location)
    await tab1.sync()
    paused.armed = true
    const evicting = tab1.evict({ location }).catch((e: unknown) => e)
    await paused.reached
    await tab2.updateLatest({ location, mutate: () => sampleSnapshot('tab2 latest') })
    release()
    expect(await evicting).toMatchObject({ evicted: 3 })
    await tab1.sync()
    expect((await server.loadSnapshot({ location }))?.data).toEqual(sampleSnapshot('tab2 latest').data)
    tab1.close()
    tab2.close()
  })
})

/** A memory backend whose first `delete` of data keys, once armed, waits for `release()`. */
function pausingLocal() {
  const inner = new MemoryStorage().backend
  let release!: () => void
  let reachedResolve!: () => void
  const paused = {
    armed: false,
    reached: new Promise<void>((r) => {
      reachedResolve = r
    }),
  }
  const gate = new Promise<void>((r) => {
    release = r
  })
  const local = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver)
      if (prop !== 'delete') return typeof value === 'function' ? value.bind(target) : value
      return async (keys: string[], options?: unknown) => {
        if (paused.armed && keys.some((k) => !k.startsWith('.snapshelf/'))) {
          paused.armed = false
          reachedResolve()
          await gate
        }
        return value.call(target, keys, options)
      }
    },
  })
  return { local, paused, release }
}

/** `backend` with every call delayed by 0–2 ms (or a microtask), as `random` decides: interleavings. */
function jittered(backend: Backend, random: () => number): Backend {
  return new Proxy(backend, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver)
      if (typeof value !== 'function') return value
      if (!['get', 'head', 'put', 'delete', 'list'].includes(String(prop))) return value.bind(target)
      return async (...args: unknown[]) => {
        const r = random()
        await (r < 0.3 ? Promise.resolve() : new Promise((done) => setTimeout(done, Math.floor(r * 3))))
        return value.apply(target, args)
      }
    },
  })
}

describe.each(['memory', 'indexeddb'] as const)('evict racing writes and syncs (local %s, seeded)', (localKind) => {
  const seeds = [1, 2, 3, 5, 8, 13, 21, 34]
  const totals = { evicted: 0, refused: 0 }
  // The seeds must exercise both outcomes, or the model checks nothing about eviction.
  afterAll(() => {
    console.log(`${localKind}: ${totals.evicted} evictions dropped data, ${totals.refused} refused`)
    expect(totals.evicted).toBeGreaterThan(0)
    expect(totals.refused).toBeGreaterThan(0)
  })
  it.each(seeds)('seed %i: after a final sync the remote holds every write', async (seed) => {
    const random = prng(seed)
    const local = localOf(localKind)
    const server = new MemoryStorage()
    const store = new TieredStorage<Snapshot>({
      local: { backend: jittered(local.backend, random) },
      remote: { backend: jittered(server.backend, random) },
      name: unique(`race-${seed}`),
      retries: 0,
    })
    cleanups.push(() => store.close())
    const locations = [where(), where()]
    // The model: every history snapshot written, and every counter appended to latest (each
    // append is a compare-and-swap on what latest holds: a lost update would drop a counter).
    const history = new Map<string, { location: SnapshotLocation; text: string }>()
    const appended = new Map<SnapshotLocation, number[]>(locations.map((l) => [l, []]))
    const inFlight: Promise<unknown>[] = []
    const outcomes = { evicted: 0, refused: 0 }
    const log: string[] = []
    let counter = 0
    try {
      for (let step = 0; step < 40; step++) {
        const location = locations[Math.floor(random() * locations.length)]!
        const r = random()
        let op: Promise<unknown>
        if (r < 0.35) {
          const text = `h${step}`
          const snapshotId = newSnapshotId()
          history.set(snapshotId, { location, text })
          log.push(`history ${location.sessionId} ${snapshotId}`)
          op = store.saveSnapshot({ location, snapshotId, isLatest: false, snapshot: sampleSnapshot(text) })
        } else if (r < 0.6) {
          const value = counter++
          log.push(`append ${location.sessionId} ${value}`)
          op = store
            .updateLatest({
              location,
              maxAttempts: 100,
              mutate: (current) => {
                const base = current ?? sampleSnapshot('latest')
                return { ...base, data: { ...base.data, counters: [...((base.data.counters as number[]) ?? []), value] } }
              },
            })
            .then((result) => {
              if (!result.committed) throw new Error(`append ${value} not committed`)
              appended.get(location)!.push(value)
            })
        } else if (r < 0.8) {
          log.push(`evict ${location.sessionId}`)
          op = store.evict(random() < 0.5 ? { location } : { sessionId: location.sessionId }).then(
            (result) => {
              if (result.evicted) outcomes.evicted++
            },
            (e: unknown) => {
              // Refusing is allowed (something pending); anything else is a failure.
              if (!(e instanceof ConflictError)) throw e
              outcomes.refused++
            },
          )
        } else if (r < 0.9) {
          log.push(`flush+evict ${location.sessionId}`)
          op = store.flush({ location, evict: true }).then(
            (result) => {
              if (result.evicted) outcomes.evicted++
            },
            (e: unknown) => {
              if (!(e instanceof ConflictError)) throw e
              outcomes.refused++
            },
          )
        } else {
          log.push('sync')
          op = store.sync()
        }
        inFlight.push(op)
        // Sometimes wait for everything in flight, sometimes let operations pile up.
        if (random() < 0.3) await Promise.all(inFlight.splice(0))
      }
      await Promise.all(inFlight.splice(0))
      await store.sync()
      for (const [snapshotId, { location, text }] of history) {
        const remote = await server.loadSnapshot({ location, snapshotId })
        expect(remote?.data, `history ${snapshotId}`).toEqual(sampleSnapshot(text).data)
      }
      for (const [location, values] of appended) {
        if (!values.length) continue
        const remote = await server.loadSnapshot({ location })
        expect([...((remote?.data.counters as number[]) ?? [])].sort((x, y) => x - y)).toEqual([...values].sort((x, y) => x - y))
        // And this device reads the same latest (from its cache or through to the remote).
        expect(await store.loadSnapshot({ location })).toEqual(remote)
      }
      expect(await store.pendingCount()).toBe(0)
      totals.evicted += outcomes.evicted
      totals.refused += outcomes.refused
    } catch (error) {
      throw new Error(`seed ${seed} failed (replay with it.each([${seed}])): ${String(error)}\n${log.join('\n')}`, { cause: error })
    }
  })
})
