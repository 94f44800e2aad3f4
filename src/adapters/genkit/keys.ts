import { isId } from '../../core/ids.js'

/**
 * The Genkit adapter's key layout, built and parsed here (core/keys.ts style), under its own
 * folder of the storage prefix, apart from the Strands snapshot layout:
 * ```
 * [prefix/]genkit/<namespace>/snapshots/<snapshotId>.json   one snapshot (compare-and-swap)
 * [prefix/]genkit/<namespace>/sessions/<sessionId>.json     a session's lineage index (compare-and-swap)
 * ```
 * `<namespace>` is `global` unless the store's `namespace` option derives one from the call's
 * `options.context` (a tenant, as Genkit's file store's `snapshotPathPrefix` does). Snapshots are
 * addressed by id alone, as Genkit's `getSnapshot({ snapshotId })` is; the session index is what
 * makes `getSnapshot({ sessionId })` two requests. Every id is one of core's ids (`isId`), so no
 * key can escape its folder. Builders take validated ids and only assemble strings.
 */

/** The adapter's folder under the storage prefix. */
export const GENKIT_FOLDER = 'genkit'
/** The namespace of a store without a `namespace` option (Genkit's file store's default folder name). */
export const DEFAULT_NAMESPACE = 'global'

/**
 * The key of one Genkit snapshot.
 *
 * @example
 * genkitSnapshotKey('prod/', 'global', 'b9c7…') // 'prod/genkit/global/snapshots/b9c7….json'
 */
export function genkitSnapshotKey(root: string, namespace: string, snapshotId: string): string {
  return `${root}${GENKIT_FOLDER}/${namespace}/snapshots/${snapshotId}.json`
}

/**
 * The key of one session's lineage index.
 *
 * @example
 * genkitSessionKey('', 'global', 'chat-1') // 'genkit/global/sessions/chat-1.json'
 */
export function genkitSessionKey(root: string, namespace: string, sessionId: string): string {
  return `${root}${GENKIT_FOLDER}/${namespace}/sessions/${sessionId}.json`
}

/**
 * What a Genkit key is, read from a key relative to the storage root: `snapshot` or `session`
 * with its namespace and id, or `undefined` for any other key. The inverse of the builders.
 *
 * @example
 * parseGenkitKey('genkit/global/sessions/chat-1.json') // { kind: 'session', namespace: 'global', id: 'chat-1' }
 */
export function parseGenkitKey(rel: string): { kind: 'snapshot' | 'session'; namespace: string; id: string } | undefined {
  const parts = rel.split('/')
  if (parts.length !== 4 || parts[0] !== GENKIT_FOLDER) return undefined
  const [, namespace, folder, file] = parts as [string, string, string, string]
  const kind = folder === 'snapshots' ? 'snapshot' : folder === 'sessions' ? 'session' : undefined
  const id = file.endsWith('.json') ? file.slice(0, -'.json'.length) : ''
  return kind && isId(namespace) && isId(id) ? { kind, namespace, id } : undefined
}
