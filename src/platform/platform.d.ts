/**
 * The contract of `#platform`: the few primitives whose fastest implementation depends on the
 * runtime. package.json `imports` picks the file at import time by export condition (`workerd`,
 * `worker`, `browser` → web.ts; `deno`, `bun`, `node` → node.ts; anything else → web.ts), so no
 * code sniffs globals at call time and a browser or Worker bundle never sees `node:*`. Both files
 * write the same format (gzip, lowercase hex) and read each other's bytes; a platform's gzip
 * may pick different deflate blocks, never a different format. Nothing here throws a snapshelf
 * error: the codec and the S3 backend turn failures into those.
 */

/**
 * Gzips `raw` (one gzip member, default level). Given chunks (an iterable), they are compressed
 * as they come, the next one pulled only once the compressor is done with the previous one (or
 * with a copy of it), so the iterable may hand out every chunk in the same buffer, and a large
 * snapshot's bytes never need to exist whole (the codec encodes its JSON text piece by piece); the
 * format is the same. An error thrown by the iterable rejects with that error.
 *
 * @example
 * const stored = await gzip(new TextEncoder().encode('{"a":1}')) // starts 1f 8b
 * const same = await gzip([new TextEncoder().encode('{"a"'), new TextEncoder().encode(':1}')])
 */
export function gzip(raw: Uint8Array | Iterable<Uint8Array>): Promise<Uint8Array>

/**
 * Gunzips `bytes`, never holding more than `maxBytes` of output (plus one working chunk of at most 1 MiB): resolves
 * `undefined` past that, before the decoded size is ever allocated (a gzip bomb). Rejects on bytes
 * that are not a whole, valid gzip stream. With `sink`, each piece of output goes to it as it is
 * inflated and is not kept (the codec decodes UTF-8 piece by piece, so a large snapshot's bytes
 * never exist whole); it then resolves an empty array, or `undefined` past `maxBytes` counted over
 * all pieces. An error thrown by `sink` stops the inflation and rejects with that error.
 *
 * @example
 * const raw = await gunzip(stored, 64 << 20) // undefined: a bomb
 * await gunzip(stored, 64 << 20, (piece) => parts.push(decoder.decode(piece, { stream: true })))
 */
export function gunzip(bytes: Uint8Array, maxBytes: number, sink?: (piece: Uint8Array) => void): Promise<Uint8Array | undefined>

/**
 * SHA-256 of bytes, lowercase hex.
 *
 * @example
 * await sha256Hex(new Uint8Array()) // 'e3b0c442…'
 */
export function sha256Hex(bytes: Uint8Array): Promise<string>

/** The parts of aws4fetch's `AwsV4Signer` a SigV4 signature needs (its canonicalisation is kept as is). */
export interface SigV4Input {
  /** `YYYYMMDDTHHMMSSZ`. */
  datetime: string
  /** `<date>/<region>/<service>/aws4_request`. */
  credentialString: string
  canonicalString(): Promise<string>
  stringToSign(): Promise<string>
}

/**
 * A SigV4 signing function for one secret, region and service: the hex signature of a request
 * canonicalised by aws4fetch's `AwsV4Signer`. The day's signing key is derived once and kept
 * (aws4fetch re-imports it on every request); a failed derivation is retried on the next call.
 *
 * @example
 * const sign = sigV4Signer(secretAccessKey, 'us-east-1', 's3')
 * signer.signature = () => sign(signer) // signer: an AwsV4Signer
 */
export function sigV4Signer(secretAccessKey: string, region: string, service: string): (input: SigV4Input) => Promise<string>
