import { GenkitError } from 'genkit'
import type { SnapshelfErrorCode } from '../../core/errors.js'
import { SnapshelfError } from '../../core/errors.js'

/**
 * Genkit's own error type for everything the adapter refuses or fails at, so Genkit code that
 * switches on `status` (and its runtime, which maps statuses to HTTP codes) keeps working.
 * `GenkitError` is a value import from `genkit`'s main entry: no smaller public module of genkit
 * 1.42 exports it (`@genkit-ai/core` has no `error` subpath, and `genkit/beta` re-exports the same
 * class with more). It is why `genkit` is an optional peer dependency of `snapshelf/genkit`.
 */

type StatusName = ConstructorParameters<typeof GenkitError>[0]['status']

/** Genkit's status name for each snapshelf error code. */
const STATUS: Record<SnapshelfErrorCode, StatusName> = {
  ERR_VALIDATION: 'INVALID_ARGUMENT',
  ERR_CONFLICT: 'ABORTED',
  ERR_CORRUPT: 'DATA_LOSS',
  ERR_TOO_LARGE: 'RESOURCE_EXHAUSTED',
  ERR_REMOTE: 'UNAVAILABLE',
  ERR_AUTH: 'PERMISSION_DENIED',
  ERR_QUOTA: 'RESOURCE_EXHAUSTED',
  ERR_TIMEOUT: 'DEADLINE_EXCEEDED',
  ERR_ABORTED: 'CANCELLED',
}

/**
 * A snapshelf error as a `GenkitError` with the matching status (the snapshelf error kept as its
 * `cause`, its `code` in `detail`); anything else (a mutator's own throw) unchanged.
 *
 * @example
 * throw asGenkitError(new ValidationError('snapshotId', 'must …')) // GenkitError INVALID_ARGUMENT
 */
export function asGenkitError(error: unknown): unknown {
  if (!(error instanceof SnapshelfError)) return error
  const wrapped = new GenkitError({ status: STATUS[error.code], message: error.message, detail: { code: error.code } })
  Object.defineProperty(wrapped, 'cause', { value: error, configurable: true, writable: true })
  return wrapped
}

/**
 * A `GenkitError` with `status`, for refusals Genkit's own stores make with that status.
 *
 * @example
 * throw genkitError('FAILED_PRECONDITION', "Session 's1' has no leaf snapshot …")
 */
export function genkitError(status: StatusName, message: string): GenkitError {
  return new GenkitError({ status, message })
}
