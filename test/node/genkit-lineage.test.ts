import type { SessionSnapshot, SessionSnapshotInput } from 'genkit/beta'
import { InMemorySessionStore } from 'genkit/beta'
import { describe, expect, it } from 'vitest'
import { AuthError, type Backend, MemoryBackend, MemoryStorage } from 'snapshelf'
import { GenkitSessionStore, genkitLineageKey, genkitLineagePrefix, genkitSessionKey, genkitSnapshotKey } from 'snapshelf/genkit'
import { TieredStorage } from 'snapshelf/tiered'
import { RecordingBackend } from '../helpers/recording-backend.js'
import { link } from '../helpers/offline-link.js'
import { prng } from '../helpers/random.js'

/**
 * The Genkit adapter's lineage (issue 12): create-only entries per session
 * (`sessions/<sid>/<snapshotId>~<rev>~in|out.json`) that Tiered sync unions, beside the CAS
 * summary (`sessions/<sid>.json`), a cache a reader trusts only when it agrees with them.
 */

const turn = (sessionId: string, parentId: string | undefined, createdAt: string): SessionSnapshotInput => ({
  sessionId,
  parentId,
  createdAt,
  status: 'completed',
})

describe('Genkit lineage: what each call costs (requests to the backend)', () => {
  it('leaf lookup is 3 requests, a new turn 5, a status change 5, a heartbeat 4 (no lineage entry)', async () => {
    const backend = new RecordingBackend()
    const store = new GenkitSessionStore({ storage: { backend, prefix: '' } })
    let parent: string | undefined
    for (let i = 0; i < 5; i++) parent = (await store.saveSnapshot(undefined, () => turn('s', parent, `2026-12-02T10:00:0${i}.000Z`)))!
    backend.calls.length = 0
    expect((await store.getSnapshot({ sessionId: 's' }))?.snapshotId).toBe(parent)
    expect(backend.calls).toEqual([
      `list ${genkitLineagePrefix('', 'global', 's')} after= limit=1000`,
      `get ${genkitSessionKey('', 'global', 's')}`,
      `get ${genkitSnapshotKey('', 'global', parent!)}`,
    ])
    backend.calls.length = 0
    const next = (await store.saveSnapshot('t6', () => turn('s', parent, '2026-12-02T10:00:06.000Z')))!
    expect(backend.calls).toEqual([
      `get ${genkitSnapshotKey('', 'global', next)}`,
      `put ${genkitLineageKey('', 'global', 's', next, 1, 'in')}`,
      `put ${genkitSnapshotKey('', 'global', next)}`,
      `get ${genkitSessionKey('', 'global', 's')}`,
      `put ${genkitSessionKey('', 'global', 's')}`,
    ])
    backend.calls.length = 0
    await store.saveSnapshot(next, (current) => ({ ...current!, status: 'pending' }))
    expect(backend.calls).toEqual([
      `get ${genkitSnapshotKey('', 'global', next)}`,
      `put ${genkitLineageKey('', 'global', 's', next, 2, 'in')}`,
      `put ${genkitSnapshotKey('', 'global', next)}`,
      `get ${genkitSessionKey('', 'global', 's')}`,
      `put ${genkitSessionKey('', 'global', 's')}`,
    ])
    backend.calls.length = 0
    await store.saveSnapshot(next, (current) => ({ ...current!, heartbeatAt: new Date().toISOString() }))
    expect(backend.calls.map((c) => c.split(' ')[0])).toEqual(['get', 'put', 'get', 'put'])
    expect(backend.calls.some((c) => c.includes('~'))).toBe(false)
  })
})

describe('Genkit lineage: entries beside the summary', () => {
  it('a move between sessions leaves an out entry; a reader whose summary missed it follows the entries', async () => {
    const backend = new MemoryBackend()
    const store = new GenkitSessionStore({ storage: { backend, prefix: '' } })
    await store.saveSnapshot('a', () => turn('s', undefined, '2026-12-02T10:00:00.000Z'))
    await store.saveSnapshot('b', () => turn('s', 'a', '2026-12-02T10:00:01.000Z'))
    const stale = (await backend.get(genkitSessionKey('', 'global', 's')))!.body
    await store.saveSnapshot('b', (current) => ({ ...current!, sessionId: 't' }))
    expect(await backend.get(genkitLineageKey('', 'global', 's', 'b', 2, 'out'))).not.toBeNull()
    expect(await backend.get(genkitLineageKey('', 'global', 't', 'b', 2, 'in'))).not.toBeNull()
    // The summary set back to before the move (what a lost sync race leaves): the out entry wins.
    await backend.put(genkitSessionKey('', 'global', 's'), stale)
    expect((await store.getSnapshot({ sessionId: 's' }))?.snapshotId).toBe('a')
    expect((await store.listSessionSnapshots('s')).map((e) => e.snapshotId)).toEqual(['a'])
    expect((await store.listSessionSnapshots('t')).map((e) => e.snapshotId)).toEqual(['b'])
    // The summary was rewritten: the next lookup trusts it again (no snapshot read beyond the leaf).
    const recorded = new RecordingBackend()
    for (const { key } of (await backend.list('')).entries) await recorded.put(key, (await backend.get(key))!.body)
    const again = new GenkitSessionStore({ storage: { backend: recorded, prefix: '' } })
    recorded.calls.length = 0
    await again.getSnapshot({ sessionId: 's' })
    expect(recorded.calls.filter((c) => c.startsWith('get '))).toHaveLength(2)
    // Erasing s leaves b (now t's) and t's entries alone.
    await store.deleteSession('s')
    expect((await backend.list('')).entries.map((e) => e.key).sort()).toEqual(
      [genkitSnapshotKey('', 'global', 'b'), genkitSessionKey('', 'global', 't'), genkitLineageKey('', 'global', 't', 'b', 2, 'in')].sort(),
    )
  })

  it('a change of what the leaf rule or the listing reads (createdAt, parentId, status) leaves an in entry; a heartbeat none', async () => {
    const backend = new MemoryBackend()
    const store = new GenkitSessionStore({ storage: { backend, prefix: '' } })
    await store.saveSnapshot('a', () => turn('s', undefined, '2026-12-02T10:00:00.000Z'))
    await store.saveSnapshot('b', () => turn('s', 'a', '2026-12-02T10:00:01.000Z'))
    await store.saveSnapshot('c', () => turn('s', 'a', '2026-12-02T10:00:02.000Z'))
    expect((await store.getSnapshot({ sessionId: 's' }))?.snapshotId).toBe('c')
    const stale = (await backend.get(genkitSessionKey('', 'global', 's')))!.body
    await store.saveSnapshot('b', (current) => ({ ...current!, createdAt: '2026-12-02T10:00:03.000Z' }))
    await store.saveSnapshot('c', (current) => ({ ...current!, heartbeatAt: '2026-12-02T10:00:05.000Z' }))
    expect(await backend.get(genkitLineageKey('', 'global', 's', 'b', 2, 'in'))).not.toBeNull()
    expect(await backend.get(genkitLineageKey('', 'global', 's', 'c', 2, 'in'))).toBeNull()
    await backend.put(genkitSessionKey('', 'global', 's'), stale)
    expect((await store.getSnapshot({ sessionId: 's' }))?.snapshotId).toBe('b')
    await store.saveSnapshot('a', (current) => ({ ...current!, status: 'aborted' }))
    await backend.put(genkitSessionKey('', 'global', 's'), stale)
    expect((await store.listSessionSnapshots('s')).find((e) => e.snapshotId === 'a')?.status).toBe('aborted')
    await store.saveSnapshot('c', (current) => ({ ...current!, parentId: 'b' }))
    await backend.put(genkitSessionKey('', 'global', 's'), stale)
    expect((await store.getSnapshot({ sessionId: 's' }))?.snapshotId).toBe('c')
  })

  it('a reader that cannot rewrite the summary (read-only credentials) still answers from the entries', async () => {
    const backend = new MemoryBackend()
    const store = new GenkitSessionStore({ storage: { backend, prefix: '' } })
    await store.saveSnapshot('a', () => turn('s', undefined, '2026-12-02T10:00:00.000Z'))
    const stale = (await backend.get(genkitSessionKey('', 'global', 's')))!.body
    await store.saveSnapshot('b', () => turn('s', 'a', '2026-12-02T10:00:01.000Z'))
    await backend.put(genkitSessionKey('', 'global', 's'), stale)
    const readOnly: Backend = {
      get: backend.get.bind(backend),
      head: backend.head.bind(backend),
      list: backend.list.bind(backend),
      delete: () => Promise.reject(new AuthError('read-only', { status: 403 })),
      put: () => Promise.reject(new AuthError('read-only', { status: 403 })),
    }
    const reader = new GenkitSessionStore({ storage: { backend: readOnly, prefix: '' } })
    expect((await reader.getSnapshot({ sessionId: 's' }))?.snapshotId).toBe('b')
    expect((await reader.listSessionSnapshots('s')).map((e) => e.snapshotId)).toEqual(['a', 'b'])
    // Its writes still fail loudly.
    await expect(reader.saveSnapshot('c', () => turn('s', 'b', '2026-12-02T10:00:02.000Z'))).rejects.toMatchObject({
      status: 'PERMISSION_DENIED',
    })
  })

  it('a store from before lineage entries (summary only, placeholders included) stays readable, and erasable once written to', async () => {
    const backend = new MemoryBackend()
    // Plain JSON, so the test can write the summary as the adapter used to.
    const store = new GenkitSessionStore({ storage: { backend, prefix: '', compression: 'none' } })
    await store.saveSnapshot('a', () => turn('old', undefined, '2026-12-02T10:00:00.000Z'))
    await store.saveSnapshot('b', () => turn('old', 'a', '2026-12-02T10:00:01.000Z'))
    // As the adapter wrote it before: no entries folder, and 'b' still a placeholder.
    await backend.delete((await backend.list(genkitLineagePrefix('', 'global', 'old'))).entries.map((e) => e.key))
    const key = genkitSessionKey('', 'global', 'old')
    const index = JSON.parse(new TextDecoder().decode((await backend.get(key))!.body)) as { entries: { id: string }[] }
    index.entries = index.entries.map((e) => (e.id === 'b' ? { id: 'b', rev: 0 } : e))
    await backend.put(key, new TextEncoder().encode(JSON.stringify(index)))
    expect((await store.getSnapshot({ sessionId: 'old' }))?.snapshotId).toBe('b')
    expect((await store.listSessionSnapshots('old')).map((e) => [e.snapshotId, e.parentId])).toEqual([
      ['a', undefined],
      ['b', 'a'],
    ])
    await store.saveSnapshot('c', () => turn('old', 'b', '2026-12-02T10:00:02.000Z'))
    expect((await store.getSnapshot({ sessionId: 'old' }))?.snapshotId).toBe('c')
    await store.deleteSession('old')
    expect((await backend.list('')).entries).toEqual([])
  })
})

const SESSIONS = ['chat-a', 'chat-b', 'chat-c']
// Few distinct createdAt values, so leaves tie and Genkit's first-saved tie-break is exercised.
const TIMES = ['2026-12-02T10:00:00.000Z', '2026-12-02T10:00:01.000Z', '2026-12-02T10:00:02.000Z']
const STATUSES = ['pending', 'completed', 'aborted', 'failed'] as const

/**
 * One seeded run: 3 Tiered devices over one MemoryBackend remote; random offline/online, new
 * snapshots (parents anywhere), mutations (status, a move to another session, a new `createdAt`:
 * what the leaf rule reads), reads (which rewrite summaries that disagree) and syncs. Every save
 * also goes, as the exact snapshot written, to Genkit's `InMemorySessionStore`, in the same order.
 * Saves are 2 ms apart, so the sync's winner rule for one key (the later `updatedAt`) orders them
 * as the reference does. Each snapshot is mutated only by the device that created it (a turn is run
 * by one agent): two devices rewriting one snapshot offline at the same revision is the known limit
 * (README, With Genkit). Measured with any device mutating any snapshot it can read: every snapshot
 * still agrees by id, but 1 seed in 30 (seed 5: a move on one device, a status write on the other's
 * stale copy winning the sync) leaves the lineage following the losing write. There is no
 * deleteSnapshot: neither Genkit's `SessionStore` nor ours has one.
 */
async function interleaving(seed: number, steps: number): Promise<void> {
  const rand = prng(seed)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!
  const server = new MemoryBackend()
  const devices = [0, 1, 2].map(() => {
    const remote = link(server)
    const tiered = new TieredStorage({ local: new MemoryStorage(), remote, retries: 0 })
    return { remote, tiered, store: new GenkitSessionStore({ storage: tiered }), own: [] as string[] }
  })
  const reference = new InMemorySessionStore()
  const ids: string[] = []
  const log: string[] = []
  const save = async (
    device: (typeof devices)[number],
    id: string,
    write: (current: SessionSnapshot | undefined) => SessionSnapshotInput,
  ) => {
    await new Promise((r) => setTimeout(r, 2))
    let written: SessionSnapshotInput | undefined
    await device.store.saveSnapshot(id, (current) => {
      written = write(current)
      return written
    })
    await reference.saveSnapshot(id, () => structuredClone(written!))
  }
  try {
    for (let step = 0; step < steps; step++) {
      const d = Math.floor(rand() * devices.length)
      const device = devices[d]!
      const r = rand()
      if (r < 0.15) {
        device.remote.state.offline = !device.remote.state.offline
        log.push(`${step}: device ${d} ${device.remote.state.offline ? 'offline' : 'online'}`)
      } else if (r < 0.3) {
        if (!device.remote.state.offline) await device.tiered.sync()
        log.push(`${step}: device ${d} sync${device.remote.state.offline ? ' (offline: skipped)' : ''}`)
      } else if (r < 0.6 || device.own.length === 0) {
        const id = `n${ids.length}`
        const session = pick(SESSIONS)
        const parent = ids.length && rand() < 0.8 ? pick(ids) : undefined
        const createdAt = pick(TIMES)
        await save(device, id, () => ({ sessionId: session, parentId: parent, createdAt, status: pick(STATUSES) }))
        ids.push(id)
        device.own.push(id)
        log.push(`${step}: device ${d} new ${id} in ${session} parent ${parent} at ${createdAt}`)
      } else if (r < 0.85) {
        const id = pick(device.own)
        const kind = pick(['status', 'status', 'move', 'createdAt'] as const)
        const value = kind === 'status' ? pick(STATUSES) : kind === 'move' ? pick(SESSIONS) : pick(TIMES)
        await save(device, id, (current) => ({
          ...current!,
          ...(kind === 'status' && { status: value as (typeof STATUSES)[number] }),
          ...(kind === 'move' && { sessionId: value }),
          ...(kind === 'createdAt' && { createdAt: value }),
        }))
        log.push(`${step}: device ${d} ${kind} ${id} = ${value}`)
      } else {
        const session = pick(SESSIONS)
        await device.store.getSnapshot({ sessionId: session })
        await device.store.listSessionSnapshots(session)
        log.push(`${step}: device ${d} reads ${session}`)
      }
    }
    // All online; two rounds, so every device also pulls what the later ones pushed.
    for (const device of devices) device.remote.state.offline = false
    for (let round = 0; round < 2; round++) for (const device of devices) expect((await device.tiered.sync()).conflicts).toEqual([])
    const onServer = new GenkitSessionStore({ storage: { backend: server, prefix: '' } })
    const stores = [['server', onServer] as const, ...devices.map((x, i) => [`device ${i}`, x.store] as const)]
    // By id, everywhere, the snapshot as Genkit holds it (the sync's winner is the last write).
    for (const id of ids) {
      const expected = JSON.stringify(await reference.getSnapshot({ snapshotId: id }))
      for (const [name, store] of stores)
        expect(JSON.stringify(await store.getSnapshot({ snapshotId: id })), `${name}: ${id}`).toBe(expected)
    }
    for (const session of SESSIONS) {
      // The listing's fields too (parent, createdAt, status), as Genkit holds each snapshot.
      const row = (s: { snapshotId: string; parentId?: string; createdAt: string; status?: string }) =>
        `${s.snapshotId} parent=${s.parentId} at=${s.createdAt} ${s.status}`
      const expected: string[] = []
      for (const id of ids) {
        const snapshot = await reference.getSnapshot({ snapshotId: id })
        if (snapshot?.sessionId === session) expected.push(row(snapshot))
      }
      const leaf = (await reference.getSnapshot({ sessionId: session }))?.snapshotId
      for (const [name, store] of stores) {
        const listed = (await store.listSessionSnapshots(session)).map(row)
        expect(listed.sort(), `${name}: ${session}'s snapshots`).toEqual(expected.sort())
        expect((await store.getSnapshot({ sessionId: session }))?.snapshotId, `${name}: ${session}'s leaf`).toBe(leaf)
      }
    }
    // Erasure on one device reaches every key of every session, through sync.
    for (const session of SESSIONS) await devices[0]!.store.deleteSession(session)
    await devices[0]!.tiered.sync()
    expect((await server.list('genkit/')).entries.map((e) => e.key)).toEqual([])
  } catch (error) {
    throw new Error(`seed ${seed} failed (replay: interleaving(${seed}, ${steps})):\n${log.join('\n')}\n${String(error)}`, {
      cause: error,
    })
  } finally {
    for (const device of devices) device.tiered.close()
  }
}

describe('Genkit lineage on 3 Tiered devices over one remote, against Genkit InMemorySessionStore (seeded)', () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) {
    it(`seed ${seed}: after a final sync every device and the server agree with Genkit on each session's snapshots and leaf`, async () => {
      await interleaving(seed, 60)
    }, 60_000)
  }
})

describe('Genkit lineage on Tiered: the known limit', () => {
  // KNOWN GAP (loud on purpose; README, With Genkit): two devices rewrite one snapshot while both
  // are offline, at the same revision. Device A moves it to session t; device B, later, sets its
  // status on its own copy (still in s). Sync keeps B's write (the later one) for the snapshot's
  // key, and s's lineage follows it (B's in entry, B's summary), but t's lineage holds A's in entry
  // and A's summary, which nothing contradicts without reading the snapshot: t still lists it
  // (t's leaf lookup, which reads the leaf, is right). Fixing it needs the sync to tell the
  // adapter which write won (or a read of every member per listing).
  it.fails('a move on one offline device and a later status write on another: the snapshot leaves the session it was moved to', async () => {
    const server = new MemoryBackend()
    const direct = new GenkitSessionStore({ storage: { backend: server, prefix: '' } })
    await direct.saveSnapshot('x', () => turn('s', undefined, '2026-12-02T10:00:00.000Z'))
    const devices = [link(server), link(server)].map((remote) => {
      const tiered = new TieredStorage({ local: new MemoryStorage(), remote, retries: 0 })
      return { remote, tiered, store: new GenkitSessionStore({ storage: tiered }) }
    })
    try {
      for (const d of devices) {
        await d.store.getSnapshot({ sessionId: 's' })
        d.remote.state.offline = true
      }
      await devices[0]!.store.saveSnapshot('x', (current) => ({ ...current!, sessionId: 't' }))
      await new Promise((r) => setTimeout(r, 5))
      await devices[1]!.store.saveSnapshot('x', (current) => ({ ...current!, status: 'aborted' }))
      for (const d of devices) d.remote.state.offline = false
      for (let round = 0; round < 2; round++) for (const d of devices) await d.tiered.sync()
      expect((await direct.getSnapshot({ snapshotId: 'x' }))?.sessionId).toBe('s')
      expect((await direct.listSessionSnapshots('s')).map((e) => [e.snapshotId, e.status])).toEqual([['x', 'aborted']])
      expect(await direct.getSnapshot({ sessionId: 't' })).toBeUndefined()
      expect(await direct.listSessionSnapshots('t')).toEqual([])
    } finally {
      for (const d of devices) d.tiered.close()
    }
  })
})
