import type { Backend, BackendCallOptions, BackendEntry, BackendListPage } from './backend.js'
import { RemoteError } from './errors.js'
import { parseKey } from './keys.js'
import { PAGE_SIZE } from './util.js'

/**
 * Walking and erasing everything under a prefix, page by page, written once for the snapshot
 * layer (`deleteSession`) and the tiered sync. Internal: not exported from any entry.
 */

/**
 * Every entry under `prefix`, ascending, strictly after `startAfter` when given, read one page
 * (the backend's `maxListPage`, else `PAGE_SIZE`) at a time: nothing is listed ahead of the
 * consumer, so a caller may delete what it was handed before asking for more.
 *
 * @example
 * for await (const entry of listAll(backend, 's1/')) console.log(entry.key, entry.size)
 */
export async function* listAll(
  backend: Backend,
  prefix: string,
  options: BackendCallOptions & { startAfter?: string } = {},
): AsyncGenerator<BackendEntry> {
  let startAfter = options.startAfter
  for (;;) {
    const page = await backend.list(prefix, { signal: options.signal, startAfter, limit: backend.maxListPage ?? PAGE_SIZE })
    yield* page.entries
    startAfter = nextCursor(startAfter, page, prefix)
    if (!page.truncated) return
  }
}

/**
 * The listing cursor after `page`. A truncated page that does not move past the previous cursor
 * (a server repeating a page, or answering "more" with nothing) would make every walk loop
 * forever: it is a `RemoteError` instead.
 *
 * @example
 * cursor = nextCursor(cursor, page, prefix)
 * if (!page.truncated) return
 */
export function nextCursor(previous: string | undefined, page: BackendListPage, prefix: string): string | undefined {
  const last = page.entries.at(-1)?.key
  // Identity, not `<=`: S3 and R2 list in UTF-8 byte order, which JavaScript's UTF-16 string
  // order disagrees with (an astral key sorts before U+E000 in one, after it in the other).
  if (page.truncated && (last === undefined || last === previous)) {
    throw new RemoteError(`listing ${prefix} did not advance past ${previous ?? 'its start'}`, { key: prefix })
  }
  return last
}

/**
 * Deletes every key under `prefix` in batches of at most `PAGE_SIZE` (S3 DeleteObjects' cap),
 * following the listing to its end. Deleting behind the listing cursor is safe: keys already
 * passed are gone, keys ahead are untouched. A key the backend could not delete rejects.
 *
 * @example
 * await deleteAll(backend, sessionPrefix(prefix, 's1'), { signal })
 */
export async function deleteAll(backend: Backend, prefix: string, options: BackendCallOptions = {}): Promise<void> {
  const batch: string[] = []
  for await (const entry of listAll(backend, prefix, options)) {
    batch.push(entry.key)
    if (batch.length === PAGE_SIZE) await backend.delete(batch.splice(0), options)
  }
  if (batch.length) await backend.delete(batch, options)
}

/**
 * Erases one session of the store rooted at `root` (`''` or `'<prefix>/'`): every key under
 * `<root><sessionId>/`, except what belongs to another store nested inside that folder. A store
 * with prefix `prod/tenantB` keeps its keys under `prod/tenantB/`, which is also where session
 * `tenantB` of a store with prefix `prod` lives; the layout is read from the end (`parseKey`), so
 * a key that parses with a longer prefix than this store's is that nested store's, and so is
 * anything in a `.`-folder right under the session (no id starts with a dot: a nested store's
 * `.snapshelf/` state). Strands' own keys and stray files of the session are erased.
 *
 * @example
 * await deleteSessionKeys(backend, 'prod/', 'tenantB', { signal })
 */
export async function deleteSessionKeys(
  backend: Backend,
  root: string,
  sessionId: string,
  options: BackendCallOptions = {},
): Promise<void> {
  const folder = `${root}${sessionId}/`
  const ours = root.slice(0, -1)
  const nested = (key: string): boolean => {
    if (key[folder.length] === '.') return true
    const parsed = parseKey(key)
    return parsed !== undefined && parsed.prefix !== ours
  }
  const batch: string[] = []
  for await (const entry of listAll(backend, folder, options)) {
    if (nested(entry.key)) continue
    batch.push(entry.key)
    if (batch.length === PAGE_SIZE) await backend.delete(batch.splice(0), options)
  }
  if (batch.length) await backend.delete(batch, options)
}
