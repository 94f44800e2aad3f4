import { toBase64 } from '../../core/util.js'

/**
 * MD5 (RFC 1321), only for the `Content-MD5` header that S3 DeleteObjects requires on AWS general
 * purpose buckets and on MinIO. Web Crypto has no MD5, and the `x-amz-checksum-*` alternative is
 * not accepted everywhere, so a tiny pure implementation is the portable choice. Written for size,
 * not speed: bodies here are DeleteObjects XML of at most ~300 KB.
 */

/**
 * The MD5 digest of `data` (under 512 MB), base64-encoded as `Content-MD5` wants it.
 *
 * @example
 * md5Base64(new TextEncoder().encode('')) // '1B2M2Y8AsgTpgAmY7PhCfg=='
 */
export function md5Base64(data: Uint8Array): string {
  // Pad: 0x80, zeros to 56 mod 64, then the bit length (little-endian; the high word stays 0).
  const size = ((data.length + 72) >>> 6) << 6
  const padded = new Uint8Array(size)
  padded.set(data)
  padded[data.length] = 0x80
  const view = new DataView(padded.buffer)
  view.setUint32(size - 8, data.length * 8, true)
  const h = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]
  for (let off = 0; off < size; off += 64) {
    let [a, b, c, d] = h as [number, number, number, number]
    for (let i = 0; i < 64; i++) {
      const round = i >> 4
      const f = round === 0 ? (b & c) | (~b & d) : round === 1 ? (d & b) | (~d & c) : round === 2 ? b ^ c ^ d : c ^ (b | ~d)
      const g = round === 0 ? i : round === 1 ? 5 * i + 1 : round === 2 ? 3 * i + 5 : 7 * i
      const s = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21][(round << 2) | (i & 3)]!
      // K[i] = floor(abs(sin(i + 1)) * 2^32), computed rather than shipped as a 64-entry table.
      const x = (a + f + ((Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0) + view.getUint32(off + (g & 15) * 4, true)) | 0
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
  const digest = new DataView(out.buffer)
  h.forEach((word, i) => {
    digest.setUint32(i * 4, word, true)
  })
  return toBase64(out)
}
