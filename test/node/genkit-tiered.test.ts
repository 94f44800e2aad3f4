import { describe, expect, it } from 'vitest'
import { MemoryBackend, MemoryStorage } from 'snapshelf'
import { GenkitSessionStore } from 'snapshelf/genkit'
import { TieredStorage } from 'snapshelf/tiered'
import { genkitAgent } from '../helpers/genkit-agent.js'
import { link } from '../helpers/offline-link.js'

describe('GenkitSessionStore on TieredStorage: offline, then synced, lineage intact', () => {
  it('an agent runs offline on one device; after sync another device resumes the session with its whole lineage', async () => {
    const server = new MemoryBackend()
    const remoteA = link(server)
    const deviceA = new TieredStorage({ local: new MemoryStorage(), remote: remoteA, retries: 0 })
    remoteA.state.offline = true
    const a = genkitAgent(new GenkitSessionStore({ storage: deviceA }), 'chat-a')
    const t1 = await a.runTurn({ sessionId: 'trip' }, 'one')
    const t2 = await a.runTurn({ sessionId: 'trip' }, 'two')
    const t3 = await a.runTurn({ snapshotId: t1.snapshotId }, 'branch')
    expect((await server.list('')).entries).toEqual([])

    remoteA.state.offline = false
    const result = await deviceA.sync()
    expect(result).toBeDefined()
    expect(deviceA.status.pending).toBe(0)

    // The server itself, read directly, and a second device with an empty local tier.
    const onServer = new GenkitSessionStore({ storage: { backend: server, prefix: '' } })
    const deviceB = new TieredStorage({ local: new MemoryStorage(), remote: { backend: server, prefix: '' }, retries: 0 })
    const onB = new GenkitSessionStore({ storage: deviceB })
    for (const store of [onServer, onB]) {
      expect((await store.getSnapshot({ sessionId: 'trip' }))?.snapshotId).toBe(t3.snapshotId)
      expect((await store.listSessionSnapshots('trip')).map((s) => [s.snapshotId, s.parentId ?? null, s.status])).toEqual([
        [t1.snapshotId, null, 'completed'],
        [t2.snapshotId, t1.snapshotId, 'completed'],
        [t3.snapshotId, t1.snapshotId, 'completed'],
      ])
    }
    const b = genkitAgent(onB, 'chat-b')
    const resumed = await b.runTurn({ snapshotId: t2.snapshotId }, 'three')
    const latest = await onB.getSnapshot({ snapshotId: resumed.snapshotId! })
    expect(latest?.parentId).toBe(t2.snapshotId)
    expect(latest?.state?.messages?.map((m) => m.content[0]?.text)).toEqual([
      'one',
      'echo 1: one',
      'two',
      'echo 2: two',
      'three',
      'echo 1: three',
    ])
    await deviceB.sync()
    expect((await onServer.getSnapshot({ sessionId: 'trip' }))?.snapshotId).toBe(resumed.snapshotId)
    // Erasure on a device travels with sync: every key the session wrote leaves the server.
    await onB.deleteSession('trip')
    await deviceB.sync()
    expect((await server.list('genkit/')).entries).toEqual([])
    expect(await onServer.getSnapshot({ sessionId: 'trip' })).toBeUndefined()
    deviceA.close()
    deviceB.close()
  })

  // Two devices extend the SAME session while both are offline. The session's summary is one
  // compare-and-swap key, which Tiered sync reconciles winner-takes-all; the lineage entries
  // (`sessions/<sid>/<snapshotId>~<rev>~in.json`) are create-only, so sync unions them, and a
  // reader that finds an entry the summary does not account for reads that snapshot and rewrites
  // the summary. (Failed before the entries existed: the losing device's snapshot dropped out.)
  it('two devices extending one session offline: both devices’ snapshots stay in the session index after sync', async () => {
    const server = new MemoryBackend()
    const seed = new GenkitSessionStore({ storage: { backend: server, prefix: '' } })
    const root = await seed.saveSnapshot('root', () => ({
      sessionId: 'shared',
      createdAt: '2026-12-02T10:00:00.000Z',
      status: 'completed',
    }))
    const devices = [link(server), link(server)].map((remote) => ({
      remote,
      tiered: new TieredStorage({ local: new MemoryStorage(), remote, retries: 0 }),
    }))
    for (const { remote, tiered } of devices) {
      const store = new GenkitSessionStore({ storage: tiered })
      await store.getSnapshot({ sessionId: 'shared' }) // both devices cache the index while online
      remote.state.offline = true
    }
    for (const [i, { tiered }] of devices.entries()) {
      await new GenkitSessionStore({ storage: tiered }).saveSnapshot(`from-${i}`, () => ({
        sessionId: 'shared',
        parentId: root!,
        createdAt: `2026-12-02T10:00:0${i + 1}.000Z`,
        status: 'completed',
      }))
    }
    for (const { remote, tiered } of devices) {
      remote.state.offline = false
      await tiered.sync()
    }
    expect((await seed.listSessionSnapshots('shared')).map((s) => s.snapshotId).sort()).toEqual(['from-0', 'from-1', 'root'])
    expect((await seed.getSnapshot({ sessionId: 'shared' }))?.snapshotId).toBe('from-1')
    // Every device sees both, and erasure on one of them reaches every key of the session.
    for (const { tiered } of devices) {
      const store = new GenkitSessionStore({ storage: tiered })
      expect((await store.listSessionSnapshots('shared')).map((s) => s.snapshotId).sort()).toEqual(['from-0', 'from-1', 'root'])
    }
    await new GenkitSessionStore({ storage: devices[0]!.tiered }).deleteSession('shared')
    await devices[0]!.tiered.sync()
    expect((await server.list('genkit/')).entries).toEqual([])
    for (const { tiered } of devices) tiered.close()
  })
})
