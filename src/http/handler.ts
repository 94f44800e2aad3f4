import type { Backend, BackendPutOptions } from '../core/backend.js'
import { catalogue } from '../core/catalogue.js'
import { checkSessionQuery } from '../core/session-query.js'
import { ValidationError } from '../core/errors.js'
import { joinPrefix } from '../core/keys.js'
import { nextCursor } from '../core/listing.js'
import { isStoredMetadata } from '../core/metadata.js'
import { readBounded } from '../core/util.js'
import { type KeyLayout, belongsTo, snapshotLayout } from './layouts.js'
import {
  DIGEST_HEADER,
  MAX_BATCH,
  Refusal,
  METADATA_HEADER,
  SIZE_HEADER,
  TOKENS_HEADER,
  contentDigest,
  fromEntityTag,
  metadataOfHeader,
  sha256Member,
  storageRefusal,
  toEntityTag,
} from './protocol.js'

/**
 * What a request wants to do to a session; `authorize` decides per session and operation.
 *
 * @example
 * const op: SnapshotOperation = 'write'
 */
export type SnapshotOperation = 'read' | 'write' | 'delete' | 'list'

/**
 * What `authorize` is asked about: one operation on one session of one key layout. `sessionId`
 * is derived from the validated key, never from the client's say-so: the session id of the
 * snapshot layout and of Strands' (`session/<id>/…`, `context/<id>/…`), LangGraph's thread id,
 * Genkit's namespace (Genkit addresses a snapshot by id alone, so the namespace is the unit of
 * access). `layout` names which: `'snapshots'`, or the `name` of one of the handler's `layouts`.
 *
 * @example
 * const access: SnapshotAccess = { sessionId: 's1', op: 'read', layout: 'snapshots' }
 */
export interface SnapshotAccess {
  sessionId: string
  op: SnapshotOperation
  layout: string
}

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
   * A request with a body (an upload) arrives as a copy whose body `authorize` may read, e.g. to
   * check a signature, until it settles.
   */
  authorize: (request: Request, access: SnapshotAccess) => boolean | Promise<boolean>
  /**
   * Adapter key layouts served beside the snapshot layout, e.g. `[strandsLayout, langgraphLayout]`
   * (exported by `snapshelf/strands`, `snapshelf/langgraph`, `snapshelf/genkit`) so that those
   * adapters work over `HttpStorage`. None by default: a key outside the snapshot layout is a 400.
   * A key both the snapshot layout and an adapter's could name is the snapshot layout's.
   */
  layouts?: readonly KeyLayout[]
  /** Path prefix the handler is mounted under, e.g. `'/api'` (default: none). */
  basePath?: string
  /** Largest accepted request body in bytes, an integer >= 1 (default 32 MiB); larger is 413. */
  maxBodyBytes?: number
  /** Cross-origin access for browsers on other origins; absent means same-origin only. */
  cors?: {
    /** Allowed origins (`'https://app.example'`), or `'*'` for any. */
    origins: string[] | '*'
    /** Extra request header names to allow besides Authorization, Content-Type, Content-Digest, If-Match, If-None-Match, Snapshelf-Tokens. */
    allowHeaders?: string[]
    /** Preflight cache lifetime in seconds (default 600). */
    maxAgeSeconds?: number
  }
  /** Called with storage failures (answered 5xx without details), for your logs. */
  onError?: (error: unknown, request: Request) => void
}

const METHODS = 'GET, HEAD, PUT, DELETE, POST, OPTIONS'
/** Write tokens are opaque to us but bounded (1 + 48 of `[A-Za-z0-9_-]{1,24}`): the backend stores them as metadata. */
const TOKENS = /^[\w-]{1,24}(,[\w-]{1,24}){0,48}$/

/** An answer without a body. */
function empty(status: number, headers?: Record<string, string>): Response {
  return new Response(null, { status, headers })
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
  const handler = new SnapshotHandler(options)
  return (request) => handler.handle(request)
}

/**
 * The handler's state, checked once at construction, and its steps: CORS around every answer,
 * routing, then one method per endpoint. A step refuses by throwing a `Refusal`; anything else
 * thrown is a failure of the storage.
 */
class SnapshotHandler {
  readonly #backend: Backend
  /** The storage prefix joined (`a/` or `''`): request keys are relative to it. */
  readonly #root: string
  /** `basePath` with exactly one trailing slash. */
  readonly #base: string
  readonly #maxBody: number
  readonly #authorize: SnapshotHandlerOptions['authorize']
  /** The snapshot layout first, then the options' `layouts`: a key is the first one's that names it. */
  readonly #layouts: readonly KeyLayout[]
  readonly #cors: SnapshotHandlerOptions['cors']
  readonly #onError: SnapshotHandlerOptions['onError']

  constructor(options: SnapshotHandlerOptions) {
    checkOptions(options)
    const { storage, basePath = '', maxBodyBytes = 32 * 1024 * 1024 } = options
    this.#backend = storage.backend
    this.#root = joinPrefix(storage.prefix)
    this.#base = `${basePath.replace(/\/+$/, '')}/`
    this.#maxBody = maxBodyBytes
    this.#authorize = options.authorize
    this.#layouts = [snapshotLayout, ...(options.layouts ?? [])]
    this.#cors = options.cors
    this.#onError = options.onError
  }

  /** Answers one request: a preflight from the CORS settings alone, anything else routed; CORS headers on both. */
  async handle(request: Request): Promise<Response> {
    const origins = this.#cors?.origins
    const origin = request.headers.get('origin')
    // Exact matches in a list only: a single origin passed as a string would otherwise match by
    // substring (`'https://app.example.com'.includes('https://app.example.co')`).
    let allowed: string | undefined
    if (origin && origins === '*') allowed = '*'
    else if (origin && Array.isArray(origins) && origins.includes(origin)) allowed = origin
    const response = request.method === 'OPTIONS' ? this.#preflight(allowed) : await this.#answer(request)
    if (allowed) {
      response.headers.set('access-control-allow-origin', allowed)
      response.headers.set('access-control-expose-headers', `ETag, ${SIZE_HEADER}, ${TOKENS_HEADER}, ${METADATA_HEADER}`)
    }
    if (this.#cors) response.headers.append('vary', 'Origin')
    return response
  }

  /** A preflight carries no credentials: it is answered from the CORS settings alone. */
  #preflight(allowed: string | undefined): Response {
    const cors = this.#cors
    if (!cors) return empty(405, { allow: METHODS })
    if (!allowed) return empty(403)
    const allowHeaders = [
      `authorization, content-type, ${DIGEST_HEADER}, if-match, if-none-match, ${TOKENS_HEADER}, ${METADATA_HEADER}`,
      ...(cors.allowHeaders ?? []),
    ]
    return empty(204, {
      'access-control-allow-methods': METHODS,
      'access-control-allow-headers': allowHeaders.join(', '),
      'access-control-max-age': String(cors.maxAgeSeconds ?? 600),
    })
  }

  /** Routes a request and turns whatever a step threw into its answer. */
  async #answer(request: Request): Promise<Response> {
    let response: Response
    try {
      response = await this.#route(request)
    } catch (error) {
      if (error instanceof Refusal) response = error.response
      else {
        // A failure of the storage (a ValidationError there included: the request's own
        // validation refuses with a 400 itself, so this is the server's misconfiguration): a
        // status the client can act on, no internals in the body.
        response = storageRefusal(error).response
        try {
          this.#onError?.(error, request)
        } catch {
          // A failing logger must not turn a 502 into a 500.
        }
      }
    }
    // Bytes change under the same URL: never let a browser or proxy cache them.
    response.headers.set('cache-control', 'no-store')
    return response
  }

  async #route(request: Request): Promise<Response> {
    const url = new URL(request.url)
    if (!url.pathname.startsWith(this.#base)) throw new Refusal(404, 'not found')
    let path: string
    try {
      path = decodeURIComponent(url.pathname.slice(this.#base.length))
    } catch {
      throw new Refusal(400, 'bad percent-encoding')
    }
    const method = request.method
    if (path.startsWith('objects/')) return this.#object(request, path.slice('objects/'.length))
    if (path === 'list' && method === 'GET') return this.#list(request, url.searchParams)
    if (path === 'delete' && method === 'POST') return this.#deleteBatch(request)
    if (path === 'sessions' && method === 'GET') return this.#sessions(request, url.searchParams)
    if (path === 'list' || path === 'delete' || path === 'sessions') throw new Refusal(405, 'method not allowed')
    throw new Refusal(404, 'not found')
  }

  /** `/objects/<key>`: the method names the operation, authorized on the key's session before anything else. */
  async #object(request: Request, key: string): Promise<Response> {
    const method = request.method
    let op: SnapshotOperation
    if (method === 'GET' || method === 'HEAD') op = 'read'
    else if (method === 'PUT') op = 'write'
    else if (method === 'DELETE') op = 'delete'
    else throw new Refusal(405, 'method not allowed')
    const { layout, sessionId } = this.#sessionOfKey(key, op)
    await this.#check(request, { sessionId, op, layout: layout.name })
    const full = this.#root + key
    if (op === 'write') return this.#put(request, full, layout === snapshotLayout)
    if (op === 'read') return this.#read(request, full)
    await this.#backend.delete([full])
    return empty(204)
  }

  /** `GET` / `HEAD /objects/<key>`: the bytes (GET only), ETag, size, write tokens and metadata. `full` has the storage prefix. */
  async #read(request: Request, full: string): Promise<Response> {
    const found = request.method === 'GET' ? await this.#backend.get(full) : await this.#backend.head(full)
    if (!found) throw new Refusal(404, 'no such object')
    const body = 'body' in found ? found.body : null
    const size = body ? body.length : (found as { size: number }).size
    const headers = new Headers({ etag: toEntityTag(found.etag), [SIZE_HEADER]: String(size), 'content-type': 'application/octet-stream' })
    if (found.tokens) headers.set(TOKENS_HEADER, found.tokens.join())
    // Only what the client accepts: a custom backend's (or another tool's) odd metadata is left out
    // rather than making the object unreadable over HTTP.
    if (isStoredMetadata(found.metadata)) headers.set(METADATA_HEADER, JSON.stringify(found.metadata))
    return new Response(body as Uint8Array<ArrayBuffer> | null, { headers })
  }

  /**
   * `PUT /objects/<key>`: a write, conditional on `If-Match` / `If-None-Match: *`; 412 when the
   * condition fails. Nothing is replaced until the body is known to be the one the client sent.
   */
  async #put(request: Request, full: string, snapshot: boolean): Promise<Response> {
    const conditions = putConditions(request.headers)
    const body = await readBody(request, this.#maxBody)
    await checkUpload(request.headers, body, snapshot)
    const put = await this.#backend.put(full, body, conditions)
    if (!put) throw new Refusal(412, 'precondition failed')
    return empty(204, { etag: toEntityTag(put.etag) })
  }

  /**
   * `GET /list?prefix&startAfter&limit`: one page of the entries `authorize` lets the request list.
   * A prefix is confined to one session of a layout (the snapshot layout's `<sessionId>/scopes/…`),
   * or spans sessions of one (LangGraph's `langgraph/`, every thread), or both (`langgraph/` is
   * also the folder of a session called `langgraph`): `#claims`. One confined claim is authorized
   * before any storage I/O, 403 as for any key; otherwise each entry is kept when its session
   * (`#owner`) may be listed, `authorize` asked once per session. Entries no claim owns are left
   * out, and the backend is listed on until the page holds one entry or the listing ends, so a
   * client's cursor (its page's last key) always advances.
   */
  async #list(request: Request, query: URLSearchParams): Promise<Response> {
    const prefix = query.get('prefix') ?? ''
    const startAfter = query.get('startAfter') ?? undefined
    const limitText = query.get('limit') ?? String(MAX_BATCH)
    const claims = this.#claims(prefix, startAfter)
    if (!/^[1-9]\d{0,3}$/.test(limitText) || Number(limitText) > MAX_BATCH) throw new Refusal(400, 'limit: 1..1000')
    const limit = Number(limitText)
    const [only] = claims
    const confined = claims.length === 1 && only!.sessionId !== null
    if (confined) await this.#check(request, { sessionId: only!.sessionId!, op: 'list', layout: only!.layout.name })
    const asked = new Map<string, Promise<boolean>>()
    const may = (layout: KeyLayout, sessionId: string): Promise<boolean> => {
      const id = `${layout.name}/${sessionId}`
      let answer = asked.get(id)
      if (!answer) {
        answer = this.#check(request, { sessionId, op: 'list', layout: layout.name }).then(
          () => true,
          (error: unknown) => {
            if (error instanceof Refusal && error.response.status === 403) return false
            throw error
          },
        )
        asked.set(id, answer)
      }
      return answer
    }
    const keeps = async (key: string): Promise<boolean> => {
      for (const { layout, sessionId } of claims) {
        if (sessionId !== null) {
          if (belongsTo(layout, sessionId, key) && (confined || (await may(layout, sessionId)))) return true
        } else {
          const owner = this.#owner(key, 'list')
          if (owner?.layout === layout && (await may(layout, owner.sessionId))) return true
        }
      }
      return false
    }
    const root = this.#root
    const entries: { key: string; size: number; etag?: string; metadata?: Record<string, string> }[] = []
    let cursor = startAfter && root + startAfter
    let truncated: boolean
    let metadataListed: true | undefined
    do {
      // A listing that may filter reads full pages, not `limit` keys at a time.
      const page = await this.#backend.list(root + prefix, { startAfter: cursor, limit: confined ? limit : MAX_BATCH })
      truncated = page.truncated
      metadataListed = page.metadataListed || undefined
      for (const [i, e] of page.entries.entries()) {
        const key = e.key.slice(root.length)
        if (!(await keeps(key))) continue
        const metadata = isStoredMetadata(e.metadata) ? e.metadata : undefined
        entries.push({ key, size: e.size, etag: e.etag && toEntityTag(e.etag), metadata })
        if (entries.length === limit) {
          truncated ||= i < page.entries.length - 1
          break
        }
      }
      cursor = nextCursor(cursor, page, root + prefix)
    } while (truncated && !entries.length)
    return Response.json({ entries, truncated, metadataListed })
  }

  /**
   * `GET /sessions?startAfter&limit&updatedBefore&metadata`: one page of the session catalogue
   * (core/catalogue.ts), holding only the sessions `authorize` lets the request list:
   * `{ sessionId, op: 'list', layout: 'snapshots' }`, asked once per folder whose name is an id,
   * before anything of it is read (a folder that then holds no snapshot key is no session and is
   * left out). Refused sessions are listed past, so a page is empty only at the end. A throwing
   * `authorize` is a 401 for the whole request, as for any listing.
   */
  async #sessions(request: Request, params: URLSearchParams): Promise<Response> {
    const limit = params.get('limit')
    let query: ReturnType<typeof checkSessionQuery>
    try {
      if (limit !== null && !/^[1-9]\d{0,3}$/.test(limit)) throw new ValidationError('limit', 'must be an integer from 1 to 1000')
      query = checkSessionQuery({
        startAfter: params.get('startAfter') ?? undefined,
        limit: limit === null ? undefined : Number(limit),
        updatedBefore: params.get('updatedBefore') ?? undefined,
        metadata: (params.get('metadata') ?? undefined) as 'head' | undefined,
      })
    } catch (error) {
      throw new Refusal(400, (error as Error).message)
    }
    const admit = (sessionId: string): Promise<boolean> =>
      this.#check(request, { sessionId, op: 'list', layout: snapshotLayout.name }).then(
        () => true,
        (error: unknown) => {
          if (error instanceof Refusal && error.response.status === 403) return false
          throw error
        },
      )
    const { items, nextStartAfter } = await catalogue(this.#backend, this.#root, query, admit)
    return Response.json({ items: items.map((item) => ({ ...item, updatedAt: item.updatedAt?.toISOString() ?? null })), nextStartAfter })
  }

  /**
   * `POST /delete {"keys":[…]}`: at most 1000 keys, all of one session. The one state-changing
   * route a page could reach without a preflight (POST is a simple method), so it insists on a
   * JSON content type: a foreign page's form post or no-cors fetch cannot send one, and its
   * cross-origin `fetch` is preflighted (and refused) first. PUT and DELETE are never simple.
   */
  async #deleteBatch(request: Request): Promise<Response> {
    const type = request.headers.get('content-type') ?? ''
    if (type.split(';')[0]!.trim().toLowerCase() !== 'application/json') throw new Refusal(415, 'content-type: application/json')
    const body = await readBody(request, Math.min(this.#maxBody, 1 << 20))
    let keys: unknown
    try {
      keys = JSON.parse(new TextDecoder().decode(body)).keys
    } catch {
      // Refused just below.
    }
    if (!Array.isArray(keys) || !keys.length || keys.length > MAX_BATCH) throw new Refusal(400, 'body: {"keys":[…1000]}')
    const owners = keys.map((k) => this.#sessionOfKey(k, 'delete'))
    const { layout, sessionId } = owners[0]!
    if (owners.some((o) => o.layout !== layout || o.sessionId !== sessionId)) throw new Refusal(400, 'keys: one session')
    await this.#check(request, { sessionId, op: 'delete', layout: layout.name }, body)
    await this.#backend.delete(keys.map((k) => this.#root + k))
    return empty(204)
  }

  /**
   * Authorization runs on the session the validated key names, before any storage I/O.
   * `authorize` may read the body (to check a signature, say) without taking it from us: it gets
   * a copy of a request whose body is still unread (an upload), cancelled once it answers so that
   * a copy nobody reads does not hold the upload in memory twice; or, when the body was read
   * already (`read`: a batch delete names its keys in it), a request rebuilt around those bytes.
   */
  async #check(request: Request, access: SnapshotAccess, read?: Uint8Array): Promise<void> {
    let copy = request
    if (read) copy = new Request(request, { body: read as Uint8Array<ArrayBuffer> })
    else if (request.body) copy = request.clone()
    let allowed: unknown
    try {
      allowed = await this.#authorize(copy, access)
    } catch {
      throw new Refusal(401, 'unauthorized')
    } finally {
      if (copy !== request) copy.body?.cancel().catch(() => {})
    }
    if (allowed !== true) throw new Refusal(403, 'forbidden')
  }

  /** The layout and session of an object key: the first layout that names it, if any. */
  #owner(key: unknown, op: SnapshotOperation): { layout: KeyLayout; sessionId: string } | undefined {
    if (typeof key !== 'string') return undefined
    for (const layout of this.#layouts) {
      const sessionId = layout.sessionOf(key, op)
      if (sessionId !== undefined) return { layout, sessionId }
    }
    return undefined
  }

  /** `#owner`, or a 400 naming the rule. */
  #sessionOfKey(key: unknown, op: SnapshotOperation): { layout: KeyLayout; sessionId: string } {
    const owner = this.#owner(key, op)
    if (!owner)
      throw new Refusal(400, this.#layouts.length > 1 ? 'key must follow a served key layout' : 'key must follow the snapshot key layout')
    return owner
  }

  /**
   * The layouts a listing is for, each with its one session or `null` (spanning sessions), or a
   * 400 naming the rule: `prefix` must be one a layout lists, and `startAfter` inside the same
   * session (spanning: inside the prefix).
   */
  #claims(prefix: string, startAfter: string | undefined): { layout: KeyLayout; sessionId: string | null }[] {
    const claims: { layout: KeyLayout; sessionId: string | null }[] = []
    let claimed = false
    for (const layout of this.#layouts) {
      const sessionId = layout.listing(prefix)
      if (sessionId === undefined) continue
      claimed = true
      const inside =
        startAfter === undefined || (sessionId === null ? startAfter.startsWith(prefix) : layout.listing(startAfter) === sessionId)
      if (inside) claims.push({ layout, sessionId })
    }
    if (!claimed) throw new Refusal(400, 'prefix must be the start of a snapshot key: <sessionId>/scopes/<scope>/<scopeId>/snapshots/…')
    if (!claims.length) throw new Refusal(400, 'startAfter: another session')
    return claims
  }
}

/** An HTTP token (RFC 9110): what a header name may be made of. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~\w-]+$/
/** `''` or `/`-separated path segments of URL path characters: what `URL.pathname` can start with. */
const BASE_PATH = /^(\/[\w.~!$&'()*+,;=:@%-]*)*$/

/**
 * Every option checked once, at construction, so none can quietly disable a limit (`NaN` is never
 * larger than a body) or make every request fail later (a header value with a line break).
 */
function checkOptions(options: SnapshotHandlerOptions): void {
  const { storage, authorize, basePath, maxBodyBytes, cors, onError } = options ?? ({} as SnapshotHandlerOptions)
  if (typeof authorize !== 'function')
    throw new ValidationError('authorize', 'is required: (request, { sessionId, op, layout }) => boolean')
  if (typeof storage?.backend?.get !== 'function' || typeof storage.prefix !== 'string') {
    throw new ValidationError('storage', 'must be a snapshelf storage (with backend and prefix)')
  }
  if (basePath !== undefined && !(typeof basePath === 'string' && BASE_PATH.test(basePath))) {
    throw new ValidationError('basePath', "must be '' or a URL path starting with /")
  }
  if (maxBodyBytes !== undefined && !(Number.isSafeInteger(maxBodyBytes) && maxBodyBytes >= 1)) {
    throw new ValidationError('maxBodyBytes', 'must be an integer >= 1')
  }
  if (onError !== undefined && typeof onError !== 'function') throw new ValidationError('onError', 'must be a function')
  const { layouts } = options
  const isLayout = (l: KeyLayout | undefined): boolean =>
    typeof l?.name === 'string' && /^[\w-]{1,64}$/.test(l.name) && typeof l.sessionOf === 'function' && typeof l.listing === 'function'
  if (layouts !== undefined && !(Array.isArray(layouts) && layouts.every(isLayout))) {
    throw new ValidationError('layouts', 'must be a list of key layouts (strandsLayout, genkitLayout, langgraphLayout)')
  }
  if (cors === undefined) return
  const origins = cors?.origins
  const isOrigin = (origin: unknown): boolean => typeof origin === 'string' && /^[!-~]+$/.test(origin)
  if (origins !== '*' && !(Array.isArray(origins) && origins.every(isOrigin))) {
    throw new ValidationError('cors.origins', "must be '*' or a list of origins ('https://app.example')")
  }
  const { allowHeaders, maxAgeSeconds } = cors
  if (
    allowHeaders !== undefined &&
    !(Array.isArray(allowHeaders) && allowHeaders.every((h) => typeof h === 'string' && HEADER_NAME.test(h)))
  ) {
    throw new ValidationError('cors.allowHeaders', 'must be a list of header names')
  }
  if (maxAgeSeconds !== undefined && !(Number.isSafeInteger(maxAgeSeconds) && maxAgeSeconds >= 0)) {
    throw new ValidationError('cors.maxAgeSeconds', 'must be an integer >= 0')
  }
}

/**
 * A PUT's conditions: at most one of `If-Match` (one entity tag) and `If-None-Match: *`,
 * well-formed write tokens, and metadata in its stored form; anything else is a 400.
 */
function putConditions(headers: Headers): BackendPutOptions {
  const ifMatch = headers.get('if-match')
  const ifNoneMatch = headers.get('if-none-match')
  const tokens = headers.get(TOKENS_HEADER)
  const metadata = metadataOfHeader(headers)
  if (metadata === null) throw new Refusal(400, `bad ${METADATA_HEADER}: a JSON object of stored metadata`)
  const etag = ifMatch === null ? undefined : fromEntityTag(ifMatch)
  const matchOk = ifMatch === null || (etag !== undefined && ifNoneMatch === null)
  const noneMatchOk = ifNoneMatch === null || ifNoneMatch.trim() === '*'
  if (!matchOk || !noneMatchOk || (tokens !== null && !TOKENS.test(tokens))) {
    throw new Refusal(400, `bad If-Match / If-None-Match / ${TOKENS_HEADER}`)
  }
  return {
    ifMatch: etag,
    ifNoneMatch: ifNoneMatch === null ? undefined : '*',
    tokens: tokens?.split(','),
    metadata,
  }
}

/**
 * That an uploaded body is whole as the client sent it: equal to its `Content-Digest` when there
 * is one (a cut-off upload can arrive as a clean end of stream, with no `Content-Length` to tell
 * by), and not empty when it is a snapshot (none encodes to 0 bytes). An adapter's value may be
 * empty (a Strands value written with `compression: 'none'`), with a digest to prove it.
 */
async function checkUpload(headers: Headers, body: Uint8Array, snapshot: boolean): Promise<void> {
  const digest = headers.get(DIGEST_HEADER)
  if (!body.length && (snapshot || digest === null)) throw new Refusal(400, 'empty body')
  if (digest === null) return
  const expected = sha256Member(digest)
  if (!expected) throw new Refusal(400, `${DIGEST_HEADER}: sha-256=:<base64>: required`)
  if ((await contentDigest(body)) !== expected) throw new Refusal(400, `body does not match ${DIGEST_HEADER}`)
}

/**
 * Reads a request body, refusing more than `max` bytes by Content-Length and while streaming,
 * and a body whose length is not the declared one (cut off, or a lying header).
 */
async function readBody(request: Request, max: number): Promise<Uint8Array> {
  const declared = request.headers.get('content-length')
  if (declared !== null && !/^\d+$/.test(declared)) throw new Refusal(400, 'bad Content-Length')
  if (declared !== null && Number(declared) > max) throw new Refusal(413, 'body too large')
  let body: Uint8Array | undefined
  try {
    body = request.body ? await readBounded(request.body, max) : new Uint8Array(0)
  } catch {
    throw new Refusal(400, 'unreadable body')
  }
  if (!body) throw new Refusal(413, 'body too large')
  if (declared !== null && body.length !== Number(declared)) throw new Refusal(400, 'body does not match Content-Length')
  return body
}
