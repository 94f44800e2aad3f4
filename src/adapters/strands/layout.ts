import { isId } from '../../core/ids.js'
import type { KeyLayout } from '../../http/layouts.js'
import { isNormalKey } from './keys.js'

/** `<folder>/<sessionId>/…`: where Strands' `SessionManager` (`session/`) and its context stash (`context/`) keep a session. */
const SESSION_KEY = /^(?:session|context)\/([^/]+)\//

/**
 * Strands' unified-storage keys as `createSnapshotHandler` serves them (its `layouts` option), so
 * a `StrandsStorage` over `HttpStorage` works: `session/<sessionId>/…` (the `SessionManager`'s
 * snapshots) and `context/<sessionId>/…` (its context stash), each authorized as the Strands
 * session `<sessionId>` itself (`access.layout` is `'strands'`), never as the folder name. A
 * listing of one session's folder is confined to it; a wider one (the stash's `list('')`) returns
 * only the Strands keys of sessions `authorize` allows. Other keys a `StrandsStorage` can hold are
 * not served.
 *
 * @example
 * import { strandsLayout } from 'snapshelf/strands'
 * const handle = createSnapshotHandler({ storage, layouts: [strandsLayout], authorize: (req, { sessionId }) => mine(req, sessionId) })
 */
export const strandsLayout: KeyLayout = {
  name: 'strands',
  sessionOf(key) {
    // The session folder's own name is a key Strands can write too (`session/<id>`).
    const sessionId = SESSION_KEY.exec(`${key}/`)?.[1]
    return isId(sessionId) && isNormalKey(key) ? sessionId : undefined
  },
  listing(prefix) {
    const sessionId = SESSION_KEY.exec(prefix)?.[1]
    if (sessionId !== undefined) return isId(sessionId) ? sessionId : undefined
    // Short of a whole session folder: a start of `session/<id>` or `context/<id>`, or less.
    const wide = /^(?:session|context)\/[^/]*$/.test(prefix) || 'session/'.startsWith(prefix) || 'context/'.startsWith(prefix)
    return wide ? null : undefined
  },
}
