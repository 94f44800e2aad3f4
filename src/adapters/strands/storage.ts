import type { Storage as StrandsUnifiedStorage } from '@strands-agents/sdk'
import { gunzip, gzip, isGzip } from '../../core/codec.js'
import { refuseSealed, sealedKeyId } from '../../core/encryption.js'
import { RemoteError, TooLargeError, ValidationError } from '../../core/errors.js'
import { type AdapterTarget, type StorageTarget, adapterTarget } from '../../core/target.js'
import { PAGE_SIZE } from '../../core/util.js'
import { MemoryBackend } from '../../backends/memory.js'
import { isNormalKey, normalizeKey, normalizePrefix, pushdownPrefix } from './keys.js'

/**
 * Strands' marker of a storage whose keys are already namespaced (`storage/storage` in the SDK):
 * `SessionManager` then writes into it as it is instead of under `session/`, and
 * `resolveNamespace` returns it unchanged. Set on every view `namespace()` returns, never on the
 * storage itself, exactly as on Strands' own backends.
 */
const NAMESPACED: unique symbol = Symbol.for('strands.storage.namespaced')
/**
 * Strands' marker of a storage whose data does not survive a restart: the `ContextManager` then
 * keeps its stash inline in the session snapshot instead of trusting the storage to keep it. Set
 * when writes land in memory: a `MemoryStorage`, or a `TieredStorage` whose local tier is memory
 * (its outbox dies with the process until a sync has pushed it). Views keep it, as in Strands.
 */
const EPHEMERAL: unique symbol = Symbol.for('strands.storage.ephemeral')

/** S3's and R2's longest key, in bytes of UTF-8; every tier refuses the same keys. */
const MAX_KEY_BYTES = 1024

/**
 * What `StrandsStorage` takes from a snapshelf storage (core's `StorageTarget`): its byte backend,
 * its prefix and its codec settings. Every storage class is one.
 *
 * @example
 * const target: StrandsStorageTarget = new S3Storage({ bucket, endpoint, accessKeyId, secretAccessKey, prefix: 'agents' })
 */
export type StrandsStorageTarget = StorageTarget

/**
 * Options of `StrandsStorage`.
 *
 * @example
 * const options: StrandsStorageOptions = { storage: new MemoryStorage() }
 */
export interface StrandsStorageOptions {
  /** Any snapshelf storage; keys land under its prefix, in its backend, with its compression. */
  storage: StrandsStorageTarget
}

/** The validated storage every view of one `StrandsStorage` shares. */
interface Target extends AdapterTarget {
  ephemeral: boolean
}

/** The constructor's private door for `namespace()`: a view shares its parent's target. */
const VIEW = Symbol('view')
type ViewOptions = { [VIEW]: { target: Target; ns: string } }

/**
 * Strands Agents' unified `Storage` (1.19+: `write`, `read`, `delete`, `list`, `namespace`) over any
 * snapshelf storage, so `new Agent({ storage })` and `SessionManager` keep sessions, the context
 * stash and everything else Strands persists in S3, R2, IndexedDB, memory, over HTTP or local-first.
 *
 * Semantics are those of Strands' own `InMemoryStorage`: keys are normalised the same way and
 * refused the same way (as `ERR_VALIDATION`, before any I/O); `read` of an absent key is `null`;
 * `delete` is idempotent; `list(prefix)` returns every matching key in ascending order (pushed
 * down to the backend and paged internally); `namespace(prefix)` returns a view (composable) that
 * carries Strands' `namespaced` marker. Key `k` is the object `[storage prefix/]k`, the same
 * object Strands' own `S3Storage({ prefix })` uses, so both share a bucket; and since Strands'
 * `SessionManager` writes `session/<sessionId>/scopes/…`, a plain snapshelf storage with prefix
 * `[prefix/]session` reads, lists and deletes those sessions.
 *
 * On top: values are gzipped when the storage compresses (detected by magic bytes on read, so
 * plain JSON that Strands wrote stays readable, and a caller's own gzip comes back exactly as
 * written), AES-GCM when the storage has `encryption` (after gzip, bound to the key), the
 * backend's retries and typed errors, and offline-first writes on `TieredStorage`.
 *
 * @example
 * import { Agent, SessionManager } from '@strands-agents/sdk'
 * import { S3Storage } from 'snapshelf/s3'
 * import { StrandsStorage } from 'snapshelf/strands'
 *
 * const storage = new StrandsStorage({ storage: new S3Storage({ bucket, endpoint, accessKeyId, secretAccessKey }) })
 * const agent = new Agent({ storage, sessionManager: new SessionManager({ sessionId: 'trip-1' }) })
 */
export class StrandsStorage {
  /** Present (`true`) on the views `namespace()` returns: see `NAMESPACED`. */
  declare readonly [NAMESPACED]?: true
  /** Present (`true`) when writes land in memory: see `EPHEMERAL`. */
  declare readonly [EPHEMERAL]?: true
  readonly #target: Target
  /** This view's namespace, normalised, `''` or ending in `/`. */
  readonly #ns: string

  constructor(options: StrandsStorageOptions) {
    const view = (options as unknown as Partial<ViewOptions>)?.[VIEW]
    this.#target = view ? view.target : targetOf(options?.storage)
    this.#ns = view ? view.ns : ''
    // Own properties, checked by Strands with `in`: never on the prototype.
    if (view) Object.defineProperty(this, NAMESPACED, { value: true })
    if (this.#target.ephemeral) Object.defineProperty(this, EPHEMERAL, { value: true })
  }

  /**
   * Stores `data` under `key`, replacing any value. The bytes are copied at once, so a caller
   * reusing its buffer cannot change what is stored.
   *
   * @example
   * await storage.write('notes/today.json', new TextEncoder().encode('{"todo":[]}'))
   */
  async write(key: string, data: Uint8Array): Promise<void> {
    const { backend, compression, maxBytes, sealer } = this.#target
    const stored = this.#key(key)
    if (!(data instanceof Uint8Array)) throw new ValidationError('data', 'must be a Uint8Array')
    if (data.length > maxBytes) throw new TooLargeError(`${stored} is over ${maxBytes} bytes`, { key: stored })
    const raw = new Uint8Array(data)
    // Readers gunzip whatever starts with the gzip magic number, so bytes that already do (a
    // caller's own gzip) are wrapped once more even without compression: a read then removes
    // exactly the layer we added and returns the caller's bytes. Likewise bytes that look sealed
    // (readers without encryption refuse those as encrypted).
    const encoded = compression === 'gzip' || isGzip(raw) || sealedKeyId(raw) !== undefined ? await gzip(raw) : raw
    await backend.put(stored, sealer ? await sealer.seal(encoded, stored) : encoded)
  }

  /**
   * The bytes stored under `key` (as written), or `null` when there are none.
   *
   * @example
   * const bytes = await storage.read('notes/today.json')
   * if (bytes) console.log(new TextDecoder().decode(bytes))
   */
  async read(key: string): Promise<Uint8Array | null> {
    const { backend, maxBytes, sealer } = this.#target
    const stored = this.#key(key)
    const found = await backend.get(stored)
    if (!found) return null
    // With encryption plaintext is refused; without it, an encrypted value is (never returned as data).
    const body = sealer ? await sealer.open(found.body, stored) : found.body
    if (!sealer) refuseSealed(body, stored)
    const raw = isGzip(body) ? await gunzip(body, stored, maxBytes) : body
    if (raw.length > maxBytes) throw new TooLargeError(`${stored} is over ${maxBytes} bytes`, { key: stored })
    return raw
  }

  /**
   * Deletes the value under `key`; deleting an absent key is not an error.
   *
   * @example
   * await storage.delete('notes/today.json')
   */
  async delete(key: string): Promise<void> {
    await this.#target.backend.delete([this.#key(key)])
  }

  /**
   * Every key starting with `prefix` (`''`: every key), as full keys of this view, sorted
   * ascending. The prefix is pushed down to the backend, which is listed page by page.
   *
   * @example
   * const keys = await storage.list('session/trip-1/') // ['session/trip-1/scopes/agent/…', …]
   */
  async list(prefix: string): Promise<string[]> {
    const { backend, root } = this.#target
    const ns = this.#ns
    const wanted = normalizePrefix('prefix', prefix, ns)
    const from = root + pushdownPrefix(wanted)
    const keys: string[] = []
    // Not core's listAll: its progress guard compares cursors in UTF-16 order, and S3 and R2 list
    // in UTF-8 byte order, which disagrees for keys mixing astral characters with U+E000-U+FFFF
    // (never in the snapshot layout, whose ids are ASCII; any Unicode in Strands keys).
    const cursors = new Set<string>()
    let startAfter: string | undefined
    for (;;) {
      const page = await backend.list(from, { startAfter, limit: backend.maxListPage ?? PAGE_SIZE })
      for (const { key } of page.entries) {
        const rel = key.slice(root.length)
        // Only keys a read would accept: not TieredStorage's `.snapshelf/`, nor what another tool
        // stored with a `.` segment or a control character.
        if (key.startsWith(root) && rel.startsWith(wanted) && isNormalKey(rel)) keys.push(rel.slice(ns.length))
      }
      const last = page.entries.at(-1)?.key
      if (!page.truncated) break
      // A truncated page must move on: a backend repeating a page, or cycling, would loop forever.
      if (last === undefined || cursors.has(last)) throw new RemoteError(`listing ${from} did not advance`, { key: from })
      cursors.add(last)
      startAfter = last
    }
    // Strands' order (UTF-16 code units), whatever order the backend lists in (S3: UTF-8 bytes).
    return keys.sort()
  }

  /**
   * A view of this storage with every key under `prefix` (normalised like a key folder;
   * composable: `a.namespace('x').namespace('y')` is `a.namespace('x/y')`). It carries Strands'
   * `namespaced` marker, so a `SessionManager` given a view writes `<sessionId>/scopes/…` straight
   * into it: with `namespace('')`, a plain snapshelf storage on the same prefix reads the sessions.
   *
   * @example
   * const sessions = storage.namespace('session')
   * await sessions.list('trip-1/') // the same keys as storage.list('session/trip-1/'), without 'session/'
   */
  namespace(prefix: string): StrandsStorage {
    // Composed as a string first, as Strands composes nested views, then normalised once, as a
    // folder: every segment of it is complete (a namespace '.' is refused, not a partial name).
    if (typeof prefix !== 'string') throw new ValidationError('prefix', 'must be a string')
    const ns = normalizePrefix('prefix', `${prefix}/`, this.#ns)
    return new StrandsStorage({ [VIEW]: { target: this.#target, ns } } as unknown as StrandsStorageOptions)
  }

  /** The stored key of `key` in this view: validated and normalised before any I/O. */
  #key(key: string): string {
    // As Strands' views do: the namespace and the key are joined, then normalised together.
    const stored = this.#target.root + normalizeKey('key', key, this.#ns)
    if (new TextEncoder().encode(stored).length > MAX_KEY_BYTES) {
      throw new ValidationError('key', `must be at most ${MAX_KEY_BYTES} bytes of UTF-8 with the storage prefix`)
    }
    return stored
  }
}

/** Compile-time proof that `StrandsStorage` is Strands' `Storage` (types only: nothing of the SDK ships). */
type IsStrandsStorage<T extends StrandsUnifiedStorage> = T
// biome-ignore lint/correctness/noUnusedVariables: the check is the type's constraint
type StrandsStorageIsAStrandsStorage = IsStrandsStorage<StrandsStorage>

function targetOf(storage: StrandsStorageTarget | undefined): Target {
  const target = adapterTarget(storage)
  // A TieredStorage's backend keeps its local tier as `local`: writes land there first.
  const landing = (target.backend as { local?: unknown }).local ?? target.backend
  return { ...target, ephemeral: target.backend instanceof MemoryBackend || landing instanceof MemoryBackend }
}
