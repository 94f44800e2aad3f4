import type { Backend } from './backend.js'
import { DEFAULT_MAX_DECODED_BYTES, decodeJSON, encodeJSON } from './codec.js'
import { type EncryptionOptions, type Sealer, sealerOf } from './encryption.js'
import { ValidationError } from './errors.js'
import { checkPrefix } from './ids.js'
import { joinPrefix } from './keys.js'

/**
 * What an adapter (`StrandsStorage`, `GenkitSessionStore`, `SnapshelfCheckpointSaver`) takes from a
 * snapshelf storage: its byte backend, its prefix and its codec settings. Every storage class
 * (`MemoryStorage`, `S3Storage`, `R2Storage`, `IndexedDBStorage`, `HttpStorage`, `TieredStorage`)
 * is one, so an adapter's keys get the tier's retries, errors and sync for free.
 *
 * @example
 * const target: StorageTarget = new S3Storage({ bucket, endpoint, accessKeyId, secretAccessKey, prefix: 'agents' })
 */
export interface StorageTarget {
  readonly backend: Backend
  readonly prefix: string
  /** `'gzip'` (default): objects are gzipped; `'none'`: plain bytes (what the frameworks' own storages read). */
  readonly compression?: 'gzip' | 'none'
  /** Largest object written or read back, in bytes (default 64 MiB); gzip bombs stop there too. */
  readonly maxDecodedBytes?: number
  /** The storage's `encryption`: the adapter seals its objects with it too (and refuses plaintext). */
  readonly encryption?: EncryptionOptions
}

/** A storage an adapter checked: where its keys go and how they are encoded. */
export interface AdapterTarget {
  backend: Backend
  /** `[prefix/]`: prepended to every key. */
  root: string
  compression: 'gzip' | 'none'
  maxBytes: number
  /** With the storage's `encryption`: seals after compression, opens before decompression. */
  sealer?: Sealer
}

/**
 * Checks the `storage` an adapter was given, once for every adapter: a `ValidationError` naming
 * `storage` (or the bad setting) before any I/O, else what the adapter keeps.
 *
 * @example
 * const { backend, root, compression, maxBytes } = adapterTarget(options?.storage)
 */
export function adapterTarget(storage: StorageTarget | undefined): AdapterTarget {
  if (typeof storage?.backend?.get !== 'function' || typeof storage.prefix !== 'string') {
    throw new ValidationError('storage', 'must be a snapshelf storage (with backend and prefix)')
  }
  const { compression = 'gzip', maxDecodedBytes = DEFAULT_MAX_DECODED_BYTES } = storage
  if (compression !== 'gzip' && compression !== 'none') throw new ValidationError('storage.compression', "must be 'gzip' or 'none'")
  if (!Number.isInteger(maxDecodedBytes) || maxDecodedBytes < 1)
    throw new ValidationError('storage.maxDecodedBytes', 'must be an integer >= 1')
  const root = joinPrefix(checkPrefix(storage.prefix))
  return {
    backend: storage.backend,
    root,
    compression,
    maxBytes: maxDecodedBytes,
    sealer: sealerOf(storage.encryption, root, 'storage.encryption'),
  }
}

/**
 * Encodes a JSON record as an adapter stores it at `key`: the core codec (validation, gzip),
 * then sealed when the storage has `encryption`.
 *
 * @example
 * await backend.put(key, await encodeRecord(target, record, key, 'checkpoint'))
 */
export async function encodeRecord(target: AdapterTarget, value: unknown, key: string, field: string): Promise<Uint8Array> {
  const bytes = await encodeJSON(value, target.compression, target.maxBytes, field)
  return target.sealer ? target.sealer.seal(bytes, key) : bytes
}

/**
 * Decodes a JSON record an adapter stored at `key`: opened first when the storage has
 * `encryption` (plaintext refused), then the core codec (bounded, typed errors naming `key`).
 *
 * @example
 * const record = await decodeRecord<Checkpoint>(target, found.body, key)
 */
export async function decodeRecord<T>(target: AdapterTarget, bytes: Uint8Array, key: string): Promise<T> {
  return decodeJSON<T>(target.sealer ? await target.sealer.open(bytes, key) : bytes, key, target.maxBytes)
}
