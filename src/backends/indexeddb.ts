import { openDB, type DBSchema, type IDBPDatabase, type IDBPTransaction } from 'idb'
import type { Backend, BackendCallOptions, BackendListPage, BackendObject, BackendPutOptions } from '../backend.js'
import { QuotaError, RemoteError, SnapshelfError, TimeoutError, ValidationError, throwIfAborted } from '../errors.js'

/**
 * The IndexedDB byte backend. Two object stores written in one transaction:
 * - `bodies`: key → `{ etag, body }`, read only by `get`;
 * - `entries`: `{ key, size, etag }` (keyPath `key`), read by `head` and `list`,
 * so a listing never deserialises a payload (structured clone of a 256 KB body is what costs).
 *
 * Compare-and-swap is a read of `entries` and the writes in ONE readwrite transaction with no
 * await on anything but its own requests: IndexedDB serialises readwrite transactions over
 * the same stores, so no other tab or instance can interleave between the check and the write.
 * A create (`ifNoneMatch: '*'`) needs no read at all: `add` is refused by IndexedDB itself.
 *
 * A caller's signal is checked before each operation; a transaction once started completes
 * (they take milliseconds, and a half-aborted write is what compare-and-swap avoids anyway).
 */

/** Bumped when the object stores change; `upgrade` creates whatever is missing. */
export const INDEXEDDB_SCHEMA_VERSION = 1
const BODIES = 'bodies'
const ENTRIES = 'entries'
const STORES = [BODIES, ENTRIES] as const

interface SnapshelfDB extends DBSchema {
  bodies: { key: string; value: { etag: string; body: Uint8Array } }
  entries: { key: string; value: { key: string; size: number; etag: string } }
}
type DB = IDBPDatabase<SnapshelfDB>
type Store = (typeof STORES)[number]
type WriteTx = IDBPTransaction<SnapshelfDB, Store[], 'readwrite'>

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
 * A `Backend` over IndexedDB (via `idb`), for browsers. Lazily opens and caches one connection;
 * closes it when another tab needs to upgrade (`versionchange`) and reopens on next use.
 * Notifies `subscribe`rs in this tab right after a commit, and other tabs of the same origin
 * through a `BroadcastChannel` named `snapshelf:<dbName>`, posted only after the commit.
 *
 * @example
 * import { BackendSnapshotStore } from 'snapshelf'
 * import { IndexedDBBackend } from 'snapshelf/indexeddb'
 * const store = new BackendSnapshotStore({ backend: new IndexedDBBackend({ dbName: 'agents' }) })
 */
export class IndexedDBBackend implements Backend {
  readonly dbName: string
  private readonly blockedTimeoutMs: number
  private readonly schemaVersion: number
  private connection: Promise<DB> | undefined
  private channel: BroadcastChannel | undefined
  private readonly watchers = new Map<string, Set<() => void>>()

  constructor({ dbName = 'snapshelf', blockedTimeoutMs = 5000, schemaVersion = INDEXEDDB_SCHEMA_VERSION }: IndexedDBBackendOptions = {}) {
    if (typeof dbName !== 'string' || !dbName) throw new ValidationError('dbName', 'must be a non-empty string')
    this.dbName = dbName
    this.blockedTimeoutMs = blockedTimeoutMs
    this.schemaVersion = schemaVersion
  }

  async get(key: string, o?: BackendCallOptions): Promise<BackendObject | null> {
    throwIfAborted(o?.signal)
    // The row is `{ etag, body }`: a BackendObject as it is.
    return (await this.run('get', key, (db) => db.get(BODIES, key))) ?? null
  }

  async head(key: string, o?: BackendCallOptions): Promise<{ etag: string; size: number } | null> {
    throwIfAborted(o?.signal)
    return (await this.run('head', key, (db) => db.get(ENTRIES, key))) ?? null
  }

  async put(key: string, body: Uint8Array, o: BackendPutOptions = {}): Promise<{ etag: string } | null> {
    throwIfAborted(o.signal)
    // About 52 random bits per write: ETags from two tabs never collide. Not a secret, only
    // unique; `Math.random` also works where `crypto.randomUUID` does not (plain http://).
    const etag = Math.random().toString(36).slice(2)
    // Our own copy: the conditional write clones it only after an await, when the caller may
    // have reused its buffer, and structured clone of a view would copy its whole buffer.
    const bytes = body.slice()
    const { ifMatch, ifNoneMatch } = o
    const written = await this.write('put', key, (tx) => {
      const entries = tx.objectStore(ENTRIES)
      const row = { key, size: bytes.length, etag }
      // Awaiting the requests (not only tx.done) surfaces a failed request's own error: idb's
      // tx.done rejects while the error bubbles, before tx.error is set, with a bare AbortError.
      const commit = (create: boolean): Promise<unknown> =>
        Promise.all([create ? entries.add(row) : entries.put(row), tx.objectStore(BODIES).put({ etag, body: bytes }, key)]).catch((error: unknown) => {
          // The key exists: the create is refused and the transaction rolled back.
          if (create && (error as Error)?.name === 'ConstraintError') return false
          throw error
        })
      if (ifMatch === undefined) return commit(ifNoneMatch === '*')
      // The check runs inside the same transaction as the writes: nothing can slip between them.
      return entries.get(key).then((current) => current?.etag === ifMatch && commit(false))
    })
    if (!written) return null
    this.announce([key])
    return { etag }
  }

  async delete(keys: string[], o?: BackendCallOptions): Promise<void> {
    throwIfAborted(o?.signal)
    if (!keys.length) return
    await this.write('delete', keys[0], (tx) => Promise.all(keys.flatMap((key) => STORES.map((name) => tx.objectStore(name).delete(key)))))
    this.announce(keys)
  }

  async list(prefix: string, o: BackendCallOptions & { startAfter?: string; limit?: number } = {}): Promise<BackendListPage> {
    throwIfAborted(o.signal)
    const limit = o.limit ?? 1000
    // Keys are ASCII (the store's layout), so `prefix + '\uffff'` is above every key under
    // `prefix`; IndexedDB orders strings by UTF-16 code unit, which for ASCII is byte order, as S3.
    const end = prefix + '\uffff'
    const after = o.startAfter !== undefined && o.startAfter >= prefix
    const lower = after ? o.startAfter! : prefix
    if (lower >= end) return { entries: [], truncated: false }
    // One row past the page tells whether more follow, without a second request.
    const rows = await this.run('list', prefix, (db) => db.getAll(ENTRIES, IDBKeyRange.bound(lower, end, after), limit + 1))
    return { entries: rows.slice(0, limit), truncated: rows.length > limit }
  }

  subscribe(key: string, onChange: () => void): () => void {
    let set = this.watchers.get(key)
    if (!set) this.watchers.set(key, (set = new Set()))
    set.add(onChange)
    this.openChannel()
    return () => void set.delete(onChange)
  }

  /**
   * Closes the database connection (the next call reopens it) and the `BroadcastChannel`
   * (reopened by the next write or subscribe). Stop watchers first when done for good.
   *
   * @example
   * backend.close()
   * await deleteDB(backend.dbName)
   */
  close(): void {
    this.connection?.then((db) => db.close(), ignore)
    this.connection = undefined
    this.channel?.close()
    this.channel = undefined
  }

  /**
   * Runs `fn` on the cached connection; IndexedDB's errors become typed ones naming `key`. Every
   * way a connection closes (`close()`, another tab's upgrade, the browser) drops it from the
   * cache first, so `fn` gets a closed one only if `close()` races a call already under way.
   */
  private async run<R>(op: string, key: string, fn: (db: DB) => R): Promise<Awaited<R>> {
    try {
      return await fn(await this.db())
    } catch (error) {
      throw mapError(error, op, key)
    }
  }

  /**
   * Runs `fill` in one readwrite transaction over both stores and waits for the commit.
   * `fill` resolves `false` when a precondition refused the write (nothing written).
   */
  private write(op: string, key: string | undefined, fill: (tx: WriteTx) => Promise<unknown>): Promise<boolean> {
    return this.run(op, key!, async (db) => {
      const tx = db.transaction([...STORES], 'readwrite')
      // A failed request aborts the transaction: its error surfaces through `fill`, so the
      // rejection of tx.done must not go unhandled.
      tx.done.catch(ignore)
      const wrote = (await fill(tx)) !== false
      if (wrote) await tx.done
      return wrote
    })
  }

  /** The cached connection, opened on first use and after it was closed. */
  private db(): Promise<DB> {
    if (!this.connection) {
      const opening = (this.connection = this.open())
      // A failed open is not cached: the next call tries again.
      opening.catch(() => {
        if (this.connection === opening) this.connection = undefined
      })
    }
    return this.connection
  }

  private open(): Promise<DB> {
    const { dbName, schemaVersion, blockedTimeoutMs } = this
    // The handlers below run on later events, after `self` is assigned.
    const self: Promise<DB> = new Promise<DB>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined
      const reset = (): void => {
        if (this.connection === self) this.connection = undefined
      }
      openDB<SnapshelfDB>(dbName, schemaVersion, {
        upgrade(db) {
          // Create what is missing rather than switching on oldVersion: also repairs a database
          // an earlier run left half-made.
          if (!db.objectStoreNames.contains(BODIES)) db.createObjectStore(BODIES)
          if (!db.objectStoreNames.contains(ENTRIES)) db.createObjectStore(ENTRIES, { keyPath: 'key' })
        },
        blocked: () => {
          // Another connection at an older version did not close on versionchange. Waiting is
          // right for a moment (it may close soon); waiting forever is a hang.
          timer ??= setTimeout(() => reject(new TimeoutError(`IndexedDB "${dbName}" upgrade blocked ${blockedTimeoutMs} ms by another tab`)), blockedTimeoutMs)
        },
        blocking: (_current, _next, event) => {
          // Another tab wants to upgrade or delete the database: let it, reopen on next use.
          reset()
          ;(event.target as IDBDatabase).close()
        },
        terminated: reset,
      }).then(
        (db) => {
          clearTimeout(timer)
          resolve(db)
          // Gave up (timer fired) before this late open succeeded: release it.
          if (this.connection !== self) db.close()
        },
        (error: unknown) => {
          clearTimeout(timer)
          // VersionError: a newer snapshelf upgraded this database; waiting will not help.
          reject(
            (error as Error)?.name === 'VersionError'
              ? new ValidationError('dbName', `"${dbName}" is newer than schema ${schemaVersion}: upgrade snapshelf`, { cause: error })
              : error,
          )
        },
      )
    })
    return self
  }

  /** Tells this tab's watchers now, and other tabs after the commit that just happened. */
  private announce(keys: string[]): void {
    for (const key of keys) this.notify(key)
    try {
      this.openChannel().postMessage(keys)
    } catch {
      // A closed or missing channel only costs other tabs a notification, never a write.
    }
  }

  private notify(key: string): void {
    for (const fn of this.watchers.get(key) ?? []) queueMicrotask(fn)
  }

  private openChannel(): BroadcastChannel {
    // Every runtime with IndexedDB has BroadcastChannel (Safari since 15.4).
    if (this.channel) return this.channel
    const channel = new BroadcastChannel(`snapshelf:${this.dbName}`)
    // Anything odd another sender posts is a lookup that finds no watcher: harmless.
    channel.onmessage = (event: MessageEvent) => [event.data].flat().map(this.notify, this)
    // Node keeps a process alive while a channel with a listener is open; a watcher must not.
    ;(channel as { unref?: () => void }).unref?.()
    return (this.channel = channel)
  }
}

function ignore(): void {}

/** IndexedDB's DOMExceptions → typed errors; the key is named, the cause kept. */
function mapError(error: unknown, op: string, key: string): Error {
  if (error instanceof SnapshelfError) return error
  const name = (error as Error)?.name
  return name === 'QuotaExceededError'
    ? new QuotaError(`IndexedDB quota exceeded (${op} ${key})`, { key, cause: error })
    : // The storage engine is outside our control like a remote service: ERR_REMOTE with its error name.
      new RemoteError(`IndexedDB ${op} ${key} failed: ${name}`, { key, serverCode: name, cause: error })
}
