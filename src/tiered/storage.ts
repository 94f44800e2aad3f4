import type { Backend } from '../core/backend.js'
import { ValidationError } from '../core/errors.js'
import { checkId, checkLocation, checkPrefix } from '../core/ids.js'
import { scopeFolder } from '../core/keys.js'
import { BackendSnapshotStore } from '../core/store.js'
import type { Snapshot, SnapshotLocation, StoreOptions } from '../core/types.js'
import { TieredBackend, isOffline } from './backend.js'
import { type PullMode, type SyncProgress, type SyncResult, type SyncSettings, runSync } from './sync.js'

/**
 * A tier of `TieredStorage`: any snapshelf storage (its `.backend` and `.prefix` are used, so
 * bytes move key to key without decoding), or a bare `Backend` (prefix `''`).
 *
 * @example
 * const tier: Tier = new IndexedDBStorage()
 */
export type Tier = Backend | { readonly backend: Backend; readonly prefix?: string; readonly compression?: 'gzip' | 'none' }

/**
 * Options of `TieredStorage`.
 *
 * @example
 * new TieredStorage({ local: new IndexedDBStorage(), remote: new HttpStorage({ baseUrl: '/api' }), autoSyncDelayMs: 500 })
 */
export interface TieredStorageOptions extends StoreOptions {
  /** Where writes land and reads start: IndexedDB in a browser, memory elsewhere. */
  local: Tier
  /** Where `sync` pushes to and pulls from: HTTP, S3, R2. */
  remote: Tier
  /**
   * Names the sync lock (`navigator.locks`) and the `BroadcastChannel` shared by every tab using
   * the same local tier. Give each local database its own name. Default `'snapshelf'`.
   */
  name?: string
  /** Remote requests in flight during a sync. Default 16. */
  concurrency?: number
  /** Extra attempts per remote request on network errors, with backoff. Default 3. */
  retries?: number
  /**
   * `sync` lists remote history from the newest id it already pulled minus this window, so
   * history another device wrote offline (older ids, pushed late) is still found. Default 24 h.
   * Devices offline longer: `hydrate` or `sync({ full: true })` list everything.
   */
  lookbackMs?: number
  /** A read that misses locally asks the remote and caches the answer. Default true. */
  readThrough?: boolean
  /** In browsers, sync when the window goes `online`. Default true. */
  syncOnOnline?: boolean
  /** Sync this many ms after the last write (debounced, skipped while offline). Default: off. */
  autoSyncDelayMs?: number
}

/**
 * What a UI shows about the local-first tier.
 *
 * @example
 * storage.onStatus((s) => (badge.textContent = s.online ? `${s.pending} pending` : 'offline'))
 */
export interface TieredStatus {
  /** False after the remote failed for network reasons or the browser went offline. */
  online: boolean
  syncing: boolean
  /** Keys (and session deletions) waiting in the outbox. */
  pending: number
  lastSyncAt: Date | null
  lastError: unknown
  /** History keys the remote holds with different bytes; they stay in the outbox. */
  conflicts: string[]
}

/**
 * Options of `sync`.
 *
 * @example
 * await storage.sync({ signal: AbortSignal.timeout(30_000), onProgress: (p) => console.log(p), full: true })
 */
export interface SyncOptions {
  signal?: AbortSignal
  onProgress?: (progress: SyncProgress) => void
  /** List every remote history id instead of the window after the cursor. */
  full?: boolean
  /** Return `{ skipped: true }` at once when another tab is syncing, instead of waiting. */
  ifAvailable?: boolean
}

/**
 * Local-first snapshots: every write lands in the local tier and a persistent outbox, so nothing
 * written offline is lost; `sync()` pushes the outbox to the remote and pulls what other devices
 * wrote. Encoded bytes are copied between tiers, never decoded and re-encoded. History is
 * conflict-free (unique ids, create-only); `latest` and the manifest resolve by compare-and-swap:
 * the side that changed since the last agreed state wins, and when both changed the greater
 * `createdAt` (manifest: `updatedAt`) wins, ties broken by the greater SHA-256 of the stored bytes.
 *
 * @example
 * import { TieredStorage } from 'snapshelf/tiered'
 * import { IndexedDBStorage } from 'snapshelf/indexeddb'
 * import { HttpStorage } from 'snapshelf/http'
 * const storage = new TieredStorage({ local: new IndexedDBStorage(), remote: new HttpStorage({ baseUrl: '/api' }) })
 * await storage.saveSnapshot({ location, snapshotId: newSnapshotId(), isLatest: true, snapshot })
 * await storage.sync({ onProgress: console.log })
 */
export class TieredStorage<T = Snapshot> extends BackendSnapshotStore<T> {
  declare readonly backend: TieredBackend
  private declare readonly _settings: SyncSettings
  private readonly _listeners = new Set<(status: TieredStatus) => void>()
  private declare readonly _lockName: string
  private declare readonly _channel?: BroadcastChannel
  private readonly _stops: (() => void)[] = []
  private declare _state: TieredStatus
  private _queue: Promise<unknown> = Promise.resolve()
  private declare _timer?: ReturnType<typeof setTimeout>

  constructor(options: TieredStorageOptions) {
    const local = tierOf(options?.local, 'local')
    const remote = tierOf(options?.remote, 'remote')
    const prefix = checkPrefix(options.prefix)
    super({
      compression: local.compression,
      ...options,
      prefix,
      backend: new TieredBackend(local.backend, local.prefix, remote.backend, remote.prefix, prefix),
    })
    const { name = 'snapshelf', autoSyncDelayMs } = options
    checkId('name', name)
    const backend = this.backend
    backend._readThrough = options.readThrough ?? true
    const setting = (field: 'concurrency' | 'retries' | 'lookbackMs' | 'autoSyncDelayMs', fallback: number, min = 1): number => {
      const value = options[field] ?? fallback
      if (typeof value !== 'number' || !(value >= min && value < Infinity)) throw new ValidationError(field, `must be a number >= ${min}`)
      return value
    }
    this._settings = {
      _concurrency: setting('concurrency', 16),
      _retries: setting('retries', 3, 0),
      _lookbackMs: setting('lookbackMs', 86_400_000),
      _maxDecodedBytes: this.maxDecodedBytes,
    }
    setting('autoSyncDelayMs', 1)
    this._lockName = `snapshelf-sync:${name}`
    // `globalThis.navigator`: undefined, not a ReferenceError, where there is none (Node 20).
    const nav = globalThis.navigator as Navigator | undefined
    this._state = { online: nav?.onLine ?? true, syncing: false, pending: 0, lastSyncAt: null, lastError: null, conflicts: [] }
    backend._onQueued = () => {
      this._channel?.postMessage('queued')
      this._countPending()
      if (autoSyncDelayMs === undefined) return
      clearTimeout(this._timer)
      this._timer = setTimeout(() => {
        if (nav?.onLine !== false) this.sync().catch(ignore)
      }, autoSyncDelayMs)
    }
    backend._onRemoteError = (lastError) => this._set({ online: false, lastError })
    // `globalThis.window`: absent (not a ReferenceError) in Node, Deno, Bun and Workers.
    const win = globalThis.window as Window | undefined
    if (typeof win?.addEventListener === 'function') {
      if (typeof BroadcastChannel === 'function') {
        // Another tab wrote or synced: our pending count and last sync time changed.
        const channel = (this._channel = new BroadcastChannel(`snapshelf-tiered:${name}`))
        channel.onmessage = (event) => {
          if (event.data === 'synced') this._set({ lastSyncAt: new Date(), online: true })
          this._countPending()
        }
        this._stops.push(() => channel.close())
      }
      const listen = (type: string, fn: () => void): void => {
        win.addEventListener(type, fn)
        this._stops.push(() => win.removeEventListener(type, fn))
      }
      listen('offline', () => this._set({ online: false }))
      listen('online', () => {
        this._set({ online: true })
        if (options.syncOnOnline ?? true) this.sync({ ifAvailable: true }).catch(ignore)
      })
    }
  }

  /** The current status (a copy). */
  get status(): TieredStatus {
    return { ...this._state }
  }

  /**
   * Calls `listener` with the status whenever it changes (online, syncing, pending, last sync);
   * returns an unsubscribe function.
   *
   * @example
   * const stop = storage.onStatus((s) => render(s))
   */
  onStatus(listener: (status: TieredStatus) => void): () => void {
    if (typeof listener !== 'function') throw new ValidationError('listener', 'must be a function')
    this._listeners.add(listener)
    this._countPending()
    return () => void this._listeners.delete(listener)
  }

  /**
   * Keys (and session deletions) waiting in the outbox.
   *
   * @example
   * if (await storage.pendingCount()) await storage.sync()
   */
  async pendingCount(p: { signal?: AbortSignal } = {}): Promise<number> {
    // One per key (a put and a later delete of it are one change) and one per session deletion
    // (`drop` is the only 4-letter op, so its id never merges with a key).
    return new Set((await this.backend._outbox(p)).map((e) => e._op.length + e._rel)).size
  }

  /**
   * Pushes the outbox (session deletions, history create-only, deletes, then `latest` and the
   * manifest by compare-and-swap), then pulls what is new remotely for every known location.
   * Idempotent and resumable: an entry leaves the outbox only once the remote confirmed it.
   * One sync at a time per `name` across tabs (`navigator.locks`).
   *
   * @example
   * const { pushed, pulled } = await storage.sync({ signal: AbortSignal.timeout(30_000) })
   */
  sync(p: SyncOptions = {}): Promise<SyncResult> {
    return this._exclusive(p, true, p.full ? 2 : 1)
  }

  /**
   * Remote → local for one location: every history id the local tier lacks, and `latest` and
   * the manifest unless they hold unpushed local changes. Writes nothing when local is current.
   *
   * @example
   * await storage.hydrate({ location }) // e.g. on a new device, before listing history
   */
  async hydrate(p: { location: SnapshotLocation; signal?: AbortSignal; onProgress?: (progress: SyncProgress) => void }): Promise<SyncResult> {
    return this._exclusive(p, false, 2, folderAt(p))
  }

  /**
   * Local → remote for one location: pushes its outbox entries (and a pending deletion of its
   * session) and reconciles `latest` and the manifest, so the remote is current.
   *
   * @example
   * await storage.flush({ location }) // before handing the session to a server-side agent
   */
  async flush(p: { location: SnapshotLocation; signal?: AbortSignal; onProgress?: (progress: SyncProgress) => void }): Promise<SyncResult> {
    return this._exclusive(p, true, 0, folderAt(p))
  }

  override async deleteSession(p: { sessionId: string; signal?: AbortSignal }): Promise<void> {
    // One outbox entry for the whole session, instead of one per key.
    await this.backend._dropSession(checkId('sessionId', p?.sessionId), { signal: p.signal })
  }

  /**
   * Stops listening to `online`, closes the `BroadcastChannel` and cancels a pending auto-sync.
   *
   * @example
   * window.addEventListener('pagehide', () => storage.close())
   */
  close(): void {
    clearTimeout(this._timer)
    for (const stop of this._stops.splice(0)) stop()
  }

  /**
   * Runs one sync job under the in-process queue and the cross-tab lock. A job that pushes also
   * stamps `lastSyncAt` (sync, flush); a pull-only one (hydrate) does not.
   */
  private _exclusive(p: SyncOptions, push: boolean, pull: PullMode, folder?: string): Promise<SyncResult> {
    const run = async (): Promise<SyncResult> => {
      this._set({ syncing: true })
      try {
        const result = await runSync(this.backend, this._settings, p, push, pull, folder)
        this._set({ online: true, lastError: null, conflicts: result.conflicts, ...(push && { lastSyncAt: new Date() }) })
        this._channel?.postMessage('synced')
        return result
      } catch (error) {
        this._set({ lastError: error, ...(isOffline(error) && { online: false }) })
        throw error
      } finally {
        this._set({ syncing: false })
        this._countPending()
      }
    }
    const locks = (globalThis.navigator as Navigator | undefined)?.locks
    const locked = (): Promise<SyncResult> =>
      locks
        ? locks.request(this._lockName, p.ifAvailable ? { ifAvailable: true } : { signal: p.signal }, (lock) =>
            lock ? run() : { pushed: 0, pulled: 0, conflicts: [], skipped: true },
          )
        : run()
    const next = this._queue.then(locked, locked)
    this._queue = next.catch(ignore)
    return next
  }

  private _set(change: Partial<TieredStatus>): void {
    this._state = { ...this._state, ...change }
    for (const listener of this._listeners) listener(this.status)
  }

  /** Recounts the outbox for listeners (a local listing: cheap next to any remote call). */
  private _countPending(): void {
    if (this._listeners.size)
      this.pendingCount().then(
        (pending) => pending !== this._state.pending && this._set({ pending }),
        ignore,
      )
  }
}

const ignore = (): void => {}

/** The validated location's folder, relative to the store prefix. */
const folderAt = (p: { location: SnapshotLocation }): string => scopeFolder('', checkLocation(p?.location))

function tierOf(tier: Tier | undefined, field: string): { backend: Backend; prefix: string; compression?: 'gzip' | 'none' } {
  const t = tier as { backend?: Backend; prefix?: string; compression?: 'gzip' | 'none' } & Partial<Backend>
  if (typeof t?.backend?.get === 'function') return { backend: t.backend, prefix: t.prefix ?? '', compression: t.compression }
  if ((['get', 'put', 'list'] as const).every((m) => typeof t?.[m] === 'function')) return { backend: t as Backend, prefix: '' }
  throw new ValidationError(field, 'must be a storage or a Backend')
}
