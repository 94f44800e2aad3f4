import type { Backend } from '../core/backend.js'
import { SnapshelfError, ValidationError } from '../core/errors.js'
import { parseKey, sessionOfListing } from '../core/keys.js'
import { MAX_BATCH, SIZE_HEADER, TOKENS_HEADER, fromEntityTag, toEntityTag } from './protocol.js'

/**
 * What a request wants to do to a session; `authorize` decides per session and operation.
 *
 * @example
 * const op: SnapshotOperation = 'write'
 */
export type SnapshotOperation = 'read' | 'write' | 'delete' | 'list'

/**
 * Options of `createSnapshotHandler`.
 *
 * @example
 * const options: SnapshotHandlerOptions = {
 *   storage: new R2Storage({ bucket: env.SNAPSHOTS }),
 *   authorize: (request, { sessionId }) => sessionsOf(request).includes(sessionId),
 *   basePath: '/api',
 * }
 */
export interface SnapshotHandlerOptions {
  /**
   * The storage whose bytes are served: any of our storages (`R2Storage`, `S3Storage`, …). The
   * handler uses its `backend` and `prefix` only: it moves encoded bytes and never gzips or parses.
   */
  storage: { backend: Backend; prefix: string }
  /**
   * Required. Resolves `true` to allow `op` on `sessionId` (derived from the validated key, never
   * from the client's say-so). Anything else is 403; a throw is 401. Runs before any storage I/O.
   */
  authorize: (request: Request, access: { sessionId: string; op: SnapshotOperation }) => boolean | Promise<boolean>
  /** Path prefix the handler is mounted under, e.g. `'/api'` (default: none). */
  basePath?: string
  /** Largest accepted request body in bytes (default 32 MiB); larger is 413. */
  maxBodyBytes?: number
  /** Cross-origin access for browsers on other origins; absent means same-origin only. */
  cors?: {
    /** Allowed origins (`'https://app.example'`), or `'*'` for any. */
    origins: string[] | '*'
    /** Extra request headers to allow besides Authorization, Content-Type, If-Match, If-None-Match, Snapshelf-Tokens. */
    allowHeaders?: string[]
    /** Preflight cache lifetime in seconds (default 600). */
    maxAgeSeconds?: number
  }
  /** Called with storage failures (answered 5xx without details), for your logs. */
  onError?: (error: unknown, request: Request) => void
}

const METHODS = 'GET, HEAD, PUT, DELETE, POST, OPTIONS'

const empty = (status: number, headers?: Record<string, string>): Response => new Response(null, { status, headers })
/** A JSON error answer; thrown inside the handler and returned as is. */
const refuse = (status: number, error: string): Response => Response.json({ error }, { status })

/**
 * The session a key belongs to, after checking the key IS one of the layout's keys (no prefix:
 * keys are relative to the storage's). Deletes also accept Strands' own history names
 * (`snapshot_<id>.json`), so `deleteSession` can clear a bucket Strands wrote.
 */
function sessionOfKey(value: unknown, deleting: boolean): string {
  const parsed = parseKey(typeof value === 'string' ? value : '')
  if (!parsed || parsed.prefix || (parsed.kind === 'foreignHistory' && !deleting)) {
    throw new ValidationError('key', 'must follow the snapshot key layout')
  }
  return parsed.location.sessionId
}

/**
 * Exposes a storage over HTTP for browsers and other clients (`HttpStorage`): a
 * `(Request) => Promise<Response>` for Workers, Deno, Bun, Node or any fetch-style server.
 * Every key is validated against the key layout and every request authorized for the one
 * session it touches; encoded bytes and ETags pass through untouched, so compare-and-swap
 * (`updateLatest`) stays atomic end to end. Bad input is 4xx, never 500.
 *
 * @example
 * import { createSnapshotHandler } from 'snapshelf/http'
 * import { R2Storage } from 'snapshelf/r2'
 * export default {
 *   fetch(request: Request, env: Env) {
 *     const handle = createSnapshotHandler({
 *       storage: new R2Storage({ bucket: env.SNAPSHOTS }),
 *       basePath: '/api',
 *       authorize: (req, { sessionId }) => req.headers.get('authorization') === `Bearer ${env.TOKEN}` && sessionId.startsWith('u1-'),
 *     })
 *     return handle(request)
 *   },
 * }
 */
export function createSnapshotHandler(options: SnapshotHandlerOptions): (request: Request) => Promise<Response> {
  const { storage, authorize, cors, onError } = options ?? ({} as SnapshotHandlerOptions)
  if (typeof authorize !== 'function') throw new ValidationError('authorize', 'is required: (request, { sessionId, op }) => boolean')
  if (typeof storage?.backend?.get !== 'function' || typeof storage.prefix !== 'string') {
    throw new ValidationError('storage', 'must be a snapshelf storage (with backend and prefix)')
  }
  const maxBody = options.maxBodyBytes ?? 32 * 1024 * 1024
  const base = `${(options.basePath ?? '').replace(/\/+$/, '')}/`
  const origins = cors?.origins
  const { backend } = storage
  const root = storage.prefix ? `${storage.prefix}/` : ''

  /** Reads the body, refusing more than `max` bytes by Content-Length and while streaming. */
  const readBody = async (request: Request, max = maxBody): Promise<Uint8Array> => {
    const declared = request.headers.get('content-length')
    // A malformed length counts as too large (NaN is never <= max).
    if (declared && !(+declared <= max)) throw refuse(413, 'body too large')
    const chunks: Uint8Array[] = []
    let size = 0
    const reader = request.body?.getReader()
    try {
      for (let r; reader && !(r = await reader.read()).done; ) {
        if ((size += r.value.length) > max) throw refuse(413, 'body too large')
        chunks.push(r.value)
      }
    } catch (e) {
      void reader?.cancel().catch(() => {})
      throw e instanceof Response ? e : refuse(400, 'unreadable body')
    }
    const body = new Uint8Array(size)
    size = 0
    for (const c of chunks) body.set(c, (size += c.length) - c.length)
    return body
  }

  const route = async (request: Request): Promise<Response> => {
    const method = request.method
    const url = new URL(request.url)
    let path = url.pathname
    if (!path.startsWith(base)) throw refuse(404, 'not found')
    try {
      path = decodeURIComponent(path.slice(base.length))
    } catch {
      throw refuse(400, 'bad percent-encoding')
    }
    // Authorization runs on the session the validated key names, before any storage I/O.
    const check = async (sessionId: string, op: SnapshotOperation): Promise<void> => {
      let allowed: unknown
      try {
        allowed = await authorize(request, { sessionId, op })
      } catch {
        throw refuse(401, 'unauthorized')
      }
      if (allowed !== true) throw refuse(403, 'forbidden')
    }

    if (path.startsWith('objects/')) {
      const key = path.slice(8)
      const op: SnapshotOperation | undefined =
        method === 'GET' || method === 'HEAD' ? 'read' : method === 'PUT' ? 'write' : method === 'DELETE' ? 'delete' : undefined
      if (!op) throw refuse(405, 'method not allowed')
      await check(sessionOfKey(key, op === 'delete'), op)
      const full = root + key
      if (op === 'write') {
        const ifMatch = request.headers.get('if-match')
        const ifNoneMatch = request.headers.get('if-none-match')
        // Write tokens are opaque to us but bounded (1 + 48 of [A-Za-z0-9_-]{1,24}): the backend stores them as metadata.
        const tokens = request.headers.get(TOKENS_HEADER)
        const etag = ifMatch === null ? undefined : fromEntityTag(ifMatch)
        if (
          (ifMatch !== null && (etag === undefined || ifNoneMatch !== null)) ||
          (ifNoneMatch !== null && ifNoneMatch.trim() !== '*') ||
          (tokens !== null && !/^[\w-]{1,24}(,[\w-]{1,24}){0,48}$/.test(tokens))
        ) {
          throw refuse(400, `bad If-Match / If-None-Match / ${TOKENS_HEADER}`)
        }
        const put = await backend.put(full, await readBody(request), {
          ifMatch: etag,
          ifNoneMatch: ifNoneMatch ? '*' : undefined,
          tokens: tokens?.split(','),
        })
        if (!put) throw refuse(412, 'precondition failed')
        return empty(204, { etag: toEntityTag(put.etag) })
      }
      if (op === 'delete') {
        await backend.delete([full])
        return empty(204)
      }
      const obj = method === 'GET' ? await backend.get(full) : await backend.head(full)
      if (!obj) throw refuse(404, 'no such object')
      const body = 'body' in obj ? obj.body : null
      const response = new Response(body as Uint8Array<ArrayBuffer> | null, {
        headers: { etag: toEntityTag(obj.etag), [SIZE_HEADER]: String(body ? body.length : (obj as { size: number }).size), 'content-type': 'application/octet-stream' },
      })
      if (obj.tokens) response.headers.set(TOKENS_HEADER, obj.tokens.join())
      return response
    }
    if (path === 'list' && method === 'GET') {
      const q = url.searchParams
      const prefix = q.get('prefix') ?? ''
      const startAfter = q.get('startAfter') ?? undefined
      const limit = q.get('limit') ?? '1000'
      const sessionId = sessionOfListing('prefix', prefix)
      // Confined to one session: the cursor must stay inside it too.
      if (startAfter !== undefined && sessionOfListing('startAfter', startAfter) !== sessionId) throw refuse(400, 'startAfter: another session')
      if (!/^[1-9]\d{0,3}$/.test(limit) || +limit > MAX_BATCH) throw refuse(400, 'limit: 1..1000')
      await check(sessionId, 'list')
      const page = await backend.list(root + prefix, { startAfter: startAfter && root + startAfter, limit: +limit })
      const entries = page.entries.map((e) => ({ key: e.key.slice(root.length), size: e.size, etag: e.etag && toEntityTag(e.etag) }))
      return Response.json({ entries, truncated: page.truncated })
    }
    if (path === 'delete' && method === 'POST') {
      let keys: unknown
      const text = new TextDecoder().decode(await readBody(request, Math.min(maxBody, 1 << 20)))
      try {
        keys = JSON.parse(text).keys
      } catch {
        // Refused just below.
      }
      if (!Array.isArray(keys) || !keys.length || keys.length > MAX_BATCH) throw refuse(400, 'body: {"keys":[…1000]}')
      const sessions = new Set(keys.map((k) => sessionOfKey(k, true)))
      if (sessions.size > 1) throw refuse(400, 'keys: one session')
      await check([...sessions][0]!, 'delete')
      await backend.delete(keys.map((k) => root + k))
      return empty(204)
    }
    throw refuse(path === 'list' || path === 'delete' ? 405 : 404, 'not found')
  }

  return async (request: Request): Promise<Response> => {
    const origin = request.headers.get('origin')
    // Exact matches in a list only: a single origin passed as a string would otherwise match by
    // substring (`'https://app.example.com'.includes('https://app.example.co')`).
    const allowed = origin && (origins === '*' ? '*' : Array.isArray(origins) && origins.includes(origin) ? origin : undefined)
    let response: Response
    if (request.method === 'OPTIONS') {
      // A preflight carries no credentials: it is answered from the CORS settings alone.
      response = !cors
        ? empty(405, { allow: METHODS })
        : !allowed
          ? empty(403)
          : empty(204, {
              'access-control-allow-methods': METHODS,
              'access-control-allow-headers': [
                `authorization, content-type, if-match, if-none-match, ${TOKENS_HEADER}`,
                ...(cors.allowHeaders ?? []),
              ].join(', '),
              'access-control-max-age': String(cors.maxAgeSeconds ?? 600),
            })
    } else {
      try {
        response = await route(request)
      } catch (error) {
        if (error instanceof Response) response = error
        else if (error instanceof ValidationError) response = refuse(400, error.message)
        else {
          // A storage failure: a status the client can act on, no internals in the body.
          const code = error instanceof SnapshelfError && error.code
          response = code === 'ERR_TOO_LARGE' ? refuse(413, 'too large') : code === 'ERR_QUOTA' ? refuse(507, 'storage full') : refuse(502, 'storage failed')
          try {
            onError?.(error, request)
          } catch {
            // A failing logger must not turn a 502 into a 500.
          }
        }
      }
      // Bytes change under the same URL: never let a browser or proxy cache them.
      response.headers.set('cache-control', 'no-store')
    }
    if (allowed) {
      response.headers.set('access-control-allow-origin', allowed)
      response.headers.set('access-control-expose-headers', `ETag, ${SIZE_HEADER}, ${TOKENS_HEADER}`)
    }
    if (cors) response.headers.append('vary', 'Origin')
    return response
  }
}
