import type { Backend } from '../core/backend.js'
import { RemoteError, TimeoutError } from '../core/errors.js'
import { joinPrefix } from '../core/keys.js'
import { isRetryableStatus } from '../core/retry.js'

/**
 * Where each tier keeps what: the one description of the tiered layout, built once by
 * `createTieredBackend` and handed explicitly to the backend's helpers and to every sync step.
 * Data keys inside the tiered store are `rel`ative to its prefix (`<sessionId>/scopes/…`).
 *
 * Each tier places keys under its own prefix. The tiered store's prefix namespaces it inside the
 * local tier only: the remote's placement belongs to the remote, and an HTTP remote cannot take
 * a prefix at all (the server's storage decides where bytes live; it refuses any other key).
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
  /** `[remotePrefix/]`: a data key's remote name is this plus its `rel`. */
  readonly remoteRoot: string
  /** Local namespace of outbox entries: `[localPrefix/][prefix/].snapshelf/outbox/`. */
  readonly outboxPrefix: string
  /** Local namespace of the per-folder sync state: `[localPrefix/][prefix/].snapshelf/sync/`. */
  readonly statePrefix: string
  /**
   * Local key holding the newest create entry id a sync has tried to push (`.snapshelf/tried`):
   * an entry no newer may have landed with its answer lost, so its push checks for a tombstone.
   */
  readonly triedKey: string
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
    remoteRoot: joinPrefix(options.remotePrefix ?? ''),
    outboxPrefix: `${localRoot}.snapshelf/outbox/`,
    statePrefix: `${localRoot}.snapshelf/sync/`,
    triedKey: `${localRoot}.snapshelf/tried`,
  }
}

/**
 * A failure of the network or the remote service, as opposed to bad input, a refusal or a bug:
 * "offline", and worth retrying. A remote error without a status is a network failure; with
 * one, only 408, 429 and 5xx are (a 400 or 404 will answer the same again).
 *
 * @example
 * if (isOffline(error)) setStatus({ online: false })
 */
export function isOffline(error: unknown): boolean {
  if (error instanceof TimeoutError) return true
  if (!(error instanceof RemoteError)) return false
  const { status } = error
  // No status (or 0): the request never got an answer.
  return !status || status === 408 || isRetryableStatus(status)
}

/**
 * A failure where the request got no answer at all (the network is down, the host unreachable,
 * the connection reset, the answer lost, a timeout): the backends' own request policies already
 * retried it, so a sync stops at the first one instead of multiplying requests into the void.
 * A remote that answers busy (408, 429, 5xx) is `isOffline` but not unreachable.
 *
 * @example
 * if (isUnreachable(error)) return stopRun(error)
 */
export function isUnreachable(error: unknown): boolean {
  return isOffline(error) && !(error as RemoteError).status
}
