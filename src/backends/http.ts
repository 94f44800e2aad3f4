import type { Backend, BackendCallOptions, BackendListPage, BackendObject, BackendPutOptions } from '../backend.js'
import { AuthError, QuotaError, RemoteError, TooLargeError, ValidationError } from '../errors.js'
import { MAX_BATCH, SIZE_HEADER } from '../http/protocol.js'
import { historyIdOf } from '../keys.js'
import { fetchWithRetry, type RetryPolicy } from '../retry.js'

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

  /** `prefix` is the client store's prefix, stripped from every key before it is sent. */
  constructor(prefix: string, options: HttpBackendOptions) {
    if (typeof options?.baseUrl !== 'string' || !options.baseUrl) throw new ValidationError('baseUrl', 'must be a URL string')
    this._options = options
    this._base = options.baseUrl.replace(/\/+$/, '')
    this._root = prefix ? `${prefix}/` : ''
  }

  async get(key: string, o?: BackendCallOptions): Promise<BackendObject | null> {
    const got = await this._call('GET', this._object(key), o, 404)
    return got && { body: got[1], etag: etagOf(got[0]) }
  }

  async head(key: string, o?: BackendCallOptions): Promise<{ etag: string; size: number } | null> {
    const got = await this._call('HEAD', this._object(key), o, 404)
    return got && { etag: etagOf(got[0]), size: Number(got[0].headers.get(SIZE_HEADER)) }
  }

  async put(key: string, body: Uint8Array, o: BackendPutOptions = {}): Promise<{ etag: string } | null> {
    const headers: Record<string, string> = {}
    if (o.ifMatch !== undefined) headers['if-match'] = o.ifMatch
    else if (o.ifNoneMatch) headers['if-none-match'] = '*'
    let attempts = 0
    const path = this._object(key)
    const done = await this._call('PUT', path, o, 412, body as Uint8Array<ArrayBuffer>, headers, () => attempts++)
    if (done) return { etag: etagOf(done[0]) }
    // A 412 after a retry is ambiguous: an earlier attempt may have landed (its answer lost) and
    // a rival then moved the key, or it never landed and a rival wrote (maybe identical bytes
    // from the same base: two `n + 1`). Without write tokens the protocol cannot tell, so
    // claiming either way silently loses or doubles an update. Only a history create is safe to
    // report as lost: history is write-once, so the store's byte comparison settles it.
    if (attempts > 1 && !(o.ifNoneMatch && historyIdOf(key))) {
      throw new RemoteError(`HTTP PUT ${path}: outcome unknown (retried, then 412: an earlier attempt may have landed)`, { status: 412 })
    }
    return null
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
    let answer = new Uint8Array(0)
    const res = await fetchWithRetry(
      async (signal) => {
        onAttempt?.()
        const r = await send(this._base + path, { method, headers, body, signal })
        answer = new Uint8Array(await r.arrayBuffer())
        return r
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
