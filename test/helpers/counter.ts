import type { Snapshot } from 'snapshelf'

/**
 * A counter kept in a snapshot's data, for compare-and-swap tests: every committed mutation adds
 * one and records its writer, so a lost update or a mutation applied twice shows in the count.
 */
export type Counter = { count: number; writers: number[] }

/**
 * A `mutate` for `updateLatest` that adds one to the counter and records `who` did.
 *
 * @example
 * await store.updateLatest({ location, mutate: bump(1) })
 */
export const bump =
  (who: number) =>
  (cur: Snapshot | null): Snapshot => {
    const d = cur!.data as Counter
    return { ...cur!, data: { count: d.count + 1, writers: [...d.writers, who] } }
  }
