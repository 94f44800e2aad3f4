import { ValidationError } from '../../core/errors.js'

/**
 * Keys of Strands' unified `Storage`, as Strands' own path-based backends read them
 * (`normalizeKey` / `normalizePrefix` in `@strands-agents/sdk` 1.19 `storage/storage`): runs of `/`
 * collapse, leading and trailing `/` are dropped (so `/a` is `a`), and an empty key, a `..`
 * segment or a backslash is refused. Every key Strands refuses is refused here the same way, as a
 * `ValidationError` (`ERR_VALIDATION`) before any I/O.
 *
 * A few keys Strands' `InMemoryStorage` takes are refused here too, because no byte backend of
 * ours could keep them faithfully on every tier:
 * - a `.` segment: URLs (S3, HTTP) collapse it, so `a/./b` would land on `a/b`, and the S3 backend
 *   refuses it at I/O time; we refuse it first;
 * - a first segment starting with `.`: reserved for what a storage keeps beside the data under
 *   its prefix (TieredStorage's outbox lives in `.snapshelf/`), the same rule that keeps every
 *   snapshot id from starting with a dot;
 * - C0 control characters, DEL, U+FFFE / U+FFFF and unpaired surrogates: not representable in the
 *   XML of S3 listings and batch deletes (or in UTF-8 at all, for a lone surrogate), and U+FFFF is
 *   the IndexedDB tier's listing bound.
 * The stored key's byte length (prefix included) is checked by the storage: S3 and R2 keep at most
 * 1024 bytes of UTF-8, and every tier refuses the same keys.
 */

/** Characters no key may hold (see the module comment). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNSTORABLE = /[\u0000-\u001f\u007f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/**
 * Strands' `normalizeKey`, then our own refusals: the normalised key (no empty segment, no
 * leading or trailing `/`). A view's namespace `ns` is joined to the key first and the whole is
 * normalised, as Strands' views do. Throws `ValidationError` naming `field`.
 *
 * @example
 * normalizeKey('key', '//session//s1/x.json/') // 'session/s1/x.json'
 */
export function normalizeKey(field: string, key: unknown, ns = ''): string {
  const segments = segmentsOf(field, joined(field, ns, key))
  if (!segments.length) throw new ValidationError(field, 'must not be empty')
  checkFolders(field, segments)
  return segments.join('/')
}

/**
 * Strands' `normalizePrefix` (slash runs collapsed, leading `/` dropped, a trailing `/` kept; `''`
 * matches everything) of `ns` + `prefix`, then our own refusals for every complete segment: the
 * last one is a partial name (`'.sn'` is a prefix of `'.snapshelf'`), so only it may be `.`-like.
 *
 * @example
 * normalizePrefix('prefix', '/session//s1/') // 'session/s1/'
 */
export function normalizePrefix(field: string, prefix: unknown, ns = ''): string {
  const whole = joined(field, ns, prefix)
  const segments = segmentsOf(field, whole, true)
  const path = segments.join('/')
  const folder = whole.endsWith('/') && path !== ''
  checkFolders(field, folder ? segments : segments.slice(0, -1))
  return folder ? `${path}/` : path
}

/**
 * Whether `key` is exactly a key `normalizeKey` returns: how a listing tells the keys it may
 * return (every one readable) from what else lives under the prefix (TieredStorage's
 * `.snapshelf/`, objects another tool wrote with a `.` segment or a control character).
 *
 * @example
 * isNormalKey('session/s1/x.json') // true
 * isNormalKey('.snapshelf/outbox/…') // false
 */
export function isNormalKey(key: string): boolean {
  try {
    return normalizeKey('key', key) === key
  } catch {
    return false
  }
}

/** `ns` + `value`, once `value` is known to be a string (`+` would stringify anything). */
function joined(field: string, ns: string, value: unknown): string {
  if (typeof value !== 'string') throw new ValidationError(field, 'must be a string')
  return ns + value
}

/**
 * Strands' checks, in Strands' order (backslash, then `..`), plus unstorable characters. A prefix
 * may end in the high half of a surrogate pair: cut from a key between its two halves, it is
 * still a prefix of that key (see `pushdownPrefix`).
 */
function segmentsOf(field: string, value: string, isPrefix = false): string[] {
  if (value.includes('\\')) throw new ValidationError(field, 'must not contain a backslash')
  const segments = value.split('/').filter(Boolean)
  if (segments.includes('..')) throw new ValidationError(field, "must not have a '..' segment")
  if (UNSTORABLE.test(isPrefix ? pushdownPrefix(value) : value)) {
    throw new ValidationError(field, 'must not contain control characters, U+FFFE/U+FFFF or unpaired surrogates')
  }
  return segments
}

/**
 * The part of a listing prefix a backend can be asked for: without a trailing high surrogate,
 * which has no UTF-8 form (S3 could not be sent it). The caller filters what comes back by the
 * whole prefix, so the answer is exactly Strands' (a UTF-16 `startsWith`).
 *
 * @example
 * pushdownPrefix('notes/\ud83d') // 'notes/'
 */
export function pushdownPrefix(prefix: string): string {
  return prefix.replace(/[\ud800-\udbff]$/, '')
}

/** Our refusals for complete segments: no `.`, and no leading dot in the first one (reserved). */
function checkFolders(field: string, segments: string[]): void {
  if (segments.includes('.')) throw new ValidationError(field, "must not have a '.' segment (URLs collapse it)")
  if (segments[0]?.startsWith('.')) {
    throw new ValidationError(field, "must not start with a '.' folder (reserved for the storage's own data, e.g. .snapshelf/)")
  }
}
