import type { Backend } from './backend.js'
import { DEFAULT_MAX_DECODED_BYTES, decodeJSON, decodeText, encodeJSON, encodeUtf8, jsonText, parseObject, streamed } from './codec.js'
import { compareAndSwap } from './cas.js'
import { type EncryptionOptions, type Sealer, sealerOf } from './encryption.js'
import { ConflictError, CorruptError, ValidationError, throwIfAborted } from './errors.js'
import { History, type SnapshotBytes } from './history.js'
import { checkId, checkLocation, checkPrefix, checkSnapshotId, newSnapshotId, snapshotIdTime } from './ids.js'
import { historyFolder, historyIdIn, historyKey, joinPrefix, latestKey, manifestKey, sessionPrefix } from './keys.js'
import { deleteSessionKeys, nextCursor } from './listing.js'
import { decodeMetadata, encodeMetadata } from './metadata.js'
import { checkSessionQuery } from './session-query.js'
import { PAGE_SIZE, chunks, sameBytes } from './util.js'
import { watchKey } from './watch.js'
import type {
  CallOptions,
  DeleteSessionsOptions,
  DeleteSessionsProgress,
  ListSessionsOptions,
  SessionPage,
  Snapshot,
  SnapshotInfo,
  SnapshotLocation,
  SnapshotManifest,
  SnapshotMetadata,
  SnapshotStore,
  StoreOptions,
} from './types.js'

/**
 * Options of `BackendSnapshotStore`: the byte backend plus the options every storage takes.
 *
 * @example
 * new BackendSnapshotStore({ backend: new MemoryBackend(), prefix: 'agents' })
 */
export interface BackendSnapshotStoreOptions extends StoreOptions {
  backend: Backend
}

const DEFAULT_ATTEMPTS = 20
/** Longest JSON text (UTF-16 units) delta history diffs; longer snapshots are stored whole. */
const DELTA_MAX_CHARS = 8 << 20

/**
 * The one snapshot layer: key layout, validation, codec, compare-and-swap, listing, prune and
 * watch, written once over any `Backend`. Every tier class (`MemoryStorage`, `S3Storage`, …) is
 * this class with its backend filled in, so every tier behaves identically.
 *
 * @example
 * const store = new BackendSnapshotStore({ backend: myBackend })
 * await store.saveSnapshot({ location, snapshotId: newSnapshotId(), isLatest: true, snapshot })
 */
export class BackendSnapshotStore<T = Snapshot> implements SnapshotStore<T> {
  /** The byte backend underneath (advanced: tiered sync copies its bytes directly). */
  readonly backend: Backend
  /** The normalised key prefix (`''` when none). */
  readonly prefix: string
  readonly compression: 'gzip' | 'none'
  readonly maxDecodedBytes: number
  /** The `encryption` option as given (adapters built on this storage seal with it too). */
  readonly encryption?: EncryptionOptions
  /** Whether new history is stored as deltas (the `dedup` option). */
  readonly dedup: boolean
  readonly #sealer?: Sealer
  readonly #history: History

  constructor(options: BackendSnapshotStoreOptions) {
    if (typeof options?.backend?.get !== 'function') throw new ValidationError('backend', 'must implement Backend')
    const { compression = 'gzip', maxDecodedBytes = DEFAULT_MAX_DECODED_BYTES, dedup = true } = options
    if (compression !== 'gzip' && compression !== 'none') throw new ValidationError('compression', "must be 'gzip' or 'none'")
    if (typeof dedup !== 'boolean') throw new ValidationError('dedup', 'must be a boolean')
    checkPositiveInt('maxDecodedBytes', maxDecodedBytes)
    this.backend = options.backend
    this.prefix = checkPrefix(options.prefix)
    this.compression = compression
    this.maxDecodedBytes = maxDecodedBytes
    this.#sealer = sealerOf(options.encryption, joinPrefix(this.prefix))
    this.encryption = options.encryption
    this.dedup = dedup
    const store = this
    this.#history = new History({
      // Read on use: a test (or a wrapper) may swap the backend after construction.
      get backend() {
        return store.backend
      },
      prefix: this.prefix,
      compression,
      maxDecodedBytes,
      dedup,
      open: (bytes, key) => this.#open(bytes, key),
      seal: (plain, key) => this.#seal(plain, key),
    })
  }

  async saveSnapshot(
    p: { location: SnapshotLocation; snapshotId: string; isLatest: boolean; snapshot: T; metadata?: SnapshotMetadata } & CallOptions,
  ): Promise<void> {
    const l = checkLocation(p?.location)
    if (typeof p.isLatest !== 'boolean') throw new ValidationError('isLatest', 'must be a boolean')
    // Exactly Strands 1.19's own storages: isLatest writes snapshot_latest.json alone, whatever
    // snapshotId says; otherwise the history object alone. `commitSnapshot` writes both.
    if (!p.isLatest) checkSnapshotId('snapshotId', p.snapshotId)
    else if (typeof p.snapshotId !== 'string') throw new ValidationError('snapshotId', 'must be a string')
    const metadata = encodeMetadata(p.metadata)
    const snapshot = await this.#snapshotBytes(p.snapshot)
    if (p.isLatest) {
      const key = latestKey(this.prefix, l)
      const bytes = await this.#seal(await snapshot.whole(), key)
      throwIfAborted(p.signal)
      await this.backend.put(key, bytes, { signal: p.signal, metadata })
    } else {
      await (await this.#createHistory(l, p.snapshotId, snapshot, p.signal, metadata))()
    }
  }

  /**
   * Saves `snapshot` as a new history snapshot and as latest in one call, encoded once, and
   * resolves its id: what an agent does after every turn. History is written first (create-only),
   * so latest never holds a snapshot that history lacks; pass `snapshotId` (a UUIDv7) to make a
   * retry of the same commit idempotent. `metadata` (never encrypted: see `SnapshotMetadata`) is
   * stored with both objects, so `listSnapshots` and `listSessions` show it.
   *
   * @example
   * const { snapshotId } = await storage.commitSnapshot({ location, snapshot, metadata: { title: 'Trip to Lisbon', turn: '12' } })
   */
  async commitSnapshot(
    p: { location: SnapshotLocation; snapshot: T; snapshotId?: string; metadata?: SnapshotMetadata } & CallOptions,
  ): Promise<{ snapshotId: string }> {
    const l = checkLocation(p?.location)
    const snapshotId = p.snapshotId === undefined ? newSnapshotId() : checkSnapshotId('snapshotId', p.snapshotId)
    const metadata = encodeMetadata(p.metadata)
    const bytes = await this.#snapshotBytes(p.snapshot)
    // Latest is always whole: one GET loads it, and Strands' own storages read it. Its gzip runs
    // while history (most often a small delta) is written: for a large snapshot it is most of a
    // save's time (344 KB of JSON: ~16 ms in Node, on zlib's thread pool).
    const latest = latestKey(this.prefix, l)
    const sealed = bytes.whole().then((whole) => this.#seal(whole, latest))
    sealed.catch(() => {}) // awaited below, unless history's write fails first
    const check = await this.#createHistory(l, snapshotId, bytes, p.signal, metadata)
    await Promise.all([this.backend.put(latest, await sealed, { signal: p.signal, metadata }), check()])
    return { snapshotId }
  }

  async loadSnapshot(p: { location: SnapshotLocation; snapshotId?: string } & CallOptions): Promise<T | null> {
    const l = checkLocation(p?.location)
    if (p.snapshotId === undefined) {
      const key = latestKey(this.prefix, l)
      const obj = await this.backend.get(key, { signal: p.signal })
      if (!obj) return null
      const plain = await this.#open(obj.body, key)
      // A large one is parsed as it inflates, in bounded memory (codec.ts), and stored whole anyway.
      if (!this.dedup || streamed(plain)) return decodeJSON<T>(plain, key, this.maxDecodedBytes)
      const text = await decodeText(plain, key, this.maxDecodedBytes)
      // The next history save may build on it (history.ts `noteLatest`).
      this.#history.noteLatest(l, text)
      return parseObject<T>(text, key)
    }
    return this.#history.read<T>(l, checkSnapshotId('snapshotId', p.snapshotId), p.signal)
  }

  async listSnapshotIds(p: { location: SnapshotLocation; limit?: number; startAfter?: string } & CallOptions): Promise<string[]> {
    return (await this.listSnapshots(p)).items.map((i) => i.snapshotId)
  }

  async listSnapshots(
    p: { location: SnapshotLocation; limit?: number; startAfter?: string; metadata?: 'listed' | 'head' } & CallOptions,
  ): Promise<{ items: SnapshotInfo[]; nextStartAfter?: string }> {
    const l = checkLocation(p?.location)
    const heads = p.metadata === 'head'
    if (!heads && p.metadata !== undefined && p.metadata !== 'listed') throw new ValidationError('metadata', "must be 'listed' or 'head'")
    let cursor = p.startAfter === undefined ? undefined : historyKey(this.prefix, l, checkSnapshotId('startAfter', p.startAfter))
    // As Strands: a limit of 0 or less asks for nothing (no I/O); other non-integers are refused.
    if (Number.isInteger(p.limit) && p.limit! <= 0) return { items: [] }
    const limit = p.limit === undefined ? Infinity : checkPositiveInt('limit', p.limit)
    const folder = historyFolder(this.prefix, l)
    const items: SnapshotInfo[] = []
    for (;;) {
      const want = Math.min(limit - items.length, this.backend.maxListPage ?? PAGE_SIZE)
      const page = await this.backend.list(folder, { startAfter: cursor, limit: want, signal: p.signal })
      const found: [SnapshotInfo, string][] = []
      for (const e of page.entries) {
        const id = historyIdIn(folder, e.key)
        if (id === undefined || items.length >= limit) continue
        const item: SnapshotInfo = { snapshotId: id, createdAt: snapshotIdTime(id), storedBytes: e.size }
        const metadata = decodeMetadata(e.metadata)
        if (metadata) item.metadata = metadata
        items.push(item)
        found.push([item, e.key])
      }
      // S3 lists no user metadata: asked for, it is one HEAD per item, a few at a time.
      if (heads && !page.metadataListed) {
        for (const batch of chunks(found, 8)) {
          await Promise.all(
            batch.map(async ([item, key]) => {
              const metadata = decodeMetadata((await this.backend.head(key, { signal: p.signal }))?.metadata)
              if (metadata) item.metadata = metadata
            }),
          )
        }
      }
      cursor = nextCursor(cursor, page, folder)
      if (!page.truncated) return { items }
      if (items.length >= limit) return { items, nextStartAfter: items.at(-1)!.snapshotId }
    }
  }

  async hasSnapshot(p: { location: SnapshotLocation; snapshotId?: string } & CallOptions): Promise<boolean> {
    return (await this.backend.head(this.#snapshotKey(p), { signal: p.signal })) !== null
  }

  async deleteSnapshot(p: { location: SnapshotLocation; snapshotId: string } & CallOptions): Promise<void> {
    const l = checkLocation(p?.location)
    // A later snapshot built on it gets a whole copy first (history.ts).
    await this.#history.remove(l, [checkSnapshotId('snapshotId', p.snapshotId)], p.signal)
  }

  async deleteSession(p: { sessionId: string } & CallOptions): Promise<void> {
    const sessionId = checkId('sessionId', p?.sessionId)
    this.#history.forget(sessionPrefix(this.prefix, sessionId))
    await deleteSessionKeys(this.backend, joinPrefix(this.prefix), sessionId, { signal: p.signal })
  }

  /**
   * One page of the session catalogue: the sessions this store holds, ascending by id (key order
   * of `<sessionId>/`), each with when it last changed and, where the listing saw all of it, its
   * stored bytes. No payload is read: one folder listing of the store prefix (S3 and R2 list it
   * with a delimiter) and one listing per returned session, a few in parallel (see
   * core/catalogue.ts). `updatedBefore` keeps only sessions last changed before it (listing on, so
   * a page is empty only at the end). Bad options are `ERR_VALIDATION` before any I/O.
   *
   * @example
   * let page = await storage.listSessions({ limit: 100 })
   * while (page.nextStartAfter) page = await storage.listSessions({ startAfter: page.nextStartAfter })
   */
  async listSessions(p?: ListSessionsOptions): Promise<SessionPage> {
    const query = { ...checkSessionQuery(p), signal: p?.signal }
    const { backend } = this
    const root = joinPrefix(this.prefix)
    // A tier that answers the catalogue itself (HTTP: its handler; tiered: the local tier). The
    // walk is imported on first use: programs that never list sessions do not load it.
    return (await import('./catalogue.js')).sessionsOf(backend, root, query)
  }

  /**
   * Retention: deletes every session last changed before `updatedBefore` (its `deleteSession`:
   * every key of the session, in every scope), walking `listSessions` page by page, and calls
   * `onProgress` after each. Abort with `signal`; a second call finishes the job: what was deleted
   * is gone, and the rest is found again (a session changed since no longer matches). A session
   * whose time is unknown is never deleted.
   *
   * @example
   * const { deleted } = await storage.deleteSessions({ updatedBefore: new Date(Date.now() - 90 * 86_400_000) })
   */
  async deleteSessions(p: DeleteSessionsOptions): Promise<DeleteSessionsProgress> {
    return (await import('./catalogue.js')).deleteSessionsOf(this, p)
  }

  async loadManifest(p: { location: SnapshotLocation } & CallOptions): Promise<SnapshotManifest> {
    const stored = await this.#read<SnapshotManifest>(manifestKey(this.prefix, checkLocation(p?.location)), p.signal)
    return stored ?? { schemaVersion: '1.0', updatedAt: new Date().toISOString() }
  }

  async saveManifest(p: { location: SnapshotLocation; manifest: SnapshotManifest } & CallOptions): Promise<void> {
    const l = checkLocation(p?.location)
    const m = p.manifest
    if (typeof m?.schemaVersion !== 'string' || typeof m.updatedAt !== 'string') {
      throw new ValidationError('manifest', 'must be an object with string schemaVersion and updatedAt')
    }
    const key = manifestKey(this.prefix, l)
    await this.backend.put(key, await this.#seal(await this.#encode('manifest', m), key), { signal: p.signal })
  }

  async updateLatest(
    p: {
      location: SnapshotLocation
      maxAttempts?: number
      mutate: (current: T | null) => T | null | Promise<T | null>
    } & CallOptions,
  ): Promise<{ committed: boolean; snapshot: T | null }> {
    const key = latestKey(this.prefix, checkLocation(p?.location))
    const maxAttempts = checkPositiveInt('maxAttempts', p.maxAttempts ?? DEFAULT_ATTEMPTS)
    if (typeof p.mutate !== 'function') throw new ValidationError('mutate', 'must be a function')
    const { committed, value } = await compareAndSwap<T>(this.backend, key, {
      decode: (bytes) => this.#decode<T>(bytes, key),
      encode: async (next) => this.#seal(await this.#encode('snapshot', next), key),
      mutate: p.mutate,
      maxAttempts,
      signal: p.signal,
    })
    return { committed, snapshot: value }
  }

  watchLatest(p: {
    location: SnapshotLocation
    onChange: (snapshot: T) => void
    signal?: AbortSignal
    intervalMs?: number
    /** Called with read/decode failures; polling goes on. Defaults to ignoring them. */
    onError?: (error: unknown) => void
  }): () => void {
    const key = latestKey(this.prefix, checkLocation(p?.location))
    return watchKey<T>(this.backend, key, {
      decode: (bytes) => this.#decode<T>(bytes, key),
      onChange: p.onChange,
      signal: p.signal,
      intervalMs: p.intervalMs ?? (this.backend.subscribe ? 0 : 1000),
      onError: p.onError,
    })
  }

  async prune(p: { location: SnapshotLocation; keepLast?: number; olderThan?: Date } & CallOptions): Promise<number> {
    const l = checkLocation(p?.location)
    const { keepLast, olderThan } = p
    if (keepLast === undefined && olderThan === undefined) throw new ValidationError('prune', 'needs keepLast and/or olderThan')
    if (keepLast !== undefined && (!Number.isInteger(keepLast) || keepLast < 0)) {
      throw new ValidationError('keepLast', 'must be an integer >= 0')
    }
    if (olderThan !== undefined && !(olderThan instanceof Date && !Number.isNaN(olderThan.getTime()))) {
      throw new ValidationError('olderThan', 'must be a valid Date')
    }
    const { items } = await this.listSnapshots({ location: l, signal: p.signal })
    // A snapshot is kept when any given rule keeps it: among the newest keepLast, or newer than olderThan.
    const doomed = items
      .filter((item, i) => {
        const beyondCount = keepLast === undefined || i < items.length - keepLast
        const tooOld = olderThan === undefined || item.createdAt < olderThan
        return beyondCount && tooOld
      })
      .map((i) => i.snapshotId)
    // Survivors built on what goes get whole copies first (history.ts).
    await this.#history.remove(l, doomed, p.signal)
    return doomed.length
  }

  /** Validates and encodes a snapshot or manifest with this store's codec settings. */
  #encode(field: string, value: unknown): Promise<Uint8Array> {
    return encodeJSON(value, this.compression, this.maxDecodedBytes, field)
  }

  /** Encoded bytes as stored at `key`: sealed for it when the store has `encryption`. */
  async #seal(plain: Uint8Array, key: string): Promise<Uint8Array> {
    return this.#sealer ? this.#sealer.seal(plain, key) : plain
  }

  /** Stored bytes of `key` opened: when the store has `encryption` (plaintext refused), else as they are. */
  async #open(bytes: Uint8Array, key: string): Promise<Uint8Array> {
    return this.#sealer ? this.#sealer.open(bytes, key) : bytes
  }

  /** Stored bytes of `key` decoded, opened first (see `#open`). */
  async #decode<V>(bytes: Uint8Array, key: string): Promise<V> {
    return decodeJSON<V>(await this.#open(bytes, key), key, this.maxDecodedBytes)
  }

  /**
   * Creates history object `id` once: a delta from this store's last snapshot of `l` where that
   * pays (history.ts), else `whole`. A create that finds the same snapshot already there (our own
   * earlier attempt, perhaps whole where this one is a delta) is a success. Resolves the check
   * that a delta's parent is still there (history.ts `body`'s `check`), for the caller to await.
   */
  async #createHistory(
    l: SnapshotLocation,
    id: string,
    snapshot: SnapshotBytes,
    signal?: AbortSignal,
    metadata?: Record<string, string>,
  ): Promise<() => Promise<void>> {
    const key = historyKey(this.prefix, l, id)
    const { json } = snapshot
    const body = await this.#history.body(l, id, snapshot)
    const bytes = await this.#seal(body.plain, key)
    throwIfAborted(signal)
    try {
      await this.#createOnce(key, bytes, body.plain, signal, metadata)
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error
      const existing = await this.#history.read(l, id, signal).catch((e) => {
        if (e instanceof CorruptError) return undefined
        throw e
      })
      if (json === undefined || existing == null || JSON.stringify(existing) !== json) throw error
      return async () => {}
    }
    body.written()
    return () => body.check(signal)
  }

  /**
   * A snapshot's whole stored bytes and, where delta history will diff it, its JSON text and that
   * text's UTF-8 (encoded once: stored, and hashed by a delta); not for a large one (see codec.ts
   * `jsonText`), which is written piece by piece and stored whole.
   */
  async #snapshotBytes(value: T): Promise<SnapshotBytes> {
    const json = this.dedup ? jsonText(value, this.maxDecodedBytes, 'snapshot', DELTA_MAX_CHARS) : undefined
    if (json === undefined) {
      // Encoded (and so checked) before any request is made.
      const whole = Promise.resolve(await encodeJSON(value, this.compression, this.maxDecodedBytes))
      return { whole: () => whole }
    }
    // jsonText checked it; encoded only when needed (a delta saved alone never is) and once.
    const raw = new TextEncoder().encode(json)
    let whole: Promise<Uint8Array> | undefined
    return { json, raw, whole: () => (whole ??= Promise.resolve(encodeUtf8(raw, this.compression))) }
  }

  #snapshotKey(p: { location: SnapshotLocation; snapshotId?: string }): string {
    const l = checkLocation(p?.location)
    return p.snapshotId === undefined ? latestKey(this.prefix, l) : historyKey(this.prefix, l, checkSnapshotId('snapshotId', p.snapshotId))
  }

  async #read<V>(key: string, signal?: AbortSignal): Promise<V | null> {
    const obj = await this.backend.get(key, { signal })
    return obj && this.#decode<V>(obj.body, key)
  }

  /**
   * Write-once create. A create that finds identical bytes already there is our own earlier
   * attempt (a retry whose first response was lost) and counts as success. Sealed bytes differ
   * on every attempt (a fresh IV), so with `encryption` it is what they open to (`plain`) that
   * must be identical.
   */
  async #createOnce(
    key: string,
    bytes: Uint8Array,
    plain: Uint8Array,
    signal?: AbortSignal,
    metadata?: Record<string, string>,
  ): Promise<void> {
    if (await this.backend.put(key, bytes, { ifNoneMatch: '*', writeOnce: true, signal, metadata })) return
    const existing = await this.backend.get(key, { signal })
    const opened = existing && this.#sealer ? await this.#sealer.open(existing.body, key).catch(() => null) : existing?.body
    if (opened && sameBytes(opened, plain)) return
    if (!existing) {
      // Deleted between our attempt and the check: try once more.
      if (await this.backend.put(key, bytes, { ifNoneMatch: '*', writeOnce: true, signal, metadata })) return
    }
    throw new ConflictError(`${key} holds a different snapshot (history is write-once)`, { key })
  }
}

function checkPositiveInt(field: string, value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 1) throw new ValidationError(field, 'must be an integer >= 1')
  return value as number
}
