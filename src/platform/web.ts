import { readBounded, toHex } from '../core/util.js'
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
export async function gzip(raw: Uint8Array | Iterable<Uint8Array>): Promise<Uint8Array> {
  const stream = new CompressionStream('gzip')
  const out = new Response(stream.readable).arrayBuffer()
  // Chunks are written one at a time, each awaited before the next is pulled, while the Response
  // drains the output: the input never exists whole. Each is written as a copy: a write may
  // resolve before the compressor has read the chunk (Node's CompressionStream does: a test
  // caught a reused buffer's next bytes in the output), and the caller may reuse its buffer. An iterable's own
  // error aborts the stream (which also fails `out`: left unawaited, so kept from going unhandled).
  if (raw instanceof Uint8Array) feed(stream, raw)
  else {
    const writer = stream.writable.getWriter()
    try {
      for (const chunk of raw) await writer.write(chunk.slice() as Uint8Array<ArrayBuffer>)
      writer.close().catch(() => {})
    } catch (error) {
      out.catch(() => {})
      writer.abort(error).catch(() => {})
      throw error
    }
  }
  return new Uint8Array(await out)
}

/**
 * Gunzips through `DecompressionStream`, read chunk by chunk and cancelled past `maxBytes`; with
 * `sink`, each chunk goes to it instead of being kept.
 *
 * @example
 * const raw = await gunzip(stored, 64 << 20) // undefined: over 64 MiB decoded
 */
export async function gunzip(bytes: Uint8Array, maxBytes: number, sink?: (piece: Uint8Array) => void): Promise<Uint8Array | undefined> {
  const stream = new DecompressionStream('gzip')
  feed(stream, bytes)
  return readBounded(stream.readable, maxBytes, sink)
}

/**
 * Writes `bytes` straight into a transform stream: a quarter cheaper for small snapshots than
 * piping a `Response` body through it. Failures surface on the readable side, so the writer's own
 * promises are only kept from going unhandled.
 */
function feed(stream: CompressionStream | DecompressionStream, bytes: Uint8Array): void {
  const writer = stream.writable.getWriter()
  writer.write(bytes as Uint8Array<ArrayBuffer>).catch(() => {})
  writer.close().catch(() => {})
}

/**
 * SHA-256 through `crypto.subtle.digest`.
 *
 * @example
 * await sha256Hex(new Uint8Array()) // 'e3b0c442…'
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return toHex(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>))
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
    return toHex(await hmac(await key, await input.stringToSign()))
  }
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
const _contract: typeof Contract = { gzip, gunzip, sha256Hex, sigV4Signer }
