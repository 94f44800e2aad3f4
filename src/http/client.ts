import type {
  Backend,
  BackendCallOptions,
  BackendEntry,
  BackendHead,
  BackendListPage,
  BackendObject,
  BackendPutOptions,
  SessionQuery,
} from '../core/backend.js'
import { RemoteError, SnapshelfError, ValidationError } from '../core/errors.js'
import { checkPrefix, isId } from '../core/ids.js'
import { joinPrefix } from '../core/keys.js'
import { isStoredMetadata } from '../core/metadata.js'
import { type RetriedResponse, type RetryPolicy, fetchWithRetry } from '../core/retry.js'
import { chunks } from '../core/util.js'
import type { SessionInfo, SessionPage } from '../core/types.js'
import { WriteTokens } from '../core/write-tokens.js'
import {
  DIGEST_HEADER,
  MAX_BATCH,
  METADATA_HEADER,
  SIZE_HEADER,
  TOKENS_HEADER,
  contentDigest,
  errorOfAnswer,
  metadataOfHeader,
  redactSecrets,
} from './protocol.js'

/**
 * Options of `HttpBackend` (and of `HttpStorage`, which adds the store options).
 *
 * @example
 * const options: HttpBackendOptions = { baseUrl: 'https://app.example/api', headers: { authorization: `Bearer ${token}` } }
 */
export interface HttpBackendOptions extends Pick<RetryPolicy, 'retries' | 'timeoutMs'> {
  /** Where `createSnapshotHandler` is mounted, e.g. `'https://app.example/api'` or `'/api'` in a page. */
  baseUrl: string
  /**
   * The prefix of the store this backend serves, stripped from every key before it is sent: it is
   * local only, the server decides where bytes live (`HttpStorage` passes its own `prefix`).
   */
  prefix?: string
  /** The fetch to use (default: the global one); tests pass the handler itself here. */
  fetch?: (input: string, init: RequestInit) => Promise<Response>
  /** Headers for every request (e.g. `Authorization`); a function is called per request, so tokens can refresh. */
  headers?: HeadersInit | (() => HeadersInit | Promise<HeadersInit>)
}

/** One request to the handler, relative to `baseUrl`. */
interface HandlerCall {
  method: 'GET' | 'HEAD' | 'PUT' | 'DELETE' | 'POST'
  /** The path after `baseUrl`, with its query. */
  path: string
  signal?: AbortSignal
  body?: BodyInit
  headers?: Record<string, string>
  /** A status that is an answer rather than a failure: 404 for reads, 412 for conditional writes. */
  absent?: 404 | 412
}

/**
 * A byte backend that talks to `createSnapshotHandler` over HTTP. Keys are sent relative to the
 * client store's own prefix (the server applies its storage's prefix); ETags travel as opaque
 * entity tags in `ETag` / `If-Match` / `If-None-Match`, so conditional writes stay atomic.
 *
 * @example
 * const store = new BackendSnapshotStore({ backend: new HttpBackend({ baseUrl: '/api' }) })
 */
export class HttpBackend implements Backend {
  readonly maxListPage = MAX_BATCH
  readonly #options: HttpBackendOptions
  /** `baseUrl` without trailing slashes; every path starts with one. */
  readonly #base: string
  /** The client prefix joined (`a/` or `''`). */
  readonly #root: string
  /** Write tokens of recently read objects, and the settling of retried conditional PUTs. */
  readonly #tokens = new WriteTokens()

  constructor(options: HttpBackendOptions)
  /** @deprecated The form of earlier versions: pass `{ ...options, prefix }` instead. */
  constructor(prefix: string, options: HttpBackendOptions)
  constructor(first: HttpBackendOptions | string, second?: HttpBackendOptions) {
    const options = typeof first === 'string' ? { ...second!, prefix: first } : first
    checkOptions(options)
    this.#options = options
    this.#base = options.baseUrl.replace(/\/+$/, '')
    this.#root = joinPrefix(checkPrefix(options.prefix))
  }

  /**
   * A 200 is taken as the object only when its `Snapshelf-Size` (which every handler sends) is the
   * body's length: anything else is a page that is not the handler's (a captive portal, a proxy)
   * or a body cut off on the way, a `RemoteError` rather than bytes that fail to decode.
   */
  async get(key: string, o?: BackendCallOptions): Promise<BackendObject | null> {
    const path = this.#objectPath(key)
    const { response, body } = await this.#send({ method: 'GET', path, signal: o?.signal, absent: 404 })
    if (!response.ok) return null
    if (sizeOf(`HTTP GET ${path}`, response) !== body.length) throw notTheHandlers(`HTTP GET ${path}`, response)
    return { body, ...this.#remember(response, key), metadata: metadataOf(`HTTP GET ${path}`, response) }
  }

  async head(key: string, o?: BackendCallOptions): Promise<BackendHead | null> {
    const path = this.#objectPath(key)
    const what = `HTTP HEAD ${path}`
    const { response } = await this.#send({ method: 'HEAD', path, signal: o?.signal, absent: 404 })
    return response.ok ? { size: sizeOf(what, response), ...this.#remember(response, key), metadata: metadataOf(what, response) } : null
  }

  /**
   * Conditional PUTs carry `Snapshelf-Tokens`: a random token of this write, then the tokens of
   * the object it replaces as we last read it. When a PUT had to be retried (timeout, reset, 5xx,
   * lost answer) and then fails its precondition, the failure may be our own earlier attempt
   * having landed: we HEAD the key, and if our token is the object's or in its chain, the write
   * is ours and succeeded (`etag` is `''` when another writer already replaced it). When the
   * server keeps no tokens (only `R2Storage` does), or the object now there was written without
   * them or past the chain depth, the write (a history create aside: the store compares its
   * bytes) rejects with `RemoteError` (status 412, outcome unknown) rather than guess: claiming
   * either way could lose or double an update.
   *
   * @example
   * const put = await backend.put(key, bytes, { ifMatch: current.etag }) // null: a rival won
   */
  async put(key: string, body: Uint8Array, o: BackendPutOptions = {}): Promise<{ etag: string } | null> {
    const { ifMatch, ifNoneMatch } = o
    // The handler checks the body it received against this before it replaces anything.
    const headers: Record<string, string> = { [DIGEST_HEADER]: await contentDigest(body) }
    if (ifMatch !== undefined) headers['if-match'] = ifMatch
    else if (ifNoneMatch) headers['if-none-match'] = '*'
    const tokens = this.#tokens.forPut(key, ifMatch, ifNoneMatch)
    if (tokens.length) headers[TOKENS_HEADER] = tokens.join()
    // Printable ASCII already (the snapshot layer encoded it), so JSON text is a valid header.
    if (o.metadata) headers[METADATA_HEADER] = JSON.stringify(o.metadata)
    const path = this.#objectPath(key)
    const answer = await this.#send({ method: 'PUT', path, signal: o.signal, body: body as Uint8Array<ArrayBuffer>, headers, absent: 412 })
    if (answer.response.ok) return { etag: this.#tokens.keep(key, etagOf(answer.response), tokens) }
    // Refused after a retry (timeout, reset, 5xx, lost answer): maybe our own first attempt landed.
    if (answer.attempts > 1 && tokens.length) return this.#tokens.settle(key, tokens, await this.head(key, o))
    return null
  }

  async delete(keys: string[], o?: BackendCallOptions): Promise<void> {
    for (const batch of chunks(
      keys.map((k) => this.#relative(k)),
      MAX_BATCH,
    )) {
      if (batch.length === 1) await this.#send({ method: 'DELETE', path: objectPath(batch[0]!), signal: o?.signal })
      else {
        const body = JSON.stringify({ keys: batch })
        await this.#send({ method: 'POST', path: '/delete', signal: o?.signal, body, headers: { 'content-type': 'application/json' } })
      }
    }
  }

  async list(prefix: string, o: BackendCallOptions & { startAfter?: string; limit?: number } = {}): Promise<BackendListPage> {
    const query = new URLSearchParams({ prefix: this.#relative(prefix), limit: String(Math.min(o.limit ?? MAX_BATCH, MAX_BATCH)) })
    if (o.startAfter !== undefined) query.set('startAfter', this.#relative(o.startAfter))
    const { response, body } = await this.#send({ method: 'GET', path: `/list?${query}`, signal: o.signal })
    const page = listingOf(body, query.get('prefix')!)
    if (!page) throw notTheHandlers('HTTP GET /list', response)
    return {
      entries: page.entries.map((e) => ({ ...e, key: this.#root + e.key })),
      truncated: page.truncated,
      metadataListed: page.metadataListed,
    }
  }

  /**
   * The session catalogue from the handler's `GET /sessions`: the server lists its own storage and
   * returns only the sessions its `authorize` lets this client list. `root` is the client store's
   * own prefix, which never travels (the server decides where bytes live).
   *
   * @example
   * const { items } = await backend.listSessions('', { limit: 100 })
   */
  async listSessions(_root: string, query: SessionQuery & BackendCallOptions): Promise<SessionPage> {
    const params = new URLSearchParams({ limit: String(query.limit) })
    if (query.startAfter !== undefined) params.set('startAfter', query.startAfter)
    if (query.updatedBefore !== undefined) params.set('updatedBefore', new Date(query.updatedBefore).toISOString())
    if (query.metadata) params.set('metadata', query.metadata)
    const { response, body } = await this.#send({ method: 'GET', path: `/sessions?${params}`, signal: query.signal })
    const page = sessionsOf(body)
    if (!page) throw notTheHandlers('HTTP GET /sessions', response)
    return page
  }

  /** The ETag and write tokens of a GET / HEAD answer, kept for the next conditional PUT. */
  #remember(response: Response, key: string): { etag: string; tokens?: string[] } {
    const header = response.headers.get(TOKENS_HEADER)
    const tokens = header ? header.split(',') : undefined
    return { etag: this.#tokens.keep(key, etagOf(response), tokens), tokens }
  }

  #objectPath(key: string): string {
    return objectPath(this.#relative(key))
  }

  /** The key without the client prefix; the server confines it to its own storage prefix. */
  #relative(key: string): string {
    if (!key.startsWith(this.#root)) throw new ValidationError('key', `must start with the store prefix ${this.#root}`)
    return key.slice(this.#root.length)
  }

  /**
   * Sends one request (retried per the policy) and returns its answer when it succeeded or has
   * the `absent` status; any other failure throws its typed error (`errorOfAnswer`). The body is
   * read inside each attempt, so the per-attempt timeout and the caller's signal cover it too,
   * and a body cut off mid-way is retried (then typed) like a network error.
   */
  async #send(call: HandlerCall): Promise<RetriedResponse> {
    const { headers: common, fetch: send = (input, init) => fetch(input, init), retries, timeoutMs } = this.#options
    const headers = headersOf(typeof common === 'function' ? await common() : common)
    // The caller's header values, credentials among them, are kept out of every error message.
    const secrets = [...headers.values()]
    for (const [name, value] of Object.entries(call.headers ?? {})) headers.set(name, value)
    const { method, body } = call
    const what = `HTTP ${method} ${call.path.split('?')[0]}`
    const url = this.#base + call.path
    const attempt = async (signal: AbortSignal): Promise<Response> => {
      try {
        return await send(url, { method, headers, body, signal })
      } catch (error) {
        throw scrubbed(error, secrets)
      }
    }
    const answer = await fetchWithRetry(attempt, { retries, timeoutMs, signal: call.signal }, what)
    const { response } = answer
    if (response.ok || response.status === call.absent) return answer
    throw errorOfAnswer(what, response, answer.body, secrets)
  }
}

/**
 * The path of an object, each segment percent-encoded: an adapter's key may hold `?`, `#`, `%` or
 * spaces (Strands' keys are free text), which must reach the handler as part of the key.
 */
function objectPath(relative: string): string {
  return `/objects/${relative.split('/').map(encodeURIComponent).join('/')}`
}

/** The longest timer `setTimeout` keeps: a longer delay fires at once. */
const MAX_TIMEOUT_MS = 2_147_483_647 // 2^31 - 1, written out: an expression would stay in bundles that never use it

/** Every option checked once, at construction: a bad one would otherwise fail each request, or none. */
function checkOptions(options: HttpBackendOptions): void {
  const { baseUrl, retries, timeoutMs, fetch, headers } = options ?? ({} as HttpBackendOptions)
  if (typeof baseUrl !== 'string' || !baseUrl) throw new ValidationError('baseUrl', 'must be a URL string')
  // Credentials in the URL would end up in fetch's own errors (undici quotes the URL): headers carry them.
  let url: URL | undefined
  try {
    url = new URL(baseUrl, 'http://relative.invalid')
  } catch {
    // Refused just below, without the parser's message (which quotes the URL).
  }
  if (!url || url.username || url.password) throw new ValidationError('baseUrl', 'must be a URL without credentials (send them in headers)')
  if (retries !== undefined && !(Number.isSafeInteger(retries) && retries >= 0))
    throw new ValidationError('retries', 'must be an integer >= 0')
  if (timeoutMs !== undefined && !(Number.isSafeInteger(timeoutMs) && timeoutMs >= 1 && timeoutMs <= MAX_TIMEOUT_MS)) {
    throw new ValidationError('timeoutMs', `must be an integer from 1 to ${MAX_TIMEOUT_MS}`)
  }
  if (fetch !== undefined && typeof fetch !== 'function')
    throw new ValidationError('fetch', 'must be a function (input, init) => Promise<Response>')
  if (headers !== undefined && typeof headers !== 'function') headersOf(headers)
}

/**
 * The headers of a `HeadersInit`, as `Headers` builds them, or a `ValidationError` for what it
 * refuses (a value with an inner line break, NUL or a character past U+00FF; a malformed list).
 * The platform's own error quotes the offending value, a credential as likely as not: it is
 * neither kept nor repeated.
 */
function headersOf(init: unknown): Headers {
  try {
    return new Headers(init as HeadersInit)
  } catch {
    throw new ValidationError(
      'headers',
      'must be a HeadersInit that Headers accepts (no line break, NUL or character past U+00FF in a value), or a function returning one',
    )
  }
}

/**
 * What a failed fetch threw, as `RemoteError` may keep it for `cause`: the same name, and
 * messages (its causes' too) with the request's header values and anything else that looks like
 * a credential redacted; our own typed errors as they are (they carry none).
 */
function scrubbed(error: unknown, secrets: readonly string[], depth = 0): unknown {
  if (error instanceof SnapshelfError) return error
  if (!(error instanceof Error)) return new Error(redactSecrets(String(error), secrets))
  const cause = error.cause === undefined || depth >= 4 ? undefined : { cause: scrubbed(error.cause, secrets, depth + 1) }
  const copy = new Error(redactSecrets(error.message, secrets), cause)
  copy.name = error.name
  return copy
}

/** A 200 that is not what the handler answers: a captive portal, a proxy's page, a broken route. */
function notTheHandlers(what: string, response: Response): RemoteError {
  return new RemoteError(`${what}: ${response.status} answer is not the snapshot handler's`, { status: response.status })
}

/** The `Snapshelf-Metadata` of a GET / HEAD answer: stored metadata, or the answer is not the handler's. */
function metadataOf(what: string, response: Response): Record<string, string> | undefined {
  const metadata = metadataOfHeader(response.headers)
  if (metadata === null) throw notTheHandlers(what, response)
  return metadata
}

/** The `Snapshelf-Size` of a GET / HEAD answer: a byte count, or the answer is not the handler's. */
function sizeOf(what: string, response: Response): number {
  const header = response.headers.get(SIZE_HEADER)
  if (header === null || !/^\d{1,15}$/.test(header)) throw notTheHandlers(what, response)
  return Number(header)
}

/**
 * A `/list` answer as the handler writes it, `{"entries":[{key,size,etag?}],"truncated":bool}`
 * with every key under the requested `prefix`, or `undefined` for anything else.
 */
function listingOf(body: Uint8Array, prefix: string): BackendListPage | undefined {
  let page: { entries?: Partial<BackendEntry>[]; truncated?: unknown; metadataListed?: unknown } | null
  try {
    page = JSON.parse(new TextDecoder().decode(body))
  } catch {
    return undefined
  }
  const entries = page?.entries
  if (!Array.isArray(entries) || typeof page?.truncated !== 'boolean') return undefined
  // `e?.`: an entry that is not an object has no key either.
  const wellFormed = entries.every(
    (e) =>
      typeof e?.key === 'string' &&
      e.key.startsWith(prefix) &&
      Number.isSafeInteger(e.size) &&
      e.size! >= 0 &&
      ['undefined', 'string'].includes(typeof e.etag) &&
      (e.metadata === undefined || isStoredMetadata(e.metadata)),
  )
  const metadataListed = page.metadataListed === true
  if (!wellFormed || !(metadataListed || page.metadataListed === undefined)) return undefined
  return { entries: entries as BackendEntry[], truncated: page.truncated, ...(metadataListed && { metadataListed }) }
}

/**
 * A `/sessions` answer as the handler writes it, with times as `Date`s, or `undefined` for anything
 * else (a session id that is no id, a time that is no time, a size that is no byte count).
 */
function sessionsOf(body: Uint8Array): SessionPage | undefined {
  let page: {
    items?: { sessionId?: unknown; updatedAt?: unknown; storedBytes?: unknown; metadata?: unknown }[]
    nextStartAfter?: unknown
  }
  try {
    page = JSON.parse(new TextDecoder().decode(body))
  } catch {
    return undefined
  }
  const { items, nextStartAfter } = page ?? {}
  if (!Array.isArray(items) || !(nextStartAfter === undefined || isId(nextStartAfter))) return undefined
  const out: SessionInfo[] = []
  for (const item of items) {
    const { sessionId, updatedAt = null, storedBytes, metadata } = item ?? {}
    const time = updatedAt === null ? null : new Date(updatedAt as string)
    if (!isId(sessionId) || (time && (typeof updatedAt !== 'string' || Number.isNaN(time.getTime())))) return undefined
    if (storedBytes !== undefined && !(Number.isSafeInteger(storedBytes) && (storedBytes as number) >= 0)) return undefined
    // Decoded values: any strings, as many as stored metadata holds.
    const strings = metadata !== null && typeof metadata === 'object' && !Array.isArray(metadata) && Object.values(metadata)
    if (metadata !== undefined && !(strings && strings.length <= 32 && strings.every((v) => typeof v === 'string'))) return undefined
    const info: SessionInfo = { sessionId, updatedAt: time }
    if (storedBytes !== undefined) info.storedBytes = storedBytes as number
    if (metadata !== undefined) info.metadata = metadata as Record<string, string>
    out.push(info)
  }
  return nextStartAfter === undefined ? { items: out } : { items: out, nextStartAfter }
}

function etagOf(response: Response): string {
  const etag = response.headers.get('etag')
  if (!etag) throw new RemoteError('response has no ETag (CORS must expose it)', { status: response.status })
  return etag
}
