import { sha256Hex, sigV4Signer } from '#platform'
import { AwsV4Signer } from 'aws4fetch'
import type {
  Backend,
  BackendCallOptions,
  BackendEntry,
  BackendFolderPage,
  BackendHead,
  BackendListPage,
  BackendObject,
  BackendPutOptions,
} from '../../core/backend.js'
import { AuthError, RemoteError, ValidationError } from '../../core/errors.js'
import { isStoredEntry, isStoredMetadata } from '../../core/metadata.js'
import { fetchWithRetry, type RetryPolicy } from '../../core/retry.js'
import { chunks, PAGE_SIZE } from '../../core/util.js'
import { WriteTokens } from '../../core/write-tokens.js'
import { md5Base64 } from './md5.js'
import { xmlBlocks, xmlEscape, xmlText } from './xml.js'

/**
 * The S3 byte backend: ListObjectsV2 / GetObject / HeadObject / PutObject (conditional) /
 * DeleteObjects over `fetch`, signed with SigV4 by aws4fetch's `AwsV4Signer` (the signer inside
 * its `AwsClient`, used directly: AwsClient would add its own retry loop and build a `Request`
 * per call). Speaks to AWS S3, Cloudflare R2's S3 API, Ceph RGW and MinIO. Every request goes
 * through `fetchWithRetry` (timeouts, backoff, `Retry-After`, abort) and every upload carries its
 * SHA-256 in the signed `x-amz-content-sha256`, so the server rejects a body altered in flight.
 * Signed requests go to the configured endpoint only: redirects are never followed. No error
 * carries a credential: they are checked up front, and server text and causes are redacted.
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
   * Never the bucket's own URL: `http://127.0.0.1:7480/my-bucket` is refused (`bucket` names it).
   */
  endpoint?: string
  /** Signing region. Default: from an AWS endpoint's host, `auto` for R2, else `us-east-1`. */
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

/** One signed request to S3 (see `S3Backend#request`). */
interface S3Request {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST'
  /** The S3 API operation, named in errors. */
  operation: string
  /** The object the request is for; without one, the request is on the bucket, with `query`. */
  key?: string
  /** The query string of a request on the bucket (already encoded). */
  query?: string
  signal?: AbortSignal
  headers?: Record<string, string>
  body?: Uint8Array
}

/** One ListObjectsV2 request (see `S3Backend#listObjects`). */
interface S3ListRequest {
  prefix: string
  /** `max-keys`: keys and common prefixes together. */
  maxKeys: number
  /** A continuation token; `startAfter` is ignored with one. */
  token?: string
  startAfter?: string
  signal?: AbortSignal
  /** `'/'` for a folder listing. */
  delimiter?: string
}

/** What `#redact` puts in place of a credential. */
const REDACTED = '[redacted]'
/**
 * Looks like a credential, a signature or a token: a SigV4 `Signature=` or `Credential=` and its
 * value, or a long run of base64 or hex (signatures are 64 hex digits, secret keys 40 base64
 * characters, session tokens hundreds). Our own key id and token are also replaced by value.
 */
const CREDENTIAL_LIKE = /\b(?:Signature|Credential)=[^\s,;&]*|[A-Za-z0-9+/=]{32,}/g

/** SHA-256 of the empty string: the payload hash of every body-less request. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
/** Random token of the conditional PUT that wrote an object (see `put`). */
const WRITE_META = 'x-amz-meta-snapshelf-write'
/** Tokens of the writes this object replaced, newest first (see `put`). */
const CHAIN_META = 'x-amz-meta-snapshelf-prev'
/** User metadata headers; names after it that start with `snapshelf-` are our own (above). */
const USER_META = 'x-amz-meta-'

/**
 * The S3 `Backend` on its own (advanced: `S3Storage` is the snapshot layer over it). Use it
 * directly to run the contract suite, to plant or inspect stored bytes, or to give
 * `TieredStorage` a remote. The configuration is checked at construction, before any I/O.
 *
 * @example
 * import { S3Backend } from 'snapshelf/s3'
 * const backend = new S3Backend({ bucket: 'agent-sessions', endpoint: 'http://127.0.0.1:7480', accessKeyId, secretAccessKey })
 * const page = await backend.list('session-42/', { limit: 100 })
 */
export class S3Backend implements Backend {
  readonly maxListPage = PAGE_SIZE
  readonly bucket: string
  /** The signing region in use. */
  readonly region: string
  /** The bucket's base URL, ending in `/`; object keys are appended to it. */
  readonly bucketUrl: string
  /** The service URL requests go to (never holds a credential: those are refused), named in network errors. */
  readonly endpoint: string
  /** What every request is signed with: credentials, service and region (copied: later changes to the options object do not apply). */
  readonly #credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string; service: 's3'; region: string }
  readonly #retry: RetryPolicy
  readonly #fetch: typeof fetch | undefined
  /**
   * Signs with the day's signing key derived once (aws4fetch's own cache re-imports it on every
   * request): Web Crypto in Workers and browsers, synchronous `node:crypto` on Node, Bun and Deno
   * (`#platform`), the same signature either way.
   */
  readonly #sign: (signer: AwsV4Signer) => Promise<string>
  /** Write tokens of recently read objects, and the settling of retried conditional PUTs. */
  readonly #tokens = new WriteTokens()

  constructor(options: S3BackendOptions) {
    const { bucket, accessKeyId, secretAccessKey, sessionToken, region, retries, timeoutMs, fetch } =
      options ?? fail('options', 'must be an object')
    // Messages never echo a value: it may be a secret.
    if (typeof bucket !== 'string' || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || /\.\.|\.-|-\.|^[\d.]+$/.test(bucket)) {
      fail('bucket', 'must be a valid S3 bucket name (3-63 of a-z 0-9 . -)')
    }
    // Printable ASCII only: the key id and the token travel in headers, where a newline or a
    // non-ASCII character makes the runtime throw an error that quotes the whole header value.
    for (const [field, value] of Object.entries({ accessKeyId, secretAccessKey, sessionToken })) {
      const optional = field === 'sessionToken' && value === undefined
      if (!optional && (typeof value !== 'string' || !/^[!-~]+$/.test(value)))
        fail(field, 'must be a non-empty string of printable ASCII, no spaces')
    }
    if (retries !== undefined && !(Number.isInteger(retries) && retries >= 0)) fail('retries', 'must be an integer >= 0')
    if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs > 0)) fail('timeoutMs', 'must be an integer >= 1')
    if (fetch !== undefined && typeof fetch !== 'function') fail('fetch', 'must be a function')
    if (region !== undefined && !/^[\w-]{1,64}$/.test(region)) fail('region', "must be a region name like 'us-east-1' or 'auto'")
    let url: URL | undefined
    try {
      url = new URL(options.endpoint ?? `https://s3.${region ?? 'us-east-1'}.amazonaws.com`)
    } catch {}
    // Credentials in the URL would end up in error messages; a query or fragment has no meaning here.
    if (!url || !/^https?:$/.test(url.protocol) || url.username || url.password || url.search || url.hash) {
      fail('endpoint', 'must be an http(s) URL, no credentials, query or fragment')
    }
    const host = url.hostname
    // The bucket pasted into the endpoint (`http://host:9000/my-bucket`, or AWS's and R2's
    // virtual host `my-bucket.s3.….amazonaws.com`) would still work, but every key would land one
    // folder down (`my-bucket/my-bucket/…`), invisible to a correct configuration of the same
    // bucket. Refused rather than rewritten: a gateway path that happens to be named like the
    // bucket is legitimate, and guessing would move someone's data.
    if (
      url.pathname.split('/').includes(bucket) ||
      (host.startsWith(`${bucket}.`) && /(^|\.)(amazonaws\.com(\.cn)?|r2\.cloudflarestorage\.com)$/.test(host))
    ) {
      fail('endpoint', 'must be the service URL without the bucket: the bucket goes in `bucket`, a key prefix in `prefix`')
    }
    const base = `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}/`
    this.endpoint = base.slice(0, -1)
    this.bucket = bucket
    this.region =
      region ??
      (host.endsWith('.r2.cloudflarestorage.com')
        ? 'auto'
        : (/\bs3[.-](?:dualstack\.)?([a-z]{2}(?:-[a-z]+)+-\d)\./.exec(host)?.[1] ?? 'us-east-1'))
    // Virtual-hosted on AWS (path style is deprecated there), except for dotted names (TLS).
    this.bucketUrl =
      /(^|\.)amazonaws\.com(\.cn)?$/.test(host) && !options.forcePathStyle && !bucket.includes('.')
        ? base.replace('//', `//${bucket}.`)
        : `${base}${bucket}/`
    this.#credentials = { accessKeyId, secretAccessKey, sessionToken, service: 's3', region: this.region }
    this.#sign = sigV4Signer(secretAccessKey, this.region, 's3')
    this.#retry = { retries, timeoutMs }
    this.#fetch = fetch
  }

  async get(key: string, o: BackendCallOptions = {}): Promise<BackendObject | null> {
    const { res, body, xml, failure } = await this.#request({ method: 'GET', operation: 'GetObject', key, signal: o.signal })
    if (res.status === 404 && xml('Code') !== 'NoSuchBucket') return null
    if (!res.ok) throw failure()
    return { body, etag: this.#remember(res, key).etag, metadata: metadataOf(res) }
  }

  /**
   * HeadObject: ETag, size and snapshot metadata (the `x-amz-meta-*` headers but our own write
   * tokens). The one way to read S3 metadata without the body: ListObjectsV2 returns none.
   */
  async head(key: string, o: BackendCallOptions = {}): Promise<BackendHead | null> {
    const found = await this.#inspect(key, o.signal)
    return found && { etag: found.etag, size: found.size, metadata: found.metadata }
  }

  /**
   * Conditional PUTs carry write tokens (`x-amz-meta-snapshelf-write`, and the chain of the
   * object they replace in `x-amz-meta-snapshelf-prev`), so a PUT retried after a lost response
   * recognises its own landed write instead of seeing a false lost race; when the tokens cannot
   * tell, it rejects with `RemoteError` (412, outcome unknown). See write-tokens.ts.
   *
   * ETags are kept and sent UNQUOTED: Ceph RGW matches `If-Match` only against the bare ETag (the
   * quoted form always fails), while AWS S3 and R2 compare the ETag value with or without quotes.
   *
   * Snapshot metadata goes as `x-amz-meta-<name>` headers (signed, like every header), already
   * checked and encoded by the snapshot layer to printable ASCII; anything else is refused here
   * before it could make the runtime throw an error quoting the header.
   *
   * @example
   * const put = await backend.put(key, bytes, { ifMatch: current.etag }) // null: a rival won
   */
  async put(key: string, body: Uint8Array, o: BackendPutOptions = {}): Promise<{ etag: string } | null> {
    const { ifNoneMatch } = o
    const ifMatch = o.ifMatch === undefined ? undefined : unquote(o.ifMatch)
    if (ifNoneMatch !== undefined && (ifNoneMatch !== '*' || ifMatch !== undefined)) fail('ifNoneMatch', "must be '*', without ifMatch")
    // A header value, like the credentials: checked before it can make the runtime throw.
    if (ifMatch !== undefined && !/^[!-~]+$/.test(ifMatch)) fail('ifMatch', 'must be an ETag (printable ASCII)')
    if (o.metadata !== undefined && !isStoredMetadata(o.metadata)) fail('metadata', 'must be stored metadata (see core/metadata.ts)')
    // Gzip by magic bytes, as the codec does; the type is informational (no Content-Encoding,
    // so no runtime ever decompresses our bytes behind our back).
    const headers: Record<string, string> = {
      'content-type': body[0] === 0x1f && body[1] === 0x8b ? 'application/gzip' : 'application/json',
    }
    const mine = this.#tokens.forPut(key, ifMatch, ifNoneMatch)
    const [token, ...chain] = mine
    if (ifMatch !== undefined) headers['if-match'] = ifMatch
    if (ifNoneMatch) headers['if-none-match'] = '*'
    if (token) headers[WRITE_META] = token
    if (chain.length) headers[CHAIN_META] = chain.join(',')
    for (const [name, value] of Object.entries(o.metadata ?? {})) headers[USER_META + name] = value
    const { res, attempts, xml, failure } = await this.#request({
      method: 'PUT',
      operation: 'PutObject',
      key,
      signal: o.signal,
      headers,
      body,
    })
    if (res.ok) return { etag: this.#tokens.keep(key, unquote(res.headers.get('etag') ?? ''), mine) }
    // 412: precondition failed. 409 ConditionalRequestConflict: a concurrent conditional write
    // won (AWS). 404 on If-Match: the key is gone (AWS; Ceph answers 412). All mean "lost the race".
    const lost = res.status === 412 || res.status === 409 || (res.status === 404 && ifMatch !== undefined && xml('Code') !== 'NoSuchBucket')
    if (!token || !lost) throw failure()
    // Retried (timeout, reset, 5xx, lost response), then refused: maybe our own first attempt.
    return attempts > 1 ? this.#tokens.settle(key, mine, await this.#inspect(key, o.signal)) : null
  }

  /**
   * DeleteObjects in batches of 1000 in Quiet mode (only failures are reported), each with the
   * `Content-MD5` AWS and MinIO require. Any per-key `<Error>` is thrown: never a silent partial delete.
   *
   * @example
   * await backend.delete(['session-42/a.json', 'session-42/b.json'])
   */
  async delete(keys: string[], o: BackendCallOptions = {}): Promise<void> {
    if (!Array.isArray(keys)) fail('keys', 'must be an array')
    // Every key is checked before the first batch goes out: no half-done delete of a bad list.
    for (const key of keys) this.#objectUrl(key)
    for (const batch of chunks(keys)) {
      const xml = `<Delete><Quiet>true</Quiet>${batch.map((k) => `<Object><Key>${xmlEscape(k)}</Key></Object>`).join('')}</Delete>`
      const body = new TextEncoder().encode(xml)
      const headers = { 'content-type': 'application/xml', 'content-md5': md5Base64(body) }
      const { res, blocks, failure } = await this.#request({
        method: 'POST',
        operation: 'DeleteObjects',
        query: 'delete',
        signal: o.signal,
        headers,
        body,
      })
      if (!res.ok) throw failure()
      const failed = blocks('Error').map((e) => [this.#redact(xmlText(e, 'Key')), this.#redact(xmlText(e, 'Code'))])
      if (failed.length) {
        throw new RemoteError(
          `S3 DeleteObjects failed for ${failed.length} of ${batch.length} keys: ${failed
            .slice(0, 5)
            .map(([k, c]) => `${k} (${c})`)
            .join(', ')}`,
          {
            status: res.status,
            key: failed[0]![0],
            serverCode: failed[0]![1],
          },
        )
      }
    }
  }

  /**
   * ListObjectsV2 with `prefix`, `start-after` and `max-keys` = the page asked for, so S3 never
   * reads more than the caller wants. A server may answer a truncated page shorter than asked;
   * then we follow its continuation token for the rest of the page only. A continuation that
   * does not advance (a token already followed, a key already listed) is a `RemoteError`: a
   * server repeating a page would otherwise keep this loop going forever.
   *
   * @example
   * const { entries, truncated } = await backend.list('session-42/', { startAfter: lastKey, limit: 100 })
   */
  async list(prefix: string, o: BackendCallOptions & { startAfter?: string; limit?: number } = {}): Promise<BackendListPage> {
    const { startAfter, limit = PAGE_SIZE } = o
    if (typeof prefix !== 'string') fail('prefix', 'must be a string')
    if (!(Number.isInteger(limit) && limit > 0)) fail('limit', 'must be an integer >= 1')
    const want = Math.min(limit, PAGE_SIZE)
    const entries: BackendEntry[] = []
    const listed = new Set<string>()
    const followed = new Set<string>()
    let token: string | undefined
    for (;;) {
      const { xml, blocks } = await this.#listObjects({ prefix, maxKeys: want - entries.length, token, startAfter, signal: o.signal })
      for (const item of blocks('Contents')) {
        const key = xmlText(item, 'Key')!
        if (listed.has(key)) stalled(prefix)
        listed.add(key)
        const modified = Date.parse(xmlText(item, 'LastModified') ?? '')
        entries.push({
          key,
          size: Number(xmlText(item, 'Size')),
          etag: unquote(xmlText(item, 'ETag') ?? ''),
          ...(modified >= 0 && { lastModified: modified }),
        })
      }
      const truncated = xml('IsTruncated') === 'true'
      token = xml('NextContinuationToken')
      if (!truncated || entries.length >= want || !token) return { entries, truncated }
      if (followed.has(token)) stalled(prefix)
      followed.add(token)
    }
  }

  /**
   * ListObjectsV2 with `delimiter=/`: the `CommonPrefixes` right under `prefix`, at most `limit`
   * (`max-keys` counts keys and prefixes alike, so a page of files only is followed on by its
   * continuation token until a folder or the end). One request per page of folders, whatever
   * each folder holds.
   *
   * @example
   * const { folders } = await backend.listFolders('prod/', { limit: 100 }) // ['prod/s1/', …]
   */
  async listFolders(prefix: string, o: BackendCallOptions & { startAfter?: string; limit?: number } = {}): Promise<BackendFolderPage> {
    const limit = Math.min(o.limit ?? PAGE_SIZE, PAGE_SIZE)
    const followed = new Set<string>()
    let token: string | undefined
    for (;;) {
      const { xml, blocks } = await this.#listObjects({
        prefix,
        maxKeys: limit,
        token,
        startAfter: o.startAfter,
        signal: o.signal,
        delimiter: '/',
      })
      const folders = blocks('CommonPrefixes').map((block) => xmlText(block, 'Prefix')!)
      const truncated = xml('IsTruncated') === 'true'
      token = xml('NextContinuationToken')
      if (folders.length || !truncated || !token) return { folders: folders.slice(0, limit), truncated: truncated && folders.length > 0 }
      if (followed.has(token)) stalled(prefix)
      followed.add(token)
    }
  }

  /** One ListObjectsV2 request (`delimiter` for a folder listing); a failure throws. */
  async #listObjects({ prefix, maxKeys, token, startAfter, signal, delimiter }: S3ListRequest) {
    const query: [string, string | undefined][] = [
      ['delimiter', delimiter],
      ['list-type', '2'],
      ['max-keys', `${maxKeys}`],
      ['prefix', prefix || undefined],
      // S3 ignores start-after once a continuation token is given; send one or the other.
      token ? ['continuation-token', token] : ['start-after', startAfter || undefined],
    ]
    const answer = await this.#request({
      method: 'GET',
      operation: 'ListObjectsV2',
      query: query
        .filter((q) => q[1])
        .map(([k, v]) => `${k}=${encodeRfc3986(v!)}`)
        .join('&'),
      signal,
    })
    if (!answer.res.ok) throw answer.failure()
    return answer
  }

  /**
   * Signs and sends one request through `fetchWithRetry`, reading the whole response body inside
   * each attempt so the timeout and the caller's signal cover the body too, and a body cut off
   * mid-way is retried like any other network failure. `attempts` > 1 means an earlier attempt
   * may have landed.
   */
  async #request({ method, operation, key, query, signal, headers = {}, body }: S3Request) {
    const url = key === undefined ? `${this.bucketUrl}?${query}` : this.#objectUrl(key)
    // Signed into the request: the server recomputes it and refuses a body altered in flight.
    headers['x-amz-content-sha256'] = body ? await sha256Hex(body) : EMPTY_SHA256
    const {
      response: res,
      body: answer,
      attempts,
    } = await fetchWithRetry(
      async (attemptSignal) => {
        try {
          // aws4fetch canonicalises; the signature itself uses our cached key (see `#sign`).
          const signer = new AwsV4Signer({ method, url, headers, ...this.#credentials })
          signer.signature = () => this.#sign(signer)
          const signed = await signer.sign()
          // Never follow a redirect: the signed request, session token included, would go to
          // whatever host the answer names (and a 404 there would read as "no such object").
          const init: RequestInit = {
            method,
            headers: signed.headers,
            body: body as Uint8Array<ArrayBuffer> | undefined,
            signal: attemptSignal,
            redirect: 'manual',
          }
          // The global fetch is looked up per call, so one patched after construction is honoured;
          // called as a plain function, never as a method of ours (a browser's fetch needs that).
          const send = this.#fetch ?? fetch
          return await send(url, init)
        } catch (error) {
          // Becomes the `cause` of the error the caller sees: never one that quotes our credentials.
          throw this.#scrubbed(error) ?? new Error('the request failed')
        }
      },
      { ...this.#retry, signal },
      // Names the request in errors: operation, bucket, key. Never a header, never a signed URL.
      // The endpoint too: "connection refused" is most often a wrong host or port.
      `S3 ${operation} ${key ?? `bucket "${this.bucket}"`} at ${this.endpoint}`,
    )
    // Decoded once, and only when asked: a GET's body is a snapshot, not XML, unless it failed.
    let text: string | undefined
    // Decoded once, and only when asked: most answers (GET, PUT) are never read as XML.
    const decoded = (): string => {
      text ??= new TextDecoder().decode(answer)
      return text
    }
    const blocks = (tag: string) => xmlBlocks(decoded(), tag)
    const xml = (tag: string) => xmlText(decoded(), tag)
    /**
     * A typed error from an S3 error response: only status, code, message and request id are
     * kept, redacted (see `#redact`) before the message is cut to length.
     */
    const failure = (note = '') => {
      const serverCode = this.#redact(xml('Code') ?? (res.status === 403 ? 'AccessDenied' : res.statusText || undefined))
      const requestId = this.#redact(xml('RequestId') ?? res.headers.get('x-amz-request-id') ?? undefined)
      const details = { status: res.status, serverCode, requestId, key }
      const message = `S3 ${operation} ${key ?? ''} failed: ${res.status} ${serverCode} ${this.#redact(xml('Message'))?.slice(0, 200) ?? ''}${note}`
      if (serverCode === 'NoSuchBucket') return new RemoteError(`S3 bucket "${this.bucket}" does not exist (NoSuchBucket)`, details)
      return res.status === 401 || res.status === 403
        ? new AuthError(`${message} (check credentials and access to bucket "${this.bucket}")`, details)
        : new RemoteError(message, details)
    }
    // The redirect, unfollowed: workerd, Node, Deno and Bun show its 3xx; a browser only an
    // opaque answer with status 0. Either is an error of its own, whatever the operation.
    if (res.type === 'opaqueredirect' || (res.status > 299 && res.status < 400))
      throw failure(' (redirect not followed: check endpoint and region)')
    return { res, body: answer, attempts, xml, blocks, failure }
  }

  /**
   * Server text with anything that looks like a credential, a signature or a token replaced, before
   * it enters an error: a server (or a proxy) may echo our request headers in its answer. Our own
   * key id and session token are replaced wherever they appear, raw or URL-encoded.
   */
  #redact<T extends string | undefined>(text: T): T {
    if (text === undefined) return text
    let out: string = text
    const { accessKeyId, secretAccessKey, sessionToken } = this.#credentials
    for (const secret of [accessKeyId, secretAccessKey, sessionToken]) {
      if (secret) out = out.replaceAll(secret, REDACTED).replaceAll(encodeURIComponent(secret), REDACTED)
    }
    return out.replace(CREDENTIAL_LIKE, REDACTED) as T
  }

  /**
   * A copy of a failed attempt's error, and of its causes, whose messages went through `#redact`:
   * what becomes the `cause` the caller sees cannot quote a credential even where the runtime's
   * or a custom fetch's error did (some quote a header they refuse, value and all). Stacks and
   * other fields stay behind; names and messages say what failed.
   */
  #scrubbed(error: unknown, depth = 0): Error | undefined {
    if (!(error instanceof Error) || depth > 3) return undefined
    const Kind = error instanceof TypeError ? TypeError : Error
    const copy = new Kind(this.#redact(error.message), { cause: this.#scrubbed(error.cause, depth + 1) })
    copy.name = this.#redact(error.name)
    return copy
  }

  #objectUrl(key: string): string {
    // Keys are opaque to S3, but `.`/`..` segments would be collapsed by URL parsing and escape the bucket.
    if (typeof key !== 'string' || !key || key.length > 1024 || /(^|\/)\.\.?(\/|$)/.test(key))
      fail('key', 'must be 1-1024 characters, no . or .. segment')
    return this.bucketUrl + encodeRfc3986(key).replace(/%2F/g, '/')
  }

  /** Reads the ETag and write tokens of a response and keeps them for the next conditional PUT. */
  #remember(res: Response, key: string): { etag: string; tokens: string[] } {
    const raw = res.headers.get('etag')
    // The classic cause is a browser hiding the header: CORS needs `ExposeHeaders: ETag`.
    if (!raw) throw new RemoteError(`S3 returned no ETag for ${key} (CORS must expose ETag)`, { key, status: res.status })
    const own = res.headers.get(WRITE_META)
    const tokens = own ? [own, ...(res.headers.get(CHAIN_META)?.split(',') ?? [])] : []
    return { etag: this.#tokens.keep(key, unquote(raw), tokens), tokens }
  }

  /** HEAD with the write tokens; `null` when absent (a HEAD's 404 has no body to tell a missing bucket apart). */
  async #inspect(key: string, signal?: AbortSignal): Promise<(BackendHead & { tokens: string[] }) | null> {
    const { res, failure } = await this.#request({ method: 'HEAD', operation: 'HeadObject', key, signal })
    if (res.status === 404) return null
    if (!res.ok) throw failure()
    return { ...this.#remember(res, key), size: Number(res.headers.get('content-length')), metadata: metadataOf(res) }
  }
}

/**
 * @internal RFC 3986 percent-encoding (URLSearchParams would write a space as `+`, which breaks
 * SigV4 on Ceph).
 *
 * @example
 * encodeRfc3986("it's (a) key*") // 'it%27s%20%28a%29%20key%2A'
 */
export function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

/**
 * The snapshot metadata of a GET / HEAD answer: its `x-amz-meta-*` headers but our own
 * `snapshelf-*` write tokens and any entry another tool wrote that is not in stored form
 * (core/metadata.ts); `undefined` when none. A browser sees only the headers the bucket's
 * CORS rule exposes (`ExposeHeaders` naming each `x-amz-meta-<name>`).
 */
function metadataOf(res: Response): Record<string, string> | undefined {
  let metadata: Record<string, string> | undefined
  // `Headers` iterates names lowercased.
  for (const [name, value] of res.headers) {
    const key = name.slice(USER_META.length)
    // Our write tokens are not metadata; what another tool wrote that we never could is skipped.
    if (!name.startsWith(USER_META) || !isStoredEntry(key, value)) continue
    metadata ??= {}
    metadata[key] = value
  }
  return metadata
}

/** `"abc"` / `W/"abc"` → `abc`: the one form we keep and send (see `put`). */
function unquote(etag: string): string {
  return etag.replace(/^W\/|"/g, '')
}

/** A listing whose next page repeats what it already gave: following it would never end. */
function stalled(prefix: string): never {
  throw new RemoteError(`S3 ListObjectsV2 "${prefix}": the listing did not advance (a page repeated)`)
}

function fail(field: string, rule: string): never {
  throw new ValidationError(field, rule)
}
