import type { Backend } from '../core/backend.js'
import { firstIdAt, snapshotIdTime } from '../core/ids.js'
import { historyFolder, historyIdIn, historyIdOf, historyKey, partKey, partsFolder } from '../core/keys.js'
import { listAll } from '../core/listing.js'
import type { SnapshotLocation } from '../core/types.js'
import { type SyncContext, inPool, remoteGet, report, withRetries } from './context.js'
import { copyToLocal } from './outbox.js'
import type { FolderState } from './state.js'

/**
 * Pull: copies the remote history of one location that the local tier lacks. History is
 * write-once with unique ids, so pulling never conflicts: a missing id is fetched and created
 * locally (create-only, so a local write racing it wins). Incremental: a windowed pull lists
 * only ids after the newest one already pulled, minus the lookback, since a device that was
 * offline pushes older ids late.
 *
 * Delta history (core/history.ts) builds a snapshot on older ones, so the copies land oldest
 * first (fetched in parallel, created in id order), after the whole copies in `parts/` that
 * walks stop at: a run cut short (a tab closed mid-sync) leaves only snapshots whose chains
 * arrived with them.
 */

/**
 * Pulls the history of `location` as the run says (`window` or `all`), skipping keys in
 * `blocked` (deletes still queued here: pulling them would undo them), and advances
 * `state.cursor`.
 *
 * @example
 * await pullHistory(context, location, state, blocked)
 */
export async function pullHistory(
  context: SyncContext,
  location: SnapshotLocation,
  state: FolderState,
  blocked: Set<string>,
): Promise<void> {
  const { local, remote, localRoot, remoteRoot } = context
  const from =
    context.pull === 'window' && state.cursor ? firstIdAt(+snapshotIdTime(state.cursor) - context.settings.lookbackMs) : undefined
  /** The history ids a tier holds for the location, ascending. */
  const idsIn = async (backend: Backend, root: string): Promise<string[]> => {
    const ids: string[] = []
    const startAfter = from && root + historyKey('', location, from)
    for (const { key } of await listAll(backend, root + historyFolder('', location), { signal: context.signal, startAfter })) {
      const id = historyIdOf(key)
      if (id) ids.push(id)
    }
    return ids
  }
  const remoteIds = await withRetries(context, () => idsIn(remote, remoteRoot))
  const have = new Set(await idsIn(local, localRoot))
  // Evicted history stays remote until a full pull (hydrate) asks for it; reads fall through meanwhile.
  const evicted = context.pull === 'window' ? state.evicted : undefined
  if (context.pull === 'all') delete state.evicted
  const missing = remoteIds.filter((id) => !have.has(id) && !blocked.has(historyKey('', location, id)) && !(evicted && id <= evicted))
  context.progress.total += missing.length
  // Only when there is history to pull: the whole copies among it, first (few; usually none).
  if (missing.length) {
    const folder = partsFolder('', location)
    const parts = await withRetries(context, () => listAll(remote, remoteRoot + folder, { signal: context.signal }))
    const wanted = new Set(missing)
    await inPool(
      context,
      parts.map((e) => historyIdIn(remoteRoot + folder, e.key)).filter((id): id is string => !!id && wanted.has(id)),
      (id) => copy(context, partKey('', location, id)),
    )
  }
  const landed: Promise<void>[] = []
  await inPool(context, missing, async (id) => {
    // Started in id order (inPool's), created in it: each waits for the one before to land.
    const i = landed.length
    let done!: () => void
    landed.push(new Promise((resolve) => (done = resolve)))
    try {
      const rel = historyKey('', location, id)
      const obj = await remoteGet(context, rel)
      await landed[i - 1]
      if (obj && (await copyObject(context, rel, obj)) === 'copied') context.progress.pulled++
      report(context)
    } finally {
      done()
    }
  })
  const last = remoteIds.at(-1)
  if (last && (!state.cursor || last > state.cursor)) state.cursor = last
}

/** Copies one remote object to the local tier (see `copyObject`). */
async function copy(context: SyncContext, rel: string): Promise<void> {
  const obj = await remoteGet(context, rel)
  if (obj) await copyObject(context, rel, obj)
}

/** Create-only, with its metadata, and never over a delete queued since the run began. */
async function copyObject(context: SyncContext, rel: string, obj: { body: Uint8Array; metadata?: Record<string, string> }) {
  return (await copyToLocal(context, rel, obj.body, { signal: context.signal, ifNoneMatch: '*', metadata: obj.metadata })).result
}
