import { describe, expect, it } from 'vitest'
import { MemoryStorage } from 'snapshelf'
import { GenkitSessionStore, genkitLayout } from 'snapshelf/genkit'
import { HttpStorage, createSnapshotHandler } from 'snapshelf/http'

/** A store over HttpStorage whose requests go straight into a handler over `server` serving genkitLayout. */
function overHttp(server: MemoryStorage, authorize: Parameters<typeof createSnapshotHandler>[0]['authorize'], layouts = [genkitLayout]) {
  const handle = createSnapshotHandler({ storage: server, authorize, layouts })
  return new HttpStorage({ baseUrl: 'http://local.test/', fetch: (u, init) => handle(new Request(u, init)) })
}

const turn = (sessionId: string) => () => ({ sessionId, createdAt: new Date().toISOString(), status: 'completed' as const })

describe('GenkitSessionStore over HttpStorage → createSnapshotHandler (genkitLayout) → MemoryStorage', () => {
  it('saves and resolves a session through the handler, every key authorized as its namespace', async () => {
    const asked = new Set<string>()
    const http = overHttp(new MemoryStorage(), (_r, { sessionId, op, layout }) => asked.add(`${layout} ${op} ${sessionId}`).size > 0)
    const store = new GenkitSessionStore({ storage: http })
    const id = await store.saveSnapshot(undefined, turn('web'))
    expect((await store.getSnapshot({ sessionId: 'web' }))?.snapshotId).toBe(id)
    expect((await store.getSnapshot({ snapshotId: id! }))?.sessionId).toBe('web')
    expect(new Set([...asked].map((a) => a.replace(/ (read|write|list|delete) /, ' * ')))).toEqual(new Set(['genkit * global']))
  })

  it("a tenant's namespace is its own: another tenant is refused (403) and cannot read by snapshot id", async () => {
    const server = new MemoryStorage()
    // The tenant travels as a header the app's authorize reads; here the fetch sets it per store.
    const store = (tenant: string) => {
      const handle = createSnapshotHandler({
        storage: server,
        layouts: [genkitLayout],
        authorize: (req, { sessionId }) => req.headers.get('x-tenant') === sessionId,
      })
      return new GenkitSessionStore({
        storage: new HttpStorage({
          baseUrl: 'http://local.test/',
          headers: { 'x-tenant': tenant },
          fetch: (u, i) => handle(new Request(u, i)),
        }),
        namespace: (options) => String(options?.context?.tenant),
      })
    }
    const alice = store('alice')
    const id = await alice.saveSnapshot(undefined, turn('chat'), { context: { tenant: 'alice' } })
    expect((await alice.getSnapshot({ snapshotId: id!, context: { tenant: 'alice' } }))?.sessionId).toBe('chat')
    const bob = store('bob')
    await expect(bob.getSnapshot({ snapshotId: id!, context: { tenant: 'alice' } })).rejects.toThrow(/403|forbidden/i)
    expect(await bob.getSnapshot({ sessionId: 'chat', context: { tenant: 'bob' } })).toBeUndefined()
  })

  it('a handler without genkitLayout refuses the adapter keys with 400 before any storage I/O', async () => {
    const server = new MemoryStorage()
    const store = new GenkitSessionStore({ storage: overHttp(server, () => true, []) })
    await expect(store.saveSnapshot(undefined, turn('web'))).rejects.toThrow(/key layout/)
    expect((await server.backend.list('')).entries).toEqual([])
  })
})
