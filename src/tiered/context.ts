import type { BackendObject } from '../core/backend.js'
import { throwIfAborted } from '../core/errors.js'
import { backoffMs, sleep } from '../core/util.js'
import type { SyncProgress } from './sync.js'
import { type Tiers, isOffline, isUnreachable } from './tiers.js'

/**
 * What every step of one sync run shares: the layout, the storage's settings, the caller's
 * signal and the progress counters, plus the two ways a step talks to the remote (retried) and
 * fans out (bounded concurrency).
 */

/**
 * The storage's sync settings, fixed at construction.
 *
 * @example
 * const settings: SyncSettings = { concurrency: 16, retries: 3, lookbackMs: 86_400_000, maxDecodedBytes: 64 << 20 }
 */
export interface SyncSettings {
  /** Remote requests in flight. */
  concurrency: number
  /** Extra attempts per remote request while the remote answers busy (408, 429, 5xx). */
  retries: number
  /** How far before the history cursor a windowed pull lists. */
  lookbackMs: number
  /** Bound for decoding a mutable key's content to date it. */
  maxDecodedBytes: number
  /** With `encryption`: opens a mutable key's sealed bytes (by their `rel`) to date them. */
  open?: (bytes: Uint8Array, rel: string) => Promise<Uint8Array>
}

/**
 * Which remote history a run pulls: `none`; the `window` after the cursor minus the lookback;
 * or `all` of it (hydrate, `sync({ full: true })`).
 *
 * @example
 * const pull: PullMode = options.full ? 'all' : 'window'
 */
export type PullMode = 'none' | 'window' | 'all'

/**
 * What one run does: `sync` pushes the outbox and pulls the window (or all); `flush` pushes one
 * folder and pulls nothing; `hydrate` pushes nothing and pulls all of one folder.
 *
 * @example
 * const run: SyncRun = { push: 'outbox', pull: 'window' }
 */
export interface SyncRun {
  /** `outbox`: push every queued change; `nothing`: only bring the remote down (local changes stay queued). */
  push: 'outbox' | 'nothing'
  pull: PullMode
  /** One location's folder (`<s>/scopes/<scope>/<id>/snapshots/`); every known folder when absent. */
  folder?: string
  /** Also visit every location the remote holds of these sessions (`'all'`: its whole catalogue). */
  sessions?: 'all' | readonly string[]
  signal?: AbortSignal
  onProgress?: (progress: SyncProgress) => void
}

/**
 * One run's shared state: the layout (where each tier keeps what), what the run was asked to
 * do, and what it did so far.
 *
 * @example
 * const context: SyncContext = { ...tiers, ...run, settings, progress: { pushed: 0, pulled: 0, total: 0 }, confirmed: [], conflicts: [], network: { answered: false }, sessionTombstones: new Map() }
 */
export interface SyncContext extends Tiers, Readonly<SyncRun> {
  readonly settings: SyncSettings
  /** What moved so far, out of what is known so far; steps count into it. */
  readonly progress: SyncProgress
  /**
   * Keys of the outbox entries the remote confirmed so far. The run removes them when it ends,
   * however it ends, so an aborted run keeps what the remote did confirm.
   */
  readonly confirmed: string[]
  /** Create-only keys the remote holds with different bytes: their entries stay queued. */
  readonly conflicts: string[]
  /**
   * How the remote has answered this run: `answered` once any request succeeded (until then
   * pools run one task at a time, so an offline run sends one request, not one per worker);
   * `unreachable` the first failure that got no answer (every later request fails with it
   * unsent, so the run stops there).
   */
  readonly network: { answered: boolean; unreachable?: { error: unknown } }
  /**
   * The newest create entry id an earlier run tried to push: a create entry no newer may have
   * landed unanswered, so its push looks for a tombstone first (push.ts). None: never tried.
   */
  readonly triedBefore?: string
  /** Each session's deletion as its remote tombstone records it (`''`: none), read once per run. */
  readonly sessionTombstones: Map<string, Promise<string>>
}

/**
 * Tells the caller how far the run got (a copy: later counting cannot change what it was told).
 *
 * @example
 * context.progress.pushed++
 * report(context)
 */
export function report(context: SyncContext): void {
  context.onProgress?.({ ...context.progress })
}

/**
 * Runs a remote operation, retrying a busy remote (408, 429, 5xx) with full-jitter exponential
 * backoff (100 ms base, 5 s cap). A failure with no answer at all (offline: `isUnreachable`)
 * stops the whole run: it is thrown here and by every later call of the run, which then sends
 * nothing. Anything else, and the last failure, surfaces at once.
 *
 * @example
 * const page = await withRetries(context, () => remote.list(prefix, { signal }))
 */
export async function withRetries<R>(context: SyncContext, operation: () => Promise<R>): Promise<R> {
  const { network } = context
  for (let attempt = 0; ; attempt++) {
    if (network.unreachable) throw network.unreachable.error
    try {
      const result = await operation()
      network.answered = true
      return result
    } catch (error) {
      if (isUnreachable(error)) network.unreachable ??= { error }
      if (attempt >= context.settings.retries || !isOffline(error) || network.unreachable) throw error
      await sleep(backoffMs(attempt, 100, 5000), context.signal)
    }
  }
}

/**
 * Reads a data key (relative to the tiered prefix) from the remote, with retries.
 *
 * @example
 * const obj = await remoteGet(context, rel)
 */
export function remoteGet(context: SyncContext, rel: string): Promise<BackendObject | null> {
  return withRetries(context, () => context.remote.get(context.remoteRoot + rel, { signal: context.signal }))
}

/**
 * Runs `task` over `items` with at most `concurrency` in flight; the first failure stops new
 * work and is thrown once the tasks in flight have settled.
 *
 * @example
 * await inPool(context, missing, async (id) => copy(id))
 */
export async function inPool<T>(context: SyncContext, items: T[], task: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  let failure: { error: unknown } | undefined // boxed: the error itself may be undefined
  const runNext = async (): Promise<void> => {
    const item = items[next++]!
    try {
      throwIfAborted(context.signal)
      await task(item)
    } catch (error) {
      failure ??= { error }
    }
  }
  // Until the remote has answered once this run, one task at a time: offline, the first
  // request fails before any other task has sent one.
  while (!failure && next < items.length && !context.network.answered) await runNext()
  const worker = async (): Promise<void> => {
    while (!failure && next < items.length) await runNext()
  }
  await Promise.all(Array.from({ length: Math.min(context.settings.concurrency, items.length - next) }, worker))
  if (failure) throw failure.error
}
