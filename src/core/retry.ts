import { AbortedError, RemoteError, TimeoutError } from './errors.js'

/**
 * Retrying `fetch` for remote backends (S3, HTTP): per-attempt timeout, exponential backoff with
 * full jitter, `Retry-After` honoured, the caller's `AbortSignal` honoured at every step.
 * Only the caller knows whether a request is safe to repeat; every request our backends send
 * is (reads, deletes, and writes whose repeat the snapshot layer recognises).
 */

/**
 * Retry settings.
 *
 * @example
 * const policy: RetryPolicy = { retries: 4, timeoutMs: 10_000 }
 */
export interface RetryPolicy {
  /** Extra attempts after the first (default 4). */
  retries?: number
  /** Per-attempt timeout in ms (default 30 000). */
  timeoutMs?: number
  /** First backoff ceiling in ms (default 50); doubles per attempt up to `maxDelayMs`. */
  baseDelayMs?: number
  /** Backoff ceiling in ms (default 5 000); also caps `Retry-After`. */
  maxDelayMs?: number
}

/** @internal A failure worth another attempt: 429, 5xx. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500
}

/**
 * Sends `send(signal)` until it yields a response that is not retryable, or attempts run out
 * (then the last response is returned for the caller to turn into a typed error). Network
 * failures and timeouts are retried too; when they exhaust the attempts they become
 * `RemoteError` / `TimeoutError`. `describe` names the request in errors; it must hold no secret.
 *
 * @example
 * const res = await fetchWithRetry((signal) => fetch(url, { signal }), { retries: 2 }, 'GET key')
 */
export async function fetchWithRetry(
  send: (signal: AbortSignal) => Promise<Response>,
  policy: RetryPolicy & { signal?: AbortSignal },
  describe: string,
): Promise<Response> {
  const retries = policy.retries ?? 4
  const timeoutMs = policy.timeoutMs ?? 30_000
  const base = policy.baseDelayMs ?? 50
  const cap = policy.maxDelayMs ?? 5_000
  const outer = policy.signal
  for (let attempt = 0; ; attempt++) {
    if (outer?.aborted) throw new AbortedError(`${describe}: aborted`, { cause: outer.reason })
    const ctrl = new AbortController()
    const timer = setTimeout(() => ctrl.abort(new TimeoutError(`${describe}: timed out after ${timeoutMs} ms`)), timeoutMs)
    const onAbort = (): void => ctrl.abort(outer?.reason)
    outer?.addEventListener('abort', onAbort)
    let failure: unknown
    let delay = Math.random() * Math.min(cap, base * 2 ** attempt)
    try {
      const res = await send(ctrl.signal)
      if (!isRetryableStatus(res.status) || attempt >= retries) return res
      const after = retryAfterMs(res.headers.get('retry-after'))
      if (after !== undefined) delay = Math.min(cap, after)
      await res.body?.cancel().catch(() => {})
      failure = res.status
    } catch (error) {
      if (outer?.aborted) throw new AbortedError(`${describe}: aborted`, { cause: outer.reason })
      failure = ctrl.signal.aborted ? ctrl.signal.reason : error
      if (attempt >= retries) {
        if (failure instanceof TimeoutError) throw failure
        throw new RemoteError(`${describe}: network error after ${attempt + 1} attempts`, { cause: failure })
      }
    } finally {
      clearTimeout(timer)
      outer?.removeEventListener('abort', onAbort)
    }
    await sleep(delay, outer)
  }
}

function retryAfterMs(value: string | null): number | undefined {
  if (!value) return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now())
}

/** @internal Resolves after `ms`, rejecting with `AbortedError` as soon as `signal` fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError('aborted', { cause: signal.reason }))
    const onAbort = (): void => {
      clearTimeout(t)
      reject(new AbortedError('aborted', { cause: signal?.reason }))
    }
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
