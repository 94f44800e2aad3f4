import type { EncryptionOptions } from './encryption.js'

/**
 * The public contract (DESIGN.md §1). `SnapshotStorage` is exactly the Strands Agents TypeScript
 * SDK's interface, so any storage of ours can be handed to a Strands `SessionManager` unchanged;
 * `SnapshotStore` adds what users of other systems expect.
 */

/**
 * Any value that survives `JSON.stringify` → `JSON.parse` unchanged.
 *
 * @example
 * const v: JSONValue = { messages: [{ role: 'user', text: 'hi' }], turns: 1 }
 */
export type JSONValue = null | boolean | number | string | JSONValue[] | { [k: string]: JSONValue }

/**
 * What a snapshot belongs to: a single agent, a multi-agent system, or a scope of your own.
 *
 * @example
 * const scope: Scope = 'agent'
 */
export type Scope = 'agent' | 'multiAgent' | (string & {})

/**
 * Where a snapshot lives: every id matches `^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$`.
 *
 * @example
 * const location: SnapshotLocation = { sessionId: 'session-42', scope: 'agent', scopeId: 'planner' }
 */
export interface SnapshotLocation {
  sessionId: string
  scope: Scope
  scopeId: string
}

/**
 * The Strands Agents snapshot shape; the default payload type of every storage.
 *
 * @example
 * const snapshot: Snapshot = {
 *   scope: 'agent', schemaVersion: '1.0', createdAt: new Date().toISOString(),
 *   data: { messages: [] }, appData: {},
 * }
 */
export interface Snapshot {
  /**
   * Exactly Strands' snapshot scope. Locations accept any `Scope`; the default payload type stays
   * Strands' own so `new MemoryStorage()` type-checks wherever Strands wants a `SnapshotStorage`.
   * Custom payloads: pass your own type, `new MemoryStorage<MySnapshot>()`.
   */
  scope: 'agent' | 'multiAgent'
  schemaVersion: string
  createdAt: string
  data: Record<string, JSONValue>
  appData: Record<string, JSONValue>
}

/**
 * Per-scope bookkeeping that Strands keeps beside the snapshots. Extra fields a caller adds are
 * stored and returned as they are (the type stays exactly Strands', so storages stay assignable).
 *
 * @example
 * const manifest: SnapshotManifest = { schemaVersion: '1.0', updatedAt: new Date().toISOString() }
 */
export interface SnapshotManifest {
  schemaVersion: string
  updatedAt: string
}

/**
 * Exactly the Strands Agents TypeScript SDK's `SnapshotStorage`.
 *
 * @example
 * const storage: SnapshotStorage = new MemoryStorage()
 * await storage.saveSnapshot({ location, snapshotId: newSnapshotId(), isLatest: true, snapshot })
 */
export interface SnapshotStorage<T = Snapshot> {
  /**
   * Exactly Strands 1.19: `isLatest: true` writes `snapshot_latest.json` alone (whatever
   * `snapshotId` is, `'latest'` included); `isLatest: false` writes the write-once history object
   * `immutable_history/snapshot_<snapshotId>.json` alone. `commitSnapshot` writes both in one call.
   */
  saveSnapshot(p: { location: SnapshotLocation; snapshotId: string; isLatest: boolean; snapshot: T }): Promise<void>
  /** Loads a history snapshot by id, or latest when `snapshotId` is omitted; `null` when absent. */
  loadSnapshot(p: { location: SnapshotLocation; snapshotId?: string }): Promise<T | null>
  /** History ids, oldest first (UUIDv7 order is creation order); `[]` for a `limit` of 0 or less. */
  listSnapshotIds(p: { location: SnapshotLocation; limit?: number; startAfter?: string }): Promise<string[]>
  /** Removes every object of the session, in every scope. Idempotent. */
  deleteSession(p: { sessionId: string }): Promise<void>
  /** The stored manifest, or a default one (`schemaVersion: '1.0'`) when absent. */
  loadManifest(p: { location: SnapshotLocation }): Promise<SnapshotManifest>
  /** Replaces the manifest. */
  saveManifest(p: { location: SnapshotLocation; manifest: SnapshotManifest }): Promise<void>
}

/**
 * One history snapshot's metadata, read without its payload.
 *
 * @example
 * const { items } = await store.listSnapshots({ location })
 * console.log(items[0].snapshotId, items[0].createdAt.toISOString(), items[0].storedBytes)
 */
export interface SnapshotInfo {
  snapshotId: string
  /** Taken from the UUIDv7's millisecond timestamp. */
  createdAt: Date
  /** Bytes as stored (after compression). */
  storedBytes: number
  /**
   * What the snapshot was saved with (`SnapshotMetadata`), where the listing gives it: always on
   * memory, R2, IndexedDB and tiered storage (and HTTP over them); on S3 only with
   * `listSnapshots({ metadata: 'head' })`. Absent when the snapshot has none.
   */
  metadata?: Record<string, string>
}

/**
 * A small string → string map saved with a snapshot (`saveSnapshot` / `commitSnapshot`) as the
 * stored object's own metadata (S3 `x-amz-meta-*`, R2 `customMetadata`, IndexedDB's `entries`
 * row), so `listSnapshots` and `listSessions` return it without reading any payload.
 *
 * **Metadata is never encrypted**, even on a storage with `encryption`: the bucket, the Worker and
 * anyone who can list see it. Keep secrets and conversation text in the snapshot itself.
 *
 * Rules (`ERR_VALIDATION` before any I/O otherwise): at most 32 entries; names of 1-64 `a-z 0-9 -`
 * characters, starting with a letter or digit and not with `snapshelf-`; values non-empty strings
 * without control characters; at most 1024 bytes of names plus values as stored, where `%`,
 * non-ASCII characters and outer spaces are percent-encoded as UTF-8 (an `é` counts 6).
 *
 * @example
 * const metadata: SnapshotMetadata = { title: 'Trip to Lisbon', turn: '12', tokens: '5310' }
 * await storage.commitSnapshot({ location, snapshot, metadata })
 */
export type SnapshotMetadata = Record<string, string>

/**
 * One session of the catalogue (`listSessions`), read without any payload.
 *
 * @example
 * const { items } = await store.listSessions({ limit: 50 })
 * for (const s of items) console.log(s.sessionId, s.updatedAt?.toISOString(), s.storedBytes)
 */
export interface SessionInfo {
  sessionId: string
  /**
   * When the session last changed: the newest last-modified time of its snapshot-layout keys
   * (latest, manifest, tombstones, and the history the listing passed; see `listSessions`).
   * `null` when the tier recorded no time for any of them (IndexedDB rows written before
   * snapshelf recorded times, a handler of an earlier version): such a session never matches
   * `updatedBefore`, so retention never deletes what it cannot date.
   */
  updatedAt: Date | null
  /** Bytes stored under the session's snapshot layout, when the listing saw every key of it. */
  storedBytes?: number
  /**
   * The metadata of the session's most recently written latest snapshot (of any scope), where the
   * catalogue's one listing per session carries metadata: memory, R2, IndexedDB, tiered (and HTTP
   * over those). On S3 only with `listSessions({ metadata: 'head' })` (its listing has none: one
   * HEAD per returned session reads it). Absent when that latest was saved without metadata.
   */
  metadata?: Record<string, string>
}

/**
 * One page of the session catalogue; `nextStartAfter` when more sessions may follow.
 *
 * @example
 * const page: SessionPage = await store.listSessions({ startAfter: previous.nextStartAfter })
 */
export interface SessionPage {
  items: SessionInfo[]
  nextStartAfter?: string
}

/**
 * What `listSessions` takes.
 *
 * @example
 * await store.listSessions({ limit: 100, updatedBefore: new Date(Date.now() - 30 * 86_400_000) })
 */
export interface ListSessionsOptions {
  /** A session id: the page starts after it (a page's `nextStartAfter`). */
  startAfter?: string
  /** An integer from 1 to 1000 (default 100). */
  limit?: number
  /** Only sessions last updated strictly before this (a `Date` or an ISO 8601 string). */
  updatedBefore?: Date | string
  /**
   * `'head'`: where the tier's listing carries no metadata (S3, R2's S3 API), read each returned
   * session's `metadata` from its most recently written latest with one HEAD (a few in parallel),
   * so the catalogue costs one request more per session. `'listed'` (default): only what the
   * listing gives, no extra request.
   */
  metadata?: 'listed' | 'head'
  /**
   * `'key'` (default): pages in key order of the session ids, `nextStartAfter` continuing.
   * `'recent'`: the `limit` most recently updated sessions, newest first, in one page (no
   * `nextStartAfter`; sessions of unknown time last). No object store lists by time, so this walks
   * the whole catalogue: free of network on memory, IndexedDB and tiered (this device's sessions),
   * one catalogue page per 1000 sessions over S3, R2 and HTTP. Not with `startAfter`.
   */
  order?: 'key' | 'recent'
  signal?: AbortSignal
}

/**
 * What `deleteSessions` reports after each session it deleted: sessions deleted and sessions
 * looked at (listed), so far.
 *
 * @example
 * const progress: DeleteSessionsProgress = { deleted: 3, scanned: 120 }
 */
export interface DeleteSessionsProgress {
  deleted: number
  scanned: number
}

/**
 * What `deleteSessions` takes.
 *
 * @example
 * await store.deleteSessions({ updatedBefore: '2026-01-01T00:00:00Z', onProgress: (p) => console.log(p) })
 */
export interface DeleteSessionsOptions {
  /** Required: deletes the sessions last updated strictly before this (a `Date` or an ISO 8601 string). */
  updatedBefore: Date | string
  /** Stops the job at its next request (`ERR_ABORTED`); a later call finishes it. */
  signal?: AbortSignal
  onProgress?: (progress: DeleteSessionsProgress) => void
}

/**
 * What every method of a `SnapshotStore` takes besides its own parameters: the caller's signal.
 * Once it fires, the call rejects with `AbortedError` (`ERR_ABORTED`) at its next step.
 *
 * @example
 * await store.loadSnapshot({ location, signal: AbortSignal.timeout(5000) })
 */
export interface CallOptions {
  signal?: AbortSignal
}

/** A location and, optionally, the caller's signal: what most methods take. */
type At = { location: SnapshotLocation } & CallOptions

/**
 * What every storage class of snapshelf implements: Strands' interface plus metadata listing,
 * compare-and-swap of latest, change watching and retention. Every method also takes
 * `CallOptions` (the caller's `signal`).
 *
 * @example
 * const store: SnapshotStore = new MemoryStorage()
 * await store.updateLatest({ location, mutate: (cur) => ({ ...cur!, appData: { n: 1 } }) })
 */
export interface SnapshotStore<T = Snapshot> extends SnapshotStorage<T> {
  /** Strands' save, plus `metadata` (`SnapshotMetadata`: never encrypted) stored with the object. */
  saveSnapshot(p: At & { snapshotId: string; isLatest: boolean; snapshot: T; metadata?: SnapshotMetadata }): Promise<void>
  loadSnapshot(p: At & { snapshotId?: string }): Promise<T | null>
  listSnapshotIds(p: At & { limit?: number; startAfter?: string }): Promise<string[]>
  deleteSession(p: { sessionId: string } & CallOptions): Promise<void>
  loadManifest(p: At): Promise<SnapshotManifest>
  saveManifest(p: At & { manifest: SnapshotManifest }): Promise<void>
  /**
   * Saves a snapshot as a new history snapshot and as latest in one call (history first) and
   * resolves its id (a new UUIDv7 unless `snapshotId` is given, for an idempotent retry);
   * `metadata` (`SnapshotMetadata`: never encrypted) is stored with both objects.
   */
  commitSnapshot(p: At & { snapshot: T; snapshotId?: string; metadata?: SnapshotMetadata }): Promise<{ snapshotId: string }>
  /**
   * One page of history metadata (no payloads), oldest first; `nextStartAfter` when more remain.
   * `metadata: 'head'` also reads each item's `metadata` where the listing lacks it (S3: one HEAD
   * per item, 8 at a time); by default items carry it where the listing has it for free.
   */
  listSnapshots(
    p: At & { limit?: number; startAfter?: string; metadata?: 'listed' | 'head' },
  ): Promise<{ items: SnapshotInfo[]; nextStartAfter?: string }>
  /** Whether a history snapshot (or latest, when `snapshotId` is omitted) exists. */
  hasSnapshot(p: At & { snapshotId?: string }): Promise<boolean>
  /** Deletes one history snapshot; deleting an absent one is not an error. */
  deleteSnapshot(p: At & { snapshotId: string }): Promise<void>
  /**
   * Atomic read-modify-write of latest: `mutate` sees the current latest (or `null`) and returns
   * the next one; `null` writes nothing; throwing aborts. Lost races are retried with jittered backoff.
   * The latest's metadata (`SnapshotMetadata`, if it was saved with some) is kept.
   */
  updateLatest(
    p: At & { maxAttempts?: number; mutate: (current: T | null) => T | null | Promise<T | null> },
  ): Promise<{ committed: boolean; snapshot: T | null }>
  /**
   * Calls `onChange` once per change of latest; returns an unsubscribe function. The signal, when
   * given, unsubscribes once it fires.
   */
  watchLatest(p: At & { onChange: (snapshot: T) => void; intervalMs?: number }): () => void
  /** Deletes history beyond the newest `keepLast` and/or older than `olderThan`; returns how many. */
  prune(p: At & { keepLast?: number; olderThan?: Date }): Promise<number>
  /**
   * One page of the session catalogue, ascending by session id (key order of `<sessionId>/`),
   * metadata only: no payload is read.
   */
  listSessions(p?: ListSessionsOptions): Promise<SessionPage>
  /**
   * Retention: deletes (`deleteSession`) every session last updated before `updatedBefore`, page
   * by page of `listSessions`; resolves the final counts. Resumable: a second call finishes an
   * aborted or failed one (what was deleted is gone; nothing is deleted twice).
   */
  deleteSessions(p: DeleteSessionsOptions): Promise<DeleteSessionsProgress>
}

/**
 * Options every storage class takes.
 *
 * @example
 * new MemoryStorage({ prefix: 'prod/agents', compression: 'none', maxDecodedBytes: 8 << 20 })
 */
export interface StoreOptions {
  /** Key prefix, `/`-separated segments of `[A-Za-z0-9._-]` (no `.` or `..` segments). */
  prefix?: string
  /** `'gzip'` (default) or `'none'` (plain JSON, readable by Strands' own storage). */
  compression?: 'gzip' | 'none'
  /** Largest decoded snapshot accepted on read or write, in bytes (default 64 MiB). */
  maxDecodedBytes?: number
  /**
   * Client-side AES-GCM of every object after compression, bound to its key (see
   * `EncryptionOptions`). A storage with it refuses plaintext objects on read; one without it
   * reading an encrypted object says so and names the key id it needs.
   */
  encryption?: EncryptionOptions
  /**
   * `true` (default): a history snapshot is stored as its change from the snapshot this storage
   * saved before it at that location (an array that only grew costs its new tail), with a whole
   * snapshot every so often; any snapshot still loads in three round trips. `false` stores every
   * history snapshot whole, as before: for buckets another reader (Strands' own `S3Storage`)
   * reads. Either way every object ever written stays readable, and latest is always whole.
   *
   * @example
   * new S3Storage({ ...s3, dedup: false }) // history objects Strands' S3Storage reads
   */
  dedup?: boolean
}
