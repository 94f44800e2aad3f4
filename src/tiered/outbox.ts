import type { BackendCallOptions, BackendPutOptions } from '../core/backend.js'
import { newSnapshotId } from '../core/ids.js'
import { parseKey, sessionOfRelative } from '../core/keys.js'
import { listAll } from '../core/listing.js'
import type { Tiers } from './tiers.js'

/**
 * The outbox: one entry per local write, stored in the local tier itself under
 * `[localPrefix/][prefix/].snapshelf/outbox/` (no id starts with a dot, so the namespace never
 * collides with a session's keys, and an IndexedDB local tier keeps it across reloads).
 *
 * An entry's whole meaning is in its key, `<rel key>!<op>!<uuidv7>` with an empty body, so
 * listing the outbox is enough to plan a sync (no body reads) and listing `<rel key>!del!` finds
 * a pending delete. Every write gets a fresh entry; a sync removes only entries it listed, so a
 * write racing a sync (another tab) is never dropped and no conditional delete is needed.
 *
 * The op records HOW the key was written, so sync gives every key, including keys of adapters
 * that do not exist yet, the guarantee its writer asked for, without knowing its name.
 */

/**
 * How a key was written, as recorded in its outbox entry:
 * - `create`: write-once (`writeOnce`, history): pushed create-only; other bytes there are a conflict.
 * - `cas`: compare-and-swap (`ifMatch` / `ifNoneMatch` without `writeOnce`): reconciled three-way.
 * - `overwrite`: a plain put: reconciled three-way too (the agreed state tells who changed).
 * - `delete`: a key deleted; `drop`: a whole session deleted (the entry's `rel` is the session id).
 *
 * @example
 * const kind: WriteKind = writeKindOf({ ifNoneMatch: '*', writeOnce: true }) // 'create'
 */
export type WriteKind = 'create' | 'cas' | 'overwrite' | 'delete' | 'drop'

/**
 * One listed outbox entry (a view of its key; nothing is stored in the body).
 *
 * @example
 * const entry: OutboxEntry = { key: '.snapshelf/outbox/s1/…!del!0190…', rel: 's1/…', kind: 'delete', id: '0190…' }
 */
export interface OutboxEntry {
  /** The entry's own local key. */
  key: string
  /** The data key relative to the tiered prefix (`<sessionId>/scopes/…`), or the session id for `drop`. */
  rel: string
  kind: WriteKind
  /** UUIDv7: orders entries, and dates them. */
  id: string
}

/** The op each kind is stored as. `del` and `drop` keep the previous version's spelling. */
const OPS: Record<WriteKind, string> = { create: 'create', cas: 'cas', overwrite: 'set', delete: 'del', drop: 'drop' }
/** `<rel>!<op>!<uuidv7>`, read from the end: the op and id never contain `!`. */
const ENTRY = /^(.+)!([a-z]+)!([\w-]+)$/

/**
 * How a put writes its key, from its options: the kind its outbox entry records.
 *
 * @example
 * writeKindOf({ ifMatch: etag }) // 'cas'
 */
export function writeKindOf(options: BackendPutOptions): 'create' | 'cas' | 'overwrite' {
  if (options.writeOnce) return 'create'
  return options.ifMatch !== undefined || options.ifNoneMatch ? 'cas' : 'overwrite'
}

/**
 * The kind of an entry stored by the previous version, which wrote every put as `put`: told
 * apart by the key, as that version did. History (ours or Strands') was created once; `latest`,
 * the manifest and anything else are reconciled as mutable keys.
 */
function legacyPutKind(rel: string): WriteKind {
  const kind = parseKey(rel)?.kind
  return kind === 'history' || kind === 'foreignHistory' ? 'create' : 'overwrite'
}

/**
 * Writes an entry recording that `rel` was written as `kind`; resolves its local key. The entry
 * is a fresh key written unconditionally: only the caller's signal applies to it, never the
 * preconditions of the write it records (an `ifMatch` would fail on the entry and leave that
 * write unqueued).
 *
 * @example
 * const entry = await addEntry(tiers, rel, 'create', { signal })
 */
export async function addEntry(tiers: Tiers, rel: string, kind: WriteKind, options?: BackendCallOptions): Promise<string> {
  const key = `${tiers.outboxPrefix}${rel}!${OPS[kind]}!${newSnapshotId()}`
  await tiers.local.put(key, new Uint8Array(0), { signal: options?.signal })
  return key
}

/**
 * Every outbox entry, oldest first; entries of the previous version are classified by key.
 *
 * @example
 * for (const entry of await listEntries(tiers)) console.log(entry.kind, entry.rel)
 */
export async function listEntries(tiers: Tiers, options?: BackendCallOptions): Promise<OutboxEntry[]> {
  const entries: OutboxEntry[] = []
  const base = tiers.outboxPrefix
  for (const { key } of await listAll(tiers.local, base, options)) {
    const [, rel, op, id] = ENTRY.exec(key.slice(base.length)) ?? []
    const kind = op === 'put' ? legacyPutKind(rel!) : (Object.keys(OPS) as WriteKind[]).find((k) => OPS[k] === op)
    // An unknown op is a newer version's: left for it, never guessed at.
    if (kind) entries.push({ key, rel: rel!, kind, id: id! })
  }
  // Ids are unique (UUIDv7), so no two entries compare equal.
  return entries.sort((a, b) => (a.id < b.id ? -1 : 1))
}

/**
 * True when a delete of `rel`, or of its whole session, waits in the outbox: a read must then
 * not fetch the key back from the remote.
 *
 * @example
 * if (await deletePending(tiers, rel)) return null
 */
export async function deletePending(tiers: Tiers, rel: string, options?: BackendCallOptions): Promise<boolean> {
  for (const pending of [`${rel}!${OPS.delete}!`, `${sessionOfRelative(rel)}!${OPS.drop}!`]) {
    const page = await tiers.local.list(tiers.outboxPrefix + pending, { signal: options?.signal, limit: 1 })
    if (page.entries.length) return true
  }
  return false
}

/**
 * What `copyToLocal` did: `copied` (with the local ETag); `raced` (its precondition failed: a
 * local write came first); `deleted` (a delete of the key, or of its session, is queued: the
 * copy was undone).
 *
 * @example
 * const copy: Copy = await copyToLocal(tiers, rel, body, { ifNoneMatch: '*' })
 * if (copy.result === 'copied') console.log(copy.etag)
 */
export type Copy = { result: 'copied'; etag: string } | { result: 'raced' | 'deleted' }

/**
 * Writes bytes that came from the remote (a pull, a read-through) into the local tier under
 * `options`' precondition, without undoing a delete queued meanwhile. A delete queues its entry
 * BEFORE it removes the local key, so a copy that landed before the removal is removed by it,
 * and one that landed after finds the entry here and is removed again: no lock needed.
 *
 * @example
 * const copy = await copyToLocal(tiers, rel, remote.body, { signal, ifNoneMatch: '*' })
 */
export async function copyToLocal(tiers: Tiers, rel: string, body: Uint8Array, options: BackendPutOptions): Promise<Copy> {
  const key = tiers.localRoot + rel
  const put = await tiers.local.put(key, body, options)
  if (!put) return { result: 'raced' }
  if (!(await deletePending(tiers, rel, options))) return { result: 'copied', etag: put.etag }
  await tiers.local.delete([key], { signal: options.signal })
  return { result: 'deleted' }
}

/**
 * The number of changes waiting: one per key (a put and a later delete of it are one change) and
 * one per session deletion. A session id never contains `/` and a key always does, so the
 * entries' `rel`s alone tell them apart.
 *
 * @example
 * const pending = countPending(await listEntries(tiers))
 */
export function countPending(entries: OutboxEntry[]): number {
  return new Set(entries.map((e) => e.rel)).size
}
