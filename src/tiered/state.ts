import { compareAndSwap } from '../core/cas.js'
import { DEFAULT_MAX_DECODED_BYTES, decodeJSON } from '../core/codec.js'
import { isId } from '../core/ids.js'
import { parseKey, scopeFolder } from '../core/keys.js'
import type { SnapshotLocation } from '../core/types.js'
import { sha256Hex } from '#platform'
import type { Tiers } from './tiers.js'

/**
 * The sync state kept locally per folder, under `.snapshelf/sync/<folder without its slash>`:
 * for each mutable key, the state both tiers last agreed on, and for a location the history
 * cursor. Stored as JSON; its field names are a storage format, never renamed. A location's
 * `latest` and manifest keep the fields the previous version wrote (`latest`, `manifest`); any
 * other mutable key of the folder (an adapter's) is kept under `/<its file name>`. An agreed
 * state of `undefined` ("agreed on absence") is left out of the JSON.
 */

/**
 * What both tiers held when they last agreed on a key.
 *
 * @example
 * const agreed: Agreed = { base: 'e3b0c442…', etag: '"m12"' }
 */
export interface Agreed {
  /** SHA-256 of the bytes both tiers held. */
  base: string
  /** The remote's ETag of those bytes: when it still stands, the remote need not be downloaded. */
  etag: string | null
}

/**
 * One folder's sync state, as stored.
 *
 * @example
 * const state: FolderState = { latest: { base: 'e3b0…', etag: '"m3"' }, cursor: '0190…' }
 */
export interface FolderState {
  latest?: Agreed
  manifest?: Agreed
  /** The newest history id pulled (locations only). */
  cursor?: string
  /** The newest history id `evict` dropped here: a windowed pull leaves ids up to it on the remote (a full pull, `hydrate`, brings them back). */
  evicted?: string
  /** Any other mutable key of the folder, by `/<file name>` (a slash: never a field above). */
  [file: `/${string}`]: Agreed | undefined
}

/**
 * The folder a data key belongs to, relative like the key: a location's `…/snapshots/` for every
 * key of the snapshot layout (history included), the key's own directory for any other.
 *
 * @example
 * folderOf('s1/scopes/agent/a/snapshots/immutable_history/snapshot_0190….json') // 's1/scopes/agent/a/snapshots/'
 */
export function folderOf(rel: string): string {
  const parsed = parseKey(rel)
  return parsed ? scopeFolder('', parsed.location) : rel.slice(0, rel.lastIndexOf('/') + 1)
}

/**
 * The location whose folder `folder` is, or `undefined` for any other folder: the ids are read
 * from their places and the folder rebuilt by the layout's own builder, so only a real location
 * folder round-trips.
 *
 * @example
 * locationOfFolder('s1/scopes/agent/a/snapshots/') // { sessionId: 's1', scope: 'agent', scopeId: 'a' }
 */
export function locationOfFolder(folder: string): SnapshotLocation | undefined {
  const [sessionId = '', , scope = '', scopeId = ''] = folder.split('/')
  const location = { sessionId, scope, scopeId }
  return [sessionId, scope, scopeId].every(isId) && scopeFolder('', location) === folder ? location : undefined
}

/**
 * Reads a folder's state (`{}` when none is stored).
 *
 * @example
 * const state = await loadState(tiers, folder, signal)
 */
export async function loadState(tiers: Tiers, folder: string, signal?: AbortSignal): Promise<FolderState> {
  const key = stateKey(tiers, folder)
  const stored = await tiers.local.get(key, { signal })
  return stored ? decodeJSON<FolderState>(stored.body, key, DEFAULT_MAX_DECODED_BYTES) : {}
}

/**
 * Changes a folder's state by compare-and-swap: `change` edits the state as stored now, so two
 * writers of one folder's state (parallel read-throughs, a read-through during a sync, two tabs)
 * never lose each other's slots. `change` may run more than once.
 *
 * @example
 * await updateState(tiers, folder, (state) => { state.cursor = id }, signal)
 */
export async function updateState(tiers: Tiers, folder: string, change: (state: FolderState) => void, signal?: AbortSignal): Promise<void> {
  const key = stateKey(tiers, folder)
  await compareAndSwap<FolderState>(tiers.local, key, {
    decode: async (bytes) => decodeJSON<FolderState>(bytes, key, DEFAULT_MAX_DECODED_BYTES),
    encode: async (state) => new TextEncoder().encode(JSON.stringify(state)),
    mutate: (current) => {
      const state = current ?? {}
      change(state)
      return state
    },
    maxAttempts: 50,
    signal,
  })
}

/**
 * Stores what a sync changed in a folder's state, `before` → `after` (both as loaded and edited by
 * the sync), slot by slot onto the state as stored now (`updateState`): a slot recorded meanwhile
 * by a read-through survives unless the sync changed that slot too.
 *
 * @example
 * await saveStateChanges(tiers, folder, before, state, signal)
 */
export async function saveStateChanges(
  tiers: Tiers,
  folder: string,
  before: FolderState,
  after: FolderState,
  signal?: AbortSignal,
): Promise<void> {
  const slots = new Set([...Object.keys(before), ...Object.keys(after)] as (keyof FolderState)[])
  const changed = [...slots].filter((slot) => JSON.stringify(before[slot]) !== JSON.stringify(after[slot]))
  if (!changed.length) return
  await updateState(
    tiers,
    folder,
    (state) => {
      for (const slot of changed) {
        if (after[slot] === undefined) delete state[slot]
        else (state as Record<string, unknown>)[slot] = after[slot]
      }
    },
    signal,
  )
}

/**
 * Records that both tiers hold `body` at `rel`, the remote under `etag`: what a read-through
 * establishes when it caches a remote object. Without it, a device that read a key from the
 * remote and then changed it would look like a rival writer to its own sync, and could lose
 * its change to the bytes it started from. History (write-once) needs no agreement.
 *
 * @example
 * await recordAgreed(tiers, rel, remote.body, remote.etag)
 */
export async function recordAgreed(tiers: Tiers, rel: string, body: Uint8Array, etag: string, signal?: AbortSignal): Promise<void> {
  const kind = parseKey(rel)?.kind
  if (kind === 'history' || kind === 'foreignHistory') return
  const folder = folderOf(rel)
  const agreed = { base: await sha256Hex(body), etag }
  await updateState(
    tiers,
    folder,
    (state) => {
      state[slotOf(folder, rel)] = agreed
    },
    signal,
  )
}

/**
 * Where a folder's state keeps the agreed state of its mutable key `rel`.
 *
 * @example
 * const agreed = state[slotOf(folder, rel)]
 */
export function slotOf(folder: string, rel: string): 'latest' | 'manifest' | `/${string}` {
  // The previous version's fields for a location's `latest` and manifest; `/<file>` for any other key.
  const kind = parseKey(rel)?.kind
  return kind === 'latest' || kind === 'manifest' ? kind : `/${rel.slice(folder.length)}`
}

/**
 * The other mutable keys with an agreed state in `folder`, as relative keys.
 *
 * @example
 * for (const rel of agreedKeys(state, folder)) await reconcileKey(context, folder, rel, state)
 */
export function agreedKeys(state: FolderState, folder: string): string[] {
  return Object.keys(state)
    .filter((slot) => slot.startsWith('/') && state[slot as `/${string}`])
    .map((slot) => folder + slot.slice(1))
}

function stateKey(tiers: Tiers, folder: string): string {
  return tiers.statePrefix + folder.slice(0, -1)
}
