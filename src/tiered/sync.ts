import type { Backend, BackendObject, BackendPutOptions } from '../core/backend.js'
import { decodeJSON } from '../core/codec.js'
import { ConflictError, throwIfAborted } from '../core/errors.js'
import { snapshotIdTime } from '../core/ids.js'
import { historyIdOf } from '../core/keys.js'
import { sleep } from '../core/util.js'
import { MUTABLE, type OutboxEntry, type TieredBackend, deleteAll, isOffline, listAll, sessionOf } from './backend.js'

/**
 * The sync engine of `TieredStorage`. It knows the snapshot semantics of each key (history is
 * write-once, `snapshot_latest.json` and `manifest.json` are mutable) from the key layout alone,
 * and copies ENCODED bytes key to key: nothing is decoded or re-encoded, except that a true
 * conflict on a mutable key decodes both sides once to read their timestamps.
 *
 * Mutable keys are reconciled three-way against the last state both tiers agreed on (its
 * SHA-256 and the remote ETag, kept per location under `.snapshelf/sync/`):
 * - only one side changed since the agreed state → that side wins (a fast-forward);
 * - both changed → the deterministic rule: the greater `createdAt` (`updatedAt` for the
 *   manifest) wins, ties broken by the greater SHA-256 of the stored bytes. Every device
 *   compares the same two byte strings, so every device picks the same winner;
 * - the remote moves only by compare-and-swap (If-Match its ETag, If-None-Match when absent),
 *   the local tier likewise, so a write racing the sync is re-read, never overwritten.
 */

/**
 * Progress of one sync: keys pushed and pulled so far, out of `total` known so far.
 *
 * @example
 * await storage.sync({ onProgress: ({ pushed, pulled, total }) => bar.update((pushed + pulled) / total) })
 */
export interface SyncProgress {
  pushed: number
  pulled: number
  total: number
}

/**
 * What a sync, flush or hydrate did.
 *
 * @example
 * const { pushed, pulled, conflicts } = await storage.sync()
 */
export interface SyncResult {
  /** Keys (and session deletions) the remote received. */
  pushed: number
  /** Keys the local tier received. */
  pulled: number
  /** History keys the remote holds with different bytes (an id reused): kept in the outbox. */
  conflicts: string[]
  /** True when another tab held the sync lock and `ifAvailable` was asked for. */
  skipped?: boolean
}

/** @internal Fixed per storage. */
export interface SyncSettings {
  _concurrency: number
  _retries: number
  _lookbackMs: number
  _maxDecodedBytes: number
}

/**
 * @internal Which remote history a run pulls: 0 none; 1 the window (ids after the cursor minus
 * the lookback); 2 all of it.
 */
export type PullMode = 0 | 1 | 2

interface Agreed {
  /** SHA-256 of the bytes both tiers held. */
  base: string
  /** The remote's ETag of those bytes. */
  etag: string | null
}
/** Per-location sync state, stored locally as JSON: its keys are a storage format, never renamed. */
type FolderState = { latest?: Agreed; manifest?: Agreed; cursor?: string }
/** The mutable keys of a location: the state field, the file, the field that dates its content. */
const MUTABLES = [
  ['latest', 'snapshot_latest.json', 'createdAt'],
  ['manifest', 'manifest.json', 'updatedAt'],
] as const
/** An entry whose data never appeared after this long was left by a crash between its two writes. */
const STALE_ENTRY_MS = 60_000

/**
 * @internal Runs one sync over `b`: pushes the outbox when `push` (all of it, or only what
 * belongs to `folder`, one location `<s>/scopes/<scope>/<id>/snapshots/`), reconciles `latest`
 * and the manifest of every known location (or of `folder`), and pulls history per `pull`.
 */
export async function runSync(
  b: TieredBackend,
  s: SyncSettings,
  { signal, onProgress }: { signal?: AbortSignal; onProgress?: (p: SyncProgress) => void },
  push: boolean,
  pull: PullMode,
  folder?: string,
): Promise<SyncResult> {
  const { local, remote, _lp: lp, _rp: rp, _tp: tp, _syncPrefix: syncPrefix } = b
  const o = { signal }
  /** Write options: create-only (`null`/`undefined`), or compare-and-swap against `etag`. */
  const cas = (etag?: string | null): BackendPutOptions => (etag == null ? { signal, ifNoneMatch: '*' } : { signal, ifMatch: etag })
  const r: SyncProgress = { pushed: 0, pulled: 0, total: 0 }
  const conflicts: string[] = []
  const progress = (): void => onProgress?.({ ...r })
  /** Retries network failures with full-jitter exponential backoff; anything else surfaces at once. */
  const retry = async <R>(op: () => Promise<R>): Promise<R> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await op()
      } catch (error) {
        if (attempt >= s._retries || !isOffline(error)) throw error
        await sleep(Math.random() * Math.min(5000, 100 * 2 ** attempt), signal)
      }
    }
  }
  /** Runs `fn` over `items` with at most `concurrency` in flight; the first failure stops new work and is thrown. */
  const pool = async <T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> => {
    let next = 0
    let failure: [error: unknown] | undefined // boxed: the error itself may be undefined
    const worker = async (): Promise<void> => {
      while (!failure && next < items.length) {
        const item = items[next++]!
        try {
          throwIfAborted(signal)
          await fn(item)
        } catch (error) {
          failure ??= [error]
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(s._concurrency, items.length) }, worker))
    if (failure) throw failure[0]
  }
  const remoteGet = (key: string): Promise<BackendObject | null> => retry(() => remote.get(rp + key, o))

  /**
   * Pushes one history (or unknown) key per its entries, oldest first: true when done, false when
   * the remote holds different bytes at a history key (a conflict), undefined when the data of a
   * fresh entry has not landed yet (kept for the next sync, not a conflict).
   */
  const pushKey = async (rel: string, list: OutboxEntry[]): Promise<boolean | undefined> => {
    const key = tp + rel
    const last = list.at(-1)!
    // A queued delete goes first even when a put follows: a history id deleted and saved again
    // must replace the remote's old bytes, which a create-only put alone would call a conflict.
    if (list.some((e) => e._op === 'del')) await retry(() => remote.delete([rp + key], o))
    if (last._op === 'del') return true
    const obj = await local.get(lp + key, o)
    // Absent: a write whose data is still landing (keep), or a crash leftover (drop).
    if (!obj) return Date.now() - +snapshotIdTime(last._id) > STALE_ENTRY_MS || undefined
    // History is create-only; any other key is overwritten.
    if (await retry(() => remote.put(rp + key, obj.body, historyIdOf(rel) ? cas() : o))) return true
    // Taken: identical bytes are our own earlier push whose answer was lost.
    const there = await remoteGet(key)
    return !!there && (await sha256(there.body)) === (await sha256(obj.body))
  }

  /**
   * Brings one mutable key of folder `f` to agreement (see the module comment for the rule),
   * counting what moved; true when a local change was kept back because this run only pulls.
   */
  const reconcile = async (f: string, [kind, file, timeField]: (typeof MUTABLES)[number], state: FolderState): Promise<boolean> => {
    const key = tp + f + file
    const agreed = state[kind]
    /** When the content is dated (`createdAt`, `updatedAt`); undated or undecodable bytes never win on time. */
    const time = async (body: Uint8Array): Promise<number> => {
      const t = Date.parse(String((await decodeJSON<Record<string, unknown>>(body, key, s._maxDecodedBytes).catch((): Record<string, unknown> => ({})))[timeField]))
      return isNaN(t) ? -Infinity : t
    }
    for (let attempt = 0; attempt < 10; attempt++) {
      if (attempt) await sleep(Math.random() * Math.min(1000, 20 * 2 ** attempt), signal)
      const localObj = await local.get(lp + key, o)
      const lh = localObj && (await sha256(localObj.body))
      const head = await retry(() => remote.head(rp + key, o))
      let remoteObj: BackendObject | null = null
      let rh: string | null = null
      // The remote ETag we agreed on still stands: its bytes are the agreed ones, no download.
      if (head && agreed && head.etag === agreed.etag) rh = agreed.base
      else if (head && (remoteObj = await remoteGet(key))) rh = await sha256(remoteObj.body)
      const etag = (remoteObj ?? head)?.etag ?? null
      // Both hold the same bytes, or neither holds any (`undefined` is left out of the JSON).
      if (lh === rh) return (state[kind] = lh ? { base: lh, etag } : undefined), false
      const base = agreed?.base
      // Push when the local side changed since the agreed state; pull when it did not.
      let pushLocal = !!localObj && lh !== base
      // Deleted remotely after we agreed, unchanged here: neither resurrect nor delete locally.
      if (localObj && !rh && !pushLocal) return false
      if (pushLocal && rh && rh !== base) {
        // Both changed: greater timestamp, then greater SHA-256. rh is not the agreed hash here,
        // so it came from a download: remoteObj is set.
        const [lt, rt] = [await time(localObj!.body), await time(remoteObj!.body)]
        pushLocal = lt !== rt ? lt > rt : lh! > rh
      }
      if (pushLocal) {
        if (!push) return true
        const put = await retry(() => remote.put(rp + key, localObj!.body, cas(etag)))
        if (!put) continue
        state[kind] = { base: lh!, etag: put.etag }
        r.pushed++
        return false
      }
      remoteObj ??= await remoteGet(key)
      if (!remoteObj) continue
      if (!(await local.put(lp + key, remoteObj.body, cas(localObj?.etag)))) continue
      state[kind] = { base: await sha256(remoteObj.body), etag: remoteObj.etag }
      r.pulled++
      return false
    }
    throw new ConflictError(`${key} kept changing during sync`, { key })
  }

  /** Copies remote history ids the local tier lacks: after the cursor minus the lookback, or all. */
  const pullHistory = async (f: string, state: FolderState, blocked: Set<string>): Promise<void> => {
    const history = `${f}immutable_history/`
    const from = pull < 2 && state.cursor ? idAt(+snapshotIdTime(state.cursor) - s._lookbackMs) : undefined
    /** The history keys a tier holds, relative to the tiered prefix (like outbox entries), ascending. */
    const keys = async (backend: Backend, prefix: string): Promise<string[]> => {
      const out: string[] = []
      const base = prefix + tp
      for await (const key of listAll(backend, base + history, { signal, startAfter: from && `${base}${history}snapshot_${from}` })) {
        if (historyIdOf(key)) out.push(key.slice(base.length))
      }
      return out
    }
    const remoteKeys = await retry(() => keys(remote, rp))
    const have = new Set(await keys(local, lp))
    const missing = remoteKeys.filter((rel) => !have.has(rel) && !blocked.has(rel))
    r.total += missing.length
    await pool(missing, async (rel) => {
      const obj = await remoteGet(tp + rel)
      if (obj && (await local.put(lp + tp + rel, obj.body, cas()))) r.pulled++
      progress()
    })
    const last = historyIdOf(remoteKeys.at(-1) ?? '')
    if (last && (!state.cursor || last > state.cursor)) state.cursor = last
  }

  const entries = (await b._outbox(o)).filter(
    (e) => !folder || (e._op === 'drop' ? e._rel === sessionOf(folder) : e._rel.startsWith(folder)),
  )
  // Entries confirmed by the remote; removed in `finally`, so an abort keeps what it confirmed.
  const done: string[] = []
  // Mutable-key entries per folder: confirmed once that folder's reconcile succeeds.
  const mutable = new Map<string, string[]>()
  const folders = new Set<string>(folder ? [folder] : [])
  const drops = new Map<string, string>()
  const append = <V>(map: Map<string, V[]>, key: string, value: V): unknown => map.set(key, [...(map.get(key) ?? []), value])
  try {
    if (push) {
      for (const e of entries) if (e._op === 'drop') drops.set(e._rel, e._id)
      r.total += drops.size
      for (const [sessionId, last] of drops) {
        await retry(() => deleteAll(remote, `${rp}${tp}${sessionId}/`, o))
        // What both tiers agreed on is gone from the remote: forget it.
        await deleteAll(local, `${syncPrefix}${sessionId}/`)
        for (const e of entries) if (sessionOf(e._rel) === sessionId && e._id <= last) done.push(e._key)
        r.pushed++
        progress()
      }
      const groups = new Map<string, OutboxEntry[]>()
      for (const e of entries) {
        if (e._op === 'drop' || (drops.get(sessionOf(e._rel)) ?? '') >= e._id) continue
        const f = folderOf(e._rel)
        if (f) folders.add(f)
        if (f && e._op === 'put' && MUTABLE.test(e._rel)) append(mutable, f, e._key)
        else append(groups, e._rel, e)
      }
      r.total += groups.size
      progress()
      await pool([...groups], async ([rel, list]) => {
        const pushed = await pushKey(rel, list)
        if (pushed) {
          for (const e of list) done.push(e._key)
          r.pushed++
        } else if (pushed === false && historyIdOf(rel)) conflicts.push(rel)
        progress()
      })
    }
    if (!folder) for await (const key of listAll(local, syncPrefix, o)) folders.add(key.slice(syncPrefix.length) + '/')
    // What is still queued must not be pulled back over: deletes not yet pushed, whole sessions.
    const confirmed = new Set(done)
    const blocked = new Set(entries.filter((e) => e._op !== 'put' && !confirmed.has(e._key)).map((e) => e._rel))
    await pool([...folders], async (f) => {
      if (blocked.has(sessionOf(f))) return
      const stateKey = syncPrefix + f.slice(0, -1)
      const stored = await local.get(stateKey, o)
      const state: FolderState = stored ? await decodeJSON(stored.body, stateKey, s._maxDecodedBytes) : {}
      const before = JSON.stringify(state)
      let kept = false
      for (const m of MUTABLES) if (await reconcile(f, m, state)) kept = true
      if (!kept) done.push(...(mutable.get(f) ?? []))
      if (pull) await pullHistory(f, state, blocked)
      const after = JSON.stringify(state)
      if (after !== before) await local.put(stateKey, new TextEncoder().encode(after), o)
      progress()
    })
  } finally {
    for (let i = 0; i < done.length; i += 1000) await local.delete(done.slice(i, i + 1000))
  }
  return { pushed: r.pushed, pulled: r.pulled, conflicts }
}

/** `<sessionId>/scopes/<scope>/<scopeId>/snapshots/` of a data key, or undefined for another key. */
function folderOf(rel: string): string | undefined {
  // Greedy: the last `/snapshots/`, so a scope or scope id named `snapshots` cannot fool it.
  return /^.*\/snapshots\//.exec(rel)?.[0]
}

/**
 * The first 13 characters every UUIDv7 of millisecond `ms` shares (`xxxxxxxx-xxxx`): as a
 * listing cursor (`…/snapshot_<this>`) it sorts after every id of an earlier millisecond and
 * before every id of this one.
 */
function idAt(ms: number): string {
  const hex = Math.max(0, ms).toString(16).padStart(12, '0')
  return `${hex.slice(0, 8)}-${hex.slice(8)}`
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>))
  return Array.from(digest, (x) => x.toString(16).padStart(2, '0')).join('')
}
