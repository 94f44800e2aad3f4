import { gunzip as gunzipBounded, gzip } from '#platform'
import { refuseSealed } from './encryption.js'
import { CorruptError, TooLargeError, ValidationError } from './errors.js'
import { gzipTrailerSize } from './util.js'

/**
 * JSON ⇄ stored bytes. Writers gzip (or write plain JSON) through `#platform`: `node:zlib` on
 * Node, Bun and Deno, `CompressionStream` elsewhere, chosen at import by package.json `imports`
 * (see src/platform/platform.d.ts); either reads the other's bytes. Readers detect gzip by its
 * magic bytes, never by headers, because a runtime may already have undone a `Content-Encoding`.
 * Decoding is bounded so a gzip bomb costs at most `maxBytes` of memory.
 */

/**
 * Default largest decoded snapshot: 64 MiB, half a Worker isolate's memory.
 *
 * @example
 * new MemoryStorage({ maxDecodedBytes: DEFAULT_MAX_DECODED_BYTES / 8 }) // 8 MiB
 */
export const DEFAULT_MAX_DECODED_BYTES = 64 * 1024 * 1024

/**
 * JSON text shorter than this is stored plain even with `compression: 'gzip'`: gzip's 18 bytes of
 * framing and the deflate block header eat what it would save (measured on agent JSON: 114 B grows
 * to 119 B, 202 B saves 16%, 299 B 27%, 499 B 47%, 1 KB 55%), while each gzip + gunzip still costs
 * 25-60 µs on node:zlib and 60-900 µs through CompressionStream. Readers detect gzip by its magic
 * bytes, so this changes no reader and needs no option; `compression: 'none'` stays for plain always.
 *
 * @example
 * isGzip(await encodeJSON({ note: 'short' }, 'gzip', 1 << 20)) // false: under GZIP_MIN_BYTES
 */
export const GZIP_MIN_BYTES = 512

/**
 * Whether `bytes` start with the gzip magic number `1f 8b`.
 *
 * @example
 * isGzip(await encodeJSON({ text: 'x'.repeat(600) }, 'gzip', 1 << 20)) // true
 */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length > 1 && bytes[0] === 0x1f && bytes[1] === 0x8b
}

/**
 * Serialises `value` to stored bytes: JSON, gzipped unless `compression` is `'none'` or the JSON
 * is shorter than `GZIP_MIN_BYTES` (where gzip saves too little to pay for itself). What is
 * checked is the JSON text that will be stored, not the value passed: a `Date`, a boxed
 * primitive or a `toJSON` returning anything but an object serialises to something no reader
 * accepts as a snapshot, so it is a `ValidationError` (naming `field`) like a value JSON cannot
 * represent at all. Past `maxBytes` it is a `TooLargeError`. A large plain object (thousands of
 * entries, or over 1 Mi UTF-16 units of text) is written piece by piece into gzip: the same JSON
 * text, the same format, but never whole in memory, as text or as bytes.
 *
 * @example
 * const bytes = await encodeJSON(snapshot, 'gzip', DEFAULT_MAX_DECODED_BYTES)
 */
export async function encodeJSON(value: unknown, compression: 'gzip' | 'none', maxBytes: number, field = 'snapshot'): Promise<Uint8Array> {
  const tooLarge = () => new TooLargeError(`${field} is over ${maxBytes} bytes`)
  // A large plain object is written piece by piece straight into gzip (jsonPieces, utf8Pieces):
  // JSON.stringify's text is a rope of its parts that any encoding first copies flat, and
  // TextEncoder's encode of that peaked at twice its size in Node 20, so 32 MB of JSON cost
  // ~100 MB before a byte was stored; piece by piece ~6-20 MB (bench/memory.bench.mjs). Known
  // large by its many entries (an agent's messages) it is never stringified whole; otherwise by
  // its text, which is then dropped before the walk. Small ones keep the one-call path: the walk
  // measured twice JSON.stringify's time on 1-256 KB of agent JSON.
  const walk = compression === 'gzip' && walkable(value) && !Array.isArray(value)
  if (!walk || entries(value, 0) < STREAM_MIN_ENTRIES) {
    let json: string | undefined = objectText(value, field)
    if (!walk || json.length < STREAM_MIN_CHARS) {
      const raw = new TextEncoder().encode(json)
      if (raw.length > maxBytes) throw tooLarge()
      return encodeUtf8(raw, compression)
    }
    // UTF-8 is at least one byte a UTF-16 unit: text longer than `maxBytes` is refused here.
    if (json.length > maxBytes) throw tooLarge()
    // Let go of the rope before the walk (the frame would otherwise keep it to the end).
    json = undefined
  }
  try {
    return await gzip(utf8Pieces(jsonPieces(value, 0, []), maxBytes, tooLarge))
  } catch (cause) {
    // Past maxBytes, or the value's own failure (a cycle, a BigInt, a throwing toJSON): nothing
    // else in the encoding fails on a string's bytes.
    if (cause instanceof TooLargeError) throw cause
    throw unserialisable(field, cause)
  }
}

/**
 * @internal The JSON text `encodeJSON` stores for `value`, checked as it checks it (a JSON
 * object, at most `maxBytes` as UTF-8), for delta history to diff and hash; `undefined` for a
 * value `encodeJSON` writes piece by piece unstringified (its many entries) or a text over
 * `maxChars` units: those are stored whole, through `encodeJSON`, in bounded memory.
 *
 * @example
 * jsonText({ a: 1 }, 1 << 20, 'snapshot', 1 << 23) // '{"a":1}'
 */
export function jsonText(value: unknown, maxBytes: number, field: string, maxChars: number): string | undefined {
  if (walkable(value) && !Array.isArray(value) && entries(value, 0) >= STREAM_MIN_ENTRIES) return undefined
  const json = objectText(value, field)
  if (json.length > maxChars) return undefined
  // UTF-8 is at most 3 bytes per UTF-16 unit and at least 1: only the middle band is counted.
  if (json.length * 3 > maxBytes && (json.length > maxBytes || new TextEncoder().encode(json).length > maxBytes)) {
    throw new TooLargeError(`${field} is over ${maxBytes} bytes`)
  }
  return json
}

/**
 * @internal Stored bytes of a text: UTF-8, gzipped unless `compression` is `'none'` or it is
 * shorter than `GZIP_MIN_BYTES`.
 *
 * @example
 * const stored = await encodeText('{"a":1}', 'gzip')
 */
export function encodeText(text: string, compression: 'gzip' | 'none'): Promise<Uint8Array> | Uint8Array {
  return encodeUtf8(new TextEncoder().encode(text), compression)
}

/**
 * @internal `encodeText` of a text already encoded as UTF-8.
 *
 * @example
 * const stored = await encodeUtf8(new TextEncoder().encode('{"a":1}'), 'gzip')
 */
export function encodeUtf8(raw: Uint8Array, compression: 'gzip' | 'none'): Promise<Uint8Array> | Uint8Array {
  return compression === 'none' || raw.length < GZIP_MIN_BYTES ? raw : gzip(raw)
}

/** `JSON.stringify(value)`, refused (`ValidationError` naming `field`) unless it is a JSON object's text. */
function objectText(value: unknown, field: string): string {
  let json: string | undefined
  try {
    json = JSON.stringify(value)
  } catch (cause) {
    throw unserialisable(field, cause)
  }
  // `undefined` for a function or a symbol; `"…"`, `5`, `null` or `[…]` for the cases above.
  if (json?.[0] !== '{') throw new ValidationError(field, 'must serialise to a JSON object')
  return json
}

function unserialisable(field: string, cause: unknown): ValidationError {
  return new ValidationError(field, 'must be JSON-serialisable (no cycles, no BigInt)', { cause })
}

/**
 * JSON text from this many UTF-16 units on (1 Mi, 1-3 MB of UTF-8) is written again piece by piece
 * into gzip (see `encodeJSON`); below it one encode and one gzip call cost less CPU and the
 * memory saved is small.
 */
const STREAM_MIN_CHARS = 1 << 20
/**
 * A plain object with this many entries in its first WALK_DEPTH levels is taken as large without
 * stringifying it first: 4,096 turns of agent conversation are ~0.8 MB of JSON (4 messages a turn).
 */
const STREAM_MIN_ENTRIES = 4096
/** UTF-16 units per encoded piece: 64 Ki, 64-192 KiB of UTF-8, a few zlib working chunks. */
const PIECE_CHARS = 64 * 1024
/**
 * How deep jsonPieces walks containers itself; values deeper down are one `JSON.stringify` each.
 * Three levels reach the entries of an agent's conversation (Strands' `data.messages`, LangGraph's
 * `channel_values.messages`, Genkit's `threads.main`), so a piece is a message, not the whole list.
 */
const WALK_DEPTH = 3

/**
 * An array, or an object of `Object.prototype`, without `toJSON`: what JSON.stringify writes key by
 * key, so jsonPieces may too. Anything else (a class instance, a boxed primitive, a null-prototype
 * object such as `JSON.rawJSON`'s, anything with `toJSON`) is left to JSON.stringify whole.
 */
function walkable(value: unknown): value is object {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { toJSON?: unknown }).toJSON !== 'function' &&
    (Array.isArray(value) || Object.getPrototypeOf(value) === Object.prototype)
  )
}

/** Entries of `value`'s containers down to WALK_DEPTH (the ones jsonPieces walks: arrays count their length). */
function entries(value: unknown, depth: number): number {
  if (!walkable(value)) return 0
  const items = Array.isArray(value) ? value : Object.values(value)
  let count = items.length
  if (depth < WALK_DEPTH - 1) for (const item of items) count += entries(item, depth + 1)
  return count
}

/**
 * The text of `JSON.stringify(value)` (a walkable object), the same characters, in pieces: the
 * containers of the first WALK_DEPTH levels are written here key by key, in JSON.stringify's order
 * (Object.keys'), and every value inside them is one `JSON.stringify` of its own. A value whose
 * `toJSON` wants its key gets it: it is stringified as the one property of an object, which is then
 * cut away. Omitted as JSON.stringify omits them: `undefined`, functions and symbols (`null` in an
 * array). A cycle through the walked containers is a TypeError, like JSON.stringify's.
 */
function* jsonPieces(value: object, depth: number, open: object[]): Generator<string> {
  if (open.includes(value)) throw new TypeError('cyclic structure')
  open.push(value)
  const array = Array.isArray(value)
  const keys = array ? undefined : Object.keys(value)
  const length = array ? value.length : keys!.length
  let head = array ? '[' : '{'
  for (let i = 0; i < length; i++) {
    const key = array ? String(i) : keys![i]!
    const item = (value as Record<string, unknown>)[key]
    const quoted = JSON.stringify(key)
    const name = array ? '' : `${quoted}:`
    if (depth < WALK_DEPTH - 1 && walkable(item)) {
      yield head + name
      yield* jsonPieces(item, depth + 1, open)
    } else {
      let text: string | undefined
      if (typeof (item as { toJSON?: unknown } | undefined)?.toJSON === 'function') {
        const one = JSON.stringify({ [key]: item })
        text = one.length > 2 ? one.slice(quoted.length + 2, -1) : undefined
      } else text = JSON.stringify(item)
      if (text === undefined) {
        if (!array) continue
        text = 'null'
      }
      yield head + name + text
    }
    head = ','
  }
  open.pop()
  // Only a container that wrote nothing still holds its opening bracket.
  yield `${head === ',' ? '' : head}${array ? ']' : '}'}`
}

/**
 * Strings as UTF-8, gathered into texts of at least PIECE_CHARS and encoded a piece at a time,
 * every piece in the same buffer (the platform's gzip is done with a piece, or with its copy,
 * before it pulls the next: see platform.d.ts). One buffer, not one per piece: fresh pieces are garbage only a GC
 * frees, and in Node 20 they piled up to ~60 MB for 32 MB of text before one ran. Past `maxBytes`
 * in all it throws `tooLarge()`.
 */
function* utf8Pieces(pieces: Iterator<string>, maxBytes: number, tooLarge: () => Error): Generator<Uint8Array> {
  const encoder = new TextEncoder()
  // Room for the worst case, 3 bytes a UTF-16 unit (+1 unit of a pair pulled in below).
  const buffer = new Uint8Array((PIECE_CHARS + 1) * 3)
  let total = 0
  for (let done = false; !done; ) {
    let text = ''
    while (!done && text.length < PIECE_CHARS) {
      const next = pieces.next()
      if (next.done) done = true
      else text += next.value
    }
    for (let at = 0; at < text.length; ) {
      let end = Math.min(at + PIECE_CHARS, text.length)
      // Never between the two halves of a surrogate pair: TextEncoder would write each as U+FFFD.
      // (jsonPieces yields whole JSON tokens, so no pair is split between two of them.)
      if ((text.charCodeAt(end - 1) & 0xfc00) === 0xd800) end++
      const { written } = encoder.encodeInto(text.slice(at, end), buffer)
      total += written
      if (total > maxBytes) throw tooLarge()
      yield buffer.subarray(0, written)
      at = end
    }
  }
}

/**
 * @internal Gzips bytes as they are (no JSON): the byte-level half of `encodeJSON`, for adapters
 * whose callers hand over bytes (Strands' unified `Storage`). `#platform`'s own, re-exported.
 *
 * @example
 * isGzip(await gzip(new TextEncoder().encode('{}'))) // true
 */
export { gzip }

/**
 * Decodes stored bytes (gzip or plain) into a JSON object. Garbage, truncated gzip, invalid
 * UTF-8 or JSON, a non-object, or an encrypted object (its key id named) → `CorruptError`; more than `maxBytes` decoded → `TooLargeError`.
 * Both name `key`. A large gzip (its trailer naming 1 MiB or more) is parsed as it inflates, its
 * text never whole (`JsonReader`): the same value and the same errors as JSON.parse of the whole.
 *
 * @example
 * const snapshot = await decodeJSON(bytes, 'sessions/s1/…/snapshot_latest.json', 1 << 26)
 */
export async function decodeJSON<T>(bytes: Uint8Array, key: string, maxBytes: number): Promise<T> {
  refuseSealed(bytes, key)
  const tooLarge = () => new TooLargeError(`${key} is over ${maxBytes} bytes`, { key })
  const decoder = new TextDecoder('utf-8', { fatal: true })
  let text = ''
  /** The last piece inflated, decoded only once the next arrives, or at the end (see below). */
  let last = bytes
  /** What the sink threw (bad UTF-8, bad JSON), if anything: told apart from a gzip error that way. */
  let failed: unknown
  // A large gzip (by the size its trailer names) is parsed as it inflates, its text never whole
  // (JsonReader); JSON.parse of the whole text needed that text beside the value it builds.
  const reader = isGzip(bytes) && gzipTrailerSize(bytes) >= STREAM_MIN_CHARS ? new JsonReader() : undefined
  if (isGzip(bytes)) {
    // Decoded to text piece by piece as it inflates (the platform hands each piece over and keeps
    // none): the decoded bytes never exist whole beside their pieces (gunzip-then-decode held
    // zlib's pieces and their join, then the text too: 6× the JSON at the peak for 32 MB). A piece
    // is decoded streaming only when another follows it: the last one (a small object's only one
    // on Node) ends the decode, which is what Node's UTF-8 fast path takes (its streaming decode
    // of a whole 32 MB went through UTF-16 and peaked at 4× the text's size).
    // (Starting empty, and never decoding an empty piece: one streaming call, even of nothing,
    // takes Node's decoder off its fast path for good.)
    last = new Uint8Array(0)
    const append = (piece: Uint8Array): void => {
      try {
        if (last.length) {
          const decoded = decoder.decode(last, { stream: true })
          if (reader) reader.push(decoded)
          else text += decoded
        }
      } catch (cause) {
        failed = cause
        throw cause
      }
      last = piece
    }
    let inflated: Uint8Array | undefined
    try {
      inflated = await gunzipBounded(bytes, maxBytes, append)
    } catch (cause) {
      if (failed === undefined) throw new CorruptError(`${key} is not valid gzip`, { key, cause })
    }
    if (!inflated && failed === undefined) throw tooLarge()
  } else if (bytes.length > maxBytes) throw tooLarge()
  let value: unknown
  try {
    if (failed !== undefined) throw failed
    // The end of the decode: the whole of plain bytes, or the last piece (a sequence cut short throws).
    const decoded = decoder.decode(last)
    // Let go of the bytes before the parse allocates the value.
    last = bytes = new Uint8Array(0)
    if (reader) {
      reader.push(decoded)
      value = reader.end()
    } else value = JSON.parse(text + decoded)
  } catch (cause) {
    throw new CorruptError(`${key} is not valid UTF-8 JSON`, { key, cause })
  }
  if (isObject(value)) return value as T
  throw new CorruptError(`${key} does not hold a JSON object`, { key })
}

/**
 * @internal Whether stored bytes are a gzip `decodeJSON` parses as it inflates (1 MiB or more
 * decoded, or `min`): a reader wanting the text too (`decodeText`) should leave those to it.
 *
 * @example
 * if (streamed(obj.body)) return decodeJSON(obj.body, key, max)
 */
export function streamed(bytes: Uint8Array, min = STREAM_MIN_CHARS): boolean {
  return isGzip(bytes) && gzipTrailerSize(bytes) >= min
}

/**
 * @internal The UTF-8 of stored bytes (gunzipped when gzip), bounded like `decodeJSON`, whole:
 * `encodeUtf8` undone. What delta history hashes (a delta's `h` is over these bytes).
 *
 * @example
 * const raw = await decodeUtf8(stored, key, 1 << 26)
 */
export async function decodeUtf8(bytes: Uint8Array, key: string, maxBytes: number): Promise<Uint8Array> {
  refuseSealed(bytes, key)
  const raw = isGzip(bytes) ? await gunzip(bytes, key, maxBytes) : bytes
  if (raw.length > maxBytes) throw new TooLargeError(`${key} is over ${maxBytes} bytes`, { key })
  return raw
}

/**
 * @internal The text of stored bytes (gzip or plain, bounded like `decodeJSON`), whole: for
 * delta history, whose objects are small or rebuilt from small parts.
 *
 * @example
 * const text = await decodeText(stored, key, 1 << 26)
 */
export async function decodeText(bytes: Uint8Array, key: string, maxBytes: number): Promise<string> {
  const raw = await decodeUtf8(bytes, key, maxBytes)
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(raw)
  } catch (cause) {
    throw new CorruptError(`${key} is not valid UTF-8 JSON`, { key, cause })
  }
}

/**
 * @internal `text` parsed as a JSON object, or `CorruptError` naming `key`.
 *
 * @example
 * parseObject<{ a: number }>('{"a":1}', key).a // 1
 */
export function parseObject<T>(text: string, key: string): T {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (cause) {
    throw new CorruptError(`${key} is not valid UTF-8 JSON`, { key, cause })
  }
  if (isObject(value)) return value as T
  throw new CorruptError(`${key} does not hold a JSON object`, { key })
}

// What a JsonReader container expects next (numbers, not a TypeScript enum: no runtime object).
const VALUE = 0
const VALUE_OR_CLOSE = 1
const KEY = 2
const KEY_OR_CLOSE = 3
const COLON = 4
const COMMA_OR_CLOSE = 5
const END = 6
// How the text of a value read whole (by JSON.parse) ends: its closing quote, its closing bracket, a delimiter.
const STRING = 0
const CONTAINER = 1
const PRIMITIVE = 2

/**
 * @internal JSON text handed over in pieces, read into its value without ever holding the whole text: the
 * reverse of jsonPieces. The containers of the first WALK_DEPTH levels are read here token by
 * token (JSON's grammar exactly: its four whitespace characters, commas, colons, string keys), and
 * every value inside them, each key too, is one `JSON.parse` of its own text, found by scanning
 * for its end (strings and escapes tracked, brackets counted; a value spanning pieces is gathered
 * and scanned on where it stopped). Valid JSON splits exactly into those tokens and values, so the
 * result is JSON.parse's (keys defined, never assigned: `__proto__` is a key like any other, as in
 * JSON.parse), and invalid JSON fails one of the parses or the grammar here: a SyntaxError either way.
 *
 * @example
 * const reader = new JsonReader()
 * for (const piece of ['{"messages":[{"te', 'xt":"hi"}]}']) reader.push(piece)
 * reader.end() // { messages: [{ text: 'hi' }] }
 */
export class JsonReader {
  /** Open containers, innermost last, with what each expects and an object's key being read. */
  readonly #open: { value: Record<string, unknown> | unknown[]; next: number; key?: string }[] = []
  #root: unknown
  #next = VALUE
  /** A value (or key) whose text has begun but not ended: its pieces so far and where its scan stands. */
  #leaf: { parts: string[]; kind: number; depth: number; quoted: boolean; escaped: boolean; key: boolean } | undefined

  push(text: string): void {
    let at = 0
    if (this.#leaf) {
      const end = this.#scan(text, 0)
      if (end < 0) {
        this.#leaf.parts.push(text)
        return
      }
      this.#leaf.parts.push(text.slice(0, end))
      this.#finish(this.#leaf.parts.join(''))
      at = end
    }
    for (;;) {
      while (at < text.length && isSpace(text.charCodeAt(at))) at++
      if (at >= text.length) return
      const c = text.charCodeAt(at)
      const top = this.#open.at(-1)
      const next = top ? top.next : this.#next
      if ((next === VALUE_OR_CLOSE && c === 0x5d) || (next === KEY_OR_CLOSE && c === 0x7d)) {
        this.#open.pop()
        at++
      } else if (next === COMMA_OR_CLOSE) {
        const array = Array.isArray(top!.value)
        if (c === 0x2c) top!.next = array ? VALUE : KEY
        else if (c === (array ? 0x5d : 0x7d)) this.#open.pop()
        else throw unexpected(text[at])
        at++
      } else if (next === COLON) {
        if (c !== 0x3a) throw unexpected(text[at])
        top!.next = VALUE
        at++
      } else if (next === END) throw unexpected(text[at])
      else if ((c === 0x7b || c === 0x5b) && next !== KEY && next !== KEY_OR_CLOSE && this.#open.length < WALK_DEPTH) {
        const value = c === 0x7b ? {} : []
        this.#attach(value)
        this.#open.push({ value, next: c === 0x7b ? KEY_OR_CLOSE : VALUE_OR_CLOSE })
        at++
      } else {
        const key = next === KEY || next === KEY_OR_CLOSE
        if (key && c !== 0x22) throw unexpected(text[at])
        const kind = c === 0x22 ? STRING : c === 0x7b || c === 0x5b ? CONTAINER : PRIMITIVE
        this.#leaf = { parts: [], kind, depth: kind === CONTAINER ? 1 : 0, quoted: kind === STRING, escaped: false, key }
        const end = this.#scan(text, kind === PRIMITIVE ? at : at + 1)
        if (end < 0) {
          this.#leaf.parts.push(text.slice(at))
          return
        }
        this.#finish(text.slice(at, end))
        at = end
      }
    }
  }

  /** The value, once the text has all been pushed: a SyntaxError if it stops short. */
  end(): unknown {
    if (this.#leaf?.kind === PRIMITIVE) this.#finish(this.#leaf.parts.join(''))
    if (this.#leaf || this.#open.length || this.#next !== END) throw unexpected('the end')
    return this.#root
  }

  /** Where the current leaf's text ends in `text` (scanning from `from`), or -1: not in this piece. */
  #scan(text: string, from: number): number {
    const leaf = this.#leaf!
    for (let i = from; i < text.length; i++) {
      const c = text.charCodeAt(i)
      if (leaf.quoted) {
        if (leaf.escaped) leaf.escaped = false
        else if (c === 0x5c) leaf.escaped = true
        else if (c === 0x22) {
          leaf.quoted = false
          if (leaf.kind === STRING) return i + 1
        }
      } else if (leaf.kind === PRIMITIVE) {
        if (c === 0x2c || c === 0x5d || c === 0x7d || isSpace(c)) return i
      } else if (c === 0x22) leaf.quoted = true
      else if (c === 0x7b || c === 0x5b) leaf.depth++
      else if ((c === 0x7d || c === 0x5d) && --leaf.depth === 0) return i + 1
    }
    return -1
  }

  /** The current leaf's whole text, parsed: a key, or a value put where it belongs. */
  #finish(text: string): void {
    const { key } = this.#leaf!
    this.#leaf = undefined
    const value: unknown = JSON.parse(text)
    if (!key) {
      this.#attach(value)
      return
    }
    const top = this.#open.at(-1)!
    top.key = value as string
    top.next = COLON
  }

  #attach(value: unknown): void {
    const top = this.#open.at(-1)
    if (!top) {
      this.#root = value
      this.#next = END
    } else {
      if (Array.isArray(top.value)) top.value.push(value)
      else Object.defineProperty(top.value, top.key!, { value, writable: true, enumerable: true, configurable: true })
      top.next = COMMA_OR_CLOSE
    }
  }
}

/** What JsonReader throws where JSON's grammar allows nothing like `what` (JSON.parse throws a SyntaxError too). */
function unexpected(what: string | undefined): SyntaxError {
  return new SyntaxError(`unexpected ${what} in JSON`)
}

/** JSON's whitespace: space, tab, line feed, carriage return (and nothing else, as in JSON.parse). */
function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d
}

/** @internal A non-null, non-array object: the only shape a decoded snapshot or manifest may have. */
export function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * @internal Gunzips bytes, bounded: more than `maxBytes` decoded is a `TooLargeError` (a gzip
 * bomb costs at most that much memory), garbage or truncated gzip a `CorruptError`; both name
 * `key`. The byte-level half of `decodeJSON`.
 *
 * @example
 * const raw = await gunzip(stored, key, DEFAULT_MAX_DECODED_BYTES)
 */
export async function gunzip(bytes: Uint8Array, key: string, maxBytes: number): Promise<Uint8Array> {
  let out: Uint8Array | undefined
  try {
    out = await gunzipBounded(bytes, maxBytes)
  } catch (cause) {
    throw new CorruptError(`${key} is not valid gzip`, { key, cause })
  }
  if (!out) throw new TooLargeError(`${key} is over ${maxBytes} bytes`, { key })
  return out
}
