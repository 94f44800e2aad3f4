import { describe, expect, it } from 'vitest'
import { decodeMetadata, encodeMetadata, isStoredMetadata } from '../../src/core/metadata.js'

// The one owner of snapshot metadata's rules and stored form (core/metadata.ts).
describe('snapshot metadata: stored form', () => {
  it('percent-encodes %, non-ASCII and outer spaces only; decoding gives the value back', () => {
    const cases: [string, string][] = [
      ['plain title', 'plain title'],
      ['100%', '100%25'],
      ['%41', '%2541'],
      [' both ', '%20both%20'],
      ['Résumé', 'R%C3%A9sum%C3%A9'],
      ['😀', '%F0%9F%98%80'],
      ['a"b\\c', 'a"b\\c'],
      ['ZWJ 👩‍💻', 'ZWJ %F0%9F%91%A9%E2%80%8D%F0%9F%92%BB'],
    ]
    for (const [value, stored] of cases) {
      expect(encodeMetadata({ v: value })).toEqual({ v: stored })
      expect(isStoredMetadata({ v: stored })).toBe(true)
      expect(decodeMetadata({ v: stored })).toEqual({ v: value })
    }
  })

  it('an empty map is no metadata; a value another tool stored that is no percent-encoding reads as stored', () => {
    expect(encodeMetadata({})).toBeUndefined()
    expect(decodeMetadata({})).toBeUndefined()
    expect(decodeMetadata(undefined)).toBeUndefined()
    expect(decodeMetadata({ note: '100%', odd: '%E2%98' })).toEqual({ note: '100%', odd: '%E2%98' })
  })

  it('counts bytes as stored: an é is 6', () => {
    expect(() => encodeMetadata({ a: 'é'.repeat(170) })).not.toThrow() // 1 + 1020
    expect(() => encodeMetadata({ a: 'é'.repeat(171) })).toThrow(/1027 bytes as stored, over 1024/)
  })

  it('isStoredMetadata refuses what the snapshot layer would never hand a backend', () => {
    for (const bad of [null, [], 'x', { Title: 'x' }, { a: 'é' }, { a: ' x' }, { a: '' }, { a: 1 }, { 'snapshelf-prev': 'x' }]) {
      expect(isStoredMetadata(bad)).toBe(false)
    }
  })
})
