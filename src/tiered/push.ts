import { snapshotIdTime } from '../core/ids.js'
import { historyIdOf, parseKey, sessionOfRelative, sessionTombstoneKey, tombstoneKey, tombstoneOf } from '../core/keys.js'
import { deleteAll, listAll, ownedBySession } from '../core/listing.js'
import { chunks, sameBytes } from '../core/util.js'
import { type SyncContext, inPool, remoteGet, report, withRetries } from './context.js'
import type { OutboxEntry } from './outbox.js'
import { contentTime } from './reconcile.js'
import { folderOf, loadState, slotOf } from './state.js'

/**
 * Push: sends the outbox to the remote, each entry as its kind says. Session deletions go first
 * (they confirm every older entry of their session); then every create-only key, oldest entry
 * first, create-only on the remote; then deleted keys (see below). Entries of mutable keys (compare-and-swap,
 * overwrite) are not pushed here: they are handed to reconcile, which confirms them once the
 * key is agreed.
 */

/**
 * What pushing one create-only or deleted key did:
 * - `pushed`: the remote holds it (or our own earlier push of it), or no longer holds it;
 * - `conflict`: the remote holds different bytes at a create-only key (an id reused): kept queued;
 * - `waiting`: the data of a fresh entry has not landed yet (a write in flight): kept queued;
 * - `abandoned`: the data of an old entry never landed (a crash between entry and data): dropped.
 * - `superseded`: a delete issued after this create (of the id, or of its whole session) was
 *   pushed by another device first; its tombstone says so: confirmed, never pushed (back). The
 *   local copy stays (deletions travel from a device to the remote).
 *
 * @example
 * const result: PushResult = await pushKey(context, rel, entries)
 */
export type PushResult = 'pushed' | 'conflict' | 'waiting' | 'abandoned' | 'superseded'

/** An entry whose data never appeared after this long was left by a crash between its two writes. */
const STALE_ENTRY_MS = 60_000

/**
 * Pushes `entries` (oldest first), counting into the run's progress and confirming into its
 * list. Resolves every folder the entries touched (reconciled and pulled after the push), each
 * with the entry keys of its queued mutable keys, by relative key: reconcile confirms those.
 *
 * @example
 * const touched = await pushOutbox(context, await listEntries(tiers))
 */
export async function pushOutbox(context: SyncContext, entries: OutboxEntry[]): Promise<Map<string, Map<string, string[]>>> {
  const touched = new Map<string, Map<string, string[]>>()
  const drops = await pushDrops(context, entries)
  const keys = new Map<string, OutboxEntry[]>()
  for (const entry of entries) {
    // Confirmed by a later deletion of its whole session.
    if (entry.kind === 'drop' || (drops.get(sessionOfRelative(entry.rel)) ?? '') >= entry.id) continue
    const folder = folderOf(entry.rel)
    const mutable = touched.get(folder) ?? new Map<string, string[]>()
    touched.set(folder, mutable)
    if (entry.kind === 'cas' || entry.kind === 'overwrite') mutable.set(entry.rel, [...(mutable.get(entry.rel) ?? []), entry.key])
    else keys.set(entry.rel, [...(keys.get(entry.rel) ?? []), entry])
  }
  context.progress.total += keys.size
  report(context)
  // Create-only keys first (and deleted keys other than history: an adapter's, whose session only
  // the server's layouts know, one by one): a prune's whole copies in parts/ then land before the
  // deletes of what they stand in for, so the remote never holds a snapshot whose chain is gone.
  const { remote, remoteRoot, signal } = context
  const batched = ([rel, list]: [string, OutboxEntry[]]) => list.at(-1)!.kind === 'delete' && tombstoneOfRelative(rel) !== undefined
  await inPool(
    context,
    [...keys].filter((item) => !batched(item)),
    async ([rel, list]) => {
      const result = await pushKey(context, rel, list)
      if (result !== 'conflict' && result !== 'waiting') context.confirmed.push(...list.map((e) => e.key))
      if (result === 'pushed') context.progress.pushed++
      if (result === 'conflict') context.conflicts.push(rel)
      report(context)
    },
  )
  // Then history ids whose newest entry is a delete (a prune, say): each tombstone first, then
  // the deletes batched per session (one request per 1000 keys; an HTTP remote takes one
  // session's keys per batch), not one delete request per id.
  const deletes = [...keys].filter(batched)
  await inPool(context, deletes, async ([rel, list]) => {
    await withRetries(context, () => remote.put(remoteRoot + tombstoneOfRelative(rel)!, tombstoneBody(list.at(-1)!.id), { signal }))
  })
  const bySession = new Map<string, [string, OutboxEntry[]][]>()
  for (const item of deletes) bySession.set(sessionOfRelative(item[0]), [...(bySession.get(sessionOfRelative(item[0])) ?? []), item])
  for (const batch of [...bySession.values()].flatMap((items) => chunks(items))) {
    await withRetries(context, () =>
      remote.delete(
        batch.map(([rel]) => remoteRoot + rel),
        { signal },
      ),
    )
    for (const [, list] of batch) context.confirmed.push(...list.map((e) => e.key))
    context.progress.pushed += batch.length
    report(context)
  }
  return touched
}

/**
 * Deletes every session with a queued `drop` remotely (as of its newest drop), and forgets what
 * the tiers agreed on in it; confirms each such session's entries up to that drop. Resolves the
 * newest drop id of each session.
 */
async function pushDrops(context: SyncContext, entries: OutboxEntry[]): Promise<Map<string, string>> {
  const { local, statePrefix, signal } = context
  const drops = new Map<string, string>()
  for (const entry of entries) if (entry.kind === 'drop') drops.set(entry.rel, entry.id)
  context.progress.total += drops.size
  for (const [sessionId, newest] of drops) {
    await withRetries(context, () => dropRemote(context, sessionId, newest))
    // What both tiers agreed on is gone from the remote: forget it (a folder directly under the
    // session keeps its state at `<sessionId>` itself).
    await deleteAll(local, `${statePrefix}${sessionId}/`, { signal })
    await local.delete([statePrefix + sessionId], { signal })
    for (const entry of entries) if (sessionOfRelative(entry.rel) === sessionId && entry.id <= newest) context.confirmed.push(entry.key)
    context.progress.pushed++
    report(context)
  }
  return drops
}

/**
 * Deletes session `sessionId` on the remote as it was when its deletion was queued (the drop
 * entry's id `asOf`, a UUIDv7: a time): every history id up to that moment (ids carry their
 * creation time), and every other key that did not change since this device last agreed on it
 * (never agreed on: whose content is dated no later). What other devices wrote into the session
 * after the deletion survives it, in whichever order the pushes come.
 */
async function dropRemote(context: SyncContext, sessionId: string, asOf: string): Promise<void> {
  const { remote, remoteRoot, signal } = context
  // The session's tombstone first, never lowered: what it covers stays deleted, whichever device
  // pushes an older create later (the id tombstones erased below are covered by it).
  const marker = remoteRoot + sessionTombstoneKey('', sessionId)
  const standing = await remote.get(marker, { signal })
  if (!standing || deletedAsOf(standing.body) < asOf) await remote.put(marker, tombstoneBody(asOf), { signal })
  const doomed: string[] = []
  for (const { key } of await listAll(remote, `${remoteRoot}${sessionId}/`, { signal })) {
    // Not another store nested in this session's folder (issue 10 #9), nor an adapter's folder of its name.
    if (key === marker || !ownedBySession(remoteRoot, sessionId, key)) continue
    const rel = key.slice(remoteRoot.length)
    // A tombstone is dated by its history id, like the snapshot it stands for.
    const id = historyIdOf(rel) ?? tombstoneOf(rel)?.snapshotId
    if (id === undefined ? await unchangedSince(context, rel, +snapshotIdTime(asOf)) : id <= asOf) doomed.push(key)
  }
  for (const batch of chunks(doomed)) await remote.delete(batch, { signal })
}

/** Whether the remote still holds at `rel` what this device last agreed on, or (no agreement) content dated at or before `time`. */
async function unchangedSince(context: SyncContext, rel: string, time: number): Promise<boolean> {
  const folder = folderOf(rel)
  const agreed = (await loadState(context, folder, context.signal))[slotOf(folder, rel)]
  if (agreed) return (await context.remote.head(context.remoteRoot + rel, { signal: context.signal }))?.etag === agreed.etag
  const obj = await context.remote.get(context.remoteRoot + rel, { signal: context.signal })
  return obj !== null && (await contentTime(context, rel, obj.body)) <= time
}

/**
 * Pushes one create-only or deleted key from its entries, oldest first. A queued delete goes
 * first even when a create follows: an id deleted and saved again must replace the remote's old
 * bytes, which a create-only put alone would call a conflict.
 */
async function pushKey(context: SyncContext, rel: string, entries: OutboxEntry[]): Promise<PushResult> {
  const { local, remote, localRoot, remoteRoot, signal } = context
  const last = entries.at(-1)!
  const tombstone = tombstoneOfRelative(rel)
  const deleted = entries.findLast((e) => e.kind === 'delete')
  if (deleted) {
    // The tombstone first: a crash between the two leaves it beside bytes still queued for deletion.
    if (tombstone) await withRetries(context, () => remote.put(remoteRoot + tombstone, tombstoneBody(deleted.id), { signal }))
    await withRetries(context, () => remote.delete([remoteRoot + rel], { signal }))
  }
  if (last.kind === 'delete') return 'pushed'
  const obj = await local.get(localRoot + rel, { signal })
  if (!obj) return Date.now() - +snapshotIdTime(last.id) > STALE_ENTRY_MS ? 'abandoned' : 'waiting'
  if (tombstone) {
    // Its session deleted since (by another device): as of when that was issued, this create is gone.
    if ((await sessionDeletedAsOf(context, sessionOfRelative(rel))) > last.id) return 'superseded'
    // Tried by an earlier run: it may have landed unanswered and been deleted elsewhere since.
    if (context.triedBefore && last.id <= context.triedBefore) {
      const found = await remoteGet(context, tombstone)
      if (found && deletedAsOf(found.body) > last.id) return 'superseded'
    }
  }
  // The object's metadata travels with its bytes (what was written locally is what the remote lists).
  const put = { signal, ifNoneMatch: '*', writeOnce: true, metadata: obj.metadata } as const
  if (await withRetries(context, () => remote.put(remoteRoot + rel, obj.body, put))) return 'pushed'
  // Taken: identical bytes are our own earlier push whose answer was lost.
  const there = await remoteGet(context, rel)
  return there && sameBytes(there.body, obj.body) ? 'pushed' : 'conflict'
}

/**
 * The tombstone key of a history key (relative), or `undefined`: only the store's own history
 * ids get one (not a layout nested under an adapter's folder, e.g. Strands' `session/…`).
 */
function tombstoneOfRelative(rel: string): string | undefined {
  const parsed = parseKey(rel)
  return parsed?.kind === 'history' && !parsed.prefix ? tombstoneKey('', parsed.location, parsed.snapshotId!) : undefined
}

/** A tombstone's bytes: plain JSON naming the delete's entry id (a UUIDv7: when it was issued). */
function tombstoneBody(deleteId: string): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ deleted: deleteId }))
}

/** When the delete a tombstone records was issued (its entry id), `''` when unreadable: then it covers nothing. */
function deletedAsOf(body: Uint8Array): string {
  try {
    const { deleted } = JSON.parse(new TextDecoder().decode(body)) as { deleted?: unknown }
    return typeof deleted === 'string' ? deleted : ''
  } catch {
    return ''
  }
}

/** When the remote says session `sessionId` was last deleted (its tombstone), `''` for never: read once per run. */
function sessionDeletedAsOf(context: SyncContext, sessionId: string): Promise<string> {
  let asOf = context.sessionTombstones.get(sessionId)
  if (!asOf) {
    asOf = remoteGet(context, sessionTombstoneKey('', sessionId)).then((found) => (found ? deletedAsOf(found.body) : ''))
    context.sessionTombstones.set(sessionId, asOf)
  }
  return asOf
}
