import { describe, expect, it } from 'vitest'
import { type Backend, MemoryBackend, MemoryStorage, BackendSnapshotStore, newSnapshotId } from 'snapshelf'
import { sampleSnapshot } from 'snapshelf/testing'
import { S3Backend, S3Storage } from 'snapshelf/s3'
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
