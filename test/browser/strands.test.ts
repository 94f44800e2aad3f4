import { expect, it } from 'vitest'
import { MemoryBackend, RemoteError, type Backend } from 'snapshelf'
import { IndexedDBStorage } from 'snapshelf/indexeddb'
import { StrandsStorage } from 'snapshelf/strands'
import { TieredStorage } from 'snapshelf/tiered'
import { converse, expectRestored, strandsAgent } from '../helpers/strands-agent.js'
import { runDifferential, seedFrom } from '../helpers/strands-differential.js'
import { uniqueDbName } from './indexeddb-cases.js'

// StrandsStorage in real Chromium (vitest browser mode): a real Strands Agent keeps its session in
// IndexedDB and a new Agent after a "reload" (new storage objects, same database) restores it; the
// differential test against Strands' InMemoryStorage runs on IndexedDB; and local-first: the Agent
// works offline on TieredStorage(IndexedDB -> remote) and its session reaches the remote on sync.

const sessionId = () => `trip-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`

it('runs in Chromium', () => {
  expect(navigator.userAgent).toContain('Chrome')
  expect(typeof indexedDB.databases).toBe('function')
})

it('a Strands Agent saves through StrandsStorage over IndexedDBStorage; after a reload a new Agent restores it', async () => {
  const dbName = uniqueDbName()
  const sid = sessionId()
  const first = new IndexedDBStorage({ dbName })
  const left = await converse(strandsAgent(new StrandsStorage({ storage: first }), sid))
  first.close()
  const second = new IndexedDBStorage({ dbName })
  await expectRestored(new StrandsStorage({ storage: second }), sid, left)
  // IndexedDB outlives the tab: Strands is told so (no `ephemeral` marker), and keeps the stash in it.
  expect(Symbol.for('strands.storage.ephemeral') in new StrandsStorage({ storage: second })).toBe(false)
  second.close()
  await new Promise((resolve) => {
    indexedDB.deleteDatabase(dbName).onsuccess = resolve
  })
})

it('behaves as Strands InMemoryStorage on IndexedDB (differential; seed printed on failure)', async () => {
  const storage = new IndexedDBStorage({ dbName: uniqueDbName() })
  await runDifferential({ seed: seedFrom(undefined), steps: 300, ours: new StrandsStorage({ storage }), label: 'indexeddb (Chromium)' })
  storage.close()
})

/** A remote that fails as an unreachable server does while `offline` (in front of a real memory backend). */
function switchableRemote(): { backend: Backend; state: { offline: boolean } } {
  const inner = new MemoryBackend()
  const state = { offline: true }
  const guard =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> =>
      state.offline ? Promise.reject(new RemoteError('network error (offline)')) : call(...args)
  const backend: Backend = {
    get: guard((key, o) => inner.get(key, o)),
    head: guard((key, o) => inner.head(key, o)),
    put: guard((key, body, o) => inner.put(key, body, o)),
    delete: guard((keys, o) => inner.delete(keys, o)),
    list: guard((prefix, o) => inner.list(prefix, o)),
  }
  return { backend, state }
}

it('local-first: offline on TieredStorage(IndexedDB -> remote) the Agent saves and restores; sync() brings every key to the remote', async () => {
  const dbName = uniqueDbName()
  const remote = switchableRemote()
  const tiered = () => new TieredStorage({ local: new IndexedDBStorage({ dbName }), remote: remote.backend, name: dbName, retries: 0 })
  const sid = sessionId()
  const device = tiered()
  const storage = new StrandsStorage({ storage: device })
  const left = await converse(strandsAgent(storage, sid))
  expect(await device.pendingCount()).toBeGreaterThan(4)
  await expect(device.sync()).rejects.toMatchObject({ code: 'ERR_REMOTE' })
  // Still offline, after a reload: the local tier has everything.
  await expectRestored(new StrandsStorage({ storage: tiered() }), sid, left)

  remote.state.offline = false
  await device.sync()
  expect(await device.pendingCount()).toBe(0)
  const onRemote = new StrandsStorage({ storage: { backend: remote.backend, prefix: '' } })
  expect(await onRemote.list('')).toEqual(await storage.list(''))
  for (const key of await storage.list('')) expect(await onRemote.read(key)).toEqual(await storage.read(key))
  // The remote alone (a server-side agent, say) restores the whole session, stash included.
  await expectRestored(onRemote, sid, left)
  device.close()
})
