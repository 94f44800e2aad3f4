import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DELTA_MAGIC, deltaText, diff, parseDelta, patch } from '../../src/core/delta.js'

// The delta format's one promise: applying diff(a, b) to a gives back exactly the JSON text of b,
// whatever a and b are. Checked on random JSON (fast-check, fixed seed: a failure replays), on
// b derived from a the way agents change state (append, edit, drop, reorder), and on the names
// JSON objects treat specially (integer-like, `__proto__`).

const json = fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown)
const names = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('__proto__', '0', '1', '10', '4294967294', '4294967295', 'constructor'))

/** `a` changed as agents change state: its arrays grow or lose a tail, members come and go. */
function mutate(a: unknown, rand: () => number, name: () => string): unknown {
  if (Array.isArray(a)) {
    const b = a.map((x) => (rand() < 0.2 ? mutate(x, rand, name) : x))
    if (rand() < 0.5) b.push({ added: rand() })
    if (rand() < 0.2) b.splice(Math.floor(rand() * b.length), 1)
    return b
  }
  if (a && typeof a === 'object') {
    const entries = Object.entries(a).filter(() => rand() > 0.15)
    const b = Object.fromEntries(entries.map(([k, v]) => [k, rand() < 0.3 ? mutate(v, rand, name) : v]))
    if (rand() < 0.4) Object.defineProperty(b, name(), { value: [rand()], enumerable: true, writable: true, configurable: true })
    return rand() < 0.1 ? Object.fromEntries(Object.entries(b).reverse()) : b
  }
  return rand() < 0.3 ? { was: a } : a
}

const roundTrip = (a: unknown, b: unknown) => {
  const op = diff(a, b)
  const parent = JSON.parse(JSON.stringify(a))
  const got = op ? patch(parent, JSON.parse(JSON.stringify(op)), 'k') : parent
  expect(JSON.stringify(got)).toBe(JSON.stringify(b))
}

describe('delta: diff and patch', () => {
  it('applying diff(a, b) to a gives exactly the JSON text of b, for any two JSON values', () => {
    fc.assert(fc.property(json, json, roundTrip), { seed: 1204, numRuns: 2000 })
  })

  it('and for b derived from a as agents change state (append, edit, drop, reorder, odd names)', () => {
    fc.assert(
      fc.property(json, fc.integer(), fc.array(names, { minLength: 8, maxLength: 8 }), (a, seed, pool) => {
        let x = seed >>> 0
        const rand = () => {
          x = (Math.imul(x, 1664525) + 1013904223) >>> 0
          return x / 2 ** 32
        }
        const name = () => pool[Math.floor(rand() * pool.length)]!
        let current = { state: a, log: [a] } as unknown
        for (let i = 0; i < 5; i++) {
          const next = JSON.parse(JSON.stringify(mutate(current, rand, name)))
          roundTrip(current, next)
          current = next
        }
      }),
      { seed: 42, numRuns: 1000 },
    )
  })

  it('an array that only grew is stored as its tail', () => {
    const a = { messages: Array.from({ length: 50 }, (_, i) => ({ text: `message ${i}`.repeat(20) })) }
    const b = { messages: [...a.messages, { text: 'the new one' }] }
    expect(diff(a, b)).toEqual([2, { messages: [1, 50, [{ text: 'the new one' }]] }])
    expect(deltaText({ p: 'x', c: 'x', d: 1, b: 9, h: '0'.repeat(32), s: 0, o: diff(a, b)! }).length).toBeLessThan(150)
  })

  it('equal values have no op; member order is kept (a reordered object is replaced)', () => {
    expect(diff({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBeUndefined()
    expect(diff({ a: 1, b: 2 }, { b: 2, a: 1 })).toEqual([0, { b: 2, a: 1 }])
  })

  it('an op that does not fit its parent is ERR_CORRUPT naming the key, never a wrong value', () => {
    const cases: [unknown, unknown][] = [
      [[1], [1, 5, []]],
      [{ a: 1 }, [1, 0, []]],
      [[1], [2, {}]],
      [{ a: 1 }, [9, 1]],
      [{ a: 1 }, [2, { a: [1, 0, []] }]],
      [{ a: 1 }, [3]],
      [{ a: 1 }, 'not an op'],
    ]
    for (const [value, op] of cases) {
      expect(() => patch(value, op as never, 'the/key')).toThrow(expect.objectContaining({ code: 'ERR_CORRUPT', key: 'the/key' }))
    }
  })

  it('parseDelta: whole JSON is not a delta; a garbled delta is ERR_CORRUPT', () => {
    expect(parseDelta('{"a":1}', 'k')).toBeUndefined()
    const id = '019a0000-0000-7000-8000-000000000000'
    const h = 'ab'.repeat(16)
    const good = { p: id, c: id, d: 2, b: 90, h, s: 5, o: [0, 1] as [0, unknown] }
    expect(parseDelta(deltaText(good), 'k')).toEqual(good)
    const bad = [
      '{',
      'null',
      `{"p":"x","c":"${id}","d":2,"b":90,"h":"${h}","s":5,"o":[0,1]}`,
      `{"p":"${id}","c":"${id}","d":2,"b":90,"h":"short","s":5,"o":[0,1]}`,
      `{"p":"${id}","c":"${id}","d":2,"b":90,"h":"${h}","s":"5","o":[0,1]}`,
      `{"p":"${id}","c":"${id}","d":2.5,"b":90,"h":"${h}","s":5,"o":[0,1]}`,
      `{"p":"${id}","c":"${id}","b":90,"h":"${h}","s":5,"o":[0,1]}`,
      `{"p":"${id}","c":"${id}","d":2,"b":90,"h":"${h}","s":5,"o":1}`,
    ]
    for (const text of bad) {
      expect(() => parseDelta(DELTA_MAGIC + text, 'k')).toThrow(expect.objectContaining({ code: 'ERR_CORRUPT', key: 'k' }))
    }
  })
})
