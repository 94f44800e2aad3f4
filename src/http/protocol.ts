import { AuthError, QuotaError, RemoteError, SnapshelfError, TooLargeError } from '../core/errors.js'
import { isStoredMetadata } from '../core/metadata.js'
import { PAGE_SIZE, toBase64 } from '../core/util.js'

/**
 * The wire protocol between `HttpStorage` (client) and `createSnapshotHandler` (server): a small
 * REST mapping of the byte-backend operations. Keys are relative to the server's storage prefix.
 *
 * ```
 * GET    {base}/objects/<key>   → 200 bytes, ETag, [Snapshelf-Metadata]             | 404
 * HEAD   {base}/objects/<key>   → 200 ETag, Snapshelf-Size, [Snapshelf-Metadata]    | 404
 * PUT    {base}/objects/<key>   If-Match: <etag> | If-None-Match: *  [Snapshelf-Tokens] [Content-Digest] [Snapshelf-Metadata]  → 204 ETag | 412
 * DELETE {base}/objects/<key>   → 204 (absent keys are fine)
 * GET    {base}/list?prefix=<p>&startAfter=<key>&limit=<1..1000>
 *        → 200 {"entries":[{"key","size","etag","metadata"?}],"truncated":bool,"metadataListed"?:true}   (one session per listing)
 * POST   {base}/delete  Content-Type: application/json  {"keys":[…]}  (at most 1000, one session) → 204 | 415
 * GET    {base}/sessions?startAfter=<sessionId>&limit=<1..1000>&updatedBefore=<ISO 8601>&metadata=head
 *        → 200 {"items":[{"sessionId","updatedAt":<ISO>|null,"storedBytes"?,"metadata"?}],"nextStartAfter"?}
 *          (the session catalogue, only the sessions `authorize` lets the request list)
 * errors → {"error":"<message>"} with 400/401/403/404/405/412/413/415/502/507 (never internals)
 * ```
 * ETags are the backend's opaque tags inside quotes, with `"`, `%` and anything outside the
 * ETag alphabet percent-encoded, so every backend tag survives the round trip exactly.
 *
 * `Snapshelf-Tokens: <ours>,<chain…>` (at most 49 tokens of `[A-Za-z0-9_-]{1,24}`, else 400) is
 * the conditional PUT's write tokens: the writer's random token, then the tokens of the object it
 * replaces, as read. The server hands them to its backend; one that keeps them (R2) returns them
 * in `Snapshelf-Tokens` on GET / HEAD, so a client whose PUT answer was lost can tell whether the
 * write landed (its token is there) or a rival's did (a chain without it).
 *
 * `Snapshelf-Metadata: {"title":"R%C3%A9sum%C3%A9","turn":"3"}` is a snapshot's metadata in its
 * stored form (core/metadata.ts: names of `a-z 0-9 -`, printable-ASCII values, 1 KiB in all) as
 * one JSON object: on a PUT, stored with the object (anything else is 400); on GET / HEAD, what it
 * was stored with. In `/list`, `metadataListed: true` says the server's backend lists metadata
 * (entries without `metadata` have none); without it, a client HEADs an object to read it.
 * `/sessions` items carry the session's `metadata` decoded (JSON text, any Unicode).
 *
 * `Content-Digest: sha-256=:<base64>:` (RFC 9530) is the SHA-256 of a PUT's body; `HttpStorage`
 * always sends it. A body cut off on the way can reach a Worker as a clean end of stream, so the
 * handler checks what it received before it replaces anything: a body that disagrees with its
 * `Content-Length` or its digest, a digest header without a well-formed `sha-256` member, and an
 * empty body (no snapshot encodes to 0 bytes) are 400. Clients that send no digest (earlier
 * versions) are still served, with the length and emptiness checks only.
 *
 * Failure statuses mean the same thing in both directions, and this module is their one owner:
 * `Refusal` is how the handler answers one, `storageRefusal` picks the status of a failure of the
 * handler's own storage, and `errorOfAnswer` is the typed error the client raises for it.
 */

/** @internal */
export const SIZE_HEADER = 'Snapshelf-Size'
/** @internal Write tokens of a conditional PUT (request) or of the stored object (GET / HEAD). */
export const TOKENS_HEADER = 'Snapshelf-Tokens'
/** @internal Snapshot metadata (stored form) as a JSON object: PUT request, GET / HEAD answer. */
export const METADATA_HEADER = 'Snapshelf-Metadata'

/**
 * @internal The stored metadata a `Snapshelf-Metadata` header carries: `undefined` when there is
 * no header, `null` when there is one but it is not a JSON object of stored metadata (the caller
 * refuses it in its own words: 400 on the handler, "not the handler's" on the client).
 *
 * @example
 * metadataOfHeader(new Headers({ 'Snapshelf-Metadata': '{"turn":"3"}' })) // { turn: '3' }
 */
export function metadataOfHeader(headers: Headers): Record<string, string> | null | undefined {
  const header = headers.get(METADATA_HEADER)
  if (header === null) return undefined
  let metadata: unknown
  try {
    metadata = JSON.parse(header)
  } catch {
    return null
  }
  return isStoredMetadata(metadata) ? metadata : null
}
/** @internal The SHA-256 of a PUT's body (RFC 9530). */
export const DIGEST_HEADER = 'Content-Digest'
/** @internal Keys per listing page and per batch delete: the S3 DeleteObjects and R2 `delete` cap. */
export const MAX_BATCH = PAGE_SIZE

/** @internal A backend ETag as an HTTP entity tag. */
export function toEntityTag(etag: string): string {
  return `"${etag.replace(/[^\x21\x23\x24\x26-\x7e]/gu, encodeURIComponent)}"`
}

/** @internal The backend ETag inside an `If-Match` value (weak prefix tolerated), or undefined if malformed. */
export function fromEntityTag(value: string): string | undefined {
  const m = /^(?:W\/)?"([\x21\x23-\x7e]*)"$/.exec(value.trim())
  if (!m) return undefined
  try {
    return decodeURIComponent(m[1]!)
  } catch {
    return undefined
  }
}

/**
 * @internal The `Content-Digest` value of `body`: its SHA-256 as an RFC 9530 `sha-256` member.
 *
 * @example
 * headers.set(DIGEST_HEADER, await contentDigest(body)) // 'sha-256=:47DEQpj8…=:'
 */
export async function contentDigest(body: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', body as Uint8Array<ArrayBuffer>)
  return `sha-256=:${toBase64(new Uint8Array(digest))}:`
}

/**
 * @internal The `sha-256` member of a `Content-Digest` value as we send it (`sha-256=:<base64>:`),
 * or `undefined` when there is none or it is malformed. Other algorithms' members are skipped:
 * RFC 9530 lets a recipient ignore digests it does not support.
 *
 * @example
 * sha256Member('sha-512=:…:, sha-256=:47DEQpj8…=:') // 'sha-256=:47DEQpj8…=:'
 */
export function sha256Member(value: string): string | undefined {
  return value
    .split(',')
    .map((member) => member.trim())
    .find((member) => /^sha-256=:[A-Za-z0-9+/]{43}=:$/.test(member))
}

/**
 * @internal The handler's one way to refuse a request: an error that carries its answer, a
 * `{"error": message}` JSON response with `status` (hono's `HTTPException` shape). Any step may
 * throw one; the handler answers `response` as is. `message` is public: it must say what was
 * wrong with the request and nothing about the server's internals.
 *
 * @example
 * throw new Refusal(403, 'forbidden')
 */
export class Refusal extends Error {
  // Declared, not defined: the constructor sets it (and the bundle carries no field initialiser).
  declare readonly response: Response

  constructor(status: number, message: string) {
    super(message)
    this.name = 'Refusal'
    this.response = Response.json({ error: message }, { status })
  }
}

/**
 * @internal The refusal answering a failure of the handler's own storage: 413 and 507 are
 * conditions the client can act on (a smaller snapshot, less data); anything else is a 502 that
 * says no more than "storage failed", since its details are the server's (log them with `onError`).
 *
 * @example
 * catch (error) { return storageRefusal(error).response }
 */
export function storageRefusal(error: unknown): Refusal {
  // By code, not `instanceof`: the handler's bundle then needs no error class it never throws.
  const code = error instanceof SnapshelfError ? error.code : undefined
  if (code === 'ERR_TOO_LARGE') return new Refusal(413, 'too large')
  if (code === 'ERR_QUOTA') return new Refusal(507, 'storage full')
  return new Refusal(502, 'storage failed')
}

/** `Bearer <credential>` and the other `Authorization` schemes. */
const AUTH_SCHEME = /\b(Bearer|Basic|Digest|Token|Negotiate|AWS4-HMAC-SHA256)\s+[^\s"',;]+/gi
/** `<name>: <value>` / `<name>=<value>` where the name says it is a credential (`X-Amz-Signature=…`, `session=…`). */
const NAMED_CREDENTIAL =
  /\b([\w-]*(?:authorization|cookie|token|secret|passw(?:or)?d|signature|credential|api[-_]?key|session)[\w-]*)(["']?\s*[:=]\s*["']?)[^\s"',;&]+/gi
/** A run of token characters long enough to be a key, signature or JWT. */
const OPAQUE = /[\w+/=.~-]{20,}/g

/**
 * @internal `text` (a server's words, about to enter an error message) without anything that
 * looks like a credential: the `secrets` we sent (header values, and their parts of 8 characters
 * or more, since an echo may quote a token without its scheme), `Bearer …` and the other schemes,
 * values of credential-named fields, and long opaque runs of letters and digits (keys,
 * signatures, JWTs). An error body that echoes the request's headers must not carry them on.
 *
 * @example
 * redactSecrets('bad header Authorization: Bearer abc123', ['Bearer abc123']) // 'bad header Authorization: [redacted]'
 */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  let redacted = text
  const parts = secrets.flatMap((secret) => [secret, ...secret.split(/[\s,;=]+/)]).filter((part) => part.length >= 8)
  // Longest first, so a value is replaced whole before any of its parts.
  for (const part of parts.sort((a, b) => b.length - a.length)) redacted = redacted.split(part).join('[redacted]')
  redacted = redacted.replace(AUTH_SCHEME, '$1 [redacted]').replace(NAMED_CREDENTIAL, '$1$2[redacted]')
  return redacted.replace(OPAQUE, (run) => (/\d/.test(run) && /[a-z]/i.test(run) ? '[redacted]' : run))
}

/**
 * @internal The typed error of a failure answer: 401 / 403 `AuthError`, 413 `TooLargeError`,
 * 507 `QuotaError`, anything else `RemoteError`, each with `status`. The message is `what` (the
 * request, which must hold no secret), the status, and the handler's `{"error"}` message when the
 * body is one (a proxy's page is not quoted: the status text is all there is), with anything that
 * looks like a credential, the request's own header values (`secrets`) first, redacted.
 *
 * @example
 * if (!response.ok) throw errorOfAnswer('HTTP GET /objects/k', response, body, ['Bearer abc123'])
 */
export function errorOfAnswer(what: string, response: Response, body: Uint8Array, secrets: readonly string[]): SnapshelfError {
  const status = response.status
  let message = response.statusText
  try {
    const error: unknown = JSON.parse(new TextDecoder().decode(body)).error
    if (typeof error === 'string') message = error
  } catch {
    // Not our handler's JSON: the status text is all there is.
  }
  const Kind = status === 401 || status === 403 ? AuthError : status === 413 ? TooLargeError : status === 507 ? QuotaError : RemoteError
  return new Kind(`${what}: ${status} ${redactSecrets(message, secrets)}`.slice(0, 300), { status })
}
