import type { Backend, BackendCallOptions, BackendEntry } from './backend.js'
import { PAGE_SIZE } from './util.js'

/**
 * Walking and erasing everything under a prefix, page by page, written once for the snapshot
 * layer (`deleteSession`) and the tiered sync. Internal: not exported from any entry. Plain
 * page loops over arrays rather than an async generator: smaller in every entry's bundle.
 */

/**
 * Every entry under `prefix`, ascending (strictly after `startAfter` when given), listed one page
 * (at most `PAGE_SIZE`, the largest page any of our backends lists) at a time.
 *
 * @example
 * const keys = (await listAll(backend, 's1/')).map((e) => e.key)
 */
export async function listAll(backend: Backend, prefix: string, options: BackendCallOptions & { startAfter?: string } = {}): Promise<BackendEntry[]> {
  const all: BackendEntry[] = []
  let startAfter = options.startAfter
  for (;;) {
    const page = await backend.list(prefix, { signal: options.signal, startAfter, limit: PAGE_SIZE })
    all.push(...page.entries)
    startAfter = page.entries.at(-1)?.key
    if (!page.truncated || startAfter === undefined) return all
  }
}

/**
 * Deletes every key under `prefix`, one listed page (at most `PAGE_SIZE`, S3 DeleteObjects' cap)
 * per batch. Deleting behind the listing cursor is safe: keys already passed are gone, keys
 * ahead are untouched. A key the backend could not delete rejects.
 *
 * @example
 * await deleteAll(backend, sessionPrefix(prefix, 's1'), { signal })
 */
export async function deleteAll(backend: Backend, prefix: string, options: BackendCallOptions = {}): Promise<void> {
  // Its own page loop, not listAll's: the snapshot layer ships this in every entry's bundle, where
  // listAll plus a batching pass measured 30 B more (min+gzip), and no key list is held in memory.
  let startAfter: string | undefined
  for (;;) {
    const page = await backend.list(prefix, { signal: options.signal, startAfter, limit: PAGE_SIZE })
    if (page.entries.length) await backend.delete(page.entries.map((e) => e.key), options)
    startAfter = page.entries.at(-1)?.key
    if (!page.truncated || startAfter === undefined) return
  }
}
