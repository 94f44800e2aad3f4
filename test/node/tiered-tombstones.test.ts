import { describe, expect, it } from 'vitest'
import { MemoryStorage, RemoteError, newSnapshotId, type Backend, type SnapshotLocation } from 'snapshelf'
import { createSnapshotHandler, HttpStorage } from 'snapshelf/http'
import { S3Storage } from 'snapshelf/s3'
import { TieredStorage, type Tier } from 'snapshelf/tiered'
import { sampleSnapshot } from 'snapshelf/testing'
import { historyKey, sessionTombstoneKey, sessionTombstoneOf, tombstoneKey, tombstoneOf } from '../../src/core/keys.js'
import { describeS3, s3Options, uniquePrefix, useS3FaultProxy } from '../helpers/s3.js'
import { RecordingBackend } from '../helpers/recording-backend.js'

// Tombstones (issue 10, the lost-answer case): a tiered store that pushes the delete of a history
// id leaves `…/snapshots/tombstones/snapshot_<id>.json` on the remote, naming when the delete was
// issued. A device whose create of that id landed with its answer lost finds it and does not push
// the snapshot back. Plain stores never write one, never list one, and erase them with a session.

let n = 0
const where = (): SnapshotLocation => ({ sessionId: `tomb-${Date.now().toString(36)}-${n++}`, scope: 'agent', scopeId: 'main' })

describe('tombstone keys (core/keys.ts)', () => {
  const location = { sessionId: 's1', scope: 'agent', scopeId: 'a' }
  const id = newSnapshotId()

  it('round-trip, with or without a store prefix, and stand beside immutable_history/', () => {
    expect(tombstoneKey('', location, id)).toBe(`s1/scopes/agent/a/snapshots/tombstones/snapshot_${id}.json`)
    expect(tombstoneOf(tombstoneKey('', location, id))).toEqual({ prefix: '', location, snapshotId: id })
    expect(tombstoneOf(tombstoneKey('p/q', location, id))).toEqual({ prefix: 'p/q', location, snapshotId: id })
  })

  it("a session's tombstone sits directly in its folder and parses back to the session only", () => {
    expect(sessionTombstoneKey('', 's1')).toBe('s1/scopes/tombstone.json')
    expect(sessionTombstoneKey('p', 's1')).toBe('p/s1/scopes/tombstone.json')
    expect(sessionTombstoneOf('s1/scopes/tombstone.json')).toBe('s1')
    for (const key of [
      's1/tombstone.json',
      '.s1/scopes/tombstone.json',
      's1/x/scopes/tombstone.json',
      's1/scopes/tombstone.json/x',
      '.tombstone.json',
      '/scopes/tombstone.json',
    ])
      expect(sessionTombstoneOf(key), key).toBeUndefined()
  })

  it('parse nothing else: history keys, other ids, other folders, hostile ids', () => {
    for (const key of [
      historyKey('', location, id),
      's1/scopes/agent/a/snapshots/tombstones/snapshot_12.json', // not a UUIDv7
      `s1/scopes/agent/a/snapshots/tombstones/x/snapshot_${id}.json`,
      `s1/scopes/agent/a/tombstones/snapshot_${id}.json`,
      `.s1/scopes/agent/a/snapshots/tombstones/snapshot_${id}.json`,
      `s1/scopes/agent/.a/snapshots/tombstones/snapshot_${id}.json`,
      '',
    ])
      expect(tombstoneOf(key), key).toBeUndefined()
  })
})

/** Two devices over one remote; device 0's first push of a create has its answer lost. */
async function lostThenDeleted(remote: { tier: Tier; loseNextPut: () => void }, server: MemoryStorage | S3Storage) {
  const location = where()
  const d0 = new TieredStorage({ local: new MemoryStorage(), remote: remote.tier, retries: 0, name: 'd0' })
  const d1 = new TieredStorage({ local: new MemoryStorage(), remote: remote.tier, retries: 0, name: 'd1' })
  const id = newSnapshotId()
  const keep = newSnapshotId()
  await d0.saveSnapshot({ location, snapshotId: id, isLatest: false, snapshot: sampleSnapshot('lost answer') })
  remote.loseNextPut()
  await expect(d0.sync()).rejects.toBeInstanceOf(RemoteError)
  expect(await d0.pendingCount()).toBe(1) // queued, though it landed
  expect(await server.listSnapshotIds({ location })).toEqual([id])

  await d1.hydrate({ location })
  await d1.deleteSnapshot({ location, snapshotId: id })
  await d1.sync()
  expect(await server.listSnapshotIds({ location })).toEqual([])

  // A create after the delete is not covered by it.
  await d0.saveSnapshot({ location, snapshotId: keep, isLatest: false, snapshot: sampleSnapshot('after') })
  await d0.sync()
  expect(await d0.pendingCount()).toBe(0)
  expect(await server.listSnapshotIds({ location })).toEqual([keep])
  // The tombstone is no snapshot: plain stores list none, and erase it with the session.
  expect(await server.hasSnapshot({ location, snapshotId: id })).toBe(false)
  expect(await server.backend.head(tombstoneKey(server.prefix, location, id))).not.toBeNull()
  await server.deleteSession({ sessionId: location.sessionId })
  expect((await server.backend.list(`${server.prefix ? `${server.prefix}/` : ''}${location.sessionId}/`)).entries).toEqual([])
  d0.close()
  d1.close()
}

describe('a create whose answer was lost, then deleted elsewhere, is not pushed back', () => {
  it('over a memory remote', async () => {
    const server = new MemoryStorage()
    const inner = server.backend
    let lose = false
    // The server's own backend, one PUT's answer lost after it applied.
    const tier: Backend = {
      get: (k, o) => inner.get(k, o),
      head: (k, o) => inner.head(k, o),
      delete: (k, o) => inner.delete(k, o),
      list: (p, o) => inner.list(p, o),
      put: async (k, b, o) => {
        const result = await inner.put(k, b, o)
        if (!lose) return result
        lose = false
        throw new RemoteError('network error (injected: the answer was lost)')
      },
    }
    await lostThenDeleted({ tier, loseNextPut: () => (lose = true) }, server)
  })

  it('over HTTP (the handler admits and authorizes tombstones per session)', async () => {
    const server = new MemoryStorage()
    const asked = new Set<string>()
    const handler = createSnapshotHandler({
      storage: server,
      basePath: '/api',
      authorize: (_request, { sessionId }) => {
        asked.add(sessionId)
        return true
      },
    })
    let lose = false
    const fetch = async (input: string, init: RequestInit) => {
      const response = await handler(new Request(new URL(input, 'http://app.test'), init))
      if (lose && init.method === 'PUT') {
        lose = false
        throw new TypeError('fetch failed (injected: the answer was lost)')
      }
      return response
    }
    await lostThenDeleted({ tier: new HttpStorage({ baseUrl: '/api', fetch, retries: 0 }), loseNextPut: () => (lose = true) }, server)
    expect([...asked].every((s) => s.startsWith('tomb-'))).toBe(true)
  })

  it('a session deleted elsewhere: an older create (answered too late or pushed late) stays deleted, a newer one is kept', async () => {
    const server = new MemoryStorage()
    const location = where()
    const d0 = new TieredStorage({ local: new MemoryStorage(), remote: server, retries: 0, name: 'd0' })
    const d1 = new TieredStorage({ local: new MemoryStorage(), remote: server, retries: 0, name: 'd1' })
    const before = newSnapshotId()
    await d0.saveSnapshot({ location, snapshotId: before, isLatest: false, snapshot: sampleSnapshot('before') })
    await d1.deleteSession({ sessionId: location.sessionId })
    const after = newSnapshotId()
    await d0.saveSnapshot({ location, snapshotId: after, isLatest: false, snapshot: sampleSnapshot('after') })
    await d1.sync()
    expect(await server.backend.head(sessionTombstoneKey('', location.sessionId))).not.toBeNull()
    await d0.sync()
    expect(await d0.pendingCount()).toBe(0)
    expect(await server.listSnapshotIds({ location })).toEqual([after])
    // A plain store erases the tombstone with the session.
    await server.deleteSession({ sessionId: location.sessionId })
    expect((await server.backend.list(`${location.sessionId}/`)).entries).toEqual([])
    d0.close()
    d1.close()
  })

  it('the handler refuses a tombstone key with a hostile id or a store prefix', async () => {
    const handler = createSnapshotHandler({ storage: new MemoryStorage(), basePath: '/api', authorize: () => true })
    const id = newSnapshotId()
    for (const key of [
      `.s1/scopes/agent/a/snapshots/tombstones/snapshot_${id}.json`,
      `p/s1/scopes/agent/a/snapshots/tombstones/snapshot_${id}.json`,
      '.s1/scopes/tombstone.json',
      's1/x/scopes/tombstone.json',
    ]) {
      const response = await handler(new Request(`http://app.test/api/objects/${key}`, { method: 'PUT', body: '{"deleted":"x"}' }))
      expect(response.status, key).toBe(400)
    }
  })
})

describeS3('tombstones on real S3 (Ceph), the lost answer injected by the fault proxy', () => {
  const prefix = uniquePrefix('tombstones')
  const faults = useS3FaultProxy(prefix)

  it('a create whose answer was lost, then deleted elsewhere, is not pushed back', async () => {
    const tier = new S3Storage(s3Options({ prefix, endpoint: faults.proxy.url, retries: 0, timeoutMs: 5000 }))
    const loseNextPut = () => faults.proxy.force('lost', 1, (req) => req.method === 'PUT' && (req.url ?? '').includes('immutable_history'))
    await lostThenDeleted({ tier, loseNextPut }, new S3Storage(s3Options({ prefix })))
  })
})

describe('a pushed prune', () => {
  it('sends each tombstone, then the deletes batched: one delete request, not one per id', async () => {
    const remote = new RecordingBackend()
    const tiered = new TieredStorage({ local: new MemoryStorage(), remote: { backend: remote, prefix: '' }, retries: 0 })
    const location = { sessionId: 'prune', scope: 'agent', scopeId: 'a' }
    try {
      for (let i = 0; i < 30; i++) await tiered.commitSnapshot({ location, snapshot: sampleSnapshot(i) })
      await tiered.sync()
      remote.calls = []
      expect(await tiered.prune({ location, keepLast: 5 })).toBe(25)
      await tiered.sync()
      const deletes = remote.calls.filter((c) => c.startsWith('delete '))
      expect(deletes).toHaveLength(1)
      expect(deletes[0]!.split(',')).toHaveLength(25)
      expect(remote.calls.filter((c) => c.startsWith('put ') && c.includes('/tombstones/'))).toHaveLength(25)
      const left = (await remote.list('prune/scopes/agent/a/snapshots/immutable_history/')).entries
      expect(left).toHaveLength(5)
    } finally {
      tiered.close()
    }
  })
})
