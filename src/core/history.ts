import { sha256Hex } from '#platform'
import type { Backend, BackendObject } from './backend.js'
import { decodeJSON, decodeText, decodeUtf8, encodeText, isGzip, parseObject, streamed } from './codec.js'
import { DELTA_MAGIC, type Delta, deltaText, diff, parseDelta, patch } from './delta.js'
import { CorruptError } from './errors.js'
import { firstIdAt, snapshotIdTime } from './ids.js'
import { historyFolder, historyIdIn, historyKey, latestKey, partKey, partsFolder } from './keys.js'
import { listAll } from './listing.js'
import { chunks, gzipTrailerSize, sleep } from './util.js'
import type { SnapshotLocation } from './types.js'

/**
 * Delta history (DESIGN.md §8; the format is delta.ts): each history object costs about what
 * changed since its parent, and any snapshot loads in three sequential round trips.
 *
 * - **Write.** The store remembers, per location, the last snapshot it wrote there (its parsed
 *   JSON). The next one is stored as the delta from it when the delta is under half the whole
 *   and the chain since the last whole object holds under twice the whole; otherwise whole (a
 *   checkpoint). A parent is always older (a smaller UUIDv7) than its child, so a walk always
 *   ends, and is used only within `GRACE_MS / 2` of having been written, which is what makes
 *   collection safe against writers in flight (below).
 * - **Read.** (1) the object and, where the store writes deltas, latest beside it: latest is the
 *   newest snapshot whole, so when its hash is the delta's `h` it is the answer (latest comes in
 *   round 2 otherwise); else (2) the listings of history and parts from its checkpoint `c` up to
 *   it, and (3) every listed object not cached, in parallel, and the parent links walked in
 *   memory, the result checked against `h`. A parent
 *   outside that range (or not listed: a tiered store lists locally) is fetched on its own. A
 *   missing parent is `ERR_CORRUPT` naming it (after one retry from the start: a prune may have
 *   replaced the chain meanwhile).
 * - **Delete.** (`deleteSnapshot`, `prune`: `remove` below) Every snapshot built on a doomed one
 *   first gets a whole copy in `parts/`, where walks stop; then the doomed objects (and their own
 *   parts) are deleted, so space comes back at once. Writers in flight are covered by the
 *   freshness rule above, a check after each delta's create, and a second listing (see `remove`).
 */

/** Writers build only on parents a quarter of this old; a delete reads what was written this soon after. */
export const GRACE_MS = 3_600_000
/** Longest chain a writer builds before writing a whole snapshot again. */
const MAX_DEPTH = 255
/** Longest chain a reader walks (a bound against corrupt links, above what writers build). */
const MAX_CHAIN = 1000
/** Decoded texts a store keeps, and the longest it keeps (UTF-16 units, about 2 bytes each). */
const CACHED = 512
const CACHED_UNITS = 16 << 10
/** How long a load waits before it walks a chain again that missed a link. */
const RETRY_MS = 250
/** Locations whose last snapshot a store remembers as the next parent. */
const PARENTS = 16

/** What the store hands its history: the backend and its own codec and sealing. */
export interface HistoryIO {
  backend: Backend
  prefix: string
  compression: 'gzip' | 'none'
  maxDecodedBytes: number
  /** Deltas on (`dedup`, default); off writes whole objects, as before. */
  dedup: boolean
  open(bytes: Uint8Array, key: string): Promise<Uint8Array>
  seal(plain: Uint8Array, key: string): Promise<Uint8Array>
}

/**
 * A snapshot as the store encoded it: its whole stored bytes (on first call: a delta saved alone
 * never needs them) and, where delta history diffs it, its JSON text and that text's UTF-8 (both
 * absent for a snapshot too large to diff).
 */
export interface SnapshotBytes {
  json?: string
  raw?: Uint8Array
  whole(): Promise<Uint8Array>
}

interface Parent {
  id: string
  value: unknown
  c: string
  d: number
  /** Delta text written since the checkpoint, in UTF-16 units. */
  chain: number
  /** When its write began (the writer's clock). */
  at: number
}

/** A missing link of a chain: retried once, then `ERR_CORRUPT`. */
class MissingPart extends CorruptError {}

/**
 * One store's delta history: writes, reads, deletes and prune of history objects.
 *
 * @example
 * const history = new History({ backend, prefix: '', compression: 'gzip', maxDecodedBytes: 1 << 26, dedup: true, open, seal })
 */
export class History {
  readonly #io: HistoryIO
  readonly #parents = new Map<string, Parent>()
  /** Latest's text per location, as last loaded (see `noteLatest`). */
  readonly #loaded = new Map<string, string>()
  readonly #texts = new Map<string, string>()
  /** While `remove`s run, the texts of what they delete, for the walks they still make. */
  readonly #pinned = new Map<string, string>()
  /** `remove` calls running: the last one to end unpins. */
  #removing = 0

  constructor(io: HistoryIO) {
    this.#io = io
  }

  /**
   * The plain (unsealed) bytes to store at history id `id` for `snapshot`: a delta or its whole
   * bytes; `written()` to call once they are stored (they are the parent of what follows), then
   * `check()`, which, for a delta whose parent was deleted meanwhile, stores the snapshot whole
   * as its part, so it stays readable.
   */
  async body(
    l: SnapshotLocation,
    id: string,
    snapshot: SnapshotBytes,
  ): Promise<{ plain: Uint8Array; written(): void; check(signal?: AbortSignal): Promise<void> }> {
    const { dedup, compression } = this.#io
    const { json, raw, whole } = snapshot
    const folder = historyFolder(this.#io.prefix, l)
    // No text (dedup off, or a snapshot too large to diff): whole, and nothing to build on next.
    if (!dedup || json === undefined || raw === undefined) {
      return { plain: await whole(), written: () => this.#parents.delete(folder), check: async () => {} }
    }
    const at = Date.now()
    const value = JSON.parse(json)
    const parent = this.#parents.get(folder) ?? (await this.#resume(l, folder, at))
    let next: Parent = { id, value, c: id, d: 0, chain: 0, at }
    let plain: Uint8Array | undefined
    // Fresh parents only (see GRACE_MS), and ids whose time is the writer's now: prune reads
    // only the survivors that could have a parent it collects.
    const fresh = (t: number) => Math.abs(at - t) < GRACE_MS / 4
    if (parent && parent.id < id && parent.d < MAX_DEPTH && fresh(parent.at) && fresh(snapshotIdTime(parent.id).getTime())) {
      if (fresh(snapshotIdTime(id).getTime())) {
        const o = diff(parent.value, value) ?? [2, {}]
        const delta = { p: parent.id, c: parent.c, d: parent.d + 1, b: 0, h: await hashOf(raw), s: raw.length, o }
        // The chain's text with this one's (the digits of `b` itself aside: a heuristic's error).
        delta.b = parent.chain + deltaText(delta).length
        const text = deltaText(delta)
        if (text.length * 2 <= json.length && delta.b <= json.length * 2) {
          next = { id, value, c: parent.c, d: delta.d, chain: delta.b, at }
          plain = await encodeText(text, compression)
        }
      }
    }
    return {
      plain: plain ?? (await whole()),
      written: () => {
        this.#parents.delete(folder)
        this.#parents.set(folder, next)
        if (this.#parents.size > PARENTS) this.#parents.delete(this.#parents.keys().next().value!)
      },
      check: async (signal) => {
        if (!next.d) return
        const { backend, prefix } = this.#io
        if (!(await backend.head(historyKey(prefix, l, parent!.id), { signal }))) await this.#putPart(l, id, json, signal)
      },
    }
  }

  /**
   * Remembers latest's JSON text as loaded (`loadSnapshot` without an id): a store made per
   * request (a Worker's) then builds its first save on the history snapshot latest holds, found
   * by `#resume`, instead of writing it whole.
   */
  noteLatest(l: SnapshotLocation, text: string): void {
    if (!this.#io.dedup) return
    const folder = historyFolder(this.#io.prefix, l)
    this.#loaded.delete(folder)
    this.#loaded.set(folder, text)
    if (this.#loaded.size > PARENTS) this.#loaded.delete(this.#loaded.keys().next().value!)
  }

  /**
   * The parent for a first save at `l` after latest was loaded: the newest history snapshot, if
   * it is fresh and is what latest holds (same text, or a delta with latest's hash). One listing
   * of what was written in the last `GRACE_MS / 4`, and one GET (none when nothing is fresh).
   */
  async #resume(l: SnapshotLocation, folder: string, at: number): Promise<Parent | undefined> {
    const text = this.#loaded.get(folder)
    if (text === undefined) return undefined
    this.#loaded.delete(folder)
    const id = (await this.#idsBetween(l, at - GRACE_MS / 4, at + GRACE_MS / 4)).at(-1)
    const key = id && historyKey(this.#io.prefix, l, id)
    const newest = key ? await this.#fetch(key).catch(() => null) : null
    if (!id || newest === null) return undefined
    const delta = parseDelta(newest, key!)
    if (delta ? delta.h !== (await hashOf(text)) : newest !== text) return undefined
    return { id, value: JSON.parse(text), c: delta?.c ?? id, d: delta?.d ?? 0, chain: delta?.b ?? 0, at: snapshotIdTime(id).getTime() }
  }

  /** The snapshot of history id `id`, or `null` when absent. */
  async read<T>(l: SnapshotLocation, id: string, signal?: AbortSignal): Promise<T | null> {
    const { backend, prefix, maxDecodedBytes } = this.#io
    const key = historyKey(prefix, l, id)
    const latest = latestKey(prefix, l)
    // Asked for by id, always from the backend (another store may have deleted it); its chain
    // below may come from the cache.
    this.#texts.delete(key)
    // The newest snapshot is latest, whole. A store that writes deltas fetches latest beside the
    // object, so the newest by id (a delta with latest's hash) loads in one round trip, as fast
    // as latest; for an object that turns out whole, that GET is cancelled at once.
    const ahead = this.#io.dedup ? getAhead(backend, latest, signal) : undefined
    try {
      // Over 16 MiB decoded it is whole (deltas are at most half of 8 Mi units of JSON): parsed as
      // it inflates, in bounded memory (codec.ts).
      const obj = await backend.get(key, { signal })
      if (!obj) return null
      const plain = await this.#io.open(obj.body, key)
      const text = streamed(plain, 16 << 20) ? undefined : this.#remember(key, await decodeText(plain, key, maxDecodedBytes))
      const delta = text === undefined ? undefined : parseDelta(text, key)
      // Whole: returned unawaited, so `finally` cancels the GET ahead before the decode runs.
      if (!delta) return text === undefined ? decodeJSON<T>(plain, key, maxDecodedBytes) : parseObject<T>(text, key)
      // Without the GET ahead, latest comes beside the walk's listings (round 2).
      let listed = ahead ? undefined : this.#list(l, id, delta, signal)
      listed?.catch(() => {})
      const top = await (ahead?.result ?? backend.get(latest, { signal }))
      // Latest's size decoded (its gzip trailer says it) is the delta's `s`, then its hash is `h`.
      // One that does not open or decode (sealed under a key this store lacks, corrupt) is no
      // shortcut, not this snapshot's failure.
      const opened = top && (await this.#io.open(top.body, latest).catch(() => null))
      const size = opened && (isGzip(opened) ? gzipTrailerSize(opened) : opened.length)
      const whole = size === delta.s && (await decodeUtf8(opened!, latest, maxDecodedBytes).catch(() => null))
      // Hashed as the bytes they are (not decoded and encoded again); text only once it matches,
      // and so is the UTF-8 of the JSON saved.
      if (whole && (await hashOf(whole)) === delta.h) return parseObject<T>(new TextDecoder().decode(whole), latest)
      listed ??= this.#list(l, id, delta, signal)
      try {
        return (await this.#walk(l, id, key, delta, await listed, signal)) as T
      } catch (error) {
        if (!(error instanceof MissingPart)) throw error
        // A prune may have replaced the chain since we listed it, or a sync still be sending its
        // parent (pushes run in parallel): once more, a moment later, from its current state.
        await sleep(RETRY_MS, signal)
        for (const k of this.#texts.keys()) if (k !== key) this.#texts.delete(k)
        return (await this.#walk(l, id, key, delta, await this.#list(l, id, delta, signal), signal)) as T
      }
    } finally {
      ahead?.cancel()
    }
  }

  /**
   * Deletes history ids `doomed` of location `l` so that every other snapshot stays readable:
   * one built on a doomed snapshot gets a whole copy in `parts/` first (walks stop there). Writers
   * build only on fresh parents (`GRACE_MS / 4` of their clock), so only snapshots written within
   * `GRACE_MS` after a doomed one can be built on it: those are read, no others. A writer saving a
   * delta of a doomed snapshot meanwhile is covered twice: its own check after the create
   * (`check` of `body`) sees the parent gone and copies its snapshot whole, or, had it looked before
   * our delete, its snapshot was listed by then, and the second listing here copies it (the
   * doomed snapshots' texts stay pinned in memory for that, until this call returns).
   */
  async remove(l: SnapshotLocation, doomed: string[], signal?: AbortSignal): Promise<void> {
    if (!doomed.length) return
    const { backend, prefix } = this.#io
    const gone = new Set(doomed)
    const times = doomed.map((id) => snapshotIdTime(id).getTime())
    const [from, to] = [Math.min(...times), Math.max(...times) + GRACE_MS]
    const suspects = async () => (await this.#idsBetween(l, from, to, signal)).filter((id) => !gone.has(id))
    // The doomed texts (and their whole copies, which go too) stay pinned until this call ends:
    // walks made after the delete, for a writer in flight (see above), still pass through them.
    // A GET each, not a listing: a tiered store lists only what it holds locally.
    this.#removing++
    try {
      const parts: string[] = []
      for (const batch of chunks(doomed, 8)) {
        await Promise.all(
          batch.flatMap((id) =>
            [historyKey(prefix, l, id), partKey(prefix, l, id)].map(async (key, i) => {
              const text = await this.#fetch(key, signal).catch(() => null)
              if (text === null) return
              this.#pinned.set(key, text)
              if (i) parts.push(key)
            }),
          ),
        )
      }
      const first = await suspects()
      for (const batch of chunks(first, 8)) await Promise.all(batch.map((id) => this.#rescue(l, id, gone, signal)))
      const keys = [...doomed.map((id) => historyKey(prefix, l, id)), ...parts]
      for (const batch of chunks(keys)) await backend.delete(batch, { signal })
      for (const key of keys) this.#texts.delete(key)
      const seen = new Set(first)
      const late = (await suspects()).filter((id) => !seen.has(id))
      for (const batch of chunks(late, 8)) await Promise.all(batch.map((id) => this.#rescue(l, id, gone, signal)))
    } finally {
      if (!--this.#removing) this.#pinned.clear()
    }
  }

  /**
   * Gives snapshot `id` a whole copy in `parts/` when it is a delta of a snapshot in `gone`
   * (read before the delete, or after it through the pinned texts).
   */
  async #rescue(l: SnapshotLocation, id: string, gone: Set<string>, signal?: AbortSignal): Promise<void> {
    const key = historyKey(this.#io.prefix, l, id)
    const text = await this.#fetch(key, signal)
    const delta = text === null ? undefined : parseDelta(text, key)
    if (!delta || !gone.has(delta.p)) return
    // A chain already broken stays as it is (its reads say so): not this delete's failure.
    const value = await this.read(l, id, signal).catch((error) => {
      if (error instanceof CorruptError) return null
      throw error
    })
    if (value !== null) await this.#putPart(l, id, JSON.stringify(value), signal)
  }

  /** History ids of `l` whose UUIDv7 times lie in [from, to], ascending. */
  async #idsBetween(l: SnapshotLocation, from: number, to: number, signal?: AbortSignal): Promise<string[]> {
    const folder = historyFolder(this.#io.prefix, l)
    const keys = await this.#range(`${folder}snapshot_${firstIdAt(from)}`, folder, `${folder}snapshot_${firstIdAt(to + 1)}`, signal)
    return keys.map((k) => historyIdIn(folder, k)!)
  }

  /** Forgets what the store remembers of a location (its session was deleted). */
  forget(sessionPrefix: string): void {
    for (const folder of this.#parents.keys()) if (folder.startsWith(sessionPrefix)) this.#parents.delete(folder)
    for (const folder of this.#loaded.keys()) if (folder.startsWith(sessionPrefix)) this.#loaded.delete(folder)
    for (const key of this.#texts.keys()) if (key.startsWith(sessionPrefix)) this.#texts.delete(key)
  }

  /** Round trip 2: the history and parts keys between `delta`'s checkpoint and history id `id`. */
  #list(l: SnapshotLocation, id: string, delta: Delta, signal?: AbortSignal): Promise<string[][]> {
    const { prefix } = this.#io
    const history = historyFolder(prefix, l)
    const parts = partsFolder(prefix, l)
    const from = `snapshot_${delta.c}`
    const upTo = `snapshot_${id}.json`
    return Promise.all([
      this.#range(history + from, history, history + upTo, signal),
      this.#range(parts + from, parts, `${parts}${upTo}\0`, signal),
    ])
  }

  /** Round trip 3 (every listed object, at once) and the walk from `id` back to a whole snapshot. */
  async #walk(l: SnapshotLocation, id: string, key: string, delta: Delta, listed: string[][], signal?: AbortSignal): Promise<unknown> {
    const { prefix } = this.#io
    // Fetched ahead, all at once: what the walk needs is then cached. A failure here is only
    // reported if the walk needs that object (it fetches it again), not for a bystander.
    await Promise.all(listed.flat().map((k) => this.#fetch(k, signal).catch(() => null)))
    const listedParts = new Set(listed[1])
    const node = async (nid: string): Promise<[string, string] | undefined> => {
      const pk = partKey(prefix, l, nid)
      const part = listedParts.has(pk) ? await this.#fetch(pk, signal) : null
      if (part !== null && !part.startsWith(DELTA_MAGIC)) return [pk, part]
      const hk = historyKey(prefix, l, nid)
      const text = (await this.#fetch(hk, signal)) ?? part ?? (await this.#fetch(pk, signal))
      return text === null ? undefined : [text === part ? pk : hk, text]
    }
    const chain: [string, Delta][] = []
    let [at, text] = (await node(id)) ?? [key, DELTA_MAGIC + JSON.stringify(delta)]
    let nid = id
    for (;;) {
      const step = parseDelta(text, at)
      if (!step) break
      if (chain.length >= MAX_CHAIN) throw new CorruptError(`${key}: its chain is over ${MAX_CHAIN} deltas long`, { key })
      // Parents are older than their children, so a walk never comes back (no cycle).
      if (!(step.p < nid)) throw new CorruptError(`${at} names a parent that is not older than it`, { key: at })
      chain.push([at, step])
      nid = step.p
      const found = await node(nid)
      if (!found)
        throw new MissingPart(`${historyKey(prefix, l, nid)} is missing: ${key} is built on it`, { key: historyKey(prefix, l, nid) })
      ;[at, text] = found
    }
    let value: unknown = parseObject(text, at)
    for (let i = chain.length - 1; i >= 0; i--) value = patch(value, chain[i]![1].o, chain[i]![0])
    if ((await hashOf(JSON.stringify(value))) !== delta.h) throw new CorruptError(`${key} does not rebuild to the snapshot saved`, { key })
    return value
  }

  /** The snapshot keys listed under `folder` from `startAfter` up to (not including) `end`. */
  async #range(startAfter: string, folder: string, end: string, signal?: AbortSignal): Promise<string[]> {
    const entries = await listAll(this.#io.backend, folder, { startAfter, until: end, signal })
    return entries.map((e) => e.key).filter((key) => historyIdIn(folder, key))
  }

  /** The decoded text at `key` (cached: these keys are written once), or `null` when absent. */
  async #fetch(key: string, signal?: AbortSignal): Promise<string | null> {
    const cached = this.#texts.get(key)
    if (cached !== undefined) {
      this.#texts.delete(key)
      this.#texts.set(key, cached)
      return cached
    }
    const obj = await this.#io.backend.get(key, { signal })
    if (!obj) return this.#pinned.get(key) ?? null
    const text = await decodeText(await this.#io.open(obj.body, key), key, this.#io.maxDecodedBytes)
    return this.#remember(key, text)
  }

  /** Caches `text` of `key` and returns it: deltas and small snapshots only, what walks reuse. */
  #remember(key: string, text: string): string {
    if (text.length < CACHED_UNITS) {
      this.#texts.set(key, text)
      if (this.#texts.size > CACHED) this.#texts.delete(this.#texts.keys().next().value!)
    }
    return text
  }

  /** Stores `json` whole as history id `id`'s part, replacing a delta there. */
  async #putPart(l: SnapshotLocation, id: string, json: string, signal?: AbortSignal): Promise<void> {
    const { backend, prefix, compression } = this.#io
    const key = partKey(prefix, l, id)
    const bytes = await this.#io.seal(await encodeText(json, compression), key)
    if (!(await backend.put(key, bytes, { ifNoneMatch: '*', writeOnce: true, signal }))) await backend.put(key, bytes, { signal })
    this.#texts.delete(key)
  }
}

/**
 * A GET of `key` started ahead of knowing whether it is needed: `cancel()` aborts it (and a
 * download under way), `signal` aborts it too, and `result` never rejects (a GET ahead that
 * failed is no shortcut: the caller goes the long way).
 */
function getAhead(backend: Backend, key: string, signal?: AbortSignal): { result: Promise<BackendObject | null>; cancel(): void } {
  const ctrl = new AbortController()
  const follow = (): void => ctrl.abort(signal?.reason)
  signal?.addEventListener('abort', follow, { once: true })
  const result = backend.get(key, { signal: ctrl.signal }).catch(() => null)
  return {
    result,
    cancel: () => {
      signal?.removeEventListener('abort', follow)
      ctrl.abort()
    },
  }
}

/** The first 128 bits of the SHA-256 of a text (or of its UTF-8), hex: what a delta's `h` holds. */
async function hashOf(text: string | Uint8Array): Promise<string> {
  return (await sha256Hex(typeof text === 'string' ? new TextEncoder().encode(text) : text)).slice(0, 32)
}
