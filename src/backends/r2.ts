import type {
  Backend,
  BackendCallOptions,
  BackendFolderPage,
  BackendHead,
  BackendListPage,
  BackendObject,
  BackendPutOptions,
} from '../core/backend.js'
import { RemoteError, SnapshelfError, throwIfAborted } from '../core/errors.js'
import { chunks, PAGE_SIZE } from '../core/util.js'

/**
 * The R2 bucket binding, typed structurally: only the methods and fields this backend uses, so
 * snapshelf depends on no Workers type package at runtime or at compile time. A Worker's
 * `env.MY_BUCKET` (`R2Bucket` from `@cloudflare/workers-types`) satisfies it as is.
 *
 * @example
 * interface Env { SNAPSHOTS: R2BucketLike }
 * const storage = new R2Storage({ bucket: env.SNAPSHOTS })
 */
export interface R2BucketLike {
  get(key: string): Promise<R2ObjectBodyLike | null>
  head(key: string): Promise<R2ObjectLike | null>
  put(
    key: string,
    value: Uint8Array,
    options?: { onlyIf?: { etagMatches?: string; etagDoesNotMatch?: string }; customMetadata?: Record<string, string> },
  ): Promise<R2ObjectLike | null>
  delete(keys: string | string[]): Promise<void>
  list(options?: {
    prefix?: string
    limit?: number
    cursor?: string
    startAfter?: string
    delimiter?: string
    /** `['customMetadata']`: listed objects carry their custom metadata. */
    include?: 'customMetadata'[]
  }): Promise<{
    objects: R2ObjectLike[]
    truncated: boolean
    cursor?: string
    /** With `delimiter`: the folders right under `prefix`. */
    delimitedPrefixes?: string[]
  }>
}

/**
 * The fields of an R2 object this backend reads.
 *
 * @example
 * const head: R2ObjectLike | null = await env.SNAPSHOTS.head(key)
 */
export interface R2ObjectLike {
  key: string
  size: number
  /** The unquoted ETag: what `onlyIf.etagMatches` compares against (`httpEtag` is the quoted form). */
  etag: string
  /**
   * Where `put` keeps write tokens (`tokens`: the writer's then its chain, comma-separated) and
   * snapshot metadata (`meta-<name>` each: see `R2Backend`).
   */
  customMetadata?: Record<string, string>
  /** When the object was written: `lastModified` of listings (dates sessions in `listSessions`). */
  uploaded?: Date
}

/**
 * An R2 object with its body.
 *
 * @example
 * const obj: R2ObjectBodyLike | null = await env.SNAPSHOTS.get(key)
 * const bytes = obj && new Uint8Array(await obj.arrayBuffer())
 */
export interface R2ObjectBodyLike extends R2ObjectLike {
  arrayBuffer(): Promise<ArrayBuffer>
  /** The body as a stream (R2's own has it): cancelled when a read is aborted before it. */
  body?: ReadableStream
}

/**
 * A byte backend over an R2 bucket binding: no credentials, no signing, the Worker's own binding.
 * Compare-and-swap goes through `onlyIf` (R2 answers `null` when the condition fails); bodies are
 * stored opaquely, with no `contentEncoding`, so reads return exactly the bytes we wrote (our
 * own gzip included) and the codec recognises gzip by its magic bytes. Write tokens given to
 * `put` (from `HttpStorage` through `createSnapshotHandler`) are kept as custom metadata and
 * returned by `get` / `head`, so a client can tell whether its retried write had landed.
 * Snapshot metadata is custom metadata too, each name as `meta-<name>`: `tokens` was there first
 * (objects in buckets carry it), and the namespace keeps a snapshot's own `tokens` apart from it.
 * Listings ask for custom metadata (`include`), so `listSnapshots` and `listSessions` show it at no
 * extra request.
 *
 * @example
 * const store = new BackendSnapshotStore({ backend: new R2Backend(env.SNAPSHOTS) })
 */
export class R2Backend implements Backend {
  /** R2's `delete` and `list` take at most 1000 keys per call. */
  readonly maxListPage = PAGE_SIZE
  readonly #bucket: R2BucketLike

  constructor(bucket: R2BucketLike) {
    this.#bucket = bucket
  }

  async get(key: string, o?: BackendCallOptions): Promise<BackendObject | null> {
    throwIfAborted(o?.signal)
    const obj = await this.#call('get', key, () => this.#bucket.get(key))
    if (!obj) return null
    // Aborted while R2 answered (the caller's signal, or a load's GET of latest ahead of need,
    // cancelled): the body is not read. Once its read has begun it runs to the end (R2's
    // arrayBuffer takes no signal), as a fetch body already buffered would.
    if (o?.signal?.aborted) {
      obj.body?.cancel().catch(() => {})
      throwIfAborted(o.signal)
    }
    return this.#call('get', key, async () => ({
      body: new Uint8Array(await obj.arrayBuffer()),
      etag: obj.etag,
      tokens: tokensOf(obj),
      metadata: metadataOf(obj),
    }))
  }

  async head(key: string, o?: BackendCallOptions): Promise<BackendHead | null> {
    throwIfAborted(o?.signal)
    return this.#call('head', key, async () => {
      const obj = await this.#bucket.head(key)
      return obj && { etag: obj.etag, size: obj.size, tokens: tokensOf(obj), metadata: metadataOf(obj) }
    })
  }

  async put(key: string, body: Uint8Array, o: BackendPutOptions = {}): Promise<{ etag: string } | null> {
    throwIfAborted(o.signal)
    // `etagDoesNotMatch: '*'` is R2's If-None-Match: * (create-only); a failed condition
    // resolves null rather than throwing, which is exactly the Backend contract.
    const onlyIf = o.ifMatch !== undefined ? { etagMatches: o.ifMatch } : o.ifNoneMatch === '*' ? { etagDoesNotMatch: '*' } : undefined
    // Write tokens ride along as custom metadata, replaced with the bytes in the same atomic put
    // (so a write without tokens leaves none behind to be mistaken for an older writer's).
    const tokens = o.tokens?.join()
    const customMetadata: Record<string, string> = {}
    if (tokens) customMetadata.tokens = tokens
    for (const [name, value] of Object.entries(o.metadata ?? {})) customMetadata[META + name] = value
    return this.#call('put', key, async () => {
      const obj = await this.#bucket.put(key, body, { onlyIf, customMetadata })
      return obj && { etag: obj.etag }
    })
  }

  async delete(keys: string[], o?: BackendCallOptions): Promise<void> {
    for (const batch of chunks(keys)) {
      throwIfAborted(o?.signal)
      await this.#call('delete', batch[0]!, () => this.#bucket.delete(batch))
    }
  }

  async list(prefix: string, o: BackendCallOptions & { startAfter?: string; limit?: number } = {}): Promise<BackendListPage> {
    const limit = Math.min(o.limit ?? PAGE_SIZE, PAGE_SIZE)
    let cursor: string | undefined
    const followed = new Set<string>()
    // R2 may answer a truncated page with fewer objects than asked (even none); follow its
    // cursor until there is something to return, so a caller never mistakes that for the end.
    // A cursor already followed would lead back here forever: that page did not advance.
    for (;;) {
      throwIfAborted(o.signal)
      const page = await this.#call('list', prefix, () =>
        this.#bucket.list({
          prefix,
          limit,
          include: ['customMetadata'],
          ...(cursor === undefined ? { startAfter: o.startAfter } : { cursor }),
        }),
      )
      const objects = page.objects.slice(0, limit)
      const truncated = page.truncated || page.objects.length > limit
      if (objects.length || !truncated || !page.cursor) {
        return {
          entries: objects.map((x) => ({
            key: x.key,
            size: x.size,
            etag: x.etag,
            lastModified: x.uploaded?.getTime(),
            metadata: metadataOf(x),
          })),
          truncated: truncated && objects.length > 0,
          metadataListed: true,
        }
      }
      cursor = this.#follow(followed, page.cursor, prefix)
    }
  }

  /**
   * The binding's `delimiter` listing: its `delimitedPrefixes` right under `prefix`, at most
   * `limit`. `limit` counts objects and prefixes alike, so a page of files only is followed on
   * by its cursor until a folder or the end.
   *
   * @example
   * const { folders } = await backend.listFolders('prod/') // ['prod/s1/', …]
   */
  async listFolders(prefix: string, o: BackendCallOptions & { startAfter?: string; limit?: number } = {}): Promise<BackendFolderPage> {
    const limit = Math.min(o.limit ?? PAGE_SIZE, PAGE_SIZE)
    let cursor: string | undefined
    const followed = new Set<string>()
    for (;;) {
      throwIfAborted(o.signal)
      const options = { prefix, limit, delimiter: '/', ...(cursor === undefined ? { startAfter: o.startAfter } : { cursor }) }
      const page = await this.#call('list', prefix, () => this.#bucket.list(options))
      const folders = (page.delimitedPrefixes ?? []).slice(0, limit)
      if (folders.length || !page.truncated || !page.cursor) return { folders, truncated: page.truncated && folders.length > 0 }
      cursor = this.#follow(followed, page.cursor, prefix)
    }
  }

  /** The next cursor of a listing; one already followed would lead back here forever. */
  #follow(followed: Set<string>, cursor: string, prefix: string): string {
    if (followed.has(cursor)) throw new RemoteError(`R2 list ${prefix}: the listing did not advance (a page repeated)`, { key: prefix })
    followed.add(cursor)
    return cursor
  }

  /** Wraps binding failures in `RemoteError` naming the operation and key (keys hold no secrets). */
  async #call<R>(op: string, key: string, fn: () => Promise<R>): Promise<R> {
    try {
      return await fn()
    } catch (cause) {
      if (cause instanceof SnapshelfError) throw cause
      throw new RemoteError(`R2 ${op} ${key} failed`, { key, cause })
    }
  }
}

/** The write tokens `put` stored with an object (`undefined` when it was written without). */
function tokensOf(obj: R2ObjectLike): string[] | undefined {
  return obj.customMetadata?.tokens?.split(',')
}

/** The custom-metadata prefix of snapshot metadata names (see `R2Backend`). */
const META = 'meta-'

/** The snapshot metadata `put` stored with an object (`undefined` when none). */
function metadataOf(obj: R2ObjectLike): Record<string, string> | undefined {
  let metadata: Record<string, string> | undefined
  for (const [name, value] of Object.entries(obj.customMetadata ?? {})) {
    if (!name.startsWith(META)) continue
    metadata ??= {}
    metadata[name.slice(META.length)] = value
  }
  return metadata
}
