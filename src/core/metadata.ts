import { ValidationError } from './errors.js'

/**
 * Snapshot metadata (`saveSnapshot({ …, metadata })`): a small string → string map stored as the
 * object's own metadata (S3 `x-amz-meta-*`, R2 `customMetadata`, IndexedDB's `entries` row), so
 * listings return it without reading payloads. Checked here, once, before any I/O; encoded here,
 * once, so every backend and the HTTP protocol only ever carry printable ASCII.
 *
 * Rules, chosen by what survives every tier unchanged (measured on Ceph RGW: it turns `_` in a
 * metadata name into `-` and trims a value's outer spaces; HTTP header values are ASCII):
 * - keys: 1–64 of `a-z 0-9 -`, starting with a letter or digit (S3 lowercases names, and
 *   header-based tiers do not keep `_`); names starting with `snapshelf-` are ours (write tokens);
 * - values: non-empty strings without control characters, any other Unicode included;
 * - stored form: `%`, every character outside printable ASCII, and a leading or trailing space
 *   are percent-encoded as UTF-8 (`Résumé` → `R%C3%A9sum%C3%A9`): what the S3 console and R2
 *   dashboard show. Reading decodes it; a value another tool stored that is no valid
 *   percent-encoding (`100%`) is returned as stored;
 * - size: at most 32 entries and 1024 bytes of keys plus stored values. S3 and R2 allow 2 KB of
 *   metadata per object; the rest is what snapshelf's own write tokens (a conditional write's
 *   token chain: up to ~650 bytes) and R2's key namespace may take, so a compare-and-swap of a
 *   latest with metadata never exceeds the tier's limit.
 */

/** Most entries in one metadata map. */
export const MAX_METADATA_ENTRIES = 32
/** Most bytes of keys plus stored (encoded) values in one metadata map. */
export const MAX_METADATA_BYTES = 1024
const KEY = /^(?!snapshelf-)[a-z0-9][a-z0-9-]{0,63}$/
/** A stored value: printable ASCII, no outer space (it would not survive a header). */
const STORED_VALUE = /^[!-~]([ -~]*[!-~])?$/

/**
 * The stored form of a caller's metadata, or `undefined` when none was given; anything else than
 * a small map of short printable strings (see above) is `ERR_VALIDATION`, before any I/O.
 *
 * @example
 * encodeMetadata({ title: 'Résumé', turn: '3' }) // { title: 'R%C3%A9sum%C3%A9', turn: '3' }
 */
export function encodeMetadata(metadata: unknown): Record<string, string> | undefined {
  if (metadata === undefined) return undefined
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) throw bad('must be an object of strings')
  const entries = Object.entries(metadata)
  if (entries.length > MAX_METADATA_ENTRIES) throw bad(`has over ${MAX_METADATA_ENTRIES} entries`)
  const stored: Record<string, string> = {}
  let bytes = 0
  for (const [key, value] of entries) {
    if (!KEY.test(key)) throw bad(`name ${JSON.stringify(key.slice(0, 70))}: 1-64 of a-z 0-9 -, not -… or snapshelf-…`)
    let encoded: string | undefined
    // Control characters (C0, DEL, C1) have no place in a header; a lone surrogate throws.
    if (typeof value === 'string' && value && !/\p{Cc}/u.test(value)) {
      try {
        encoded = value.replace(/%|[^ -~]|^ | $/gu, encodeURIComponent)
      } catch {}
    }
    if (encoded === undefined) throw bad(`${key}: must be a non-empty string of printable characters`)
    stored[key] = encoded
    bytes += key.length + encoded.length
  }
  if (bytes > MAX_METADATA_BYTES) throw bad(`is ${bytes} bytes as stored, over ${MAX_METADATA_BYTES}`)
  return entries.length ? stored : undefined
}

/**
 * The caller's values of stored metadata (see `encodeMetadata`); `undefined` for none.
 *
 * @example
 * decodeMetadata({ title: 'R%C3%A9sum%C3%A9' }) // { title: 'Résumé' }
 */
export function decodeMetadata(stored: Record<string, string> | undefined): Record<string, string> | undefined {
  let out: Record<string, string> | undefined
  for (const [key, value] of Object.entries(stored ?? {})) {
    out ??= {}
    try {
      out[key] = decodeURIComponent(value)
    } catch {
      out[key] = value
    }
  }
  return out
}

/**
 * Whether `value` is metadata in its stored form, as a backend hands it over: what the HTTP
 * handler accepts in `Snapshelf-Metadata` and the client accepts back.
 *
 * @example
 * isStoredMetadata({ title: 'R%C3%A9sum%C3%A9' }) // true
 * isStoredMetadata({ Title: 'x' }) // false: names are lowercase
 */
export function isStoredMetadata(value: unknown): value is Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false
  const entries = Object.entries(value)
  let bytes = 0
  for (const [key, v] of entries) {
    if (!isStoredEntry(key, v)) return false
    bytes += key.length + (v as string).length
  }
  return entries.length <= MAX_METADATA_ENTRIES && bytes <= MAX_METADATA_BYTES
}

/**
 * Whether one name and value are in stored form: how a backend reading metadata another tool
 * wrote (`x-amz-meta-Foo_Bar`, a raw UTF-8 value) keeps only what snapshelf could have written.
 *
 * @example
 * isStoredEntry('title', 'Caf%C3%A9') // true
 */
export function isStoredEntry(key: string, value: unknown): boolean {
  return KEY.test(key) && typeof value === 'string' && STORED_VALUE.test(value)
}

function bad(rule: string): ValidationError {
  return new ValidationError('metadata', rule)
}
