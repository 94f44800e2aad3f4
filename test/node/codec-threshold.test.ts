import { expect, it } from 'vitest'
import { decodeJSON, encodeJSON, GZIP_MIN_BYTES, isGzip, MemoryStorage } from 'snapshelf'
import { sampleSnapshot } from 'snapshelf/testing'

// Small snapshots are stored plain (issue 18 item 2): below GZIP_MIN_BYTES of JSON text gzip
// saves too little to pay for its CPU (figures in src/core/codec.ts and the README).

/** A JSON object whose text is exactly `length` bytes. */
function objectOfLength(length: number): { pad: string } {
  return { pad: 'y'.repeat(length - '{"pad":""}'.length) }
}

it('JSON under GZIP_MIN_BYTES is stored plain, at GZIP_MIN_BYTES gzip', async () => {
  expect(GZIP_MIN_BYTES).toBe(512)
  const below = await encodeJSON(objectOfLength(GZIP_MIN_BYTES - 1), 'gzip', 1 << 20)
  expect(below.length).toBe(GZIP_MIN_BYTES - 1)
  expect(isGzip(below)).toBe(false)
  const at = await encodeJSON(objectOfLength(GZIP_MIN_BYTES), 'gzip', 1 << 20)
  expect(isGzip(at)).toBe(true)
  for (const bytes of [below, at]) expect((await decodeJSON<{ pad: string }>(bytes, 'k', 1 << 20)).pad.length).toBeGreaterThan(400)
  // compression 'none' stays plain at any size.
  expect(isGzip(await encodeJSON(objectOfLength(4096), 'none', 1 << 20))).toBe(false)
})

it('a store keeps a small snapshot plain and a large one gzip; both load', async () => {
  const storage = new MemoryStorage()
  const location = { sessionId: 's', scope: 'agent', scopeId: 'main' }
  const small = sampleSnapshot('small')
  const large = sampleSnapshot('large', { text: 'an agent said something '.repeat(40) })
  expect(JSON.stringify(small).length).toBeLessThan(GZIP_MIN_BYTES)
  await storage.saveSnapshot({ location, snapshotId: 'latest', isLatest: true, snapshot: small })
  const key = 's/scopes/agent/main/snapshots/snapshot_latest.json'
  expect(new TextDecoder().decode((await storage.backend.get(key))!.body)).toBe(JSON.stringify(small))
  expect(await storage.loadSnapshot({ location })).toEqual(small)
  await storage.saveSnapshot({ location, snapshotId: 'latest', isLatest: true, snapshot: large })
  expect(isGzip((await storage.backend.get(key))!.body)).toBe(true)
  expect(await storage.loadSnapshot({ location })).toEqual(large)
})
