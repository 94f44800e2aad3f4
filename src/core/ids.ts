import { ValidationError } from './errors.js'
import type { SnapshotLocation } from './types.js'

/**
 * Ids that can never escape their prefix nor collide with another id's keys: no `/`, no `\`,
 * no leading dot (so no `.` or `..`), nothing percent-encoded, at most 128 characters. Every id
 * Strands accepts (`^[a-z0-9_-]+$`) is accepted.
 */
const ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/
/** Lowercase canonical UUIDv7: version nibble 7, RFC 9562 variant. */
const UUID7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

let lastMs = -1
let counter = 0
const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0')

/**
 * A new snapshot id: a UUIDv7 (RFC 9562), so ids sort lexicographically in creation order.
 * Within one millisecond a 12-bit counter (in the `rand_a` field, RFC 9562 §6.2 method 1) keeps
 * ids from this process strictly increasing; when it overflows, or the clock steps back, the
 * timestamp borrows from the next millisecond instead of going backwards. The remaining 62 bits
 * are random (`crypto.getRandomValues`). Written here rather than taken from a package because
 * generation is all we need and the core's whole bundle budget is 4 KB.
 *
 * @example
 * await store.saveSnapshot({ location, snapshotId: newSnapshotId(), isLatest: true, snapshot })
 */
export function newSnapshotId(): string {
  const now = Date.now()
  const random = crypto.getRandomValues(new Uint8Array(11))
  if (now > lastMs) {
    lastMs = now
    counter = ((random[8]! << 8) | random[9]!) & 0x7ff // start in the lower half: room to count up
  } else if (++counter > 0xfff) {
    lastMs++
    counter = 0
  }
  const tail = Array.from(random.subarray(0, 8), (b) => hex(b, 2)).join('')
  return `${hex(Math.floor(lastMs / 0x10000), 8)}-${hex(lastMs % 0x10000, 4)}-7${hex(counter, 3)}-${hex(8 | (random[0]! & 3), 1)}${tail.slice(2, 5)}-${tail.slice(5, 16)}${hex(random[10]! & 15, 1)}`
}

/**
 * Whether `value` is a canonical lowercase UUIDv7 (what `newSnapshotId` returns).
 *
 * @example
 * isSnapshotId(newSnapshotId()) // true
 */
export function isSnapshotId(value: unknown): value is string {
  return typeof value === 'string' && UUID7.test(value)
}

/**
 * The creation time encoded in a UUIDv7's first 48 bits.
 *
 * @example
 * snapshotIdTime(newSnapshotId()).getTime() <= Date.now() // true
 */
export function snapshotIdTime(id: string): Date {
  return new Date(parseInt(id.slice(0, 8) + id.slice(9, 13), 16))
}

/**
 * @internal The smallest id-shaped string of millisecond `ms` (`xxxxxxxx-xxxx-0000-0000-000000000000`):
 * as a listing cursor it sorts after every UUIDv7 of an earlier millisecond and before every one
 * of this millisecond (their version digit is 7).
 *
 * @example
 * firstIdAt(snapshotIdTime(id).getTime()) < id // true
 */
export function firstIdAt(ms: number): string {
  const hex = Math.max(0, ms).toString(16).padStart(12, '0')
  return `${hex.slice(0, 8)}-${hex.slice(8)}-0000-0000-000000000000`
}

/** @internal Whether `value` is a valid session id, scope, scope id or prefix segment. */
export function isId(value: unknown): value is string {
  return typeof value === 'string' && ID.test(value)
}

/** @internal Throws `ValidationError` unless `value` is a valid id. */
export function checkId(field: string, value: unknown): string {
  if (!isId(value)) {
    throw new ValidationError(field, 'must be a string matching ^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$')
  }
  return value
}

/** @internal Throws `ValidationError` unless `value` is a UUIDv7. */
export function checkSnapshotId(field: string, value: unknown): string {
  if (!isSnapshotId(value)) throw new ValidationError(field, 'must be a lowercase UUIDv7 (see newSnapshotId())')
  return value
}

/** @internal Validates a whole location. */
export function checkLocation(location: unknown): SnapshotLocation {
  if (typeof location !== 'object' || location === null) {
    throw new ValidationError('location', 'must be an object { sessionId, scope, scopeId }')
  }
  const l = location as SnapshotLocation
  checkId('location.sessionId', l.sessionId)
  checkId('location.scope', l.scope)
  checkId('location.scopeId', l.scopeId)
  return l
}

/** @internal Normalises a key prefix: trailing `/` dropped, each segment a valid id. */
export function checkPrefix(prefix: unknown): string {
  if (prefix === undefined || prefix === '') return ''
  const p = typeof prefix === 'string' ? prefix.replace(/\/+$/, '') : prefix
  if (typeof p !== 'string' || !p.split('/').every(isId)) {
    throw new ValidationError('prefix', 'must be /-separated segments matching ^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$')
  }
  return p
}
