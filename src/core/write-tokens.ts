import { RemoteError } from './errors.js'
import { historyIdOf } from './keys.js'
import { toBase64 } from './util.js'

/**
 * Write tokens: how a remote backend recognises its own conditional write after a lost response.
 * Used by the S3 backend (object metadata) and the HTTP client (the `Snapshelf-Tokens` header,
 * kept by R2 behind the handler).
 *
 * Each conditional PUT carries a random token, then the tokens of the object it replaces as we
 * last read it (its chain, at most `CHAIN_DEPTH`). When a PUT had to be retried (timeout, reset,
 * 5xx, lost response) and then fails its precondition, our first attempt may have landed: the
 * caller reads the object now there and `settle` decides. Our token in its tokens: the write is
 * ours. A token-carrying object whose full-enough chain lacks ours: a real lost race. Anything
 * else cannot be told apart, and guessing would lose an update or apply it twice.
 */

/** How many replaced writes an object remembers (13 bytes each: far below S3's 2 KB metadata cap). */
export const CHAIN_DEPTH = 48

/**
 * Remembers the write tokens of recently read objects by ETag, so the next conditional PUT can
 * chain them, and settles retried conditional PUTs. One per backend instance.
 *
 * @example
 * const tokens = new WriteTokens()
 * const mine = tokens.forPut(ifMatch, ifNoneMatch)   // send mine.join(',') with the PUT
 * // …on a retried 412: const now = await head(key); return tokens.settle(key, mine, now, ifNoneMatch)
 */
export class WriteTokens {
  readonly #seen = new Map<string, string[]>()

  /**
   * Tokens for a PUT: for a conditional one a fresh token (9 random bytes as 12 base64url
   * characters: fits S3 metadata and the handler's `[\w-]{1,24}`), then the chain of the object
   * it replaces; `[]` for an unconditional one.
   */
  forPut(ifMatch: string | undefined, ifNoneMatch: unknown): string[] {
    if (ifMatch === undefined && !ifNoneMatch) return []
    const token = toBase64(crypto.getRandomValues(new Uint8Array(9))).replace(/\+/g, '-').replace(/\//g, '_')
    return [token, ...((ifMatch !== undefined && this.#seen.get(ifMatch)?.slice(0, CHAIN_DEPTH)) || [])]
  }

  /** Keeps `tokens` under `etag` in a small LRU (only ETags read moments ago are ever chained); returns `etag`. */
  keep(etag: string, tokens: string[] = []): string {
    if (tokens.length) {
      this.#seen.delete(etag)
      this.#seen.set(etag, tokens)
      if (this.#seen.size > 256) this.#seen.delete(this.#seen.keys().next().value!)
    }
    return etag
  }

  /**
   * Settles a retried conditional PUT that failed its precondition, given the object now at
   * `key` (`null` when absent): `{ etag }` when our write landed (`''` when already replaced),
   * `null` for a real lost race, or a `RemoteError` (412, outcome unknown) when the chain cannot
   * tell. A history create is always `null`: history is write-once, so the store settles it by
   * comparing bytes.
   */
  settle(
    key: string,
    mine: string[],
    now: { etag: string; tokens?: string[] } | null,
    ifNoneMatch: unknown,
  ): { etag: string } | null {
    if (now?.tokens?.includes(mine[0]!)) return { etag: now.tokens[0] === mine[0] ? now.etag : '' }
    const told = now?.tokens?.length && now.tokens.length <= CHAIN_DEPTH
    if (now && !told && !(ifNoneMatch && historyIdOf(key))) {
      throw new RemoteError(`${key}: outcome unknown (write retried after a lost response)`, { key, status: 412 })
    }
    return null
  }
}
