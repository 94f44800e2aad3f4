import { describe, expect, it } from 'vitest'
import { MemoryBackend, MemoryStorage } from 'snapshelf'
import { TieredStorage } from 'snapshelf/tiered'

describe('TieredBackend read-through: what it agreed with the remote', () => {
  // KNOWN GAP (loud on purpose; found by test/node/genkit-lineage.test.ts, outside the Genkit
  // adapter's scope): a read-through records the key's agreed state by a read-modify-write of its
  // folder's state (tiered/state.ts recordAgreed), so parallel read-throughs of one folder lose
  // all but one record, and sync never refreshes those keys again (no agreed state, not queued):
  // the device keeps the bytes it first read. The Genkit adapter reads one snapshot at a time
  // for this reason. A fix: serialise recordAgreed per state key (in process), or record it in
  // the sync itself.
  it.fails('parallel read-throughs of one adapter folder: every key is refreshed by the next sync', async () => {
    const server = new MemoryBackend()
    const body = (v: string) => new TextEncoder().encode(JSON.stringify({ v, updatedAt: new Date().toISOString() }))
    const keys = ['a', 'b', 'c', 'd'].map((k) => `genkit/global/snapshots/${k}.json`)
    for (const key of keys) await server.put(key, body('old'))
    const device = new TieredStorage({ local: new MemoryStorage(), remote: { backend: server, prefix: '' }, retries: 0 })
    try {
      await Promise.all(keys.map((key) => device.backend.get(key)))
      await new Promise((r) => setTimeout(r, 5))
      for (const key of keys) await server.put(key, body('new'))
      await device.sync()
      const seen = await Promise.all(keys.map(async (key) => JSON.parse(new TextDecoder().decode((await device.backend.get(key))!.body)).v))
      expect(seen).toEqual(['new', 'new', 'new', 'new'])
    } finally {
      device.close()
    }
  })
})
