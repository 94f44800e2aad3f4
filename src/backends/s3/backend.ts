import { AwsV4Signer } from 'aws4fetch'
import type { Backend, BackendCallOptions, BackendEntry, BackendListPage, BackendPutOptions } from '../../core/backend.js'
import { AuthError, RemoteError, ValidationError } from '../../core/errors.js'
import { fetchWithRetry } from '../../core/retry.js'
import { sha256Hex, toHex } from '../../core/util.js'
import { md5Base64 } from './md5.js'
import { xmlBlocks, xmlEscape, xmlText } from './xml.js'
import { WriteTokens } from '../../core/write-tokens.js'

/**
 * The S3 byte backend: ListObjectsV2 / GetObject / HeadObject / PutObject (conditional) /
 * DeleteObjects over `fetch`, signed with SigV4 by aws4fetch's `AwsV4Signer` (the signer inside
 * its `AwsClient`, used directly: AwsClient would add its own retry loop and build a `Request`
 * per call). Speaks to AWS S3, Cloudflare R2's S3 API, Ceph RGW and MinIO. Every request goes
 * through `fetchWithRetry` (timeouts, backoff, `Retry-After`, abort) and every upload carries its
 * SHA-256 in the signed `x-amz-content-sha256`, so the server rejects a body altered in flight.
 *
 * The implementation is one closure (`connect`) rather than class members so the minifier can
 * shorten every internal name: `snapshelf/s3` has a size budget (see README).
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

/**
 * The S3 `Backend`. Most users want `S3Storage`; use this directly to run the contract suite, to
 * plant or inspect stored bytes, or to give `TieredStorage` a remote.
 *
 * @example
 * import { S3Backend } from 'snapshelf/s3'
 * const backend = new S3Backend({ bucket: 'b', endpoint: 'http://127.0.0.1:7480', accessKeyId, secretAccessKey })
 * const page = await backend.list('session-1/', { limit: 100 })
 */
export interface S3Backend extends Backend {
  readonly maxListPage: number
  readonly bucket: string
  /** The signing region in use. */
  readonly region: string
  /** The bucket's base URL, ending in `/`; object keys are appended to it. */
  readonly bucketUrl: string
  /**
   * Conditional PUTs carry write tokens (`x-amz-meta-snapshelf-write`, and the chain of the
   * object they replace in `x-amz-meta-snapshelf-prev`), so a PUT retried after a lost response
   * recognises its own landed write instead of seeing a false lost race; when the tokens cannot
   * tell, it rejects with `RemoteError` (412, outcome unknown). See write-tokens.ts.
   *
   * ETags are kept and sent UNQUOTED: Ceph RGW matches `If-Match` only against the bare ETag (the
   * quoted form always fails), while AWS S3 and R2 compare the ETag value with or without quotes.
   */
  put(key: string, body: Uint8Array, options?: BackendPutOptions): Promise<{ etag: string } | null>
}

/**
 * The S3 byte backend on its own (advanced: `S3Storage` is the snapshot layer over it). The class
 * is a thin shell over `connect`, so `new S3Backend(…)` and `instanceof` work.
 *
 * @example
 * const backend = new S3Backend({ bucket: 'agent-sessions', endpoint: 'http://127.0.0.1:7480', accessKeyId, secretAccessKey })
 * const page = await backend.list('session-42/', { limit: 100 })
 */
export class S3Backend {
  constructor(options: S3BackendOptions) {
    Object.assign(this, connect(options))
  }
}

/** SHA-256 of the empty string: the payload hash of every body-less request. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
/** Random token of the conditional PUT that wrote an object (see `put`). */
const WRITE_META = 'x-amz-meta-snapshelf-write'
/** Tokens of the writes this object replaced, newest first (see `put`). */
const CHAIN_META = 'x-amz-meta-snapshelf-prev'
const PAGE = 1000

function connect(options: S3BackendOptions): S3Backend {
  const { bucket, accessKeyId, secretAccessKey, sessionToken, retries, timeoutMs, fetch: customFetch } = options ?? fail('options', 'must be an object')
  // Messages never echo a value: it may be a secret.
  if (typeof bucket !== 'string' || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || /\.\.|\.-|-\.|^[\d.]+$/.test(bucket)) {
    fail('bucket', 'must be a valid S3 bucket name (3-63 of a-z 0-9 . -)')
  }
  for (const [field, value, optional] of [['accessKeyId', accessKeyId], ['secretAccessKey', secretAccessKey], ['sessionToken', sessionToken, 1]] as const) {
    if (!(optional && value === undefined) && (typeof value !== 'string' || !value || value !== value.trim())) fail(field, 'must be a non-empty string')
  }
  if (retries !== undefined && !(Number.isInteger(retries) && retries >= 0)) fail('retries', 'must be an integer >= 0')
  if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs > 0)) fail('timeoutMs', 'must be an integer >= 1')
  if (customFetch !== undefined && typeof customFetch !== 'function') fail('fetch', 'must be a function')
  if (options.region !== undefined && !/^[\w-]{1,64}$/.test(options.region)) fail('region', "must be a region name like 'us-east-1' or 'auto'")
  let url: URL | undefined
  try {
    url = new URL(options.endpoint ?? `https://s3.${options.region ?? 'us-east-1'}.amazonaws.com`)
  } catch {}
  // Credentials in the URL would end up in error messages; a query or fragment has no meaning here.
  if (!url || !/^https?:$/.test(url.protocol) || url.username || url.password || url.search || url.hash) {
    fail('endpoint', 'must be an http(s) URL, no credentials, query or fragment')
  }
  const host = url.hostname
  const region =
    options.region ?? (host.endsWith('.r2.cloudflarestorage.com') ? 'auto' : /\bs3[.-](?:dualstack\.)?([a-z]{2}(?:-[a-z]+)+-\d)\./.exec(host)?.[1] ?? 'us-east-1')
  const base = `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}/`
  // Virtual-hosted on AWS (path style is deprecated there), except for dotted names (TLS).
  const bucketUrl = /(^|\.)amazonaws\.com(\.cn)?$/.test(host) && !options.forcePathStyle && !bucket.includes('.') ? base.replace('//', `//${bucket}.`) : `${base}${bucket}/`
  // Looked up at call time, so a global fetch patched after construction is honoured.
  const send = customFetch ?? ((input, init) => fetch(input, init))
  /**
   * The SigV4 signing key of each day, derived AND imported once as a `CryptoKey`. aws4fetch's own
   * cache keeps the raw key and re-imports it on every request; importing is a measurable share
   * of a small request's client CPU. A failed derivation is forgotten, so the next call retries.
   */
  const signingKeys = new Map<string, Promise<CryptoKey>>()
  const signingKey = (date: string) => {
    let key = signingKeys.get(date)
    if (!key) {
      // Only today's key is ever asked for again: drop yesterday's.
      signingKeys.clear()
      key = [date, region, 's3', 'aws4_request'].reduce(async (k, part) => hmacKey(await hmac(await k, part)), hmacKey(utf8('AWS4' + secretAccessKey)))
      key.catch(() => signingKeys.delete(date))
      signingKeys.set(date, key)
    }
    return key
  }
  /** Write tokens of recently read objects, and the settling of retried conditional PUTs. */
  const writeTokens = new WriteTokens()

  /**
   * Signs and sends one request through `fetchWithRetry`, reading the whole response body inside
   * each attempt so the timeout and the caller's signal cover the body too, and a body cut off
   * mid-way is retried like any other network failure. `attempts` > 1 means an earlier attempt
   * may have landed.
   */
  const request = async (method: string, operation: string, key: string | undefined, target: string, signal?: AbortSignal, headers: Record<string, string> = {}, body?: Uint8Array) => {
    // Signed into the request: the server recomputes it and refuses a body altered in flight.
    headers['x-amz-content-sha256'] = body ? await sha256Hex(body) : EMPTY_SHA256
    const { response: res, body: answer, attempts } = await fetchWithRetry(
      async (attemptSignal) => {
        // aws4fetch canonicalises; the signature itself uses our cached key (see `signingKeys`).
        const signer = new AwsV4Signer({ method, url: target, headers, accessKeyId, secretAccessKey, sessionToken, service: 's3', region })
        signer.signature = async () => toHex(await hmac(await signingKey(signer.datetime.slice(0, 8)), await signer.stringToSign()))
        const signed = await signer.sign()
        return send(target, { method, headers: signed.headers, body: body as Uint8Array<ArrayBuffer> | undefined, signal: attemptSignal })
      },
      { retries, timeoutMs, signal },
      // Names the request in errors: operation, bucket, key. Never a header, never a signed URL.
      `S3 ${operation} ${key ?? `bucket "${bucket}"`}`,
    )
    const xml = (tag: string) => xmlText(new TextDecoder().decode(answer), tag)
    /** A typed error from an S3 error response: only status, code, message and request id are kept. */
    const failure = () => {
      const serverCode = xml('Code') ?? (res.status === 403 ? 'AccessDenied' : res.statusText || undefined)
      const details = { status: res.status, serverCode, requestId: xml('RequestId') ?? res.headers.get('x-amz-request-id') ?? undefined, key }
      const text = `S3 ${operation} ${key ?? ''} failed: ${res.status} ${serverCode} ${xml('Message')?.slice(0, 200) ?? ''}`
      if (serverCode === 'NoSuchBucket') return new RemoteError(`S3 bucket "${bucket}" does not exist (NoSuchBucket)`, details)
      return res.status === 401 || res.status === 403 ? new AuthError(`${text} (check credentials and access to bucket "${bucket}")`, details) : new RemoteError(text, details)
    }
    return { res, body: answer, attempts, xml, failure }
  }

  const objectUrl = (key: string) => {
    // Keys are opaque to S3, but `.`/`..` segments would be collapsed by URL parsing and escape the bucket.
    if (typeof key !== 'string' || !key || key.length > 1024 || /(^|\/)\.\.?(\/|$)/.test(key)) fail('key', 'must be 1-1024 characters, no . or .. segment')
    return bucketUrl + encodeRfc3986(key).replace(/%2F/g, '/')
  }

  /** Reads the ETag and write tokens of a response and keeps them for the next conditional PUT. */
  const remember = (res: Response, key: string) => {
    const raw = res.headers.get('etag')
    // The classic cause is a browser hiding the header: CORS needs `ExposeHeaders: ETag`.
    if (!raw) throw new RemoteError(`S3 returned no ETag for ${key} (CORS must expose ETag)`, { key, status: res.status })
    const own = res.headers.get(WRITE_META)
    const tokens = own ? [own, ...(res.headers.get(CHAIN_META)?.split(',') ?? [])] : []
    return { etag: writeTokens.keep(unquote(raw), tokens), tokens }
  }

  /** HEAD with the write tokens; `null` when absent (a HEAD's 404 has no body to tell a missing bucket apart). */
  const inspect = async (key: string, signal?: AbortSignal) => {
    const { res, failure } = await request('HEAD', 'HeadObject', key, objectUrl(key), signal)
    if (res.status === 404) return null
    if (!res.ok) throw failure()
    return { ...remember(res, key), size: Number(res.headers.get('content-length')) }
  }

  return {
    maxListPage: PAGE,
    bucket,
    region,
    bucketUrl,

    async get(key, o: BackendCallOptions = {}) {
      const { res, body, xml, failure } = await request('GET', 'GetObject', key, objectUrl(key), o.signal)
      if (res.status === 404 && xml('Code') !== 'NoSuchBucket') return null
      if (!res.ok) throw failure()
      return { body, etag: remember(res, key).etag }
    },

    async head(key, o: BackendCallOptions = {}) {
      const found = await inspect(key, o.signal)
      return found && { etag: found.etag, size: found.size }
    },

    async put(key, body, o: BackendPutOptions = {}) {
      const { ifMatch, ifNoneMatch } = o
      if (ifNoneMatch !== undefined && (ifNoneMatch !== '*' || ifMatch !== undefined)) fail('ifNoneMatch', "must be '*', without ifMatch")
      // Gzip by magic bytes, as the codec does; the type is informational (no Content-Encoding,
      // so no runtime ever decompresses our bytes behind our back).
      const headers: Record<string, string> = { 'content-type': body[0] === 0x1f && body[1] === 0x8b ? 'application/gzip' : 'application/json' }
      const mine = writeTokens.forPut(ifMatch && unquote(ifMatch), ifNoneMatch)
      const [token, ...chain] = mine
      if (ifMatch !== undefined) headers['if-match'] = unquote(ifMatch)
      if (ifNoneMatch) headers['if-none-match'] = '*'
      if (token) headers[WRITE_META] = token
      if (chain.length) headers[CHAIN_META] = chain.join(',')
      const { res, attempts, xml, failure } = await request('PUT', 'PutObject', key, objectUrl(key), o.signal, headers, body)
      if (res.ok) {
        const etag = unquote(res.headers.get('etag') ?? '')
        return { etag: writeTokens.keep(etag, mine) }
      }
      // 412: precondition failed. 409 ConditionalRequestConflict: a concurrent conditional write
      // won (AWS). 404 on If-Match: the key is gone (AWS; Ceph answers 412). All mean "lost the race".
      if (!token || !(res.status === 412 || res.status === 409 || (res.status === 404 && ifMatch !== undefined && xml('Code') !== 'NoSuchBucket'))) throw failure()
      // Retried (timeout, reset, 5xx, lost response), then refused: maybe our own first attempt.
      return attempts > 1 ? writeTokens.settle(key, mine, await inspect(key, o.signal), ifNoneMatch) : null
    },

    /**
     * DeleteObjects in batches of 1000 in Quiet mode (only failures are reported), each with the
     * `Content-MD5` AWS and MinIO require. Any per-key `<Error>` is thrown: never a silent partial delete.
     */
    async delete(keys, o: BackendCallOptions = {}) {
      if (!Array.isArray(keys)) fail('keys', 'must be an array')
      keys.forEach(objectUrl)
      for (let i = 0; i < keys.length; i += PAGE) {
        const batch = keys.slice(i, i + PAGE)
        const body = new TextEncoder().encode(`<Delete><Quiet>true</Quiet>${batch.map((k) => `<Object><Key>${xmlEscape(k)}</Key></Object>`).join('')}</Delete>`)
        const headers = { 'content-type': 'application/xml', 'content-md5': md5Base64(body) }
        const { res, body: answer, failure } = await request('POST', 'DeleteObjects', undefined, `${bucketUrl}?delete`, o.signal, headers, body)
        if (!res.ok) throw failure()
        const failed = xmlBlocks(new TextDecoder().decode(answer), 'Error').map((e) => [xmlText(e, 'Key'), xmlText(e, 'Code')])
        if (failed.length) {
          throw new RemoteError(`S3 DeleteObjects failed for ${failed.length} of ${batch.length} keys: ${failed.slice(0, 5).map(([k, c]) => `${k} (${c})`).join(', ')}`, {
            status: res.status,
            key: failed[0]![0],
            serverCode: failed[0]![1],
          })
        }
      }
    },

    /**
     * ListObjectsV2 with `prefix`, `start-after` and `max-keys` = the page asked for, so S3 never
     * reads more than the caller wants. A server may answer a truncated page shorter than asked;
     * then we follow its continuation token for the rest of the page only.
     */
    async list(prefix, o = {}) {
      const { startAfter, limit = PAGE } = o
      if (typeof prefix !== 'string') fail('prefix', 'must be a string')
      if (!(Number.isInteger(limit) && limit > 0)) fail('limit', 'must be an integer >= 1')
      const want = Math.min(limit, PAGE)
      const entries: BackendEntry[] = []
      let token: string | undefined
      for (;;) {
        const query: [string, string | undefined][] = [
          ['list-type', '2'],
          ['max-keys', `${want - entries.length}`],
          ['prefix', prefix || undefined],
          // S3 ignores start-after once a continuation token is given; send one or the other.
          token ? ['continuation-token', token] : ['start-after', startAfter || undefined],
        ]
        const target = `${bucketUrl}?${query.filter((q) => q[1]).map(([k, v]) => `${k}=${encodeRfc3986(v!)}`).join('&')}`
        const { res, xml, body, failure } = await request('GET', 'ListObjectsV2', undefined, target, o.signal)
        if (!res.ok) throw failure()
        for (const item of xmlBlocks(new TextDecoder().decode(body), 'Contents')) {
          entries.push({ key: xmlText(item, 'Key')!, size: Number(xmlText(item, 'Size')), etag: unquote(xmlText(item, 'ETag') ?? '') })
        }
        const truncated = xml('IsTruncated') === 'true'
        token = xml('NextContinuationToken')
        if (!truncated || entries.length >= want || !token) return { entries, truncated } satisfies BackendListPage
      }
    },
  }
}

/** @internal RFC 3986 percent-encoding (URLSearchParams would write a space as `+`, which breaks SigV4 on Ceph). */
export function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

/** `"abc"` / `W/"abc"` → `abc`: the one form we keep and send (see `put`). */
function unquote(etag: string): string {
  return etag.replace(/^W\/|"/g, '')
}

function fail(field: string, rule: string): never {
  throw new ValidationError(field, rule)
}

const utf8 = (text: string) => new TextEncoder().encode(text)
const hmacKey = (raw: ArrayBuffer | Uint8Array<ArrayBuffer>) => crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
const hmac = (key: CryptoKey, text: string) => crypto.subtle.sign('HMAC', key, utf8(text))
