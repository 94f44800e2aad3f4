/**
 * mulberry32: a small fast seeded PRNG. The same seed gives the same sequence in every runtime, so
 * a failing random interleaving replays from the seed its test prints.
 *
 * @example
 * const rand = prng(7)
 * const pick = Math.floor(rand() * 3) // 0, 1 or 2, the same every run with seed 7
 */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
