import { SEALED_MAGIC } from './encryption.js'
import { CorruptError } from './errors.js'

/**
 * AES-GCM sealing of stored bytes with Web Crypto (no dependency): loaded by `encryption.ts` on
 * first use only. Envelope: magic `89 'S' 'H' 'E'` · version `1` · key id length · key id
 * (ASCII) · 12-byte random IV · ciphertext with its 16-byte tag. The associated data is the
 * envelope's header (so the key id and version cannot be swapped) followed by the object's key
 * relative to its storage's prefix: bytes copied to another session, scope, scope id or snapshot
 * id fail to open, while tiers that keep the same relative keys (tiered local and remote, an HTTP
 * client and its server's storage) move ciphertext unchanged.
 */

const VERSION = 1
const IV_BYTES = 12
const TAG_BYTES = 16

/**
 * Seals `plain` with `cryptoKey` (id `keyId`), bound to `aad` (the key relative to the prefix).
 *
 * @example
 * const sealed = await seal(key, 'k1', gzipped, 's1/scopes/agent/main/snapshots/snapshot_latest.json')
 */
export async function seal(cryptoKey: CryptoKey, keyId: string, plain: Uint8Array, aad: string): Promise<Uint8Array> {
  const id = new TextEncoder().encode(keyId)
  const header = new Uint8Array(6 + id.length + IV_BYTES)
  header.set(SEALED_MAGIC)
  header[4] = VERSION
  header[5] = id.length
  header.set(id, 6)
  const iv = crypto.getRandomValues(header.subarray(6 + id.length))
  const sealed = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: associated(header, aad) },
    cryptoKey,
    plain as Uint8Array<ArrayBuffer>,
  )
  const out = new Uint8Array(header.length + sealed.byteLength)
  out.set(header)
  out.set(new Uint8Array(sealed), header.length)
  return out
}

/**
 * Opens a sealed object (its key id already found in the ring as `cryptoKey`). A wrong key,
 * tampered or truncated bytes, an unknown version, or bytes sealed for another key are a
 * `CorruptError` naming `key`.
 *
 * @example
 * const gzipped = await open(key, stored, fullKey, relativeKey)
 */
export async function open(cryptoKey: CryptoKey, stored: Uint8Array, key: string, aad: string): Promise<Uint8Array> {
  const bytes = stored as Uint8Array<ArrayBuffer>
  const headerBytes = 6 + bytes[5]! + IV_BYTES
  if (bytes[4] !== VERSION) throw new CorruptError(`${key} has an unknown encryption envelope version ${bytes[4]}`, { key })
  if (bytes.length < headerBytes + TAG_BYTES) throw new CorruptError(`${key} is a truncated encrypted object`, { key })
  const header = bytes.subarray(0, headerBytes)
  try {
    const plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: header.subarray(headerBytes - IV_BYTES), additionalData: associated(header, aad) },
      cryptoKey,
      bytes.subarray(headerBytes),
    )
    return new Uint8Array(plain)
  } catch (cause) {
    // AES-GCM tells none of these apart, by design: it only says the tag does not match.
    throw new CorruptError(
      `${key} does not decrypt: tampered, truncated, copied from another key, or sealed with another key of the same id`,
      {
        key,
        cause,
      },
    )
  }
}

/** The associated data: the envelope header, then the relative key as UTF-8. */
function associated(header: Uint8Array, aad: string): Uint8Array<ArrayBuffer> {
  const rel = new TextEncoder().encode(aad)
  const out = new Uint8Array(header.length + rel.length)
  out.set(header)
  out.set(rel, header.length)
  return out
}
