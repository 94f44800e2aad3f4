import type { Backend, BackendObject } from '../backend.js'
import { decodeJSON } from '../codec.js'
import { ConflictError, RemoteError, TimeoutError, throwIfAborted } from '../errors.js'
import { snapshotIdTime } from '../ids.js'
import { historyIdOf } from '../keys.js'
import { sleep } from '../retry.js'
import { MUTABLE, type OutboxEntry, type TieredBackend, deleteAll, entryAge, listAll } from './tiered.js'

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

/** @internal */
export interface SyncSettings {
  concurrency: number
  retries: number
  lookbackMs: number
  maxDecodedBytes: number
}

/** @internal What one run does; `folder` limits it to one location (`<s>/scopes/<scope>/<id>/snapshots/`). */
export interface SyncJob {
  signal?: AbortSignal
  onProgress?: (p: SyncProgress) => void
  folder?: string
  push: boolean
  /** `false`: no history pull; `'window'`: ids after the cursor minus the lookback; `'full'`: all. */
  pull: false | 'window' | 'full'
}

interface Agreed {
  /** SHA-256 of the bytes both tiers held. */
  base: string
  /** The remote's ETag of those bytes. */
  etag: string | null
}
/** Per-location sync state, stored locally as JSON. */
type FolderState = { latest?: Agreed; manifest?: Agreed; cursor?: string }
type Mutable = 'latest' | 'manifest'
const FILES: Record<Mutable, [file: string, timeField: string]> = {
  latest: ['snapshot_latest.json', 'createdAt'],
  manifest: ['manifest.json', 'updatedAt'],
}
/** An entry whose data never appeared after this long was left by a crash between its two writes. */
const STALE_ENTRY_MS = 60_000
const text = new TextEncoder()

/** @internal */
export class Syncer {
  constructor(
    private readonly b: TieredBackend,
    private readonly s: SyncSettings,
  ) {}

  async run(job: SyncJob): Promise<SyncResult> {
    const { b } = this
    const { signal, folder } = job
    const o = { signal }
    const r = { pushed: 0, pulled: 0, total: 0, conflicts: [] as string[] }
    const progress = (): void => job.onProgress?.({ pushed: r.pushed, pulled: r.pulled, total: r.total })
    const session = folder?.slice(0, folder.indexOf('/'))
    const entries = (await b.outbox(o)).filter(
      (e) => !folder || (e.op === 'drop' ? e.rel === session : e.rel.startsWith(folder)),
    )
    // Entries confirmed by the remote; removed in `finally`, so an abort keeps what it confirmed.
    const done: string[] = []
    // Mutable-key entries per folder: confirmed once that folder's reconcile succeeds.
    const mutable = new Map<string, string[]>()
    const folders = new Set<string>(folder ? [folder] : [])
    const drops = new Map<string, string>()
    try {
      if (job.push) {
        for (const e of entries) if (e.op === 'drop') drops.set(e.rel, e.id)
        r.total += drops.size
        for (const [sessionId, last] of drops) {
          await this.retry(() => deleteAll(b.remote, `${b.rp}${b.tp}${sessionId}/`, o), signal)
          // What both tiers agreed on is gone from the remote: forget it.
          await deleteAll(b.local, `${b.meta}sync/${sessionId}/`)
          for (const e of entries) if (sessionOf(e.rel) === sessionId && e.id <= last) done.push(e.key)
          r.pushed++
          progress()
        }
        const groups = new Map<string, OutboxEntry[]>()
        for (const e of entries) {
          if (e.op === 'drop' || (drops.get(sessionOf(e.rel)) ?? '') >= e.id) continue
          const f = folderOf(e.rel)
          if (f) folders.add(f)
          if (f && e.op === 'put' && MUTABLE.test(e.rel)) mutable.set(f, [...(mutable.get(f) ?? []), e.key])
          else groups.set(e.rel, [...(groups.get(e.rel) ?? []), e])
        }
        r.total += groups.size
        progress()
        await pool([...groups], this.s.concurrency, signal, async ([rel, list]) => {
          if (await this.pushKey(rel, list.at(-1)!, signal)) {
            for (const e of list) done.push(e.key)
            r.pushed++
          } else if (historyIdOf(rel)) r.conflicts.push(rel)
          progress()
        })
      }
      if (!folder) for await (const key of listAll(b.local, `${b.meta}sync/`, o)) folders.add(key.slice(b.meta.length + 5) + '/')
      // What is still queued must not be pulled back over: deletes not yet pushed, whole sessions.
      const confirmed = new Set(done)
      const blocked = new Set(entries.filter((e) => e.op !== 'put' && !confirmed.has(e.key)).map((e) => e.rel))
      await pool([...folders], this.s.concurrency, signal, async (f) => {
        if (blocked.has(sessionOf(f))) return
        const stateKey = `${b.meta}sync/${f.slice(0, -1)}`
        const stored = await b.local.get(stateKey, o)
        const before = stored ? new TextDecoder().decode(stored.body) : '{}'
        const state = JSON.parse(before) as FolderState
        let kept = false
        for (const kind of ['latest', 'manifest'] as const) {
          const outcome = await this.reconcile(f, kind, state, !job.push, signal)
          if (outcome === 'pushed') r.pushed++
          if (outcome === 'pulled') r.pulled++
          kept ||= outcome === 'kept'
        }
        if (!kept) done.push(...(mutable.get(f) ?? []))
        if (job.pull) await this.pullHistory(f, state, job.pull === 'full', blocked, r, progress, signal)
        const after = JSON.stringify(state)
        if (after !== before) await b.local.put(stateKey, text.encode(after), o)
        progress()
      })
    } finally {
      for (let i = 0; i < done.length; i += 1000) await b.local.delete(done.slice(i, i + 1000))
    }
    return { pushed: r.pushed, pulled: r.pulled, conflicts: r.conflicts }
  }

  /**
   * Pushes one history (or unknown) key per its newest entry. False when the remote holds
   * different bytes at a history key, or the data of a fresh entry has not landed yet.
   */
  private async pushKey(rel: string, last: OutboxEntry, signal?: AbortSignal): Promise<boolean> {
    const { b } = this
    const o = { signal }
    const remoteKey = b.rp + b.tp + rel
    if (last.op === 'del') return await this.retry(() => b.remote.delete([remoteKey], o), signal), true
    const obj = await b.local.get(b.lp + b.tp + rel, o)
    // Absent: a write whose data is still landing (keep), or a crash leftover (drop).
    if (!obj) return entryAge(last) > STALE_ENTRY_MS
    if (!historyIdOf(rel)) return await this.retry(() => b.remote.put(remoteKey, obj.body, o), signal), true
    if (await this.retry(() => b.remote.put(remoteKey, obj.body, { ...o, ifNoneMatch: '*' }), signal)) return true
    // Taken: identical bytes are our own earlier push whose answer was lost.
    const there = await this.retry(() => b.remote.get(remoteKey, o), signal)
    return !!there && there.body.length === obj.body.length && there.body.every((x, i) => x === obj.body[i])
  }

  /** Brings one mutable key of folder `f` to agreement; see the module comment for the rule. */
  private async reconcile(
    f: string,
    kind: Mutable,
    state: FolderState,
    pullOnly: boolean,
    signal?: AbortSignal,
  ): Promise<'same' | 'pushed' | 'pulled' | 'kept'> {
    const { b } = this
    const o = { signal }
    const [file, timeField] = FILES[kind]
    const key = b.tp + f + file
    const agreed = state[kind]
    for (let attempt = 0; attempt < 10; attempt++) {
      if (attempt) await sleep(Math.random() * Math.min(1000, 20 * 2 ** attempt), signal)
      const local = await b.local.get(b.lp + key, o)
      const lh = local && (await sha256(local.body))
      const head = await this.retry(() => b.remote.head(b.rp + key, o), signal)
      let remote: BackendObject | null = null
      let rh: string | null = null
      // The remote ETag we agreed on still stands: its bytes are the agreed ones, no download.
      if (head && agreed && head.etag === agreed.etag) rh = agreed.base
      else if (head && (remote = await this.retry(() => b.remote.get(b.rp + key, o), signal))) rh = await sha256(remote.body)
      const etag = remote ? remote.etag : head?.etag ?? null
      if (lh === rh) {
        if (lh) state[kind] = { base: lh, etag }
        else delete state[kind]
        return 'same'
      }
      let push: boolean
      if (!local) push = false
      else if (!rh) {
        // Deleted remotely after we agreed, unchanged here: neither resurrect nor delete locally.
        if (agreed && agreed.base === lh) return 'same'
        push = true
      } else if (lh === agreed?.base) push = false
      else if (rh === agreed?.base) push = true
      else push = await this.localWins(local.body, remote ?? (await b.remote.get(b.rp + key, o)), timeField, lh!, rh)
      if (push) {
        if (pullOnly) return 'kept'
        const cond = etag === null ? { ifNoneMatch: '*' as const } : { ifMatch: etag }
        const put = await this.retry(() => b.remote.put(b.rp + key, local!.body, { ...o, ...cond }), signal)
        if (!put) continue
        state[kind] = { base: lh!, etag: put.etag }
        return 'pushed'
      }
      remote ??= await this.retry(() => b.remote.get(b.rp + key, o), signal)
      if (!remote) continue
      const cond = local ? { ifMatch: local.etag } : { ifNoneMatch: '*' as const }
      if (!(await b.local.put(b.lp + key, remote.body, { ...o, ...cond }))) continue
      state[kind] = { base: await sha256(remote.body), etag: remote.etag }
      return 'pulled'
    }
    throw new ConflictError(`${key} kept changing during sync`, { key })
  }

  /** The deterministic rule for a true conflict: greater timestamp, then greater SHA-256. */
  private async localWins(local: Uint8Array, remote: BackendObject | null, field: string, lh: string, rh: string): Promise<boolean> {
    if (!remote) return true
    const time = async (bytes: Uint8Array): Promise<number> => {
      try {
        const t = Date.parse(String((await decodeJSON<Record<string, unknown>>(bytes, field, this.s.maxDecodedBytes))[field]))
        return Number.isNaN(t) ? -Infinity : t
      } catch {
        return -Infinity // undecodable bytes never win on time
      }
    }
    const [lt, rt] = [await time(local), await time(remote.body)]
    return lt !== rt ? lt > rt : lh > rh
  }

  /** Copies remote history ids the local tier lacks: after the cursor minus the lookback, or all. */
  private async pullHistory(
    f: string,
    state: FolderState,
    full: boolean,
    blocked: Set<string>,
    r: { pulled: number; total: number },
    progress: () => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const { b } = this
    const o = { signal }
    const folder = `${b.tp}${f}immutable_history/`
    const from = !full && state.cursor ? idAt(snapshotIdTime(state.cursor).getTime() - this.s.lookbackMs) : undefined
    const ids = async (backend: Backend, prefix: string): Promise<string[]> => {
      const out: string[] = []
      const startAfter = from && `${prefix}${folder}snapshot_${from}.json`
      for await (const key of listAll(backend, prefix + folder, { signal, startAfter })) {
        const id = historyIdOf(key)
        if (id) out.push(id)
      }
      return out
    }
    const remoteIds = await this.retry(() => ids(b.remote, b.rp), signal)
    const have = new Set(await ids(b.local, b.lp))
    const missing = remoteIds.filter((id) => !have.has(id) && !blocked.has(`${f}immutable_history/snapshot_${id}.json`))
    r.total += missing.length
    await pool(missing, this.s.concurrency, signal, async (id) => {
      const key = `${folder}snapshot_${id}.json`
      const obj = await this.retry(() => b.remote.get(b.rp + key, o), signal)
      if (obj && (await b.local.put(b.lp + key, obj.body, { ...o, ifNoneMatch: '*' }))) r.pulled++
      progress()
    })
    const last = remoteIds.at(-1)
    if (last && (!state.cursor || last > state.cursor)) state.cursor = last
  }

  /** Retries network failures with full-jitter exponential backoff; anything else surfaces at once. */
  private async retry<R>(op: () => Promise<R>, signal?: AbortSignal): Promise<R> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await op()
      } catch (error) {
        if (attempt >= this.s.retries || !(error instanceof RemoteError || error instanceof TimeoutError)) throw error
        await sleep(Math.random() * Math.min(5000, 100 * 2 ** attempt), signal)
      }
    }
  }
}

/** Runs `fn` over `items` with at most `n` in flight; the first failure stops new work and is thrown. */
async function pool<T>(items: T[], n: number, signal: AbortSignal | undefined, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  let failure: { error: unknown } | undefined
  const worker = async (): Promise<void> => {
    while (!failure && next < items.length) {
      const item = items[next++]!
      try {
        throwIfAborted(signal)
        await fn(item)
      } catch (error) {
        failure ??= { error }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker))
  if (failure) throw failure.error
}

/** `<sessionId>/scopes/<scope>/<scopeId>/snapshots/` of a data key, or undefined for another key. */
function folderOf(rel: string): string | undefined {
  const p = rel.split('/')
  return p.length > 5 && p[1] === 'scopes' && p[4] === 'snapshots' ? p.slice(0, 5).join('/') + '/' : undefined
}


function sessionOf(rel: string): string {
  const slash = rel.indexOf('/')
  return slash < 0 ? rel : rel.slice(0, slash)
}

/** The smallest UUIDv7 of millisecond `ms`: a listing cursor. */
function idAt(ms: number): string {
  const hex = Math.max(0, ms).toString(16).padStart(12, '0')
  return `${hex.slice(0, 8)}-${hex.slice(8)}-7000-8000-000000000000`
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>))
  return Array.from(digest, (x) => x.toString(16).padStart(2, '0')).join('')
}
