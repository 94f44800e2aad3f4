import { MemoryBackend } from '../backends/memory.js'
import { BackendSnapshotStore } from '../core/store.js'
import type { Snapshot, StoreOptions } from '../core/types.js'

/**
 * `snapshelf`: the core. Types, errors, ids, the codec, the snapshot layer over byte backends,
 * and `MemoryStorage`. Imports neither aws4fetch nor idb; tiers live in their own subpaths
 * (`snapshelf/s3`, `/r2`, `/indexeddb`, `/http`, `/tiered`).
 */
export type {
  CallOptions,
  DeleteSessionsOptions,
  DeleteSessionsProgress,
  JSONValue,
  ListSessionsOptions,
  Scope,
  SessionInfo,
  SessionPage,
  Snapshot,
  SnapshotInfo,
  SnapshotLocation,
  SnapshotManifest,
  SnapshotMetadata,
  SnapshotStorage,
  SnapshotStore,
  StoreOptions,
} from '../core/types.js'
export type { EncryptionOptions } from '../core/encryption.js'
export { reencrypt, type ReencryptResult } from '../core/reencrypt.js'
export type {
  Backend,
  BackendCallOptions,
  BackendEntry,
  BackendFolderPage,
  BackendHead,
  BackendListPage,
  BackendObject,
  BackendPutOptions,
  SessionQuery,
} from '../core/backend.js'
export {
  AbortedError,
  AuthError,
  ConflictError,
  CorruptError,
  QuotaError,
  RemoteError,
  SnapshelfError,
  TimeoutError,
  TooLargeError,
  ValidationError,
  type AnySnapshelfError,
  type SnapshelfErrorCode,
  type SnapshelfErrorDetails,
} from '../core/errors.js'
export { isSnapshotId, newSnapshotId, snapshotIdTime } from '../core/ids.js'
export { DEFAULT_MAX_DECODED_BYTES, decodeJSON, encodeJSON, GZIP_MIN_BYTES, isGzip } from '../core/codec.js'
export { BackendSnapshotStore, type BackendSnapshotStoreOptions } from '../core/store.js'
export { MemoryBackend } from '../backends/memory.js'

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
