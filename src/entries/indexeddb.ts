/**
 * `snapshelf/indexeddb`: snapshots in the browser's IndexedDB, with the same key layout,
 * contract and errors as every other tier, and `watchLatest` that hears other tabs.
 */
import { IndexedDBBackend, type IndexedDBBackendOptions } from '../backends/indexeddb.js'
import { BackendSnapshotStore } from '../core/store.js'
import type { Snapshot, StoreOptions } from '../core/types.js'

export { IndexedDBBackend, INDEXEDDB_SCHEMA_VERSION, type IndexedDBBackendOptions } from '../backends/indexeddb.js'

/**
 * Options of `IndexedDBStorage`: the store options plus `dbName` (default `'snapshelf'`) and
 * `blockedTimeoutMs` (how long to wait for another tab to release an old database version).
 *
 * @example
 * const options: IndexedDBStorageOptions = { dbName: 'my-agent', compression: 'gzip' }
 */
export interface IndexedDBStorageOptions extends StoreOptions, Omit<IndexedDBBackendOptions, 'schemaVersion'> {}

/**
 * Snapshots in IndexedDB, for browsers (and any runtime with `indexedDB`). `updateLatest` is a
 * compare-and-swap inside one readwrite transaction, so tabs racing on one session lose nothing;
 * `watchLatest` is push-based: the writing tab notifies itself after the commit and other tabs
 * through a `BroadcastChannel` (a burst of writes within a few milliseconds shares one message). Quota exhaustion is a `QuotaError` (`ERR_QUOTA`) that leaves
 * everything stored before intact.
 *
 * @example
 * import { IndexedDBStorage } from 'snapshelf/indexeddb'
 * import { newSnapshotId } from 'snapshelf'
 * const storage = new IndexedDBStorage({ dbName: 'my-agent' })
 * const location = { sessionId: 's1', scope: 'agent', scopeId: 'main' }
 * await storage.saveSnapshot({ location, snapshotId: newSnapshotId(), isLatest: true, snapshot })
 * const stop = storage.watchLatest({ location, onChange: (s) => render(s) }) // hears other tabs too
 */
export class IndexedDBStorage<T = Snapshot> extends BackendSnapshotStore<T> {
  declare readonly backend: IndexedDBBackend

  constructor(options: IndexedDBStorageOptions = {}) {
    // The backend takes what it knows (dbName, blockedTimeoutMs) from the same object.
    super({ ...options, backend: new IndexedDBBackend(options) })
  }

  /**
   * Closes the database connection (the next call reopens it). Stop watchers first if the
   * storage is done for good.
   *
   * @example
   * storage.close()
   */
  close(): void {
    this.backend.close()
  }
}
