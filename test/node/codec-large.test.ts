import { gunzipSync, gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { expect, it } from 'vitest'
import { decodeJSON, encodeJSON, isGzip, MemoryStorage } from 'snapshelf'
import { JsonReader } from '../../src/core/codec.js'

// Large snapshots (issue 18 item 3): a plain object with many entries, or whose text passes 1 Mi
// UTF-16 units, is written piece by piece straight into gzip instead of stringified whole, and
// gzip is decoded to text as it inflates. What is stored must not change: the same JSON text, the
// same gzip format, the same errors. (The memory itself is measured by bench/memory.bench.mjs:
// a test cannot assert a peak without timing or sampling, which is noise on a shared machine.)

const MAX = 64 << 20

/** The text stored for `value`, gunzipped: what any reader sees. */
async function storedText(value: unknown, maxBytes = MAX): Promise<string> {
  const bytes = await encodeJSON(value, 'gzip', maxBytes)
  expect(isGzip(bytes)).toBe(true)
  return gunzipSync(bytes).toString('utf8')
}

/** An agent conversation of `turns` turns (4 messages each): many entries, the walked path. */
function conversation(turns: number): { scope: 'agent'; data: { messages: unknown[] }; appData: object } {
  const messages: unknown[] = []
  for (let i = 0; i < turns; i++) {
    messages.push(
      { role: 'user', content: [{ text: `Where is order #${i}? ünïcødé 😀 "quoted" \\ back\nslash` }] },
      { role: 'assistant', content: [{ toolUse: { toolUseId: `t${i}`, name: 'lookup', input: { id: i } } }] },
      {
        role: 'user',
        content: [{ toolResult: { toolUseId: `t${i}`, status: 'success', content: [{ json: { id: i, ok: i % 2 === 0 } }] } }],
      },
      { role: 'assistant', content: [{ text: `Order #${i} ships ${i % 3 ? 'today' : 'tomorrow'}.` }] },
    )
  }
  return { scope: 'agent' as const, data: { messages }, appData: {} }
}

it('a snapshot of many messages is stored as exactly JSON.stringify writes it, and loads equal', async () => {
  const value = conversation(20_000)
  const text = await storedText(value)
  expect(text.length).toBeGreaterThan(4 << 20)
  expect(text).toBe(JSON.stringify(value))
  expect(await decodeJSON(await encodeJSON(value, 'gzip', MAX), 'k', MAX)).toEqual(value)
})

it('a snapshot of few entries but over 1 Mi units of text is stored the same, surrogate pairs intact across pieces', async () => {
  // Pieces are 64 Ki UTF-16 units: the text `{"p":"` + 65,529 × a puts a high surrogate exactly at
  // the end of the first piece (index 65,535), and every later boundary falls inside the emoji too.
  const value = { p: `${'a'.repeat(65_529)}${'😀'.repeat(600_000)}`, q: 'ünïcødé' }
  const text = await storedText(value)
  expect(text.charCodeAt(65_535) & 0xfc00).toBe(0xd800)
  expect(text).toBe(JSON.stringify(value))
  expect(text).not.toContain('\ufffd')
})

it('the walked text equals JSON.stringify for arbitrary values (toJSON with its key, holes, undefined, dates, boxed values)', async () => {
  // A pad of 4,096 entries sends the value down the walked path whatever `x` holds.
  const pad = Array.from({ length: 4096 }, (_, i) => i)
  await fc.assert(
    fc.asyncProperty(
      fc.dictionary(
        fc.string(),
        fc.anything({
          withBoxedValues: true,
          withDate: true,
          withMap: true,
          withSet: true,
          withNullPrototype: true,
          withSparseArray: true,
          withUnicodeString: true,
          withTypedArray: true,
          withObjectString: true,
        }),
      ),
      async (x) => {
        const value = { pad, x, list: [x, undefined, () => 1, Symbol('s')], deep: { a: { b: x } } }
        expect(await storedText(value)).toBe(JSON.stringify(value))
      },
    ),
    { numRuns: 200 },
  )
  // A toJSON is called with its own key, as JSON.stringify calls it, in objects and in arrays.
  const keyed = { toJSON: (key: string) => `key:${key}` }
  const value = { pad, list: Array.from({ length: 3 }, () => keyed), named: { first: keyed, gone: { toJSON: () => undefined } } }
  const text = await storedText(value)
  expect(text).toBe(JSON.stringify(value))
  expect(text).toContain('["key:0","key:1","key:2"]')
  expect(text).toContain('{"first":"key:first"}')
})

it('the walked path refuses what JSON.stringify refuses (a cycle, a BigInt, a throwing toJSON) with ERR_VALIDATION', async () => {
  const cyclic = conversation(2000) as { data: { messages: unknown[]; self?: unknown } }
  cyclic.data.self = cyclic.data
  const deepCycle = conversation(2000) as { data: { messages: { content: unknown[] }[] } }
  deepCycle.data.messages[1500]!.content.push(deepCycle)
  const bigint = conversation(2000) as { data: { messages: unknown[] } }
  bigint.data.messages.push({ n: 1n })
  const throwing = conversation(2000) as { data: { messages: unknown[] } }
  throwing.data.messages.push({
    toJSON() {
      throw new Error('no')
    },
  })
  for (const value of [cyclic, deepCycle, bigint, throwing]) {
    await expect(encodeJSON(value, 'gzip', MAX)).rejects.toMatchObject({ code: 'ERR_VALIDATION', field: 'snapshot' })
  }
})

it('past maxBytes a large snapshot is ERR_TOO_LARGE, counted in UTF-8 bytes, on both large paths', async () => {
  const many = conversation(5000)
  const bytes = JSON.stringify(many).length
  await expect(encodeJSON(many, 'gzip', bytes - 1)).rejects.toMatchObject({ code: 'ERR_TOO_LARGE' })
  // 1.2 Mi units of text but 3.6 MB of UTF-8: within maxBytes by its length, past it by its bytes.
  const wide = { p: '€'.repeat(1_200_000) }
  await expect(encodeJSON(wide, 'gzip', 3_000_000)).rejects.toMatchObject({ code: 'ERR_TOO_LARGE' })
  expect(isGzip(await encodeJSON(wide, 'gzip', 4_000_000))).toBe(true)
})

it('decoding large gzip keeps its errors: bad UTF-8 and truncation are ERR_CORRUPT, a bomb ERR_TOO_LARGE', async () => {
  const raw = Buffer.from(JSON.stringify(conversation(10_000)))
  const bad = Buffer.from(raw)
  bad[bad.length >> 1] = 0xff
  await expect(decodeJSON(gzipSync(bad), 'k', MAX)).rejects.toMatchObject({ code: 'ERR_CORRUPT', message: 'k is not valid UTF-8 JSON' })
  const stored = gzipSync(raw)
  await expect(decodeJSON(stored.subarray(0, stored.length - 100), 'k', MAX)).rejects.toMatchObject({
    code: 'ERR_CORRUPT',
    message: 'k is not valid gzip',
  })
  await expect(decodeJSON(stored, 'k', raw.length - 1)).rejects.toMatchObject({ code: 'ERR_TOO_LARGE' })
  expect(await decodeJSON(stored, 'k', raw.length)).toMatchObject({ scope: 'agent' })
  // A UTF-8 sequence cut by the end of the text is refused too.
  await expect(decodeJSON(gzipSync(Buffer.concat([raw, Buffer.from([0xe2, 0x82])])), 'k', MAX)).rejects.toMatchObject({
    code: 'ERR_CORRUPT',
  })
})

it('a store saves and loads a large snapshot, and compression none stays plain JSON', async () => {
  const storage = new MemoryStorage()
  const location = { sessionId: 's', scope: 'agent', scopeId: 'main' }
  const snapshot = { ...conversation(10_000), schemaVersion: '1.0', createdAt: new Date(0).toISOString() }
  await storage.saveSnapshot({ location, snapshotId: 'latest', isLatest: true, snapshot: snapshot as never })
  expect(await storage.loadSnapshot({ location })).toEqual(snapshot)
  const plain = await encodeJSON(snapshot, 'none', MAX)
  expect(isGzip(plain)).toBe(false)
  expect(new TextDecoder().decode(plain)).toBe(JSON.stringify(snapshot))
})

/** `text` read by a JsonReader in pieces cut at `cuts` (positions, any order). */
function readInPieces(text: string, cuts: number[]): unknown {
  const reader = new JsonReader()
  let at = 0
  for (const cut of [...new Set(cuts)].sort((a, b) => a - b)) {
    reader.push(text.slice(at, cut))
    at = cut
  }
  reader.push(text.slice(at))
  return reader.end()
}

/** JSON.parse's verdict on `text`: its value, or that it threw a SyntaxError. */
function parsed(read: () => unknown): { value: unknown } | { error: string } {
  try {
    return { value: read() }
  } catch (error) {
    return { error: (error as Error).name }
  }
}

it('JsonReader reads what JSON.parse reads, and refuses what it refuses, however the text is cut', () => {
  const texts = fc.oneof(
    fc.json(),
    fc.json().map((j) => JSON.stringify(JSON.parse(j), null, 2)),
    fc.jsonValue().map((v) => JSON.stringify({ __proto__: v, a: [v, { __proto__: v }], b: { c: { d: [v] } } }, null, '\t')),
  )
  // Also broken texts: one character dropped, or one of JSON's own inserted anywhere.
  const broken = fc
    .tuple(texts, fc.nat(), fc.constantFrom('', ',', ':', '{', '}', '[', ']', '"', ' ', 'x', '\\', '1', '\u00a0'))
    .map(([text, at, insert]) => {
      const i = at % (text.length + 1)
      return insert === '' ? text.slice(0, i) + text.slice(i + 1) : text.slice(0, i) + insert + text.slice(i)
    })
  fc.assert(
    fc.property(fc.oneof(texts, broken), fc.array(fc.nat(), { maxLength: 8 }), (text, cuts) => {
      const expected = parsed(() => JSON.parse(text))
      const got = parsed(() =>
        readInPieces(
          text,
          cuts.map((c) => c % (text.length + 1)),
        ),
      )
      expect(got).toEqual(expected)
      if ('value' in expected && typeof expected.value === 'object' && expected.value !== null)
        expect(Object.getPrototypeOf((got as { value: object }).value)).toBe(Object.getPrototypeOf(expected.value))
    }),
    { numRuns: 3000 },
  )
  // `__proto__` is a key like any other (JSON.parse defines it; assigning it would set the prototype).
  const own = readInPieces('{"a":{"__proto__":{"polluted":1}}}', [5, 9]) as { a: object }
  expect(Object.keys(own.a)).toEqual(['__proto__'])
  expect(Object.getPrototypeOf(own.a)).toBe(Object.prototype)
})

it('a large gzip is parsed as it inflates: the same value as JSON.parse, its errors unchanged', async () => {
  const value = conversation(15_000)
  const text = JSON.stringify(value)
  const stored = gzipSync(text)
  expect(stored.readUInt32LE(stored.length - 4)).toBeGreaterThan(1 << 20)
  expect(await decodeJSON(stored, 'k', MAX)).toEqual(JSON.parse(text))
  // Cut short, broken where the walked levels are read, inside a message, or after the root: ERR_CORRUPT.
  const middle = text.indexOf('"role"', text.length >> 1)
  for (const bad of [
    text.slice(0, -1),
    text.replace('"messages":[', '"messages":[}'),
    `${text.slice(0, middle)}:${text.slice(middle)}`,
    `${text}x`,
  ]) {
    expect(() => JSON.parse(bad)).toThrow(SyntaxError)
    await expect(decodeJSON(gzipSync(bad), 'k', MAX)).rejects.toMatchObject({ code: 'ERR_CORRUPT', message: 'k is not valid UTF-8 JSON' })
  }
})
