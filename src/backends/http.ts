import type { Backend, BackendCallOptions, BackendListPage, BackendObject, BackendPutOptions } from '../backend.js'
import { AuthError, QuotaError, RemoteError, TooLargeError, ValidationError } from '../errors.js'
import { MAX_BATCH, SIZE_HEADER } from '../http/protocol.js'
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
  private readonly base: string
  private readonly root: string

  /** `prefix` is the client store's prefix, stripped from every key before it is sent. */
  constructor(
    prefix: string,
    private readonly options: HttpBackendOptions,
  ) {
    if (typeof options?.baseUrl !== 'string' || !options.baseUrl) throw new ValidationError('baseUrl', 'must be a URL string')
    if (options.fetch !== undefined && typeof options.fetch !== 'function') throw new ValidationError('fetch', 'must be a function')
    this.base = options.baseUrl.replace(/\/+$/, '')
    this.root = prefix ? `${prefix}/` : ''
  }

  async get(key: string, o?: BackendCallOptions): Promise<BackendObject | null> {
    const res = await this.send('GET', this.objectPath(key), o)
    if (res.status === 404) return null
    await this.expect(res, 'GET', key)
    return { body: new Uint8Array(await res.arrayBuffer()), etag: this.etagOf(res) }
  }

  async head(key: string, o?: BackendCallOptions): Promise<{ etag: string; size: number } | null> {
    const res = await this.send('HEAD', this.objectPath(key), o)
    if (res.status === 404) return null
    await this.expect(res, 'HEAD', key)
    return { etag: this.etagOf(res), size: Number(res.headers.get(SIZE_HEADER) ?? NaN) }
  }

  async put(key: string, body: Uint8Array, o: BackendPutOptions = {}): Promise<{ etag: string } | null> {
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' }
    if (o.ifMatch !== undefined) headers['if-match'] = o.ifMatch
    else if (o.ifNoneMatch === '*') headers['if-none-match'] = '*'
    let attempts = 0
    const res = await this.send('PUT', this.objectPath(key), o, body as Uint8Array<ArrayBuffer>, headers, () => attempts++)
    if (res.status === 412) {
      // A retried conditional write may have landed the first time (its answer lost): if the
      // key now holds exactly our bytes, that write was ours.
      if (attempts > 1) {
        const now = await this.get(key, o)
        if (now && now.body.length === body.length && now.body.every((b, i) => b === body[i])) return { etag: now.etag }
      }
      return null
    }
    await this.expect(res, 'PUT', key)
    return { etag: this.etagOf(res) }
  }

  async delete(keys: string[], o?: BackendCallOptions): Promise<void> {
    for (let i = 0; i < keys.length; i += MAX_BATCH) {
      const batch = keys.slice(i, i + MAX_BATCH).map((k) => this.relative(k))
      const res =
        batch.length === 1
          ? await this.send('DELETE', `/objects/${batch[0]}`, o)
          : await this.send('POST', '/delete', o, JSON.stringify({ keys: batch }), { 'content-type': 'application/json' })
      await this.expect(res, 'DELETE', keys[i]!)
    }
  }

  async list(prefix: string, o: BackendCallOptions & { startAfter?: string; limit?: number } = {}): Promise<BackendListPage> {
    const q = new URLSearchParams({ prefix: this.relative(prefix), limit: String(Math.min(o.limit ?? MAX_BATCH, MAX_BATCH)) })
    if (o.startAfter !== undefined) q.set('startAfter', this.relative(o.startAfter))
    const res = await this.send('GET', `/list?${q}`, o)
    await this.expect(res, 'LIST', prefix)
    const page = (await res.json()) as BackendListPage
    return { entries: page.entries.map((e) => ({ ...e, key: this.root + e.key })), truncated: page.truncated }
  }

  private objectPath(key: string): string {
    return `/objects/${this.relative(key)}`
  }

  /** The key without the client prefix; the server confines it to its own storage prefix. */
  private relative(key: string): string {
    if (!key.startsWith(this.root)) throw new ValidationError('key', `must start with the store prefix ${this.root}`)
    return key.slice(this.root.length)
  }

  private async send(
    method: string,
    path: string,
    o: BackendCallOptions | undefined,
    body?: BodyInit,
    extra?: Record<string, string>,
    onAttempt?: () => void,
  ): Promise<Response> {
    const h = this.options.headers
    const headers = new Headers(typeof h === 'function' ? await h() : h)
    for (const [k, v] of Object.entries(extra ?? {})) headers.set(k, v)
    const doFetch = this.options.fetch ?? ((input: string, init: RequestInit) => fetch(input, init))
    return fetchWithRetry(
      (signal) => (onAttempt?.(), doFetch(this.base + path, { method, headers, body, signal })),
      { retries: this.options.retries, timeoutMs: this.options.timeoutMs, signal: o?.signal },
      `HTTP ${method} ${path.split('?')[0]}`,
    )
  }

  private etagOf(res: Response): string {
    const etag = res.headers.get('etag')
    if (!etag) throw new RemoteError('response has no ETag (is it exposed by CORS Access-Control-Expose-Headers?)', { status: res.status })
    return etag
  }

  /** Turns a non-2xx answer into the typed error its status means. */
  private async expect(res: Response, op: string, key: string): Promise<void> {
    if (res.ok) return
    let serverCode: string | undefined
    let message = res.statusText
    try {
      const e = ((await res.json()) as { error?: { code?: unknown; message?: unknown } }).error
      if (typeof e?.code === 'string') serverCode = e.code
      if (typeof e?.message === 'string') message = e.message
    } catch {
      // Not our JSON (a proxy's page): the status says enough.
    }
    const status = res.status
    const details = { status, serverCode, key }
    const text = `HTTP ${op} ${key}: ${status} ${message}`.slice(0, 500)
    if (status === 401 || status === 403) throw new AuthError(text, details)
    if (status === 413) throw new TooLargeError(text, details)
    if (status === 507) throw new QuotaError(text, details)
    if (status === 400) throw new ValidationError('request', `refused by the server: ${message}`.slice(0, 300), details)
    throw new RemoteError(text, details)
  }
}
