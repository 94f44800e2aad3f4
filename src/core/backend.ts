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
  /** Reads an object's ETag and size (and write tokens, if kept) without its body; `null` when absent. */
  head(key: string, options?: BackendCallOptions): Promise<{ etag: string; size: number; tokens?: string[] } | null>
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
  /** Largest page `list` returns (S3: 1000). Defaults to 1000. */
  readonly maxListPage?: number
}
