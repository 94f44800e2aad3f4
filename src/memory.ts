import { MemoryBackend } from './backends/memory.js'
import { BackendSnapshotStore } from './store.js'
import type { Snapshot, StoreOptions } from './types.js'

/**
 * Snapshots in memory: the whole `SnapshotStore` contract, nothing persisted. For tests, for
 * short-lived agents, and as the local tier of `TieredStorage` where IndexedDB is absent.
 *
 * @example
 * import { MemoryStorage, newSnapshotId } from 'snapshelf'
 * const storage = new MemoryStorage()
 * const location = { sessionId: 's1', scope: 'agent', scopeId: 'main' }
 * await storage.saveSnapshot({ location, snapshotId: newSnapshotId(), isLatest: true, snapshot })
 * const latest = await storage.loadSnapshot({ location })
 */
export class MemoryStorage<T = Snapshot> extends BackendSnapshotStore<T> {
  constructor(options: StoreOptions = {}) {
    super({ ...options, backend: new MemoryBackend() })
  }
}
