/**
 * `snapshelf/tiered`: local-first snapshots. Writes land in a local tier (IndexedDB, memory) and a
 * persistent outbox; `sync()` pushes them to a remote tier (HTTP, S3, R2) and pulls what other
 * devices wrote, copying encoded bytes key to key.
 *
 * @example
 * import { TieredStorage } from 'snapshelf/tiered'
 * const storage = new TieredStorage({ local: new MemoryStorage(), remote: new S3Storage(cfg) })
 */
export {
  TieredStorage,
  type SyncOptions,
  type Tier,
  type TieredStatus,
  type TieredStorageOptions,
} from '../tiered/storage.js'
export type { SyncProgress, SyncResult } from '../tiered/sync.js'
export type { EvictResult } from '../tiered/evict.js'
export { TieredBackend, type TieredBackendOptions } from '../tiered/backend.js'
