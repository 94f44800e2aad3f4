/**
 * @internal Base64 of bytes (btoa exists in every target runtime). Shared by S3's Content-MD5
 * and the write tokens, so a bundle carries it once.
 *
 * @example
 * toBase64(new Uint8Array([104, 105])) // 'aGk='
 */
export function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
}
