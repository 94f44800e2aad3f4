import { describe, expect, it } from 'vitest'
import { MemoryBackend, MemoryStorage, RemoteError, type Backend, type Snapshot, type SnapshotLocation } from 'snapshelf'
import { TieredStorage } from 'snapshelf/tiered'
import { prng } from '../helpers/random.js'

// Delta history across tiers (issue 15): a device writes deltas offline, prunes, syncs; another
// device pulls them, and a pull cut short at any point (a tab closed mid-sync, the network gone)
// leaves only snapshots that load exactly with the network off: parents and whole copies land
// before what is built on them. Cut points are seeded, so a failure replays.

/**
 * The remote, real memory behind a link that drops after `budget` more GETs (or `writes` more
 * puts and deletes), then stays down.
 */
function remoteLink(inner: Backend) {
  const state = { offline: false, budget: Infinity, writes: Infinity }
  const gate =
    <A extends unknown[], R>(name: string, f: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      if (name === 'get' && state.budget-- <= 0) state.offline = true
      if ((name === 'put' || name === 'delete') && state.writes-- <= 0) state.offline = true
      if (state.offline) throw new RemoteError('network error (offline)', { status: 0 })
      return f(...a)
    }
  const backend: Backend = {
    get: gate('get', inner.get.bind(inner)),
    head: gate('head', inner.head.bind(inner)),
    put: gate('put', inner.put.bind(inner)),
    delete: gate('delete', inner.delete.bind(inner)),
    list: gate('list', inner.list.bind(inner)),
  }
  return { backend, state }
}

/** A conversation of a few KB that grows a turn per call: each history object is a delta. */
function conversation(seed: number) {
  const rand = prng(seed)
  const messages: { role: string; text: string }[] = []
  return (turn: number): Snapshot => {
    const words = Array.from({ length: 120 }, () => Math.floor(rand() * 5000).toString(36)).join(' ')
    messages.push({ role: turn % 2 ? 'assistant' : 'user', text: `${turn}: ${words}` })
    return {
      scope: 'agent',
      schemaVersion: '1.0',
      createdAt: `2026-12-04T00:00:${String(turn).padStart(2, '0')}Z`,
      data: { messages: structuredClone(messages) },
      appData: {},
    }
  }
}

import { BackendSnapshotStore } from 'snapshelf'

async function expectLoads(store: TieredStorage, location: SnapshotLocation, saved: Map<string, string>, ids: string[]) {
  for (const id of ids) expect(JSON.stringify(await store.loadSnapshot({ location, snapshotId: id })), id).toBe(saved.get(id))
}

describe('delta history on TieredStorage', () => {
  it('written offline, pruned and synced on one device; pulled by another, cut short anywhere: what landed loads offline', async () => {
    const remote = new MemoryBackend()
    const location = { sessionId: 'trip', scope: 'agent', scopeId: 'main' }
    const aLink = remoteLink(remote)
    const writer = new TieredStorage({ local: new MemoryStorage(), remote: aLink.backend, retries: 0 })
    const next = conversation(15)
    const saved = new Map<string, string>()
    aLink.state.offline = true
    for (let turn = 0; turn < 14; turn++) {
      const snapshot = next(turn)
      saved.set((await writer.commitSnapshot({ location, snapshot })).snapshotId, JSON.stringify(snapshot))
    }
    const sizes = (await writer.listSnapshots({ location })).items.map((i) => i.storedBytes)
    // Deltas: the newest stores about a turn, not the 14 turns it holds.
    expect(sizes.at(-1)! * 4).toBeLessThan([...saved.values()].at(-1)!.length)
    expect(await writer.prune({ location, keepLast: 8 })).toBe(6)
    const kept = (await writer.listSnapshotIds({ location })).slice()
    aLink.state.offline = false
    await writer.sync()
    writer.close()

    const rand = prng(1204)
    for (let run = 0; run < 12; run++) {
      const link = remoteLink(remote)
      const reader = new TieredStorage({ local: new MemoryStorage(), remote: link.backend, retries: 0 })
      link.state.budget = run === 0 ? Infinity : Math.floor(rand() * 12)
      await reader.hydrate({ location }).catch(() => {})
      link.state.offline = true
      const landed = await reader.listSnapshotIds({ location })
      expect(kept.slice(0, landed.length), `run ${run}: pulled oldest first`).toEqual(landed)
      await expectLoads(reader, location, saved, landed)
      if (run === 0) expect(landed).toEqual(kept)
      link.state.offline = false
      link.state.budget = Infinity
      await reader.hydrate({ location })
      link.state.offline = true
      await expectLoads(reader, location, saved, kept)
      expect(JSON.stringify(await reader.loadSnapshot({ location }))).toBe(saved.get(kept.at(-1)!))
      reader.close()
    }
  })

  it('a prune pushed with the link cut at any point: the remote holds only snapshots that load exactly', async () => {
    const rand = prng(2026)
    for (let run = 0; run < 16; run++) {
      const remote = new MemoryBackend()
      const link = remoteLink(remote)
      const device = new TieredStorage({ local: new MemoryStorage(), remote: link.backend, retries: 0 })
      const location = { sessionId: `prune-${run}`, scope: 'agent', scopeId: 'main' }
      const next = conversation(run)
      const saved = new Map<string, string>()
      for (let turn = 0; turn < 12; turn++) {
        const snapshot = next(turn)
        saved.set((await device.commitSnapshot({ location, snapshot })).snapshotId, JSON.stringify(snapshot))
      }
      await device.sync()
      await device.prune({ location, keepLast: 1 + Math.floor(rand() * 6) })
      link.state.writes = Math.floor(rand() * 16)
      await device.sync().catch(() => {})
      // What the remote lists now (some deletes pushed, some not) must load, each exactly.
      const server = new BackendSnapshotStore<Snapshot>({ backend: remote })
      for (const id of await server.listSnapshotIds({ location })) {
        expect(JSON.stringify(await server.loadSnapshot({ location, snapshotId: id })), `run ${run}, ${id}`).toBe(saved.get(id))
      }
      link.state.offline = false
      link.state.writes = Infinity
      await device.sync()
      const kept = await device.listSnapshotIds({ location })
      expect(await server.listSnapshotIds({ location })).toEqual(kept)
      for (const id of kept) expect(JSON.stringify(await server.loadSnapshot({ location, snapshotId: id }))).toBe(saved.get(id))
      device.close()
    }
  })
})
