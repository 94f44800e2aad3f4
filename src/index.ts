/**
 * `snapshelf`: the core. Types, errors, ids, the codec, the snapshot layer over byte backends,
 * and `MemoryStorage`. Imports neither aws4fetch nor idb; tiers live in their own subpaths
 * (`snapshelf/s3`, `/r2`, `/indexeddb`, `/http`, `/tiered`).
 */
export type {
  JSONValue,
  Scope,
  Snapshot,
  SnapshotInfo,
  SnapshotLocation,
  SnapshotManifest,
  SnapshotStorage,
  SnapshotStore,
  StoreOptions,
} from './types.js'
export type { Backend, BackendCallOptions, BackendEntry, BackendListPage, BackendObject, BackendPutOptions } from './backend.js'
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
  type SnapshelfErrorCode,
  type SnapshelfErrorDetails,
} from './errors.js'
export { isSnapshotId, newSnapshotId, snapshotIdTime } from './ids.js'
export { DEFAULT_MAX_DECODED_BYTES, decodeJSON, encodeJSON, isGzip } from './codec.js'
export { BackendSnapshotStore, type BackendSnapshotStoreOptions } from './store.js'
export { MemoryBackend } from './backends/memory.js'
export { MemoryStorage } from './memory.js'
