import { describe } from 'vitest'
import { IndexedDBStorage } from 'snapshelf/indexeddb'
import { registerCatalogueCases } from '../helpers/catalogue-cases.js'
import { uniqueDbName } from './indexeddb-cases.js'

// The session catalogue (issue 14) over Chromium's own IndexedDB: the key cursor that jumps past
// each session (`continue(key)`) and the rows' `lastModified`.

describe('IndexedDBStorage catalogue (Chromium)', () => {
  registerCatalogueCases({
    name: 'indexeddb (Chromium)',
    create: async () => {
      const dbName = uniqueDbName()
      const store = new IndexedDBStorage({ dbName })
      return {
        store,
        backend: store.backend,
        root: '',
        cleanup: async () => {
          store.close()
          await new Promise((resolve) => {
            const request = indexedDB.deleteDatabase(dbName)
            request.onsuccess = request.onerror = request.onblocked = resolve
          })
        },
      }
    },
  })
})
