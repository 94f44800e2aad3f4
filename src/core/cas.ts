import type { Backend } from './backend.js'
import { ConflictError, throwIfAborted } from './errors.js'
import { backoffMs, sleep } from './util.js'

/**
 * The one compare-and-swap loop over a single key, shared by the snapshot layer's `updateLatest`
 * and every adapter that changes a stored record atomically (Genkit's `saveSnapshot`, its
 * per-session index): read with ETag → `mutate` → write with `If-Match` (or `If-None-Match: *`
 * when absent), full-jitter backoff between attempts (2 ms base, 250 ms cap). The object's
 * metadata is carried over to the value that replaces it. Internal.
 */

/**
 * What `compareAndSwap` needs: how to read and write the value, and the change to make.
 *
 * @example
 * const step: CasStep<Index> = { decode, encode, mutate: (current) => ({ ...current, n: 1 }) }
 */
export interface CasStep<V> {
  /** Decodes the stored bytes of `key`. */
  decode: (bytes: Uint8Array, key: string) => Promise<V>
  /** Encodes the next value (validation happens here, before any write). */
  encode: (value: V) => Promise<Uint8Array>
  /** The next value from the current one (`null` when absent); `null` writes nothing; a throw aborts. */
  mutate: (current: V | null) => V | null | Promise<V | null>
  /**
   * Runs after `encode` and before the conditional write of each attempt, with what it will
   * write: an adapter registers the change elsewhere first (an index entry) so no committed value
   * is ever unaccounted for.
   */
  beforeWrite?: (next: V, current: V | null) => Promise<void>
  maxAttempts: number
  signal?: AbortSignal
}

/**
 * Atomically replaces the value at `key` by `mutate(current)`; resolves what was committed (or,
 * when `mutate` returned `null`, the current value, uncommitted). Losing the race `maxAttempts`
 * times is a `ConflictError`.
 *
 * @example
 * const { committed } = await compareAndSwap(backend, key, { decode, encode, mutate, maxAttempts: 20 })
 */
export async function compareAndSwap<V>(backend: Backend, key: string, step: CasStep<V>): Promise<{ committed: boolean; value: V | null }> {
  const { signal } = step
  for (let attempt = 0; attempt < step.maxAttempts; attempt++) {
    if (attempt) await sleep(backoffMs(attempt, 2, 250), signal)
    const current = await backend.get(key, { signal })
    const before = current ? await step.decode(current.body, key) : null
    const next = await step.mutate(before)
    if (next === null) return { committed: false, value: before }
    const bytes = await step.encode(next)
    throwIfAborted(signal)
    await step.beforeWrite?.(next, before)
    const cond = current ? { ifMatch: current.etag } : { ifNoneMatch: '*' as const }
    // A change of the value keeps what the object was stored with (a latest's snapshot metadata).
    if (await backend.put(key, bytes, { ...cond, signal, metadata: current?.metadata })) return { committed: true, value: next }
  }
  throw new ConflictError(`${key}: lost the compare-and-swap ${step.maxAttempts} times`, { key })
}
