/**
 * The byte-backend contract (advanced API). A backend only moves encoded bytes with ETags and
 * conditional writes; every snapshot semantic (key layout, validation, codec, CAS loop, listing,
 * prune, watch) lives once in `BackendSnapshotStore`. Implement this to add a tier of your own
 * (KV, D1, Durable Objects, a filesystem) and run the contract suite from `snapshelf/testing`.
 *
 * @example
 * import { BackendSnapshotStore, type Backend } from 'snapshelf'
 * class KvBackend implements Backend { … }
 * const store = new BackendSnapshotStore({ backend: new KvBackend(env.KV) })
 */
import type { SessionPage } from './types.js'

/**
 * Options common to every backend call.
 *
 * @example
 * await backend.get(key, { signal: AbortSignal.timeout(5000) })
 */
export interface BackendCallOptions {
  /** The caller's signal; a backend rejects with `AbortedError` once it fires. */
  signal?: AbortSignal
}

/**
 * A stored object as read.
 *
 * @example
 * const obj = await backend.get('s1/scopes/agent/a/snapshots/snapshot_latest.json')
 * if (obj) console.log(obj.etag, obj.body.length)
 */
export interface BackendObject {
  body: Uint8Array
  /** Opaque version tag; changes whenever the object's bytes are replaced. */
  etag: string
  /** Write tokens the object was stored with (see `BackendPutOptions.tokens`), when the backend keeps them. */
  tokens?: string[]
  /** The metadata the object was stored with (see `BackendPutOptions.metadata`); absent when none. */
  metadata?: Record<string, string>
}

/**
 * One listed object: key, stored size and (where cheap) its ETag.
 *
 * @example
 * const entry: BackendEntry = { key: 'p/s1/…/snapshot_0190….json', size: 812 }
 */
export interface BackendEntry {
  key: string
  size: number
  etag?: string
  /**
   * When the object was last written, in ms since the epoch, where the listing has it for free
   * (S3's `LastModified`, R2's `uploaded`, the time memory and IndexedDB recorded at the write).
   * The session catalogue (`listSessions`) dates sessions by it.
   */
  lastModified?: number
  /**
   * The object's metadata (see `BackendPutOptions.metadata`), on a page whose `metadataListed` is
   * true; absent when the object has none.
   */
  metadata?: Record<string, string>
}

/**
 * Conditional-write options: at most one of `ifMatch` / `ifNoneMatch` is set.
 *
 * @example
 * await backend.put(key, bytes, { ifNoneMatch: '*' }) // create-only
 */
export interface BackendPutOptions extends BackendCallOptions {
  /** Write only if the current object's ETag is this one. */
  ifMatch?: string
  /** `'*'`: write only if no object exists at the key. */
  ifNoneMatch?: '*'
  /**
   * The key is write-once (a history object): this put creates it and nothing ever replaces it.
   * Says how the key is written, not a condition: backends may ignore it. `TieredBackend` records
   * it in the outbox, so sync pushes the key create-only and reports different bytes as a conflict
   * (a first compare-and-swap of latest also sends `ifNoneMatch`, and is reconciled instead).
   */
  writeOnce?: boolean
  /**
   * Write tokens for a conditional write: the writer's own random token first, then the tokens
   * of the object it replaces (a chain, newest first). A client whose answer was lost reads them
   * back to tell "my write landed" from "a rival wrote". Backends that can store per-object
   * metadata persist them with the object and return them from `get` / `head` (`R2Backend`);
   * others ignore them, and callers then report such an outcome as unknown.
   */
  tokens?: string[]
  /**
   * Small string metadata stored with the object, replaced with its bytes (a put without it leaves
   * none). The snapshot layer has checked and encoded it (core/metadata.ts): names are 1-64 of
   * `a-z 0-9 -`, values printable ASCII, 1 KiB in all, so it fits an HTTP header and the 2 KB of
   * S3's `x-amz-meta-*` and R2's `customMetadata` beside the write tokens. Backends that can keep
   * per-object metadata return it from `get` / `head` (and from `list` where that is free); a
   * backend that cannot ignores it, and its listings then carry none.
   */
  metadata?: Record<string, string>
}

/**
 * One page of a listing, keys in ascending byte order.
 *
 * @example
 * const { entries, truncated } = await backend.list('s1/', { limit: 1000 })
 */
export interface BackendListPage {
  entries: BackendEntry[]
  /** True when more keys follow the last entry; continue with `startAfter: lastKey`. */
  truncated: boolean
  /**
   * True when the entries carry their objects' metadata (an entry without `metadata` has none):
   * memory, R2, IndexedDB, and HTTP or tiered over one of those. S3's ListObjectsV2 returns no
   * user metadata: absent there, and `head` is the way to read it.
   */
  metadataListed?: boolean
}

/**
 * One page of `listFolders`: full folder prefixes, ascending.
 *
 * @example
 * const { folders, truncated } = await backend.listFolders!('prod/', { limit: 100 }) // ['prod/s1/', 'prod/s2/']
 */
export interface BackendFolderPage {
  folders: string[]
  truncated: boolean
}

/**
 * A validated catalogue query: what `Backend.listSessions` receives.
 *
 * @example
 * const query: SessionQuery = { limit: 100, startAfter: 's1', updatedBefore: Date.parse('2026-01-01T00:00:00Z') }
 */
export interface SessionQuery {
  /** Sessions after this id (in key order of `<sessionId>/`). */
  startAfter?: string
  /** 1..1000. */
  limit: number
  /** Only sessions last updated strictly before this time (ms since the epoch); sessions of unknown time never match. */
  updatedBefore?: number
  /** `'head'`: read the metadata of each returned session's newest latest where the listing lacks it. */
  metadata?: 'head'
  /** `'recent'`: newest first, the whole catalogue walked (`newestFirst`); never passed to a backend. */
  order?: 'recent'
}

/**
 * What `head` reads: an object's ETag and size, and what it was stored with, without its body.
 *
 * @example
 * const found: BackendHead | null = await backend.head(key)
 * if (found) console.log(found.etag, found.size, found.metadata?.title)
 */
export interface BackendHead {
  etag: string
  size: number
  tokens?: string[]
  metadata?: Record<string, string>
}

/**
 * The small interface every tier implements.
 *
 * @example
 * const hit = await backend.put(key, bytes, { ifMatch: etag })
 * if (hit === null) { // lost the race: re-read and retry
 * }
 */
export interface Backend {
  /** Reads an object; `null` when absent. */
  get(key: string, options?: BackendCallOptions): Promise<BackendObject | null>
  /** Reads an object's ETag and size (and write tokens and metadata, if kept) without its body; `null` when absent. */
  head(key: string, options?: BackendCallOptions): Promise<BackendHead | null>
  /** Writes an object; resolves `null` (not an error) when a precondition fails. */
  put(key: string, body: Uint8Array, options?: BackendPutOptions): Promise<{ etag: string } | null>
  /** Deletes keys; absent keys are fine; any key that could not be deleted is an error. */
  delete(keys: string[], options?: BackendCallOptions): Promise<void>
  /**
   * Lists keys starting with `prefix`, ascending, strictly after `startAfter`, at most `limit`
   * (a backend may return fewer, setting `truncated`). Must not read more than the page.
   */
  list(prefix: string, options?: BackendCallOptions & { startAfter?: string; limit?: number }): Promise<BackendListPage>
  /**
   * Optional push notification: calls `onChange` soon after `key` is written or deleted by this
   * backend or (where the tier can tell) by another tab or process. Returns an unsubscribe.
   * Stores fall back to polling `head` when absent.
   */
  subscribe?(key: string, onChange: () => void): () => void
  /**
   * Optional: one page of the folders right under `prefix` (S3's `delimiter=/`), each as its full
   * prefix (`<prefix><name>/`), ascending, at most `limit`, each holding a key strictly after
   * `startAfter` (to skip folder `p/s1/` whole, the caller passes `p/s10`: `/` is the byte below
   * `0`). `truncated` when more may
   * follow; a truncated page is never empty. Without it, `listSessions` walks `list`, skipping
   * past each folder it finds.
   */
  listFolders?(prefix: string, options?: BackendCallOptions & { startAfter?: string; limit?: number }): Promise<BackendFolderPage>
  /**
   * Optional: the session catalogue of the store rooted at `root` (`''` or `'<prefix>/'`), for a
   * tier that answers it whole (`HttpBackend` asks its handler; `TieredBackend` answers from the
   * local tier). Options are validated by the caller. Without it, the core builds it from
   * `listFolders` (or `list`) and one listing per session.
   */
  listSessions?(root: string, options: SessionQuery & BackendCallOptions): Promise<SessionPage>
  /** Largest page `list` returns (S3: 1000). Defaults to 1000. */
  readonly maxListPage?: number
}
