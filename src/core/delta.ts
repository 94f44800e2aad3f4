import { CorruptError } from './errors.js'
import { isSnapshotId } from './ids.js'

/**
 * The delta format of history (DESIGN.md §8): a history object holds either a whole snapshot
 * (JSON, as ever) or the change from its parent, as the text
 * ```
 * SNAPSHELF-DELTA 1\n{"p":"<parent id>","c":"<checkpoint id>","d":<depth>,"b":<chain>,"h":"<hash>","s":<size>,"o":<op>}
 * ```
 * which no JSON text can start with, so whole and delta objects are told apart after decoding and
 * every whole object ever written stays readable. `p` is what the walk follows; `c` says which
 * range to fetch in parallel; `d` (deltas since `c`, this one included) and `b` (their text, in
 * UTF-16 units) let a writer that did not write it go on building the chain, and know when to
 * write whole again; `h` (the first 128 bits of the SHA-256 of the snapshot's JSON text,
 * hex) checks what the walk rebuilt, so a wrong base is `ERR_CORRUPT`, never a wrong snapshot; `s`
 * (the UTF-8 bytes of that text) lets a reader see, from latest's gzip trailer before decoding it,
 * that latest may be this snapshot (a wrong `s` only misses that shortcut: the walk answers, as
 * exactly).
 *
 * An op turns the parent's value into the child's, JSON-aware and small on purpose:
 * - `[0, value]` replaces;
 * - `[1, keep, tail]` keeps an array's first `keep` items and appends `tail` (an array that only
 *   grew costs its new tail: a conversation's turn);
 * - `[2, { name: op }]` changes an object's members (`[3]` removes one), members keeping their order.
 * Anything the diff cannot express in place is a replace one level up, so applying a delta gives
 * back exactly the JSON text that was saved.
 */

/** One change, see above. */
export type Op = [0, unknown] | [1, number, unknown[]] | [2, Record<string, Op>] | [3]

/** A decoded delta object. */
export interface Delta {
  /** The parent's history id. */
  p: string
  /** The whole snapshot the chain starts from (a hint). */
  c: string
  /** Deltas since `c`, this one included. */
  d: number
  /** Their delta text since `c`, in UTF-16 units. */
  b: number
  /** SHA-256 of the snapshot's JSON text, first 32 hex digits. */
  h: string
  /** UTF-8 bytes of the snapshot's JSON text. */
  s: number
  o: Op
}

/** What starts every delta object's text. */
export const DELTA_MAGIC = 'SNAPSHELF-DELTA 1\n'

/**
 * The op turning `a` into `b` (both fresh from `JSON.parse`), or `undefined` when they are equal.
 *
 * @example
 * diff({ m: [1, 2] }, { m: [1, 2, 3] }) // [2, { m: [1, 2, [3]] }]
 */
export function diff(a: unknown, b: unknown): Op | undefined {
  if (same(a, b)) return undefined
  if (Array.isArray(a) && Array.isArray(b)) {
    let keep = 0
    while (keep < a.length && keep < b.length && same(a[keep], b[keep])) keep++
    return keep ? [1, keep, b.slice(keep)] : [0, b]
  }
  if (isPlain(a) && isPlain(b)) {
    const members: Record<string, Op> = {}
    const order: string[] = []
    for (const name of Object.keys(a)) {
      if (Object.hasOwn(b, name)) order.push(name)
      else define(members, name, [3])
    }
    for (const name of Object.keys(b)) {
      if (!Object.hasOwn(a, name)) {
        order.push(name)
        define(members, name, [0, b[name]])
      } else {
        const op = diff(a[name], b[name])
        if (op) define(members, name, op)
      }
    }
    // Patched in place, the object keeps the parent's order with new members last; when the
    // child's order differs, only a replace reproduces its JSON text.
    return sameOrder(order, Object.keys(b)) ? [2, members] : [0, b]
  }
  return [0, b]
}

/**
 * Applies `op` to `value` (which it may change in place) and returns the result; an op that does
 * not fit the value is a `CorruptError` naming `key`.
 *
 * @example
 * patch({ m: [1, 2] }, [2, { m: [1, 2, [3]] }], key) // { m: [1, 2, 3] }
 */
export function patch(value: unknown, op: Op, key: string): unknown {
  if (!Array.isArray(op)) throw misfit(key)
  if (op[0] === 0 && op.length === 2) return op[1]
  if (op[0] === 1 && Array.isArray(value) && Number.isInteger(op[1]) && op[1] <= value.length && Array.isArray(op[2])) {
    value.length = op[1]
    for (const item of op[2]) value.push(item)
    return value
  }
  if (op[0] === 2 && isPlain(value) && isPlain(op[1])) {
    for (const [name, change] of Object.entries(op[1])) {
      if (Array.isArray(change) && change[0] === 3) delete value[name]
      else define(value, name, patch(Object.hasOwn(value, name) ? value[name] : undefined, change as Op, key))
    }
    return value
  }
  throw misfit(key)
}

/**
 * The text of a delta object.
 *
 * @example
 * deltaText({ p: parentId, c: checkpointId, d: 3, b: 950, h: hash, s: 812, o: [1, 2, ['hi']] })
 */
export function deltaText(delta: Delta): string {
  return DELTA_MAGIC + JSON.stringify(delta)
}

/**
 * A delta object's text parsed and checked (ids, depth, an op), or `undefined` for whole JSON;
 * anything else after the magic line is a `CorruptError` naming `key`.
 *
 * @example
 * parseDelta(deltaText(delta), key)?.p === delta.p // true
 */
export function parseDelta(text: string, key: string): Delta | undefined {
  if (!text.startsWith(DELTA_MAGIC)) return undefined
  let delta: Delta | undefined
  try {
    delta = JSON.parse(text.slice(DELTA_MAGIC.length))
  } catch {}
  if (
    !isPlain(delta) ||
    !isSnapshotId(delta.p) ||
    !isSnapshotId(delta.c) ||
    !/^[0-9a-f]{32}$/.test(delta.h as string) ||
    ![delta.d, delta.b, delta.s].every(Number.isInteger) ||
    !Array.isArray(delta.o)
  ) {
    throw new CorruptError(`${key} is not a valid history delta`, { key })
  }
  return delta
}

function misfit(key: string): CorruptError {
  return new CorruptError(`${key} is a delta that does not fit its parent`, { key })
}

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!same(a[i], b[i])) return false
    return true
  }
  if (Array.isArray(b)) return false
  const names = Object.keys(a)
  if (names.length !== Object.keys(b).length) return false
  for (const name of names) {
    if (!Object.hasOwn(b, name) || !same((a as Record<string, unknown>)[name], (b as Record<string, unknown>)[name])) return false
  }
  // Equal members in another order stringify differently.
  return sameOrder(names, Object.keys(b))
}

/** Whether an object built by inserting `inserted` in turn has exactly the member order `actual`. */
function sameOrder(inserted: string[], actual: string[]): boolean {
  // Objects list integer-like names first, ascending, then the rest in insertion order.
  const index = (n: string) => /^(0|[1-9]\d*)$/.test(n) && +n < 4294967295
  const expected = [...inserted.filter(index).sort((x, y) => +x - +y), ...inserted.filter((n) => !index(n))]
  return expected.length === actual.length && expected.every((n, i) => n === actual[i])
}

function isPlain(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Sets an own member, `__proto__` included (plain assignment would set the prototype). */
function define(target: Record<string, unknown>, name: string, value: unknown): void {
  if (name === '__proto__') Object.defineProperty(target, name, { value, writable: true, enumerable: true, configurable: true })
  else target[name] = value
}
