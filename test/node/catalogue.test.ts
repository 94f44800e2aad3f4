import { describe, expect, it } from 'vitest'
import { type Backend, MemoryBackend, MemoryStorage, BackendSnapshotStore, newSnapshotId } from 'snapshelf'
import { sampleSnapshot } from 'snapshelf/testing'
import { HttpStorage, createSnapshotHandler } from 'snapshelf/http'
import { S3Backend, S3Storage } from 'snapshelf/s3'
import { TieredStorage } from 'snapshelf/tiered'
import { newestFirst } from '../../src/core/catalogue.js'
import { registerCatalogueCases } from '../helpers/catalogue-cases.js'
import { countingFetch, describeS3, s3Options, uniquePrefix, wipePrefix } from '../helpers/s3.js'

// The session catalogue (issue 14): listSessions / deleteSessions on every Node-side tier.

describe('MemoryStorage catalogue', () => {
  registerCatalogueCases({
    name: 'memory',
    create: async () => {
      const store = new MemoryStorage()
      return { store, backend: store.backend, root: '' }
    },
  })
  registerCatalogueCases({
    name: 'memory with prefix',
    create: async () => {
      const store = new MemoryStorage({ prefix: 'prod/eu' })
      return { store, backend: store.backend, root: 'prod/eu/' }
    },
  })
})

describe('HttpStorage catalogue (through createSnapshotHandler)', () => {
  registerCatalogueCases({
    name: 'http',
    create: async () => {
      const server = new MemoryStorage({ prefix: 'srv' })
      const handle = createSnapshotHandler({ storage: server, authorize: () => true, basePath: '/api' })
      const store = new HttpStorage({ baseUrl: 'https://h.test/api', fetch: (input, init) => handle(new Request(input, init)) })
      return { store, backend: server.backend, root: 'srv/' }
    },
  })

  /** A server with alice's and bob's sessions; `authorize` lets each token list its own prefix. */
  async function twoUsers() {
    const server = new MemoryStorage()
    for (const id of ['alice-1', 'bob-1', 'alice-2', 'bob-2', 'bob-3', 'alice-3', 'shared']) {
      await server.commitSnapshot({ location: location(id), snapshot: sampleSnapshot(id) })
    }
    const asked: string[] = []
    const handle = createSnapshotHandler({
      storage: server,
      authorize: (request, { sessionId, op, layout }) => {
        const user = /^Bearer (alice|bob)$/.exec(request.headers.get('authorization') ?? '')?.[1]
        if (!user) throw new Error('no user')
        asked.push(`${user}:${op}:${layout}:${sessionId}`)
        return sessionId.startsWith(`${user}-`)
      },
    })
    const client = (user: string) =>
      new HttpStorage({
        baseUrl: 'https://h.test',
        headers: { authorization: `Bearer ${user}` },
        fetch: (input, init) => handle(new Request(input, init)),
      })
    return { server, handle, asked, client }
  }

  it('two users: each lists only its own sessions, authorize asked once per session, pages never empty while more follow', async () => {
    const { asked, client, handle } = await twoUsers()
    const alice = client('alice')
    const bob = client('bob')
    expect((await alice.listSessions()).items.map((i) => i.sessionId)).toEqual(['alice-1', 'alice-2', 'alice-3'])
    expect(asked.sort()).toEqual(
      ['alice-1', 'alice-2', 'alice-3', 'bob-1', 'bob-2', 'bob-3', 'shared'].map((id) => `alice:list:snapshots:${id}`),
    )
    expect((await bob.listSessions()).items.map((i) => i.sessionId)).toEqual(['bob-1', 'bob-2', 'bob-3'])
    // Pages of one: bob's sessions sit after alice's, which the server lists past.
    const pages: string[][] = []
    let startAfter: string | undefined
    do {
      const page = await bob.listSessions({ limit: 1, startAfter })
      pages.push(page.items.map((i) => i.sessionId))
      startAfter = page.nextStartAfter
    } while (startAfter)
    expect(pages.slice(0, 3)).toEqual([['bob-1'], ['bob-2'], ['bob-3']])
    expect(pages.flat()).toEqual(['bob-1', 'bob-2', 'bob-3'])
    // Times and sizes cross the wire.
    const [first] = (await alice.listSessions({ limit: 1 })).items
    expect(first!.updatedAt).toBeInstanceOf(Date)
    expect(first!.storedBytes).toBeGreaterThan(0)
    // No user: 401, and the client's typed error.
    expect((await handle(new Request('https://h.test/sessions'))).status).toBe(401)
    await expect(
      new HttpStorage({ baseUrl: 'https://h.test', fetch: (i, o) => handle(new Request(i, o)) }).listSessions(),
    ).rejects.toMatchObject({
      code: 'ERR_AUTH',
      status: 401,
    })
  })

  it("deleteSessions over HTTP deletes only the caller's own old sessions", async () => {
    const { server, client } = await twoUsers()
    const done = await client('alice').deleteSessions({ updatedBefore: new Date(Date.now() + 60_000) })
    expect(done).toEqual({ deleted: 3, scanned: 3 })
    expect((await server.listSessions()).items.map((i) => i.sessionId)).toEqual(['bob-1', 'bob-2', 'bob-3', 'shared'])
  })

  it('a bad query is a 400 before any storage I/O, and a wrong method a 405', async () => {
    const server = cappedBackend(1000)
    const handle = createSnapshotHandler({ storage: new BackendSnapshotStore({ backend: server }), authorize: () => true })
    for (const query of [
      'limit=0',
      'limit=1001',
      'limit=1e3',
      'limit=0x10',
      'startAfter=..',
      'startAfter=a%2Fb',
      'updatedBefore=yesterday',
    ]) {
      const res = await handle(new Request(`https://h.test/sessions?${query}`))
      expect(res.status, query).toBe(400)
    }
    expect((await handle(new Request('https://h.test/sessions', { method: 'POST' }))).status).toBe(405)
    expect(server.lists).toEqual([])
    expect((await handle(new Request('https://h.test/sessions?updatedBefore=2026-01-01T00:00:00Z&limit=5'))).status).toBe(200)
  })

  it('HttpStorage refuses an answer that is not the handler’s', async () => {
    for (const body of [
      '<html>',
      '{"items":[{"sessionId":"../x","updatedAt":null}]}',
      '{"items":[{"sessionId":"a","updatedAt":5}]}',
      '{"items":[{"sessionId":"a","updatedAt":"nope"}]}',
      '{"items":[],"nextStartAfter":"a/b"}',
    ]) {
      const store = new HttpStorage({ baseUrl: 'https://h.test', fetch: async () => new Response(body, { status: 200 }) })
      await expect(store.listSessions(), body).rejects.toMatchObject({ code: 'ERR_REMOTE' })
    }
  })
})

describe('TieredStorage catalogue (this device: the local tier)', () => {
  registerCatalogueCases({
    name: 'tiered',
    create: async () => {
      const local = new MemoryStorage()
      const store = new TieredStorage({ local, remote: new MemoryStorage() })
      return { store, backend: local.backend, root: '', cleanup: async () => store.close() }
    },
  })

  it('lists what this device holds, offline, without asking the remote', async () => {
    const remote = cappedBackend(1000)
    const local = new MemoryStorage()
    const store = new TieredStorage({ local, remote })
    await store.commitSnapshot({ location: location('here'), snapshot: sampleSnapshot(1) })
    // Another device's session, only on the remote.
    await new BackendSnapshotStore({ backend: remote }).commitSnapshot({ location: location('there'), snapshot: sampleSnapshot(2) })
    remote.lists.length = 0
    expect((await store.listSessions()).items.map((i) => i.sessionId)).toEqual(['here'])
    expect(remote.lists).toEqual([])
    // A session deleted here (not yet pushed) is gone from this device's catalogue at once.
    await store.deleteSession({ sessionId: 'here' })
    expect((await store.listSessions()).items).toEqual([])
    // Pushed, it leaves only its tombstone on the remote, which is no session either.
    await store.sync()
    expect((await remote.list('here/')).entries.map((e) => e.key)).toEqual(['here/scopes/tombstone.json'])
    const remoteStore = new BackendSnapshotStore({ backend: remote })
    expect((await remoteStore.listSessions()).items.map((i) => i.sessionId)).toEqual(['there'])
    expect((await store.discover()).items.map((i) => i.sessionId)).toEqual(['there'])
    // A deleted history id's tombstone dates its session but does not make one.
    await remote.put('there/scopes/agent/main/snapshots/tombstones/snapshot_x.json', new Uint8Array([1]))
    await remote.put('ghost/scopes/agent/main/snapshots/tombstones/snapshot_x.json', new Uint8Array([1]))
    expect((await remoteStore.listSessions()).items.map((i) => i.sessionId)).toEqual(['there'])
    store.close()
  })
})

describe("newestFirst (order 'recent') over many pages", () => {
  it('keeps the newest `limit` of 2,500 sessions across three pages, unknown times last, ties in key order', async () => {
    // Times from a seeded shuffle; every 7th session has no time.
    let seed = 7
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed / 2 ** 31
    }
    const all = Array.from({ length: 2500 }, (_, i) => ({
      sessionId: `s${String(i).padStart(4, '0')}`,
      updatedAt: i % 7 === 3 ? null : new Date(1_700_000_000_000 + Math.floor(rand() * 500) * 1000),
    }))
    const asked: { startAfter?: string; limit: number }[] = []
    const pageOf = async (q: { startAfter?: string; limit: number }) => {
      asked.push({ startAfter: q.startAfter, limit: q.limit })
      const from = q.startAfter === undefined ? 0 : all.findIndex((s) => s.sessionId === q.startAfter) + 1
      const items = all.slice(from, from + q.limit)
      return from + q.limit < all.length ? { items, nextStartAfter: items.at(-1)!.sessionId } : { items }
    }
    const time = (s: (typeof all)[number]) => s.updatedAt?.getTime() ?? -Infinity
    for (const limit of [1, 10, 1000]) {
      asked.length = 0
      const { items, nextStartAfter } = await newestFirst(pageOf, { limit, order: 'recent' })
      const want = [...all].sort((a, b) => time(b) - time(a) || (a.sessionId < b.sessionId ? -1 : 1)).slice(0, limit)
      expect(items.map((i) => i.sessionId)).toEqual(want.map((i) => i.sessionId))
      expect(nextStartAfter).toBeUndefined()
      expect(asked).toEqual([{ limit: 1000 }, { startAfter: 's0999', limit: 1000 }, { startAfter: 's1999', limit: 1000 }])
    }
  })
})

describe('TieredStorage: a new device finds its sessions (discover, sync({ sessions }))', () => {
  it("discover({ order: 'recent' }): the remote's sessions newest first, this device's own list apart", async () => {
    const remote = new MemoryStorage()
    const a = new TieredStorage({ local: new MemoryStorage(), remote })
    for (const id of ['s2', 's1', 's3']) {
      await a.commitSnapshot({ location: location(id), snapshot: sampleSnapshot(id) })
      await a.sync()
      await new Promise((r) => setTimeout(r, 5))
    }
    const b = new TieredStorage({ local: new MemoryStorage(), remote })
    await b.commitSnapshot({ location: location('local-only'), snapshot: sampleSnapshot('x') })
    expect((await b.discover({ order: 'recent' })).items.map((i) => i.sessionId)).toEqual(['s3', 's1', 's2'])
    expect((await b.discover({ order: 'recent', limit: 1 })).items.map((i) => i.sessionId)).toEqual(['s3'])
    expect((await b.listSessions({ order: 'recent' })).items.map((i) => i.sessionId)).toEqual(['local-only'])
    a.close()
    b.close()
  })

  it('discover lists the remote catalogue; sync pulls the sessions named, then all, every location of each', async () => {
    const remote = new MemoryStorage()
    const a = new TieredStorage({ local: new MemoryStorage(), remote })
    const s1main = location('s1')
    const s1helper = { sessionId: 's1', scope: 'multiAgent', scopeId: 'helper' }
    const ids: string[] = []
    for (let i = 0; i < 3; i++) ids.push((await a.commitSnapshot({ location: s1main, snapshot: sampleSnapshot(`a${i}`) })).snapshotId)
    await a.commitSnapshot({ location: s1helper, snapshot: sampleSnapshot('helper') })
    await a.commitSnapshot({ location: location('s2'), snapshot: sampleSnapshot('s2') })
    await a.saveManifest({ location: location('s2'), manifest: { schemaVersion: '1.0', updatedAt: '2026-01-01T00:00:00.000Z' } })
    await a.sync()
    // Device B: a fresh local tier, never told an id.
    const b = new TieredStorage({ local: new MemoryStorage(), remote })
    expect((await b.listSessions()).items).toEqual([])
    expect((await b.discover()).items.map((i) => i.sessionId)).toEqual(['s1', 's2'])
    expect((await b.sync()).pulled).toBe(0)
    expect(await b.listSnapshotIds({ location: s1main, limit: 10 })).toEqual([])
    await b.sync({ sessions: ['s1'] })
    expect((await b.listSessions()).items.map((i) => i.sessionId)).toEqual(['s1'])
    expect(await b.listSnapshotIds({ location: s1main })).toEqual(ids)
    expect((await b.loadSnapshot({ location: s1helper }))?.appData.tag).toBe('helper')
    const all = await b.sync({ sessions: 'all' })
    expect(all.pulled).toBeGreaterThan(0)
    expect((await b.listSessions()).items.map((i) => i.sessionId)).toEqual(['s1', 's2'])
    expect((await b.loadManifest({ location: location('s2') })).updatedAt).toBe('2026-01-01T00:00:00.000Z')
    // Known now: a plain sync brings the next turn.
    const next = await a.commitSnapshot({ location: s1main, snapshot: sampleSnapshot('a3') })
    await a.sync()
    await b.sync()
    expect((await b.loadSnapshot({ location: s1main }))?.appData.tag).toBe('a3')
    expect((await b.listSnapshotIds({ location: s1main })).at(-1)).toBe(next.snapshotId)
    // Nothing new: a second 'all' pulls nothing.
    expect((await b.sync({ sessions: 'all' })).pulled).toBe(0)
    a.close()
    b.close()
  })

  it('over HTTP each user discovers and pulls only its own sessions', async () => {
    const server = new MemoryStorage()
    for (const id of ['alice-1', 'bob-1', 'bob-2']) await server.commitSnapshot({ location: location(id), snapshot: sampleSnapshot(id) })
    const handle = createSnapshotHandler({
      storage: server,
      authorize: (request, { sessionId }) => sessionId.startsWith(`${request.headers.get('authorization')}-`),
    })
    const device = (user: string) =>
      new TieredStorage({
        local: new MemoryStorage(),
        remote: new HttpStorage({
          baseUrl: 'https://h.test',
          headers: { authorization: user },
          fetch: (i, o) => handle(new Request(i, o)),
        }),
      })
    const bob = device('bob')
    expect((await bob.discover()).items.map((i) => i.sessionId)).toEqual(['bob-1', 'bob-2'])
    await bob.sync({ sessions: 'all' })
    expect((await bob.listSessions()).items.map((i) => i.sessionId)).toEqual(['bob-1', 'bob-2'])
    expect((await bob.loadSnapshot({ location: location('bob-2') }))?.appData.tag).toBe('bob-2')
    // Naming another user's session pulls nothing of it: the handler refuses the listing.
    const alice = device('alice')
    await expect(alice.sync({ sessions: ['bob-1'] })).rejects.toMatchObject({ code: 'ERR_AUTH' })
    expect((await alice.listSessions()).items).toEqual([])
    bob.close()
    alice.close()
  })

  it('bad sessions and discover options are ERR_VALIDATION before any I/O', async () => {
    const remote = cappedBackend(1000)
    const store = new TieredStorage({ local: new MemoryStorage(), remote })
    for (const sessions of ['some', ['../x'], [''], 5, [7]]) {
      await expect(store.sync({ sessions: sessions as never }), JSON.stringify(sessions)).rejects.toMatchObject({ code: 'ERR_VALIDATION' })
    }
    await expect(store.discover({ limit: 0 })).rejects.toMatchObject({ code: 'ERR_VALIDATION' })
    expect(remote.lists).toEqual([])
    store.close()
  })
})

/** A backend over memory that records each `list` and answers at most `cap` keys per page. */
function cappedBackend(cap: number): Backend & { lists: string[] } {
  const inner = new MemoryBackend()
  const lists: string[] = []
  return {
    lists,
    get: (k, o) => inner.get(k, o),
    head: (k, o) => inner.head(k, o),
    put: (k, b, o) => inner.put(k, b, o),
    delete: (k, o) => inner.delete(k, o),
    list: (prefix, o = {}) => {
      lists.push(prefix)
      return inner.list(prefix, { ...o, limit: Math.min(o.limit ?? 1000, cap) })
    },
  }
}

const location = (sessionId: string) => ({ sessionId, scope: 'agent', scopeId: 'main' })

describe('catalogue cost and edges (memory)', () => {
  it('validates before any I/O', async () => {
    const backend = cappedBackend(1000)
    const store = new BackendSnapshotStore({ backend })
    for (const bad of [{ limit: 0 }, { startAfter: '.snapshelf' }, { updatedBefore: 'x' }]) {
      await expect(store.listSessions(bad as never)).rejects.toMatchObject({ code: 'ERR_VALIDATION' })
    }
    await expect(store.deleteSessions({} as never)).rejects.toMatchObject({ code: 'ERR_VALIDATION', field: 'updatedBefore' })
    expect(backend.lists).toEqual([])
  })

  it('the folder walk jumps past each session instead of reading its keys', async () => {
    const backend = cappedBackend(2)
    const store = new BackendSnapshotStore({ backend })
    for (const id of ['a', 'b', 'c']) {
      for (let i = 0; i < 5; i++) await store.commitSnapshot({ location: location(id), snapshot: sampleSnapshot(i) })
    }
    backend.lists.length = 0
    const page = await store.listSessions()
    expect(page.items.map((i) => i.sessionId)).toEqual(['a', 'b', 'c'])
    const rootLists = backend.lists.filter((p) => p === '').length
    // One page per session (each page of 2 keys jumps past its session), and the one that ends it:
    // not 15 keys / 2 per page.
    expect(rootLists).toBe(4)
  })

  it('a history longer than a page is jumped over to latest: one request more, the size unknown', async () => {
    const backend = cappedBackend(4)
    const store = new BackendSnapshotStore({ backend })
    const l = location('long')
    for (let i = 0; i < 20; i++)
      await store.saveSnapshot({ location: l, snapshotId: newSnapshotId(), isLatest: false, snapshot: sampleSnapshot(i) })
    await new Promise((r) => setTimeout(r, 5))
    const cut = Date.now()
    await new Promise((r) => setTimeout(r, 5))
    await store.saveSnapshot({ location: l, snapshotId: 'latest', isLatest: true, snapshot: sampleSnapshot('latest') })
    backend.lists.length = 0
    const [item] = (await store.listSessions()).items
    expect(item!.updatedAt!.getTime()).toBeGreaterThanOrEqual(cut)
    expect(item!.storedBytes).toBeUndefined()
    // The session's own listing: its first page and one past the history (not 21 keys / 4 per page).
    expect(backend.lists.filter((p) => p === 'long/scopes/')).toHaveLength(2)
    // A short session is sized exactly.
    await store.commitSnapshot({ location: location('short'), snapshot: sampleSnapshot('s') })
    const short = (await store.listSessions({ startAfter: 'long' })).items[0]!
    expect(short.storedBytes).toBe((await backend.list('short/')).entries.reduce((n, e) => n + e.size, 0))
  })

  it('updatedBefore lists on past newer sessions: the page is full or the end, and its cursor is a session id', async () => {
    const store = new MemoryStorage()
    for (const id of ['a1', 'a2', 'a3']) await store.commitSnapshot({ location: location(id), snapshot: sampleSnapshot(id) })
    await new Promise((r) => setTimeout(r, 5))
    const cut = new Date()
    await new Promise((r) => setTimeout(r, 5))
    // Newer sessions in between the old ones' successors.
    for (const id of ['b1', 'b2', 'b3', 'b4']) await store.commitSnapshot({ location: location(id), snapshot: sampleSnapshot(id) })
    await store.commitSnapshot({ location: location('c1'), snapshot: sampleSnapshot('c') })
    const first = await store.listSessions({ updatedBefore: cut, limit: 2 })
    expect(first).toMatchObject({ items: [{ sessionId: 'a1' }, { sessionId: 'a2' }], nextStartAfter: 'a2' })
    const second = await store.listSessions({ updatedBefore: cut, limit: 2, startAfter: first.nextStartAfter })
    expect(second.items.map((i) => i.sessionId)).toEqual(['a3'])
    expect(second.nextStartAfter).toBeUndefined()
  })

  it('a session whose keys carry no time is listed with updatedAt null and never matches updatedBefore', async () => {
    const inner = new MemoryBackend()
    // A tier that records no times (IndexedDB rows of an earlier version, an older handler).
    const backend: Backend = {
      get: (k, o) => inner.get(k, o),
      head: (k, o) => inner.head(k, o),
      put: (k, b, o) => inner.put(k, b, o),
      delete: (k, o) => inner.delete(k, o),
      list: async (p, o) => {
        const page = await inner.list(p, o)
        return { ...page, entries: page.entries.map(({ key, size }) => ({ key, size })) }
      },
    }
    const store = new BackendSnapshotStore({ backend })
    await store.commitSnapshot({ location: location('undated'), snapshot: sampleSnapshot(1) })
    expect((await store.listSessions()).items).toMatchObject([{ sessionId: 'undated', updatedAt: null }])
    expect((await store.listSessions({ updatedBefore: new Date(Date.now() + 86_400_000) })).items).toEqual([])
    expect(await store.deleteSessions({ updatedBefore: new Date(Date.now() + 86_400_000) })).toEqual({ deleted: 0, scanned: 1 })
  })

  it('a backend whose folder listing does not advance is ERR_REMOTE, not a loop', async () => {
    const inner = new MemoryBackend()
    let calls = 0
    const backend: Backend = {
      get: (k, o) => inner.get(k, o),
      head: (k, o) => inner.head(k, o),
      put: (k, b, o) => inner.put(k, b, o),
      delete: (k, o) => inner.delete(k, o),
      list: (p, o) => inner.list(p, o),
      listFolders: async () => {
        if (++calls > 20) throw new Error('still listing')
        return { folders: [], truncated: true }
      },
    }
    await expect(new BackendSnapshotStore({ backend }).listSessions()).rejects.toMatchObject({ code: 'ERR_REMOTE' })
    expect(calls).toBe(1)
  })
})

describeS3('S3Storage catalogue (Ceph)', () => {
  registerCatalogueCases({
    name: 's3',
    // Ceph keeps milliseconds in LastModified, AWS whole seconds: writes dated apart wait more than one.
    tickMs: 1100,
    create: async () => {
      const prefix = uniquePrefix('cat')
      const store = new S3Storage(s3Options({ prefix }))
      return { store, backend: new S3Backend(s3Options()), root: `${prefix}/`, cleanup: () => wipePrefix(prefix) }
    },
  })

  it('one delimiter listing for the folders, one listing per session, and no GET of any payload', async () => {
    const prefix = uniquePrefix('catcost')
    try {
      const writer = new S3Storage(s3Options({ prefix }))
      const ids = ['s1', 's2', 's3', 's4']
      for (const id of ids) {
        for (let i = 0; i < 3; i++) await writer.commitSnapshot({ location: location(id), snapshot: sampleSnapshot(i) })
      }
      const { fetch, seen } = countingFetch()
      const store = new S3Storage(s3Options({ prefix, fetch }))
      const page = await store.listSessions({ limit: 3 })
      expect(page.items.map((i) => i.sessionId)).toEqual(['s1', 's2', 's3'])
      expect(page.nextStartAfter).toBe('s3')
      const delimited = seen.filter((r) => r.url.searchParams.get('delimiter') === '/')
      expect(delimited).toHaveLength(1)
      expect(delimited[0]!.url.searchParams.get('max-keys')).toBe('3')
      const perSession = seen.filter((r) => r.url.searchParams.get('prefix')?.endsWith('/scopes/'))
      expect(perSession.map((r) => r.url.searchParams.get('prefix')).sort()).toEqual(
        ['s1', 's2', 's3'].map((id) => `${prefix}/${id}/scopes/`),
      )
      expect(seen).toHaveLength(4)
      expect(seen.every((r) => r.method === 'GET' && r.url.searchParams.get('list-type') === '2')).toBe(true)
      // The next page starts after s3's folder: start-after is past every key of it.
      seen.length = 0
      const rest = await store.listSessions({ limit: 3, startAfter: page.nextStartAfter })
      expect(rest.items.map((i) => i.sessionId)).toEqual(['s4'])
      expect(seen[0]!.url.searchParams.get('start-after')).toBe(`${prefix}/s30`)
    } finally {
      await wipePrefix(prefix)
    }
  })
})
