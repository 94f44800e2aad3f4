/**
 * AES-GCM sealing of stored bytes with Web Crypto (no dependency), loaded by `encryption.ts` on
 * first use only, and importing nothing itself, so a bundler that inlines the dynamic import
 * wraps only this module. Envelope: magic `89 'S' 'H' 'E'` · version `1` · key id length · key
 * id (ASCII) · 12-byte random IV · ciphertext with its 16-byte tag. The associated data is the
 * header (so neither the key id nor the version can be swapped) followed by the object's key
 * relative to its storage's prefix: bytes copied to another session, scope, scope id or snapshot
 * id fail to open, while tiers that keep the same relative keys (tiered local and remote, an HTTP
 * client and its server's storage) move ciphertext unchanged.
 */

/** The envelope's first bytes; `SEALED_MAGIC` in `encryption.ts` (kept apart: this module imports nothing). */
const MAGIC = [0x89, 0x53, 0x48, 0x45]
const IV_BYTES = 12

/**
 * Seals `plain` with `cryptoKey` (id `keyId`), bound to `aad` (the key relative to the prefix).
 *
 * @example
 * const sealed = await seal(key, 'k1', gzipped, 's1/scopes/agent/main/snapshots/snapshot_latest.json')
 */
export async function seal(cryptoKey: CryptoKey, keyId: string, plain: Uint8Array, aad: string): Promise<Uint8Array> {
  const id = new TextEncoder().encode(keyId)
  const header = new Uint8Array(6 + id.length + IV_BYTES)
  header.set([...MAGIC, 1, id.length, ...id])
  crypto.getRandomValues(header.subarray(6 + id.length))
  const sealed = await subtle('encrypt', cryptoKey, header, aad, plain)
  const out = new Uint8Array(header.length + sealed.byteLength)
  out.set(header)
  out.set(new Uint8Array(sealed), header.length)
  return out
}

/**
 * Opens sealed bytes (their key id already looked up as `cryptoKey`); `undefined` when they do
 * not open: a wrong key, tampered or truncated bytes, an unknown version, or bytes sealed for
 * another key. AES-GCM tells these apart by design no further than "the tag does not match".
 *
 * @example
 * const gzipped = await open(key, stored, relativeKey)
 */
export async function open(cryptoKey: CryptoKey, bytes: Uint8Array, aad: string): Promise<Uint8Array | undefined> {
  const headerBytes = 6 + bytes[5]! + IV_BYTES
  if (bytes[4] !== 1) return undefined
  try {
    return new Uint8Array(await subtle('decrypt', cryptoKey, bytes.subarray(0, headerBytes), aad, bytes.subarray(headerBytes)))
  } catch {
    return undefined
  }
}

/** One AES-GCM call; the IV is the header's last 12 bytes, the associated data the header and `aad`. */
function subtle(op: 'encrypt' | 'decrypt', cryptoKey: CryptoKey, header: Uint8Array, aad: string, data: Uint8Array): Promise<ArrayBuffer> {
  const rel = new TextEncoder().encode(aad)
  const additionalData = new Uint8Array(header.length + rel.length)
  additionalData.set(header)
  additionalData.set(rel, header.length)
  const iv = header.subarray(header.length - IV_BYTES) as Uint8Array<ArrayBuffer>
  return crypto.subtle[op]({ name: 'AES-GCM', iv, additionalData }, cryptoKey, data as Uint8Array<ArrayBuffer>)
}
