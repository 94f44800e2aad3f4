// @vitest-environment happy-dom
import 'fake-indexeddb/auto'
import { deleteDB } from 'idb'
import { describe, expect, it } from 'vitest'
import { type IndexedDBBackend, IndexedDBStorage } from 'snapshelf/indexeddb'
import { sampleSnapshot } from 'snapshelf/testing'
import { uniqueDbName } from '../browser/indexeddb-cases.js'
import { registerCatalogueCases } from '../helpers/catalogue-cases.js'

// The session catalogue (issue 14) over IndexedDB (happy-dom + fake-indexeddb).

describe('IndexedDBStorage catalogue', () => {
  for (const prefix of ['', 'tenant']) {
    registerCatalogueCases({
      name: `indexeddb${prefix ? ' with prefix' : ''}`,
      create: async () => {
        const dbName = uniqueDbName()
        const store = new IndexedDBStorage({ dbName, prefix })
        return {
          store,
          backend: store.backend,
          root: prefix ? `${prefix}/` : '',
          cleanup: async () => {
            store.close()
            await deleteDB(dbName)
          },
        }
      },
    })
  }

  it('the folder cursor jumps past each session: one step per session, not per key', async () => {
    const dbName = uniqueDbName()
    const store = new IndexedDBStorage({ dbName })
    try {
      for (const id of ['a', 'b', 'c']) {
        for (let i = 0; i < 10; i++)
          await store.commitSnapshot({ location: { sessionId: id, scope: 'agent', scopeId: 'm' }, snapshot: sampleSnapshot(i) })
      }
      await store.backend.put('.snapshelf/outbox/x', new Uint8Array([1]))
      await store.backend.put('README', new Uint8Array([1]))
      const proto = IDBCursor.prototype as unknown as { continue(key?: IDBValidKey): void }
      const original = proto.continue
      const steps: (IDBValidKey | undefined)[] = []
      proto.continue = function (this: IDBCursor, key?: IDBValidKey) {
        steps.push(key)
        return original.call(this, key)
      }
      let page: Awaited<ReturnType<IndexedDBBackend['listFolders']>>
      try {
        page = await store.backend.listFolders('', { limit: 2 })
      } finally {
        proto.continue = original
      }
      expect(page).toEqual({ folders: ['.snapshelf/', 'a/'], truncated: true })
      // `.snapshelf/`, the file `README` (one step), `a/`, then `b/` (the one past the page): each
      // folder one jump, no key-by-key step through its 20 keys.
      expect(steps).toEqual(['.snapshelf0', undefined, 'a0', 'b0'])
      expect(await store.backend.listFolders('', { startAfter: 'a0' })).toEqual({ folders: ['b/', 'c/'], truncated: false })
      // `.snapshelf` is no session id, `README` no folder.
      expect((await store.listSessions()).items.map((i) => i.sessionId)).toEqual(['a', 'b', 'c'])
    } finally {
      store.close()
      await deleteDB(dbName)
    }
  })

  it('rows written before times were recorded list with updatedAt null', async () => {
    const dbName = uniqueDbName()
    const store = new IndexedDBStorage({ dbName })
    try {
      await store.commitSnapshot({ location: { sessionId: 'old', scope: 'agent', scopeId: 'm' }, snapshot: sampleSnapshot(1) })
      // Strip `lastModified` from the rows, as an earlier version wrote them.
      await new Promise<void>((resolve, reject) => {
        const open = indexedDB.open(dbName)
        open.onsuccess = () => {
          const tx = open.result.transaction('entries', 'readwrite')
          const entries = tx.objectStore('entries')
          const all = entries.getAll()
          all.onsuccess = () => {
            for (const { lastModified: _, ...row } of all.result) entries.put(row)
          }
          tx.oncomplete = () => {
            open.result.close()
            resolve()
          }
          tx.onerror = () => reject(tx.error)
        }
      })
      expect((await store.listSessions()).items).toMatchObject([{ sessionId: 'old', updatedAt: null }])
    } finally {
      store.close()
      await deleteDB(dbName)
    }
  })
})
