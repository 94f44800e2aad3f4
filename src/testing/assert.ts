import { SnapshelfError, type SnapshelfErrorCode } from '../core/errors.js'
import { sleep } from '../core/util.js'

/**
 * Dependency-free assertions, so the contract suite runs unchanged under vitest, Deno, Bun,
 * workerd and a browser page. `AssertionError` is what they throw.
 *
 * @example
 * if (got !== want) throw new AssertionError(`expected ${want}, got ${got}`)
 */
export class AssertionError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'AssertionError'
  }
}

/** @internal */
export function ok(value: unknown, message = 'expected a truthy value'): asserts value {
  if (!value) throw new AssertionError(message)
}

/** @internal Structural equality through a canonical JSON form (key order ignored). */
export function equal(actual: unknown, expected: unknown, message = ''): void {
  const a = canonical(actual)
  const e = canonical(expected)
  if (a !== e) throw new AssertionError(`${message ? `${message}: ` : ''}expected ${clip(e)}, got ${clip(a)}`)
}

/** @internal Awaits `fn` and checks it rejects with a `SnapshelfError` of `code`; returns the error. */
export async function rejects(fn: () => unknown, code: SnapshelfErrorCode, message = ''): Promise<SnapshelfError> {
  let error: unknown
  try {
    await fn()
  } catch (e) {
    error = e
  }
  const where = message ? `${message}: ` : ''
  if (error === undefined) throw new AssertionError(`${where}expected ${code}, but it resolved`)
  if (!(error instanceof SnapshelfError)) throw new AssertionError(`${where}expected ${code}, got ${String(error)}`)
  if (error.code !== code) throw new AssertionError(`${where}expected ${code}, got ${error.code}: ${error.message}`)
  return error
}

/** @internal Polls `condition` until true or `timeoutMs` passes. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > end) throw new AssertionError(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(10)
  }
}

function canonical(value: unknown): string {
  return (
    JSON.stringify(value, (_k, v) =>
      v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, (v as Record<string, unknown>)[k]]),
          )
        : v,
    ) ?? 'undefined'
  )
}

function clip(s: string): string {
  return s.length > 300 ? `${s.slice(0, 300)}…` : s
}
