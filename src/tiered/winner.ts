/**
 * The rule that settles a mutable key (`latest`, the manifest, any key written by
 * compare-and-swap or plain overwrite) between the two tiers, as pure functions of what each side
 * holds: no I/O, so it is tested on its own, case by case (test/node/tiered-winner.test.ts).
 *
 * Each side is the SHA-256 of its stored bytes, or `null` when it holds none; `agreed` is the
 * hash both tiers last held (`null` when they never agreed, or agreed on absence).
 */

/**
 * What a sync does with one mutable key:
 * - `same`: both tiers hold the same bytes (or neither holds any); nothing moves.
 * - `push`: the local bytes replace the remote's.
 * - `pull`: the remote bytes replace the local ones.
 * - `keep`: the remote deleted the key after we agreed and the local copy is unchanged; neither
 *   resurrect it remotely nor delete it here (deletions travel from a device to the remote).
 *
 * @example
 * const decision: Decision = decide({ local: 'a1', remote: 'b2', agreed: 'b2' }) // 'push'
 */
export type Decision = 'same' | 'push' | 'pull' | 'keep'

/**
 * The input of `decide`: both sides' hashes, the agreed hash, and (needed only when
 * `bothChanged`) when each side's content was written, in ms; `-Infinity` for undated content.
 *
 * @example
 * const sides: Sides = { local: 'a1', remote: 'b2', agreed: null, localTime: 10, remoteTime: 20 }
 */
export interface Sides {
  local: string | null
  remote: string | null
  agreed: string | null
  localTime?: number
  remoteTime?: number
}

/**
 * True when both sides changed since the agreed state (to different bytes): only then does the
 * decision depend on the contents' dates, so only then must the caller decode both to read them.
 *
 * @example
 * if (bothChanged(sides)) Object.assign(sides, await datesOf(localBody, remoteBody))
 */
export function bothChanged({ local, remote, agreed }: Sides): boolean {
  return local !== null && remote !== null && local !== remote && local !== agreed && remote !== agreed
}

/**
 * Three-way decision against the agreed state: the side that changed wins (a fast-forward).
 * When both changed, the later-dated content wins and equal dates go to the greater hash, so
 * every device, comparing the same two byte strings, picks the same winner. A missing date counts
 * as `-Infinity` (undated content never wins on time).
 *
 * @example
 * decide({ local: 'a1', remote: 'b2', agreed: 'a1' }) // 'pull': only the remote changed
 * decide({ local: 'a1', remote: 'b2', agreed: null, localTime: 2, remoteTime: 1 }) // 'push'
 */
export function decide(sides: Sides): Decision {
  const { local, remote, agreed } = sides
  if (local === remote) return 'same'
  // Nothing here: whatever the remote holds comes down.
  if (local === null) return 'pull'
  if (local === agreed) return remote === null ? 'keep' : 'pull'
  if (!bothChanged(sides)) return 'push'
  const localTime = sides.localTime ?? -Infinity
  const remoteTime = sides.remoteTime ?? -Infinity
  if (localTime !== remoteTime) return localTime > remoteTime ? 'push' : 'pull'
  return local > remote! ? 'push' : 'pull'
}
