import { ConflictError, throwIfAborted } from '../core/errors.js'
import { historyIdOf, parseKey, sessionOfRelative } from '../core/keys.js'
import { listAll } from '../core/listing.js'
import { chunks } from '../core/util.js'
import { listEntries } from './outbox.js'
import { folderOf, locationOfFolder, updateState } from './state.js'
import type { Tiers } from './tiers.js'

/**
 * Evict: drops the local copy of locations whose every write the remote has confirmed, so a
 * device keeps only what it works on; later reads fall through to the remote (backend.ts) and
 * cache again. Safe against writes of this process by a per-folder gate that the tiered backend
 * passes every local write through (and that evict closes while it works); against a write of
 * another tab sharing the local tier, by checking the outbox again after deleting.
 */

/**
 * Holds a folder's local writes while an eviction of it runs. Every write of the tiered backend
 * (a put with its outbox entry, a delete, a read-through's cache) passes through `run`; `hold`
 * closes folders to new writes, waits for those in flight (their outbox entries then exist,
 * so the eviction sees them and refuses), runs, and reopens. A write that waited lands on the
 * emptied folder afterwards, queued as usual: nothing is lost, and a compare-and-swap that
 * expected the evicted ETag fails its precondition and re-reads (through the remote).
 *
 * @example
 * const gate = new WriteGate()
 * await gate.run([rel], () => local.put(key, body))
 * await gate.hold([folder], () => dropFolder())
 */
export class WriteGate {
  /** Folder → released when the eviction holding it ends. */
  readonly #closed = new Map<string, Promise<void>>()
  /** Folder → writes in flight. */
  readonly #inFlight = new Map<string, Set<Promise<unknown>>>()

  /** Runs `write` (of the keys `rels`) once none of their folders is held. */
  async run<R>(rels: string[], write: () => Promise<R>): Promise<R> {
    const folders = [...new Set(rels.map(folderOf))]
    for (let closed = this.#heldOf(folders); closed; closed = this.#heldOf(folders)) await closed
    const pending = write()
    for (const folder of folders) {
      const writes = this.#inFlight.get(folder) ?? new Set()
      this.#inFlight.set(folder, writes.add(pending))
    }
    try {
      return await pending
    } finally {
      for (const folder of folders) {
        const writes = this.#inFlight.get(folder)
        writes?.delete(pending)
        if (!writes?.size) this.#inFlight.delete(folder)
      }
    }
  }

  #heldOf(folders: string[]): Promise<void> | undefined {
    for (const folder of folders) {
      const closed = this.#closed.get(folder)
      if (closed) return closed
    }
    return undefined
  }

  async hold<R>(folders: string[], task: () => Promise<R>): Promise<R> {
    let release!: () => void
    const closed = new Promise<void>((resolve) => {
      release = resolve
    })
    for (const folder of folders) this.#closed.set(folder, closed)
    try {
      // Settled either way: a failed write queued nothing the eviction must see.
      await Promise.allSettled(folders.flatMap((folder) => [...(this.#inFlight.get(folder) ?? [])]))
      return await task()
    } finally {
      for (const folder of folders) this.#closed.delete(folder)
      release()
    }
  }
}

/**
 * What `evict` did.
 *
 * @example
 * const { evicted, locations } = await storage.evict({ sessionId: 's1' })
 */
export interface EvictResult {
  /** Local data keys dropped (history, `latest`, the manifest). */
  evicted: number
  /** The folders (`<sessionId>/scopes/<scope>/<scopeId>/snapshots/`) evicted. */
  folders: string[]
}

/**
 * The folders of `sessionId` that hold local data or sync state: what a session's eviction visits.
 *
 * @example
 * const folders = await sessionFolders(tiers, 's1', signal)
 */
export async function sessionFolders(tiers: Tiers, sessionId: string, signal?: AbortSignal): Promise<string[]> {
  const folders = new Set<string>()
  for (const { key } of await listAll(tiers.local, `${tiers.localRoot}${sessionId}/scopes/`, { signal })) {
    const folder = folderOf(key.slice(tiers.localRoot.length))
    if (locationOfFolder(folder)) folders.add(folder)
  }
  for (const { key } of await listAll(tiers.local, `${tiers.statePrefix}${sessionId}/`, { signal })) {
    const folder = `${key.slice(tiers.statePrefix.length)}/`
    if (locationOfFolder(folder)) folders.add(folder)
  }
  return [...folders].sort()
}

/**
 * Drops the local history of `folders` (every write-once snapshot: the bulk of a location's
 * bytes), or refuses with `ConflictError` (dropping nothing) while anything of them is not
 * confirmed by the remote: an outbox entry (a write, a delete, a deletion of the session). The
 * location's mutable keys (latest, manifest) and its sync state stay: deleting a mutable key is
 * not conditional, so another tab writing it at that moment would lose its write; and with the
 * state kept, sync goes on keeping latest current without pulling the dropped history back.
 * History is listed BEFORE the outbox is read: a create writes its entry before its bytes, so any
 * history key listed whose write is unconfirmed has its entry by then; one written later is not
 * in the list. The caller holds the sync lock and the folders' write gate.
 *
 * @example
 * const result = await evictFolders(tiers, ['s1/scopes/agent/a/snapshots/'], signal)
 */
export async function evictFolders(tiers: Tiers, folders: string[], signal?: AbortSignal): Promise<EvictResult> {
  const keys: string[] = []
  for (const folder of folders)
    for (const { key } of await listAll(tiers.local, tiers.localRoot + folder, { signal })) {
      const kind = parseKey(key.slice(tiers.localRoot.length))?.kind
      if (kind === 'history' || kind === 'foreignHistory') keys.push(key)
    }
  const pending = [...new Set((await pendingIn(tiers, folders, signal)).map((e) => e.rel))]
  if (pending.length) throw new ConflictError(`evict refused: not yet confirmed by the remote: ${named(pending)}; sync first`)
  throwIfAborted(signal)
  // The marker first: a crash after it leaves history a windowed pull skips and reads fetch.
  for (const folder of folders) {
    const newest = keys
      .filter((key) => key.startsWith(tiers.localRoot + folder))
      .map((key) => historyIdOf(key.slice(tiers.localRoot.length)))
      .filter((id) => id !== undefined)
      .sort()
      .at(-1)
    if (newest)
      await updateState(
        tiers,
        folder,
        (state) => {
          if (!state.evicted || newest > state.evicted) state.evicted = newest
        },
        signal,
      )
  }
  for (const batch of chunks(keys)) await tiers.local.delete(batch, { signal })
  return { evicted: keys.length, folders }
}

/** The outbox entries of `folders`: their keys' writes and deletes, and deletions of their sessions. */
async function pendingIn(tiers: Tiers, folders: string[], signal?: AbortSignal) {
  const sessions = new Set(folders.map(sessionOfRelative))
  return (await listEntries(tiers, { signal })).filter((e) =>
    e.kind === 'drop' ? sessions.has(e.rel) : folders.some((folder) => e.rel.startsWith(folder)),
  )
}

/** Up to five keys, and how many more: an error message stays short for a large outbox. */
function named(rels: string[]): string {
  const more = rels.length > 5 ? ` and ${rels.length - 5} more` : ''
  return rels.slice(0, 5).join(', ') + more
}
