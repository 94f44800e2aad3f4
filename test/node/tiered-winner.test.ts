import { describe, expect, it } from 'vitest'
import { bothChanged, decide, type Decision, type Sides } from '../../src/tiered/winner.js'

// The rule that settles a mutable key, on its own: every combination of what each side holds
// relative to the agreed state, with and without dates. `a` is the agreed hash; `x` and `y` are
// two other contents.

type Side = null | 'a' | 'x' | 'y'
const sides: Side[] = [null, 'a', 'x', 'y']

/** The documented rule, written independently of decide(): who changed since the agreed state. */
function expected(local: Side, remote: Side, agreed: null | 'a', localTime: number, remoteTime: number): Decision {
  if (local === remote) return 'same'
  if (local === null) return 'pull' // nothing here: whatever the remote holds comes down
  const localChanged = local !== agreed
  const remoteChanged = remote !== agreed
  if (!localChanged) return remote === null ? 'keep' : 'pull'
  if (!remoteChanged || remote === null) return 'push'
  if (localTime !== remoteTime) return localTime > remoteTime ? 'push' : 'pull'
  return local > remote ? 'push' : 'pull'
}

describe('decide (the latest / manifest winner rule)', () => {
  const times = [-Infinity, 1, 2]
  for (const agreed of [null, 'a'] as const) {
    for (const local of sides) {
      for (const remote of sides) {
        for (const localTime of times) {
          for (const remoteTime of times) {
            const input: Sides = { local, remote, agreed, localTime, remoteTime }
            it(`local ${local} remote ${remote} agreed ${agreed} times ${localTime}/${remoteTime}`, () => {
              expect(decide(input)).toBe(expected(local, remote, agreed, localTime, remoteTime))
            })
          }
        }
      }
    }
  }

  it('is symmetric: two devices looking at the same two contents from opposite sides agree on the winner', () => {
    for (const [l, r] of [
      ['x', 'y'],
      ['y', 'x'],
    ] as const) {
      for (const [lt, rt] of [
        [1, 2],
        [2, 1],
        [5, 5],
        [-Infinity, -Infinity],
      ]) {
        const here = decide({ local: l, remote: r, agreed: 'a', localTime: lt, remoteTime: rt })
        const there = decide({ local: r, remote: l, agreed: 'a', localTime: rt, remoteTime: lt })
        // One pushes its content, the other pulls that same content.
        expect([here, there].sort()).toEqual(['pull', 'push'])
        const winner = here === 'push' ? l : r
        expect(there === 'push' ? r : l).toBe(winner)
      }
    }
  })

  it('dates are read only when both sides changed, and missing dates count as undated', () => {
    expect(bothChanged({ local: 'x', remote: 'y', agreed: 'a' })).toBe(true)
    expect(bothChanged({ local: 'x', remote: 'y', agreed: null })).toBe(true)
    expect(bothChanged({ local: 'x', remote: 'a', agreed: 'a' })).toBe(false)
    expect(bothChanged({ local: 'a', remote: 'y', agreed: 'a' })).toBe(false)
    expect(bothChanged({ local: 'x', remote: null, agreed: 'a' })).toBe(false)
    expect(bothChanged({ local: null, remote: 'y', agreed: 'a' })).toBe(false)
    expect(bothChanged({ local: 'x', remote: 'x', agreed: 'a' })).toBe(false)
    // Without dates, the greater hash wins.
    expect(decide({ local: 'y', remote: 'x', agreed: 'a' })).toBe('push')
    expect(decide({ local: 'x', remote: 'y', agreed: 'a' })).toBe('pull')
    // A dated side beats an undated one.
    expect(decide({ local: 'x', remote: 'y', agreed: 'a', localTime: 0 })).toBe('push')
  })
})
