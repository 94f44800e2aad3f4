import type { Backend, BackendCallOptions, BackendListPage, BackendObject, BackendPutOptions } from '../core/backend.js'
import { RemoteError, TimeoutError } from '../core/errors.js'
import { newSnapshotId } from '../core/ids.js'

/**
 * The byte side of `TieredStorage`: one `Backend` over a local and a remote backend.
 *
 * - Writes land in the local backend only, each preceded by an outbox entry stored in the local
 *   backend itself under `[localPrefix/][prefix/].snapshelf/outbox/`. No id starts with a dot, so
 *   that namespace can never collide with a session's keys, and an IndexedDB local tier keeps
 *   its outbox across reloads. The entry is written *before* the data so a crash between the two
 *   leaves a harmless entry (pushed as a no-op), never an unqueued write.
 * - An entry's whole meaning is in its key: `<rel key>!<op>!<uuidv7>`, so listing the outbox is
 *   enough to plan a sync (no body reads) and listing `<rel key>!del!` finds pending deletes.
 *   Every write gets a fresh entry; the syncer removes only entries it listed before pushing, so
 *   a write racing a sync (another tab) is never dropped, and no conditional delete is needed.
 * - Reads (`get`, `head`) fall through to the remote when the local backend lacks a key and no
 *   delete of it is pending; what `get` fetches is cached locally so ETags stay local ones.
 * - Listing is local only: offline-first. `TieredStorage.hydrate` brings remote history down.
 */

/** @internal An outbox operation: a key written, a key deleted, a whole session deleted. */
export type OutboxOp = 'put' | 'del' | 'drop'

/** @internal One listed outbox entry (an in-memory view of a key; never stored as JSON). */
export interface OutboxEntry {
  /** The entry's own local key. */
  _key: string
  /** The data key relative to the tiered prefix (`<sessionId>/scopes/…`), or the session id for `drop`. */
  _rel: string
  _op: OutboxOp
  /** UUIDv7: orders entries, and dates them. */
  _id: string
}

/** @internal `a/` for a non-empty prefix, `''` otherwise. */
export function slash(prefix: string): string {
  return prefix ? prefix + '/' : ''
}

/** @internal The session id a relative key (or a bare session id) belongs to. */
export function sessionOf(rel: string): string {
  return rel.split('/')[0]!
}

/** @internal A failure of the network or the remote service (as opposed to bad input or a bug): "offline". */
export function isOffline(error: unknown): boolean {
  return error instanceof RemoteError || error instanceof TimeoutError
}

const EMPTY = new Uint8Array(0)
/** @internal The two mutable files of a location; every other key is write-once history. */
export const MUTABLE = /\/snapshots\/(snapshot_latest|manifest)\.json$/

/**
 * A `Backend` that writes locally with a persistent outbox and reads through to the remote.
 * Advanced API: `TieredStorage` builds one; use it directly only to layer your own store on it.
 * Members named `_x` are the storage's plumbing, not API.
 *
 * @example
 * const backend = new TieredBackend(local.backend, '', remote.backend, '', '')
 * const store = new BackendSnapshotStore({ backend })
 */
export class TieredBackend implements Backend {
  /** @internal Local key prefix of data (`[localPrefix/]`). */
  declare readonly _lp: string
  /** @internal Remote key prefix of data (`[remotePrefix/]`). */
  declare readonly _rp: string
  /** @internal The tiered prefix (`[prefix/]`) every data key starts with. */
  declare readonly _tp: string
  /** @internal Local namespace of outbox entries: `[localPrefix/][prefix/].snapshelf/outbox/`. */
  declare readonly _outboxPrefix: string
  /** @internal Local namespace of per-location sync state: `[localPrefix/][prefix/].snapshelf/sync/`. */
  declare readonly _syncPrefix: string
  /** @internal Whether a local miss reads the remote (and caches what it finds). */
  _readThrough = true
  /** @internal Set by the owning storage: called after each local write or delete that queued an outbox entry. */
  declare _onQueued?: () => void
  /** @internal Set by the owning storage: called when a read-through to the remote failed (offline). */
  declare _onRemoteError?: (error: unknown) => void
  /** The local tier's page size: listing is local. */
  declare readonly maxListPage?: number
  /** Present only when the local tier can push changes; otherwise the store polls `get`. */
  declare readonly subscribe?: (key: string, onChange: () => void) => () => void

  constructor(
    readonly local: Backend,
    localPrefix: string,
    readonly remote: Backend,
    remotePrefix: string,
    prefix: string,
  ) {
    const lp = (this._lp = slash(localPrefix))
    this._rp = slash(remotePrefix)
    const meta = lp + (this._tp = slash(prefix)) + '.snapshelf/'
    this._outboxPrefix = meta + 'outbox/'
    this._syncPrefix = meta + 'sync/'
    this.maxListPage = local.maxListPage
    if (local.subscribe) this.subscribe = (key, onChange) => local.subscribe!(lp + key, onChange)
  }

  async get(key: string, o?: BackendCallOptions): Promise<BackendObject | null> {
    const { local, _lp: lp } = this
    const found = await local.get(lp + key, o)
    if (found || !(await this._mayReadThrough(key, o))) return found
    let remote: BackendObject | null
    try {
      remote = await this.remote.get(this._rp + key, o)
    } catch (error) {
      // Unreachable remote: the local view ("absent") stands, and the status says offline.
      if (!isOffline(error)) throw error
      this._onRemoteError?.(error)
      return null
    }
    // Cache create-only: a local write that raced us wins, and we return what is now local.
    const put = remote && (await local.put(lp + key, remote.body, { ...o, ifNoneMatch: '*' }))
    return put ? { body: remote!.body, etag: put.etag } : remote && local.get(lp + key, o)
  }

  async head(key: string, o?: BackendCallOptions): Promise<{ etag: string; size: number } | null> {
    // A miss reads through `get`, which caches: the ETag returned is always a local one.
    const found = (await this.local.head(this._lp + key, o)) ?? (await this.get(key, o))
    return found && { etag: found.etag, size: 'body' in found ? found.body.length : found.size }
  }

  async put(key: string, body: Uint8Array, o?: BackendPutOptions): Promise<{ etag: string } | null> {
    const rel = key.slice(this._tp.length)
    // latest and manifest: data first. Sync compares them with the agreed state anyway, and an
    // entry listed before its data landed could otherwise be confirmed by a reconcile that
    // never saw the data. Everything else: entry first (see the class comment).
    const mutable = MUTABLE.test(rel)
    const entry = mutable ? undefined : await this._queue(rel, 'put', o)
    const done = await this.local.put(this._lp + key, body, o)
    // A lost compare-and-swap wrote nothing: its entry is ours alone, so it can go at once.
    if (!done) {
      if (entry) await this.local.delete([entry], o)
      return null
    }
    if (mutable) await this._queue(rel, 'put', o)
    this._onQueued?.()
    return done
  }

  async delete(keys: string[], o?: BackendCallOptions): Promise<void> {
    for (const key of keys) await this._queue(key.slice(this._tp.length), 'del', o)
    await this.local.delete(
      keys.map((k) => this._lp + k),
      o,
    )
    if (keys.length) this._onQueued?.()
  }

  async list(prefix: string, o: BackendCallOptions & { startAfter?: string; limit?: number } = {}): Promise<BackendListPage> {
    const { _lp: lp } = this
    const page = await this.local.list(lp + prefix, { ...o, startAfter: o.startAfter && lp + o.startAfter })
    return { ...page, entries: page.entries.map((e) => ({ ...e, key: e.key.slice(lp.length) })) }
  }

  /**
   * @internal Deletes a whole session locally after queueing one `drop` entry (not one entry per
   * key). The caller has validated `sessionId`.
   */
  async _dropSession(sessionId: string, o?: BackendCallOptions): Promise<void> {
    await this._queue(sessionId, 'drop', o)
    await deleteAll(this.local, `${this._lp}${this._tp}${sessionId}/`, o)
    this._onQueued?.()
  }

  /** @internal Every outbox entry, oldest first. */
  async _outbox(o?: BackendCallOptions): Promise<OutboxEntry[]> {
    const entries: OutboxEntry[] = []
    const base = this._outboxPrefix
    for await (const key of listAll(this.local, base, o)) {
      const [rel, op, id] = key.slice(base.length).split('!') as [string, OutboxOp, string]
      if (id) entries.push({ _key: key, _rel: rel, _op: op, _id: id })
    }
    // Ids are unique (UUIDv7), so no two entries compare equal.
    return entries.sort((a, b) => (a._id < b._id ? -1 : 1))
  }

  /** Writes an outbox entry for `rel` and returns its local key. */
  private async _queue(rel: string, op: OutboxOp, o?: BackendCallOptions): Promise<string> {
    const key = `${this._outboxPrefix}${rel}!${op}!${newSnapshotId()}`
    await this.local.put(key, EMPTY, o)
    return key
  }

  /** True unless reads-through are off, or a delete of `key` (or of its session) is pending. */
  private async _mayReadThrough(key: string, o?: BackendCallOptions): Promise<boolean> {
    if (!this._readThrough) return false
    const rel = key.slice(this._tp.length)
    for (const pending of [`${rel}!del!`, `${sessionOf(rel)}!drop!`]) {
      if ((await this.local.list(this._outboxPrefix + pending, { ...o, limit: 1 })).entries.length) return false
    }
    return true
  }
}

/** @internal Every key under `prefix`, ascending, page by page. */
export async function* listAll(backend: Backend, prefix: string, o?: BackendCallOptions & { startAfter?: string }): AsyncGenerator<string> {
  let startAfter = o?.startAfter
  for (;;) {
    const page = await backend.list(prefix, { ...o, startAfter, limit: backend.maxListPage ?? 1000 })
    for (const e of page.entries) yield e.key
    startAfter = page.entries.at(-1)?.key
    if (!page.truncated || startAfter === undefined) return
  }
}

/** @internal Deletes every key under `prefix` in list-sized batches. */
export async function deleteAll(backend: Backend, prefix: string, o?: BackendCallOptions): Promise<void> {
  const batch: string[] = []
  for await (const key of listAll(backend, prefix, o)) {
    batch.push(key)
    if (batch.length === 1000) await backend.delete(batch.splice(0), o)
  }
  if (batch.length) await backend.delete(batch, o)
}
