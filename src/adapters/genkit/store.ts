import type { SessionSnapshot, SessionSnapshotInput, SessionStore, SessionStoreOptions, SnapshotMutator } from 'genkit/beta'
import type { Backend } from '../../core/backend.js'
import { compareAndSwap } from '../../core/cas.js'
import { ValidationError } from '../../core/errors.js'
import { checkId, newSnapshotId } from '../../core/ids.js'
import { listAll } from '../../core/listing.js'
import { type AdapterTarget, type StorageTarget, adapterTarget, decodeRecord, encodeRecord } from '../../core/target.js'
import { chunks } from '../../core/util.js'
import { watchKey } from '../../core/watch.js'
import { asGenkitError, genkitError } from './errors.js'
import { DEFAULT_NAMESPACE, genkitLineageKey, genkitLineagePrefix, genkitSessionKey, genkitSnapshotKey, parseLineageFile } from './keys.js'

/** Genkit's lookup options (`GetSnapshotOptions`, not exported by `genkit/beta`). */
type GetSnapshotOptions = Parameters<SessionStore['getSnapshot']>[0]

/**
 * What `GenkitSessionStore` takes from a snapshelf storage (core's `StorageTarget`): its byte
 * backend, its prefix and its codec settings. Every storage class is one.
 *
 * @example
 * const target: GenkitStorageTarget = new MemoryStorage({ prefix: 'agents' })
 */
export type GenkitStorageTarget = StorageTarget

/**
 * Options of `GenkitSessionStore`.
 *
 * @example
 * const options: GenkitSessionStoreOptions = { storage: new MemoryStorage(), rejectBranchingSessions: true }
 */
export interface GenkitSessionStoreOptions {
  /** Any snapshelf storage; keys land under `<its prefix>/genkit/`, in its backend, with its compression. */
  storage: GenkitStorageTarget
  /**
   * As Genkit's own stores: a `sessionId` lookup whose session has several leaves (a branched
   * history) throws `FAILED_PRECONDITION` instead of returning the newest leaf. Default `false`.
   */
  rejectBranchingSessions?: boolean
  /**
   * The folder (an id: `^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$`) a call's snapshots live in, from its
   * `options.context` (e.g. the authenticated user): one tenant never sees another's snapshots,
   * as with Genkit's file store's `snapshotPathPrefix`. Default: always `'global'`.
   */
  namespace?: (options?: SessionStoreOptions) => string
  /**
   * When set, a `pending` snapshot whose `heartbeatAt` is older than this many ms is reported as
   * `expired` by `getSnapshot`, `listSessionSnapshots` and `onSnapshotStateChange` (Genkit's rule
   * for a dead detached worker); never persisted, and mutators always see the stored status.
   * Default: statuses are reported as stored, like Genkit's own stores (Genkit's agent applies its
   * 60 s rule itself in `getSnapshotData`).
   */
  heartbeatTimeoutMs?: number
  /** Polling interval of `onSnapshotStateChange` where the backend cannot push (S3, R2, HTTP). Default 2000, Genkit's file store's. */
  watchIntervalMs?: number
  /** Compare-and-swap attempts before a save fails with `ABORTED`. Default 50. */
  maxAttempts?: number
}

/**
 * One snapshot as listed by `listSessionSnapshots`: its lineage and status, no state.
 *
 * @example
 * const info: GenkitSnapshotInfo = { snapshotId: 'b9c7…', parentId: 'a1f0…', createdAt: '2026-12-02T18:00:00.000Z', status: 'completed' }
 */
export interface GenkitSnapshotInfo {
  snapshotId: string
  parentId?: string
  createdAt: string
  updatedAt?: string
  heartbeatAt?: string
  status?: SessionSnapshot['status']
}

/**
 * A stored snapshot: the snapshot exactly as saved, its revision (1 on creation, +1 per rewrite:
 * what orders index updates racing each other) and when we wrote it (what Tiered sync's winner
 * rule reads when two devices changed the same snapshot).
 */
interface Envelope {
  updatedAt: string
  rev: number
  /** A UUIDv7 from the snapshot's first save, kept by every rewrite: first-saved order (see `selectLeaf`). */
  born: string
  snapshot: SessionSnapshot
}

/**
 * One snapshot in a session's summary: its lineage and status as of revision `rev`. `gone`: it
 * left the session (moved, or never written) as of `rev`. Neither `born` nor `gone`: a
 * placeholder of a store written before lineage entries existed (resolved by reading the snapshot).
 */
interface IndexEntry extends Partial<Omit<GenkitSnapshotInfo, 'snapshotId'>> {
  id: string
  rev: number
  /** The envelope's `born` (absent on a placeholder and when gone). */
  born?: string
  gone?: true
}

/** An index entry whose snapshot has been written. */
type ResolvedEntry = IndexEntry & { createdAt: string; born: string }

/**
 * A session's lineage summary (`sessions/<sid>.json`, compare-and-swap): a cache of what its
 * lineage entries (`sessions/<sid>/<snapshotId>~<rev>~in|out.json`, create-only) and snapshots
 * say, trusted only while it accounts for every entry listed (see `#lineage`).
 */
interface SessionIndex {
  updatedAt: string
  sessionId: string
  entries: IndexEntry[]
}

/**
 * Genkit's `SessionStore` (genkit 1.42: `getSnapshot`, `saveSnapshot`, `onSnapshotStateChange`)
 * over any snapshelf storage, so a Genkit agent's sessions live in S3, R2, IndexedDB, memory, over
 * HTTP or local-first, with Genkit's semantics exactly (those of its `InMemorySessionStore`):
 *
 * - `getSnapshot({ snapshotId })` or `getSnapshot({ sessionId })` (exactly one, else
 *   `INVALID_ARGUMENT`); by session, the leaf of its lineage (the snapshot no other names as
 *   `parentId`; several: the newest `createdAt`, or `FAILED_PRECONDITION` with
 *   `rejectBranchingSessions`); `undefined` when absent. Three requests, whatever the session's
 *   length: its lineage entries listed and its summary read (together), then the leaf.
 * - `saveSnapshot(id | undefined, mutator)` is an atomic read → mutate → write on every tier
 *   through the backend's compare-and-swap (no in-process lock: concurrent processes are safe
 *   too). `null` writes nothing; a throw aborts and is rethrown as is.
 * - `onSnapshotStateChange` is pushed where the backend pushes (memory, IndexedDB across tabs)
 *   and polled by ETag otherwise; it reports the current state first, then every change.
 *
 * Ids (snapshot, session, namespace) must be core ids (`^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$`:
 * Genkit's UUIDs are); anything else, and a snapshot that cannot be stored as JSON, is refused
 * before any I/O. Every failure is a `GenkitError` with Genkit's status names.
 *
 * @example
 * import { genkit } from 'genkit/beta'
 * import { S3Storage } from 'snapshelf/s3'
 * import { GenkitSessionStore } from 'snapshelf/genkit'
 *
 * const store = new GenkitSessionStore({ storage: new S3Storage({ bucket, endpoint, accessKeyId, secretAccessKey }) })
 * const ai = genkit({ plugins: [myModels] })
 * const chat = ai.defineAgent({ name: 'chat', model: 'my/model', store })
 */
export class GenkitSessionStore<S = unknown> implements SessionStore<S> {
  readonly #backend: Backend
  readonly #root: string
  /** Codec settings and, with the storage's `encryption`, the sealer. */
  readonly #target: AdapterTarget
  readonly #rejectBranching: boolean
  readonly #namespace: (options?: SessionStoreOptions) => string
  readonly #heartbeatTimeoutMs: number | undefined
  readonly #watchIntervalMs: number
  readonly #maxAttempts: number

  constructor(options: GenkitSessionStoreOptions) {
    let target: AdapterTarget
    try {
      target = adapterTarget(options?.storage)
    } catch (error) {
      throw asGenkitError(error)
    }
    this.#backend = target.backend
    this.#root = target.root
    this.#target = target
    this.#rejectBranching = options.rejectBranchingSessions ?? false
    this.#namespace = options.namespace ?? (() => DEFAULT_NAMESPACE)
    this.#heartbeatTimeoutMs = options.heartbeatTimeoutMs
    this.#watchIntervalMs = options.watchIntervalMs ?? 2000
    this.#maxAttempts = options.maxAttempts ?? 50
  }

  /**
   * A snapshot by `snapshotId`, or a session's latest leaf by `sessionId` (exactly one).
   *
   * @example
   * const latest = await store.getSnapshot({ sessionId: 'chat-1' })
   */
  async getSnapshot(opts: GetSnapshotOptions): Promise<SessionSnapshot<S> | undefined> {
    const { snapshotId, sessionId } = opts ?? {}
    // Genkit's own check and message (session-stores `normalizeGetSnapshotOptions`).
    if (!!snapshotId === !!sessionId) {
      throw genkitError(
        'INVALID_ARGUMENT',
        `getSnapshot requires exactly one of 'snapshotId' or 'sessionId' (got ${snapshotId ? 'snapshotId' : 'neither'}${sessionId ? ' and sessionId' : ''}).`,
      )
    }
    return guarded(async () => {
      const namespace = this.#namespaceOf(opts)
      if (snapshotId) return this.#view(await this.#read(namespace, checkId('snapshotId', snapshotId))) as SessionSnapshot<S> | undefined
      return this.#latest(namespace, checkId('sessionId', sessionId)) as Promise<SessionSnapshot<S> | undefined>
    })
  }

  /**
   * Atomically reads snapshot `snapshotId` (none when `undefined`: a new snapshot), passes it to
   * `mutator` and stores the result; resolves the id used, or `null` when `mutator` returned
   * `null`. A new snapshot's id is the result's `snapshotId`, else a `crypto.randomUUID()`.
   *
   * @example
   * await store.saveSnapshot(id, (current) => (current?.status === 'pending' ? { ...current, status: 'aborted' } : null))
   */
  async saveSnapshot(snapshotId: string | undefined, mutator: SnapshotMutator<S>, options?: SessionStoreOptions): Promise<string | null> {
    return guarded(async () => {
      const namespace = this.#namespaceOf(options)
      if (typeof mutator !== 'function') throw new ValidationError('mutator', 'must be a function')
      let id = snapshotId ? checkId('snapshotId', snapshotId) : undefined
      // A new snapshot: as Genkit's stores, the mutator sees nothing, once; its result is then
      // written over whatever the id holds (the write itself still by compare-and-swap).
      let fresh: { result: SessionSnapshotInput<S> } | undefined
      if (id === undefined) {
        const result = mutator(undefined)
        if (result === null) return null
        fresh = { result }
        id = checkId('snapshotId', result?.snapshotId || globalThis.crypto.randomUUID())
      }
      const snapshotKey = genkitSnapshotKey(this.#root, namespace, id)
      let previous: Envelope | null = null
      const { committed, value } = await compareAndSwap<Envelope>(this.#backend, snapshotKey, {
        decode: (bytes, key) => decodeRecord<Envelope>(this.#target, bytes, key),
        encode: (next) => encodeRecord(this.#target, next, snapshotKey, 'snapshot'),
        mutate: (current) => {
          previous = current
          const result = fresh ? fresh.result : mutator(current?.snapshot as SessionSnapshot<S> | undefined)
          if (result === null) return null
          const snapshot = { ...result, snapshotId: id } as SessionSnapshot
          sessionOf(snapshot) // validated before any write
          return { updatedAt: new Date().toISOString(), rev: (current?.rev ?? 0) + 1, born: current?.born ?? newSnapshotId(), snapshot }
        },
        // The lineage entries of this write, before the snapshot exists: a session's readers and
        // its erasure can never miss a stored snapshot, and Tiered sync unions them (create-only).
        beforeWrite: (next, current) => this.#recordLineage(namespace, next, current),
        maxAttempts: this.#maxAttempts,
      })
      if (!committed || !value) return null
      await this.#recordCommit(namespace, value, previous)
      return id
    })
  }

  /**
   * Calls `callback` with snapshot `snapshotId` as it is now (when it exists) and after every
   * change; returns the unsubscribe. Genkit's agents watch a detached turn's snapshot this way
   * and abort the turn when it turns `aborted`.
   *
   * @example
   * const stop = store.onSnapshotStateChange(id, (s) => { if (s.status === 'aborted') controller.abort() })
   */
  onSnapshotStateChange(snapshotId: string, callback: (snapshot: SessionSnapshot<S>) => void, options?: SessionStoreOptions): () => void {
    return guardedSync(() => {
      const key = genkitSnapshotKey(this.#root, this.#namespaceOf(options), checkId('snapshotId', snapshotId))
      return watchKey<SessionSnapshot<S>>(this.#backend, key, {
        decode: async (bytes) => this.#view((await decodeRecord<Envelope>(this.#target, bytes, key)).snapshot) as SessionSnapshot<S>,
        onChange: callback,
        intervalMs: this.#backend.subscribe ? 0 : this.#watchIntervalMs,
        emitInitial: true,
      })
    })
  }

  /**
   * A session's snapshots without their state (id, lineage, times, status), in first-save
   * order: two requests at once (its lineage entries and summary; plus one per snapshot the
   * summary does not account for yet, e.g. written by another device and synced).
   *
   * @example
   * for (const s of await store.listSessionSnapshots('chat-1')) console.log(s.snapshotId, s.parentId, s.status)
   */
  async listSessionSnapshots(sessionId: string, options?: SessionStoreOptions): Promise<GenkitSnapshotInfo[]> {
    return guarded(async () => {
      const namespace = this.#namespaceOf(options)
      const entries = members(await this.#lineage(namespace, checkId('sessionId', sessionId)))
      return entries.map(({ id, rev: _rev, born: _born, ...info }) => this.#view<GenkitSnapshotInfo>({ snapshotId: id, ...info }))
    })
  }

  /**
   * Erases a session: every snapshot in it, its lineage entries, then its summary (a snapshot
   * that moved to another session stays there).
   *
   * @example
   * await store.deleteSession('chat-1')
   */
  async deleteSession(sessionId: string, options?: SessionStoreOptions): Promise<void> {
    return guarded(async () => {
      const namespace = this.#namespaceOf(options)
      const session = checkId('sessionId', sessionId)
      const doomed = new Set<string>()
      // Until the lineage names nothing new: a save registering meanwhile is erased too.
      for (;;) {
        const { entries, keys } = await this.#lineage(namespace, session, false)
        // Members, and snapshots never found (a first write may still land): not one that moved away.
        const snapshots = entries.filter((e) => !e.gone || e.rev === 0).map((e) => genkitSnapshotKey(this.#root, namespace, e.id))
        const fresh = [...snapshots, ...keys].filter((key) => !doomed.has(key))
        if (!fresh.length) break
        for (const batch of chunks(fresh)) await this.#backend.delete(batch)
        for (const key of fresh) doomed.add(key)
      }
      await this.#backend.delete([genkitSessionKey(this.#root, namespace, session)])
    })
  }

  #namespaceOf(options: SessionStoreOptions | undefined): string {
    return checkId('namespace', this.#namespace(options))
  }

  async #read(namespace: string, snapshotId: string): Promise<SessionSnapshot | undefined> {
    return (await this.#readEnvelope(namespace, snapshotId))?.snapshot
  }

  async #readEnvelope(namespace: string, snapshotId: string): Promise<Envelope | undefined> {
    const key = genkitSnapshotKey(this.#root, namespace, snapshotId)
    const found = await this.#backend.get(key)
    return found ? decodeRecord<Envelope>(this.#target, found.body, key) : undefined
  }

  /** The session's leaf by Genkit's rule, from its lineage: entries and summary, then the leaf. */
  async #latest(namespace: string, sessionId: string): Promise<SessionSnapshot | undefined> {
    let candidates = members(await this.#lineage(namespace, sessionId))
    for (;;) {
      const leaf = selectLeaf(candidates, sessionId, this.#rejectBranching)
      if (!leaf) return undefined
      const snapshot = await this.#read(namespace, leaf.id)
      if (snapshot && sessionOf(snapshot) === sessionId) return this.#view(snapshot)
      // Erased, or moved to another session, since the index was written: not this session's.
      candidates = candidates.filter((e) => e !== leaf)
    }
  }

  /**
   * A session's lineage: its entries folder listed (every page) and its summary read, at once.
   * The summary is trusted for every snapshot whose newest listed entry it accounts for (its
   * `rev` at least the entry's); any other snapshot (written by another device and synced, whose
   * summary lost the sync's winner-takes-all; or a write still in flight) is read, and, unless
   * `rewrite` is false, the summary rewritten by compare-and-swap with what the reads found. A
   * read never marks an entry newer than the snapshot as accounted for: on a Tiered device the
   * local copy may be older than the entry until a sync, and a summary claiming otherwise could
   * win that sync. (So an entry whose write never landed, left by a crash, costs one read per
   * lookup until the snapshot is written again.) A store from before lineage entries (a summary
   * alone) reads as it did; its placeholders are resolved and rewritten once.
   * Resolves the summary's entries merged with the reads (gone ones included) and the entry keys.
   */
  async #lineage(namespace: string, sessionId: string, rewrite = true): Promise<{ entries: IndexEntry[]; keys: string[] }> {
    const folder = genkitLineagePrefix(this.#root, namespace, sessionId)
    const [listed, index] = await Promise.all([
      listAll(this.#backend, folder),
      this.#readIndex(genkitSessionKey(this.#root, namespace, sessionId)),
    ])
    const newest = new Map<string, number>()
    const keys: string[] = []
    for (const { key } of listed) {
      const entry = parseLineageFile(key.slice(folder.length))
      if (!entry) continue
      keys.push(key)
      newest.set(entry.snapshotId, Math.max(newest.get(entry.snapshotId) ?? 0, entry.rev))
    }
    const known = new Map((index?.entries ?? []).map((e) => [e.id, e]))
    const doubted = [...newest].filter(([id, rev]) => (known.get(id)?.rev ?? -1) < rev).map(([id]) => id)
    for (const e of known.values()) if (isPlaceholder(e) && !newest.has(e.id)) doubted.push(e.id)
    if (!doubted.length) return { entries: [...known.values()], keys }
    // One at a time: a Tiered device records what it agreed with the remote per folder by a
    // read-modify-write, and parallel read-throughs of one folder lose some (found by the
    // interleaving test: a device then never refreshed a snapshot it had read). Only doubted
    // snapshots are read, so the common lookup is still three requests.
    const found: IndexEntry[] = []
    for (const id of doubted) {
      const envelope = await this.#readEnvelope(namespace, id)
      found.push(
        envelope && sessionOf(envelope.snapshot) === sessionId
          ? { ...infoOf(envelope.snapshot), id, rev: envelope.rev, born: envelope.born }
          : { id, rev: envelope?.rev ?? 0, gone: true },
      )
    }
    for (const entry of found) known.set(entry.id, merged(known.get(entry.id), entry))
    // The summary is a cache: a reader that cannot rewrite it (read-only credentials, a lost race
    // past maxAttempts) still answers from what it read, and the next reader reads again.
    if (rewrite) await this.#updateIndex(namespace, sessionId, (entries) => mergedEntries(entries, found)).catch(() => undefined)
    return { entries: [...known.values()], keys }
  }

  async #readIndex(key: string): Promise<SessionIndex | null> {
    const found = await this.#backend.get(key)
    return found && decodeRecord<SessionIndex>(this.#target, found.body, key)
  }

  /** Index changes by compare-and-swap; `change` returns the new entries, or `null` for none. */
  async #updateIndex(namespace: string, sessionId: string, change: (entries: IndexEntry[]) => IndexEntry[] | null): Promise<void> {
    const indexKey = genkitSessionKey(this.#root, namespace, sessionId)
    await compareAndSwap<SessionIndex>(this.#backend, indexKey, {
      decode: (bytes, key) => decodeRecord<SessionIndex>(this.#target, bytes, key),
      encode: (next) => encodeRecord(this.#target, next, indexKey, 'index'),
      mutate: (current) => {
        const entries = change(current?.entries ?? [])
        return entries && { updatedAt: new Date().toISOString(), sessionId, entries }
      },
      maxAttempts: this.#maxAttempts,
    })
  }

  /**
   * Before a write: the lineage entries it makes (create-only, at its revision), all at once. A
   * snapshot joining a session (new, or moved in) or changing there what the leaf rule or the
   * listing reads (`parentId`, `createdAt`, `status`) gets an `in` entry; one leaving a session an
   * `out` entry there. A heartbeat or a state-only change writes none (Genkit's agent rewrites
   * `createdAt` when a turn ends, so a turn's snapshot gets one entry per write but heartbeats).
   * The bytes are a function of the key, so two writers (or devices) writing one entry agree, and
   * a create that finds it is done.
   */
  async #recordLineage(namespace: string, next: Envelope, current: Envelope | null): Promise<void> {
    const session = sessionOf(next.snapshot)
    const was = current ? sessionOf(current.snapshot) : undefined
    const id = next.snapshot.snapshotId
    const changes: [string, 'in' | 'out'][] = []
    const moved = session !== was
    const before = current?.snapshot
    const after = next.snapshot
    if (
      session &&
      (moved || before!.parentId !== after.parentId || before!.createdAt !== after.createdAt || before!.status !== after.status)
    )
      changes.push([session, 'in'])
    if (was && moved) changes.push([was, 'out'])
    await Promise.all(
      changes.map(([sessionId, change]) =>
        this.#backend.put(
          genkitLineageKey(this.#root, namespace, sessionId, id, next.rev, change),
          new TextEncoder().encode(JSON.stringify({ sessionId, snapshotId: id, rev: next.rev, change })),
          { ifNoneMatch: '*', writeOnce: true },
        ),
      ),
    )
  }

  /**
   * After a committed write: its session's summary gets the snapshot's lineage and status unless
   * a newer revision is there already (writers race), and a session it left records it gone.
   */
  async #recordCommit(namespace: string, written: Envelope, previous: Envelope | null): Promise<void> {
    const { snapshot, rev, born } = written
    const id = snapshot.snapshotId
    const session = sessionOf(snapshot)
    if (session) await this.#updateIndex(namespace, session, (entries) => mergedEntries(entries, [{ ...infoOf(snapshot), id, rev, born }]))
    const left = previous && sessionOf(previous.snapshot)
    if (left && left !== session) await this.#updateIndex(namespace, left, (entries) => mergedEntries(entries, [{ id, rev, gone: true }]))
  }

  /** What a read reports: a stale `pending` as `expired` when `heartbeatTimeoutMs` is set. */
  #view<V extends { status?: string; heartbeatAt?: string } | undefined>(value: V): V {
    const timeout = this.#heartbeatTimeoutMs
    if (timeout === undefined || value?.status !== 'pending' || !value.heartbeatAt) return value
    const last = Date.parse(value.heartbeatAt)
    return Number.isNaN(last) || Date.now() - last <= timeout ? value : { ...value, status: 'expired' }
  }
}

/** Compile-time proof that `GenkitSessionStore` is Genkit's `SessionStore` (types only). */
type IsSessionStore<T extends SessionStore> = T
// biome-ignore lint/correctness/noUnusedVariables: the check is the type's constraint
type GenkitSessionStoreIsASessionStore = IsSessionStore<GenkitSessionStore>

/** Runs `fn`, turning snapshelf errors into `GenkitError`s (a mutator's own throw passes unchanged). */
async function guarded<V>(fn: () => Promise<V>): Promise<V> {
  try {
    return await fn()
  } catch (error) {
    throw asGenkitError(error)
  }
}

function guardedSync<V>(fn: () => V): V {
  try {
    return fn()
  } catch (error) {
    throw asGenkitError(error)
  }
}

/**
 * The session a snapshot belongs to, as Genkit reads it (`sessionId ?? state.sessionId`; none
 * when empty), validated as an id: it names the session's index key.
 */
function sessionOf(snapshot: SessionSnapshot): string | undefined {
  const session: unknown = snapshot.sessionId ?? snapshot.state?.sessionId
  return session === undefined || session === null || session === '' ? undefined : checkId('sessionId', session)
}

/** A summary entry of a store from before lineage entries: its snapshot's first write was still to come. */
function isPlaceholder(entry: IndexEntry): boolean {
  return !entry.gone && entry.born === undefined
}

/**
 * Two summary entries of one snapshot as one: the newer revision's (a resolved entry over a
 * placeholder of the same revision); `known` itself when `next` says nothing newer.
 */
function merged(known: IndexEntry | undefined, next: IndexEntry): IndexEntry {
  return !known || next.rev > known.rev || (next.rev === known.rev && isPlaceholder(known) && !isPlaceholder(next)) ? next : known
}

/** A summary's entries with `updates` merged in (see `merged`); `null` when nothing changes. */
function mergedEntries(entries: IndexEntry[], updates: IndexEntry[]): IndexEntry[] | null {
  const next = [...entries]
  let changed = false
  for (const update of updates) {
    const at = next.findIndex((e) => e.id === update.id)
    const entry = merged(at < 0 ? undefined : next[at], update)
    if (at >= 0 && entry === next[at]) continue
    changed = true
    if (at < 0) next.push(entry)
    else next[at] = entry
  }
  return changed ? next : null
}

/** The snapshots a lineage says are in the session now (resolved: their lineage known), in first-save order. */
function members(lineage: { entries: IndexEntry[] }): ResolvedEntry[] {
  const resolved = lineage.entries.filter((e) => !e.gone && e.born !== undefined) as ResolvedEntry[]
  return resolved.sort((a, b) => (a.born < b.born ? -1 : a.born > b.born ? 1 : 0))
}

/** The lineage and status of a snapshot, as its index entry and listing keep them. */
function infoOf(snapshot: SessionSnapshot): Omit<GenkitSnapshotInfo, 'snapshotId'> {
  const { parentId, createdAt, updatedAt, heartbeatAt, status } = snapshot
  const info: Omit<GenkitSnapshotInfo, 'snapshotId'> = { createdAt }
  if (parentId !== undefined) info.parentId = parentId
  if (updatedAt !== undefined) info.updatedAt = updatedAt
  if (heartbeatAt !== undefined) info.heartbeatAt = heartbeatAt
  if (status !== undefined) info.status = status
  return info
}

/**
 * Genkit's `selectLeafSnapshot` (session-stores, genkit 1.42) over index entries, messages
 * included: the one snapshot no other names as parent; several: the newest `createdAt`, or
 * `FAILED_PRECONDITION` when branching is rejected; none of several: `FAILED_PRECONDITION` (a
 * cycle). Genkit's stores break a `createdAt` tie by the order snapshots were first saved in;
 * `born` (a UUIDv7 of the first save) is that order here, whichever index the entry sits in.
 */
function selectLeaf<E extends { id: string; parentId?: string; createdAt: string; born: string }>(
  entries: E[],
  sessionId: string,
  rejectBranching: boolean,
): E | undefined {
  if (entries.length === 0) return undefined
  const parents = new Set(entries.map((e) => e.parentId).filter(Boolean))
  const leaves = entries.filter((e) => !parents.has(e.id)).sort((a, b) => (a.born < b.born ? -1 : a.born > b.born ? 1 : 0))
  if (leaves.length === 1) return leaves[0]
  if (leaves.length === 0) {
    throw genkitError(
      'FAILED_PRECONDITION',
      `Session '${sessionId}' has no leaf snapshot (corrupt or cyclic history). Resume by snapshotId instead.`,
    )
  }
  if (rejectBranching) {
    throw genkitError(
      'FAILED_PRECONDITION',
      `Session '${sessionId}' has branching snapshots (${leaves.length} leaves), so there is no single latest snapshot. This happens when a conversation is branched (e.g. regenerate). Resume by snapshotId instead.`,
    )
  }
  return leaves.reduce((latest, e) => (e.createdAt > latest.createdAt ? e : latest))
}
