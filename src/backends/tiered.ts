import type { Backend, BackendCallOptions, BackendListPage, BackendObject, BackendPutOptions } from '../backend.js'
import { RemoteError, TimeoutError } from '../errors.js'
import { newSnapshotId, snapshotIdTime } from '../ids.js'

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

/** @internal One listed outbox entry. */
export interface OutboxEntry {
  /** The entry's own local key. */
  key: string
  /** The data key relative to the tiered prefix (`<sessionId>/scopes/…`), or the session id for `drop`. */
  rel: string
  op: OutboxOp
  /** UUIDv7: orders entries, and dates them. */
  id: string
}

/** @internal Hooks the storage gives its backend. */
export interface TieredBackendHooks {
  /** Called after each local write or delete that queued an outbox entry. */
  onQueued(): void
  /** Called when a read-through to the remote failed (offline), with the error. */
  onRemoteError(error: unknown): void
}

/** @internal `a/` for a non-empty prefix, `''` otherwise. */
export function slash(prefix: string): string {
  return prefix ? prefix + '/' : ''
}

const EMPTY = new Uint8Array(0)
/** @internal The two mutable files of a location; every other key is write-once history. */
export const MUTABLE = /\/snapshots\/(snapshot_latest|manifest)\.json$/

/**
 * A `Backend` that writes locally with a persistent outbox and reads through to the remote.
 * Advanced API: `TieredStorage` builds one; use it directly only to layer your own store on it.
 *
 * @example
 * const backend = new TieredBackend(local.backend, '', remote.backend, '', '', { onQueued() {}, onRemoteError() {} })
 * const store = new BackendSnapshotStore({ backend })
 */
export class TieredBackend implements Backend {
  /** Local key prefix of data (`[localPrefix/]`). */
  declare readonly lp: string
  /** Remote key prefix of data (`[remotePrefix/]`). */
  declare readonly rp: string
  /** The tiered prefix (`[prefix/]`) every data key starts with. */
  declare readonly tp: string
  /** Local namespace of sync bookkeeping: `[localPrefix/][prefix/].snapshelf/`. */
  declare readonly meta: string
  /** Whether a local miss reads the remote (and caches what it finds). */
  readThrough = true
  /** Present only when the local tier can push changes; otherwise the store polls `get`. */
  declare readonly subscribe?: (key: string, onChange: () => void) => () => void

  constructor(
    readonly local: Backend,
    localPrefix: string,
    readonly remote: Backend,
    remotePrefix: string,
    prefix: string,
    /** Set by the owning storage: status updates. */
    public hooks: TieredBackendHooks = { onQueued() {}, onRemoteError() {} },
  ) {
    this.lp = slash(localPrefix)
    this.rp = slash(remotePrefix)
    this.tp = slash(prefix)
    this.meta = `${this.lp}${this.tp}.snapshelf/`
    if (local.subscribe) this.subscribe = (key, onChange) => local.subscribe!(this.lp + key, onChange)
  }

  get maxListPage(): number | undefined {
    return this.local.maxListPage
  }

  async get(key: string, o?: BackendCallOptions): Promise<BackendObject | null> {
    const found = await this.local.get(this.lp + key, o)
    if (found || !(await this.mayReadThrough(key, o))) return found
    let remote: BackendObject | null
    try {
      remote = await this.remote.get(this.rp + key, o)
    } catch (error) {
      // Unreachable remote: the local view ("absent") stands, and the status says offline.
      if (!(error instanceof RemoteError || error instanceof TimeoutError)) throw error
      this.hooks.onRemoteError(error)
      return null
    }
    // Cache create-only: a local write that raced us wins, and we return what is now local.
    const put = remote && (await this.local.put(this.lp + key, remote.body, { ...o, ifNoneMatch: '*' }))
    return put ? { body: remote!.body, etag: put.etag } : remote && this.local.get(this.lp + key, o)
  }

  async head(key: string, o?: BackendCallOptions): Promise<{ etag: string; size: number } | null> {
    // A miss reads through `get`, which caches: the ETag returned is always a local one.
    const found = (await this.local.head(this.lp + key, o)) ?? (await this.get(key, o))
    return found && { etag: found.etag, size: 'body' in found ? found.body.length : found.size }
  }

  async put(key: string, body: Uint8Array, o?: BackendPutOptions): Promise<{ etag: string } | null> {
    const rel = key.slice(this.tp.length)
    // latest and manifest: data first. Sync compares them with the agreed state anyway, and an
    // entry listed before its data landed could otherwise be confirmed by a reconcile that
    // never saw the data. Everything else: entry first (see the class comment).
    const mutable = MUTABLE.test(rel)
    const entry = mutable ? undefined : await this.queue(rel, 'put', o)
    const done = await this.local.put(this.lp + key, body, o)
    // A lost compare-and-swap wrote nothing: its entry is ours alone, so it can go at once.
    if (!done) {
      if (entry) await this.local.delete([entry], o)
      return null
    }
    if (mutable) await this.queue(rel, 'put', o)
    this.hooks.onQueued()
    return done
  }

  async delete(keys: string[], o?: BackendCallOptions): Promise<void> {
    for (const key of keys) await this.queue(key.slice(this.tp.length), 'del', o)
    await this.local.delete(
      keys.map((k) => this.lp + k),
      o,
    )
    if (keys.length) this.hooks.onQueued()
  }

  async list(prefix: string, o: BackendCallOptions & { startAfter?: string; limit?: number } = {}): Promise<BackendListPage> {
    const startAfter = o.startAfter === undefined ? undefined : this.lp + o.startAfter
    const page = await this.local.list(this.lp + prefix, { ...o, startAfter })
    const cut = this.lp.length
    return { truncated: page.truncated, entries: page.entries.map((e) => ({ ...e, key: e.key.slice(cut) })) }
  }


  /**
   * Deletes a whole session locally after queueing one `drop` entry (not one entry per key).
   * The caller has validated `sessionId`.
   */
  async dropSession(sessionId: string, o?: BackendCallOptions): Promise<void> {
    await this.queue(sessionId, 'drop', o)
    await deleteAll(this.local, `${this.lp}${this.tp}${sessionId}/`, o)
    this.hooks.onQueued()
  }

  /** Every outbox entry, oldest first. */
  async outbox(o?: BackendCallOptions): Promise<OutboxEntry[]> {
    const entries: OutboxEntry[] = []
    const base = this.meta + 'outbox/'
    for await (const key of listAll(this.local, base, o)) {
      const [rel, op, id] = key.slice(base.length).split('!') as [string, OutboxOp, string]
      if (id) entries.push({ key, rel, op, id })
    }
    return entries.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  }

  /** Writes an outbox entry for `rel` and returns its local key. */
  private async queue(rel: string, op: OutboxOp, o?: BackendCallOptions): Promise<string> {
    const key = `${this.meta}outbox/${rel}!${op}!${newSnapshotId()}`
    await this.local.put(key, EMPTY, o)
    return key
  }

  /** True unless reads-through are off, or a delete of `key` (or of its session) is pending. */
  private async mayReadThrough(key: string, o?: BackendCallOptions): Promise<boolean> {
    if (!this.readThrough) return false
    const rel = key.slice(this.tp.length)
    const base = this.meta + 'outbox/'
    for (const pending of [`${rel}!del!`, `${rel.slice(0, rel.indexOf('/'))}!drop!`]) {
      if ((await this.local.list(base + pending, { ...o, limit: 1 })).entries.length) return false
    }
    return true
  }

}

/** @internal Every key under `prefix`, ascending, page by page. */
export async function* listAll(backend: Backend, prefix: string, o?: BackendCallOptions & { startAfter?: string }): AsyncGenerator<string> {
  let startAfter = o?.startAfter
  for (;;) {
    const page = await backend.list(prefix, { signal: o?.signal, startAfter, limit: backend.maxListPage ?? 1000 })
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

/** @internal Milliseconds since an outbox entry was queued. */
export function entryAge(entry: OutboxEntry): number {
  return Date.now() - snapshotIdTime(entry.id).getTime()
}
