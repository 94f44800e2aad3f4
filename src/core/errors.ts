/**
 * Typed errors. One base class with a stable `code`; one small explicit class per failure with a
 * `static code` and a narrowed `code`, and `AnySnapshelfError` to switch on. Names are set
 * explicitly so they survive minification. No message ever carries a secret or a signature:
 * backends pass only status, server code, request id and key.
 */

/**
 * Stable error codes; switch on these, never on messages.
 *
 * @example
 * if (err instanceof SnapshelfError && err.code === 'ERR_CONFLICT') retry()
 */
export type SnapshelfErrorCode =
  | 'ERR_VALIDATION'
  | 'ERR_CONFLICT'
  | 'ERR_CORRUPT'
  | 'ERR_TOO_LARGE'
  | 'ERR_REMOTE'
  | 'ERR_AUTH'
  | 'ERR_QUOTA'
  | 'ERR_TIMEOUT'
  | 'ERR_ABORTED'

/**
 * Extra context an error may carry.
 *
 * @example
 * new RemoteError('S3 GetObject failed', { status: 503, serverCode: 'SlowDown', requestId: 'tx1' })
 */
export interface SnapshelfErrorDetails {
  cause?: unknown
  /** The storage key involved, when there is one. */
  key?: string
  /** The offending field, for validation errors. */
  field?: string
  /** HTTP status of a remote failure. */
  status?: number
  /** The server's own error code, e.g. S3's `SlowDown`. */
  serverCode?: string
  /** The server's request id, for support tickets. */
  requestId?: string
}

/**
 * Base class of every error snapshelf throws.
 *
 * @example
 * try { await store.loadSnapshot({ location }) }
 * catch (e) { if (e instanceof SnapshelfError) console.error(e.code, e.key) }
 */
export class SnapshelfError extends Error {
  readonly code: SnapshelfErrorCode
  // Declared, not defined: `Object.assign` below sets only the context an error has, so no
  // error carries a row of `undefined` fields (and the bundle no field initialisers).
  declare readonly key?: string
  declare readonly field?: string
  declare readonly status?: number
  declare readonly serverCode?: string
  declare readonly requestId?: string

  constructor(code: SnapshelfErrorCode, message: string, details: SnapshelfErrorDetails = {}) {
    const { cause, ...context } = details
    super(message, cause === undefined ? undefined : { cause })
    this.name = 'SnapshelfError'
    this.code = code
    Object.assign(this, context)
  }

  /** A JSON form with the context but never the cause (which might hold request internals). */
  toJSON(): Record<string, unknown> {
    return { ...(this as object), message: this.message }
  }
}

/**
 * Bad input, rejected before any I/O; the message names the field and the rule.
 *
 * @example
 * new ValidationError('location.sessionId', 'must match ^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$')
 */
export class ValidationError extends SnapshelfError {
  static readonly code = 'ERR_VALIDATION'
  declare readonly code: 'ERR_VALIDATION'
  constructor(field: string, rule: string, details: SnapshelfErrorDetails = {}) {
    super('ERR_VALIDATION', `${field} ${rule}`, { ...details, field })
    this.name = 'ValidationError'
  }
}

/**
 * A write lost to another writer: a compare-and-swap that kept losing, or a history id reused
 * for different bytes.
 *
 * @example
 * new ConflictError('latest changed 10 times while updating', { key })
 */
export class ConflictError extends SnapshelfError {
  static readonly code = 'ERR_CONFLICT'
  declare readonly code: 'ERR_CONFLICT'
  constructor(message: string, details?: SnapshelfErrorDetails) {
    super('ERR_CONFLICT', message, details)
    this.name = 'ConflictError'
  }
}
/**
 * Stored bytes that do not decode: garbage, truncated gzip, invalid UTF-8 or JSON.
 *
 * @example
 * new CorruptError('invalid JSON', { key })
 */
export class CorruptError extends SnapshelfError {
  static readonly code = 'ERR_CORRUPT'
  declare readonly code: 'ERR_CORRUPT'
  constructor(message: string, details?: SnapshelfErrorDetails) {
    super('ERR_CORRUPT', message, details)
    this.name = 'CorruptError'
  }
}
/**
 * A snapshot (or request body) larger than the configured limit, including gzip bombs.
 *
 * @example
 * new TooLargeError('decoded size exceeds 67108864 bytes', { key })
 */
export class TooLargeError extends SnapshelfError {
  static readonly code = 'ERR_TOO_LARGE'
  declare readonly code: 'ERR_TOO_LARGE'
  constructor(message: string, details?: SnapshelfErrorDetails) {
    super('ERR_TOO_LARGE', message, details)
    this.name = 'TooLargeError'
  }
}
/**
 * A remote service failed (after retries where retrying was safe).
 *
 * @example
 * new RemoteError('PutObject failed', { status: 500, serverCode: 'InternalError', requestId })
 */
export class RemoteError extends SnapshelfError {
  static readonly code = 'ERR_REMOTE'
  declare readonly code: 'ERR_REMOTE'
  constructor(message: string, details?: SnapshelfErrorDetails) {
    super('ERR_REMOTE', message, details)
    this.name = 'RemoteError'
  }
}
/**
 * The remote refused our credentials or the caller's authorization.
 *
 * @example
 * new AuthError('SignatureDoesNotMatch', { status: 403, serverCode: 'SignatureDoesNotMatch' })
 */
export class AuthError extends SnapshelfError {
  static readonly code = 'ERR_AUTH'
  declare readonly code: 'ERR_AUTH'
  constructor(message: string, details?: SnapshelfErrorDetails) {
    super('ERR_AUTH', message, details)
    this.name = 'AuthError'
  }
}
/**
 * Local storage is full (IndexedDB `QuotaExceededError`, HTTP 507).
 *
 * @example
 * new QuotaError('IndexedDB quota exceeded', { key })
 */
export class QuotaError extends SnapshelfError {
  static readonly code = 'ERR_QUOTA'
  declare readonly code: 'ERR_QUOTA'
  constructor(message: string, details?: SnapshelfErrorDetails) {
    super('ERR_QUOTA', message, details)
    this.name = 'QuotaError'
  }
}
/**
 * A request took longer than its timeout.
 *
 * @example
 * new TimeoutError('GET timed out after 10000 ms', { key })
 */
export class TimeoutError extends SnapshelfError {
  static readonly code = 'ERR_TIMEOUT'
  declare readonly code: 'ERR_TIMEOUT'
  constructor(message: string, details?: SnapshelfErrorDetails) {
    super('ERR_TIMEOUT', message, details)
    this.name = 'TimeoutError'
  }
}
/** The one message of every abort: the caller knows what it aborted. */
const ABORTED = 'operation aborted'

/**
 * The caller's `AbortSignal` fired; `cause` is the signal's reason.
 *
 * @example
 * new AbortedError(undefined, { cause: signal.reason })
 */
export class AbortedError extends SnapshelfError {
  static readonly code = 'ERR_ABORTED'
  declare readonly code: 'ERR_ABORTED'
  constructor(message = ABORTED, details?: SnapshelfErrorDetails) {
    super('ERR_ABORTED', message, details)
    this.name = 'AbortedError'
  }
}

/**
 * Every error snapshelf throws, as a union: `switch (error.code)` narrows to the class.
 *
 * @example
 * function describe(error: AnySnapshelfError): string {
 *   switch (error.code) {
 *     case 'ERR_REMOTE': return `server said ${error.status}`
 *     case 'ERR_VALIDATION': return `bad ${error.field}`
 *     default: return error.message
 *   }
 * }
 */
export type AnySnapshelfError =
  | ValidationError
  | ConflictError
  | CorruptError
  | TooLargeError
  | RemoteError
  | AuthError
  | QuotaError
  | TimeoutError
  | AbortedError

/**
 * Throws `AbortedError` when `signal` has fired; call before each step of a long operation.
 *
 * @example
 * throwIfAborted(signal)
 */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortedError(undefined, { cause: signal.reason })
}
