import { expect, it } from 'vitest'
import { type Backend, type BackendSnapshotStore, type SnapshotLocation, newSnapshotId } from 'snapshelf'
import { sampleSnapshot } from 'snapshelf/testing'

/**
 * The session catalogue (`listSessions`, `deleteSessions`, issue 14) on one tier, written once and
 * run from each tier's runner (Node: memory, S3 on Ceph, IndexedDB, HTTP, tiered; workerd: R2).
 * `create` gives an EMPTY store (a fresh prefix) and the raw backend its keys live in, with the
 * store's root (`''` or `'<prefix>/'`) so cases can plant keys no store method writes.
 */
export interface CatalogueHarness {
  name: string
  create(): Promise<{ store: BackendSnapshotStore; backend: Backend; root: string; cleanup?: () => Promise<void> }>
  /** Wait between writes that must be dated apart: S3 times have whole seconds on some servers. */
  tickMs?: number
}

const loc = (sessionId: string, scopeId = 'main', scope = 'agent'): SnapshotLocation => ({ sessionId, scope, scopeId })
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export function registerCatalogueCases(h: CatalogueHarness): void {
  const tick = h.tickMs ?? 5

  it(`${h.name}: lists sessions ascending, paged, with a time and size, and nothing that is not a session`, async () => {
    const { store, backend, root, cleanup } = await h.create()
    try {
      expect(await store.listSessions()).toEqual({ items: [] })
      const before = Date.now() - 2000
      const ids = ['alpha', 'beta', 'beta-2', 'gamma', 'langgraph']
      for (const id of ids) await store.commitSnapshot({ location: loc(id), snapshot: sampleSnapshot(id) })
      // A second location in another scope: still one session.
      await store.saveSnapshot({
        location: loc('alpha', 'helper', 'multiAgent'),
        snapshotId: 'latest',
        isLatest: true,
        snapshot: sampleSnapshot('h'),
      })
      const body = new Uint8Array([1, 2, 3])
      // Not sessions: the outbox folder, a file at the root, a folder whose name is no id, an
      // adapter's folder without layout keys, a nested store's prefix, a session folder with only a stray file.
      await backend.put(`${root}.snapshelf/outbox/x`, body)
      await backend.put(`${root}README`, body)
      await backend.put(`${root}bad!id/scopes/agent/main/snapshots/snapshot_latest.json`, body)
      await backend.put(`${root}genkit/ns/snapshots/x.json`, body)
      await backend.put(`${root}tenantB/s9/scopes/agent/main/snapshots/snapshot_latest.json`, body)
      await backend.put(`${root}stray/notes.txt`, body)
      const after = Date.now() + 2000
      const all = await store.listSessions()
      // `beta-2/` sorts before `beta/` (`-` is below `/`): key order of the folders.
      expect(all.items.map((i) => i.sessionId)).toEqual(['alpha', 'beta-2', 'beta', 'gamma', 'langgraph'])
      expect(all.nextStartAfter).toBeUndefined()
      for (const item of all.items) {
        expect(item.updatedAt, item.sessionId).toBeInstanceOf(Date)
        expect(item.updatedAt!.getTime()).toBeGreaterThanOrEqual(before)
        expect(item.updatedAt!.getTime()).toBeLessThanOrEqual(after)
        // Every byte of the session's layout: what a raw listing of its folder sums to.
        const raw = await backend.list(`${root}${item.sessionId}/`)
        expect(item.storedBytes, item.sessionId).toBe(raw.entries.reduce((n, e) => n + e.size, 0))
      }
      // Pages of two, each continuing where the last stopped.
      const paged: string[] = []
      let startAfter: string | undefined
      let pages = 0
      do {
        const page = await store.listSessions({ limit: 2, startAfter })
        expect(page.items.length).toBeLessThanOrEqual(2)
        expect(page.items.length, 'a page is empty only at the end').toBeGreaterThan(page.nextStartAfter ? 1 : -1)
        paged.push(...page.items.map((i) => i.sessionId))
        startAfter = page.nextStartAfter
        pages++
      } while (startAfter)
      expect(paged).toEqual(all.items.map((i) => i.sessionId))
      expect(pages).toBe(3)
      expect((await store.listSessions({ startAfter: 'beta' })).items.map((i) => i.sessionId)).toEqual(['gamma', 'langgraph'])
      // A session erased is gone from the catalogue.
      await store.deleteSession({ sessionId: 'gamma' })
      expect((await store.listSessions()).items.map((i) => i.sessionId)).toEqual(['alpha', 'beta-2', 'beta', 'langgraph'])
    } finally {
      await cleanup?.()
    }
  })

  it(`${h.name}: updatedAt follows the newest write, and updatedBefore keeps only sessions changed before it`, async () => {
    const { store, cleanup } = await h.create()
    try {
      await store.commitSnapshot({ location: loc('old'), snapshot: sampleSnapshot('old') })
      await store.commitSnapshot({ location: loc('touched'), snapshot: sampleSnapshot('t') })
      await sleep(tick)
      const cut = new Date()
      await sleep(tick)
      await store.commitSnapshot({ location: loc('new'), snapshot: sampleSnapshot('new') })
      // A manifest write alone changes the session.
      await store.saveManifest({ location: loc('touched'), manifest: { schemaVersion: '1.0', updatedAt: new Date().toISOString() } })
      const { items } = await store.listSessions()
      const at = Object.fromEntries(items.map((i) => [i.sessionId, i.updatedAt!.getTime()]))
      expect(at.old).toBeLessThan(cut.getTime())
      expect(at.new).toBeGreaterThanOrEqual(cut.getTime() - 1000)
      expect(at.touched).toBeGreaterThan(at.old!)
      const older = await store.listSessions({ updatedBefore: cut })
      expect(older.items.map((i) => i.sessionId)).toEqual(['old'])
      expect((await store.listSessions({ updatedBefore: cut.toISOString(), limit: 1 })).items.map((i) => i.sessionId)).toEqual(['old'])
    } finally {
      await cleanup?.()
    }
  })

  it(`${h.name}: metadata — the newest latest's, listed where the tier lists it, read by one HEAD with metadata: 'head'`, async () => {
    const { store, backend, root, cleanup } = await h.create()
    try {
      await store.commitSnapshot({ location: loc('a', 'first'), snapshot: sampleSnapshot('1'), metadata: { title: 'old' } })
      await sleep(tick)
      await store.commitSnapshot({ location: loc('a', 'second'), snapshot: sampleSnapshot('2'), metadata: { title: 'Café au lait' } })
      await store.commitSnapshot({ location: loc('b'), snapshot: sampleSnapshot('3') })
      // History with metadata but no latest: the catalogue reads latests only.
      await store.saveSnapshot({
        location: loc('c'),
        snapshotId: newSnapshotId(),
        isLatest: false,
        snapshot: sampleSnapshot('4'),
        metadata: { title: 'h' },
      })
      const listed = (await backend.list(`${root}a/scopes/`)).metadataListed === true
      const metadataOf = (page: Awaited<ReturnType<typeof store.listSessions>>) =>
        Object.fromEntries(page.items.map((i) => [i.sessionId, i.metadata]))
      const want = { a: { title: 'Café au lait' }, b: undefined, c: undefined }
      expect(metadataOf(await store.listSessions({ metadata: 'head' }))).toEqual(want)
      expect(metadataOf(await store.listSessions({ metadata: 'listed' }))).toEqual(
        listed ? want : { a: undefined, b: undefined, c: undefined },
      )
      // Paged and filtered alike: a page of one, and a filter that leaves nothing to read.
      expect(metadataOf(await store.listSessions({ metadata: 'head', limit: 1 }))).toEqual({ a: want.a })
      expect((await store.listSessions({ metadata: 'head', updatedBefore: new Date(0) })).items).toEqual([])
    } finally {
      await cleanup?.()
    }
  })

  it(`${h.name}: order 'recent' answers the newest sessions first, in one page`, async () => {
    const { store, cleanup } = await h.create()
    try {
      for (const id of ['b', 'c', 'a']) {
        await store.commitSnapshot({ location: loc(id), snapshot: sampleSnapshot(id) })
        await sleep(tick)
      }
      await store.commitSnapshot({ location: loc('b', 'second'), snapshot: sampleSnapshot('b2') })
      const recent = await store.listSessions({ order: 'recent' })
      expect(recent.items.map((i) => i.sessionId)).toEqual(['b', 'a', 'c'])
      expect(recent.nextStartAfter).toBeUndefined()
      const times = recent.items.map((i) => i.updatedAt!.getTime())
      expect([...times].sort((x, y) => y - x)).toEqual(times)
      expect((await store.listSessions({ order: 'recent', limit: 2 })).items.map((i) => i.sessionId)).toEqual(['b', 'a'])
      const olderThanA = recent.items[1]!.updatedAt!.getTime()
      expect((await store.listSessions({ order: 'recent', updatedBefore: new Date(olderThanA) })).items.map((i) => i.sessionId)).toEqual([
        'c',
      ])
      expect((await store.listSessions({ order: 'key' })).items.map((i) => i.sessionId)).toEqual(['a', 'b', 'c'])
    } finally {
      await cleanup?.()
    }
  })

  it(`${h.name}: bad options are ERR_VALIDATION before any I/O`, async () => {
    const { store, cleanup } = await h.create()
    try {
      const bad: unknown[] = [
        { limit: 0 },
        { limit: 1001 },
        { limit: 1.5 },
        { limit: '3' },
        { limit: Number.NaN },
        { startAfter: '' },
        { startAfter: '../x' },
        { startAfter: 'a/b' },
        { startAfter: 7 },
        { updatedBefore: 'yesterday' },
        { updatedBefore: '2026-13-01' },
        { updatedBefore: '2026-01-01T10:00' },
        { updatedBefore: new Date(Number.NaN) },
        { updatedBefore: 1_700_000_000_000 },
        { metadata: 'all' },
        { metadata: true },
        { order: 'newest' },
        { order: 'recent', startAfter: 'a' },
      ]
      for (const options of bad) {
        await expect(store.listSessions(options as never), JSON.stringify(options)).rejects.toMatchObject({ code: 'ERR_VALIDATION' })
      }
      for (const options of [{}, { updatedBefore: 'soon' }, { updatedBefore: new Date(), onProgress: 'x' }]) {
        await expect(store.deleteSessions(options as never), JSON.stringify(options)).rejects.toMatchObject({ code: 'ERR_VALIDATION' })
      }
    } finally {
      await cleanup?.()
    }
  })

  it(`${h.name}: deleteSessions deletes what is older, reports progress, and a second call finishes an aborted job`, async () => {
    const { store, backend, root, cleanup } = await h.create()
    try {
      const old = ['o1', 'o2', 'o3', 'o4']
      for (const id of old) await store.commitSnapshot({ location: loc(id), snapshot: sampleSnapshot(id) })
      await sleep(tick)
      const cut = new Date()
      await sleep(tick)
      await store.commitSnapshot({ location: loc('o0-kept'), snapshot: sampleSnapshot('kept') })
      const controller = new AbortController()
      const seen: { deleted: number; scanned: number }[] = []
      await expect(
        store.deleteSessions({
          updatedBefore: cut,
          signal: controller.signal,
          onProgress: (p) => {
            seen.push(p)
            if (p.deleted === 2) controller.abort()
          },
        }),
      ).rejects.toMatchObject({ code: 'ERR_ABORTED' })
      expect(seen.map((p) => p.deleted).slice(0, 2)).toEqual([1, 2])
      expect((await store.listSessions()).items.map((i) => i.sessionId)).toEqual(['o0-kept', 'o3', 'o4'])
      const done = await store.deleteSessions({ updatedBefore: cut.toISOString() })
      expect(done).toEqual({ deleted: 2, scanned: 3 })
      expect((await store.listSessions()).items.map((i) => i.sessionId)).toEqual(['o0-kept'])
      // Every key of the old sessions is gone, the kept one is whole.
      for (const id of old) expect((await backend.list(`${root}${id}/`)).entries).toEqual([])
      expect(await store.loadSnapshot({ location: loc('o0-kept') })).not.toBeNull()
      expect(await store.deleteSessions({ updatedBefore: cut })).toEqual({ deleted: 0, scanned: 1 })
    } finally {
      await cleanup?.()
    }
  })

  it(`${h.name}: a session with a long history is dated by its latest`, async () => {
    const { store, cleanup } = await h.create()
    try {
      const l = loc('long')
      for (let i = 0; i < 3; i++)
        await store.saveSnapshot({ location: l, snapshotId: newSnapshotId(), isLatest: false, snapshot: sampleSnapshot(i) })
      await sleep(tick)
      const cut = Date.now()
      await sleep(tick)
      await store.saveSnapshot({ location: l, snapshotId: 'latest', isLatest: true, snapshot: sampleSnapshot('latest') })
      const [item] = (await store.listSessions()).items
      expect(item!.updatedAt!.getTime()).toBeGreaterThanOrEqual(cut - 1000)
      expect((await store.listSessions({ updatedBefore: new Date(cut) })).items).toEqual([])
    } finally {
      await cleanup?.()
    }
  })
}
