import type { Backend } from '../core/backend.js'
import { type EncryptionOptions, sealerOf } from '../core/encryption.js'
import { checkSessionQuery } from '../core/session-query.js'
import { ValidationError } from '../core/errors.js'
import { checkId, checkLocation, checkPrefix } from '../core/ids.js'
import { scopeFolder } from '../core/keys.js'
import { BackendSnapshotStore } from '../core/store.js'
import type { ListSessionsOptions, SessionPage, Snapshot, SnapshotLocation, StoreOptions } from '../core/types.js'
import { type TieredBackend, createTieredBackend, dropSession } from './backend.js'
import type { SyncRun, SyncSettings } from './context.js'
import { remoteCatalogue } from './discover.js'
import { type EvictResult, type WriteGate, evictFolders, sessionFolders } from './evict.js'
import { countPending, listEntries } from './outbox.js'
import { type SyncProgress, type SyncResult, runSync } from './sync.js'
import { type Tiers, isOffline } from './tiers.js'

/**
 * A tier of `TieredStorage`: any snapshelf storage (its `.backend` and `.prefix` are used, so
 * bytes move key to key without decoding), or a bare `Backend` (prefix `''`).
 *
 * @example
 * const tier: Tier = new IndexedDBStorage()
 */
export type Tier =
  | Backend
  | { readonly backend: Backend; readonly prefix?: string; readonly compression?: 'gzip' | 'none'; readonly encryption?: EncryptionOptions }

/**
 * Options of `TieredStorage`.
 *
 * @example
 * new TieredStorage({ local: new IndexedDBStorage(), remote: new HttpStorage({ baseUrl: '/api' }), autoSyncDelayMs: 500 })
 */
export interface TieredStorageOptions extends StoreOptions {
  /**
   * Namespaces this store inside the local tier (several stores can share one IndexedDB). The
   * remote keeps its own placement: the remote storage's `prefix` (an HTTP server decides its own).
   */
  prefix?: string
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
  /**
   * Extra attempts per remote request while the remote answers busy (408, 429, 5xx), with
   * backoff. Default 3. A request that gets no answer at all (offline) is not retried by the
   * sync (the remote storage's own `retries` apply to it): the sync stops there, sends nothing
   * more, and reports offline.
   */
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
  /**
   * Keys (and session deletions) waiting in the outbox: counted when the storage starts (a local
   * listing), current as soon as a write or a sync resolves, and recounted when another tab
   * writes or syncs.
   */
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
  /**
   * Also pull sessions this device does not hold yet: `'all'` (every session of the remote's
   * catalogue, `discover`'s pages) or the ids of some (e.g. picked from `discover`). Every
   * location the remote holds of them is pulled (history in full, then latest and the manifest);
   * sessions already here are synced as always. Default: only what this device knows.
   */
  sessions?: 'all' | string[]
}

/**
 * Local-first snapshots: every write lands in the local tier and a persistent outbox, so nothing
 * written offline is lost; `sync()` pushes the outbox to the remote and pulls what other devices
 * wrote. Encoded bytes are copied between tiers, never decoded and re-encoded. History is
 * conflict-free (unique ids, create-only); `latest` and the manifest resolve by compare-and-swap:
 * the side that changed since the last agreed state wins, and when both changed the later-dated
 * content wins (its `updatedAt`, else its `createdAt`: a manifest's, a snapshot's), ties broken by
 * the greater SHA-256 of the stored bytes. Deletions travel from a device to the remote, as of
 * when they were issued: what other devices wrote after them survives.
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
  readonly #tiers: Tiers
  readonly #gate: WriteGate
  readonly #settings: SyncSettings
  readonly #listeners = new Set<(status: TieredStatus) => void>()
  /** What `status.pending` counts: the `rel`s in the outbox as last listed, plus those queued since. */
  #pending = new Set<string>()
  /** The `rel`s queued since the latest count began: a count that listed too early misses none. */
  #queuedSinceCount = new Set<string>()
  /** Numbers the counts, so a slow one never overwrites a newer one. */
  #counts = 0
  readonly #lockName: string
  readonly #autoSyncDelayMs?: number
  #channel?: BroadcastChannel
  readonly #stops: (() => void)[] = []
  #state: TieredStatus
  /** The in-process queue of sync jobs: one at a time, in call order. */
  #queue: Promise<unknown> = Promise.resolve()
  #timer?: ReturnType<typeof setTimeout>

  constructor(options: TieredStorageOptions) {
    const settings = checkSettings(options)
    const local = tierOf(options.local, 'local')
    const remote = tierOf(options.remote, 'remote')
    const prefix = checkPrefix(options.prefix)
    // The backend reports to this storage from construction on; its callbacks only run after
    // `super` returns (nothing is written while the store is being built).
    const { backend, tiers, gate } = createTieredBackend({
      local: local.backend,
      localPrefix: local.prefix,
      remote: remote.backend,
      remotePrefix: remote.prefix,
      prefix,
      readThrough: options.readThrough,
      onQueued: (rels) => this.#queued(rels),
      onRemoteError: (lastError) => this.#set({ online: false, lastError }),
    })
    // A tier's encryption applies to the whole store (the local tier's first), so a tier given
    // encryption never receives plaintext through it. Sync moves sealed bytes key to key: the
    // associated data is the key relative to each tier's prefix, the same `rel` on both tiers.
    super({ compression: local.compression, encryption: local.encryption ?? remote.encryption, ...options, prefix, backend })
    this.#tiers = tiers
    this.#gate = gate
    const { name = 'snapshelf' } = options
    checkId('name', name)
    const sealer = sealerOf(this.encryption, tiers.prefix)
    this.#settings = {
      ...settings,
      maxDecodedBytes: this.maxDecodedBytes,
      open: sealer && ((bytes, rel) => sealer.open(bytes, tiers.prefix + rel)),
    }
    this.#autoSyncDelayMs = settings.autoSyncDelayMs
    this.#lockName = `snapshelf-sync:${name}`
    this.#state = { online: navigatorOf()?.onLine ?? true, syncing: false, pending: 0, lastSyncAt: null, lastError: null, conflicts: [] }
    this.#listenToWindow(name, options.syncOnOnline ?? true)
    // Entries left by an earlier page or process: the status counts them from the start.
    this.#recount().catch(ignore)
  }

  /** The current status (a copy). */
  get status(): TieredStatus {
    return { ...this.#state }
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
    this.#listeners.add(listener)
    return () => {
      this.#listeners.delete(listener)
    }
  }

  /**
   * Keys (and session deletions) waiting in the outbox.
   *
   * @example
   * if (await storage.pendingCount()) await storage.sync()
   */
  async pendingCount(p: { signal?: AbortSignal } = {}): Promise<number> {
    return countPending(await listEntries(this.#tiers, p))
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
  async sync(p: SyncOptions = {}): Promise<SyncResult> {
    checkCallOptions(p)
    const { sessions } = p
    if (sessions !== undefined && sessions !== 'all' && !(Array.isArray(sessions) && sessions.every((id) => checkId('sessions', id)))) {
      throw new ValidationError('sessions', "must be 'all' or a list of session ids")
    }
    return this.#exclusive(p, {
      push: 'outbox',
      pull: p.full ? 'all' : 'window',
      sessions: sessions && (sessions === 'all' ? 'all' : [...sessions]),
    })
  }

  /**
   * One page of the REMOTE's session catalogue (what other devices stored; over HTTP only the
   * sessions the handler's `authorize` lets this user list), where `listSessions` lists this
   * device's. Pull what it finds with `sync({ sessions: [id] })`, or everything with
   * `sync({ sessions: 'all' })`. Needs the remote (an offline device gets `ERR_REMOTE`).
   *
   * @example
   * const { items } = await storage.discover({ limit: 50 }) // a new device's list of conversations
   * await storage.sync({ sessions: items.map((i) => i.sessionId) })
   */
  async discover(p?: ListSessionsOptions): Promise<SessionPage> {
    return remoteCatalogue(this.#tiers, { ...checkSessionQuery(p), signal: p?.signal })
  }

  /**
   * Remote → local for one location: every history id the local tier lacks, and `latest` and
   * the manifest unless they hold unpushed local changes. Writes nothing when local is current.
   *
   * @example
   * await storage.hydrate({ location }) // e.g. on a new device, before listing history
   */
  async hydrate(p: {
    location: SnapshotLocation
    signal?: AbortSignal
    onProgress?: (progress: SyncProgress) => void
  }): Promise<SyncResult> {
    const folder = folderAt(p)
    checkCallOptions(p)
    return this.#exclusive(p, { push: 'nothing', pull: 'all', folder })
  }

  /**
   * Local → remote for one location: pushes its outbox entries (and a pending deletion of its
   * session) and reconciles `latest` and the manifest, so the remote is current. With
   * `evict: true` it then drops the local copy (`evict`), under the same lock: offline, it fails
   * with the offline error and drops nothing; with anything still unconfirmed (a conflict), it
   * refuses with `ERR_CONFLICT` after the push.
   *
   * @example
   * await storage.flush({ location }) // before handing the session to a server-side agent
   * await storage.flush({ location, evict: true }) // done with it on this device
   */
  async flush(p: {
    location: SnapshotLocation
    evict?: boolean
    signal?: AbortSignal
    onProgress?: (progress: SyncProgress) => void
  }): Promise<SyncResult & { evicted?: number }> {
    const folder = folderAt(p)
    checkCallOptions(p)
    checkFields(p, { evict: 'boolean' })
    return this.#exclusive(p, { push: 'outbox', pull: 'none', folder }, p.evict ? [folder] : undefined)
  }

  /**
   * Drops the local copy of a location (`{ location }`) or of every location of a session
   * (`{ sessionId }`): its history, `latest`, manifest and sync state. Reads then fall through to
   * the remote (and cache again); a later `sync` no longer pulls it until it is read again. Only
   * what the remote has confirmed is dropped: while any write, delete or session deletion of it
   * waits in the outbox (or a conflict keeps one there) it refuses with `ConflictError`
   * (`ERR_CONFLICT`) naming the keys, and drops nothing; `flush({ location, evict: true })` pushes
   * first. Runs under the sync lock (no sync mid-evict); writes of this storage to those
   * locations wait for it and then land as usual. A write by another tab sharing the local tier
   * that lands mid-evict is reported as `ERR_CONFLICT` after the fact, its outbox entry kept.
   *
   * @example
   * await storage.sync()
   * const { evicted } = await storage.evict({ location })
   * await storage.loadSnapshot({ location }) // from the remote now
   */
  async evict(p: { location: SnapshotLocation; signal?: AbortSignal } | { sessionId: string; signal?: AbortSignal }): Promise<EvictResult> {
    checkFields(p, {})
    const one = 'location' in p && p.location !== undefined
    const folder = one ? folderAt(p as { location: SnapshotLocation }) : undefined
    const sessionId = one ? undefined : checkId('sessionId', (p as { sessionId?: string }).sessionId)
    if (one && (p as { sessionId?: string }).sessionId !== undefined)
      throw new ValidationError('sessionId', 'give a location or a sessionId, not both')
    checkCallOptions(p)
    const { signal } = p
    return this.#locked(
      p,
      async () => {
        const folders = folder ? [folder] : await sessionFolders(this.#tiers, sessionId!, signal)
        return this.#gate.hold(folders, () => evictFolders(this.#tiers, folders, signal))
      },
      () => ({ evicted: 0, folders: [] }),
    )
  }

  override async deleteSession(p: { sessionId: string; signal?: AbortSignal }): Promise<void> {
    // One outbox entry for the whole session, instead of one per key.
    const sessionId = checkId('sessionId', p?.sessionId)
    await dropSession(this.#tiers, sessionId, { signal: p.signal })
    this.#queued([sessionId])
  }

  /**
   * Stops listening to `online`, closes the `BroadcastChannel` and cancels a pending auto-sync.
   *
   * @example
   * window.addEventListener('pagehide', () => storage.close())
   */
  close(): void {
    clearTimeout(this.#timer)
    for (const stop of this.#stops.splice(0)) stop()
  }

  /** In a browser: hears other tabs over `BroadcastChannel`, and follows `online` / `offline`. */
  #listenToWindow(name: string, syncOnOnline: boolean): void {
    // `globalThis.window`: absent (not a ReferenceError) in Node, Deno, Bun and Workers.
    const win = globalThis.window as Window | undefined
    if (typeof win?.addEventListener !== 'function') return
    if (typeof BroadcastChannel === 'function') {
      // Another tab wrote or synced: our pending count and last sync time changed.
      const channel = new BroadcastChannel(`snapshelf-tiered:${name}`)
      this.#channel = channel
      channel.onmessage = (event) => {
        if (event.data === 'synced') this.#set({ lastSyncAt: new Date(), online: true })
        this.#recount().catch(ignore)
      }
      this.#stops.push(() => channel.close())
    }
    const listen = (type: string, listener: () => void): void => {
      win.addEventListener(type, listener)
      this.#stops.push(() => win.removeEventListener(type, listener))
    }
    listen('offline', () => this.#set({ online: false }))
    listen('online', () => {
      this.#set({ online: true })
      if (syncOnOnline) this.sync({ ifAvailable: true }).catch(ignore)
    })
  }

  /** After a local write queued `rels`: count them, tell other tabs, and schedule an auto-sync. */
  #queued(rels: string[]): void {
    for (const rel of rels) {
      this.#pending.add(rel)
      this.#queuedSinceCount.add(rel)
    }
    if (this.#pending.size !== this.#state.pending) this.#set({ pending: this.#pending.size })
    this.#channel?.postMessage('queued')
    if (this.#autoSyncDelayMs === undefined) return
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => {
      if (navigatorOf()?.onLine !== false) this.sync().catch(ignore)
    }, this.#autoSyncDelayMs)
  }

  /**
   * Runs one sync job under the in-process queue and the cross-tab lock, then (`evict`) drops
   * those folders in the same hold. A job that pushes also stamps `lastSyncAt` (sync, flush); a
   * pull-only one (hydrate) does not.
   */
  #exclusive(p: SyncOptions, run: Omit<SyncRun, 'signal' | 'onProgress'>, evict?: string[]): Promise<SyncResult & { evicted?: number }> {
    const job = async (): Promise<SyncResult & { evicted?: number }> => {
      this.#set({ syncing: true })
      try {
        const result = await runSync(this.#tiers, this.#settings, { ...run, signal: p.signal, onProgress: p.onProgress })
        const stamp = run.push === 'outbox' ? { lastSyncAt: new Date() } : {}
        this.#set({ online: true, lastError: null, conflicts: result.conflicts, ...stamp })
        this.#channel?.postMessage('synced')
        if (!evict) return result
        const { evicted } = await this.#gate.hold(evict, () => evictFolders(this.#tiers, evict, p.signal))
        return { ...result, evicted }
      } catch (error) {
        this.#set({ lastError: error, ...(isOffline(error) && { online: false }) })
        throw error
      } finally {
        // Counted before the job resolves: `status.pending` is current once `sync()` is.
        await this.#recount().catch(ignore)
        this.#set({ syncing: false })
      }
    }
    return this.#locked(p, job, () => ({ pushed: 0, pulled: 0, conflicts: [], skipped: true }))
  }

  /** Runs `job` after the queued jobs, holding the cross-tab lock; `skipped` when `ifAvailable` found it taken. */
  #locked<R>(p: SyncOptions, job: () => Promise<R>, skipped: () => R): Promise<R> {
    const locks = navigatorOf()?.locks
    const locked = (): Promise<R> => {
      if (!locks) return job()
      const lockOptions = p.ifAvailable ? { ifAvailable: true } : { signal: p.signal }
      return locks.request(this.#lockName, lockOptions, (lock) => (lock ? job() : skipped()))
    }
    const next = this.#queue.then(locked, locked)
    this.#queue = next.catch(ignore)
    return next
  }

  #set(change: Partial<TieredStatus>): void {
    this.#state = { ...this.#state, ...change }
    for (const listener of this.#listeners) {
      try {
        listener(this.status)
      } catch (error) {
        // A listener's bug is reported (as EventTarget reports it), never thrown into a write or a sync.
        const report = (globalThis as { reportError?: (error: unknown) => void }).reportError ?? console.error
        report(error)
      }
    }
  }

  /**
   * Lists the outbox (a local listing: cheap next to any remote call) into `status.pending`,
   * keeping what was queued while it listed.
   */
  async #recount(): Promise<void> {
    const count = ++this.#counts
    const since = new Set<string>()
    this.#queuedSinceCount = since
    const entries = await listEntries(this.#tiers)
    if (count !== this.#counts) return
    this.#pending = new Set([...entries.map((e) => e.rel), ...since])
    if (this.#pending.size !== this.#state.pending) this.#set({ pending: this.#pending.size })
  }
}

const ignore = (): void => {}

/** `globalThis.navigator`: undefined, not a ReferenceError, where there is none (Node 20). */
function navigatorOf(): Navigator | undefined {
  return globalThis.navigator as Navigator | undefined
}

/** The validated location's folder, relative to the store prefix. */
function folderAt(p: { location: SnapshotLocation }): string {
  return scopeFolder('', checkLocation(p?.location))
}

/** The largest delay `setTimeout` honours: a longer one fires at once, which would turn auto-sync into a loop. */
const MAX_TIMER_MS = 2 ** 31 - 1

/** The sync settings of `options`, validated, with their defaults. */
function checkSettings(options: TieredStorageOptions): Omit<SyncSettings, 'maxDecodedBytes'> & { autoSyncDelayMs?: number } {
  checkFields(options, { readThrough: 'boolean', syncOnOnline: 'boolean' })
  /** An option within [min, max]; an integer when it counts something. */
  const number = (
    field: 'concurrency' | 'retries' | 'lookbackMs' | 'autoSyncDelayMs',
    fallback: number,
    min: number,
    max: number,
  ): number => {
    const value = options[field] ?? fallback
    const counts = field === 'concurrency' || field === 'retries'
    if (typeof value !== 'number' || !(value >= min && value <= max) || (counts && !Number.isInteger(value))) {
      throw new ValidationError(field, `must be ${counts ? 'an integer' : 'a number'} from ${min} to ${max}`)
    }
    return value
  }
  return {
    concurrency: number('concurrency', 16, 1, Number.MAX_SAFE_INTEGER),
    retries: number('retries', 3, 0, Number.MAX_SAFE_INTEGER),
    lookbackMs: number('lookbackMs', 86_400_000, 1, Number.MAX_VALUE),
    autoSyncDelayMs: options.autoSyncDelayMs === undefined ? undefined : number('autoSyncDelayMs', 0, 1, MAX_TIMER_MS),
  }
}

/**
 * Checks the options of `sync`, `hydrate` and `flush` before any I/O: each given field of its
 * documented type. A signal is checked by shape, so a signal of another realm counts.
 */
function checkCallOptions(p: SyncOptions): void {
  checkFields(p, { onProgress: 'function', full: 'boolean', ifAvailable: 'boolean' })
  const { signal } = p
  if (signal !== undefined && typeof signal?.aborted !== 'boolean') throw new ValidationError('signal', 'must be an AbortSignal')
}

/** Checks that `options` is an object and each of `types`' fields, when given, has that type. */
function checkFields(options: unknown, types: Record<string, 'boolean' | 'function'>): void {
  if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'must be an object')
  for (const [field, type] of Object.entries(types)) {
    const value = (options as Record<string, unknown>)[field]
    if (value !== undefined && typeof value !== type) throw new ValidationError(field, `must be a ${type}`)
  }
}

/** A tier as a backend and its key prefix (a storage's own, or none for a bare backend). */
function tierOf(
  tier: Tier | undefined,
  field: string,
): { backend: Backend; prefix: string; compression?: 'gzip' | 'none'; encryption?: EncryptionOptions } {
  const t = tier as { backend?: Backend; prefix?: string; compression?: 'gzip' | 'none'; encryption?: EncryptionOptions } & Partial<Backend>
  if (typeof t?.backend?.get === 'function')
    return { backend: t.backend, prefix: t.prefix ?? '', compression: t.compression, encryption: t.encryption }
  if ((['get', 'put', 'list'] as const).every((m) => typeof t?.[m] === 'function')) return { backend: t as Backend, prefix: '' }
  throw new ValidationError(field, 'must be a storage or a Backend')
}
