import { RemoteError, TimeoutError, throwIfAborted } from './errors.js'
import { backoffMs, sleep } from './util.js'

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
 * One answer of `fetchWithRetry`: the last response, its whole body (read inside the attempt),
 * and how many attempts were sent (more than one means an earlier one may have landed).
 *
 * @example
 * const { response, body, attempts } = await fetchWithRetry((signal) => fetch(url, { signal }), {}, 'GET key')
 */
export interface RetriedResponse {
  response: Response
  body: Uint8Array
  attempts: number
}

/**
 * Sends `send(signal)` until it yields a response that is not retryable, or attempts run out
 * (then the last response is returned for the caller to turn into a typed error). The body is
 * read inside each attempt, so the per-attempt timeout and the caller's signal cover it too, and
 * a body cut off mid-way is retried like any other network failure. Network failures and
 * timeouts that exhaust the attempts become `RemoteError` / `TimeoutError`. `describe` names the
 * request in errors; it must hold no secret.
 *
 * @example
 * const { response, body } = await fetchWithRetry((signal) => fetch(url, { signal }), { retries: 2 }, 'GET key')
 */
export async function fetchWithRetry(
  send: (signal: AbortSignal) => Promise<Response>,
  policy: RetryPolicy & { signal?: AbortSignal },
  describe: string,
): Promise<RetriedResponse> {
  const retries = policy.retries ?? 4
  const timeoutMs = policy.timeoutMs ?? 30_000
  const base = policy.baseDelayMs ?? 50
  const cap = policy.maxDelayMs ?? 5_000
  const outer = policy.signal
  for (let attempt = 0; ; attempt++) {
    throwIfAborted(outer)
    const ctrl = new AbortController()
    const timer = setTimeout(() => ctrl.abort(new TimeoutError(`${describe}: timed out after ${timeoutMs} ms`)), timeoutMs)
    const onAbort = (): void => ctrl.abort(outer?.reason)
    outer?.addEventListener('abort', onAbort)
    let delay = backoffMs(attempt, base, cap)
    try {
      const response = await send(ctrl.signal)
      const last = attempt >= retries
      if (!isRetryableStatus(response.status) || last) {
        return { response, body: new Uint8Array(await response.arrayBuffer()), attempts: attempt + 1 }
      }
      const after = retryAfterMs(response.headers.get('retry-after'))
      if (after !== undefined) delay = Math.min(cap, after)
      await response.body?.cancel().catch(() => {})
    } catch (error) {
      throwIfAborted(outer)
      const failure = ctrl.signal.aborted ? ctrl.signal.reason : error
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
