/**
 * MD5 (RFC 1321), only for the `Content-MD5` header that S3 DeleteObjects requires on AWS general
 * purpose buckets and on MinIO. Web Crypto has no MD5, and the `x-amz-checksum-*` alternative is
 * not accepted everywhere, so a tiny pure implementation (a few hundred bytes gzipped) is the
 * portable choice. Bodies here are DeleteObjects XML, at most ~300 KB, so speed does not matter.
 */

/** Per-round left-rotation amounts, four per 16-step round. */
const SHIFTS = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21]
/** K[i] = floor(abs(sin(i + 1)) * 2^32), computed once rather than shipped as a 64-entry table. */
const K = Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) >>> 0)

/**
 * The MD5 digest of `data`, base64-encoded as `Content-MD5` wants it.
 *
 * @example
 * md5Base64(new TextEncoder().encode('')) // '1B2M2Y8AsgTpgAmY7PhCfg=='
 */
export function md5Base64(data: Uint8Array): string {
  // Pad: 0x80, zeros to 56 mod 64, then the bit length as a 64-bit little-endian integer.
  const padded = new Uint8Array(((data.length + 72) >>> 6) << 6)
  padded.set(data)
  padded[data.length] = 0x80
  const view = new DataView(padded.buffer)
  view.setUint32(padded.length - 8, data.length * 8, true)
  view.setUint32(padded.length - 4, Math.floor(data.length / 2 ** 29), true)
  const h = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]
  const m = new Array<number>(16)
  for (let off = 0; off < padded.length; off += 64) {
    for (let j = 0; j < 16; j++) m[j] = view.getUint32(off + j * 4, true)
    let [a, b, c, d] = h as [number, number, number, number]
    for (let i = 0; i < 64; i++) {
      const round = i >> 4
      let f: number
      let g: number
      if (round === 0) (f = (b & c) | (~b & d)), (g = i)
      else if (round === 1) (f = (d & b) | (~d & c)), (g = (5 * i + 1) & 15)
      else if (round === 2) (f = b ^ c ^ d), (g = (3 * i + 5) & 15)
      else (f = c ^ (b | ~d)), (g = (7 * i) & 15)
      const s = SHIFTS[(round << 2) | (i & 3)]!
      const x = (a + f + K[i]! + m[g]!) | 0
      a = d
      d = c
      c = b
      b = (b + ((x << s) | (x >>> (32 - s)))) | 0
    }
    h[0] = (h[0]! + a) | 0
    h[1] = (h[1]! + b) | 0
    h[2] = (h[2]! + c) | 0
    h[3] = (h[3]! + d) | 0
  }
  const out = new Uint8Array(16)
  const outView = new DataView(out.buffer)
  h.forEach((word, i) => outView.setUint32(i * 4, word, true))
  return toBase64(out)
}

/** @internal Base64 of bytes (btoa exists in every target runtime). */
export function toBase64(bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += String.fromCharCode(b)
  return btoa(s)
}
