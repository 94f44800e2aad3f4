/**
 * The wire protocol between `HttpStorage` (client) and `createSnapshotHandler` (server): a small
 * REST mapping of the byte-backend operations. Keys are relative to the server's storage prefix.
 *
 * ```
 * GET    {base}/objects/<key>   → 200 bytes, ETag            | 404
 * HEAD   {base}/objects/<key>   → 200 ETag, Snapshelf-Size    | 404
 * PUT    {base}/objects/<key>   If-Match: <etag> | If-None-Match: *  [Snapshelf-Tokens]  → 204 ETag | 412
 * DELETE {base}/objects/<key>   → 204 (absent keys are fine)
 * GET    {base}/list?prefix=<p>&startAfter=<key>&limit=<1..1000>
 *        → 200 {"entries":[{"key","size","etag"}],"truncated":bool}   (one session per listing)
 * POST   {base}/delete  {"keys":[…]}  (at most 1000, one session) → 204
 * errors → {"error":"<message>"} with 400/401/403/404/405/412/413/502/507 (never internals)
 * ```
 * ETags are the backend's opaque tags inside quotes, with `"`, `%` and anything outside the
 * ETag alphabet percent-encoded, so every backend tag survives the round trip exactly.
 *
 * `Snapshelf-Tokens: <ours>,<chain…>` (at most 49 tokens of `[A-Za-z0-9_-]{1,24}`, else 400) is
 * the conditional PUT's write tokens: the writer's random token, then the tokens of the object it
 * replaces, as read. The server hands them to its backend; one that keeps them (R2) returns them
 * in `Snapshelf-Tokens` on GET / HEAD, so a client whose PUT answer was lost can tell whether the
 * write landed (its token is there) or a rival's did (a chain without it).
 */

/** @internal */
export const SIZE_HEADER = 'Snapshelf-Size'
/** @internal Write tokens of a conditional PUT (request) or of the stored object (GET / HEAD). */
export const TOKENS_HEADER = 'Snapshelf-Tokens'
/** @internal Keys per batch delete, the same cap as S3 DeleteObjects and R2 `delete`. */
export const MAX_BATCH = 1000

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
