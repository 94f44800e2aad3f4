import { kMaxLength } from 'node:buffer'
import { createHash, createHmac } from 'node:crypto'
import { promisify } from 'node:util'
import { createGunzip, createGzip, gunzip as gunzipAsync, gunzipSync, gzip as gzipAsync, gzipSync } from 'node:zlib'
import { gzipTrailerSize } from '../core/util.js'
import type * as Contract from './platform.js'

/**
 * `#platform` for Node, Bun and Deno (package.json `imports`: the `node`, `bun` and `deno`
 * conditions): `node:zlib` and `node:crypto`. Measured here (Node 20, 1 KB of agent JSON, µs per
 * call): gzip 24 vs `CompressionStream` 485, gunzip 29 vs 272, SHA-256 7 vs `crypto.subtle` 45,
 * HMAC 5 vs 62, because every web-standard call hops to the thread pool and back. Bun: gzip on
 * par, SHA-256 and HMAC 10× faster. Deno's node compat: gzip 2×, SHA-256 18× faster than its own
 * web APIs. See platform.d.ts for the contract.
 */

/**
 * Below this many input bytes zlib runs synchronously: the thread-pool round trip of the async
 * form costs more than the work (gzip of 1 KB: 37 µs sync, 145 µs async in Node). Above it the
 * async form keeps a large snapshot from blocking the event loop (a 256 KiB gzip is ~1.5–6 ms).
 */
const SYNC_MAX_BYTES = 64 * 1024

const gzipLater = promisify(gzipAsync)
const gunzipLater = promisify(gunzipAsync)

/**
 * Gzips with `node:zlib` at its default level (what Node's own `CompressionStream` uses too).
 *
 * @example
 * const stored = await gzip(new TextEncoder().encode('{"a":1}'))
 */
export async function gzip(raw: Uint8Array | Iterable<Uint8Array>): Promise<Uint8Array> {
  if (raw instanceof Uint8Array) return plain(raw.length <= SYNC_MAX_BYTES ? gzipSync(raw) : await gzipLater(raw))
  // A zlib stream, fed one chunk at a time: a write's callback runs once zlib has consumed all of
  // the chunk (the caller may then reuse its buffer), and only then is the next one pulled, so the
  // input never exists whole. The output (a tenth of the input for agent JSON) is joined once.
  const zip = createGzip()
  const parts: Buffer[] = []
  zip.on('data', (part: Buffer) => parts.push(part))
  const ended = settled(zip)
  try {
    for (const chunk of raw) await new Promise<void>((resolve, reject) => zip.write(chunk, (error) => (error ? reject(error) : resolve())))
    zip.end()
    await ended
  } catch (error) {
    zip.destroy()
    throw error
  }
  return plain(Buffer.concat(parts))
}

/** Resolves when a zlib stream has ended, rejects on its error (never left unhandled: a failing writer may not get to await it). */
function settled(stream: ReturnType<typeof createGzip>): Promise<void> {
  const done = new Promise<void>((resolve, reject) => stream.once('end', resolve).on('error', reject))
  done.catch(() => {})
  return done
}

/**
 * Gunzips with `node:zlib`, bounded by `maxOutputLength`: zlib stops inflating the moment the
 * output would pass it and throws `ERR_BUFFER_TOO_LARGE`, so a bomb never costs more than
 * `maxBytes` (plus one working chunk, at most 1 MiB) of memory. With `sink`, the output goes to it
 * in one piece, inflated into one buffer sized from the gzip trailer (see `sizeHint`), or, from
 * 1 MiB on, in 64 KiB pieces as a zlib stream inflates them (`gunzipPieces`).
 *
 * @example
 * const raw = await gunzip(stored, 64 << 20) // undefined: over 64 MiB decoded
 */
export async function gunzip(bytes: Uint8Array, maxBytes: number, sink?: (piece: Uint8Array) => void): Promise<Uint8Array | undefined> {
  // zlib refuses a limit above the largest Buffer; no output can be larger than that anyway.
  const limit = Math.min(maxBytes, kMaxLength)
  // zlib's output grows by `chunkSize` and is joined at the end when it took more than one chunk
  // (twice the decoded size at the peak: 64 MB for 32 MB of JSON). For a sink (the codec, which
  // decodes the text from it) one chunk of the size the trailer names, plus the byte that keeps
  // zlib from opening another: the output is then that one buffer, never joined or copied.
  // Otherwise sized to what this input likely inflates to (JSON gzips 5-15×): gunzip of 256 KB
  // runs 1.2-2× faster than with the default 16 KiB, and a bomb still stops within one chunk (at
  // most 1 MiB) past `maxBytes`.
  const hint = sizeHint(bytes, limit)
  // Past 1 MiB decoded, a sink gets pieces as zlib inflates them (the codec parses as it goes).
  if (sink && hint >= 1 << 20) return gunzipPieces(bytes, limit, sink)
  const chunkSize = sink ? hint + 1 : Math.min(Math.max(bytes.length * 8, 16 * 1024), 1 << 20)
  const options = { maxOutputLength: limit, chunkSize }
  let out: Uint8Array
  try {
    out = bytes.length <= SYNC_MAX_BYTES ? gunzipSync(bytes, options) : await gunzipLater(bytes, options)
  } catch (error) {
    if ((error as { code?: unknown })?.code === 'ERR_BUFFER_TOO_LARGE') return undefined
    throw error
  }
  // A sink takes zlib's Buffer as it is (a view of the one chunk, one byte short of it): a copy
  // into an array of its own would be the very copy avoided above.
  if (!sink) return plain(out)
  sink(out)
  return new Uint8Array(0)
}

/**
 * Gunzips through a zlib stream, each 64 KiB piece of output handed to `sink` and dropped, so
 * the output never exists whole (the codec parses it as it arrives). `maxOutputLength` exists
 * only for the one-shot forms: the pieces are counted here, and past `maxBytes` the stream is
 * destroyed before it inflates further.
 */
function gunzipPieces(bytes: Uint8Array, maxBytes: number, sink: (piece: Uint8Array) => void): Promise<Uint8Array | undefined> {
  const unzip = createGunzip({ chunkSize: 64 * 1024 })
  return new Promise((resolve, reject) => {
    let total = 0
    unzip.on('data', (piece: Buffer) => {
      total += piece.length
      if (total > maxBytes) {
        unzip.destroy()
        return resolve(undefined)
      }
      try {
        sink(piece)
      } catch (error) {
        unzip.destroy()
        reject(error)
      }
    })
    unzip.once('end', () => resolve(new Uint8Array(0))).on('error', reject)
    unzip.end(bytes)
  })
}

/**
 * The decoded size a gzip's trailer names (ISIZE, its last 4 bytes: the size mod 2^32 of the
 * last member), as a size to allocate: never above what deflate can reach from this many bytes
 * (1032:1) nor above `limit`, so a lying trailer costs at most `limit` bytes of address space
 * (zlib allocates without touching: the pages a short output never writes are never resident) and
 * a bomb is refused within it as before. Only a hint: an output larger than it (several members,
 * a lie) makes zlib take more chunks and join them, still correct.
 */
function sizeHint(bytes: Uint8Array, limit: number): number {
  return Math.max(64, Math.min(gzipTrailerSize(bytes), bytes.length * 1032, limit))
}

/**
 * A plain `Uint8Array` of exactly the output: zlib's Buffers are views into a 16 KiB working
 * buffer for small outputs (a stored 90 B object would keep 16 KiB alive, and IndexedDB would
 * clone all of it), and Buffer's `slice` shares memory where Uint8Array's copies.
 */
function plain(buffer: Uint8Array): Uint8Array {
  return buffer.byteOffset === 0 && buffer.byteLength === buffer.buffer.byteLength
    ? new Uint8Array(buffer.buffer, 0, buffer.byteLength)
    : new Uint8Array(buffer)
}

/**
 * SHA-256 with `node:crypto`, synchronous (2–7 µs for 1 KB where `crypto.subtle` takes 45–96).
 *
 * @example
 * await sha256Hex(new Uint8Array()) // 'e3b0c442…'
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return createHash('sha256').update(bytes).digest('hex')
}

/**
 * SigV4 with synchronous HMAC: the day's signing key is derived once and kept; the string to
 * sign is built from aws4fetch's canonical request exactly as its own `stringToSign` does, with
 * the canonical request hashed here instead of through `crypto.subtle`.
 *
 * @example
 * signer.signature = () => sign(signer) // sign = sigV4Signer(secret, 'auto', 's3')
 */
export function sigV4Signer(secretAccessKey: string, region: string, service: string): (input: Contract.SigV4Input) => Promise<string> {
  let day = ''
  let key: Uint8Array | undefined
  return async (input) => {
    const date = input.datetime.slice(0, 8)
    if (!key || day !== date) {
      key = [date, region, service, 'aws4_request'].reduce<Uint8Array>((k, part) => hmac(k, part), utf8(`AWS4${secretAccessKey}`))
      day = date
    }
    const canonical = await input.canonicalString()
    const stringToSign = ['AWS4-HMAC-SHA256', input.datetime, input.credentialString, createHash('sha256').update(canonical).digest('hex')]
    return createHmac('sha256', key).update(stringToSign.join('\n')).digest('hex')
  }
}

function hmac(key: Uint8Array, text: string): Uint8Array {
  return createHmac('sha256', key).update(text).digest()
}

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text)
}

// Typechecks this file against the contract; unused, so bundlers drop it.
const _contract: typeof Contract = { gzip, gunzip, sha256Hex, sigV4Signer }
