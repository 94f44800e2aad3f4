import { describe, expect, it } from 'vitest'
import { MemoryBackend, MemoryStorage, RemoteError, newSnapshotId, type Backend, type SnapshotLocation } from 'snapshelf'
import { createSnapshotHandler, HttpStorage } from 'snapshelf/http'
import { TieredStorage } from 'snapshelf/tiered'
import { sampleSnapshot } from 'snapshelf/testing'

// Issue 17 item 4: "Sync now" while offline fired about 49 failing requests (every worker of the
// sync's pool sent one, and each was retried by the sync on top of the HTTP client's own retries).
// A sync stops at the first request that gets no answer, and reports offline.

let n = 0
const where = (): SnapshotLocation => ({ sessionId: `off-${Date.now().toString(36)}-${n++}`, scope: 'agent', scopeId: 'main' })

/** An HTTP remote (HttpStorage -> handler -> memory) whose fetch can be switched off, counting requests. */
function switchableRemote(retries: number) {
  const server = new MemoryStorage()
  const handler = createSnapshotHandler({ storage: server, authorize: () => true, basePath: '/api' })
  const network = { online: true, requests: 0 }
  const fetch = async (input: string, init: RequestInit): Promise<Response> => {
    network.requests++
    // What a browser's fetch does offline.
    if (!network.online) throw new TypeError('Failed to fetch')
    return handler(new Request(new URL(input, 'http://app.test'), init))
  }
  return { server, network, remote: new HttpStorage({ baseUrl: '/api', fetch, retries }) }
}

/** A device with snapshots in `sessions` locations, 25 each, written while offline. */
async function offlineDevice(store: TieredStorage, sessions: number) {
  const locations = Array.from({ length: sessions }, where)
  for (const location of locations)
    for (let i = 0; i < 25; i++) await store.commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot: sampleSnapshot(`m${i}`) })
  return locations
}

describe('sync while offline (issue 17 item 4)', () => {
  it('sends one request (no retry by the client), rejects with a RemoteError and reports offline; online again, everything syncs', async () => {
    const { server, network, remote } = switchableRemote(0)
    const store = new TieredStorage({ local: new MemoryStorage(), remote, concurrency: 16 })
    network.online = false
    const locations = await offlineDevice(store, 2)
    const pending = await store.pendingCount()
    expect(pending).toBe(2 * 26) // 25 history ids and a latest per location
    network.requests = 0
    await expect(store.sync()).rejects.toBeInstanceOf(RemoteError)
    expect(network.requests).toBe(1)
    expect(store.status.online).toBe(false)
    expect(store.status.lastError).toBeInstanceOf(RemoteError)
    expect(await store.pendingCount()).toBe(pending)

    network.online = true
    await store.sync()
    expect(store.status.online).toBe(true)
    expect(await store.pendingCount()).toBe(0)
    for (const location of locations) expect(await server.listSnapshotIds({ location })).toHaveLength(25)
    store.close()
  })

  it("the HTTP client's own retries are the only ones: retries 2 is three requests, whatever the sync's retries", async () => {
    const { network, remote } = switchableRemote(2)
    const store = new TieredStorage({ local: new MemoryStorage(), remote, retries: 3 })
    network.online = false
    await offlineDevice(store, 2)
    network.requests = 0
    await expect(store.sync()).rejects.toBeInstanceOf(RemoteError)
    expect(network.requests).toBe(3)
    expect(store.status.online).toBe(false)
    store.close()
  })

  it('a queued session deletion offline is one request too', async () => {
    const { network, remote } = switchableRemote(0)
    const store = new TieredStorage({ local: new MemoryStorage(), remote })
    network.online = false
    const [a, b] = await offlineDevice(store, 2)
    await store.deleteSession({ sessionId: a!.sessionId })
    await store.deleteSession({ sessionId: b!.sessionId })
    network.requests = 0
    await expect(store.sync()).rejects.toBeInstanceOf(RemoteError)
    expect(network.requests).toBe(1)
    store.close()
  })

  it('a busy remote (503) is still retried by the sync, and the sync then succeeds', async () => {
    const inner = new MemoryBackend()
    let busy = 2
    let calls = 0
    const remote: Backend = {
      get: (k, o) => answer(() => inner.get(k, o)),
      head: (k, o) => answer(() => inner.head(k, o)),
      put: (k, b, o) => answer(() => inner.put(k, b, o)),
      delete: (k, o) => answer(() => inner.delete(k, o)),
      list: (p, o) => answer(() => inner.list(p, o)),
    }
    async function answer<R>(op: () => Promise<R>): Promise<R> {
      calls++
      if (busy > 0) {
        busy--
        throw new RemoteError('503 (injected)', { status: 503 })
      }
      return op()
    }
    const store = new TieredStorage({ local: new MemoryStorage(), remote, retries: 3 })
    const [location] = await offlineDevice(store, 1)
    await store.sync()
    expect(calls).toBeGreaterThan(2)
    expect(await store.pendingCount()).toBe(0)
    expect((await inner.list(`${location!.sessionId}/`)).entries.length).toBe(26)
    store.close()
  })
})
