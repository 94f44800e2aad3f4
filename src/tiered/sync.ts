import { latestKey, manifestKey, sessionOfRelative } from '../core/keys.js'
import { listAll } from '../core/listing.js'
import { chunks } from '../core/util.js'
import { type SyncContext, type SyncRun, type SyncSettings, inPool, report } from './context.js'
import { remoteFolders } from './discover.js'
import { type OutboxEntry, listEntries } from './outbox.js'
import { pullHistory } from './pull.js'
import { pushOutbox } from './push.js'
import { reconcileKey } from './reconcile.js'
import { agreedKeys, loadState, locationOfFolder, saveStateChanges } from './state.js'
import type { Tiers } from './tiers.js'

/**
 * One sync run of `TieredStorage`, in three steps over the outbox (outbox.ts):
 * 1. push (push.ts): session deletions, then create-only and deleted keys;
 * 2. reconcile (reconcile.ts): every mutable key of every known folder, three-way against the
 *    state both tiers last agreed on, with the rule in winner.ts; this confirms the mutable
 *    keys' entries;
 * 3. pull (pull.ts): remote history the local tier lacks.
 * Encoded bytes are copied key to key, never decoded and re-encoded. An entry leaves the outbox
 * only once the remote confirmed it, so an aborted or failed run resumes where it stopped.
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

/**
 * Runs one sync over `tiers`.
 *
 * @example
 * const result = await runSync(tiers, settings, { push: 'outbox', pull: 'window', signal })
 */
export async function runSync(tiers: Tiers, settings: SyncSettings, run: SyncRun): Promise<SyncResult> {
  const { folder, signal } = run
  const entries = (await listEntries(tiers, { signal })).filter(
    (e) => !folder || (e.kind === 'drop' ? e.rel === sessionOfRelative(folder) : e.rel.startsWith(folder)),
  )
  const triedBefore = run.push === 'outbox' ? await markTried(tiers, entries, signal) : undefined
  const context: SyncContext = {
    ...tiers,
    ...run,
    settings,
    progress: { pushed: 0, pulled: 0, total: 0 },
    confirmed: [],
    conflicts: [],
    network: { answered: false },
    triedBefore,
    sessionTombstones: new Map(),
  }
  try {
    // A run that pushes nothing plans with an empty outbox: every entry stays queued.
    const touched = await pushOutbox(context, run.push === 'outbox' ? entries : [])
    const folders = new Set(folder ? [folder, ...touched.keys()] : touched.keys())
    if (!folder)
      for (const { key } of await listAll(tiers.local, tiers.statePrefix, { signal }))
        folders.add(`${key.slice(tiers.statePrefix.length)}/`)
    // Sessions learnt from the remote's catalogue: their folders are pulled like known ones.
    if (run.sessions) for (const f of await remoteFolders(context, run.sessions)) folders.add(f)
    // What is still queued must not be pulled back over: deletes not yet pushed, whole sessions.
    const confirmed = new Set(context.confirmed)
    const blocked = new Set(entries.filter((e) => (e.kind === 'delete' || e.kind === 'drop') && !confirmed.has(e.key)).map((e) => e.rel))
    await inPool(context, [...folders], (f) => syncFolder(context, f, blocked, touched.get(f)))
    return { pushed: context.progress.pushed, pulled: context.progress.pulled, conflicts: context.conflicts }
  } finally {
    for (const batch of chunks(context.confirmed)) await tiers.local.delete(batch)
  }
}

/**
 * Reconciles the mutable keys of one folder and pulls its history: a location's `latest` and
 * manifest always, any other key when it is `queued` (with its entry keys) or was agreed before.
 * Confirms the queued entries of each key that ended agreed.
 */
async function syncFolder(context: SyncContext, folder: string, blocked: Set<string>, queued = new Map<string, string[]>()): Promise<void> {
  if (blocked.has(sessionOfRelative(folder))) return
  const location = locationOfFolder(folder)
  const state = await loadState(context, folder, context.signal)
  const before = structuredClone(state)
  const keys = new Set(location ? [latestKey('', location), manifestKey('', location)] : [])
  for (const rel of [...queued.keys(), ...agreedKeys(state, folder)].sort()) keys.add(rel)
  // Entries are confirmed only once the state they led to is stored: a run stopped in between
  // (aborted, offline) must leave the folder queued or agreed, or no later sync would visit it
  // again and a change it pushed would never meet what other devices did to the key since.
  const settled: string[] = []
  for (const rel of keys) {
    const result = await reconcileKey(context, folder, rel, state)
    if (result === 'pushed') context.progress.pushed++
    if (result === 'pulled') context.progress.pulled++
    if (result !== 'held') settled.push(...(queued.get(rel) ?? []))
  }
  if (location && context.pull !== 'none') await pullHistory(context, location, state, blocked)
  await saveStateChanges(context, folder, before, state, context.signal)
  context.confirmed.push(...settled)
  report(context)
}

/**
 * Records, before anything is pushed, the newest create entry this run will try (kept in
 * `tiers.triedKey`, only ever raised): a crash or a lost answer from here on leaves entries the
 * next run must treat as possibly landed. Resolves the mark as it was before this run.
 */
async function markTried(tiers: Tiers, entries: OutboxEntry[], signal?: AbortSignal): Promise<string | undefined> {
  const stored = await tiers.local.get(tiers.triedKey, { signal })
  const before = stored ? new TextDecoder().decode(stored.body) : undefined
  const newest = entries.findLast((e) => e.kind === 'create')?.id
  if (newest && (!before || newest > before)) await tiers.local.put(tiers.triedKey, new TextEncoder().encode(newest), { signal })
  return before
}
