import { ValidationError } from '../core/errors.js'
import { parseKey, sessionOfListing, sessionTombstoneOf, tombstoneOf } from '../core/keys.js'
import { ownedBySession } from '../core/listing.js'
import type { SnapshotOperation } from './handler.js'

/**
 * A key layout the HTTP handler serves: how it tells which session (the unit `authorize` decides
 * on) a key or a listing belongs to. The handler always serves the snapshot layout
 * (`<sessionId>/scopes/…`); an adapter's layout (`strandsLayout` from `snapshelf/strands`,
 * `genkitLayout` from `snapshelf/genkit`, `langgraphLayout` from `snapshelf/langgraph`) is served
 * only when passed in `layouts`, so a handler reserves no folder its app did not ask for.
 * Pure functions of the key: nothing is read to decide.
 *
 * @example
 * const layout: KeyLayout = {
 *   name: 'notes',
 *   sessionOf: (key) => /^notes\/([\w-]+)\/[\w.-]+$/.exec(key)?.[1],
 *   listing: (prefix) => /^notes\/([\w-]+)\//.exec(prefix)?.[1],
 * }
 */
export interface KeyLayout {
  /** What `authorize` is told as `access.layout`, e.g. `'langgraph'`. */
  readonly name: string
  /**
   * The session an object key (relative to the storage prefix) belongs to, or `undefined` when
   * it is not a key of this layout (the handler then refuses it with 400).
   */
  sessionOf(key: string, op: SnapshotOperation): string | undefined
  /**
   * For a listing prefix: the one session it is confined to; `null` when it spans sessions of
   * this layout (the handler then returns only the entries `authorize` allows, asking once per
   * session on the page); `undefined` when the prefix is not this layout's.
   */
  listing(prefix: string): string | null | undefined
}

/**
 * The snapshot layout as the handler serves it (core/keys.ts): latest, manifest and history
 * keys, the tiered store's tombstones, and (deletes only) Strands' own history names
 * (`snapshot_<id>.json`), so `deleteSession` can clear a bucket Strands wrote. A listing is
 * confined to one session; what it returns is what that session's `deleteSession` would erase
 * (`ownedBySession`), so a session named like an adapter's folder (`langgraph`) lists only its
 * own keys, never the adapter's.
 */
export const snapshotLayout: KeyLayout = {
  name: 'snapshots',
  sessionOf(key, op) {
    const tombstone = tombstoneOf(key)
    if (tombstone && !tombstone.prefix) return tombstone.location.sessionId
    const session = sessionTombstoneOf(key)
    if (session) return session
    const parsed = parseKey(key)
    if (!parsed || parsed.prefix || (parsed.kind === 'foreignHistory' && op !== 'delete')) return undefined
    return parsed.location.sessionId
  },
  listing(prefix) {
    try {
      return sessionOfListing('prefix', prefix)
    } catch (error) {
      if (error instanceof ValidationError) return undefined
      throw error
    }
  },
}

/**
 * Whether a listed `key` belongs to `sessionId` of `layout`, for a listing confined to it: the
 * snapshot layout's erase rule (`ownedBySession`), or the layout's own `sessionOf`.
 *
 * @example
 * belongsTo(snapshotLayout, 'langgraph', 'langgraph/t1/_/checkpoints/0f.json') // false
 */
export function belongsTo(layout: KeyLayout, sessionId: string, key: string): boolean {
  return layout === snapshotLayout ? ownedBySession('', sessionId, key) : layout.sessionOf(key, 'list') === sessionId
}
