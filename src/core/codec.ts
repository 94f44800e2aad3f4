import { gunzip as gunzipBounded, gzip } from '#platform'
import { refuseSealed } from './encryption.js'
import { CorruptError, TooLargeError, ValidationError } from './errors.js'

/**
 * JSON ⇄ stored bytes. Writers gzip (or write plain JSON) through `#platform`: `node:zlib` on
 * Node, Bun and Deno, `CompressionStream` elsewhere, chosen at import by package.json `imports`
 * (see src/platform/platform.d.ts); either reads the other's bytes. Readers detect gzip by its
 * magic bytes, never by headers, because a runtime may already have undone a `Content-Encoding`.
 * Decoding is bounded so a gzip bomb costs at most `maxBytes` of memory.
 */

/**
 * Default largest decoded snapshot: 64 MiB, half a Worker isolate's memory.
 *
 * @example
 * new MemoryStorage({ maxDecodedBytes: DEFAULT_MAX_DECODED_BYTES / 8 }) // 8 MiB
 */
export const DEFAULT_MAX_DECODED_BYTES = 64 * 1024 * 1024

/**
 * JSON text shorter than this is stored plain even with `compression: 'gzip'`: gzip's 18 bytes of
 * framing and the deflate block header eat what it would save (measured on agent JSON: 114 B grows
 * to 119 B, 202 B saves 16%, 299 B 27%, 499 B 47%, 1 KB 55%), while each gzip + gunzip still costs
 * 25-60 µs on node:zlib and 60-900 µs through CompressionStream. Readers detect gzip by its magic
 * bytes, so this changes no reader and needs no option; `compression: 'none'` stays for plain always.
 *
 * @example
 * isGzip(await encodeJSON({ note: 'short' }, 'gzip', 1 << 20)) // false: under GZIP_MIN_BYTES
 */
export const GZIP_MIN_BYTES = 512

/**
 * Whether `bytes` start with the gzip magic number `1f 8b`.
 *
 * @example
 * isGzip(await encodeJSON({ text: 'x'.repeat(600) }, 'gzip', 1 << 20)) // true
 */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length > 1 && bytes[0] === 0x1f && bytes[1] === 0x8b
}

/**
 * Serialises `value` to stored bytes: JSON, gzipped unless `compression` is `'none'` or the JSON
 * is shorter than `GZIP_MIN_BYTES` (where gzip saves too little to pay for itself). What is
 * checked is the JSON text that will be stored, not the value passed: a `Date`, a boxed
 * primitive or a `toJSON` returning anything but an object serialises to something no reader
 * accepts as a snapshot, so it is a `ValidationError` (naming `field`) like a value JSON cannot
 * represent at all. Past `maxBytes` it is a `TooLargeError`.
 *
 * @example
 * const bytes = await encodeJSON(snapshot, 'gzip', DEFAULT_MAX_DECODED_BYTES)
 */
export async function encodeJSON(value: unknown, compression: 'gzip' | 'none', maxBytes: number, field = 'snapshot'): Promise<Uint8Array> {
  return encodeText(jsonText(value, maxBytes, field), compression)
}

/**
 * @internal The JSON text `encodeJSON` stores for `value`, checked as it checks it (a JSON
 * object, at most `maxBytes` as UTF-8), before any compression: delta history diffs it.
 *
 * @example
 * jsonText({ a: 1 }, 1 << 20) // '{"a":1}'
 */
export function jsonText(value: unknown, maxBytes: number, field = 'snapshot'): string {
  let json: string | undefined
  try {
    json = JSON.stringify(value)
  } catch (cause) {
    throw new ValidationError(field, 'must be JSON-serialisable (no cycles, no BigInt)', { cause })
  }
  // `undefined` for a function or a symbol; `"…"`, `5`, `null` or `[…]` for the cases above.
  if (json?.[0] !== '{') throw new ValidationError(field, 'must serialise to a JSON object')
  // UTF-8 is at most 3 bytes per UTF-16 unit and at least 1: only the middle band is counted.
  if (json.length * 3 > maxBytes && (json.length > maxBytes || new TextEncoder().encode(json).length > maxBytes)) {
    throw new TooLargeError(`${field} is over ${maxBytes} bytes`)
  }
  return json
}

/**
 * @internal Stored bytes of a text: UTF-8, gzipped unless `compression` is `'none'` or it is
 * shorter than `GZIP_MIN_BYTES`.
 *
 * @example
 * const stored = await encodeText('{"a":1}', 'gzip')
 */
export function encodeText(text: string, compression: 'gzip' | 'none'): Promise<Uint8Array> | Uint8Array {
  const raw = new TextEncoder().encode(text)
  return compression === 'none' || raw.length < GZIP_MIN_BYTES ? raw : gzip(raw)
}

/**
 * @internal Gzips bytes as they are (no JSON): the byte-level half of `encodeJSON`, for adapters
 * whose callers hand over bytes (Strands' unified `Storage`). `#platform`'s own, re-exported.
 *
 * @example
 * isGzip(await gzip(new TextEncoder().encode('{}'))) // true
 */
export { gzip }

/**
 * Decodes stored bytes (gzip or plain) into a JSON object. Garbage, truncated gzip, invalid
 * UTF-8 or JSON, a non-object, or an encrypted object (its key id named) → `CorruptError`; more than `maxBytes` decoded → `TooLargeError`.
 * Both name `key`.
 *
 * @example
 * const snapshot = await decodeJSON(bytes, 'sessions/s1/…/snapshot_latest.json', 1 << 26)
 */
export async function decodeJSON<T>(bytes: Uint8Array, key: string, maxBytes: number): Promise<T> {
  return parseObject<T>(await decodeText(bytes, key, maxBytes), key)
}

/**
 * @internal The text of stored bytes (gzip or plain, bounded like `decodeJSON`): its first half.
 *
 * @example
 * const text = await decodeText(stored, key, 1 << 26)
 */
export async function decodeText(bytes: Uint8Array, key: string, maxBytes: number): Promise<string> {
  refuseSealed(bytes, key)
  const raw = isGzip(bytes) ? await gunzip(bytes, key, maxBytes) : bytes
  if (raw.length > maxBytes) throw new TooLargeError(`${key} is over ${maxBytes} bytes`, { key })
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(raw)
  } catch (cause) {
    throw new CorruptError(`${key} is not valid UTF-8 JSON`, { key, cause })
  }
}

/**
 * @internal `text` parsed as a JSON object, or `CorruptError` naming `key`: `decodeJSON`'s second half.
 *
 * @example
 * parseObject<{ a: number }>('{"a":1}', key).a // 1
 */
export function parseObject<T>(text: string, key: string): T {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (cause) {
    throw new CorruptError(`${key} is not valid UTF-8 JSON`, { key, cause })
  }
  if (isObject(value)) return value as T
  throw new CorruptError(`${key} does not hold a JSON object`, { key })
}

/** @internal A non-null, non-array object: the only shape a decoded snapshot or manifest may have. */
export function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * @internal Gunzips bytes, bounded: more than `maxBytes` decoded is a `TooLargeError` (a gzip
 * bomb costs at most that much memory), garbage or truncated gzip a `CorruptError`; both name
 * `key`. The byte-level half of `decodeJSON`.
 *
 * @example
 * const raw = await gunzip(stored, key, DEFAULT_MAX_DECODED_BYTES)
 */
export async function gunzip(bytes: Uint8Array, key: string, maxBytes: number): Promise<Uint8Array> {
  let out: Uint8Array | undefined
  try {
    out = await gunzipBounded(bytes, maxBytes)
  } catch (cause) {
    throw new CorruptError(`${key} is not valid gzip`, { key, cause })
  }
  if (!out) throw new TooLargeError(`${key} is over ${maxBytes} bytes`, { key })
  return out
}
