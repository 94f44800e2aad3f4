import type { Backend, BackendCallOptions, BackendListPage, BackendObject, BackendPutOptions } from '../core/backend.js'
import { AuthError, QuotaError, RemoteError, TooLargeError, ValidationError } from '../core/errors.js'
import { MAX_BATCH, SIZE_HEADER, TOKENS_HEADER } from './protocol.js'
import { fetchWithRetry, type RetryPolicy } from '../core/retry.js'
import { WriteTokens } from '../core/write-tokens.js'

/**
 * Options of `HttpBackend` (and of `HttpStorage`, which adds the store options).
 *
 * @example
 * const options: HttpBackendOptions = { baseUrl: 'https://app.example/api', headers: { authorization: `Bearer ${token}` } }
 */
export interface HttpBackendOptions extends Pick<RetryPolicy, 'retries' | 'timeoutMs'> {
  /** Where `createSnapshotHandler` is mounted, e.g. `'https://app.example/api'` or `'/api'` in a page. */
  baseUrl: string
  /** The fetch to use (default: the global one); tests pass the handler itself here. */
  fetch?: (input: string, init: RequestInit) => Promise<Response>
  /** Headers for every request (e.g. `Authorization`); a function is called per request, so tokens can refresh. */
  headers?: HeadersInit | (() => HeadersInit | Promise<HeadersInit>)
}

/**
 * A byte backend that talks to `createSnapshotHandler` over HTTP. Keys are sent relative to the
 * client store's own prefix (the server applies its storage's prefix); ETags travel as opaque
 * entity tags in `ETag` / `If-Match` / `If-None-Match`, so conditional writes stay atomic.
 *
 * @example
 * const store = new BackendSnapshotStore({ backend: new HttpBackend('', { baseUrl: '/api' }) })
 */
export class HttpBackend implements Backend {
  readonly maxListPage = MAX_BATCH
  private declare readonly _options: HttpBackendOptions
  private declare readonly _base: string
  private declare readonly _root: string
  /** Write tokens of recently read objects, and the settling of retried conditional PUTs. */
  private declare readonly _tokens: WriteTokens

  /** `prefix` is the client store's prefix, stripped from every key before it is sent. */
  constructor(prefix: string, options: HttpBackendOptions) {
    if (typeof options?.baseUrl !== 'string' || !options.baseUrl) throw new ValidationError('baseUrl', 'must be a URL string')
    this._options = options
    this._base = options.baseUrl.replace(/\/+$/, '')
    this._root = prefix ? `${prefix}/` : ''
    this._tokens = new WriteTokens()
  }

  async get(key: string, o?: BackendCallOptions): Promise<BackendObject | null> {
    const got = await this._call('GET', this._object(key), o, 404)
    return got && { body: got[1], ...this._remember(got[0], key) }
  }

  async head(key: string, o?: BackendCallOptions): Promise<{ etag: string; size: number; tokens?: string[] } | null> {
    const got = await this._call('HEAD', this._object(key), o, 404)
    return got && { size: Number(got[0].headers.get(SIZE_HEADER)), ...this._remember(got[0], key) }
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
    const headers: Record<string, string> = {}
    const { ifMatch, ifNoneMatch } = o
    if (ifMatch !== undefined) headers['if-match'] = ifMatch
    else if (ifNoneMatch) headers['if-none-match'] = '*'
    const tokens = this._tokens.forPut(key, ifMatch, ifNoneMatch)
    if (tokens.length) headers[TOKENS_HEADER] = tokens.join()
    let attempts = 0
    const done = await this._call('PUT', this._object(key), o, 412, body as Uint8Array<ArrayBuffer>, headers, () => attempts++)
    if (done) return { etag: this._tokens.keep(key, etagOf(done[0]), tokens) }
    // Retried (timeout, reset, 5xx, lost answer), then refused: maybe our own first attempt.
    return attempts > 1 && tokens.length ? this._tokens.settle(key, tokens, await this.head(key, o)) : null
  }

  async delete(keys: string[], o?: BackendCallOptions): Promise<void> {
    for (let i = 0; i < keys.length; i += MAX_BATCH) {
      const batch = keys.slice(i, i + MAX_BATCH).map((k) => this._relative(k))
      await (batch.length === 1
        ? this._call('DELETE', `/objects/${batch[0]}`, o)
        : this._call('POST', '/delete', o, 0, JSON.stringify({ keys: batch }), { 'content-type': 'application/json' }))
    }
  }

  async list(prefix: string, o: BackendCallOptions & { startAfter?: string; limit?: number } = {}): Promise<BackendListPage> {
    const q = new URLSearchParams({ prefix: this._relative(prefix), limit: String(Math.min(o.limit ?? MAX_BATCH, MAX_BATCH)) })
    if (o.startAfter !== undefined) q.set('startAfter', this._relative(o.startAfter))
    const page = JSON.parse(new TextDecoder().decode((await this._call('GET', `/list?${q}`, o))![1])) as BackendListPage
    return { ...page, entries: page.entries.map((e) => ({ ...e, key: this._root + e.key })) }
  }

  /** The ETag and write tokens of a GET / HEAD answer, kept for the next conditional PUT. */
  private _remember(res: Response, key: string): { etag: string; tokens?: string[] } {
    const header = res.headers.get(TOKENS_HEADER)
    const tokens = header ? header.split(',') : undefined
    return { etag: this._tokens.keep(key, etagOf(res), tokens), tokens }
  }

  private _object(key: string): string {
    return `/objects/${this._relative(key)}`
  }

  /** The key without the client prefix; the server confines it to its own storage prefix. */
  private _relative(key: string): string {
    if (!key.startsWith(this._root)) throw new ValidationError('key', `must start with the store prefix ${this._root}`)
    return key.slice(this._root.length)
  }

  /**
   * Sends one request (retried per the policy); resolves `null` when the status is `absent`
   * (404 for reads, 412 for conditional writes) and throws the typed error of any other failure.
   * The response body is read inside each attempt, so the per-attempt timeout and the caller's
   * signal cover it too, and a body cut off mid-way is retried (then typed) like a network error.
   */
  private async _call(
    method: string,
    path: string,
    o: BackendCallOptions | undefined,
    absent?: number,
    body?: BodyInit,
    extra?: Record<string, string>,
    onAttempt?: () => void,
  ): Promise<[response: Response, body: Uint8Array] | null> {
    const { headers: h, fetch: send = (input, init) => fetch(input, init), retries, timeoutMs } = this._options
    const headers = new Headers(typeof h === 'function' ? await h() : h)
    for (const k in extra) headers.set(k, extra[k]!)
    const what = `HTTP ${method} ${path.split('?')[0]}`
    const { response: res, body: answer } = await fetchWithRetry(
      (signal) => {
        onAttempt?.()
        return send(this._base + path, { method, headers, body, signal })
      },
      { retries, timeoutMs, signal: o?.signal },
      what,
    )
    if (res.ok) return [res, answer]
    if (res.status === absent) return null
    const status = res.status
    // Our handler answers {"error": "<message>"}; a proxy's page says nothing more than its status.
    let message = res.statusText
    try {
      message = String(JSON.parse(new TextDecoder().decode(answer)).error)
    } catch {
      // Not our handler's JSON: the status text is all there is.
    }
    const Kind = status === 401 || status === 403 ? AuthError : status === 413 ? TooLargeError : status === 507 ? QuotaError : RemoteError
    throw new Kind(`${what}: ${status} ${message}`.slice(0, 300), { status })
  }
}


function etagOf(res: Response): string {
  const etag = res.headers.get('etag')
  if (!etag) throw new RemoteError('response has no ETag (CORS must expose it)', { status: res.status })
  return etag
}
