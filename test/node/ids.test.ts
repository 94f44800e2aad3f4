import { describe, expect, it } from 'vitest'
import { UUID } from 'uuidv7'
import { isSnapshotId, newSnapshotId, snapshotIdTime } from 'snapshelf'

// newSnapshotId is our own RFC 9562 generator; the reference `uuidv7` package checks its output.
describe('newSnapshotId', () => {
  it('produces version-7, RFC 9562-variant ids the reference implementation parses', () => {
    for (let i = 0; i < 2000; i++) {
      const id = newSnapshotId()
      const parsed = UUID.parse(id)
      expect(parsed.getVersion()).toBe(7)
      expect(parsed.getVariant()).toBe('VAR_10')
      expect(parsed.toString()).toBe(id)
      expect(isSnapshotId(id)).toBe(true)
    }
  })

  it('is strictly increasing within a process, even thousands per millisecond', () => {
    const ids = Array.from({ length: 50_000 }, () => newSnapshotId())
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true)
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('encodes the creation time in the first 48 bits', () => {
    const before = Date.now()
    const id = newSnapshotId()
    const t = snapshotIdTime(id).getTime()
    // The counter may borrow a few ms after a burst, never go back.
    expect(t).toBeGreaterThanOrEqual(before)
    expect(t).toBeLessThan(Date.now() + 1000)
  })

  it('keeps 62 random bits: ids from one millisecond differ beyond the counter', () => {
    const tails = new Set(Array.from({ length: 1000 }, () => newSnapshotId().slice(19)))
    expect(tails.size).toBe(1000)
  })
})
