import type { SnapshotLocation } from './types.js'

/**
 * The Strands key layout, identical on every tier so sync maps key to key:
 * ```
 * [prefix/]<sessionId>/scopes/<scope>/<scopeId>/snapshots/snapshot_latest.json
 * [prefix/]<sessionId>/scopes/<scope>/<scopeId>/snapshots/manifest.json
 * [prefix/]<sessionId>/scopes/<scope>/<scopeId>/snapshots/immutable_history/snapshot_<uuid7>.json
 * ```
 * Callers validate ids first (ids.ts); these functions only assemble strings.
 */
const HISTORY_FILE = /^snapshot_([0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})\.json$/

/** @internal `[prefix/]<sessionId>/`: everything `deleteSession` removes. */
export function sessionPrefix(prefix: string, sessionId: string): string {
  return `${prefix ? prefix + '/' : ''}${sessionId}/`
}

/** @internal `…/snapshots/`, the folder of one location. */
export function scopeFolder(prefix: string, l: SnapshotLocation): string {
  return `${sessionPrefix(prefix, l.sessionId)}scopes/${l.scope}/${l.scopeId}/snapshots/`
}

/** @internal */
export function latestKey(prefix: string, l: SnapshotLocation): string {
  return scopeFolder(prefix, l) + 'snapshot_latest.json'
}

/** @internal */
export function manifestKey(prefix: string, l: SnapshotLocation): string {
  return scopeFolder(prefix, l) + 'manifest.json'
}

/** @internal The folder that holds the write-once history of one location. */
export function historyFolder(prefix: string, l: SnapshotLocation): string {
  return scopeFolder(prefix, l) + 'immutable_history/'
}

/** @internal */
export function historyKey(prefix: string, l: SnapshotLocation, snapshotId: string): string {
  return `${historyFolder(prefix, l)}snapshot_${snapshotId}.json`
}

/**
 * @internal The snapshot id of a history key, or `undefined` for any other object (legacy
 * numeric Strands ids, stray files), which listings skip.
 */
export function historyIdOf(key: string): string | undefined {
  return HISTORY_FILE.exec(key.slice(key.lastIndexOf('/') + 1))?.[1]
}
