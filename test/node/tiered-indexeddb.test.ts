// @vitest-environment happy-dom
import 'fake-indexeddb/auto'
import { deleteDB } from 'idb'
import { describe, expect, it } from 'vitest'
import { MemoryStorage, newSnapshotId, type SnapshotLocation } from 'snapshelf'
import { createSnapshotHandler, HttpStorage } from 'snapshelf/http'
import { IndexedDBStorage } from 'snapshelf/indexeddb'
import { TieredStorage, type TieredStatus } from 'snapshelf/tiered'
import { runContractSuite, sampleSnapshot } from 'snapshelf/testing'

// TieredStorage(IndexedDB → HttpStorage → createSnapshotHandler → memory): the browser pairing,
// in happy-dom (BroadcastChannel, navigator.locks, CompressionStream) with fake-indexeddb. The
// server is the real handler; "offline" is a fetch that fails the way a dropped network does.

let n = 0
const uniqueName = () => `tiered-${Date.now().toString(36)}-${n++}`

function server() {
  const storage = new MemoryStorage()
  const handler = createSnapshotHandler({ storage, authorize: (req) => req.headers.get('authorization') === 'Bearer t', basePath: '/api' })
  const state = { offline: false, requests: 0 }
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    state.requests++
    if (state.offline) throw new TypeError('Failed to fetch')
    return handler(new Request(new URL(String(input), 'http://app.test'), init))
  }
  const remote = () => new HttpStorage({ baseUrl: '/api', fetch, headers: { authorization: 'Bearer t' }, retries: 0 })
  return { storage, state, remote }
}

function device(s: ReturnType<typeof server>, dbName = uniqueName()) {
  const local = new IndexedDBStorage({ dbName })
  const store = new TieredStorage({ local, remote: s.remote(), name: dbName, retries: 0, syncOnOnline: true })
  return {
    store,
    local,
    dbName,
    close: () => {
      store.close()
      local.close()
    },
  }
}

runContractSuite(it, {
  name: 'TieredStorage(IndexedDB → Http → handler → memory)',
  create: async (options) => {
    const dbName = uniqueName()
    const local = new IndexedDBStorage({ dbName })
    const store = new TieredStorage({ local, remote: server().remote(), name: dbName, ...options })
    return {
      store,
      cleanup: async () => {
        store.close()
        local.close()
        await deleteDB(dbName)
      },
    }
  },
})

const where = (): SnapshotLocation => ({ sessionId: uniqueName(), scope: 'agent', scopeId: 'main' })

describe('TieredStorage(IndexedDB → Http) sync', () => {
  it('the outbox survives a reload: offline writes, new instances on the same database, sync on `online`', async () => {
    const s = server()
    s.state.offline = true
    const first = device(s)
    const location = where()
    const ids = Array.from({ length: 12 }, () => newSnapshotId())
    for (const [i, id] of ids.entries()) await first.store.commitSnapshot({ location, snapshotId: id, snapshot: sampleSnapshot(i) })
    await expect(first.store.sync()).rejects.toMatchObject({ code: 'ERR_REMOTE' })
    expect(first.store.status.online).toBe(false)
    first.close()

    const second = device(s, first.dbName) // the "reloaded" page
    expect(await second.store.pendingCount()).toBe(13)
    expect(await second.store.listSnapshotIds({ location })).toEqual(ids)
    const statuses: TieredStatus[] = []
    second.store.onStatus((st) => statuses.push(st))
    s.state.offline = false
    window.dispatchEvent(new Event('online'))
    await expect.poll(() => statuses.at(-1)?.pending, { timeout: 10_000 }).toBe(0)
    await expect.poll(() => statuses.at(-1)?.syncing, { timeout: 10_000 }).toBe(false)
    expect(statuses.at(-1)?.lastSyncAt).toBeInstanceOf(Date)
    expect(await s.storage.listSnapshotIds({ location })).toEqual(ids)
    expect((await s.storage.loadSnapshot({ location }))?.appData.tag).toBe('11')
    // Stored bytes on the server are exactly the IndexedDB bytes (no re-encoding on the way).
    for (const id of ids) {
      const key = `${location.sessionId}/scopes/agent/main/snapshots/immutable_history/snapshot_${id}.json`
      expect((await s.storage.backend.get(key))!.body).toEqual((await second.local.backend.get(key))!.body)
    }
    second.close()
    await deleteDB(first.dbName)
  })

  it('two devices (two databases, one server) converge; a third hydrates everything', async () => {
    const s = server()
    const A = device(s)
    const B = device(s)
    const location = where()
    s.state.offline = true
    const ids: string[] = []
    for (let i = 0; i < 8; i++) {
      for (const d of [A, B]) {
        const id = newSnapshotId()
        ids.push(id)
        await d.store.commitSnapshot({ location, snapshotId: id, snapshot: sampleSnapshot(`${d === A ? 'a' : 'b'}${i}`) })
      }
    }
    s.state.offline = false
    await Promise.all([A.store.sync(), B.store.sync()])
    await Promise.all([A.store.sync(), B.store.sync()])
    ids.sort()
    expect(await s.storage.listSnapshotIds({ location })).toEqual(ids)
    const latest = (await s.storage.loadSnapshot({ location }))?.appData.tag
    expect(['a7', 'b7']).toContain(latest)
    for (const d of [A, B]) {
      expect(await d.store.listSnapshotIds({ location })).toEqual(ids)
      expect((await d.store.loadSnapshot({ location }))?.appData.tag).toBe(latest)
      expect(await d.store.sync()).toEqual({ pushed: 0, pulled: 0, conflicts: [] })
    }
    const C = device(s)
    expect(await C.store.hydrate({ location })).toMatchObject({ pulled: ids.length + 1 })
    expect(await C.store.listSnapshotIds({ location })).toEqual(ids)
    for (const d of [A, B, C]) d.close()
    for (const d of [A, B, C]) await deleteDB(d.dbName)
  })
})
