import type { KeyLayout } from '../../http/layouts.js'
import { decodeSegment } from './keys.js'

/** `langgraph/<thread>/<ns>/<checkpoints|channels|writes>/…json`, every segment encoded (`[A-Za-z0-9_-]`): every key the saver writes (keys.ts). */
const SAVER_KEY = /^langgraph\/([\w-]+)\/[\w-]+\/(?:checkpoints|channels|writes)(?:\/[\w-]+)+\.json$/

/**
 * LangGraph's checkpoint keys as `createSnapshotHandler` serves them (its `layouts` option), so a
 * `SnapshelfCheckpointSaver` over `HttpStorage` works: each key is authorized as its thread
 * (`access.sessionId` is LangGraph's `thread_id`, decoded; `access.layout` is `'langgraph'`).
 * A thread's listings are confined to it; `list()` without a `thread_id` walks every thread and
 * gets only the threads `authorize` allows.
 *
 * @example
 * import { langgraphLayout } from 'snapshelf/langgraph'
 * const handle = createSnapshotHandler({ storage, layouts: [langgraphLayout], authorize: (req, { sessionId }) => ownsThread(req, sessionId) })
 */
export const langgraphLayout: KeyLayout = {
  name: 'langgraph',
  sessionOf(key) {
    const segment = SAVER_KEY.exec(key)?.[1]
    return segment === undefined ? undefined : decodeSegment(segment)
  },
  listing(prefix) {
    const segment = /^langgraph\/([^/]+)\//.exec(prefix)?.[1]
    if (segment !== undefined) return decodeSegment(segment)
    // Short of a whole thread folder: every thread, filtered by `authorize`.
    return /^langgraph\/[^/]*$/.test(prefix) || 'langgraph/'.startsWith(prefix) ? null : undefined
  },
}
