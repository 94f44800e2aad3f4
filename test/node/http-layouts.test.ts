// The handler's key layouts (http/layouts.ts): which session a key or a listing belongs to when
// adapter layouts are served beside the snapshot layout, and that a listing returns only what its
// request may see, whatever else shares the folder.
import { describe, expect, it } from 'vitest'
import { MemoryStorage, newSnapshotId } from 'snapshelf'
import { HttpStorage, type SnapshotAccess, createSnapshotHandler } from 'snapshelf/http'
import { langgraphLayout } from 'snapshelf/langgraph'
import { StrandsStorage, strandsLayout } from 'snapshelf/strands'

const location = { sessionId: 'langgraph', scope: 'agent', scopeId: 'a' } as const
/** What the tests store as snapshots: the handler never parses them. */
type Own = { own?: boolean }
const bytes = (text: string) => new TextEncoder().encode(text)
/** A LangGraph checkpoint key of thread `thread` (what the saver writes, keys.ts). */
const checkpointKey = (thread: string, i: number) =>
  `langgraph/${thread}/_/checkpoints/${String(i).padStart(8, '0')}-0000-6000-8000-000000000000.json`

function handlerOver(
  storage: MemoryStorage<Own>,
  authorize: (access: SnapshotAccess) => boolean,
  layouts = [strandsLayout, langgraphLayout],
) {
  const handle = createSnapshotHandler({ storage, layouts, authorize: (_r, access) => authorize(access) })
  const list = async (prefix: string, startAfter?: string) => {
    const query = new URLSearchParams({ prefix, ...(startAfter ? { startAfter } : {}) })
    const response = await handle(new Request(`http://local.test/list?${query}`))
    return {
      status: response.status,
      body: response.ok ? ((await response.json()) as { entries: { key: string }[]; truncated: boolean }) : undefined,
    }
  }
  const http = new HttpStorage<Own>({ baseUrl: 'http://local.test', fetch: (u, init) => handle(new Request(u, init)) })
  return { handle, list, http }
}

describe('createSnapshotHandler layouts', () => {
  it('a session named like an adapter folder lists only its own snapshot keys, never the adapter’s (with or without its layout)', async () => {
    const storage = new MemoryStorage<Own>()
    for (let i = 0; i < 3; i++) await storage.backend.put(checkpointKey('victim', i), bytes('{"secret":1}'))
    await storage.saveSnapshot({ location, snapshotId: newSnapshotId(), isLatest: true, snapshot: { own: true } })
    for (const layouts of [[], [langgraphLayout]]) {
      const { list, http } = handlerOver(storage, (a) => a.layout === 'snapshots' && a.sessionId === 'langgraph', layouts)
      const page = await list('langgraph/')
      expect(page.status).toBe(200)
      expect(page.body!.entries.map((e) => e.key)).toEqual(['langgraph/scopes/agent/a/snapshots/snapshot_latest.json'])
      // And the session's own API works through it: erasing it leaves the threads alone.
      await http.deleteSession({ sessionId: 'langgraph' })
      expect((await storage.backend.list('langgraph/')).entries.map((e) => e.key)).toEqual([0, 1, 2].map((i) => checkpointKey('victim', i)))
      await storage.saveSnapshot({ location, snapshotId: newSnapshotId(), isLatest: true, snapshot: { own: true } })
    }
  })

  it('a listing whose first pages hold nothing the request may see lists on, so the client’s cursor advances', async () => {
    const storage = new MemoryStorage<Own>()
    // 1,200 keys of thread `a…` sort before the session's own `langgraph/scopes/…`.
    for (let i = 0; i < 1200; i++) await storage.backend.put(checkpointKey('aaa', i), bytes('{}'))
    await storage.saveSnapshot({ location, snapshotId: newSnapshotId(), isLatest: true, snapshot: { own: true } })
    const { list, http } = handlerOver(storage, (a) => a.layout === 'snapshots')
    const page = await list('langgraph/')
    expect(page.body).toEqual({
      entries: [expect.objectContaining({ key: 'langgraph/scopes/agent/a/snapshots/snapshot_latest.json' })],
      truncated: false,
      metadataListed: true,
    })
    expect((await http.loadSnapshot({ location }))?.own).toBe(true)
  })

  it('a wide listing (StrandsStorage.list("")) returns the adapter keys of sessions authorize allows, asking once per layout and session', async () => {
    const storage = new MemoryStorage<Own>()
    const direct = new StrandsStorage({ storage })
    for (const sid of ['alice', 'bob']) {
      await direct.write(`session/${sid}/scopes/agent/a/snapshots/snapshot_latest.json`, bytes('{}'))
      await direct.write(`context/${sid}/scopes/agent/a/note`, bytes('{}'))
    }
    await storage.saveSnapshot({ location: { ...location, sessionId: 'alice' }, snapshotId: newSnapshotId(), isLatest: true, snapshot: {} })
    await storage.backend.put(checkpointKey('alice', 1), bytes('{}'))
    const asked: string[] = []
    const { http } = handlerOver(storage, (a) => {
      asked.push(`${a.layout} ${a.op} ${a.sessionId}`)
      return a.sessionId === 'alice'
    })
    expect(await new StrandsStorage({ storage: http }).list('')).toEqual([
      'context/alice/scopes/agent/a/note',
      checkpointKey('alice', 1),
      'session/alice/scopes/agent/a/snapshots/snapshot_latest.json',
    ])
    // The snapshot layout is never listed across sessions: `alice/scopes/…` is not in it.
    expect(asked.sort()).toEqual(['langgraph list alice', 'strands list alice', 'strands list bob'])
  })

  it('keys with URL specials reach the handler as keys (percent-encoded per segment) and round-trip', async () => {
    const storage = new MemoryStorage<Own>()
    const { http } = handlerOver(storage, () => true)
    const strands = new StrandsStorage({ storage: http })
    const key = 'context/s1/notes/a b?c#d%e&f+g=h.json'
    await strands.write(key, bytes('{"x":1}'))
    expect(await new StrandsStorage({ storage }).read(key)).toEqual(bytes('{"x":1}'))
    expect(await strands.list('context/s1/')).toEqual([key])
    await strands.delete(key)
    expect(await strands.read(key)).toBeNull()
  })

  it('an adapter value may be empty (compression none), proven by its Content-Digest; a snapshot key never', async () => {
    const storage = new MemoryStorage<Own>()
    const { handle } = handlerOver(storage, () => true)
    const http = new HttpStorage({ baseUrl: 'http://local.test', compression: 'none', fetch: (u, init) => handle(new Request(u, init)) })
    const strands = new StrandsStorage({ storage: http })
    await strands.write('context/s1/empty', new Uint8Array(0))
    expect(await strands.read('context/s1/empty')).toEqual(new Uint8Array(0))
    // Without a digest an empty upload could be a cut-off one: refused, whatever the key.
    for (const key of ['context/s1/other', 's1/scopes/agent/a/snapshots/snapshot_latest.json']) {
      const response = await handle(new Request(`http://local.test/objects/${key}`, { method: 'PUT', body: new Uint8Array(0) }))
      expect(response.status, key).toBe(400)
    }
    expect((await storage.backend.list('')).entries.map((e) => e.key)).toEqual(['context/s1/empty'])
  })

  it('a batch delete spanning two layouts, or two sessions of one, is a 400 before any storage I/O', async () => {
    const storage = new MemoryStorage<Own>()
    await storage.backend.put('session/s1/x.json', bytes('1'))
    await storage.backend.put('context/s2/x.json', bytes('1'))
    const { handle } = handlerOver(storage, () => true)
    for (const keys of [
      ['session/s1/x.json', 'context/s2/x.json'],
      ['session/s1/x.json', 's1/scopes/agent/a/snapshots/snapshot_latest.json'],
    ]) {
      const response = await handle(
        new Request('http://local.test/delete', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ keys }),
        }),
      )
      expect(response.status).toBe(400)
    }
    expect((await storage.backend.list('')).entries).toHaveLength(2)
  })

  it('refuses a layouts option that is not a list of key layouts, at construction', () => {
    const storage = new MemoryStorage<Own>()
    for (const layouts of [{}, [{}], [{ name: 'x y', sessionOf: () => 'a', listing: () => 'a' }], [{ ...strandsLayout, listing: 1 }]]) {
      expect(() => createSnapshotHandler({ storage, authorize: () => true, layouts } as never)).toThrow(
        expect.objectContaining({ code: 'ERR_VALIDATION', message: expect.stringMatching(/^layouts /) }),
      )
    }
  })
})
