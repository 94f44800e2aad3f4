import type { BackendCallOptions, SessionQuery } from '../core/backend.js'
import { sessionsOf } from '../core/catalogue.js'
import { parseKey, scopeFolder } from '../core/keys.js'
import { nextCursor } from '../core/listing.js'
import type { SessionPage } from '../core/types.js'
import { type SyncContext, inPool, withRetries } from './context.js'
import type { Tiers } from './tiers.js'

/**
 * Discovery: what the remote holds that this device was never told about. `TieredStorage.discover`
 * pages the remote's session catalogue; `sync({ sessions })` adds the location folders of those
 * sessions to the run, so a new device pulls them like any folder it knows (history in full, then
 * latest and the manifest).
 */

/**
 * One page of the remote's session catalogue: the remote's own (`HttpBackend` asks its handler,
 * which answers only what `authorize` allows) or the core's walk of it.
 *
 * @example
 * const { items } = await remoteCatalogue(tiers, { limit: 100 })
 */
export function remoteCatalogue(tiers: Tiers, query: SessionQuery & BackendCallOptions): Promise<SessionPage> {
  return sessionsOf(tiers.remote, tiers.remoteRoot, query)
}

/**
 * The location folders (relative: `<sessionId>/scopes/<scope>/<scopeId>/snapshots/`) the remote
 * holds for `sessions`, or for every session of its catalogue (`'all'`): one listing of each
 * session's `scopes/` folder, which jumps past a long history (its first page names its location).
 *
 * @example
 * const folders = await remoteFolders(context, ['s1'])
 */
export async function remoteFolders(context: SyncContext, sessions: 'all' | readonly string[]): Promise<string[]> {
  const { remote, remoteRoot, signal } = context
  let ids = sessions as string[]
  if (sessions === 'all') {
    ids = []
    let startAfter: string | undefined
    do {
      const page = await withRetries(context, () => remoteCatalogue(context, { limit: 1000, startAfter, signal }))
      ids.push(...page.items.map((i) => i.sessionId))
      startAfter = page.nextStartAfter
    } while (startAfter)
  }
  const folders = new Set<string>()
  await inPool(context, ids, async (sessionId) => {
    const scopes = `${remoteRoot}${sessionId}/scopes/`
    let startAfter: string | undefined
    for (;;) {
      const page = await withRetries(context, () => remote.list(scopes, { startAfter, signal }))
      for (const { key } of page.entries) {
        const parsed = parseKey(key.slice(remoteRoot.length))
        if (parsed && !parsed.prefix && parsed.location.sessionId === sessionId) folders.add(scopeFolder('', parsed.location))
      }
      startAfter = nextCursor(startAfter, page, scopes)
      if (!page.truncated) break
      // Mid-history: on to the location's next files. `z` is the greatest id character, and a
      // cursor the HTTP handler admits (it must look like a key of the session).
      const at = startAfter!.indexOf('/immutable_history/', scopes.length)
      if (at > 0) startAfter = `${startAfter!.slice(0, at + 19)}z`
    }
  })
  return [...folders]
}
