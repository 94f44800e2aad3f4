import type { Backend } from '../core/backend.js'
import { RemoteError, TimeoutError } from '../core/errors.js'
import { joinPrefix } from '../core/keys.js'

/**
 * Where each tier keeps what: the one description of the tiered layout, built once by
 * `createTieredBackend` and handed explicitly to the backend's helpers and to every sync step.
 * Data keys inside the tiered store are `rel`ative to its prefix (`<sessionId>/scopes/…`).
 *
 * @example
 * const tiers = tiersOf({ local, remote, prefix: 'agents' })
 * await tiers.remote.get(tiers.remoteRoot + rel)
 */
export interface Tiers {
  readonly local: Backend
  readonly remote: Backend
  /** `[prefix/]`: what every key the store hands the tiered backend starts with. */
  readonly prefix: string
  /** `[localPrefix/][prefix/]`: a data key's local name is this plus its `rel`. */
  readonly localRoot: string
  /** `[remotePrefix/][prefix/]`: a data key's remote name is this plus its `rel`. */
  readonly remoteRoot: string
  /** Local namespace of outbox entries: `[localPrefix/][prefix/].snapshelf/outbox/`. */
  readonly outboxPrefix: string
  /** Local namespace of the per-folder sync state: `[localPrefix/][prefix/].snapshelf/sync/`. */
  readonly statePrefix: string
}

/**
 * The layout of a tiered store over `local` and `remote`, each with its own key prefix.
 *
 * @example
 * const tiers = tiersOf({ local, remote, localPrefix: 'cache', prefix: 'agents' })
 */
export function tiersOf(options: { local: Backend; remote: Backend; localPrefix?: string; remotePrefix?: string; prefix?: string }): Tiers {
  const prefix = joinPrefix(options.prefix ?? '')
  const localRoot = joinPrefix(options.localPrefix ?? '') + prefix
  return {
    local: options.local,
    remote: options.remote,
    prefix,
    localRoot,
    remoteRoot: joinPrefix(options.remotePrefix ?? '') + prefix,
    outboxPrefix: `${localRoot}.snapshelf/outbox/`,
    statePrefix: `${localRoot}.snapshelf/sync/`,
  }
}

/**
 * A failure of the network or the remote service (as opposed to bad input or a bug): "offline".
 *
 * @example
 * if (isOffline(error)) setStatus({ online: false })
 */
export function isOffline(error: unknown): boolean {
  return error instanceof RemoteError || error instanceof TimeoutError
}
