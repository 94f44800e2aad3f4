import { RemoteError } from './errors.js'
import { historyIdOf } from './keys.js'
import { toBase64 } from './util.js'

/**
 * Write tokens: how a remote backend recognises its own conditional write after a lost response.
 * Used by the S3 backend (object metadata) and the HTTP client (the `Snapshelf-Tokens` header,
 * kept by R2 behind the handler).
 *
 * Each conditional PUT carries a random token, then the tokens of the version it replaces as we
 * read it AT THAT KEY (its chain, at most `CHAIN_DEPTH`): an object's tokens name its own write
 * and the writes before it, newest first. A writer that no longer knows the tokens of what it
 * replaces ends its chain with `UNKNOWN` rather than with nothing, which would claim "I replaced
 * an object without tokens". (ETags alone cannot key this memory: they are content hashes, so
 * another key holding the same bytes has the same ETag and other tokens.)
 *
 * When a PUT had to be retried (timeout, reset, 5xx, lost response) and then fails its
 * precondition, our first attempt may have landed, or may even still be running on the server:
 * the 412 proves only that the retry wrote nothing. The caller reads the object now there and
 * `settle` decides from its tokens:
 * - our token among them: ours landed;
 * - the token of the version we replaced (our base) among them, past the first: the object
 *   descends from our base through other writes, none ours, so ours never landed, and never will
 *   (its precondition names a version already replaced): a lost race;
 * - our base had no tokens (or we created): a lost race only if the object descends, through
 *   writes all named, from a write without a predecessor's tokens (as ours would have been);
 * - anything else (our base still current, as under a 409; a chain cut by a delete, a token-less
 *   writer, a forgetful writer or the depth) cannot be told apart, and guessing would lose an
 *   update or apply it twice: outcome unknown.
 *
 * Two limits no token lifts. ETags are content hashes, so `If-Match` cannot tell two versions
 * with identical bytes apart: a writer that read one and replaced its later twin chains the first
 * one's tokens, skipping what came between. And from a base without tokens, a chain that starts
 * at a token-less write cannot say WHICH token-less write: if another client overwrote our landed
 * write without tokens and a snapshelf writer then updated on top, this reads as a lost race.
 */

/**
 * How many replaced writes an object remembers (13 bytes each: far below S3's 2 KB metadata cap).
 *
 * @example
 * chain.slice(0, CHAIN_DEPTH)
 */
export const CHAIN_DEPTH = 48

/**
 * How many versions (key and ETag) one instance remembers the tokens of. Forgetting costs
 * precision, never correctness: a write whose base was forgotten chains `UNKNOWN`.
 */
const REMEMBERED = 1024

/** Ends a chain whose writer did not know the tokens of the version it replaced. */
const UNKNOWN = '-'

/**
 * Remembers the write tokens of the versions this instance read or wrote, by key and ETag, so
 * the next conditional PUT of a key chains the tokens of exactly the version it replaces, and
 * settles retried conditional PUTs. One per backend instance.
 *
 * @example
 * const tokens = new WriteTokens()
 * tokens.keep(key, etag, tokensReadWithIt)
 * const mine = tokens.forPut(key, etag, undefined)   // send mine.join(',') with the PUT
 * // …on a retried 412: return tokens.settle(key, mine, await head(key))
 */
export class WriteTokens {
  /** Tokens by `<etag>\n<key>` (an ETag never holds a newline), least recently used first. */
  readonly #seen = new Map<string, string[]>()

  /**
   * Tokens for a PUT of `key`: for a conditional one a fresh token (fits S3 metadata and the
   * handler's `[\w-]{1,24}`), then the chain of the version at `key` with ETag `ifMatch` (for a
   * create, nothing); `[]` for an unconditional PUT.
   */
  forPut(key: string, ifMatch: string | undefined, ifNoneMatch: unknown): string[] {
    if (ifMatch === undefined && !ifNoneMatch) return []
    const token = toBase64(crypto.getRandomValues(new Uint8Array(9)))
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
    if (ifMatch === undefined) return [token]
    const replaced = this.#seen.get(`${ifMatch}\n${key}`) ?? [UNKNOWN]
    return [token, ...replaced.slice(0, CHAIN_DEPTH)]
  }

  /**
   * Remembers the tokens (`[]`: none) of the version at `key` with ETag `etag`, read or just
   * written; returns `etag`.
   */
  keep(key: string, etag: string, tokens: string[] = []): string {
    const id = `${etag}\n${key}`
    this.#seen.delete(id)
    this.#seen.set(id, tokens)
    if (this.#seen.size > REMEMBERED) this.#seen.delete(this.#seen.keys().next().value!)
    return etag
  }

  /**
   * Settles a retried conditional PUT (`mine`: the tokens it carried) that failed its
   * precondition, given the object now at `key` (`null` when absent): `{ etag }` when our write
   * landed (`''` when already replaced), `null` for a proven lost race, or a `RemoteError` (412,
   * outcome unknown). A history create without our token is `null`: history is write-once, so
   * the store settles it by comparing bytes.
   */
  settle(key: string, mine: string[], now: { etag: string; tokens?: string[] } | null): { etag: string } | null {
    const [own, base] = mine
    const tokens = now?.tokens ?? []
    if (now && tokens.includes(own!)) return { etag: tokens[0] === own ? now.etag : '' }
    if (base === undefined && historyIdOf(key)) return null
    const lost =
      base === undefined
        ? tokens.length > 0 && tokens.length <= CHAIN_DEPTH && tokens[tokens.length - 1] !== UNKNOWN
        : base !== UNKNOWN && tokens.indexOf(base) > 0
    if (lost) return null
    throw new RemoteError(`${key}: outcome unknown (write retried after a lost response)`, { key, status: 412 })
  }
}
