import type {
  Backend,
  BackendCallOptions,
  BackendFolderPage,
  BackendHead,
  BackendListPage,
  BackendObject,
  BackendPutOptions,
} from '../core/backend.js'
import { QuotaError, RemoteError, SnapshelfError, TimeoutError, ValidationError, throwIfAborted } from '../core/errors.js'
import { afterFolder } from '../core/keys.js'
import { PAGE_SIZE } from '../core/util.js'

/**
 * The IndexedDB byte backend. Two object stores written in one transaction:
 * - `bodies`: key → `{ etag, body, metadata? }`, read only by `get`;
 * - `entries`: `{ key, size, etag, lastModified, metadata? }` (keyPath `key`), read by `head` and
 * `list`, so a listing never deserialises a payload (structured clone of a 256 KB body is what
 * costs) and lists snapshot metadata for free. Metadata is in both rows, so `get` reads one store.
 *
 * Compare-and-swap is a read of `entries` and the writes in ONE readwrite transaction with no
 * await on anything but its own requests: IndexedDB serialises readwrite transactions over
 * the same stores, so no other tab or instance can interleave between the check and the write.
 * A create (`ifNoneMatch: '*'`) needs no read at all: `add` is refused by IndexedDB itself.
 *
 * It speaks to IndexedDB's own request API rather than through `idb`: its promise wrappers cost
 * about a fifth of a small write (measured in bench/indexeddb.bench.mjs), and this backend's
 * whole use of IndexedDB is the few requests below.
 *
 * A caller's signal is checked before each operation; a transaction once started completes
 * (they take milliseconds, and a half-aborted write is what compare-and-swap avoids anyway).
 * Writes use the browser's default durability (`relaxed` in Chromium 121+, Firefox, Safari), as
 * a raw IndexedDB write does: a committed write survives a closed tab or a crashed browser; an
 * OS crash or power cut in the seconds after the commit can lose it. Asking for `relaxed`
 * explicitly would gain nothing (measured: no difference in Chromium).
 */

/**
 * Bumped when the object stores change; the upgrade creates whatever is missing. A database at a
 * higher version (a newer snapshelf) is refused with `ValidationError` rather than downgraded.
 *
 * @example
 * console.log(`snapshelf IndexedDB schema v${INDEXEDDB_SCHEMA_VERSION}`)
 */
export const INDEXEDDB_SCHEMA_VERSION = 1
const BODIES = 'bodies'
const ENTRIES = 'entries'
const STORES = [BODIES, ENTRIES]

/**
 * A row of `entries`: what `head` and `list` return. `lastModified` (when it was written) is in
 * rows written since the session catalogue, `metadata` in rows written with some (no schema
 * change: rows of before simply lack them).
 */
type Entry = { key: string; size: number; etag: string; lastModified?: number; metadata?: Record<string, string> }

/**
 * How long one burst of writes shares a cross-tab message: a write after a quiet spell posts at
 * once, writes within the next few milliseconds go out together in one message at its end.
 * Posting costs about as much as a small write itself; other tabs re-read the latest state when
 * told, so one message naming every key changed in the burst tells them all they need.
 */
const BURST_MS = 10

/**
 * Options of `IndexedDBBackend` (and, with the store options, of `IndexedDBStorage`).
 *
 * @example
 * const backend = new IndexedDBBackend({ dbName: 'my-agent', blockedTimeoutMs: 2000 })
 */
export interface IndexedDBBackendOptions {
  /** Database name (default `'snapshelf'`); also names the cross-tab `BroadcastChannel`. */
  dbName?: string
  /**
   * How long an open may wait while another tab holds an older version of the database open
   * and will not close it, before failing with `TimeoutError` (default 5000 ms).
   */
  blockedTimeoutMs?: number
  /**
   * @internal The schema version to open (default `INDEXEDDB_SCHEMA_VERSION`). Only tests of
   * upgrades and blocked opens set it.
   */
  schemaVersion?: number
}

/**
 * A `Backend` over IndexedDB, for browsers. Lazily opens and caches one connection; closes it
 * when another tab needs to upgrade (`versionchange`) and reopens on next use. Notifies
 * `subscribe`rs in this tab right after a commit, and other tabs of the same origin through a
 * `BroadcastChannel` named `snapshelf:<dbName>`, posted only after the commit (a burst of
 * writes within a few milliseconds shares one message).
 *
 * @example
 * import { BackendSnapshotStore } from 'snapshelf'
 * import { IndexedDBBackend } from 'snapshelf/indexeddb'
 * const store = new BackendSnapshotStore({ backend: new IndexedDBBackend({ dbName: 'agents' }) })
 */
export class IndexedDBBackend implements Backend {
  readonly dbName: string
  readonly #blockedMs: number
  readonly #version: number
  /** The connection being opened or open; dropped whenever it closes. */
  #opening: Promise<IDBDatabase> | undefined
  /** The same connection once open: writes start their transaction without an await. */
  #db: IDBDatabase | undefined
  #channel: BroadcastChannel | undefined
  /** Keys written since the last cross-tab message of the current burst; unset between bursts. */
  #unposted: Set<string> | undefined
  #burstTimer: ReturnType<typeof setTimeout> | undefined
  readonly #watchers = new Map<string, Set<() => void>>()

  constructor({ dbName = 'snapshelf', blockedTimeoutMs = 5000, schemaVersion = INDEXEDDB_SCHEMA_VERSION }: IndexedDBBackendOptions = {}) {
    if (typeof dbName !== 'string' || !dbName) throw new ValidationError('dbName', 'must be a non-empty string')
    this.dbName = dbName
    this.#blockedMs = blockedTimeoutMs
    this.#version = schemaVersion
  }

  async get(key: string, o?: BackendCallOptions): Promise<BackendObject | null> {
    throwIfAborted(o?.signal)
    // The row is `{ etag, body, metadata? }`: a BackendObject as it is.
    return (await this.#read<BackendObject | undefined>('get', key, BODIES, (store) => store.get(key))) ?? null
  }

  async head(key: string, o?: BackendCallOptions): Promise<BackendHead | null> {
    throwIfAborted(o?.signal)
    return (await this.#read<Entry | undefined>('head', key, ENTRIES, (store) => store.get(key))) ?? null
  }

  async put(key: string, body: Uint8Array, o: BackendPutOptions = {}): Promise<{ etag: string } | null> {
    throwIfAborted(o.signal)
    // About 52 random bits per write: ETags from two tabs never collide. Not a secret, only
    // unique; `Math.random` also works where `crypto.randomUUID` does not (plain http://).
    const etag = Math.random().toString(36).slice(2)
    const { ifMatch, ifNoneMatch, metadata } = o
    // IndexedDB clones the value inside `put`. That happens in this call when the connection is
    // open and no read comes first; otherwise after an await, when the caller may have reused
    // its buffer: then we write our own copy. Cloning a view would also copy its whole buffer.
    const bytes = this.#db && ifMatch === undefined && body.byteLength === body.buffer.byteLength ? body : body.slice()
    const written = await this.#write('put', key, (tx, refuse) => {
      const entries = tx.objectStore(ENTRIES)
      const write = (create: boolean): void => {
        const row: Entry = { key, size: bytes.length, etag, lastModified: Date.now() }
        const value: BackendObject = { etag, body: bytes }
        // Only when given: rows without it stay as small as before.
        if (metadata) row.metadata = value.metadata = { ...metadata }
        const meta = create ? entries.add(row) : entries.put(row)
        // The key exists: the create is refused and the transaction rolls back (nothing written).
        if (create) {
          meta.onerror = () => {
            if (meta.error?.name === 'ConstraintError') refuse()
          }
        }
        tx.objectStore(BODIES).put(value, key)
      }
      if (ifMatch === undefined) return write(ifNoneMatch === '*')
      // The check runs inside the same transaction as the writes: nothing can slip between them.
      const read = entries.get(key) as IDBRequest<Entry | undefined>
      read.onsuccess = () => {
        if (read.result?.etag === ifMatch) write(false)
        else refuse()
      }
    })
    if (!written) return null
    this.#announce([key])
    return { etag }
  }

  async delete(keys: string[], o?: BackendCallOptions): Promise<void> {
    throwIfAborted(o?.signal)
    if (!keys.length) return
    await this.#write('delete', keys[0]!, (tx) => {
      for (const key of keys) for (const name of STORES) tx.objectStore(name).delete(key)
    })
    this.#announce(keys)
  }

  async list(prefix: string, o: BackendCallOptions & { startAfter?: string; limit?: number } = {}): Promise<BackendListPage> {
    throwIfAborted(o.signal)
    const limit = o.limit ?? PAGE_SIZE
    // Keys are ASCII (the store's layout), so `prefix + '\uffff'` is above every key under
    // `prefix`; IndexedDB orders strings by UTF-16 code unit, which for ASCII is byte order, as S3.
    const end = `${prefix}\uffff`
    const after = o.startAfter !== undefined && o.startAfter >= prefix
    const lower = after ? o.startAfter! : prefix
    if (lower >= end) return { entries: [], truncated: false }
    // One row past the page tells whether more follow, without a second request.
    const rows = await this.#read<Entry[]>('list', prefix, ENTRIES, (store) =>
      store.getAll(IDBKeyRange.bound(lower, end, after), limit + 1),
    )
    return { entries: rows.slice(0, limit), truncated: rows.length > limit, metadataListed: true }
  }

  /**
   * The folders right under `prefix` from one key cursor over `entries` that jumps past each
   * folder it finds (`continue(afterFolder)`): one step per folder, never one per key, and no row read.
   *
   * @example
   * const { folders } = await backend.listFolders('') // ['s1/', 's2/']
   */
  async listFolders(prefix: string, o: BackendCallOptions & { startAfter?: string; limit?: number } = {}): Promise<BackendFolderPage> {
    throwIfAborted(o.signal)
    const limit = o.limit ?? PAGE_SIZE
    const end = `${prefix}\uffff`
    const after = o.startAfter !== undefined && o.startAfter >= prefix
    const lower = after ? o.startAfter! : prefix
    if (lower >= end) return { folders: [], truncated: false }
    const folders = await this.#run(
      'list',
      prefix,
      (db) =>
        new Promise<string[]>((resolve, reject) => {
          const found: string[] = []
          const request = db
            .transaction(ENTRIES)
            .objectStore(ENTRIES)
            .openKeyCursor(IDBKeyRange.bound(lower, end, after))
          request.onerror = () => reject(request.error)
          request.onsuccess = () => {
            const cursor = request.result
            // One folder past the page tells whether more follow.
            if (!cursor || found.length > limit) return resolve(found)
            const key = cursor.key as string
            const slash = key.indexOf('/', prefix.length)
            if (slash <= prefix.length) return cursor.continue()
            found.push(key.slice(0, slash + 1))
            cursor.continue(afterFolder(key.slice(0, slash + 1)))
          }
        }),
    )
    return { folders: folders.slice(0, limit), truncated: folders.length > limit }
  }

  subscribe(key: string, onChange: () => void): () => void {
    let set = this.#watchers.get(key)
    if (!set) {
      set = new Set()
      this.#watchers.set(key, set)
    }
    set.add(onChange)
    this.#openChannel()
    return () => {
      set.delete(onChange)
    }
  }

  /**
   * Closes the database connection (the next call reopens it) and the `BroadcastChannel`
   * (reopened by the next write or subscribe), after posting what other tabs were still owed.
   * Stop watchers first when done for good.
   *
   * @example
   * backend.close()
   * await deleteDB(backend.dbName)
   */
  close(): void {
    this.#opening?.then((db) => db.close(), ignore)
    this.#opening = undefined
    this.#db = undefined
    this.#endBurst()
    this.#channel?.close()
    this.#channel = undefined
  }

  /**
   * Runs `fn` on the connection (at once when it is open); IndexedDB's errors, thrown or
   * rejected, become typed ones naming `key`. Every way a connection closes (`close()`, another
   * tab's upgrade, the browser) drops it first, so `fn` gets a closed one only if `close()`
   * races a call already under way.
   */
  #run<R>(op: string, key: string, fn: (db: IDBDatabase) => R | Promise<R>): Promise<R> {
    const db = this.#db
    return new Promise<R>((resolve) => resolve(db ? fn(db) : this.#connect().then(fn))).catch((error: unknown) => {
      throw mapError(error, op, key)
    })
  }

  /** One request in a readonly transaction over `store`. */
  #read<R>(op: string, key: string, store: string, ask: (store: IDBObjectStore) => IDBRequest): Promise<R> {
    return this.#run(op, key, (db) => settle<R>(ask(db.transaction(store).objectStore(store))))
  }

  /**
   * Runs `fill` in one readwrite transaction over both stores and resolves at the commit: `true`,
   * or `false` when `fill` called `refuse` because a precondition failed (nothing written).
   * Any other failure (a request's error, quota at commit) rejects with the transaction's error.
   */
  #write(op: string, key: string, fill: (tx: IDBTransaction, refuse: () => void) => void): Promise<boolean> {
    return this.#run(
      op,
      key,
      (db) =>
        new Promise<boolean>((resolve, reject) => {
          const tx = db.transaction(STORES, 'readwrite')
          let refused = false
          tx.oncomplete = () => resolve(!refused)
          // A failed request aborts the transaction with that request's error as `tx.error`.
          tx.onabort = () => {
            if (refused) resolve(false)
            else reject(tx.error ?? new DOMException('Transaction aborted', 'AbortError'))
          }
          fill(tx, () => {
            refused = true
          })
        }),
    )
  }

  /** The connection, opened on first use and after it was closed. */
  #connect(): Promise<IDBDatabase> {
    let opening = this.#opening
    if (!opening) {
      opening = this.#open()
      this.#opening = opening
      // A failed open is not cached: the next call tries again.
      opening.catch(() => {
        if (this.#opening === opening) this.#opening = undefined
      })
    }
    return opening
  }

  #open(): Promise<IDBDatabase> {
    const { dbName } = this
    const version = this.#version
    const blockedMs = this.#blockedMs
    // The handlers below run on later events, after `self` is assigned.
    const self: Promise<IDBDatabase> = new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined
      const request = indexedDB.open(dbName, version)
      request.onupgradeneeded = () => {
        const db = request.result
        // Create what is missing rather than switching on oldVersion: also repairs a database
        // an earlier run left half-made.
        if (!db.objectStoreNames.contains(BODIES)) db.createObjectStore(BODIES)
        if (!db.objectStoreNames.contains(ENTRIES)) db.createObjectStore(ENTRIES, { keyPath: 'key' })
      }
      request.onblocked = () => {
        // Another connection at an older version did not close on versionchange. Waiting is
        // right for a moment (it may close soon); waiting forever is a hang.
        timer ??= setTimeout(
          () => reject(new TimeoutError(`IndexedDB "${dbName}" upgrade blocked ${blockedMs} ms by another tab`)),
          blockedMs,
        )
      }
      request.onsuccess = () => {
        clearTimeout(timer)
        const db = request.result
        const reset = (): void => {
          if (this.#opening !== self) return
          this.#opening = undefined
          this.#db = undefined
        }
        // Another tab wants to upgrade or delete the database: let it, reopen on next use.
        db.onversionchange = () => {
          reset()
          db.close()
        }
        // The browser closed it (storage cleared, disk error).
        db.onclose = reset
        resolve(db)
        // Gave up (timer fired) or was closed before this late open succeeded: release it.
        if (this.#opening === self) this.#db = db
        else db.close()
      }
      request.onerror = () => {
        clearTimeout(timer)
        const error = request.error
        // VersionError: a newer snapshelf upgraded this database; waiting will not help.
        reject(
          error?.name === 'VersionError'
            ? new ValidationError('dbName', `"${dbName}" is newer than schema ${version}: upgrade snapshelf`, { cause: error })
            : error,
        )
      }
    })
    return self
  }

  /** Tells this tab's watchers now, and other tabs after the commit that just happened. */
  #announce(keys: string[]): void {
    for (const key of keys) this.#notify(key)
    if (this.#unposted) {
      // Within a burst: the message at its end names these keys too.
      for (const key of keys) this.#unposted.add(key)
      return
    }
    this.#post(keys)
    this.#unposted = new Set()
    this.#burstTimer = setTimeout(() => this.#endBurst(true), BURST_MS)
  }

  /** Posts what the burst still owes other tabs; `goOn` keeps batching when there was some. */
  #endBurst(goOn?: boolean): void {
    clearTimeout(this.#burstTimer)
    const keys = this.#unposted
    this.#unposted = undefined
    if (!keys?.size) return
    this.#post([...keys])
    if (goOn) {
      this.#unposted = new Set()
      this.#burstTimer = setTimeout(() => this.#endBurst(true), BURST_MS)
    }
  }

  #post(keys: string[]): void {
    try {
      this.#openChannel().postMessage(keys)
    } catch {
      // A closed or missing channel only costs other tabs a notification, never a write.
    }
  }

  #notify(key: string): void {
    for (const fn of this.#watchers.get(key) ?? []) queueMicrotask(fn)
  }

  #openChannel(): BroadcastChannel {
    // Every runtime with IndexedDB has BroadcastChannel (Safari since 15.4).
    if (this.#channel) return this.#channel
    const channel = new BroadcastChannel(`snapshelf:${this.dbName}`)
    // Anything odd another sender posts is a lookup that finds no watcher: harmless.
    channel.onmessage = (event: MessageEvent) => {
      for (const key of [event.data].flat()) this.#notify(key)
    }
    // Node keeps a process alive while a channel with a listener is open; a watcher must not.
    ;(channel as { unref?: () => void }).unref?.()
    this.#channel = channel
    return channel
  }
}

function ignore(): void {}

/** The result of one request, or its error. */
function settle<R>(request: IDBRequest): Promise<R> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result as R)
    request.onerror = () => reject(request.error)
  })
}

/** IndexedDB's DOMExceptions → typed errors; the key is named, the cause kept. */
function mapError(error: unknown, op: string, key: string): Error {
  if (error instanceof SnapshelfError) return error
  const name = (error as Error)?.name
  return name === 'QuotaExceededError'
    ? new QuotaError(`IndexedDB quota exceeded (${op} ${key})`, { key, cause: error })
    : // The storage engine is outside our control like a remote service: ERR_REMOTE with its error name.
      new RemoteError(`IndexedDB ${op} ${key} failed: ${name}`, { key, serverCode: name, cause: error })
}
