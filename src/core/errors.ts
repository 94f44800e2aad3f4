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

/** The constructor shape every failure-specific subclass shares. */
type ErrorClass = new (message?: string, details?: SnapshelfErrorDetails) => SnapshelfError

// One factory instead of seven hand-written subclasses keeps the core bundle small; the explicit
// `name` survives minification.
const subclass = (code: SnapshelfErrorCode, name: string, fallback = ''): ErrorClass =>
  class extends SnapshelfError {
    constructor(message = fallback, details?: SnapshelfErrorDetails) {
      super(code, message, details)
      this.name = name
    }
  }

/**
 * Bad input, rejected before any I/O; the message names the field and the rule.
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
export const ConflictError = /* @__PURE__ */ subclass('ERR_CONFLICT', 'ConflictError')
/**
 * What a caught `ConflictError` is: a `SnapshelfError`; `e instanceof ConflictError` narrows to it.
 *
 * @example
 * function handle(e: ConflictError) { console.error(e.code, e.key) }
 */
export type ConflictError = SnapshelfError

/**
 * Stored bytes that do not decode: garbage, truncated gzip, invalid UTF-8 or JSON.
 *
 * @example
 * new CorruptError('invalid JSON', { key })
 */
export const CorruptError = /* @__PURE__ */ subclass('ERR_CORRUPT', 'CorruptError')
/**
 * What a caught `CorruptError` is: a `SnapshelfError`; `e instanceof CorruptError` narrows to it.
 *
 * @example
 * function handle(e: CorruptError) { console.error(e.code, e.key) }
 */
export type CorruptError = SnapshelfError

/**
 * A snapshot (or request body) larger than the configured limit, including gzip bombs.
 *
 * @example
 * new TooLargeError('decoded size exceeds 67108864 bytes', { key })
 */
export const TooLargeError = /* @__PURE__ */ subclass('ERR_TOO_LARGE', 'TooLargeError')
/**
 * What a caught `TooLargeError` is: a `SnapshelfError`; `e instanceof TooLargeError` narrows to it.
 *
 * @example
 * function handle(e: TooLargeError) { console.error(e.code, e.key) }
 */
export type TooLargeError = SnapshelfError

/**
 * A remote service failed (after retries where retrying was safe).
 *
 * @example
 * new RemoteError('PutObject failed', { status: 500, serverCode: 'InternalError', requestId })
 */
export const RemoteError = /* @__PURE__ */ subclass('ERR_REMOTE', 'RemoteError')
/**
 * What a caught `RemoteError` is: a `SnapshelfError`; `e instanceof RemoteError` narrows to it.
 *
 * @example
 * function handle(e: RemoteError) { console.error(e.code, e.key) }
 */
export type RemoteError = SnapshelfError

/**
 * The remote refused our credentials or the caller's authorization.
 *
 * @example
 * new AuthError('SignatureDoesNotMatch', { status: 403, serverCode: 'SignatureDoesNotMatch' })
 */
export const AuthError = /* @__PURE__ */ subclass('ERR_AUTH', 'AuthError')
/**
 * What a caught `AuthError` is: a `SnapshelfError`; `e instanceof AuthError` narrows to it.
 *
 * @example
 * function handle(e: AuthError) { console.error(e.code, e.key) }
 */
export type AuthError = SnapshelfError

/**
 * Local storage is full (IndexedDB `QuotaExceededError`, HTTP 507).
 *
 * @example
 * new QuotaError('IndexedDB quota exceeded', { key })
 */
export const QuotaError = /* @__PURE__ */ subclass('ERR_QUOTA', 'QuotaError')
/**
 * What a caught `QuotaError` is: a `SnapshelfError`; `e instanceof QuotaError` narrows to it.
 *
 * @example
 * function handle(e: QuotaError) { console.error(e.code, e.key) }
 */
export type QuotaError = SnapshelfError

/**
 * A request took longer than its timeout.
 *
 * @example
 * new TimeoutError('GET timed out after 10000 ms', { key })
 */
export const TimeoutError = /* @__PURE__ */ subclass('ERR_TIMEOUT', 'TimeoutError')
/**
 * What a caught `TimeoutError` is: a `SnapshelfError`; `e instanceof TimeoutError` narrows to it.
 *
 * @example
 * function handle(e: TimeoutError) { console.error(e.code, e.key) }
 */
export type TimeoutError = SnapshelfError

/**
 * The caller's `AbortSignal` fired.
 *
 * @example
 * new AbortedError('aborted by caller', { cause: signal.reason })
 */
export const AbortedError = /* @__PURE__ */ subclass('ERR_ABORTED', 'AbortedError', 'operation aborted')
/**
 * What a caught `AbortedError` is: a `SnapshelfError`; `e instanceof AbortedError` narrows to it.
 *
 * @example
 * function handle(e: AbortedError) { console.error(e.code, e.key) }
 */
export type AbortedError = SnapshelfError

/**
 * Throws `AbortedError` when `signal` has fired; call before each step of a long operation.
 *
 * @example
 * throwIfAborted(signal)
 */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortedError('operation aborted', { cause: signal.reason })
}
