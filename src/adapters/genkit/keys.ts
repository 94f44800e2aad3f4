import { isId } from '../../core/ids.js'

/**
 * The Genkit adapter's key layout, built and parsed here (core/keys.ts style), under its own
 * folder of the storage prefix, apart from the Strands snapshot layout:
 * ```
 * [prefix/]genkit/<namespace>/snapshots/<snapshotId>.json   one snapshot (compare-and-swap)
 * [prefix/]genkit/<namespace>/sessions/<sessionId>.json     a session's lineage summary (compare-and-swap; a cache)
 * [prefix/]genkit/<namespace>/sessions/<sessionId>/<snapshotId>~<rev>~in.json    a snapshot joined the session, or changed its parent, createdAt or status there (create-only)
 * [prefix/]genkit/<namespace>/sessions/<sessionId>/<snapshotId>~<rev>~out.json   a snapshot left it (create-only)
 * ```
 * `<namespace>` is `global` unless the store's `namespace` option derives one from the call's
 * `options.context` (a tenant, as Genkit's file store's `snapshotPathPrefix` does). Snapshots are
 * addressed by id alone, as Genkit's `getSnapshot({ snapshotId })` is; a session's lineage folder
 * and summary, read together, are what make `getSnapshot({ sessionId })` three requests (then the
 * leaf). The lineage entries are create-only, so Tiered sync unions them where it reconciles the
 * summary winner-takes-all: a summary that disagrees with them is rebuilt from them. `<rev>` is the
 * snapshot's revision at that write (an integer from 1); no core id holds a `~`, so the file name
 * parses back unambiguously. Every id is one of core's ids (`isId`), so no
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
 * The folder of one session's lineage entries (what a reader lists).
 *
 * @example
 * genkitLineagePrefix('', 'global', 'chat-1') // 'genkit/global/sessions/chat-1/'
 */
export function genkitLineagePrefix(root: string, namespace: string, sessionId: string): string {
  return `${root}${GENKIT_FOLDER}/${namespace}/sessions/${sessionId}/`
}

/**
 * The key of one lineage entry: snapshot `snapshotId` joined (`in`) or left (`out`) session
 * `sessionId` at its revision `rev` (an integer from 1).
 *
 * @example
 * genkitLineageKey('', 'global', 'chat-1', 'b9c7…', 2, 'in') // 'genkit/global/sessions/chat-1/b9c7…~2~in.json'
 */
export function genkitLineageKey(
  root: string,
  namespace: string,
  sessionId: string,
  snapshotId: string,
  rev: number,
  change: 'in' | 'out',
): string {
  return `${genkitLineagePrefix(root, namespace, sessionId)}${snapshotId}~${rev}~${change}.json`
}

/**
 * A lineage entry's file name (`<snapshotId>~<rev>~in|out.json`, what a listing of
 * `genkitLineagePrefix` yields after the prefix) read, or `undefined`: `parseGenkitKey`'s own rule
 * for that part, for a reader that lists one session's folder.
 *
 * @example
 * parseLineageFile('b9c7~2~out.json') // { snapshotId: 'b9c7', rev: 2, change: 'out' }
 */
export function parseLineageFile(file: string): { snapshotId: string; rev: number; change: 'in' | 'out' } | undefined {
  const m = /^([^~]+)~([1-9][0-9]{0,14})~(in|out)\.json$/.exec(file)
  return m && isId(m[1]) ? { snapshotId: m[1], rev: Number(m[2]), change: m[3] as 'in' | 'out' } : undefined
}

/**
 * What `parseGenkitKey` reads from a key: its kind and namespace (what authorizes it), and the id
 * of its snapshot or session; a lineage entry also names its snapshot, revision and change.
 *
 * @example
 * const key: GenkitKey = { kind: 'lineage', namespace: 'global', id: 'chat-1', snapshotId: 'b9c7', rev: 2, change: 'out' }
 */
export type GenkitKey =
  | { kind: 'snapshot' | 'session'; namespace: string; id: string }
  | { kind: 'lineage'; namespace: string; id: string; snapshotId: string; rev: number; change: 'in' | 'out' }

/**
 * What a Genkit key is, read from a key relative to the storage root: `snapshot` or `session`
 * with its namespace and id, `lineage` with its namespace, session (`id`), snapshot, revision and
 * change, or `undefined` for any other key. The inverse of the builders; a pure function of the key.
 *
 * @example
 * parseGenkitKey('genkit/global/sessions/chat-1.json') // { kind: 'session', namespace: 'global', id: 'chat-1' }
 * parseGenkitKey('genkit/global/sessions/chat-1/b9c7~2~in.json') // { kind: 'lineage', namespace: 'global', id: 'chat-1', snapshotId: 'b9c7', rev: 2, change: 'in' }
 */
export function parseGenkitKey(rel: string): GenkitKey | undefined {
  const parts = rel.split('/')
  if (parts.length === 5 && parts[0] === GENKIT_FOLDER && parts[2] === 'sessions') {
    const [, namespace, , sessionId, file] = parts as [string, string, string, string, string]
    const entry = parseLineageFile(file)
    return entry && isId(namespace) && isId(sessionId) ? { kind: 'lineage', namespace, id: sessionId, ...entry } : undefined
  }
  if (parts.length !== 4 || parts[0] !== GENKIT_FOLDER) return undefined
  const [, namespace, folder, file] = parts as [string, string, string, string]
  const kind = folder === 'snapshots' ? 'snapshot' : folder === 'sessions' ? 'session' : undefined
  const id = file.endsWith('.json') ? file.slice(0, -'.json'.length) : ''
  return kind && isId(namespace) && isId(id) ? { kind, namespace, id } : undefined
}
