import type * as Contract from './platform.js'

/**
 * `#platform` for Workers, browsers and any runtime without a faster built-in: `CompressionStream`
 * and Web Crypto. Chosen by package.json `imports` (the `workerd`, `worker` and `browser`
 * conditions, and the default); see platform.d.ts for the contract.
 */

/**
 * Gzips through `CompressionStream`.
 *
 * @example
 * const stored = await gzip(new TextEncoder().encode('{"a":1}'))
 */
export async function gzip(raw: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await new Response(feed(new CompressionStream('gzip'), raw)).arrayBuffer())
}

/**
 * Gunzips through `DecompressionStream`, read chunk by chunk and cancelled past `maxBytes`.
 *
 * @example
 * const raw = await gunzip(stored, 64 << 20) // undefined: over 64 MiB decoded
 */
export function gunzip(bytes: Uint8Array, maxBytes: number): Promise<Uint8Array | undefined> {
  return readBounded(feed(new DecompressionStream('gzip'), bytes), maxBytes)
}

/**
 * Writes `bytes` straight into a transform stream and returns its readable side: a quarter
 * cheaper for small snapshots than piping a `Response` body through it. Failures surface on the
 * readable side, so the writer's own promises are only kept from going unhandled.
 */
function feed(stream: CompressionStream | DecompressionStream, bytes: Uint8Array): ReadableStream<Uint8Array> {
  const writer = stream.writable.getWriter()
  writer.write(bytes as Uint8Array<ArrayBuffer>).catch(() => {})
  writer.close().catch(() => {})
  return stream.readable
}

/**
 * Reads a whole byte stream, but never more than `maxBytes`: past that it cancels the stream and
 * resolves `undefined` (a gzip bomb or an oversized upload costs at most `maxBytes` of memory).
 * A failing stream rejects with its own error. Shared by this file's gunzip and the HTTP handler
 * (through core/util.ts).
 *
 * @example
 * const body = await readBounded(request.body!, 32 << 20) // undefined: too large
 */
export async function readBounded(stream: ReadableStream<Uint8Array>, maxBytes: number): Promise<Uint8Array | undefined> {
  const reader = stream.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      total += value.length
      if (total > maxBytes) {
        reader.cancel().catch(() => {})
        return undefined
      }
      chunks.push(value)
    }
  } catch (error) {
    // Stop the producer (an upload, a decompressor); a failing cancel changes nothing.
    reader.cancel().catch(() => {})
    throw error
  }
  // One chunk is returned as it is, unless it is a subclass (Node hands out Buffers, whose
  // `slice` shares memory): callers get a plain Uint8Array either way.
  if (chunks.length === 1 && chunks[0]!.constructor === Uint8Array) return chunks[0]
  const out = new Uint8Array(total)
  let at = 0
  for (const chunk of chunks) {
    out.set(chunk, at)
    at += chunk.length
  }
  return out
}

/**
 * SHA-256 through `crypto.subtle.digest`.
 *
 * @example
 * await sha256Hex(new Uint8Array()) // 'e3b0c442…'
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return hex(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>))
}

/**
 * SigV4 with Web Crypto: the day's signing key is derived AND imported once as a `CryptoKey`
 * (aws4fetch's own cache keeps the raw key and re-imports it on every request, a measurable share
 * of a small request's client CPU); the string to sign is aws4fetch's own.
 *
 * @example
 * signer.signature = () => sign(signer) // sign = sigV4Signer(secret, 'auto', 's3')
 */
export function sigV4Signer(secretAccessKey: string, region: string, service: string): (input: Contract.SigV4Input) => Promise<string> {
  // Only today's key is ever asked for again: one day's is kept.
  let day = ''
  let key: Promise<CryptoKey> | undefined
  return async (input) => {
    const date = input.datetime.slice(0, 8)
    if (!key || day !== date) {
      const steps = [date, region, service, 'aws4_request']
      key = steps.reduce(async (k, part) => hmacKey(await hmac(await k, part)), hmacKey(utf8(`AWS4${secretAccessKey}`)))
      // A failed derivation is forgotten, so the next request derives again.
      key.catch(() => {
        key = undefined
      })
      day = date
    }
    return hex(await hmac(await key, await input.stringToSign()))
  }
}

function hex(bytes: ArrayBuffer): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('')
}

function utf8(text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(text)
}

function hmacKey(raw: ArrayBuffer | Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
}

function hmac(key: CryptoKey, text: string): Promise<ArrayBuffer> {
  return crypto.subtle.sign('HMAC', key, utf8(text))
}

// Typechecks this file against the contract; unused, so bundlers drop it.
const _contract: typeof Contract = { gzip, gunzip, readBounded, sha256Hex, sigV4Signer }
