import { AbortedError } from './errors.js'

/**
 * Small helpers shared by every layer, each written once: page size and batching, jittered
 * backoff, sleeping under a signal, and byte encodings. Internal: not exported from any entry.
 */

/**
 * Keys per listing page and per batch delete: the cap of S3 ListObjectsV2 and DeleteObjects, of
 * R2's `list` and `delete`, and of the HTTP protocol's `/list` and `/delete`.
 *
 * @example
 * await backend.list(prefix, { limit: PAGE_SIZE })
 */
export const PAGE_SIZE = 1000

/**
 * `items` in consecutive slices of at most `size` (the last may be shorter).
 *
 * @example
 * for (const batch of chunks(keys)) await backend.delete(batch)
 */
export function chunks<T>(items: readonly T[], size = PAGE_SIZE): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/**
 * Full-jitter exponential backoff: a random delay in `[0, min(capMs, baseMs * 2^attempt))`, so
 * writers that collided spread out instead of colliding again in step.
 *
 * @example
 * await sleep(backoffMs(attempt, 50, 5000), signal)
 */
export function backoffMs(attempt: number, baseMs: number, capMs: number): number {
  return Math.random() * Math.min(capMs, baseMs * 2 ** attempt)
}

/**
 * Resolves after `ms`, rejecting with `AbortedError` as soon as `signal` fires.
 *
 * @example
 * await sleep(100, AbortSignal.timeout(50)) // rejects: aborted
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError(undefined, { cause: signal.reason }))
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(new AbortedError(undefined, { cause: signal?.reason }))
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * Lowercase hex of bytes (SHA-256 digests, SigV4 signatures).
 *
 * @example
 * toHex(new Uint8Array([1, 255])) // '01ff'
 */
export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('')
}

/**
 * Base64 of bytes (btoa exists in every target runtime): S3's Content-MD5 and the write tokens.
 *
 * @example
 * toBase64(new Uint8Array([104, 105])) // 'aGk='
 */
export function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
}

/**
 * Whether two byte strings are equal.
 *
 * @example
 * sameBytes(new Uint8Array([1]), new Uint8Array([1])) // true
 */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * Reads a whole byte stream, but never more than `maxBytes`: past that it cancels the stream and
 * resolves `undefined` (a gzip bomb or an oversized upload costs at most `maxBytes` of memory).
 * A failing stream (or a throwing `sink`) rejects with its own error. With `sink`, chunks go to it
 * as they arrive and are not kept: it then resolves an empty array. Shared by the web platform's
 * gunzip and the HTTP handler's request bodies.
 *
 * @example
 * const body = await readBounded(request.body!, 32 << 20) // undefined: too large
 */
export async function readBounded(
  stream: ReadableStream<Uint8Array>,
  maxBytes: number,
  sink?: (chunk: Uint8Array) => void,
): Promise<Uint8Array | undefined> {
  const reader = stream.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      total += value.length
      if (total > maxBytes) {
        reader.cancel().catch(() => {})
        return undefined
      }
      // With a sink (the codec's piecewise UTF-8 decoding), a chunk is handed on, not kept.
      sink ? sink(value) : chunks.push(value)
    }
  } catch (error) {
    // Stop the producer (an upload, a decompressor); a failing cancel changes nothing.
    reader.cancel().catch(() => {})
    throw error
  }
  // One chunk is returned as it is, unless it is a subclass (Node hands out Buffers, whose
  // `slice` shares memory): callers get a plain Uint8Array either way.
  if (chunks.length === 1 && chunks[0]!.constructor === Uint8Array) return chunks[0]
  // `total` counts what a sink took too; the array holds only what was kept.
  const out = new Uint8Array(sink ? 0 : total)
  let at = 0
  for (const chunk of chunks) {
    out.set(chunk, at)
    at += chunk.length
  }
  return out
}

/**
 * The decoded size a gzip's trailer names (ISIZE: its last 4 bytes, little-endian, mod 2^32, of
 * the last member), or 0 for bytes too short to be gzip: a hint only, never a bound.
 *
 * @example
 * gzipTrailerSize(await gzip(new Uint8Array(1000))) // 1000
 */
export function gzipTrailerSize(bytes: Uint8Array): number {
  const n = bytes.length
  return n < 18 ? 0 : (bytes[n - 4]! | (bytes[n - 3]! << 8) | (bytes[n - 2]! << 16) | (bytes[n - 1]! << 24)) >>> 0
}
