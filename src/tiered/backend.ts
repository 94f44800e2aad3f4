import type {
  Backend,
  BackendCallOptions,
  BackendHead,
  BackendListPage,
  BackendObject,
  BackendPutOptions,
  SessionQuery,
} from '../core/backend.js'
import { catalogue } from '../core/catalogue.js'
import { throwIfAborted } from '../core/errors.js'
import { sessionTombstoneOf, tombstoneOf } from '../core/keys.js'
import { deleteSessionKeys } from '../core/listing.js'
import type { SessionPage } from '../core/types.js'
import { WriteGate } from './evict.js'
import { addEntry, copyToLocal, deletePending, writeKindOf } from './outbox.js'
import { locationOfFolder, recordAgreed } from './state.js'
import { type Tiers, isOffline, tiersOf } from './tiers.js'

/**
 * Options of `TieredBackend`.
 *
 * @example
 * const options: TieredBackendOptions = { local: new MemoryBackend(), remote: http.backend, prefix: 'agents' }
 */
export interface TieredBackendOptions {
  /** Where writes land, the outbox lives and reads start. */
  local: Backend
  /** What reads fall through to on a local miss (`TieredStorage.sync` pushes to it). */
  remote: Backend
  /** The local tier's own key prefix (a storage's `prefix`). Default none. */
  localPrefix?: string
  /** The remote tier's own key prefix. Default none. */
  remotePrefix?: string
  /**
   * The prefix of the store layered on this backend: every key it hands over starts with
   * `prefix/`. It namespaces the store in the local tier only; remote keys carry `remotePrefix`.
   */
  prefix?: string
  /** A local miss reads the remote and caches what it finds. Default true. */
  readThrough?: boolean
  /** Called after each local write or delete with the keys it queued (relative to `prefix`). */
  onQueued?: (rels: string[]) => void
  /** Called when a read-through failed because the remote is unreachable (the read answers "absent"). */
  onRemoteError?: (error: unknown) => void
}

/**
 * A `Backend` that writes locally with a persistent outbox and reads through to the remote.
 * Advanced API: `TieredStorage` builds one; use it directly only to layer your own store on it.
 *
 * - Every write lands in the local backend only, with an outbox entry recording how it was
 *   written (create-only, compare-and-swap, plain overwrite, delete): see outbox.ts. A
 *   create-only write queues its entry BEFORE the data, so a crash between the two leaves a
 *   harmless entry, never an unqueued write. Mutable writes queue it AFTER the data: sync
 *   compares those keys with the agreed state anyway, and an entry listed before its data landed
 *   could otherwise be confirmed by a reconcile that never saw the data.
 * - Reads (`get`, `head`) fall through to the remote when the local backend lacks a key and no
 *   delete of it is pending; what `get` fetches is cached locally, so ETags stay local ones.
 * - An object's metadata travels with its bytes everywhere bytes move (push, reconcile, pull, a
 *   read-through's cached copy), so the local tier lists it even when the remote (S3) cannot.
 * - Listing the store's own snapshot layout is local only (offline-first): `sync` and `hydrate`
 *   bring remote history down. Any other listing (an adapter's keys, such as Strands' stash, which
 *   no sync pulls) is the local page merged, when the remote answers, with the remote's keys the
 *   local tier lacks, minus deletes queued here; offline, the local page alone. What it finds
 *   remotely is read (and cached) through `get`.
 *
 * @example
 * const backend = new TieredBackend({ local: local.backend, remote: remote.backend })
 * const store = new BackendSnapshotStore({ backend })
 */
export class TieredBackend implements Backend {
  readonly local: Backend
  readonly remote: Backend
  /** The local tier's page size: listing starts locally (a merged page is never larger). */
  readonly maxListPage?: number
  /** Present only when the local tier can push changes; otherwise the store polls `get`. */
  readonly subscribe?: (key: string, onChange: () => void) => () => void
  readonly #tiers: Tiers
  readonly #readThrough: boolean
  readonly #onQueued?: (rels: string[]) => void
  readonly #onRemoteError?: (error: unknown) => void
  readonly #gate = new WriteGate()

  constructor(options: TieredBackendOptions)
  /** @deprecated Pass a `TieredBackendOptions` object. */
  constructor(local: Backend, localPrefix: string, remote: Backend, remotePrefix: string, prefix: string)
  constructor(...args: [TieredBackendOptions] | [Backend, string, Backend, string, string]) {
    const options: TieredBackendOptions =
      args.length === 1 ? args[0] : { local: args[0], localPrefix: args[1], remote: args[2], remotePrefix: args[3], prefix: args[4] }
    const tiers = tiersOf(options)
    this.#tiers = tiers
    this.local = tiers.local
    this.remote = tiers.remote
    this.#readThrough = options.readThrough ?? true
    this.#onQueued = options.onQueued
    this.#onRemoteError = options.onRemoteError
    const { local } = tiers
    this.maxListPage = local.maxListPage
    if (local.subscribe) this.subscribe = (key, onChange) => local.subscribe!(this.#localKey(key), onChange)
    gates.set(this, this.#gate)
  }

  async get(key: string, options?: BackendCallOptions): Promise<BackendObject | null> {
    const found = await this.local.get(this.#localKey(key), options)
    if (found || !this.#readThrough || (await deletePending(this.#tiers, this.#relative(key), options))) return found
    let remote: BackendObject | null
    try {
      remote = await this.remote.get(this.#tiers.remoteRoot + this.#relative(key), options)
    } catch (error) {
      // Unreachable remote: the local view ("absent") stands, and the status says offline.
      if (!isOffline(error)) throw error
      this.#onRemoteError?.(error)
      return null
    }
    if (!remote) return null
    // Cached create-only: a local write that raced us wins, and we return what is now local
    // (absent again when a delete was queued meanwhile).
    // Through the gate: a copy landing mid-eviction could outlive the state the eviction drops.
    const rel = this.#relative(key)
    return this.#gate.run([rel], async () => {
      const copy = { signal: options?.signal, ifNoneMatch: '*', metadata: remote.metadata } as const
      const cached = await copyToLocal(this.#tiers, rel, remote.body, copy)
      if (cached.result !== 'copied') return this.local.get(this.#localKey(key), options)
      await recordAgreed(this.#tiers, rel, remote.body, remote.etag, options?.signal)
      return { body: remote.body, etag: cached.etag, metadata: remote.metadata }
    })
  }

  async head(key: string, options?: BackendCallOptions): Promise<BackendHead | null> {
    // A miss reads through `get`, which caches: the ETag returned is always a local one.
    const found = (await this.local.head(this.#localKey(key), options)) ?? (await this.get(key, options))
    return found && { etag: found.etag, size: 'body' in found ? found.body.length : found.size, metadata: found.metadata }
  }

  async put(key: string, body: Uint8Array, options: BackendPutOptions = {}): Promise<{ etag: string } | null> {
    const rel = this.#relative(key)
    const kind = writeKindOf(options)
    const done = await this.#gate.run([rel], async () => {
      const entry = kind === 'create' ? await addEntry(this.#tiers, rel, kind, options) : undefined
      const put = await this.local.put(this.#localKey(key), body, options)
      // A failed precondition wrote nothing: the entry is ours alone, so it can go at once.
      if (!put && entry) await this.local.delete([entry], options)
      if (put && kind !== 'create') await addEntry(this.#tiers, rel, kind, options)
      return put
    })
    if (done) this.#onQueued?.([rel])
    return done
  }

  async delete(keys: string[], options?: BackendCallOptions): Promise<void> {
    const rels = keys.map((key) => this.#relative(key))
    await this.#gate.run(rels, async () => {
      for (const rel of rels) await addEntry(this.#tiers, rel, 'delete', options)
      await this.local.delete(
        rels.map((rel) => this.#tiers.localRoot + rel),
        options,
      )
    })
    if (rels.length) this.#onQueued?.(rels)
  }

  async list(prefix: string, options: BackendCallOptions & { startAfter?: string; limit?: number } = {}): Promise<BackendListPage> {
    const { startAfter } = options
    const { localRoot, prefix: root } = this.#tiers
    const local = await this.local.list(this.#localKey(prefix), { ...options, startAfter: startAfter && this.#localKey(startAfter) })
    const localPage = { ...local, entries: local.entries.map((e) => ({ ...e, key: e.key.slice(localRoot.length) })) }
    const rel = this.#relative(prefix)
    const through = this.#readThrough && !pulledBySync(rel) && globalThis.navigator?.onLine !== false
    const remotePage = through ? await this.#remoteList(rel, { ...options, startAfter: startAfter && this.#relative(startAfter) }) : null
    const page = remotePage ? await this.#merged(localPage, remotePage, options) : localPage
    return { ...page, entries: page.entries.map((e) => ({ ...e, key: root + e.key })) }
  }

  /**
   * The session catalogue of THIS device: the local tier's sessions (what was written here or
   * pulled, minus what was deleted here), answered offline without a remote request. The remote's
   * catalogue is `TieredStorage.discover`. Times are when the local copy last changed.
   *
   * @example
   * const { items } = await backend.listSessions('', { limit: 100 })
   */
  async listSessions(_root: string, query: SessionQuery & BackendCallOptions): Promise<SessionPage> {
    const { items, nextStartAfter } = await catalogue(this.local, this.#tiers.localRoot, query)
    return { items, nextStartAfter }
  }

  /**
   * The remote's page of a listing, keys relative; `null` when the remote cannot answer (offline,
   * reported as for `get`; or it refuses the listing): the local view then stands alone, as
   * listing is local-first. The remote's part lets a device that has not pulled a folder yet
   * (keys no sync pulls: an adapter's, such as Strands' stash) see what other devices wrote.
   */
  async #remoteList(rel: string, options: BackendCallOptions & { startAfter?: string; limit?: number }): Promise<BackendListPage | null> {
    const { remoteRoot } = this.#tiers
    try {
      const page = await this.remote.list(remoteRoot + rel, {
        ...options,
        startAfter: options.startAfter && remoteRoot + options.startAfter,
      })
      return { ...page, entries: page.entries.map((e) => ({ ...e, key: e.key.slice(remoteRoot.length) })) }
    } catch (error) {
      throwIfAborted(options.signal)
      if (isOffline(error)) this.#onRemoteError?.(error)
      return null
    }
  }

  /**
   * Local and remote pages (keys relative) merged into one ascending page, as complete as both:
   * cut at the smaller last key of a truncated page (beyond it the other page may lack keys).
   * A remote key is left out when a delete of it is queued here (deletes are never undone) or
   * it is a tombstone (the sync's own marker, never data).
   */
  async #merged(
    local: BackendListPage,
    remote: BackendListPage,
    options: BackendCallOptions & { limit?: number },
  ): Promise<BackendListPage> {
    const cuts = [local, remote].filter((p) => p.truncated && p.entries.length).map((p) => p.entries.at(-1)!.key)
    const cut = cuts.sort()[0]
    const byKey = new Map(local.entries.map((e) => [e.key, e]))
    for (const e of remote.entries) {
      if (byKey.has(e.key) || tombstoneOf(e.key) || sessionTombstoneOf(e.key) || (await deletePending(this.#tiers, e.key, options)))
        continue
      // The remote's ETag is not a local one: a reader re-reads (and caches) through `get`.
      byKey.set(e.key, { key: e.key, size: e.size })
    }
    const all = [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    const within = cut === undefined ? all : all.filter((e) => e.key <= cut)
    const entries = within.slice(0, options.limit ?? within.length)
    return { entries, truncated: cut !== undefined || entries.length < all.length }
  }

  /** The key relative to the tiered prefix: what outbox entries and sync steps name. */
  #relative(key: string): string {
    return key.slice(this.#tiers.prefix.length)
  }

  #localKey(key: string): string {
    return this.#tiers.localRoot + this.#relative(key)
  }
}

/**
 * Whether a listing prefix (relative) lies inside one location's folder of the store's own
 * snapshot layout (`<sessionId>/scopes/<scope>/<scopeId>/snapshots/…`: what the snapshot layer
 * lists), whose history the sync pulls: such listings stay local. A shorter prefix (`s1/`,
 * `context/`) may be an adapter's folder as well as a session's.
 */
function pulledBySync(rel: string): boolean {
  const parts = rel.split('/')
  return parts.length > 5 && locationOfFolder(`${parts.slice(0, 5).join('/')}/`) !== undefined
}

/**
 * A tiered backend and the layout it writes in, for the storage that owns it: the sync steps
 * read and write the same keys, passed explicitly rather than as members of the public class.
 *
 * @example
 * const { backend, tiers, gate } = createTieredBackend({ local, remote, onQueued: (rels) => schedule(rels) })
 */
export function createTieredBackend(options: TieredBackendOptions): { backend: TieredBackend; tiers: Tiers; gate: WriteGate } {
  const backend = new TieredBackend(options)
  return { backend, tiers: tiersOf(options), gate: gates.get(backend)! }
}

/** Each backend's write gate, for the storage that evicts through it (not a member of the public class). */
const gates = new WeakMap<TieredBackend, WriteGate>()

/**
 * Deletes a whole session locally after queueing one `drop` entry (not one entry per key), so
 * the next sync deletes it remotely. The caller has validated `sessionId`.
 *
 * @example
 * await dropSession(tiers, 's1', { signal })
 */
export async function dropSession(tiers: Tiers, sessionId: string, options?: BackendCallOptions): Promise<void> {
  await addEntry(tiers, sessionId, 'drop', options)
  await deleteSessionKeys(tiers.local, tiers.localRoot, sessionId, options)
}
