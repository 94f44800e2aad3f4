import { ValidationError } from './errors.js'
import { isId, isSnapshotId } from './ids.js'
import type { SnapshotLocation } from './types.js'

/**
 * The key layout, owned here in both directions: every key is built by a function of this
 * module and parsed only by `parseKey`. It is the Strands layout, identical on every tier so sync
 * maps key to key:
 * ```
 * [prefix/]<sessionId>/scopes/<scope>/<scopeId>/snapshots/snapshot_latest.json
 * [prefix/]<sessionId>/scopes/<scope>/<scopeId>/snapshots/manifest.json
 * [prefix/]<sessionId>/scopes/<scope>/<scopeId>/snapshots/immutable_history/snapshot_<uuid7>.json
 * [prefix/]<sessionId>/scopes/<scope>/<scopeId>/snapshots/parts/snapshot_<uuid7>.json
 * ```
 * `parts/` keeps what delta history still needs of a deleted snapshot, and whole copies that
 * shorten a chain (history.ts): outside `immutable_history/`, so never listed as snapshots.
 * Builders take validated ids (ids.ts) and only assemble strings; the parser validates.
 */

const LATEST_FILE = 'snapshot_latest.json'
const MANIFEST_FILE = 'manifest.json'
const HISTORY_DIR = 'immutable_history'
const PARTS_DIR = 'parts'
/** A history file name: `snapshot_<id>.json`; the id is a UUIDv7 for ours, anything Strands wrote otherwise. */
const HISTORY_FILE = /^snapshot_(.+)\.json$/

/**
 * What a key is: `latest`, `manifest`, `history` (a UUIDv7 history object), or
 * `foreignHistory` (a history file whose id is not a UUIDv7, e.g. Strands' legacy numeric ids:
 * never listed, but erasable with its session), or `part` (what delta history keeps of a snapshot
 * in `parts/`).
 *
 * @example
 * const kind: KeyKind = parseKey(key)?.kind ?? 'latest'
 */
export type KeyKind = 'latest' | 'manifest' | 'history' | 'foreignHistory' | 'part'

/**
 * A parsed key: its prefix (`''` or `a/b`), what it is, where it lives, and the history id.
 *
 * @example
 * const parsed: ParsedKey = { prefix: '', kind: 'latest', location: { sessionId: 's1', scope: 'agent', scopeId: 'a' } }
 */
export interface ParsedKey {
  prefix: string
  kind: KeyKind
  location: SnapshotLocation
  /** The history id (`history`, `foreignHistory` and `part` only). */
  snapshotId?: string
}

/**
 * `a/` for a non-empty prefix, `''` otherwise: the one way a prefix is joined to what follows.
 *
 * @example
 * joinPrefix('prod') + 's1/' // 'prod/s1/'
 */
export function joinPrefix(prefix: string): string {
  return prefix ? `${prefix}/` : ''
}

/**
 * `[prefix/]<sessionId>/`: the folder of one session.
 *
 * @example
 * sessionPrefix('prod', 's1') // 'prod/s1/'
 */
export function sessionPrefix(prefix: string, sessionId: string): string {
  return `${joinPrefix(prefix)}${sessionId}/`
}

/**
 * The smallest key after every key inside `folder` (which ends in `/`): the folder with its
 * trailing `/` replaced by `0`, the next byte up. A listing from there skips the whole folder;
 * the keys of a folder `<name>.x/` or `<name>-x/` sort before it (`.` and `-` are below `/`).
 *
 * @example
 * afterFolder('prod/s1/') // 'prod/s10': after 'prod/s1/…', before 'prod/s10/…'
 */
export function afterFolder(folder: string): string {
  return `${folder.slice(0, -1)}0`
}

/**
 * `…/snapshots/`, the folder of one location.
 *
 * @example
 * scopeFolder('', { sessionId: 's1', scope: 'agent', scopeId: 'a' }) // 's1/scopes/agent/a/snapshots/'
 */
export function scopeFolder(prefix: string, l: SnapshotLocation): string {
  return `${sessionPrefix(prefix, l.sessionId)}scopes/${l.scope}/${l.scopeId}/snapshots/`
}

/**
 * The key of a location's `snapshot_latest.json`.
 *
 * @example
 * latestKey('p', { sessionId: 's1', scope: 'agent', scopeId: 'a' }) // 'p/s1/scopes/agent/a/snapshots/snapshot_latest.json'
 */
export function latestKey(prefix: string, l: SnapshotLocation): string {
  return scopeFolder(prefix, l) + LATEST_FILE
}

/**
 * The key of a location's `manifest.json`.
 *
 * @example
 * manifestKey('', { sessionId: 's1', scope: 'agent', scopeId: 'a' }) // 's1/scopes/agent/a/snapshots/manifest.json'
 */
export function manifestKey(prefix: string, l: SnapshotLocation): string {
  return scopeFolder(prefix, l) + MANIFEST_FILE
}

/**
 * The folder that holds the write-once history of one location.
 *
 * @example
 * historyFolder('', { sessionId: 's1', scope: 'agent', scopeId: 'a' }) // 's1/scopes/agent/a/snapshots/immutable_history/'
 */
export function historyFolder(prefix: string, l: SnapshotLocation): string {
  return `${scopeFolder(prefix, l)}${HISTORY_DIR}/`
}

/**
 * The key of one history snapshot.
 *
 * @example
 * historyKey('', { sessionId: 's1', scope: 'agent', scopeId: 'a' }, newSnapshotId()) // 's1/…/immutable_history/snapshot_<id>.json'
 */
export function historyKey(prefix: string, l: SnapshotLocation, snapshotId: string): string {
  return `${historyFolder(prefix, l)}snapshot_${snapshotId}.json`
}

/**
 * The folder of a location's parts (delta history's kept and whole copies), with a trailing `/`.
 *
 * @example
 * partsFolder('', { sessionId: 's1', scope: 'agent', scopeId: 'a' }) // 's1/scopes/agent/a/snapshots/parts/'
 */
export function partsFolder(prefix: string, l: SnapshotLocation): string {
  return `${scopeFolder(prefix, l)}${PARTS_DIR}/`
}

/**
 * The key of history id `snapshotId`'s part.
 *
 * @example
 * partKey('', location, id) // 's1/scopes/agent/a/snapshots/parts/snapshot_<id>.json'
 */
export function partKey(prefix: string, l: SnapshotLocation, snapshotId: string): string {
  return `${partsFolder(prefix, l)}snapshot_${snapshotId}.json`
}

/**
 * Parses a key of the layout, with or without a store prefix in front: the layout has a fixed
 * depth, so it is read from the end and whatever precedes it is the prefix. Every id is
 * validated, so a parsed key is exactly what the builders above produce for it. Anything else
 * (a stray file, a subfolder of `immutable_history/`, an outbox entry) is `undefined`.
 *
 * @example
 * parseKey('p/s1/scopes/agent/a/snapshots/snapshot_latest.json')
 * // { prefix: 'p', kind: 'latest', location: { sessionId: 's1', scope: 'agent', scopeId: 'a' } }
 */
export function parseKey(key: string): ParsedKey | undefined {
  if (typeof key !== 'string') return undefined
  const parts = key.split('/')
  const file = parts.at(-1)!
  const dir = parts.at(-2)
  const inHistory = dir === HISTORY_DIR || dir === PARTS_DIR
  // `<sessionId> scopes <scope> <scopeId> snapshots [immutable_history] <file>`
  const at = parts.length - (inHistory ? 7 : 6)
  if (at < 0 || parts[at + 1] !== 'scopes' || parts[at + 4] !== 'snapshots') return undefined
  const [sessionId, , scope, scopeId] = parts.slice(at) as [string, string, string, string]
  if (![sessionId, scope, scopeId].every(isId)) return undefined
  const prefix = parts.slice(0, at).join('/')
  if (prefix && !prefix.split('/').every(isId)) return undefined
  const location = { sessionId, scope, scopeId }
  if (!inHistory) {
    const kind = file === LATEST_FILE ? 'latest' : file === MANIFEST_FILE ? 'manifest' : undefined
    return kind && { prefix, kind, location }
  }
  const id = HISTORY_FILE.exec(file)?.[1]
  if (id === undefined) return undefined
  if (isSnapshotId(id)) return { prefix, kind: dir === PARTS_DIR ? 'part' : 'history', location, snapshotId: id }
  if (dir === PARTS_DIR) return undefined
  // Strands' own ids (`^[a-z0-9_-]+$`, up to 128): readable names, never a path.
  return /^[\w-]{1,128}$/.test(id) ? { prefix, kind: 'foreignHistory', location, snapshotId: id } : undefined
}

/**
 * Whether `rest`, a key relative to a session folder (`[prefix/]<sessionId>/`), is a layout key
 * of another store nested deeper inside that folder: read from the end like `parseKey`, its
 * `scopes` marker stands after the first segment (this session's own keys start with `scopes/`).
 * Cheaper than `parseKey` (no id checks), which it agrees with on every layout key; anything else
 * (a stray file) is not nested.
 *
 * @example
 * nestedLayoutKey('a/scopes/agent/x/snapshots/snapshot_latest.json') // true: session a of store <…>/tenantB
 * nestedLayoutKey('scopes/agent/x/snapshots/snapshot_latest.json') // false: this session's own
 */
export function nestedLayoutKey(rest: string): boolean {
  const parts = rest.split('/')
  const at = parts.length - (parts.at(-2) === HISTORY_DIR || parts.at(-2) === PARTS_DIR ? 6 : 5)
  return at > 0 && parts[at] === 'scopes' && parts[at + 3] === 'snapshots'
}

/**
 * The UUIDv7 of a history key, or `undefined` for any other key.
 *
 * @example
 * historyIdOf(historyKey('', location, id)) === id // true
 */
export function historyIdOf(key: string): string | undefined {
  const parsed = parseKey(key)
  return parsed?.kind === 'history' ? parsed.snapshotId : undefined
}

/**
 * The UUIDv7 of a key listed under `folder` (a `historyFolder`) when it is exactly a history
 * object of that folder, else `undefined` (stray files, anything in a subfolder, Strands'
 * numeric ids). The listing's own fast path: the folder is known, so only the name is checked.
 *
 * @example
 * historyIdIn(folder, `${folder}sub/snapshot_${id}.json`) // undefined
 */
export function historyIdIn(folder: string, key: string): string | undefined {
  const id = key.startsWith(folder) ? HISTORY_FILE.exec(key.slice(folder.length))?.[1] : undefined
  return isSnapshotId(id) ? id : undefined
}

/**
 * The session a key relative to a store prefix belongs to: its first segment. For keys a store
 * built (or `parseKey` accepted), and for a bare session id.
 *
 * @example
 * sessionOfRelative('s1/scopes/agent/a/snapshots/manifest.json') // 's1'
 */
export function sessionOfRelative(rel: string): string {
  return rel.split('/', 1)[0]!
}

/**
 * The session a listing prefix or cursor (relative to a store prefix) is confined to. It must be
 * the beginning of a layout key of that one session — `<sessionId>/scopes/<scope>/<scopeId>/
 * snapshots/…`, the last segment possibly partial — so it can match no key outside the session's
 * snapshots (a prefix like `<sessionId>/other/` would reach keys another writer, e.g. a framework
 * adapter, keeps under a folder of that name). Throws `ValidationError` naming `field` otherwise.
 *
 * @example
 * sessionOfListing('prefix', 's1/scopes/agent/') // 's1'
 */
export function sessionOfListing(field: string, value: string): string {
  const parts = value.split('/')
  const refuse = (): never => {
    throw new ValidationError(field, 'must be the start of a snapshot key: <sessionId>/scopes/<scope>/<scopeId>/snapshots/…')
  }
  // `<sessionId>` must be whole (followed by `/`); the layout has 7 segments at most.
  if (parts.length < 2 || parts.length > 7) refuse()
  const last = parts.length - 1
  parts.forEach((part, i) => {
    // What each position may hold: a literal folder name, an id, or (5 and 6) a file name.
    const words =
      i === 1
        ? ['scopes']
        : i === 4
          ? ['snapshots']
          : i === 5
            ? i === last
              ? [LATEST_FILE, MANIFEST_FILE, HISTORY_DIR, PARTS_DIR]
              : [HISTORY_DIR, PARTS_DIR]
            : undefined
    const ok = words ? words.some((w) => (i === last ? w.startsWith(part) : w === part)) : (i === last && !part) || isId(part)
    if (!ok) refuse()
  })
  return parts[0]!
}

/** Where a deleted history id's tombstone lives, beside (never inside) `immutable_history/`. */
const TOMBSTONE_DIR = 'tombstones'

/**
 * The key of the tombstone a tiered store leaves on its remote when it deletes history id
 * `snapshotId`: `…/snapshots/tombstones/snapshot_<id>.json`, holding when the delete was issued.
 * A device whose create of that id was answered too late (lost, then retried) finds it and does
 * not push the snapshot back. Outside `immutable_history/`, so never listed as a snapshot, and
 * inside the session's folder, so erased with it.
 *
 * @example
 * tombstoneKey('', { sessionId: 's1', scope: 'agent', scopeId: 'a' }, id) // 's1/scopes/agent/a/snapshots/tombstones/snapshot_<id>.json'
 */
export function tombstoneKey(prefix: string, l: SnapshotLocation, snapshotId: string): string {
  return `${scopeFolder(prefix, l)}${TOMBSTONE_DIR}/snapshot_${snapshotId}.json`
}

/**
 * Parses a tombstone key (see `tombstoneKey`), with or without a store prefix: its prefix,
 * location and history id, every id validated; `undefined` for any other key.
 *
 * @example
 * tombstoneOf(tombstoneKey('', location, id))?.snapshotId === id // true
 */
export function tombstoneOf(key: string): { prefix: string; location: SnapshotLocation; snapshotId: string } | undefined {
  if (typeof key !== 'string') return undefined
  const parts = key.split('/')
  if (parts.at(-2) !== TOMBSTONE_DIR) return undefined
  // Read as the history key it stands for: the same depth, the same checks.
  const parsed = parseKey([...parts.slice(0, -2), HISTORY_DIR, parts.at(-1)].join('/'))
  return parsed?.kind === 'history' ? { prefix: parsed.prefix, location: parsed.location, snapshotId: parsed.snapshotId! } : undefined
}

/**
 * Where, in a session's folder, a tiered store records that it deleted the session: beside the
 * scope folders under `scopes/` (which only the layout uses), so no adapter's key and no id takes it.
 */
const SESSION_TOMBSTONE = 'scopes/tombstone.json'

/**
 * The key of the tombstone a tiered store leaves on its remote when it deletes a whole session:
 * `[prefix/]<sessionId>/scopes/tombstone.json`, holding when the deletion was issued. A device
 * whose create into that session was issued earlier (pushed late, or answered too late) does not
 * push it back. Never part of a location, and erased with the session.
 *
 * @example
 * sessionTombstoneKey('', 's1') // 's1/scopes/tombstone.json'
 */
export function sessionTombstoneKey(prefix: string, sessionId: string): string {
  return `${sessionPrefix(prefix, sessionId)}${SESSION_TOMBSTONE}`
}

/**
 * The session whose tombstone `key` is (no store prefix: keys as a handler receives them), or
 * `undefined` for any other key.
 *
 * @example
 * sessionTombstoneOf('s1/scopes/tombstone.json') // 's1'
 */
export function sessionTombstoneOf(key: string): string | undefined {
  const slash = typeof key === 'string' ? key.indexOf('/') : -1
  const sessionId = key.slice(0, slash)
  return slash > 0 && key.slice(slash + 1) === SESSION_TOMBSTONE && isId(sessionId) ? sessionId : undefined
}

/**
 * Whether `rest`, a key relative to a session folder (`[prefix/]<sessionId>/`), has the shape of
 * one of that session's own keys: a latest, manifest, history object or history tombstone
 * (`scopes/<scope>/<scopeId>/snapshots/…`, the two named folders one deep) or the session's
 * tombstone. By shape only, like `nestedLayoutKey` (cheap; the session is known): no adapter's key
 * has it (LangGraph's encoded segments never hold a bare `_`, Genkit's keys are four deep).
 *
 * @example
 * sessionLayoutKey('scopes/agent/a/snapshots/snapshot_latest.json') // true
 * sessionLayoutKey('scopes/_/checkpoints/0f.json') // false: a LangGraph thread called `scopes`
 */
export function sessionLayoutKey(rest: string): boolean {
  return /^scopes\/(tombstone|[^/]+\/[^/]+\/snapshots\/(snapshot_latest|manifest|(immutable_history|tombstones|parts)\/snapshot_[^/]+))\.json$/.test(
    rest,
  )
}

/**
 * The folders the shipped adapters keep beside the snapshot layout under a storage prefix:
 * LangGraph's threads, Genkit's snapshots and sessions, Strands' `SessionManager` sessions and its
 * stash. A session with one of these names shares its folder with an adapter, so erasing it erases
 * only its own layout keys (`isSessionKey`), never the adapter's.
 */
export const ADAPTER_FOLDERS = /^(langgraph|genkit|session|context)$/
