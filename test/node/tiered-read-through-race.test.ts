import { describe, expect, it } from 'vitest'
import { MemoryBackend, MemoryStorage } from 'snapshelf'
import { TieredStorage } from 'snapshelf/tiered'

describe('TieredBackend read-through: what it agreed with the remote', () => {
  // Found by the Genkit lineage interleaving test (test/node/genkit-lineage.test.ts): a read-through
  // records the key's agreed state in its folder's state, which parallel read-throughs of one folder
  // (and a sync of it) used to overwrite whole, so all but one record was lost and sync never
  // refreshed those keys again. The folder state is now changed by compare-and-swap, slot by slot.
  it('parallel read-throughs of one adapter folder: every key is refreshed by the next sync', async () => {
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

  it('a read-through during a sync of the same folder keeps its record (the sync stores only the slots it changed)', async () => {
    const server = new MemoryBackend()
    const body = (v: string) => new TextEncoder().encode(JSON.stringify({ v, updatedAt: new Date().toISOString() }))
    const keys = Array.from({ length: 12 }, (_, i) => `genkit/global/snapshots/k${i}.json`)
    for (const key of keys) await server.put(key, body('old'))
    const device = new TieredStorage({ local: new MemoryStorage(), remote: { backend: server, prefix: '' }, retries: 0 })
    try {
      await device.backend.get(keys[0]!)
      // A sync (reconciling k0's folder) and read-throughs of the others, at once.
      await Promise.all([device.sync(), ...keys.slice(1).map((key) => device.backend.get(key))])
      await new Promise((r) => setTimeout(r, 5))
      for (const key of keys) await server.put(key, body('new'))
      await device.sync()
      const seen = await Promise.all(keys.map(async (key) => JSON.parse(new TextDecoder().decode((await device.backend.get(key))!.body)).v))
      expect(seen).toEqual(keys.map(() => 'new'))
    } finally {
      device.close()
    }
  })
})
