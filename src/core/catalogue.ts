import type { Backend, BackendCallOptions, BackendFolderPage, SessionQuery } from './backend.js'
import { RemoteError, ValidationError } from './errors.js'
import { isId } from './ids.js'
import { afterFolder, sessionLayoutKey } from './keys.js'
import { nextCursor } from './listing.js'
import { decodeMetadata } from './metadata.js'
import { chunks } from './util.js'
import type { DeleteSessionsOptions, DeleteSessionsProgress, SessionInfo, SessionPage, SnapshotStore } from './types.js'
import { checkSessionQuery } from './session-query.js'

/**
 * The session catalogue, written once for every tier: which sessions a store holds and when each
 * last changed, without reading a payload. Internal: reached through `listSessions` and
 * `deleteSessions` of the storages and through the HTTP handler's `/sessions`.
 *
 * Cost per page: one folder listing of the store prefix (S3 `delimiter=/`, R2 `delimiter`,
 * IndexedDB a key cursor that jumps past each session; `list` and a jump per page elsewhere), then
 * ONE listing per returned session of its `scopes/` folder (a few in parallel), from which the
 * session's time (the newest `lastModified` of its layout keys) and size are read. A location whose
 * history fills the page is not listed to its end: the listing jumps past `immutable_history/` to
 * the location's latest and manifest (which every commit rewrites), so a long history costs one
 * more request, not one per thousand snapshots; its size is then unknown (`storedBytes` absent).
 * Where that listing carries metadata (memory, R2, IndexedDB; HTTP and tiered over them), the
 * session's `metadata` is that of its most recently written latest, at no extra request; S3's
 * listing has none: `metadata: 'head'` reads it with one HEAD of that latest per session the page
 * returns (never one it filters out), in the same parallel batch.
 */

/**
 * One page of the catalogue of the store rooted at `root` (`''` or `'<prefix>/'`), listed on until
 * it holds `limit` sessions or the store ends, so a page is never empty while more follow. A
 * session is a folder whose name is an id (never `.snapshelf`) holding at least one key of the
 * snapshot layout: an adapter's folder (`langgraph/`) or a nested store's prefix counts only then.
 * `admit` (the HTTP handler's `authorize`) is asked once per candidate, before it is read. A
 * backend with its own `listSessions` is not walked here: the storages ask it directly.
 *
 * @example
 * const { items, nextStartAfter } = await catalogue(backend, 'prod/', { limit: 100 })
 */
export async function catalogue(
  backend: Backend,
  root: string,
  query: SessionQuery & BackendCallOptions,
  admit: (sessionId: string) => boolean | Promise<boolean> = () => true,
): Promise<SessionPage> {
  const { limit, updatedBefore, signal } = query
  const items: SessionInfo[] = []
  let startAfter = query.startAfter
  for (;;) {
    const page = await listFolders(backend, root, {
      startAfter: startAfter && afterFolder(`${root}${startAfter}/`),
      limit: limit - items.length,
      signal,
    })
    const names = page.folders.map((folder) => folder.slice(root.length, -1))
    // A few sessions at a time: enough to hide latency, few enough for a browser's connection pool.
    for (const batch of chunks(names, 8)) {
      const found = await Promise.all(
        batch.map(async (name) => {
          if (!isId(name) || !(await admit(name))) return undefined
          const dated = await dateSession(backend, root, name, signal)
          if (!dated) return undefined
          const { info, unlisted } = dated
          if (updatedBefore !== undefined && !(info.updatedAt && info.updatedAt.getTime() < updatedBefore)) return undefined
          if (unlisted && query.metadata === 'head') {
            // Deleted since it was listed: the session simply shows no metadata.
            const metadata = decodeMetadata((await backend.head(unlisted, { signal }))?.metadata)
            if (metadata) info.metadata = metadata
          }
          return info
        }),
      )
      for (const info of found) if (info) items.push(info)
    }
    if (!page.truncated) return { items }
    const last = names.at(-1)
    if (last === undefined) throw new RemoteError(`listing the folders of ${root || 'the store'} did not advance`, { key: root })
    startAfter = last
    if (items.length >= limit) return { items, nextStartAfter: items.at(-1)!.sessionId }
  }
}

/**
 * The folders right under `root`: the backend's own delimiter listing, or a walk of `list` that
 * jumps past the folder its page ended in (one request per page, each finding a folder or more).
 */
async function listFolders(
  backend: Backend,
  root: string,
  options: BackendCallOptions & { startAfter?: string; limit: number },
): Promise<BackendFolderPage> {
  if (backend.listFolders) return backend.listFolders(root, options)
  const folders: string[] = []
  let startAfter = options.startAfter
  for (;;) {
    const page = await backend.list(root, { startAfter, signal: options.signal })
    for (const { key } of page.entries) {
      const slash = key.indexOf('/', root.length)
      const folder = key.slice(0, slash + 1)
      // A file right under the root (no slash, or an empty name) is no folder.
      if (slash > root.length && folder !== folders.at(-1)) folders.push(folder)
    }
    const more = page.truncated
    if (folders.length >= options.limit || !more)
      return { folders: folders.slice(0, options.limit), truncated: more || folders.length > options.limit }
    startAfter = nextCursor(startAfter, page, root)!
    const slash = startAfter.indexOf('/', root.length)
    if (slash > root.length) startAfter = afterFolder(startAfter.slice(0, slash + 1))
  }
}

/**
 * When session `sessionId` last changed and what it stores, from one listing of its `scopes/`
 * folder (more only past a full page); `undefined` when it holds no key of the snapshot layout.
 * `unlisted`: the key of its newest latest, when the listing carried no metadata to read from it.
 */
async function dateSession(
  backend: Backend,
  root: string,
  sessionId: string,
  signal?: AbortSignal,
): Promise<{ info: SessionInfo; unlisted?: string } | undefined> {
  const folder = `${root}${sessionId}/`
  const scopes = `${folder}scopes/`
  let newest: number | undefined
  let bytes: number | undefined = 0
  let layout = false
  /** The most recently written latest of the session's locations (its metadata, where listed). */
  let latest: { at: number; key: string; metadata?: Record<string, string> } | undefined
  let listed = true
  let startAfter: string | undefined
  for (;;) {
    const page = await backend.list(scopes, { startAfter, signal })
    if (!page.metadataListed) listed = false
    for (const e of page.entries) {
      const rest = e.key.slice(folder.length)
      // Only this session's own layout keys: never a nested store's, nor an adapter's file.
      if (!sessionLayoutKey(rest)) continue
      // Tombstones date a session but do not make one: a session a tiered store deleted keeps
      // its tombstone on the remote, and is gone from the catalogue.
      if (rest !== 'scopes/tombstone.json' && !rest.includes('/snapshots/tombstones/')) layout = true
      if (bytes !== undefined) bytes += e.size
      if (e.lastModified !== undefined && (newest === undefined || e.lastModified > newest)) newest = e.lastModified
      if (rest.endsWith('/snapshots/snapshot_latest.json')) {
        const at = e.lastModified ?? -Infinity
        if (!latest || at >= latest.at) latest = { at, key: e.key, metadata: e.metadata }
      }
    }
    startAfter = nextCursor(startAfter, page, scopes)
    if (!page.truncated) break
    // Mid-history: jump to the location's latest and manifest (they sort after it).
    const at = startAfter!.indexOf('/immutable_history/', scopes.length)
    if (at > 0) {
      startAfter = afterFolder(startAfter!.slice(0, at + 19))
      bytes = undefined
    }
  }
  if (!layout) return undefined
  const info: SessionInfo = { sessionId, updatedAt: newest === undefined ? null : new Date(newest) }
  if (bytes !== undefined) info.storedBytes = bytes
  if (!listed) return { info, unlisted: latest?.key }
  const metadata = decodeMetadata(latest?.metadata)
  if (metadata) info.metadata = metadata
  return { info }
}

/**
 * `listSessions` of the store rooted at `root` in `backend`: the tier's own catalogue where it
 * answers one (HTTP: its handler; tiered: the local tier), else the walk above; newest first for
 * `order: 'recent'`.
 *
 * @example
 * const { items } = await sessionsOf(backend, 'prod/', { limit: 20, order: 'recent' })
 */
export function sessionsOf(backend: Backend, root: string, query: SessionQuery & BackendCallOptions): Promise<SessionPage> {
  const pageOf = (q: SessionQuery & BackendCallOptions) =>
    backend.listSessions ? backend.listSessions(root, q) : catalogue(backend, root, q)
  return query.order === 'recent' ? newestFirst(pageOf, query) : pageOf(query)
}

/**
 * `listSessions({ order: 'recent' })`: the `limit` most recently updated sessions of the whole
 * catalogue, newest first (unknown times last, then key order), from pages of `pageOf` in key
 * order (the most a tier answers in one page). Only `limit` sessions are held at a time.
 *
 * @example
 * const { items } = await newestFirst((q) => catalogue(backend, '', q), { limit: 20, order: 'recent' })
 */
export async function newestFirst(
  pageOf: (query: SessionQuery & BackendCallOptions) => Promise<SessionPage>,
  query: SessionQuery & BackendCallOptions,
): Promise<SessionPage> {
  const { order: _, ...keyOrder } = query
  const time = (s: SessionInfo) => s.updatedAt?.getTime() ?? -Infinity
  let kept: SessionInfo[] = []
  let startAfter: string | undefined
  do {
    const page = await pageOf({ ...keyOrder, startAfter, limit: 1000 })
    // Stable sort: equal times stay in key order.
    kept = [...kept, ...page.items].sort((a, b) => time(b) - time(a)).slice(0, query.limit)
    startAfter = page.nextStartAfter
  } while (startAfter)
  return { items: kept }
}

/**
 * Retention, for `deleteSessions` of the storages (loaded on first use): deletes every session of
 * `store` last changed before `updatedBefore` (its `deleteSession`: every key of the session, in
 * every scope), walking `listSessions` page by page, and calls `onProgress` after each. Abort with
 * `signal`; a second call finishes the job: what was deleted is gone, and the rest is found again
 * (a session changed since no longer matches). A session whose time is unknown is never deleted.
 * Bad options are `ERR_VALIDATION` before any I/O.
 *
 * @example
 * const { deleted } = await deleteSessionsOf(storage, { updatedBefore: new Date(Date.now() - 90 * 86_400_000) })
 */
export async function deleteSessionsOf(
  store: Pick<SnapshotStore<unknown>, 'listSessions' | 'deleteSession'>,
  p: DeleteSessionsOptions,
): Promise<DeleteSessionsProgress> {
  if (p?.updatedBefore === undefined) throw new ValidationError('updatedBefore', 'is required')
  const { updatedBefore } = checkSessionQuery(p)
  if (p.onProgress !== undefined && typeof p.onProgress !== 'function') throw new ValidationError('onProgress', 'must be a function')
  const progress = { deleted: 0, scanned: 0 }
  let startAfter: string | undefined
  do {
    // Unfiltered pages, filtered here: `scanned` counts every session looked at.
    const page = await store.listSessions({ startAfter, limit: 100, signal: p.signal })
    progress.scanned += page.items.length
    for (const { sessionId, updatedAt } of page.items) {
      if (updatedAt === null || updatedAt.getTime() >= updatedBefore!) continue
      await store.deleteSession({ sessionId, signal: p.signal })
      progress.deleted++
      p.onProgress?.({ ...progress })
    }
    p.onProgress?.({ ...progress })
    startAfter = page.nextStartAfter
  } while (startAfter)
  return progress
}
