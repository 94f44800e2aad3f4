import type { SessionQuery } from './backend.js'
import { ValidationError } from './errors.js'
import { checkId } from './ids.js'
import type { ListSessionsOptions } from './types.js'

/**
 * The session catalogue's query, checked before any I/O by every storage's \`listSessions\` and the
 * HTTP handler's \`/sessions\`. Apart from core/catalogue.ts, which storages import on first use.
 */

/** An ISO 8601 date, or date and time with a zone (a time without one would be read as local time). */
const ISO_DATE = /^\d{4}-\d\d-\d\d(T\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d))?$/

/**
 * The catalogue query of `options`, validated before any I/O.
 *
 * @example
 * checkSessionQuery({ limit: 0 }) // throws ValidationError (limit)
 */
export function checkSessionQuery(options: ListSessionsOptions | undefined): SessionQuery {
  const { startAfter, limit = 100, updatedBefore, metadata, order } = options ?? {}
  if (order !== undefined && order !== 'key' && order !== 'recent') throw new ValidationError('order', "must be 'key' or 'recent'")
  if (order === 'recent' && startAfter !== undefined)
    throw new ValidationError('startAfter', "cannot be combined with order 'recent' (one page)")
  if (metadata !== undefined && metadata !== 'listed' && metadata !== 'head')
    throw new ValidationError('metadata', "must be 'listed' or 'head'")
  if (startAfter !== undefined) checkId('startAfter', startAfter)
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new ValidationError('limit', 'must be an integer from 1 to 1000')
  let before: number | undefined
  if (updatedBefore !== undefined) {
    before =
      updatedBefore instanceof Date ? updatedBefore.getTime() : ISO_DATE.test(updatedBefore as string) ? Date.parse(updatedBefore) : NaN
    if (Number.isNaN(before)) throw new ValidationError('updatedBefore', 'must be a valid Date or ISO 8601 string')
  }
  return {
    startAfter,
    limit,
    updatedBefore: before,
    ...(metadata === 'head' ? { metadata } : {}),
    ...(order === 'recent' ? { order } : {}),
  }
}
