import type { Backend, BackendCallOptions, BackendEntry } from './backend.js'
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
    startAfter = page.entries.at(-1)?.key
    if (!page.truncated || startAfter === undefined) return
  }
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
