import type { Backend } from './backend.js'
import { ValidationError } from './errors.js'

/**
 * Watching one key, written once for the snapshot layer's `watchLatest` and the adapters'
 * watches (Genkit's `onSnapshotStateChange`): pushed where the backend has `subscribe`, by ETag
 * polling (`head`, then `get` only on a change) otherwise. Internal.
 */

/**
 * Options of `watchKey`.
 *
 * @example
 * const options: WatchKeyOptions<Snapshot> = { decode, onChange: (s) => console.log(s), intervalMs: 1000 }
 */
export interface WatchKeyOptions<V> {
  decode: (bytes: Uint8Array, key: string) => Promise<V>
  onChange: (value: V) => void
  signal?: AbortSignal
  /** Polling interval; `0` means push only (refused when the backend cannot push). */
  intervalMs: number
  /** Called with read/decode failures; polling goes on. */
  onError?: (error: unknown) => void
  /** Also report the value found by the first read (default: the first read is only a baseline). */
  emitInitial?: boolean
}

/**
 * Calls `onChange` with the decoded value each time the object at `key` changes (not when it is
 * deleted); returns the unsubscribe. Checks run one at a time; a notification during a check
 * schedules exactly one more.
 *
 * @example
 * const stop = watchKey(backend, key, { decode, onChange, intervalMs: 1000 })
 */
export function watchKey<V>(backend: Backend, key: string, p: WatchKeyOptions<V>): () => void {
  if (typeof p.onChange !== 'function') throw new ValidationError('onChange', 'must be a function')
  const push = backend.subscribe?.bind(backend)
  const interval = p.intervalMs
  // 0 means "push only": without push notifications nothing would ever fire.
  if ((interval !== 0 || !push) && !(Number.isInteger(interval) && interval >= 1)) {
    throw new ValidationError('intervalMs', 'must be an integer >= 1')
  }
  // undefined until the baseline is read; with emitInitial the baseline is "nothing seen".
  let seen: string | null | undefined = p.emitInitial ? null : undefined
  let stopped = false
  let running = false
  let again = false
  let timer: ReturnType<typeof setTimeout> | undefined
  const check = async (): Promise<void> => {
    if (running) {
      again = true
      return
    }
    running = true
    try {
      do {
        again = false
        // HEAD first: a poll that finds no change must not download the value.
        const etag = (await backend.head(key))?.etag ?? null
        if (stopped || etag === seen) continue
        // The first check only sets the baseline. The object may have changed again since the
        // HEAD: remember the ETag of what was actually read.
        const obj = seen !== undefined && etag !== null && (await backend.get(key))
        seen = obj ? obj.etag : etag
        const next = obj && (await p.decode(obj.body, key))
        // Unsubscribed while decoding: the caller must hear nothing more.
        if (next && !stopped) p.onChange(next)
      } while (again && !stopped)
    } catch (error) {
      p.onError?.(error)
    } finally {
      running = false
    }
  }
  const tick = (): void => {
    void check().finally(() => {
      if (!stopped && interval) timer = setTimeout(tick, interval)
    })
  }
  const unpush = push?.(key, () => {
    void check()
  })
  const stop = (): void => {
    stopped = true
    clearTimeout(timer)
    unpush?.()
    p.signal?.removeEventListener('abort', stop)
  }
  if (p.signal?.aborted) {
    stop()
    return stop
  }
  p.signal?.addEventListener('abort', stop)
  tick()
  return stop
}
