import { deleteDB, openDB } from 'idb'
import { afterEach, describe, expect, it } from 'vitest'
import { newSnapshotId, type SnapshelfError } from 'snapshelf'
import { IndexedDBBackend, IndexedDBStorage, INDEXEDDB_SCHEMA_VERSION } from 'snapshelf/indexeddb'
import { sampleSnapshot, waitFor, type ContractHarness } from 'snapshelf/testing'

/**
 * The IndexedDB tier's own checks beyond the contract suite (ETags, conditional writes, listing
 * without payload reads, connection lifecycle, watch across instances), registered by both the
 * happy-dom + fake-indexeddb runner (test/node/indexeddb.test.ts) and the Chromium runner
 * (test/browser/indexeddb.test.ts), so the fake and the real engine answer the same questions.
 */

let counter = 0
/** A database name no other test (or run) uses. */
export const uniqueDbName = (): string => `snapshelf-test-${Date.now().toString(36)}-${counter++}-${Math.random().toString(36).slice(2, 8)}`

export const location = () => ({ sessionId: `s${Math.random().toString(36).slice(2, 10)}`, scope: 'agent', scopeId: 'main' })

/** Awaits `fn` and returns what it rejected with (fails when it resolves). */
export async function caught(fn: () => unknown): Promise<SnapshelfError> {
  try {
    await fn()
  } catch (e) {
    return e as SnapshelfError
  }
  throw new Error('expected a rejection')
}

/** Registers the shared IndexedDB cases; `env` names the engine in every test title. */
export function registerIndexedDBCases(env: string): void {
  // Every storage or backend a test makes is closed and its database deleted afterwards.
  const opened: (IndexedDBStorage | IndexedDBBackend)[] = []
  function track<T extends IndexedDBStorage | IndexedDBBackend>(x: T): T {
    opened.push(x)
    return x
  }
  afterEach(async () => {
    for (const x of opened.splice(0)) {
      x.close()
      await deleteDB(x instanceof IndexedDBStorage ? x.backend.dbName : x.dbName)
    }
  })

  const bytes = (s: string) => new TextEncoder().encode(s)
  const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b)

  /** Records which object stores IndexedDB reads touch, to prove listings skip payloads. */
  function spyStoreReads(): { touched: string[]; restore(): void } {
    const touched: string[] = []
    const proto = IDBObjectStore.prototype as unknown as Record<string, (...a: unknown[]) => unknown>
    const saved: Record<string, (...a: unknown[]) => unknown> = {}
    for (const m of ['get', 'getAll', 'getAllKeys', 'openCursor', 'openKeyCursor', 'count', 'getKey']) {
      const original = proto[m]!
      saved[m] = original
      proto[m] = function (this: IDBObjectStore, ...args: unknown[]) {
        touched.push(`${this.name}.${m}`)
        return original.apply(this, args)
      }
    }
    return { touched, restore: () => Object.assign(proto, saved) }
  }

  describe(`IndexedDBBackend (${env})`, () => {
    it('stores bytes by the store key layout, with a fresh ETag per write of identical bytes', async () => {
      const backend = track(new IndexedDBBackend({ dbName: uniqueDbName() }))
      const key = 'p/s1/scopes/agent/main/snapshots/snapshot_latest.json'
      const a = await backend.put(key, bytes('same'))
      const b = await backend.put(key, bytes('same'))
      expect(a?.etag).toBeTruthy()
      expect(b?.etag).not.toBe(a?.etag)
      const got = await backend.get(key)
      expect(text(got?.body)).toBe('same')
      expect(got?.etag).toBe(b?.etag)
      expect(await backend.head(key)).toEqual({ key, size: 4, etag: b!.etag, lastModified: expect.any(Number) })
      // Two instances (two tabs) never mint the same ETag.
      const other = track(new IndexedDBBackend({ dbName: backend.dbName }))
      const c = await other.put(key, bytes('same'))
      expect(c?.etag).not.toBe(b?.etag)
    })

    it('conditional puts: ifNoneMatch only creates, ifMatch only replaces the version read; a refused put changes nothing', async () => {
      const backend = track(new IndexedDBBackend({ dbName: uniqueDbName() }))
      const key = 's/x'
      expect(await backend.put(key, bytes('v0'), { ifMatch: 'nope' })).toBeNull()
      expect(await backend.get(key)).toBeNull()
      const v1 = await backend.put(key, bytes('v1'), { ifNoneMatch: '*' })
      expect(v1).not.toBeNull()
      expect(await backend.put(key, bytes('v1b'), { ifNoneMatch: '*' })).toBeNull()
      // The refused create wrote neither its bytes nor its metadata (the transaction rolled back).
      expect(await backend.get(key)).toEqual({ etag: v1!.etag, body: bytes('v1') })
      expect(await backend.head(key)).toMatchObject({ etag: v1!.etag, size: 2 })
      const v2 = await backend.put(key, bytes('v2'), { ifMatch: v1!.etag })
      expect(v2).not.toBeNull()
      expect(await backend.put(key, bytes('stale'), { ifMatch: v1!.etag })).toBeNull()
      expect(text((await backend.get(key))?.body)).toBe('v2')
      expect((await backend.head(key))?.size).toBe(2)
    })

    it('10 racing create-only puts and 10 racing compare-and-swaps: exactly one winner each', async () => {
      const backend = track(new IndexedDBBackend({ dbName: uniqueDbName() }))
      const creates = await Promise.all(Array.from({ length: 10 }, (_, i) => backend.put('k', bytes(`c${i}`), { ifNoneMatch: '*' })))
      expect(creates.filter(Boolean)).toHaveLength(1)
      const base = (await backend.get('k'))!.etag
      const swaps = await Promise.all(Array.from({ length: 10 }, (_, i) => backend.put('k', bytes(`s${i}`), { ifMatch: base })))
      expect(swaps.filter(Boolean)).toHaveLength(1)
    })

    it('list pages by prefix/startAfter/limit from the entries store alone, never reading a payload', async () => {
      const backend = track(new IndexedDBBackend({ dbName: uniqueDbName() }))
      const keys = ['a/1', 'a/2', 'a/3', 'a/4', 'a0', 'a~', 'b/1']
      for (const k of keys) await backend.put(k, bytes(k.repeat(3)))
      const spy = spyStoreReads()
      try {
        const p1 = await backend.list('a/', { limit: 2 })
        expect(p1).toEqual({
          entries: [expect.objectContaining({ key: 'a/1', size: 9 }), expect.objectContaining({ key: 'a/2', size: 9 })],
          truncated: true,
          metadataListed: true,
        })
        expect(p1.entries[0]!.etag).toBeTruthy()
        const p2 = await backend.list('a/', { limit: 2, startAfter: 'a/2' })
        expect(p2.entries.map((e) => e.key)).toEqual(['a/3', 'a/4'])
        expect(p2.truncated).toBe(false)
        expect((await backend.list('a/', { startAfter: 'a/4' })).entries).toEqual([])
        expect((await backend.list('a/', { startAfter: 'zzz' })).entries).toEqual([])
        expect((await backend.list('a/', { startAfter: '0' })).entries.map((e) => e.key)).toEqual(['a/1', 'a/2', 'a/3', 'a/4'])
        expect((await backend.list('')).entries.map((e) => e.key)).toEqual(keys)
        await backend.head('a/1')
        expect(spy.touched.length).toBeGreaterThan(0)
        expect(spy.touched.filter((t) => t.startsWith('bodies.'))).toEqual([])
      } finally {
        spy.restore()
      }
      // listSnapshots on the store likewise: storedBytes without a payload read.
      const store = track(new IndexedDBStorage({ dbName: uniqueDbName() }))
      const l = location()
      await store.saveSnapshot({
        location: l,
        snapshotId: newSnapshotId(),
        isLatest: false,
        snapshot: sampleSnapshot('m', { pad: 'x'.repeat(10_000) }),
      })
      const spy2 = spyStoreReads()
      try {
        const { items } = await store.listSnapshots({ location: l })
        expect(items[0]!.storedBytes).toBeGreaterThan(0)
        expect(spy2.touched).toEqual(['entries.getAll'])
      } finally {
        spy2.restore()
      }
    })

    it('stores the bytes as they were at the call: a buffer reused right after put, or a view into a larger buffer', async () => {
      const backend = track(new IndexedDBBackend({ dbName: uniqueDbName() }))
      // First call: the connection is still opening, so the write happens after an await.
      const first = bytes('first')
      const pending = backend.put('b/1', first)
      first.fill(0)
      await pending
      expect(text((await backend.get('b/1'))?.body)).toBe('first')
      // Connection open: plain, create-only and compare-and-swap writes alike.
      for (const [key, o] of [
        ['b/2', {}],
        ['b/3', { ifNoneMatch: '*' }],
        ['b/1', { ifMatch: (await backend.head('b/1'))!.etag }],
      ] as const) {
        const buf = bytes(`v-${key}`)
        const put = backend.put(key, buf, o)
        buf.fill(0)
        expect(await put).not.toBeNull()
        expect(text((await backend.get(key))?.body)).toBe(`v-${key}`)
      }
      const big = bytes('xxhelloxx')
      await backend.put('b/view', big.subarray(2, 7))
      const got = await backend.get('b/view')
      expect(text(got?.body)).toBe('hello')
      expect(got?.body.buffer.byteLength).toBe(5)
      expect((await backend.head('b/view'))?.size).toBe(5)
    })

    it('delete removes bytes and metadata together, absent keys are fine', async () => {
      const backend = track(new IndexedDBBackend({ dbName: uniqueDbName() }))
      await backend.put('d/1', bytes('1'))
      await backend.put('d/2', bytes('2'))
      await backend.delete(['d/1', 'd/missing'])
      expect(await backend.get('d/1')).toBeNull()
      expect(await backend.head('d/1')).toBeNull()
      expect((await backend.list('d/')).entries.map((e) => e.key)).toEqual(['d/2'])
    })

    it('an aborted signal is ERR_ABORTED before any I/O', async () => {
      const backend = track(new IndexedDBBackend({ dbName: uniqueDbName() }))
      const ctrl = new AbortController()
      ctrl.abort()
      for (const call of [
        () => backend.put('k', bytes('x'), { signal: ctrl.signal }),
        () => backend.get('k', { signal: ctrl.signal }),
        () => backend.list('', { signal: ctrl.signal }),
        () => backend.delete(['k'], { signal: ctrl.signal }),
      ]) {
        expect((await caught(call)).code).toBe('ERR_ABORTED')
      }
      expect(await backend.get('k')).toBeNull()
    })

    it('bad dbName is ERR_VALIDATION at construction', () => {
      for (const dbName of ['', 42, null]) {
        expect(() => new IndexedDBStorage({ dbName: dbName as string })).toThrowError(
          expect.objectContaining({ code: 'ERR_VALIDATION', field: 'dbName' }),
        )
      }
    })
  })

  describe(`IndexedDB connection lifecycle (${env})`, () => {
    it('close() then any call reopens lazily; data survives', async () => {
      const store = track(new IndexedDBStorage({ dbName: uniqueDbName() }))
      const l = location()
      await store.commitSnapshot({ location: l, snapshotId: newSnapshotId(), snapshot: sampleSnapshot('before') })
      store.close()
      expect((await store.loadSnapshot({ location: l }))?.appData.tag).toBe('before')
      store.close()
      store.close()
      await store.updateLatest({ location: l, mutate: () => sampleSnapshot('after') })
      expect((await store.loadSnapshot({ location: l }))?.appData.tag).toBe('after')
    })

    it('another tab deleting the database is not blocked by us; we recreate it on next use', async () => {
      const dbName = uniqueDbName()
      const store = track(new IndexedDBStorage({ dbName }))
      const l = location()
      await store.commitSnapshot({ location: l, snapshotId: newSnapshotId(), snapshot: sampleSnapshot('gone') })
      let blocked = false
      await deleteDB(dbName, {
        blocked: () => {
          blocked = true
        },
      })
      expect(blocked).toBe(false)
      expect(await store.loadSnapshot({ location: l })).toBeNull()
      await store.commitSnapshot({ location: l, snapshotId: newSnapshotId(), snapshot: sampleSnapshot('again') })
      expect((await store.loadSnapshot({ location: l }))?.appData.tag).toBe('again')
    })

    it('a newer tab upgrading the schema makes us close (no block); we then fail ERR_VALIDATION instead of hanging', async () => {
      const dbName = uniqueDbName()
      const store = track(new IndexedDBStorage({ dbName }))
      const l = location()
      await store.commitSnapshot({ location: l, snapshotId: newSnapshotId(), snapshot: sampleSnapshot('v1') })
      let blocked = false
      const newer = await openDB(dbName, INDEXEDDB_SCHEMA_VERSION + 1, {
        blocked: () => {
          blocked = true
        },
      })
      expect(blocked).toBe(false)
      const err = await caught(() => store.loadSnapshot({ location: l }))
      expect(err.code).toBe('ERR_VALIDATION')
      expect(err.field).toBe('dbName')
      expect(err.message).toMatch(/is newer than schema/)
      newer.close()
    })

    it('a database already at a newer version is ERR_VALIDATION on first use', async () => {
      const dbName = uniqueDbName()
      ;(await openDB(dbName, 99)).close()
      const store = track(new IndexedDBStorage({ dbName }))
      const err = await caught(() => store.hasSnapshot({ location: location() }))
      expect(err.code).toBe('ERR_VALIDATION')
      expect((err.cause as Error).name).toBe('VersionError')
    })

    it('an upgrade blocked by a connection that never closes is ERR_TIMEOUT, then succeeds once it closes', async () => {
      const dbName = uniqueDbName()
      const v1 = track(new IndexedDBBackend({ dbName }))
      await v1.put('k', bytes('kept'))
      v1.close()
      // A stubborn old tab: holds version 1 open and ignores versionchange.
      const stubborn = await openDB(dbName, INDEXEDDB_SCHEMA_VERSION)
      const v2 = track(new IndexedDBBackend({ dbName, schemaVersion: INDEXEDDB_SCHEMA_VERSION + 1, blockedTimeoutMs: 150 }))
      const err = await caught(() => v2.get('k'))
      expect(err.code).toBe('ERR_TIMEOUT')
      expect(err.message).toMatch(/blocked/)
      stubborn.close()
      // The failed open is not cached: the next call opens (and upgrades) for real.
      await waitFor(async () => (await v2.get('k').catch(() => null)) !== null, 5000, 'reopen after unblock')
      expect(text((await v2.get('k'))?.body)).toBe('kept')
    })

    it(`reads a schema ${INDEXEDDB_SCHEMA_VERSION} database written row by row (the on-disk layout is pinned)`, async () => {
      // The layout every release so far wrote: bodies key → { etag, body }; entries { key, size, etag }.
      const dbName = uniqueDbName()
      const old = await openDB(dbName, INDEXEDDB_SCHEMA_VERSION, {
        upgrade(db) {
          db.createObjectStore('bodies')
          db.createObjectStore('entries', { keyPath: 'key' })
        },
      })
      await old.put('bodies', { etag: 'e1', body: bytes('one') }, 'k/1')
      await old.put('entries', { key: 'k/1', size: 3, etag: 'e1' })
      old.close()
      const backend = track(new IndexedDBBackend({ dbName }))
      expect(await backend.get('k/1')).toEqual({ etag: 'e1', body: bytes('one') })
      // Rows of before hold no metadata: listed as having none.
      expect(await backend.list('k/')).toEqual({ entries: [{ key: 'k/1', size: 3, etag: 'e1' }], truncated: false, metadataListed: true })
      expect(await backend.head('k/1')).not.toHaveProperty('metadata')
      expect(await backend.put('k/1', bytes('two'), { ifMatch: 'e1' })).not.toBeNull()
      expect(text((await backend.get('k/1'))?.body)).toBe('two')
    })

    it('keeps snapshot metadata in both rows: get, head and list return it, a later put without it clears it', async () => {
      const dbName = uniqueDbName()
      const backend = track(new IndexedDBBackend({ dbName }))
      expect(await backend.put('m/1', bytes('one'), { ifNoneMatch: '*', metadata: { title: 'Caf%C3%A9', turn: '1' } })).not.toBeNull()
      const metadata = { title: 'Caf%C3%A9', turn: '1' }
      expect((await backend.get('m/1'))?.metadata).toEqual(metadata)
      expect((await backend.head('m/1'))?.metadata).toEqual(metadata)
      expect((await backend.list('m/')).entries[0]?.metadata).toEqual(metadata)
      // On disk: the rows as another version of snapshelf (or a DevTools user) sees them.
      const raw = await openDB(dbName)
      expect((await raw.get('entries', 'm/1'))?.metadata).toEqual(metadata)
      expect((await raw.get('bodies', 'm/1'))?.metadata).toEqual(metadata)
      raw.close()
      const { etag } = (await backend.head('m/1'))!
      expect(await backend.put('m/1', bytes('two'), { ifMatch: etag })).not.toBeNull()
      expect(await backend.get('m/1')).not.toHaveProperty('metadata')
      expect((await backend.list('m/')).entries[0]).not.toHaveProperty('metadata')
    })

    it('a database of the same name that snapshelf did not create fails with a typed error', async () => {
      const dbName = uniqueDbName()
      ;(await openDB(dbName, INDEXEDDB_SCHEMA_VERSION, { upgrade: (db) => void db.createObjectStore('other') })).close()
      const backend = track(new IndexedDBBackend({ dbName }))
      const err = await caught(() => backend.get('k'))
      expect(err.code).toBe('ERR_REMOTE')
      expect(err.serverCode).toBe('NotFoundError')
    })
  })

  describe(`IndexedDB watch (${env})`, () => {
    it('a watcher hears its own tab right after commit, and another instance (another tab) through BroadcastChannel', async () => {
      const dbName = uniqueDbName()
      const a = track(new IndexedDBStorage({ dbName }))
      const b = track(new IndexedDBStorage({ dbName }))
      const l = location()
      await a.commitSnapshot({ location: l, snapshotId: newSnapshotId(), snapshot: sampleSnapshot('w0') })
      const inA: string[] = []
      const inB: string[] = []
      const stopA = a.watchLatest({ location: l, onChange: (s) => inA.push(String(s.appData.tag)) })
      const stopB = b.watchLatest({ location: l, onChange: (s) => inB.push(String(s.appData.tag)) })
      try {
        await new Promise((r) => setTimeout(r, 50))
        await a.updateLatest({ location: l, mutate: () => sampleSnapshot('from-a') })
        await waitFor(() => inA.length === 1 && inB.length === 1, 3000, 'both watchers')
        await b.updateLatest({ location: l, mutate: () => sampleSnapshot('from-b') })
        await waitFor(() => inA.length === 2 && inB.length === 2, 3000, 'both watchers again')
        expect(inA).toEqual(['from-a', 'from-b'])
        expect(inB).toEqual(['from-a', 'from-b'])
      } finally {
        stopA()
        stopB()
      }
    })

    it('a burst of writes reaches another tab for every key, even when the writer closes right after', async () => {
      // A burst shares cross-tab messages; whatever the burst still owes is posted on close().
      const dbName = uniqueDbName()
      const writer = track(new IndexedDBBackend({ dbName }))
      const reader = track(new IndexedDBBackend({ dbName }))
      const keys = ['w/1', 'w/2', 'w/3', 'w/4']
      const heardHere: string[] = []
      const heardThere: string[] = []
      const stops = keys.flatMap((key) => [
        writer.subscribe(key, () => heardHere.push(key)),
        reader.subscribe(key, () => heardThere.push(key)),
      ])
      try {
        await new Promise((r) => setTimeout(r, 50))
        const count = (key: string) => heardThere.filter((k) => k === key).length
        for (const key of keys) await writer.put(key, bytes(key))
        // This tab heard each write at its commit, before any message.
        expect(heardHere).toEqual(keys)
        await waitFor(() => keys.every((k) => count(k) >= 1), 3000, 'every key of the burst in the other tab')
        // A second burst, then the writer closes at once: what it still owed is posted on close.
        for (const key of keys) await writer.put(key, bytes(key))
        await writer.delete(['w/1'])
        writer.close()
        await waitFor(() => keys.every((k) => count(k) >= 2), 3000, 'every key of the second burst in the other tab')
        expect([...new Set(heardThere)].sort()).toEqual(keys)
      } finally {
        for (const stop of stops) stop()
      }
    })

    it('watchers of other keys and other databases hear nothing', async () => {
      const a = track(new IndexedDBStorage({ dbName: uniqueDbName() }))
      const other = track(new IndexedDBStorage({ dbName: uniqueDbName() }))
      const l = location()
      const got: string[] = []
      const stop1 = other.watchLatest({ location: l, onChange: (s) => got.push(`other-db ${s.appData.tag}`) })
      const stop2 = a.watchLatest({ location: { ...l, scopeId: 'elsewhere' }, onChange: (s) => got.push(`other-key ${s.appData.tag}`) })
      const mine: string[] = []
      const stop3 = a.watchLatest({ location: l, onChange: (s) => mine.push(String(s.appData.tag)) })
      try {
        await new Promise((r) => setTimeout(r, 50))
        await a.updateLatest({ location: l, mutate: () => sampleSnapshot('x') })
        await waitFor(() => mine.length === 1, 3000, 'own watcher')
        await new Promise((r) => setTimeout(r, 100))
        expect(got).toEqual([])
      } finally {
        stop1()
        stop2()
        stop3()
      }
    })
  })
}

/**
 * The contract-suite harness for IndexedDBStorage: a fresh database per test, closed and deleted
 * afterwards. Shared by the happy-dom run and the Chromium run.
 */
export function indexedDBHarness(name: string): ContractHarness {
  return {
    name,
    create: async (options) => {
      const dbName = uniqueDbName()
      const store = new IndexedDBStorage({ ...options, dbName })
      return {
        store,
        cleanup: async () => {
          store.close()
          await deleteDB(dbName)
        },
      }
    },
  }
}
