import type { Backend, BackendCallOptions, BackendHead, BackendListPage, BackendObject, BackendPutOptions } from '../core/backend.js'
import { throwIfAborted } from '../core/errors.js'
import { PAGE_SIZE } from '../core/util.js'

/**
 * A backend held in a `Map`, for tests, caches and single-process agents. Bytes are copied in
 * and out so no caller can change what is stored. ETags come from a counter, so every write
 * (even of identical bytes) gets a new one, which is what compare-and-swap needs. Each object
 * records when it was written (`lastModified`), which dates sessions in `listSessions`; the
 * catalogue's folders come from the core's walk of `list` (no `listFolders`: the core's bundle
 * carries this class, and the walk is as cheap for a `Map`). Metadata is kept beside the bytes and
 * listed with them.
 *
 * @example
 * const store = new BackendSnapshotStore({ backend: new MemoryBackend() })
 */
export class MemoryBackend implements Backend {
  /** Each object with the time it was written (`lastModified` of listings). */
  readonly #objects = new Map<string, BackendObject & { lastModified: number }>()
  readonly #watchers = new Map<string, Set<() => void>>()
  /** The last ETag handed out: `m<version>`. */
  #version = 0

  async get(key: string, o?: BackendCallOptions): Promise<BackendObject | null> {
    throwIfAborted(o?.signal)
    const obj = this.#objects.get(key)
    return obj ? { body: obj.body.slice(), etag: obj.etag, ...metadataOf(obj) } : null
  }

  async head(key: string, o?: BackendCallOptions): Promise<BackendHead | null> {
    throwIfAborted(o?.signal)
    const obj = this.#objects.get(key)
    return obj ? { etag: obj.etag, size: obj.body.length, ...metadataOf(obj) } : null
  }

  async put(key: string, body: Uint8Array, o: BackendPutOptions = {}): Promise<{ etag: string } | null> {
    throwIfAborted(o.signal)
    // Check and write in one synchronous step: no await between them, so no interleaving.
    const current = this.#objects.get(key)
    if (o.ifNoneMatch === '*' && current) return null
    if (o.ifMatch !== undefined && current?.etag !== o.ifMatch) return null
    const etag = `m${++this.#version}`
    // A copy, always a plain Uint8Array: a Node Buffer's `slice` would share the caller's memory.
    const stored: BackendObject & { lastModified: number } = { body: new Uint8Array(body), etag, lastModified: Date.now() }
    if (o.metadata) stored.metadata = { ...o.metadata }
    this.#objects.set(key, stored)
    this.#notify(key)
    return { etag }
  }

  async delete(keys: string[], o?: BackendCallOptions): Promise<void> {
    throwIfAborted(o?.signal)
    for (const key of keys) if (this.#objects.delete(key)) this.#notify(key)
  }

  async list(prefix: string, o: BackendCallOptions & { startAfter?: string; limit?: number } = {}): Promise<BackendListPage> {
    throwIfAborted(o.signal)
    const limit = o.limit ?? PAGE_SIZE
    const keys = [...this.#objects.keys()].filter((k) => k.startsWith(prefix) && (o.startAfter === undefined || k > o.startAfter)).sort()
    const page = keys.slice(0, limit)
    return {
      entries: page.map((key) => {
        const obj = this.#objects.get(key)!
        return { key, size: obj.body.length, lastModified: obj.lastModified, ...metadataOf(obj) }
      }),
      truncated: keys.length > limit,
      metadataListed: true,
    }
  }

  subscribe(key: string, onChange: () => void): () => void {
    let set = this.#watchers.get(key)
    if (!set) {
      set = new Set()
      this.#watchers.set(key, set)
    }
    set.add(onChange)
    return () => {
      set.delete(onChange)
    }
  }

  #notify(key: string): void {
    for (const fn of this.#watchers.get(key) ?? []) queueMicrotask(fn)
  }
}

/** An object's metadata as a field to spread (a copy: callers cannot change what is stored), or nothing. */
function metadataOf(obj: BackendObject): { metadata?: Record<string, string> } {
  return obj.metadata ? { metadata: { ...obj.metadata } } : {}
}
