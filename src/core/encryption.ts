import { CorruptError, ValidationError } from './errors.js'
import { checkId } from './ids.js'

/**
 * The `encryption` store option: checked here at construction (synchronously, so bad keys are an
 * `ERR_VALIDATION` before any I/O), applied by `crypto.ts`, which is imported only the first time
 * a store with this option seals or opens an object: a store without encryption (or a bundle
 * that splits dynamic imports) never loads the AES-GCM code.
 */

/**
 * Client-side AES-GCM for every object a storage writes (after compression) and reads (before
 * decompression). Key ids travel in each object's envelope, so rotation is: add a key, move
 * `writeKeyId`; objects sealed with older keys stay readable while their key stays in `keys`.
 *
 * @example
 * const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt'])
 * const storage = new MemoryStorage({ encryption: { keys: { k1: key }, writeKeyId: 'k1' } })
 */
export interface EncryptionOptions {
  /** Key id (`[A-Za-z0-9._-]`, no leading dot, up to 128 characters) → AES-GCM `CryptoKey` with encrypt and decrypt usages. */
  keys: { [keyId: string]: CryptoKey }
  /** The key new objects are sealed with; one of `keys`. */
  writeKeyId: string
}

/**
 * @internal What a store or adapter with `encryption` applies to stored bytes. `key` is the full
 * stored key; the part after the storage's root is the associated data.
 */
export interface Sealer {
  seal(bytes: Uint8Array, key: string): Promise<Uint8Array>
  open(bytes: Uint8Array, key: string): Promise<Uint8Array>
}

/**
 * @internal First bytes of a sealed object: `89 'S' 'H' 'E'` (SnapsHelf Encrypted). `0x89` is
 * neither gzip's `1f` nor any first byte of JSON text, so plain, gzip and sealed objects never
 * look alike.
 *
 * @example
 * SEALED_MAGIC.every((b, i) => stored[i] === b) // stored bytes are sealed
 */
export const SEALED_MAGIC = [0x89, 0x53, 0x48, 0x45]

/**
 * @internal The key id a sealed object names, or `undefined` when `bytes` are not sealed (they
 * do not start with the envelope's magic bytes). Envelope: magic (4) · version (1) · key id
 * length (1) · key id (ASCII) · IV (12) · AES-GCM ciphertext and tag.
 *
 * @example
 * sealedKeyId(await sealer.seal(bytes, key)) // 'k1'
 */
export function sealedKeyId(bytes: Uint8Array): string | undefined {
  if (!SEALED_MAGIC.every((b, i) => bytes[i] === b)) return undefined
  return new TextDecoder().decode(bytes.subarray(6, 6 + (bytes[5] ?? 0)))
}

/**
 * @internal What a storage without `encryption` does with bytes it reads: a sealed object is a
 * `CorruptError` that says so and names the key id it needs, never ciphertext handed on as data.
 *
 * @example
 * refuseSealed(found.body, key)
 */
export function refuseSealed(bytes: Uint8Array, key: string): void {
  const id = sealedKeyId(bytes)
  if (id !== undefined) throw new CorruptError(`${key} is encrypted with key id "${id}"`, { key })
}

/**
 * @internal Checks the `encryption` option (`ValidationError` naming `field`) and returns the
 * sealer of a storage whose keys start with `root`; `undefined` without the option. The keyring
 * is copied: keys added to the caller's object later are not used unchecked. Messages are short
 * on purpose: this module is in every storage's bundle (the core budget is 4.75 KB).
 *
 * @example
 * const sealer = sealerOf(options.encryption, 'agents/')
 */
export function sealerOf(options: EncryptionOptions | undefined, root: string, field = 'encryption'): Sealer | undefined {
  if (options === undefined) return undefined
  const keys = options?.keys
  if (typeof keys !== 'object' || keys === null) throw new ValidationError(`${field}.keys`, 'must be an object')
  // No prototype: a key id such as `__proto__` or `constructor` is an ordinary entry.
  const ring: Record<string, CryptoKey> = Object.create(null)
  for (const id of Object.keys(keys)) {
    checkId(`${field}.keys`, id)
    const key = keys[id]!
    const usages = key?.usages ?? []
    if (key?.algorithm?.name !== 'AES-GCM' || !usages.includes('encrypt') || !usages.includes('decrypt')) {
      throw new ValidationError(`${field}.keys.${id}`, 'must be an AES-GCM CryptoKey for encrypt and decrypt')
    }
    ring[id] = key
  }
  const { writeKeyId } = options
  if (!Object.hasOwn(ring, writeKeyId)) throw new ValidationError(`${field}.writeKeyId`, 'must name one of keys')
  const aes = () => import('./crypto.js')
  return {
    seal: async (bytes, key) => (await aes()).seal(ring[writeKeyId]!, writeKeyId, bytes, key.slice(root.length)),
    open: async (bytes, key) => {
      const id = sealedKeyId(bytes)
      if (id === undefined) throw new CorruptError(`${key} is not encrypted`, { key })
      if (!Object.hasOwn(ring, id)) throw new CorruptError(`${key} needs key id "${id}"`, { key })
      const plain = await (await aes()).open(ring[id]!, bytes, key.slice(root.length))
      if (!plain) throw new CorruptError(`${key} does not decrypt`, { key })
      return plain
    },
  }
}
