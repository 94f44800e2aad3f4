import { isId } from '../../core/ids.js'
import type { KeyLayout } from '../../http/layouts.js'
import { GENKIT_FOLDER, parseGenkitKey } from './keys.js'

/**
 * Genkit's keys as `createSnapshotHandler` serves them (its `layouts` option), so a
 * `GenkitSessionStore` over `HttpStorage` works. Genkit addresses a snapshot by id alone
 * (`getSnapshot({ snapshotId })`), so no key names the session a snapshot is in: every key is
 * authorized as its namespace (`access.sessionId` is the namespace, `access.layout` is
 * `'genkit'`). Give each user or tenant a namespace (the store's `namespace` option, from the
 * call's `options.context`) and authorize on it; the default namespace is `global`.
 *
 * @example
 * import { genkitLayout } from 'snapshelf/genkit'
 * const handle = createSnapshotHandler({ storage, layouts: [genkitLayout], authorize: (req, { sessionId }) => tenantOf(req) === sessionId })
 */
export const genkitLayout: KeyLayout = {
  name: 'genkit',
  sessionOf: (key) => parseGenkitKey(key)?.namespace,
  listing(prefix) {
    const folder = `${GENKIT_FOLDER}/`
    const namespace = new RegExp(`^${folder}([^/]+)/`).exec(prefix)?.[1]
    if (namespace !== undefined) return isId(namespace) ? namespace : undefined
    return new RegExp(`^${folder}[^/]*$`).test(prefix) || folder.startsWith(prefix) ? null : undefined
  },
}
