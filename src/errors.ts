/**
 * Typed errors. One base class with a stable `code`; a subclass per failure. Names are set
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
  readonly key?: string
  readonly field?: string
  readonly status?: number
  readonly serverCode?: string
  readonly requestId?: string

  constructor(code: SnapshelfErrorCode, message: string, details: SnapshelfErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.name = 'SnapshelfError'
    this.code = code
    if (details.key !== undefined) this.key = details.key
    if (details.field !== undefined) this.field = details.field
    if (details.status !== undefined) this.status = details.status
    if (details.serverCode !== undefined) this.serverCode = details.serverCode
    if (details.requestId !== undefined) this.requestId = details.requestId
  }

  /** A JSON form with the context but never the cause's internals (which might hold request data). */
  toJSON(): Record<string, unknown> {
    const { name, code, message, key, field, status, serverCode, requestId } = this
    return { name, code, message, key, field, status, serverCode, requestId }
  }
}

/**
 * Bad input, rejected before any I/O.
 *
 * @example
 * new ValidationError('location.sessionId', 'must match ^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$')
 */
export class ValidationError extends SnapshelfError {
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
  constructor(message: string, details: SnapshelfErrorDetails = {}) {
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
  constructor(message: string, details: SnapshelfErrorDetails = {}) {
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
  constructor(message: string, details: SnapshelfErrorDetails = {}) {
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
  constructor(message: string, details: SnapshelfErrorDetails = {}) {
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
  constructor(message: string, details: SnapshelfErrorDetails = {}) {
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
  constructor(message: string, details: SnapshelfErrorDetails = {}) {
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
  constructor(message: string, details: SnapshelfErrorDetails = {}) {
    super('ERR_TIMEOUT', message, details)
    this.name = 'TimeoutError'
  }
}

/**
 * The caller's `AbortSignal` fired.
 *
 * @example
 * new AbortedError('aborted by caller', { cause: signal.reason })
 */
export class AbortedError extends SnapshelfError {
  constructor(message = 'operation aborted', details: SnapshelfErrorDetails = {}) {
    super('ERR_ABORTED', message, details)
    this.name = 'AbortedError'
  }
}

/**
 * Throws `AbortedError` when `signal` has fired; call before each step of a long operation.
 *
 * @example
 * throwIfAborted(signal)
 */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortedError('operation aborted', { cause: signal.reason })
}
