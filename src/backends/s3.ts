import { AwsV4Signer } from 'aws4fetch'
import type { Backend, BackendCallOptions, BackendEntry, BackendListPage, BackendPutOptions } from '../backend.js'
import { AuthError, RemoteError, type SnapshelfError, ValidationError } from '../errors.js'
import { fetchWithRetry } from '../retry.js'
import { md5Base64, toBase64 } from './s3-md5.js'
import { xmlBlocks, xmlEscape, xmlText } from './s3-xml.js'

/**
 * The S3 byte backend: ListObjectsV2 / GetObject / HeadObject / PutObject (conditional) /
 * DeleteObjects over `fetch`, signed with SigV4 by aws4fetch. Speaks to AWS S3, Cloudflare R2's
 * S3 API, Ceph RGW and MinIO. Every request goes through `fetchWithRetry` (timeouts, backoff,
 * `Retry-After`, abort) and every upload carries its SHA-256 in the signed
 * `x-amz-content-sha256`, so the server rejects a body altered in flight.
 */

/**
 * Connection settings of an S3-compatible bucket.
 *
 * @example
 * const options: S3BackendOptions = {
 *   bucket: 'agent-sessions', region: 'eu-west-1',
 *   accessKeyId: process.env.AWS_ACCESS_KEY_ID!, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY!,
 * }
 */
export interface S3BackendOptions {
  /** Bucket name (3–63 characters of `a-z 0-9 . -`, starting and ending with a letter or digit). */
  bucket: string
  /**
   * Service URL, `http(s)://host[:port][/path]`. Default `https://s3.<region>.amazonaws.com`.
   * R2: `https://<account-id>.r2.cloudflarestorage.com`; Ceph / MinIO: `http://127.0.0.1:7480`.
   */
  endpoint?: string
  /** Signing region. Default: taken from an AWS endpoint's host, `auto` for R2, else `us-east-1`. */
  region?: string
  accessKeyId: string
  secretAccessKey: string
  /** For temporary (STS) credentials. */
  sessionToken?: string
  /**
   * Address the bucket as `<endpoint>/<bucket>/key` even on AWS. Non-AWS endpoints (R2, Ceph,
   * MinIO, custom hosts) always use path style; AWS uses virtual-hosted `<bucket>.s3.…` unless
   * this is set or the bucket name has a dot (which would break TLS on a virtual host).
   */
  forcePathStyle?: boolean
  /** The `fetch` to use (a Worker's, a test's counting wrapper…). Default: the global `fetch`. */
  fetch?: typeof fetch
  /** Extra attempts after the first for network errors, timeouts, 429 and 5xx (default 4). */
  retries?: number
  /** Per-attempt timeout in ms, covering the response body too (default 30 000). */
  timeoutMs?: number
}

/** SHA-256 of the empty string: the payload hash of every body-less request. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
/** Random token of the conditional PUT that wrote an object (see `put`). */
const WRITE_META = 'x-amz-meta-snapshelf-write'
/** Tokens of the writes this object replaced, newest first (see `put`). */
const CHAIN_META = 'x-amz-meta-snapshelf-prev'
/** How many replaced writes an object remembers: ~13 bytes each, far below S3's 2 KB metadata cap. */
const CHAIN_DEPTH = 48
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/
const R2_HOST = /\.r2\.cloudflarestorage\.com$/
/** `s3.eu-west-1.amazonaws.com`, `s3-eu-west-1.amazonaws.com`, `s3.dualstack.eu-west-1.amazonaws.com`. */
const AWS_HOST = /(^|\.)s3[.-](?:dualstack\.)?([a-z0-9-]+)\.amazonaws\.com(\.cn)?$|(^|\.)s3\.amazonaws\.com$/

interface Sent {
  res: Response
  body: Uint8Array
  /** How many attempts `fetchWithRetry` made: more than one means an earlier one may have landed. */
  attempts: number
}

interface Inspected {
  etag: string
  size: number
  /** This object's own write token and the tokens of the writes it replaced. */
  tokens: string[]
}

/**
 * The S3 `Backend`. Most users want `S3Storage`; use this directly to run the contract suite, to
 * plant or inspect stored bytes, or to give `TieredStorage` a remote.
 *
 * @example
 * import { S3Backend } from 'snapshelf/s3'
 * const backend = new S3Backend({ bucket: 'b', endpoint: 'http://127.0.0.1:7480', accessKeyId, secretAccessKey })
 * const page = await backend.list('session-1/', { limit: 100 })
 */
export class S3Backend implements Backend {
  readonly maxListPage = 1000
  readonly bucket: string
  readonly region: string
  /** The bucket's base URL, ending in `/`; object keys are appended to it. */
  readonly bucketUrl: string
  private readonly send: typeof fetch
  private readonly credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  private readonly retries: number | undefined
  private readonly timeoutMs: number | undefined
  /** aws4fetch caches the derived signing key per day here (one HMAC chain a day, not per request). */
  private readonly signingKeys = new Map<string, ArrayBuffer>()
  /** Write tokens of recently read objects by ETag, so the next conditional PUT can chain them. */
  private readonly seen = new Map<string, string[]>()

  constructor(options: S3BackendOptions) {
    if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'must be an object')
    const { bucket, accessKeyId, secretAccessKey, sessionToken, retries, timeoutMs } = options
    if (typeof bucket !== 'string' || !BUCKET.test(bucket) || bucket.includes('..') || /\.-|-\./.test(bucket) || /^\d+\.\d+\.\d+\.\d+$/.test(bucket)) {
      throw new ValidationError('bucket', 'must be a valid S3 bucket name: 3-63 characters of a-z 0-9 . -, starting and ending with a letter or digit')
    }
    for (const [field, value] of [['accessKeyId', accessKeyId], ['secretAccessKey', secretAccessKey]] as const) {
      // Never echo the value: it may be a secret.
      if (typeof value !== 'string' || value.trim() === '' || value !== value.trim()) throw new ValidationError(field, 'must be a non-empty string without surrounding whitespace')
    }
    if (sessionToken !== undefined && (typeof sessionToken !== 'string' || sessionToken === '')) throw new ValidationError('sessionToken', 'must be a non-empty string when given')
    if (retries !== undefined && (!Number.isInteger(retries) || retries < 0)) throw new ValidationError('retries', 'must be an integer >= 0')
    if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || timeoutMs < 1)) throw new ValidationError('timeoutMs', 'must be an integer >= 1')
    if (options.fetch !== undefined && typeof options.fetch !== 'function') throw new ValidationError('fetch', 'must be a function')
    if (options.region !== undefined && (typeof options.region !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(options.region))) {
      throw new ValidationError('region', "must be a region name such as 'us-east-1' or 'auto'")
    }

    let url: URL
    try {
      url = new URL(options.endpoint ?? `https://s3.${options.region ?? 'us-east-1'}.amazonaws.com`)
    } catch {
      throw new ValidationError('endpoint', 'must be an http(s) URL such as https://s3.us-east-1.amazonaws.com')
    }
    // Credentials in the URL would end up in error messages; queries and fragments have no meaning here.
    if (!/^https?:$/.test(url.protocol) || url.username || url.password || url.search || url.hash) {
      throw new ValidationError('endpoint', 'must be an http(s) URL without credentials, query or fragment')
    }
    const aws = AWS_HOST.exec(url.hostname)
    this.region = options.region ?? (R2_HOST.test(url.hostname) ? 'auto' : aws?.[2] ?? 'us-east-1')
    this.bucket = bucket
    const path = url.pathname.replace(/\/+$/, '')
    this.bucketUrl =
      aws && !options.forcePathStyle && !bucket.includes('.')
        ? `${url.protocol}//${bucket}.${url.host}${path}/`
        : `${url.protocol}//${url.host}${path}/${bucket}/`
    this.credentials = { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) }
    // Looked up at call time, so a global fetch patched after construction is honoured.
    this.send = options.fetch ?? ((input, init) => fetch(input, init))
    this.retries = retries
    this.timeoutMs = timeoutMs
  }

  async get(key: string, options: BackendCallOptions = {}): Promise<{ body: Uint8Array; etag: string } | null> {
    const { res, body } = await this.request('GET', 'GetObject', key, this.objectUrl(key), {}, undefined, options.signal)
    if (res.status === 404 && !isNoSuchBucket(body)) return null
    if (!res.ok) throw this.error('GetObject', res, body, key)
    return { body, etag: this.remember(res, key).etag }
  }

  async head(key: string, options: BackendCallOptions = {}): Promise<{ etag: string; size: number } | null> {
    const found = await this.inspect(key, options.signal)
    return found && { etag: found.etag, size: found.size }
  }

  /**
   * Conditional PUTs (`ifMatch` / `ifNoneMatch: '*'`) carry a random write token in
   * `x-amz-meta-snapshelf-write`, plus the tokens of the writes the replaced object had seen.
   * When a PUT had to be retried (timeout, reset, 5xx, lost response) and then fails its
   * precondition, the failure may be our own earlier attempt having landed: we HEAD the key, and
   * if our token is the object's or in its chain, the write is ours and succeeded. Without this a
   * retried `updateLatest` would see a false lost race and apply `mutate` twice.
   *
   * ETags are kept and sent UNQUOTED: Ceph RGW matches `If-Match` only against the bare ETag (the
   * quoted form always fails), while AWS S3 and R2 compare the ETag value with or without quotes.
   */
  async put(key: string, body: Uint8Array, options: BackendPutOptions = {}): Promise<{ etag: string } | null> {
    const conditional = options.ifMatch !== undefined || options.ifNoneMatch !== undefined
    if (options.ifNoneMatch !== undefined && options.ifNoneMatch !== '*') throw new ValidationError('ifNoneMatch', "must be '*'")
    if (options.ifMatch !== undefined && options.ifNoneMatch !== undefined) throw new ValidationError('put', 'takes ifMatch or ifNoneMatch, not both')
    // Gzip by magic bytes, as the codec does; the type is informational (no Content-Encoding, so
    // no runtime ever decompresses our bytes behind our back).
    const headers: Record<string, string> = { 'content-type': body[0] === 0x1f && body[1] === 0x8b ? 'application/gzip' : 'application/json' }
    const token = conditional ? randomToken() : ''
    if (options.ifMatch !== undefined) {
      const etag = unquote(options.ifMatch)
      headers['if-match'] = etag
      const chain = this.seen.get(etag)
      if (chain?.length) headers[CHAIN_META] = chain.slice(0, CHAIN_DEPTH).join(',')
    } else if (options.ifNoneMatch) headers['if-none-match'] = '*'
    if (token) headers[WRITE_META] = token
    const sent = await this.request('PUT', 'PutObject', key, this.objectUrl(key), headers, body, options.signal)
    const { res } = sent
    if (res.ok) {
      const etag = unquote(res.headers.get('etag') ?? '')
      if (token && etag) this.rememberTokens(etag, [token, ...(headers[CHAIN_META]?.split(',') ?? [])])
      return { etag }
    }
    // 412: precondition failed. 409 ConditionalRequestConflict: a concurrent conditional write
    // won (AWS). 404 on If-Match: the key is gone (AWS; Ceph answers 412). All mean "lost the race".
    const lost = conditional && (res.status === 412 || res.status === 409 || (res.status === 404 && options.ifMatch !== undefined && !isNoSuchBucket(sent.body)))
    if (!lost) throw this.error('PutObject', res, sent.body, key)
    if (sent.attempts > 1) {
      const now = await this.inspect(key, options.signal)
      // Ours and still there: its ETag. Ours but already replaced by a writer who built on it: the
      // write happened, its ETag is no longer observable ('').
      if (now?.tokens[0] === token) return { etag: now.etag }
      if (now?.tokens.includes(token)) return { etag: '' }
    }
    return null
  }

  /**
   * DeleteObjects in batches of 1000 in Quiet mode (only failures are reported), each with the
   * `Content-MD5` AWS and MinIO require. Any per-key `<Error>` is thrown: never a silent partial delete.
   */
  async delete(keys: string[], options: BackendCallOptions = {}): Promise<void> {
    if (!Array.isArray(keys)) throw new ValidationError('keys', 'must be an array of keys')
    for (const key of keys) checkKey(key)
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000)
      const xml = `<?xml version="1.0" encoding="UTF-8"?><Delete><Quiet>true</Quiet>${batch.map((k) => `<Object><Key>${xmlEscape(k)}</Key></Object>`).join('')}</Delete>`
      const body = new TextEncoder().encode(xml)
      const headers = { 'content-type': 'application/xml', 'content-md5': md5Base64(body) }
      const { res, body: answer } = await this.request('POST', 'DeleteObjects', undefined, `${this.bucketUrl}?delete`, headers, body, options.signal)
      if (!res.ok) throw this.error('DeleteObjects', res, answer)
      const failed = xmlBlocks(new TextDecoder().decode(answer), 'Error').map((e) => ({ key: xmlText(e, 'Key') ?? '?', code: xmlText(e, 'Code') ?? '?' }))
      if (failed.length) {
        const shown = failed.slice(0, 5).map((f) => `${f.key} (${f.code})`).join(', ')
        throw new RemoteError(`S3 DeleteObjects in bucket "${this.bucket}" failed for ${failed.length} of ${batch.length} keys: ${shown}${failed.length > 5 ? ', …' : ''}`, {
          status: res.status,
          serverCode: failed[0]!.code,
          key: failed[0]!.key,
          requestId: res.headers.get('x-amz-request-id') ?? undefined,
        })
      }
    }
  }

  /**
   * ListObjectsV2 with `prefix`, `start-after` and `max-keys` = the page asked for, so S3 never
   * reads more than the caller wants. A server may answer a truncated page shorter than asked;
   * then we follow its continuation token for the rest of the page only.
   */
  async list(prefix: string, options: BackendCallOptions & { startAfter?: string; limit?: number } = {}): Promise<BackendListPage> {
    if (typeof prefix !== 'string') throw new ValidationError('prefix', 'must be a string')
    const { startAfter, limit = this.maxListPage } = options
    if (!Number.isInteger(limit) || limit < 1) throw new ValidationError('limit', 'must be an integer >= 1')
    if (startAfter !== undefined && typeof startAfter !== 'string') throw new ValidationError('startAfter', 'must be a string')
    const want = Math.min(limit, this.maxListPage)
    const entries: BackendEntry[] = []
    let token: string | undefined
    for (;;) {
      const query: [string, string | undefined][] = [
        ['list-type', '2'],
        ['max-keys', String(want - entries.length)],
        ['prefix', prefix || undefined],
        // S3 ignores start-after once a continuation token is given; send one or the other.
        token === undefined ? ['start-after', startAfter || undefined] : ['continuation-token', token],
      ]
      const url = `${this.bucketUrl}?${query.filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${encodeRfc3986(v!)}`).join('&')}`
      const { res, body } = await this.request('GET', 'ListObjectsV2', undefined, url, {}, undefined, options.signal)
      if (!res.ok) throw this.error('ListObjectsV2', res, body)
      const xml = new TextDecoder().decode(body)
      for (const item of xmlBlocks(xml, 'Contents')) {
        const etag = xmlText(item, 'ETag')
        entries.push({ key: xmlText(item, 'Key') ?? '', size: Number(xmlText(item, 'Size') ?? 0), ...(etag ? { etag: unquote(etag) } : {}) })
      }
      const truncated = xmlText(xml, 'IsTruncated') === 'true'
      token = xmlText(xml, 'NextContinuationToken')
      if (!truncated || entries.length >= want || !token) return { entries, truncated }
    }
  }

  /** HEAD with the metadata `put` needs; `null` when absent (a HEAD's 404 has no body to tell a missing bucket apart). */
  private async inspect(key: string, signal?: AbortSignal): Promise<Inspected | null> {
    const { res, body } = await this.request('HEAD', 'HeadObject', key, this.objectUrl(key), {}, undefined, signal)
    if (res.status === 404) return null
    if (!res.ok) throw this.error('HeadObject', res, body, key)
    const { etag, tokens } = this.remember(res, key)
    return { etag, size: Number(res.headers.get('content-length') ?? 0), tokens }
  }

  /** Reads the ETag and write tokens of a response and keeps them for the next conditional PUT. */
  private remember(res: Response, key: string): { etag: string; tokens: string[] } {
    const raw = res.headers.get('etag')
    if (!raw) {
      // The classic cause is a browser hiding the header: CORS needs `ExposeHeaders: ETag`.
      throw new RemoteError(`S3 returned no ETag for ${key} (if in a browser, expose the ETag header in the bucket's CORS rules)`, { key, status: res.status })
    }
    const etag = unquote(raw)
    const own = res.headers.get(WRITE_META)
    const tokens = own ? [own, ...(res.headers.get(CHAIN_META)?.split(',') ?? [])] : []
    if (own) this.rememberTokens(etag, tokens)
    return { etag, tokens }
  }

  private rememberTokens(etag: string, tokens: string[]): void {
    this.seen.delete(etag)
    this.seen.set(etag, tokens)
    // A small LRU: only ETags read moments ago are ever used for a chain.
    if (this.seen.size > 256) this.seen.delete(this.seen.keys().next().value!)
  }

  private objectUrl(key: string): string {
    return this.bucketUrl + encodeRfc3986(checkKey(key)).replace(/%2F/g, '/')
  }

  /**
   * Signs and sends one request through `fetchWithRetry`, reading the whole response body inside
   * each attempt so the timeout and the caller's signal cover the body too, and a body cut off
   * mid-way is retried like any other network failure.
   */
  private async request(
    method: string,
    operation: string,
    key: string | undefined,
    url: string,
    headers: Record<string, string>,
    body: Uint8Array | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Sent> {
    // Signed into the request: the server recomputes it and refuses a body altered in flight.
    headers['x-amz-content-sha256'] = body ? toHex(await crypto.subtle.digest('SHA-256', body as Uint8Array<ArrayBuffer>)) : EMPTY_SHA256
    let attempts = 0
    let answer = new Uint8Array(0)
    const res = await fetchWithRetry(
      async (attemptSignal) => {
        attempts++
        const signed = await new AwsV4Signer({ method, url, headers, ...this.credentials, service: 's3', region: this.region, cache: this.signingKeys }).sign()
        const r = await this.send(url, { method, headers: signed.headers, body: body as Uint8Array<ArrayBuffer> | undefined, signal: attemptSignal })
        answer = new Uint8Array(await r.arrayBuffer())
        return r
      },
      { retries: this.retries, timeoutMs: this.timeoutMs, signal },
      // Names the request in errors: operation, bucket, key. Never a header, never a URL with a signature.
      `S3 ${operation} ${key === undefined ? `bucket "${this.bucket}"` : key}`,
    )
    return { res, body: answer, attempts }
  }

  /** A typed error from an S3 error response: only status, code, message and request id are kept. */
  private error(operation: string, res: Response, body: Uint8Array, key?: string): SnapshelfError {
    const xml = new TextDecoder().decode(body)
    const serverCode = xmlText(xml, 'Code') ?? (res.status === 403 ? 'AccessDenied' : res.statusText || undefined)
    const requestId = xmlText(xml, 'RequestId') ?? res.headers.get('x-amz-request-id') ?? undefined
    const detail = xmlText(xml, 'Message')?.slice(0, 300)
    const details = { status: res.status, serverCode, requestId, key }
    const what = `S3 ${operation} ${key ?? ''}`.trimEnd()
    if (serverCode === 'NoSuchBucket') return new RemoteError(`${what}: bucket "${this.bucket}" does not exist (NoSuchBucket)`, details)
    const text = `${what} failed: ${res.status} ${serverCode ?? ''}${detail ? ` (${detail})` : ''}`
    if (res.status === 401 || res.status === 403) return new AuthError(`${text}: check the access key, secret and permissions for bucket "${this.bucket}"`, details)
    return new RemoteError(text, details)
  }
}

/** @internal RFC 3986 percent-encoding (URLSearchParams would write a space as `+`, which breaks SigV4 on Ceph). */
export function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

/** `"abc"` / `W/"abc"` → `abc`: the one form we keep and send (see `put`). */
function unquote(etag: string): string {
  return etag.replace(/^W\//, '').replace(/"/g, '')
}

function isNoSuchBucket(body: Uint8Array): boolean {
  return body.length > 0 && xmlText(new TextDecoder().decode(body), 'Code') === 'NoSuchBucket'
}

/** Keys are opaque to S3, but `.`/`..` segments would be collapsed by URL parsing and escape the bucket. */
function checkKey(key: unknown): string {
  if (typeof key !== 'string' || key === '' || key.length > 1024 || key.split('/').some((s) => s === '.' || s === '..')) {
    throw new ValidationError('key', 'must be a non-empty S3 key of at most 1024 characters without . or .. segments')
  }
  return key
}

function randomToken(): string {
  return toBase64(crypto.getRandomValues(new Uint8Array(9))).replace(/[+/]/g, (c) => (c === '+' ? '-' : '_'))
}

function toHex(buffer: ArrayBuffer): string {
  let out = ''
  for (const b of new Uint8Array(buffer)) out += b.toString(16).padStart(2, '0')
  return out
}
